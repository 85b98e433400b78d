"""MaixPy3's ``maix.nn`` API on maixnn's engine: the same script runs on the PC
and (with the board's MaixPy3) on the MaixII-Dock.

    from maixnn import nn
    m = nn.load({"param": "m.param", "bin": "m.bin"}, opt={
            "model_type": "awnn",
            "inputs":  {"input0": (224, 224, 3)},     # name -> (h, w, c)
            "outputs": {"output0": (1, 1, 1000)},
            "mean": [127.5, 127.5, 127.5],            # float, or a list of 1 or 3
            "norm": [0.0078125, 0.0078125, 0.0078125]})
    m = nn.load("model.mud")                          # or a libmaix .mud file
    out = m.forward(pil_image)                        # (1, 1, 1000) float32
    probs = nn.F.softmax(out)                         # 1-D float32

What forward() computes (float model):
    u8 = the image bytes as uint8 (h, w, c), HWC as a camera / PIL delivers them
    x[c, y, x] = (float32(u8[y, x, c]) - float32(mean[c])) * float32(norm[c])
    (float32 arithmetic, two roundings: the subtraction, then the product),
    then the model runs on maixnn's C engine and each declared output is
    returned as float32 numpy shaped (h, w, c) for layout="hwc" (element order
    HWC, as the board's HWC output) or (c, h, w) for layout="chw".
    ncnn blobs are CHW; a 1-D blob (an InnerProduct's n values) is taken as
    (c=n, h=1, w=1), so a declared (1, 1, n) output is simply the n values.

Differences from the board, on purpose and documented:
* mean/norm are applied per channel.  The V831's awnn backend uses channel
  0's mean and norm for every channel when it quantizes the input; a model
  with three different values behaves differently there (the quantization
  tools fold the per-channel part into the first convolution instead).
* ``quantize=True`` on an int8 model (made by maixnn quantize) runs the V831
  NPU's input path (maixnn.npu): f = (u8 - mean[0]) * norm[0] with ONE
  mean/norm for every channel (a warning when the three differ, as on the
  board), q = clamp(roundf(f * input_scale), -127, 127) with the first int8
  layer's input scale, q fed to the engine as int8; outputs dequantized to
  float.  On a float model ``quantize`` is ignored (float32 throughout), and
  ``quantize=False`` feeds the per-channel float input to any model.
* awnn models (the V831's own int8 format, ``[basic] type=awnn`` in a .mud)
  run on the NPU emulation of maixnn's engine (README "awnn models on the
  PC").  ``quantize=True``: the board's input path, f = (u8 - mean[0]) *
  norm[0], q = clamp(roundf(f * S_input), -127, 127) with the Input's scale
  (its -23329); ``quantize=False``: the image is already quantized - its
  bytes are int8 codes, HWC (an int8 or uint8 array, or bytes).  Outputs come
  back dequantized as the board does: (float)q * (float)(1/((double)S+1e-5)).
* ``first_layer_conv_no_pad`` is accepted and ignored: the ncnn model states
  its padding itself.
* Output and input sizes are checked against the model at load time (one run
  on a zero input), where the board would fail or misread memory later.

MaixPy3 parity (0.5.x, ext_modules/_maix_nn): load(model_path, *, opt) and
forward(inputs, *, quantize=True, layout="hwc", debug=False,
output_fmt="numpy") take the same arguments, require the same options
(model_type, inputs, outputs, mean as a float or a list of 1 or 3, norm) and
raise the same exception types with MaixPy3's message first, then maixnn's
detail: ValueError "arg opt is needed", "arg opt need model_type key", "arg
model_path error, need str or dict", "input shape error, need: N (h, w, c),
but: M", NotImplementedError "not support bytes type", "not support multiple
input yet", ...  (maixnn's classes: OptionError and InputShapeError are
ValueErrors, NotSupportedError a NotImplementedError; a load failure keeps its
maixnn class with the message "libmaix_nn load fail: ...").  maixnn is
stricter where the board would run on and misbehave: unknown option keys,
shapes that disagree with the model, a non-uint8 or wrongly shaped array of
the right byte count.  Extensions: os.PathLike paths, bytearray input, a dict
{input name: image} for models with several inputs.  output_fmt other than
"numpy" returns bytes (one output) or a list of bytes; the board returns them
only for several outputs (one output fails there with a SystemError).

Board-side safe: Python 3.8, numpy, cffi or only ctypes (PIL images work if PIL is there).
"""
from __future__ import annotations

import collections
import configparser
import os
import sys
import time
import warnings
from typing import Dict, List, Optional, Tuple

import numpy as np

from . import decoder
from .errors import Error, InputShapeError, ModelFormatError, NotSupportedError, OptionError
from .preprocess import PreprocessWarning, awnn_terms_problems
from .runtime import Net

DEFAULT_MEAN = 127.5
DEFAULT_NORM = 0.0078125
OPTION_KEYS = ("model_type", "inputs", "outputs", "mean", "norm", "first_layer_conv_no_pad", "encrypt")
MODEL_TYPES = ("awnn",)
LAYOUTS = ("hwc", "chw")

Shape = Tuple[int, int, int]  # (h, w, c), MaixPy3's order


def _shape_hwc(value, what: str) -> Shape:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 3:
        raise OptionError("%s: expected (h, w, c), got %r" % (what, value))
    try:
        shape = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise OptionError("%s: expected three integers (h, w, c), got %r" % (what, value))
    if any(v <= 0 or v != float(x) for v, x in zip(shape, value)):
        raise OptionError("%s: sizes must be positive integers, got %r" % (what, value))
    return shape  # type: ignore[return-value]


def _per_channel(value, channels: int, what: str) -> np.ndarray:
    """mean/norm option -> float32 array of `channels` values."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        values = [float(value)]
    elif isinstance(value, (list, tuple, np.ndarray)):
        try:
            values = [float(v) for v in value]
        except (TypeError, ValueError):
            raise OptionError("%s: expected numbers, got %r" % (what, value))
    else:
        raise OptionError("%s: expected a number or a list of 1 or 3 numbers, got %r" % (what, value))
    if len(values) == 1:
        values = values * channels
    elif len(values) != channels or len(values) not in (1, 3):
        raise OptionError("%s: expected 1 value or one per channel (%d), got %d: %r"
                          % (what, channels, len(values), value))
    # checked in float32, the precision forward() computes in: 1e39 is finite
    # as a Python float but inf as float32
    with np.errstate(over="ignore"):
        finite = np.isfinite(np.array(values, dtype=np.float32))
    if not finite.all():
        raise OptionError("%s: values must be finite float32 numbers (|v| < 3.4e38), got %r" % (what, value))
    return np.array(values, dtype=np.float32)


class Model:
    """A loaded model with MaixPy3's forward().  Make one with nn.load().

    inputs/outputs: {name: (h, w, c)}; an output shape of None is filled in
    from the load-time zero run that also checks the declared ones."""

    def __init__(self, net: Net, inputs: "collections.OrderedDict[str, Shape]",
                 outputs: "collections.OrderedDict[str, Optional[Shape]]", mean: Dict[str, np.ndarray],
                 norm: Dict[str, np.ndarray], model_type: str = "awnn",
                 first_layer_conv_no_pad: bool = False):
        self.net = net
        self.inputs = inputs
        self.outputs = outputs
        self.mean = mean
        self.norm = norm
        self.model_type = model_type
        self.first_layer_conv_no_pad = bool(first_layer_conv_no_pad)
        self._check_against_model()
        self._warn_about_scales()
        self._npu_runtime = None  # maixnn.npu.NpuRuntime, built on the first quantize=True forward

    # ------------------------------------------------------------ load-time checks

    def _warn_about_scales(self) -> None:
        """MaixPy3 takes any mean/norm; PyTorch-scale values (mean 0.485, norm
        1/0.229) would silently feed the model nonsense, so say so (a warning,
        not an error: a board script must still load)."""
        for name in self.inputs:
            errors, warns = awnn_terms_problems([float(v) for v in self.mean[name]],
                                                [float(v) for v in self.norm[name]], flag="")
            for text in errors + warns:
                warnings.warn("nn.load: input '%s': %s" % (name, text), PreprocessWarning, stacklevel=4)

    def _check_against_model(self) -> None:
        net = self.net
        for name, (h, w, c) in self.inputs.items():
            if name not in net.input_names:
                raise OptionError("input '%s' is not an input of the model (its inputs: %s)"
                                  % (name, ", ".join(net.input_names)))
            dc, dh, dw = net.input_shapes.get(name, (0, 0, 0))
            for declared, given, axis in ((dc, c, "c"), (dh, h, "h"), (dw, w, "w")):
                if declared and declared != given:
                    raise OptionError("input '%s': opt says (h, w, c) = (%d, %d, %d) but the model's "
                                      "Input layer declares (%d, %d, %d) (%s differs)"
                                      % (name, h, w, c, dh, dw, dc, axis))
        missing = [n for n in net.input_names if n not in self.inputs]
        if missing:
            raise OptionError("opt 'inputs' lacks the model input(s) %s" % ", ".join(missing))
        for name in self.outputs:
            if name not in net.blob_names:
                raise OptionError("output '%s' is not a blob of the model (its outputs: %s)"
                                  % (name, ", ".join(net.output_names)))
        # the output sizes: run the model once on a zero input
        zeros = {name: np.zeros((c, h, w), np.float32) for name, (h, w, c) in self.inputs.items()}
        blobs = net.forward(zeros, outputs=list(self.outputs))
        for name, shape in list(self.outputs.items()):
            blob = blobs[name]
            if shape is None:  # not declared in opt: the shape the model produces
                self.outputs[name] = _blob_hwc(blob.shape)
                continue
            h, w, c = shape
            if blob.ndim == 3:
                ok = blob.shape == (c, h, w)
            else:
                ok = blob.size == h * w * c
            if not ok:
                raise OptionError("output '%s': opt says (h, w, c) = (%d, %d, %d) but the model "
                                  "produces a blob of shape %s (ncnn C,H,W order)"
                                  % (name, h, w, c, tuple(blob.shape)))

    # ------------------------------------------------------------ forward

    def prepare_input(self, name: str, image_hwc: np.ndarray, quantize: bool) -> np.ndarray:
        """The array the engine gets for input `name`, from the uint8 (h, w, c) image.

        Float models: (u8 - mean[c]) * norm[c] in float32, as (c, h, w).
        int8 models with quantize=True: the int8 buffer the NPU computes on
        (maixnn.npu: channel 0's mean/norm, q = clamp(roundf(f * input_scale))).
        awnn models with quantize=False: the image bytes are the int8 codes."""
        if self.net.is_awnn and not quantize:
            return np.ascontiguousarray(image_hwc.view(np.int8).transpose(2, 0, 1))
        npu = self._npu() if quantize else None
        if npu is not None:
            return npu.prepare(image_hwc, self.mean[name], self.norm[name], name)
        mean = self.mean[name]
        norm = self.norm[name]
        f = (image_hwc.astype(np.float32) - mean) * norm
        return np.ascontiguousarray(f.transpose(2, 0, 1))

    def forward(self, inputs, *, quantize: bool = True, layout: str = "hwc", debug: bool = False,
                output_fmt: str = "numpy"):
        """Run on one image (bytes / PIL image / uint8 HWC array); for a model
        with several inputs, a dict {input name: image} (a maixnn extension).
        Returns one float32 array per declared output (a list in the order of
        opt["outputs"] when there are several); output_fmt other than "numpy":
        the float32 bytes of each output in `layout` order instead.
        layout is the layout of what is RETURNED ("hwc": (h, w, c), "chw":
        (c, h, w)), as in MaixPy3; the input image is always HWC.
        debug=True prints "forward use time: N us" (and more detail on stderr)."""
        if isinstance(inputs, list):
            raise NotSupportedError("not support multiple input yet: pass one image (bytes, a PIL image or a "
                                    "uint8 HWC array), or a dict {input name: image}")
        if layout not in LAYOUTS:
            raise NotSupportedError("not support recurrent output layout yet: layout must be 'hwc' or 'chw', "
                                    "got %r" % (layout,))
        if isinstance(inputs, dict):
            images = dict(inputs)
            unknown = [n for n in images if n not in self.inputs]
            if unknown:
                raise OptionError("'%s' is not a declared input (inputs: %s)"
                                  % (unknown[0], ", ".join(self.inputs)))
            missing = [n for n in self.inputs if n not in images]
            if missing:
                raise InputShapeError("input shape error: no image for input(s) %s" % ", ".join(missing))
        else:
            if len(self.inputs) != 1:
                raise InputShapeError("input shape error: the model has %d inputs (%s); pass a dict "
                                      "{name: image}" % (len(self.inputs), ", ".join(self.inputs)))
            images = {next(iter(self.inputs)): inputs}
        prepared = {}
        for name, image in images.items():
            u8 = self._image_bytes(name, image, allow_int8=self.net.is_awnn and not quantize)
            prepared[name] = self.prepare_input(name, u8, bool(quantize))
        npu = self._npu() if (quantize or self.net.is_awnn) else None
        start = time.perf_counter()
        blobs = (npu.net if npu is not None else self.net).forward(prepared, outputs=list(self.outputs))
        elapsed = time.perf_counter() - start
        if npu is not None:
            blobs = {k: npu.dequantize(k, v) for k, v in blobs.items()}
        results = [self._shape_output(name, blobs[name], layout) for name in self.outputs]
        if debug:
            print("forward use time: %d us" % int(elapsed * 1e6))
            for name, x in prepared.items():
                print("[maixnn.nn] input %s: %s %s min %.6g max %.6g" % (
                    name, x.dtype, x.shape, float(x.min()), float(x.max())), file=sys.stderr)
            for name, y in zip(self.outputs, results):
                print("[maixnn.nn] output %s: %s %s" % (name, y.dtype, y.shape), file=sys.stderr)
            print("[maixnn.nn] forward %.2f ms (PC emulation, not board time)" % (elapsed * 1e3),
                  file=sys.stderr)
        if output_fmt != "numpy":
            results = [r.tobytes() for r in results]
        return results[0] if len(results) == 1 else results

    def _npu(self):
        """The NPU emulation of an int8 model (None for a float model)."""
        if self._npu_runtime is None:
            from .npu import NpuRuntime
            self._npu_runtime = NpuRuntime.for_net(self.net) or False
        return self._npu_runtime or None

    def _image_bytes(self, name: str, image, allow_int8: bool = False) -> np.ndarray:
        """The uint8 (h, w, c) image from bytes or anything with tobytes(), as
        MaixPy3 takes it; errors start with MaixPy3's messages."""
        h, w, c = self.inputs[name]
        need = h * w * c
        if isinstance(image, (bytes, bytearray, memoryview)):
            data = bytes(image)
        else:
            tobytes = getattr(image, "tobytes", None)
            data = tobytes() if callable(tobytes) else None
            if not isinstance(data, bytes):
                raise InputShapeError("tobytes error: need bytes or an object with tobytes() (a PIL image, a "
                                      "uint8 HWC array), got %s" % type(image).__name__)
        head = "input shape error, need: %d (%d, %d, %d), but: %d" % (need, h, w, c, len(data))
        if len(data) != need:
            raise InputShapeError(head)
        # the board would run on these bytes; maixnn refuses what is surely a mistake
        if isinstance(image, np.ndarray):
            if image.dtype != np.uint8 and not (allow_int8 and image.dtype == np.int8):
                raise InputShapeError("%s; a %s array: pass uint8 HWC data" % (head, image.dtype))
            if image.ndim > 1 and image.shape != (h, w, c):
                raise InputShapeError("%s; an array of shape %s, not (h, w, c) = (%d, %d, %d)"
                                      % (head, image.shape, h, w, c))
        size = getattr(image, "size", None)
        if hasattr(image, "mode") and isinstance(size, tuple) and len(size) == 2 and size != (w, h):  # PIL
            raise InputShapeError("%s; a %dx%d (w x h) %s image, need %dx%d" % (head, size[0], size[1],
                                                                              image.mode, w, h))
        return np.frombuffer(data, dtype=np.uint8).reshape(h, w, c)

    def _shape_output(self, name: str, blob: np.ndarray, layout: str) -> np.ndarray:
        """ncnn blob (C,H,W order; a 1-D blob is C=n) -> (h, w, c) or (c, h, w) float32."""
        h, w, c = self.outputs[name]
        chw = np.asarray(blob, dtype=np.float32).reshape(c, h, w)
        if layout == "chw":
            return np.ascontiguousarray(chw)
        return np.ascontiguousarray(chw.transpose(1, 2, 0))

    def __repr__(self) -> str:
        return "<maixnn.nn.Model inputs=%s outputs=%s>" % (dict(self.inputs), dict(self.outputs))

    def __str__(self) -> str:
        return "Model object"  # MaixPy3's str()


# ---------------------------------------------------------------- load

def load(model_path, *, opt: Optional[dict] = None) -> Model:
    """MaixPy3's nn.load: a dict {"param": ..., "bin": ...} with opt (keyword
    only; "model_type", "inputs", "outputs", "mean" and "norm" required, as on
    the board), or the path of a libmaix .mud file (its [inputs]/[outputs]
    replace opt).  Errors are MaixPy3's types and start with its messages."""
    if isinstance(model_path, (str, os.PathLike)):
        if opt is not None:
            raise OptionError("nn.load(<.mud path>) takes its options from the .mud file; opt must "
                              "not be given")
        return _load_mud(os.fspath(model_path))
    if isinstance(model_path, bytes):
        raise NotSupportedError("not support bytes type: pass the .mud path as str, or a dict "
                                "{'param': ..., 'bin': ...}")
    if not isinstance(model_path, dict):
        raise OptionError("arg model_path error, need str or dict: a dict {'param': ..., 'bin': ...} or the "
                          "path of a .mud file, got %s" % type(model_path).__name__)
    if not isinstance(opt, dict):
        raise OptionError("arg opt is needed: nn.load(model_path, opt={...}) with model_type, inputs, outputs, "
                          "mean and norm, got %s" % type(opt).__name__)
    if "model_type" not in opt:
        raise OptionError("arg opt need model_type key")
    unknown = [k for k in opt if k not in OPTION_KEYS]
    if unknown:
        raise OptionError("unknown option(s) %s; valid keys: %s" % (", ".join(map(repr, unknown)),
                                                                   ", ".join(OPTION_KEYS)))
    model_type = opt["model_type"]
    if model_type not in MODEL_TYPES:
        raise OptionError("now model_type only support awnn: maixnn emulates the V831 'awnn' backend, got %r"
                          % (model_type,))
    for key in ("inputs", "outputs"):
        if not isinstance(opt.get(key), dict):
            raise OptionError("arg opt need %s key, value is dict: {name: (h, w, c)}, got %r"
                              % (key, opt.get(key)))
    for key in ("mean", "norm"):
        value = opt.get(key)
        if not (isinstance(value, float) or (isinstance(value, list) and len(value) in (1, 3))):
            raise OptionError("arg opt need %s key, value is float or list: a float or a list of 1 or 3 "
                              "numbers, got %r" % (key, value))
    if opt.get("encrypt"):
        raise OptionError("opt 'encrypt': encrypted awnn models cannot be emulated")
    for key in ("param", "bin"):
        if not isinstance(model_path.get(key), (str, os.PathLike)):
            raise OptionError("arg model_path need %s key, value is str: the path of the .%s file" % (key, key))
    unknown = [k for k in model_path if k not in ("param", "bin")]
    if unknown:
        raise OptionError("model_path: unknown key(s) %s (expected 'param' and 'bin')" % unknown)
    try:
        net = Net(os.fspath(model_path["param"]), os.fspath(model_path["bin"]))
    except Error as exc:  # MaixPy3: Exception("libmaix_nn load fail: ..."); the typed error keeps its class
        raise type(exc)("libmaix_nn load fail: %s" % exc) from None
    inputs = _shape_table(opt["inputs"], "inputs")
    outputs = _shape_table(opt["outputs"], "outputs")
    mean = {name: _per_channel(opt["mean"], c, "mean") for name, (h, w, c) in inputs.items()}
    norm = {name: _per_channel(opt["norm"], c, "norm") for name, (h, w, c) in inputs.items()}
    no_pad = opt.get("first_layer_conv_no_pad", False)
    if not isinstance(no_pad, (bool, int, np.bool_)):
        raise OptionError("first_layer_conv_no_pad must be a bool, got %r" % (no_pad,))
    return Model(net, inputs, outputs, mean, norm, model_type, bool(no_pad))


def _shape_table(value, key: str) -> "collections.OrderedDict[str, Shape]":
    """opt['inputs'] / opt['outputs'] checked: {name: (h, w, c)}."""
    if not isinstance(value, dict) or not value:
        raise OptionError("opt '%s' must be a non-empty dict {name: (h, w, c)}, got %r" % (key, value))
    table: "collections.OrderedDict[str, Shape]" = collections.OrderedDict()
    for name, shape in value.items():
        if not isinstance(name, str):
            raise OptionError("opt '%s': names must be strings, got %r" % (key, name))
        table[name] = _shape_hwc(shape, "opt '%s'['%s']" % (key, name))
    return table


def _blob_hwc(shape: Tuple[int, ...]) -> Shape:
    """numpy shape of an engine blob -> MaixPy3's (h, w, c); a 1-D blob of n is (1, 1, n)."""
    if len(shape) == 3:
        return shape[1], shape[2], shape[0]
    return 1, 1, int(np.prod(shape))


def _load_mud(path: str) -> Model:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # blob names are case sensitive
    try:
        with open(path, "r") as f:
            parser.read_file(f)
    except OSError as exc:
        raise ModelFormatError("cannot read the .mud file %s: %s" % (path, exc))
    except UnicodeDecodeError as exc:
        raise ModelFormatError("%s is not a text .mud (INI) file: %s" % (path, exc))
    except configparser.Error as exc:
        raise ModelFormatError("%s is not a valid .mud (INI) file: %s" % (path, str(exc).splitlines()[0]))
    for section in ("basic", "inputs", "outputs"):
        if not parser.has_section(section):
            raise ModelFormatError("%s: missing section [%s]" % (path, section))
    basic = parser["basic"]
    model_type = basic.get("type", "awnn").strip()
    if model_type not in MODEL_TYPES:
        raise OptionError("%s: [basic] type=%s is not supported: maixnn emulates 'awnn'" % (path, model_type))
    folder = os.path.dirname(os.path.abspath(path))
    files = {}
    for key in ("param", "bin"):
        value = basic.get(key, "").strip()
        if not value:
            raise ModelFormatError("%s: [basic] needs %s=<file>" % (path, key))
        files[key] = value if os.path.isabs(value) else os.path.join(folder, value)
    net = Net(files["param"], files["bin"])
    inputs = collections.OrderedDict()
    mean, norm = {}, {}
    for name, text in parser["inputs"].items():
        values = _mud_numbers(path, "inputs", name, text)
        if len(values) < 3:
            raise ModelFormatError("%s: [inputs] %s = %s: expected h,w,c,mean...,norm..." % (path, name, text))
        shape = _shape_hwc(values[:3], "%s: [inputs] %s" % (path, name))
        rest = values[3:]
        c = shape[2]
        if not rest:
            m, n = [DEFAULT_MEAN], [DEFAULT_NORM]
        elif len(rest) % 2 == 0 and len(rest) // 2 in (1, c):
            m, n = rest[:len(rest) // 2], rest[len(rest) // 2:]
        else:
            raise ModelFormatError("%s: [inputs] %s = %s: after h,w,c expected 1 or %d means then as many "
                                   "norms, got %d values" % (path, name, text, c, len(rest)))
        inputs[name] = shape
        mean[name] = _per_channel(m, c, "%s: [inputs] %s mean" % (path, name))
        norm[name] = _per_channel(n, c, "%s: [inputs] %s norm" % (path, name))
    outputs = collections.OrderedDict()
    for name, text in parser["outputs"].items():
        values = _mud_numbers(path, "outputs", name, text)
        outputs[name] = _shape_hwc(values, "%s: [outputs] %s" % (path, name))
    if not inputs or not outputs:
        raise ModelFormatError("%s: [inputs] and [outputs] must each name at least one blob" % path)
    return Model(net, inputs, outputs, mean, norm, model_type)


def mud_dims(shape) -> Shape:
    """An engine blob's numpy shape -> the (h, w, c) a .mud records:
    (c, h, w) -> (h, w, c), (h, w) -> (h, w, 1), (n,) -> (1, 1, n)."""
    shape = tuple(int(v) for v in shape)
    if len(shape) == 3:
        c, h, w = shape
        return h, w, c
    if len(shape) == 2:
        h, w = shape
        return h, w, 1
    if len(shape) == 1:
        return 1, 1, shape[0]
    raise ValueError("blob shape %r" % (shape,))


def mud_text(param_file: str, bin_file: str, inputs, outputs) -> str:
    """The libmaix .mud (INI) text that nn.load reads.  inputs: {name: ((h, w, c),
    means, norms)} in awnn terms; outputs: {name: (h, w, c)}.  Numbers are
    written with 9 significant digits, which hold any float32 exactly."""
    lines = ["[basic]", "type = awnn", "param = %s" % param_file, "bin = %s" % bin_file, "", "[inputs]"]
    for name, (hwc, means, norms) in inputs.items():
        values = ["%d" % v for v in hwc] + ["%.9g" % float(v) for v in list(means) + list(norms)]
        lines.append("%s = %s" % (name, ",".join(values)))
    lines += ["", "[outputs]"]
    for name, hwc in outputs.items():
        lines.append("%s = %s" % (name, ",".join("%d" % v for v in hwc)))
    return "\n".join(lines) + "\n"


def _mud_numbers(path: str, section: str, name: str, text: str) -> List[float]:
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ModelFormatError("%s: [%s] %s = %s: not a comma-separated list of numbers"
                               % (path, section, name, text))


# ---------------------------------------------------------------- F

_NO_DIM = object()


class F:
    """maix.nn.F (also nn.functional): helper functions on outputs."""

    @staticmethod
    def softmax(input, *, dim=_NO_DIM) -> np.ndarray:
        """MaixPy3's softmax: over every element of a numpy float32 or float64
        array (C order), returned 1-D in the same dtype.  float32: expf, a
        sequential float32 sum and a float32 division, as the board computes;
        float64: the board's expf of each (float) difference, summed and
        divided in double (the board's float64 path reads twice the elements,
        past the buffer: an upstream bug not copied).  Anything but a numpy
        array: NotImplementedError; another dtype: ValueError; any dim: refused."""
        if dim is not _NO_DIM:
            raise NotSupportedError("not support dim arg yet: softmax runs over the whole array")
        if type(input) is not np.ndarray:
            raise NotSupportedError("only support numpy object: got %s" % type(input).__name__)
        if input.dtype.name not in ("float32", "float64"):
            raise InputShapeError("only support float32 and float64 dtype: got %s" % input.dtype)
        v = np.frombuffer(input.tobytes(), dtype=input.dtype)
        if v.size == 0:
            return v.copy()
        e = np.exp((v - v.max()).astype(np.float32))
        if input.dtype == np.float32:
            total = np.cumsum(e, dtype=np.float32)[-1]
            return (e / total).astype(np.float32)
        e64 = e.astype(np.float64)
        return e64 / np.cumsum(e64)[-1]


functional = F

__all__ = ["load", "Model", "F", "functional", "decoder", "mud_text"]
