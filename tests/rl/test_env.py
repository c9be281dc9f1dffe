"""Env contracts: check_env, reset/step, determinism, masking."""

from __future__ import annotations

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium")
from gymnasium.utils.env_checker import check_env  # noqa: E402

import fairsched.rl  # noqa: E402,F401  (registers the env id)
from fairsched.rl.env import FairSchedEnv  # noqa: E402
from fairsched.rl.features import N_CAND, obs_dim  # noqa: E402
from fairsched.sim.request import READY  # noqa: E402


@pytest.mark.parametrize("tenant_aware,reward", [(True, "tenant"), (False, "hits")])
def test_check_env(env_kwargs, tenant_aware, reward):
    env = FairSchedEnv(**env_kwargs, tenant_aware=tenant_aware, reward=reward)
    check_env(env, skip_render_check=True)


def test_registered_id(env_kwargs):
    env = gym.make("fairsched/MultiTenant-v0", **env_kwargs)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (obs_dim(4),)
    env.close()


def _run(env, seed, rng):
    obs, info = env.reset(seed=seed)
    trace, total, steps = [], 0.0, 0
    while True:
        assert env.observation_space.contains(obs)
        mask = env.action_masks()
        assert mask.dtype == bool and mask.shape == (env.K + 1,) and mask[-1]
        assert mask[:-1].sum() == info["n_candidates"] >= 1
        # mask[j] <=> slot j holds a ready request that can still meet its deadline on this sub
        for j in range(env.K):
            assert mask[j] == (j < len(env._cands))
            assert (obs[j * N_CAND] == 1.0) == mask[j]
        for req in env._cands:
            assert req.state == READY
            assert env.sim.now + env.sim.remaining(req, env._sub) <= req.deadline + 1e-12
        assert env.sim.running[env._sub] is None
        a = int(rng.choice(np.flatnonzero(mask)))
        obs, r, term, trunc, info = env.step(a)
        assert np.isfinite(r) and not info["invalid_action"]
        trace.append((a, round(r, 12)))
        total += r
        steps += 1
        if term or trunc:
            assert "episode_metrics" in info
            return trace, total, steps, info


def test_reset_step_contract_and_determinism(env_kwargs):
    env = FairSchedEnv(**env_kwargs, core="python")  # _run reads the Python engine's requests
    t1, r1, n1, info = _run(env, 3, np.random.default_rng(0))
    assert n1 > 10
    m = info["episode_metrics"]
    assert 0 <= m["tenants_upheld"] <= m["tenants"]
    t2, r2, n2, _ = _run(env, 3, np.random.default_rng(0))
    assert t1 == t2 and r1 == r2
    with pytest.raises(RuntimeError):
        env.step(0)  # episode over


def test_episode_randomisation(env_kwargs):
    env = FairSchedEnv(**env_kwargs)
    kinds, loads = set(), set()
    for s in range(8):
        env.reset(seed=s)
        kinds.add(env.workload_kind.split("-")[0])
        loads.add(round(env.sim.workload.load, 6))
    assert kinds == {"base", "random"} and len(loads) == 8


def test_invalid_action_is_idle_or_raises(env_kwargs):
    env = FairSchedEnv(**env_kwargs, core="python")  # reads the Python env's skip set
    env.reset(seed=1)
    bad = int(np.flatnonzero(~env.action_masks())[0]) if (~env.action_masks()).any() else env.K + 5
    sub = env._sub
    _, _, _, _, info = env.step(bad)
    assert info["invalid_action"]
    assert sub in env._skip or env.sim.now > 0 or env._sub != sub
    strict = FairSchedEnv(**env_kwargs, strict=True)
    strict.reset(seed=1)
    with pytest.raises(ValueError):
        strict.step(env.K + 5)


def test_step_before_reset(env_kwargs):
    with pytest.raises(RuntimeError):
        FairSchedEnv(**env_kwargs).step(0)


def test_bad_config_is_input_error(env_kwargs):
    from fairsched.errors import InputError

    with pytest.raises(InputError):
        FairSchedEnv(**{**env_kwargs, "reward": "nope"})
    with pytest.raises(InputError):
        FairSchedEnv(**{**env_kwargs, "load_range": (0.0, 1.0)})
