"""Queueing theory as an independent oracle.

FCFS on one sub-accelerator with Poisson arrivals and a fixed service time S is an M/D/1 queue:
mean wait W = rho * S / (2 * (1 - rho)) (Pollaczek-Khinchine with zero service variance).
"""

from __future__ import annotations

import numpy as np
import pytest

from fairsched.schedulers.registry import make
from fairsched.sim.engine import SimConfig, Simulator
from tests.conftest import make_platform, make_table, make_workload


@pytest.mark.parametrize("rho", [0.5, 0.8])
def test_fcfs_single_sub_matches_md1_mean_wait(rho):
    S = 2.0  # a 2-layer model, 1 s per layer: service time 2 s without gaps under FCFS
    costs = make_table({"m": {"x": [(1.0, 0.0), (1.0, 0.0)]}})
    plat = make_platform([("x", 1)])
    n = 60_000
    wl = make_workload(plat, costs, [("t", "m", 1e9, 0.5)], load=rho, requests=n, warmup=0.1)
    sim = Simulator(plat, costs, wl, SimConfig(seed=11, log_requests=True))
    sim.run(make("fcfs"))
    log = np.array([(r[4], r[6]) for r in sim.request_log if r[8]])
    wait = log[:, 1] - log[:, 0] - S
    expected = rho * S / (2 * (1 - rho))
    assert wait.min() >= -1e-9
    assert wait.mean() == pytest.approx(expected, rel=0.06)
    # utilization of the single sub-accelerator approaches rho
    assert np.mean(sim.busy) / sim.horizon == pytest.approx(rho, rel=0.03)
