"""Stage 1: a PyTorch module -> an ONNX file maixnn's converter understands.

Uses torch's TorchScript-based exporter (``dynamo=False``: needs no
onnxscript), a fixed 1xCxHxW input named ``input0`` and outputs named
``output0``, ``output1``, ... (the names of Sipeed's walkthrough, kept by the
converter).  The module is exported in eval() mode without gradients, and the
file is written atomically.

PC tooling: imports torch and onnx.
"""
from __future__ import annotations

import argparse
import importlib.util
import io
import os
import sys
import warnings
from typing import Sequence, Tuple

from .errors import Error, ModelFormatError, OptionError
from .ncnn_model import atomic_write

DEFAULT_OPSET = 17
# Opsets the TorchScript exporter handles and the converter is tested with.
MIN_OPSET = 9
MAX_OPSET = 20


def chw_shape(value, what: str = "input_shape") -> Tuple[int, int, int]:
    """(C, H, W) from (C, H, W), (1, C, H, W) or the text "3,224,224" /
    "3x224x224" (export and convert: the batch is always 1)."""
    try:
        parts = [v for v in value.replace("x", ",").split(",") if v.strip()] if isinstance(value, str) else value
        shape = tuple(int(v) for v in parts)
    except (TypeError, ValueError):
        raise OptionError("%s must be C,H,W integers like 3,224,224, got %r" % (what, value)) from None
    if len(shape) == 4 and shape[0] == 1:
        shape = shape[1:]
    if len(shape) != 3 or any(v <= 0 for v in shape):
        raise OptionError("%s must be (C, H, W) with positive sizes (batch is always 1), got %r" % (what, value))
    return shape  # type: ignore[return-value]


def export(module, path: str, input_shape: Sequence[int] = (3, 224, 224),
           opset: int = DEFAULT_OPSET) -> str:
    """Export `module` (a torch.nn.Module) to ONNX at `path`; returns `path`.

    The graph has one input ``input0`` of fixed shape (1, C, H, W) and one
    output per tensor the module returns (``output0``, ``output1``, ...).
    The module is switched to eval() mode (and left in it)."""
    import torch

    shape = chw_shape(input_shape)
    if not isinstance(module, torch.nn.Module):
        raise OptionError("export needs a torch.nn.Module, got %s" % type(module).__name__)
    if not MIN_OPSET <= int(opset) <= MAX_OPSET:
        raise OptionError("opset must be in %d..%d, got %r" % (MIN_OPSET, MAX_OPSET, opset))

    module.eval()
    # the example input must live where the parameters are
    try:
        device = next(module.parameters()).device
    except StopIteration:
        device = torch.device("cpu")
    example = torch.zeros((1,) + shape, dtype=torch.float32, device=device)
    with torch.no_grad():
        try:
            probe = module(example)
        except Exception as e:
            raise OptionError("the module does not run on a 1x%dx%dx%d input: %s: %s"
                              % (shape + (type(e).__name__, e))) from e
        n_out = len(probe) if isinstance(probe, (tuple, list)) else 1
        output_names = ["output%d" % i for i in range(n_out)]

        buf = io.BytesIO()
        with warnings.catch_warnings():
            # the TorchScript exporter is deprecated in favour of dynamo; we choose it on purpose
            warnings.simplefilter("ignore")
            try:
                torch.onnx.export(module, (example,), buf, input_names=["input0"],
                                  output_names=output_names, opset_version=int(opset),
                                  do_constant_folding=True, dynamo=False)
            except Exception as e:
                raise Error("torch.onnx.export failed for %s at opset %d: %s: %s"
                            % (type(module).__name__, opset, type(e).__name__, e)) from e
    data = buf.getvalue()
    atomic_write(path, data)
    return path


# ----------------------------------------------------------------- CLI

def load_factory(spec: str):
    """'path/to/file.py:factory' or 'package.module:factory' -> the callable."""
    if ":" not in spec:
        raise OptionError("model must be given as FILE.py:FACTORY or MODULE:FACTORY, got %r" % spec)
    where, name = spec.rsplit(":", 1)
    if where.endswith(".py") or os.sep in where or os.path.exists(where):
        if not os.path.isfile(where):
            raise OptionError("%s: no such Python file" % where)
        mod_name = "_maixnn_user_" + os.path.splitext(os.path.basename(where))[0]
        sp = importlib.util.spec_from_file_location(mod_name, where)
        if sp is None or sp.loader is None:
            raise OptionError("%s: cannot be loaded as a Python module" % where)
        module = importlib.util.module_from_spec(sp)
        # the file may import its neighbours
        sys.path.insert(0, os.path.dirname(os.path.abspath(where)))
        try:
            sp.loader.exec_module(module)
        finally:
            sys.path.pop(0)
    else:
        # `python -m` puts the current folder first on the path; the `maixnn`
        # script does not, so a module next to the user would not be found
        cwd = os.getcwd()
        added = cwd not in sys.path and "" not in sys.path
        if added:
            sys.path.insert(0, cwd)
        try:
            module = importlib.import_module(where)
        except ImportError as e:
            missing = getattr(e, "name", None)
            hint = ("; it is not in the current folder (%s) nor on sys.path: run from its folder, add that "
                    "folder to PYTHONPATH, or give FILE.py:%s" % (cwd, name)) if missing == where.split(".")[0] else ""
            raise OptionError("cannot import %s: %s%s" % (where, e, hint)) from None
        except Exception as e:  # the module itself fails while importing
            raise OptionError("importing %s failed: %s: %s" % (where, type(e).__name__, e)) from None
        finally:
            if added:
                sys.path.remove(cwd)
    factory = getattr(module, name, None)
    if factory is None or not callable(factory):
        raise OptionError("%s has no callable %r" % (where, name))
    return factory


def build_module(factory, spec: str):
    """Call FACTORY() and say in one line why when it cannot give a module."""
    import inspect

    try:
        inspect.signature(factory).bind()
    except TypeError as e:
        raise OptionError("%s needs arguments (%s): export calls FACTORY() with none; wrap it, e.g. "
                          "def factory(): return %s(...)" % (spec, e, spec.rsplit(":", 1)[1])) from None
    except ValueError:  # builtins without a signature: just call them
        pass
    try:
        return factory()
    except Exception as e:
        raise OptionError("%s() failed: %s: %s" % (spec, type(e).__name__, e)) from None


# keys under which training scripts store the weights in a checkpoint dict
CHECKPOINT_KEYS = ("state_dict", "model_state_dict", "model", "net", "weights")


def load_weights(module, path: str, spec: str) -> str:
    """Load a state_dict, or a checkpoint dict holding one, into `module`;
    returns what was found.  A whole pickled model is explained, not unpickled
    (that would run arbitrary code from the file)."""
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        text = str(e)
        if "weights_only" in text or "Unsupported global" in text or "GLOBAL" in text:
            raise ModelFormatError(
                "%s holds a whole pickled model, not a state_dict: maixnn does not unpickle code from a "
                "file; save the weights with torch.save(model.state_dict(), path) instead, or return the "
                "loaded model from your factory" % path) from None
        raise ModelFormatError("%s: cannot load a state_dict: %s" % (path, e)) from None
    found = "state_dict"
    if isinstance(state, dict) and not any(torch.is_tensor(v) for v in state.values()):
        for key in CHECKPOINT_KEYS:
            if isinstance(state.get(key), dict):
                state, found = state[key], "checkpoint['%s']" % key
                break
        else:
            raise ModelFormatError("%s is a dict without tensors and without any of the keys %s: not a "
                                   "state_dict or a checkpoint maixnn recognises (keys: %s)"
                                   % (path, ", ".join(CHECKPOINT_KEYS), ", ".join(map(str, list(state)[:8]))))
    if isinstance(state, dict) and state and all(str(k).startswith("module.") for k in state):
        # saved from nn.DataParallel / DistributedDataParallel
        state = {str(k)[len("module."):]: v for k, v in state.items()}
        found += " (DataParallel 'module.' prefix removed)"
    try:
        module.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as e:  # missing/unexpected keys, wrong shapes, not a dict
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelFormatError("%s does not fit %s: %s" % (path, spec, first)) from None
    return found


def configure_parser(p: argparse.ArgumentParser) -> None:
    p.description = ("Export a PyTorch model to ONNX (input 'input0', outputs 'output0'..., "
                     "fixed 1xCxHxW shape). MODEL is FILE.py:FACTORY or MODULE:FACTORY; "
                     "FACTORY() must return a torch.nn.Module.")
    p.add_argument("model", help="FILE.py:FACTORY or package.module:FACTORY")
    p.add_argument("output", help="the .onnx file to write")
    p.add_argument("--input-shape", default="3,224,224", help="C,H,W (default 3,224,224)")
    p.add_argument("--opset", type=int, default=DEFAULT_OPSET,
                   help="ONNX opset (default %d)" % DEFAULT_OPSET)
    p.add_argument("--weights", default=None,
                   help="optional weights file (torch.save) loaded into the module: a state_dict or a "
                        "checkpoint dict holding one under 'state_dict', 'model', ...")


def run_cli(args: argparse.Namespace) -> int:
    shape = chw_shape(args.input_shape, "--input-shape")
    factory = load_factory(args.model)
    module = build_module(factory, args.model)
    if getattr(args, "weights", None):
        found = load_weights(module, args.weights, args.model)
        print("loaded %s from %s" % (found, args.weights))
    export(module, args.output, input_shape=shape, opset=args.opset)
    print("wrote %s (input0: 1x%dx%dx%d, opset %d)" % ((args.output,) + shape + (args.opset,)))
    return 0
