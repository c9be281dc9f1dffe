"""A plain SimPy implementation of fairsched's semantics: the reference a user would otherwise write.

Same model as :mod:`fairsched.sim.engine` with the ``edf`` scheduler and the default options:

* requests arrive at given times (a list of ``(time, slo_index)``); a request is a chain of layers,
  each run whole on one sub-accelerator;
* firm deadlines: at ``arrival + D`` an unfinished request is dropped, a running layer aborted;
  a layer finishing exactly at the deadline is a hit;
* decision points after all events of an instant: ready requests that can no longer finish in
  time even alone on their best sub-accelerator are shed; the rest go in EDF order (deadline, id),
  each to the idle sub-accelerator where its next layer runs fastest alone;
* shared DRAM bandwidth: running layers share ``B`` max-min fairly (a layer alone runs for
  ``max(cycles / f, dram_bytes / B)``); on every start, finish and abort the grants are recomputed
  and every layer whose rate changed is interrupted and re-timed.

It is written the way SimPy is meant to be used (one process per request, per layer and per
deadline, interrupts for aborts and re-timing) and is deliberately not optimised: it is the
baseline of ``fairsched bench``. Same-instant ordering uses SimPy event priorities: completions
and arrivals (NORMAL), then deadline drops (``_LATE``), then the decision (``_LAST``).

Arrivals are scheduled from time 0 with their absolute time as the delay, so that arrival and
deadline times are the same floats as in the simulator. With ample bandwidth (no contention)
per-tenant hits equal the simulator's (tests/bench/test_simpy_reference.py); with contention
results agree closely but not bit for bit (remaining work is re-timed with different rounding).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import simpy

from fairsched.sim.bandwidth import maxmin

_LATE, _LAST = 2, 3  # priorities after simpy's URGENT (0) and NORMAL (1)


@dataclass
class _Req:
    id: int
    slo: int
    mi: int
    arrival: float
    deadline: float
    counted: bool
    k: int = 0  # next layer
    done: bool = False
    hit: bool = False
    proc: object = None  # running layer process
    sub: int = -1


@dataclass
class RefResult:
    slo_hits: list[int]  # hits in the measured window (after warm-up), per SLO
    slo_arrived: list[int]
    layer_events: int  # layers completed
    hits_by_tenant: dict[str, int] = field(default_factory=dict)


class Reference:
    """Build from the same ``(platform, costs, workload)`` as :class:`fairsched.sim.Simulator`."""

    def __init__(self, platform, costs, workload, arrivals, shed_hopeless: bool = True):
        self.B = float(platform.bandwidth)
        self.M = platform.n
        self.wl = workload
        self.shed = shed_hopeless
        self.models = sorted({s.model for s in workload.slos})
        mi_of = {m: i for i, m in enumerate(self.models)}
        # per sub, per model: compute time C, traffic D, solo time per layer
        self.C, self.D, self.solo = [], [], []
        for s in platform.subs:
            c, d, so = [], [], []
            for m in self.models:
                mc = costs.get(m, s.type)
                cc = np.asarray(mc.cycles, float) / s.clock_hz
                dd = np.asarray(mc.dram_bytes, float)
                c.append(cc.tolist())
                d.append(dd.tolist())
                so.append(np.maximum(cc, dd / self.B).tolist())
            self.C.append(c)
            self.D.append(d)
            self.solo.append(so)
        # shedding test, as the simulator's ``best_suffix``: the least time layers k.. need, each
        # layer alone on its best sub-accelerator (requests may migrate between layers)
        self.best_suffix = []
        for mi in range(len(self.models)):
            best = np.min([np.asarray(self.solo[i][mi]) for i in range(self.M)], axis=0)
            self.best_suffix.append(np.concatenate([np.cumsum(best[::-1])[::-1], [0.0]]).tolist())
        self.slo_mi = [mi_of[s.model] for s in workload.slos]
        self.arrivals = sorted((float(t), int(s)) for t, s in arrivals)
        self.warmup_n = int(workload.warmup_fraction * len(self.arrivals))

    # ------------------------------------------------------------------ run
    def run(self) -> RefResult:
        env = self.env = simpy.Environment()
        self.ready: list[_Req] = []
        self.running: list[_Req | None] = [None] * self.M
        self.rate = [0.0] * self.M
        self.w = [0.0] * self.M  # remaining fraction of the running layer
        self.t_upd = 0.0
        self.layer_events = 0
        self.pending = False
        self.log: list[tuple] = []  # (request id, end time, hit)
        S = len(self.wl.slos)
        self.hits, self.arrived = [0] * S, [0] * S
        for n, (t, s) in enumerate(self.arrivals):
            ev = env.timeout(t)  # absolute time as delay from 0: exact arrival times
            ev.callbacks.append(lambda _e, n=n, t=t, s=s: self._arrive(n, t, s))
        env.run()
        res = RefResult(self.hits, self.arrived, self.layer_events)
        for s, slo in enumerate(self.wl.slos):
            res.hits_by_tenant[slo.tenant_name] = res.hits_by_tenant.get(slo.tenant_name, 0) + self.hits[s]
        return res

    def _arrive(self, n, t, s):
        r = _Req(n, s, self.slo_mi[s], t, t + self.wl.slos[s].deadline, n >= self.warmup_n)
        if r.counted:
            self.arrived[s] += 1
        self.ready.append(r)
        self.env.process(self._deadline(r))
        self._wake()

    def _deadline(self, r):
        env = self.env
        while env.now < r.deadline:  # now + (deadline - now) can round below the deadline
            yield env.timeout(r.deadline - env.now)
        yield _later(env, _LATE)  # after the completions of this instant
        if not r.done:
            self._drop(r)
            self._wake()

    def _drop(self, r):
        r.done = True
        self.log.append((r.id, self.env.now, False))
        if r.proc is not None:
            r.proc.interrupt("abort")
        else:
            self.ready.remove(r)

    def _end_hit(self, r):
        self.log.append((r.id, self.env.now, True))
        r.done = True
        r.hit = True
        if r.counted:
            self.hits[r.slo] += 1

    # ------------------------------------------------------------ dispatch
    def _wake(self):
        if not self.pending:
            self.pending = True
            self.env.process(self._dispatch())

    def _dispatch(self):
        yield _later(self.env, _LAST)  # after every other event of this instant
        self.pending = False
        now = self.env.now
        idle = [i for i in range(self.M) if self.running[i] is None]
        if not idle or not self.ready:
            return
        if self.shed:
            for r in [r for r in self.ready if r.deadline - self.best_suffix[r.mi][r.k] < now]:
                r.done = True
                self.log.append((r.id, now, False))
                self.ready.remove(r)
        self.ready.sort(key=lambda r: (r.deadline, r.id))
        started = []
        for r in self.ready:
            if not idle:
                break
            i = min(idle, key=lambda j: self.solo[j][r.mi][r.k])
            idle.remove(i)
            started.append((r, i))
        for r, i in started:
            self.ready.remove(r)
            self._start(r, i)

    # --------------------------------------------------------------- layers
    def _start(self, r, i):
        self._settle()
        self.running[i] = r
        r.sub = i
        self.w[i] = 1.0
        self.rate[i] = 0.0
        r.proc = self.env.process(self._layer(r, i))
        self._share()

    def _layer(self, r, i):
        env = self.env
        while True:
            try:
                yield env.timeout(self.w[i] / self.rate[i] if self.rate[i] > 0 else 0.0)
                break
            except simpy.Interrupt as e:
                if e.cause == "abort":
                    self._settle()
                    self._free(r, i)
                    return
                # re-timed: loop with the new rate
        self._settle()
        self._free(r, i)
        self.layer_events += 1
        r.k += 1
        if r.k == len(self.solo[i][r.mi]):
            self._end_hit(r)
        else:
            self.ready.append(r)
        self._wake()

    def _free(self, r, i):
        self.running[i] = None
        self.rate[i] = 0.0
        r.proc = None
        r.sub = -1
        self._share()

    def _settle(self):
        """Advance every running layer's remaining work to now."""
        dt = self.env.now - self.t_upd
        if dt > 0:
            for i in range(self.M):
                if self.running[i] is not None:
                    self.w[i] -= dt * self.rate[i]
        self.t_upd = self.env.now

    def _share(self):
        """Max-min fair grants; interrupt the layers whose rate changed so they re-time."""
        act = [i for i in range(self.M) if self.running[i] is not None]
        if not act:
            return
        C = [self.C[i][self.running[i].mi][self.running[i].k] for i in act]
        D = [self.D[i][self.running[i].mi][self.running[i].k] for i in act]
        dem = [d / c for c, d in zip(C, D)]
        grants = maxmin(dem, self.B)
        me = self.env.active_process
        for i, c, d, dm, g in zip(act, C, D, dem, grants):
            r = 1.0 / c if g >= dm else g / d
            if r != self.rate[i]:
                old = self.rate[i]
                self.rate[i] = r
                proc = self.running[i].proc
                if old > 0 and proc is not None and proc is not me and proc.is_alive:
                    proc.interrupt("retime")


class _later(simpy.events.Event):
    """An event at the current instant, processed after all events of higher priority (like a
    zero :class:`simpy.Timeout` with another priority)."""

    def __init__(self, env, priority):
        super().__init__(env)
        self._ok, self._value = True, None
        env.schedule(self, priority=priority)


def run_reference(platform, costs, workload, arrivals, shed_hopeless: bool = True) -> RefResult:
    return Reference(platform, costs, workload, arrivals, shed_hopeless).run()
