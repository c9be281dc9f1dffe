"""Decision cost of the learned policy: numpy inference vs sb3 ``predict`` on the same observations.

:func:`decision_latency` records observations (and masks) from a short run of the shipped policy on
the default scenario, then times, one observation at a time, (a) the numpy policy's ``act`` and (b)
sb3-contrib ``MaskablePPO.predict(obs, action_masks=mask, deterministic=True)`` of the same weights
(copied into a torch model), in the same process. It also reports the feature-building time per
decision (candidates + observation, numpy) and how often the two pick the same action. torch and
sb3 are optional: without them only the numpy numbers are returned.
"""

from __future__ import annotations

import time

import numpy as np


def _q(ns: list[int]) -> dict:
    a = np.asarray(ns, dtype=np.float64) / 1e3
    return dict(p50_us=float(np.percentile(a, 50)), p99_us=float(np.percentile(a, 99)), mean_us=float(a.mean()))


class _Enough(Exception):
    """Raised through the kernel's callback once enough observations are recorded."""


def record_observations(policy: str = "drl", n_obs: int = 2000, *, scenario="default", load: float = 0.9,
                        requests: int = 400, seed: int = 0, costs=None, platform="default"):
    """Run the policy scheduler and keep up to ``n_obs`` (obs, mask) pairs and feature-build times."""
    from fairsched.api import build
    from fairsched.rl.policy import shipped_policy_path
    from fairsched.rl.policy_scheduler import DRLScheduler, PolicyScheduler, RelmasScheduler
    from fairsched.sim.engine import SimConfig, Simulator

    # per-layer policies only (the observations are per layer): the per-layer drl and relmas kept as
    # rl/policies/drl-layer and relmas-layer (the shipped drl and relmas are cycle policies)
    if policy in ("drl", "drl-layer"):
        sched = DRLScheduler(shipped_policy_path("drl-layer"))
    elif policy == "relmas-layer":
        sched = RelmasScheduler(shipped_policy_path("relmas-layer"))
    else:
        sched = PolicyScheduler(policy)
    plat, table, wl = build(scenario=scenario, platform=platform, costs=costs, load=load, requests=requests)
    obs_l, mask_l, feat_ns = [], [], []
    fb = sched.features
    orig = fb.build

    def build_rec(sim, sub):
        t0 = time.perf_counter_ns()
        out = orig(sim, sub)
        feat_ns.append(time.perf_counter_ns() - t0)
        if out[0] and len(obs_l) < n_obs:
            obs_l.append(out[1].copy())
            mask_l.append(out[2].copy())
        return out

    fb.build = build_rec
    decide = sched.decide

    def decide_rec(sim):  # the run stops after the decision that filled the record
        d = decide(sim)
        if len(obs_l) >= n_obs:
            raise _Enough
        return d

    # its own decide on the kernel's event loop (sim/pydecide.py): an instance decide clears the rule
    sched.decide = decide_rec
    sim = Simulator(plat, table, wl, SimConfig(seed=seed, time_decisions=False))
    try:
        sim.run(sched)
    except _Enough:
        pass
    fb.build = orig
    del sched.decide
    return sched.policy, np.array(obs_l, dtype=np.float32), np.array(mask_l), feat_ns


def decision_latency(policy: str = "drl", n_obs: int = 2000, *, sb3: bool = True, warmup: int = 200,
                     **record_kw) -> dict:
    """p50/p99 per decision (us) of the numpy policy and of sb3 ``predict`` on the same observations.

    Returns a dict: ``n_obs``, ``numpy`` and ``sb3`` (each ``p50_us``, ``p99_us``, ``mean_us``),
    ``features`` (feature building per decision), ``speedup_p50``/``speedup_p99`` (sb3 / numpy) and
    ``agreement`` (fraction of identical actions). ``sb3`` is ``None`` without torch/sb3-contrib.
    """
    pol, obs, masks, feat_ns = record_observations(policy, n_obs, **record_kw)
    n = len(obs)
    for i in range(min(warmup, n)):
        pol.act(obs[i], masks[i])
    np_ns, np_act = [], []
    for i in range(n):
        t0 = time.perf_counter_ns()
        a = pol.act(obs[i], masks[i])
        np_ns.append(time.perf_counter_ns() - t0)
        np_act.append(a)
    out = dict(policy=policy, n_obs=n, numpy=_q(np_ns), features=_q(feat_ns) if feat_ns else None, sb3=None)
    if not sb3:
        return out
    try:
        model = _sb3_model(pol)
    except ModuleNotFoundError:
        return out
    import torch

    torch.set_num_threads(1)
    for i in range(min(warmup, n)):
        model.predict(obs[i], action_masks=masks[i], deterministic=True)
    sb_ns, sb_act = [], []
    for i in range(n):
        t0 = time.perf_counter_ns()
        a, _ = model.predict(obs[i], action_masks=masks[i], deterministic=True)
        sb_ns.append(time.perf_counter_ns() - t0)
        sb_act.append(int(a))
    out["sb3"] = _q(sb_ns)
    out["speedup_p50"] = out["sb3"]["p50_us"] / out["numpy"]["p50_us"]
    out["speedup_p99"] = out["sb3"]["p99_us"] / out["numpy"]["p99_us"]
    out["agreement"] = float(np.mean(np.array(np_act) == np.array(sb_act))) if n else float("nan")
    return out


def _sb3_model(pol):
    """A MaskablePPO with the numpy policy's architecture and weights (actor only)."""
    import gymnasium as gym
    import torch
    import torch.nn as nn
    from sb3_contrib import MaskablePPO

    from fairsched.rl.features import obs_dim

    class _Spaces(gym.Env):
        def __init__(self):
            self.observation_space = gym.spaces.Box(-2.0, 10.0, (obs_dim(pol.K),), np.float32)
            self.action_space = gym.spaces.Discrete(pol.K + 1)

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            return np.zeros(self.observation_space.shape, np.float32), {}

        def step(self, a):  # pragma: no cover - never stepped
            return np.zeros(self.observation_space.shape, np.float32), 0.0, True, False, {}

        def action_masks(self):
            return np.ones(pol.K + 1, bool)

    hidden = [W.shape[0] for W, _ in pol.layers[:-1]]
    act = {"tanh": nn.Tanh, "relu": nn.ReLU}[pol.meta.get("activation", "tanh")]
    model = MaskablePPO("MlpPolicy", _Spaces(), device="cpu", n_steps=64, batch_size=64,
                        policy_kwargs=dict(net_arch=dict(pi=hidden, vf=hidden), activation_fn=act))
    lin = [m for m in model.policy.mlp_extractor.policy_net if isinstance(m, nn.Linear)] + [model.policy.action_net]
    with torch.no_grad():
        for m, (W, b) in zip(lin, pol.layers):
            m.weight.copy_(torch.as_tensor(W, dtype=torch.float32))
            m.bias.copy_(torch.as_tensor(b, dtype=torch.float32))
    return model


def cycle_decision_latency(policy: str = "drl", *, scenario="default", load: float = 1.2, requests: int = 4000,
                           seed: int = 0, platform="default", costs=None, repeat: int = 25, warmup: int = 50) -> dict:
    """p50/p99 (us) of a shipped *cycle* policy's decisions (``drl``, ``relmas``: one per scheduling
    cycle) on a run of ``scenario``: ``whole`` = the scheduler's whole cycle step in the run
    (observation from the kernel's state view, forward pass, the cycle's pick:
    :meth:`CycleScheduler._on_cycle`), one sample per cycle; ``forward`` = the numpy MLP's
    ``act_cycle`` alone on the run's recorded observations, each ``repeat`` times after ``warmup``
    calls (a run has only ~80 cycles). Between cycles the dispatcher runs inside the compiled kernel;
    its cost is in the layer-event rates."""
    from fairsched.api import build
    from fairsched.schedulers.registry import make
    from fairsched.sim.engine import SimConfig, Simulator

    sched = make(policy)
    if not hasattr(sched, "_on_cycle") or getattr(sched, "policy", None) is None:
        raise ValueError(f"{policy}: not a learned cycle policy")
    pol, step = sched.policy, sched._on_cycle
    obs_l, whole_ns = [], []

    class _Recorded:  # the policy, its observations kept
        meta = pol.meta

        @staticmethod
        def act_cycle(obs):
            obs_l.append(np.array(obs, dtype=np.float32))
            return pol.act_cycle(obs)

    def timed_step(view):
        t0 = time.perf_counter_ns()
        out = step(view)
        whole_ns.append(time.perf_counter_ns() - t0)
        return out

    sched.policy, sched._on_cycle = _Recorded(), timed_step
    plat, table, wl = build(scenario=scenario, platform=platform, costs=costs, load=load, requests=requests)
    sim = Simulator(plat, table, wl, SimConfig(seed=seed, time_decisions=False)).run(sched)
    for i in range(warmup):
        pol.act_cycle(obs_l[i % len(obs_l)])
    fwd_ns = []
    for _ in range(repeat):
        for o in obs_l:
            t0 = time.perf_counter_ns()
            pol.act_cycle(o)
            fwd_ns.append(time.perf_counter_ns() - t0)
    return dict(policy=policy, cycles=len(whole_ns), core=sim.core_used, forward=_q(fwd_ns), whole=_q(whole_ns),
                forward_samples=len(fwd_ns), controller_cycles=sched.ctl.cycles)
