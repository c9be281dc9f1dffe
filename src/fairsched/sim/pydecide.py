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
with ``end`` and ``hit`` and ``on_end`` is called, in end order, before the next decision (with
``sim.now`` at the end time). Energy and busy times are filled at the end of the run only.

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
    """A compiled run whose decisions are made by ``scheduler.decide`` in Python."""

    def __init__(self, sim, scheduler, **sizes):
        super().__init__(sim, "python", (), **sizes)
        self.decide = scheduler.decide
        self.M = sim.M
        self.live: dict[int, Request] = {}  # id -> Request of every ready or running request
        self.slot_of: dict[int, int] = {}  # as of the last sync
        self.wake: list[float] = []
        self.pending: list[tuple[int, int, int]] = []  # rows of a decision not yet handed over
        self.cursor = 0  # end-log entries already reported (ends, on_end)
        self.timing = bool(sim.cfg.time_decisions)
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
        self._ends()
        n = int(self.st[C.LOG_LEN])
        if n and self.sim.request_log is not None:
            self.log_chunks.append((self.log_f[:, :n].copy(), self.log_i[:, :n].copy()))
        self.st[C.LOG_LEN] = 0
        self.cursor = 0

    # ---- what the kernel asks for
    def serve(self, kind: int):
        if kind == 1:
            return self._chunk()
        if kind == 2:  # Simulator.advance: wakes at or before now are popped
            w, now = self.wake, float(self.fs[C.NOW])
            while w and w[0] <= now:
                heapq.heappop(w)
            return 0, 0, (w[0] if w else INF)
        self._ends()
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
        self.pending = self._rows(sim, d)
        if d.wake_at is not None and d.wake_at > sim.now:
            heapq.heappush(self.wake, d.wake_at)
        return self._chunk()

    def _chunk(self):
        buf = self.rd[1]
        rows, cap = self.pending, len(buf)
        take, self.pending = rows[:cap], rows[cap:]
        for j, (kind, slot, sub) in enumerate(take):
            buf[j, 0], buf[j, 1], buf[j, 2] = kind, slot, sub
        return len(take), int(bool(self.pending)), (self.wake[0] if self.wake else INF)

    # ---- the state view
    def _sync(self, sim) -> None:
        """The simulator's public state from the kernel's arrays (``Simulator`` fields, same types)."""
        st, reqi, reqf, live = self.st, self.reqi, self.reqf, self.live
        sim.now = float(self.fs[C.NOW])
        slot_of = self.slot_of = {}
        ready = {}
        n = int(st[C.N_READY])
        if n:
            sl = self.rlist[:n]
            cols = reqi[:, sl]
            if n > 1:
                o = np.argsort(cols[C.R_RSEQ], kind="stable")
                cols, sl = cols[:, o], sl[o]
            for rid, k, slot in zip(cols[C.R_ID].tolist(), cols[C.R_LAYER].tolist(), sl.tolist()):
                r = live.get(rid)
                if r is None:
                    r = self._new(rid, slot)
                r.next_layer = k
                r.state = READY
                r.sub = -1
                ready[rid] = r
                slot_of[rid] = slot
        running = [None] * self.M
        n_idle = 0
        for i, slot in enumerate(self.running.tolist()):
            if slot < 0:
                n_idle += 1
                continue
            rid = int(reqi[C.R_ID, slot])
            r = live.get(rid)
            if r is None:
                r = self._new(rid, slot)
            r.next_layer = int(reqi[C.R_LAYER, slot])
            r.state = RUNNING
            r.sub = i
            running[i] = r
            slot_of[rid] = slot
        sim.ready, sim.running, sim.n_idle = ready, running, n_idle
        sim.slo_arrived, sim.slo_hits, sim.slo_dropped, sim.slo_done_all, sim.slo_hits_all = self.cnt.tolist()
        sim.n_arrived = int(st[C.N_ARRIVED])
        sim.layer_events, sim.decisions, sim.aborted_layers = (int(st[C.LAYER_EVENTS]), int(st[C.DECISIONS]),
                                                               int(st[C.ABORTED]))

    def _new(self, rid: int, slot: int) -> Request:
        sim, reqi, reqf = self.sim, self.reqi, self.reqf
        s, mi = int(reqi[C.R_SLO, slot]), int(reqi[C.R_MODEL, slot])
        r = Request(rid, s, sim.slo_tenant[s], sim.models[mi], mi, float(reqf[C.R_ARRIVAL, slot]),
                    float(reqf[C.R_DEADLINE, slot]), sim.n_layers[mi], bool(reqi[C.R_COUNTED, slot]))
        self.live[rid] = r
        return r

    def _ends(self) -> None:
        """Requests that ended since the last call: marked DONE, then ``on_end`` in end order."""
        n = int(self.st[C.LOG_LEN])
        if n == self.cursor:
            return
        sim, live, on_end = self.sim, self.live, self.sim.on_end
        lf = self.log_f[:, self.cursor:n].tolist()
        li = self.log_i[:, self.cursor:n].tolist()
        self.cursor = n
        for rid, s, hit, counted, a, d, e in zip(*li, *lf):
            r = live.pop(rid, None)
            hit = bool(hit)
            if r is None:  # never seen by a decision: a Request for on_end
                if on_end is None:
                    continue
                mi = sim.slo_model[s]
                r = Request(rid, s, sim.slo_tenant[s], sim.models[mi], mi, a, d, sim.n_layers[mi], bool(counted))
            r.state, r.end, r.hit, r.sub = DONE, e, hit, -1
            if hit:
                r.next_layer = r.n_layers
            if on_end is not None:
                sim.now = e
                on_end(r, hit)

    def _rows(self, sim, d) -> list[tuple[int, int, int]]:
        """``Simulator.apply``'s checks, in its order (drops, then assignments), as kernel rows."""
        slot_of, ready, running, M = self.slot_of, sim.ready, sim.running, self.M
        rows, gone, freed, taken = [], set(), set(), set()
        for req in d.drop:
            rid = req.id
            slot = slot_of.get(rid)
            if slot is None or rid in gone:
                raise SchedulerError(f"drop of {req!r}, which has already ended")
            gone.add(rid)
            if rid not in ready:
                freed.add(int(self.reqi[C.R_SUB, slot]))
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
