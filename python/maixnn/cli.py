"""The ``maixnn`` command: one subcommand per stage.

Each stage module provides ``configure_parser(parser)`` (add its arguments)
and ``run_cli(args)`` (do the work, return an exit code or None).  Adding a
stage is one line in COMMANDS.  A stage whose module cannot be imported (for
example ``convert`` on the board, where onnx is not installed) still shows up
in --help and says what is missing when called.

Errors maixnn raises on purpose (maixnn.errors.Error) are printed as one line,
``maixnn <command>: error: <message>``, with exit code 2; anything else is a
bug and keeps its traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import List, Optional

from .errors import Error, OptionError

# (subcommand, module, help)
COMMANDS = (
    ("export", "maixnn.exporter", "PyTorch module (file.py:factory) -> ONNX"),
    ("convert", "maixnn.converter", "ONNX -> ncnn .param/.bin + float .mud (maixnn's own converter)"),
    ("quantize", "maixnn.quantizer", "float ncnn model -> ncnn int8, or V831 awnn int8 with --target awnn (.table, .param/.bin, .mud, .json)"),
    ("to-awnn", "maixnn.awnn.writer", "float ncnn + converter-format table -> V831 awnn int8 .param/.bin/.mud"),
    ("analyze", "maixnn.analyzer", "float vs int8 per layer (entire/single), top-1, accuracy: table, JSON, HTML"),
    ("run", "maixnn.runner", "run an image or .npy through an ncnn or awnn model on maixnn's engine (top-k)"),
    ("info", "maixnn.summary", "layers, output shapes, parameters and memory of an ncnn model; NPU/CPU placement of an awnn model"),
    ("pack", "maixnn.packer", "the board's dist/ for a model: nn_resnet cross-built, lib/, model/, python/, start_app.sh"),
    ("demo", "maixnn.demo", "the whole float pipeline on a built-in ResNet-style network"),
    ("bench", "maixnn.bench", "speed and peak memory: maixnn vs the ncnn wheel vs onnxruntime"),
)

EXIT_ERROR = 2


def number_list(text: Optional[str], option: str) -> Optional[List[float]]:
    """The value of a comma-separated number option such as --mean 0.485,0.456,0.406
    (None when the option was not given), shared by every subcommand."""
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise OptionError("--%s: expected numbers separated by commas, got %r" % (option, text)) from None
    if not values:
        raise OptionError("--%s: no numbers given" % option)
    return values


def _unavailable(command: str, module: str, exc: BaseException):
    def run_cli(args):
        raise Error("'%s' is unavailable here: importing %s failed (%s: %s); install the PC tools with "
                    "`pip install torch==2.13.0 \"maixnn[tools]\"`" % (command, module, type(exc).__name__, exc))
    return run_cli


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    parser = argparse.ArgumentParser(
        prog="maixnn",
        description="PyTorch image models to the Allwinner V831 NPU (MaixII-Dock), proved on the PC.")
    parser.add_argument("--version", action="version", version="maixnn " + __version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, module_name, help_text in COMMANDS:
        try:
            module = importlib.import_module(module_name)
            configure, run = module.configure_parser, module.run_cli
        except (ImportError, AttributeError) as exc:
            p = sub.add_parser(name, help=help_text + " [unavailable: %s]" % exc, add_help=False)
            p.add_argument("rest", nargs=argparse.REMAINDER)
            p.set_defaults(_run=_unavailable(name, module_name, exc))
            continue
        p = sub.add_parser(name, help=help_text, description=help_text)
        configure(p)
        p.set_defaults(_run=run)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args._run(args)
    except Error as exc:
        message = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        print("maixnn %s: error: %s" % (args.command, message or type(exc).__name__), file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("maixnn %s: interrupted" % args.command, file=sys.stderr)
        return 130
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
