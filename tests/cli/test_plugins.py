"""Schedulers from outside fairsched: an installed package's entry point, an --import file, and a
policy file as NAME:PATH / --policy. Each plug-in here is FCFS written independently, so its
results must equal the shipped ``fcfs`` exactly (same arrivals, same order, same placement)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.cli.small_inputs import write_small_inputs

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "src" / "fairsched" / "rl" / "policies"

FCFS_SOURCE = '''"""Oldest request first, from a package outside fairsched."""
from fairsched.schedulers.base import PriorityScheduler


class TinyFCFS(PriorityScheduler):
    def key(self, sim, req):
        return req.arrival, req.id
'''


@pytest.fixture
def inputs(tmp_path):
    costs, scen = write_small_inputs(tmp_path, load=1.1, requests=300)
    return ["--scenario", str(scen), "--costs", str(costs)]


@pytest.fixture
def plugin_site(tmp_path):
    """A tiny installed distribution: a package plus its .dist-info with two entry points (one broken)."""
    site = tmp_path / "site"
    (site / "tiny_sched").mkdir(parents=True)
    (site / "tiny_sched" / "__init__.py").write_text(FCFS_SOURCE)
    info = site / "tiny_sched-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tiny-sched\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[fairsched.schedulers]\ntiny-fcfs = tiny_sched:TinyFCFS\nbroken = tiny_sched_missing:Nope\n")
    return site


def fairsched(args, *paths, cwd=None):
    env = dict(os.environ)
    env.pop("FAIRSCHED_IMPORT", None)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), *map(str, paths), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "fairsched", *args], capture_output=True, text=True, env=env,
                          timeout=600, cwd=cwd)


def test_installed_plugin_is_listed_and_compared(plugin_site, inputs, tmp_path):
    r = fairsched(["schedulers"], plugin_site)
    assert r.returncode == 0, r.stderr
    assert any(line.split()[0] == "tiny-fcfs" for line in r.stdout.splitlines())
    assert "broken" in r.stderr and "tiny-sched" in r.stderr  # a broken plug-in is named, and skipped
    out = tmp_path / "cmp"
    r = fairsched(["-q", "compare", *inputs, "--schedulers", "fcfs,tiny-fcfs", "--jobs", "2", "--out", str(out)],
                  plugin_site)
    assert r.returncode == 0, r.stderr
    s = pd.read_csv(out / "summary.csv").set_index("scheduler")
    assert list(s.index) == ["fcfs", "tiny-fcfs"]
    for col in ("hit_rate", "tenants_upheld", "slos_achieved", "requests"):
        assert s.loc["fcfs", col] == s.loc["tiny-fcfs", col]


def test_import_file_on_simulate_compare_and_schedulers(inputs, tmp_path):
    f = tmp_path / "my_sched.py"
    f.write_text(FCFS_SOURCE + '\n\nfrom fairsched import register\nregister("my-fcfs")(TinyFCFS)\n')
    r = fairsched(["schedulers", "--import", str(f)])
    assert r.returncode == 0 and "my-fcfs" in r.stdout.split()
    hits = {}
    for name in ("fcfs", "my-fcfs"):
        r = fairsched(["simulate", *inputs, "--scheduler", name, "--json", "--import", str(f)])
        assert r.returncode == 0, r.stderr
        hits[name] = json.loads(r.stdout)["hit_rate"]
    assert hits["fcfs"] == hits["my-fcfs"]
    r = fairsched(["-q", "compare", *inputs, "--schedulers", "my-fcfs", "--jobs", "1", "--out", str(tmp_path / "c"),
                   "--import", str(f)])
    assert r.returncode == 0, r.stderr
    # without --import the name is unknown: one error line, exit 2
    r = fairsched(["simulate", *inputs, "--scheduler", "my-fcfs"])
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr


def test_import_errors_are_one_line(tmp_path):
    r = fairsched(["schedulers", "--import", str(tmp_path / "nope.py")])
    assert r.returncode == 2 and "--import" in r.stderr and "does not exist" in r.stderr
    bad = tmp_path / "bad.py"
    bad.write_text("raise RuntimeError('boom')\n")
    r = fairsched(["schedulers", "--import", str(bad)])
    assert r.returncode == 2 and "boom" in r.stderr and "Traceback" not in r.stderr


def test_policy_path_runs_like_the_shipped_name(tmp_path, inputs):
    """The shipped drl policy copied elsewhere and run via --policy / drl:PATH gives drl's results."""
    run = tmp_path / "run"
    run.mkdir()
    for suffix in (".npz", ".json"):
        shutil.copy(POLICIES / f"drl{suffix}", run / f"drl{suffix}")
    hits = []
    for args in (["--scheduler", "drl"], ["--policy", str(run)], ["--scheduler", f"drl:{run / 'drl'}"]):
        r = fairsched(["simulate", *inputs, "--requests", "150", "--json", *args])
        assert r.returncode == 0, r.stderr
        hits.append(json.loads(r.stdout)["hit_rate"])
    assert hits[0] == hits[1] == hits[2]
    r = fairsched(["simulate", "--policy", str(tmp_path / "nope")])
    assert r.returncode == 2 and "--policy" in r.stderr
    r = fairsched(["simulate", "--scheduler", f"edf:{run / 'drl'}"])
    assert r.returncode == 2 and "takes no policy" in r.stderr


def test_identity_tracks_policy_content(tmp_path):
    from fairsched.schedulers.registry import identity

    for suffix in (".npz", ".json"):
        shutil.copy(POLICIES / f"drl{suffix}", tmp_path / f"drl{suffix}")
    name = f"drl:{tmp_path / 'drl'}"
    assert identity("edf") == "edf"
    before = identity(name)
    meta = json.loads((tmp_path / "drl.json").read_text())
    meta["note"] = "retrained"
    (tmp_path / "drl.json").write_text(json.dumps(meta))
    assert identity(name) != before


def test_policy_warns_on_platform_types_it_never_saw(tmp_path, caplog):
    from fairsched import api

    meta = json.loads((POLICIES / "drl.json").read_text())
    meta["platform_types"] = ["eyeriss_like"]
    meta["command"] = f"test {tmp_path}"  # a key of its own for the warn-once set
    shutil.copy(POLICIES / "drl.npz", tmp_path / "drl.npz")
    (tmp_path / "drl.json").write_text(json.dumps(meta))
    plat, table, wl = api.build(requests=30)
    with caplog.at_level("WARNING", logger="fairsched"):
        api.run_one(plat, table, wl, f"drl:{tmp_path / 'drl'}")
    msg = " ".join(r.getMessage() for r in caplog.records)
    assert "simba_like" in msg and "never saw" in msg
    caplog.clear()
    with caplog.at_level("WARNING", logger="fairsched"):
        api.run_one(plat, table, wl, "drl")
    assert not [r for r in caplog.records if "never saw" in r.getMessage()]


def test_policy_warns_when_a_type_sits_in_another_types_slot(caplog):
    """The per-layer observation's type one-hot is positional: simba_like listed first reads as
    eyeriss_like (the per-layer drl's slot 0, rl/policies/drl-layer) -- a warning names both and the fix."""
    from fairsched import api
    from fairsched.platform.config import load_platform
    from fairsched.rl.policy import shipped_policy_path
    from fairsched.rl.policy_scheduler import slot_mismatches

    assert slot_mismatches(["eyeriss_like", "simba_like"], ["eyeriss_like", "simba_like", "tpu_like"]) == []
    assert slot_mismatches(["eyeriss_like", "simba_like"], ["simba_like", "eyeriss_like"]) == [
        ("simba_like", "eyeriss_like"), ("eyeriss_like", "simba_like")]
    assert slot_mismatches(["a", "b", "c", "d"], ["a", "b", "c", "d", "e"]) == [("e", "a")]  # 5th wraps to slot 0
    plat = load_platform(dict(name="swapped", dram_bandwidth_gbps=51.2,
                              sub_accelerators=[dict(type="simba_like", count=4), dict(type="eyeriss_like", count=4)]))
    _, table, wl = api.build(requests=30)
    with caplog.at_level("WARNING", logger="fairsched"):
        api.run_one(plat, table, wl, f"drl:{shipped_policy_path('drl-layer')}")
    msg = " ".join(r.getMessage() for r in caplog.records)
    assert "simba_like reads as eyeriss_like" in msg and "training order" in msg
