"""The learned schedulers ``drl`` (tenant-aware) and ``relmas`` (tenant-agnostic), numpy only.

Each decision replays the env's protocol (:mod:`fairsched.rl.env`) without gymnasium or torch:
for the lowest-index idle sub-accelerator not yet left idle at this instant, build candidates and
features (:class:`~fairsched.rl.features.FeatureBuilder`), run the exported MLP
(:class:`~fairsched.rl.policy.NumpyPolicy`) and assign one request; the simulator then asks again
at the same instant, so the run sees exactly the decisions the env would. This module must import
without torch: ``fairsched.schedulers`` imports it to register the two names.

On the compiled core (``kernel_spec = "policy"``, :mod:`fairsched.sim.compiled_policy`) the same
protocol runs inside the kernel, bit for bit, for an exported MLP (:class:`NumpyPolicy`) and the
two teachers; any other policy object (a wrapper, a duck-typed policy) decides in Python, called from the kernel.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fairsched.errors import InputError
from fairsched.rl.features import FeatureBuilder
from fairsched.rl.policy import NumpyPolicy, policy_kind, shipped_policy_path
from fairsched.schedulers.base import Scheduler
from fairsched.schedulers.registry import register
from fairsched.sim.engine import Decision

_CACHE: dict[str, NumpyPolicy] = {}
_WARNED: set[tuple[str, tuple[str, ...]]] = set()
log = logging.getLogger(__name__)


def trained_types(meta: dict) -> list[str] | None:
    """The accelerator types a policy was trained on: ``platform_types`` in its JSON (written by
    ``fairsched train``), else the types of the shipped platform named in ``env.platform``;
    None when unknown."""
    if meta.get("platform_types"):
        return list(meta["platform_types"])
    name = (meta.get("env") or {}).get("platform")
    if isinstance(name, str) and name and "." not in name:
        from fairsched.platform.config import load_platform

        try:
            return load_platform(name).type_names
        except InputError:
            return None
    return None


def slot_mismatches(trained: list[str] | None, types: list[str]) -> list[tuple[str, str]]:
    """``(type, trained type)`` for each platform type whose one-hot slot of the per-layer
    observation (its position modulo ``features.MAX_TYPES``) held another type in training."""
    from fairsched.rl.features import MAX_TYPES

    if not trained:
        return []
    first = {}
    for j, t in enumerate(trained):
        first.setdefault(j % MAX_TYPES, t)
    return [(t, first[i % MAX_TYPES]) for i, t in enumerate(types)
            if i % MAX_TYPES in first and first[i % MAX_TYPES] != t]


def warn_once(key, msg: str, *args) -> None:
    """``log.warning(msg, *args)`` the first time ``key`` is seen in this process."""
    if key not in _WARNED:
        _WARNED.add(key)
        log.warning(msg, *args)


def load_policy(path: str | Path) -> NumpyPolicy:
    key = str(path)
    if key not in _CACHE:
        _CACHE[key] = NumpyPolicy.load(path)
    return _CACHE[key]


class PolicyScheduler(Scheduler):
    """Runs an exported policy. ``policy``: a path (stem, ``.npz`` or ``.json``) or a NumpyPolicy."""

    default_policy = ""
    tenant_aware = True
    takes_policy = True  # the registry accepts NAME:PATH (a policy file) for this class
    kernel_spec = "policy"  # sim/compiled_policy.py decides the same way, bit for bit

    def __init__(self, policy: str | Path | NumpyPolicy | None = None):
        if hasattr(policy, "act"):  # a NumpyPolicy or anything with K, tenant_aware, act(obs, mask)
            self.policy = policy
        else:
            p = policy or shipped_policy_path(self.default_policy)
            self.policy = load_policy(p)
        if self.policy.tenant_aware != self.tenant_aware and policy is None:
            raise InputError(f"shipped policy for '{self.name}' has tenant_aware={self.policy.tenant_aware}")
        self.features = FeatureBuilder(self.policy.K, self.policy.tenant_aware)
        if self._pick() is None:  # a policy the kernel does not know: its Python decide
            self.kernel_spec = None

    def _pick(self) -> str | None:
        """The compiled core's pick for this policy: ``mlp``, ``triage``, ``urgent`` or None."""
        from fairsched.rl.teacher import TeacherPolicy

        p = self.policy
        if type(p) is NumpyPolicy:
            return "mlp"
        if type(p) is TeacherPolicy:
            return p.kind
        return None

    def kernel_params(self, sim):
        """What the compiled core needs, computed by this run's FeatureBuilder (after ``reset``),
        so that both cores decide on the same values."""
        fb, p = self.features, self.policy
        if self._pick() is None:  # the policy was replaced after __init__: a bug of the caller
            raise ValueError(f"{type(self).__name__}: the compiled core has no pick for policy {type(p).__name__}")
        par = fb.kernel_params(self._pick())
        if par["pick"] == "triage":
            par["theta"] = p.theta
        elif par["pick"] == "mlp":
            par["layers"], par["activation"] = p.layers, p.meta.get("activation", "tanh")
        return (par,)

    @classmethod
    def for_path(cls, path=None):
        """The scheduler for an exported policy file: this class for a per-layer policy, a
        :class:`~fairsched.rl.cycle.CycleScheduler` for a cycle policy (``fairsched train``'s
        default formulation), told apart by the file's ``format``
        (:func:`~fairsched.rl.policy.policy_kind`), so ``drl:PATH`` / ``--policy`` run whatever
        ``train`` wrote. ``path`` None: this name's shipped policy (``rl/policies/<name>``), of
        either kind -- the shipped ``relmas`` is a cycle policy, the shipped ``drl`` a per-layer
        one -- and it must be of this name's variant."""
        from fairsched.rl.cycle import CycleScheduler

        if path is None and not cls.default_policy:  # a class with no policy file (the teachers)
            return cls()
        p = path if path is not None else shipped_policy_path(cls.default_policy)
        if policy_kind(p) == "layer":
            return cls(policy=p)
        sched = CycleScheduler(p)
        if path is None and sched.tenant_aware != cls.tenant_aware:
            raise InputError(f"shipped policy '{p}' for '{cls.default_policy}' is a "
                             f"{sched.ctl.variant} cycle policy; ship a {cls.default_policy} one")
        return sched

    def reset(self, sim, seed):
        self.features.reset(sim)
        self._skip: set[int] = set()
        self._t = None

    def check_platform(self, platform) -> None:
        """Warn, once per policy and platform, when the platform has accelerator types the policy
        never saw in training: it still runs (features are per candidate, not per type), but its
        decisions there are untested. Called by the runners (:func:`fairsched.api.run_one`, hence
        simulate, compare and sweep), not by ``reset``: a scheduler sees only the simulator state."""
        meta = getattr(self.policy, "meta", None) or {}
        trained = trained_types(meta)
        unseen = tuple(t for t in platform.type_names if trained is not None and t not in trained)
        key = (str(meta.get("command", id(self.policy))), unseen)
        if unseen:
            warn_once(key, "scheduler '%s': its policy was trained on accelerator types %s; this platform also has "
                        "%s, which it never saw, so its decisions there are untested; retrain on this platform "
                        "(fairsched train --platform ...)", self.name, ", ".join(trained), ", ".join(unseen))
        # the per-layer observation codes the sub's type by its position on the platform (a one-hot
        # slot, features.MAX_TYPES): a type in another position reads as the type trained there
        moved = slot_mismatches(trained, platform.type_names)
        key = (key[0], "slots", tuple(moved))
        if moved:
            warn_once(key, "scheduler '%s': its observation codes a sub-accelerator's type by position; on this "
                        "platform %s, so it decides there as if on the other type; list the platform's "
                        "sub_accelerators with the types in training order (%s) first",
                        self.name, "; ".join(f"{a} reads as {b}" for a, b in moved), ", ".join(trained))

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
    """Tenant-aware DRL policy. The registered name ``drl`` runs the shipped rl/policies/drl, a *cycle*
    policy since issue 13 (``cycle_version`` 5: each T_s it sets triage-sjf's line;
    :mod:`fairsched.rl.cycle`), built by :meth:`for_path`; this class itself runs per-layer drl
    policies (MaskablePPO, need-weighted reward), e.g. rl/policies/drl-layer, the per-layer drl
    shipped before."""

    default_policy = "drl"
    tenant_aware = True


class RelmasScheduler(PolicyScheduler):
    """RELMAS-like tenant-agnostic DRL policy (reward = hits, no tenant features). The registered
    name ``relmas`` runs the shipped rl/policies/relmas, a *cycle* policy (``cycle_version`` 4:
    each T_s it picks the dispatch mode; :mod:`fairsched.rl.cycle`), built by :meth:`for_path`;
    this class itself runs per-layer relmas policies (e.g. rl/policies/relmas-layer, the
    per-layer clone of ``llf-masked`` shipped before)."""

    default_policy = "relmas"
    tenant_aware = False


# register a name only when its policy ships, so `fairsched compare` never lists a scheduler it cannot run
for _name, _cls in (("drl", DRLScheduler), ("relmas", RelmasScheduler)):
    if shipped_policy_path(_name).with_suffix(".npz").is_file():
        register(_name)(_cls)
