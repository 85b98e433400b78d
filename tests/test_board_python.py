"""The board-side Python binding with and without cffi (issue 7, part 6).

The stock MaixII-Dock image has Python 3.8 with ctypes but no cffi.
maixnn.runtime declares the C API once (CDEF) and opens the library with cffi
where it imports and with ctypes otherwise (maixnn.cbinding).  Proved here:

* host: tests/board_probe.py (every blob of the corpus models and of a
  converted float + int8 model, maixnn.nn on both, four threads on one Net, a
  dozen provoked errors) gives bit-identical arrays and identical error types
  and messages with MAIXNN_BINDING=cffi, =ctypes, and with cffi's import
  blocked (auto falls back to ctypes);
* armhf: the same probe in Debian's armv7 Python 3.11 under qemu-arm
  (toolchain/fetch-armhf-python.sh unpacks it into build/armhf-python), against
  libmaixnn.so cross-built with toolchain/armhf-debian.cmake (build/armhf, as
  tests/test_arm.py builds it), once with cffi installed and once with its
  import blocked: int8 blobs identical to the host, float blobs within 1e-5 of
  each blob's largest magnitude, the same error types and messages.

The ARM part is skipped when the cross compiler, qemu-arm or the armhf Python
cannot be had (fails instead when CI is set: .ci/run installs them).  Cost:
about 20-30 s once the library is built (two qemu runs of ~8 s).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from maixnn import cbinding, runtime
from maixnn.ncnn_model import Layer, NcnnModel, Weight

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROBE = os.path.join(REPO, "tests", "board_probe.py")
CORPUS = os.path.join(REPO, "tests", "corpus", "good")
ARMHF_PYTHON = os.path.join(REPO, "build", "armhf-python")
FETCH_SCRIPT = os.path.join(REPO, "toolchain", "fetch-armhf-python.sh")
H, W, C = 12, 10, 3
MEAN, NORM = [127.5, 127.5, 127.5], [0.0078125, 0.0078125, 0.0078125]
FLOAT_REL = 1e-5


# ---------------------------------------------------------------- the one declaration

def test_ctypes_prototypes_come_from_the_same_cdef():
    decls = cbinding.parse(runtime.CDEF)
    with open(os.path.join(REPO, "csrc", "include", "maixnn.h")) as f:
        header = f.read()
    header_functions = set(re_findall(r"\b(mxn_\w+)\s*\(", header))
    assert {p.name for p in decls.functions} == header_functions
    assert decls.constants["MXN_ERR_SHAPE"] == runtime.MXN_ERR_SHAPE == 11
    assert decls.opaque == ["mxn_net", "mxn_session"] and decls.enums == ["mxn_status", "mxn_dtype"]
    blob = [p for p in decls.functions if p.name == "mxn_session_blob"][0]
    assert blob.restype == "const void *" and blob.argtypes == ("mxn_session *", "int") + ("int *",) * 5
    lib = cbinding.CtypesLibrary(runtime.library_path(), runtime.CDEF)
    import ctypes
    assert lib.lib.mxn_net_layer_weight_count.restype is ctypes.c_long
    assert lib.lib.mxn_net_load_bin_mem.argtypes == [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]


def re_findall(pattern, text):
    import re
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return [m for m in re.findall(pattern, text) if not m.endswith("_H")]


@pytest.mark.parametrize("text, message", [
    ("struct s { int a; };", "cannot read"),
    ("float mxn_f(int x);", "type 'float'"),
    ("typedef enum { A, B } e;", "explicit integer value"),
    ("typedef struct t t; int mxn_f(t x);", "by value"),
])
def test_cdef_parser_refuses_what_the_ctypes_path_cannot_express(text, message):
    with pytest.raises(ValueError, match=message):
        cbinding.parse(text)


def test_unknown_binding_and_missing_cffi_are_clear_errors(tmp_path):
    code = ("import sys\nsys.modules['cffi'] = None\nimport maixnn.runtime as r\n"
            "try:\n    r.binding_name()\nexcept r.RuntimeEngineError as e:\n    print('ERR', e)\n")
    for value, expect in (("cffi", "cffi cannot be imported"), ("pyo3", "MAIXNN_BINDING=pyo3: expected one of")):
        env = dict(os.environ, MAIXNN_BINDING=value)
        out = subprocess.run([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, universal_newlines=True, timeout=60).stdout
        assert out.startswith("ERR") and expect in out, out


# ---------------------------------------------------------------- models for the probe

def _conv_fc_model():
    """3x3 conv (ReLU) -> 3x3 conv (ReLU) -> 1x1 conv -> fc: quantized, the
    convolutions chain int8 blobs (requantized outputs)."""
    rng = np.random.RandomState(0)
    layers = [Layer("Input", "in", [], ["input0"], {0: W, 1: H, 2: C})]
    bottom, cin = "input0", C
    for i, (cout, k, act) in enumerate(((6, 3, 1), (6, 3, 1), (4, 1, 0))):
        wconv = (rng.standard_normal((cout, cin, k, k)) * (0.6 / k)).astype(np.float32)
        bconv = (rng.standard_normal(cout) * 0.1).astype(np.float32)
        top = "conv%d" % i
        params = {0: cout, 1: k, 4: k // 2, 5: 1, 6: wconv.size}
        if act:
            params[9] = 1
        layers.append(Layer("Convolution", "c%d" % i, [bottom], [top], params,
                            [Weight("weight", wconv, "tagged"), Weight("bias", bconv)]))
        bottom, cin = top, cout
    wfc = (rng.standard_normal((5, cin * H * W)) * 0.1).astype(np.float32)
    bfc = (rng.standard_normal(5) * 0.1).astype(np.float32)
    layers.append(Layer("InnerProduct", "fc0", [bottom], ["output0"], {0: 5, 1: 1, 2: wfc.size},
                        [Weight("weight", wfc, "tagged"), Weight("bias", bfc)]))
    return NcnnModel(layers)


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    """Corpus models + a conv/fc model (float) and its int8 quantization, with
    inputs saved as .npy so that every run reads the same bits."""
    import warnings

    import maixnn
    d = tmp_path_factory.mktemp("probe")
    rng = np.random.RandomState(3)
    nets = []

    def add_net(name, param, binp):
        net = runtime.Net(param, binp)
        inputs = {}
        for blob, shape in net.input_shapes.items():
            path = str(d / ("%s_%s.npy" % (name, blob)))
            np.save(path, rng.standard_normal(shape).astype(np.float32))
            inputs[blob] = path
        nets.append({"name": name, "param": param, "bin": binp, "inputs": inputs})

    for name in ("tiny_float", "tiny_int8", "tiny_zoo"):
        add_net(name, os.path.join(CORPUS, name + ".param"), os.path.join(CORPUS, name + ".bin"))
    base = str(d / "convfc")
    _conv_fc_model().save(base + ".param", base + ".bin")
    add_net("convfc", base + ".param", base + ".bin")
    images = (rng.rand(6, H, W, C) * 255).astype(np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = maixnn.quantize(base, str(d / "convfc_int8"), images=images, mean=MEAN, norm=NORM, method="minmax",
                            progress=False)
    add_net("convfc_int8", q.param, q.bin)
    image = str(d / "image.npy")
    np.save(image, images[0])
    opt = {"model_type": "awnn", "inputs": {"input0": [H, W, C]}, "outputs": {"output0": [1, 1, 5]},
           "mean": MEAN, "norm": NORM}
    manifest = {"nets": nets, "missing": str(d / "no" / "such.param"),
                "nn": [{"name": "float", "model": {"param": base + ".param", "bin": base + ".bin"}, "opt": opt,
                        "image": image, "quantize": True},
                       {"name": "int8", "model": q.mud, "opt": None, "image": image, "quantize": True}]}
    fmap = rng.standard_normal((7, 7, 2 * (2 + 5))).astype(np.float32) * 2.0
    fmap[..., 4] += 2.0
    fmap[..., 4 + 7] += 2.0
    np.save(str(d / "fmap.npy"), fmap)
    manifest["yolo2"] = {"fmap": str(d / "fmap.npy"), "class_num": 2, "anchors": [1.5, 2.0, 3.0, 2.5],
                         "net_in": [224, 224], "net_out": [7, 7]}
    path = str(d / "manifest.json")
    with open(path, "w") as f:
        json.dump(manifest, f)
    return path


def _load_probe(prefix):
    with open(prefix + ".json") as f:
        report = json.load(f)
    with np.load(prefix + ".npz") as z:
        arrays = {k: z[k] for k in z.files}
    return report, arrays


def run_probe_on_host(manifest, prefix, binding=None, block_cffi=False):
    env = dict(os.environ)
    env.pop("MAIXNN_BINDING", None)
    if binding:
        env["MAIXNN_BINDING"] = binding
    cmd = [sys.executable, PROBE, manifest, prefix] + (["--block-cffi"] if block_cffi else [])
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=300)
    assert proc.returncode == 0 and "PROBE OK" in proc.stdout, proc.stdout[-4000:]
    return _load_probe(prefix)


# ---------------------------------------------------------------- host: cffi == ctypes

@pytest.fixture(scope="module")
def host_cffi(manifest, tmp_path_factory):
    return run_probe_on_host(manifest, str(tmp_path_factory.mktemp("host") / "cffi"), binding="cffi")


@pytest.mark.parametrize("binding, block_cffi", [("ctypes", False), (None, True)],
                         ids=["MAIXNN_BINDING=ctypes", "cffi-import-blocked"])
def test_ctypes_path_equals_cffi_path_bit_for_bit(manifest, host_cffi, tmp_path, binding, block_cffi):
    ref_report, ref = host_cffi
    report, got = run_probe_on_host(manifest, str(tmp_path / "run"), binding=binding, block_cffi=block_cffi)
    assert ref_report["binding"] == "cffi" and report["binding"] == "ctypes"
    assert ref_report["threads_equal"] is True and report["threads_equal"] is True
    assert sorted(got) == sorted(ref) and len(ref) > 40
    assert any(v.dtype == np.int8 for v in ref.values()) and len(ref["yolo2/boxes"]) >= 3
    for key, value in ref.items():
        assert got[key].dtype == value.dtype and got[key].shape == value.shape, key
        assert got[key].tobytes() == value.tobytes(), "%s differs between cffi and ctypes" % key
    assert report["errors"] == ref_report["errors"]
    kinds = {k: v[0] for k, v in ref_report["errors"].items()}
    assert kinds["missing_param"] == "ModelFormatError" and kinds["unknown_layer"] == "UnsupportedOperatorError"
    assert kinds["wrong_shape"] == "InputShapeError" and kinds["nn_list"] == "NotSupportedError"
    assert all(v[0] != "no error" and v[1] for v in ref_report["errors"].values()), ref_report["errors"]


# ---------------------------------------------------------------- armhf Python under qemu-arm

def _arm_tools_missing():
    if shutil.which("arm-linux-gnueabihf-gcc") is None or shutil.which("qemu-arm") is None:
        return "the armhf cross compiler or qemu-arm is missing (apt-get install gcc-arm-linux-gnueabihf qemu-user)"
    if not os.path.exists("/usr/arm-linux-gnueabihf/lib/crt1.o"):
        return "libc6-dev-armhf-cross is missing"
    return None


def _skip_or_fail(reason):
    if os.environ.get("CI"):
        pytest.fail(reason + " (CI is set: .ci/run installs it)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def armhf_python():
    """build/armhf-python: Debian's armhf python3.11 + numpy + cffi (dpkg -x)."""
    if not os.path.exists(os.path.join(ARMHF_PYTHON, ".complete")):
        proc = subprocess.run(["bash", FETCH_SCRIPT, ARMHF_PYTHON], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, timeout=900)
        if proc.returncode != 0:
            _skip_or_fail("cannot unpack Debian's armhf Python: " + proc.stdout[-1500:])
    return ARMHF_PYTHON


@pytest.fixture(scope="module")
def arm_library():
    """libmaixnn.so for armv7, built into build/armhf exactly as tests/test_arm.py builds it."""
    reason = _arm_tools_missing()
    if reason:
        _skip_or_fail(reason)
    import cross
    tc = cross.toolchain("armhf")   # tests/cross.py: the same build/armhf as tests/test_arm.py
    cross.build(tc, ["maixnn"])
    return os.path.join(tc.build_dir, "libmaixnn.so")


def run_probe_on_arm(root, library, manifest, prefix, block_cffi):
    libdirs = ["usr/lib/arm-linux-gnueabihf", "lib/arm-linux-gnueabihf", "usr/lib/arm-linux-gnueabihf/blas",
               "usr/lib/arm-linux-gnueabihf/lapack"]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONHOME": os.path.join(root, "usr"),
           "PYTHONPATH": os.pathsep.join([os.path.join(root, "usr", "lib", "python3", "dist-packages"),
                                          os.path.join(REPO, "python")]),
           "LD_LIBRARY_PATH": os.pathsep.join(os.path.join(root, p) for p in libdirs),
           "MAIXNN_LIBRARY": library, "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = ["qemu-arm", "-L", root, os.path.join(root, "usr", "bin", "python3.11"), PROBE, manifest, prefix]
    proc = subprocess.run(cmd + (["--block-cffi"] if block_cffi else []), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=600)
    assert proc.returncode == 0 and "PROBE OK" in proc.stdout, proc.stdout[-4000:]
    return _load_probe(prefix)


@pytest.mark.parametrize("block_cffi", [False, True], ids=["with-cffi", "without-cffi"])
def test_maixnn_nn_on_armhf_python_equals_the_host(armhf_python, arm_library, manifest, host_cffi, tmp_path,
                                                   block_cffi):
    ref_report, ref = host_cffi
    report, got = run_probe_on_arm(armhf_python, arm_library, manifest, str(tmp_path / "arm"), block_cffi)
    assert report["binding"] == ("ctypes" if block_cffi else "cffi"), report
    assert report["threads_equal"] is True
    assert sorted(got) == sorted(ref)
    worst, int8_count = 0.0, 0
    for key, value in ref.items():
        arm = got[key]
        assert arm.dtype == value.dtype and arm.shape == value.shape, key
        if value.dtype == np.int8:
            int8_count += 1
            assert np.array_equal(arm, value), "%s: int8 differs on ARM" % key
            continue
        scale = float(np.abs(value).max()) or 1.0
        diff = float(np.abs(arm.astype(np.float64) - value.astype(np.float64)).max())
        assert diff <= FLOAT_REL * scale, "%s: ARM differs by %g (largest |value| %g)" % (key, diff, scale)
        worst = max(worst, diff / scale)
    assert int8_count >= 3
    assert report["errors"] == ref_report["errors"]
    print("armhf python %s numpy %s (%s): %d arrays, %d int8 identical, float worst %.3g relative"
          % (report["python"], report["numpy"], report["binding"], len(ref), int8_count, worst))


def test_probe_on_the_boards_python_version(manifest, host_cffi, tmp_path):
    """Optional: MAIXNN_BOARD_PYTHON names a Python like the board's (3.8 with
    numpy 1.19 and no cffi, e.g. a venv with numpy==1.19.2): the probe there,
    on the host's library, equals the host's cffi run bit for bit."""
    python = os.environ.get("MAIXNN_BOARD_PYTHON")
    if not python:
        pytest.skip("set MAIXNN_BOARD_PYTHON to a Python 3.8 + numpy 1.19 interpreter to run this")
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "python"))
    env.pop("MAIXNN_BINDING", None)
    prefix = str(tmp_path / "py38")
    proc = subprocess.run([python, PROBE, manifest, prefix, "--block-cffi"], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=300)
    assert proc.returncode == 0 and "PROBE OK" in proc.stdout, proc.stdout[-4000:]
    report, got = _load_probe(prefix)
    ref_report, ref = host_cffi
    assert report["binding"] == "ctypes" and report["threads_equal"] is True
    assert sorted(got) == sorted(ref)
    for key, value in ref.items():
        assert got[key].tobytes() == value.tobytes(), key
    assert report["errors"] == ref_report["errors"]
    print("python %s numpy %s (%s): %d arrays bit-identical to the host's cffi run"
          % (report["python"], report["numpy"], report["binding"], len(ref)))
