"""`maixnn bench --quick` (what CI runs): the whole bench on narrow 32x32 nets
makes its table - every engine that is installed gives a time, the ratio is
maixnn / ncnn, the peak heap is the engine's.  Speed itself is never asserted
(benchmarks measure it; CI machines vary)."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

pytest.importorskip("torch")
pytest.importorskip("onnx")


def test_quick_bench_makes_the_table():
    proc = subprocess.run([sys.executable, "-m", "maixnn", "bench", "--quick", "--nets", "ResNet18,DepthwiseNet",
                           "--threads", "1,2"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("maixnn bench on ") and "kernels " in lines[0]
    assert lines[1].split() == ["net", "size", "dtype", "thr", "maixnn", "ms", "ncnn", "ms", "ort", "ms",
                                "maixnn/ncnn", "peak", "MB", "weights", "MB"]
    rows = [line.split() for line in lines[2:]]
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (net, "32", dtype, thr) for net in ("ResNet18", "DepthwiseNet") for dtype in ("float32", "int8")
        for thr in ("1", "2")]
    have_ncnn = have_ort = True
    try:
        import ncnn  # noqa: F401
    except ImportError:
        have_ncnn = False
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        have_ort = False
    for net, size, dtype, thr, ours, theirs, ort, ratio, peak, weights in rows:
        assert float(ours) >= 0.0 and float(peak) >= 0.0 and re.match(r"^\d+\.\d\d$", peak)
        assert float(weights) > 0.0 and re.match(r"^\d+\.\d\d$", weights)
        # times print with 0.1 ms resolution, so the ratio is only checked for its form
        assert re.match(r"^\d+\.\d\d$", ratio) if have_ncnn else ratio == "-"
        assert (ort != "-") == (have_ort and dtype == "float32")


def test_bench_options_are_checked():
    proc = subprocess.run([sys.executable, "-m", "maixnn", "bench", "--quick", "--nets", "VGG"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=120)
    assert proc.returncode == 2 and "--nets: unknown VGG" in proc.stderr
