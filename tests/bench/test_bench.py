"""``fairsched bench`` and ``fairsched bound`` end to end on small inputs (no timing asserts)."""

from __future__ import annotations

import json

import pytest

from fairsched.api import build
from fairsched.bench import (KEYS, draw_arrivals, every_scheduler, format_table, growth_exponent, platform_scaling,
                             run_bench, scaled_platform, scaled_scenario, scaling_tables, tenant_scaling)
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
                    rss_requests=(100, 300), env_seconds=0, rl=False, jit=False, scaling=False)
    assert set(KEYS) <= set(res)
    assert res["sim_layer_events_per_s"] > 0 and res["layer_events"] > 0
    assert res["core_auto"] == "compiled" and res["sim_layer_events_per_s_python"] > 0
    assert res["compiled_speedup"] == res["sim_layer_events_per_s"] / res["sim_layer_events_per_s_python"]
    assert res["rss_core_small"] == res["rss_core_large"] == "compiled"
    u = res["user_scheduler"]  # a plain Scheduler subclass: its decide on the kernel, against the Python core
    assert u["core"] == "compiled-python" and u["kernel"] > 0 and u["python"] > 0 and u["decisions"] > 0
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


def test_growth_exponent_is_the_log_log_slope():
    assert growth_exponent([8, 32, 128], [1.0, 1.0, 1.0]) == pytest.approx(0.0, abs=1e-12)
    assert growth_exponent([8, 32, 128], [8.0, 32.0, 128.0]) == pytest.approx(1.0)
    assert growth_exponent([10, 1000], [1.0, 10.0]) == pytest.approx(0.5)
    assert growth_exponent([8], [1.0]) is None


def test_scaled_platform_and_scenario(small_inputs):
    costs, scen, plat = small_inputs
    base = build(scenario=scen, platform=plat, costs=costs, requests=10)[0]
    big = scaled_platform(base, 12)
    assert big.n == 12 and [s.index for s in big.subs] == list(range(12))
    assert [s.type for s in big.subs] == [s.type for s in base.subs] * 4
    assert big.bandwidth == pytest.approx(4 * base.bandwidth)
    raw = scaled_scenario(scen, 7)
    names = [t["name"] for t in raw["tenants"]]
    assert len(names) == len(set(names)) == 7 and names[3] == "t1~1"


def test_scaling_tables_end_to_end(small_inputs):
    costs, scen, plat = small_inputs
    p, t, wl = build(scenario=scen, platform=plat, costs=costs, requests=100)
    sch = every_scheduler(p, t, wl, skip=("drl", "relmas"))
    assert {"edf", "rr", "sla-aware", "prema", "affinity-edf"} <= set(sch)
    from fairsched.schedulers.registry import scheduler_class

    for name, v in sch.items():  # one event loop for all: a scheduler's rule in the kernel, else its decide
        assert v["rate"] > 0
        assert v["core"] in ("compiled", "compiled-python"), name
        if scheduler_class(name).kernel_spec:
            assert v["core"] == "compiled", name
    ps = platform_scaling(scen, plat, costs, sizes=(3, 6), schedulers=("edf", "sla-aware"), requests_per_sub=20)
    assert [r["size"] for r in ps["edf"]["rows"]] == [3, 6] and ps["edf"]["exponent"] is not None
    ts = tenant_scaling(scen, plat, costs, counts=(3, 9), schedulers=("rr",), requests=100)
    assert [r["tenants"] for r in ts["rr"]] == [3, 9] and ts["rr"][1]["slos"] == 12
    lines = scaling_tables(dict(schedulers=sch, platform_scaling=ps, tenant_scaling=ts))
    assert any("growth exponent" in x for x in lines) and any("9 tenants" in x for x in lines)


def test_cycle_env_steps_both_cores(small_inputs):
    pytest.importorskip("gymnasium")
    from fairsched.bench import cycle_env_steps

    costs, scen, plat = small_inputs
    p, t, _ = build(scenario=scen, platform=plat, costs=costs, requests=120)
    res = cycle_env_steps(scen, p, t, episodes=1, requests=200)
    assert set(res) == {"drl", "relmas"}
    for r in res.values():
        assert set(r) == {"compiled", "python"} and r["compiled"] > 0 and r["python"] > 0
    table = format_table(dict(cycle_env_steps_per_s=res))
    assert "cycle env steps/s, drl: kernel / Python dispatch" in table


@pytest.mark.parametrize("name", ["drl", "relmas"])
def test_cycle_decision_latency_counts_every_cycle(name):
    """One whole-step sample per cycle the controller ran (the run's ~requests / 50 cycles), each
    observation's forward pass timed ``repeat`` times, on the compiled core; and its bench row."""
    from fairsched.rl.bench import cycle_decision_latency

    r = cycle_decision_latency(name, requests=500, repeat=3, warmup=5)
    assert r["core"] == "compiled" and r["cycles"] == r["controller_cycles"] >= 500 // 50
    assert r["forward_samples"] == 3 * r["cycles"]
    for k in ("forward", "whole"):
        assert 0 < r[k]["p50_us"] <= r[k]["p99_us"]
    table = format_table(dict(cycle_decision_latency={name: r}))
    assert f"{name} cycle decision: forward pass / whole cycle step" in table
    with pytest.raises(ValueError, match="not a learned cycle policy"):
        cycle_decision_latency("edf")
