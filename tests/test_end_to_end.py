"""Issue 2's "Done when", end to end on maixnn's own C engine:

  torch module -> maixnn.export -> maixnn.convert -> maixnn.Net  ==  onnxruntime

for the ResNet18-, MobileNetV2- and detector-shaped networks of tests/nets.py
(with random BatchNorm statistics) and every idiom net, with cosine >= 0.99999
and max abs error <= 1e-4 * max|y|; and pnnx's own ncnn conversion of the
full ResNet18 (1x3x224x224) runs on maixnn's engine with the same result."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import nets
from helpers import (assert_close, export_and_convert, onnx_output_names, random_input, run_ncnn,
                     run_onnxruntime)
from maixnn.runtime import Net


def _check_engine(paths, model, seed=0):
    x = random_input(model.input_shape, seed=seed)
    ref = run_onnxruntime(paths.onnx, x)
    net = Net(paths.param, paths.bin)
    names = onnx_output_names(paths.onnx)
    assert sorted(net.output_names) == sorted(names)  # graph output names kept
    got = net.forward(x, outputs=names)
    wheel = run_ncnn(paths.param, paths.bin, x, output_names=names)
    results = {}
    for name in names:
        results[name] = assert_close(got[name], ref[name], what="%s vs onnxruntime" % name)
        # the official runtime on the same files agrees at least as tightly
        assert_close(got[name], wheel[name], what="%s vs the ncnn wheel" % name)
    return results


@pytest.mark.parametrize("name", sorted(nets.SMALL_NETS))
def test_three_networks_match_onnxruntime(name, tmp_path):
    model = nets.SMALL_NETS[name](seed=3)
    paths = export_and_convert(model, tmp_path, name=name)
    results = _check_engine(paths, model, seed=3)
    cos, err = results["output0"]
    assert cos >= 0.99999


@pytest.mark.parametrize("name", sorted(nets.IDIOM_NETS))
def test_idiom_networks_match_onnxruntime(name, tmp_path):
    model = nets.IDIOM_NETS[name](seed=1)
    paths = export_and_convert(model, tmp_path, name=name)
    _check_engine(paths, model, seed=1)


# ---------------------------------------------------------------- full size, and pnnx

@pytest.fixture(scope="module")
def resnet18_onnx(tmp_path_factory):
    import maixnn
    model = nets.resnet18_like()  # full ResNet18: widths 64..512, 1000 classes, 224x224
    d = tmp_path_factory.mktemp("resnet18")
    path = str(d / "resnet18.onnx")
    maixnn.export(model, path, input_shape=model.input_shape)
    x = random_input(model.input_shape, seed=11)
    return path, x, run_onnxruntime(path, x)["output0"]


def _pnnx_command():
    # the pip package's console script calls pnnx.pnnx(); calling it through this
    # interpreter finds the same package whether or not a venv's bin/ is on PATH
    return [sys.executable, "-c", "import sys; from pnnx import pnnx; sys.exit(pnnx())"]


def test_pnnx_conversion_of_resnet18_runs_on_maixnn_engine(resnet18_onnx, tmp_path):
    pytest.importorskip("pnnx")  # installed by .ci/run with `pip install --no-deps pnnx`
    src, x, ref = resnet18_onnx
    onnx_path = str(tmp_path / "model.onnx")
    with open(src, "rb") as f, open(onnx_path, "wb") as g:
        g.write(f.read())
    proc = subprocess.run(_pnnx_command() + ["model.onnx", "inputshape=[1,3,224,224]", "fp16=0"],
                          cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=300)
    param, binf = str(tmp_path / "model.ncnn.param"), str(tmp_path / "model.ncnn.bin")
    assert proc.returncode == 0 and os.path.exists(param), proc.stdout[-3000:]
    net = Net(param, binf)
    types = {l.type for l in net.layers}
    assert {"Convolution", "Pooling", "Split", "BinaryOp", "InnerProduct"} <= types  # pnnx's style
    assert net.input_names == ["in0"] and net.output_names == ["out0"]
    got = net.forward(x)
    assert got.shape == (1000,)
    assert_close(got, ref, what="pnnx ResNet18 on maixnn vs onnxruntime")


def test_maixnn_conversion_of_full_resnet18(resnet18_onnx, tmp_path):
    import maixnn
    src, x, ref = resnet18_onnx
    base = str(tmp_path / "resnet18")
    maixnn.convert(src, base)
    net = Net(base + ".param", base + ".bin")
    assert net.input_names == ["input0"] and net.output_names == ["output0"]
    assert net.input_shapes["input0"] == (3, 224, 224)
    # ResNet18's 11,689,512 parameters, minus one of BatchNorm's two per-channel
    # vectors for each of the 4,800 BN channels: folded, each leaves only a conv bias
    assert sum(l.weight_count for l in net.layers) == 11689512 - 4800
    got = net.forward(x)
    assert_close(got, ref, what="maixnn ResNet18 vs onnxruntime")
