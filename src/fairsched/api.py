"""The public Python API: keyword-only functions returning data frames.

    import fairsched
    res = fairsched.simulate(scheduler="edf", load=0.8, seed=1)
    res.summary, res.tenants, res.slos
    cmp = fairsched.compare(schedulers=["edf", "sla-aware"], load=0.8)
    cmp.summary  # one row per scheduler
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd

from fairsched.costs.table import CostTable, load_cost_table
from fairsched.metrics import request_frame, slo_frame, summary, tenant_frame
from fairsched.platform.config import Platform, load_platform
from fairsched.schedulers.registry import available, make
from fairsched.sim.engine import SimConfig, Simulator
from fairsched.workload.scenario import ScenarioConfig, Workload, load_scenario, resolve

DEFAULT_SCHEDULERS = ("fcfs", "edf", "llf", "sjf", "rr", "prema", "affinity-edf", "sla-aware", "dbp")
TEACHER_SCHEDULERS = ("triage", "llf-masked")  # rule-based teachers of drl / relmas (schedulers/teachers.py)
#: rules found while bounding the learned schedulers' headroom that beat the classic baselines
#: (schedulers/teachers.py): rivals in every default table, so a learned policy is judged against them
FOUND_SCHEDULERS = ("sjf-feasible", "sjf-bytes", "triage-sjf")  # triage-sjf: rl/protect.py (the "how" search)


@dataclass
class SimResult:
    scheduler: str
    summary: dict
    slos: pd.DataFrame
    tenants: pd.DataFrame
    requests: pd.DataFrame | None
    sim: Simulator | None = None


@dataclass
class CompareResult:
    summary: pd.DataFrame
    tenants: pd.DataFrame
    slos: pd.DataFrame


def default_schedulers() -> list[str]:
    """Heuristic baselines, the learned policies' rule-based teachers and the installed learned policies."""
    names = list(DEFAULT_SCHEDULERS) + [n for n in FOUND_SCHEDULERS + TEACHER_SCHEDULERS if n in available()]
    names += [n for n in ("relmas", "drl") if n in available()]
    return names


def build(
    *,
    scenario: str | Path | dict | ScenarioConfig = "default",
    platform: str | Path | dict | Platform = "default",
    costs: str | Path | CostTable | None = None,
    load: float | None = None,
    requests: int | None = None,
) -> tuple[Platform, CostTable, Workload]:
    """Load and resolve platform, cost table and workload (all validated)."""
    plat = platform if isinstance(platform, Platform) else load_platform(platform)
    table = costs if isinstance(costs, CostTable) else load_cost_table(costs)
    cfg, base = load_scenario(scenario)
    wl = resolve(cfg, plat, table, load=load, requests=requests, base_dir=base)
    return plat, table, wl


def run_one(
    platform: Platform,
    costs: CostTable,
    workload: Workload,
    scheduler: str,
    *,
    seed: int = 0,
    log_requests: bool = False,
    keep_sim: bool = False,
    **sim_options,
) -> SimResult:
    sched = make(scheduler)
    if hasattr(sched, "check_platform"):  # learned policies: warn on accelerator types never trained on
        sched.check_platform(platform)
    # (m,k) metrics need each request's outcome in arrival order: keep the log when an SLO has (m,k)
    need_log = log_requests or any(s.mk for s in workload.slos)
    sim = Simulator(platform, costs, workload, SimConfig(seed=seed, log_requests=need_log, **sim_options))
    t0 = time.perf_counter()
    sim.run(sched)
    wall = time.perf_counter() - t0
    slos = slo_frame(sim)
    tenants = tenant_frame(slos)
    summ = dict(scheduler=scheduler, **summary(sim, slos, tenants), sim_wall_s=wall)
    slos.insert(0, "scheduler", scheduler)
    tenants.insert(0, "scheduler", scheduler)
    return SimResult(scheduler, summ, slos, tenants, request_frame(sim) if log_requests else None,
                     sim if keep_sim else None)


def simulate(
    *,
    scheduler: str = "edf",
    scenario: str | Path | dict | ScenarioConfig = "default",
    platform: str | Path | dict | Platform = "default",
    costs: str | Path | CostTable | None = None,
    load: float | None = None,
    requests: int | None = None,
    seed: int = 0,
    log_requests: bool = False,
    **sim_options,
) -> SimResult:
    """Run one scheduler on one scenario; returns summary dict and per-SLO/tenant frames."""
    plat, table, wl = build(scenario=scenario, platform=platform, costs=costs, load=load, requests=requests)
    return run_one(plat, table, wl, scheduler, seed=seed, log_requests=log_requests, **sim_options)


def compare(
    *,
    schedulers: Sequence[str] | None = None,
    scenario: str | Path | dict | ScenarioConfig = "default",
    platform: str | Path | dict | Platform = "default",
    costs: str | Path | CostTable | None = None,
    load: float | None = None,
    requests: int | None = None,
    seed: int = 0,
) -> CompareResult:
    """Run several schedulers on the same arrivals (same seed); one summary row per scheduler."""
    names = list(schedulers) if schedulers else default_schedulers()
    for n in names:
        make(n)  # fail fast on an unknown name
    plat, table, wl = build(scenario=scenario, platform=platform, costs=costs, load=load, requests=requests)
    results = [run_one(plat, table, wl, n, seed=seed) for n in names]
    return CompareResult(
        pd.DataFrame([r.summary for r in results]),
        pd.concat([r.tenants for r in results], ignore_index=True),
        pd.concat([r.slos for r in results], ignore_index=True),
    )
