"""``fairsched simulate``: one scheduler, one run; optional per-request log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

from fairsched.cli.plugins import check_policies, import_option, load_imports, policy_name, policy_option
from fairsched.errors import InputError


CORE_HELP = ("how the one (compiled) event loop decides: auto (the scheduler's in-kernel rule; one without a rule, "
             "e.g. your own, decides in Python on it), python (always the scheduler's Python decide: each "
             "decision timed) or compiled (in-kernel rules only); same results")


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
    scheduler: str = typer.Option("edf", help="scheduler name (see `fairsched schedulers`), or drl:POLICY_PATH"),
    scenario: str = typer.Option("default", help="shipped scenario name or YAML path"),
    platform: str = typer.Option("default", help="shipped platform name or YAML path"),
    load: Optional[float] = typer.Option(None, help="platform utilization (default: the scenario's)"),
    seed: int = typer.Option(0, help="random seed"),
    requests: Optional[int] = typer.Option(None, help="number of requests (default: the scenario's)"),
    costs: Optional[Path] = typer.Option(None, help="cost table CSV (default: the shipped table)"),
    log: Optional[Path] = typer.Option(None, help="write the per-request log to this CSV"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
    core: str = typer.Option("auto", help=CORE_HELP),
    imports: Optional[List[str]] = import_option(),
    policy: Optional[str] = policy_option(),
    trace: Optional[Path] = typer.Option(None, "--trace", help="write a Chrome/Perfetto trace JSON: one track per "
                                         "sub-accelerator with layer spans, bandwidth and per-tenant hit-rate counters"),
    gantt: Optional[Path] = typer.Option(None, "--gantt", help="draw a Gantt chart PNG of a short window "
                                         "(--window-ms) with bandwidth and hit rate below"),
    window_ms: float = typer.Option(20.0, "--window-ms", help="length of the --gantt window (simulated ms)"),
    start_ms: Optional[float] = typer.Option(None, "--start-ms", help="start of the --gantt window "
                                             "(default: the first counted request's arrival)"),
) -> None:
    """Run one scheduler and print its summary (and per-tenant table)."""
    from fairsched.api import simulate
    from fairsched.io import atomic_write_text
    from fairsched.schedulers.registry import make

    from fairsched.io import check_write_target
    from fairsched.validate import check_run_flags

    load_imports(imports)
    if policy is not None:
        scheduler = policy_name(policy)
    make(scheduler)
    check_policies([scheduler])
    check_core(core, [scheduler])
    check_run_flags(load=load, requests=requests, seed=seed)
    if log is not None:
        check_write_target(log, "--log")  # before the simulation, not after it
    timeline = trace is not None or gantt is not None
    if not window_ms > 0:
        raise InputError(f"--window-ms: must be > 0, got {window_ms}")
    if start_ms is not None and start_ms < 0:
        raise InputError(f"--start-ms: must be >= 0, got {start_ms}")
    for target, flag in ((trace, "--trace"), (gantt, "--gantt")):
        if target is not None:
            check_write_target(target, flag)
    extra = dict(trace_layers=True, keep_sim=True) if timeline else {}
    res = simulate(scheduler=scheduler, scenario=scenario, platform=platform, costs=costs, load=load,
                   requests=requests, seed=seed, log_requests=log is not None or timeline, core=core, **extra)
    if timeline:
        from fairsched.timeline import gantt as draw_gantt
        from fairsched.timeline import write_chrome_trace

        if trace is not None:
            write_chrome_trace(res.sim, trace, scheduler=scheduler)
        if gantt is not None:
            draw_gantt(res.sim, gantt, start_ms=start_ms, window_ms=window_ms, scheduler=scheduler)
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


def schedulers_cmd(imports: Optional[List[str]] = import_option()) -> None:
    """List the registered schedulers (built-in, installed plug-ins, and --import files)."""
    from fairsched.schedulers.registry import _REGISTRY, available

    load_imports(imports)
    for n in available():
        doc = (_REGISTRY[n].__module__ and (__import__(_REGISTRY[n].__module__, fromlist=["_"]).__doc__ or "")).strip()
        typer.echo(f"{n:<14} {doc.splitlines()[0] if doc else ''}")


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate_cmd)
    app.command("schedulers")(schedulers_cmd)
