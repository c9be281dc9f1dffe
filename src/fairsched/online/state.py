"""The scheduler state protocol: the read-only view every scheduler and the feature builder use.

A scheduler's ``decide(state)`` (and ``reset(state, seed)``) and the learned policies'
:class:`~fairsched.rl.features.FeatureBuilder` read only what :class:`SchedulerState` lists. Two things
implement it: the simulator (:class:`fairsched.sim.engine.Simulator`, simulated time) and the online
dispatcher (:class:`fairsched.online.dispatcher.Dispatcher`, wall-clock time, real executors). A
scheduler written against this protocol runs unchanged in both. Schedulers never write to the state;
they return a :class:`~fairsched.sim.engine.Decision` and the owner of the state carries it out.

Times are seconds on the owner's clock (the simulator's time, or the dispatcher's injectable clock
measured from its start). Costs are per *profile* (one per distinct executor kind / accelerator type
and clock): ``prof[p][mi]`` holds per-layer lists for model index ``mi`` on profile ``p``.

:class:`LayerProfile` and :func:`build_profiles` compute the cost part from a cost table and a
platform the same way the simulator does, so an online runtime holds the same numbers.
"""

from __future__ import annotations

from typing import Callable, Mapping, Optional, Protocol, Sequence, runtime_checkable

import numpy as np

from fairsched.sim.request import Request


@runtime_checkable
class ProfileView(Protocol):
    """Per-layer costs of one model on one profile (lists indexed by layer)."""

    C: list  # compute time (s) at full bandwidth
    D: list  # off-chip traffic (bytes)
    E: list  # dynamic energy (J)
    solo: list  # time alone: max(C, D / B)
    suffix: list  # suffix[k] = sum(solo[k:]); suffix[n_layers] = 0


@runtime_checkable
class SchedulerState(Protocol):
    """What a scheduler may read at a decision point (read-only).

    Requests (:class:`~fairsched.sim.request.Request`): ``id, slo, tenant, model, mi, arrival,
    deadline, next_layer, n_layers, state, sub``; ``deadline`` is absolute on the same clock as ``now``.
    """

    # ---- time and requests
    now: float  #: current time (s); constant during one decision
    ready: Mapping[int, Request]  #: ready requests by id, in the order they became ready
    running: Sequence  #: per executor / sub-accelerator: the Request running there, or None
    M: int  #: number of executors / sub-accelerators
    n_arrived: int  #: requests arrived so far
    n_total: int  #: requests expected in the SLA window (features: window progress)

    # ---- workload and SLOs (index s = SLO, one (tenant, model) stream)
    workload: object  #: the resolved Workload: tenants, slos, load, requests, warmup_fraction, total_rate
    models: list  #: model names; Request.mi indexes them
    n_layers: list  #: layers per model index
    slo_model: list  #: model index per SLO
    slo_target: list  #: target hit rate per SLO
    slo_tenant: list  #: tenant index per SLO
    slo_deadline: list  #: relative deadline (s) per SLO
    slo_arrived: list  #: requests arrived per SLO, measured window (warm-up excluded)
    slo_hits: list  #: hits per SLO, measured window
    slo_dropped: list  #: misses per SLO, measured window
    slo_hits_all: list  #: hits per SLO, all ended requests incl. warm-up
    slo_done_all: list  #: ended requests per SLO incl. warm-up

    # ---- the one writable field
    #: ``on_end(req, hit)``, called as each request ends, in the order outcomes become known; a
    #: scheduler's ``reset`` may set it to keep its own per-stream history (dbp does)
    on_end: Optional[Callable]

    # ---- costs
    B: float  #: shared bandwidth (bytes/s)
    prof: Sequence  #: prof[p][mi] -> ProfileView
    sub_prof: list  #: profile index of each executor
    best_suffix: list  #: best_suffix[mi][k]: remaining time from layer k, each layer on its best profile
    sub_solo: list  #: sub_solo[mi][k][i]: solo time of layer k of model mi on executor i

    @property
    def idle(self) -> list[int]:
        """Idle executors, a fresh list (callers may modify it)."""
        ...

    def layer_time(self, req: Request, sub: int) -> float:
        """Solo time (s) of ``req``'s next layer on executor ``sub``."""
        ...

    def fastest_idle(self, req: Request, idle: list[int]) -> int:
        """The executor in ``idle`` where ``req``'s next layer runs fastest (first on ties)."""
        ...

    def remaining(self, req: Request, sub: int) -> float:
        """Solo time (s) of all of ``req``'s remaining layers on ``sub``'s profile."""
        ...

    def best_remaining(self, req: Request) -> float:
        """Lower bound on the time ``req`` still needs."""
        ...

    def slo_hit_rate(self, slo: int) -> float:
        """Hit rate of an SLO over all ended requests (1.0 before any ended)."""
        ...


class LayerProfile:
    """Per-layer costs of one model on one profile (implements :class:`ProfileView`)."""

    __slots__ = ("C", "D", "E", "solo", "suffix")

    def __init__(self, cycles, dram, energy_j, clock_hz: float, bandwidth: float):
        c = np.asarray(cycles, dtype=np.float64) / clock_hz
        solo = np.maximum(c, np.asarray(dram, dtype=np.float64) / bandwidth)
        self.C = c.tolist()
        self.D = np.asarray(dram, dtype=np.float64).tolist()
        self.E = np.asarray(energy_j, dtype=np.float64).tolist()
        self.solo = solo.tolist()
        self.suffix = np.concatenate([np.cumsum(solo[::-1])[::-1], [0.0]]).tolist()


def build_profiles(platform, costs, models: list[str]):
    """``(prof, sub_prof, best_suffix, sub_solo)`` for ``platform`` and ``models`` from ``costs``.

    One profile per distinct (type, clock), as in the simulator."""
    keys: dict[tuple, int] = {}
    sub_prof = [keys.setdefault((s.type, s.clock_hz), len(keys)) for s in platform.subs]
    prof = []
    for t, clk in keys:
        row = []
        for m in models:
            mc = costs.get(m, t)
            row.append(LayerProfile(mc.cycles, mc.dram_bytes, mc.energy_pj * 1e-12, clk, platform.bandwidth))
        prof.append(row)
    best_suffix, sub_solo = [], []
    for mi in range(len(models)):
        best = np.min([prof[p][mi].solo for p in range(len(keys))], axis=0)
        best_suffix.append(np.concatenate([np.cumsum(best[::-1])[::-1], [0.0]]).tolist())
        n = len(prof[0][mi].solo)
        sub_solo.append([[prof[p][mi].solo[k] for p in sub_prof] for k in range(n)])
    return prof, sub_prof, best_suffix, sub_solo
