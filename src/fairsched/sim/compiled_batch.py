"""Many paused per-layer env kernels resumed in one compiled call, with their rewards.

Why: resuming one kernel from Python costs more than the kernel's work for a step (unboxing its
56 arrays, ~10 us); :func:`step_batch` resumes N kernels from a numba typed list of their
argument tuples (built once per episode, and again when a kernel's arrays are replaced), writes
each observation and mask into one batch array and computes each reward in the kernel's terms,
so a batched step costs a few microseconds per env. A kernel that needs Python (an arrival
chunk, more room, or the end) is left to the caller (``codes``), which finishes its step with
:class:`~fairsched.sim.compiled.ActionRun` and :func:`reward`.

Rewards: :func:`reward` is :mod:`fairsched.rl.reward` (``TenantReward`` and ``HitReward`` with
their default parameters) on the kernel's counters, every float operation in the same order on
the same values (``math.exp`` / ``math.sqrt`` are libm's in both), so the rewards are equal bit
for bit; tests/rl/test_env_kernel.py checks the batched env against the Python-engine env.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from fairsched.sim.compiled import A_CNT, A_PSKIP, A_PW, A_RUNNING, NEED_ACTION, run_kernel
from fairsched.sim.compiled_policy import X_ACT, X_NC

# reward kinds; rp (float parameters) and ri (int parameters) layouts
RW_TENANT, RW_HITS = 0, 1
RP_BONUS, RP_MISS, RP_SCALE = 0, 1, 2
_C_HITS_ALL, _C_DONE_ALL = 4, 3  # compiled.py's cnt rows


def reward_params(reward_fn, kind: str) -> tuple:
    """``(rp, ri, N, tau, slo_tenant, prev)`` for :func:`reward`, from a reset
    :mod:`fairsched.rl.reward` object (``prev``: hits and ended requests seen so far, 2 x S)."""
    S = reward_fn.S
    rp = np.zeros(3, np.float64)
    ri = np.zeros(1, np.int64)
    if kind == "tenant":
        ri[0] = RW_TENANT
        rp[RP_BONUS], rp[RP_MISS] = reward_fn.bonus, reward_fn.miss_extra
    else:
        ri[0] = RW_HITS
        rp[RP_SCALE] = reward_fn.scale
    prev = np.zeros((2, S), np.int64)
    prev[0], prev[1] = reward_fn._hits, reward_fn._done
    return (rp, ri, np.array(reward_fn.N, np.float64), np.array(reward_fn.tau, np.float64),
            np.array(reward_fn.slo_tenant, np.int64), prev)


@njit(cache=True)
def reward(cnt, rp, ri, N, tau, slo_tenant, prev):
    """The reward of the requests that ended since the last call (``prev`` is updated)."""
    S = slo_tenant.shape[0]
    if ri[0] == RW_HITS:
        dh_sum = 0
        for s in range(S):
            dd = cnt[_C_DONE_ALL, s] - prev[1, s]
            if dd:
                dh_sum += cnt[_C_HITS_ALL, s] - prev[0, s]
                prev[1, s] = cnt[_C_DONE_ALL, s]
                prev[0, s] = cnt[_C_HITS_ALL, s]
        return rp[RP_SCALE] * dh_sum
    r = 0.0
    for s in range(S):  # TenantReward.__call__, SLO by SLO in index order
        dd = cnt[_C_DONE_ALL, s] - prev[1, s]
        if dd == 0:
            continue
        dh = cnt[_C_HITS_ALL, s] - prev[0, s]
        dm = dd - dh
        prev[1, s] = cnt[_C_DONE_ALL, s]
        prev[0, s] = cnt[_C_HITS_ALL, s]
        t = slo_tenant[s]
        m, n = 1.0, 1
        for s2 in range(S):  # the tenant's SLOs in index order (tenant_slos)
            if slo_tenant[s2] != t:
                continue
            d = cnt[_C_DONE_ALL, s2]
            h = cnt[_C_HITS_ALL, s2] / d if d else 1.0
            if h - tau[s2] < m:
                m, n = h - tau[s2], d
        w = 0.02 + math.sqrt(max(tau[s] * (1.0 - tau[s]), 1e-4) / (n + 1))
        z = m / w
        sg = 1.0 / (1.0 + math.exp(-z)) if z > -30 else 0.0
        phi = 4.0 * sg * (1.0 - sg)
        v = (rp[RP_BONUS] + phi) / N[s]
        r += dh * v
        if dm:
            r -= dm * v * (1.0 + (rp[RP_MISS] if m < 0 else 0.0))
    return r


@njit(cache=True)
def step_batch(kern, rew, acts, active, codes, obs, masks, rewards):
    """Resume every active kernel ``e`` with action ``acts[e]``; where it pauses at the next
    decision (``codes[e] == NEED_ACTION``) write its observation, mask and reward; other codes are
    the caller's to finish. ``kern[e]``: the kernel's ``_Kernel.args()``; ``rew[e]``:
    :func:`reward_params`."""
    K = masks.shape[1] - 1
    for e in range(len(kern)):
        if not active[e]:
            continue
        t = kern[e]
        pskip = t[A_PSKIP]
        M = t[A_RUNNING].shape[0]
        pskip[M + X_ACT] = acts[e]
        code = run_kernel(*t)
        codes[e] = code
        if code != NEED_ACTION:
            continue
        pw = t[A_PW]
        for j in range(pw.shape[0]):
            obs[e, j] = pw[j]
        nc = pskip[M + X_NC]
        for j in range(K + 1):
            masks[e, j] = j < nc or j == K
        rp, ri, N, tau, slo_tenant, prev = rew[e]
        rewards[e] = reward(t[A_CNT], rp, ri, N, tau, slo_tenant, prev)
