"""Conv, ConvTranspose and BatchNormalization."""
from __future__ import annotations

import math
from typing import List

import numpy as np

from ..ncnn_model import Weight
from .registry import ConvertContext, register
from .onnx_graph import Node


def same_pads(in_size: int, kernel: int, stride: int, dilation: int, upper: bool):
    """Explicit (begin, end) pads of ONNX auto_pad SAME_UPPER / SAME_LOWER."""
    out = int(math.ceil(in_size / float(stride)))
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - in_size, 0)
    small, big = total // 2, total - total // 2
    return (small, big) if upper else (big, small)


def spatial_pads(ctx: ConvertContext, node: Node, in_hw, kernel, strides, dilations) -> List[int]:
    """[top, left, bottom, right] from pads / auto_pad."""
    auto_pad = node.attr("auto_pad", "NOTSET")
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        ph = same_pads(in_hw[0], kernel[0], strides[0], dilations[0], auto_pad == "SAME_UPPER")
        pw = same_pads(in_hw[1], kernel[1], strides[1], dilations[1], auto_pad == "SAME_UPPER")
        return [ph[0], pw[0], ph[1], pw[1]]
    if auto_pad == "VALID":
        return [0, 0, 0, 0]
    if auto_pad not in ("NOTSET", ""):
        raise ctx.unsupported(node, "auto_pad %r" % auto_pad)
    pads = [int(v) for v in node.attr("pads", [0, 0, 0, 0])]
    if len(pads) != 4:
        raise ctx.unsupported(node, "pads %s (only 2-D operators are supported)" % pads)
    if min(pads) < 0:
        raise ctx.unsupported(node, "negative pads %s" % pads)
    return pads


def _pair(ctx, node, key, default):
    v = node.attr(key)
    if v is None:
        return [default, default]
    v = [int(x) for x in v]
    if len(v) != 2:
        raise ctx.unsupported(node, "%s=%s (only 2-D operators are supported)" % (key, v))
    return v


@register("Conv")
def convert_conv(ctx: ConvertContext, node: Node) -> None:
    x = node.inputs[0]
    in_shape = ctx.shape(node, x)
    if len(in_shape) != 4:
        raise ctx.unsupported(node, "input rank %d; only 2-D convolution (NCHW) is supported" % len(in_shape))
    w = ctx.const(node.inputs[1])
    if w is None:
        raise ctx.unsupported(node, "weight %r is not a constant" % node.inputs[1])
    if w.ndim != 4:
        raise ctx.unsupported(node, "weight rank %d; only 2-D convolution is supported" % w.ndim)
    bias = ctx.const(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
    if len(node.inputs) > 2 and node.inputs[2] and bias is None:
        raise ctx.unsupported(node, "bias %r is not a constant" % node.inputs[2])
    group = int(node.attr("group", 1))
    cout, cin_g, kh, kw = (int(v) for v in w.shape)
    cin = in_shape[1]
    if cin_g * group != cin or cout % group:
        raise ctx.unsupported(node, "weight %s does not fit input channels %d with group %d"
                              % (tuple(w.shape), cin, group))
    ks = node.attr("kernel_shape")
    if ks is not None and [int(v) for v in ks] != [kh, kw]:
        raise ctx.unsupported(node, "kernel_shape %s disagrees with weight %s" % (list(ks), tuple(w.shape)))
    strides = _pair(ctx, node, "strides", 1)
    dilations = _pair(ctx, node, "dilations", 1)
    if min(strides + dilations) <= 0:
        raise ctx.unsupported(node, "strides %s / dilations %s must be positive" % (strides, dilations))
    pt, pl, pb, pr = spatial_pads(ctx, node, in_shape[2:], [kh, kw], strides, dilations)
    out_shape = ctx.shape(node, node.outputs[0])
    for axis, (k, s, d, p0, p1) in enumerate(((kh, strides[0], dilations[0], pt, pb),
                                             (kw, strides[1], dilations[1], pl, pr))):
        span = in_shape[2 + axis] + p0 + p1 - ((k - 1) * d + 1)
        if span < 0 or span // s + 1 != out_shape[2 + axis]:
            raise ctx.unsupported(node, "kernel %d (dilation %d) does not fit the padded input %d on axis %d "
                                  "(output %d)" % (k, d, in_shape[2 + axis] + p0 + p1, 2 + axis,
                                                   out_shape[2 + axis]))

    params = {0: cout, 1: kw, 11: kh, 2: dilations[1], 12: dilations[0], 3: strides[1], 13: strides[0],
              4: pl, 15: pr, 14: pt, 16: pb, 5: 1 if bias is not None else 0, 6: int(w.size)}
    weights = [Weight("weight", np.asarray(w, np.float32).reshape(-1), "tagged")]
    if bias is not None:
        weights.append(Weight("bias", np.asarray(bias, np.float32).reshape(-1), "raw"))
    # ncnn's Convolution is group 1; every grouped conv (depthwise or not) is
    # ConvolutionDepthWise, whose [group][out/g][in/g][kh][kw] weight layout is
    # exactly ONNX's [out][in/g][kh][kw].
    if group == 1:
        ltype = "Convolution"
    else:
        ltype = "ConvolutionDepthWise"
        params[7] = group
    ctx.add_layer(ltype, node.name, [ctx.blob(node, x)], [ctx.top(node)], params, weights)


@register("BatchNormalization")
def convert_batchnorm(ctx: ConvertContext, node: Node) -> None:
    """A BatchNorm the graph pass could not fold into a preceding conv."""
    if int(node.attr("training_mode", 0)):
        raise ctx.unsupported(node, "training_mode=1 (export the model in eval() mode)")
    if int(node.attr("spatial", 1)) != 1:
        raise ctx.unsupported(node, "spatial=0")
    if len([o for o in node.outputs if o]) > 1:
        raise ctx.unsupported(node, "running mean/var outputs (training mode)")
    arrays = []
    for idx, what in ((1, "scale"), (2, "bias"), (3, "mean"), (4, "var")):
        v = ctx.const(node.inputs[idx])
        if v is None:
            raise ctx.unsupported(node, "%s input %r is not a constant" % (what, node.inputs[idx]))
        arrays.append(np.asarray(v, np.float64).reshape(-1))
    scale, bias, mean, var = arrays
    shape = ctx.data_shape(node, node.inputs[0])
    channels = shape[0]
    if any(a.size != channels for a in arrays):
        raise ctx.unsupported(node, "parameter sizes do not match %d channels" % channels)
    eps = float(node.attr("epsilon", 1e-5))
    params = {0: channels, 1: eps}
    weights = [Weight("slope", scale, "raw"), Weight("mean", mean, "raw"),
               Weight("var", var, "raw"), Weight("bias", bias, "raw")]
    ctx.add_layer("BatchNorm", node.name, [ctx.blob(node, node.inputs[0])], [ctx.top(node)], params, weights)


@register("ConvTranspose")
def convert_conv_transpose(ctx: ConvertContext, node: Node) -> None:
    """ConvTranspose -> Deconvolution (group 1) / DeconvolutionDepthWise.
    ONNX's output_padding (extra rows/columns at the end) becomes a smaller
    end pad: the same pixels, all of which receive contributions."""
    x = node.inputs[0]
    in_shape = ctx.shape(node, x)
    if len(in_shape) != 4:
        raise ctx.unsupported(node, "input rank %d; only 2-D transposed convolution is supported" % len(in_shape))
    w = ctx.const(node.inputs[1])
    if w is None or w.ndim != 4:
        raise ctx.unsupported(node, "weight %r is not a constant 4-D tensor" % node.inputs[1])
    bias = ctx.const(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
    if len(node.inputs) > 2 and node.inputs[2] and bias is None:
        raise ctx.unsupported(node, "bias %r is not a constant" % node.inputs[2])
    group = int(node.attr("group", 1))
    cin, cout_g, kh, kw = (int(v) for v in w.shape)
    if cin != in_shape[1] or cin % group:
        raise ctx.unsupported(node, "weight %s does not fit input channels %d with group %d"
                              % (tuple(w.shape), in_shape[1], group))
    cout = cout_g * group
    strides = _pair(ctx, node, "strides", 1)
    dilations = _pair(ctx, node, "dilations", 1)
    if node.attr("auto_pad", "NOTSET") not in ("NOTSET", ""):
        raise ctx.unsupported(node, "auto_pad=%s" % node.attr("auto_pad"))
    pads = [int(v) for v in node.attr("pads", [0, 0, 0, 0])]
    out_pad = _pair(ctx, node, "output_padding", 0)
    pt, pl, pb, pr = pads
    if min(pads) < 0 or out_pad[0] > pb or out_pad[1] > pr:
        raise ctx.unsupported(node, "pads %s with output_padding %s (ncnn's output padding is not bias-filled; "
                              "only output_padding <= the end pads is supported)" % (pads, out_pad))
    pb, pr = pb - out_pad[0], pr - out_pad[1]
    out_shape = ctx.shape(node, node.outputs[0])
    for axis, (k, s, d, p0, p1) in enumerate(((kh, strides[0], dilations[0], pt, pb),
                                             (kw, strides[1], dilations[1], pl, pr))):
        full = (in_shape[2 + axis] - 1) * s + (k - 1) * d + 1
        if full - p0 - p1 != out_shape[2 + axis]:
            raise ctx.unsupported(node, "output extent %d on axis %d is not (in-1)*stride + kernel - pads = %d"
                                  % (out_shape[2 + axis], 2 + axis, full - p0 - p1))
    wt = np.asarray(w, np.float32).reshape(group, cin // group, cout_g, kh, kw).transpose(0, 2, 1, 3, 4)
    params = {0: cout, 1: kw, 11: kh, 2: dilations[1], 12: dilations[0], 3: strides[1], 13: strides[0],
              4: pl, 15: pr, 14: pt, 16: pb, 5: 1 if bias is not None else 0, 6: int(w.size)}
    weights = [Weight("weight", np.ascontiguousarray(wt).reshape(-1), "tagged")]
    if bias is not None:
        weights.append(Weight("bias", np.asarray(bias, np.float32).reshape(-1), "raw"))
    ltype = "Deconvolution"
    if group != 1:
        ltype = "DeconvolutionDepthWise"
        params[7] = group
    ctx.add_layer(ltype, node.name, [ctx.blob(node, x)], [ctx.top(node)], params, weights)
