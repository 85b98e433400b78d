"""Which calibration method wins across the model zoo (issue 8): every zoo
model (tests/zoo.py) is exported and converted once, then quantized with each
method on the same synthetic calibration images and compared with its float
model on other images (mean output cosine).  Prints a markdown table; the
README's "default method" paragraph quotes its last run.

    PYTHONPATH=python:tests python benchmarks/compare_methods.py [--calib 32] [--eval 8] [--models a,b]

eq is left out by default (minutes per model); add it with --methods.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "python"), os.path.join(HERE, "..", "tests")]


def main(argv=None) -> int:
    import helpers
    import zoo
    import zoo_run
    import maixnn
    from maixnn.runtime import Net

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calib", type=int, default=32, help="calibration images per model (default 32)")
    p.add_argument("--eval", type=int, default=8, help="evaluation images per model (default 8)")
    p.add_argument("--methods", default="minmax,kl,percentile,aciq")
    p.add_argument("--models", default="", help="comma-separated zoo names (default: all)")
    args = p.parse_args(argv)
    methods = [m for m in args.methods.split(",") if m]
    names = [n for n in args.models.split(",") if n] or list(zoo.ZOO)
    rows = []
    for name in names:
        factory, _ = zoo.ZOO[name]
        model = factory()
        _, h, w = model.input_shape
        calib = zoo_run.synthetic_images(args.calib, h, w, seed=11)
        evals = zoo_run.synthetic_images(args.eval, h, w, seed=12)
        with tempfile.TemporaryDirectory() as tmp:
            paths = helpers.export_and_convert(model, tmp, name="model")
            outs = helpers.onnx_output_names(paths.onnx)
            fnet = Net(paths.param, paths.bin)
            row = {"model": name}
            for method in methods:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    r = maixnn.quantize(os.path.join(tmp, "model"), os.path.join(tmp, method), images=calib,
                                        mean=zoo_run.MEAN, std=zoo_run.STD, method=method,
                                        fold_normalization=False, progress=False)
                qnet = Net(r.param, r.bin)
                cos = []
                for img in evals:
                    x = np.asarray(r.preprocess(img), np.float32)
                    f, q = fnet.forward(x, outputs=outs), qnet.forward(x, outputs=outs)
                    cos += [helpers.compare(q[n], f[n])[0] for n in outs]
                row[method] = float(np.mean(cos))
            rows.append(row)
            print("%-22s %s" % (name, "  ".join("%s %.5f" % (m, row[m]) for m in methods)), flush=True)
    print()
    print("| model | " + " | ".join(methods) + " |")
    print("|---|" + "---|" * len(methods))
    for row in rows:
        best = max(methods, key=lambda m: row[m])
        print("| %s | %s |" % (row["model"], " | ".join(("**%.4f**" if m == best else "%.4f") % row[m]
                                                           for m in methods)))
    means = {m: float(np.mean([r[m] for r in rows])) for m in methods}
    worst = {m: float(np.min([r[m] for r in rows])) for m in methods}
    wins = {m: sum(1 for r in rows if max(methods, key=lambda k: r[k]) == m) for m in methods}
    print("| **mean** | " + " | ".join("%.4f" % means[m] for m in methods) + " |")
    print("| **worst** | " + " | ".join("%.4f" % worst[m] for m in methods) + " |")
    print("| **wins** | " + " | ".join("%d" % wins[m] for m in methods) + " |")
    print("\nbest mean cosine: %s" % max(methods, key=lambda m: means[m]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
