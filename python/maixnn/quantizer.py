"""int8 post-training quantization: ncnn2table + ncnn2int8, on maixnn's engine.

    r = maixnn.quantize("out/m", "out/m_int8", images="calib/", mean=[0.485, 0.456, 0.406],
                        std=[0.229, 0.224, 0.225], method="percentile")
    r.param, r.bin, r.table, r.mud, r.json      # the files written
    r.layers                                     # per-layer scales, thresholds, int8 or float

Steps:
1. calibrate: run the float model (maixnn's C engine) over the calibration set
   and gather the bottom blob of every Convolution / ConvolutionDepthWise /
   InnerProduct; weight scales per output channel (per group for depthwise)
   127/absmax; one activation scale per tensor by `method` (see METHODS).
2. write out_base.table in ncnn2table's format:
       <layer>_param_0 s0 s1 ...     weight scales, one line per layer, then
       <layer> s                     the scale of the layer's input blob
   (values "%f " as ncnn2table prints them; a value %f would blur, e.g. a
   scale below 0.01, is printed with 9 significant digits instead, which ncnn's
   reader accepts too).  Deleting a layer's lines keeps it float.
3. build out_base.param/.bin from that table as ncnn2int8 does: Convolution and
   InnerProduct get 8=2, ConvolutionDepthWise 8=1; weights int8 (tag
   0x000D4B38), then weight scales and the bottom scale (raw float32); a
   convolution whose output goes only to an int8 convolution (directly or
   through a Split whose every branch is an int8 convolution) is fused to
   requantize (8=102 / 101, top_scale = the next layer's bottom scale).
   Float layers keep float32 weights (ncnn2int8 stores them fp16).
4. write out_base.mud (libmaix's model description) and out_base.json (the
   preprocessing contract, calibration method, per-layer scales).

quantize_from_table() does steps 3-4 from an existing (possibly hand-edited)
table.  Nothing is ever written over an input file.
"""
from __future__ import annotations

import json
import os
import warnings
from collections import OrderedDict
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import calibration as cal
from .calibration import QUANTIZABLE_TYPES, CalibrationWarning
from .cli import number_list
from .errors import ModelFormatError, OptionError, UnsupportedOperatorError, path_argument
from .ncnn_model import Layer, NcnnModel, Weight, atomic_write, atomic_write_many
from .nn import mud_dims, mud_text
from .preprocess import RESIZE_HELP, Dataset, Preprocess, PreprocessWarning, resize_option
from .summary import parse_shape

METHODS = {
    "minmax": "threshold = max |x| over the calibration set",
    "kl": "ncnn2table's entropy calibration (2048-bin |x| histogram, KL over 128 levels)",
    "percentile": "threshold = the given percentile of |x| (zeros included)",
    "aciq": "ncnn2table's ACIQ Gaussian clipping from max |x| and the tensor size",
    "eq": "kl, then per-layer search of weight and activation scales in [0.5x, 2x] "
          "minimising the layer's output error (ncnn2table's eq)",
}
# The default method: on the model zoo (benchmarks/compare_methods.py, README "int8") minmax and
# percentile tie (mean output cosine 0.999955 over 13 models, 5 wins each; kl 0.99937, aciq
# 0.99995); percentile is the one of the two that a single outlier in the calibration set
# cannot stretch.
DEFAULT_METHOD = "percentile"
ENGINES = ("maixnn", "ncnn")
TARGETS = {
    "ncnn": "ncnn int8 (ncnn2table/ncnn2int8 style), runs on the CPU with ncnn or maixnn's engine",
    "awnn": "the V831 NPU's own int8 format (Sipeed's converter's table + awnn .param/.bin/.mud; "
            "maixnn.awnn_calibration)",
}
JSON_FORMAT = "maixnn-int8"
JSON_VERSION = 1


# ================================================================== table

def format_scale(v: float) -> str:
    """ncnn2table prints "%f"; that keeps 6 decimals, too few for small
    scales, which then get 9 significant digits (ncnn reads both)."""
    v = float(v)
    text = "%f" % v
    if v != 0 and abs(float(text) - v) > 1e-7 * abs(v):
        text = "%.9g" % v
    return text


class ScaleTable:
    """ncnn2table's calibration table: weight scales and input-blob scale per
    layer, both keyed by layer name, in model order."""

    def __init__(self):
        self.weight: "OrderedDict[str, np.ndarray]" = OrderedDict()
        self.bottom: "OrderedDict[str, np.ndarray]" = OrderedDict()

    def set(self, layer: str, weight_scales: Sequence[float], bottom_scale: float) -> None:
        self.weight[layer] = np.asarray(weight_scales, np.float32).reshape(-1)
        self.bottom[layer] = np.asarray([bottom_scale], np.float32)

    def remove(self, layer: str) -> None:
        self.weight.pop(layer, None)
        self.bottom.pop(layer, None)

    def layers(self) -> List[str]:
        """Layers with both lines, in table order."""
        return [n for n in self.bottom if n in self.weight]

    def __contains__(self, layer: str) -> bool:
        return layer in self.bottom and layer in self.weight

    def copy(self) -> "ScaleTable":
        t = ScaleTable()
        t.weight = OrderedDict((k, v.copy()) for k, v in self.weight.items())
        t.bottom = OrderedDict((k, v.copy()) for k, v in self.bottom.items())
        return t

    def text(self) -> str:
        lines = []
        for name, scales in self.weight.items():
            lines.append("%s_param_0 %s" % (name, "".join(format_scale(s) + " " for s in scales)))
        for name, scales in self.bottom.items():
            lines.append("%s %s" % (name, "".join(format_scale(s) + " " for s in scales)))
        return "\n".join(lines) + ("\n" if lines else "")

    def write(self, path: str) -> None:
        atomic_write(path, self.text().encode("utf-8"))

    @classmethod
    def parse(cls, text: str, where: str = "<table>") -> "ScaleTable":
        """Lines `key v1 v2 ...`; keys containing _param_ are weight scales
        (only _param_0 exists for these layers), others activation scales.
        Blank lines and lines starting with # are skipped (for hand edits)."""
        t = cls()
        for lineno, line in enumerate(text.splitlines(), start=1):
            tok = line.split()
            if not tok or tok[0].startswith("#"):
                continue
            key = tok[0]
            try:
                values = np.asarray([float(v) for v in tok[1:]], np.float64)
            except ValueError:
                raise ModelFormatError("%s line %d: %r: scales must be numbers" % (where, lineno, line.strip())) \
                    from None
            if values.size == 0:
                raise ModelFormatError("%s line %d: %s has no scale values" % (where, lineno, key))
            if not np.all(np.isfinite(values)):
                raise ModelFormatError("%s line %d: %s has a non-finite scale (inf/nan); a zero weight row "
                                       "takes scale 0" % (where, lineno, key))
            if "_param_" in key:
                name, _, index = key.rpartition("_param_")
                if index != "0":
                    raise ModelFormatError("%s line %d: %s: Convolution/InnerProduct layers have only "
                                           "_param_0 weight scales" % (where, lineno, key))
                if name in t.weight:
                    raise ModelFormatError("%s line %d: %s appears twice" % (where, lineno, key))
                t.weight[name] = values.astype(np.float32)
            else:
                if key in t.bottom:
                    raise ModelFormatError("%s line %d: %s appears twice" % (where, lineno, key))
                t.bottom[key] = values.astype(np.float32)
        return t

    @classmethod
    def read(cls, path: str) -> "ScaleTable":
        try:
            with open(path, "r", encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as e:
            raise ModelFormatError("%s: cannot read the calibration table (%s)" % (path, e)) from None
        return cls.parse(text, path)


def read_table(path: str) -> ScaleTable:
    return ScaleTable.read(path)


# ================================================================== int8 model

class BuildReport:
    """What build_int8_model did."""

    def __init__(self):
        self.quantized: List[str] = []
        self.float_layers: "OrderedDict[str, str]" = OrderedDict()   # name -> why
        self.fused: List[Tuple[str, str]] = []                        # (conv, next conv or split)
        self.notes: List[str] = []


def _copy_layer(l: Layer) -> Layer:
    params = {k: (list(v) if isinstance(v, list) else v) for k, v in l.params.items()}
    return Layer(l.type, l.name, l.bottoms, l.tops, params, [Weight(w.name, w.data, w.kind) for w in l.weights])


def quantizable_layers(model: NcnnModel) -> List[Layer]:
    return [l for l in model.layers if l.type in QUANTIZABLE_TYPES]


def _check_float_model(model: NcnnModel, where: str) -> None:
    for l in quantizable_layers(model):
        if l.int_param(8):
            raise ModelFormatError("%s: layer %s (%s) is already int8 (8=%d): quantize the float model"
                                   % (where, l.name, l.type, l.int_param(8)))
        w = l.weight("weight")
        if w is None or w.data.dtype == np.int8:
            raise ModelFormatError("%s: layer %s (%s) has no float weights" % (where, l.name, l.type))


def _check_layer_names(model: NcnnModel, names: Iterable[str], what: str, error=OptionError) -> None:
    by_name = {l.name: l for l in model.layers}
    candidates = [l.name for l in quantizable_layers(model)]
    for n in names:
        if n not in by_name:
            raise error("%s names layer '%s', which the model does not have; quantizable layers: %s"
                        % (what, n, ", ".join(candidates[:40]) + (" ..." if len(candidates) > 40 else "")))
        if by_name[n].type not in QUANTIZABLE_TYPES:
            raise error("%s names layer '%s' (%s): only %s layers are quantized"
                        % (what, n, by_name[n].type, "/".join(QUANTIZABLE_TYPES)))


def build_int8_model(model: NcnnModel, table: ScaleTable, float_layers: Iterable[str] = (),
                     where: str = "<table>") -> Tuple[NcnnModel, BuildReport]:
    """The int8 model for `model` (float, unchanged) and `table`, as
    ncnn2int8 writes it.  A layer stays float when it is in float_layers or
    has no activation line in the table."""
    _check_float_model(model, "float model")
    float_layers = list(float_layers)
    _check_layer_names(model, float_layers, "float_layers")
    _check_layer_names(model, list(table.weight) + list(table.bottom), where, ModelFormatError)
    report = BuildReport()
    out = NcnnModel([_copy_layer(l) for l in model.layers])
    bottom_scale: Dict[str, float] = {}

    for l in out.layers:
        if l.type not in QUANTIZABLE_TYPES:
            continue
        if l.name in float_layers:
            report.float_layers[l.name] = "float_layers"
            continue
        if l.name not in table.bottom:
            report.float_layers[l.name] = "no activation scale line in the table"
            continue
        if l.name not in table.weight:
            raise ModelFormatError("%s: layer %s has an activation scale line but no %s_param_0 weight "
                                   "scale line (delete both lines to keep it float)" % (where, l.name, l.name))
        rows = cal.weight_rows(l)
        ws = np.asarray(table.weight[l.name], np.float32)
        if ws.size != rows:
            raise ModelFormatError("%s: %s_param_0 has %d weight scales, layer %s (%s) needs %d (%s)"
                                   % (where, l.name, ws.size, l.name, l.type, rows,
                                      "one per group" if l.type == "ConvolutionDepthWise"
                                      else "one per output channel"))
        if np.any(ws < 0):
            raise ModelFormatError("%s: %s_param_0 has negative weight scales" % (where, l.name))
        bs = np.asarray(table.bottom[l.name], np.float32)
        if bs.size != 1:
            raise ModelFormatError("%s: layer %s needs exactly one activation scale, the table gives %d"
                                   % (where, l.name, bs.size))
        if not bs[0] > 0:
            raise ModelFormatError("%s: layer %s: the activation scale must be > 0, got %g"
                                   % (where, l.name, float(bs[0])))
        w = l.weight("weight").data.astype(np.float32)
        if w.size % rows:
            raise ModelFormatError("layer %s: %d weights do not split into %d rows" % (l.name, w.size, rows))
        q = cal.float2int8(w.reshape(rows, -1) * ws.reshape(rows, 1)).reshape(-1)
        weights = [Weight("weight", q, "tagged")]
        bias = l.weight("bias")
        if bias is not None:
            weights.append(bias)
        weights.append(Weight("weight_scales", ws, "raw"))
        weights.append(Weight("bottom_scale", bs, "raw"))
        l.weights = weights
        l.params[8] = 1 if l.type == "ConvolutionDepthWise" else 2
        bottom_scale[l.name] = float(bs[0])
        report.quantized.append(l.name)

    _fuse_requantize(out, bottom_scale, report)
    if not report.quantized:
        report.notes.append("no layer was quantized (all kept float): the model written is the float model")
    return out, report


def _is_int8_conv(l: Layer) -> bool:
    return l.type in ("Convolution", "ConvolutionDepthWise") and l.int_param(8) in (1, 2, 101, 102)


def _fuse_requantize(model: NcnnModel, bottom_scale: Dict[str, float], report: BuildReport) -> None:
    """ncnn2int8's fuse_requantize: conv -> conv and conv -> Split -> convs."""
    layers = model.layers
    consumers: Dict[str, List[int]] = {}
    for idx, l in enumerate(layers):
        for b in l.bottoms:
            consumers.setdefault(b, []).append(idx)

    def conv_consumer(blob: str, after: int) -> Optional[Layer]:
        for j in consumers.get(blob, []):
            c = layers[j]
            if j > after and c.type in ("Convolution", "ConvolutionDepthWise") and len(c.bottoms) == 1:
                return c
        return None

    def fuse(i: Layer, scale: float, target: str) -> None:
        i.params[8] = i.int_param(8) + 100
        i.weights.append(Weight("top_scale", np.asarray([scale], np.float32), "raw"))
        report.fused.append((i.name, target))

    # conv -> conv
    for idx, l in enumerate(layers):
        if not _is_int8_conv(l) or l.int_param(8) > 100 or not l.tops:
            continue
        nxt = conv_consumer(l.tops[0], idx)
        if nxt is not None and _is_int8_conv(nxt):
            fuse(l, bottom_scale[nxt.name], nxt.name)
    # conv -> Split -> every branch an int8 conv
    for idx, l in enumerate(layers):
        if not _is_int8_conv(l) or l.int_param(8) > 100 or not l.tops:
            continue
        split = None
        for j in consumers.get(l.tops[0], []):
            if j > idx and layers[j].type == "Split" and len(layers[j].bottoms) == 1:
                split = layers[j]
                break
        if split is None or not split.tops:
            continue
        branches = [conv_consumer(t, layers.index(split)) for t in split.tops]
        if any(b is None or not _is_int8_conv(b) for b in branches):
            continue
        scales = [bottom_scale[b.name] for b in branches]
        if any(s != scales[0] for s in scales):
            # ncnn2int8 would requantize with the first branch's scale while the
            # others dequantize with their own: wrong numbers.  Keep float output.
            report.notes.append("%s not fused into %s: its branches have different activation scales %s"
                                % (l.name, split.name, ", ".join("%s=%g" % (b.name, s)
                                                                for b, s in zip(branches, scales))))
            continue
        fuse(l, scales[0], split.name)


# ================================================================== calibration

class LayerCalibration:
    """Calibration result of one quantizable layer."""

    def __init__(self, layer: Layer):
        self.name = layer.name
        self.type = layer.type
        self.bottom_blob = layer.bottoms[0] if layer.bottoms else ""
        self.top_blob = layer.tops[0] if layer.tops else ""
        self.weight_scales = cal.weight_scales(layer)
        self.zero_weight_rows = int(np.sum(self.weight_scales == 0))
        self.absmax = 0.0
        self.threshold: Optional[float] = None
        self.bottom_scale = cal.FALLBACK_ACTIVATION_SCALE
        self.fallback = False
        self.threshold_source = ""                    # see calibration.choose_threshold
        self.clipped: Optional[float] = None          # share of calibration values above the threshold
        self.method_threshold: Optional[float] = None  # before the input rule / clipping guard

    def to_dict(self) -> Dict[str, Any]:
        return {"name": self.name, "type": self.type, "bottom_blob": self.bottom_blob,
                "absmax": self.absmax, "threshold": self.threshold, "bottom_scale": self.bottom_scale,
                "activation_fallback": self.fallback, "zero_weight_rows": self.zero_weight_rows,
                "threshold_source": self.threshold_source, "clipped": self.clipped,
                "method_threshold": self.method_threshold,
                "weight_scales": [float(s) for s in self.weight_scales]}


class Calibration:
    """Output of calibrate(): per-layer scales (all quantizable layers)."""

    def __init__(self, method: str, preprocess: Preprocess, images: int, source: str, engine: str):
        self.method = method
        self.preprocess = preprocess
        self.images = images
        self.source = source
        self.engine = engine
        self.layers: "OrderedDict[str, LayerCalibration]" = OrderedDict()
        self.output_shapes: "OrderedDict[str, Tuple[int, ...]]" = OrderedDict()
        self.warnings: List[str] = []
        self.options: Dict[str, Any] = {}
        self.blob_stats: Dict[str, cal.BlobStats] = {}
        self.input_range: Optional[float] = None  # exact max |x| of the input (None: float tensors given)

    def table(self, exclude: Iterable[str] = ()) -> ScaleTable:
        exclude = set(exclude)
        t = ScaleTable()
        for name, lc in self.layers.items():
            if name not in exclude:
                t.set(name, lc.weight_scales, lc.bottom_scale)
        return t


class _FloatRunner:
    """The float model on maixnn's engine (or the official ncnn wheel, to
    cross-check): x (c, h, w) float32 -> {blob: array}."""

    def __init__(self, param: str, bin: str, model: NcnnModel, engine: str):
        self.engine = engine
        if engine == "maixnn":
            from .runtime import Net
            self.net = Net(param, bin)
            self.output_names = list(self.net.output_names)
            self.input_name = self.net.input_names[0]
        else:
            try:
                import ncnn
            except ImportError:
                raise OptionError("engine='ncnn' needs the official ncnn wheel (pip install ncnn)") from None
            net = ncnn.Net()
            net.opt.use_fp16_storage = False
            net.opt.use_fp16_arithmetic = False
            net.opt.use_fp16_packed = False
            net.opt.num_threads = 1
            if net.load_param(param) != 0 or net.load_model(bin) != 0:
                raise ModelFormatError("the ncnn wheel cannot load %s / %s" % (param, bin))
            self.net = net
            self.output_names = model.output_names()
            self.input_name = model.input_names()[0]

    def __call__(self, x: np.ndarray, names: Sequence[str]) -> Dict[str, np.ndarray]:
        x = np.ascontiguousarray(x, dtype=np.float32)
        if self.engine == "maixnn":
            return self.net.forward(x, outputs=list(names))
        import ncnn
        mat = ncnn.Mat(x)  # wraps x: x and mat stay alive until extract returned
        ex = self.net.create_extractor()
        ex.input(self.input_name, mat)
        out = {}
        for n in names:
            ret, m = ex.extract(n)
            if ret != 0:
                raise ModelFormatError("the ncnn wheel cannot compute blob %s" % n)
            out[n] = np.array(m, dtype=np.float32).copy()
        del ex, mat
        return out


def _paths(base: str) -> Tuple[str, str]:
    base = _strip_ext(base)
    return base + ".param", base + ".bin"


def _strip_ext(base: str) -> str:
    base = path_argument(base, "model base path")
    for ext in (".param", ".bin"):
        if base.endswith(ext):
            return base[:-len(ext)]
    return base


def _load_float_model(float_base: str) -> Tuple[NcnnModel, str, str]:
    param, binp = _paths(float_base)
    for p in (param, binp):
        if not os.path.isfile(p):
            raise OptionError("float model file %s does not exist (float_base=%r)" % (p, float_base))
    model = NcnnModel.load(param, binp)
    _check_float_model(model, param)
    if len(model.input_names()) != 1:
        raise UnsupportedOperatorError("%s has %d inputs; quantization supports models with one input"
                                       % (param, len(model.input_names())))
    return model, param, binp


def model_input_size(model: NcnnModel, input_size, where: str) -> Tuple[int, int, int]:
    """The (c, h, w) the model's Input layer declares, or `input_size` ((c, h, w)
    or text "3,224,224") where it declares none; a given size that contradicts
    the declared one is an error."""
    declared = None
    for l in model.layers:
        if l.type == "Input":
            w, h, c = (l.int_param(0), l.int_param(1), l.int_param(2))
            if w > 0 and h > 0 and c > 0:
                declared = (c, h, w)
    if input_size is not None:
        if isinstance(input_size, str):
            input_size = parse_shape(input_size)
        try:
            size = tuple(int(v) for v in input_size)
        except (TypeError, ValueError):
            raise OptionError("input_size must be (c, h, w), got %r" % (input_size,)) from None
        if len(size) != 3:
            raise OptionError("input_size must be (c, h, w), got %r" % (input_size,))
        if declared is not None and size != declared:
            raise OptionError("input_size %s differs from the size the model declares, (c, h, w) = %s"
                              % (size, declared))
        return size
    if declared is None:
        raise OptionError("%s does not declare its input size: give input_size=(c, h, w)" % where)
    return declared


def calibrate(float_base: str, images, preprocess: Preprocess, method: str = DEFAULT_METHOD,
              percentile: float = 99.99, eq_images: int = 20, eq_steps: int = 100,
              max_images: Optional[int] = None, progress: bool = True,
              engine: str = "maixnn", extra_blobs: Sequence[str] = ()) -> Calibration:
    """Scales for every quantizable layer of the float model, without writing
    anything (the analyzer uses this directly).  The statistics of every blob
    gathered (the quantizable layers' inputs, plus `extra_blobs`, in the same
    passes over the data) are kept in result.blob_stats."""
    _check_method(method, percentile, eq_images, eq_steps, engine)
    model, param, binp = _load_float_model(float_base)
    size = model_input_size(model, preprocess.size, param)
    if tuple(size) != tuple(preprocess.size):
        raise OptionError("preprocessing size %s differs from the model input %s" % (preprocess.size, size))
    dataset = Dataset(images, preprocess, limit=max_images)
    result = Calibration(method, preprocess, len(dataset), dataset.description, engine)
    if len(dataset) < cal.MIN_SAMPLES.get(method, 1):
        cal.warn("calibrating with %d samples: method %s needs at least %d for stable statistics; add images "
                 "(a few hundred is typical) or use --method minmax" % (len(dataset), method,
                                                                       cal.MIN_SAMPLES[method]), result.warnings)
    result.options = {"percentile": percentile} if method == "percentile" else \
        ({"eq_images": min(eq_images, len(dataset)), "eq_steps": eq_steps} if method == "eq" else {})
    qlayers = quantizable_layers(model)
    if not qlayers:
        raise UnsupportedOperatorError("%s has no Convolution, ConvolutionDepthWise or InnerProduct layer "
                                       "to quantize" % param)
    for l in qlayers:
        if len(l.bottoms) != 1:
            raise UnsupportedOperatorError("layer %s (%s) has %d inputs; quantization needs one"
                                           % (l.name, l.type, len(l.bottoms)))
        result.layers[l.name] = LayerCalibration(l)
    runner = _FloatRunner(param, binp, model, engine)
    blobs = list(OrderedDict((b, None) for b in [lc.bottom_blob for lc in result.layers.values()]
                             + list(extra_blobs)))
    stats = {b: cal.BlobStats(b) for b in blobs}
    result.blob_stats = stats

    # pass 1: absolute maxima (and the output shapes, for the .mud)
    want = blobs + [n for n in runner.output_names if n not in blobs]
    for i in cal.progress_range(len(dataset), "calibrate: max |x|", progress):
        x = dataset[i]
        out = runner(x, want if i == 0 else blobs)
        if i == 0:
            for n in runner.output_names:
                result.output_shapes[n] = tuple(out[n].shape)
        for b in blobs:
            stats[b].add_absmax(out[b])

    # pass 2: histograms (the percentile one also measures what each threshold clips)
    need_kl = method in ("kl", "eq")
    need_pct = method != "minmax"
    live = [b for b in blobs if stats[b].absmax > 0]
    if (need_kl or need_pct) and live:
        for i in cal.progress_range(len(dataset), "calibrate: histograms", progress):
            out = runner(dataset[i], live)
            for b in live:
                stats[b].add_histograms(out[b], need_kl, need_pct)

    # the network input's range is known: from the preprocessing for images, max |x| for tensors
    input_range = None if dataset.has_tensors else preprocess.input_absmax()
    result.input_range = input_range
    for lc in result.layers.values():
        s = stats[lc.bottom_blob]
        lc.absmax = s.absmax
        choice = cal.choose_threshold(s, method, percentile, input_range,
                                      is_input=input_rooted(model, lc.bottom_blob))
        threshold = choice.threshold
        lc.threshold_source, lc.clipped, lc.method_threshold = choice.source, choice.clipped, choice.method_threshold
        if choice.source == "guard":
            cal.warn("layer %s: the %s threshold %.6g would clip %.2f%% of its input %s; raised to %.6g "
                     "(clips %.2f%%)" % (lc.name, method, choice.method_threshold,
                                          100.0 * cal.clipped_share(s, choice.method_threshold), lc.bottom_blob,
                                          threshold, 100.0 * (choice.clipped or 0.0)), result.warnings)
        with np.errstate(divide="ignore", over="ignore"):
            scale = cal.scale_from_threshold(threshold) if threshold is not None and threshold > 0 else None
        if scale is None or not np.isfinite(scale):
            lc.fallback = True
            lc.bottom_scale = cal.FALLBACK_ACTIVATION_SCALE
            cal.warn("layer %s: its input %s was %s on all %d calibration samples; activation scale set to %g"
                     % (lc.name, lc.bottom_blob, "0" if s.absmax == 0 else "at most %g" % s.absmax,
                        len(dataset), lc.bottom_scale), result.warnings)
        else:
            lc.threshold = float(threshold)
            lc.bottom_scale = scale
        if lc.zero_weight_rows:
            cal.warn("layer %s: %d of %d weight rows are all zero: weight scale 0 (their output is the bias)"
                     % (lc.name, lc.zero_weight_rows, lc.weight_scales.size), result.warnings)

    if method == "eq":
        _eq_search(model, result, dataset, runner, min(eq_images, len(dataset)), eq_steps, progress)
    return result


def input_rooted(model: NcnnModel, blob: str) -> bool:
    """Whether a blob is the network input, possibly through Split or Padding
    layers (a folded model's border): its range is the preprocessing's."""
    for _ in range(len(model.layers) + 1):
        producer = model.producer(blob)
        if producer is None:
            return False
        if producer.type == "Input":
            return True
        if producer.type not in ("Split", "Padding") or not producer.bottoms:
            return False
        blob = producer.bottoms[0]
    return False


def _split_root(model: NcnnModel, blob: str) -> str:
    """The tensor a blob copies: follows Split layers upstream."""
    seen = 0
    while seen < len(model.layers):
        producer = model.producer(blob)
        if producer is None or producer.type != "Split" or not producer.bottoms:
            return blob
        blob = producer.bottoms[0]
        seen += 1
    return blob


def _eq_search(model: NcnnModel, result: Calibration, dataset: Dataset, runner: _FloatRunner,
               n_images: int, steps: int, progress: bool) -> None:
    searches = OrderedDict()
    for l in quantizable_layers(model):
        lc = result.layers[l.name]
        if lc.fallback:
            continue
        searches[l.name] = (cal.EqSearch(l, lc.weight_scales, lc.bottom_scale, steps), lc.bottom_blob, lc.top_blob)
    if not searches:
        return
    names = list(OrderedDict((n, None) for s in searches.values() for n in s[1:]))
    for phase in ("weights", "activations"):
        for i in cal.progress_range(n_images, "calibrate: eq search (%s)" % phase, progress):
            out = runner(dataset[i], names)
            for search, bottom, top in searches.values():
                if phase == "weights":
                    search.add_weight_sample(out[bottom], out[top])
                else:
                    search.add_bottom_sample(out[bottom], out[top])
        if phase == "weights":
            for search, _, _ in searches.values():
                search.finish_weights()
        else:
            # layers reading the same tensor (Split branches) get one scale,
            # chosen on their summed scores: a requantizing producer can only
            # emit one int8 tensor for all of them
            groups: "OrderedDict[Tuple[str, float], List[cal.EqSearch]]" = OrderedDict()
            for search, bottom, _ in searches.values():
                key = (_split_root(model, bottom), search.bottom_scale)
                groups.setdefault(key, []).append(search)
            for members in groups.values():
                total = np.sum([m.bottom_sim for m in members], axis=0)
                for m in members:
                    m.finish_bottom(total)
    for name, (search, _, _) in searches.items():
        lc = result.layers[name]
        lc.weight_scales = search.weight_scales
        lc.bottom_scale = search.bottom_scale
        lc.threshold = 127.0 / lc.bottom_scale


# ================================================================== .mud / .json

def model_mud_text(param_file: str, bin_file: str, input_name: str, preprocess: Preprocess,
                   outputs: "OrderedDict[str, Tuple[int, ...]]") -> str:
    """The .mud of a model (float from convert, int8 from quantize): the input's
    (h, w, c) with the preprocessing's mean/norm in awnn terms, the outputs'
    shapes (numpy blob shapes, as Net returns them)."""
    c, h, w = preprocess.size
    mean = preprocess.awnn_mean
    norm = preprocess.awnn_norm
    if c == 1:
        mean, norm = mean * 3, norm * 3
    return mud_text(param_file, bin_file, {input_name: ((h, w, c), mean, norm)},
                    OrderedDict((name, mud_dims(shape)) for name, shape in outputs.items()))


class QuantizeResult:
    """What quantize() / quantize_from_table() wrote, and the per-layer scales."""

    def __init__(self, base: str):
        self.base = base
        self.param = base + ".param"
        self.bin = base + ".bin"
        self.table = base + ".table"
        self.mud = base + ".mud"
        self.json = base + ".json"
        self.method = ""
        self.preprocess: Optional[Preprocess] = None
        self.layers: List[Dict[str, Any]] = []
        self.float_layers: List[str] = []
        self.fused: List[Tuple[str, str]] = []
        self.warnings: List[str] = []
        self.output_shapes: "OrderedDict[str, Tuple[int, ...]]" = OrderedDict()
        # the .json's "fold" record when a per-channel normalisation was folded (maixnn.fold)
        self.fold: Optional[Dict[str, Any]] = None
        self.fold_description: Optional[str] = None  # set by quantize(), not stored in the .json

    @property
    def scales(self) -> "OrderedDict[str, Tuple[np.ndarray, float]]":
        """int8 layer name -> (weight scales, bottom scale) as applied."""
        return OrderedDict((d["name"], (np.asarray(d["weight_scales"], np.float32), float(d["bottom_scale"])))
                           for d in self.layers if d["int8"])

    @property
    def int8_layers(self) -> List[str]:
        return [d["name"] for d in self.layers if d["int8"]]

    def summary(self) -> str:
        lines = ["quantized %d layer(s) to int8 (%s), %d float: %s"
                 % (len(self.int8_layers), self.method, len(self.float_layers),
                    ", ".join(self.float_layers) or "none"),
                 "requantize fused: %s" % (", ".join("%s->%s" % f for f in self.fused) or "none")]
        if self.fold_description:
            lines.append(self.fold_description)
        lines += ["wrote %s" % p for p in (self.param, self.bin, self.table, self.mud, self.json)]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return "<QuantizeResult %s: %d int8 layers>" % (self.base, len(self.int8_layers))


def read_quantization(out_base: str) -> QuantizeResult:
    """Read back out_base.json (written by quantize / quantize_from_table)."""
    base = _strip_ext(out_base)
    path = base + ".json"
    try:
        with open(path, "r", encoding="utf-8") as f:
            d = json.load(f)
    except (OSError, ValueError) as e:
        raise ModelFormatError("%s: cannot read the quantization description (%s)" % (path, e)) from None
    if not isinstance(d, dict) or d.get("format") != JSON_FORMAT or not isinstance(d.get("preprocess"), dict):
        raise ModelFormatError("%s: not a maixnn int8 description" % path)
    r = QuantizeResult(base)
    folder = os.path.dirname(os.path.abspath(path))
    files = d.get("files", {})
    for key in ("param", "bin", "table", "mud"):
        if key in files:
            setattr(r, key, os.path.join(folder, files[key]))
    r.method = d.get("calibration", {}).get("method", "")
    r.preprocess = Preprocess.from_dict(d["preprocess"])
    r.layers = d.get("layers", [])
    r.float_layers = list(d.get("float_layers", []))
    r.fused = [tuple(f) for f in d.get("fused_requantize", [])]
    r.warnings = list(d.get("warnings", []))
    r.output_shapes = OrderedDict((k, tuple(v)) for k, v in d.get("outputs", {}).items())
    r.fold = d.get("fold") if isinstance(d.get("fold"), dict) else None
    return r


# ================================================================== the API

def _check_method(method, percentile, eq_images, eq_steps, engine) -> None:
    if method not in METHODS:
        raise OptionError("unknown calibration method %r; choose one of: %s" % (method, ", ".join(METHODS)))
    try:
        ok = 0 < float(percentile) <= 100
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise OptionError("percentile must be in (0, 100], got %r" % (percentile,))
    if int(eq_images) < 1 or int(eq_steps) < 1:
        raise OptionError("eq_images and eq_steps must be >= 1")
    if engine not in ENGINES:
        raise OptionError("engine must be one of %s, got %r" % (", ".join(ENGINES), engine))


def _same_file(a: str, b: str) -> bool:
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return os.path.realpath(a) == os.path.realpath(b)


def _refuse_overwrite(out_base: str, inputs: Sequence[str]) -> None:
    outs = [out_base + ext for ext in (".param", ".bin", ".table", ".mud", ".json")]
    for o in outs:
        for i in inputs:
            if i and _same_file(o, i):
                raise OptionError("output %s would overwrite the input %s: choose another out_base" % (o, i))


def _float_layer_list(float_layers) -> List[str]:
    if float_layers is None:
        return []
    if isinstance(float_layers, str):
        return [n.strip() for n in float_layers.split(",") if n.strip()]
    return [str(n) for n in float_layers]


def _layer_records(model: NcnnModel, int8_model: NcnnModel, report: BuildReport, table: ScaleTable,
                   calibrated: Optional[Calibration]) -> List[Dict[str, Any]]:
    """One dict per quantizable layer for the .json "layers": int8 or why float,
    the scales applied, and what calibration measured."""
    layers = []
    by_name = {l.name: l for l in int8_model.layers}
    for l in quantizable_layers(model):
        q = by_name[l.name]
        d: Dict[str, Any] = {"name": l.name, "type": l.type, "bottom_blob": l.bottoms[0] if l.bottoms else "",
                             "top_blob": l.tops[0] if l.tops else "", "int8": l.name in report.quantized}
        if d["int8"]:
            d["int8_scale_term"] = q.int_param(8)
            d["weight_scales"] = [float(s) for s in table.weight[l.name]]
            d["bottom_scale"] = float(table.bottom[l.name][0])
            top = q.weight("top_scale")
            if top is not None:
                d["top_scale"] = float(top.data[0])
        else:
            d["float_reason"] = report.float_layers.get(l.name, "")
        if calibrated is not None and l.name in calibrated.layers:
            lc = calibrated.layers[l.name]
            d["calibration"] = {"absmax": lc.absmax, "threshold": lc.threshold,
                                "bottom_scale": lc.bottom_scale, "activation_fallback": lc.fallback,
                                "zero_weight_rows": lc.zero_weight_rows,
                                "threshold_source": lc.threshold_source, "clipped": lc.clipped,
                                "method_threshold": lc.method_threshold}
            if not d["int8"]:
                d["calibration"]["weight_scales"] = [float(s) for s in lc.weight_scales]
        layers.append(d)
    return layers


def _write_outputs(model: NcnnModel, int8_model: NcnnModel, report: BuildReport, table: ScaleTable,
                   out_base: str, preprocess: Preprocess, outputs, calibration_info: Dict[str, Any],
                   calibrated: Optional[Calibration], float_param: str, float_bin: str,
                   write_table: bool, warns: List[str], npu_fold=None) -> QuantizeResult:
    r = QuantizeResult(out_base)
    folder = os.path.dirname(os.path.abspath(r.param))
    os.makedirs(folder, exist_ok=True)
    # Every output is produced in memory first and all are written together at
    # the end (atomic_write_many): a failure or Ctrl-C never leaves a new .param
    # beside an old .mud/.json, nor half a file.
    files = [(r.param, int8_model.param_text().encode("ascii")), (r.bin, int8_model.bin_bytes())]
    if write_table:
        files.append((r.table, table.text().encode("utf-8")))
    input_name = model.input_names()[0]
    files.append((r.mud, model_mud_text(os.path.basename(r.param), os.path.basename(r.bin), input_name,
                                        preprocess, outputs).encode("utf-8")))
    layers = _layer_records(model, int8_model, report, table, calibrated)
    r.method = calibration_info.get("method", "")
    r.preprocess = preprocess
    r.layers = layers
    r.float_layers = list(report.float_layers)
    r.fused = list(report.fused)
    r.warnings = list(warns) + list(report.notes)
    r.output_shapes = OrderedDict(outputs)
    doc = OrderedDict([
        ("format", JSON_FORMAT), ("version", JSON_VERSION),
        ("files", {"param": os.path.basename(r.param), "bin": os.path.basename(r.bin),
                   "table": os.path.basename(r.table), "mud": os.path.basename(r.mud)}),
        ("float_model", {"param": os.path.abspath(float_param), "bin": os.path.abspath(float_bin)}),
        ("input", {"name": input_name, "size_chw": list(preprocess.size)}),
        ("outputs", OrderedDict((k, list(v)) for k, v in outputs.items())),
        ("preprocess", preprocess.to_dict()),
        ("calibration", calibration_info),
        ("float_layers", r.float_layers),
        ("fused_requantize", [list(f) for f in r.fused]),
        ("layers", layers),
        ("warnings", r.warnings),
    ])
    # per-channel normalisation folded for the NPU's single mean/norm (maixnn.fold)
    r.fold = npu_fold.record() if npu_fold is not None else None
    r.fold_description = npu_fold.info.describe() if npu_fold is not None else None
    doc["fold"] = r.fold
    files.append((r.json, (json.dumps(doc, indent=1) + "\n").encode("utf-8")))
    atomic_write_many(files)
    return r


def quantize(float_base: str, out_base: str, images=None, mean=None, std=None, norm=None,
             method: str = DEFAULT_METHOD, float_layers: Union[str, Iterable[str]] = (), input_size=None,
             bgr: bool = False, progress: bool = True, resize=None,
             percentile: float = 99.99, eq_images: int = 20, eq_steps: int = 100,
             max_images: Optional[int] = None, engine: str = "maixnn",
             fold_normalization: bool = True, target: str = "ncnn") -> QuantizeResult:
    """Calibrate the float model float_base(.param/.bin) on `images` and write
    out_base .table/.param/.bin/.mud/.json.

    images      folder, .txt list, .npy, image paths/arrays or a list of them
    mean, std   PyTorch terms (mean on 0..1); or mean, norm in awnn terms (0..255)
    method      minmax | kl | percentile | aciq | eq (see METHODS)
    float_layers  layer names (list or "a,b") kept in float
    input_size  (c, h, w) when the model's Input layer does not declare it
    resize      the resize policy: short side for Resize before CenterCrop (default
                max(h, w)) or "squash" (straight to the input size); stored in the .json
    percentile  for method="percentile"; eq_images/eq_steps for method="eq"
    max_images  use only the first N calibration samples
    engine      "maixnn" (the C engine; default) or "ncnn" (official wheel, to cross-check)
    fold_normalization  when mean/std differ per channel, fold the per-channel part into
                the first convolution(s) (maixnn.fold) so that the int8 model takes the NPU's
                single mean/norm (recorded in .mud/.json); False keeps the model as is
    """
    if images is None:
        raise OptionError("images= is required: a folder of images, a .txt list, .npy files or arrays")
    _check_method(method, percentile, eq_images, eq_steps, engine)
    float_base = _strip_ext(float_base)
    out_base = _strip_ext(out_base)
    model, param, binp = _load_float_model(float_base)
    inputs = [param, binp]
    if isinstance(images, (str, os.PathLike)) and os.path.isfile(images):
        inputs.append(os.fspath(images))
    _refuse_overwrite(out_base, inputs)
    floats = _float_layer_list(float_layers)
    _check_layer_names(model, floats, "float_layers")
    size = model_input_size(model, input_size, param)
    preprocess = Preprocess.from_options(size, mean=mean, std=std, norm=norm, resize=resize, bgr=bgr)
    preprocess_notes = list(preprocess.notes)

    from .fold import fold_for_npu
    npu_fold = fold_for_npu(model, preprocess, enabled=fold_normalization)
    if target == "awnn":
        if floats:
            raise OptionError("float_layers is for target='ncnn'; for the awnn target maixnn's writer decides "
                              "what runs on the CPU (see its placement report)")
        if npu_fold is not None:
            model, preprocess = npu_fold.model, npu_fold.preprocess
            if progress:
                import sys
                print(npu_fold.info.describe(), file=sys.stderr)
        from .awnn_calibration import quantize_awnn
        return quantize_awnn(model, preprocess, out_base, images, method, percentile, eq_images, eq_steps,
                             max_images, progress, engine, param, binp, npu_fold=npu_fold)
    calib_base = float_base
    fold_dir = None
    if npu_fold is not None:
        # calibrate the folded model on the NPU's single-mean/norm input
        import tempfile
        model, preprocess = npu_fold.model, npu_fold.preprocess
        fold_dir = tempfile.TemporaryDirectory(prefix="maixnn-fold-")
        calib_base = os.path.join(fold_dir.name, "folded")
        model.save(calib_base + ".param", calib_base + ".bin")
        # what was folded is printed once, with the result's summary
    try:
        calib = calibrate(calib_base, images, preprocess, method=method, percentile=percentile,
                          eq_images=eq_images, eq_steps=eq_steps, max_images=max_images,
                          progress=progress, engine=engine)
    finally:
        if fold_dir is not None:
            fold_dir.cleanup()
    # the model is built from the table as written, so that quantize_from_table
    # on this table reproduces it exactly
    table = ScaleTable.parse(calib.table(exclude=floats).text(), out_base + ".table")
    int8_model, report = build_int8_model(model, table, floats, out_base + ".table")
    info = OrderedDict([("method", method), ("description", METHODS[method]), ("engine", engine),
                        ("images", calib.images), ("source", calib.source)])
    info.update(calib.options)
    return _write_outputs(model, int8_model, report, table, out_base, preprocess, calib.output_shapes,
                          info, calib, param, binp, True, preprocess_notes + calib.warnings,
                          npu_fold=npu_fold)


def quantize_from_table(float_base: str, table: Union[str, ScaleTable], out_base: str,
                        float_layers: Union[str, Iterable[str]] = (), mean=None, std=None, norm=None,
                        bgr: Optional[bool] = None, input_size=None, resize=None,
                        engine: str = "maixnn", fold_normalization: bool = True) -> QuantizeResult:
    """Build the int8 model from a (possibly hand-edited) table: layers
    without lines stay float.  The preprocessing for .mud/.json comes from
    the options, else from the .json written next to the table by quantize(),
    else mean 0 / std 1 (with a warning)."""
    if engine not in ENGINES:
        raise OptionError("engine must be one of %s, got %r" % (", ".join(ENGINES), engine))
    float_base = _strip_ext(float_base)
    out_base = _strip_ext(out_base)
    model, param, binp = _load_float_model(float_base)
    inputs = [param, binp]
    table_path = None
    if isinstance(table, ScaleTable):
        scale_table = table.copy()
    else:
        table_path = os.fspath(table)
        scale_table = ScaleTable.read(table_path)
    floats = _float_layer_list(float_layers)
    _check_layer_names(model, floats, "float_layers")
    warns: List[str] = []
    preprocess = None
    npu_fold = None
    explicit = any(v is not None for v in (mean, std, norm, bgr, resize, input_size))
    if explicit:
        size = model_input_size(model, input_size, param)
        preprocess = Preprocess.from_options(size, mean=mean, std=std, norm=norm, resize=resize, bgr=bool(bgr))
        warns.extend(preprocess.notes)
        from .fold import fold_for_npu
        npu_fold = fold_for_npu(model, preprocess, enabled=fold_normalization)
        if npu_fold is not None:
            model, preprocess = npu_fold.model, npu_fold.preprocess
    elif table_path is not None and os.path.isfile(table_path[:-6] + ".json") and table_path.endswith(".table"):
        try:
            previous = read_quantization(table_path[:-6])
        except ModelFormatError:
            previous = None
        if previous is not None:
            preprocess = previous.preprocess
            # the table was calibrated on a folded model: fold the same way again
            if previous.fold is not None and previous.fold.get("folded"):
                from .fold import refold_from_record
                npu_fold = refold_from_record(model, previous.fold)
                model = npu_fold.model
    if preprocess is None:
        size = model_input_size(model, input_size, param)
        preprocess = Preprocess(size)
        msg = ("no preprocessing given for %s: the .mud/.json record mean 0, std 1 (u8 / 255); "
               "pass mean/std or mean/norm" % out_base)
        warns.append(msg)
        warnings.warn(msg, CalibrationWarning, stacklevel=2)
    write_table = True
    if table_path is not None:
        inputs.append(table_path)
        if _same_file(table_path, out_base + ".table"):
            write_table = False  # it is an input: never rewritten
    _refuse_overwrite(out_base, [i for i in inputs if not (not write_table and i == table_path)])
    for n in floats:
        scale_table.remove(n)
    int8_model, report = build_int8_model(model, scale_table, floats, table_path or "<table>")
    outputs = _output_shapes(param, binp, model, preprocess.size, engine)
    info = OrderedDict([("method", "table"), ("table", os.path.abspath(table_path) if table_path else None)])
    return _write_outputs(model, int8_model, report, scale_table, out_base, preprocess, outputs, info,
                          None, param, binp, write_table, warns, npu_fold=npu_fold)


def _output_shapes(param: str, binp: str, model: NcnnModel, size, engine: str):
    runner = _FloatRunner(param, binp, model, engine)
    out = runner(np.zeros(tuple(size), np.float32), runner.output_names)
    return OrderedDict((n, tuple(out[n].shape)) for n in runner.output_names)


# ================================================================== CLI

def configure_parser(p) -> None:
    p.description = ("Quantize a float ncnn model (from `maixnn convert`) to ncnn int8, or with --target awnn "
                     "to the V831 NPU's own format: calibrate on images, write OUT.table/.param/.bin/.mud/.json.  "
                     "With --table (ncnn), build from an existing (edited) table instead of calibrating.")
    p.add_argument("float_base", help="float model base path (BASE.param + BASE.bin)")
    p.add_argument("out_base", help="output base path (OUT.param, OUT.bin, OUT.table, OUT.mud, OUT.json)")
    p.add_argument("--images", nargs="+", metavar="PATH",
                   help="calibration data: folder(s) of images, .txt list(s) of paths, .npy file(s)")
    p.add_argument("--table", help="build from this calibration table instead of calibrating")
    p.add_argument("--method", default=DEFAULT_METHOD, choices=sorted(METHODS),
                   help="activation calibration (default %s)" % DEFAULT_METHOD)
    p.add_argument("--target", default="ncnn", choices=list(TARGETS),
                   help="ncnn: ncnn int8 (default); awnn: the V831 NPU's own format (OUT.param/.bin/.mud "
                        "type=awnn, OUT.table in Sipeed's converter's format)")
    p.add_argument("--mean", help="per-channel mean: on 0..1 with --std (PyTorch), on 0..255 with --norm (awnn)")
    p.add_argument("--std", help="per-channel std, PyTorch terms, e.g. 0.229,0.224,0.225")
    p.add_argument("--norm", help="per-channel norm, awnn terms (x - mean) * norm")
    p.add_argument("--bgr", action="store_true", help="the network takes BGR (default RGB)")
    p.add_argument("--input-size", help="c,h,w when the model does not declare it")
    p.add_argument("--resize", type=resize_option, help=RESIZE_HELP)
    p.add_argument("--float-layers", default="", help="comma-separated layer names kept in float")
    p.add_argument("--percentile", type=float, default=99.99, help="for --method percentile (default 99.99)")
    p.add_argument("--eq-images", type=int, default=20, help="images for --method eq (default 20)")
    p.add_argument("--eq-steps", type=int, default=100, help="search steps for --method eq (default 100)")
    p.add_argument("--max-images", type=int, help="use only the first N calibration samples")
    p.add_argument("--engine", default="maixnn", choices=ENGINES,
                   help="engine running the float model (default maixnn; ncnn = official wheel)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-fold", action="store_true",
                   help="keep a per-channel mean/std as is (default: fold it into the first convolution so "
                        "the NPU's single mean/norm works)")


def run_cli(args) -> int:
    with warnings.catch_warnings():
        # the warnings are printed below, once, as part of the report
        warnings.simplefilter("ignore", CalibrationWarning)
        warnings.simplefilter("ignore", PreprocessWarning)
        return _run_cli(args)


def _run_cli(args) -> int:
    mean = number_list(args.mean, "mean")
    std = number_list(args.std, "std")
    norm = number_list(args.norm, "norm")
    if args.table:
        if args.target == "awnn":
            raise OptionError("--table with --target awnn: build the awnn model from a table with "
                              "`maixnn to-awnn FLOAT_BASE TABLE OUT_BASE`")
        if args.images:
            raise OptionError("give --images (calibrate) or --table (use a table), not both")
        r = quantize_from_table(args.float_base, args.table, args.out_base, float_layers=args.float_layers,
                                mean=mean, std=std, norm=norm, bgr=True if args.bgr else None,
                                input_size=args.input_size, resize=args.resize, engine=args.engine,
                                fold_normalization=not args.no_fold)
    else:
        if not args.images:
            raise OptionError("--images is required (or --table to build from a calibration table)")
        images = args.images[0] if len(args.images) == 1 else list(args.images)
        r = quantize(args.float_base, args.out_base, images=images, mean=mean, std=std, norm=norm,
                     method=args.method, float_layers=args.float_layers, input_size=args.input_size,
                     bgr=args.bgr, progress=not args.no_progress, resize=args.resize, percentile=args.percentile,
                     eq_images=args.eq_images, eq_steps=args.eq_steps, max_images=args.max_images,
                     engine=args.engine, fold_normalization=not args.no_fold, target=args.target)
    print(r.report_text() if getattr(r, "target", "ncnn") == "awnn" else _cli_table(r))
    print(r.summary())
    for w in r.warnings:
        print("warning: %s" % w)
    return 0


def _cli_table(r: QuantizeResult) -> str:
    rows = ["%-28s %-22s %-6s %12s %12s %8s  %s" % ("layer", "type", "int8", "act scale", "max |x|", "clipped",
                                                     "threshold from")]
    for d in r.layers:
        c = d.get("calibration", {})
        absmax, clipped = c.get("absmax"), c.get("clipped")
        rows.append("%-28s %-22s %-6s %12s %12s %8s  %s" % (
            d["name"][:28], d["type"], ("%d" % d["int8_scale_term"]) if d["int8"] else "float",
            ("%.6g" % d["bottom_scale"]) if d["int8"] else "-",
            ("%.6g" % absmax) if absmax is not None else "-",
            ("%.2f%%" % (100.0 * clipped)) if clipped is not None else "-",
            c.get("threshold_source") or "-"))
    return "\n".join(rows)
