"""Run one model of tests/zoo.py through maixnn: export -> convert -> the
engine in float against onnxruntime, then maixnn.quantize (int8) and the int8
model against the float one (and against the official ncnn wheel running the
same int8 files).  Shared by tests/test_zoo.py and tests/zoo_table.py, which
writes the README coverage table from these numbers."""
from __future__ import annotations

import os
import warnings
from typing import Dict, List

import numpy as np

import helpers
import zoo

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
CALIBRATION_IMAGES = 8
EVAL_IMAGES = 4
# the default of maixnn.quantize; the table says which one was used
from maixnn.quantizer import DEFAULT_METHOD as METHOD  # noqa: E402


def synthetic_images(n: int, h: int, w: int, seed: int) -> List[np.ndarray]:
    """u8 HxWx3 images with image-like statistics: smooth colour fields
    (bilinear-upsampled coarse noise), a few edges and a little pixel noise."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        coarse = rng.random((5, 5, 3))
        ys, xs = np.linspace(0, 4, h), np.linspace(0, 4, w)
        y0, x0 = np.minimum(ys.astype(int), 3), np.minimum(xs.astype(int), 3)
        fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
        img = (coarse[y0][:, x0] * (1 - fy) * (1 - fx) + coarse[y0 + 1][:, x0] * fy * (1 - fx)
               + coarse[y0][:, x0 + 1] * (1 - fy) * fx + coarse[y0 + 1][:, x0 + 1] * fy * fx)
        for _ in range(3):  # rectangles: edges
            a, b = sorted(rng.integers(0, h, 2)), sorted(rng.integers(0, w, 2))
            img[a[0]:a[1] + 1, b[0]:b[1] + 1] = rng.random(3)
        img = img * 255 + rng.normal(0, 6, img.shape)
        out.append(np.clip(img, 0, 255).astype(np.uint8))
    return out


def _cos(a, b) -> float:
    return helpers.compare(a, b)[0]


def run_model(name: str, directory: str, int8: bool = True, wheel_int8: bool = True) -> Dict[str, object]:
    """The coverage-table row of zoo model `name` (files go to `directory`)."""
    import maixnn
    from maixnn.runtime import Net

    factory, kind = zoo.ZOO[name]
    model = factory()
    paths = helpers.export_and_convert(model, directory, name="model")
    names = helpers.onnx_output_names(paths.onnx)
    x = helpers.random_input(model.input_shape, seed=5)
    ref = helpers.run_onnxruntime(paths.onnx, x)
    got = Net(paths.param, paths.bin).forward(x, outputs=names)
    float_cos, float_err = 1.0, 0.0
    for n in names:
        cos, err = helpers.assert_close(got[n], ref[n], what="%s %s float vs onnxruntime" % (name, n))
        float_cos = min(float_cos, cos)
        float_err = max(float_err, err / max(float(np.abs(ref[n]).max()), 1e-30))
    row = {"model": name, "kind": kind, "input": "x".join(str(v) for v in model.input_shape),
           "layers": sorted(t for t in paths.report.layer_types if t not in ("Input", "Split")),
           "float_cos": float_cos, "float_rel_err": float_err}
    if not int8:
        return row
    _, h, w = model.input_shape
    calib = synthetic_images(CALIBRATION_IMAGES, h, w, seed=1)
    evals = synthetic_images(EVAL_IMAGES, h, w, seed=2)
    base = os.path.join(str(directory), "model")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = maixnn.quantize(base, base + "_int8", images=calib, mean=MEAN, std=STD, method=METHOD,
                                 fold_normalization=False, progress=False)
    fnet, qnet = Net(paths.param, paths.bin), Net(result.param, result.bin)
    cosines, agree, wheel = [], [], []
    for img in evals:
        xi = np.asarray(result.preprocess(img), np.float32)
        f = fnet.forward(xi, outputs=names)
        q = qnet.forward(xi, outputs=names)
        cosines += [_cos(q[n], f[n]) for n in names]
        if kind == "classifier":
            agree.append(int(np.argmax(q[names[0]]) == np.argmax(f[names[0]])))
        if wheel_int8:
            wq = helpers.run_ncnn(result.param, result.bin, xi, output_names=names)
            wheel += [_cos(q[n], wq[n]) for n in names]
    row.update(int8_method=METHOD, int8_cos=float(np.mean(cosines)), int8_cos_min=float(np.min(cosines)),
               int8_layers=len(result.int8_layers),
               top1=(float(np.mean(agree)) if agree else None),
               wheel_int8_cos=(float(np.min(wheel)) if wheel else None))
    return row


COLUMNS = ["model", "input", "layers", "float cosine", "int8 cosine (mean / min)", "top-1 agree",
           "int8 vs ncnn wheel"]


def table(rows: List[Dict[str, object]]) -> str:
    """The README's markdown table for these rows."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
    for r in rows:
        top1 = "-" if r.get("top1") is None else "%d/%d" % (round(r["top1"] * EVAL_IMAGES), EVAL_IMAGES)
        wheel = "-" if r.get("wheel_int8_cos") is None else "%.6f" % r["wheel_int8_cos"]
        lines.append("| %s | %s | %s | %.7f | %.4f / %.4f | %s | %s |" % (
            r["model"], r["input"], ", ".join(r["layers"]), r["float_cos"], r["int8_cos"], r["int8_cos_min"],
            top1, wheel))
    return "\n".join(lines)
