"""The engine on armv7 (issue 2 item 3): cross-compile it for the V831's
Cortex-A7 code generation (-march=armv7-a -mfpu=neon-vfpv4 -mfloat-abi=hard,
toolchain/armhf-debian.cmake) into build/armhf, warning-free with -Wall
-Wextra, run tests/c/run_model under qemu-arm on models made by maixnn, and
compare every blob with the x86 engine (maixnn.runtime.Net) on the same input:

* float models (three nets of tests/nets.py): every blob within FLOAT_ULPS of
  x86 (libm's expf etc. are different builds on armhf and x86-64 and may
  differ in the last place; the engine's own arithmetic is fixed-order IEEE
  single precision, -ffp-contract=off).  Measured: bit-identical.
* their int8 quantizations (maixnn.quantize): every blob identical, int8 and
  dequantized float.  Compared with a host build with -DMAIXNN_NO_NCNN_X86_RCP
  (build/host-exact-rcp): on x86 the engine copies ncnn-x86's approximate
  reciprocal for int8 depthwise convolutions with channels % 8 == 0
  (csrc/x86/ncnn_host_compat.c), ARM uses 1.f / x as ncnn-arm does; against the
  default x86 build nets without such a layer must be identical too.
* the V831 NPU input path: an already-quantized int8 input.
* the committed and the generated malformed-model corpora (tests/c/corpus_test)
  give on ARM every verdict and message x86 gives (ARM's plain char is
  unsigned; size_t and long are 32 bits), and one net shared by 4 threads
  gives the serial results (tests/c/thread_test).

Skipped only when the cross compiler (gcc-arm-linux-gnueabihf with its C
library, libc6-dev-armhf-cross) or qemu-arm (qemu-user) is missing; .ci/run
installs them.  Build dirs are incremental: a rerun only recompiles what
changed.  Cold (both builds from scratch): about 75 s.
"""
from __future__ import annotations

import glob
import os
import shutil
import struct
import subprocess
import warnings

import numpy as np
import pytest

import cross
import helpers
import nets
from cross import cmake_build, compare_blobs, run_on_host, summary

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD_DIR = os.path.join(REPO, "build", "armhf")
HOST_EXACT_DIR = os.path.join(REPO, "build", "host-exact-rcp")
SYSROOT = "/usr/arm-linux-gnueabihf"
CROSS_PREFIX = "arm-linux-gnueabihf-"
CORPUS_DIR = os.path.join(REPO, "tests", "corpus")

ARM_TARGETS = ("maixnn", "run_model", "corpus_test", "thread_test")
FLOAT_NETS = ("resnet18", "mobilenetv2", "detector")
# (mobilenetv2's int8 depthwise layers have channels % 8 == 0: see the docstring)
INT8_NETS = ("resnet18", "mobilenetv2", "detector")
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
CALIBRATION_IMAGES = 8
QEMU_TIMEOUT = 300


pytestmark = pytest.mark.skipif(cross.missing_tools("armhf") is not None, reason=str(cross.missing_tools("armhf")))


# ---------------------------------------------------------------- builds

@pytest.fixture(scope="module")
def arm_build():
    """build/armhf: libmaixnn.so, run_model, corpus_test and thread_test for armv7-a.
    CMAKE_COMPILE_WARNING_AS_ERROR keeps a warning failing on every rerun
    (an incremental build would not print it again)."""
    out = cross.build(cross.toolchain("armhf"), ARM_TARGETS)
    warning_lines = [ln for ln in out.splitlines() if "warning:" in ln]
    assert not warning_lines, "the armv7 build has warnings:\n" + "\n".join(warning_lines[:20])
    return {"lib": os.path.join(BUILD_DIR, "libmaixnn.so"),
            "run_model": os.path.join(BUILD_DIR, "tests", "c", "run_model"),
            "corpus_test": os.path.join(BUILD_DIR, "tests", "c", "corpus_test"),
            "thread_test": os.path.join(BUILD_DIR, "tests", "c", "thread_test")}


@pytest.fixture(scope="module")
def host_exact_build():
    """The x86 engine without ncnn-x86's rcpps rule (what ARM must equal on
    int8 depthwise convolutions with channels % 8 == 0), and corpus_test
    built by the host gcc next to it."""
    cmake_build(HOST_EXACT_DIR, ["-DCMAKE_BUILD_TYPE=Release", "-DCMAKE_C_FLAGS=-DMAIXNN_NO_NCNN_X86_RCP",
                                  "-DMAIXNN_BUILD_TESTS=ON"],
                 ["maixnn", "corpus_test"], HOST_EXACT_DIR + ".lock")
    return {"lib": os.path.join(HOST_EXACT_DIR, "libmaixnn.so"),
            "corpus_test": os.path.join(HOST_EXACT_DIR, "tests", "c", "corpus_test")}


def _qemu(cmd):
    return ["qemu-arm", "-L", SYSROOT] + list(cmd)


# ---------------------------------------------------------------- models

@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Each net of tests/nets.py SMALL_NETS converted (float) and quantized
    (kl, ImageNet mean/std folded for the NPU, as the board gets it)."""
    import maixnn
    root = tmp_path_factory.mktemp("arm_models")
    rng = np.random.default_rng(7)
    result = {}
    for name in sorted(set(FLOAT_NETS) | set(INT8_NETS)):
        d = root / name
        d.mkdir()
        model = nets.SMALL_NETS[name](seed=0)
        paths = helpers.export_and_convert(model, d)
        c, h, w = model.input_shape
        images = (rng.random((CALIBRATION_IMAGES, h, w, 3)) * 255).astype(np.uint8)
        entry = {"float": (paths.param, paths.bin), "shape": model.input_shape, "images": images}
        if name in INT8_NETS:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                q = maixnn.quantize(str(d / "model"), str(d / "model_int8"), images=images, mean=MEAN, std=STD,
                                    method="kl", progress=False)
            entry["int8"] = (q.param, q.bin)
            entry["quantized"] = q
        result[name] = entry
    return result


# ---------------------------------------------------------------- running

def run_on_arm(arm_build, param, binp, x, outdir, input_name="input0", kernels=None):
    """run_model under qemu-arm, every blob dumped: {name: array} in the shape
    maixnn.runtime.Net gives; kernels: the kernel set ($MAIXNN_KERNELS), None =
    the build's best (NEON)."""
    return cross.run_model_blobs(_qemu([arm_build["run_model"]]), param, binp, x, outdir, input_name, kernels)


def _ulps_of(ref: np.ndarray) -> np.ndarray:
    return np.spacing(np.abs(ref).astype(np.float32).max())


# Float: a blob may differ from x86 only by libm (expf, logf, tanhf...) being a
# different build on armhf; the engine's own arithmetic is IEEE single
# precision in a fixed order on both (-ffp-contract=off, explicit fmaf).
# Allowed: FLOAT_ULPS units in the last place of the blob's largest magnitude.
FLOAT_ULPS = 4


def _check_float(report, host, what):
    worst_rel = 0.0
    for name, (identical, diff, _ulps) in report.items():
        if identical:
            continue
        scale = float(_ulps_of(host[name]))
        assert diff <= FLOAT_ULPS * scale, "%s: blob %s differs by %g on ARM (%g ulp of its largest value)" % (
            what, name, diff, diff / scale)
        worst_rel = max(worst_rel, diff / scale)
    return worst_rel


@pytest.mark.parametrize("name", FLOAT_NETS)
def test_float_model_matches_x86(arm_build, models, name, tmp_path):
    # the reference kernels on both: the same IEEE operations in the same order
    param, binp = models[name]["float"]
    x = helpers.random_input(models[name]["shape"], seed=1, batch=False)
    arm = run_on_arm(arm_build, param, binp, x, str(tmp_path / "arm"), kernels="ref")
    host = run_on_host(param, binp, x, kernels="ref")
    report = compare_blobs(arm, host)
    assert len(report) > 10
    worst = _check_float(report, host, "%s float" % name)
    print("%s float on armv7 vs x86: %s (worst %.1f ulp)" % (name, summary(report), worst))


@pytest.mark.parametrize("name", FLOAT_NETS[:2])
def test_neon_kernels_match_reference(arm_build, models, name, tmp_path):
    """On ARM, the NEON kernels against the portable reference kernels, every
    blob: float32 within 1e-5 of the blob's largest value, int8 bit-identical."""
    param, binp = models[name]["float"]
    x = helpers.random_input(models[name]["shape"], seed=1, batch=False)
    neon = run_on_arm(arm_build, param, binp, x, str(tmp_path / "neon"), kernels="neon")
    ref = run_on_arm(arm_build, param, binp, x, str(tmp_path / "ref"), kernels="ref")
    assert set(neon) == set(ref) and len(ref) > 10
    for blob, r in ref.items():
        scale = max(float(np.abs(r).max()), 1e-30)
        assert float(np.abs(neon[blob] - r).max()) <= 1e-5 * scale, "float blob %s" % blob
    param, binp = models[name]["int8"]
    xq = models[name]["quantized"].preprocess(models[name]["images"][0]).astype(np.float32)
    neon = run_on_arm(arm_build, param, binp, xq, str(tmp_path / "neon8"), kernels="neon")
    ref = run_on_arm(arm_build, param, binp, xq, str(tmp_path / "ref8"), kernels="ref")
    differing = sorted(n for n, v in compare_blobs(neon, ref).items() if not v[0])
    assert not differing, "int8 NEON differs from the reference in %s" % differing[:5]


@pytest.mark.parametrize("name", INT8_NETS)
def test_int8_model_matches_x86(arm_build, models, host_exact_build, name, tmp_path):
    param, binp = models[name]["int8"]
    q = models[name]["quantized"]
    x = q.preprocess(models[name]["images"][0]).astype(np.float32)
    arm = run_on_arm(arm_build, param, binp, x, str(tmp_path / "arm"))
    int8_blobs = [n for n, v in arm.items() if v.dtype == np.int8]
    assert len(int8_blobs) >= 3, "the int8 model computes only %d int8 blobs" % len(int8_blobs)

    # against the exact-reciprocal x86 build: everything bit-identical
    exact = compare_blobs(arm, run_on_host(param, binp, x, library=host_exact_build["lib"]))
    differing = sorted(n for n, v in exact.items() if not v[0])
    assert not differing, "%s int8 on ARM differs from x86 (-DMAIXNN_NO_NCNN_X86_RCP) in %d blobs, e.g. %s %s" % (
        name, len(differing), differing[0], exact[differing[0]])

    # against the default x86 build (the library maixnn.runtime uses): the same
    # unless the net has int8 depthwise convolutions with channels % 8 == 0
    default = compare_blobs(arm, run_on_host(param, binp, x))
    differing = sorted(n for n, v in default.items() if not v[0])
    if _has_x86_rcp_depthwise(param):
        assert differing, ("%s has an int8 depthwise convolution with channels %% 8 == 0, where x86 uses "
                           "rcpps and ARM 1/x: expected some blob to differ" % name)
    else:
        assert not differing, "%s int8 on ARM differs from x86 in %d blobs, e.g. %s %s" % (
            name, len(differing), differing[0], default[differing[0]])
    print("%s int8 on armv7: %d int8 blobs; vs x86 exact-rcp build: %s; vs default x86: %s" % (
        name, len(int8_blobs), summary(exact), summary(default)))


def _has_x86_rcp_depthwise(param):
    """Is there a layer where csrc/x86/ncnn_host_compat.c applies on x86 (see
    conv_common.c): an int8 ConvolutionDepthWise with group == num_output ==
    input channels and group % 8 == 0?"""
    for layer_type, _name, _bottoms, _tops, params in helpers.param_layers(param):
        if layer_type != "ConvolutionDepthWise" or int(params.get(8, "0")) == 0:
            continue
        num_output, group = int(params.get(0, "0")), int(params.get(7, "1"))
        kernel_w = int(params.get(1, "0"))
        kernel_h = int(params.get(11, str(kernel_w)))
        if group == num_output and group % 8 == 0 and int(params.get(6, "0")) == num_output * kernel_w * kernel_h:
            return True
    return False


def test_npu_input_path_matches_x86(arm_build, models, tmp_path):
    """The V831 feeds an already-quantized int8 buffer (libmaix need_quantization):
    the same buffer through the same int8 model on ARM and x86."""
    from maixnn import nn as maix_nn
    from maixnn.ncnn_model import NcnnModel
    from maixnn.npu import NpuInput
    q = models["resnet18"]["quantized"]
    model = maix_nn.load(q.mud)
    npu = NpuInput.from_model(NcnnModel.load(q.param, q.bin))
    # the model the NPU buffer goes to (without the folded Padding, if any)
    param, binp = str(tmp_path / "npu.param"), str(tmp_path / "npu.bin")
    npu.model.save(param, binp)
    image = models["resnet18"]["images"][1]
    xq = model.prepare_input(next(iter(model.inputs)), image, quantize=True)
    assert xq.dtype == np.int8
    arm = run_on_arm(arm_build, param, binp, xq, str(tmp_path / "arm"), input_name=npu.feed_blob)
    report = compare_blobs(arm, run_on_host(param, binp, xq))
    differing = sorted(n for n, v in report.items() if not v[0])
    assert not differing, "int8 input on ARM differs from x86 in %s" % differing[:5]
    print("resnet18 int8 with the NPU's int8 input on armv7 vs x86: %s" % summary(report))


def test_build_targets_the_v831_cpu(arm_build):
    """The flags reached the code: a 32-bit ARM ELF, hard-float ABI, and the
    build attributes of armv7-a with VFPv4 and NEON."""
    with open(arm_build["lib"], "rb") as f:
        header = f.read(52)
    assert header[:4] == b"\x7fELF" and header[4] == 1, "not a 32-bit ELF"
    e_machine, = struct.unpack_from("<H", header, 18)
    e_flags, = struct.unpack_from("<I", header, 36)
    assert e_machine == 40, "e_machine %d is not EM_ARM" % e_machine
    assert e_flags & 0x400, "not the hard-float ABI (e_flags 0x%x)" % e_flags
    readelf = shutil.which(CROSS_PREFIX + "readelf") or shutil.which("readelf")
    attrs = subprocess.run([readelf, "-A", arm_build["lib"]], stdout=subprocess.PIPE,
                           universal_newlines=True).stdout
    assert "Tag_CPU_arch: v7" in attrs, attrs
    assert "Tag_FP_arch: VFPv4" in attrs, attrs
    assert "NEON" in attrs, attrs
    assert "Tag_ABI_VFP_args: VFP registers" in attrs, attrs


def test_malformed_corpus_on_arm(arm_build, host_exact_build, tmp_path):
    """tests/corpus and the generated malformed corpus (tests/hostile_corpus.py)
    through tests/c/corpus_test on ARM: good models load and run, bad ones
    fail, bit-flipped ones never crash - and every verdict and error message is
    the one the x86 build prints (ARM's plain char is unsigned, size_t and
    long are 32 bits: parsers and overflow checks must not notice)."""
    import hostile_corpus
    generated = str(tmp_path / "generated")
    assert hostile_corpus.write_corpus(generated) > 100
    for corpus in (CORPUS_DIR, generated):
        proc = subprocess.run(_qemu([arm_build["corpus_test"], "-v", corpus]), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, timeout=QEMU_TIMEOUT,
                              errors="replace")
        assert proc.returncode == 0, proc.stdout[-6000:]
        summary = proc.stdout.strip().splitlines()[-1]
        passed = int(summary.split("corpus_test: ")[1].split(" passed")[0])
        files = sum(len(glob.glob(os.path.join(corpus, sub, "*.param"))) for sub in ("good", "bad", "any"))
        assert files > 3 and passed >= files, summary
        x86 = subprocess.run([host_exact_build["corpus_test"], "-v", corpus], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, universal_newlines=True, timeout=QEMU_TIMEOUT,
                             errors="replace")
        arm_lines, x86_lines = proc.stdout.splitlines(), x86.stdout.splitlines()
        mismatches = [(a, b) for a, b in zip(arm_lines, x86_lines) if a != b]
        assert len(arm_lines) == len(x86_lines) and not mismatches, \
            "ARM vs x86 on %s:\n%s" % (corpus, "\n".join("ARM %s\nx86 %s" % m for m in mismatches[:5]))
        print("armv7 %s on %s, every line as on x86" % (summary, os.path.basename(corpus)))


def test_threads_on_arm(arm_build):
    """One net, 4 threads, each result identical to the serial one, on ARM."""
    proc = subprocess.run(_qemu([arm_build["thread_test"], CORPUS_DIR]), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=QEMU_TIMEOUT, errors="replace")
    assert proc.returncode == 0, proc.stdout[-6000:]
    summary = proc.stdout.strip().splitlines()[-1]
    passed = int(summary.split("thread_test: ")[1].split(" passed")[0])
    # every model of the corpus plus thread_test's built-in one (the thread pool's layers)
    assert passed == len(glob.glob(os.path.join(CORPUS_DIR, "good", "*.param"))) + 1, summary


@pytest.mark.parametrize("name", ["conv_chain", "eltwise_pool", "cpu_between", "fc_first_3d"])
def test_awnn_model_matches_x86(arm_build, name, tmp_path):
    """The V831 NPU emulation (awnn models, tests/awnn_build.py) on armv7: every blob - int8
    codes of the NPU layers, floats of the CPU layers - identical to x86 (on the reference
    kernels, as the float test above: fast float kernels differ within 1e-5, not bit for bit;
    the NPU layers' integer arithmetic has one implementation)."""
    from awnn_build import branch_models
    from maixnn.runtime import Net
    base = str(tmp_path / name)
    branch_models()[name].save(base)
    with Net(base + ".param", base + ".bin") as net:
        inp = net.input_names[0]
        shape = net.input_shapes[inp]
    x = np.random.RandomState(0).uniform(-3, 3, shape).astype(np.float32)
    arm = run_on_arm(arm_build, base + ".param", base + ".bin", x, str(tmp_path / "arm"), input_name=inp,
                     kernels="ref")
    host = run_on_host(base + ".param", base + ".bin", x, kernels="ref")
    assert set(host) <= set(arm)
    for blob, want in host.items():
        assert arm[blob].dtype == want.dtype and np.array_equal(arm[blob], want), blob


def _conv_chain(chans, pads, acts, seed):
    """Convolution 3x3 stride 1 layers x0 -> x1 -> ...; conv2 has no bias."""
    from maixnn.ncnn_model import Layer, NcnnModel, Weight
    rng = np.random.RandomState(seed)
    layers = [Layer("Input", "in", [], ["x0"])]
    for i in range(len(pads)):
        wshape = (chans[i + 1], chans[i], 3, 3)
        params = {0: chans[i + 1], 1: 3, 4: pads[i], 5: int(i != 2), 6: int(np.prod(wshape))}
        weights = [Weight("weight", rng.standard_normal(wshape).astype(np.float32) * 0.2, "tagged")]
        if i != 2:
            weights.append(Weight("bias", rng.standard_normal(chans[i + 1]).astype(np.float32), "raw"))
        if acts[i]:
            params[9] = acts[i]
            if acts[i] == 2:
                params[10] = [0.1]
        layers.append(Layer("Convolution", "conv%d" % i, ["x%d" % i], ["x%d" % (i + 1)], params, weights))
    return NcnnModel(layers)


@pytest.mark.parametrize("chans,pads,acts,hw", [
    # F(4,3): odd channel counts, planes of 1..3 tiles a side, pads 0..2
    ([13, 17, 9, 24, 67, 8], [1, 0, 2, 1, 1], [1, 2, 0, 1, 0], (11, 10)),
    # F(2,3) (in x out channels >= 512 x 512) after an F(4,3) layer
    ([8, 730, 720], [1, 1], [1, 2], (4, 5)),
])
def test_neon_winograd_matches_reference(arm_build, tmp_path, chans, pads, acts, hw):
    """The NEON Winograd kernels (float32 3x3 stride-1 convolutions with >= 8
    channels, csrc/conv_winograd.c) against the reference under qemu: every
    blob within 1e-5 of the reference's largest value."""
    model = _conv_chain(chans, pads, acts, seed=3)
    param, binp = str(tmp_path / "wino.param"), str(tmp_path / "wino.bin")
    with open(param, "w") as f:
        f.write(model.param_text())
    with open(binp, "wb") as f:
        f.write(model.bin_bytes())
    x = np.random.RandomState(4).standard_normal((chans[0],) + hw).astype(np.float32)
    neon = run_on_arm(arm_build, param, binp, x, str(tmp_path / "neon"), input_name="x0", kernels="neon")
    ref = run_on_arm(arm_build, param, binp, x, str(tmp_path / "ref"), input_name="x0", kernels="ref")
    assert set(neon) == set(ref) and len(ref) == len(pads)
    for blob, r in ref.items():
        assert neon[blob].shape == r.shape
        scale = max(float(np.abs(r).max()), 1e-30)
        assert float(np.abs(neon[blob] - r).max()) <= 1e-5 * scale, "float blob %s" % blob
    # the Winograd path rounds differently from the direct reference, so it ran
    assert all(not np.array_equal(neon[b], ref[b]) for b in ref)


@pytest.mark.parametrize("size,ch", [((1, 1), 13), ((7, 7), 8), ((14, 14), 13), ((17, 33), 8), ((31, 57), 13)],
                         ids=lambda v: "x".join(map(str, v)) if isinstance(v, tuple) else str(v))
def test_neon_depthwise_planes_match_reference(arm_build, size, ch, tmp_path):
    """ConvolutionDepthWise's NEON kernels (csrc/arm/depthwise_neon.c: stride 1
    flattened, stride 2 with vld2, the vector int8 requantize of neon_common.h)
    against the reference under qemu-arm, on the branch models of
    test_kernels.py: float32 within 1e-5, int8 layers bit-identical (int8 and
    float outputs, int8 inputs, a denormal bias, a top scale past 2^100)."""
    from test_kernels import check_blobs, depthwise_plane_input, depthwise_plane_model
    h, w = size
    model, wanted, float_blobs = depthwise_plane_model(ch, h, w, seed=h * 131 + w + ch)
    base = str(tmp_path / "dw")
    model.save(base + ".param", base + ".bin")
    x = depthwise_plane_input(ch, h, w, seed=h + w)
    neon = run_on_arm(arm_build, base + ".param", base + ".bin", x, str(tmp_path / "neon"), input_name="x",
                      kernels="neon")
    ref = run_on_arm(arm_build, base + ".param", base + ".bin", x, str(tmp_path / "ref"), input_name="x",
                     kernels="ref")
    assert set(wanted) <= set(ref)
    check_blobs({n: neon[n] for n in wanted}, {n: ref[n] for n in wanted}, float_blobs, "neon")
