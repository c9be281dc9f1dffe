"""Per-SLO, per-tenant and fleet metrics of one run (DESIGN section 4).

Definitions (docs/semantics.md):

* SLO: ``h = hits / requests`` over the measurement window (warm-up excluded); achieved iff
  ``h >= target``; margin ``h - target``.
* Tenant: achievement = hit rate over all its requests; margin = min over its SLOs of the SLO
  margin; upheld iff every SLO is achieved (margin >= 0). ``target`` is the target of the SLO
  that sets the margin (the binding SLO). SLOs without a request in the window are left out.
* (m,k): for an SLO with ``mk = (m, k)``, its counted requests in arrival order form sliding
  windows of k consecutive requests (``n - k + 1`` of them for ``n`` requests; none if ``n < k``);
  a window with fewer than m hits is a violation ("dynamic failure"). Reported: violations,
  windows, the fraction of requests that start a violating window (violations / n), (m,k)
  satisfied (no violation; vacuously true with no window) and the (m,k) margin
  ``(min hits in a window - m) / k`` (>= 0 iff satisfied). Computed from the per-request log,
  which both simulator cores produce identically (so the metrics agree by construction).
* Judgements (``UPHELD_BY``): ``rate`` (default) judges an SLO by ``h >= target``; ``mk`` by its
  (m,k) constraint where it has one, else by rate; ``both`` by rate and, where it has one, (m,k).
  Every cell carries all three (``achieved``/``achieved_mk``/``achieved_both``, ``upheld``/
  ``upheld_mk``/``upheld_both``, ...); :func:`judge` picks one for tables and figures (the rate
  judgement stays beside it as ``upheld_rate``, ``tenants_upheld_rate``, ...).
* Fleet: fraction of tenants upheld, fraction of SLOs achieved, overall hit rate, Jain's index of
  ``h / target`` across SLOs, mean utilization, energy per inference (dynamic + idle, over all
  requests), drop fraction, decision time p50/p99 (wall clock, us).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def jain(x) -> float:
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) == 0 or not np.any(x):
        return float("nan")
    return float(x.sum() ** 2 / (len(x) * np.square(x).sum()))


#: ways to judge an SLO achieved / a tenant upheld (CLI ``--upheld-by``)
UPHELD_BY = ("rate", "mk", "both")
_NAN = float("nan")


def mk_stats(hits, m: int, k: int) -> dict:
    """(m,k) metrics of one stream's outcomes ``hits`` (counted requests, arrival order).

    Sliding windows ``hits[i:i+k]`` for ``i = 0 .. n-k``; a violation is a window with fewer
    than ``m`` hits. ``violation_frac`` = violations / n (the share of requests that start a
    violating window; the last k-1 requests start no full window)."""
    h = np.asarray(hits, dtype=np.int64)
    n = len(h)
    if n < k:
        return dict(mk_windows=0, mk_violations=0, mk_violation_frac=0.0 if n else _NAN,
                    mk_satisfied=True, mk_margin=_NAN)
    c = np.concatenate([[0], np.cumsum(h)])
    w = c[k:] - c[:-k]  # hits in each window
    v = int((w < m).sum())
    return dict(mk_windows=len(w), mk_violations=v, mk_violation_frac=v / n, mk_satisfied=v == 0,
                mk_margin=(int(w.min()) - m) / k)


def outcomes_by_slo(sim) -> list[list[bool]] | None:
    """Per SLO, the hit/miss of its counted requests in arrival order (from the request log;
    None without one). Request ids are arrival ranks, so sorting by id is arrival order."""
    if sim.request_log is None:
        return None
    out: list[list[tuple[int, bool]]] = [[] for _ in sim.workload.slos]
    for rid, _t, s, _m, _a, _d, _e, hit, counted in sim.request_log:
        if counted:
            out[s].append((rid, bool(hit)))
    return [[h for _, h in sorted(o)] for o in out]


def slo_frame(sim) -> pd.DataFrame:
    wl = sim.workload
    any_mk = any(s.mk for s in wl.slos)
    outcomes = outcomes_by_slo(sim) if any_mk else None
    rows = []
    for s in wl.slos:
        n = sim.slo_arrived[s.index]
        hits = sim.slo_hits[s.index]
        h = hits / n if n else float("nan")
        achieved = bool(n) and h >= s.target - 1e-12
        row = dict(
            tenant=s.tenant_name, model=s.model, target=s.target, deadline_ms=s.deadline * 1e3,
            rate_per_s=s.rate, requests=n, hits=hits, dropped=sim.slo_dropped[s.index],
            hit_rate=h, margin=h - s.target, achieved=achieved,
        )
        sat = None
        if any_mk:  # the (m,k) columns exist only in scenarios that have an (m,k) SLO
            row.update(mk_m=s.mk[0] if s.mk else _NAN, mk_k=s.mk[1] if s.mk else _NAN)
            if s.mk and outcomes is not None:
                row.update(mk_stats(outcomes[s.index], *s.mk))
            else:  # no constraint (or no log): nothing to count; judged by rate alone
                row.update(mk_windows=_NAN, mk_violations=_NAN, mk_violation_frac=_NAN, mk_satisfied=None,
                           mk_margin=_NAN)
            sat = row["mk_satisfied"]
        mkm = row.get("mk_margin", _NAN)
        row["achieved_mk"] = bool(sat) if sat is not None else achieved
        row["achieved_both"] = achieved and (sat is None or bool(sat))
        row["margin_mk"] = mkm if sat is not None else row["margin"]
        row["margin_both"] = _min(pd.Series([row["margin"], mkm])) if sat is not None else row["margin"]
        rows.append(row)
    return pd.DataFrame(rows)


def tenant_frame(slos: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for name, g in slos.groupby("tenant", sort=False):
        g = g[g["requests"] > 0]
        if g.empty:
            continue
        b = g.loc[g["margin"].idxmin()]
        has_mk = g["mk_satisfied"].notna() if "mk_satisfied" in g else pd.Series(False, index=g.index)
        row = dict(
            tenant=name, requests=int(g["requests"].sum()), hits=int(g["hits"].sum()),
            achievement=g["hits"].sum() / g["requests"].sum(), target=float(b["target"]),
            # the achievement the tenant would have with every SLO exactly at target (Fig. 2's mark)
            target_pooled=float((g["target"] * g["requests"]).sum() / g["requests"].sum()),
            binding_model=b["model"], margin=float(b["margin"]), upheld=bool(g["achieved"].all()),
        )
        if "mk_satisfied" in g:
            mk = g[has_mk]
            row.update(
                mk_slos=int(has_mk.sum()),
                mk_violations=float(mk["mk_violations"].sum()) if len(mk) else _NAN,
                mk_satisfied=bool(mk["mk_satisfied"].astype(bool).all()) if len(mk) else None,
            )
        if "achieved_mk" in g:
            row.update(upheld_mk=bool(g["achieved_mk"].all()), upheld_both=bool(g["achieved_both"].all()),
                       margin_mk=_min(g["margin_mk"]), margin_both=_min(g["margin_both"]))
        rows.append(row)
    return pd.DataFrame(rows)


def _min(x: pd.Series) -> float:
    x = x.dropna()
    return float(x.min()) if len(x) else _NAN


def judge_summary(summary: pd.DataFrame, by: str = "rate") -> pd.DataFrame:
    """A copy of a summary table whose ``tenants_upheld`` / ``slos_achieved`` are judged ``by``."""
    if by not in UPHELD_BY:
        raise ValueError(f"by: use one of {UPHELD_BY}, got {by!r}")
    s = summary.copy()
    for c in ("tenants_upheld", "slos_achieved"):
        if f"{c}_rate" not in s and c in s:
            s[f"{c}_rate"] = s[c]  # keep the rate judgement beside the chosen one
        if by != "rate" and f"{c}_{by}" in s:
            s[c] = s[f"{c}_{by}"]
    s["upheld_by"] = by
    return s


def judge(tenants: pd.DataFrame, by: str = "rate", slos: pd.DataFrame | None = None):
    """Copies of ``tenants`` (and ``slos``) judged ``by`` rate, mk or both: ``upheld`` and
    ``margin`` (``achieved`` and ``margin`` for SLOs) take the chosen judgement's values."""
    if by not in UPHELD_BY:
        raise ValueError(f"by: use one of {UPHELD_BY}, got {by!r}")
    if by == "rate":
        return tenants if slos is None else (tenants, slos)
    t = tenants.copy()
    if f"upheld_{by}" in t:
        t["upheld_rate"], t["margin_rate"] = t["upheld"], t["margin"]
        t["upheld"], t["margin"] = t[f"upheld_{by}"].astype(bool), t[f"margin_{by}"]
    if slos is None:
        return t
    o = slos.copy()
    if f"achieved_{by}" in o:
        o["achieved_rate"], o["margin_rate"] = o["achieved"], o["margin"]
        o["achieved"], o["margin"] = o[f"achieved_{by}"].astype(bool), o[f"margin_{by}"]
    return t, o


def summary(sim, slos: pd.DataFrame, tenants: pd.DataFrame) -> dict:
    req = int(slos["requests"].sum())
    valid = slos[slos["requests"] > 0]
    horizon = max(sim.horizon, 1e-30)
    total_requests = sim.n_arrived
    mean = lambda df, c: float(df[c].astype(bool).mean()) if len(df) and c in df else float("nan")  # noqa: E731
    mk = slos[slos["mk_satisfied"].notna()] if "mk_satisfied" in slos else slos.iloc[:0]
    return dict(
        tenants_upheld=float(tenants["upheld"].mean()) if len(tenants) else float("nan"),
        tenants_upheld_mk=mean(tenants, "upheld_mk"),
        tenants_upheld_both=mean(tenants, "upheld_both"),
        mk_violations=float(mk["mk_violations"].sum()) if len(mk) else 0.0,  # 0 without (m,k) SLOs
        mk_slos=len(mk),
        mk_slos_satisfied=int(mk["mk_satisfied"].astype(bool).sum()) if len(mk) else 0,
        slos_achieved=float(valid["achieved"].mean()) if len(valid) else float("nan"),
        slos_achieved_mk=mean(valid, "achieved_mk"),
        slos_achieved_both=mean(valid, "achieved_both"),
        hit_rate=float(slos["hits"].sum() / req) if req else float("nan"),
        jain=jain(valid["hit_rate"] / valid["target"].clip(lower=1e-9)),
        utilization=float(np.mean(sim.busy) / horizon),
        energy_mj_per_inference=sim.energy_j() * 1e3 / max(total_requests, 1),
        drop_rate=float(slos["dropped"].sum() / req) if req else float("nan"),
        requests=req,
        layer_events=sim.layer_events,
        decisions=sim.decisions,
        decision_us_p50=sim.decision_us(0.5),
        decision_us_p99=sim.decision_us(0.99),
        horizon_s=sim.horizon,
        peak_bandwidth_frac=sim.peak_bw / sim.B,
    )


def request_frame(sim) -> pd.DataFrame | None:
    if sim.request_log is None:
        return None
    cols = ["id", "tenant", "slo", "model", "arrival", "deadline", "end", "hit", "counted"]
    df = pd.DataFrame(sim.request_log, columns=cols)
    df["tenant"] = [sim.workload.tenants[t] for t in df["tenant"]]
    return df.sort_values("id").reset_index(drop=True)
