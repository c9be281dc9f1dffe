"""`fairsched train` end to end on a tiny budget: training, checkpoint, export, resume, bad input."""

from __future__ import annotations

import json

import pytest
import yaml

pytest.importorskip("sb3_contrib")

from fairsched.cli import main  # noqa: E402
from fairsched.rl.policy import NumpyPolicy  # noqa: E402


def _run(argv):
    with pytest.raises(SystemExit) as e:
        main(argv)
    return e.value.code


@pytest.fixture
def scenario(tmp_path):
    p = tmp_path / "tiny.yaml"
    p.write_text(yaml.safe_dump(dict(
        load=0.9, requests=40, tenants=[
            dict(name="a", slos=[dict(model="squeezenet", deadline_x=3.0, target=0.9)]),
            dict(name="b", slos=[dict(model="resnet18", deadline_x=4.0, target=0.95, rate_share=0.5)]),
        ])))
    return p


def test_train_export_and_resume(tmp_path, scenario):
    pytest.importorskip("fairsched.costs.table").load_cost_table()  # needs the shipped table
    out = tmp_path / "run"
    base = ["train", "--formulation", "layer", "--scheduler", "drl", "--scenario", str(scenario), "--requests", "40", "--n-envs", "1",
            "--bc-steps", "300", "--dagger-rounds", "0", "--select-every", "0", "--n-steps", "128", "--batch-size", "64",
            "--eval-freq", "256", "--checkpoint-freq", "256", "--no-progress", "--out", str(out)]
    assert _run(base + ["--timesteps", "256"]) == 0
    pol = NumpyPolicy.load(out / "drl")
    assert pol.tenant_aware and pol.K == 8
    meta = json.loads((out / "drl.json").read_text())
    assert meta["timesteps"] >= 256 and "/" not in str(meta["env"]["scenario"])
    ckpt = sorted((out / "checkpoints").glob("*.zip"))[-1]
    assert _run(base + ["--timesteps", "512", "--resume", str(ckpt)]) == 0
    assert json.loads((out / "drl.json").read_text())["timesteps"] >= 512


def test_bad_inputs_exit_2(tmp_path, capsys):
    assert _run(["train", "--scheduler", "edf", "--timesteps", "10", "--out", str(tmp_path)]) == 2
    assert "scheduler" in capsys.readouterr().err
    assert _run(["train", "--timesteps", "10", "--resume", str(tmp_path / "nope.zip"), "--out", str(tmp_path)]) == 2
    assert _run(["train", "--timesteps", "10", "--scenario", "nope", "--out", str(tmp_path)]) == 2
    assert _run(["train", "--formulation", "nope", "--timesteps", "10", "--out", str(tmp_path)]) == 2
    assert "--formulation" in capsys.readouterr().err


def test_bad_ppo_flags_exit_2(tmp_path, capsys):
    for flag, val in (("--gamma", "1.5"), ("--target-kl", "0"), ("--select-every", "-1"), ("--n-epochs", "0"),
                      ("--time-limit-min", "0"), ("--p-base", "1.5"), ("--load-range", "1.5"), ("--load-range", "1.2,0.9")):
        assert _run(["train", "--timesteps", "10", flag, val, "--out", str(tmp_path)]) == 2
        assert flag in capsys.readouterr().err


def test_pick_best_prefers_tenants_then_slos_then_fewer_steps():
    from fairsched.rl.train import pick_best

    rows = [dict(timesteps=0, upheld=50, slos_achieved=0.80), dict(timesteps=200, upheld=52, slos_achieved=0.70),
            dict(timesteps=400, upheld=52, slos_achieved=0.75), dict(timesteps=600, upheld=52, slos_achieved=0.75)]
    assert pick_best(rows)["timesteps"] == 400          # most tenants, then SLOs, then the earlier of a tie
    assert pick_best(rows[:1])["timesteps"] == 0        # the clone alone
    with pytest.raises(ValueError):
        pick_best([])


def test_selection_exports_the_best_scored_policy(tmp_path, scenario, monkeypatch):
    """With --select-every the exported policy is one of the scored ones (weights equal), and the JSON
    names it; validation is shrunk to the tiny scenario so the test stays fast."""
    import numpy as np

    from fairsched.rl import evaluate

    monkeypatch.setattr(evaluate, "validation_scenarios",
                        lambda: [("tiny", yaml.safe_load(scenario.read_text()))])
    monkeypatch.setattr(evaluate, "VALIDATION_LOADS", (0.9,))
    out = tmp_path / "sel"
    assert _run(["train", "--formulation", "layer", "--scheduler", "drl", "--scenario", str(scenario), "--requests", "40", "--n-envs", "1",
                 "--bc-steps", "300", "--dagger-rounds", "0", "--eval-freq", "100000", "--checkpoint-freq", "100000", "--no-progress",
                 "--timesteps", "512", "--n-steps", "128", "--batch-size", "64", "--select-every", "256",
                 "--select-requests", "100", "--out", str(out)]) == 0
    meta = json.loads((out / "drl.json").read_text())
    sel = meta["selected"]
    assert [r["timesteps"] for r in sel["scores"]][0] == 0 and len(sel["scores"]) >= 3
    shipped = np.load(out / "drl.npz")
    chosen = np.load(out / "val" / f"{sel['stem']}.npz")
    assert all(np.array_equal(shipped[k], chosen[k]) for k in shipped.files)


def test_stage_words():
    from fairsched.rl.train import _stage

    assert _stage(True, 2, 0) == "behaviour cloning + 2 DAgger rounds"
    assert _stage(True, 2, 0, ran=2_000_000) == ("behaviour cloning + 2 DAgger rounds "
                                                 "(selected on validation scenarios; PPO ran 2000000 steps)")
    assert _stage(True, 0, 500, ran=500) == "behaviour cloning + 500 PPO steps"
    assert _stage(False, 0, 0) == "untrained"


def test_cli_defaults_are_train_defaults():
    """`fairsched train` and `fairsched.rl.train.train` spell the shipped recipe twice (typer needs
    its defaults in the signature; importing the trainer at CLI start-up would pull in gymnasium for
    every command): this keeps the two copies equal."""
    import inspect

    import typer

    from fairsched.cli.train import register
    from fairsched.rl.train import train

    app = typer.Typer()
    register(app)
    (cmd,) = [c for c in app.registered_commands if c.name == "train"]
    from fairsched.rl.cycle_train import train_cycle

    cli = {n: p.default.default for n, p in inspect.signature(cmd.callback).parameters.items()}
    api = {n: p.default for n, p in inspect.signature(train).parameters.items()}
    cyc = {n: p.default for n, p in inspect.signature(train_cycle).parameters.items()}
    # None on the CLI: the formulation's own default (train()'s or train_cycle()'s); warm_action: cycle only
    assert all(k in api and k in cyc for k, v in cli.items() if v is None and k not in ("costs", "resume", "teacher_theta", "warm_action", "cycle_version"))
    shared = sorted((set(cli) & set(api)) - {"out"} - {k for k, v in cli.items() if v is None})
    assert len(shared) >= 8
    assert {n: cli[n] for n in shared} == {n: (str(api[n]) if n in ("scenario", "platform") else api[n])
                                           for n in shared}


def test_recorded_command_keeps_global_options():
    """A policy's JSON records the command that trained it, global options before ``train`` too
    (they used to make it empty); absolute paths are cut to their last part."""
    from fairsched.rl.train import _command

    assert _command(["train", "--out", "/a/b/runs"]) == "fairsched train --out runs"
    assert _command(["-v", "train", "--seed", "1"]) == "fairsched -v train --seed 1"
    assert _command(["--import", "my.mod", "-q", "train"]) == "fairsched --import my.mod -q train"
    assert _command(["compare", "--out", "train"]) == ""
    assert _command(["-v"]) == ""
