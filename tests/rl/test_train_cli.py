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
    base = ["train", "--scheduler", "drl", "--scenario", str(scenario), "--requests", "40", "--n-envs", "1",
            "--bc-steps", "300", "--eval-freq", "256", "--checkpoint-freq", "256", "--no-progress", "--out", str(out)]
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
