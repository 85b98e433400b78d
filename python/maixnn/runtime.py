"""maixnn's C engine from Python: load an ncnn .param/.bin and run it.

    net = maixnn.Net("out/m.param", "out/m.bin")
    y = net.forward(x)                          # x float32 (C,H,W) or (1,C,H,W)
    blobs = net.forward(x, outputs=["conv1", "output0"])   # dict name -> array
    y = net.forward({"input0": x})              # inputs by name (several inputs)

Binding: the C API is declared once, in CDEF below.  Where cffi is installed
the library is opened with cffi in ABI mode (``ffi.dlopen``); where it is not
(the MaixII-Dock's stock Python 3.8 has ctypes but no cffi) the same CDEF is
parsed into ctypes prototypes (maixnn.cbinding).  Both are plain Python, so
the same code runs on the board against a cross-built libmaixnn.so, and both
give the same results bit for bit and the same errors.  MAIXNN_BINDING=cffi
or =ctypes forces one (default "auto": cffi if it imports, else ctypes);
binding_name() says which is in use.  The library is looked up as

1. the file named by the environment variable MAIXNN_LIBRARY, if set;
2. libmaixnn.so next to this file (where ``pip install`` puts it).

Shapes follow ncnn's blob dims, without a batch axis:

    ncnn dims   numpy shape
    3 (w,h,c)   (c, h, w)
    2 (w,h)     (h, w)
    1 (w)       (w,)

so an InnerProduct output of 1000 classes comes back as shape (1000,) and a
convolution output as (C, H, W).  Inputs use the same mapping; a leading batch
axis of 1 on a 4-D input is dropped.

dtypes: float32 blobs come back as float32, int8 blobs (quantized models) as
int8.

awnn models (the V831 NPU's own int8 format, made by ``maixnn to-awnn`` or
Sipeed's converter/MaixHub) load like any other; the engine runs the layers
marked for the NPU (``-23328=1,1``) with the NPU's integer arithmetic and the
others in float (see README "awnn models on the PC").  Their NPU blobs hold
int8 codes, one scale per blob (value ~ code / scale, the scale from the
producing layer's ``-23329``):

    net.is_awnn                        # True
    net.layer_device("conv1")          # "npu" or "cpu"
    net.blob_scale("conv1_out")        # the blob's scale S
    y = net.forward(x)                 # graph outputs: float32, dequantized as the board does
    d = net.forward(x, outputs=["conv1_out", "prob"])   # named blobs as stored:
                                       # int8 codes (NPU blobs) or float32 (CPU blobs)
    d = net.forward(x, outputs=[...], dequantize=True)  # every int8 blob as float32
    f = net.dequantize("conv1_out", d["conv1_out"])     # codes -> float32 (board's rule)

The board's dequantization is f = (float)q * (float)(1 / ((double)S + 1e-5))
(computed by the engine).  The input: a float array is quantized by the
engine with the Input's scale, clamp(roundf(f * S), -127, 127), exactly as
the board's input path; an int8 array is taken as already quantized codes.  A float input is passed to the engine as float32 (other float dtypes
are converted); an int8 array is passed as int8 (MXN_I8), for inputs that are
already quantized.  Every returned array is a copy owned by numpy.

Threads: a Net is immutable after loading; each forward() runs in its own C
session, and both cffi and ctypes release the GIL during C calls, so one Net can serve
several threads at once.  close() (or leaving a ``with`` block) frees the C
model; if forwards are still running in other threads the model is freed when
the last of them returns.

Board-side safe: Python 3.8, numpy, and cffi or only the standard library (ctypes).
"""
from __future__ import annotations

import collections
import contextlib
import os
import threading
import weakref
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import cbinding
from .errors import (Error, InputShapeError, ModelFormatError, OptionError, RuntimeEngineError,
                     UnsupportedOperatorError, path_argument)

LIBRARY_ENV = "MAIXNN_LIBRARY"
LIBRARY_NAME = "libmaixnn.so"
BINDING_ENV = "MAIXNN_BINDING"

# The declarations of csrc/include/maixnn.h, as cffi reads them (no preprocessor);
# maixnn.cbinding derives the ctypes prototypes and the constants from the same text.
# tests/test_runtime.py checks that every function here matches the header.
CDEF = """
typedef enum {
    MXN_OK = 0,
    MXN_ERR_PARAM = 1,
    MXN_ERR_NO_MEM = 2,
    MXN_ERR_NOT_IMPLEMENT = 3,
    MXN_ERR_NOT_READY = 4,
    MXN_ERR_FORMAT = 9,
    MXN_ERR_IO = 10,
    MXN_ERR_SHAPE = 11
} mxn_status;

typedef enum { MXN_F32 = 0, MXN_I8 = 1 } mxn_dtype;

typedef struct mxn_net mxn_net;
typedef struct mxn_session mxn_session;

mxn_net *mxn_net_create(void);
void mxn_net_destroy(mxn_net *net);
const char *mxn_net_error(const mxn_net *net);

int mxn_net_load_param(mxn_net *net, const char *path);
int mxn_net_load_param_mem(mxn_net *net, const char *text, size_t len);
int mxn_net_load_bin(mxn_net *net, const char *path);
int mxn_net_load_bin_mem(mxn_net *net, const void *data, size_t len);

int mxn_net_layer_count(const mxn_net *net);
const char *mxn_net_layer_type(const mxn_net *net, int layer);
const char *mxn_net_layer_name(const mxn_net *net, int layer);
long mxn_net_layer_weight_count(const mxn_net *net, int layer);
size_t mxn_net_weight_memory(const mxn_net *net);
size_t mxn_net_layer_weight_memory(const mxn_net *net, int layer);
int mxn_net_layer_bottom_count(const mxn_net *net, int layer);
int mxn_net_layer_bottom(const mxn_net *net, int layer, int i);
int mxn_net_layer_top_count(const mxn_net *net, int layer);
int mxn_net_layer_top(const mxn_net *net, int layer, int i);

int mxn_net_blob_count(const mxn_net *net);
const char *mxn_net_blob_name(const mxn_net *net, int blob);
int mxn_net_find_blob(const mxn_net *net, const char *name);
int mxn_net_input_count(const mxn_net *net);
int mxn_net_input_blob(const mxn_net *net, int i);
int mxn_net_output_count(const mxn_net *net);
int mxn_net_output_blob(const mxn_net *net, int i);
int mxn_net_input_shape(const mxn_net *net, int i, int *w, int *h, int *c);
int mxn_net_blob_int8_scale(mxn_net *net, int blob, void *scale_f32);

int mxn_net_is_awnn(const mxn_net *net);
int mxn_net_layer_device(const mxn_net *net, int layer);
int mxn_net_blob_scale(const mxn_net *net, int blob, void *scale_f32);
int mxn_net_dequantize(const mxn_net *net, int blob, const void *codes_i8, size_t n, void *out_f32);

mxn_session *mxn_session_create(const mxn_net *net);
void mxn_session_destroy(mxn_session *s);
const char *mxn_session_error(const mxn_session *s);
int mxn_session_set_num_threads(mxn_session *s, int n);
int mxn_session_set_kernels(mxn_session *s, const char *name);
const char *mxn_session_kernels(const mxn_session *s);
int mxn_kernels_count(void);
const char *mxn_kernels_name(int i);

int mxn_session_set_input(mxn_session *s, int blob, mxn_dtype dtype,
                          const void *data, int dims, int w, int h, int c);
int mxn_session_run(mxn_session *s, const int *wanted, int n);
size_t mxn_session_peak_memory(const mxn_session *s);
double mxn_session_layer_seconds(const mxn_session *s, int layer);
size_t mxn_session_layer_scratch(const mxn_session *s, int layer);
const void *mxn_session_blob(mxn_session *s, int blob, int *dims, int *w, int *h,
                             int *c, int *dtype);
"""

# the constants, from the one declaration above
_DECLARATIONS = cbinding.parse(CDEF)
MXN_OK = _DECLARATIONS.constants["MXN_OK"]
MXN_ERR_PARAM = _DECLARATIONS.constants["MXN_ERR_PARAM"]
MXN_ERR_NO_MEM = _DECLARATIONS.constants["MXN_ERR_NO_MEM"]
MXN_ERR_NOT_IMPLEMENT = _DECLARATIONS.constants["MXN_ERR_NOT_IMPLEMENT"]
MXN_ERR_NOT_READY = _DECLARATIONS.constants["MXN_ERR_NOT_READY"]
MXN_ERR_FORMAT = _DECLARATIONS.constants["MXN_ERR_FORMAT"]
MXN_ERR_IO = _DECLARATIONS.constants["MXN_ERR_IO"]
MXN_ERR_SHAPE = _DECLARATIONS.constants["MXN_ERR_SHAPE"]
MXN_F32 = _DECLARATIONS.constants["MXN_F32"]
MXN_I8 = _DECLARATIONS.constants["MXN_I8"]

_STATUS_NAMES = {
    MXN_ERR_PARAM: "MXN_ERR_PARAM", MXN_ERR_NO_MEM: "MXN_ERR_NO_MEM",
    MXN_ERR_NOT_IMPLEMENT: "MXN_ERR_NOT_IMPLEMENT", MXN_ERR_NOT_READY: "MXN_ERR_NOT_READY",
    MXN_ERR_FORMAT: "MXN_ERR_FORMAT", MXN_ERR_IO: "MXN_ERR_IO", MXN_ERR_SHAPE: "MXN_ERR_SHAPE",
}

_NUMPY_DTYPES = {MXN_F32: np.dtype(np.float32), MXN_I8: np.dtype(np.int8)}

_binding = None  # a cbinding.CffiLibrary or CtypesLibrary, opened on first use
_lib_path = None
_load_lock = threading.Lock()


def library_path() -> str:
    """The path of the libmaixnn.so this module uses (MAIXNN_LIBRARY, else next to the package)."""
    env = os.environ.get(LIBRARY_ENV)
    if env:
        if not os.path.isfile(env):
            raise RuntimeEngineError(
                "%s=%s: no such file. Point it at a built libmaixnn.so "
                "(cmake -S . -B build && cmake --build build) or unset it to use the installed one"
                % (LIBRARY_ENV, env))
        return os.path.abspath(env)
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), LIBRARY_NAME)
    if os.path.isfile(here):
        return here
    raise RuntimeEngineError(
        "maixnn's C library was not found: %s is not set and %s does not exist. "
        "Install the package (pip install .) or build it from the checkout with "
        "`cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build` "
        "and set %s=build/%s" % (LIBRARY_ENV, here, LIBRARY_ENV, LIBRARY_NAME))

def binding_choice() -> str:
    """The binding asked for by MAIXNN_BINDING: "auto" (default: cffi when it
    is installed, else ctypes), "cffi" or "ctypes"."""
    choice = os.environ.get(BINDING_ENV, "").strip().lower() or "auto"
    if choice not in cbinding.BINDINGS:
        raise RuntimeEngineError("%s=%s: expected one of %s (or unset for auto)"
                                 % (BINDING_ENV, os.environ.get(BINDING_ENV), ", ".join(cbinding.BINDINGS)))
    return choice


def _library():
    """The opened library (a cbinding.CffiLibrary or CtypesLibrary), opening
    libmaixnn.so on first use with the binding MAIXNN_BINDING asks for."""
    global _binding, _lib_path
    if _binding is not None:
        return _binding
    with _load_lock:
        if _binding is None:
            choice = binding_choice()
            path = library_path()
            try:
                binding = cbinding.open_library(path, CDEF, choice)
            except ImportError as exc:
                raise RuntimeEngineError("%s=cffi but cffi cannot be imported (%s): install cffi or set "
                                         "%s=ctypes" % (BINDING_ENV, exc, BINDING_ENV)) from None
            except OSError as exc:
                raise RuntimeEngineError("cannot load maixnn's C library %s: %s" % (path, exc)) from None
            _lib_path = path
            _binding = binding
    return _binding


def binding_name() -> str:
    """"cffi" or "ctypes": the binding in use (opens the library if needed)."""
    return _library().name


def loaded_library_path() -> Optional[str]:
    """Path of the library actually opened (None before the first Net)."""
    return _lib_path


def available_kernels() -> List[str]:
    """The engine's kernel sets this build runs on this CPU, best first
    ("ref", the portable reference, is always last)."""
    c = _library()
    return [_string(c, c.lib.mxn_kernels_name(i)) for i in range(c.lib.mxn_kernels_count())]


def _string(c, ptr) -> str:
    return c.string(ptr).decode("utf-8", "replace")


def _status_error(status: int, message: str, context: str = "") -> Error:
    """The maixnn.errors exception for a C status code."""
    text = message or ("the C engine returned %s" % _STATUS_NAMES.get(status, "status %d" % status))
    if context:
        text = "%s: %s" % (context, text)
    if status in (MXN_ERR_FORMAT, MXN_ERR_IO):
        return ModelFormatError(text)
    if status == MXN_ERR_NOT_IMPLEMENT:
        return UnsupportedOperatorError(text)
    if status == MXN_ERR_SHAPE:
        return InputShapeError(text)
    return RuntimeEngineError(text)


def _bytes_argument(value, what: str) -> bytes:
    """bytes(value) for a bytes-like argument; an OptionError for anything else
    (bytes(5) would silently make five NUL bytes, bytes(None) a TypeError)."""
    try:
        return bytes(memoryview(value))
    except TypeError:
        raise OptionError("Net.from_memory: %s must be bytes-like%s, got %s"
                          % (what, " or str" if what == "param_text" else "", type(value).__name__)) from None


_DEVICE_NAMES = {1: "npu", 0: "cpu"}


def _address(binding, arr: np.ndarray):
    """A `void *` to a contiguous numpy array's data (cffi or ctypes binding)."""
    return binding.address(arr.__array_interface__["data"][0])

LayerInfo = collections.namedtuple("LayerInfo", "index type name bottoms tops weight_count")
LayerInfo.__doc__ = "One layer of a loaded model: bottoms/tops are blob names, weight_count values read from the .bin."


def _ncnn_shape(arr: np.ndarray, name: str) -> Tuple[int, int, int, int]:
    """(dims, w, h, c) of a numpy input, dropping a leading batch axis of 1."""
    shape = arr.shape
    if len(shape) == 4:
        if shape[0] != 1:
            raise InputShapeError("input '%s': batch size must be 1, got shape %s" % (name, tuple(shape)))
        shape = shape[1:]
    if len(shape) == 3:
        c, h, w = shape
        return 3, w, h, c
    if len(shape) == 2:
        h, w = shape
        return 2, w, h, 1
    if len(shape) == 1:
        return 1, shape[0], 1, 1
    raise InputShapeError("input '%s': expected a 1-D, 2-D, (C,H,W) or (1,C,H,W) array, got shape %s"
                          % (name, tuple(arr.shape)))


def _as_engine_array(x, name: str) -> Tuple[np.ndarray, int]:
    arr = np.asarray(x)
    if arr.dtype == np.int8:
        dtype = MXN_I8
    elif arr.dtype.kind == "f":
        dtype = MXN_F32
        arr = arr.astype(np.float32, copy=False)
    else:
        raise InputShapeError("input '%s': dtype %s is not supported; pass float32 (or int8 for an "
                              "already quantized input)" % (name, arr.dtype))
    if arr.size == 0:
        raise InputShapeError("input '%s' is empty (shape %s)" % (name, tuple(arr.shape)))
    return np.ascontiguousarray(arr), dtype


class Net:
    """A loaded ncnn model on maixnn's C engine.

    ``Net(param_path, bin_path)``; ``Net.from_memory(param_text, bin_bytes)``.
    Load errors raise ModelFormatError (malformed or unreadable files),
    UnsupportedOperatorError (layer type or parameter the engine lacks),
    InputShapeError or RuntimeEngineError, each with the engine's message.
    """

    def __init__(self, param: str, bin: Optional[str] = None, num_threads: int = 1,
                 kernels: Optional[str] = None):
        lib = _library().lib
        self._set_options(num_threads, kernels)
        param = path_argument(param, "Net: param")
        bin = path_argument(bin, "Net: bin") if bin is not None else None
        self.param_path = param
        self.bin_path = bin
        ptr = self._create()
        status = lib.mxn_net_load_param(ptr, os.fsencode(param))  # any file name the OS allows
        if status != MXN_OK:
            self._fail_load(status, param)
        if bin is not None:
            status = lib.mxn_net_load_bin(ptr, os.fsencode(bin))
            if status != MXN_OK:
                self._fail_load(status, bin, "weights of %s" % param)
        self._read_metadata()

    @classmethod
    def from_memory(cls, param_text: Union[str, bytes], bin_data: Optional[bytes] = None,
                    num_threads: int = 1, kernels: Optional[str] = None) -> "Net":
        """Load from the text of a .param and the bytes of a .bin held in memory."""
        lib = _library().lib
        self = cls.__new__(cls)
        self._set_options(num_threads, kernels)
        self.param_path = None
        self.bin_path = None
        text = param_text.encode() if isinstance(param_text, str) else _bytes_argument(param_text, "param_text")
        data = _bytes_argument(bin_data, "bin_data") if bin_data is not None else None
        ptr = self._create()
        status = lib.mxn_net_load_param_mem(ptr, text, len(text))
        if status != MXN_OK:
            self._fail_load(status, ".param text")
        if data is not None:
            status = lib.mxn_net_load_bin_mem(ptr, data, len(data))
            if status != MXN_OK:
                self._fail_load(status, ".bin data")
        self._read_metadata()
        return self

    # ------------------------------------------------------------ options

    def _set_options(self, num_threads, kernels) -> None:
        """num_threads: threads per forward (results are identical for any
        count); kernels: the engine's kernel set ("ref", "sse2", "avx2",
        "neon", "auto"; None = $MAIXNN_KERNELS or auto), see available_kernels()."""
        if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
            raise OptionError("num_threads must be an int >= 1, got %r" % (num_threads,))
        if kernels is not None and (not isinstance(kernels, str) or
                                    kernels not in ("auto",) + tuple(available_kernels())):
            raise OptionError("kernels=%r: this build and CPU run %s"
                              % (kernels, ", ".join(("auto",) + tuple(available_kernels()))))
        self.num_threads = num_threads
        self.kernels = kernels
        # bytes: the engine's heap high-water mark during the last forward()
        # (blobs held at once + the running layer's scratch; weights excluded)
        self.peak_memory = 0
        # seconds per layer of the last forward(), in layer order (0: the layer did not run)
        self.layer_times: List[float] = []
        # scratch bytes per layer of the last forward() (padded inputs, GEMM tiles, ...), in
        # layer order: with the blob sizes they give peak_memory (maixnn info recomputes it)
        self.layer_scratch: List[int] = []

    # ------------------------------------------------------------ lifetime

    def _create(self):
        c = _library()
        lib = c.lib
        ptr = lib.mxn_net_create()
        if c.is_null(ptr):
            raise RuntimeEngineError("out of memory creating a net")
        self._ptr = ptr
        self._state_lock = threading.Lock()
        self._running = 0
        self._closing = False
        # frees the C net when the Net is garbage collected, or at close()
        self._finalizer = weakref.finalize(self, lib.mxn_net_destroy, ptr)
        return ptr

    def _fail_load(self, status: int, source: str, context: str = ""):
        """Free the half-loaded net and raise the typed error, naming `source`
        (a path, or what was loaded from memory) once: the engine's messages
        for file loads already start with the path."""
        c = _library()
        message = _string(c, c.lib.mxn_net_error(self._ptr))
        self._finalizer()
        source = os.fsdecode(source)
        if not message.startswith(source):
            context = "%s: %s" % (context, source) if context else source
        raise _status_error(status, message, context)

    def close(self) -> None:
        """Free the C model now (it is also freed when the Net is garbage collected)."""
        with self._state_lock:
            self._closing = True
            if self._running:
                return  # the last running forward() frees it
        self._finalizer()

    @property
    def closed(self) -> bool:
        return self._closing or not self._finalizer.alive

    def __enter__(self) -> "Net":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        where = self.param_path or "<memory>"
        return "<maixnn.Net %s: %d layers, inputs %s, outputs %s>" % (
            where, len(self.layers), self.input_names, self.output_names)

    # ------------------------------------------------------------ metadata

    def _read_metadata(self) -> None:
        c = _library()
        lib = c.lib
        p = self._ptr
        nblobs = lib.mxn_net_blob_count(p)
        self.blob_names: List[str] = [_string(c, lib.mxn_net_blob_name(p, i)) for i in range(nblobs)]
        self._blob_index: Dict[str, int] = {n: i for i, n in enumerate(self.blob_names)}
        layers = []
        for i in range(lib.mxn_net_layer_count(p)):
            bottoms = [self.blob_names[lib.mxn_net_layer_bottom(p, i, k)]
                       for k in range(lib.mxn_net_layer_bottom_count(p, i))]
            tops = [self.blob_names[lib.mxn_net_layer_top(p, i, k)]
                    for k in range(lib.mxn_net_layer_top_count(p, i))]
            layers.append(LayerInfo(i, _string(c, lib.mxn_net_layer_type(p, i)),
                                    _string(c, lib.mxn_net_layer_name(p, i)),
                                    tuple(bottoms), tuple(tops), int(lib.mxn_net_layer_weight_count(p, i))))
        self.layers: List[LayerInfo] = layers
        self.input_names: List[str] = [self.blob_names[lib.mxn_net_input_blob(p, i)]
                                       for i in range(lib.mxn_net_input_count(p))]
        self.output_names: List[str] = [self.blob_names[lib.mxn_net_output_blob(p, i)]
                                        for i in range(lib.mxn_net_output_count(p))]
        shapes = {}
        w, h, ch = c.int_out(), c.int_out(), c.int_out()
        for i, name in enumerate(self.input_names):
            if lib.mxn_net_input_shape(p, i, w, h, ch) != MXN_OK:
                shapes[name] = (0, 0, 0)
            else:
                shapes[name] = (c.value(ch), c.value(h), c.value(w))
        # declared (C, H, W) of each input; 0 where the .param leaves an extent open
        self.input_shapes: Dict[str, Tuple[int, int, int]] = shapes
        # awnn models: device per layer, scale per blob
        self.is_awnn: bool = bool(lib.mxn_net_is_awnn(p))
        self._devices: Dict[str, str] = {}
        self._scales: Dict[str, float] = {}
        if self.is_awnn:
            for layer in layers:
                self._devices[layer.name] = _DEVICE_NAMES.get(int(lib.mxn_net_layer_device(p, layer.index)), "cpu")
            scale = np.zeros(1, np.float32)
            for i, name in enumerate(self.blob_names):
                if lib.mxn_net_blob_scale(p, i, _address(c, scale)) != MXN_OK:
                    raise RuntimeEngineError("the engine has no scale for blob '%s'" % name)
                self._scales[name] = float(scale[0])

    @property
    def weight_memory(self) -> int:
        """Bytes of heap the loaded model holds for its weights: what the engine
        really allocated (packed GEMM panels, the original arrays only where no
        packed copy replaces them, biases, int8 scales); 0 without weights."""
        with self._in_use("weight_memory"):
            return int(_library().lib.mxn_net_weight_memory(self._ptr))

    def layer_weight_memory(self) -> List[int]:
        """weight_memory per layer, in layer order."""
        with self._in_use("layer_weight_memory()"):
            lib = _library().lib
            return [int(lib.mxn_net_layer_weight_memory(self._ptr, i)) for i in range(len(self.layers))]

    def layer_device(self, layer: str) -> str:
        """awnn models: "npu" or "cpu", where the board runs the layer (by layer name)."""
        self._require_awnn("layer_device")
        if layer not in self._devices:
            raise OptionError("layer '%s' is not in the model" % (layer,))
        return self._devices[layer]

    def blob_scale(self, name: str) -> float:
        """awnn models: the blob's scale S (int8 code ~ value * S), from its producer's -23329.
        The `_cvt` tops of a Split hold the Split input's codes (the following Quantize layer
        rescales them), although -23329 lists the final scale."""
        self._require_awnn("blob_scale")
        if name not in self._scales:
            raise OptionError("blob '%s' is not in the model" % (name,))
        return self._scales[name]

    def dequantize(self, name: str, codes) -> np.ndarray:
        """awnn models: int8 codes of blob `name` -> float32 with the board's NPU->CPU rule
        (computed by the engine); a float array is returned unchanged."""
        arr = np.asarray(codes)
        if arr.dtype != np.int8:
            return arr
        self._require_awnn("dequantize")
        if name not in self._blob_index:
            raise OptionError("blob '%s' is not in the model" % (name,))
        with self._in_use("dequantize()"):
            return self._dequantize(name, arr)

    def _dequantize(self, name: str, arr: np.ndarray) -> np.ndarray:
        if arr.dtype != np.int8:
            return arr
        c = _library()
        src = np.ascontiguousarray(arr)
        out = np.empty(src.shape, np.float32)
        status = c.lib.mxn_net_dequantize(self._ptr, self._blob_index[name], _address(c, src), src.size,
                                          _address(c, out))
        if status != MXN_OK:
            raise RuntimeEngineError("the engine could not dequantize blob '%s'" % name)
        return out

    @contextlib.contextmanager
    def _in_use(self, what: str):
        """The C model stays alive inside: close() from another thread waits for the last user."""
        with self._state_lock:
            if self._closing or not self._finalizer.alive:
                raise RuntimeEngineError("%s on a closed Net" % what)
            self._running += 1
        try:
            yield
        finally:
            with self._state_lock:
                self._running -= 1
                free_now = self._closing and self._running == 0
            if free_now:
                self._finalizer()

    def _require_awnn(self, what: str) -> None:
        if not self.is_awnn:
            raise OptionError("Net.%s: %s is not an awnn model (only awnn models have per-blob scales and "
                              "NPU/CPU placement)" % (what, self.param_path or "<memory>"))

    # ------------------------------------------------------------ running

    def forward(self, x, outputs: Union[None, str, Sequence[str]] = None, dequantize: Optional[bool] = None):
        """Run the model.

        x: one array (a net with one input) or a dict {input name: array}.
        outputs: None -> the graph output as an array (a dict of all graph
        outputs when there are several); a list of blob names (any blob,
        intermediate ones too) -> dict name -> array; one name -> dict too.
        dequantize (awnn models): None -> graph outputs asked with
        outputs=None come back as float32 (dequantized as the board does),
        named blobs as stored (int8 codes for NPU blobs); True -> every int8
        blob as float32; False -> int8 codes always.
        """
        if dequantize is not None and not isinstance(dequantize, (bool, np.bool_)):
            raise OptionError("forward: dequantize must be None, True or False, got %r" % (dequantize,))
        if dequantize and not self.is_awnn:
            raise OptionError("forward(dequantize=True): %s is not an awnn model; its int8 blobs have no "
                              "per-blob scale" % (self.param_path or "<memory>"))
        inputs = self._named_inputs(x)
        if outputs is None:
            wanted_names = list(self.output_names)
        elif isinstance(outputs, str):
            wanted_names = [outputs]
        else:
            wanted_names = list(outputs)
        wanted = []
        for name in wanted_names:
            if name not in self._blob_index:
                raise OptionError("blob '%s' is not in the model (%s); it has %d blobs, e.g. %s"
                                  % (name, self.param_path or "<memory>", len(self.blob_names),
                                     ", ".join(self.blob_names[:8])))
            wanted.append(self._blob_index[name])

        with self._in_use("forward()"):
            results = self._run(inputs, wanted, wanted_names)
            if self.is_awnn and (dequantize or (dequantize is None and outputs is None)):
                results = {name: self._dequantize(name, arr) for name, arr in results.items()}
        if outputs is None and len(self.output_names) == 1:
            return results[self.output_names[0]]
        return results

    def _named_inputs(self, x) -> Dict[str, Tuple[np.ndarray, int]]:
        if isinstance(x, dict):
            given = dict(x)
        else:
            if len(self.input_names) != 1:
                raise InputShapeError("the model has %d inputs (%s): pass a dict {name: array}"
                                      % (len(self.input_names), ", ".join(self.input_names)))
            given = {self.input_names[0]: x}
        for name in given:
            if name not in self.input_names:
                raise OptionError("'%s' is not an input of the model; its inputs are: %s"
                                  % (name, ", ".join(self.input_names)))
        missing = [n for n in self.input_names if n not in given]
        if missing:
            raise InputShapeError("no value given for input(s) %s" % ", ".join(missing))
        return {name: _as_engine_array(value, name) for name, value in given.items()}

    def _run(self, inputs, wanted: List[int], wanted_names: List[str]) -> Dict[str, np.ndarray]:
        cb = _library()
        lib = cb.lib
        session = lib.mxn_session_create(self._ptr)
        if cb.is_null(session):
            raise RuntimeEngineError("out of memory creating a session")
        try:
            status = lib.mxn_session_set_num_threads(session, self.num_threads)
            if status == MXN_OK and self.kernels is not None:
                status = lib.mxn_session_set_kernels(session, self.kernels.encode())
            if status != MXN_OK:
                raise _status_error(status, _string(cb, lib.mxn_session_error(session)))
            for name, (arr, dtype) in inputs.items():
                dims, w, h, c = _ncnn_shape(arr, name)
                data = cb.address(arr.__array_interface__["data"][0])
                status = lib.mxn_session_set_input(session, self._blob_index[name], dtype, data,
                                                   dims, w, h, c)
                if status != MXN_OK:
                    # the engine's set_input messages already name the input
                    raise _status_error(status, _string(cb, lib.mxn_session_error(session)))
            wanted_c = cb.int_array(wanted)
            status = lib.mxn_session_run(session, wanted_c, len(wanted))
            if status != MXN_OK:
                raise _status_error(status, _string(cb, lib.mxn_session_error(session)))
            # the engine's heap high-water mark of this forward (weights excluded)
            self.peak_memory = int(lib.mxn_session_peak_memory(session))
            self.layer_times = [float(lib.mxn_session_layer_seconds(session, i)) for i in range(len(self.layers))]
            self.layer_scratch = [int(lib.mxn_session_layer_scratch(session, i)) for i in range(len(self.layers))]
            dims, w, h, c, dt = (cb.int_out() for _ in range(5))
            results = {}
            for name, index in zip(wanted_names, wanted):
                ptr = lib.mxn_session_blob(session, index, dims, w, h, c, dt)
                if cb.is_null(ptr):
                    raise RuntimeEngineError("blob '%s': %s" % (name, _string(cb, lib.mxn_session_error(session))))
                results[name] = self._copy_blob(cb, ptr, name, cb.value(dims), cb.value(w), cb.value(h),
                                                cb.value(c), cb.value(dt))
            return results
        finally:
            lib.mxn_session_destroy(session)

    @staticmethod
    def _copy_blob(cb, ptr, name, dims, w, h, c, dtype) -> np.ndarray:
        if dtype not in _NUMPY_DTYPES:
            raise RuntimeEngineError("blob '%s' has unknown dtype %d" % (name, dtype))
        if dims == 3:
            shape = (c, h, w)
        elif dims == 2:
            shape = (h, w)
        elif dims == 1:
            shape = (w,)
        else:
            raise RuntimeEngineError("blob '%s' has %d dims" % (name, dims))
        np_dtype = _NUMPY_DTYPES[dtype]
        count = int(np.prod(shape))
        data = cb.read(ptr, count * np_dtype.itemsize)  # a copy
        return np.frombuffer(data, dtype=np_dtype).reshape(shape).copy()
