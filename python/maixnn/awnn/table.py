"""The calibration table in Sipeed's converter format (awnn-format.md section 2).

One entry per line, ``KEY v0 v1 ...``:

* ``<layer>_param_0 s_0 ... s_{N-1}`` - the weight scales of a Convolution or
  InnerProduct, one per output channel;
* ``<blob> s`` - the scale of a BLOB (int8 value ~= float value * s), keyed by
  the blob name (not the layer name, unlike ncnn2table's tables).

Values are read as sscanf("%f") reads them (float32, correctly rounded);
tokens are separated by spaces; reading stops at the first empty line; a
repeated key: the later line wins.  maixnn writes the shortest text that reads
back as the same float32, so nothing is lost in a write/read cycle.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Dict, Iterable, Tuple

import numpy as np

from ..errors import ModelFormatError, OptionError, path_argument
from ..ncnn_model import atomic_write
from .numerics import parse_f32

WEIGHT_KEY = "_param_"
WEIGHT_SUFFIX = "_param_0"


class AwnnTable:
    """A parsed table: weight scales by LAYER name, blob scales by BLOB name."""

    def __init__(self, weight_scales: Dict[str, np.ndarray], blob_scales: Dict[str, np.float32],
                 path: str = "<table>"):
        self.weight_scales = weight_scales
        self.blob_scales = blob_scales
        self.path = path

    def blob(self, name: str, layer: str) -> np.float32:
        """S(blob), checked: a missing entry is an error naming the blob and the
        layer that needs it (the converter reads garbage there)."""
        if name not in self.blob_scales:
            raise ModelFormatError("%s: no scale for blob '%s' (needed by layer %s); every blob a layer "
                                   "reads or writes needs a line '%s <scale>'" % (self.path, name, layer, name))
        s = self.blob_scales[name]
        if not (np.isfinite(s) and s > 0):
            raise ModelFormatError("%s: blob '%s' (layer %s) has scale %r; scales must be finite and > 0"
                                   % (self.path, name, layer, float(s)))
        return s

    def weights(self, layer: str, count: int) -> np.ndarray:
        """The `count` weight scales of `layer`, checked."""
        if layer not in self.weight_scales:
            raise ModelFormatError("%s: no weight scales for layer %s; it needs a line '%s%s s_0 ... s_%d'"
                                   % (self.path, layer, layer, WEIGHT_SUFFIX, count - 1))
        ws = self.weight_scales[layer]
        if ws.size != count:
            raise ModelFormatError("%s: layer %s has %d weight scales, it needs %d (one per output channel)"
                                   % (self.path, layer, ws.size, count))
        bad = ~(np.isfinite(ws) & (ws > 0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ModelFormatError("%s: layer %s weight scale #%d is %r; scales must be finite and > 0"
                                   % (self.path, layer, i, float(ws[i])))
        return ws


def parse_table(text: str, path: str = "<table>") -> AwnnTable:
    weights: Dict[str, np.ndarray] = OrderedDict()
    blobs: Dict[str, np.float32] = OrderedDict()
    for lineno, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            break  # the converter stops at the first empty line
        tok = [t for t in line.split(" ") if t]
        key, values = tok[0], tok[1:]
        if not values:
            raise ModelFormatError("%s: line %d: '%s' has no value" % (path, lineno, key))
        try:
            arr = np.array([parse_f32(v) for v in values], dtype=np.float32)
        except ValueError:
            raise ModelFormatError("%s: line %d: '%s': values must be numbers, got %r"
                                   % (path, lineno, key, " ".join(values))) from None
        if WEIGHT_KEY in key:
            name = key[:-len(WEIGHT_SUFFIX)] if key.endswith(WEIGHT_SUFFIX) else key
            weights[name] = arr
        else:
            blobs[key] = arr[0]
    return AwnnTable(weights, blobs, path)


def read_table(path) -> Tuple[Dict[str, np.ndarray], Dict[str, float]]:
    """Read a converter-format table -> (weight_scales {layer: float32 array},
    blob_scales {blob: float})."""
    t = load_table(path)
    return dict(t.weight_scales), {k: float(v) for k, v in t.blob_scales.items()}


def load_table(path) -> AwnnTable:
    path = path_argument(path, "table")
    try:
        with open(path, "r", encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ModelFormatError("%s: cannot read the table: %s" % (path, e.strerror or e)) from None
    except UnicodeDecodeError:
        raise ModelFormatError("%s: not a text table" % path) from None
    return parse_table(text, path)


def _num(v) -> str:
    f = np.float32(v)
    if not (np.isfinite(f) and f > 0):
        raise OptionError("scale %r: scales must be finite and > 0" % (float(v),))
    return np.format_float_positional(f, unique=True, trim="-") if 1e-4 <= f < 1e9 else \
        np.format_float_scientific(f, unique=True, trim="-")


def table_text(weight_scales: Dict[str, Iterable[float]], blob_scales: Dict[str, float]) -> str:
    lines = []
    for layer, values in weight_scales.items():
        vals = np.atleast_1d(np.asarray(values, dtype=np.float32))
        if vals.size == 0:
            raise OptionError("layer %s: empty weight scale list" % layer)
        _check_key(layer, WEIGHT_SUFFIX)
        try:
            lines.append(layer + WEIGHT_SUFFIX + " " + " ".join(_num(v) for v in vals))
        except OptionError as e:
            raise OptionError("layer %s: %s" % (layer, e)) from None
    for blob, value in blob_scales.items():
        _check_key(blob, "")
        if WEIGHT_KEY in blob:
            raise OptionError("blob name %r contains '%s': the converter's table format would read it as "
                              "weight scales" % (blob, WEIGHT_KEY))
        try:
            lines.append("%s %s" % (blob, _num(value)))
        except OptionError as e:
            raise OptionError("blob %s: %s" % (blob, e)) from None
    return "\n".join(lines) + "\n"


def _check_key(name: str, suffix: str) -> None:
    if not name or any(c.isspace() for c in name):
        raise OptionError("table key %r: names must be non-empty without spaces" % (name + suffix))


def write_table(path, weight_scales: Dict[str, Iterable[float]], blob_scales: Dict[str, float]) -> None:
    """Write a converter-format table atomically: weight_scales {layer name:
    per-output-channel scales}, blob_scales {blob name: scale}."""
    path = path_argument(path, "table path")
    atomic_write(path, table_text(weight_scales, blob_scales).encode("utf-8"))
