"""Metric definitions against values computed by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from fairsched.metrics import jain, tenant_frame


def test_jain_known_values():
    assert jain([1, 1, 1, 1]) == pytest.approx(1.0)
    assert jain([1, 0]) == pytest.approx(0.5)
    assert jain([1, 0, 0, 0]) == pytest.approx(0.25)
    assert math.isnan(jain([]))


def test_tenant_margin_is_min_over_slos_and_upheld_needs_all():
    slos = pd.DataFrame(
        [
            dict(tenant="a", model="m1", target=0.9, requests=100, hits=95, hit_rate=0.95, margin=0.05, achieved=True),
            dict(tenant="a", model="m2", target=0.99, requests=100, hits=98, hit_rate=0.98, margin=-0.01, achieved=False),
            dict(tenant="b", model="m1", target=0.8, requests=50, hits=45, hit_rate=0.9, margin=0.1, achieved=True),
            dict(tenant="c", model="m1", target=0.8, requests=0, hits=0, hit_rate=float("nan"), margin=float("nan"), achieved=False),
        ]
    )
    t = tenant_frame(slos).set_index("tenant")
    assert t.loc["a", "margin"] == pytest.approx(-0.01)
    assert t.loc["a", "target"] == 0.99 and t.loc["a", "binding_model"] == "m2"
    assert t.loc["a", "achievement"] == pytest.approx(193 / 200)
    assert not t.loc["a", "upheld"] and t.loc["b", "upheld"]
    assert "c" not in t.index  # no request in the window: left out
