"""Speed of maixnn's C engine against the official ncnn wheel and onnxruntime:
the `maixnn bench` command (python/maixnn/bench.py), runnable from a checkout.

    PYTHONPATH=python python benchmarks/bench_engine.py [--quick] [--runs 10] [--threads 1,2]

Not a test: it prints a table and asserts nothing.  Set MAIXNN_LIBRARY to time
a particular build of libmaixnn.so.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python"))

from maixnn.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["bench"] + sys.argv[1:]))
