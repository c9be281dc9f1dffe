"""The cycle formulation: env contract, the default action is the teacher, the scheduler replays the
env, numpy == torch, the learning curve of a tiny `fairsched train` run, and resume."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml

from fairsched.rl.cycle import (DEFAULT_ACTION, MODES, N_ACTIONS, N_OBS, THETAS, CycleScheduler,
                                is_cycle_policy, scheduler_for_path)
from fairsched.schedulers.registry import make
from fairsched.sim.engine import SimConfig, Simulator
from fairsched.workload.scenario import ScenarioConfig, resolve

pytest.importorskip("gymnasium")

from fairsched.rl.cycle_env import CycleEnv  # noqa: E402


def _kw(tiny_setup, **extra):
    plat, table, scen = tiny_setup
    return dict(scenario=scen, platform=plat, costs=table, requests=120, n_tenants=(3, 5), cycle_requests=10, **extra)


def _hits(sim):
    return list(sim.slo_hits), list(sim.slo_dropped)


def test_action_sets_and_defaults():
    assert THETAS[DEFAULT_ACTION["drl"]] == 0.8  # the triage teacher's line
    assert MODES[DEFAULT_ACTION["relmas"]] == "llf"
    assert N_ACTIONS == {"drl": len(THETAS), "relmas": len(MODES)}


@pytest.mark.parametrize("variant", ["drl", "relmas"])
def test_env_contract(tiny_setup, variant):
    from gymnasium.utils.env_checker import check_env

    env = CycleEnv(variant=variant, **_kw(tiny_setup))
    check_env(env, skip_render_check=True)
    obs, _ = env.reset(seed=3)
    assert obs.shape == (N_OBS[variant],) and env.observation_space.contains(obs)
    n, done = 0, False
    while not done:
        obs, r, term, trunc, info = env.step(env.action_space.sample())
        assert np.isfinite(r) and env.observation_space.contains(obs)
        n += 1
        done = term or trunc
    m = info["episode_metrics"]
    assert 0 <= m["tenants_upheld"] <= m["tenants"] and n >= 3
    assert env.action_masks().all()


@pytest.mark.parametrize("variant,teacher", [("drl", "triage"), ("relmas", "llf-masked")])
def test_default_action_is_the_teacher(tiny_setup, variant, teacher):
    """The fixed default action (theta = 0.8 / least laxity) makes exactly the teacher's run, both
    through Simulator.run and through the env."""
    plat, table, scen = tiny_setup
    wl = resolve(ScenarioConfig.model_validate(scen), plat, table, load=1.3)
    ref = Simulator(plat, table, wl, SimConfig(seed=5)).run(make(teacher))
    cyc = Simulator(plat, table, wl, SimConfig(seed=5)).run(CycleScheduler(None, variant, cycle_requests=10))
    assert _hits(cyc) == _hits(ref) and cyc.decisions == ref.decisions
    env = CycleEnv(variant=variant, randomize=False, load=1.3, sim_seed=5, **_kw(tiny_setup))
    env.reset(seed=0)
    done = False
    while not done:
        _, _, term, trunc, _ = env.step(DEFAULT_ACTION[variant])
        done = term or trunc
    assert _hits(env.sim) == _hits(ref)


def test_relmas_srpt_mode_serves_the_shortest_candidate(tiny_setup):
    """Mode srpt: every assignment is the candidate with the least remaining work on that sub."""
    from fairsched.rl.cycle import CycleController

    plat, table, scen = tiny_setup
    wl = resolve(ScenarioConfig.model_validate(scen), plat, table, load=1.3)
    sim = Simulator(plat, table, wl, SimConfig(seed=2))
    ctl = CycleController("relmas", 10)
    ctl.reset(sim)
    n = 0
    while sim.advance():
        if ctl.due(sim):
            ctl.set_action(sim, MODES.index("srpt"))
        d = ctl.dispatch(sim)
        if d.assign:
            (req, sub), = d.assign
            cands = ctl.features.build(sim, sub)[0]
            assert sim.remaining(req, sub) == min(sim.remaining(r, sub) for r in cands)
            n += 1
        sim.apply(d)
    assert n > 50


@pytest.fixture(scope="module")
def ppo_policy(tmp_path_factory, tiny_setup):
    pytest.importorskip("stable_baselines3")
    from stable_baselines3 import PPO

    from fairsched.rl.cycle_train import export_cycle_policy

    env = CycleEnv(variant="drl", **_kw(tiny_setup))
    model = PPO("MlpPolicy", env, n_steps=32, batch_size=16, n_epochs=1, seed=0, device="cpu",
                policy_kwargs=dict(net_arch=[32, 32]))
    model.learn(64)
    stem = export_cycle_policy(model, tmp_path_factory.mktemp("cyc") / "drl", variant="drl", cycle_requests=10)
    return model, stem


def test_numpy_matches_torch_on_1000_observations(ppo_policy, tiny_setup):
    from fairsched.rl.cycle import CyclePolicy

    model, stem = ppo_policy
    pol = CyclePolicy.load(stem)
    env = CycleEnv(variant="drl", **_kw(tiny_setup))
    obs_l = []
    obs, _ = env.reset(seed=1)
    rng = np.random.default_rng(0)
    while len(obs_l) < 200:  # real observations, plus perturbed copies of them
        obs_l.append(obs)
        obs, _, term, trunc, _ = env.step(int(rng.integers(len(THETAS))))
        if term or trunc:
            obs, _ = env.reset()
    real = np.array(obs_l, dtype=np.float32)
    noisy = np.clip(np.repeat(real, 4, axis=0) + rng.normal(0, 0.3, (len(real) * 4, real.shape[1])), -2, 10)
    X = np.concatenate([real, noisy]).astype(np.float32)
    assert len(X) >= 1000
    a_th, _ = model.predict(X, deterministic=True)
    a_np = np.array([pol.act_cycle(x) for x in X])
    assert (a_np == a_th).all()


def test_scheduler_replays_the_env(ppo_policy, tiny_setup):
    """The env driven by the policy and Simulator.run with CycleScheduler make the same run."""
    from fairsched.rl.cycle import CyclePolicy

    _, stem = ppo_policy
    pol = CyclePolicy.load(stem)
    assert is_cycle_policy(stem) and isinstance(scheduler_for_path(stem), CycleScheduler)
    env = CycleEnv(variant="drl", randomize=False, load=1.2, sim_seed=4, **_kw(tiny_setup))
    obs, _ = env.reset(seed=0)
    acts, done = [], False
    while not done:
        a = pol.act_cycle(obs)
        acts.append(a)
        obs, _, term, trunc, _ = env.step(a)
        done = term or trunc
    plat, table, scen = tiny_setup
    wl = resolve(ScenarioConfig.model_validate(scen), plat, table, load=1.2, requests=120)
    sched = CycleScheduler(pol)
    sim = Simulator(plat, table, wl, SimConfig(seed=4)).run(sched)
    assert _hits(sim) == _hits(env.sim) and sched.ctl.cycles == len(acts)


@pytest.fixture
def scenario(tmp_path):
    p = tmp_path / "tiny.yaml"
    p.write_text(yaml.safe_dump(dict(
        load=1.1, requests=60, tenants=[
            dict(name="a", slos=[dict(model="squeezenet", deadline_x=3.0, target=0.9)]),
            dict(name="b", slos=[dict(model="resnet18", deadline_x=4.0, target=0.95, rate_share=0.5)]),
        ])))
    return p


def test_train_writes_learning_curve_and_resumes(tmp_path, scenario, monkeypatch):
    pytest.importorskip("stable_baselines3")
    pytest.importorskip("fairsched.costs.table").load_cost_table()
    from fairsched.cli import main
    from fairsched.rl import cycle_train
    from fairsched.rl.cycle import CyclePolicy

    monkeypatch.setattr(cycle_train, "validation_scenarios", lambda variant="drl": [("tiny", yaml.safe_load(scenario.read_text()))])
    monkeypatch.setattr(cycle_train, "VALIDATION_LOADS", (1.1,))
    out = tmp_path / "run"
    base = ["train", "--scheduler", "drl", "--scenario", str(scenario), "--requests", "60", "--n-envs", "2",
            "--n-steps", "4", "--batch-size", "4", "--n-epochs", "1", "--cycle-requests", "10", "--select-every", "8",
            "--select-requests", "100", "--checkpoint-freq", "8", "--no-progress", "--out", str(out)]
    with pytest.raises(SystemExit) as e:
        main(base + ["--timesteps", "16"])
    assert e.value.code == 0
    png = out / "learning_curve.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import pandas as pd

    rows = pd.read_csv(out / "val" / "scores.csv")
    assert rows["timesteps"].iloc[0] == 0 and rows["timesteps"].iloc[-1] >= 16 and len(rows) >= 3
    pol = CyclePolicy.load(out / "drl")
    meta = json.loads((out / "drl.json").read_text())
    assert pol.meta["variant"] == "drl" and meta["selected"]["timesteps"] in set(rows["timesteps"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "tiny.yaml"]  # nothing outside --out
    ckpt = sorted((out / "checkpoints").glob("*.zip"))[-1]
    with pytest.raises(SystemExit) as e:
        main(base + ["--timesteps", "24", "--resume", str(ckpt)])
    assert e.value.code == 0
    assert json.loads((out / "drl.json").read_text())["timesteps"] >= 24
    assert len(pd.read_csv(out / "val" / "scores.csv")) > len(rows)


@pytest.mark.parametrize("tenant_aware", [True, False])
def test_candidates_is_the_menu_of_build(tiny_setup, tenant_aware):
    """FeatureBuilder.candidates (the cycle dispatchers' fast path) offers exactly build's candidates
    in the same order, at every decision point of an overloaded run."""
    from fairsched.rl.features import FeatureBuilder

    plat, table, scen = tiny_setup
    wl = resolve(ScenarioConfig.model_validate(scen), plat, table, load=1.4)
    sim = Simulator(plat, table, wl, SimConfig(seed=1))
    fb = FeatureBuilder(8, tenant_aware=tenant_aware)
    fb.reset(sim)
    sched = make("edf")
    sched.reset(sim, 1)
    n = 0
    while sim.advance():
        for sub in sim.idle:
            fast = [c[2] for c in fb.candidates(sim, sub)[0]]
            assert fast == fb.build(sim, sub)[0]
            n += len(fast)
        sim.apply(sched.decide(sim))
    assert n > 50


def test_relmas_net_reward_sums_to_hits_minus_misses(tiny_setup):
    """relmas reward 'net': over an episode the rewards add up to (hits - misses) / cycle_requests,
    counted from the simulator's own per-SLO counters (every ended request is a hit or a miss)."""
    env = CycleEnv(variant="relmas", randomize=False, load=1.3, sim_seed=2, **_kw(tiny_setup))
    env.reset(seed=0)
    total, done = 0.0, False
    while not done:
        _, r, term, trunc, _ = env.step(MODES.index("srpt"))
        total += r
        done = term or trunc
    hits, ended = sum(env.sim.slo_hits_all), sum(env.sim.slo_done_all)
    assert ended > 0 and hits < ended  # overload: some misses
    assert total == pytest.approx((hits - (ended - hits)) / 10)
    env_h = CycleEnv(variant="relmas", randomize=False, load=1.3, sim_seed=2, relmas_reward="hits", **_kw(tiny_setup))
    env_h.reset(seed=0)
    total_h, done = 0.0, False
    while not done:
        _, r, term, trunc, _ = env_h.step(MODES.index("srpt"))
        total_h += r
        done = term or trunc
    assert total_h == pytest.approx(hits / 10)
    env_l = CycleEnv(variant="relmas", randomize=False, load=1.3, sim_seed=2, relmas_reward="logmiss", **_kw(tiny_setup))
    env_l.reset(seed=0)
    rs, done = [], False
    while not done:
        _, r, term, trunc, _ = env_l.step(MODES.index("srpt"))
        rs.append(r)
        done = term or trunc
    assert sum(rs) == pytest.approx(-math.log(1 + ended - hits))  # the same run: the same misses
    assert all(r <= 0.0 for r in rs) and min(rs) < 0.0  # a miss only ever costs


def test_bad_relmas_reward_and_warm_action_are_input_errors(tiny_setup, tmp_path):
    from fairsched.errors import InputError
    from fairsched.rl.cycle_train import train_cycle

    with pytest.raises(InputError, match="relmas_reward"):
        CycleEnv(variant="relmas", relmas_reward="misses", **_kw(tiny_setup))
    plat, table, scen = tiny_setup
    with pytest.raises(InputError, match="warm_action"):
        train_cycle(scheduler="relmas", out=tmp_path / "x", scenario=scen, platform=plat, warm_action=len(MODES),
                    timesteps=0)
