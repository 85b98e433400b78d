"""Softmax and Pad (a Pad that could not be folded into a Conv)."""
from __future__ import annotations

from .onnx_graph import Node
from .onnx_passes import pad_amounts
from .registry import ConvertContext, register


@register("Softmax")
def convert_softmax(ctx: ConvertContext, node: Node) -> None:
    shape = ctx.shape(node, node.inputs[0])
    rank = len(shape)
    opset = ctx.graph.opset
    axis = int(node.attr("axis", 1 if opset < 13 else -1))
    axis = axis + rank if axis < 0 else axis
    legacy = opset < 13 and not node.attr("_single_axis")  # set by fold_transposed_softmax
    if legacy and axis != rank - 1 and any(d != 1 for d in shape[axis + 1:]):
        # before opset 13, Softmax flattens everything from `axis` on into one row
        raise ctx.unsupported(node, "opset-%d Softmax over the flattened axes %d.. of %s" % (opset, axis, shape))
    if axis == 0:
        raise ctx.unsupported(node, "softmax over the batch axis")
    ctx.data_shape(node, node.inputs[0])
    # ncnn axes count without the batch; 1=1 selects the fixed (non-legacy) axis semantics
    ctx.add_layer("Softmax", node.name, [ctx.blob(node, node.inputs[0])], [ctx.top(node)], {0: axis - 1, 1: 1})


@register("Pad")
def convert_pad(ctx: ConvertContext, node: Node) -> None:
    begins, ends, mode, value = pad_amounts(ctx.graph, node)
    if len(begins) != 4:
        raise ctx.unsupported(node, "padding a rank-%d tensor (only NCHW)" % len(begins))
    if begins[:2] != [0, 0] or ends[:2] != [0, 0]:
        raise ctx.unsupported(node, "padding the batch or channel axis (pads %s/%s)" % (begins, ends))
    if min(begins + ends) < 0:
        raise ctx.unsupported(node, "negative pads (cropping) %s/%s" % (begins, ends))
    types = {"constant": 0, "edge": 1, "reflect": 2}
    if mode not in types:
        raise ctx.unsupported(node, "mode=%s" % mode)
    params = {0: begins[2], 1: ends[2], 2: begins[3], 3: ends[3], 4: types[mode], 5: float(value)}
    ctx.add_layer("Padding", node.name, [ctx.blob(node, node.inputs[0])], [ctx.top(node)], params)
