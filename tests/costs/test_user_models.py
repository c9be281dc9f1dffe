"""Users' own models: an ONNX graph built here with onnx.helper, layer lists in YAML / CSV; bad files -> exit 2.

Expected shapes and MACs are worked out by hand from the graph below (macs = batch*K*C*OX*OY*FX*FY).
"""

from __future__ import annotations

import numpy as np
import pytest

from fairsched.cli import main
from fairsched.costs.user_models import load_model_file
from fairsched.errors import InputError

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def _init(name, shape):
    return numpy_helper.from_array(np.zeros(shape, dtype=np.float32), name)


def tiny_onnx(path):
    """x[1,3,32,32] -> conv 3x3 (16) -> relu -> depthwise 3x3 s2 -> grouped 1x1 (2 groups, 32) -> pool ->
    flatten -> gemm (10); q[2,4,8,16] @ k[2,4,16,8] (attention-like) ; ConvTranspose (not costed)."""
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], name="dw", kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                         strides=[2, 2], group=16),
        helper.make_node("Conv", ["c2", "w3"], ["c3"], name="gconv", kernel_shape=[1, 1], group=2),
        helper.make_node("GlobalAveragePool", ["c3"], ["p"], name="pool"),
        helper.make_node("Flatten", ["p"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "w4", "b4"], ["y"], name="fc", transB=1),
        helper.make_node("MatMul", ["q", "k"], ["s"], name="scores"),
        helper.make_node("ConvTranspose", ["c3", "w5"], ["up"], name="up", kernel_shape=[2, 2], strides=[2, 2]),
    ]
    graph = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32]),
         helper.make_tensor_value_info("q", TensorProto.FLOAT, [2, 4, 8, 16]),
         helper.make_tensor_value_info("k", TensorProto.FLOAT, [2, 4, 16, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("s", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("up", TensorProto.FLOAT, None)],
        initializer=[_init("w1", [16, 3, 3, 3]), _init("w2", [16, 1, 3, 3]), _init("w3", [32, 8, 1, 1]),
                     _init("w4", [10, 32]), _init("b4", [10]), _init("w5", [32, 8, 2, 2])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_onnx_import_gives_the_hand_computed_shapes_and_macs(tmp_path):
    m = load_model_file(tiny_onnx(tmp_path / "tiny.onnx"))
    assert m.name == "tiny"
    got = {x.name: x for x in m.layers}
    assert list(got) == ["conv1", "dw", "gconv", "fc", "scores"]
    c1, dw, gc, fc, sc = (got[k] for k in got)
    assert (c1.kind, c1.K, c1.C, c1.OX, c1.OY, c1.FX, c1.stride, c1.pad, c1.groups) == ("conv", 16, 3, 32, 32, 3, 1, 1, 1)
    assert c1.macs == 16 * 3 * 32 * 32 * 9
    assert (dw.kind, dw.K, dw.C, dw.OX, dw.stride, dw.groups) == ("dwconv", 16, 1, 16, 2, 16)
    assert dw.macs == 16 * 16 * 16 * 9
    assert (gc.kind, gc.K, gc.C, gc.OX, gc.groups) == ("gconv", 32, 8, 16, 2)
    assert gc.macs == 32 * 8 * 16 * 16
    assert (fc.kind, fc.K, fc.C, fc.batch) == ("fc", 10, 32, 1) and fc.macs == 320
    assert (sc.kind, sc.OY, sc.C, sc.groups, sc.K) == ("gemm", 8, 16, 8, 64)
    assert sc.macs == 2 * 4 * 8 * 16 * 8  # batch x heads x M x Kd x N
    assert m.folded == {"Relu": 1, "GlobalAveragePool": 1, "Flatten": 1}
    assert len(m.not_costed) == 1 and m.not_costed[0].startswith("up (ConvTranspose")
    assert any("NOT costed" in line for line in m.report())


def test_layer_list_yaml_and_csv(tmp_path):
    y = tmp_path / "mine.yaml"
    y.write_text("name: mynet\nlayers:\n  - {name: a, kind: conv, K: 8, C: 4, OX: 6, OY: 6, FX: 3, FY: 3, pad: 1}\n"
                 "  - {name: b, kind: fc, K: 10, C: 288}\n")
    m = load_model_file(y)
    assert m.name == "mynet" and [x.macs for x in m.layers] == [8 * 4 * 36 * 9, 2880]
    c = tmp_path / "net2.csv"
    c.write_text("name,kind,K,C,OX,OY,FX,FY,stride,pad,groups,batch\nd,dwconv,8,1,4,4,3,3,2,1,8,2\n")
    (d,) = load_model_file(c).layers
    assert (d.kind, d.groups, d.batch, d.stride) == ("dwconv", 8, 2, 2) and d.macs == 2 * 8 * 16 * 9


@pytest.mark.parametrize("text, match", [
    ("layers:\n  - {name: a, kind: conv, K: 8}\n", "field 'C' is missing"),
    ("layers:\n  - {name: a, kind: pool, K: 8, C: 2}\n", "kind 'pool'"),
    ("layers:\n  - {name: a, kind: conv, K: 8, C: 2, OX: 2.5}\n", "whole number"),
    ("layers:\n  - {name: a, kind: conv, K: 8, C: 2, colour: red}\n", "unknown field"),
    ("layers: []\n", "no layers"),
])
def test_bad_layer_lists_are_input_errors(tmp_path, text, match):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(InputError, match=match):
        load_model_file(p)


def _run(capsys, args):
    with pytest.raises(SystemExit) as e:
        main(list(map(str, args)))
    out, err = capsys.readouterr()
    return e.value.code, out, err


def test_bad_onnx_file_is_one_error_line_exit_2(tmp_path, capsys):
    pytest.importorskip("zigzag")
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"\x08\x07 this is not a protobuf \xff\xfe")
    code, _, err = _run(capsys, ["costs", "build", "--models", bad, "--types", "tpu_like", "--out", tmp_path / "o.csv"])
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: ") and "broken.onnx" in lines[0]
    assert "not a readable ONNX model" in lines[0] and not (tmp_path / "o.csv").exists()


def test_bad_type_file_is_one_error_line_exit_2(tmp_path, capsys):
    pytest.importorskip("zigzag")
    t = tmp_path / "mine.yaml"
    t.write_text("name: mine\ndataflow: ws\nclock_mhz: -5\nidle_power_mw: 1\n")
    code, _, err = _run(capsys, ["costs", "build", "--models", "resnet18", "--types", t, "--out", tmp_path / "o.csv"])
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: ") and "clock_mhz" in lines[0]
    t.write_text("name: mine\ndataflow: ws\nclock_mhz: 500\nidle_power_mw: 1\nzigzag_hardware: nope.hw.yaml\n"
                 "zigzag_mapping: nope.map.yaml\n")
    code, _, err = _run(capsys, ["costs", "build", "--models", "resnet18", "--types", t, "--out", tmp_path / "o.csv"])
    assert code == 2 and "nope.hw.yaml" in err and "does not exist" in err and len(err.strip().splitlines()) == 1


def test_build_needs_out(capsys):
    code, _, err = _run(capsys, ["costs", "build", "--models", "resnet18"])
    assert code == 2 and "--out" in err


def test_sweep_takes_costs_path(tmp_path, capsys):
    """`sweep --costs PATH` replaces the sweep's table: a missing file or a bad table is one error, exit 2."""
    code, _, err = _run(capsys, ["sweep", "paper", "--out", tmp_path / "o", "--costs", tmp_path / "nope.csv"])
    assert code == 2 and "--costs" in err and "nope.csv" in err
    bad = tmp_path / "bad.csv"
    bad.write_text("model,layer_index\nresnet18,0\n")
    code, _, err = _run(capsys, ["sweep", "paper", "--out", tmp_path / "o", "--costs", bad, "--no-figures"])
    assert code == 2 and "missing column" in err and "bad.csv" in err and len(err.strip().splitlines()) == 1


def test_type_with_a_broken_hardware_file_is_one_error_line(tmp_path, capsys):
    pytest.importorskip("zigzag")
    (tmp_path / "hw.yaml").write_text("name: x\nmemories: {}\n")  # no operational_array
    (tmp_path / "map.yaml").write_text("- name: default\n")
    t = tmp_path / "mine.yaml"
    t.write_text("name: mine\ndataflow: ws\nclock_mhz: 500\nidle_power_mw: 1\nzigzag_hardware: hw.yaml\n"
                 "zigzag_mapping: map.yaml\n")
    code, _, err = _run(capsys, ["costs", "build", "--models", "resnet18", "--types", t, "--out", tmp_path / "o.csv"])
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "operational_array" in lines[0] and "hw.yaml" in lines[0]
    (tmp_path / "hw.yaml").write_text("name: x\nmemories: {}\noperational_array: {sizes: [4]}\n")
    code, _, err = _run(capsys, ["costs", "build", "--models", "resnet18", "--types", t, "--out", tmp_path / "o.csv"])
    assert code == 2 and len(err.strip().splitlines()) == 1 and "rejected by zigzag-dse" in err
