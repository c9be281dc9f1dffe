"""Rewards of the learned schedulers, computed from the simulator's streamed counters.

Each reward sees, between two decisions, which requests ended (hits and misses per SLO) and returns
one number. Both are numpy/pure Python.

``TenantReward`` (``drl``, the default): the headline metric is the number of tenants whose SLA is
upheld at the end of the window, so a hit is worth what it adds to the chance that its tenant ends
at or above target. A hit (+) or miss (-) of SLO ``s`` of tenant ``t`` is worth

    (1 / N_s) * (bonus + phi(m_t))        phi(m) = 4 sigma'(m / w) in (0, 1], peak 1 at m = 0

where ``N_s`` is the expected number of requests of ``s`` in the window (so each request moves the
final hit rate by ``1 / N_s``), ``m_t`` the tenant's current margin (min over its SLOs of hit rate
minus target) and ``w`` a width that shrinks as evidence accumulates (``0.02 + sqrt(tau (1 - tau) /
n)``). Tenants near their target get the largest weight (their hits decide whether they are upheld);
tenants far above (safe) or far below (lost) get little, which is what lets the policy learn whom to
sacrifice. Misses of a tenant below target cost ``1 + miss_extra`` times more than hits gain.
``bonus`` (small) keeps every hit worth something, so spare capacity is not wasted.

``HitReward`` (``relmas``): RELMAS-like, tenant-agnostic: +1 per hit, scaled by ``S / N`` (``S`` SLOs,
``N`` requests) so episode returns are on the same scale as ``TenantReward``.
"""

from __future__ import annotations

import math


class _Base:
    def reset(self, sim) -> None:
        wl = sim.workload
        S = len(wl.slos)
        self.S = S
        counted = wl.requests - int(wl.warmup_fraction * wl.requests)
        self.N = [max(1.0, counted * s.rate / wl.total_rate) for s in wl.slos]
        self.tau = [s.target for s in wl.slos]
        self.tenant_slos: list[list[int]] = [[] for _ in wl.tenants]
        for s in wl.slos:
            self.tenant_slos[s.tenant].append(s.index)
        self.slo_tenant = [s.tenant for s in wl.slos]
        self._hits = list(sim.slo_hits_all)
        self._done = list(sim.slo_done_all)

    def _deltas(self, sim):
        out = []
        for s in range(self.S):
            dd = sim.slo_done_all[s] - self._done[s]
            if dd:
                dh = sim.slo_hits_all[s] - self._hits[s]
                out.append((s, dh, dd - dh))
                self._done[s] = sim.slo_done_all[s]
                self._hits[s] = sim.slo_hits_all[s]
        return out


class HitReward(_Base):
    """+1 per hit (scaled by S / total requests)."""

    def reset(self, sim) -> None:
        super().reset(sim)
        self.scale = self.S / max(sim.workload.requests, 1)

    def __call__(self, sim) -> float:
        return self.scale * sum(dh for _, dh, _ in self._deltas(sim))


class TenantReward(_Base):
    """Need-weighted hits and misses (see the module docstring)."""

    def __init__(self, bonus: float = 0.05, miss_extra: float = 0.5):
        self.bonus = bonus
        self.miss_extra = miss_extra

    def __call__(self, sim) -> float:
        ev = self._deltas(sim)
        if not ev:
            return 0.0
        hits_all, done_all = sim.slo_hits_all, sim.slo_done_all
        tau = self.tau
        r = 0.0
        for s, dh, dm in ev:
            t = self.slo_tenant[s]
            m, n = 1.0, 1
            for s2 in self.tenant_slos[t]:
                d = done_all[s2]
                h = hits_all[s2] / d if d else 1.0
                if h - tau[s2] < m:
                    m, n = h - tau[s2], d
            w = 0.02 + math.sqrt(max(tau[s] * (1.0 - tau[s]), 1e-4) / (n + 1))
            z = m / w
            sg = 1.0 / (1.0 + math.exp(-z)) if z > -30 else 0.0
            phi = 4.0 * sg * (1.0 - sg)
            v = (self.bonus + phi) / self.N[s]
            r += dh * v
            if dm:
                r -= dm * v * (1.0 + (self.miss_extra if m < 0 else 0.0))
        return r


REWARDS = {"tenant": TenantReward, "hits": HitReward}
