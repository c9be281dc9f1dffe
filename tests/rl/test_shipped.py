"""The shipped policies: registered, loadable, runnable; the latency benchmark. Since issue 13 both
shipped policies are *cycle* policies (rl/policies/relmas = results/history/relmas_cycle_v4_48000,
rl/policies/drl = results/history/drl_cycle_v5_90000) and the per-layer ones they replaced are kept
as rl/policies/relmas-layer and drl-layer; a name loads either kind of file, and a file of neither
kind is one error line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fairsched.cli import main
from fairsched.errors import InputError
from fairsched.rl.cycle import CycleScheduler
from fairsched.rl.policy import policy_kind, shipped_policy_path
from fairsched.rl.policy_scheduler import PolicyScheduler
from fairsched.schedulers.registry import available, make
from fairsched.sim.engine import SimConfig, Simulator
from fairsched.workload.scenario import ScenarioConfig, resolve
from tests.conftest import make_platform, make_table, make_workload

SHIPPED = [n for n in ("drl", "relmas") if shipped_policy_path(n).with_suffix(".npz").is_file()]
pytestmark = pytest.mark.skipif(len(SHIPPED) < 2, reason="policies not shipped yet")
HISTORY = Path(__file__).resolve().parents[2] / "results" / "history"


@pytest.mark.parametrize("name", ["drl", "relmas"])
def test_registered_and_runs_on_any_platform(name, tiny_setup):
    from fairsched.api import default_schedulers

    assert name in available() and name in default_schedulers()
    plat, table, scen = tiny_setup
    wl = resolve(ScenarioConfig.model_validate(scen), plat, table)
    sim = Simulator(plat, table, wl, SimConfig(seed=1)).run(make(name))
    assert sum(sim.slo_done_all) == sim.n_total


def test_shipped_kinds():
    """``relmas`` runs the version-4 cycle policy, tenant-agnostic; ``drl`` the version-5 cycle policy on
    triage-sjf's dispatch, tenant-aware; the per-layer drl and relmas are still shipped under their own
    file names and run by path."""
    from fairsched.rl.protect import TriageSJFController

    assert policy_kind(shipped_policy_path("relmas")) == policy_kind(shipped_policy_path("drl")) == "cycle"
    assert policy_kind(shipped_policy_path("drl-layer")) == policy_kind(shipped_policy_path("relmas-layer")) == "layer"
    r = make("relmas")
    assert isinstance(r, CycleScheduler) and r.name == "relmas" and not r.tenant_aware
    assert r.ctl.variant == "relmas" and r.ctl.version == 4 and r.policy is not None
    assert r.kernel_spec == "policy"  # all six modes are kernel picks
    for suffix in (".json", ".npz"):  # the shipped file is the v4 checkpoint of the docs' protocol table
        assert (shipped_policy_path("relmas").with_suffix(suffix).read_bytes()
                == (HISTORY / "relmas_cycle_v4_48000").with_suffix(suffix).read_bytes())
    d = make("drl")
    assert isinstance(d, CycleScheduler) and d.name == "drl" and d.tenant_aware and d.kernel_spec == "policy"
    assert isinstance(d.ctl, TriageSJFController) and d.ctl.version == 5 and d.policy is not None
    for suffix in (".json", ".npz"):
        assert (shipped_policy_path("drl").with_suffix(suffix).read_bytes()
                == (HISTORY / "drl_cycle_v5_90000").with_suffix(suffix).read_bytes())
    layer = make(f"relmas:{shipped_policy_path('relmas-layer')}")
    assert isinstance(layer, PolicyScheduler) and not layer.tenant_aware
    dl = make(f"drl:{shipped_policy_path('drl-layer')}")
    assert type(dl).__name__ == "DRLScheduler" and dl.tenant_aware
    cyc = make(f"drl:{HISTORY / 'drl_cycle_r2_6300'}")  # the name does not decide the kind: the file does
    assert isinstance(cyc, CycleScheduler) and cyc.tenant_aware


def _overloaded():
    """One sub; a long request (2 s, deadline 2.2 s: laxity 0.2 s) and three short ones (0.5 s,
    deadline 1.6 s: laxity 1.1 s), all at t = 0. Least laxity (``llf-masked``) runs the long one
    first (0 -> 2: a hit) and every short one misses (the first could end at 2.5 > 1.6): 1 hit of 4.
    Shortest first (``sjf-feasible``): the shorts run 0-0.5, 0.5-1, 1-1.5 (hits); the long one
    cannot end by 2.2 from 1.5 and is dropped: 3 hits of 4."""
    costs = make_table({"long": {"x": [(2.0, 0.0)]}, "short": {"x": [(0.5, 0.0)]}})
    plat = make_platform([("x", 1)])
    wl = make_workload(plat, costs, [("t0", "long", 2.2, 0.5), ("t1", "short", 1.6, 0.5)], requests=4, warmup=0.0)
    return plat, costs, wl, [(0.0, 0), (0.0, 1), (0.0, 1), (0.0, 1)]


@pytest.mark.parametrize("core", ["python", "compiled"])
def test_shipped_relmas_leaves_least_laxity_where_it_loses(core):
    """The shipped relmas differs from its teacher where the teacher is wrong: on the hand case it
    picks a mode other than least laxity and saves the two requests least laxity loses."""
    plat, costs, wl, arr = _overloaded()
    hits = {}
    for name in ("llf-masked", "sjf-feasible", "relmas"):
        sched = make(name)
        if name == "relmas":
            modes, orig = [], sched.ctl.set_action
            sched.ctl.set_action = lambda sim, a: (modes.append(sched.ctl.modes[a]), orig(sim, a))[1]
        sim = Simulator(plat, costs, wl, SimConfig(log_requests=True, core=core, seed=0), arrivals=arr).run(sched)
        assert sim.n_total == 4
        hits[name] = sum(sim.slo_hits)
    assert hits == {"llf-masked": 1, "sjf-feasible": 3, "relmas": 3}
    assert modes and modes[0] != "llf"


def _bad_files(tmp):
    """Policy stems of neither kind: another format, JSON that does not parse, a missing JSON."""
    other = tmp / "other"
    shutil.copy(shipped_policy_path("relmas").with_suffix(".npz"), other.with_suffix(".npz"))
    meta = json.loads(shipped_policy_path("relmas").with_suffix(".json").read_text())
    other.with_suffix(".json").write_text(json.dumps(dict(meta, format="something-else/9")))
    broken = tmp / "broken"
    shutil.copy(other.with_suffix(".npz"), broken.with_suffix(".npz"))
    broken.with_suffix(".json").write_text("{not json")
    missing = tmp / "missing"
    shutil.copy(other.with_suffix(".npz"), missing.with_suffix(".npz"))
    return {"other": other, "broken": broken, "missing": missing}


def test_bad_policy_files_are_one_input_error_naming_the_file(tmp_path):
    for why, stem in _bad_files(tmp_path).items():
        for name in (f"relmas:{stem}", f"drl:{stem}.npz"):
            with pytest.raises(InputError, match=f"{stem.name}.json") as e:
                make(name)
            assert "\n" not in str(e.value), why


def test_bad_policy_files_exit_2_through_the_cli(tmp_path, capsys):
    for why, stem in _bad_files(tmp_path).items():
        for argv in (["simulate", "--scheduler", f"relmas:{stem}", "--requests", "40"],
                     ["simulate", "--policy", str(stem), "--requests", "40"]):
            with pytest.raises(SystemExit) as e:
                main(["-q", *argv])
            err = capsys.readouterr().err.strip().splitlines()
            assert e.value.code == 2, (why, argv)
            assert len(err) == 1 and err[0].startswith("error:") and f"{stem.name}.json" in err[0], (why, err)
            assert "Traceback" not in err[0]


def test_decision_latency_benchmark():
    pytest.importorskip("sb3_contrib")
    from fairsched.rl.bench import decision_latency

    r = decision_latency("drl", n_obs=300, requests=150, warmup=20)
    assert r["n_obs"] > 50
    for k in ("numpy", "sb3", "features"):
        assert r[k]["p50_us"] > 0 and r[k]["p99_us"] >= r[k]["p50_us"]
    assert r["agreement"] == 1.0


def test_cycle_relmas_warns_once_on_a_type_it_never_saw(caplog, monkeypatch):
    """The shipped relmas was trained on `default` (eyeriss_like, simba_like): on `tri_type` it
    names tpu_like once, and says its observation is type-agnostic (no positional-slot warning)."""
    import logging

    from fairsched.platform.config import load_platform
    from fairsched.rl import policy_scheduler

    monkeypatch.setattr(policy_scheduler, "_WARNED", set())  # "once" is per process: start afresh
    sched = make("relmas")
    with caplog.at_level(logging.WARNING, logger="fairsched"):  # a CLI test may have set -q's level
        sched.check_platform(load_platform("default"))
        assert not caplog.records
        sched.check_platform(load_platform("tri_type"))
        sched.check_platform(load_platform("tri_type"))
    msgs = [r.getMessage() for r in caplog.records]
    assert len(msgs) == 1 and "tpu_like" in msgs[0] and "type-agnostic" in msgs[0]
    assert "eyeriss_like, simba_like" in msgs[0]
