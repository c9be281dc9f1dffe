"""Export: the numpy policy picks the torch policy's actions; the scheduler replays the env."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("sb3_contrib")

from sb3_contrib import MaskablePPO  # noqa: E402

from fairsched.rl.env import FairSchedEnv  # noqa: E402
from fairsched.rl.export import export_policy, load_into  # noqa: E402
from fairsched.rl.policy import NumpyPolicy  # noqa: E402
from fairsched.rl.policy_scheduler import PolicyScheduler  # noqa: E402
from fairsched.rl.train import behaviour_clone, collect_teacher  # noqa: E402
from fairsched.rl.teacher import TeacherPolicy  # noqa: E402
from fairsched.sim.engine import SimConfig, Simulator  # noqa: E402
from fairsched.errors import InputError  # noqa: E402


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_setup):
    plat, table, scen = tiny_setup
    kw = dict(scenario=scen, platform=plat, costs=table, requests=120, n_tenants=(3, 5), K=4)
    env = FairSchedEnv(**kw)
    model = MaskablePPO("MlpPolicy", env, n_steps=128, batch_size=64, n_epochs=1, seed=0, device="cpu",
                        policy_kwargs=dict(net_arch=[32, 32]))
    model.learn(256)
    data = collect_teacher(kw, TeacherPolicy("triage", K=4), 1500, 0, 0.99)
    stats = behaviour_clone(model, data, epochs=2)
    assert 0.0 <= stats["agreement"] <= 1.0
    stem = export_policy(model, tmp_path_factory.mktemp("pol") / "drl", K=4, tenant_aware=True)
    return kw, model, stem


def test_numpy_matches_torch_on_1000_observations(trained):
    kw, model, stem = trained
    pol = NumpyPolicy.load(stem)
    env = FairSchedEnv(**kw)
    obs, _ = env.reset(seed=11)
    rng = np.random.default_rng(0)
    n = same = 0
    while n < 1200:
        mask = env.action_masks()
        a_np = pol.act(obs, mask)
        a_th, _ = model.predict(obs, action_masks=mask, deterministic=True)
        same += a_np == int(a_th)
        assert mask[a_np]
        n += 1
        # explore other states too: follow a random valid action half of the time
        a = a_np if rng.random() < 0.5 else int(rng.choice(np.flatnonzero(mask)))
        obs, _, term, trunc, _ = env.step(a)
        if term or trunc:
            obs, _ = env.reset()
    assert same == n


def test_scheduler_replays_env_decisions(trained):
    kw, _, stem = trained
    pol = NumpyPolicy.load(stem)
    env = FairSchedEnv(**kw, randomize=False, load=1.1, sim_seed=5, core="python")  # reads env._cands
    obs, _ = env.reset(seed=0)
    env_trace = []
    while True:
        a = pol.act(obs, env.action_masks())
        if a < env.K:
            env_trace.append((env.sim.now, env._cands[a].id, env._sub))
        obs, _, term, trunc, _ = env.step(a)
        if term or trunc:
            break
    sim = Simulator(env.platform, env.costs, env.sim.workload, SimConfig(seed=5, trace_layers=True))
    sim.run(PolicyScheduler(pol))
    sched_trace = [(t0, rid, sub) for (t0, _, sub, rid, _, _) in sim.layer_trace]
    assert sorted(sched_trace) == sorted(env_trace)
    assert sim.slo_hits_all == env.sim.slo_hits_all


def test_load_into_round_trip(trained):
    kw, model, stem = trained
    env = FairSchedEnv(**kw)
    other = MaskablePPO("MlpPolicy", env, n_steps=64, batch_size=64, device="cpu", policy_kwargs=dict(net_arch=[32, 32]))
    load_into(other, stem)
    obs, _ = env.reset(seed=2)
    m = env.action_masks()
    assert int(other.predict(obs, action_masks=m, deterministic=True)[0]) == int(
        model.predict(obs, action_masks=m, deterministic=True)[0])


def test_feature_version_is_checked(trained, tmp_path):
    import json
    import shutil

    _, _, stem = trained
    for ext in (".npz", ".json"):
        shutil.copy(stem.with_suffix(ext), tmp_path / f"p{ext}")
    meta = json.loads((tmp_path / "p.json").read_text())
    meta["feature_version"] = -1
    (tmp_path / "p.json").write_text(json.dumps(meta))
    with pytest.raises(InputError):
        NumpyPolicy.load(tmp_path / "p")
    with pytest.raises(InputError):
        NumpyPolicy.load(tmp_path / "missing")


def test_policy_scheduler_imports_without_torch():
    code = (
        "import sys, fairsched, fairsched.rl, fairsched.rl.policy_scheduler, fairsched.rl.features;"
        "from fairsched.schedulers.registry import available; available();"
        "bad = [m for m in ('torch', 'stable_baselines3', 'sb3_contrib') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
