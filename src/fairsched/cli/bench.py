"""``fairsched bench``: simulator speed (every scheduler, platform and tenant scaling), SimPy speed-up,
env steps, decision latency, peak memory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from fairsched.errors import InputError


def bench_cmd(
    json_out: Optional[Path] = typer.Option(None, "--json", help="also write the figures to this JSON file"),
    quick: bool = typer.Option(False, help="small sizes, one repetition (about a minute)"),
    scenario: str = typer.Option("default", help="shipped scenario name or YAML path"),
    platform: str = typer.Option("default", help="shipped platform name or YAML path"),
    costs: Optional[Path] = typer.Option(None, help="cost table CSV (default: the shipped table)"),
    requests: Optional[int] = typer.Option(None, help="requests for the throughput runs (default 10000; quick 2000)"),
    rss_small: Optional[int] = typer.Option(None, help="requests of the small peak-RSS run (default 10^4)"),
    rss_large: Optional[int] = typer.Option(
        None, help="requests of the large peak-RSS run (default 10^6; quick 3*10^4; 10^7 runs in a minute or two)"),
    scaling: bool = typer.Option(True, help="also every registered scheduler, platform-size and tenant-count scaling"),
) -> None:
    """Measure, in one run and side by side, the figures of docs/performance.md."""
    from fairsched.bench import format_table, run_bench
    from fairsched.io import atomic_write_text

    for name, v in (("--requests", requests), ("--rss-small", rss_small), ("--rss-large", rss_large)):
        if v is not None and v < 1:
            raise InputError(f"{name}: must be >= 1, got {v}")
    if json_out is not None:
        from fairsched.io import check_write_target

        check_write_target(json_out, "--json")  # before the benchmark, not after it
    rss = None
    if rss_small is not None or rss_large is not None:
        rss = (rss_small or 10_000, rss_large or (30_000 if quick else 1_000_000))
    res = run_bench(scenario=scenario, platform=platform, costs=costs, quick=quick, requests=requests,
                    rss_requests=rss, scaling=scaling, log=lambda s: typer.echo(s, err=True))
    typer.echo(format_table(res))
    m = res["machine"]
    typer.echo(f"\nmachine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, numpy {m['numpy']}, "
               f"1-min load {m['loadavg']:.1f} at start")
    if json_out is not None:
        atomic_write_text(json_out, json.dumps(res, indent=2, default=float) + "\n")
        typer.echo(f"wrote {json_out}")


def register(app: typer.Typer) -> None:
    app.command("bench")(bench_cmd)
