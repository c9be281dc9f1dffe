"""The model zoo: layer shapes written by hand, checked against published MAC counts.

Published figures (multiply-accumulates per 224x224 image, batch 1):
* torchvision's model documentation ("GFLOPS" column, which counts MACs; pytorch.org/vision/stable/models):
  ResNet-50 4.09 G, ResNet-18 1.81 G, MobileNetV2 0.30 G, VGG-16 15.47 G, SqueezeNet 1.1 0.35 G,
  EfficientNet-B0 0.39 G.
* MobileNetV2 paper (Sandler et al., CVPR 2018, Table 4): 300 M multiply-adds.
* GoogLeNet paper (Szegedy et al., CVPR 2015, section 5): "1.5 billion multiply-adds"; our layout keeps the
  paper's 5x5 branches (1.58 G), torchvision's uses 3x3 (1.50 G), so it is checked within 6%.
* BERT-base (Devlin et al., NAACL 2019: 12 layers, hidden 768, 12 heads, FFN 3072) at sequence 128:
  per layer 4*s*h^2 (Q, K, V, output projections) + 2*s^2*h (scores, context) + 2*s*h*f (FFN)
  = 931.1 M, x 12 = 11.17 G MACs, the commonly quoted ~11.2 GMACs (~22.4 GFLOPs).
"""

from __future__ import annotations

import pytest

from fairsched.errors import InputError
from fairsched.workload.zoo import LAYER_KINDS, MODEL_NAMES, LayerShape, get_model, model_macs

PUBLISHED_GMACS = {
    "resnet50": 4.09,
    "resnet18": 1.81,
    "mobilenetv2": 0.30,
    "vgg16": 15.47,
    "squeezenet": 0.35,
    "efficientnet_b0": 0.39,
    "bert_base": 4 * 128 * 768**2 * 12 / 1e9 + 2 * 128**2 * 768 * 12 / 1e9 + 2 * 128 * 768 * 3072 * 12 / 1e9,
}


@pytest.mark.parametrize("model, gmacs", sorted(PUBLISHED_GMACS.items()))
def test_macs_match_published_figures(model, gmacs):
    assert model_macs(model) / 1e9 == pytest.approx(gmacs, rel=0.02)


def test_bert_base_is_about_11_gmacs():
    assert model_macs("bert_base") / 1e9 == pytest.approx(11.2, rel=0.02)


def test_googlenet_is_about_1_5_gmacs():
    assert model_macs("googlenet") / 1e9 == pytest.approx(1.5, rel=0.06)


def test_unet_is_a_heavy_segmentation_net():
    layers = get_model("unet")
    assert 5e9 < model_macs("unet") < 20e9
    assert layers[0].OX == 256 and layers[-1].K == 2  # full-resolution in, per-pixel classes out


def test_zoo_has_the_agreed_models():
    for m in ("resnet50", "resnet18", "mobilenetv2", "vgg16", "googlenet", "squeezenet", "unet", "bert_base"):
        assert m in MODEL_NAMES


@pytest.mark.parametrize("model", MODEL_NAMES)
def test_layers_are_well_formed(model):
    layers = get_model(model)
    assert len(layers) >= 10
    assert len({x.name for x in layers}) == len(layers), "layer names are unique within a model"
    for x in layers:
        assert isinstance(x, LayerShape) and x.kind in LAYER_KINDS and x.macs > 0
        assert x.macs == x.batch * x.K * x.C * x.OX * x.OY * x.FX * x.FY
        if x.kind == "dwconv":
            assert x.C == 1 and x.groups == x.K
        if x.kind == "fc":
            assert x.OX == x.OY == 1 and x.groups == 1
        if x.kind == "conv":
            assert x.groups == 1


def test_kinds_cover_convs_depthwise_fc_and_gemm():
    kinds = {x.kind for m in MODEL_NAMES for x in get_model(m)}
    assert {"conv", "dwconv", "fc", "gemm"} <= kinds


def test_bert_attention_is_per_head_gemms():
    layers = {x.name: x for x in get_model("bert_base")}
    scores = layers["encoder.0.attn_scores"]
    assert (scores.kind, scores.groups, scores.OY, scores.C, scores.K) == ("gemm", 12, 128, 64, 12 * 128)
    assert layers["encoder.11.ffn1"].macs == 128 * 768 * 3072


def test_layer_shape_is_frozen_and_validated():
    x = get_model("resnet18")[0]
    with pytest.raises(AttributeError):
        x.K = 3  # type: ignore[misc]
    with pytest.raises(ValueError):
        LayerShape("bad", "conv", K=0, C=3)
    with pytest.raises(ValueError):
        LayerShape("bad", "pool", K=1, C=1)  # type: ignore[arg-type]


def test_unknown_model_is_an_input_error():
    with pytest.raises(InputError, match="unknown model 'lenet'"):
        get_model("lenet")


def test_alexnet_matches_the_published_counts():
    """AlexNet as run on Eyeriss: 666 M MACs in the CONV layers per 227x227 image (Chen et al., ISSCC 2016 /
    JSSC 2017), 58.6 M in the FC layers, 724 M in all (Sze et al., Proc. IEEE 2017, Table 3)."""
    from fairsched.workload.zoo import VALIDATION_MODELS, conv_layers, with_batch

    layers = get_model("alexnet")
    conv = conv_layers(layers)
    assert [x.name for x in conv] == ["conv1", "conv2", "conv3", "conv4", "conv5"]
    assert sum(x.macs for x in conv) / 1e6 == pytest.approx(666, rel=0.002)
    assert sum(x.macs for x in layers if x.kind == "fc") / 1e6 == pytest.approx(58.6, rel=0.002)
    assert sum(x.macs for x in layers) / 1e6 == pytest.approx(724, rel=0.002)
    assert (conv[0].OX, conv[0].IX, conv[0].stride) == (55, 227, 4)
    assert [x.groups for x in conv] == [1, 2, 1, 2, 2]
    b4 = with_batch(conv, 4)
    assert [x.macs for x in b4] == [4 * x.macs for x in conv]
    # a validation model, not part of the scheduling zoo (workloads and the shipped table are unchanged)
    assert "alexnet" in VALIDATION_MODELS and "alexnet" not in MODEL_NAMES


def test_vgg16_conv_layers_are_15_3_gmacs():
    """VGG-16: 15.3 G MACs per 224x224 image in its CONV layers (Chen et al., ISSCC 2016)."""
    from fairsched.workload.zoo import conv_layers

    conv = conv_layers(get_model("vgg16"))
    assert len(conv) == 13 and sum(x.macs for x in conv) / 1e9 == pytest.approx(15.3, rel=0.005)
