"""``fairsched sweep`` and ``fairsched plot-sweep``: resumable grids of cells, Parquet tables, figures."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from fairsched.cli._log import stderr_console
from fairsched.cli.plugins import import_option, load_imports
from fairsched.errors import InputError


def sweep_cmd(
    sweep: str = typer.Argument(..., help="sweep YAML (schedulers x loads x scenarios x platforms x seeds) "
                                          "or a shipped sweep's name, e.g. paper"),
    out: Path = typer.Option(..., "--out", help="output folder (created; a rerun computes only missing cells)"),
    backend: str = typer.Option("local", help="local (process pool) or ray (one task per cell)"),
    address: Optional[str] = typer.Option(None, help="Ray cluster address (with --backend ray; default: start Ray here)"),
    jobs: Optional[int] = typer.Option(None, min=1, help="parallel workers / Ray CPUs (default: all cores)"),
    figures: bool = typer.Option(True, "--figures/--no-figures", help="draw the figures when done"),
    imports: Optional[List[str]] = import_option(),
    costs: Optional[Path] = typer.Option(None, "--costs", help="cost table CSV for every cell (overrides the sweep's `costs`; default: the sweep's, else the shipped table)"),
) -> None:
    """Run a sweep: one cell per (scheduler, load, scenario, platform, seed); Parquet tables and figures.

    The sweep's `schedulers:` list may name trained policies as drl:POLICY_PATH and schedulers
    registered by --import files or installed plug-ins."""
    from fairsched.experiments.sweep import expand, load_sweep

    from fairsched.io import check_folder_target, output_folder
    from fairsched.validate import check_backend, check_run_flags

    load_imports(imports)
    check_backend(backend, address)

    check_run_flags(jobs=jobs)
    check_folder_target(out, "--out")
    if backend == "ray":
        from fairsched.experiments.runner import import_ray

        import_ray()  # fail before any work if the extra is missing
    cfg, base = load_sweep(sweep)
    if costs is not None:
        if not costs.is_file():
            raise InputError(f"--costs: '{costs}' does not exist; give the path of a cost table CSV")
        cfg = cfg.model_copy(update={"costs": str(costs.resolve())})
    grid = expand(cfg, base)
    with output_folder(out, "--out"):  # locked before the first line of output; see io.output_folder
        _run(grid, out, backend, address, jobs, figures)


def _run(grid, out: Path, backend: str, address: Optional[str], jobs: Optional[int], figures: bool) -> None:
    from fairsched.cli.compare import summary_table
    from fairsched.experiments.sweep import run_sweep, sweep_figures

    c = grid.config
    console = stderr_console()
    console.print(f"[bold]sweep '{c.name}'[/]: {len(grid.schedulers)} schedulers x {len(c.loads)} loads x "
                  f"{len(c.scenarios)} scenarios x {len(c.platforms)} platforms x {len(c.seeds)} seeds "
                  f"= {len(grid.cells)} cells; backend {backend}")
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=console, transient=False) as prog:
        task = prog.add_task("cells", total=len(grid.cells))
        cached = [0]

        def done(cell, data, was_cached):
            cached[0] += was_cached
            prog.update(task, advance=1, description=f"cells ({cached[0]} cached)" if cached[0] else "cells")

        res = run_sweep(grid, out, backend=backend, address=address, jobs=jobs, on_done=done)
    console.print(f"{res.computed} cells computed, {res.cached} reused from {out}/cells")
    mean = (res.summary.groupby(["scheduler", "load"], sort=False)
            .mean(numeric_only=True).reset_index())
    for load, g in mean.groupby("load", sort=True):
        Console(width=120).print(summary_table(g, f"load {load:g}: mean over {res.summary['scenario'].nunique()} "
                                                  f"mix(es) x {res.summary['seed'].nunique()} seed(s)"))
    written = ["summary.parquet", "tenants.parquet", "slos.parquet", "sweep.yaml"]
    if figures:
        paths = sweep_figures(out, res.summary, res.tenants)
        written.append(f"figures/ ({len(paths)} PNGs)")
    console.print(f"results in {out}/ ({', '.join(written)})")


def plot_sweep_cmd(
    out: Path = typer.Argument(..., help="the --out folder of a finished `fairsched sweep`"),
) -> None:
    """Draw a sweep's figures (load curve; Fig. 2 and Fig. 3 per load) from its Parquet tables."""
    from fairsched.experiments.sweep import sweep_figures

    paths = sweep_figures(out)
    stderr_console().print(f"{len(paths)} figures in {out}/figures/")


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep_cmd)
    app.command("plot-sweep")(plot_sweep_cmd)
