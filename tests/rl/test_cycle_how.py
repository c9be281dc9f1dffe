"""drl's cycle formulation from ``cycle_version`` 5: ``triage-sjf``'s dispatch, the agent's action the line.

Identities against independently built schedulers: with the default line the cycle scheduler is the
registered ``triage-sjf`` (a run with no cycle machinery at all), decision for decision, on both cores
and through the env; another line held for the whole run is ``HowScheduler`` with that ``theta``; a
line that changes between cycles is neither fixed run. Plus the file format (version and layout
recorded, loaded back into the right controller), (m,k) SLOs staying on the compiled core (this
dispatch reads no outcome history), and one error line for an unknown version.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from fairsched.api import build
from fairsched.errors import InputError
from fairsched.rl.cycle import DEFAULT_ACTION, N_OBS_V, THETAS, CycleScheduler, make_controller
from fairsched.rl.protect import HowScheduler, TriageSJFController
from fairsched.schedulers.registry import make
from fairsched.sim.engine import SimConfig, Simulator
from tests.sim.test_compiled import outcome

pytest.importorskip("gymnasium")

from fairsched.rl.cycle_env import CycleEnv  # noqa: E402


class _Fixed:
    """A stand-in cycle policy: the actions ``acts[i]`` in cycle i (the last one from then on)."""

    def __init__(self, acts):
        self.acts, self.i = list(acts), 0
        self.meta = {"variant": "drl", "cycle_version": 5, "cycle_requests": 50}

    def act_cycle(self, obs):
        assert obs.shape == (N_OBS_V[5]["drl"],)
        a = self.acts[min(self.i, len(self.acts) - 1)]
        self.i += 1
        return a


def _run(sched, core="auto", seed=4, requests=800, load=1.2):
    plat, costs, wl = build(requests=requests, load=load)
    return Simulator(plat, costs, wl, SimConfig(log_requests=True, seed=seed, core=core)).run(sched)


def test_controller_and_layout():
    ctl = make_controller("drl", 50, 5)
    assert isinstance(ctl, TriageSJFController) and ctl.n_obs == N_OBS_V[1]["drl"] == 39
    assert (ctl.order, ctl.uorder, ctl.filt, ctl.place, ctl.line) == ("llf", "sjf", "env", "sub", True)
    assert not isinstance(make_controller("drl", 50, 4), TriageSJFController)
    assert make_controller("relmas", 50, 5).modes == make_controller("relmas", 50, 4).modes
    with pytest.raises(InputError, match="cycle_version"):
        make_controller("drl", 50, 9)


@pytest.mark.parametrize("core", ["compiled", "python"])
def test_default_line_is_triage_sjf(core):
    """theta = 0.8 in every cycle: the registered triage-sjf (no cycles), bit for bit, on each core."""
    ref = _run(make("triage-sjf"))
    got = _run(CycleScheduler(None, "drl", version=5), core=core)
    assert got.core_used == ("compiled" if core == "compiled" else "compiled-python")
    assert outcome(got) == outcome(ref) and got.decisions == ref.decisions


def test_a_line_held_all_run_is_how_with_that_theta_and_a_moving_line_is_neither():
    a05 = THETAS.index(0.5)
    fixed = _run(HowScheduler("llf", "sjf", "env", "sub", "line", theta=0.5))
    held = _run(CycleScheduler(_Fixed([a05])))
    assert outcome(held) == outcome(fixed)
    default = _run(make("triage-sjf"))
    assert outcome(fixed) != outcome(default)  # the line matters on this run
    moving = _run(CycleScheduler(_Fixed([DEFAULT_ACTION["drl"]] * 4 + [a05])))
    assert outcome(moving) not in (outcome(fixed), outcome(default))
    assert outcome(_run(CycleScheduler(_Fixed([DEFAULT_ACTION["drl"]] * 4 + [a05])), core="python")) == outcome(moving)


def test_env_default_action_is_triage_sjf():
    env = CycleEnv(variant="drl", version=5, randomize=False, load=1.2, sim_seed=4, requests=800)
    obs, _ = env.reset(seed=0)
    assert obs.shape == env.observation_space.shape == (39,)
    done = False
    while not done:
        obs, r, term, trunc, info = env.step(DEFAULT_ACTION["drl"])
        assert np.isfinite(r)
        done = term or trunc
    ref = _run(make("triage-sjf"))
    assert list(env.sim.slo_hits) == list(ref.slo_hits) and env.sim.decisions == ref.decisions


def test_mk_slos_stay_on_the_compiled_core():
    """Versions 2-4 dispatch (m,k) streams with dbp's history on the Python core; version 5 does not."""
    plat, costs, wl = build(scenario="mk_firm", requests=300, load=1.2)
    assert any(s.mk for s in wl.slos)
    sim = Simulator(plat, costs, wl, SimConfig(seed=1)).run(CycleScheduler(None, "drl", version=5))
    assert sim.core_used == "compiled"


def test_export_records_version_5_and_loads_back(tmp_path):
    pytest.importorskip("stable_baselines3")
    from stable_baselines3 import PPO

    from fairsched.rl.cycle import CyclePolicy
    from fairsched.rl.cycle_train import export_cycle_policy

    env = CycleEnv(variant="drl", version=5, requests=200)
    model = PPO("MlpPolicy", env, n_steps=8, batch_size=8, n_epochs=1, seed=0, device="cpu",
                policy_kwargs=dict(net_arch=[8]))
    stem = export_cycle_policy(model, tmp_path / "drl", variant="drl", cycle_requests=50, version=5)
    meta = json.loads(stem.with_suffix(".json").read_text())
    assert (meta["cycle_version"], meta["obs_dim"], meta["actions"]) == (5, 39, list(THETAS))
    s = CycleScheduler(CyclePolicy.load(stem))
    assert isinstance(s.ctl, TriageSJFController)


def test_train_cli_unknown_version_is_one_error_line(tmp_path, capsys):
    pytest.importorskip("stable_baselines3")
    from fairsched.cli import main

    with pytest.raises(SystemExit) as e:
        main(["train", "--scheduler", "drl", "--cycle-version", "9", "--timesteps", "1", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "cycle_version: 9 unknown" in err and "Traceback" not in err
