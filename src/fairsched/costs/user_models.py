"""Users' own models for `fairsched costs build`: an ONNX file or a small layer list (YAML or CSV).

ONNX: shapes come from ``onnx.shape_inference`` (no weights needed: a shape-only export will do). The MAC
layers become :class:`~fairsched.workload.zoo.LayerShape` rows: ``Conv`` (plain, depthwise, grouped),
``Gemm`` and ``MatMul`` (a weight operand gives an ``fc`` layer, two activations a ``gemm`` with the
leading dimensions as groups, e.g. attention heads). Operators without MACs (activations, pooling,
normalisation, reshapes, additions) are folded into their neighbours, as in the zoo; MAC operators this
reader does not cost (``ConvTranspose``, recurrent layers, ``Einsum``...) are reported, never silently
dropped. A file that cannot be read, or has no MAC layer, is one :class:`InputError`.

Layer list: YAML ``{name: mymodel, layers: [{name, kind, K, C, OX, OY, FX, FY, stride, pad, groups,
batch}, ...]}`` (or just the list), or a CSV with those columns, with the zoo's conventions (``K`` total
output channels, ``C`` input channels per group; omitted fields default to 1, ``pad`` to 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from fairsched.errors import InputError
from fairsched.workload.zoo import LAYER_KINDS, LayerShape

MODEL_SUFFIXES = (".onnx", ".yaml", ".yml", ".csv")
_FOLDED = {"Relu", "LeakyRelu", "Clip", "Sigmoid", "Tanh", "HardSwish", "HardSigmoid", "Gelu", "Erf", "Softmax",
           "BatchNormalization", "LayerNormalization", "InstanceNormalization", "MaxPool", "AveragePool",
           "GlobalAveragePool", "GlobalMaxPool", "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Reshape", "Flatten",
           "Transpose", "Concat", "Split", "Slice", "Squeeze", "Unsqueeze", "Gather", "Shape", "Constant",
           "Identity", "Dropout", "Pad", "Cast", "ReduceMean", "Resize", "Upsample", "Expand", "Where", "Equal"}
_UNCOSTED = {"ConvTranspose", "ConvInteger", "QLinearConv", "QLinearMatMul", "MatMulInteger", "Einsum", "LSTM",
             "GRU", "RNN", "Attention"}


@dataclass
class ImportedModel:
    name: str
    layers: list[LayerShape]
    folded: dict[str, int] = field(default_factory=dict)  # op type -> count, folded into neighbours
    not_costed: list[str] = field(default_factory=list)  # MAC nodes this reader does not cost

    def report(self) -> list[str]:
        out = []
        if self.folded:
            ops = ", ".join(f"{k} x{v}" for k, v in sorted(self.folded.items()))
            out.append(f"model '{self.name}': folded (no MACs costed): {ops}")
        if self.not_costed:
            out.append(f"model '{self.name}': NOT costed (MAC operators this reader does not support): "
                       + ", ".join(self.not_costed[:10]) + (" ..." if len(self.not_costed) > 10 else ""))
        return out


def is_model_file(spec: str) -> bool:
    return Path(spec).suffix.lower() in MODEL_SUFFIXES


def load_model_file(path: str | Path) -> ImportedModel:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"--models: model file '{p}' does not exist; give the path of an .onnx, .yaml or .csv file")
    suffix = p.suffix.lower()
    if suffix == ".onnx":
        return load_onnx(p)
    if suffix in (".yaml", ".yml"):
        return _load_layer_yaml(p)
    if suffix == ".csv":
        return _load_layer_csv(p)
    raise InputError(f"--models: '{p}' has suffix '{p.suffix}'; use .onnx, .yaml or .csv")


# --------------------------------------------------------------------------------------- layer lists
_FIELDS = ("name", "kind", "K", "C", "OX", "OY", "FX", "FY", "stride", "pad", "groups", "batch")
_INT_FIELDS = _FIELDS[2:]


def _layer_from_record(rec: dict, where: str) -> LayerShape:
    if not isinstance(rec, dict):
        raise InputError(f"{where}: must be a mapping with fields {list(_FIELDS)}")
    unknown = sorted(set(rec) - set(_FIELDS))
    if unknown:
        raise InputError(f"{where}: unknown field(s) {unknown}; use {list(_FIELDS)}")
    for f in ("name", "kind", "K", "C"):
        if rec.get(f) in (None, ""):
            raise InputError(f"{where}: field '{f}' is missing; every layer needs name, kind, K and C")
    kind = str(rec["kind"])
    if kind not in LAYER_KINDS:
        raise InputError(f"{where}: kind '{kind}' is not one of {list(LAYER_KINDS)}")
    vals = {}
    for f in _INT_FIELDS:
        v = rec.get(f)
        if v is None or (isinstance(v, float) and math.isnan(v)) or v == "":
            continue
        try:
            fv = float(v)
        except (TypeError, ValueError):
            raise InputError(f"{where}: field '{f}' = {v!r} is not a number; use a whole number") from None
        if fv != int(fv):
            raise InputError(f"{where}: field '{f}' = {v!r} must be a whole number")
        vals[f] = int(fv)
    try:
        return LayerShape(str(rec["name"]), kind, **vals)  # type: ignore[arg-type]
    except ValueError as e:
        raise InputError(f"{where}: {e}") from None


def _checked(name: str, layers: list[LayerShape], where: str) -> ImportedModel:
    if not layers:
        raise InputError(f"{where}: no layers; list at least one MAC layer")
    return ImportedModel(name, layers)


def _load_layer_yaml(p: Path) -> ImportedModel:
    import yaml

    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError:
        raise InputError(f"model file '{p}' is not valid YAML; fix the syntax") from None
    name = p.stem
    if isinstance(data, dict):
        name = str(data.get("name") or name)
        extra = sorted(set(data) - {"name", "layers"})
        if extra:
            raise InputError(f"model file '{p}': unknown key(s) {extra}; use name and layers")
        data = data.get("layers")
    if not isinstance(data, list):
        raise InputError(f"model file '{p}': give a list of layers (or a mapping with `layers:`)")
    layers = [_layer_from_record(r, f"model file '{p}', layers[{i}]") for i, r in enumerate(data)]
    return _checked(name, layers, f"model file '{p}'")


def _load_layer_csv(p: Path) -> ImportedModel:
    import pandas as pd

    try:
        df = pd.read_csv(p)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
        raise InputError(f"model file '{p}' is not a readable CSV; give columns {list(_FIELDS)}") from None
    recs = [{k: v for k, v in r.items() if not (isinstance(v, float) and math.isnan(v))}
            for r in df.to_dict("records")]
    layers = [_layer_from_record(r, f"model file '{p}', data row {i + 1}") for i, r in enumerate(recs)]
    return _checked(p.stem, layers, f"model file '{p}'")


# ---------------------------------------------------------------------------------------------- ONNX
def _dims(vi) -> list[int] | None:
    t = vi.type.tensor_type
    if not t.HasField("shape"):
        return None
    out = []
    for d in t.shape.dim:
        out.append(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else -1)
    return out


def _attr(node, name: str, default):
    from onnx import helper

    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def load_onnx(p: Path) -> ImportedModel:
    try:
        import onnx
        from onnx import shape_inference
    except ImportError:
        raise InputError("ONNX models need the onnx package: pip install 'fairsched[onnx]'") from None
    try:
        model = onnx.load(str(p), load_external_data=False)
        model = shape_inference.infer_shapes(model)
    except Exception as e:  # protobuf DecodeError, shape inference errors: one clear line
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InputError(f"model file '{p}' is not a readable ONNX model ({msg}); export it again") from None
    g = model.graph
    shapes: dict[str, list[int] | None] = {}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        shapes[vi.name] = _dims(vi)
    inits = {t.name: list(t.dims) for t in g.initializer}
    shapes.update({k: v for k, v in inits.items()})
    res = ImportedModel(p.stem, [])
    for i, node in enumerate(g.node):
        name = node.name or f"{node.op_type}_{i}"
        try:
            layer = _node_layer(node, name, shapes, inits)
        except _Skip as e:
            res.not_costed.append(f"{name} ({node.op_type}: {e})")
            continue
        if layer is not None:
            res.layers.append(layer)
        elif node.op_type in _UNCOSTED:
            res.not_costed.append(f"{name} ({node.op_type})")
        else:
            res.folded[node.op_type] = res.folded.get(node.op_type, 0) + 1
    if not res.layers:
        raise InputError(f"model file '{p}': no Conv, Gemm or MatMul layer found; nothing to cost")
    return res


class _Skip(Exception):
    pass


def _need(shapes, name: str, what: str) -> list[int]:
    s = shapes.get(name)
    if not s or any(d < 0 for d in s):
        raise _Skip(f"the shape of {what} '{name}' is unknown after shape inference")
    return s


def _node_layer(node, name: str, shapes, inits) -> LayerShape | None:
    op = node.op_type
    if op == "Conv":
        x = _need(shapes, node.input[0], "input")
        w = _need(shapes, node.input[1], "weight")
        y = _need(shapes, node.output[0], "output")
        if len(x) != 4:
            raise _Skip(f"only 2-D convolutions are costed (input has rank {len(x)})")
        groups = int(_attr(node, "group", 1))
        strides = list(_attr(node, "strides", [1, 1]))
        dil = list(_attr(node, "dilations", [1, 1]))
        pads = list(_attr(node, "pads", [0, 0, 0, 0]))
        if any(d != 1 for d in dil):
            raise _Skip(f"dilation {dil} is not supported")
        if strides[0] != strides[1]:
            raise _Skip(f"unequal strides {strides} are not supported")
        n, cin, _, _ = x
        k, cpg, fy, fx = w
        if _attr(node, "auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            pad = max(0, ((y[2] - 1) * strides[0] + fy - x[2]) // 2)
        else:
            pad = int(pads[0]) if pads else 0
        kind = "dwconv" if groups > 1 and groups == cin == k and cpg == 1 else ("gconv" if groups > 1 else "conv")
        return LayerShape(name, kind, K=k, C=cpg, OX=y[3], OY=y[2], FX=fx, FY=fy, stride=int(strides[0]),
                          pad=pad, groups=groups, batch=max(1, n))
    if op == "Gemm":
        a = _need(shapes, node.input[0], "input A")
        b = _need(shapes, node.input[1], "input B")
        ta, tb = int(_attr(node, "transA", 0)), int(_attr(node, "transB", 0))
        m, kd = (a[1], a[0]) if ta else (a[0], a[1])
        n = b[0] if tb else b[1]
        if node.input[1] in inits:
            return LayerShape(name, "fc", K=n, C=kd, batch=max(1, m))
        return LayerShape(name, "gemm", K=n, C=kd, OY=m)
    if op == "MatMul":
        a = _need(shapes, node.input[0], "input A")
        b = _need(shapes, node.input[1], "input B")
        if len(a) < 2 or len(b) < 2:
            raise _Skip("matrix-vector products are not supported")
        m, kd, n = a[-2], a[-1], b[-1]
        lead_a, lead_b = a[:-2], b[:-2]
        if node.input[1] in inits or not lead_b or all(d == 1 for d in lead_b):
            # weights shared by every row: one GEMM with all leading dimensions folded into M
            rows = m * math.prod(lead_a) if lead_a else m
            if node.input[1] in inits and rows == 1:
                return LayerShape(name, "fc", K=n, C=kd)
            return LayerShape(name, "gemm", K=n, C=kd, OY=rows)
        if len(lead_a) != len(lead_b) or any(x != y for x, y in zip(lead_a, lead_b)):
            raise _Skip(f"broadcast leading dimensions {lead_a} vs {lead_b} are not supported")
        groups = math.prod(lead_a)  # e.g. batch x heads independent products
        return LayerShape(name, "gemm", K=n * groups, C=kd, OY=m, groups=groups)
    return None
