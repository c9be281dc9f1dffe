"""Candidate feasibility on hand-made cases: infeasible and risky placements are masked out."""

import pytest

from fairsched.rl.features import RISKY, FeatureBuilder
from fairsched.sim.engine import SimConfig, Simulator
from tests.conftest import make_platform, make_table, make_workload

# one layer each; clock 1 Hz so cycles are seconds. Deadlines 2.0 s for every SLO.
#   m: 1.0 s on x, 1.9 s on y -> on y laxity 0.1 s = 5% of D (< 10%), on x 50% (>= 15%): risky on y
#   z: 1.9 s on x, 1.95 s on y -> on y laxity 2.5%, on its best type only 5%: tight everywhere, allowed
#   w: 1.0 s on x, 2.5 s on y -> cannot finish on y at all
LAYERS = {"m": {"x": [(1.0, 0.0)], "y": [(1.9, 0.0)]},
          "z": {"x": [(1.9, 0.0)], "y": [(1.95, 0.0)]},
          "w": {"x": [(1.0, 0.0)], "y": [(2.5, 0.0)]}}


@pytest.fixture
def sim_at_first_decision():
    table = make_table(LAYERS)
    plat = make_platform([("x", 1), ("y", 1)])
    wl = make_workload(plat, table, [("A", "m", 2.0, 0.9), ("B", "z", 2.0, 0.9), ("C", "w", 2.0, 0.9)],
                       requests=3, allow_infeasible=True)
    sim = Simulator(plat, table, wl, SimConfig(shed_hopeless=False), arrivals=[(0.0, 0), (0.0, 1), (0.0, 2)])
    assert sim.advance() and sim.now == 0.0 and len(sim.ready) == 3
    return sim


@pytest.mark.parametrize("tenant_aware", [True, False])
def test_risky_and_infeasible_placements_are_not_candidates(sim_at_first_decision, tenant_aware):
    assert RISKY == (0.10, 0.15)
    sim = sim_at_first_decision
    fb = FeatureBuilder(K=4, tenant_aware=tenant_aware)
    fb.reset(sim)
    x, y = (0, 1) if sim.platform.subs[0].type == "x" else (1, 0)
    on_x, _, mask_x = fb.build(sim, x)
    on_y, _, mask_y = fb.build(sim, y)
    assert sorted(sim.models[r.mi] for r in on_x) == ["m", "w", "z"]
    assert [sim.models[r.mi] for r in on_y] == ["z"]  # m is risky on y, w cannot finish there
    assert mask_x.tolist() == [True, True, True, False, True]
    assert mask_y.tolist() == [True, False, False, False, True]


@pytest.mark.parametrize("tenant_aware", [True, False])
def test_cumshare_thermometer(sim_at_first_decision, tenant_aware):
    """Version 3: bit i of a candidate is set iff its tenant's cumulative share is <= CUM_LEVELS[i]
    (a step the policy can place its triage line on); relmas sees zeros there."""
    from fairsched.rl.features import CAND_FEATURES, CUM_LEVELS, N_CAND

    sim = sim_at_first_decision
    fb = FeatureBuilder(K=4, tenant_aware=tenant_aware)
    fb.reset(sim)
    cands, obs, mask = fb.build(sim, 0)
    cum = CAND_FEATURES.index("tenant_cumshare")
    first = CAND_FEATURES.index("cumshare_le_0.5")
    assert len(cands) >= 2
    for j in range(len(cands)):
        b = j * N_CAND
        bits = obs[b + first:b + first + len(CUM_LEVELS)].tolist()
        if tenant_aware:
            assert bits == [float(obs[b + cum] <= c) for c in CUM_LEVELS]
            assert bits == sorted(bits)  # a thermometer: once set, set for every higher level
        else:
            assert bits == [0.0] * len(CUM_LEVELS)
