"""Any scheduler's own ``decide`` on the compiled event loop (rule ``python`` of :mod:`.compiled`).

Why: a scheduler without an in-kernel rule (a user-defined :class:`~fairsched.schedulers.base.Scheduler`
subclass, a plug-in, a wrapper) used to run on the pure-Python engine, a second product path.
Here the kernel runs every event (arrivals, bandwidth, finishes, deadlines, shedding) and, at
each decision point, calls Python (``compiled._py_hook``, a numba ``objmode`` call, ~1 us; an
exit and re-entry of the kernel would cost ~10 us of dispatch) to run ``decide(sim)``; the
decision comes back as rows the kernel applies exactly as ``Simulator.apply`` does.

The state view *is* the :class:`~fairsched.sim.engine.Simulator`: before each ``decide`` its public
state is synced from the kernel's arrays (``now``, ``ready`` in the engine's dict order, ``running``,
``n_idle``, the SLO counters, ``n_arrived``, ``layer_events``, ``decisions``, ``aborted_layers``), so
``idle``, ``layer_time``, ``fastest_idle``, ``remaining``, ``best_remaining``, ``slo_hit_rate`` and every
static field (``prof``, ``sub_prof``, ``best_suffix``, ``workload``, ...) work unchanged, and a
scheduler that kept ``sim`` from ``reset`` sees the same object. Request objects persist while a
request lives (same object at every decision, as on the engine); when it ends it is marked ``DONE``
with ``end`` and ``hit``, appended to ``request_log`` (when kept) and ``on_end`` is called, in end
order, before the next decision (with ``sim.now`` at the end time). Energy and busy times are
filled at the end of the run only.

Same results as the engine, bit for bit (``tests/sim/test_pydecide.py``), and decision times are
measured the same way (``time_decisions``).
"""

from __future__ import annotations

import heapq
import time

import numpy as np

from fairsched.sim import compiled as C
from fairsched.sim.engine import SchedulerError
from fairsched.sim.request import DONE, READY, RUNNING, Request

INF = float("inf")


class PyKernel(C._Kernel):
    """A compiled run whose decisions are made by ``scheduler.decide`` in Python.

    The mirror is incremental, as the engine's own state: the kernel logs every change of the
    ready set in order (``sk_v`` rows ``(id, layer, slot)``, layer -1: it left the set), and every
    end (its request log), so a decision costs Python work for what changed since the last one
    (plus the ``running`` list, O(M)), not for the whole ready set."""

    def __init__(self, sim, scheduler, **sizes):
        super().__init__(sim, "python", (), **sizes)
        self.decide = scheduler.decide
        self.M = sim.M
        self.live: dict[int, Request] = {}  # id -> Request of every ready or running request
        self.slot_of: dict[int, int] = {}  # id -> its slot in the kernel's arrays
        self.by_slot: list[Request | None] = []  # slot -> the request that last became ready there
        self.wake: list[float] = []
        self.pending: list[tuple[int, int, int]] = []  # rows of a decision not yet handed over
        self.cursor = 0  # end-log entries already reported (ends, on_end)
        self.seen = (-1, -1)  # (n_arrived, ends) at the last counter sync
        self.n_ended = 0
        self.timing = bool(sim.cfg.time_decisions)
        sim.ready, sim.running = {}, [None] * sim.M
        # the kernel logs every end: it is how ended requests are marked DONE and on_end is called
        self.st[C.LOGGING] = 1
        if self.log_f.shape[1] == 0:
            n = 4 * len(self.free)
            self.log_f, self.log_i = np.zeros((3, n)), np.zeros((4, n), np.int64)

    # ---- the run
    def run_all(self, arrivals) -> None:
        stack = C._ACTIVE.stack
        stack.append(self)
        try:
            self.run(arrivals)
        finally:
            stack.pop()
        sim = self.sim
        sim.ready = {}
        sim.running = [None] * sim.M
        sim.n_idle = sim.M
        sim._flush_decisions()

    def _flush_log(self) -> None:
        self._changes()
        self._ends()  # (it also appended these ends to the request log)
        self.st[C.LOG_LEN] = 0
        self.cursor = 0

    def _make_room(self, n_at: int, M: int) -> None:
        self._changes()  # the change log (sk) may be replaced
        super()._make_room(n_at, M)

    # ---- what the kernel asks for
    def serve(self, kind: int):
        if kind:
            if kind == 1:
                return self._chunk()
            if kind == 2:  # Simulator.advance: wakes at or before now are popped
                w, now = self.wake, float(self.fs[C.NOW])
                while w and w[0] <= now:
                    heapq.heappop(w)
                return 0, 0, (w[0] if w else INF)
            self._changes()  # kind 3
            return 0, 0, INF
        sim = self.sim
        self._sync(sim)
        if self.timing:
            t0 = time.perf_counter_ns()
            d = self.decide(sim)
            buf = sim._dec_ns
            buf.append(time.perf_counter_ns() - t0)
            if len(buf) >= 4096:
                sim._flush_decisions()
        else:
            d = self.decide(sim)
        if d is None:
            return -1, 0, (self.wake[0] if self.wake else INF)
        self._take(sim, d)
        return self._chunk()

    def _take(self, sim, d) -> None:
        """A decision's rows (checked as ``Simulator.apply`` checks it) and its wake, to hand over."""
        self.pending = self._rows(sim, d)
        if d.wake_at is not None and d.wake_at > sim.now:
            heapq.heappush(self.wake, d.wake_at)

    def _chunk(self):
        buf = self.rd[1]
        rows, cap = self.pending, len(buf)
        if len(rows) <= cap:
            take, self.pending = rows, []
        else:
            take, self.pending = rows[:cap], rows[cap:]
        for j, (kind, slot, sub) in enumerate(take):
            buf[j, 0] = kind
            buf[j, 1] = slot
            buf[j, 2] = sub
        return len(take), int(bool(self.pending)), (self.wake[0] if self.wake else INF)

    # ---- the state view
    def _changes(self, n: int | None = None) -> None:
        """Apply the kernel's log of ready-set changes to ``sim.ready`` (the engine's dict order)."""
        if n is None:
            n = int(self.st[C.PY_LOG])
        if not n:
            return
        self.st[C.PY_LOG] = 0
        ready, live, slot_of, by_slot = self.sim.ready, self.live, self.slot_of, self.by_slot
        reqi = self.reqi
        for rid, k, slot in self.sk[1][:n].tolist():
            if k < 0:
                ready.pop(rid, None)
                continue
            r = live.get(rid)
            if r is None:
                if reqi[C.R_ID, slot] != rid:  # it ended before this read: only the end log knows it
                    continue
                r = self._new(rid, slot)
            r.next_layer = k
            r.state = READY
            r.sub = -1
            ready[rid] = r

    def _sync(self, sim) -> None:
        """The simulator's public state from the kernel's (``Simulator`` fields, same types)."""
        stl = self.st.tolist()
        self._changes(stl[C.PY_LOG])
        if stl[C.LOG_LEN] != self.cursor:
            self._ends()
        sim.now = self.fs.item(C.NOW)
        by_slot, running, n_idle = self.by_slot, sim.running, 0
        for i, slot in enumerate(self.running.tolist()):
            if slot < 0:
                n_idle += 1
                if running[i] is not None:
                    running[i] = None
                continue
            r = by_slot[slot]
            if running[i] is not r or r.state != RUNNING:  # (the same request may run again on i)
                running[i] = r
                r.state = RUNNING
                r.sub = i
        sim.n_idle = n_idle
        seen = (stl[C.N_ARRIVED], self.n_ended)
        if seen != self.seen:  # the counters change only at arrivals and ends
            self.seen = seen
            sim.slo_arrived, sim.slo_hits, sim.slo_dropped, sim.slo_done_all, sim.slo_hits_all = self.cnt.tolist()
            sim.n_arrived = seen[0]
        sim.layer_events, sim.decisions, sim.aborted_layers = stl[C.LAYER_EVENTS], stl[C.DECISIONS], stl[C.ABORTED]

    def _new(self, rid: int, slot: int) -> Request:
        sim, reqi, reqf = self.sim, self.reqi, self.reqf
        s, mi = int(reqi[C.R_SLO, slot]), int(reqi[C.R_MODEL, slot])
        r = Request(rid, s, sim.slo_tenant[s], sim.models[mi], mi, float(reqf[C.R_ARRIVAL, slot]),
                    float(reqf[C.R_DEADLINE, slot]), sim.n_layers[mi], bool(reqi[C.R_COUNTED, slot]))
        self.live[rid] = r
        self.slot_of[rid] = slot
        by_slot = self.by_slot
        if slot >= len(by_slot):
            by_slot.extend([None] * (len(self.free) - len(by_slot)))
        by_slot[slot] = r
        return r

    def _ends(self) -> None:
        """Requests that ended since the last call: marked DONE, appended to the request log (as
        they end, as on the engine: a scheduler or a stepping caller may read it mid-run), then
        ``on_end``, in end order."""
        n = int(self.st[C.LOG_LEN])
        if n == self.cursor:
            return
        sim, live, slot_of, on_end = self.sim, self.live, self.slot_of, self.sim.on_end
        log = sim.request_log
        tenant, models, smodel = sim.slo_tenant, sim.models, sim.slo_model
        lf = self.log_f[:, self.cursor:n].tolist()
        li = self.log_i[:, self.cursor:n].tolist()
        self.n_ended += n - self.cursor
        self.cursor = n
        for rid, s, hit, counted, a, d, e in zip(*li, *lf):
            r = live.pop(rid, None)
            hit = bool(hit)
            if log is not None:
                log.append((rid, tenant[s], s, models[smodel[s]], a, d, e, hit, bool(counted)))
            if r is None:  # never seen by Python: a Request for on_end
                if on_end is None:
                    continue
                mi = sim.slo_model[s]
                r = Request(rid, s, sim.slo_tenant[s], sim.models[mi], mi, a, d, sim.n_layers[mi], bool(counted))
            else:
                del slot_of[rid]
                if r.state == RUNNING and sim.running[r.sub] is r:
                    sim.running[r.sub] = None
            r.state, r.end, r.hit, r.sub = DONE, e, hit, -1
            if hit:
                r.next_layer = r.n_layers
            if on_end is not None:
                sim.now = e
                on_end(r, hit)

    def _rows(self, sim, d) -> list[tuple[int, int, int]]:
        """``Simulator.apply``'s checks, in its order (drops, then assignments), as kernel rows."""
        slot_of, ready, running, M = self.slot_of, sim.ready, sim.running, self.M
        if not d.drop:  # the common case
            if len(d.assign) == 1:
                (req, sub), = d.assign
                rid = req.id
                if rid not in ready:
                    raise SchedulerError(f"assignment of {req!r}, which is not ready")
                if not (0 <= sub < M) or running[sub] is not None:
                    raise SchedulerError(f"assignment to sub-accelerator {sub}, which is not idle")
                return [(1, slot_of[rid], int(sub))]
        rows, gone, freed, taken = [], set(), set(), set()
        for req in d.drop:
            rid = req.id
            slot = slot_of.get(rid)
            if slot is None or rid in gone:
                raise SchedulerError(f"drop of {req!r}, which has already ended")
            gone.add(rid)
            if rid not in ready:
                freed.add(self.live[rid].sub)
            rows.append((0, slot, 0))
        for req, sub in d.assign:
            rid = req.id
            if rid not in ready or rid in gone:
                raise SchedulerError(f"assignment of {req!r}, which is not ready")
            if not (0 <= sub < M) or sub in taken or (running[sub] is not None and sub not in freed):
                raise SchedulerError(f"assignment to sub-accelerator {sub}, which is not idle")
            gone.add(rid)
            taken.add(sub)
            rows.append((1, slot_of[rid], int(sub)))
        return rows


def run_python_decided(sim, scheduler, *, slots: int = 1024, heap: int = 1024, chunk: int = 16384) -> None:
    """Run ``sim`` (fresh; ``scheduler.reset`` already called) to the end on the compiled event
    loop with ``scheduler.decide`` deciding; fill its public counters as :func:`compiled.run_compiled`.

    ``slots``, ``heap``, ``chunk``: initial sizes (they double as needed; the decision buffer is the
    ready heap's rows, handed over in chunks of its size); they change speed, never results."""
    k = PyKernel(sim, scheduler, slots=slots, heap=heap)
    k.run_all(C._Arrivals(sim, min_chunk=chunk))
    C._fill(sim, k)
    sim._flush_decisions()


class StepKernel(PyKernel):
    """``Simulator.advance`` / ``apply`` on the compiled event loop: the run pauses at each decision
    point (the kernel exits with ``NEED_DECISION``) and resumes with the decision given to
    :meth:`apply`.

    Why: a consumer that must return to its own code between decisions (the cycle env's Python
    dispatch, an agent, a test stepping a hand case) runs on the one event loop of the package
    instead of a second one. An exit costs ~10 us of numba dispatch per decision (the in-kernel
    callback of :class:`PyKernel` ~1 us), so whole runs use :meth:`Simulator.run`. The state view
    is the simulator, synced at each pause as for :class:`PyKernel`; decisions are not timed (as
    ``apply`` never was)."""

    def __init__(self, sim, *, chunk: int = 16384, **sizes):
        super().__init__(sim, _Unused(), **sizes)
        self.timing = False
        self.arrivals = C._Arrivals(sim, min_chunk=chunk)
        self.paused = False  # at a decision point, waiting for apply (or the next advance)
        self.applied = False  # apply was called at this decision point
        self.given = False  # ... with a decision (not None)
        self.finished = False
        self.until = None  # (pause, decide) of advance_until while it runs

    def serve(self, kind: int):
        if kind:
            return super().serve(kind)
        if not self.paused:  # a decision point: sync the view, exit (NEED_DECISION) ...
            sim = self.sim
            self._sync(sim)
            until = self.until
            if until is not None and not until[0](sim):  # ... or decide here, without an exit
                d = until[1](sim)
                if d is None:
                    return -1, 0, (self.wake[0] if self.wake else INF)
                self._take(sim, d)
                return self._chunk()
            self.paused = True
            return -2, 0, (self.wake[0] if self.wake else INF)
        # resumed at that decision point: hand over what apply took (no apply: as apply(None))
        self.paused = self.applied = False
        if not self.given:
            return -1, 0, (self.wake[0] if self.wake else INF)
        self.given = False
        return self._chunk()

    def advance(self, until=None) -> bool:
        """Run events up to the next decision point (True) or the end of the run (False).
        ``until``: ``(pause, decide)``: at each decision point where ``pause(sim)`` is false the
        decision is ``decide(sim)``, made from inside the kernel; it pauses where it is true."""
        if self.finished:
            return False
        stack = C._ACTIVE.stack
        stack.append(self)
        self.until = until
        try:
            code = self.run(self.arrivals)
        finally:
            self.until = None
            stack.pop()
        if code == C.NEED_DECISION:
            return True
        self.finished = True
        sim = self.sim
        sim.ready, sim.running, sim.n_idle = {}, [None] * sim.M, sim.M
        C._fill(sim, self)
        return False

    def apply(self, d) -> None:
        """Take the decision for the paused decision point (checked now, as ``Simulator.apply``)."""
        if not self.paused or self.applied:
            raise SchedulerError("apply: no decision point is pending (call advance() first, and apply once)")
        self.applied = True
        if d is None:
            return
        self._take(self.sim, d)
        self.given = True


class _Unused:
    """The scheduler slot of a stepped kernel: decisions come from ``apply``."""

    def decide(self, sim):  # pragma: no cover - never called
        raise RuntimeError("a stepped kernel takes its decisions from apply()")
