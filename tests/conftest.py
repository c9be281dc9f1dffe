"""Shared helpers: tiny hand-made cost tables and platforms whose answers are known by hand.

Clocks are 1 Hz, so ``cycles`` are seconds and schedules can be computed on paper.
"""

from __future__ import annotations

import pandas as pd
import pytest

from fairsched.costs.table import from_frame
from fairsched.platform.config import Platform
from fairsched.workload.scenario import ScenarioConfig, resolve


def make_table(layers: dict[str, dict[str, list[tuple[float, float]]]], energy: float = 1.0):
    """``layers[model][type] = [(cycles, dram_bytes), ...]`` -> validated CostTable."""
    rows = []
    for model, by_type in layers.items():
        for t, ls in by_type.items():
            for k, (c, d) in enumerate(ls):
                rows.append(dict(model=model, layer_index=k, layer_name=f"l{k}", kind="conv", accel_type=t,
                                 macs=1, cycles=c, dram_bytes=d, energy_pj=energy))
    return from_frame(pd.DataFrame(rows), "test table")


def make_platform(groups, bandwidth=1e30):
    """``groups``: [(type, count)] at 1 Hz, no idle power."""
    return Platform.build([(t, n, 1.0, 0.0) for t, n in groups], bandwidth)


def make_workload(platform, costs, slos, load=0.5, requests=100, warmup=0.0, allow_infeasible=False):
    """``slos``: list of (tenant, model, deadline_s, target). ``allow_infeasible``: accept deadlines
    shorter than any possible execution (to test aborts)."""
    tenants: dict[str, list] = {}
    for tenant, model, d, tau in slos:
        tenants.setdefault(tenant, []).append(dict(model=model, deadline_ms=d * 1e3, target=tau))
    cfg = ScenarioConfig.model_validate(
        dict(load=load, requests=requests, warmup_fraction=warmup,
             tenants=[dict(name=n, slos=s) for n, s in tenants.items()])
    )
    return resolve(cfg, platform, costs, allow_infeasible=allow_infeasible)


@pytest.fixture
def tiny():
    return make_table, make_platform, make_workload


# --- hypothesis profiles (tests/sim/test_properties.py; docs/reliability.md) -----------------------
# "ci" (default): a few dozen cases per property, the whole file in well under a minute on 2 cores.
# "long": >= 10,000 cases per property, for the tests marked slow:
#     HYPOTHESIS_PROFILE=long pytest -m slow          (make test-slow)
import os as _os  # noqa: E402

from hypothesis import HealthCheck as _HC  # noqa: E402
from hypothesis import settings as _hyp_settings  # noqa: E402

_HYP_COMMON = dict(deadline=None, print_blob=True,
                   suppress_health_check=[_HC.too_slow, _HC.data_too_large, _HC.filter_too_much])
_hyp_settings.register_profile("ci", max_examples=40, **_HYP_COMMON)
_hyp_settings.register_profile("dev", max_examples=10, **_HYP_COMMON)
_hyp_settings.register_profile("long", max_examples=10_000, **_HYP_COMMON)
_hyp_settings.load_profile(_os.environ.get("HYPOTHESIS_PROFILE", "ci"))
