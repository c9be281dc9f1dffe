"""The learned schedulers ``drl`` (tenant-aware) and ``relmas`` (tenant-agnostic), numpy only.

Each decision replays the env's protocol (:mod:`fairsched.rl.env`) without gymnasium or torch:
for the lowest-index idle sub-accelerator not yet left idle at this instant, build candidates and
features (:class:`~fairsched.rl.features.FeatureBuilder`), run the exported MLP
(:class:`~fairsched.rl.policy.NumpyPolicy`) and assign one request; the simulator then asks again
at the same instant, so the run sees exactly the decisions the env would. This module must import
without torch: ``fairsched.schedulers`` imports it to register the two names.
"""

from __future__ import annotations

from pathlib import Path

from fairsched.errors import InputError
from fairsched.rl.features import FeatureBuilder
from fairsched.rl.policy import NumpyPolicy, shipped_policy_path
from fairsched.schedulers.base import Scheduler
from fairsched.schedulers.registry import register
from fairsched.sim.engine import Decision

_CACHE: dict[str, NumpyPolicy] = {}


def load_policy(path: str | Path) -> NumpyPolicy:
    key = str(path)
    if key not in _CACHE:
        _CACHE[key] = NumpyPolicy.load(path)
    return _CACHE[key]


class PolicyScheduler(Scheduler):
    """Runs an exported policy. ``policy``: a path (stem, ``.npz`` or ``.json``) or a NumpyPolicy."""

    default_policy = ""
    tenant_aware = True

    def __init__(self, policy: str | Path | NumpyPolicy | None = None):
        if hasattr(policy, "act"):  # a NumpyPolicy or anything with K, tenant_aware, act(obs, mask)
            self.policy = policy
        else:
            p = policy or shipped_policy_path(self.default_policy)
            self.policy = load_policy(p)
        if self.policy.tenant_aware != self.tenant_aware and policy is None:
            raise InputError(f"shipped policy for '{self.name}' has tenant_aware={self.policy.tenant_aware}")
        self.features = FeatureBuilder(self.policy.K, self.policy.tenant_aware)

    def reset(self, sim, seed):
        self.features.reset(sim)
        self._skip: set[int] = set()
        self._t = None

    def decide(self, sim) -> Decision:
        if sim.now != self._t:
            self._t = sim.now
            self._skip = set()
        skip = self._skip
        K = self.policy.K
        for sub in sim.idle:
            if sub in skip:
                continue
            cands, obs, mask = self.features.build(sim, sub)
            if cands:
                a = self.policy.act(obs, mask)
                if a < K:
                    return Decision(assign=[(cands[a], sub)])
            skip.add(sub)
        return Decision()


class DRLScheduler(PolicyScheduler):
    """Tenant-aware DRL policy (MaskablePPO, need-weighted reward), shipped in rl/policies/drl."""

    default_policy = "drl"
    tenant_aware = True


class RelmasScheduler(PolicyScheduler):
    """RELMAS-like tenant-agnostic DRL policy (reward = hits, no tenant features), rl/policies/relmas."""

    default_policy = "relmas"
    tenant_aware = False


# register a name only when its policy ships, so `fairsched compare` never lists a scheduler it cannot run
for _name, _cls in (("drl", DRLScheduler), ("relmas", RelmasScheduler)):
    if shipped_policy_path(_name).with_suffix(".npz").is_file():
        register(_name)(_cls)
