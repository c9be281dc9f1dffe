"""Python schedulers on the compiled event loop (rule ``python``, ``sim/pydecide.py``) against the
engine (``core="python"``, the oracle): the same run, bit for bit.

Every registered scheduler is wrapped so that the kernel cannot use its rule (``AsPython``: no
``kernel_spec``, its ``decide`` and ``reset`` delegated), then run on ``core="auto"`` (the kernel
calls its ``decide`` at each decision point) and compared, whole request log and every counter,
with the unwrapped scheduler on the engine: default scenario at two loads, both sharing rules,
shedding on and off, a decision cost, the contended platform, fixed arrivals with ties, tiny pools
and chunks. A user-style scheduler exercises what no shipped one does: drops of ready and running
requests, ``wake_at``, ``None`` decisions, subs left idle, ties broken by the ``ready`` dict's order,
references to ended requests, ``on_end``, a nested run, and the engine's errors.
"""

from __future__ import annotations

import pytest

from fairsched.api import build
from fairsched.errors import InputError
from fairsched.schedulers.base import Scheduler
from fairsched.schedulers.registry import available, make
from fairsched.sim.engine import Decision, SchedulerError, SimConfig
from fairsched.sim.pydecide import run_python_decided
from fairsched.sim.request import DONE
from tests.sim.test_compiled import contended, outcome
from tests.oracle.engine_py import simulator  # core="python": the oracle, the Python event loop

pytest.importorskip("numba")

NAMES = tuple(available())


class AsPython(Scheduler):
    """A scheduler with its rule hidden: the kernel must ask its ``decide``."""

    def __init__(self, inner):
        self.inner = inner
        self.name = getattr(inner, "name", "wrapped")

    def reset(self, sim, seed):
        self.inner.reset(sim, seed)

    def decide(self, sim):
        return self.inner.decide(sim)


def pair(plat, costs, wl, sched_factory, arrivals=None, **cfg):
    """(engine run, kernel run with Python decisions) of fresh schedulers from ``sched_factory``."""
    py = simulator(plat, costs, wl, SimConfig(log_requests=True, core="python", **cfg), arrivals=arrivals)
    py.run(sched_factory())
    co = simulator(plat, costs, wl, SimConfig(log_requests=True, core="auto", **cfg), arrivals=arrivals)
    co.run(AsPython(sched_factory()))
    assert py.core_used == "python" and co.core_used == "compiled-python"
    return py, co


def assert_same(plat, costs, wl, sched_factory, arrivals=None, **cfg):
    py, co = pair(plat, costs, wl, sched_factory, arrivals, **cfg)
    a, b = outcome(py), outcome(co)
    for part in ("counts", "slo", "floats"):
        assert a[part] == b[part], (part, cfg)
    assert a["log"] == b["log"], cfg
    if cfg.get("time_decisions", True):
        assert py.decision_us(0.5) > 0 and co.decision_us(0.5) > 0  # both time decisions
    return py, co


@pytest.mark.parametrize("load", [0.6, 1.3])
@pytest.mark.parametrize("name", NAMES)
def test_every_scheduler_default_scenario(name, load):
    plat, costs, wl = build(requests=800, load=load)
    py, _ = assert_same(plat, costs, wl, lambda: make(name), seed=int(load * 10))
    assert py.layer_events > 5_000 and (load < 1 or py.aborted_layers + sum(py.slo_dropped) > 0)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("opts", [dict(sharing="proportional", shed_hopeless=False),
                                  dict(shed_hopeless=False, decision_cost_s=2e-6, time_decisions=False)],
                         ids=["proportional-no-shedding", "no-shedding-cost-untimed"])
def test_every_scheduler_options(name, opts):
    plat, costs, wl = build(requests=400, load=1.2)
    assert_same(plat, costs, wl, lambda: make(name), seed=5, **opts)


@pytest.mark.parametrize("sharing", ["maxmin", "proportional"])
@pytest.mark.parametrize("name", NAMES)
def test_every_scheduler_contended(name, sharing):
    plat, costs, wl = contended()
    py, _ = assert_same(plat, costs, wl, lambda: make(name), seed=2, sharing=sharing)
    assert py.peak_bw == pytest.approx(plat.bandwidth, rel=1e-12)  # contention did happen


def test_dbp_on_mk_streams():
    """dbp's history comes through ``on_end`` (called in end order before the next decision)."""
    plat, costs, wl = build(scenario="mk_firm", requests=1200, load=1.2)
    py, _ = assert_same(plat, costs, wl, lambda: make("dbp"), seed=4)
    edf = simulator(plat, costs, wl, SimConfig(log_requests=True, seed=4)).run(make("edf"))
    assert outcome(py)["log"] != outcome(edf)["log"]  # the history did change the order


# ------------------------------------------------------------------ a user-style scheduler
class Quirky(Scheduler):
    """Every feature of the Decision API, deterministic: ties by the ready dict's order (key
    without id), drops of ready and of running requests, subs left idle with a wake-up, None."""

    def reset(self, sim, seed):
        self.n = 0
        self.kept = []  # references to requests, checked once they ended
        self.ended = []
        sim.on_end = lambda req, hit: self.ended.append((req.id, hit, sim.now))

    def decide(self, sim):
        self.n += 1
        if self.n % 11 == 0:
            return None
        ready = list(sim.ready.values())
        drop = []
        if len(ready) > 6:  # shed the ready request with the latest deadline
            drop.append(max(ready, key=lambda r: r.deadline))
        if self.n % 13 == 0:  # abort the running request with the smallest id
            run = [r for r in sim.running if r is not None]
            if run:
                drop.append(min(run, key=lambda r: r.id))
        idle = sim.idle
        for r in drop:
            if r.sub >= 0:
                idle.append(r.sub)
        order = sorted((r for r in ready if r not in drop), key=lambda r: round(r.deadline, 3))  # ties: dict order
        if self.n % 5 == 0 and len(idle) > 1:  # leave one sub idle, ask again a little later
            idle = idle[1:]
            wake = sim.now + 1e-4
        else:
            wake = None
        out = []
        for r in order:
            if not idle:
                break
            i = sim.fastest_idle(r, idle)
            idle.remove(i)
            out.append((r, i))
        if out and self.n % 7 == 0:
            self.kept.append(out[0][0])
        return Decision(assign=out, drop=drop, wake_at=wake)


@pytest.mark.parametrize("opts", [{}, dict(sharing="proportional", shed_hopeless=False)], ids=["default", "prop-noshed"])
def test_user_scheduler_every_decision_feature(opts):
    plat, costs, wl = build(requests=600, load=1.1)
    scheds = []

    def factory():
        scheds.append(Quirky())
        return scheds[-1]

    py, co = assert_same(plat, costs, wl, factory, seed=7, **opts)
    a, b = scheds
    assert py.aborted_layers > 0 and b.n == a.n  # running requests were aborted; same decisions
    assert a.ended == b.ended and len(b.ended) == py.n_arrived  # on_end: every request, same order and time
    assert [r.id for r in a.kept] == [r.id for r in b.kept] and b.kept
    ends = {r[0]: (r[6], r[7]) for r in co.request_log}
    for r in b.kept:  # the kept objects were updated when their requests ended
        assert r.state == DONE and (r.end, r.hit) == ends[r.id]


def test_wake_keeps_the_run_going_and_ties_follow_the_ready_order():
    """Hand case, one sub at 1 Hz: three 1-s requests arrive at 0 with equal keys; the scheduler
    waits until 0.5 (wake_at) before the first assignment, then takes ready-dict order (ids 0, 1,
    2); the last wake (at 10) is past every event, so the run ends at 10 on both loops."""
    from tests.conftest import make_platform, make_table, make_workload

    costs = make_table({"a": {"x": [(1.0, 0.0)]}})
    plat = make_platform([("x", 1)], bandwidth=1.0)
    wl = make_workload(plat, costs, [("t0", "a", 50, 0.9)], requests=3, warmup=0.0)

    class Waiter(Scheduler):
        def reset(self, sim, seed):
            self.calls = []

        def decide(self, sim):
            self.calls.append(sim.now)
            if sim.now < 0.5:
                return Decision(wake_at=0.5)
            r = next(iter(sim.ready.values()))
            return Decision(assign=[(r, 0)], wake_at=10.0)

    sims = []
    for core, s in (("python", Waiter()), ("auto", AsPython(Waiter()))):
        sim = simulator(plat, costs, wl, SimConfig(log_requests=True, core=core), arrivals=[(0.0, 0)] * 3)
        sim.run(s)
        sims.append(sim)
        calls = (s.inner if isinstance(s, AsPython) else s).calls
        assert calls == [0.0, 0.5, 1.5, 2.5]
        assert [(r[0], r[6], r[7]) for r in sim.request_log] == [(0, 1.5, True), (1, 2.5, True), (2, 3.5, True)]
        assert sim.now == 10.0 and sim.decisions == 4
    assert sims[1].core_used == "compiled-python"


class _Bad(Scheduler):
    def __init__(self, what):
        self.what = what

    def reset(self, sim, seed):
        self.seen = None

    def decide(self, sim):
        r = next(iter(sim.ready.values()))
        if self.what == "busy" and any(x is not None for x in sim.running):
            busy = next(i for i, x in enumerate(sim.running) if x is not None)
            return Decision(assign=[(r, busy)])
        if self.what == "ended" and self.seen is not None and self.seen.id not in sim.ready and all(
                x is None or x.id != self.seen.id for x in sim.running):
            return Decision(drop=[self.seen])
        if self.what == "twice" and len(sim.idle) > 1:
            return Decision(assign=[(r, sim.idle[0]), (r, sim.idle[1])])
        self.seen = self.seen or r
        return Decision(assign=[(r, sim.idle[0])])


@pytest.mark.parametrize("what,msg", [("busy", "which is not idle"), ("ended", "which has already ended"),
                                      ("twice", "which is not ready")])
def test_impossible_decisions_raise_as_on_the_engine(what, msg):
    plat, costs, wl = contended()
    for core in ("python", "auto"):
        sim = simulator(plat, costs, wl, SimConfig(core=core))
        with pytest.raises(SchedulerError, match=msg):
            sim.run(_Bad(what))


class _Nested(Scheduler):
    """Runs a whole simulation inside its first decision (a look-ahead): the inner run has its own
    kernel and hook, and the outer one resumes unchanged."""

    def reset(self, sim, seed):
        self.inner = None

    def decide(self, sim):
        if self.inner is None:
            plat, costs, wl = contended()
            self.inner = simulator(plat, costs, wl, SimConfig(log_requests=True, seed=9)).run(AsPython(make("edf")))
        idle, out = sim.idle, []
        for r in sorted(sim.ready.values(), key=lambda r: (r.deadline, r.id)):
            if not idle:
                break
            out.append((r, idle.pop(0)))
        return Decision(assign=out)


def test_a_nested_run_inside_decide():
    plat, costs, wl = build(requests=300, load=0.9)
    py = simulator(plat, costs, wl, SimConfig(log_requests=True, core="python")).run(_Nested())
    s = _Nested()
    co = simulator(plat, costs, wl, SimConfig(log_requests=True)).run(s)
    assert co.core_used == "compiled-python" and s.inner.core_used == "compiled-python"
    assert outcome(py)["log"] == outcome(co)["log"]
    ref = simulator(*contended(), SimConfig(log_requests=True, seed=9)).run(make("edf"))
    assert outcome(s.inner)["log"] == outcome(ref)["log"]


@pytest.mark.parametrize("name", ["sla-aware", "dbp", "triage"])
def test_tiny_pools_and_chunks_resume_exactly(name):
    """One slot, one heap row (each decision handed over one row at a time), three arrivals per
    chunk: the kernel returns to Python hundreds of times and grows every array."""
    plat, costs, wl = build(requests=300, load=1.4)
    py = simulator(plat, costs, wl, SimConfig(log_requests=True, seed=3, core="python")).run(make(name))
    sim = simulator(plat, costs, wl, SimConfig(log_requests=True, seed=3))
    s = AsPython(make(name))
    s.reset(sim, 3)
    sim.core_used = "compiled-python"
    run_python_decided(sim, s, slots=1, heap=1, chunk=3)
    assert outcome(py) == outcome(sim)


def test_routing():
    """auto: a rule-less scheduler on the kernel with its own decide; python: the engine (the
    oracle); compiled insists on an in-kernel rule; per-layer traces stay on the kernel."""
    plat, costs, wl = contended()
    edf = make("edf")
    assert simulator(plat, costs, wl).run(AsPython(edf)).core_used == "compiled-python"
    assert simulator(plat, costs, wl, SimConfig(core="python")).run(AsPython(edf)).core_used == "python"
    assert simulator(plat, costs, wl, SimConfig(trace_layers=True)).run(AsPython(edf)).core_used == "compiled-python"
    with pytest.raises(InputError, match=r"^core: .*kernel_spec"):
        simulator(plat, costs, wl, SimConfig(core="compiled")).run(AsPython(edf))
