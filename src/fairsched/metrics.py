"""Per-SLO, per-tenant and fleet metrics of one run (DESIGN section 4).

Definitions (docs/semantics.md):

* SLO: ``h = hits / requests`` over the measurement window (warm-up excluded); achieved iff
  ``h >= target``; margin ``h - target``.
* Tenant: achievement = hit rate over all its requests; margin = min over its SLOs of the SLO
  margin; upheld iff every SLO is achieved (margin >= 0). ``target`` is the target of the SLO
  that sets the margin (the binding SLO). SLOs without a request in the window are left out.
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


def slo_frame(sim) -> pd.DataFrame:
    wl = sim.workload
    rows = []
    for s in wl.slos:
        n = sim.slo_arrived[s.index]
        hits = sim.slo_hits[s.index]
        h = hits / n if n else float("nan")
        rows.append(
            dict(
                tenant=s.tenant_name, model=s.model, target=s.target, deadline_ms=s.deadline * 1e3,
                rate_per_s=s.rate, requests=n, hits=hits, dropped=sim.slo_dropped[s.index],
                hit_rate=h, margin=h - s.target, achieved=bool(n) and h >= s.target - 1e-12,
            )
        )
    return pd.DataFrame(rows)


def tenant_frame(slos: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for name, g in slos.groupby("tenant", sort=False):
        g = g[g["requests"] > 0]
        if g.empty:
            continue
        b = g.loc[g["margin"].idxmin()]
        rows.append(
            dict(
                tenant=name, requests=int(g["requests"].sum()), hits=int(g["hits"].sum()),
                achievement=g["hits"].sum() / g["requests"].sum(), target=float(b["target"]),
                binding_model=b["model"], margin=float(b["margin"]), upheld=bool(g["achieved"].all()),
            )
        )
    return pd.DataFrame(rows)


def summary(sim, slos: pd.DataFrame, tenants: pd.DataFrame) -> dict:
    req = int(slos["requests"].sum())
    valid = slos[slos["requests"] > 0]
    horizon = max(sim.horizon, 1e-30)
    total_requests = sim.n_arrived
    return dict(
        tenants_upheld=float(tenants["upheld"].mean()) if len(tenants) else float("nan"),
        slos_achieved=float(valid["achieved"].mean()) if len(valid) else float("nan"),
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
