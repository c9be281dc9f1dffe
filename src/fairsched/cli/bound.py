"""``fairsched bound``: the clairvoyant CP-SAT bound on a small instance and every scheduler's gap."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from fairsched.bound import DEFAULT_REQUESTS
from fairsched.errors import InputError


def bound_cmd(
    scenario: str = typer.Option("default", help="shipped scenario name or YAML path"),
    platform: str = typer.Option("default", help="shipped platform name or YAML path"),
    costs: Optional[Path] = typer.Option(None, help="cost table CSV (default: the shipped table)"),
    requests: int = typer.Option(DEFAULT_REQUESTS, help="requests in the instance (keep it small: tens)"),
    seed: int = typer.Option(0, help="seed of the arrivals (and of the solver)"),
    load: Optional[float] = typer.Option(None, help="platform utilization (default: the scenario's)"),
    schedulers: Optional[str] = typer.Option(None, help="comma-separated names (default: all baselines and installed policies)"),
    time_limit: float = typer.Option(60.0, help="CP-SAT time limit per solve, seconds"),
    workers: int = typer.Option(1, help="CP-SAT worker threads"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="also write the result to this JSON file"),
) -> None:
    """Most hits any schedule can get on a small instance with all arrivals known (CP-SAT), and each
    scheduler's gap to it on the same arrivals. Bandwidth contention is ignored (solo layer times),
    so the bound is an upper bound; see docs/performance.md."""
    from fairsched.bound import run_bound
    from fairsched.io import atomic_write_text

    if requests < 1 or requests > 500:
        raise InputError(f"--requests: must be 1..500 (the model grows with requests x layers), got {requests}")
    if workers < 1:
        raise InputError(f"--workers: must be >= 1, got {workers}")
    from fairsched.validate import check_float, check_run_flags

    check_float("--time-limit", time_limit, 0, 86_400, lo_open=True, hint="seconds per solve")
    check_run_flags(load=load, seed=seed)
    if json_out is not None:
        from fairsched.io import check_write_target

        check_write_target(json_out, "--json")  # before the solve, not after it
    names = [s.strip() for s in schedulers.split(",") if s.strip()] if schedulers else None
    r = run_bound(scenario=scenario, platform=platform, costs=costs, load=load, requests=requests, seed=seed,
                  schedulers=names, time_limit_s=time_limit, workers=workers)
    proven = "optimal" if r.optimal else "time limit hit: proven bound, not tight"
    typer.echo(f"instance: {r.requests} requests, {r.tenants} tenants, seed {seed}")
    typer.echo(f"bound: at most {r.hits_bound} hits ({proven}); at most {r.upheld_bound} tenants upheld; "
               f"{r.upheld_at_max_hits} tenants upheld in the best max-hit schedule")
    typer.echo(r.schedulers.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if json_out is not None:
        out = dict(requests=r.requests, tenants=r.tenants, seed=seed, hits_bound=r.hits_bound,
                   upheld_bound=r.upheld_bound, upheld_at_max_hits=r.upheld_at_max_hits, optimal=r.optimal,
                   solves=[dict(objective=s.objective, status=s.status, hits=s.hits, upheld=s.upheld,
                                wall_s=s.wall_s) for s in r.solves],
                   schedulers=r.schedulers.to_dict(orient="records"), arrivals=r.arrivals)
        atomic_write_text(json_out, json.dumps(out, indent=2, default=float) + "\n")
        typer.echo(f"wrote {json_out}")


def register(app: typer.Typer) -> None:
    app.command("bound")(bound_cmd)
