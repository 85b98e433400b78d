"""The graph the awnn writer writes: Sipeed's ``optimize`` step (awnn-format.md
section 1), maixnn's activation unfusing, and shape inference.

Passes, in the converter's order, on a copy of the float model:

1. fusions: Convolution / ConvolutionDepthWise / InnerProduct + BatchNorm
   (folded in binary32 without FMA), InnerProduct + Dropout(scale),
   ConvolutionDepthWise + ReLU/Clip/Sigmoid (into DW param 9/10; the DW runs on
   the CPU anyway).  Convolution and InnerProduct activations are NOT fused -
   and an activation maixnn's own converter fused into one (param 9) is split
   off first (``unfuse_activations``), because the NPU path of Sipeed's flow
   never has it.
2. eliminations: Dropout(scale 1), Noop, 1x1/stride-1 unpadded Pooling,
   Flatten or Reshape-to-1-D after global pooling, Flatten after InnerProduct.
   The surviving layer keeps its name and takes over the eliminated layer's
   top blob, as the converter does.
3. BinaryOp ADD of two same-shape blobs -> ``Eltwise 0=1`` (the converter
   rewrites EVERY ADD; a scalar or broadcasting ADD stays a CPU BinaryOp here,
   see ``rewrites``).
4. maixnn: an Eltwise SUM/PROD of more than 2 inputs becomes a chain of
   two-input ones (split_eltwise_chains); a Pooling in pad_mode 1/2/3 becomes
   pad_mode 0 with explicit pads where that computes the same windows
   (full_mode_pooling) - the board's runtime refuses both otherwise.
5. every float parameter goes through the "%e" text round trip the converter's
   optimize/quantize pair applies (7 significant digits, far below int8
   resolution) - kept so that the files equal the converter's.
6. shape inference: (dims, w, h, c) of every blob, ncnn's conventions.

Not implemented (no golden case, the converter's own passes unverified):
MemoryData fusions, BatchNorm+Scale, the a*x+b*y Eltwise fusion, Reshape before
BinaryOp; such graphs are written unfused (correct, only less fused).
"""
from __future__ import annotations

import copy
from typing import Dict, List, NamedTuple, Optional, Tuple

import numpy as np

from ..errors import ModelFormatError, UnsupportedOperatorError
from ..ncnn_model import Layer, NcnnModel, Weight, conv_geometry
from .numerics import F32, e_round_trip
from .params import pfloat as _f
from .params import pint as _i
from .params import pool_window

Shape = Tuple[int, int, int, int]   # (dims, w, h, c) as the converter's shape hints

FUSED = "ncnnfused"


class Rewrite(NamedTuple):
    """A graph change maixnn made that the converter would not (or not so)."""
    layer: str
    what: str


def _copy_model(model: NcnnModel) -> NcnnModel:
    layers = []
    for l in model.layers:
        nl = Layer(l.type, l.name, list(l.bottoms), list(l.tops), copy.deepcopy(l.params),
                   [Weight(w.name, w.data.copy(), w.kind) for w in l.weights])
        layers.append(nl)
    return NcnnModel(layers)


def _arr(l: Layer, name: str) -> Optional[np.ndarray]:
    w = l.weight(name)
    return None if w is None else w.data.astype(np.float32)


def _set_weight(l: Layer, name: str, data: np.ndarray, kind: str) -> None:
    for i, w in enumerate(l.weights):
        if w.name == name:
            l.weights[i] = Weight(name, data, kind)
            return
    l.weights.append(Weight(name, data, kind))
    order = {"weight": 0, "bias": 1}
    l.weights.sort(key=lambda w: order.get(w.name, 2))


# ------------------------------------------------------------------ unfusing

UNFUSE_SUFFIX_BLOB = "_preact"
UNFUSE_SUFFIX_LAYER = "_act"


def unfuse_activations(model: NcnnModel) -> List[Rewrite]:
    """Split the fused activation (param 9/10) off every Convolution and
    InnerProduct, in place: ``conv ... -> top 9=1`` becomes
    ``conv -> <top>_preact`` + ``ReLU <conv>_act <top>_preact -> top``.
    ReLU (9=1), leaky ReLU (9=2), Clip (9=3), Sigmoid (9=4) and HardSwish (9=6)
    are split; the new blob and layer names are deterministic.  Returns what
    was done."""
    taken = set(model.blob_names()) | {l.name for l in model.layers}
    out: List[Layer] = []
    rewrites = []
    for l in model.layers:
        out.append(l)
        if l.type not in ("Convolution", "InnerProduct"):
            continue
        act = _i(l, 9, 0)
        if act == 0:
            continue
        ap = l.params.get(10, [])
        ap = [float(v) for v in ap] if isinstance(ap, list) else [float(ap)]
        if act == 1:
            t, params = "ReLU", {}
        elif act == 2:
            t, params = "ReLU", {0: ap[0] if ap else 0.0}
        elif act == 3:
            if len(ap) < 2:
                raise ModelFormatError("layer %s: activation 3 (Clip) needs 10=min,max" % l.name)
            t, params = "Clip", {0: ap[0], 1: ap[1]}
        elif act == 4:
            t, params = "Sigmoid", {}
        elif act == 6:
            t, params = "HardSwish", {0: ap[0] if ap else 1.0 / 6.0, 1: ap[1] if len(ap) > 1 else 0.5}
        else:
            raise UnsupportedOperatorError("layer %s (%s): fused activation type %d cannot be written for "
                                           "the V831 (no awnn layer for it)" % (l.name, l.type, act))
        top = l.tops[0]
        mid = top + UNFUSE_SUFFIX_BLOB
        lname = l.name + UNFUSE_SUFFIX_LAYER
        if mid in taken or lname in taken:
            raise ModelFormatError("layer %s: cannot split off its activation: the name %s or %s already exists"
                                   % (l.name, mid, lname))
        taken.update((mid, lname))
        l.tops[0] = mid
        l.params.pop(9, None)
        l.params.pop(10, None)
        out.append(Layer(t, lname, [mid], [top], params))
        rewrites.append(Rewrite(l.name, "fused activation %d split off into %s %s (blob %s): Sipeed's flow "
                                "never fuses activations into Convolution/InnerProduct" % (act, t, lname, mid)))
    model.layers = out
    return rewrites


# ------------------------------------------------------------------ fusions

def _next_consumer(layers: List[Layer], i: int, types, blob: str) -> Optional[int]:
    """ncnnoptimize's search: the first later layer of one of `types` with one
    bottom equal to `blob`."""
    for j in range(i + 1, len(layers)):
        lj = layers[j]
        if lj.type in types and len(lj.bottoms) == 1 and lj.bottoms[0] == blob:
            return j
    return None


def bn_ab(bn: Layer) -> Tuple[np.ndarray, np.ndarray]:
    """a, b of a BatchNorm in binary32 (section 1): b = slope/sqrtf(var+eps),
    a = bias - (mean*slope)/sqrtf(var+eps)."""
    c = _i(bn, 0)
    eps = _f(bn, 1, 0.0)
    slope, mean, var, bias = (_arr(bn, n) for n in ("slope", "mean", "var", "bias"))
    for name, arr in (("slope", slope), ("mean", mean), ("var", var), ("bias", bias)):
        if arr is None or arr.size != c:
            raise ModelFormatError("layer %s (BatchNorm): %s has %s values, 0=%d expected"
                                   % (bn.name, name, None if arr is None else arr.size, c))
    with np.errstate(all="ignore"):
        sqrt_var = np.sqrt((var + eps).astype(np.float32)).astype(np.float32)
        a = (bias - ((mean * slope).astype(np.float32) / sqrt_var).astype(np.float32)).astype(np.float32)
        b = (slope / sqrt_var).astype(np.float32)
    return a, b


def _fold_bn(layer: Layer, bn: Layer, channels: int, weight_pid: int, bias_pid: int) -> None:
    a, b = bn_ab(bn)
    if a.size != channels:
        raise ModelFormatError("layer %s: BatchNorm %s has %d channels, the layer has %d outputs"
                               % (layer.name, bn.name, a.size, channels))
    w = _arr(layer, "weight")
    if _i(layer, bias_pid) == 0:
        layer.params[bias_pid] = 1
        bias = np.zeros(channels, np.float32)
    else:
        bias = _arr(layer, "bias")
    w = w.reshape(channels, -1)
    with np.errstate(all="ignore"):
        w = (w * b[:, None]).astype(np.float32)
        bias = ((bias * b).astype(np.float32) + a).astype(np.float32)
    _set_weight(layer, "weight", w.reshape(-1), "tagged")
    _set_weight(layer, "bias", bias, "raw")


def _fuse(layers: List[Layer], keep: Layer, gone: Layer) -> None:
    keep.tops[0] = gone.tops[0]
    gone.type = FUSED


def _fuse_layer_batchnorm(layers: List[Layer]) -> None:
    for i, l in enumerate(layers):
        if l.type not in ("Convolution", "ConvolutionDepthWise", "InnerProduct"):
            continue
        if _i(l, 9, 0) != 0:
            continue  # an activation sits between (maixnn's own fusion): folding would be wrong
        j = _next_consumer(layers, i, ("BatchNorm",), l.tops[0])
        if j is None:
            continue
        bias_pid = 1 if l.type == "InnerProduct" else 5
        _fold_bn(l, layers[j], _i(l, 0), 2 if l.type == "InnerProduct" else 6, bias_pid)
        _fuse(layers, l, layers[j])


def _fuse_innerproduct_dropout(layers: List[Layer]) -> None:
    for i, l in enumerate(layers):
        if l.type != "InnerProduct":
            continue
        j = _next_consumer(layers, i, ("Dropout",), l.tops[0])
        if j is None:
            continue
        scale = _f(layers[j], 0, 1.0)
        if scale != F32(1.0):
            _set_weight(l, "weight", (_arr(l, "weight") * scale).astype(np.float32), "tagged")
            if _i(l, 1):
                _set_weight(l, "bias", (_arr(l, "bias") * scale).astype(np.float32), "raw")
        _fuse(layers, l, layers[j])


def _fuse_dw_activation(layers: List[Layer]) -> None:
    for i, l in enumerate(layers):
        if l.type != "ConvolutionDepthWise" or _i(l, 9, 0) != 0:
            continue   # (a second activation would replace the first)
        j = _next_consumer(layers, i, ("ReLU", "Clip", "Sigmoid"), l.tops[0])
        if j is None:
            continue
        act = layers[j]
        if act.type == "ReLU":
            slope = _f(act, 0, 0.0)
            if slope == 0:
                l.params[9] = 1
                l.params.pop(10, None)
            else:
                l.params[9] = 2
                l.params[10] = [float(slope)]
        elif act.type == "Clip":
            l.params[9] = 3
            l.params[10] = [float(_f(act, 0, -3.4028234663852886e38)), float(_f(act, 1, 3.4028234663852886e38))]
        else:
            l.params[9] = 4
            l.params.pop(10, None)
        _fuse(layers, l, act)


# ------------------------------------------------------------------ eliminations

def _producer_single_top(layers: List[Layer], i: int, blob: str) -> Optional[int]:
    for j in range(i - 1, -1, -1):
        lj = layers[j]
        if lj.type == FUSED or len(lj.tops) != 1:
            continue
        if lj.tops[0] == blob:
            return j
    return None


def _eliminate_into_producer(layers: List[Layer], pred) -> None:
    for i, l in enumerate(layers):
        if not pred(l) or len(l.bottoms) != 1 or len(l.tops) != 1:
            continue
        j = _producer_single_top(layers, i, l.bottoms[0])
        if j is None:
            continue
        layers[j].tops[0] = l.tops[0]
        l.type = FUSED


def _is_pooling1x1(l: Layer) -> bool:
    if l.type != "Pooling" or _i(l, 4) != 0:
        return False
    g = pool_window(l)
    return g.kw == g.kh == g.sw == g.sh == 1 and g.pl == g.pr == g.pt == g.pb == 0


def _eliminate_after(layers: List[Layer], first_pred, second_pred) -> None:
    for i, l in enumerate(layers):
        if not first_pred(l):
            continue
        for j in range(i + 1, len(layers)):
            lj = layers[j]
            if second_pred(lj) and len(lj.bottoms) == 1 and lj.bottoms[0] == l.tops[0]:
                _fuse(layers, l, lj)
                break


def _is_reshape_1d(l: Layer) -> bool:
    return l.type == "Reshape" and _i(l, 1, -233) == -233 and _i(l, 2, -233) == -233 and _i(l, 3, 0) == 0


# ------------------------------------------------------------------ shapes

UNKNOWN: Shape = (0, 0, 0, 0)


def infer_shapes(model: NcnnModel, strict: bool = True) -> Dict[str, Shape]:
    """(dims, w, h, c) of every blob, computed like ncnn's forward pass.
    strict=False (reports on files): a layer that cannot be sized gives its
    tops UNKNOWN instead of an error."""
    shapes: Dict[str, Shape] = {}
    for l in model.layers:
        ins = []
        for b in l.bottoms:
            if b not in shapes:
                if not strict:
                    shapes[b] = UNKNOWN
                else:
                    raise ModelFormatError("layer %s (%s) reads blob '%s' before any layer writes it"
                                           % (l.name, l.type, b))
            ins.append(shapes[b])
        if strict:
            outs = _layer_shapes(l, ins)
        else:
            try:
                outs = [UNKNOWN] * len(l.tops) if UNKNOWN in ins else _layer_shapes(l, ins)
            except (ModelFormatError, UnsupportedOperatorError, ValueError, ZeroDivisionError):
                outs = [UNKNOWN] * len(l.tops)
        for t, s in zip(l.tops, outs):
            shapes[t] = s
    return shapes


def _s3(w: int, h: int, c: int) -> Shape:
    return (3, w, h, c)


def _layer_shapes(l: Layer, ins: List[Shape]) -> List[Shape]:
    t = l.type
    n = len(l.tops)
    if t == "Input":
        w, h, c = _i(l, 0), _i(l, 1), _i(l, 2)
        if w <= 0:
            raise UnsupportedOperatorError("Input %s: needs its size (0=w [1=h 2=c]) for the awnn writer" % l.name)
        if h <= 0:
            return [(1, w, 1, 1)]
        if c <= 0:
            return [(2, w, h, 1)]
        return [_s3(w, h, c)]
    x = ins[0] if ins else (0, 0, 0, 0)
    dims, w, h, c = x
    if t in ("Split",):
        return [x] * n
    if t in ("ReLU", "PReLU", "Clip", "Sigmoid", "TanH", "HardSwish", "HardSigmoid", "BatchNorm", "Dropout",
             "Noop", "Quantize", "Softmax", "Scale", "Bias", "AbsVal", "Swish", "Mish", "UnaryOp", "ELU"):
        return [x]
    if t in ("Convolution", "ConvolutionDepthWise"):
        if dims != 3:
            raise UnsupportedOperatorError("layer %s (%s): input blob is %d-D, a (c,h,w) blob is needed"
                                           % (l.name, t, dims))
        g = conv_geometry(l, w, h)
        ekw = g.dilation_w * (g.kernel_w - 1) + 1
        ekh = g.dilation_h * (g.kernel_h - 1) + 1
        ow = (w + g.pad_left + g.pad_right - ekw) // g.stride_w + 1
        oh = (h + g.pad_top + g.pad_bottom - ekh) // g.stride_h + 1
        return [_s3(ow, oh, _i(l, 0))]
    if t == "InnerProduct":
        return [(1, _i(l, 0), 1, 1)]
    if t == "Pooling":
        if _i(l, 4):
            return [(1, c, 1, 1)]
        kw, kh, _, _, sw, sh, pl, pr, pt, pb = pool_window(l)
        mode = _i(l, 5)
        if mode == 0:
            wt = (w + pl + pr - kw) % sw
            ht = (h + pt + pb - kh) % sh
            pr += sw - wt if wt else 0
            pb += sh - ht if ht else 0
        elif mode in (2, 3):
            wpad = kw + (w - 1) // sw * sw - w
            hpad = kh + (h - 1) // sh * sh - h
            pl, pr, pt, pb = 0, max(wpad, 0), 0, max(hpad, 0)
        return [_s3((w + pl + pr - kw) // sw + 1, (h + pt + pb - kh) // sh + 1, c)]
    if t == "Interp":
        oh, ow = _i(l, 3), _i(l, 4)
        if ow == 0 or oh == 0:
            ow = int(np.float32(w) * _f(l, 2, 1.0))
            oh = int(np.float32(h) * _f(l, 1, 1.0))
        return [_s3(ow, oh, c)]
    if t == "Padding":
        top, bottom, left, right = _i(l, 0), _i(l, 1), _i(l, 2), _i(l, 3)
        front, behind = _i(l, 7), _i(l, 8)
        if dims == 1:
            return [(1, w + left + right, 1, 1)]
        return [(dims, w + left + right, h + top + bottom, c + front + behind)]
    if t == "Flatten":
        return [(1, w * h * c, 1, 1)]
    if t in ("Eltwise", "BinaryOp"):
        best = max(ins, key=lambda s: (s[0], s[1] * s[2] * s[3]))
        return [best]
    if t == "Concat":
        axis = _i(l, 0)
        if axis < 0:
            axis += dims
        if dims == 1:
            return [(1, sum(s[1] for s in ins), 1, 1)]
        if dims == 2:
            return [(2, w, sum(s[2] for s in ins), 1) if axis == 0 else (2, sum(s[1] for s in ins), h, 1)]
        if axis == 0:
            return [_s3(w, h, sum(s[3] for s in ins))]
        if axis == 1:
            return [_s3(w, sum(s[2] for s in ins), c)]
        return [_s3(sum(s[1] for s in ins), h, c)]
    if t == "Reshape":
        total = w * h * c
        rw, rh, rc = _i(l, 0, -233), _i(l, 1, -233), _i(l, 2, -233)
        if rh == -233:
            return [(1, total if rw in (-1, -233) else rw, 1, 1)]
        rw = w if rw == 0 else rw
        rh = h if rh == 0 else rh
        if rc == -233:
            if rw == -1:
                rw = total // rh
            if rh == -1:
                rh = total // rw
            return [(2, rw, rh, 1)]
        rc = c if rc == 0 else rc
        known = [v for v in (rw, rh, rc) if v != -1]
        prod = int(np.prod(known)) if known else 1
        rw, rh, rc = (total // prod if v == -1 else v for v in (rw, rh, rc))
        return [_s3(rw, rh, rc)]
    raise UnsupportedOperatorError("layer %s: type %s cannot be written in the V831's awnn format by maixnn "
                                   "(not one of the layer types the format covers)" % (l.name, t))


# ------------------------------------------------------------------ Eltwise chains

def split_eltwise_chains(model: NcnnModel) -> List[Rewrite]:
    """An Eltwise SUM/PROD of n > 2 inputs becomes a chain of n-1 two-input
    Eltwise layers (the NPU takes two inputs; the converter aborts its whole
    Eltwise pass on a third): ``<name>_part1 .. <name>_part<n-2>`` with tops
    ``<top>_part1 ..``, the last keeps the layer's name and top.  ncnn sums
    the inputs in the same order, so the float result is identical.  SUM
    coefficients go with their inputs (the partial sums get 1).  MAX stays
    one CPU layer."""
    taken = set(model.blob_names()) | {l.name for l in model.layers}
    out: List[Layer] = []
    rewrites = []
    for l in model.layers:
        op = _i(l, 0, 1)
        if l.type != "Eltwise" or len(l.bottoms) <= 2 or op not in (0, 1):
            out.append(l)
            continue
        coeffs = l.params.get(1, [])
        coeffs = coeffs if isinstance(coeffs, list) and op == 1 else []
        if coeffs and len(coeffs) != len(l.bottoms):
            raise ModelFormatError("layer %s (Eltwise): %d coefficients for %d inputs"
                                   % (l.name, len(coeffs), len(l.bottoms)))
        n = len(l.bottoms)
        prev = l.bottoms[0]
        for k in range(1, n):
            last = k == n - 1
            name = l.name if last else "%s_part%d" % (l.name, k)
            top = l.tops[0] if last else "%s_part%d" % (l.tops[0], k)
            if not last and (name in taken or top in taken):
                raise ModelFormatError("layer %s: cannot split the %d-input Eltwise: the name %s or %s already "
                                       "exists" % (l.name, n, name, top))
            taken.update((name, top))
            params = {0: op}
            if coeffs:
                params[1] = [float(coeffs[0]) if k == 1 else 1.0, float(coeffs[k])]
            out.append(Layer("Eltwise", name, [prev, l.bottoms[k]], [top], params))
            prev = top
        rewrites.append(Rewrite(l.name, "Eltwise of %d inputs split into a chain of %d two-input Eltwise "
                                "layers (new blobs %s): the NPU takes two inputs, Sipeed's converter aborts "
                                "its Eltwise pass on a third" % (n, n - 1, ", ".join(
                                    "%s_part%d" % (l.tops[0], k) for k in range(1, n - 1)))))
    model.layers = out
    return rewrites


# ------------------------------------------------------------------ pooling modes

def full_mode_pooling(l: Layer, shape: Shape) -> Optional[Tuple[int, int, int, int]]:
    """Explicit pads (left, right, top, bottom) with which pad_mode 0 computes
    exactly what this Pooling's pad_mode 1/2/3 computes on a `shape` input, or
    None when there are none.  The board's runtime sizes pooling outputs the
    pad_mode 0 way (ceilf) and refuses the other modes; ncnn's "valid" mode
    (1, what ONNX converters write) only differs from it by a tail that no
    window reaches, so dropping that much right/bottom padding gives the same
    windows; SAME modes become their computed pads.  Average pooling is only
    rewritten when no padding remains (a padded average runs on the CPU, where
    its own mode is kept)."""
    mode = _i(l, 5)
    if mode not in (1, 2, 3) or _i(l, 4) != 0 or shape[0] != 3:
        return None
    _, w, h, _ = shape
    kw, kh, _, _, sw, sh, pl, pr, pt, pb = pool_window(l)
    avg = _i(l, 0) != 0
    if kw > 8 or kh > 8 or (avg and pl + pr + pt + pb != 0):
        return None   # on the CPU anyway (in SAME modes ncnn's average also reads the pad params)
    if mode == 1:
        if w + pl + pr < kw or h + pt + pb < kh:
            return None
        pr -= (w + pl + pr - kw) % sw
        pb -= (h + pt + pb - kh) % sh
        if pr < 0 or pb < 0:
            return None
    else:
        wpad = kw + (w - 1) // sw * sw - w
        hpad = kh + (h - 1) // sh * sh - h
        if wpad < 0 or hpad < 0:
            return None   # ncnn pads nothing and may leave a tail pad_mode 0 would fill
        lo_w, lo_h = (wpad // 2, hpad // 2) if mode == 2 else (wpad - wpad // 2, hpad - hpad // 2)
        pl, pr, pt, pb = lo_w, wpad - lo_w, lo_h, hpad - lo_h
    if avg and pl + pr + pt + pb != 0:
        return None
    return pl, pr, pt, pb


def _rewrite_pooling_modes(layers: List[Layer], shapes: Dict[str, Shape]) -> List[Rewrite]:
    out = []
    for l in layers:
        if l.type != "Pooling":
            continue
        pads = full_mode_pooling(l, shapes[l.bottoms[0]])
        if pads is None:
            continue
        old = (_i(l, 5),) + tuple(pool_window(l)[6:])
        for pid, v in zip((3, 14, 13, 15), pads):
            l.params[pid] = v
        l.params.pop(5, None)
        out.append(Rewrite(l.name, "pooling pad_mode %d (pads l,r,t,b %d,%d,%d,%d) rewritten as pad_mode 0 with "
                           "pads %d,%d,%d,%d: the same windows and output, in the one mode the board's runtime "
                           "takes" % (old + pads)))
    return out


# ------------------------------------------------------------------ the whole step

class Optimized(NamedTuple):
    model: NcnnModel
    shapes: Dict[str, Shape]
    rewrites: List[Rewrite]


def _round_trip_params(layers: List[Layer]) -> None:
    for l in layers:
        for pid, v in list(l.params.items()):
            if isinstance(v, float):
                l.params[pid] = float(e_round_trip(v))
            elif isinstance(v, list):
                l.params[pid] = [float(e_round_trip(x)) if isinstance(x, float) else x for x in v]


def optimize(model: NcnnModel, unfuse: bool = True, fixes: bool = True) -> Optimized:
    """The converter's optimize step on a copy of `model` (see the module
    docstring), with maixnn's unfusing first when `unfuse` and, when `fixes`,
    its rewrites of what the board refuses: Eltwise of more than 2 inputs
    split into chains (split_eltwise_chains), pooling pad modes 1-3 rewritten
    as pad_mode 0 where that is exact (full_mode_pooling)."""
    m = _copy_model(model)
    if not m.layers or m.layers[0].type != "Input":
        raise UnsupportedOperatorError("the awnn format needs the Input layer first (layer #0 is %s)"
                                       % (m.layers[0].type if m.layers else "missing"))
    for l in m.layers:
        if (l.type in ("Convolution", "ConvolutionDepthWise", "InnerProduct") and _i(l, 8, 0) != 0) \
                or l.type in ("Quantize", "Requantize", "Dequantize"):
            raise ModelFormatError("layer %s (%s) is already int8 (ncnn int8 model): the awnn writer needs the "
                                   "FLOAT model" % (l.name, l.type))
    rewrites = unfuse_activations(m) if unfuse else []
    layers = m.layers
    _fuse_layer_batchnorm(layers)
    _fuse_innerproduct_dropout(layers)
    _fuse_dw_activation(layers)
    _eliminate_into_producer(layers, lambda l: l.type == "Dropout" and _f(l, 0, 1.0) == F32(1.0))
    _eliminate_into_producer(layers, lambda l: l.type == "Noop")
    _eliminate_into_producer(layers, _is_pooling1x1)
    _eliminate_after(layers, lambda l: l.type == "Pooling" and _i(l, 4) == 1, lambda l: l.type == "Flatten")
    _eliminate_after(layers, lambda l: l.type == "Pooling" and _i(l, 4) == 1, _is_reshape_1d)
    _eliminate_after(layers, lambda l: l.type == "InnerProduct", lambda l: l.type == "Flatten")
    m.layers = [l for l in layers if l.type != FUSED]
    if fixes:
        rewrites += split_eltwise_chains(m)
    shapes = infer_shapes(m)
    for l in m.layers:
        if l.type != "BinaryOp" or _i(l, 0, 0) != 0:
            continue
        if len(l.bottoms) == 2 and _i(l, 1, 0) == 0 and shapes[l.bottoms[0]] == shapes[l.bottoms[1]]:
            l.type = "Eltwise"
            l.params = {0: 1}
        else:
            if _i(l, 1, 0):
                why = ("with a scalar kept as a CPU BinaryOp (Sipeed's converter turns every ADD into an "
                       "Eltwise and drops the scalar)")
            else:
                why = ("of differently shaped blobs (broadcast) kept as a CPU BinaryOp (Sipeed's converter turns "
                       "every ADD into an Eltwise, which adds same-shape tensors only)")
            rewrites.append(Rewrite(l.name, "BinaryOp ADD " + why))
    if fixes:
        rewrites += _rewrite_pooling_modes(m.layers, shapes)
    _round_trip_params(m.layers)
    return Optimized(m, shapes, rewrites)


def npu_float_graph(model: NcnnModel) -> NcnnModel:
    """The float graph to_awnn writes, layer for layer and blob for blob:
    the converter's optimize passes plus maixnn's activation unfusing.  Run it
    in float to measure every blob the table needs (required_scales)."""
    return optimize(model).model


def required_scales(model: NcnnModel) -> Tuple[List[str], List[str]]:
    """(weight_layers, blobs): the table entries to_awnn reads for `model`
    (a float model, or its npu_float_graph - the result is the same):
    ``<layer>_param_0`` for each NPU Convolution / InnerProduct, and every
    blob of the written graph."""
    from .placement import place
    opt = optimize(model)
    weight_layers = []
    for l in opt.model.layers:
        if l.type in ("Convolution", "InnerProduct") and place(opt.model, opt.shapes, l).npu:
            weight_layers.append(l.name)
    return weight_layers, opt.model.blob_names()


__all__ = ["optimize", "npu_float_graph", "required_scales", "unfuse_activations", "infer_shapes", "Optimized",
           "Rewrite", "Shape"]
