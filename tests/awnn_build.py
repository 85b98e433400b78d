"""Hand-built awnn models for the tests (test helper, not product code):

* AwnnFile: write an awnn .param/.bin from explicit layers, integer codes and
  params (awnn-format.md sections 4, 5), to reach every branch of the NPU
  emulation, including ones the converter never writes;
* branch_models(): the models tests/test_awnn_emulator.py runs;
* quantize_float_net(): a minimal test-only section-7 quantizer (Conv, ReLU,
  Pooling, InnerProduct) to check that the emulation means what the float
  model means.
"""
from __future__ import annotations

import math
import struct
from typing import Dict, List, Optional, Sequence

import numpy as np

from awnn_helpers import vectors_dir
from awnn_reference import TAG_INT16, TAG_INT8, ipu_order


# the golden files' folder: one finder, shared with the writer's tests
awnn_vectors_dir = vectors_dir


class AwnnFile:
    def __init__(self):
        self.lines: List[str] = []
        self.bin = bytearray()
        self.blobs: List[str] = []

    def _block(self, kind: str, values) -> None:
        if kind == "i8":
            raw = np.asarray(values, np.int8).tobytes()
            self.bin += struct.pack("<I", TAG_INT8) + raw + b"\0" * (-len(raw) % 4)
        elif kind == "i16":
            raw = np.asarray(values, "<i2").tobytes()
            self.bin += struct.pack("<I", TAG_INT16) + raw + b"\0" * (-len(raw) % 4)
        elif kind == "f32t":
            self.bin += struct.pack("<I", 0) + np.asarray(values, "<f4").tobytes()
        elif kind == "f32":
            self.bin += np.asarray(values, "<f4").tobytes()
        else:
            raise ValueError(kind)

    def layer(self, type_: str, name: str, bottoms: Sequence[str], tops: Sequence[str], params: str = "",
              device: int = 1, scales: Sequence[float] = (), blocks=()) -> "AwnnFile":
        for t in tops:
            if t not in self.blobs:
                self.blobs.append(t)
        scales = list(scales) or [64.0] * len(tops)
        line = "%-24s %-24s %d %d %s" % (type_, name, len(bottoms), len(tops), " ".join(list(bottoms) + list(tops)))
        if params:
            line += " " + params
        line += " -23328=1,%d -23329=%d,%s" % (device, len(tops), ",".join("%f" % s for s in scales))
        self.lines.append(line)
        for kind, values in blocks:
            self._block(kind, values)
        return self

    def text(self) -> str:
        return "7767517\n%d %d\n%s\n" % (len(self.lines), len(self.blobs), "\n".join(self.lines))

    def data(self) -> bytes:
        return bytes(self.bin)

    def save(self, base: str) -> None:
        with open(base + ".param", "w") as f:
            f.write(self.text())
        with open(base + ".bin", "wb") as f:
            f.write(self.data())


def ipu(q: np.ndarray, first: bool = False, shape=None) -> np.ndarray:
    """ncnn-order int8 weights (n, ic, kh, kw) -> the NPU's order (section 8)."""
    n, ic, kh, kw = q.shape if shape is None else shape
    return q.reshape(-1)[ipu_order(kh, kw, ic, n, first)]


def _conv_blocks(rs, n, ic, kh, kw, bias=True, mult=True, first=False, fc_shape=None):
    w = rs.randint(-127, 128, size=(n, ic, kh, kw)).astype(np.int8)
    blocks = [("i8", ipu(w, first, fc_shape))]
    if bias:
        b = rs.randint(-32768, 32768, size=n)
        b[:2] = [-32768, 32767]            # the int16 limits
        blocks.append(("i16", b))
    if mult:
        m = rs.randint(1, 32768, size=n)
        m[0] = 1024
        blocks.append(("i16", m))
    return blocks


def branch_models() -> Dict[str, AwnnFile]:
    """Small awnn models that together reach every branch of 13.4."""
    rs = np.random.RandomState(10)
    models = {}

    # first-layer conv (19=1), bias overflow 26/27, per-channel multipliers, ReLU, conv with
    # padding/stride/dilation and no bias, leaky ReLU, avg pool 2x2, BN, FC after a conv
    # (kh x kw layout), 20=0 on a conv
    f = AwnnFile()
    f.layer("Input", "in", [], ["data"], "0=8 1=9 2=8", device=0, scales=[40.0])
    f.layer("Convolution", "c1", ["data"], ["c1"], "0=12 1=3 5=1 6=864 19=1 20=1 21=20001 22=24 24=2 25=1 26=21035 27=11",
            blocks=_conv_blocks(rs, 12, 8, 3, 3, first=True))
    f.layer("ReLU", "r1", ["c1"], ["r1"], "20=1 21=27764 22=14 23=1")
    f.layer("Convolution", "c2", ["r1"], ["c2"], "0=16 1=3 2=2 3=2 4=2 14=1 15=2 16=1 6=1728 20=1 21=30000 22=21 25=1",
            blocks=_conv_blocks(rs, 16, 12, 3, 3, bias=False))
    f.layer("PReLU", "leaky", ["c2"], ["l2"], "20=1 21=29162 22=14 23=2", blocks=[("i16", [10])])
    f.layer("Pooling", "avg2", ["l2"], ["p2"], "0=1 1=2 2=2 20=1 21=20115 22=14")
    f.layer("Convolution", "c3", ["p2"], ["c3"], "0=9 1=1 5=1 6=144 20=0 24=2 25=1",
            blocks=_conv_blocks(rs, 9, 16, 1, 1))
    f.layer("BatchNorm", "bn", ["c3"], ["bn"], "0=9 20=1 21=27055 22=9",
            blocks=[("i16", np.stack([rs.randint(-32768, 32768, 9), rs.randint(-32768, 32768, 9)], 1).reshape(-1))])
    # FC after a (c,h,w) blob: conv-style layout with a kh x kw = h x w kernel (section 7.3)
    f.layer("InnerProduct", "fc", ["bn"], ["fc"], "0=11 1=1 2=%d 20=1 21=15000 22=22 24=2 25=1 26=28293 27=6" % (11 * 9 * 2 * 2),
            blocks=_conv_blocks(rs, 11, 9, 2, 2))
    models["conv_chain"] = f

    # Split + inserted Quantize, Eltwise SUM with p16 = 0 and 1, PROD, Concat, avg pool 3x3
    # and 2x2 stride 1 (tail), max pool with padding, global average (over 8) and max, FC after it
    f = AwnnFile()
    f.layer("Input", "in", [], ["data"], "0=7 1=7 2=8", device=0, scales=[50.0])
    f.layer("Split", "sp", ["data"], ["a_cvt", "b"], scales=[30.0, 50.0])
    f.layer("Quantize", "sp_cvt", ["a_cvt"], ["a"], "0=30.000000 20=1 21=19660 22=15", scales=[30.0])
    f.layer("Convolution", "ca", ["a"], ["ca"], "0=8 1=3 4=1 5=1 6=576 20=1 21=25168 22=20 24=2 25=1",
            blocks=_conv_blocks(rs, 8, 8, 3, 3))
    f.layer("Eltwise", "sum0", ["ca", "b"], ["e0"], "0=1 20=1 21=12703 22=15 17=19960 18=14")
    f.layer("Eltwise", "sum1", ["e0", "ca"], ["e1"], "0=1 20=1 21=325 22=10 17=27705 18=3 16=1")
    f.layer("Eltwise", "prod", ["e1", "b"], ["e2"], "0=0 20=1 21=30001 22=21 17=16623 18=14 16=1")
    f.layer("Concat", "cat", ["e2", "e0"], ["cat"])
    f.layer("Split", "sp2", ["cat"], ["s1", "s2", "s3", "s4"])
    f.layer("Pooling", "avg3", ["s1"], ["p3"], "0=1 1=3 20=1 21=17587 22=14")
    f.layer("Pooling", "avg2t", ["s2"], ["p4"], "0=1 1=2 2=2 20=1 21=31000 22=15")
    f.layer("Pooling", "maxp", ["s3"], ["p5"], "1=3 2=2 3=1 20=1 21=32767 22=15")
    f.layer("Pooling", "gmax", ["s4"], ["g1"], "4=1 20=1 21=22308 22=15")
    f.layer("Pooling", "gavg", ["p3"], ["g2"], "0=1 4=1 20=1 21=16581 22=13")
    f.layer("InnerProduct", "fc1", ["g2"], ["fc1"], "0=10 2=160 20=1 21=353 22=15 25=1",
            blocks=_conv_blocks(rs, 10, 16, 1, 1, bias=False))
    f.layer("Pooling", "gavg2", ["p4"], ["g3"], "0=1 4=1 20=1 21=9000 22=14")
    f.layer("Pooling", "gavg3", ["p5"], ["g4"], "0=1 4=1 20=1 21=9000 22=14")
    f.layer("Eltwise", "sum2", ["g3", "g4"], ["e3"], "0=1 20=1 21=22000 22=15 17=32767 18=15")
    f.layer("Concat", "out", ["fc1", "e3", "g1"], ["out"])
    models["eltwise_pool"] = f

    # CPU layers between NPU layers (both boundaries), per-channel PReLU, Concat of an NPU
    # blob and a quantized CPU blob, FC as the first layer on a 1-D input
    f = AwnnFile()
    f.layer("Input", "in", [], ["data"], "0=6 1=5 2=4", device=0, scales=[25.0])
    f.layer("Convolution", "c1", ["data"], ["c1"], "0=8 1=3 4=1 5=1 6=288 20=1 21=18000 22=18 24=2 25=1",
            blocks=_conv_blocks(rs, 8, 4, 3, 3))
    f.layer("Sigmoid", "sig", ["c1"], ["sig"], device=0, scales=[120.0])
    f.layer("ConvolutionDepthWise", "dw", ["sig"], ["dw"], "0=8 1=3 4=1 5=1 6=72 7=8", device=0, scales=[60.0],
            blocks=[("f32t", rs.randn(72).astype(np.float32) * 0.5), ("f32", rs.randn(8).astype(np.float32))])
    f.layer("PReLU", "pr", ["dw"], ["pr"], "0=8 20=1 21=31000 22=15 23=2",
            blocks=[("i16", [32767, -32768, 0, 4, 10, -300, 1024, 2048])])
    f.layer("Concat", "cat", ["pr", "sig"], ["cat"], scales=[60.0])
    f.layer("Convolution", "c2", ["cat"], ["c2"], "0=4 1=1 6=64 20=1 21=21000 22=16 25=1",
            blocks=_conv_blocks(rs, 4, 16, 1, 1, bias=False))
    f.layer("TanH", "th", ["c2"], ["th"], device=0, scales=[100.0])
    models["cpu_between"] = f

    f = AwnnFile()
    f.layer("Input", "in", [], ["data"], "0=40", device=0, scales=[12.0])
    f.layer("InnerProduct", "fc1", ["data"], ["fc1"], "0=20 1=1 2=800 19=1 20=1 21=17000 22=19 24=2 25=1",
            blocks=_conv_blocks(rs, 20, 40, 1, 1, first=True))
    f.layer("ReLU", "r", ["fc1"], ["r"], "20=1 21=32767 22=15 23=1")
    f.layer("InnerProduct", "fc2", ["r"], ["fc2"], "0=5 2=100 20=1 21=9000 22=15",
            blocks=_conv_blocks(rs, 5, 20, 1, 1, bias=False, mult=False))
    f.layer("Softmax", "sm", ["fc2"], ["prob"], device=0, scales=[127.0])
    models["fc_first_1d"] = f

    f = AwnnFile()
    f.layer("Input", "in", [], ["data"], "0=4 1=3 2=6", device=0, scales=[9.0])
    f.layer("InnerProduct", "fc1", ["data"], ["fc1"], "0=9 1=1 2=648 19=1 20=1 21=17000 22=20 24=2 25=1",
            blocks=_conv_blocks(rs, 9, 6, 3, 4, first=True))
    models["fc_first_3d"] = f
    return models


# ---------------------------------------------------------------- a minimal section-7 quantizer

def _q(x, s, lo, hi):
    v = np.asarray(x, np.float32) * np.float32(s)
    v64 = v.astype(np.float64)
    return np.clip(np.copysign(np.floor(np.abs(v64) + 0.5), v64), lo, hi).astype(np.int64)


def req(r: float):
    """Section 3's REQ(r): (m, e) with m / 2^e ~ r."""
    r = float(np.float32(r))
    if r > 1.0:
        e = int(math.log2(32767.0 / r))
        return int(np.floor(2.0 ** e * r + 0.5)), e
    return int(np.floor(r * 32767.0 + 0.5)), 15


def conv_like(f: AwnnFile, type_: str, name: str, bottom: str, top: str, w: np.ndarray, bias: Optional[np.ndarray],
              s_in: float, s_out: float, geometry: str, layout_shape, first: bool = False) -> None:
    """Section 7.2/7.3 for a float layer: w (n, ic, kh, kw) float32, layout_shape (n, ic, kh, kw) of the IPU order."""
    n = w.shape[0]
    ws = (127.0 / np.maximum(np.abs(w.reshape(n, -1)).max(axis=1), 1e-12)).astype(np.float32)
    wmin = np.float32(ws.min())
    s_bias_in = np.float32(wmin * np.float32(s_in))
    qw = np.concatenate([_q(w[o], ws[o], -127, 127).reshape(-1) for o in range(n)]).astype(np.int8)
    params = geometry
    blocks = [("i8", ipu(qw.reshape(layout_shape), first))]
    bias_id = "5" if type_ == "Convolution" else "1"
    extra = ""
    if bias is not None:
        maxabs = float(np.abs(s_bias_in * bias.astype(np.float32)).max())
        s_b = s_bias_in
        if maxabs > 32767:
            r = np.float32(maxabs / 32767)
            p27 = int(math.log2(32767 / r))
            p26 = int(np.floor(2.0 ** p27 * r + 0.5))
            s_b = np.float32(s_bias_in * 32767) / np.float32(maxabs)
            extra = " 26=%d 27=%d" % (p26, p27)
        blocks.append(("i16", _q(bias, s_b, -32768, 32767)))
        params += " %s=1" % bias_id
    blocks.append(("i16", _q(wmin / ws, 1024.0, -32768, 32767)))
    m, e = req(np.float32(s_out) / s_bias_in)
    params += " %s=%d 19=%d 20=1 21=%d 22=%d%s 25=1%s" % ("6" if type_ == "Convolution" else "2", w.size, int(first), m, e,
                                                        " 24=2" if bias is not None else "", extra)
    f.layer(type_, name, [bottom], [top], params, scales=[s_out], blocks=blocks)
