"""Per-layer traces from the compiled kernel (``SimConfig(trace_layers=True)``) against the engine.

The engine (``core="python"``) is the oracle: its ``layer_trace`` rows are appended as each layer
ends (done) or is aborted (its request dropped mid-layer). The kernel must produce the same rows,
in the same order, with the same float bits, for in-kernel rules (``edf``, ``sla-aware``, the
learned ``drl``), a Python-decided scheduler (rule ``python``), loads below and above capacity,
both sharing rules and a contended platform; and through tiny pools and chunks (every room and
flush path). Plus: ``core="auto"`` keeps traced runs on the kernel.
"""

from __future__ import annotations

import pytest

from fairsched.api import build
from fairsched.rl.policy import shipped_policy_path
from fairsched.schedulers.registry import make
from fairsched.sim import compiled
from fairsched.sim.engine import SimConfig
from fairsched.sim.pydecide import run_python_decided
from tests.sim.test_compiled import contended, outcome
from tests.sim.test_pydecide import AsPython, Quirky
from tests.oracle.engine_py import simulator  # core="python": the oracle, the Python event loop

pytest.importorskip("numba")

NAMES = ["edf", "sla-aware"] + (["drl"] if shipped_policy_path("drl").with_suffix(".npz").is_file() else [])
# the Python-decided ones: a shipped rule hidden from the kernel, and one that drops running requests
PYDECIDED = {"py-edf": lambda: AsPython(make("edf")), "py-quirky": lambda: AsPython(Quirky())}


def _bits(trace):
    return [(a.hex(), b.hex(), i, rid, k, what) for a, b, i, rid, k, what in trace]


def traced(plat, costs, wl, sched, core, **cfg):
    sim = simulator(plat, costs, wl, SimConfig(log_requests=True, trace_layers=True, core=core, **cfg))
    return sim.run(sched)


def factory(name):
    return PYDECIDED[name] if name in PYDECIDED else (lambda: make(name))


def assert_same_trace(plat, costs, wl, name, **cfg):
    py = traced(plat, costs, wl, factory(name)(), "python", **cfg)
    co = traced(plat, costs, wl, factory(name)(), "auto", **cfg)
    assert py.core_used == "python"
    assert co.core_used == ("compiled-python" if name in PYDECIDED else "compiled")
    assert len(py.layer_trace) == py.layer_events + py.aborted_layers  # one row per layer that ended
    assert _bits(co.layer_trace) == _bits(py.layer_trace), (name, cfg)
    assert outcome(co) == outcome(py)  # and the rest of the run is still the engine's
    return py, co


@pytest.mark.parametrize("sharing", ["maxmin", "proportional"])
@pytest.mark.parametrize("load", [0.7, 1.4])
@pytest.mark.parametrize("name", NAMES + list(PYDECIDED))
def test_default_scenario_trace_identical(name, load, sharing):
    plat, costs, wl = build(requests=400, load=load)
    py, _ = assert_same_trace(plat, costs, wl, name, seed=3, sharing=sharing)
    assert py.layer_events > 2000


@pytest.mark.parametrize("sharing", ["maxmin", "proportional"])
@pytest.mark.parametrize("name", NAMES + list(PYDECIDED))
def test_contended_trace_identical(name, sharing):
    plat, costs, wl = contended()
    py, _ = assert_same_trace(plat, costs, wl, name, seed=2, sharing=sharing)
    # overload on a contended platform: deadlines pass mid-layer, so aborted rows are compared too
    assert any(r[5] == "aborted" for r in py.layer_trace)


@pytest.mark.parametrize("name", ["edf", "sla-aware", "py-quirky"])
def test_tiny_pools_and_chunks_trace_identical(name):
    """Pools of one slot and chunks of three arrivals: the trace arrays are flushed and grown many
    times (each kernel return with rows in them), and the rows still come out in engine order."""
    plat, costs, wl = contended()
    py = traced(plat, costs, wl, factory(name)(), "python", seed=1)
    sim = simulator(plat, costs, wl, SimConfig(log_requests=True, trace_layers=True, seed=1))
    sched = factory(name)()
    sched.reset(sim, 1)
    if name in PYDECIDED:
        run_python_decided(sim, sched, slots=1, heap=1, chunk=3)
    else:
        compiled.run_compiled(sim, type(sched).kernel_spec, tuple(sched.kernel_params(sim))
                              if hasattr(sched, "kernel_params") else (), slots=1, heap=1, chunk=3, group=1)
    assert _bits(sim.layer_trace) == _bits(py.layer_trace)


def test_hand_computed_trace_on_the_kernel(tiny):
    """One sub at 1 Hz: layer 0 (2 s) then layer 1 (1 s) of the only request, then nothing."""
    make_table, make_platform, make_workload = tiny
    table = make_table({"m": {"a": [(2, 4), (1, 0)]}})
    plat = make_platform([("a", 1)])
    wl = make_workload(plat, table, [("t", "m", 100.0, 0.9)], requests=1)
    sim = traced(plat, table, wl, make("edf"), "compiled", seed=0)
    assert sim.core_used == "compiled"
    (s0, e0, i0, r0, k0, w0), (s1, e1, i1, r1, k1, w1) = sim.layer_trace
    assert (e0 - s0, e1 - s1, s1 - e0) == (2.0, 1.0, 0.0)
    assert (i0, r0, k0, w0, i1, r1, k1, w1) == (0, 0, 0, "done", 0, 0, 1, "done")


def test_traces_off_leave_the_trace_empty():
    plat, costs, wl = contended()
    sim = simulator(plat, costs, wl, SimConfig(seed=0)).run(make("edf"))
    assert sim.core_used == "compiled" and sim.layer_trace is None
