"""maixnn.nn: MaixPy3's maix.nn API (load with a dict + opt or a .mud,
forward on PIL images / bytes / uint8 arrays, layouts, F.softmax) and its
option and input checks."""
from __future__ import annotations

import numpy as np
import pytest

from helpers import assert_close, run_ncnn
from maixnn import nn
from maixnn.errors import Error, InputShapeError, ModelFormatError, NotSupportedError, OptionError
from maixnn.ncnn_model import Layer, NcnnModel, Weight
from maixnn.runtime import Net

H, W, C, COUT, CLASSES = 12, 10, 3, 4, 5
MEAN = [123.675, 116.28, 103.53]
NORM = [0.017124753831663668, 0.01750700280112045, 0.017429193899782137]


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    """Input (3 x 12 x 10) -> 3x3 conv (ReLU) 'conv' -> fc 'output0' (5 classes)."""
    rng = np.random.default_rng(0)
    wconv = (rng.standard_normal((COUT, C, 3, 3)) * 0.3).astype(np.float32)
    bconv = (rng.standard_normal(COUT) * 0.1).astype(np.float32)
    wfc = (rng.standard_normal((CLASSES, COUT * H * W)) * 0.1).astype(np.float32)
    bfc = (rng.standard_normal(CLASSES) * 0.1).astype(np.float32)
    model = NcnnModel([
        Layer("Input", "in", [], ["input0"], {0: W, 1: H, 2: C}),
        Layer("Convolution", "conv0", ["input0"], ["conv"], {0: COUT, 1: 3, 4: 1, 5: 1, 6: wconv.size, 9: 1},
              [Weight("weight", wconv, "tagged"), Weight("bias", bconv)]),
        Layer("Split", "split0", ["conv"], ["conv_a", "conv_b"]),
        Layer("InnerProduct", "fc0", ["conv_a"], ["output0"], {0: CLASSES, 1: 1, 2: wfc.size},
              [Weight("weight", wfc, "tagged"), Weight("bias", bfc)]),
        Layer("Sigmoid", "sig0", ["conv_b"], ["output1"]),
    ])
    d = tmp_path_factory.mktemp("nn_model")
    param, binf = str(d / "m.param"), str(d / "m.bin")
    model.save(param, binf)
    return {"param": param, "bin": binf}


@pytest.fixture(scope="module")
def image_u8():
    return np.random.default_rng(1).integers(0, 256, size=(H, W, C), dtype=np.uint8)


def _opt(**over):
    opt = {"model_type": "awnn", "inputs": {"input0": (H, W, C)}, "outputs": {"output0": (1, 1, CLASSES)},
           "mean": list(MEAN), "norm": list(NORM), "first_layer_conv_no_pad": False}
    opt.update(over)
    return opt


def _expected_input(u8, mean, norm):
    """The documented formula: (float32(u8) - float32(mean[c])) * float32(norm[c]), CHW."""
    x = np.empty((C, H, W), np.float32)
    for c in range(C):
        d = u8[:, :, c].astype(np.float32) - np.float32(mean[c])
        x[c] = d * np.float32(norm[c])
    return x


def test_forward_pil_image_matches_engine_and_ncnn_wheel(model_files, image_u8):
    from PIL import Image
    m = nn.load(dict(model_files), opt=_opt())
    out = m.forward(Image.fromarray(image_u8, "RGB"), quantize=True, layout="hwc")
    assert out.dtype == np.float32 and out.shape == (1, 1, CLASSES)
    x = _expected_input(image_u8, MEAN, NORM)
    direct = Net(model_files["param"], model_files["bin"]).forward(x, outputs=["output0"])["output0"]
    np.testing.assert_array_equal(out.reshape(-1), direct)  # same engine, same input bits
    ref = run_ncnn(model_files["param"], model_files["bin"], x, output_names=["output0"])["output0"]
    assert_close(out, ref)


def test_bytes_array_and_pil_give_the_same_result(model_files, image_u8):
    from PIL import Image
    m = nn.load(dict(model_files), opt=_opt())
    a = m.forward(image_u8.tobytes())
    b = m.forward(bytearray(image_u8.tobytes()))
    c = m.forward(image_u8)
    d = m.forward(Image.fromarray(image_u8))
    for other in (b, c, d):
        np.testing.assert_array_equal(a, other)
    # quantize is documented as ignored for a float model
    np.testing.assert_array_equal(a, m.forward(image_u8, quantize=False))


def test_layouts_and_several_outputs(model_files, image_u8):
    opt = _opt(outputs={"conv": (H, W, COUT), "output0": (1, 1, CLASSES), "output1": (H, W, COUT)})
    m = nn.load(dict(model_files), opt=opt)
    hwc = m.forward(image_u8, layout="hwc")
    chw = m.forward(image_u8, layout="chw")
    assert isinstance(hwc, list) and len(hwc) == 3
    assert [o.shape for o in hwc] == [(H, W, COUT), (1, 1, CLASSES), (H, W, COUT)]
    assert [o.shape for o in chw] == [(COUT, H, W), (CLASSES, 1, 1), (COUT, H, W)]
    blobs = Net(model_files["param"], model_files["bin"]).forward(
        _expected_input(image_u8, MEAN, NORM), outputs=["conv", "output1"])
    np.testing.assert_array_equal(chw[0], blobs["conv"])
    np.testing.assert_array_equal(hwc[0], blobs["conv"].transpose(1, 2, 0))
    np.testing.assert_array_equal(hwc[2], blobs["output1"].transpose(1, 2, 0))
    assert hwc[0].flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(hwc[1].reshape(-1), chw[1].reshape(-1))


def test_mean_norm_forms(model_files, image_u8):
    scalar = nn.load(dict(model_files), opt=_opt(mean=127.5, norm=0.0078125)).forward(image_u8)
    one = nn.load(dict(model_files), opt=_opt(mean=[127.5], norm=[0.0078125])).forward(image_u8)
    three = nn.load(dict(model_files), opt=_opt(mean=[127.5] * 3, norm=[0.0078125] * 3)).forward(image_u8)
    np.testing.assert_array_equal(scalar, one)
    np.testing.assert_array_equal(scalar, three)
    # MaixPy3 takes a float or a list of 1 or 3: not an int, not a tuple (PyFloat_Check / PyList_Check)
    for key, bad in (("mean", 127), ("norm", (0.0078125,) * 3), ("mean", [1.0, 2.0])):
        with pytest.raises(ValueError, match="^arg opt need %s key, value is float or list" % key):
            nn.load(dict(model_files), opt=_opt(**{key: bad}))
    # per-channel values really are per channel
    assert not np.array_equal(scalar, nn.load(dict(model_files), opt=_opt()).forward(image_u8))


def test_load_requires_what_maixpy3_requires(model_files):
    """MaixPy3 0.5.x: opt is keyword-only and needs model_type, inputs, outputs,
    mean and norm; each refusal is its exception type with its message first."""
    cases = [
        (lambda: nn.load(dict(model_files)), OptionError, ValueError, "arg opt is needed"),
        (lambda: nn.load(dict(model_files), opt=_without("model_type")), OptionError, ValueError,
         "arg opt need model_type key$"),
        (lambda: nn.load(dict(model_files), opt=_without("inputs")), OptionError, ValueError,
         "arg opt need inputs key, value is dict"),
        (lambda: nn.load(dict(model_files), opt=_without("outputs")), OptionError, ValueError,
         "arg opt need outputs key, value is dict"),
        (lambda: nn.load(dict(model_files), opt=_without("mean")), OptionError, ValueError,
         "arg opt need mean key, value is float or list"),
        (lambda: nn.load(dict(model_files), opt=_without("norm")), OptionError, ValueError,
         "arg opt need norm key, value is float or list"),
        (lambda: nn.load({"bin": model_files["bin"]}, opt=_opt()), OptionError, ValueError,
         "arg model_path need param key, value is str"),
        (lambda: nn.load({"param": model_files["param"]}, opt=_opt()), OptionError, ValueError,
         "arg model_path need bin key, value is str"),
        (lambda: nn.load(12, opt=_opt()), OptionError, ValueError, "arg model_path error, need str or dict"),
        (lambda: nn.load(b"m.mud"), NotSupportedError, NotImplementedError, "not support bytes type"),
        (lambda: nn.load(dict(model_files), opt=_opt(model_type="aipu")), OptionError, ValueError,
         "now model_type only support awnn"),
    ]
    for call, cls, builtin, message in cases:
        with pytest.raises(cls, match="^" + message) as exc:
            call()
        assert isinstance(exc.value, builtin) and isinstance(exc.value, Error)
    with pytest.raises(TypeError):  # opt is keyword-only
        nn.load(dict(model_files), _opt())


def _without(key):
    opt = _opt()
    del opt[key]
    return opt


def test_mud_file_equals_dict_load(model_files, image_u8, tmp_path):
    import os
    import shutil
    d = tmp_path / "mud"
    d.mkdir()
    shutil.copy(model_files["param"], str(d / "m.param"))
    shutil.copy(model_files["bin"], str(d / "m.bin"))
    (d / "m.mud").write_text(
        "[basic]\ntype = awnn\nparam = m.param\nbin = m.bin\n\n[inputs]\ninput0 = %d,%d,%d,%s,%s\n\n"
        "[outputs]\noutput0 = 1,1,%d\n" % (H, W, C, ",".join(map(repr, MEAN)), ",".join(map(repr, NORM)), CLASSES))
    cwd = os.getcwd()
    os.chdir(str(tmp_path))  # relative paths resolve against the .mud's folder, not the cwd
    try:
        m = nn.load("mud/m.mud")
    finally:
        os.chdir(cwd)
    np.testing.assert_array_equal(m.forward(image_u8), nn.load(dict(model_files), opt=_opt()).forward(image_u8))


def test_written_mud_loads_back_to_the_same_model(model_files, image_u8, tmp_path):
    """nn.mud_text (what quantize and demo write) is what nn.load reads."""
    import os
    import shutil
    shutil.copy(model_files["param"], str(tmp_path / "m.param"))
    shutil.copy(model_files["bin"], str(tmp_path / "m.bin"))
    (tmp_path / "m.mud").write_text(nn.mud_text("m.param", "m.bin", {"input0": ((H, W, C), MEAN, NORM)},
                                                {"output0": (1, 1, CLASSES)}))
    m = nn.load(os.path.join(str(tmp_path), "m.mud"))
    assert dict(m.inputs) == {"input0": (H, W, C)} and dict(m.outputs) == {"output0": (1, 1, CLASSES)}
    np.testing.assert_array_equal(m.mean["input0"], np.asarray(MEAN, np.float32))
    np.testing.assert_array_equal(m.norm["input0"], np.asarray(NORM, np.float32))
    np.testing.assert_array_equal(m.forward(image_u8), nn.load(dict(model_files), opt=_opt()).forward(image_u8))


@pytest.mark.parametrize("bad_opt, message", [
    ({"mean_values": [1, 2, 3]}, "unknown option"),
    ({"mean": [1.0, 2.0]}, "mean"),
    ({"norm": [1.0, 2.0, 3.0, 4.0]}, "norm"),
    ({"norm": "0.5"}, "norm"),
    ({"model_type": "aipu"}, "model_type"),
    ({"inputs": {"image": (H, W, C)}}, "'image' is not an input"),
    ({"inputs": {"input0": (H, W + 1, C)}}, "Input layer declares"),
    ({"inputs": {"input0": (H, W)}}, "expected \\(h, w, c\\)"),
    ({"outputs": {"output0": (1, 1, CLASSES + 1)}}, "output 'output0'"),
    ({"outputs": {"conv": (W, H, COUT)}}, "output 'conv'"),
    ({"outputs": {"logits": (1, 1, CLASSES)}}, "'logits' is not a blob"),
    ({"outputs": {}}, "non-empty"),
    ({"first_layer_conv_no_pad": "yes"}, "first_layer_conv_no_pad"),
])
def test_bad_options_are_refused_at_load(model_files, bad_opt, message):
    with pytest.raises(OptionError, match=message):
        nn.load(dict(model_files), opt=_opt(**bad_opt))


def test_bad_model_arguments(model_files, tmp_path):
    with pytest.raises(OptionError):
        nn.load([model_files["param"], model_files["bin"]])
    with pytest.raises(OptionError, match="unknown key"):
        nn.load(dict(model_files, weights="x"), opt=_opt())
    with pytest.raises(OptionError, match="opt must not be given"):
        nn.load(str(tmp_path / "m.mud"), opt=_opt())
    with pytest.raises(ModelFormatError, match="^libmaix_nn load fail: .*m.param"):
        nn.load({"param": str(tmp_path / "m.param"), "bin": str(tmp_path / "m.bin")}, opt=_opt())
    mud = tmp_path / "bad.mud"
    mud.write_text("[basic]\ntype = awnn\nparam = m.param\nbin = m.bin\n")
    with pytest.raises(ModelFormatError, match=r"bad.mud: missing section \[inputs\]"):
        nn.load(str(mud))
    mud.write_text("this is not an ini file\n")
    with pytest.raises(ModelFormatError, match="bad.mud"):
        nn.load(str(mud))


def test_bad_inputs_are_maixpy3_errors(model_files, image_u8):
    from PIL import Image
    m = nn.load(dict(model_files), opt=_opt())
    need = H * W * C
    bad = [(image_u8.tobytes()[:-1], need - 1), (image_u8[:, :-1].tobytes(), need - H * C),
           (image_u8.astype(np.float32), need * 4), (Image.fromarray(image_u8).convert("L"), H * W),
           (Image.fromarray(np.zeros((W, H, C), np.uint8)), need), (np.zeros((W, H, C), np.uint8), need),
           (image_u8.astype(np.int8), need)]
    for img, got in bad:
        with pytest.raises(InputShapeError) as exc:
            m.forward(img)
        assert isinstance(exc.value, ValueError) and isinstance(exc.value, Error)
        assert str(exc.value).startswith("input shape error, need: %d (%d, %d, %d), but: %d"
                                          % (need, H, W, C, got)), str(exc.value)
    with pytest.raises(InputShapeError, match="^tobytes error"):
        m.forward(12345)
    with pytest.raises(NotSupportedError, match="^not support multiple input yet") as exc:
        m.forward([image_u8])
    assert isinstance(exc.value, NotImplementedError)
    with pytest.raises(NotSupportedError, match="^not support recurrent output layout yet"):
        m.forward(image_u8, layout="nhwc")
    with pytest.raises(TypeError):  # quantize, layout, ... are keyword-only
        m.forward(image_u8, True)


def test_output_fmt_other_than_numpy_gives_bytes(model_files, image_u8):
    m = nn.load(dict(model_files), opt=_opt(outputs={"output0": (1, 1, CLASSES), "conv": (H, W, COUT)}))
    arrays = m.forward(image_u8, layout="chw")
    raw = m.forward(image_u8, layout="chw", output_fmt="bytes")
    assert isinstance(raw, list) and [type(r) for r in raw] == [bytes, bytes]
    for a, r in zip(arrays, raw):
        np.testing.assert_array_equal(np.frombuffer(r, np.float32), a.reshape(-1))
    one = nn.load(dict(model_files), opt=_opt()).forward(image_u8, output_fmt="str")
    assert isinstance(one, bytes) and len(one) == CLASSES * 4


def test_debug_prints_the_forward_time(model_files, image_u8, capsys):
    import re
    m = nn.load(dict(model_files), opt=_opt())
    m.forward(image_u8, debug=True)
    captured = capsys.readouterr()
    assert re.match(r"^forward use time: \d+ us$", captured.out.strip()), captured.out  # MaixPy3's line
    assert "input input0" in captured.err and "output output0" in captured.err


def test_softmax():
    x = np.array([[[1.0, 2.0, 3.0, 4.0, 1000.0]]], dtype=np.float32)
    p = nn.F.softmax(x)
    assert p.dtype == np.float32 and p.shape == (5,)
    assert np.isfinite(p).all() and abs(float(p.sum()) - 1.0) < 1e-6
    y = np.random.default_rng(2).standard_normal((3, 4)).astype(np.float32)
    e = np.exp(y.astype(np.float64).reshape(-1))
    np.testing.assert_allclose(nn.F.softmax(y), e / e.sum(), rtol=1e-6)
    # float32: expf, a sequential float32 sum, a float32 division, as the board's C code
    e = np.exp(y.reshape(-1) - y.max())
    total = np.float32(0)
    for v in e:
        total = np.float32(total + v)
    np.testing.assert_array_equal(nn.F.softmax(y), e / total)
    p64 = nn.F.softmax(y.astype(np.float64))
    assert p64.dtype == np.float64 and p64.shape == (12,) and abs(p64.sum() - 1.0) < 1e-12
    # MaixPy3's refusals: not a numpy array, another dtype, a dim argument
    with pytest.raises(NotSupportedError, match="^only support numpy object"):
        nn.F.softmax([0.0, 0.0])
    with pytest.raises(InputShapeError, match="^only support float32 and float64 dtype"):
        nn.F.softmax(np.zeros(3, np.int32))
    with pytest.raises(NotSupportedError, match="^not support dim arg yet"):
        nn.F.softmax(y, dim=-1)
    assert nn.functional is nn.F
