"""``maixnn run``: one input through an ncnn model on maixnn's engine.

    maixnn run out/m.param photo.jpg --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 \\
        --labels labels.txt --top-k 5 --softmax
    maixnn run out/m_int8 photo.jpg          # preprocessing from out/m_int8.json
    maixnn run out/m input.npy --save y.npy

Image input: the model's preprocessing contract (``<model>.json``, written by
``maixnn quantize``) is used when there is one: the same resize policy,
channel order and normalisation as calibration and analysis, so an int8 model
sees exactly what it was calibrated on (giving --mean/--std/--norm/--bgr/
--resize as well is refused: the contract decides).  Without a contract the
options describe it, as in quantize: resize policy --resize (default: short
side = the larger input side, then centre crop; 'squash' = straight to the
input size), RGB (or BGR with --bgr), then per channel in float32 either
    PyTorch terms (--std):  x = (u8 / 255 - mean) / std   (mean on 0..1)
    awnn terms (--norm):    x = (u8 - mean) * norm         (mean on 0..255)
(none given: u8 / 255, with a warning), laid out as (C, H, W).  A .npy input
is used as it is (float32 C,H,W or 1,C,H,W; int8 for an already quantized input).

Each output is printed as its shape and range; the top-k entries are printed
for outputs that are 1-D class scores (one axis longer than 1; with --labels:
one label per line, line i = class i).

Image reading needs PIL (pip install pillow); everything else is board-safe.
"""
from __future__ import annotations

import os
import warnings
from typing import List, Optional, Tuple

import numpy as np

from .cli import number_list
from .errors import InputShapeError, ModelFormatError, OptionError
from .preprocess import RESIZE_HELP, Preprocess, PreprocessWarning, resize_option
from .runtime import Net
from .summary import model_paths


def _channel_values(text: Optional[str], what: str) -> Optional[List[float]]:
    values = number_list(text, what)
    if values is None:
        return None
    if len(values) not in (1, 3):
        raise OptionError("--%s: expected 1 or 3 values, got %d" % (what, len(values)))
    return values


def model_contract(param: str) -> Tuple[Optional[str], Optional[Preprocess]]:
    """(path, Preprocess) of the model's .json preprocessing contract, or (None, None)."""
    base = param[:-len(".param")] if param.endswith(".param") else param
    path = base + ".json"
    if not os.path.isfile(path):
        return None, None
    import json
    try:
        with open(path, "r", encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as exc:
        raise ModelFormatError("cannot read the preprocessing contract %s: %s" % (path, exc)) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("preprocess"), dict):
        raise ModelFormatError("%s has no \"preprocess\" record: not a maixnn model description" % path)
    return path, Preprocess.from_dict(doc["preprocess"])


def image_preprocess(args, param: str, size: Tuple[int, int, int]) -> Preprocess:
    """The Preprocess for an image input: the model's contract, else the options."""
    given = [o for o in ("mean", "std", "norm", "resize") if getattr(args, o) is not None]
    if args.bgr:
        given.append("bgr")
    path, contract = model_contract(param)
    if contract is not None:
        if given:
            raise OptionError("%s declares the preprocessing (%r); drop %s (or delete the .json to "
                              "describe it yourself)" % (path, contract, ", ".join("--" + o for o in given)))
        if tuple(contract.size) != tuple(size):
            raise InputShapeError("%s declares an input of (c, h, w) = %s, the model takes %s"
                                  % (path, tuple(contract.size), tuple(size)))
        print("preprocessing from %s: %r" % (path, contract))
        return contract
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreprocessWarning)  # printed below as the CLI's warnings
        pre = Preprocess.from_options(size, mean=_channel_values(args.mean, "mean"),
                                      std=_channel_values(args.std, "std"),
                                      norm=_channel_values(args.norm, "norm"),
                                      resize=args.resize, bgr=args.bgr)
    for note in pre.notes:
        print("warning: %s" % note)
    return pre


def read_labels(path: str) -> List[str]:
    try:
        with open(path, "r", encoding="utf-8") as f:
            return [line.rstrip("\r\n") for line in f]
    except OSError as exc:
        raise OptionError("cannot read labels %s: %s" % (path, exc))


def is_class_vector(y: np.ndarray) -> bool:
    """1-D class scores: at most one axis longer than 1 (1000, (1, 1, 1000), ...),
    not a feature map whose top-k would mean nothing."""
    return y.size > 1 and sum(1 for d in y.shape if d > 1) == 1


def top_k(values: np.ndarray, k: int) -> List[Tuple[int, float]]:
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    k = max(0, min(k, flat.size))
    order = np.argsort(-flat, kind="stable")[:k]
    return [(int(i), float(flat[i])) for i in order]


# ---------------------------------------------------------------- CLI

def configure_parser(p) -> None:
    p.add_argument("model", help="the .param file (or its path without extension)")
    p.add_argument("input", help="an image file (needs PIL) or a .npy array")
    p.add_argument("--bin", help="the .bin file (default: next to the .param)")
    p.add_argument("--input-shape", metavar="C,H,W",
                   help="resize images to this size when the Input layer does not declare it")
    p.add_argument("--mean", help="per-channel mean, 1 or 3 values (PyTorch terms on 0..1; with --norm "
                                  "awnn terms on 0..255)")
    p.add_argument("--std", help="per-channel std, PyTorch terms: x = (u8/255 - mean) / std")
    p.add_argument("--norm", help="per-channel norm, awnn terms: x = (u8 - mean) * norm")
    p.add_argument("--bgr", action="store_true", help="feed channels as B,G,R instead of R,G,B")
    p.add_argument("--resize", type=resize_option, help=RESIZE_HELP)
    p.add_argument("--labels", help="text file, one class label per line")
    p.add_argument("--top-k", type=int, default=5, help="how many classes to print (default 5)")
    p.add_argument("--softmax", action="store_true", help="apply softmax to the output before top-k")
    p.add_argument("--outputs", help="comma-separated blob names to fetch (default: the graph outputs)")
    p.add_argument("--threads", type=int, default=1,
                   help="threads of the engine (default 1; results are identical for any count)")
    p.add_argument("--kernels", help="the engine's kernel set: auto (default), ref, sse2, avx2, avx512vnni, "
                                     "neon (as this build and CPU have them)")
    p.add_argument("--profile", type=int, default=0, metavar="N",
                   help="then time N more forwards and print the median time per layer and per layer type")
    p.add_argument("--save", metavar="FILE.npy|FILE.npz",
                   help="save the output (.npy, first output) or all fetched blobs (.npz)")


def run_cli(args) -> int:
    param, bin_path = model_paths(args.model, args.bin)
    net = Net(param, bin_path, num_threads=args.threads, kernels=args.kernels)
    if len(net.input_names) != 1:
        raise OptionError("maixnn run feeds one input; %s has %d (%s)"
                          % (param, len(net.input_names), ", ".join(net.input_names)))
    input_name = net.input_names[0]
    if args.input.lower().endswith(".npy"):
        try:
            x = np.load(args.input, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ModelFormatError("cannot read %s: %s" % (args.input, exc))
        if args.mean or args.std or args.norm or args.bgr or args.resize:
            raise OptionError("--mean/--std/--norm/--bgr/--resize apply to images; a .npy is used as it is")
    else:
        if args.input_shape:
            from .summary import parse_shape
            shape = parse_shape(args.input_shape)
            if len(shape) != 3:
                raise OptionError("--input-shape must be C,H,W for an image input")
            c, h, w = shape
        else:
            c, h, w = net.input_shapes[input_name]
            if not (c and h and w):
                raise InputShapeError("the Input layer of %s does not declare its size; give "
                                      "--input-shape C,H,W" % param)
        if not os.path.exists(args.input):
            raise OptionError("input file %s does not exist" % args.input)
        x = image_preprocess(args, param, (c, h, w))(args.input)
    wanted = [n.strip() for n in args.outputs.split(",") if n.strip()] if args.outputs else list(net.output_names)
    if args.profile < 0:
        raise OptionError("--profile: the number of forwards must be >= 1, got %d" % args.profile)
    if net.is_awnn:
        # the NPU emulation: a float input is quantized with the Input's scale like the board's
        # input path, int8 blobs come back dequantized with the board's rule
        print("awnn model: %d of %d layers on the emulated NPU (int8), outputs dequantized as the board does"
              % (sum(net.layer_device(l.name) == "npu" for l in net.layers), len(net.layers)))

    def forward():
        return net.forward({input_name: x}, outputs=wanted, dequantize=True if net.is_awnn else None)

    results = forward()

    labels = read_labels(args.labels) if args.labels else None
    for name, y in results.items():
        print("%s: shape %s %s, min %.6g max %.6g" % (name, tuple(y.shape), y.dtype,
                                                       float(y.min()), float(y.max())))
        if args.top_k <= 0 or not is_class_vector(y):
            continue
        values = y.astype(np.float32).reshape(-1)
        if args.softmax:
            from .nn import F
            values = F.softmax(values)
        if labels is not None and len(labels) != values.size:
            print("warning: %s has %d labels, the output has %d values" % (args.labels, len(labels), values.size))
        print("top-%d%s:" % (min(args.top_k, values.size), " (softmax)" if args.softmax else ""))
        for rank, (index, value) in enumerate(top_k(values, args.top_k), 1):
            label = labels[index] if labels is not None and index < len(labels) else ""
            print("  %d. %5d  %.6f  %s" % (rank, index, value, label))
    if args.profile:
        from .profile import format_profile, profile_layers
        print(format_profile(profile_layers(net, forward, args.profile)))
    if args.save:
        if args.save.endswith(".npz"):
            np.savez(args.save, **results)
        else:
            np.save(args.save, next(iter(results.values())))
        print("saved %s" % args.save)
    return 0
