"""The cycle dispatchers with one *fixed* action: the headroom of the cycle action spaces.

Why: a cycle policy (:mod:`fairsched.rl.cycle`) can only pick among its actions; the best action in
hindsight, held for a whole run, per cell (the "oracle constant") bounds what a policy that learns
one good action per situation can reach, and tells whether the acceptance rule is reachable with
the action space at all (docs/rl.md, "Headroom of the cycle action spaces").

Registered only on request, never by default (``--schedulers constants`` of ``fairsched rl-eval``,
or ``fairsched sweep --import fairsched.rl.constant_plugin``; :func:`register_all`), one name per action:

* ``drl-theta<theta>`` for every ``theta`` of :data:`~fairsched.rl.cycle.THETAS` (``drl-theta0.8``
  is the ``triage`` scheduler, decision for decision);
* ``relmas-<mode>`` for every mode of :data:`~fairsched.rl.cycle.MODES` (``relmas-llf`` is
  ``llf-masked``).

Prototypes of richer action spaces, as constant rules (docs/rl.md, "Headroom"):

* ``drl-need-theta<theta>``: the triage line drawn on each tenant's *remaining need* instead of its
  static share: weight ``sum_s clip(q_s, 0, 1) * util_s`` (the capacity its SLOs still need to reach
  their targets, from the live need ``q_s``), cheapest first, protected while the cumulative weight is
  at most ``theta``. The static share counts a tenant far above its target as expensive as one that
  needs every request; the need weight frees that capacity for the next tenant in line.
* ``drl-srpt-theta<theta>``: the triage classes of ``triage`` (protected, savable, lost) with
  shortest remaining work first *within* the best class instead of least laxity: a second action
  dimension (the order inside a class) for drl, taken from what wins hit rate under overload (sjf).
* ``relmas-srpt-k64``: shortest remaining work first among the 64 least-laxity feasible requests
  (instead of 16): close to ``sjf`` restricted to requests that can still finish.

numpy only.
"""

from __future__ import annotations

import numpy as np

from fairsched.rl.cycle import MODES, THETAS, CycleController, CycleScheduler, _clip
from fairsched.rl.features import FeatureBuilder
from fairsched.schedulers import registry


class ConstantCycle(CycleScheduler):
    """A cycle scheduler whose action is the same in every cycle (no policy)."""

    variant = "drl"
    action = 0

    def __init__(self):
        super().__init__(None, variant=self.variant)

    def reset(self, sim, seed):
        super().reset(sim, seed)
        self.ctl.action = self.action  # the first cycle (due at time 0) applies it


class NeedController(CycleController):
    """drl dispatch with the triage line on the tenants' remaining need (see the module docstring)."""

    def reset(self, sim) -> None:
        super().reset(sim)
        self._nkey, self._ncum = None, None

    def _need_cum(self, sim):
        key = sum(sim.slo_done_all)
        if key != self._nkey:
            f = self.features
            q_s, q_t = f._tenant_state(sim)[1], f._tenant_state(sim)[3]
            w = [sum(_clip(q_s[s], 0.0, 1.0) * f.slo_util[s] for s in ss) for ss in f.tenant_slos]
            cum, acc = [0.0] * f.T, 0.0
            for t in sorted(range(f.T), key=lambda t: (w[t], t)):
                if q_t[t] <= 1.0:
                    acc += w[t]
                    cum[t] = acc
                else:
                    cum[t] = acc + w[t]
            self._nkey, self._ncum = key, cum
        return self._ncum

    def _pick(self, sim, sub, cands):
        return self._triage_pick(cands, self.features._tenant_state(sim)[3], self._need_cum(sim))


class NeedTriage(ConstantCycle):
    """``drl-need-theta<theta>``: constant theta, triage line on the remaining need."""

    def __init__(self):
        super().__init__()
        self.ctl = NeedController("drl", self.ctl.cycle_requests)


class SRPTTriageController(CycleController):
    """drl dispatch: the triage classes, shortest remaining work on this sub first within the best class."""

    def _pick(self, sim, sub, cands):
        q_t, cum = self.features._tenant_state(sim)[3:5]
        st, theta = self.features.slo_tenant, np.float32(self.theta)
        best, key = 0, (3, 0.0)
        for j, c in enumerate(cands):
            t = st[c[2].slo]
            cls = 2 if q_t[t] > 1.0 else 0 if np.float32(_clip(cum[t], 0.0, 4.0)) <= theta else 1
            k = (cls, c[3])
            if k < key:
                best, key = j, k
        return best


class SRPTTriage(ConstantCycle):
    """``drl-srpt-theta<theta>``: constant theta, srpt within the triage class."""

    def __init__(self):
        super().__init__()
        self.ctl = SRPTTriageController("drl", self.ctl.cycle_requests)


class WideSRPT(ConstantCycle):
    """``relmas-srpt-k64``: srpt among the 64 least-laxity feasible requests."""

    variant, action, K = "relmas", MODES.index("srpt"), 64

    def __init__(self):
        super().__init__()
        self.ctl.features = FeatureBuilder(self.K, tenant_aware=False)


SRPT_THETAS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def constant_names() -> list[str]:
    """Every constant-action scheduler's name of the cycle action spaces, drl thetas first."""
    return [f"drl-theta{t:g}" for t in THETAS] + [f"relmas-{m}" for m in MODES]


def prototype_names() -> list[str]:
    """The constant rules of the richer action spaces (module docstring)."""
    return ([f"drl-need-theta{t:g}" for t in THETAS] + ["relmas-srpt-k64"]
            + [f"drl-srpt-theta{t:g}" for t in SRPT_THETAS])


def register_all() -> None:
    """Register every constant and prototype scheduler (idempotent)."""
    names = constant_names()
    actions = [("drl", i) for i in range(len(THETAS))] + [("relmas", i) for i in range(len(MODES))]
    for name, (variant, a) in zip(names, actions):
        if name not in registry._REGISTRY:
            cls = type(f"Constant_{name.replace('-', '_').replace('.', '_')}", (ConstantCycle,),
                       dict(variant=variant, action=a, __doc__=f"cycle dispatcher, action fixed: {name}"))
            registry.register(name)(cls)
    for i, t in enumerate(THETAS):
        name = f"drl-need-theta{t:g}"
        if name not in registry._REGISTRY:
            cls = type(f"NeedTriage_{i}", (NeedTriage,), dict(action=i, __doc__=f"need triage, theta {t:g}"))
            registry.register(name)(cls)
    for t in SRPT_THETAS:
        name = f"drl-srpt-theta{t:g}"
        if name not in registry._REGISTRY:
            i = THETAS.index(t)
            registry.register(name)(type(f"SRPTTriage_{i}", (SRPTTriage,), dict(action=i, __doc__=f"srpt triage, theta {t:g}")))
    if "relmas-srpt-k64" not in registry._REGISTRY:
        registry.register("relmas-srpt-k64")(WideSRPT)
