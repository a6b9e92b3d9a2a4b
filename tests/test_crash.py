"""Crash safety with real processes: a node SIGKILLed during ingest, during catch-up, or while starting loses
nothing it acknowledged, its store opens and every log in it is a consistent signed chain, and it converges
with its peers (the CI-sized run of bench/crash.py: testkit/crash.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import Cli

from node.storage.integrity import check_store
from node.storage.store import Store
from testkit.checks import Contributions
from testkit.consortium import LocalConsortium, example_membership
from testkit.crash import CrashHarness

pytestmark = pytest.mark.slow

ITERATIONS = 10


def test_killed_nodes_lose_nothing_acknowledged_and_converge(tmp_path: Path) -> None:
    started = time.monotonic()
    with LocalConsortium(tmp_path) as consortium:
        consortium.start()
        harness = CrashHarness(
            consortium,
            example_membership(),
            seed=7,
            max_batch=5,
            backlog_batches=5,
            verify_sample=10,
            pause=0.02,
        )
        figures = harness.run(ITERATIONS)
        harness.final_check()
    assert figures.failures == []
    assert figures.iterations == ITERATIONS and all(figures.kills.values()), figures.kills
    assert figures.acknowledged > 0
    assert figures.lost == 0 and figures.unverified == 0
    assert figures.integrity_problems == 0 and figures.not_converged == 0
    assert time.monotonic() - started < 120  # the CI budget is 60 s; this only catches a runaway


def test_the_integrity_check_finds_a_broken_chain(tmp_path: Path, cli: Cli) -> None:
    """The check the harness relies on (and `hashnode check`) is not vacuous: a head row pointing past its log
    is reported."""
    trusted = example_membership()
    with LocalConsortium(tmp_path, names=("a",)) as consortium:
        node = consortium["a"]
        node.start()
        contributions = Contributions()
        assert contributions.submit(node.client, "one", 3) and contributions.submit(node.client, "two", 3)
        node.stop()
    checked = cli("check", "--config", node.config)
    assert checked.code == 0 and "consistent: 1 logs, 2 entries, 6 records (6 active)" in checked.out
    store = Store.open(node.store_path, consortium_id=trusted.consortium_id)
    try:
        with store.write() as txn:
            head = store.head(txn, "platform-a")
            assert head is not None
            broken = (head.seq + 1).to_bytes(8, "big") + head.entry_id + bytes(8)
            txn.put(b"platform-a", broken, db=store.db("heads"))
        report = check_store(store, trusted)
    finally:
        store.close()
    assert not report.ok
    assert "log of platform-a at seq 3: missing (head says seq 3)" in report.problems
    checked = cli("check", "--config", node.config)
    assert checked.code == 1 and "NOT consistent" in checked.out and "missing (head says seq 3)" in checked.out
