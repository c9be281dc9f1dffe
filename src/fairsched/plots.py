"""The paper's figures.

* Fig. 2: box plot, one box per scheduler, of the tenants' SLO achievement rate (hit rate over
  each tenant's requests), with the tenants as dots on top.
* Fig. 3: swarm plot, one column per scheduler, one dot per tenant, of the margin = actual minus
  target SLO achievement (min over the tenant's SLOs). Dots above zero: SLA upheld.
"""

from __future__ import annotations

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
                  size=3.5, jitter=0.15, alpha=0.8)
    ax.set_ylabel("SLO achievement rate (tenant hit rate)")
    ax.set_xlabel("")
    lo = float(tenants["achievement"].min()) if len(tenants) else 0.0
    ax.set_ylim(max(0.0, lo - 0.05), 1.01)
    ax.set_title(title or "Fig. 2: SLO achievement rate across tenants")
    ax.tick_params(axis="x", rotation=30)
    ax.grid(axis="y", alpha=0.3)
    _save(fig, path)


def fig3_slo_margin(tenants: pd.DataFrame, path: Path, title: str = "") -> None:
    order = list(dict.fromkeys(tenants["scheduler"]))
    df = tenants.assign(status=tenants["upheld"].map({True: "upheld", False: "violated"}))
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(order) + 2), 4.2))
    ax.axhline(0.0, color="black", lw=1)
    sns.swarmplot(data=df, x="scheduler", y="margin", order=order, hue="status",
                  hue_order=["upheld", "violated"], palette={"upheld": "#238b45", "violated": "#cb181d"},
                  size=4.5, ax=ax)
    ax.set_ylabel("actual - target SLO achievement")
    ax.set_xlabel("")
    ax.set_title(title or "Fig. 3: per-tenant SLO margin (above 0: SLA upheld)")
    ax.tick_params(axis="x", rotation=30)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    _save(fig, path)
