"""Helpers shared by the tests: references (onnxruntime, the official ncnn
wheel), array comparison, export + convert into a temporary directory.

Usage:
    paths = export_and_convert(model, tmp_path)          # ModelPaths
    x = random_input(model.input_shape)                  # (1, C, H, W) float32
    ref = run_onnxruntime(paths.onnx, x)                 # {"output0": array}
    got = run_ncnn(paths.param, paths.bin, x)            # {"output0": array (C,H,W) / (W,)}
    assert_close(got["output0"], ref["output0"])
"""
from __future__ import annotations

import os
from typing import Dict, NamedTuple, Optional, Sequence, Tuple

import numpy as np

# The tolerance issue 2 sets for a float pipeline against onnxruntime.
COSINE_MIN = 0.99999
REL_MAX_ERR = 1e-4


class ModelPaths(NamedTuple):
    onnx: str
    param: str
    bin: str
    report: object  # what maixnn.convert returned


def random_input(shape: Sequence[int], seed: int = 0, batch: bool = True) -> np.ndarray:
    """Deterministic float32 input, standard normal; shape (C,H,W) -> (1,C,H,W)
    when batch is True."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(tuple(shape)).astype(np.float32)
    return x[None] if batch and len(shape) == 3 else x


def export_and_convert(model, directory, input_shape: Optional[Sequence[int]] = None,
                       name: str = "model", opset: Optional[int] = None) -> ModelPaths:
    """maixnn.export then maixnn.convert into `directory`; returns the paths."""
    import maixnn
    directory = str(directory)
    shape = tuple(input_shape if input_shape is not None else model.input_shape)
    onnx_path = os.path.join(directory, name + ".onnx")
    kwargs = {} if opset is None else {"opset": opset}
    maixnn.export(model, onnx_path, input_shape=shape, **kwargs)
    base = os.path.join(directory, name)
    report = maixnn.convert(onnx_path, base)
    return ModelPaths(onnx_path, base + ".param", base + ".bin", report)


def onnx_output_names(onnx_path: str):
    import onnxruntime as ort
    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    return [o.name for o in sess.get_outputs()]


def run_onnxruntime(onnx_path: str, x: np.ndarray, input_name: str = "input0") -> Dict[str, np.ndarray]:
    """All graph outputs of the ONNX model, batch dim dropped when it is 1."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim == 3:
        x = x[None]
    names = [o.name for o in sess.get_outputs()]
    outs = sess.run(names, {input_name: x})
    return {n: (o[0] if o.ndim >= 2 and o.shape[0] == 1 else o) for n, o in zip(names, outs)}


def load_ncnn_net(param_path: str, bin_path: str, threads: int = 1):
    """An ncnn.Net of the OFFICIAL wheel with the model loaded, fp16/bf16 off
    (maixnn computes in float32), `threads` threads (maixnn bench's setup)."""
    from maixnn.bench import load_ncnn_net as load
    return load(param_path, bin_path, threads)


def run_ncnn(param_path: str, bin_path: str, x: np.ndarray, input_name: str = "input0",
             output_names: Optional[Sequence[str]] = None, threads: int = 1) -> Dict[str, np.ndarray]:
    """Run a .param/.bin on the OFFICIAL ncnn wheel (the oracle), fp32 only.
    x: (C,H,W) or (1,C,H,W).  Returns {name: float32 array in ncnn's own shape,
    e.g. (C,H,W) or (W,) for a 1-D blob}.  Default outputs: blobs no layer
    consumes, read from the .param."""
    import ncnn
    if output_names is None:
        output_names = param_output_names(param_path)
    net = load_ncnn_net(param_path, bin_path, threads)
    arr = np.ascontiguousarray(x, dtype=np.float32)
    if arr.ndim == 4:
        if arr.shape[0] != 1:
            raise ValueError("batch must be 1")
        arr = np.ascontiguousarray(arr[0])
    results = {}
    # ncnn.Mat(arr) wraps arr's memory without owning it; a first layer that
    # works in place (ReLU, BinaryOp with a scalar...) on such a Mat crashes the
    # wheel, so hand ncnn its own copy.  arr stays referenced until the end anyway.
    mat = ncnn.Mat(arr).clone()
    ex = net.create_extractor()
    ex.input(input_name, mat)
    for name in output_names:
        ret, out = ex.extract(name)
        if ret != 0:
            raise RuntimeError("ncnn could not extract blob %r (ret %d)" % (name, ret))
        results[name] = np.array(out, dtype=np.float32).copy()
        # an extracted Mat still alive when the net goes corrupts the wheel's
        # pool allocator ("destroyed too early"): drop it first
        del out
    del ex, mat, net
    return results


def param_output_names(param_path: str):
    """Blobs that no layer consumes, in order of appearance."""
    with open(param_path) as f:
        lines = f.read().split("\n")[2:]
    tops, consumed = [], set()
    for ln in lines:
        tok = ln.split()
        if len(tok) < 4:
            continue
        nb, nt = int(tok[2]), int(tok[3])
        consumed.update(tok[4:4 + nb])
        tops.extend(tok[4 + nb:4 + nb + nt])
    return [t for t in tops if t not in consumed]


def param_layers(param_path: str):
    """The .param as a list of (type, name, bottoms, tops, {id: raw token})."""
    with open(param_path) as f:
        lines = [ln for ln in f.read().split("\n") if ln.strip()]
    out = []
    for ln in lines[2:]:
        tok = ln.split()
        nb, nt = int(tok[2]), int(tok[3])
        params = {}
        for t in tok[4 + nb + nt:]:
            k, v = t.split("=", 1)
            params[int(k)] = v
        out.append((tok[0], tok[1], tok[4:4 + nb], tok[4 + nb:4 + nb + nt], params))
    return out


def compare(got: np.ndarray, ref: np.ndarray) -> Tuple[float, float, float]:
    """(cosine similarity, max abs error, max |ref|) after flattening; shapes
    must hold the same number of elements (ncnn drops the batch dim and may
    present a 1-D blob as (W,))."""
    g = np.asarray(got, dtype=np.float64).reshape(-1)
    r = np.asarray(ref, dtype=np.float64).reshape(-1)
    if g.size != r.size:
        raise AssertionError("size mismatch: got %s (%d values), reference %s (%d values)"
                             % (np.shape(got), g.size, np.shape(ref), r.size))
    ng, nr = np.linalg.norm(g), np.linalg.norm(r)
    if ng == 0 and nr == 0:
        cos = 1.0
    elif ng == 0 or nr == 0:
        cos = 0.0
    else:
        cos = float(np.dot(g, r) / (ng * nr))
    return cos, float(np.max(np.abs(g - r))) if g.size else 0.0, float(np.max(np.abs(r))) if r.size else 0.0


def assert_close(got: np.ndarray, ref: np.ndarray, cos_min: float = COSINE_MIN,
                 rel_max_err: float = REL_MAX_ERR, what: str = "output") -> Tuple[float, float]:
    """Issue 2's criterion: cosine >= cos_min and max abs error <= rel_max_err * max|ref|.
    Returns (cosine, max abs error) for reporting."""
    cos, err, scale = compare(got, ref)
    assert np.all(np.isfinite(np.asarray(got))), "%s: non-finite values" % what
    assert cos >= cos_min and err <= rel_max_err * scale, (
        "%s: cosine %.8f (need >= %g), max abs err %.3g (need <= %.3g = %g * max|ref| %.4g)"
        % (what, cos, cos_min, err, rel_max_err * scale, rel_max_err, scale))
    return cos, err
