"""Where does int8 lose accuracy?  Float vs int8, layer by layer.

    report = maixnn.analyze("out/m", "out/m_int8", images="calib/", labels=None,
                            out_dir="out/m_int8_analysis")
    maixnn analyze out/m out/m_int8 --images calib/ [--labels labels.txt]

Both models run on maixnn's own engine over the same images.  For every
quantized layer (Convolution, ConvolutionDepthWise, InnerProduct carrying
ncnn's int8_scale_term) and for every blob the two models share, it measures
the cosine similarity and the relative error ||int8 - float|| / ||float||
(accumulated over all images):

* entire mode: the int8 model runs end to end, so a layer's error includes
  everything that went wrong before it (what the board will see);
* single mode: each int8 layer alone, fed the float model's input to that
  layer (a one-layer int8 model built from the layer's own weights and
  scales), so a layer's error is its own quantization error (input, weights,
  and the requantized output for fused 8=102 layers).

int8 blobs (outputs of requantizing layers) are dequantized with their
top_scale before comparing.  A layer whose single-mode error is high is a
candidate to keep in float (`maixnn quantize --float-layers a,b`); the report
names the worst ones and suggests that option.

The preprocessing comes from the int8 model's .json (written by
maixnn.quantize) unless given.  If the quantizer folded a per-channel
normalisation into the first convolution (maixnn.fold), the float reference
is the float model folded the same way (identical up to float rounding, which
the report measures), so that the two models' blobs line up one to one.

Output: a table on the terminal, <out_dir>/analysis.json, analysis.txt and
analysis.html (per-layer cosine plot embedded as a PNG).
"""
from __future__ import annotations

import argparse
import base64
import datetime
import html
import io
import json
import math
import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .calibration import progress_range
from .cli import number_list
from .errors import ModelFormatError, OptionError, path_argument
from .fold import input_mapping
from .ncnn_model import Layer, NcnnModel
from .npu import INT8_LAYER_TYPES, dequantize_outputs_scale
from .preprocess import RESIZE_HELP, Preprocess, resize_option
from .quantizer import DEFAULT_METHOD, model_input_size

# A layer is flagged when its single-mode cosine is below this (or its error
# stands out against the others, see _suggest).
COSINE_WARN = 0.99
COSINE_GOOD = 0.999


# ------------------------------------------------------------------ statistics

class ErrorStats:
    """Cosine / relative error of `got` against `ref`, accumulated over images."""

    __slots__ = ("dot", "rr", "gg", "dd", "max_diff", "max_ref", "count", "min_image_cosine")

    def __init__(self):
        self.dot = self.rr = self.gg = self.dd = 0.0
        self.max_diff = self.max_ref = 0.0
        self.count = 0
        self.min_image_cosine = 1.0

    def add(self, ref: np.ndarray, got: np.ndarray) -> None:
        r = np.asarray(ref, dtype=np.float64).reshape(-1)
        g = np.asarray(got, dtype=np.float64).reshape(-1)
        if r.size != g.size:
            raise ModelFormatError("blob sizes differ between the models: %d vs %d values" % (r.size, g.size))
        d = g - r
        dot, rr, gg = float(r @ g), float(r @ r), float(g @ g)
        self.dot += dot
        self.rr += rr
        self.gg += gg
        self.dd += float(d @ d)
        if r.size:
            self.max_diff = max(self.max_diff, float(np.max(np.abs(d))))
            self.max_ref = max(self.max_ref, float(np.max(np.abs(r))))
        self.count += 1
        self.min_image_cosine = min(self.min_image_cosine, _cosine(dot, rr, gg))

    @property
    def cosine(self) -> float:
        return _cosine(self.dot, self.rr, self.gg)

    @property
    def rel_error(self) -> float:
        if self.rr == 0:
            return 0.0 if self.dd == 0 else float("inf")
        return math.sqrt(self.dd / self.rr)

    @property
    def max_abs_error(self) -> float:
        return self.max_diff

    def to_dict(self) -> Dict:
        return {"cosine": self.cosine, "rel_error": self.rel_error, "max_abs_error": self.max_diff,
                "max_abs_float": self.max_ref, "min_image_cosine": self.min_image_cosine,
                "images": self.count}


def _cosine(dot: float, rr: float, gg: float) -> float:
    if rr == 0 and gg == 0:
        return 1.0
    if rr == 0 or gg == 0:
        return 0.0
    return max(-1.0, min(1.0, dot / math.sqrt(rr * gg)))


# ------------------------------------------------------------------ models

def _load(base: str, what: str) -> NcnnModel:
    param, binp = base + ".param", base + ".bin"
    for p in (param, binp):
        if not os.path.isfile(p):
            raise OptionError("%s model: %s does not exist (give the path without .param/.bin)" % (what, p))
    return NcnnModel.load(param, binp)


def _is_quantized(layer: Layer) -> bool:
    return layer.type in INT8_LAYER_TYPES and layer.int_param(8) != 0


def _read_sidecar(int8_base: str) -> Dict:
    path = int8_base + ".json"
    if not os.path.isfile(path):
        return {}
    try:
        with open(path, "r", encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise ModelFormatError("%s: cannot read the quantization description: %s" % (path, e)) from None
    return data if isinstance(data, dict) else {}


def _fold_entry(sidecar: Dict) -> Optional[Dict]:
    """The quantizer's "fold" record when it folded a per-channel normalisation."""
    fold = sidecar.get("fold")
    if isinstance(fold, dict) and fold.get("folded"):
        return fold
    return None


def _single_layer_model(layer: Layer, bottom_shape: Tuple[int, ...]) -> NcnnModel:
    """Input (shaped like the float bottom blob) -> a copy of the int8 layer."""
    import copy
    if len(bottom_shape) == 3:
        c, h, w = bottom_shape
        shape = {0: w, 1: h, 2: c}
    elif len(bottom_shape) == 2:
        h, w = bottom_shape
        shape = {0: w, 1: h}
    else:
        shape = {0: int(bottom_shape[0])}
    single = copy.deepcopy(layer)
    single.bottoms = ["single_in"]
    single.tops = ["single_out"]
    return NcnnModel([Layer("Input", "single_input", [], ["single_in"], shape), single])


def _run_single_layer(layer: Layer, bottom: np.ndarray, nets: Dict[str, object]) -> np.ndarray:
    """The int8 layer alone on the float model's input to it, as float (an
    int8 output dequantized with its top_scale); its one-layer Net is built on
    first use and kept in `nets`."""
    from .runtime import Net
    net = nets.get(layer.name)
    if net is None:
        m = _single_layer_model(layer, bottom.shape)
        net = nets[layer.name] = Net.from_memory(m.param_text(), m.bin_bytes())
    y = net.forward(bottom)
    if y.dtype == np.int8:
        y = y.astype(np.float32) / np.float32(float(layer.weight("top_scale").data[0]))
    return y


def _input_mapping(fold: Optional[Dict], channels: int) -> Tuple[np.ndarray, np.ndarray]:
    """(A, B) with int8-model input = A * x + B per channel, x the float
    model's (per-channel normalised) input: identity unless folded."""
    if not fold:
        return np.ones(channels, np.float32), np.zeros(channels, np.float32)
    return input_mapping(fold)


def model_inputs(sample: np.ndarray, fold: Optional[Dict], dataset_gives_f: bool, A: np.ndarray,
                 B: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(input of the quantized / folded models, input of the original float
    model) for one dataset sample; they differ only when the quantizer folded
    a per-channel normalisation (f = A x + B per channel)."""
    if not fold:
        return sample, sample
    A3, B3 = A.reshape(-1, 1, 1), B.reshape(-1, 1, 1)
    if dataset_gives_f:
        return sample, ((sample - B3) / A3).astype(np.float32)
    return (sample * A3 + B3).astype(np.float32), sample


def _labels(labels, count: int) -> Optional[np.ndarray]:
    if labels is None:
        return None
    if isinstance(labels, (str, os.PathLike)):
        path = os.fspath(labels)
        try:
            if path.lower().endswith(".npy"):
                arr = np.load(path, allow_pickle=False)
            else:
                with open(path, "r", encoding="utf-8") as f:
                    arr = [line.split()[-1] for line in f if line.strip() and not line.startswith("#")]
        except (OSError, ValueError) as e:
            raise OptionError("labels %s: cannot read (%s)" % (path, e)) from None
    else:
        arr = labels
    try:
        out = np.asarray([int(v) for v in np.asarray(arr).reshape(-1)], dtype=np.int64)
    except (TypeError, ValueError):
        raise OptionError("labels must be integers (class indices), one per image") from None
    if out.size < count:
        raise OptionError("%d labels for %d images: give one label per image" % (out.size, count))
    return out[:count]


# ------------------------------------------------------------------ the report

class AnalysisReport(dict):
    """The analysis as a dict (what analysis.json holds) plus the text table."""

    @property
    def layers(self) -> List[Dict]:
        return self["layers"]

    def table(self) -> str:
        return format_table(self)


def analyze(float_base: str, int8_base: str, images, labels=None, out_dir: Optional[str] = None,
            preprocess=None, mean=None, std=None, norm=None, input_size=None, resize=None,
            bgr: Optional[bool] = None, max_images: Optional[int] = None, progress: bool = True,
            verbose: bool = True, single: bool = True) -> AnalysisReport:
    """Compare float_base.param/.bin with int8_base.param/.bin on `images`.

    images: anything maixnn.preprocess.Dataset takes (folder, .txt list,
    .npy, image paths, uint8 arrays ...).  labels: class indices, one per
    image (list/array, or a text file with one integer per line (the last
    token of each line), or a .npy).  The preprocessing is read from
    int8_base.json unless `preprocess` (a maixnn.preprocess.Preprocess) or
    input_size (+ mean/std or mean/norm, resize, bgr) is given.
    Writes analysis.json/.txt/.html into out_dir (default
    <int8_base>_analysis) and prints the table when verbose.
    """
    from .preprocess import Dataset
    from .runtime import Net

    float_base = path_argument(float_base, "float_base")
    int8_base = path_argument(int8_base, "int8_base")
    _require_matplotlib()  # before the work, not after it
    if os.path.abspath(float_base) == os.path.abspath(int8_base):
        raise OptionError("the float and the int8 model are the same files (%s)" % float_base)
    from .awnn_analysis import analyze_awnn, is_awnn_param
    if is_awnn_param(int8_base + ".param"):
        return analyze_awnn(float_base, int8_base, images, labels=labels, out_dir=out_dir, preprocess=preprocess,
                            mean=mean, std=std, norm=norm, input_size=input_size, resize=resize, bgr=bgr,
                            max_images=max_images, progress=progress, verbose=verbose, single=single)
    float_model = _load(float_base, "float")
    int8_model = _load(int8_base, "int8")
    quantized = [l for l in int8_model.layers if _is_quantized(l)]
    if not quantized:
        raise OptionError("%s.param has no int8 layer (no Convolution/InnerProduct with 8=...): is it the "
                          "int8 model?" % int8_base)
    if any(_is_quantized(l) for l in float_model.layers):
        raise OptionError("%s.param already has int8 layers: give the float model first" % float_base)
    sidecar = _read_sidecar(int8_base)
    fold = _fold_entry(sidecar)

    dataset_gives_f = False
    if preprocess is None:
        preprocess, dataset_gives_f = _choose_preprocess(int8_base, int8_model, sidecar, fold, mean, std, norm,
                                                         input_size, resize, bgr)
    dataset = Dataset(images, preprocess, limit=max_images)
    count = len(dataset)
    label_arr = _labels(labels, count)

    # -- the float reference whose graph matches the int8 model
    reference_model = float_model
    if fold:
        from .fold import fold_input_normalization
        reference_model, _ = fold_input_normalization(
            float_model, fold["per_channel_mean"], norm=fold["per_channel_norm"],
            single_mean=fold["single_mean"], single_norm=fold["single_norm"])
    float_net = Net.from_memory(reference_model.param_text(), reference_model.bin_bytes())
    int8_net = Net.from_memory(int8_model.param_text(), int8_model.bin_bytes())
    original_net = Net(float_base + ".param", float_base + ".bin") if fold else None

    input_blob = int8_net.input_names[0]
    if len(int8_net.input_names) != 1:
        raise OptionError("the analyzer handles one-input models; %s has %s" % (int8_base, int8_net.input_names))
    if input_blob not in float_net.input_names:
        raise OptionError("input %r of the int8 model is not an input of the float model (%s)"
                          % (input_blob, float_net.input_names))
    output_blob = int8_net.output_names[0]

    compared, needed = _blobs_to_compare(int8_model, quantized, set(float_net.blob_names))
    dequant = {b: dequantize_outputs_scale(int8_model, b) for b, _ in compared}

    A, B = _input_mapping(fold, preprocess.channels)
    entire = {b: ErrorStats() for b, _ in compared}
    single_stats = {l.name: ErrorStats() for l in quantized}
    single_nets: Dict[str, object] = {}
    fold_stats = ErrorStats() if fold else None
    float_top1, int8_top1 = [], []

    for i in progress_range(count, "analyzing", progress, leave=True):
        x_in, x = model_inputs(dataset[i], fold, dataset_gives_f, A, B)
        ref = float_net.forward(x_in, outputs=needed)
        got = int8_net.forward(x_in, outputs=[b for b, _ in compared])
        for b, _ in compared:
            value = got[b]
            if value.dtype == np.int8:
                scale = dequant.get(b)
                if not scale:
                    raise ModelFormatError("blob %s is int8 in the int8 model but no top_scale explains it" % b)
                value = value.astype(np.float32) / np.float32(scale)
            entire[b].add(ref[b], value)
        if single:
            for l in quantized:
                single_stats[l.name].add(ref[l.tops[0]], _run_single_layer(l, ref[l.bottoms[0]], single_nets))
        if original_net is not None:
            orig = original_net.forward(x)
            fold_stats.add(orig, ref[output_blob])
        fr = ref[output_blob]
        gv = got[output_blob]
        if gv.dtype == np.int8:
            gv = gv.astype(np.float32)
        float_top1.append(int(np.argmax(fr.reshape(-1))))
        int8_top1.append(int(np.argmax(gv.reshape(-1))))

    report = _build_report(float_base, int8_base, count, preprocess, sidecar, fold, int8_model, quantized,
                           compared, entire, single_stats if single else None, fold_stats,
                           np.asarray(float_top1), np.asarray(int8_top1), label_arr, output_blob)
    if out_dir is None:
        out_dir = int8_base + "_analysis"
    report["files"] = write_report(report, out_dir)
    if verbose:
        print(format_table(report))
        print("report: %s" % report["files"]["html"])
    for net in list(single_nets.values()) + [float_net, int8_net] + ([original_net] if original_net else []):
        net.close()
    return report


def _choose_preprocess(int8_base: str, int8_model: NcnnModel, sidecar: Dict, fold: Optional[Dict], mean, std,
                       norm, input_size, resize, bgr):
    """(preprocess, dataset_gives_f) when analyze() was not given a Preprocess:
    from input_size + mean/std/norm, else the quantizer's .json.  The Dataset
    normally yields the float model's input x (its own per-channel
    normalisation); dataset_gives_f is True when it yields the folded int8
    model's input f = A x + B instead (maixnn.fold)."""
    if input_size is not None:
        size = model_input_size(int8_model, input_size, int8_base + ".param")
        return Preprocess.from_options(size, mean=mean, std=std, norm=norm, resize=resize, bgr=bool(bgr)), False
    if fold and isinstance(fold.get("original_preprocess"), dict):
        return Preprocess.from_dict(fold["original_preprocess"]), False
    if isinstance(sidecar.get("preprocess"), dict):
        return Preprocess.from_dict(sidecar["preprocess"]), bool(fold)
    size = model_input_size(int8_model, None, int8_base + ".param")
    if mean is None and std is None and norm is None:
        raise OptionError("no preprocessing known: %s.json is missing; give input_size and mean/std "
                          "(or mean/norm)" % int8_base)
    return Preprocess.from_options(size, mean=mean, std=std, norm=norm, resize=resize, bgr=bool(bgr)), False


def _blobs_to_compare(int8_model: NcnnModel, quantized: List[Layer],
                      float_blobs: set) -> Tuple[List[Tuple[str, Layer]], List[str]]:
    """(compared, needed): the (blob, producing layer) pairs entire mode
    compares, every layer top both models have; and the float blobs to fetch,
    those plus the inputs of the int8 layers (single mode feeds them)."""
    compared: List[Tuple[str, Layer]] = []
    seen = set()
    for l in int8_model.layers:
        if l.type == "Input":
            continue
        for t in l.tops:
            if t in float_blobs and t not in seen:
                compared.append((t, l))
                seen.add(t)
    needed = [b for b, _ in compared]
    for l in quantized:
        for b in l.bottoms:
            if b not in float_blobs:
                raise ModelFormatError("blob %s (input of int8 layer %s) is not in the float model: the two "
                                       "models do not have the same graph" % (b, l.name))
            if b not in needed:
                needed.append(b)
    return compared, needed


def _build_report(float_base, int8_base, count, preprocess, sidecar, fold, int8_model, quantized, compared,
                  entire, single_stats, fold_stats, float_top1, int8_top1, labels, output_blob) -> AnalysisReport:
    layers = []
    # what calibration clipped per layer (quantize's .json; None for older files or a table)
    clipped = {d.get("name"): (d.get("calibration") or {}).get("clipped")
               for d in (sidecar or {}).get("layers", []) if isinstance(d, dict)}
    for index, l in enumerate(quantized):
        top = l.tops[0]
        ws = l.weight("weight_scales")
        bs = l.weight("bottom_scale")
        ts = l.weight("top_scale")
        wsv = ws.data[ws.data > 0] if ws is not None else np.zeros(0)
        row = {
            "index": index,
            "layer": l.name,
            "type": l.type,
            "bottom": l.bottoms[0],
            "top": top,
            "int8_scale_term": l.int_param(8, 0),
            "bottom_scale": float(bs.data[0]) if bs is not None else None,
            "top_scale": float(ts.data[0]) if ts is not None else None,
            "weight_scale_min": float(wsv.min()) if wsv.size else None,
            "weight_scale_max": float(wsv.max()) if wsv.size else None,
            "zero_weight_channels": int((ws.data == 0).sum()) if ws is not None else 0,
            "calibration_clipped": clipped.get(l.name),
            "entire": entire[top].to_dict() if top in entire else None,
            "single": single_stats[l.name].to_dict() if single_stats is not None else None,
        }
        layers.append(row)
    blobs = [{"blob": b, "layer": l.name, "type": l.type, "quantized": _is_quantized(l),
              "entire": entire[b].to_dict()} for b, l in compared]
    summary = output_summary(output_blob, entire[output_blob], float_top1, int8_top1, labels)
    worst, suggested, reason, strength = _suggest(layers)
    report = AnalysisReport(
        **report_header(float_base, int8_base, count, preprocess, sidecar, fold, fold_stats),
        output=summary,
        layers=layers,
        blobs=blobs,
        worst_layers=worst,
        suggested_float_layers=suggested,
        suggestion_reason=reason,
        suggestion_strength=strength,
        suggested_command=_suggested_command(float_base, int8_base, preprocess, sidecar, suggested),
    )
    return report


def report_header(float_base: str, int8_base: str, count: int, preprocess, sidecar: Dict, fold: Optional[Dict],
                  fold_stats: Optional[ErrorStats]) -> Dict:
    """The report's entries about what was compared (models, images, input,
    calibration method, normalisation fold)."""
    calibration = sidecar.get("calibration")
    return dict(
        created=datetime.datetime.now().isoformat(timespec="seconds"),
        float_model=float_base,
        int8_model=int8_base,
        images=count,
        preprocess=preprocess.to_dict(),
        method=calibration.get("method") if isinstance(calibration, dict) else sidecar.get("method"),
        fold=fold,
        fold_check=({"note": "float model folded the same way vs the original float model, final output",
                     **fold_stats.to_dict()} if fold_stats is not None else None),
    )


def output_summary(output_blob: str, out_stats: ErrorStats, float_top1: np.ndarray, int8_top1: np.ndarray,
                   labels: Optional[np.ndarray]) -> Dict:
    """The report's "output" entry: the output blob's error, top-1 agreement
    and, with labels, both accuracies."""
    summary = {
        "blob": output_blob,
        "cosine": out_stats.cosine,
        "rel_error": out_stats.rel_error,
        "min_image_cosine": out_stats.min_image_cosine,
        "top1_agreement": float(np.mean(float_top1 == int8_top1)) if len(float_top1) else 0.0,
        "top1_disagreements": int(np.sum(float_top1 != int8_top1)),
    }
    if labels is not None:
        summary["float_accuracy"] = float(np.mean(float_top1 == labels))
        summary["int8_accuracy"] = float(np.mean(int8_top1 == labels))
        summary["accuracy_drop_points"] = 100.0 * (summary["float_accuracy"] - summary["int8_accuracy"])
    return summary


def _suggested_command(float_base, int8_base, preprocess, sidecar, layers) -> Optional[str]:
    """The quantize command that keeps `layers` float: from the existing
    calibration table when there is one (same scales, no recalibration)."""
    if not layers:
        return None
    out = int8_base + "_mixed"
    float_layers = ",".join(layers)
    if os.path.isfile(int8_base + ".table"):
        return "maixnn quantize %s %s --table %s.table --float-layers %s" % (float_base, out, int8_base, float_layers)
    method = (sidecar.get("calibration") or {}).get("method") if isinstance(sidecar.get("calibration"), dict) else None
    pre = preprocess.to_dict()
    return ("maixnn quantize %s %s --images <calibration images> --method %s --mean %s --std %s --float-layers %s"
            % (float_base, out, method or DEFAULT_METHOD, ",".join("%g" % v for v in pre["torch"]["mean"]),
               ",".join("%g" % v for v in pre["torch"]["std"]), float_layers))


def _suggest(layers: List[Dict]) -> Tuple[List[Dict], List[str], str, str]:
    """Worst layers (by their own, single-mode error; entire mode when single
    was not run) and the --float-layers suggestion: the layers whose cosine is
    below COSINE_WARN, or below COSINE_GOOD while their loss of cosine is at
    least 3x the median one; at most three.  When none qualifies, the single
    worst one, said not to stand out.  Returns (worst, picks, reason,
    strength) with strength "strong" (picks stand out), "weak" or "none"."""
    mode = "single" if layers and layers[0].get("single") else "entire"
    scored = [(1.0 - (r[mode]["cosine"] if r[mode] else 1.0), r) for r in layers]
    scored.sort(key=lambda t: -t[0])
    worst = [{"layer": r["layer"], "type": r["type"], "mode": mode, "cosine": r[mode]["cosine"],
              "rel_error": r[mode]["rel_error"]} for loss, r in scored[:3]]
    losses = sorted(loss for loss, _ in scored)
    median = losses[len(losses) // 2] if losses else 0.0
    picks = [r["layer"] for loss, r in scored
             if 1.0 - loss < COSINE_WARN or (1.0 - loss < COSINE_GOOD and median > 0 and loss >= 3.0 * median)][:3]
    strength = "strong" if picks else "none"
    if picks:
        reason = ("%s stand%s out (%s-mode cosine %s; median loss of cosine over the %d int8 layers %.2g)"
                  % (", ".join(picks), "s" if len(picks) == 1 else "", mode,
                     ", ".join("%.5f" % (1.0 - loss) for loss, r in scored[:len(picks)]), len(layers), median))
    elif scored and scored[0][0] > 0:
        picks = [scored[0][1]["layer"]]
        strength = "weak"
        reason = ("no layer stands out from the others; the worst is %s (%s-mode cosine %.6f), so keeping it "
                  "float may gain little" % (picks[0], mode, 1.0 - scored[0][0]))
    else:
        reason = "every int8 layer matches float exactly on these images"
    return worst, picks, reason, strength


# ------------------------------------------------------------------ text

def _fmt_cos(v: Optional[float]) -> str:
    return "-" if v is None else "%.6f" % v


def _fmt_err(v: Optional[float]) -> str:
    if v is None:
        return "-"
    if v == float("inf"):
        return "inf"
    return "%.2e" % v


def _fmt_clipped(row: Dict) -> str:
    v = row.get("calibration_clipped")
    return "-" if v is None else "%.2f%%" % (100.0 * v)


def format_table(report: Dict) -> str:
    layers = report["layers"]
    name_w = max([len("layer")] + [len(r["layer"]) for r in layers])
    type_w = max([len("type")] + [len(r["type"]) for r in layers])
    head = "%3s  %-*s  %-*s  %10s  %8s  %10s  %9s  %10s  %9s  %s" % (
        "#", name_w, "layer", type_w, "type", "in scale", "clipped", "cos entire", "err entire", "cos single",
        "err single", "")
    lines = ["int8 vs float per quantized layer (%d images; cos = cosine similarity, err = ||int8-float||/||float||)"
             % report["images"], head, "-" * len(head)]
    suggested = set(report.get("suggested_float_layers") or [])
    for r in layers:
        e, s = r["entire"] or {}, r["single"] or {}
        flag = ""
        ref_cos = s.get("cosine", e.get("cosine"))
        if ref_cos is not None and ref_cos < COSINE_WARN:
            flag = "<< low"
        elif r["layer"] in suggested:
            flag = "<  keep float?" if report.get("suggestion_strength") == "strong" else "<  worst"
        lines.append("%3d  %-*s  %-*s  %10s  %8s  %10s  %9s  %10s  %9s  %s" % (
            r["index"], name_w, r["layer"], type_w, r["type"],
            "%.4g" % r["bottom_scale"] if r["bottom_scale"] is not None else "-", _fmt_clipped(r),
            _fmt_cos(e.get("cosine")), _fmt_err(e.get("rel_error")),
            _fmt_cos(s.get("cosine")), _fmt_err(s.get("rel_error")), flag))
    out = report["output"]
    lines.append("")
    lines.append("output %s: cosine %.6f, relative error %.3e, worst image cosine %.6f"
                 % (out["blob"], out["cosine"], out["rel_error"], out["min_image_cosine"]))
    lines.append("top-1 agreement float vs int8: %.2f%% (%d of %d images differ)"
                 % (100 * out["top1_agreement"], out["top1_disagreements"], report["images"]))
    if "float_accuracy" in out:
        lines.append("accuracy: float %.2f%%, int8 %.2f%% (%+.2f points)"
                     % (100 * out["float_accuracy"], 100 * out["int8_accuracy"], -out["accuracy_drop_points"]))
    if report.get("fold_check"):
        fc = report["fold_check"]
        lines.append("folded normalisation: folded float vs original float output cosine %.8f, "
                     "max abs error %.2e" % (fc["cosine"], fc["max_abs_error"]))
    if report["worst_layers"]:
        lines.append("worst layers (%s mode): %s" % (report["worst_layers"][0]["mode"], ", ".join(
            "%s (cos %.6f)" % (w["layer"], w["cosine"]) for w in report["worst_layers"])))
    if report["suggested_float_layers"]:
        lines.append("suggested: --float-layers %s" % ",".join(report["suggested_float_layers"]))
        lines.append("  why: %s" % report["suggestion_reason"])
    return "\n".join(lines)


# ------------------------------------------------------------------ files

def write_report(report: Dict, out_dir: str) -> Dict[str, str]:
    """analysis.json, analysis.txt, per_layer_cosine.png, analysis.html in out_dir."""
    from .ncnn_model import atomic_write
    os.makedirs(out_dir, exist_ok=True)
    files = {"json": os.path.join(out_dir, "analysis.json"),
             "text": os.path.join(out_dir, "analysis.txt"),
             "png": os.path.join(out_dir, "per_layer_cosine.png"),
             "html": os.path.join(out_dir, "analysis.html")}
    png = plot_png(report)
    atomic_write(files["png"], png)
    atomic_write(files["text"], (format_table(report) + "\n").encode("utf-8"))
    atomic_write(files["html"], render_html(report, png).encode("utf-8"))
    data = dict(report)
    data["files"] = files
    atomic_write(files["json"], (json.dumps(_jsonable(data), indent=2) + "\n").encode("utf-8"))
    return files


def _jsonable(v):
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return f if math.isfinite(f) else str(f)
    if isinstance(v, np.integer):
        return int(v)
    return v


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise OptionError("maixnn analyze draws its per-layer plot with matplotlib, which is not "
                          "installed: pip install matplotlib (it is in the [tools] extra)") from None


def plot_png(report: Dict) -> bytes:
    """Per-layer cosine (top) and relative error (bottom), entire vs single."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker  # noqa: F401

    layers = report["layers"]
    names = [r["layer"] for r in layers]
    x = np.arange(len(layers))
    ent_cos = np.array([r["entire"]["cosine"] if r["entire"] else np.nan for r in layers])
    sgl_cos = np.array([r["single"]["cosine"] if r["single"] else np.nan for r in layers])
    ent_err = np.array([r["entire"]["rel_error"] if r["entire"] else np.nan for r in layers])
    sgl_err = np.array([r["single"]["rel_error"] if r["single"] else np.nan for r in layers])
    # circled: the layers the report suggests keeping in float, when they are
    # really worse than the rest (not the "gains little" fallback)
    marked = set(report.get("suggested_float_layers") or []) if report.get("suggestion_strength") == "strong" \
        else set()
    names = short_layer_names(names)

    width = min(max(9.0, 0.38 * len(layers) + 3.0), 30.0)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(width, 7.2), sharex=True,
                                   gridspec_kw={"height_ratios": [3, 2]})
    ax1.plot(x, ent_cos, "o-", color="#1f77b4", label="entire (int8 end to end, errors accumulate)")
    if not np.all(np.isnan(sgl_cos)):
        ax1.plot(x, sgl_cos, "s--", color="#ff7f0e", label="single (layer alone, float input)")
    finite = np.concatenate([ent_cos[np.isfinite(ent_cos)], sgl_cos[np.isfinite(sgl_cos)]])
    lo = float(finite.min()) if finite.size else 0.99
    span = max(1.0 - lo, 1e-4)
    ax1.set_ylim(lo - 0.15 * span, 1.0 + 0.08 * span)
    if lo - 0.15 * span < COSINE_WARN < 1.0:
        ax1.axhline(COSINE_WARN, color="#d62728", lw=0.8, ls=":")
        ax1.text(x[-1] if len(x) else 0, COSINE_WARN, " %.2f" % COSINE_WARN, color="#d62728",
                 va="bottom", ha="right", fontsize=8)
    for i, r in enumerate(layers):
        if r["layer"] in marked:
            yv = sgl_cos[i] if np.isfinite(sgl_cos[i]) else ent_cos[i]
            ax1.plot([i], [yv], "o", ms=13, mfc="none", mec="#d62728", mew=2)
            ax1.annotate(names[i], (i, yv), textcoords="offset points", xytext=(0, -18),
                         ha="center", color="#d62728", fontsize=8)
    ax1.set_ylabel("cosine similarity to float")
    ax1.ticklabel_format(axis="y", useOffset=False, style="plain")
    decimals = int(min(8, max(2, math.ceil(-math.log10(span / 6.0)) + 1)))
    ax1.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%%.%df" % decimals))
    ax1.grid(True, alpha=0.3)
    ax1.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize=8, frameon=False)
    out = report["output"]
    title = "int8 vs float per layer\n%d images, top-1 agreement %.1f%%" % (report["images"],
                                                                          100 * out["top1_agreement"])
    if "float_accuracy" in out:
        title += ", accuracy float %.1f%% / int8 %.1f%%" % (100 * out["float_accuracy"], 100 * out["int8_accuracy"])
    fig.suptitle(title, fontsize=11)

    floor = 1e-7
    ax2.semilogy(x, np.maximum(ent_err, floor), "o-", color="#1f77b4", label="entire")
    if not np.all(np.isnan(sgl_err)):
        ax2.semilogy(x, np.maximum(sgl_err, floor), "s--", color="#ff7f0e", label="single")
    ax2.set_ylabel("relative error\n||int8-float|| / ||float||")
    ax2.grid(True, which="both", alpha=0.3)
    ax2.set_xticks(x)
    ax2.set_xticklabels(["%d %s" % (i, n) for i, n in zip(x, names)], rotation=60, ha="right", fontsize=8)
    ax2.set_xlabel("quantized layers, in network order")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def short_layer_names(names: Sequence[str], keep: int = 2) -> List[str]:
    """Readable axis labels for ONNX-style names: "/layer1/layer1.1/conv1/Conv"
    -> "layer1.1/conv1" (drop the op type at the end and path parts that the
    next part repeats, keep the last `keep` parts)."""
    out = []
    for name in names:
        parts = [p for p in name.replace("::", "/").split("/") if p]
        if len(parts) > 1 and parts[-1][:1].isupper() and parts[-1].isalnum():
            parts = parts[:-1]
        parts = [p for i, p in enumerate(parts) if not (i + 1 < len(parts) and parts[i + 1].startswith(p))]
        short = "/".join(parts[-keep:]) if parts else name
        out.append(short if len(short) <= 32 else "..." + short[-29:])
    return out


def _cos_class(v: Optional[float]) -> str:
    if v is None:
        return ""
    if v >= COSINE_GOOD:
        return "good"
    if v >= COSINE_WARN:
        return "warn"
    return "bad"


def render_html(report: Dict, png: bytes) -> str:
    e = html.escape
    out = report["output"]
    cards = [("top-1 agreement", "%.1f%%" % (100 * out["top1_agreement"]),
              "%d of %d images change class" % (out["top1_disagreements"], report["images"])),
             ("output cosine", "%.5f" % out["cosine"], "worst image %.5f" % out["min_image_cosine"])]
    if "float_accuracy" in out:
        cards.append(("accuracy", "%.1f%% &rarr; %.1f%%" % (100 * out["float_accuracy"], 100 * out["int8_accuracy"]),
                      "float &rarr; int8 (%+.2f points)" % (-out["accuracy_drop_points"])))
    if report["worst_layers"]:
        w = report["worst_layers"][0]
        name = e(w["layer"]) if len(w["layer"]) <= 18 else "<span style='font-size:15px'>%s</span>" % e(w["layer"])
        cards.append(("worst layer", name, "%s mode cosine %.5f" % (w["mode"], w["cosine"])))
    card_html = "".join('<div class="card"><div class="k">%s</div><div class="v">%s</div><div class="s">%s</div></div>'
                        % (k, v, s) for k, v, s in cards)

    verdict_cls = "good" if out["top1_agreement"] >= 0.99 else ("warn" if out["top1_agreement"] >= 0.95 else "bad")
    if verdict_cls == "good" and out.get("accuracy_drop_points", 0.0) > 1.0:
        verdict_cls = "warn"
    verdict = ("int8 gives the same class as float on %.1f%% of the %d images; the output differs from float by "
               "%.2g (relative)." % (100 * out["top1_agreement"], report["images"], out["rel_error"]))

    rows = []
    worst = set(report.get("suggested_float_layers") or []) if report.get("suggestion_strength") == "strong" \
        else set()
    for r in report["layers"]:
        en, sg = r["entire"] or {}, r["single"] or {}
        rows.append("<tr%s><td>%d</td><td>%s</td><td>%s</td><td class='num'>%s</td><td class='num'>%s</td>"
                    "<td class='num %s'>%s</td><td class='num'>%s</td><td class='num %s'>%s</td><td class='num'>%s</td></tr>"
                    % (" class='worst'" if r["layer"] in worst else "", r["index"], e(r["layer"]), e(r["type"]),
                       "%.4g" % r["bottom_scale"] if r["bottom_scale"] is not None else "-", e(_fmt_clipped(r)),
                       _cos_class(en.get("cosine")), _fmt_cos(en.get("cosine")), _fmt_err(en.get("rel_error")),
                       _cos_class(sg.get("cosine")), _fmt_cos(sg.get("cosine")), _fmt_err(sg.get("rel_error"))))
    blob_rows = "".join("<tr><td>%s</td><td>%s</td><td>%s</td><td class='num %s'>%s</td><td class='num'>%s</td></tr>"
                        % (e(b["blob"]), e(b["layer"]), e(b["type"]) + (" (int8)" if b["quantized"] else ""),
                           _cos_class(b["entire"]["cosine"]), _fmt_cos(b["entire"]["cosine"]),
                           _fmt_err(b["entire"]["rel_error"])) for b in report["blobs"])
    suggestion = ""
    if report["suggested_float_layers"]:
        suggestion = ("<h2>What to do</h2><p>%s.</p><pre>%s</pre><p class='small'>Keeping a layer in float costs "
                      "speed on the board (it leaves the NPU). Re-run the analysis on the new model to check.</p>"
                      % (e(report["suggestion_reason"]), e(report["suggested_command"])))
    pre = report["preprocess"]
    fold_html = ""
    if report.get("fold"):
        f = report["fold"]
        fold_html = ("<p>Per-channel normalisation folded into %s: the board uses mean %.6g, norm %.6g on every "
                     "channel (trained with mean %s, norm %s). Folded float vs original float output: cosine %.8f.</p>"
                     % (e(", ".join(l["layer"] for l in f.get("layers", []))), f["single_mean"], f["single_norm"],
                        e(str([round(v, 4) for v in f["per_channel_mean"]])),
                        e(str([round(v, 6) for v in f["per_channel_norm"]])),
                        report["fold_check"]["cosine"] if report.get("fold_check") else float("nan")))
    return """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>maixnn int8 analysis: %(title)s</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;max-width:1200px;color:#222;padding:0 16px}
h1{font-size:22px;margin-bottom:4px} h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#666;font-size:13px}
.cards{display:flex;gap:14px;flex-wrap:wrap;margin:18px 0}
.card{border:1px solid #ddd;border-radius:8px;padding:10px 16px;min-width:170px;background:#fafafa}
.card .k{font-size:12px;color:#666;text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:24px;font-weight:600;margin:4px 0}
.card .s{font-size:12px;color:#666}
.verdict{padding:10px 14px;border-radius:6px;margin:10px 0}
.verdict.good{background:#e8f5e9}.verdict.warn{background:#fff8e1}.verdict.bad{background:#ffebee}
img{max-width:100%%;border:1px solid #eee}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border-bottom:1px solid #eee;padding:4px 10px;text-align:left}
th{background:#f3f3f3;position:sticky;top:0}
td.num{text-align:right;font-variant-numeric:tabular-nums;font-family:ui-monospace,Menlo,Consolas,monospace}
td.good{background:#e8f5e9}td.warn{background:#fff8e1}td.bad{background:#ffcdd2}
tr.worst td:first-child,tr.worst td:nth-child(2){font-weight:700;color:#c62828}
pre{background:#f6f8fa;padding:10px;border-radius:6px;white-space:pre-wrap;word-break:break-all}
.small{font-size:12px;color:#666}
</style></head><body>
<h1>int8 vs float: where accuracy is lost</h1>
<div class="sub">float %(float)s &nbsp;|&nbsp; int8 %(int8)s &nbsp;|&nbsp; %(images)d images &nbsp;|&nbsp; %(method)s &nbsp;|&nbsp; %(created)s</div>
<div class="cards">%(cards)s</div>
<div class="verdict %(verdict_cls)s">%(verdict)s</div>
<h2>Per-layer cosine similarity</h2>
<p class="small"><b>entire</b>: the int8 model end to end (errors accumulate, what the board sees).
<b>single</b>: each int8 layer alone, fed the float model's input (its own quantization error).
A layer whose <i>single</i> curve dips is a candidate to keep in float. Circled: layers whose own error stands out (see below).</p>
<img alt="per-layer cosine and relative error" src="data:image/png;base64,%(png)s">
%(suggestion)s
<h2>Quantized layers</h2>
<table><tr><th>#</th><th>layer</th><th>type</th><th>input scale</th><th>clipped in calibration</th><th>cosine entire</th><th>rel. error entire</th>
<th>cosine single</th><th>rel. error single</th></tr>
%(rows)s</table>
<p class="small">cosine &ge; %(good)s green, &ge; %(warn)s yellow, below red. Relative error = ||int8 &minus; float|| / ||float|| over all images.</p>
<details><summary>Every blob (entire mode, %(nblobs)d blobs)</summary>
<table><tr><th>blob</th><th>layer</th><th>type</th><th>cosine</th><th>rel. error</th></tr>%(blob_rows)s</table></details>
<h2>Input</h2>
<p>%(size)s %(color)s, %(geometry)s; float model input (u8/255 &minus; mean)/std with mean %(tmean)s std %(tstd)s
(awnn: mean %(amean)s, norm %(anorm)s).</p>
%(fold)s
</body></html>
""" % {
        "title": e(os.path.basename(report["int8_model"])),
        "float": e(report["float_model"]), "int8": e(report["int8_model"]), "images": report["images"],
        "method": e("method " + str(report["method"])) if report.get("method") else "calibration method unknown",
        "created": e(report["created"]), "cards": card_html, "verdict_cls": verdict_cls, "verdict": e(verdict),
        "png": base64.b64encode(png).decode("ascii"), "suggestion": suggestion, "rows": "\n".join(rows),
        "good": COSINE_GOOD, "warn": COSINE_WARN, "nblobs": len(report["blobs"]), "blob_rows": blob_rows,
        "size": e("x".join(str(v) for v in pre["size"])), "color": e(pre["color"]),
        "geometry": e(Preprocess.from_dict(pre).describe_geometry()),
        "tmean": e(str([round(v, 4) for v in pre["torch"]["mean"]])),
        "tstd": e(str([round(v, 4) for v in pre["torch"]["std"]])),
        "amean": e(str([round(v, 4) for v in pre["awnn"]["mean"]])),
        "anorm": e(str([round(v, 6) for v in pre["awnn"]["norm"]])),
        "fold": fold_html,
    }


# ------------------------------------------------------------------ CLI

def configure_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("float_base", help="float model, path without .param/.bin (e.g. out/m)")
    p.add_argument("int8_base", help="int8 model made from it by maixnn quantize (e.g. out/m_int8), ncnn int8 "
                                     "or awnn (--target awnn)")
    p.add_argument("--images", required=True,
                   help="images to compare on: a folder, a .txt list of paths, or .npy arrays")
    p.add_argument("--labels", help="class index per image: text file (one per line, last token) or .npy")
    p.add_argument("--out", dest="out_dir", help="folder for analysis.json/.txt/.html (default <int8_base>_analysis)")
    p.add_argument("--max-images", type=int, help="use at most this many images")
    p.add_argument("--input-size", help="c,h,w (default: from <int8_base>.json)")
    p.add_argument("--mean", help="per-channel mean, comma separated (with --std: 0..1; with --norm: 0..255)")
    p.add_argument("--std", help="per-channel std (PyTorch terms)")
    p.add_argument("--norm", help="per-channel norm (awnn terms)")
    p.add_argument("--resize", type=resize_option, help=RESIZE_HELP)
    p.add_argument("--bgr", action="store_true", help="the model takes BGR")
    p.add_argument("--no-single", action="store_true", help="skip the single-layer mode (faster)")
    p.add_argument("--no-progress", action="store_true")


def run_cli(args) -> int:
    report = analyze(args.float_base, args.int8_base, images=args.images, labels=args.labels,
                     out_dir=args.out_dir, mean=number_list(args.mean, "mean"),
                     std=number_list(args.std, "std"), norm=number_list(args.norm, "norm"),
                     input_size=args.input_size, resize=args.resize, bgr=args.bgr if args.bgr else None,
                     max_images=args.max_images, progress=not args.no_progress, single=not args.no_single)
    print("wrote %s, %s, %s" % (report["files"]["json"], report["files"]["text"], report["files"]["html"]))
    return 0
