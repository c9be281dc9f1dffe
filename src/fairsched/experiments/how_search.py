"""Headroom of the "how" lever: how the protected tenants are served, fixed per cell and in hindsight.

    python -m fairsched.experiments.how_search [--mixes 6] [--loads 0.7,0.9,1.2] [--requests 4000]
        [--seed 0] [--jobs 1] [--masks results/headroom/protect_cells.csv] [--out results/headroom/how]

Why: the "what" lever (which tenants to protect; :mod:`fairsched.experiments.protect_search`) is
bounded at +4 / +6 tenants of 85 over ``triage`` at 0.9 / 1.2 in hindsight, short of the +5 the
acceptance rule asks at 0.9. The other lever of a cycle action is *how* the classes are served:
the order inside the protected class (today least laxity), which requests may start (today the
env's mask: feasible where placed and not risky), placement (today each idle sub in index order
takes its best request) and what the unprotected are given (today least laxity after the
protected; or nothing: shedding). This runs every variant of
:class:`~fairsched.rl.protect.HowController` (``ORDERS`` x ``ORDERS + none`` x ``FILTERS`` x
``PLACEMENTS`` = 4 x 5 x 3 x 2 = 120) on every cell of the protect search (default + mixes
0..N-1, seed 0, 4,000 requests: the numbers compare), each as a fixed rule for the whole run:

* ``line``: the protected class is triage's (its line over the cumulative share, re-evaluated as
  tenants are lost): a variant that beats ``triage`` in total is a *fixed rule*, i.e. a rival;
* ``mask`` / ``slo`` (with ``--masks``): the protected class is the cell's hindsight protect set
  of the protect search (per tenant: the better mode's mask; per SLO: ``mask_slo``): the two
  levers combined.

Per cell the best variant in hindsight is the bound of switching between variants per cell (an
oracle: chosen on the very run it is scored on). Output (``--out STEM``): ``STEM_grid.csv`` (every
run), ``STEM_rules.csv`` (each fixed variant's total per load and protected class),
``STEM_cells.csv`` (per cell: triage, the best fixed rule, the per-cell oracles) and
``STEM_loads.csv`` (totals per load, with the rule's need over triage).
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from fairsched.experiments.protect_search import _score, map_cells, report_grid, search_parser

TODAY = "llf/llf/env/sub"  # triage's own way of serving the classes (without its 8-candidate menu)


def variants() -> list[str]:
    """Every ``order/uorder/filter/placement`` label, in a fixed order (today's first)."""
    from fairsched.rl.protect import FILTERS, ORDERS, PLACEMENTS

    out = ["/".join(v) for v in itertools.product(ORDERS[:-1], ORDERS, FILTERS, PLACEMENTS)]
    out.remove(TODAY)
    return [TODAY] + out


def how_scheduler(label: str, protect="line", per_slo: bool = False):
    from fairsched.rl.protect import HowScheduler

    order, uorder, filt, place = label.split("/")
    return HowScheduler(order, uorder, filt, place, protect, per_slo)


def grid_cell(args) -> list[dict]:
    """Every variant on one cell with one protected class (``kind``: line, mask or slo)."""
    scen_name, cfg, load, requests, seed, kind, mask, labels = args
    from fairsched.api import build
    from fairsched.schedulers.registry import make

    plat, table, wl = build(scenario=cfg, platform="default", load=load, requests=requests)
    rows = []
    if kind == "line":
        n, neg = _score(plat, table, wl, make("triage"), seed)
        rows.append(dict(scenario=scen_name, load=load, tenants=len(wl.tenants), kind="triage", variant="triage",
                         upheld=n, neg_margin=neg))
    protect = "line" if kind == "line" else np.asarray(mask, np.float32)
    for v in labels:
        n, neg = _score(plat, table, wl, how_scheduler(v, protect, kind == "slo"), seed)
        rows.append(dict(scenario=scen_name, load=load, tenants=len(wl.tenants), kind=kind, variant=v, upheld=n,
                         neg_margin=neg))
    return rows


def _masks(path: Path) -> dict:
    """``{(scenario, load): (tenant mask, SLO mask)}`` of a protect search's ``_cells.csv``."""
    cells = pd.read_csv(path, dtype={"mask_serve": str, "mask_shed": str, "mask_slo": str})
    out = {}
    for _, r in cells.iterrows():
        mode = "serve" if r["oracle_serve"] >= r["oracle_shed"] else "shed"
        tm = [float(c) for c in str(r[f"mask_{mode}"]).zfill(int(r["tenants"]))]
        sm = [float(c) for c in str(r["mask_slo"])] if "mask_slo" in r and isinstance(r["mask_slo"], str) else None
        out[(r["scenario"], round(float(r["load"]), 6))] = (tm, sm)
    return out


def run(mixes: int = 6, loads=(0.7, 0.9, 1.2), requests: int = 4000, seed: int = 0, jobs: int = 1,
        masks: Path | None = None, labels=None) -> pd.DataFrame:
    """The long table: one row per (cell, protected class, variant) and the triage row of each cell."""
    from fairsched.rl.evaluate import acceptance_scenarios

    labels = list(labels or variants())
    mk = _masks(masks) if masks is not None else {}
    tasks = []
    for sn, cfg in acceptance_scenarios(mixes):
        for ld in loads:
            tasks.append((sn, cfg, ld, requests, seed, "line", None, labels))
            if (sn, round(ld, 6)) in mk:
                tm, sm = mk[(sn, round(ld, 6))]
                tasks.append((sn, cfg, ld, requests, seed, "mask", tm, labels))
                if sm is not None:
                    tasks.append((sn, cfg, ld, requests, seed, "slo", sm, labels))
    rows = map_cells(grid_cell, tasks, jobs, kind_at=5)
    return pd.DataFrame(rows)


def summarise(grid: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(rules, cells, loads)`` from the long table (module docstring)."""
    key = ["scenario", "load"]
    tri = grid[grid["kind"] == "triage"].set_index(key)
    var = grid[grid["kind"] != "triage"]
    rules = (var.groupby(["kind", "variant", "load"], sort=False)[["upheld", "neg_margin"]].sum().reset_index()
             .pivot_table(index=["kind", "variant"], columns="load", values="upheld").reset_index())
    rules.columns = [c if isinstance(c, str) else f"upheld_{c:g}" for c in rules.columns]
    cells = tri[["tenants", "upheld"]].rename(columns={"upheld": "triage"}).copy()
    # the best fixed rule with triage's classes: the most tenants summed over all cells of a load,
    # then over all loads (one rule for every cell of a load)
    line = var[var["kind"] == "line"]
    tot = line.groupby(["load", "variant"], sort=False)[["upheld", "neg_margin"]].sum().reset_index()
    best_rule = {}
    for ld, g in tot.groupby("load"):
        g = g.assign(_o=np.arange(len(g)))
        b = g.sort_values(["upheld", "neg_margin", "_o"], ascending=[False, False, True]).iloc[0]
        best_rule[ld] = b["variant"]
    overall = line.groupby("variant", sort=False)[["upheld", "neg_margin"]].sum().reset_index()
    overall = overall.assign(_o=np.arange(len(overall))).sort_values(["upheld", "neg_margin", "_o"],
                                                                     ascending=[False, False, True])
    one_rule = overall.iloc[0]["variant"]
    for kind in ("line", "mask", "slo"):
        g = var[var["kind"] == kind]
        if g.empty:
            continue
        if kind == "line":
            today = g[g["variant"] == TODAY].set_index(key)["upheld"]
            cells["line_today"] = today
            cells["rule_per_load"] = [int(g[(g["scenario"] == s) & (g["load"] == ld)
                                           & (g["variant"] == best_rule[ld])]["upheld"].iloc[0]) for s, ld in cells.index]
            cells["rule_one"] = g[g["variant"] == one_rule].set_index(key)["upheld"]
        else:
            cells[f"{kind}_today"] = g[g["variant"] == TODAY].set_index(key)["upheld"]
        idx = g.assign(_o=np.arange(len(g))).sort_values(["upheld", "neg_margin", "_o"],
                                                          ascending=[False, False, True]).groupby(key).head(1)
        idx = idx.set_index(key)
        cells[f"oracle_{kind}"] = idx["upheld"]
        cells[f"oracle_{kind}_variant"] = idx["variant"]
    orc = [f"oracle_{k}" for k in ("line", "mask", "slo") if f"oracle_{k}" in cells]
    cells["oracle_best"] = cells[orc].max(axis=1)  # both levers: the best class and variant per cell
    cells = cells.reset_index()
    num = [c for c in cells.columns if c not in ("scenario", "load") and not c.endswith("_variant")]
    loads = cells.groupby("load", sort=True)[num].sum().reset_index()
    loads["need"] = loads["triage"] + np.ceil(0.05 * loads["tenants"]).astype(int)
    loads["rule_per_load_variant"] = [best_rule[ld] for ld in loads["load"]]
    loads["rule_one_variant"] = one_rule
    return rules, cells, loads


def switch_cell(args) -> dict:
    """Within-run switching in hindsight on one cell: ``segments`` variants (one per equal run of
    cycles, :class:`~fairsched.rl.protect.ScheduledHow`) from the cell's best fixed variant in every
    segment, coordinate search: each segment in turn tries every candidate, a change is kept if it
    improves ``(upheld, sum of negative margins)``; ``passes`` passes or one without improvement."""
    scen_name, cfg, load, requests, seed, kind, mask, start, cands, segments, passes = args
    from fairsched.api import build
    from fairsched.rl.protect import ScheduledHow

    plat, table, wl = build(scenario=cfg, platform="default", load=load, requests=requests)
    protect = "line" if kind == "line" else np.asarray(mask, np.float32)
    ev = lambda labels: _score(plat, table, wl, ScheduledHow(labels, protect, kind == "slo"), seed)  # noqa: E731
    best = [start] * segments
    score, n = ev(best), 1
    for _ in range(passes):
        improved = False
        for i in range(segments):
            for v in cands:
                if v == best[i]:
                    continue
                trial = best[:i] + [v] + best[i + 1:]
                sc = ev(trial)
                n += 1
                if sc > score:
                    best, score, improved = trial, sc, True
        if not improved:
            break
    return dict(scenario=scen_name, load=load, kind=kind, segments=segments, fixed_start=start,
                oracle_switch=score[0], switch=" | ".join(best), switch_evals=n)


def switch(grid: pd.DataFrame, cells: pd.DataFrame, *, kind: str = "line", top: int = 12, segments: int = 2,
           passes: int = 2, requests: int = 4000, seed: int = 0, jobs: int = 1, loads=None, masks=None) -> pd.DataFrame:
    """:func:`switch_cell` for every cell of a search (its ``_grid.csv`` and ``_cells.csv``); the
    candidates: the ``top`` fixed variants by total over all cells of that protected class."""
    from fairsched.rl.evaluate import acceptance_scenarios

    g = grid[grid["kind"] == kind]
    tot = g.groupby("variant", sort=False)[["upheld", "neg_margin"]].sum().reset_index()
    tot = tot.assign(_o=np.arange(len(tot))).sort_values(["upheld", "neg_margin", "_o"], ascending=[False, False, True])
    cands = list(tot["variant"].head(top))
    mixes = int(cells["scenario"].str.startswith("mix-").sum() // cells["load"].nunique())
    scen = dict(acceptance_scenarios(mixes))
    mk = _masks(masks) if masks is not None else {}
    tasks = []
    for _, r in cells.iterrows():
        if loads is not None and r["load"] not in loads:
            continue
        mask = None
        if kind != "line":
            tm, sm = mk[(r["scenario"], round(float(r["load"]), 6))]
            mask = sm if kind == "slo" else tm
        start = r[f"oracle_{kind}_variant"]
        tasks.append((r["scenario"], scen[r["scenario"]], r["load"], requests, seed, kind, mask, start,
                      sorted(set(cands) | {start}, key=lambda v: (v not in cands, cands.index(v) if v in cands else 0)),
                      segments, passes))
    if jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(jobs) as ex:
            rows = list(ex.map(switch_cell, tasks))
    else:
        rows = [switch_cell(t) for t in tasks]
    out = pd.DataFrame(rows)
    return out.join(cells.set_index(["scenario", "load"])[["tenants", "triage", f"oracle_{kind}"]],
                    on=["scenario", "load"])


def main(argv: list[str] | None = None) -> int:
    ap = search_parser("how_search", __doc__)
    ap.add_argument("--masks", type=Path, default=None, metavar="CELLS_CSV",
                    help="also run every variant with each cell's hindsight protect set (a protect search's _cells.csv)")
    ap.add_argument("--variants", default=None, metavar="V1,V2",
                    help="only these order/uorder/filter/placement labels (default: all 120)")
    ap.add_argument("--out", type=Path, default=None, help="write OUT_grid.csv, OUT_rules.csv, OUT_cells.csv, OUT_loads.csv")
    ap.add_argument("--switch-from", type=Path, default=None, metavar="STEM",
                    help="instead: within-run switching from a previous --out STEM (STEM_grid.csv, STEM_cells.csv)")
    ap.add_argument("--kind", choices=("line", "mask", "slo"), default="line",
                    help="with --switch-from: the protected class (mask, slo: need --masks)")
    ap.add_argument("--segments", type=int, default=2, help="with --switch-from: variants per run")
    ap.add_argument("--top", type=int, default=12, help="with --switch-from: candidates = the best N fixed variants")
    ap.add_argument("--passes", type=int, default=2, help="with --switch-from: coordinate passes")
    a = ap.parse_args(argv)
    for k in ("mixes", "requests", "jobs"):
        low = 0 if k == "mixes" else 1
        if getattr(a, k) < low:
            print(f"error: --{k} must be at least {low}", file=sys.stderr)
            return 2
    if a.masks is not None and not a.masks.is_file():
        print(f"error: --masks: no file '{a.masks}'; give the _cells.csv of a protect search", file=sys.stderr)
        return 2
    if a.switch_from is not None:
        gp, cp = Path(f"{a.switch_from}_grid.csv"), Path(f"{a.switch_from}_cells.csv")
        if not gp.is_file() or not cp.is_file():
            print(f"error: --switch-from: no '{gp}' / '{cp}'; give the --out STEM of a previous search", file=sys.stderr)
            return 2
        if a.kind != "line" and a.masks is None:
            print(f"error: --kind {a.kind} needs --masks (the protect search's _cells.csv)", file=sys.stderr)
            return 2
        for k in ("segments", "top", "passes"):
            if getattr(a, k) < 1:
                print(f"error: --{k} must be at least 1", file=sys.stderr)
                return 2
        t0 = time.perf_counter()
        sw = switch(pd.read_csv(gp), pd.read_csv(cp), kind=a.kind, top=a.top, segments=a.segments, passes=a.passes,
                    requests=a.requests, seed=a.seed, jobs=a.jobs, loads=a.loads, masks=a.masks)
        tot = sw.groupby("load")[["tenants", "triage", f"oracle_{a.kind}", "oracle_switch", "switch_evals"]].sum()
        with pd.option_context("display.width", 250, "display.max_columns", 40, "display.max_colwidth", 80):
            print(sw.to_string(index=False) + "\n\n" + tot.reset_index().to_string(index=False))
        print(f"{int(sw['switch_evals'].sum())} runs in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        if a.out:
            from fairsched.io import atomic_write_text

            atomic_write_text(Path(f"{a.out}_switch_{a.kind}.csv"), sw.to_csv(index=False))
        return 0
    labels = None
    if a.variants:
        labels = [v.strip() for v in a.variants.split(",") if v.strip()]
        bad = [v for v in labels if v not in variants()]
        if bad:
            print(f"error: --variants: '{bad[0]}' unknown; give order/uorder/filter/placement labels, e.g. {TODAY}",
                  file=sys.stderr)
            return 2
    t0 = time.perf_counter()
    grid = run(a.mixes, a.loads, a.requests, a.seed, a.jobs, a.masks, labels)
    report_grid(grid, summarise, a.out, t0)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
