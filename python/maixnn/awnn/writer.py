"""Write the V831's own "awnn" int8 model (awnn-format.md sections 4-11).

``to_awnn(float_base, table, out_base)`` reads a float ncnn model and a table
in the converter's format, applies the converter's graph rewrites (optimize.py)
and writes OUT.param / OUT.bin / OUT.mud atomically.  On models outside the
converter's bug list the files are byte-identical to what Sipeed's converter
writes (canonical form of section 9: a default that is uninitialised memory
in the converter counts as 0).  Where the converter is wrong, maixnn does the
right thing and the report says so (placement.py, optimize.py).

One small handler per layer type (HANDLERS) turns a layer of the optimized
graph into its awnn lines and .bin blocks.
"""
from __future__ import annotations

import argparse
import json
import os
import struct
import warnings
from collections import OrderedDict
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from ..errors import ModelFormatError, OptionError, UnsupportedOperatorError, path_argument
from ..ncnn_model import Layer, NcnnModel, atomic_write_many
from .layout import ipu_layout
from .numerics import F32, cvtt, e_round_trip, fmt_f, fmt_f_exact, log2f, q8, q16, req, roundf
from .optimize import Optimized, Shape, bn_ab, optimize
from .params import conv_window, pfloat, pint, pool_window
from .params import pint as _i
from .placement import (Estimate, Placement, Row, estimate, format_rows, layer_macs,
                        place)
from .table import AwnnTable, load_table, parse_table

TAG_INT8 = 0x000D4B38
TAG_INT16 = 0x000D4438
TAG_FLOAT32 = 0x00000000
FLT_MAX = float(np.finfo(np.float32).max)

DEFAULT_MEAN = 127.5
DEFAULT_NORM = 0.0078125


class AwnnError(ModelFormatError):
    """The model/table pair cannot be written as a correct awnn model."""


# ------------------------------------------------------------------ output form

class AwnnLayer:
    """One line of the awnn .param and its .bin blocks."""

    def __init__(self, type: str, name: str, bottoms: Sequence[str], tops: Sequence[str]):
        self.type = type
        self.name = name
        self.bottoms = list(bottoms)
        self.tops = list(tops)
        self.params: List[Tuple[int, str]] = []
        self.blocks: List[bytes] = []
        self.device = 0
        self.top_scales: List[np.float32] = []

    # params are printed in the order added, only when they differ from the default
    def int(self, pid: int, value: int, default: Optional[int] = 0) -> None:
        if default is None or int(value) != default:
            self.params.append((pid, "%d" % int(value)))

    def ints(self, l: Layer, spec) -> None:
        """Copy int params of `l`: spec is [(pid, default)], printed in that order."""
        for pid, default in spec:
            self.int(pid, pint(l, pid, default), default)

    def flt(self, pid: int, value, default: Optional[float] = 0.0, exact: bool = True) -> None:
        # the value went through the converter's %e round trip: so does the default
        if default is None or F32(value) != e_round_trip(default):
            self.params.append((pid, fmt_f_exact(value) if exact else fmt_f(value)))

    def arr(self, pid: int, values) -> None:
        if values:
            self.params.append((-23300 - pid, "%d%s" % (len(values), "".join("," + fmt_f_exact(v)
                                                                               for v in values))))

    def line(self) -> str:
        parts = ["%-24s %-24s %d %d" % (self.type, self.name, len(self.bottoms), len(self.tops))]
        parts += self.bottoms + self.tops
        parts += ["%d=%s" % p for p in self.params]
        parts.append("-23328=1,%d" % self.device)
        parts.append("-23329=%d%s" % (len(self.top_scales), "".join("," + fmt_f(s) for s in self.top_scales)))
        return " ".join(parts)


def tagged(tag: int, data: bytes) -> bytes:
    out = struct.pack("<I", tag) + data
    return out + b"\0" * (-len(out) % 4)


def block_int8(a) -> bytes:
    return tagged(TAG_INT8, np.asarray(a, np.int8).tobytes())


def block_int16(a) -> bytes:
    return tagged(TAG_INT16, np.asarray(a, np.int16).astype("<i2").tobytes())


def block_f32(a) -> bytes:
    return tagged(TAG_FLOAT32, np.asarray(a, np.float32).astype("<f4").tobytes())


def raw_f32(a) -> bytes:
    return np.asarray(a, np.float32).astype("<f4").tobytes()


def float_blocks(a: "AwnnLayer", l: Layer, first: str, tagged_first: bool, bias_pid: int) -> None:
    """The float (CPU) form's .bin data: `first` array (tag 0 block or raw),
    then the raw bias when param `bias_pid` is set - as in ncnn."""
    data = _w(l, first)
    a.blocks.append(block_f32(data) if tagged_first else raw_f32(data))
    if pint(l, bias_pid):
        a.blocks.append(raw_f32(_w(l, "bias")))


# ------------------------------------------------------------------ context

class Context:
    def __init__(self, opt: Optimized, table: AwnnTable):
        self.model = opt.model
        self.shapes = opt.shapes
        self.table = table
        self.producer_index: Dict[str, int] = {}
        for i, l in enumerate(self.model.layers):
            for t in l.tops:
                self.producer_index[t] = i

    def S(self, blob: str, layer: Layer) -> np.float32:
        return self.table.blob(blob, layer.name)

    def req(self, r, layer: Layer, what: str) -> Tuple[int, int]:
        """REQ with the 6-bit shift field checked (r > 32767 gives a negative
        shift the NPU cannot hold: refused)."""
        m, e = req(r)
        if not 0 <= e <= 63 or not -32768 <= m <= 32767:
            raise AwnnError("layer %s (%s): requantize ratio %s = %r gives multiplier %d, shift %d; the NPU's "
                            "shift field holds 0..63 (ratio above 32767): check the table's scales for this "
                            "layer" % (layer.name, layer.type, what, float(F32(r)), m, e))
        return m, e


def _f(l: Layer, pid: int, default: float = 0.0) -> float:
    return float(pfloat(l, pid, default))


def _w(l: Layer, name: str) -> np.ndarray:
    w = l.weight(name)
    if w is None:
        raise ModelFormatError("layer %s (%s): weight array '%s' missing (model loaded without its .bin?)"
                               % (l.name, l.type, name))
    return w.data.astype(np.float32)


def _new(l: Layer, ctx: Context, pl: Placement, type_: Optional[str] = None) -> AwnnLayer:
    a = AwnnLayer(type_ or l.type, l.name, l.bottoms, l.tops)
    a.device = 1 if pl.npu else 0
    a.top_scales = [ctx.S(t, l) for t in l.tops]
    return a


# ------------------------------------------------------------------ handlers

def _print_window(a: AwnnLayer, l: Layer, g, ids) -> None:
    """Kernel/dilation/stride/pad params in the converter's order: each is
    printed when it differs from its default or from the value it defaults to
    (kernel_h from kernel_w, ...).  ids: (kw, kh, dw, dh, sw, sh, pl, pt, pr, pb)
    param ids, None for absent ones."""
    kw, kh, dw, dh, sw, sh, pl, pt, pr, pb = ids
    a.int(0, pint(l, 0))   # num_output or pooling type
    for pid, value, ref in ((kw, g.kw, 0), (kh, g.kh, g.kw), (dw, g.dw, 1), (dh, g.dh, g.dw), (sw, g.sw, 1),
                            (sh, g.sh, g.sw), (pl, g.pl, 0), (pt, g.pt, g.pl), (pr, g.pr, g.pl),
                            (pb, g.pb, g.pt)):
        if pid is not None:
            a.int(pid, value, ref)


CONV_IDS = (1, 11, 2, 12, 3, 13, 4, 14, 15, 16)
POOL_IDS = (1, 11, None, None, 2, 12, 3, 13, 14, 15)


def _npu_weights_tail(a: AwnnLayer, l: Layer, ctx: Context, n: int, kh: int, kw: int, ic: int,
                      first: bool, bias_term: int) -> None:
    """Params 19-27 and the three .bin blocks of an NPU Convolution/InnerProduct
    (section 7.2)."""
    ws = ctx.table.weights(l.name, n)
    s_in = ctx.S(l.bottoms[0], l)
    out = ctx.S(l.tops[0], l)
    wmin = ws[0]
    for v in ws[1:]:
        if v < wmin:
            wmin = v
    wmin = F32(wmin)
    s_w_in = F32(wmin * s_in)
    weights = _w(l, "weight").reshape(n, -1)
    q = np.empty(weights.shape, np.int8)
    for o in range(n):
        q[o] = q8(weights[o], ws[o])
    p26, p27 = 1, 0
    s_b = s_w_in
    bias_q = None
    if bias_term:
        bias = _w(l, "bias")
        maxabs = F32(np.max(np.abs((s_w_in * bias).astype(np.float32)))) if bias.size else F32(0)
        if maxabs > F32(32767.0):
            r = F32(maxabs / F32(32767.0))
            p27 = int(cvtt(log2f(F32(32767.0) / r)))
            if not 0 <= p27 <= 63:
                raise AwnnError("layer %s (%s): the bias needs a rescale by %r (largest |bias| %r at scale "
                                "wmin*in): beyond the NPU's 6-bit shift field; check the table's scales"
                                % (l.name, l.type, float(r), float(maxabs)))
            p26 = int(cvtt(roundf(F32(2.0 ** p27) * r)))
            s_b = F32(F32(s_w_in * F32(32767.0)) / maxabs)
        bias_q = q16(bias, s_b)
    m, e = ctx.req(F32(out / s_w_in), l, "out/(wmin*in)")
    a.int(19, 1 if first else 0)
    a.int(20, 1)
    a.int(21, m, 1)
    a.int(22, e)
    a.int(24, 2 if bias_term else 0)
    a.int(25, 1)
    a.int(26, p26, 1)
    a.int(27, p27)
    a.blocks.append(block_int8(ipu_layout(q, kh, kw, ic, n, first)))
    if bias_term:
        a.blocks.append(block_int16(bias_q))
    mult = np.array([q16(F32(wmin / w), 1024.0) for w in ws], np.int16)
    a.blocks.append(block_int16(mult))


def _first_input_layer(ctx: Context, l: Layer) -> bool:
    return ctx.producer_index.get(l.bottoms[0]) == 0


def h_convolution(ctx: Context, l: Layer, pl: Placement) -> List[AwnnLayer]:
    a = _new(l, ctx, pl)
    g = conv_window(l)
    _print_window(a, l, g, CONV_IDS)
    kw, kh = g.kw, g.kh
    n = _i(l, 0)
    bias_term = _i(l, 5)
    wsize = _i(l, 6)
    a.int(5, bias_term)
    a.int(6, wsize)
    dims, w, h, c = ctx.shapes[l.bottoms[0]]
    if pl.npu:
        if wsize != n * kw * kh * c:
            raise AwnnError("layer %s (Convolution): weight_data_size 6=%d is not num_output*kernel_w*kernel_h*"
                            "channels = %d*%d*%d*%d" % (l.name, wsize, n, kw, kh, c))
        first = g.pad_sum == 0 and _first_input_layer(ctx, l) and (w * c) % 8 == 0
        _npu_weights_tail(a, l, ctx, n, kh, kw, c, first, bias_term)
    else:
        a.flt(18, _f(l, 18, 0.0))
        float_blocks(a, l, "weight", True, 5)
    return [a]


def h_convolutiondepthwise(ctx: Context, l: Layer, pl: Placement) -> List[AwnnLayer]:
    a = _new(l, ctx, pl)
    _print_window(a, l, conv_window(l), CONV_IDS)
    a.ints(l, ((5, 0), (6, 0), (7, 1), (8, 0), (9, 0)))
    ap = l.params.get(10, [])
    a.arr(10, ap if isinstance(ap, list) else [ap])
    a.flt(18, _f(l, 18, 0.0))
    float_blocks(a, l, "weight", True, 5)
    return [a]


def h_innerproduct(ctx: Context, l: Layer, pl: Placement) -> List[AwnnLayer]:
    a = _new(l, ctx, pl)
    a.ints(l, ((0, 0), (1, 0), (2, 0)))
    n, bias_term, wsize = _i(l, 0), _i(l, 1), _i(l, 2)
    dims, w, h, c = ctx.shapes[l.bottoms[0]]
    if h == 1 and c == 1:
        kh, kw, ic = 1, 1, w
    else:
        kh, kw, ic = h, w, c
    if wsize != n * kh * kw * ic:
        raise AwnnError("layer %s (InnerProduct): weight_data_size 2=%d does not match num_output %d x input "
                        "%dx%dx%d" % (l.name, wsize, n, c, h, w))
    _npu_weights_tail(a, l, ctx, n, kh, kw, ic, _first_input_layer(ctx, l), bias_term)
    return [a]


def h_input(ctx: Context, l: Layer, pl: Placement) -> List[AwnnLayer]:
    a = _new(l, ctx, pl)
    a.ints(l, ((0, 0), (1, 0), (2, 0)))
    return [a]


def h_pooling(ctx: Context, l: Layer, pl: Placement) -> List[AwnnLayer]:
    a = _new(l, ctx, pl)
    _print_window(a, l, pool_window(l), POOL_IDS)
    a.ints(l, ((4, 0), (5, 0), (6, 0)))   # 6 count_include_pad: kept (the converter drops it)
    if pl.npu:
        m, e = ctx.req(F32(ctx.S(l.tops[0], l) / ctx.S(l.bottoms[0], l)), l, "out/in")
        a.int(20, 1)
        a.int(21, m, 1)
        a.int(22, e)
    return [a]


def _sdp_req(a: AwnnLayer, ctx: Context, l: Layer) -> None:
    m, e = ctx.req(F32(ctx.S(l.tops[0], l) / ctx.S(l.bottoms[0], l)), l, "out/in")
    a.int(20, 1)
    a.int(21, m)
    a.int(22, e)


def h_relu(ctx: Context, l: Layer, pl: Placement) -> List[AwnnLayer]:
    s = F32(_f(l, 0, 0.0))
    small = not (abs(float(s)) >= 1e-6)   # compared in double; NaN counts as small
    a = _new(l, ctx, pl, "ReLU" if small else "PReLU")
    _sdp_req(a, ctx, l)
    a.int(23, 1 if small else 2)
    if not small:
        a.blocks.append(block_int16(q16([s], 1024.0)))
    return [a]


def h_prelu(ctx: Context, l: Layer, pl: Placement) -> List[AwnnLayer]:
    a = _new(l, ctx, pl)
    a.int(0, _i(l, 0))
    _sdp_req(a, ctx, l)
    a.int(23, 2)
    a.blocks.append(block_int16(q16(_w(l, "slope"), 1024.0)))
    return [a]


def h_batchnorm(ctx: Context, l: Layer, pl: Placement) -> List[AwnnLayer]:
    a = _new(l, ctx, pl)
    a.int(0, _i(l, 0))
    a.flt(1, _f(l, 1, 0.0))
    _sdp_req(a, ctx, l)
    aa, bb = bn_ab(l)
    with np.errstate(all="ignore"):
        A = q16((aa / bb).astype(np.float32), ctx.S(l.bottoms[0], l))
    B = q16(bb, 128.0)
    inter = np.empty(2 * A.size, np.int16)
    inter[0::2] = A
    inter[1::2] = B
    a.blocks.append(block_int16(inter))
    return [a]


def h_eltwise(ctx: Context, l: Layer, pl: Placement) -> List[AwnnLayer]:
    a = _new(l, ctx, pl)
    op = _i(l, 0)
    a.int(0, op)
    coeffs = l.params.get(1, [])
    coeffs = coeffs if isinstance(coeffs, list) else [coeffs]
    if not pl.npu:
        a.arr(1, coeffs)
        return [a]
    out = ctx.S(l.tops[0], l)
    scales = [ctx.S(b, l) for b in l.bottoms]
    if op == 0:
        # PROD, maixnn's correct requantization (13.4): with 16=0 the main input
        # is bottom[1] and the operand bottom[0] scaled by 17/2^18 = 1/2^0, so
        # s = x1*x0 is at scale S0*S1 and the output needs out/(S0*S1).
        r = F32(out / F32(scales[0] * scales[1]))
        m, e = ctx.req(r, l, "out/(S0*S1)")
        if e == 15 and r > 0:
            # finer than REQ's fixed 2^15 for a small ratio: the shift field holds up to 63
            e = min(63, int(cvtt(log2f(F32(32767.0) / r))))
            m = int(cvtt(roundf(F32(2.0 ** e) * r)))
        a.int(20, 1)
        a.int(21, m)
        a.int(22, e)
        a.int(17, 1)
        a.int(18, 0, None)   # printed although 0: the runtime's Eltwise defaults are not documented
        a.int(16, 0)
        return [a]
    s = [F32(sc / F32(c)) if coeffs else sc for sc, c in zip(scales, coeffs or [1.0] * len(scales))]
    i_min = 0
    for i in range(1, len(s)):
        if s[i] < s[i_min]:
            i_min = i
    mn = s[i_min]
    mx = max(s)
    m17, e18 = ctx.req(F32(float(mx) / (float(mn) + 1e-8)), l, "max/min input scale")
    m, e = ctx.req(F32(out / mx), l, "out/max input scale")
    a.int(20, 1)
    a.int(21, m)
    a.int(22, e)
    a.int(17, m17)
    a.int(18, e18)
    a.int(16, i_min)
    return [a]


def h_split(ctx: Context, l: Layer, pl: Placement) -> List[AwnnLayer]:
    a = _new(l, ctx, pl)
    s_in = ctx.S(l.bottoms[0], l)
    extra = []
    taken = set(ctx.model.blob_names())
    for i, top in enumerate(l.tops):
        s = ctx.S(top, l)
        if s == s_in:
            continue
        cvt = top + "_cvt"
        if cvt in taken:
            raise AwnnError("layer %s (Split): the requantize blob name %s already exists in the model"
                            % (l.name, cvt))
        a.tops[i] = cvt
        q = AwnnLayer("Quantize", l.name + "_cvt", [cvt], [top])
        q.device = 1
        q.top_scales = [s]
        q.flt(0, s, 1.0, exact=False)
        m, e = ctx.req(F32(s / s_in), l, "S(%s)/S(%s)" % (top, l.bottoms[0]))
        q.int(20, 1)
        q.int(21, m)
        q.int(22, e)
        extra.append(q)
    return [a] + extra


def h_concat(ctx: Context, l: Layer, pl: Placement) -> List[AwnnLayer]:
    a = _new(l, ctx, pl)
    a.int(0, _i(l, 0))
    if pl.npu:
        out = ctx.S(l.tops[0], l)
        bad = [(b, float(ctx.S(b, l))) for b in l.bottoms if ctx.S(b, l) != out]
        if bad:
            raise AwnnError("layer %s (Concat on the NPU): the NPU copies bytes, so every input must have the "
                            "Concat's scale %r; these differ: %s (calibrate them to one scale)"
                            % (l.name, float(out), ", ".join("%s=%r" % x for x in bad)))
    return [a]


def h_interp(ctx: Context, l: Layer, pl: Placement) -> List[AwnnLayer]:
    a = _new(l, ctx, pl)
    a.int(0, _i(l, 0))
    a.flt(1, _f(l, 1, 1.0), 1.0)
    a.flt(2, _f(l, 2, 1.0), 1.0)
    a.ints(l, ((3, 0), (4, 0), (6, 0)))   # 6 align_corner: kept
    return [a]


def h_softmax(ctx: Context, l: Layer, pl: Placement) -> List[AwnnLayer]:
    a = _new(l, ctx, pl)
    axis = _i(l, 0)
    a.int(0, axis)
    if axis != 0:
        a.int(1, 1)
    return [a]


def h_clip(ctx: Context, l: Layer, pl: Placement) -> List[AwnnLayer]:
    a = _new(l, ctx, pl)
    a.flt(0, _f(l, 0, -FLT_MAX), -FLT_MAX)
    a.flt(1, _f(l, 1, FLT_MAX), FLT_MAX)
    return [a]


def h_padding(ctx: Context, l: Layer, pl: Placement) -> List[AwnnLayer]:
    a = _new(l, ctx, pl)
    a.ints(l, ((0, 0), (1, 0), (2, 0), (3, 0), (4, 0)))
    a.flt(5, _f(l, 5, 0.0))
    # per-channel pad values and front/behind: kept (the converter drops them)
    a.ints(l, ((6, 0), (7, 0), (8, 0)))
    if _i(l, 6):
        a.blocks.append(raw_f32(_w(l, "per_channel_pad")))
    return [a]


def h_reshape(ctx: Context, l: Layer, pl: Placement) -> List[AwnnLayer]:
    a = _new(l, ctx, pl)
    a.ints(l, ((0, -233), (1, -233), (2, -233), (3, 0)))
    return [a]


def h_binaryop(ctx: Context, l: Layer, pl: Placement) -> List[AwnnLayer]:
    a = _new(l, ctx, pl)
    a.ints(l, ((0, 0), (1, 0)))
    a.flt(2, _f(l, 2, 0.0))
    return [a]


def h_noparams(ctx: Context, l: Layer, pl: Placement) -> List[AwnnLayer]:
    return [_new(l, ctx, pl)]


def h_dropout(ctx: Context, l: Layer, pl: Placement) -> List[AwnnLayer]:
    a = _new(l, ctx, pl)
    a.flt(0, _f(l, 0, 1.0), 1.0)
    return [a]


def _h_alpha_beta(alpha: float, beta: float):
    def handler(ctx: Context, l: Layer, pl: Placement) -> List[AwnnLayer]:
        a = _new(l, ctx, pl)
        a.flt(0, _f(l, 0, alpha), alpha)   # kept (the converter drops them)
        a.flt(1, _f(l, 1, beta), beta)
        return [a]
    return handler


def h_scale(ctx: Context, l: Layer, pl: Placement) -> List[AwnnLayer]:
    a = _new(l, ctx, pl)
    n = _i(l, 0)
    if n == -233:
        raise UnsupportedOperatorError("layer %s (Scale): a two-input Scale has no awnn form" % l.name)
    a.ints(l, ((0, 0), (1, 0)))
    float_blocks(a, l, "scale", False, 1)
    return [a]


def h_bias(ctx: Context, l: Layer, pl: Placement) -> List[AwnnLayer]:
    a = _new(l, ctx, pl)
    a.int(0, _i(l, 0))
    a.blocks.append(raw_f32(_w(l, "bias")))
    return [a]


HANDLERS: Dict[str, Callable[[Context, Layer, Placement], List[AwnnLayer]]] = {
    "Input": h_input,
    "Convolution": h_convolution,
    "ConvolutionDepthWise": h_convolutiondepthwise,
    "InnerProduct": h_innerproduct,
    "Pooling": h_pooling,
    "ReLU": h_relu,
    "PReLU": h_prelu,
    "BatchNorm": h_batchnorm,
    "Eltwise": h_eltwise,
    "Split": h_split,
    "Concat": h_concat,
    "Interp": h_interp,
    "Softmax": h_softmax,
    "Clip": h_clip,
    "Padding": h_padding,
    "Reshape": h_reshape,
    "BinaryOp": h_binaryop,
    "Sigmoid": h_noparams,
    "TanH": h_noparams,
    "Flatten": h_noparams,
    "AbsVal": h_noparams,
    "Noop": h_noparams,
    "Dropout": h_dropout,
    "HardSwish": _h_alpha_beta(float(F32(1.0 / 6.0)), 0.5),
    "HardSigmoid": _h_alpha_beta(0.2, 0.5),
    "Scale": h_scale,
    "Bias": h_bias,
}


# ------------------------------------------------------------------ the model

class AwnnResult(NamedTuple):
    layers: List[AwnnLayer]
    rows: List[Row]
    estimate: Estimate
    notes: List[str]          # graph rewrites / converter differences, one line each
    shapes: Dict[str, Shape]  # (dims, w, h, c) of every blob of the optimized graph

    def param_text(self) -> str:
        blobs: Dict[str, None] = OrderedDict()
        for a in self.layers:
            for b in a.bottoms + a.tops:
                blobs.setdefault(b, None)
        return "\n".join(["7767517", "%d %d" % (len(self.layers), len(blobs))] +
                         [a.line() for a in self.layers]) + "\n"

    def bin_bytes(self) -> bytes:
        return b"".join(b for a in self.layers for b in a.blocks)


def build_awnn(model: NcnnModel, table: AwnnTable, converter_compat: bool = False) -> AwnnResult:
    """The awnn layers of a float model (not yet written anywhere)."""
    opt = optimize(model, fixes=not converter_compat)
    ctx = Context(opt, table)
    out: List[AwnnLayer] = []
    rows: List[Row] = []
    notes = ["%s: %s" % (r.layer, r.what) for r in opt.rewrites]
    row_layers: List[Layer] = []
    for l in opt.model.layers:
        handler = HANDLERS.get(l.type)
        if handler is None:
            raise UnsupportedOperatorError("layer %s: type %s has no awnn form in maixnn's writer" % (l.name, l.type))
        pl = place(opt.model, opt.shapes, l, converter_compat)
        written = handler(ctx, l, pl)
        out += written
        wtype = written[0].type
        rows.append(Row(l.name, wtype, "NPU" if pl.npu else "CPU", pl.reason, layer_macs(l, opt.shapes),
                        list(pl.flags), [r.what for r in opt.rewrites if r.layer == l.name] + list(pl.fixes)))
        notes += ["%s: %s" % (l.name, f) for f in pl.fixes]
        row_layers.append(l)
        for q in written[1:]:
            rows.append(Row(q.name, q.type, "NPU", "requantize a Split output to its own scale", 0, [], []))
            row_layers.append(Layer(q.type, q.name, q.bottoms, q.tops))
    est = estimate(rows, row_layers, opt.shapes)
    return AwnnResult(out, rows, est, notes, opt.shapes)


# ------------------------------------------------------------------ to_awnn

class AwnnReport:
    """What to_awnn wrote and decided."""

    def __init__(self, result: AwnnResult, param: str, bin_: str, mud: str, mean: float, norm: float,
                 warnings_: List[str]):
        self.layers = result.rows
        self.estimate = result.estimate
        self.notes = result.notes
        self.param, self.bin, self.mud = param, bin_, mud
        self.mean, self.norm = mean, norm
        self.warnings = warnings_

    def text(self) -> str:
        lines = [format_rows(self.layers, self.estimate)]
        if self.notes:
            lines.append("maixnn differs from Sipeed's converter here (correct model, documented):")
            lines += ["  " + n for n in self.notes]
        for w in self.warnings:
            lines.append("warning: " + w)
        lines.append("input mean %g, norm %g (one value for every channel, as the board applies it)"
                     % (self.mean, self.norm))
        lines += ["wrote %s" % p for p in (self.param, self.bin, self.mud)]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()


def _strip(base: str) -> str:
    for ext in (".param", ".bin", ".mud"):
        if base.endswith(ext):
            return base[:-len(ext)]
    return base


def _mean_norm_from_files(float_base: str) -> Optional[Tuple[float, float, str]]:
    mud = float_base + ".mud"
    if os.path.isfile(mud):
        import configparser
        p = configparser.ConfigParser(interpolation=None)
        p.optionxform = str
        try:
            p.read(mud)
            for _, text in p["inputs"].items():
                v = [float(x) for x in text.split(",") if x.strip()]
                if len(v) >= 5:
                    k = (len(v) - 3) // 2
                    return v[3], v[3 + k], mud
        except (configparser.Error, KeyError, ValueError) as e:
            raise ModelFormatError("%s: cannot read mean/norm: %s" % (mud, e)) from None
    js = float_base + ".json"
    if os.path.isfile(js):
        try:
            with open(js, "r", encoding="utf-8") as f:
                d = json.load(f)
            aw = d["preprocess"]["awnn"]
            return float(np.atleast_1d(aw["mean"])[0]), float(np.atleast_1d(aw["norm"])[0]), js
        except (OSError, ValueError, KeyError, TypeError):
            return None
    return None


def _one(v, what: str) -> float:
    vals = np.atleast_1d(np.asarray(v, dtype=np.float64)).reshape(-1)
    if vals.size == 0 or not np.all(np.isfinite(vals)):
        raise OptionError("%s must be a finite number, got %r" % (what, v))
    if np.any(vals != vals[0]):
        raise OptionError("%s %s: the V831 applies ONE %s to every channel; fold per-channel normalisation "
                          "into the model first (maixnn quantize --mean/--std)" % (what, vals.tolist(), what))
    return float(vals[0])


def _hwc(shape: Shape) -> Tuple[int, int, int]:
    dims, w, h, c = shape
    return (h, w, c) if dims == 3 else ((h, w, 1) if dims == 2 else (1, 1, w))


def to_awnn(float_base, table, out_base, mean=None, norm=None, converter_compat: bool = False) -> AwnnReport:
    """Write OUT_BASE.param/.bin (the V831's awnn int8 format) and OUT_BASE.mud
    from the float ncnn model FLOAT_BASE.param/.bin and a table in the
    converter's format (path, or (weight_scales, blob_scales) dicts).  All
    three files or none.  mean/norm: the board's input normalisation
    (u8 - mean) * norm, one value for all channels; default: from
    FLOAT_BASE.mud or .json, else 127.5 / 0.0078125 with a warning.
    converter_compat=True reproduces the converter's choices the board refuses
    (global pooling over 8x8 and pooling pad_mode 1/3 on the NPU, no Eltwise
    chains) - only to compare with the converter's files.
    Returns the per-layer report."""
    float_base = _strip(path_argument(float_base, "float_base"))
    out_base = _strip(path_argument(out_base, "out_base"))
    model = NcnnModel.load(float_base + ".param", float_base + ".bin")
    if isinstance(table, tuple) and len(table) == 2:
        from .table import table_text
        t = parse_table(table_text(table[0], table[1]), "<table>")
    elif isinstance(table, AwnnTable):
        t = table
    else:
        t = load_table(path_argument(table, "table"))
    warns: List[str] = []
    if mean is None or norm is None:
        found = _mean_norm_from_files(float_base)
        if found is not None:
            mean = found[0] if mean is None else mean
            norm = found[1] if norm is None else norm
        else:
            msg = ("no mean/norm given and no %s.mud/.json: the .mud records mean %g, norm %g (pixels to "
                   "[-1, 1)); pass mean/norm" % (float_base, DEFAULT_MEAN, DEFAULT_NORM))
            warns.append(msg)
            warnings.warn(msg, stacklevel=2)
            mean = DEFAULT_MEAN if mean is None else mean
            norm = DEFAULT_NORM if norm is None else norm
    mean_v, norm_v = _one(mean, "mean"), _one(norm, "norm")
    result = build_awnn(model, t, converter_compat)
    param, binp, mud = out_base + ".param", out_base + ".bin", out_base + ".mud"
    for src in (float_base + ".param", float_base + ".bin"):
        for dst in (param, binp, mud):
            if os.path.exists(dst) and os.path.samefile(src, dst):
                raise OptionError("out_base %s would overwrite the input %s" % (out_base, src))
    opt_shapes = result.shapes
    inputs = OrderedDict()
    for a in result.layers:
        if a.type == "Input":
            inputs[a.tops[0]] = (_hwc(opt_shapes[a.tops[0]]), [mean_v] * 3, [norm_v] * 3)
    consumed = {b for a in result.layers for b in a.bottoms}
    outputs = OrderedDict((t_, _hwc(opt_shapes[t_])) for a in result.layers for t_ in a.tops
                          if t_ not in consumed)
    from ..nn import mud_text
    mtext = mud_text(os.path.basename(param), os.path.basename(binp), inputs, outputs)
    atomic_write_many([(param, result.param_text().encode("ascii")), (binp, result.bin_bytes()),
                       (mud, mtext.encode("utf-8"))])
    return AwnnReport(result, param, binp, mud, mean_v, norm_v, warns)


# ------------------------------------------------------------------ CLI

def configure_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("float_base", help="float ncnn model base (FLOAT.param + FLOAT.bin)")
    p.add_argument("table", help="calibration table in Sipeed's converter format (blob scales by blob name, "
                                 "<layer>_param_0 weight scales)")
    p.add_argument("out_base", help="output base: OUT.param, OUT.bin (awnn int8), OUT.mud")
    p.add_argument("--mean", type=float, default=None, help="input mean (u8 - mean) * norm, one value")
    p.add_argument("--norm", type=float, default=None, help="input norm, one value")


def run_cli(args) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = to_awnn(args.float_base, args.table, args.out_base, mean=args.mean, norm=args.norm)
    print(report.text())
    return 0
