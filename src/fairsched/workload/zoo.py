"""Model zoo: the layer shapes of real DNNs, written out by hand (no torchvision, no downloads).

Every model is a list of :class:`LayerShape` in execution order. Only layers that do multiply-accumulates
are listed (convolutions, depthwise and grouped convolutions, fully connected layers and GEMMs); pooling,
activations, normalisation, residual additions and softmax are folded into their neighbours.

Conventions (one for all layer kinds):

* ``K`` output channels (total, over all groups), ``C`` input channels *per group*, ``groups`` groups,
  so a depthwise convolution has ``C = 1`` and ``groups = K``.
* ``OX``/``OY`` output width/height, ``FX``/``FY`` kernel width/height, ``stride``, ``pad``.
* ``kind == 'fc'``: a fully connected layer, ``OX = OY = 1``.
* ``kind == 'gemm'``: ``out[g, m, n] = sum_k a[g, m, k] * b[g, k, n]`` with ``M`` in ``OY`` (``OX = 1``),
  ``N`` in ``K``, the reduction ``k`` in ``C`` and ``g`` in ``groups`` (one GEMM per attention head).
* A transposed 2x2 stride-2 convolution (U-Net up-sampling) is written as the equivalent 1x1 convolution
  over the input pixels with ``4 * K_out`` outputs: same MACs, same operands.

``macs = batch * K * C * OX * OY * FX * FY`` (``K`` is the total over groups, ``C`` per group).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

from fairsched.errors import InputError

LayerKind = Literal["conv", "dwconv", "gconv", "fc", "gemm"]
LAYER_KINDS: tuple[str, ...] = ("conv", "dwconv", "gconv", "fc", "gemm")


@dataclass(frozen=True, slots=True)
class LayerShape:
    """One MAC layer. See the module docstring for the meaning of each dimension."""

    name: str
    kind: LayerKind
    K: int
    C: int
    OX: int = 1
    OY: int = 1
    FX: int = 1
    FY: int = 1
    stride: int = 1
    pad: int = 0
    groups: int = 1
    batch: int = 1

    def __post_init__(self) -> None:
        if self.kind not in LAYER_KINDS:
            raise ValueError(f"layer {self.name}: kind {self.kind!r} not in {LAYER_KINDS}")
        for f in ("K", "C", "OX", "OY", "FX", "FY", "stride", "groups", "batch"):
            if getattr(self, f) < 1:
                raise ValueError(f"layer {self.name}: {f} must be >= 1")
        if self.K % self.groups:
            raise ValueError(f"layer {self.name}: K={self.K} is not a multiple of groups={self.groups}")

    @property
    def K_per_group(self) -> int:
        return self.K // self.groups

    @property
    def IX(self) -> int:
        """Input width (without padding) implied by the output size, kernel, stride and padding."""
        return max(1, (self.OX - 1) * self.stride + self.FX - 2 * self.pad)

    @property
    def IY(self) -> int:
        return max(1, (self.OY - 1) * self.stride + self.FY - 2 * self.pad)

    @property
    def macs(self) -> int:
        return self.batch * self.K * self.C * self.OX * self.OY * self.FX * self.FY

    @property
    def weight_elems(self) -> int:
        return self.K * self.C * self.FX * self.FY

    @property
    def input_elems(self) -> int:
        return self.batch * self.C * self.groups * self.IX * self.IY

    @property
    def output_elems(self) -> int:
        return self.batch * self.K * self.OX * self.OY

    def shape_key(self) -> tuple:
        """Everything that determines the cost of the layer (not its name)."""
        return (self.kind, self.K, self.C, self.OX, self.OY, self.FX, self.FY, self.stride, self.pad,
                self.groups, self.batch)


class _Builder:
    """Tracks the feature-map size while a CNN is written down layer by layer (square maps)."""

    def __init__(self) -> None:
        self.layers: list[LayerShape] = []

    def conv(self, name: str, cin: int, cout: int, k: int, size_in: int, stride: int = 1,
             pad: int | None = None, groups: int = 1) -> int:
        """Add a k x k convolution on a size_in x size_in map; return the output size."""
        p = k // 2 if pad is None else pad
        out = (size_in + 2 * p - k) // stride + 1
        if groups == 1:
            kind = "conv"
        elif groups == cin == cout:
            kind = "dwconv"
        else:
            kind = "gconv"
        self.layers.append(LayerShape(name, kind, K=cout, C=cin // groups, OX=out, OY=out, FX=k, FY=k,
                                      stride=stride, pad=p, groups=groups))
        return out

    def fc(self, name: str, cin: int, cout: int) -> None:
        self.layers.append(LayerShape(name, "fc", K=cout, C=cin))

    def gemm(self, name: str, m: int, k: int, n: int, groups: int = 1) -> None:
        """out[g] (m x n) = a[g] (m x k) @ b[g] (k x n), for each of `groups` independent GEMMs."""
        self.layers.append(LayerShape(name, "gemm", K=n * groups, C=k, OY=m, groups=groups))


def _pool(size: int, k: int = 3, stride: int = 2, pad: int = 1, ceil: bool = False) -> int:
    num = size + 2 * pad - k
    return (-(-num // stride) if ceil else num // stride) + 1


# --------------------------------------------------------------------------------------------- ResNets
def _resnet(blocks: list[int], bottleneck: bool) -> list[LayerShape]:
    b = _Builder()
    s = b.conv("conv1", 3, 64, 7, 224, stride=2)  # 112
    s = _pool(s)  # 56
    cin = 64
    for stage, (n, planes) in enumerate(zip(blocks, (64, 128, 256, 512)), start=1):
        for i in range(n):
            stride = 2 if (stage > 1 and i == 0) else 1
            p = f"layer{stage}.{i}"
            cout = planes * 4 if bottleneck else planes
            if bottleneck:  # torchvision v1.5: the stride sits on the 3x3 conv
                b.conv(f"{p}.conv1", cin, planes, 1, s)
                s2 = b.conv(f"{p}.conv2", planes, planes, 3, s, stride=stride)
                b.conv(f"{p}.conv3", planes, cout, 1, s2)
            else:
                s2 = b.conv(f"{p}.conv1", cin, planes, 3, s, stride=stride)
                b.conv(f"{p}.conv2", planes, planes, 3, s2)
            if stride != 1 or cin != cout:
                b.conv(f"{p}.downsample", cin, cout, 1, s, stride=stride, pad=0)
            cin, s = cout, s2
    b.fc("fc", cin, 1000)
    return b.layers


def resnet50() -> list[LayerShape]:
    return _resnet([3, 4, 6, 3], bottleneck=True)


def resnet18() -> list[LayerShape]:
    return _resnet([2, 2, 2, 2], bottleneck=False)


# ---------------------------------------------------------------------------------------------- VGG-16
def vgg16() -> list[LayerShape]:
    b = _Builder()
    s, cin, i = 224, 3, 0
    for stage, (n, c) in enumerate([(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)], start=1):
        for j in range(n):
            s = b.conv(f"conv{stage}_{j + 1}", cin, c, 3, s)
            cin = c
            i += 1
        s //= 2
    b.fc("fc6", 512 * 7 * 7, 4096)
    b.fc("fc7", 4096, 4096)
    b.fc("fc8", 4096, 1000)
    return b.layers


# ----------------------------------------------------------------------------------------- MobileNetV2
def mobilenetv2() -> list[LayerShape]:
    b = _Builder()
    s = b.conv("features.0", 3, 32, 3, 224, stride=2)  # 112
    cin, idx = 32, 1
    for t, c, n, st in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                        (6, 160, 3, 2), (6, 320, 1, 1)]:
        for i in range(n):
            stride = st if i == 0 else 1
            hidden = cin * t
            p = f"features.{idx}"
            if t != 1:
                b.conv(f"{p}.expand", cin, hidden, 1, s)
            s = b.conv(f"{p}.dw", hidden, hidden, 3, s, stride=stride, groups=hidden)
            b.conv(f"{p}.project", hidden, c, 1, s)
            cin, idx = c, idx + 1
    b.conv(f"features.{idx}", cin, 1280, 1, s)
    b.fc("classifier", 1280, 1000)
    return b.layers


# --------------------------------------------------------------------------------------- EfficientNet-B0
def efficientnet_b0() -> list[LayerShape]:
    b = _Builder()
    s = b.conv("stem", 3, 32, 3, 224, stride=2)  # 112
    cin, idx = 32, 0
    for t, k, st, c, n in [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
                           (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]:
        for i in range(n):
            stride = st if i == 0 else 1
            hidden = cin * t
            p = f"blocks.{idx}"
            if t != 1:
                b.conv(f"{p}.expand", cin, hidden, 1, s)
            s = b.conv(f"{p}.dw", hidden, hidden, k, s, stride=stride, groups=hidden)
            squeeze = max(1, cin // 4)  # squeeze-and-excitation, ratio 0.25 of the block input
            b.fc(f"{p}.se_reduce", hidden, squeeze)
            b.fc(f"{p}.se_expand", squeeze, hidden)
            b.conv(f"{p}.project", hidden, c, 1, s)
            cin, idx = c, idx + 1
    b.conv("head", cin, 1280, 1, s)
    b.fc("classifier", 1280, 1000)
    return b.layers


# ------------------------------------------------------------------------------------------ GoogLeNet
def googlenet() -> list[LayerShape]:
    """GoogLeNet (Inception v1) as in Szegedy et al. 2015, Table 1 (5x5 branches, not torchvision's 3x3)."""
    b = _Builder()
    s = b.conv("conv1", 3, 64, 7, 224, stride=2)  # 112
    s = _pool(s, pad=0, ceil=True)  # 56
    b.conv("conv2", 64, 64, 1, s)
    s = b.conv("conv3", 64, 192, 3, s)
    s = _pool(s, pad=0, ceil=True)  # 28
    cin = 192
    cfg = {
        "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
        "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64),
        "4c": (128, 128, 256, 24, 64, 64), "4d": (112, 144, 288, 32, 64, 64),
        "4e": (256, 160, 320, 32, 128, 128),
        "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128),
    }
    for name, (c1, c3r, c3, c5r, c5, pp) in cfg.items():
        if name in ("4a", "5a"):
            s = _pool(s, pad=0, ceil=True)  # 14, 7
        p = f"inception{name}"
        b.conv(f"{p}.branch1", cin, c1, 1, s)
        b.conv(f"{p}.branch2.reduce", cin, c3r, 1, s)
        b.conv(f"{p}.branch2.conv", c3r, c3, 3, s)
        b.conv(f"{p}.branch3.reduce", cin, c5r, 1, s)
        b.conv(f"{p}.branch3.conv", c5r, c5, 5, s)
        b.conv(f"{p}.branch4.proj", cin, pp, 1, s)
        cin = c1 + c3 + c5 + pp
    b.fc("fc", cin, 1000)
    return b.layers


# ---------------------------------------------------------------------------------------- SqueezeNet
def squeezenet() -> list[LayerShape]:
    """SqueezeNet 1.1 (the torchvision/reference 'squeezenet1_1' layout, 0.35 GMACs)."""
    b = _Builder()
    s = b.conv("conv1", 3, 64, 3, 224, stride=2, pad=0)  # 111
    s = _pool(s, pad=0, ceil=True)  # 55
    cin = 64
    fires = [(16, 64), (16, 64), None, (32, 128), (32, 128), None, (48, 192), (48, 192), (64, 256), (64, 256)]
    i = 2
    for f in fires:
        if f is None:
            s = _pool(s, pad=0, ceil=True)
            continue
        sq, e = f
        p = f"fire{i}"
        b.conv(f"{p}.squeeze", cin, sq, 1, s)
        b.conv(f"{p}.expand1x1", sq, e, 1, s)
        b.conv(f"{p}.expand3x3", sq, e, 3, s)
        cin, i = 2 * e, i + 1
    b.conv("classifier", cin, 1000, 1, s)
    return b.layers


# -------------------------------------------------------------------------------------------- U-Net
def unet(size: int = 256, base: int = 32, in_ch: int = 3, classes: int = 2) -> list[LayerShape]:
    """U-Net (Ronneberger et al. 2015) with 'same' padding, 4 down/up levels, ``base`` channels at the top."""
    b = _Builder()
    s, cin, skips = size, in_ch, []
    for lvl in range(4):
        c = base << lvl
        b.conv(f"down{lvl}.conv1", cin, c, 3, s)
        b.conv(f"down{lvl}.conv2", c, c, 3, s)
        skips.append((c, s))
        cin, s = c, s // 2
    c = base << 4
    b.conv("bottleneck.conv1", cin, c, 3, s)
    b.conv("bottleneck.conv2", c, c, 3, s)
    cin = c
    for lvl in reversed(range(4)):
        c, s_skip = skips[lvl]
        # 2x2 stride-2 transposed conv, written as a 1x1 conv with 4*c outputs over the s x s input
        b.layers.append(LayerShape(f"up{lvl}.upconv", "conv", K=4 * c, C=cin, OX=s, OY=s))
        s = s_skip
        b.conv(f"up{lvl}.conv1", 2 * c, c, 3, s)
        b.conv(f"up{lvl}.conv2", c, c, 3, s)
        cin = c
    b.conv("head", cin, classes, 1, s)
    return b.layers


# ------------------------------------------------------------------------------------------- AlexNet
def alexnet(batch: int = 1) -> list[LayerShape]:
    """AlexNet as in Krizhevsky et al. 2012 (and as run on Eyeriss, Chen et al. JSSC 2017): 227x227x3 input,
    CONV2/4/5 split into 2 groups (the original two-GPU layout). 666 M MACs in the 5 CONV layers, 58.6 M in
    the 3 FC layers (724 M in all), the counts Eyeriss and Sze et al. (Proc. IEEE 2017) publish."""
    b = _Builder()
    s = b.conv("conv1", 3, 96, 11, 227, stride=4, pad=0)  # 55
    s = _pool(s, pad=0)  # 27
    s = b.conv("conv2", 96, 256, 5, s, pad=2, groups=2)  # 27
    s = _pool(s, pad=0)  # 13
    s = b.conv("conv3", 256, 384, 3, s)
    s = b.conv("conv4", 384, 384, 3, s, groups=2)
    s = b.conv("conv5", 384, 256, 3, s, groups=2)
    s = _pool(s, pad=0)  # 6
    b.fc("fc6", 256 * s * s, 4096)
    b.fc("fc7", 4096, 4096)
    b.fc("fc8", 4096, 1000)
    return with_batch(b.layers, batch)


def with_batch(layers: list[LayerShape], batch: int) -> list[LayerShape]:
    """The same layers run on ``batch`` inputs at once (``batch`` multiplies the MACs and the activations)."""
    from dataclasses import replace

    if batch < 1:
        raise InputError(f"batch: must be >= 1, got {batch}")
    return layers if batch == 1 else [replace(x, batch=batch) for x in layers]


def conv_layers(layers: list[LayerShape]) -> list[LayerShape]:
    """Only the convolution layers (conv, dwconv, gconv): what Eyeriss's published figures cover."""
    return [x for x in layers if x.kind in ("conv", "dwconv", "gconv")]


# ------------------------------------------------------------------------------------------ BERT-base
def bert_base(seq: int = 128, layers: int = 12, hidden: int = 768, heads: int = 12, ffn: int = 3072) -> list[LayerShape]:
    """BERT-base encoder as GEMMs (batch 1). Embedding look-ups, layer norms and softmax are folded."""
    b = _Builder()
    dh = hidden // heads
    for i in range(layers):
        p = f"encoder.{i}"
        b.gemm(f"{p}.qkv", seq, hidden, 3 * hidden)
        b.gemm(f"{p}.attn_scores", seq, dh, seq, groups=heads)  # Q K^T per head
        b.gemm(f"{p}.attn_context", seq, seq, dh, groups=heads)  # softmax(.) V per head
        b.gemm(f"{p}.attn_out", seq, hidden, hidden)
        b.gemm(f"{p}.ffn1", seq, hidden, ffn)
        b.gemm(f"{p}.ffn2", seq, ffn, hidden)
    return b.layers


_MODELS: dict[str, Callable[[], list[LayerShape]]] = {
    "resnet50": resnet50,
    "resnet18": resnet18,
    "mobilenetv2": mobilenetv2,
    "vgg16": vgg16,
    "googlenet": googlenet,
    "squeezenet": squeezenet,
    "unet": unet,
    "bert_base": bert_base,
    "efficientnet_b0": efficientnet_b0,
}
MODEL_NAMES: tuple[str, ...] = tuple(_MODELS)
# Models kept for validating the cost model against silicon (`fairsched costs validate`), not part of the
# scheduling zoo: workloads, the shipped cost table and the experiments use MODEL_NAMES only.
VALIDATION_MODELS: dict[str, Callable[[], list[LayerShape]]] = {"alexnet": alexnet}
ALL_MODEL_NAMES: tuple[str, ...] = MODEL_NAMES + tuple(VALIDATION_MODELS)


def get_model(name: str) -> list[LayerShape]:
    """The MAC layers of model ``name`` in execution order (the zoo or a validation model such as alexnet)."""
    fn = _MODELS.get(name) or VALIDATION_MODELS.get(name)
    if fn is None:
        raise InputError(f"model: unknown model '{name}'; use one of {list(ALL_MODEL_NAMES)}")
    return fn()


def model_macs(name: str) -> int:
    return sum(layer.macs for layer in get_model(name))
