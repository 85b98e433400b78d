"""maixnn's C engine on V831 awnn models (issue 10 part 3): every NPU blob's int8
codes identical to the independent numpy reference of awnn-format.md 13.4
(tests/awnn_reference.py), on the 40 golden awnn models and on hand-built
models that reach every branch; CPU layers and both boundaries checked too;
the emulated output compared with the float model."""
from __future__ import annotations

import os

import numpy as np
import pytest

import awnn_reference as ar
from awnn_build import AwnnFile, awnn_vectors_dir, branch_models, conv_like

import maixnn
from maixnn.errors import OptionError

VECTORS = awnn_vectors_dir()
CASES = sorted(c for c in os.listdir(VECTORS) if c.startswith("case")) if VECTORS else []
needs_vectors = pytest.mark.skipif(not CASES, reason="golden awnn files ../shared/reference/awnn-vectors not found "
                                   "next to the repository (set MAIXNN_AWNN_VECTORS)")


def _cpu_layer(layer, xs):
    """A device-0 layer on maixnn's float engine, as a one-layer model fed the reference's inputs."""
    text, data = ar.one_layer_model(layer)
    net = maixnn.Net.from_memory(text, data)
    out = net.forward(dict(zip(layer.bottoms, xs)), outputs=list(layer.tops))
    return [out[t] for t in layer.tops]


def _input_for(net, seed=1):
    name = net.input_names[0]
    shape = [d for d in net.input_shapes[name] if d]
    rs = np.random.RandomState(seed)
    # codes spread over the whole int8 range and beyond (clamped), with exact .5 ties
    codes = rs.uniform(-140, 140, shape)
    codes.reshape(-1)[::7] = np.round(codes.reshape(-1)[::7]) + 0.5
    return name, (codes / net.blob_scale(name)).astype(np.float32)


def _compare_all(net, ref, inputs):
    got = net.forward(inputs, outputs=net.blob_names, dequantize=False)
    want = ref.run(inputs, _cpu_layer)
    for b in net.blob_names:
        g, w = got[b], want[b]
        assert g.dtype == w.dtype and g.shape == w.shape, (b, g.dtype, w.dtype, g.shape, w.shape)
        if g.dtype == np.int8:
            assert np.array_equal(g, w), "blob %s: %d of %d int8 codes differ" % (b, np.sum(g != w), g.size)
        else:
            np.testing.assert_array_equal(g, w, err_msg="float blob %s" % b)
    # graph outputs as the board returns them: dequantized NPU blobs
    outs = net.forward(inputs, outputs=None)
    outs = outs if isinstance(outs, dict) else {net.output_names[0]: outs}
    for name, y in outs.items():
        assert y.dtype == np.float32
        w = want[name] if want[name].dtype != np.int8 else ar.dequantize(want[name], ref.scale[name])
        np.testing.assert_array_equal(y, w, err_msg="output %s" % name)
    return got


def _cosine(a, b):
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-300))


@needs_vectors
def test_golden_awnn_models_match_reference_and_float(capsys):
    cosines = {}
    npu_codes = 0
    for case in CASES:
        d = os.path.join(VECTORS, case)
        net = maixnn.Net(os.path.join(d, "awnn.param"), os.path.join(d, "awnn.bin"))
        ref = ar.AwnnModel.load(os.path.join(d, "awnn.param"), os.path.join(d, "awnn.bin"))
        assert net.is_awnn
        name, x = _input_for(net)
        got = _compare_all(net, ref, {name: x})
        npu_codes += sum(v.size for v in got.values() if v.dtype == np.int8)
        # already-quantized int8 input (the board's need_quantization = false)
        q = ar.quantize(x, net.blob_scale(name))
        _compare_all(net, ref, {name: q})
        # the float model the converter started from
        fnet = maixnn.Net(os.path.join(d, "float.param"), os.path.join(d, "float.bin"))
        fy = fnet.forward({name: x}, outputs=net.output_names)
        ay = net.forward({name: x}, outputs=net.output_names, dequantize=True)
        cosines[case] = min(_cosine(fy[o], ay[o]) for o in net.output_names)
    assert npu_codes > 300000
    values = np.array(list(cosines.values()))
    with capsys.disabled():
        print("\nawnn golden models, emulated vs float output cosine (random models and scales): median %.4f, "
              ">= 0.99 in %d of %d; %s" % (np.median(values), np.sum(values >= 0.99), len(values),
                                          " ".join("%s:%.3f" % (k[4:], v) for k, v in cosines.items())))
    # the random golden models have arbitrary scales (many saturate), so no bound on each;
    # but the emulation must track the float model where the scales fit
    assert np.sum(values >= 0.99) >= 4


@pytest.mark.parametrize("name", sorted(branch_models()))
def test_hand_built_branches_match_reference(name, tmp_path):
    model = branch_models()[name]
    base = str(tmp_path / name)
    model.save(base)
    net = maixnn.Net(base + ".param", base + ".bin")
    ref = ar.AwnnModel.load(base + ".param", base + ".bin")
    for seed in range(3):
        inp, x = _input_for(net, seed)
        got = _compare_all(net, ref, {inp: x})
        codes = np.random.RandomState(seed).randint(-128, 128, x.shape).astype(np.int8)
        _compare_all(net, ref, {inp: codes})
    # the codes are not degenerate: every NPU blob takes more than one value
    for layer in net.layers:
        if net.layer_device(layer.name) == "npu":
            for t in layer.tops:
                assert len(np.unique(got[t])) >= 2, (name, t)


def test_rounding_and_saturation_branches():
    """Hand-computed values of 13.4's formulas through one-layer models: ties round
    away from zero, outputs clamp to [-128, 127] (not -127), the boundary rules."""
    f = AwnnFile()
    f.layer("Input", "in", [], ["x"], "0=8", device=0, scales=[10.0])
    f.layer("Quantize", "q", ["x"], ["y"], "20=1 21=3 22=1", scales=[64.0])     # y = rha(3x / 2)
    net = maixnn.Net.from_memory(f.text(), f.data())
    x = np.array([1, -1, 3, -3, 100, -100, 127, -128], np.int8)
    y = net.forward(x, outputs=["y"])["y"]
    assert y.tolist() == [2, -2, 5, -5, 127, -128, 127, -128]
    # CPU -> NPU: clamp(roundf(f * 10), -127, 127); -128 is never produced
    fx = np.array([0.05, -0.05, 0.15, -0.25, 20, -20, 0.04999, np.nan], np.float32)
    y = net.forward(fx, outputs=["y"])["y"]
    q = [1, -1, 2, -3, 127, -127, 0, -127]
    want = [2, -2, 3, -5, 127, -128, 0, -128]   # rha(3q/2): 1.5->2, -1.5->-2, 3, -4.5->-5, ...
    assert y.tolist() == want and ar.quantize(fx, 10.0).tolist() == q
    # NPU -> CPU: (float)q * (float)(1 / (64 + 1e-5))
    out = net.forward(x)
    inv = np.float32(1.0 / (64.0 + 1e-5))
    np.testing.assert_array_equal(out, ar.out_cvt(x, True, 3, 1).astype(np.float32) * inv)


def test_python_api_for_awnn(tmp_path):
    model = branch_models()["fc_first_1d"]
    net = maixnn.Net.from_memory(model.text(), model.data())
    assert net.is_awnn and net.layer_device("fc1") == "npu" and net.layer_device("sm") == "cpu"
    assert net.blob_scale("data") == 12.0
    x = np.linspace(-5, 5, 40).astype(np.float32)
    codes = net.forward(x, outputs=["fc1"])["fc1"]
    assert codes.dtype == np.int8
    deq = net.forward(x, outputs=["fc1"], dequantize=True)["fc1"]
    np.testing.assert_array_equal(deq, net.dequantize("fc1", codes))
    np.testing.assert_array_equal(deq, ar.dequantize(codes, 64.0))
    with pytest.raises(OptionError):
        net.blob_scale("nope")
    with pytest.raises(OptionError):
        net.forward(x, dequantize="yes")
    float_model = "7767517\n2 2\nInput in 0 1 x 0=4\nReLU r 1 1 x y\n"
    fnet = maixnn.Net.from_memory(float_model)
    assert not fnet.is_awnn
    with pytest.raises(OptionError):
        fnet.blob_scale("x")
    with pytest.raises(OptionError):
        fnet.forward(np.zeros(4, np.float32), dequantize=True)


# ---------------------------------------------------------------- a real-ish network

def _float_cnn(rs):
    """A small float CNN (Input 16x16x3 -> conv 8 -> ReLU -> max pool -> conv 16 -> ReLU -> global avg -> FC 10)
    as ncnn text + weights, and the same as numpy arrays."""
    w1 = (rs.randn(8, 3, 3, 3) * np.sqrt(2 / 27)).astype(np.float32)
    b1 = (rs.randn(8) * 0.1).astype(np.float32)
    w2 = (rs.randn(16, 8, 3, 3) * np.sqrt(2 / 72)).astype(np.float32)
    b2 = (rs.randn(16) * 0.1).astype(np.float32)
    w3 = (rs.randn(10, 16) * np.sqrt(1 / 16)).astype(np.float32)
    b3 = (rs.randn(10) * 0.1).astype(np.float32)
    text = "\n".join([
        "7767517", "8 8",
        "Input in 0 1 data 0=16 1=16 2=3",
        "Convolution c1 1 1 data c1 0=8 1=3 4=1 5=1 6=216",
        "ReLU r1 1 1 c1 r1",
        "Pooling p1 1 1 r1 p1 1=2 2=2",
        "Convolution c2 1 1 p1 c2 0=16 1=3 4=1 5=1 6=1152",
        "ReLU r2 1 1 c2 r2",
        "Pooling g 1 1 r2 g 0=1 4=1",
        "InnerProduct fc 1 1 g fc 0=10 1=1 2=160", ""])
    data = b"".join([b"\0\0\0\0" + w1.tobytes(), b1.tobytes(), b"\0\0\0\0" + w2.tobytes(), b2.tobytes(),
                     b"\0\0\0\0" + w3.tobytes(), b3.tobytes()])
    return text, data, (w1, b1, w2, b2, w3, b3)


def _images(rs, n):
    """Smooth, natural-looking 16x16 RGB inputs (low-frequency noise, normalised)."""
    out = []
    for _ in range(n):
        coarse = rs.randn(3, 4, 4)
        img = np.kron(coarse, np.ones((4, 4))) + 0.3 * rs.randn(3, 16, 16)
        out.append(img.astype(np.float32))
    return out


def test_realistic_net_agrees_with_float(capsys):
    rs = np.random.RandomState(3)
    text, data, (w1, b1, w2, b2, w3, b3) = _float_cnn(rs)
    fnet = maixnn.Net.from_memory(text, data)
    calib = _images(rs, 20)
    blobs = [fnet.forward(x, outputs=fnet.blob_names) for x in calib]
    S = {b: float(np.float32(127.0 / max(np.abs(r[b]).max() for r in blobs))) for b in fnet.blob_names}
    f = AwnnFile()
    f.layer("Input", "in", [], ["data"], "0=16 1=16 2=3", device=0, scales=[S["data"]])
    # section 7: the conv has padding -> 19 = 0
    conv_like(f, "Convolution", "c1", "data", "c1", w1, b1, S["data"], S["c1"], "0=8 1=3 4=1", w1.shape)
    from awnn_build import req
    m, e = req(np.float32(S["r1"]) / np.float32(S["c1"]))
    f.layer("ReLU", "r1", ["c1"], ["r1"], "20=1 21=%d 22=%d 23=1" % (m, e), scales=[S["r1"]])
    m, e = req(np.float32(S["p1"]) / np.float32(S["r1"]))
    f.layer("Pooling", "p1", ["r1"], ["p1"], "1=2 2=2 20=1 21=%d 22=%d" % (m, e), scales=[S["p1"]])
    conv_like(f, "Convolution", "c2", "p1", "c2", w2, b2, S["p1"], S["c2"], "0=16 1=3 4=1", w2.shape)
    m, e = req(np.float32(S["r2"]) / np.float32(S["c2"]))
    f.layer("ReLU", "r2", ["c2"], ["r2"], "20=1 21=%d 22=%d 23=1" % (m, e), scales=[S["r2"]])
    m, e = req(np.float32(S["g"]) / np.float32(S["r2"]))
    f.layer("Pooling", "g", ["r2"], ["g"], "0=1 4=1 20=1 21=%d 22=%d" % (m, e), scales=[S["g"]])
    conv_like(f, "InnerProduct", "fc", "g", "fc", w3.reshape(10, 16, 1, 1), b3, S["g"], S["fc"], "0=10",
              (10, 16, 1, 1))
    anet = maixnn.Net.from_memory(f.text(), f.data())
    ref = ar.AwnnModel(ar.parse_param(f.text()))
    ar.read_bin(ref.layers, f.data())
    cos = []
    for x in _images(rs, 10):
        _compare_all(anet, ref, {"data": x})
        cos.append(_cosine(fnet.forward(x), anet.forward(x)))
    with capsys.disabled():
        print("\nreal-ish CNN, emulated awnn vs float output: cosine min %.5f mean %.5f" % (min(cos), np.mean(cos)))
    assert min(cos) >= 0.99


# ---------------------------------------------------------------- maixnn.nn and maixnn run

def _image_model(tmp_path):
    """conv_chain-like model on an 8x9x8 input written as files + a .mud (type=awnn)."""
    f = AwnnFile()
    rs = np.random.RandomState(5)
    f.layer("Input", "in", [], ["data"], "0=8 1=6 2=3", device=0, scales=[37.5])
    from awnn_build import _conv_blocks
    f.layer("Convolution", "c1", ["data"], ["c1"], "0=8 1=3 4=1 5=1 6=216 20=1 21=20001 22=20 24=2 25=1",
            blocks=_conv_blocks(rs, 8, 3, 3, 3))
    f.layer("Pooling", "g", ["c1"], ["g"], "0=1 4=1 20=1 21=30000 22=15")
    f.layer("InnerProduct", "fc", ["g"], ["out"], "0=5 2=40 20=1 21=20000 22=16 25=1",
            blocks=_conv_blocks(rs, 5, 8, 1, 1, bias=False))
    base = str(tmp_path / "m")
    f.save(base)
    with open(base + ".mud", "w") as fh:
        fh.write("[basic]\ntype = awnn\nparam = m.param\nbin = m.bin\n[inputs]\ndata = 6,8,3,127.5,127.5,127.5,"
                 "0.0078125,0.0078125,0.0078125\n[outputs]\nout = 1,1,5\n")
    return base


def test_nn_load_runs_awnn_with_the_board_input_path(tmp_path):
    from maixnn import nn
    base = _image_model(tmp_path)
    ref = ar.AwnnModel.load(base + ".param", base + ".bin")
    img = np.random.RandomState(0).randint(0, 256, (6, 8, 3)).astype(np.uint8)
    # the board: f = (u8 - mean[0]) * norm[0] (float32), q = clamp(roundf(f * S), -127, 127), HWC -> CHW
    f = (img.astype(np.float32) - np.float32(127.5)) * np.float32(0.0078125)
    q = ar.quantize(f, 37.5).transpose(2, 0, 1)
    want = ar.dequantize(ref.run({"data": q}, _cpu_layer)["out"], ref.scale["out"]).reshape(1, 1, 5)
    m = nn.load(base + ".mud")
    np.testing.assert_array_equal(m.forward(img, quantize=True), want)
    m2 = nn.load({"param": base + ".param", "bin": base + ".bin"},
                 opt={"model_type": "awnn", "inputs": {"data": (6, 8, 3)}, "outputs": {"out": (1, 1, 5)},
                      "mean": [127.5] * 3, "norm": [0.0078125] * 3})
    np.testing.assert_array_equal(m2.forward(img.tobytes(), quantize=True), want)
    # quantize=False: the image is already int8 codes (HWC)
    codes = np.random.RandomState(1).randint(-128, 128, (6, 8, 3)).astype(np.int8)
    want = ar.dequantize(ref.run({"data": codes.transpose(2, 0, 1)}, _cpu_layer)["out"], ref.scale["out"])
    np.testing.assert_array_equal(m.forward(codes, quantize=False).reshape(-1), want)
    np.testing.assert_array_equal(m.forward(codes.tobytes(), quantize=False).reshape(-1), want)


def test_maixnn_run_accepts_awnn(tmp_path, capsys):
    from maixnn import cli
    base = _image_model(tmp_path)
    x = np.random.RandomState(2).randn(3, 6, 8).astype(np.float32)
    np.save(str(tmp_path / "x.npy"), x)
    assert cli.main(["run", base + ".param", str(tmp_path / "x.npy"), "--save", str(tmp_path / "y.npy")]) == 0
    out = capsys.readouterr().out
    assert "awnn model: 3 of 4 layers on the emulated NPU" in out
    ref = ar.AwnnModel.load(base + ".param", base + ".bin")
    want = ar.dequantize(ref.run({"data": x}, _cpu_layer)["out"], ref.scale["out"])
    np.testing.assert_array_equal(np.load(str(tmp_path / "y.npy")), want)


def test_maixhub_non_canonical_fields_read_as_the_runtime_does():
    """Section 9: MaixHub files may carry garbage in 24 of a convolution without bias and lack
    BatchNorm's 20; a missing 26/27 is scale 1 / shift 0 (13.3.1)."""
    base = branch_models()["conv_chain"]
    text, data = base.text(), base.data()
    canonical = maixnn.Net.from_memory(text, data)
    lines = text.split("\n")
    edited = []
    for line in lines:
        tok = line.split()
        if len(tok) > 1 and tok[1] == "c2":           # no bias: garbage 24
            line = line.replace(" 25=1", " 24=959330361 25=1")
        if len(tok) > 1 and tok[1] == "bn":           # BatchNorm without 20
            line = line.replace(" 20=1", "")
        edited.append(line)
    maixhub = maixnn.Net.from_memory("\n".join(edited), data)
    x = np.random.RandomState(0).randint(-128, 128, (8, 9, 8)).astype(np.int8)
    a = canonical.forward(x, outputs=canonical.blob_names)
    b = maixhub.forward(x, outputs=canonical.blob_names)
    for name in canonical.blob_names:
        np.testing.assert_array_equal(a[name], b[name])
    # 26=1 27=0 written out equals them missing
    explicit = text.replace("20=0 24=2 25=1", "20=0 24=2 25=1 26=1 27=0")
    assert explicit != text
    c = maixnn.Net.from_memory(explicit, data).forward(x, outputs=["fc"])["fc"]
    np.testing.assert_array_equal(a["fc"], c)
