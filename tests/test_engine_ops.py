"""The engine's layers for real board networks (issue 8) against the official
ncnn wheel: Crop, Slice, ShuffleChannel, Permute, the activations, Deconvolution,
the normalizations, MatMul, Reduction.  Same harness as test_engine_layers
(maixnn.runtime.Net vs the wheel, max |diff| <= 1e-5 * max |ref|), plus an
independent numpy reference where the layer's meaning is what matters."""
from __future__ import annotations

import numpy as np
import pytest

from maixnn.errors import ModelFormatError, RuntimeEngineError, UnsupportedOperatorError
from maixnn.ncnn_model import Layer, NcnnModel, Weight
from maixnn.runtime import Net

from test_engine_layers import check, one_layer, rand, save

pytest.importorskip("ncnn")


# ------------------------------------------------------------------ Crop (slice form)

CROP_CASES = [
    ((6, 5, 7), [1], [4], [0], lambda x: x[1:4]),
    ((6, 5, 7), [1, 2], [-1, 6], [1, 2], lambda x: x[:, 1:-1, 2:6]),
    ((6, 5, 7), [-3], [-233], [-1], lambda x: x[:, :, -3:]),
    ((6, 5, 7), [2, 0, 1], [5, 3, 100], None, lambda x: x[2:5, 0:3, 1:]),
    ((5, 8), [3], [7], [1], lambda x: x[:, 3:7]),
    ((5, 8), [1], [-233], [0], lambda x: x[1:]),
    ((10,), [2], [9], [0], lambda x: x[2:9]),
]


@pytest.mark.parametrize("shape,starts,ends,axes,ref", CROP_CASES, ids=[str(c[:4]) for c in CROP_CASES])
def test_crop_slice_form(tmp_path, shape, starts, ends, axes, ref):
    params = {9: starts, 10: ends}
    if axes is not None:
        params[11] = axes
    x = rand(*shape, seed=2)
    _, got = check(one_layer("Crop", params), {"x": x}, tmp_path, exact=True)
    np.testing.assert_array_equal(got["y"], ref(x))


def test_crop_offset_form_is_refused(tmp_path):
    param, binp = save(one_layer("Crop", {0: 1, 3: 2}), tmp_path)
    with pytest.raises((UnsupportedOperatorError, RuntimeEngineError, ModelFormatError), match="slice form"):
        Net(param, binp)


# ------------------------------------------------------------------ Slice

SLICE_CASES = [
    ((6, 4, 5), [2, 4], 0),
    ((6, 4, 5), [-233, -233, -233], 0),
    ((6, 4, 5), [1, 3], 1),
    ((6, 4, 5), [2, -233], -1),
    ((4, 9), [4, 5], 1),
    ((4, 9), [1, 3], 0),
    ((10,), [3, 3, 4], 0),
]


@pytest.mark.parametrize("shape,slices,axis", SLICE_CASES, ids=[str(c) for c in SLICE_CASES])
def test_slice(tmp_path, shape, slices, axis):
    tops = ["y%d" % i for i in range(len(slices))]
    model = NcnnModel([Layer("Input", "in", [], ["x"]),
                       Layer("Slice", "s", ["x"], tops, {0: slices, 1: axis})])
    x = rand(*shape, seed=3)
    _, got = check(model, {"x": x}, tmp_path, exact=True)
    sizes = [s if s != -233 else None for s in slices]
    rest, left, k = x.shape[axis], len(sizes), 0
    for i, s in enumerate(sizes):
        n = s if s is not None else (rest - k) // (left - i)
        np.testing.assert_array_equal(got[tops[i]], np.take(x, range(k, k + n), axis=axis))
        k += n


# ------------------------------------------------------------------ ShuffleChannel, Permute

@pytest.mark.parametrize("group,reverse", [(2, 0), (3, 0), (4, 1), (1, 0)])
def test_shufflechannel(tmp_path, group, reverse):
    x = rand(12, 3, 4, seed=4)
    _, got = check(one_layer("ShuffleChannel", {0: group, 1: reverse}), {"x": x}, tmp_path, exact=True)
    g = 12 // group if reverse else group
    np.testing.assert_array_equal(got["y"], x.reshape(g, 12 // g, 3, 4).transpose(1, 0, 2, 3).reshape(12, 3, 4))


PERMUTE_3D = {0: (0, 1, 2), 1: (0, 2, 1), 2: (1, 0, 2), 3: (1, 2, 0), 4: (2, 0, 1), 5: (2, 1, 0)}


@pytest.mark.parametrize("order", sorted(PERMUTE_3D))
def test_permute_3d(tmp_path, order):
    x = rand(2, 3, 5, seed=5)
    _, got = check(one_layer("Permute", {0: order}), {"x": x}, tmp_path, exact=True)
    np.testing.assert_array_equal(got["y"], x.transpose(PERMUTE_3D[order]))


@pytest.mark.parametrize("order", [0, 1])
def test_permute_2d(tmp_path, order):
    x = rand(3, 5, seed=6)
    _, got = check(one_layer("Permute", {0: order}), {"x": x}, tmp_path, exact=True)
    np.testing.assert_array_equal(got["y"], x.T if order else x)


# ------------------------------------------------------------------ activations

ACT_CASES = [("Swish", {}, lambda x: x / (1 + np.exp(-x))),
             ("Mish", {}, lambda x: x * np.tanh(np.log1p(np.exp(x)))),
             ("GELU", {}, None), ("GELU", {0: 1}, None)]


@pytest.mark.parametrize("ltype,params,ref", ACT_CASES, ids=["%s%s" % (c[0], c[1]) for c in ACT_CASES])
@pytest.mark.parametrize("shape", [(3, 5, 7), (4, 6), (11,)])
def test_activations(tmp_path, ltype, params, ref, shape):
    x = rand(*shape, seed=len(shape), low=-6, high=6)
    _, got = check(one_layer(ltype, params), {"x": x}, tmp_path)
    if ref is not None:
        np.testing.assert_allclose(got["y"], ref(x.astype(np.float64)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape,n", [((4, 3, 5), 4), ((4, 3, 5), 1), ((5, 6), 5), ((7,), 7)])
def test_prelu(tmp_path, shape, n):
    slope = np.linspace(-0.5, 0.5, n).astype(np.float32)
    x = rand(*shape, seed=8)
    _, got = check(one_layer("PReLU", {0: n}, weights=[Weight("slope", slope, "raw")]), {"x": x}, tmp_path,
                   exact=True)
    s = slope.reshape((-1,) + (1,) * (len(shape) - 1)) if n > 1 else slope[0]
    np.testing.assert_array_equal(got["y"], np.where(x < 0, x * s, x))


# ------------------------------------------------------------------ Deconvolution

DECONV_CASES = [
    ({0: 5, 1: 3, 3: 2, 4: 1, 15: 0, 14: 1, 16: 0, 5: 1}, 1, (4, 5, 6)),
    ({0: 6, 1: 2, 3: 2, 5: 0}, 1, (4, 5, 6)),
    ({0: 3, 1: 4, 11: 3, 2: 2, 12: 1, 3: 1, 13: 2, 4: 2, 15: 1, 14: 0, 16: 1, 5: 1, 9: 1}, 1, (4, 5, 6)),
    ({0: 6, 1: 3, 3: 2, 4: 1, 15: 1, 14: 1, 16: 1, 5: 1, 7: 2}, 2, (4, 5, 6)),
    ({0: 4, 1: 4, 3: 2, 4: 1, 15: 1, 14: 1, 16: 1, 5: 1, 7: 4, 9: 2, 10: [0.1]}, 4, (4, 5, 6)),
]


@pytest.mark.parametrize("params,group,shape", DECONV_CASES, ids=[str(i) for i in range(len(DECONV_CASES))])
def test_deconvolution(tmp_path, params, group, shape):
    params = dict(params)
    cin, cout = shape[0], params[0]
    kw, kh = params[1], params.get(11, params[1])
    w = rand(cout * (cin // group) * kw * kh, seed=9, low=-1, high=1)
    params[6] = w.size
    weights = [Weight("weight", w, "tagged")]
    if params.get(5):
        weights.append(Weight("bias", rand(cout, seed=10), "raw"))
    ltype = "DeconvolutionDepthWise" if group > 1 else "Deconvolution"
    if group > 1:
        params[7] = group
    check(one_layer(ltype, params, weights=weights), {"x": rand(*shape, seed=11)}, tmp_path)


# ------------------------------------------------------------------ normalizations, MatMul

@pytest.mark.parametrize("shape,size,affine", [((6, 10), 10, 1), ((6, 10), 10, 0), ((3, 4, 5), 5, 1),
                                                ((3, 4, 5), 20, 1), ((9,), 9, 1)])
def test_layernorm(tmp_path, shape, size, affine):
    weights = [Weight("gamma", rand(size, seed=1), "raw"), Weight("beta", rand(size, seed=2), "raw")] if affine else []
    x = rand(*shape, seed=3) * 2 + 1
    _, got = check(one_layer("LayerNorm", {0: size, 1: 1e-5, 2: affine}, weights=weights), {"x": x}, tmp_path)
    xs = x.reshape(-1, size).astype(np.float64)
    ref = (xs - xs.mean(1, keepdims=True)) / np.sqrt(xs.var(1, keepdims=True) + 1e-5)
    if affine:
        ref = ref * rand(size, seed=1) + rand(size, seed=2)
    np.testing.assert_allclose(got["y"].reshape(-1, size), ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("shape,group,affine", [((6, 4, 5), 3, 1), ((6, 4, 5), 6, 0), ((8, 5), 2, 1), ((6,), 2, 1)])
def test_groupnorm(tmp_path, shape, group, affine):
    c = shape[0]
    weights = [Weight("gamma", rand(c, seed=1), "raw"), Weight("beta", rand(c, seed=2), "raw")] if affine else []
    check(one_layer("GroupNorm", {0: group, 1: c, 2: 1e-5, 3: affine}, weights=weights),
          {"x": rand(*shape, seed=4)}, tmp_path)


MATMUL_CASES = [((4, 5), (5, 3), 0), ((4, 5), (3, 5), 1), ((2, 4, 5), (2, 5, 3), 0), ((2, 4, 5), (2, 3, 5), 1),
                ((2, 4, 5), (5, 3), 0), ((4, 5), (3, 5, 6), 0), ((1, 4, 5), (3, 5, 2), 0), ((5,), (5, 3), 0),
                ((4, 5), (5,), 0), ((5,), (5,), 0)]


@pytest.mark.parametrize("a,b,transB", MATMUL_CASES, ids=[str(c) for c in MATMUL_CASES])
def test_matmul(tmp_path, a, b, transB):
    model = NcnnModel([Layer("Input", "ia", [], ["a"]), Layer("Input", "ib", [], ["b"]),
                       Layer("MatMul", "mm", ["a", "b"], ["y"], {0: transB})])
    xa, xb = rand(*a, seed=1), rand(*b, seed=2)
    _, got = check(model, {"a": xa, "b": xb}, tmp_path)
    ref = np.matmul(xa.astype(np.float64), np.swapaxes(xb, -1, -2) if transB else xb)
    np.testing.assert_allclose(got["y"].reshape(-1), ref.reshape(-1), rtol=1e-4, atol=1e-4)


# ------------------------------------------------------------------ Reduction

NP_REDUCE = {0: np.sum, 1: lambda x, axis, keepdims: np.sum(np.abs(x), axis=axis, keepdims=keepdims),
             2: lambda x, axis, keepdims: np.sum(x * x, axis=axis, keepdims=keepdims), 3: np.mean, 4: np.max,
             5: np.min}
REDUCE_CASES = [((2, 3, 4), 3, [0], 1), ((2, 3, 4), 3, [1, 2], 0), ((2, 3, 4), 0, [1, 2], 1),
                ((2, 3, 4), 4, [-1], 1), ((2, 3, 4), 5, [0, 2], 0), ((2, 3, 4), 1, [2], 0),
                ((2, 3, 4), 2, [0, 1, 2], 0), ((5, 6), 3, [1], 1), ((5, 6), 4, [0], 0), ((7,), 0, [0], 0)]


@pytest.mark.parametrize("shape,op,axes,keepdims", REDUCE_CASES, ids=[str(c) for c in REDUCE_CASES])
def test_reduction(tmp_path, shape, op, axes, keepdims):
    x = rand(*shape, seed=12)
    _, got = check(one_layer("Reduction", {0: op, 1: 0, 3: axes, 4: keepdims, 5: 1}), {"x": x}, tmp_path)
    ref = NP_REDUCE[op](x.astype(np.float64), axis=tuple(axes), keepdims=bool(keepdims))
    np.testing.assert_allclose(got["y"].reshape(-1), np.asarray(ref).reshape(-1), rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------ int8 grouped convolution, 4 inputs per group

def test_int8_grouped_conv_four_inputs_per_group_matches_exact_reference(tmp_path):
    """The case the x86 ncnn wheel gets wrong (12 -> 24 channels, group 3: 4
    input channels per group; measured cosine 0.29 against float there), so
    the reference is an exact numpy loop: int8 input (float2int8 of
    x * bottom_scale), int8 products summed in int32, then
    fmaf(acc, 1 / (bottom_scale * weight_scale[g]), bias)."""
    from test_engine_compute import _float2int8, _fma32, _input_layer, _int8_conv, _run_maixnn, _save
    rng = np.random.default_rng(12)
    shape, group, cout, s_in = (12, 7, 8), 3, 24, 37.0
    x = (rng.standard_normal(shape) * 2).astype(np.float32)
    conv = _int8_conv(rng, "ConvolutionDepthWise", "g", "in0", "out", 12, cout, 1, s_in, group=group,
                      params={4: 1})
    param, binp = _save(tmp_path, [_input_layer(shape), conv])
    got = _run_maixnn(param, binp, x, ["out"])["out"]
    w = conv.weight("weight").data.reshape(cout, 4, 3, 3).astype(np.int64)
    bias = np.asarray(conv.weight("bias").data, np.float32)
    ws = np.asarray(conv.weight("weight_scales").data, np.float32)
    q = np.pad(_float2int8(x * np.float32(s_in)).astype(np.int64), ((0, 0), (1, 1), (1, 1)))
    ref = np.zeros((cout, 7, 8), np.float32)
    for o in range(cout):
        g = o // (cout // group)
        acc = np.zeros((7, 8), np.int64)
        for i in range(4):
            for ky in range(3):
                for kx in range(3):
                    acc += w[o, i, ky, kx] * q[g * 4 + i, ky:ky + 7, kx:kx + 8]
        scale = np.float32(1.0) / (np.float32(s_in) * ws[g])
        ref[o] = _fma32(acc.astype(np.float32), scale, bias[o])
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6)
