"""The paper's figures.

* Fig. 2: box plot, one box per scheduler, of the tenants' SLO achievement rate (hit rate over
  each tenant's requests), with the tenants as dots on top.
* Fig. 2 marks each tenant's target (a tick joined to the tenant's dot).
* Fig. 3: swarm plot, one column per scheduler, one dot per tenant, of the tenant margin = min over
  its SLOs of actual minus target hit rate (for a one-SLO tenant, its actual minus target). Dots at
  or above zero: SLA upheld; labelled as the min margin, see :func:`fig3_slo_margin` for why.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from fairsched.io import atomic_write_with  # noqa: E402


def _save(fig, path: Path) -> None:
    atomic_write_with(path, lambda p: fig.savefig(p, dpi=130, bbox_inches="tight", format="png"))
    plt.close(fig)


_UPHELD, _VIOLATED = "#238b45", "#cb181d"


def _tenant_offsets(tenants: pd.DataFrame, width: float = 0.7) -> pd.Series:
    """A fixed x offset per tenant name inside its scheduler's column (same tenant, same place)."""
    names = sorted(tenants["tenant"].unique())
    n = len(names)
    pos = {t: (i - (n - 1) / 2) * (width / max(n - 1, 1)) for i, t in enumerate(names)}
    return tenants["tenant"].map(pos)


def fig2_slo_achievement(tenants: pd.DataFrame, path: Path, title: str = "", slos=None) -> None:
    """Box per scheduler of the tenants' achievement (hit rate over all their requests); each tenant
    is a dot at a fixed place in the column, joined to a black tick at its target: the
    request-weighted mean of its SLO targets (``target_pooled``), i.e. the achievement it would
    have with every SLO exactly at target. Dot green: SLA upheld, red: not."""
    order = list(dict.fromkeys(tenants["scheduler"]))
    x0 = tenants["scheduler"].map({n: i for i, n in enumerate(order)}) + _tenant_offsets(tenants)
    tgt = tenants["target_pooled"] if "target_pooled" in tenants else tenants["target"]
    fig, ax = plt.subplots(figsize=(max(7, 0.95 * len(order) + 3), 4.6))
    sns.boxplot(data=tenants, x="scheduler", y="achievement", order=order, ax=ax, color="#deebf7",
                fliersize=0, width=0.8, linewidth=0.8)
    up = tenants["upheld"].astype(bool).to_numpy()
    ax.vlines(x0, tgt, tenants["achievement"], colors="#bdbdbd", lw=0.6, linestyles=":", zorder=3)
    ax.scatter(x0, tgt, marker="_", s=40, color="black", lw=1.2, zorder=4)
    size = _dot_size(tenants, order, 3.5) ** 2 * 1.6
    ax.scatter(x0[up], tenants["achievement"][up], s=size, color=_UPHELD, zorder=5, edgecolor="none")
    ax.scatter(x0[~up], tenants["achievement"][~up], s=size, color=_VIOLATED, zorder=5, edgecolor="none")
    ax.set_ylabel("SLO achievement rate (tenant hit rate)")
    ax.set_xlabel("")
    lo = float(min(tenants["achievement"].min(), tgt.min())) if len(tenants) else 0.0
    ax.set_ylim(max(0.0, lo - 0.03), 1.01)
    ax.set_xlim(-0.6, len(order) - 0.4)
    ax.set_title(title or "Fig. 2: SLO achievement rate across tenants")
    ax.tick_params(axis="x", rotation=30)
    ax.grid(axis="y", alpha=0.3)
    handles = [Line2D([], [], marker="o", ls="", color=_UPHELD, label="tenant, SLA upheld"),
               Line2D([], [], marker="o", ls="", color=_VIOLATED, label="tenant, SLA violated"),
               Line2D([], [], marker="_", ls="", color="black", markersize=10, mew=1.5,
                      label="its target (request-weighted\nmean of its SLO targets)")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    _save(fig, path)


def _dot_size(tenants: pd.DataFrame, order: list, base: float = 4.5) -> float:
    """Smaller dots when a column holds many tenants (pooled seeds/mixes), so a swarm still fits."""
    per_col = max(1, len(tenants) // max(1, len(order)))
    return float(min(base, max(1.2, base * (25 / per_col) ** 0.5)))


#: Fig. 3's y axis per judgement (metrics.judge): the tenant margin, min over its SLOs
MARGIN_LABEL = {
    "rate": "tenant margin: min over its SLOs of (hit rate - target)",
    "mk": "tenant margin: min over its SLOs of\n(m,k): (worst-window hits - m)/k; others: hit rate - target",
    "both": "tenant margin: min over its SLOs of\nhit rate - target and, with (m,k), (worst-window hits - m)/k",
}


def fig3_slo_margin(tenants: pd.DataFrame, path: Path, title: str = "", by: str = "rate") -> None:
    """Swarm per scheduler, one dot per tenant, of the tenant's margin: min over its SLOs of the SLO
    margin (actual - target hit rate). For a one-SLO tenant that is its actual minus target; for a
    tenant with several SLOs it is the binding (worst) SLO's, the only per-tenant number whose sign
    is exactly "SLA upheld" (>= 0) or not. (Pooled hit rate minus one target is not: a tenant can
    be above it with one SLO far below its own target.)"""
    order = list(dict.fromkeys(tenants["scheduler"]))
    df = tenants.assign(status=tenants["upheld"].astype(bool).map({True: "upheld", False: "violated"}))
    fig, ax = plt.subplots(figsize=(max(7, 0.95 * len(order) + 3), 4.6))
    ax.axhline(0.0, color="black", lw=1)
    with warnings.catch_warnings():  # "x% of the points cannot be placed": they are drawn overlapping
        warnings.simplefilter("ignore", UserWarning)
        sns.swarmplot(data=df, x="scheduler", y="margin", order=order, hue="status",
                      hue_order=["upheld", "violated"], palette={"upheld": _UPHELD, "violated": _VIOLATED},
                      size=_dot_size(df, order), ax=ax)
    ax.set_ylabel(MARGIN_LABEL.get(by, MARGIN_LABEL["rate"]), fontsize=9)
    ax.set_xlabel("")
    ax.set_title(title or "Fig. 3: per-tenant SLO margin (above 0: SLA upheld)")
    ax.tick_params(axis="x", rotation=30)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(title="SLA", loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    with warnings.catch_warnings():  # swarm layout happens at draw time, inside savefig
        warnings.simplefilter("ignore", UserWarning)
        _save(fig, path)


_MARKERS = "osD^vP*Xh<>pd8H"


def fig_load_curve(summary: pd.DataFrame, path: Path, title: str = "", metric: str = "tenants_upheld") -> None:
    """Fraction of tenants upheld vs load: one line per scheduler (mean over seeds and tenant mixes),
    band = 10th-90th percentile across those cells. With several scenarios, a pooled panel and one
    per mix follow. Lines are nudged apart along x (a small, fixed offset per scheduler) so that
    schedulers at the same value stay visible; the legend lists schedulers by their value at the
    highest load, best first, and sits in an unused panel or beside the plot, never over data."""
    order = list(dict.fromkeys(summary["scheduler"]))
    scen = list(dict.fromkeys(summary["scenario"])) if "scenario" in summary else []
    panels = [("all tenant mixes" if len(scen) > 1 else (scen[0] if scen else ""), summary)]
    if len(scen) > 1:
        panels += [(s, summary[summary["scenario"] == s]) for s in scen]
    n = len(panels)
    ncol = 1 if n == 1 else 2 if n in (2, 4) else 3
    nrow = -(-n // ncol)
    spare = nrow * ncol - n  # free slots hold the legend
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.4 * ncol + (2.4 if not spare else 0), 4.2 * nrow),
                             squeeze=False, sharey=True)
    colors = sns.color_palette("tab10" if len(order) <= 10 else "tab20", len(order))
    style = {s: (colors[i], _MARKERS[i % len(_MARKERS)]) for i, s in enumerate(order)}
    loads = sorted(summary["load"].unique())
    span = (loads[-1] - loads[0]) if len(loads) > 1 else 1.0
    step = 0.008 * span
    top = summary[summary["load"] == loads[-1]].groupby("scheduler")[metric].mean()
    rank = sorted(order, key=lambda s: (-top.get(s, -1), order.index(s)))
    handles = {}
    for ax, (name, df) in zip(axes.flat, panels):
        g = df.groupby(["scheduler", "load"])[metric]
        stats = pd.DataFrame({"mean": g.mean(), "lo": g.quantile(0.1), "hi": g.quantile(0.9)}).reset_index()
        for i, sch in enumerate(order):
            d = stats[stats["scheduler"] == sch].sort_values("load")
            if d.empty:
                continue
            x = d["load"] + (i - (len(order) - 1) / 2) * step
            c, mk = style[sch]
            (h,) = ax.plot(x, d["mean"], color=c, marker=mk, lw=1.6, ms=5, label=sch)
            if (d["hi"] > d["lo"]).any():
                ax.fill_between(x, d["lo"], d["hi"], color=c, alpha=0.07, lw=0)
            handles[sch] = h
        ax.set_title(name, fontsize=10)
        ax.set_xticks(loads)
        ax.set_xlabel("load (platform utilization)")
        ax.set_ylabel("fraction of tenants with SLA upheld" if metric == "tenants_upheld" else metric)
        ax.set_ylim(-0.03, 1.03)
        ax.grid(alpha=0.3)
    hl = [handles[s] for s in rank if s in handles]
    labels = [s for s in rank if s in handles]
    leg_kw = dict(fontsize=9, frameon=False, title=f"by value at load {loads[-1]:g}", title_fontsize=8)
    free = list(axes.flat)[n:]
    for ax in free:
        ax.axis("off")
    if free:
        free[0].legend(hl, labels, loc="center", ncol=2 if len(labels) > 8 else 1, **leg_kw)
    else:
        fig.legend(hl, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), **leg_kw)
    fig.suptitle(title or "Tenants upheld vs load (mean; band: 10th-90th percentile over seeds and mixes)",
                 fontsize=11)
    fig.tight_layout()
    _save(fig, path)
