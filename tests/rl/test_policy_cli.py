"""A policy trained by `fairsched train --out DIR` runs in compare and simulate via --policy;
training leaves nothing in the temp dir and records the platform types it saw."""

from __future__ import annotations

import json
import tempfile

import pandas as pd
import pytest
import yaml

pytest.importorskip("sb3_contrib")

from fairsched.cli import main  # noqa: E402


def _run(argv):
    with pytest.raises(SystemExit) as e:
        main(argv)
    return e.value.code


def test_trained_policy_runs_via_policy_and_leaves_no_temp_folders(tmp_path, monkeypatch):
    scen = tmp_path / "tiny.yaml"
    scen.write_text(yaml.safe_dump(dict(
        load=0.9, requests=40, tenants=[
            dict(name="a", slos=[dict(model="squeezenet", deadline_x=3.0, target=0.9)]),
            dict(name="b", slos=[dict(model="resnet18", deadline_x=4.0, target=0.95, rate_share=0.5)]),
        ])))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))  # where sb3 would put SB3-<timestamp>
    out = tmp_path / "run"
    assert _run(["-q", "train", "--formulation", "layer", "--scheduler", "drl", "--scenario", str(scen), "--requests", "40", "--n-envs", "1",
                 "--bc-steps", "200", "--dagger-rounds", "0", "--select-every", "0", "--n-steps", "64",
                 "--batch-size", "32", "--eval-freq", "10000", "--checkpoint-freq", "10000", "--timesteps", "64",
                 "--no-progress", "--out", str(out)]) == 0
    assert [p.name for p in tmp.iterdir() if p.name.startswith("SB3-")] == []
    assert (out / "logs" / "progress.csv").is_file()  # sb3's log lives under --out instead
    meta = json.loads((out / "drl.json").read_text())
    assert meta["platform_types"] == ["eyeriss_like", "simba_like"]  # the default platform's types

    cmp = tmp_path / "cmp"
    assert _run(["-q", "compare", "--scenario", str(scen), "--requests", "60", "--schedulers", "edf",
                 "--policy", str(out), "--jobs", "1", "--out", str(cmp)]) == 0
    s = pd.read_csv(cmp / "summary.csv")
    assert list(s["scheduler"]) == ["edf", f"drl:{out / 'drl'}"]
    assert s["requests"].iloc[0] == s["requests"].iloc[1] > 0
    assert _run(["-q", "simulate", "--scenario", str(scen), "--requests", "60", "--policy", str(out / "drl.npz"),
                 "--json"]) == 0


def test_a_cycle_policy_runs_by_path():
    """`fairsched train` exports cycle policies by default: NAME:PATH and --policy must run them as
    cycle schedulers (a per-layer PolicyScheduler cannot read that format)."""
    from pathlib import Path

    from fairsched.cli.plugins import policy_name
    from fairsched.rl.cycle import CycleScheduler
    from fairsched.schedulers.registry import make

    stem = Path(__file__).resolve().parents[2] / "results" / "history" / "relmas_cycle_1200"
    name = policy_name(str(stem))
    assert name == f"relmas:{stem}"  # the variant comes from the file, not the flag
    sched = make(name)
    assert isinstance(sched, CycleScheduler) and not sched.tenant_aware and sched.name == name
