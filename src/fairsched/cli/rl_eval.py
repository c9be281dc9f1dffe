"""``fairsched rl-eval``: the RL evaluation protocol (issue 13) as a resumable sweep, table and verdict."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from fairsched.cli._log import stderr_console
from fairsched.errors import InputError


def _floats(text: str, flag: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise InputError(f"{flag}: '{text}' is not a comma list of numbers; write e.g. 0.7,0.9,1.2") from None


def rl_eval_cmd(
    out: Optional[Path] = typer.Option(None, "--out", help="output folder (cells/, rl_eval.csv, table.txt, Parquet "
                                                           "tables); a rerun computes only the missing cells"),
    requests: int = typer.Option(4000, help="requests per run"),
    mixes: int = typer.Option(10, help="unseen tenant mixes k = first-mix .. first-mix+mixes-1"),
    first_mix: int = typer.Option(0, "--first-mix", help="first mix index k (seed UNSEEN_SEED_BASE + k)"),
    no_default: bool = typer.Option(False, "--no-default", help="leave out the default scenario"),
    loads: str = typer.Option("0.7,0.9,1.2", help="moderate,high,overload platform utilizations"),
    schedulers: Optional[str] = typer.Option(
        None, help="comma list: names, NAME:POLICY_PATH, policy:POLICY_PATH, `all` (default: every heuristic, "
                   "triage, llf-masked, relmas, drl) `constants` (the fixed-action cycle dispatchers) and `prototypes` (richer action spaces as constant rules)"),
    seed: int = typer.Option(0, help="first simulator seed"),
    seeds: int = typer.Option(3, help="simulator seeds per cell (the table shows the mean tenants upheld)"),
    platform: str = typer.Option("default", help="shipped platform name or YAML path"),
    costs: Optional[Path] = typer.Option(None, help="cost table CSV (default: the shipped table)"),
    backend: str = typer.Option("local", help="local (process pool) or ray (one task per cell)"),
    address: Optional[str] = typer.Option(None, help="Ray cluster address (with --backend ray)"),
    jobs: Optional[int] = typer.Option(None, min=1, help="parallel workers / Ray CPUs (default: all cores)"),
    from_csv: Optional[List[Path]] = typer.Option(
        None, "--from-csv", help="only print the table from long CSVs (rl_eval.csv of earlier runs); repeatable"),
) -> None:
    """The RL evaluation protocol: default scenario + unseen mixes x 3 loads x seeds, every scheduler.

    Prints tenants upheld per (scenario, load) and scheduler and whether `drl` wins (strictly more
    than every rival at high and overload load, no fewer at moderate). Cells are cached under
    OUT/cells: an interrupted run resumes where it stopped."""
    if from_csv:
        typer.echo(print_csvs(from_csv))
        return
    if out is None:
        raise InputError("--out: missing; give an output folder (e.g. --out out/rl_eval), or --from-csv FILE")
    run(out, requests=requests, mixes=mixes, first_mix=first_mix, base=not no_default,
        loads=_floats(loads, "--loads"), schedulers=schedulers.split(",") if schedulers else None, seed=seed,
        seeds=seeds, platform=platform, costs=str(costs) if costs else None, backend=backend, address=address,
        jobs=jobs)


def print_csvs(paths) -> str:
    import pandas as pd

    from fairsched.experiments.rl_eval import table_text

    for p in paths:
        if not Path(p).is_file():
            raise InputError(f"--from-csv: '{p}' does not exist; give a long CSV written by rl-eval (rl_eval.csv)")
    try:
        df = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
    except (ValueError, UnicodeDecodeError) as e:
        raise InputError(f"--from-csv: cannot read the CSV ({e}); give a long CSV written by rl-eval") from None
    missing = [c for c in ("scenario", "load", "scheduler", "tenants", "upheld") if c not in df]
    if missing:
        raise InputError(f"--from-csv: no column(s) {', '.join(missing)}; give a long CSV written by rl-eval")
    return table_text(df)


def run(out: Path, *, backend: str = "local", address: Optional[str] = None, jobs: Optional[int] = None,
        quiet: bool = False, **protocol):
    """Run (or resume) the protocol with a progress bar on stderr; print the table on stdout.
    Returns the long table."""
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    from fairsched.experiments.rl_eval import protocol_grid, run_protocol, table_text
    from fairsched.io import atomic_write_text, check_folder_target
    from fairsched.validate import check_backend, check_run_flags

    check_backend(backend, address)
    check_run_flags(jobs=jobs)
    check_folder_target(out, "--out")
    if backend == "ray":
        from fairsched.experiments.runner import import_ray

        import_ray()  # fail before any work if the extra is missing
    grid = protocol_grid(**protocol)  # every flag checked before the first line of output
    console = stderr_console()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=console, transient=False, disable=quiet) as prog:
        task = prog.add_task("cells", total=None)
        counts = [0, 0]  # computed, cached

        def start(grid):
            c = grid.config
            console.print(f"[bold]rl-eval[/]: {len(grid.schedulers)} schedulers x {len(c.scenarios)} scenarios x "
                          f"{len(c.loads)} loads x {len(c.seeds)} seeds = {len(grid.cells)} cells; backend {backend}")
            prog.update(task, total=len(grid.cells))

        def done(cell, data, was_cached):
            counts[was_cached] += 1
            prog.update(task, advance=1, description=f"cells ({counts[1]} cached)" if counts[1] else "cells")

        df, res = run_protocol(out, backend=backend, address=address, jobs=jobs, on_start=start, on_done=done, grid=grid)
    text = table_text(df)
    atomic_write_text(Path(out) / "table.txt", text + "\n")
    console.print(f"{res.computed} cells computed, {res.cached} reused from {out}/cells; "
                  f"results in {out}/ (rl_eval.csv, table.txt, summary/tenants/slos.parquet)")
    sys.stdout.write(text + "\n")
    return df


def register(app: typer.Typer) -> None:
    app.command("rl-eval")(rl_eval_cmd)
