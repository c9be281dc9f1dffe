"""Derived reads of the scheduler state and its outcome bookkeeping, shared by every implementation.

The simulator (:class:`~fairsched.sim.engine.Simulator`) and the online dispatcher
(:class:`~fairsched.online.dispatcher.Dispatcher`) both implement
:class:`~fairsched.online.state.SchedulerState`; these helpers are computed from the protocol's
plain fields (``prof``, ``sub_prof``, ``sub_solo``, ``best_suffix``, SLO counters), so they are
written once here and the two states cannot drift apart. Each state keeps its own ``idle`` (the
dispatcher also excludes executors that are still acknowledging an abort). ``_end`` is how a
request's outcome reaches the SLO counters, the request log and ``on_end``: one copy, so (m,k)
metrics and dbp's history see the same outcomes online and in simulation.
"""

from __future__ import annotations

from fairsched.sim.request import DONE, Request


class StateHelpers:
    """Mixin: the protocol's methods, from its fields, and the end of a request."""

    __slots__ = ()

    def layer_time(self, req: Request, sub: int) -> float:
        """Solo time (s) of ``req``'s next layer on sub-accelerator / executor ``sub``."""
        return self.prof[self.sub_prof[sub]][req.mi].solo[req.next_layer]

    def fastest_idle(self, req: Request, idle: list[int]) -> int:
        """The sub in ``idle`` where ``req``'s next layer runs fastest alone (the first one on ties)."""
        return min(idle, key=self.sub_solo[req.mi][req.next_layer].__getitem__)

    def remaining(self, req: Request, sub: int) -> float:
        """Solo time (s) of all of ``req``'s remaining layers on ``sub``'s type."""
        return self.prof[self.sub_prof[sub]][req.mi].suffix[req.next_layer]

    def best_remaining(self, req: Request) -> float:
        """Lower bound on the time ``req`` still needs (each layer on its best type, alone)."""
        return self.best_suffix[req.mi][req.next_layer]

    def slo_hit_rate(self, slo: int) -> float:
        """Hit rate of an SLO so far (all ended requests; 1.0 before any ended)."""
        d = self.slo_done_all[slo]
        return self.slo_hits_all[slo] / d if d else 1.0

    def _end(self, req: Request, hit: bool) -> None:
        """Record ``req``'s outcome at ``now``: SLO counters (all / measured window), request log,
        the ``on_end`` hook."""
        req.state = DONE
        req.end = self.now
        req.hit = hit
        s = req.slo
        self.slo_done_all[s] += 1
        if hit:
            self.slo_hits_all[s] += 1
            if req.counted:
                self.slo_hits[s] += 1
        if self.request_log is not None:
            self.request_log.append((req.id, req.tenant, s, req.model, req.arrival, req.deadline, self.now, hit,
                                     req.counted))
        if self.on_end is not None:
            self.on_end(req, hit)
