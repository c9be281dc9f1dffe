"""The physics check: cycles >= MACs / PEs and dram_bytes >= compulsory traffic, on hand-made rows and on
the shipped table (zero unexplained violations)."""

from __future__ import annotations

import pandas as pd

from fairsched.costs.physics import (KNOWN_EXCEPTIONS, TypeLimits, check_physics, compulsory_bytes,
                                     compulsory_elems, type_limits)
from fairsched.costs.table import COLUMNS, load_cost_table
from fairsched.workload.zoo import MODEL_NAMES, LayerShape, get_model

P8 = {"W": 8, "I": 8, "O": 16, "O_final": 8}


def test_compulsory_traffic_by_hand():
    # 3x3 conv, pad 1, 8x8 -> 8x8: every input read; 16*8*9 weights, 8*64 inputs, 16*64 outputs
    a = LayerShape("a", "conv", K=16, C=8, OX=8, OY=8, FX=3, FY=3, pad=1)
    assert compulsory_elems(a) == (16 * 8 * 9, 8 * 64, 16 * 64)
    # 1x1 stride-2 downsample 56x56 -> 28x28: only every other row and column is read (28*28 per channel)
    d = LayerShape("d", "conv", K=128, C=64, OX=28, OY=28, FX=1, FY=1, stride=2)
    assert compulsory_elems(d) == (128 * 64, 64 * 28 * 28, 128 * 28 * 28)
    # 16-bit operands double every term
    assert compulsory_bytes(a, {"W": 16, "I": 16, "O": 16, "O_final": 16}) == 2 * (1152 + 512 + 1024)


def _frame(cycles, dram):
    return pd.DataFrame([["m", 0, "a", "conv", "t", 1000, cycles, dram, 1.0]], columns=COLUMNS)


def test_rows_breaking_a_bound_are_flagged_and_named():
    layer = LayerShape("a", "conv", K=10, C=10, OX=1, OY=1)  # 100 MACs, 100 + 10 + 10 bytes at 8 bits
    lim = {"t": TypeLimits(pes=10, precision=P8)}
    assert check_physics(_frame(10, 120), {"m": [layer]}, lim) == []
    (v,) = check_physics(_frame(9, 120), {"m": [layer]}, lim)
    assert v.bound == "cycles" and v.minimum == 10 and "'a' on 't'" in v.message()
    (v,) = check_physics(_frame(10, 119), {"m": [layer]}, lim)
    assert v.bound == "dram_bytes" and v.minimum == 120 and v.explanation is None


def test_shipped_table_has_no_unexplained_violation():
    t = load_cost_table()
    layers = {m: get_model(m) for m in MODEL_NAMES}
    limits = {a: type_limits(a) for a in t.accel_types}
    assert all(limits.values())
    found = check_physics(t.frame, layers, limits)
    assert [v.message() for v in found if v.explanation is None] == []
    # the known rows are still there (if a rebuild fixes them, drop them from KNOWN_EXCEPTIONS)
    assert {(v.model, v.layer_name, v.accel_type) for v in found} == set(KNOWN_EXCEPTIONS)
    assert all(v.bound == "dram_bytes" and v.value > 0.95 * v.minimum for v in found)


def test_row_stationary_rule_on_alexnet_shapes():
    """Filter rows x input channels down the 12 rows, output rows (x output channels) across the 14 columns."""
    from fairsched.costs.zigzag_adapter import row_stationary_mapping
    from fairsched.workload.zoo import conv_layers

    c = {x.name: x for x in conv_layers(get_model("alexnet"))}
    assert row_stationary_mapping(c["conv1"], 12, 14) == {"D1": ["FY, 11"], "D2": ["OY, 14"]}  # 11 x 14 PEs
    assert row_stationary_mapping(c["conv2"], 12, 14) == {"D1": ["FY, 5", "C, 2"], "D2": ["OY, 14"]}  # 10 x 14
    assert row_stationary_mapping(c["conv3"], 12, 14) == {"D1": ["FY, 3", "C, 4"], "D2": ["OY, 13"]}  # 12 x 13
    fc = LayerShape("fc", "fc", K=100, C=50)  # 1x1 and a single output row: channels both ways
    assert row_stationary_mapping(fc, 12, 14) == {"D1": ["FY, 1", "C, 12"], "D2": ["OY, 1", "K, 14"]}
