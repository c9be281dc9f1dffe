"""Each baseline's order, checked on schedules worked out by hand (one 1-Hz sub, unlimited BW)."""

from __future__ import annotations

import pytest

from fairsched.schedulers.registry import available, make
from fairsched.sim.engine import SimConfig, Simulator
from tests.conftest import make_platform, make_table, make_workload

COSTS = make_table({"long": {"x": [(3.0, 0.0)]}, "short": {"x": [(1.0, 0.0)]}, "mid": {"x": [(2.0, 0.0)]}})
PLAT = make_platform([("x", 1)])
# R0 = A (long, 3 s, D=10), R1 = B (short, 1 s, D=20), R2 = C (mid, 2 s, D=5), all arriving at 0
WL = make_workload(PLAT, COSTS, [("tA", "long", 10, 0.9), ("tB", "short", 20, 0.9), ("tC", "mid", 5, 0.9)])
ARR = [(0.0, 0), (0.0, 1), (0.0, 2)]


def ends(name, wl=WL, arrivals=ARR, plat=PLAT, costs=COSTS):
    sim = Simulator(plat, costs, wl, SimConfig(log_requests=True), arrivals=arrivals)
    sim.run(make(name))
    return {r[0]: (r[6], r[7]) for r in sim.request_log}


@pytest.mark.parametrize(
    "name, expected",
    [
        # FCFS: A 0-3, B 3-4; C could only end at 6 > 5: shed at 4
        ("fcfs", {0: (3.0, True), 1: (4.0, True), 2: (4.0, False)}),
        # EDF: C (dl 5) 0-2, A (dl 10) 2-5, B (dl 20) 5-6
        ("edf", {0: (5.0, True), 1: (6.0, True), 2: (2.0, True)}),
        # SJF: B 0-1, C 1-3, A 3-6
        ("sjf", {0: (6.0, True), 1: (1.0, True), 2: (3.0, True)}),
        # LLF: laxities A 7, B 19, C 3 -> C, A, B
        ("llf", {0: (5.0, True), 1: (6.0, True), 2: (2.0, True)}),
    ],
)
def test_orderings(name, expected):
    assert ends(name) == expected


def test_round_robin_alternates_tenants():
    costs = make_table({"m": {"x": [(1.0, 0.0)]}})
    wl = make_workload(PLAT, costs, [("t0", "m", 100, 0.9), ("t1", "m", 100, 0.9)])
    # t0 sends 3 requests at 0, 0.1, 0.2; t1 one at 0.3. At t=1 both tenants wait: t1 goes next.
    e = ends("rr", wl, [(0.0, 0), (0.1, 0), (0.2, 0), (0.3, 1)], costs=costs)
    assert [e[i][0] for i in range(4)] == [1.0, 3.0, 4.0, 2.0]
    # FCFS would run t1's request last
    assert ends("fcfs", wl, [(0.0, 0), (0.1, 0), (0.2, 0), (0.3, 1)], costs=costs)[3][0] == 4.0


def test_sla_aware_serves_the_slo_furthest_below_target():
    costs = make_table({"m": {"x": [(1.0, 0.0)]}})
    wl = make_workload(PLAT, costs, [("loose", "m", 100, 0.5), ("strict", "m", 100, 0.99)])
    # both waiting at t=1 with no history: deficits 0.5-1 < 0.99-1 -> strict first, even though
    # the loose request arrived earlier and has the earlier deadline
    e = ends("sla-aware", wl, [(0.0, 0), (0.2, 0), (0.5, 1)], costs=costs)
    assert e[2][0] == 2.0 and e[1][0] == 3.0


def test_affinity_edf_waits_for_the_preferred_type():
    costs = make_table({"m": {"x": [(1.0, 0.0)], "y": [(4.0, 0.0)]}})
    plat = make_platform([("x", 1), ("y", 1)])
    wl = make_workload(plat, costs, [("t", "m", 100, 0.9)])
    arr = [(0.0, 0), (0.0, 0)]
    # affinity-edf: y is 4x slower (> 1.5x): R1 waits for x -> ends at 2; edf sends it to y -> 4
    assert ends("affinity-edf", wl, arr, plat, costs)[1][0] == 2.0
    assert ends("edf", wl, arr, plat, costs)[1][0] == 4.0


def test_prema_prefers_high_priority_tenant_after_waiting():
    costs = make_table({"m": {"x": [(1.0, 0.0)]}})
    wl = make_workload(PLAT, costs, [("low", "m", 100, 0.5), ("high", "m", 100, 0.99)])
    # at t=1 low (a=0.1) has tokens 1*0.9=0.9, high (a=0.5) 9*0.5=4.5 -> high reaches level 3 first
    e = ends("prema", wl, [(0.0, 0), (0.1, 0), (0.5, 1)], costs=costs)
    assert e[2][0] == 2.0 and e[1][0] == 3.0


def test_registry_lists_all_baselines_and_rejects_unknown():
    from fairsched.errors import InputError

    names = set(available())
    assert {"fcfs", "edf", "llf", "sjf", "rr", "prema", "affinity-edf", "sla-aware"} <= names
    with pytest.raises(InputError, match="unknown"):
        make("nope")
