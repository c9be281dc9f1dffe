"""(m,k)-firm constraints: the window rule on hand-computed sequences, the scenario field, and the
metrics of real runs (both simulator cores; an independent recount from the request log)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fairsched.api import build, run_one
from fairsched.errors import InputError
from fairsched.metrics import judge, judge_summary, mk_stats, tenant_frame
from fairsched.workload.scenario import load_scenario
from tests.oracle.engine_py import api_on_oracle


def test_window_rule_hand_computed():
    # windows of 3: 110 101 011 110 100 001 011 111 -> hits 2 2 2 2 1 1 2 3: two with < 2 hits
    s = mk_stats([1, 1, 0, 1, 1, 0, 0, 1, 1, 1], 2, 3)
    assert s["mk_windows"] == 8 and s["mk_violations"] == 2
    assert s["mk_violation_frac"] == pytest.approx(2 / 10)  # requests 4 and 5 start a violating window
    assert not s["mk_satisfied"]
    assert s["mk_margin"] == pytest.approx((1 - 2) / 3)  # worst window: 1 hit, m = 2


def test_window_rule_edge_cases():
    s = mk_stats([1] * 5, 3, 3)
    assert (s["mk_windows"], s["mk_violations"], s["mk_margin"]) == (3, 0, 0.0) and s["mk_satisfied"]
    # (1,1): every miss is a violation
    assert mk_stats([1, 0, 1, 0, 0], 1, 1)["mk_violations"] == 3
    # fewer than k requests: no full window, vacuously satisfied, margin undefined
    s = mk_stats([0, 0], 1, 3)
    assert s["mk_windows"] == 0 and s["mk_violations"] == 0 and s["mk_satisfied"] and math.isnan(s["mk_margin"])


def test_long_run_rate_hides_a_burst_that_mk_catches():
    # 1,000 requests, 50 misses in a row (requests 100..149): hit rate 0.95 exactly
    h = np.ones(1000, dtype=int)
    h[100:150] = 0
    assert h.mean() == pytest.approx(0.95)
    s = mk_stats(h, 19, 20)
    # a window [i, i+19] violates iff it holds >= 2 misses: i+19 >= 101 and i <= 148 -> i in 82..148
    assert s["mk_violations"] == 148 - 82 + 1 == 67
    assert s["mk_windows"] == 981 and s["mk_margin"] == pytest.approx((0 - 19) / 20)


def test_scenario_mk_field_and_rate_target():
    cfg, _ = load_scenario(dict(tenants=[dict(name="v", slos=[
        dict(model="resnet18", deadline_x=3, mk=[9, 10]),
        dict(model="googlenet", deadline_x=3, mk=[19, 20], target=0.99)])]))
    assert cfg.tenants[0].slos[0].rate_target == pytest.approx(0.9)  # mk alone: target m/k
    assert cfg.tenants[0].slos[1].rate_target == 0.99
    for bad in ([5, 3], [0, 4]):
        with pytest.raises(InputError, match=r"mk: need 1 <= m <= k"):
            load_scenario(dict(tenants=[dict(name="v", slos=[dict(model="resnet18", deadline_x=3, mk=bad)])]))
    with pytest.raises(InputError, match="give a target hit rate"):
        load_scenario(dict(tenants=[dict(name="v", slos=[dict(model="resnet18", deadline_x=3)])]))


SMALL = dict(name="small-mk", load=1.4, requests=700, warmup_fraction=0.1, tenants=[
    dict(name="video", slos=[dict(model="googlenet", deadline_x=3, mk=[9, 10], rate_share=3)]),
    dict(name="robot", slos=[dict(model="resnet18", deadline_x=2, mk=[19, 20], target=0.9)]),
    dict(name="bulk", slos=[dict(model="vgg16", deadline_x=4, target=0.9, rate_share=1)]),
])


def _recount(requests: pd.DataFrame, slos: pd.DataFrame) -> list[int]:
    """Violations recounted with pandas rolling windows over the request log (an independent path)."""
    out = []
    for i, row in slos.reset_index(drop=True).iterrows():
        if math.isnan(row["mk_k"]):
            out.append(-1)
            continue
        m, k = int(row["mk_m"]), int(row["mk_k"])
        r = requests[(requests["slo"] == i) & requests["counted"]].sort_values("arrival")
        w = r["hit"].astype(int).rolling(k).sum().dropna()
        out.append(int((w < m).sum()))
    return out


@pytest.mark.parametrize("scheduler", ["edf", "fcfs", "dbp"])
def test_run_metrics_match_an_independent_recount(scheduler):
    plat, table, wl = build(scenario=SMALL)
    res = run_one(plat, table, wl, scheduler, seed=2, log_requests=True)
    got = [int(v) if not math.isnan(v) else -1 for v in res.slos["mk_violations"]]
    assert got == _recount(res.requests, res.slos)
    assert res.summary["mk_violations"] == sum(v for v in got if v >= 0)
    if scheduler == "fcfs":
        assert res.summary["mk_violations"] > 0  # the case is not trivial


def test_mk_metrics_equal_between_the_two_cores():
    pytest.importorskip("numba")
    plat, table, wl = build(scenario=SMALL)
    with api_on_oracle():  # the Python event loop (tests/oracle/engine_py.py)
        a = run_one(plat, table, wl, "edf", seed=1)
    b = run_one(plat, table, wl, "edf", seed=1, core="compiled")
    cols = ["mk_windows", "mk_violations", "mk_violation_frac", "mk_margin", "achieved_mk", "achieved_both"]
    pd.testing.assert_frame_equal(a.slos[cols], b.slos[cols])
    for c in ("mk_violations", "tenants_upheld_mk", "tenants_upheld_both"):
        assert a.summary[c] == b.summary[c] or (math.isnan(a.summary[c]) and math.isnan(b.summary[c]))


def test_judgements():
    nan = float("nan")
    slos = pd.DataFrame([  # tenant a: rate fine, (m,k) violated; tenant b: rate-only, below target
        dict(tenant="a", model="x", target=0.9, requests=100, hits=95, hit_rate=0.95, margin=0.05, achieved=True,
             mk_m=9, mk_k=10, mk_windows=91, mk_violations=3, mk_violation_frac=0.03, mk_satisfied=False,
             mk_margin=-0.1, achieved_mk=False, achieved_both=False, margin_mk=-0.1, margin_both=-0.1),
        dict(tenant="b", model="y", target=0.9, requests=100, hits=80, hit_rate=0.8, margin=-0.1, achieved=False,
             mk_m=nan, mk_k=nan, mk_windows=nan, mk_violations=nan, mk_violation_frac=nan, mk_satisfied=None,
             mk_margin=nan, achieved_mk=False, achieved_both=False, margin_mk=-0.1, margin_both=-0.1),
    ])
    t = tenant_frame(slos).set_index("tenant")
    assert t.loc["a", "upheld"] and not t.loc["a", "upheld_mk"] and not t.loc["a", "upheld_both"]
    assert t.loc["a", "mk_violations"] == 3 and t.loc["a", "mk_satisfied"] is False
    assert t.loc["b", "mk_satisfied"] is None and math.isnan(t.loc["b", "mk_violations"])
    assert t.loc["a", "target_pooled"] == pytest.approx(0.9)
    jt = judge(t.reset_index(), "mk").set_index("tenant")
    assert not jt.loc["a", "upheld"] and jt.loc["a", "margin"] == pytest.approx(-0.1)
    s = judge_summary(pd.DataFrame([dict(tenants_upheld=0.5, tenants_upheld_mk=0.0, tenants_upheld_both=0.0,
                                         slos_achieved=0.5, slos_achieved_mk=0.0, slos_achieved_both=0.0)]), "both")
    assert s["tenants_upheld"].iloc[0] == 0.0 and s["upheld_by"].iloc[0] == "both"


def test_shipped_mk_scenario():
    from fairsched.workload.scenario import available_scenarios

    assert "mk_firm" in available_scenarios()
    _, _, wl = build(scenario="mk_firm")
    mk = {(s.tenant_name, s.model): s.mk for s in wl.slos if s.mk}
    assert mk[("video-analytics", "googlenet")] == (9, 10) and mk[("robotics", "resnet18")] == (19, 20)
    assert len(mk) == 5 and len(wl.slos) > len(mk)  # hit-rate tenants beside the (m,k) streams
    ar = next(s for s in wl.slos if s.tenant_name == "ar-overlay")
    assert ar.mk == (9, 10) and ar.target == 0.95  # both given: the explicit target stays
