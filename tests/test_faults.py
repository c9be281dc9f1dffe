"""Faults around long runs (issue 15): Ctrl-C, SIGKILL, concurrent runs, damaged caches, edited inputs.

* SIGINT to ``compare``/``sweep --jobs 2`` (to the whole process group, as a terminal sends it):
  exit code 130 with one line, the queue is not worked off, only whole cell files remain, and
  no worker outlives the run.
* SIGKILL of the main process: its pool workers exit too (they watch their parent).
* Two runs into one ``--out``: the second fails at once with one line (exit 2).
* A damaged cell file (not UTF-8, ``null``, a list, a cut record) is recomputed, never trusted.
* Editing a trace file changes the cell's key: the cell is recomputed, not reported cached.
* A run that fails leaves no empty ``cells/`` (nor ``--out``) behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import yaml

from fairsched.cli import main
from tests.reliability_util import cli_env, write_small_costs

SCHEDS = "fcfs,edf,llf,sjf,rr,prema"
SCENARIO = dict(
    name="faults", load=0.9, requests=1000, warmup_fraction=0.1,
    tenants=[dict(name="a", slos=[dict(model="resnet50", deadline_x=4.0, target=0.9),
                                  dict(model="mobilenetv2", deadline_x=3.0, target=0.8)]),
             dict(name="b", slos=[dict(model="resnet18", deadline_x=3.0, target=0.95)])],
)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("faults")
    costs = write_small_costs(d / "costs.csv")
    scen = d / "scenario.yaml"
    scen.write_text(yaml.safe_dump(SCENARIO))
    return scen, costs


@pytest.fixture(scope="module")
def long_cell(inputs):
    """Requests for ~3 s per cell here (python core, timed once): long enough that a run stopped
    after its first cell still has most of its queue left, however fast the machine, and even when
    this process is starved for a second or two on a loaded machine (at ~1 s per cell a 2-core run
    under load 10 finished all six cells before the test's SIGINT arrived)."""
    import fairsched

    scen, costs = inputs
    t0 = time.perf_counter()
    fairsched.simulate(scheduler="llf", scenario=str(scen), costs=str(costs), requests=2000, seed=1, core="python")
    per_request = (time.perf_counter() - t0) / 2000
    return int(min(max(3.0 / per_request, 2000), 1_200_000))


@pytest.fixture(scope="module")
def long_cell_compiled(inputs):
    """The same for a sweep, which runs on the compiled core (~30x faster per request)."""
    import fairsched

    scen, costs = inputs
    fairsched.simulate(scheduler="llf", scenario=str(scen), costs=str(costs), requests=200, seed=1)  # load the kernel
    t0 = time.perf_counter()
    fairsched.simulate(scheduler="llf", scenario=str(scen), costs=str(costs), requests=20000, seed=1)
    per_request = (time.perf_counter() - t0) / 20000
    return int(min(max(3.0 / per_request, 20000), 3_000_000))


def _compare(out, inputs, n_req, jobs=2):
    scen, costs = inputs
    return ["compare", "--out", str(out), "--scenario", str(scen), "--costs", str(costs), "--schedulers", SCHEDS,
            "--requests", str(n_req), "--jobs", str(jobs), "--core", "python"]


def _sweep(tmp, out, inputs, n_req):
    scen, costs = inputs
    p = tmp / "sweep.yaml"
    p.write_text(yaml.safe_dump(dict(name="f", schedulers=SCHEDS.split(","), loads=[0.9], scenarios=[str(scen)],
                                     costs=str(costs), requests=n_req, seeds=1)))
    return ["sweep", str(p), "--out", str(out), "--jobs", "2", "--no-figures"]


def _cells(out: Path) -> list[Path]:
    return sorted((out / "cells").glob("*.json")) if (out / "cells").is_dir() else []


def _default_sigint() -> None:
    """In the child before exec: Ctrl-C as a terminal gives it. A disposition of SIG_IGN survives
    exec, and Python then never raises KeyboardInterrupt; the test process may have inherited one
    (another library or test in the same worker set it), which made these tests pass or fail by
    test order."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "fairsched", *args], env=cli_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True, preexec_fn=_default_sigint)


def _wait_first_cell(proc, out) -> list[psutil.Process]:
    """Wait until one cell is written; return the run's worker processes."""
    deadline = time.monotonic() + 240
    while not _cells(out) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, f"the run ended before it could be interrupted: {proc.stderr.read()}"
    kids = psutil.Process(proc.pid).children(recursive=True)
    assert kids, "expected pool workers"
    return kids


def _gone(procs, within_s=15.0) -> list[int]:
    """PIDs still alive (not zombies) after up to ``within_s`` (a generous bound, not a speed test)."""
    end = time.monotonic() + within_s
    alive = procs
    while alive and time.monotonic() < end:
        alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        time.sleep(0.1)
    return [p.pid for p in alive]


def _whole(cells: list[Path]) -> None:
    for p in cells:
        d = json.loads(p.read_text())
        assert isinstance(d, dict) and d["key"] in p.name and "summary" in d and d["tenants"], p


@pytest.mark.parametrize("command", ["compare", "sweep"])
def test_sigint_stops_the_queue_and_keeps_only_finished_cells(command, inputs, long_cell, long_cell_compiled, tmp_path):
    out = tmp_path / "out"
    args = (_compare(out, inputs, long_cell) if command == "compare"
            else _sweep(tmp_path, out, inputs, long_cell_compiled))
    proc = _start(args)
    try:
        workers = _wait_first_cell(proc, out)
        t0 = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole group
        proc.wait(timeout=60)
        stop_s = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    err = proc.stderr.read()
    print(f"{command}: stopped {stop_s:.2f} s after SIGINT")
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    assert _gone(workers) == [], "pool workers outlived the run"
    n = len(_cells(out))
    assert 1 <= n < len(SCHEDS.split(",")), "the queue was worked off after Ctrl-C"
    time.sleep(0.5)
    assert len(_cells(out)) == n, "cells were still being written after the run ended"
    _whole(_cells(out))
    assert not list(out.rglob("*.tmp")), "a temp file was left behind"
    assert not (out / "summary.csv").exists() and not (out / "summary.parquet").exists()


@pytest.mark.parametrize("command", ["compare", "sweep"])
def test_sigkill_of_the_main_process_takes_the_pool_with_it(command, inputs, long_cell, long_cell_compiled, tmp_path):
    out = tmp_path / "out"
    args = (_compare(out, inputs, long_cell) if command == "compare"
            else _sweep(tmp_path, out, inputs, long_cell_compiled))
    proc = _start(args)
    workers: list[psutil.Process] = []
    try:
        workers = _wait_first_cell(proc, out)
        proc.send_signal(signal.SIGKILL)  # the main process only
        proc.wait(timeout=30)
        stale = _gone(workers)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # clean up whatever is left, pass or fail
        proc.wait()
    assert stale == [], f"workers {stale} kept running after their parent was killed"
    _whole(_cells(out))


def test_second_run_into_a_locked_out_fails_clearly(inputs, tmp_path, capsys):
    import fcntl

    out = tmp_path / "out"
    out.mkdir()
    with open(out / ".fairsched.lock", "w") as f:  # as another run holds it: flock + its pid
        f.write("4242\n")
        f.flush()
        fcntl.flock(f, fcntl.LOCK_EX)
        with pytest.raises(SystemExit) as e:
            main(_compare(out, inputs, 50, jobs=1))
    err = capsys.readouterr().err
    assert e.value.code == 2 and len(err.strip().splitlines()) == 1
    assert "another fairsched run (pid 4242)" in err
    assert sorted(p.name for p in out.iterdir()) == [".fairsched.lock"]  # nothing else was written


HOLDER = r"""
import sys, time
from fairsched.io import output_folder
with output_folder(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(600)
"""


def test_two_concurrent_processes_into_one_out(inputs, tmp_path):
    """Another process holds --out (as a running compare or sweep does): the CLI fails at once."""
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], env=cli_env(), stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        r = subprocess.run([sys.executable, "-m", "fairsched", *_compare(out, inputs, 100)], env=cli_env(),
                           capture_output=True, text=True, timeout=120)
        sw = subprocess.run([sys.executable, "-m", "fairsched", *_sweep(tmp_path, out, inputs, 100)],
                            env=cli_env(), capture_output=True, text=True, timeout=120)
    finally:
        holder.kill()
        holder.wait()
    for res in (r, sw):
        assert res.returncode == 2, res.stderr
        assert res.stderr.count("\n") == 1 and "another fairsched run" in res.stderr and str(holder.pid) in res.stderr
    assert sorted(p.name for p in out.iterdir()) == [".fairsched.lock"]  # the holder's; nothing else written


DAMAGE = {"edf": b"\xff\xfe\x00garbage", "fcfs": b"null", "sjf": b"[1, 2]", "llf": b'{"key": "KEY"}'}


def test_damaged_cells_are_recomputed(inputs, tmp_path, capsys):
    """Not UTF-8, ``null``, a list, a record with the right key but no tables: each is recomputed and
    replaced (never trusted, never a crash); the intact cell is reused."""
    out = tmp_path / "out"
    args = _compare(out, inputs, 200, jobs=1)[:-2] + ["--schedulers", ",".join([*DAMAGE, "rr"])]
    with pytest.raises(SystemExit):
        main(args)
    capsys.readouterr()
    cells = {p.name.split("-")[0]: p for p in _cells(out)}
    good = {n: json.loads(cells[n].read_bytes()) for n in DAMAGE}
    for name, damage in DAMAGE.items():
        cells[name].write_bytes(damage.replace(b"KEY", good[name]["key"].encode()))
    rr_mtime = cells["rr"].stat().st_mtime_ns
    with pytest.raises(SystemExit) as e:
        main(args)
    err = capsys.readouterr().err
    assert e.value.code == 0, err
    for name in DAMAGE:
        assert json.loads(cells[name].read_bytes())["tenants"] == good[name]["tenants"], name
    assert cells["rr"].stat().st_mtime_ns == rr_mtime
    lines = {ln.split()[0]: ln for ln in err.splitlines() if ln.strip().split(" ")[0] in [*DAMAGE, "rr"]}
    assert "(cached)" in lines["rr"] and not any("(cached)" in lines[n] for n in DAMAGE), lines


def test_edited_trace_is_not_served_from_the_cache(inputs, tmp_path, capsys):
    scen, costs = inputs
    trace = tmp_path / "t.csv"
    trace.write_text("arrival_ms\n" + "\n".join(str(i * 2) for i in range(50)) + "\n")
    d = yaml.safe_load(scen.read_text())
    d["tenants"][1]["slos"][0]["arrival"] = dict(kind="trace", path="t.csv")
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(d))
    out = tmp_path / "out"
    args = ["compare", "--out", str(out), "--scenario", str(tmp_path / "s.yaml"), "--costs", str(costs),
            "--schedulers", "edf", "--requests", "300", "--jobs", "1"]
    with pytest.raises(SystemExit):
        main(args)
    capsys.readouterr()
    first = _cells(out)
    # same path, other content: bursts of 10 simultaneous arrivals
    trace.write_text("arrival_ms\n" + "\n".join(str((i // 10) * 20) for i in range(50)) + "\n")
    with pytest.raises(SystemExit) as e:
        main(args)
    err = capsys.readouterr().err
    assert e.value.code == 0, err
    assert "(cached)" not in err
    assert len(_cells(out)) == 2 and set(first) < set(_cells(out))


def test_failed_run_leaves_no_empty_cells_folder(inputs, tmp_path, capsys, monkeypatch):
    import fairsched.experiments.runner as runner

    def boom(*a, **k):
        raise ZeroDivisionError("simulated bug")

    monkeypatch.setattr(runner, "run_one", boom)
    out = tmp_path / "deep" / "out"
    with pytest.raises(SystemExit) as e:
        main(_compare(out, inputs, 50, jobs=1))
    assert e.value.code == 1
    capsys.readouterr()
    assert not (tmp_path / "deep").exists()


def test_sweep_without_seeds_runs_one_seed(inputs, tmp_path, capsys):
    scen, costs = inputs
    p = tmp_path / "s.yaml"
    p.write_text(f"name: s\nschedulers: [edf]\nloads: [0.5]\nscenarios: [{scen}]\ncosts: {costs}\nrequests: 50\n")
    with pytest.raises(SystemExit) as e:
        main(["sweep", str(p), "--out", str(tmp_path / "out"), "--jobs", "1", "--no-figures"])
    assert e.value.code == 0, capsys.readouterr().err
    import pandas as pd

    assert pd.read_parquet(tmp_path / "out" / "summary.parquet")["seed"].tolist() == [0]


def test_resume_warns_that_checkpoints_are_unpickled(tmp_path, capsys):
    import zipfile

    from fairsched.cli.train import _check_resume

    z = tmp_path / "ck.zip"
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("data", "{}")
    _check_resume(z)
    err = capsys.readouterr().err
    assert "warning:" in err and "unpickl" in err and "only resume from checkpoints you made" in err.lower()
