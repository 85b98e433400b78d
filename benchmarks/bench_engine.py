"""Speed of maixnn's C engine against the official ncnn wheel on the PC.

Not a test: it prints a table and asserts nothing.  For ResNet18 and a
MobileNetV2-like net at 224x224 (tests/nets.py), float32 and int8 (int8 made by
maixnn.quantize from a few synthetic images), both engines run the same
.param/.bin with the same thread count and fp16/bf16 off: warm-up runs, then
the median wall time of N forwards of one 1x3x224x224 input.  The table also
shows the largest difference between the two engines' outputs (int8: 0, the
engines agree bit for bit; float32: about 1e-6), so that the times compare the
same computation.

    PYTHONPATH=python python benchmarks/bench_engine.py [--runs 10] [--warmup 2]

maixnn's engine runs one thread today (mxn_session_set_num_threads is
reserved), so ncnn gets one thread too unless --threads says otherwise.
Set MAIXNN_LIBRARY to time a particular build of libmaixnn.so.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "python"))
sys.path.insert(0, os.path.join(REPO, "tests"))

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def median_ms(forward, warmup: int, runs: int) -> float:
    for _ in range(warmup):
        forward()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        forward()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000.0


def ncnn_forward(param: str, bin_path: str, x: np.ndarray, threads: int):
    """A closure running the ncnn wheel on x (C,H,W); the net is loaded once."""
    import ncnn
    from helpers import load_ncnn_net
    net = load_ncnn_net(param, bin_path, threads)
    mat = ncnn.Mat(x)

    def forward():
        ex = net.create_extractor()
        ex.input("input0", mat)
        ret, out = ex.extract("output0")
        if ret != 0:
            raise RuntimeError("ncnn extract failed (%d)" % ret)
        del out  # an extracted Mat must not outlive the net (the wheel's allocator)

    # keep the net and the input alive as long as the closure
    forward.keep = (net, mat, x)
    return forward


def prepare_models(name: str, factory, directory: str, calibration_images: int):
    """Export + convert the float model and quantize it; returns the two bases."""
    import maixnn
    model = factory()
    onnx_path = os.path.join(directory, name + ".onnx")
    float_base = os.path.join(directory, name)
    int8_base = float_base + "_int8"
    maixnn.export(model, onnx_path, input_shape=model.input_shape)
    maixnn.convert(onnx_path, float_base)
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 200, 224, dtype=np.float32)
    images = [(rng.integers(0, 56, (224, 224, 3)) + ramp[None, :, None]).astype(np.uint8)
              for _ in range(calibration_images)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # fold_normalization=False: the int8 model takes the same normalised float input
        maixnn.quantize(float_base, int8_base, images=images, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                        method="minmax", fold_normalization=False, progress=False)
    return float_base, int8_base


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10, help="timed forwards per case (median)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed forwards first")
    ap.add_argument("--threads", type=int, default=1, help="ncnn threads (maixnn runs one)")
    ap.add_argument("--calibration-images", type=int, default=4)
    args = ap.parse_args(argv)

    from maixnn.runtime import Net, loaded_library_path
    from helpers import run_ncnn
    from nets import mobilenetv2_like, resnet18_like

    x = np.random.default_rng(1).standard_normal((3, 224, 224)).astype(np.float32)
    rows = []
    with tempfile.TemporaryDirectory(prefix="maixnn_bench_") as d:
        for name, factory in (("ResNet18", resnet18_like), ("MobileNetV2-like", mobilenetv2_like)):
            float_base, int8_base = prepare_models(name.lower().replace("-", "_"), factory, d,
                                                   args.calibration_images)
            for precision, base in (("float32", float_base), ("int8", int8_base)):
                param, bin_path = base + ".param", base + ".bin"
                with Net(param, bin_path) as net:
                    ours_output = np.asarray(net.forward(x)).reshape(-1)
                    ours = median_ms(lambda: net.forward(x), args.warmup, args.runs)
                theirs = median_ms(ncnn_forward(param, bin_path, x, args.threads), args.warmup, args.runs)
                # both engines must have computed the same thing for the times to compare
                reference = run_ncnn(param, bin_path, x, threads=args.threads)["output0"].reshape(-1)
                max_diff = float(np.max(np.abs(ours_output - reference)))
                rows.append((name, precision, ours, theirs, max_diff))
                print("  %s %s: maixnn %.1f ms, ncnn %.1f ms" % (name, precision, ours, theirs),
                      file=sys.stderr, flush=True)

    print("maixnn %s vs ncnn wheel; 1x3x224x224, maixnn 1 thread, ncnn %d thread(s), "
          "median of %d after %d warm-up" % (loaded_library_path(), args.threads, args.runs, args.warmup))
    print("%-18s %-8s %12s %12s %14s %16s" % ("model", "dtype", "maixnn ms", "ncnn ms", "maixnn/ncnn",
                                               "max |out diff|"))
    for name, precision, ours, theirs, max_diff in rows:
        print("%-18s %-8s %12.1f %12.1f %14.2f %16.3g" % (name, precision, ours, theirs, ours / theirs, max_diff))
    return 0


if __name__ == "__main__":
    sys.exit(main())
