"""maixnn.analyze / `maixnn analyze`: the per-layer numbers are the engine's
(recomputed here independently from the two models' blobs), one row per
quantized layer, single mode really isolates a layer, mixed precision via the
suggested --table command, the CLI, and the refusals."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from helpers import export_and_convert
from nets import SMALL_NETS

import maixnn
from maixnn.analyzer import _suggest, short_layer_names
from maixnn.errors import OptionError
from maixnn.ncnn_model import NcnnModel
from maixnn.runtime import Net

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def _images(n, seed):
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 180, 64, dtype=np.float32)
    return [(rng.integers(0, 70, (64, 64, 3)) + ramp[None, :, None]).astype(np.uint8) for _ in range(n)]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("analyzer")
    export_and_convert(SMALL_NETS["mobilenetv2"](), d, name="mnv2")
    base = str(d / "mnv2")
    maixnn.quantize(base, base + "_int8", images=_images(6, 0), mean=MEAN, std=STD, method="minmax",
                    progress=False)
    return d, base, base + "_int8"


@pytest.fixture(scope="module")
def report(models):
    d, base, int8 = models
    return maixnn.analyze(base, int8, images=_images(3, 1), labels=[1, 2, 3], out_dir=str(d / "report"),
                          progress=False, verbose=False)


def _quantized_layers(param):
    model = NcnnModel.load(param)
    return [l for l in model.layers
            if l.type in ("Convolution", "ConvolutionDepthWise", "InnerProduct") and int(l.params.get(8, 0))]


def _cos(a, b):
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_one_row_per_quantized_layer_and_files(models, report):
    _, _, int8 = models
    layers = _quantized_layers(int8 + ".param")
    assert [r["layer"] for r in report["layers"]] == [l.name for l in layers]
    assert {r["type"] for r in report["layers"]} >= {"Convolution", "ConvolutionDepthWise", "InnerProduct"}
    with open(report["files"]["json"]) as f:
        on_disk = json.load(f)
    assert [r["layer"] for r in on_disk["layers"]] == [l.name for l in layers]
    text = open(report["files"]["text"]).read()
    assert sum(1 for ln in text.splitlines() if any(ln.split()[1:2] == [l.name] for l in layers)) == len(layers)
    assert open(report["files"]["png"], "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert report["images"] == 3 and report["fold"]["folded"]


def test_entire_mode_numbers_are_the_engines(models, report):
    """Recompute the entire-mode cosine of every quantized layer's output from
    the two models run here (int8 blobs dequantized with the layer's top_scale)."""
    _, base, int8 = models
    from maixnn.fold import fold_input_normalization, input_mapping
    original = NcnnModel.load(base + ".param", base + ".bin")
    with open(int8 + ".json") as f:
        fold = json.load(f)["fold"]
    folded, _ = fold_input_normalization(original, fold["per_channel_mean"], norm=fold["per_channel_norm"],
                                         single_mean=fold["single_mean"], single_norm=fold["single_norm"])
    float_net = Net.from_memory(folded.param_text(), folded.bin_bytes())
    int8_net = Net(int8 + ".param", int8 + ".bin")
    A, B = input_mapping(fold)
    layers = _quantized_layers(int8 + ".param")
    tops = [l.tops[0] for l in layers]
    sums = {t: [0.0, 0.0, 0.0] for t in tops}
    for img in _images(3, 1):
        x = ((img.astype(np.float32) / np.float32(255) - np.float32(MEAN)) / np.float32(STD)).transpose(2, 0, 1)
        f = np.ascontiguousarray(x * A.reshape(-1, 1, 1) + B.reshape(-1, 1, 1), dtype=np.float32)
        ref = float_net.forward(f, outputs=tops)
        got = int8_net.forward(f, outputs=tops)
        for l in layers:
            t = l.tops[0]
            g = got[t].astype(np.float64)
            if got[t].dtype == np.int8:
                g = g / float(l.weight("top_scale").data[0]) if l.weight("top_scale") is not None else g
            r = ref[t].astype(np.float64).ravel()
            g = g.ravel()
            sums[t][0] += r @ g
            sums[t][1] += r @ r
            sums[t][2] += g @ g
    for row in report["layers"]:
        dot, rr, gg = sums[row["top"]]
        assert row["entire"]["cosine"] == pytest.approx(dot / np.sqrt(rr * gg), abs=1e-9), row["layer"]


def test_single_mode_isolates_a_layer(report):
    rows = report["layers"]
    # the first int8 layer is fed the model input in both modes: identical numbers
    assert rows[0]["single"]["cosine"] == pytest.approx(rows[0]["entire"]["cosine"], abs=1e-12)
    # deeper down, a layer alone loses less than the whole int8 chain up to it
    deeper = rows[len(rows) // 2:]
    assert sum(r["single"]["cosine"] >= r["entire"]["cosine"] for r in deeper) >= 0.8 * len(deeper)
    assert all(0.9 < r["single"]["cosine"] <= 1.0 for r in rows)


def test_output_summary_and_labels(models, report):
    _, _, int8 = models
    out = report["output"]
    assert 0.0 <= out["top1_agreement"] <= 1.0 and out["top1_disagreements"] == round(3 * (1 - out["top1_agreement"]))
    assert "float_accuracy" in out and "int8_accuracy" in out
    assert report["fold_check"]["cosine"] > 0.9999999


def test_suggested_table_command_keeps_those_layers_float(models, report, tmp_path):
    d, base, int8 = models
    suggested = report["suggested_float_layers"]
    assert suggested and ("--table %s.table" % int8) in report["suggested_command"]
    mixed = str(tmp_path / "mixed")
    from maixnn.quantizer import quantize_from_table
    quantize_from_table(base, int8 + ".table", mixed, float_layers=suggested)
    again = maixnn.analyze(base, mixed, images=_images(2, 1), out_dir=str(tmp_path / "r2"), progress=False,
                           verbose=False)
    names = [r["layer"] for r in again["layers"]]
    assert not set(names) & set(suggested)
    assert len(names) == len(report["layers"]) - len(suggested)


def test_cli_analyze(models, tmp_path):
    d, base, int8 = models
    np.save(str(tmp_path / "imgs.npy"), np.stack(_images(2, 2)))
    out = str(tmp_path / "cli_report")
    proc = subprocess.run([sys.executable, "-m", "maixnn.cli", "analyze", base, int8, "--images",
                           str(tmp_path / "imgs.npy"), "--out", out, "--no-progress", "--no-single"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert proc.returncode == 0, proc.stderr
    assert "top-1 agreement" in proc.stdout and "suggested: --float-layers" in proc.stdout
    with open(os.path.join(out, "analysis.json")) as f:
        doc = json.load(f)
    assert doc["images"] == 2 and all(r["single"] is None for r in doc["layers"])
    # refusals are one clean line, exit code 2
    bad = subprocess.run([sys.executable, "-m", "maixnn.cli", "analyze", int8, base, "--images",
                          str(tmp_path / "imgs.npy"), "--out", out],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert bad.returncode == 2 and "int8" in bad.stderr and "Traceback" not in bad.stderr


def test_refusals(models, tmp_path):
    _, base, int8 = models
    with pytest.raises(OptionError, match="no int8 layer"):
        maixnn.analyze(int8, base, images=_images(1, 0), out_dir=str(tmp_path), verbose=False, progress=False)
    with pytest.raises(OptionError, match="same files"):
        maixnn.analyze(base, base, images=_images(1, 0), out_dir=str(tmp_path), verbose=False, progress=False)
    with pytest.raises(OptionError, match="labels"):
        maixnn.analyze(base, int8, images=_images(2, 0), labels=[1], out_dir=str(tmp_path), verbose=False,
                       progress=False)

    # without matplotlib: a clean error before any work, nothing written
    import builtins
    real_import = builtins.__import__

    def no_matplotlib(name, *a, **k):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("blocked for the test")
        return real_import(name, *a, **k)

    out = tmp_path / "no_mpl"
    builtins.__import__ = no_matplotlib
    try:
        with pytest.raises(OptionError, match="pip install matplotlib"):
            maixnn.analyze(base, int8, images=_images(1, 0), out_dir=str(out), verbose=False, progress=False)
    finally:
        builtins.__import__ = real_import
    assert not out.exists()


def test_suggestion_rule():
    def row(name, cos):
        return {"layer": name, "type": "Convolution", "single": {"cosine": cos, "rel_error": 0.0},
                "entire": {"cosine": cos, "rel_error": 0.0}}
    # one layer far worse than the rest
    worst, picks, _, strength = _suggest([row("a", 0.9999), row("b", 0.985), row("c", 0.99985), row("d", 0.9999)])
    assert picks == ["b"] and strength == "strong" and worst[0]["layer"] == "b"
    # all similar and good: the worst one only, flagged weak
    _, picks, reason, strength = _suggest([row("a", 0.99991), row("b", 0.99990), row("c", 0.99992)])
    assert picks == ["b"] and strength == "weak" and "stands out" in reason
    # exact: nothing to suggest
    _, picks, _, strength = _suggest([row("a", 1.0), row("b", 1.0)])
    assert picks == [] and strength == "none"


def test_short_layer_names():
    assert short_layer_names(["/layer1/layer1.1/conv1/Conv", "/fc/Gemm", "conv_0"]) == \
        ["layer1.1/conv1", "fc", "conv_0"]
