"""Test harness: every test runs against the sources of this checkout.

* <repo>/python goes first on sys.path, so `import maixnn` is the checkout's
  package even when another maixnn is installed.
* Unless MAIXNN_LIBRARY is already set, the C library is built from csrc/ with
  CMake into <repo>/build/pytest-lib (Release, incremental: a rebuild after an
  edit only recompiles what changed) and MAIXNN_LIBRARY points at it, which is
  where maixnn.runtime looks first.

The build happens once per session, before collection (pytest_sessionstart), so
that even module-level code in a test file sees the library.  Several pytest
sessions may run in the same working tree at once (several engineers), so the
build is serialised with a file lock.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON_DIR = os.path.join(REPO, "python")
TESTS_DIR = os.path.join(REPO, "tests")
BUILD_DIR = os.path.join(REPO, "build", "pytest-lib")

for _path in (TESTS_DIR, PYTHON_DIR):  # PYTHON_DIR ends up first
    if _path in sys.path:
        sys.path.remove(_path)
    sys.path.insert(0, _path)


def _drop_other_editable_installs():
    """An editable install of ANOTHER checkout (scikit-build-core puts an import
    hook first in sys.meta_path) would win over sys.path and the tests would
    import that checkout's maixnn.  Remove the hook here, and tell the hooks of
    subprocesses to stand aside (SKBUILD_EDITABLE_SKIP lists their build dirs)."""
    for finder in list(sys.meta_path):
        if not hasattr(finder, "known_source_files") or not hasattr(finder, "path"):
            continue
        origin = getattr(finder, "known_source_files", {}).get("maixnn", "")
        if origin and not os.path.abspath(origin).startswith(PYTHON_DIR + os.sep):
            sys.meta_path.remove(finder)
            skip = [p for p in os.environ.get("SKBUILD_EDITABLE_SKIP", "").split(os.pathsep) if p]
            if finder.path and finder.path not in skip:
                os.environ["SKBUILD_EDITABLE_SKIP"] = os.pathsep.join(skip + [finder.path])


_drop_other_editable_installs()
# subprocesses started by tests (CLI runs) must see the same package
os.environ["PYTHONPATH"] = os.pathsep.join(
    [PYTHON_DIR] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != PYTHON_DIR])

_library_path = None
_library_error = None


def _run(cmd):
    proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)
    if proc.returncode != 0:
        raise RuntimeError("command failed (%d): %s\n%s" % (proc.returncode, " ".join(cmd), proc.stdout[-6000:]))


def build_library():
    """Build (or bring up to date) build/pytest-lib/libmaixnn.so and return its path."""
    import fcntl

    os.makedirs(BUILD_DIR, exist_ok=True)
    with open(os.path.join(BUILD_DIR, ".pytest-build.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not os.path.exists(os.path.join(BUILD_DIR, "CMakeCache.txt")):
                _run(["cmake", "-S", REPO, "-B", BUILD_DIR, "-DCMAKE_BUILD_TYPE=Release"])
            # `cmake --build` re-runs the configure step itself when CMakeLists.txt
            # or the globbed source list changed (CONFIGURE_DEPENDS)
            _run(["cmake", "--build", BUILD_DIR, "-j2"])
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    path = os.path.join(BUILD_DIR, "libmaixnn.so")
    if not os.path.exists(path):
        raise RuntimeError("the build finished but %s does not exist" % path)
    return path


def pytest_sessionstart(session):
    global _library_path, _library_error
    if os.environ.get("MAIXNN_LIBRARY"):
        _library_path = os.environ["MAIXNN_LIBRARY"]
        return
    try:
        _library_path = build_library()
        os.environ["MAIXNN_LIBRARY"] = _library_path
    except Exception as exc:  # reported by the fixture, on every test that needs the engine
        _library_error = str(exc)


def pytest_report_header(config):
    if _library_error:
        return "maixnn library: BUILD FAILED\n" + _library_error
    return "maixnn library: %s" % (_library_path,)


@pytest.fixture(scope="session", autouse=True)
def maixnn_library():
    """Path of the libmaixnn.so the tests use (built from this checkout)."""
    if _library_error:
        pytest.fail("building the maixnn C library failed (the build log is in the session header): "
                    + _library_error.splitlines()[0], pytrace=False)
    return _library_path
