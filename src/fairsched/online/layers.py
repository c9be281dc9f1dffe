"""Per-layer ONNX subgraphs built from the zoo's layer shapes (random weights, no download).

Each MAC layer of :mod:`fairsched.workload.zoo` becomes one tiny ONNX model with one input and one
output: a ``Conv`` (with ``group`` for depthwise/grouped convolutions), a ``Gemm`` (fully connected) or
a batched ``MatMul`` (``gemm`` kind, one GEMM per head). Pooling, activations and residual adds are folded
into their neighbours in the zoo, so consecutive layers do not chain shape by shape: every layer gets its
own input tensor of its own shape. The compute per layer (its MACs) is the real one of the scaled shape.

``scale`` shrinks the spatial output size (``OX``, ``OY``, and for ``gemm`` the sequence length ``M``)
by that factor, keeping channels and kernels, so that a demo runs in seconds on a laptop CPU; the input
size follows from the output size, kernel, stride and padding, so the convolution is consistent.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from fairsched.workload.zoo import LayerShape, get_model

OPSET = 17


def scaled(layer: LayerShape, scale: float) -> LayerShape:
    """``layer`` with its spatial output size (gemm: rows) divided by ``scale`` (at least 1)."""
    if scale == 1:
        return layer
    f = lambda v: max(1, math.ceil(v / scale))  # noqa: E731
    if layer.kind == "gemm":
        return replace(layer, OY=f(layer.OY))
    if layer.kind == "fc":
        return layer
    return replace(layer, OX=f(layer.OX), OY=f(layer.OY))


def input_shape(layer: LayerShape) -> tuple[int, ...]:
    """The input tensor's shape of :func:`layer_model` for ``layer``."""
    if layer.kind == "fc":
        return (layer.batch, layer.C)
    if layer.kind == "gemm":
        return (layer.groups, layer.OY, layer.C)
    ix = (layer.OX - 1) * layer.stride + layer.FX - 2 * layer.pad
    iy = (layer.OY - 1) * layer.stride + layer.FY - 2 * layer.pad
    return (layer.batch, layer.C * layer.groups, max(1, ix), max(1, iy))


def output_shape(layer: LayerShape) -> tuple[int, ...]:
    if layer.kind == "fc":
        return (layer.batch, layer.K)
    if layer.kind == "gemm":
        return (layer.groups, layer.OY, layer.K // layer.groups)
    return (layer.batch, layer.K, layer.OX, layer.OY)


def layer_model(layer: LayerShape, seed: int = 0) -> bytes:
    """A serialized ONNX model computing ``layer`` with random weights (float32)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(input_shape(layer)))
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, list(output_shape(layer)))
    if layer.kind == "fc":
        w = rng.standard_normal((layer.C, layer.K), dtype=np.float32) * 0.01
        b = np.zeros(layer.K, dtype=np.float32)
        inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")]
        node = helper.make_node("Gemm", ["x", "w", "b"], ["y"])
    elif layer.kind == "gemm":
        w = rng.standard_normal((layer.groups, layer.C, layer.K // layer.groups), dtype=np.float32) * 0.01
        inits = [numpy_helper.from_array(w, "w")]
        node = helper.make_node("MatMul", ["x", "w"], ["y"])
    else:
        w = rng.standard_normal((layer.K, layer.C, layer.FY, layer.FX), dtype=np.float32) * 0.01
        inits = [numpy_helper.from_array(w, "w")]
        p = layer.pad
        node = helper.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[layer.FY, layer.FX],
                                strides=[layer.stride, layer.stride], pads=[p, p, p, p], group=layer.groups)
    graph = helper.make_graph([node], layer.name.replace(".", "_"), [x], [y], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def model_layers(model: str, scale: float, max_layers: int | None = None) -> list[LayerShape]:
    """The scaled MAC layers of zoo model ``model`` (the first ``max_layers`` if given)."""
    layers = [scaled(l, scale) for l in get_model(model)]
    return layers[:max_layers] if max_layers else layers
