"""maixnn's C engine core and simple layers against the official ncnn wheel.

Every case builds a tiny model with maixnn.ncnn_model.NcnnModel, runs it on
the ncnn wheel (the oracle, fp16 off, 1 thread) and on maixnn.runtime.Net,
and requires the same shape and max |diff| <= 1e-5 * max |ref| (most layers
agree exactly).  The second half feeds malformed models and checks that the
engine refuses them with a typed exception whose message names the problem.
"""
from __future__ import annotations

import os
import struct

import numpy as np
import pytest

from maixnn.errors import InputShapeError, ModelFormatError, RuntimeEngineError, UnsupportedOperatorError
from maixnn.ncnn_model import Layer, NcnnModel, Weight
from maixnn.runtime import Net

ncnn = pytest.importorskip("ncnn")

RTOL = 1e-5


def rand(*shape, seed=0, low=-3.0, high=3.0):
    return np.random.RandomState(seed).uniform(low, high, size=shape).astype(np.float32)


def run_ncnn(param_path, bin_path, inputs, outputs):
    net = ncnn.Net()
    net.opt.use_fp16_storage = False
    net.opt.use_fp16_arithmetic = False
    net.opt.use_fp16_packed = False
    net.opt.num_threads = 1
    assert net.load_param(param_path) == 0, "ncnn refused the .param"
    assert net.load_model(bin_path) == 0, "ncnn refused the .bin"
    ex = net.create_extractor()
    keep = []
    for name, arr in inputs.items():
        # the wheel reads up to 16 bytes past a small array's end when it wraps
        # it (seen under AddressSanitizer): give it slack behind the data
        arr = np.asarray(arr, dtype=np.float32)
        slack = np.zeros(arr.size + 16, dtype=np.float32)
        slack[:arr.size] = arr.ravel()
        arr = slack[:arr.size].reshape(arr.shape)
        # clone(): ncnn.Mat(arr) wraps numpy memory without a refcount, and the
        # wheel crashes when an in-place layer (ReLU, ...) consumes such a blob
        mat = ncnn.Mat(arr).clone()
        keep += [slack, arr, mat]
        assert ex.input(name, mat) == 0
    results = {}
    for name in outputs:
        rc, out = ex.extract(name)
        assert rc == 0, "ncnn could not extract %s" % name
        results[name] = np.array(out, dtype=np.float32).copy()
        del out
    del ex
    net.clear()
    return results


def save(model, tmp_path, stem="m"):
    param = os.path.join(str(tmp_path), stem + ".param")
    binp = os.path.join(str(tmp_path), stem + ".bin")
    model.save(param, binp)
    return param, binp


def check(model, inputs, tmp_path, outputs=None, exact=False):
    """Run on both engines and compare every output."""
    param, binp = save(model, tmp_path)
    if outputs is None:
        outputs = model.output_names()
    ref = run_ncnn(param, binp, inputs, outputs)
    net = Net(param, binp)
    got = net.forward(dict(inputs), outputs=list(outputs))
    for name in outputs:
        r, g = ref[name], got[name]
        assert g.dtype == np.float32
        assert g.shape == r.shape, "%s: maixnn shape %s, ncnn %s" % (name, g.shape, r.shape)
        scale = float(np.abs(r).max())
        diff = float(np.abs(g.astype(np.float64) - r).max())
        if exact:
            assert diff == 0.0, "%s: max diff %g (expected identical)" % (name, diff)
        else:
            assert diff <= RTOL * max(scale, 1e-30), "%s: max diff %g, max |ref| %g" % (name, diff, scale)
    return ref, got


def one_layer(ltype, params=None, in_shape=(3, 5, 7), weights=None, name="l"):
    return NcnnModel([Layer("Input", "in", [], ["x"]),
                      Layer(ltype, name, ["x"], ["y"], params or {}, weights or [])])


# ------------------------------------------------------------------ unary layers

UNARY_CASES = [
    ("ReLU", {}),
    ("ReLU", {0: 0.1}),
    ("Clip", {0: -1.0, 1: 2.5}),
    ("Clip", {1: 6.0}),
    ("Sigmoid", {}),
    ("HardSigmoid", {}),
    ("HardSigmoid", {0: 1.0 / 6, 1: 0.5}),
    ("HardSwish", {}),
    ("HardSwish", {0: 1.0 / 6, 1: 0.5}),
    ("Dropout", {}),
    ("Dropout", {0: 0.5}),
    ("Noop", {}),
]


@pytest.mark.parametrize("ltype,params", UNARY_CASES, ids=["%s%s" % (t, p) for t, p in UNARY_CASES])
@pytest.mark.parametrize("shape", [(3, 5, 7), (4, 6), (11,)])
def test_unary_layers(tmp_path, ltype, params, shape):
    x = rand(*shape, seed=len(shape))
    check(one_layer(ltype, params), {"x": x}, tmp_path)


def test_relu_matches_exactly(tmp_path):
    x = rand(4, 8, 8, seed=3)
    check(one_layer("ReLU", {0: 0.25}), {"x": x}, tmp_path, exact=True)


PARAM_TOKEN_CASES = [
    # an int token in a float slot is converted: slope 2.0
    ("ReLU r 1 1 x y 0=2", lambda x: np.where(x < 0, x * 2, x)),
    # exponent forms, signs
    ("Clip c 1 1 x y 0=-2.5e-1 1=+1.25E0", lambda x: np.clip(x, -0.25, 1.25)),
    ("Clip c 1 1 x y 0=-.5 1=3.", lambda x: np.clip(x, -0.5, 3.0)),
    # ten decimals and more are read exactly (correct rounding)
    ("Clip c 1 1 x y 0=-0.1234567891 1=0.00001234567", lambda x: np.clip(x, np.float32(-0.1234567891),
                                                                       np.float32(0.00001234567))),
    # a float token in an int slot is ignored (axis stays 0)
    ("Softmax s 1 1 x y 0=2.0 1=1", lambda x: np.exp(x - x.max(0)) / np.exp(x - x.max(0)).sum(0)),
    # an all-int array read as floats converts every element
    ("Eltwise e 2 1 x x2 y 0=1 -23301=2,1,2", lambda x: x + 2 * x),
    # a mixed array takes the last element's type (float): the int 1 becomes the float with bits 1
    ("Eltwise e 2 1 x x2 y 0=1 -23301=2,1,2.0", lambda x: x * np.float32(1.4e-45) + 2 * x),
]


@pytest.mark.parametrize("line,expect", PARAM_TOKEN_CASES, ids=[c[0].split(" 1 ")[0] + c[0][-12:]
                                                                for c in PARAM_TOKEN_CASES])
def test_param_tokens_read_like_ncnn(tmp_path, line, expect):
    two = " 2 1 " in line
    layers = ["Input in 0 1 x0"]
    if two:
        layers += ["Split sp 1 2 x0 x x2"]
    else:
        line = line.replace(" x y", " x0 y")
    layers.append(line)
    blobs = 4 if two else 2
    param = os.path.join(str(tmp_path), "m.param")
    binp = os.path.join(str(tmp_path), "m.bin")
    with open(param, "w") as f:
        f.write("7767517\n%d %d\n%s\n" % (len(layers), blobs, "\n".join(layers)))
    open(binp, "wb").close()
    x = rand(2, 4, 5, seed=9)
    ref = run_ncnn(param, binp, {"x0": x}, ["y"])["y"]
    got = Net(param, binp).forward(x)
    np.testing.assert_allclose(ref, expect(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------ shape layers

def test_split_gives_identical_copies(tmp_path):
    model = NcnnModel([Layer("Input", "in", [], ["x"]),
                       Layer("Split", "s", ["x"], ["a", "b", "c"]),
                       Layer("ReLU", "r", ["a"], ["ra"]),
                       Layer("Sigmoid", "g", ["b"], ["gb"])])
    ref, got = check(model, {"x": rand(3, 4, 5)}, tmp_path, exact=False)
    assert set(got) == {"ra", "gb", "c"}
    np.testing.assert_array_equal(got["c"], rand(3, 4, 5))


@pytest.mark.parametrize("shape", [(3, 5, 7), (4, 6), (9,)])
def test_flatten(tmp_path, shape):
    ref, got = check(one_layer("Flatten"), {"x": rand(*shape)}, tmp_path, exact=True)
    assert got["y"].ndim == 1


RESHAPE_CASES = [
    ((2, 3, 4), {0: -1}),
    ((2, 3, 4), {0: 6, 1: -1}),
    ((2, 3, 4), {0: 4, 1: 3, 2: 2}),
    ((2, 3, 4), {0: 0, 1: -1, 2: 2}),
    ((2, 3, 4), {0: 2, 1: 0, 2: -1}),
    ((2, 3, 4), {0: 1, 1: 1, 2: -1}),
    ((24,), {0: 4, 1: 3, 2: 2}),
    ((6, 4), {0: 0, 1: 3, 2: -1}),
]


@pytest.mark.parametrize("shape,params", RESHAPE_CASES, ids=[str(c) for c in RESHAPE_CASES])
def test_reshape(tmp_path, shape, params):
    check(one_layer("Reshape", params), {"x": rand(*shape)}, tmp_path, exact=True)


SOFTMAX_CASES = [((2, 3, 4), 0), ((2, 3, 4), 1), ((2, 3, 4), 2), ((2, 3, 4), -1), ((2, 3, 4), -3),
                 ((5, 6), 0), ((5, 6), 1), ((5, 6), -1), ((10,), 0), ((10,), -1)]


@pytest.mark.parametrize("shape,axis", SOFTMAX_CASES, ids=[str(c) for c in SOFTMAX_CASES])
def test_softmax(tmp_path, shape, axis):
    # large logits: a naive exp would overflow; both engines subtract the max
    x = rand(*shape, seed=5, low=-40, high=90)
    check(one_layer("Softmax", {0: axis, 1: 1}), {"x": x}, tmp_path)


CONCAT_CASES = [
    ([(2, 3, 4), (5, 3, 4), (1, 3, 4)], 0),
    ([(2, 3, 4), (2, 1, 4)], 1),
    ([(2, 3, 4), (2, 3, 6)], 2),
    ([(2, 3, 4), (2, 3, 6)], -1),
    ([(3, 4), (2, 4)], 0),
    ([(3, 4), (3, 2)], 1),
    ([(5,), (7,)], 0),
]


@pytest.mark.parametrize("shapes,axis", CONCAT_CASES, ids=[str(c) for c in CONCAT_CASES])
def test_concat(tmp_path, shapes, axis):
    names = ["x%d" % i for i in range(len(shapes))]
    layers = [Layer("Input", "in%d" % i, [], [n]) for i, n in enumerate(names)]
    layers.append(Layer("Concat", "cat", names, ["y"], {0: axis}))
    inputs = {n: rand(*s, seed=i) for i, (n, s) in enumerate(zip(names, shapes))}
    check(NcnnModel(layers), inputs, tmp_path, exact=True)


# ------------------------------------------------------------------ elementwise with two or more inputs

ELTWISE_CASES = [(0, None, 2), (1, None, 2), (1, [0.5, -2.0], 2), (2, None, 2),
                 (0, None, 3), (1, None, 3), (1, [1.5, 0.25, -1.0], 3), (2, None, 3)]


@pytest.mark.parametrize("op,coeffs,n", ELTWISE_CASES, ids=[str(c) for c in ELTWISE_CASES])
def test_eltwise(tmp_path, op, coeffs, n):
    names = ["x%d" % i for i in range(n)]
    layers = [Layer("Input", "in%d" % i, [], [nm]) for i, nm in enumerate(names)]
    params = {0: op}
    if coeffs is not None:
        params[1] = coeffs
    layers.append(Layer("Eltwise", "e", names, ["y"], params))
    inputs = {nm: rand(3, 4, 5, seed=10 + i) for i, nm in enumerate(names)}
    check(NcnnModel(layers), inputs, tmp_path)


def binary_inputs(op, a_shape, b_shape):
    a = rand(*a_shape, seed=1)
    b = rand(*b_shape, seed=2)
    if op in (3, 8):  # keep divisors away from 0
        a = np.where(np.abs(a) < 0.5, 0.5, a).astype(np.float32)
        b = np.where(np.abs(b) < 0.5, 0.5, b).astype(np.float32)
    if op == 6:  # pow of a positive base
        a = np.abs(a) + 0.1
        b = rand(*b_shape, seed=2, low=-2, high=2)
    return a, b


@pytest.mark.parametrize("op", range(9))
def test_binaryop_same_shape(tmp_path, op):
    a, b = binary_inputs(op, (3, 4, 5), (3, 4, 5))
    model = NcnnModel([Layer("Input", "ia", [], ["a"]), Layer("Input", "ib", [], ["b"]),
                       Layer("BinaryOp", "op", ["a", "b"], ["y"], {0: op})])
    check(model, {"a": a, "b": b}, tmp_path)


@pytest.mark.parametrize("op", range(9))
def test_binaryop_with_scalar(tmp_path, op):
    a, _ = binary_inputs(op, (3, 4, 5), (1,))
    bval = 1.75 if op != 6 else 1.5
    check(one_layer("BinaryOp", {0: op, 1: 1, 2: bval}), {"x": a}, tmp_path)


BROADCAST_CASES = [
    ((2, 3, 4), (2, 1, 1)),     # per channel, 3-D
    ((2, 3, 4), (1, 3, 4)),     # one plane for every channel
    ((2, 3, 4), (2, 3, 1)),
    ((2, 3, 4), (2, 1, 4)),
    ((2, 3, 4), (1, 1, 4)),
    ((2, 1, 4), (1, 3, 1)),     # both sides broadcast
    ((1, 1, 1), (2, 3, 4)),
    ((2, 3, 4), (2,)),          # 1-D with w == c: per channel (pnnx's per-channel constants)
    ((2, 3, 4), (4,)),          # 1-D otherwise: along w
    ((2, 3, 4), (1,)),          # 1 element: scalar
    ((2,), (2, 3, 4)),          # the small operand first
    ((2, 3, 4), (2, 3)),        # 2-D (h=c, w=h) against 3-D
    ((3, 4), (3,)),
    ((3, 4), (4,)),
    ((4,), (3, 4)),
    ((3, 1), (1, 4)),
    ((5,), (1,)),
    ((1,), (5,)),
]


@pytest.mark.parametrize("a_shape,b_shape", BROADCAST_CASES, ids=[str(c) for c in BROADCAST_CASES])
@pytest.mark.parametrize("op", [0, 1, 3, 7])
def test_binaryop_broadcasting(tmp_path, a_shape, b_shape, op):
    a, b = binary_inputs(op, a_shape, b_shape)
    model = NcnnModel([Layer("Input", "ia", [], ["a"]), Layer("Input", "ib", [], ["b"]),
                       Layer("BinaryOp", "op", ["a", "b"], ["y"], {0: op})])
    check(model, {"a": a, "b": b}, tmp_path)


def test_binaryop_with_memorydata_constant(tmp_path):
    # the shape pnnx writes for x + bias.view(1, C, 1, 1): MemoryData then BinaryOp
    bias = rand(4, seed=7)
    model = NcnnModel([Layer("Input", "in", [], ["x"]),
                       Layer("MemoryData", "bias", [], ["b"], {0: 4}, [Weight("data", bias, "raw")]),
                       Layer("BinaryOp", "add", ["x", "b"], ["y"], {0: 0})])
    ref, got = check(model, {"x": rand(4, 3, 3)}, tmp_path, exact=True)
    np.testing.assert_array_equal(got["y"], rand(4, 3, 3) + bias[:, None, None])


# ------------------------------------------------------------------ layers with weights

@pytest.mark.parametrize("shape", [(4, 5, 6), (4, 7), (4,)])
def test_batchnorm(tmp_path, shape):
    c = 4
    rs = np.random.RandomState(3)
    weights = [Weight("slope", rs.uniform(0.5, 2, c), "raw"), Weight("mean", rs.uniform(-1, 1, c), "raw"),
               Weight("var", rs.uniform(0.1, 3, c), "raw"), Weight("bias", rs.uniform(-1, 1, c), "raw")]
    check(one_layer("BatchNorm", {0: c, 1: 1e-3}, weights=weights), {"x": rand(*shape)}, tmp_path)


@pytest.mark.parametrize("bias_term", [0, 1])
@pytest.mark.parametrize("shape", [(4, 5, 6), (4, 7), (4,)])
def test_scale(tmp_path, bias_term, shape):
    rs = np.random.RandomState(4)
    weights = [Weight("scale", rs.uniform(-2, 2, 4), "raw")]
    if bias_term:
        weights.append(Weight("bias", rs.uniform(-2, 2, 4), "raw"))
    check(one_layer("Scale", {0: 4, 1: bias_term}, weights=weights), {"x": rand(*shape)}, tmp_path)


def test_scale_from_second_bottom(tmp_path):
    model = NcnnModel([Layer("Input", "in", [], ["x"]), Layer("Input", "is", [], ["s"]),
                       Layer("Scale", "sc", ["x", "s"], ["y"], {0: -233})])
    check(model, {"x": rand(3, 4, 5), "s": rand(3, seed=8)}, tmp_path)


def test_bias(tmp_path):
    w = [Weight("bias", rand(5, seed=6), "raw")]
    check(one_layer("Bias", {0: 5}, weights=w), {"x": rand(5, 3, 4)}, tmp_path, exact=True)


PADDING_CASES = [
    ((2, 3, 4), {0: 1, 1: 2, 2: 3, 3: 1, 4: 0, 5: -1.5}),
    ((2, 3, 4), {0: 2, 1: 1, 2: 1, 3: 3, 4: 1}),
    ((2, 3, 4), {0: 2, 1: 1, 2: 3, 3: 2, 4: 2}),
    ((3, 3, 4), {7: 1, 8: 2, 0: 1, 4: 0, 5: 0.5}),
    ((3, 3, 4), {7: 2, 8: 1, 2: 1, 4: 1}),
    ((3, 3, 4), {7: 2, 8: 1, 3: 1, 4: 2}),
    ((3, 4), {0: 1, 1: 2, 2: 2, 3: 1, 4: 0, 5: 2.0}),
    ((3, 4), {0: 1, 1: 2, 2: 2, 3: 1, 4: 2}),
    ((3, 4), {7: 1, 8: 1}),      # channel padding is ignored below 3-D, as in ncnn
    ((6,), {0: 1, 1: 1, 2: 2, 3: 3, 4: 1}),
    ((6,), {2: 2, 3: 3, 4: 2}),
]


@pytest.mark.parametrize("shape,params", PADDING_CASES, ids=[str(c) for c in PADDING_CASES])
def test_padding(tmp_path, shape, params):
    check(one_layer("Padding", params), {"x": rand(*shape)}, tmp_path, exact=True)


@pytest.mark.parametrize("front,behind", [(0, 0), (1, 2)])
def test_padding_per_channel_values(tmp_path, front, behind):
    c = 3
    outc = c + front + behind
    values = Weight("per_channel_pad", np.arange(outc, dtype=np.float32) * 10 + 1, "raw")
    params = {0: 1, 1: 1, 2: 2, 3: 1, 4: 0, 6: outc, 7: front, 8: behind}
    check(one_layer("Padding", params, weights=[values]), {"x": rand(c, 3, 4)}, tmp_path, exact=True)


@pytest.mark.parametrize("params,shape", [({0: 5}, (5,)), ({0: 3, 1: 2}, (2, 3)), ({0: 3, 1: 2, 2: 4}, (4, 2, 3))])
def test_memorydata(tmp_path, params, shape):
    data = rand(*shape, seed=12)
    model = NcnnModel([Layer("Input", "in", [], ["x"]),
                       Layer("MemoryData", "md", [], ["m"], params, [Weight("data", data, "raw")]),
                       Layer("BinaryOp", "mul", ["x", "m"], ["y"], {0: 2})])
    ref, got = check(model, {"x": rand(*shape)}, tmp_path, outputs=["y", "m"], exact=True)
    np.testing.assert_array_equal(got["m"], data)


def tagged_bin(tag, payload):
    out = struct.pack("<I", tag) + payload
    return out + b"\0" * (-len(out) % 4)


def test_memorydata_tagged_arrays(tmp_path):
    """21=0 reads a tagged array: float32, float16 and 256-entry codebook forms."""
    values = np.array([0.5, -1.25, 3.0, 65504.0, -0.0, 1e-3, 7.0], dtype=np.float32)
    book = np.linspace(-4, 4, 256).astype(np.float32)
    idx = np.array([0, 255, 17, 128, 3, 200, 99], dtype=np.uint8)
    bins = {
        "f32": tagged_bin(0, values.astype("<f4").tobytes()),
        "f16": tagged_bin(0x01306B47, values.astype("<f2").tobytes()),
        "codebook": tagged_bin(0x00010203, book.astype("<f4").tobytes() + idx.tobytes()),
    }
    expect = {"f32": values, "f16": values.astype(np.float16).astype(np.float32), "codebook": book[idx]}
    for kind, data in bins.items():
        param = os.path.join(str(tmp_path), kind + ".param")
        binp = os.path.join(str(tmp_path), kind + ".bin")
        with open(param, "w") as f:
            f.write("7767517\n1 1\nMemoryData md 0 1 m 0=7 21=0\n")
        with open(binp, "wb") as f:
            f.write(data)
        ref = run_ncnn(param, binp, {}, ["m"])["m"]
        got = Net(param, binp).forward({}, outputs=["m"])["m"]
        np.testing.assert_array_equal(ref, expect[kind])
        np.testing.assert_array_equal(got, expect[kind])


# ------------------------------------------------------------------ executor behaviour

def test_only_needed_layers_run_and_intermediates_on_request(tmp_path):
    # the branch to "bad" would fail (Reshape to 7 elements of 60); asking only
    # for "y" must not run it, asking for "bad" must report that layer by name
    model = NcnnModel([Layer("Input", "in", [], ["x"]),
                       Layer("Split", "sp", ["x"], ["x0", "x1"]),
                       Layer("ReLU", "r", ["x0"], ["mid"]),
                       Layer("Sigmoid", "s", ["mid"], ["y"]),
                       Layer("Reshape", "broken", ["x1"], ["bad"], {0: 7})])
    param, binp = save(model, tmp_path)
    net = Net(param, binp)
    x = rand(3, 4, 5)
    out = net.forward(x, outputs=["y", "mid"])
    np.testing.assert_array_equal(out["mid"], np.maximum(x, 0))
    with pytest.raises(InputShapeError, match="broken.*Reshape.*60"):
        net.forward(x, outputs=["bad"])


def test_declared_input_shape_is_enforced(tmp_path):
    model = NcnnModel([Layer("Input", "in", [], ["x"], {0: 5, 1: 4, 2: 3}), Layer("ReLU", "r", ["x"], ["y"])])
    param, binp = save(model, tmp_path)
    net = Net(param, binp)
    assert net.input_shapes == {"x": (3, 4, 5)}
    np.testing.assert_array_equal(net.forward(rand(3, 4, 5)), np.maximum(rand(3, 4, 5), 0))
    with pytest.raises(InputShapeError, match=r"input 'x' expects c,h,w = 3,4,5, got 3,5,4"):
        net.forward(rand(3, 5, 4))


def test_weight_counts_and_graph_metadata(tmp_path):
    rs = np.random.RandomState(0)
    bn = [Weight(n, rs.uniform(0.5, 1, 6), "raw") for n in ("slope", "mean", "var", "bias")]
    model = NcnnModel([Layer("Input", "in", [], ["x"]),
                       Layer("BatchNorm", "bn", ["x"], ["b"], {0: 6, 1: 1e-5}, bn),
                       Layer("Split", "sp", ["b"], ["b0", "b1"]),
                       Layer("Scale", "sc", ["b0"], ["s"], {0: 6, 1: 1},
                             [Weight("scale", np.ones(6), "raw"), Weight("bias", np.zeros(6), "raw")]),
                       Layer("ReLU", "r", ["b1"], ["r"])])
    param, binp = save(model, tmp_path)
    net = Net(param, binp)
    assert [l.weight_count for l in net.layers] == [0, 24, 0, 12, 0]
    assert net.input_names == ["x"]
    assert net.output_names == ["s", "r"]
    assert net.blob_names == ["x", "b", "b0", "b1", "s", "r"]


# ------------------------------------------------------------------ malformed models

GOOD_PARAM = ("7767517\n3 3\n"
              "Input in 0 1 x 0=4 1=3 2=2\n"
              "BatchNorm bn 1 1 x b 0=2 1=1.0e-5\n"
              "ReLU relu 1 1 b y\n")
GOOD_BIN = np.array([1, 2, 0, 0, 1, 1, 0, 0], dtype="<f4").tobytes()


def load_text(param_text, bin_data=GOOD_BIN):
    return Net.from_memory(param_text, bin_data)


def test_good_model_loads_and_runs():
    net = load_text(GOOD_PARAM)
    x = rand(2, 3, 4)
    expect = np.maximum(x * np.array([1, 2], dtype=np.float32)[:, None, None] / np.sqrt(np.float32(1 + 1e-5)), 0)
    np.testing.assert_allclose(net.forward(x), expect, rtol=1e-6)


BAD_PARAMS = [
    ("bad magic", GOOD_PARAM.replace("7767517", "7767518"), ModelFormatError, r"line 1: bad magic '7767518'"),
    ("empty", "", ModelFormatError, r"empty"),
    ("binary garbage", "\x00\x01garbage", ModelFormatError, r"NUL byte|magic"),
    ("layer count too big", GOOD_PARAM.replace("3 3\n", "4 3\n"), ModelFormatError, r"declares 4 layers, the file has 3"),
    ("layer count too small", GOOD_PARAM.replace("3 3\n", "2 3\n"), ModelFormatError, r"more layer lines than the 2"),
    ("blob count wrong", GOOD_PARAM.replace("3 3\n", "3 4\n"), ModelFormatError, r"declares 4 blobs, the layers use 3"),
    ("negative count", GOOD_PARAM.replace("3 3\n", "-3 3\n"), ModelFormatError, r"line 2"),
    ("huge count", GOOD_PARAM.replace("3 3\n", "2000000000 3\n"), ModelFormatError, r"line 2"),
    ("unknown layer type", GOOD_PARAM.replace("ReLU relu", "Frobnicate frob"), UnsupportedOperatorError,
     r"line 5: layer 'frob' \(Frobnicate\): layer type 'Frobnicate' is not supported"),
    ("dangling bottom", GOOD_PARAM.replace("ReLU relu 1 1 b y", "ReLU relu 1 1 nowhere y"), ModelFormatError,
     r"line 5: layer 'relu' \(ReLU\): bottom blob 'nowhere' is not produced by any earlier layer"),
    ("cycle / use before produce", GOOD_PARAM.replace("BatchNorm bn 1 1 x b", "BatchNorm bn 1 1 y b"),
     ModelFormatError, r"bottom blob 'y' is not produced"),
    ("top produced twice", GOOD_PARAM.replace("ReLU relu 1 1 b y", "ReLU relu 1 1 b x"), ModelFormatError,
     r"top blob 'x' is already produced by layer 'in'"),
    ("too long token", GOOD_PARAM.replace("1=1.0e-5", "1=0.00001000000000"), ModelFormatError,
     r"line 4: layer 'bn' \(BatchNorm\): value '0.00001000000000' .* 16 characters long; ncnn reads at most 15"),
    ("float out of range", GOOD_PARAM.replace("1=1.0e-5", "1=1e39"), ModelFormatError, r"bad float value '1e39'"),
    ("int out of range", GOOD_PARAM.replace("0=2 1=1.0e-5", "0=99999999999"), ModelFormatError,
     r"bad integer value '99999999999'"),
    ("int with garbage", GOOD_PARAM.replace("0=2 1=1.0e-5", "0=2abc"), ModelFormatError, r"bad integer value '2abc'"),
    ("bad float", GOOD_PARAM.replace("1=1.0e-5", "1=1.0x5"), ModelFormatError, r"bad float value '1.0x5'"),
    ("param id out of range", GOOD_PARAM.replace("1=1.0e-5", "32=1.0"), ModelFormatError,
     r"parameter id 32 .* outside 0..31"),
    ("array length lies", GOOD_PARAM.replace("1=1.0e-5", "-23301=3,1.0,2.0"), ModelFormatError,
     r"declares 3 values, has 2"),
    ("counts exceed names", GOOD_PARAM.replace("ReLU relu 1 1 b y", "ReLU relu 1 3 b y"), ModelFormatError,
     r"declares 1 bottoms and 3 tops but the line has 2 names"),
    ("wrong bottom count for type", GOOD_PARAM.replace("ReLU relu 1 1 b y", "ReLU relu 0 1 y"), ModelFormatError,
     r"ReLU takes 1 bottom blob\(s\), the line has 0"),
    ("binaryop needs two bottoms", GOOD_PARAM.replace("ReLU relu 1 1 b y", "BinaryOp add 1 1 b y 0=0"),
     ModelFormatError, r"BinaryOp takes 2 bottom"),
    ("softmax without fixbug0", GOOD_PARAM.replace("ReLU relu 1 1 b y", "Softmax sm 1 1 b y 0=1"),
     ModelFormatError, r"fixbug0"),
    ("negative channels", GOOD_PARAM.replace("0=2 1=1.0e-5", "0=-2 1=1.0e-5"), ModelFormatError,
     r"layer 'bn' \(BatchNorm\): BatchNorm channels \(0=\) must be positive, got -2"),
]


@pytest.mark.parametrize("case,text,exc,pattern", BAD_PARAMS, ids=[c[0] for c in BAD_PARAMS])
def test_malformed_param_is_refused(case, text, exc, pattern):
    with pytest.raises(exc, match=pattern):
        load_text(text)


def test_truncated_bin_names_layer_and_offset():
    with pytest.raises(ModelFormatError, match=r"layer 'bn' \(BatchNorm\): var: .bin truncated.* byte offset 16"):
        load_text(GOOD_PARAM, GOOD_BIN[:20])


def test_empty_bin_is_truncated():
    with pytest.raises(ModelFormatError, match=r"layer 'bn'.*slope.*truncated"):
        load_text(GOOD_PARAM, b"")


def test_leftover_bin_bytes():
    with pytest.raises(ModelFormatError, match=r"8 bytes left over"):
        load_text(GOOD_PARAM, GOOD_BIN + b"\0" * 8)


def test_bin_from_files_and_missing_file(tmp_path):
    param = tmp_path / "m.param"
    param.write_text(GOOD_PARAM)
    with pytest.raises(ModelFormatError, match="cannot open"):
        Net(str(param), str(tmp_path / "missing.bin"))
    with pytest.raises(ModelFormatError, match="cannot open"):
        Net(str(tmp_path / "missing.param"), str(tmp_path / "missing.bin"))


def test_weights_required_when_layers_have_them():
    net = Net.from_memory(GOOD_PARAM, None)
    with pytest.raises(RuntimeEngineError, match=r"weights are not loaded.*'bn'"):
        net.forward(rand(2, 3, 4))


FORWARD_ERRORS = [
    ("reshape product", "Reshape rs 1 1 x y 0=5 1=5", InputShapeError,
     r"layer 'rs' \(Reshape\): cannot reshape input c,h,w = 2,3,4 \(24 elements\)"),
    ("broadcast mismatch", "Reshape rs 1 1 x y 0=3 1=8\nBinaryOp add 2 1 x y z 0=0", InputShapeError,
     r"layer 'add' \(BinaryOp\): cannot broadcast"),
    ("softmax axis", "Softmax sm 1 1 x y 0=3 1=1", InputShapeError, r"layer 'sm' \(Softmax\): axis 3 is out of range"),
    ("concat mismatch", "Reshape rs 1 1 x y 0=3 1=8\nConcat cat 2 1 x y z 0=0", InputShapeError,
     r"layer 'cat' \(Concat\): bottom 1 is 2-D"),
    ("bias size", "Bias b 1 1 x y 0=1", InputShapeError, r"layer 'b' \(Bias\): has 1 bias values, its input has 2"),
]


@pytest.mark.parametrize("case,lines,exc,pattern", FORWARD_ERRORS, ids=[c[0] for c in FORWARD_ERRORS])
def test_forward_errors_name_the_layer(case, lines, exc, pattern):
    body = lines.split("\n")
    split_needed = sum(l.split()[4:4 + int(l.split()[2])].count("x") for l in body) > 1
    layers = ["Input in 0 1 x"]
    if split_needed:
        layers.append("Split sp 1 2 x x_a x_b")
        fixed = []
        uses = iter(["x_a", "x_b"])
        for l in body:
            tok = l.split()
            nb = int(tok[2])
            tok[4:4 + nb] = [next(uses) if t == "x" else t for t in tok[4:4 + nb]]
            fixed.append(" ".join(tok))
        body = fixed
    layers += body
    blobs = set()
    for l in layers:
        tok = l.split()
        nb, nt = int(tok[2]), int(tok[3])
        blobs.update(tok[4:4 + nb + nt])
    text = "7767517\n%d %d\n%s\n" % (len(layers), len(blobs), "\n".join(layers))
    bin_data = struct.pack("<f", 1.0) if "Bias" in lines else b""
    net = load_text(text, bin_data)
    with pytest.raises(exc, match=pattern):
        net.forward(rand(2, 3, 4), outputs=[net.output_names[-1]])


# ------------------------------------------------------------------ the C session API directly

@pytest.fixture
def capi():
    """(ffi, lib): the engine's C API through cffi, from the binding's one declaration."""
    from maixnn import cbinding, runtime
    c = cbinding.CffiLibrary(runtime.library_path(), runtime.CDEF)
    return c.ffi, c.lib


def c_net(capi, text, bin_data=b""):
    ffi, lib = capi
    net = lib.mxn_net_create()
    raw = text.encode()
    assert lib.mxn_net_load_param_mem(net, raw, len(raw)) == 0, ffi.string(lib.mxn_net_error(net))
    assert lib.mxn_net_load_bin_mem(net, bin_data, len(bin_data)) == 0, ffi.string(lib.mxn_net_error(net))
    return ffi.gc(net, lib.mxn_net_destroy)


CHAIN = ("7767517\n4 4\nInput in 0 1 x\nReLU r 1 1 x a\nSigmoid s 1 1 a b\n"
         "BinaryOp mul 1 1 b y 0=2 1=1 2=3.0\n")


def test_session_input_not_set_names_the_input(capi):
    ffi, lib = capi
    net = c_net(capi, CHAIN)
    s = ffi.gc(lib.mxn_session_create(net), lib.mxn_session_destroy)
    assert lib.mxn_session_run(s, ffi.NULL, 0) == 4  # MXN_ERR_NOT_READY
    assert ffi.string(lib.mxn_session_error(s)).decode() == \
        "input 'x' has not been set (mxn_session_set_input)"


def test_session_feeding_an_intermediate_blob_skips_upstream_layers(capi):
    ffi, lib = capi
    net = c_net(capi, CHAIN)
    s = ffi.gc(lib.mxn_session_create(net), lib.mxn_session_destroy)
    a = rand(6, seed=3)
    # no value for the graph input: giving 'a' is enough, ReLU must not run
    assert lib.mxn_session_set_input(s, lib.mxn_net_find_blob(net, b"a"), 0, ffi.from_buffer(a), 1, 6, 1, 1) == 0
    wanted = ffi.new("int[]", [lib.mxn_net_find_blob(net, b"y"), lib.mxn_net_find_blob(net, b"a")])
    assert lib.mxn_session_run(s, wanted, 2) == 0, ffi.string(lib.mxn_session_error(s))
    dims, w, h, c, dt = (ffi.new("int *") for _ in range(5))
    ptr = lib.mxn_session_blob(s, wanted[0], dims, w, h, c, dt)
    y = np.frombuffer(ffi.buffer(ffi.cast("float *", ptr), 4 * 6), np.float32)
    np.testing.assert_allclose(y, 3.0 / (1 + np.exp(-a)), rtol=1e-6)
    assert (dims[0], w[0], h[0], c[0], dt[0]) == (1, 6, 1, 1, 0)
    # an intermediate that was computed but not asked for is not kept
    assert lib.mxn_session_blob(s, lib.mxn_net_find_blob(net, b"b"), dims, w, h, c, dt) == ffi.NULL
    assert "blob 'b' is not available" in ffi.string(lib.mxn_session_error(s)).decode()


def test_session_argument_errors(capi):
    ffi, lib = capi
    net = c_net(capi, "7767517\n2 2\nInput in 0 1 x 0=4 1=3 2=2\nReLU r 1 1 x y\n")
    s = ffi.gc(lib.mxn_session_create(net), lib.mxn_session_destroy)
    x = rand(2, 3, 4)
    assert lib.mxn_session_set_input(s, 7, 0, ffi.from_buffer(x), 3, 4, 3, 2) == 1
    assert "blob index 7 out of range" in ffi.string(lib.mxn_session_error(s)).decode()
    assert lib.mxn_session_set_input(s, 0, 0, ffi.from_buffer(x), 4, 4, 3, 2) == 11
    assert lib.mxn_session_set_input(s, 0, 0, ffi.from_buffer(x), 3, 4, 2, 3) == 11
    assert ffi.string(lib.mxn_session_error(s)).decode() == "input 'x' expects c,h,w = 2,3,4, got 3,2,4"
    assert lib.mxn_session_set_input(s, 0, 0, ffi.from_buffer(x), 3, 4, 3, 2) == 0
    assert lib.mxn_session_run(s, ffi.new("int[]", [5]), 1) == 1
    assert lib.mxn_session_run(s, ffi.NULL, 0) == 0
    assert lib.mxn_session_set_num_threads(s, 0) == 1


def test_int8_blobs_pass_through_shape_layers(tmp_path):
    # Split/Flatten/Reshape/Concat/Padding/Noop move int8 values unchanged (int8
    # convolutions emit int8 blobs); arithmetic layers refuse them by name
    model = NcnnModel([Layer("Input", "in", [], ["x"]),
                       Layer("Split", "sp", ["x"], ["a", "b", "c", "d"]),
                       Layer("Concat", "cat", ["a", "b"], ["ab"], {0: 0}),
                       Layer("Reshape", "rs", ["ab"], ["r"], {0: -1}),
                       Layer("Padding", "pad", ["c"], ["p"], {0: 1, 2: 1, 5: -7.9}),
                       Layer("Noop", "nop", ["d"], ["n"])])
    param, binp = save(model, tmp_path)
    net = Net(param, binp)
    x = np.arange(-12, 12, dtype=np.int8).reshape(2, 3, 4)
    out = net.forward(x, outputs=["r", "p", "n"])
    np.testing.assert_array_equal(out["r"], np.concatenate([x, x]).ravel())
    expect_p = np.full((2, 4, 5), -7, np.int8)
    expect_p[:, 1:, 1:] = x
    np.testing.assert_array_equal(out["p"], expect_p)
    np.testing.assert_array_equal(out["n"], x)
    assert out["r"].dtype == np.int8 and out["p"].dtype == np.int8
    relu = Net.from_memory("7767517\n2 2\nInput in 0 1 x\nReLU r 1 1 x y\n", b"")
    with pytest.raises(UnsupportedOperatorError, match=r"layer 'r' \(ReLU\): ReLU needs a float32 input"):
        relu.forward(x)
