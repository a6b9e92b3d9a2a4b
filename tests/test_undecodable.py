"""Entries that do not even parse are counted by reason (issue 12, item 1), not only logged.

`batch_from_proto` names why each entry or evidence record failed (`DecodeFailure`); the replica counts them;
`Admin.GetReplicationState` reports the counts beside the receipt rules' refusals.
"""

from __future__ import annotations

import pytest

from node.api.gen.hashnode.v1 import admin_pb2, peer_pb2, types_pb2
from node.api.peer_wire import batch_from_proto
from node.core.entry import DecodeFailure
from tests.conftest import RunningNode
from tests.replication_helpers import chain


def _signed(**changes: object) -> types_pb2.SignedEntry:
    entry = chain("alice", 1)[0]
    fields = {"header": entry.header_bytes, "signature": entry.signature, "items": list(entry.items)}
    fields.update(changes)
    return types_pb2.SignedEntry(**fields)  # type: ignore[arg-type]


CASES = {
    "header cut short": (_signed(header=chain("alice", 1)[0].header_bytes[:-1]), DecodeFailure.HEADER),
    "an item missing": (_signed(items=[]), DecodeFailure.ITEM_COUNT),
    "an item changed": (_signed(items=[b"\x00" * 40]), DecodeFailure.BODY_ROOT),
    "evidence of one entry": (None, DecodeFailure.EVIDENCE),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_undecodable_entry_is_named_by_reason(case: str) -> None:
    signed, reason = CASES[case]
    if signed is None:
        good = _signed()
        message = peer_pb2.EntryBatch(evidence=[peer_pb2.ForkEvidence(lower=good, upper=good)])
    else:
        message = peer_pb2.EntryBatch(entries=[signed, _signed()])
    batch = batch_from_proto(message)
    assert [u.reason for u in batch.undecodable] == [reason]
    assert len(batch.entries) == (0 if signed is None else 1)


def test_replication_state_counts_undecodable_entries_by_reason(node: RunningNode) -> None:
    replica = node.runtime.replica
    assert replica is not None
    failures = [("body_root_mismatch", "x"), ("body_root_mismatch", "y"), ("malformed_header", "z")]
    replica.count_undecodable("peer test", failures)
    state = node.admin.GetReplicationState(admin_pb2.ReplicationStateRequest())
    assert {c.key: c.count for c in state.undecodable} == {"body_root_mismatch": 2, "malformed_header": 1}
