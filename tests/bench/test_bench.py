"""``fairsched bench`` and ``fairsched bound`` end to end on small inputs (no timing asserts)."""

from __future__ import annotations

import json

import pytest

from fairsched.api import build
from fairsched.bench import KEYS, draw_arrivals, format_table, run_bench
from fairsched.cli import main
from fairsched.schedulers.registry import make
from fairsched.sim.engine import SimConfig, Simulator


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as e:
        main(args)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def test_draw_arrivals_are_the_runs_arrivals(small_inputs):
    costs, scen, plat = small_inputs
    p, t, wl = build(scenario=scen, platform=plat, costs=costs, requests=120)
    arr = draw_arrivals(p, t, wl, seed=5)
    assert len(arr) == 120 and arr == sorted(arr)
    a = Simulator(p, t, wl, SimConfig(seed=5, log_requests=True))
    a.run(make("edf"))
    b = Simulator(p, t, wl, SimConfig(seed=5, log_requests=True), arrivals=arr)
    b.run(make("edf"))
    assert a.request_log == b.request_log  # fixed arrivals replay the run exactly


def test_run_bench_reports_every_key(small_inputs):
    costs, scen, plat = small_inputs
    res = run_bench(scenario=scen, platform=plat, costs=costs, quick=True, requests=150,
                    rss_requests=(100, 300), env_seconds=0, rl=False, jit=False)
    assert set(KEYS) <= set(res)
    assert res["sim_layer_events_per_s"] > 0 and res["layer_events"] > 0
    assert res["core_auto"] == "compiled" and res["sim_layer_events_per_s_python"] > 0
    assert res["compiled_speedup"] == res["sim_layer_events_per_s"] / res["sim_layer_events_per_s_python"]
    assert res["rss_core_small"] == res["rss_core_large"] == "compiled"
    if res["simpy_speedup"] is not None:
        assert res["simpy_speedup"] > 0 and res["simpy_hits_equal"] is True
    assert res["rss_mb_small"] > 0 and res["rss_mb_large"] > 0
    assert res["rss_requests_small"] == 100 and res["rss_requests_large"] == 300
    assert res["env_steps_per_s"] is None and res["decision_us_p50"] is None
    table = format_table(res)
    assert "speed-up over SimPy" in table and "n/a" in table
    json.dumps(res, default=float)


def test_bench_cli_rejects_bad_sizes(capsys):
    code, _, err = run_cli(["bench", "--requests", "0"], capsys)
    assert code == 2 and "--requests" in err


def test_bound_cli_end_to_end(small_inputs, tmp_path, capsys):
    pytest.importorskip("ortools")
    costs, scen, plat = small_inputs
    out = tmp_path / "bound.json"
    code, text, err = run_cli(["bound", "--scenario", str(scen), "--platform", str(plat), "--costs", str(costs),
                               "--requests", "8", "--load", "2", "--schedulers", "edf,fcfs",
                               "--time-limit", "20", "--json", str(out)], capsys)
    assert code == 0, err
    assert "bound: at most" in text
    d = json.loads(out.read_text())
    assert d["requests"] == 8 and len(d["arrivals"]) == 8
    assert [r["scheduler"] for r in d["schedulers"]] == ["edf", "fcfs"]
    for r in d["schedulers"]:
        assert 0 <= r["hits"] <= d["hits_bound"] <= 8
        assert r["gap_hits"] == d["hits_bound"] - r["hits"]


def test_bound_cli_rejects_bad_requests(capsys):
    code, _, err = run_cli(["bound", "--requests", "0"], capsys)
    assert code == 2 and "--requests" in err
