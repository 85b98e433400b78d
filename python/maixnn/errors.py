"""maixnn's exceptions.  Every error maixnn raises on purpose derives from
maixnn.Error, says which file, layer, node or option is at fault, and what to do.

Board-side safe: Python 3.8, no dependencies.
"""
import os


class Error(Exception):
    """Base class of every maixnn error."""


class ModelFormatError(Error, ValueError):
    """A .param/.bin/.onnx/.table/.mud file is malformed or does not match its partner."""


class UnsupportedOperatorError(Error, NotImplementedError):
    """The model uses an operator or attribute maixnn cannot express."""


class InputShapeError(Error, ValueError):
    """An input does not have the size/shape the model declares."""


class OptionError(Error, ValueError):
    """A bad option was given (unknown key, wrong length, name not in the model)."""


class NotSupportedError(Error, NotImplementedError):
    """A call MaixPy3's maix.nn does not support either (a bytes model path, a
    list of inputs, an unknown output layout, softmax's dim): the board raises
    NotImplementedError with the same message prefix."""


class RuntimeEngineError(Error, RuntimeError):
    """The C engine reported an error while running a model."""


class InternalError(Error, RuntimeError):
    """A bug in maixnn itself (one of its own passes failed on a valid model):
    the message names the pass and the node or layer, to report."""


def path_argument(value, what: str):
    """os.fspath(value) for a function's path argument, with an OptionError
    naming the argument instead of a TypeError when it is not a path."""
    try:
        return os.fspath(value)
    except TypeError:
        raise OptionError("%s must be a file path (str, bytes or os.PathLike), got %s"
                          % (what, type(value).__name__)) from None
