"""Why a learned scheduler made one decision: its candidates, their features and the policy's scores.

:func:`explain` replays a run of ``drl`` / ``relmas`` (or ``NAME:POLICY_PATH``) up to the policy's ``decision``-th evaluation (0-based; one evaluation per idle sub-accelerator
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


def explain(*, scheduler: str = "drl", decision: int = 0, scenario="default", platform="default", costs=None,
            load: float | None = None, requests: int | None = None, seed: int = 0) -> dict:
    """One decision of a policy scheduler, as a dict (see the module docstring)."""
    from fairsched.api import build
    from fairsched.rl.features import CAND_FEATURES, GLOBAL_FEATURES, N_CAND
    from fairsched.schedulers.registry import make
    from fairsched.sim.engine import SimConfig, Simulator

    if decision < 0:
        raise InputError(f"--decision: must be >= 0, got {decision}")
    sched = make(scheduler)
    if hasattr(sched, "ctl") and hasattr(sched, "policy"):  # rl/cycle.py: one decision per cycle, no candidates
        raise InputError(f"--scheduler: '{scheduler}' is a cycle policy (it picks a dispatch rule per cycle); explain "
                         "shows per-layer decisions: use drl or NAME:PER_LAYER_POLICY_PATH "
                         "(e.g. the per-layer relmas, rl/policies/relmas-layer)")
    if not hasattr(sched, "features") or not hasattr(sched, "policy"):
        raise InputError(f"--scheduler: '{scheduler}' is not a learned policy; explain works for drl, relmas "
                         "or NAME:POLICY_PATH")
    plat, table, wl = build(scenario=scenario, platform=platform, costs=costs, load=load, requests=requests)
    sched.check_platform(plat)
    sim = Simulator(plat, table, wl, SimConfig(seed=seed, time_decisions=False))
    last: dict = {}
    builder = sched.features.build

    def build_and_keep(s, sub):
        out = builder(s, sub)
        last.update(sub=sub, candidates=list(out[0]))
        return out

    sched.features.build = build_and_keep
    rec = _Recorder(sched.policy, decision, sim, last)
    sched.policy = rec
    sched.kernel_spec = None  # its own decide on the kernel, with the recorder as its policy
    try:
        sim.run(sched)
    except _Stop:
        pass
    if rec.record is None:
        raise InputError(f"--decision: the run has only {rec.calls} policy decisions; choose a smaller one "
                         "(or more --requests)")
    r = rec.record
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
        scheduler=scheduler, decision=decision, time_ms=r["now"] * 1e3, sub=sub.index, sub_type=sub.type,
        action=r["action"], idle=r["action"] == K, idle_logit=float(r["logits"][K]), idle_valid=bool(r["mask"][K]),
        candidates=cands,
        global_features={n: float(v) for n, v in zip(GLOBAL_FEATURES, obs[K * N_CAND:])},
    )
