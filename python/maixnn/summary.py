"""``maixnn info``: the torchsummary-style table of an ncnn model.

For each layer: index, type, name, output shape (ncnn C,H,W order), number of
weight values it loaded from the .bin, and the memory of its outputs.  Totals:
weight values, weight bytes (the .bin size), activation memory.

Shapes come from running the model once on a zero input with maixnn's own
engine (every blob requested), so they are the shapes the engine really
produces.

Memory:
* weights: the bytes the engine holds for the loaded weights (Net.weight_memory:
  packed GEMM panels, original arrays only where nothing packed replaces them,
  biases, int8 scales), beside the .bin file's size;
* activations, total: every blob of the graph held at once (what a debugging
  run that keeps every intermediate blob needs);
* activations, peak: the blobs alive at once during a forward, by the engine's
  own rules (engine_blob_peak): the given input kept for the whole run; Split,
  Flatten, Reshape and Noop tops are views of their input (no memory) except
  views of the given input, which the engine copies; every other blob is freed
  after its last consumer ran; the graph outputs kept to the end;
* peak engine heap: the same plus the running layer's scratch (padded or
  quantized input copies, GEMM tiles, weights unpacked for the reference
  kernels), as the engine reports it per layer (Net.layer_scratch).  This
  estimate equals the engine's own measurement (Net.peak_memory), shown beside
  it.  Not a model of the board's NPU allocator (which is closed).

Board-side safe: numpy (+ cffi, or ctypes when cffi is absent), Python 3.8.
"""
from __future__ import annotations

import os
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from .errors import InputShapeError, OptionError
from .runtime import Net


class LayerRow(NamedTuple):
    index: int
    type: str
    name: str
    tops: Tuple[str, ...]
    shapes: Tuple[Tuple[int, ...], ...]     # numpy shape of each top
    weight_count: int
    output_bytes: int                       # new memory of its tops (0 for Split)
    weight_memory: int = 0                  # heap bytes the engine holds for its weights


class Summary(NamedTuple):
    param_path: str
    bin_path: Optional[str]
    input_shapes: Dict[str, Tuple[int, ...]]
    rows: List[LayerRow]
    total_weights: int
    weight_bytes: int
    activation_total_bytes: int
    activation_peak_bytes: int              # blobs alive at once by the engine's rules (engine_blob_peak)
    engine_peak_bytes: int = 0              # measured by the engine on one forward (Net.peak_memory)
    estimated_peak_bytes: int = 0           # activation peak + the engine's per-layer scratch
    weight_memory: int = 0                  # Net.weight_memory: heap bytes of the loaded weights


# layers whose tops share their bottom's memory (top k shows bottom k, or the only bottom)
ALIAS_LAYERS = ("Split", "Flatten", "Reshape", "Noop")


def summarize(param_path: str, bin_path: Optional[str] = None,
              input_shapes: Optional[Dict[str, Sequence[int]]] = None, net: Optional[Net] = None) -> Summary:
    """Load (or use `net`) and run a zero input; input_shapes {name: (C,H,W)}
    overrides/fills Input layers that do not declare their size."""
    if net is None:
        net = Net(param_path, bin_path)
    shapes: Dict[str, Tuple[int, ...]] = {}
    for name in net.input_names:
        given = (input_shapes or {}).get(name)
        if given is not None:
            shapes[name] = tuple(int(v) for v in given)
        else:
            declared = net.input_shapes.get(name, (0, 0, 0))
            if not all(declared):
                raise InputShapeError("input '%s' does not declare its size in %s; give it with "
                                      "--input-shape C,H,W" % (name, param_path))
            shapes[name] = tuple(declared)
    for name in (input_shapes or {}):
        if name not in net.input_names:
            raise OptionError("'%s' is not an input of %s (inputs: %s)"
                              % (name, param_path, ", ".join(net.input_names)))
    zeros = {name: np.zeros(shape, np.float32) for name, shape in shapes.items()}
    blobs = net.forward(zeros, outputs=list(net.blob_names))
    blob_bytes = {name: int(arr.nbytes) for name, arr in blobs.items()}

    total = _total_bytes(net, blob_bytes)
    weight_bytes = os.path.getsize(bin_path) if bin_path and os.path.exists(bin_path) else 0
    net.forward(zeros)  # only the graph outputs kept: what a real run holds
    given = {name: int(arr.nbytes) for name, arr in zeros.items()}
    peak = engine_blob_peak(net, blob_bytes, given)
    estimate = engine_blob_peak(net, blob_bytes, given, scratch=net.layer_scratch)
    layer_weights = net.layer_weight_memory()
    rows = []
    for layer in net.layers:
        new_bytes = 0 if layer.type in ALIAS_LAYERS else sum(blob_bytes[t] for t in layer.tops)
        rows.append(LayerRow(layer.index, layer.type, layer.name, tuple(layer.tops),
                             tuple(tuple(blobs[t].shape) for t in layer.tops), layer.weight_count,
                             new_bytes, layer_weights[layer.index]))
    return Summary(param_path, bin_path, shapes, rows, sum(r.weight_count for r in rows), weight_bytes,
                   total, peak, net.peak_memory, estimate, net.weight_memory)


def _total_bytes(net: Net, blob_bytes: Dict[str, int]) -> int:
    """Every blob held at once, the tops of Split/Flatten/Reshape/Noop sharing their bottom's storage."""
    root = {name: name for name in net.blob_names}
    for layer in net.layers:
        if layer.type in ALIAS_LAYERS and layer.bottoms:
            for k, top in enumerate(layer.tops):
                root[top] = root[layer.bottoms[min(k, len(layer.bottoms) - 1)]]
    return sum(blob_bytes[r] for r in set(root.values()))


def engine_blob_peak(net: Net, blob_bytes: Dict[str, int], given: Dict[str, int],
                     wanted: Optional[Sequence[str]] = None, scratch: Optional[Sequence[int]] = None) -> int:
    """The most bytes the engine holds at once during a forward, by its rules
    (csrc/session.c), from the blobs' sizes: `given` {blob: bytes} set by the
    caller and kept for the whole run; `wanted` blobs (default: the graph
    outputs) kept to the end; only the layers they need run; Split, Flatten,
    Reshape and Noop tops are views of the blob whose data their bottom shows
    (a view of a given blob is a copy); a computed blob is freed after its
    last consumer ran, its data when its last view is gone too.  At each
    layer: the blobs held + its new tops + scratch[layer] (the engine's
    Net.layer_scratch; None = blobs only)."""
    wanted_set = set(net.output_names if wanted is None else wanted)
    layers = net.layers
    needed = set(wanted_set)
    pending: Dict[str, int] = {}
    runs = [False] * len(layers)
    for layer in reversed(layers):
        if any(t in needed and t not in given for t in layer.tops):
            runs[layer.index] = True
            for b in layer.bottoms:
                needed.add(b)
                pending[b] = pending.get(b, 0) + 1
    held = sum(given.values())
    peak = held
    view_of: Dict[str, str] = {}       # a view blob -> the computed blob whose data it shows
    viewers: Dict[str, int] = {}       # a computed blob -> its live views
    released: set = set()              # released blobs whose data views still keep
    computed: set = set()
    for layer in layers:
        if not runs[layer.index]:
            continue
        new = []                       # (top, the blob it is a view of or None, its new bytes)
        for k, t in enumerate(layer.tops):
            root = None
            if layer.type in ALIAS_LAYERS and layer.bottoms:
                b = layer.bottoms[min(k, len(layer.bottoms) - 1)]
                root = view_of.get(b, b)
                if t not in given and root not in computed and root not in released:
                    root = None        # a view of a given blob: the engine copies it
            new.append((t, root, blob_bytes[t] if root is None else 0))
        top_bytes = sum(n for _, _, n in new)
        extra = scratch[layer.index] if scratch is not None else 0
        peak = max(peak, held + top_bytes + extra)
        for t, root, _ in new:
            if t in given:
                continue
            if root is None:
                held += blob_bytes[t]
            else:
                view_of[t] = root
                viewers[root] = viewers.get(root, 0) + 1
            computed.add(t)
        for b in layer.bottoms:
            pending[b] -= 1
            if b in computed and b not in wanted_set and pending[b] <= 0:
                computed.discard(b)
                if b in view_of:
                    root = view_of.pop(b)
                    viewers[root] -= 1
                    if viewers[root] == 0 and root in released:
                        released.discard(root)
                        held -= blob_bytes[root]
                elif viewers.get(b, 0) > 0:
                    released.add(b)
                else:
                    held -= blob_bytes[b]
    return peak


def _fmt_int(n: int) -> str:
    return "{:,}".format(n)


def _fmt_bytes(n: int) -> str:
    """Human size: 768 B, 1.0 KiB, 3.06 MiB."""
    if n < 1024:
        return "%d B" % n
    if n < 1024 * 1024:
        return "%.1f KiB" % (n / 1024.0)
    return "%.2f MiB" % (n / (1024.0 * 1024.0))


def _fmt_shape(shapes: Tuple[Tuple[int, ...], ...]) -> str:
    return " ".join("[" + ", ".join(str(v) for v in s) + "]" for s in shapes)


def format_summary(s: Summary) -> str:
    """The table as text (torchsummary's look, ncnn's facts)."""
    rows = [("#", "Layer (type)", "Name", "Output Shape (C,H,W)", "Param #", "Output memory", "Weight memory")]
    for r in s.rows:
        rows.append((str(r.index), r.type, r.name, _fmt_shape(r.shapes), _fmt_int(r.weight_count),
                     _fmt_bytes(r.output_bytes) if r.type not in ALIAS_LAYERS else "(shared)",
                     _fmt_bytes(r.weight_memory) if r.weight_memory else ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    right = (True, False, False, False, True, True, True)

    def line(row):
        return "  ".join(cell.rjust(w) if r else cell.ljust(w) for cell, w, r in zip(row, widths, right)).rstrip()

    width = len(line(rows[0]))
    out = ["-" * width, line(rows[0]), "=" * width]
    out += [line(row) for row in rows[1:]]
    input_bytes = sum(4 * int(np.prod(shape)) for shape in s.input_shapes.values())
    out += ["=" * width,
            "Model: %s%s" % (s.param_path, (" + " + s.bin_path) if s.bin_path else ""),
            "Layers: %d" % len(s.rows),
            "Total params: %s" % _fmt_int(s.total_weights),
            "Weights size: %s (.bin file, %s bytes)" % (_fmt_bytes(s.weight_bytes), _fmt_int(s.weight_bytes)),
            "Weights in memory (engine, packed for its kernels): %s (%s bytes)"
            % (_fmt_bytes(s.weight_memory), _fmt_int(s.weight_memory)),
            "Input size: %s (%s)" % (_fmt_bytes(input_bytes), ", ".join(
                "%s [%s]" % (n, ", ".join(str(v) for v in sh)) for n, sh in s.input_shapes.items())),
            "Activations, all blobs kept: %s (%s bytes)" % (_fmt_bytes(s.activation_total_bytes),
                                                            _fmt_int(s.activation_total_bytes)),
            "Activations, peak by the engine's rules (input kept, views shared, each blob freed after its "
            "last use): %s (%s bytes)" % (_fmt_bytes(s.activation_peak_bytes), _fmt_int(s.activation_peak_bytes)),
            "Peak engine heap of a forward, estimated (+ the running layer's scratch): %s (%s bytes)"
            % (_fmt_bytes(s.estimated_peak_bytes), _fmt_int(s.estimated_peak_bytes)),
            "Peak engine heap of a forward, measured by the engine: %s (%s bytes)"
            % (_fmt_bytes(s.engine_peak_bytes), _fmt_int(s.engine_peak_bytes)),
            "Total, weights in memory + peak engine heap: %s"
            % _fmt_bytes(s.weight_memory + s.engine_peak_bytes),
            "-" * width]
    return "\n".join(out)


# ---------------------------------------------------------------- CLI: maixnn info

def configure_parser(p) -> None:
    p.add_argument("model", help="the .param file (or its path without extension)")
    p.add_argument("--bin", help="the .bin file (default: next to the .param)")
    p.add_argument("--input-shape", metavar="C,H,W",
                   help="input size when the Input layer does not declare it (single-input models)")


def model_paths(model: str, bin_path: Optional[str] = None) -> Tuple[str, str]:
    """(param, bin) from 'm.param' or 'm' (+ optional explicit .bin)."""
    if model.endswith(".param"):
        param = model
    elif os.path.exists(model + ".param"):
        param = model + ".param"
    else:
        param = model
    if bin_path is None:
        bin_path = (param[:-len(".param")] if param.endswith(".param") else param) + ".bin"
    return param, bin_path


def parse_shape(text: str) -> Tuple[int, ...]:
    try:
        shape = tuple(int(v) for v in text.replace("x", ",").split(",") if v.strip())
    except ValueError:
        raise OptionError("shape must be integers like 3,224,224, got %r" % (text,))
    if not 1 <= len(shape) <= 3 or any(v <= 0 for v in shape):
        raise OptionError("shape must be 1 to 3 positive integers (C,H,W), got %r" % (text,))
    return shape


def _is_awnn_param(param: str) -> bool:
    """True for an awnn .param (device flags -23328 on its layers)."""
    try:
        with open(param, "r", encoding="ascii", errors="replace") as f:
            return "-23328=" in f.read()
    except OSError:
        return False


def run_cli(args) -> int:
    param, bin_path = model_paths(args.model, args.bin)
    if _is_awnn_param(param):
        # the V831's own int8 format: the NPU/CPU placement report
        try:
            from .awnn.placement import placement_report
        except ImportError as exc:  # the board's dist/ ships only the board-side modules
            raise OptionError("%s is an awnn model: its placement report needs maixnn's PC tools "
                              "(maixnn.awnn: %s); run `maixnn info` on the PC" % (param, exc)) from None
        print(placement_report(param).text())
        return 0
    shapes = None
    if args.input_shape:
        net = Net(param, bin_path)
        if len(net.input_names) != 1:
            raise OptionError("--input-shape works for single-input models; %s has %d inputs"
                              % (param, len(net.input_names)))
        shapes = {net.input_names[0]: parse_shape(args.input_shape)}
        print(format_summary(summarize(param, bin_path, shapes, net=net)))
    else:
        print(format_summary(summarize(param, bin_path)))
    return 0
