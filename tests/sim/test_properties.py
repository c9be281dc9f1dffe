"""Property-based tests of the simulator: invariants that must hold for every platform, cost
table, tenant mix, arrival process, simulator option and heuristic scheduler.

Each example draws a random platform (1-6 sub-accelerators of 1-3 types, random clocks, idle
power and DRAM bandwidth), a random tiny cost table, a random tenant mix with random arrival
processes (Poisson, periodic, bursty, trace replay), runs one scheduler with the per-layer trace
and per-request log on, and checks the run against first principles:

* every request ends exactly once; hits + misses = arrivals, per SLO and in the metrics;
* no sub-accelerator runs two layers at once; a request's layers run in order, one at a time;
* bandwidth in use never exceeds the platform's; no layer runs faster than its solo time or than
  its traffic allows; under max-min sharing none runs slower than its 1/M share allows;
* a request never runs (or ends) after its deadline, nor before it arrives;
* energy and utilization stay within physical bounds.

Profiles (tests/conftest.py): ``ci`` (default) runs a few dozen cases per test; ``long`` runs
>= 10,000 per test and is meant for the tests marked ``slow``
(``HYPOTHESIS_PROFILE=long pytest -m slow tests/sim/test_properties.py``).
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from fairsched.costs.table import from_frame
from fairsched.metrics import slo_frame, summary, tenant_frame
from fairsched.platform.config import Platform
from fairsched.schedulers.registry import available, make
from fairsched.sim.engine import SimConfig, Simulator
from fairsched.workload.scenario import ScenarioConfig, resolve

LEARNED = {"relmas", "drl"}
HEURISTICS = sorted(n for n in available() if n not in LEARNED)

# trace files shared by all examples: (name, csv text); written once per session
TRACES = {
    "steady.csv": "arrival_ms\n" + "\n".join(str(0.5 * i) for i in range(20)) + "\n",
    "bursts.csv": "arrival_ms\n0\n0\n0.01\n0.02\n5\n5\n5.001\n12\n30\n30\n",
    "seconds.csv": "t\n0\n0.001\n0.0015\n0.004\n0.02\n",
}


@pytest.fixture(scope="module")
def trace_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("traces")
    for name, text in TRACES.items():
        (d / name).write_text(text)
    return d


def log_uniform(lo: float, hi: float):
    return st.floats(math.log10(lo), math.log10(hi)).map(lambda e: float(10.0 ** e))


@st.composite
def platforms(draw, max_subs=6):
    n_types = draw(st.integers(1, 3))
    types = [f"ty{i}" for i in range(n_types)]
    clock = {t: draw(log_uniform(1e6, 1e9)) for t in types}
    idle = {t: draw(st.sampled_from([0.0, 0.001, 0.05])) for t in types}
    n = draw(st.integers(1, max_subs))
    groups = []
    for _ in range(n):
        t = draw(st.sampled_from(types))
        mult = draw(st.sampled_from([1.0, 1.0, 0.5, 2.0]))  # same type, other clock: a second profile
        groups.append((t, 1, clock[t] * mult, idle[t]))
    bandwidth = draw(log_uniform(1e6, 1e12))
    return Platform.build(groups, bandwidth, name="random")


@st.composite
def cost_tables(draw, types, max_models=3, max_layers=4):
    n_models = draw(st.integers(1, max_models))
    rows = []
    for mi in range(n_models):
        n_layers = draw(st.integers(1, max_layers))
        for t in types:
            for k in range(n_layers):
                rows.append(dict(
                    model=f"m{mi}", layer_index=k, layer_name=f"m{mi}.{k}", kind="conv", accel_type=t,
                    macs=draw(st.integers(0, 10**9)),
                    cycles=draw(st.integers(1, 10**6)),
                    dram_bytes=draw(st.one_of(st.just(0), st.integers(1, 10**7))),
                    energy_pj=draw(log_uniform(1.0, 1e9)),
                ))
    return from_frame(pd.DataFrame(rows), "random table")


@st.composite
def arrivals(draw, trace_dir):
    kind = draw(st.sampled_from(["poisson", "poisson", "periodic", "bursty", "trace"]))
    if kind == "poisson":
        return dict(kind="poisson")
    if kind == "periodic":
        return dict(kind="periodic", jitter=draw(st.sampled_from([0.0, 0.1, 1.0])))
    if kind == "bursty":
        return dict(kind="bursty", mean_on_ms=draw(log_uniform(1e-3, 100.0)), mean_off_ms=draw(log_uniform(1e-3, 100.0)))
    name = draw(st.sampled_from(sorted(TRACES)))
    a = dict(kind="trace", path=str(trace_dir / name), column="t" if name == "seconds.csv" else "arrival_ms")
    if draw(st.booleans()):
        a.update(rescale=False, unit="s" if name == "seconds.csv" else "ms")
    return a


@st.composite
def instances(draw, trace_dir, max_requests=40, max_tenants=4, max_subs=6):
    plat = draw(platforms(max_subs=max_subs))
    costs = draw(cost_tables(plat.type_names))
    models = costs.models
    tenants = []
    for ti in range(draw(st.integers(1, max_tenants))):
        slos = []
        for _ in range(draw(st.integers(1, 3))):
            slos.append(dict(
                model=draw(st.sampled_from(models)),
                target=draw(st.floats(0.0, 1.0)),
                deadline_x=draw(st.one_of(st.just(1.0), st.floats(1.0, 12.0))),
                rate_share=draw(log_uniform(0.1, 10.0)),
                arrival=draw(arrivals(trace_dir)),
            ))
        tenants.append(dict(name=f"tenant{ti}", slos=slos))
    cfg = ScenarioConfig.model_validate(dict(
        name="prop", load=draw(log_uniform(0.05, 4.0)), requests=draw(st.integers(1, max_requests)),
        warmup_fraction=draw(st.sampled_from([0.0, 0.1, 0.5])), tenants=tenants))
    wl = resolve(cfg, plat, costs)
    sim_cfg = SimConfig(
        seed=draw(st.integers(0, 2**32 - 1)),
        shed_hopeless=draw(st.booleans()),
        sharing=draw(st.sampled_from(["maxmin", "proportional"])),
        decision_cost_s=draw(st.sampled_from([0.0, 0.0, 1e-7])),
        log_requests=True,
        trace_layers=True,
    )
    scheduler = draw(st.sampled_from(HEURISTICS))
    note(f"platform {plat.describe()} clocks {[s.clock_hz for s in plat.subs]}; scheduler {scheduler}; {sim_cfg}")
    note(f"scenario {cfg.model_dump()}")
    return plat, costs, wl, sim_cfg, scheduler


def simulate(plat, costs, wl, sim_cfg, scheduler):
    """Drive the simulator like ``Simulator.run`` does, with a cap on decisions (no endless loop)."""
    sim = Simulator(plat, costs, wl, sim_cfg)
    sched = make(scheduler)
    sched.reset(sim, sim_cfg.seed)
    max_layers = max(sim.n_layers)
    cap = 20 * (wl.requests * (max_layers + 1) + 10) * plat.n
    steps = 0
    while sim.advance():
        sim.apply(sched.decide(sim))
        steps += 1
        assert steps <= cap, f"more than {cap} decisions for {wl.requests} requests: endless loop?"
    assert sim.finished
    return sim


def close_le(a: float, b: float, rel: float = 1e-9) -> bool:
    """a <= b up to floating-point noise."""
    return a <= b + rel * max(1.0, abs(a), abs(b)) + 1e-15


def check_invariants(sim, plat, costs, wl, cfg):
    B, M = plat.bandwidth, plat.n
    log = sim.request_log
    trace = sim.layer_trace
    n = sim.n_arrived
    # --- every request arrives and ends exactly once
    assert n == wl.requests
    ids = [r[0] for r in log]
    assert sorted(ids) == list(range(n)), "each request must end exactly once"
    req = {r[0]: r for r in log}  # id -> (id, tenant, slo, model, arrival, deadline, end, hit, counted)
    warm = int(wl.warmup_fraction * n)
    for r in log:
        assert r[8] == (r[0] >= warm)
    # --- hits + misses = arrivals, per SLO, in the counters and in the metrics
    S = len(wl.slos)
    arrived, hits, done_all, hits_all = [0] * S, [0] * S, [0] * S, [0] * S
    for r in log:
        s = r[2]
        done_all[s] += 1
        hits_all[s] += r[7]
        if r[8]:
            arrived[s] += 1
            hits[s] += r[7]
    assert sim.slo_arrived == arrived and sim.slo_hits == hits
    assert sim.slo_done_all == done_all and sim.slo_hits_all == hits_all
    assert [a - h for a, h in zip(arrived, hits)] == sim.slo_dropped, "every counted miss is a drop"
    slos = slo_frame(sim)
    tenants = tenant_frame(slos)
    summ = summary(sim, slos, tenants)
    assert (slos["hits"] + slos["dropped"] == slos["requests"]).all()
    assert summ["requests"] == sum(arrived)
    # --- timing of each request: arrival <= end <= deadline
    for r in log:
        _, _, s, _, a, d, end, hit, _ = r
        assert close_le(a, end) and close_le(end, d), f"request {r} ends outside [arrival, deadline]"
        assert d == pytest.approx(a + wl.slos[s].deadline, rel=1e-12, abs=1e-15)
    # --- layer trace: per sub-accelerator, one layer at a time
    by_sub, by_req = defaultdict(list), defaultdict(list)
    for e in trace:
        start, end, sub, rid, layer, status = e
        assert 0 <= sub < M and status in ("done", "aborted")
        assert close_le(start, end)
        assert rid in req, "a traced layer belongs to a logged request"
        by_sub[sub].append(e)
        by_req[rid].append(e)
    for sub, es in by_sub.items():
        es.sort(key=lambda e: (e[0], e[1]))
        for p, q in zip(es, es[1:]):
            assert close_le(p[1], q[0]), f"sub {sub} runs two layers at once: {p} and {q}"
    # --- per request: layers in order, never in parallel, never before arrival or after deadline
    n_layers = {m: costs.n_layers(m) for m in costs.models}
    for rid, r in req.items():
        es = sorted(by_req.get(rid, []), key=lambda e: (e[0], e[1]))
        _, _, _, model, a, d, end, hit, _ = r
        done = [e for e in es if e[5] == "done"]
        aborted = [e for e in es if e[5] == "aborted"]
        assert [e[4] for e in done] == list(range(len(done))), f"request {rid} ran layers out of order: {es}"
        assert len(aborted) <= 1 and (not aborted or es[-1] is aborted[0]), f"request {rid}: abort not last: {es}"
        if aborted:
            assert aborted[0][4] == len(done)
            assert aborted[0][1] == end and not hit
        for p, q in zip(es, es[1:]):
            assert close_le(p[1], q[0]), f"request {rid} ran two layers in parallel: {p} and {q}"
        if es:
            assert close_le(a, es[0][0]), f"request {rid} started before it arrived"
            assert close_le(es[-1][1], d), f"request {rid} ran after its deadline"
        if hit:
            assert len(done) == n_layers[model] and done[-1][1] == end
        else:
            assert len(done) < n_layers[model]
    # --- bandwidth and speed limits
    assert close_le(sim.peak_bw, B), f"peak bandwidth {sim.peak_bw} > platform {B}"
    total_bytes = 0.0
    for e in trace:
        start, end, sub, rid, layer, status = e
        if status != "done":
            continue
        s = plat.subs[sub]
        mc = costs.get(req[rid][3], s.type)
        C = mc.cycles[layer] / s.clock_hz + cfg.decision_cost_s
        D = mc.dram_bytes[layer]
        total_bytes += D
        dur = end - start
        assert close_le(max(C, D / B), dur, rel=1e-7), f"layer {e} ran faster than its solo time {max(C, D / B)}"
        if cfg.sharing == "maxmin":  # each running layer gets at least min(demand, B/M)
            assert close_le(dur, max(C, M * D / B), rel=1e-7), f"layer {e} slower than its max-min share allows"
    if trace:
        span = max(e[1] for e in trace) - min(e[0] for e in trace)
        assert close_le(total_bytes, B * span, rel=1e-7), "more bytes moved than the bandwidth allows"
    # --- energy and utilization
    e_done = e_abort = 0.0
    for e in trace:
        s = plat.subs[e[2]]
        E = costs.get(req[e[3]][3], s.type).energy_pj[e[4]] * 1e-12
        if e[5] == "done":
            e_done += E
        else:
            e_abort += E
    assert close_le(e_done, sim.energy_dyn, rel=1e-7) and close_le(sim.energy_dyn, e_done + e_abort, rel=1e-7)
    horizon = sim.horizon
    if trace:
        assert close_le(max(e[1] for e in trace), horizon)
    idle_max = sum(s.idle_power_w for s in plat.subs) * horizon
    assert close_le(sim.energy_dyn, sim.energy_j()) and close_le(sim.energy_j(), sim.energy_dyn + idle_max, rel=1e-7)
    for i in range(M):
        traced = sum(e[1] - e[0] for e in by_sub.get(i, []))
        assert sim.busy[i] == pytest.approx(traced, rel=1e-9, abs=1e-12)
        assert close_le(0.0, sim.busy[i]) and close_le(sim.busy[i], horizon)
    assert 0.0 <= summ["utilization"] <= 1.0 + 1e-9
    assert summ["energy_mj_per_inference"] >= 0.0
    for k in ("tenants_upheld", "slos_achieved", "hit_rate", "drop_rate"):
        v = summ[k]
        assert math.isnan(v) or 0.0 <= v <= 1.0, (k, v)
    j = summ["jain"]
    assert math.isnan(j) or 0.0 < j <= 1.0 + 1e-9
    assert 0.0 <= summ["peak_bandwidth_frac"] <= 1.0 + 1e-9
    assert np.isfinite(horizon)


# ---------------------------------------------------------------------------------- fast (CI)
@given(data=st.data())
def test_invariants_hold_for_random_instances(trace_dir, data):
    plat, costs, wl, cfg, scheduler = data.draw(instances(trace_dir))
    sim = simulate(plat, costs, wl, cfg, scheduler)
    check_invariants(sim, plat, costs, wl, cfg)


@given(data=st.data())
def test_every_heuristic_scheduler_on_one_random_instance(trace_dir, data):
    """All registered heuristics on the same instance: each run satisfies the invariants."""
    plat, costs, wl, cfg, _ = data.draw(instances(trace_dir, max_requests=25))
    for scheduler in HEURISTICS:
        sim = simulate(plat, costs, wl, cfg, scheduler)
        check_invariants(sim, plat, costs, wl, cfg)


def test_heuristics_are_registered():
    assert {"fcfs", "edf", "llf", "sjf", "rr", "prema", "affinity-edf", "sla-aware"} <= set(HEURISTICS)


# ---------------------------------------------------------------------- long (marked slow)
@pytest.mark.slow
@given(data=st.data())
def test_invariants_long(trace_dir, data):
    """Bigger instances (more requests, tenants); run with HYPOTHESIS_PROFILE=long (>= 10,000 cases)."""
    plat, costs, wl, cfg, scheduler = data.draw(instances(trace_dir, max_requests=150, max_tenants=6))
    sim = simulate(plat, costs, wl, cfg, scheduler)
    check_invariants(sim, plat, costs, wl, cfg)


@pytest.mark.slow
@settings(max_examples=max(10, settings.default.max_examples // len(HEURISTICS)))  # ~ as many runs as above
@given(data=st.data())
def test_every_heuristic_long(trace_dir, data):
    plat, costs, wl, cfg, _ = data.draw(instances(trace_dir, max_requests=60, max_tenants=5))
    for scheduler in HEURISTICS:
        sim = simulate(plat, costs, wl, cfg, scheduler)
        check_invariants(sim, plat, costs, wl, cfg)
