"""MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool, and ReduceMean /
ReduceMax over H and W (x.mean((2, 3)) written by hand)."""
from __future__ import annotations

import numpy as np

from .onnx_graph import Node
from .ops_conv import spatial_pads, _pair
from .registry import ConvertContext, register


@register("MaxPool", "AveragePool")
def convert_pool(ctx: ConvertContext, node: Node) -> None:
    x = node.inputs[0]
    in_shape = ctx.shape(node, x)
    if len(in_shape) != 4:
        raise ctx.unsupported(node, "input rank %d; only 2-D pooling (NCHW) is supported" % len(in_shape))
    if len(node.outputs) > 1 and node.outputs[1] and ctx.graph.use_count(node.outputs[1]):
        raise ctx.unsupported(node, "the Indices output of MaxPool is used")
    kernel = [int(v) for v in node.attr("kernel_shape")]
    if len(kernel) != 2:
        raise ctx.unsupported(node, "kernel_shape %s (only 2-D pooling)" % kernel)
    strides = _pair(ctx, node, "strides", 1)
    dilations = _pair(ctx, node, "dilations", 1)
    if dilations != [1, 1]:
        raise ctx.unsupported(node, "dilations %s (ncnn pooling has no dilation)" % dilations)
    pt, pl, pb, pr = spatial_pads(ctx, node, in_shape[2:], kernel, strides, [1, 1])
    out_shape = ctx.shape(node, node.outputs[0])
    is_avg = node.op_type == "AveragePool"
    include_pad = int(node.attr("count_include_pad", 0)) if is_avg else 0

    # ncnn is always given pad_mode=1 (valid: floor) with explicit pads.  ONNX
    # ceil_mode (and its rule that the last window must start inside the
    # input) is expressed as extra bottom/right padding that makes floor give
    # the ONNX output size: max pooling pads with -FLT_MAX and average pooling
    # without count_include_pad excludes pads, so the extra padding changes no value.
    ceil_mode = int(node.attr("ceil_mode", 0))
    extra = []
    for axis, (k, s, p0, p1) in enumerate(((kernel[0], strides[0], pt, pb), (kernel[1], strides[1], pl, pr))):
        n_in, n_out = in_shape[2 + axis], out_shape[2 + axis]
        if k <= 0 or s <= 0:
            raise ctx.unsupported(node, "kernel %d / stride %d on axis %d" % (k, s, 2 + axis))
        if k > n_in + p0 + p1 or n_out <= 0:
            raise ctx.unsupported(node, "kernel %d is larger than the padded input %d on axis %d"
                                  % (k, n_in + p0 + p1, 2 + axis))
        if node.attr("auto_pad", "NOTSET") in ("NOTSET", ""):
            # onnxruntime (like PyTorch) drops a last ceil-mode window that would
            # start in the end padding; older ONNX shape inference does not.  When
            # the two disagree the shapes downstream are ambiguous: refuse.
            span = n_in + p0 + p1 - k
            runtime_out = (-(-span // s) if ceil_mode else span // s) + 1
            if ceil_mode and (runtime_out - 1) * s >= n_in + p0:
                runtime_out -= 1
            if runtime_out != n_out:
                raise ctx.unsupported(node, "output size on axis %d: ONNX shape inference says %d, onnxruntime "
                                      "computes %d (ceil_mode window starting in the padding)"
                                      % (2 + axis, n_out, runtime_out))
        e = max(0, (n_out - 1) * s + k - (n_in + p0 + p1))
        if (n_in + p0 + p1 + e - k) // s + 1 != n_out:
            raise ctx.unsupported(node, "output size %d on axis %d cannot be expressed with ncnn pooling"
                                  % (n_out, 2 + axis))
        extra.append(e)
    if is_avg and include_pad and any(extra):
        raise ctx.unsupported(node, "ceil_mode=1 with count_include_pad=1 where the last window overhangs the "
                              "padding: ncnn would count the overhang in the divisor")
    params = {0: 1 if is_avg else 0, 1: kernel[1], 11: kernel[0], 2: strides[1], 12: strides[0],
              3: pl, 13: pt, 14: pr + extra[1], 15: pb + extra[0], 5: 1}
    if is_avg:
        params[6] = include_pad
    ctx.add_layer("Pooling", node.name, [ctx.blob(node, x)], [ctx.top(node)], params)


def _flatten_like(ctx: ConvertContext, name: str) -> bool:
    """Every reader of `name` turns it into a (1, C) vector anyway."""
    users = ctx.graph.consumers(name)
    if not users or name in ctx.graph.outputs:
        return False
    for u in users:
        if u.op_type not in ("Flatten", "Reshape", "Squeeze"):
            return False
        s = ctx.graph.shape(u.outputs[0])
        if s is None or len(s) != 2:
            return False
    return True


def _global_pool(ctx: ConvertContext, node: Node, pool_type: int, keepdims: bool) -> None:
    x = node.inputs[0]
    in_shape = ctx.shape(node, x)
    if len(in_shape) != 4:
        raise ctx.unsupported(node, "input rank %d; global pooling needs NCHW" % len(in_shape))
    channels = in_shape[1]
    out = node.outputs[0]
    # ncnn global pooling yields a 1-D blob [C]; ONNX keeps [1, C, 1, 1].  When
    # something other than a flatten reads it, reshape back to (C, 1, 1).
    if not keepdims or _flatten_like(ctx, out):
        ctx.add_layer("Pooling", node.name, [ctx.blob(node, x)], [ctx.top(node)], {0: pool_type, 4: 1})
        return
    vec = ctx.new_blob(out + "_vec")
    ctx.add_layer("Pooling", node.name, [ctx.blob(node, x)], [vec], {0: pool_type, 4: 1})
    ctx.add_layer("Reshape", node.name + "_chw", [vec], [ctx.top(node)], {0: 1, 1: 1, 2: channels})


@register("GlobalAveragePool")
def convert_global_avg(ctx: ConvertContext, node: Node) -> None:
    _global_pool(ctx, node, 1, True)


@register("GlobalMaxPool")
def convert_global_max(ctx: ConvertContext, node: Node) -> None:
    _global_pool(ctx, node, 0, True)


_REDUCTION_OPS = {"ReduceSum": 0, "ReduceL1": 1, "ReduceSumSquare": 2, "ReduceMean": 3, "ReduceMax": 4,
                  "ReduceMin": 5, "ReduceProd": 6}


@register(*sorted(_REDUCTION_OPS))
def convert_reduce(ctx: ConvertContext, node: Node) -> None:
    in_shape = ctx.shape(node, node.inputs[0])
    rank = len(in_shape)
    axes_as_input = ctx.graph.opset >= 18 or (node.op_type == "ReduceSum" and ctx.graph.opset >= 13)
    if axes_as_input:
        axes_c = ctx.const(node.inputs[1]) if len(node.inputs) > 1 and node.inputs[1] else None
        if len(node.inputs) > 1 and node.inputs[1] and axes_c is None:
            raise ctx.unsupported(node, "axes %r is not a constant" % node.inputs[1])
        axes = None if axes_c is None else [int(v) for v in np.asarray(axes_c).reshape(-1)]
    else:
        axes = node.attr("axes")
    keepdims = bool(node.attr("keepdims", 1))
    if axes is None or len(axes) == 0:
        if int(node.attr("noop_with_empty_axes", 0)):
            ctx.bind(node.outputs[0], ctx.blob(node, node.inputs[0]))
            return
        axes = list(range(rank))
    axes = sorted(set(int(a) + rank if int(a) < 0 else int(a) for a in axes))
    op = _REDUCTION_OPS[node.op_type]
    if rank == 4 and axes == [2, 3] and op in (3, 4):
        # global pooling: what the V831 NPU runs
        _global_pool(ctx, node, 1 if op == 3 else 0, keepdims)
        return
    ctx.data_shape(node, node.inputs[0])
    if rank >= 2 and 0 in axes and not keepdims and len(axes) != rank:
        raise ctx.unsupported(node, "dropping the batch axis with keepdims=0 (axes %s of %s)" % (axes, in_shape))
    nc_axes = [a - 1 for a in axes if a != 0] if rank >= 2 else axes
    if not nc_axes:  # only the batch axis of size 1: nothing to reduce
        ctx.bind(node.outputs[0], ctx.blob(node, node.inputs[0]))
        return
    ctx.add_layer("Reduction", node.name, [ctx.blob(node, node.inputs[0])], [ctx.top(node)],
                  {0: op, 1: 0, 2: 1.0, 3: nc_axes, 4: 1 if keepdims else 0, 5: 1})
