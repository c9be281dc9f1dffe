"""The SimPy reference (benchmarks/simpy_reference.py) and the simulator agree where they must."""

from __future__ import annotations

import pytest

from fairsched.api import build
from fairsched.bench import draw_arrivals, load_reference
from fairsched.schedulers.registry import make
from fairsched.sim.engine import SimConfig, Simulator
from tests.bench.conftest import write_inputs

ref = load_reference()
pytestmark = pytest.mark.skipif(ref is None, reason="needs simpy and a source checkout")


def both(costs, scen, plat, seed, load=None):
    p, t, wl = build(scenario=scen, platform=plat, costs=costs, load=load)
    arr = draw_arrivals(p, t, wl, seed)
    sim = Simulator(p, t, wl, SimConfig(seed=seed), arrivals=arr)
    sim.run(make("edf"))
    return sim, ref.run_reference(p, t, wl, arr), wl


@pytest.mark.parametrize("seed,load", [(0, 0.7), (1, 1.1), (2, 2.0)])
def test_same_hits_per_tenant_without_contention(tmp_path, seed, load):
    costs, scen, plat = write_inputs(tmp_path, bandwidth_gbps=1e6)  # bandwidth never binds
    sim, r, wl = both(costs, scen, plat, seed, load)
    assert r.slo_arrived == sim.slo_arrived
    assert r.slo_hits == sim.slo_hits
    by_tenant = {}
    for s in wl.slos:
        by_tenant[s.tenant_name] = by_tenant.get(s.tenant_name, 0) + sim.slo_hits[s.index]
    assert r.hits_by_tenant == by_tenant
    assert r.layer_events == sim.layer_events
    assert 0 < sum(sim.slo_hits) < sum(sim.slo_arrived) or load < 1  # overload misses some


def test_contention_is_modelled_by_both(tmp_path):
    # a tight bandwidth slows layers in both implementations: fewer hits than without contention
    costs, scen, plat = write_inputs(tmp_path / "wide", bandwidth_gbps=1e6)
    _, free, _ = both(costs, scen, plat, 3, 1.0)
    costs, scen, plat = write_inputs(tmp_path / "tight", bandwidth_gbps=0.05)
    sim, tight, _ = both(costs, scen, plat, 3, 1.0)
    assert sum(tight.slo_hits) < sum(free.slo_hits)
    assert abs(sum(tight.slo_hits) - sum(sim.slo_hits)) <= 0.02 * sum(sim.slo_arrived)
