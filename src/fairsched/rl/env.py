"""Gymnasium environment over the fairsched simulator: one step = one sub-accelerator decision.

Registered as ``fairsched/MultiTenant-v0`` (``gymnasium.make("fairsched/MultiTenant-v0", ...)`` after
``import fairsched.rl``). It drives the same :class:`~fairsched.sim.engine.Simulator` (the same
compiled event loop) as ``fairsched compare``.

Action space
    ``Discrete(K + 1)``. Action ``j < K`` runs candidate ``j`` (see :mod:`fairsched.rl.features`)
    on the current idle sub-accelerator; action ``K`` leaves that sub-accelerator idle until the
    next event. ``action_masks()`` returns the valid actions (MaskablePPO finds it by name). An
    action outside the mask is treated as "leave idle" and reported as ``info["invalid_action"]``
    (or raises with ``strict=True``).

Observation space
    ``Box(obs_dim(K))`` float32: ``K`` candidate blocks and a global block, see
    :mod:`fairsched.rl.features`. ``tenant_aware=False`` (RELMAS-like) zeroes the tenant features
    and takes the least-laxity candidates regardless of tenant.

Decision points
    At each instant with idle sub-accelerators and ready requests the env asks once per idle
    sub-accelerator (lowest index first); a sub-accelerator with no feasible candidate (one that can
    still meet its deadline there, by a safe margin when a faster type would give it one; see
    :mod:`fairsched.rl.features`) is left idle without asking. After an assignment the simulator re-checks
    at the same instant (more idle subs + ready requests); once every idle sub-accelerator was
    assigned or left idle, time moves to the next event.

Rewards
    ``reward="tenant"`` (default) or ``"hits"`` (RELMAS-like), see :mod:`fairsched.rl.reward`.

Episode end
    Terminated when the simulator run ends (all requests arrived and ended); truncated after
    ``max_steps`` decisions when given.

Per-episode randomisation
    Each ``reset`` draws (from the env's own ``np_random``) a load uniform in ``load_range`` and,
    with probability ``p_base``, the base ``scenario`` (else a random tenant mix of
    :func:`fairsched.workload.generator.random_scenario` over ``models``), and a simulator seed.
    ``randomize=False`` runs the base scenario at ``load`` with ``sim_seed`` every episode.

Core
    ``core="auto"`` (default) or ``"compiled"`` steps the compiled kernel
    (:class:`fairsched.sim.compiled.ActionRun`): it runs events until a decision the policy would
    be asked for, with the observation built in the kernel (the same float32 values as
    :class:`~fairsched.rl.features.FeatureBuilder`), and resumes with the action. ``"python"``
    builds candidates and observations in Python (:class:`~fairsched.rl.features.FeatureBuilder`)
    and steps the same kernel through ``Simulator.advance()``/``apply()`` (it pauses at each
    decision point); it checks the in-kernel observations in the tests (same observations, masks,
    rewards and terminations; the tests also run it on the Python oracle loop through
    ``simulator_class``) and is the only core that exposes the candidate requests (``env._cands``).
    For many envs in one call see :class:`fairsched.rl.vec_env.KernelVecEnv`.

Version history
    v0: feature version 1, then 2 (risky placements masked), then 3 (thermometer code of the cumulative
    share; :data:`fairsched.rl.features.FEATURE_VERSION`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from fairsched.costs.table import CostTable, load_cost_table
from fairsched.errors import InputError
from fairsched.platform.config import Platform, load_platform
from fairsched.rl.features import DEFAULT_K, FeatureBuilder, obs_dim
from fairsched.rl.reward import REWARDS
from fairsched.sim.engine import Decision, SimConfig, Simulator
from fairsched.workload.generator import random_scenario
from fairsched.workload.scenario import ScenarioConfig, load_scenario, resolve

OBS_LOW, OBS_HIGH = -2.0, 10.0


def _leave_idle(sim) -> Decision:
    return Decision()


class FairSchedEnv(gym.Env):
    """Masked, tenant-aware scheduling env (see the module docstring)."""

    metadata = {"render_modes": []}
    #: the simulator each episode runs on (a test may put the Python oracle loop here)
    simulator_class = Simulator

    def __init__(
        self,
        *,
        scenario: str | Path | dict | ScenarioConfig | None = "default",
        platform: str | Path | dict | Platform = "default",
        costs: str | Path | CostTable | None = None,
        tenant_aware: bool = True,
        reward: str = "tenant",
        K: int = DEFAULT_K,
        load: float | None = None,
        load_range: tuple[float, float] = (0.6, 1.5),
        p_base: float = 0.5,
        randomize: bool = True,
        models: list[str] | None = None,
        n_tenants: tuple[int, int] = (8, 16),
        requests: int = 1500,
        warmup_fraction: float = 0.1,
        sim_seed: int = 0,
        max_steps: int | None = None,
        strict: bool = False,
        core: str = "auto",
    ):
        super().__init__()
        if core not in ("auto", "python", "compiled"):
            raise InputError(f"core: unknown '{core}'; use auto, compiled or python")
        self.core = core
        self._run = None
        if reward not in REWARDS:
            raise InputError(f"reward: unknown '{reward}'; use one of {sorted(REWARDS)}")
        if not (0 < load_range[0] <= load_range[1]):
            raise InputError(f"load_range: need 0 < low <= high, got {load_range}")
        self.platform = platform if isinstance(platform, Platform) else load_platform(platform)
        self.costs = costs if isinstance(costs, CostTable) else load_cost_table(costs)
        self.base = None
        self.base_dir = None
        if scenario is not None:
            self.base, self.base_dir = load_scenario(scenario)
        elif not randomize:
            raise InputError("scenario: give a scenario when randomize=False")
        if models is None:
            models = (
                sorted({s.model for t in self.base.tenants for s in t.slos}) if self.base is not None else self.costs.models
            )
        self.models = list(models)
        self.tenant_aware = tenant_aware
        self.reward_kind = reward
        self.K = K
        self.load = load
        self.load_range = tuple(load_range)
        self.p_base = p_base if self.base is not None else 0.0
        self.randomize = randomize
        self.n_tenants = tuple(n_tenants)
        self.requests = requests
        self.warmup_fraction = warmup_fraction
        self.sim_seed = sim_seed
        self.max_steps = max_steps
        self.strict = strict
        self.features = FeatureBuilder(K, tenant_aware)
        self.reward_fn = REWARDS[reward]()
        self.action_space = spaces.Discrete(K + 1)
        self.observation_space = spaces.Box(OBS_LOW, OBS_HIGH, shape=(obs_dim(K),), dtype=np.float32)
        self.sim: Simulator | None = None
        self._mask = np.zeros(K + 1, dtype=bool)
        self._mask[K] = True

    # ------------------------------------------------------------------ helpers
    def _draw_workload(self):
        rng = self.np_random
        if not self.randomize:
            load = self.load if self.load is not None else self.base.load
            return resolve(self.base, self.platform, self.costs, load=load, requests=self.requests,
                           base_dir=self.base_dir), self.sim_seed, "base"
        load = float(rng.uniform(*self.load_range))
        if self.base is not None and rng.random() < self.p_base:
            cfg, kind = self.base, "base"
        else:
            seed = int(rng.integers(2**31))
            cfg = ScenarioConfig.model_validate(
                random_scenario(seed, self.models, n_tenants=self.n_tenants, load=load, requests=self.requests,
                                warmup_fraction=self.warmup_fraction)
            )
            kind = f"random-{seed}"
        cfg = cfg.model_copy(update=dict(warmup_fraction=self.warmup_fraction))
        wl = resolve(cfg, self.platform, self.costs, load=load, requests=self.requests, base_dir=self.base_dir)
        return wl, int(rng.integers(2**31)), kind

    def _next_decision(self) -> bool:
        """Advance to the next (sub, candidates) the agent must decide on. False when the run ended."""
        run = self._run
        if run is not None:  # the compiled core: the kernel pauses at the decision
            if not run.run():
                self._done = True
                return False
            self._sub, self._obs, self._mask = run.sub, run.obs.copy(), run.mask()
            return True
        sim = self.sim
        if not self._need_advance:  # the same decision point: another idle sub, else leave them idle
            if self._find(sim):
                return True
            sim.apply(Decision())
        self._need_advance = False
        # decision points without a sub to ask are decided (all idle) from inside the kernel
        if not sim.advance_until(self._find, _leave_idle):
            self._done = True
            return False
        return True

    def _find(self, sim) -> bool:
        """The first idle sub not yet skipped at this instant that has candidates (kept as the
        question); subs without candidates are skipped. False: none."""
        if sim.now != self._skip_t:
            self._skip_t = sim.now
            self._skip = set()
        skip = self._skip
        for sub in sim.idle:
            if sub in skip:
                continue
            cands, obs, mask = self.features.build(sim, sub)
            if not cands:
                skip.add(sub)
                continue
            self._sub, self._cands, self._obs, self._mask = sub, cands, obs, mask
            return True
        return False

    def _final_obs(self):
        self._mask = np.zeros(self.K + 1, dtype=bool)
        self._mask[self.K] = True
        return np.zeros(self.observation_space.shape, dtype=np.float32)

    # ---------------------------------------------------------------- gym API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        wl, sim_seed, kind = self._draw_workload()
        self.workload_kind = kind
        self.sim = self.simulator_class(self.platform, self.costs, wl, SimConfig(seed=sim_seed, time_decisions=False))
        self.features.reset(self.sim)
        self.reward_fn.reset(self.sim)
        self._run = None
        if self.core != "python":
            from fairsched.sim.compiled import ActionRun

            self._run = ActionRun(self.sim, (self.features.kernel_params("external"),))
        self._need_advance = True
        self._skip, self._skip_t = set(), None
        self._done = False
        self._steps = 0
        if not self._next_decision():
            return self._final_obs(), self._info()
        return self._obs, self._info()

    def step(self, action):
        if self.sim is None:
            raise RuntimeError("call reset() before step()")
        if self._done:
            raise RuntimeError("the episode has ended; call reset()")
        a = int(action)
        invalid = not (0 <= a <= self.K and self._mask[a])
        if invalid:
            if self.strict:
                raise ValueError(f"action {a} is masked out (mask {self._mask.astype(int).tolist()})")
            a = self.K
        if self._run is not None:
            self._run.set_action(a)  # K: leave the sub idle
        elif a == self.K:
            self._skip.add(self._sub)
        else:
            self.sim.apply(Decision(assign=[(self._cands[a], self._sub)]))
            self._need_advance = True
        self._steps += 1
        alive = self._next_decision()
        reward = float(self.reward_fn(self.sim))
        terminated = not alive
        truncated = bool(alive and self.max_steps is not None and self._steps >= self.max_steps)
        obs = self._obs if alive else self._final_obs()
        info = self._info()
        info["invalid_action"] = invalid
        if terminated or truncated:
            info["episode_metrics"] = self.episode_metrics()
        return obs, reward, terminated, truncated, info

    def action_masks(self) -> np.ndarray:
        """Valid actions now (``K + 1`` booleans; the last is 'leave idle')."""
        return self._mask.copy()

    def _info(self) -> dict:
        return dict(sub=getattr(self, "_sub", -1), n_candidates=int(self._mask[:-1].sum()), workload=self.workload_kind)

    def episode_metrics(self) -> dict:
        """Tenants upheld, SLOs achieved and hit rate of the run so far (measurement window)."""
        from fairsched.metrics import slo_frame, tenant_frame

        slos = slo_frame(self.sim)
        ten = tenant_frame(slos)
        req = int(slos["requests"].sum())
        return dict(
            tenants=len(ten),
            tenants_upheld=int(ten["upheld"].sum()) if len(ten) else 0,
            hit_rate=float(slos["hits"].sum() / req) if req else float("nan"),
        )
