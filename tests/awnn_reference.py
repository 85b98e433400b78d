"""An independent, plain numpy reference of the V831 NPU forward pass of awnn
models, written from /work/shared/reference/awnn-format.md (sections 4-8 for
the files, 13.4 for the arithmetic) for the tests - not product code, and
sharing nothing with maixnn's C engine or Python package.

    model = AwnnModel.load("awnn.param", "awnn.bin")
    blobs = model.run({"data": x}, cpu_layer)      # every blob: int8 codes (NPU) or float32 (CPU)

`cpu_layer(layer, float_inputs) -> list of float32 outputs` runs a device-0
layer (the tests hand it to maixnn's float engine as a one-layer model built
from the layer's own line and .bin bytes, see `one_layer_model`): the float
layers are tested elsewhere; this module checks the NPU integer arithmetic
and the CPU<->NPU boundaries.
"""
from __future__ import annotations

import struct
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

TAG_INT8 = 0x000D4B38
TAG_INT16 = 0x000D4438


# ---------------------------------------------------------------- integer primitives (13, notation)

def rha(x, s: int) -> np.ndarray:
    """x / 2^s rounded half away from zero (int64)."""
    x = np.asarray(x, dtype=np.int64)
    if s == 0:
        return x
    mag = (np.abs(x) + (1 << (s - 1))) >> s
    return np.where(x < 0, -mag, mag)


def sat(x, bits: int) -> np.ndarray:
    return np.clip(np.asarray(x, dtype=np.int64), -(1 << (bits - 1)), (1 << (bits - 1)) - 1)


def out_cvt(x, enabled: bool, m: int, e: int) -> np.ndarray:
    """13.4 step 6: sat8(sat17(rha(x * m / 2^e))), 20 == 0 -> m = 1, e = 0."""
    if not enabled:
        m, e = 1, 0
    return sat(sat(rha(np.asarray(x, np.int64) * m, e), 17), 8).astype(np.int8)


def roundf(v) -> np.ndarray:
    v64 = np.asarray(v, np.float32).astype(np.float64)
    return np.copysign(np.floor(np.abs(v64) + 0.5), v64)


def quantize(f, scale: float) -> np.ndarray:
    """CPU -> NPU (13.4): clamp(roundf(f * S), -127, 127), f * S in float32; NaN -> -127."""
    v = roundf(np.asarray(f, np.float32) * np.float32(scale))
    v = np.where(np.isnan(v), -127, v)
    return np.clip(v, -127, 127).astype(np.int8)


def dequantize(q, scale: float) -> np.ndarray:
    """NPU -> CPU (13.4): (float)q * (float)(1 / ((double)S + 1e-5))."""
    inv = np.float32(1.0 / (float(np.float32(scale)) + 1e-5))
    return (np.asarray(q).astype(np.float32) * inv).astype(np.float32)


def ipu_order(kh: int, kw: int, ic: int, n: int, first: bool) -> np.ndarray:
    """Section 8 written forwards: the ncnn flat index of each position of the NPU array."""
    idx = np.arange(n * ic * kh * kw).reshape(n, ic, kh, kw)
    out = []
    for og in range(0, n, 8):
        on = min(8, n - og)
        if not first:
            for cg in range(0, ic, 32):
                cn = min(32, ic - cg)
                for k in range(kh * kw):
                    r, s = divmod(k, kw)
                    out.append(idx[og:og + on, cg:cg + cn, r, s].reshape(-1))
        else:
            for r in range(kh):
                out.append(idx[og:og + on, :, r, :].transpose(0, 2, 1).reshape(-1))
    return np.concatenate(out)


def from_ipu(ipu: np.ndarray, kh: int, kw: int, ic: int, n: int, first: bool) -> np.ndarray:
    """NPU-order weights -> ncnn order (n, ic, kh, kw)."""
    order = ipu_order(kh, kw, ic, n, first)
    flat = np.empty(order.size, np.int8)
    flat[order] = ipu
    return flat.reshape(n, ic, kh, kw)


# ---------------------------------------------------------------- files

class Layer:
    def __init__(self, type_: str, name: str, bottoms, tops, params: Dict[int, object], line: str):
        self.type, self.name, self.bottoms, self.tops, self.params, self.line = type_, name, bottoms, tops, params, line
        self.device = int(params[-28][0])      # -23328
        self.scales = [float(v) for v in params[-29]]
        self.blocks: List[np.ndarray] = []
        self.bin_bytes = b""

    def p(self, key: int, default):
        return self.params.get(key, default)


def _value(text: str):
    return float(text) if any(ch in text for ch in ".eE") else int(text)


def parse_param(text: str) -> List[Layer]:
    lines = [l for l in text.splitlines() if l.strip()]
    assert lines[0].strip() == "7767517"
    layers = []
    for line in lines[2:]:
        tok = line.split()
        nb, nt = int(tok[2]), int(tok[3])
        params = {}
        for t in tok[4 + nb + nt:]:
            k, v = t.split("=", 1)
            k = int(k)
            if k <= -23300:
                vals = v.split(",")
                params[-(-k - 23300)] = [_value(x) for x in vals[1:]]
            else:
                params[k] = _value(v)
        layers.append(Layer(tok[0], tok[1], tok[4:4 + nb], tok[4 + nb:4 + nb + nt], params, line))
    return layers


class _Bin:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def tagged(self, count: int, tag: int, dtype) -> np.ndarray:
        got, = struct.unpack_from("<I", self.data, self.pos)
        assert got == tag, "tag %#x at %d, expected %#x" % (got, self.pos, tag)
        size = count * np.dtype(dtype).itemsize
        arr = np.frombuffer(self.data, dtype=np.dtype(dtype).newbyteorder("<"), count=count, offset=self.pos + 4)
        self.pos += 4 + (size + 3) // 4 * 4
        return arr.astype(dtype)

    def raw_float(self, count: int) -> np.ndarray:
        arr = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.pos)
        self.pos += 4 * count
        return arr.astype(np.float32)

    def float_tagged(self, count: int) -> np.ndarray:
        return self.tagged(count, 0, np.float32)


def read_bin(layers: List[Layer], data: bytes) -> None:
    b = _Bin(data)
    for l in layers:
        start = b.pos
        t, npu = l.type, l.device == 1
        if npu and t in ("Convolution", "InnerProduct"):
            ws_id, bias_id = (6, 5) if t == "Convolution" else (2, 1)
            n = l.p(0, 0)
            l.blocks.append(b.tagged(l.p(ws_id, 0), TAG_INT8, np.int8))
            l.blocks.append(b.tagged(n, TAG_INT16, np.int16) if l.p(bias_id, 0) else None)
            l.blocks.append(b.tagged(n, TAG_INT16, np.int16) if l.p(25, 0) == 1 else None)
        elif npu and t == "PReLU":
            l.blocks.append(b.tagged(max(l.p(0, 0), 1), TAG_INT16, np.int16))
        elif npu and t == "BatchNorm":
            l.blocks.append(b.tagged(2 * l.p(0, 0), TAG_INT16, np.int16))
        elif not npu and t in ("Convolution", "ConvolutionDepthWise"):
            l.blocks.append(b.float_tagged(l.p(6, 0)))
            if l.p(5, 0):
                l.blocks.append(b.raw_float(l.p(0, 0)))
        elif not npu and t == "InnerProduct":
            l.blocks.append(b.float_tagged(l.p(2, 0)))
            if l.p(1, 0):
                l.blocks.append(b.raw_float(l.p(0, 0)))
        elif not npu and t == "BatchNorm":
            l.blocks.append(b.raw_float(4 * l.p(0, 0)))
        elif not npu and t == "Padding" and l.p(6, 0):
            l.blocks.append(b.raw_float(l.p(6, 0)))
        l.bin_bytes = data[start:b.pos]
    assert b.pos == len(data), "%d bytes of .bin left" % (len(data) - b.pos)


# ---------------------------------------------------------------- NPU layers (13.4)

def _same_pads(size: int, extent: int, stride: int, lower: bool) -> Tuple[int, int]:
    total = extent + (size - 1) // stride * stride - size
    if total <= 0:
        return 0, 0
    first = total - total // 2 if lower else total // 2
    return first, total - first


def conv_epilogue(acc, l: Layer) -> np.ndarray:
    """13.4 steps 2-6 on (N, ...) accumulators."""
    _, bias, mult = l.blocks
    acc = sat(acc, 32)
    shape = (-1,) + (1,) * (acc.ndim - 1)
    if mult is not None:                                             # X2, before the bias
        acc = sat(rha(acc * mult.astype(np.int64).reshape(shape), 10), 32)
    if bias is not None and l.p(24, 0) == 2:                         # Y with the 26/27 converter
        b = sat(rha(bias.astype(np.int64) * l.p(26, 1), l.p(27, 0)), 32)
        acc = sat(acc + b.reshape(shape), 32)
    return out_cvt(acc, l.p(20, 1) != 0, l.p(21, 1), l.p(22, 0))


def npu_convolution(l: Layer, x: np.ndarray) -> np.ndarray:
    n, kw = l.p(0, 0), l.p(1, 0)
    kh = l.p(11, kw)
    dw = l.p(2, 1); dh = l.p(12, dw)
    sw = l.p(3, 1); sh = l.p(13, sw)
    pl = l.p(4, 0); pr = l.p(15, pl); pt = l.p(14, pl); pb = l.p(16, pt)
    c, h, w = x.shape
    ic = l.p(6, 0) // (n * kh * kw)
    assert ic == c
    wt = from_ipu(l.blocks[0], kh, kw, ic, n, l.p(19, 0) == 1).astype(np.int64)
    ext_w, ext_h = dw * (kw - 1) + 1, dh * (kh - 1) + 1
    if pl in (-233, -234):
        pl, pr = _same_pads(w, ext_w, sw, pl == -234)
        pt, pb = _same_pads(h, ext_h, sh, pt == -234)
    xp = np.zeros((c, h + pt + pb, w + pl + pr), np.int64)
    xp[:, pt:pt + h, pl:pl + w] = x
    oh = (h + pt + pb - ext_h) // sh + 1
    ow = (w + pl + pr - ext_w) // sw + 1
    acc = np.zeros((n, oh, ow), np.int64)
    for r in range(kh):
        for s in range(kw):
            patch = xp[:, r * dh: r * dh + sh * (oh - 1) + 1: sh, s * dw: s * dw + sw * (ow - 1) + 1: sw]
            acc += np.einsum("oc,chw->ohw", wt[:, :, r, s], patch)
    return conv_epilogue(acc, l)


def npu_innerproduct(l: Layer, x: np.ndarray) -> np.ndarray:
    n = l.p(0, 0)
    x3 = x.reshape((1,) * (3 - x.ndim) + x.shape)  # (c, h, w)
    c, h, w = x3.shape
    if h == 1 and c == 1:       # 7.3: 1-D bottom
        kh = kw = 1
        ic = w
    else:
        kh, kw, ic = h, w, c
    wt = from_ipu(l.blocks[0], kh, kw, ic, n, l.p(19, 0) == 1).reshape(n, -1).astype(np.int64)
    acc = wt @ x3.reshape(-1).astype(np.int64)
    return conv_epilogue(acc, l)


RECIP = {k: 65536 // k for k in range(1, 9)}


def npu_pooling(l: Layer, x: np.ndarray) -> np.ndarray:
    kind = l.p(0, 0)
    en, m, e = l.p(20, 1) != 0, l.p(21, 1), l.p(22, 0)
    c, h, w = x.shape
    xi = x.astype(np.int64)

    def avg(total, kw_, kh_):
        rw = RECIP.get(kw_, 65536 // kw_)
        rh = RECIP.get(kh_, 65536 // kh_)
        return sat(rha(rha(total * rw, 16) * rh, 16), 8)

    if l.p(4, 0):
        if kind == 0:
            p = xi.reshape(c, -1).max(axis=1)
        else:
            p = avg(xi.reshape(c, -1).sum(axis=1), w, h)
        return out_cvt(p, en, m, e)
    kw = l.p(1, 0); kh = l.p(11, kw)
    sw = l.p(2, 1); sh = l.p(12, sw)
    pl = l.p(3, 0); pr = l.p(14, pl); pt = l.p(13, pl); pb = l.p(15, pt)
    mode = l.p(5, 0)
    if mode == 0:
        wrem, hrem = w + pl + pr - kw, h + pt + pb - kh
        if wrem % sw:
            pr += sw - wrem % sw
        if hrem % sh:
            pb += sh - hrem % sh
    elif mode in (2, 3):
        pl, pr = _same_pads(w, kw, sw, mode == 3)
        pt, pb = _same_pads(h, kh, sh, mode == 3)
    oh = (h + pt + pb - kh) // sh + 1
    ow = (w + pl + pr - kw) // sw + 1
    out = np.zeros((c, oh, ow), np.int64)
    for i in range(oh):
        y0, y1 = max(i * sh - pt, 0), min(i * sh - pt + kh, h)
        for j in range(ow):
            x0, x1 = max(j * sw - pl, 0), min(j * sw - pl + kw, w)
            win = xi[:, y0:y1, x0:x1].reshape(c, -1)
            out[:, i, j] = win.max(axis=1) if kind == 0 else avg(win.sum(axis=1), kw, kh)
    return out_cvt(out, en, m, e)


def _per_channel(x: np.ndarray, values: np.ndarray) -> np.ndarray:
    """values[g] broadcast over the channel groups of x (channels of a 3-D blob, rows of 2-D, elements of 1-D)."""
    return values.reshape((-1,) + (1,) * (x.ndim - 1)) if x.ndim > 1 else values


def npu_relu(l: Layer, x):
    return out_cvt(np.maximum(x.astype(np.int64), 0), l.p(20, 1) != 0, l.p(21, 0), l.p(22, 0))


def npu_prelu(l: Layer, x):
    slopes = l.blocks[0].astype(np.int64)
    s = slopes[0] if slopes.size == 1 else _per_channel(x, slopes)
    xi = x.astype(np.int64)
    t = np.where(xi >= 0, xi, sat(rha(xi * s, 10), 32))
    return out_cvt(t, l.p(20, 1) != 0, l.p(21, 0), l.p(22, 0))


def npu_batchnorm(l: Layer, x):
    ab = l.blocks[0].astype(np.int64)
    a, b = _per_channel(x, ab[0::2]), _per_channel(x, ab[1::2])
    t = sat(rha((x.astype(np.int64) + a) * b, 7), 32)
    return out_cvt(t, l.p(20, 1) != 0, l.p(21, 0), l.p(22, 0))


def npu_eltwise(l: Layer, xs):
    p16 = l.p(16, 0)
    main, operand = xs[1 - p16].astype(np.int64), xs[p16].astype(np.int64)
    o = sat(rha(operand * l.p(17, 0), l.p(18, 0)), 32)
    s = sat(main * o if l.p(0, 0) == 0 else main + o, 32)
    return out_cvt(s, l.p(20, 1) != 0, l.p(21, 0), l.p(22, 0))


def npu_quantize(l: Layer, x):
    return out_cvt(x, l.p(20, 1) != 0, l.p(21, 0), l.p(22, 0))


def npu_concat(l: Layer, xs):
    assert l.p(0, 0) == 0
    return np.concatenate(xs, axis=0)


# ---------------------------------------------------------------- the model

CpuLayer = Callable[[Layer, List[np.ndarray]], List[np.ndarray]]


class AwnnModel:
    def __init__(self, layers: List[Layer]):
        self.layers = layers
        self.scale: Dict[str, float] = {}
        for l in layers:
            for t, s in zip(l.tops, l.scales):
                self.scale[t] = s

    @classmethod
    def load(cls, param: str, bin_path: str) -> "AwnnModel":
        with open(param) as f:
            layers = parse_param(f.read())
        with open(bin_path, "rb") as f:
            read_bin(layers, f.read())
        return cls(layers)

    def run(self, inputs: Dict[str, np.ndarray], cpu_layer: CpuLayer) -> Dict[str, np.ndarray]:
        blobs: Dict[str, np.ndarray] = dict(inputs)
        for l in self.layers:
            if l.type == "Input":
                continue
            if l.device == 1:
                xs = [blobs[b] if blobs[b].dtype == np.int8 else quantize(blobs[b], self.scale[b]) for b in l.bottoms]
                outs = self._npu(l, xs)
            else:
                xs = [dequantize(blobs[b], self.scale[b]) if blobs[b].dtype == np.int8 else blobs[b]
                      for b in l.bottoms]
                outs = cpu_layer(l, xs)
            for t, v in zip(l.tops, outs):
                blobs[t] = v
        return blobs

    @staticmethod
    def _npu(l: Layer, xs: List[np.ndarray]) -> List[np.ndarray]:
        t = l.type
        if t == "Split":
            return [xs[0].copy() for _ in l.tops]
        if t == "Concat":
            return [npu_concat(l, xs)]
        if t == "Eltwise":
            return [npu_eltwise(l, xs)]
        fn = {"Convolution": npu_convolution, "InnerProduct": npu_innerproduct, "Pooling": npu_pooling,
              "ReLU": npu_relu, "PReLU": npu_prelu, "BatchNorm": npu_batchnorm, "Quantize": npu_quantize}[t]
        return [fn(l, xs[0])]


def one_layer_model(l: Layer) -> Tuple[str, bytes]:
    """A float ncnn model holding only device-0 layer `l` (its own line, without
    -23328/-23329, and its own .bin bytes) with one Input per bottom."""
    tok = l.line.split()
    nb, nt = int(tok[2]), int(tok[3])
    params = [t for t in tok[4 + nb + nt:] if not t.startswith(("-23328=", "-23329="))]
    lines = ["7767517", "%d %d" % (nb + 1, nb + nt)]
    for i, b in enumerate(l.bottoms):
        lines.append("Input in%d 0 1 %s" % (i, b))
    lines.append(" ".join(tok[:4 + nb + nt] + params))
    return "\n".join(lines) + "\n", l.bin_bytes
