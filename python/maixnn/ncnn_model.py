"""An in-memory ncnn model (.param + .bin) that maixnn's tools read and write.

The converter builds one of these from ONNX, the quantizer rewrites one into
ncnn's int8 form, ``maixnn info`` reads one.  The file formats are described in
docs (../shared/reference/ncnn-format.md): a text .param with one line per layer
and a .bin that is the concatenation of every layer's arrays, each padded to
4 bytes.

Board-side safe: numpy only, Python 3.8.
"""
from __future__ import annotations

import os
import struct
import tempfile
from typing import Dict, List, NamedTuple, Optional, Sequence, Set, Tuple, Union

import numpy as np

from .errors import ModelFormatError, OptionError, UnsupportedOperatorError

MAGIC = 7767517

TAG_FLOAT32 = 0x00000000
TAG_FLOAT16 = 0x01306B47
TAG_INT8 = 0x000D4B38
TAG_RAW_FLOAT32 = 0x0002C056

ParamValue = Union[int, float, List[int], List[float]]

# How a weight array is stored in the .bin:
#   "tagged"   uint32 tag + data; float32 unless the array is int8 (then the int8 tag)
#   "raw"      float32 without tag
WeightKind = str


class Weight:
    """One array of a layer's .bin data."""

    __slots__ = ("name", "data", "kind")

    def __init__(self, name: str, data: np.ndarray, kind: WeightKind = "raw"):
        if kind not in ("tagged", "raw"):
            raise ValueError("weight kind must be 'tagged' or 'raw', not %r" % (kind,))
        data = np.asarray(data)
        if data.dtype != np.int8:
            data = data.astype(np.float32)
        if kind == "raw" and data.dtype == np.int8:
            raise ValueError("int8 weights must be tagged")
        self.name = name
        self.data = np.ascontiguousarray(data).reshape(-1)
        self.kind = kind

    def __repr__(self) -> str:
        return "Weight(%s, %s[%d], %s)" % (self.name, self.data.dtype, self.data.size, self.kind)


class Layer:
    """One line of a .param file plus its arrays of the .bin."""

    def __init__(self, type: str, name: str, bottoms: Sequence[str] = (), tops: Sequence[str] = (),
                 params: Optional[Dict[int, ParamValue]] = None,
                 weights: Optional[List[Weight]] = None):
        self.type = type
        self.name = name
        self.bottoms = list(bottoms)
        self.tops = list(tops)
        self.params: Dict[int, ParamValue] = dict(params or {})
        self.weights: List[Weight] = list(weights or [])

    # Typed parameter reads, exactly as ncnn's ParamDict and maixnn's C loader
    # (csrc/paramdict.c) read them; tests/test_param_readers.py runs both
    # readers over every corpus file and zoo model.
    def int_param(self, pid: int, default: int = 0) -> int:
        """An int token's value; a float token or an array counts as absent
        (default): ncnn ignores `1=3.0` where it reads an int."""
        v = self.params.get(pid)
        if isinstance(v, (int, np.integer)) and not isinstance(v, (list, tuple)):
            return int(v)
        return default

    def float_param(self, pid: int, default: float = 0.0) -> np.float32:
        """A number as float32: a float token's value, an int token converted
        (`0=2` reads 2.0); an array counts as absent (default)."""
        v = self.params.get(pid)
        if isinstance(v, (int, float, np.integer, np.floating)):
            return np.float32(v)
        return np.float32(default)

    def float_array(self, pid: int) -> Optional[List[np.float32]]:
        """An array as the floats ncnn reads (None when absent or a scalar).
        Every element keeps its raw 32 bits (an int's value, a float's
        float32 bits) and the array takes the type of its LAST element: a
        float array reinterprets the bits (`-23310=2,1,2.0` reads 1 as
        1.4e-45), an int array converts them (`-23310=2,1.5,3` reads 1.5 as
        the int 1069547520 converted)."""
        v = self.params.get(pid)
        if not isinstance(v, (list, tuple)):
            return None
        raw = np.array([np.float32(x).view(np.int32) if isinstance(x, (float, np.floating)) else np.int64(x)
                        for x in v], np.int64).astype(np.uint32).view(np.int32)
        if v and isinstance(v[-1], (float, np.floating)):
            return list(raw.view(np.float32))
        return list(raw.astype(np.float32))

    def weight(self, name: str) -> Optional[Weight]:
        for w in self.weights:
            if w.name == name:
                return w
        return None

    def __repr__(self) -> str:
        return "Layer(%s %s %s -> %s %s)" % (self.type, self.name, self.bottoms, self.tops, self.params)


# ---------------------------------------------------------------- formatting

def format_float(v: float) -> str:
    """Shortest float32 text that round-trips, always with '.' or an exponent
    (ncnn decides int vs float by the token text) and at most 15 characters
    (ncnn reads tokens with %15[^,\\n ])."""
    f = np.float32(v)
    if not np.isfinite(f):
        raise ValueError("parameter value %r is not finite" % (v,))
    # trim="0" keeps one digit after the point ("1.0", "1.0e-05"), so every
    # result has a '.'; float32's shortest scientific form fits 15 characters
    text = np.format_float_positional(f, unique=True, trim="0")
    if len(text) > 15 or (abs(f) < 1e-4 and f != 0):
        text = np.format_float_scientific(f, unique=True, trim="0", exp_digits=2)
    return text


def format_value(v: ParamValue) -> str:
    if isinstance(v, (bool, np.bool_)):
        return str(int(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return format_float(float(v))
    raise TypeError("not a scalar parameter: %r" % (v,))


def format_param(pid: int, v: ParamValue) -> str:
    if not 0 <= pid < 32:
        raise ValueError("ncnn parameter ids are 0..31, got %d" % pid)
    if isinstance(v, (list, tuple, np.ndarray)):
        items = list(v)
        return "-%d=%d%s" % (23300 + pid, len(items), "".join("," + format_value(x) for x in items))
    return "%d=%s" % (pid, format_value(v))


# ---------------------------------------------------------------- the model

class NcnnModel:
    def __init__(self, layers: Optional[List[Layer]] = None):
        self.layers: List[Layer] = list(layers or [])

    # -- queries
    def blob_names(self) -> List[str]:
        seen: Dict[str, None] = {}
        for l in self.layers:
            for b in l.bottoms + l.tops:
                seen.setdefault(b, None)
        return list(seen)

    def producer(self, blob: str) -> Optional[Layer]:
        for l in self.layers:
            if blob in l.tops:
                return l
        return None

    def consumers(self, blob: str) -> List[Layer]:
        return [l for l in self.layers if blob in l.bottoms]

    def input_names(self) -> List[str]:
        return [t for l in self.layers if l.type == "Input" for t in l.tops]

    def output_names(self) -> List[str]:
        consumed = {b for l in self.layers for b in l.bottoms}
        return [t for l in self.layers for t in l.tops if t not in consumed]

    def layer(self, name: str) -> Layer:
        for l in self.layers:
            if l.name == name:
                return l
        raise KeyError(name)

    # -- text / bytes
    def param_text(self) -> str:
        lines = ["%d" % MAGIC, "%d %d" % (len(self.layers), len(self.blob_names()))]
        for l in self.layers:
            head = "%-24s %-24s %d %d" % (l.type, l.name, len(l.bottoms), len(l.tops))
            parts = [head] + list(l.bottoms) + list(l.tops)
            parts += [format_param(pid, v) for pid, v in sorted(l.params.items())]
            lines.append(" ".join(parts))
        return "\n".join(lines) + "\n"

    def bin_bytes(self) -> bytes:
        out = bytearray()
        for l in self.layers:
            for w in l.weights:
                if w.data.dtype != np.int8 and not np.all(np.isfinite(w.data)):
                    bad = int(np.count_nonzero(~np.isfinite(w.data)))
                    # maixnn's engine refuses such a .bin (ncnn would run it and
                    # output NaN): fail here, before anything is written
                    raise ModelFormatError(
                        "layer %s (%s): weight array '%s' has %d non-finite value(s) (NaN/inf) of %d; "
                        "check the source model (e.g. a BatchNorm with negative variance)"
                        % (l.name, l.type, w.name, bad, w.data.size))
                if w.kind == "tagged":
                    if w.data.dtype == np.int8:
                        out += struct.pack("<I", TAG_INT8)
                    else:
                        out += struct.pack("<I", TAG_FLOAT32)
                if w.data.dtype == np.int8:
                    out += w.data.tobytes()
                else:
                    out += w.data.astype("<f4").tobytes()
                out += b"\0" * (-len(out) % 4)
        return bytes(out)

    def save(self, param_path: str, bin_path: str) -> None:
        """Write both files.  Both are produced and written to temporary files
        first and only then renamed into place, so a failure (an error, a full
        disk, Ctrl-C) never leaves a half-written model, nor a new .param next
        to the old .bin."""
        if os.path.abspath(param_path) == os.path.abspath(bin_path):
            raise OptionError("the .param and the .bin must be different files, both are %s" % param_path)
        atomic_write_many([(param_path, self.param_text().encode("ascii")), (bin_path, self.bin_bytes())])

    # -- reading
    @classmethod
    def load(cls, param_path: str, bin_path: Optional[str] = None) -> "NcnnModel":
        try:
            with open(param_path, "r", encoding="ascii", errors="strict") as f:
                text = f.read()
        except OSError as e:
            raise ModelFormatError("%s: cannot read: %s" % (param_path, e.strerror or e)) from None
        except UnicodeDecodeError:
            raise ModelFormatError("%s: not a text .param file (non-ASCII bytes)" % param_path) from None
        model = cls.from_param_text(text, param_path)
        if bin_path is not None:
            model.read_weights_file(bin_path)
        return model

    def read_weights_file(self, bin_path: str) -> None:
        """read_weights() from a .bin file."""
        try:
            with open(bin_path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise ModelFormatError("%s: cannot read: %s" % (bin_path, e.strerror or e)) from None
        self.read_weights(data, bin_path)

    @classmethod
    def from_param_text(cls, text: str, where: str = "<param>") -> "NcnnModel":
        if "\0" in text:  # as the C loader: a NUL would cut a token short there
            raise ModelFormatError("%s: .param contains a NUL byte: not a text .param file" % where)
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if not lines or lines[0].strip() != str(MAGIC):
            raise ModelFormatError("%s: line 1: magic number %d expected" % (where, MAGIC))
        if len(lines) < 2:
            raise ModelFormatError("%s: line 2: 'layer_count blob_count' missing" % where)
        try:
            layer_count, blob_count = (int(x) for x in lines[1].split())
        except ValueError:
            raise ModelFormatError("%s: line 2: 'layer_count blob_count' expected, got %r"
                                   % (where, lines[1])) from None
        if len(lines) - 2 != layer_count:
            raise ModelFormatError("%s: header says %d layers, file has %d layer lines"
                                   % (where, layer_count, len(lines) - 2))
        layers = []
        for lineno, ln in enumerate(lines[2:], start=3):
            tok = ln.split()
            ctx = "%s: line %d" % (where, lineno)
            if len(tok) < 4:
                raise ModelFormatError("%s: 'type name bottom_count top_count ...' expected" % ctx)
            ltype, lname = tok[0], tok[1]
            try:
                nb, nt = int(tok[2]), int(tok[3])
            except ValueError:
                raise ModelFormatError("%s (layer %s): bad blob counts" % (ctx, lname)) from None
            if nb < 0 or nt < 0 or len(tok) < 4 + nb + nt:
                raise ModelFormatError("%s (layer %s): blob counts do not match the line" % (ctx, lname))
            bottoms = tok[4:4 + nb]
            tops = tok[4 + nb:4 + nb + nt]
            params = {}
            for t in tok[4 + nb + nt:]:
                pid, v = _parse_param_token(t, "%s (layer %s)" % (ctx, lname))
                params[pid] = v
            layers.append(Layer(ltype, lname, bottoms, tops, params))
        model = cls(layers)
        if len(model.blob_names()) != blob_count:
            raise ModelFormatError("%s: header says %d blobs, layers use %d"
                                   % (where, blob_count, len(model.blob_names())))
        return model

    def read_weights(self, data: bytes, where: str = "<bin>") -> None:
        pos = 0
        for l in self.layers:
            l.weights = []
            for name, count, kind in weight_schema(l):
                ctx = "%s: layer %s (%s) array %s" % (where, l.name, l.type, name)
                if count < 0:
                    raise ModelFormatError("%s: negative size %d" % (ctx, count))
                if kind == "raw":
                    arr, pos = _take(data, pos, 4 * count, ctx)
                    l.weights.append(Weight(name, np.frombuffer(arr, "<f4").astype(np.float32), "raw"))
                else:
                    w, pos = _read_tagged(data, pos, count, ctx)
                    l.weights.append(Weight(name, w, "tagged"))
        if pos != len(data):
            raise ModelFormatError("%s: %d bytes left over after the last layer's weights"
                                   " (.bin does not belong to this .param?)" % (where, len(data) - pos))


def _read_tagged(data: bytes, pos: int, count: int, ctx: str) -> Tuple[np.ndarray, int]:
    """One tagged array of `count` values at `pos` (uint32 tag, data, padding
    to 4 bytes) -> (values, position after it)."""
    tagb, pos = _take(data, pos, 4, ctx)
    tag = struct.unpack("<I", tagb)[0]
    if tag in (TAG_FLOAT32, TAG_RAW_FLOAT32):
        arr, pos = _take(data, pos, 4 * count, ctx)
        w = np.frombuffer(arr, "<f4").astype(np.float32)
    elif tag == TAG_FLOAT16:
        arr, pos = _take(data, pos, 2 * count, ctx)
        w = np.frombuffer(arr, "<f2").astype(np.float32)
    elif tag == TAG_INT8:
        arr, pos = _take(data, pos, count, ctx)
        w = np.frombuffer(arr, np.int8).copy()
    else:
        raise ModelFormatError("%s: unsupported array tag 0x%08x at byte %d" % (ctx, tag, pos - 4))
    return w, pos + (-pos % 4)


def _take(data: bytes, pos: int, n: int, ctx: str) -> Tuple[bytes, int]:
    if pos + n > len(data):
        raise ModelFormatError("%s: .bin truncated (needs %d bytes at offset %d, file has %d)"
                               % (ctx, n, pos, len(data)))
    return data[pos:pos + n], pos + n


def _parse_scalar(s: str, ctx: str) -> Union[int, float]:
    if len(s) > 15:
        raise ModelFormatError("%s: value token %r longer than ncnn's 15 characters" % (ctx, s))
    try:
        if any(ch in s for ch in ".eE"):
            return float(s)
        return int(s)
    except ValueError:
        raise ModelFormatError("%s: bad value %r" % (ctx, s)) from None


def _parse_param_token(tok: str, ctx: str) -> Tuple[int, ParamValue]:
    if "=" not in tok:
        raise ModelFormatError("%s: parameter %r is not id=value" % (ctx, tok))
    k, v = tok.split("=", 1)
    try:
        pid = int(k)
    except ValueError:
        raise ModelFormatError("%s: bad parameter id %r" % (ctx, k)) from None
    if pid <= -23300:
        pid = -pid - 23300
        items = v.split(",")
        try:
            n = int(items[0])
        except ValueError:
            raise ModelFormatError("%s: bad array length in %r" % (ctx, tok)) from None
        if n != len(items) - 1:
            raise ModelFormatError("%s: array %r declares %d values, has %d" % (ctx, tok, n, len(items) - 1))
        values = [_parse_scalar(x, ctx) for x in items[1:]]
        if not 0 <= pid < 32:
            raise ModelFormatError("%s: parameter id %d out of range 0..31" % (ctx, pid))
        return pid, values
    if not 0 <= pid < 32:
        raise ModelFormatError("%s: parameter id %d out of range 0..31" % (ctx, pid))
    return pid, _parse_scalar(v, ctx)


def weight_schema(l: Layer) -> List[Tuple[str, int, str]]:
    """The arrays a layer stores in the .bin, in order: (name, count, kind)."""
    t = l.type
    i = l.int_param

    if t in ("Convolution", "ConvolutionDepthWise", "Deconvolution", "DeconvolutionDepthWise"):
        num_output = i(0)
        out = [("weight", i(6), "tagged")]
        if i(5):
            out.append(("bias", num_output, "raw"))
        ist = i(8)
        if ist:
            if t == "ConvolutionDepthWise":
                n = i(7, 1) if ist in (1, 101) else 1
            else:
                n = num_output
            out.append(("weight_scales", n, "raw"))
            out.append(("bottom_scale", 1, "raw"))
            if ist > 100:
                out.append(("top_scale", 1, "raw"))
        return out
    if t == "InnerProduct":
        out = [("weight", i(2), "tagged")]
        if i(1):
            out.append(("bias", i(0), "raw"))
        if i(8):
            out.append(("weight_scales", i(0), "raw"))
            out.append(("bottom_scale", 1, "raw"))
        return out
    if t == "BatchNorm":
        c = i(0)
        return [("slope", c, "raw"), ("mean", c, "raw"), ("var", c, "raw"), ("bias", c, "raw")]
    if t == "Scale":
        n = i(0)
        if n == -233:
            return []
        out = [("scale", n, "raw")]
        if i(1):
            out.append(("bias", n, "raw"))
        return out
    if t == "Bias":
        return [("bias", i(0), "raw")]
    if t == "MemoryData":
        w, h, c = max(i(0), 1), max(i(1), 1), max(i(2), 1)
        return [("data", w * h * c, "raw")]
    if t == "Padding":
        n = i(6)
        return [("per_channel_pad", n, "raw")] if n else []
    if t == "PReLU":
        return [("slope", i(0), "raw")]
    if t == "LayerNorm":
        return [("gamma", i(0), "raw"), ("beta", i(0), "raw")] if i(2, 1) else []
    if t == "GroupNorm":
        return [("gamma", i(1), "raw"), ("beta", i(1), "raw")] if i(3, 1) else []
    return []


class ConvGeometry(NamedTuple):
    kernel_h: int
    kernel_w: int
    dilation_h: int
    dilation_w: int
    stride_h: int
    stride_w: int
    pad_top: int
    pad_bottom: int
    pad_left: int
    pad_right: int


def conv_geometry(layer: Layer, in_w: int, in_h: int) -> ConvGeometry:
    """Kernel, dilation, stride and the padding a Convolution /
    ConvolutionDepthWise applies to an in_w x in_h input, with ncnn's defaults
    (kernel_h = kernel_w, pad_right = pad_left, pad_top = pad_left,
    pad_bottom = pad_top) and its SAME modes: -233 (SAME_UPPER, the extra pixel
    at the end) and -234 (SAME_LOWER, at the beginning), no padding when the
    window already covers the input."""
    param = layer.int_param

    kw = param(1, 0)
    kh = param(11, kw)
    dw = param(2, 1)
    dh = param(12, dw)
    sw = param(3, 1)
    sh = param(13, sw)
    left = param(4, 0)
    right = param(15, left)
    top = param(14, left)
    bottom = param(16, top)
    if left in (-233, -234) or top in (-233, -234):
        if in_w <= 0 or in_h <= 0:
            raise UnsupportedOperatorError(
                "layer %s: SAME padding needs the input size; give the Input layer 0=w 1=h 2=c" % layer.name)
        wpad = max(dw * (kw - 1) + 1 + (in_w - 1) // sw * sw - in_w, 0)
        hpad = max(dh * (kh - 1) + 1 + (in_h - 1) // sh * sh - in_h, 0)
        if left == -233:
            left, right, top, bottom = wpad // 2, wpad - wpad // 2, hpad // 2, hpad - hpad // 2
        else:
            left, right, top, bottom = wpad - wpad // 2, wpad // 2, hpad - hpad // 2, hpad // 2
    return ConvGeometry(kh, kw, dh, dw, sh, sw, top, bottom, left, right)


def unique_name(base: str, taken: Set[str]) -> str:
    """`base`, or `base_1`, `base_2`, ... whichever is not in `taken` first;
    added to `taken` so the next call cannot return it again."""
    name, k = base, 1
    while name in taken:
        name = "%s_%d" % (base, k)
        k += 1
    taken.add(name)
    return name


def atomic_write(path: str, data: bytes) -> None:
    """Write `data` to `path` via a temporary file in the same directory and a
    rename: readers see the old file or the new one, never half of one."""
    atomic_write_many([(path, data)])


def atomic_write_many(files: Sequence[Tuple[str, bytes]]) -> None:
    """Write several files as one step: every file goes to a temporary file in
    its target's directory (flushed to disk), and only when all of them are
    complete are they renamed into place.  On any failure, KeyboardInterrupt
    included, the temporary files are removed and no target is touched."""
    for path, _ in files:
        if os.path.isdir(path):
            raise OptionError("cannot write %s: it is a directory; give a file name" % path)
    temps: List[str] = []
    try:
        for path, data in files:
            directory = os.path.dirname(os.path.abspath(path))
            os.makedirs(directory, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                                       dir=directory)
            temps.append(tmp)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        for (path, _), tmp in zip(files, temps):
            os.replace(tmp, path)
    except BaseException:
        for tmp in temps:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        raise
