"""The pure-Python event loop of the simulator: the test oracle of the compiled kernel (issue 14).

Why it lives here: the package has one event loop, the compiled kernel (``fairsched.sim.compiled``),
which every scheduler, ``Simulator.advance`` / ``apply`` and the RL envs run on. This file is the
readable reference that the kernel is checked against, bit for bit (request logs, counters, floats,
per-layer traces): the loop that was ``fairsched.sim.engine``'s Python core, kept unchanged. It is
not importable from the package; tests build :class:`PySimulator` (or :func:`simulator` with
``core="python"``) wherever they compare against the oracle.

:class:`PySimulator` is a :class:`~fairsched.sim.engine.Simulator` (same construction, state view,
outputs) whose :meth:`~PySimulator.run`, :meth:`~PySimulator.advance` and :meth:`~PySimulator.apply`
are this loop's; ``core_used`` is ``"python"``. Semantics: docs/semantics.md, DESIGN section 3.
"""

from __future__ import annotations

import heapq
import time
from contextlib import contextmanager

from fairsched.sim.engine import _HIST_FLUSH, INF, Decision, SchedulerError, SimConfig, Simulator
from fairsched.sim.request import DONE, READY, RUNNING, Request

__all__ = ["PySimulator", "api_on_oracle", "simulator"]


def simulator(platform, costs, workload, config: SimConfig | None = None, arrivals=None) -> Simulator:
    """The oracle for ``config.core == "python"``, else the package's simulator (the kernel)."""
    cls = PySimulator if config is not None and config.core == "python" else Simulator
    return cls(platform, costs, workload, config, arrivals=arrivals)


class PySimulator(Simulator):
    """The simulator on the Python event loop (see the module docstring)."""

    def _reset_state(self) -> None:
        super()._reset_state()
        M = self.M
        self._seq = 0
        self._dl: list = []  # (deadline, id, req)
        self._lst: list = []  # (latest start of next layer, id, layer, req) for shedding
        self._wake: list = []
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
        self._redecide = False
        self.core_used = "python"

    def run(self, scheduler) -> "PySimulator":
        """Run to the end with ``scheduler`` on this loop, timing each decision (``time_decisions``)."""
        scheduler.reset(self, self.cfg.seed)
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

    def advance_until(self, pause, decide) -> bool:
        """The loop that ``Simulator.advance_until`` runs inside the kernel."""
        while self.advance():
            if pause(self):
                return True
            self.apply(decide(self))
        return False

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


@contextmanager
def api_on_oracle():
    """``fairsched.api``'s runs (``run_one``, ``simulate``) on the oracle loop while the block runs."""
    import fairsched.api as api

    old = api.Simulator
    api.Simulator = PySimulator
    try:
        yield
    finally:
        api.Simulator = old
