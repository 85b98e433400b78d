"""IPU_LAYOUT (awnn-format.md section 8): the order in which the V831's NPU
reads int8 weights.  A pure permutation of the ncnn order q[o][c][r][s]:
groups of 8 output channels; within a group either chunks of 32 input
channels x kernel position x output x channel (ordinary layers), or, for the
first layer (param 19 = 1, the input read as HWC image rows), kernel row x
output x kernel column x channel."""
from __future__ import annotations

import numpy as np


def ipu_layout(q: np.ndarray, kh: int, kw: int, ic: int, n: int, first: bool) -> np.ndarray:
    q = np.asarray(q).reshape(n, ic, kh, kw)
    parts = []
    for og in range(0, n, 8):
        g = q[og:og + 8]                      # (on, ic, kh, kw)
        if not first:
            for cg in range(0, ic, 32):
                chunk = g[:, cg:cg + 32].reshape(g.shape[0], -1, kh * kw)   # (on, cn, K)
                parts.append(chunk.transpose(2, 0, 1).reshape(-1))            # [k][o][c]
        else:
            parts.append(g.transpose(2, 0, 3, 1).reshape(-1))                # [r][o][s][c]
    return np.concatenate(parts) if parts else q.reshape(-1)
