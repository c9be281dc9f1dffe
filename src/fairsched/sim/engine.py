"""Event-driven simulator of a multi-tenant, multi-accelerator platform with firm deadlines.

Semantics (docs/semantics.md, DESIGN section 3):

* Requests arrive per SLO; a request is a chain of layers run in order, each layer whole on one
  sub-accelerator; between layers it may wait or move (layer-boundary preemption/migration).
* A layer's progress rate depends on the DRAM bandwidth it is granted (see :mod:`.bandwidth`);
  grants are recomputed at every start, finish and abort, so durations stretch and shrink.
* Firm deadlines: at ``arrival + D`` an unfinished request is dropped at once; a running layer is
  aborted and its sub-accelerator freed. A request finishing exactly at its deadline is a hit
  (completions are handled before deadlines at the same instant, and arrivals last).
* Decision points: after all events of an instant, if a sub-accelerator is idle and a request is
  ready. A scheduler may assign, leave sub-accelerators idle, drop requests, or ask to be woken.
* With ``shed_hopeless`` (default) a ready request that can no longer finish even if each of its
  remaining layers ran alone on its best type is dropped at once (it is a certain miss, and
  keeping it only misleads schedulers).

One event loop: the compiled kernel (:mod:`.compiled`, numba). This module holds what every run
shares (the configuration, the static tables, the state view that schedulers read, the outputs)
and the ways to drive the kernel: :meth:`Simulator.run` runs a whole run, deciding with the
scheduler's in-kernel rule (``kernel_spec``: every shipped heuristic, the learned schedulers and
their teachers, the cycle schedulers) or, for a scheduler without one (or ``core="python"``),
calling its own ``decide`` at each decision point from inside the kernel (:mod:`.pydecide`);
:meth:`Simulator.advance` / :meth:`Simulator.apply` step it from outside (the kernel pauses at each
decision point). Same results every way, bit for bit. The pure-Python loop this file used to hold
is the test oracle (``tests/oracle/engine_py.py``); the simulator imports no scheduler module.
Bandwidth sharing is incremental (an event costs O(log M), not O(M)); metrics are streamed into
counters: memory does not grow with finished requests unless a per-request log is asked for.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import Iterable, Literal

import numpy as np

from fairsched.costs.table import CostTable
from fairsched.errors import InputError
from fairsched.platform.config import Platform
from fairsched.sim.bandwidth import SHARING
from fairsched.sim.request import Request
from fairsched.sim.view import StateHelpers
from fairsched.workload.arrivals import Bursty, Periodic, Poisson, TraceReplay, read_trace_gaps
from fairsched.workload.scenario import Workload

INF = float("inf")


class SchedulerError(RuntimeError):
    """A scheduler returned an impossible decision (a bug in the scheduler, not bad input)."""


@dataclass
class Decision:
    """What a scheduler does at a decision point.

    ``assign``: ``(request, sub_index)`` pairs; each request must be ready and each sub idle.
    ``drop``: ready or running requests to shed now (counted as misses).
    ``wake_at``: an absolute time at which to be asked again even if nothing else happens.
    Sub-accelerators not assigned stay idle on purpose until the next event.
    """

    assign: list = field(default_factory=list)
    drop: list = field(default_factory=list)
    wake_at: float | None = None


@dataclass
class SimConfig:
    seed: int = 0
    shed_hopeless: bool = True
    sharing: Literal["maxmin", "proportional"] = "maxmin"
    decision_cost_s: float = 0.0  # charged as extra compute time of each dispatched layer
    log_requests: bool = False
    trace_layers: bool = False  # record every layer execution (tests, debugging)
    time_decisions: bool = True  # Python decides only (in-kernel rules are not timed: decision_us NaN)
    # how run() decides, on the one event loop (the compiled kernel): "auto" with the scheduler's
    # in-kernel rule where it has one, else with its own decide called from the kernel
    # (sim/pydecide.py); "compiled": the in-kernel rule or an InputError; "python": always its own
    # decide from the kernel (timed: the way to measure a shipped scheduler's decision cost). Same
    # results every way. (The pure-Python event loop is the test oracle, tests/oracle/engine_py.py.)
    core: Literal["auto", "python", "compiled"] = "auto"


class _Profile:
    """Per (accelerator type, clock) and model: per-layer compute time, traffic, energy, solo time."""

    __slots__ = ("C", "D", "E", "solo", "suffix")

    def __init__(self, cycles, dram, energy, clock, bandwidth):
        c = cycles / clock
        solo = np.maximum(c, dram / bandwidth)
        self.C = c.tolist()
        self.D = dram.tolist()
        self.E = energy.tolist()
        self.solo = solo.tolist()
        self.suffix = np.concatenate([np.cumsum(solo[::-1])[::-1], [0.0]]).tolist()


def _make_arrival(slo, rate, rng, base_dir):
    a = slo.arrival
    kind = getattr(a, "kind", "poisson")
    if kind == "poisson":
        return Poisson(rate, rng)
    if kind == "periodic":
        return Periodic(rate, rng, a.jitter)
    if kind == "bursty":
        return Bursty(rate, rng, a.mean_on_ms * 1e-3, a.mean_off_ms * 1e-3)
    if kind == "trace":
        path = a.path if a.path.startswith("/") else str(base_dir / a.path)
        gaps = read_trace_gaps(path, a.column, f"SLO {slo.tenant_name}/{slo.model} arrival")
        return TraceReplay(rate, rng, gaps, a.rescale, {"s": 1.0, "ms": 1e-3, "us": 1e-6}[a.unit])
    raise InputError(f"arrival.kind: unknown '{kind}'; use poisson, periodic, bursty or trace")


class Simulator(StateHelpers):
    """One simulation run. Build, then :meth:`run` with a scheduler (or drive it step by step)."""

    def __init__(
        self,
        platform: Platform,
        costs: CostTable,
        workload: Workload,
        config: SimConfig | None = None,
        arrivals: Iterable[tuple[float, int]] | None = None,
    ):
        """``arrivals``: optional fixed ``(time, slo_index)`` list replacing the arrival processes
        (hand-built cases, offline bounds, replay of a per-request trace)."""
        self.platform = platform
        self._fixed = None
        if arrivals is not None:
            fx = sorted((float(t), int(s)) for t, s in arrivals)
            for t, s in fx:
                if not (0 <= s < len(workload.slos)) or not t >= 0:
                    raise InputError(f"arrivals: ({t}, {s}) needs time >= 0 and an SLO index below {len(workload.slos)}")
            self._fixed = fx
        self.costs = costs
        self.workload = workload
        self.cfg = config or SimConfig()
        seed = self.cfg.seed
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise InputError(f"seed: must be a whole number >= 0, got {seed!r}")
        if self.cfg.sharing not in SHARING:
            raise InputError(f"sharing: unknown '{self.cfg.sharing}'; use one of {sorted(SHARING)}")
        if self.cfg.core not in CORES:
            raise InputError(f"core: unknown '{self.cfg.core}'; use one of {', '.join(CORES)}")
        self._share = SHARING[self.cfg.sharing]
        B = platform.bandwidth
        self.B = B
        self.M = platform.n
        # profiles: one per distinct (type, clock); subs point at theirs
        self.models = sorted({s.model for s in workload.slos})
        self.model_index = {m: i for i, m in enumerate(self.models)}
        prof_key: dict[tuple, int] = {}
        self.sub_prof: list[int] = []
        for s in platform.subs:
            self.sub_prof.append(prof_key.setdefault((s.type, s.clock_hz), len(prof_key)))
        self.prof_keys = list(prof_key)
        # prof[p][mi] -> _Profile
        self.prof = [
            [_Profile(*self._arrays(m, t), clk, B) for m in self.models] for (t, clk) in self.prof_keys
        ]
        self.n_layers = [self.costs.n_layers(m) for m in self.models]
        # lower bound on the time still needed from layer k: each remaining layer alone on its best
        # type (requests may migrate between layers, so the bound takes the per-layer minimum)
        self.best_suffix = []
        for mi in range(len(self.models)):
            best = np.min([self.prof[p][mi].solo for p in range(len(self.prof_keys))], axis=0)
            self.best_suffix.append(np.concatenate([np.cumsum(best[::-1])[::-1], [0.0]]).tolist())
        # solo time of every (model, layer) on every sub, one row per layer: placement is a C-level min
        self.sub_solo = [
            [[self.prof[p][mi].solo[k] for p in self.sub_prof] for k in range(self.n_layers[mi])]
            for mi in range(len(self.models))
        ]
        self.slo_target = [s.target for s in workload.slos]
        self.slo_tenant = [s.tenant for s in workload.slos]
        self.slo_deadline = [s.deadline for s in workload.slos]
        self.slo_model = [self.model_index[s.model] for s in workload.slos]
        self.idle_power = [s.idle_power_w for s in platform.subs]
        self._reset_state()

    def _arrays(self, model, accel_type):
        mc = self.costs.get(model, accel_type)
        return mc.cycles, mc.dram_bytes, mc.energy_pj * 1e-12

    # ------------------------------------------------------------------ state
    def _reset_state(self) -> None:
        wl, M = self.workload, self.M
        ss = np.random.SeedSequence(self.cfg.seed)
        rngs = [np.random.default_rng(s) for s in ss.spawn(len(wl.slos))]
        if self._fixed is not None:
            self._procs = None
            self._arr = list(self._fixed)  # sorted list is a valid heap
            self.n_total = len(self._fixed)
        else:
            self._procs = [_make_arrival(s, s.rate, rngs[i], wl.base_dir) for i, s in enumerate(wl.slos)]
            self._arr = [(p.next(), i) for i, p in enumerate(self._procs)]
            heapq.heapify(self._arr)
            self.n_total = wl.requests
        self.n_arrived = 0
        self.warmup_n = int(wl.warmup_fraction * self.n_total)
        self.now = 0.0
        self.ready: dict[int, Request] = {}
        self.running: list[Request | None] = [None] * M
        self.n_idle = M
        self._dec_ns: list[int] = []  # decision times not yet binned into dec_hist
        self._stepper = None  # the paused kernel of advance() / apply() (sim/pydecide.StepKernel)
        # streamed metrics
        S = len(wl.slos)
        self.slo_arrived = [0] * S  # measured window
        self.slo_hits = [0] * S
        self.slo_dropped = [0] * S  # misses dropped by deadline or shedding, measured window
        self.slo_done_all = [0] * S  # all requests ended, incl. warm-up (what schedulers see)
        self.slo_hits_all = [0] * S
        self.busy = [0.0] * M
        self.energy_dyn = 0.0
        self.layer_events = 0
        self.decisions = 0
        self.aborted_layers = 0
        self.peak_bw = 0.0
        self.dec_hist = np.zeros(_HIST_BINS, dtype=np.int64)
        self.request_log: list[tuple] | None = [] if self.cfg.log_requests else None
        self.layer_trace: list[tuple] | None = [] if self.cfg.trace_layers else None
        self.finished = False
        # on_end(req, hit): called as each request ends, in the order outcomes become known (a
        # scheduler's reset may set it, e.g. dbp's per-stream history); Python decisions only
        self.on_end = None
        self.core_used: str | None = None  # set by run() / advance(): "compiled" or "compiled-python"

    # ------------------------------------------------------------ view helpers
    @property
    def idle(self) -> list[int]:
        r = self.running
        return [i for i in range(self.M) if r[i] is None]

    # --------------------------------------------------------------- running
    def run(self, scheduler) -> "Simulator":
        """Run to the end with ``scheduler``; ``core_used`` says how it decided (``"compiled"``: its
        in-kernel rule; ``"compiled-python"``: its own ``decide``, called from the kernel)."""
        if self._stepper is not None or self.finished:  # already stepped: the rest of the run, stepped
            scheduler.reset(self, self.cfg.seed)
            self.advance_until(_never, scheduler.decide)
            return self
        spec = self._kernel_spec(scheduler)
        scheduler.reset(self, self.cfg.seed)
        if spec == "python":  # the compiled event loop, the scheduler's own decide (sim/pydecide.py)
            from fairsched.sim.pydecide import run_python_decided

            self.core_used = "compiled-python"
            run_python_decided(self, scheduler)
            return self
        from fairsched.sim.compiled import run_compiled

        params = scheduler.kernel_params(self) if hasattr(scheduler, "kernel_params") else ()
        self.core_used = "compiled"
        run_compiled(self, spec, tuple(params))
        return self

    def _kernel_spec(self, scheduler) -> str:
        """The scheduler's ``kernel_spec`` if :meth:`run` decides with its in-kernel rule; ``"python"``
        if the kernel calls its own ``decide`` (:mod:`.pydecide`): ``core="python"``, or
        ``core="auto"`` and no usable rule. ``core="compiled"`` without a usable rule raises InputError."""
        if self.cfg.core == "python":
            return "python"
        spec = getattr(scheduler, "kernel_spec", None)  # an instance may clear its class's rule
        why = compiled_refusal(type(scheduler))
        if why is None and spec is None:
            name = getattr(scheduler, "name", None) or type(scheduler).__name__
            why = (f"this instance of scheduler '{name}' (it sets kernel_spec = None: e.g. a policy object "
                   "the kernel has no pick for)")
        elif why is None and "decide" in getattr(scheduler, "__dict__", {}):
            name = getattr(scheduler, "name", None) or type(scheduler).__name__
            why = f"this instance of scheduler '{name}' (its decide is replaced on the instance, so kernel_spec no longer describes it)"
        if why is None and hasattr(scheduler, "kernel_refusal"):  # a reason that depends on this run
            why = scheduler.kernel_refusal(self)
        if why is None:
            from fairsched.sim.compiled import RULES

            if spec not in RULES:  # a bug in the scheduler class, not bad input
                raise ValueError(f"{type(scheduler).__name__}.kernel_spec: unknown {spec!r}; use one of {list(RULES)}")
            return spec
        if self.cfg.core == "compiled":
            raise InputError(f"core: the compiled core cannot run {why}; use core='auto' or core='python'")
        return "python"

    def _flush_decisions(self) -> None:
        """Bin buffered decision times into ``dec_hist`` (constant memory, numpy speed)."""
        if self._dec_ns:
            self.dec_hist += np.bincount(_bins(np.array(self._dec_ns, dtype=np.float64)), minlength=_HIST_BINS)
            self._dec_ns.clear()

    def advance(self) -> bool:
        """Run events up to the next decision point (True) or to the end of the run (False).

        Stepping from outside: the compiled event loop pauses at each decision point (the kernel
        exits with ``NEED_DECISION``, :class:`fairsched.sim.pydecide.StepKernel`); the public state
        (``now``, ``ready``, ``running``, ``idle``, the SLO counters...) is the kernel's at that point.
        Then :meth:`apply` a decision (or advance again: as ``apply(None)``)."""
        st = self._stepping()
        return st is not None and st.advance()

    def advance_until(self, pause, decide) -> bool:
        """:meth:`advance`, deciding with ``decide(self)`` at every decision point where ``pause(self)``
        is false; True once paused at one where it is true (then :meth:`apply`), False at the end.

        The same run as ``while self.advance(): if pause(self): return True; self.apply(decide(self))``,
        but the decisions it makes itself are made from inside the kernel (a callback, ~1 us) instead
        of an exit and re-entry per decision (~10 us): for a caller that needs only some decision
        points (the cycle env's Python dispatch pauses once per cycle)."""
        st = self._stepping()
        return st is not None and st.advance((pause, decide))

    def _stepping(self):
        """The paused kernel of :meth:`advance` (built on first use); None for a finished run."""
        st = self._stepper
        if st is None:
            if self.finished:
                return None
            from fairsched.sim.pydecide import StepKernel

            st = self._stepper = StepKernel(self)
            self.core_used = "compiled-python"
        return st

    def apply(self, decision: Decision | None) -> None:
        """Carry out a scheduler's decision at the decision point :meth:`advance` stopped at (checked
        now, :class:`SchedulerError` if impossible; carried out when the run resumes)."""
        if self._stepper is None:
            raise SchedulerError("apply: no decision point is pending (call advance() first)")
        self._stepper.apply(decision)


    # ----------------------------------------------------------------- output
    @property
    def horizon(self) -> float:
        return self.now

    def energy_j(self) -> float:
        """Dynamic energy of executed (and aborted, pro rata) layers plus idle energy."""
        idle = sum(p * max(0.0, self.now - b) for p, b in zip(self.idle_power, self.busy))
        return self.energy_dyn + idle

    def decision_us(self, q: float) -> float:
        self._flush_decisions()
        return _hist_quantile(self.dec_hist, q)


CORES = ("auto", "python", "compiled")


def _never(sim) -> bool:
    return False


def compiled_refusal(cls) -> str | None:
    """Why the compiled core cannot run schedulers of class ``cls`` (None: it can).

    A scheduler class opts in by declaring ``kernel_spec`` (a rule of ``sim/compiled.py``'s
    ``RULES``, e.g. ``"priority:deadline"`` or ``"sla-aware"``); ``schedulers/base.py`` clears it on
    subclasses that change what a decision does. The simulator reads only that attribute: it
    imports no scheduler module. The one rule behind both ``--core`` checks of the CLI and
    :meth:`Simulator.run`."""
    name = getattr(cls, "name", None) or cls.__name__
    if getattr(cls, "kernel_spec", None) is None:
        return (f"scheduler '{name}' (it declares no in-kernel rule, kernel_spec; every shipped heuristic, "
                "the learned schedulers, their teachers and the cycle schedulers have one)")
    return None


# decision-time histogram: log-spaced bins from 10 ns to 10 s, constant memory
_HIST_BINS = 400
_HIST_LO, _HIST_HI = 1.0, 10.0  # log10(ns)
_HIST_EDGES = np.logspace(_HIST_LO, _HIST_HI, _HIST_BINS + 1)


_HIST_FLUSH = 4096  # decision times buffered before binning


def _bin(ns: int) -> int:
    if ns <= 10:
        return 0
    b = int((math.log10(ns) - _HIST_LO) / (_HIST_HI - _HIST_LO) * _HIST_BINS)
    return min(b, _HIST_BINS - 1)


def _bins(ns: np.ndarray) -> np.ndarray:
    """Vectorised :func:`_bin`."""
    b = (np.log10(np.maximum(ns, 10.0)) - _HIST_LO) / (_HIST_HI - _HIST_LO) * _HIST_BINS
    return np.clip(b.astype(np.int64), 0, _HIST_BINS - 1)


def _hist_quantile(h: np.ndarray, q: float) -> float:
    n = int(h.sum())
    if n == 0:
        return float("nan")
    c = np.cumsum(h)
    b = int(np.searchsorted(c, q * n))
    b = min(b, _HIST_BINS - 1)
    return float(np.sqrt(_HIST_EDGES[b] * _HIST_EDGES[b + 1]) / 1e3)
