"""One reading of .param values in both languages: Python's Layer.int_param /
float_param / float_array against the C loader's own parser (csrc/paramdict.c,
driven by tests/c/dump_params.c) on every corpus file - good, bad and fuzzer
regressions - and on hand-made lines that exercise ncnn's typing rules (a
float token in an int slot is absent, ints convert to floats, an array takes
the type of its last element).  The zoo test runs the same check on every
model it converts (assert_params_read_alike)."""
from __future__ import annotations

import glob
import os
import struct
import subprocess
import tempfile
import threading

import pytest

from maixnn.errors import ModelFormatError
from maixnn.ncnn_model import NcnnModel

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_lock = threading.Lock()
_binary = []


def dump_params_binary() -> str:
    """tests/c/dump_params compiled once per session with the engine's parser."""
    with _lock:
        if not _binary:
            out = os.path.join(tempfile.mkdtemp(prefix="maixnn-dump-params-"), "dump_params")
            csrc = os.path.join(REPO, "csrc")
            subprocess.run(["cc", "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", "-D_POSIX_C_SOURCE=200809L",
                            "-I", csrc, "-I", os.path.join(csrc, "include"),
                            os.path.join(REPO, "tests", "c", "dump_params.c"),
                            os.path.join(csrc, "paramdict.c"), os.path.join(csrc, "error.c"), "-lm", "-o", out],
                           check=True)
            _binary.append(out)
        return _binary[0]


def c_params(param_path: str):
    """{layer index: {id: (int read, float read, [array floats])}} from the C parser,
    or None when the C parser refuses a line."""
    proc = subprocess.run([dump_params_binary(), param_path], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True)
    if proc.returncode == 1:
        return None
    assert proc.returncode == 0, proc.stderr
    layers, current = {}, None
    for line in proc.stdout.splitlines():
        parts = line.split()
        if parts[0] == "L":
            current = layers.setdefault(int(parts[1]), {})
        else:
            pid, ival, fval, n = int(parts[1]), int(parts[2]), float.fromhex(parts[3]), int(parts[4])
            current[pid] = (ival, fval, [float.fromhex(v) for v in parts[5:5 + n]])
    return layers


def _bits(v: float) -> bytes:
    return struct.pack("<f", v)


def assert_params_read_alike(param_path: str) -> int:
    """Python and C read every parameter of the file alike (bit for bit);
    both refuse the file or neither does.  Returns the values compared."""
    c = c_params(param_path)
    try:
        with open(param_path, "r", encoding="ascii") as f:
            model = NcnnModel.from_param_text(f.read(), param_path)
    except (ModelFormatError, UnicodeDecodeError):
        model = None
    if c is None or model is None:
        # a line the C parser refuses: Python must not read a value from it either
        assert model is None or c is not None, "C refuses %s, Python reads it" % param_path
        return 0
    compared = 0
    for index, layer in enumerate(model.layers):
        expected = c.get(index, {})
        assert sorted(expected) == sorted(layer.params), (param_path, layer.name, expected, layer.params)
        for pid, (ival, fval, array) in expected.items():
            where = "%s layer %s param %d" % (param_path, layer.name, pid)
            assert layer.int_param(pid, -777) == ival, where
            assert _bits(layer.float_param(pid, -777.0)) == _bits(fval), where
            got = layer.float_array(pid)
            assert [_bits(v) for v in (got or [])] == [_bits(v) for v in array], where
            compared += 1
    return compared


def test_corpus_files_read_alike():
    files = sorted(glob.glob(os.path.join(REPO, "tests", "corpus", "**", "*.param"), recursive=True))
    assert len(files) > 40
    compared = sum(assert_params_read_alike(p) for p in files)
    assert compared > 200


@pytest.mark.parametrize("params", [
    "0=3 1=3.0 2=-2 11=1e-3 5=1",                  # float token in an int slot: absent for ints
    "0=7 -23301=3,1,2,3 -23302=2,1.5,-0.25",       # int array converts, float array as is
    "-23310=2,1,2.0",                              # mixed: the int keeps its raw bits (1.4e-45)
    "-23310=2,1.5,3",                              # last element int: every element converted
    "9=2 -23310=1,0.1 18=-0.0 3=2147483647",
])
def test_typing_rules_read_alike(tmp_path, params):
    path = str(tmp_path / "m.param")
    with open(path, "w") as f:
        f.write("7767517\n2 2\nInput in 0 1 data 0=4 1=4 2=3\nNoop n 1 1 data out %s\n" % params)
    assert assert_params_read_alike(path) > 0


def test_mixed_array_reads_raw_bits_in_python_too(tmp_path):
    model = NcnnModel.from_param_text("7767517\n1 1\nInput in 0 1 data -23310=2,1,2.0\n", "m")
    values = model.layers[0].float_array(10)
    assert _bits(values[0]) == struct.pack("<i", 1) and values[1] == 2.0
    assert model.layers[0].int_param(10, 5) == 5 and model.layers[0].float_param(10, 0.5) == 0.5
