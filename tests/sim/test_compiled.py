"""The compiled core (``sim/compiled.py``) against the Python engine: the same run, bit for bit.

Every case runs one scheduler twice, on the oracle (``core="python"``: ``tests/oracle/engine_py.py``, the
Python event loop) and with ``core="compiled"``, and compares the
whole per-request log (floats by their exact bits) and every counter. Cases: the default scenario
at three loads, both sharing rules, shedding on and off, a decision cost, fixed arrival lists with
ties, a platform where bandwidth is contended, tiny pools and chunks (every resume path of the
kernel), and random instances (hypothesis). Plus: who may use the compiled core, and that arrival
chunks merge the SLO streams in the engine's order.
"""

from __future__ import annotations

import heapq
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairsched.api import build
from fairsched.errors import InputError
from fairsched.schedulers.base import Scheduler
from fairsched.schedulers.edf import EDF
from fairsched.schedulers.prema import Prema
from fairsched.schedulers.registry import make
from fairsched.sim import compiled
from fairsched.sim.engine import Decision, SimConfig
from fairsched.workload.scenario import ScenarioConfig, resolve
from tests.conftest import make_platform, make_table, make_workload
from tests.sim.test_properties import instances, trace_dir  # noqa: F401 (fixture)
from tests.oracle.engine_py import simulator  # core="python": the oracle, the Python event loop

STATIC = ("edf", "fcfs", "sjf", "llf")  # a static key + fastest-idle placement
DYNAMIC = ("rr", "prema", "affinity-edf", "sla-aware", "dbp")  # keys that change, refusals, turns, tokens
HEURISTICS = STATIC + DYNAMIC


def spec(name):
    return type(make(name)).kernel_spec


def _bits(v):
    return v.hex() if isinstance(v, float) else v


def outcome(sim) -> dict:
    """Everything a run produces, floats as their exact bits."""
    return dict(
        log=[tuple(_bits(x) for x in r) for r in sim.request_log],
        slo=[sim.slo_arrived, sim.slo_hits, sim.slo_dropped, sim.slo_done_all, sim.slo_hits_all],
        counts=[sim.layer_events, sim.decisions, sim.aborted_layers, sim.n_arrived, sim.finished],
        floats=[_bits(sim.now), _bits(sim.horizon), _bits(sim.energy_dyn), _bits(sim.peak_bw),
                _bits(sim.energy_j())] + [_bits(b) for b in sim.busy],
    )


def run(plat, costs, wl, name, core, arrivals=None, **cfg):
    sim = simulator(plat, costs, wl, SimConfig(log_requests=True, core=core, **cfg), arrivals=arrivals)
    sim.run(make(name))
    return sim


def assert_same(plat, costs, wl, name, arrivals=None, **cfg):
    py = run(plat, costs, wl, name, "python", arrivals, **cfg)
    co = run(plat, costs, wl, name, "compiled", arrivals, **cfg)
    a, b = outcome(py), outcome(co)
    for part in ("counts", "slo", "floats"):
        assert a[part] == b[part], (name, cfg, part)
    assert a["log"] == b["log"], (name, cfg)
    assert py.decision_us(0.5) > 0 and math.isnan(co.decision_us(0.5))  # compiled runs are not timed
    return py, co


# ------------------------------------------------------------------------- default scenario
@pytest.mark.parametrize("load", [0.5, 0.9, 1.3])
@pytest.mark.parametrize("name", HEURISTICS)
def test_default_scenario_identical(name, load):
    plat, costs, wl = build(requests=3000, load=load)
    py, _ = assert_same(plat, costs, wl, name, seed=int(load * 10))
    assert py.layer_events > 50_000 and (load < 1 or py.aborted_layers + sum(py.slo_dropped) > 0)


@pytest.mark.parametrize("name", HEURISTICS)
@pytest.mark.parametrize("opts", [dict(sharing="proportional"), dict(shed_hopeless=False),
                                  dict(decision_cost_s=2e-6), dict(sharing="proportional", shed_hopeless=False)],
                         ids=["proportional", "no-shedding", "decision-cost", "proportional-no-shedding"])
def test_options_identical(name, opts):
    plat, costs, wl = build(requests=600, load=1.2)
    assert_same(plat, costs, wl, name, seed=5, **opts)


@pytest.mark.parametrize("load", [0.9, 1.3])
@pytest.mark.parametrize("opts", [{}, dict(sharing="proportional", shed_hopeless=False)], ids=["default", "prop-noshed"])
def test_dbp_on_mk_streams_identical(load, opts):
    """dbp's per-stream history (rings of k = 5, 10, 20 outcomes, wrapped many times) and distances:
    on the shipped (m,k) scenario the order differs from edf, and both cores agree bit for bit."""
    plat, costs, wl = build(scenario="mk_firm", requests=2500, load=load)
    py, _ = assert_same(plat, costs, wl, "dbp", seed=4, **opts)
    edf = run(plat, costs, wl, "edf", "compiled", seed=4, **opts)
    assert outcome(py)["log"] != outcome(edf)["log"]  # the (m,k) distances did change the order


# ----------------------------------------------------------------------- hand-built cases
def contended():
    """Two layer kinds whose demands (D/C) add up past B on three subs: sharing always matters."""
    B = 1000.0
    costs = make_table({"big": {"x": [(1.0, 900.0), (2.0, 1500.0)], "y": [(1.5, 400.0), (1.0, 1200.0)]},
                        "small": {"x": [(0.5, 100.0)], "y": [(0.3, 250.0)]}})
    plat = make_platform([("x", 2), ("y", 1)], bandwidth=B)
    wl = make_workload(plat, costs, [("t0", "big", 12, 0.9), ("t1", "small", 4, 0.9), ("t1", "big", 20, 0.5)],
                       load=1.1, requests=400, warmup=0.1)
    return plat, costs, wl


@pytest.mark.parametrize("sharing", ["maxmin", "proportional"])
@pytest.mark.parametrize("name", HEURISTICS)
def test_bandwidth_contention_identical(name, sharing):
    plat, costs, wl = contended()
    py, _ = assert_same(plat, costs, wl, name, seed=2, sharing=sharing)
    assert py.peak_bw == pytest.approx(plat.bandwidth, rel=1e-12)  # contention did happen


@pytest.mark.parametrize("shed", [True, False])
@pytest.mark.parametrize("name", HEURISTICS)
def test_fixed_arrivals_with_ties_identical(name, shed):
    costs = make_table({"a": {"x": [(2.0, 10.0), (1.0, 0.0)], "y": [(1.0, 30.0), (3.0, 5.0)]},
                        "b": {"x": [(1.0, 0.0)], "y": [(0.5, 20.0)]}})
    plat = make_platform([("x", 1), ("y", 2)], bandwidth=40.0)
    wl = make_workload(plat, costs, [("t0", "a", 6, 0.9), ("t1", "b", 2, 0.9), ("t2", "a", 9, 0.5)],
                       requests=40, warmup=0.2)
    # same instant on several SLOs, repeated (time, slo) pairs, unsorted input, a late straggler
    arr = [(1.0, 2), (0.0, 1), (0.0, 0), (0.0, 1), (1.0, 0), (1.0, 2), (2.5, 1), (2.5, 1), (2.5, 0),
           (3.0, 2), (3.0, 0), (3.0, 1), (3.0, 1), (4.0, 0), (20.0, 2)] * 2
    arr += [(t + 5.0, s) for t, s in arr[:12]]
    assert_same(plat, costs, wl, name, arrivals=arr, seed=0, shed_hopeless=shed)


def test_finishing_at_the_deadline_and_aborts_identical():
    """Hand-computed (one sub, 1 Hz): ids follow sorted arrivals, so the two arrivals at 6 s are
    id 2 (SLO 0: a 5-s layer, deadline 9) and id 3 (SLO 2: a 2-s layer, deadline 8)."""
    costs = make_table({"long": {"x": [(5.0, 0.0)]}, "short": {"x": [(1.0, 0.0)]}, "a": {"x": [(2.0, 0.0)]}})
    plat = make_platform([("x", 1)])
    wl = make_workload(plat, costs, [("t0", "long", 3, 0.9), ("t1", "short", 10, 0.9), ("t2", "a", 2, 0.9)],
                       allow_infeasible=True)
    arr = [(0.0, 0), (1.0, 1), (6.0, 2), (6.0, 0)]
    _, co = assert_same(plat, costs, wl, "fcfs", arrivals=arr)
    end = {r[0]: (r[6], r[7]) for r in co.request_log}
    # shedding: 0 and 2 are hopeless on arrival; 1 runs 1..2; 3 runs 6..8, a hit exactly at its deadline
    assert end == {0: (0.0, False), 1: (2.0, True), 2: (6.0, False), 3: (8.0, True)}
    assert co.aborted_layers == 0
    _, co = assert_same(plat, costs, wl, "fcfs", arrivals=arr, shed_hopeless=False)
    end = {r[0]: (r[6], r[7]) for r in co.request_log}
    # no shedding: 0 runs 0..3 (aborted), 1 runs 3..4; 2 runs 6..9 (aborted), 3 waits and drops at 8
    assert end == {0: (3.0, False), 1: (4.0, True), 2: (9.0, False), 3: (8.0, False)}
    assert co.aborted_layers == 2 and co.slo_dropped == [2, 0, 1]


@pytest.mark.parametrize("name", ["edf", "sjf", "rr", "sla-aware", "prema", "affinity-edf"])
def test_tiny_pools_and_chunks_resume_exactly(name):
    """Initial pool, heaps and arrival chunks of a few entries: the kernel returns to Python
    hundreds of times (more arrivals, more room) and must resume without a trace."""
    plat, costs, wl = build(requests=500, load=1.4)
    py = run(plat, costs, wl, name, "python", seed=3)
    sim = simulator(plat, costs, wl, SimConfig(log_requests=True, seed=3, core="compiled"))
    sched = make(name)
    sched.reset(sim, 3)
    params = sched.kernel_params(sim) if hasattr(sched, "kernel_params") else ()
    compiled.run_compiled(sim, spec(name), params, slots=1, heap=1, chunk=3, group=1)
    assert outcome(py) == outcome(sim)


# ------------------------------------------------------------------------------ property
@settings(max_examples=30)
@given(data=st.data())
def test_random_instances_identical(trace_dir, data):  # noqa: F811
    plat, costs, wl, cfg, _ = data.draw(instances(trace_dir, max_requests=30))
    for name in HEURISTICS:
        sims = []
        for core in ("python", "compiled"):
            sim = simulator(plat, costs, wl, SimConfig(seed=cfg.seed, shed_hopeless=cfg.shed_hopeless,
                                                       sharing=cfg.sharing, decision_cost_s=cfg.decision_cost_s,
                                                       log_requests=True, core=core))
            sims.append(sim.run(make(name)))
        assert outcome(sims[0]) == outcome(sims[1]), name


# ---------------------------------------------------------------------------- arrivals
def test_arrival_chunks_follow_the_engine_heap_order(tmp_path):
    """Chunks = the engine's ``(time, slo)`` heap pops, ties included (two SLOs replaying the
    same trace as given, a trace with repeated times), for any chunk size."""
    trace = tmp_path / "t.csv"
    trace.write_text("ms\n0\n0\n0.5\n0.5\n0.5\n2\n3\n3\n")
    replay = dict(kind="trace", path=str(trace), column="ms", rescale=False, unit="ms")
    costs = make_table({"m": {"x": [(1e-3, 0.0)]}})
    plat = make_platform([("x", 2)])
    slos = [dict(model="m", deadline_ms=5.0, target=0.9, arrival=a) for a in (
        replay, dict(kind="poisson"), replay, dict(kind="periodic", jitter=0.5),
        dict(kind="bursty", mean_on_ms=1, mean_off_ms=3), dict(kind="periodic"))]
    cfg = ScenarioConfig.model_validate(dict(load=0.9, requests=6000,
                                             tenants=[dict(name=f"t{i}", slos=[s]) for i, s in enumerate(slos)]))
    wl = resolve(cfg, plat, costs)
    ref_sim = simulator(plat, costs, wl, SimConfig(seed=7))
    heap, procs, ref = ref_sim._arr, ref_sim._procs, []
    while len(ref) < wl.requests:  # what Simulator._arrive pops
        t, s = heapq.heappop(heap)
        heapq.heappush(heap, (procs[s].next(), s))
        ref.append((t, s))
    assert len({t for t, _ in ref}) < len(ref)  # ties happen
    for chunk in (1, 5, 1000, 100_000):
        feed = compiled._Arrivals(simulator(plat, costs, wl, SimConfig(seed=7)), min_chunk=chunk)
        got = []
        while len(got) < wl.requests:
            t, s = feed.next_chunk()
            got += zip(t.tolist(), s.tolist())
        assert got == ref, chunk


# ------------------------------------------------------------------------------- who runs it
class _Custom(Scheduler):
    """A user-defined policy: the kernel has no rule for it."""

    def decide(self, sim):
        return Decision(assign=[(min(sim.ready.values(), key=lambda r: r.id), sim.idle[0])])


class _LatePrema(Prema):  # a subclass that changes the decision loses the parent's rule
    def decide(self, sim):
        return super().decide(sim)


@pytest.mark.parametrize("sched", [_Custom, _LatePrema])
def test_compiled_core_refuses_schedulers_without_a_rule(sched):
    plat, costs, wl = contended()
    assert sched.kernel_spec is None
    with pytest.raises(InputError, match=r"^core: .*kernel_spec.*use core='auto' or core='python'"):
        simulator(plat, costs, wl, SimConfig(core="compiled")).run(sched())
    sim = simulator(plat, costs, wl, SimConfig(core="auto")).run(sched())  # auto: the kernel, decide in Python
    assert sim.core_used == "compiled-python" and sim.decision_us(0.5) > 0


@pytest.mark.parametrize("name", HEURISTICS)
def test_every_heuristic_runs_in_the_kernel(name):
    plat, costs, wl = contended()
    assert simulator(plat, costs, wl).run(make(name)).core_used == "compiled"


def test_simulator_imports_no_scheduler_module():
    """The dependency goes one way: schedulers use the simulator, never the reverse (the package's
    ``__init__`` imports both, so the check reads the simulator's own import statements)."""
    import ast
    from pathlib import Path

    for f in sorted((Path(compiled.__file__).parent).glob("*.py")):
        for node in ast.walk(ast.parse(f.read_text())):
            mods = ([a.name for a in node.names] if isinstance(node, ast.Import)
                    else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(m.startswith("fairsched.schedulers") for m in mods), (f.name, mods)


def test_large_platform_identical():
    """32 sub-accelerators of two types, with bandwidth 4x the default: mostly uncontended
    (the incremental path), sometimes contended (the full re-allocation), both exact."""
    from fairsched.platform.config import Platform

    base = build()[0]
    t = base.type_names
    plat = Platform.build([(t[0], 16, base.subs[0].clock_hz, 0.1), (t[1], 16, base.subs[-1].clock_hz, 0.1)],
                          4 * base.bandwidth)
    _, costs, wl = build(platform=plat, requests=1500, load=0.9)
    for name in HEURISTICS:
        py, _ = assert_same(plat, costs, wl, name, seed=4)
        assert py.peak_bw == pytest.approx(plat.bandwidth, rel=1e-12)


def test_a_stepped_simulator_finishes_on_the_kernel_and_keeps_traces():
    """run() after advance() (its first decision point left undecided): the rest of the run, stepped on
    the same kernel (tests/sim/test_stepped.py), with the oracle's outcome for the same steps."""
    plat, costs, wl = contended()
    sims = [simulator(plat, costs, wl, SimConfig(core=c, log_requests=True)) for c in ("compiled", "python")]
    for sim in sims:
        sim.advance()
        sim.run(make("edf"))
    assert sims[0].core_used == "compiled-python" and outcome(sims[0]) == outcome(sims[1])
    assert outcome(sims[0]) != outcome(run(plat, costs, wl, "edf", "python"))  # that decision mattered
    for core in ("auto", "compiled"):  # per-layer traces come from the kernel too (tests/sim/test_trace_kernel.py)
        traced = simulator(plat, costs, wl, SimConfig(trace_layers=True, core=core)).run(make("edf"))
        assert traced.core_used == "compiled" and traced.layer_trace


def test_bad_core_value():
    plat, costs, wl = contended()
    with pytest.raises(InputError, match="^core: unknown 'fast'"):
        simulator(plat, costs, wl, SimConfig(core="fast"))


def test_subclass_that_changes_the_order_loses_the_compiled_core():
    class LatestFirst(EDF):
        def key(self, sim, req):
            return -req.deadline, req.id

    class EDFSameOrder(EDF):  # changes nothing that decides: keeps it
        def reset(self, sim, seed):
            pass

    assert LatestFirst.compiled_key is None and EDFSameOrder.compiled_key == "deadline"
    assert LatestFirst.kernel_spec is None and EDFSameOrder.kernel_spec == "priority:deadline"
    assert make("affinity-edf").kernel_spec == "affinity-edf" and make("sla-aware").kernel_spec == "sla-aware"
    plat, costs, wl = contended()
    with pytest.raises(InputError, match="^core: "):
        simulator(plat, costs, wl, SimConfig(core="compiled")).run(LatestFirst())
    a = simulator(plat, costs, wl, SimConfig(log_requests=True, core="python")).run(LatestFirst())
    b = simulator(plat, costs, wl, SimConfig(log_requests=True)).run(LatestFirst())  # auto -> python
    assert outcome(a) == outcome(b) and b.decision_us(0.5) > 0


def test_metrics_work_on_compiled_runs():
    from fairsched.metrics import request_frame, slo_frame, summary, tenant_frame

    plat, costs, wl = contended()
    py, co = assert_same(plat, costs, wl, "edf", seed=1)
    frames = []
    for sim in (py, co):
        slos = slo_frame(sim)
        summ = summary(sim, slos, tenant_frame(slos))
        summ.pop("decision_us_p50"), summ.pop("decision_us_p99")
        frames.append((slos.to_dict(), summ, request_frame(sim).to_dict()))
    assert frames[0] == frames[1]


def test_no_fused_multiply_add_in_the_kernel():
    """Bit identity needs each product rounded before its sum: no FMA contraction (no fast-math).
    Compiled afresh here, because numba cannot show the machine code of a cached function."""
    import numba

    plat, costs, wl = contended()
    run(plat, costs, wl, "edf", "compiled")  # sets the kernel's argument types
    sig = compiled.run_kernel.signatures[0]
    fresh = numba.njit(compiled.run_kernel.py_func)
    fresh.compile(sig)
    ir, asm = fresh.inspect_llvm(sig), fresh.inspect_asm(sig)
    assert "fmul" in ir and "mulsd" in asm  # the products are there ...
    assert "fmuladd" not in ir and " contract " not in ir and " fast " not in ir  # ... not fused
    assert not any(op in asm for op in ("vfmadd", "vfmsub", "vfnmadd", "vfnmsub"))
