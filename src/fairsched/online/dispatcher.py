"""The online dispatcher: real-time events in, "what next on executor i" out, any scheduler.

A :class:`Dispatcher` keeps the :class:`~fairsched.online.state.SchedulerState` of a serving system
whose executors (CPU threads, GPUs, accelerator queues) run DNN requests layer by layer, and asks a
registered scheduler (``edf``, ``sla-aware``, ``drl``, ...) what each idle executor runs next. It
reproduces the simulator's semantics (docs/semantics.md) on a wall clock:

* events: :meth:`request_arrived` (tenant/model or SLO index), :meth:`layer_finished` (executor ``i``
  finished, or acknowledged the abort of, its layer), :meth:`request_cancelled` (the client gave up);
* firm deadlines: at ``arrival + D`` an unfinished request is dropped (a miss); if one of its layers is
  running, the executor is told to abort it (``on_abort(i, request)``) and is busy until it
  acknowledges with :meth:`layer_finished`; a request whose last layer ends at or before its deadline
  is a hit, later is a miss;
* with ``shed_hopeless`` a ready request that cannot finish even on its best executors is dropped at a
  decision point, as in the simulator;
* decisions: :meth:`dispatch` runs the scheduler while an executor is idle and a request ready, carrying
  out each :class:`~fairsched.sim.engine.Decision` (assignments, drops) and asking again at the same
  instant, exactly as the simulator's ``advance``/``apply`` loop; :meth:`next_for` is the in-process call
  an executor makes when it goes idle (expire deadlines, dispatch, return its assignment).

The clock is injectable (``clock``: a function returning seconds), so tests replay an event sequence
on a fake clock and get the simulator's decisions (tests/online). All public methods take one lock
(``lock``; ``cond`` is a Condition on it that is notified whenever work is assigned), so executor
threads, a load generator and a deadline watchdog may call them concurrently. The time of every
``decide`` call is measured (:meth:`decision_us`).
"""

from __future__ import annotations

import heapq
import threading
import time
from typing import Callable

import numpy as np

from fairsched.errors import InputError
from fairsched.online.state import build_profiles
from fairsched.sim.engine import SchedulerError
from fairsched.sim.request import DONE, READY, RUNNING, Request
from fairsched.sim.view import StateHelpers

INF = float("inf")


class Dispatcher(StateHelpers):
    """Online scheduler state plus decision loop; implements :class:`SchedulerState`.

    ``platform``: the executors (one sub-accelerator per executor; its ``type`` is the executor
    kind, the cost table's ``accel_type``). ``costs``: per-layer costs per kind (measured by
    ``fairsched costs profile`` for real executors). ``workload``: the resolved SLOs (deadlines,
    targets, expected rates). ``scheduler``: a registered name or a Scheduler instance.
    ``n_total``: requests expected in the SLA window (default ``workload.requests``): the warm-up
    is its first ``warmup_fraction``, and learned policies read the progress through it.
    """

    def __init__(self, platform, costs, workload, scheduler="edf", *, clock: Callable[[], float] = time.monotonic,
                 seed: int = 0, n_total: int | None = None, shed_hopeless: bool = True,
                 on_abort: Callable[[int, Request], None] | None = None, log_requests: bool = True,
                 time_decisions: bool = True, trace_layers: bool = True, max_decision_samples: int = 1_000_000):
        from fairsched.schedulers.registry import make

        self.platform = platform
        self.costs = costs
        self.workload = workload
        self.B = platform.bandwidth
        self.M = platform.n
        self.models = sorted({s.model for s in workload.slos})
        self.model_index = {m: i for i, m in enumerate(self.models)}
        self.prof, self.sub_prof, self.best_suffix, self.sub_solo = build_profiles(platform, costs, self.models)
        self.prof_keys = list(dict.fromkeys((s.type, s.clock_hz) for s in platform.subs))
        self.n_layers = [costs.n_layers(m) for m in self.models]
        self.slo_target = [s.target for s in workload.slos]
        self.slo_tenant = [s.tenant for s in workload.slos]
        self.slo_deadline = [s.deadline for s in workload.slos]
        self.slo_model = [self.model_index[s.model] for s in workload.slos]
        self._slo_by_name = {(s.tenant_name, s.model): s.index for s in workload.slos}
        self.n_total = int(workload.requests if n_total is None else n_total)
        self.warmup_n = int(workload.warmup_fraction * self.n_total)
        self.shed_hopeless = shed_hopeless
        self.on_abort = on_abort
        self.clock = clock
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        S = len(workload.slos)
        self.slo_arrived, self.slo_hits, self.slo_dropped = [0] * S, [0] * S, [0] * S
        self.slo_done_all, self.slo_hits_all = [0] * S, [0] * S
        self.slo_cancelled = [0] * S
        self.on_end = None  # SchedulerState.on_end: a scheduler's reset may set it (dbp)
        self.ready: dict[int, Request] = {}
        self.running: list[Request | None] = [None] * self.M
        self._aborting = [False] * self.M  # told to abort; busy until it acknowledges
        self._start = [0.0] * self.M
        self._pending: dict[int, tuple[Request, int]] = {}
        self._dl: list = []
        self._lst: list = []
        self._all: dict[int, Request] = {}
        self.n_arrived = 0
        self.busy = [0.0] * self.M
        self.layer_events = self.decisions = self.aborted_layers = 0
        self.peak_bw = 0.0
        self.request_log: list[tuple] | None = [] if log_requests else None
        # (start, end, executor, request id, layer, "done"/"aborted"); None when not traced
        self.layer_trace: list[tuple] | None = [] if trace_layers else None
        self.max_decision_samples = int(max_decision_samples)
        self.time_decisions = time_decisions
        self.decision_ns: list[int] = []
        self._t0 = clock()
        self.now = 0.0
        self.scheduler = make(scheduler) if isinstance(scheduler, str) else scheduler
        self.scheduler.reset(self, seed)

    # ------------------------------------------------------------- state view
    @property
    def idle(self) -> list[int]:
        r, a = self.running, self._aborting
        return [i for i in range(self.M) if r[i] is None and not a[i]]

    # ------------------------------------------------------------------ events
    def time(self) -> float:
        """Seconds since the dispatcher was built, on its clock."""
        return self.clock() - self._t0

    def slo_index(self, tenant, model: str | None = None) -> int:
        """The SLO index of ``(tenant name, model)``; an int ``tenant`` without model is an SLO index."""
        if model is None and isinstance(tenant, (int, np.integer)):
            if not 0 <= tenant < len(self.slo_target):
                raise InputError(f"slo: {tenant} is not an SLO index; use 0..{len(self.slo_target) - 1}")
            return int(tenant)
        s = self._slo_by_name.get((tenant, model))
        if s is None:
            raise InputError(f"request: tenant '{tenant}' has no SLO for model '{model}'; known: "
                             f"{sorted(self._slo_by_name)}")
        return s

    def request_arrived(self, tenant, model: str | None = None) -> Request:
        """A request of ``tenant`` for ``model`` (or of SLO index ``tenant``) arrived now."""
        s = self.slo_index(tenant, model)
        with self.lock:
            self._set_now()
            self._expire(strict=False)
            seq = self.n_arrived
            self.n_arrived += 1
            mi = self.slo_model[s]
            counted = seq >= self.warmup_n
            req = Request(seq, s, self.slo_tenant[s], self.models[mi], mi, self.now, self.now + self.slo_deadline[s],
                          self.n_layers[mi], counted)
            if counted:
                self.slo_arrived[s] += 1
            heapq.heappush(self._dl, (req.deadline, seq, req))
            self.ready[seq] = req
            self._all[seq] = req
            if self.shed_hopeless:
                heapq.heappush(self._lst, (req.deadline - self.best_suffix[mi][0], seq, 0, req))
            return req

    def layer_finished(self, executor: int) -> Request | None:
        """Executor ``executor`` finished its layer (or acknowledged an abort). Returns the request
        whose layer finished, or None for an acknowledged abort."""
        i = executor
        with self.lock:
            self._set_now()
            self._expire(strict=True)  # deadlines strictly before now came first
            if self._aborting[i]:
                self._aborting[i] = False
                return None
            req = self.running[i]
            if req is None:
                raise SchedulerError(f"layer_finished({i}): executor {i} is not running a layer")
            self.running[i] = None
            self.busy[i] += self.now - self._start[i]
            self.layer_events += 1
            if self.layer_trace is not None:
                self.layer_trace.append((self._start[i], self.now, i, req.id, req.next_layer, "done"))
            self._pending.pop(i, None)
            req.next_layer += 1
            req.sub = -1
            if req.next_layer == req.n_layers:
                self._end(req, True)
            else:
                req.state = READY
                self.ready[req.id] = req
                if self.shed_hopeless:
                    k = req.next_layer
                    heapq.heappush(self._lst, (req.deadline - self.best_suffix[req.mi][k], req.id, k, req))
            return req

    def request_cancelled(self, req_id: int) -> bool:
        """The client withdrew request ``req_id``: it leaves the system and the SLA window (neither a
        hit nor a miss). Returns False if it had already ended."""
        with self.lock:
            self._set_now()
            req = self._all.get(req_id)
            if req is None or req.state == DONE:
                return False
            self._remove(req)
            req.state = DONE
            req.end = self.now
            self._all.pop(req_id, None)
            self.slo_cancelled[req.slo] += 1
            if req.counted:
                self.slo_arrived[req.slo] -= 1
            return True

    def expire(self) -> int:
        """Enforce deadlines up to now (a watchdog calls this); returns the number dropped."""
        with self.lock:
            self._set_now()
            return self._expire(strict=False)

    def next_deadline(self) -> float:
        """The earliest pending deadline (dispatcher time), or inf."""
        with self.lock:
            dl = self._dl
            while dl and dl[0][2].state == DONE:
                heapq.heappop(dl)
            return dl[0][0] if dl else INF

    # --------------------------------------------------------------- decisions
    def dispatch(self) -> list[tuple[int, Request, int]]:
        """Run the scheduler while an executor is idle and a request is ready, at one instant.
        Returns the new assignments ``(executor, request, layer)``; each is also held for
        :meth:`take` / :meth:`next_for` of its executor, and ``cond`` is notified."""
        with self.lock:
            self._set_now()
            self._expire(strict=False)
            out = []
            sched = self.scheduler
            while self.ready and self.idle:
                if self.shed_hopeless:
                    self._shed()
                    if not self.ready:
                        break
                if self.time_decisions and len(self.decision_ns) < self.max_decision_samples:
                    t0 = time.perf_counter_ns()
                    d = sched.decide(self)
                    self.decision_ns.append(time.perf_counter_ns() - t0)
                else:
                    d = sched.decide(self)
                self.decisions += 1
                if d is None:
                    break
                for req in d.drop:
                    if req.state == DONE:
                        raise SchedulerError(f"drop of {req!r}, which has already ended")
                    self._drop(req)
                for req, sub in d.assign:
                    if req.state != READY:
                        raise SchedulerError(f"assignment of {req!r}, which is not ready")
                    if not (0 <= sub < self.M) or self.running[sub] is not None or self._aborting[sub]:
                        raise SchedulerError(f"assignment to executor {sub}, which is not idle")
                    del self.ready[req.id]
                    req.state = RUNNING
                    req.sub = sub
                    self.running[sub] = req
                    self._start[sub] = self.now
                    self._pending[sub] = (req, req.next_layer)
                    out.append((sub, req, req.next_layer))
                if not (d.assign or d.drop):
                    break  # the scheduler leaves the rest idle until the next event
            if out:
                self.cond.notify_all()
            return out

    def take(self, executor: int) -> tuple[Request, int] | None:
        """The assignment ``(request, layer)`` held for ``executor`` (once), or None. Once taken, the
        executor runs it: an abort is then sent through ``on_abort`` and must be acknowledged with
        :meth:`layer_finished`; an assignment dropped before it was taken needs neither."""
        with self.lock:
            return self._pending.pop(executor, None)

    def next_for(self, executor: int) -> tuple[Request, int] | None:
        """What executor ``executor`` runs next: expire deadlines, dispatch, take its assignment.
        None: stay idle until the next event."""
        with self.lock:
            self.dispatch()
            return self._pending.pop(executor, None)

    def quiet(self) -> bool:
        """Nothing ready, running or being aborted."""
        with self.lock:
            return not self.ready and not any(r is not None for r in self.running) and not any(self._aborting)

    def decision_us(self, q: float) -> float:
        """Quantile ``q`` of the measured ``decide`` times (microseconds); NaN before any."""
        with self.lock:
            if not self.decision_ns:
                return float("nan")
            return float(np.quantile(np.asarray(self.decision_ns, dtype=np.float64), q) / 1e3)

    # ----------------------------------------------------- metrics (as the simulator)
    @property
    def horizon(self) -> float:
        return self.now

    def energy_j(self) -> float:
        """Not measured on real executors: NaN."""
        return float("nan")

    # -------------------------------------------------------------- internals
    def _set_now(self) -> None:
        t = self.clock() - self._t0
        if t > self.now:
            self.now = t

    def _expire(self, strict: bool) -> int:
        dl, now, n = self._dl, self.now, 0
        while dl and (dl[0][0] < now or (not strict and dl[0][0] <= now)):
            req = heapq.heappop(dl)[2]
            if req.state != DONE:
                self._drop(req)
                n += 1
        return n

    def _shed(self) -> None:
        lst, now = self._lst, self.now
        while lst and lst[0][0] < now:
            _, _, k, req = heapq.heappop(lst)
            if req.state == READY and req.next_layer == k:
                self._drop(req)

    def _remove(self, req: Request) -> None:
        """Take ``req`` off the ready set or its executor (telling the executor to abort)."""
        if req.state == RUNNING:
            i = req.sub
            self.running[i] = None
            self.busy[i] += self.now - self._start[i]
            self.aborted_layers += 1
            if self.layer_trace is not None:
                self.layer_trace.append((self._start[i], self.now, i, req.id, req.next_layer, "aborted"))
            req.sub = -1
            if self._pending.pop(i, None) is None:  # the executor has taken it: tell it to stop
                self._aborting[i] = True
                if self.on_abort is not None:
                    self.on_abort(i, req)
            # else: assigned but not yet taken by the executor: nothing runs, it is free at once
        elif req.state == READY:
            del self.ready[req.id]

    def _drop(self, req: Request) -> None:
        self._remove(req)
        if req.counted:
            self.slo_dropped[req.slo] += 1
        self._end(req, False)

    def _end(self, req: Request, hit: bool) -> None:
        self._all.pop(req.id, None)
        super()._end(req, hit)
