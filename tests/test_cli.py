"""The `maixnn` command, run as a subprocess like a user would: demo, run,
info, and clean one-line errors (exit code 2, no traceback)."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from maixnn.ncnn_model import Layer, NcnnModel, Weight
from maixnn.runtime import Net

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def maixnn_cli(*args, cwd=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "maixnn"] + [str(a) for a in args], cwd=cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=timeout)


def _classifier(tmp_path, h=8, w=8, classes=5, seed=0):
    """Input 3xHxW -> conv 3x3 (4) 'conv' -> ReLU 'relu' -> fc 'output0'."""
    rng = np.random.default_rng(seed)
    wconv = (rng.standard_normal((4, 3, 3, 3)) * 0.3).astype(np.float32)
    wfc = (rng.standard_normal((classes, 4 * h * w)) * 0.2).astype(np.float32)
    bfc = (rng.standard_normal(classes)).astype(np.float32)
    model = NcnnModel([
        Layer("Input", "in", [], ["input0"], {0: w, 1: h, 2: 3}),
        Layer("Convolution", "conv0", ["input0"], ["conv"], {0: 4, 1: 3, 4: 1, 6: wconv.size},
              [Weight("weight", wconv, "tagged")]),
        Layer("ReLU", "relu0", ["conv"], ["relu"]),
        Layer("InnerProduct", "fc0", ["relu"], ["output0"], {0: classes, 1: 1, 2: wfc.size},
              [Weight("weight", wfc, "tagged"), Weight("bias", bfc)]),
    ])
    param, binf = str(tmp_path / "cls.param"), str(tmp_path / "cls.bin")
    model.save(param, binf)
    return param, binf


def test_help_lists_the_stages():
    proc = maixnn_cli("--help")
    assert proc.returncode == 0
    for name in ("export", "convert", "run", "info", "demo"):
        assert re.search(r"^\s+%s\s" % name, proc.stdout, re.M), proc.stdout


def test_info_table_and_memory_numbers(tmp_path):
    param, binf = _classifier(tmp_path)
    proc = maixnn_cli("info", param)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for row in (r"0\s+Input\s+in\s+\[3, 8, 8\]\s+0\s+768 B", r"1\s+Convolution\s+conv0\s+\[4, 8, 8\]\s+108\s+1\.0 KiB",
                r"2\s+ReLU\s+relu0\s+\[4, 8, 8\]\s+0\s+1\.0 KiB", r"3\s+InnerProduct\s+fc0\s+\[5\]\s+1,285\s+20 B"):
        assert re.search(row, out), (row, out)
    assert "Total params: 1,393" in out
    assert "Activations, all blobs kept: 2.8 KiB (2,836 bytes)" in out
    assert "each blob freed after its last use): 2.8 KiB (2,816 bytes)" in out
    assert "(.bin file, %s bytes)" % "{:,}".format(os.path.getsize(binf)) in out

    from maixnn.summary import summarize
    s = summarize(param, binf)
    # blobs: input0 768 B, conv 1024, relu 1024, output0 20
    assert s.activation_total_bytes == 768 + 1024 + 1024 + 20
    # peak while relu0 runs: the given input0 (kept for the whole run, as the
    # engine does) + conv (its input) + relu (its output)
    assert s.activation_peak_bytes == 768 + 2048
    assert s.total_weights == 108 + 1285
    # the engine's measurement (reference kernels): while conv0 runs, the kept
    # input, conv0's output, its padded input copy (3 x 10 x 10 floats) and its
    # weights unpacked from the GEMM panels for the reference kernel (4x3x3x3 floats)
    s = summarize(param, binf, net=Net(param, binf, kernels="ref"))
    assert s.engine_peak_bytes == 768 + 1024 + 1200 + 432
    assert s.estimated_peak_bytes == s.engine_peak_bytes
    # weights held: conv0's panels (1 panel of MXN_GEMM_MR rows x 27, + bias panel) + fc0 as read
    assert s.weight_memory == s.rows[1].weight_memory + 1285 * 4
    assert "Peak engine heap of a forward, measured by the engine: " in out


def test_run_image_with_labels(tmp_path):
    from PIL import Image
    param, binf = _classifier(tmp_path, seed=1)
    img = np.random.default_rng(2).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    Image.fromarray(img).save(str(tmp_path / "pic.png"))
    labels = ["cat", "dog", "bird", "fish", "frog"]
    (tmp_path / "labels.txt").write_text("\n".join(labels) + "\n")
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    proc = maixnn_cli("run", param, tmp_path / "pic.png", "--mean", ",".join(map(str, mean)),
                      "--std", ",".join(map(str, std)), "--labels", tmp_path / "labels.txt", "--top-k", "3",
                      "--softmax")
    assert proc.returncode == 0, proc.stderr
    x = ((img.astype(np.float32) / np.float32(255) - np.array(mean, np.float32)) / np.array(std, np.float32))
    y = Net(param, binf).forward(np.ascontiguousarray(x.transpose(2, 0, 1)))
    p = np.exp(y - y.max()) / np.exp(y - y.max()).sum()
    order = np.argsort(-p)
    lines = [ln.split() for ln in proc.stdout.splitlines() if re.match(r"\s+\d\.\s", ln)]
    assert len(lines) == 3
    for rank, parts in enumerate(lines):
        assert int(parts[1]) == order[rank] and parts[3] == labels[order[rank]]
        assert abs(float(parts[2]) - p[order[rank]]) < 1e-5


def test_run_npy_and_save(tmp_path):
    param, binf = _classifier(tmp_path, seed=3)
    x = np.random.default_rng(4).standard_normal((1, 3, 8, 8)).astype(np.float32)
    np.save(str(tmp_path / "x.npy"), x)
    proc = maixnn_cli("run", tmp_path / "cls", tmp_path / "x.npy", "--outputs", "relu,output0",
                      "--save", tmp_path / "y.npz")
    assert proc.returncode == 0, proc.stderr
    saved = np.load(str(tmp_path / "y.npz"))
    ref = Net(param, binf).forward(x, outputs=["relu", "output0"])
    np.testing.assert_array_equal(saved["relu"], ref["relu"])
    np.testing.assert_array_equal(saved["output0"], ref["output0"])
    assert "relu: shape (4, 8, 8)" in proc.stdout


def test_run_threads_and_kernels(tmp_path):
    # --threads / --kernels reach the engine; the reference kernels with 3
    # threads agree with the default run within the float32 kernels' 1e-5
    param, binf = _classifier(tmp_path, seed=5)
    x = np.random.default_rng(6).standard_normal((3, 8, 8)).astype(np.float32)
    np.save(str(tmp_path / "x.npy"), x)
    proc = maixnn_cli("run", tmp_path / "cls", tmp_path / "x.npy", "--threads", "3", "--kernels", "ref",
                      "--outputs", "conv", "--save", tmp_path / "y.npy")
    assert proc.returncode == 0, proc.stderr
    ref = Net(param, binf, kernels="ref").forward(x, outputs="conv")["conv"]
    np.testing.assert_array_equal(np.load(str(tmp_path / "y.npy")), ref)
    proc = maixnn_cli("run", tmp_path / "cls", tmp_path / "x.npy", "--threads", "0")
    assert proc.returncode == 2 and "num_threads must be an int >= 1" in proc.stderr


def test_run_profile_prints_every_layer_that_ran(tmp_path):
    # --profile N: one line per layer that ran (the Input does not), slowest
    # first, and a per-type summary whose counts are the model's
    param, binf = _classifier(tmp_path, seed=7)
    x = np.random.default_rng(8).standard_normal((3, 8, 8)).astype(np.float32)
    np.save(str(tmp_path / "x.npy"), x)
    proc = maixnn_cli("run", tmp_path / "cls", tmp_path / "x.npy", "--profile", "3")
    assert proc.returncode == 0, proc.stderr
    net = Net(param, binf)
    ran = [l for l in net.layers if l.type != "Input"]
    table = proc.stdout.split("layer times (median ms;", 1)[1].split("by layer type:")
    rows = [line.split() for line in table[0].splitlines()[1:] if line.strip()]
    assert sorted(r[3] for r in rows) == sorted(l.name for l in ran)
    ms = [float(r[0]) for r in rows]
    assert ms == sorted(ms, reverse=True) and min(ms) >= 0.0 and ms[0] > 0.0
    types = {line.split()[2]: line.split()[3] for line in table[1].splitlines() if line.strip()}
    assert types == {t: "x%d" % sum(l.type == t for l in ran) for t in {l.type for l in ran}}
    proc = maixnn_cli("run", tmp_path / "cls", tmp_path / "x.npy", "--profile", "-2")
    assert proc.returncode == 2 and "--profile" in proc.stderr


def test_profile_takes_the_median_per_layer():
    """profile_layers on a stand-in net whose layer times are known: the
    median of each layer's samples, layers that never ran left out."""
    from maixnn.profile import profile_layers
    from maixnn.runtime import LayerInfo

    class FakeNet:
        layers = [LayerInfo(i, t, n, (), (), 0) for i, (t, n) in
                  enumerate([("Input", "in"), ("Convolution", "c"), ("ReLU", "r")])]
        samples = iter([[0, 0.004, 0.001], [0, 0.001, 0.003], [0, 0.002, 0.002], [0, 0.009, 0.001]])

        def forward(self):
            self.layer_times = next(self.samples)

    net = FakeNet()
    rows = profile_layers(net, net.forward, 3)   # the first sample is the warm-up
    assert [(r.name, round(r.ms, 6)) for r in rows] == [("c", 2.0), ("r", 2.0)] or \
        [(r.name, round(r.ms, 6)) for r in rows] == [("r", 2.0), ("c", 2.0)]
    net = FakeNet()
    net.samples = iter([[0, 0.001, 0.0]] * 4)
    assert [r.name for r in profile_layers(net, net.forward, 3)] == ["c"]


@pytest.mark.parametrize("case", ["missing_model", "garbage_param", "wrong_npy_shape", "bad_mean", "bad_output"])
def test_errors_are_one_clean_line(tmp_path, case):
    param, binf = _classifier(tmp_path)
    np.save(str(tmp_path / "x.npy"), np.zeros((3, 8, 8), np.float32))
    np.save(str(tmp_path / "bad.npy"), np.zeros((3, 9, 8), np.float32))
    (tmp_path / "garbage.param").write_text("hello world\n")
    args = {
        "missing_model": ("info", tmp_path / "absent.param"),
        "garbage_param": ("info", tmp_path / "garbage.param"),
        "wrong_npy_shape": ("run", param, tmp_path / "bad.npy"),
        "bad_mean": ("run", param, tmp_path / "x.npy", "--mean", "1,2"),
        "bad_output": ("run", param, tmp_path / "x.npy", "--outputs", "nope"),
    }[case]
    proc = maixnn_cli(*args)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("maixnn %s: error: " % args[0]), proc.stderr
    assert "Traceback" not in proc.stderr


def test_demo_runs_the_whole_pipeline(tmp_path):
    out = tmp_path / "demo"
    proc = maixnn_cli("demo", "--out", out, "--size", "64", timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = proc.stdout
    m = re.search(r"maixnn engine vs onnxruntime: cosine ([0-9.]+), max abs err ([0-9.e+-]+) \(limit ([0-9.e+-]+)\) PASS",
                  text)
    assert m, text
    assert float(m.group(1)) >= 0.99999 and float(m.group(2)) <= float(m.group(3))
    assert re.search(r"MaixPy3 API .* PASS", text)
    assert "Total params:" in text and "demo PASS" in text
    for name in ("demo_resnet.onnx", "demo_resnet.param", "demo_resnet.bin", "demo_resnet.mud", "report.txt",
                 "output_maixnn.npy", "output_onnxruntime.npy", "demo_input.npy"):
        assert (out / name).exists(), name
    # the saved outputs are what was compared
    a, b = np.load(str(out / "output_maixnn.npy")), np.load(str(out / "output_onnxruntime.npy"))
    cos = float(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b))
    assert cos >= 0.99999
