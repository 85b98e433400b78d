"""Issue 8's model zoo (tests/zoo.py), every model end to end: export ->
convert -> maixnn's engine in float against onnxruntime (cosine >= 0.99999,
max error <= 1e-4 * max|y|), maixnn.quantize to int8, the int8 model against
the float one and against the official ncnn wheel running the same int8
files; and the README's coverage table must hold the numbers measured here
(regenerate it with `python tests/zoo_table.py --write`)."""
from __future__ import annotations

import glob
import os
import re

import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("ncnn")

import zoo  # noqa: E402
import zoo_run  # noqa: E402
from test_param_readers import assert_params_read_alike  # noqa: E402

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def readme_rows():
    """{model: cells} from the README's zoo table."""
    text = open(README, encoding="utf-8").read()
    m = re.search(r"<!-- zoo-table:begin -->\n(.*?)<!-- zoo-table:end -->", text, re.S)
    assert m, "README.md has no zoo table (run python tests/zoo_table.py --write)"
    rows = {}
    for line in m.group(1).strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows[cells[0]] = cells
    return rows


def test_readme_lists_every_zoo_model():
    assert sorted(readme_rows()) == sorted(zoo.ZOO)


@pytest.mark.parametrize("name", list(zoo.ZOO))
def test_zoo_model(name, tmp_path):
    row = zoo_run.run_model(name, str(tmp_path))   # asserts the float criterion itself
    # Python reads every parameter of the converted and int8 models as the C loader does
    params = glob.glob(os.path.join(str(tmp_path), "**", "*.param"), recursive=True)
    assert params and all(assert_params_read_alike(p) for p in params)
    assert row["float_cos"] >= 0.99999
    # maixnn's int8 engine computes what the official runtime computes on the same files
    assert row["wheel_int8_cos"] >= 0.9999, row
    # int8 does not collapse on any architecture (random weights, synthetic images)
    assert row["int8_cos_min"] >= 0.95, row
    cells = readme_rows()[name]
    expected = zoo_run.table([row]).splitlines()[2]
    exp = [c.strip() for c in expected.strip().strip("|").split("|")]
    assert cells[1:3] == exp[1:3], "README row for %s is stale: %s (measured %s)" % (name, cells, exp)
    assert abs(float(cells[3]) - row["float_cos"]) <= 1e-5
    mean, low = (float(v) for v in cells[4].split("/"))
    assert abs(mean - row["int8_cos"]) <= 2e-3 and abs(low - row["int8_cos_min"]) <= 2e-3, (cells, row)
    if row["top1"] is not None:
        agree = int(cells[5].split("/")[0])
        assert abs(agree - round(row["top1"] * zoo_run.EVAL_IMAGES)) <= 1, (cells, row)
    assert abs(float(cells[6]) - row["wheel_int8_cos"]) <= 1e-4
