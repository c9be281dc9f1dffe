"""Schedulers and the learned policies' feature builder read nothing outside SchedulerState."""

from __future__ import annotations

import dataclasses

import pytest

from fairsched.api import build
from fairsched.online.replay import poisson_arrivals
from fairsched.online.state import SchedulerState
from fairsched.schedulers.registry import available, make
from fairsched.sim.engine import SimConfig
from tests.oracle.engine_py import simulator  # core="python": the oracle, the Python event loop

ALLOWED = set(SchedulerState.__annotations__) | {
    "idle", "layer_time", "fastest_idle", "remaining", "best_remaining", "slo_hit_rate"}


class ProtocolOnly:
    """A view of a simulator that lets through only the protocol's attributes."""

    def __init__(self, sim):
        object.__setattr__(self, "_sim", sim)

    def __getattr__(self, name):
        if name not in ALLOWED:
            raise AssertionError(f"a scheduler read '{name}', which is not in SchedulerState")
        return getattr(self._sim, name)

    def __setattr__(self, name, value):
        if name != "on_end":  # the protocol's one writable field
            raise AssertionError(f"a scheduler wrote '{name}'")
        setattr(self._sim, name, value)


def test_the_protocol_lists_the_documented_surface():
    for name in ("now", "ready", "running", "prof", "sub_prof", "best_suffix", "slo_hits_all", "slo_done_all",
                 "workload", "n_total", "idle", "layer_time"):
        assert name in ALLOWED


@pytest.mark.parametrize("name", available())
def test_scheduler_runs_on_the_protocol_alone(name):
    plat, table, wl = build(load=1.2, requests=300)
    plat = dataclasses.replace(plat, bandwidth=1e18)
    arr = poisson_arrivals(wl, 300, seed=1)
    ref = simulator(plat, table, wl, SimConfig(seed=0, core="python"), arrivals=arr).run(make(name))
    sim = simulator(plat, table, wl, SimConfig(seed=0, core="python"), arrivals=arr)
    sched, view = make(name), ProtocolOnly(sim)
    sched.reset(view, 0)
    while sim.advance():
        sim.apply(sched.decide(view))
    assert sim.slo_hits == ref.slo_hits and sim.slo_dropped == ref.slo_dropped  # the view changes nothing
