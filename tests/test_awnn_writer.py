"""maixnn's writer of the V831's own awnn int8 format.

* the 40 golden cases of ../shared/reference/awnn-vectors (made by Sipeed's
  converter): byte-identical .param and .bin; maixnn's optimize step equals
  the converter's (graph, shape hints, .bin);
* the worked example of awnn-format.md section 10, byte for byte;
* where the converter is wrong, maixnn's output is the correct one (and says so).
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import maixnn
from maixnn.awnn import npu_float_graph, read_table, required_scales, write_table
from maixnn.awnn.numerics import parse_f32, q8, q16, req
from maixnn.awnn.optimize import optimize
from maixnn.awnn.table import load_table
from maixnn.awnn.writer import AwnnError, build_awnn
from maixnn.errors import ModelFormatError
from maixnn.ncnn_model import Layer, NcnnModel, Weight

from awnn_helpers import conv, full_table, inp, save, vectors_dir

VECTORS = vectors_dir()
CASES = sorted(d for d in os.listdir(VECTORS) if d.startswith("case")) if VECTORS else []
needs_vectors = pytest.mark.skipif(VECTORS is None, reason="golden files ../shared/reference/awnn-vectors not "
                                   "found next to the repository (set MAIXNN_AWNN_VECTORS)")


def _case(name):
    d = os.path.join(VECTORS, name)
    return d, NcnnModel.load(d + "/float.param", d + "/float.bin"), load_table(d + "/scales.table")


def _read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


@needs_vectors
def test_there_are_40_golden_cases():
    assert len(CASES) == 40


@needs_vectors
@pytest.mark.parametrize("case", CASES or ["none"])
def test_golden_case_byte_identical(case):
    """With the converter's placement of pooling the board refuses (the only
    converter bug the golden cases hit), every byte equals the converter's."""
    d, model, table = _case(case)
    r = build_awnn(model, table, converter_compat=True)
    assert r.param_text() == _read(d + "/awnn.param")
    assert r.bin_bytes() == _read(d + "/awnn.bin", "rb")


def _params(tokens):
    return [t for t in tokens if "=" in t]


@needs_vectors
@pytest.mark.parametrize("case", CASES or ["none"])
def test_golden_case_default_differs_only_in_documented_pooling_fixes(case):
    """By default, pooling the board's runtime refuses is fixed: global pooling
    over > 8x8 (and a pad_mode 1/3 pooling that pad_mode 0 cannot express)
    runs on the CPU - the line loses 20-22 and gets device 0 - and a pad_mode
    1/3 pooling that pad_mode 0 expresses exactly is rewritten so (only its
    pad params change).  Nothing else changes and the report names each."""
    d, model, table = _case(case)
    r = build_awnn(model, table)
    moved = {n.split(":")[0] for n in r.notes if "refuses" in n}
    rewritten = {n.split(":")[0] for n in r.notes if "rewritten as pad_mode 0" in n}
    mine = r.param_text().splitlines()
    gold = _read(d + "/awnn.param").splitlines()
    assert len(mine) == len(gold)
    for a, b in zip(mine, gold):
        if a == b:
            continue
        ta, tb = a.split(), b.split()
        name = b.split()[1]
        assert b.split()[0] == "Pooling" and name in moved | rewritten, (a, b)
        if name in moved:
            assert "-23328=1,0" in ta and not any(t.startswith(("20=", "21=", "22=")) for t in ta)
            strip = ("20=", "21=", "22=", "-23328=", "3=", "13=", "14=", "15=", "5=")
        else:
            assert "-23328=1,1" in ta and not any(t.startswith("5=") for t in ta)
            strip = ("3=", "13=", "14=", "15=", "5=")
        assert [t for t in ta if not t.startswith(strip)] == [t for t in tb if not t.startswith(strip)]
    assert r.bin_bytes() == _read(d + "/awnn.bin", "rb")
    for row in r.rows:
        assert (row.name in moved) == (row.device == "CPU" and row.type == "Pooling" and bool(row.fixes))


@needs_vectors
@pytest.mark.parametrize("case", CASES or ["none"])
def test_optimize_equals_the_converters(case):
    """Graph (types, names, blobs), every shape hint -23330 and the .bin of
    the converter's optimize step."""
    d, model, _ = _case(case)
    o = optimize(model, unfuse=False)
    g = NcnnModel.load(d + "/optimized.param", d + "/optimized.bin")
    assert [(l.type, l.name, l.bottoms, l.tops) for l in o.model.layers] == \
        [(l.type, l.name, l.bottoms, l.tops) for l in g.layers]
    for mine, theirs in zip(o.model.layers, g.layers):
        assert tuple(theirs.params[30]) == tuple(v for t in mine.tops for v in o.shapes[t]), mine.name
    assert o.model.bin_bytes() == _read(d + "/optimized.bin", "rb")


@needs_vectors
def test_cli_writes_golden_files_and_mud(tmp_path):
    d = os.path.join(VECTORS, "case003")
    out = str(tmp_path / "m")
    proc = subprocess.run([sys.executable, "-m", "maixnn", "to-awnn", d + "/float", d + "/scales.table", out,
                           "--mean", "127.5", "--norm", "0.0078125"], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=120)
    assert proc.returncode == 0, proc.stdout
    assert "NPU" in proc.stdout and "MACs" in proc.stdout and "Cortex-A7" in proc.stdout
    assert _read(out + ".param") == _read(d + "/awnn.param")
    assert _read(out + ".bin", "rb") == _read(d + "/awnn.bin", "rb")
    mud = _read(out + ".mud")
    assert "type = awnn" in mud and "param = m.param" in mud and "bin = m.bin" in mud
    m = NcnnModel.load(d + "/float.param")
    w, h, c = (m.layers[0].params[k] for k in (0, 1, 2))
    assert "data = %d,%d,%d,127.5,127.5,127.5,0.0078125,0.0078125,0.0078125" % (h, w, c) in mud


# ------------------------------------------------------------------ spec examples

def test_req_examples_of_the_spec():
    assert req(0.0025) == (82, 15)
    assert req(0.5) == (16384, 15)
    assert req(1.0) == (32767, 15)
    assert req(1.5) == (24576, 14)
    assert req(3.3) == (27034, 13)
    assert req(100000) == (50000, -1)
    assert req(float("nan")) == (-2147483648, 15)
    assert req(np.float32(17) / np.float32(13)) == (21425, 14)
    assert req(np.float32(9) / np.float32(17)) == (17347, 15)


def test_req_just_below_a_power_of_two_truncates_like_log2f():
    # 32767/r = the largest float32 below 1024: log2f rounds to exactly 10.0
    q = np.nextafter(np.float32(1024), np.float32(0))
    r = np.float32(32767) / q
    assert np.float32(32767) / r == q
    assert req(r)[1] == 10


def test_quantizers_round_half_away_and_clamp():
    assert q8([0.125, -0.125, 2.0, -2.0], 100).tolist() == [13, -13, 127, -127]
    assert q16([0.75, -2.0, 100.0], 4000).tolist() == [3000, -8000, 32767]


def test_parse_f32_is_correctly_rounded():
    rng = np.random.default_rng(1)
    for v in rng.uniform(-1e4, 1e4, 2000).astype(np.float32):
        for text in ("%f" % v, "%e" % v, repr(float(v))):
            exact = float(np.float32(float(text)))
            assert float(parse_f32(text)) == exact or abs(float(parse_f32(text)) - float(text)) <= \
                abs(exact - float(text))


def test_worked_example_of_section_10(tmp_path):
    k0 = np.array([[0.5, -0.25, 0.125], [0, 1, -1], [0.3, 0.2, -0.1]], np.float32)
    k1 = np.array([[0.05, 0.1, -0.2], [0.02, 0, 0.01], [-0.03, 0.04, 0.05]], np.float32)
    w = np.stack([np.stack([k0] * 3), np.stack([k1] * 3)]).reshape(-1)
    layers = [Layer("Input", "input", [], ["data"], {0: 4, 1: 4, 2: 3}),
              Layer("Convolution", "conv1", ["data"], ["c1"], {0: 2, 1: 3, 4: 1, 5: 1, 6: 54},
                    [Weight("weight", w, "tagged"), Weight("bias", np.array([0.75, -2.0], np.float32), "raw")])]
    base = save(tmp_path, layers)
    rep = maixnn.to_awnn(base, ({"conv1": [100, 600]}, {"data": 40, "c1": 10}), str(tmp_path / "o"),
                         mean=127.5, norm=1 / 128)
    text = _read(str(tmp_path / "o.param")).splitlines()
    assert text[3] == ("Convolution              conv1                    1 1 data c1 0=2 1=3 4=1 5=1 6=54 20=1 "
                       "21=82 22=15 24=2 25=1 -23328=1,1 -23329=1,10.000000")
    expected = bytes.fromhex(
        "384b0d00 323232 1e1e1e e7e7e7 3c3c3c 0d0d0d 888888 000000 0c0c0c 646464 000000 9c9c9c 060606 1e1e1e "
        "eeeeee 141414 181818 f6f6f6 1e1e1e 0000 38440d00 b80b c0e0 38440d00 0004 ab00".replace(" ", ""))
    assert _read(str(tmp_path / "o.bin"), "rb") == expected
    assert [r.device for r in rep.layers] == ["CPU", "NPU"]


# ------------------------------------------------------------------ the table

def test_table_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(3)
    ws = {"conv_1": rng.uniform(1e-3, 1e5, 17).astype(np.float32), "fc": [3.0]}
    bs = {"data": 127.0, "b1": float(np.float32(1e-6)), "b2": float(np.float32(46580.605975))}
    p = str(tmp_path / "t.table")
    write_table(p, ws, bs)
    w2, b2 = read_table(p)
    assert set(w2) == set(ws) and np.array_equal(w2["conv_1"], ws["conv_1"])
    assert b2 == {k: float(np.float32(v)) for k, v in bs.items()}
    assert "conv_1_param_0 " in _read(p)


def test_table_format_rules(tmp_path):
    p = str(tmp_path / "t.table")
    with open(p, "w") as f:
        f.write("c_param_0 1 2\nx 5\nx 7 9\ny  3.5\n\nz 4\n")
    w, b = read_table(p)
    assert b == {"x": 7.0, "y": 3.5}          # later line wins; first value; stop at the empty line
    assert w["c"].tolist() == [1.0, 2.0]


# ------------------------------------------------------------------ converter bugs, done right

def _build(tmp_path, layers, override=None, weights=None, **kw):
    base = save(tmp_path, layers)
    table = full_table(layers, override=override, weights=weights)
    out = str(tmp_path / "out")
    rep = maixnn.to_awnn(base, table, out, mean=0.0, norm=1.0, **kw)
    lines = {ln.split()[1]: ln for ln in _read(out + ".param").splitlines()[2:]}
    return rep, lines, out


def test_scalar_add_stays_a_cpu_binaryop(tmp_path):
    layers = [inp(), conv("c", "data", "x", 3, 8),
              Layer("BinaryOp", "add", ["x"], ["y"], {0: 0, 1: 1, 2: 0.4}),
              Layer("Split", "sp", ["y"], ["y1", "y2"]),
              Layer("BinaryOp", "add2", ["y1", "y2"], ["z"], {0: 0})]
    rep, lines, _ = _build(tmp_path, layers)
    assert lines["add"].split()[0] == "BinaryOp" and " 1=1 2=0.400000 -23328=1,0 " in lines["add"]
    assert lines["add2"].split()[0] == "Eltwise" and "-23328=1,1" in lines["add2"]
    assert any(n.startswith("add:") and "scalar" in n for n in rep.notes)


def test_eltwise_three_inputs_become_a_chain_max_stays_on_cpu(tmp_path):
    layers = [inp(), conv("c", "data", "x", 3, 8), Layer("Split", "sp", ["x"], ["a", "b", "c3", "d", "e", "f"]),
              Layer("Eltwise", "e3", ["a", "b", "c3"], ["s3"], {0: 1, 1: [0.5, 2.0, 3.0]}),
              Layer("Eltwise", "emax", ["s3", "d", "f"], ["m"], {0: 2}),
              Layer("Eltwise", "esum", ["m", "e"], ["out"], {0: 1})]
    model = NcnnModel(layers)
    g = npu_float_graph(model)
    chain = [(l.name, l.bottoms, l.tops, l.params) for l in g.layers if l.name.startswith("e3")]
    assert chain == [("e3_part1", ["a", "b"], ["s3_part1"], {0: 1, 1: [0.5, 2.0]}),
                     ("e3", ["s3_part1", "c3"], ["s3"], {0: 1, 1: [1.0, 3.0]})]
    assert "s3_part1" in required_scales(model)[1]
    # the chain computes what the 3-input layer does, bit for bit, on maixnn's engine
    base_a = save(tmp_path, layers, "a")
    base_b = save(tmp_path, g.layers, "b")
    x = np.random.default_rng(0).standard_normal((3, 8, 8)).astype(np.float32)
    ya = maixnn.Net(base_a + ".param", base_a + ".bin").forward(x, ["s3"])["s3"]
    yb = maixnn.Net(base_b + ".param", base_b + ".bin").forward(x, ["s3"])["s3"]
    assert np.array_equal(ya, yb)
    ws, bs = full_table(g.layers, override={"s3": 10.0, "m": 12.0})
    rep = maixnn.to_awnn(base_a, (ws, bs), str(tmp_path / "out"), mean=0, norm=1)
    lines = {ln.split()[1]: ln for ln in _read(str(tmp_path / "out.param")).splitlines()[2:]}
    assert "-23328=1,1" in lines["e3_part1"] and "-23328=1,1" in lines["e3"]
    assert lines["emax"].endswith("0=2 -23328=1,0 -23329=1,12.000000")
    # the converter aborts its Eltwise pass after a 3-input one; maixnn does not
    assert "20=1" in lines["esum"] and "-23328=1,1" in lines["esum"]
    notes = " ".join(rep.notes)
    assert "e3: Eltwise of 3 inputs split" in notes and "emax:" in notes


def _rha_shift(v, e):
    v = np.asarray(v, np.int64)
    if e == 0:
        return v
    half = 1 << (e - 1)
    return np.sign(v) * ((np.abs(v) + half) >> e)


def test_eltwise_prod_is_requantized_for_a_product(tmp_path):
    s0, s1, so = 20.0, 30.0, 40.0
    layers = [inp(), conv("c", "data", "x", 3, 8), Layer("Split", "sp", ["x"], ["a", "b"]),
              Layer("Eltwise", "mul", ["a", "b"], ["p"], {0: 0})]
    rep, lines, _ = _build(tmp_path, layers, override={"a": s0, "b": s1, "p": so, "x": s0})
    params = dict(t.split("=") for t in lines["mul"].split() if "=" in t and not t.startswith("-"))
    assert params.get("17") == "1" and params.get("18") == "0" and "16" not in params
    m, e = int(params["21"]), int(params["22"])
    assert 0 <= e <= 63
    # 13.4 PROD with 16=0: o = x0 * 17 / 2^18, s = x1 * o, y = sat8(rha(s*m/2^e)); independent check
    rng = np.random.default_rng(0)
    x0 = rng.integers(-127, 128, 2000)
    x1 = rng.integers(-127, 128, 2000)
    y = np.clip(_rha_shift(x1 * (x0 * 1) * m, e), -128, 127)
    want = np.clip(np.round((x0 / s0) * (x1 / s1) * so), -128, 127)
    assert np.max(np.abs(y - want)) <= 1
    assert any("PROD" in n for n in rep.notes)


def test_concat_with_different_scales_is_refused(tmp_path):
    layers = [inp(), conv("c", "data", "x", 3, 8), Layer("Split", "sp", ["x"], ["a", "b"]),
              Layer("Concat", "cat", ["a", "b"], ["y"], {0: 0})]
    with pytest.raises(AwnnError, match=r"cat.*\bb=") as ei:
        _build(tmp_path, layers, override={"a": 20.0, "y": 20.0, "b": 25.0})
    assert "calibrate" in str(ei.value)
    assert not os.path.exists(str(tmp_path / "out.param"))


def test_missing_table_entries_name_the_blob_and_layer(tmp_path):
    layers = [inp(), conv("c", "data", "x", 3, 8), Layer("ReLU", "r", ["x"], ["y"])]
    base = save(tmp_path, layers)
    ws, bs = full_table(layers)
    del bs["y"]
    with pytest.raises(ModelFormatError, match=r"blob 'y' \(needed by layer r\)"):
        maixnn.to_awnn(base, (ws, bs), str(tmp_path / "o"), mean=0, norm=1)
    ws, bs = full_table(layers)
    del ws["c"]
    with pytest.raises(ModelFormatError, match=r"no weight scales for layer c"):
        maixnn.to_awnn(base, (ws, bs), str(tmp_path / "o"), mean=0, norm=1)
    assert not any(p.name.startswith("o.") for p in tmp_path.iterdir())


def test_shift_outside_the_6_bit_field_is_refused(tmp_path):
    layers = [inp(), conv("c", "data", "x", 3, 8), Layer("ReLU", "r", ["x"], ["y"])]
    with pytest.raises(AwnnError, match=r"layer r .*0\.\.63"):
        _build(tmp_path, layers, override={"x": 1e-3, "y": 100.0})


def test_conv_pad_value_keeps_the_layer_on_the_cpu(tmp_path):
    layers = [inp(), conv("c", "data", "x", 3, 8, extra={18: 0.5})]
    rep, lines, out = _build(tmp_path, layers)
    assert " 18=0.500000 -23328=1,0 " in lines["c"] and "20=1" not in lines["c"]
    data = _read(out + ".bin", "rb")
    assert data[:4] == b"\0\0\0\0" and len(data) == 4 + 4 * (8 * 27 + 8)
    assert any("pad value" in n for n in rep.notes)


def test_cpu_params_the_converter_drops_are_kept(tmp_path):
    layers = [inp(), conv("c", "data", "x", 3, 8),
              Layer("Pooling", "p", ["x"], ["y"], {0: 1, 1: 3, 2: 1, 3: 1, 6: 1}),
              Layer("HardSwish", "hs", ["y"], ["z"], {0: 0.2, 1: 0.4})]
    _, lines, _ = _build(tmp_path, layers)
    assert " 6=1 -23328=1,0 " in lines["p"]          # padded avg pooling: CPU, count_include_pad kept
    assert " 0=0.200000 1=0.400000 -23328=1,0 " in lines["hs"]


def test_fused_activation_is_split_off_for_the_npu(tmp_path):
    layers = [inp(), conv("c", "data", "x", 3, 8, extra={9: 2, 10: [0.1]}),
              Layer("InnerProduct", "fc", ["x"], ["y"], {0: 4, 1: 0, 2: 4 * 8 * 64, 9: 1},
                    [Weight("weight", np.linspace(-1, 1, 4 * 8 * 64), "tagged")])]
    model = NcnnModel(layers)
    g = npu_float_graph(model)
    assert [(l.type, l.name, l.bottoms, l.tops) for l in g.layers[1:]] == [
        ("Convolution", "c", ["data"], ["x_preact"]), ("ReLU", "c_act", ["x_preact"], ["x"]),
        ("InnerProduct", "fc", ["x"], ["y_preact"]), ("ReLU", "fc_act", ["y_preact"], ["y"])]
    assert all(9 not in l.params for l in g.layers)
    wl, blobs = required_scales(model)
    assert wl == ["c", "fc"] and blobs == ["data", "x_preact", "x", "y_preact", "y"]
    assert required_scales(g) == (wl, blobs)
    base = save(tmp_path, layers)
    ws, bs = full_table(g.layers)
    maixnn.to_awnn(base, (ws, bs), str(tmp_path / "o"), mean=0, norm=1)
    text = _read(str(tmp_path / "o.param"))
    assert "PReLU                    c_act" in text and "ReLU                     fc_act" in text


def test_outputs_are_atomic_and_inputs_never_overwritten(tmp_path):
    layers = [inp(), conv("c", "data", "x", 3, 8)]
    base = save(tmp_path, layers)
    for ext in (".param", ".bin", ".mud"):
        with open(str(tmp_path / ("o" + ext)), "w") as f:
            f.write("old")
    ws, bs = full_table(layers)
    del bs["x"]
    with pytest.raises(ModelFormatError):
        maixnn.to_awnn(base, (ws, bs), str(tmp_path / "o"), mean=0, norm=1)
    assert all(_read(str(tmp_path / ("o" + e))) == "old" for e in (".param", ".bin", ".mud"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.bin", "m.param", "o.bin", "o.mud", "o.param"]


def test_mean_norm_default_and_from_mud(tmp_path):
    layers = [inp(), conv("c", "data", "x", 3, 8)]
    base = save(tmp_path, layers)
    table = full_table(layers)
    with pytest.warns(UserWarning, match="no mean/norm"):
        rep = maixnn.to_awnn(base, table, str(tmp_path / "o"))
    assert (rep.mean, rep.norm) == (127.5, 0.0078125)
    with open(base + ".mud", "w") as f:
        f.write("[basic]\ntype = awnn\nparam = m.param\nbin = m.bin\n\n[inputs]\ndata = 8,8,3,1,1,1,0.5,0.5,0.5\n"
                "\n[outputs]\nx = 8,8,8\n")
    rep = maixnn.to_awnn(base, table, str(tmp_path / "o"))
    assert (rep.mean, rep.norm) == (1.0, 0.5)
    assert "data = 8,8,3,1,1,1,0.5,0.5,0.5" in _read(str(tmp_path / "o.mud"))


def test_default_cpu_params_are_not_printed_and_long_values_fit_ncnn(tmp_path):
    layers = [inp(), conv("c", "data", "x", 3, 8), Layer("HardSwish", "hs", ["x"], ["y"], {0: 1 / 6, 1: 0.5}),
              Layer("Clip", "cl", ["y"], ["z"], {0: -3.4028234663852886e38, 1: 6.0}),
              Layer("Clip", "cl2", ["z"], ["w"], {0: -1e30})]
    _, lines, _ = _build(tmp_path, layers)
    assert lines["hs"].split()[6] == "-23328=1,0"
    assert " y z 1=6.000000 -23328=1,0 " in lines["cl"]
    value = lines["cl2"].split()[6]
    assert value.startswith("0=") and len(value) - 2 <= 15 and np.float32(value[2:]) == np.float32(-1e30)


@pytest.mark.parametrize("seed", range(6))
def test_pooling_mode_rewrite_computes_the_same_on_the_engine(tmp_path, seed):
    """full_mode_pooling: pad_mode 1/2/3 -> pad_mode 0 with explicit pads gives
    the same output on maixnn's engine (ncnn's pooling), bit for bit."""
    from maixnn.awnn.optimize import full_mode_pooling, infer_shapes
    rng = np.random.default_rng(seed)
    done = 0
    while done < 8:
        w, h = (int(v) for v in rng.integers(5, 20, 2))
        k, s = int(rng.integers(2, 5)), int(rng.integers(1, 4))
        pads = [int(v) for v in rng.integers(0, k, 4)]
        ptype, mode = int(rng.integers(0, 2)), int(rng.integers(1, 4))
        params = {0: ptype, 1: k, 2: s, 3: pads[0], 14: pads[1], 13: pads[2], 15: pads[3], 5: mode}
        pool = Layer("Pooling", "p", ["data"], ["y"], params)
        layers = [Layer("Input", "in", [], ["data"], {0: w, 1: h, 2: 3}), pool]
        new = full_mode_pooling(pool, infer_shapes(NcnnModel(layers))["data"])
        if new is None:
            continue
        p2 = {0: ptype, 1: k, 2: s, 3: new[0], 14: new[1], 13: new[2], 15: new[3]}
        a = save(tmp_path, layers, "a")
        b = save(tmp_path, [layers[0], Layer("Pooling", "p", ["data"], ["y"], p2)], "b")
        x = rng.standard_normal((3, h, w)).astype(np.float32)
        ya = maixnn.Net(a + ".param", a + ".bin").forward(x)
        yb = maixnn.Net(b + ".param", b + ".bin").forward(x)
        assert ya.shape == yb.shape and np.array_equal(ya, yb), (params, p2)
        done += 1


def test_scale_and_bias_cpu_layers_keep_their_data(tmp_path):
    layers = [inp(), conv("c", "data", "x", 3, 8),
              Layer("Scale", "sc", ["x"], ["y"], {0: 8, 1: 1},
                    [Weight("scale", np.arange(8), "raw"), Weight("bias", np.arange(8) * 0.5, "raw")]),
              Layer("Bias", "bi", ["y"], ["z"], {0: 8}, [Weight("bias", -np.arange(8), "raw")])]
    _, lines, out = _build(tmp_path, layers)
    assert " x y 0=8 1=1 -23328=1,0 " in lines["sc"] and " y z 0=8 -23328=1,0 " in lines["bi"]
    tail = np.frombuffer(_read(out + ".bin", "rb")[-4 * 24:], "<f4")
    assert tail.tolist() == list(range(8)) + [i * 0.5 for i in range(8)] + [-i for i in range(8)]


@needs_vectors
def test_mutated_models_tables_and_awnn_files_give_typed_errors():
    """Random byte edits of golden inputs: the writer and the file report
    either work or raise maixnn's typed errors (never another exception)."""
    import random
    from maixnn.awnn.placement import report_awnn_model
    from maixnn.awnn.table import parse_table
    from maixnn.errors import Error
    rng = random.Random(7)
    for it in range(1200):
        d = os.path.join(VECTORS, rng.choice(CASES))
        texts = [_read(d + "/float.param"), _read(d + "/scales.table"), _read(d + "/awnn.param")]
        k = it % 3
        s = list(texts[k])
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(s))
            s[i:i + rng.randint(0, 1)] = rng.choice(["", "0", "9", "-", "=", ",", " ", "\n", ".", "e"])
        texts[k] = "".join(s)
        try:
            if k == 2:
                report_awnn_model(NcnnModel.from_param_text(texts[2])).text()
            else:
                m = NcnnModel.from_param_text(texts[0])
                m.read_weights(_read(d + "/float.bin", "rb"))
                build_awnn(m, parse_table(texts[1])).param_text()
        except Error:
            pass
