"""`maixnn analyze FLOAT AWNN`: an awnn (V831 NPU) model against its float model, per layer.

The same report as for ncnn int8 (maixnn.analyzer: terminal table,
analysis.json/.txt/.html with the per-layer cosine plot), for a model written
by `maixnn quantize --target awnn` (or maixnn.to_awnn):

* the float reference is the graph the awnn writer starts from
  (maixnn.awnn.npu_float_graph of the float model, folded first when the
  quantizer folded a per-channel normalisation), so that the two models'
  blobs line up name for name (a Split top that the writer requantized keeps
  its name on the Quantize layer's output);
* the awnn model runs on maixnn's engine (the V831 NPU emulation);
* entire mode: the awnn model end to end, every blob both models have; an int8
  blob is read as the board's CPU would read it (Net.forward(dequantize=True),
  the engine's NPU->CPU rule with the blob's scale);
* single mode: each NPU layer alone, written by the awnn writer as a
  one-layer model (one Input per bottom -> layer, same table scales), fed the
  float model's inputs to that layer: its own quantization error.  Splits
  and the writer's inserted Quantize layers (copies) have no single figure.

Rows are the layers that run on the NPU (device 1); the blob table lists every
compared blob, CPU layers included.
"""
from __future__ import annotations

import os
import tempfile
from typing import Dict, List, Optional

import numpy as np

from .errors import Error, ModelFormatError, OptionError
from .ncnn_model import Layer, NcnnModel

DEVICE_PARAM = 28   # -23328=1,<device>


def is_awnn_param(path: str) -> bool:
    """True when path is an awnn .param (maixnn.awnn.placement.is_awnn_model)."""
    from .awnn.placement import is_awnn_model
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as f:
            return is_awnn_model(NcnnModel.from_param_text(f.read(), path))
    except (OSError, ModelFormatError):
        return False


def _reference_graph(float_model: NcnnModel, fold: Optional[Dict]) -> NcnnModel:
    from .awnn import npu_float_graph
    model = float_model
    if fold:
        from .fold import fold_input_normalization
        model, _ = fold_input_normalization(float_model, fold["per_channel_mean"], norm=fold["per_channel_norm"],
                                            single_mean=fold["single_mean"], single_norm=fold["single_norm"])
    return npu_float_graph(model)


class _SingleLayers:
    """One-layer awnn models (Input -> layer), written by maixnn.to_awnn from
    the float layer and the awnn model's own scales, built on first use."""

    def __init__(self, reference: NcnnModel, awnn_net, table_path: Optional[str]):
        self.reference = reference
        self.by_name = {l.name: l for l in reference.layers}
        self.scales = {b: awnn_net.blob_scale(b) for b in awnn_net.blob_names}
        self.weights: Dict[str, np.ndarray] = {}
        if table_path and os.path.isfile(table_path):
            from .awnn import read_table
            self.weights = {k: np.asarray(v, np.float32) for k, v in read_table(table_path)[0].items()}
        self.nets: Dict[str, object] = {}
        self.failed: Dict[str, str] = {}
        self.tmp = tempfile.TemporaryDirectory(prefix="maixnn-awnn-single-")

    def supports(self, layer: Layer) -> bool:
        return (layer.name in self.by_name and layer.bottoms and len(layer.tops) == 1
                and layer.type not in ("Split", "Input", "Quantize")
                and all(b in self.scales for b in layer.bottoms) and layer.tops[0] in self.scales)

    def run(self, layer: Layer, xs: List[np.ndarray]) -> Optional[np.ndarray]:
        """The layer alone on its float inputs xs (one per bottom), dequantized."""
        if layer.name in self.failed:
            return None
        net = self.nets.get(layer.name)
        if net is None:
            try:
                net = self.nets[layer.name] = self._build(layer, [x.shape for x in xs])
            except Error as e:  # the writer or the engine refuses the layer alone: no single figure
                self.failed[layer.name] = str(e)
                return None
        feed = {"single_in%d" % k: x for k, x in enumerate(xs)}
        return net.forward(feed, outputs=["single_out"], dequantize=True)["single_out"]

    def _build(self, layer: Layer, shapes):
        import copy

        from .awnn import to_awnn, write_table
        from .runtime import Net
        inputs = []
        for k, shape in enumerate(shapes):
            if len(shape) == 3:
                c, h, w = shape
                dims = {0: w, 1: h, 2: c}
            elif len(shape) == 2:
                dims = {0: shape[1], 1: shape[0]}
            else:
                dims = {0: int(shape[0])}
            inputs.append(Layer("Input", "single_input%d" % k, [], ["single_in%d" % k], dims))
        src = copy.deepcopy(self.by_name[layer.name])
        src.bottoms, src.tops = ["single_in%d" % k for k in range(len(shapes))], ["single_out"]
        model = NcnnModel(inputs + [src])
        folder = os.path.join(self.tmp.name, "%d" % len(self.nets))
        os.makedirs(folder)
        base = os.path.join(folder, "float")
        model.save(base + ".param", base + ".bin")
        weights = {layer.name: self.weights[layer.name]} if layer.name in self.weights else {}
        blobs = {"single_in%d" % k: self.scales[b] for k, b in enumerate(layer.bottoms)}
        blobs["single_out"] = self.scales[layer.tops[0]]
        write_table(os.path.join(folder, "t.table"), weights, blobs)
        to_awnn(base, os.path.join(folder, "t.table"), os.path.join(folder, "awnn"), mean=0.0, norm=1.0)  # .mud unused
        return Net(os.path.join(folder, "awnn.param"), os.path.join(folder, "awnn.bin"))

    def close(self) -> None:
        for net in self.nets.values():
            net.close()
        self.tmp.cleanup()


def analyze_awnn(float_base: str, awnn_base: str, images, labels=None, out_dir: Optional[str] = None,
                 preprocess=None, mean=None, std=None, norm=None, input_size=None, resize=None,
                 bgr: Optional[bool] = None, max_images: Optional[int] = None, progress: bool = True,
                 verbose: bool = True, single: bool = True):
    """maixnn.analyze() for an awnn model (module docstring)."""
    from . import analyzer as an
    from .calibration import progress_range
    from .preprocess import Dataset
    from .runtime import Net

    param, binp = awnn_base + ".param", awnn_base + ".bin"
    for p in (param, binp):
        if not os.path.isfile(p):
            raise OptionError("awnn model: %s does not exist (give the path without .param/.bin)" % p)
    with open(param, "r", encoding="utf-8", errors="replace") as f:
        awnn_model = NcnnModel.from_param_text(f.read(), param)   # the graph (weights: the engine's)
    float_model = an._load(float_base, "float")
    if any(DEVICE_PARAM in l.params for l in float_model.layers):  # -23328: an awnn layer
        raise OptionError("%s.param is an awnn model: give the float model first" % float_base)
    sidecar = an._read_sidecar(awnn_base)
    fold = an._fold_entry(sidecar)
    dataset_gives_f = False
    if preprocess is None:
        preprocess, dataset_gives_f = an._choose_preprocess(awnn_base, awnn_model, sidecar, fold, mean, std, norm,
                                                            input_size, resize, bgr)
    dataset = Dataset(images, preprocess, limit=max_images)
    count = len(dataset)
    label_arr = an._labels(labels, count)

    reference = _reference_graph(float_model, fold)
    float_net = Net.from_memory(reference.param_text(), reference.bin_bytes())
    awnn_net = Net(param, binp)
    original_net = Net(float_base + ".param", float_base + ".bin") if fold else None
    if len(awnn_net.input_names) != 1:
        raise OptionError("the analyzer handles one-input models; %s has %s" % (awnn_base, awnn_net.input_names))
    output_blob = awnn_net.output_names[0]
    float_blobs = set(float_net.blob_names)
    compared, needed = an._blobs_to_compare(awnn_model, [], float_blobs)
    seen = set(needed)
    if output_blob not in seen:
        raise ModelFormatError("output %s of the awnn model is not a blob of the float model: the two models do "
                               "not have the same graph" % output_blob)
    npu_layers = [l for l in awnn_model.layers if awnn_net.layer_device(l.name) == "npu" and l.type != "Input"
                  and l.tops and l.tops[0] in seen]
    singles = _SingleLayers(reference, awnn_net, sidecar_table(awnn_base, sidecar)) if single else None
    if singles is not None:
        for l in npu_layers:
            if singles.supports(l):
                needed += [b for b in l.bottoms if b in float_blobs and b not in needed]

    A, B = an._input_mapping(fold, preprocess.channels)
    entire = {b: an.ErrorStats() for b, _ in compared}
    single_stats = {l.name: an.ErrorStats() for l in npu_layers}
    fold_stats = an.ErrorStats() if fold else None
    float_top1, awnn_top1 = [], []
    try:
        for i in progress_range(count, "analyzing (awnn)", progress, leave=True):
            x_in, x = an.model_inputs(dataset[i], fold, dataset_gives_f, A, B)
            ref = float_net.forward(x_in, outputs=needed)
            # int8 blobs read as the board's CPU reads them (the engine's NPU->CPU rule)
            got = awnn_net.forward(x_in, outputs=[b for b, _ in compared], dequantize=True)
            for b, _ in compared:
                entire[b].add(ref[b], got[b])
            if singles is not None:
                for l in npu_layers:
                    if singles.supports(l) and all(b in ref for b in l.bottoms):
                        y = singles.run(l, [ref[b] for b in l.bottoms])
                        if y is not None:
                            single_stats[l.name].add(ref[l.tops[0]], y)
            if original_net is not None:
                fold_stats.add(original_net.forward(x), ref[output_blob])
            float_top1.append(int(np.argmax(ref[output_blob].reshape(-1))))
            awnn_top1.append(int(np.argmax(got[output_blob].reshape(-1))))
        rows = []
        for index, l in enumerate(npu_layers):
            st = single_stats[l.name]
            rows.append({
                "index": index, "layer": l.name, "type": l.type, "device": "NPU",
                "bottom": l.bottoms[0] if l.bottoms else "", "top": l.tops[0],
                "bottom_scale": awnn_net.blob_scale(l.bottoms[0]) if l.bottoms else None,
                "top_scale": awnn_net.blob_scale(l.tops[0]),
                "entire": entire[l.tops[0]].to_dict(),
                "single": st.to_dict() if st.count else None,
                "single_note": _single_note(singles, l, st),
            })
        blobs = [{"blob": b, "layer": l.name, "type": l.type, "quantized": awnn_net.layer_device(l.name) == "npu",
                  "device": awnn_net.layer_device(l.name).upper(), "entire": entire[b].to_dict()}
                 for b, l in compared]
    finally:
        if singles is not None:
            singles.close()
        for net in [float_net, awnn_net] + ([original_net] if original_net else []):
            net.close()

    summary = an.output_summary(output_blob, entire[output_blob], np.asarray(float_top1), np.asarray(awnn_top1),
                                label_arr)
    worst, _, reason, _ = an._suggest(rows)
    report = an.AnalysisReport(
        target="awnn",
        **an.report_header(float_base, awnn_base, count, preprocess, sidecar, fold, fold_stats),
        output=summary,
        layers=rows,
        blobs=blobs,
        worst_layers=worst,
        # the awnn target has no --float-layers: where a layer runs is the writer's placement
        suggested_float_layers=[],
        suggestion_reason=reason,
        suggestion_strength="none",
        suggested_command=None,
    )
    if out_dir is None:
        out_dir = awnn_base + "_analysis"
    report["files"] = an.write_report(report, out_dir)
    if verbose:
        print(an.format_table(report))
        print("report: %s" % report["files"]["html"])
    return report


def _single_note(singles: Optional[_SingleLayers], layer: Layer, stats) -> Optional[str]:
    """Why a row has no single-mode figure (None when it has one)."""
    if stats.count:
        return None
    if singles is None:
        return "single mode not run"
    if layer.name in singles.failed:
        return singles.failed[layer.name]
    return "no single-layer figure (a copy: Split or inserted Quantize)"


def sidecar_table(awnn_base: str, sidecar: Dict) -> Optional[str]:
    """The .table next to the awnn model (its weight scales feed single mode)."""
    files = sidecar.get("files") if isinstance(sidecar.get("files"), dict) else {}
    name = files.get("table")
    folder = os.path.dirname(os.path.abspath(awnn_base + ".json"))
    for p in ([os.path.join(folder, name)] if name else []) + [awnn_base + ".table"]:
        if os.path.isfile(p):
            return p
    return None
