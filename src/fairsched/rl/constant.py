"""The cycle dispatchers with one *fixed* action: the headroom of the cycle action spaces.

Why: a cycle policy (:mod:`fairsched.rl.cycle`) can only pick among its actions; the best action in
hindsight, held for a whole run, per cell (the "oracle constant") bounds what a policy that learns
one good action per situation can reach, and tells whether the acceptance rule is reachable with
the action space at all (docs/rl.md, "Headroom of the cycle action spaces").

Registered on import (not by default: ``fairsched sweep --import fairsched.rl.constant`` or
:func:`fairsched.schedulers.registry.import_plugin`), one name per action:

* ``drl-theta<theta>`` for every ``theta`` of :data:`~fairsched.rl.cycle.THETAS` (``drl-theta0.8``
  is the ``triage`` scheduler, decision for decision);
* ``relmas-<mode>`` for every mode of :data:`~fairsched.rl.cycle.MODES` (``relmas-llf`` is
  ``llf-masked``).

numpy only.
"""

from __future__ import annotations

from fairsched.rl.cycle import MODES, THETAS, CycleScheduler
from fairsched.schedulers.registry import _REGISTRY, register


class ConstantCycle(CycleScheduler):
    """A cycle scheduler whose action is the same in every cycle (no policy)."""

    variant = "drl"
    action = 0

    def __init__(self):
        super().__init__(None, variant=self.variant)

    def reset(self, sim, seed):
        super().reset(sim, seed)
        self.ctl.action = self.action  # the first cycle (due at time 0) applies it


def constant_names() -> list[str]:
    """Every constant-action scheduler's name, drl thetas first."""
    return [f"drl-theta{t:g}" for t in THETAS] + [f"relmas-{m}" for m in MODES]


def _register() -> None:
    names = constant_names()
    actions = [("drl", i) for i in range(len(THETAS))] + [("relmas", i) for i in range(len(MODES))]
    for name, (variant, a) in zip(names, actions):
        if name not in _REGISTRY:
            cls = type(f"Constant_{name.replace('-', '_').replace('.', '_')}", (ConstantCycle,),
                       dict(variant=variant, action=a, __doc__=f"cycle dispatcher, action fixed: {name}"))
            register(name)(cls)


_register()
