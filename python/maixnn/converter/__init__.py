"""Stage 2: ONNX -> ncnn .param/.bin, maixnn's own converter.

Pipeline (one module each):
  onnx_graph        load the file, pin the input shape to (1, C, H, W)
  constant_folding  evaluate the shape arithmetic the exporter leaves behind
  onnx_passes       Identity/Dropout removal, MatMul+Add -> Gemm, hardswish
                    recognition, zero Pad folded into Conv
  ops_*             one small handler per ONNX operator (``@register``),
                    each emitting ncnn layers
  ncnn_passes       BatchNorm folded into Conv/InnerProduct, activations fused
                    (param 9/10), Flatten before InnerProduct removed, Split
                    inserted for blobs with several readers
and the result is written with maixnn.ncnn_model.NcnnModel.save (atomic).

PC tooling: needs the ``onnx`` package (not torch).
"""
from __future__ import annotations

import argparse
import collections
from typing import Dict, List, Optional, Sequence

from ..errors import Error, OptionError, UnsupportedOperatorError, path_argument
from ..exporter import chw_shape
from ..ncnn_model import NcnnModel
from . import constant_folding, ncnn_passes, onnx_graph, onnx_passes, registry
# the handler modules register themselves on import
from . import ops_activation, ops_conv, ops_elementwise, ops_linear, ops_misc, ops_pool, ops_resize, ops_shape  # noqa: F401,E501
from . import ops_norm, ops_slice  # noqa: F401

__all__ = ["convert", "convert_to_model", "ConversionReport", "configure_parser", "run_cli"]


class ConversionReport:
    """What convert() did: the files, the layers, and every rewrite."""

    max_listed = 12  # str() lists this many items per category

    def __init__(self):
        self.onnx_path = ""
        self.param_path = ""
        self.bin_path = ""
        self.mud_path = ""
        self.input_shapes: Dict[str, tuple] = {}
        self.inputs: List[str] = []
        self.outputs: List[str] = []
        self.onnx_nodes = 0
        self.folded_nodes = 0
        self.layer_types: Dict[str, int] = {}
        self.layer_count = 0
        self.graph_rewrites: List[str] = []
        self.fused: List[str] = []
        self.removed: List[str] = []
        self.inserted: List[str] = []
        self.notes: List[str] = []

    def as_dict(self) -> dict:
        return dict(self.__dict__)

    def __str__(self) -> str:
        lines = ["%s -> %s / %s" % (self.onnx_path, self.param_path, self.bin_path),
                 "  inputs %s, outputs %s" % (", ".join("%s%s" % (k, self.input_shapes.get(k, ""))
                                                         for k in self.inputs), ", ".join(self.outputs)),
                 "  %d ONNX nodes (%d constant nodes folded) -> %d ncnn layers: %s"
                 % (self.onnx_nodes, self.folded_nodes, self.layer_count,
                    ", ".join("%s %d" % kv for kv in sorted(self.layer_types.items())))]
        for title, items in (("graph rewrites", self.graph_rewrites), ("fused", self.fused),
                             ("removed", self.removed), ("inserted", self.inserted), ("notes", self.notes)):
            if items:
                lines.append("  %s: %d" % (title, len(items)))
                lines += ["    " + s for s in items[:self.max_listed]]
                if len(items) > self.max_listed:
                    lines.append("    ... and %d more" % (len(items) - self.max_listed))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return "ConversionReport(%d layers from %s)" % (self.layer_count, self.onnx_path)


def convert_to_model(onnx_path: str, input_shape: Optional[Sequence[int]] = None,
                     report: Optional[ConversionReport] = None) -> NcnnModel:
    """The in-memory ncnn model for an ONNX file (nothing written)."""
    report = report if report is not None else ConversionReport()
    onnx_path = path_argument(onnx_path, "onnx_path")
    report.onnx_path = onnx_path
    graph = onnx_graph.load_graph(onnx_path, input_shape)
    report.onnx_nodes = len(graph.nodes)
    report.input_shapes = dict(graph.input_shapes)
    try:
        report.folded_nodes = constant_folding.fold_constants(graph)
    except Error:
        raise
    except registry.MALFORMED_INPUT_ERRORS as exc:  # evaluating the file's own constants
        raise registry.malformed(None, exc, "%s: while folding the ONNX graph's constants" % onnx_path) from exc
    report.graph_rewrites = onnx_passes.run_passes(graph, onnx_path)

    for out in graph.outputs:
        if out in graph.consts:
            raise UnsupportedOperatorError("%s: graph output %r is a constant (it does not depend on the input)"
                                           % (onnx_path, out))

    ctx = registry.ConvertContext(graph)
    for name in graph.inputs:
        _, c, h, w = graph.input_shapes[name]
        blob = ctx.new_blob(name)
        ctx.bind(name, blob)
        ctx.add_layer("Input", name, [], [blob], {0: int(w), 1: int(h), 2: int(c)})
    graph.toposort()
    for node in graph.nodes:
        registry.emit(ctx, node)

    input_blobs = [ctx.blob_of(n) for n in graph.inputs]
    output_blobs = _name_outputs(ctx, graph, input_blobs, onnx_path)
    lg = ncnn_passes.LayerGraph(ctx.layers, input_blobs, output_blobs)
    done = ncnn_passes.run_passes(lg, onnx_path)
    report.fused, report.removed, report.inserted = done["fused"], done["removed"], done["inserted"]
    report.notes = list(ctx.notes)
    model = NcnnModel(lg.layers)
    report.inputs = model.input_names()
    report.outputs = list(output_blobs)
    report.layer_types = dict(collections.Counter(l.type for l in model.layers))
    report.layer_count = len(model.layers)
    _check_outputs(model, output_blobs, onnx_path)
    return model


def _name_outputs(ctx: registry.ConvertContext, graph: onnx_graph.Graph, input_blobs: List[str],
                  onnx_path: str) -> List[str]:
    """The ncnn blob of each graph output, renamed to the output's ONNX name
    (output0, ...); an output that is an input or another output gets a Noop
    copy of its own."""
    output_blobs: List[str] = []
    for out in graph.outputs:
        if not ctx.has_blob(out):
            raise UnsupportedOperatorError("%s: graph output %r was not produced" % (onnx_path, out))
        blob = ctx.blob_of(out)
        wanted = registry.ncnn_safe_name(out)
        if blob in input_blobs or blob in output_blobs:
            new = ctx.new_blob(wanted)
            ctx.add_layer("Noop", wanted + "_copy", [blob], [new])
            blob = new
        elif blob != wanted:
            if any(wanted in l.tops or wanted in l.bottoms for l in ctx.layers):
                raise UnsupportedOperatorError("%s: cannot name output blob %r: the name is taken"
                                               % (onnx_path, wanted))
            for l in ctx.layers:
                l.tops = [wanted if t == blob else t for t in l.tops]
                l.bottoms = [wanted if b == blob else b for b in l.bottoms]
            blob = wanted
        output_blobs.append(blob)
    return output_blobs


def _check_outputs(model: NcnnModel, outputs: List[str], where: str) -> None:
    """ncnn decides outputs by 'nobody reads it': make sure that is exactly
    the ONNX outputs (a dangling extra blob would be a converter bug)."""
    found = model.output_names()
    extra = [b for b in found if b not in outputs]
    if extra:
        raise RuntimeError("%s: converter left unread blobs %s" % (where, extra))


def convert(onnx_path: str, out_base: str, input_shape: Optional[Sequence[int]] = None,
            mean=None, std=None, norm=None) -> ConversionReport:
    """Convert an ONNX file to ``out_base`` .param/.bin and a float ``.mud``.

    input_shape (C, H, W) is needed only when the file's input has symbolic
    dims.  The .mud (what ``nn.load`` and libmaix read) records the input's
    normalisation: mean/std in PyTorch terms or mean/norm in awnn terms, as
    quantize takes them (none given: u8 / 255, with a PreprocessWarning).
    All three files are written together or not at all.  Returns a
    ConversionReport (layers, what was fused/removed)."""
    from ..ncnn_model import atomic_write_many
    from ..preprocess import Preprocess

    report = ConversionReport()
    out_base = path_argument(out_base, "out_base")
    model = convert_to_model(onnx_path, input_shape, report)
    for suffix in (".param", ".bin"):
        if out_base.endswith(suffix):
            out_base = out_base[: -len(suffix)]
    report.param_path = out_base + ".param"
    report.bin_path = out_base + ".bin"
    param_text, bin_bytes = model.param_text().encode("ascii"), model.bin_bytes()
    files = [(report.param_path, param_text), (report.bin_path, bin_bytes)]
    inputs = model.input_names()
    shape = tuple(report.input_shapes.get(inputs[0], ())) if len(inputs) == 1 else ()
    if len(shape) == 4 and shape[1] in (1, 3):
        # an image input: the .mud (libmaix/nn.load) records how pixels become it
        preprocess = Preprocess.from_options(shape[1:], mean=mean, std=std, norm=norm)
        report.notes.extend(preprocess.notes)
        report.mud_path = out_base + ".mud"
        mud = _float_mud_text(report, inputs[0], preprocess, param_text, bin_bytes)
        files.append((report.mud_path, mud.encode("utf-8")))
    else:
        if any(v is not None for v in (mean, std, norm)):
            raise OptionError("mean/std/norm describe an image input (1 or 3 channels); %s takes %s"
                              % (onnx_path, ", ".join("%s %s" % kv for kv in report.input_shapes.items())))
        report.notes.append("no .mud written: the input is not a 1- or 3-channel image (%s)"
                            % ", ".join("%s %s" % kv for kv in report.input_shapes.items()))
    atomic_write_many(files)
    return report


def _float_mud_text(report: ConversionReport, input_name: str, preprocess, param_text: bytes,
                    bin_bytes: bytes) -> str:
    """The .mud of the converted model: output shapes from one run of maixnn's
    engine on a zero input (the files are not on disk yet)."""
    import os

    import numpy as np

    from ..quantizer import model_mud_text
    from ..runtime import Net

    with Net.from_memory(param_text, bin_bytes) as net:
        outputs = net.forward({input_name: np.zeros(preprocess.size, np.float32)},
                              outputs=list(net.output_names))
    return model_mud_text(os.path.basename(report.param_path), os.path.basename(report.bin_path),
                          input_name, preprocess, collections.OrderedDict(
                              (name, tuple(y.shape)) for name, y in outputs.items()))


# ----------------------------------------------------------------- CLI

def configure_parser(p: argparse.ArgumentParser) -> None:
    p.description = ("Convert an ONNX model to ncnn .param/.bin with maixnn's converter "
                     "(BatchNorm folded, activations fused, Split layers, Input shape written).")
    p.add_argument("onnx", help="the .onnx file")
    p.add_argument("out", help="output base path: writes OUT.param, OUT.bin and OUT.mud")
    p.add_argument("--input-shape", default=None,
                   help="C,H,W for models with symbolic input dims (e.g. 3,224,224)")
    p.add_argument("--mean", help="input mean for the .mud, 1 or 3 values (PyTorch terms on 0..1 with "
                                  "--std; awnn terms on 0..255 with --norm)")
    p.add_argument("--std", help="input std, PyTorch terms: x = (u8/255 - mean) / std")
    p.add_argument("--norm", help="input norm, awnn terms: x = (u8 - mean) * norm")
    p.add_argument("-q", "--quiet", action="store_true", help="do not print the conversion report")


def run_cli(args: argparse.Namespace) -> int:
    import warnings

    from ..cli import number_list
    from ..preprocess import PreprocessWarning

    shape = chw_shape(args.input_shape, "--input-shape") if args.input_shape else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreprocessWarning)  # printed with the report's notes
        report = convert(args.onnx, args.out, input_shape=shape, mean=number_list(args.mean, "mean"),
                         std=number_list(args.std, "std"), norm=number_list(args.norm, "norm"))
    if not getattr(args, "quiet", False):
        print(report)
    return 0
