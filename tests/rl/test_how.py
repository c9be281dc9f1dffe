"""drl's "how" dispatch variants (rl/protect.HowController, compiled_policy.how_pick) and their search.

Hand cases whose outcome is computed on paper (which order, filter and placement serves whom), the
Python and compiled cores giving the same runs bit for bit, the known identities (today's variant
with triage's line is ``triage`` where a sub never sees more than 8 SLOs; with a mask it is the
protect dispatch, serve and shed), and the search's summary on a hand-made grid.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fairsched.api import build
from fairsched.errors import InputError
from fairsched.rl.protect import HowScheduler, ProtectScheduler
from fairsched.schedulers.registry import make
from fairsched.sim.engine import SimConfig, Simulator
from tests.conftest import make_platform, make_table, make_workload
from tests.oracle.engine_py import simulator  # core="python": the oracle, the Python event loop
from tests.sim.test_compiled import outcome


def _both(plat, costs, wl, sched, arrivals=None, **cfg):
    """Run ``sched()`` on both cores; assert the same run; return the compiled one."""
    sims = []
    for core in ("python", "compiled"):
        sim = simulator(plat, costs, wl, SimConfig(log_requests=True, core=core, **cfg), arrivals=arrivals)
        sim.run(sched())
        assert sim.core_used == core
        sims.append(sim)
    assert outcome(sims[0]) == outcome(sims[1])
    return sims[1]


def _order_case():
    """One sub; r0 (SLO 0): 1 s of work, deadline 1.3 s (laxity 0.3); r1 (SLO 1): 0.25 s, deadline
    1.2 s (laxity 0.95); both at 0. Least laxity runs r0 first: r1 could end only at 1.25 > 1.2 (1 hit).
    Earliest deadline, least remaining work: r1 first (ends 0.25), then r0 ends 1.25 <= 1.3 (2 hits)."""
    costs = make_table({"a": {"x": [(1.0, 0.0)]}, "b": {"x": [(0.25, 0.0)]}})
    plat = make_platform([("x", 1)])
    wl = make_workload(plat, costs, [("t0", "a", 1.3, 0.5), ("t1", "b", 1.2, 0.5)], requests=2)
    return plat, costs, wl, [(0.0, 0), (0.0, 1)]


@pytest.mark.parametrize("order, hits", [("llf", [1, 0]), ("edf", [1, 1]), ("srpt", [1, 1]), ("sjf", [1, 1])])
def test_order_inside_the_protected_class(order, hits):
    plat, costs, wl, arr = _order_case()
    sim = _both(plat, costs, wl, lambda: HowScheduler(order, "llf", protect=[1, 1]), arrivals=arr)
    assert sim.slo_hits == hits


@pytest.mark.parametrize("uorder, hits", [("llf", [1, 0]), ("edf", [1, 1]), ("none", [0, 0])])
def test_order_of_the_unprotected(uorder, hits):
    """Nobody protected: the savable class's order decides; ``none`` never starts anyone."""
    plat, costs, wl, arr = _order_case()
    sim = _both(plat, costs, wl, lambda: HowScheduler("llf", uorder, protect=[0, 0]), arrivals=arr)
    assert sim.slo_hits == hits


def test_protected_before_unprotected_whatever_the_orders():
    """Only t0 protected: r0 first under every order (r1 then misses), even where the order prefers r1."""
    plat, costs, wl, arr = _order_case()
    for order in ("edf", "srpt", "sjf"):
        sim = _both(plat, costs, wl, lambda o=order: HowScheduler(o, o, protect=[1, 0]), arrivals=arr)
        assert sim.slo_hits == [1, 0]


def _filter_case():
    """Subs 0 (slow, 1 s) and 1 (fast, 0.4 s); two one-layer requests at 0, deadline 0.9 s: neither can
    finish on the slow sub. ``env`` / ``feasible``: sub 0 stays idle, the fast sub runs both (ends 0.4,
    0.8): 2 hits. ``any``: sub 0 starts r0 (aborted at 0.9), the fast sub r1: 1 hit."""
    costs = make_table({"a": {"slow": [(1.0, 0.0)], "fast": [(0.4, 0.0)]}})
    plat = make_platform([("slow", 1), ("fast", 1)])
    wl = make_workload(plat, costs, [("t0", "a", 0.9, 0.5)], requests=2)
    return plat, costs, wl, [(0.0, 0), (0.0, 0)]


@pytest.mark.parametrize("filt, hits", [("env", 2), ("feasible", 2), ("any", 1)])
def test_filter(filt, hits):
    plat, costs, wl, arr = _filter_case()
    sim = _both(plat, costs, wl, lambda: HowScheduler("llf", "llf", filt, "sub", protect=[1]), arrivals=arr)
    assert sim.slo_hits == [hits]
    assert sim.aborted_layers == (1 if filt == "any" else 0)


@pytest.mark.parametrize("place, busy", [("sub", [1.0, 0.0]), ("fastest", [0.0, 0.4])])
def test_placement(place, busy):
    """One request (deadline 2 s) on an idle platform: ``sub`` gives it the lowest-index idle sub (slow,
    feasible and not risky there), ``fastest`` the fast one."""
    costs = make_table({"a": {"slow": [(1.0, 0.0)], "fast": [(0.4, 0.0)]}})
    plat = make_platform([("slow", 1), ("fast", 1)])
    wl = make_workload(plat, costs, [("t0", "a", 2.0, 0.5)], requests=1)
    sim = _both(plat, costs, wl, lambda: HowScheduler("llf", "llf", "env", place, protect=[1]), arrivals=[(0.0, 0)])
    assert sim.slo_hits == [1] and [round(b, 9) for b in sim.busy] == busy


def test_todays_variant_with_the_line_is_triage():
    """4 tenants, 6 SLOs (<= 8: triage's candidate menu holds every SLO's head), two types: the same run."""
    costs = make_table({"a": {"x": [(0.02, 1e3), (0.03, 1e3)], "y": [(0.05, 1e3), (0.01, 1e3)]},
                        "b": {"x": [(0.04, 1e3)], "y": [(0.02, 1e3)]},
                        "c": {"x": [(0.01, 1e3), (0.01, 1e3), (0.02, 1e3)], "y": [(0.03, 1e3), (0.02, 1e3), (0.01, 1e3)]}})
    plat = make_platform([("x", 2), ("y", 1)], bandwidth=1e6)
    slos = [("t0", "a", 0.12, 0.9), ("t0", "b", 0.2, 0.8), ("t1", "c", 0.1, 0.95), ("t2", "a", 0.3, 0.7),
            ("t2", "c", 0.15, 0.9), ("t3", "b", 0.1, 0.99)]
    for load in (0.9, 1.3):
        wl = make_workload(plat, costs, slos, load=load, requests=600, warmup=0.1)
        ref = Simulator(plat, costs, wl, SimConfig(log_requests=True, seed=3)).run(make("triage"))
        got = _both(plat, costs, wl, lambda: HowScheduler(), seed=3)
        assert outcome(got) == outcome(ref)


@pytest.mark.parametrize("load", [0.9, 1.2])
def test_with_a_mask_todays_variant_is_the_protect_dispatch(load):
    """``llf/llf/env/sub`` with a mask = ProtectScheduler serve, ``llf/none/env/sub`` = shed; per SLO too."""
    plat, costs, wl = build(requests=500, load=load)
    T = len(wl.tenants)
    mask = (np.arange(T) % 3 != 1).astype(np.float32)
    for shed, uorder in ((False, "llf"), (True, "none")):
        ref = Simulator(plat, costs, wl, SimConfig(log_requests=True, seed=2)).run(ProtectScheduler(mask, shed))
        got = Simulator(plat, costs, wl, SimConfig(log_requests=True, seed=2)).run(HowScheduler("llf", uorder, protect=mask))
        assert outcome(got) == outcome(ref)
    st = np.array([s.tenant for s in wl.slos])
    sm = np.ones(len(st), np.float32)
    sm[1::3] = 0.0
    ref = Simulator(plat, costs, wl, SimConfig(log_requests=True, seed=2)).run(ProtectScheduler(sm, per_slo=True))
    got = Simulator(plat, costs, wl, SimConfig(log_requests=True, seed=2)).run(HowScheduler(protect=sm, per_slo=True))
    assert outcome(got) == outcome(ref)


# every value of every dimension at least once, with the line, a mask and a per-SLO mask
_VARIANTS = [("edf", "sjf", "env", "fastest", "line"), ("srpt", "llf", "feasible", "sub", "line"),
             ("sjf", "edf", "any", "fastest", "line"), ("srpt", "none", "env", "fastest", "mask"),
             ("sjf", "srpt", "feasible", "fastest", "mask"), ("llf", "sjf", "any", "sub", "slo")]


@pytest.mark.parametrize("variant", _VARIANTS)
def test_default_scenario_identical_on_both_cores(variant):
    order, uorder, filt, place, kind = variant
    plat, costs, wl = build(requests=500, load=1.2)
    n = len(wl.slos) if kind == "slo" else len(wl.tenants)
    protect = "line" if kind == "line" else (np.arange(n) % 4 != 0).astype(np.float32)
    _both(plat, costs, wl, lambda: HowScheduler(order, uorder, filt, place, protect, per_slo=kind == "slo"), seed=1)


def test_bad_arguments():
    with pytest.raises(InputError, match=r"^order: 'fifo' unknown"):
        HowScheduler("fifo")
    with pytest.raises(InputError, match=r"^order: 'none' unknown"):
        HowScheduler("none")
    with pytest.raises(InputError, match=r"^place: 'left' unknown"):
        HowScheduler(place="left")
    with pytest.raises(InputError, match=r"^protect: 'all' unknown"):
        HowScheduler(protect="all")


def test_summary_on_a_hand_made_grid():
    """Two cells of load 0.9 (5 tenants each), triage 3 and 4; variants A (today) and B.
    Fixed rule: A totals 3 + 4 = 7, B 5 + 3 = 8 -> B. Per-cell oracle: 5 (B) and 4 (A, first on the tie
    at equal margins), 9 in total; with masks the best is 5 + 5 = 10; need = 7 + ceil(0.05 * 10) = 8."""
    from fairsched.experiments import how_search as hs

    A, B = hs.TODAY, "sjf/sjf/env/fastest"
    rows = []
    for sc, tri, a, b, ma, mb in (("c1", 3, 3, 5, 4, 5), ("c2", 4, 4, 3, 5, 4)):
        rows.append(dict(scenario=sc, load=0.9, tenants=5, kind="triage", variant="triage", upheld=tri, neg_margin=-1.0))
        for kind, va, vb in (("line", a, b), ("mask", ma, mb)):
            rows.append(dict(scenario=sc, load=0.9, tenants=5, kind=kind, variant=A, upheld=va, neg_margin=-1.0))
            rows.append(dict(scenario=sc, load=0.9, tenants=5, kind=kind, variant=B, upheld=vb, neg_margin=-1.0))
    rules, cells, loads = hs.summarise(pd.DataFrame(rows))
    tot = loads.iloc[0]
    assert (tot["triage"], tot["line_today"], tot["rule_per_load"], tot["oracle_line"]) == (7, 7, 8, 9)
    assert (tot["oracle_mask"], tot["oracle_best"], tot["need"]) == (10, 10, 8)
    assert tot["rule_per_load_variant"] == B
    assert cells.set_index("scenario").loc["c2", "oracle_line_variant"] == A
    r = rules.set_index(["kind", "variant"])
    assert r.loc[("line", B), "upheld_0.9"] == 8 and r.loc[("mask", A), "upheld_0.9"] == 9


@pytest.mark.parametrize("argv, field", [(["--loads", "x"], "--loads"), (["--jobs", "0"], "--jobs"),
                                         (["--masks", "no/such.csv"], "--masks"),
                                         (["--variants", "llf/llf/env/left"], "--variants"),
                                         (["--switch-from", "no/such"], "--switch-from")])
def test_search_cli_bad_input(argv, field, capsys):
    from fairsched.experiments.how_search import main
    from tests.rl.conftest import one_error_line

    assert field in one_error_line(main, argv, capsys)


def test_switching_variants_within_a_run():
    """Variants switched at cycle boundaries: both cores agree; one variant in every segment is the
    fixed run; two different segments are another run (with the line and with a mask)."""
    from fairsched.rl.protect import ScheduledHow

    plat, costs, wl = build(requests=800, load=1.2)
    a, b = "llf/llf/env/sub", "sjf/sjf/feasible/fastest"
    for protect in ("line", (np.arange(len(wl.tenants)) % 2).astype(np.float32)):
        fixed = _both(plat, costs, wl, lambda: HowScheduler(*b.split("/"), protect=protect), seed=4)
        one = _both(plat, costs, wl, lambda: ScheduledHow([b, b], protect), seed=4)
        two = _both(plat, costs, wl, lambda: ScheduledHow([a, b], protect), seed=4)
        assert outcome(one) == outcome(fixed) and outcome(two) != outcome(one)
    with pytest.raises(InputError, match=r"^filter: 'x' unknown"):
        ScheduledHow([a, "llf/llf/x/sub"])


def test_triage_sjf_is_registered_and_is_that_variant():
    """``triage-sjf`` (the best fixed variant of the search) = llf/sjf/env/sub with triage's line."""
    from fairsched.schedulers.registry import available

    from fairsched.api import default_schedulers
    from fairsched.experiments.headroom import DRL_RIVALS

    assert "triage-sjf" in available() and "triage-sjf" in default_schedulers() and "triage-sjf" in DRL_RIVALS
    plat, costs, wl = build(requests=500, load=1.2)
    ref = Simulator(plat, costs, wl, SimConfig(log_requests=True, seed=6)).run(HowScheduler("llf", "sjf"))
    got = Simulator(plat, costs, wl, SimConfig(log_requests=True, seed=6)).run(make("triage-sjf"))
    assert got.core_used == "compiled" and outcome(got) == outcome(ref)
