"""Rule-based teachers that act on the env's observation (numpy only).

They warm-start training by behaviour cloning (:func:`fairsched.rl.train.train`, ``bc_steps``) and
are the "structured action space alone" reference in :mod:`fairsched.rl.evaluate`:

* ``triage`` (tenant-aware, teacher of ``drl``): among the candidates (ordered by laxity), the first
  whose tenant is *protected* -- it can still make its SLA (``q_t <= 1``) and the cumulative share
  of the platform needed by it and all cheaper savable tenants is at most ``theta`` -- else the
  first savable one, else the most urgent. A knapsack-style triage: under overload it gives up on
  the tenants that are most expensive to save instead of letting every tenant miss a little.
* ``urgent`` (teacher of ``relmas``): always the least-laxity candidate (slot 0).

PPO then fine-tunes from the cloned policy with the env's reward; the learned policy is free to
depart from the teacher (e.g. to leave a slow sub-accelerator idle or to move the threshold with
the load).
"""

from __future__ import annotations

import numpy as np

from fairsched.rl.features import N_CAND

# share of the platform the protected tenants may need together; tuned on training-range mixes
# (seeds 100-103 and the default scenario, loads 0.7/0.9/1.2): 0.75-0.8 upheld most, 0.9 fewer at high load
THETA = 0.8

LOST, CUMSHARE, AFFINITY = 17, 16, 5


def triage_action(obs: np.ndarray, mask: np.ndarray, theta: float = THETA, max_slowdown: float | None = None,
                  wait: bool = False) -> int:
    """Protected tenants first, then savable, then lost; within a class the least-laxity candidate
    whose next layer runs at most ``max_slowdown`` x slower here than on its best type (affinity, off
    by default: it did not help on the shipped table); with ``wait`` the sub-accelerator stays idle
    rather than run a request that slow."""
    K = len(mask) - 1
    slow = float(np.log(max_slowdown)) if max_slowdown else np.inf
    best, best_key = K, None
    for j in range(K):
        if not mask[j]:
            continue
        b = j * N_CAND
        lost = obs[b + LOST] > 0.5
        cls = 0 if (not lost and obs[b + CUMSHARE] <= theta) else 1 if not lost else 2
        key = (cls, obs[b + AFFINITY] > slow, j)
        if best_key is None or key < best_key:
            best, best_key = j, key
    if wait and best_key is not None and best_key[1]:
        return K
    return best


def urgent_action(obs: np.ndarray, mask: np.ndarray) -> int:
    valid = np.flatnonzero(mask[:-1])
    return int(valid[0]) if len(valid) else len(mask) - 1


class TeacherPolicy:
    """Duck-types :class:`~fairsched.rl.policy.NumpyPolicy` (``K``, ``tenant_aware``, ``act``)."""

    def __init__(self, kind: str = "triage", K: int = 8, theta: float = THETA):
        if kind not in ("triage", "urgent"):
            raise ValueError(f"teacher kind '{kind}': use triage or urgent")
        self.kind, self.K, self.theta = kind, K, theta
        self.tenant_aware = kind == "triage"

    def act(self, obs, mask) -> int:
        if self.kind == "triage":
            return triage_action(obs, mask, self.theta)
        return urgent_action(obs, mask)
