"""The shipped policies: registered, loadable, runnable; the latency benchmark."""

from __future__ import annotations

import pytest

from fairsched.rl.policy import shipped_policy_path
from fairsched.schedulers.registry import available, make
from fairsched.sim.engine import SimConfig, Simulator
from fairsched.workload.scenario import ScenarioConfig, resolve

SHIPPED = [n for n in ("drl", "relmas") if shipped_policy_path(n).with_suffix(".npz").is_file()]
pytestmark = pytest.mark.skipif(len(SHIPPED) < 2, reason="policies not shipped yet")


@pytest.mark.parametrize("name", ["drl", "relmas"])
def test_registered_and_runs_on_any_platform(name, tiny_setup):
    from fairsched.api import default_schedulers

    assert name in available() and name in default_schedulers()
    plat, table, scen = tiny_setup
    wl = resolve(ScenarioConfig.model_validate(scen), plat, table)
    sim = Simulator(plat, table, wl, SimConfig(seed=1)).run(make(name))
    assert sum(sim.slo_done_all) == sim.n_total


def test_decision_latency_benchmark():
    pytest.importorskip("sb3_contrib")
    from fairsched.rl.bench import decision_latency

    r = decision_latency("drl", n_obs=300, requests=150, warmup=20)
    assert r["n_obs"] > 50
    for k in ("numpy", "sb3", "features"):
        assert r[k]["p50_us"] > 0 and r[k]["p99_us"] >= r[k]["p50_us"]
    assert r["agreement"] == 1.0
