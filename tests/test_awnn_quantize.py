"""quantize --target awnn (issue 10 part 2): calibration for the V831 NPU's own format.

The scale rules on graphs with known answers (Concat groups by union-find, Split
tops, ReLU inputs, the multiplier grid), then the whole path on the three test
networks (ResNet18-, MobileNetV2-shaped, a detector with Concat): float model ->
quantize(target="awnn") -> awnn .param/.bin/.mud/.table/.json, run on maixnn's
NPU emulation, compared with the float model on natural photos (crops of
scikit-learn's sample images) and with maixnn's ncnn int8 model built from the
same scales.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

from helpers import export_and_convert
from nets import SMALL_NETS

import maixnn
from maixnn import calibration as cal
from maixnn.awnn_calibration import (assign_blob_scales, awnn_multipliers, concat_groups, own_blob_scales,
                                     snap_weight_scales)
from maixnn.errors import OptionError
from maixnn.ncnn_model import Layer, NcnnModel
from maixnn.preprocess import Preprocess

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
METHODS = ("minmax", "kl", "percentile", "aciq", "eq")


# ====================================================================== photos

def photo_crops(count, seed, size=160):
    """Natural-looking uint8 HWC pictures: random square crops (size..2*size)
    of scikit-learn's two sample photos, so that resize + center crop sees
    real image statistics."""
    from sklearn.datasets import load_sample_images
    photos = load_sample_images().images
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        p = photos[i % len(photos)]
        s = int(rng.integers(size, min(2 * size, min(p.shape[:2])) + 1))
        y = int(rng.integers(0, p.shape[0] - s + 1))
        x = int(rng.integers(0, p.shape[1] - s + 1))
        out.append(np.ascontiguousarray(p[y:y + s, x:x + s]))
    return out


def cosine(a, b):
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


# ====================================================================== the rules, on known answers

def test_snap_weight_scales_makes_every_multiplier_exact():
    """awnn stores mult[o] = Q16(wmin / ws[o], 1024): after snapping, that is
    an exact integer for every channel, no scale grows (no weight clips), the
    smallest is unchanged, and no channel loses more than one multiplier step
    of its weight range."""
    rng = np.random.default_rng(0)
    for _ in range(500):
        n = int(rng.integers(1, 70))
        ws = (127.0 / np.abs(rng.standard_normal(n)) ** rng.uniform(0.1, 4)).astype(np.float32)
        ws[rng.random(n) < 0.05] = 0.0   # all-zero channels: 127 / 0 -> 0
        s = snap_weight_scales(ws)
        live = ws > 0
        if not live.any():
            assert np.all(s == 1.0)
            continue
        wmin = np.float64(s.min())
        assert s.min() == ws[live].min()
        exact = wmin / s.astype(np.float64) * 1024.0
        m = awnn_multipliers(s)
        assert np.all(np.abs(exact - m) < 1e-3)
        assert np.all(m >= 1) and np.all(m <= 1024)
        assert np.all(s[live] <= ws[live] * (1 + 1e-6))
        ideal = wmin / ws[live].astype(np.float64) * 1024.0
        assert np.all(s[live] >= ws[live] * ideal / (np.floor(ideal) + 1) * (1 - 1e-6))
        assert np.all(s[~live] == s.max())   # zero channels never set wmin


def test_snap_removes_the_gain_error_of_a_small_multiplier():
    """A channel whose weights are 300x smaller than the other channel's: the
    plain scales give it a multiplier of 3.41 -> 3, i.e. its output 12% too
    small on every pixel; the snapped scales have an exact multiplier (4) and
    only the weight rounding error.  Independent numpy reference of the
    layer's scaling (awnn-format.md 7.2 / 13.4), 200 random inputs."""
    rng = np.random.default_rng(1)
    w = rng.standard_normal((2, 64)).astype(np.float32)
    w[1] /= 300.0
    x = rng.standard_normal((64, 200)).astype(np.float32)
    plain = (np.float32(127) / np.abs(w).max(axis=1)).astype(np.float32)

    def rel_error(ws):
        q = np.clip(np.round(w * ws[:, None]), -127, 127)
        y = (q @ x) * awnn_multipliers(ws)[:, None] / 1024.0 / ws.min()
        ref = w @ x
        return np.linalg.norm(y - ref, axis=1) / np.linalg.norm(ref, axis=1)

    snapped = snap_weight_scales(plain)
    assert awnn_multipliers(plain).tolist() == [1024, 3]
    assert awnn_multipliers(snapped).tolist() == [1024, 4]
    e_plain, e_snap = rel_error(plain), rel_error(snapped)
    assert e_plain[0] == e_snap[0]           # the reference channel is untouched
    assert e_plain[1] > 0.05                 # measured 0.065
    assert e_snap[1] < 0.01                  # measured 0.0078


def _graph():
    """Input -> conv a -> Split (a1, a2); a1 -> concat1(a1, b) -> ab; conv c;
    concat2(ab, c) -> abc; a2 -> ReLU -> ra; conv d -> ReLU -> rd (d read only
    by the ReLU); concat on axis 1 (CPU) of rd and ra -> side."""
    L = Layer
    layers = [
        L("Input", "in", [], ["data"], {0: 8, 1: 8, 2: 3}),
        L("Convolution", "conv_a", ["data"], ["a"], {0: 4, 1: 1, 6: 12}),
        L("Split", "split_a", ["a"], ["a1", "a2"]),
        L("Convolution", "conv_b", ["a1"], ["b0"], {0: 4, 1: 1, 6: 16}),
        L("Split", "split_b", ["b0"], ["b", "bb"]),
        L("Concat", "concat1", ["a1", "b"], ["ab"], {0: 0}),
        L("Convolution", "conv_c", ["bb"], ["c"], {0: 4, 1: 1, 6: 16}),
        L("Concat", "concat2", ["ab", "c"], ["abc"], {0: 0}),
        L("ReLU", "relu_a", ["a2"], ["ra"]),
        L("Convolution", "conv_d", ["abc"], ["d"], {0: 4, 1: 1, 6: 48}),
        L("ReLU", "relu_d", ["d"], ["rd"]),
        L("Concat", "side", ["rd", "ra"], ["side"], {0: 1}),
    ]
    return NcnnModel(layers)


def test_concat_groups_are_transitive_and_only_on_the_npu():
    g = concat_groups(_graph())
    assert [sorted(x) for x in g] == [sorted(["a1", "b", "ab", "c", "abc"])]


def test_assign_blob_scales_follows_the_npu_rules():
    model = _graph()
    blobs = model.blob_names()
    own = {b: 10.0 + i for i, b in enumerate(blobs)}
    own["ab"], own["abc"] = 7.0, 9.0
    d = assign_blob_scales(model, blobs, own)
    s = {b: x.scale for b, x in d.items()}
    # Concat group: the smallest of the Concat outputs' own scales (least clipping)
    for b in ("a1", "b", "ab", "c", "abc"):
        assert s[b] == 7.0 and d[b].rule == "concat"
    # Split tops outside the group take the bottom's scale (no requantize)
    assert s["a2"] == s["a"] == own["a"] and d["a2"].rule == "split"
    assert s["bb"] == s["b0"] == own["b0"]
    # a blob read only by a plain ReLU takes the ReLU output's scale
    assert s["d"] == s["rd"] == own["rd"] and d["d"].rule == "relu"
    # a Split top read by a ReLU is not changed by the ReLU rule (it follows its Split)
    assert s["a2"] != own["ra"]
    # the CPU Concat (axis 1) ties nothing
    assert s["side"] == own["side"] and s["ra"] == own["ra"]
    # eq overrides replace the own scale before the rules
    d2 = assign_blob_scales(model, blobs, own, overrides={"a": 3.0})
    assert d2["a"].scale == 3.0 and d2["a2"].scale == 3.0 and d2["a"].rule == "eq"


def test_outputs_and_softmax_inputs_are_never_clipped():
    """kl clips the tail; a network output or a Softmax input keeps max |x|."""
    model = NcnnModel([Layer("Input", "in", [], ["x"], {0: 4}),
                       Layer("ReLU", "r", ["x"], ["y"]),
                       Layer("Softmax", "sm", ["y"], ["p"])])
    rng = np.random.default_rng(0)
    stats = {}
    for b in ("x", "y", "p"):
        st = cal.BlobStats(b)
        data = [np.abs(rng.standard_normal(4000)).astype(np.float32) for _ in range(3)]
        data[0][0] = 40.0   # one outlier
        for v in data:
            st.add_absmax(v)
        for v in data:
            st.add_histograms(v, True, False)
        stats[b] = st
    own, rec = own_blob_scales(model, ["x", "y", "p"], stats, "kl", 99.99, [])
    assert rec["x"]["method"] == "kl" and own["x"] > 127.0 / 40.0 * 2
    assert rec["y"]["method"] == "minmax" and own["y"] == pytest.approx(127.0 / 40.0)
    assert rec["p"]["method"] == "minmax"


def test_target_is_checked(tmp_path):
    with pytest.raises(OptionError, match="target"):
        maixnn.quantize(str(tmp_path / "nothing"), str(tmp_path / "out"), images=[np.zeros((8, 8, 3), np.uint8)],
                        target="tflite")
