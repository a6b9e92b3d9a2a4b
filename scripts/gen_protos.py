#!/usr/bin/env python3
"""Generate Python code from protos/ into node/api/gen (or --out), with package-relative imports.

protoc writes `from hashnode.v1 import x_pb2`; the generated modules live inside the `node` package, so the imports
are rewritten to `node.api.gen.hashnode.v1`. Run through `make proto`; `make proto-check` diffs a fresh generation.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[1]
PROTOS = ROOT / "protos"
IMPORT = re.compile(r"^from hashnode\.v1 import", re.MULTILINE)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "node/api/gen")
    out: Path = parser.parse_args().out.resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    sources = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))
    import grpc_tools

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    args = ["protoc", f"-I{PROTOS}", f"-I{well_known}", f"--python_out={out}", f"--pyi_out={out}",
            f"--grpc_python_out={out}", *sources]
    if protoc.main(args) != 0:
        print("protoc failed", file=sys.stderr)
        return 1
    for path in out.rglob("*.py*"):
        text = path.read_text()
        path.write_text(IMPORT.sub("from node.api.gen.hashnode.v1 import", text))
    for directory in [out, *(p for p in out.rglob("*") if p.is_dir())]:
        (directory / "__init__.py").touch()
    return 0


if __name__ == "__main__":
    sys.exit(main())
