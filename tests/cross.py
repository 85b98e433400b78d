"""Cross builds for the V831's armv7 and running them under qemu-arm, shared by
tests/test_arm.py, tests/test_toolchains.py and tests/test_board_dist.py.

Three toolchains (toolchain/*.cmake), each with its own build folder:

  armhf   Debian's arm-linux-gnueabihf-gcc (glibc), build/armhf; runs under
          qemu-arm -L /usr/arm-linux-gnueabihf
  zig     zig cc -target arm-linux-musleabihf -mcpu=cortex_a7 (pip ziglang),
          build/zig-armv7; dynamic programs need the musl loader
          (MUSL_ARMHF_ROOT, below)
  v831    toolchain/v831-musl.cmake (Sipeed's sunxi musl toolchain) pointed at
          a stand-in: build/v831-standin/bin/arm-openwrt-linux-muslgnueabi-*
          scripts that refuse to run without STAGING_DIR and call zig's musl
          cross compiler (written by write_v831_standin), build/v831

musl loader: Debian's musl:armhf unpacked into a folder (.ci/run puts it in
/opt/musl-armhf: apt-get download musl:armhf && dpkg-deb -x ...), or
the environment variable MUSL_ARMHF_ROOT, or musl:armhf installed in /.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Dict, List, NamedTuple, Optional

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARMHF_SYSROOT = "/usr/arm-linux-gnueabihf"
QEMU_TIMEOUT = 300
MUSL_LOADER = "lib/ld-musl-armhf.so.1"
V831_PREFIX = "arm-openwrt-linux-muslgnueabi-"


def _run(cmd, timeout=900, cwd=REPO, env=None):
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                          universal_newlines=True, errors="replace", timeout=timeout)
    return proc.returncode, proc.stdout


@contextlib.contextmanager
def locked(build_dir, lock_path=None):
    """Hold build_dir's lock file: several pytest sessions may share the
    working tree, and several tests share a build folder."""
    os.makedirs(os.path.dirname(build_dir), exist_ok=True)
    with open(lock_path or build_dir + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def cmake_build(build_dir, configure_args, targets, lock_path=None, env=None):
    """Configure (again: cheap, and it keeps the cache's options as given) and
    build `targets`; returns the build output."""
    with locked(build_dir, lock_path):
        cache = os.path.join(build_dir, "CMakeCache.txt")
        toolchain = [a.split("=", 1)[1] for a in configure_args if a.startswith("-DCMAKE_TOOLCHAIN_FILE=")]
        # a toolchain file's *_FLAGS_INIT only reaches a fresh cache
        if toolchain and os.path.exists(cache) and os.path.getmtime(cache) < os.path.getmtime(toolchain[0]):
            shutil.rmtree(build_dir)
        rc, out = _run(["cmake", "-S", REPO, "-B", build_dir] + list(configure_args), env=env)
        assert rc == 0, "configuring %s failed:\n%s" % (build_dir, out[-6000:])
        rc, out = _run(["cmake", "--build", build_dir, "-j2", "--target"] + list(targets), env=env)
        assert rc == 0, "building %s failed:\n%s" % (build_dir, out[-6000:])
    return out


# ---------------------------------------------------------------- toolchains

def musl_root() -> Optional[str]:
    """A folder holding lib/ld-musl-armhf.so.1 (the musl loader for qemu -L)."""
    for root in (os.environ.get("MUSL_ARMHF_ROOT"), "/opt/musl-armhf", "/"):
        if root and os.path.exists(os.path.join(root, MUSL_LOADER)):
            return root
    return None


def zig_available() -> bool:
    import importlib.util
    return importlib.util.find_spec("ziglang") is not None   # pip install ziglang


def missing_tools(name: str) -> Optional[str]:
    """Why toolchain `name` cannot be built and run here, or None."""
    if shutil.which("qemu-arm") is None:
        return "qemu-arm is missing (apt-get install qemu-user)"
    if name == "armhf":
        if shutil.which("arm-linux-gnueabihf-gcc") is None:
            return "the armhf cross compiler is missing (apt-get install gcc-arm-linux-gnueabihf libc6-dev-armhf-cross)"
        if not os.path.exists(os.path.join(ARMHF_SYSROOT, "lib", "crt1.o")):
            return ("the armhf C library for the cross compiler is missing (apt-get install libc6-dev-armhf-cross; "
                    "it is only a recommended package of gcc-arm-linux-gnueabihf)")
        return None
    if not zig_available():
        return "zig is missing (pip install ziglang)"
    if musl_root() is None:
        return ("the musl loader for qemu-arm is missing (apt-get download musl:armhf && "
                "dpkg-deb -x musl_*_armhf.deb /opt/musl-armhf, or set MUSL_ARMHF_ROOT)")
    return None


def require(name: str) -> None:
    """Skip the calling test when toolchain `name` cannot run here; under CI
    (the CI environment variable set) fail instead: CI installs every tool."""
    import pytest
    reason = missing_tools(name)
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail("CI must test the %s toolchain: %s" % (name, reason))
    pytest.skip(reason)


class Toolchain(NamedTuple):
    name: str
    build_dir: str
    configure_args: List[str]
    qemu: List[str]        # command prefix that runs the built programs
    libc: str              # "glibc" or "musl"


def write_v831_standin(root: str) -> str:
    """A folder laid out like toolchain-sunxi-musl/toolchain: bin/ with the
    arm-openwrt-linux-muslgnueabi-{gcc,g++,ar,ranlib,strip} names, scripts
    calling zig's musl cross compiler (strip: llvm-strip or Debian's armhf
    strip); gcc and g++ refuse to run without STAGING_DIR (as OpenWrt's
    compiler wrapper complains); -march=armv7-a and
    -mcpu=cortex-a7, which zig refuses, are dropped (the wrapper adds
    -mcpu=cortex_a7).  lib/ld-musl-armhf.so.1 points at the musl loader, as
    the real toolchain ships one.  Rewritten only when different (the build
    folder stays valid)."""
    zig = "%s -m ziglang" % sys.executable
    guard = '[ -n "$STAGING_DIR" ] || { echo "%s: STAGING_DIR is not set" >&2; exit 97; }\n'
    scripts = {
        "gcc": "cc -target arm-linux-musleabihf -mcpu=cortex_a7",
        "g++": "c++ -target arm-linux-musleabihf -mcpu=cortex_a7",
        "ar": "ar",
        "ranlib": "ranlib",
    }
    os.makedirs(os.path.join(root, "bin"), exist_ok=True)
    for tool, command in scripts.items():
        name = V831_PREFIX + tool
        text = ("#!/bin/sh\n# stand-in for toolchain-sunxi-musl, written by tests/cross.py\n"
                + (guard % name if tool in ("gcc", "g++") else "")
                + 'for a do shift; case "$a" in -march=armv7-a|-mcpu=cortex-a7) ;; *) set -- "$@" "$a" ;; esac; done\n'
                + 'exec %s %s "$@"\n' % (zig, command))
        _write_if_changed(os.path.join(root, "bin", name), text, 0o755)
    strip = shutil.which("llvm-strip") or shutil.which("arm-linux-gnueabihf-strip")
    _write_if_changed(os.path.join(root, "bin", V831_PREFIX + "strip"),
                      "#!/bin/sh\n"
                      + ('exec %s "$@"\n' % strip if strip else 'echo "no strip in the stand-in" >&2; exit 1\n'),
                      0o755)
    loader = os.path.join(root, MUSL_LOADER)
    target = os.path.join(musl_root() or "/nonexistent", MUSL_LOADER)
    os.makedirs(os.path.dirname(loader), exist_ok=True)
    if not (os.path.islink(loader) and os.readlink(loader) == target):
        if os.path.lexists(loader):
            os.remove(loader)
        os.symlink(target, loader)
    return root


def _write_if_changed(path, text, mode):
    if os.path.exists(path):
        with open(path) as f:
            if f.read() == text:
                return
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.chmod(path + ".tmp", mode)
    os.replace(path + ".tmp", path)


# MAIXNN_DIST / MAIXNN_STATIC_APP off: tests/test_board_dist.py packs into the
# same build folders (maixnn pack sets them), this puts them back
COMMON_ARGS = ["-DCMAKE_BUILD_TYPE=Release", "-DMAIXNN_BUILD_TESTS=ON", "-DCMAKE_COMPILE_WARNING_AS_ERROR=ON",
               "-DMAIXNN_DIST=OFF", "-DMAIXNN_STATIC_APP=OFF"]


def toolchain(name: str) -> Toolchain:
    """The build folder, configure arguments and qemu prefix of `name`
    (armhf, zig, v831).  The armhf arguments are the ones tests/test_arm.py
    uses, so both share build/armhf."""
    tc_dir = os.path.join(REPO, "toolchain")
    if name == "armhf":
        return Toolchain(name, os.path.join(REPO, "build", "armhf"),
                         ["-DCMAKE_TOOLCHAIN_FILE=" + os.path.join(tc_dir, "armhf-debian.cmake")] + COMMON_ARGS,
                         ["qemu-arm", "-L", ARMHF_SYSROOT], "glibc")
    if name == "zig":
        return Toolchain(name, os.path.join(REPO, "build", "zig-armv7"),
                         ["-DCMAKE_TOOLCHAIN_FILE=" + os.path.join(tc_dir, "zig-armv7-musl.cmake"),
                          "-DMAIXNN_PYTHON=" + sys.executable] + COMMON_ARGS,
                         ["qemu-arm", "-L", musl_root() or "/"], "musl")
    if name == "v831":
        root = os.path.join(REPO, "build", "v831-standin")
        return Toolchain(name, os.path.join(REPO, "build", "v831"),
                         ["-DCMAKE_TOOLCHAIN_FILE=" + os.path.join(tc_dir, "v831-musl.cmake"),
                          "-DV831_TOOLCHAIN_ROOT=" + root] + COMMON_ARGS,
                         ["qemu-arm", "-L", root], "musl")
    raise ValueError(name)


# zig's linker says this of the -rpath-link CMake passes for a library's private
# dependencies (nn_resnet -> libmaix_nn.so -> libmaixnn.so); not a compiler warning
IGNORED_WARNINGS = ("warning: rpath-link option is unimplemented and ignored",)


def build(tc: Toolchain, targets, extra_args=()) -> str:
    """Build `targets` with toolchain `tc`; returns the build output.  A
    compiler warning fails (CMAKE_COMPILE_WARNING_AS_ERROR makes it fail on
    every rerun; the output of this build is checked as well)."""
    env = None
    if tc.name == "v831":
        write_v831_standin(os.path.join(REPO, "build", "v831-standin"))
        # the toolchain file must supply STAGING_DIR itself
        env = {k: v for k, v in os.environ.items() if k != "STAGING_DIR"}
    out = cmake_build(tc.build_dir, list(tc.configure_args) + list(extra_args), targets, env=env)
    seen = [ln for ln in out.splitlines() if "warning:" in ln and not ln.strip().endswith(IGNORED_WARNINGS)]
    assert not seen, "the %s build has warnings:\n%s" % (tc.name, "\n".join(seen[:20]))
    return out


# ---------------------------------------------------------------- running

def kernels_env(kernels=None):
    """The environment with $MAIXNN_KERNELS (the engine's kernel set) set to
    `kernels`, or removed for None (the build's best set)."""
    env = dict(os.environ)
    env.pop("MAIXNN_KERNELS", None)
    if kernels is not None:
        env["MAIXNN_KERNELS"] = kernels
    return env


def run_model_blobs(command_prefix, param, binp, x, outdir, input_name="input0", kernels=None):
    """tests/c/run_model (command_prefix = [qemu..., run_model] or the host
    program), every blob dumped: {name: array} in the shape maixnn.runtime.Net
    gives; kernels: the kernel set ($MAIXNN_KERNELS), None = the build's best."""
    x = np.ascontiguousarray(x)
    if x.dtype == np.int8:
        dtype = "i8"
    else:
        x = x.astype(np.float32, copy=False)
        dtype = "f32"
    c, h, w = x.shape
    os.makedirs(outdir, exist_ok=True)
    raw = os.path.join(outdir, "input.raw")
    x.tofile(raw)
    # run_model finds its libmaixnn.so through its build-tree RPATH
    proc = subprocess.run(list(command_prefix) + [param, binp, input_name, dtype, str(c), str(h), str(w),
                                                  raw, outdir, "-a"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          timeout=QEMU_TIMEOUT, env=kernels_env(kernels))
    assert proc.returncode == 0, "%s failed (%d): %s" % (" ".join(command_prefix), proc.returncode,
                                                         proc.stdout[-3000:])
    blobs = {}
    with open(os.path.join(outdir, "blobs.txt")) as f:
        for line in f:
            index, name, dt, dims, bw, bh, bc = line.split()
            dims, bw, bh, bc = int(dims), int(bw), int(bh), int(bc)
            shape = {1: (bw,), 2: (bh, bw), 3: (bc, bh, bw)}[dims]
            data = np.fromfile(os.path.join(outdir, "blob_%s.raw" % index),
                               dtype=np.int8 if dt == "i8" else np.float32)
            assert data.size == int(np.prod(shape)), "blob %s: %d values for shape %s" % (name, data.size, shape)
            blobs[name] = data.reshape(shape)
    return blobs


def kernel_sets_supported() -> bool:
    """Does this engine choose kernel sets (Net(kernels=...), $MAIXNN_KERNELS)?"""
    import inspect
    from maixnn.runtime import Net
    return "kernels" in inspect.signature(Net.__init__).parameters


def run_on_host(param, binp, x, library=None, kernels=None):
    """Every blob except the input on the x86 engine: the session's library,
    or (library=path) another build of it, in a child process; kernels: the
    kernel set (None: the build's best)."""
    from maixnn.runtime import Net
    if library is not None:
        return _run_with_library(library, param, binp, x)
    with (Net(param, binp) if kernels is None else Net(param, binp, kernels=kernels)) as net:
        names = [b for b in net.blob_names if b not in net.input_names]
        return net.forward(x, outputs=names)


def _run_with_library(library, param, binp, x):
    """maixnn.runtime binds one library per process: run another build in a
    child process and bring the blobs back through an .npz."""
    with tempfile.TemporaryDirectory(prefix="maixnn-arm-") as d:
        np.save(os.path.join(d, "x.npy"), x)
        script = ("import sys, numpy as np\n"
                  "from maixnn.runtime import Net\n"
                  "x = np.load(sys.argv[3])\n"
                  "with Net(sys.argv[1], sys.argv[2]) as net:\n"
                  "    names = [b for b in net.blob_names if b not in net.input_names]\n"
                  "    out = net.forward(x, outputs=names)\n"
                  "np.savez(sys.argv[4], **{'b%d' % i: out[n] for i, n in enumerate(names)})\n"
                  "open(sys.argv[4] + '.names', 'w').write('\\n'.join(names))\n")
        out_path = os.path.join(d, "out.npz")
        env = dict(os.environ, MAIXNN_LIBRARY=library)
        proc = subprocess.run([sys.executable, "-c", script, param, binp, os.path.join(d, "x.npy"), out_path],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, env=env,
                              timeout=300)
        assert proc.returncode == 0, proc.stdout[-3000:]
        with open(out_path + ".names") as f:
            names = f.read().split("\n")
        with np.load(out_path) as z:
            return {n: z["b%d" % i] for i, n in enumerate(names)}


# ---------------------------------------------------------------- comparing

def ulp_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance in float32 representable steps (finite values)."""
    ia = a.astype(np.float32).view(np.int32).astype(np.int64)
    ib = b.astype(np.float32).view(np.int32).astype(np.int64)
    # map the sign-magnitude float order onto a monotonic integer line
    ia = np.where(ia < 0, -(ia & 0x7FFFFFFF), ia)
    ib = np.where(ib < 0, -(ib & 0x7FFFFFFF), ib)
    return np.abs(ia - ib)


def compare_blobs(arm: Dict[str, np.ndarray], host: Dict[str, np.ndarray]):
    """Per blob: (identical, max |diff|, max ulps); shape/dtype must agree and
    every blob the host computed must come back from ARM."""
    assert set(arm) == set(host), "blob sets differ: only ARM %s, only x86 %s" % (
        sorted(set(arm) - set(host))[:5], sorted(set(host) - set(arm))[:5])
    report = {}
    for name, ref in host.items():
        got = arm[name]
        assert got.shape == ref.shape and got.dtype == ref.dtype, \
            "blob %s: ARM %s %s vs x86 %s %s" % (name, got.shape, got.dtype, ref.shape, ref.dtype)
        if np.array_equal(got, ref):
            report[name] = (True, 0.0, 0)
            continue
        diff = np.abs(got.astype(np.float64) - ref.astype(np.float64))
        ulps = int(ulp_distance(got, ref).max()) if ref.dtype == np.float32 else -1
        report[name] = (False, float(diff.max()), ulps)
    return report


def summary(report) -> str:
    same = sum(1 for v in report.values() if v[0])
    worst = max([v[1] for v in report.values()] or [0.0])
    return "%d/%d blobs bit-identical, max |diff| %g" % (same, len(report), worst)
