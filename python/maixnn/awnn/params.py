"""Reading ncnn layer parameters with ncnn's defaults, for the awnn modules."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..errors import ModelFormatError
from ..ncnn_model import Layer


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
    kw = l.int_param(1)
    dw = l.int_param(2, 1)
    sw = l.int_param(3, 1)
    pl = l.int_param(4)
    pt = l.int_param(14, pl)
    return Window(kw, l.int_param(11, kw), dw, l.int_param(12, dw), sw, l.int_param(13, sw), pl, l.int_param(15, pl), pt,
                  l.int_param(16, pt))


def pool_window(l: Layer) -> Window:
    """Pooling ids: 1/11 kernel, 2/12 stride, 3 left, 14 right, 13 top,
    15 bottom (no dilation: 1)."""
    kw = l.int_param(1)
    sw = l.int_param(2, 1)
    pl = l.int_param(3)
    pt = l.int_param(13, pl)
    return Window(kw, l.int_param(11, kw), 1, 1, sw, l.int_param(12, sw), pl, l.int_param(14, pl), pt, l.int_param(15, pt))
