"""The seeded random tenant-mix generator."""

from __future__ import annotations

import pytest

from fairsched.errors import InputError
from fairsched.workload.generator import UNSEEN_SEED_BASE, random_scenario
from fairsched.workload.scenario import ScenarioConfig

MODELS = ["resnet50", "mobilenetv2", "bert_base", "squeezenet"]


def test_same_seed_same_mix_and_valid():
    a = random_scenario(5, MODELS)
    assert a == random_scenario(5, MODELS)
    assert a != random_scenario(6, MODELS)
    cfg = ScenarioConfig.model_validate(a)
    assert 8 <= len(cfg.tenants) <= 16


@pytest.mark.parametrize("seed", range(20))
def test_ranges(seed):
    d = random_scenario(seed, MODELS, load=1.2, requests=500)
    assert d["load"] == 1.2 and d["requests"] == 500
    shares = []
    for t in d["tenants"]:
        models = [s["model"] for s in t["slos"]]
        assert 1 <= len(models) <= 3 and len(set(models)) == len(models)
        for s in t["slos"]:
            assert 0.80 <= s["target"] <= 0.99
            assert 1.5 <= s["deadline_x"] <= 12.0
            shares.append(s["rate_share"])
    assert max(shares) > min(shares)  # unequal tenants


def test_deadlines_span_tight_to_loose():
    dx = [s["deadline_x"] for k in range(10) for t in random_scenario(k, MODELS)["tenants"] for s in t["slos"]]
    assert min(dx) < 3.0 and max(dx) > 6.0


def test_bad_arguments():
    with pytest.raises(InputError):
        random_scenario(0, [])
    with pytest.raises(InputError):
        random_scenario(0, MODELS, n_tenants=(5, 2))
    with pytest.raises(InputError):
        random_scenario(0, MODELS, target=(0.9, 1.2))


def test_unseen_seed_base_is_outside_training_draws():
    assert UNSEEN_SEED_BASE >= 2**31
    assert ScenarioConfig.model_validate(random_scenario(UNSEEN_SEED_BASE, MODELS))
