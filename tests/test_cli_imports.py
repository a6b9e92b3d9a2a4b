"""`hashnode --help` and `hashnode match` load only what they use (bench/cli_startup.py measures the time)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("grpc", "google.protobuf", "numpy", "lmdb", "cryptography", "PIL", "node.api.convert", "node.ledger")
PROBE = """
import json, sys
from node.cli.main import main
try:
    main({argv!r})
except SystemExit:
    pass
print(json.dumps(sorted(name for name in {heavy!r} if name in sys.modules)), file=sys.stderr)
"""


def loaded_after(argv: list[str]) -> list[str]:
    """The heavy modules a fresh interpreter holds after running `hashnode ARGV`."""
    code = PROBE.format(argv=argv, heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    return list(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "argv", [["--help"], ["match", "--help"], ["retract", "--help"]], ids=" ".join
)
def test_help_loads_no_wire_store_or_crypto_code(argv: list[str]) -> None:
    assert loaded_after(argv) == []


def test_match_loads_the_wire_code_but_not_the_node(tmp_path: object) -> None:
    loaded = loaded_after(["match", "--type", "md5", "d41d8cd98f00b204e9800998ecf8427e", "--target", "127.0.0.1:1",
                           "--timeout", "0.5"])
    assert "grpc" in loaded and "google.protobuf" in loaded
    assert not {"numpy", "lmdb", "node.api.convert", "node.ledger", "PIL"} & set(loaded)
