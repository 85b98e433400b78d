"""The V831 NPU input path (maixnn.npu, and nn.load(...).forward(img,
quantize=True) on an int8 model): uint8 HWC -> f = (u8 - mean[0]) * norm[0]
-> q = clamp(roundf(f * input_scale), -127, 127) -> int8 network.

References: the quantization formula written out independently here, and the
official ncnn wheel running the same int8 model on the float f (its first
int8 convolution quantizes f with the same bottom_scale)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from helpers import run_ncnn

from maixnn import nn
from maixnn.errors import UnsupportedOperatorError
from maixnn.fold import fold_input_normalization
from maixnn.ncnn_model import Layer, NcnnModel, Weight
from maixnn.npu import NpuInput, quantize_input, roundf
from maixnn.runtime import Net

C, H, W = 3, 12, 10


def _round_half_away(v):
    """Independent of maixnn.npu: decimal-style rounding of the float32 values."""
    out = []
    for x in np.asarray(v, np.float32).reshape(-1).tolist():
        r = int(abs(x) + 0.5) if abs(x) % 1.0 != 0.5 else int(abs(x)) + 1
        out.append(r if x >= 0 else -r)
    return np.asarray(out, np.float64).reshape(np.shape(v))


def _int8_conv(name, bottom, top, cin, cout, rng, bottom_scale, top_scale=None, pad=1, relu=True):
    w = rng.integers(-127, 128, cout * cin * 9).astype(np.int8)
    params = {0: cout, 1: 3, 11: 3, 4: pad, 5: 1, 6: cout * cin * 9, 8: 102 if top_scale else 2}
    if relu:
        params[9] = 1
    weights = [Weight("weight", w, "tagged"), Weight("bias", rng.standard_normal(cout), "raw"),
               Weight("weight_scales", rng.uniform(100, 300, cout), "raw"),
               Weight("bottom_scale", [bottom_scale], "raw")]
    if top_scale:
        weights.append(Weight("top_scale", [top_scale], "raw"))
    return Layer("Convolution", name, [bottom], [top], params, weights)


def _int8_model(rng, input_scale=57.3):
    """Input -> int8 conv (8=102, requantized output) -> int8 conv (8=2) -> InnerProduct."""
    layers = [Layer("Input", "input", [], ["input0"], {0: W, 1: H, 2: C}),
              _int8_conv("conv0", "input0", "c0", C, 8, rng, input_scale, top_scale=0.9),
              _int8_conv("conv1", "c0", "c1", 8, 6, rng, 0.9),
              Layer("InnerProduct", "fc", ["c1"], ["output0"], {0: 5, 1: 1, 2: 5 * 6 * H * W},
                    [Weight("weight", rng.standard_normal(5 * 6 * H * W) * 0.01, "tagged"),
                     Weight("bias", rng.standard_normal(5), "raw")])]
    return NcnnModel(layers)


def _folded_int8_model(rng, input_scale=41.0):
    """A float model with per-channel normalisation folded (Padding with
    per-channel values in front of the first conv), then its convs turned
    int8 by hand - the shape of what maixnn quantize writes for such a model."""
    float_layers = [Layer("Input", "input", [], ["input0"], {0: W, 1: H, 2: C}),
                    Layer("Convolution", "conv0", ["input0"], ["c0"],
                          {0: 8, 1: 3, 11: 3, 4: 1, 5: 1, 6: 8 * C * 9, 9: 1},
                          [Weight("weight", rng.standard_normal(8 * C * 9), "tagged"),
                           Weight("bias", rng.standard_normal(8), "raw")])]
    folded, info = fold_input_normalization(NcnnModel(float_layers), [0.485, 0.456, 0.406],
                                            [0.229, 0.224, 0.225])
    pad = folded.layers[1]
    assert pad.type == "Padding"
    int8 = NcnnModel([folded.layers[0], pad,
                      _int8_conv("conv0", pad.tops[0], "c0", C, 8, rng, input_scale, top_scale=None, pad=0)])
    return int8, info


def _image(seed=0):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (H, W, C)).astype(np.uint8)
    img[0, :, :] = 255     # strong borders
    img[-1, :, :] = 0
    return img


def test_roundf_is_half_away_from_zero():
    v = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, 126.5, -126.5, 3.4999998], np.float32)
    assert roundf(v).tolist() == [1, 2, 3, -1, -2, -3, 0, 127, -127, 3]
    assert np.array_equal(roundf(v), _round_half_away(v))


def test_quantize_input_formula_on_rounding_boundaries():
    # norm 0.5, scale 1: f * s = (u8 - mean) / 2 is a half-integer for odd u8 - 0 and 255 hit the clamp
    u8 = np.arange(256, dtype=np.uint8)
    for mean in (0.0, 255.0, 127.0):
        f = (u8.astype(np.float32) - np.float32(mean)) * np.float32(0.5)
        q = quantize_input(f, 1.0)
        expected = np.clip(_round_half_away(f), -127, 127)
        assert q.dtype == np.int8 and np.array_equal(q.astype(np.int64), expected.astype(np.int64))
    assert quantize_input(np.array([200.0, -200.0], np.float32), 1.0).tolist() == [127, -127]


def test_npu_path_equals_ncnn_on_the_same_int8_model(tmp_path):
    rng = np.random.default_rng(1)
    model = _int8_model(rng)
    model.save(str(tmp_path / "m.param"), str(tmp_path / "m.bin"))
    npu = NpuInput.from_model(model)
    assert npu.input_scale == pytest.approx(57.3) and npu.pad == (0, 0, 0, 0)
    net = Net.from_memory(npu.model.param_text(), npu.model.bin_bytes())
    mean, norm = 127.5, 1 / 128.0
    for seed in range(4):
        img = _image(seed)
        q = npu.quantize(img, mean, norm)
        f = ((img.astype(np.float32) - np.float32(mean)) * np.float32(norm)).transpose(2, 0, 1)
        assert q.dtype == np.int8 and q.shape == (C, H, W)
        assert np.array_equal(q.astype(np.int64),
                              np.clip(_round_half_away(f * np.float32(57.3)), -127, 127).astype(np.int64))
        ours = net.forward(q, outputs=["c0", "output0"])
        ref = run_ncnn(str(tmp_path / "m.param"), str(tmp_path / "m.bin"), np.ascontiguousarray(f),
                       output_names=["c0", "output0"])
        assert ours["c0"].dtype == np.int8
        assert np.array_equal(ours["c0"].astype(np.float32), ref["c0"]), "int8 blob after conv0 differs"
        rng_out = np.ptp(ref["output0"])
        assert np.max(np.abs(ours["output0"] - ref["output0"])) <= 1e-5 * rng_out


def test_npu_path_with_folded_padding_equals_ncnn(tmp_path):
    """The per-channel Padding of a folded model becomes part of the NPU input
    buffer, with its values quantized like the image: same numbers as ncnn
    running the model (Padding included) on the float f."""
    model, info = _folded_int8_model(np.random.default_rng(2))
    model.save(str(tmp_path / "m.param"), str(tmp_path / "m.bin"))
    npu = NpuInput.from_model(model)
    assert npu.pad == (1, 1, 1, 1) and npu.removed_padding == model.layers[1].name
    pad_values = model.layers[1].weight("per_channel_pad").data
    assert npu.pad_q.tolist() == np.clip(_round_half_away(pad_values * np.float32(41.0)), -127, 127).tolist()
    assert "Padding" not in npu.model.param_text()
    net = Net.from_memory(npu.model.param_text(), npu.model.bin_bytes())
    m, n = info.single_mean, info.single_norm
    for seed in range(3):
        img = _image(seed)
        q = npu.quantize(img, m, n)
        assert q.shape == (C, H + 2, W + 2)
        assert np.all(q[:, 0, :] == npu.pad_q.reshape(C, 1)) and np.all(q[:, :, -1] == npu.pad_q.reshape(C, 1))
        f = ((img.astype(np.float32) - np.float32(m)) * np.float32(n)).transpose(2, 0, 1)
        ours = net.forward(q)
        ref = run_ncnn(str(tmp_path / "m.param"), str(tmp_path / "m.bin"), np.ascontiguousarray(f),
                       output_names=["c0"])["c0"]
        assert np.max(np.abs(ours - ref)) <= 1e-5 * np.ptp(ref)


def test_first_layer_float_is_refused():
    rng = np.random.default_rng(0)
    model = _int8_model(rng)
    conv0 = model.layer("conv0")
    conv0.params.pop(8)
    with pytest.raises(UnsupportedOperatorError, match="conv0"):
        NpuInput.from_model(model)


def _mud(tmp_path, model, mean, norm, outputs="output0 = 1,1,5"):
    model.save(str(tmp_path / "m.param"), str(tmp_path / "m.bin"))
    text = ("[basic]\ntype = awnn\nparam = m.param\nbin = m.bin\n\n[inputs]\ninput0 = %d,%d,%d,%s\n\n"
            "[outputs]\n%s\n" % (H, W, C, ",".join(str(v) for v in list(mean) + list(norm)), outputs))
    (tmp_path / "m.mud").write_text(text)
    return str(tmp_path / "m.mud")


def test_nn_forward_quantize_true_runs_the_npu_path(tmp_path):
    rng = np.random.default_rng(4)
    model = _int8_model(rng)
    mud = _mud(tmp_path, model, [127.5] * 3, [0.0078125] * 3)
    m = nn.load(mud)
    img = _image(7)
    out = m.forward(img, quantize=True)
    assert out.shape == (1, 1, 5) and out.dtype == np.float32
    f = ((img.astype(np.float32) - np.float32(127.5)) * np.float32(0.0078125)).transpose(2, 0, 1)
    ref = run_ncnn(str(tmp_path / "m.param"), str(tmp_path / "m.bin"), np.ascontiguousarray(f))["output0"]
    assert np.max(np.abs(out.reshape(-1) - ref)) <= 1e-5 * np.ptp(ref)
    # quantize=False feeds float (per-channel arithmetic); here the same numbers
    out_float = m.forward(img, quantize=False)
    assert np.max(np.abs(out_float.reshape(-1) - ref)) <= 1e-5 * np.ptp(ref)


def test_nn_npu_path_uses_channel_0_and_warns(tmp_path):
    rng = np.random.default_rng(5)
    model = _int8_model(rng)
    mud = _mud(tmp_path, model, [100.0, 120.0, 140.0], [0.01, 0.02, 0.03])
    m = nn.load(mud)
    img = _image(3)
    with pytest.warns(UserWarning, match="ONE mean/norm"):
        out = m.forward(img, quantize=True)
    f0 = ((img.astype(np.float32) - np.float32(100.0)) * np.float32(0.01)).transpose(2, 0, 1)
    ref = run_ncnn(str(tmp_path / "m.param"), str(tmp_path / "m.bin"), np.ascontiguousarray(f0))["output0"]
    assert np.max(np.abs(out.reshape(-1) - ref)) <= 1e-5 * np.ptp(ref)
    # and the per-channel float path is really different here (the warning matters)
    out_float = m.forward(img, quantize=False)
    assert np.max(np.abs(out_float.reshape(-1) - ref)) > 1e-3 * np.ptp(ref)


def test_nn_npu_path_on_folded_model(tmp_path):
    model, info = _folded_int8_model(np.random.default_rng(6))
    c0 = "c0 = %d,%d,8" % (H, W)
    mud = _mud(tmp_path, model, [info.single_mean] * 3, [info.single_norm] * 3, outputs=c0)
    m = nn.load(mud)
    img = _image(11)
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # one mean/norm: no warning
        out = m.forward(img, quantize=True, layout="chw")
    f = ((img.astype(np.float32) - np.float32(info.single_mean)) * np.float32(info.single_norm)).transpose(2, 0, 1)
    ref = run_ncnn(str(tmp_path / "m.param"), str(tmp_path / "m.bin"), np.ascontiguousarray(f),
                   output_names=["c0"])["c0"]
    assert out.shape == (8, H, W)
    assert np.max(np.abs(out - ref)) <= 1e-5 * np.ptp(ref)


def test_resnet18_npu_path_end_to_end(tmp_path):
    """Issue 3 item 4 on the full ResNet18 shape: export -> convert -> quantize
    (ImageNet mean/std, folded) -> nn.load(.mud).forward(img, quantize=True)
    gives (1, 1, 1000) and the same numbers as the ncnn wheel running the int8
    model on the NPU's float input f."""
    import maixnn
    from helpers import export_and_convert
    from nets import resnet18_like

    paths = export_and_convert(resnet18_like(), tmp_path, name="resnet18")
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 200, 224, dtype=np.float32)
    calib = [(rng.integers(0, 56, (224, 224, 3)) + ramp[None, :, None]).astype(np.uint8) for _ in range(2)]
    base = str(tmp_path / "resnet18_int8")
    maixnn.quantize(str(tmp_path / "resnet18"), base, images=calib, mean=[0.485, 0.456, 0.406],
                    std=[0.229, 0.224, 0.225], method="minmax", progress=False)
    m = nn.load(base + ".mud")
    img = (rng.integers(0, 56, (224, 224, 3)) + ramp[:, None, None]).astype(np.uint8)
    img[:4] = 255
    with warnings.catch_warnings():
        warnings.simplefilter("error")        # the .mud has one mean/norm: no warning
        out = m.forward(img, quantize=True)
    assert out.shape == (1, 1, 1000) and out.dtype == np.float32
    mean, norm = m.mean["input0"][0], m.norm["input0"][0]
    f = ((img.astype(np.float32) - np.float32(mean)) * np.float32(norm)).transpose(2, 0, 1)
    ref = run_ncnn(base + ".param", base + ".bin", np.ascontiguousarray(f))["output0"]
    assert np.max(np.abs(out.reshape(-1) - ref)) <= 1e-5 * np.ptp(ref)
    # and int8 stays close to the float model on the per-channel input (sanity, not exactness)
    x = ((img.astype(np.float32) / np.float32(255) - np.float32([0.485, 0.456, 0.406]))
         / np.float32([0.229, 0.224, 0.225])).transpose(2, 0, 1)
    y = Net(paths.param, paths.bin).forward(np.ascontiguousarray(x))
    cos = float(np.dot(y, out.reshape(-1)) / np.linalg.norm(y) / np.linalg.norm(out))
    assert cos > 0.98, cos
