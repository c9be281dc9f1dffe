"""The triage teacher on hand-made observations: protected, then savable, then lost tenants."""

import numpy as np
import pytest

from fairsched.rl.features import N_CAND, N_GLOBAL
from fairsched.rl.teacher import CUMSHARE, LOST, TeacherPolicy, triage_action, urgent_action

K = 4


def _obs(cands):
    """cands: dicts with lost, cumshare (slots in laxity order)."""
    obs = np.zeros(K * N_CAND + N_GLOBAL, dtype=np.float32)
    mask = np.zeros(K + 1, dtype=bool)
    mask[K] = True
    for j, c in enumerate(cands):
        b = j * N_CAND
        obs[b] = 1.0
        obs[b + LOST] = 1.0 if c.get("lost") else 0.0
        obs[b + CUMSHARE] = c.get("cumshare", 0.1)
        mask[j] = True
    return obs, mask


def test_protected_before_savable_before_lost():
    obs, mask = _obs([dict(lost=True), dict(cumshare=0.95), dict(cumshare=0.2)])
    assert triage_action(obs, mask, theta=0.9) == 2  # only slot 2 is protected
    obs, mask = _obs([dict(lost=True), dict(cumshare=0.95)])
    assert triage_action(obs, mask, theta=0.9) == 1  # savable beats lost
    obs, mask = _obs([dict(lost=True), dict(lost=True)])
    assert triage_action(obs, mask, theta=0.9) == 0  # all lost: the most urgent
    obs, mask = _obs([dict(cumshare=0.5), dict(cumshare=0.2)])
    assert triage_action(obs, mask, theta=0.9) == 0  # both protected: the least laxity


def test_masked_slots_are_never_chosen():
    obs, mask = _obs([dict(), dict(cumshare=0.2)])
    mask[0] = False
    assert triage_action(obs, mask) == 1
    assert urgent_action(obs, mask) == 1
    mask[:K] = False
    assert triage_action(obs, mask) == K and urgent_action(obs, mask) == K


def test_teacher_policy_kinds():
    assert TeacherPolicy("triage").tenant_aware and not TeacherPolicy("urgent").tenant_aware
    with pytest.raises(ValueError):
        TeacherPolicy("oracle")
