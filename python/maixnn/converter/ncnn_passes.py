"""Rewrites on the emitted ncnn layer list.

Done here rather than on ONNX because the patterns are simplest in ncnn
terms: a Convolution followed by a BatchNorm / an activation layer, a Flatten
in front of an InnerProduct, a blob with several readers.  Each pass keeps the
computed values (up to float rounding of the BN fold, done in float64).
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Set

import numpy as np

from ..ncnn_model import Layer, Weight, unique_name
from .registry import run_own_pass

WEIGHTED = ("Convolution", "ConvolutionDepthWise", "InnerProduct")


class LayerGraph:
    """The layer list plus the blobs that must keep their names and readers
    (graph inputs and outputs)."""

    def __init__(self, layers: List[Layer], inputs: Sequence[str], outputs: Sequence[str]):
        self.layers = layers
        self.inputs = list(inputs)
        self.outputs = list(outputs)

    def readers(self, blob: str) -> List[Layer]:
        return [l for l in self.layers if blob in l.bottoms]

    def read_count(self, blob: str) -> int:
        return sum(l.bottoms.count(blob) for l in self.layers)

    def producer(self, blob: str):
        for l in self.layers:
            if blob in l.tops:
                return l
        return None

    def sole_reader(self, blob: str):
        """The one layer reading `blob` (once), if `blob` is not a graph output."""
        if blob in self.outputs or self.read_count(blob) != 1:
            return None
        return self.readers(blob)[0]


def _activation_of(l: Layer):
    return l.int_param(9, 0)


def fold_batchnorm(g: LayerGraph) -> List[str]:
    """Convolution/ConvolutionDepthWise/InnerProduct -> BatchNorm: scale the
    weights and shift the bias, computed in float64."""
    done = []
    for bn in [l for l in g.layers if l.type == "BatchNorm"]:
        src = g.producer(bn.bottoms[0])
        if src is None or src.type not in WEIGHTED or _activation_of(src) or src.int_param(8, 0):
            continue
        if g.sole_reader(bn.bottoms[0]) is not bn:
            continue
        n_out = int(src.params[0])
        slope, mean, var, beta = (np.asarray(bn.weight(k).data, np.float64)
                                  for k in ("slope", "mean", "var", "bias"))
        if slope.size != n_out:
            continue
        eps = float(bn.params.get(1, 0.0))
        a = slope / np.sqrt(var + eps)
        w = np.asarray(src.weight("weight").data, np.float64).reshape(n_out, -1)
        bias_w = src.weight("bias")
        b = np.zeros(n_out) if bias_w is None else np.asarray(bias_w.data, np.float64)
        new_w = (w * a[:, None]).reshape(-1)
        new_b = (b - mean) * a + beta
        bias_id = 1 if src.type == "InnerProduct" else 5
        src.params[bias_id] = 1
        src.weights = [Weight("weight", new_w, "tagged"), Weight("bias", new_b, "raw")]
        src.tops = list(bn.tops)
        g.layers.remove(bn)
        done.append("folded BatchNorm %s into %s %s" % (bn.name, src.type, src.name))
    return done


def fuse_activation(g: LayerGraph) -> List[str]:
    """ReLU / leaky ReLU / Clip / Sigmoid / HardSwish right after a
    Convolution or InnerProduct becomes its activation_type (param 9) with
    activation_params (param 10)."""
    done = []
    for act in [l for l in g.layers if l.type in ("ReLU", "Clip", "Sigmoid", "HardSwish")]:
        src = g.producer(act.bottoms[0])
        if src is None or src.type not in WEIGHTED or _activation_of(src) or src.int_param(8, 0):
            continue
        if g.sole_reader(act.bottoms[0]) is not act:
            continue
        if act.type == "ReLU":
            slope = float(act.params.get(0, 0.0))
            kind, args = (1, None) if slope == 0.0 else (2, [slope])
        elif act.type == "Clip":
            kind, args = 3, [float(act.params.get(0, -3.4028234663852886e38)),
                             float(act.params.get(1, 3.4028234663852886e38))]
        elif act.type == "Sigmoid":
            kind, args = 4, None
        else:
            kind, args = 6, [float(act.params.get(0, 0.2)), float(act.params.get(1, 0.5))]
        src.params[9] = kind
        if args is not None:
            src.params[10] = args
        src.tops = list(act.tops)
        g.layers.remove(act)
        done.append("fused %s %s into %s %s" % (act.type, act.name, src.type, src.name))
    return done


def remove_flatten_before_innerproduct(g: LayerGraph) -> List[str]:
    """InnerProduct flattens a (c, h, w) blob by itself, and the V831
    converter rejects Flatten/Reshape: drop those that only feed InnerProduct."""
    done = []
    for fl in [l for l in g.layers if l.type in ("Flatten", "Reshape")]:
        top = fl.tops[0]
        readers = g.readers(top)
        if top in g.outputs or not readers or any(r.type != "InnerProduct" for r in readers):
            continue
        for r in readers:
            r.bottoms = [fl.bottoms[0] if b == top else b for b in r.bottoms]
        g.layers.remove(fl)
        done.append("removed %s %s (it only fed InnerProduct)" % (fl.type, fl.name))
    return done


def remove_dead_layers(g: LayerGraph) -> List[str]:
    done = []
    while True:
        read = {b for l in g.layers for b in l.bottoms} | set(g.outputs)
        dead = [l for l in g.layers if l.type != "Input" and not any(t in read for t in l.tops)]
        if not dead:
            return done
        for l in dead:
            g.layers.remove(l)
            done.append("removed unused %s %s" % (l.type, l.name))


def insert_splits(g: LayerGraph) -> List[str]:
    """ncnn wants one reader per blob: a blob read n > 1 times (a graph output
    that is also read counts its extraction as one) goes through a Split with
    n tops.  A graph output keeps its name on the Split's first top."""
    done = []
    counter = 0
    taken: Set[str] = {b for l in g.layers for b in l.bottoms + l.tops}
    i = 0
    while i < len(g.layers):
        layer = g.layers[i]
        for top in list(layer.tops):
            n_reads = g.read_count(top)
            is_output = top in g.outputs
            if n_reads + (1 if is_output else 0) <= 1:
                continue
            source = top
            new_tops: List[str] = []
            if is_output:
                # the producer's top is renamed; the Split re-creates the output name
                source = unique_name(top + "_presplit", taken)
                layer.tops = [source if t == top else t for t in layer.tops]
                new_tops.append(top)
            readers_tops = []
            for k in range(n_reads):
                readers_tops.append(unique_name("%s_splitncnn_%d" % (top, k), taken))
            new_tops += readers_tops
            # give each read (in layer order, repeats included) its own top
            it = iter(readers_tops)
            for l in g.layers[i + 1:]:
                l.bottoms = [next(it) if b == top else b for b in l.bottoms]
            split_name = unique_name("splitncnn_%d" % counter, {l.name for l in g.layers})
            split = Layer("Split", split_name, [source], new_tops)
            counter += 1
            g.layers.insert(i + 1, split)
            done.append("inserted Split for %s (%d readers)" % (top, n_reads + (1 if is_output else 0)))
        i += 1
    return done


def run_passes(g: LayerGraph, where: str = "<model>") -> Dict[str, List[str]]:
    """Every pass in order; a pass failing is an InternalError naming it and the layer."""
    report = {"fused": [], "removed": [], "inserted": []}
    for key, fn in (("fused", fold_batchnorm), ("fused", fuse_activation),
                    ("removed", remove_flatten_before_innerproduct), ("removed", remove_dead_layers),
                    ("inserted", insert_splits)):
        report[key] += run_own_pass(fn, g, where)
    return report
