#!/usr/bin/env python3
"""Write docs/schema/dsa-statement.schema.json: the JSON Schema (draft 2020-12) of one statement of reasons for
the DSA Transparency Database, generated from the rules the node checks statements with (node/dueprocess/tdb.py).

`make statement-schema` rewrites the file; tests/test_statement_tdb.py fails when the checked-in file is not
what this script writes, and validates the node's statements against it with the `jsonschema` package.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from node.dueprocess import tdb

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs/schema/dsa-statement.schema.json"


def text() -> str:
    return json.dumps(tdb.schema(), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT)
    out: Path = parser.parse_args().out
    out.write_text(text(), encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
