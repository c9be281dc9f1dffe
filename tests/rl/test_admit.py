"""The admission lever of drl's dispatch (rl/protect.HowController ``admit`` / ``delta``,
compiled_policy.how_pick) and its hindsight search (experiments/admit_search).

A hand case whose outcome is computed on paper (spending one request of a tenant with slack lets
the other tenant meet its target), the Python and compiled cores giving the same runs bit for bit,
``off`` being the dispatch without admission, and the search's summary on a hand-made grid.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairsched.api import build
from fairsched.errors import InputError
from fairsched.rl.protect import HowScheduler
from fairsched.schedulers.registry import make
from fairsched.sim.engine import SimConfig, Simulator
from tests.conftest import make_platform, make_table, make_workload
from tests.rl.test_how import _both
from tests.sim.test_compiled import outcome


def _slack_case():
    """One sub, two tenants, 4 requests (N = 2 per SLO, no warm-up).

    Tenant A (SLO 0): model a, 0.9 s, deadline 1.0 s, target 0.5. Tenant B (SLO 1): model b, 1.0 s,
    deadline 1.5 s, target 1.0. Arrivals: a0 at 0; a1 and b0 at 1; b1 at 3.
    a0 runs 0 -> 0.9, a hit: A's running hit rate is 1/1, margin 0.5; B has no ended request.
    At 1, least laxity: a1 (2.0 - 1 - 0.9 = 0.1) before b0 (2.5 - 1 - 1 = 0.5): a1 ends 1.9 (hit),
    b0 could end only at 2.9 > 2.5 (miss); b1 runs 3 -> 4 (hit). A 2/2 upheld, B 1/2 not: 1 tenant.
    With admission (A has slack: margin ``0.5 >= delta``; B none: no request of it has ended, so no
    evidence of slack): a1 is served after b0 or not at all; b0 runs 1 -> 2 (hit), a1 can no longer
    finish (miss), b1 hits: A 1/2 = its target, B 2/2: 2 tenants. (At a0's arrival A has no ended
    request either: a0 runs.)"""
    costs = make_table({"a": {"x": [(0.9, 0.0)]}, "b": {"x": [(1.0, 0.0)]}})
    plat = make_platform([("x", 1)])
    wl = make_workload(plat, costs, [("A", "a", 1.0, 0.5), ("B", "b", 1.5, 1.0)], requests=4)
    return plat, costs, wl, [(0.0, 0), (1.0, 0), (1.0, 1), (3.0, 1)]


def _upheld(sim) -> int:
    from fairsched.metrics import slo_frame, tenant_frame

    return int(tenant_frame(slo_frame(sim))["upheld"].sum())


@pytest.mark.parametrize("admit, delta, hits, upheld", [
    ("off", 0.0, [2, 1], 1),
    ("demote", 0.1, [1, 2], 2), ("defer", 0.1, [1, 2], 2), ("drop", 0.1, [1, 2], 2),
    ("drop", 0.5, [1, 2], 2),  # A's margin 0.5 >= 0.5: still slack
    ("drop", 0.6, [2, 1], 1),  # 0.5 < 0.6: no slack, as without admission
    ("demote", 0.0, [1, 2], 2),  # B has no slack even at delta 0: none of its requests has ended
])
def test_spending_the_slack_of_one_tenant_saves_the_other(admit, delta, hits, upheld):
    plat, costs, wl, arr = _slack_case()
    sim = _both(plat, costs, wl, lambda: HowScheduler("llf", "llf", protect=[1, 1], admit=admit, delta=delta),
                arrivals=arr)
    assert sim.slo_hits == hits and _upheld(sim) == upheld


def test_demote_keeps_the_unprotected_behind():
    """A protected, B not (savable). ``demote`` moves only a protected
    tenant's slack request (to class 1), which is still ahead of an unprotected savable one (class 2):
    a1 runs first, as without admission; ``defer`` moves it behind every savable request: b0 first."""
    plat, costs, wl, arr = _slack_case()
    for admit, hits in (("off", [2, 1]), ("demote", [2, 1]), ("defer", [1, 2])):
        sim = _both(plat, costs, wl, lambda: HowScheduler("llf", "llf", protect=[1, 0], admit=admit, delta=0.1),
                    arrivals=arr)
        assert sim.slo_hits == hits, admit


@pytest.mark.parametrize("admit, delta", [("demote", 0.02), ("defer", 0.0), ("drop", 0.05)])
def test_default_scenario_identical_on_both_cores(admit, delta):
    plat, costs, wl = build(requests=500, load=1.2)
    _both(plat, costs, wl, lambda: HowScheduler("llf", "sjf", theta=1.0, admit=admit, delta=delta), seed=1)


def test_off_is_triage_sjf_and_admission_changes_the_run():
    plat, costs, wl = build(requests=500, load=1.2)
    ref = Simulator(plat, costs, wl, SimConfig(log_requests=True, seed=6)).run(make("triage-sjf"))
    off = Simulator(plat, costs, wl, SimConfig(log_requests=True, seed=6)).run(HowScheduler("llf", "sjf", admit="off",
                                                                                            delta=0.3))
    drop = Simulator(plat, costs, wl, SimConfig(log_requests=True, seed=6)).run(HowScheduler("llf", "sjf", admit="drop"))
    assert outcome(off) == outcome(ref) and outcome(drop) != outcome(ref)


def test_bad_arguments():
    with pytest.raises(InputError, match=r"^admit: 'skip' unknown"):
        HowScheduler(admit="skip")
    with pytest.raises(InputError, match=r"^delta: "):
        HowScheduler(admit="drop", delta=float("nan"))
    with pytest.raises(InputError, match=r"^delta: "):
        HowScheduler(admit="drop", delta=2.0)


def test_summary_on_a_hand_made_grid():
    """Two cells of load 1.2 (10 tenants each): triage 5 / 6, triage-sjf (off) 6 / 6, setting X 8 / 5,
    Y 7 / 7. Best fixed rule: X 13, Y 14 -> Y (14). Oracle per cell: 8 (X) + 7 (Y) = 15.
    Need = max(triage 11, triage-sjf 12) + ceil(0.05 * 20) = 13."""
    from fairsched.experiments import admit_search as ad

    X, Y = "drop/0.02/0.8", "defer/0.05/1"
    rows = []
    for sc, tri, off, x, y in (("c1", 5, 6, 8, 7), ("c2", 6, 6, 5, 7)):
        for s, n in (("triage", tri), (ad.OFF, off), (X, x), (Y, y)):
            rows.append(dict(scenario=sc, load=1.2, tenants=10, setting=s, upheld=n, neg_margin=-1.0))
    rules, cells, loads = ad.summarise(pd.DataFrame(rows))
    tot = loads.iloc[0]
    assert (tot["triage"], tot["triage_sjf"], tot["rule_per_load"], tot["oracle"], tot["need"]) == (11, 12, 14, 15, 13)
    assert tot["rule_per_load_setting"] == Y
    assert cells.set_index("scenario").loc["c1", "oracle_setting"] == X
    assert rules.set_index("setting").loc[X, "upheld_1.2"] == 13
    assert "mask_off" not in loads


def test_summary_with_hindsight_masks():
    """The grid above plus mask rows: c1 off 7, X 9; c2 off 6, X 6. Mask oracle 9 + 6 = 15; the
    better of line and mask per cell: max(8, 9) + max(7, 6) = 16; rules count the line rows only."""
    from fairsched.experiments import admit_search as ad

    X, Y = "drop/0.02/0.8", "defer/0.05/1"
    rows = []
    for sc, tri, off, x, y, moff, mx in (("c1", 5, 6, 8, 7, 7, 9), ("c2", 6, 6, 5, 7, 6, 6)):
        for s, n in (("triage", tri), (ad.OFF, off), (X, x), (Y, y)):
            rows.append(dict(scenario=sc, load=1.2, tenants=10, kind="line", setting=s, upheld=n, neg_margin=-1.0))
        for s, n in ((ad.OFF, moff), (X, mx)):
            rows.append(dict(scenario=sc, load=1.2, tenants=10, kind="mask", setting=s, upheld=n, neg_margin=-1.0))
    rules, cells, loads = ad.summarise(pd.DataFrame(rows))
    tot = loads.iloc[0]
    assert (tot["oracle"], tot["mask_off"], tot["oracle_mask"], tot["oracle_all"]) == (15, 13, 15, 16)
    assert cells.set_index("scenario").loc["c1", "oracle_mask_setting"] == X
    assert rules.set_index("setting").loc[X, "upheld_1.2"] == 13


def test_settings_and_labels():
    from fairsched.experiments import admit_search as ad

    s = ad.settings(("drop",), (0.0, 0.05), (0.8, 1.0))
    assert s == [ad.OFF, "off/0/1", "drop/0/0.8", "drop/0/1", "drop/0.05/0.8", "drop/0.05/1"]
    c = ad.admit_scheduler("drop/0.05/1").ctl
    assert (c.admit, c.delta, c._theta) == ("drop", float(np.float32(0.05)), 1.0)


@pytest.mark.parametrize("argv, field", [(["--loads", "x"], "--loads"), (["--jobs", "0"], "--jobs"),
                                         (["--modes", "skip"], "--modes"), (["--deltas", "a"], "--deltas"),
                                         (["--deltas", "3"], "--deltas"), (["--thetas", "0"], "--thetas"),
                                         (["--masks", "no/such.csv"], "--masks")])
def test_search_cli_bad_input(argv, field, capsys):
    from fairsched.experiments.admit_search import main
    from tests.rl.conftest import one_error_line

    assert field in one_error_line(main, argv, capsys)
