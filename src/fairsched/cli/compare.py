"""``fairsched compare``: run schedulers side by side on the same arrivals; tables and figures."""

from __future__ import annotations

import json  # noqa: F401 - kept for the summary writers that may use it
from pathlib import Path
from typing import List, Optional

import numpy as np
import pandas as pd
import typer
import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fairsched.cli.simulate import CORE_HELP, check_core
from fairsched.cli._log import stderr_console
from fairsched.cli.plugins import POLICY_HELP, check_policies, import_option, load_imports, policy_name
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
    if "mk_slos" in summary and (summary["mk_slos"] > 0).any():
        cols.insert(3, ("mk_violations", "(m,k) viol.", "{:.0f}"))
    for _, name, _f in cols:
        t.add_column(name, justify="right" if name != "scheduler" else "left")
    for _, r in summary.iterrows():
        t.add_row(*[_cell(r[c], f) for c, _, f in cols])
    notes = ["load: offered work at platform-average isolated latency per sub-accelerator; util.: measured "
             "busy fraction (placement on faster types and drops make it differ)"]
    if summary["decision_us_p50"].isna().any():
        notes.append("dec. us: '-' = in-kernel rule, decisions not timed (--core python times them)")
    t.caption = "\n".join(notes)
    return t


def _cell(v, fmt: str) -> str:
    return "-" if isinstance(v, float) and np.isnan(v) else fmt.format(v)


UPHELD_HELP = ("how a tenant's SLA counts as upheld: rate (every SLO's hit rate >= its target; the "
               "default), mk (every (m,k) SLO without a violating window; others by rate) or both")


def parse_loads(text: str) -> list[float]:
    try:
        loads = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError(f"--loads: '{text}' is not a list of numbers; write e.g. --loads 0.7,0.9,1.2") from None
    bad = [x for x in loads if not (0 < x <= 10)]
    if not loads or bad:
        raise InputError(f"--loads: each load must be in (0, 10] (platform utilization), e.g. 0.7,0.9,1.2; got {text!r}")
    if len(set(loads)) != len(loads):
        raise InputError(f"--loads: list each load once; got {text!r}")
    return loads


def verdict(summary: pd.DataFrame, n_tenants: int, load: float) -> str:
    """One line: who upholds most tenants at this load, by how many, over whom."""
    n = {r["scheduler"]: int(round(r["tenants_upheld"] * n_tenants)) for _, r in summary.iterrows()}
    ranked = sorted(n.items(), key=lambda kv: -kv[1])  # stable: ties keep the scheduler order
    best = ranked[0][1]
    top = [k for k, v in ranked if v == best]
    rest = [(k, v) for k, v in ranked if v < best]
    head = f"load {load:g}: "
    if not rest:
        return head + f"all {len(top)} schedulers uphold {best}/{n_tenants} tenants: no difference at this load"
    who = top[0] + " upholds" if len(top) == 1 else ", ".join(top) + " uphold"
    gap = best - rest[0][1]
    return (head + f"{who} the most tenants ({best}/{n_tenants}{' each' if len(top) > 1 else ''}), "
            f"{gap} more than {rest[0][0]} ({rest[0][1]}); over "
            + ", ".join(f"{k} {v}" for k, v in rest))


def compare_cmd(
    out: Path = typer.Option(..., "--out", help="output folder (created; reruns reuse finished cells)"),
    scenario: str = typer.Option("default", help="shipped scenario name or YAML path"),
    platform: str = typer.Option("default", help="shipped platform name or YAML path"),
    schedulers: Optional[str] = typer.Option(None, help="comma-separated names (default: all); drl:POLICY_PATH "
                                                       "runs a trained policy"),
    load: Optional[float] = typer.Option(None, help="platform utilization (default: the scenario's)"),
    loads: Optional[str] = typer.Option(None, help="a short load sweep, e.g. 0.7,0.9,1.2: one subfolder per "
                                                    "load, a load-curve figure and one verdict line per load"),
    seed: int = typer.Option(0, help="random seed (same seed, same arrivals for every scheduler)"),
    requests: Optional[int] = typer.Option(None, help="number of requests (default: the scenario's)"),
    costs: Optional[Path] = typer.Option(None, help="cost table CSV (default: the shipped table)"),
    quick: bool = typer.Option(False, "--quick", help=f"{QUICK_REQUESTS} requests: a result in under a minute"),
    jobs: Optional[int] = typer.Option(None, min=1, help="parallel worker processes (default: all cores)"),
    core: str = typer.Option("auto", help=CORE_HELP),
    imports: Optional[List[str]] = import_option(),
    policy: Optional[List[str]] = typer.Option(None, "--policy", metavar="PATH",
                                               help="also run this trained policy (repeatable); " + POLICY_HELP),
    upheld_by: str = typer.Option("rate", "--upheld-by", help=UPHELD_HELP),
) -> None:
    """Compare schedulers on one scenario: summary table, per-tenant CSVs, Fig. 2 and Fig. 3
    (with --loads: per load, plus a load curve and one verdict line per load)."""
    from fairsched.api import build
    from fairsched.experiments.cells import CellSpec, costs_fingerprint, platform_fingerprint
    from fairsched.metrics import UPHELD_BY
    from fairsched.workload.scenario import load_scenario

    check_run_flags(load=load, requests=requests, seed=seed, jobs=jobs)
    if load is not None and loads is not None:
        raise InputError("--loads: give either --load (one load) or --loads (a load sweep), not both")
    if upheld_by not in UPHELD_BY:
        raise InputError(f"--upheld-by: '{upheld_by}' is unknown; use one of {', '.join(UPHELD_BY)}")
    load_list = parse_loads(loads) if loads is not None else [load]
    check_folder_target(out, "--out")  # fail now, not after the simulations
    load_imports(imports)
    names = parse_schedulers(schedulers)
    names += [n for n in (policy_name(p) for p in policy or []) if n not in names]
    check_policies(names)
    check_core(core, names)
    if quick and requests is None:
        requests = QUICK_REQUESTS
    cfg, _ = load_scenario(scenario)
    runs = []  # (workload, out folder, specs)
    for ld in load_list:
        plat, table, wl = build(scenario=scenario, platform=platform, costs=costs, load=ld, requests=requests)
        specs = [CellSpec(n, cfg.model_dump(), platform_fingerprint(plat), costs_fingerprint(table), wl.load,
                          wl.requests, seed, wl.inputs) for n in names]
        runs.append((wl, out if loads is None else out / f"load{wl.load:g}", specs))
    with output_folder(out, "--out"):  # locked; a failed run removes what it created
        _run_and_write(out, runs, plat, table, cfg, names, scenario, platform, costs, seed, jobs, core, loads,
                       upheld_by)


def _run_and_write(out, runs, plat, table, cfg, names, scenario, platform, costs, seed, jobs, core, loads,
                   upheld_by) -> None:
    from fairsched.experiments.runner import run_cells

    console = stderr_console()
    wl0 = runs[0][0]
    console.print(f"[bold]{plat.describe()}[/]; scenario '{wl0.name}': {len(wl0.tenants)} tenants, "
                  f"{len(wl0.slos)} SLOs, load {', '.join(f'{r[0].load:g}' for r in runs)}, {wl0.requests} "
                  f"requests, seed {seed}")
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as prog:
        task = prog.add_task("simulating", total=len(names) * len(runs))

        def done(spec, cell, cached):
            prog.advance(task)
            prog.console.print(f"  {spec.scheduler:<13} load {spec.load:<4g} {'(cached)' if cached else 'done'}: "
                               f"tenants upheld {cell['summary'][_col('tenants_upheld', upheld_by)]:.0%}")

        jobs_in = [(s, plat, table, wl) for wl, _o, specs in runs for s in specs]
        cells = run_cells(jobs_in, out / "cells", jobs=jobs, on_done=done, core=core)
    lines, summaries = [], []
    for i, (wl, folder, _specs) in enumerate(runs):
        part = cells[i * len(names):(i + 1) * len(names)]
        summary = _write_load(part, folder, scenario, platform, names, wl, seed, costs, cfg, plat, upheld_by)
        summaries.append(summary.assign(load=wl.load, scenario=wl.name))
        if loads is not None:
            lines.append(verdict(summary, len(wl.tenants), wl.load))
    if loads is None:
        console.print(f"results in {out}/ (summary.csv, tenants.csv, slos.csv, fig2_slo_achievement.png, "
                      f"fig3_slo_margin.png, config.yaml)")
        return
    from fairsched.plots import fig_load_curve

    allsum = pd.concat(summaries, ignore_index=True)
    atomic_write_text(out / "summary_loads.csv", allsum.to_csv(index=False))
    judged = "" if upheld_by == "rate" else f", judged by {upheld_by}"
    fig_load_curve(allsum, out / "load_curve.png",
                   f"Tenants with SLA upheld vs load ({wl0.name}, seed {seed}, {wl0.requests} requests{judged})")
    atomic_write_text(out / "verdict.txt", "\n".join(lines) + "\n")
    Console(width=200, highlight=False).print("\n".join(["verdict (tenants with SLA upheld, of "
                                                          f"{len(wl0.tenants)}{judged}):"] + lines))
    console.print(f"results in {out}/ (one folder per load: load<L>/; summary_loads.csv, load_curve.png, verdict.txt)")


def _col(c: str, by: str) -> str:
    return c if by == "rate" else f"{c}_{by}"


def _write_load(cells, out: Path, scenario, platform, names, wl, seed, costs, cfg, plat, upheld_by) -> pd.DataFrame:
    """Tables, config snapshot, Fig. 2 / Fig. 3 and the printed table of one load."""
    from fairsched.metrics import judge, judge_summary
    from fairsched.plots import fig2_slo_achievement, fig3_slo_margin

    summary = judge_summary(pd.DataFrame([c["summary"] for c in cells]), upheld_by)
    tenants, slos = judge(pd.DataFrame([r for c in cells for r in c["tenants"]]), upheld_by,
                          pd.DataFrame([r for c in cells for r in c["slos"]]))
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "summary.csv", summary.to_csv(index=False))
    atomic_write_text(out / "tenants.csv", tenants.to_csv(index=False))
    atomic_write_text(out / "slos.csv", slos.to_csv(index=False))
    snapshot = dict(
        command=dict(scenario=scenario, platform=platform, schedulers=names, load=wl.load, seed=seed,
                     requests=wl.requests, costs=str(costs) if costs else "shipped", upheld_by=upheld_by),
        scenario=cfg.model_dump(mode="json"),
        platform=dict(name=plat.name, dram_bandwidth_gbps=plat.bandwidth / 1e9,
                      sub_accelerators=[dict(type=s.type, clock_mhz=s.clock_hz / 1e6) for s in plat.subs]),
        resolved_slos=[dict(tenant=s.tenant_name, model=s.model, deadline_ms=s.deadline * 1e3, target=s.target,
                            rate_per_s=s.rate, **({"mk": list(s.mk)} if s.mk else {})) for s in wl.slos],
    )
    atomic_write_text(out / "config.yaml", yaml.safe_dump(snapshot, sort_keys=False))
    title = f"{wl.name} @ load {wl.load:g}"
    fig2_slo_achievement(tenants, out / "fig2_slo_achievement.png", f"Fig. 2: SLO achievement across tenants ({title})",
                         slos=slos)
    fig3_slo_margin(tenants, out / "fig3_slo_margin.png", f"Fig. 3: per-tenant SLO margin ({title})", by=upheld_by)
    Console(width=120).print(summary_table(summary, f"{title}: {len(wl.tenants)} tenants"))
    return summary


def register(app: typer.Typer) -> None:
    app.command("compare")(compare_cmd)
