"""DBP (distance-based priority): distances and orders worked out by hand."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from fairsched.metrics import slo_frame
from fairsched.schedulers.dbp import NO_MK, distance
from fairsched.schedulers.registry import make
from fairsched.sim.engine import SimConfig
from fairsched.workload.scenario import ScenarioConfig, resolve
from tests.conftest import make_platform, make_table
from tests.oracle.engine_py import simulator  # core="python": the oracle, the Python event loop


@pytest.mark.parametrize("history, m, k, expected", [
    ([], 9, 10, 2),                   # fresh stream (all hits): k - m + 1 misses to fail
    ([1] * 10, 9, 10, 2),
    ([0], 9, 10, 1),                  # one miss already: the next one fails
    ([1, 0, 0], 4, 5, 0),             # padded window H H H 0 0 ... -> 1 H + 2 pad = 3 < 4: failing now
    ([0, 1, 1], 3, 5, 2),             # padded H H M H H: two misses leave M H H -> 2 < 3
    ([1, 1, 0, 1], 2, 3, 1),          # last 3 = 1 0 1: one miss leaves 0 1 M -> 1 < 2
    ([0, 0, 1, 1, 1], 3, 3, 1),       # only the last k count
])
def test_distance_by_hand(history, m, k, expected):
    assert distance(history, m, k) == expected


def test_order_on_a_hand_made_case():
    slos = [SimpleNamespace(mk=(9, 10), target=0.9), SimpleNamespace(mk=(2, 3), target=0.6),
            SimpleNamespace(mk=None, target=0.99), SimpleNamespace(mk=(4, 5), target=0.8)]
    sim = SimpleNamespace(workload=SimpleNamespace(slos=slos), on_end=None)
    d = make("dbp")
    d.reset(sim, 0)
    for s, hit in [(0, False), (3, True), (3, False), (3, False)]:
        sim.on_end(SimpleNamespace(slo=s), hit)
    assert d.dist == [1, 2, NO_MK, 0]
    R = lambda i, slo, dl: SimpleNamespace(id=i, slo=slo, deadline=dl)  # noqa: E731
    ready = [R(0, 2, 1.0), R(1, 1, 2.0), R(2, 0, 5.0), R(3, 0, 3.0), R(4, 3, 9.0)]
    sim.ready = {r.id: r for r in ready}
    sim.idle = [0, 1, 2]
    sim.fastest_idle = lambda req, idle: idle[0]
    # distance 0 (slo 3), then distance 1 by deadline (3.0 before 5.0), then 2; rate-only last
    assert [r.id for r in sorted(ready, key=d.req_key(sim))] == [4, 3, 2, 1, 0]
    dec = d.decide(sim)
    assert [(r.id, s) for r, s in dec.assign] == [(4, 0), (3, 1), (2, 2)]


def _two_streams():
    costs = make_table({"u": {"x": [(1.0, 0.0)]}})
    plat = make_platform([("x", 1)])
    cfg = ScenarioConfig.model_validate(dict(load=0.5, requests=4, warmup_fraction=0.0, tenants=[
        dict(name="A", slos=[dict(model="u", deadline_ms=1000, mk=[1, 2])]),
        dict(name="B", slos=[dict(model="u", deadline_ms=1200, mk=[1, 2])]),
    ]))
    return plat, costs, resolve(cfg, plat, costs)


def test_dbp_serves_the_stream_closer_to_failure_where_edf_does_not():
    # t=0: a0 (A, dl 1.0) and b0 (B, dl 1.2), 1 s each on one sub: only one can hit; equal distance (2),
    # so both take a0 (earlier deadline) and b0 misses. t=2: a1 (dl 3.0), b1 (dl 3.2). EDF takes a1
    # again: B misses twice, its window M M violates (1,2). DBP: B is 1 miss from failure, A 2: b1 runs.
    plat, costs, wl = _two_streams()
    arr = [(0.0, 0), (0.0, 1), (2.0, 0), (2.0, 1)]
    out = {}
    for name in ("edf", "dbp"):
        sim = simulator(plat, costs, wl, SimConfig(log_requests=True, core="python"), arrivals=arr)
        sim.run(make(name))
        out[name] = ({r[0]: r[7] for r in sim.request_log}, list(slo_frame(sim)["mk_violations"]))
    assert out["edf"] == ({0: True, 1: False, 2: True, 3: False}, [0, 1])
    assert out["dbp"] == ({0: True, 1: False, 2: False, 3: True}, [0, 0])


def test_without_mk_slos_dbp_orders_as_edf():
    from fairsched.api import build, run_one

    plat, table, wl = build(requests=600, load=1.1)
    a, b = run_one(plat, table, wl, "edf", seed=3), run_one(plat, table, wl, "dbp", seed=3)
    cols = ["requests", "hits", "dropped"]
    assert a.slos[cols].equals(b.slos[cols])
