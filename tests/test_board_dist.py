"""The board's dist/ folder (issue 7 item 5): `maixnn pack` (maixnn.packer)
with the zig toolchain on an int8 model, and what it holds.

* the layout (libmaix's: start_app.sh, nn_resnet, lib/, plus model/ and
  python/), the model files as given, a .mud naming them beside it, ARM musl
  binaries needing only libc and each other, no build-tree RUNPATH;
* start_app.sh started from other working directories, by absolute and
  relative path and via `sh`, prints the top-5 the host nn_resnet
  (build/pytest-lib) prints on the same images (MAIXNN_DIST_LAUNCHER runs the
  ARM app through qemu-arm: no binfmt_misc here); with no launcher (as on the
  board) the script execs <its folder>/nn_resnet itself; its LD_LIBRARY_PATH
  is the script's lib/ + the caller's + the board's folders, and without it
  the app does not find lib/;
* dist/python alone (PC tooling blocked) is a working maixnn.nn;
* which musl-1.2-only symbols the zig build imports (README);
* a failed pack leaves no half dist/ and keeps a previous one; a folder that
  is not a dist/ is never replaced; a .param/.bin base gets its .mud.

nn_resnet itself on ARM with each toolchain against the host: tests/test_libmaix.py.
Skips as tests/test_toolchains.py (fails under CI when a tool is missing).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest

import cross
import helpers
import nets

REPO = cross.REPO
HOST_APP = os.path.join(REPO, "build", "pytest-lib", "examples", "nn_resnet", "nn_resnet")
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
IMAGES = 3
PROB_ABS = 2e-6
# What the zig dist imports that only musl >= 1.2 has (64-bit time_t on 32-bit ARM):
# nn_resnet's clock_gettime for the forward time.  See README "The board's dist/".
KNOWN_TIME64_IMPORTS = {"nn_resnet": {"__clock_gettime64"}}


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Small ResNet18 of tests/nets.py (64x64, 10 classes): float and int8
    (maixnn quantize, kl, ImageNet mean/std), PNG images of several sizes and
    a 10-line labels file."""
    import maixnn
    from PIL import Image
    d = tmp_path_factory.mktemp("nn_resnet")
    model = nets.SMALL_NETS["resnet18"](seed=0)
    helpers.export_and_convert(model, d)
    c, h, w = model.input_shape
    rng = np.random.default_rng(11)
    calib = (rng.random((6, h, w, 3)) * 255).astype(np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = maixnn.quantize(str(d / "model"), str(d / "model_int8"), images=calib, mean=MEAN, std=STD,
                            method="kl", progress=False)
    images = []
    for i in range(IMAGES):
        # smooth pictures of different sizes (nn_resnet resizes them to 64x64)
        size = (w + 16 * i, h + 8 * i)
        yy, xx = np.mgrid[0:size[1], 0:size[0]]
        pic = np.stack([(xx * (3 + i) + yy * 2) % 256, (yy * (5 - i) + 40 * i) % 256,
                        ((xx + yy) * (i + 1)) % 256], axis=-1).astype(np.uint8)
        pic = np.clip(pic.astype(int) + rng.integers(-20, 20, pic.shape), 0, 255).astype(np.uint8)
        path = str(d / ("img%d.png" % i))
        Image.fromarray(pic).save(path)
        images.append(path)
    labels = str(d / "labels.txt")
    with open(labels, "w") as f:
        f.write("".join("class-%d label\n" % i for i in range(10)))
    return {"dir": str(d), "int8": q.mud, "images": images, "labels": labels,
            "size": "%dx%d" % (w, h)}


def _app_args(models, kind, dump_dir):
    return ["-m", models[kind], "-s", models["size"], "-c", "10", "-l", models["labels"], "-d", dump_dir] \
        + models["images"]


def _run(cmd, env=None, cwd=None):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=cross.QEMU_TIMEOUT, env=env, cwd=cwd, errors="replace")
    return proc


def run_host(models, kind, dump_dir):
    assert os.path.exists(HOST_APP), "tests/conftest.py builds nn_resnet into build/pytest-lib"
    os.makedirs(dump_dir, exist_ok=True)
    proc = _run([HOST_APP] + _app_args(models, kind, dump_dir))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def parse_top5(stdout):
    """[(image, [(class, prob, label) x5])] from nn_resnet's output; the
    forward time lines are dropped."""
    frames = []
    for line in stdout.splitlines():
        if line.startswith("== "):
            frames.append((line[3:], []))
        elif line.startswith("#"):
            m = re.match(r"#(\d) class (\d+) prob ([0-9.]+) ?(.*)$", line)
            assert m, line
            frames[-1][1].append((int(m.group(2)), float(m.group(3)), m.group(4)))
        else:
            assert line.startswith("forward: ") and line.endswith(" ms"), line
    return frames


def assert_same_top5(arm_out, host_out, what):
    arm, host = parse_top5(arm_out), parse_top5(host_out)
    assert len(host) == IMAGES and all(len(t) == 5 for _n, t in host), host_out
    assert [n for n, _t in arm] == [n for n, _t in host], (arm_out, host_out)
    worst = 0.0
    for (name, a), (_n, h) in zip(arm, host):
        assert [(c, lab) for c, _p, lab in a] == [(c, lab) for c, _p, lab in h], \
            "%s: top-5 of %s differs:\nARM  %s\nhost %s" % (what, name, a, h)
        for (_c, pa, _l), (_c2, ph, _l2) in zip(a, h):
            assert abs(pa - ph) <= PROB_ABS, "%s: %s prob %g vs %g" % (what, name, pa, ph)
            worst = max(worst, abs(pa - ph))
    return worst


# ---------------------------------------------------------------- dist/

def test_board_modules_import_only_board_modules():
    """python/maixnn/board_modules.txt (what dist/python gets, and what
    tests/test_board_side.py checks for Python 3.8) is closed under imports:
    a board module imports only listed modules, except inside a
    try/except ImportError (a PC-only feature that fails with a message)."""
    import ast
    from maixnn import packer
    listed = set(packer.board_modules())
    pkg = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python", "maixnn")
    for module in sorted(listed):
        tree = ast.parse(open(os.path.join(pkg, module + ".py")).read())
        guarded = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Try) and any(
                    isinstance(h.type, ast.Name) and h.type.id == "ImportError" for h in node.handlers):
                guarded.update(id(n) for stmt in node.body for n in ast.walk(stmt))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and id(node) not in guarded:
                names = [node.module.split(".")[0]] if node.module else [a.name for a in node.names]
                for name in names:
                    if not os.path.exists(os.path.join(pkg, name + ".py")) and \
                            not os.path.isdir(os.path.join(pkg, name)):
                        continue  # a name from __init__ (__version__), not a module
                    assert name in listed, "%s.py imports .%s, which dist/ does not ship" % (module, name)


@pytest.fixture(scope="module")
def zig_dist(models, tmp_path_factory):
    cross.require("zig")
    out = str(tmp_path_factory.mktemp("pack") / "dist")
    return _pack_in_toolchain_build("zig", models["int8"], out, labels=models["labels"])


def _pack_in_toolchain_build(name, model, out, **options):
    """maixnn pack into the build folder of tests/cross.py's toolchain `name`
    (shared with tests/test_toolchains.py and tests/test_libmaix.py, under its
    lock): only what differs is rebuilt; cross.build resets MAIXNN_DIST and
    MAIXNN_STATIC_APP for the other tests."""
    from maixnn import packer
    tc = cross.toolchain(name)
    if name == "v831":
        options["toolchain_root"] = cross.write_v831_standin(os.path.join(REPO, "build", "v831-standin"))
    with cross.locked(tc.build_dir):
        return packer.pack(model, out, toolchain=name, build_dir=tc.build_dir, progress=False, **options)


def test_pack_writes_libmaix_layout(zig_dist, models):
    from maixnn import packer
    out = zig_dist.out
    expected = {"start_app.sh", "nn_resnet", "lib/libmaixnn.so", "lib/libmaix_nn.so", "model/labels.txt",
                "model/model_int8.mud", "model/model_int8.param", "model/model_int8.bin",
                "python/maixnn/libmaixnn.so"} | {"python/maixnn/%s.py" % m for m in packer.board_modules()}
    assert set(zig_dist.files) == expected, sorted(set(zig_dist.files) ^ expected)
    for p in ("start_app.sh", "nn_resnet"):
        assert os.access(os.path.join(out, p), os.X_OK), p
    # the model files are the given ones, the .mud names them beside it
    src = os.path.dirname(models["int8"])
    for ext in (".param", ".bin"):
        with open(os.path.join(src, "model_int8" + ext), "rb") as a, \
                open(os.path.join(out, "model", "model_int8" + ext), "rb") as b:
            assert a.read() == b.read()
    with open(os.path.join(out, "model", "model_int8.mud")) as f:
        mud = f.read()
    assert "param = model_int8.param" in mud and "bin = model_int8.bin" in mud, mud
    assert "input0 = 64,64,3," in mud and "output0 = 1,1,10" in mud, mud
    with open(os.path.join(out, "python", "maixnn", "runtime.py")) as a, \
            open(os.path.join(REPO, "python", "maixnn", "runtime.py")) as b:
        assert a.read() == b.read()
    # ARM musl binaries; the libraries need only libc (+ each other)
    needed = {}
    for p in ("nn_resnet", "lib/libmaixnn.so", "lib/libmaix_nn.so", "python/maixnn/libmaixnn.so"):
        needed[p] = sorted(cross_needed(os.path.join(out, p)))
    assert needed["nn_resnet"] == ["libc.so", "libmaix_nn.so"], needed
    assert needed["lib/libmaix_nn.so"] == ["libc.so", "libmaixnn.so"], needed
    assert needed["lib/libmaixnn.so"] == ["libc.so"], needed
    # the install has no build-tree RUNPATH: lib/ is found through start_app.sh
    for p in ("nn_resnet", "lib/libmaix_nn.so"):
        assert "RUNPATH" not in _dynamic(os.path.join(out, p)) and "RPATH" not in _dynamic(os.path.join(out, p))


def _dynamic(path):
    import test_toolchains
    return subprocess.run([test_toolchains._readelf(), "-d", "-W", path], stdout=subprocess.PIPE,
                          universal_newlines=True, check=True).stdout


def cross_needed(path):
    import test_toolchains
    return test_toolchains.needed_libraries(path)


def test_dist_imports_from_musl_1_2(zig_dist):
    """zig's musl headers are 1.2's: any time_t function is imported under its
    64-bit name, which a musl 1.1 (the board's 2017 toolchain era) lacks.  The
    libraries import none; nn_resnet only clock_gettime (see README)."""
    import test_toolchains
    seen = {}
    for p in ("nn_resnet", "lib/libmaixnn.so", "lib/libmaix_nn.so"):
        names = {s for s in test_toolchains.imported_symbols(os.path.join(zig_dist.out, p))
                 if test_toolchains.TIME64_SYMBOL.match(s)}
        if names:
            seen[os.path.basename(p)] = names
    assert seen == KNOWN_TIME64_IMPORTS, seen


def _launcher():
    return "qemu-arm -L %s" % cross.musl_root()


def test_start_app_runs_from_another_cwd(zig_dist, models, tmp_path):
    """The packed app through start_app.sh, started from an unrelated working
    directory, with a relative path and via `sh`, prints the host's top-5."""
    host_out = run_host(models, "int8", str(tmp_path / "host"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = dict(os.environ, MAIXNN_DIST_LAUNCHER=_launcher())
    env.pop("LD_LIBRARY_PATH", None)
    script = zig_dist.start_script
    rel = os.path.relpath(script, str(elsewhere))
    for cmd, cwd in (([script], str(elsewhere)), (["sh", rel], str(elsewhere)),
                     (["./start_app.sh"], zig_dist.out), (["../start_app.sh"], os.path.join(zig_dist.out, "lib"))):
        proc = _run(cmd + models["images"], env=env, cwd=cwd)
        assert proc.returncode == 0, (cmd, cwd, proc.stderr)
        assert_same_top5(proc.stdout, host_out, "dist via %s from %s" % (" ".join(cmd), cwd))
        # the labels in dist/model were used
        assert all(lab.startswith("class-") for _n, top in parse_top5(proc.stdout) for _c, _p, lab in top)


def test_app_without_start_app_does_not_find_lib(zig_dist, models, tmp_path):
    """What start_app.sh is for: lib/ is not on any default path."""
    proc = _run(_launcher().split() + [os.path.join(zig_dist.out, "nn_resnet"), "-m", zig_dist.mud,
                                       "-s", "64x64", "-c", "10"] + models["images"][:1],
                env={k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}, cwd=str(tmp_path))
    assert proc.returncode != 0
    assert "libmaix_nn.so" in proc.stderr, proc.stderr


def test_start_app_library_path(zig_dist, tmp_path):
    """LD_LIBRARY_PATH: the script's own lib/ (absolute), the caller's value
    kept (libmaix's script lost its `$`), then the board's folders."""
    board = "/usr/lib:/opt/lib:/usr/lib/eyesee-mpp"
    lib = os.path.join(zig_dist.out, "lib")
    for inherited, expected in ((None, lib + ":" + board), ("/x/y:/z", lib + ":/x/y:/z:" + board)):
        env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
        if inherited:
            env["LD_LIBRARY_PATH"] = inherited
        env["MAIXNN_DIST_LAUNCHER"] = "printenv LD_LIBRARY_PATH"
        proc = _run(["sh", os.path.relpath(zig_dist.start_script, str(tmp_path))], env=env, cwd=str(tmp_path))
        assert proc.stdout.splitlines()[0] == expected, proc.stdout


def test_dist_python_package_runs_alone(zig_dist, models, tmp_path):
    """dist/python holds a complete board-side package: with only it on
    sys.path and the PC tooling blocked, maixnn.nn loads the dist's .mud and
    computes what the checkout computes (the host library stands in for the
    ARM copy in dist/python/maixnn, which runs on the board)."""
    code = r"""
import sys
for name in ("torch", "onnx", "onnxruntime", "tqdm", "sklearn", "ncnn", "pnnx"):
    sys.modules[name] = None
import numpy as np
from maixnn import nn
import maixnn
assert maixnn.__file__.startswith(sys.argv[1]), maixnn.__file__
m = nn.load(sys.argv[2])
img = (np.arange(64 * 64 * 3) % 251).astype(np.uint8).reshape(64, 64, 3)
np.save(sys.argv[3], m.forward(img, quantize=True, layout="hwc"))
"""
    results = []
    for root in (os.path.join(zig_dist.out, "python"), os.path.join(REPO, "python")):
        npy = str(tmp_path / ("%d.npy" % len(results)))
        env = dict(os.environ, PYTHONPATH=root, MAIXNN_LIBRARY=os.path.join(REPO, "build", "pytest-lib",
                                                                              "libmaixnn.so"))
        proc = _run([sys.executable, "-c", code, root, zig_dist.mud, npy], env=env, cwd=str(tmp_path))
        assert proc.returncode == 0, proc.stderr
        results.append(np.load(npy))
    assert results[0].shape == (1, 1, 10) and np.array_equal(results[0], results[1])


def test_shipped_script_execs_the_app_directly(zig_dist, tmp_path):
    """Without MAIXNN_DIST_LAUNCHER (as on the board) start_app.sh execs
    <its folder>/nn_resnet itself with the model arguments: checked on a copy
    of the dist whose nn_resnet is a host script reporting how it was
    started (qemu-arm cannot be bypassed here: no binfmt_misc)."""
    copy = str(tmp_path / "maix_dist")
    shutil.copytree(zig_dist.out, copy)
    app = os.path.join(copy, "nn_resnet")
    os.remove(app)
    with open(app, "w") as f:
        f.write('#!/bin/sh\necho "app=$0"\necho "cwd=$(pwd)"\nfor a in "$@"; do echo "arg=$a"; done\n')
    os.chmod(app, 0o755)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("LD_LIBRARY_PATH", "MAIXNN_DIST_LAUNCHER")}
    proc = _run([os.path.join(copy, "start_app.sh"), "a b.png"], env=env, cwd=str(cwd))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[:2] == ["app=" + app, "cwd=" + str(cwd)], lines
    assert [ln[4:] for ln in lines[2:]] == ["-m", os.path.join(copy, "model", "model_int8.mud"), "-l",
                                            os.path.join(copy, "model", "labels.txt"), "-s", "64x64", "-c", "10",
                                            "a b.png"], lines


def test_static_app_needs_nothing_of_the_boards_libc(models, tmp_path):
    """--static-app: nn_resnet has no interpreter and no NEEDED library and
    imports nothing (so the board's musl version does not matter), runs under
    plain qemu-arm without any loader or lib/, and prints the host's top-5."""
    cross.require("zig")
    import test_toolchains
    result = _pack_in_toolchain_build("zig", models["int8"], str(tmp_path / "dist"), labels=models["labels"],
                                      static_app=True)
    with open(result.app, "rb") as f:
        assert test_toolchains._interpreter(f.read()) is None
    assert cross_needed(result.app) == [] and test_toolchains.imported_symbols(result.app) == set()
    assert "lib/libmaixnn.so" in result.files and "lib/libmaix_nn.so" in result.files   # for Python / your programs
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    proc = _run(["qemu-arm", result.app, "-m", result.mud, "-s", "64x64", "-c", "10", "-l", models["labels"]]
                + models["images"], env=env, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert_same_top5(proc.stdout, run_host(models, "int8", str(tmp_path / "host")), "static zig nn_resnet")


def test_v831_pack_strips_and_runs(models, tmp_path):
    """--toolchain v831 (the sunxi file with its zig stand-in): a dist whose
    binaries are stripped on install (the toolchain's strip; zig builds are
    stripped at link) and whose start_app.sh prints the host's top-5."""
    cross.require("v831")
    result = _pack_in_toolchain_build("v831", models["int8"], str(tmp_path / "dist"), labels=models["labels"])
    for p in ("nn_resnet", "lib/libmaixnn.so", "lib/libmaix_nn.so"):
        assert ".symtab" not in _sections(os.path.join(result.out, p)), "%s is not stripped" % p
    env = dict(os.environ, MAIXNN_DIST_LAUNCHER=_launcher())
    proc = _run([result.start_script] + models["images"], env=env, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert_same_top5(proc.stdout, run_host(models, "int8", str(tmp_path / "host")), "v831 dist")


def _sections(path):
    import test_toolchains
    return subprocess.run([test_toolchains._readelf(), "-S", "-W", path], stdout=subprocess.PIPE,
                          universal_newlines=True, check=True).stdout


def test_awnn_dist_ships_sipeeds_libraries(models, tmp_path):
    """--libmaix-dir (awnn backend): lib/ gets every library of the libmaix
    checkout (here tests/libmaix_stub's, plus a stand-in for the vendor's
    mpp libraries beside them) and libmaixnn for the Python package; the host
    build's start_app.sh, run from another cwd without a launcher, starts
    nn_resnet with them (the stub's .mud loader then returns NULL: exit 1
    without a loader error), while the bare app does not find them."""
    import test_libmaix
    from maixnn import packer
    root = str(tmp_path / "libmaix")
    libdir = test_libmaix.make_fake_libmaix(root)
    shutil.copyfile(os.path.join(libdir, "libmaix_utils.so"), os.path.join(libdir, "libvendor_mpp.so.1"))
    result = packer.pack(models["int8"], str(tmp_path / "dist"), toolchain="host", libmaix_dir=root,
                         build_dir=os.path.join(REPO, "build", "pack-awnn-host"),
                         cmake_args=["-DCMAKE_BUILD_TYPE=Debug"], progress=False)
    libs = sorted(f for f in result.files if f.startswith("lib/"))
    assert libs == ["lib/libmaix_cam.so", "lib/libmaix_disp.so", "lib/libmaix_image.so", "lib/libmaix_nn.so",
                    "lib/libmaix_utils.so", "lib/libmaixnn.so", "lib/libvendor_mpp.so.1"], libs
    assert "libmaix_cam.so" in cross_needed(result.app)
    env = {k: v for k, v in os.environ.items() if k not in ("LD_LIBRARY_PATH", "MAIXNN_DIST_LAUNCHER")}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = _run([result.start_script, "-n", "1"], env=env, cwd=str(elsewhere))
    assert proc.returncode == 1 and "shared librar" not in proc.stderr, (proc.returncode, proc.stderr)
    proc = _run([result.app, "-m", result.mud], env=env, cwd=str(elsewhere))
    assert proc.returncode == 127 and "libmaix_" in proc.stderr, (proc.returncode, proc.stderr)


# ---------------------------------------------------------------- packer errors

def _leftovers(parent):
    return sorted(n for n in os.listdir(parent) if n.startswith("."))


def test_failed_pack_leaves_no_half_dist(models, tmp_path):
    from maixnn import packer
    from maixnn.packer import BuildError
    out = tmp_path / "dist"
    with pytest.raises(BuildError) as info:
        packer.pack(models["int8"], str(out), toolchain="host", cmake_args=["-DMAIXNN_LIBMAIX_BACKEND=bogus"],
                    progress=False)
    assert "MAIXNN_LIBMAIX_BACKEND=bogus" in str(info.value)
    assert not out.exists() and _leftovers(str(tmp_path)) == []
    # a previous dist stays as it was
    out.mkdir()
    (out / "start_app.sh").write_text("previous\n")
    with pytest.raises(BuildError):
        packer.pack(models["int8"], str(out), toolchain="host", cmake_args=["-DMAIXNN_LIBMAIX_BACKEND=bogus"],
                    progress=False)
    assert os.listdir(str(out)) == ["start_app.sh"] and (out / "start_app.sh").read_text() == "previous\n"
    assert _leftovers(str(tmp_path)) == []


def test_pack_refuses_a_folder_that_is_not_a_dist(models, tmp_path):
    from maixnn import packer
    from maixnn.errors import OptionError
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(OptionError, match="not a dist/ folder"):
        packer.pack(models["int8"], str(tmp_path / "mine"), toolchain="host", progress=False)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_pack_base_without_mud_needs_preprocessing_and_writes_it(models, tmp_path):
    """A .param/.bin base: no .mud and no mean/std is an error; with them
    the staged .mud holds the awnn terms mean*255 and 1/(std*255)."""
    from maixnn import nn, packer
    from maixnn.errors import OptionError
    base = tmp_path / "m"
    for ext in (".param", ".bin"):
        shutil.copyfile(os.path.join(models["dir"], "model" + ext), str(base) + ext)
    with pytest.raises(OptionError, match="--mean with --std"):
        packer._stage_model(str(base), str(tmp_path / "s1"), None, None, None)
    mud, staged = packer._stage_model(str(base) + ".param", str(tmp_path / "s2"), MEAN, STD, None)
    assert os.path.basename(mud) == "m.mud"
    assert staged.inputs == {"input0": (64, 64, 3)} and staged.outputs == {"output0": (1, 1, 10)}
    np.testing.assert_allclose(staged.mean["input0"], np.array(MEAN) * 255, rtol=1e-6)
    np.testing.assert_allclose(staged.norm["input0"], 1 / (np.array(STD) * 255), rtol=1e-6)
    # and the .mud is what nn.load reads: the same model as the original files
    ref = nn.load({"param": models["dir"] + "/model.param", "bin": models["dir"] + "/model.bin"},
                  opt={"model_type": "awnn", "inputs": {"input0": (64, 64, 3)}, "outputs": {"output0": (1, 1, 10)},
                       "mean": list(np.array(MEAN) * 255), "norm": list(1 / (np.array(STD) * 255))})
    img = (np.arange(64 * 64 * 3) % 253).astype(np.uint8)
    np.testing.assert_array_equal(staged.forward(img.tobytes()), ref.forward(img.tobytes()))


def test_pack_cli_errors_are_one_line(models, tmp_path):
    proc = _run([sys.executable, "-m", "maixnn", "pack", str(tmp_path / "none.mud"), "--out", str(tmp_path / "d"),
                 "--toolchain", "host", "--no-progress"])
    assert proc.returncode == 2 and proc.stderr.startswith("maixnn pack: error: model "), proc.stderr
    assert "does not exist" in proc.stderr and "Traceback" not in proc.stderr
