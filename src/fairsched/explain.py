"""Why a learned scheduler made one decision: its candidates, their features and the policy's scores.

A **cycle policy** (the shipped ``drl`` and ``relmas``; :mod:`fairsched.rl.cycle`) decides once per
scheduling cycle: there ``decision`` counts cycles, and the result is the cycle's observation with
every float named (:func:`fairsched.rl.cycle.obs_names`), one logit per action (drl: the line
``theta``; relmas: the dispatch mode) and the chosen action (``kind = "cycle"``).

A **per-layer policy** (``NAME:POLICY_PATH`` of one, e.g. the per-layer ``drl`` kept as
rl/policies/drl-layer, the default): :func:`explain` replays a run of ``drl`` / ``relmas`` (or ``NAME:POLICY_PATH``) up to the policy's ``decision``-th evaluation (0-based; one evaluation per idle sub-accelerator
asked) and returns what the policy saw and said there: the idle sub-accelerator, the ``K``
candidate requests (tenant, model, next layer, slack), the mask, every named feature
(:data:`fairsched.rl.features.CAND_FEATURES` per candidate, ``GLOBAL_FEATURES`` once), the logits
and the chosen action (``K`` = leave the sub-accelerator idle). numpy only.

The run is the package's one event loop, the compiled kernel, with the scheduler's own Python
``decide`` at each decision point (:mod:`fairsched.sim.pydecide`: the instance's ``kernel_spec`` is
cleared, so the recorder standing in for its policy sees every evaluation); the recorder stops the
run by raising through the kernel's callback at the decision asked for.
"""

from __future__ import annotations

import numpy as np

from fairsched.errors import InputError


class _Stop(Exception):
    pass


class _CycleRecorder:
    """Stands in for a cycle policy: passes every call through and records the ``target``-th cycle."""

    def __init__(self, policy, target: int, sim):
        self._p, self._target, self._sim = policy, target, sim
        self.meta = getattr(policy, "meta", {})
        self.calls = 0
        self.record: dict | None = None

    def logits(self, obs):
        return self._p.logits(obs)

    def act_cycle(self, obs):
        a = self._p.act_cycle(obs)
        if self.calls == self._target:
            self.record = dict(obs=np.array(obs, dtype=np.float64), logits=np.array(self._p.logits(obs), dtype=np.float64),
                               action=int(a), now=self._sim.now)
            raise _Stop
        self.calls += 1
        return a


def _run_recorded(sched, sim, rec, what: str) -> dict:
    """Run ``sched`` with ``rec`` standing in for its policy (its own decide on the kernel) until the
    recorder stops the run at the decision asked for; that decision's record."""
    sched.policy = rec
    sched.kernel_spec = None  # its own decide on the kernel, with the recorder as its policy
    try:
        sim.run(sched)
    except _Stop:
        pass
    if rec.record is None:
        raise InputError(f"--decision: the run has only {rec.calls} {what}; choose a smaller one (or more --requests)")
    return rec.record


def _explain_cycle(sched, scheduler: str, decision: int, sim) -> dict:
    """One cycle decision of a cycle policy (module docstring)."""
    from fairsched.rl.cycle import MODES_V, THETAS, obs_names

    r = _run_recorded(sched, sim, _CycleRecorder(sched.policy, decision, sim), "scheduling cycles")
    ctl = sched.ctl
    labels = ([f"theta={t}" for t in THETAS] if ctl.variant == "drl" else [f"mode={m}" for m in MODES_V[ctl.version]])
    return dict(
        kind="cycle", scheduler=scheduler, decision=decision, time_ms=r["now"] * 1e3, variant=ctl.variant,
        cycle_version=ctl.version, dispatch=type(ctl).__name__, action=r["action"], action_label=labels[r["action"]],
        actions=[dict(index=i, label=lab, logit=float(r["logits"][i])) for i, lab in enumerate(labels)],
        features={n: float(v) for n, v in zip(obs_names(ctl.variant, ctl.version), r["obs"])},
    )


class _Recorder:
    """Stands in for the scheduler's policy: passes every call through and records the one asked for."""

    def __init__(self, policy, target: int, sim, last: dict):
        self._p, self._target, self._sim, self._last = policy, target, sim, last
        self.K, self.tenant_aware, self.meta = policy.K, policy.tenant_aware, getattr(policy, "meta", {})
        self.calls = 0
        self.record: dict | None = None

    def logits(self, obs):
        return self._p.logits(obs)

    def act(self, obs, mask):
        a = self._p.act(obs, mask)
        if self.calls == self._target:
            self.record = dict(obs=np.array(obs, dtype=np.float64), mask=np.array(mask, dtype=bool),
                               logits=np.array(self._p.logits(obs), dtype=np.float64), action=int(a),
                               now=self._sim.now, **self._last)
            raise _Stop
        self.calls += 1
        return a


def explain(*, scheduler: str | None = None, decision: int = 0, scenario="default", platform="default", costs=None,
            load: float | None = None, requests: int | None = None, seed: int = 0) -> dict:
    """One decision of a policy scheduler, as a dict (see the module docstring). ``scheduler`` None:
    the per-layer ``drl`` (rl/policies/drl-layer)."""
    from fairsched.api import build
    from fairsched.rl.features import CAND_FEATURES, GLOBAL_FEATURES, N_CAND
    from fairsched.rl.policy import shipped_policy_path
    from fairsched.schedulers.registry import make
    from fairsched.sim.engine import SimConfig, Simulator

    if decision < 0:
        raise InputError(f"--decision: must be >= 0, got {decision}")
    if scheduler is None:
        scheduler = f"drl:{shipped_policy_path('drl-layer')}"
    sched = make(scheduler)
    cycle = hasattr(sched, "ctl") and hasattr(sched, "policy")  # rl/cycle.py: one decision per cycle
    if cycle and sched.policy is None:
        raise InputError(f"--scheduler: '{scheduler}' is a fixed cycle rule, not a learned policy; explain works for "
                         "drl, relmas or NAME:POLICY_PATH")
    if not cycle and (not hasattr(sched, "features") or not hasattr(sched, "policy")):
        raise InputError(f"--scheduler: '{scheduler}' is not a learned policy; explain works for drl, relmas "
                         "or NAME:POLICY_PATH")
    plat, table, wl = build(scenario=scenario, platform=platform, costs=costs, load=load, requests=requests)
    sched.check_platform(plat)
    sim = Simulator(plat, table, wl, SimConfig(seed=seed, time_decisions=False))
    if cycle:
        return _explain_cycle(sched, scheduler, decision, sim)
    last: dict = {}
    builder = sched.features.build

    def build_and_keep(s, sub):
        out = builder(s, sub)
        last.update(sub=sub, candidates=list(out[0]))
        return out

    sched.features.build = build_and_keep
    rec = _Recorder(sched.policy, decision, sim, last)
    r = _run_recorded(sched, sim, rec, "policy decisions")
    K = rec.K
    obs = r["obs"]
    cands = []
    for i in range(K):
        block = obs[i * N_CAND:(i + 1) * N_CAND]
        row = dict(index=i, valid=bool(r["mask"][i]), logit=float(r["logits"][i]),
                   features={n: float(v) for n, v in zip(CAND_FEATURES, block)})
        if i < len(r["candidates"]):
            q = r["candidates"][i]
            row.update(request=q.id, tenant=wl.tenants[q.tenant], model=q.model, next_layer=q.next_layer,
                       n_layers=q.n_layers, slack_ms=(q.deadline - r["now"]) * 1e3)
        cands.append(row)
    sub = plat.subs[r["sub"]]
    return dict(
        kind="layer", scheduler=scheduler, decision=decision, time_ms=r["now"] * 1e3, sub=sub.index, sub_type=sub.type,
        action=r["action"], idle=r["action"] == K, idle_logit=float(r["logits"][K]), idle_valid=bool(r["mask"][K]),
        candidates=cands,
        global_features={n: float(v) for n, v in zip(GLOBAL_FEATURES, obs[K * N_CAND:])},
    )
