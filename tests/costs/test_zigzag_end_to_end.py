"""zigzag-dse end to end on one small layer, through the adapter and the builder (~10 s; runs in CI)."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("zigzag")

from fairsched.costs.build import build_cost_table  # noqa: E402
from fairsched.costs.table import load_cost_table  # noqa: E402
from fairsched.workload.zoo import LayerShape  # noqa: E402

LAYER = LayerShape("tiny", "conv", K=16, C=8, OX=8, OY=8, FX=3, FY=3, pad=1)


def test_one_layer_through_zigzag(tmp_path):
    out = tmp_path / "tiny.csv"
    meta = build_cost_table(types=["tpu_like"], jobs=1, out=out, zoo={"tiny": [LAYER]})
    assert meta["build"]["jobs_run_this_time"] == 1 and meta["zigzag_version"] != "not installed"
    row = load_cost_table(out).frame.iloc[0]
    assert (row.model, row.layer_index, row.layer_name, row.kind, row.accel_type) == ("tiny", 0, "tiny", "conv", "tpu_like")
    assert row.macs == 16 * 8 * 8 * 8 * 9
    assert row.cycles >= math.ceil(row.macs / (32 * 32))  # no faster than the full PE array
    assert row.energy_pj > 0
    assert row.dram_bytes >= LAYER.weight_elems  # 8-bit weights are read at least once
    assert not list(tmp_path.glob("**/*.pickle")) and not list(tmp_path.glob("**/*.png"))  # zigzag dumps nothing here
    # a second build finds the result in the cache
    assert build_cost_table(types=["tpu_like"], jobs=1, out=out, zoo={"tiny": [LAYER]})["build"]["jobs_run_this_time"] == 0
