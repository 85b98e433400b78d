"""Hostile inputs for maixnn's loader: real small models and malformed variants
of them, fuzzer seeds, and the build/run plumbing for the C corpus test and the
libFuzzer harnesses in tests/c.

Used by tests/test_hostile.py, and from the command line:

    python tests/hostile_corpus.py write-corpus tests/corpus   # regenerate the committed corpus
    python tests/hostile_corpus.py fuzz --seconds 600          # build + run every fuzzer longer

Every malformed case is a `Case`: the .param text and .bin bytes, what must
happen ("bad": loading or the first forward must fail with a typed error;
"any": may load, but must never crash), the maixnn.errors classes allowed and
words of which at least one must appear in the message (so the message names
the problem, not just "error").
"""
from __future__ import annotations

import argparse
import os
import shutil
import struct
import subprocess
import sys
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "python"))

from maixnn.ncnn_model import (TAG_FLOAT16, TAG_INT8, Layer, NcnnModel,  # noqa: E402
                               Weight)

SANITIZE_BUILD_DIR = os.path.join(REPO, "build", "sanitize")
FUZZERS = ("fuzz_param", "fuzz_bin", "fuzz_model")


# ---------------------------------------------------------------- real small models

def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def tiny_float_model(seed: int = 0) -> NcnnModel:
    """Input 3x8x8 -> conv(+relu) -> split -> depthwise conv + residual add ->
    batchnorm -> global avg pool -> fc -> softmax: the shapes every real model
    has (weights tagged and raw, a Split, a BinaryOp, fused activation)."""
    r = _rng(seed)
    f = lambda *shape: r.standard_normal(shape).astype(np.float32) * 0.5  # noqa: E731
    layers = [
        Layer("Input", "data", [], ["data"], {0: 8, 1: 8, 2: 3}),
        Layer("Convolution", "conv1", ["data"], ["conv1"],
              {0: 4, 1: 3, 11: 3, 4: 1, 14: 1, 15: 1, 16: 1, 5: 1, 6: 108, 9: 1},
              [Weight("weight", f(108), "tagged"), Weight("bias", f(4))]),
        Layer("Split", "splitncnn_0", ["conv1"], ["conv1_s0", "conv1_s1"]),
        Layer("ConvolutionDepthWise", "dw1", ["conv1_s0"], ["dw1"],
              {0: 4, 1: 3, 11: 3, 4: 1, 14: 1, 15: 1, 16: 1, 5: 1, 6: 36, 7: 4},
              [Weight("weight", f(36), "tagged"), Weight("bias", f(4))]),
        Layer("BinaryOp", "add1", ["dw1", "conv1_s1"], ["add1"], {0: 0}),
        Layer("BatchNorm", "bn1", ["add1"], ["bn1"], {0: 4, 1: 1e-5},
              [Weight("slope", 1 + f(4) * 0.1), Weight("mean", f(4)),
               Weight("var", np.abs(f(4)) + 0.5), Weight("bias", f(4))]),
        Layer("Pooling", "gap", ["bn1"], ["gap"], {0: 1, 4: 1}),
        Layer("InnerProduct", "fc", ["gap"], ["fc"], {0: 5, 1: 1, 2: 20},
              [Weight("weight", f(20), "tagged"), Weight("bias", f(5))]),
        Layer("Softmax", "prob", ["fc"], ["output"], {0: 0, 1: 1}),
    ]
    return NcnnModel(layers)


def tiny_int8_model(seed: int = 1) -> NcnnModel:
    """ncnn's int8 form of a conv -> conv -> fc net: int8-tagged weights,
    per-channel weight scales, bottom scales, one fused requantize (8=102)."""
    r = _rng(seed)
    q = lambda n: r.integers(-127, 128, n).astype(np.int8)  # noqa: E731
    pos = lambda n, lo, hi: r.uniform(lo, hi, n).astype(np.float32)  # noqa: E731
    layers = [
        Layer("Input", "data", [], ["data"], {0: 6, 1: 6, 2: 2}),
        Layer("Convolution", "conv1", ["data"], ["conv1"],
              {0: 3, 1: 3, 11: 3, 4: 1, 14: 1, 15: 1, 16: 1, 5: 1, 6: 54, 8: 102, 9: 1},
              [Weight("weight", q(54), "tagged"), Weight("bias", pos(3, -1, 1)),
               Weight("weight_scales", pos(3, 20, 60)), Weight("bottom_scale", pos(1, 30, 40)),
               Weight("top_scale", pos(1, 10, 20))]),
        Layer("Convolution", "conv2", ["conv1"], ["conv2"],
              {0: 2, 1: 1, 11: 1, 5: 0, 6: 6, 8: 2},
              [Weight("weight", q(6), "tagged"),
               Weight("weight_scales", pos(2, 20, 60)), Weight("bottom_scale", pos(1, 10, 20))]),
        Layer("InnerProduct", "fc", ["conv2"], ["output"], {0: 3, 1: 1, 2: 216, 8: 2},
              [Weight("weight", q(216), "tagged"), Weight("bias", pos(3, -1, 1)),
               Weight("weight_scales", pos(3, 20, 60)), Weight("bottom_scale", pos(1, 5, 10))]),
    ]
    return NcnnModel(layers)


def tiny_zoo_model(seed: int = 2) -> NcnnModel:
    """One of (almost) every layer type the engine knows, chained on a 2x6x6
    input, so the fuzzers reach every layer's load and forward code."""
    r = _rng(seed)
    f = lambda *shape: r.standard_normal(shape).astype(np.float32) * 0.5  # noqa: E731
    layers = [
        Layer("Input", "data", [], ["data"], {0: 6, 1: 6, 2: 2}),
        Layer("Padding", "pad", ["data"], ["pad"], {0: 1, 1: 0, 2: 1, 3: 0, 4: 0, 5: 0.5}),
        Layer("Convolution", "conv", ["pad"], ["conv"],
              {0: 4, 1: 3, 11: 3, 5: 1, 6: 72, 9: 3, 10: [-1.0, 1.0]},
              [Weight("weight", f(72), "tagged"), Weight("bias", f(4))]),
        Layer("Split", "split", ["conv"], ["c0", "c1", "c2", "c3"]),
        Layer("ReLU", "leaky", ["c0"], ["leaky"], {0: 0.1}),
        Layer("Clip", "clip", ["c1"], ["clip"], {0: -0.5, 1: 0.5}),
        Layer("Eltwise", "elt", ["leaky", "clip"], ["elt"], {0: 1, 1: [0.5, 2.0]}),
        Layer("Sigmoid", "sig", ["c2"], ["sig"]),
        Layer("Concat", "cat", ["elt", "sig"], ["cat"], {0: 0}),
        Layer("Scale", "scale", ["cat"], ["scale"], {0: 8, 1: 1},
              [Weight("scale", f(8)), Weight("bias", f(8))]),
        Layer("Bias", "bias", ["scale"], ["bias"], {0: 8}, [Weight("bias", f(8))]),
        Layer("HardSwish", "hswish", ["bias"], ["hswish"], {0: 0.2, 1: 0.5}),
        Layer("Pooling", "maxpool", ["hswish"], ["maxpool"], {0: 0, 1: 2, 2: 2}),
        Layer("Interp", "up", ["maxpool"], ["up"], {0: 1, 1: 2.0, 2: 2.0}),
        Layer("HardSigmoid", "hsig", ["c3"], ["hsig"], {0: 0.2, 1: 0.5}),
        Layer("Pooling", "avgpool", ["hsig"], ["avgpool"], {0: 1, 1: 2, 2: 1, 3: 1, 5: 1}),
        Layer("Concat", "cat2", ["up", "avgpool"], ["cat2"], {0: 0}),
        Layer("Dropout", "drop", ["cat2"], ["drop"]),
        Layer("Flatten", "flat", ["drop"], ["flat"]),
        Layer("InnerProduct", "fc", ["flat"], ["fc"], {0: 6, 1: 0, 2: 12 * 6 * 6 * 6},
              [Weight("weight", f(12 * 6 * 6 * 6), "tagged")]),
        Layer("Reshape", "reshape", ["fc"], ["reshape"], {0: 3, 1: 2}),
        Layer("MemoryData", "const", [], ["const"], {0: 3, 1: 2}, [Weight("data", f(6))]),
        Layer("BinaryOp", "mul", ["reshape", "const"], ["output"], {0: 2}),
    ]
    return NcnnModel(layers)


def tiny_winograd_model(seed: int = 5) -> NcnnModel:
    """Two float 3x3 stride-1 convolutions with 8 and more channels: the
    engine's Winograd F(4,3) path (csrc/conv_winograd.c), partial tiles."""
    r = _rng(seed)
    f = lambda *shape: r.standard_normal(shape).astype(np.float32) * 0.3  # noqa: E731
    layers = [
        Layer("Input", "data", [], ["data"], {0: 7, 1: 9, 2: 8}),
        Layer("Convolution", "wconv1", ["data"], ["wconv1"], {0: 8, 1: 3, 4: 1, 5: 1, 6: 576, 9: 1},
              [Weight("weight", f(576), "tagged"), Weight("bias", f(8))]),
        Layer("Convolution", "wconv2", ["wconv1"], ["output"], {0: 12, 1: 3, 5: 0, 6: 864},
              [Weight("weight", f(864), "tagged")]),
    ]
    return NcnnModel(layers)


def tiny_onnx_model(seed: int = 3):
    """A small ONNX graph as torch's exporter writes one (Conv, BatchNorm, Relu,
    MaxPool, Add with a per-channel constant, GlobalAveragePool, Flatten,
    Gemm, Softmax), built with onnx.helper so no torch is needed.  The
    converter fuzz test mutates it."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    r = _rng(seed)
    f = lambda *shape: r.standard_normal(shape).astype(np.float32) * 0.5  # noqa: E731
    inits = [
        numpy_helper.from_array(f(4, 3, 3, 3), "conv.weight"),
        numpy_helper.from_array(f(4), "conv.bias"),
        numpy_helper.from_array(1 + f(4) * 0.1, "bn.weight"),
        numpy_helper.from_array(f(4), "bn.bias"),
        numpy_helper.from_array(f(4), "bn.mean"),
        numpy_helper.from_array(np.abs(f(4)) + 0.5, "bn.var"),
        numpy_helper.from_array(f(4, 1, 1), "shift"),
        numpy_helper.from_array(f(5, 4), "fc.weight"),
        numpy_helper.from_array(f(5), "fc.bias"),
    ]
    nodes = [
        helper.make_node("Conv", ["input0", "conv.weight", "conv.bias"], ["c"], name="/conv/Conv",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1], dilations=[1, 1], group=1),
        helper.make_node("BatchNormalization", ["c", "bn.weight", "bn.bias", "bn.mean", "bn.var"], ["b"],
                         name="/bn/BatchNormalization", epsilon=1e-5),
        helper.make_node("Relu", ["b"], ["r"], name="/relu/Relu"),
        helper.make_node("MaxPool", ["r"], ["p"], name="/pool/MaxPool", kernel_shape=[2, 2], strides=[2, 2],
                         pads=[0, 0, 0, 0], ceil_mode=0),
        helper.make_node("Add", ["p", "shift"], ["a"], name="/Add"),
        helper.make_node("GlobalAveragePool", ["a"], ["g"], name="/gap/GlobalAveragePool"),
        helper.make_node("Flatten", ["g"], ["fl"], name="/Flatten", axis=1),
        helper.make_node("Gemm", ["fl", "fc.weight", "fc.bias"], ["fc"], name="/fc/Gemm",
                         alpha=1.0, beta=1.0, transB=1),
        helper.make_node("Softmax", ["fc"], ["output0"], name="/Softmax", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("input0", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 5])], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="maixnn-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


BASE_MODELS = {
    "tiny_float": tiny_float_model,
    "tiny_int8": tiny_int8_model,
    "tiny_zoo": tiny_zoo_model,
}


def model_files(model: NcnnModel) -> Tuple[bytes, bytes]:
    return model.param_text().encode("ascii"), model.bin_bytes()


# ---------------------------------------------------------------- malformed variants

class Case(NamedTuple):
    name: str
    param: bytes
    bin: bytes
    expect: str                 # "bad" | "any" | "good"
    errors: Tuple[str, ...]     # acceptable maixnn.errors class names ("bad")
    words: Tuple[str, ...]      # at least one must be in the message (lower case)
    at_load: bool = True        # "bad": must already fail when loading


FORMAT = ("ModelFormatError",)
FORMAT_OR_UNSUPPORTED = ("ModelFormatError", "UnsupportedOperatorError")
LOAD_OR_RUN = ("ModelFormatError", "UnsupportedOperatorError", "InputShapeError", "RuntimeEngineError")


def _lines(param: bytes) -> List[bytes]:
    return param.split(b"\n")


def _replace_line(param: bytes, index: int, new: bytes) -> bytes:
    lines = _lines(param)
    lines[index] = new
    return b"\n".join(lines)


def _layer_line_index(param: bytes, layer_name: str) -> int:
    for i, ln in enumerate(_lines(param)):
        tok = ln.split()
        if len(tok) >= 2 and tok[1] == layer_name.encode():
            return i
    raise KeyError(layer_name)


def _edit_layer(param: bytes, layer_name: str, old: bytes, new: bytes) -> bytes:
    i = _layer_line_index(param, layer_name)
    line = _lines(param)[i]
    if old not in line:
        raise ValueError("%r not in line %r" % (old, line))
    return _replace_line(param, i, line.replace(old, new, 1))


def _retoken(param: bytes, layer_name: str, index: int, new: bytes) -> bytes:
    """Replace whitespace-separated token `index` of a layer line."""
    i = _layer_line_index(param, layer_name)
    tok = _lines(param)[i].split()
    tok[index] = new
    return _replace_line(param, i, b" ".join(tok))


def _set_param(param: bytes, layer_name: str, pid: int, value: str) -> bytes:
    """Replace (or append) `pid=...` on a layer line."""
    i = _layer_line_index(param, layer_name)
    tok = _lines(param)[i].split()
    key = b"%d=" % pid
    tok = [t for t in tok if not t.startswith(key)] + [key + value.encode()]
    return _replace_line(param, i, b" ".join(tok))


def _weights_offset(model: NcnnModel, layer_name: str, weight_name: str) -> Tuple[int, int]:
    """Byte offset of a weight's data (after its tag) in model.bin_bytes(), and its tag size."""
    pos = 0
    for layer in model.layers:
        for w in layer.weights:
            tag = 4 if w.kind == "tagged" else 0
            if layer.name == layer_name and w.name == weight_name:
                return pos + tag, tag
            n = w.data.size * (1 if w.data.dtype == np.int8 else 4)
            pos += tag + n
            pos += -pos % 4
    raise KeyError((layer_name, weight_name))


def _put_f32(data: bytes, offset: int, value: float) -> bytes:
    b = bytearray(data)
    b[offset:offset + 4] = struct.pack("<f", value)
    return bytes(b)


def _put_u32(data: bytes, offset: int, value: int) -> bytes:
    b = bytearray(data)
    b[offset:offset + 4] = struct.pack("<I", value)
    return bytes(b)


def _bitflipped(data: bytes, r: np.random.Generator, flips: int) -> bytes:
    """`data` with `flips` random single-bit flips."""
    b = bytearray(data)
    for _ in range(flips):
        i = int(r.integers(len(b)))
        b[i] ^= 1 << int(r.integers(8))
    return bytes(b)


def malformed_cases() -> List[Case]:
    """The malformed-file corpus, generated from the real small models."""
    fm = tiny_float_model()
    P, B = model_files(fm)
    qm = tiny_int8_model()
    QP, QB = model_files(qm)
    cases: List[Case] = []

    def bad(name, param, bin_=B, errors=FORMAT, words=(), at_load=True):
        cases.append(Case(name, param, bin_, "bad", errors, tuple(w.lower() for w in words), at_load))

    def anything(name, param, bin_=B):
        cases.append(Case(name, param, bin_, "any", LOAD_OR_RUN, ()))

    lines = _lines(P)
    header = lines[1]
    nlayers, nblobs = (int(x) for x in header.split())

    # --- the .param header
    bad("param_empty", b"", words=("magic", "empty", "line 1"))
    bad("param_only_whitespace", b"\n \n\t\n", words=("magic", "empty", "line 1"))
    bad("param_bad_magic", _replace_line(P, 0, b"7767518"), words=("magic", "7767517"))
    bad("param_magic_text", _replace_line(P, 0, b"ncnn"), words=("magic", "7767517"))
    bad("param_no_header", b"7767517\n", words=("layer", "count", "line 2"))
    bad("param_header_text", _replace_line(P, 1, b"nine ten"), words=("layer", "count", "line 2"))
    bad("param_layer_count_high", _replace_line(P, 1, b"%d %d" % (nlayers + 1, nblobs)),
        words=("layer", "line", "end"))
    bad("param_layer_count_low", _replace_line(P, 1, b"%d %d" % (nlayers - 1, nblobs)),
        words=("layer", "line", "count"))
    bad("param_blob_count_high", _replace_line(P, 1, b"%d %d" % (nlayers, nblobs + 1)),
        words=("blob",))
    bad("param_blob_count_low", _replace_line(P, 1, b"%d %d" % (nlayers, nblobs - 1)),
        words=("blob",))
    bad("param_negative_layer_count", _replace_line(P, 1, b"-1 %d" % nblobs),
        words=("layer", "count", "negative"))
    bad("param_negative_blob_count", _replace_line(P, 1, b"%d -7" % nlayers),
        words=("blob", "count", "negative"))
    bad("param_huge_layer_count", _replace_line(P, 1, b"2147483647 %d" % nblobs),
        words=("layer", "count", "line"))
    bad("param_overflowing_counts", _replace_line(P, 1, b"99999999999999999999 99999999999999999999"),
        words=("layer", "count", "line 2", "range"))
    bad("param_zero_layers", _replace_line(P, 1, b"0 0"), words=("layer", "line", "count", "input"))

    # --- truncation and junk
    bad("param_truncated_half", P[:len(P) // 2], words=("line", "layer", "end", "blob", "truncated"))
    bad("param_truncated_mid_token", P[:P.index(b"6=108") + 3],
        words=("line", "layer", "end", "blob", "truncated", "weight", ".bin", "bytes"))
    bad("param_binary_junk", bytes(range(256)) * 4, words=("magic", "text", "nul"))
    bad("param_nul_inside", P.replace(b"conv1", b"co\0v1", 1), words=("line", "nul", "magic", "layer", "blob", "byte", "character"))
    # ncnn itself takes any bytes in names: loading is allowed, crashing is not
    anything("param_non_ascii_name", P.replace(b"conv1 ", "conv\u00e91 ".encode("utf-8"), 1))

    # --- layer lines
    bad("layer_unknown_type", _edit_layer(P, "bn1", b"BatchNorm", b"FancyNorm"),
        errors=("UnsupportedOperatorError",), words=("fancynorm",))
    bad("layer_missing_counts", _replace_line(P, _layer_line_index(P, "gap"), b"Pooling gap"),
        words=("line", "gap", "count"))
    bad("layer_negative_bottom_count", _edit_layer(P, "gap", b" 1 1 ", b" -1 1 "),
        words=("gap", "count", "negative", "line"))
    bad("layer_huge_bottom_count", _edit_layer(P, "gap", b" 1 1 ", b" 2147483647 1 "),
        words=("gap", "count", "line", "bottom"))
    bad("layer_huge_top_count", _edit_layer(P, "gap", b" 1 1 ", b" 1 100000000 "),
        words=("gap", "count", "line", "top"))
    bad("layer_too_few_blob_names", _replace_line(P, _layer_line_index(P, "gap"),
                                                  b"Pooling gap 1 1 bn1"),
        words=("gap", "line", "blob", "top"))
    bad("layer_wrong_bottom_count_for_type", _edit_layer(P, "add1", b" 2 1 dw1 conv1_s1 ", b" 1 1 dw1 "),
        errors=LOAD_OR_RUN, words=("add1", "bottom", "input", "blob"))

    # --- parameters
    bad("param_value_16_chars", _set_param(P, "bn1", 1, "0.0000100000000001"),
        words=("bn1", "15", "long", "token"))
    bad("param_value_1000_chars", _set_param(P, "bn1", 1, "1" * 1000),
        words=("bn1", "15", "long", "token"))
    bad("param_layer_name_5000_chars", _retoken(P, "gap", 1, b"g" * 5000),
        words=("line", "long", "name", "255"))
    bad("param_blob_name_5000_chars", _retoken(_retoken(P, "gap", 5, b"b" * 5000), "fc", 4, b"b" * 5000),
        words=("line", "long", "name", "255"))
    bad("param_id_32", _set_param(P, "gap", 32, "1"), words=("gap", "id", "32", "range"))
    bad("param_id_negative", _set_param(P, "gap", -5, "1"), words=("gap", "id", "-5", "range"))
    bad("param_array_id_32", _set_param(P, "gap", -23332, "1,1"), words=("gap", "id", "32", "range"))
    bad("param_value_not_number", _set_param(P, "gap", 0, "max"), words=("gap", "max", "value", "number"))
    bad("param_not_id_value", _edit_layer(P, "gap", b"0=1", b"0:1"), words=("gap", "0:1", "="))
    bad("param_array_negative_length", _set_param(P, "fc", -23310, "-1,1.0"),
        words=("fc", "array", "length", "negative", "count"))
    bad("param_array_huge_length", _set_param(P, "fc", -23310, "1000000000,1.0"),
        words=("fc", "array", "length", "count", "values"))
    bad("param_array_too_few_values", _set_param(P, "fc", -23310, "3,1.0,2.0"),
        words=("fc", "array", "values", "count", "length"))
    bad("param_array_bad_value", _set_param(P, "fc", -23310, "2,1.0,x"),
        words=("fc", "array", "value", "x"))

    # --- graph structure
    bad("blob_dangling_bottom", _edit_layer(P, "gap", b" bn1 ", b" nowhere "),
        words=("nowhere",))
    bad("blob_self_cycle", _edit_layer(P, "bn1", b" add1 bn1", b" bn1 bn1"),
        words=("bn1", "cycle", "before", "produced", "itself"))
    # dw1 consumes add1, which is computed from dw1: a two-layer cycle
    bad("blob_two_layer_cycle", _edit_layer(P, "dw1", b" conv1_s0 ", b" add1 ").replace(
        b"dw1 conv1_s1 add1", b"dw1 conv1_s0 add1"),
        words=("add1", "cycle", "before", "produced", "dw1"))
    bad("blob_produced_twice", _edit_layer(P, "bn1", b" add1 bn1", b" add1 dw1"),
        words=("dw1", "twice", "already", "produced"))
    bad("blob_consumed_before_produced", _edit_layer(P, "dw1", b" conv1_s0 ", b" gap "),
        words=("gap", "before", "produced", "dw1"))

    # --- shapes and sizes
    bad("input_huge_dims", _edit_layer(P, "data", b"0=8 1=8 2=3", b"0=2147483647 1=2147483647 2=2147483647"),
        errors=LOAD_OR_RUN, words=("data", "large", "overflow", "shape", "size", "memory"), at_load=False)
    bad("input_negative_dims", _edit_layer(P, "data", b"0=8 1=8 2=3", b"0=-8 1=8 2=3"),
        errors=LOAD_OR_RUN, words=("data", "negative", "shape", "-8", "input"), at_load=False)
    bad("conv_huge_num_output", _set_param(P, "conv1", 0, "2147483647"),
        errors=LOAD_OR_RUN, words=("conv1",))
    bad("conv_huge_weight_size", _set_param(P, "conv1", 6, "2147483647"),
        words=("conv1", "truncated", "bytes", "weight", "size", "large"))
    bad("conv_negative_weight_size", _set_param(P, "conv1", 6, "-108"),
        words=("conv1", "negative", "weight", "size"))
    bad("conv_weight_size_not_divisible", _set_param(P, "conv1", 6, "107"),
        errors=LOAD_OR_RUN, words=("conv1", "weight", "size", "divis", "channel"), at_load=False)
    bad("conv_zero_kernel", _set_param(_set_param(P, "conv1", 1, "0"), "conv1", 11, "0"),
        errors=LOAD_OR_RUN, words=("conv1", "kernel"), at_load=False)
    bad("conv_negative_kernel", _set_param(P, "conv1", 1, "-3"),
        errors=LOAD_OR_RUN, words=("conv1", "kernel"), at_load=False)
    bad("conv_zero_stride", _set_param(P, "conv1", 3, "0"),
        errors=LOAD_OR_RUN, words=("conv1", "stride"), at_load=False)
    bad("conv_huge_dilation", _set_param(P, "conv1", 2, "1000000000"),
        errors=LOAD_OR_RUN, words=("conv1", "dilation", "kernel", "output", "small", "size"), at_load=False)
    bad("conv_kernel_larger_than_input", _set_param(_set_param(P, "conv1", 1, "100"), "conv1", 11, "100"),
        errors=LOAD_OR_RUN, words=("conv1",), at_load=False)
    bad("dw_group_zero", _set_param(P, "dw1", 7, "0"),
        errors=LOAD_OR_RUN, words=("dw1", "group"), at_load=False)
    bad("dw_group_not_dividing", _set_param(P, "dw1", 7, "3"),
        errors=LOAD_OR_RUN, words=("dw1", "group", "divis", "channel"), at_load=False)
    bad("pool_zero_kernel", _set_param(_set_param(P, "gap", 4, "0"), "gap", 1, "0"),
        errors=LOAD_OR_RUN, words=("gap", "kernel"), at_load=False)
    bad("pool_huge_padding", _set_param(_set_param(P, "gap", 4, "0"), "gap", 3, "2147483647"),
        errors=LOAD_OR_RUN, words=("gap", "pad", "large", "overflow", "size"), at_load=False)
    bad("fc_weight_size_mismatch", _set_param(P, "fc", 2, "24"),
        errors=LOAD_OR_RUN, words=("fc", "weight", "bytes", "truncated", "left"))
    bad("batchnorm_negative_channels", _set_param(P, "bn1", 0, "-4"),
        words=("bn1", "negative", "channel", "size"))

    # --- the .bin
    bad("bin_empty", P, b"", words=("conv1", "truncated", "bytes", "end", "offset"))
    bad("bin_truncated_1", P, B[:-1], words=("truncated", "bytes", "end", "offset"))
    bad("bin_truncated_half", P, B[:len(B) // 2], words=("truncated", "bytes", "end", "offset"))
    bad("bin_extra_bytes", P, B + b"\0" * 8, words=("left over", "8 bytes", "extra", "trailing"))
    off, _ = _weights_offset(fm, "conv1", "weight")
    bad("bin_unknown_tag", P, _put_u32(B, off - 4, 0x12345678),
        words=("conv1", "tag", "truncated", "bytes", "offset"))
    bad("bin_float16_tag_on_float_data", P, _put_u32(B, off - 4, TAG_FLOAT16),
        words=("conv1", "left over", "bytes", "tag"))
    bad("bin_int8_tag_without_scales", P, _put_u32(B, off - 4, TAG_INT8),
        errors=LOAD_OR_RUN, words=("conv1", "int8", "scale", "left over", "bytes", "tag"))
    for what, value in (("nan", float("nan")), ("inf", float("inf")), ("neg_inf", float("-inf"))):
        bad("bin_%s_conv_weight" % what, P, _put_f32(B, off + 8, value),
            words=("conv1", "nan", "inf", "finite"))
    boff, _ = _weights_offset(fm, "bn1", "var")
    bad("bin_nan_batchnorm_var", P, _put_f32(B, boff, float("nan")),
        words=("bn1", "nan", "inf", "finite"))
    boff, _ = _weights_offset(fm, "fc", "bias")
    bad("bin_inf_fc_bias", P, _put_f32(B, boff + 4, float("inf")),
        words=("fc", "nan", "inf", "finite"))

    # --- int8 specifics
    soff, _ = _weights_offset(qm, "conv2", "bottom_scale")
    bad("int8_zero_bottom_scale", QP, _put_f32(QB, soff, 0.0),
        errors=LOAD_OR_RUN, words=("conv2", "scale"))
    bad("int8_negative_bottom_scale", QP, _put_f32(QB, soff, -3.0),
        errors=LOAD_OR_RUN, words=("conv2", "scale"))
    bad("int8_nan_bottom_scale", QP, _put_f32(QB, soff, float("nan")),
        errors=LOAD_OR_RUN, words=("conv2", "scale", "nan", "finite"))
    woff, _ = _weights_offset(qm, "conv1", "weight_scales")
    bad("int8_inf_weight_scale", QP, _put_f32(QB, woff, float("inf")),
        errors=LOAD_OR_RUN, words=("conv1", "scale", "inf", "finite"))
    toff, _ = _weights_offset(qm, "conv1", "top_scale")
    bad("int8_zero_top_scale", QP, _put_f32(QB, toff, 0.0),
        errors=LOAD_OR_RUN, words=("conv1", "scale"))
    qoff, _ = _weights_offset(qm, "fc", "weight")
    bad("int8_float_tag_on_int8_layer", QP, _put_u32(QB, qoff - 4, 0),
        errors=LOAD_OR_RUN, words=("fc", "truncated", "bytes", "int8", "tag", "offset"))
    bad("int8_scale_term_unknown", _set_param(QP, "conv2", 8, "7"), QB,
        errors=LOAD_OR_RUN, words=("conv2", "int8", "scale", "8=7", "7"))

    # --- bit flips and byte garbage: the outcome may be a working model, never a crash
    r = np.random.default_rng(1234)
    for k in range(24):
        anything("bitflip_param_%02d" % k, _bitflipped(P, r, 1 + k % 3))
    for k in range(24):
        anything("bitflip_bin_%02d" % k, P, _bitflipped(B, r, 1 + k % 4))
    for k in range(8):
        anything("bitflip_int8_bin_%02d" % k, QP, _bitflipped(QB, r, 1))
    cases.extend(awnn_malformed_cases())
    return cases


def awnn_base_models() -> Dict[str, Tuple[bytes, bytes]]:
    """Hand-built awnn (V831 NPU) models: every NPU layer type, CPU layers, both boundaries."""
    from awnn_build import branch_models
    return {"awnn_" + name: (f.text().encode("ascii"), f.data()) for name, f in branch_models().items()}


def awnn_malformed_cases() -> List[Case]:
    """Malformed awnn files (the V831's own format): tagged int8/int16 blocks,
    -23328/-23329, shifts and int16 fields, the NPU layout's sizes."""
    models = awnn_base_models()
    P, B = models["awnn_conv_chain"]
    EP, EB = models["awnn_eltwise_pool"]
    cases: List[Case] = []

    def bad(name, param, bin_=B, errors=FORMAT, words=(), at_load=True):
        cases.append(Case(name, param, bin_, "bad", errors, tuple(w.lower() for w in words), at_load))

    # .bin blocks: the first conv's int8 weights start after a 4-byte tag
    bad("awnn_short_int8_block", P, B[:200], words=("c1", "truncated", "int8"))
    bad("awnn_only_tag", P, B[:4], words=("c1", "truncated", "int8"))
    bad("awnn_bad_int8_tag", P, _put_u32(B, 0, 0x01306B47), words=("c1", "tag"))
    c1_bytes = 4 + 864 + 4 + 24 + 4 + 24       # c1: weights, bias, multipliers
    bad("awnn_bad_int16_tag", P, _put_u32(B, 4 + 864, 0x000D4B38), words=("c1", "tag", "int16"))
    bad("awnn_float_tag_on_int16", P, _put_u32(B, c1_bytes - 28, 0), words=("c1", "tag", "int16"))
    # an int16 block of the wrong length: BatchNorm says 8 channels, its block holds 9 (A, B) pairs
    bad("awnn_int16_block_wrong_length", _edit_layer(P, "bn", b" 0=9 ", b" 0=8 "),
        errors=LOAD_OR_RUN, words=("tag", "fc", "bn", "length", "channels"))
    bad("awnn_bin_extra_bytes", P, B + b"\0" * 8, words=("left over", "bytes"))
    # -23328 / -23329
    bad("awnn_missing_top_scales", _edit_layer(P, "r1", b" -23329=1,64.000000", b""), words=("r1", "-23329"))
    bad("awnn_missing_device", _edit_layer(P, "r1", b" -23328=1,1", b""), words=("r1", "-23328"))
    bad("awnn_unannotated_layer", _edit_layer(P, "r1", b" -23328=1,1 -23329=1,64.000000", b""),
        words=("r1", "-23328", "-23329"))
    bad("awnn_zero_scale", _edit_layer(P, "r1", b"-23329=1,64.000000", b"-23329=1,0.000000"),
        words=("r1", "scale"))
    bad("awnn_negative_scale", _edit_layer(P, "c2", b"-23329=1,64.000000", b"-23329=1,-2.5"),
        words=("c2", "scale"))
    bad("awnn_nan_scale", _edit_layer(P, "c2", b"-23329=1,64.000000", b"-23329=1,nan"),
        words=("c2", "nan", "float"))
    bad("awnn_huge_scale", _edit_layer(P, "c2", b"-23329=1,64.000000", b"-23329=1,1e39"),
        words=("c2", "float", "1e39"))
    bad("awnn_scale_count", _edit_layer(P, "c2", b"-23329=1,64.000000", b"-23329=2,64.0,3.0"),
        words=("c2", "-23329", "top"))
    bad("awnn_bad_device", _edit_layer(P, "c2", b"-23328=1,1", b"-23328=1,7"), words=("c2", "-23328", "device"))
    bad("awnn_input_on_npu", _edit_layer(P, "in", b"-23328=1,0", b"-23328=1,1"), words=("in", "input", "npu"))
    # shifts and int16 fields
    bad("awnn_shift_64", _edit_layer(P, "r1", b"22=14", b"22=64"), words=("r1", "shift", "22"))
    bad("awnn_negative_shift", _edit_layer(P, "c1", b"22=24", b"22=-1"), words=("c1", "shift", "22"))
    bad("awnn_bias_shift_out_of_range", _edit_layer(P, "c1", b"27=11", b"27=99"), words=("c1", "shift", "27"))
    bad("awnn_multiplier_not_int16", _edit_layer(P, "c1", b"21=20001", b"21=40000"), words=("c1", "int16", "21"))
    bad("awnn_eltwise_shift", _edit_layer(EP, "sum0", b"18=14", b"18=70"), EB, words=("sum0", "shift", "18"))
    bad("awnn_eltwise_p16", _edit_layer(EP, "sum0", b"0=1 ", b"0=1 16=2 "), EB, words=("sum0", "16"))
    bad("awnn_eltwise_max", _edit_layer(EP, "sum0", b"0=1 ", b"0=2 "), EB,
        errors=("UnsupportedOperatorError",), words=("sum0", "max"))
    bad("awnn_bias_without_24", _edit_layer(P, "c1", b" 24=2", b""), words=("c1", "24"))
    bad("awnn_fused_activation", _edit_layer(P, "c2", b"0=16 ", b"0=16 9=1 "),
        errors=("UnsupportedOperatorError",), words=("c2", "activation"))
    # the NPU layout's sizes
    bad("awnn_conv_weight_size_not_multiple", _edit_layer(P, "c2", b"6=1728", b"6=1727"),
        words=("c2", "weight_data_size"))
    bad("awnn_conv_weight_size_other_channels", _edit_layer(P, "c2", b"6=1728", b"6=1440"),
        errors=LOAD_OR_RUN, words=("c2", "channels", "tag"))
    bad("awnn_fc_weight_size_mismatch", _edit_layer(P, "fc", b"2=396", b"2=385"),
        errors=LOAD_OR_RUN, words=("fc", "values", "weights", "tag", "left over"))
    bad("awnn_unknown_npu_type", _edit_layer(P, "r1", b"ReLU    ", b"Sigmoid "),
        errors=("UnsupportedOperatorError",), words=("r1", "sigmoid", "npu"))
    bad("awnn_quantize_without_device", _edit_layer(EP, "sp_cvt", b" -23328=1,1 -23329=1,30.000000", b""), EB,
        errors=FORMAT_OR_UNSUPPORTED, words=("sp_cvt", "quantize", "-23328"))

    r = np.random.default_rng(4321)
    for k in range(10):
        cases.append(Case("awnn_bitflip_param_%02d" % k, _bitflipped(P, r, 1 + k % 3), B, "any", LOAD_OR_RUN, ()))
    for k in range(10):
        cases.append(Case("awnn_bitflip_bin_%02d" % k, EP, _bitflipped(EB, r, 1 + k % 4), "any", LOAD_OR_RUN, ()))
    return cases


def good_cases() -> List[Case]:
    out = []
    for name, build in BASE_MODELS.items():
        p, b = model_files(build())
        out.append(Case(name, p, b, "good", (), ()))
    # CRLF line endings and extra blank space are accepted by ncnn
    p, b = model_files(tiny_float_model())
    out.append(Case("tiny_float_crlf", p.replace(b"\n", b"\r\n"), b, "good", (), ()))
    p, b = model_files(tiny_winograd_model())
    out.append(Case("tiny_winograd", p, b, "good", (), ()))
    # awnn (V831 NPU) models; checked against the numpy reference in tests/test_awnn_emulator.py
    # (not the 1-D-input one: corpus_test feeds (c, h, w) inputs)
    for name, (p, b) in awnn_base_models().items():
        if name != "awnn_fc_first_1d":
            out.append(Case(name, p, b, "good", (), ()))
    return out


def write_case(directory: str, case: Case) -> Tuple[str, str]:
    sub = os.path.join(directory, case.expect)
    os.makedirs(sub, exist_ok=True)
    param_path = os.path.join(sub, case.name + ".param")
    bin_path = os.path.join(sub, case.name + ".bin")
    with open(param_path, "wb") as f:
        f.write(case.param)
    with open(bin_path, "wb") as f:
        f.write(case.bin)
    return param_path, bin_path


def write_corpus(directory: str, cases: Optional[Sequence[Case]] = None) -> int:
    """Write good/, bad/ and any/ (one .param + .bin per case) under directory."""
    if cases is None:
        cases = good_cases() + malformed_cases()
    for case in cases:
        write_case(directory, case)
    return len(cases)


# ---------------------------------------------------------------- fuzzer seeds

def write_fuzz_seeds(directory: str) -> Dict[str, str]:
    """Seed corpora for the three libFuzzer harnesses, from the real models:
    param/ (.param texts), bin/ (.bin files for the fixed .param written as
    fixed.param) and model/ (param + NUL + bin).  Returns the paths."""
    dirs = {k: os.path.join(directory, k) for k in ("param", "bin", "model")}
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)
    fixed_p, fixed_b = model_files(tiny_zoo_model())
    dirs["fixed_param"] = os.path.join(directory, "fixed.param")
    with open(dirs["fixed_param"], "wb") as f:
        f.write(fixed_p)
    with open(os.path.join(dirs["bin"], "zoo.bin"), "wb") as f:
        f.write(fixed_b)
    with open(os.path.join(dirs["bin"], "zoo_truncated.bin"), "wb") as f:
        f.write(fixed_b[:len(fixed_b) // 2])
    for name, build in BASE_MODELS.items():
        p, b = model_files(build())
        with open(os.path.join(dirs["param"], name + ".param"), "wb") as f:
            f.write(p)
        with open(os.path.join(dirs["model"], name + ".model"), "wb") as f:
            f.write(p + b"\0" + b)
    # awnn (V831 NPU) models: the hand-built ones and the golden files when present
    from awnn_build import awnn_vectors_dir
    awnn = dict(awnn_base_models())
    vectors = awnn_vectors_dir()
    for case in sorted(d for d in os.listdir(vectors) if d.startswith("case")) if vectors else []:
        with open(os.path.join(vectors, case, "awnn.param"), "rb") as f, \
                open(os.path.join(vectors, case, "awnn.bin"), "rb") as g:
            p, b = f.read(), g.read()
        if len(p) + len(b) < 20000:
            awnn["awnn_golden_" + case] = (p, b)
    for name, (p, b) in awnn.items():
        with open(os.path.join(dirs["param"], name + ".param"), "wb") as f:
            f.write(p)
        with open(os.path.join(dirs["model"], name + ".model"), "wb") as f:
            f.write(p + b"\0" + b)
    for case in malformed_cases():
        if case.name.startswith(("param_", "layer_", "blob_")) and len(case.param) < 4096:
            with open(os.path.join(dirs["param"], case.name + ".param"), "wb") as f:
                f.write(case.param)
        if len(case.param) + len(case.bin) < 6000 and not case.name.startswith("bitflip"):
            with open(os.path.join(dirs["model"], case.name + ".model"), "wb") as f:
                f.write(case.param.replace(b"\0", b" ") + b"\0" + case.bin)
    return dirs


# ---------------------------------------------------------------- build + run

def find_clang() -> Optional[str]:
    for name in ("clang", "clang-19", "clang-16", "clang-14"):
        path = shutil.which(name)
        if path:
            return path
    return None


def build_sanitized(build_dir: str = SANITIZE_BUILD_DIR, fuzzers: bool = True) -> str:
    """Configure + build tests/c with ASan+UBSan (+LSan) into build_dir; with
    clang also the libFuzzer harnesses.  Returns build_dir."""
    import fcntl
    os.makedirs(build_dir, exist_ok=True)
    with open(os.path.join(build_dir, ".hostile-build.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(os.path.join(build_dir, "CMakeCache.txt")):
            cmd = ["cmake", "-S", REPO, "-B", build_dir, "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                   "-DMAIXNN_SANITIZE=ON", "-DMAIXNN_BUILD_TESTS=ON"]
            clang = find_clang()
            if clang:
                cmd.append("-DCMAKE_C_COMPILER=" + clang)
            cmd.append("-DMAIXNN_BUILD_FUZZERS=" + ("ON" if fuzzers and clang else "OFF"))
            _run(cmd)
        _run(["cmake", "--build", build_dir, "-j2"])
    return build_dir


TSAN_BUILD_DIR = os.path.join(REPO, "build", "tsan")


def build_tsan(build_dir: str = TSAN_BUILD_DIR) -> str:
    """Configure + build tests/c's thread_test_tsan and pool_test_tsan (ThreadSanitizer, clang)."""
    import fcntl
    clang = find_clang()
    if clang is None:
        raise RuntimeError("ThreadSanitizer build needs clang")
    os.makedirs(build_dir, exist_ok=True)
    with open(os.path.join(build_dir, ".hostile-build.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(os.path.join(build_dir, "CMakeCache.txt")):
            _run(["cmake", "-S", REPO, "-B", build_dir, "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
                  "-DCMAKE_C_COMPILER=" + clang, "-DMAIXNN_BUILD_TESTS=ON", "-DMAIXNN_TSAN=ON",
                  "-DMAIXNN_BUILD_FUZZERS=OFF"])
        _run(["cmake", "--build", build_dir, "-j2", "--target", "thread_test_tsan", "pool_test_tsan"])
    return build_dir


def _run(cmd: Sequence[str], **kw) -> str:
    proc = subprocess.run(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, **kw)
    if proc.returncode != 0:
        raise RuntimeError("command failed (%d): %s\n%s" % (proc.returncode, " ".join(cmd), proc.stdout[-8000:]))
    return proc.stdout


SANITIZER_ENV = {
    # leaks are errors; huge requests return NULL so the engine's own
    # out-of-memory path is what gets exercised
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:allocator_may_return_null=1:"
                    "max_allocation_size_mb=256:halt_on_error=1:strict_string_checks=1",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
    "LSAN_OPTIONS": "report_objects=1",
}


def run_fuzzer(build_dir: str, name: str, seeds: Dict[str, str], seconds: int, work_dir: str,
               regressions_dir: str, jobs_env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    """Run one harness for `seconds` on a copy of its seed corpus.  Crash
    inputs land in work_dir/artifacts; the caller copies them to regressions."""
    exe = os.path.join(build_dir, "tests", "c", name)
    kind = name.split("_", 1)[1]
    corpus = os.path.join(work_dir, name + "_corpus")
    artifacts = os.path.join(work_dir, name + "_artifacts") + os.sep
    os.makedirs(corpus, exist_ok=True)
    os.makedirs(artifacts, exist_ok=True)
    env = dict(os.environ)
    env.update(SANITIZER_ENV)
    env["MAIXNN_FUZZ_PARAM"] = seeds["fixed_param"]
    if jobs_env:
        env.update(jobs_env)
    dict_path = os.path.join(REPO, "tests", "c", "fuzz", "ncnn_param.dict")
    cmd = [exe, "-max_total_time=%d" % seconds, "-timeout=20", "-rss_limit_mb=2048",
           "-malloc_limit_mb=1024", "-max_len=8192", "-print_final_stats=1",
           "-artifact_prefix=" + artifacts, corpus, seeds[kind]]
    if kind in ("param", "model") and os.path.exists(dict_path):
        cmd.insert(1, "-dict=" + dict_path)
    reg = os.path.join(regressions_dir, kind)
    if os.path.isdir(reg) and os.listdir(reg):
        cmd.append(reg)
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, env=env, errors="replace")


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write-corpus", help="write good/ bad/ any/ model files into DIR")
    w.add_argument("dir")
    s = sub.add_parser("seeds", help="write the fuzzer seed corpora into DIR")
    s.add_argument("dir")
    fz = sub.add_parser("fuzz", help="build the sanitized harnesses and run each fuzzer")
    fz.add_argument("--seconds", type=int, default=300)
    fz.add_argument("--only", choices=FUZZERS, action="append")
    fz.add_argument("--work", default=os.path.join(REPO, "build", "fuzz-work"),
                    help="corpus + artifacts directory, kept between runs")
    args = ap.parse_args(argv)
    if args.cmd == "write-corpus":
        print("wrote %d cases into %s" % (write_corpus(args.dir), args.dir))
        return 0
    if args.cmd == "seeds":
        print(write_fuzz_seeds(args.dir))
        return 0
    build_dir = build_sanitized()
    seeds = write_fuzz_seeds(os.path.join(args.work, "seeds"))
    status = 0
    for name in args.only or FUZZERS:
        print("== %s for %d s" % (name, args.seconds), flush=True)
        proc = run_fuzzer(build_dir, name, seeds, args.seconds, args.work,
                          os.path.join(REPO, "tests", "corpus", "regressions"))
        print(proc.stdout[-3000:])
        if proc.returncode != 0:
            status = 1
            print("!! %s failed (exit %d); crash inputs are in %s" % (
                name, proc.returncode, os.path.join(args.work, name + "_artifacts")))
    return status


if __name__ == "__main__":
    sys.exit(main())
