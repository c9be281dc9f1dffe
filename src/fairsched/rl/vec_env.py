"""N per-layer envs on the compiled kernel, stepped in one call (a Gymnasium ``VectorEnv``).

Why: the per-layer env's step is one kernel resume (run events to the next decision, build the
observation) plus the reward; on the compiled core most of a single env's step is Python overhead
around that resume. Here one ``step`` resumes the N kernels in one compiled call
(:func:`fairsched.sim.compiled_batch.step_batch`, rewards computed there too) and the agent can
run one batched forward pass over the N observations (``fairsched bench``'s
``env_steps_per_s_batched``).

Each sub-env is a :class:`~fairsched.rl.env.FairSchedEnv` with ``core="compiled"``, so its
observations, masks, rewards and terminations are exactly the single env's (tests check it against
the Python-engine env). Autoreset is same-step (``AutoresetMode.SAME_STEP``): an env that ends is
reset at once; the returned observation is the new episode's first, the last one is in
``infos["final_obs"]`` (with ``infos["_final_obs"]``, and ``final_info``), as Gymnasium 1.x
documents. Env ``i`` is seeded ``seed + i`` at the first reset.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.spaces import MultiDiscrete
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from numba.typed import List

from fairsched.errors import InputError
from fairsched.rl.env import FairSchedEnv
from fairsched.sim.compiled import FINISHED, NEED_ACTION, _fill
from fairsched.sim.compiled_batch import reward, reward_params, step_batch


class KernelVecEnv(VectorEnv):
    """``num_envs`` compiled per-layer envs (keyword arguments: those of :class:`FairSchedEnv`)."""

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, num_envs: int = 16, **env_kwargs):
        if num_envs < 1:
            raise InputError(f"num_envs: need at least 1, got {num_envs}")
        if env_kwargs.pop("core", "compiled") == "python":
            raise InputError("core: KernelVecEnv steps the compiled kernel; use FairSchedEnv(core='python')")
        self.envs = [FairSchedEnv(**env_kwargs, core="compiled") for _ in range(num_envs)]
        e = self.envs[0]
        self.num_envs = num_envs
        self.K = e.K
        self.single_observation_space = e.observation_space
        self.single_action_space = e.action_space
        self.observation_space = batch_space(e.observation_space, num_envs)
        self.action_space = MultiDiscrete(np.full(num_envs, e.action_space.n))
        self.max_steps = e.max_steps
        self._obs = np.zeros((num_envs,) + e.observation_space.shape, np.float32)
        self._masks = np.zeros((num_envs, self.K + 1), np.bool_)
        self._active = np.ones(num_envs, np.bool_)
        self._kern = self._rew = None

    def reset(self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None):
        if seed is None or isinstance(seed, int):
            seeds = [None if seed is None else seed + i for i in range(self.num_envs)]
        else:
            seeds = list(seed)
        self._kern, self._rew = List(), List()
        for i, (e, s) in enumerate(zip(self.envs, seeds)):
            self._obs[i], _ = e.reset(seed=s, options=options)
            self._masks[i] = e._mask
            self._kern.append(e._run._k.args())
            self._rew.append(reward_params(e.reward_fn, e.reward_kind))
        self._steps = np.zeros(self.num_envs, np.int64)
        return self._obs.copy(), {}

    def _reset_one(self, i: int) -> None:
        e = self.envs[i]
        self._obs[i], _ = e.reset()
        self._masks[i] = e._mask
        self._kern[i] = e._run._k.args()
        self._rew[i] = reward_params(e.reward_fn, e.reward_kind)
        self._steps[i] = 0

    def step(self, actions):
        if self._kern is None:
            raise RuntimeError("call reset() before step()")
        n, K = self.num_envs, self.K
        acts = np.asarray(actions, np.int64).reshape(n)
        invalid = (acts < 0) | (acts > K)
        invalid[~invalid] = ~self._masks[~invalid, acts[~invalid]]
        acts = np.where(invalid, K, acts)  # as the single env: an invalid action leaves the sub idle
        rewards = np.zeros(n, np.float64)
        codes = np.zeros(n, np.int64)
        step_batch(self._kern, self._rew, acts, self._active, codes, self._obs, self._masks, rewards)
        self._steps += 1
        term = codes != NEED_ACTION
        for i in np.flatnonzero(term):  # a kernel that needs Python: finish its step here
            e = self.envs[i]
            k, arr = e._run._k, e._run._arr
            code = k.after(int(codes[i]), arr)
            if code != FINISHED:
                code = k.run(arr)
            rewards[i] = reward(k.cnt, *self._rew[i])
            if code == NEED_ACTION:
                term[i] = False
                self._kern[i] = k.args()
                self._obs[i] = e._run.obs
                self._masks[i] = e._run.mask()
            else:
                _fill(e.sim, k)
                e._run.finished = e._done = True
        trunc = ~term & (self._steps >= self.max_steps) if self.max_steps is not None else np.zeros(n, np.bool_)
        infos: dict[str, Any] = {"invalid_action": invalid}
        done = np.flatnonzero(term | trunc)
        if len(done):
            infos["final_obs"] = np.full(n, None, object)
            infos["final_info"] = np.full(n, None, object)
            infos["_final_obs"] = np.zeros(n, np.bool_)
            infos["_final_info"] = np.zeros(n, np.bool_)
            for i in done:
                e = self.envs[i]
                infos["final_obs"][i] = e._final_obs() if term[i] else self._obs[i].copy()
                infos["final_info"][i] = dict(episode_metrics=e.episode_metrics(), workload=e.workload_kind)
                infos["_final_obs"][i] = infos["_final_info"][i] = True
                self._reset_one(i)
        return self._obs.copy(), rewards, term, trunc, infos

    def action_masks(self) -> np.ndarray:
        """Valid actions of every env, ``(num_envs, K + 1)`` booleans."""
        return self._masks.copy()

    def close_extras(self, **kwargs) -> None:
        self.envs = []
