"""The per-layer env on the compiled kernel (``core="auto"``) against the env that builds its
observations in Python (``core="python"``) on the Python oracle loop (``tests/oracle/engine_py.py``)
and on the stepped kernel: the same observations, masks, rewards, terminations and final counters,
step by step, for the same seeds and actions."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("gymnasium")

from fairsched.rl.env import FairSchedEnv  # noqa: E402
from tests.oracle.engine_py import PySimulator  # noqa: E402


class OracleEnv(FairSchedEnv):
    """The Python env on the oracle's Python event loop."""

    simulator_class = PySimulator


def _lockstep(kw, seed, action_seed, max_steps=None, ref=OracleEnv):
    """Step both envs with the same actions (random valid ones, some invalid); returns the steps."""
    a_env = ref(**kw, core="python", max_steps=max_steps)
    b_env = FairSchedEnv(**kw, core="compiled", max_steps=max_steps)
    rng = np.random.default_rng(action_seed)
    oa, ia = a_env.reset(seed=seed)
    ob, ib = b_env.reset(seed=seed)
    steps = 0
    while True:
        assert oa.dtype == ob.dtype == np.float32
        assert np.array_equal(oa, ob)  # bit for bit
        assert np.array_equal(a_env.action_masks(), b_env.action_masks())
        assert ia == ib
        mask = a_env.action_masks()
        if rng.random() < 0.05:
            a = int(rng.integers(0, a_env.K + 1))  # possibly masked out: both treat it as idle
        else:
            a = int(rng.choice(np.flatnonzero(mask)))
        oa, ra, ta, tra, ia = a_env.step(a)
        ob, rb, tb, trb, ib = b_env.step(a)
        steps += 1
        assert ra == rb and ta == tb and tra == trb
        if ta or tra:
            assert np.array_equal(oa, ob)
            ma, mb = ia.pop("episode_metrics"), ib.pop("episode_metrics")
            assert ia == ib
            assert ma.keys() == mb.keys()
            for k in ma:  # hit_rate is NaN before the window has a request
                assert ma[k] == mb[k] or (np.isnan(ma[k]) and np.isnan(mb[k])), k
            sa, sb = a_env.sim, b_env.sim
            for f in ("slo_arrived", "slo_hits", "slo_dropped", "slo_done_all", "slo_hits_all", "n_arrived",
                      "layer_events", "decisions"):
                assert getattr(sa, f) == getattr(sb, f), f
            return steps


@pytest.mark.parametrize("tenant_aware,reward", [(True, "tenant"), (False, "hits")])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kernel_env_is_the_python_env(env_kwargs, tenant_aware, reward, seed):
    kw = dict(env_kwargs, tenant_aware=tenant_aware, reward=reward)
    assert _lockstep(kw, seed, 10 + seed) > 50


def test_python_env_on_the_stepped_kernel_is_the_kernel_env(env_kwargs):
    """``core="python"`` in the package: Python observations, the kernel stepped (advance / apply)."""
    assert _lockstep(dict(env_kwargs, tenant_aware=True, reward="tenant"), 3, 13, ref=FairSchedEnv) > 50
    env = FairSchedEnv(**env_kwargs, core="python")
    env.reset(seed=3)
    assert env.sim.core_used == "compiled-python"


@pytest.mark.parametrize("load", [0.6, 1.0, 1.6])
def test_kernel_env_across_loads_shipped_scenario(load):
    """The default scenario and platform (8 subs, 2 types, bandwidth contention) at three loads."""
    kw = dict(scenario="default", randomize=False, load=load, requests=300)
    assert _lockstep(kw, 0, int(load * 10)) > 100


def test_kernel_env_truncation(env_kwargs):
    assert _lockstep(env_kwargs, 4, 3, max_steps=17) == 17


def test_leave_idle_everywhere_ends_the_episode(env_kwargs):
    """Always leaving the sub idle: no layer ever starts, every request ends at its deadline."""
    env = FairSchedEnv(**env_kwargs, randomize=False, core="compiled")
    env.reset(seed=0)
    while True:
        _, _, term, trunc, _ = env.step(env.K)
        if term or trunc:
            break
    sim = env.sim
    assert sim.layer_events == 0
    assert sum(sim.slo_hits_all) == 0 and sum(sim.slo_done_all) == sim.n_total


def test_bad_core_is_input_error(env_kwargs):
    from fairsched.errors import InputError

    with pytest.raises(InputError, match="core"):
        FairSchedEnv(**env_kwargs, core="gpu")


def test_kernel_env_is_deterministic_and_checks(env_kwargs):
    from gymnasium.utils.env_checker import check_env

    env = FairSchedEnv(**env_kwargs, core="compiled")
    check_env(env, skip_render_check=True)
    runs = []
    for _ in range(2):
        rng = np.random.default_rng(5)
        obs, _ = env.reset(seed=9)
        trace = [obs.tobytes()]
        while True:
            obs, r, term, trunc, _ = env.step(int(rng.choice(np.flatnonzero(env.action_masks()))))
            trace.append((obs.tobytes(), r))
            if term or trunc:
                break
        runs.append(trace)
    assert runs[0] == runs[1]


@pytest.mark.parametrize("tenant_aware,reward", [(True, "tenant"), (False, "hits")])
def test_vec_env_is_n_python_envs(env_kwargs, tenant_aware, reward):
    """KernelVecEnv (one compiled call per step, rewards in the kernel) against N Python-engine
    envs stepped with the same actions, through several same-step autoresets."""
    from fairsched.rl.vec_env import KernelVecEnv

    n = 3
    kw = dict(env_kwargs, tenant_aware=tenant_aware, reward=reward)
    vec = KernelVecEnv(n, **kw)
    ref = [OracleEnv(**kw, core="python") for _ in range(n)]
    obs, _ = vec.reset(seed=20)
    for i, e in enumerate(ref):
        o, _ = e.reset(seed=20 + i)
        assert np.array_equal(obs[i], o)
    rng = np.random.default_rng(1)
    ends = 0
    for _ in range(900):
        masks = vec.action_masks()
        assert np.array_equal(masks, np.array([e.action_masks() for e in ref]))
        acts = np.array([int(rng.choice(np.flatnonzero(m))) for m in masks])
        acts[0] = acts[0] if rng.random() > 0.05 else vec.K + 3  # invalid now and then: idle
        obs, rew, term, trunc, infos = vec.step(acts)
        for i, e in enumerate(ref):
            o, r, t, tr, info = e.step(int(acts[i]))
            assert r == rew[i] and t == term[i] and tr == trunc[i]
            assert info["invalid_action"] == infos["invalid_action"][i]
            if t or tr:
                ends += 1
                assert np.array_equal(infos["final_obs"][i], o)
                assert infos["final_info"][i]["episode_metrics"].keys() == info["episode_metrics"].keys()
                assert infos["final_info"][i]["episode_metrics"]["tenants_upheld"] == \
                    info["episode_metrics"]["tenants_upheld"]
                o, _ = e.reset()
            assert np.array_equal(obs[i], o)
    assert ends >= 3


def test_act_batch_is_act_row_by_row():
    from fairsched.rl.policy import NumpyPolicy

    rng = np.random.default_rng(3)
    dims = [29, 16, 5]
    layers = [(rng.standard_normal((o, i)) * 0.5, rng.standard_normal(o) * 0.1) for i, o in zip(dims, dims[1:])]
    pol = NumpyPolicy(layers, dict(K=4, activation="tanh"))
    x = (rng.standard_normal((50, 29)) * (rng.random((50, 29)) < 0.6)).astype(np.float32)
    masks = rng.random((50, 5)) < 0.5
    masks[:, 4] = True
    got = pol.act_batch(x, masks)
    assert got.tolist() == [pol.act(x[i], masks[i]) for i in range(50)]
    assert all(masks[i, a] for i, a in enumerate(got))


def test_bench_reports_env_steps_on_both_cores_and_batched(tiny_setup):
    from fairsched.bench import env_steps, env_steps_batched, format_table

    plat, table, scen = tiny_setup
    single = env_steps(scen, plat, table, seconds=0.2, requests=120)
    python = env_steps(scen, plat, table, seconds=0.2, requests=120, core="python")
    batched = env_steps_batched(scen, plat, table, sizes=(2, 3), seconds=0.2, requests=120)
    assert single > 0 and python > 0 and set(batched) == {2, 3} and min(batched.values()) > 0
    text = format_table(dict(env_steps_per_s=single, env_steps_per_s_python=python, env_steps_per_s_batched=batched))
    assert "3 envs batched" in text and "kernel observations / Python features" in text
