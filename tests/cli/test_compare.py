"""End to end through the real CLI on a small custom scenario and cost table."""

from __future__ import annotations

import pandas as pd
import pytest

from fairsched.cli import main
from tests.cli.small_inputs import write_small_inputs


@pytest.fixture
def inputs(tmp_path):
    return write_small_inputs(tmp_path, load=0.9, requests=400)


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as e:
        main(args)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def test_compare_writes_all_outputs_and_reuses_cells(inputs, tmp_path, capsys):
    costs, scen = inputs
    out = tmp_path / "out"
    args = ["compare", "--scenario", str(scen), "--costs", str(costs), "--schedulers", "edf,fcfs,sla-aware",
            "--out", str(out), "--jobs", "1", "--seed", "4"]
    code, _, err = run_cli(args, capsys)
    assert code == 0, err
    for f in ("summary.csv", "tenants.csv", "slos.csv", "fig2_slo_achievement.png", "fig3_slo_margin.png", "config.yaml"):
        assert (out / f).is_file() and (out / f).stat().st_size > 0, f
    s = pd.read_csv(out / "summary.csv")
    assert list(s["scheduler"]) == ["edf", "fcfs", "sla-aware"]
    for c in ("tenants_upheld", "slos_achieved", "hit_rate", "jain"):
        assert s[c].between(0, 1).all(), c
    assert (s["energy_mj_per_inference"] > 0).all()
    t = pd.read_csv(out / "tenants.csv")
    assert {"scheduler", "tenant", "achievement", "target", "margin", "upheld"} <= set(t.columns)
    assert len(t) == 3 * 2
    # upheld <=> margin >= 0 (margin = min over the tenant's SLOs)
    assert (t["upheld"] == (t["margin"] >= -1e-12)).all()
    slos = pd.read_csv(out / "slos.csv")
    assert (slos["hits"] <= slos["requests"]).all() and len(slos) == 3 * 3
    # rerun: every cell comes from the cache and the outputs are identical
    code, _, err = run_cli(args, capsys)
    assert code == 0 and err.count("(cached)") == 3
    assert pd.read_csv(out / "summary.csv").drop(columns=["sim_wall_s"]).equals(s.drop(columns=["sim_wall_s"]))


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["--schedulers", "edf,bogus"], "--schedulers"),
        (["--load", "-1"], "--load"),
        (["--scenario", "missing.yaml"], "does not exist"),
        (["--core", "fast"], "--core: unknown 'fast'"),
        (["--schedulers", "edf,my-key", "--core", "compiled", "--import", "PLUGIN"],
         "--core: the compiled core cannot run scheduler 'my-key'"),
    ],
)
def test_bad_input_exits_2_with_one_message(inputs, tmp_path, capsys, extra, needle):
    costs, scen = inputs
    extra = [str(_keyless_plugin(tmp_path)) if a == "PLUGIN" else a for a in extra]
    args = ["compare", "--scenario", str(scen), "--costs", str(costs), "--out", str(tmp_path / "o")] + extra
    code, _, err = run_cli(args, capsys)
    assert code == 2
    assert needle in err and "Traceback" not in err
    assert not (tmp_path / "o" / "summary.csv").exists()


def _keyless_plugin(tmp_path, name="my-key"):
    """A user's scheduler without an in-kernel rule (every shipped one has a rule now): an --import
    file. One name and file per test: registrations and imports stay in the test process."""
    f = tmp_path / f"{name.replace('-', '_')}.py"
    f.write_text("from fairsched import register\nfrom fairsched.schedulers.base import PriorityScheduler\n\n\n"
                 f"@register('{name}')\nclass MyKey(PriorityScheduler):\n"
                 "    def key(self, sim, req):\n        return req.deadline, req.id\n")
    return f


def test_simulate_core_option(inputs, capsys, tmp_path):
    """Same summary from either event loop (timings aside); a bad or impossible --core: exit 2."""
    import json

    costs, scen = inputs
    base = ["simulate", "--scenario", str(scen), "--costs", str(costs), "--scheduler", "llf", "--json"]
    res = {}
    for core in ("python", "compiled"):
        code, out, err = run_cli(base + ["--core", core], capsys)
        assert code == 0, err
        res[core] = {k: v for k, v in json.loads(out).items() if not k.startswith(("sim_wall", "decision_us"))}
    assert res["python"] == res["compiled"]
    for bad, needle in ((["--core", "numba"], "--core: unknown 'numba'"),
                        (["--core", "compiled", "--scheduler", "my-key2", "--import",
                          str(_keyless_plugin(tmp_path, "my-key2"))],
                         "--core: the compiled core cannot run scheduler 'my-key2'")):
        code, _, err = run_cli(base + bad, capsys)
        assert code == 2 and needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
