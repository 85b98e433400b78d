"""The board-side modules (they will run on the MaixII-Dock's Python 3.8 with
numpy and no cffi) parse as Python 3.8 and import and run without torch,
onnx, onnxruntime or cffi."""
from __future__ import annotations

import ast
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PKG = os.path.join(REPO, "python", "maixnn")
# the one list of board-side modules (dist/ and maixnn pack ship exactly these)
with open(os.path.join(PKG, "board_modules.txt")) as _f:
    BOARD_MODULES = tuple(line.strip() for line in _f if line.strip() and not line.startswith("#"))


@pytest.mark.parametrize("module", BOARD_MODULES)
def test_parses_as_python_3_8(module):
    path = os.path.join(PKG, module + ".py")
    with open(path) as f:
        source = f.read()
    ast.parse(source, filename=path, feature_version=(3, 8))


def test_vermin_says_python_3_8_is_enough():
    pytest.importorskip("vermin")  # in the [test] extra; the ast check above runs regardless
    paths = [os.path.join(PKG, m + ".py") for m in BOARD_MODULES]
    proc = subprocess.run([sys.executable, "-c", "import sys, vermin; sys.exit(vermin.main())",
                           "--no-tips", "--violations", "-t=3.8-"] + paths,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=120)
    assert proc.returncode == 0, proc.stdout


# cffi too: the stock board image has none (maixnn.runtime then binds with ctypes)
BLOCKED = ("torch", "onnx", "onnxruntime", "PIL", "tqdm", "sklearn", "ncnn", "pnnx", "cffi", "_cffi_backend")
CHILD = r"""
import sys
for name in %(blocked)r:
    sys.modules[name] = None          # 'import name' now raises ImportError
import numpy as np
import maixnn
from maixnn import nn, runtime, errors, ncnn_model, summary, npu, preprocess, runner
from maixnn.ncnn_model import Layer, NcnnModel
import os
d = sys.argv[1]
NcnnModel([Layer("Input", "in", [], ["input0"], {0: 2, 1: 2, 2: 3}),
           Layer("ReLU", "relu", ["input0"], ["output0"])]).save(os.path.join(d, "m.param"), os.path.join(d, "m.bin"))
m = nn.load({"param": os.path.join(d, "m.param"), "bin": os.path.join(d, "m.bin")},
            opt={"model_type": "awnn", "inputs": {"input0": (2, 2, 3)}, "outputs": {"output0": (2, 2, 3)},
                 "mean": [127.5] * 3, "norm": [1 / 127.5] * 3})
out = m.forward(bytes(range(0, 240, 20)), quantize=True, layout="hwc")
assert out.shape == (2, 2, 3), out.shape
assert abs(float(out.max()) - (220 - 127.5) / 127.5) < 1e-6
net = maixnn.Net(os.path.join(d, "m.param"), os.path.join(d, "m.bin"))
print(summary.format_summary(summary.summarize(os.path.join(d, "m.param"), os.path.join(d, "m.bin"), net=net)).splitlines()[1])
heavy = [n for n in %(blocked)r if sys.modules.get(n) is not None]
assert not heavy, heavy
assert runtime.binding_name() == "ctypes", runtime.binding_name()
print("BOARD-SIDE OK")
"""


def test_imports_and_runs_without_pc_tooling(tmp_path):
    code = CHILD % {"blocked": BLOCKED}
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=120)
    assert proc.returncode == 0 and "BOARD-SIDE OK" in proc.stdout, proc.stdout


def test_cli_run_and_info_work_without_pc_tooling(tmp_path):
    """On the board `maixnn info` / `maixnn run x.npy` work; `convert` says what is missing."""
    from maixnn.ncnn_model import Layer, NcnnModel
    import numpy as np
    NcnnModel([Layer("Input", "in", [], ["input0"], {0: 4, 1: 1, 2: 1}),
               Layer("ReLU", "relu", ["input0"], ["output0"])]).save(str(tmp_path / "m.param"),
                                                                     str(tmp_path / "m.bin"))
    np.save(str(tmp_path / "x.npy"), np.array([[[-1.0, 2.0, -3.0, 4.0]]], np.float32))
    prelude = "import sys\nfor n in %r: sys.modules[n] = None\nfrom maixnn.cli import main\n" % (BLOCKED,)
    for args, expect_code, expect_text in (
            (["info", str(tmp_path / "m.param")], 0, "Total params: 0"),
            (["run", str(tmp_path / "m"), str(tmp_path / "x.npy"), "--top-k", "2"], 0, "1.     3  4.000000"),
            (["convert", "a.onnx", "b"], 2, "onnx")):
        code = prelude + "sys.exit(main(%r))\n" % (args,)
        proc = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=120)
        assert proc.returncode == expect_code and expect_text in proc.stdout, (args, proc.stdout)
        assert "Traceback" not in proc.stdout
