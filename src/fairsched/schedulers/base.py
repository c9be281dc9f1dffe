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


#: methods whose redefinition changes what a decision does: a subclass that redefines one loses
#: its parent's in-kernel rule unless it declares ``kernel_spec`` (or ``compiled_key``) itself
_DECIDING = ("key", "req_key", "place", "decide", "kernel_params")


class Scheduler(ABC):
    name = "base"

    #: The rule of the compiled core (``sim/compiled.py``, ``RULES``) that decides exactly like
    #: this class, or None (its Python ``decide``, called from the kernel). The simulator reads only this attribute.
    kernel_spec: str | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if (any(m in cls.__dict__ for m in _DECIDING) and "kernel_spec" not in cls.__dict__
                and "compiled_key" not in cls.__dict__):
            cls.kernel_spec = None

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

    #: The key in the compiled core's terms, for a ``key`` that is static per (request, next
    #: layer): "deadline", "arrival", "best_remaining" (``sim.best_remaining``) or "laxity"
    #: (deadline - best_remaining), each with ties broken by id. None: its Python ``decide`` only.
    #: With it, ``Simulator.run`` uses ``sim/compiled.py`` (``SimConfig.core``): it sets
    #: ``kernel_spec = "priority:<key>"``.
    compiled_key: str | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # a subclass that redefines ``key`` must not inherit a fast getter of its parent's key
        if "key" in cls.__dict__ and "req_key" not in cls.__dict__:
            cls.req_key = PriorityScheduler.req_key
        # nor the parent's compiled core, if it changes what a decision does
        if any(m in cls.__dict__ for m in _DECIDING) and "compiled_key" not in cls.__dict__:
            cls.compiled_key = None
        if "compiled_key" in cls.__dict__ and "kernel_spec" not in cls.__dict__:
            cls.kernel_spec = None if cls.compiled_key is None else f"priority:{cls.compiled_key}"

    def key(self, sim, req):  # smaller = first
        raise NotImplementedError

    def req_key(self, sim):
        """``key`` as a function of the request alone; override with a C-level getter for speed."""
        key = self.key
        return lambda r: key(sim, r)

    def place(self, sim, req, idle: list[int]) -> int | None:
        return sim.fastest_idle(req, idle)

    def decide(self, sim) -> Decision:
        idle = sim.idle
        ready = sim.ready.values()
        kf = self.req_key(sim)
        if len(idle) == 1:
            return Decision(assign=[(min(ready, key=kf), idle[0])])
        out = []
        place = self.place
        for req in sorted(ready, key=kf):
            if not idle:
                break
            i = place(sim, req, idle)
            if i is None:
                continue
            out.append((req, i))
            idle.remove(i)
        return Decision(assign=out)
