"""The scheduler interface.

At each decision point the simulator calls ``decide(sim)``. The scheduler reads the simulator's
public state (a read-only view by convention: ``now``, ``ready``, ``idle``, ``running``,
``layer_time``, ``remaining``, ``best_remaining``, ``slo_hit_rate``, ``slo_target``, ...) and
returns a :class:`~fairsched.sim.engine.Decision`. It never mutates the simulator; the simulator
owns timing and metrics.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from fairsched.sim.engine import Decision


class Scheduler(ABC):
    name = "base"

    def reset(self, sim, seed: int) -> None:
        """Called once before a run; override to precompute per-platform data."""

    @abstractmethod
    def decide(self, sim) -> Decision: ...


class PriorityScheduler(Scheduler):
    """Greedy list scheduling: ready requests in ``key`` order, each to an idle sub-accelerator.

    Placement (``place``) defaults to the idle sub-accelerator where the request's next layer runs
    fastest; this makes every baseline heterogeneity-aware in placement and leaves ordering as
    the thing that distinguishes them.
    """

    def key(self, sim, req):  # smaller = first
        raise NotImplementedError

    def place(self, sim, req, idle: list[int]) -> int | None:
        lt = sim.layer_time
        return min(idle, key=lambda i: lt(req, i))

    def decide(self, sim) -> Decision:
        idle = sim.idle
        ready = sim.ready.values()
        n = len(idle)
        key = self.key
        if n == 1:
            best = min(ready, key=lambda r: key(sim, r))
            return Decision(assign=[(best, idle[0])])
        order = sorted(ready, key=lambda r: key(sim, r))
        out = []
        for req in order:
            if not idle:
                break
            i = self.place(sim, req, idle)
            if i is None:
                continue
            out.append((req, i))
            idle.remove(i)
        return Decision(assign=out)
