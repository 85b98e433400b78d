"""Issue 8's operators, torch module -> maixnn.export -> maixnn.convert, run
on maixnn's engine AND the official ncnn wheel, each compared with
onnxruntime (cosine >= 0.99999, max abs err <= 1e-4 * max|y|); the expected
ncnn layer types are asserted so a silent fallback cannot pass."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

pytest.importorskip("onnxruntime")
pytest.importorskip("ncnn")

from helpers import assert_close, export_and_convert, onnx_output_names, param_layers, random_input, run_ncnn, \
    run_onnxruntime  # noqa: E402
from maixnn.runtime import Net  # noqa: E402


class Fn(nn.Module):
    """A module computing fn(self, x); `input_shape` for the exporter."""

    def __init__(self, fn, shape, **mods):
        super().__init__()
        self.fn = fn
        self.input_shape = tuple(shape)
        for k, v in mods.items():
            setattr(self, k, v)

    def forward(self, x):
        return self.fn(self, x)


def run_both(model, tmp_path, name="m", seed=0):
    """Export + convert; maixnn engine and ncnn wheel vs onnxruntime; returns the layer types."""
    torch.manual_seed(seed)
    paths = export_and_convert(model.eval(), tmp_path, name=name)
    x = random_input(model.input_shape, seed=seed)
    names = onnx_output_names(paths.onnx)
    ref = run_onnxruntime(paths.onnx, x)
    got = Net(paths.param, paths.bin).forward(x, outputs=names)
    wheel = run_ncnn(paths.param, paths.bin, x, output_names=names)
    for n in names:
        assert_close(got[n], ref[n], what="%s: maixnn vs onnxruntime" % n)
        assert_close(wheel[n], ref[n], what="%s: ncnn wheel vs onnxruntime" % n)
        assert got[n].size == ref[n].size
    return [l[0] for l in param_layers(paths.param)]


# ----------------------------------------------------------------- slicing

SLICES = {
    "chunk2_c": (lambda m, x: torch.cat(x.chunk(2, dim=1)[::-1], 1) * 2, "Slice"),
    "chunk3_h": (lambda m, x: x.chunk(3, dim=2)[1] + 1, "Crop"),
    "split_sizes_c": (lambda m, x: tuple(t * (i + 1) for i, t in enumerate(torch.split(x, [1, 3, 2], dim=1))),
                      "Slice"),
    "split_w": (lambda m, x: torch.split(x, 4, dim=3)[0] - torch.split(x, 4, dim=3)[1][..., :4], "Slice"),
    "index_c": (lambda m, x: x[:, 2:5] * 3, "Crop"),
    "index_hw": (lambda m, x: x[:, :, 1:-1, 2:7], "Crop"),
    "index_neg": (lambda m, x: x[:, -2:, :, -3:], "Crop"),
}


@pytest.mark.parametrize("name", sorted(SLICES))
def test_slicing(name, tmp_path):
    fn, layer = SLICES[name]
    types = run_both(Fn(fn, (6, 6, 8)), tmp_path, name)
    assert layer in types


def channel_shuffle(x, groups):
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).contiguous().view(n, c, h, w)


@pytest.mark.parametrize("groups", [2, 3, 4])
def test_channel_shuffle_becomes_one_layer(groups, tmp_path):
    conv = nn.Conv2d(3, 12, 1)
    types = run_both(Fn(lambda m, x: channel_shuffle(m.conv(x), groups), (3, 5, 6), conv=conv), tmp_path)
    assert types == ["Input", "Convolution", "ShuffleChannel"]


PERMUTES = [(0, 1, 3, 2), (0, 2, 1, 3), (0, 2, 3, 1), (0, 3, 1, 2), (0, 3, 2, 1)]


@pytest.mark.parametrize("perm", PERMUTES)
def test_permute(perm, tmp_path):
    types = run_both(Fn(lambda m, x: x.permute(*perm) * 2, (3, 4, 5)), tmp_path)
    assert "Permute" in types


def test_permute_2d_tokens(tmp_path):
    # (1, C, H, W) -> tokens (1, HW, C) -> back: what attention blocks do
    def f(m, x):
        t = x.flatten(2).transpose(1, 2)           # (1, HW, C)
        t = t * 2 + 1
        return t.transpose(1, 2).reshape(x.shape)
    types = run_both(Fn(f, (4, 3, 5)), tmp_path)
    assert types.count("Permute") == 2


@pytest.mark.parametrize("dim", [1, 2, 3, -1])
def test_concat_any_axis(dim, tmp_path):
    types = run_both(Fn(lambda m, x: torch.cat([x, x * 2, x[:, :2, :2, :2] if dim == 1 else x + 1][:2]
                                               + [x + 1], dim), (3, 4, 5)), tmp_path)
    assert "Concat" in types


# ----------------------------------------------------------------- activations

ACTS = {
    "silu": (nn.SiLU(), "Swish"),
    "mish": (nn.Mish(), "Mish"),
    "gelu_erf": (nn.GELU(), "GELU"),
    "gelu_tanh": (nn.GELU(approximate="tanh"), "GELU"),
    "prelu_channel": (nn.PReLU(4, 0.1), "PReLU"),
    "prelu_shared": (nn.PReLU(1, 0.3), "PReLU"),
    "hardswish": (nn.Hardswish(), "HardSwish"),
}


@pytest.mark.parametrize("name", sorted(ACTS))
def test_activation_is_one_layer(name, tmp_path):
    act, layer = ACTS[name]
    if isinstance(act, nn.PReLU):
        with torch.no_grad():
            act.weight.copy_(torch.linspace(-0.5, 0.7, act.weight.numel()))
    conv = nn.Conv2d(4, 4, 3, padding=1)
    types = run_both(Fn(lambda m, x: m.act(x * 3) + m.act(m.conv(x)), (4, 6, 6), act=act, conv=conv), tmp_path)
    fused = layer == "HardSwish"  # ncnn's Convolution has it as activation 6
    assert types.count(layer) == (1 if fused else 2) and not {"Erf", "Tanh"} & set(types)
    assert "BinaryOp" in types and types.count("BinaryOp") <= 2  # only the x*3 and the final add


@pytest.mark.parametrize("dim", [1, 2, 3, -1])
def test_softmax_any_axis(dim, tmp_path):
    types = run_both(Fn(lambda m, x: F.softmax(x * 4, dim=dim), (3, 4, 5)), tmp_path)
    assert "Softmax" in types


# ----------------------------------------------------------------- transposed convolution, resize, pad

DECONVS = {
    "k2s2": dict(in_channels=4, out_channels=6, kernel_size=2, stride=2),
    "k3s2p1op1": dict(in_channels=4, out_channels=5, kernel_size=3, stride=2, padding=1, output_padding=1),
    "k4s2p1_nobias": dict(in_channels=4, out_channels=3, kernel_size=4, stride=2, padding=1, bias=False),
    "k3s1p1_dil2": dict(in_channels=4, out_channels=4, kernel_size=3, stride=1, padding=2, dilation=2),
    "rect": dict(in_channels=4, out_channels=2, kernel_size=(3, 2), stride=(2, 1), padding=(1, 0)),
    "group2": dict(in_channels=4, out_channels=6, kernel_size=3, stride=2, padding=1, groups=2),
    "depthwise": dict(in_channels=4, out_channels=4, kernel_size=4, stride=2, padding=1, groups=4),
}


@pytest.mark.parametrize("name", sorted(DECONVS))
def test_conv_transpose(name, tmp_path):
    kw = DECONVS[name]
    deconv = nn.ConvTranspose2d(**kw)
    types = run_both(Fn(lambda m, x: F.relu(m.deconv(x)), (4, 5, 6), deconv=deconv), tmp_path)
    assert ("DeconvolutionDepthWise" if kw.get("groups", 1) > 1 else "Deconvolution") in types


RESIZES = {
    "nearest2x": lambda m, x: F.interpolate(x, scale_factor=2, mode="nearest"),
    "nearest_size": lambda m, x: F.interpolate(x, size=(10, 18), mode="nearest"),
    "bilinear2x": lambda m, x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False),
    "bilinear2x_ac": lambda m, x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True),
    "bilinear_size_ac": lambda m, x: F.interpolate(x, size=(7, 11), mode="bilinear", align_corners=True),
    "upsample_module": lambda m, x: nn.Upsample(scale_factor=2)(x),
}


@pytest.mark.parametrize("name", sorted(RESIZES))
def test_resize_modes(name, tmp_path):
    types = run_both(Fn(RESIZES[name], (3, 5, 6)), tmp_path)
    assert "Interp" in types


@pytest.mark.parametrize("mode", ["reflect", "replicate", "constant"])
def test_pad_modes(mode, tmp_path):
    types = run_both(Fn(lambda m, x: F.pad(x * 2, (1, 2, 2, 1), mode=mode, value=0.5 if mode == "constant" else 0),
                        (3, 5, 6)), tmp_path)
    assert "Padding" in types


# ----------------------------------------------------------------- normalization, attention, reductions

def tokens(x):
    return x.flatten(2).transpose(1, 2)  # (1, C, H, W) -> (1, HW, C)


NORMS = {
    "layernorm_tokens": (lambda m, x: m.ln(tokens(x)), dict(ln=nn.LayerNorm(6)), "LayerNorm"),
    "layernorm_w": (lambda m, x: m.ln(x), dict(ln=nn.LayerNorm(5)), "LayerNorm"),
    "layernorm_hw": (lambda m, x: m.ln(x), dict(ln=nn.LayerNorm([4, 5])), "LayerNorm"),
    "groupnorm": (lambda m, x: m.gn(x), dict(gn=nn.GroupNorm(3, 6)), "GroupNorm"),
    "groupnorm_noaffine": (lambda m, x: m.gn(x), dict(gn=nn.GroupNorm(2, 6, affine=False)), "GroupNorm"),
    "instancenorm": (lambda m, x: m.inorm(x), dict(inorm=nn.InstanceNorm2d(6, affine=True)), "GroupNorm"),
}


@pytest.mark.parametrize("name", sorted(NORMS))
def test_normalization(name, tmp_path):
    fn, mods, layer = NORMS[name]
    torch.manual_seed(3)
    for mod in mods.values():
        for p in mod.parameters():
            with torch.no_grad():
                p.copy_(torch.randn_like(p) * 0.5 + 1)
    types = run_both(Fn(lambda m, x: fn(m, x * 3 + 1), (6, 4, 5), **mods), tmp_path)
    assert layer in types


class Attention(nn.Module):
    """Single-head self-attention on the tokens of a feature map."""

    def __init__(self, dim):
        super().__init__()
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.norm = nn.LayerNorm(dim)
        self.scale = dim ** -0.5
        self.input_shape = (dim, 4, 5)

    def forward(self, x):
        n, c, h, w = x.shape
        t = self.norm(x.flatten(2).transpose(1, 2))
        q, k, v = self.qkv(t).chunk(3, dim=-1)
        a = (q @ k.transpose(1, 2)) * self.scale
        t = self.proj(a.softmax(dim=-1) @ v) + t
        return t.transpose(1, 2).reshape(n, c, h, w)


def test_attention_block(tmp_path):
    types = run_both(Attention(8), tmp_path)
    assert types.count("MatMul") == 4 and {"LayerNorm", "Softmax", "Slice", "Permute"} <= set(types)


REDUCES = {
    "mean_c_keep": lambda m, x: x.mean(dim=1, keepdim=True) * x,
    "sum_hw": lambda m, x: x.sum(dim=(2, 3)),
    "max_w": lambda m, x: x.amax(dim=3, keepdim=True) - x,
    "min_h": lambda m, x: x.amin(dim=2),
    "mean_chw": lambda m, x: x.mean(dim=(1, 2, 3), keepdim=True) + x,
    "mean_hw_pool": lambda m, x: x.mean(dim=(2, 3), keepdim=True) * x,
}


@pytest.mark.parametrize("name", sorted(REDUCES))
def test_reductions(name, tmp_path):
    types = run_both(Fn(REDUCES[name], (3, 4, 5)), tmp_path)
    assert ("Pooling" if name == "mean_hw_pool" else "Reduction") in types


def test_squeeze_unsqueeze_chain_through_5d(tmp_path):
    types = run_both(Fn(lambda m, x: x.unsqueeze(2).squeeze(2) * 2 + x.unsqueeze(-1).flatten(3), (3, 4, 5)),
                     tmp_path)
    assert "Reshape" not in types or types.count("Reshape") <= 1
