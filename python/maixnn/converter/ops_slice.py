"""Slice and Split (torch.chunk, torch.split, tensor[:, a:b], x[..., a:b]) ->
ncnn Crop (slice form: 9 starts, 10 ends, 11 axes) and ncnn Slice (0 sizes,
1 axis).  Axes are ncnn's: the batch axis is dropped, so NCHW axis 1 (C) is
ncnn axis 0."""
from __future__ import annotations

from typing import List

import numpy as np

from .onnx_graph import Node
from .registry import ConvertContext, register

CROP_TO_END = -233  # ncnn: "to the end of the axis"


def ncnn_axis(ctx: ConvertContext, node: Node, name: str, axis: int) -> int:
    """The ncnn axis of ONNX axis `axis` of tensor `name` (batch dropped)."""
    rank = len(ctx.shape(node, name))
    axis = axis + rank if axis < 0 else axis
    if not 0 <= axis < rank:
        raise ctx.unsupported(node, "axis %d is out of range for rank %d" % (axis, rank))
    if rank == 1:
        return axis
    if axis == 0:
        raise ctx.unsupported(node, "slicing the batch axis")
    return axis - 1


def _ints(ctx: ConvertContext, node: Node, idx: int, what: str):
    if len(node.inputs) <= idx or not node.inputs[idx]:
        return None
    v = ctx.const(node.inputs[idx])
    if v is None:
        raise ctx.unsupported(node, "%s input %r does not fold to a constant" % (what, node.inputs[idx]))
    return [int(t) for t in np.asarray(v).reshape(-1)]


def add_crop(ctx: ConvertContext, node: Node, x: str, out_name: str, boxes) -> None:
    """A Crop of ONNX tensor `x` to `out_name`; boxes: [(onnx axis, start, end)]
    with 0 <= start < end <= extent already resolved."""
    shape = ctx.shape(node, x)
    starts, ends, axes = [], [], []
    for axis, s, e in boxes:
        if s == 0 and e == shape[axis]:
            continue
        axes.append(ncnn_axis(ctx, node, x, axis))
        starts.append(int(s))
        ends.append(CROP_TO_END if e == shape[axis] else int(e))
    ctx.data_shape(node, x)  # rank check
    xb = ctx.blob(node, x)
    if not axes:
        ctx.bind(out_name, xb)
        return
    top = ctx.new_blob(out_name)
    ctx.bind(out_name, top)
    ctx.add_layer("Crop", node.name if out_name == node.outputs[0] else out_name, [xb], [top],
                  {9: starts, 10: ends, 11: axes})


@register("Slice")
def convert_slice(ctx: ConvertContext, node: Node) -> None:
    x = node.inputs[0]
    shape = ctx.shape(node, x)
    rank = len(shape)
    if ctx.graph.opset < 10:
        starts, ends = list(node.attr("starts")), list(node.attr("ends"))
        axes = node.attr("axes")
        steps = None
    else:
        starts, ends = _ints(ctx, node, 1, "starts"), _ints(ctx, node, 2, "ends")
        axes, steps = _ints(ctx, node, 3, "axes"), _ints(ctx, node, 4, "steps")
    axes = list(range(len(starts))) if axes is None else [int(a) for a in axes]
    if steps is not None and any(s != 1 for s in steps):
        raise ctx.unsupported(node, "steps %s (ncnn Crop takes contiguous ranges only)" % steps)
    if not (len(starts) == len(ends) == len(axes)):
        raise ctx.unsupported(node, "starts/ends/axes of different lengths")
    boxes = []
    for s, e, a in zip(starts, ends, axes):
        a = a + rank if a < 0 else a
        n = shape[a]
        s = s + n if s < 0 else s
        e = e + n if e < 0 else e
        s, e = max(0, min(s, n)), max(0, min(e, n))
        if e <= s:
            raise ctx.unsupported(node, "empty slice [%d:%d] of axis %d" % (s, e, a))
        boxes.append((a, s, e))
    add_crop(ctx, node, x, node.outputs[0], boxes)


@register("Split")
def convert_split(ctx: ConvertContext, node: Node) -> None:
    x = node.inputs[0]
    shape = ctx.shape(node, x)
    rank = len(shape)
    axis = int(node.attr("axis", 0))
    axis = axis + rank if axis < 0 else axis
    sizes = _ints(ctx, node, 1, "split") if ctx.graph.opset >= 13 else node.attr("split")
    if sizes is None:
        sizes = [int(ctx.shape(node, o)[axis]) for o in node.outputs]
    sizes = [int(s) for s in sizes]
    if len(sizes) != len(node.outputs) or sum(sizes) != shape[axis]:
        raise ctx.unsupported(node, "split sizes %s do not cover axis %d of %s" % (sizes, axis, shape))
    used = [o for o in node.outputs if o and ctx.graph.use_count(o)]
    if len(used) == len(node.outputs):
        ctx.data_shape(node, x)
        tops: List[str] = [ctx.top(node, k) for k in range(len(node.outputs))]
        ctx.add_layer("Slice", node.name, [ctx.blob(node, x)], tops, {0: sizes, 1: ncnn_axis(ctx, node, x, axis)})
        return
    # some parts are unused: ncnn would keep unread blobs, so crop out the used ones
    start = 0
    for o, n in zip(node.outputs, sizes):
        if o in used:
            add_crop(ctx, node, x, o, [(axis, start, start + n)])
        start += n
