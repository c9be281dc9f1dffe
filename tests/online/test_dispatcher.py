"""The online dispatcher: state protocol, same decisions as the simulator, firm deadlines by hand."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from fairsched.api import build
from fairsched.online import Dispatcher, SchedulerState
from fairsched.online.replay import FakeClock, poisson_arrivals, replay
from fairsched.schedulers.registry import available
from fairsched.sim.engine import SimConfig
from tests.conftest import make_platform, make_table, make_workload
from tests.oracle.engine_py import simulator  # core="python": the oracle, the Python event loop

SCHEDULERS = [n for n in ("edf", "fcfs", "llf", "sjf", "rr", "prema", "affinity-edf", "sla-aware", "drl", "relmas")
              if n in available()]


@pytest.fixture(scope="module")
def default_case():
    plat, table, wl = build(load=1.6, requests=400)
    plat = dataclasses.replace(plat, bandwidth=1e18)  # no contention: the stand-in executors take solo time
    return plat, table, wl, poisson_arrivals(wl, 400, seed=3)


def test_simulator_and_dispatcher_satisfy_the_protocol(default_case):
    plat, table, wl, arr = default_case
    sim = simulator(plat, table, wl, SimConfig(seed=0))
    d = Dispatcher(plat, table, wl, "edf", clock=FakeClock())
    assert isinstance(sim, SchedulerState)
    assert isinstance(d, SchedulerState)
    # the cost view holds the same numbers as the simulator's
    assert d.best_suffix == sim.best_suffix and d.sub_solo == sim.sub_solo and d.sub_prof == sim.sub_prof
    assert d.prof[1][2].suffix == sim.prof[1][2].suffix


@pytest.mark.parametrize("name", SCHEDULERS)
def test_dispatcher_makes_the_simulators_decisions(default_case, name):
    """Same arrivals, fake clock: every layer on the same executor at the same time, same outcomes."""
    plat, table, wl, arr = default_case
    sim = simulator(plat, table, wl, SimConfig(seed=0, core="python", trace_layers=True, log_requests=True),
                    arrivals=arr)
    sim.run(__import__("fairsched.schedulers.registry", fromlist=["make"]).make(name))
    d = replay(lambda clock, ab: Dispatcher(plat, table, wl, name, clock=clock, on_abort=ab, n_total=len(arr)), arr)
    key = lambda r: (round(r[0], 9), r[2])  # noqa: E731
    st = sorted(sim.layer_trace, key=key)
    dt = sorted(d.layer_trace, key=key)
    assert len(st) == len(dt) > 1000
    assert [(r[2], r[3], r[4], r[5]) for r in st] == [(r[2], r[3], r[4], r[5]) for r in dt]
    for a, b in zip(st, dt):
        assert a[0] == pytest.approx(b[0], rel=1e-9, abs=1e-12)
    assert d.slo_hits == sim.slo_hits and d.slo_dropped == sim.slo_dropped and d.slo_arrived == sim.slo_arrived
    assert sum(d.slo_done_all) - sum(d.slo_hits_all) > 5  # the case exercises firm deadlines
    assert d.slo_done_all == sim.slo_done_all and d.slo_hits_all == sim.slo_hits_all


def _tiny(deadline=5.0, shed=False):
    # one executor; model "a": two layers of 2 s each (clock 1 Hz: cycles are seconds)
    costs = make_table({"a": {"x": [(2.0, 0.0), (2.0, 0.0)]}})
    plat = make_platform([("x", 1)])
    wl = make_workload(plat, costs, [("t0", "a", deadline, 0.9)], requests=10, allow_infeasible=True)
    clock = FakeClock()
    aborted = []
    d = Dispatcher(plat, costs, wl, "edf", clock=clock, shed_hopeless=shed, on_abort=lambda i, r: aborted.append((i, r.id)))
    return d, clock, aborted


def test_hand_case_hit_then_firm_abort():
    d, clock, aborted = _tiny(deadline=5.0)
    r0 = d.request_arrived("t0", "a")  # t=0, deadline 5
    assert d.next_for(0) == (r0, 0)
    clock.t = 1.0
    r1 = d.request_arrived(0)  # deadline 6; the executor is busy
    assert d.next_for(0) is None
    clock.t = 2.0
    d.layer_finished(0)
    assert d.next_for(0) == (r0, 1)  # EDF: r0 (deadline 5) before r1 (deadline 6)
    clock.t = 4.0
    d.layer_finished(0)  # r0 done at 4 <= 5: a hit
    assert d.slo_hits_all == [1]
    assert d.next_for(0) == (r1, 0)
    clock.t = 6.0  # r1 needs until 8: its deadline passes while layer 0 runs
    assert d.expire() == 1
    assert aborted == [(0, r1.id)]
    assert d.idle == []  # busy until the executor acknowledges the abort
    assert d.next_for(0) is None
    d.layer_finished(0)  # acknowledgement
    assert d.idle == [0] and d.slo_done_all == [2] and d.slo_hits_all == [1]
    assert d.layer_trace[-1][-1] == "aborted"


def test_finishing_exactly_at_deadline_is_a_hit_and_late_is_a_miss():
    d, clock, _ = _tiny(deadline=4.0)
    r0 = d.request_arrived(0)
    d.next_for(0)
    clock.t = 2.0
    d.layer_finished(0)
    d.next_for(0)
    clock.t = 4.0
    assert d.layer_finished(0) is r0 and r0.hit  # ends at its deadline
    r1 = d.request_arrived(0)  # t=4, deadline 8
    d.next_for(0)
    clock.t = 6.0
    d.layer_finished(0)
    d.next_for(0)
    clock.t = 8.5  # the watchdog was late: the report comes after the deadline
    assert d.layer_finished(0) is None
    assert not r1.hit and d.slo_hits_all == [1] and d.slo_done_all == [2] and d.idle == [0]


def test_cancel_leaves_the_window_and_frees_the_executor():
    d, clock, aborted = _tiny(deadline=10.0)
    r0 = d.request_arrived(0)
    r1 = d.request_arrived(0)
    assert d.next_for(0) == (r0, 0)
    assert d.request_cancelled(r1.id) and not d.request_cancelled(r1.id)
    assert d.request_cancelled(r0.id) and aborted == [(0, r0.id)]
    d.layer_finished(0)
    assert d.slo_arrived == [0] and d.slo_done_all == [0] and d.ready == {} and d.idle == [0]


def test_shed_hopeless_drops_at_a_decision_point():
    d, clock, _ = _tiny(deadline=5.0, shed=True)
    r0 = d.request_arrived(0)
    d.next_for(0)
    clock.t = 0.5
    r1 = d.request_arrived(0)  # deadline 5.5, needs 4 s: latest start 1.5
    clock.t = 2.0
    d.layer_finished(0)  # r0 has 1 layer left (needs 2 s by 5: fine); r1 can no longer make it
    assert d.next_for(0) == (r0, 1)
    assert r1.state == 2 and not r1.hit and d.slo_done_all == [1]


def test_unknown_tenant_is_an_input_error():
    from fairsched.errors import InputError

    d, _, _ = _tiny()
    with pytest.raises(InputError, match="tenant 'nobody'"):
        d.request_arrived("nobody", "a")
    with pytest.raises(InputError, match="slo"):
        d.request_arrived(7)


def test_concurrent_events_keep_the_counts_consistent():
    """Threads arriving and finishing at once: every request ends exactly once (the lock)."""
    costs = make_table({"a": {"x": [(1e-4, 0.0)] * 3}})
    plat = make_platform([("x", 4)])
    wl = make_workload(plat, costs, [("t0", "a", 10.0, 0.9), ("t1", "a", 10.0, 0.9)], requests=4000)
    d = Dispatcher(plat, costs, wl, "sla-aware")
    stop = threading.Event()

    def executor(i):
        while True:
            a = d.next_for(i)
            if a is not None:
                d.layer_finished(i)
            elif stop.is_set() and not d.ready and all(r is None for r in d.running):
                return  # no arrivals left, nothing ready, nothing running anywhere

    ts = [threading.Thread(target=executor, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    gens = [threading.Thread(target=lambda k=k: [d.request_arrived(k % 2) for _ in range(500)]) for k in range(4)]
    for g in gens:
        g.start()
    for g in gens:
        g.join()
    stop.set()
    for t in ts:
        t.join(timeout=60)
    assert d.n_arrived == 2000
    assert sum(d.slo_done_all) == 2000 and len(d.request_log) == 2000
    assert len({r[0] for r in d.request_log}) == 2000
