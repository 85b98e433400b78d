"""The V831 placement report: NPU or CPU per layer with the reason
(awnn-format.md section 6), MACs, the flags for what the board's runtime
refuses (13.3/13.6), on hand-built models; and `maixnn info` on awnn files."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import maixnn
from maixnn.awnn.placement import (NPU_HZ, NPU_MACS_PER_CYCLE, placement_report, report_awnn_model)
from maixnn.ncnn_model import Layer, NcnnModel, Weight

from awnn_helpers import conv, full_table, inp, save


def _rows(layers):
    rep = placement_report(NcnnModel(layers))
    return {r.name: r for r in rep.rows}, rep


def _pool(name, bottom, top, params):
    return Layer("Pooling", name, [bottom], [top], params)


def test_rules_of_section_6():
    dw = Layer("ConvolutionDepthWise", "dw", ["x"], ["d"], {0: 8, 1: 3, 4: 1, 6: 72, 7: 8},
               [Weight("weight", np.ones(72), "tagged")])
    layers = [inp(16, 16, 3), conv("c", "data", "x", 3, 8), Layer("Split", "sp", ["x"], ["x1", "x2", "x3", "x4"]),
              dw,
              _pool("avgpad", "x1", "p1", {0: 1, 1: 3, 2: 1, 3: 1}),
              _pool("big", "x2", "p2", {0: 0, 1: 9, 2: 1}),
              _pool("max", "x3", "p3", {0: 0, 1: 2, 2: 2}),
              Layer("Concat", "cat1", ["d", "p1"], ["k1"], {0: 1}),
              Layer("Concat", "cat0", ["d", "p1"], ["k0"], {0: 0}),
              Layer("Interp", "up", ["x4"], ["u"], {0: 1, 1: 2.0, 2: 2.0})]
    rows, _ = _rows(layers)
    assert rows["in"].device == "CPU"
    assert rows["c"].device == "NPU" and rows["sp"].device == "NPU"
    assert rows["dw"].device == "CPU" and "depthwise" in rows["dw"].reason
    assert rows["avgpad"].device == "CPU" and "padding" in rows["avgpad"].reason
    assert rows["big"].device == "CPU" and "9x9 > 8" in rows["big"].reason
    assert rows["max"].device == "NPU"
    assert rows["cat1"].device == "CPU" and "axis" in rows["cat1"].reason
    assert rows["cat0"].device == "NPU"
    assert rows["up"].device == "CPU"


def test_converter_bugs_become_cpu_layers_with_a_reason():
    layers = [inp(16, 16, 3), conv("c", "data", "x", 3, 8), Layer("Split", "sp", ["x"], ["a", "b", "c3", "d"]),
              Layer("Eltwise", "e3", ["a", "b", "c3"], ["s3"], {0: 1}),
              Layer("Eltwise", "emax", ["s3", "d"], ["m"], {0: 2}),
              _pool("gap", "m", "g", {0: 1, 4: 1}),
              _pool("pm1", "m", "q", {0: 0, 1: 3, 2: 2, 5: 1}),      # 16 - 3 = 13: a tail pad_mode 0 would fill
              _pool("pm1ok", "m", "q2", {0: 0, 1: 3, 2: 2, 3: 1, 5: 1})]  # 16 + 2 - 3 = 15: drop 1 right/bottom
    rows, rep = _rows(layers)
    assert rows["pm1ok"].device == "NPU"
    assert rows["e3_part1"].device == rows["e3"].device == "NPU" and "split into a chain" in rows["e3"].fixes[0]
    assert rows["emax"].device == "CPU" and "MAX" in rows["emax"].reason
    assert rows["gap"].device == "CPU" and "16x16 > 8" in rows["gap"].reason and rows["gap"].fixes
    assert rows["pm1"].device == "CPU" and "pad_mode 1" in rows["pm1"].reason
    small = [inp(8, 8, 3), conv("c", "data", "x", 3, 8), _pool("gap", "x", "g", {0: 1, 4: 1})]
    assert _rows(small)[0]["gap"].device == "NPU"


def test_flags():
    rows, _ = _rows([inp(7, 7, 4), conv("c", "data", "x", 4, 8)])
    flags = " ".join(rows["in"].flags)
    assert "w*c = 7*4 is not a multiple of 8" in flags and "4 channels" in flags
    rows, _ = _rows([inp(8, 8, 3), conv("c", "data", "x", 3, 8)])
    assert rows["in"].flags == []
    # average pooling whose last window runs past the edge (pad_mode 0 tail)
    rows, _ = _rows([inp(8, 8, 3), conv("c", "data", "x", 3, 8), _pool("p", "x", "y", {0: 1, 1: 3, 2: 2})])
    assert rows["p"].device == "NPU" and any("past the edge" in f for f in rows["p"].flags)
    rows, _ = _rows([inp(8, 8, 3), conv("c", "data", "x", 3, 8), _pool("p", "x", "y", {0: 1, 1: 2, 2: 2})])
    assert rows["p"].flags == []


def test_macs_and_time_estimate():
    fc = Layer("InnerProduct", "fc", ["x"], ["y"], {0: 10, 1: 0, 2: 10 * 8 * 16 * 16},
               [Weight("weight", np.ones(10 * 8 * 16 * 16), "tagged")])
    dw = Layer("ConvolutionDepthWise", "dw", ["y0"], ["z"], {0: 8, 1: 3, 4: 1, 6: 72, 7: 8},
               [Weight("weight", np.ones(72), "tagged")])
    layers = [inp(16, 16, 3), conv("c", "data", "x0", 3, 8), Layer("Split", "s", ["x0"], ["x", "y0"]), fc, dw]
    rows, rep = _rows(layers)
    assert rows["c"].macs == 16 * 16 * 8 * 3 * 3 * 3
    assert rows["fc"].macs == 10 * 8 * 16 * 16
    assert rows["dw"].macs == 16 * 16 * 8 * 3 * 3
    est = rep.estimate
    npu = sum(r.macs for r in rep.rows if r.device == "NPU")
    assert est.npu_macs == npu and est.npu_ms == pytest.approx(1e3 * npu / (NPU_MACS_PER_CYCLE * NPU_HZ))
    assert est.cpu_ms > 0 and est.boundaries == 2   # data -> conv, split -> dw
    text = rep.text()
    assert "64 int8 MAC/cycle at 400 MHz" in text and "Cortex-A7" in text and "GMAC/s" in text


def _awnn(tmp_path, layers, override=None):
    base = save(tmp_path, layers)
    maixnn.to_awnn(base, full_table(layers, override=override), str(tmp_path / "o"), mean=0, norm=1)
    return str(tmp_path / "o.param")


def test_awnn_file_report_follows_the_file_and_flags_refusals(tmp_path):
    layers = [inp(16, 16, 3), conv("c", "data", "x", 3, 8), Layer("ReLU", "r", ["x"], ["y"]),
              Layer("Split", "sp", ["y"], ["a", "b"]), Layer("Eltwise", "e", ["a", "b"], ["z"], {0: 1}),
              _pool("gap", "z", "g", {0: 1, 4: 1})]
    param = _awnn(tmp_path, layers)
    rep = placement_report(param)
    dev = {r.name: r.device for r in rep.rows}
    assert dev == {"in": "CPU", "c": "NPU", "r": "NPU", "sp": "NPU", "e": "NPU", "gap": "CPU"}
    assert all(not r.flags for r in rep.rows)
    # a file that asks for what the runtime refuses (as the converter writes them)
    with open(param) as f:
        text = f.read()
    text = text.replace(" 0=1 20=1", " 0=2 20=1", 1)           # Eltwise SUM -> MAX, still NPU
    text = text.replace("0=1 4=1 -23328=1,0", "0=1 4=1 20=1 -23328=1,1")   # global 16x16 pooling on the NPU
    text = text.replace(" 22=15 23=1", " 22=70 23=1")         # ReLU shift outside 6 bits
    model = NcnnModel.from_param_text(text)
    rows = {r.name: r for r in report_awnn_model(model).rows}
    assert any("MAX" in f for f in rows["e"].flags)
    assert rows["gap"].device == "NPU" and any("16x16" in f for f in rows["gap"].flags)
    assert any("22=70" in f for f in rows["r"].flags)


def test_concat_over_8192_channels_is_flagged():
    layers = [inp(8, 8, 3), conv("c", "data", "x", 3, 4100), Layer("Split", "s", ["x"], ["a", "b"]),
              Layer("Concat", "cat", ["a", "b"], ["y"], {0: 0})]
    rows, _ = _rows(layers)
    assert any("8200 channels" in f for f in rows["cat"].flags)


def test_maixnn_info_on_an_awnn_model(tmp_path):
    layers = [inp(8, 8, 3), conv("c", "data", "x", 3, 8),
              Layer("ConvolutionDepthWise", "dw", ["x"], ["d"], {0: 8, 1: 3, 4: 1, 6: 72, 7: 8},
                    [Weight("weight", np.ones(72), "tagged")])]
    param = _awnn(tmp_path, layers)
    proc = subprocess.run([sys.executable, "-m", "maixnn", "info", param], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=120)
    assert proc.returncode == 0, proc.stdout
    lines = {ln.split()[0]: ln for ln in proc.stdout.splitlines() if ln.strip()}
    assert lines["c"].split()[2] == "NPU" and lines["dw"].split()[2] == "CPU"
    assert "depthwise" in lines["dw"]
