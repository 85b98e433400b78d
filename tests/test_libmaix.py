"""The board side in C (issue 7 items 1, 2, 4): libmaix's nn API on maixnn's
engine (csrc/libmaix, library maix_nn = libmaix_nn.so) and
examples/nn_resnet on it, on the host and on armv7 under qemu-arm.

* nn_resnet (emu backend, host build with ASan/UBSan/LSan: build/sanitize) on a ResNet18-shaped
  model (tests/nets.py, 1000 classes, 64x64, maixnn's convert and quantize)
  and sklearn's sample photos saved as PNG, JPEG and PPM prints the top-5
  that maixnn.nn (nn.load + forward(quantize=True) + nn.F.softmax) gives on
  the same frame, float and ncnn int8 models; its raw output equals
  maixnn.nn's bit for bit, its quantized input buffer equals maixnn.npu's
  (the V831 input path), and its frame equals PIL's decode + the nearest
  resize for the lossless formats.
* tests/c/libmaix_api_test (only libmaix's documented API) passes every
  check: error codes and messages, NULL/invalid arguments, destroy, forward's
  quantization and layouts, .mud loading and its errors (missing file ->
  NULL, not exit).
* armv7 with each toolchain of tests/cross.py (toolchain/armhf-debian.cmake,
  build/armhf shared with test_arm.py; toolchain/zig-armv7-musl.cmake; the
  v831 file with its zig stand-in), run under qemu-arm: the same API test
  passes and nn_resnet prints the same top-5 (the same text: measured, zig's
  own expf did not change a printed digit); frames and int8 input buffers
  bit-identical, raw float outputs within 1e-5 relative.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import warnings

import numpy as np
import pytest

import cross
import helpers
import nets

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LABELS = os.path.join(REPO, "examples", "nn_resnet", "imagenet_labels.txt")
SIZE = 64
MID_BLOB = "/maxpool/MaxPool_output_0"   # a float 3-D blob of both models
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
FLOAT_MEAN, FLOAT_NORM = 114.495, 0.0173520736   # one awnn mean/norm for the float model
TIMEOUT = 300


def _run(cmd, timeout=900, cwd=REPO, env=None):
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          errors="replace", timeout=timeout, env=dict(os.environ, **(env or {})))
    return proc.returncode, proc.stdout, proc.stderr


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def host_build():
    """build/sanitize (tests/hostile_corpus.py, shared with test_hostile.py):
    ASan + UBSan + LSan, clang when installed; it builds every target,
    nn_resnet and libmaix_api_test included."""
    import hostile_corpus as hc
    try:
        build_dir = hc.build_sanitized()
    except RuntimeError as exc:
        pytest.fail("the sanitizer build failed:\n%s" % exc, pytrace=False)
    return {"nn_resnet": os.path.join(build_dir, "examples", "nn_resnet", "nn_resnet"),
            "api_test": os.path.join(build_dir, "tests", "c", "libmaix_api_test"), "prefix": [],
            "env": hc.SANITIZER_ENV}


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """The models (float + ncnn int8 with ImageNet's mean/std folded, as the
    board gets it), the photos in three formats, .mud files good and bad."""
    import maixnn
    from PIL import Image
    from sklearn.datasets import load_sample_images
    root = tmp_path_factory.mktemp("libmaix")
    model = nets.resnet18_like(width=8, num_classes=1000, input_size=SIZE, seed=0)
    paths = helpers.export_and_convert(model, root)
    photos = load_sample_images().images            # china, flower (427x640 RGB)
    rng = np.random.default_rng(3)
    calib = [np.asarray(Image.fromarray(p).resize((SIZE, SIZE), Image.BILINEAR)) for p in photos]
    calib += [(rng.random((SIZE, SIZE, 3)) * 255).astype(np.uint8) for _ in range(6)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = maixnn.quantize(str(root / "model"), str(root / "model_int8"), images=np.stack(calib), mean=MEAN,
                            std=STD, method="kl", progress=False)
    images = []
    for name, arr in (("china.png", photos[0]), ("flower.jpg", photos[1]), ("china_crop.ppm", photos[0][50:300, 100:420])):
        path = str(root / name)
        Image.fromarray(np.ascontiguousarray(arr)).save(path, quality=92) if name.endswith(".jpg") else \
            Image.fromarray(np.ascontiguousarray(arr)).save(path)
        images.append(path)
    good = root / "good.mud"
    good.write_text("[basic]\ntype = awnn\nparam = model_int8.param\nbin = model_int8.bin\n\n[inputs]\n"
                    "input0 = %d,%d,3,114.5,114.5,114.5,0.0173,0.0173,0.0173\n\n[outputs]\noutput0 = 1,1,1000\n"
                    % (SIZE, SIZE))
    bad_texts = {
        "missing_files.mud": "[basic]\ntype = awnn\nparam = nothere.param\nbin = nothere.bin\n[inputs]\n"
                             "input0 = 64,64,3\n[outputs]\noutput0 = 1,1,1000\n",
        "no_param.mud": "[basic]\ntype = awnn\n[inputs]\ninput0 = 64,64,3\n[outputs]\noutput0 = 1,1,1000\n",
        "not_ini.mud": "garbage\n",
        "aipu.mud": "[basic]\ntype = aipu\nparam = model.param\nbin = model.bin\n[inputs]\ninput0 = 1,1,1\n"
                    "[outputs]\noutput0 = 1,1,1\n",
        "bad_numbers.mud": "[basic]\ntype = awnn\nparam = model_int8.param\nbin = model_int8.bin\n[inputs]\n"
                           "input0 = 64,64,x\n[outputs]\noutput0 = 1,1,1000\n",
        "no_outputs.mud": "[basic]\ntype = awnn\nparam = model_int8.param\nbin = model_int8.bin\n[inputs]\n"
                          "input0 = 64,64,3\n",
        "wrong_input.mud": "[basic]\ntype = awnn\nparam = model_int8.param\nbin = model_int8.bin\n[inputs]\n"
                           "data = 64,64,3\n[outputs]\noutput0 = 1,1,1000\n",
    }
    bad = []
    for name, text in bad_texts.items():
        (root / name).write_text(text)
        bad.append(str(root / name))
    return {"root": root, "float": (paths.param, paths.bin), "int8": (q.param, q.bin), "int8_mud": q.mud,
            "images": images, "good_mud": str(good), "bad_muds": bad}


# ---------------------------------------------------------------- running

def run_nn_resnet(build, work, kind, outdir):
    """nn_resnet on every image; returns ({image: [(class, prob, label)]}, dumps dir)."""
    os.makedirs(outdir, exist_ok=True)
    if kind == "int8":
        model = ["-m", work["int8_mud"]]
    else:
        model = ["-p", work["float"][0], "-b", work["float"][1], "-M", repr(FLOAT_MEAN), "-N", repr(FLOAT_NORM)]
    cmd = build["prefix"] + [build["nn_resnet"]] + model + ["-s", "%dx%d" % (SIZE, SIZE), "-l", LABELS,
                                                           "-d", outdir] + work["images"]
    rc, out, err = _run(cmd, timeout=TIMEOUT, env=build.get("env"))
    assert rc == 0, "nn_resnet failed (%d):\n%s\n%s" % (rc, out[-3000:], err[-3000:])
    results, current = {}, None
    for line in out.splitlines():
        if line.startswith("== "):
            current = line[3:]
            results[current] = []
        elif line.startswith("#"):
            rank, _, cls, _, prob, label = (line.split(" ", 5) + [""])[:6]
            results[current].append((int(cls), float(prob), label))
        elif line.startswith("forward: "):
            assert line.endswith(" ms") and float(line.split()[1]) >= 0
    assert list(results) == work["images"], out
    return results, out


def nearest(img, size):
    """examples/nn_resnet/board_host.c's resize: source = dst * src // dst."""
    h, w = img.shape[:2]
    ys = (np.arange(size) * h) // size
    xs = (np.arange(size) * w) // size
    return np.ascontiguousarray(img[ys][:, xs])


def load_oracle(work, kind):
    from maixnn import nn
    if kind == "int8":
        return nn.load(work["int8_mud"])
    return nn.load({"param": work["float"][0], "bin": work["float"][1]},
                   opt={"model_type": "awnn", "inputs": {"input0": (SIZE, SIZE, 3)},
                        "outputs": {"output0": (1, 1, 1000)}, "mean": [FLOAT_MEAN] * 3, "norm": [FLOAT_NORM] * 3})


def read_labels():
    with open(LABELS) as f:
        return f.read().splitlines()


# ---------------------------------------------------------------- host

def test_labels_file():
    labels = read_labels()
    assert len(labels) == 1000 and all(labels)
    assert labels[0] == "tench, Tinca tinca" and labels[258] == "Samoyed, Samoyede"   # the seed's output


@pytest.mark.parametrize("kind", ["float", "int8"])
def test_nn_resnet_host_equals_maixnn_nn(host_build, work, kind, tmp_path):
    from PIL import Image
    from maixnn import nn, npu
    results, _ = run_nn_resnet(host_build, work, kind, str(tmp_path))
    model = load_oracle(work, kind)
    labels = read_labels()
    for index, image in enumerate(work["images"]):
        frame = np.fromfile(str(tmp_path / ("%d.frame.u8" % index)), np.uint8).reshape(SIZE, SIZE, 3)
        decoded = np.asarray(Image.open(image).convert("RGB"))
        if image.endswith(".jpg"):     # stb's and PIL's JPEG decoders may differ by a few levels
            assert np.abs(frame.astype(int) - nearest(decoded, SIZE).astype(int)).mean() < 2.0
        else:
            np.testing.assert_array_equal(frame, nearest(decoded, SIZE))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = model.forward(frame.tobytes(), quantize=True)
        raw = np.fromfile(str(tmp_path / ("%d.out.f32" % index)), np.float32)
        np.testing.assert_array_equal(raw, out.reshape(-1))          # the same engine, the same input
        if kind == "int8":
            # buff_quantization: the V831 input path (maixnn.npu), channel 0's mean/norm
            runtime = npu.NpuRuntime.for_net(model.net)
            q = np.fromfile(str(tmp_path / ("%d.in.i8" % index)), np.int8).reshape(SIZE, SIZE, 3)
            m, n = npu.single_mean_norm(model.mean["input0"], model.norm["input0"], warn=False)
            expected = npu.quantize_input(npu.normalize_like_board(frame, m, n), runtime.input.input_scale)
            np.testing.assert_array_equal(q, expected.transpose(1, 2, 0))
            assert len(np.unique(q)) > 50                                 # a real image, not a constant
        else:
            assert not os.path.exists(str(tmp_path / ("%d.in.i8" % index)))   # nothing quantized
        p = nn.F.softmax(out)
        top = np.argsort(-p, kind="stable")[:5]
        got = results[image]
        assert [c for c, _, _ in got] == [int(i) for i in top], (image, got, top)
        np.testing.assert_allclose([pr for _, pr, _ in got], p[top], rtol=0, atol=1.5e-6)
        assert [lb for _, _, lb in got] == [labels[i] for i in top]


def test_nn_resnet_errors(host_build, work, tmp_path):
    def run(*args):
        return _run([host_build["nn_resnet"]] + list(args), env=host_build["env"])
    rc, out, err = run("-m", str(tmp_path / "missing.mud"), work["images"][0])
    assert rc == 1 and "cannot open the .mud file" in err and "missing.mud" in err
    rc, out, err = run("-m", work["int8_mud"], "-s", "32", work["images"][0])
    assert rc == 1 and "the model wants 64x64x3" in err
    rc, out, err = run("-m", work["int8_mud"], "-s", "64", str(tmp_path / "nothere.png"))
    assert rc == 1 and "nothere.png" in err
    rc, out, err = run(work["images"][0])
    assert rc == 2 and "give a model" in err


def run_api_test(build, work, cwd):
    fp, fb = work["float"]
    ip, ib = work["int8"]
    cmd = build["prefix"] + [build["api_test"], fp, fb, ip, ib, work["good_mud"], MID_BLOB, str(SIZE), str(SIZE)] \
        + work["bad_muds"]
    return _run(cmd, timeout=TIMEOUT, cwd=cwd, env=build.get("env"))


def test_libmaix_api_host(host_build, work):
    rc, out, err = run_api_test(host_build, work, str(work["root"]))
    assert rc == 0, out[-4000:] + err[-4000:]
    assert " 0 failed" in out and int(out.split("libmaix_api_test: ")[1].split()[0]) > 1000
    # every error came with its message on stderr (as libmaix prints them), .mud errors included
    for text in ("init: call libmaix_nn_module_init() first (not initialized)",
                 "input_names[0] = \"no_such_blob\": the model has no blob of that name (parameter error)",
                 "has need_quantization but buff_quantization is NULL",
                 "declares w, h, c = 1, 1, 999: the model's output has 1, 1, 1000",
                 "libmaix_mud_load_model: cannot open the .mud file /nonexistent/model.mud",
                 "missing_files.mud: load ", "nothere.param: cannot open",
                 "no_param.mud: [basic] needs param = <file> and bin = <file>",
                 "not_ini.mud:1: expected key = value, got garbage",
                 "aipu.mud: [basic] type = aipu: only awnn models are supported",
                 "bad_numbers.mud:6: [inputs] input0 = 64,64,x",
                 "no_outputs.mud: [inputs] and [outputs] must each name at least one blob",
                 "\"data\": the model has no blob of that name"):
        assert text in err, text
    assert "ERROR: AddressSanitizer" not in err and "runtime error" not in err


# ---------------------------------------------------------------- armv7 under qemu

@pytest.fixture(scope="module", params=("armhf", "zig", "v831"))
def arm_build(request):
    """nn_resnet and libmaix_api_test for armv7 with each toolchain of
    tests/cross.py (Debian armhf = build/armhf shared with test_arm.py; zig's
    musl; toolchain/v831-musl.cmake with its zig stand-in), run under qemu-arm."""
    cross.require(request.param)
    tc = cross.toolchain(request.param)
    cross.build(tc, ["nn_resnet", "libmaix_api_test"])
    return {"nn_resnet": os.path.join(tc.build_dir, "examples", "nn_resnet", "nn_resnet"),
            "api_test": os.path.join(tc.build_dir, "tests", "c", "libmaix_api_test"),
            "prefix": list(tc.qemu)}


def test_libmaix_api_arm(arm_build, work):
    rc, out, err = run_api_test(arm_build, work, str(work["root"]))
    assert rc == 0, out[-4000:] + err[-4000:]
    assert " 0 failed" in out


@pytest.mark.parametrize("kind", ["float", "int8"])
def test_nn_resnet_arm_equals_host(host_build, arm_build, work, kind, tmp_path):
    host, host_text = run_nn_resnet(host_build, work, kind, str(tmp_path / "host"))
    arm, arm_text = run_nn_resnet(arm_build, work, kind, str(tmp_path / "arm"))
    strip = lambda text: [ln for ln in text.splitlines() if not ln.startswith("forward: ")]
    assert strip(arm_text) == strip(host_text)                 # the same top-5, labels, probabilities
    for index in range(len(work["images"])):
        for name in ("frame.u8", "in.i8"):
            path = tmp_path / "host" / ("%d.%s" % (index, name))
            if kind == "float" and name == "in.i8":
                continue
            assert (tmp_path / "arm" / path.name).read_bytes() == path.read_bytes(), path.name
        h = np.fromfile(str(tmp_path / "host" / ("%d.out.f32" % index)), np.float32)
        a = np.fromfile(str(tmp_path / "arm" / ("%d.out.f32" % index)), np.float32)
        np.testing.assert_allclose(a, h, rtol=1e-5, atol=1e-5 * float(np.abs(h).max()))


# ---------------------------------------------------------------- awnn backend (Sipeed's libmaix) against a stub

STUB_DIR = os.path.join(REPO, "tests", "libmaix_stub")
STUB_LIBS = {"nn": "stub_nn.c", "cam": "stub_cam.c", "disp": "stub_disp.c", "image": "stub_image.c",
             "utils": "stub_utils.c"}


def make_fake_libmaix(root, with_headers=True, libs=tuple(STUB_LIBS)):
    """A libmaix checkout's layout with the stub libraries of tests/libmaix_stub
    (libmaix's symbol names, canned behaviour) and libmaix-named headers:
    maixnn's own nn headers (csrc/libmaix/include) + the stub's cam/disp/image."""
    inc = os.path.join(root, "components", "libmaix", "include")
    lib = os.path.join(root, "components", "libmaix", "lib", "arch", "v831")
    os.makedirs(inc, exist_ok=True)
    os.makedirs(lib, exist_ok=True)
    if with_headers:
        for name in ("libmaix_nn.h", "libmaix_err.h", "mud.h"):
            shutil.copy(os.path.join(REPO, "csrc", "libmaix", "include", name), inc)
        for name in ("libmaix_cam.h", "libmaix_disp.h", "libmaix_image.h"):
            shutil.copy(os.path.join(STUB_DIR, "include", name), inc)
    for name in libs:
        rc, out, err = _run(["cc", "-shared", "-fPIC", "-Wall", "-Wextra", "-Werror", "-O1",
                             "-I", os.path.join(STUB_DIR, "include"),
                             "-I", os.path.join(REPO, "csrc", "libmaix", "include"),
                             "-o", os.path.join(lib, "libmaix_%s.so" % name), os.path.join(STUB_DIR, STUB_LIBS[name])])
        assert rc == 0, err
    return lib


def configure_awnn(build_dir, libmaix_dir):
    args = ["cmake", "-S", REPO, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release", "-DMAIXNN_LIBMAIX_BACKEND=awnn",
            "-DCMAKE_COMPILE_WARNING_AS_ERROR=ON"]
    if libmaix_dir is not None:
        args.append("-DLIBMAIX_DIR=" + libmaix_dir)
    return _run(args)


def test_awnn_backend_links_and_runs_against_a_stub_libmaix(tmp_path):
    libdir = make_fake_libmaix(str(tmp_path / "libmaix"))
    build = str(tmp_path / "build")
    rc, out, err = configure_awnn(build, str(tmp_path / "libmaix"))
    assert rc == 0, out + err
    rc, out, err = _run(["cmake", "--build", build, "-j2", "--target", "nn_resnet"])
    assert rc == 0, out[-4000:] + err[-4000:]
    assert "board_libmaix.c" in out and "board_host.c" not in out and "libmaix_nn_emu" not in out
    exe = os.path.join(build, "examples", "nn_resnet", "nn_resnet")
    rc, dyn, _ = _run(["readelf", "-d", exe])
    needed = [ln.split("[")[1].rstrip("]") for ln in dyn.splitlines() if "(NEEDED)" in ln]
    for name in ("libmaix_nn.so", "libmaix_cam.so", "libmaix_disp.so", "libmaix_image.so"):
        assert name in needed, needed          # by name, found through LD_LIBRARY_PATH on the board
    assert "libmaixnn.so" not in needed        # not maixnn's engine: Sipeed's library does the work
    env = dict(os.environ, LD_LIBRARY_PATH=libdir)
    proc = subprocess.run([exe, "-p", "m.param", "-b", "m.bin", "-n", "2", "-l", LABELS], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert "stub: camera 224x224" in lines and "stub: load m.param m.bin" in lines
    assert lines.count("stub: convert BGR888 -> RGB888") == 2 and lines.count("stub: resize 448x448 -> 224x224") == 2
    assert lines.count("stub: forward 224x224x3") == 2 and lines.count("== camera") == 2
    top1 = [ln for ln in lines if ln.startswith("#1 ")]
    assert top1 == ["#1 class 207 prob %.6f golden retriever" % (np.exp(4.0 - 0.09) / (np.exp(4.0 - 0.09)
                    + sum(np.exp((i % 10) * 0.01 - 0.09) for i in range(1000) if i != 207)))] * 2, top1
    shown = [ln for ln in lines if ln.startswith("stub: draw_string")]
    assert len(shown) == 2 and shown[0].startswith("stub: draw_string on 224x224: ") and "golden retriever" in shown[0]
    assert lines.count("stub: display 224x224 mode %d" % 3) == 2     # LIBMAIX_IMAGE_MODE_RGB888


@pytest.mark.parametrize("case", ["no_dir", "empty", "no_libraries", "no_headers"])
def test_awnn_backend_refuses_a_bad_libmaix_dir_at_configure_time(tmp_path, case):
    root = str(tmp_path / "libmaix")
    if case == "empty":
        os.makedirs(root)
    elif case == "no_libraries":
        make_fake_libmaix(root, libs=("cam", "disp"))
    elif case == "no_headers":
        make_fake_libmaix(root, with_headers=False)
    rc, out, err = configure_awnn(str(tmp_path / "build"), None if case == "no_dir" else root)
    assert rc != 0
    text = " ".join(err.split())
    if case == "no_dir":
        assert "give a sipeed/libmaix checkout with -DLIBMAIX_DIR=<path>" in text
        return
    assert "LIBMAIX_DIR=%s is not a libmaix checkout with prebuilt v831 libraries; missing:" % root in text
    lib = os.path.join(root, "components", "libmaix", "lib", "arch", "v831")
    inc = os.path.join(root, "components", "libmaix", "include")
    if case in ("empty", "no_libraries"):
        assert "library %s/libmaix_nn.so" % lib in text and "library %s/libmaix_utils.so" % lib in text
        assert ("library %s/libmaix_cam.so" % lib in text) == (case == "empty")
    if case in ("empty", "no_headers"):
        assert "header %s/libmaix_nn.h" % inc in text and "header %s/mud.h" % inc in text


# ---------------------------------------------------------------- awnn models (once the engine reads them)

def _awnn_vectors():
    """MAIXNN_AWNN_VECTORS, or ../shared/reference/awnn-vectors beside the
    checkout (CI) or beside its parent folder (a worktree under wt/)."""
    for d in (os.environ.get("MAIXNN_AWNN_VECTORS", ""),
              os.path.join(REPO, "..", "shared", "reference", "awnn-vectors"),
              os.path.join(REPO, "..", "..", "shared", "reference", "awnn-vectors")):
        if d and os.path.isdir(d):
            return os.path.abspath(d)
    return None


AWNN_VECTORS = _awnn_vectors()


def test_awnn_models_through_libmaix_equal_maixnn_nn(host_build, tmp_path):
    """The V831's own models (golden files of ../shared/reference/awnn-vectors
    with a 3-channel image input) through libmaix's API: input quantized with
    the Input's scale, int8 outputs dequantized by the engine - the same raw
    output and quantized input as maixnn.nn.  Runs once the engine reads awnn
    models (branch awnn-emu), skipped before."""
    from PIL import Image
    from maixnn import nn
    from maixnn.runtime import Net
    if AWNN_VECTORS is None:
        pytest.skip("the golden awnn files ../shared/reference/awnn-vectors are not there")
    cases = sorted(d for d in os.listdir(AWNN_VECTORS) if d.startswith("case"))
    import maixnn.errors
    try:
        probe = Net(os.path.join(AWNN_VECTORS, cases[0], "awnn.param"),
                    os.path.join(AWNN_VECTORS, cases[0], "awnn.bin"))
    except maixnn.errors.Error as exc:
        pytest.skip("this engine does not read awnn models yet (branch awnn-emu): %s" % exc)
    if not getattr(probe, "is_awnn", False):
        pytest.skip("this engine does not read awnn models yet (branch awnn-emu)")
    rng = np.random.default_rng(5)
    done = 0
    for case in cases:
        param, binp = (os.path.join(AWNN_VECTORS, case, "awnn." + ext) for ext in ("param", "bin"))
        net = Net(param, binp)
        if len(net.input_names) != 1 or len(net.output_names) != 1:
            continue
        c, h, w = net.input_shapes[net.input_names[0]]
        if c != 3:
            continue
        image = (rng.random((h, w, 3)) * 255).astype(np.uint8)
        path = str(tmp_path / ("%s.ppm" % case))
        Image.fromarray(image).save(path)
        shape = np.asarray(net.forward(np.zeros((c, h, w), np.int8))).shape
        out_hwc = (shape[1], shape[2], shape[0]) if len(shape) == 3 else (1, 1, int(np.prod(shape)))
        model = nn.load({"param": param, "bin": binp},
                        opt={"model_type": "awnn", "inputs": {net.input_names[0]: (h, w, 3)},
                             "outputs": {net.output_names[0]: out_hwc}, "mean": [127.5] * 3,
                             "norm": [0.0078125] * 3})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = model.forward(image.tobytes(), quantize=True).reshape(-1)
        dump = tmp_path / case
        dump.mkdir()
        rc, out, err = _run([host_build["nn_resnet"], "-p", param, "-b", binp, "-i", net.input_names[0], "-o",
                             net.output_names[0], "-s", "%dx%d" % (w, h), "-c", str(expected.size), "-M", "127.5",
                             "-N", "0.0078125", "-d", str(dump), path], env=host_build["env"])
        assert rc == 0, case + out + err
        np.testing.assert_array_equal(np.fromfile(str(dump / "0.out.f32"), np.float32), expected, err_msg=case)
        q = np.fromfile(str(dump / "0.in.i8"), np.int8).reshape(h, w, 3)
        from maixnn import npu
        scale = net.blob_scale(net.input_names[0])
        ref = npu.quantize_input(npu.normalize_like_board(image, 127.5, 0.0078125), scale).transpose(1, 2, 0)
        np.testing.assert_array_equal(q, ref, err_msg=case)
        done += 1
        if done == 4:
            break
    assert done >= 2
