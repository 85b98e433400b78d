"""Flatten, Reshape, Squeeze, Unsqueeze, Transpose (ncnn Permute), Identity, Dropout on
computed tensors (shape arithmetic on constants was folded before)."""
from __future__ import annotations

from .onnx_graph import Node
from .registry import ConvertContext, register


@register("Flatten", "Reshape", "Squeeze", "Unsqueeze")
def convert_reshape(ctx: ConvertContext, node: Node) -> None:
    x = node.inputs[0]
    if ctx.const(x) is not None:
        raise ctx.unsupported(node, "reshaping a constant that feeds computed tensors")
    if node.op_type == "Reshape" and ctx.const(node.inputs[1]) is None:
        raise ctx.unsupported(node, "the target shape %r does not fold to a constant" % node.inputs[1])
    out_onnx = ctx.shape(node, node.outputs[0])
    in_shape = ctx.data_shape(node, x)
    if len(out_onnx) < 2 or out_onnx[0] != 1:
        raise ctx.unsupported(node, "output shape %s does not keep batch 1 in front" % (out_onnx,))
    out_shape = ctx.data_shape(node, node.outputs[0])
    xb = ctx.blob(node, x)
    if out_shape == in_shape:
        ctx.bind(node.outputs[0], xb)  # nothing moves
        return
    if len(out_shape) == 1:
        # a flatten; removed later when it only feeds InnerProduct
        ctx.add_layer("Flatten", node.name, [xb], [ctx.top(node)])
        return
    dims = list(reversed(out_shape))  # ncnn Reshape: 0=w 1=h 2=c
    params = {0: dims[0], 1: dims[1]}
    if len(dims) > 2:
        params[2] = dims[2]
    ctx.add_layer("Reshape", node.name, [xb], [ctx.top(node)], params)


# ncnn Permute order_type for each permutation of the (C, H, W) numpy axes
PERMUTE_ORDER_3D = {(0, 1, 2): 0, (0, 2, 1): 1, (1, 0, 2): 2, (1, 2, 0): 3, (2, 0, 1): 4, (2, 1, 0): 5}


@register("Transpose")
def convert_transpose(ctx: ConvertContext, node: Node) -> None:
    x = node.inputs[0]
    shape = ctx.shape(node, x)
    perm = [int(p) for p in (node.attr("perm") or list(reversed(range(len(shape)))))]
    # a permutation that only moves size-1 axes keeps the memory order
    moved = [p for p in perm if shape[p] != 1]
    if moved == sorted(moved):
        convert_reshape_like(ctx, node)
        return
    data = ctx.data_shape(node, x)
    if len(shape) != len(data) + 1 or perm[0] != 0:
        raise ctx.unsupported(node, "Transpose perm=%s on shape %s moves the batch axis" % (perm, shape))
    data_perm = tuple(p - 1 for p in perm[1:])
    if len(data_perm) == 3:
        order = PERMUTE_ORDER_3D[data_perm]
    else:  # 2-D: the only non-trivial permutation is the transpose
        order = 1
    ctx.add_layer("Permute", node.name, [ctx.blob(node, x)], [ctx.top(node)], {0: order})


def convert_reshape_like(ctx: ConvertContext, node: Node) -> None:
    x = node.inputs[0]
    in_shape = ctx.data_shape(node, x)
    out_shape = ctx.data_shape(node, node.outputs[0])
    xb = ctx.blob(node, x)
    if in_shape == out_shape:
        ctx.bind(node.outputs[0], xb)
    elif len(out_shape) == 1:
        ctx.add_layer("Flatten", node.name, [xb], [ctx.top(node)])
    else:
        dims = list(reversed(out_shape))
        params = {0: dims[0], 1: dims[1]}
        if len(dims) > 2:
            params[2] = dims[2]
        ctx.add_layer("Reshape", node.name, [xb], [ctx.top(node)], params)


@register("Identity", "Dropout")
def convert_identity(ctx: ConvertContext, node: Node) -> None:
    # normally removed by the graph pass; kept for graphs where the output
    # name must survive (input -> Identity -> output)
    ctx.add_layer("Noop", node.name, [ctx.blob(node, node.inputs[0])], [ctx.top(node)])


@register("ShuffleChannel")  # written by onnx_passes.recognise_channel_shuffle, not an ONNX operator
def convert_shuffle_channel(ctx: ConvertContext, node: Node) -> None:
    ctx.add_layer("ShuffleChannel", node.name, [ctx.blob(node, node.inputs[0])], [ctx.top(node)],
                  {0: int(node.attr("group")), 1: 0})
