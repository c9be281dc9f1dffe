"""drl's protect-set dispatch (rl/protect.py, compiled_policy.protect_pick) and its hindsight search.

Hand cases with known outcomes (who is served first, what shedding never starts), the Python and
compiled cores giving the same runs bit for bit, the start mask of triage on hand shares, and the
greedy search on a score with a known optimum.
"""

from __future__ import annotations

import numpy as np
import pytest

from fairsched.api import build
from fairsched.errors import InputError
from fairsched.experiments.protect_search import greedy
from fairsched.rl.protect import ProtectScheduler, triage_mask
from fairsched.sim import compiled
from fairsched.sim.engine import SimConfig
from tests.conftest import make_platform, make_table, make_workload
from tests.sim.test_compiled import outcome
from tests.oracle.engine_py import simulator  # core="python": the oracle, the Python event loop


def _both(plat, costs, wl, mask, shed, arrivals=None, **cfg):
    """Run on both cores; assert the same run; return the compiled one."""
    sims = []
    for core in ("python", "compiled"):
        sim = simulator(plat, costs, wl, SimConfig(log_requests=True, core=core, **cfg), arrivals=arrivals)
        sim.run(ProtectScheduler(mask, shed))
        assert sim.core_used == core
        sims.append(sim)
    assert outcome(sims[0]) == outcome(sims[1]), (mask, shed, cfg)
    return sims[1]


def _two_tenants():
    """One sub, a one-layer model of 1 s; t0 (SLO 0) has a 1.2 s deadline, t1 (SLO 1) 2.5 s."""
    costs = make_table({"a": {"x": [(1.0, 0.0)]}})
    plat = make_platform([("x", 1)])
    wl = make_workload(plat, costs, [("t0", "a", 1.2, 0.5), ("t1", "a", 2.5, 0.5)], requests=2, warmup=0.0)
    return plat, costs, wl


@pytest.mark.parametrize("shed", [False, True])
def test_all_protected_is_least_laxity(shed):
    """Both arrive at 0: t0 (laxity 0.2 s) first, ends at 1; t1 (laxity 0.5 s at 1) ends at 2: both hit."""
    plat, costs, wl = _two_tenants()
    sim = _both(plat, costs, wl, [1, 1], shed, arrivals=[(0.0, 0), (0.0, 1)])
    assert sim.slo_hits == [1, 1]


@pytest.mark.parametrize("shed", [False, True])
def test_a_protected_tenant_goes_first(shed):
    """Protecting only t1 serves it first despite more laxity; t0 can then no longer finish (1 + 1 > 1.2)."""
    plat, costs, wl = _two_tenants()
    sim = _both(plat, costs, wl, [0, 1], shed, arrivals=[(0.0, 0), (0.0, 1)])
    assert sim.slo_hits == [0, 1] and sim.slo_dropped[0] == 1


def test_shedding_never_starts_an_abandoned_tenant():
    """Alone on an idle platform, t0's request is served when merely unprotected, never when shed."""
    plat, costs, wl = _two_tenants()
    arr = [(0.0, 0), (5.0, 1)]
    assert _both(plat, costs, wl, [0, 1], False, arrivals=arr).slo_hits == [1, 1]
    sim = _both(plat, costs, wl, [0, 1], True, arrivals=arr)
    assert sim.slo_hits == [0, 1] and sim.slo_dropped == [1, 0] and sim.layer_events == 1


@pytest.mark.parametrize("load", [0.9, 1.2])
@pytest.mark.parametrize("shed", [False, True])
def test_default_scenario_identical_on_both_cores(load, shed):
    plat, costs, wl = build(requests=1200, load=load)
    T = len(wl.tenants)
    rng = np.random.default_rng(int(load * 10))
    hits = {}
    for name, mask in (("triage", "triage"), ("all", None), ("random", rng.integers(0, 2, T)),
                       ("none", np.zeros(T))):
        sim = _both(plat, costs, wl, mask, shed, seed=2)
        hits[name] = sum(sim.slo_hits)
    if shed:  # nobody protected: nothing is ever started
        assert hits["none"] == 0
    assert hits["all"] > 0 and hits["triage"] > 0


def test_options_and_resume_paths_identical():
    plat, costs, wl = build(requests=400, load=1.4)
    mask = np.arange(len(wl.tenants)) % 2
    _both(plat, costs, wl, mask, False, seed=5, sharing="proportional", shed_hopeless=False)
    py = simulator(plat, costs, wl, SimConfig(log_requests=True, seed=3, core="python")).run(ProtectScheduler(mask, True))
    sim = simulator(plat, costs, wl, SimConfig(log_requests=True, seed=3, core="compiled"))
    sched = ProtectScheduler(mask, True)
    sched.reset(sim, 3)
    compiled.run_compiled(sim, "policy", sched.kernel_params(sim), slots=1, heap=1, chunk=3, group=1)
    assert outcome(py) == outcome(sim)


def test_mask_length_is_checked():
    plat, costs, wl = _two_tenants()
    with pytest.raises(InputError, match=r"^protect: 3 entries for 2 tenants"):
        simulator(plat, costs, wl).run(ProtectScheduler([1, 1, 1]))
    with pytest.raises(InputError, match=r"^protect: 'best' unknown"):
        ProtectScheduler("best")


def test_triage_mask_by_hand():
    """Shares 0.3, 0.1, 0.5, 0.2: cheapest first 0.1, 0.3, 0.6 (<= 0.8), then 1.1: tenant 2 is out."""

    class F:
        T, tenant_share = 4, [0.3, 0.1, 0.5, 0.2]

    assert triage_mask(F(), 0.8).tolist() == [1, 1, 0, 1]
    assert triage_mask(F(), 0.05).tolist() == [0, 0, 0, 0]
    assert triage_mask(F(), 4.0).tolist() == [1, 1, 1, 1]


def test_greedy_finds_a_known_optimum():
    """Score = minus the Hamming distance to a target: one pass reaches it, the second finds nothing."""
    target = np.array([1, 0, 1, 1, 0], np.float32)
    mask, score, n = greedy(lambda m: -int(np.abs(m - target).sum()), np.zeros(5), passes=3)
    assert mask.tolist() == target.tolist() and score == 0 and n == 1 + 5 + 5


@pytest.mark.parametrize("shed", [False, True])
def test_per_slo_mask(shed):
    """A tenant mask expanded to its SLOs is the same run; a per-SLO mask is its own rule, the same on
    both cores; protecting only t1's SLO by SLO is protecting tenant t1 (one SLO each)."""
    plat, costs, wl = build(requests=600, load=1.2)
    st = np.array([s.tenant for s in wl.slos])
    tm = (np.arange(len(wl.tenants)) % 3 != 0).astype(np.float32)
    a = _both(plat, costs, wl, tm, shed, seed=1)
    sims = []
    for core in ("python", "compiled"):
        sim = simulator(plat, costs, wl, SimConfig(log_requests=True, core=core, seed=1))
        sims.append(sim.run(ProtectScheduler(tm[st], shed, per_slo=True)))
    assert outcome(sims[0]) == outcome(sims[1]) == outcome(a)
    sm = np.ones(len(st), np.float32)
    sm[::2] = 0.0
    b = [simulator(plat, costs, wl, SimConfig(log_requests=True, core=c, seed=1)).run(
        ProtectScheduler(sm, shed, per_slo=True)) for c in ("python", "compiled")]
    assert outcome(b[0]) == outcome(b[1]) != outcome(a)
    p2, c2, w2 = _two_tenants()
    got = simulator(p2, c2, w2, SimConfig(core="compiled"), arrivals=[(0.0, 0), (0.0, 1)]).run(
        ProtectScheduler([0, 1], shed, per_slo=True))
    assert got.slo_hits == [0, 1]
    with pytest.raises(InputError, match=r"^protect: 12 entries for \d+ SLOs; give one per SLO"):
        simulator(plat, costs, wl).run(ProtectScheduler(tm, per_slo=True))


@pytest.mark.parametrize("argv, field", [(["--loads", "0.9,x"], "--loads"), (["--passes", "0"], "--passes"),
                                         (["--check-seeds", "a"], "--check-seeds"),
                                         (["--switch-from", "no/such.csv"], "--switch-from")])
def test_search_cli_bad_input(argv, field, capsys):
    from fairsched.experiments.protect_search import main
    from tests.rl.conftest import one_error_line

    assert field in one_error_line(main, argv, capsys)


@pytest.mark.parametrize("shed", [False, True])
def test_switching_masks_within_a_run(shed):
    """Masks switched at cycle boundaries (the kernel's cycle exit): both cores agree; one mask in
    every segment is the fixed-mask run; two different segments are another run."""
    from fairsched.rl.protect import ScheduledProtect

    plat, costs, wl = build(requests=800, load=1.2)
    T = len(wl.tenants)
    a, b = np.ones(T, np.float32), (np.arange(T) % 2).astype(np.float32)
    fixed = _both(plat, costs, wl, b, shed, seed=4)
    outs = []
    for masks in ([b, b], [a, b]):
        sims = [simulator(plat, costs, wl, SimConfig(log_requests=True, core=c, seed=4)).run(
            ScheduledProtect(masks, shed)) for c in ("python", "compiled")]
        assert sims[1].core_used == "compiled"
        assert outcome(sims[0]) == outcome(sims[1])
        outs.append(outcome(sims[1]))
    assert outs[0] == outcome(fixed) and outs[1] != outs[0]
