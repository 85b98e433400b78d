"""Add, Sub, Mul, Div, Max, Min and Concat.

Binary operators with a constant operand become the cheapest exact ncnn form:
a scalar -> BinaryOp with_scalar; a per-channel [C,1,1] constant on an NCHW
tensor -> Scale (Mul, Div) or Bias (Add, Sub); anything else -> the constant
expanded to the tensor's shape in a MemoryData layer + BinaryOp.
"""
from __future__ import annotations

import numpy as np

from ..ncnn_model import Weight
from .onnx_graph import Node
from .registry import ConvertContext, register

# ncnn BinaryOp op_type ids
OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MAX, OP_MIN, OP_RSUB, OP_RDIV = 0, 1, 2, 3, 4, 5, 7, 8
_BINARY = {"Add": OP_ADD, "Sub": OP_SUB, "Mul": OP_MUL, "Div": OP_DIV, "Max": OP_MAX, "Min": OP_MIN}
_REVERSED = {OP_ADD: OP_ADD, OP_MUL: OP_MUL, OP_MAX: OP_MAX, OP_MIN: OP_MIN, OP_SUB: OP_RSUB, OP_DIV: OP_RDIV}


def _broadcast_shape(ctx, node, a, b):
    try:
        return tuple(np.broadcast_shapes(tuple(a), tuple(b)))
    except ValueError:
        raise ctx.unsupported(node, "shapes %s and %s do not broadcast" % (tuple(a), tuple(b))) from None


@register("Add", "Sub", "Mul", "Div", "Max", "Min")
def convert_binary(ctx: ConvertContext, node: Node) -> None:
    if len(node.inputs) != 2:
        raise ctx.unsupported(node, "%d inputs (only two are supported)" % len(node.inputs))
    op = _BINARY[node.op_type]
    a, b = node.inputs
    ca, cb = ctx.const(a), ctx.const(b)
    if ca is None and cb is None:
        _tensor_tensor(ctx, node, op, a, b)
        return
    if ca is not None and cb is not None:  # constant folding should have done it
        raise ctx.unsupported(node, "both inputs are constants")
    if ca is not None:
        x, c, op = b, ca, _REVERSED[op]   # constant first: c - x == rsub(x, c)
        const_first = True
    else:
        x, c = a, cb
        const_first = False
    if not np.issubdtype(np.asarray(c).dtype, np.floating):
        raise ctx.unsupported(node, "constant operand of type %s (float expected)" % np.asarray(c).dtype)
    x_onnx = ctx.shape(node, x)
    out_onnx = _broadcast_shape(ctx, node, x_onnx, c.shape)
    if out_onnx != tuple(x_onnx):
        raise ctx.unsupported(node, "the constant %s would broadcast tensor %r %s to %s"
                              % (tuple(c.shape), x, tuple(x_onnx), out_onnx))
    xb = ctx.blob(node, x)
    c = np.asarray(c, np.float32)
    if c.size == 1:
        ctx.add_layer("BinaryOp", node.name, [xb], [ctx.top(node)],
                      {0: op, 1: 1, 2: float(c.reshape(-1)[0])})
        return
    channels = _per_channel(c, x_onnx)
    if channels is not None and op in (OP_MUL, OP_ADD, OP_SUB, OP_DIV):
        v = c.reshape(-1).astype(np.float64)
        if op == OP_MUL:
            ctx.add_layer("Scale", node.name, [xb], [ctx.top(node)], {0: channels, 1: 0},
                          [Weight("scale", v, "raw")])
            return
        if op == OP_DIV:
            ctx.add_layer("Scale", node.name, [xb], [ctx.top(node)], {0: channels, 1: 0},
                          [Weight("scale", 1.0 / v, "raw")])
            return
        if op == OP_ADD:
            ctx.add_layer("Bias", node.name, [xb], [ctx.top(node)], {0: channels}, [Weight("bias", v, "raw")])
            return
        if op == OP_SUB:
            ctx.add_layer("Bias", node.name, [xb], [ctx.top(node)], {0: channels}, [Weight("bias", -v, "raw")])
            return
    # general constant: expand to the tensor's shape
    shape = ctx.data_shape(node, x)
    full = np.broadcast_to(c.reshape(c.shape), x_onnx).reshape(shape)
    mem = ctx.constant_blob(node, full, shape, node.name + "_const")
    bottoms = [mem, xb] if const_first else [xb, mem]
    base_op = _BINARY[node.op_type]
    ctx.add_layer("BinaryOp", node.name, bottoms, [ctx.top(node)], {0: base_op})


def _per_channel(c: np.ndarray, x_shape) -> int:
    """C if `c` broadcasts against NCHW `x_shape` as one value per channel."""
    if len(x_shape) != 4 or c.ndim > 4:
        return None
    full = (1,) * (4 - c.ndim) + tuple(c.shape)
    if full[0] == 1 and full[2] == 1 and full[3] == 1 and full[1] == x_shape[1]:
        return int(x_shape[1])
    return None


def _tensor_tensor(ctx: ConvertContext, node: Node, op: int, a: str, b: str) -> None:
    sa, sb = ctx.shape(node, a), ctx.shape(node, b)
    if len(sa) != len(sb):
        raise ctx.unsupported(node, "inputs of different rank %s and %s" % (sa, sb))
    out = _broadcast_shape(ctx, node, sa, sb)
    if out[0] != 1:
        raise ctx.unsupported(node, "batch %d" % out[0])
    ctx.add_layer("BinaryOp", node.name, [ctx.blob(node, a), ctx.blob(node, b)], [ctx.top(node)], {0: op})


@register("Sum")
def convert_sum(ctx: ConvertContext, node: Node) -> None:
    if len(node.inputs) == 1:
        ctx.bind(node.outputs[0], ctx.blob(node, node.inputs[0]))
        return
    if len(node.inputs) != 2:
        raise ctx.unsupported(node, "Sum of %d inputs (only two are supported)" % len(node.inputs))
    if any(ctx.const(i) is not None for i in node.inputs):
        raise ctx.unsupported(node, "Sum with a constant input")
    _tensor_tensor(ctx, node, OP_ADD, node.inputs[0], node.inputs[1])


@register("Concat")
def convert_concat(ctx: ConvertContext, node: Node) -> None:
    out_shape = ctx.shape(node, node.outputs[0])
    axis = int(node.attr("axis"))
    axis = axis + len(out_shape) if axis < 0 else axis
    if axis == 0:
        raise ctx.unsupported(node, "concatenation along the batch axis")
    for i in node.inputs:
        if ctx.const(i) is not None:
            raise ctx.unsupported(node, "constant input %r (only computed tensors can be concatenated)" % i)
    ctx.data_shape(node, node.outputs[0])  # rank check
    bottoms = [ctx.blob(node, i) for i in node.inputs]
    if len(bottoms) == 1:
        ctx.bind(node.outputs[0], bottoms[0])
        return
    # ncnn axes count without the batch: NCHW axis 1 (C) is ncnn axis 0
    ctx.add_layer("Concat", node.name, bottoms, [ctx.top(node)], {0: axis - 1})
