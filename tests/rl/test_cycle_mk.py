"""(m,k)-awareness of the cycle formulation (cycle_version 2): dbp's distance to failure, the
observation's (m,k) block, the (m,k)-first dispatch within triage's classes, and the version-1
layout that older policies keep."""

from __future__ import annotations

import itertools
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from fairsched.metrics import slo_frame
from fairsched.rl import cycle
from fairsched.rl.cycle import (CYCLE_VERSION, N_MK, N_OBS_V, CycleController, CyclePolicy, CycleScheduler, mk_block,
                                potential)
from fairsched.schedulers import dbp
from fairsched.schedulers.dbp import NO_MK, MKHistory, distance
from fairsched.schedulers.registry import make
from fairsched.sim.engine import SimConfig, Simulator
from fairsched.workload.scenario import ScenarioConfig, resolve
from tests.schedulers.test_dbp import _two_streams  # the dbp hand case: two (1,2) streams on one sub

ROOT = Path(__file__).resolve().parents[2]
H, M = True, False


def _brute_distance(history, m, k):
    """Independent definition: the fewest further misses after which the last k outcomes (the
    window padded with hits before the first outcome) hold fewer than m hits."""
    for j in range(k + 1):
        w = ([H] * k + list(history) + [M] * j)[-k:]
        if sum(w) < m:
            return j
    raise AssertionError("unreachable: k misses always fail")


def test_distance_equals_the_brute_force_definition():
    for m, k in [(1, 1), (1, 2), (2, 3), (4, 5), (3, 5), (9, 10)]:
        for n in range(0, 7):
            for hist in itertools.product([H, M], repeat=n):
                assert distance(hist, m, k) == _brute_distance(hist, m, k), (hist, m, k)


def test_cycle_and_dbp_share_one_implementation():
    assert cycle.MKHistory is dbp.MKHistory


def _fake_slos():
    # A (4,5); B (9,10); C rate-only; D (2,3)
    return [SimpleNamespace(mk=(4, 5)), SimpleNamespace(mk=(9, 10)), SimpleNamespace(mk=None), SimpleNamespace(mk=(2, 3))]


def _feed(h, seq):
    for s, hit, counted in seq:
        h.ended(SimpleNamespace(slo=s, counted=counted), hit)


def test_history_distances_and_violations_by_hand():
    h = MKHistory(_fake_slos())
    assert h.dist == [2, 2, NO_MK, 2] and h.n_mk == 3  # fresh: k - m + 1
    _feed(h, [(0, H, True), (0, M, True)]          # A: pad H H H, H M -> one more miss: H H H M M = 3 < 4
          + [(1, H, True)] * 10                    # B: all hits -> 2
          + [(2, M, True)]                         # C: rate-only, no history
          + [(3, M, False), (3, M, True)])         # D: M M -> pad H M M = 1 < 2: failing (counted)
    assert h.dist == [1, 2, NO_MK, 0]
    assert h.violated == [False, False, False, True]
    # a failure state reached on a warm-up (uncounted) request is not a violation
    h2 = MKHistory(_fake_slos())
    _feed(h2, [(3, M, False), (3, M, False)])
    assert h2.dist[3] == 0 and h2.violated == [False] * 4


def test_mk_block_on_a_hand_made_state():
    h = MKHistory(_fake_slos())
    _feed(h, [(0, H, True), (0, M, True)] + [(1, H, True)] * 10 + [(3, M, True), (3, M, True)])
    # 3 of 4 SLOs have mk; distances A 1, B 2, D 0; D violated
    assert mk_block(h) == pytest.approx([3 / 4, 1 / 3, 1 / 3, 1 / 3, 1 / 3])
    assert mk_block(MKHistory([SimpleNamespace(mk=None)] * 3)) == [0.0] * N_MK


def test_potential_charges_tenants_with_a_violated_stream():
    class F:
        slo_tenant = [0, 0, 1, 2]

        def _tenant_state(self, sim):
            return None, None, [0.05, 0.0, -0.1], None, None, None  # clipped: 1, 0, -1

    h = MKHistory(_fake_slos())
    assert potential(None, F()) == pytest.approx(0.0)
    assert potential(None, F(), h) == pytest.approx(0.0)
    _feed(h, [(3, M, True), (3, M, True)])  # tenant 2's stream D violates
    assert potential(None, F(), h) == pytest.approx(-0.5 / 3)


def _pick(dist, q_t, cum, cand_slos, theta=0.8):
    ctl = CycleController("drl", 10, version=2)
    ctl.features = SimpleNamespace(_tenant_state=lambda sim: (None, None, None, q_t, cum, None),
                                   slo_tenant=[0, 1, 2, 3])
    ctl.theta = theta
    ctl.mk = SimpleNamespace(dist=dist)
    cands = [(float(j), j, SimpleNamespace(slo=s), 1.0) for j, s in enumerate(cand_slos)]
    return ctl._pick(None, 0, cands)


def test_mk_first_within_triage_classes_by_hand():
    # tenants 0..3 = SLOs 0..3; q <= 1 all savable; cum shares 0.2, 0.4, 0.6, 0.9 -> 3 is savable, unprotected
    q, cum = [0.5, 0.5, 0.5, 0.5], [0.2, 0.4, 0.6, 0.9]
    # all protected, SLO 2 at distance 1: it goes before the less lax ones
    assert _pick([2, 2, 1, 2], q, cum, [0, 1, 2]) == 2
    # distance 0 too (already failing), the first of them in laxity order
    assert _pick([NO_MK, 0, 1, 2], q, cum, [0, 1, 2]) == 1
    # a distance-1 stream of a worse class (3: unprotected) does not jump a protected one
    assert _pick([2, NO_MK, 2, 1], q, cum, [3, 0]) == 1
    # lost tenants (q > 1) stay last, close to failure or not
    assert _pick([0, 2, 2, 2], [2.0, 0.5, 0.5, 0.5], cum, [0, 3]) == 1
    # no stream near failure: exactly triage (first protected, in laxity order)
    assert _pick([2, 2, 2, 2], q, cum, [3, 1, 0]) == 1


def test_version_2_serves_the_stream_closer_to_failure_version_1_does_not():
    """The dbp hand case (tests/schedulers/test_dbp.py): t=0 a0 (dl 1.0) and b0 (dl 1.2), 1 s each on one
    sub: a0 runs (less laxity), b0 misses. t=2: a1 (dl 3.0), b1 (dl 3.2). Version 1 (= triage, laxity
    within the protected class) takes a1, so B misses twice and violates (1,2); version 2 sees B at
    distance 1 (A at 2) and runs b1: no violation."""
    plat, costs, wl = _two_streams()
    arr = [(0.0, 0), (0.0, 1), (2.0, 0), (2.0, 1)]
    out = {}
    for v in (1, 2):
        sim = Simulator(plat, costs, wl, SimConfig(log_requests=True, core="python"), arrivals=arr)
        sched = CycleScheduler(None, "drl", version=v)
        sim.run(sched)
        out[v] = ({r[0]: r[7] for r in sim.request_log}, list(slo_frame(sim)["mk_violations"]))
        assert (sched.ctl.mk is None) == (v == 1)
    assert out[1] == ({0: True, 1: False, 2: True, 3: False}, [0, 1])
    assert out[2] == ({0: True, 1: False, 2: False, 3: True}, [0, 0])


def _observe_run(plat, costs, wl, version, seed=1):
    """(observations at each cycle, per-SLO hits) of the fixed-theta controller of ``version``."""
    sim = Simulator(plat, costs, wl, SimConfig(seed=seed, log_requests=True))
    ctl = CycleController("drl", 10, version=version)
    ctl.reset(sim)
    obs = []
    while sim.advance():
        if ctl.due(sim):
            obs.append((ctl.observe(sim), list(sim.request_log)))
            ctl.set_action(sim, ctl.action)
        sim.apply(ctl.dispatch(sim))
    return obs, list(sim.slo_hits)


def test_observation_block_matches_an_independent_recount(tiny_setup):
    """On an overloaded run with (m,k) SLOs, the version-2 block at each cycle equals a recount from
    the request log (outcomes in end order) with the brute-force distance; the first 39 entries are
    the version-1 observation."""
    plat, table, scen = tiny_setup
    scen = dict(scen)
    tenants = [dict(t) for t in scen["tenants"]]
    mks = [(4, 5), (2, 3)]
    for t, mk in zip(tenants, mks):
        t["slos"] = [dict(s, mk=list(mk)) for s in t["slos"]]
    scen["tenants"] = tenants
    wl = resolve(ScenarioConfig.model_validate(scen), plat, table, load=1.6)
    obs2, hits2 = _observe_run(plat, table, wl, 2)
    n1 = N_OBS_V[1]["drl"]
    slos = wl.slos
    seen_near = False
    for o, log in obs2:
        hist = [[] for _ in slos]
        viol = [False] * len(slos)
        for rid, _t, s, _m, _a, _d, _e, hit, counted in log:
            if slos[s].mk:
                hist[s].append(bool(hit))
                if counted and _brute_distance(hist[s], *slos[s].mk) == 0:
                    viol[s] = True
        d = [_brute_distance(hist[s], *slos[s].mk) for s in range(len(slos)) if slos[s].mk]
        n = len(d)
        want = [n / len(slos), sum(x == 0 for x in d) / n, sum(x == 1 for x in d) / n, sum(x >= 2 for x in d) / n,
                sum(viol) / n]
        assert o.shape == (N_OBS_V[2]["drl"],)
        assert o[n1:] == pytest.approx(want, abs=1e-6)
        seen_near |= want[1] + want[2] > 0
    assert seen_near  # the overload does bring streams close to failure


def test_without_mk_version_2_is_version_1_and_the_block_is_zero(tiny_setup):
    plat, table, scen = tiny_setup
    wl = resolve(ScenarioConfig.model_validate(scen), plat, table, load=1.3)
    assert not any(s.mk for s in wl.slos)
    obs1, hits1 = _observe_run(plat, table, wl, 1)
    obs2, hits2 = _observe_run(plat, table, wl, 2)
    n1 = N_OBS_V[1]["drl"]
    assert hits1 == hits2 and len(obs1) == len(obs2) > 3
    for (a, _), (b, _) in zip(obs1, obs2):
        assert a.shape == (n1,) and b.shape == (n1 + N_MK,)
        assert np.array_equal(a, b[:n1]) and not b[n1:].any()


def test_version_1_on_an_mk_scenario_is_triage(tiny_setup):
    """Old policies (cycle_version 1) keep the old layout and dispatch: with a fixed line, decision
    for decision the triage teacher, also where SLOs carry (m,k) constraints."""
    plat, costs, wl = _two_streams()
    arr = [(0.0, 0), (0.0, 1), (2.0, 0), (2.0, 1)]
    runs = []
    for s in (make("triage"), CycleScheduler(None, "drl", version=1)):
        sim = Simulator(plat, costs, wl, SimConfig(core="python"), arrivals=arr).run(s)
        runs.append((list(sim.slo_hits), sim.decisions))
    assert runs[0] == runs[1]


def test_old_cycle_policy_loads_with_its_layout():
    stem = ROOT / "results" / "history" / "drl_cycle_r2_6300"
    pol = CyclePolicy.load(stem)
    assert pol.meta["cycle_version"] == 1 and CYCLE_VERSION >= 2
    s = CycleScheduler(pol)
    assert s.ctl.version == 1 and s.ctl.n_obs == N_OBS_V[1]["drl"] == 39
    assert CycleScheduler(None, "drl").ctl.version == CYCLE_VERSION


def test_unknown_version_is_an_input_error(tmp_path):
    import json

    from fairsched.errors import InputError

    with pytest.raises(InputError, match="cycle_version"):
        CycleController("drl", 10, version=7)
    src = ROOT / "results" / "history" / "drl_cycle_r2_6300"
    meta = json.loads(src.with_suffix(".json").read_text())
    meta["cycle_version"] = 9
    (tmp_path / "p.json").write_text(json.dumps(meta))
    (tmp_path / "p.npz").write_bytes(src.with_suffix(".npz").read_bytes())
    with pytest.raises(InputError, match="version"):
        CyclePolicy.load(tmp_path / "p")


def test_env_on_an_mk_scenario_observes_the_block_and_judges_both(tiny_setup):
    pytest.importorskip("gymnasium")
    from fairsched.rl.cycle_env import CycleEnv

    plat, table, scen = tiny_setup
    scen = dict(scen)
    scen["tenants"] = [dict(t, slos=[dict(s, mk=[2, 3]) for s in t["slos"]]) for t in scen["tenants"]]
    env = CycleEnv(variant="drl", scenario=scen, platform=plat, costs=table, requests=120, cycle_requests=10,
                   randomize=False, load=1.6, sim_seed=3)
    obs, _ = env.reset(seed=0)
    n1 = N_OBS_V[1]["drl"]
    assert obs.shape == env.observation_space.shape == (n1 + N_MK,) and obs[n1] == 1.0  # every SLO has mk
    done = False
    while not done:
        obs, r, term, trunc, info = env.step(env.action_space.sample())
        assert np.isfinite(r) and env.observation_space.contains(obs)
        done = term or trunc
    m = info["episode_metrics"]
    assert 0 <= m["tenants_upheld_both"] <= m["tenants_upheld"] <= m["tenants"]


def test_version_2_on_mk_slos_stays_on_the_python_core():
    """The kernel keeps no (m,k) history for the policy rule: a version-2 drl cycle scheduler on (m,k)
    SLOs must run its own decide under core="auto" (on the kernel's event loop, sim/pydecide.py; same
    hand case, same outcome as above), and
    core="compiled" refuses with one InputError naming core; version 1 there runs compiled."""
    pytest.importorskip("numba")
    from fairsched.errors import InputError

    plat, costs, wl = _two_streams()
    arr = [(0.0, 0), (0.0, 1), (2.0, 0), (2.0, 1)]
    sim = Simulator(plat, costs, wl, SimConfig(log_requests=True), arrivals=arr).run(CycleScheduler(None, "drl", version=2))
    assert sim.core_used == "compiled-python"  # the kernel's event loop, the scheduler's own decide
    assert {r[0]: r[7] for r in sim.request_log} == {0: True, 1: False, 2: False, 3: True}
    with pytest.raises(InputError, match="core"):
        Simulator(plat, costs, wl, SimConfig(core="compiled"), arrivals=arr).run(CycleScheduler(None, "drl", version=2))
    sim = Simulator(plat, costs, wl, SimConfig(log_requests=True), arrivals=arr).run(CycleScheduler(None, "drl", version=1))
    assert sim.core_used == "compiled"
    assert {r[0]: r[7] for r in sim.request_log} == {0: True, 1: False, 2: True, 3: False}
