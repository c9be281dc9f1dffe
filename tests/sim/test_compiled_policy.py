"""The learned schedulers and their teachers on the compiled core: the same runs, bit for bit.

``drl``, the per-layer ``relmas`` (exported MLP policies; rl/policies/relmas-layer), ``triage`` and ``llf-masked`` (their teachers) decide
through one protocol (rl/policy_scheduler.py); the kernel's copy (sim/compiled_policy.py) must give
the oracle's (tests/oracle/engine_py.py) request log and counters exactly, across loads, sharing rules, shedding on and
off, a contended platform, fixed arrivals with ties and every resume path. Plus the pieces with
independently known answers: the forward pass against a float64 reference, the tanh
approximation's error bound, the masked arg-max on hand cases.
"""

from __future__ import annotations

import numpy as np
import pytest

from fairsched.api import build
from fairsched.errors import InputError
from fairsched.rl import features
from fairsched.rl.policy import NumpyPolicy, shipped_policy_path
from fairsched.rl.policy_scheduler import PolicyScheduler
from fairsched.rl.teacher import TeacherPolicy
from fairsched.schedulers.registry import make
from fairsched.sim import compiled, compiled_policy
from fairsched.sim.engine import SimConfig
from tests.conftest import make_platform, make_table, make_workload
from tests.sim.test_compiled import assert_same, contended, outcome, run, spec
from tests.oracle.engine_py import simulator  # core="python": the oracle, the Python event loop

# the policy rules: the shipped drl (a cycle policy on triage-sjf's dispatch since issue 13), and the
# per-layer drl and relmas kept as rl/policies/drl-layer and relmas-layer (the shipped relmas is a
# cycle policy too; its cores are compared in the cycle tests below)
RELMAS_LAYER = f"relmas:{shipped_policy_path('relmas-layer')}"
DRL_LAYER = f"drl:{shipped_policy_path('drl-layer')}"
SHIPPED = [n for n in ("drl",) if shipped_policy_path(n).with_suffix(".npz").is_file()]
POLICIES = ("triage", "llf-masked", *SHIPPED,
            *([pytest.param(n, id=n.split(":")[0] + "-layer") for n in (DRL_LAYER, RELMAS_LAYER)
               if shipped_policy_path(f"{n.split(':')[0]}-layer").with_suffix(".npz").is_file()]))


@pytest.mark.parametrize("load", [0.7, 1.2])
@pytest.mark.parametrize("name", POLICIES)
def test_default_scenario_identical(name, load):
    plat, costs, wl = build(requests=1500, load=load)
    py, co = assert_same(plat, costs, wl, name, seed=int(load * 10))
    assert co.core_used == "compiled" and py.layer_events > 20_000
    assert load < 1 or py.aborted_layers + sum(py.slo_dropped) > 0


@pytest.mark.parametrize("name", POLICIES)
@pytest.mark.parametrize("opts", [dict(sharing="proportional"), dict(shed_hopeless=False),
                                  dict(sharing="proportional", shed_hopeless=False, decision_cost_s=2e-6)],
                         ids=["proportional", "no-shedding", "proportional-no-shedding-cost"])
def test_options_identical(name, opts):
    plat, costs, wl = build(requests=500, load=1.2)
    assert_same(plat, costs, wl, name, seed=5, **opts)


@pytest.mark.parametrize("sharing", ["maxmin", "proportional"])
@pytest.mark.parametrize("name", POLICIES)
def test_bandwidth_contention_identical(name, sharing):
    plat, costs, wl = contended()
    py, _ = assert_same(plat, costs, wl, name, seed=2, sharing=sharing)
    assert py.peak_bw == pytest.approx(plat.bandwidth, rel=1e-12)  # contention did happen


@pytest.mark.parametrize("name", ["triage", "llf-masked"])
def test_fixed_arrivals_with_ties_identical(name):
    """Several arrivals and finishes at one instant, subs left idle and asked again at it."""
    costs = make_table({"a": {"x": [(2.0, 10.0), (1.0, 0.0)], "y": [(1.0, 30.0), (3.0, 5.0)]},
                        "b": {"x": [(1.0, 0.0)], "y": [(0.5, 20.0)]}})
    plat = make_platform([("x", 1), ("y", 2)], bandwidth=40.0)
    wl = make_workload(plat, costs, [("t0", "a", 6, 0.9), ("t1", "b", 2, 0.9), ("t2", "a", 9, 0.5)],
                       requests=40, warmup=0.2)
    arr = [(1.0, 2), (0.0, 1), (0.0, 0), (0.0, 1), (1.0, 0), (1.0, 2), (2.5, 1), (2.5, 1), (2.5, 0),
           (3.0, 2), (3.0, 0), (3.0, 1), (3.0, 1), (4.0, 0), (20.0, 2)] * 2
    arr += [(t + 5.0, s) for t, s in arr[:12]]
    for shed in (True, False):
        assert_same(plat, costs, wl, name, arrivals=arr, seed=0, shed_hopeless=shed)


@pytest.mark.parametrize("name", ["triage", *SHIPPED[:1]])
def test_tiny_pools_and_chunks_resume_exactly(name):
    """The kernel returns to Python hundreds of times; the skip set and the tenant state survive."""
    plat, costs, wl = build(requests=400, load=1.4)
    py = run(plat, costs, wl, name, "python", seed=3)
    sim = simulator(plat, costs, wl, SimConfig(log_requests=True, seed=3, core="compiled"))
    sched = make(name)
    sched.reset(sim, 3)
    compiled.run_compiled(sim, spec(name), sched.kernel_params(sim), slots=1, heap=1, chunk=3, group=1)
    assert outcome(py) == outcome(sim)


@pytest.mark.parametrize("name", POLICIES)
def test_auto_core_is_the_kernel(name):
    plat, costs, wl = contended()
    assert type(make(name)).kernel_spec == "policy"
    assert simulator(plat, costs, wl).run(make(name)).core_used == "compiled"


def test_unknown_policy_objects_run_their_own_decide():
    """A duck-typed policy (what ``explain`` wraps around one) has no in-kernel pick: its decide runs on the kernel's event loop (sim/pydecide.py)."""

    class Wrapped:
        def __init__(self, p):
            self.K, self.tenant_aware, self._p = p.K, p.tenant_aware, p

        def act(self, obs, mask):
            return self._p.act(obs, mask)

    plat, costs, wl = contended()
    sched = PolicyScheduler(policy=Wrapped(TeacherPolicy("triage")))
    assert sched.kernel_spec is None and PolicyScheduler.kernel_spec == "policy"
    with pytest.raises(InputError, match=r"^core: .*kernel_spec = None.*use core='auto' or core='python'"):
        simulator(plat, costs, wl, SimConfig(core="compiled")).run(sched)
    a = simulator(plat, costs, wl, SimConfig(log_requests=True)).run(sched)
    b = simulator(plat, costs, wl, SimConfig(log_requests=True)).run(make("triage"))
    assert a.core_used == "compiled-python" and b.core_used == "compiled"
    assert outcome(a) == outcome(b)  # the same rule either way


def test_a_teacher_with_another_theta_is_its_own_rule():
    """theta reaches the kernel: 0 protects nobody (savable first), 4 everyone savable."""
    plat, costs, wl = build(requests=400, load=1.2)
    outs = []
    for theta in (0.0, 0.8, 4.0):
        sims = [simulator(plat, costs, wl, SimConfig(log_requests=True, seed=1, core=c)).run(
            make("triage", theta=theta)) for c in ("python", "compiled")]
        assert outcome(sims[0]) == outcome(sims[1]), theta
        outs.append(outcome(sims[1]))
    assert outs[0] != outs[1]


# ------------------------------------------------------------------------------ the pieces
def test_cum_levels_match_the_features():
    assert tuple(compiled_policy.CUM_LEVELS) == features.CUM_LEVELS
    assert features.N_CAND == 18 + len(features.CUM_LEVELS)


def test_tanh_within_three_ulp_of_the_rounded_value():
    x = np.concatenate([np.linspace(-12, 12, 200_001), np.geomspace(1e-30, 1e-3, 2_000),
                        -np.geomspace(1e-30, 1e-3, 2_000), [0.0, -0.0]]).astype(np.float32)
    got = x.copy()
    compiled_policy.tanh32(got, len(got))
    ref = np.tanh(x.astype(np.float64)).astype(np.float32)
    ulp = np.abs(got.view(np.int32).astype(np.int64) - ref.view(np.int32).astype(np.int64))
    assert ulp.max() <= 3
    assert got[-2] == 0.0 and np.all(np.abs(got) <= 1.0)


def test_vectorised_tanh_is_its_scalar_python_code_bit_for_bit():
    """tanh32 is compiled with error_model="numpy" so that LLVM vectorises it; its values must
    still be those of the same arithmetic done one element at a time, in plain Python (IEEE
    float64, then rounded to float32): the forward pass, hence every decision, is unchanged."""
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(0.0, 3.0, 6_000), rng.uniform(-20.0, 20.0, 3_000), np.linspace(-9.5, 9.5, 1_001),
                        [0.0, -0.0, 9.0, -9.0, 1e-30, -1e-30, 1e30, -1e30, np.inf, -np.inf]]).astype(np.float32)
    got = x.copy()
    compiled_policy.tanh32(got, len(got))
    ref = x.copy()
    compiled_policy.tanh32.py_func(ref, len(ref))
    assert np.array_equal(got.view(np.uint32), ref.view(np.uint32))
    assert got[-2] == 1.0 and got[-1] == -1.0


@pytest.mark.parametrize("act", ["tanh", "relu"])
def test_forward_pass_against_a_float64_reference(act):
    """Random weights and sparse inputs (zeros are skipped): within float32 rounding of a
    float64 matmul, and the same on every call (scratch reused)."""
    rng = np.random.default_rng(0)
    dims = [37, 19, 11, 5]
    layers = [(rng.standard_normal((o, i)) * 0.4, rng.standard_normal(o) * 0.1) for i, o in zip(dims, dims[1:])]
    pol = NumpyPolicy(layers, dict(K=4, activation=act))
    f = np.tanh if act == "tanh" else (lambda v: np.maximum(v, 0.0))
    for _ in range(200):
        x = rng.standard_normal(37) * (rng.random(37) < 0.5)
        y = x.astype(np.float32).astype(np.float64)
        for j, (W, b) in enumerate(layers):
            y = W.astype(np.float32).astype(np.float64) @ y + b.astype(np.float32)
            if j < len(layers) - 1:
                y = f(y)
        got = pol.logits(x)
        assert got.dtype == np.float32 and np.allclose(got, y, rtol=1e-4, atol=1e-5)
        assert np.array_equal(got, pol.logits(x))


def test_masked_argmax_hand_cases():
    lg = np.array([3.0, 5.0, 5.0, 1.0], np.float32)
    am = compiled_policy.masked_argmax
    assert am(lg, np.array([True, True, True, True])) == 1  # the first of equal maxima
    assert am(lg, np.array([True, False, True, True])) == 2
    assert am(lg, np.array([False, False, False, True])) == 3
    assert am(np.array([1.0, np.nan, 2.0], np.float32), np.array([True, True, True])) == 1  # numpy: NaN wins


@pytest.mark.skipif(not SHIPPED, reason="policies not shipped")
def test_shipped_policy_act_is_the_arg_max_of_its_logits():
    pol = NumpyPolicy.load(shipped_policy_path("drl-layer"))
    rng = np.random.default_rng(1)
    for _ in range(300):
        x = (rng.random(pol.meta["obs_dim"]) * (rng.random(pol.meta["obs_dim"]) < 0.4)).astype(np.float32)
        mask = rng.random(pol.K + 1) < 0.6
        mask[-1] = True
        lg = pol.logits(x)
        lg[~mask] = -np.inf
        assert pol.act(x, mask) == int(lg.argmax())


# ------------------------------------------------------------------------- cycle schedulers
class _ObsPolicy:
    """A cycle policy whose action is a checksum of the observation: every cycle may move the
    action, and the two cores agree only if the kernel's state view gives the same observation."""

    def __init__(self, n):
        from fairsched.rl.cycle import CYCLE_VERSION

        self.n, self.meta, self.seen = n, {"cycle_version": CYCLE_VERSION}, []  # the current layout

    def act_cycle(self, obs):
        import zlib

        a = zlib.crc32(np.asarray(obs, np.float32).tobytes()) % self.n
        self.seen.append(a)
        return a


def _cycle_runs(plat, costs, wl, variant, with_policy, **cfg):
    from fairsched.rl.cycle import N_ACTIONS, CycleScheduler

    out = []
    for core in ("python", "compiled"):
        pol = _ObsPolicy(N_ACTIONS[variant]) if with_policy else None
        s = CycleScheduler(policy=pol, variant=variant)
        sim = simulator(plat, costs, wl, SimConfig(log_requests=True, core=core, **cfg)).run(s)
        out.append((sim, s.ctl.cycles, pol.seen if pol else None))
    (a, ca, sa), (b, cb, sb) = out
    assert b.core_used == "compiled" and a.core_used == "python"
    assert outcome(a) == outcome(b) and ca == cb > 3 and sa == sb
    return a, sa


@pytest.mark.parametrize("load", [0.7, 1.2])
@pytest.mark.parametrize("variant", ["drl", "relmas"])
@pytest.mark.parametrize("with_policy", [False, True], ids=["teacher", "policy"])
def test_cycle_schedulers_identical(variant, with_policy, load):
    plat, costs, wl = build(requests=800, load=load)
    _, seen = _cycle_runs(plat, costs, wl, variant, with_policy, seed=2)
    assert seen is None or len(set(seen)) > 1  # the action did move


@pytest.mark.parametrize("variant", ["drl", "relmas"])
@pytest.mark.parametrize("opts", [dict(sharing="proportional", shed_hopeless=False), dict(sharing="maxmin")])
def test_cycle_schedulers_contended_identical(variant, opts):
    plat, costs, wl = contended()
    _cycle_runs(plat, costs, wl, variant, True, seed=1, **opts)


def test_cycle_scheduler_tiny_pools_resume_exactly():
    from fairsched.rl.cycle import N_ACTIONS, CycleScheduler

    plat, costs, wl = build(requests=400, load=1.3)
    py = simulator(plat, costs, wl, SimConfig(log_requests=True, seed=3, core="python")).run(
        CycleScheduler(policy=_ObsPolicy(N_ACTIONS["relmas"]), variant="relmas"))
    sim = simulator(plat, costs, wl, SimConfig(log_requests=True, seed=3, core="compiled"))
    sched = CycleScheduler(policy=_ObsPolicy(N_ACTIONS["relmas"]), variant="relmas")
    sched.reset(sim, 3)
    compiled.run_compiled(sim, "policy", sched.kernel_params(sim), slots=1, heap=1, chunk=3, group=1)
    assert outcome(py) == outcome(sim)


def test_a_dispatch_mode_the_kernel_lacks_falls_back_to_python(monkeypatch):
    from fairsched.rl import cycle

    monkeypatch.setitem(cycle.MODES_V, cycle.CYCLE_VERSION, (*cycle.MODES, "new-mode"))
    s = cycle.CycleScheduler(variant="relmas")
    assert s.kernel_spec is None and cycle.CycleScheduler(variant="drl").kernel_spec == "policy"
    plat, costs, wl = contended()
    assert simulator(plat, costs, wl).run(s).core_used == "compiled-python"  # its decide, on the kernel


@pytest.mark.parametrize("variant", ["drl", "relmas"])
def test_cycle_env_steps_identically_on_both_cores(variant):
    """Same actions -> the same observations, rewards, episode ends and final counters."""
    pytest.importorskip("gymnasium")
    from fairsched.rl.cycle_env import CycleEnv

    plat, costs, _ = build()
    kw = dict(variant=variant, platform=plat, costs=costs, requests=600, randomize=False, load=1.2, sim_seed=3)
    envs = [CycleEnv(core=c, **kw) for c in ("python", "auto")]
    obs = [e.reset(seed=0)[0] for e in envs]
    assert envs[1].sim.core_used == "compiled" and np.array_equal(obs[0], obs[1])
    rng = np.random.default_rng(0)
    steps = 0
    while True:
        a = int(rng.integers(envs[0].action_space.n))
        out = [e.step(a) for e in envs]
        steps += 1
        (o0, r0, d0, t0, i0), (o1, r1, d1, t1, i1) = out
        assert np.array_equal(o0, o1) and r0 == r1 and (d0, t0) == (d1, t1), steps
        assert envs[0].sim.slo_hits_all == envs[1].sim.slo_hits_all
        if d0 or t0:
            assert i0["episode_metrics"] == i1["episode_metrics"]
            break
    assert steps > 3
    a, b = envs[0].sim, envs[1].sim
    assert (a.layer_events, a.decisions, a.slo_dropped, a.now) == (b.layer_events, b.decisions, b.slo_dropped, b.now)
