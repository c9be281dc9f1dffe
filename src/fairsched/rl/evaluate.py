"""The learned schedulers' acceptance table: tenants upheld per scheduler, scenario and load.

    fairsched rl-eval --out out/rl_eval --jobs 2          # resumable; writes out/rl_eval/rl_eval.csv
    python -m fairsched.rl.evaluate --jobs 2 --cells out/rl_eval --out results/rl_eval.csv   # the old entry

The protocol runs as a resumable sweep (:mod:`fairsched.experiments.rl_eval`: content-hashed cells
written atomically, local processes or Ray); this module keeps the scenarios, the table and the
verdict, the training's validation runner (:func:`run_cells`) and the old command line as a thin alias.

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

from fairsched.api import DEFAULT_SCHEDULERS, FOUND_SCHEDULERS, TEACHER_SCHEDULERS

LOADS = {"moderate": 0.7, "high": 0.9, "overload": 1.2}
REFERENCE = ()  # the teachers are registered schedulers now (triage, llf-masked): rivals, not references
HEURISTICS = (*DEFAULT_SCHEDULERS, *FOUND_SCHEDULERS, *TEACHER_SCHEDULERS)


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
             platform="default", first_mix: int = 0, base: bool = True, cells: str | Path | None = None,
             backend: str = "local", address: str | None = None) -> pd.DataFrame:
    """Long table: one row per (scenario, load, scheduler, seed). Mixes ``first_mix .. first_mix + mixes - 1``
    (seeds ``UNSEEN_SEED_BASE + k``); ``base=False`` leaves out the default scenario (to add mixes to
    an earlier table without rerunning it). Runs the protocol as a sweep
    (:func:`fairsched.experiments.rl_eval.run_protocol`) into ``cells`` (a folder: a rerun computes only
    the missing cells) or, without it, a temporary folder. ``reference`` has no effect (kept for callers)."""
    import tempfile

    from fairsched.experiments.rl_eval import run_protocol

    loads = loads or LOADS
    kw = dict(requests=requests, mixes=mixes, first_mix=first_mix, base=base, loads=list(loads.values()),
              schedulers=list(schedulers) if schedulers else None, seed=seed, seeds=seeds,
              platform=str(platform), costs=str(costs) if costs else None)
    if cells is not None:
        return run_protocol(cells, backend=backend, address=address, jobs=jobs, **kw)[0]
    with tempfile.TemporaryDirectory(prefix="fairsched-rl-eval-") as tmp:
        return run_protocol(Path(tmp) / "sweep", backend=backend, address=address, jobs=jobs, **kw)[0]


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


class _Parser(argparse.ArgumentParser):
    """Bad flags: one ``error:`` line and exit 2 (the project's rule), not argparse's usage block."""

    def error(self, message: str):  # noqa: D401 - argparse's hook
        print(f"error: {message}; see '{self.prog} --help'", file=sys.stderr)
        raise SystemExit(2)


def main(argv: list[str] | None = None) -> int:
    """The old entry point, now a thin alias of ``fairsched rl-eval`` (same flags and output as before,
    plus ``--cells DIR`` to keep the cells and resume an interrupted run, ``--backend`` / ``--address``)."""
    ap = _Parser(prog="python -m fairsched.rl.evaluate", description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--mixes", type=int, default=10)
    ap.add_argument("--first-mix", type=int, default=0, help="first mix index k (seed UNSEEN_SEED_BASE + k)")
    ap.add_argument("--no-default", action="store_true", help="leave out the default scenario")
    ap.add_argument("--loads", default=",".join(str(v) for v in LOADS.values()), help="moderate,high,overload")
    ap.add_argument("--schedulers", default=None, help="comma list (default: heuristics incl. triage and llf-masked + relmas + drl; "
                                                       "`constants`: the fixed-action cycle dispatchers)")
    ap.add_argument("--no-reference", action="store_true", help="(no effect: the teachers are registered rivals now)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", type=int, default=3, help="simulator seeds per cell (table: mean tenants upheld)")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="write the long table as CSV")
    ap.add_argument("--cells", type=Path, default=None,
                    help="folder of the sweep (cells cached there: a rerun resumes; default: a temporary folder)")
    ap.add_argument("--backend", default="local", help="local (process pool) or ray")
    ap.add_argument("--address", default=None, help="Ray cluster address (with --backend ray)")
    ap.add_argument("--from-csv", type=Path, nargs="+", default=None,
                    help="print the table from long CSVs written by --out (e.g. heuristics and RL run apart)")
    a = ap.parse_args(argv)
    import tempfile

    from fairsched.errors import InputError

    try:
        from fairsched.cli.rl_eval import _floats, print_csvs, run

        if a.from_csv:
            print(print_csvs(a.from_csv))
            return 0
        vals = _floats(a.loads, "--loads")
        if len(vals) != 3:
            raise InputError("--loads: give three loads: moderate,high,overload")
        if a.seeds < 1:
            raise InputError("--seeds: give at least 1")
        LOADS.update(dict(zip(LOADS, vals)))
        if a.out is not None and a.out.is_dir():
            raise InputError(f"--out: '{a.out}' is a folder; give the path of the CSV to write")
        kw = dict(requests=a.requests, mixes=a.mixes, first_mix=a.first_mix, base=not a.no_default, loads=vals,
                  schedulers=a.schedulers.split(",") if a.schedulers else None, seed=a.seed, seeds=a.seeds,
                  backend=a.backend, address=a.address, jobs=a.jobs)
        with tempfile.TemporaryDirectory(prefix="fairsched-rl-eval-") as tmp:
            df = run(a.cells or Path(tmp) / "sweep", **kw)
        if a.out:
            from fairsched.io import atomic_write_text

            atomic_write_text(a.out, df.to_csv(index=False))
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished cells are kept under --cells, rerun to resume", file=sys.stderr)
        return 130
    return 0


def _print(df: pd.DataFrame) -> None:
    from fairsched.experiments.rl_eval import table_text

    print(table_text(df))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
