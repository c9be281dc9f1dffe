"""The rule-based teachers of the learned schedulers, as registered heuristic schedulers.

Why: ``drl`` was cloned from the triage rule and ``relmas`` from least laxity under the env's
action mask; a table without those rules credits learning with what the rules do. Both run through
the very path of the learned policies (:class:`~fairsched.rl.policy_scheduler.PolicyScheduler`:
the env's candidates, features and mask, one decision per idle sub-accelerator), so they are
exactly the teachers, decision for decision.

* ``triage`` (teacher of ``drl``): among the candidates (one per SLO, its least-laxity request;
  ordered by laxity), the first whose tenant is *protected* -- it can still make its SLA and the
  cumulative platform share of it and all cheaper savable tenants is at most ``theta`` (0.8) --,
  else the first savable one, else the most urgent. See :func:`fairsched.rl.teacher.triage_action`.
* ``llf-masked`` (teacher of ``relmas``): least laxity first among the *feasible, safe* placements
  of the env's mask: requests that can still finish on this sub-accelerator's type, and not a
  *risky* placement (under 10% of the deadline left here while a faster type would leave 15% or
  more: it waits for that type). Unlike ``llf`` it never starts a request that cannot finish here.
"""

from __future__ import annotations

from fairsched.rl.features import DEFAULT_K
from fairsched.rl.policy_scheduler import PolicyScheduler
from fairsched.rl.teacher import THETA, TeacherPolicy
from fairsched.schedulers.registry import register


@register("triage")
class TriageScheduler(PolicyScheduler):
    """Knapsack-style tenant triage on the env's candidates (the ``drl`` teacher)."""

    tenant_aware = True

    def __init__(self, theta: float = THETA, K: int = DEFAULT_K):
        super().__init__(TeacherPolicy("triage", K, theta))


@register("llf-masked")
class MaskedLLFScheduler(PolicyScheduler):
    """Least laxity among the env's feasible, non-risky candidates (the ``relmas`` teacher)."""

    tenant_aware = False

    def __init__(self, K: int = DEFAULT_K):
        super().__init__(TeacherPolicy("urgent", K))


def _fixed_mode_class(mode: str, doc: str):
    """A relmas cycle mode (rl/cycle.py) held for the whole run, as a registered tenant-agnostic
    heuristic: ``sjf-feasible`` (version 3) and ``sjf-bytes`` (version 4). Each is a rival of a
    learned ``relmas`` once, as a fixed rule, it beats the rules before it somewhere (docs/rl.md,
    "relmas, cycle_version 3" and "4"): a policy that may switch to a mode must beat the mode."""
    from fairsched.rl.cycle import MODES, CycleScheduler

    class FixedModeScheduler(CycleScheduler):
        tenant_aware = False

        def __init__(self):
            super().__init__(None, variant="relmas")

        def reset(self, sim, seed):
            super().reset(sim, seed)
            self.ctl.action = MODES.index(mode)  # the first cycle (due at 0) applies it

    FixedModeScheduler.__doc__ = doc
    FixedModeScheduler.__name__ = FixedModeScheduler.__qualname__ = "".join(
        w.capitalize() for w in mode.split("-")).replace("Sjf", "SJF") + "Scheduler"
    return FixedModeScheduler


SJFFeasibleScheduler = register("sjf-feasible")(_fixed_mode_class(
    "sjf-feasible", "Shortest remaining work (best types) first among requests that can finish where placed."))
SJFBytesScheduler = register("sjf-bytes")(_fixed_mode_class(
    "sjf-bytes", "Least remaining DRAM traffic first among requests that can finish where placed (bandwidth-aware)."))
