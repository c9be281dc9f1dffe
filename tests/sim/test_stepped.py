"""``Simulator.advance`` / ``apply`` on the compiled kernel (it pauses at each decision point,
``NEED_DECISION``) against the oracle's Python loop stepped the same way: the same runs, bit for bit
(request logs, per-layer traces, counters, floats), for every scheduler, across loads, both sharing
rules, shedding on and off, a decision cost and a contended platform. Plus: what ``apply`` refuses,
stepping without ``apply``, ``run`` after stepping, ``core="python"`` (every decision by the
scheduler's own ``decide``, called from the kernel, timed) and that the package holds no second
event loop.
"""

from __future__ import annotations

import inspect

import pytest

import fairsched.sim.engine as engine
from fairsched.api import build
from fairsched.errors import InputError
from fairsched.schedulers.registry import available, make
from fairsched.sim.engine import Decision, SchedulerError, SimConfig, Simulator
from tests.oracle.engine_py import PySimulator
from tests.sim.test_compiled import contended, outcome

NAMES = tuple(available())


def stepped(cls, plat, costs, wl, name, arrivals=None, **cfg):
    """A run of scheduler ``name`` driven from outside: advance, then apply its decision."""
    sim = cls(plat, costs, wl, SimConfig(log_requests=True, trace_layers=True, **cfg), arrivals=arrivals)
    s = make(name)
    s.reset(sim, sim.cfg.seed)
    while sim.advance():
        sim.apply(s.decide(sim))
    return sim


def assert_same(a, b):
    x, y = outcome(a), outcome(b)
    for part in ("counts", "slo", "floats", "log"):
        assert x[part] == y[part], part
    assert a.layer_trace == b.layer_trace and a.layer_trace


@pytest.mark.parametrize("load", [0.6, 1.3])
@pytest.mark.parametrize("name", NAMES)
def test_every_scheduler_stepped_on_the_kernel_is_the_oracle(name, load):
    plat, costs, wl = build(load=load, requests=150)
    ref = stepped(PySimulator, plat, costs, wl, name, seed=1)
    sim = stepped(Simulator, plat, costs, wl, name, seed=1)
    assert ref.core_used == "python" and sim.core_used == "compiled-python"
    assert_same(ref, sim)


@pytest.mark.parametrize("opts", [dict(sharing="proportional"), dict(shed_hopeless=False),
                                  dict(decision_cost_s=2e-5, seed=4)])
@pytest.mark.parametrize("name", ("edf", "sla-aware", "rr", "prema", "dbp", "drl"))
def test_options_and_a_contended_platform(name, opts):
    for plat, costs, wl in (build(load=1.2, requests=150), contended()):
        assert_same(stepped(PySimulator, plat, costs, wl, name, **opts), stepped(Simulator, plat, costs, wl, name, **opts))


def test_fixed_arrivals_with_ties_and_the_state_view_at_a_pause():
    """Hand case: three requests at t=0 on three idle subs; at the first pause the view shows all
    three ready, every sub idle; an assignment is visible at the next pause (same instant)."""
    plat, costs, wl = contended()
    arr = [(0.0, 0), (0.0, 1), (0.0, 2), (1e-3, 1)]
    for cls in (PySimulator, Simulator):
        sim = cls(plat, costs, wl, SimConfig(log_requests=True), arrivals=arr)
        assert sim.advance()
        assert sim.now == 0.0 and sorted(sim.ready) == [0, 1, 2] and sim.idle == [0, 1, 2] and sim.n_idle == 3
        sim.apply(Decision(assign=[(sim.ready[1], 2)]))
        assert sim.advance()  # it assigned something: asked again at the same instant
        assert sim.now == 0.0 and sorted(sim.ready) == [0, 2] and sim.idle == [0, 1]
        assert sim.running[2].id == 1 and sim.running[2].next_layer == 0
    assert_same(*(stepped(c, plat, costs, wl, "edf", arrivals=arr) for c in (PySimulator, Simulator)))


def test_advance_without_apply_is_apply_none_and_wakes_are_kept():
    """No apply: nothing is decided (no decision counted), time moves to the next event; a
    ``wake_at`` asks again then, on both loops alike."""
    plat, costs, wl = contended()
    arr = [(0.0, 2), (0.5, 1)]
    res = []
    for cls in (PySimulator, Simulator):
        sim = cls(plat, costs, wl, SimConfig(log_requests=True, shed_hopeless=False), arrivals=arr)
        times = []
        while sim.advance():
            times.append(sim.now)
            if len(times) == 1:
                sim.apply(Decision(wake_at=0.25))  # decided nothing, but wake me at 0.25
            elif len(times) == 2:
                pass  # no apply at all
            else:
                req = next(iter(sim.ready.values()))
                sim.apply(Decision(assign=[(req, sim.idle[0])]))
        res.append((times, outcome(sim)))
        assert times[:3] == [0.0, 0.25, 0.5]
    assert res[0] == res[1]


@pytest.mark.parametrize("what, msg", [("not_ready", "not ready"), ("busy_sub", "not idle"),
                                       ("ended", "already ended"), ("twice", "no decision point")])
def test_apply_refuses_impossible_decisions_at_once(what, msg):
    plat, costs, wl = contended()
    sim = Simulator(plat, costs, wl, arrivals=[(0.0, 0), (0.0, 1), (0.0, 2), (0.0, 2)])
    assert sim.advance()
    r0, r1 = sim.ready[0], sim.ready[1]
    sim.apply(Decision(assign=[(r0, 0)]))
    assert sim.advance()
    with pytest.raises(SchedulerError, match=msg):
        if what == "not_ready":
            sim.apply(Decision(assign=[(r0, 1)]))
        elif what == "busy_sub":
            sim.apply(Decision(assign=[(r1, 0)]))
        elif what == "ended":
            sim.apply(Decision(drop=[r1]))
            assert sim.advance()
            sim.apply(Decision(drop=[r1]))
        else:
            sim.apply(None)
            sim.apply(None)


def test_apply_before_advance_and_after_the_end():
    plat, costs, wl = contended()
    sim = Simulator(plat, costs, wl, arrivals=[(0.0, 0)])
    with pytest.raises(SchedulerError, match="call advance"):
        sim.apply(Decision())
    while sim.advance():
        sim.apply(Decision(assign=[(next(iter(sim.ready.values())), sim.idle[0])]))
    assert sim.finished and not sim.advance() and sim.slo_hits_all == [1, 0, 0]


def test_run_after_stepping_finishes_the_same_run():
    plat, costs, wl = build(load=1.2, requests=150)
    ref = PySimulator(plat, costs, wl, SimConfig(log_requests=True, trace_layers=True)).run(make("sla-aware"))
    sim = Simulator(plat, costs, wl, SimConfig(log_requests=True, trace_layers=True))
    s = make("sla-aware")
    s.reset(sim, 0)
    for _ in range(50):
        assert sim.advance()
        sim.apply(s.decide(sim))
    sim.run(make("sla-aware"))  # a fresh scheduler object: sla-aware keeps no state of its own
    assert_same(ref, sim)


@pytest.mark.parametrize("name", ("edf", "sla-aware", "drl", "dbp"))
def test_core_python_is_the_schedulers_own_decide_on_the_kernel_and_timed(name):
    """``core="python"``: an in-kernel rule is not used; its decide is called from the kernel and
    timed (in-kernel rules are not: decision_us NaN); the outcome is the oracle's."""
    plat, costs, wl = build(load=1.1, requests=150)
    ref = PySimulator(plat, costs, wl, SimConfig(log_requests=True)).run(make(name))
    py = Simulator(plat, costs, wl, SimConfig(log_requests=True, core="python")).run(make(name))
    rule = Simulator(plat, costs, wl, SimConfig(log_requests=True)).run(make(name))
    assert py.core_used == "compiled-python" and rule.core_used == "compiled"
    assert outcome(py) == outcome(ref) == outcome(rule)
    assert py.decision_us(0.5) > 0 and py.dec_hist.sum() == ref.dec_hist.sum() == ref.decisions
    assert rule.decision_us(0.5) != rule.decision_us(0.5)  # NaN


def test_unknown_core_is_one_input_error():
    plat, costs, wl = contended()
    with pytest.raises(InputError, match="^core: unknown 'engine'; use one of auto, python, compiled"):
        Simulator(plat, costs, wl, SimConfig(core="engine"))


def test_the_package_holds_one_event_loop_and_imports_no_scheduler():
    """The Python loop's methods are the oracle's (tests/), not the package's; engine.py imports no
    scheduler module."""
    for m in ("_reallocate", "_arrive", "_start_layer", "_finish_layer", "_drop", "_shed", "_to_full"):
        assert not hasattr(Simulator, m) and hasattr(PySimulator, m), m
    src = inspect.getsource(engine)
    assert "fairsched.schedulers" not in src and "import heapq" in src  # (heapq: the arrival heap only)


@pytest.mark.parametrize("name", ("sla-aware", "dbp", "drl"))
def test_the_state_view_at_every_pause_is_the_oracles(name):
    """Both loops stepped in lockstep: at every decision point the same time, ready set (in order),
    running requests, counters and request log so far (it is kept as requests end, on both)."""
    plat, costs, wl = build(load=1.3, requests=120)
    sims = [cls(plat, costs, wl, SimConfig(log_requests=True, seed=5)) for cls in (PySimulator, Simulator)]
    scheds = [make(name) for _ in sims]
    for sim, s in zip(sims, scheds):
        s.reset(sim, 5)
    pauses = 0
    while True:
        alive = [sim.advance() for sim in sims]
        assert alive[0] == alive[1]
        if not alive[0]:
            break
        a, b = sims
        assert a.now == b.now and list(a.ready) == list(b.ready) and a.idle == b.idle
        assert [r and (r.id, r.next_layer) for r in a.running] == [r and (r.id, r.next_layer) for r in b.running]
        assert (a.slo_done_all, a.slo_hits_all, a.n_arrived) == (b.slo_done_all, b.slo_hits_all, b.n_arrived)
        assert a.request_log == b.request_log
        pauses += 1
        for sim, s in zip(sims, scheds):
            sim.apply(s.decide(sim))
    assert pauses > 100 and sims[0].request_log == sims[1].request_log and len(sims[1].request_log) == 120


@pytest.mark.parametrize("name", ("edf", "sla-aware", "drl"))
def test_advance_until_is_the_pause_loop(name):
    """advance_until(pause, decide) pauses where the loop ``advance; if pause: stop; apply(decide)``
    stops, with the same state; between pauses its own decisions are the loop's (oracle)."""
    plat, costs, wl = build(load=1.3, requests=150)
    res = []
    for cls in (PySimulator, Simulator):
        sim = cls(plat, costs, wl, SimConfig(log_requests=True, trace_layers=True, seed=2))
        s = make(name)
        s.reset(sim, 2)
        marks = []
        nxt = [0.0]

        def pause(v):
            return v.now >= nxt[0]

        while sim.advance_until(pause, s.decide):
            marks.append((sim.now, list(sim.ready), sim.idle, list(sim.slo_done_all)))
            nxt[0] = sim.now + 2e-3  # the next pause 2 ms on
            sim.apply(s.decide(sim))
        res.append((marks, sim))
    assert len(res[0][0]) > 10 and res[0][0] == res[1][0]
    assert_same(res[0][1], res[1][1])
