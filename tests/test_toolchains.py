"""The three ARM toolchains of toolchain/ (issue 7 item 3), each building the
engine and its C test programs and running them under qemu-arm:

* armhf  toolchain/armhf-debian.cmake (Debian's glibc gcc; build/armhf, shared
         with tests/test_arm.py, which compares many more nets on it);
* zig    toolchain/zig-armv7-musl.cmake (pip ziglang, zig cc -target
         arm-linux-musleabihf -mcpu=cortex_a7): musl binaries as the board runs;
* v831   toolchain/v831-musl.cmake (Sipeed's sunxi toolchain) pointed at a
         stand-in bin/ of scripts named like the sunxi tools that run zig's
         musl compiler, gcc/g++ failing without STAGING_DIR (tests/cross.py): proves
         the file's logic (prefix, STAGING_DIR handed to every compile and
         link, flags, the qemu emulator), not Sipeed's GCC 6.4 itself.

For each: the library is a 32-bit hard-float ARM ELF of the expected libc;
ctest runs the C tests through the toolchain's CMAKE_CROSSCOMPILING_EMULATOR;
run_model under qemu-arm computes, blob by blob, an int8 model bit-identically
to the host engine and a float model within FLOAT_ULPS (zig links its own
expf/logf, which differ from glibc's by an ulp on some inputs; the engine's
own arithmetic is fixed-order IEEE single precision).

Skipped when a tool is missing (qemu-user, gcc-arm-linux-gnueabihf, ziglang,
Debian's musl:armhf unpacked for the loader; .ci/run installs them all),
except under CI, where a missing tool fails.  The first zig build per
optimisation level costs about a minute (zig builds musl into ~/.cache/zig).
"""
from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import warnings

import numpy as np
import pytest

import cross
import helpers
import nets

TOOLCHAINS = ("armhf", "zig", "v831")
TARGETS = ("maixnn", "run_model", "corpus_test", "thread_test")
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
# float blobs may differ from x86 by this many ulps of the blob's largest magnitude
FLOAT_ULPS = 4
# symbols only musl >= 1.2 exports (64-bit time_t on 32-bit ARM): the board's musl
# (2017 toolchain) is likely 1.1.x, so a dynamic library importing one would not load
TIME64_SYMBOL = re.compile(r"__\w*(time|stat|clock|timer|utime|select|poll|nanosleep)\w*64")


@pytest.fixture(scope="module", params=TOOLCHAINS)
def built(request):
    name = request.param
    cross.require(name)
    tc = cross.toolchain(name)
    cross.build(tc, TARGETS)
    return tc


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """tests/nets.py's small ResNet18, float and int8 (kl, ImageNet mean/std)."""
    import maixnn
    d = tmp_path_factory.mktemp("toolchain_models")
    model = nets.SMALL_NETS["resnet18"](seed=0)
    paths = helpers.export_and_convert(model, d)
    c, h, w = model.input_shape
    images = (np.random.default_rng(3).random((4, h, w, 3)) * 255).astype(np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = maixnn.quantize(str(d / "model"), str(d / "model_int8"), images=images, mean=MEAN, std=STD,
                            method="kl", progress=False)
    return {"float": (paths.param, paths.bin), "int8": (q.param, q.bin), "quantized": q,
            "shape": model.input_shape, "images": images}


def _elf(path):
    with open(path, "rb") as f:
        data = f.read()
    assert data[:4] == b"\x7fELF" and data[4] == 1, "%s: not a 32-bit ELF" % path
    e_machine, = struct.unpack_from("<H", data, 18)
    e_flags, = struct.unpack_from("<I", data, 36)
    return data, e_machine, e_flags


def _interpreter(data):
    """PT_INTERP of a 32-bit little-endian ELF, or None (static)."""
    e_phoff, = struct.unpack_from("<I", data, 28)
    e_phentsize, e_phnum = struct.unpack_from("<HH", data, 42)
    for i in range(e_phnum):
        p_type, p_offset, _va, _pa, p_filesz = struct.unpack_from("<IIIII", data, e_phoff + i * e_phentsize)
        if p_type == 3:
            return data[p_offset:p_offset + p_filesz].rstrip(b"\0").decode()
    return None


def _readelf():
    return shutil.which("llvm-readelf") or shutil.which("arm-linux-gnueabihf-readelf") or shutil.which("readelf")


def imported_symbols(path):
    """Undefined dynamic symbols of an ELF (llvm-readelf / readelf --dyn-syms)."""
    out = subprocess.run([_readelf(), "--dyn-syms", "-W", path], stdout=subprocess.PIPE,
                         universal_newlines=True, check=True).stdout
    names = set()
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 8 and fields[6] == "UND" and fields[7]:
            names.add(fields[7].split("@")[0])
    return names


def needed_libraries(path):
    out = subprocess.run([_readelf(), "-d", "-W", path], stdout=subprocess.PIPE, universal_newlines=True,
                         check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def test_binaries_are_armv7_hard_float_for_the_libc(built):
    lib = os.path.join(built.build_dir, "libmaixnn.so")
    run_model = os.path.join(built.build_dir, "tests", "c", "run_model")
    for path in (lib, run_model):
        _data, machine, flags = _elf(path)
        assert machine == 40, "%s: e_machine %d is not EM_ARM" % (path, machine)
        assert flags & 0x400, "%s: not the hard-float ABI (e_flags 0x%x)" % (path, flags)
    interp = _interpreter(_elf(run_model)[0])
    libs = needed_libraries(run_model)
    if built.libc == "musl":
        assert interp == "/lib/ld-musl-armhf.so.1", interp
        assert set(libs) == {"libmaixnn.so", "libc.so"}, libs
        # the engine library needs nothing of musl that musl 1.1 lacks
        engine_imports = imported_symbols(lib)
        assert "malloc" in engine_imports, sorted(engine_imports)
        newer = sorted(s for s in engine_imports if TIME64_SYMBOL.match(s))
        assert not newer, "libmaixnn.so imports musl-1.2-only symbols %s" % newer
    else:
        assert interp == "/lib/ld-linux-armhf.so.3", interp
        assert "libc.so.6" in libs, libs
    print("%s: run_model interpreter %s, needs %s; libmaixnn.so %d bytes" % (
        built.name, interp, libs, os.path.getsize(lib)))


def test_ctest_through_the_toolchains_emulator(built):
    """corpus_test and thread_test via ctest: the toolchain file's
    CMAKE_CROSSCOMPILING_EMULATOR (qemu-arm with the right loader) runs them."""
    proc = subprocess.run(["ctest", "--output-on-failure"], cwd=os.path.join(built.build_dir, "tests", "c"),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "100% tests passed out of 2" in proc.stdout, proc.stdout[-2000:]
    with open(os.path.join(built.build_dir, "tests", "c", "CTestTestfile.cmake")) as f:
        assert "qemu-arm" in f.read()


def _run_model(built, param, binp, x, outdir, input_name="input0", kernels=None):
    cmd = built.qemu + [os.path.join(built.build_dir, "tests", "c", "run_model")]
    return cross.run_model_blobs(cmd, param, binp, x, outdir, input_name, kernels)


def test_int8_model_bit_identical_to_host(built, models, tmp_path):
    """resnet18 int8 (no depthwise convolution, so the x86 rcpps rule of
    csrc/x86 does not apply): every blob, int8 and float, bit-identical."""
    param, binp = models["int8"]
    x = models["quantized"].preprocess(models["images"][0]).astype(np.float32)
    arm = _run_model(built, param, binp, x, str(tmp_path / "arm"))
    report = cross.compare_blobs(arm, cross.run_on_host(param, binp, x))
    assert sum(1 for v in arm.values() if v.dtype == np.int8) >= 3
    differing = sorted(n for n, v in report.items() if not v[0])
    assert not differing, "%s: int8 blobs differ from the host: %s" % (
        built.name, [(n, report[n]) for n in differing[:5]])
    print("%s int8: %s" % (built.name, cross.summary(report)))


def test_float_model_matches_host(built, models, tmp_path):
    """With the reference kernels on both sides where the engine has kernel
    sets (NEON and AVX2 sum in other orders: tests/test_arm.py compares them
    with the reference on each architecture)."""
    param, binp = models["float"]
    x = helpers.random_input(models["shape"], seed=2, batch=False)
    kernels = "ref" if cross.kernel_sets_supported() else None
    arm = _run_model(built, param, binp, x, str(tmp_path / "arm"), kernels=kernels)
    host = cross.run_on_host(param, binp, x, kernels=kernels)
    report = cross.compare_blobs(arm, host)
    worst = 0.0
    for name, (identical, diff, _ulps) in report.items():
        if identical:
            continue
        scale = float(np.spacing(np.abs(host[name]).astype(np.float32).max()))
        assert diff <= FLOAT_ULPS * scale, "%s: blob %s differs by %g (%g ulp of its largest value)" % (
            built.name, name, diff, diff / scale)
        worst = max(worst, diff / scale)
    print("%s float: %s (worst %.1f ulp)" % (built.name, cross.summary(report), worst))


# ---------------------------------------------------------------- v831 file logic

def test_v831_standin_refuses_to_run_without_staging_dir():
    """The stand-in behaves like OpenWrt's tools, so the v831 build above
    (run with STAGING_DIR removed from the environment) proves that the
    toolchain file hands STAGING_DIR to every compile and link step."""
    cross.require("v831")
    root = cross.write_v831_standin(os.path.join(cross.REPO, "build", "v831-standin"))
    gcc = os.path.join(root, "bin", cross.V831_PREFIX + "gcc")
    env = {k: v for k, v in os.environ.items() if k != "STAGING_DIR"}
    proc = subprocess.run([gcc, "--version"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)
    assert proc.returncode == 97 and "STAGING_DIR is not set" in proc.stdout, proc.stdout
    proc = subprocess.run([gcc, "--version"], env=dict(env, STAGING_DIR=root), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True)
    assert proc.returncode == 0 and "clang" in proc.stdout, proc.stdout


def test_v831_missing_toolchain_root_is_a_configure_error(tmp_path):
    missing = str(tmp_path / "no-toolchain")
    proc = subprocess.run(["cmake", "-S", cross.REPO, "-B", str(tmp_path / "build"),
                           "-DCMAKE_TOOLCHAIN_FILE=" + os.path.join(cross.REPO, "toolchain", "v831-musl.cmake"),
                           "-DV831_TOOLCHAIN_ROOT=" + missing],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=120)
    assert proc.returncode != 0
    # (CMake wraps the message: compare with the whitespace squeezed)
    assert missing + "/bin/arm-openwrt-linux-muslgnueabi-gcc does not exist" in " ".join(proc.stdout.split()), \
        proc.stdout[-2000:]


def test_zig_toolchain_without_zig_is_a_configure_error(tmp_path):
    proc = subprocess.run(["cmake", "-S", cross.REPO, "-B", str(tmp_path / "build"),
                           "-DCMAKE_TOOLCHAIN_FILE=" + os.path.join(cross.REPO, "toolchain", "zig-armv7-musl.cmake"),
                           "-DZIG=" + str(tmp_path / "no-zig")],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=120)
    assert proc.returncode != 0
    assert "pip install ziglang" in proc.stdout, proc.stdout[-2000:]
