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


def test_user_type_from_any_folder_builds_one_layer(tmp_path, capsys):
    """A type YAML outside the package (its zigzag files beside it, 16-bit operands) and a layer-list model."""
    import shutil

    import pytest as _pytest

    from fairsched.cli import main
    from fairsched.platform.config import ACCEL_DIR

    d = tmp_path / "my_types"
    (d / "zz").mkdir(parents=True)
    shutil.copy(ACCEL_DIR / "zigzag" / "tpu_like.hw.yaml", d / "zz" / "hw.yaml")
    shutil.copy(ACCEL_DIR / "zigzag" / "tpu_like.map.yaml", d / "zz" / "map.yaml")
    (d / "my_tpu16.yaml").write_text(
        "name: my_tpu16\ndataflow: output-stationary\nclock_mhz: 500\nidle_power_mw: 10\n"
        "zigzag_hardware: zz/hw.yaml\nzigzag_mapping: zz/map.yaml\n"
        "operand_precision_bits: {W: 16, I: 16, O: 32, O_final: 16}\n")
    model = tmp_path / "tinynet.yaml"
    model.write_text("layers:\n  - {name: tiny, kind: conv, K: 16, C: 8, OX: 8, OY: 8, FX: 3, FY: 3, pad: 1}\n")
    out = tmp_path / "out" / "mine.csv"
    with _pytest.raises(SystemExit) as e:
        main(["costs", "build", "--models", str(model), "--types", str(d / "my_tpu16.yaml"), "--out", str(out),
              "--jobs", "1"])
    assert e.value.code == 0, capsys.readouterr().err
    row = load_cost_table(out).frame.iloc[0]
    assert (row.model, row.accel_type, row.macs) == ("tinynet", "my_tpu16", 16 * 8 * 8 * 8 * 9)
    assert row.cycles >= math.ceil(row.macs / (32 * 32))
    # 16-bit operands: at least every weight, input and output once, 2 bytes each
    assert row.dram_bytes >= 2 * (LAYER.weight_elems + LAYER.input_elems + LAYER.output_elems)
    import json

    meta = json.loads(out.with_name("mine.meta.json").read_text())
    assert meta["types"]["my_tpu16"]["operand_precision_bits"] == {"W": 16, "I": 16, "O": 32, "O_final": 16}
    assert meta["types"]["my_tpu16"]["zigzag_hardware"] == "zz/hw.yaml" and meta["physics_warnings"] == []
