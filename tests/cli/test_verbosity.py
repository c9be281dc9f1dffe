"""-q silences progress and status lines (stderr) but never results (stdout); -v adds info logs."""

from __future__ import annotations

import logging

import pytest

from fairsched.cli import main


def _run(args, capsys):
    with pytest.raises(SystemExit) as e:
        main(args)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def test_quiet_keeps_results_and_drops_chatter(tmp_path, capsys):
    args = ["compare", "--requests", "60", "--schedulers", "edf,fcfs", "--jobs", "1"]
    code, out, err = _run(args + ["--out", str(tmp_path / "a")], capsys)
    assert code == 0 and "simulating" in err and "edf" in out
    code, out, err = _run(["-q", *args, "--out", str(tmp_path / "b")], capsys)
    assert code == 0 and err == "" and "edf" in out  # the table is the result: still printed


def test_verbose_sets_the_fairsched_logger_level(capsys):
    assert _run(["-v", "schedulers"], capsys)[0] == 0
    assert logging.getLogger("fairsched").level == logging.INFO
    assert _run(["-q", "schedulers"], capsys)[0] == 0
    assert logging.getLogger("fairsched").level == logging.ERROR
    assert _run(["schedulers"], capsys)[0] == 0
    assert logging.getLogger("fairsched").level == logging.WARNING
