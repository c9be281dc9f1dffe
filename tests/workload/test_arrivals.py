"""Arrival processes against their defining statistics."""

from __future__ import annotations

import numpy as np
import pytest

from fairsched.workload.arrivals import Bursty, Periodic, Poisson, TraceReplay


def draw(proc, n):
    return np.array([proc.next() for _ in range(n)])


def test_poisson_rate_and_exponential_gaps():
    t = draw(Poisson(50.0, np.random.default_rng(1)), 40_000)
    g = np.diff(t)
    assert np.all(g >= 0)
    assert 1 / g.mean() == pytest.approx(50.0, rel=0.02)
    assert g.std() / g.mean() == pytest.approx(1.0, rel=0.03)  # CV of the exponential is 1


def test_periodic_has_fixed_period_and_random_phase():
    t = draw(Periodic(10.0, np.random.default_rng(2)), 1000)
    assert np.allclose(np.diff(t), 0.1)
    assert 0 <= t[0] < 0.1
    tj = draw(Periodic(10.0, np.random.default_rng(2), jitter=0.2), 20_000)
    assert np.diff(tj).mean() == pytest.approx(0.1, rel=0.01)
    assert np.abs(np.diff(tj) - 0.1).max() <= 0.02 + 1e-12


def test_bursty_keeps_mean_rate_and_is_overdispersed():
    t = draw(Bursty(20.0, np.random.default_rng(3), mean_on_s=0.5, mean_off_s=1.5), 60_000)
    assert len(t) / t[-1] == pytest.approx(20.0, rel=0.05)
    g = np.diff(t)
    assert g.std() / g.mean() > 1.5  # burstier than Poisson


def test_trace_replay_rescaled_and_as_given():
    gaps = np.array([1.0, 3.0, 2.0])  # ms
    r = draw(TraceReplay(100.0, np.random.default_rng(0), gaps), 6)
    assert np.allclose(np.diff(np.r_[0, r]), [0.005, 0.015, 0.01] * 2)  # mean gap 1/100 s, shape kept
    a = draw(TraceReplay(1.0, np.random.default_rng(0), gaps, rescale=False, unit_s=1e-3), 4)
    assert np.allclose(a, [0.001, 0.004, 0.006, 0.007])


def test_same_seed_same_arrivals():
    a = draw(Poisson(5.0, np.random.default_rng(7)), 100)
    b = draw(Poisson(5.0, np.random.default_rng(7)), 100)
    assert np.array_equal(a, b)
