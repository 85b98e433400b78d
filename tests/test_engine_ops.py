"""The engine's layers for real board networks (issue 8) against the official
ncnn wheel: Crop, Slice, ShuffleChannel, Permute, the activations, Deconvolution,
the normalizations, MatMul, Reduction.  Same harness as test_engine_layers
(maixnn.runtime.Net vs the wheel, max |diff| <= 1e-5 * max |ref|), plus an
independent numpy reference where the layer's meaning is what matters."""
from __future__ import annotations

import numpy as np
import pytest

from maixnn.errors import ModelFormatError, RuntimeEngineError, UnsupportedOperatorError
from maixnn.ncnn_model import Layer, NcnnModel, Weight
from maixnn.runtime import Net

from test_engine_layers import check, one_layer, rand, save

pytest.importorskip("ncnn")


# ------------------------------------------------------------------ Crop (slice form)

CROP_CASES = [
    ((6, 5, 7), [1], [4], [0], lambda x: x[1:4]),
    ((6, 5, 7), [1, 2], [-1, 6], [1, 2], lambda x: x[:, 1:-1, 2:6]),
    ((6, 5, 7), [-3], [-233], [-1], lambda x: x[:, :, -3:]),
    ((6, 5, 7), [2, 0, 1], [5, 3, 100], None, lambda x: x[2:5, 0:3, 1:]),
    ((5, 8), [3], [7], [1], lambda x: x[:, 3:7]),
    ((5, 8), [1], [-233], [0], lambda x: x[1:]),
    ((10,), [2], [9], [0], lambda x: x[2:9]),
]


@pytest.mark.parametrize("shape,starts,ends,axes,ref", CROP_CASES, ids=[str(c[:4]) for c in CROP_CASES])
def test_crop_slice_form(tmp_path, shape, starts, ends, axes, ref):
    params = {9: starts, 10: ends}
    if axes is not None:
        params[11] = axes
    x = rand(*shape, seed=2)
    _, got = check(one_layer("Crop", params), {"x": x}, tmp_path, exact=True)
    np.testing.assert_array_equal(got["y"], ref(x))


def test_crop_offset_form_is_refused(tmp_path):
    param, binp = save(one_layer("Crop", {0: 1, 3: 2}), tmp_path)
    with pytest.raises((UnsupportedOperatorError, RuntimeEngineError, ModelFormatError), match="slice form"):
        Net(param, binp)


# ------------------------------------------------------------------ Slice

SLICE_CASES = [
    ((6, 4, 5), [2, 4], 0),
    ((6, 4, 5), [-233, -233, -233], 0),
    ((6, 4, 5), [1, 3], 1),
    ((6, 4, 5), [2, -233], -1),
    ((4, 9), [4, 5], 1),
    ((4, 9), [1, 3], 0),
    ((10,), [3, 3, 4], 0),
]


@pytest.mark.parametrize("shape,slices,axis", SLICE_CASES, ids=[str(c) for c in SLICE_CASES])
def test_slice(tmp_path, shape, slices, axis):
    tops = ["y%d" % i for i in range(len(slices))]
    model = NcnnModel([Layer("Input", "in", [], ["x"]),
                       Layer("Slice", "s", ["x"], tops, {0: slices, 1: axis})])
    x = rand(*shape, seed=3)
    _, got = check(model, {"x": x}, tmp_path, exact=True)
    sizes = [s if s != -233 else None for s in slices]
    rest, left, k = x.shape[axis], len(sizes), 0
    for i, s in enumerate(sizes):
        n = s if s is not None else (rest - k) // (left - i)
        np.testing.assert_array_equal(got[tops[i]], np.take(x, range(k, k + n), axis=axis))
        k += n


# ------------------------------------------------------------------ ShuffleChannel, Permute

@pytest.mark.parametrize("group,reverse", [(2, 0), (3, 0), (4, 1), (1, 0)])
def test_shufflechannel(tmp_path, group, reverse):
    x = rand(12, 3, 4, seed=4)
    _, got = check(one_layer("ShuffleChannel", {0: group, 1: reverse}), {"x": x}, tmp_path, exact=True)
    g = 12 // group if reverse else group
    np.testing.assert_array_equal(got["y"], x.reshape(g, 12 // g, 3, 4).transpose(1, 0, 2, 3).reshape(12, 3, 4))


PERMUTE_3D = {0: (0, 1, 2), 1: (0, 2, 1), 2: (1, 0, 2), 3: (1, 2, 0), 4: (2, 0, 1), 5: (2, 1, 0)}


@pytest.mark.parametrize("order", sorted(PERMUTE_3D))
def test_permute_3d(tmp_path, order):
    x = rand(2, 3, 5, seed=5)
    _, got = check(one_layer("Permute", {0: order}), {"x": x}, tmp_path, exact=True)
    np.testing.assert_array_equal(got["y"], x.transpose(PERMUTE_3D[order]))


@pytest.mark.parametrize("order", [0, 1])
def test_permute_2d(tmp_path, order):
    x = rand(3, 5, seed=6)
    _, got = check(one_layer("Permute", {0: order}), {"x": x}, tmp_path, exact=True)
    np.testing.assert_array_equal(got["y"], x.T if order else x)
