"""Per-operator converter tests on ONNX graphs built by hand (onnx.helper):
the attribute and opset variants torch's exporter does not write, each
converted by maixnn, run on the official ncnn wheel and compared with
onnxruntime (cosine >= 0.99999, max abs err <= 1e-4 * max|y|)."""
from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("ncnn")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import maixnn  # noqa: E402
from maixnn.errors import UnsupportedOperatorError  # noqa: E402

import helpers  # noqa: E402

RNG = np.random.default_rng(7)


def w(*shape, scale=0.3):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def build(tmp_path, nodes, consts, in_shape, opset=13, outputs=("output0",), name="m"):
    """Write a one-input ONNX model; consts: {name: array} initializers."""
    inp = helper.make_tensor_value_info("input0", TensorProto.FLOAT, [1] + list(in_shape))
    outs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs]
    inits = [numpy_helper.from_array(np.asarray(v), k) for k, v in consts.items()]
    graph = helper.make_graph(nodes, name, [inp], outs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7
    # (no onnx.checker: outputs are declared without shapes; onnxruntime validates the model)
    path = str(tmp_path / (name + ".onnx"))
    onnx.save(model, path)
    return path


def convert_and_check(tmp_path, onnx_path, in_shape, name="m"):
    base = str(tmp_path / name)
    report = maixnn.convert(onnx_path, base)
    x = helpers.random_input(in_shape, 11)
    ref = helpers.run_onnxruntime(onnx_path, x)
    got = helpers.run_ncnn(base + ".param", base + ".bin", x, output_names=list(ref))
    for k in ref:
        helpers.assert_close(got[k], ref[k], what=k)
    return helpers.param_layers(base + ".param"), report


def types(layers):
    return [l[0] for l in layers]


# ----------------------------------------------------------------- Conv

@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER", "VALID"])
@pytest.mark.parametrize("stride", [1, 2])
def test_conv_auto_pad(auto_pad, stride, tmp_path):
    nodes = [helper.make_node("Conv", ["input0", "W", "B"], ["output0"], kernel_shape=[4, 3],
                              strides=[stride, stride], auto_pad=auto_pad)]
    path = build(tmp_path, nodes, {"W": w(5, 3, 4, 3), "B": w(5)}, (3, 11, 10))
    layers, _ = convert_and_check(tmp_path, path, (3, 11, 10))
    assert types(layers) == ["Input", "Convolution"]


def test_conv_without_bias_then_sigmoid_fused(tmp_path):
    nodes = [helper.make_node("Conv", ["input0", "W"], ["c"], pads=[0, 1, 2, 1]),
             helper.make_node("Sigmoid", ["c"], ["output0"])]
    path = build(tmp_path, nodes, {"W": w(4, 3, 3, 3)}, (3, 9, 9))
    layers, _ = convert_and_check(tmp_path, path, (3, 9, 9))
    assert types(layers) == ["Input", "Convolution"]
    p = layers[1][4]
    assert p[5] == "0" and p[9] == "4" and (p[14], p[4], p[16], p[15]) == ("0", "1", "2", "1")


def test_batchnorm_after_gemm_folds_into_innerproduct(tmp_path):
    nodes = [helper.make_node("Flatten", ["input0"], ["f"]),
             helper.make_node("Gemm", ["f", "W", "C"], ["g"], transB=0, alpha=0.5, beta=2.0),
             helper.make_node("BatchNormalization", ["g", "s", "b", "m", "v"], ["bn"], epsilon=1e-3),
             helper.make_node("Relu", ["bn"], ["output0"])]
    consts = {"W": w(48, 6), "C": w(1, 6), "s": w(6) + 1, "b": w(6), "m": w(6), "v": np.abs(w(6)) + 0.5}
    path = build(tmp_path, nodes, consts, (3, 4, 4))
    layers, report = convert_and_check(tmp_path, path, (3, 4, 4))
    assert types(layers) == ["Input", "InnerProduct"]
    assert layers[1][4][9] == "1"
    assert any("BatchNorm" in s for s in report.fused)


def test_matmul_without_bias(tmp_path):
    nodes = [helper.make_node("Flatten", ["input0"], ["f"], axis=1),
             helper.make_node("MatMul", ["f", "W"], ["output0"])]
    path = build(tmp_path, nodes, {"W": w(12, 5)}, (3, 2, 2))
    layers, _ = convert_and_check(tmp_path, path, (3, 2, 2))
    assert types(layers) == ["Input", "InnerProduct"] and layers[1][4][1] == "0"


# ----------------------------------------------------------------- element-wise

@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div", "Max", "Min"])
@pytest.mark.parametrize("const_shape", [(), (1,), (4, 1, 1), (1, 4, 1, 1), (1, 6), (5, 6), (1, 4, 5, 6)])
@pytest.mark.parametrize("const_first", [False, True])
def test_binary_with_constant(op, const_shape, const_first, tmp_path):
    c = (np.abs(w(*const_shape)) + 0.5) if const_shape else np.array(1.7, np.float32)
    ins = ["c", "input0"] if const_first else ["input0", "c"]
    nodes = [helper.make_node(op, ins, ["output0"])]
    layers, _ = convert_and_check(tmp_path, build(tmp_path, nodes, {"c": c}, (4, 5, 6)), (4, 5, 6))
    t = types(layers)
    if c.size == 1:
        assert t == ["Input", "BinaryOp"] and layers[1][4][1] == "1"
        if const_first and op in ("Sub", "Div"):
            assert layers[1][4][0] == {"Sub": "7", "Div": "8"}[op]
    elif c.size == 4 and (op == "Mul" or (op == "Div" and not const_first)):
        assert t == ["Input", "Scale"]
    elif c.size == 4 and (op == "Add" or (op == "Sub" and not const_first)):
        assert t == ["Input", "Bias"]
    else:
        assert sorted(t) == ["BinaryOp", "Input", "MemoryData"]


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div", "Max", "Min"])
def test_binary_tensor_tensor_broadcast(op, tmp_path):
    """SE-style gate: (1,C,H,W) op (1,C,1,1) from a global pooling."""
    nodes = [helper.make_node("GlobalMaxPool", ["input0"], ["g"]),
             helper.make_node("Sigmoid", ["g"], ["s"]),
             helper.make_node(op, ["input0", "s"], ["output0"])]
    layers, _ = convert_and_check(tmp_path, build(tmp_path, nodes, {}, (4, 5, 6)), (4, 5, 6))
    assert "Reshape" in types(layers) and "Split" in types(layers)


def test_sum_and_same_blob_twice(tmp_path):
    nodes = [helper.make_node("Relu", ["input0"], ["r"]),
             helper.make_node("Mul", ["r", "r"], ["sq"]),
             helper.make_node("Sum", ["sq", "input0"], ["output0"])]
    layers, _ = convert_and_check(tmp_path, build(tmp_path, nodes, {}, (2, 3, 3)), (2, 3, 3))
    splits = [l for l in layers if l[0] == "Split"]
    assert sorted(len(s[3]) for s in splits) == [2, 2]


# ----------------------------------------------------------------- activations

@pytest.mark.parametrize("opset", [6, 11, 13])
def test_clip_forms(opset, tmp_path):
    if opset < 11:
        nodes = [helper.make_node("Clip", ["input0"], ["a"], min=-0.5, max=0.75),
                 helper.make_node("Clip", ["a"], ["output0"], min=0.0, max=3.4e38)]
        consts = {}
    else:
        nodes = [helper.make_node("Clip", ["input0", "lo", "hi"], ["a"]),
                 helper.make_node("Clip", ["a", "z"], ["output0"])]
        consts = {"lo": np.array(-0.5, np.float32), "hi": np.array(0.75, np.float32),
                  "z": np.array(0.0, np.float32)}
    layers, _ = convert_and_check(tmp_path, build(tmp_path, nodes, consts, (2, 4, 4), opset=opset), (2, 4, 4))
    assert types(layers)[1] == "Clip"


def test_standalone_activations(tmp_path):
    nodes = [helper.make_node("LeakyRelu", ["input0"], ["a"], alpha=0.3),
             helper.make_node("HardSigmoid", ["a"], ["b"], alpha=0.25, beta=0.4),
             helper.make_node("HardSwish", ["input0"], ["c"]),
             helper.make_node("Add", ["b", "c"], ["output0"])]
    layers, _ = convert_and_check(tmp_path, build(tmp_path, nodes, {}, (2, 4, 4), opset=14), (2, 4, 4))
    assert {"ReLU", "HardSigmoid", "HardSwish"} <= set(types(layers))


# ----------------------------------------------------------------- pooling

@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
@pytest.mark.parametrize("kw", [
    dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
    dict(kernel_shape=[3, 2], strides=[2, 1], pads=[1, 0, 1, 1]),
    dict(kernel_shape=[2, 2], strides=[2, 2], auto_pad="SAME_UPPER"),
    dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_LOWER"),
    dict(kernel_shape=[3, 3], strides=[3, 3], pads=[1, 1, 1, 1], ceil_mode=1),
])
def test_pooling_variants(op, kw, tmp_path):
    kw = dict(kw)
    if op == "AveragePool" and "pads" in kw:
        kw["count_include_pad"] = 0
    nodes = [helper.make_node(op, ["input0"], ["output0"], **kw)]
    layers, _ = convert_and_check(tmp_path, build(tmp_path, nodes, {}, (2, 10, 9), opset=13), (2, 10, 9))
    assert types(layers) == ["Input", "Pooling"] and layers[1][4][5] == "1"


def test_avgpool_count_include_pad_ceil_overhang_refused(tmp_path):
    nodes = [helper.make_node("AveragePool", ["input0"], ["output0"], kernel_shape=[3, 3], strides=[2, 2],
                              pads=[1, 1, 1, 1], ceil_mode=1, count_include_pad=1)]
    path = build(tmp_path, nodes, {}, (2, 8, 8))
    with pytest.raises(UnsupportedOperatorError, match=r"AveragePool.*count_include_pad"):
        maixnn.convert(path, str(tmp_path / "m"))


def test_reduce_mean_keepdims_feeding_conv(tmp_path):
    nodes = [helper.make_node("ReduceMean", ["input0"], ["r"], axes=[2, 3], keepdims=1),
             helper.make_node("Conv", ["r", "W", "B"], ["output0"])]
    layers, _ = convert_and_check(tmp_path, build(tmp_path, nodes, {"W": w(3, 4, 1, 1), "B": w(3)}, (4, 5, 5)),
                                  (4, 5, 5))
    assert types(layers) == ["Input", "Pooling", "Reshape", "Convolution"]


# ----------------------------------------------------------------- shapes

def test_flatten_not_feeding_fc_is_kept(tmp_path):
    nodes = [helper.make_node("Flatten", ["input0"], ["f"]),
             helper.make_node("Softmax", ["f"], ["output0"], axis=1)]
    layers, _ = convert_and_check(tmp_path, build(tmp_path, nodes, {}, (2, 3, 4), opset=11), (2, 3, 4))
    assert types(layers) == ["Input", "Flatten", "Softmax"]


def test_reshape_to_3d_and_concat_on_other_axes(tmp_path):
    nodes = [helper.make_node("Reshape", ["input0", "shape"], ["r"]),          # (1, 4, 30)
             helper.make_node("Softmax", ["r"], ["s"], axis=-1),
             helper.make_node("Reshape", ["s", "back"], ["b"]),                # (1, 4, 5, 6)
             helper.make_node("Concat", ["b", "input0"], ["c2"], axis=2),
             helper.make_node("Concat", ["c2", "c2"], ["output0"], axis=-1)]
    consts = {"shape": np.array([1, 4, -1], np.int64), "back": np.array([1, 4, 5, 6], np.int64)}
    layers, _ = convert_and_check(tmp_path, build(tmp_path, nodes, consts, (4, 5, 6)), (4, 5, 6))
    concat_axes = sorted(l[4][0] for l in layers if l[0] == "Concat")
    assert concat_axes == ["1", "2"]
    assert [l[4] for l in layers if l[0] == "Reshape"][0] == {0: "30", 1: "4"}


def test_identity_dropout_and_output_name(tmp_path):
    nodes = [helper.make_node("Conv", ["input0", "W"], ["c"]),
             helper.make_node("Dropout", ["c"], ["d"]),
             helper.make_node("Identity", ["d"], ["output0"])]
    layers, report = convert_and_check(tmp_path, build(tmp_path, nodes, {"W": w(2, 3, 1, 1)}, (3, 4, 4)),
                                       (3, 4, 4))
    assert types(layers) == ["Input", "Convolution"] and layers[1][3] == ["output0"]
    assert len([s for s in report.graph_rewrites if s.startswith("removed")]) == 2


# ----------------------------------------------------------------- pad / resize

@pytest.mark.parametrize("mode", ["constant", "edge", "reflect"])
def test_pad_modes(mode, tmp_path):
    nodes = [helper.make_node("Pad", ["input0", "pads", "v"], ["output0"], mode=mode)]
    consts = {"pads": np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64), "v": np.array(0.25, np.float32)}
    if mode != "constant":
        nodes = [helper.make_node("Pad", ["input0", "pads"], ["output0"], mode=mode)]
        del consts["v"]
    layers, _ = convert_and_check(tmp_path, build(tmp_path, nodes, consts, (2, 5, 6)), (2, 5, 6))
    assert types(layers) == ["Input", "Padding"]


def test_pad_opset2_attribute_form_folds_into_conv(tmp_path):
    nodes = [helper.make_node("Pad", ["input0"], ["p"], pads=[0, 0, 2, 1, 0, 0, 0, 3]),
             helper.make_node("Conv", ["p", "W"], ["output0"], pads=[1, 1, 1, 1])]
    layers, _ = convert_and_check(tmp_path, build(tmp_path, nodes, {"W": w(2, 3, 3, 3)}, (3, 6, 6), opset=9),
                                  (3, 6, 6))
    assert types(layers) == ["Input", "Convolution"]
    p = layers[1][4]
    assert (p[14], p[4], p[16], p[15]) == ("3", "2", "1", "4")


def test_upsample_opset9_and_resize_opset10_nearest(tmp_path):
    nodes = [helper.make_node("Upsample", ["input0", "sc"], ["output0"], mode="nearest")]
    sc = np.array([1, 1, 2, 3], np.float32)
    layers, _ = convert_and_check(tmp_path, build(tmp_path, nodes, {"sc": sc}, (2, 4, 5), opset=9), (2, 4, 5))
    assert layers[1][4] == {0: "1", 3: "8", 4: "15", 6: "0"}
    nodes = [helper.make_node("Resize", ["input0", "sc"], ["output0"], mode="nearest")]
    convert_and_check(tmp_path, build(tmp_path, nodes, {"sc": sc}, (2, 4, 5), opset=10, name="r10"), (2, 4, 5),
                      name="r10")


@pytest.mark.parametrize("coord,align", [("half_pixel", "0"), ("pytorch_half_pixel", "0"),
                                         ("align_corners", "1")])
def test_resize_linear_sizes(coord, align, tmp_path):
    nodes = [helper.make_node("Resize", ["input0", "", "", "sizes"], ["output0"], mode="linear",
                              coordinate_transformation_mode=coord)]
    sizes = np.array([1, 2, 7, 13], np.int64)
    layers, _ = convert_and_check(tmp_path, build(tmp_path, nodes, {"sizes": sizes}, (2, 4, 5)), (2, 4, 5))
    assert layers[1][4] == {0: "2", 3: "7", 4: "13", 6: align}


def test_resize_downscale_nearest_round(tmp_path):
    nodes = [helper.make_node("Resize", ["input0", "", "sc"], ["output0"], mode="nearest",
                              coordinate_transformation_mode="asymmetric", nearest_mode="round_prefer_ceil")]
    sc = np.array([1, 1, 0.5, 0.5], np.float32)
    convert_and_check(tmp_path, build(tmp_path, nodes, {"sc": sc}, (2, 8, 6)), (2, 8, 6))


@pytest.mark.parametrize("kw,pattern", [
    (dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="round_prefer_ceil"),
     "nearest_mode=round_prefer_ceil"),
    (dict(mode="linear", coordinate_transformation_mode="asymmetric"), "asymmetric"),
    (dict(mode="linear", coordinate_transformation_mode="tf_crop_and_resize"), "tf_crop_and_resize"),
])
def test_resize_refusals(kw, pattern, tmp_path):
    nodes = [helper.make_node("Resize", ["input0", "", "sc"], ["output0"], name="up", **kw)]
    sc = np.array([1, 1, 3, 3], np.float32)
    path = build(tmp_path, nodes, {"sc": sc}, (2, 4, 4))
    with pytest.raises(UnsupportedOperatorError, match=r"'up' \(Resize\).*" + pattern):
        maixnn.convert(path, str(tmp_path / "m"))


# ----------------------------------------------------------------- refusals

@pytest.mark.parametrize("nodes,consts,pattern", [
    ([helper.make_node("Conv", ["input0", "W"], ["output0"], name="c1")], {"W": np.zeros((2, 3, 3), np.float32)},
     r"'c1' \(Conv\): weight rank 3"),
    ([helper.make_node("Gemm", ["input0", "W"], ["output0"], name="g", transA=1)], {"W": w(3, 3)},
     r"'g' \(Gemm\): transA=1"),
    ([helper.make_node("Concat", ["input0", "input0"], ["output0"], name="cat", axis=0)], {},
     r"'cat' \(Concat\): concatenation along the batch axis"),
    ([helper.make_node("MaxPool", ["input0"], ["output0"], name="mp", kernel_shape=[2, 2], dilations=[2, 2])], {},
     r"'mp' \(MaxPool\): dilations"),
    ([helper.make_node("Einsum", ["input0"], ["output0"], name="es", equation="nchw->nchw")], {},
     r"'es' \(Einsum\): operator Einsum is not supported"),
    ([helper.make_node("Softmax", ["input0"], ["output0"], name="sm", axis=0)], {},
     r"'sm' \(Softmax\): softmax over the batch axis"),
    ([helper.make_node("Add", ["input0", "c"], ["output0"], name="bc")], {"c": np.ones((2, 3, 4, 4), np.float32)},
     r"'bc' \(Add\): the constant \(2, 3, 4, 4\) would broadcast"),
    # found by mutating real exports: onnxruntime drops a ceil-mode window starting in the padding,
    # ONNX shape inference keeps it; a kernel larger than the input; a NaN attribute
    ([helper.make_node("AveragePool", ["input0"], ["output0"], name="ap", kernel_shape=[3, 3], strides=[2, 100],
                       pads=[1, 1, 1, 1], ceil_mode=1)], {},
     r"'ap' \(AveragePool\): output size on axis 3: ONNX shape inference says 2, onnxruntime computes 1"),
    ([helper.make_node("Conv", ["input0", "W"], ["output0"], name="cd", dilations=[3, 1])],
     {"W": np.zeros((2, 3, 3, 3), np.float32)}, r"'cd' \(Conv\): kernel 3 \(dilation 3\) does not fit"),
    ([helper.make_node("HardSigmoid", ["input0"], ["output0"], name="hs", alpha=float("nan"))], {},
     r"'hs'.*must be finite"),
])
def test_refusals_name_node_and_reason(nodes, consts, pattern, tmp_path):
    path = build(tmp_path, nodes, consts, (3, 4, 4))
    with pytest.raises(UnsupportedOperatorError, match=pattern):
        maixnn.convert(path, str(tmp_path / "m"))


@pytest.mark.parametrize("node,pattern", [
    # found by the hypothesis harness: a mutated op type kept the old inputs, an attribute
    # the operator does not have - both were accepted and silently ignored before
    (helper.make_node("Sigmoid", ["input0", "input0"], ["output0"], name="s2"),
     r"node 's2' \(Sigmoid\) does not match the ONNX schema: .*input size 2"),
    (helper.make_node("Relu", ["input0"], ["output0"], name="r", kernel_shape=[3, 3]),
     r"node 'r' \(Relu\) does not match the ONNX schema: Unrecognized attribute: kernel_shape"),
])
def test_nodes_breaking_their_schema_are_refused(node, pattern, tmp_path):
    from maixnn.errors import ModelFormatError
    path = build(tmp_path, [node], {}, (3, 4, 4))
    with pytest.raises(ModelFormatError, match=pattern):
        maixnn.convert(path, str(tmp_path / "m"))
    assert not (tmp_path / "m.param").exists()
