"""Seeded random tenant mixes: scenario dicts for training and for tests on unseen mixes.

:func:`random_scenario` draws a multi-tenant scenario that :class:`~fairsched.workload.scenario.ScenarioConfig`
accepts. Every draw comes from one ``numpy`` generator seeded with ``seed``, so the same seed gives the same
mix on every machine. What is drawn (each range is an argument):

* the number of tenants, uniform in ``n_tenants`` (inclusive);
* for each tenant 1 to 3 distinct models (``models_per_tenant``) out of ``models``;
* for each SLO a target hit rate ``tau`` uniform in ``target`` (default 0.80 to 0.99, rounded to 0.01),
  a deadline as a multiple of the model's isolated latency (``deadline_x``), drawn from a tight,
  medium or loose band (``deadline_bands``: log-uniform within the band), and a ``rate_share``
  (log-normal with ``share_sigma``: unequal tenants, some light and some heavy).

The load (platform utilization) is a separate argument: the same mix can be replayed at several
loads. Training draws seeds from its own generator (0 <= seed < 2**31); evaluation of "unseen" mixes
uses seeds from :data:`UNSEEN_SEED_BASE` upwards, a range training never draws from.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from fairsched.errors import InputError

#: Seeds >= this are reserved for evaluation on tenant mixes never seen in training.
UNSEEN_SEED_BASE = 2**31

#: (low, high) ``deadline_x`` bands: tight, medium, loose.
DEFAULT_BANDS: tuple[tuple[float, float], ...] = ((1.5, 3.0), (3.0, 6.0), (6.0, 12.0))


def random_scenario(
    seed: int,
    models: Sequence[str],
    *,
    n_tenants: tuple[int, int] = (8, 16),
    models_per_tenant: tuple[int, int] = (1, 3),
    target: tuple[float, float] = (0.80, 0.99),
    deadline_bands: Sequence[tuple[float, float]] = DEFAULT_BANDS,
    share_sigma: float = 0.8,
    load: float = 0.9,
    requests: int = 20000,
    warmup_fraction: float = 0.1,
    name: str | None = None,
) -> dict:
    """A random tenant mix as a scenario dict (validate it with ``ScenarioConfig.model_validate``).

    >>> d = random_scenario(1, ["resnet50", "mobilenetv2"], n_tenants=(2, 2))
    >>> len(d["tenants"])
    2
    """
    models = list(dict.fromkeys(models))
    if not models:
        raise InputError("models: give at least one model name (the cost table's models)")
    lo_t, hi_t = n_tenants
    if not (1 <= lo_t <= hi_t):
        raise InputError(f"n_tenants: need 1 <= low <= high, got {n_tenants}")
    lo_m, hi_m = models_per_tenant
    if not (1 <= lo_m <= hi_m):
        raise InputError(f"models_per_tenant: need 1 <= low <= high, got {models_per_tenant}")
    if not (0.0 <= target[0] <= target[1] <= 1.0):
        raise InputError(f"target: need 0 <= low <= high <= 1, got {target}")
    if not deadline_bands or any(not (0 < a <= b) for a, b in deadline_bands):
        raise InputError(f"deadline_bands: need (low, high) pairs with 0 < low <= high, got {deadline_bands}")
    rng = np.random.default_rng(seed)
    tenants = []
    for t in range(int(rng.integers(lo_t, hi_t + 1))):
        k = int(rng.integers(min(lo_m, len(models)), min(hi_m, len(models)) + 1))
        chosen = rng.choice(len(models), size=k, replace=False)
        slos = []
        for mi in sorted(chosen.tolist()):
            band = deadline_bands[int(rng.integers(len(deadline_bands)))]
            dx = float(np.exp(rng.uniform(np.log(band[0]), np.log(band[1]))))
            slos.append(
                dict(
                    model=models[mi],
                    target=round(float(rng.uniform(*target)), 2),
                    deadline_x=round(dx, 2),
                    rate_share=round(float(rng.lognormal(0.0, share_sigma)), 3),
                )
            )
        tenants.append(dict(name=f"t{t:02d}", slos=slos))
    return dict(
        name=name or f"random-{seed}",
        description=f"random tenant mix, seed {seed}",
        load=float(load),
        requests=int(requests),
        warmup_fraction=float(warmup_fraction),
        tenants=tenants,
    )
