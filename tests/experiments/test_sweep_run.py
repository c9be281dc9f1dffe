"""Sweeps run, write Parquet tables and figures, and resume: a rerun computes only missing cells."""

from __future__ import annotations

import pandas as pd
import pytest

from fairsched.cli import main
from fairsched.experiments.sweep import CELL_COLUMNS, TIMING_COLUMNS, read_tables, run_sweep


def cli(*argv: str) -> None:
    """Run the command line; a successful command exits 0."""
    with pytest.raises(SystemExit) as e:
        main(list(argv))
    assert e.value.code in (0, None)


def _stable(df: pd.DataFrame) -> pd.DataFrame:
    """Drop the wall-clock columns: everything else is a deterministic function of the cell."""
    return df.drop(columns=[c for c in TIMING_COLUMNS if c in df.columns])


def test_sweep_tables_and_resume(sweep_file, tmp_path):
    path = sweep_file(scenarios=["mix.yaml", "random:5"], seeds=2)
    out = tmp_path / "out"
    first = run_sweep(path, out, jobs=1)
    n_cells = 2 * 2 * 2 * 2
    assert (first.computed, first.cached) == (n_cells, 0)
    summary, tenants, slos = read_tables(out)
    assert len(summary) == n_cells and summary["cell"].is_unique
    assert list(summary.columns[: len(CELL_COLUMNS)]) == CELL_COLUMNS
    assert set(summary["scenario"]) == {"mix.yaml", "random:5"} and set(summary["seed"]) == {0, 1}
    # one row per cell and tenant / SLO; every cell of the tiny mix has its 3 tenants and 4 SLOs
    mix_cells = summary[summary["scenario"] == "mix.yaml"]["cell"]
    assert (tenants[tenants["cell"].isin(mix_cells)].groupby("cell").size() == 3).all()
    assert (slos[slos["cell"].isin(mix_cells)].groupby("cell").size() == 4).all()
    assert set(tenants["cell"]) == set(summary["cell"]) == set(slos["cell"])
    assert summary["tenants_upheld"].between(0, 1).all()
    assert (out / "sweep.yaml").is_file()
    assert not list(out.rglob("*.tmp"))

    again = run_sweep(path, out, jobs=1)
    assert (again.computed, again.cached) == (0, n_cells)
    pd.testing.assert_frame_equal(again.summary, first.summary)

    victim = sorted((out / "cells").glob("*.json"))[3]
    victim.unlink()
    third = run_sweep(path, out, jobs=2)
    assert (third.computed, third.cached) == (1, n_cells - 1)
    assert victim.is_file()
    pd.testing.assert_frame_equal(_stable(third.summary), _stable(first.summary))
    pd.testing.assert_frame_equal(third.tenants, first.tenants)
    pd.testing.assert_frame_equal(third.slos, first.slos)

    # widening the grid computes only the new cells; the tables hold exactly the grid's cells
    wider = run_sweep(sweep_file(scenarios=["mix.yaml", "random:5"], seeds=3), out, jobs=1)
    assert (wider.computed, wider.cached) == (n_cells // 2, n_cells)
    narrower = run_sweep(sweep_file(scenarios=["mix.yaml"], seeds=1), out, jobs=1)
    assert (narrower.computed, len(narrower.summary)) == (0, 4)
    assert len(read_tables(out)[0]) == 4


def test_cli_sweep_then_plot_sweep(sweep_file, tmp_path, capsys):
    out = tmp_path / "out"
    cli("sweep", str(sweep_file(seeds=1)), "--out", str(out), "--jobs", "1")
    err = " ".join(capsys.readouterr().err.split())  # rich wraps lines at the terminal width
    assert "4 cells computed, 0 reused" in err
    figs = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert figs == ["fig2_slo_achievement_load0.6.png", "fig2_slo_achievement_load1.2.png",
                    "fig3_slo_margin_load0.6.png", "fig3_slo_margin_load1.2.png", "load_curve.png"]
    for p in (out / "figures").glob("*.png"):
        p.unlink()
    cli("plot-sweep", str(out))
    assert len(list((out / "figures").glob("*.png"))) == 5
    cli("sweep", str(sweep_file(seeds=1)), "--out", str(out), "--no-figures")
    assert "0 cells computed, 4 reused" in " ".join(capsys.readouterr().err.split())


def test_plot_sweep_on_empty_folder_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["plot-sweep", str(tmp_path)])
    assert e.value.code == 2
    assert "summary.parquet" in capsys.readouterr().err


def test_result_files_are_readable_by_others(tmp_path):
    """Atomic writes go through a temp file; the result keeps the usual permissions (not mkstemp's 0600)."""
    import os

    from fairsched.io import atomic_write_text, atomic_write_with

    atomic_write_text(tmp_path / "a.txt", "x")
    atomic_write_with(tmp_path / "b.parquet", lambda p: pd.DataFrame({"a": [1]}).to_parquet(p))
    mask = os.umask(0o022)
    os.umask(mask)
    for name in ("a.txt", "b.parquet"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~mask


def test_cell_keys_follow_the_code(sweep_file, monkeypatch):
    """A changed simulator/scheduler/policy file changes every key: stale cells are never reused."""
    from fairsched.experiments import cells
    from fairsched.experiments.sweep import expand, load_sweep

    grid = expand(*load_sweep(sweep_file()))
    before = [c.spec.key() for c in grid.cells]
    monkeypatch.setattr(cells, "code_fingerprint", lambda: "edited")
    after = [c.spec.key() for c in grid.cells]
    assert not set(before) & set(after)
