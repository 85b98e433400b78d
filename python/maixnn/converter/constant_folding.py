"""Fold everything that does not depend on the input pixels into constants.

torch's exporter writes ``x.view(x.size(0), -1)`` as Shape -> Gather ->
Unsqueeze -> Concat -> Reshape, nn.ZeroPad2d as a ConstantOfShape / Concat /
Slice / Transpose / Cast chain feeding Pad, and so on.  With the input shape
fixed, all of that is arithmetic on small integer tensors: evaluate it here in
numpy (own implementations of the usual shape operators; onnx's reference
evaluator as a fallback for rarer all-constant nodes) until nothing changes.
"""
from __future__ import annotations

from typing import Callable, Dict, List

import numpy as np

from .onnx_graph import Graph, Node, unsupported

_FOLDERS: Dict[str, Callable] = {}


def _folder(*ops):
    def deco(fn):
        for op in ops:
            _FOLDERS[op] = fn
        return fn
    return deco


def _axes(node: Node, inputs: List[np.ndarray], idx: int, opset_inputs: int, opset: int):
    """Axes given as an attribute (older opsets) or as input `idx` (newer)."""
    if opset >= opset_inputs:
        if len(inputs) > idx and inputs[idx] is not None:
            return [int(v) for v in np.asarray(inputs[idx]).reshape(-1)]
        return None
    ax = node.attr("axes")
    return None if ax is None else [int(v) for v in ax]


@_folder("Identity")
def _identity(node, x, opset):
    return [x[0]]


@_folder("Cast")
def _cast(node, x, opset):
    from onnx import helper
    to = helper.tensor_dtype_to_np_dtype(int(node.attr("to")))
    return [np.asarray(x[0]).astype(to)]


@_folder("Gather")
def _gather(node, x, opset):
    axis = int(node.attr("axis", 0))
    data, idx = np.asarray(x[0]), np.asarray(x[1]).astype(np.int64)
    idx = np.where(idx < 0, idx + data.shape[axis], idx)
    return [np.take(data, idx, axis=axis)]


@_folder("Unsqueeze")
def _unsqueeze(node, x, opset):
    axes = _axes(node, x, 1, 13, opset)
    out = np.asarray(x[0])
    rank = out.ndim + len(axes)
    for a in sorted(a + rank if a < 0 else a for a in axes):
        out = np.expand_dims(out, a)
    return [out]


@_folder("Squeeze")
def _squeeze(node, x, opset):
    axes = _axes(node, x, 1, 13, opset)
    data = np.asarray(x[0])
    if axes is None:
        return [np.squeeze(data)]
    return [np.squeeze(data, axis=tuple(a + data.ndim if a < 0 else a for a in axes))]


@_folder("Concat")
def _concat(node, x, opset):
    return [np.concatenate([np.asarray(v) for v in x], axis=int(node.attr("axis")))]


@_folder("ConstantOfShape")
def _constant_of_shape(node, x, opset):
    value = node.attr("value")
    value = np.zeros(1, np.float32) if value is None else np.asarray(value).reshape(-1)
    shape = tuple(int(v) for v in np.asarray(x[0]).reshape(-1))
    return [np.full(shape, value[0], dtype=value.dtype)]


@_folder("Slice")
def _slice(node, x, opset):
    data = np.asarray(x[0])
    if opset < 10:
        starts, ends = node.attr("starts"), node.attr("ends")
        axes = node.attr("axes")
        steps = None
    else:
        starts = [int(v) for v in np.asarray(x[1]).reshape(-1)]
        ends = [int(v) for v in np.asarray(x[2]).reshape(-1)]
        axes = [int(v) for v in np.asarray(x[3]).reshape(-1)] if len(x) > 3 and x[3] is not None else None
        steps = [int(v) for v in np.asarray(x[4]).reshape(-1)] if len(x) > 4 and x[4] is not None else None
    if axes is None:
        axes = list(range(len(starts)))
    if steps is None:
        steps = [1] * len(starts)
    sl = [slice(None)] * data.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        a = a + data.ndim if a < 0 else a
        dim = data.shape[a]
        # ONNX clamps like Python slicing, with INT64 extremes meaning "to the end"
        s = max(min(s, dim), -dim - 1) if st > 0 else max(min(s, dim - 1), -dim - 1)
        if e < -dim:
            e = None if st < 0 else 0
        elif e > dim:
            e = dim
        sl[a] = slice(s, e, st)
    return [data[tuple(sl)]]


@_folder("Range")
def _range(node, x, opset):
    start, limit, delta = (np.asarray(v).reshape(()) for v in x)
    return [np.arange(start, limit, delta, dtype=np.result_type(start, limit, delta))]


@_folder("Reshape")
def _reshape(node, x, opset):
    data = np.asarray(x[0])
    shape = [int(v) for v in np.asarray(x[1]).reshape(-1)]
    if not node.attr("allowzero", 0):
        shape = [data.shape[i] if v == 0 else v for i, v in enumerate(shape)]
    return [data.reshape(shape)]


@_folder("Flatten")
def _flatten(node, x, opset):
    data = np.asarray(x[0])
    axis = int(node.attr("axis", 1))
    axis = axis + data.ndim if axis < 0 else axis
    return [data.reshape(int(np.prod(data.shape[:axis])), -1)]


@_folder("Transpose")
def _transpose(node, x, opset):
    perm = node.attr("perm")
    return [np.transpose(np.asarray(x[0]), perm)]


@_folder("Expand")
def _expand(node, x, opset):
    data = np.asarray(x[0])
    shape = tuple(int(v) for v in np.asarray(x[1]).reshape(-1))
    return [data * np.ones(shape, dtype=data.dtype)]


@_folder("Tile")
def _tile(node, x, opset):
    return [np.tile(np.asarray(x[0]), [int(v) for v in np.asarray(x[1]).reshape(-1)])]


def _binary(fn, keeps_type=True):
    def fold(node, x, opset):
        a, b = np.asarray(x[0]), np.asarray(x[1])
        out = np.asarray(fn(a, b))
        # ONNX: same element type in and out (numpy would promote a 0-d int64 with float32 etc.)
        return [out.astype(a.dtype) if keeps_type else out]
    return fold


def _div(a, b):
    if np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer):
        return np.trunc(a / b).astype(a.dtype)  # ONNX integer Div truncates toward zero
    return a / b


_folder("Add")(_binary(np.add))
_folder("Sub")(_binary(np.subtract))
_folder("Mul")(_binary(np.multiply))
_folder("Div")(_binary(_div))
_folder("Equal")(_binary(np.equal, keeps_type=False))
_folder("Less")(_binary(np.less, keeps_type=False))
_folder("Greater")(_binary(np.greater, keeps_type=False))
_folder("Pow")(_binary(np.power))


@_folder("Max", "Min", "Sum")
def _variadic(node, x, opset):
    fn = {"Max": np.maximum, "Min": np.minimum, "Sum": np.add}[node.op_type]
    out = np.asarray(x[0])
    for v in x[1:]:
        out = fn(out, np.asarray(v))
    return [out]


@_folder("Neg", "Abs", "Floor", "Ceil", "Sqrt", "Not", "Sign", "Reciprocal", "Exp", "Relu")
def _unary(node, x, opset):
    fn = {"Neg": np.negative, "Abs": np.abs, "Floor": np.floor, "Ceil": np.ceil, "Sqrt": np.sqrt,
          "Not": np.logical_not, "Sign": np.sign, "Reciprocal": np.reciprocal, "Exp": np.exp,
          "Relu": lambda v: np.maximum(v, 0)}[node.op_type]
    a = np.asarray(x[0])
    return [np.asarray(fn(a)).astype(a.dtype)]


@_folder("Where")
def _where(node, x, opset):
    return [np.where(np.asarray(x[0]), np.asarray(x[1]), np.asarray(x[2]))]


@_folder("ReduceProd")
def _reduce_prod(node, x, opset):
    data = np.asarray(x[0])
    axes = _axes(node, x, 1, 18, opset)
    keep = bool(node.attr("keepdims", 1))
    return [np.prod(data, axis=None if axes is None else tuple(axes), keepdims=keep).astype(data.dtype)]


def _fold_with_reference(node: Node, inputs: List[np.ndarray], opset: int) -> List[np.ndarray]:
    """Rarer all-constant nodes: onnx's reference (numpy) evaluator."""
    from onnx import helper, numpy_helper
    from onnx.reference import ReferenceEvaluator
    from .onnx_graph import _attrs_to_proto
    names = ["in%d" % i if v is not None else "" for i, v in enumerate(inputs)]
    proto = helper.make_node(node.op_type, names, ["out%d" % i for i in range(len(node.outputs))],
                             **_attrs_to_proto(node.attrs))
    ins = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(v.dtype), list(v.shape))
           for n, v in zip(names, inputs) if n]
    outs = [helper.make_tensor_value_info("out%d" % i, 0, None) for i in range(len(node.outputs))]
    model = helper.make_model(helper.make_graph([proto], "fold", ins, outs),
                              opset_imports=[helper.make_opsetid("", opset)])
    del numpy_helper
    feeds = {n: v for n, v in zip(names, inputs) if n}
    return [np.asarray(v) for v in ReferenceEvaluator(model).run(None, feeds)]


# Never folded even when their inputs are constant: they stay as graph
# operations the handlers understand, or have no single constant result.
_NEVER_FOLD = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
               "Multinomial", "Bernoulli", "Loop", "If", "Scan"}


def fold_constants(graph: Graph, max_rounds: int = 20) -> int:
    """Evaluate every node that depends only on constants or on static
    shapes; returns the number of nodes folded away."""
    folded_total = 0
    for _ in range(max_rounds):
        graph.infer_shapes()
        folded = 0
        for node in list(graph.nodes):
            value = _try_fold(graph, node)
            if value is None:
                continue
            for name, v in zip(node.outputs, value):
                if name:
                    graph.consts[name] = np.asarray(v)
            graph.nodes.remove(node)
            folded += 1
        folded_total += folded
        if folded == 0:
            break
    graph.remove_dead()
    graph.infer_shapes()
    return folded_total


def _try_fold(graph: Graph, node: Node):
    op = node.op_type
    if op in ("Shape", "Size"):
        shape = graph.shape(node.inputs[0])
        if shape is None:
            return None
        if op == "Size":
            return [np.array(int(np.prod(shape)), dtype=np.int64)]
        dims = list(shape)
        start, end = node.attr("start", 0), node.attr("end", None)
        return [np.array(dims[start:end] if (start or end is not None) else dims, dtype=np.int64)]
    if op in _NEVER_FOLD:
        return None
    real_inputs = [i for i in node.inputs if i]
    if not all(i in graph.consts for i in real_inputs):
        return None
    if op in ("Dropout",):
        return [graph.consts[node.inputs[0]]] + [None] * (len(node.outputs) - 1)
    inputs = [graph.consts[i] if i else None for i in node.inputs]
    fn = _FOLDERS.get(op)
    try:
        if fn is not None:
            return fn(node, inputs, graph.opset)
        return _fold_with_reference(node, inputs, graph.opset)
    except Exception as e:
        raise unsupported(node, "cannot evaluate this all-constant node: %s: %s"
                          % (type(e).__name__, e)) from None
