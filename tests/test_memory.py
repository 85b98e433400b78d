"""The engine's memory (issue 9, part 4): each weight lives once, the engine
says how much its weights take (Net.weight_memory), the reference kernels
still compute the same results from the packed copy, and `maixnn info`'s
peak estimate equals the engine's own measurement (Net.peak_memory).

Expected weight bytes are computed here from the layer shapes and the GEMM
panel layout of csrc/conv_gemm.h (MXN_GEMM_MR output channels per panel,
int8 in pairs along K); results are checked against the ncnn wheel (int8
bit-identical) and across every kernel set."""
from __future__ import annotations

import os
import re

import numpy as np
import pytest

from maixnn.ncnn_model import Layer, NcnnModel, Weight
from maixnn.runtime import Net, available_kernels
from maixnn.summary import engine_blob_peak, summarize

from test_engine_compute import _compare, _conv_layer, _input_layer, _int8_conv, _randn

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
F32 = np.float32


def _mr() -> int:
    with open(os.path.join(REPO, "csrc", "kernels.h")) as f:
        return int(re.search(r"#define MXN_GEMM_MR (\d+)", f.read()).group(1))


def _save(tmp_path, layers, name):
    param, binp = str(tmp_path / (name + ".param")), str(tmp_path / (name + ".bin"))
    NcnnModel(layers).save(param, binp)
    return param, binp


def _packed(groups, m, k, int8, bias_rows, scale_rows=0):
    """Bytes of the GEMM panels of `groups` x (m rows x k) weights, the panel
    bias (always) and int8 scale_in, plus the layer's own bias / weight scale /
    scale_in arrays (bias_rows, scale_rows floats)."""
    mr = _mr()
    npan = groups * -(-m // mr)
    a = npan * ((k + 1) // 2) * mr * 2 if int8 else npan * k * mr * 4
    extra = npan * mr * 4 * (2 if int8 else 1)
    return a + extra + 4 * (bias_rows + scale_rows)


# ------------------------------------------------------------------ weight memory

def _float_layers(rng):
    return [
        _input_layer((5, 9, 10)),
        _conv_layer(rng, "Convolution", 5, dict(o=7, k=3, params={4: 1}), name="conv", bottom="in0", top="a"),
        _conv_layer(rng, "ConvolutionDepthWise", 7, dict(o=7, k=3, group=7, params={4: 1}), name="dw",
                    bottom="a", top="b"),
        _conv_layer(rng, "ConvolutionDepthWise", 7, dict(o=14, k=3, group=7, bias=False, params={4: 1}),
                    name="gconv", bottom="b", top="c"),
        Layer("BatchNorm", "bn", ["c"], ["d"], {0: 14, 1: 1e-5},
              [Weight("slope", rng.uniform(0.5, 1.5, 14)), Weight("mean", _randn(rng, (14,))),
               Weight("var", rng.uniform(0.5, 1.5, 14)), Weight("bias", _randn(rng, (14,)))]),
        Layer("Scale", "sc", ["d"], ["e"], {0: 14, 1: 1},
              [Weight("scale", _randn(rng, (14,))), Weight("bias", _randn(rng, (14,)))]),
        Layer("InnerProduct", "fc", ["e"], ["out"], {0: 10, 1: 1, 2: 10 * 14 * 9 * 10},
              [Weight("weight", _randn(rng, (10, 14 * 9 * 10), 0.05), "tagged"), Weight("bias", _randn(rng, (10,)))]),
    ]


def test_weight_memory_float_is_the_packed_size(tmp_path):
    param, binp = _save(tmp_path, _float_layers(np.random.default_rng(1)), "f")
    with Net(param, binp) as net:
        per_layer = dict(zip((l.name for l in net.layers), net.layer_weight_memory()))
        expected = {
            "input": 0,
            # packed: the original 7x5x3x3 array is gone
            "conv": _packed(1, 7, 45, False, bias_rows=7),
            # pure depthwise: its own kernels read the original array, nothing packed
            "dw": 4 * (63 + 7),
            # grouped (not pure depthwise): 7 groups of 2 rows x 9 taps, packed
            "gconv": _packed(7, 2, 9, False, bias_rows=0),
            "bn": 4 * 2 * 14,            # folded to a, b; the four .bin arrays freed
            "sc": 4 * 2 * 14,
            "fc": 4 * (10 * 1260 + 10),
        }
        assert per_layer == expected
        assert net.weight_memory == sum(expected.values())
        # the .bin's arrays twice (original + packed) would be well above this
        assert net.weight_memory < 1.5 * os.path.getsize(binp)


def test_weight_memory_int8_is_the_packed_size(tmp_path):
    rng = np.random.default_rng(2)
    layers = [
        _input_layer((6, 9, 10)),
        _int8_conv(rng, "Convolution", "conv", "in0", "a", 6, 11, 102, 40.0, 21.0, params={4: 1}),
        _int8_conv(rng, "ConvolutionDepthWise", "dw", "a", "b", 11, 11, 101, 21.0, 17.0, group=11,
                   params={4: 1}),
        _int8_conv(rng, "ConvolutionDepthWise", "gconv", "b", "c", 11, 22, 2, 17.0, group=11, bias=False),
        Layer("InnerProduct", "fc", ["c"], ["out"], {0: 4, 1: 1, 2: 4 * 22 * 7 * 8, 8: 1},
              [Weight("weight", rng.integers(-127, 128, (4, 22 * 7 * 8)).astype(np.int8), "tagged"),
               Weight("bias", _randn(rng, (4,))), Weight("weight_scales", rng.uniform(20, 90, 4)),
               Weight("bottom_scale", [9.0])]),
    ]
    param, binp = _save(tmp_path, layers, "q")
    with Net(param, binp) as net:
        per_layer = dict(zip((l.name for l in net.layers), net.layer_weight_memory()))
        expected = {
            "input": 0,
            # int8 panels (K=54 in 27 pairs), bias + weight scales + scale_in arrays
            "conv": _packed(1, 11, 54, True, bias_rows=11, scale_rows=11 + 11),
            # pure depthwise keeps its int8 array; 8=101: one weight scale per group
            "dw": 99 + 4 * (11 + 11 + 11),
            # 8=2 depthwise: one weight scale for all; K = 9 (odd: the last pair half empty)
            "gconv": _packed(11, 2, 9, True, bias_rows=0, scale_rows=1 + 22),
            "fc": 4 * 22 * 56 + 4 * (4 + 4 + 4),
        }
        assert per_layer == expected
        assert net.weight_memory == sum(expected.values())


def _winograd_bytes(param_path):
    """Bytes of the Winograd F(4,3) weights U (csrc/conv_winograd.c) the engine
    adds for the float 3x3 stride-1 convolutions with >= 8 channels in and out:
    [36][ceil(out/8)][in][8] floats and a zero-padded bias of ceil(out/8)*8."""
    from maixnn.ncnn_model import NcnnModel
    total = 0
    for layer in NcnnModel.load(param_path).layers:
        p = layer.params
        if layer.type != "Convolution" or p.get(1) != 3 or p.get(11, 3) != 3:
            continue
        if p.get(3, 1) != 1 or p.get(13, p.get(3, 1)) != 1 or p.get(2, 1) != 1 or p.get(12, p.get(2, 1)) != 1:
            continue
        out_c = p[0]
        in_c = p[6] // (out_c * 9)
        if in_c >= 8 and out_c >= 8 and p.get(8, 0) == 0:
            nb = (out_c + 7) // 8
            total += 4 * (36 * nb * in_c * 8 + nb * 8)
    return total


def test_weight_memory_of_a_converted_resnet(tmp_path):
    """A converted ResNet-like net: every conv is packed, so the weights take
    about the .bin's size, not twice it (as before each weight lived once);
    the Winograd layers keep their weights for the reference kernels and add
    their transformed weights U (4x the 3x3 weights)."""
    torch = pytest.importorskip("torch")  # noqa: F841
    from helpers import export_and_convert
    from nets import resnet18_like
    paths = export_and_convert(resnet18_like(width=16, num_classes=10, input_size=32), tmp_path, name="r")
    wino = _winograd_bytes(paths.param)
    assert wino > 0
    with Net(paths.param, paths.bin) as net:
        assert sum(net.layer_weight_memory()) == net.weight_memory
        ratio = (net.weight_memory - wino) / os.path.getsize(paths.bin)
        assert 0.95 < ratio < 1.1, ratio


# ------------------------------------------------------------------ the reference still computes the same

def test_reference_kernels_read_the_packed_weights(tmp_path):
    """With the original arrays dropped, the reference kernels compute from the
    unpacked panels: int8 blobs identical to the ncnn wheel, float within 1e-5."""
    ncnn = pytest.importorskip("ncnn")  # noqa: F841
    rng = np.random.default_rng(5)
    shape = (6, 11, 9)
    layers = [
        _input_layer(shape),
        _int8_conv(rng, "Convolution", "c1", "in0", "a", 6, 13, 102, 40.0, 21.0, params={4: 1, 9: 1}),
        _int8_conv(rng, "ConvolutionDepthWise", "g", "a", "b", 13, 26, 101, 21.0, 15.0, group=13,
                   params={4: 1, 3: 2}),
        _int8_conv(rng, "Convolution", "c3", "b", "out", 26, 5, 2, 15.0, k=1),
    ]
    old = os.environ.get("MAIXNN_KERNELS")
    os.environ["MAIXNN_KERNELS"] = "ref"
    try:
        _compare(tmp_path, layers, _randn(rng, shape, 1.5), ["a", "b", "out"], int8_outs=("a", "b"))
        fl = [_input_layer((12, 5, 6)), Layer("Pooling", "gap", ["in0"], ["g"], {0: 1, 4: 1}),
              _conv_layer(rng, "Convolution", 12, dict(o=5, k=1, params={9: 4}), bottom="g", top="o1")]
        (tmp_path / "flat").mkdir()
        _compare(tmp_path / "flat", fl, _randn(rng, (12, 5, 6)), ["o1"])
    finally:
        if old is None:
            del os.environ["MAIXNN_KERNELS"]
        else:
            os.environ["MAIXNN_KERNELS"] = old


def test_int8_results_identical_for_every_kernel_set(tmp_path):
    """int8 through the packed layers and the 1-D Convolution path (which
    unpacks the panels for the InnerProduct arithmetic): every kernel set gives
    the same bits; the 1-D Convolution equals an InnerProduct holding the same
    int8 weights as loaded (no packing)."""
    rng = np.random.default_rng(7)
    w = rng.integers(-127, 128, (9, 12)).astype(np.int8)
    bias, scales = _randn(rng, (9,)), rng.uniform(20, 90, 9)
    arrays = lambda: [Weight("weight", w, "tagged"), Weight("bias", bias), Weight("weight_scales", scales),  # noqa: E731
                      Weight("bottom_scale", [30.0])]
    layers = [
        _input_layer((12, 7, 8)),
        _int8_conv(rng, "Convolution", "c1", "in0", "a", 12, 12, 2, 40.0, params={4: 1}),
        Layer("Pooling", "gap", ["a"], ["g"], {0: 1, 4: 1}),
        Layer("Split", "sp", ["g"], ["g1", "g2"]),
        Layer("Convolution", "c1d", ["g1"], ["o_conv"], {0: 9, 1: 1, 5: 1, 6: w.size, 8: 1}, arrays()),
        Layer("InnerProduct", "ip", ["g2"], ["o_ip"], {0: 9, 1: 1, 2: w.size, 8: 1}, arrays()),
    ]
    param, binp = _save(tmp_path, layers, "k")
    x = _randn(rng, (12, 7, 8), 1.5)
    results = {}
    for kernels in available_kernels():
        with Net(param, binp, kernels=kernels) as net:
            results[kernels] = net.forward(x, outputs=["a", "o_conv", "o_ip"])
    ref = results["ref"]
    np.testing.assert_array_equal(ref["o_conv"], ref["o_ip"])
    for kernels, got in results.items():
        for name in ref:
            np.testing.assert_array_equal(got[name], ref[name], err_msg="%s: %s" % (kernels, name))


# ------------------------------------------------------------------ info's estimate == the engine's peak

def _concat_net(rng, int8):
    """Split of the input (the engine copies views of a given blob), Concat,
    Noop, Flatten of a copy and of a view, Reshape, two outputs."""
    if int8:
        c1 = _int8_conv(rng, "Convolution", "c1", "s0", "a", 4, 6, 2, 30.0, params={4: 1})
        c2 = _int8_conv(rng, "Convolution", "c2", "s1", "b", 4, 6, 2, 30.0, k=1)
        c3 = _int8_conv(rng, "Convolution", "c3", "cat", "cq", 12, 8, 102, 20.0, 10.0, k=1)
    else:
        c1 = _conv_layer(rng, "Convolution", 4, dict(o=6, k=3, params={4: 1}), name="c1", bottom="s0", top="a")
        c2 = _conv_layer(rng, "Convolution", 4, dict(o=6, k=1), name="c2", bottom="s1", top="b")
        c3 = _conv_layer(rng, "Convolution", 12, dict(o=8, k=1), name="c3", bottom="cat", top="cq")
    return [
        _input_layer((4, 8, 8)),
        Layer("Split", "sp", ["in0"], ["s0", "s1", "s2"]),
        c1, c2,
        Layer("Concat", "cat", ["a", "b"], ["cat"], {0: 0}),
        c3,
        Layer("Noop", "noop", ["cq"], ["cq2"]),
        Layer("Flatten", "fl", ["cq2"], ["flat"]),
        Layer("Reshape", "rs", ["flat"], ["r"], {0: 64, 1: 8}),
        Layer("Flatten", "fl_in", ["s2"], ["flat_in"]),
        Layer("Reshape", "rs_in", ["flat_in"], ["r_in"], {0: 16, 1: 16}),
        Layer("Pooling", "pool", ["r"], ["p"], {0: 0, 1: 2, 2: 2}) if not int8 else
        Layer("Noop", "noop2", ["r"], ["p"]),
    ]


def _converted(tmp_path, name):
    torch = pytest.importorskip("torch")  # noqa: F841
    import maixnn
    from helpers import export_and_convert
    from nets import mobilenetv2_like, resnet18_like
    model = (resnet18_like(width=8, num_classes=10, input_size=32) if name == "resnet"
             else mobilenetv2_like(width_mult=0.25, num_classes=10, input_size=32))
    paths = export_and_convert(model, tmp_path, name=name)
    base = paths.param[:-len(".param")]
    rng = np.random.default_rng(0)
    pics = [rng.integers(0, 256, (32, 32, 3)).astype(np.uint8) for _ in range(2)]
    maixnn.quantize(base, base + "_int8", images=pics, method="minmax", progress=False)
    return (paths.param, paths.bin), (base + "_int8.param", base + "_int8.bin")


@pytest.fixture(scope="module")
def nets_for_peak(tmp_path_factory):
    d = tmp_path_factory.mktemp("peak")
    out = {}
    for int8 in (False, True):
        name = "concat_int8" if int8 else "concat"
        out[name] = _save(d, _concat_net(np.random.default_rng(11), int8), name)
    for name in ("resnet", "mobilenet"):
        sub = d / name
        sub.mkdir()
        out[name], out[name + "_int8"] = _converted(sub, name)
    return out


@pytest.mark.parametrize("name", ["concat", "concat_int8", "resnet", "resnet_int8", "mobilenet", "mobilenet_int8"])
def test_info_estimate_equals_the_engines_peak(nets_for_peak, name):
    param, binp = nets_for_peak[name]
    if name == "resnet":
        types = {l.type for l in Net(param, binp).layers}
        assert "Split" in types  # the residual connections
    for kernels, threads in (("ref", 1), (None, 1), (None, 2)):
        net = Net(param, binp, kernels=kernels, num_threads=threads)
        s = summarize(param, binp, net=net)
        assert s.engine_peak_bytes > sum(4 * int(np.prod(v)) for v in s.input_shapes.values())
        assert s.estimated_peak_bytes == s.engine_peak_bytes, (kernels, threads)
        assert s.activation_peak_bytes <= s.engine_peak_bytes
        assert s.weight_memory == net.weight_memory > 0
        # a forward that keeps an intermediate blob too
        x = np.random.default_rng(3).standard_normal(s.input_shapes[net.input_names[0]]).astype(F32)
        blobs = net.forward(x, outputs=list(net.blob_names))
        sizes = {k: int(v.nbytes) for k, v in blobs.items()}
        mid = [l.tops[0] for l in net.layers if l.type not in ("Input",)][len(net.layers) // 2]
        wanted = [mid] + list(net.output_names)
        net.forward(x, outputs=wanted)
        given = {net.input_names[0]: int(x.nbytes)}
        assert engine_blob_peak(net, sizes, given, wanted, net.layer_scratch) == net.peak_memory
        net.close()


def test_concat_net_views_and_copies(nets_for_peak):
    """The rules themselves on the hand-made net: the three Split tops of the
    given input are copies, the Noop/Flatten/Reshape chain shares c3's output."""
    param, binp = nets_for_peak["concat"]
    with Net(param, binp, kernels="ref") as net:
        x = np.zeros((4, 8, 8), F32)
        blobs = net.forward(x, outputs=list(net.blob_names))
        sizes = {k: int(v.nbytes) for k, v in blobs.items()}
        net.forward(x)
        given = {"in0": 1024}
        no_scratch = engine_blob_peak(net, sizes, given)
        # while c1 runs: in0 + its three copies + c1's output a (6x8x8 floats)
        assert no_scratch >= 1024 * 4 + 1536
        assert engine_blob_peak(net, sizes, given, scratch=net.layer_scratch) == net.peak_memory
        # if Split made views of the input, the peak would be lower than what the engine measures
        assert net.peak_memory - max(net.layer_scratch) >= 1024 * 4
