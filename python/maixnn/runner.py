"""``maixnn run``: one input through an ncnn model on maixnn's engine.

    maixnn run out/m.param photo.jpg --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 \\
        --labels labels.txt --top-k 5 --softmax
    maixnn run out/m input.npy --save y.npy

Image input: converted to RGB (or BGR with --bgr), resized to the Input
layer's W x H (PIL bilinear, aspect ratio not kept), then normalised per
channel, in float32, either
    PyTorch terms (default):  x = (u8 / 255 - mean) / std   (defaults: mean 0, std 1)
    awnn terms (--norm):      x = (u8 - mean) * norm         (mean on 0..255, default 0)
and laid out as (C, H, W).  A .npy input is used as it is (float32 C,H,W or
1,C,H,W; int8 for an already quantized input).

The output is printed as its shape and the top-k entries of the flattened
first output (with --labels: one label per line, line i = class i).

Image reading needs PIL (pip install pillow); everything else is board-safe.
"""
from __future__ import annotations

import os
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .cli import number_list
from .errors import InputShapeError, ModelFormatError, OptionError
from .preprocess import Preprocess
from .runtime import Net
from .summary import model_paths


def _channel_values(text: Optional[str], what: str) -> Optional[List[float]]:
    values = number_list(text, what)
    if values is None:
        return None
    if len(values) not in (1, 3):
        raise OptionError("--%s: expected 1 or 3 values, got %d" % (what, len(values)))
    return values


def image_preprocess(size: Tuple[int, int, int], mean: Optional[Sequence[float]] = None,
                     std: Optional[Sequence[float]] = None,
                     norm: Optional[Sequence[float]] = None) -> Preprocess:
    """The normalisation of the module doc as a Preprocess (only its normalize()
    is used: the image is already resized to the input size)."""
    if norm is not None:
        if std is not None:
            raise OptionError("give either --std (PyTorch terms) or --norm (awnn terms), not both")
        return Preprocess.from_awnn(size, mean=mean, norm=norm)
    return Preprocess(size, mean=mean, std=std)


def load_image(path: str, height: int, width: int, channels: int = 3, bgr: bool = False) -> np.ndarray:
    """Image file -> uint8 (H, W, C) resized to width x height."""
    try:
        from PIL import Image
    except ImportError:
        raise OptionError("reading images needs PIL: pip install pillow (or pass a .npy)")
    try:
        img = Image.open(path)
        img.load()
    except (OSError, ValueError) as exc:
        raise ModelFormatError("cannot read image %s: %s" % (path, exc))
    if channels == 1:
        img = img.convert("L")
    elif channels == 3:
        img = img.convert("RGB")
    else:
        raise InputShapeError("the model's input has %d channels; images give 1 or 3" % channels)
    if img.size != (width, height):
        img = img.resize((width, height), Image.BILINEAR)
    arr = np.asarray(img, dtype=np.uint8)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if bgr and channels == 3:
        arr = arr[:, :, ::-1]
    return np.ascontiguousarray(arr)


def read_labels(path: str) -> List[str]:
    try:
        with open(path, "r", encoding="utf-8") as f:
            return [line.rstrip("\r\n") for line in f]
    except OSError as exc:
        raise OptionError("cannot read labels %s: %s" % (path, exc))


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
    p.add_argument("--labels", help="text file, one class label per line")
    p.add_argument("--top-k", type=int, default=5, help="how many classes to print (default 5)")
    p.add_argument("--softmax", action="store_true", help="apply softmax to the output before top-k")
    p.add_argument("--outputs", help="comma-separated blob names to fetch (default: the graph outputs)")
    p.add_argument("--threads", type=int, default=1,
                   help="threads of the engine (default 1; results are identical for any count)")
    p.add_argument("--kernels", help="the engine's kernel set: auto (default), ref, sse2, avx2, avx512vnni, "
                                     "neon (as this build and CPU have them)")
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
        if args.mean or args.std or args.norm or args.bgr:
            raise OptionError("--mean/--std/--norm/--bgr apply to images; a .npy is used as it is")
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
        u8 = load_image(args.input, h, w, c, args.bgr)
        preprocess = image_preprocess((c, h, w), _channel_values(args.mean, "mean"),
                                      _channel_values(args.std, "std"), _channel_values(args.norm, "norm"))
        x = preprocess.normalize(u8)
    wanted = [n.strip() for n in args.outputs.split(",") if n.strip()] if args.outputs else list(net.output_names)
    results = net.forward({input_name: x}, outputs=wanted)

    labels = read_labels(args.labels) if args.labels else None
    for i, (name, y) in enumerate(results.items()):
        print("%s: shape %s %s, min %.6g max %.6g" % (name, tuple(y.shape), y.dtype,
                                                       float(y.min()), float(y.max())))
        if i > 0 or args.top_k <= 0:
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
    if args.save:
        if args.save.endswith(".npz"):
            np.savez(args.save, **results)
        else:
            np.save(args.save, next(iter(results.values())))
        print("saved %s" % args.save)
    return 0
