"""Per-channel input normalisation folded into the first convolution(s)
(maixnn.fold): the folded model, fed the NPU's single-mean/norm input
f = (u8 - m) * n, must equal the original float model fed the per-channel
normalised input x_c = (u8/255 - mean_c)/std_c - borders included - on both
maixnn's engine and the official ncnn wheel."""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from helpers import export_and_convert, run_ncnn
from nets import SMALL_NETS

from maixnn.errors import OptionError, UnsupportedOperatorError
from maixnn.fold import fold_input_normalization, normalize_per_channel, normalize_single
from maixnn.ncnn_model import Layer, NcnnModel, Weight
from maixnn.runtime import Net

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
REL_TOL = 1e-4


def _images(c, h, w):
    """A random image and one with strong borders (saturated edges, where a
    wrong pad value shows most)."""
    rng = np.random.default_rng(7)
    random = rng.integers(0, 256, (c, h, w)).astype(np.uint8)
    border = np.full((c, h, w), 128, np.uint8)
    border[:, :2, :] = 255
    border[:, -2:, :] = 0
    border[0, :, :2] = 0
    border[1, :, :2] = 255
    border[2, :, -2:] = 255
    return {"random": random, "border": border}


def _awnn(mean, std):
    return np.asarray(mean) * 255.0, 1.0 / (np.asarray(std) * 255.0)


def _max_rel(got, ref):
    ref = np.asarray(ref, np.float64)
    return float(np.max(np.abs(np.asarray(got, np.float64) - ref)) / np.max(np.abs(ref)))


def _hand_model(rng):
    """Input -> Split -> {Convolution with SAME_UPPER stride 2, ConvolutionDepthWise
    with pad_value 0.5 and asymmetric pads}: the padding variants a converter
    does not produce from the test nets."""
    C, H, W = 3, 17, 19
    layers = [Layer("Input", "in", [], ["data"], {0: W, 1: H, 2: C}),
              Layer("Split", "sp", ["data"], ["d1", "d2"]),
              Layer("Convolution", "conv_same", ["d1"], ["c1"],
                    {0: 8, 1: 3, 11: 3, 3: 2, 4: -233, 5: 1, 6: 8 * 3 * 9, 9: 1},
                    [Weight("weight", rng.standard_normal(8 * 3 * 9), "tagged"),
                     Weight("bias", rng.standard_normal(8), "raw")]),
              Layer("ConvolutionDepthWise", "dw_asym", ["d2"], ["c2"],
                    {0: 3, 1: 3, 11: 3, 4: 1, 15: 2, 14: 2, 16: 0, 5: 0, 6: 27, 7: 3, 18: 0.5},
                    [Weight("weight", rng.standard_normal(27), "tagged")])]
    return NcnnModel(layers), (C, H, W)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    out = {}
    for name in ("resnet18", "mobilenetv2"):
        d = tmp_path_factory.mktemp("fold_" + name)
        model = SMALL_NETS[name]()
        paths = export_and_convert(model, d)
        out[name] = (paths, tuple(model.input_shape), d)
    return out


def _check_equal(original: NcnnModel, folded: NcnnModel, info, shape, tmp_path, outputs=None):
    orig_param, orig_bin = str(tmp_path / "orig.param"), str(tmp_path / "orig.bin")
    fold_param, fold_bin = str(tmp_path / "fold.param"), str(tmp_path / "fold.bin")
    original.save(orig_param, orig_bin)
    folded.save(fold_param, fold_bin)
    M, N = np.asarray(info.per_channel_mean), np.asarray(info.per_channel_norm)
    input_name = original.input_names()[0]
    outputs = outputs or original.output_names()
    net_orig, net_fold = Net(orig_param, orig_bin), Net(fold_param, fold_bin)
    worst = {}
    for label, u8 in _images(*shape).items():
        x = normalize_per_channel(u8, M, N)
        f = normalize_single(u8, info.single_mean, info.single_norm)
        ref = run_ncnn(orig_param, orig_bin, x, input_name=input_name, output_names=outputs)
        wheel = run_ncnn(fold_param, fold_bin, f, input_name=input_name, output_names=outputs)
        ours = net_fold.forward(f, outputs=outputs)
        ours_orig = net_orig.forward(x, outputs=outputs)
        for name in outputs:
            for engine, got in (("ncnn wheel", wheel[name]), ("maixnn", ours[name])):
                err = _max_rel(got, ref[name])
                worst[(label, name, engine)] = err
                assert err <= REL_TOL, "%s image, blob %s, %s: folded vs original max rel err %.3g" % (
                    label, name, engine, err)
            err = _max_rel(ours[name], ours_orig[name])
            assert err <= REL_TOL, "%s image, blob %s: maixnn folded vs maixnn original %.3g" % (label, name, err)
    return worst


@pytest.mark.parametrize("name", ["resnet18", "mobilenetv2"])
def test_folded_converted_net_equals_original(converted, name, tmp_path):
    paths, shape, _ = converted[name]
    original = NcnnModel.load(paths.param, paths.bin)
    folded, info = fold_input_normalization(original, IMAGENET_MEAN, IMAGENET_STD)
    assert info.folded and len(info.layers) == 1
    entry = info.layers[0]
    assert entry["padding"] is not None, "the stem convolution pads: its padding must move into a Padding layer"
    pad = folded.layer(entry["padding_layer"])
    assert pad.type == "Padding" and pad.params[6] == 3
    conv = folded.layer(entry["layer"])
    assert conv.bottoms == pad.tops and all(pid not in conv.params for pid in (4, 14, 15, 16))
    # the awnn values the NPU gets: mean of the means, norm from the mean std
    M, N = _awnn(IMAGENET_MEAN, IMAGENET_STD)
    assert info.single_mean == pytest.approx(np.mean(M))
    assert info.single_norm == pytest.approx(1.0 / (255.0 * np.mean(IMAGENET_STD)))
    _check_equal(original, folded, info, shape, tmp_path)


def test_folded_same_asymmetric_padvalue_split(tmp_path):
    original, shape = _hand_model(np.random.default_rng(3))
    folded, info = fold_input_normalization(original, IMAGENET_MEAN, IMAGENET_STD)
    assert sorted(l["layer"] for l in info.layers) == ["conv_same", "dw_asym"]
    pads = {l["layer"]: l["padding"] for l in info.layers}
    # SAME_UPPER on 19x17 with stride 2, kernel 3: one pixel on each side
    assert (pads["conv_same"]["top"], pads["conv_same"]["bottom"],
            pads["conv_same"]["left"], pads["conv_same"]["right"]) == (1, 1, 1, 1)
    assert (pads["dw_asym"]["top"], pads["dw_asym"]["bottom"],
            pads["dw_asym"]["left"], pads["dw_asym"]["right"]) == (2, 0, 1, 2)
    assert pads["dw_asym"]["original_pad_value"] == 0.5
    _check_equal(original, folded, info, shape, tmp_path, outputs=["c1", "c2"])


def test_without_the_padding_layer_borders_are_wrong(converted, tmp_path):
    """The control that shows the border check bites: the same weight folding
    but the convolution keeps its zero padding - wrong at the borders."""
    paths, shape, _ = converted["resnet18"]
    original = NcnnModel.load(paths.param, paths.bin)
    folded, info = fold_input_normalization(original, IMAGENET_MEAN, IMAGENET_STD)
    naive = copy.deepcopy(folded)
    entry = info.layers[0]
    pad = naive.layer(entry["padding_layer"])
    conv = naive.layer(entry["layer"])
    conv.bottoms = list(pad.bottoms)
    conv.params[4], conv.params[14] = entry["padding"]["left"], entry["padding"]["top"]
    conv.params[15], conv.params[16] = entry["padding"]["right"], entry["padding"]["bottom"]
    naive.layers.remove(pad)
    naive.save(str(tmp_path / "n.param"), str(tmp_path / "n.bin"))
    original.save(str(tmp_path / "o.param"), str(tmp_path / "o.bin"))
    u8 = _images(*shape)["border"]
    M, N = _awnn(IMAGENET_MEAN, IMAGENET_STD)
    first_top = conv.tops[0]
    ref = Net(str(tmp_path / "o.param"), str(tmp_path / "o.bin")).forward(
        normalize_per_channel(u8, M, N), outputs=[first_top])[first_top]
    got = Net(str(tmp_path / "n.param"), str(tmp_path / "n.bin")).forward(
        normalize_single(u8, info.single_mean, info.single_norm), outputs=[first_top])[first_top]
    assert _max_rel(got, ref) > 100 * REL_TOL
    # and it is the border that is wrong: the interior matches
    assert _max_rel(got[:, 2:-2, 2:-2], ref[:, 2:-2, 2:-2]) <= REL_TOL


def test_fold_info_is_reported_and_serialisable():
    original, _ = _hand_model(np.random.default_rng(0))
    _, info = fold_input_normalization(original, IMAGENET_MEAN, IMAGENET_STD)
    d = json.loads(json.dumps(info.to_dict()))
    assert d["folded"] and d["per_channel_mean"] == pytest.approx([123.675, 116.28, 103.53])
    text = info.describe()
    assert "conv_same" in text and "dw_asym" in text and "%.6g" % info.single_mean in text


def test_custom_single_mean_norm_and_awnn_terms(tmp_path):
    original, shape = _hand_model(np.random.default_rng(5))
    mean_awnn, norm_awnn = [120.0, 110.0, 100.0], [0.02, 0.018, 0.016]
    folded, info = fold_input_normalization(original, mean_awnn, norm=norm_awnn,
                                            single_mean=127.5, single_norm=1 / 128.0)
    assert info.single_mean == 127.5 and info.single_norm == 1 / 128.0
    assert info.per_channel_mean == mean_awnn
    _check_equal(original, folded, info, shape, tmp_path, outputs=["c1", "c2"])


def test_same_normalisation_on_every_channel_is_left_alone():
    original, _ = _hand_model(np.random.default_rng(0))
    folded, info = fold_input_normalization(original, 0.5, 0.25)
    assert not info.folded
    assert info.single_mean == pytest.approx(127.5) and info.single_norm == pytest.approx(1 / 63.75)
    assert folded.param_text() == original.param_text() and folded.bin_bytes() == original.bin_bytes()
    assert "nothing folded" in info.describe()


def test_input_feeding_a_non_convolution_is_refused():
    model = NcnnModel([Layer("Input", "in", [], ["data"], {0: 8, 1: 8, 2: 3}),
                       Layer("Pooling", "pool0", ["data"], ["p"], {0: 0, 1: 2, 2: 2})])
    with pytest.raises(UnsupportedOperatorError, match="pool0"):
        fold_input_normalization(model, IMAGENET_MEAN, IMAGENET_STD)


def test_int8_model_is_refused():
    original, _ = _hand_model(np.random.default_rng(0))
    original.layer("conv_same").params[8] = 2
    with pytest.raises(UnsupportedOperatorError, match="conv_same"):
        fold_input_normalization(original, IMAGENET_MEAN, IMAGENET_STD)


def test_bad_options():
    original, _ = _hand_model(np.random.default_rng(0))
    with pytest.raises(OptionError):
        fold_input_normalization(original, [0.5, 0.5], [0.2, 0.2])          # 2 values, 3 channels
    with pytest.raises(OptionError):
        fold_input_normalization(original, IMAGENET_MEAN, [0.2, 0.0, 0.2])  # zero std
    with pytest.raises(OptionError):
        fold_input_normalization(original, IMAGENET_MEAN)                   # neither std nor norm
