"""The headroom report on a hand-made long table (known sums)."""

import pandas as pd
import pytest

from fairsched.experiments.headroom import headroom


def _rows():
    # two cells at load 0.9 (10 tenants each); upheld and hit rate per scheduler
    cells = {
        ("a", 0.9): dict(triage=(6, 0.90), edf=(7, 0.92), sjf=(5, 0.95), relmas=(4, 0.91),
                         **{"drl-theta0.8": (6, 0.90), "drl-theta1": (8, 0.89),
                            "relmas-llf": (4, 0.91), "relmas-srpt": (3, 0.96)}),
        ("b", 0.9): dict(triage=(9, 0.97), edf=(5, 0.93), sjf=(6, 0.94), relmas=(7, 0.95),
                         **{"drl-theta0.8": (9, 0.97), "drl-theta1": (7, 0.98),
                            "relmas-llf": (7, 0.95), "relmas-srpt": (6, 0.93)}),
    }
    return pd.DataFrame([dict(scenario=s, load=ld, scheduler=n, seed=0, tenants=10, upheld=u, hit_rate=h)
                         for (s, ld), d in cells.items() for n, (u, h) in d.items()])


def test_oracle_constant_and_rivals_by_hand():
    cell, per = headroom(_rows())
    assert cell["oracle_theta"].tolist() == [8, 9] and cell["best_theta"].tolist() == ["1", "0.8"]
    assert cell["best_rival"].tolist() == ["edf", "triage"]
    r = per.iloc[0]
    assert r["oracle_theta"] == 17 and r["triage"] == 15
    # rival totals: triage 15, edf 12, sjf 11, relmas 11 -> best triage 15; need 15 + ceil(0.05 * 20) = 16
    assert (r["best_rival"], r["best_rival_total"], r["need"], r["oracle_theta_minus_need"]) == ("triage", 15, 16, 1)
    assert r["best_const_theta"] == "0.8" and r["best_const_theta_total"] == 15  # 15 vs 15: first wins
    assert r["oracle_mode_hit"] == pytest.approx((0.96 + 0.95) / 2)
    assert r["best_agnostic"] == "sjf" and r["best_agnostic_hit"] == pytest.approx(0.945)


def test_needs_constant_columns():
    df = _rows()
    with pytest.raises(ValueError, match="constant"):
        headroom(df[~df["scheduler"].str.startswith("drl-theta")])
