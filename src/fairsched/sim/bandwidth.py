"""Sharing the off-chip bandwidth among running layers.

A running layer with compute time ``C`` (s) and traffic ``D`` (bytes) wants ``d = D / C`` bytes/s
to run at compute speed. If the demands fit in ``B`` everyone gets theirs; otherwise ``B`` is
split max-min fairly (water-filling: small demands are met in full, the rest share equally) or,
optionally, in proportion to demand. A layer granted ``g < d`` progresses at rate ``g / D``
(fraction of its work per second) instead of ``1 / C``.
"""

from __future__ import annotations


def maxmin(demands: list[float], capacity: float) -> list[float]:
    """Max-min fair allocation of ``capacity`` to ``demands`` (returns grants, same order)."""
    total = sum(demands)
    if total <= capacity:
        return list(demands)
    order = sorted(range(len(demands)), key=demands.__getitem__)
    grants = [0.0] * len(demands)
    left, k = capacity, len(demands)
    for pos, i in enumerate(order):
        share = left / k
        if demands[i] <= share:
            grants[i] = demands[i]
            left -= demands[i]
            k -= 1
        else:
            for j in order[pos:]:
                grants[j] = share
            break
    return grants


def proportional(demands: list[float], capacity: float) -> list[float]:
    """Split ``capacity`` in proportion to demand when oversubscribed."""
    total = sum(demands)
    if total <= capacity:
        return list(demands)
    f = capacity / total
    return [d * f for d in demands]


SHARING = {"maxmin": maxmin, "proportional": proportional}
