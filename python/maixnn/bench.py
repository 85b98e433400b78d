"""``maixnn bench``: maixnn's engine against the official ncnn wheel and
onnxruntime, in one run on the same machine.

Every case is one network at one input size, float32 and int8, with one
thread and with all threads.  The networks are built here in torch with fixed
random weights (nothing is downloaded) and go through maixnn's own pipeline:
export -> convert -> quantize (minmax on a few synthetic images).  The same
.param/.bin then run on maixnn and on the ncnn wheel (fp16/bf16 off, the same
thread count); onnxruntime runs the exported float ONNX (it has no ncnn int8
model, so its int8 column is empty).  Each engine gets warm-up forwards, then
each gets the median of its timed forwards; with one thread the engines take
turns, one forward each per round, so that all see the same machine state
(with several, each engine's threads would spin on into the next one's turn).  The table gives the ratio maixnn / ncnn (below
1 = maixnn is faster) and maixnn's peak engine heap during a forward
(Net.peak_memory: the blobs held at once plus the running layer's scratch;
weights excluded) beside the heap its loaded weights take (Net.weight_memory).

Networks: ResNet18 (basic blocks), MobileNetV2 (inverted residuals, depthwise
3x3) and a depthwise-heavy net (MobileNetV1-style depthwise 3x3/5x5 and
pointwise pairs), at 224x224; ResNet18 also at 112 and 448 for how the cost
grows.  --quick runs narrow versions at 32x32 with one timed forward (what CI
runs: it checks that the table is made, never the speed).

PC tooling: imports torch, onnx; ncnn and onnxruntime columns are empty when
those packages are missing.
"""
from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .errors import OptionError

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


# ------------------------------------------------------------------ networks

def _networks():
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    def cbr(cin, cout, k, stride=1, groups=1, act="relu"):
        layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
        if act == "relu":
            layers.append(nn.ReLU(inplace=True))
        elif act == "relu6":
            layers.append(nn.ReLU6(inplace=True))
        return nn.Sequential(*layers)

    class Basic(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.a = cbr(cin, cout, 3, stride)
            self.b = cbr(cout, cout, 3, 1, act=None)
            self.short = cbr(cin, cout, 1, stride, act=None) if stride != 1 or cin != cout else None

        def forward(self, x):
            s = x if self.short is None else self.short(x)
            return F.relu(self.b(self.a(x)) + s)

    class ResNet18(nn.Module):
        def __init__(self, width=64, classes=1000):
            super().__init__()
            w = [width, 2 * width, 4 * width, 8 * width]
            blocks, cin = [], w[0]
            for i, c in enumerate(w):
                blocks += [Basic(cin, c, 1 if i == 0 else 2), Basic(c, c, 1)]
                cin = c
            self.stem = nn.Sequential(cbr(3, w[0], 7, 2), nn.MaxPool2d(3, 2, 1))
            self.blocks = nn.Sequential(*blocks)
            self.fc = nn.Linear(w[3], classes)

        def forward(self, x):
            x = self.blocks(self.stem(x))
            return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    class Inverted(nn.Module):
        def __init__(self, cin, cout, stride, expand):
            super().__init__()
            hidden = cin * expand
            layers = [cbr(cin, hidden, 1, act="relu6")] if expand != 1 else []
            layers += [cbr(hidden, hidden, 3, stride, groups=hidden, act="relu6"), cbr(hidden, cout, 1, act=None)]
            self.body = nn.Sequential(*layers)
            self.res = stride == 1 and cin == cout

        def forward(self, x):
            return x + self.body(x) if self.res else self.body(x)

    class MobileNetV2(nn.Module):
        STAGES = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                  (6, 320, 1, 1)]

        def __init__(self, mult=1.0, classes=1000):
            super().__init__()

            def ch(c):
                return max(8, int(c * mult + 4) // 8 * 8)
            cin = ch(32)
            feats = [cbr(3, cin, 3, 2, act="relu6")]
            for t, c, n, s in self.STAGES:
                for i in range(n):
                    feats.append(Inverted(cin, ch(c), s if i == 0 else 1, t))
                    cin = ch(c)
            feats.append(cbr(cin, 1280, 1, act="relu6"))
            self.features = nn.Sequential(*feats)
            self.fc = nn.Linear(1280, classes)

        def forward(self, x):
            return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))

    class DepthwiseNet(nn.Module):
        """MobileNetV1-style: depthwise (3x3 and 5x5, stride 1 and 2) + pointwise pairs."""
        PLAN = [(64, 3, 1), (128, 3, 2), (128, 5, 1), (256, 3, 2), (256, 5, 1), (512, 3, 2), (512, 5, 1),
                (512, 3, 1), (1024, 3, 2), (1024, 5, 1)]

        def __init__(self, mult=1.0, classes=1000):
            super().__init__()
            cin = max(8, int(32 * mult))
            layers = [cbr(3, cin, 3, 2)]
            for c, k, s in self.PLAN:
                c = max(8, int(c * mult))
                layers += [cbr(cin, cin, k, s, groups=cin), cbr(cin, c, 1)]
                cin = c
            self.features = nn.Sequential(*layers)
            self.fc = nn.Linear(cin, classes)

        def forward(self, x):
            return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))

    return {"ResNet18": ResNet18, "MobileNetV2": MobileNetV2, "DepthwiseNet": DepthwiseNet}


def build_network(name: str, quick: bool, seed: int = 0):
    """The torch module of a bench network (eval mode, fixed random weights,
    BatchNorm statistics that are not the identity)."""
    import torch
    factories = _networks()
    torch.manual_seed(seed)
    if name == "ResNet18":
        model = factories[name](width=8 if quick else 64, classes=10 if quick else 1000)
    else:
        model = factories[name](mult=0.25 if quick else 1.0, classes=10 if quick else 1000)
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
                m.weight.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
                m.bias.copy_(torch.randn(n, generator=gen) * 0.1)
    return model.eval()


# ------------------------------------------------------------------ engines

def median_ms(forwards: Dict[str, Callable[[], object]], warmup: int, runs: int, interleave: bool) -> Dict[str, float]:
    """Warm-up forwards of every engine, then `runs` timed ones each; the
    median per engine, in ms.  interleave: the engines take turns, one forward
    each per round, so that all see the same machine state (load from
    elsewhere, clock) and their ratio is fair where the absolute times drift.
    Only for one thread: with several, each engine's idle threads keep
    spinning for a while after its forward (ncnn's OpenMP ~20 ms) and would
    take the cores from the next engine, so then each engine runs its
    forwards in one block."""
    times: Dict[str, List[float]] = {name: [] for name in forwards}

    def timed(name):
        start = time.perf_counter()
        forwards[name]()
        times[name].append(time.perf_counter() - start)

    if interleave:
        for forward in forwards.values():
            for _ in range(warmup):
                forward()
        for _ in range(runs):
            for name in forwards:
                timed(name)
    else:
        for name, forward in forwards.items():
            for _ in range(warmup):
                forward()
            for _ in range(runs):
                timed(name)
    return {name: statistics.median(t) * 1000.0 for name, t in times.items()}


def load_ncnn_net(param_path: str, bin_path: str, threads: int = 1):
    """An ncnn.Net of the OFFICIAL wheel with the model loaded, fp16/bf16 off
    (maixnn computes in float32), `threads` threads."""
    import ncnn
    net = ncnn.Net()
    net.opt.use_fp16_storage = False
    net.opt.use_fp16_arithmetic = False
    net.opt.use_fp16_packed = False
    net.opt.use_bf16_storage = False
    net.opt.num_threads = threads
    if net.load_param(param_path) != 0:
        raise RuntimeError("ncnn could not load %s" % param_path)
    if net.load_model(bin_path) != 0:
        raise RuntimeError("ncnn could not load %s" % bin_path)
    return net


def _ncnn_forward(param: str, binp: str, x: np.ndarray, threads: int):
    """(forward, close) on the ncnn wheel, or None without it."""
    try:
        import ncnn
    except ImportError:
        return None
    net = load_ncnn_net(param, binp, threads)
    mat = ncnn.Mat(x)

    def forward():
        ex = net.create_extractor()
        ex.input("input0", mat)
        ret, out = ex.extract("output0")
        if ret != 0:
            raise RuntimeError("ncnn extract failed (%d)" % ret)
        del out

    return forward, net.clear


def _ort_forward(onnx_path: str, x: np.ndarray, threads: int):
    """forward on onnxruntime, or None without it."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    batch = x[None]
    return lambda: sess.run(None, {name: batch})


def _time_case(param: str, binp: str, onnx_path: Optional[str], x: np.ndarray, threads: int, warmup: int,
               runs: int):
    """maixnn, ncnn (and onnxruntime when onnx_path) on one case (interleaved
    with one thread, see median_ms): (maixnn ms, ncnn ms or None, onnxruntime ms or None, peak bytes, weight bytes)."""
    from .runtime import Net
    with Net(param, binp, num_threads=threads) as net:
        forwards: Dict[str, Callable[[], object]] = {"maixnn": lambda: net.forward(x)}
        theirs = _ncnn_forward(param, binp, x, threads)
        if theirs:
            forwards["ncnn"] = theirs[0]
        ort_forward = _ort_forward(onnx_path, x, threads) if onnx_path else None
        if ort_forward:
            forwards["onnxruntime"] = ort_forward
        try:
            ms = median_ms(forwards, warmup, runs, interleave=threads == 1)
        finally:
            if theirs:
                theirs[1]()
        return ms["maixnn"], ms.get("ncnn"), ms.get("onnxruntime"), net.peak_memory, net.weight_memory


# ------------------------------------------------------------------ the run

def default_cases(quick: bool) -> List[Tuple[str, int]]:
    if quick:
        return [("ResNet18", 32), ("MobileNetV2", 32), ("DepthwiseNet", 32)]
    return [("ResNet18", 224), ("MobileNetV2", 224), ("DepthwiseNet", 224), ("ResNet18", 112), ("ResNet18", 448)]


def _prepare(name: str, size: int, quick: bool, directory: str, images: int):
    import maixnn
    model = build_network(name, quick)
    base = os.path.join(directory, "%s_%d" % (name.lower(), size))
    onnx_path = base + ".onnx"
    maixnn.export(model, onnx_path, input_shape=(3, size, size))
    maixnn.convert(onnx_path, base, mean=IMAGENET_MEAN, std=IMAGENET_STD)
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 200, size, dtype=np.float32)
    pics = [(rng.integers(0, 56, (size, size, 3)) + ramp[None, :, None]).astype(np.uint8) for _ in range(images)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        maixnn.quantize(base, base + "_int8", images=pics, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                        method="minmax", fold_normalization=False, progress=False)
    return onnx_path, base, base + "_int8"


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run_bench(cases: Sequence[Tuple[str, int]], threads: Sequence[int], quick: bool = False,
              warmup: int = 2, runs: int = 10, images: int = 4, log=None) -> List[Dict[str, object]]:
    """Time every case; returns one row per (net, size, dtype, threads)."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="maixnn_bench_") as d:
        for name, size in cases:
            onnx_path, float_base, int8_base = _prepare(name, size, quick, d, images)
            x = np.random.default_rng(1).standard_normal((3, size, size)).astype(np.float32)
            for dtype, base in (("float32", float_base), ("int8", int8_base)):
                param, binp = base + ".param", base + ".bin"
                for t in threads:
                    ours, theirs, ort_ms, peak, weights = _time_case(
                        param, binp, onnx_path if dtype == "float32" else None, x, t, warmup, runs)
                    row = {"net": name, "size": size, "dtype": dtype, "threads": t, "maixnn_ms": ours,
                           "ncnn_ms": theirs, "onnxruntime_ms": ort_ms, "peak_bytes": peak,
                           "weight_bytes": weights,
                           "ratio": ours / theirs if theirs else None}
                    rows.append(row)
                    if log:
                        log(format_row(row))
    return rows


HEADER = ("%-13s %5s %-8s %3s %10s %10s %10s %12s %9s %10s" %
          ("net", "size", "dtype", "thr", "maixnn ms", "ncnn ms", "ort ms", "maixnn/ncnn", "peak MB", "weights MB"))


def format_row(row) -> str:
    def ms(v):
        return "%10.1f" % v if v is not None else "%10s" % "-"
    return "%-13s %5d %-8s %3d %s %s %s %12s %9.2f %10.2f" % (
        row["net"], row["size"], row["dtype"], row["threads"], ms(row["maixnn_ms"]), ms(row["ncnn_ms"]),
        ms(row["onnxruntime_ms"]), "%.2f" % row["ratio"] if row["ratio"] else "-", row["peak_bytes"] / 1e6,
        row.get("weight_bytes", 0) / 1e6)


def configure_parser(p) -> None:
    p.add_argument("--quick", action="store_true",
                   help="narrow nets at 32x32, 1 warm-up + 1 timed forward (checks the bench runs, not speed)")
    p.add_argument("--runs", type=int, help="timed forwards per case, median (default 10; --quick 1)")
    p.add_argument("--warmup", type=int, help="untimed forwards first (default 2; --quick 1)")
    p.add_argument("--threads", help="comma-separated thread counts (default: 1 and all cores)")
    p.add_argument("--nets", help="subset of ResNet18,MobileNetV2,DepthwiseNet (default all)")
    p.add_argument("--calibration-images", type=int, default=4, help="synthetic images for int8 (default 4)")


def run_cli(args) -> int:
    quick = args.quick
    runs = args.runs if args.runs is not None else (1 if quick else 10)
    warmup = args.warmup if args.warmup is not None else (1 if quick else 2)
    if runs < 1 or warmup < 0:
        raise OptionError("--runs must be >= 1 and --warmup >= 0")
    cores = os.cpu_count() or 1
    if args.threads:
        try:
            threads = [int(t) for t in args.threads.split(",") if t.strip()]
        except ValueError:
            raise OptionError("--threads: expected numbers separated by commas, got %r" % args.threads) from None
        if not threads or min(threads) < 1:
            raise OptionError("--threads: every count must be >= 1")
    else:
        threads = [1] if quick or cores == 1 else [1, cores]
    cases = default_cases(quick)
    if args.nets:
        wanted = [n.strip() for n in args.nets.split(",") if n.strip()]
        known = sorted({n for n, _ in cases})
        bad = [n for n in wanted if n not in known]
        if bad:
            raise OptionError("--nets: unknown %s (known: %s)" % (", ".join(bad), ", ".join(known)))
        cases = [c for c in cases if c[0] in wanted]
    from .runtime import Net, loaded_library_path  # noqa: F401  (load the engine before the slow part)
    from .runtime import available_kernels
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print("maixnn bench on %s (%d cores, load average %.1f), kernels %s; %s; median of %d after %d warm-up"
          % (cpu_name(), cores, load, available_kernels()[0], loaded_library_path(), runs, warmup))
    print(HEADER)
    sys.stdout.flush()
    run_bench(cases, threads, quick, warmup, runs, args.calibration_images,
              log=lambda line: (print(line), sys.stdout.flush()))
    return 0
