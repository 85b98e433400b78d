"""quantize --target awnn (issue 10 part 2): calibration for the V831 NPU's own format.

The scale rules on graphs with known answers (Concat groups by union-find, Split
tops, ReLU inputs, the multiplier grid), then the whole path on the three test
networks (ResNet18-, MobileNetV2-shaped, a detector with Concat): float model ->
quantize(target="awnn") -> awnn .param/.bin/.mud/.table/.json, run on maixnn's
NPU emulation, compared with the float model on natural photos (crops of
scikit-learn's sample images) and with maixnn's ncnn int8 model built from the
same scales.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

from helpers import export_and_convert
from nets import SMALL_NETS

import maixnn
from maixnn import calibration as cal
from maixnn.awnn_calibration import (assign_blob_scales, awnn_multipliers, concat_groups, own_blob_scales,
                                     snap_weight_scales)
from maixnn.errors import OptionError
from maixnn.ncnn_model import Layer, NcnnModel
from maixnn.preprocess import Preprocess

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
METHODS = ("minmax", "kl", "percentile", "aciq", "eq")


# ====================================================================== photos

def photo_crops(count, seed, size=160):
    """Natural-looking uint8 HWC pictures: random square crops (size..2*size)
    of scikit-learn's two sample photos, so that resize + center crop sees
    real image statistics."""
    from sklearn.datasets import load_sample_images
    photos = load_sample_images().images
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        p = photos[i % len(photos)]
        s = int(rng.integers(size, min(2 * size, min(p.shape[:2])) + 1))
        y = int(rng.integers(0, p.shape[0] - s + 1))
        x = int(rng.integers(0, p.shape[1] - s + 1))
        out.append(np.ascontiguousarray(p[y:y + s, x:x + s]))
    return out


def cosine(a, b):
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


# ====================================================================== the rules, on known answers

def test_snap_weight_scales_makes_every_multiplier_exact():
    """awnn stores mult[o] = Q16(wmin / ws[o], 1024): after snapping, that is
    an exact integer for every channel, no scale grows (no weight clips), the
    smallest is unchanged, and no channel loses more than one multiplier step
    of its weight range."""
    rng = np.random.default_rng(0)
    for _ in range(500):
        n = int(rng.integers(1, 70))
        ws = (127.0 / np.abs(rng.standard_normal(n)) ** rng.uniform(0.1, 4)).astype(np.float32)
        ws[rng.random(n) < 0.05] = 0.0   # all-zero channels: 127 / 0 -> 0
        s = snap_weight_scales(ws)
        live = ws > 0
        if not live.any():
            assert np.all(s == 1.0)
            continue
        wmin = np.float64(s.min())
        assert s.min() == ws[live].min()
        exact = wmin / s.astype(np.float64) * 1024.0
        m = awnn_multipliers(s)
        assert np.all(np.abs(exact - m) < 1e-3)
        assert np.all(m >= 1) and np.all(m <= 1024)
        assert np.all(s[live] <= ws[live] * (1 + 1e-6))
        ideal = wmin / ws[live].astype(np.float64) * 1024.0
        assert np.all(s[live] >= ws[live] * ideal / (np.floor(ideal) + 1) * (1 - 1e-6))
        assert np.all(s[~live] == s.max())   # zero channels never set wmin


def test_snap_removes_the_gain_error_of_a_small_multiplier():
    """A channel whose weights are 300x smaller than the other channel's: the
    plain scales give it a multiplier of 3.41 -> 3, i.e. its output 12% too
    small on every pixel; the snapped scales have an exact multiplier (4) and
    only the weight rounding error.  Independent numpy reference of the
    layer's scaling (awnn-format.md 7.2 / 13.4), 200 random inputs."""
    rng = np.random.default_rng(1)
    w = rng.standard_normal((2, 64)).astype(np.float32)
    w[1] /= 300.0
    x = rng.standard_normal((64, 200)).astype(np.float32)
    plain = (np.float32(127) / np.abs(w).max(axis=1)).astype(np.float32)

    def rel_error(ws):
        q = np.clip(np.round(w * ws[:, None]), -127, 127)
        y = (q @ x) * awnn_multipliers(ws)[:, None] / 1024.0 / ws.min()
        ref = w @ x
        return np.linalg.norm(y - ref, axis=1) / np.linalg.norm(ref, axis=1)

    snapped = snap_weight_scales(plain)
    assert awnn_multipliers(plain).tolist() == [1024, 3]
    assert awnn_multipliers(snapped).tolist() == [1024, 4]
    e_plain, e_snap = rel_error(plain), rel_error(snapped)
    assert e_plain[0] == e_snap[0]           # the reference channel is untouched
    assert e_plain[1] > 0.05                 # measured 0.065
    assert e_snap[1] < 0.01                  # measured 0.0078


def _graph():
    """Input -> conv a -> Split (a1, a2); a1 -> concat1(a1, b) -> ab; conv c;
    concat2(ab, c) -> abc; a2 -> ReLU -> ra; conv d -> ReLU -> rd (d read only
    by the ReLU); concat on axis 1 (CPU) of rd and ra -> side."""
    L = Layer
    layers = [
        L("Input", "in", [], ["data"], {0: 8, 1: 8, 2: 3}),
        L("Convolution", "conv_a", ["data"], ["a"], {0: 4, 1: 1, 6: 12}),
        L("Split", "split_a", ["a"], ["a1", "a2"]),
        L("Convolution", "conv_b", ["a1"], ["b0"], {0: 4, 1: 1, 6: 16}),
        L("Split", "split_b", ["b0"], ["b", "bb"]),
        L("Concat", "concat1", ["a1", "b"], ["ab"], {0: 0}),
        L("Convolution", "conv_c", ["bb"], ["c"], {0: 4, 1: 1, 6: 16}),
        L("Concat", "concat2", ["ab", "c"], ["abc"], {0: 0}),
        L("ReLU", "relu_a", ["a2"], ["ra"]),
        L("Convolution", "conv_d", ["abc"], ["d"], {0: 4, 1: 1, 6: 48}),
        L("ReLU", "relu_d", ["d"], ["rd"]),
        L("Concat", "side", ["rd", "ra"], ["side"], {0: 1}),
    ]
    return NcnnModel(layers)


def test_concat_groups_are_transitive_and_only_on_the_npu():
    g = concat_groups(_graph())
    assert [sorted(x) for x in g] == [sorted(["a1", "b", "ab", "c", "abc"])]


def test_assign_blob_scales_follows_the_npu_rules():
    model = _graph()
    blobs = model.blob_names()
    own = {b: 10.0 + i for i, b in enumerate(blobs)}
    own["ab"], own["abc"] = 7.0, 9.0
    d = assign_blob_scales(model, blobs, own)
    s = {b: x.scale for b, x in d.items()}
    # Concat group: the smallest of the Concat outputs' own scales (least clipping)
    for b in ("a1", "b", "ab", "c", "abc"):
        assert s[b] == 7.0 and d[b].rule == "concat"
    # Split tops outside the group take the bottom's scale (no requantize)
    assert s["a2"] == s["a"] == own["a"] and d["a2"].rule == "split"
    assert s["bb"] == s["b0"] == own["b0"]
    # a blob read only by a plain ReLU takes the ReLU output's scale
    assert s["d"] == s["rd"] == own["rd"] and d["d"].rule == "relu"
    # a Split top read by a ReLU is not changed by the ReLU rule (it follows its Split)
    assert s["a2"] != own["ra"]
    # the CPU Concat (axis 1) ties nothing
    assert s["side"] == own["side"] and s["ra"] == own["ra"]
    # eq overrides replace the own scale before the rules
    d2 = assign_blob_scales(model, blobs, own, overrides={"a": 3.0})
    assert d2["a"].scale == 3.0 and d2["a2"].scale == 3.0 and d2["a"].rule == "eq"


def test_padding_output_takes_its_input_scale_with_the_border_fitting():
    from maixnn.ncnn_model import Weight
    pad = Layer("Padding", "normpad", ["x"], ["xp"], {0: 1, 1: 1, 2: 1, 3: 1, 6: 3},
                [Weight("per_channel_pad", np.array([0.1, -0.5, 0.2], np.float32), "raw")])
    model = NcnnModel([Layer("Input", "in", [], ["x"], {0: 8, 1: 8, 2: 3}), pad,
                       Layer("Convolution", "c", ["xp"], ["y"], {0: 4, 1: 3, 6: 108})])
    # KL saw the border spike and gave the padded blob 12x the input's scale
    d = assign_blob_scales(model, ["x", "xp", "y"], {"x": 50.0, "xp": 600.0, "y": 30.0})
    assert d["xp"].scale == 50.0 and d["xp"].rule == "padding"
    # an input scale that would clip the border (-0.5 at 300 is -150) is lowered to fit it
    d = assign_blob_scales(model, ["x", "xp", "y"], {"x": 300.0, "xp": 600.0, "y": 30.0})
    assert d["xp"].scale == pytest.approx(254.0) and "border" in d["xp"].detail


def test_outputs_and_softmax_inputs_are_never_clipped():
    """kl clips the tail; a network output or a Softmax input keeps max |x|."""
    model = NcnnModel([Layer("Input", "in", [], ["i"], {0: 4}),
                       Layer("Sigmoid", "s", ["i"], ["x"]),
                       Layer("ReLU", "r", ["x"], ["y"]),
                       Layer("Softmax", "sm", ["y"], ["p"])])
    rng = np.random.default_rng(0)
    stats = {}
    for b in ("i", "x", "y", "p"):
        st = cal.BlobStats(b)
        data = [np.abs(rng.standard_normal(4000)).astype(np.float32) for _ in range(3)]
        data[0][0] = 40.0   # one outlier
        for v in data:
            st.add_absmax(v)
        for v in data:
            st.add_histograms(v, True, False)
        stats[b] = st
    own, rec = own_blob_scales(model, ["i", "x", "y", "p"], stats, "kl", 99.99, [])
    assert rec["x"]["method"] == "kl" and own["x"] > 127.0 / 40.0 * 2
    # the network input is never thresholded by statistics (float tensors: max |x|)
    assert own["i"] == pytest.approx(127.0 / 40.0) and "input" in rec["i"]["note"]
    assert rec["y"]["method"] == "minmax" and own["y"] == pytest.approx(127.0 / 40.0)
    assert rec["p"]["method"] == "minmax"


def test_a_blob_too_small_for_a_histogram_takes_max_abs():
    """A global pooling output of 64 channels on 4 images is 256 values: no
    histogram tail to read a KL threshold from."""
    model = NcnnModel([Layer("Input", "in", [], ["x"], {0: 64}), Layer("ReLU", "r", ["x"], ["y"])])
    rng = np.random.default_rng(0)
    stats = {}
    for b, n in (("x", 64), ("y", 4096)):
        st = cal.BlobStats(b)
        data = [np.abs(rng.standard_normal(n)).astype(np.float32) for _ in range(4)]
        for v in data:
            st.add_absmax(v)
        for v in data:
            st.add_histograms(v, True, False)
        stats[b] = st
    own, rec = own_blob_scales(model, ["x", "y"], stats, "kl", 99.99, [])
    assert rec["x"]["method"] == "minmax" and "too few" in rec["x"]["note"]
    assert own["x"] == pytest.approx(127.0 / stats["x"].absmax)
    assert rec["y"]["method"] == "minmax"   # the network output
    own, rec = own_blob_scales(NcnnModel(model.layers + [Layer("ReLU", "r2", ["y"], ["z"])]), ["y"], stats,
                               "kl", 99.99, [])
    assert rec["y"]["method"] == "kl"       # 4 x 4096 values: kl proper


def test_target_is_checked(tmp_path):
    with pytest.raises(OptionError, match="target"):
        maixnn.quantize(str(tmp_path / "nothing"), str(tmp_path / "out"), images=[np.zeros((8, 8, 3), np.uint8)],
                        target="tflite")


# ====================================================================== end to end on the test networks

def _npu_float_graph(base, result):
    """The graph the writer wrote, in float (folded as the quantizer folded it)."""
    from maixnn.awnn import npu_float_graph
    from maixnn.fold import refold_from_record
    model = NcnnModel.load(base + ".param", base + ".bin")
    if result.fold:
        model = refold_from_record(model, result.fold).model
    return npu_float_graph(model)


@pytest.fixture(scope="module")
def nets(tmp_path_factory):
    """The three test networks, exported, converted and quantized for the NPU
    (kl, 4 calibration photos)."""
    out = {}
    calib = photo_crops(4, 0)
    for name, factory in SMALL_NETS.items():
        d = tmp_path_factory.mktemp("awnn_" + name)
        export_and_convert(factory(), d, name=name)
        base = str(d / name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", cal.CalibrationWarning)
            r = maixnn.quantize(base, base + "_awnn", images=calib, mean=MEAN, std=STD, method="kl",
                                target="awnn", progress=False)
        out[name] = (base, r)
    return out


def _outputs(base, r, images):
    """(float model output on the PyTorch-normalised input, awnn output on the
    folded single-mean/norm input) per image, both float32."""
    fnet = maixnn.Net(base + ".param", base + ".bin")
    anet = maixnn.Net(r.param, r.bin)
    size = fnet.input_shapes[fnet.input_names[0]]
    pp = Preprocess.from_options(size, mean=MEAN, std=STD)
    got = [(fnet.forward(pp(img)), anet.forward(r.preprocess(img))) for img in images]
    fnet.close()
    anet.close()
    return got


@pytest.mark.parametrize("name", list(SMALL_NETS))
def test_files_table_and_placement(nets, name):
    from maixnn.awnn import read_table, required_scales
    base, r = nets[name]
    for p in (r.param, r.bin, r.table, r.mud, r.json):
        assert os.path.isfile(p) and os.path.getsize(p) > 0
    assert "type = awnn" in open(r.mud).read()
    with open(r.json) as f:
        doc = json.load(f)
    assert doc["target"] == "awnn" and doc["preprocess"] and doc["calibration"]["method"] == "kl"
    # the table has every entry the writer reads, all positive and finite
    ws, bs = read_table(r.table)
    layers, blobs = required_scales(_npu_float_graph(base, r))
    assert sorted(ws) == sorted(layers) and set(blobs) <= set(bs)
    assert all(np.all(np.isfinite(v)) and np.all(np.asarray(v) > 0) for v in ws.values())
    assert all(np.isfinite(v) and v > 0 for v in bs.values())
    # the awnn file carries those scales (-23329 of each layer, as the engine reads them)
    anet = maixnn.Net(r.param, r.bin)
    assert anet.is_awnn
    for b in blobs:
        assert anet.blob_scale(b) == pytest.approx(bs[b], rel=1e-5), b
    # the placement report is part of the quantize report, one row per written layer
    assert "NPU" in r.placement_text and "ms/frame" in r.placement_text
    assert doc["placement"] and {row["device"] for row in doc["placement"]} <= {"NPU", "CPU"}
    written = [ln.split()[1] for ln in open(r.param).read().splitlines()[2:]]
    assert [row["name"] for row in doc["placement"]] == written
    for row in doc["placement"]:
        assert (anet.layer_device(row["name"]) == "npu") == (row["device"] == "NPU"), row
        # awnn-format.md section 6 (and maixnn's corrections, 13.3.4)
        if row["type"] in ("ConvolutionDepthWise", "Interp", "Sigmoid", "Softmax", "BinaryOp", "Padding",
                           "Clip", "Input"):
            assert row["device"] == "CPU", row
        if row["type"] in ("Convolution", "InnerProduct", "ReLU", "PReLU", "Split", "Quantize", "Concat"):
            assert row["device"] == "NPU", row   # these nets: no pad value, Concat on axis 0
        if row["type"] == "Pooling" and "pad_mode 1" in row["reason"]:
            assert row["device"] == "CPU", row   # refused by the runtime: maixnn keeps it on the CPU
    assert all(d["scale"] > 0 for d in doc["blobs"])


@pytest.mark.parametrize("name", list(SMALL_NETS))
def test_awnn_output_agrees_with_float(nets, name):
    base, r = nets[name]
    cos = [cosine(yf, ya) for yf, ya in _outputs(base, r, photo_crops(6, 1))]
    print("%s: awnn vs float output cosine min %.5f" % (name, min(cos)))
    assert min(cos) >= 0.99   # measured: resnet18 0.99942, mobilenetv2 0.99992, detector 0.99999


def test_detector_concat_inputs_share_the_concat_scale(nets):
    from maixnn.awnn import read_table
    base, r = nets["detector"]
    graph = _npu_float_graph(base, r)
    _, bs = read_table(r.table)
    concats = [l for l in graph.layers if l.type == "Concat"]
    assert concats
    for l in concats:
        assert all(bs[b] == bs[l.tops[0]] for b in l.bottoms), l.name
    # one Concat input is a Split output whose sibling keeps the Split's own scale: the
    # writer requantizes that branch (an inserted Quantize, awnn-format.md 7.10)
    text = open(r.param).read()
    assert "Quantize" in text and "_cvt" in text
    # the blob after the Concat reads what the Concat wrote: compare it with float
    anet = maixnn.Net(r.param, r.bin)
    fnet = maixnn.Net.from_memory(graph.param_text(), graph.bin_bytes())
    for img in photo_crops(3, 2):
        x = r.preprocess(img)
        a = anet.forward(x, outputs=[concats[0].tops[0]], dequantize=True)[concats[0].tops[0]]
        f = fnet.forward(x, outputs=[concats[0].tops[0]])[concats[0].tops[0]]
        assert cosine(a, f) > 0.999


@pytest.mark.parametrize("name", list(SMALL_NETS))
def test_awnn_agrees_with_ncnn_int8_on_the_same_scales(nets, name, tmp_path):
    """maixnn's ncnn int8 model built from the awnn table (each layer's weight
    scales, its input blob's scale; layers the writer keeps on the CPU kept
    float) against the awnn model: two int8 arithmetics on the same scales."""
    from maixnn.awnn import read_table
    from maixnn.fold import refold_from_record
    from maixnn.quantizer import ScaleTable, quantize_from_table
    base, r = nets[name]
    ws, bs = read_table(r.table)
    model = NcnnModel.load(base + ".param", base + ".bin")
    model = refold_from_record(model, r.fold).model if r.fold else model
    table, floats = ScaleTable(), []
    for l in model.layers:
        if l.type in cal.QUANTIZABLE_TYPES:
            if l.name in ws:
                table.set(l.name, ws[l.name], bs[l.bottoms[0]])
            else:
                floats.append(l.name)
    ncnn8 = quantize_from_table(base, table, str(tmp_path / "ncnn_same"), mean=MEAN, std=STD, float_layers=floats)
    anet, nnet = maixnn.Net(r.param, r.bin), maixnn.Net(ncnn8.param, ncnn8.bin)
    cos = []
    for img in photo_crops(4, 3):
        x = r.preprocess(img)
        cos.append(cosine(anet.forward(x), nnet.forward(x)))
    print("%s: awnn vs ncnn int8 (same scales) output cosine min %.5f" % (name, min(cos)))
    assert min(cos) >= 0.999   # measured: resnet18 0.99942, mobilenetv2 0.99990, detector 0.99999


@pytest.mark.parametrize("method", METHODS)
def test_every_method_writes_a_valid_table(nets, method, tmp_path):
    from maixnn.awnn import read_table, required_scales
    base, r0 = nets["detector"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cal.CalibrationWarning)
        r = maixnn.quantize(base, str(tmp_path / "det"), images=photo_crops(3, 0), mean=MEAN, std=STD,
                            method=method, target="awnn", progress=False, eq_images=2, eq_steps=8)
    ws, bs = read_table(r.table)
    graph = _npu_float_graph(base, r)
    layers, blobs = required_scales(graph)
    assert sorted(ws) == sorted(layers) and set(blobs) <= set(bs)
    assert all(np.all(np.asarray(v) > 0) and np.all(np.isfinite(v)) for v in ws.values())
    assert all(bs[b] > 0 and np.isfinite(bs[b]) for b in blobs)
    for l in graph.layers:
        if l.type == "Concat":
            assert all(bs[b] == bs[l.tops[0]] for b in l.bottoms)
    assert r.method == method
    cos = [cosine(yf, ya) for yf, ya in _outputs(base, r, photo_crops(2, 1))]
    assert min(cos) >= 0.99
    if method == "eq":   # eq searched the weight scales: they differ from 127/max|w| (snapped)
        assert any(not np.allclose(ws[k], r0.weight_scales[k]) for k in ws)


def test_cli_quantize_target_awnn_and_analyze(nets, tmp_path):
    from PIL import Image
    base, _ = nets["detector"]
    folder = tmp_path / "calib"
    folder.mkdir()
    for i, img in enumerate(photo_crops(3, 0)):
        Image.fromarray(img).save(str(folder / ("%d.png" % i)))
    out = str(tmp_path / "det_cli")
    proc = subprocess.run([sys.executable, "-m", "maixnn", "quantize", base, out, "--target", "awnn",
                           "--images", str(folder), "--mean", ",".join(map(str, MEAN)),
                           "--std", ",".join(map(str, STD)), "--method", "minmax", "--no-progress"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert proc.returncode == 0, proc.stderr
    assert "ms/frame" in proc.stdout and "Concat" in proc.stdout and "rule" in proc.stdout
    for ext in (".param", ".bin", ".table", ".mud", ".json"):
        assert os.path.isfile(out + ext)
    # the default target is still ncnn; --table is for ncnn (to-awnn builds from a table)
    proc = subprocess.run([sys.executable, "-m", "maixnn", "quantize", base, out + "_x", "--target", "awnn",
                           "--table", out + ".table"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True)
    assert proc.returncode == 2 and "to-awnn" in proc.stderr
    # analyze: the awnn model against its float model, per layer, with the usual files
    report = maixnn.analyze(base, out, images=photo_crops(2, 4), out_dir=str(tmp_path / "rep"), progress=False,
                            verbose=False)
    assert report["target"] == "awnn"
    for key in ("json", "text", "html", "png"):
        assert os.path.isfile(report["files"][key])
    npu_rows = report["layers"]
    assert npu_rows and all(row["device"] == "NPU" for row in npu_rows)
    # single mode for every NPU layer but the copies (Split, the writer's Quantize), Eltwise and
    # Concat included (one Input per bottom)
    for row in npu_rows:
        if row["type"] in ("Split", "Quantize"):
            assert row["single"] is None
        else:
            assert row["single"] and row["single"]["cosine"] > 0.99, row
    assert {"Convolution", "Concat", "Eltwise"} <= {row["type"] for row in npu_rows if row["single"]}
    assert all(row["entire"]["cosine"] > 0.99 for row in npu_rows)
    assert report["output"]["cosine"] > 0.99
    anet = maixnn.Net(out + ".param", out + ".bin")
    written = [ln.split()[1] for ln in open(out + ".param").read().splitlines()[2:]]
    assert [row["layer"] for row in npu_rows] == [n for n in written if anet.layer_device(n) == "npu"]


def test_float_layers_refused_for_awnn(nets, tmp_path):
    base, _ = nets["detector"]
    with pytest.raises(OptionError, match="float_layers"):
        maixnn.quantize(base, str(tmp_path / "x"), images=photo_crops(1, 0), mean=MEAN, std=STD,
                        target="awnn", float_layers="/c2/c2.0/Conv", progress=False)


def test_outputs_are_written_all_or_nothing(nets, tmp_path, monkeypatch):
    """A failure in the writer leaves the previous outputs as they were and
    no new or temporary file behind."""
    import maixnn.awnn
    base, r = nets["detector"]
    out = str(tmp_path / "atomic")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cal.CalibrationWarning)
        maixnn.quantize(base, out, images=photo_crops(2, 0), mean=MEAN, std=STD, target="awnn", progress=False,
                        method="minmax")
    before = {f: open(os.path.join(str(tmp_path), f), "rb").read() for f in os.listdir(str(tmp_path))}
    assert len(before) == 5

    def broken(*args, **kwargs):
        raise maixnn.errors.ModelFormatError("injected failure")

    monkeypatch.setattr(maixnn.awnn, "to_awnn", broken)
    with pytest.raises(maixnn.errors.ModelFormatError, match="injected"):
        maixnn.quantize(base, out, images=photo_crops(2, 5), mean=MEAN, std=STD, target="awnn", progress=False,
                        method="kl")
    after = {f: open(os.path.join(str(tmp_path), f), "rb").read() for f in os.listdir(str(tmp_path))}
    assert after == before


@pytest.mark.parametrize("name", ["dilation", "asymmetric_pad", "multi_output"])
def test_idiom_nets_agree_with_float(name, tmp_path):
    """Small inputs (16x16) where the fold's border is a third of the padded
    blob (dilation, asymmetric padding; kl once cut the picture there: cosine
    0.58), and a net with two outputs."""
    from nets import IDIOM_NETS
    export_and_convert(IDIOM_NETS[name](), tmp_path, name=name)
    base = str(tmp_path / name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cal.CalibrationWarning)
        r = maixnn.quantize(base, base + "_awnn", images=photo_crops(3, 0), mean=MEAN, std=STD, target="awnn",
                            progress=False)
    fnet, anet = maixnn.Net(base + ".param", base + ".bin"), maixnn.Net(r.param, r.bin)
    pp = Preprocess.from_options(fnet.input_shapes[fnet.input_names[0]], mean=MEAN, std=STD)
    for img in photo_crops(3, 1):
        yf = fnet.forward(pp(img), outputs=fnet.output_names)
        ya = anet.forward(r.preprocess(img), outputs=fnet.output_names, dequantize=True)
        for k in yf:
            assert cosine(yf[k], ya[k]) >= 0.99, (k, cosine(yf[k], ya[k]))   # measured >= 0.9997
