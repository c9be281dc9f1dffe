"""Hand-computed schedules: every expected number below was worked out on paper."""

from __future__ import annotations

import pytest

from fairsched.schedulers.registry import make
from fairsched.sim.engine import Decision, SimConfig, Simulator
from fairsched.schedulers.base import Scheduler
from tests.conftest import make_platform, make_table, make_workload


def run(platform, costs, wl, arrivals, scheduler="edf", **cfg):
    sim = Simulator(platform, costs, wl, SimConfig(log_requests=True, trace_layers=True, **cfg), arrivals=arrivals)
    sim.run(make(scheduler) if isinstance(scheduler, str) else scheduler)
    log = {r[0]: r for r in sim.request_log}  # id -> (id, tenant, slo, model, arrival, deadline, end, hit, counted)
    return sim, log


def test_edf_one_sub_three_requests_with_shedding():
    # one 2-s layer; R0 (a=0, D=10), R1 (a=0.5, D=3 -> 3.5), R2 (a=1, D=4 -> 5)
    costs = make_table({"a": {"x": [(2.0, 0.0)]}})
    plat = make_platform([("x", 1)])
    wl = make_workload(plat, costs, [("t0", "a", 10, 0.9), ("t1", "a", 3, 0.9), ("t2", "a", 4, 0.9)])
    sim, log = run(plat, costs, wl, [(0.0, 0), (0.5, 1), (1.0, 2)])
    # t=0: R0 runs 0..2 (hit). t=2: R1 would end at 4 > 3.5 -> shed at 2. R2 runs 2..4 (hit, dl 5).
    assert [log[i][7] for i in range(3)] == [True, False, True]
    assert [log[i][6] for i in range(3)] == [2.0, 2.0, 4.0]


def test_edf_one_sub_three_requests_without_shedding():
    costs = make_table({"a": {"x": [(2.0, 0.0)]}})
    plat = make_platform([("x", 1)])
    wl = make_workload(plat, costs, [("t0", "a", 10, 0.9), ("t1", "a", 3, 0.9), ("t2", "a", 4, 0.9)])
    sim, log = run(plat, costs, wl, [(0.0, 0), (0.5, 1), (1.0, 2)], shed_hopeless=False)
    # R1 runs 2..3.5 and is aborted at its deadline; R2 runs 3.5..5.5 and is dropped at 5.
    assert [log[i][7] for i in range(3)] == [True, False, False]
    assert [log[i][6] for i in range(3)] == [2.0, 3.5, 5.0]
    aborted = [e for e in sim.layer_trace if e[5] == "aborted"]
    assert [(e[0], e[1], e[3]) for e in aborted] == [(2.0, 3.5, 1), (3.5, 5.0, 2)]
    assert sim.aborted_layers == 2


def test_finishing_exactly_at_deadline_is_a_hit():
    costs = make_table({"a": {"x": [(2.0, 0.0)]}})
    plat = make_platform([("x", 1)])
    wl = make_workload(plat, costs, [("t0", "a", 2.0, 0.9)])
    _, log = run(plat, costs, wl, [(0.0, 0)])
    assert log[0][7] is True and log[0][6] == 2.0


def test_two_bandwidth_bound_layers_take_twice_their_solo_time():
    B = 1000.0
    # C = 1 s, D = B bytes: alone demand D/C = B -> solo 1 s; together each gets B/2 -> 2 s
    costs = make_table({"a": {"x": [(1.0, B)]}})
    plat = make_platform([("x", 2)], bandwidth=B)
    wl = make_workload(plat, costs, [("t0", "a", 100, 0.9)])
    sim, log = run(plat, costs, wl, [(0.0, 0), (0.0, 0)])
    assert log[0][6] == pytest.approx(2.0) and log[1][6] == pytest.approx(2.0)
    solo, _ = run(plat, costs, wl, [(0.0, 0)])
    assert solo.request_log[0][6] == pytest.approx(1.0)
    assert sim.peak_bw <= B * (1 + 1e-12)


def test_bandwidth_recomputed_when_a_neighbour_finishes():
    B = 1000.0
    # L1: C=1, D=B/4 (demand B/4); L2: C=1, D=B (demand B). Max-min: L1 gets B/4 (done at 1),
    # L2 gets 3B/4 -> 0.75 done at t=1, then all of B -> the last 0.25 takes 0.25 s: ends 1.25.
    costs = make_table({"small": {"x": [(1.0, B / 4)]}, "big": {"x": [(1.0, B)]}})
    plat = make_platform([("x", 2)], bandwidth=B)
    wl = make_workload(plat, costs, [("t0", "small", 100, 0.9), ("t1", "big", 100, 0.9)])
    _, log = run(plat, costs, wl, [(0.0, 0), (0.0, 1)])
    assert log[0][6] == pytest.approx(1.0)
    assert log[1][6] == pytest.approx(1.25)


def test_drop_at_deadline_aborts_running_layer_and_frees_the_sub():
    # R0: one 5-s layer, D=3 -> aborted at 3. R1 (a=1, 1-s layer, D=10) waits, starts at 3, ends 4.
    costs = make_table({"long": {"x": [(5.0, 0.0)]}, "short": {"x": [(1.0, 0.0)]}})
    plat = make_platform([("x", 1)])
    wl = make_workload(plat, costs, [("t0", "long", 3, 0.9), ("t1", "short", 10, 0.9)], allow_infeasible=True)
    sim, log = run(plat, costs, wl, [(0.0, 0), (1.0, 1)], shed_hopeless=False, scheduler="fcfs")
    assert log[0][7] is False and log[0][6] == 3.0
    assert (0.0, 3.0, 0, 0, 0, "aborted") in sim.layer_trace
    assert (3.0, 4.0, 0, 1, 0, "done") in sim.layer_trace
    assert log[1][7] is True
    assert sim.slo_dropped == [1, 0]


class IdleUntil(Scheduler):
    """Leaves everything idle until ``t0``, then runs FCFS."""

    def __init__(self, t0):
        self.t0 = t0

    def decide(self, sim):
        if sim.now < self.t0:
            return Decision(wake_at=self.t0)
        return make("fcfs").decide(sim)


def test_deliberate_idling_with_wake_up():
    costs = make_table({"a": {"x": [(1.0, 0.0)]}})
    plat = make_platform([("x", 1)])
    wl = make_workload(plat, costs, [("t0", "a", 10, 0.9)])
    sim, log = run(plat, costs, wl, [(0.0, 0)], scheduler=IdleUntil(2.0))
    assert log[0][6] == 3.0 and log[0][7] is True
    assert sim.busy == [1.0]


def test_layer_order_kept_and_migration_uses_destination_costs():
    # type x: layer0 1 s, layer1 10 s; type y: layer0 10 s, layer1 1 s. Best placement migrates.
    costs = make_table({"m": {"x": [(1.0, 0.0), (10.0, 0.0)], "y": [(10.0, 0.0), (1.0, 0.0)]}})
    plat = make_platform([("x", 1), ("y", 1)])
    wl = make_workload(plat, costs, [("t0", "m", 100, 0.9)])
    sim, log = run(plat, costs, wl, [(0.0, 0)])
    assert [(e[0], e[1], e[2], e[4]) for e in sim.layer_trace] == [(0.0, 1.0, 0, 0), (1.0, 2.0, 1, 1)]
    assert log[0][6] == 2.0


def test_each_request_ends_once_and_subs_never_overlap():
    costs = make_table({"m": {"x": [(1.0, 500.0), (2.0, 100.0)], "y": [(2.0, 50.0), (1.0, 900.0)]}})
    plat = make_platform([("x", 2), ("y", 1)], bandwidth=1000.0)
    wl = make_workload(plat, costs, [("t0", "m", 4, 0.9), ("t1", "m", 8, 0.5)], load=1.2, requests=3000)
    for name in ("edf", "fcfs", "sla-aware", "rr", "prema", "affinity-edf", "llf", "sjf"):
        sim = Simulator(plat, costs, wl, SimConfig(seed=3, log_requests=True, trace_layers=True))
        sim.run(make(name))
        ids = [r[0] for r in sim.request_log]
        assert sorted(ids) == list(range(3000)), name
        assert sim.peak_bw <= 1000.0 * (1 + 1e-9), name
        by_sub: dict[int, list] = {}
        by_req: dict[int, list] = {}
        for s, e, sub, rid, k, _ in sim.layer_trace:
            by_sub.setdefault(sub, []).append((s, e))
            by_req.setdefault(rid, []).append((s, e, k))
        for iv in by_sub.values():
            iv.sort()
            assert all(a[1] <= b[0] + 1e-12 for a, b in zip(iv, iv[1:])), name
        dl = {r[0]: r[5] for r in sim.request_log}
        for rid, ev in by_req.items():
            ev.sort()
            assert [k for *_, k in ev] == sorted(k for *_, k in ev), name  # layers in order
            assert all(a[1] <= b[0] + 1e-12 for a, b in zip(ev, ev[1:])), name  # never in parallel
            assert ev[-1][1] <= dl[rid] + 1e-9, name  # never running after its deadline
