"""Headroom of a per-tenant protect action: the best fixed protect set per cell, found in hindsight.

    python -m fairsched.experiments.protect_search [--mixes 6] [--loads 0.7,0.9,1.2] [--requests 4000]
        [--seed 0] [--jobs 1] [--passes 3] [--slo-passes 2] [--check-seeds 1,2] [--out results/headroom/protect]

Why: the cycle action of drl's versions 1/2 (one triage line theta) has no headroom: the best
constant theta per cell, in hindsight, beats ``triage`` by +2/+3 of 85 tenants (docs/rl.md).
Before training a per-tenant action (:mod:`fairsched.rl.protect`: a mask of protected tenants), this
bounds what it could reach: per cell (scenario, load), a greedy hindsight search over fixed masks,
for both dispatch modes (``serve``: abandoned tenants are served after the protected ones, as triage
does; ``shed``: abandoned tenants' requests are never started). Starts: triage's protect set at the
start of the run (:func:`~fairsched.rl.protect.triage_mask`) and "all protected"; each pass flips
single tenants in / out (in tenant order) and keeps a flip that improves
``(tenants upheld, sum_t min(margin_t, 0))`` (the second term moves the search across plateaus of
the count); it stops after ``passes`` passes or a pass without improvement. A fixed mask is a lower
bound of what a per-cycle mask can do (a policy may change the set within a run) and an *oracle*
(chosen on the very run it is scored on): if even it misses the acceptance rule's margin over
triage, the per-tenant action cannot meet it either.

``--slo-passes``: the next lever, a mask per SLO (a tenant is upheld only if *all* its SLOs are, so
favouring its binding SLO may save it): the best per-tenant mask, expanded to its tenants' SLOs (the
same run), is refined by single-SLO flips in the better mode (``oracle_slo``).

``--check-seeds``: the hindsight mask of each cell (of its better mode) and ``triage`` are also run on
other seeds (other arrival draws of the same cell): a mask that only fits seed 0's noise gains nothing
there, so this tells how much of the oracle's gain a policy could learn at all.

``--switch-from STEM_cells.csv [--segments 2]``: the lever after that, switching masks within a
run: each cell's best fixed mask in every segment (the same run), refined by flips of one tenant in
one segment (``STEM_switch.csv``, ``oracle_switch``).

Output (``--out STEM``): ``STEM_cells.csv`` (one row per cell: triage, the start masks, the oracle
per mode, the best mask) and ``STEM_loads.csv`` (totals per load, with the rule's need over triage).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

MODES = {"serve": False, "shed": True}


def _score(plat, table, wl, sched, seed) -> tuple[int, float]:
    """``(tenants upheld, sum_t min(margin_t, 0))`` of one run (the metrics of :func:`fairsched.api.run_one`)."""
    from fairsched.metrics import slo_frame, tenant_frame
    from fairsched.sim.engine import SimConfig, Simulator

    sim = Simulator(plat, table, wl, SimConfig(seed=seed, log_requests=any(s.mk for s in wl.slos)))
    sim.run(sched)
    ten = tenant_frame(slo_frame(sim))
    return int(ten["upheld"].sum()), float(np.minimum(ten["margin"].to_numpy(), 0.0).sum())


def greedy(evaluate, start: np.ndarray, passes: int = 3) -> tuple[np.ndarray, tuple, int]:
    """Single-flip hill climbing from ``start`` on ``evaluate(mask) -> comparable``: ``(best mask, its
    score, evaluations)``. Deterministic: tenants in index order, a flip kept only if strictly better."""
    best = np.asarray(start, np.float32).copy()
    score, n = evaluate(best), 1
    for _ in range(passes):
        improved = False
        for t in range(len(best)):
            m = best.copy()
            m[t] = 1.0 - m[t]
            s = evaluate(m)
            n += 1
            if s > score:
                best, score, improved = m, s, True
        if not improved:
            break
    return best, score, n


def search_cell(args) -> dict:
    """One cell: triage, then per mode and start the greedy search (module docstring)."""
    scen_name, cfg, load, requests, seed, passes, check, slo_passes = args
    from fairsched.api import build
    from fairsched.rl.features import FeatureBuilder
    from fairsched.rl.protect import ProtectScheduler, triage_mask
    from fairsched.schedulers.registry import make
    from fairsched.sim.engine import SimConfig, Simulator

    plat, table, wl = build(scenario=cfg, platform="default", load=load, requests=requests)
    fb = FeatureBuilder(8, tenant_aware=True)
    fb.reset(Simulator(plat, table, wl, SimConfig(seed=seed)))
    starts = {"triage": triage_mask(fb), "all": np.ones(fb.T, np.float32)}
    row = dict(scenario=scen_name, load=load, tenants=fb.T, triage=_score(plat, table, wl, make("triage"), seed)[0])
    evals = 0
    for mode, shed in MODES.items():
        best = None
        for sname, m0 in starts.items():
            def ev(m, shed=shed):
                return _score(plat, table, wl, ProtectScheduler(m, shed), seed)
            row[f"{mode}_{sname}_start"] = ev(m0)[0]
            mask, sc, n = greedy(ev, m0, passes)
            evals += n + 1
            row[f"{mode}_{sname}_oracle"] = sc[0]
            if best is None or sc > best[1]:
                best = (mask, sc)
        row[f"oracle_{mode}"] = best[1][0]
        row[f"mask_{mode}"] = "".join(str(int(x)) for x in best[0])
    row["oracle_protect"] = max(row["oracle_serve"], row["oracle_shed"])
    row["evals"] = evals
    # per SLO: refine the better mode's mask, expanded to its tenants' SLOs (the same run to start)
    mode = "serve" if row["oracle_serve"] >= row["oracle_shed"] else "shed"
    best = np.array([float(c) for c in row[f"mask_{mode}"]], np.float32)
    if slo_passes:
        st = fb.slo_tenant
        mask, sc, n = greedy(lambda m: _score(plat, table, wl, ProtectScheduler(m, MODES[mode], per_slo=True), seed),
                             best[st], slo_passes)
        row["oracle_slo"], row["mask_slo"] = sc[0], "".join(str(int(x)) for x in mask)
        row["evals"] += n
    # does the hindsight mask transfer to other arrival draws of the same cell (or is it noise)?
    for sd in check:
        row[f"triage_seed{sd}"] = _score(plat, table, wl, make("triage"), sd)[0]
        row[f"oracle_mask_seed{sd}"] = _score(plat, table, wl, ProtectScheduler(best, MODES[mode]), sd)[0]
    return row


def switch_cell(args) -> dict:
    """Within-run switching in hindsight: ``segments`` masks, each for an equal run of cycles
    (:class:`~fairsched.rl.protect.ScheduledProtect`), from the cell's fixed best mask in every
    segment (the same run), refined by single flips (tenant, segment)."""
    scen_name, cfg, load, requests, seed, mask, shed, segments, passes = args
    from fairsched.api import build
    from fairsched.rl.protect import ScheduledProtect

    plat, table, wl = build(scenario=cfg, platform="default", load=load, requests=requests)
    T = len(mask)
    m0 = np.tile(np.asarray(mask, np.float32), segments)
    best, sc, n = greedy(lambda m: _score(plat, table, wl, ScheduledProtect(m.reshape(segments, T), shed), seed),
                         m0, passes)
    return dict(scenario=scen_name, load=load, segments=segments, oracle_switch=sc[0], switch_evals=n,
                mask_switch="/".join("".join(str(int(x)) for x in r) for r in best.reshape(segments, T)))


def switch(cells: pd.DataFrame, requests: int = 4000, seed: int = 0, segments: int = 2, passes: int = 2,
           jobs: int = 1, loads=None) -> pd.DataFrame:
    """:func:`switch_cell` for every cell of a ``_cells.csv`` table (its better mode's mask)."""
    from fairsched.rl.evaluate import acceptance_scenarios

    scen = dict(acceptance_scenarios(int(cells["scenario"].str.startswith("mix-").sum() // cells["load"].nunique())))
    tasks = []
    for _, r in cells.iterrows():
        if loads is not None and r["load"] not in loads:
            continue
        mode = "serve" if r["oracle_serve"] >= r["oracle_shed"] else "shed"
        mask = [float(c) for c in str(r[f"mask_{mode}"]).zfill(int(r["tenants"]))]
        tasks.append((r["scenario"], scen[r["scenario"]], r["load"], requests, seed, mask, MODES[mode], segments, passes))
    if jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(jobs) as ex:
            rows = list(ex.map(switch_cell, tasks))
    else:
        rows = [switch_cell(t) for t in tasks]
    return pd.DataFrame(rows)


def per_load(cells: pd.DataFrame) -> pd.DataFrame:
    num = [c for c in cells.columns if c not in ("scenario", "load") and not c.startswith("mask_")]
    tot = cells.groupby("load", sort=True)[num].sum().reset_index()
    tot.insert(1, "cells", cells.groupby("load", sort=True).size().to_numpy())
    tot["need"] = tot["triage"] + np.ceil(0.05 * tot["tenants"]).astype(int)
    tot["oracle_minus_triage"] = tot["oracle_protect"] - tot["triage"]
    return tot


def run(mixes: int = 6, loads=(0.7, 0.9, 1.2), requests: int = 4000, seed: int = 0, passes: int = 3,
        jobs: int = 1, check=(), slo_passes: int = 0) -> pd.DataFrame:
    from fairsched.rl.evaluate import acceptance_scenarios

    tasks = [(sn, cfg, ld, requests, seed, passes, tuple(check), slo_passes) for sn, cfg in acceptance_scenarios(mixes) for ld in loads]
    if jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(jobs) as ex:
            rows = list(ex.map(search_cell, tasks))
    else:
        rows = []
        for i, t in enumerate(tasks):
            rows.append(search_cell(t))
            print(f"[{i + 1}/{len(tasks)}] {t[0]} load {t[2]}: triage {rows[-1]['triage']}, "
                  f"oracle serve {rows[-1]['oracle_serve']}, shed {rows[-1]['oracle_shed']}", file=sys.stderr)
    return pd.DataFrame(rows)


def map_cells(fn, tasks: list[tuple], jobs: int, kind_at: int) -> list[dict]:
    """``fn`` over the cells' tasks, in order, on ``jobs`` processes (one: in this process), with a
    progress line per cell (scenario, load and the task's kind at ``kind_at``); the rows concatenated.
    Shared by the "how" and admission searches."""
    from concurrent.futures import ProcessPoolExecutor
    from contextlib import nullcontext

    rows: list[dict] = []
    ex = ProcessPoolExecutor(jobs) if jobs > 1 else None
    with ex or nullcontext():
        for i, r in enumerate(ex.map(fn, tasks) if ex else map(fn, tasks)):
            rows += r
            t = tasks[i]
            print(f"[{i + 1}/{len(tasks)}] {t[0]} load {t[2]} {t[kind_at]}", file=sys.stderr)
    return rows


def report_grid(grid: pd.DataFrame, summarise, out: str | None, t0: float) -> None:
    """Print a grid search's per-cell and per-load tables and write every table as
    ``{out}_{name}.csv`` (atomically: an interrupted run leaves no half-written table). Shared by
    the "how" and admission searches, whose ``summarise`` returns (rules, cells, loads)."""
    rules, cells, loads = summarise(grid)
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        print(cells.to_string(index=False))
        print()
        print(loads.to_string(index=False))
    print(f"{len(grid)} runs in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    if out:
        from fairsched.io import atomic_write_text

        for name, df in (("grid", grid), ("rules", rules), ("cells", cells), ("loads", loads)):
            atomic_write_text(Path(f"{out}_{name}.csv"), df.to_csv(index=False))


def _loads(text: str) -> tuple[float, ...]:
    try:
        v = tuple(float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("give loads as comma-separated numbers, e.g. 0.7,0.9,1.2") from None
    if not v or any(not math.isfinite(x) or x <= 0 for x in v):
        raise argparse.ArgumentTypeError("loads must be positive numbers")
    return v


def _seeds(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError("give seeds as comma-separated integers, e.g. 1,2") from None


def search_parser(module: str, doc: str):
    """The flags every hindsight search shares (cells: default + ``--mixes`` unseen mixes x ``--loads``,
    ``--requests``, ``--seed``, ``--jobs``), on a parser whose bad flags are one ``error:`` line, exit 2;
    ``module``: the search's module name (``python -m`` prog), ``doc``: its docstring."""
    from fairsched.rl.evaluate import _Parser

    ap = _Parser(prog=f"python -m fairsched.experiments.{module}", description=doc.splitlines()[0])
    ap.add_argument("--mixes", type=int, default=6, help="unseen mixes 0..N-1 beside the default scenario")
    ap.add_argument("--loads", type=_loads, default=(0.7, 0.9, 1.2))
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=1)
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = search_parser("protect_search", __doc__)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--slo-passes", type=int, default=0,
                    help="then refine the best mask per SLO with this many passes (0: not)")
    ap.add_argument("--switch-from", type=Path, default=None, metavar="CELLS_CSV",
                    help="instead: within-run switching from the fixed masks of a previous --out STEM_cells.csv")
    ap.add_argument("--segments", type=int, default=2, help="with --switch-from: masks per run")
    ap.add_argument("--check-seeds", type=_seeds, default=(), metavar="S1,S2",
                    help="also score each cell's hindsight mask (and triage) on these seeds: does it transfer?")
    ap.add_argument("--out", type=Path, default=None, help="write OUT_cells.csv and OUT_loads.csv")
    a = ap.parse_args(argv)
    for k in ("mixes", "requests", "passes", "jobs", "slo_passes"):
        low = 0 if k in ("mixes", "slo_passes") else 1
        if getattr(a, k) < low:
            print(f"error: --{k.replace('_', '-')} must be at least {low}", file=sys.stderr)
            return 2
    if a.switch_from is not None:
        if not a.switch_from.is_file():
            print(f"error: --switch-from: no file '{a.switch_from}'; give a _cells.csv written by --out", file=sys.stderr)
            return 2
        cells = pd.read_csv(a.switch_from, dtype={"mask_serve": str, "mask_shed": str})
        sw = switch(cells, a.requests, a.seed, max(1, a.segments), a.passes, a.jobs, a.loads)
        base = cells.set_index(["scenario", "load"])[["tenants", "triage", "oracle_protect"]]
        sw = sw.join(base, on=["scenario", "load"])
        tot = sw.groupby("load")[["tenants", "triage", "oracle_protect", "oracle_switch"]].sum().reset_index()
        print(sw.to_string(index=False) + "\n\n" + tot.to_string(index=False))
        if a.out:
            from fairsched.io import atomic_write_text

            atomic_write_text(Path(f"{a.out}_switch.csv"), sw.to_csv(index=False))
        return 0
    cells = run(a.mixes, a.loads, a.requests, a.seed, a.passes, a.jobs, a.check_seeds, a.slo_passes)
    tot = per_load(cells)
    with pd.option_context("display.width", 250, "display.max_columns", 40):
        print(cells.to_string(index=False))
        print()
        print(tot.to_string(index=False))
    if a.out:
        from fairsched.io import atomic_write_text

        atomic_write_text(Path(f"{a.out}_cells.csv"), cells.to_csv(index=False))
        atomic_write_text(Path(f"{a.out}_loads.csv"), tot.to_csv(index=False))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
