"""Headroom of the admission lever (which requests run at all), fixed per cell and in hindsight.

    python -m fairsched.experiments.admit_search [--mixes 6] [--loads 0.7,0.9,1.2] [--requests 4000]
        [--seed 0] [--jobs 1] [--modes demote,defer,drop] [--deltas 0,0.01,0.02,0.05,0.1]
        [--thetas 0.8,0.9,1.0,1.1] [--masks results/headroom/protect_cells.csv] [--out results/headroom/admission]

Why: the "what" (protect set) and "how" (order, filter, placement) levers are bounded in hindsight
at +4 / +4 tenants of 85 over ``triage`` at 0.9 (docs/rl.md), short of the +5 the acceptance rule
asks, and every lever there chooses only *among ready requests*. A tenant's SLA is a hit rate over
its window, so a tenant above its target has misses to spend: serving one of its requests later,
or not at all, frees that request's compute for a tenant that needs it. This runs the admission
settings of :class:`~fairsched.rl.protect.HowController` on ``triage-sjf``'s dispatch
(``llf/sjf/env/sub``, the best fixed rival): ``admit`` in ``demote`` / ``defer`` / ``drop``
(:data:`~fairsched.rl.protect.ADMITS`) x the slack ``delta`` (an SLO has slack while the hit rate
still required of its remaining requests is at most ``tau - delta``) x the triage line ``theta``
(with spent slack, more tenants may fit under the line), plus ``off`` at each ``theta``
(``off/0/0.8`` is ``triage-sjf``), on the cells of the earlier searches (default + mixes 0..N-1,
seed 0, 4,000 requests: the numbers compare).

``--masks``: also every ``admit/delta`` with each cell's hindsight protect set of the protect
search (per tenant, the better mode's mask) in place of triage's line: the levers combined
(``oracle_mask``; ``oracle_all`` = the better of the two per cell).

Labels: ``admit/delta/theta``. Per cell the best setting in hindsight bounds a policy that picks
the setting per cell (an oracle: chosen on the very run it is scored on). Output (``--out STEM``):
``STEM_grid.csv`` (every run), ``STEM_rules.csv`` (each setting's totals per load),
``STEM_cells.csv`` (per cell: triage, triage-sjf, the best fixed settings, the oracle) and
``STEM_loads.csv`` (totals per load, with the rule's need over the best rival).
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from fairsched.experiments.protect_search import _score, map_cells, report_grid, search_parser

BASE = ("llf", "sjf", "env", "sub")  # triage-sjf's way of serving the classes
OFF = "off/0/0.8"  # = triage-sjf


def label(admit: str, delta: float, theta: float) -> str:
    return f"{admit}/{delta:g}/{theta:g}"


def settings(modes=("demote", "defer", "drop"), deltas=(0.0, 0.01, 0.02, 0.05, 0.1),
             thetas=(0.8, 0.9, 1.0, 1.1)) -> list[str]:
    """Every label, ``triage-sjf`` (:data:`OFF`) first, then ``off`` at the other lines."""
    out = [label("off", 0.0, th) for th in thetas]
    if OFF in out:
        out.remove(OFF)
    out = [OFF] + out + [label(m, d, th) for m, d, th in itertools.product(modes, deltas, thetas)]
    return list(dict.fromkeys(out))


def admit_scheduler(lab: str, mask=None):
    """The setting ``lab``; with ``mask`` (one entry per tenant) that protect set replaces the line
    (``theta`` is then unused)."""
    from fairsched.rl.protect import HowScheduler

    admit, delta, theta = lab.split("/")
    protect = "line" if mask is None else np.asarray(mask, np.float32)
    return HowScheduler(*BASE, protect=protect, theta=float(theta), admit=admit, delta=float(delta))


def grid_cell(args) -> list[dict]:
    """``triage`` and every setting on one cell (``kind`` line), or every ``admit/delta`` with the
    cell's hindsight protect set (``kind`` mask)."""
    scen_name, cfg, load, requests, seed, labels, kind, mask = args
    from fairsched.api import build
    from fairsched.schedulers.registry import make

    plat, table, wl = build(scenario=cfg, platform="default", load=load, requests=requests)
    rows = []
    if kind == "mask":  # the line is not used: one theta per admit/delta
        labels = list(dict.fromkeys(label(*lab.split("/")[:1], float(lab.split("/")[1]), 0.8) for lab in labels))
    for lab in (["triage"] if kind == "line" else []) + list(labels):
        sched = make("triage") if lab == "triage" else admit_scheduler(lab, mask)
        n, neg = _score(plat, table, wl, sched, seed)
        rows.append(dict(scenario=scen_name, load=load, tenants=len(wl.tenants), kind=kind, setting=lab, upheld=n,
                         neg_margin=neg))
    return rows


def run(mixes: int = 6, loads=(0.7, 0.9, 1.2), requests: int = 4000, seed: int = 0, jobs: int = 1,
        labels=None, masks: Path | None = None) -> pd.DataFrame:
    from fairsched.experiments.how_search import _masks
    from fairsched.rl.evaluate import acceptance_scenarios

    labels = list(labels or settings())
    mk = _masks(masks) if masks is not None else {}
    tasks = []
    for sn, cfg in acceptance_scenarios(mixes):
        for ld in loads:
            tasks.append((sn, cfg, ld, requests, seed, labels, "line", None))
            if (sn, round(ld, 6)) in mk:
                tasks.append((sn, cfg, ld, requests, seed, labels, "mask", mk[(sn, round(ld, 6))][0]))
    rows = map_cells(grid_cell, tasks, jobs, kind_at=6)
    return pd.DataFrame(rows)


def _best(g: pd.DataFrame) -> str:
    """The setting with the most tenants upheld, then the least negative margin sum, then the first."""
    g = g.assign(_o=np.arange(len(g)))
    return g.sort_values(["upheld", "neg_margin", "_o"], ascending=[False, False, True]).iloc[0]["setting"]


def summarise(grid: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(rules, cells, loads)`` from the long table (module docstring)."""
    key = ["scenario", "load"]
    if "kind" not in grid:
        grid = grid.assign(kind="line")
    masked = grid[grid["kind"] == "mask"]
    grid = grid[grid["kind"] != "mask"]
    tri = grid[grid["setting"] == "triage"].set_index(key)
    var = grid[grid["setting"] != "triage"]
    tot = var.groupby(["load", "setting"], sort=False)[["upheld", "neg_margin"]].sum().reset_index()
    rules = tot.pivot_table(index="setting", columns="load", values="upheld", sort=False).reset_index()
    rules.columns = [c if isinstance(c, str) else f"upheld_{c:g}" for c in rules.columns]
    per_load = {ld: _best(g) for ld, g in tot.groupby("load")}
    one = _best(var.groupby("setting", sort=False)[["upheld", "neg_margin"]].sum().reset_index())
    at = var.set_index(key + ["setting"])["upheld"]
    cells = tri[["tenants", "upheld"]].rename(columns={"upheld": "triage"}).copy()
    cells["triage_sjf"] = [int(at[(s, ld, OFF)]) for s, ld in cells.index]
    cells["rule_per_load"] = [int(at[(s, ld, per_load[ld])]) for s, ld in cells.index]
    cells["rule_one"] = [int(at[(s, ld, one)]) for s, ld in cells.index]
    orc = {k: _best(g) for k, g in var.groupby(key, sort=False)}
    cells["oracle"] = [int(at[(s, ld, orc[(s, ld)])]) for s, ld in cells.index]
    cells["oracle_setting"] = [orc[(s, ld)] for s, ld in cells.index]
    num = ["tenants", "triage", "triage_sjf", "rule_per_load", "rule_one", "oracle"]
    if not masked.empty:
        om = {k: (int(g["upheld"].max()), _best(g)) for k, g in masked.groupby(key, sort=False)}
        cells["mask_off"] = [int(masked[(masked["scenario"] == s) & (masked["load"] == ld)
                                        & (masked["setting"] == OFF)]["upheld"].iloc[0]) if (s, ld) in om else np.nan
                             for s, ld in cells.index]
        cells["oracle_mask"] = [om[k][0] if k in om else np.nan for k in cells.index]
        cells["oracle_mask_setting"] = [om[k][1] if k in om else "" for k in cells.index]
        cells["oracle_all"] = cells[["oracle", "oracle_mask"]].max(axis=1)
        num += ["mask_off", "oracle_mask", "oracle_all"]
    cells = cells.reset_index()
    loads = cells.groupby("load", sort=True)[num].sum().reset_index()
    rival = loads[["triage", "triage_sjf"]].max(axis=1)
    loads["need"] = rival + np.ceil(0.05 * loads["tenants"]).astype(int)
    loads["rule_per_load_setting"] = [per_load[ld] for ld in loads["load"]]
    loads["rule_one_setting"] = one
    return rules, cells, loads


def _floats(text: str) -> tuple[float, ...]:
    import argparse

    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of numbers") from None


def main(argv: list[str] | None = None) -> int:
    from fairsched.rl.protect import ADMITS

    ap = search_parser("admit_search", __doc__)
    ap.add_argument("--modes", default="demote,defer,drop", help="admission modes to search (of demote, defer, drop)")
    ap.add_argument("--deltas", type=_floats, default=(0.0, 0.01, 0.02, 0.05, 0.1), help="slack thresholds")
    ap.add_argument("--thetas", type=_floats, default=(0.8, 0.9, 1.0, 1.1), help="triage lines")
    ap.add_argument("--masks", type=Path, default=None, metavar="CELLS_CSV",
                    help="also each admit/delta with each cell's hindsight protect set (a protect search's _cells.csv)")
    ap.add_argument("--out", type=Path, default=None, help="write OUT_grid.csv, OUT_rules.csv, OUT_cells.csv, OUT_loads.csv")
    a = ap.parse_args(argv)
    if a.masks is not None and not a.masks.is_file():
        print(f"error: --masks: no file '{a.masks}'; give the _cells.csv of a protect search", file=sys.stderr)
        return 2
    for k in ("mixes", "requests", "jobs"):
        low = 0 if k == "mixes" else 1
        if getattr(a, k) < low:
            print(f"error: --{k} must be at least {low}", file=sys.stderr)
            return 2
    modes = tuple(m.strip() for m in a.modes.split(",") if m.strip())
    bad = [m for m in modes if m not in ADMITS[1:]]
    if bad or not modes:
        print(f"error: --modes: '{bad[0] if bad else a.modes}' unknown; use some of {', '.join(ADMITS[1:])}",
              file=sys.stderr)
        return 2
    if not a.deltas or any(not -1.0 <= d <= 1.0 for d in a.deltas):
        print("error: --deltas: give hit-rate slacks in [-1, 1], e.g. 0,0.02,0.05", file=sys.stderr)
        return 2
    if not a.thetas or any(not 0.0 < t <= 4.0 for t in a.thetas):
        print("error: --thetas: give triage lines in (0, 4], e.g. 0.8,1.0", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    grid = run(a.mixes, a.loads, a.requests, a.seed, a.jobs, settings(modes, a.deltas, a.thetas), a.masks)
    report_grid(grid, summarise, a.out, t0)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
