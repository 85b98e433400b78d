"""Run the whole model zoo (tests/zoo.py) and print the README coverage table;
with --write, replace the table in README.md (between the zoo-table markers).

    python tests/zoo_table.py [--write]
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [HERE, os.path.join(ROOT, "python")]
# an editable install of another checkout would shadow this one (see conftest.py)
sys.meta_path[:] = [f for f in sys.meta_path if "maixnn" not in type(f).__module__]

import zoo  # noqa: E402
import zoo_run  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true", help="replace the table in README.md")
    args = ap.parse_args()
    if not os.environ.get("MAIXNN_LIBRARY"):
        sys.path.insert(0, HERE)
        import conftest
        os.environ["MAIXNN_LIBRARY"] = conftest.build_library()
    rows = []
    for name in zoo.ZOO:
        with tempfile.TemporaryDirectory() as d:
            rows.append(zoo_run.run_model(name, d))
        print("%s done" % name, file=sys.stderr)
    table = zoo_run.table(rows)
    print(table)
    if args.write:
        path = os.path.join(ROOT, "README.md")
        text = open(path, encoding="utf-8").read()
        new, n = re.subn(r"(<!-- zoo-table:begin -->\n).*?(<!-- zoo-table:end -->)",
                         lambda m: m.group(1) + table + "\n" + m.group(2), text, flags=re.S)
        if n != 1:
            print("README.md has no zoo-table markers", file=sys.stderr)
            return 1
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(new)
        os.replace(tmp, path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
