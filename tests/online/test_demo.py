"""ONNX layer subgraphs, profiling and the serving demo (needs the `online` extra)."""

from __future__ import annotations

import json

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")

from fairsched.cli import main  # noqa: E402
from fairsched.online.layers import input_shape, layer_model, model_layers, output_shape, scaled  # noqa: E402
from fairsched.workload.zoo import LayerShape, get_model  # noqa: E402


def _run(layer, x):
    s = ort.InferenceSession(layer_model(layer, seed=1), providers=["CPUExecutionProvider"])
    return s.run(None, {"x": x})[0]


def _weights(layer):
    import onnx
    from onnx import numpy_helper

    m = onnx.load_from_string(layer_model(layer, seed=1))
    return {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}


def test_conv_layer_computes_the_convolution_by_hand():
    layer = LayerShape("c", "conv", K=2, C=3, OX=4, OY=4, FX=3, FY=3, stride=1, pad=1)
    x = np.random.default_rng(0).standard_normal(input_shape(layer), dtype=np.float32)
    w = _weights(layer)["w"]
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    want = np.zeros((1, 2, 4, 4), dtype=np.float64)
    for k in range(2):
        for i in range(4):
            for j in range(4):
                want[0, k, i, j] = (xp[0, :, i:i + 3, j:j + 3] * w[k]).sum()
    np.testing.assert_allclose(_run(layer, x), want, rtol=1e-4, atol=1e-6)


def test_depthwise_gemm_and_fc_layers_have_the_zoo_shapes():
    for layer in (LayerShape("d", "dwconv", K=8, C=1, OX=5, OY=5, FX=3, FY=3, stride=2, pad=1, groups=8),
                  LayerShape("f", "fc", K=10, C=6),
                  LayerShape("g", "gemm", K=4 * 3, C=5, OY=7, groups=3)):
        x = np.ones(input_shape(layer), dtype=np.float32)
        y = _run(layer, x)
        assert y.shape == output_shape(layer)
        assert int(np.prod(output_shape(layer))) == layer.output_elems
    # a depthwise layer's input has K channels at the size its stride implies: (5 - 1) * 2 + 3 - 2 = 9
    assert input_shape(LayerShape("d", "dwconv", K=8, C=1, OX=5, OY=5, FX=3, FY=3, stride=2, pad=1, groups=8)) == (1, 8, 9, 9)


def test_scaling_divides_spatial_sizes_only():
    full = get_model("resnet18")
    half = model_layers("resnet18", 2)
    assert len(half) == len(full)
    assert half[0].OX == 56 and half[0].K == full[0].K and half[0].FX == 7  # 112 / 2
    assert scaled(full[-1], 4) == full[-1]  # fc: unchanged


def test_profile_writes_a_valid_cost_table(tmp_path):
    from fairsched.costs.table import load_cost_table

    out = tmp_path / "prof.csv"
    with pytest.raises(SystemExit) as e:
        main(["costs", "profile", "--out", str(out), "--models", "squeezenet", "--scale", "8", "--reps", "1"])
    assert e.value.code == 0
    t = load_cost_table(out)
    assert t.accel_types == ["ort-noopt", "ort-opt"]
    assert len(t.frame) == 2 * len(get_model("squeezenet"))
    assert (t.frame["cycles"] > 0).all() and (t.frame["dram_bytes"] == 0).all()


@pytest.mark.parametrize("args, what", [
    (["--executors", "gpu:1"], "executor kind 'gpu'"),
    (["--executors", "ort-opt:x"], "KIND:COUNT"),
    (["--loads", "0.5,abc"], "--loads"),
    (["--schedulers", "nope"], "--schedulers"),
])
def test_serve_demo_bad_input_is_one_error_line(tmp_path, capsys, args, what):
    with pytest.raises(SystemExit) as e:
        main(["serve-demo", "--out", str(tmp_path / "o"), *args])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and what in err[0]


def test_serve_demo_end_to_end_tiny(tmp_path):
    """One tiny real run: real and simulated rows, the gap table and both figures are written."""
    import pandas as pd

    out = tmp_path / "demo"
    with pytest.raises(SystemExit) as e:
        main(["serve-demo", "--out", str(out), "--seconds", "1", "--loads", "0.5", "--schedulers", "edf",
              "--scale", "8", "--reps", "2"])
    assert e.value.code == 0
    summ = pd.read_csv(out / "summary.csv")
    assert sorted(summ["mode"]) == ["real", "sim", "sim-inrun"]
    real = summ[summ["mode"] == "real"].iloc[0]
    sim = summ[summ["mode"] == "sim"].iloc[0]
    assert real["requests"] == sim["requests"] > 0  # the same arrivals on both sides
    gap = pd.read_csv(out / "sim2real.csv")
    assert len(gap) == 7  # one row per SLO of the demo scenario
    np.testing.assert_allclose(gap["gap_points"], (gap["hit_rate_real"] - gap["hit_rate_sim"]) * 100)
    for f in ("fig2_slo_achievement.png", "fig3_slo_margin.png", "tenants.csv"):
        assert (out / "load_0.5" / f).is_file()
    assert json.loads((out / "report.json").read_text())["results"][0]["scheduler"] == "edf"
