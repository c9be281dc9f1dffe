"""drl's protect-set dispatch: an explicit per-tenant protect mask instead of a line over share.

Why: the cycle action of ``cycle_version`` 1/2 is one triage line ``theta`` over the tenants'
cumulative platform share; even the best constant line per cell in hindsight gains only +2/+3
tenants of 85 over ``triage`` (docs/rl.md, "Headroom"). The line can only protect the *cheapest*
tenants by static share; a per-tenant mask can protect any set (e.g. skip a cheap tenant with
tight deadlines that will fail anyway and protect two others). This module is the dispatcher of
such a mask, one implementation for both cores (the compiled copy is
:func:`fairsched.sim.compiled_policy.protect_pick`, bit for bit):

* over every feasible, non-risky ready request on the idle sub-accelerator (the feasibility and
  risky tests of :meth:`~fairsched.rl.features.FeatureBuilder.candidates`, but not its K-menu, so
  an abandoned tenant's head cannot crowd a protected one out), the least
  ``(class, laxity, id)``: class 0 = a savable tenant (live need ``q_t <= 1``) in the mask,
  1 = another savable tenant, 2 = a lost one;
* ``shed=True``: only class 0 is ever started; abandoned tenants' requests wait and are dropped at
  their deadline, so their capacity goes to the protected tenants;
* ``per_slo=True``: the mask has one entry per SLO (class 0 = a savable tenant's request of a
  protected SLO): it can favour a tenant's binding SLO over its easy ones.

:class:`ProtectScheduler` runs one fixed mask for a whole run (the hindsight search of
:mod:`fairsched.experiments.protect_search`); a learned policy sets the mask per cycle.

numpy only.
"""

from __future__ import annotations

import math

import numpy as np

from fairsched.errors import InputError
from fairsched.rl.cycle import CycleController, CycleScheduler
from fairsched.rl.features import RISKY
from fairsched.rl.teacher import THETA
from fairsched.schedulers.base import Scheduler
from fairsched.schedulers.registry import register
from fairsched.sim.engine import Decision


def triage_mask(features, theta: float = THETA) -> np.ndarray:
    """The tenants ``triage`` protects at the start of a run (every tenant savable): cheapest
    static share first while the cumulative share is at most ``theta`` (float32 comparison, as
    the triage rule's). ``features``: a reset :class:`~fairsched.rl.features.FeatureBuilder`."""
    share = features.tenant_share
    m = np.zeros(features.T, np.float32)
    acc = 0.0
    th = np.float32(theta)
    for t in sorted(range(features.T), key=lambda t: (share[t], t)):
        acc += share[t]
        if np.float32(min(max(acc, 0.0), 4.0)) <= th:
            m[t] = 1.0
    return m


class ProtectController(CycleController):
    """The drl cycle controller with the protect-set dispatch; ``protect``: the mask at reset
    (None: every tenant protected), ``shed``: start only protected tenants' requests, ``per_slo``:
    one mask entry per SLO instead of per tenant."""

    def __init__(self, protect=None, shed: bool = False, cycle_requests: float | None = None, version: int = 1,
                 per_slo: bool = False):
        super().__init__("drl", **({} if cycle_requests is None else dict(cycle_requests=cycle_requests)),
                         version=version)
        self.protect0 = None if protect is None else np.asarray(protect, np.float32)
        self.shed = bool(shed)
        self.per_slo = bool(per_slo)

    def reset(self, sim) -> None:
        super().reset(sim)
        T = self.features.S if self.per_slo else self.features.T
        what = "SLOs" if self.per_slo else "tenants"
        if self.protect0 is None:
            self.protect = np.ones(T, np.float32)
        elif len(self.protect0) != T:
            raise InputError(f"protect: {len(self.protect0)} entries for {T} {what}; give one per {what[:-1]}")
        else:
            self.protect = self.protect0.copy()
        self.mk, self.python_only = None, False  # the protect dispatch reads no (m,k) history

    def set_protect(self, mask) -> None:
        """The mask of the cycle that starts now (in place: the compiled core holds this array's values
        through :meth:`kernel_pick`)."""
        self.protect[:] = np.asarray(mask, np.float32)

    @property
    def pick_name(self) -> str:
        return "protect" + ("-slo" if self.per_slo else "") + ("-shed" if self.shed else "")

    def kernel_pick(self) -> dict:
        return dict(pick=self.pick_name, theta=0.0, next_cycle=self.next_cycle, protect=self.protect)

    def dispatch(self, sim) -> Decision:
        if sim.now != self._t:
            self._t = sim.now
            self._skip = set()
        skip = self._skip
        for sub in sim.idle:
            if sub in skip:
                continue
            r = self.protect_pick(sim, sub)
            if r is not None:
                return Decision(assign=[(r, sub)])
            skip.add(sub)
        return Decision()

    def protect_pick(self, sim, sub):
        """The request to start on ``sub`` (module docstring), or None."""
        f = self.features
        now = sim.now
        prof_sub = sim.prof[sim.sub_prof[sub]]
        bs, Dl, st, prot, shed, ps = sim.best_suffix, f.D, f.slo_tenant, self.protect, self.shed, self.per_slo
        lo, hi = RISKY
        q_t = f._tenant_state(sim)[3]
        best, bkey = None, None
        for r in sim.ready.values():
            rem = prof_sub[r.mi].suffix[r.next_layer]
            lax = r.deadline - now - rem
            if lax < 0.0:
                continue
            D = Dl[r.slo]
            if lax < lo * D and r.deadline - now - bs[r.mi][r.next_layer] >= hi * D:
                continue  # risky here: wait for a faster type
            t = st[r.slo]
            c = 2 if q_t[t] > 1.0 else 0 if prot[r.slo if ps else t] != 0.0 else 1
            if shed and c:
                continue
            key = (c, lax, r.id)
            if bkey is None or key < bkey:
                best, bkey = r, key
        return best


class ProtectScheduler(Scheduler):
    """One fixed protect mask for the whole run (no cycles); ``protect``: one entry per tenant
    (per SLO with ``per_slo``; nonzero = protected; None: all), or ``"triage"`` for triage's
    protect set at the start (per tenant only)."""

    name = "protect"
    kernel_spec = "policy"
    tenant_aware = True

    def __init__(self, protect=None, shed: bool = False, per_slo: bool = False):
        self._triage = isinstance(protect, str)
        if self._triage and (protect != "triage" or per_slo):
            raise InputError(f"protect: '{protect}' unknown; give a mask (or 'triage' for a per-tenant mask)")
        self.ctl = ProtectController(None if self._triage else protect, shed, per_slo=per_slo)

    def reset(self, sim, seed):
        self.ctl.reset(sim)
        if self._triage:
            self.ctl.set_protect(triage_mask(self.ctl.features))

    def kernel_params(self, sim):
        c = self.ctl
        return (c.features.kernel_params(pick=c.pick_name, protect=c.protect),)

    def decide(self, sim) -> Decision:
        return self.ctl.dispatch(sim)


class _Segmented(CycleScheduler):
    """A cycle controller whose setting changes per *segment* of the run: ``segments[i]`` for the
    i-th of ``len(segments)`` equal runs of cycles, applied by ``_set`` at cycle boundaries (the
    compiled core's cycle exit, or ``decide`` on a Python-decided run). One place for the segment
    arithmetic of :class:`ScheduledProtect` (masks) and :class:`ScheduledHow` (variants)."""

    kernel_spec = "policy"
    segments: list

    def _set(self, item) -> None:
        raise NotImplementedError

    def reset(self, sim, seed):
        self.ctl.reset(sim)
        n_cycles = max(1.0, sim.n_total / self.ctl.cycle_requests)
        self._seg = max(1, math.ceil(n_cycles / len(self.segments)))

    def _next(self, sim) -> None:
        ctl = self.ctl
        ctl.set_action(sim, ctl.action)
        self._set(self.segments[min((ctl.cycles - 1) // self._seg, len(self.segments) - 1)])

    def _on_cycle(self, view) -> dict:
        self._next(view)
        return self.ctl.kernel_pick()

    def decide(self, sim) -> Decision:
        if self.ctl.due(sim):
            self._next(sim)
        return self.ctl.dispatch(sim)


class ScheduledProtect(_Segmented):
    """A protect mask per *segment* of the run (``masks[i]`` for the i-th of ``len(masks)`` equal
    runs of cycles), switched at cycle boundaries through the cycle machinery (the compiled core's
    cycle exit): the hindsight bound of switching within a run, and the run-time path of a policy
    that sets the mask each cycle."""

    def __init__(self, masks, shed: bool = False, per_slo: bool = False):
        super().__init__(None, variant="drl", version=1)
        self.masks = [np.asarray(m, np.float32) for m in masks]
        if not self.masks:
            raise InputError("masks: give at least one protect mask")
        self.ctl = ProtectController(self.masks[0], shed, per_slo=per_slo)

    @property
    def segments(self) -> list:
        return self.masks

    def _set(self, mask) -> None:
        self.ctl.set_protect(mask)


# ------------------------------------------------------------------------------ the "how" lever
#: orders of a class: laxity on the sub it would get, deadline, remaining work there, remaining work on
#: the best types; ``none`` (the classes after the protected one only): never started (shedding)
ORDERS = ("llf", "edf", "srpt", "sjf", "none")
#: which requests may start: feasible where placed and not risky (the env's mask), feasible where
#: placed, any ready request (the simulator's own shedding still drops the hopeless ones)
FILTERS = ("env", "feasible", "any")
#: placement: each idle sub in index order takes its best request (the protect picks, triage), or the
#: best request overall goes to the idle sub where its next layer runs fastest (affinity-edf, sjf)
PLACEMENTS = ("sub", "fastest")
#: admission (what runs at all): a savable tenant's request whose SLO has slack -- at least one of the
#: SLO's requests ended and its running hit rate is at least ``tau_s + delta`` (margin ``m_s >= delta``)
#: -- is served later: ``demote`` (a protected one after the other protected requests), ``defer``
#: (after every savable tenant's request without slack) or ``drop`` (not started while the slack
#: lasts: its miss is spent on the others). Each such miss lowers the margin, so the rule holds the
#: SLO near ``tau + delta``: ``delta`` is the reserve kept for the end of the window. (A first try
#: tested the need ``q_s <= tau_s - delta`` instead; it spends the whole surplus by the end of the
#: window and leaves the SLO on the knife edge of its target: docs/rl.md, "Headroom of admission".)
ADMITS = ("off", "demote", "defer", "drop")


class HowController(ProtectController):
    """The protect dispatch with *how* the classes are served as parameters (the compiled copy is
    :func:`fairsched.sim.compiled_policy.how_pick`, bit for bit): ``order`` inside the protected
    class, ``uorder`` for the other savable and the lost tenants (``"none"``: they are never
    started), ``filt`` (:data:`FILTERS`), ``place`` (:data:`PLACEMENTS`). Protected: triage's line
    (``protect="line"``: savable and the cumulative share of the savable tenants up to this one at
    most ``theta``, re-evaluated as tenants are lost, exactly the ``triage`` classes) or a fixed
    mask (per tenant, or per SLO with ``per_slo``). With ``("llf", "llf", "env", "sub")`` and the
    line this is ``triage`` without its 8-candidate menu (the same run wherever a sub sees at most
    8 SLOs with a ready request). ``admit`` / ``delta``: the admission lever (:data:`ADMITS`,
    :meth:`admit_class`; ``off`` by default)."""

    def __init__(self, order: str = "llf", uorder: str = "llf", filt: str = "env", place: str = "sub",
                 protect="line", per_slo: bool = False, theta: float = THETA, admit: str = "off",
                 delta: float = 0.0, cycle_requests: float | None = None, version: int = 1):
        for val, allowed, what in ((order, ORDERS[:-1], "order"), (uorder, ORDERS, "uorder"),
                                   (filt, FILTERS, "filter"), (place, PLACEMENTS, "place"), (admit, ADMITS, "admit")):
            if val not in allowed:
                raise InputError(f"{what}: '{val}' unknown; use one of {', '.join(allowed)}")
        if not (isinstance(delta, (int, float)) and math.isfinite(delta) and -1.0 <= delta <= 1.0):
            raise InputError(f"delta: {delta!r} is not a hit-rate slack; give a number in [-1, 1], e.g. 0.02")
        self.line = isinstance(protect, str)
        if self.line and protect != "line":
            raise InputError(f"protect: '{protect}' unknown; give a mask or 'line' (triage's line)")
        super().__init__(None if self.line else protect, per_slo=per_slo, cycle_requests=cycle_requests,
                         version=version)
        self.order, self.uorder, self.filt, self.place = order, uorder, filt, place
        self._theta = float(theta)  # the cycle controller's reset / set_action set theta from its action
        self.admit = admit
        self.cfg = np.array([ORDERS.index(order), ORDERS.index(uorder), FILTERS.index(filt),
                             PLACEMENTS.index(place), float(self.line), float(per_slo), delta,
                             ADMITS.index(admit)], np.float32)
        self.delta = float(self.cfg[6])  # the float32 value the compiled core reads

    def reset(self, sim) -> None:
        super().reset(sim)
        self.theta = self._theta
        self.protect = np.concatenate([self.protect, self.cfg])  # the kernel's pw: mask, then the config

    def set_action(self, sim, a: int) -> None:
        super().set_action(sim, a)
        self.theta = self._theta  # the line stays where it was set (the action is the variant)

    def set_protect(self, mask) -> None:
        self.protect[:len(self.protect) - len(self.cfg)] = np.asarray(mask, np.float32)

    @property
    def pick_name(self) -> str:
        return "how"

    def kernel_pick(self) -> dict:
        return dict(pick="how", theta=self.theta, next_cycle=self.next_cycle, protect=self.protect)

    def set_variant(self, order: str, uorder: str, filt: str, place: str) -> None:
        """Serve the classes another way from now on (the cycle that starts now): the config entries
        at the end of the kernel's array, which both cores read."""
        self.order, self.uorder, self.filt, self.place = order, uorder, filt, place
        self.cfg[:4] = [ORDERS.index(order), ORDERS.index(uorder), FILTERS.index(filt), PLACEMENTS.index(place)]
        if hasattr(self, "protect") and len(self.protect) > len(self.cfg):
            self.protect[-len(self.cfg):] = self.cfg

    def dispatch(self, sim) -> Decision:
        if self.place == "fastest":
            idle = sim.idle
            if not idle:
                return Decision()
            r, sub = self.how_pick(sim, None, idle)
            return Decision() if r is None else Decision(assign=[(r, sub)])
        if sim.now != self._t:
            self._t = sim.now
            self._skip = set()
        skip = self._skip
        for sub in sim.idle:
            if sub in skip:
                continue
            r, _ = self.how_pick(sim, sub)
            if r is not None:
                return Decision(assign=[(r, sub)])
            skip.add(sub)
        return Decision()

    def how_pick(self, sim, sub, idle=None):
        """``(request, sub)`` to start (class docstring; ``sub`` None: place each request where its
        next layer runs fastest among ``idle``), or ``(None, None)``."""
        f = self.features
        now = sim.now
        prof, sp, bs, Dl, st = sim.prof, sim.sub_prof, sim.best_suffix, f.D, f.slo_tenant
        lo, hi = RISKY
        ts = f._tenant_state(sim)
        m_s, q_t, cum = ts[0], ts[3], ts[4]
        done = sim.slo_done_all
        theta, prot, ps, line = np.float32(self.theta), self.protect, self.per_slo, self.line
        order, uorder = ORDERS.index(self.order), ORDERS.index(self.uorder)
        filt = FILTERS.index(self.filt)
        amode, delta = ADMITS.index(self.admit), self.delta
        best, bsub, bkey = None, None, None
        for r in sim.ready.values():
            t = st[r.slo]
            if q_t[t] > 1.0:
                c = 4
            elif line:
                c = 0 if np.float32(min(max(cum[t], 0.0), 4.0)) <= theta else 2
            else:
                c = 0 if prot[r.slo if ps else t] != 0.0 else 2
            if amode:
                c = self.admit_class(c, done[r.slo] > 0 and m_s[r.slo] >= delta, amode)
                if c < 0:
                    continue
            o = order if c <= 1 else uorder
            if o == 4:  # none
                continue
            here = sub if sub is not None else sim.fastest_idle(r, idle)
            rem = prof[sp[here]][r.mi].suffix[r.next_layer]
            lax = r.deadline - now - rem
            if filt != 2:
                if lax < 0.0:
                    continue
                D = Dl[r.slo]
                if filt == 0 and lax < lo * D and r.deadline - now - bs[r.mi][r.next_layer] >= hi * D:
                    continue  # risky here: wait for a faster type
            key = (c, (lax, r.deadline, rem, bs[r.mi][r.next_layer])[o], r.id)
            if bkey is None or key < bkey:
                best, bsub, bkey = r, here, key
        return best, bsub

    @staticmethod
    def admit_class(c: int, slack: bool, amode: int) -> int:
        """The class of a request after admission: ``c`` is 0 (protected), 2 (other savable) or 4
        (lost); a savable tenant's request whose SLO has ``slack`` (:data:`ADMITS`) becomes 1
        (``demote``, protected only), 3 (``defer``) or -1 (``drop``: not started now)."""
        if c < 4 and slack:
            if amode == 3:
                return -1
            if amode == 2:
                return 3
            if c == 0:
                return 1
        return c


class HowScheduler(Scheduler):
    """One fixed "how" variant (:class:`HowController`) for the whole run: the hindsight search of
    :mod:`fairsched.experiments.how_search`, and the registered rules it finds."""

    name = "how"
    kernel_spec = "policy"
    tenant_aware = True

    def __init__(self, order: str = "llf", uorder: str = "llf", filt: str = "env", place: str = "sub",
                 protect="line", per_slo: bool = False, theta: float = THETA, admit: str = "off",
                 delta: float = 0.0):
        self.ctl = HowController(order, uorder, filt, place, protect, per_slo, theta, admit, delta)

    def reset(self, sim, seed):
        self.ctl.reset(sim)

    def kernel_params(self, sim):
        c = self.ctl
        return (c.features.kernel_params(pick="how", protect=c.protect, theta=c.theta),)

    def decide(self, sim) -> Decision:
        return self.ctl.dispatch(sim)


@register("triage-sjf")
class TriageSJFScheduler(HowScheduler):
    """``triage`` whose other classes go shortest job first: triage's classes (protected by its line,
    savable, lost), least laxity inside the protected class, the savable-but-unprotected and the lost
    tenants' requests by remaining work on their best types, over every feasible, non-risky ready
    request (no 8-candidate menu), each idle sub in index order. The best *fixed* variant of the
    "how" search (docs/rl.md, "Headroom of the how lever"): a rival the learned ``drl`` must beat."""

    def __init__(self):
        super().__init__("llf", "sjf", "env", "sub", "line")


class TriageSJFController(HowController):
    """drl's cycle controller from ``cycle_version`` 5: ``triage-sjf``'s dispatch (triage's line,
    least laxity for the protected class, shortest job first for the others), the agent's action
    the line ``theta`` of the next cycle (:data:`~fairsched.rl.cycle.THETAS`), as versions 1-4 set
    ``triage``'s. Why: ``triage-sjf`` is the strongest fixed tenant-aware rule (docs/rl.md, "Headroom of
    the how lever"); with the line held at 0.8 this controller *is* that rule, decision for decision,
    so the warm start is the strongest rival and RL's job is to move the line per cycle. No (m,k)
    dispatch (versions 2-4 have it; this dispatch reads no outcome history)."""

    def __init__(self, cycle_requests: float | None = None, version: int = 5):
        super().__init__("llf", "sjf", "env", "sub", "line", cycle_requests=cycle_requests, version=version)

    def set_action(self, sim, a: int) -> None:
        CycleController.set_action(self, sim, a)  # theta = THETAS[a]: the action is the line


class ScheduledHow(_Segmented):
    """A "how" variant per *segment* of the run (``labels[i]``, ``order/uorder/filter/placement``, for
    the i-th of ``len(labels)`` equal runs of cycles) with one protected class (triage's line or a
    mask), switched at cycle boundaries (the compiled core's cycle exit): the hindsight bound of
    switching variants within a run, and the run-time path of a policy that picks one each cycle."""

    def __init__(self, labels, protect="line", per_slo: bool = False):
        super().__init__(None, variant="drl", version=1)
        self.labels = [tuple(v.split("/")) if isinstance(v, str) else tuple(v) for v in labels]
        if not self.labels:
            raise InputError("labels: give at least one order/uorder/filter/placement variant")
        self.ctl = HowController(*self.labels[0], protect=protect, per_slo=per_slo)
        for v in self.labels:  # check every label now, not when its segment comes
            HowController(*v)

    @property
    def segments(self) -> list:
        return self.labels

    def _set(self, label) -> None:
        self.ctl.set_variant(*label)
