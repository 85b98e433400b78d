"""The converter's number handling, exactly (awnn-format.md sections 1-3).

Everything here is IEEE binary32 with the operation order of the spec: the
awnn files store integers computed from float32 scales, and a different
rounding anywhere changes bytes.  numpy float32 arithmetic is binary32 without
FMA, so each numpy operation below is one SSE instruction of the converter.

* parse_f32(text)   sscanf("%f") / ncnn's param reader: decimal text -> the
                    nearest float32 (correctly rounded, ties to even).
* e_round_trip(v)   the optimize step writes float params with "%e" (7
                    significant digits) and quantize reads them back.
* fmt_f(v)          "%f" as quantize prints float params and scales.
* roundf / cvtt / q8 / q16 / req   section 3.

This is tooling (the writer); the integer forward pass the NPU computes is the
C engine's business.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Tuple

import numpy as np

F32 = np.float32
INT32_MIN = -2147483648


def parse_f32(text: str) -> np.float32:
    """The float32 nearest to the decimal `text` (what glibc's sscanf("%f")
    returns).  Python's float() is correctly rounded to binary64; rounding that
    to binary32 can only differ from direct rounding when the double lands
    exactly on a float32 midpoint, which is then decided on the exact value."""
    d = float(text)
    with np.errstate(over="ignore"):
        f = F32(d)     # beyond float32: inf, as sscanf gives
    if not np.isfinite(f) or float(f) == d:
        return f
    other = np.nextafter(f, F32(np.inf) if d > float(f) else F32(-np.inf))
    mid = (Fraction(float(f)) + Fraction(float(other))) / 2
    if Fraction(d) != mid:
        return f
    exact = Fraction(text.strip())
    df, do = abs(exact - Fraction(float(f))), abs(exact - Fraction(float(other)))
    if df != do:
        return f if df < do else other
    # a true tie: the even mantissa
    return f if (int(f.view(np.uint32)) & 1) == 0 else other


def e_round_trip(v) -> np.float32:
    """float32 -> "%e" text -> float32: the 7-significant-digit round trip every
    float param takes between the converter's optimize and quantize steps
    (section 1).  It loses at most 5e-7 relative, far below int8 resolution;
    maixnn keeps it so its files equal the converter's byte for byte."""
    f = F32(v)
    if not np.isfinite(f):
        return f
    return parse_f32("%e" % float(f))


def fmt_f(v) -> str:
    """C's printf("%f") of a float32 (promoted to double)."""
    return "%f" % float(F32(v))


def fmt_f_exact(v) -> str:
    """"%f" when that text reads back as the same float32 (what the converter
    prints), else the shortest text that does: the value must survive for a
    CPU layer's parameter, where "%f" could lose it (e.g. 1e-7 -> 0.000000),
    and fit the 15 characters ncnn reads per value."""
    f = F32(v)
    text = fmt_f(f)
    if np.isfinite(f) and parse_f32(text) == f and len(text) <= 15:
        return text
    from ..ncnn_model import format_float
    return format_float(float(f))


def roundf(x) -> np.ndarray:
    """C roundf on float32 values: half away from zero (exact: a float32 widened
    to float64 plus 0.5 cannot round)."""
    v = np.asarray(x, dtype=np.float32).astype(np.float64)
    return np.copysign(np.floor(np.abs(v) + 0.5), v)


def cvtt(x) -> np.ndarray:
    """cvttss2si: truncation toward zero to int32; NaN or out of range gives
    -2147483648."""
    v = np.asarray(x, dtype=np.float64)
    out = np.full(v.shape, INT32_MIN, dtype=np.int64)
    ok = np.isfinite(v) & (v > -2147483649.0) & (v < 2147483648.0)
    out[ok] = np.trunc(v[ok]).astype(np.int64)
    return out


def q8(x, s) -> np.ndarray:
    """Q8: clamp(cvtt(roundf(x*s)), -127, 127) as int8 (ncnn Quantize::forward)."""
    v = np.asarray(x, dtype=np.float32) * F32(s)
    return np.clip(cvtt(roundf(v)), -127, 127).astype(np.int8)


def q16(x, s) -> np.ndarray:
    """Q16: clamp(cvtt(roundf(x*s)), -32768, 32767) as int16."""
    v = np.asarray(x, dtype=np.float32) * F32(s)
    return np.clip(cvtt(roundf(v)), -32768, 32767).astype(np.int16)


def log2f(x) -> np.float32:
    """log2f of a float32, correctly rounded: the binary64 log2 rounded to
    binary32.  Only its truncation is used (REQ), and there what matters is a
    value just below a power of two, whose log2 rounds up to the integer -
    which this reproduces like glibc's log2f."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return F32(np.log2(np.float64(F32(x))))


def req(r) -> Tuple[int, int]:
    """REQ(r) -> (m, e) with m / 2^e ~= r (section 3), r a float32."""
    r = F32(r)
    if r > F32(1.0):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            e = int(cvtt(log2f(F32(32767.0) / r)))
            p = F32(2.0 ** e) if -1100 < e < 1100 else (F32(0.0) if e < 0 else F32(np.inf))
            m = int(cvtt(roundf(p * r)))
        return m, e
    with np.errstate(invalid="ignore", over="ignore"):
        return int(cvtt(roundf(r * F32(32767.0)))), 15


def pow2f(e: int) -> np.float32:
    """(float)pow(2.0, e)."""
    return F32(2.0 ** e)
