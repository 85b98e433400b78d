"""maixnn's ONNX -> ncnn converter, checked against the OFFICIAL ncnn wheel.

Every model is exported from torch, converted by maixnn, run by the ncnn
wheel (fp32) and compared with onnxruntime on the exported ONNX:
cosine >= 0.99999 and max abs error <= 1e-4 * max|y|.  The .param text is
checked for the properties the V831 flow needs.
"""
from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("ncnn")

import maixnn  # noqa: E402
from maixnn.errors import ModelFormatError, OptionError, UnsupportedOperatorError  # noqa: E402

import helpers  # noqa: E402
import nets  # noqa: E402


def check_against_references(paths, input_shape, seed=1):
    """ncnn wheel on maixnn's files vs onnxruntime on the ONNX, every output."""
    x = helpers.random_input(input_shape, seed)
    ref = helpers.run_onnxruntime(paths.onnx, x)
    got = helpers.run_ncnn(paths.param, paths.bin, x, output_names=list(ref))
    for name in ref:
        helpers.assert_close(got[name], ref[name], what="%s %s" % (os.path.basename(paths.param), name))
    return ref, got


def export_raw(model, path, opset, n_outputs=1):
    """torch export WITHOUT torch's own constant folding and with BatchNorm
    kept as BatchNormalization nodes: the converter must do both itself."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.no_grad():
            torch.onnx.export(model, (torch.zeros((1,) + tuple(model.input_shape)),), path,
                              input_names=["input0"],
                              output_names=["output%d" % i for i in range(n_outputs)],
                              opset_version=opset, dynamo=False, do_constant_folding=False,
                              training=torch.onnx.TrainingMode.PRESERVE)
    return path


def onnx_op_types(path):
    import onnx
    return [n.op_type for n in onnx.load(path).graph.node]


def all_tokens(param_path):
    with open(param_path) as f:
        lines = f.read().splitlines()
    for ln in lines[2:]:
        tok = ln.split()
        nb, nt = int(tok[2]), int(tok[3])
        for t in tok[4 + nb + nt:]:
            k, v = t.split("=", 1)
            for item in v.split(","):
                yield item


def by_type(layers, t):
    return [l for l in layers if l[0] == t]


# ----------------------------------------------------------------- the three networks

@pytest.mark.parametrize("name", sorted(nets.SMALL_NETS))
def test_small_network_matches_onnxruntime_on_ncnn(name, tmp_path):
    model = nets.SMALL_NETS[name]()
    paths = helpers.export_and_convert(model, tmp_path, name=name)
    check_against_references(paths, model.input_shape)
    types = {l[0] for l in helpers.param_layers(paths.param)}
    assert "BatchNorm" not in types  # folded (by torch or by maixnn)


@pytest.mark.parametrize("name", sorted(nets.SMALL_NETS))
def test_small_network_with_batchnorm_nodes_and_no_torch_folding(name, tmp_path):
    """BatchNormalization nodes in the ONNX: maixnn folds them into the convs."""
    model = nets.SMALL_NETS[name]()
    onnx_path = export_raw(model, str(tmp_path / "m.onnx"), 13)
    n_bn = onnx_op_types(onnx_path).count("BatchNormalization")
    assert n_bn > 0
    report = maixnn.convert(onnx_path, str(tmp_path / "m"))
    folded = [s for s in report.fused if s.startswith("folded BatchNorm")]
    assert len(folded) == n_bn
    paths = helpers.ModelPaths(onnx_path, str(tmp_path / "m.param"), str(tmp_path / "m.bin"), report)
    check_against_references(paths, model.input_shape)
    assert not by_type(helpers.param_layers(paths.param), "BatchNorm")


def test_full_resnet18_224(tmp_path):
    model = nets.resnet18_like()  # 11.7 M parameters, 1x3x224x224, 1000 classes
    paths = helpers.export_and_convert(model, tmp_path, name="resnet18")
    ref, got = check_against_references(paths, (3, 224, 224))
    assert got["output0"].shape == (1000,)
    layers = helpers.param_layers(paths.param)
    counts = {t: len(by_type(layers, t)) for t in {l[0] for l in layers}}
    # the layer list pnnx also produces for ResNet18 (plus the Input shape)
    assert counts == {"Input": 1, "Convolution": 20, "Pooling": 2, "Split": 8, "BinaryOp": 8,
                      "ReLU": 8, "InnerProduct": 1}
    assert os.path.getsize(paths.bin) > 4 * 11_600_000


# ----------------------------------------------------------------- the .param itself

def test_param_properties_resnet(tmp_path):
    model = nets.resnet18_like(width=8, num_classes=10, input_size=64)
    paths = helpers.export_and_convert(model, tmp_path)
    layers = helpers.param_layers(paths.param)
    with open(paths.param) as f:
        lines = f.read().splitlines()
    assert lines[0] == "7767517"
    n_layers, n_blobs = (int(v) for v in lines[1].split())
    assert n_layers == len(layers) == len(lines) - 2
    assert n_blobs == len({b for l in layers for b in l[2] + l[3]})

    # Input layer with its shape (the seed's hand patch), named input0
    inp = layers[0]
    assert inp[0] == "Input" and inp[3] == ["input0"]
    assert inp[4] == {0: "64", 1: "64", 2: "3"}
    # output name kept, produced by the InnerProduct, read by nobody
    assert helpers.param_output_names(paths.param) == ["output0"]
    fc = by_type(layers, "InnerProduct")
    assert len(fc) == 1 and fc[0][3] == ["output0"]
    # no Flatten/Reshape: the InnerProduct reads the global pooling directly
    assert not by_type(layers, "Flatten") and not by_type(layers, "Reshape")
    producer = {t: l for l in layers for t in l[3]}
    assert producer[fc[0][2][0]][0] == "Pooling" and producer[fc[0][2][0]][4][4] == "1"
    # BatchNorm folded, first ReLU fused (9=1)
    assert not by_type(layers, "BatchNorm")
    stem = by_type(layers, "Convolution")[0]
    assert stem[4][9] == "1" and stem[4][1] == "7" and stem[4][3] == "2" and stem[4][4] == "3"
    # every blob read at most once; Split layers exist for the residuals
    reads = [b for l in layers for b in l[2]]
    assert len(reads) == len(set(reads))
    assert len(by_type(layers, "Split")) == 8
    # ncnn reads values with %15[^,\n ]
    tokens = list(all_tokens(paths.param))
    assert tokens and max(len(t) for t in tokens) <= 15
    # the .bin is exactly what the layers declare (ncnn_model reads it strictly)
    from maixnn.ncnn_model import NcnnModel
    NcnnModel.load(paths.param, paths.bin)


def test_long_float_values_stay_within_15_chars(tmp_path):
    """Odd alpha/eps values from the graph must be written in <= 15 chars."""
    class Odd(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
            self.bn = torch.nn.BatchNorm2d(4, eps=1.234567891e-7)

        def forward(self, x):
            y = torch.nn.functional.leaky_relu(self.conv(x), 0.123456789123)
            y = torch.clamp(self.bn(y + y), -1.0 / 3.0, 2.0 / 7.0)
            return y * 0.000012345678901 + 1.0e-30
    model = nets._finish(Odd(), (3, 8, 8), 0)
    paths = helpers.export_and_convert(model, tmp_path)
    assert max(len(t) for t in all_tokens(paths.param)) <= 15
    text = open(paths.param).read()
    assert "0.12345679" in text  # leaky slope in float32 precision
    check_against_references(paths, model.input_shape)


# ----------------------------------------------------------------- every idiom, several opsets

IDIOMS = sorted(nets.IDIOM_NETS)


@pytest.mark.parametrize("opset", [11, 13, 17])
@pytest.mark.parametrize("name", IDIOMS)
def test_idiom_matches_onnxruntime_on_ncnn(name, opset, tmp_path):
    model = nets.IDIOM_NETS[name]()
    paths = helpers.export_and_convert(model, tmp_path, name=name, opset=opset)
    check_against_references(paths, model.input_shape)
    assert max(len(t) for t in all_tokens(paths.param)) <= 15


@pytest.mark.parametrize("name", IDIOMS)
def test_idiom_without_torch_constant_folding(name, tmp_path):
    """The raw exporter output (Shape/Gather/Unsqueeze/Concat chains,
    ConstantOfShape pads, BatchNormalization nodes) converts too."""
    model = nets.IDIOM_NETS[name]()
    n_out = 2 if name in ("multi_output", "output_also_read") else 1
    onnx_path = export_raw(model, str(tmp_path / "m.onnx"), 11, n_out)
    report = maixnn.convert(onnx_path, str(tmp_path / "m"))
    paths = helpers.ModelPaths(onnx_path, str(tmp_path / "m.param"), str(tmp_path / "m.bin"), report)
    check_against_references(paths, model.input_shape)


def test_view_flatten_shape_arithmetic_is_folded(tmp_path):
    """With a symbolic batch, x.view(x.size(0), -1) really is
    Shape -> Gather -> Unsqueeze -> Concat -> Reshape; pinned to batch 1 it folds away."""
    model = nets.IDIOM_NETS["view_flatten"]()
    onnx_path = str(tmp_path / "m.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, 3, 16, 16),), onnx_path, input_names=["input0"],
                          output_names=["output0"], dynamo=False, opset_version=13,
                          dynamic_axes={"input0": {0: "batch"}, "output0": {0: "batch"}})
    ops = onnx_op_types(onnx_path)
    assert {"Shape", "Gather", "Unsqueeze", "Concat", "Reshape"} <= set(ops)
    report = maixnn.convert(onnx_path, str(tmp_path / "m"))
    assert report.folded_nodes >= 4
    layers = helpers.param_layers(str(tmp_path / "m.param"))
    assert [l[0] for l in layers] == ["Input", "Convolution", "InnerProduct"]
    assert any("only fed InnerProduct" in s for s in report.removed)
    paths = helpers.ModelPaths(onnx_path, str(tmp_path / "m.param"), str(tmp_path / "m.bin"), report)
    check_against_references(paths, model.input_shape)


def test_zero_pad_folds_into_conv(tmp_path):
    model = nets.IDIOM_NETS["zero_pad"]()   # ZeroPad2d((left 1, right 2, top 0, bottom 1))
    onnx_path = export_raw(model, str(tmp_path / "m.onnx"), 13)
    assert "Pad" in onnx_op_types(onnx_path)
    maixnn.convert(onnx_path, str(tmp_path / "m"))
    layers = helpers.param_layers(str(tmp_path / "m.param"))
    assert [l[0] for l in layers] == ["Input", "Convolution"]
    p = layers[1][4]
    assert (p[4], p[15], p[14], p[16]) == ("1", "2", "0", "1")  # left, right, top, bottom
    assert p[9] == "1"  # the ReLU fused


def test_constant_pad_becomes_padding_layer(tmp_path):
    model = nets.IDIOM_NETS["constant_pad"]()  # F.pad(x, (2, 1, 1, 0), value=0.5)
    paths = helpers.export_and_convert(model, tmp_path)
    pad = by_type(helpers.param_layers(paths.param), "Padding")
    assert len(pad) == 1
    p = pad[0][4]
    assert (p[0], p[1], p[2], p[3], p[4], float(p[5])) == ("1", "0", "2", "1", "0", 0.5)


@pytest.mark.parametrize("opset", [9, 11, 13, 17])
@pytest.mark.parametrize("name", ["hardswish", "hand_hardswish"])
def test_hardswish_recognised_at_every_opset(name, opset, tmp_path):
    model = nets.IDIOM_NETS[name]()
    paths = helpers.export_and_convert(model, tmp_path, opset=opset)
    check_against_references(paths, model.input_shape)
    layers = helpers.param_layers(paths.param)
    first_conv = by_type(layers, "Convolution")[0]
    assert first_conv[4].get(9) == "6", "hardswish after the first conv was not fused (opset %d)" % opset
    assert first_conv[4][-23310] == "2,0.16666667,0.5"
    if name == "hand_hardswish":  # no Add/Clip/Div leftovers of x * relu6(x + 3) / 6
        assert [l[0] for l in layers] == ["Input", "Convolution"]


def test_grouped_and_depthwise_conv(tmp_path):
    model = nets.IDIOM_NETS["grouped_conv"]()
    paths = helpers.export_and_convert(model, tmp_path)
    dw = by_type(helpers.param_layers(paths.param), "ConvolutionDepthWise")
    assert [(l[4][0], l[4][7]) for l in dw] == [("16", "4"), ("16", "16")]
    assert dw[0][4][9] == "1"  # BN folded then ReLU fused into the grouped conv


def test_dilation_and_asymmetric_kernels(tmp_path):
    paths = helpers.export_and_convert(nets.IDIOM_NETS["dilation"](), tmp_path, name="d")
    convs = [l for l in helpers.param_layers(paths.param) if l[0].startswith("Convolution")]
    assert (convs[0][4][2], convs[0][4][12]) == ("2", "2")
    assert (convs[1][4][2], convs[1][4][12], convs[1][4][14], convs[1][4][4]) == ("1", "3", "3", "1")
    assert convs[0][4][9] == "2" and convs[0][4][-23310] == "1,0.2"   # leaky relu fused
    paths = helpers.export_and_convert(nets.IDIOM_NETS["asymmetric_pad"](), tmp_path, name="a")
    layers = helpers.param_layers(paths.param)
    c = by_type(layers, "Convolution")[0][4]
    assert (c[1], c[11], c[3], c[13], c[4], c[14]) == ("5", "3", "2", "1", "2", "1")
    assert by_type(layers, "Convolution")[1][4][9] == "3"  # clamp fused as clip


def test_ceil_mode_pooling_params(tmp_path):
    model = nets.IDIOM_NETS["ceil_pool"]()  # 17x17 input
    paths = helpers.export_and_convert(model, tmp_path)
    pools = by_type(helpers.param_layers(paths.param), "Pooling")
    # MaxPool(3, 2, ceil_mode) on 17x17: floor gives 8, ceil 8 -> no extra pad needed
    # AvgPool(3, 2, pad 1, ceil, exclude pad) on 8x8 -> ceil gives 5: one extra pad right/bottom
    avg = pools[1][4]
    assert (avg[0], avg[3], avg[14], avg[6]) == ("1", "1", "2", "0")
    check_against_references(paths, model.input_shape)


def test_channel_constants_become_scale_and_bias(tmp_path):
    model = nets.IDIOM_NETS["channel_affine"]()
    paths = helpers.export_and_convert(model, tmp_path)
    layers = helpers.param_layers(paths.param)
    assert len(by_type(layers, "Scale")) == 1 and by_type(layers, "Scale")[0][4] == {0: "6", 1: "0"}
    assert len(by_type(layers, "Bias")) == 2
    # the lone BatchNorm (after an Add) stays a BatchNorm layer
    assert len(by_type(layers, "BatchNorm")) == 1
    # scalar operands are with_scalar BinaryOps
    scalars = [l for l in by_type(layers, "BinaryOp") if l[4].get(1) == "1"]
    assert {(l[4][0], float(l[4][2])) for l in scalars} >= {("3", 2.0), ("1", 0.25), ("0", 1.0)}
    sm = by_type(layers, "Softmax")
    assert sm[0][4] == {0: "0", 1: "1"}


def test_multiple_outputs_keep_names(tmp_path):
    model = nets.IDIOM_NETS["output_also_read"]()
    paths = helpers.export_and_convert(model, tmp_path)
    assert helpers.param_output_names(paths.param) == ["output0", "output1"]
    layers = helpers.param_layers(paths.param)
    split = by_type(layers, "Split")
    assert len(split) == 1 and split[0][3][0] == "output0"
    check_against_references(paths, model.input_shape)


def test_resize_modes(tmp_path):
    model = nets.IDIOM_NETS["upsample"]()
    paths = helpers.export_and_convert(model, tmp_path)
    interp = by_type(helpers.param_layers(paths.param), "Interp")
    got = sorted((l[4][0], l[4][6], l[4][3], l[4][4]) for l in interp)
    assert got == [("1", "0", "16", "16"), ("2", "0", "16", "16"), ("2", "1", "16", "16")]


# ----------------------------------------------------------------- input shape

def test_symbolic_input_needs_input_shape(tmp_path):
    model = nets.IDIOM_NETS["zero_pad"]()
    onnx_path = str(tmp_path / "dyn.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, 3, 16, 16),), onnx_path, input_names=["input0"],
                          output_names=["output0"], dynamo=False, opset_version=13,
                          dynamic_axes={"input0": {0: "n", 2: "h", 3: "w"}})
    with pytest.raises(OptionError, match="input_shape"):
        maixnn.convert(onnx_path, str(tmp_path / "m"))
    report = maixnn.convert(onnx_path, str(tmp_path / "m"), input_shape=(3, 20, 12))
    assert report.input_shapes["input0"] == (1, 3, 20, 12)
    layers = helpers.param_layers(str(tmp_path / "m.param"))
    assert layers[0][4] == {0: "12", 1: "20", 2: "3"}
    paths = helpers.ModelPaths(onnx_path, str(tmp_path / "m.param"), str(tmp_path / "m.bin"), report)
    check_against_references(paths, (3, 20, 12))
    with pytest.raises(OptionError):
        maixnn.convert(onnx_path, str(tmp_path / "x"), input_shape=(3, 20))


def test_fixed_input_shape_conflict(tmp_path):
    model = nets.IDIOM_NETS["zero_pad"]()
    paths = helpers.export_and_convert(model, tmp_path)
    with pytest.raises(OptionError, match="disagrees"):
        maixnn.convert(paths.onnx, str(tmp_path / "other"), input_shape=(3, 32, 32))


# ----------------------------------------------------------------- errors

class _TanhNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return torch.tanh(self.conv(x))


class _StridedSliceNet(torch.nn.Module):
    def forward(self, x):
        return x[:, :, ::2] * 2.0


class _BicubicNet(torch.nn.Module):
    def forward(self, x):
        return torch.nn.functional.interpolate(x, scale_factor=2, mode="bicubic")


def test_unsupported_operator_names_the_node(tmp_path):
    model = _TanhNet().eval()
    onnx_path = maixnn.export(model, str(tmp_path / "t.onnx"), input_shape=(3, 8, 8))
    with pytest.raises(UnsupportedOperatorError) as ei:
        maixnn.convert(onnx_path, str(tmp_path / "t"))
    msg = str(ei.value)
    assert "'/Tanh'" in msg and "(Tanh)" in msg and "not supported" in msg
    assert not os.path.exists(str(tmp_path / "t.param"))  # nothing half-written


@pytest.mark.parametrize("net,pattern", [
    (_StridedSliceNet, r"'/Slice' \(Slice\): steps \[2\]"),
    (_BicubicNet, r"'/Resize' \(Resize\): mode=cubic"),
])
def test_unsupported_attribute_names_node_and_attribute(net, pattern, tmp_path):
    onnx_path = maixnn.export(net().eval(), str(tmp_path / "u.onnx"), input_shape=(3, 6, 6))
    with pytest.raises(UnsupportedOperatorError, match=pattern):
        maixnn.convert(onnx_path, str(tmp_path / "u"))


def test_bilinear_asymmetric_refused_at_opset9(tmp_path):
    """Upsample-9 bilinear is 'asymmetric': ncnn cannot express it."""
    model = nets.detector_like(width=4, input_size=32)
    onnx_path = maixnn.export(model, str(tmp_path / "d.onnx"), input_shape=(3, 32, 32), opset=9)
    with pytest.raises(UnsupportedOperatorError, match=r"\(Upsample\).*asymmetric"):
        maixnn.convert(onnx_path, str(tmp_path / "d"))


@pytest.mark.parametrize("content", [b"", b"this is not an onnx model\n", b"\x08\x07\x12\x03abc",
                                     bytes(range(256)) * 4])
def test_garbage_file_is_model_format_error(content, tmp_path):
    path = tmp_path / "garbage.onnx"
    path.write_bytes(content)
    with pytest.raises(ModelFormatError, match="garbage.onnx"):
        maixnn.convert(str(path), str(tmp_path / "g"))


def test_truncated_onnx_and_missing_file(tmp_path):
    model = nets.IDIOM_NETS["softmax"]()
    paths = helpers.export_and_convert(model, tmp_path)
    data = open(paths.onnx, "rb").read()
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFormatError, match="cut.onnx"):
        maixnn.convert(str(cut), str(tmp_path / "c"))
    with pytest.raises(ModelFormatError, match="missing.onnx"):
        maixnn.convert(str(tmp_path / "missing.onnx"), str(tmp_path / "m"))


# ----------------------------------------------------------------- report and CLI

def test_report_and_cli(tmp_path, capsys):
    import argparse
    from maixnn import converter
    model = nets.IDIOM_NETS["view_flatten"]()
    onnx_path = maixnn.export(model, str(tmp_path / "v.onnx"), input_shape=model.input_shape)
    p = argparse.ArgumentParser()
    converter.configure_parser(p)
    args = p.parse_args([onnx_path, str(tmp_path / "out" / "v")])
    assert converter.run_cli(args) == 0
    out = capsys.readouterr().out
    assert "3 ncnn layers" in out and "removed" in out
    assert os.path.exists(str(tmp_path / "out" / "v.param")) and os.path.exists(str(tmp_path / "out" / "v.bin"))
    report = maixnn.convert(onnx_path, str(tmp_path / "v2"))
    assert report.layer_count == 3 and report.layer_types["InnerProduct"] == 1
    assert report.inputs == ["input0"] and report.outputs == ["output0"]
    # atomic writes leave no temporary files behind
    assert sorted(os.listdir(str(tmp_path / "out"))) == ["v.bin", "v.mud", "v.param"]


def test_convert_writes_a_float_mud_that_nn_load_runs(tmp_path):
    from maixnn import nn
    model = nets.IDIOM_NETS["view_flatten"]()
    onnx_path = maixnn.export(model, str(tmp_path / "v.onnx"), input_shape=model.input_shape)
    maixnn.convert(onnx_path, str(tmp_path / "v"), mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
    text = (tmp_path / "v.mud").read_text()
    c, h, w = model.input_shape
    net = maixnn.Net(str(tmp_path / "v.param"), str(tmp_path / "v.bin"))
    y = net.forward(np.zeros((c, h, w), np.float32))
    # input h,w,c + the awnn-terms mean (x 255) and norm (1 / (std x 255)); output (h, w, c) of y
    assert "input0 = %d,%d,%d,123.675,116.28,103.53,0.0171247538,0.0175070028,0.0174291939" % (h, w, c) in text
    assert "output0 = 1,1,%d" % y.size in text
    m = nn.load(str(tmp_path / "v.mud"))
    img = np.random.default_rng(0).integers(0, 256, (h, w, c), dtype=np.uint8)
    x = (img.astype(np.float32) - np.array([123.675, 116.28, 103.53], np.float32)) * np.array(
        [0.0171247538, 0.0175070028, 0.0174291939], np.float32)
    ref = net.forward(np.ascontiguousarray(x.transpose(2, 0, 1)))
    np.testing.assert_allclose(m.forward(img.tobytes()).reshape(-1), ref.reshape(-1), rtol=1e-5, atol=1e-6)


def test_a_failing_own_pass_is_an_internal_error_naming_the_layer(tmp_path, monkeypatch):
    """A bug in one of the converter's passes is reported as maixnn's bug (with
    the pass and the layer it was at), not as the user's malformed model."""
    from maixnn.converter import ncnn_passes
    from maixnn.errors import InternalError

    def broken_fold(g):
        for l in g.layers:
            if l.type == "InnerProduct":
                raise IndexError("list index out of range")
        return []

    monkeypatch.setattr(ncnn_passes, "fold_batchnorm", broken_fold)
    model = nets.IDIOM_NETS["view_flatten"]()
    onnx_path = maixnn.export(model, str(tmp_path / "v.onnx"), input_shape=model.input_shape)
    with pytest.raises(InternalError) as e:
        maixnn.convert(onnx_path, str(tmp_path / "v"))
    msg = str(e.value)
    assert "pass broken_fold at InnerProduct layer" in msg and "bug in maixnn" in msg
    assert "IndexError: list index out of range" in msg and not isinstance(e.value, ModelFormatError)
    assert not os.listdir(str(tmp_path)) == [] and not (tmp_path / "v.param").exists()


def test_converter_layer_types_are_the_engines(tmp_path):
    """The converter may emit only what csrc/layers/layer_list.h implements,
    and every engine layer is known to the converter's list except the ones
    only the V831 format uses."""
    import re
    from maixnn.converter.registry import ENGINE_LAYER_TYPES
    text = open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                             "csrc", "layers", "layer_list.h")).read()
    engine = set(re.findall(r'^MXN_LAYER\("(\w+)"', text, re.M))
    assert ENGINE_LAYER_TYPES <= engine, sorted(ENGINE_LAYER_TYPES - engine)
    assert engine - ENGINE_LAYER_TYPES <= {"TanH", "Quantize"}, sorted(engine - ENGINE_LAYER_TYPES)
