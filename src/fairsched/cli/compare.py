"""``fairsched compare``: run schedulers side by side on the same arrivals; tables and figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
import typer
import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fairsched.cli.simulate import CORE_HELP, check_core
from fairsched.errors import InputError
from fairsched.io import atomic_write_text, check_folder_target, output_folder
from fairsched.validate import check_run_flags

QUICK_REQUESTS = 3000


def parse_schedulers(text: str | None) -> list[str]:
    from fairsched.api import default_schedulers
    from fairsched.schedulers.registry import unknown

    if not text:
        return default_schedulers()
    names = [s.strip() for s in text.split(",") if s.strip()]
    if not names:
        raise InputError("--schedulers: empty list; give names separated by commas, e.g. edf,sla-aware")
    bad, known = unknown(names)
    if bad:
        raise InputError(f"--schedulers: unknown {bad}; use any of {', '.join(known)}")
    return list(dict.fromkeys(names))


def summary_table(summary: pd.DataFrame, title: str) -> Table:
    t = Table(title=title)
    cols = [("scheduler", "scheduler", "{}"), ("tenants_upheld", "tenants upheld", "{:.0%}"),
            ("slos_achieved", "SLOs achieved", "{:.0%}"), ("hit_rate", "hit rate", "{:.3f}"),
            ("jain", "Jain", "{:.3f}"), ("utilization", "util.", "{:.2f}"),
            ("energy_mj_per_inference", "mJ/inf", "{:.3f}"), ("decision_us_p50", "dec. us p50", "{:.1f}")]
    for _, name, _f in cols:
        t.add_column(name, justify="right" if name != "scheduler" else "left")
    for _, r in summary.iterrows():
        t.add_row(*[_cell(r[c], f) for c, _, f in cols])
    if summary["decision_us_p50"].isna().any():
        t.caption = "dec. us: '-' = compiled core, decisions not timed (--core python times them)"
    return t


def _cell(v, fmt: str) -> str:
    return "-" if isinstance(v, float) and np.isnan(v) else fmt.format(v)


def compare_cmd(
    out: Path = typer.Option(..., "--out", help="output folder (created; reruns reuse finished cells)"),
    scenario: str = typer.Option("default", help="shipped scenario name or YAML path"),
    platform: str = typer.Option("default", help="shipped platform name or YAML path"),
    schedulers: Optional[str] = typer.Option(None, help="comma-separated names (default: all)"),
    load: Optional[float] = typer.Option(None, help="platform utilization (default: the scenario's)"),
    seed: int = typer.Option(0, help="random seed (same seed, same arrivals for every scheduler)"),
    requests: Optional[int] = typer.Option(None, help="number of requests (default: the scenario's)"),
    costs: Optional[Path] = typer.Option(None, help="cost table CSV (default: the shipped table)"),
    quick: bool = typer.Option(False, "--quick", help=f"{QUICK_REQUESTS} requests: a result in under a minute"),
    jobs: Optional[int] = typer.Option(None, min=1, help="parallel worker processes (default: all cores)"),
    core: str = typer.Option("auto", help=CORE_HELP),
) -> None:
    """Compare schedulers on one scenario: summary table, per-tenant CSVs, Fig. 2 and Fig. 3."""
    from fairsched.api import build
    from fairsched.experiments.cells import CellSpec, costs_fingerprint, platform_fingerprint
    from fairsched.workload.scenario import load_scenario

    check_run_flags(load=load, requests=requests, seed=seed, jobs=jobs)
    check_folder_target(out, "--out")  # fail now, not after the simulations
    names = parse_schedulers(schedulers)
    check_core(core, names)
    if quick and requests is None:
        requests = QUICK_REQUESTS
    plat, table, wl = build(scenario=scenario, platform=platform, costs=costs, load=load, requests=requests)
    cfg, _ = load_scenario(scenario)
    specs = [
        CellSpec(n, cfg.model_dump(), platform_fingerprint(plat), costs_fingerprint(table), wl.load, wl.requests, seed,
                 wl.inputs)
        for n in names
    ]
    with output_folder(out, "--out"):  # locked; a failed run removes what it created
        _run_and_write(out, specs, plat, table, wl, cfg, names, scenario, platform, costs, seed, jobs, core)


def _run_and_write(out, specs, plat, table, wl, cfg, names, scenario, platform, costs, seed, jobs, core) -> None:
    from fairsched.experiments.runner import run_cells
    from fairsched.plots import fig2_slo_achievement, fig3_slo_margin

    console = Console(stderr=True)
    console.print(f"[bold]{plat.describe()}[/]; scenario '{wl.name}': {len(wl.tenants)} tenants, "
                  f"{len(wl.slos)} SLOs, load {wl.load:g}, {wl.requests} requests, seed {seed}")
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as prog:
        task = prog.add_task("simulating", total=len(specs))

        def done(spec, cell, cached):
            prog.advance(task)
            prog.console.print(f"  {spec.scheduler:<13} {'(cached)' if cached else 'done'}: "
                               f"tenants upheld {cell['summary']['tenants_upheld']:.0%}")

        cells = run_cells([(s, plat, table, wl) for s in specs], out / "cells", jobs=jobs, on_done=done, core=core)
    summary = pd.DataFrame([c["summary"] for c in cells])
    tenants = pd.DataFrame([r for c in cells for r in c["tenants"]])
    slos = pd.DataFrame([r for c in cells for r in c["slos"]])
    atomic_write_text(out / "summary.csv", summary.to_csv(index=False))
    atomic_write_text(out / "tenants.csv", tenants.to_csv(index=False))
    atomic_write_text(out / "slos.csv", slos.to_csv(index=False))
    snapshot = dict(
        command=dict(scenario=scenario, platform=platform, schedulers=names, load=wl.load, seed=seed,
                     requests=wl.requests, costs=str(costs) if costs else "shipped"),
        scenario=cfg.model_dump(mode="json"),
        platform=dict(name=plat.name, dram_bandwidth_gbps=plat.bandwidth / 1e9,
                      sub_accelerators=[dict(type=s.type, clock_mhz=s.clock_hz / 1e6) for s in plat.subs]),
        resolved_slos=[dict(tenant=s.tenant_name, model=s.model, deadline_ms=s.deadline * 1e3, target=s.target,
                            rate_per_s=s.rate) for s in wl.slos],
    )
    atomic_write_text(out / "config.yaml", yaml.safe_dump(snapshot, sort_keys=False))
    title = f"{wl.name} @ load {wl.load:g}"
    fig2_slo_achievement(tenants, out / "fig2_slo_achievement.png", f"Fig. 2: SLO achievement across tenants ({title})")
    fig3_slo_margin(tenants, out / "fig3_slo_margin.png", f"Fig. 3: actual - target SLO achievement ({title})")
    Console(width=120).print(summary_table(summary, f"{title}: {len(wl.tenants)} tenants"))
    console.print(f"results in {out}/ (summary.csv, tenants.csv, slos.csv, fig2_slo_achievement.png, "
                  f"fig3_slo_margin.png, config.yaml)")


def register(app: typer.Typer) -> None:
    app.command("compare")(compare_cmd)
