"""The learned schedulers' acceptance table: tenants upheld per scheduler, scenario and load.

    python -m fairsched.rl.evaluate --requests 4000 --mixes 10 --seeds 3 --jobs 2 --out results/rl_eval.csv

With ``--seeds N`` every cell is run with simulator seeds ``seed .. seed+N-1`` (different arrivals)
and the table shows the mean number of tenants upheld; the verdict compares those means.

Scenarios: the shipped ``default`` and ``--mixes`` random tenant mixes
(:func:`fairsched.workload.generator.random_scenario`) with seeds ``UNSEEN_SEED_BASE + k`` -- a range the
training never draws from (training draws seeds below ``2**31``). Loads (platform utilization):
moderate 0.7, high 0.9, overload 1.2 (``--loads``). Every scheduler of a cell sees the same arrivals
(same simulator seed). Printed: one row per (scenario, load) with the number of tenants upheld per
scheduler, and whether ``drl`` wins (strictly more than every heuristic and ``relmas`` at high and
overload, no fewer at moderate), then per scenario whether it wins at every load: the acceptance rule asks for
the default scenario and at least 5 unseen mixes; every evaluated mix is counted and the failed ones
are named (the protocol evaluates 10). The rivals include the learned policies' rule-based teachers,
``triage`` and ``llf-masked`` (registered heuristics since 2026-12; older CSVs call the triage
column ``teacher``, read as ``triage``). numpy only (no torch).
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from fairsched.api import DEFAULT_SCHEDULERS, TEACHER_SCHEDULERS

LOADS = {"moderate": 0.7, "high": 0.9, "overload": 1.2}
REFERENCE = ()  # the teachers are registered schedulers now (triage, llf-masked): rivals, not references
HEURISTICS = (*DEFAULT_SCHEDULERS, *TEACHER_SCHEDULERS)


def _cell(args):
    scen_name, cfg, load, sched, requests, seed, costs, platform = args
    from fairsched.api import build, run_one
    from fairsched.schedulers import registry

    if sched.startswith("policy:"):  # an exported policy that is not shipped: policy:PATH_STEM
        from fairsched.rl.cycle import scheduler_for_path  # a cycle policy or a per-layer one

        registry._load()
        registry._REGISTRY.setdefault(sched, lambda path=sched[len("policy:"):]: scheduler_for_path(path))
    if sched == "teacher":  # the old name of the triage column
        sched = "triage"
    plat, table, wl = build(scenario=cfg, platform=platform, costs=costs, load=load, requests=requests)
    r = run_one(plat, table, wl, sched, seed=seed)
    if sched.startswith("policy:"):
        sched = Path(sched).name
    return dict(scenario=scen_name, load=load, scheduler=sched, seed=seed, tenants=len(r.tenants),
                upheld=int(r.tenants["upheld"].sum()), slos_achieved=r.summary["slos_achieved"],
                hit_rate=r.summary["hit_rate"], decision_us_p50=r.summary["decision_us_p50"],
                decision_us_p99=r.summary["decision_us_p99"])


#: Training-range tenant mixes (seeds below ``2**31``, so never the acceptance mixes) plus the default
#: scenario: the teacher's ``theta`` was tuned on them and training picks its checkpoint on them.
VALIDATION_MIX_SEEDS = (100, 101, 102, 103)
VALIDATION_LOADS = (0.9, 1.2)


def _base() -> tuple[dict, list[str]]:
    """The default scenario (as a dict) and the models its tenants use (random mixes draw from them)."""
    from fairsched.workload.scenario import load_scenario

    cfg, _ = load_scenario("default")
    return cfg.model_dump(), sorted({s.model for t in cfg.tenants for s in t.slos})


def acceptance_scenarios(mixes: int = 10, first_mix: int = 0, base: bool = True) -> list[tuple[str, dict]]:
    """``[(name, scenario dict)]``: the default scenario and unseen mixes ``UNSEEN_SEED_BASE + k``."""
    from fairsched.workload.generator import UNSEEN_SEED_BASE, random_scenario

    cfg, models = _base()
    return ([("default", cfg)] if base else []) + [
        (f"mix-{UNSEEN_SEED_BASE + k}", random_scenario(UNSEEN_SEED_BASE + k, models))
        for k in range(first_mix, first_mix + mixes)]


def validation_scenarios() -> list[tuple[str, dict]]:
    """The default scenario and the training-range mixes of :data:`VALIDATION_MIX_SEEDS`."""
    from fairsched.workload.generator import random_scenario

    cfg, models = _base()
    return [("default", cfg)] + [(f"mix-{s}", random_scenario(s, models)) for s in VALIDATION_MIX_SEEDS]


def run_cells(scenarios, loads, names, *, requests: int, seed: int = 0, seeds: int = 1, jobs: int = 1,
              costs=None, platform="default", executor=None) -> pd.DataFrame:
    """Run every (scenario, load, seed, scheduler) cell; one row each. ``executor``: a pool to reuse."""
    tasks = [(sn, cfg, ld, s, requests, sd, costs, platform)
             for sn, cfg in scenarios for ld in loads for sd in range(seed, seed + seeds) for s in names]
    if executor is not None:
        rows = list(executor.map(_cell, tasks))
    elif jobs > 1:
        with ProcessPoolExecutor(jobs) as ex:
            rows = list(ex.map(_cell, tasks))
    else:
        rows = [_cell(t) for t in tasks]
    return pd.DataFrame(rows)


def evaluate(*, requests: int = 4000, mixes: int = 10, loads: dict | None = None, schedulers=None,
             reference: bool = True, seed: int = 0, seeds: int = 3, jobs: int = 1, costs=None,
             platform="default", first_mix: int = 0, base: bool = True) -> pd.DataFrame:
    """Long table: one row per (scenario, load, scheduler). Mixes ``first_mix .. first_mix + mixes - 1``
    (seeds ``UNSEEN_SEED_BASE + k``); ``base=False`` leaves out the default scenario (to add mixes to
    an earlier table without rerunning it)."""
    from fairsched.schedulers.registry import available

    loads = loads or LOADS
    names = list(schedulers) if schedulers else [n for n in HEURISTICS if n in available()] + [
        n for n in ("relmas", "drl") if n in available()]
    if reference:
        names += list(REFERENCE)
    return run_cells(acceptance_scenarios(mixes, first_mix, base), list(loads.values()), names, requests=requests,
                     seed=seed, seeds=seeds, jobs=jobs, costs=costs, platform=platform)


def wide(df: pd.DataFrame) -> pd.DataFrame:
    """(scenario, load) x scheduler table of tenants upheld, plus the verdict for drl."""
    df = df.assign(scheduler=df["scheduler"].replace({"teacher": "triage"}))
    names = list(dict.fromkeys(df["scheduler"]))
    w = df.pivot_table(index=["scenario", "load"], columns="scheduler", values="upheld", aggfunc="mean",
                       sort=False)[names]
    w.insert(0, "tenants", df.groupby(["scenario", "load"], sort=False)["tenants"].first())
    if "drl" in names:
        rivals = [n for n in names if n in (*HEURISTICS, "relmas")]  # heuristics (teachers included), relmas
        best = w[rivals].max(axis=1)
        moderate = min(LOADS.values())
        w["drl_wins"] = [
            (d >= b) if ld <= moderate else (d > b) for (_, ld), d, b in zip(w.index, w["drl"], best)
        ]
    return w


def verdict(w: pd.DataFrame) -> dict:
    """Per scenario, does ``drl`` win at every load? The acceptance rule asks for the default scenario and at
    least 5 unseen mixes; every evaluated mix is counted and the failed ones are named."""
    per = w.groupby(level=0, sort=False)["drl_wins"].all()
    mixes = per[[n != "default" for n in per.index]]
    return dict(default=bool(per.get("default", False)), mixes=int(len(mixes)), mixes_met=int(mixes.sum()),
                mixes_failed=[n for n, ok in mixes.items() if not ok])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fairsched.rl.evaluate", description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--mixes", type=int, default=10)
    ap.add_argument("--first-mix", type=int, default=0, help="first mix index k (seed UNSEEN_SEED_BASE + k)")
    ap.add_argument("--no-default", action="store_true", help="leave out the default scenario")
    ap.add_argument("--loads", default=",".join(str(v) for v in LOADS.values()), help="moderate,high,overload")
    ap.add_argument("--schedulers", default=None, help="comma list (default: heuristics incl. triage and llf-masked + relmas + drl)")
    ap.add_argument("--no-reference", action="store_true", help="(no effect: the teachers are registered rivals now)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", type=int, default=3, help="simulator seeds per cell (table: mean tenants upheld)")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="write the long table as CSV")
    ap.add_argument("--from-csv", type=Path, nargs="+", default=None,
                    help="print the table from long CSVs written by --out (e.g. heuristics and RL run apart)")
    a = ap.parse_args(argv)
    if a.from_csv:
        _print(pd.concat([pd.read_csv(p) for p in a.from_csv], ignore_index=True))
        return 0
    vals = [float(x) for x in a.loads.split(",")]
    if len(vals) != 3:
        ap.error("--loads: give three loads: moderate,high,overload")
    if a.seeds < 1:
        ap.error("--seeds: give at least 1")
    loads = dict(zip(LOADS, vals))
    LOADS.update(loads)
    df = evaluate(requests=a.requests, mixes=a.mixes, loads=loads,
                  schedulers=a.schedulers.split(",") if a.schedulers else None, reference=not a.no_reference,
                  seed=a.seed, seeds=a.seeds, jobs=a.jobs, first_mix=a.first_mix, base=not a.no_default)
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(a.out, index=False)
    _print(df)
    return 0


def _print(df: pd.DataFrame) -> None:
    w = wide(df)
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        print(w.to_string())
    if "drl_wins" in w:
        print(f"\ndrl wins {int(w['drl_wins'].sum())} of {len(w)} cells")
        v = verdict(w)
        print(f"default scenario: {'met' if v['default'] else 'not met'}; unseen mixes met at every load: "
              f"{v['mixes_met']} of {v['mixes']} ({', '.join(v['mixes_failed']) or 'none failed'} not met)")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
