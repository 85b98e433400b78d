"""Resize (opset 10+) and Upsample (opset 7-9) -> ncnn Interp.

ncnn Interp: nearest maps an output pixel x to floor(x * in/out); bilinear
with align_corner=0 is ONNX half_pixel, with align_corner=1 is
align_corners.  Other coordinate modes have no ncnn equivalent and are refused.
The output size is always written explicitly (3=out_h 4=out_w).
"""
from __future__ import annotations

import numpy as np

from .onnx_graph import Node
from .registry import ConvertContext, register


def _nearest_matches_floor(nearest_mode: str, ins, outs) -> bool:
    """Source index x * in/out under `nearest_mode` equals ncnn's floor for
    every output x?  Always for floor; for the rounding modes only when the
    fractional parts never reach one half the wrong way."""
    if nearest_mode == "floor":
        return True
    for i, o in zip(ins, outs):
        if i % o == 0:      # integer down-scaling (or identity): x * i/o is an integer
            continue
        if o % i == 0 and o // i == 2 and nearest_mode == "round_prefer_floor":
            continue        # fractions are 0 and 1/2; 1/2 rounds down
        return False
    return True


@register("Resize", "Upsample")
def convert_resize(ctx: ConvertContext, node: Node) -> None:
    x = node.inputs[0]
    in_shape = ctx.shape(node, x)
    out_shape = ctx.shape(node, node.outputs[0])
    if len(in_shape) != 4:
        raise ctx.unsupported(node, "input rank %d; only NCHW resizing is supported" % len(in_shape))
    if tuple(out_shape[:2]) != tuple(in_shape[:2]):
        raise ctx.unsupported(node, "resizing the batch or channel axis (%s -> %s)" % (in_shape, out_shape))
    opset = ctx.graph.opset
    mode = node.attr("mode", "nearest")
    if node.op_type == "Upsample" or opset < 11:
        coord = "asymmetric"  # Upsample and Resize-10 semantics
        nearest_mode = "floor"
    else:
        coord = node.attr("coordinate_transformation_mode", "half_pixel")
        nearest_mode = node.attr("nearest_mode", "round_prefer_floor")
        if int(node.attr("antialias", 0)):
            raise ctx.unsupported(node, "antialias=1")
        if node.attr("axes") is not None and sorted(int(a) % 4 for a in node.attr("axes")) != [2, 3]:
            raise ctx.unsupported(node, "axes=%s" % node.attr("axes"))
        if coord == "tf_crop_and_resize":
            raise ctx.unsupported(node, "coordinate_transformation_mode=tf_crop_and_resize")
    out_h, out_w = int(out_shape[2]), int(out_shape[3])
    in_h, in_w = int(in_shape[2]), int(in_shape[3])
    if mode == "nearest":
        if coord != "asymmetric":
            raise ctx.unsupported(node, "nearest resize with coordinate_transformation_mode=%s (ncnn only "
                                  "has asymmetric nearest)" % coord)
        if not _nearest_matches_floor(nearest_mode, (in_h, in_w), (out_h, out_w)):
            raise ctx.unsupported(node, "nearest_mode=%s with %dx%d -> %dx%d picks other pixels than "
                                  "ncnn's floor" % (nearest_mode, in_h, in_w, out_h, out_w))
        _check_scales_match(ctx, node, in_h, in_w, out_h, out_w)
        resize_type, align = 1, 0
    elif mode in ("linear", "bilinear"):
        if coord == "align_corners":
            align = 1
        elif coord in ("half_pixel", "pytorch_half_pixel"):
            if coord == "pytorch_half_pixel" and (out_h == 1 or out_w == 1):
                raise ctx.unsupported(node, "pytorch_half_pixel with an output size of 1")
            align = 0
        else:
            raise ctx.unsupported(node, "bilinear resize with coordinate_transformation_mode=%s (ncnn has "
                                  "half_pixel and align_corners)" % coord)
        _check_scales_match(ctx, node, in_h, in_w, out_h, out_w)
        resize_type = 2
    else:
        raise ctx.unsupported(node, "mode=%s (ncnn Interp has nearest and bilinear)" % mode)
    params = {0: resize_type, 3: out_h, 4: out_w, 6: align}
    ctx.add_layer("Interp", node.name, [ctx.blob(node, x)], [ctx.top(node)], params)


def _check_scales_match(ctx: ConvertContext, node: Node, in_h, in_w, out_h, out_w) -> None:
    """ONNX maps coordinates with the given scale, ncnn with in/out: the same
    unless a non-integer scale was rounded to the output size."""
    scales = None
    if node.op_type == "Upsample":
        scales = node.attr("scales")
        if scales is None and len(node.inputs) > 1:
            scales = ctx.const(node.inputs[1])
    elif len(node.inputs) > 2 and node.inputs[2]:
        scales = ctx.const(node.inputs[2])
    if scales is None:
        return
    scales = np.asarray(scales, np.float64).reshape(-1)
    if scales.size != 4:
        return
    for s, i, o in ((scales[2], in_h, out_h), (scales[3], in_w, out_w)):
        if abs(s * i - o) > 1e-6 * max(1, o):
            raise ctx.unsupported(node, "scale %g turns %d into %d pixels (not a whole number); ncnn would map "
                                  "coordinates with %d/%d instead" % (s, i, o, i, o))
