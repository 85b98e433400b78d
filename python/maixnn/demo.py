"""``maixnn demo``: the whole float pipeline on a built-in network, checked.

1. build maixnn.models.demo_resnet() (ResNet-style, random weights with a fixed
   seed, non-trivial BatchNorm statistics; nothing is downloaded);
2. export it to ONNX (maixnn.export);
3. convert the ONNX to ncnn .param/.bin with maixnn's own converter;
4. make a synthetic RGB picture, normalise it with ImageNet mean/std and run it
   on maixnn's C engine and on onnxruntime; print cosine similarity and max
   abs error against issue 2's bar (cosine >= 0.99999, max err <= 1e-4 * max|y|);
   run the same picture through the MaixPy3-style API (nn.load of a .mud with
   mean' = 255 * mean, norm' = 1 / (255 * std)) and compare too;
5. print the model's info table.

Everything lands in ./maixnn-demo/ (or --out).  Exit code 0 when both
comparisons pass, 1 otherwise.

PC tooling: needs torch, onnx and onnxruntime.
"""
from __future__ import annotations

import os
import time
from typing import Dict

import numpy as np

from .calibration import cosine
from .errors import Error, OptionError
from .ncnn_model import atomic_write

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
COSINE_MIN = 0.99999
REL_MAX_ERR = 1e-4


def compare(got: np.ndarray, ref: np.ndarray):
    """(cosine, max abs error, max |ref|) in float64 over the flattened arrays."""
    g = np.asarray(got, dtype=np.float64).reshape(-1)
    r = np.asarray(ref, dtype=np.float64).reshape(-1)
    if g.size != r.size:
        raise OptionError("cannot compare %d values with %d" % (g.size, r.size))
    return cosine(g, r), float(np.max(np.abs(g - r))), float(np.max(np.abs(r)))


def _passes(cos: float, err: float, scale: float) -> bool:
    return cos >= COSINE_MIN and err <= REL_MAX_ERR * scale


def run_demo(out_dir: str = "maixnn-demo", size: int = 128, seed: int = 0, log=print) -> Dict[str, object]:
    """Run the demo; returns the numbers (also written to out_dir/report.txt)."""
    import torch

    import maixnn
    from . import models, nn, summary

    if size < 32:
        raise OptionError("--size must be at least 32 (the network downsamples by 32)")
    os.makedirs(out_dir, exist_ok=True)
    lines = []

    def say(text=""):
        lines.append(text)
        log(text)

    t0 = time.perf_counter()
    shape = (3, size, size)
    model = models.demo_resnet(seed=seed)
    n_params = sum(p.numel() for p in model.parameters())
    say("maixnn demo: built-in ResNet-style network (seed %d, %s parameters, input 1x%dx%dx%d)"
        % (seed, "{:,}".format(n_params), shape[0], shape[1], shape[2]))

    onnx_path = os.path.join(out_dir, "demo_resnet.onnx")
    maixnn.export(model, onnx_path, input_shape=shape)
    say("[1/5] export   %s" % onnx_path)

    base = os.path.join(out_dir, "demo_resnet")
    report = maixnn.convert(onnx_path, base)
    param_path, bin_path = base + ".param", base + ".bin"
    say("[2/5] convert  %s + .bin (%d ncnn layers, maixnn's converter)" % (param_path, report.layer_count))
    report_text = str(report)
    if len(report_text) < 2000:
        for line in report_text.splitlines():
            say("               " + line)

    image = models.synthetic_image(size, size, seed)
    np.save(os.path.join(out_dir, "demo_input_u8.npy"), image)
    try:
        from PIL import Image
        Image.fromarray(image).save(os.path.join(out_dir, "demo_input.png"))
        image_file = os.path.join(out_dir, "demo_input.png")
    except ImportError:
        image_file = os.path.join(out_dir, "demo_input_u8.npy")
    mean = np.array(IMAGENET_MEAN, np.float32)
    std = np.array(IMAGENET_STD, np.float32)
    x = ((image.astype(np.float32) / np.float32(255.0) - mean) / std).transpose(2, 0, 1)
    x = np.ascontiguousarray(x, dtype=np.float32)
    np.save(os.path.join(out_dir, "demo_input.npy"), x)
    say("[3/5] input    %s (synthetic %dx%d RGB), ImageNet mean/std -> %s"
        % (image_file, size, size, os.path.join(out_dir, "demo_input.npy")))

    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    t = time.perf_counter()
    ref = sess.run(["output0"], {"input0": x[None]})[0].reshape(-1)
    ort_ms = (time.perf_counter() - t) * 1e3
    with torch.no_grad():
        torch_out = model(torch.from_numpy(x[None])).numpy().reshape(-1)

    net = maixnn.Net(param_path, bin_path)
    t = time.perf_counter()
    got = net.forward(x).reshape(-1)
    engine_ms = (time.perf_counter() - t) * 1e3
    np.save(os.path.join(out_dir, "output_maixnn.npy"), got)
    np.save(os.path.join(out_dir, "output_onnxruntime.npy"), ref)
    cos, err, scale = compare(got, ref)
    ok_engine = _passes(cos, err, scale)
    tcos, terr, _ = compare(ref, torch_out)
    say("[4/5] compare  maixnn engine vs onnxruntime: cosine %.9f, max abs err %.3g (limit %.3g) %s"
        % (cos, err, REL_MAX_ERR * scale, "PASS" if ok_engine else "FAIL"))
    say("               (onnxruntime vs torch: cosine %.9f, max abs err %.3g; engine %.1f ms, "
        "onnxruntime %.1f ms, PC)" % (tcos, terr, engine_ms, ort_ms))

    # the same picture through the MaixPy3 API: awnn terms on 0..255
    mean255 = mean.astype(np.float64) * 255.0
    norm255 = 1.0 / (std.astype(np.float64) * 255.0)
    mud_path = base + ".mud"
    mud = nn.mud_text(os.path.basename(param_path), os.path.basename(bin_path),
                      {"input0": ((size, size, 3), mean255, norm255)}, {"output0": (1, 1, got.size)})
    atomic_write(mud_path, mud.encode("utf-8"))
    m = nn.load(mud_path)
    out_nn = m.forward(image.tobytes(), layout="chw").reshape(-1)
    ncos, nerr, nscale = compare(out_nn, ref)
    ok_nn = _passes(ncos, nerr, nscale)
    say("               MaixPy3 API nn.load(%s).forward(image): cosine %.9f, max abs err %.3g %s"
        % (os.path.basename(mud_path), ncos, nerr, "PASS" if ok_nn else "FAIL"))
    probs = nn.F.softmax(got)
    order = np.argsort(-probs, kind="stable")[:3]
    say("               top-3 (random weights, so only a smoke check): "
        + ", ".join("%s %.3f" % (models.DEMO_CLASSES[i] if i < len(models.DEMO_CLASSES) else i, probs[i])
                    for i in order))

    say("[5/5] info     (maixnn info %s)" % param_path)
    table = summary.format_summary(summary.summarize(param_path, bin_path, net=net))
    for line in table.splitlines():
        say(line)
    verdict = "PASS" if ok_engine and ok_nn else "FAIL"
    say("demo %s in %.1f s; files in %s" % (verdict, time.perf_counter() - t0, os.path.abspath(out_dir)))
    with open(os.path.join(out_dir, "report.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    net.close()
    return {"cosine": cos, "max_abs_err": err, "max_abs_ref": scale, "nn_cosine": ncos,
            "nn_max_abs_err": nerr, "passed": ok_engine and ok_nn, "out_dir": out_dir}


# ---------------------------------------------------------------- CLI

def configure_parser(p) -> None:
    p.add_argument("--out", default="maixnn-demo", help="output folder (default ./maixnn-demo)")
    p.add_argument("--size", type=int, default=128, help="input height = width (default 128)")
    p.add_argument("--seed", type=int, default=0, help="seed of the network and the picture (default 0)")


def run_cli(args) -> int:
    for module in ("torch", "onnx", "onnxruntime"):
        try:
            __import__(module)
        except ImportError as exc:
            raise Error("maixnn demo needs torch, onnx and onnxruntime (%s: %s); install them with "
                        "`pip install torch==2.13.0 \"maixnn[tools]\"`" % (module, exc))
    result = run_demo(args.out, size=args.size, seed=args.seed)
    return 0 if result["passed"] else 1
