"""maixnn: PyTorch image models to the Allwinner V831 NPU, proved on the PC.

Stages, one module each: exporter (torch -> ONNX), converter (ONNX -> ncnn),
quantizer (int8), analyzer (float vs int8 per layer), runtime (the C engine via
cffi or ctypes), nn (MaixPy3's maix.nn API), cli.  The modules are named for the stage
and not for the function (maixnn.export is a function, maixnn.exporter its
module) so that importing a submodule never shadows the function.

Importing maixnn is cheap and board-safe: the heavy tooling modules (torch,
onnx) are imported only when their function is first used.
"""
from .errors import (Error, InputShapeError, ModelFormatError, NotSupportedError, OptionError,  # noqa: F401
                     RuntimeEngineError, UnsupportedOperatorError)

__version__ = "0.1.0"

# name -> (module, attribute), resolved on first access (PEP 562)
_LAZY = {
    "export": ("exporter", "export"),
    "convert": ("converter", "convert"),
    "quantize": ("quantizer", "quantize"),
    "analyze": ("analyzer", "analyze"),
    "to_awnn": ("awnn.writer", "to_awnn"),
    "Net": ("runtime", "Net"),
    "nn": ("nn", None),
    "pack": ("packer", "pack"),
}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        module_name, attr = _LAZY[name]
        module = importlib.import_module("." + module_name, __name__)
        value = module if attr is None else getattr(module, attr)
        globals()[name] = value
        return value
    raise AttributeError("module 'maixnn' has no attribute %r" % (name,))


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
