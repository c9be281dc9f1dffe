"""relmas's sjf modes (cycle_version 3): ``sjf`` held constant is the registered ``sjf`` scheduler,
request for request; ``sjf-feasible`` skips a request that cannot finish on the sub it would get
(a hand case); both cores give one log; the version-3 layout and the old versions' layouts."""

from __future__ import annotations

import pytest

from fairsched.api import build
from fairsched.rl import cycle
from fairsched.rl.cycle import MODES, MODES_V, N_OBS_V, CycleController, CycleScheduler
from fairsched.schedulers.registry import make
from fairsched.sim.engine import SimConfig, Simulator
from tests.conftest import make_platform, make_table, make_workload
from tests.sim.test_compiled import contended, outcome


class _Fixed(CycleScheduler):
    """relmas's dispatcher with one mode held for the whole run (as rl/constant.py's constants)."""

    def __init__(self, mode):
        super().__init__(None, variant="relmas")
        self.mode = mode

    def reset(self, sim, seed):
        super().reset(sim, seed)
        self.ctl.action = MODES.index(self.mode)


def _run(plat, costs, wl, sched, core, arrivals=None, **cfg):
    sim = Simulator(plat, costs, wl, SimConfig(log_requests=True, core=core, **cfg), arrivals=arrivals)
    return sim.run(sched)


def test_version_3_and_4_layouts():
    assert MODES_V[3] == ("llf", "srpt", "llf-short", "sjf", "sjf-feasible")
    assert MODES == MODES_V[4] == (*MODES_V[3], "sjf-bytes")
    assert MODES_V[1] == MODES_V[2] == MODES[:3]  # old policies keep their modes
    assert N_OBS_V[3]["relmas"] == 8 + 5 and N_OBS_V[2]["relmas"] == N_OBS_V[1]["relmas"] == 8 + 3
    assert N_OBS_V[4]["relmas"] == 8 + 1 + 6 and N_OBS_V[4]["drl"] == N_OBS_V[3]["drl"] == N_OBS_V[2]["drl"]
    assert CycleController("relmas", version=2).n_obs == 11 and CycleController("relmas", version=3).n_obs == 13
    assert CycleController("relmas").n_obs == 15 and CycleController("relmas", version=3).modes == MODES_V[3]
    assert CycleScheduler(None, "relmas").kernel_spec == "policy"  # every mode is a kernel pick


@pytest.mark.parametrize("load", [0.7, 1.3])
def test_sjf_mode_is_the_sjf_scheduler(load):
    """Decision for decision: the same request log, counters and floats as the registered sjf,
    on both cores (the number of decide calls differs: sjf places all at once, the mode one by one)."""
    plat, costs, wl = build(requests=800, load=load)
    for core in ("python", "compiled"):
        a = outcome(_run(plat, costs, wl, make("sjf"), core, seed=4))
        b = outcome(_run(plat, costs, wl, _Fixed("sjf"), core, seed=4))
        assert a["log"] == b["log"] and a["slo"] == b["slo"] and a["floats"] == b["floats"]
        assert a["log"]


def test_sjf_mode_is_sjf_on_a_contended_platform():
    plat, costs, wl = contended()
    for core in ("python", "compiled"):
        a = outcome(_run(plat, costs, wl, make("sjf"), core, seed=1, sharing="proportional"))
        b = outcome(_run(plat, costs, wl, _Fixed("sjf"), core, seed=1, sharing="proportional"))
        assert a["log"] == b["log"] and a["slo"] == b["slo"]


def _hand():
    """One fast sub (x: 1 s) and one slow (y: 4 s) for a one-layer model; deadline 3 s; two
    requests at t = 0. sjf: r0 on x (hit at 1), r1 on y (cannot end before 4: a miss).
    sjf-feasible: r1 would get y, where it cannot finish: it waits; x frees at 1, r1 runs 1..2: a hit."""
    costs = make_table({"a": {"x": [(1.0, 0.0)], "y": [(4.0, 0.0)]}})
    plat = make_platform([("x", 1), ("y", 1)])
    wl = make_workload(plat, costs, [("t0", "a", 3, 0.5)], requests=2, warmup=0.0)
    return plat, costs, wl, [(0.0, 0), (0.0, 0)]


@pytest.mark.parametrize("core", ["python", "compiled"])
def test_sjf_feasible_hand_case(core):
    plat, costs, wl, arr = _hand()
    sjf = _run(plat, costs, wl, _Fixed("sjf"), core, arrivals=arr, seed=0)
    feas = _run(plat, costs, wl, _Fixed("sjf-feasible"), core, arrivals=arr, seed=0)
    assert sum(sjf.slo_hits) == 1 and sum(feas.slo_hits) == 2
    assert feas.busy[1] == 0.0 and feas.busy[0] == pytest.approx(2.0)  # y never used; x twice 1 s


def test_sjf_feasible_decisions_follow_the_rule():
    """On the Python core, every assignment of sjf-feasible: the request with the least best-type
    remaining work among those that can finish on the fastest idle sub for them, placed there."""
    plat, costs, wl = build(requests=600, load=1.3)
    seen = []

    class Spy(_Fixed):
        def decide(self, sim):
            d = super().decide(sim)
            for req, sub in d.assign:
                idle = sim.idle
                ok = [r for r in sim.ready.values()
                      if r.deadline - sim.now - sim.remaining(r, sim.fastest_idle(r, idle)) >= 0.0]
                best = min(ok, key=lambda r: (sim.best_remaining(r), r.id))
                seen.append(req is best and sub == sim.fastest_idle(req, idle))
            return d

    _run(plat, costs, wl, Spy("sjf-feasible"), "python", seed=2)
    assert len(seen) > 1000 and all(seen)


@pytest.mark.parametrize("load", [0.7, 1.3])
def test_sjf_feasible_identical_on_both_cores(load):
    plat, costs, wl = build(requests=800, load=load)
    a = outcome(_run(plat, costs, wl, _Fixed("sjf-feasible"), "python", seed=3))
    b = outcome(_run(plat, costs, wl, _Fixed("sjf-feasible"), "compiled", seed=3))
    assert a == b
    s = outcome(_run(plat, costs, wl, make("sjf"), "compiled", seed=3))
    assert load < 1 or s["slo"] != a["slo"]  # under overload the rule differs from sjf


def test_a_version_2_relmas_controller_keeps_three_modes():
    ctl = CycleController("relmas", version=2)
    assert ctl.modes == ("llf", "srpt", "llf-short") and cycle.KERNEL_MODES["sjf"] == "sjf"


def test_relmas_selection_keeps_the_teacher_floor_at_light_load():
    """Hand rows: the best mean hit rate (step 200) loses at light load; with the floor the best
    row that reaches it (step 300) wins; no row reaching it: the plain rule; drl ignores the floor."""
    from fairsched.rl.cycle_train import pick_best

    rows = [dict(timesteps=0, hit_rate=0.90, hit_rate_light=0.998, upheld=5),
            dict(timesteps=200, hit_rate=0.95, hit_rate_light=0.990, upheld=7),
            dict(timesteps=300, hit_rate=0.94, hit_rate_light=0.998, upheld=6),
            dict(timesteps=400, hit_rate=0.94, hit_rate_light=0.999, upheld=6)]
    assert pick_best(rows, "relmas")["timesteps"] == 200
    assert pick_best(rows, "relmas", floor=0.998)["timesteps"] == 300  # a tie goes to fewer steps
    assert pick_best(rows, "relmas", floor=0.9995)["timesteps"] == 200
    assert pick_best(rows, "drl", floor=0.998)["timesteps"] == 200


def _bytes_hand():
    """One sub, unlimited bandwidth; at t = 0 a request of model a (1 s of compute, 100 bytes,
    deadline 3.5 s) and one of model b (2 s, 1 byte, deadline 2.5 s). sjf-feasible: a first (ends
    at 1), then b cannot end by 2.5: one hit. sjf-bytes: b first (least traffic; ends at 2), then a
    (ends at 3 <= 3.5): two hits."""
    costs = make_table({"a": {"x": [(1.0, 100.0)]}, "b": {"x": [(2.0, 1.0)]}})
    plat = make_platform([("x", 1)])
    wl = make_workload(plat, costs, [("t0", "a", 3.5, 0.5), ("t1", "b", 2.5, 0.5)], requests=2, warmup=0.0)
    return plat, costs, wl, [(0.0, 0), (0.0, 1)]


@pytest.mark.parametrize("core", ["python", "compiled"])
def test_sjf_bytes_hand_case(core):
    plat, costs, wl, arr = _bytes_hand()
    feas = _run(plat, costs, wl, _Fixed("sjf-feasible"), core, arrivals=arr, seed=0)
    byt = _run(plat, costs, wl, _Fixed("sjf-bytes"), core, arrivals=arr, seed=0)
    assert sum(feas.slo_hits) == 1 and sum(byt.slo_hits) == 2
    assert byt.busy[0] == pytest.approx(3.0)


def test_sjf_bytes_decisions_follow_the_rule():
    """On the Python core, every assignment of sjf-bytes: among the requests that can finish on
    the fastest idle sub for them, the least remaining DRAM bytes there (then id), placed there."""
    plat, costs, wl = build(requests=600, load=1.3)
    seen = []

    def left(sim, r, sub):
        return sum(sim.prof[sim.sub_prof[sub]][r.mi].D[r.next_layer:])

    class Spy(_Fixed):
        def decide(self, sim):
            d = super().decide(sim)
            for req, sub in d.assign:
                idle = sim.idle
                ok = [r for r in sim.ready.values()
                      if r.deadline - sim.now - sim.remaining(r, sim.fastest_idle(r, idle)) >= 0.0]
                best = min(ok, key=lambda r: (left(sim, r, sim.fastest_idle(r, idle)), r.id))
                seen.append(req is best and sub == sim.fastest_idle(req, idle))
            return d

    _run(plat, costs, wl, Spy("sjf-bytes"), "python", seed=2)
    # a near-tie of two sums in another order could flip one pick: all but a handful must agree
    assert len(seen) > 1000 and sum(seen) >= len(seen) - 3


@pytest.mark.parametrize("load", [0.7, 1.3])
def test_sjf_bytes_identical_on_both_cores(load):
    plat, costs, wl = build(requests=800, load=load)
    a = outcome(_run(plat, costs, wl, _Fixed("sjf-bytes"), "python", seed=3))
    b = outcome(_run(plat, costs, wl, _Fixed("sjf-bytes"), "compiled", seed=3))
    assert a == b
    s = outcome(_run(plat, costs, wl, _Fixed("sjf-feasible"), "compiled", seed=3))
    assert s["slo"] != a["slo"]  # another rule


def test_sjf_bytes_is_registered_and_runs_its_mode():
    plat, costs, wl = build(requests=400, load=1.2)
    a = outcome(_run(plat, costs, wl, make("sjf-bytes"), "compiled", seed=1))
    b = outcome(_run(plat, costs, wl, _Fixed("sjf-bytes"), "compiled", seed=1))
    assert a == b


def test_relmas_selection_needs_both_floors_when_a_row_clears_them():
    """Hand rows: with an overload floor too, the best row that reaches the light floor *and*
    beats the overload rival wins, even with a lower mean; none clears both: the light floor alone."""
    from fairsched.rl.cycle_train import pick_best

    rows = [dict(timesteps=0, hit_rate=0.90, hit_rate_light=0.998, hit_rate_heavy=0.70, upheld=5),
            dict(timesteps=200, hit_rate=0.95, hit_rate_light=0.998, hit_rate_heavy=0.86, upheld=7),
            dict(timesteps=300, hit_rate=0.94, hit_rate_light=0.998, hit_rate_heavy=0.88, upheld=6),
            dict(timesteps=400, hit_rate=0.96, hit_rate_light=0.990, hit_rate_heavy=0.90, upheld=8)]
    assert pick_best(rows, "relmas", floor=0.998)["timesteps"] == 200
    assert pick_best(rows, "relmas", floor=0.998, floor_heavy=0.87)["timesteps"] == 300
    assert pick_best(rows, "relmas", floor=0.998, floor_heavy=0.88)["timesteps"] == 200  # must beat, not tie
    assert pick_best(rows, "relmas", floor=0.999, floor_heavy=0.87)["timesteps"] == 400  # no row: the plain rule


def test_traffic_feature_hand_case():
    """Version 4's traffic ratio on a hand state: two ready requests of a one-layer model on two
    types; least traffic over types 100 and 40 bytes, best work 1 s and 3 s; B = 10 bytes/s, M = 2:
    (140 / 10) / (4 / 2) = 7 -> clipped to 4 -> 1.0; with B = 100: 1.4 / 2 = 0.7 -> 0.175."""
    from types import SimpleNamespace

    for B, want in ((10.0, 1.0), (100.0, 0.175)):
        ctl = CycleController("relmas")
        ctl._B = B
        ctl._bytes_left = [[100.0, 0.0], [40.0, 0.0]]
        reqs = {0: SimpleNamespace(mi=0, next_layer=0), 1: SimpleNamespace(mi=1, next_layer=0)}
        sim = SimpleNamespace(ready=reqs, best_suffix=[[1.0, 0.0], [3.0, 0.0]], M=2)
        assert ctl._traffic(sim) == pytest.approx(want)
    plat, costs, wl, arr = _bytes_hand()  # and from a real simulator: least traffic per model
    sim = Simulator(plat, costs, wl, SimConfig(seed=0), arrivals=arr)
    ctl = CycleController("relmas")
    ctl.reset(sim)
    assert ctl._bytes_left == [[100.0, 0.0], [1.0, 0.0]] and ctl._B == plat.bandwidth
