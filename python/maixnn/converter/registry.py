"""The operator registry and the context handlers emit ncnn layers into.

A handler is a function ``handler(ctx, node)`` registered for one or more
ONNX op types with ``@register("Conv")``; it reads the node (attributes,
constant inputs, static shapes via ``ctx``) and appends ncnn layers with
``ctx.add_layer``.  Everything it cannot express exactly it refuses with
``raise ctx.unsupported(node, "what")``.
"""
from __future__ import annotations

import hashlib
import math
import re
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import Error, InternalError, ModelFormatError, UnsupportedOperatorError
from ..ncnn_model import Layer, ParamValue, Weight, unique_name
from .onnx_graph import Graph, Node, Shape, unsupported

Handler = Callable[["ConvertContext", Node], None]
HANDLERS: Dict[str, Handler] = {}

# The layer types maixnn's engine implements (csrc/layers/layer_list.h):
# a handler may emit only these.
ENGINE_LAYER_TYPES = frozenset([
    "Input", "Split", "ReLU", "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Dropout", "Noop",
    "Flatten", "Reshape", "Softmax", "Concat", "Eltwise", "BinaryOp", "BatchNorm", "Scale", "Bias",
    "Padding", "MemoryData", "Convolution", "ConvolutionDepthWise", "Pooling", "InnerProduct", "Interp",
    "Crop", "Slice", "ShuffleChannel", "Permute", "Swish", "Mish", "GELU", "PReLU",
    "Deconvolution", "DeconvolutionDepthWise", "LayerNorm", "GroupNorm", "MatMul",
    "Reduction",
])


def register(*op_types: str):
    def deco(fn: Handler) -> Handler:
        for op in op_types:
            if op in HANDLERS:
                raise RuntimeError("two converter handlers for ONNX %s" % op)
            HANDLERS[op] = fn
        return fn
    return deco


_NAME_OK = re.compile(r"^[^\s,=]{1,200}$")


def ncnn_safe_name(name: str) -> str:
    """ncnn reads names with %255s: no whitespace, bounded length.  '=' and ','
    are avoided too so a name never looks like a parameter token."""
    if _NAME_OK.match(name):
        return name
    cleaned = re.sub(r"[\s,=]+", "_", name)[:180] or "t"
    if cleaned != name:
        cleaned += "_" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
    return cleaned


class ConvertContext:
    def __init__(self, graph: Graph):
        self.graph = graph
        self.layers: List[Layer] = []
        self._blob_of: Dict[str, str] = {}   # ONNX tensor -> ncnn blob
        self._blob_names: set = set()
        self._layer_names: set = set()
        self.notes: List[str] = []            # what handlers decided (for the report)

    # ------------------------------------------------------------ naming
    def new_layer_name(self, base: str) -> str:
        return unique_name(ncnn_safe_name(base), self._layer_names)

    def new_blob(self, base: str) -> str:
        return unique_name(ncnn_safe_name(base), self._blob_names)

    # ------------------------------------------------------------ tensors
    def unsupported(self, node: Node, what: str) -> UnsupportedOperatorError:
        return unsupported(node, what)

    def const(self, name: str) -> Optional[np.ndarray]:
        return self.graph.const(name)

    def shape(self, node: Node, name: str) -> Shape:
        """The static ONNX shape of `name` (batch included)."""
        s = self.graph.shape(name)
        if s is None:
            raise unsupported(node, "the shape of tensor %r is not static after constant folding" % name)
        return s

    def data_shape(self, node: Node, name: str) -> Shape:
        """Shape of a data tensor as ncnn sees it: batch 1 dropped.  ncnn blobs
        are 1-D (w), 2-D (h, w) or 3-D (c, h, w)."""
        s = self.shape(node, name)
        if len(s) >= 2:
            if s[0] != 1:
                raise unsupported(node, "tensor %r has batch dimension %d; ncnn runs batch 1" % (name, s[0]))
            s = s[1:]
        if not 1 <= len(s) <= 3:
            raise unsupported(node, "tensor %r has shape %s; ncnn blobs have at most 3 dims besides batch"
                              % (name, self.shape(node, name)))
        return tuple(s)

    def blob(self, node: Node, name: str) -> str:
        """The ncnn blob holding ONNX tensor `name` (a data input of `node`)."""
        if name in self._blob_of:
            return self._blob_of[name]
        if name in self.graph.consts:
            raise unsupported(node, "input %r is a constant where maixnn expects a computed tensor" % name)
        raise unsupported(node, "input %r has not been produced by a converted layer" % name)

    def bind(self, onnx_name: str, blob: str) -> None:
        """ONNX tensor `onnx_name` is held by existing ncnn blob `blob`."""
        self._blob_of[onnx_name] = blob

    def top(self, node: Node, index: int = 0) -> str:
        """A fresh ncnn blob for output `index` of `node`, named after it."""
        name = node.outputs[index]
        blob = self.new_blob(name)
        self._blob_of[name] = blob
        return blob

    def blob_of(self, name: str) -> str:
        return self._blob_of[name]

    def has_blob(self, name: str) -> bool:
        return name in self._blob_of

    # ------------------------------------------------------------ layers
    def add_layer(self, type: str, name: str, bottoms: Sequence[str], tops: Sequence[str],
                  params: Optional[Dict[int, ParamValue]] = None,
                  weights: Optional[List[Weight]] = None) -> Layer:
        if type not in ENGINE_LAYER_TYPES:  # a converter bug, not a user error
            raise RuntimeError("converter emitted layer type %r that maixnn's engine lacks" % type)
        for pid, value in (params or {}).items():
            values = value if isinstance(value, (list, tuple)) else [value]
            if any(isinstance(v, float) and not math.isfinite(v) for v in values):
                raise UnsupportedOperatorError("ONNX node %r: parameter %d of the %s layer would be %r; ncnn "
                                               "parameters must be finite" % (name, pid, type, value))
        layer = Layer(type, self.new_layer_name(name), bottoms, tops, params or {}, weights or [])
        self.layers.append(layer)
        return layer

    def constant_blob(self, node: Node, value: np.ndarray, like_shape: Tuple[int, ...], hint: str) -> str:
        """A MemoryData layer holding `value` broadcast to the ncnn shape
        `like_shape`; returns its blob."""
        full = np.broadcast_to(np.asarray(value, np.float32), like_shape)
        # MemoryData: 0=w 1=h 2=c
        dims = list(reversed(like_shape))
        params = {0: int(dims[0])}
        if len(dims) > 1:
            params[1] = int(dims[1])
        if len(dims) > 2:
            params[2] = int(dims[2])
        blob = self.new_blob(hint)
        self.add_layer("MemoryData", hint, [], [blob], params,
                       [Weight("data", np.ascontiguousarray(full).reshape(-1), "raw")])
        return blob


def emit(ctx: ConvertContext, node: Node) -> None:
    handler = HANDLERS.get(node.op_type)
    if handler is None:
        raise unsupported(node, "operator %s is not supported by maixnn's converter" % node.op_type)
    try:
        handler(ctx, node)
    except Error:
        raise
    except MALFORMED_INPUT_ERRORS as exc:
        # A handler tripping over an attribute of the wrong type (kernel_shape=0),
        # a missing input or a tensor of the wrong rank: the file is malformed
        # (fuzzing found these); say which node instead of leaking a raw Python error.
        raise malformed(node, exc) from exc


# What a handler or pass raises when an ONNX node has attributes/inputs of an
# unexpected type, count or rank.
MALFORMED_INPUT_ERRORS = (TypeError, ValueError, IndexError, KeyError, AttributeError, ZeroDivisionError,
                          OverflowError)


def run_own_pass(pass_fn, graph, where: str):
    """Run one of the converter's own graph passes.  They see only nodes that
    passed the ONNX schema check and layers the handlers built, so anything
    but a maixnn Error escaping them is a converter bug: an InternalError
    naming the pass and the node/layer it was working on (read from the
    failing frames), never blamed on the user's model."""
    try:
        return pass_fn(graph)
    except Error:
        raise
    except Exception as exc:
        raise InternalError("%s: maixnn's converter failed in its own pass %s at %s (%s: %s); this is a "
                            "bug in maixnn, please report it with the model"
                            % (where, pass_fn.__name__, _culprit(exc), type(exc).__name__, exc)) from exc


def _culprit(exc: BaseException) -> str:
    """The innermost ONNX node or ncnn layer among the failing frames' locals."""
    found = "an unknown node"
    tb = exc.__traceback__
    while tb is not None:
        for value in tb.tb_frame.f_locals.values():
            if isinstance(value, Node):
                found = value.describe()
            elif isinstance(value, Layer):
                found = "%s layer %r" % (value.type, value.name)
        tb = tb.tb_next
    return found


def malformed(node: Optional[Node], exc: BaseException, where: str = "") -> ModelFormatError:
    what = node.describe() if node is not None else (where or "the ONNX graph")
    return ModelFormatError("%s: malformed (an attribute or input has an unexpected type, count or shape: "
                            "%s: %s); re-export the model or fix that node"
                            % (what, type(exc).__name__, exc))
