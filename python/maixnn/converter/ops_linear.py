"""Gemm and MatMul with constant weights -> InnerProduct; MatMul between
activations, or on (1, N, K) tokens -> ncnn MatMul."""
from __future__ import annotations

import numpy as np

from ..ncnn_model import Weight
from .onnx_graph import Node
from .registry import ConvertContext, register


def _inner_product(ctx: ConvertContext, node: Node, x: str, weight: np.ndarray, bias) -> None:
    """weight [N, K] applied to x flattened to K values."""
    n_out, k = weight.shape
    x_shape = ctx.shape(node, x)
    if len(x_shape) != 2 or x_shape[0] != 1:
        raise ctx.unsupported(node, "input %r has shape %s; a fully connected layer needs (1, K)"
                              % (x, x_shape))
    if x_shape[1] != k:
        raise ctx.unsupported(node, "input has %d features, weight expects %d" % (x_shape[1], k))
    params = {0: int(n_out), 1: 1 if bias is not None else 0, 2: int(weight.size)}
    weights = [Weight("weight", np.ascontiguousarray(weight, np.float32).reshape(-1), "tagged")]
    if bias is not None:
        weights.append(Weight("bias", np.asarray(bias, np.float32).reshape(-1), "raw"))
    ctx.add_layer("InnerProduct", node.name, [ctx.blob(node, x)], [ctx.top(node)], params, weights)


@register("Gemm")
def convert_gemm(ctx: ConvertContext, node: Node) -> None:
    if int(node.attr("transA", 0)):
        raise ctx.unsupported(node, "transA=1")
    a, b = node.inputs[0], node.inputs[1]
    w = ctx.const(b)
    if w is None:
        raise ctx.unsupported(node, "B input %r is not a constant (only constant weights are supported)" % b)
    if ctx.const(a) is not None:
        raise ctx.unsupported(node, "A input %r is a constant" % a)
    w = np.asarray(w, np.float64)
    if w.ndim != 2:
        raise ctx.unsupported(node, "B has rank %d" % w.ndim)
    if not int(node.attr("transB", 0)):
        w = w.T
    alpha = float(node.attr("alpha", 1.0))
    beta = float(node.attr("beta", 1.0))
    weight = w * alpha if alpha != 1.0 else w
    bias = None
    if len(node.inputs) > 2 and node.inputs[2]:
        c = ctx.const(node.inputs[2])
        if c is None:
            raise ctx.unsupported(node, "C input %r is not a constant" % node.inputs[2])
        c = np.asarray(c, np.float64)
        n_out = weight.shape[0]
        if c.size not in (1, n_out) or (c.ndim == 2 and c.shape[0] != 1) or c.ndim > 2:
            raise ctx.unsupported(node, "C of shape %s is not a per-output bias" % (tuple(c.shape),))
        bias = np.broadcast_to(c.reshape(-1), (n_out,)) * beta
    _inner_product(ctx, node, a, weight, bias)


@register("MatMul")
def convert_matmul(ctx: ConvertContext, node: Node) -> None:
    a, b = node.inputs
    w = ctx.const(b)
    if ctx.const(a) is not None:
        raise ctx.unsupported(node, "the left operand %r is a constant" % a)
    a_shape = ctx.shape(node, a)
    if w is not None and w.ndim == 2 and len(a_shape) == 2:
        _inner_product(ctx, node, a, np.asarray(w, np.float64).T, None)
        return
    # ncnn MatMul: 2-D (rows, K) or 3-D (batch, rows, K) blobs once the batch 1 is dropped
    out_shape = ctx.shape(node, node.outputs[0])
    if len(a_shape) < 3 or out_shape[0] != 1:
        raise ctx.unsupported(node, "MatMul of %s and %s (needs a (1, ..., rows, K) left operand)"
                              % (a_shape, ctx.shape(node, b)))
    ctx.data_shape(node, a)
    ctx.data_shape(node, node.outputs[0])
    if w is not None:
        w = np.asarray(w, np.float32)
        if w.ndim > 2:
            if w.shape[0] != 1 or w.ndim != len(a_shape):
                raise ctx.unsupported(node, "constant right operand of shape %s" % (w.shape,))
            w = w[0]
        bb = ctx.constant_blob(node, w, tuple(w.shape), node.name + "_B")
    else:
        b_shape = ctx.shape(node, b)
        if len(b_shape) != len(a_shape):
            raise ctx.unsupported(node, "operands of rank %d and %d" % (len(a_shape), len(b_shape)))
        ctx.data_shape(node, b)
        bb = ctx.blob(node, b)
    ctx.add_layer("MatMul", node.name, [ctx.blob(node, a), bb], [ctx.top(node)], {0: 0})
