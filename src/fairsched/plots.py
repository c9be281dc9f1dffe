"""The paper's figures.

* Fig. 2: box plot, one box per scheduler, of the tenants' SLO achievement rate (hit rate over
  each tenant's requests), with the tenants as dots on top.
* Fig. 3: swarm plot, one column per scheduler, one dot per tenant, of the margin = actual minus
  target SLO achievement (min over the tenant's SLOs). Dots above zero: SLA upheld.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from fairsched.io import atomic_write_with  # noqa: E402


def _save(fig, path: Path) -> None:
    atomic_write_with(path, lambda p: fig.savefig(p, dpi=130, bbox_inches="tight", format="png"))
    plt.close(fig)


def fig2_slo_achievement(tenants: pd.DataFrame, path: Path, title: str = "") -> None:
    order = list(dict.fromkeys(tenants["scheduler"]))
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(order) + 2), 4.2))
    sns.boxplot(data=tenants, x="scheduler", y="achievement", order=order, ax=ax, color="#9ecae1",
                fliersize=0, width=0.6)
    sns.stripplot(data=tenants, x="scheduler", y="achievement", order=order, ax=ax, color="#08306b",
                  size=_dot_size(tenants, order, 3.5), jitter=0.15, alpha=0.8)
    ax.set_ylabel("SLO achievement rate (tenant hit rate)")
    ax.set_xlabel("")
    lo = float(tenants["achievement"].min()) if len(tenants) else 0.0
    ax.set_ylim(max(0.0, lo - 0.05), 1.01)
    ax.set_title(title or "Fig. 2: SLO achievement rate across tenants")
    ax.tick_params(axis="x", rotation=30)
    ax.grid(axis="y", alpha=0.3)
    _save(fig, path)


def _dot_size(tenants: pd.DataFrame, order: list, base: float = 4.5) -> float:
    """Smaller dots when a column holds many tenants (pooled seeds/mixes), so a swarm still fits."""
    per_col = max(1, len(tenants) // max(1, len(order)))
    return float(min(base, max(1.2, base * (25 / per_col) ** 0.5)))


def fig3_slo_margin(tenants: pd.DataFrame, path: Path, title: str = "") -> None:
    order = list(dict.fromkeys(tenants["scheduler"]))
    df = tenants.assign(status=tenants["upheld"].map({True: "upheld", False: "violated"}))
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(order) + 2), 4.2))
    ax.axhline(0.0, color="black", lw=1)
    with warnings.catch_warnings():  # "x% of the points cannot be placed": they are drawn overlapping
        warnings.simplefilter("ignore", UserWarning)
        sns.swarmplot(data=df, x="scheduler", y="margin", order=order, hue="status",
                      hue_order=["upheld", "violated"], palette={"upheld": "#238b45", "violated": "#cb181d"},
                      size=_dot_size(df, order), ax=ax)
    ax.set_ylabel("actual - target SLO achievement")
    ax.set_xlabel("")
    ax.set_title(title or "Fig. 3: per-tenant SLO margin (above 0: SLA upheld)")
    ax.tick_params(axis="x", rotation=30)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    with warnings.catch_warnings():  # swarm layout happens at draw time, inside savefig
        warnings.simplefilter("ignore", UserWarning)
        _save(fig, path)


def fig_load_curve(summary: pd.DataFrame, path: Path, title: str = "", metric: str = "tenants_upheld") -> None:
    """Fraction of tenants upheld vs load: one line per scheduler (mean over seeds and tenant mixes),
    band = 10th-90th percentile across those cells. With several scenarios, one panel each follows."""
    order = list(dict.fromkeys(summary["scheduler"]))
    scen = list(dict.fromkeys(summary["scenario"])) if "scenario" in summary else []
    panels = [("all tenant mixes" if len(scen) > 1 else (scen[0] if scen else ""), summary)]
    if len(scen) > 1:
        panels += [(s, summary[summary["scenario"] == s]) for s in scen]
    ncol = min(len(panels), 3)
    nrow = -(-len(panels) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol + 1.6, 4.0 * nrow), squeeze=False, sharey=True)
    palette = dict(zip(order, sns.color_palette("tab10" if len(order) <= 10 else "husl", len(order))))
    loads = sorted(summary["load"].unique())
    for ax, (name, df) in zip(axes.flat, panels):
        sns.lineplot(data=df, x="load", y=metric, hue="scheduler", hue_order=order, palette=palette,
                     style="scheduler", style_order=order, markers=True, dashes=False,
                     estimator="mean", errorbar=("pi", 80), ax=ax, legend=ax is axes.flat[0])
        ax.set_title(name, fontsize=10)
        ax.set_xticks(loads)
        ax.set_xlabel("load (platform utilization)")
        ax.set_ylabel("fraction of tenants with SLA upheld" if metric == "tenants_upheld" else metric)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    first = axes.flat[0]
    if first.get_legend() is not None:
        handles, labels = first.get_legend_handles_labels()
        first.get_legend().remove()
        fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=9, frameon=False)
    fig.suptitle(title or "Tenants upheld vs load (mean; band: 10th-90th percentile over seeds and mixes)",
                 fontsize=11)
    fig.tight_layout()
    _save(fig, path)
