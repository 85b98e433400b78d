"""int8 calibration: weight scales, activation statistics and the threshold
algorithms (minmax, kl, percentile, aciq, eq).

Conventions (ncnn's): q = float2int8(x * scale), scale = 127 / threshold,
float2int8 rounds half away from zero and clamps to [-127, 127].  One scale per
activation tensor (the bottom blob of each Convolution / ConvolutionDepthWise /
InnerProduct), one per output channel for weights (per group for depthwise).

The algorithms are pure functions on numpy statistics so that they can be
tested on synthetic data; ActivationStats gathers those statistics from the
float model run on maixnn's engine.
"""
from __future__ import annotations

import math
import sys
import warnings
from typing import Callable, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from .errors import ModelFormatError, RuntimeEngineError
from .ncnn_model import conv_geometry

QUANTIZABLE_TYPES = ("Convolution", "ConvolutionDepthWise", "InnerProduct")

KL_BINS = 2048          # ncnn2table's histogram of |x|
KL_TARGET_BINS = 128    # int8 has 128 magnitudes
PERCENTILE_BINS = 1 << 16
KL_EPS = 0.0001

# Used when a tensor was zero on the whole calibration set: any positive scale
# is exact for zeros; 1.0 (threshold 127) keeps whatever shows up at run time
# on a sane scale instead of an infinite one.
FALLBACK_ACTIVATION_SCALE = 1.0


class CalibrationWarning(UserWarning):
    """A degenerate case was handled with a fallback (the message says which)."""


def float2int8(v: np.ndarray) -> np.ndarray:
    """ncnn's float2int8 in float32: (int)truncf(v + copysignf(0.5f, v)),
    clamped to [-127, 127]."""
    v = np.asarray(v, dtype=np.float32)
    r = np.trunc(v + np.copysign(np.float32(0.5), v).astype(np.float32))
    return np.clip(r, -127, 127).astype(np.int8)


# ------------------------------------------------------------------ weights

def weight_rows(layer) -> int:
    """How many weight scales the layer takes: output channels, or groups
    for ConvolutionDepthWise (ncnn2table: per group)."""
    if layer.type == "ConvolutionDepthWise":
        return layer.int_param(7, 1)
    return layer.int_param(0, 0)


def weight_absmax(layer) -> np.ndarray:
    w = layer.weight("weight")
    if w is None:
        raise ModelFormatError("layer %s has no weights" % layer.name)
    rows = weight_rows(layer)
    if rows <= 0 or w.data.size % rows:
        raise ModelFormatError("layer %s (%s): %d weights do not split into %d rows (one per %s)"
                               % (layer.name, layer.type, w.data.size, rows,
                                  "group" if layer.type == "ConvolutionDepthWise" else "output channel"))
    return np.abs(w.data.astype(np.float32).reshape(rows, -1)).max(axis=1)


def weight_scales(layer) -> np.ndarray:
    """127 / absmax per row in float32; an all-zero row gets scale 0, which
    ncnn's runtime (and maixnn's) read as 'output = bias' (scale_in = 0)."""
    absmax = weight_absmax(layer)
    with np.errstate(divide="ignore", over="ignore"):
        s = np.float32(127.0) / absmax
    # a row so small that 127/absmax overflows float32 is treated as zero too
    return np.where((absmax > 0) & np.isfinite(s), s, np.float32(0.0)).astype(np.float32)


# ------------------------------------------------------------------ thresholds

def minmax_threshold(absmax: float) -> float:
    return float(absmax)


def kl_threshold(histogram: np.ndarray, absmax: float, target_bins: int = KL_TARGET_BINS) -> float:
    """ncnn2table's entropy calibration.

    histogram: counts of |x| in len(histogram) equal bins over [0, absmax]
    (ncnn leaves exact zeros out).  For each candidate t in target..bins-1:
    P = the first t bins with everything beyond folded into bin t-1, Q = the
    first t bins of the plain histogram averaged over target_bins equal
    (fractional) blocks and spread back, both plus eps; keep the t with the
    smallest KL(P || Q) (the first one on ties).
    threshold = (t + 0.5) * absmax / bins."""
    hist = np.asarray(histogram, dtype=np.float64)
    bins = hist.size
    total = hist.sum()
    if total <= 0 or absmax <= 0:
        raise ValueError("kl_threshold needs a non-empty histogram and absmax > 0")
    if bins <= target_bins:
        raise ValueError("kl_threshold needs more than %d bins" % target_bins)
    normed = hist / total
    t = np.arange(target_bins, bins, dtype=np.float64)
    kl = _kl_for_thresholds(normed, t, target_bins)
    best_t = target_bins + int(np.argmin(kl))
    return (best_t + 0.5) * absmax / bins


def _kl_for_thresholds(normed: np.ndarray, t: np.ndarray, target_bins: int) -> np.ndarray:
    """KL(P || Q) for every candidate threshold in t at once.

    Written as sum p log p - sum p log Q: a bin lying wholly inside block j
    has Q = q_j + eps, so those bins only need prefix sums of p; a bin cut by
    a block boundary (at most one per boundary, blocks being >= 1 bin wide)
    is handled on its own.  O(target_bins) per threshold instead of O(t)."""
    eps = KL_EPS
    ti = t.astype(np.int64)
    rows = np.arange(t.size)
    pe = normed + eps
    p_cum = np.concatenate(([0.0], np.cumsum(pe)))             # sum of (h + eps) over bins < k
    plogp_cum = np.concatenate(([0.0], np.cumsum(pe * np.log(pe))))
    cum = np.concatenate(([0.0], np.cumsum(normed)))          # histogram mass below k
    tail = cum[-1] - cum                                        # mass of bins >= k
    npb = t / target_bins
    edges = np.arange(target_bins + 1, dtype=np.float64)[None, :] * npb[:, None]
    edges[:, -1] = t
    mass = _integral(cum, normed, edges)
    q = (mass[:, 1:] - mass[:, :-1]) / npb[:, None]            # (T, target) block averages
    log_q = np.log(q + eps)
    # P: bins < t of h + eps, the mass from t on folded into bin t-1 (wholly in the last block)
    p_last = pe[ti - 1] + tail[ti]
    plogp = plogp_cum[ti - 1] + p_last * np.log(p_last)
    # bins wholly inside block j: [ceil(s_j), floor(e_j))
    lo = np.ceil(edges[:, :-1]).astype(np.int64)
    hi = np.floor(edges[:, 1:]).astype(np.int64)
    plogq = np.sum((p_cum[hi] - p_cum[lo]) * log_q, axis=1) + tail[ti] * log_q[rows, -1]
    # bins cut by an inner boundary e_j: Q = q_j * (e_j - k) + q_j+1 * (k + 1 - e_j) + eps
    e = edges[:, 1:-1]
    k = np.floor(e).astype(np.int64)
    frac = e - k
    cut = frac > 0
    q_cut = q[:, :-1] * frac + q[:, 1:] * (1.0 - frac) + eps
    plogq += np.sum(np.where(cut, pe[np.minimum(k, normed.size - 1)] * np.log(q_cut), 0.0), axis=1)
    return plogp - plogq


def _integral(cum: np.ndarray, normed: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Integral over [0, x] of the histogram seen as uniform mass in each bin
    (x may be any shape; x <= len(normed))."""
    i = np.floor(x).astype(np.int64)
    inside = i < normed.size
    frac = x - i
    return cum[np.minimum(i, normed.size)] + np.where(inside, frac * normed[np.minimum(i, normed.size - 1)], 0.0)


def percentile_threshold(histogram: np.ndarray, absmax: float, percentile: float) -> float:
    """Upper edge of the bin where the cumulative share of |x| (zeros
    included) reaches `percentile` %."""
    hist = np.asarray(histogram, dtype=np.float64)
    total = hist.sum()
    if total <= 0 or absmax <= 0:
        raise ValueError("percentile_threshold needs a non-empty histogram and absmax > 0")
    if not 0 < percentile <= 100:
        raise ValueError("percentile must be in (0, 100], got %r" % (percentile,))
    cdf = np.cumsum(hist) / total
    idx = int(np.searchsorted(cdf, percentile / 100.0 - 1e-12, side="left"))
    idx = min(idx, hist.size - 1)
    return (idx + 1) * absmax / hist.size


def aciq_threshold(absmax: float, count: int, bits: int = 8) -> float:
    """ncnn2table's ACIQ Gaussian clipping: the standard deviation estimated
    from the range of `count` samples, times the optimal Gaussian clipping
    factor for `bits` bits (Banner et al.)."""
    alpha_gaussian = [0.0, 1.71063519, 2.15159277, 2.55913646, 2.93620062, 3.28691474,
                      3.6151146, 3.92403714]
    if count < 2:
        return float(absmax)
    gaussian_const = (0.5 * 0.35) * (1 + math.sqrt(math.pi * math.log(4)))
    std = (absmax * 2 * gaussian_const) / math.sqrt(2 * math.log(count))
    return float(alpha_gaussian[bits - 1] * std)


def scale_from_threshold(threshold: float) -> float:
    return float(np.float32(127.0) / np.float32(threshold))


# ------------------------------------------------------------------ statistics

class BlobStats:
    """Statistics of one activation tensor over the calibration set."""

    __slots__ = ("name", "absmax", "count", "kl_hist", "pct_hist", "samples")

    def __init__(self, name: str):
        self.name = name
        self.absmax = 0.0
        self.count = 0        # elements of one sample (ACIQ's N)
        self.kl_hist = None
        self.pct_hist = None
        self.samples = 0

    def add_absmax(self, x: np.ndarray) -> None:
        a = np.abs(np.asarray(x, dtype=np.float32))
        m = float(a.max()) if a.size else 0.0
        if not np.isfinite(m):
            raise RuntimeEngineError("the float model produced non-finite values in blob %s: "
                                     "cannot calibrate" % self.name)
        self.absmax = max(self.absmax, m)
        self.count = int(a.size)
        self.samples += 1

    def add_histograms(self, x: np.ndarray, kl: bool, percentile: bool) -> None:
        if self.absmax <= 0:
            return
        a = np.abs(np.asarray(x, dtype=np.float32)).reshape(-1)
        if kl:
            if self.kl_hist is None:
                self.kl_hist = np.zeros(KL_BINS, np.int64)
            nz = a[a != 0]  # ncnn2table leaves exact zeros out of the KL histogram
            idx = np.minimum((nz / np.float32(self.absmax) * np.float32(KL_BINS)).astype(np.int64),
                             KL_BINS - 1)
            self.kl_hist += np.bincount(idx, minlength=KL_BINS)
        if percentile:
            if self.pct_hist is None:
                self.pct_hist = np.zeros(PERCENTILE_BINS, np.int64)
            idx = np.minimum((a / np.float32(self.absmax) * np.float32(PERCENTILE_BINS)).astype(np.int64),
                             PERCENTILE_BINS - 1)
            self.pct_hist += np.bincount(idx, minlength=PERCENTILE_BINS)


def threshold_for(stats: BlobStats, method: str, percentile: float = 99.99) -> Optional[float]:
    """The clipping threshold of one tensor, or None when the tensor was zero on
    the whole calibration set (the caller falls back and warns)."""
    if stats.absmax <= 0:
        return None
    if method == "minmax":
        return minmax_threshold(stats.absmax)
    if method in ("kl", "eq"):
        return kl_threshold(stats.kl_hist, stats.absmax)
    if method == "percentile":
        return percentile_threshold(stats.pct_hist, stats.absmax, percentile)
    if method == "aciq":
        return aciq_threshold(stats.absmax, stats.count)
    raise ValueError("unknown method %r" % (method,))


# ------------------------------------------------------------------ choosing, with guards

# No activation threshold may clip more than this share of its calibration
# values: past it the method has picked a collapse (KL on a flat or bimodal
# histogram picks 0.12 for values spread over [-1, 1]), and the threshold is
# raised to the smallest one that clips no more than this.
CLIP_GUARD_SHARE = 0.01

# Below these calibration set sizes a method's statistics are unreliable
# (measured: with 20 images KL was the worst method on a digits CNN).
MIN_SAMPLES = {"kl": 50, "eq": 50, "percentile": 20, "aciq": 10, "minmax": 1}


class ThresholdChoice(NamedTuple):
    threshold: Optional[float]         # None: the tensor was zero on the whole set
    source: str                        # what decided it (see choose_threshold)
    clipped: Optional[float]           # share of calibration values above it (None: not measured)
    method_threshold: Optional[float]  # what the method alone chose (None for the input rule)


def clipped_share(stats: BlobStats, threshold: float) -> Optional[float]:
    """Share of the calibration values whose |x| is above `threshold`, from the
    percentile histogram (bin resolution absmax / 65536); 0 at or above absmax."""
    if threshold >= stats.absmax:
        return 0.0
    if stats.pct_hist is None:
        return None
    total = float(stats.pct_hist.sum())
    first = int(math.ceil(threshold / stats.absmax * PERCENTILE_BINS))
    return float(stats.pct_hist[first:].sum()) / total if total > 0 else 0.0


def choose_threshold(stats: BlobStats, method: str, percentile: float = 99.99,
                     input_range: Optional[float] = None, is_input: bool = False) -> ThresholdChoice:
    """The threshold of one activation tensor, with two rules on top of `method`:

    * the network input is never thresholded by statistics: its range is
      known exactly from the preprocessing (input_range, u8 0..255 through
      mean/std) or, for already-normalised float tensors, is their max |x|;
    * a method's threshold that clips more than CLIP_GUARD_SHARE of the values
      is raised to the one that clips exactly that much ("guard")."""
    if stats.absmax <= 0:
        return ThresholdChoice(None, "zero", None, None)
    if is_input:
        if input_range is not None:
            t = max(float(input_range), stats.absmax)
            return ThresholdChoice(t, "input: preprocessing range", clipped_share(stats, t), None)
        return ThresholdChoice(stats.absmax, "input: max |x| of the float tensors", 0.0, None)
    t = threshold_for(stats, method, percentile)
    share = clipped_share(stats, t)
    if share is not None and share > CLIP_GUARD_SHARE:
        guarded = percentile_threshold(stats.pct_hist, stats.absmax, 100.0 * (1.0 - CLIP_GUARD_SHARE))
        if guarded > t:
            return ThresholdChoice(guarded, "guard", clipped_share(stats, guarded), t)
    return ThresholdChoice(t, "method", share, t)


# ------------------------------------------------------------------ single-layer int8 emulation

def _im2col(qx: np.ndarray, layer, pad_q: int) -> Tuple[np.ndarray, int, int]:
    """qx (C, H, W) -> columns (C, kh, kw, OH*OW) float64 (exact for int8)."""
    c, h, w = qx.shape
    kh, kw, dh, dw, sh, sw, pt, pb, pl, pr = conv_geometry(layer, w, h)
    xp = np.pad(qx.astype(np.float64), ((0, 0), (pt, pb), (pl, pr)), constant_values=float(pad_q))
    hp, wp = xp.shape[1:]
    oh = (hp - (dh * (kh - 1) + 1)) // sh + 1
    ow = (wp - (dw * (kw - 1) + 1)) // sw + 1
    if oh <= 0 or ow <= 0:
        raise ValueError("convolution output would be empty")
    cols = np.empty((c, kh, kw, oh, ow), np.float64)
    for i in range(kh):
        for j in range(kw):
            cols[:, i, j] = xp[:, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]
    return cols.reshape(c, kh, kw, oh * ow), oh, ow


def _conv_from_cols(cols: np.ndarray, oh: int, ow: int, qw: np.ndarray, groups: int) -> np.ndarray:
    """Integer convolution as a matmul per group (float64 holds every int32
    sum exactly): qw (O, C/groups, kh, kw) -> (O, OH, OW) float64."""
    c = cols.shape[0]
    o = qw.shape[0]
    cg, og = c // groups, o // groups
    k = cg * cols.shape[1] * cols.shape[2]
    wf = qw.astype(np.float64).reshape(o, k)
    out = np.empty((o, oh * ow), np.float64)
    for g in range(groups):
        out[g * og:(g + 1) * og] = wf[g * og:(g + 1) * og] @ cols[g * cg:(g + 1) * cg].reshape(k, oh * ow)
    return out.reshape(o, oh, ow)


def apply_activation(y: np.ndarray, activation_type: int, params: Sequence[float]) -> np.ndarray:
    """ncnn's fused activations (activation_type 0..6)."""
    if activation_type == 0:
        return y
    if activation_type == 1:
        return np.maximum(y, 0)
    if activation_type == 2:
        slope = np.float32(params[0] if params else 0.0)
        return np.where(y > 0, y, y * slope)
    if activation_type == 3:
        lo = np.float32(params[0] if len(params) > 0 else -np.inf)
        hi = np.float32(params[1] if len(params) > 1 else np.inf)
        return np.clip(y, lo, hi)
    if activation_type == 4:
        return (1.0 / (1.0 + np.exp(-y))).astype(np.float32)
    if activation_type == 5:
        return (y * np.tanh(np.log1p(np.exp(y)))).astype(np.float32)
    if activation_type == 6:
        alpha = np.float32(params[0] if len(params) > 0 else 1.0 / 6)
        beta = np.float32(params[1] if len(params) > 1 else 0.5)
        return y * np.clip(y * alpha + beta, 0, 1)
    raise ValueError("unknown activation_type %d" % activation_type)


class Int8LayerEmulator:
    """One Convolution / ConvolutionDepthWise / InnerProduct run in int8 with
    chosen scales, in numpy, fed the FLOAT input (the "single layer" view).
    It follows ncnn's int8 formulas (quantize the input, integer products,
    dequantize with 1 / (bottom_scale * weight_scale), bias, activation) but
    not its float32 operation order: it is for scale searches, not for
    bit-exact comparisons (those run on the C engine)."""

    def __init__(self, layer):
        self.layer = layer
        self.type = layer.type
        self.num_output = layer.int_param(0, 0)
        self.groups = layer.int_param(7, 1) if layer.type == "ConvolutionDepthWise" else 1
        self.weight = layer.weight("weight").data.astype(np.float32)
        b = layer.weight("bias")
        self.bias = b.data.astype(np.float32) if b is not None else np.zeros(self.num_output, np.float32)
        self.activation_type = layer.int_param(9, 0)
        self.activation_params = layer.float_array(10) or []
        self.pad_value = float(layer.float_param(18, 0.0))
        self.kw = layer.int_param(1, 0)
        self.kh = layer.int_param(11, self.kw)

    def rows(self) -> int:
        return self.groups if self.type == "ConvolutionDepthWise" else self.num_output

    def quantized_weights(self, scales: np.ndarray) -> np.ndarray:
        rows = self.rows()
        w = self.weight.reshape(rows, -1)
        return float2int8(w * np.asarray(scales, np.float32).reshape(rows, 1)).reshape(-1)

    def prepare(self, x: np.ndarray, bottom_scale: float):
        """Quantize the float input once; reusable for many weight candidates."""
        qx = float2int8(np.asarray(x, np.float32) * np.float32(bottom_scale))
        if self.type == "InnerProduct":
            return qx.reshape(-1).astype(np.float64)
        # ncnn pads the int8 input with (signed char)pad_value, not a quantized pad value
        pad_q = int(np.clip(np.trunc(self.pad_value), -128, 127))
        return _im2col(qx, self.layer, pad_q)

    def accumulate_prepared(self, prepared, qw: np.ndarray) -> np.ndarray:
        """int32 sums (as float64), shape (num_output, ...)."""
        if self.type == "InnerProduct":
            return qw.astype(np.float64).reshape(self.num_output, -1) @ prepared
        cols, oh, ow = prepared
        qw4 = qw.reshape(self.num_output, cols.shape[0] // self.groups, self.kh, self.kw)
        return _conv_from_cols(cols, oh, ow, qw4, self.groups)

    def accumulate(self, x: np.ndarray, qw: np.ndarray, bottom_scale: float) -> np.ndarray:
        return self.accumulate_prepared(self.prepare(x, bottom_scale), qw)

    def output_scales(self, weight_scales: np.ndarray) -> np.ndarray:
        """Per output channel weight scale (depthwise: the group's)."""
        ws = np.asarray(weight_scales, np.float32)
        if self.type == "ConvolutionDepthWise":
            return np.repeat(ws, self.num_output // self.groups)
        return ws

    def dequantize(self, acc: np.ndarray, weight_scales: np.ndarray, bottom_scale: float) -> np.ndarray:
        ws = self.output_scales(weight_scales)
        with np.errstate(divide="ignore"):
            scale_in = np.where(ws == 0, np.float32(0),
                                np.float32(1.0) / (np.float32(bottom_scale) * ws)).astype(np.float32)
        shape = (-1,) + (1,) * (acc.ndim - 1)
        y = (acc.astype(np.float32) * scale_in.reshape(shape) + self.bias.reshape(shape)).astype(np.float32)
        return apply_activation(y, self.activation_type, self.activation_params)

    def forward(self, x: np.ndarray, weight_scales: np.ndarray, bottom_scale: float) -> np.ndarray:
        acc = self.accumulate(x, self.quantized_weights(weight_scales), bottom_scale)
        return self.dequantize(acc, weight_scales, bottom_scale)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, np.float64).reshape(-1)
    b = np.asarray(b, np.float64).reshape(-1)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return 1.0 if na == nb else 0.0
    return float(np.dot(a, b) / (na * nb))


class EqSearch:
    """The output-error search of ncnn2table's `eq`, per layer, single-layer
    view (each layer fed its float input, compared with its float output):

    1. each weight scale over [0.5 s, 2 s) in `steps` steps (plus s itself),
       keeping the one with the smallest squared error of that output channel
       (ncnn compares the cosine of the whole output per candidate; the
       per-channel error is separable, so all channels are searched with one
       convolution per step instead of one per channel and step);
    2. then the bottom (activation) scale over [0.5 s, 2 s) (plus s), keeping
       the best mean cosine over the images, as ncnn does.

    Feed it samples with add_weight_sample() for all images, then
    finish_weights(), then add_bottom_sample() for all images, then
    finish_bottom()."""

    def __init__(self, layer, weight_scales: np.ndarray, bottom_scale: float, steps: int = 100):
        self.emu = Int8LayerEmulator(layer)
        self.steps = int(steps)
        self.weight_scales = np.asarray(weight_scales, np.float32).copy()
        self.bottom_scale = float(bottom_scale)
        factors = 0.5 + np.arange(self.steps, dtype=np.float64) * (1.5 / self.steps)
        self.factors = np.concatenate(([1.0], factors))  # index 0: the starting scale
        self.weight_err = np.zeros((self.factors.size, self.emu.rows()), np.float64)
        self.bottom_sim = np.zeros(self.factors.size, np.float64)
        self.images_w = 0
        self.images_b = 0

    def _row_error(self, y: np.ndarray, ref: np.ndarray) -> np.ndarray:
        d = (y.astype(np.float64) - ref.astype(np.float64)).reshape(self.emu.num_output, -1)
        per_out = np.sum(d * d, axis=1)
        if self.emu.type == "ConvolutionDepthWise":
            return per_out.reshape(self.emu.rows(), -1).sum(axis=1)
        return per_out

    def add_weight_sample(self, x: np.ndarray, ref: np.ndarray) -> None:
        live = self.weight_scales > 0
        prepared = self.emu.prepare(x, self.bottom_scale)
        for k, f in enumerate(self.factors):
            ws = np.where(live, self.weight_scales * np.float32(f), 0).astype(np.float32)
            acc = self.emu.accumulate_prepared(prepared, self.emu.quantized_weights(ws))
            y = self.emu.dequantize(acc, ws, self.bottom_scale)
            self.weight_err[k] += self._row_error(y, np.asarray(ref).reshape(y.shape))
        self.images_w += 1

    def finish_weights(self) -> np.ndarray:
        if self.images_w:
            best = np.argmin(self.weight_err, axis=0)  # ties: the earliest, i.e. the starting scale
            f = self.factors[best].astype(np.float32)
            self.weight_scales = np.where(self.weight_scales > 0, self.weight_scales * f, 0).astype(np.float32)
        return self.weight_scales

    def add_bottom_sample(self, x: np.ndarray, ref: np.ndarray) -> None:
        qw = self.emu.quantized_weights(self.weight_scales)
        for k, f in enumerate(self.factors):
            s = self.bottom_scale * f
            y = self.emu.dequantize(self.emu.accumulate(x, qw, s), self.weight_scales, s)
            self.bottom_sim[k] += cosine(y, ref)
        self.images_b += 1

    def finish_bottom(self, similarity: Optional[np.ndarray] = None) -> float:
        """Pick the best bottom scale; `similarity` overrides this layer's own
        scores (layers reading the same tensor are decided together)."""
        sim = self.bottom_sim if similarity is None else similarity
        if self.images_b:
            best = int(np.argmax(sim))  # ties: the starting scale
            self.bottom_scale = float(np.float32(self.bottom_scale * self.factors[best]))
        return self.bottom_scale


def progress_range(total: int, desc: str, enabled: bool, leave: bool = False):
    """range(total), drawn as a tqdm bar on stderr when enabled and tqdm is installed."""
    if enabled:
        try:
            from tqdm import tqdm
        except ImportError:
            pass
        else:
            return tqdm(range(total), desc=desc, unit="img", leave=leave, file=sys.stderr)
    return range(total)


def warn(message: str, sink: Optional[List[str]] = None) -> None:
    if sink is not None:
        sink.append(message)
    warnings.warn(message, CalibrationWarning, stacklevel=3)


ProgressFactory = Callable[[int, str], object]
