"""LayerNormalization, GroupNorm (from onnx_passes.recognise_group_norm) and
InstanceNormalization -> ncnn LayerNorm / GroupNorm."""
from __future__ import annotations

import numpy as np

from ..ncnn_model import Weight
from .onnx_graph import Node
from .registry import ConvertContext, register


@register("LayerNormalization")
def convert_layer_norm(ctx: ConvertContext, node: Node) -> None:
    x = node.inputs[0]
    shape = ctx.shape(node, x)
    data = ctx.data_shape(node, x)
    rank = len(shape)
    axis = int(node.attr("axis", -1))
    axis = axis + rank if axis < 0 else axis
    normalized = shape[axis:]
    # ncnn normalizes rows of w values, or (3-D) each channel's h*w values
    if axis == rank - 1 or (axis == rank - 2 and len(data) == 3):
        size = int(np.prod(normalized))
    else:
        raise ctx.unsupported(node, "normalizing axes %d.. of %s (ncnn's LayerNorm covers the last axis, or the "
                              "last two of a (C, H, W) tensor)" % (axis, shape))
    if len([o for o in node.outputs if o]) > 1 and any(ctx.graph.use_count(o) for o in node.outputs[1:] if o):
        raise ctx.unsupported(node, "the mean / inv_std_dev outputs are used")
    gamma = ctx.const(node.inputs[1])
    beta = ctx.const(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else np.zeros(normalized, np.float32)
    if gamma is None or beta is None:
        raise ctx.unsupported(node, "scale / bias are not constants")
    gamma = np.broadcast_to(np.asarray(gamma, np.float32), normalized).reshape(-1)
    beta = np.broadcast_to(np.asarray(beta, np.float32), normalized).reshape(-1)
    eps = float(node.attr("epsilon", 1e-5))
    ctx.add_layer("LayerNorm", node.name, [ctx.blob(node, x)], [ctx.top(node, 0)], {0: size, 1: eps, 2: 1},
                  [Weight("gamma", np.ascontiguousarray(gamma), "raw"), Weight("beta", np.ascontiguousarray(beta), "raw")])


@register("_GroupNorm")  # written by onnx_passes.recognise_group_norm
def convert_group_norm(ctx: ConvertContext, node: Node) -> None:
    data = ctx.data_shape(node, node.inputs[0])
    ctx.add_layer("GroupNorm", node.name, [ctx.blob(node, node.inputs[0])], [ctx.top(node)],
                  {0: int(node.attr("group")), 1: int(data[0]), 2: float(node.attr("epsilon")), 3: 0})


@register("InstanceNormalization")
def convert_instance_norm(ctx: ConvertContext, node: Node) -> None:
    """Each channel normalized over its H*W values: GroupNorm with one group per channel."""
    shape = ctx.shape(node, node.inputs[0])
    if len(shape) != 4:
        raise ctx.unsupported(node, "input rank %d (only NCHW)" % len(shape))
    c = int(shape[1])
    scale, bias = ctx.const(node.inputs[1]), ctx.const(node.inputs[2])
    if scale is None or bias is None:
        raise ctx.unsupported(node, "scale / bias are not constants")
    ctx.add_layer("GroupNorm", node.name, [ctx.blob(node, node.inputs[0])], [ctx.top(node)],
                  {0: c, 1: c, 2: float(node.attr("epsilon", 1e-5)), 3: 1},
                  [Weight("gamma", np.asarray(scale, np.float32).reshape(-1), "raw"),
                   Weight("beta", np.asarray(bias, np.float32).reshape(-1), "raw")])
