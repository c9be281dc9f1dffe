"""The shipped cost table: complete, consistent with the zoo, and really heterogeneous."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest

from fairsched.costs.table import SHIPPED, load_cost_table
from fairsched.platform.config import load_accelerator_type, load_platform
from fairsched.workload.zoo import MODEL_NAMES, get_model

TYPES = ("eyeriss_like", "simba_like", "tpu_like")


@pytest.fixture(scope="module")
def table():
    return load_cost_table()


def _seconds(table, model, t):
    c = table.get(model, t)
    return c.cycles / (load_accelerator_type(t).clock_mhz * 1e6)


def test_every_zoo_model_on_every_type(table):
    assert set(MODEL_NAMES) <= set(table.models)
    assert set(TYPES) <= set(table.accel_types)
    assert len(table.models) >= 8 and len(table.accel_types) >= 3


@pytest.mark.parametrize("model", MODEL_NAMES)
def test_rows_match_the_zoo(table, model):
    layers = get_model(model)
    f = table.frame[table.frame["model"] == model]
    for t in TYPES:
        g = f[f["accel_type"] == t].sort_values("layer_index")
        assert g["layer_name"].tolist() == [x.name for x in layers]
        assert g["kind"].tolist() == [x.kind for x in layers]
        assert g["macs"].tolist() == [x.macs for x in layers]


def test_costs_are_physically_plausible(table):
    f = table.frame
    assert (f["cycles"] > 0).all() and (f["energy_pj"] > 0).all() and (f["dram_bytes"] > 0).all()
    pes = {"eyeriss_like": 12 * 112, "simba_like": 32 * 32, "tpu_like": 32 * 32}
    # no type computes faster than its full PE array allows
    assert (f["cycles"] >= np.ceil(f["macs"] / f["accel_type"].map(pes))).all()
    # every layer reads its weights at least once (8-bit weights)
    weights = {(m, i): x.weight_elems for m in MODEL_NAMES for i, x in enumerate(get_model(m))}
    w = np.array([weights[(m, i)] for m, i in zip(f["model"], f["layer_index"])])
    assert (f["dram_bytes"].to_numpy() >= w).all()


def test_types_are_fastest_on_different_layers(table):
    """Real heterogeneity: within a model, the fastest type changes from layer to layer."""
    mixed = []
    for m in table.models:
        per_type = np.stack([_seconds(table, m, t) for t in TYPES])
        winners = set(np.argmin(per_type, axis=0).tolist())
        if len(winners) >= 2:
            mixed.append(m)
    assert len(mixed) >= 2, mixed


def test_no_type_is_fastest_on_every_model(table):
    fastest = {m: min(TYPES, key=lambda t: _seconds(table, m, t).sum()) for m in table.models}
    assert len(set(fastest.values())) >= 2, fastest


def test_default_platform_types_each_win_somewhere(table):
    """The default platform mixes Eyeriss-like and Simba-like: each is the faster on some layers."""
    wins = {"eyeriss_like": 0, "simba_like": 0}
    for m in table.models:
        e, s = _seconds(table, m, "eyeriss_like"), _seconds(table, m, "simba_like")
        wins["eyeriss_like"] += int((e < s).sum())
        wins["simba_like"] += int((s < e).sum())
    assert min(wins.values()) >= 50, wins


def test_default_bandwidth_makes_contention_matter(table):
    """One layer alone is rarely bandwidth-bound, but 8 memory-heavy layers together are (docs/costs.md)."""
    plat = load_platform("default")
    demand = {}
    for t in plat.type_names:
        d = np.concatenate([table.get(m, t).dram_bytes / _seconds(table, m, t) for m in table.models])
        demand[t] = d
        assert (d > plat.bandwidth).mean() < 0.10
    heavy = sum(np.median(demand[s.type][demand[s.type] >= np.quantile(demand[s.type], 0.75)]) for s in plat.subs)
    assert heavy > 2 * plat.bandwidth


def test_meta_describes_the_build():
    meta = json.loads(SHIPPED.with_name("cost_table.meta.json").read_text())
    assert meta["format_version"] == 1
    assert meta["cost_model"] == "zigzag-dse" and meta["zigzag_version"]
    assert set(TYPES) <= set(meta["types"]) and set(MODEL_NAMES) <= set(meta["models"])
    assert meta["build"]["unique_jobs"] > 0


def test_shipped_table_is_package_data():
    assert resources.files("fairsched.costs").joinpath("data", "cost_table.csv").is_file()
