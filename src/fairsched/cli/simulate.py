"""``fairsched simulate``: one scheduler, one run; optional per-request log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from fairsched.errors import InputError


CORE_HELP = ("event loop: auto (compiled for the heuristics; else python), python (also times "
             "each decision) or compiled; same results")


def check_core(core: str, schedulers: list[str]) -> None:
    """``--core``: a known value, and ``compiled`` only for schedulers that have a compiled core."""
    from fairsched.schedulers.registry import scheduler_class
    from fairsched.sim.engine import CORES, compiled_refusal

    if core not in CORES:
        raise InputError(f"--core: unknown '{core}'; use one of {', '.join(CORES)}")
    for name in schedulers:
        why = compiled_refusal(scheduler_class(name)) if core == "compiled" else None
        if why is not None:
            raise InputError(f"--core: the compiled core cannot run {why}; use --core auto or --core python")


def simulate_cmd(
    scheduler: str = typer.Option("edf", help="scheduler name (see `fairsched schedulers`)"),
    scenario: str = typer.Option("default", help="shipped scenario name or YAML path"),
    platform: str = typer.Option("default", help="shipped platform name or YAML path"),
    load: Optional[float] = typer.Option(None, help="platform utilization (default: the scenario's)"),
    seed: int = typer.Option(0, help="random seed"),
    requests: Optional[int] = typer.Option(None, help="number of requests (default: the scenario's)"),
    costs: Optional[Path] = typer.Option(None, help="cost table CSV (default: the shipped table)"),
    log: Optional[Path] = typer.Option(None, help="write the per-request log to this CSV"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
    core: str = typer.Option("auto", help=CORE_HELP),
) -> None:
    """Run one scheduler and print its summary (and per-tenant table)."""
    from fairsched.api import simulate
    from fairsched.io import atomic_write_text
    from fairsched.schedulers.registry import make

    from fairsched.io import check_write_target
    from fairsched.validate import check_run_flags

    make(scheduler)
    check_core(core, [scheduler])
    check_run_flags(load=load, requests=requests, seed=seed)
    if log is not None:
        check_write_target(log, "--log")  # before the simulation, not after it
    res = simulate(scheduler=scheduler, scenario=scenario, platform=platform, costs=costs, load=load,
                   requests=requests, seed=seed, log_requests=log is not None, core=core)
    if log is not None:
        atomic_write_text(log, res.requests.to_csv(index=False))
    if as_json:
        typer.echo(json.dumps(res.summary, indent=2, default=float))
        return
    c = Console(width=120)
    s = res.summary
    c.print(f"[bold]{scheduler}[/]: tenants upheld {s['tenants_upheld']:.0%}, SLOs achieved {s['slos_achieved']:.0%}, "
            f"hit rate {s['hit_rate']:.3f}, Jain {s['jain']:.3f}, utilization {s['utilization']:.2f}, "
            f"{s['energy_mj_per_inference']:.3f} mJ/inference, {s['layer_events']} layer events in {s['sim_wall_s']:.2f} s")
    c.print(res.tenants.drop(columns=["scheduler"]).to_string(index=False))


def schedulers_cmd() -> None:
    """List the registered schedulers."""
    from fairsched.schedulers.registry import _REGISTRY, available

    for n in available():
        doc = (_REGISTRY[n].__module__ and (__import__(_REGISTRY[n].__module__, fromlist=["_"]).__doc__ or "")).strip()
        typer.echo(f"{n:<14} {doc.splitlines()[0] if doc else ''}")


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_cmd)
    app.command("schedulers")(schedulers_cmd)
