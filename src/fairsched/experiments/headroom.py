"""Headroom of the cycle action spaces: the best constant action in hindsight vs the rivals.

    fairsched rl-eval --mixes 3 --seeds 1 --schedulers all,constants --jobs 1 --out out/headroom
    python -m fairsched.experiments.headroom out/headroom/rl_eval.csv [--out results/headroom]

Why: a cycle policy picks one action per cycle from a small set (:mod:`fairsched.rl.cycle`). Holding
the best action for a whole run, chosen per cell *in hindsight* (the "oracle constant"), is what a
policy that only learned "which action suits this situation" could reach; if even that misses the
acceptance rule of issue 13, no amount of training on this action space will meet it, and the action
space must change. (A policy that switches actions within a run may do better than every constant;
the oracle constant is the bound for the situation-to-action mapping, not for every policy.)

Input: a long table of the protocol (:func:`fairsched.experiments.rl_eval.long_table`) holding the
constant schedulers of :mod:`fairsched.rl.constant` and the rivals. Output: one row per (scenario,
load) and the sums per load, for both variants:

* drl (tenants upheld, the acceptance counts totals per load): ``triage`` (= theta 0.8), the per-cell
  best theta and its count (``oracle_theta``), the best single heuristic per load and the per-cell
  best rival (``oracle_rival``); ``need`` = best rival's total + 5% of the tenants (the rule's margin);
* relmas (overall hit rate, mean over cells): ``llf-masked`` (= mode llf), ``sjf``, the per-cell best
  mode (``oracle_mode``) and the best tenant-agnostic heuristic.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import pandas as pd

from fairsched.api import DEFAULT_SCHEDULERS, FOUND_SCHEDULERS, TEACHER_SCHEDULERS

TENANT_AGNOSTIC = ("fcfs", "edf", "llf", "sjf", "sjf-feasible", "sjf-bytes")  # the last two: schedulers/teachers.py
#: every rival of drl in the acceptance rule: the heuristics, the teachers and relmas
DRL_RIVALS = (*DEFAULT_SCHEDULERS, *FOUND_SCHEDULERS, *TEACHER_SCHEDULERS, "relmas")


def _thetas(cols) -> list[str]:
    return [c for c in cols if c.startswith("drl-theta")]


def _modes(cols) -> list[str]:
    return [c for c in cols if c.startswith("relmas-")]


def headroom(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(per cell, per load)`` tables (see the module docstring); seeds are averaged first."""
    key = ["scenario", "load"]
    up = df.pivot_table(index=key, columns="scheduler", values="upheld", aggfunc="mean", sort=False)
    hit = df.pivot_table(index=key, columns="scheduler", values="hit_rate", aggfunc="mean", sort=False)
    thetas, modes = _thetas(up.columns), _modes(up.columns)
    if not thetas or not modes:
        raise ValueError("the table has no constant-action schedulers (drl-theta*, relmas-*); "
                         "run rl-eval with --schedulers all,constants")
    rivals = [c for c in DRL_RIVALS if c in up.columns]
    agnostic = [c for c in TENANT_AGNOSTIC if c in hit.columns]
    cell = pd.DataFrame(index=up.index)
    cell["tenants"] = df.groupby(key, sort=False)["tenants"].first()
    cell["triage"] = up.get("triage")
    cell["best_theta"] = up[thetas].idxmax(axis=1).str.removeprefix("drl-theta")
    cell["oracle_theta"] = up[thetas].max(axis=1)
    cell["worst_theta"] = up[thetas].min(axis=1)
    cell["best_rival"] = up[rivals].idxmax(axis=1)
    cell["oracle_rival"] = up[rivals].max(axis=1)
    for n in ("drl", "sla-aware", "sjf"):
        if n in up:
            cell[n] = up[n]
    cell["llf_masked_hit"] = hit.get("llf-masked")
    cell["sjf_hit"] = hit.get("sjf")
    cell["best_mode"] = hit[modes].idxmax(axis=1).str.removeprefix("relmas-")
    cell["oracle_mode_hit"] = hit[modes].max(axis=1)
    cell["best_agnostic"] = hit[agnostic].idxmax(axis=1)
    cell["best_agnostic_hit"] = hit[agnostic].max(axis=1)
    if "relmas" in hit:
        cell["relmas_hit"] = hit["relmas"]

    rows = []
    for load, g in cell.groupby(level="load", sort=True):
        u, h = up.xs(load, level="load"), hit.xs(load, level="load")
        tot = u[rivals].sum()
        n_ten = int(g["tenants"].sum())
        r = dict(load=load, cells=len(g), tenants=n_ten, triage=u["triage"].sum() if "triage" in u else math.nan,
                 best_const_theta=u[thetas].sum().idxmax().removeprefix("drl-theta"),
                 best_const_theta_total=u[thetas].sum().max(), oracle_theta=g["oracle_theta"].sum(),
                 best_rival=tot.idxmax(), best_rival_total=tot.max(), oracle_rival=g["oracle_rival"].sum(),
                 need=tot.max() + math.ceil(0.05 * n_ten))
        r["oracle_theta_minus_need"] = r["oracle_theta"] - r["need"]
        ha = h[agnostic].mean()
        r.update(llf_masked_hit=h["llf-masked"].mean() if "llf-masked" in h else math.nan,
                 sjf_hit=h["sjf"].mean() if "sjf" in h else math.nan,
                 best_const_mode=h[modes].mean().idxmax().removeprefix("relmas-"),
                 best_const_mode_hit=h[modes].mean().max(), oracle_mode_hit=g["oracle_mode_hit"].mean(),
                 best_agnostic=ha.idxmax(), best_agnostic_hit=ha.max())
        if "relmas" in h:
            r["relmas_hit"] = h["relmas"].mean()
        rows.append(r)
    return cell, pd.DataFrame(rows)


def report(df: pd.DataFrame) -> str:
    cell, per_load = headroom(df)
    with pd.option_context("display.width", 250, "display.max_columns", 60, "display.float_format", "{:.4g}".format):
        return ("per cell (tenants upheld; hit rates), seeds averaged:\n" + cell.to_string()
                + "\n\nper load (tenant totals; mean hit rates over cells):\n" + per_load.T.to_string())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fairsched.experiments.headroom", description=__doc__.splitlines()[0])
    ap.add_argument("csv", type=Path, nargs="+", help="long tables written by rl-eval (rl_eval.csv)")
    ap.add_argument("--out", type=Path, default=None, help="write OUT_cells.csv and OUT_loads.csv")
    a = ap.parse_args(argv)
    df = pd.concat([pd.read_csv(p) for p in a.csv], ignore_index=True)
    print(report(df))
    if a.out:
        from fairsched.io import atomic_write_text

        cell, per_load = headroom(df)
        atomic_write_text(Path(f"{a.out}_cells.csv"), cell.reset_index().to_csv(index=False))
        atomic_write_text(Path(f"{a.out}_loads.csv"), per_load.to_csv(index=False))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
