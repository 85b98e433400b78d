"""The V831 NPU's input path, emulated: how an int8 model gets its input.

On the board, libmaix's awnn backend takes the camera's uint8 HWC image and,
for an input with need_quantization, computes for every element

    f = (u8 - mean[0]) * norm[0]                      (ONE mean/norm: channel 0's)
    q = clamp(roundf(f * input_scale), -127, 127)     (int8, round half away from zero)

where input_scale is the scale of the first int8 layer's input (ncnn's
bottom_scale of the first Convolution).  The int8 network then runs on q.
NpuInput reproduces that: it finds input_scale in the int8 model, quantizes
exactly so, and hands the engine an int8 CHW array.

Models whose per-channel normalisation was folded (maixnn.fold) start with a
Padding layer carrying per-channel pad values, because the original zero
padding is not zero in the single-mean/norm input domain.  The NPU's input
buffer then holds the quantized image with that border already in place: the
pad value of channel c becomes clamp(roundf(pad_c * input_scale)), the same
quantization as the image.  NpuInput runs a copy of the model without that
Padding layer (the Input declares the padded size, the convolution reads it
directly, no padding of its own) and builds the padded int8 input itself -
the V831's "first layer convolution without padding" arrangement.  That is
exactly what the int8 convolution would compute if it were fed the padded
float input, since quantizing f or the pad value is the same roundf.

Board-side safe: Python 3.8, numpy only (+ maixnn.runtime for the engine).
"""
from __future__ import annotations

import warnings
from typing import Dict, List, Optional, Tuple

import numpy as np

from .errors import ModelFormatError, UnsupportedOperatorError
from .ncnn_model import Layer, NcnnModel

INT8_LAYER_TYPES = ("Convolution", "ConvolutionDepthWise", "InnerProduct")


def roundf(v: np.ndarray) -> np.ndarray:
    """C's roundf on float32 values (half away from zero), exactly: the float32
    value is widened to float64, where |v| + 0.5 cannot round."""
    v64 = np.asarray(v, dtype=np.float32).astype(np.float64)
    return np.copysign(np.floor(np.abs(v64) + 0.5), v64)


def quantize_input(f: np.ndarray, input_scale: float) -> np.ndarray:
    """q = clamp(roundf(f * input_scale), -127, 127) as int8, in float32 like the board."""
    v = (np.asarray(f, dtype=np.float32) * np.float32(input_scale)).astype(np.float32)
    return np.clip(roundf(v), -127, 127).astype(np.int8)


def normalize_like_board(image_hwc: np.ndarray, mean: float, norm: float) -> np.ndarray:
    """f = (u8 - mean) * norm with one mean/norm, float32, returned CHW."""
    f = (np.asarray(image_hwc, dtype=np.float32) - np.float32(mean)) * np.float32(norm)
    return np.ascontiguousarray(f.astype(np.float32).transpose(2, 0, 1))


def single_mean_norm(mean, norm, warn: bool = True) -> Tuple[float, float]:
    """The board uses index 0 of mean/norm for every channel (and warns if the
    three differ); so does this."""
    m = np.atleast_1d(np.asarray(mean, dtype=np.float32))
    n = np.atleast_1d(np.asarray(norm, dtype=np.float32))
    if warn and (np.any(m != m[0]) or np.any(n != n[0])):
        warnings.warn("the V831 NPU applies ONE mean/norm to all channels: using mean[0]=%g norm[0]=%g, "
                      "ignoring mean %s norm %s (fold per-channel normalisation into the model with "
                      "maixnn quantize --mean/--std instead)" % (m[0], n[0], m.tolist(), n.tolist()),
                      stacklevel=3)
    return float(m[0]), float(n[0])


def is_int8_model(model: NcnnModel) -> bool:
    return any(l.type in INT8_LAYER_TYPES and int(_scalar(l.params.get(8, 0))) != 0 for l in model.layers)


def _scalar(v):
    return v[0] if isinstance(v, list) and v else (0 if isinstance(v, list) else v)


def _bottom_scale(layer: Layer) -> float:
    w = layer.weight("bottom_scale")
    if w is None or w.data.size != 1:
        raise ModelFormatError("layer %s: int8 layer without a bottom_scale" % layer.name)
    return float(w.data[0])


class NpuInput:
    """The NPU input path for one input of an int8 model.

    Attributes: input_scale (float), pad (top, bottom, left, right) added
    around the image in the input buffer, pad_q (int8 per channel),
    model (the NcnnModel the engine runs: the original one, or the copy
    without the leading per-channel Padding), feed_blob (the blob q goes to).
    """

    def __init__(self, model: NcnnModel, input_blob: str, input_scale: float,
                 pad: Tuple[int, int, int, int] = (0, 0, 0, 0), pad_q: Optional[np.ndarray] = None,
                 removed_padding: Optional[str] = None, first_layers: Optional[List[str]] = None):
        self.model = model
        self.feed_blob = input_blob
        self.input_scale = float(input_scale)
        self.pad = tuple(int(v) for v in pad)
        self.pad_q = pad_q
        self.removed_padding = removed_padding
        self.first_layers = list(first_layers or [])

    @classmethod
    def from_model(cls, model: NcnnModel, input_blob: Optional[str] = None) -> "NpuInput":
        """Analyse an int8 model (with weights loaded).  Raises
        UnsupportedOperatorError when the input does not go straight (or
        through one constant Padding) into int8 layers."""
        inputs = model.input_names()
        if input_blob is None:
            if len(inputs) != 1:
                raise UnsupportedOperatorError("the NPU input path needs a model with one input, this one has %s"
                                               % inputs)
            input_blob = inputs[0]
        consumers = model.consumers(input_blob)
        if len(consumers) == 1 and consumers[0].type == "Padding":
            return cls._through_padding(model, input_blob, consumers[0])
        scale = cls._entry_scale(input_blob, consumers)
        return cls(model, input_blob, scale, first_layers=[l.name for l in consumers])

    @staticmethod
    def _entry_scale(blob: str, consumers: List[Layer]) -> float:
        if not consumers:
            raise UnsupportedOperatorError("input %s feeds no layer" % blob)
        scales = []
        for l in consumers:
            if l.type not in INT8_LAYER_TYPES or int(_scalar(l.params.get(8, 0))) == 0:
                raise UnsupportedOperatorError(
                    "quantize=True emulates the NPU, which feeds int8 to the first layer, but input %s goes to "
                    "%s layer %s, which is float in this model (kept float by --float-layers?); "
                    "use quantize=False or quantize the first layer" % (blob, l.type, l.name))
            scales.append(_bottom_scale(l))
        if any(s != scales[0] for s in scales):
            raise UnsupportedOperatorError(
                "input %s feeds int8 layers with different input scales %s (%s): the NPU has one input scale"
                % (blob, scales, ", ".join(l.name for l in consumers)))
        if not np.isfinite(scales[0]) or scales[0] <= 0:
            raise ModelFormatError("layer %s: input scale %r is not a positive number" % (consumers[0].name, scales[0]))
        return scales[0]

    @classmethod
    def _through_padding(cls, model: NcnnModel, input_blob: str, pad_layer: Layer) -> "NpuInput":
        p = pad_layer.params
        if int(_scalar(p.get(4, 0))) != 0:
            raise UnsupportedOperatorError("Padding layer %s after the input is not constant padding: the NPU "
                                           "input path cannot express it" % pad_layer.name)
        if any(int(_scalar(p.get(k, 0))) for k in (7, 8)):
            raise UnsupportedOperatorError("Padding layer %s pads channels (front/behind): not supported on the "
                                           "NPU input path" % pad_layer.name)
        top, bottom, left, right = (int(_scalar(p.get(k, 0))) for k in (0, 1, 2, 3))
        if min(top, bottom, left, right) < 0:
            raise UnsupportedOperatorError("Padding layer %s: negative/dynamic padding is not supported on the "
                                           "NPU input path" % pad_layer.name)
        consumers = model.consumers(pad_layer.tops[0])
        scale = cls._entry_scale(pad_layer.tops[0], consumers)
        in_layer = model.producer(input_blob)
        channels = int(_scalar(in_layer.params.get(2, 0))) if in_layer is not None else 0
        per_channel = pad_layer.weight("per_channel_pad")
        if per_channel is not None and per_channel.data.size:
            values = per_channel.data.astype(np.float32)
            if channels and values.size != channels:
                raise ModelFormatError("Padding layer %s has %d per-channel values for %d channels"
                                       % (pad_layer.name, values.size, channels))
        else:
            value = float(_scalar(p.get(5, 0.0)))
            values = np.full(max(channels, 1), value, np.float32)
        pad_q = quantize_input(values, scale)
        # the model without the Padding layer: the Input declares the padded size
        import copy
        derived = copy.deepcopy(model)
        for layer in derived.layers:
            if layer.type == "Input" and input_blob in layer.tops:
                if int(_scalar(layer.params.get(0, 0))):
                    layer.params[0] = int(_scalar(layer.params[0])) + left + right
                if int(_scalar(layer.params.get(1, 0))):
                    layer.params[1] = int(_scalar(layer.params[1])) + top + bottom
        padded_blob = pad_layer.tops[0]
        derived.layers = [l for l in derived.layers if l.name != pad_layer.name]
        for layer in derived.layers:
            layer.bottoms = [input_blob if b == padded_blob else b for b in layer.bottoms]
        return cls(derived, input_blob, scale, (top, bottom, left, right), pad_q,
                   removed_padding=pad_layer.name, first_layers=[l.name for l in consumers])

    def quantize(self, image_hwc: np.ndarray, mean: float, norm: float) -> np.ndarray:
        """uint8 HWC image -> the int8 CHW buffer the NPU computes on (padded
        with the quantized per-channel pad values when the model had them)."""
        q = quantize_input(normalize_like_board(image_hwc, mean, norm), self.input_scale)
        return self.pad_buffer(q)

    def pad_buffer(self, q: np.ndarray) -> np.ndarray:
        top, bottom, left, right = self.pad
        if not (top or bottom or left or right):
            return np.ascontiguousarray(q)
        c, h, w = q.shape
        pad_q = self.pad_q if self.pad_q.size == c else np.full(c, self.pad_q.reshape(-1)[0], np.int8)
        out = np.empty((c, h + top + bottom, w + left + right), np.int8)
        out[:] = pad_q.reshape(c, 1, 1)
        out[:, top:top + h, left:left + w] = q
        return out

    def describe(self) -> str:
        text = "NPU input: f = (u8 - mean[0]) * norm[0]; q = clamp(roundf(f * %.6g), -127, 127) into %s" % (
            self.input_scale, ", ".join(self.first_layers))
        if self.removed_padding:
            text += ("; border of %s (top/bottom/left/right) filled with the quantized per-channel values %s "
                     "(Padding layer %s done in the input buffer)"
                     % (self.pad, self.pad_q.tolist(), self.removed_padding))
        return text


def dequantize_outputs_scale(model: NcnnModel, blob: str) -> Optional[float]:
    """If `blob` holds int8 values in this model (output of a requantizing
    layer, possibly through Split/ReLU), the scale to divide by; else None."""
    seen = 0
    while seen < len(model.layers):
        seen += 1
        producer = model.producer(blob)
        if producer is None:
            return None
        if producer.type in INT8_LAYER_TYPES:
            if int(_scalar(producer.params.get(8, 0))) > 100:
                w = producer.weight("top_scale")
                return float(w.data[0]) if w is not None and w.data.size else None
            return None
        if producer.type == "Split":   # ncnn2int8 lets int8 flow only conv -> (Split ->) conv
            blob = producer.bottoms[0]
            continue
        return None
    return None


class NpuRuntime:
    """What maixnn.nn needs for forward(img, quantize=True) on an int8 model:
    the NpuInput and the engine Net it feeds (the model itself, or its copy
    without the leading per-channel Padding)."""

    def __init__(self, npu_input: NpuInput, net, model: NcnnModel):
        self.input = npu_input
        self.net = net
        self.model = model
        self._output_scales: Dict[str, Optional[float]] = {}  # per output blob, found once

    @classmethod
    def for_net(cls, net):
        """None when `net` is a float model (or was loaded from memory, so
        its files cannot be inspected); raises UnsupportedOperatorError when
        it is int8 but its input cannot take the NPU's int8 buffer.  An awnn
        model gets an AwnnRuntime."""
        if getattr(net, "is_awnn", False):
            return AwnnRuntime(net)
        param, binp = getattr(net, "param_path", None), getattr(net, "bin_path", None)
        if not param or not binp:
            return None
        model = NcnnModel.load(param)  # the .bin is read only for an int8 model
        if not is_int8_model(model):
            return None
        if len(model.input_names()) != 1:
            raise UnsupportedOperatorError("quantize=True: the NPU input path handles one input, %s has %s"
                                           % (param, model.input_names()))
        model.read_weights_file(binp)
        npu_input = NpuInput.from_model(model)
        run_net = net
        if npu_input.removed_padding:
            from .runtime import Net
            run_net = Net.from_memory(npu_input.model.param_text(), npu_input.model.bin_bytes())
        return cls(npu_input, run_net, model)

    def prepare(self, image_hwc: np.ndarray, mean, norm, name: Optional[str] = None) -> np.ndarray:
        m, n = single_mean_norm(mean, norm)
        return self.input.quantize(image_hwc, m, n)

    def dequantize(self, name: str, blob: np.ndarray) -> np.ndarray:
        """An int8 blob (a requantizing layer's output) back to float."""
        if blob.dtype != np.int8:
            return blob
        if name not in self._output_scales:
            self._output_scales[name] = dequantize_outputs_scale(self.input.model, name)
        scale = self._output_scales[name]
        if not scale:
            raise UnsupportedOperatorError("output %s is int8 and no top_scale describes it" % name)
        return (blob.astype(np.float32) / np.float32(scale)).astype(np.float32)


class AwnnRuntime:
    """The same for an awnn model (the V831's own format, run by the engine's
    NPU emulation): the input scale of each input is its Input layer's
    -23329, outputs are dequantized by the engine with the board's rule."""

    def __init__(self, net):
        self.net = net

    def prepare(self, image_hwc: np.ndarray, mean, norm, name: Optional[str] = None) -> np.ndarray:
        """uint8 HWC image -> the int8 CHW buffer: f = (u8 - mean[0]) * norm[0],
        q = clamp(roundf(f * S_input), -127, 127)."""
        m, n = single_mean_norm(mean, norm)
        name = name if name is not None else self.net.input_names[0]
        return quantize_input(normalize_like_board(image_hwc, m, n), self.net.blob_scale(name))

    def dequantize(self, name: str, blob: np.ndarray) -> np.ndarray:
        return self.net.dequantize(name, blob)

    def describe(self) -> str:
        return "NPU input (awnn): f = (u8 - mean[0]) * norm[0]; q = clamp(roundf(f * %s), -127, 127)" % (
            ", ".join("%.6g" % self.net.blob_scale(n) for n in self.net.input_names))
