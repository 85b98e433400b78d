"""Shared by the awnn tests: where the golden cases are, and small hand-built
float models."""
from __future__ import annotations

import os

import numpy as np

from maixnn.ncnn_model import Layer, NcnnModel, Weight

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def vectors_dir():
    """../shared/reference/awnn-vectors relative to the repository (a git
    worktree one level deeper is also looked at); MAIXNN_AWNN_VECTORS
    overrides.  None when absent."""
    candidates = [os.environ.get("MAIXNN_AWNN_VECTORS", ""),
                  os.path.join(REPO, "..", "shared", "reference", "awnn-vectors"),
                  os.path.join(REPO, "..", "..", "shared", "reference", "awnn-vectors")]
    for c in candidates:
        if c and os.path.isfile(os.path.join(c, "case000", "awnn.param")):
            return os.path.abspath(c)
    return None


def conv(name, bottom, top, cin, cout, k=3, pad=1, bias=True, seed=0, extra=None):
    rng = np.random.default_rng(seed)
    params = {0: cout, 1: k, 4: pad, 5: int(bias), 6: cout * cin * k * k}
    params.update(extra or {})
    weights = [Weight("weight", rng.uniform(-0.5, 0.5, cout * cin * k * k), "tagged")]
    if bias:
        weights.append(Weight("bias", rng.uniform(-0.2, 0.2, cout), "raw"))
    return Layer("Convolution", name, [bottom], [top], params, weights)


def inp(w=8, h=8, c=3, top="data"):
    return Layer("Input", "in", [], [top], {0: w, 1: h, 2: c})


def save(tmp_path, layers, name="m"):
    base = str(tmp_path / name)
    NcnnModel(layers).save(base + ".param", base + ".bin")
    return base


def full_table(model_layers, default=20.0, weights=None, override=None):
    """(weight_scales, blob_scales) covering every blob and every Convolution /
    InnerProduct."""
    blobs = {}
    for l in model_layers:
        for b in l.bottoms + l.tops:
            blobs[b] = default
    blobs.update(override or {})
    ws = {}
    for l in model_layers:
        if l.type in ("Convolution", "InnerProduct"):
            ws[l.name] = [100.0 + i for i in range(int(l.params[0]))]
    ws.update(weights or {})
    return ws, blobs
