"""Reading ncnn layer parameters with ncnn's defaults, for the awnn modules."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..errors import ModelFormatError
from ..ncnn_model import Layer


def pint(l: Layer, pid: int, default: int = 0) -> int:
    v = l.params.get(pid, default)
    if isinstance(v, list):
        raise ModelFormatError("layer %s (%s): parameter %d is an array, an integer was expected"
                               % (l.name, l.type, pid))
    return int(v)


def pfloat(l: Layer, pid: int, default: float = 0.0) -> np.float32:
    v = l.params.get(pid, default)
    if isinstance(v, list):
        raise ModelFormatError("layer %s (%s): parameter %d is an array, a number was expected"
                               % (l.name, l.type, pid))
    return np.float32(v)


class Window(NamedTuple):
    """Kernel, dilation, stride and padding params as stored (SAME modes
    -233/-234 not resolved), with ncnn's defaults applied."""
    kw: int
    kh: int
    dw: int
    dh: int
    sw: int
    sh: int
    pl: int
    pr: int
    pt: int
    pb: int

    @property
    def pad_sum(self) -> int:
        return self.pl + self.pr + self.pt + self.pb


def conv_window(l: Layer) -> Window:
    """Convolution ids: 1/11 kernel, 2/12 dilation, 3/13 stride, 4 left,
    15 right, 14 top, 16 bottom."""
    kw = pint(l, 1)
    dw = pint(l, 2, 1)
    sw = pint(l, 3, 1)
    pl = pint(l, 4)
    pt = pint(l, 14, pl)
    return Window(kw, pint(l, 11, kw), dw, pint(l, 12, dw), sw, pint(l, 13, sw), pl, pint(l, 15, pl), pt,
                  pint(l, 16, pt))


def pool_window(l: Layer) -> Window:
    """Pooling ids: 1/11 kernel, 2/12 stride, 3 left, 14 right, 13 top,
    15 bottom (no dilation: 1)."""
    kw = pint(l, 1)
    sw = pint(l, 2, 1)
    pl = pint(l, 3)
    pt = pint(l, 13, pl)
    return Window(kw, pint(l, 11, kw), 1, 1, sw, pint(l, 12, sw), pl, pint(l, 14, pl), pt, pint(l, 15, pt))
