"""The CP-SAT bound equals the optimum on tiny instances solved by hand or by brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

pytest.importorskip("ortools")

from fairsched.bound import _need, bound_instance, solve  # noqa: E402
from fairsched.schedulers.registry import make  # noqa: E402
from fairsched.sim.engine import SimConfig, Simulator  # noqa: E402
from tests.conftest import make_platform, make_table, make_workload  # noqa: E402


def brute_force_hits(platform, costs, wl, arrivals) -> int:
    """Most requests that can all meet their deadlines: for every subset (largest first), a depth-first
    search over every order of their layers and every sub-accelerator per layer, each layer as early
    as possible (semi-active schedules contain an optimal one), pruning chains that can no longer
    make their deadline. Solo times only (ample bandwidth)."""
    arr = sorted(arrivals)
    subs = platform.subs

    def feasible(S):
        dur = {j: [costs.get(wl.slos[arr[j][1]].model, s.type).cycles / s.clock_hz for s in subs] for j in S}
        nl = {j: len(dur[j][0]) for j in S}
        dl = {j: arr[j][0] + wl.slos[arr[j][1]].deadline for j in S}
        best_rest = {j: [sum(min(d[k] for d in dur[j]) for k in range(i, nl[j])) for i in range(nl[j] + 1)] for j in S}

        def dfs(ready, k, free):
            if all(k[j] == nl[j] for j in S):
                return True
            for j in S:
                if k[j] == nl[j]:
                    continue
                for m in range(len(subs)):
                    end = max(ready[j], free[m]) + dur[j][m][k[j]]
                    if end + best_rest[j][k[j] + 1] > dl[j]:
                        continue
                    r2, k2, f2 = dict(ready), dict(k), list(free)
                    r2[j], k2[j], f2[m] = end, k[j] + 1, end
                    if dfs(r2, k2, f2):
                        return True
            return False

        return dfs({j: arr[j][0] for j in S}, dict.fromkeys(S, 0), [0.0] * len(subs))

    for size in range(len(arr), 0, -1):
        if any(feasible(S) for S in itertools.combinations(range(len(arr)), size)):
            return size
    return 0


def test_one_sub_clairvoyant_idles_to_save_everyone():
    # one 2-s layer; R0 (a=0, D=10), R1 (a=0.5, D=3 -> 3.5), R2 (a=1, D=4 -> 5).
    # EDF runs R0 first (the only one at t=0) and loses R1. Optimal: wait for R1 (0.5-2.5), then
    # R2 (2.5-4.5), then R0 (4.5-6.5): 3 hits.
    costs = make_table({"a": {"x": [(2.0, 0.0)]}})
    plat = make_platform([("x", 1)])
    wl = make_workload(plat, costs, [("t0", "a", 10, 0.9), ("t1", "a", 3, 0.9), ("t2", "a", 4, 0.9)])
    arr = [(0.0, 0), (0.5, 1), (1.0, 2)]
    r = bound_instance(plat, costs, wl, arr, ["edf", "fcfs"])
    assert r.hits_bound == 3 and r.optimal
    assert r.upheld_bound == 3 and r.upheld_at_max_hits == 3
    row = r.schedulers.set_index("scheduler").loc["edf"]
    assert row["hits"] == 2 and row["gap_hits"] == 1
    assert brute_force_hits(plat, costs, wl, arr) == 3


def test_heterogeneous_types_and_migration():
    # layer 0 is fast on x, layer 1 fast on y: both requests hit only by moving x -> y between layers
    # R0: x 0-1, y 1-2; R1: x 1-2, y 2-3; both deadlines 3.5 (all on x: 4 s each, impossible).
    costs = make_table({"a": {"x": [(1.0, 0.0), (3.0, 0.0)], "y": [(3.0, 0.0), (1.0, 0.0)]}})
    plat = make_platform([("x", 1), ("y", 1)])
    wl = make_workload(plat, costs, [("t0", "a", 3.5, 0.9)], allow_infeasible=True)
    arr = [(0.0, 0), (0.0, 0)]
    assert solve(plat, costs, wl, arr).hits_bound == 2
    assert brute_force_hits(plat, costs, wl, arr) == 2
    arr3 = [(0.0, 0), (0.0, 0), (0.0, 0)]  # a third one at t=0 cannot also make 3.5
    assert solve(plat, costs, wl, arr3).hits_bound == 2 == brute_force_hits(plat, costs, wl, arr3)


@pytest.mark.parametrize("seed", range(10))
def test_random_tiny_instances_match_brute_force(seed):
    rng = np.random.default_rng(seed)
    n_layers = {"a": int(rng.integers(1, 3)), "b": int(rng.integers(1, 3))}
    costs = make_table({m: {t: [(float(rng.integers(1, 4)), 0.0) for _ in range(n)] for t in ("x", "y")}
                        for m, n in n_layers.items()})
    plat = make_platform([("x", 1), ("y", 1)])
    slos = [("t0", "a", float(rng.integers(2, 6)), 0.5), ("t1", "b", float(rng.integers(2, 6)), 1.0)]
    wl = make_workload(plat, costs, slos, allow_infeasible=True)
    arr = [(float(rng.integers(0, 4)), int(rng.integers(0, 2))) for _ in range(5)]
    got = solve(plat, costs, wl, arr, objective="hits")
    assert got.optimal
    assert got.hits_bound == brute_force_hits(plat, costs, wl, arr)
    # and no scheduler beats it on the same arrivals
    for name in ("edf", "fcfs", "sjf", "llf", "sla-aware"):
        sim = Simulator(plat, costs, wl, SimConfig(), arrivals=arr)
        sim.run(make(name))
        assert sum(sim.slo_hits) <= got.hits_bound


def test_bandwidth_contention_is_ignored_so_the_bound_stays_above():
    # two bandwidth-bound 1-s layers (D = B bytes) on two subs: alone 1 s each, together 2 s each.
    # Deadline 1.5: the simulator hits neither; the bound (solo times) says 2 -- an upper bound.
    B = 1000.0
    costs = make_table({"a": {"x": [(1.0, B)]}})
    plat = make_platform([("x", 2)], bandwidth=B)
    wl = make_workload(plat, costs, [("t0", "a", 1.5, 0.9)])
    r = bound_instance(plat, costs, wl, [(0.0, 0), (0.0, 0)], ["edf"], both=False)
    assert r.hits_bound == 2
    assert r.schedulers["hits"].tolist() == [0]


def test_second_objective_counts_tenants_upheld():
    # one sub, 2-s layer. Tenant A: two requests (a=0, D=2) target 1.0; tenant B: one (a=0, D=2).
    # Only one request can hit: max hits 1; upholding A needs both of A's -> impossible, B needs its
    # one -> the best max-hit schedule serves B: 1 tenant upheld.
    costs = make_table({"a": {"x": [(2.0, 0.0)]}})
    plat = make_platform([("x", 1)])
    wl = make_workload(plat, costs, [("A", "a", 2, 1.0), ("B", "a", 2, 1.0)])
    r = bound_instance(plat, costs, wl, [(0.0, 0), (0.0, 0), (0.0, 1)], ["edf"])
    assert r.hits_bound == 1 and r.upheld_at_max_hits == 1 and r.upheld_bound == 1


def test_need_matches_metrics_rule():
    assert _need(10, 0.95) == 10 and _need(20, 0.95) == 19 and _need(3, 0.0) == 0 and _need(4, 0.5) == 2
