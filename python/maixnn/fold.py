"""Fold a per-channel input normalisation into the first convolution(s).

Why: the V831 NPU (awnn) normalises its uint8 input with ONE mean and ONE norm
for all channels, f = (u8 - m) * n, then quantizes f with the first layer's
input scale.  A PyTorch model usually wants per-channel statistics,
x_c = (u8/255 - mean_c) / std_c = (u8 - M_c) * N_c with M_c = 255 mean_c and
N_c = 1 / (255 std_c).  Since x_c = a_c * f + b_c with

    a_c = N_c / n,        b_c = (m - M_c) * N_c,

a convolution reading x can read f instead with its weights of input channel c
multiplied by a_c and sum(W[o, c, :, :] * b_c) added to bias[o].  That is exact
everywhere except at the borders: the original convolution pads x with zeros
(or its pad_value v), and x_c = v corresponds to f = (v - b_c) / a_c, a value
that differs per channel.  So the convolution's padding is moved into a
Padding layer in front of it that pads channel c with (v - b_c) / a_c
(ncnn's Padding 6=per_channel_pad_data_size, the values stored in the .bin),
and the convolution itself no longer pads.  In real arithmetic the folded model
equals the original one everywhere, borders included.

The NPU's Padding support is not documented; the int8 emulation
(maixnn.nn, quantize=True) quantizes the per-channel pad values with the same
input scale as the image, which is what a per-channel pad in the NPU's input
domain would do.

Board-side safe: numpy only, Python 3.8.
"""
from __future__ import annotations

import copy
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .errors import OptionError, UnsupportedOperatorError
from .preprocess import per_channel_values
from .ncnn_model import Layer, NcnnModel, Weight, conv_geometry, unique_name

FOLDABLE_TYPES = ("Convolution", "ConvolutionDepthWise")


# ------------------------------------------------------------ mean/std terms

def _channel_list(value, name: str, channels: int) -> np.ndarray:
    if value is None:
        raise OptionError("%s is required" % name)
    return np.asarray(per_channel_values(value, channels, name), dtype=np.float64)


def awnn_terms(channels: int, mean=None, std=None, norm=None) -> Tuple[np.ndarray, np.ndarray]:
    """Per-channel (mean', norm') on 0..255 pixels, the awnn form
    x = (u8 - mean') * norm'.  Give mean+std in PyTorch terms (on 0..1:
    x = (u8/255 - mean)/std) or mean+norm already in awnn terms."""
    if (std is None) == (norm is None):
        raise OptionError("give either std (PyTorch terms, mean on 0..1) or norm (awnn terms, mean on 0..255)")
    if std is not None:
        m = _channel_list(mean, "mean", channels)
        s = _channel_list(std, "std", channels)
        if np.any(s == 0):
            raise OptionError("std must not contain 0, got %s" % s.tolist())
        return m * 255.0, 1.0 / (s * 255.0)
    m = _channel_list(mean, "mean", channels)
    n = _channel_list(norm, "norm", channels)
    if np.any(n == 0):
        raise OptionError("norm must not contain 0, got %s" % n.tolist())
    return m, n


def choose_single(mean_awnn: np.ndarray, norm_awnn: np.ndarray) -> Tuple[float, float]:
    """The (m, n) the NPU will apply to every channel.  m is the mean of the
    per-channel means: f is then centred on the data the model was trained
    with, which suits a symmetric int8 input.  n is 1/(255 * mean std), so f
    has the magnitude of the original normalised input and the folded weights
    stay close to the original ones (a_c = N_c / n is about 1)."""
    m = float(np.mean(mean_awnn))
    n = float(1.0 / np.mean(1.0 / norm_awnn))
    return m, n


# ------------------------------------------------------------ the report

class FoldInfo:
    """What fold_input_normalization did (to print and to store in the .json)."""

    def __init__(self, mean_awnn, norm_awnn, single_mean, single_norm):
        self.per_channel_mean = [float(v) for v in mean_awnn]
        self.per_channel_norm = [float(v) for v in norm_awnn]
        self.single_mean = float(single_mean)
        self.single_norm = float(single_norm)
        self.layers: List[Dict] = []

    @property
    def folded(self) -> bool:
        return bool(self.layers)

    def to_dict(self) -> Dict:
        return {
            "folded": self.folded,
            "per_channel_mean": self.per_channel_mean,
            "per_channel_norm": self.per_channel_norm,
            "single_mean": self.single_mean,
            "single_norm": self.single_norm,
            "layers": copy.deepcopy(self.layers),
        }

    def describe(self) -> str:
        fmt = lambda xs: "[" + ", ".join("%.6g" % v for v in xs) + "]"  # noqa: E731
        if not self.folded:
            return ("input normalisation: one mean/norm for all channels (mean %.6g, norm %.6g); nothing folded"
                    % (self.single_mean, self.single_norm))
        lines = ["input normalisation folded for the NPU's single mean/norm:",
                 "  model was trained on (u8 - mean_c) * norm_c with mean %s norm %s"
                 % (fmt(self.per_channel_mean), fmt(self.per_channel_norm)),
                 "  the folded model takes (u8 - %.6g) * %.6g on every channel (use these as mean/norm on the board)"
                 % (self.single_mean, self.single_norm)]
        for l in self.layers:
            pad = l["padding"]
            padtxt = ("; its padding (top %d bottom %d left %d right %d) moved into Padding layer %s with "
                      "per-channel values %s" % (pad["top"], pad["bottom"], pad["left"], pad["right"],
                                                 l["padding_layer"], fmt(l["pad_values"]))) if pad else ""
            lines.append("  %s %s: input channel c weights x %s, bias + sum(W * %s)%s"
                         % (l["type"], l["layer"], fmt(l["channel_scale"]), fmt(l["channel_shift"]), padtxt))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.describe()


# ------------------------------------------------------------ geometry

def _conv_pads(layer: Layer, in_w: int, in_h: int) -> Tuple[int, int, int, int]:
    """(top, bottom, left, right) the convolution pads its input with."""
    g = conv_geometry(layer, in_w, in_h)
    pads = (g.pad_top, g.pad_bottom, g.pad_left, g.pad_right)
    if min(pads) < 0:
        raise UnsupportedOperatorError("layer %s: negative padding (%d %d %d %d) cannot be folded"
                                       % ((layer.name,) + pads))
    return pads


def _input_shape(model: NcnnModel, blob: str) -> Tuple[int, int, int]:
    for l in model.layers:
        if l.type == "Input" and blob in l.tops:
            return l.int_param(0, 0), l.int_param(1, 0), l.int_param(2, 0)
    raise OptionError("blob %r is not the top of an Input layer" % blob)


# ------------------------------------------------------------ folding

def _fold_weights(layer: Layer, channels: int, a: np.ndarray, b: np.ndarray) -> None:
    num_output = layer.int_param(0, 0)
    kw = layer.int_param(1, 0)
    kh = layer.int_param(11, kw)
    groups = layer.int_param(7, 1) if layer.type == "ConvolutionDepthWise" else 1
    w = layer.weight("weight")
    if w is None or w.data.dtype == np.int8:
        raise UnsupportedOperatorError("layer %s: float weights required (fold before quantizing)" % layer.name)
    if groups <= 0 or channels % groups or num_output % groups:
        raise UnsupportedOperatorError("layer %s: group %d does not divide %d input / %d output channels"
                                       % (layer.name, groups, channels, num_output))
    cin_g, cout_g = channels // groups, num_output // groups
    expected = groups * cout_g * cin_g * kh * kw
    if w.data.size != expected:
        raise UnsupportedOperatorError(
            "layer %s: %d weights, expected %d for %d->%d channels, kernel %dx%d, group %d"
            % (layer.name, w.data.size, expected, channels, num_output, kh, kw, groups))
    W = w.data.astype(np.float64).reshape(groups, cout_g, cin_g, kh, kw)
    a_g = a.reshape(groups, 1, cin_g, 1, 1)
    b_g = b.reshape(groups, 1, cin_g, 1, 1)
    shift = (W * b_g).sum(axis=(2, 3, 4)).reshape(num_output)
    W_new = (W * a_g).astype(np.float32)
    bias = layer.weight("bias")
    old_bias = bias.data.astype(np.float64) if bias is not None else np.zeros(num_output)
    new_bias = (old_bias + shift).astype(np.float32)
    weights = [Weight("weight", W_new.reshape(-1), w.kind), Weight("bias", new_bias, "raw")]
    weights += [x for x in layer.weights if x.name not in ("weight", "bias")]
    layer.weights = weights
    layer.params[5] = 1


def _fold_targets(model: NcnnModel, input_blob: str) -> List[Layer]:
    """The float convolutions reading the input, looking through Split layers;
    anything else reading it makes the fold impossible."""
    targets: List[Layer] = []
    pending = [input_blob]
    while pending:
        blob = pending.pop()
        for consumer in model.consumers(blob):
            if consumer.type == "Split":
                pending.extend(consumer.tops)
                continue
            if consumer.type not in FOLDABLE_TYPES:
                raise UnsupportedOperatorError(
                    "cannot fold the per-channel normalisation: input %s feeds layer %s (%s), not a convolution; "
                    "use the same mean/std on every channel for this model" % (blob, consumer.name, consumer.type))
            if consumer.int_param(8, 0):
                raise UnsupportedOperatorError(
                    "layer %s (%s) is already int8: fold the normalisation into the float model, then quantize"
                    % (consumer.name, consumer.type))
            targets.append(consumer)
    if not targets:
        raise UnsupportedOperatorError("input %s feeds no convolution: nothing to fold the normalisation into"
                                       % input_blob)
    return targets


def fold_input_normalization(model: NcnnModel, mean, std=None, norm=None,
                             single_mean: Optional[float] = None, single_norm: Optional[float] = None,
                             input_blob: Optional[str] = None) -> Tuple[NcnnModel, FoldInfo]:
    """Return (folded copy of `model`, FoldInfo).

    The original float model takes x_c = (u8/255 - mean_c)/std_c (or
    (u8 - mean_c) * norm_c when `norm` is given: awnn terms).  The folded model
    takes f = (u8 - m) * n on every channel, m and n being `single_mean` /
    `single_norm` (default: choose_single).  Every convolution reading the
    input (directly or through a Split) gets its weights and bias rewritten,
    and its padding moved into a per-channel Padding layer.  When the
    normalisation already is the same on every channel and (m, n) equal it,
    nothing changes.  Raises UnsupportedOperatorError naming the layer when the
    input feeds anything but a float convolution.
    """
    if not isinstance(model, NcnnModel):
        raise OptionError("model must be a maixnn.ncnn_model.NcnnModel, got %s" % type(model).__name__)
    inputs = model.input_names()
    if input_blob is None:
        if len(inputs) != 1:
            raise OptionError("the model has %d inputs %s; say which one with input_blob=" % (len(inputs), inputs))
        input_blob = inputs[0]
    in_w, in_h, channels = _input_shape(model, input_blob)
    if channels <= 0:
        channels = len(mean) if isinstance(mean, (list, tuple, np.ndarray)) else 0
        if channels <= 0:
            raise OptionError("the Input layer declares no channel count (2=c) and mean is a scalar")
    M, N = awnn_terms(channels, mean=mean, std=std, norm=norm)
    m_default, n_default = choose_single(M, N)
    m = float(m_default if single_mean is None else single_mean)
    n = float(n_default if single_norm is None else single_norm)
    if not np.isfinite(m) or not np.isfinite(n) or n == 0:
        raise OptionError("single mean/norm must be finite and norm non-zero, got %r / %r" % (m, n))
    info = FoldInfo(M, N, m, n)

    a = N / n                 # x_c = a_c * f + b_c
    b = (m - M) * N
    out = copy.deepcopy(model)
    if np.all(a == 1.0) and np.all(b == 0.0):
        return out, info

    targets = _fold_targets(out, input_blob)
    taken_names = {l.name for l in out.layers}
    taken_blobs = set(out.blob_names())
    for conv in targets:
        top, bottom, left, right = _conv_pads(conv, in_w, in_h)
        pad_value = float(conv.float_param(18, 0.0))
        _fold_weights(conv, channels, a, b)
        entry = {"layer": conv.name, "type": conv.type,
                 "channel_scale": [float(v) for v in a], "channel_shift": [float(v) for v in b],
                 "padding": None, "padding_layer": None, "pad_values": None}
        if top or bottom or left or right:
            pad_values = ((pad_value - b) / a).astype(np.float32)
            pad_name = unique_name(conv.name + "_normpad", taken_names)
            pad_blob = unique_name(conv.bottoms[0] + "_normpad", taken_blobs)
            pad_layer = Layer("Padding", pad_name, [conv.bottoms[0]], [pad_blob],
                              {0: top, 1: bottom, 2: left, 3: right, 4: 0, 5: 0.0, 6: channels},
                              [Weight("per_channel_pad", pad_values, "raw")])
            conv.bottoms[0] = pad_blob
            for pid in (4, 14, 15, 16, 18):
                conv.params.pop(pid, None)
            out.layers.insert(out.layers.index(conv), pad_layer)
            entry["padding"] = {"top": top, "bottom": bottom, "left": left, "right": right,
                                "original_pad_value": pad_value}
            entry["padding_layer"] = pad_name
            entry["pad_values"] = [float(v) for v in pad_values]
        info.layers.append(entry)
    return out, info


def fold_files(float_base: str, out_base: str, mean, std=None, norm=None,
               single_mean: Optional[float] = None, single_norm: Optional[float] = None) -> FoldInfo:
    """fold_input_normalization on float_base.param/.bin, written to out_base.param/.bin."""
    import os
    if os.path.abspath(float_base) == os.path.abspath(out_base):
        raise OptionError("out_base must differ from float_base (%s): maixnn never overwrites its input" % out_base)
    model = NcnnModel.load(float_base + ".param", float_base + ".bin")
    folded, info = fold_input_normalization(model, mean, std=std, norm=norm,
                                            single_mean=single_mean, single_norm=single_norm)
    folded.save(out_base + ".param", out_base + ".bin")
    return info


def normalize_single(u8_chw: np.ndarray, single_mean: float, single_norm: float) -> np.ndarray:
    """f = (u8 - m) * n in float32, the NPU's input normalisation."""
    return ((np.asarray(u8_chw, dtype=np.float32) - np.float32(single_mean)) * np.float32(single_norm)).astype(np.float32)


def normalize_per_channel(u8_chw: np.ndarray, mean_awnn: Sequence[float], norm_awnn: Sequence[float]) -> np.ndarray:
    """x_c = (u8 - mean_c) * norm_c in float32 (CHW input)."""
    u = np.asarray(u8_chw, dtype=np.float32)
    m = np.asarray(mean_awnn, dtype=np.float32).reshape(-1, 1, 1)
    n = np.asarray(norm_awnn, dtype=np.float32).reshape(-1, 1, 1)
    return ((u - m) * n).astype(np.float32)


# ------------------------------------------------------------ quantizer hook

class NpuFold:
    """fold_for_npu's result: the folded float model, the preprocessing of its
    input (one mean/norm, what the .mud and the board use), the FoldInfo, and
    the original per-channel preprocessing."""

    def __init__(self, model: NcnnModel, preprocess, info: FoldInfo, original_preprocess):
        self.model = model
        self.preprocess = preprocess
        self.info = info
        self.original_preprocess = original_preprocess

    def record(self) -> Dict:
        """What goes into the int8 model's .json under "fold"."""
        d = self.info.to_dict()
        d["original_preprocess"] = self.original_preprocess.to_dict()
        d["note"] = ("the int8 model takes (u8 - single_mean) * single_norm on every channel; the float "
                     "model's per-channel normalisation is folded into the layers listed")
        return d


def input_mapping(record: Dict) -> Tuple[np.ndarray, np.ndarray]:
    """(A, B) per channel with f = A * x + B: the folded model's input from
    the original model's input x (inverse of x_c = a_c f + b_c)."""
    mean = np.asarray(record["per_channel_mean"], np.float64)
    norm = np.asarray(record["per_channel_norm"], np.float64)
    m, n = float(record["single_mean"]), float(record["single_norm"])
    a = norm / n
    b = (m - mean) * norm
    return (1.0 / a).astype(np.float32), (-b / a).astype(np.float32)


class _TensorMap:
    """f = A * x + B on a (c, h, w) float tensor: maps calibration tensors
    given in the original model's normalisation (preprocessed .npy) into the
    folded model's input domain.  Picklable, stateless."""

    def __init__(self, record: Dict):
        A, B = input_mapping(record)
        self.A = A.reshape(-1, 1, 1)
        self.B = B.reshape(-1, 1, 1)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, np.float32) * self.A + self.B).astype(np.float32)


def _single_preprocess(preprocess, m: float, n: float, record: Dict):
    from .preprocess import Preprocess
    c = preprocess.channels
    single = Preprocess.from_awnn(preprocess.size, mean=[m] * c, norm=[n] * c,
                                  resize=preprocess.resize_policy, bgr=preprocess.bgr, check=False)
    # preprocessed float tensors (.npy) are in the original normalisation
    single.tensor_input_map = _TensorMap(record)
    return single


def fold_for_npu(model: NcnnModel, preprocess, enabled: bool = True) -> Optional[NpuFold]:
    """The quantizer's hook: if `preprocess` (maixnn.preprocess.Preprocess)
    normalises the channels differently, fold that into `model` so that the
    NPU's single mean/norm works; None when there is nothing to fold (or
    enabled is False)."""
    if not enabled:
        return None
    M = np.asarray(preprocess.awnn_mean, np.float64)
    N = np.asarray(preprocess.awnn_norm, np.float64)
    if np.all(M == M[0]) and np.all(N == N[0]):
        return None
    folded, info = fold_input_normalization(model, list(M), norm=list(N))
    record = info.to_dict()
    return NpuFold(folded, _single_preprocess(preprocess, info.single_mean, info.single_norm, record),
                   info, preprocess)


def refold_from_record(model: NcnnModel, record: Dict) -> NpuFold:
    """Fold `model` again exactly as a stored .json "fold" record says
    (quantize_from_table, the analyzer)."""
    from .preprocess import Preprocess
    folded, info = fold_input_normalization(model, record["per_channel_mean"], norm=record["per_channel_norm"],
                                            single_mean=record["single_mean"], single_norm=record["single_norm"])
    original = record.get("original_preprocess")
    original_pp = Preprocess.from_dict(original) if isinstance(original, dict) else None
    single = (_single_preprocess(original_pp, info.single_mean, info.single_norm, record)
              if original_pp is not None else None)
    return NpuFold(folded, single, info, original_pp)
