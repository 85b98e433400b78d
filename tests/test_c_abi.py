"""libmaixnn.so exports exactly the functions of csrc/include/maixnn.h.

The library is built with hidden visibility and MXN_API marks the public
functions; an internal helper that leaks into the dynamic symbol table (or a
public function that lost its MXN_API) shows up here."""
import os
import re
import shutil
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _header_functions():
    with open(os.path.join(REPO, "csrc", "include", "maixnn.h")) as f:
        text = re.sub(r"/\*.*?\*/", " ", f.read(), flags=re.S)
    return set(re.findall(r"\bMXN_API\b[^;]*?\b(mxn_\w+)\s*\(", text))


def test_shared_library_exports_exactly_the_public_api(maixnn_library):
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("binutils nm is not installed")
    out = subprocess.run([nm, "-D", "--defined-only", os.environ["MAIXNN_LIBRARY"]], check=True,
                         stdout=subprocess.PIPE, universal_newlines=True).stdout
    exported = {line.split()[-1] for line in out.splitlines() if line.split()[1:2] == ["T"]}
    public = _header_functions()
    assert len(public) >= 30
    assert exported == public, ("only exported: %s; only in maixnn.h: %s"
                                % (sorted(exported - public), sorted(public - exported)))
