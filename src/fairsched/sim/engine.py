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

The loop is split SimPy-style into :meth:`Simulator.advance` (process events until the next
decision point) and :meth:`Simulator.apply` (carry out a decision), so the evaluation runner
and the RL environment drive the same code. This file is the reference; :meth:`Simulator.run`
hands the whole run to a compiled copy of this loop (:mod:`.compiled`, ``SimConfig.core``) that
gives the same results, bit for bit: with the scheduler's in-kernel rule (``kernel_spec``: every
shipped heuristic, the learned schedulers and their teachers, the cycle schedulers), or, for a
scheduler without one, calling its ``decide`` at each decision point (:mod:`.pydecide`). Bandwidth sharing is incremental (:meth:`Simulator._reallocate`), so an
event costs O(log M), not O(M). Metrics are streamed into counters: memory does not grow with
finished requests unless a per-request log is asked for.
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass, field
from typing import Iterable, Literal

import numpy as np

from fairsched.costs.table import CostTable
from fairsched.errors import InputError
from fairsched.platform.config import Platform
from fairsched.sim.bandwidth import SHARING
from fairsched.sim.request import DONE, READY, RUNNING, Request
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
    time_decisions: bool = True
    # event loop of run(): "compiled" (sim/compiled.py, numba) for the schedulers that declare a
    # ``kernel_spec``, "python" (this file), or "auto": compiled with the rule where there is one,
    # else compiled with the scheduler's own decide (sim/pydecide.py), python only for stepped
    # simulators (per-layer traces come from either core). Same results either way; in-kernel rules do not time decisions
    # (decision_us is NaN): use "python" to measure them.
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
        self._seq = 0
        self.ready: dict[int, Request] = {}
        self._dl: list = []  # (deadline, id, req)
        self._lst: list = []  # (latest start of next layer, id, layer, req) for shedding
        self._wake: list = []
        self.running: list[Request | None] = [None] * M
        self._C = [0.0] * M
        self._D = [0.0] * M
        self._E = [0.0] * M
        # Bandwidth (docs/performance.md, "Bandwidth sharing"): a running layer is in class 1
        # (full speed: its remaining fraction was _w[i] at _t0[i] and falls at 1/C) or class 2
        # (throttled: it shares the level _L with every other throttled layer, and finishes when
        # the virtual clock V, which advances at _L, reaches its tag). Only class changes touch a
        # layer; a start or finish costs O(log M) plus the layers that cross the level.
        self._cls = [0] * M  # 0: idle, or started at this instant and not yet placed in a class
        self._w = [0.0] * M
        self._t0 = [0.0] * M
        self._tag = [0.0] * M
        self._dem = [0.0] * M  # bandwidth demand D/C of the running layer (bytes/s)
        self._r0 = [0.0] * M  # its progress rate at full demand, 1/C
        self._dec_ns: list[int] = []  # decision times not yet binned into dec_hist
        self._ver = [0] * M  # bumped when sub i changes class or is freed: older heap entries are stale
        self._fh: list = []  # class 1 by finish time (fin, sub, version)
        self._fmax: list = []  # class 1 by demand, largest first (-d, sub, version)
        self._th: list = []  # class 2 by tag (tag, sub, version)
        self._tmin: list = []  # class 2 by demand (d, sub, version); max-min only
        self._new: list[int] = []  # subs started since the last re-allocation
        self._sumF = 0.0  # demand of class 1
        self._nF = 0
        self._nT = 0
        self._L = INF  # max-min: bandwidth of each throttled layer; proportional: the speed factor
        self._V = 0.0  # virtual clock of class 2, as of time _tV
        self._tV = 0.0
        self._total = 0.0  # sum of the running layers' demands (proportional sharing)
        self._maxmin = self.cfg.sharing == "maxmin"
        self._start = [0.0] * M
        self._layer = [0] * M
        self._alloc_dirty = False
        self.n_idle = M
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
        self._redecide = False
        self.finished = False
        # on_end(req, hit): called as each request ends, in the order outcomes become known (a
        # scheduler's reset may set it, e.g. dbp's per-stream history); Python core only
        self.on_end = None
        self.core_used: str | None = None  # set by run(): "python" or "compiled"

    # ------------------------------------------------------------ view helpers
    @property
    def idle(self) -> list[int]:
        r = self.running
        return [i for i in range(self.M) if r[i] is None]

    # --------------------------------------------------------------- running
    def run(self, scheduler) -> "Simulator":
        """Run to the end with ``scheduler``; ``core_used`` says which event loop did it."""
        spec = self._kernel_spec(scheduler)
        scheduler.reset(self, self.cfg.seed)
        if spec == "python":  # the compiled event loop, the scheduler's own decide (sim/pydecide.py)
            from fairsched.sim.pydecide import run_python_decided

            self.core_used = "compiled-python"
            run_python_decided(self, scheduler)
            return self
        if spec is not None:
            from fairsched.sim.compiled import run_compiled

            params = scheduler.kernel_params(self) if hasattr(scheduler, "kernel_params") else ()
            self.core_used = "compiled"
            run_compiled(self, spec, tuple(params))
            return self
        self.core_used = "python"
        advance, apply, decide = self.advance, self.apply, scheduler.decide
        if not self.cfg.time_decisions:
            while advance():
                apply(decide(self))
            return self
        clock = time.perf_counter_ns
        buf = self._dec_ns
        append = buf.append
        while advance():
            t0 = clock()
            d = decide(self)
            append(clock() - t0)
            if len(buf) >= _HIST_FLUSH:
                self._flush_decisions()
            apply(d)
        self._flush_decisions()
        return self

    def _kernel_spec(self, scheduler) -> str | None:
        """The scheduler's ``kernel_spec`` if :meth:`run` uses the compiled core; ``"python"`` if
        it runs on the compiled event loop with its own ``decide`` (``core="auto"``, a scheduler
        without a usable rule: :mod:`.pydecide`); None for this file's loop.

        ``core="compiled"`` where the kernel's rules cannot reproduce the run raises InputError."""
        if self.cfg.core == "python":
            return None
        loop_ok = None  # why the compiled event loop cannot run this at all (None: it can)
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
        if self.now != 0.0 or self.n_arrived or self.decisions or self._redecide or self.finished:
            loop_ok = "a simulator that was already stepped (it runs whole runs from the start)"
        else:
            try:
                from fairsched.sim.compiled import RULES
            except ImportError:  # numba missing
                loop_ok = "without numba installed"
            else:
                if why is None and spec not in RULES:  # a bug in the scheduler class, not bad input
                    raise ValueError(f"{type(scheduler).__name__}.kernel_spec: unknown {spec!r}; "
                                     f"use one of {list(RULES)}")
        why = why or loop_ok
        if why is None:
            return spec
        if self.cfg.core == "compiled":
            raise InputError(f"core: the compiled core cannot run {why}; use core='auto' or core='python'")
        return "python" if loop_ok is None else None

    def _flush_decisions(self) -> None:
        """Bin buffered decision times into ``dec_hist`` (constant memory, numpy speed)."""
        if self._dec_ns:
            self.dec_hist += np.bincount(_bins(np.array(self._dec_ns, dtype=np.float64)), minlength=_HIST_BINS)
            self._dec_ns.clear()

    def advance(self) -> bool:
        """Process events until the next decision point. Returns False when the run is over."""
        if self._redecide:
            self._redecide = False
            if self.n_idle and self.ready:
                self._shed()
                if self.ready:
                    return True
        while True:
            if self._alloc_dirty:
                self._reallocate()
            arr = self._arr
            t_arr = arr[0][0] if (arr and self.n_arrived < self.n_total) else INF
            h = self._head(self._fh)
            t_fin = h[0] if h else INF
            if self._nT:
                h = self._head(self._th)
                t_fin = min(t_fin, self._tV + (h[0] - self._V) / self._L)
            dl = self._dl
            while dl and dl[0][2].state == DONE:
                heapq.heappop(dl)
            t_dl = dl[0][0] if dl else INF
            t_wk = self._wake[0] if self._wake else INF
            t = min(t_arr, t_fin, t_dl, t_wk)
            if t == INF:
                self.finished = True
                return False
            if t > self.now:
                self.now = t
            if t_fin <= t:
                due = []
                fh, ver = self._fh, self._ver
                while fh and fh[0][0] <= t:
                    _, i, v = heapq.heappop(fh)
                    if v == ver[i]:
                        due.append(i)
                if self._nT:  # throttled layers finish in tag order, at tV + (tag - V) / L
                    th, tV, V, L = self._th, self._tV, self._V, self._L
                    while True:
                        h = self._head(th)
                        if h is None or not tV + (h[0] - V) / L <= t:
                            break
                        heapq.heappop(th)
                        due.append(h[1])
                due.sort()  # layers finishing at one instant end in sub order
                for i in due:
                    self._finish_layer(i)
            if t_dl <= t:
                while dl and dl[0][0] <= t:
                    req = heapq.heappop(dl)[2]
                    if req.state != DONE:
                        self._drop(req)
            if t_arr <= t:
                while arr and arr[0][0] <= t and self.n_arrived < self.n_total:
                    self._arrive()
            while self._wake and self._wake[0] <= t:
                heapq.heappop(self._wake)
            if self.n_idle and self.ready:
                lst = self._lst
                if lst and lst[0][0] < t:
                    self._shed()
                    if not self.ready:
                        continue
                return True

    def apply(self, decision: Decision | None) -> None:
        """Carry out a scheduler's decision at the current instant."""
        if decision is None:
            return
        for req in decision.drop:
            if req.state == DONE:
                raise SchedulerError(f"drop of {req!r}, which has already ended")
            self._drop(req)
        n = 0
        running, M, start = self.running, self.M, self._start_layer
        for req, sub in decision.assign:
            if req.state != READY:
                raise SchedulerError(f"assignment of {req!r}, which is not ready")
            if not (0 <= sub < M) or running[sub] is not None:
                raise SchedulerError(f"assignment to sub-accelerator {sub}, which is not idle")
            start(req, sub)
            n += 1
        self.decisions += 1
        if decision.wake_at is not None and decision.wake_at > self.now:
            heapq.heappush(self._wake, decision.wake_at)
        # a decision that did something may be followed by another at the same instant
        self._redecide = n > 0 or bool(decision.drop)

    # ---------------------------------------------------------------- events
    def _arrive(self) -> None:
        t, s = heapq.heappop(self._arr)
        if self._procs is not None:
            heapq.heappush(self._arr, (self._procs[s].next(), s))
        seq = self.n_arrived
        self.n_arrived += 1
        mi = self.slo_model[s]
        counted = seq >= self.warmup_n
        req = Request(seq, s, self.slo_tenant[s], self.models[mi], mi, t, t + self.slo_deadline[s], self.n_layers[mi], counted)
        if counted:
            self.slo_arrived[s] += 1
        heapq.heappush(self._dl, (req.deadline, seq, req))
        self.ready[seq] = req
        if self.cfg.shed_hopeless:
            heapq.heappush(self._lst, (req.deadline - self.best_suffix[mi][0], seq, 0, req))

    def _start_layer(self, req: Request, i: int) -> None:
        del self.ready[req.id]
        p = self.prof[self.sub_prof[i]][req.mi]
        k = req.next_layer
        req.state = RUNNING
        req.sub = i
        self.running[i] = req
        self.n_idle -= 1
        C = self._C[i] = p.C[k] + self.cfg.decision_cost_s
        D = self._D[i] = p.D[k]
        d = self._dem[i] = D / C
        self._r0[i] = 1.0 / C
        self._E[i] = p.E[k]
        self._total += d  # its class comes at the next re-allocation
        self._new.append(i)
        self._start[i] = self.now
        self._layer[i] = k
        self._alloc_dirty = True

    def _free(self, i: int) -> float:
        """Free sub ``i``; returns the busy time of the layer that ran there."""
        self.running[i] = None
        self.n_idle += 1
        self._leave(i)
        self._total = self._total - self._dem[i] if self.n_idle < self.M else 0.0  # no drift when idle
        self._alloc_dirty = True
        dt = self.now - self._start[i]
        self.busy[i] += dt
        return dt

    def _finish_layer(self, i: int) -> None:
        req = self.running[i]
        self._free(i)
        self.energy_dyn += self._E[i]
        self.layer_events += 1
        if self.layer_trace is not None:
            self.layer_trace.append((self._start[i], self.now, i, req.id, self._layer[i], "done"))
        req.next_layer += 1
        req.sub = -1
        if req.next_layer == req.n_layers:
            self._end(req, True)
        else:
            req.state = READY
            self.ready[req.id] = req
            if self.cfg.shed_hopeless:
                k = req.next_layer
                heapq.heappush(self._lst, (req.deadline - self.best_suffix[req.mi][k], req.id, k, req))

    def _drop(self, req: Request) -> None:
        if req.state == RUNNING:
            i = req.sub
            w = self._remaining(i)
            self._free(i)
            self.energy_dyn += self._E[i] * max(0.0, 1.0 - w)
            self.aborted_layers += 1
            if self.layer_trace is not None:
                self.layer_trace.append((self._start[i], self.now, i, req.id, self._layer[i], "aborted"))
            req.sub = -1
        else:
            del self.ready[req.id]
        if req.counted:
            self.slo_dropped[req.slo] += 1
        self._end(req, False)

    def _shed(self) -> None:
        """Drop ready requests that cannot finish by their deadline even alone on their best type."""
        if not self.cfg.shed_hopeless:
            return
        lst, now = self._lst, self.now
        while lst and lst[0][0] < now:
            _, _, k, req = heapq.heappop(lst)
            if req.state == READY and req.next_layer == k:
                self._drop(req)

    # -------------------------------------------------------------- bandwidth
    def _push(self, h: list, e: tuple) -> None:
        if len(h) > 3 * self.M + 32:  # drop stale entries (live ones are unique: same pops)
            ver = self._ver
            h[:] = [x for x in h if x[2] == ver[x[1]]]
            heapq.heapify(h)
        heapq.heappush(h, e)

    def _head(self, h: list):
        """The first live entry of a class heap (stale ones popped), or None."""
        ver = self._ver
        while h and h[0][2] != ver[h[0][1]]:
            heapq.heappop(h)
        return h[0] if h else None

    def _to_full(self, i: int, w: float) -> None:
        """Sub ``i``'s layer runs at compute speed from now, with remaining fraction ``w``."""
        now = self.now
        v = self._ver[i] = self._ver[i] + 1
        self._cls[i] = 1
        self._w[i] = w
        self._t0[i] = now
        d = self._dem[i]
        self._sumF += d
        self._nF += 1
        self._push(self._fh, (now + (w if w > 0.0 else 0.0) / self._r0[i], i, v))
        self._push(self._fmax, (-d, i, v))

    def _to_throttled(self, i: int, b: float) -> None:
        """Sub ``i``'s layer shares the level from now, with ``b`` left (bytes; proportional
        sharing: seconds at compute speed)."""
        v = self._ver[i] = self._ver[i] + 1
        self._cls[i] = 2
        tag = self._tag[i] = self._V + b
        self._nT += 1
        self._push(self._th, (tag, i, v))
        if self._maxmin:
            self._push(self._tmin, (self._dem[i], i, v))

    def _leave(self, i: int) -> None:
        c = self._cls[i]
        if c == 1:
            self._nF -= 1
            self._sumF = self._sumF - self._dem[i] if self._nF else 0.0  # no drift when empty
        elif c == 2:
            self._nT -= 1
        self._cls[i] = 0
        self._ver[i] += 1

    def _remaining(self, i: int) -> float:
        """Remaining fraction of sub ``i``'s layer now (1.0 if it started at this instant)."""
        c = self._cls[i]
        if c == 1:
            return self._w[i] - (self.now - self._t0[i]) * self._r0[i]
        if c == 2:
            V = self._V + (self.now - self._tV) * self._L
            return (self._tag[i] - V) / (self._D[i] if self._maxmin else self._C[i])
        return 1.0

    def _reallocate(self) -> None:
        """Grants after the starts and finishes of this instant (docs/performance.md, "bandwidth").

        Max-min: class 1 holds the layers whose demand is met, class 2 the others, which all get
        the level ``L = (B - demand of class 1) / size of class 2``. New layers enter class 1;
        then the largest class-1 demand above the level moves to class 2, or the smallest class-2
        demand at or below it moves to class 1, until neither applies (water-filling, from the
        previous allocation instead of from scratch). Proportional: every layer is in class 2,
        with its work in seconds at compute speed and the level ``min(1, B / total demand)``."""
        self._alloc_dirty = False
        now = self.now
        if self._nT:
            self._V = self._V + (now - self._tV) * self._L
        self._tV = now
        new, self._new = self._new, []
        running, cls = self.running, self._cls
        B = self.B
        if not self._maxmin:
            for i in new:
                if running[i] is not None and cls[i] == 0:
                    self._to_throttled(i, self._C[i])
            total = self._total
            f = self._L = 1.0 if total <= B else B / total
            used = total if f == 1.0 else total * f
            if used > self.peak_bw:
                self.peak_bw = used
            return
        for i in new:
            if running[i] is not None and cls[i] == 0:
                self._to_full(i, 1.0)
        D, head = self._D, self._head
        moves, limit = 0, 2 * (self.M - self.n_idle) + 4  # rounding cannot make it cycle for long
        while True:
            nT = self._nT
            L = (B - self._sumF) / nT if nT else INF
            if moves > limit:
                break
            if self._nF:
                d, i, _ = head(self._fmax)
                if (-d > L) if nT else (self._sumF > B):
                    w = self._w[i] - (now - self._t0[i]) * self._r0[i]
                    self._leave(i)
                    self._to_throttled(i, (w if w > 0.0 else 0.0) * D[i])
                    moves += 1
                    continue
            if nT:
                d, i, _ = head(self._tmin)
                if d <= L:
                    b = self._tag[i] - self._V
                    self._leave(i)
                    self._to_full(i, b / D[i])
                    moves += 1
                    continue
            break
        self._L = L
        used = self._sumF + nT * L if nT else self._sumF
        if used > self.peak_bw:
            self.peak_bw = used

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
