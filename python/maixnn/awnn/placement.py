"""What runs where on the V831: NPU or CPU per layer, with the reason
(awnn-format.md section 6), the MACs, and flags for what the board's runtime
refuses (section 13.3/13.6, libmaix-awnn.md).

Two sources of the same report:
* ``place(model, shapes, layer)`` decides, for a float graph the writer is
  about to write, where each layer goes - Sipeed's converter's rules, except
  where they produce a model the board refuses or computes wrongly (then the
  layer stays on the CPU and ``fixes`` says so);
* ``report_awnn_file(param)`` reads an awnn .param (``maixnn info``) and
  reports the device the file asks for, with the same flags.

The time estimate is rough on purpose and prints its assumptions.
"""
from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional, Tuple


from ..ncnn_model import Layer, NcnnModel, conv_geometry
from .params import pint as _i
from .params import pool_window

Shape = Tuple[int, int, int, int]

NPU_MACS_PER_CYCLE = 64
NPU_HZ = 400e6
CPU_HZ = 800e6
CPU_MACS_PER_SECOND = 0.5e9      # float, one Cortex-A7 core with NEON, ncnn-class kernels (assumed)
CPU_ELEMS_PER_SECOND = 0.2e9     # element-wise float work on the CPU (assumed)
BOUNDARY_ELEMS_PER_SECOND = 0.1e9  # int8 <-> float conversion at an NPU/CPU boundary (assumed)
CONCAT_NPU_LIMIT = 8192

ALWAYS_NPU = ("Convolution", "InnerProduct", "BatchNorm", "PReLU", "ReLU", "Split", "Quantize")


class Placement(NamedTuple):
    npu: bool
    reason: str
    fixes: List[str]      # where maixnn decides differently from Sipeed's converter, and why
    flags: List[str]      # what the board runtime refuses or computes differently


def _p(l: Layer, pid: int, default=0):
    v = l.params.get(pid, default)
    return v


def pool_geometry(l: Layer):
    g = pool_window(l)
    return g.kw, g.kh, g.sw, g.sh, g.pl, g.pr, g.pt, g.pb


def _shape(shapes: Dict[str, Shape], blobs: List[str]) -> Shape:
    return shapes.get(blobs[0], (0, 0, 0, 0)) if blobs else (0, 0, 0, 0)


def converter_device(l: Layer) -> int:
    """The device Sipeed's converter writes (section 6), right or wrong."""
    t = l.type
    if t == "Input":
        return 0
    if t in ALWAYS_NPU or t == "Eltwise":
        return 1
    if t == "Pooling":
        kw, kh, sw, sh, pl, pr, pt, pb = pool_geometry(l)
        if (pl + pr + pt + pb > 0 and _i(l, 0) == 1) or kw > 8 or kh > 8:
            return 0
        return 1
    if t == "Concat":
        return 1 if _i(l, 0) == 0 else 0
    if t == "BinaryOp":
        return 1 if _i(l, 0) == 0 else 0
    return 0


def place(model: NcnnModel, shapes: Dict[str, Shape], l: Layer, converter_pooling: bool = False) -> Placement:
    """Where maixnn's writer puts layer `l` of the optimized graph.
    converter_pooling=True keeps the converter's NPU placement of global
    pooling over more than 8x8 and of max pooling with pad_mode 1/3 (which
    the board refuses) - only to compare with the converter's files."""
    t = l.type
    fixes: List[str] = []
    flags: List[str] = []
    if t == "Input":
        dims, w, h, c = _shape(shapes, l.tops)
        if dims == 3 and (w * c) % 8 != 0:
            flags.append("input w*c = %d*%d is not a multiple of 8: the board's runtime refuses it" % (w, c))
        if dims == 3 and c > 3:
            flags.append("input has %d channels: the board's runtime takes at most 3 (an image)" % c)
        return Placement(False, "input: quantized by the runtime", fixes, flags)
    if t == "Convolution":
        pv = float(_p(l, 18, 0.0)) if not isinstance(_p(l, 18, 0.0), list) else 0.0
        if pv != 0.0:
            fixes.append("pad value %g: the NPU pads with 0, kept on the CPU in float (the converter drops "
                         "the pad value and puts it on the NPU)" % pv)
            return Placement(False, "pad value %g (the NPU pads 0)" % pv, fixes, flags)
        return Placement(True, "convolution", fixes, flags)
    if t == "ConvolutionDepthWise":
        return Placement(False, "depthwise/group convolution: always float on the CPU (the converter never "
                                "quantizes it)", fixes, flags)
    if t in ("InnerProduct", "BatchNorm", "PReLU", "Split", "Quantize"):
        return Placement(True, t.lower(), fixes, flags)
    if t == "ReLU":
        return Placement(True, "relu" if abs(float(_p(l, 0, 0.0))) < 1e-6 else "leaky relu (as PReLU)",
                         fixes, flags)
    if t == "Eltwise":
        op = _i(l, 0)
        nb = len(l.bottoms)
        coeffs = _p(l, 1, [])
        coeffs = coeffs if isinstance(coeffs, list) else []
        if op == 2:
            fixes.append("Eltwise MAX: the board's runtime refuses it on the NPU (no CPU fallback); kept on "
                         "the CPU")
            return Placement(False, "Eltwise MAX (refused by the NPU runtime)", fixes, flags)
        if nb > 2:
            fixes.append("Eltwise with %d inputs: the converter aborts its Eltwise pass for it and every later "
                         "Eltwise; kept on the CPU" % nb)
            return Placement(False, "Eltwise with %d inputs (the NPU takes 2)" % nb, fixes, flags)
        if nb < 2:
            return Placement(False, "Eltwise with one input", fixes, flags)
        if op == 1 and coeffs and any(float(c) <= 0 for c in coeffs):
            fixes.append("Eltwise SUM with coefficients %s: the NPU form folds coefficients into positive "
                         "scales; kept on the CPU" % coeffs)
            return Placement(False, "Eltwise with non-positive coefficients", fixes, flags)
        if op == 0:
            fixes.append("Eltwise PROD requantized for a product (scale S0*S1); the converter uses the SUM "
                         "formula, off by a factor S(main)")
            return Placement(True, "Eltwise PROD", fixes, flags)
        return Placement(True, "Eltwise SUM", fixes, flags)
    if t == "Pooling":
        kw, kh, sw, sh, pl, pr, pt, pb = pool_geometry(l)
        ptype = _i(l, 0)
        mode = _i(l, 5)
        dims, w, h, c = _shape(shapes, l.bottoms)
        if ptype not in (0, 1):
            return Placement(False, "pooling type %d" % ptype, fixes, flags)
        if _i(l, 4) == 1:
            if (w > 8 or h > 8) and dims == 3:
                msg = "global pooling over %dx%d (> 8): the board's runtime refuses it" % (w, h)
                if converter_pooling:
                    flags.append(msg)
                    return Placement(True, "global pooling (converter placement)", fixes, flags)
                fixes.append(msg + "; kept on the CPU (the converter puts it on the NPU)")
                return Placement(False, "global pooling window %dx%d > 8" % (w, h), fixes, flags)
            return Placement(True, "global pooling", fixes, flags)
        if pl + pr + pt + pb > 0 and ptype == 1:
            return Placement(False, "average pooling with padding", fixes, flags)
        if kw > 8 or kh > 8:
            return Placement(False, "pooling kernel %dx%d > 8" % (kw, kh), fixes, flags)
        if mode in (1, 3):
            msg = "pooling pad_mode %d: the board's runtime refuses it" % mode
            if converter_pooling:
                flags.append(msg)
                return Placement(True, "pooling (converter placement)", fixes, flags)
            fixes.append(msg + "; kept on the CPU (the converter puts it on the NPU)")
            return Placement(False, "pooling pad_mode %d (refused by the runtime)" % mode, fixes, flags)
        if ptype == 1 and dims == 3:
            tail_w = (w + pl + pr - kw) % sw if mode == 0 else 0
            tail_h = (h + pt + pb - kh) % sh if mode == 0 else 0
            same_pad = mode == 2 and (kw + (w - 1) // sw * sw - w > 0 or kh + (h - 1) // sh * sh - h > 0)
            if tail_w or tail_h or same_pad:
                flags.append("average pooling whose window runs past the edge: the NPU divides by the whole "
                             "kernel, ncnn by the count of real elements")
        return Placement(True, "pooling", fixes, flags)
    if t == "Concat":
        if _i(l, 0) != 0:
            return Placement(False, "Concat off axis 0 (axis %d)" % _i(l, 0), fixes, flags)
        if l.tops and l.tops[0] in shapes and shapes[l.tops[0]][3] > CONCAT_NPU_LIMIT:
            flags.append("Concat to %d channels, over %d [limit named in issue 10, no source in the reference "
                         "files]" % (shapes[l.tops[0]][3], CONCAT_NPU_LIMIT))
        return Placement(True, "Concat on axis 0 (byte copy)", fixes, flags)
    if t == "BinaryOp":
        return Placement(False, "BinaryOp (not an ADD of two same-shape blobs)", fixes, flags)
    return Placement(False, "%s: no NPU form" % t, fixes, flags)


# ------------------------------------------------------------------ cost

def layer_macs(l: Layer, shapes: Dict[str, Shape]) -> int:
    """Multiply-accumulates of a Convolution / DW / InnerProduct; for other
    layers the number of input elements they touch (an "op" count)."""
    t = l.type
    out = shapes.get(l.tops[0]) if l.tops else None
    inp = shapes.get(l.bottoms[0]) if l.bottoms else None

    def n(s):
        return 0 if s is None else s[1] * s[2] * s[3]

    if t in ("Convolution", "ConvolutionDepthWise") and out is not None and inp is not None:
        g = conv_geometry(l, inp[1], inp[2])
        group = _i(l, 7, 1) if t == "ConvolutionDepthWise" else 1
        return out[1] * out[2] * out[3] * g.kernel_w * g.kernel_h * inp[3] // max(group, 1)
    if t == "InnerProduct" and inp is not None:
        return _i(l, 0) * n(inp)
    if t == "Pooling" and inp is not None and out is not None:
        if _i(l, 4):
            return n(inp)
        kw, kh = pool_geometry(l)[:2]
        return n(out) * kw * kh
    return sum(n(shapes.get(b)) for b in l.bottoms)


class Row(NamedTuple):
    name: str
    type: str
    device: str          # "NPU" / "CPU"
    reason: str
    macs: int
    flags: List[str]
    fixes: List[str]


class Estimate(NamedTuple):
    npu_macs: int
    cpu_macs: int
    npu_ms: float
    cpu_ms: float
    boundary_ms: float
    boundaries: int

    @property
    def total_ms(self) -> float:
        return self.npu_ms + self.cpu_ms + self.boundary_ms


ASSUMPTIONS = ("rough estimate: NPU %d int8 MAC/cycle at %d MHz, fully used; CPU layers in float on one "
               "Cortex-A7 at %d MHz at %.1f GMAC/s (conv/FC) and %.1f G elements/s (other layers); "
               "%.1f G elements/s to convert a blob at each NPU<->CPU boundary; memory traffic, NPU "
               "setup per layer and the camera are not counted"
               % (NPU_MACS_PER_CYCLE, NPU_HZ / 1e6, CPU_HZ / 1e6, CPU_MACS_PER_SECOND / 1e9,
                  CPU_ELEMS_PER_SECOND / 1e9, BOUNDARY_ELEMS_PER_SECOND / 1e9))


def estimate(rows: List[Row], layers: List[Layer], shapes: Dict[str, Shape]) -> Estimate:
    npu = sum(r.macs for r in rows if r.device == "NPU")
    cpu_heavy = sum(r.macs for r, l in zip(rows, layers) if r.device == "CPU"
                    and l.type in ("Convolution", "ConvolutionDepthWise", "InnerProduct"))
    cpu_light = sum(r.macs for r, l in zip(rows, layers) if r.device == "CPU" and l.type != "Input"
                    and l.type not in ("Convolution", "ConvolutionDepthWise", "InnerProduct"))
    device_of = {}
    for r, l in zip(rows, layers):
        for t in l.tops:
            device_of[t] = r.device
    boundary_elems, boundaries = 0, 0
    for r, l in zip(rows, layers):
        if l.type == "Input":
            continue
        for b in l.bottoms:
            if device_of.get(b) and device_of[b] != r.device and b in shapes:
                s = shapes[b]
                boundary_elems += s[1] * s[2] * s[3]
                boundaries += 1
    return Estimate(npu, cpu_heavy + cpu_light, 1e3 * npu / (NPU_MACS_PER_CYCLE * NPU_HZ),
                    1e3 * (cpu_heavy / CPU_MACS_PER_SECOND + cpu_light / CPU_ELEMS_PER_SECOND),
                    1e3 * boundary_elems / BOUNDARY_ELEMS_PER_SECOND, boundaries)


def format_rows(rows: List[Row], est: Optional[Estimate] = None) -> str:
    w = max([len(r.name) for r in rows] + [4])
    tw = max([len(r.type) for r in rows] + [4])
    lines = ["%-*s  %-*s  %-3s  %12s  %s" % (w, "name", tw, "type", "dev", "MACs/ops", "reason")]
    for r in rows:
        lines.append("%-*s  %-*s  %-3s  %12d  %s" % (w, r.name, tw, r.type, r.device, r.macs, r.reason))
        for f in r.fixes:
            lines.append("%*s  maixnn: %s" % (w, "", f))
        for f in r.flags:
            lines.append("%*s  FLAG: %s" % (w, "", f))
    if est is not None:
        lines.append("NPU: %d MACs, ~%.3f ms; CPU: %d MACs/ops, ~%.3f ms; %d NPU<->CPU boundaries, ~%.3f ms; "
                     "total ~%.3f ms/frame" % (est.npu_macs, est.npu_ms, est.cpu_macs, est.cpu_ms,
                                               est.boundaries, est.boundary_ms, est.total_ms))
        lines.append("(" + ASSUMPTIONS + ")")
    return "\n".join(lines)


# ------------------------------------------------------------------ reports

class PlacementReport(NamedTuple):
    rows: List[Row]
    estimate: Estimate
    source: str

    def text(self) -> str:
        return "V831 placement (%s)\n%s" % (self.source, format_rows(self.rows, self.estimate))

    def __str__(self) -> str:
        return self.text()


def is_awnn_model(model: NcnnModel) -> bool:
    """An awnn .param: layers carry -23328 (device) or an int8 NPU flag 20=1
    on a Convolution/InnerProduct."""
    return any(28 in l.params or (l.type in ("Convolution", "InnerProduct") and _i(l, 20) == 1)
               for l in model.layers)


SHIFT_PARAMS = {"Convolution": (22, 27), "InnerProduct": (22, 27), "Pooling": (22,), "ReLU": (22,),
                "PReLU": (22,), "BatchNorm": (22,), "Quantize": (22,), "Eltwise": (22, 18)}


def _file_flags(l: Layer, shapes: Dict[str, Shape], npu: bool) -> List[str]:
    flags: List[str] = []
    t = l.type
    if t == "Input":
        return place(NcnnModel([l]), shapes, l).flags
    if not npu:
        return flags
    for pid in SHIFT_PARAMS.get(t, ()):
        if pid in l.params and not 0 <= _i(l, pid) <= 63:
            flags.append("shift %d=%d is outside the NPU's 6-bit field 0..63 (requantize ratio above 32767): "
                         "the result is undefined" % (pid, _i(l, pid)))
    if t == "Eltwise":
        if _i(l, 0) == 2:
            flags.append("Eltwise MAX on the NPU: the board's runtime refuses it (no CPU fallback)")
        if len(l.bottoms) > 2:
            flags.append("Eltwise with %d inputs: the NPU takes 2" % len(l.bottoms))
        if len(l.bottoms) == 2 and 16 not in l.params and 17 not in l.params and 20 not in l.params:
            flags.append("Eltwise without requantize params (16-22): the converter's Eltwise pass was aborted")
    elif t == "Pooling":
        kw, kh, sw, sh, pl, pr, pt, pb = pool_geometry(l)
        dims, w, h, c = shapes.get(l.bottoms[0], (0, 0, 0, 0))
        if _i(l, 4) == 1 and dims == 3 and (w > 8 or h > 8):
            flags.append("global pooling over %dx%d (> 8) on the NPU: the board's runtime refuses it" % (w, h))
        if _i(l, 5) in (1, 3):
            flags.append("pooling pad_mode %d on the NPU: the board's runtime refuses it" % _i(l, 5))
        if _i(l, 0) == 1 and pl + pr + pt + pb > 0:
            flags.append("padded average pooling on the NPU: the board's runtime refuses it")
        if kw > 8 or kh > 8:
            flags.append("pooling kernel %dx%d on the NPU (PDP takes up to 8)" % (kw, kh))
        pflags = place(NcnnModel([l]), shapes, l, converter_pooling=True).flags
        flags += [f for f in pflags if "past the edge" in f]
    elif t == "Concat":
        if _i(l, 0) != 0:
            flags.append("Concat on axis %d on the NPU (the NPU copies along channels only)" % _i(l, 0))
        flags += place(NcnnModel([l]), shapes, l).flags
    elif t in ("Convolution", "InnerProduct") and _i(l, 9) != 0:
        flags.append("fused activation 9=%d on an NPU layer: what the NPU does with it is unknown" % _i(l, 9))
    elif t == "ConvolutionDepthWise":
        flags.append("ConvolutionDepthWise marked for the NPU: its weights are float, the runtime's NPU path "
                     "is not known to take it")
    return flags


def report_awnn_model(model: NcnnModel, source: str = "<awnn model>") -> PlacementReport:
    """The placement an awnn .param asks for (its -23328 devices), with MACs
    and the flags for what the board's runtime refuses."""
    from .optimize import infer_shapes
    shapes = infer_shapes(model, strict=False)
    rows = []
    for l in model.layers:
        dev = l.params.get(28)
        npu = bool(dev[0]) if isinstance(dev, list) and dev else bool(converter_device(l))
        mine = place(model, shapes, l, converter_pooling=True) if l.type != "Input" else None
        if l.type == "Input":
            reason = "input: quantized by the runtime"
        elif mine is not None and mine.npu == npu:
            reason = mine.reason
        else:
            reason = "set to %s in the file" % ("NPU" if npu else "CPU")
        rows.append(Row(l.name, l.type, "NPU" if npu else "CPU", reason, layer_macs(l, shapes),
                        _file_flags(l, shapes, npu), []))
    return PlacementReport(rows, estimate(rows, model.layers, shapes), source)


def report_float_model(model: NcnnModel, source: str = "<float model>") -> PlacementReport:
    """Where maixnn's awnn writer would put each layer of a float model (the
    graph after the converter's optimize passes and the activation unfusing);
    flags that need the table (requantize shifts) are checked by to_awnn."""
    from .optimize import optimize
    opt = optimize(model)
    rows = []
    for l in opt.model.layers:
        pl = place(opt.model, opt.shapes, l)
        rtype = l.type
        if l.type == "ReLU" and abs(float(_p(l, 0, 0.0))) >= 1e-6:
            rtype = "PReLU"
        rows.append(Row(l.name, rtype, "NPU" if pl.npu else "CPU", pl.reason, layer_macs(l, opt.shapes),
                        list(pl.flags), [r.what for r in opt.rewrites if r.layer == l.name] + list(pl.fixes)))
    return PlacementReport(rows, estimate(rows, opt.model.layers, opt.shapes), source)


def placement_report(model) -> PlacementReport:
    """Per-layer NPU/CPU report of an awnn model or of a float model headed
    for the awnn writer: `model` is an NcnnModel or a .param path."""
    source = "<model>"
    if not isinstance(model, NcnnModel):
        source = str(model)
        model = NcnnModel.load(source)
    if is_awnn_model(model):
        return report_awnn_model(model, source)
    return report_float_model(model, source)
