"""Calibration for the V831's own int8 format ("awnn"): `maixnn quantize --target awnn`.

    r = maixnn.quantize("out/m", "out/m_awnn", images="calib/", mean=..., std=..., target="awnn")

The ncnn int8 target needs one scale per quantized layer's INPUT.  The awnn
format needs a scale for every blob a layer consumes or produces (the NPU
requantizes every layer's output to int8 at its top blob's scale) and weight
scales for every Convolution / InnerProduct, in the converter's table
(awnn-format.md section 2: `<layer>_param_0 s...` and `<blob> s`, keyed by
BLOB name).  Steps:

1. the float model (per-channel normalisation already folded, maixnn.fold) is
   turned into exactly the graph the writer writes
   (maixnn.awnn.npu_float_graph: Sipeed's optimize passes, activations NOT
   fused into Convolution / InnerProduct);
2. that graph runs on maixnn's engine over the calibration images, gathering
   the statistics of every blob maixnn.awnn.required_scales names, with the
   same code and thresholds as the ncnn target (quantizer.calibrate,
   calibration.py): minmax, kl, percentile, aciq, eq;
3. the scales are tied where the NPU needs it (assign_blob_scales):
   * Concat (on the NPU) copies bytes, so all inputs and the output of a
     Concat share one scale; Concats that share a blob share transitively
     (union-find).  The shared scale is the smallest of the group's Concat
     outputs' own scales (their largest threshold: no member is clipped
     harder than its Concat output's calibration says).  Producers of those
     inputs requantize to it; a Split top that feeds a Concat keeps the
     group's scale and the writer inserts a Quantize for it (section 7.10).
   * Split tops otherwise take their bottom's scale: they are the same tensor,
     so any statistics give them the same scale anyway, and an own scale would
     only add a requantize (a second rounding) on the NPU.
   * a Padding output (maixnn.fold's per-channel border) takes its input's
     scale, lowered if needed so that the border values fit: its histogram
     has a spike at the few border values, where KL can cut the picture itself
     (measured: a 16x16 input, kl gave the padded blob 12x its input's scale,
     output cosine 0.58; with the rule 0.9999);
   * a blob whose only reader is a plain ReLU takes the ReLU output's scale:
     what the ReLU drops (x < 0) may then clip, which changes nothing, and the
     positive half keeps the full int8 resolution instead of sharing it with
     the negative half (Sipeed's flow would calibrate both on |x|).
   * the network's outputs and the inputs of a Softmax are never clipped
     (scale from max |x| whatever the method): nothing downstream absorbs the
     clipping, and a classifier's top logit is exactly the tail that KL or a
     percentile cuts away.
   * eq: the per-layer search of the ncnn target (single-layer view, ncnn's
     int8 arithmetic as the stand-in for the layer) picks the weight scales
     and the scale of each Convolution / InnerProduct input blob (Split
     branches decided together, as for ncnn); the other blobs use kl.
4. weight scales are 127 / max |w| per output channel (calibration.py), then
   snapped to the awnn multiplier grid (snap_weight_scales): the NPU applies
   a per-channel multiplier Q10(wmin / ws[o]) (section 7.2), which for a
   channel with small weights rounds to a few units and would scale that
   channel's output by up to 1/(2*mult) wrongly, on every pixel.  Each ws[o]
   is lowered to 1024 * wmin / ceil(1024 * wmin / ws[o]), where the
   multiplier is exact; the weights then use at least mult/(mult+1) of their
   int8 range (no weight is clipped).  An all-zero channel (127/0) takes the
   largest scale of the layer, so that it never sets wmin.
"""
from __future__ import annotations

import os
import tempfile
from collections import OrderedDict
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from . import calibration as cal
from .errors import ModelFormatError
from .ncnn_model import Layer, NcnnModel

Q10 = 1024.0
# kl and percentile read a histogram of KL_BINS (2048) bins: a blob that gave
# fewer values than this over the whole calibration set (a global pooling
# output of 64 channels on 4 images: 256 values) has no usable histogram
# tail, so it takes max |x| (measured: ResNet18-shaped net, 4 photos, kl on
# the pooled 64 values clipped the classifier's input: output cosine 0.979;
# with max |x| there: 0.9996)
MIN_HISTOGRAM_VALUES = cal.KL_BINS


# ================================================================== weights

def snap_weight_scales(scales: Sequence[float]) -> np.ndarray:
    """Per-channel weight scales (127 / max|w|, 0 for an all-zero channel) ->
    scales whose awnn multiplier Q16(wmin / ws[o], 1024) is exact.  The
    smallest scale is unchanged; every other one is lowered by less than one
    multiplier step (ws * m / ceil(m), m = 1024 * wmin / ws)."""
    ws = np.asarray(scales, np.float32).reshape(-1)
    live = ws > 0
    if not np.any(live):
        return np.ones_like(ws)  # every channel is zero: any scale is exact
    ws = np.where(live, ws, ws[live].max()).astype(np.float32)
    wmin = np.float32(ws.min())
    mult = np.ceil(np.float64(wmin) * Q10 / ws.astype(np.float64) - 1e-9)
    mult = np.clip(mult, 1, Q10)
    snapped = (np.float64(wmin) * Q10 / mult).astype(np.float32)
    # float32 rounding must not make Q10(wmin / ws) miss its integer
    snapped = np.where(ws == wmin, wmin, snapped).astype(np.float32)
    return snapped


def awnn_multipliers(scales: Sequence[float]) -> np.ndarray:
    """The per-channel multiplier the writer stores for these weight scales
    (awnn-format.md 7.2: Q16(wmin / ws[o], 1024), float32) - for tests and
    reports."""
    ws = np.asarray(scales, np.float32)
    wmin = np.float32(ws.min())
    r = (wmin / ws).astype(np.float32) * np.float32(Q10)
    return np.clip(np.trunc(r + np.copysign(np.float32(0.5), r)), -32768, 32767).astype(np.int64)


# ================================================================== blob scales

class _UnionFind:
    def __init__(self):
        self.parent: Dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


def _is_npu_concat(layer: Layer, npu_layers: Optional[Iterable[str]]) -> bool:
    if layer.type != "Concat":
        return False
    if npu_layers is not None:
        return layer.name in npu_layers
    return int(layer.params.get(0, 0)) == 0  # awnn-format.md section 6


def concat_groups(model: NcnnModel, npu_layers: Optional[Iterable[str]] = None) -> List[List[str]]:
    """Blobs that must share one scale: every input and the output of each
    Concat on the NPU, merged transitively (union-find), in model order."""
    uf = _UnionFind()
    members: "OrderedDict[str, None]" = OrderedDict()
    npu = set(npu_layers) if npu_layers is not None else None
    for l in model.layers:
        if not _is_npu_concat(l, npu):
            continue
        for b in list(l.bottoms) + list(l.tops):
            members[b] = None
            uf.union(l.tops[0], b)
    groups: "OrderedDict[str, List[str]]" = OrderedDict()
    for b in members:
        groups.setdefault(uf.find(b), []).append(b)
    return list(groups.values())


class ScaleDecision:
    """Why a blob got its scale (for the report / .json)."""

    __slots__ = ("blob", "scale", "own_scale", "rule", "detail")

    def __init__(self, blob: str, scale: float, own_scale: Optional[float], rule: str, detail: str = ""):
        self.blob, self.scale, self.own_scale, self.rule, self.detail = blob, scale, own_scale, rule, detail

    def to_dict(self) -> Dict[str, Any]:
        return {"blob": self.blob, "scale": self.scale, "own_scale": self.own_scale, "rule": self.rule,
                "detail": self.detail}


def assign_blob_scales(model: NcnnModel, blobs: Sequence[str], own: Dict[str, float],
                       overrides: Optional[Dict[str, float]] = None,
                       npu_layers: Optional[Iterable[str]] = None) -> "OrderedDict[str, ScaleDecision]":
    """The scale of every blob in `blobs` for the awnn table, from each blob's
    own calibrated scale `own[blob]` and the NPU's rules (module docstring):
    `overrides` (eq's input scales) replace own scales first; then Concat
    groups share the smallest of their Concat outputs' scales; a blob read
    only by a plain ReLU takes the ReLU output's scale; Split tops outside
    Concat groups take their bottom's scale."""
    overrides = overrides or {}
    missing = [b for b in blobs if b not in own]
    if missing:
        raise ModelFormatError("no calibration statistics for blob(s) %s" % ", ".join(missing[:10]))
    scale: Dict[str, float] = {}
    out: "OrderedDict[str, ScaleDecision]" = OrderedDict()
    for b in blobs:
        scale[b] = float(overrides.get(b, own[b]))
        out[b] = ScaleDecision(b, scale[b], float(own[b]), "eq" if b in overrides else "own")

    # Padding (maixnn.fold's per-channel border in front of the first convolution): the
    # input's values plus constants; a histogram of it sees a spike at the border values
    # (a third of a 16x16 picture's padded blob) and KL may cut the picture itself there
    for l in model.layers:
        if l.type != "Padding" or len(l.bottoms) != 1 or len(l.tops) != 1:
            continue
        b, t = l.bottoms[0], l.tops[0]
        if b not in scale or t not in out:
            continue
        border = _padding_values(l)
        cap = np.float32(127.0) / np.float32(border) if border > 0 else np.inf
        scale[t] = float(min(scale[b], cap))
        out[t] = ScaleDecision(t, scale[t], out[t].own_scale, "padding",
                               "Padding %s: its input's scale%s" % (l.name, " (capped so that the border "
                                                                     "values %g fit)" % border
                                                                     if scale[t] < scale[b] else ""))

    # Concat groups (the NPU copies bytes)
    grouped = set()
    for group in concat_groups(model, npu_layers):
        concat_outs = [l.tops[0] for l in model.layers
                       if l.type == "Concat" and l.tops and l.tops[0] in group]
        shared = min(scale[b] for b in concat_outs if b in scale) if any(b in scale for b in concat_outs) \
            else min(scale[b] for b in group if b in scale)
        for b in group:
            if b in out:
                scale[b] = shared
                out[b] = ScaleDecision(b, shared, out[b].own_scale, "concat",
                                       "shares the scale of Concat output(s) %s" % ", ".join(concat_outs))
                grouped.add(b)

    # a blob read only by a plain ReLU: the ReLU output's scale
    for l in reversed(model.layers):
        if l.type != "ReLU" or len(l.bottoms) != 1 or len(l.tops) != 1:
            continue
        slope = l.params.get(0, 0.0)
        if isinstance(slope, list) or float(slope) != 0.0:
            continue
        b, t = l.bottoms[0], l.tops[0]
        if b not in out or t not in out or b in grouped:
            continue
        producer = model.producer(b)
        if producer is None or producer.type in ("Input", "Split"):
            continue
        if len(model.consumers(b)) != 1 or b in model.output_names():
            continue
        scale[b] = scale[t]
        out[b] = ScaleDecision(b, scale[t], out[b].own_scale, "relu",
                               "read only by ReLU %s: takes its output's scale" % l.name)

    # Split tops: the bottom's scale (same tensor), unless a Concat needs another
    for l in model.layers:
        if l.type != "Split" or len(l.bottoms) != 1 or l.bottoms[0] not in scale:
            continue
        for t in l.tops:
            if t in out and t not in grouped:
                scale[t] = scale[l.bottoms[0]]
                out[t] = ScaleDecision(t, scale[t], out[t].own_scale, "split",
                                       "Split %s: its bottom's scale" % l.name)
    return out


def npu_layer_names(npu: NcnnModel) -> List[str]:
    """The layers of the writer's graph that the writer puts on the NPU (its
    placement rules, maixnn.awnn.placement)."""
    from .awnn.optimize import infer_shapes
    from .awnn.placement import place
    shapes = infer_shapes(npu)
    return [l.name for l in npu.layers if place(npu, shapes, l).npu]


def _padding_values(layer: Layer) -> float:
    """Largest |value| a Padding layer writes (param 5, or its per-channel values)."""
    v = layer.params.get(5, 0.0)
    largest = abs(float(v)) if not isinstance(v, list) else 0.0
    w = layer.weight("per_channel_pad")
    if w is not None and w.data.size:
        largest = max(largest, float(np.max(np.abs(w.data))))
    return largest


def _split_root(model: NcnnModel, blob: str) -> str:
    from .quantizer import _split_root as root
    return root(model, blob)


def own_blob_scales(model: NcnnModel, blobs: Sequence[str], stats: Dict[str, "cal.BlobStats"], method: str,
                    percentile: float, warnings_sink: List[str],
                    input_range: Optional[float] = None) -> Tuple[Dict[str, float], Dict[str, Dict]]:
    """Each blob's scale from its own statistics by `method` (eq: kl), with the
    ncnn target's rules (calibration.choose_threshold: the network input takes
    its exact preprocessing range `input_range`, a threshold clipping more than
    1% is raised), except that network outputs and Softmax inputs are never
    clipped (max |x|), and a blob with fewer than MIN_HISTOGRAM_VALUES values
    over the calibration set takes max |x| too (no histogram to read a
    threshold from)."""
    from .quantizer import input_rooted
    no_clip = set(model.output_names())
    for l in model.layers:
        if l.type == "Softmax":
            no_clip.update(l.bottoms)
    own: Dict[str, float] = {}
    records: Dict[str, Dict] = {}
    for b in blobs:
        s = stats[b]
        m = "minmax" if b in no_clip else ("kl" if method == "eq" else method)
        note = "network output or Softmax input: never clipped" if b in no_clip else ""
        if m in ("kl", "percentile") and s.count * s.samples < MIN_HISTOGRAM_VALUES:
            m = "minmax"
            note = "%d values over the calibration set, too few for a %s histogram: max |x|" % (
                s.count * s.samples, method)
        choice = cal.choose_threshold(s, m, percentile, input_range, is_input=input_rooted(model, b))
        threshold = choice.threshold
        if choice.source != "method":
            note = choice.source if not note else note + "; " + choice.source
        if b in no_clip and threshold is not None:
            threshold = max(threshold, s.absmax)
        with np.errstate(divide="ignore", over="ignore"):
            value = cal.scale_from_threshold(threshold) if threshold is not None and threshold > 0 else None
        fallback = value is None or not np.isfinite(value)
        if fallback:
            value = cal.FALLBACK_ACTIVATION_SCALE
            cal.warn("blob %s was %s on all calibration samples; its scale is set to %g"
                     % (b, "0" if s.absmax == 0 else "at most %g" % s.absmax, value), warnings_sink)
        own[b] = float(value)
        records[b] = {"absmax": s.absmax, "threshold": None if fallback else float(threshold),
                      "method": m, "fallback": fallback, "note": note, "clipped": choice.clipped}
    return own, records


# ================================================================== the whole calibration

class AwnnCalibration:
    """What calibrate_awnn() decided: the table's content and why."""

    def __init__(self):
        self.npu_model: Optional[NcnnModel] = None
        self.weight_scales: "OrderedDict[str, np.ndarray]" = OrderedDict()
        self.blob_scales: "OrderedDict[str, float]" = OrderedDict()
        self.decisions: "OrderedDict[str, ScaleDecision]" = OrderedDict()
        self.blob_records: Dict[str, Dict] = {}
        self.calibration = None   # quantizer.Calibration (images, source, per-layer statistics)
        self.warnings: List[str] = []

    def layer_records(self) -> List[Dict[str, Any]]:
        rows = []
        for name, ws in self.weight_scales.items():
            lc = self.calibration.layers.get(name) if self.calibration is not None else None
            layer = self.npu_model.layer(name) if self.npu_model is not None else None
            bottom = layer.bottoms[0] if layer is not None and layer.bottoms else ""
            top = layer.tops[0] if layer is not None and layer.tops else ""
            rows.append({"name": name, "type": layer.type if layer is not None else "", "int8": True,
                         "bottom_blob": bottom, "top_blob": top,
                         "bottom_scale": self.blob_scales.get(bottom), "top_scale": self.blob_scales.get(top),
                         "weight_scales": [float(v) for v in ws],
                         "multipliers": [int(v) for v in awnn_multipliers(ws)],
                         "zero_weight_rows": lc.zero_weight_rows if lc is not None else 0})
        return rows

    def blob_rows(self) -> List[Dict[str, Any]]:
        rows = []
        for b, d in self.decisions.items():
            row = d.to_dict()
            row.update(self.blob_records.get(b, {}))
            rows.append(row)
        return rows


def calibrate_awnn(model: NcnnModel, images, preprocess, method: str = "percentile", percentile: float = 99.99,
                   eq_images: int = 20, eq_steps: int = 100, max_images: Optional[int] = None,
                   progress: bool = True, engine: str = "maixnn") -> AwnnCalibration:
    """Scales for the awnn table of `model` (a float ncnn model, already folded
    for the NPU's single mean/norm when needed), calibrated on `images`."""
    from .awnn import npu_float_graph, required_scales
    from .quantizer import calibrate

    result = AwnnCalibration()
    npu = npu_float_graph(model)
    result.npu_model = npu
    weight_layers, blobs = required_scales(npu)
    weight_layers = list(weight_layers)
    blobs = list(blobs)
    with tempfile.TemporaryDirectory(prefix="maixnn-awnn-") as tmp:
        base = os.path.join(tmp, "npu_float")
        npu.save(base + ".param", base + ".bin")
        calib = calibrate(base, images, preprocess, method=method, percentile=percentile, eq_images=eq_images,
                          eq_steps=eq_steps, max_images=max_images, progress=progress, engine=engine,
                          extra_blobs=blobs)
    result.calibration = calib
    result.warnings.extend(calib.warnings)
    own, records = own_blob_scales(npu, blobs, calib.blob_stats, method, percentile, result.warnings,
                                   calib.input_range)
    overrides: Dict[str, float] = {}
    if method == "eq":
        # the search's input scales (Split branches already decided together)
        for name in weight_layers:
            lc = calib.layers.get(name)
            if lc is None or lc.fallback:
                continue
            for b in (lc.bottom_blob, _split_root(npu, lc.bottom_blob)):
                if b in own:
                    overrides[b] = float(lc.bottom_scale)
    result.decisions = assign_blob_scales(npu, blobs, own, overrides, npu_layers=npu_layer_names(npu))
    result.blob_records = records
    result.blob_scales = OrderedDict((b, d.scale) for b, d in result.decisions.items())
    for name in weight_layers:
        lc = calib.layers.get(name)
        if lc is None:
            raise ModelFormatError("the writer needs weight scales for layer %s, which calibration did not see"
                                   % name)
        result.weight_scales[name] = snap_weight_scales(lc.weight_scales)
    return result


# ================================================================== quantize --target awnn

def _result_class():
    from .quantizer import QuantizeResult

    class AwnnQuantizeResult(QuantizeResult):
        """What quantize(..., target="awnn") wrote: the awnn model (.param/.bin),
        its .mud (type=awnn), the converter-format .table and the .json, plus the
        writer's placement report (which layer runs on the NPU, which on the CPU)."""

        target = "awnn"

        def __init__(self, base: str):
            super().__init__(base)
            self.blob_scales: "OrderedDict[str, float]" = OrderedDict()
            self.weight_scales: "OrderedDict[str, np.ndarray]" = OrderedDict()
            self.decisions: List[Dict[str, Any]] = []
            self.writer_report = None        # what maixnn.to_awnn returned
            self.placement_text = ""

        @property
        def int8_layers(self) -> List[str]:
            return list(self.weight_scales)

        def summary(self) -> str:
            rules = OrderedDict()
            for d in self.decisions:
                rules[d["rule"]] = rules.get(d["rule"], 0) + 1
            lines = ["awnn (V831 NPU) model, calibration %s: %d blob scales (%s), weight scales for %d "
                     "Convolution/InnerProduct layer(s)"
                     % (self.method, len(self.blob_scales), ", ".join("%s %d" % kv for kv in rules.items()),
                        len(self.weight_scales))]
            if self.fold_description:
                lines.append(self.fold_description)
            lines += ["wrote %s" % p for p in (self.param, self.bin, self.table, self.mud, self.json)]
            return "\n".join(lines)

        def report_text(self) -> str:
            rows = ["%-28s %12s %12s  %s" % ("blob", "scale", "max |x|", "rule")]
            for d in self.decisions:
                absmax = d.get("absmax")
                rows.append("%-28s %12.6g %12s  %s" % (d["blob"][:28], d["scale"],
                                                         "%.6g" % absmax if absmax is not None else "-",
                                                         d["rule"] + (": " + d["detail"] if d["detail"] else "")))
            parts = ["\n".join(rows)]
            if self.placement_text:
                parts.append(self.placement_text)
            return "\n\n".join(parts)

    return AwnnQuantizeResult


def _placement_text(report) -> str:
    """The writer's placement report as text (whatever form to_awnn returns)."""
    if report is None:
        return ""
    for attr in ("placement_text", "text", "describe", "table"):
        v = getattr(report, attr, None)
        if callable(v):
            v = v()
        if isinstance(v, str) and v:
            # the writer wrote into a temporary folder: its "wrote ..." lines name files that are gone
            return "\n".join(ln for ln in v.splitlines() if not ln.startswith("wrote "))
    return str(report)


def _placement_record(report):
    """The writer's per-layer rows (layer, type, device, reason, MACs, flags, fixes) for the .json."""
    rows = getattr(report, "layers", None)
    if not rows:
        return None
    return [dict(r._asdict()) if hasattr(r, "_asdict") else r for r in rows]


def quantize_awnn(model: NcnnModel, preprocess, out_base: str, images, method: str, percentile: float,
                  eq_images: int, eq_steps: int, max_images: Optional[int], progress: bool, engine: str,
                  float_param: str, float_bin: str, npu_fold=None):
    """quantize(..., target="awnn") after the input normalisation was folded:
    calibrate (calibrate_awnn), then write OUT.table (the converter's format),
    OUT.param/.bin/.mud (maixnn.to_awnn) and OUT.json, all or nothing."""
    import json
    from .awnn import to_awnn, write_table
    from .ncnn_model import atomic_write_many
    from .quantizer import JSON_FORMAT, JSON_VERSION, METHODS

    ac = calibrate_awnn(model, images, preprocess, method=method, percentile=percentile, eq_images=eq_images,
                        eq_steps=eq_steps, max_images=max_images, progress=progress, engine=engine)
    r = _result_class()(out_base)
    name = os.path.basename(out_base)
    os.makedirs(os.path.dirname(os.path.abspath(r.param)), exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="maixnn-awnn-out-") as tmp:
        float_base = os.path.join(tmp, "float")
        model.save(float_base + ".param", float_base + ".bin")
        table = os.path.join(tmp, name + ".table")
        write_table(table, ac.weight_scales, ac.blob_scales)
        report = to_awnn(float_base, table, os.path.join(tmp, name), mean=list(preprocess.awnn_mean),
                         norm=list(preprocess.awnn_norm))
        files = []
        for path in (r.param, r.bin, r.mud, r.table):
            with open(os.path.join(tmp, name + os.path.splitext(path)[1]), "rb") as f:
                files.append((path, f.read()))
    calib = ac.calibration
    r.method = method
    r.preprocess = preprocess
    r.blob_scales = ac.blob_scales
    r.weight_scales = ac.weight_scales
    r.decisions = ac.blob_rows()
    r.layers = ac.layer_records()
    r.warnings = list(ac.warnings)
    r.output_shapes = OrderedDict(calib.output_shapes)
    r.writer_report = report
    r.placement_text = _placement_text(report)
    r.fold = npu_fold.record() if npu_fold is not None else None
    r.fold_description = npu_fold.info.describe() if npu_fold is not None else None
    info = OrderedDict([("method", method), ("description", METHODS[method]), ("engine", engine),
                        ("images", calib.images), ("source", calib.source)])
    info.update(calib.options)
    doc = OrderedDict([
        ("format", JSON_FORMAT), ("version", JSON_VERSION), ("target", "awnn"),
        ("files", {"param": os.path.basename(r.param), "bin": os.path.basename(r.bin),
                   "table": os.path.basename(r.table), "mud": os.path.basename(r.mud)}),
        ("float_model", {"param": os.path.abspath(float_param), "bin": os.path.abspath(float_bin)}),
        ("input", {"name": model.input_names()[0], "size_chw": list(preprocess.size)}),
        ("outputs", OrderedDict((k, list(v)) for k, v in r.output_shapes.items())),
        ("preprocess", preprocess.to_dict()),
        ("calibration", info),
        ("layers", r.layers),
        ("blobs", r.decisions),
        ("placement", _placement_record(report)),
        ("placement_text", r.placement_text),
        ("warnings", r.warnings),
        ("fold", r.fold),
    ])
    files.append((r.json, (json.dumps(doc, indent=1, default=_json_default) + "\n").encode("utf-8")))
    atomic_write_many(files)
    return r


def _json_default(v):
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return str(v)
