"""`hashnode submit` run again gives no second copy (QA of issue 12, item 4): the CLI derives the request id from
the records, so the same submission, re-run after the first run was killed once the node had committed it,
returns the first entry instead of contributing every record again. `--new` contributes again on purpose and
`--request-id` sets the id. Real `hashnode serve` and `hashnode submit` processes.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from node.cli.serve_cmd import PACKAGE_ROOT
from testkit.checks import LABEL
from testkit.consortium import LocalConsortium, ProcessNode, eventually

pytestmark = pytest.mark.slow


def hashnode_argv(*argv: str | Path) -> list[str]:
    return [sys.executable, "-m", "node.cli.main", *map(str, argv)]


ENV = {**os.environ, "PYTHONPATH": str(PACKAGE_ROOT)}


def submit(node: ProcessNode, *argv: str | Path) -> dict[str, object]:
    assert node.process is not None
    done = subprocess.run(
        hashnode_argv("submit", "--target", node.process.target, "--json", *argv),
        capture_output=True, text=True, timeout=120, env=ENV,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_a_submit_killed_after_the_node_committed_and_run_again_adds_nothing(tmp_path: Path) -> None:
    lines = 10_000
    rng = random.Random(12)
    batch = tmp_path / "batch.csv"
    batch.write_text(
        "signal_type,value,labels\n" + "".join(f"md5,{rng.getrandbits(128):032x},{LABEL}\n" for _ in range(lines))
    )
    with LocalConsortium(tmp_path, names=("a",)) as consortium:
        node = consortium["a"]
        node.start()
        assert node.process is not None
        # Its 10,000 result lines fill the pipe nobody reads: the CLI is still running when the node has committed.
        first = subprocess.Popen(
            hashnode_argv("submit", "--target", node.process.target, "--file", batch),
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=ENV,
        )  # fmt: skip
        try:
            eventually(lambda: node.stats().records == lines, "the node committed the killed run's batch", 60)
            assert first.poll() is None, "the first run ended before it could be killed"
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            assert first.stdout is not None
            first.stdout.close()
        again = submit(node, "--file", batch)
        assert len(again["record_ids"]) == lines  # type: ignore[arg-type]
        assert str(again["request_id"]).startswith("sha256-")
        assert node.stats().records == lines  # one copy of each record
        assert submit(node, "--file", batch)["entry_id"] == again["entry_id"]


def test_new_contributes_identical_records_again_and_request_id_sets_the_id(tmp_path: Path) -> None:
    args = ("--type", "md5", "--hash", "0123456789abcdef0123456789abcdef", "--label", LABEL)
    with LocalConsortium(tmp_path, names=("a",)) as consortium:
        node = consortium["a"]
        node.start()
        first = submit(node, *args)
        assert submit(node, *args) == first
        assert node.stats().records == 1
        fresh = submit(node, *args, "--new")
        assert fresh["entry_id"] != first["entry_id"] and fresh["request_id"] != first["request_id"]
        assert node.stats().records == 2
        chosen = submit(node, *args, "--request-id", "case-17-batch-1")
        assert chosen["request_id"] == "case-17-batch-1" and chosen["entry_id"] not in (
            first["entry_id"], fresh["entry_id"]
        )
        assert submit(node, *args, "--request-id", "case-17-batch-1")["entry_id"] == chosen["entry_id"]
        assert node.stats().records == 3
