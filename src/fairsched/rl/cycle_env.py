"""Gymnasium env of the cycle formulation (:mod:`fairsched.rl.cycle`): one step = one scheduling cycle.

Registered as ``fairsched/Cycle-v0``. ``variant="drl"``: ``Discrete(len(THETAS))`` (the triage line of
the next cycle); ``variant="relmas"``: ``Discrete(len(MODES))`` (the dispatch order). Between two
steps the env runs the simulator with the :class:`~fairsched.rl.cycle.CycleController`'s dispatcher,
exactly as :class:`~fairsched.rl.cycle.CycleScheduler` does inside ``Simulator.run`` (a test checks
that both make the same assignments), until the first decision point at or after the next cycle
boundary. Workloads are drawn per episode as in :class:`~fairsched.rl.env.FairSchedEnv` (load
uniform in ``load_range``; the base scenario with probability ``p_base``, else a random tenant mix
with a seed below ``2**31``); ``load_range`` may be changed between episodes (the trainer's load
curriculum does). On a workload with (m,k) SLOs (``mk``) the drl observation carries the (m,k) block,
the shaping potential charges violated streams, the simulator keeps the request log and the terminal
reward counts tenants upheld by rate *and* (m,k) (:mod:`fairsched.rl.cycle`, "(m,k)-awareness").

``version``: the cycle formulation's version (:mod:`fairsched.rl.cycle`; drl from 5: ``triage-sjf``'s
dispatch, :class:`~fairsched.rl.protect.TriageSJFController`).

``core``: ``"auto"`` (default) runs the dispatcher in the compiled core
(:class:`fairsched.sim.compiled.CycleRun`, which pauses at each due decision point; the same
assignments, bit for bit), ``"python"`` dispatches in Python (``CycleController.dispatch``) on the
same kernel, stepped through ``Simulator.advance()``/``apply()``. A version-2 drl controller on
(m,k) SLOs always dispatches in Python (its (m,k) dispatch and outcome history are not in the
kernel), on the stepped kernel too.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from gymnasium import spaces

from fairsched.errors import InputError
from fairsched.rl.cycle import CYCLE_REQUESTS, CYCLE_VERSION, N_ACTIONS, make_controller, potential
from fairsched.rl.env import FairSchedEnv
from fairsched.sim.engine import SimConfig

#: relmas rewards per cycle: ``net`` = (hits - misses incl. drops) / cycle_requests (default since the
#: second training round: least laxity harvests hits in the cycle and leaves the misses of its backlog
#: to later cycles; charging every miss where it happens puts that cost next to the choice that made
#: it); ``hits`` = hits / cycle_requests (the first round); ``logmiss`` (cycle_version 4) = the change
#: of ``-log(1 + misses so far)``: the episode's return is ``-log(1 + its misses)``, so on the
#: episode's fixed arrivals it ranks policies as its hit rate does, and a cut of x% of the misses
#: is worth the same at every load -- the acceptance rule is per load, and under ``net`` light-load
#: episodes (a few misses) weigh ~20x less than overload ones (docs/rl.md, "cycle_version 4").
RELMAS_REWARDS = ("net", "hits", "logmiss")


class CycleEnv(FairSchedEnv):
    """One step = one cycle of ``cycle_requests`` mean inter-arrival times (see the module docstring)."""

    def __init__(self, *, variant: str = "drl", cycle_requests: float = CYCLE_REQUESTS, terminal_weight: float = 1.0,
                 relmas_reward: str = "net", core: str = "auto", version: int = CYCLE_VERSION, **kwargs):
        kwargs.setdefault("requests", 1500)
        kwargs["tenant_aware"] = variant == "drl"
        kwargs["reward"] = "tenant" if variant == "drl" else "hits"
        super().__init__(**kwargs)
        self.variant = variant
        self.ctl = make_controller(variant, cycle_requests, version)  # version: observation layout and dispatch
        self.terminal_weight = terminal_weight
        if relmas_reward not in RELMAS_REWARDS:
            raise InputError(f"relmas_reward: '{relmas_reward}' unknown; use one of {', '.join(RELMAS_REWARDS)}")
        self.relmas_reward = relmas_reward
        if core not in ("auto", "python", "compiled"):
            raise InputError(f"core: unknown '{core}'; use auto, python or compiled")
        if core == "compiled" and not self.ctl.kernel_ok():
            raise InputError("core: the compiled core lacks a dispatch mode of this variant; use core='auto' or 'python'")
        self.core = core
        self._run = None
        self.action_space = spaces.Discrete(N_ACTIONS[variant])
        self.observation_space = spaces.Box(-2.0, 10.0, shape=(self.ctl.n_obs,), dtype=np.float32)

    def _run_to_boundary(self) -> bool:
        """Dispatch until the next decision point at which a cycle is due. False: the run ended."""
        sim, ctl = self.sim, self.ctl
        if self._run is not None:  # the compiled core; the paused kernel's state is self._state
            if self._run.run():
                self._state = self._run.view()
                return True
            self._state = sim
            self._done = True
            return False
        if sim.advance_until(ctl.due, ctl.dispatch):  # the Python dispatch, from inside the kernel
            return True
        self._done = True
        return False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super(FairSchedEnv, self).reset(seed=seed)
        wl, sim_seed, kind = self._draw_workload()
        self.workload_kind = kind
        log = any(s.mk for s in wl.slos)  # the (m,k) metrics of the terminal reward need the request log
        self.sim = self.simulator_class(self.platform, self.costs, wl,
                                        SimConfig(seed=sim_seed, time_decisions=False, log_requests=log))
        self.ctl.reset(self.sim)
        self._state = self.sim
        self._run = None
        if self.core != "python" and self.ctl.kernel_ok():
            from fairsched.sim.compiled import CycleRun

            self._run = CycleRun(self.sim, (self.ctl.kernel_params(),))
        self._done = False
        self._steps = 0
        self._hits = self._ended = 0
        self._phi = potential(self.sim, self.ctl.features, self.ctl.mk) if self.variant == "drl" else 0.0
        if not self._run_to_boundary():
            return np.zeros(self.observation_space.shape, dtype=np.float32), self._info()
        return self.ctl.observe(self._state), self._info()

    def step(self, action):
        if self.sim is None:
            raise RuntimeError("call reset() before step()")
        if self._done:
            raise RuntimeError("the episode has ended; call reset()")
        a = int(action)
        if not 0 <= a < self.action_space.n:
            raise ValueError(f"action {a} outside Discrete({self.action_space.n})")
        sim, ctl = self.sim, self.ctl
        ctl.set_action(self._state, a)
        if self._run is not None:
            self._run.set_cycle(**ctl.kernel_pick())  # the kernel dispatches from the paused point
        else:
            sim.apply(ctl.dispatch(sim))
        alive = self._run_to_boundary()
        self._steps += 1
        info = self._info()
        if self.variant == "drl":
            phi = potential(sim, ctl.features, ctl.mk)
            reward = phi - self._phi
            self._phi = phi
        else:
            hits, ended = sum(sim.slo_hits_all), sum(sim.slo_done_all)
            dh, dm = hits - self._hits, (ended - self._ended) - (hits - self._hits)
            if self.relmas_reward == "logmiss":
                m0 = self._ended - self._hits
                reward = math.log1p(m0) - math.log1p(m0 + dm)
            else:
                reward = (dh - dm if self.relmas_reward == "net" else dh) / ctl.cycle_requests
            self._hits, self._ended = hits, ended
        truncated = bool(alive and self.max_steps is not None and self._steps >= self.max_steps)
        if not alive or truncated:
            m = self.episode_metrics()
            info["episode_metrics"] = m
            if self.variant == "drl" and not alive:
                up = m["tenants_upheld_both"] if ctl.mk is not None else m["tenants_upheld"]
                reward += self.terminal_weight * up / max(m["tenants"], 1)
        obs = ctl.observe(self._state) if alive else np.zeros(self.observation_space.shape, dtype=np.float32)
        return obs, float(reward), not alive, truncated, info

    def episode_metrics(self) -> dict:
        """The base env's metrics; with (m,k) SLOs also ``tenants_upheld_both`` (rate and (m,k)),
        which the drl terminal reward then counts: an (m,k) tenant is upheld only without a
        violating window."""
        m = super().episode_metrics()
        if any(s.mk for s in self.sim.workload.slos):
            from fairsched.metrics import slo_frame, tenant_frame

            ten = tenant_frame(slo_frame(self.sim))
            m["tenants_upheld_both"] = int(ten["upheld_both"].sum()) if len(ten) else 0
        return m

    def action_masks(self) -> np.ndarray:
        return np.ones(self.action_space.n, dtype=bool)

    def _info(self) -> dict:
        return dict(workload=self.workload_kind, cycle=self.ctl.cycles)
