"""Every kernel set this CPU runs (maixnn.runtime.available_kernels(): avx2,
sse2 on x86; neon on ARM - see test_arm.py) against the portable reference
kernels ("ref", csrc/kernels_ref.c), which define the result:

* float32 convolutions within 1e-5 relative (max |diff| <= 1e-5 * max |ref|):
  the GEMM kernels sum in another order and may fuse multiply-adds;
* int8 convolutions bit-identical, int8 and float outputs alike;
* any thread count gives exactly the result of one thread.

Shapes are random (odd channel counts, 1x1, 3x3, 5x5, 7x7, strides,
dilation, groups, padding, tiny and large planes) plus fixed edge cases.
"""
from __future__ import annotations

import numpy as np
import pytest

from maixnn.errors import OptionError
from maixnn.ncnn_model import Layer, NcnnModel, Weight
from maixnn.runtime import Net, available_kernels

FAST = [k for k in available_kernels() if k != "ref"]
RTOL = 1e-5


def conv_model(cin, cout, k, stride=1, dil=1, pad=0, group=1, bias=True, act=0, int8=None, seed=0,
               kh=None):
    """One Convolution (group 1) or ConvolutionDepthWise layer, float32 or int8
    (int8 = 1: float output, 101: int8 output)."""
    rng = np.random.RandomState(seed)
    kh = k if kh is None else kh
    wshape = (cout, cin // group, kh, k)
    params = {0: cout, 1: k, 11: kh, 2: dil, 3: stride, 4: pad, 5: int(bias), 6: int(np.prod(wshape))}
    if group > 1:
        params[7] = group
    if act:
        params[9] = act
        if act == 2:
            params[10] = [0.1]
        elif act == 3:
            params[10] = [-1.0, 2.5]
        elif act == 6:
            params[10] = [0.2, 0.5]
    weights = []
    if int8 is None:
        weights.append(Weight("weight", rng.standard_normal(wshape).astype(np.float32) * 0.2, "tagged"))
    else:
        params[8] = int8
        weights.append(Weight("weight", rng.randint(-127, 128, size=wshape).astype(np.int8), "tagged"))
    if bias:
        weights.append(Weight("bias", rng.standard_normal(cout).astype(np.float32), "raw"))
    if int8 is not None:
        nscales = cout if group == 1 else group
        weights.append(Weight("scales", rng.uniform(50, 200, nscales).astype(np.float32), "raw"))
        weights.append(Weight("bottom", np.array([rng.uniform(20, 60)], np.float32), "raw"))
        if int8 > 100:
            weights.append(Weight("top", np.array([rng.uniform(5, 40)], np.float32), "raw"))
    kind = "Convolution" if group == 1 else "ConvolutionDepthWise"
    model = NcnnModel([Layer("Input", "in", [], ["x"]), Layer(kind, "conv", ["x"], ["y"], params, weights)])
    return model


def run(model, x, kernels, threads=1):
    net = Net.from_memory(model.param_text(), model.bin_bytes(), num_threads=threads, kernels=kernels)
    return net.forward(x)


def random_cases(n, seed):
    rng = np.random.RandomState(seed)
    cases = []
    for i in range(n):
        k = int(rng.choice([1, 1, 3, 3, 5, 7, 2]))
        group = int(rng.choice([1, 1, 1, 2, 3]))
        cin = group * int(rng.randint(1, 12))
        cout = group * int(rng.randint(1, 21))
        stride = int(rng.choice([1, 1, 2, 3]))
        dil = int(rng.choice([1, 1, 2]))
        pad = int(rng.randint(0, k))
        ext = dil * (k - 1) + 1
        h = int(rng.randint(max(1, ext - 2 * pad), 30))
        w = int(rng.randint(max(1, ext - 2 * pad), 30))
        act = int(rng.choice([0, 1, 1, 2, 3, 4, 6]))
        cases.append(dict(cin=cin, cout=cout, k=k, stride=stride, dil=dil, pad=pad, group=group, act=act,
                          bias=bool(rng.randint(2)), h=h, w=w, seed=i))
    return cases


FIXED = [
    dict(cin=64, cout=64, k=3, stride=1, dil=1, pad=1, group=1, act=1, bias=True, h=56, w=56, seed=100),
    dict(cin=3, cout=64, k=7, stride=2, dil=1, pad=3, group=1, act=1, bias=True, h=64, w=64, seed=101),
    dict(cin=256, cout=512, k=1, stride=2, dil=1, pad=0, group=1, act=0, bias=True, h=14, w=14, seed=102),
    dict(cin=513, cout=9, k=3, stride=1, dil=1, pad=1, group=1, act=0, bias=False, h=5, w=5, seed=103),
    dict(cin=1, cout=1, k=1, stride=1, dil=1, pad=0, group=1, act=0, bias=False, h=1, w=1, seed=104),
    dict(cin=7, cout=13, k=3, stride=2, dil=3, pad=2, group=1, act=3, bias=True, h=9, w=17, seed=105),
    dict(cin=32, cout=32, k=3, stride=1, dil=1, pad=1, group=4, act=1, bias=True, h=12, w=12, seed=106),
]
def depthwise_cases(n, seed):
    """Pure depthwise (group == channels == num_output): ConvolutionDepthWise's own forward."""
    rng = np.random.RandomState(seed)
    cases = []
    for i in range(n):
        k = int(rng.choice([3, 3, 5, 1, 7, 2]))
        ch = int(rng.choice([2, 3, 8, 16, 13, 24, 32]))
        stride = int(rng.choice([1, 1, 2, 2, 3]))
        dil = int(rng.choice([1, 1, 1, 2]))
        pad = int(rng.randint(0, k))
        ext = dil * (k - 1) + 1
        h = int(rng.randint(max(1, ext - 2 * pad), 40))
        w = int(rng.randint(max(1, ext - 2 * pad), 40))
        cases.append(dict(cin=ch, cout=ch, k=k, stride=stride, dil=dil, pad=pad, group=ch,
                          act=int(rng.choice([0, 1, 2, 3, 4, 6])), bias=bool(rng.randint(2)), h=h, w=w,
                          seed=200 + i))
    return cases


DEPTHWISE = depthwise_cases(24, 7) + [
    dict(cin=32, cout=32, k=3, stride=1, dil=1, pad=1, group=32, act=3, bias=True, h=56, w=56, seed=300),
    dict(cin=24, cout=24, k=5, stride=2, dil=1, pad=2, group=24, act=1, bias=True, h=57, w=58, seed=301),
    dict(cin=8, cout=8, k=3, stride=2, dil=1, pad=1, group=8, act=0, bias=False, h=1, w=1, seed=302),
]
CASES = random_cases(36, 2024) + FIXED + DEPTHWISE


def ident(case):
    return "c{cin}-{cout}k{k}s{stride}d{dil}p{pad}g{group}a{act}{h}x{w}".format(**case)


def make_input(case, seed=7):
    return np.random.RandomState(seed).standard_normal((case["cin"], case["h"], case["w"])).astype(np.float32)


def model_of(case, int8=None):
    return conv_model(case["cin"], case["cout"], case["k"], case["stride"], case["dil"], case["pad"],
                      case["group"], case["bias"], case["act"], int8=int8, seed=case["seed"])


@pytest.mark.skipif(not FAST, reason="no kernel set besides the reference on this CPU")
@pytest.mark.parametrize("case", CASES, ids=ident)
def test_float32_kernels_match_reference(case):
    model, x = model_of(case), make_input(case)
    ref = run(model, x, "ref")
    scale = max(float(np.abs(ref).max()), 1e-30)
    for k in FAST:
        got = run(model, x, k)
        assert got.shape == ref.shape
        assert float(np.abs(got - ref).max()) <= RTOL * scale, k


@pytest.mark.skipif(not FAST, reason="no kernel set besides the reference on this CPU")
@pytest.mark.parametrize("int8", [1, 101])
@pytest.mark.parametrize("case", CASES, ids=ident)
def test_int8_kernels_bit_identical(case, int8):
    model, x = model_of(case, int8), make_input(case)
    ref = run(model, x, "ref")
    assert ref.dtype == (np.int8 if int8 > 100 else np.float32)
    for k in FAST:
        got = run(model, x, k)
        assert got.dtype == ref.dtype and got.shape == ref.shape
        np.testing.assert_array_equal(got.view(np.uint8 if int8 > 100 else np.uint32),
                                      ref.view(np.uint8 if int8 > 100 else np.uint32), err_msg=k)


@pytest.mark.parametrize("int8", [None, 101])
def test_thread_count_does_not_change_results(int8):
    for case in FIXED[:3] + CASES[:6]:
        model, x = model_of(case, int8), make_input(case)
        for k in available_kernels():
            one = run(model, x, k, threads=1)
            for t in (2, 3, 8):
                np.testing.assert_array_equal(run(model, x, k, threads=t), one, err_msg="%s %d" % (k, t))


def test_kernel_choice_is_checked():
    assert available_kernels()[-1] == "ref"
    model = model_of(FIXED[4])
    with pytest.raises(OptionError, match="kernels='nope'"):
        Net.from_memory(model.param_text(), model.bin_bytes(), kernels="nope")
    with pytest.raises(OptionError, match="num_threads"):
        Net.from_memory(model.param_text(), model.bin_bytes(), num_threads=0)


@pytest.mark.skipif(not FAST, reason="no kernel set besides the reference on this CPU")
@pytest.mark.parametrize("int8", [2, 102])
def test_int8_quantize_edges_bit_identical(int8):
    """Input quantization and requantization at their edges: NaN, +-inf, huge
    values, exact .5 ties after scaling, -0; every set as the reference."""
    case = dict(cin=5, cout=11, k=3, stride=1, dil=1, pad=1, group=1, act=0, bias=True, h=13, w=17, seed=5)
    model = model_of(case, int8)
    x = make_input(case) * 3
    flat = x.reshape(-1)
    bottom = float(model.layers[1].weights[-2 if int8 > 100 else -1].data[0])
    specials = np.array([np.nan, np.inf, -np.inf, 1e30, -1e30, -0.0, 0.0, 126.5, -126.5, 127.49, -127.51],
                        np.float32)
    flat[:specials.size] = specials
    ties = (np.arange(-40, 40, dtype=np.float32) + 0.5) / np.float32(bottom)
    flat[20:20 + ties.size] = ties
    ref = run(model, x, "ref")
    for k in FAST:
        got = run(model, x, k)
        np.testing.assert_array_equal(got.view(np.uint8 if int8 > 100 else np.uint32),
                                      ref.view(np.uint8 if int8 > 100 else np.uint32), err_msg=k)


def test_peak_memory_is_the_blobs_held_at_once():
    """Net.peak_memory (mxn_session_peak_memory): Input x -> Convolution (no
    padding, float, reference kernels: no scratch) -> y1 -> ReLU -> y2.  The
    caller's input stays, y1 lives until ReLU ran: the peak is x + y1 + y2."""
    rng = np.random.RandomState(3)
    w = rng.standard_normal((6, 4, 3, 3)).astype(np.float32)
    model = NcnnModel([Layer("Input", "in", [], ["x"]),
                       Layer("Convolution", "conv", ["x"], ["y1"], {0: 6, 1: 3, 6: w.size},
                             [Weight("weight", w, "tagged")]),
                       Layer("ReLU", "relu", ["y1"], ["y2"])])
    x = rng.standard_normal((4, 20, 30)).astype(np.float32)
    net = Net.from_memory(model.param_text(), model.bin_bytes(), kernels="ref")
    assert net.peak_memory == 0
    net.forward(x)
    y = 6 * 18 * 28 * 4
    assert net.peak_memory == x.nbytes + y + y
    # the GEMM kernels add their packing tiles while the convolution runs
    for k in FAST:
        net = Net.from_memory(model.param_text(), model.bin_bytes(), kernels=k)
        net.forward(x)
        assert x.nbytes + 2 * y <= net.peak_memory <= x.nbytes + 2 * y + 256 * 1024


def test_layer_times_cover_the_layers_that_ran():
    """Net.layer_times (mxn_session_layer_seconds): one wall time per layer of
    the last forward, 0 for a layer that did not run (Input, and the ReLU when
    only the convolution's output is asked for); the convolution of a 64x64
    image takes longer than nothing."""
    rng = np.random.RandomState(5)
    w = rng.standard_normal((16, 8, 3, 3)).astype(np.float32)
    model = NcnnModel([Layer("Input", "in", [], ["x"]),
                       Layer("Convolution", "conv", ["x"], ["y1"], {0: 16, 1: 3, 6: w.size},
                             [Weight("weight", w, "tagged")]),
                       Layer("ReLU", "relu", ["y1"], ["y2"])])
    net = Net.from_memory(model.param_text(), model.bin_bytes())
    assert net.layer_times == []
    x = rng.standard_normal((8, 64, 64)).astype(np.float32)
    net.forward(x)
    assert len(net.layer_times) == 3
    assert net.layer_times[0] == 0.0 and net.layer_times[1] > 0.0 and net.layer_times[2] > 0.0
    net.forward(x, outputs="y1")
    assert net.layer_times[1] > 0.0 and net.layer_times[2] == 0.0


def test_split_flatten_reshape_noop_are_views():
    """Split / Flatten / Reshape / Noop tops share their bottom's data: the
    values are the bottom's, and the peak heap holds the convolution's output
    once (x + y + z), not once per view."""
    rng = np.random.RandomState(4)
    w = rng.standard_normal((6, 4, 3, 3)).astype(np.float32)
    model = NcnnModel([Layer("Input", "in", [], ["x"]),
                       Layer("Convolution", "conv", ["x"], ["y"], {0: 6, 1: 3, 6: w.size},
                             [Weight("weight", w, "tagged")]),
                       Layer("Split", "split", ["y"], ["a", "b", "c"]),
                       Layer("Flatten", "flat", ["a"], ["f"]),
                       Layer("Reshape", "rs", ["f"], ["r"], {0: -1, 1: 6}),
                       Layer("Noop", "nop", ["c"], ["n"]),
                       Layer("ReLU", "relu", ["b"], ["z"])])
    x = rng.standard_normal((4, 20, 30)).astype(np.float32)
    net = Net.from_memory(model.param_text(), model.bin_bytes(), kernels="ref")
    out = net.forward(x, outputs=["y", "r", "n", "z"])
    y = out["y"]
    np.testing.assert_array_equal(out["r"], y.reshape(6, -1))
    np.testing.assert_array_equal(out["n"], y)
    np.testing.assert_array_equal(out["z"], np.maximum(y, 0))
    assert net.peak_memory == x.nbytes + 2 * y.nbytes
    # asking only for the views: y itself is released but its data stays for them
    out = net.forward(x, outputs=["r", "n"])
    np.testing.assert_array_equal(out["r"], y.reshape(6, -1))
    np.testing.assert_array_equal(out["n"], y)
    # a view of the caller's input is a copy (the caller may replace the input)
    ident = NcnnModel([Layer("Input", "in", [], ["x"]), Layer("Split", "s", ["x"], ["p", "q"])])
    out = Net.from_memory(ident.param_text(), b"").forward(x, outputs=["p", "q"])
    np.testing.assert_array_equal(out["p"], x)
    np.testing.assert_array_equal(out["q"], x)


@pytest.mark.skipif(not FAST, reason="no kernel set besides the reference on this CPU")
@pytest.mark.parametrize("num_input,num_output,rows", [(1, 1, 1), (7, 3, 1), (64, 10, 1), (1280, 1000, 1),
                                                        (33, 17, 3), (512, 5, 1), (100, 13, 2)])
@pytest.mark.parametrize("int8", [None, 2])
def test_innerproduct_kernels(num_input, num_output, rows, int8):
    """InnerProduct (GEMV per row): float32 within 1e-5, int8 bit-identical."""
    rng = np.random.RandomState(num_input + num_output)
    params = {0: num_output, 1: 1, 2: num_input * num_output, 9: 1}
    if int8 is None:
        weights = [Weight("weight", rng.standard_normal((num_output, num_input)).astype(np.float32), "tagged")]
    else:
        params[8] = int8
        weights = [Weight("weight", rng.randint(-127, 128, (num_output, num_input)).astype(np.int8), "tagged")]
    weights.append(Weight("bias", rng.standard_normal(num_output).astype(np.float32), "raw"))
    if int8 is not None:
        weights += [Weight("scales", rng.uniform(50, 200, num_output).astype(np.float32), "raw"),
                    Weight("bottom", np.array([30.0], np.float32), "raw")]
    model = NcnnModel([Layer("Input", "in", [], ["x"]), Layer("InnerProduct", "fc", ["x"], ["y"], params, weights)])
    x = rng.standard_normal((rows, num_input) if rows > 1 else (num_input,)).astype(np.float32)
    ref = run(model, x, "ref")
    for k in FAST:
        got = run(model, x, k)
        if int8 is None:
            assert float(np.abs(got - ref).max()) <= RTOL * max(float(np.abs(ref).max()), 1e-30), k
        else:
            np.testing.assert_array_equal(got.view(np.uint32), ref.view(np.uint32), err_msg=k)


def test_maixnn_kernels_environment_variable(tmp_path):
    """$MAIXNN_KERNELS picks a new session's kernel set; a bad value is an
    error naming the variable at the first run (not a silent fallback)."""
    import os
    import subprocess
    import sys
    model = model_of(FIXED[5])
    param, binp = str(tmp_path / "m.param"), str(tmp_path / "m.bin")
    model.save(param, binp)
    x = make_input(FIXED[5])
    np.save(str(tmp_path / "x.npy"), x)
    script = ("import sys, numpy as np\n"
              "from maixnn.runtime import Net\n"
              "np.save(sys.argv[3], Net(sys.argv[1], sys.argv[2]).forward(np.load(sys.argv[4])))\n")

    def run_with(value):
        env = dict(os.environ, MAIXNN_KERNELS=value)
        return subprocess.run([sys.executable, "-c", script, param, binp, str(tmp_path / "y.npy"),
                               str(tmp_path / "x.npy")], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, timeout=120)

    proc = run_with("ref")
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_array_equal(np.load(str(tmp_path / "y.npy")), run(model, x, "ref"))
    proc = run_with("bogus")
    assert proc.returncode != 0 and "MAIXNN_KERNELS: unknown kernel set 'bogus'" in proc.stderr


# ---------------------------------------------------------------- cheap layers and threads
# Pooling, BinaryOp, Eltwise and ReLU have no kernel sets: their loops are
# plain C the compiler vectorises, split over the session's threads.  They
# are exact, so they are checked bit for bit against independent numpy
# definitions for every thread count, on values that make the evaluation
# order visible (NaN, +-inf, -0/+0 ties, -FLT_MAX: the max-pooling pad).

THREADS = (1, 2, 3, 4)
F32_MAX = np.finfo(np.float32).max


def awkward_input(shape, seed):
    """Normal values, a quarter of them rounded to a few ties including -0
    and +0, and some NaN, +-inf and -FLT_MAX."""
    rng = np.random.RandomState(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    flat = x.reshape(-1)
    ties = rng.rand(flat.size) < 0.25
    flat[ties] = rng.choice(np.array([-0.0, 0.0, 1.0, -1.0], np.float32), int(ties.sum()))
    for value, frac in ((np.nan, 0.01), (np.inf, 0.01), (-np.inf, 0.02), (-F32_MAX, 0.02)):
        flat[rng.rand(flat.size) < frac] = value
    return x


def same_bits(got, want, msg=""):
    """Equal bits, -0 and +0 told apart; any NaN matches a NaN (C leaves the
    NaN's sign and payload to the compiler: x + y may be computed as y + x)."""
    assert got.shape == want.shape, msg
    nan = np.isnan(want)
    np.testing.assert_array_equal(np.isnan(got), nan, err_msg=msg)
    np.testing.assert_array_equal(got[~nan].view(np.uint32), want[~nan].view(np.uint32), err_msg=msg)


def pooling_reference(x, prm):
    """Windowed Pooling as ncnn (pooling.c's header): the pads actually
    applied (pad_mode 0's tail, the SAME pads), -FLT_MAX / 0 padding, the
    window folded in row-major order from its first element (max: m = e if
    e > m), the average finished by * (1/n) or / n."""
    f32 = np.float32
    c, h, w = x.shape
    typ, kw = prm.get(0, 0), prm[1]
    kh, sw = prm.get(11, kw), prm.get(2, 1)
    sh, pl = prm.get(12, sw), prm.get(3, 0)
    pr, pt = prm.get(14, pl), prm.get(13, pl)
    pb, mode, incl = prm.get(15, pt), prm.get(5, 0), prm.get(6, 0)
    PL, PR, PT, PB, wtail, htail = pl, pr, pt, pb, 0, 0
    if mode == 0:
        wrem, hrem = w + pl + pr - kw, h + pt + pb - kh
        wtail = sw - wrem % sw if wrem >= 0 and wrem % sw else 0
        htail = sh - hrem % sh if hrem >= 0 and hrem % sh else 0
        PR, PB = pr + wtail, pb + htail
    elif mode in (2, 3):
        wpad = max(0, kw + (w - 1) // sw * sw - w)
        hpad = max(0, kh + (h - 1) // sh * sh - h)
        PL, PT = (wpad - wpad // 2, hpad - hpad // 2) if mode == 3 else (wpad // 2, hpad // 2)
        PR, PB = wpad - PL, hpad - PT
    pw, ph = w + PL + PR, h + PT + PB
    ow, oh = (pw - kw) // sw + 1, (ph - kh) // sh + 1
    xp = np.full((c, ph, pw), -F32_MAX if typ == 0 else 0, f32)
    xp[:, PT:PT + h, PL:PL + w] = x

    def win(ky, kx):
        return xp[:, ky:ky + sh * (oh - 1) + 1:sh, kx:kx + sw * (ow - 1) + 1:sw]

    taps = [(ky, kx) for ky in range(kh) for kx in range(kw)]
    if typ == 0:
        m = win(0, 0).copy()
        for ky, kx in taps:
            e = win(ky, kx)
            m = np.where(e > m, e, m)
        return m
    s = np.zeros((c, oh, ow), f32)
    area = np.zeros((oh, ow), np.int64)
    ys, xs = np.arange(oh) * sh, np.arange(ow) * sw
    for ky, kx in taps:
        inside = np.ones((oh, ow), bool)
        if not incl:
            inside = (((ys + ky >= pt) & (ys + ky < ph - pb - htail))[:, None]
                      & ((xs + kx >= pl) & (xs + kx < pw - pr - wtail))[None, :])
        with np.errstate(over="ignore", invalid="ignore"):
            s = np.where(inside, s + win(ky, kx), s)
        area += inside
    with np.errstate(divide="ignore", invalid="ignore"):
        if incl or c % 4 == 0:
            return s * (f32(1) / area.astype(f32))
        return s / area.astype(f32)


def pooling_cases(n, seed):
    rng = np.random.RandomState(seed)
    cases = []
    for i in range(n):
        kw, kh = int(rng.choice([1, 2, 3, 3, 4])), int(rng.choice([1, 2, 3, 3]))
        prm = {0: int(rng.randint(2)), 1: kw, 11: kh, 2: int(rng.choice([1, 2, 2, 3])),
               12: int(rng.choice([1, 2, 3])), 5: int(rng.choice([0, 0, 1, 2, 3])), 6: int(rng.randint(2))}
        for pid in (3, 14, 13, 15):
            prm[pid] = int(rng.randint(0, 3))
        c = int(rng.choice([1, 3, 4, 8]))
        shape = (c, int(rng.randint(kh, 24)), int(rng.randint(kw, 24)))
        cases.append((prm, shape, i))
    # ResNet's stem max pooling and common ones, big enough for several threads
    # (more than MXN_PARALLEL_MIN_WORK = 262144 window taps)
    cases += [({0: 0, 1: 3, 2: 2, 3: 1, 5: 1}, (64, 56, 56), 90), ({0: 0, 1: 2, 2: 2}, (48, 80, 81), 91),
              ({0: 1, 1: 3, 2: 1, 3: 1}, (13, 45, 50), 92), ({0: 1, 1: 3, 2: 2, 3: 1, 6: 1}, (57, 60, 33), 93),
              ({0: 0, 1: 3, 2: 1, 3: 1, 5: 2}, (7, 70, 64), 94), ({0: 1, 1: 2, 2: 2, 5: 3}, (29, 99, 98), 95)]
    return cases


@pytest.mark.parametrize("prm,shape,seed", pooling_cases(40, 31), ids=lambda v: str(v))
def test_pooling_exact_for_any_thread_count(prm, shape, seed):
    x = awkward_input(shape, seed)
    model = NcnnModel([Layer("Input", "in", [], ["x"]), Layer("Pooling", "pool", ["x"], ["y"], prm)])
    want = pooling_reference(x, prm)
    for t in THREADS:
        same_bits(Net.from_memory(model.param_text(), b"", num_threads=t).forward(x), want, "threads %d" % t)


def binaryop_reference(op, a, b):
    f32 = np.float32
    with np.errstate(all="ignore"):
        return {0: lambda: a + b, 1: lambda: a - b, 2: lambda: a * b, 3: lambda: a / b,
                4: lambda: np.where(a > b, a, b), 5: lambda: np.where(a < b, a, b),
                7: lambda: b - a, 8: lambda: b / a}[op]().astype(f32)


@pytest.mark.parametrize("op", [0, 1, 2, 3, 4, 5, 7, 8])
@pytest.mark.parametrize("bshape", [(24, 160, 70), (24, 1, 1), (1, 160, 70), (24, 160, 1), (1, 1, 70), "scalar"])
def test_binaryop_exact_for_any_thread_count(op, bshape):
    """Same shapes (one flat loop), numpy broadcasts (per row), with_scalar;
    more than MXN_PARALLEL_MIN_WORK elements, so several threads share them."""
    a = awkward_input((24, 160, 70), 40 + op)
    if bshape == "scalar":
        b = np.float32(-0.75)
        layers = [Layer("Input", "in", [], ["a"]), Layer("BinaryOp", "op", ["a"], ["y"], {0: op, 1: 1, 2: float(b)})]
        feeds = {"a": a}
    else:
        b = awkward_input(bshape, 50 + op)
        layers = [Layer("Input", "in", [], ["a"]), Layer("Input", "in2", [], ["b"]),
                  Layer("BinaryOp", "op", ["a", "b"], ["y"], {0: op})]
        feeds = {"a": a, "b": b}
    model = NcnnModel(layers)
    want = binaryop_reference(op, a, b)
    for t in THREADS:
        net = Net.from_memory(model.param_text(), b"", num_threads=t)
        same_bits(net.forward(feeds, outputs="y")["y"], want, "threads %d" % t)


@pytest.mark.parametrize("op,coeffs,count", [(0, None, 2), (1, None, 3), (1, [0.5, -2.0, 3.0], 3), (2, None, 2),
                                             (2, None, 3), (0, None, 3)])
def test_eltwise_and_relu_exact_for_any_thread_count(op, coeffs, count):
    f32 = np.float32
    xs = [awkward_input((60, 64, 70), 60 + k) for k in range(count)]   # > MXN_PARALLEL_MIN_WORK
    names = ["x%d" % k for k in range(count)]
    prm = {0: op}
    if coeffs:
        prm[1] = coeffs
    layers = [Layer("Input", "in%d" % k, [], [n]) for k, n in enumerate(names)]
    layers += [Layer("Eltwise", "e", names, ["y"], prm), Layer("ReLU", "r", ["y"], ["z"]),
               Layer("ReLU", "leaky", ["y"], ["zl"], {0: 0.125})]
    with np.errstate(all="ignore"):
        if op == 0:
            y = xs[0] * xs[1]
        elif op == 2:
            y = np.where(xs[0] > xs[1], xs[0], xs[1])
        elif coeffs:
            y = xs[0] * f32(coeffs[0]) + xs[1] * f32(coeffs[1])
        else:
            y = xs[0] + xs[1]
        for k in range(2, count):
            if op == 0:
                y = y * xs[k]
            elif op == 2:
                y = np.where(y > xs[k], y, xs[k])
            else:
                y = y + (xs[k] * f32(coeffs[k]) if coeffs else xs[k])
        z = np.where(y < 0, f32(0), y)
        zl = np.where(y < 0, y * f32(0.125), y)
    model = NcnnModel(layers)
    for t in THREADS:
        out = Net.from_memory(model.param_text(), b"", num_threads=t).forward(dict(zip(names, xs)),
                                                                               outputs=["y", "z", "zl"])
        same_bits(out["y"], y.astype(f32), "Eltwise, threads %d" % t)
        same_bits(out["z"], z.astype(f32), "ReLU, threads %d" % t)
        same_bits(out["zl"], zl.astype(f32), "leaky ReLU, threads %d" % t)

# ---- the GEMM path's tiling: large K, small N, partial tiles, 1x1, strides ----
# (the avx512vnni set: 8 x 32 tiles, partial column tiles done with two A
# panels at once, B packed by runs of pixels, int8 by vpdpbusd on input + 128)
GEMM_CASES = [
    # 7x7 output (N = 49: one full 32-column tile + a partial one), 5 panels, large K (int8: > 256 quads)
    dict(cin=300, cout=40, k=3, stride=1, dil=1, pad=1, group=1, act=1, bias=True, h=7, w=7, seed=400),
    # 14x14 (N = 196), odd K, odd channel counts, leaky ReLU
    dict(cin=37, cout=23, k=3, stride=1, dil=1, pad=1, group=1, act=2, bias=True, h=14, w=14, seed=401),
    # 1x1 stride 1 (every tile one run), stride 2 and 3 (strided runs), a partial last tile
    dict(cin=19, cout=33, k=1, stride=1, dil=1, pad=0, group=1, act=3, bias=True, h=23, w=29, seed=402),
    dict(cin=64, cout=24, k=1, stride=2, dil=1, pad=0, group=1, act=0, bias=False, h=29, w=27, seed=403),
    dict(cin=9, cout=17, k=1, stride=3, dil=1, pad=0, group=1, act=4, bias=True, h=40, w=41, seed=404),
    # the 7x7 stride-2 stem shape, rows of 40 output pixels (tiles straddle rows)
    dict(cin=3, cout=16, k=7, stride=2, dil=1, pad=3, group=1, act=1, bias=True, h=80, w=80, seed=405),
    # a sigmoid (portable epilogue) on partial and full tiles, grouped
    dict(cin=12, cout=18, k=3, stride=2, dil=2, pad=2, group=3, act=4, bias=True, h=33, w=35, seed=406),
    # K = 1 and K = 2 (one quad, mostly missing taps), one output pixel
    dict(cin=1, cout=9, k=1, stride=1, dil=1, pad=0, group=1, act=0, bias=True, h=6, w=11, seed=407),
    dict(cin=2, cout=8, k=1, stride=1, dil=1, pad=0, group=1, act=0, bias=True, h=1, w=1, seed=408),
    # 512 channels at 7x7 (ResNet18's last stage), hswish-like clip; dilation 2 keeps the float
    # layer on the GEMM (a 3x3 stride-1 dilation-1 one takes Winograd, tested below)
    dict(cin=512, cout=24, k=3, stride=1, dil=2, pad=2, group=1, act=3, bias=True, h=7, w=7, seed=409),
]


# ---- Winograd F(4,3): float32 3x3 stride 1 (csrc/conv_winograd.c) ----------------------------


def winograd_cases(n, seed):
    """3x3 stride-1 convolutions with >= 8 channels in and out (the Winograd
    path, F(4,3) for these channel counts): odd channel counts, planes of 1..4
    tiles a side that are not multiples of 4, pads 0..2, every activation,
    bias or not."""
    rng = np.random.RandomState(seed)
    cases = []
    for i in range(n):
        pad = int(rng.randint(0, 3))
        cases.append(dict(cin=int(rng.choice([8, 9, 13, 16, 31, 64, 130])),
                          cout=int(rng.choice([8, 11, 17, 24, 40, 67])), k=3, stride=1, dil=1, pad=pad,
                          group=1, act=int(rng.choice([0, 1, 2, 3, 4, 6])), bias=bool(rng.randint(2)),
                          h=int(rng.randint(max(1, 3 - 2 * pad), 16)), w=int(rng.randint(max(1, 3 - 2 * pad), 16)),
                          seed=400 + i))
    return cases


WINOGRAD = winograd_cases(24, 9) + [
    # ResNet18's stages: 16 and 4 tiles, the input channels summed over several chunk groups
    dict(cin=256, cout=256, k=3, stride=1, dil=1, pad=1, group=1, act=0, bias=True, h=14, w=14, seed=451),
    dict(cin=512, cout=512, k=3, stride=1, dil=1, pad=1, group=1, act=1, bias=True, h=7, w=7, seed=450),
    # F(2,3) (in x out channels >= 512 x 512): odd channels and planes, partial tiles, no bias
    dict(cin=1024, cout=513, k=3, stride=1, dil=1, pad=2, group=1, act=2, bias=False, h=5, w=4, seed=455),
    dict(cin=731, cout=725, k=3, stride=1, dil=1, pad=0, group=1, act=4, bias=True, h=3, w=6, seed=456),
    dict(cin=8, cout=8, k=3, stride=1, dil=1, pad=1, group=1, act=0, bias=False, h=1, w=1, seed=452),
    dict(cin=20, cout=9, k=3, stride=1, dil=1, pad=-233, group=1, act=1, bias=True, h=10, w=13, seed=453),
    dict(cin=8, cout=7, k=3, stride=1, dil=1, pad=1, group=1, act=1, bias=True, h=9, w=9, seed=454),
]


@pytest.mark.skipif(not FAST, reason="no kernel set besides the reference on this CPU")
@pytest.mark.parametrize("case", GEMM_CASES, ids=ident)
def test_gemm_tiling_float32(case):
    model, x = model_of(case), make_input(case)
    ref = run(model, x, "ref")
    scale = max(float(np.abs(ref).max()), 1e-30)
    for k in FAST:
        for threads in (1, 3):
            got = run(model, x, k, threads)
            assert float(np.abs(got - ref).max()) <= RTOL * scale, (k, threads)


@pytest.mark.skipif(not FAST, reason="no kernel set besides the reference on this CPU")
@pytest.mark.parametrize("int8", [1, 101])
@pytest.mark.parametrize("case", GEMM_CASES, ids=ident)
def test_gemm_tiling_int8_bit_identical(case, int8):
    model, x = model_of(case, int8), make_input(case)
    ref = run(model, x, "ref")
    view = np.uint8 if int8 > 100 else np.uint32
    for k in FAST:
        for threads in (1, 3):
            got = run(model, x, k, threads)
            np.testing.assert_array_equal(got.view(view), ref.view(view), err_msg="%s %d" % (k, threads))


@pytest.mark.skipif(not FAST, reason="no kernel set besides the reference on this CPU")
def test_gemm_int8_extreme_inputs_bit_identical():
    """Saturated inputs (+-127 after quantization, the u8 path's 1 and 255)
    and full-scale weights over a long K: exact int32 sums, no overflow of
    the + 128 offset."""
    case = dict(cin=512, cout=16, k=3, stride=1, dil=1, pad=1, group=1, act=0, bias=True, h=9, w=9, seed=410)
    model = model_of(case, 1)
    w = model.layers[1].weights[0]
    w.data = np.where(np.random.RandomState(1).rand(*w.data.shape) < 0.5, -127, 127).astype(np.int8)
    x = np.where(make_input(case) > 0, 1e3, -1e3).astype(np.float32)
    ref = run(model, x, "ref")
    for k in FAST:
        np.testing.assert_array_equal(run(model, x, k).view(np.uint32), ref.view(np.uint32), err_msg=k)


@pytest.mark.skipif(not FAST, reason="no kernel set besides the reference on this CPU")
@pytest.mark.parametrize("case", WINOGRAD, ids=ident)
def test_winograd_matches_reference_for_any_thread_count(case):
    """Within 1e-5 of the layer's largest output.  Winograd's float32 error is
    relative to the convolution's own outputs, and an activation that
    squeezes the range (Clip, Sigmoid, HardSwish) does not squeeze the error:
    for those the bar is 1e-5 of the largest output before the activation
    (measured: up to 1.5e-5 of a Clip's or Sigmoid's maximum when the
    convolution's outputs are 10x larger)."""
    model, x = model_of(case), make_input(case)
    ref = run(model, x, "ref")
    scale = max(float(np.abs(ref).max()), 1e-30)
    if case["act"] not in (0, 1, 2):
        linear = run(model_of(dict(case, act=0)), x, "ref")
        scale = max(scale, float(np.abs(linear).max()))
    for k in FAST:
        one = run(model, x, k)
        assert one.shape == ref.shape
        assert float(np.abs(one - ref).max()) <= RTOL * scale, k
        for t in (2, 3):
            np.testing.assert_array_equal(run(model, x, k, threads=t), one, err_msg="%s %d" % (k, t))


# ---------------------------------------------------------------- depthwise planes
# ConvolutionDepthWise's own kernels (kernels.h mxn_dw_plane; csrc/x86/depthwise_{sse2,avx2}.c,
# csrc/arm/depthwise_neon.c): 3x3, 5x5 and other sizes, stride 1 (flattened plane) and 2 (rows),
# asymmetric pads, planes from 1x1 up, float32, int8 with float and int8 output, int8 input
# (a layer after an int8-output one), channels % 8 == 0 (ncnn-x86's mul + add rule) and not
# (fmaf), the activations, and edge constants (a denormal bias or scale_in, a huge top scale).
# tests/test_arm.py runs the same models through the NEON set under qemu-arm.

DW_SIZES = [(1, 1), (2, 3), (3, 7), (5, 4), (7, 7), (9, 16), (14, 14), (17, 33), (28, 29), (31, 57)]


def depthwise_plane_model(ch, h, w, seed):
    """Input -> Split -> one pure ConvolutionDepthWise per branch (random kernel
    3x3 / 5x5 / 3x5 / 1x1, stride 1 or 2, pads 0..k/2+1 per side, activation,
    bias, float32 / int8 float out / int8 int8 out, some int8 branches followed
    by a second int8 layer reading the int8 blob).  Returns (model, names of
    every blob to compare, names of the float32 layers' blobs)."""
    rng = np.random.RandomState(seed)
    branches, wanted, float_blobs = [], [], set()
    specials = ["denormal_bias", "huge_top", None, "denormal_scale_in", None]
    for i in range(12):
        kw, kh = [(3, 3), (3, 3), (5, 5), (5, 5), (3, 5), (1, 1)][rng.randint(6)]
        stride = int(rng.choice([1, 2]))
        pads = [int(rng.randint(0, k // 2 + 2)) for k in (kw, kw, kh, kh)]  # left, right, top, bottom
        if i == 4:
            pads = [0, 0, 0, 0]  # unpadded: planes read in place
        if w + pads[0] + pads[1] < kw or h + pads[2] + pads[3] < kh:
            pads = [kw, kw, kh, kh]
        int8 = [None, 1, 101, 101][i % 4]
        model = conv_model(ch, ch, kw, stride, 1, 0, ch, bool(rng.randint(3)), int(rng.choice([0, 1, 2, 3, 3, 4, 6])),
                           int8=int8, seed=seed * 100 + i, kh=kh)
        layer = model.layers[1]
        layer.params.update({4: pads[0], 15: pads[1], 14: pads[2], 16: pads[3]})
        special = specials[i % len(specials)] if int8 else None
        for wt in layer.weights:
            if special == "denormal_bias" and wt.name == "bias":
                wt.data[0] = np.float32(1e-40)
                wt.data[-1] = np.float32(-3e-39)
            if special == "huge_top" and wt.name == "top":
                wt.data[0] = np.float32(2.0 ** 110)
            # scale_in = 1 / (bottom * weight scale) denormal, codes that still matter
            if special == "denormal_scale_in" and wt.name == "bottom":
                wt.data[0] = np.float32(1e36)
            if special == "denormal_scale_in" and wt.name == "top":
                wt.data[0] = np.float32(1e36)
            if special == "denormal_scale_in" and wt.name == "bias":
                wt.data[:] = 0
        layer.name, layer.tops = "dw%d" % i, ["y%d" % i]
        branches.append(layer)
        wanted.append("y%d" % i)
        if int8 is None:
            float_blobs.add("y%d" % i)
        if int8 == 101 and i % 8 == 2:
            nxt = conv_model(ch, ch, 3, 1, 1, 1, ch, True, 3, int8=1 + 100 * (i % 16 == 2), seed=seed * 100 + 50 + i)
            second = nxt.layers[1]
            if i == 10 and h >= 9 and w >= 9:
                second.params[4] = 0  # unpadded int8 input: read in place
            second.name, second.bottoms, second.tops = "dw%db" % i, ["y%d" % i], ["y%db" % i]
            branches.append(second)
            wanted.append("y%db" % i)
    inputs = ["x%d" % i for i in range(sum(1 for b in branches if b.bottoms == ["x"]))]
    it = iter(inputs)
    for b in branches:
        if b.bottoms == ["x"]:
            b.bottoms = [next(it)]
    layers = [Layer("Input", "in", [], ["x"]), Layer("Split", "split", ["x"], inputs)] + branches
    return NcnnModel(layers), wanted, float_blobs


def depthwise_plane_input(ch, h, w, seed):
    x = np.random.RandomState(seed).standard_normal((ch, h, w)).astype(np.float32) * 3
    x.reshape(-1)[::17] = 0.0
    return x


def check_blobs(got, ref, float_blobs, what):
    """float32 layers within RTOL; int8 layers bit for bit, int8 and float outputs alike"""
    for name, r in ref.items():
        g = got[name]
        assert g.dtype == r.dtype and g.shape == r.shape, (what, name)
        if name in float_blobs:
            assert float(np.abs(g - r).max()) <= RTOL * max(float(np.abs(r).max()), 1e-30), (what, name)
        elif r.dtype == np.int8:
            np.testing.assert_array_equal(g, r, err_msg="%s %s" % (what, name))
        else:
            np.testing.assert_array_equal(g.view(np.uint32), r.view(np.uint32), err_msg="%s %s" % (what, name))


@pytest.mark.skipif(not FAST, reason="no kernel set besides the reference on this CPU")
@pytest.mark.parametrize("ch", [8, 13])
@pytest.mark.parametrize("size", DW_SIZES, ids=lambda s: "%dx%d" % s)
def test_depthwise_planes_match_reference(size, ch):
    h, w = size
    model, wanted, float_blobs = depthwise_plane_model(ch, h, w, seed=h * 131 + w + ch)
    x = depthwise_plane_input(ch, h, w, seed=h + w)
    ref = run_outputs(model, x, "ref", wanted)
    assert any(v.dtype == np.int8 for v in ref.values()) and float_blobs
    for k in FAST:
        check_blobs(run_outputs(model, x, k, wanted), ref, float_blobs, k)
    # threads split the channels: the same bits for any count
    for k in FAST[:1]:
        one = run_outputs(model, x, k, wanted)
        for t in (2, 5):
            got = run_outputs(model, x, k, wanted, threads=t)
            for name in wanted:
                np.testing.assert_array_equal(got[name], one[name], err_msg="%s %d threads %s" % (k, t, name))


def run_outputs(model, x, kernels, wanted, threads=1):
    net = Net.from_memory(model.param_text(), model.bin_bytes(), num_threads=threads, kernels=kernels)
    return net.forward(x, outputs=wanted)


def test_depthwise_planes_under_sanitizers(tmp_path):
    """The depthwise plane models through tests/c/corpus_test built with
    ASan + UBSan + LSan (build/sanitize, shared with test_hostile.py), with
    every kernel set: the kernels' reads past a row stay inside the padded
    plane's slack or the input blob, their stores inside the output plane."""
    import os
    import subprocess
    import hostile_corpus as hc
    try:
        build = hc.build_sanitized()
    except RuntimeError as exc:
        pytest.fail("the sanitizer build failed:\n%s" % exc, pytrace=False)
    good = tmp_path / "good"
    good.mkdir()
    count = 0
    for ch in (8, 13):
        for h, w in DW_SIZES:
            model, _, _ = depthwise_plane_model(ch, h, w, seed=h * 131 + w + ch)
            model.layers[0].params = {0: w, 1: h, 2: ch}
            model.save(str(good / ("dw_%d_%dx%d.param" % (ch, h, w))), str(good / ("dw_%d_%dx%d.bin" % (ch, h, w))))
            count += 1
    for k in available_kernels():
        env = dict(os.environ, MAIXNN_KERNELS=k)
        env.update(hc.SANITIZER_ENV)
        proc = subprocess.run([os.path.join(build, "tests", "c", "corpus_test"), str(tmp_path)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                              timeout=600, errors="replace")
        assert proc.returncode == 0, "%s:\n%s" % (k, proc.stdout[-4000:])
        passed = int(proc.stdout.strip().splitlines()[-1].split("corpus_test: ")[1].split(" passed")[0])
        assert passed >= count, (k, proc.stdout[-2000:])
