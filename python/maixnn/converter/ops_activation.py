"""Element-wise activations: Relu, LeakyRelu, Clip, Sigmoid, HardSigmoid, HardSwish,
Swish (SiLU), Mish, Gelu, PRelu.

Each becomes its own ncnn layer here; the ncnn-level pass then fuses the ones
ncnn allows into the preceding Convolution / InnerProduct (activation_type).
"""
from __future__ import annotations

import numpy as np

from ..ncnn_model import Weight
from .onnx_graph import Node
from .onnx_passes import clip_bounds
from .registry import ConvertContext, register

FLT_MAX = 3.4028234663852886e38


def _unary(ctx: ConvertContext, node: Node, ltype: str, params=None) -> None:
    ctx.add_layer(ltype, node.name, [ctx.blob(node, node.inputs[0])], [ctx.top(node)], params or {})


@register("Relu")
def convert_relu(ctx: ConvertContext, node: Node) -> None:
    _unary(ctx, node, "ReLU")


@register("LeakyRelu")
def convert_leaky_relu(ctx: ConvertContext, node: Node) -> None:
    _unary(ctx, node, "ReLU", {0: float(node.attr("alpha", 0.01))})


@register("Clip")
def convert_clip(ctx: ConvertContext, node: Node) -> None:
    lo, hi = clip_bounds(ctx.graph, node)
    if lo is not None and lo == 0.0 and hi is None:
        _unary(ctx, node, "ReLU")
        return
    lo = -FLT_MAX if lo is None else max(lo, -FLT_MAX)
    hi = FLT_MAX if hi is None else min(hi, FLT_MAX)
    _unary(ctx, node, "Clip", {0: lo, 1: hi})


@register("Sigmoid")
def convert_sigmoid(ctx: ConvertContext, node: Node) -> None:
    _unary(ctx, node, "Sigmoid")


@register("HardSigmoid")
def convert_hard_sigmoid(ctx: ConvertContext, node: Node) -> None:
    _unary(ctx, node, "HardSigmoid", {0: float(node.attr("alpha", 0.2)), 1: float(node.attr("beta", 0.5))})


@register("HardSwish")
def convert_hard_swish(ctx: ConvertContext, node: Node) -> None:
    # ONNX HardSwish is x * max(0, min(1, x/6 + 1/2)); the graph pass may set
    # other alpha/beta when it rewrote x * HardSigmoid(x)
    _unary(ctx, node, "HardSwish", {0: float(node.attr("alpha", 1.0 / 6.0)), 1: float(node.attr("beta", 0.5))})


@register("Swish")  # written by onnx_passes.recognise_activations (x * sigmoid(x))
def convert_swish(ctx: ConvertContext, node: Node) -> None:
    _unary(ctx, node, "Swish")


@register("Mish")
def convert_mish(ctx: ConvertContext, node: Node) -> None:
    _unary(ctx, node, "Mish")


@register("Gelu")
def convert_gelu(ctx: ConvertContext, node: Node) -> None:
    approximate = node.attr("approximate", "none")
    if approximate not in ("none", "tanh"):
        raise ctx.unsupported(node, "approximate=%r" % approximate)
    _unary(ctx, node, "GELU", {0: 1 if approximate == "tanh" else 0})


@register("PRelu")
def convert_prelu(ctx: ConvertContext, node: Node) -> None:
    slope = ctx.const(node.inputs[1])
    if slope is None:
        raise ctx.unsupported(node, "the slope %r is not a constant" % node.inputs[1])
    x_shape = ctx.shape(node, node.inputs[0])
    slope = np.asarray(slope, np.float32)
    data = ctx.data_shape(node, node.inputs[0])
    if slope.size == 1:
        values = slope.reshape(-1)
    else:
        # one slope per ncnn channel group (C of (C,H,W), rows of (H,W), elements of (W,))
        full = np.broadcast_to(slope, x_shape).reshape(data)
        groups = full.reshape(data[0], -1)
        if not np.all(groups == groups[:, :1]):
            raise ctx.unsupported(node, "slope of shape %s varies within a channel" % (slope.shape,))
        values = groups[:, 0]
    ctx.add_layer("PReLU", node.name, [ctx.blob(node, node.inputs[0])], [ctx.top(node)], {0: int(values.size)},
                  [Weight("slope", np.ascontiguousarray(values), "raw")])
