"""Element-wise activations: Relu, LeakyRelu, Clip, Sigmoid, HardSigmoid, HardSwish.

Each becomes its own ncnn layer here; the ncnn-level pass then fuses the ones
ncnn allows into the preceding Convolution / InnerProduct (activation_type).
"""
from __future__ import annotations

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
