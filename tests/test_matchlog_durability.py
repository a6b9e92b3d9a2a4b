"""What a logged match survives (docs/due-process.md, "What a logged match survives"), with real node processes
killed with SIGKILL: with `durability = "answered"` every match a node answered is in its log after a crash;
with the default `"batched"`, every match the log counted as written is, and the matches answered since the
last flush are what a crash loses."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import grpc
import pytest

from node.api.gen.hashnode.v1 import admin_pb2, client_pb2
from node.core.errors import ResourceExhausted
from node.core.keys import SigningKey
from node.core.records import HashRecord
from node.core.taxonomy import Taxonomy
from node.ledger.ledger import Ledger, LedgerSettings, Query
from node.membership.members import Member, MemberKey, Membership
from testkit.checks import submit_batch
from testkit.consortium import LocalConsortium, ProcessNode, eventually, free_port

pytestmark = pytest.mark.slow

CALLS = 40


def match_uploads(node: ProcessNode, values: list[str], tag: str) -> dict[str, tuple[str, str]]:
    """One Match call per stored value, each with its own content reference; returns content_ref → (record id,
    query id) as answered."""
    answered = {}
    for i, value in enumerate(values[:CALLS]):
        content_ref = f"{tag}/upload-{i}"
        query = client_pb2.HashQuery(signal_type="pdq", value=value, content_ref=content_ref)
        result = node.client.Match(client_pb2.MatchRequest(queries=[query], pdq_threshold=0), timeout=10).results[0]
        assert len(result.matches) == 1
        answered[content_ref] = (result.matches[0].provenance_ref, result.query_id)
    return answered


def logged(node: ProcessNode, content_ref: str) -> list[tuple[str, str]]:
    """(record id, query id) of every logged match of `content_ref`."""
    try:
        reply = node.admin.ExplainMatch(admin_pb2.ExplainMatchRequest(content_ref=content_ref), timeout=10)
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return []
        raise
    return [(m.record.record_id, m.query_id) for m in reply.matches]


def stored_values(node: ProcessNode) -> list[str]:
    return list(submit_batch(node.client, "durability", CALLS).values())


def test_answered_durability_keeps_every_answered_match_through_a_crash(tmp_path: Path) -> None:
    extra = {"a": '[matchlog]\ndurability = "answered"\nflush_ms = 60000\n'}
    with LocalConsortium(tmp_path, names=("a",), extra=extra) as consortium:
        node = consortium["a"]
        node.start()
        answered = match_uploads(node, stored_values(node), "answered")
        node.kill()  # right after the last answer: no flush, no clean close
        node.start()
        assert {ref: logged(node, ref) for ref in answered} == {ref: [hit] for ref, hit in answered.items()}


def metric(port: int, name: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " "))


def test_batched_durability_keeps_every_match_the_log_counted_as_written(tmp_path: Path) -> None:
    port = free_port()
    extra = {"a": f'[matchlog]\nflush_ms = 100\n[metrics]\nlisten = "127.0.0.1:{port}"\n'}
    with LocalConsortium(tmp_path, names=("a",), extra=extra) as consortium:
        node = consortium["a"]
        node.start()
        answered = match_uploads(node, stored_values(node), "batched")
        eventually(
            lambda: metric(port, "hashnode_matchlog_logged_total") == CALLS
            and metric(port, "hashnode_matchlog_pending") == 0,
            "the match log to write the answered matches",
        )
        node.kill()
        node.start()
        assert {ref: logged(node, ref) for ref in answered} == {ref: [hit] for ref, hit in answered.items()}


def test_batched_durability_loses_what_a_crash_interrupts_before_the_flush(tmp_path: Path) -> None:
    # The window the documentation states, shown: nothing written for a minute, then SIGKILL.
    extra = {"a": "[matchlog]\nflush_ms = 60000\n"}
    with LocalConsortium(tmp_path, names=("a",), extra=extra) as consortium:
        node = consortium["a"]
        node.start()
        answered = match_uploads(node, stored_values(node), "unflushed")
        node.kill()
        node.start()
        assert {ref: logged(node, ref) for ref in answered} == {ref: [] for ref in answered}


def test_an_answered_match_the_store_cannot_log_fails_and_leaves_nothing_pending(tmp_path: Path) -> None:
    key = SigningKey.from_seed(bytes(range(32)))
    membership = Membership.from_members("c", [Member("a", "A", (MemberKey(key.public),))])
    settings = LedgerSettings("c", "a", map_size=1 << 20, match_log_answered=True)
    ledger = Ledger.open(tmp_path, settings=settings, membership=membership, signer=key, taxonomy=Taxonomy.default())
    try:
        value = bytes(range(32))
        ledger.submit([HashRecord("pdq", value, 90, ("tvec.propaganda",))])
        refused = None
        for i in range(5000):  # long content references fill the 1 MiB map within a few thousand calls
            try:
                ledger.match([Query("pdq", value, f"{i:06d}" + "x" * 500)])
            except ResourceExhausted as exc:
                refused = exc
                break
        assert refused is not None and "storage map is full" in refused.message
        assert ledger.match_log_counts()["pending"] == 0
    finally:
        ledger.store.close()
