"""The constant-action cycle schedulers and the need-weighted triage line (rl/constant.py)."""

from types import SimpleNamespace

import pytest

from fairsched.rl.constant import NeedController, constant_names, prototype_names
from fairsched.rl.cycle import MODES, THETAS


def test_names_cover_every_action_once():
    names = constant_names()
    assert len(names) == len(THETAS) + len(MODES) == len(set(names))
    assert "drl-theta0.8" in names and "relmas-llf" in names
    assert len(prototype_names()) == len(set(prototype_names())) == len(THETAS) + 1 + 6


def test_need_weighted_cumulative_share_by_hand():
    """Tenants t0 (SLO 0), t1 (SLOs 1, 2), t2 (SLO 3, lost: need 1.5 > 1). Weights = sum of
    clip(need, 0, 1) * util: t0 0.5*0.2 = 0.1, t1 1.0*0.1 + 0.2*0.3 = 0.16, t2 1*0.5 = 0.5; cheapest
    first, a lost tenant adds its weight to the savable total only for itself."""
    q_s = [0.5, 1.0, 0.2, 1.5]
    q_t = [0.5, 1.0, 1.5]
    f = SimpleNamespace(T=3, tenant_slos=[[0], [1, 2], [3]], slo_util=[0.2, 0.1, 0.3, 0.5],
                        _tenant_state=lambda sim: (None, q_s, None, q_t, None, None))
    ctl = NeedController.__new__(NeedController)
    ctl.features, ctl._nkey, ctl._ncum = f, None, None
    cum = ctl._need_cum(SimpleNamespace(slo_done_all=[1, 2]))
    assert cum == pytest.approx([0.1, 0.26, 0.76])
