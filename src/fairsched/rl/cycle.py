"""Cycle-level learned scheduling: the agent sets a rule's parameter every T_s seconds.

Why a coarser grain: per-layer decisions (``rl/env.py``) are 20-80 per request, each carries little
signal, the teacher's arg-max is stable under small PPO updates, and PPO changed almost no decision
of the clone in 2 M steps (docs/rl.md). As in RELMAS, this formulation decides once per
*scheduling cycle* of ``T_s`` simulated seconds; a fast rule-based dispatcher applies the decision
to every layer until the next cycle. One cycle = ``cycle_requests`` mean inter-arrival times (50 by
default), so an episode of 1,500 requests is 30 agent decisions whatever the load or the mix.

* ``drl`` (tenant-aware): the action is the **triage line** ``theta`` for the next cycle, one of
  :data:`THETAS`, and the dispatcher is the ``triage`` rule with that line (protected tenants --
  savable and within cumulative platform share ``theta`` -- first, then savable, then lost; least
  laxity within a class). ``theta`` fixed at 0.8 *is* the ``triage`` scheduler, decision for
  decision, so the warm start is exactly the teacher and RL's job is to move the line where the
  static capacity estimate is wrong (it is the estimate's known weak point: docs/rl.md, mix …648).
* ``relmas`` (tenant-agnostic, hits only): the action is the **dispatch order** of the cycle among
  the env's feasible candidates (the ``K`` least-laxity requests), one of :data:`MODES`: least
  laxity (= ``llf-masked``, the teacher), shortest remaining work, or least laxity among the shorter
  half. Under overload least laxity serves requests that are about to miss anyway and collapses;
  shortest-first keeps hits. Which one wins depends on the state, which the agent sees.
  ``cycle_version`` 3 adds two modes that bypass the candidates: ``sjf`` (every ready request by
  best-type remaining work, placed as the ``sjf`` scheduler places: that scheduler, decision for
  decision) and ``sjf-feasible`` (the same, skipping a request that cannot finish on the sub it
  would get); version-1/2 policies keep their three modes (:data:`MODES_V`). ``cycle_version`` 4
  adds ``sjf-bytes``: the ``sjf-feasible`` rule ranked by the DRAM traffic still to move (on the
  type of the sub the request would get) instead of compute time -- under overload the shared DRAM,
  not the sub-accelerators, limits throughput (docs/rl.md, "relmas, cycle_version 4"), as RELMAS
  argues for bandwidth-aware scheduling.

Both dispatchers are "a key + the env's placement" (one candidate per idle sub-accelerator, lowest
index first), so a compiled event loop can run them later with the cycle's parameter as input.

Observations are **permutation-invariant over tenants and independent of the platform's type
order**: aggregates over tenants (fractions on target / lost, margins, and, for every ``theta`` of
the grid, how many tenants it protects and how those are doing) and over sub-accelerators (busy
fraction, ready queue per sub); no per-type slot, so a platform with types the policy never saw
reads the same way (the per-layer features use a positional type one-hot; these do not).
``relmas`` sees no tenant features at all.

(m,k)-awareness (``cycle_version`` 2, ``drl`` only; docs/rl.md). Each stream with an ``mk``
constraint has dbp's *distance to failure* (:class:`fairsched.schedulers.dbp.MKHistory`, one
implementation: the number of further consecutive misses after which fewer than m of its last k
outcomes, in end order, would be hits; 0 = in a failure state now). The observation appends
:data:`N_MK` = 5 permutation-invariant aggregates over SLOs (:func:`mk_block`): the fraction of SLOs
with an (m,k) constraint; among those, the fractions at distance 0, 1 and >= 2; and the fraction
already violated in the measurement window (a counted request's outcome left the stream at distance
0). All five are zero on a scenario without (m,k) SLOs. The dispatch keeps triage's classes and,
within a class, serves first a candidate whose SLO is at distance <= 1 (as dbp; then laxity order:
:meth:`CycleController._pick_mk`); without (m,k) SLOs it is exactly version 1. The reward's potential
subtracts 0.5 x the fraction of tenants with a violated stream, and the terminal reward counts
tenants upheld by rate *and* (m,k). A policy file records its ``cycle_version``; the controller
builds the layout and dispatch of that version, so version-1 policies (39 floats, plain triage
dispatch) run as before.

Rewards (per cycle): ``drl``: the change of a clipped-margin potential
``0.5 * mean_t clip(m_t / 0.05, -1, 1)`` plus, at the end, the fraction of tenants upheld (the
headline metric); ``relmas``: (hits - misses) in the cycle / ``cycle_requests`` (the env's
``relmas_reward="net"``; ``"hits"`` drops the misses).

numpy only: ``fairsched.schedulers`` may import this module (no torch, no gymnasium).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from fairsched.errors import InputError
from fairsched.rl.features import FeatureBuilder
from fairsched.rl.policy import CYCLE_FORMAT, NumpyPolicy, policy_kind, policy_stem
from fairsched.rl.teacher import THETA
from fairsched.schedulers.base import Scheduler
from fairsched.schedulers.dbp import MKHistory
from fairsched.sim.compiled_policy import PICKS
from fairsched.sim.engine import Decision

#: the observation layout / dispatch a new policy is trained with by default; :data:`VERSIONS` load
CYCLE_VERSION = 4
VERSIONS = (1, 2, 3, 4, 5)
#: drl from version 5: the dispatcher is ``triage-sjf``'s (``rl/protect.py``), the action still the
#: line; no (m,k) dispatch (that is versions 2-4), version 1's 39-float layout
DRL_HOW_VERSION = 5
#: the version ``fairsched train`` trains per variant by default (the shipped policies' versions)
TRAIN_VERSION = {"drl": DRL_HOW_VERSION, "relmas": CYCLE_VERSION}
FORMAT = CYCLE_FORMAT
THETAS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5)
DEFAULT_THETA = THETAS.index(THETA)
#: relmas's dispatch modes per cycle_version (the observation has a one-hot of the current mode);
#: version 3 adds sjf's own rule and sjf among the requests that can still finish
MODES_V = {1: ("llf", "srpt", "llf-short"), 2: ("llf", "srpt", "llf-short"),
           3: ("llf", "srpt", "llf-short", "sjf", "sjf-feasible")}
#: version 4: sjf-feasible ranked by remaining DRAM traffic (bandwidth-aware, for overload)
MODES_V[4] = (*MODES_V[3], "sjf-bytes")
MODES = MODES_V[CYCLE_VERSION]
DEFAULT_MODE = 0
CYCLE_REQUESTS = 50
K_DRL, K_RELMAS = 8, 16
N_MK = 5  # the (m,k) block of the drl observation from cycle_version 2
N_OBS_V = {1: {"drl": 12 + 3 * len(THETAS), "relmas": 8 + len(MODES_V[1])},
           2: {"drl": 12 + 3 * len(THETAS) + N_MK, "relmas": 8 + len(MODES_V[2])}}
N_OBS_V[3] = {"drl": N_OBS_V[2]["drl"], "relmas": 8 + len(MODES_V[3])}
#: version 4, relmas: + the backlog's traffic ratio (:meth:`CycleController._traffic`); drl: version 3's layout
N_OBS_V[4] = {"drl": N_OBS_V[3]["drl"], "relmas": 9 + len(MODES_V[4])}
#: version 5: drl on triage-sjf's dispatch with version 1's layout; relmas is version 4
MODES_V[5] = MODES_V[4]
N_OBS_V[5] = {"drl": N_OBS_V[1]["drl"], "relmas": N_OBS_V[4]["relmas"]}
N_OBS = N_OBS_V[CYCLE_VERSION]
N_ACTIONS = {"drl": len(THETAS), "relmas": len(MODES)}
DEFAULT_ACTION = {"drl": DEFAULT_THETA, "relmas": DEFAULT_MODE}


#: the dispatch modes as picks of the compiled core (sim/compiled_policy.py); a mode missing here
#: runs on the Python core
KERNEL_MODES = {"llf": "urgent", "srpt": "srpt", "llf-short": "llf-short", "sjf": "sjf",
                "sjf-feasible": "sjf-feasible", "sjf-bytes": "sjf-bytes"}
#: the modes that rank every ready request (not the env's candidates) and place as sjf does
GLOBAL_MODES = ("sjf", "sjf-feasible", "sjf-bytes")


def _clip(x, lo, hi):
    return lo if x < lo else hi if x > hi else x


class CycleController:
    """State of one run: cycle clock, the current action, per-cycle counters, observation, dispatch."""

    def __init__(self, variant: str, cycle_requests: float = CYCLE_REQUESTS, version: int = CYCLE_VERSION):
        if variant not in N_OBS:
            raise InputError(f"variant: '{variant}' unknown; use drl or relmas")
        if version not in VERSIONS:
            raise InputError(f"cycle_version: {version} unknown; use one of {', '.join(map(str, VERSIONS))}")
        self.variant = variant
        self.version = version
        self.n_obs = N_OBS_V[version][variant]
        self.modes = MODES_V[version]
        self.cycle_requests = cycle_requests
        self.features = FeatureBuilder(K_DRL if variant == "drl" else K_RELMAS, tenant_aware=variant == "drl")

    def reset(self, sim) -> None:
        self.features.reset(sim)
        self.T_s = self.cycle_requests / sim.workload.total_rate
        if self.variant == "relmas" and self.version >= 4:  # _traffic: bytes left from layer k, least over types
            self._B = sim.B
            self._bytes_left = [np.min([np.concatenate([np.cumsum(np.asarray(sim.prof[p][mi].D)[::-1])[::-1], [0.0]])
                                        for p in range(len(sim.prof))], axis=0).tolist() for mi in range(len(sim.models))]
        self.next_cycle = 0.0
        self.action = DEFAULT_ACTION[self.variant]
        self.theta = THETAS[DEFAULT_THETA]
        self._skip: set[int] = set()
        self._t = None
        self._hits0 = self._done0 = 0
        self.cycles = 0
        # (m,k): dbp's per-SLO distance to failure (one implementation), from version 2, drl only,
        # and only where the scenario has an (m,k) SLO: elsewhere the run is that of version 1
        self.mk = None
        if self.mk_dispatch(sim.workload):
            self.mk = MKHistory(sim.workload.slos)
            sim.on_end = self.mk.ended
        #: True where the dispatch needs the Python core (the on_end hook and the (m,k) branch)
        self.python_only = self.mk is not None

    def mk_dispatch(self, workload) -> bool:
        """Whether this controller dispatches ``workload`` with dbp's (m,k) history: drl at versions
        2-4, on a workload with an (m,k) SLO (that dispatch runs on the Python core)."""
        return (2 <= self.version < DRL_HOW_VERSION and self.variant == "drl"
                and any(s.mk for s in workload.slos))

    # ------------------------------------------------------------- the cycle
    def due(self, sim) -> bool:
        return sim.now >= self.next_cycle

    def set_action(self, sim, a: int) -> None:
        """Apply the agent's action for the cycle that starts now; move the cycle clock past now."""
        self.action = int(a)
        if self.variant == "drl":
            self.theta = THETAS[self.action]
        while self.next_cycle <= sim.now:
            self.next_cycle += self.T_s
        self._hits0, self._done0 = sum(sim.slo_hits_all), sum(sim.slo_done_all)
        self.cycles += 1

    def observe(self, sim) -> np.ndarray:
        """The cycle observation (see the module docstring); call before :meth:`set_action`."""
        M = sim.M
        busy = sum(1 for r in sim.running if r is not None) / M
        hits, done = sum(sim.slo_hits_all), sum(sim.slo_done_all)
        dh, dd = hits - self._hits0, done - self._done0
        g = [
            _clip(float(sim.workload.load), 0.0, 4.0),
            _clip(sim.n_arrived / max(sim.n_total, 1), 0.0, 1.0),
            dh / dd if dd else 1.0,
            _clip(dd / self.cycle_requests, 0.0, 4.0) if self.cycles else 0.0,
            _clip(len(sim.ready) / M, 0.0, 16.0) / 4.0,
            busy,
            hits / done if done else 1.0,
            self._urgent(sim),
        ]
        if self.variant == "relmas":
            obs = np.zeros(self.n_obs, dtype=np.float32)
            obs[:8] = g
            b = 8
            if self.version >= 4:
                obs[8] = self._traffic(sim)
                b = 9
            obs[b + self.action] = 1.0
            return obs
        m_s, q_s, m_t, q_t, cum, savable = self.features._tenant_state(sim)
        T = len(m_t)
        obs = np.zeros(self.n_obs, dtype=np.float32)
        obs[:8] = g
        obs[8] = sum(1 for x in m_t if x >= 0.0) / T
        obs[9] = sum(1 for x in q_t if x > 1.0) / T
        obs[10] = _clip(savable, 0.0, 4.0) / 2.0
        obs[11] = self.theta / 1.5
        b = 12
        for c in THETAS:
            prot = [t for t in range(T) if q_t[t] <= 1.0 and cum[t] <= c]
            n = len(prot)
            obs[b] = n / T
            if n:
                obs[b + 1] = sum(1 for t in prot if m_t[t] < 0.0) / n
                obs[b + 2] = _clip(max(q_t[t] for t in prot), -1.0, 2.0)
            b += 3
        if self.version >= 2 and self.mk is not None:
            obs[b:b + N_MK] = mk_block(self.mk)
        return obs

    def _traffic(self, sim) -> float:
        """relmas from version 4: whether the backlog is bound by the shared DRAM or by the subs --
        (bytes the ready requests still move, on their least-traffic types, / ``B``) over (their
        remaining work on their best types / ``M``), clipped to [0, 4], / 4 (0.25: balanced). It
        tells ``sjf-bytes`` (rank by traffic) from ``sjf-feasible`` (rank by time) without a
        per-type slot. ``math.fsum``: the same value whatever the order of ``ready`` (the compiled
        core's state view lists it in another order)."""
        if not sim.ready:
            return 0.0
        bb, bs = self._bytes_left, sim.best_suffix
        rs = list(sim.ready.values())
        t = math.fsum(bs[r.mi][r.next_layer] for r in rs)
        if t <= 0.0:
            return 0.0
        by = math.fsum(bb[r.mi][r.next_layer] for r in rs)
        return _clip((by / self._B) / (t / sim.M), 0.0, 4.0) / 4.0

    def _urgent(self, sim) -> float:
        """Fraction of ready requests with under 20% of their deadline left on their best types."""
        if not sim.ready:
            return 0.0
        D, bs, now = self.features.D, sim.best_suffix, sim.now
        n = sum(1 for r in sim.ready.values() if r.deadline - now - bs[r.mi][r.next_layer] < 0.2 * D[r.slo])
        return n / len(sim.ready)

    # ------------------------------------------------------------- the compiled core
    def kernel_ok(self) -> bool:
        """Whether the compiled core has every dispatcher of this variant (:data:`KERNEL_MODES`)
        and, after :meth:`reset`, this run needs nothing of the Python core (:attr:`python_only`)."""
        if getattr(self, "python_only", False):
            return False
        return self.variant == "drl" or all(KERNEL_MODES.get(m) in PICKS for m in self.modes)

    def kernel_pick(self) -> dict:
        """The current dispatcher as the compiled core's pick, and the next cycle boundary."""
        if self.variant == "drl":
            return dict(pick="triage", theta=self.theta, next_cycle=self.next_cycle)
        return dict(pick=KERNEL_MODES[self.modes[self.action]], theta=0.0, next_cycle=self.next_cycle)

    def kernel_params(self, cycle=None) -> dict:
        """The compiled core's parameters (after :meth:`reset`): this dispatcher and the cycle
        clock; ``cycle``: a hook called with a state view at each due decision point (None: the
        run pauses there, :class:`fairsched.sim.compiled.CycleRun`)."""
        return self.features.kernel_params(**self.kernel_pick(), cycle=cycle)

    # ------------------------------------------------------------- dispatch
    def dispatch(self, sim) -> Decision:
        """One assignment on the lowest-index idle sub-accelerator not yet left idle at this instant."""
        if self.variant == "relmas" and self.modes[self.action] in GLOBAL_MODES:
            mode = self.modes[self.action]
            if mode == "sjf-bytes":
                return self._bytes_dispatch(sim)
            return self._sjf_dispatch(sim, mode == "sjf-feasible")
        if sim.now != self._t:
            self._t = sim.now
            self._skip = set()
        skip = self._skip
        for sub in sim.idle:
            if sub in skip:
                continue
            cands = self.features.candidates(sim, sub)[0]  # no observation: that is the per-layer cost
            if cands:
                j = self._pick(sim, sub, cands)
                if j is not None:
                    return Decision(assign=[(cands[j][2], sub)])
            skip.add(sub)
        return Decision()

    def _pick(self, sim, sub, cands):
        """Index into ``cands`` (laxity order). drl: :func:`~fairsched.rl.teacher.triage_action` on
        the candidates' tenant state, the same float32 comparison as on the observation it reads."""
        if self.mk is not None:
            return self._pick_mk(sim, cands)
        if self.variant == "drl":
            q_t, cum = self.features._tenant_state(sim)[3:5]
            return self._triage_pick(cands, q_t, cum)
        mode = self.modes[self.action]
        if mode == "llf" or len(cands) == 1:
            return 0  # candidates are in laxity order
        rem = [c[3] for c in cands]
        if mode == "srpt":
            return min(range(len(cands)), key=lambda j: (rem[j], j))
        cut = sorted(rem)[(len(rem) - 1) // 2]
        return next(j for j in range(len(cands)) if rem[j] <= cut)

    @staticmethod
    def _sjf_dispatch(sim, feasible: bool) -> Decision:
        """The ``sjf`` scheduler's rule, one assignment at a time: the ready request with the least
        remaining work on its best types (then the least id) to the idle sub where its next layer
        runs fastest (``sim.fastest_idle``: the first on ties). Asked again at the same instant
        (the simulator re-decides after an assignment), this is sjf's whole decision.

        ``feasible`` (``sjf-feasible``): only requests that can still finish *on the sub they would
        get* (deadline - now - remaining work on that sub's type >= 0); with none, no assignment.
        Why that test and not the best types': the simulator's shedding already drops a request
        that cannot finish even on its best types, so that test would be sjf itself; under firm
        deadlines, the work of a request started where it cannot finish is likely wasted, and the
        sub stays free for one that can."""
        idle = sim.idle
        if not idle:
            return Decision()
        bs, now, prof, sp = sim.best_suffix, sim.now, sim.prof, sim.sub_prof
        best, bk, bsub = None, None, None
        for r in sim.ready.values():
            b = bs[r.mi][r.next_layer]
            if best is not None and (b > bk or (b == bk and r.id > best.id)):
                continue
            sub = sim.fastest_idle(r, idle)
            if feasible and r.deadline - now - prof[sp[sub]][r.mi].suffix[r.next_layer] < 0.0:
                continue
            best, bk, bsub = r, b, sub
        if best is None:
            return Decision()
        return Decision(assign=[(best, bsub)])

    @staticmethod
    def _bytes_dispatch(sim) -> Decision:
        """``sjf-bytes`` (version 4): among the ready requests that can finish on the idle sub
        where their next layer runs fastest (``sjf-feasible``'s test and placement), the one with
        the least DRAM traffic still to move on that sub's type (then the least id).

        Why traffic: under overload the shared DRAM is the bottleneck (measured: with unlimited
        bandwidth ``sjf-feasible`` gains 5-11 points of hit rate at load 1.2), so the work a request
        still needs *of the bottleneck* is its bytes, not its compute time; the solo times that
        ``sjf`` ranks by are compute-bound for most layers. The sums run from the last layer down,
        as the compiled twin (:func:`fairsched.sim.compiled_policy.sjf_bytes_pick`) does."""
        idle = sim.idle
        if not idle:
            return Decision()
        now, prof, sp = sim.now, sim.prof, sim.sub_prof
        best, bk, bsub = None, None, None
        for r in sim.ready.values():
            sub = sim.fastest_idle(r, idle)
            pm = prof[sp[sub]][r.mi]
            k = r.next_layer
            if r.deadline - now - pm.suffix[k] < 0.0:
                continue
            Dl = pm.D
            b = 0.0
            for j in range(len(Dl) - 1, k - 1, -1):
                b += Dl[j]
            if best is not None and (b > bk or (b == bk and r.id > best.id)):
                continue
            best, bk, bsub = r, b, sub
        if best is None:
            return Decision()
        return Decision(assign=[(best, bsub)])

    def _triage_pick(self, cands, q_t, cum) -> int:
        """The first candidate (laxity order) of the best triage class: protected (savable, ``cum``
        share within the line ``theta``), savable, lost; the float32 comparison of the observation."""
        st, theta = self.features.slo_tenant, np.float32(self.theta)
        best, best_cls = 0, 3
        for j, c in enumerate(cands):
            t = st[c[2].slo]
            cls = 2 if q_t[t] > 1.0 else 0 if np.float32(_clip(cum[t], 0.0, 4.0)) <= theta else 1
            if cls < best_cls:
                best, best_cls = j, cls
                if cls == 0:
                    break
        return best

    def _pick_mk(self, sim, cands):
        """drl from version 2 on a scenario with (m,k) SLOs: triage's classes (the same test as
        :meth:`_pick`), and within a class a candidate whose SLO is at distance <= 1 of an (m,k)
        failure (dbp's distance) first; then laxity order. Kept apart from :meth:`_pick` (the
        compiled dispatch ports that one; this branch runs on the Python core)."""
        q_t, cum = self.features._tenant_state(sim)[3:5]
        st, theta, dist = self.features.slo_tenant, np.float32(self.theta), self.mk.dist
        best, best_key = 0, (3, 2)
        for j, c in enumerate(cands):
            s = c[2].slo
            t = st[s]
            cls = 2 if q_t[t] > 1.0 else 0 if np.float32(_clip(cum[t], 0.0, 4.0)) <= theta else 1
            key = (cls, 0 if dist[s] <= 1 else 1)
            if key < best_key:
                best, best_key = j, key
                if key == (0, 0):
                    break
        return best


#: names of the observation's floats (:meth:`CycleController.observe`), shared by both variants
OBS_GLOBAL = ("load", "arrived_frac", "cycle_hit_rate", "cycle_ends", "ready_per_sub", "busy_frac",
              "hit_rate_so_far", "urgent_frac")
OBS_MK = ("mk_slos", "mk_at_0", "mk_at_1", "mk_at_2_plus", "mk_violated")


def obs_names(variant: str, version: int) -> list[str]:
    """The name of every float of the cycle observation of ``variant`` at ``version``, in order (what
    ``fairsched explain`` prints next to each value)."""
    names = list(OBS_GLOBAL)
    if variant == "relmas":
        if version >= 4:
            names.append("traffic_ratio")
        return names + [f"mode={m}" for m in MODES_V[version]]
    names += ["tenants_on_target", "tenants_lost", "savable_share", "theta/1.5"]
    for c in THETAS:
        names += [f"protected@{c}", f"protected_below_target@{c}", f"max_need_protected@{c}"]
    if 2 <= version < DRL_HOW_VERSION:
        names += list(OBS_MK)
    return names


def make_controller(variant: str, cycle_requests: float = CYCLE_REQUESTS, version: int = CYCLE_VERSION) -> CycleController:
    """The controller of ``variant`` at ``version``: :class:`CycleController`, or for drl from
    :data:`DRL_HOW_VERSION` :class:`fairsched.rl.protect.TriageSJFController` (triage-sjf's
    dispatch; imported here, late, because that module builds on this one)."""
    if variant == "drl" and version >= DRL_HOW_VERSION:
        from fairsched.rl.protect import TriageSJFController

        return TriageSJFController(cycle_requests, version)
    return CycleController(variant, cycle_requests, version)


def mk_block(h: MKHistory) -> list[float]:
    """The (m,k) features (version 2, drl), permutation-invariant over SLOs: the fraction of SLOs
    that have an (m,k) constraint; among those, the fractions at distance 0 (in a failure state), 1
    and >= 2 from a failure; the fraction already violated in the measurement window. All zero
    without (m,k) SLOs."""
    n = h.n_mk
    if not n:
        return [0.0] * N_MK
    d = [x for x, mk in zip(h.dist, h.mk) if mk]
    d0 = sum(1 for x in d if x == 0)
    d1 = sum(1 for x in d if x == 1)
    viol = sum(1 for v, mk in zip(h.violated, h.mk) if mk and v)
    return [n / len(h.mk), d0 / n, d1 / n, (n - d0 - d1) / n, viol / n]


def potential(sim, features: FeatureBuilder, mk: MKHistory | None = None) -> float:
    """``0.5 * mean_t clip(m_t / 0.05, -1, 1)``: the drl reward's shaping potential; with (m,k)
    SLOs (``mk``) minus ``0.5 *`` the fraction of tenants with an (m,k)-violated SLO, so a cycle
    that breaks a stream's (m,k) constraint costs as much as that tenant's margin falling from
    target to lost."""
    m_t = features._tenant_state(sim)[2]
    T = len(m_t)
    phi = 0.5 * sum(_clip(m / 0.05, -1.0, 1.0) for m in m_t) / T
    if mk is not None:
        st = features.slo_tenant
        phi -= 0.5 * len({st[s] for s, v in enumerate(mk.violated) if v}) / T
    return phi


class CyclePolicy(NumpyPolicy):
    """An exported cycle policy (``format`` :data:`FORMAT`): arg-max of the MLP's logits."""

    @classmethod
    def load(cls, path: str | Path) -> "CyclePolicy":
        stem = policy_stem(path)
        npz, js = stem.with_suffix(".npz"), stem.with_suffix(".json")
        for f in (npz, js):
            if not f.is_file():
                raise InputError(f"policy '{stem}': file '{f.name}' is missing; export it with `fairsched train`")
        if policy_kind(js) != "cycle":
            raise InputError(f"policy '{stem}': a per-layer policy, not a cycle one; run it by name "
                             "(drl:PATH / relmas:PATH load either kind) or load it with fairsched.rl.policy.NumpyPolicy")
        meta = json.loads(js.read_text())
        v = meta.get("cycle_version")
        if meta.get("format") != FORMAT or v not in VERSIONS:
            raise InputError(f"policy '{stem}': not a cycle policy of a version this fairsched runs "
                             f"({', '.join(map(str, VERSIONS))}); retrain it")
        if meta.get("variant") not in N_OBS or int(meta.get("obs_dim", -1)) != N_OBS_V[v][meta["variant"]]:
            raise InputError(f"policy '{stem}': variant/obs_dim do not match this fairsched; retrain it")
        meta.setdefault("K", 0)
        with np.load(npz) as z:
            n = int(z["n_layers"])
            weights = [(z[f"W{i}"], z[f"b{i}"]) for i in range(n)]
        return cls(weights, meta)

    def act_cycle(self, obs: np.ndarray) -> int:
        return int(self.logits(obs).argmax())


def is_cycle_policy(path: str | Path) -> bool:
    """Whether ``path`` is a cycle policy (False for a per-layer one and for any unreadable file;
    :func:`~fairsched.rl.policy.policy_kind` says why a file is neither)."""
    try:
        return policy_kind(path) == "cycle"
    except InputError:
        return False


class CycleScheduler(Scheduler):
    """Runs a cycle policy: at the first decision point of each cycle the policy sets the action,
    then the dispatcher assigns layers until the next cycle. ``policy``: a path (stem/.npz/.json), a
    :class:`CyclePolicy`, or None with ``variant`` for the fixed default action (= the teacher).

    On the compiled core (``kernel_spec = "policy"``) the kernel runs the dispatcher and returns to
    Python at each decision point where a cycle is due; :meth:`_on_cycle` computes the observation
    and the action there, from a read-only view of the kernel's state, exactly as :meth:`decide`."""

    kernel_spec = "policy"  # the dispatchers are picks of sim/compiled_policy.py

    def __init__(self, policy=None, variant: str | None = None, cycle_requests: float | None = None,
                 version: int | None = None):
        if policy is not None and not hasattr(policy, "act_cycle"):
            policy = CyclePolicy.load(policy)
        self.policy = policy
        variant = variant or (policy.meta["variant"] if policy is not None else "drl")
        cr = cycle_requests or (policy.meta.get("cycle_requests", CYCLE_REQUESTS) if policy is not None else CYCLE_REQUESTS)
        if version is None:  # a policy runs the layout / dispatch it was trained with
            version = int(policy.meta.get("cycle_version", 1)) if policy is not None else CYCLE_VERSION
        self.ctl = make_controller(variant, cr, version)
        self.tenant_aware = variant == "drl"
        if not self.ctl.kernel_ok():
            self.kernel_spec = None  # a dispatch mode the kernel lacks: the Python core

    def kernel_refusal(self, sim) -> str | None:
        """Why the compiled core cannot run this scheduler on ``sim``'s workload (None: it can):
        a version-2 drl controller on (m,k) SLOs dispatches with dbp's outcome history, which the
        kernel does not keep for this rule (:attr:`CycleController.python_only`)."""
        if self.ctl.mk_dispatch(sim.workload):
            return "a version-2 drl cycle policy on (m,k) SLOs (its (m,k) dispatch runs on the Python core)"
        return None

    def kernel_params(self, sim):
        """The dispatcher of the current action, the cycle clock, and the hook the kernel calls
        at each decision point where a cycle is due (after :meth:`reset`)."""
        return (self.ctl.kernel_params(cycle=self._on_cycle),)

    def _on_cycle(self, view) -> dict:
        """:meth:`decide`'s cycle step on the kernel's state view: the new pick and cycle clock."""
        ctl = self.ctl
        a = self.policy.act_cycle(ctl.observe(view)) if self.policy is not None else ctl.action
        ctl.set_action(view, a)
        return ctl.kernel_pick()

    def reset(self, sim, seed):
        self.ctl.reset(sim)

    def check_platform(self, platform) -> None:
        """Warn, once per policy and platform, when the platform has accelerator types the policy
        never saw in training. Unlike the per-layer observation (a positional type slot), the cycle
        observation reads no type at all -- aggregates over tenants and sub-accelerators, and the
        dispatch modes rank by each request's own cost on the sub it would get -- so a new type
        is read for what it is; only its effect on which mode pays is untested."""
        if self.policy is None:
            return
        from fairsched.rl.policy_scheduler import trained_types, warn_once

        trained = trained_types(self.policy.meta)
        unseen = tuple(t for t in platform.type_names if trained is not None and t not in trained)
        if unseen:
            warn_once((str(self.policy.meta.get("command", id(self.policy))), unseen),
                      "scheduler '%s': its cycle policy was trained on accelerator types %s; this platform also has "
                      "%s, which it never saw (its observation is type-agnostic, so it runs as trained, untested "
                      "there); retrain on this platform (fairsched train --platform ...) to be sure",
                      self.name, ", ".join(trained), ", ".join(unseen))

    def decide(self, sim) -> Decision:
        ctl = self.ctl
        if ctl.due(sim):
            a = self.policy.act_cycle(ctl.observe(sim)) if self.policy is not None else ctl.action
            ctl.set_action(sim, a)
        return ctl.dispatch(sim)


def scheduler_for_path(path: str | Path) -> Scheduler:
    """A scheduler running the exported policy at ``path``: a cycle policy or a per-layer one
    (:func:`~fairsched.rl.policy.policy_kind`; one InputError naming the file when it is neither)."""
    if policy_kind(path) == "cycle":
        return CycleScheduler(path)
    from fairsched.rl.policy_scheduler import PolicyScheduler

    return PolicyScheduler(path)
