"""Gemm and MatMul with constant weights -> InnerProduct."""
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
    if w is None or ctx.const(a) is not None:
        raise ctx.unsupported(node, "only x @ W with a constant W (a fully connected layer) is supported")
    if w.ndim != 2:
        raise ctx.unsupported(node, "W has rank %d (batched matmul)" % w.ndim)
    _inner_product(ctx, node, a, np.asarray(w, np.float64).T, None)
