"""The RL evaluation protocol as a resumable sweep (``fairsched rl-eval``, ``python -m fairsched.rl.evaluate``).

Known answers: an interrupted run leaves exactly the cells it finished, and the rerun computes the
rest and nothing else; the sweep's cells are the protocol's cells (same mixes, same numbers as the
protocol's own runner); the shipped default scenario has 12 tenants."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from fairsched.cli import main
from fairsched.experiments.rl_eval import long_table, protocol_config, run_protocol, table_text

TINY = dict(requests=120, mixes=1, first_mix=3, seeds=1, schedulers=["edf", "fcfs"])
N_TINY = 2 * 3 * 1 * 2  # (default + 1 mix) x 3 loads x 1 seed x 2 schedulers
STABLE = ["scenario", "load", "scheduler", "seed", "tenants", "upheld", "slos_achieved", "hit_rate"]


@pytest.fixture(autouse=True)
def _own_registry(monkeypatch):
    """The constant schedulers these tests register stay out of other tests' ``available()``."""
    from fairsched.schedulers import registry

    registry.available()  # load the shipped ones first: the copy must hold them
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setattr(registry, "_imported", dict(registry._imported))
    monkeypatch.setenv(registry.IMPORT_ENV, os.environ.get(registry.IMPORT_ENV, ""))
    sys.modules.pop("fairsched.rl.constant_plugin", None)
    yield
    sys.modules.pop("fairsched.rl.constant_plugin", None)


def _stable(df: pd.DataFrame) -> pd.DataFrame:
    return df[STABLE].sort_values(STABLE[:4]).reset_index(drop=True)


class Stop(KeyboardInterrupt):
    pass


def test_interrupted_run_resumes_only_the_missing_cells(tmp_path):
    """Ctrl-C after 5 cells: those 5 stay on disk; the rerun computes the other 7, reuses the 5, and the
    table equals an uninterrupted run's."""
    out = tmp_path / "eval"
    done = []

    def stop_after_five(cell, data, cached):
        done.append(cell)
        if len(done) == 5:
            raise Stop

    with pytest.raises(Stop):
        run_protocol(out, on_done=stop_after_five, **TINY)
    assert len(list((out / "cells").glob("*.json"))) == 5
    assert not (out / "rl_eval.csv").exists() and not list(out.rglob("*.tmp"))

    resumed, res = run_protocol(out, **TINY)
    assert (res.computed, res.cached) == (N_TINY - 5, 5)
    assert len(resumed) == N_TINY and (out / "rl_eval.csv").is_file()

    fresh, res2 = run_protocol(tmp_path / "fresh", **TINY)
    assert (res2.computed, res2.cached) == (N_TINY, 0)
    pd.testing.assert_frame_equal(_stable(resumed), _stable(fresh))
    assert table_text(resumed) == table_text(fresh)
    again = run_protocol(out, **TINY)[1]
    assert (again.computed, again.cached) == (0, N_TINY)


def test_killed_process_resumes_only_the_missing_cells(tmp_path):
    """SIGKILL the command line once a cell is on disk: the rerun computes exactly the cells not on disk."""
    out = tmp_path / "eval"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).parents[2] / "src"),
                                                       os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "fairsched", "-q", "rl-eval", "--out", str(out), "--requests", "200", "--mixes", "1",
           "--first-mix", "3", "--seeds", "1", "--schedulers", "edf,triage", "--jobs", "1"]
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while p.poll() is None and not list((out / "cells").glob("*.json")):
            time.sleep(0.05)
        p.send_signal(signal.SIGKILL)
    finally:
        p.wait()
    present = len(list((out / "cells").glob("*.json")))
    assert present >= 1 and not (out / "rl_eval.csv").exists() or present == N_TINY
    df, res = run_protocol(out, requests=200, mixes=1, first_mix=3, seeds=1, schedulers=["edf", "triage"])
    assert (res.computed, res.cached) == (N_TINY - present, present)
    assert len(df) == N_TINY


def test_protocol_cells_are_the_protocol_runners_cells():
    """The sweep's mix ``unseen:3`` is acceptance mix k=3, and a cell gives the same numbers as the
    protocol's own (pool) runner; the default scenario has its 12 tenants."""
    from fairsched.experiments.sweep import expand
    from fairsched.rl.evaluate import acceptance_scenarios, run_cells
    from fairsched.workload.generator import UNSEEN_SEED_BASE
    from fairsched.workload.scenario import load_scenario

    grid = expand(protocol_config(**TINY), Path.cwd())
    (name, mix), = acceptance_scenarios(1, 3, base=False)
    assert name == f"mix-{UNSEEN_SEED_BASE + 3}"
    assert grid.scenarios["unseen:3"]["tenants"] == load_scenario(mix)[0].model_dump(mode="json")["tenants"]

    df, _ = run_protocol_tmp(TINY)
    old = run_cells(acceptance_scenarios(1, 3), [0.7, 0.9, 1.2], ["edf", "fcfs"], requests=120, seed=0, seeds=1)
    pd.testing.assert_frame_equal(_stable(df), _stable(old), check_dtype=False)
    assert (df[df["scenario"] == "default"]["tenants"] == 12).all()
    assert ((df["upheld"] >= 0) & (df["upheld"] <= df["tenants"])).all()


def run_protocol_tmp(kw):
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return run_protocol(Path(tmp) / "e", **kw)


def test_constant_actions_are_their_rules_and_policy_files_run():
    """``drl-theta0.8`` is ``triage`` and ``relmas-llf`` is ``llf-masked``, decision for decision; the
    exported constant-srpt cycle policy (``policy:PATH``) is ``relmas-srpt``."""
    stem = Path(__file__).parents[2] / "results" / "history" / "relmas_const_srpt"
    names = ["triage", "drl-theta0.8", "llf-masked", "relmas-llf", "relmas-srpt", f"policy:{stem}"]
    df, res = run_protocol_tmp(dict(requests=300, mixes=1, first_mix=0, base=False, seeds=1, loads=[0.7, 0.9, 1.2],
                                     schedulers=names))
    from fairsched.experiments.rl_eval import scheduler_label

    s = res.summary.assign(scheduler=res.summary["scheduler"].map(scheduler_label)).set_index(["scheduler", "load"])
    for a, b in (("triage", "drl-theta0.8"), ("llf-masked", "relmas-llf"), ("relmas-srpt", stem.name)):
        for col in ("tenants_upheld", "hit_rate", "decisions", "layer_events"):
            assert s.loc[a][col].tolist() == s.loc[b][col].tolist(), (a, b, col)
    assert set(df["scheduler"]) >= {"relmas_const_srpt", "drl-theta0.8"}  # a policy's column: the file's name


def test_long_table_counts_tenants_from_the_tenants_table():
    summary = pd.DataFrame(dict(cell=["a", "b"], scheduler=["edf", "policy:x/y/p1"], load=[0.9, 0.9],
                                scenario=["default", "unseen:2"], seed=[0, 0], slos_achieved=[1.0, 0.5],
                                hit_rate=[0.99, 0.8], decision_us_p50=[1.0, 2.0], decision_us_p99=[3.0, 4.0]))
    tenants = pd.DataFrame(dict(cell=["a", "a", "a", "b", "b"], upheld=[True, False, True, False, False]))
    df = long_table(summary, tenants)
    from fairsched.workload.generator import UNSEEN_SEED_BASE

    assert df["tenants"].tolist() == [3, 2] and df["upheld"].tolist() == [2, 0]
    assert df["scheduler"].tolist() == ["edf", "p1"]
    assert df["scenario"].tolist() == ["default", f"mix-{UNSEEN_SEED_BASE + 2}"]


def _fails(capsys, *argv):
    with pytest.raises(SystemExit) as e:
        main(list(argv))
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 2 and len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


@pytest.mark.parametrize("argv, field", [
    (["--seeds", "0"], "--seeds"),
    (["--loads", "0.7,0.9"], "--loads"),
    (["--loads", "a,b,c"], "--loads"),
    (["--schedulers", "edf,nope"], "--schedulers"),
    (["--backend", "spark"], "--backend"),
    (["--address", "1.2.3.4:6379"], "--address"),
    (["--requests", "0"], "--requests"),
    (["--mixes", "0", "--no-default"], "--mixes"),
    (["--jobs", "0"], "--jobs"),
    (["--loads", "0.7,0.9,-1"], "loads"),
])
def test_rl_eval_bad_flags_one_error_line(tmp_path, capsys, argv, field):
    msg = _fails(capsys, "rl-eval", "--out", str(tmp_path / "o"), *argv)
    assert field in msg
    assert not (tmp_path / "o").exists()


def test_two_entries_with_one_column_name_are_refused(tmp_path, capsys):
    """A policy's column is named after its file: ``drl`` and ``drl:DIR/drl`` (another run's export)
    would fill one column with two schedulers' runs. Refused with the clash named; a renamed copy runs."""
    from fairsched.experiments.rl_eval import scheduler_label, scheduler_names

    shipped = Path(__file__).resolve().parents[2] / "src" / "fairsched" / "rl" / "policies" / "drl"
    msg = _fails(capsys, "rl-eval", "--out", str(tmp_path / "o"), "--schedulers", f"drl,drl:{shipped}")
    assert "--schedulers" in msg and "'drl'" in msg and "another name" in msg
    for suf in (".npz", ".json"):
        (tmp_path / f"drl_copy{suf}").write_bytes(shipped.with_suffix(suf).read_bytes())
    names = scheduler_names(["drl", f"drl:{tmp_path / 'drl_copy'}"])
    assert [scheduler_label(n) for n in names] == ["drl", "drl_copy"]


def test_rl_eval_needs_out_and_reads_csvs(tmp_path, capsys):
    assert "--out" in _fails(capsys, "rl-eval")
    assert "--from-csv" in _fails(capsys, "rl-eval", "--from-csv", str(tmp_path / "missing.csv"))
    rows = [dict(scenario="default", load=ld, scheduler=s, seed=0, tenants=10, upheld=u)
            for ld in (0.7, 0.9, 1.2) for s, u in (("edf", 5), ("drl", 6))]
    pd.DataFrame(rows).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(SystemExit) as e:
        main(["rl-eval", "--from-csv", str(tmp_path / "t.csv")])
    assert e.value.code == 0
    assert "drl wins 3 of 3 cells" in capsys.readouterr().out


@pytest.mark.parametrize("argv, field", [
    (["--bogus"], "--bogus"),
    (["--seeds", "x"], "--seeds"),
    (["--seeds", "0"], "--seeds"),
    (["--loads", "0.7"], "--loads"),
    (["--schedulers", "nope"], "--schedulers"),
])
def test_old_entry_bad_flags_one_error_line(capsys, argv, field):
    from fairsched.rl.evaluate import main as old_main

    try:
        rc = old_main(argv)
    except SystemExit as e:
        rc = e.code
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: ") and field in err[0], err


def test_old_entry_keeps_its_flags_and_output(tmp_path, capsys):
    """``python -m fairsched.rl.evaluate`` with its old flags writes the long CSV and prints the table and
    the verdict; ``--cells`` keeps the cells, so a second run computes nothing."""
    from fairsched.rl.evaluate import main as old_main

    argv = ["--requests", "120", "--mixes", "1", "--first-mix", "3", "--seeds", "1", "--schedulers", "edf,drl",
            "--out", str(tmp_path / "t.csv"), "--cells", str(tmp_path / "cells")]
    assert old_main(argv) == 0
    out = capsys.readouterr()
    assert "drl wins" in out.out and "default scenario:" in out.out
    df = pd.read_csv(tmp_path / "t.csv")
    assert list(df.columns[:6]) == ["scenario", "load", "scheduler", "seed", "tenants", "upheld"] and len(df) == 12
    assert old_main(argv) == 0
    assert "0 cells computed, 12 reused" in " ".join(capsys.readouterr().err.split())


def test_ray_backend_equals_local_with_plugin_schedulers(tmp_path):
    """On Ray (a local instance started for the run) the protocol gives the local numbers, the
    constant-action and ``policy:PATH`` schedulers included (workers import them too)."""
    pytest.importorskip("ray")
    stem = Path(__file__).parents[2] / "results" / "history" / "relmas_const_srpt"
    kw = dict(requests=120, mixes=0, seeds=1, schedulers=["edf", "relmas-srpt", f"policy:{stem}"])
    local = run_protocol(tmp_path / "local", **kw)[0]
    remote, res = run_protocol(tmp_path / "ray", backend="ray", jobs=2, **kw)
    assert res.computed == 9
    pd.testing.assert_frame_equal(_stable(remote), _stable(local))
