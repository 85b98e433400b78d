"""The compute layers (Convolution, ConvolutionDepthWise, Pooling, InnerProduct,
Interp) of maixnn's C engine against the official ncnn runtime (PyPI `ncnn`).

Every test builds a tiny model by hand with maixnn.ncnn_model, runs it on the
ncnn wheel (fp16/bf16 off, one thread) and on maixnn's engine, and compares:
  * float32 models: max |diff| <= 1e-5 * max |ref|;
  * int8 models: int8 blobs identical, float blobs within 1e-5 of their range
    (and, where the data is crafted to sit on rounding boundaries, identical -
    those tests also prove that a plausible wrong formula would NOT match).
"""
from __future__ import annotations

import os
import zlib

import numpy as np
import pytest

ncnn = pytest.importorskip("ncnn")

from maixnn.errors import InputShapeError, ModelFormatError, UnsupportedOperatorError  # noqa: E402
from maixnn.ncnn_model import Layer, NcnnModel, Weight  # noqa: E402

F32 = np.float32
REL_TOL = 1e-5


# ------------------------------------------------------------------ helpers

def _save(tmp_path, layers, name="m"):
    model = NcnnModel(layers)
    param = os.path.join(str(tmp_path), name + ".param")
    binp = os.path.join(str(tmp_path), name + ".bin")
    model.save(param, binp)
    return param, binp


def _run_ncnn(param, binp, x, outs, in_name="in0"):
    net = ncnn.Net()
    net.opt.use_fp16_storage = False
    net.opt.use_fp16_arithmetic = False
    net.opt.use_fp16_packed = False
    net.opt.use_bf16_storage = False
    net.opt.num_threads = 1
    assert net.load_param(param) == 0
    assert net.load_model(binp) == 0
    ex = net.create_extractor()
    x = np.ascontiguousarray(x, dtype=F32)
    # ncnn.Mat(x) wraps x's memory; an in-place first layer would write into
    # it, so ncnn gets its own copy (x stays referenced until the end anyway)
    mat = ncnn.Mat(x).clone()
    ex.input(in_name, mat)
    res = {}
    for o in outs:
        rc, m = ex.extract(o)
        assert rc == 0, "ncnn failed to compute %s (%d)" % (o, rc)
        res[o] = np.array(m).copy()
        # the extracted Mat lives in the net's pool allocator: release it before
        # the net, or ncnn frees into a destroyed pool and corrupts the heap
        del m
    del ex, mat
    del net
    return res


def _run_maixnn(param, binp, x, outs):
    from maixnn.runtime import Net
    net = Net(param, binp)
    try:
        return net.forward(x, outputs=list(outs))
    finally:
        net.close()


def _input_layer(shape):
    if len(shape) == 3:
        return Layer("Input", "input", [], ["in0"], {0: shape[2], 1: shape[1], 2: shape[0]})
    if len(shape) == 2:
        return Layer("Input", "input", [], ["in0"], {0: shape[1], 1: shape[0]})
    return Layer("Input", "input", [], ["in0"], {0: shape[0]})


def _assert_float_close(got, ref, what):
    assert got.shape == ref.shape, "%s: shape %s, ncnn %s" % (what, got.shape, ref.shape)
    assert got.dtype == np.float32, "%s: dtype %s" % (what, got.dtype)
    scale = float(np.abs(ref).max())
    err = float(np.abs(got.astype(np.float64) - ref).max())
    assert np.all(np.isfinite(got)), what
    assert err <= REL_TOL * max(scale, 1e-30), "%s: max|diff| %g > %g * max|ref| %g" % (what, err, REL_TOL, scale)


def _compare(tmp_path, layers, x, outs, int8_outs=()):
    """Run on both engines; float blobs close, int8 blobs identical.  Returns
    (maixnn, ncnn) results."""
    param, binp = _save(tmp_path, layers)
    ref = _run_ncnn(param, binp, x, outs)
    got = _run_maixnn(param, binp, x, outs)
    for o in outs:
        if o in int8_outs:
            assert got[o].dtype == np.int8, "%s should be an int8 blob, got %s" % (o, got[o].dtype)
            assert got[o].shape == ref[o].shape
            mismatch = int((got[o].astype(F32) != ref[o]).sum())
            assert mismatch == 0, "%s: %d of %d int8 values differ from ncnn" % (o, mismatch, ref[o].size)
        else:
            _assert_float_close(got[o], ref[o], o)
    return got, ref


def _seed(name):
    return zlib.crc32(name.encode())


def _randn(rng, shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(F32)


def _float2int8(v):
    """ncnn's float2int8 written independently: round half away from zero in
    float32, clamp to [-127, 127]."""
    v = np.asarray(v, dtype=F32)
    r = np.trunc((v + np.copysign(F32(0.5), v)).astype(F32))
    return np.clip(r, -127, 127).astype(np.int8)


def _fma32(a, b, c):
    """float32 fused multiply-add (exact product, one rounding) via float64;
    the product of a 24-bit and an 8-bit significand is exact in float64."""
    return (np.asarray(a, np.float64) * np.asarray(b, np.float64) + np.asarray(c, np.float64)).astype(F32)


def _host_has_fma():
    try:
        with open("/proc/cpuinfo") as f:
            return " fma " in f.read().replace("\n", " ")
    except OSError:
        return False


# ------------------------------------------------------------------ Convolution (float)

def _conv_layer(rng, ltype, c_in, p, name="L", bottom="in0", top="out"):
    """p: num_output, k (or kw/kh), group, bias, other params by ncnn id."""
    kw = p.get("kw", p.get("k", 3))
    kh = p.get("kh", kw)
    group = p.get("group", 1)
    o = p["o"]
    w = _randn(rng, (o, c_in // group, kh, kw), 0.5)
    params = {0: o, 1: kw, 6: int(w.size), 5: int(p.get("bias", True))}
    if kh != kw:
        params[11] = kh
    if ltype == "ConvolutionDepthWise":
        params[7] = group
    params.update(p.get("params", {}))
    weights = [Weight("weight", w, "tagged")]
    if p.get("bias", True):
        weights.append(Weight("bias", _randn(rng, (o,))))
    return Layer(ltype, name, [bottom], [top], params, weights)


CONV_CASES = {
    "k1": dict(o=6),
    "k1_kernel_only": dict(o=5, k=1),
    "k3_pad1": dict(o=8, params={4: 1}),
    "k3_out_not_multiple_of_4": dict(o=5, params={4: 1}),
    "k5_stride2_pad2": dict(o=4, k=5, params={3: 2, 4: 2}),
    "k7_stride2_pad3_stem": dict(o=8, k=7, params={3: 2, 4: 3}, shape=(3, 23, 21)),
    "k3_dilation2": dict(o=4, params={2: 2, 4: 2}),
    "dilation_h_differs": dict(o=4, params={2: 1, 12: 2, 4: 1, 14: 2}),
    "stride_h_differs": dict(o=4, params={3: 1, 13: 2, 4: 1}),
    "rect_kernel_3x5": dict(o=4, kw=5, kh=3, params={4: 2, 14: 1}),
    "asymmetric_pads": dict(o=4, params={4: 1, 15: 2, 14: 0, 16: 3}),
    "pad_right_defaults_to_left": dict(o=4, params={4: 2, 14: 0}),
    "same_upper_stride2": dict(o=4, params={4: -233, 3: 2}, shape=(3, 10, 12)),
    "same_upper_even_kernel": dict(o=4, k=4, params={4: -233}),
    "same_lower_stride2": dict(o=4, params={4: -234, 3: 2}, shape=(3, 10, 12)),
    "same_lower_even_kernel": dict(o=4, k=4, params={4: -234}),
    "pad_value": dict(o=4, params={4: 1, 18: 0.75}),
    "no_bias": dict(o=4, bias=False, params={4: 1}),
    "relu": dict(o=4, params={4: 1, 9: 1}),
    "leakyrelu": dict(o=4, params={4: 1, 9: 2, 10: [0.1]}),
    "clip_relu6": dict(o=4, params={4: 1, 9: 3, 10: [-0.5, 0.6]}),
    "sigmoid": dict(o=4, params={4: 1, 9: 4}),
    "mish": dict(o=4, params={4: 1, 9: 5}),
    "hardswish": dict(o=4, params={4: 1, 9: 6, 10: [1.0 / 6, 0.5]}),
    "input_height_1": dict(o=4, kw=3, kh=1, params={4: 1, 14: 0}, shape=(5, 1, 9)),
    "many_channels": dict(o=32, params={4: 1}, shape=(24, 6, 7)),
}


@pytest.mark.parametrize("case", sorted(CONV_CASES))
def test_convolution_float(tmp_path, case):
    p = CONV_CASES[case]
    rng = np.random.default_rng(_seed(case))
    shape = p.get("shape", (6, 11, 13))
    layers = [_input_layer(shape), _conv_layer(rng, "Convolution", shape[0], p)]
    _compare(tmp_path, layers, _randn(rng, shape), ["out"])


DW_CASES = {
    "depthwise_k3": dict(o=8, group=8, params={4: 1}),
    "depthwise_k3_stride2": dict(o=8, group=8, params={4: 1, 3: 2}),
    "depthwise_k5_relu6": dict(o=8, group=8, k=5, params={4: 2, 9: 3, 10: [0.0, 6.0]}),
    "depthwise_multiplier2": dict(o=16, group=8, params={4: 1}),
    "grouped_2": dict(o=6, group=2, params={4: 1}),
    "grouped_4_stride2_dilation2": dict(o=12, group=4, params={4: 2, 3: 2, 2: 2}),
    "grouped_asym_pads_same": dict(o=4, group=2, params={4: -233, 3: 2}),
    "depthwise_7ch_pad_value": dict(o=7, group=7, params={4: 1, 18: -0.25}, shape=(7, 9, 10)),
}


@pytest.mark.parametrize("case", sorted(DW_CASES))
def test_convolutiondepthwise_float(tmp_path, case):
    p = DW_CASES[case]
    rng = np.random.default_rng(_seed(case))
    shape = p.get("shape", (8, 11, 12))
    layers = [_input_layer(shape), _conv_layer(rng, "ConvolutionDepthWise", shape[0], p)]
    _compare(tmp_path, layers, _randn(rng, shape), ["out"])


def test_convolution_on_flattened_blob_is_innerproduct(tmp_path):
    """ncnn runs a 1x1 Convolution on a 1-D blob as InnerProduct (squeeze-excite
    blocks after a global pooling); the result is 1-D."""
    rng = np.random.default_rng(3)
    shape = (12, 5, 6)
    layers = [_input_layer(shape),
              Layer("Pooling", "gap", ["in0"], ["g"], {0: 1, 4: 1}),
              _conv_layer(rng, "Convolution", 12, dict(o=5, k=1, params={9: 4}), bottom="g")]
    got, ref = _compare(tmp_path, layers, _randn(rng, shape), ["g", "out"])
    assert got["out"].shape == (5,)


# ------------------------------------------------------------------ Pooling

POOL_CASES = {
    "max_k2s2": {0: 0, 1: 2, 2: 2},
    "max_k3s2p1_full_with_tail": {0: 0, 1: 3, 2: 2, 3: 1},
    "max_k3s2_valid": {0: 0, 1: 3, 2: 2, 5: 1},
    "max_same_upper": {0: 0, 1: 3, 2: 2, 5: 2},
    "max_same_lower_even_kernel": {0: 0, 1: 2, 2: 1, 5: 3},
    "max_rect_kernel_strides": {0: 0, 1: 3, 11: 2, 2: 2, 12: 1},
    "avg_k3s2p1_exclude_pad_full_tail": {0: 1, 1: 3, 2: 2, 3: 1},
    "avg_k3s2p1_include_pad_full_tail": {0: 1, 1: 3, 2: 2, 3: 1, 6: 1},
    "avg_k3s2_valid_include_pad": {0: 1, 1: 3, 2: 2, 3: 1, 5: 1, 6: 1},
    "avg_asymmetric_pads": {0: 1, 1: 3, 2: 2, 3: 1, 14: 0, 13: 0, 15: 2},
    "avg_same_upper": {0: 1, 1: 3, 2: 2, 5: 2},
    "avg_same_lower": {0: 1, 1: 3, 2: 2, 5: 3},
    # SAME totals <= 0 on both axes: no padding.  (One axis negative and the
    # other positive is undefined behaviour inside ncnn: not tested.)
    "avg_same_kernel_smaller_than_stride": {0: 1, 1: 1, 2: 3, 5: 2},
    "global_max": {0: 0, 4: 1},
    "global_avg": {0: 1, 4: 1},
    "adaptive_max": {0: 0, 7: 1, 8: 4, 18: 3},
    "adaptive_avg": {0: 1, 7: 1, 8: 4, 18: 3},
    "adaptive_avg_upsampling": {0: 1, 7: 1, 8: 11, 18: 9},
}


@pytest.mark.parametrize("channels", [3, 8])
@pytest.mark.parametrize("case", sorted(POOL_CASES))
def test_pooling(tmp_path, case, channels):
    rng = np.random.default_rng(_seed(case) + channels)
    shape = (channels, 9, 10)
    layers = [_input_layer(shape), Layer("Pooling", "L", ["in0"], ["out"], POOL_CASES[case])]
    got, _ = _compare(tmp_path, layers, _randn(rng, shape), ["out"])
    if POOL_CASES[case].get(4):
        assert got["out"].shape == (channels,)


def test_pooling_bit_exact_where_ncnn_packs(tmp_path):
    """Channels a multiple of 4 (ResNet's 512-channel global average feeding an
    int8 fc): the average is finished as ncnn's packed kernel does
    (sum * (1/n)); bit-identical, while sum / n would not be."""
    rng = np.random.default_rng(11)
    shape = (16, 7, 7)
    x = _randn(rng, shape)
    layers = [_input_layer(shape),
              Layer("Split", "split", ["in0"], ["in0_a", "in0_b"]),
              Layer("Pooling", "gap", ["in0_a"], ["g"], {0: 1, 4: 1}),
              Layer("Pooling", "ap", ["in0_b"], ["a"], {0: 1, 1: 3, 2: 2, 3: 1, 6: 1})]
    param, binp = _save(tmp_path, layers)
    ref = _run_ncnn(param, binp, x, ["g", "a"])
    got = _run_maixnn(param, binp, x, ["g", "a"])
    assert np.array_equal(got["g"], ref["g"]) and np.array_equal(got["a"], ref["a"])
    sums = np.zeros(16, F32)
    for v in x.reshape(16, -1).T:
        sums = (sums + v).astype(F32)
    assert np.array_equal(ref["g"], (sums * F32(1.0 / 49)).astype(F32))


# ------------------------------------------------------------------ InnerProduct (float)

@pytest.mark.parametrize("case", ["from_3d", "no_bias_relu", "leaky", "sigmoid", "from_1d", "rows_2d"])
def test_innerproduct_float(tmp_path, case):
    rng = np.random.default_rng(_seed(case))
    shape = {"from_1d": (40,), "rows_2d": (3, 16)}.get(case, (4, 5, 6))
    n_in = shape[-1] if case == "rows_2d" else int(np.prod(shape))
    o = 7
    params = {0: o, 1: int(case != "no_bias_relu"), 2: o * n_in}
    params.update({"no_bias_relu": {9: 1}, "leaky": {9: 2, 10: [0.2]}, "sigmoid": {9: 4}}.get(case, {}))
    weights = [Weight("weight", _randn(rng, (o, n_in), 0.3), "tagged")]
    if params[1]:
        weights.append(Weight("bias", _randn(rng, (o,))))
    layers = [_input_layer(shape), Layer("InnerProduct", "fc", ["in0"], ["out"], params, weights)]
    got, _ = _compare(tmp_path, layers, _randn(rng, shape), ["out"])
    assert got["out"].shape == ((3, o) if case == "rows_2d" else (o,))


# ------------------------------------------------------------------ Interp

INTERP_CASES = {
    "nearest_scale2": ({0: 1, 1: 2.0, 2: 2.0}, (4, 5, 7)),
    "nearest_scale_3x2": ({0: 1, 1: 3.0, 2: 2.0}, (4, 5, 7)),
    "nearest_out_size": ({0: 1, 3: 13, 4: 11}, (4, 5, 7)),
    "nearest_downscale": ({0: 1, 3: 3, 4: 4}, (4, 9, 10)),
    "bilinear_scale2": ({0: 2, 1: 2.0, 2: 2.0}, (4, 5, 7)),
    "bilinear_scale2_align_corner": ({0: 2, 1: 2.0, 2: 2.0, 6: 1}, (4, 5, 7)),
    "bilinear_out_size": ({0: 2, 3: 13, 4: 11}, (4, 5, 7)),
    "bilinear_out_size_align_corner": ({0: 2, 3: 13, 4: 11, 6: 1}, (4, 5, 7)),
    "bilinear_downscale": ({0: 2, 3: 3, 4: 4}, (4, 9, 10)),
    "bicubic_scale2": ({0: 3, 1: 2.0, 2: 2.0}, (4, 6, 7)),
    "bicubic_scale2_align_corner": ({0: 3, 1: 2.0, 2: 2.0, 6: 1}, (4, 6, 7)),
    "bicubic_out_size": ({0: 3, 3: 15, 4: 10}, (4, 6, 7)),
    "width_only_2d_bilinear": ({0: 2, 4: 17}, (5, 7)),
    "width_only_2d_nearest": ({0: 1, 2: 2.0}, (5, 7)),
    "from_1d_fill": ({0: 1, 3: 3, 4: 4}, (6,)),
}


@pytest.mark.parametrize("case", sorted(INTERP_CASES))
def test_interp(tmp_path, case):
    params, shape = INTERP_CASES[case]
    rng = np.random.default_rng(_seed(case))
    layers = [_input_layer(shape), Layer("Interp", "L", ["in0"], ["out"], params)]
    _compare(tmp_path, layers, _randn(rng, shape), ["out"])


@pytest.mark.parametrize("resize_type", [1, 2, 3])
def test_interp_size_from_second_input(tmp_path, resize_type):
    """5=dynamic_target_size: the output takes the w/h of the second bottom."""
    rng = np.random.default_rng(resize_type)
    shape = (4, 5, 7)
    layers = [_input_layer(shape),
              Layer("Split", "split", ["in0"], ["a", "b"]),
              Layer("Pooling", "sizer", ["b"], ["ref"], {0: 0, 7: 1, 8: 11, 18: 9}),
              Layer("Interp", "L", ["a", "ref"], ["out"], {0: resize_type, 5: 1})]
    got, _ = _compare(tmp_path, layers, _randn(rng, shape), ["out"])
    assert got["out"].shape == (4, 9, 11)


@pytest.mark.parametrize("mode,align,size", [
    ("nearest", None, None), ("bilinear", False, None), ("bilinear", True, None),
    ("bilinear", False, (13, 11)), ("bilinear", True, (13, 11)), ("bicubic", False, None),
    ("bicubic", True, (9, 15))])
def test_interp_matches_pytorch_interpolate(tmp_path, mode, align, size):
    """The coordinate rules are the ones PyTorch's nn.Upsample / F.interpolate
    use (and export to ONNX Resize as half_pixel / align_corners / asymmetric+floor)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    shape = (3, 6, 7)
    x = _randn(rng, shape)
    kwargs = {"mode": mode}
    if align is not None:
        kwargs["align_corners"] = align
    if size is None:
        kwargs["scale_factor"] = 2
        params = {1: 2.0, 2: 2.0}
    else:
        kwargs["size"] = size
        params = {3: size[0], 4: size[1]}
    params[0] = {"nearest": 1, "bilinear": 2, "bicubic": 3}[mode]
    if align:
        params[6] = 1
    ref = torch.nn.functional.interpolate(torch.from_numpy(x)[None], **kwargs)[0].numpy()
    param, binp = _save(tmp_path, [_input_layer(shape), Layer("Interp", "L", ["in0"], ["out"], params)])
    got = _run_maixnn(param, binp, x, ["out"])["out"]
    _assert_float_close(got, ref, "interp vs torch")


# ------------------------------------------------------------------ int8

def _int8_conv(rng, ltype, name, bottom, top, c_in, o, term, bottom_scale, top_scale=None, k=3,
               group=1, params=None, bias=True, weight_scales=None):
    w = rng.integers(-127, 128, size=(o, c_in // group, k, k)).astype(np.int8)
    p = {0: o, 1: k, 5: int(bias), 6: int(w.size), 8: term}
    if ltype == "ConvolutionDepthWise":
        p[7] = group
    p.update(params or {})
    if weight_scales is None:
        n = o
        if ltype == "ConvolutionDepthWise":
            n = group if term in (1, 101) else 1
        weight_scales = rng.uniform(20, 90, n)
    ws = [Weight("weight", w, "tagged")]
    if bias:
        ws.append(Weight("bias", _randn(rng, (o,))))
    ws += [Weight("weight_scales", np.asarray(weight_scales, F32)), Weight("bottom_scale", [bottom_scale])]
    if term > 100:
        ws.append(Weight("top_scale", [top_scale]))
    return Layer(ltype, name, [bottom], [top], p, ws)


def test_int8_convolution_chain_requantized(tmp_path):
    """8=102 chains (int8 blobs between convs, fused relu / leakyrelu / relu6),
    a depthwise 8=101, then 8=2 to float: every blob equals ncnn's."""
    rng = np.random.default_rng(21)
    shape = (6, 12, 13)
    x = _randn(rng, shape, 1.5)
    layers = [
        _input_layer(shape),
        _int8_conv(rng, "Convolution", "c1", "in0", "a", 6, 16, 102, 40.0, 21.0, params={4: 1, 9: 1}),
        _int8_conv(rng, "Convolution", "c2", "a", "b", 16, 16, 102, 21.0, 17.5, params={4: 1, 3: 2, 9: 2, 10: [0.1]}),
        _int8_conv(rng, "ConvolutionDepthWise", "dw", "b", "c", 16, 16, 101, 17.5, 12.25, group=16,
                   params={4: 1, 9: 3, 10: [0.0, 6.0]}),
        _int8_conv(rng, "ConvolutionDepthWise", "dw7", "c", "d", 16, 16, 102, 12.25, 9.0, group=16, k=3,
                   params={4: -233}),
        _int8_conv(rng, "Convolution", "c3", "d", "out", 16, 10, 2, 9.0, k=1),
    ]
    _compare(tmp_path, layers, x, ["a", "b", "c", "d", "out"], int8_outs=("a", "b", "c", "d"))


@pytest.mark.parametrize("channels", [6, 8, 24])
@pytest.mark.parametrize("term", [1, 2, 101, 102])
def test_int8_depthwise(tmp_path, channels, term):
    """Pure depthwise int8: 8=1/101 one weight scale per group, 8=2/102 one
    for all.  channels % 8 == 0 is ncnn-x86's pack8 kernel (rcpps scale)."""
    rng = np.random.default_rng(channels * 1000 + term)
    shape = (channels, 9, 11)
    layers = [_input_layer(shape),
              _int8_conv(rng, "ConvolutionDepthWise", "dw", "in0", "out", channels, channels, term, 33.3,
                         19.7, group=channels, params={4: 1, 9: 1})]
    _compare(tmp_path, layers, _randn(rng, shape, 2.0), ["out"], int8_outs=("out",) if term > 100 else ())


@pytest.mark.parametrize("term", [1, 101])
def test_int8_grouped_convolution(tmp_path, term):
    rng = np.random.default_rng(31 + term)
    shape = (8, 9, 10)
    layers = [_input_layer(shape),
              _int8_conv(rng, "ConvolutionDepthWise", "g", "in0", "out", 8, 12, term, 30.0, 15.0, group=4,
                         params={4: 1, 3: 2})]
    _compare(tmp_path, layers, _randn(rng, shape, 2.0), ["out"], int8_outs=("out",) if term > 100 else ())


def test_int8_innerproduct_and_conv_with_pad_value(tmp_path):
    """InnerProduct 8=2 (float input quantized, float output) after a conv
    whose int8 border is ncnn's (signed char)pad_value."""
    rng = np.random.default_rng(41)
    shape = (5, 7, 8)
    fc_w = rng.integers(-127, 128, size=(9, 4 * 7 * 8)).astype(np.int8)
    layers = [
        _input_layer(shape),
        _int8_conv(rng, "Convolution", "c1", "in0", "a", 5, 4, 2, 25.0, params={4: 1, 18: 2.6}),
        Layer("InnerProduct", "fc", ["a"], ["out"], {0: 9, 1: 1, 2: int(fc_w.size), 8: 2},
              [Weight("weight", fc_w, "tagged"), Weight("bias", _randn(rng, (9,))),
               Weight("weight_scales", rng.uniform(30, 90, 9)), Weight("bottom_scale", [3.5])]),
    ]
    _compare(tmp_path, layers, _randn(rng, shape), ["a", "out"])


def test_int8_input_rounds_half_away_from_zero(tmp_path):
    """x * bottom_scale lands exactly on .5 for every input: ncnn (and maixnn)
    round half away from zero and clamp to +-127; numpy's half-to-even would
    not match."""
    bottom_scale = 4.0
    k = np.arange(-140, 140, dtype=F32)
    x = ((2 * k + 1) / 8).astype(F32).reshape(1, 1, -1)  # x * 4 = k + 0.5 exactly
    layers = [_input_layer(x.shape),
              Layer("Convolution", "c", ["in0"], ["out"], {0: 1, 1: 1, 5: 0, 6: 1, 8: 2},
                    [Weight("weight", np.ones(1, np.int8), "tagged"), Weight("weight_scales", [1.0]),
                     Weight("bottom_scale", [bottom_scale])])]
    param, binp = _save(tmp_path, layers)
    ref = _run_ncnn(param, binp, x, ["out"])["out"]
    got = _run_maixnn(param, binp, x, ["out"])["out"]
    assert np.array_equal(got, ref)
    expected = _float2int8(x * F32(bottom_scale)).astype(F32) / F32(bottom_scale)
    assert np.array_equal(ref, expected)
    half_even = np.clip(np.round(x * F32(bottom_scale)), -127, 127).astype(F32) / F32(bottom_scale)
    assert not np.array_equal(ref, half_even)


def _craft_fma_sensitive_channels(rng, top_scale, count):
    """Per output channel (weight scale ws, bias b) and an input value k such
    that float2int8(fmaf(k, 1/ws, b) * top_scale) differs from the same with
    k * (1/ws) rounded before the add."""
    found = []
    while len(found) < count:
        ws = rng.uniform(0.5, 4.0, 4096).astype(F32)
        s = (F32(1) / ws).astype(F32)
        k = rng.integers(-127, 128, 4096).astype(F32)
        n = rng.integers(-100, 100, 4096)
        b = ((n + 0.5) / float(top_scale) - k.astype(np.float64) * s).astype(F32)
        fused = _float2int8((_fma32(k, s, b) * top_scale).astype(F32))
        split = _float2int8((((k * s).astype(F32) + b).astype(F32) * top_scale).astype(F32))
        for i in np.nonzero(fused != split)[0]:
            if k[i] not in [f[2] for f in found]:
                found.append((ws[i], b[i], k[i]))
            if len(found) == count:
                break
    return found


@pytest.mark.skipif(not _host_has_fma(), reason="ncnn fuses the conv dequantization only on FMA CPUs")
def test_int8_conv_requantize_uses_one_rounding(tmp_path):
    """Data on requantization boundaries: ncnn's conv computes
    fmaf(acc, scale_in, bias) then float2int8(v * top_scale); with two
    roundings the crafted values would flip.  maixnn equals ncnn everywhere."""
    rng = np.random.default_rng(51)
    top_scale = F32(1.37)
    chans = _craft_fma_sensitive_channels(rng, top_scale, 16)
    ks = np.array([c[2] for c in chans], F32)
    x = ks.reshape(1, 1, -1)  # bottom_scale 1: q = k exactly
    layers = [_input_layer(x.shape),
              Layer("Convolution", "c", ["in0"], ["out"], {0: 16, 1: 1, 5: 1, 6: 16, 8: 102},
                    [Weight("weight", np.ones(16, np.int8), "tagged"),
                     Weight("bias", np.array([c[1] for c in chans], F32)),
                     Weight("weight_scales", np.array([c[0] for c in chans], F32)),
                     Weight("bottom_scale", [1.0]), Weight("top_scale", [float(top_scale)])])]
    param, binp = _save(tmp_path, layers)
    ref = _run_ncnn(param, binp, x, ["out"])["out"]
    got = _run_maixnn(param, binp, x, ["out"])["out"]
    assert got.dtype == np.int8
    assert np.array_equal(got.astype(F32), ref)
    # the crafted element of channel p sits at column p: two roundings disagree there
    diag_ref = np.array([ref[p, 0, p] for p in range(16)])
    s = (F32(1) / np.array([c[0] for c in chans], F32)).astype(F32)
    b = np.array([c[1] for c in chans], F32)
    split = _float2int8((((ks * s).astype(F32) + b).astype(F32) * top_scale).astype(F32)).astype(F32)
    assert np.all(diag_ref != split)


def test_int8_innerproduct_uses_two_roundings(tmp_path):
    """InnerProduct dequantizes as bias + acc * scale_in (two roundings, no
    FMA): outputs identical to ncnn where an FMA would differ."""
    rng = np.random.default_rng(61)
    o = 64
    ws = rng.uniform(0.5, 4.0, o).astype(F32)
    bias = _randn(rng, (o,), 50.0)
    k = F32(97.0)
    s = (F32(1) / ws).astype(F32)
    two = (bias + (k * s).astype(F32)).astype(F32)
    fused = _fma32(k, s, bias)
    assert (two != fused).sum() >= 4  # the data is sensitive
    x = np.array([k], F32)
    layers = [_input_layer(x.shape),
              Layer("InnerProduct", "fc", ["in0"], ["out"], {0: o, 1: 1, 2: o, 8: 2},
                    [Weight("weight", np.ones(o, np.int8), "tagged"), Weight("bias", bias),
                     Weight("weight_scales", ws), Weight("bottom_scale", [1.0])])]
    param, binp = _save(tmp_path, layers)
    ref = _run_ncnn(param, binp, x, ["out"])["out"]
    got = _run_maixnn(param, binp, x, ["out"])["out"]
    assert np.array_equal(ref, two)
    assert np.array_equal(got, ref)


# ------------------------------------------------------------------ errors

def _load(tmp_path, layers):
    from maixnn.runtime import Net
    param, binp = _save(tmp_path, layers)
    return Net(param, binp)


def test_error_convolution_channel_mismatch(tmp_path):
    rng = np.random.default_rng(0)
    net = _load(tmp_path, [Layer("Input", "input", [], ["in0"]),
                           _conv_layer(rng, "Convolution", 4, dict(o=3, params={4: 1}), name="conv_x")])
    with pytest.raises(InputShapeError) as e:
        net.forward(_randn(rng, (5, 6, 6)))
    assert "conv_x" in str(e.value) and "channels" in str(e.value)


def test_error_innerproduct_size_mismatch(tmp_path):
    net = _load(tmp_path, [Layer("Input", "input", [], ["in0"]),
                           Layer("InnerProduct", "fc_x", ["in0"], ["out"], {0: 2, 2: 20},
                                 [Weight("weight", np.zeros(20, F32), "tagged")])])
    with pytest.raises(InputShapeError) as e:
        net.forward(np.zeros((3, 2, 2), F32))
    assert "fc_x" in str(e.value) and "expect 10" in str(e.value)


def test_error_kernel_larger_than_input(tmp_path):
    rng = np.random.default_rng(0)
    net = _load(tmp_path, [Layer("Input", "input", [], ["in0"]),
                           _conv_layer(rng, "Convolution", 2, dict(o=2, k=5), name="conv_big")])
    with pytest.raises(InputShapeError) as e:
        net.forward(np.zeros((2, 3, 3), F32))
    assert "conv_big" in str(e.value) and "kernel" in str(e.value)


def test_error_int8_blob_into_pooling(tmp_path):
    net = _load(tmp_path, [Layer("Input", "input", [], ["in0"]),
                           Layer("Pooling", "pool_x", ["in0"], ["out"], {0: 0, 1: 2, 2: 2})])
    with pytest.raises(UnsupportedOperatorError) as e:
        net.forward(np.zeros((2, 4, 4), np.int8))
    assert "pool_x" in str(e.value) and "int8" in str(e.value)


@pytest.mark.parametrize("ltype,params,needle", [
    ("Convolution", {0: 2, 1: 0, 6: 8}, "kernel_w"),
    ("Convolution", {0: 2, 1: 3, 6: 17}, "weight_data_size"),
    ("Convolution", {0: 2, 1: 1, 6: 4, 4: -5}, "pads"),
    ("Convolution", {0: 2, 1: 1, 6: 4, 8: 7}, "int8_scale_term"),
    ("ConvolutionDepthWise", {0: 3, 1: 1, 6: 3, 7: 2}, "group"),
    ("Pooling", {0: 2, 1: 2}, "pooling type"),
    ("Pooling", {0: 0, 1: 2, 5: 9}, "pad_mode"),
    ("Pooling", {0: 1, 7: 1, 8: 0}, "adaptive"),
    ("Interp", {0: 4}, "resize_type"),
    ("InnerProduct", {0: 3, 2: 10}, "weight_data_size"),
])
def test_error_bad_parameters(tmp_path, ltype, params, needle):
    from maixnn.runtime import Net
    layer = Layer(ltype, "bad_layer", ["in0"], ["out"], params)
    param, binp = _save(tmp_path, [Layer("Input", "input", [], ["in0"]), layer])
    with open(binp, "wb") as f:  # weights are not reached: load_param fails first
        f.write(b"\0" * 4 * 64)
    with pytest.raises((ModelFormatError, UnsupportedOperatorError)) as e:
        Net(param, binp)
    assert "bad_layer" in str(e.value) and needle in str(e.value)


def test_error_int8_weights_without_scale_term(tmp_path):
    net_layers = [Layer("Input", "input", [], ["in0"]),
                  Layer("Convolution", "c8", ["in0"], ["out"], {0: 1, 1: 1, 6: 2},
                        [Weight("weight", np.ones(2, np.int8), "tagged")])]
    from maixnn.runtime import Net
    param, binp = _save(tmp_path, net_layers)
    with pytest.raises(ModelFormatError) as e:
        Net(param, binp)
    assert "c8" in str(e.value) and "int8" in str(e.value)
