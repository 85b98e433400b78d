"""Hostile inputs on the Python side (issue 4): property-based fuzzing with
hypothesis (nn.load options, forward inputs, the converter on mutated ONNX),
nothing lost when a writer fails or is interrupted, one Net shared by threads.

Each hypothesis test is bounded (max_examples), so the file stays fast; raise
HYPOTHESIS_MAX_EXAMPLES to fuzz longer locally.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import hostile_corpus as hc  # noqa: E402
import maixnn.errors as merr  # noqa: E402
from maixnn.ncnn_model import NcnnModel  # noqa: E402
from maixnn.runtime import Net  # noqa: E402

MAX_EXAMPLES = int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "150"))
FUZZ = settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("hostile_models"))
    paths = {}
    for case in hc.good_cases():
        paths[case.name] = hc.write_case(d, case)
    return paths


@pytest.fixture(scope="module")
def float_net(model_dir):
    from maixnn.runtime import Net
    return Net(*model_dir["tiny_float"])


# ---------------------------------------------------------------- forward inputs

_DTYPES = [np.float32, np.float64, np.float16, np.int8, np.uint8, np.int32, np.bool_, np.complex64]


@st.composite
def arrays(draw):
    ndim = draw(st.integers(0, 5))
    shape = tuple(draw(st.lists(st.integers(0, 9), min_size=ndim, max_size=ndim)))
    # the declared shape now and then, so the success path is exercised too
    if draw(st.booleans()):
        shape = draw(st.sampled_from([(3, 8, 8), (1, 3, 8, 8), (8, 8, 3), (3, 8), (192,)]))
    dtype = draw(st.sampled_from(_DTYPES))
    fill = draw(st.sampled_from([0.0, 1.5, -1e30, float("nan"), float("inf")]))
    with np.errstate(all="ignore"):
        arr = np.full(shape, fill).astype(dtype)
    if draw(st.booleans()) and arr.ndim >= 2:
        arr = arr.T  # non-contiguous
    return arr


@FUZZ
@given(x=arrays())
def test_net_forward_any_array(float_net, x):
    try:
        y = float_net.forward(x)
    except merr.InputShapeError as exc:
        assert str(exc)
        return
    except merr.Error as exc:  # e.g. an int8 input into a float model
        assert str(exc)
        return
    assert y.shape == (5,) and y.dtype == np.float32


@FUZZ
@given(x=st.one_of(st.none(), st.integers(), st.text(max_size=5), st.binary(max_size=16),
                   st.lists(st.floats(allow_nan=True), max_size=6),
                   st.dictionaries(st.text(max_size=6), st.none(), max_size=2)))
def test_net_forward_not_an_array(float_net, x):
    try:
        float_net.forward(x)
    except merr.Error as exc:
        assert str(exc)


# ---------------------------------------------------------------- nn.load options

_values = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 300), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e39, -1e39, [1.0, 1e39, 1.0], 3e38]),  # finite doubles, inf as float32
    st.text(max_size=8), st.sampled_from(["awnn", "data", "output", "input0"]),
    st.lists(st.floats(-300, 300), max_size=5),
    st.lists(st.one_of(st.floats(allow_nan=True), st.text(max_size=2)), max_size=4),
    st.dictionaries(st.sampled_from(["data", "output", "nope", "gap"]),
                    st.one_of(st.tuples(st.integers(-1, 9), st.integers(-1, 9), st.integers(-1, 9)),
                              st.sampled_from([(8, 8, 3), (1, 1, 5), (8, 8), "8,8,3"])),
                    max_size=3),
)
_keys = st.one_of(st.sampled_from(["model_type", "inputs", "outputs", "mean", "norm",
                                   "first_layer_conv_no_pad"]), st.text(max_size=10))


@FUZZ
@given(opt=st.one_of(st.none(), st.dictionaries(_keys, _values, max_size=6), st.integers(), st.text(max_size=4)))
def test_nn_load_any_options(model_dir, opt):
    """nn.load with arbitrary options loads or raises a maixnn.errors.Error at
    load; a model that loads then runs on an image of its declared size."""
    from maixnn import nn
    param, bin_ = model_dir["tiny_float"]
    try:
        m = nn.load({"param": param, "bin": bin_}, opt=opt)
    except merr.Error as exc:
        assert str(exc)
        return
    (h, w, c), = m.inputs.values()
    out = m.forward(bytes(range(256)) * (h * w * c // 256) + bytes(h * w * c % 256))
    assert np.all(np.isfinite(out)), "options %r gave a non-finite output" % (opt,)


@pytest.mark.parametrize("opt", [{"mean": float("nan")}, {"norm": [float("inf")] * 3}, {"norm": 1e39},
                                 {"mean": [0.0, 1e39, 0.0]}, {"mean": [1, 2]}, {"mean": "abc"},
                                 {"inputs": {"data": (8, 8, 4)}}, {"outputs": {"nope": (1, 1, 5)}},
                                 {"outputs": {"output": (1, 1, 6)}}, {"colour": 1}])
def test_nn_load_bad_options_fail_at_load(model_dir, opt):
    from maixnn import nn
    param, bin_ = model_dir["tiny_float"]
    with pytest.raises(merr.OptionError):
        nn.load({"param": param, "bin": bin_}, opt=opt)


@FUZZ
@given(img=st.one_of(st.binary(max_size=300), st.none(), st.integers(), st.text(max_size=3),
                     st.lists(st.integers(0, 255), max_size=5),
                     st.integers(0, 400).map(lambda n: np.zeros(n, np.uint8)),
                     st.sampled_from([np.zeros((8, 8, 3), np.float32), np.zeros((3, 8, 8), np.uint8),
                                      np.zeros((8, 8, 3), np.uint8), bytes(192), bytes(72),
                                      np.full((6, 6, 2), 255, np.uint8)])),
       layout=st.sampled_from(["hwc", "chw", "HWC", "nchw", None]),
       which=st.sampled_from(["tiny_float", "tiny_int8"]), quantize=st.booleans())
def test_nn_forward_any_image(model_dir, img, layout, which, quantize):
    from maixnn import nn
    param, bin_ = model_dir[which]
    net = Net(param, bin_)
    name, out_name = net.input_names[0], net.output_names[0]
    c, h, w = net.input_shapes[name]
    n_out = 5 if which == "tiny_float" else 3
    m = nn.load({"param": param, "bin": bin_}, opt={
        "model_type": "awnn", "inputs": {name: (h, w, c)}, "outputs": {out_name: (1, 1, n_out)},
        "mean": 127.5, "norm": 0.0078125})
    try:
        out = m.forward(img, layout=layout, quantize=quantize)
    except merr.Error as exc:
        assert str(exc)
        return
    assert out.size == (5 if which == "tiny_float" else 3) and np.all(np.isfinite(out))


# ---------------------------------------------------------------- converter on mutated ONNX

_ATTR_NAMES = ["kernel_shape", "pads", "strides", "dilations", "group", "axis", "transA", "transB", "alpha",
               "beta", "ceil_mode", "auto_pad", "epsilon", "count_include_pad", "mode", "storage_order"]
_attr_values = st.one_of(
    st.integers(-3, 5), st.sampled_from([0, 2 ** 31 - 1, -2 ** 31, 2 ** 40]),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.lists(st.integers(-2, 4), max_size=6), st.sampled_from(["SAME_UPPER", "VALID", "NOTSET", "xx", ""]),
)
_mutation = st.one_of(
    st.tuples(st.just("attr"), st.integers(0, 8), st.sampled_from(_ATTR_NAMES), _attr_values),
    st.tuples(st.just("drop_attr"), st.integers(0, 8), st.sampled_from(_ATTR_NAMES)),
    st.tuples(st.just("op_type"), st.integers(0, 8),
              st.sampled_from(["Relu", "Sigmoid", "Conv", "LSTM", "Foo", "", "MatMul", "Identity", "Softmax",
                               "Flatten", "AveragePool", "Resize", "Concat", "Mul"])),
    st.tuples(st.just("rename_input"), st.integers(0, 8), st.integers(0, 4),
              st.sampled_from(["nowhere", "input0", "c", "fl", "output0", "conv.weight", ""])),
    st.tuples(st.just("rename_output"), st.integers(0, 8), st.sampled_from(["c", "input0", "x", ""])),
    st.tuples(st.just("drop_node"), st.integers(0, 8)),
    st.tuples(st.just("swap_nodes"), st.integers(0, 8), st.integers(0, 8)),
    st.tuples(st.just("init_dims"), st.integers(0, 8), st.lists(st.integers(-1, 6), max_size=4)),
    st.tuples(st.just("init_value"), st.integers(0, 8),
              st.sampled_from([float("nan"), float("inf"), 1e38, 0.0, -0.0])),
    st.tuples(st.just("drop_init"), st.integers(0, 8)),
    st.tuples(st.just("input_dim"), st.integers(0, 3), st.one_of(st.integers(-1, 3), st.just(10 ** 6),
                                                                   st.just("N"))),
    st.tuples(st.just("opset"), st.sampled_from([1, 6, 9, 11, 13, 17, 21, 99])),
)


def _mutate(model, mutations):
    """Apply (kind, ...) mutations to an onnx ModelProto in place; an index
    past the end wraps around."""
    from onnx import helper, numpy_helper
    g = model.graph
    for m in mutations:
        kind = m[0]
        nodes = g.node
        if kind in ("attr", "drop_attr", "op_type", "rename_input", "rename_output", "drop_node") and not nodes:
            continue
        if kind == "attr":
            node = nodes[m[1] % len(nodes)]
            keep = [a for a in node.attribute if a.name != m[2]]
            del node.attribute[:]
            node.attribute.extend(keep)
            if isinstance(m[3], list) and not m[3]:
                from onnx import AttributeProto
                node.attribute.append(helper.make_attribute(m[2], [], attr_type=AttributeProto.INTS))
            else:
                node.attribute.append(helper.make_attribute(m[2], m[3]))
        elif kind == "drop_attr":
            node = nodes[m[1] % len(nodes)]
            keep = [a for a in node.attribute if a.name != m[2]]
            del node.attribute[:]
            node.attribute.extend(keep)
        elif kind == "op_type":
            nodes[m[1] % len(nodes)].op_type = m[2]
        elif kind == "rename_input":
            node = nodes[m[1] % len(nodes)]
            if node.input:
                node.input[m[2] % len(node.input)] = m[3]
        elif kind == "rename_output":
            node = nodes[m[1] % len(nodes)]
            node.output[0] = m[2]
        elif kind == "drop_node":
            del nodes[m[1] % len(nodes)]
        elif kind == "swap_nodes" and nodes:
            i, j = m[1] % len(nodes), m[2] % len(nodes)
            a, b = type(nodes[i])(), type(nodes[j])()
            a.CopyFrom(nodes[i])
            b.CopyFrom(nodes[j])
            nodes[i].CopyFrom(b)
            nodes[j].CopyFrom(a)
        elif kind in ("init_dims", "init_value", "drop_init") and g.initializer:
            init = g.initializer[m[1] % len(g.initializer)]
            if kind == "init_dims":
                del init.dims[:]
                init.dims.extend(m[2])
            elif kind == "init_value":
                try:
                    arr = numpy_helper.to_array(init).copy()
                except ValueError:  # dims already mutated to disagree with the data
                    continue
                if arr.size:
                    arr.reshape(-1)[0] = m[2]
                    init.CopyFrom(numpy_helper.from_array(arr.astype(np.float32), init.name))
            else:
                del g.initializer[m[1] % len(g.initializer)]
        elif kind == "input_dim" and g.input:
            dims = g.input[0].type.tensor_type.shape.dim
            d = dims[m[1] % len(dims)]
            if isinstance(m[2], str):
                d.dim_param = m[2]
            else:
                d.dim_value = m[2]
        elif kind == "opset":
            model.opset_import[0].version = m[1]
    return model


def _convert_must_be_clean(onnx_bytes, tmp_path, what):
    """maixnn.convert either succeeds, writing a model the engine loads, or
    raises a maixnn.errors.Error; it never leaves a partial output behind."""
    import maixnn
    d = tmp_path / ("case%d" % len(os.listdir(str(tmp_path))))
    d.mkdir()
    src = d / "m.onnx"
    src.write_bytes(onnx_bytes)
    base = str(d / "out" / "m")
    try:
        maixnn.convert(str(src), base)
    except merr.Error as exc:
        assert str(exc), what
        leftovers = os.listdir(str(d / "out")) if os.path.isdir(str(d / "out")) else []
        assert not leftovers, "%s: a failed convert left %s" % (what, leftovers)
        return None
    except Exception as exc:  # the finding: an untyped exception escaped
        raise AssertionError("%s: maixnn.convert raised %s: %s" % (what, type(exc).__name__, exc)) from exc
    assert src.read_bytes() == onnx_bytes, "%s: the input file was modified" % what
    from maixnn.runtime import Net
    try:
        net = Net(base + ".param", base + ".bin")
    except merr.Error as exc:
        raise AssertionError("%s: convert succeeded but maixnn's engine cannot load the result: %s"
                             % (what, exc)) from exc
    return net


@st.composite
def onnx_mutations(draw):
    return draw(st.lists(_mutation, min_size=1, max_size=3))


@FUZZ
@given(mutations=onnx_mutations())
def test_convert_mutated_onnx(tmp_path_factory, mutations):
    model = _mutate(hc.tiny_onnx_model(), mutations)
    try:
        data = model.SerializeToString()
    except Exception:  # protobuf refused the mutation itself: nothing to convert
        return
    tmp = tmp_path_factory.mktemp("convert")
    net = _convert_must_be_clean(data, tmp, repr(mutations))
    if net is None:
        return
    # the converter accepted it: the result must agree with onnxruntime when
    # onnxruntime also accepts the mutated model (never a silently wrong model)
    import onnxruntime as ort
    x = np.random.default_rng(0).standard_normal((1, 3, 8, 8)).astype(np.float32)
    try:
        sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
        ref = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    except Exception:
        return
    try:
        got = net.forward(x)
    except merr.Error:
        return
    if got.size == ref.size and np.all(np.isfinite(ref)):
        np.testing.assert_allclose(got.reshape(-1), ref.reshape(-1), rtol=1e-3, atol=1e-4 * (1 + np.abs(ref).max()),
                                   err_msg="%r converted to a model that disagrees with onnxruntime" % (mutations,))


@FUZZ
@given(cuts=st.lists(st.tuples(st.sampled_from(["flip", "cut", "insert"]), st.floats(0, 1), st.integers(0, 255)),
                     min_size=1, max_size=4))
def test_convert_damaged_onnx_bytes(tmp_path_factory, cuts):
    data = bytearray(hc.tiny_onnx_model().SerializeToString())
    for op, where, value in cuts:
        i = min(int(where * len(data)), len(data) - 1)
        if op == "flip":
            data[i] ^= 1 << (value % 8)
        elif op == "cut":
            del data[i:]
        else:
            data[i:i] = bytes([value])
        if not data:
            break
    _convert_must_be_clean(bytes(data), tmp_path_factory.mktemp("convert_bytes"), repr(cuts))


def test_convert_not_onnx_files(tmp_path):
    for name, data in [("empty", b""), ("text", b"hello world\n"), ("param", b"7767517\n1 1\n"),
                       ("zeros", bytes(1000)), ("png", b"\x89PNG\r\n\x1a\n" + bytes(64))]:
        with pytest.raises(merr.ModelFormatError):
            d = tmp_path / name
            d.mkdir()
            (d / "m.onnx").write_bytes(data)
            import maixnn
            maixnn.convert(str(d / "m.onnx"), str(d / "out"))
        assert sorted(os.listdir(str(d))) == ["m.onnx"]


# ---------------------------------------------------------------- threads

def test_one_net_many_threads_same_as_serial(model_dir):
    """One Net, 4 threads x 25 forwards with different inputs: every result
    equals the serial one bit for bit."""
    from maixnn.runtime import Net
    net = Net(*model_dir["tiny_zoo"])
    rng = np.random.default_rng(7)
    xs = [rng.standard_normal((2, 6, 6)).astype(np.float32) for _ in range(100)]
    serial = [net.forward(x) for x in xs]
    got = [None] * len(xs)
    errors = []
    start = threading.Barrier(4)

    def worker(k):
        try:
            start.wait()
            for i in range(k, len(xs), 4):
                got[i] = net.forward(xs[i], outputs=["output", "conv", "up"])["output"]
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for i, (a, b) in enumerate(zip(serial, got)):
        assert np.array_equal(a, b), "input %d differs between serial and threaded runs" % i


def test_close_while_other_threads_run(model_dir):
    """close() while forwards run elsewhere: running forwards finish, later
    ones raise a typed error; no crash, no use after free."""
    from maixnn.runtime import Net
    net = Net(*model_dir["tiny_zoo"])
    x = np.ones((2, 6, 6), np.float32)
    ref = net.forward(x)
    outcomes = []
    go = threading.Event()

    def worker():
        go.wait()
        for _ in range(200):
            try:
                y = net.forward(x)
                outcomes.append(bool(np.array_equal(y, ref)))
            except merr.Error as exc:
                outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    go.set()
    net.close()
    for t in threads:
        t.join()
    assert False not in outcomes, "a forward racing close() returned a wrong result"
    assert all(o is True or o == "RuntimeEngineError" for o in outcomes), set(map(str, outcomes))
    with pytest.raises(merr.RuntimeEngineError):
        net.forward(x)


# ---------------------------------------------------------------- nothing lost

def _snapshot(directory):
    out = {}
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), "rb") as f:
            out[name] = f.read()
    return out


def test_save_failure_leaves_old_model_intact(tmp_path, monkeypatch):
    """A failure while the .bin is being written leaves the old .param AND the
    old .bin (not a new .param beside an old .bin) and no temporary file."""
    import maixnn.ncnn_model as nm
    old = hc.tiny_float_model(seed=0)
    new = hc.tiny_zoo_model()
    param, bin_ = str(tmp_path / "m.param"), str(tmp_path / "m.bin")
    old.save(param, bin_)
    before = _snapshot(str(tmp_path))
    calls = []
    real_fsync = os.fsync

    def failing_fsync(fd):
        calls.append(fd)
        if len(calls) == 2:  # the second file (the .bin)
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(nm.os, "fsync", failing_fsync)
    with pytest.raises(OSError):
        new.save(param, bin_)
    assert _snapshot(str(tmp_path)) == before


def test_save_refuses_param_and_bin_being_one_file(tmp_path):
    path = str(tmp_path / "m")
    with pytest.raises(merr.OptionError):
        hc.tiny_float_model().save(path, path)
    assert not os.listdir(str(tmp_path))


_CHILD = r"""
import os, sys, time
sys.path.insert(0, sys.argv[1])
import maixnn.ncnn_model as nm
real_fsync = os.fsync
def slow_fsync(fd):
    real_fsync(fd)
    print("writing", flush=True)
    time.sleep(60)
nm.os.fsync = slow_fsync
"""


def _interrupt_child(code, args, tmp_path):
    """Run `code` in a child Python, send SIGINT when it prints 'writing'
    (inside atomic_write), return its exit code and output."""
    proc = subprocess.Popen([sys.executable, "-c", _CHILD + code, os.path.join(hc.REPO, "python"),
                             os.path.join(hc.REPO, "tests")] + list(args),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                            cwd=str(tmp_path))
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("writing"):
                proc.send_signal(signal.SIGINT)
                break
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, "".join(lines) + (rest or "")


def test_ctrl_c_during_save_leaves_nothing(tmp_path):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "m.param").write_bytes(b"old param")
    (out_dir / "m.bin").write_bytes(b"old bin")
    code = r"""
sys.path.insert(0, sys.argv[2])
import hostile_corpus as hc
hc.tiny_zoo_model().save(sys.argv[3], sys.argv[4])
print("finished", flush=True)
"""
    rc, out = _interrupt_child(code, [str(out_dir / "m.param"), str(out_dir / "m.bin")], tmp_path)
    assert "KeyboardInterrupt" in out and "finished" not in out, out
    assert rc != 0
    assert _snapshot(str(out_dir)) == {"m.bin": b"old bin", "m.param": b"old param"}


_QUANTIZE_CHILD = r"""
sys.path.insert(0, sys.argv[2])
import numpy as np, maixnn
imgs = [np.random.default_rng(i).integers(0, 256, (8, 8, 3), dtype=np.uint8) for i in range(4)]
maixnn.quantize(sys.argv[3], sys.argv[4], images=imgs, mean=[0.5] * 3, std=[0.25] * 3, progress=False,
                method="minmax")
print("finished", flush=True)
"""


def _float_model_dir(tmp_path):
    d = tmp_path / "models"
    d.mkdir()
    hc.tiny_float_model().save(str(d / "f.param"), str(d / "f.bin"))
    return d


def test_ctrl_c_during_quantize_leaves_no_output(tmp_path):
    d = _float_model_dir(tmp_path)
    before = _snapshot(str(d))
    rc, out = _interrupt_child(_QUANTIZE_CHILD, [str(d / "f"), str(d / "q")], tmp_path)
    assert "KeyboardInterrupt" in out and "finished" not in out, out
    assert _snapshot(str(d)) == before, "Ctrl-C during quantize left files behind"


def test_quantize_failure_while_writing_leaves_old_outputs(tmp_path, monkeypatch):
    """The quantizer's five outputs (.param .bin .table .mud .json) are one
    set: a failure while writing the last one leaves the previous set intact."""
    import maixnn
    import maixnn.ncnn_model as nm
    d = _float_model_dir(tmp_path)
    imgs = [np.random.default_rng(i).integers(0, 256, (8, 8, 3), dtype=np.uint8) for i in range(4)]
    kw = dict(images=imgs, mean=[0.5] * 3, std=[0.25] * 3, progress=False, method="minmax")
    maixnn.quantize(str(d / "f"), str(d / "q"), **kw)
    before = _snapshot(str(d))
    assert {"q.param", "q.bin", "q.table", "q.mud", "q.json"} <= set(before)
    real_fsync = os.fsync
    calls = []

    def failing_fsync(fd):
        calls.append(fd)
        if len(calls) == 5:
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(nm.os, "fsync", failing_fsync)
    kw["mean"] = [0.4] * 3  # a different result, so an overwrite would show
    with pytest.raises(OSError):
        maixnn.quantize(str(d / "f"), str(d / "q"), **kw)
    assert _snapshot(str(d)) == before


def test_quantize_never_overwrites_its_input(tmp_path):
    import maixnn
    d = _float_model_dir(tmp_path)
    before = _snapshot(str(d))
    imgs = [np.zeros((8, 8, 3), np.uint8)]
    with pytest.raises(merr.OptionError, match="overwrite"):
        maixnn.quantize(str(d / "f"), str(d / "f"), images=imgs, progress=False, method="minmax")
    assert _snapshot(str(d)) == before


_CONVERT_CHILD = r"""
sys.path.insert(0, sys.argv[2])
import hostile_corpus as hc, maixnn
with open(sys.argv[3], "wb") as f:
    f.write(hc.tiny_onnx_model().SerializeToString())
print("onnx written", flush=True)
maixnn.convert(sys.argv[3], sys.argv[4])
print("finished", flush=True)
"""


def test_ctrl_c_during_convert_leaves_no_output(tmp_path):
    d = tmp_path / "conv"
    d.mkdir()
    rc, out = _interrupt_child(_CONVERT_CHILD.replace("print(\"onnx written\", flush=True)\n", ""),
                               [str(d / "m.onnx"), str(d / "out" / "m")], tmp_path)
    assert "KeyboardInterrupt" in out and "finished" not in out, out
    left = sorted(os.listdir(str(d / "out"))) if (d / "out").exists() else []
    assert left == [], left


def test_convert_failure_leaves_nothing_and_never_overwrites_input(tmp_path):
    import maixnn
    src = tmp_path / "m.onnx"
    model = hc.tiny_onnx_model()
    model.graph.node[2].op_type = "NoSuchOp"
    src.write_bytes(model.SerializeToString())
    data = src.read_bytes()
    with pytest.raises(merr.UnsupportedOperatorError, match="NoSuchOp"):
        maixnn.convert(str(src), str(tmp_path / "m"))
    assert sorted(os.listdir(str(tmp_path))) == ["m.onnx"] and src.read_bytes() == data
    # out_base naming the input itself: outputs are .param/.bin, the .onnx stays
    src.write_bytes(hc.tiny_onnx_model().SerializeToString())
    data = src.read_bytes()
    maixnn.convert(str(src), str(tmp_path / "m.onnx"))
    assert src.read_bytes() == data


# ---------------------------------------------------------------- files that are not what they claim

def test_model_paths_that_are_directories_or_odd_names(model_dir, tmp_path):
    from maixnn.runtime import Net
    param, bin_ = model_dir["tiny_float"]
    with pytest.raises(merr.ModelFormatError, match="directory"):
        Net(str(tmp_path), bin_)
    with pytest.raises(merr.ModelFormatError, match="directory"):
        Net(param, str(tmp_path))
    with pytest.raises(merr.ModelFormatError, match="No such file"):
        Net(str(tmp_path / "missing.param"), bin_)
    # a file name that is not valid UTF-8 (allowed by Linux) loads like any other
    odd = os.fsdecode(os.path.join(os.fsencode(str(tmp_path)), b"m\xff.param"))
    with open(param, "rb") as src, open(odd, "wb") as dst:
        dst.write(src.read())
    assert Net(odd, bin_).forward(np.zeros((3, 8, 8), np.float32)).shape == (5,)


def test_writers_refuse_a_directory_as_output(tmp_path):
    (tmp_path / "m.param").mkdir()
    with pytest.raises(merr.OptionError, match="directory"):
        hc.tiny_float_model().save(str(tmp_path / "m.param"), str(tmp_path / "m.bin"))
    assert sorted(os.listdir(str(tmp_path))) == ["m.param"]


@pytest.mark.parametrize("content", [b"\xff\xfe\x00[basic]", b"", b"garbage", b"[basic]\n[basic]\n",
                                     b"[basic]\ntype = awnn\nparam = m.param\nbin = m.bin\n[inputs]\n"
                                     b"data = a,b,c\n[outputs]\noutput = 1,1,5\n",
                                     b"[basic]\ntype = awnn\nparam = /nonexistent.param\nbin = m.bin\n"
                                     b"[inputs]\ndata = 8,8,3,1,1\n[outputs]\noutput = 1,1,5\n"],
                         ids=["binary", "empty", "garbage", "duplicate_section", "bad_numbers", "missing_param"])
def test_malformed_mud_is_model_format_error(tmp_path, content):
    from maixnn import nn
    path = tmp_path / "m.mud"
    path.write_bytes(content)
    with pytest.raises((merr.ModelFormatError, merr.OptionError)):
        nn.load(str(path))


def test_large_files_load_completely(tmp_path):
    """.param over 64 KiB and .bin over 1 MiB (the file reader grows its buffer
    in chunks: a file past the first chunk must still be read to the end)."""
    from maixnn.ncnn_model import Layer, Weight
    from maixnn.runtime import Net
    rng = np.random.default_rng(11)
    layers = [Layer("Input", "data", [], ["b0"], {0: 8, 1: 8, 2: 3})]
    for i in range(1500):  # ~100 KiB of text
        layers.append(Layer("ReLU", "relu_%04d" % i, ["b%d" % i], ["b%d" % (i + 1)], {0: 0.5}))
    layers.append(Layer("InnerProduct", "fc", ["b1500"], ["output"], {0: 1500, 1: 0, 2: 192 * 1500},
                        [Weight("weight", rng.standard_normal(192 * 1500).astype(np.float32), "tagged")]))
    model = NcnnModel(layers)
    param, bin_ = str(tmp_path / "big.param"), str(tmp_path / "big.bin")
    model.save(param, bin_)
    assert os.path.getsize(param) > 65536 and os.path.getsize(bin_) > 1 << 20
    x = rng.standard_normal((3, 8, 8)).astype(np.float32)
    from_files = Net(param, bin_).forward(x)
    from_memory = Net.from_memory(model.param_text(), model.bin_bytes()).forward(x)
    assert from_files.shape == (1500,)
    np.testing.assert_array_equal(from_files, from_memory)
