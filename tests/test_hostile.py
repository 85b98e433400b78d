"""Hostile inputs (issue 4): malformed model files, fuzzing, sanitizers.

* The C corpus test (tests/c/corpus_test.c) built with ASan + UBSan +
  LeakSanitizer into build/sanitize, run on the committed corpus
  (tests/corpus) and on the corpus generated here.
* Each libFuzzer harness (tests/c/fuzz) for a bounded time (MAIXNN_FUZZ_SECONDS,
  default 20 s, the three run side by side); a crash fails the test and its
  input is kept under tests/corpus/regressions/<harness>/ to be replayed by
  every later run.
* The malformed corpus through maixnn.runtime.Net: each file gives a typed
  maixnn.errors exception whose message names the problem.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import threading

import numpy as np
import pytest

import hostile_corpus as hc
import maixnn.errors as merr
from maixnn.ncnn_model import NcnnModel

CORPUS_DIR = os.path.join(hc.REPO, "tests", "corpus")
REGRESSIONS_DIR = os.path.join(CORPUS_DIR, "regressions")
FUZZ_SECONDS = int(os.environ.get("MAIXNN_FUZZ_SECONDS", "20"))
IN_CI = bool(os.environ.get("CI"))


# ---------------------------------------------------------------- sanitizer build

@pytest.fixture(scope="module")
def sanitized_build():
    """build/sanitize: libmaixnn + corpus_test with ASan/UBSan/LSan, and the
    libFuzzer harnesses when clang is there (CI installs it: .ci/run)."""
    if hc.find_clang() is None and IN_CI:
        pytest.fail("clang is not installed; .ci/run must apt-get install clang libclang-rt-dev")
    try:
        return hc.build_sanitized()
    except RuntimeError as exc:
        pytest.fail("the sanitizer build failed:\n%s" % exc, pytrace=False)


def _sanitizer_env():
    env = dict(os.environ)
    env.update(hc.SANITIZER_ENV)
    return env


def test_c_corpus_under_sanitizers(sanitized_build, tmp_path):
    generated = str(tmp_path / "corpus")
    n = hc.write_corpus(generated)
    assert n > 100
    exe = os.path.join(sanitized_build, "tests", "c", "corpus_test")
    proc = subprocess.run([exe, CORPUS_DIR, generated], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, env=_sanitizer_env(), timeout=600, errors="replace")
    tail = proc.stdout[-12000:]
    assert "AddressSanitizer" not in proc.stdout and "LeakSanitizer" not in proc.stdout \
        and "runtime error:" not in proc.stdout, tail
    assert proc.returncode == 0, tail
    summary = proc.stdout.strip().splitlines()[-1]
    passed = int(summary.split("corpus_test: ")[1].split(" passed")[0])
    # every file of both corpora was checked (plus the API misuse checks)
    assert passed >= n + len(glob.glob(os.path.join(CORPUS_DIR, "*", "*.param"))), summary


def test_sanitizers_are_really_on(sanitized_build, tmp_path):
    """The sanitized library must report a real leak/overflow: a build whose
    sanitizers silently fell off would make the corpus test meaningless."""
    exe = os.path.join(sanitized_build, "tests", "c", "corpus_test")
    out = subprocess.run(["nm", "-D", os.path.join(sanitized_build, "libmaixnn.so")],
                         stdout=subprocess.PIPE, universal_newlines=True).stdout
    assert "__asan" in out, "libmaixnn.so in build/sanitize is not built with AddressSanitizer"
    assert "__ubsan" in out, "libmaixnn.so in build/sanitize is not built with UBSan"
    out = subprocess.run(["nm", exe], stdout=subprocess.PIPE, universal_newlines=True).stdout
    assert "__lsan" in out or "__asan" in out


def test_c_threads_under_asan(sanitized_build):
    """One net, 4 threads with their own sessions: bit-identical to serial (ASan build)."""
    exe = os.path.join(sanitized_build, "tests", "c", "thread_test")
    proc = subprocess.run([exe, CORPUS_DIR], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, env=_sanitizer_env(), timeout=300, errors="replace")
    assert proc.returncode == 0 and "Sanitizer" not in proc.stdout, proc.stdout[-6000:]


def test_c_threads_under_tsan():
    """The same under ThreadSanitizer: no data race in the shared net."""
    if hc.find_clang() is None:
        if IN_CI:
            pytest.fail("clang is not installed; .ci/run must apt-get install clang libclang-rt-dev")
        pytest.skip("ThreadSanitizer build needs clang")
    try:
        build = hc.build_tsan()
    except RuntimeError as exc:
        pytest.fail("the ThreadSanitizer build failed:\n%s" % exc, pytrace=False)
    env = dict(os.environ, TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1")
    proc = subprocess.run([os.path.join(build, "tests", "c", "thread_test_tsan"), CORPUS_DIR],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, env=env,
                          timeout=300, errors="replace")
    assert proc.returncode == 0 and "ThreadSanitizer" not in proc.stdout, proc.stdout[-6000:]
    assert "0 failed" in proc.stdout and " 0 passed" not in proc.stdout, proc.stdout
    # the thread pool alone: jobs of 1-7 blocks on 1-4 threads, nested jobs, ranges
    proc = subprocess.run([os.path.join(build, "tests", "c", "pool_test_tsan")], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, env=env, timeout=300, errors="replace")
    assert proc.returncode == 0 and "ThreadSanitizer" not in proc.stdout, proc.stdout[-6000:]
    assert proc.stdout.strip().endswith("pool_test: ok"), proc.stdout[-2000:]


# ---------------------------------------------------------------- fuzzers

@pytest.fixture(scope="module")
def fuzz_runs(sanitized_build, tmp_path_factory):
    """Run the three harnesses side by side, FUZZ_SECONDS each."""
    if not os.path.exists(os.path.join(sanitized_build, "tests", "c", "fuzz_param")):
        pytest.skip("libFuzzer harnesses not built (no clang); install clang libclang-rt-dev")
    work = str(tmp_path_factory.mktemp("fuzz"))
    seeds = hc.write_fuzz_seeds(os.path.join(work, "seeds"))
    results = {}

    def one(name):
        results[name] = hc.run_fuzzer(sanitized_build, name, seeds, FUZZ_SECONDS, work, REGRESSIONS_DIR)

    threads = [threading.Thread(target=one, args=(name,)) for name in hc.FUZZERS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return work, results


@pytest.mark.parametrize("name", hc.FUZZERS)
def test_fuzzer(fuzz_runs, name):
    work, results = fuzz_runs
    proc = results[name]
    artifacts = sorted(glob.glob(os.path.join(work, name + "_artifacts", "*")))
    kept = []
    if proc.returncode != 0 or artifacts:
        dest = os.path.join(REGRESSIONS_DIR, name.split("_", 1)[1])
        os.makedirs(dest, exist_ok=True)
        for path in artifacts:
            target = os.path.join(dest, os.path.basename(path))
            shutil.copyfile(path, target)
            kept.append(target)
    assert proc.returncode == 0 and not artifacts, (
        "%s failed (exit %d); crash inputs saved as regression files: %s\n%s"
        % (name, proc.returncode, kept, proc.stdout[-8000:]))
    # it really fuzzed: libFuzzer's final stats show the number of executions
    runs = [ln for ln in proc.stdout.splitlines() if ln.startswith("stat::number_of_executed_units")]
    assert runs and int(runs[-1].split(":")[-1]) > 100, proc.stdout[-3000:]


# ---------------------------------------------------------------- malformed files through Python

MALFORMED = hc.malformed_cases()


def _default_input(net):
    """float32 input of the declared shape (small defaults for open extents)."""
    c, h, w = net.input_shapes[net.input_names[0]]
    shape = (c if c > 0 else 3, h if h > 0 else 8, w if w > 0 else 8)
    if np.prod(shape, dtype=np.float64) > 1 << 22:
        return None
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


def _load_and_run(case, tmp_path):
    param_path, bin_path = hc.write_case(str(tmp_path), case)
    from maixnn.runtime import Net
    stage = "load"
    net = Net(param_path, bin_path)
    stage = "forward"
    x = _default_input(net)
    if x is None:
        # too large to build: pass a small one, which must be refused as the wrong shape
        x = np.zeros((3, 8, 8), np.float32)
    return stage, net.forward(x)


@pytest.mark.parametrize("case", [c for c in MALFORMED if c.expect == "bad"], ids=lambda c: c.name)
def test_malformed_file_gives_typed_error(case, tmp_path):
    from maixnn.runtime import Net
    param_path, bin_path = hc.write_case(str(tmp_path), case)
    failed_at = "load"
    with pytest.raises(merr.Error) as info:
        net = Net(param_path, bin_path)
        failed_at = "forward"
        x = _default_input(net)
        net.forward(x if x is not None else np.zeros((3, 8, 8), np.float32))
    exc = info.value
    message = str(exc)
    assert type(exc).__name__ in case.errors, "%s: %s: %s" % (case.name, type(exc).__name__, message)
    if case.at_load:
        assert failed_at == "load", "%s loaded and failed only at forward: %s" % (case.name, message)
    assert any(w in message.lower() for w in case.words), (
        "%s: the message does not name the problem (expected one of %s): %s" % (case.name, case.words, message))


@pytest.mark.parametrize("case", [c for c in MALFORMED if c.expect == "any"], ids=lambda c: c.name)
def test_damaged_file_loads_or_fails_typed(case, tmp_path):
    try:
        stage, out = _load_and_run(case, tmp_path)
    except merr.Error as exc:
        assert str(exc), case.name
        return
    assert isinstance(out, np.ndarray)


@pytest.mark.parametrize("case", [c for c in hc.good_cases() if not c.name.startswith("awnn_")],
                         ids=lambda c: c.name)
def test_base_models_are_real(case, tmp_path):
    """The models the corpus is made from run on maixnn and agree with the
    official ncnn wheel, so the malformed variants start from real models.
    (The awnn ones, which ncnn cannot run, are checked against the numpy
    reference of the NPU in tests/test_awnn_emulator.py.)"""
    ncnn = pytest.importorskip("ncnn")
    param_path, bin_path = hc.write_case(str(tmp_path), case)
    from maixnn.runtime import Net
    net = Net(param_path, bin_path)
    x = _default_input(net)
    got = net.forward(x)
    ref_net = ncnn.Net()
    ref_net.opt.use_fp16_storage = ref_net.opt.use_fp16_arithmetic = ref_net.opt.use_fp16_packed = False
    ref_net.opt.num_threads = 1
    assert ref_net.load_param(param_path) == 0 and ref_net.load_model(bin_path) == 0
    mat = ncnn.Mat(x)
    ex = ref_net.create_extractor()
    ex.input(net.input_names[0], mat)
    ret, out = ex.extract(net.output_names[0])
    assert ret == 0
    ref = np.array(out, dtype=np.float32).copy()
    del ex, mat
    got = np.asarray(got, dtype=np.float32).reshape(ref.shape)
    tol = 1e-5 * float(np.max(np.abs(ref)))
    if "int8" in case.name:
        # one int8 rounding step at a layer boundary is the most a correct engine may differ by
        tol = 2e-2 * float(np.max(np.abs(ref)))
    assert np.max(np.abs(got - ref)) <= tol, (got, ref)


@pytest.mark.parametrize("case", MALFORMED, ids=lambda c: c.name)
def test_python_reader_typed_errors(case, tmp_path):
    """maixnn.ncnn_model (the tools' reader) on the same files: loads or raises
    ModelFormatError, never another exception."""
    param_path, bin_path = hc.write_case(str(tmp_path), case)
    try:
        NcnnModel.load(param_path, bin_path)
    except merr.ModelFormatError as exc:
        assert str(exc)


# ---------------------------------------------------------------- inputs at forward

@pytest.fixture(scope="module")
def float_net(tmp_path_factory):
    from maixnn.runtime import Net
    d = str(tmp_path_factory.mktemp("float_net"))
    case = hc.good_cases()[0]
    param_path, bin_path = hc.write_case(d, case)
    return Net(param_path, bin_path)


@pytest.mark.parametrize("x, words", [
    (np.zeros((3, 0, 8), np.float32), ("empty", "0")),
    (np.zeros((0,), np.float32), ("empty", "0")),
    (np.zeros((3, 8, 7), np.float32), ("3", "8", "7", "shape", "expect")),
    (np.zeros((4, 8, 8), np.float32), ("4", "shape", "expect")),
    (np.zeros((2, 3, 8, 8), np.float32), ("batch",)),
    (np.zeros((1, 1, 3, 8, 8), np.float32), ("shape",)),
    (np.zeros((3, 8, 8), np.int32), ("dtype", "int32")),
    (np.array(["a", "b"]), ("dtype",)),
    (None, ("dtype", "input", "none", "object")),
], ids=["zero_h", "zero_1d", "wrong_w", "wrong_c", "batch2", "5d", "int32", "strings", "none"])
def test_bad_forward_input_is_input_shape_error(float_net, x, words):
    with pytest.raises(merr.InputShapeError) as info:
        float_net.forward(x)
    message = str(info.value).lower()
    assert any(w in message for w in words), message


def test_forward_unknown_output_name_is_option_error(float_net):
    with pytest.raises(merr.OptionError, match="nope"):
        float_net.forward(np.zeros((3, 8, 8), np.float32), outputs=["nope"])


def test_nan_input_propagates_without_crash(float_net):
    x = np.full((3, 8, 8), np.nan, np.float32)
    y = float_net.forward(x)
    assert y.shape == (5,)
