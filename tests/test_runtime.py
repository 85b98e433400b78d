"""maixnn.runtime (the cffi binding of the C engine): the Net API, shapes and
dtypes, named/intermediate outputs, several inputs, threads, and every load /
run error arriving as a typed Python exception with a message.

Small models are written with maixnn.ncnn_model and checked against numpy and
against the official ncnn wheel (the oracle)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading

import numpy as np
import pytest

from helpers import assert_close, run_ncnn
from maixnn.errors import (Error, InputShapeError, ModelFormatError, OptionError, RuntimeEngineError,
                           UnsupportedOperatorError)
from maixnn.ncnn_model import Layer, NcnnModel, Weight
from maixnn.runtime import CDEF, Net

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _save(model: NcnnModel, tmp_path, name="m"):
    param, binf = str(tmp_path / (name + ".param")), str(tmp_path / (name + ".bin"))
    model.save(param, binf)
    return param, binf


def _branchy(c=3, h=6, w=8):
    """data -> Split -> (ReLU, Sigmoid) -> Concat: names, Split, several layers."""
    return NcnnModel([
        Layer("Input", "in", [], ["data"], {0: w, 1: h, 2: c}),
        Layer("Split", "split0", ["data"], ["a", "b"]),
        Layer("ReLU", "relu0", ["a"], ["r"]),
        Layer("Sigmoid", "sig0", ["b"], ["s"]),
        Layer("Concat", "cat0", ["r", "s"], ["out"], {0: 0}),
    ])


def _branchy_ref(x):
    return np.concatenate([np.maximum(x, 0), 1.0 / (1.0 + np.exp(-x.astype(np.float64)))]).astype(np.float32)


def _conv_fc(seed=0, c=3, h=8, w=8, cout=4, classes=5):
    """Input -> Convolution(3x3, pad 1, bias, fused ReLU) -> InnerProduct: weights in the .bin."""
    rng = np.random.default_rng(seed)
    wconv = rng.standard_normal((cout, c, 3, 3)).astype(np.float32) * 0.3
    bconv = rng.standard_normal(cout).astype(np.float32) * 0.1
    wfc = rng.standard_normal((classes, cout * h * w)).astype(np.float32) * 0.1
    bfc = rng.standard_normal(classes).astype(np.float32) * 0.1
    return NcnnModel([
        Layer("Input", "in", [], ["data"], {0: w, 1: h, 2: c}),
        Layer("Convolution", "conv0", ["data"], ["conv"],
              {0: cout, 1: 3, 4: 1, 5: 1, 6: wconv.size, 9: 1},
              [Weight("weight", wconv, "tagged"), Weight("bias", bconv)]),
        Layer("InnerProduct", "fc0", ["conv"], ["fc"], {0: classes, 1: 1, 2: wfc.size},
              [Weight("weight", wfc, "tagged"), Weight("bias", bfc)]),
    ])


# ---------------------------------------------------------------- binding vs header

def _prototypes(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    # MXN_API (the header's export attribute) is C only; cffi's CDEF has no preprocessor
    text = re.sub(r"\bMXN_API\b", " ", text)
    protos = set()
    for m in re.finditer(r"([A-Za-z_][\w \*]*?\bmxn_\w+\s*\([^;{]*\))\s*;", text):
        protos.add(re.sub(r"\s+", " ", m.group(1)).replace("( ", "(").replace(" )", ")")
                   .replace(" *", "*").replace("* ", "*").strip())
    return protos


def test_cdef_declares_exactly_the_public_header():
    with open(os.path.join(REPO, "csrc", "include", "maixnn.h")) as f:
        header = _prototypes(f.read())
    binding = _prototypes(CDEF)
    assert len(header) >= 25
    assert header == binding, ("maixnn.h and maixnn.runtime.CDEF differ:\n only in the header: %s\n"
                               " only in the binding: %s" % (sorted(header - binding), sorted(binding - header)))
    # the enum values the binding hard-codes
    with open(os.path.join(REPO, "csrc", "include", "maixnn.h")) as f:
        text = f.read()
    import maixnn.runtime as rt
    for name in ("MXN_OK", "MXN_ERR_PARAM", "MXN_ERR_NO_MEM", "MXN_ERR_NOT_IMPLEMENT", "MXN_ERR_NOT_READY",
                 "MXN_ERR_FORMAT", "MXN_ERR_IO", "MXN_ERR_SHAPE", "MXN_F32", "MXN_I8"):
        m = re.search(r"\b%s\s*=\s*(\d+)" % name, text)
        assert m and int(m.group(1)) == getattr(rt, name), name


# ---------------------------------------------------------------- the Net API

def test_names_layers_shapes_and_forward(tmp_path):
    param, binf = _save(_branchy(), tmp_path)
    with Net(param, binf) as net:
        assert net.input_names == ["data"]
        assert net.output_names == ["out"]
        assert net.blob_names == ["data", "a", "b", "r", "s", "out"]
        assert net.input_shapes == {"data": (3, 6, 8)}
        assert [(l.type, l.name, l.bottoms, l.tops) for l in net.layers] == [
            ("Input", "in", (), ("data",)), ("Split", "split0", ("data",), ("a", "b")),
            ("ReLU", "relu0", ("a",), ("r",)), ("Sigmoid", "sig0", ("b",), ("s",)),
            ("Concat", "cat0", ("r", "s"), ("out",))]
        x = np.random.default_rng(1).standard_normal((3, 6, 8)).astype(np.float32)
        y = net.forward(x)
        assert y.dtype == np.float32 and y.shape == (6, 6, 8)
        np.testing.assert_allclose(y, _branchy_ref(x), rtol=1e-6, atol=1e-6)
        # a batch axis of 1 is accepted, and float64 is converted
        np.testing.assert_array_equal(net.forward(x[None].astype(np.float64)), y)
        # named intermediate blobs
        blobs = net.forward(x, outputs=["r", "s", "out"])
        assert list(blobs) == ["r", "s", "out"]
        np.testing.assert_array_equal(blobs["r"], np.maximum(x, 0))
        np.testing.assert_array_equal(blobs["out"], y)
        assert net.forward({"data": x}, outputs="s")["s"].shape == (3, 6, 8)
        # the input array is not modified and the results do not alias engine memory
        x_before = x.copy()
        y2 = net.forward(x)
        y2[:] = 0
        np.testing.assert_array_equal(x, x_before)
        np.testing.assert_allclose(net.forward(x), _branchy_ref(x), rtol=1e-6, atol=1e-6)


def test_weights_counted_and_matches_ncnn_wheel(tmp_path):
    model = _conv_fc()
    param, binf = _save(model, tmp_path)
    net = Net(param, binf)
    counts = {l.name: l.weight_count for l in net.layers}
    assert counts == {"in": 0, "conv0": 4 * 3 * 3 * 3 + 4, "fc0": 5 * 4 * 8 * 8 + 5}
    x = np.random.default_rng(2).standard_normal((3, 8, 8)).astype(np.float32)
    got = net.forward(x, outputs=["conv", "fc"])
    ref = run_ncnn(param, binf, x, input_name="data", output_names=["conv", "fc"])
    assert got["fc"].shape == (5,) and got["conv"].shape == (4, 8, 8)
    assert_close(got["conv"], ref["conv"], what="conv")
    assert_close(got["fc"], ref["fc"], what="fc")
    assert (got["conv"] >= 0).all()  # the fused ReLU ran


def test_one_and_two_dimensional_blobs(tmp_path):
    p1, b1 = _save(NcnnModel([Layer("Input", "in", [], ["v"], {0: 10}),
                              Layer("ReLU", "relu", ["v"], ["out"])]), tmp_path, "one_d")
    net = Net(p1, b1)
    assert net.input_shapes == {"v": (1, 1, 10)} or net.input_shapes["v"][2] == 10
    v = np.linspace(-1, 1, 10, dtype=np.float32)
    y = net.forward(v)
    assert y.shape == (10,)
    np.testing.assert_array_equal(y, np.maximum(v, 0))

    p2, b2 = _save(NcnnModel([Layer("Input", "in", [], ["m"], {0: 5, 1: 4}),
                              Layer("Sigmoid", "sig", ["m"], ["out"])]), tmp_path, "two_d")
    m = np.random.default_rng(3).standard_normal((4, 5)).astype(np.float32)
    y = Net(p2, b2).forward(m)
    assert y.shape == (4, 5)
    np.testing.assert_allclose(y, 1 / (1 + np.exp(-m)), rtol=1e-6)


def test_several_inputs_by_name(tmp_path):
    param, binf = _save(NcnnModel([
        Layer("Input", "in_a", [], ["a"], {0: 4, 1: 4, 2: 2}),
        Layer("Input", "in_b", [], ["b"], {0: 4, 1: 4, 2: 2}),
        Layer("BinaryOp", "sub0", ["a", "b"], ["d"], {0: 1}),
    ]), tmp_path)
    net = Net(param, binf)
    assert net.input_names == ["a", "b"] and net.output_names == ["d"]
    rng = np.random.default_rng(4)
    a = rng.standard_normal((2, 4, 4)).astype(np.float32)
    b = rng.standard_normal((2, 4, 4)).astype(np.float32)
    np.testing.assert_array_equal(net.forward({"a": a, "b": b}), a - b)
    np.testing.assert_array_equal(net.forward({"b": a, "a": b}), b - a)
    with pytest.raises(InputShapeError, match="2 inputs"):
        net.forward(a)
    with pytest.raises(InputShapeError, match="no value given for input"):
        net.forward({"a": a})
    with pytest.raises(OptionError, match="'c' is not an input"):
        net.forward({"a": a, "b": b, "c": a})


def test_int8_input_passes_through_as_int8(tmp_path):
    param, binf = _save(NcnnModel([Layer("Input", "in", [], ["q"], {0: 4, 1: 3, 2: 2}),
                                   Layer("Split", "sp", ["q"], ["q1", "q2"])]), tmp_path)
    net = Net(param, binf)
    q = np.arange(-12, 12, dtype=np.int8).reshape(2, 3, 4)
    out = net.forward(q, outputs=["q", "q1"])
    for name in ("q", "q1"):
        assert out[name].dtype == np.int8
        np.testing.assert_array_equal(out[name], q)


def test_int8_convolution_blob_is_int8_and_matches_ncnn_wheel(tmp_path):
    """A hand-made ncnn int8 convolution with requantized output (8=102): the
    engine returns the int8 blob as int8, equal to the official runtime's."""
    rng = np.random.default_rng(5)
    cout, cin = 4, 3
    wq = rng.integers(-127, 128, size=(cout, cin, 3, 3)).astype(np.int8)
    weight_scales = np.full(cout, 40.0, np.float32)
    bottom_scale = np.array([60.0], np.float32)
    top_scale = np.array([25.0], np.float32)
    bias = rng.standard_normal(cout).astype(np.float32) * 0.1
    model = NcnnModel([
        Layer("Input", "in", [], ["data"], {0: 6, 1: 6, 2: cin}),
        Layer("Convolution", "conv_q", ["data"], ["q"], {0: cout, 1: 3, 4: 1, 5: 1, 6: wq.size, 8: 102},
              [Weight("weight", wq, "tagged"), Weight("bias", bias), Weight("weight_scales", weight_scales),
               Weight("bottom_scale", bottom_scale), Weight("top_scale", top_scale)]),
    ])
    param, binf = _save(model, tmp_path)
    x = rng.standard_normal((cin, 6, 6)).astype(np.float32)
    got = Net(param, binf).forward(x)
    assert got.dtype == np.int8 and got.shape == (cout, 6, 6)
    ref = run_ncnn(param, binf, x, input_name="data", output_names=["q"])["q"]
    np.testing.assert_array_equal(got.astype(np.float32), ref)
    assert np.abs(got).max() > 10  # a real signal, not all zeros


def test_one_net_from_several_threads(tmp_path):
    param, binf = _save(_conv_fc(seed=6, h=16, w=16), tmp_path)
    net = Net(param, binf)
    rng = np.random.default_rng(7)
    xs = [rng.standard_normal((3, 16, 16)).astype(np.float32) for _ in range(8)]
    expected = [net.forward(x) for x in xs]
    errors, mismatches = [], []

    def worker(offset):
        try:
            for i in range(40):
                k = (offset + i) % len(xs)
                if not np.array_equal(net.forward(xs[k]), expected[k]):
                    mismatches.append(k)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and not mismatches
    assert len({e.tobytes() for e in expected}) == len(xs)  # the inputs really differ


def test_from_memory_and_close(tmp_path):
    model = _conv_fc(seed=8)
    net = Net.from_memory(model.param_text(), model.bin_bytes())
    x = np.random.default_rng(9).standard_normal((3, 8, 8)).astype(np.float32)
    param, binf = _save(model, tmp_path)
    np.testing.assert_array_equal(net.forward(x), Net(param, binf).forward(x))
    net.close()
    net.close()  # twice is fine
    assert net.closed
    with pytest.raises(RuntimeEngineError, match="closed"):
        net.forward(x)


# ---------------------------------------------------------------- errors

def test_missing_file_is_model_format_error(tmp_path):
    with pytest.raises(ModelFormatError) as exc:
        Net(str(tmp_path / "nope.param"), str(tmp_path / "nope.bin"))
    assert "nope.param" in str(exc.value)


def test_load_error_names_the_file_once(tmp_path):
    missing = str(tmp_path / "nope.param")
    with pytest.raises(ModelFormatError) as exc:
        Net(missing)
    assert str(exc.value).count(missing) == 1, str(exc.value)


def test_non_path_arguments_are_option_errors(tmp_path):
    with pytest.raises(OptionError, match="param must be a file path"):
        Net(None)
    with pytest.raises(OptionError, match="bin must be a file path"):
        Net(str(tmp_path / "m.param"), 3)
    with pytest.raises(OptionError, match="param_text must be bytes-like"):
        Net.from_memory(5)          # bytes(5) would be five NUL bytes
    with pytest.raises(OptionError, match="bin_data must be bytes-like"):
        Net.from_memory("7767517\n1 1\nInput in 0 1 x 0=1\n", "not bytes")


def test_garbage_param_is_model_format_error(tmp_path):
    p = tmp_path / "garbage.param"
    p.write_bytes(b"\x89PNG\r\n\x1a\n this is not an ncnn model \x00\xff")
    with pytest.raises(ModelFormatError) as exc:
        Net(str(p), str(tmp_path / "whatever.bin"))
    assert "garbage.param" in str(exc.value)
    assert len(str(exc.value)) > len(str(p)) + 5  # the engine said what is wrong


def test_truncated_bin_is_model_format_error(tmp_path):
    param, binf = _save(_conv_fc(seed=10), tmp_path)
    data = open(binf, "rb").read()
    for cut in (len(data) - 4, len(data) // 2, 3, 0):
        with open(binf, "wb") as f:
            f.write(data[:cut])
        with pytest.raises(ModelFormatError) as exc:
            Net(param, binf)
        message = str(exc.value)
        assert os.path.basename(binf) in message
        assert re.search(r"conv0|fc0", message), message  # names the layer whose weights are cut


def test_unsupported_layer_type_is_named(tmp_path):
    text = ("7767517\n2 2\nInput in 0 1 data 0=4 1=4 2=1\n"
            "FancyAttention attn0 1 1 data out 0=3\n")
    p = tmp_path / "fancy.param"
    p.write_text(text)
    (tmp_path / "fancy.bin").write_bytes(b"")
    with pytest.raises(UnsupportedOperatorError) as exc:
        Net(str(p), str(tmp_path / "fancy.bin"))
    assert "FancyAttention" in str(exc.value) and "attn0" in str(exc.value)


def test_wrong_input_size_is_input_shape_error(tmp_path):
    param, binf = _save(_branchy(), tmp_path)
    net = Net(param, binf)
    with pytest.raises(InputShapeError) as exc:
        net.forward(np.zeros((3, 6, 9), np.float32))
    assert "data" in str(exc.value)
    with pytest.raises(InputShapeError, match="batch size must be 1"):
        net.forward(np.zeros((2, 3, 6, 8), np.float32))
    with pytest.raises(InputShapeError, match="dtype"):
        net.forward(np.zeros((3, 6, 8), np.uint8))
    with pytest.raises(InputShapeError):
        net.forward(np.zeros((1, 1, 3, 6, 8), np.float32))
    with pytest.raises(OptionError, match="'nope' is not in the model"):
        net.forward(np.zeros((3, 6, 8), np.float32), outputs=["nope"])
    # the net still works after the errors
    assert net.forward(np.zeros((3, 6, 8), np.float32)).shape == (6, 6, 8)


def test_every_error_is_a_maixnn_error_and_a_builtin():
    assert issubclass(ModelFormatError, Error) and issubclass(ModelFormatError, ValueError)
    assert issubclass(InputShapeError, ValueError)
    assert issubclass(UnsupportedOperatorError, NotImplementedError)
    assert issubclass(RuntimeEngineError, RuntimeError)


def test_missing_library_gives_a_clear_error(tmp_path):
    code = ("import maixnn.runtime as r\n"
            "try:\n    r.Net('x.param', 'x.bin')\n"
            "except r.RuntimeEngineError as e:\n    print('ERR', e)\n")
    env = dict(os.environ, MAIXNN_LIBRARY=str(tmp_path / "missing" / "libmaixnn.so"))
    out = subprocess.run([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ERR MAIXNN_LIBRARY=") and "cmake" in out.stdout
