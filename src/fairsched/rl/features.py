"""Candidates and observations of the learned schedulers (numpy only; no torch, no gymnasium).

One decision = which ready request runs next on one idle sub-accelerator ``sub`` (or leave it idle).
:class:`FeatureBuilder` turns the simulator's read-only view into

* ``cands``: up to ``K`` candidate requests for ``sub`` (the *structured action space*), and
* ``obs``: a float32 vector of ``K`` candidate blocks of :data:`N_CAND` features plus
  :data:`N_GLOBAL` platform/tenant features, and ``mask`` (``K + 1`` booleans; the last one is
  "leave ``sub`` idle", always allowed).

A ready request is *feasible* on ``sub`` when it can still finish there (laxity = deadline - now -
remaining solo time on ``sub``'s type >= 0) and the placement is not *risky*: laxity here below
``RISKY[0]`` of its deadline while on its best types it would keep at least ``RISKY[1]``. A risky
placement misses on the first bit of bandwidth contention, and the request has a better option (wait
for a faster type), so it is masked out of the action space (version 2; version 1 allowed it, and the
cloned policy then lost the tightest tenant of the default scenario at moderate load, docs/rl.md).

Candidates (tenant-aware, ``drl``): for every SLO the feasible ready request with the least laxity on
``sub``. Among these
SLO heads, half the slots go to the most urgent (least laxity) and the rest to the heads of the
tenants that need hits most but can still make their SLA (largest required future hit rate
``q_t <= 1``), so that a behind-but-savable tenant is always on the menu even when others are more
urgent. Slots are then ordered by laxity. Candidates (tenant-agnostic, ``relmas``): the ``K``
feasible requests with the least laxity, whatever their SLO (the same feasibility rule: one env).

Tenant features (``drl`` only; zero for ``relmas``): the SLO's target ``tau``, its hit-rate margin
``h - tau`` and the tenant's (min over its SLOs), the hit rate the SLO/tenant still needs on its
remaining requests of the SLA window ``q`` (> 1: the SLA can no longer be upheld), the tenant's share
of the platform (``tau x utilization`` it needs) and the cumulative share of all savable tenants that
are cheaper than it: a threshold on that is a knapsack-style triage rule the policy can learn.

Version 3 adds a thermometer code of the cumulative share (``cumshare <= c`` for ``c`` in
:data:`CUM_LEVELS`). Why: a triage line sits at a sharp value of that share, and a tanh MLP fed only
the continuous share drew it about 0.05 too high. On the default scenario at load 0.9 the marginal
tenant sits at 0.833, just above the teacher's 0.8, and version-2 clones served it as if
protected in 3-5% of decisions (the teacher did not), upholding 7-9 tenants where the teacher
upholds 11. With the code, a line at any of the levels is one input away.

The feature layout is versioned (:data:`FEATURE_VERSION`); exported policies record it and refuse
to load against another version.
"""

from __future__ import annotations

import math

import numpy as np

FEATURE_VERSION = 3
RISKY = (0.10, 0.15)  # (laxity on sub, laxity on best types) as fractions of the deadline
DEFAULT_K = 8
#: thresholds of the thermometer code of the cumulative share (version 3, see the module docstring)
CUM_LEVELS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
N_CAND = 18 + len(CUM_LEVELS)
N_GLOBAL = 14
MAX_TYPES = 4

# candidate feature indices (documentation and tests)
CAND_FEATURES = (
    "valid", "laxity_sub", "laxity_best", "remaining_sub", "affinity_remaining", "affinity_layer",
    "bw_demand", "progress", "waited", "slo_queue",
    # tenant-aware block
    "tau", "slo_margin", "tenant_margin", "slo_need", "tenant_need", "tenant_share", "tenant_cumshare",
    "tenant_lost", *(f"cumshare_le_{c:.1f}" for c in CUM_LEVELS),
)
GLOBAL_FEATURES = (
    "load", "window_progress", "idle_frac", "ready_per_sub", "bw_used", "type0", "type1", "type2",
    "type3", "type_idle_frac",
    # tenant-aware block
    "tenants_upheld_frac", "tenants_lost_frac", "savable_share", "min_tenant_margin",
)
TENANT_CAND = slice(10, N_CAND)
TENANT_GLOBAL = slice(10, N_GLOBAL)
assert len(CAND_FEATURES) == N_CAND and len(GLOBAL_FEATURES) == N_GLOBAL


def obs_dim(K: int = DEFAULT_K) -> int:
    return K * N_CAND + N_GLOBAL


def _clip(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


class FeatureBuilder:
    """Builds candidates and observations for one simulator run (call :meth:`reset` per run)."""

    def __init__(self, K: int = DEFAULT_K, tenant_aware: bool = True):
        if K < 1:
            raise ValueError("K must be >= 1")
        self.K = K
        self.tenant_aware = tenant_aware
        self.dim = obs_dim(K)

    # ------------------------------------------------------------------ per run
    def reset(self, sim) -> None:
        wl = sim.workload
        self.S = S = len(wl.slos)
        self.T = len(wl.tenants)
        total_rate = wl.total_rate
        counted = wl.requests - int(wl.warmup_fraction * wl.requests)
        # expected counted requests per SLO in the SLA window
        self.N = [max(1.0, counted * s.rate / total_rate) for s in wl.slos]
        self.D = [max(s.deadline, 1e-12) for s in wl.slos]
        self.tau = [s.target for s in wl.slos]
        self.slo_tenant = [s.tenant for s in wl.slos]
        self.tenant_slos = [[] for _ in range(self.T)]
        for s in wl.slos:
            self.tenant_slos[s.tenant].append(s.index)
        # utilization each SLO brings: rate x mean isolated latency over the subs / M
        M = sim.M
        mean_iso = []
        for s in wl.slos:
            mi = sim.slo_model[s.index]
            mean_iso.append(sum(sim.prof[sim.sub_prof[i]][mi].suffix[0] for i in range(M)) / M)
        self.slo_util = [s.rate * w / M for s, w in zip(wl.slos, mean_iso)]
        self.tenant_share = [sum(self.tau[s] * self.slo_util[s] for s in ss) for ss in self.tenant_slos]
        self.load = float(wl.load)
        self.n_types = len(sim.prof)
        self.inv_B = 1.0 / sim.B
        # best solo time of each (model, layer) over the types
        self.best_layer = [
            [min(p[mi].solo[k] for p in sim.prof) for k in range(sim.n_layers[mi])] for mi in range(len(sim.models))
        ]
        self._tkey = None

    def kernel_params(self, pick: str, **extra) -> dict:
        """What the compiled core's copy of :meth:`candidates` / :meth:`build` needs (after
        :meth:`reset`), computed here so that both cores work on the same values; ``pick``: the
        rule that chooses among the candidates (``sim/compiled_policy.py``, ``PICKS``)."""
        return dict(pick=pick, K=self.K, tenant_aware=self.tenant_aware, n_cand=N_CAND, n_global=N_GLOBAL,
                    max_types=MAX_TYPES, risky=RISKY, load=self.load, inv_B=self.inv_B, D=self.D, tau=self.tau,
                    N=self.N, slo_tenant=self.slo_tenant, tenant_share=self.tenant_share, best_layer=self.best_layer,
                    tenant_order=sorted(range(self.T), key=lambda t: (self.tenant_share[t], t)), **extra)

    # ------------------------------------------------------------- tenant state
    def _tenant_state(self, sim):
        """Per-SLO margin/need and per-tenant margin/need/cumulative share (cached per event)."""
        key = sum(sim.slo_done_all)  # margins and needs change only when a request ends
        if key == self._tkey:
            return self._tstate
        hits, drop = sim.slo_hits, sim.slo_dropped
        hits_all, done_all = sim.slo_hits_all, sim.slo_done_all
        tau, N = self.tau, self.N
        m_s, q_s = [0.0] * self.S, [0.0] * self.S
        for s in range(self.S):
            d = done_all[s]
            h = hits_all[s] / d if d else 1.0
            m_s[s] = h - tau[s]
            done = hits[s] + drop[s]
            left = N[s] - done
            q_s[s] = (tau[s] * N[s] - hits[s]) / left if left >= 1.0 else (0.0 if hits[s] >= tau[s] * N[s] else 2.0)
        m_t, q_t = [0.0] * self.T, [0.0] * self.T
        for t, ss in enumerate(self.tenant_slos):
            m_t[t] = min(m_s[s] for s in ss)
            q_t[t] = max(q_s[s] for s in ss)
        order = sorted(range(self.T), key=lambda t: (self.tenant_share[t], t))
        cum = [0.0] * self.T
        acc = 0.0
        for t in order:
            if q_t[t] <= 1.0:
                acc += self.tenant_share[t]
                cum[t] = acc
            else:
                cum[t] = acc + self.tenant_share[t]
        self._tstate = (m_s, q_s, m_t, q_t, cum, acc)
        self._tkey = key
        return self._tstate

    # ----------------------------------------------------------------- decision
    def candidates(self, sim, sub: int):
        """The candidate menu for ``sub`` without the observation: ``(cands, count)`` with ``cands``
        the ``(laxity on sub, id, request, remaining on sub)`` tuples in laxity order and ``count``
        the feasible requests per SLO. The cycle dispatchers (:mod:`fairsched.rl.cycle`) need only
        this; :meth:`build` adds the features (the cost of a per-layer decision is mostly those)."""
        K = self.K
        now = sim.now
        prof_sub = sim.prof[sim.sub_prof[sub]]
        best_suffix = sim.best_suffix
        feas = []  # (laxity on sub, slo, req, remaining on sub)
        Dl = self.D
        lo, hi = RISKY
        for r in sim.ready.values():
            rem = prof_sub[r.mi].suffix[r.next_layer]
            lax = r.deadline - now - rem
            if lax >= 0.0:
                D = Dl[r.slo]
                if lax < lo * D and r.deadline - now - best_suffix[r.mi][r.next_layer] >= hi * D:
                    continue  # risky here: wait for a faster type
                feas.append((lax, r.id, r, rem))
        ta = self.tenant_aware
        count: dict[int, int] = {}
        if not feas:
            cands = []
        elif ta:
            q_t = self._tenant_state(sim)[3]
            heads: dict[int, tuple] = {}
            for f in feas:
                s = f[2].slo
                count[s] = count.get(s, 0) + 1
                h = heads.get(s)
                if h is None or f[:2] < h[:2]:
                    heads[s] = f
            hl = list(heads.values())
            if len(hl) > K:
                hl.sort(key=lambda f: f[:2])
                urgent, rest = hl[: K // 2], hl[K // 2:]
                tq = self.slo_tenant

                def need(f):
                    q = q_t[tq[f[2].slo]]
                    return (-(q if q <= 1.0 else -1.0), f[0], f[1])

                rest.sort(key=need)
                hl = urgent + rest[: K - len(urgent)]
            hl.sort(key=lambda f: f[:2])
            cands = hl
        else:
            feas.sort(key=lambda f: f[:2])
            cands = feas[:K]
            for f in feas:
                s = f[2].slo
                count[s] = count.get(s, 0) + 1
        return cands, count

    def build(self, sim, sub: int):
        """Candidates, observation and mask for a decision on idle sub-accelerator ``sub``."""
        K = self.K
        now = sim.now
        prof_sub = sim.prof[sim.sub_prof[sub]]
        best_suffix = sim.best_suffix
        Dl = self.D
        cands, count = self.candidates(sim, sub)
        obs = np.zeros(self.dim, dtype=np.float32)
        mask = np.zeros(K + 1, dtype=bool)
        mask[K] = True
        ta = self.tenant_aware
        if ta:
            m_s, q_s, m_t, q_t, cum, savable = self._tenant_state(sim)
        # ---- candidate blocks
        tau, st = self.tau, self.slo_tenant
        inv_B = self.inv_B
        for j, (lax, _, r, rem) in enumerate(cands):
            s, mi, k = r.slo, r.mi, r.next_layer
            D = Dl[s]
            best = best_suffix[mi][k]
            lt = prof_sub[mi].solo[k]
            lt_best = self.best_layer[mi][k]
            ps = prof_sub[mi]
            b = j * N_CAND
            obs[b] = 1.0
            obs[b + 1] = _clip(lax / D, -1.0, 4.0)
            obs[b + 2] = _clip((r.deadline - now - best) / D, -1.0, 4.0)
            obs[b + 3] = _clip(rem / D, 0.0, 4.0)
            obs[b + 4] = _clip(math.log(rem / best) if best > 0 else 0.0, 0.0, 3.0)
            obs[b + 5] = _clip(math.log(lt / lt_best) if lt_best > 0 else 0.0, 0.0, 3.0)
            obs[b + 6] = _clip(ps.D[k] / ps.C[k] * inv_B if ps.C[k] > 0 else 0.0, 0.0, 4.0)
            obs[b + 7] = k / r.n_layers
            obs[b + 8] = _clip((now - r.arrival) / D, 0.0, 4.0)
            obs[b + 9] = math.log1p(count.get(s, 1)) / 3.0
            if ta:
                t = st[s]
                obs[b + 10] = tau[s]
                obs[b + 11] = _clip(m_s[s], -1.0, 1.0)
                obs[b + 12] = _clip(m_t[t], -1.0, 1.0)
                obs[b + 13] = _clip(q_s[s], -1.0, 2.0)
                obs[b + 14] = _clip(q_t[t], -1.0, 2.0)
                obs[b + 15] = _clip(self.tenant_share[t], 0.0, 4.0)
                obs[b + 16] = _clip(cum[t], 0.0, 4.0)
                obs[b + 17] = 1.0 if q_t[t] > 1.0 else 0.0
                c = cum[t]
                for i, lvl in enumerate(CUM_LEVELS):
                    if c <= lvl:
                        obs[b + 18 + i] = 1.0
            mask[j] = True
        # ---- global block
        g = K * N_CAND
        M = sim.M
        running = sim.running
        bw = 0.0
        n_idle = 0
        p_sub = sim.sub_prof[sub]
        same_type = same_idle = 0
        for i in range(M):
            rr = running[i]
            if sim.sub_prof[i] == p_sub:
                same_type += 1
            if rr is None:
                n_idle += 1
                if sim.sub_prof[i] == p_sub:
                    same_idle += 1
            else:
                ps = sim.prof[sim.sub_prof[i]][rr.mi]
                kk = min(rr.next_layer, rr.n_layers - 1)
                if ps.C[kk] > 0:
                    bw += ps.D[kk] / ps.C[kk]
        obs[g] = _clip(self.load, 0.0, 4.0)
        obs[g + 1] = _clip(sim.n_arrived / max(sim.n_total, 1), 0.0, 1.0)
        obs[g + 2] = n_idle / M
        obs[g + 3] = _clip(len(sim.ready) / M, 0.0, 8.0) / 4.0
        obs[g + 4] = _clip(bw * inv_B, 0.0, 4.0)
        obs[g + 5 + (p_sub % MAX_TYPES)] = 1.0
        obs[g + 9] = same_idle / max(same_type, 1)
        if ta:
            T = self.T
            obs[g + 10] = sum(1 for x in m_t if x >= 0.0) / T
            obs[g + 11] = sum(1 for x in q_t if x > 1.0) / T
            obs[g + 12] = _clip(savable, 0.0, 4.0)
            obs[g + 13] = _clip(min(m_t), -1.0, 1.0)
        return [c[2] for c in cands], obs, mask
