"""The change feed (ExportRecords with `changes`): every record once when stored and again at each change, so that
a mirror that keeps its cursor learns of retractions, overturns and opinions at its next fetch."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from node.api.gen.hashnode.v1 import client_pb2, types_pb2
from node.core.entry import ZERO_ID, Entry, EntryKind, sign_entry
from node.core.keys import SigningKey
from node.core.records import HashRecord, record_id
from node.storage.integrity import check_store
from node.storage.store import NewRecord, Status, Store
from tests.conftest import NodeFactory, RunningNode, node_config

LABEL = "tvec.propaganda"
CONSORTIUM = "feed-test"
ACTIVE, RETRACTED, OVERTURNED = (
    types_pb2.RECORD_STATUS_ACTIVE,
    types_pb2.RECORD_STATUS_RETRACTED,
    types_pb2.RECORD_STATUS_OVERTURNED,
)


def pdq(i: int) -> types_pb2.HashRecord:
    return types_pb2.HashRecord(signal_type="pdq", value=f"{i:08x}" + "0f" * 28, quality=90, labels=[LABEL])


def submit(node: RunningNode, *records: types_pb2.HashRecord) -> list[str]:
    return list(node.client.Submit(client_pb2.SubmitRequest(records=records)).record_ids)


Feed = tuple[list[tuple[str, int]], int, list[client_pb2.RecordOpinion]]


def feed(node: RunningNode, after: int = 0, **fields: object) -> Feed:
    """(record id, status) in feed order, the cursor after them, and the opinions the batches carried."""
    request = client_pb2.ExportRequest(after_cursor=after, changes=True, **fields)  # type: ignore[arg-type]
    seen, opinions, cursor = [], [], after
    for batch in node.client.ExportRecords(request):
        seen += [(info.record_id, info.status) for info in batch.records]
        opinions += list(batch.opinions)
        cursor = batch.next_cursor
    return seen, cursor, opinions


def own_entries(node: RunningNode) -> list[Entry]:
    store = node.ledger.store
    with store.read() as txn:
        return list(store.log(txn, node.ledger.settings.member_id, 1))


def deliver(source: RunningNode, target: RunningNode) -> None:
    """What replication does: the source member's log, received by the target."""
    assert target.runtime.replica is not None
    outcome = target.runtime.replica.receive(own_entries(source))
    assert not outcome.rejected, outcome


@pytest.fixture
def pair(node_factory: NodeFactory, tmp_path: Path) -> tuple[RunningNode, RunningNode]:
    return node_factory(), node_factory(node_config(tmp_path / "b", "platform-b"))


def test_the_feed_lists_every_record_in_store_order_then_each_change(node: RunningNode) -> None:
    first, second = submit(node, pdq(1), pdq(2))
    listed, cursor, _ = feed(node)
    assert listed == [(first, ACTIVE), (second, ACTIVE)]
    node.client.Retract(client_pb2.RetractRequest(record_ids=[first], reason="mistake"))
    (third,) = submit(node, pdq(3))
    later, _, _ = feed(node, cursor)
    assert later == [(first, RETRACTED), (third, ACTIVE)], "the retraction, then the new record"
    everything, _, _ = feed(node)
    assert everything == [(first, RETRACTED), (second, ACTIVE), (third, ACTIVE)], "as they stand, each once"


def test_a_resumed_feed_reads_nothing_when_nothing_changed(node: RunningNode) -> None:
    submit(node, pdq(1))
    _, cursor, _ = feed(node)
    assert feed(node, cursor) == ([], cursor, [])


def test_an_opinion_puts_the_record_back_on_the_feed_with_the_opinion(
    pair: tuple[RunningNode, RunningNode],
) -> None:
    a, b = pair
    (theirs,) = submit(b, pdq(7))
    deliver(b, a)
    _, cursor, _ = feed(a)
    a.client.Opine(client_pb2.OpineRequest(record_id=theirs, stance=client_pb2.STANCE_FALSE_POSITIVE))
    listed, _, opinions = feed(a, cursor, include_opinions=True)
    assert listed == [(theirs, ACTIVE)]
    assert [(o.record_id, o.member_id, o.stance) for o in opinions] == [
        (theirs, "platform-a", client_pb2.STANCE_FALSE_POSITIVE)
    ]
    a.client.Opine(client_pb2.OpineRequest(record_id=theirs, stance=client_pb2.STANCE_AGREE))
    _, _, replaced = feed(a, cursor, include_opinions=True)
    assert [o.stance for o in replaced] == [client_pb2.STANCE_AGREE], "a member's latest opinion replaces its last"


def test_an_overturn_on_appeal_reaches_the_feed(pair: tuple[RunningNode, RunningNode]) -> None:
    a, b = pair
    (mine,) = submit(a, pdq(9))
    deliver(a, b)
    appeal = b.client.Appeal(client_pb2.AppealRequest(record_id=mine, case_ref="CASE-1"))
    deliver(b, a)
    _, cursor, _ = feed(a)
    a.client.Decide(
        client_pb2.DecideRequest(appeal_entry_id=appeal.entry_id, outcome=client_pb2.OUTCOME_OVERTURNED, reason="r")
    )
    listed, _, _ = feed(a, cursor)
    assert listed == [(mine, OVERTURNED)]


def test_without_opinions_asked_for_batches_carry_none(pair: tuple[RunningNode, RunningNode]) -> None:
    a, b = pair
    (theirs,) = submit(b, pdq(7))
    deliver(b, a)
    a.client.Opine(client_pb2.OpineRequest(record_id=theirs, stance=client_pb2.STANCE_AGREE))
    assert feed(a)[2] == []


def test_a_cursor_beyond_the_feed_is_refused(node: RunningNode) -> None:
    submit(node, pdq(1))
    _, cursor, _ = feed(node)
    with pytest.raises(grpc.RpcError) as caught:
        feed(node, cursor + 1)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (caught.value.details() or "").startswith(f"after_cursor: got {cursor + 1}, want at most {cursor}")


def test_a_store_written_before_the_feed_existed_serves_its_records_as_the_feed_start(tmp_path: Path) -> None:
    """A store of an earlier version has records and no feed: they are its first positions, and what changes
    after the upgrade follows them."""
    path = tmp_path / "store"
    store = Store.open(path, consortium_id=CONSORTIUM)
    _write_records(store, 3)
    with store.write() as txn:  # what a store of the earlier version lacks
        txn.drop(store.db("changes"), delete=False)
        txn.delete(b"changes_base", db=store.db("meta"))
    store.close()
    upgraded = Store.open(path, consortium_id=CONSORTIUM)
    try:
        with upgraded.read() as txn:
            assert list(upgraded.changes_from(txn, 0)) == [(0, 0), (1, 1), (2, 2)]
            assert upgraded.feed_end(txn) == 3
            row = upgraded.record(txn, 1)
        assert row is not None
        with upgraded.write() as txn:
            upgraded.set_status(txn, row, Status.RETRACTED)
        with upgraded.read() as txn:
            assert list(upgraded.changes_from(txn, 2)) == [(2, 2), (3, 1)]
    finally:
        upgraded.close()


def _write_records(store: Store, count: int) -> None:
    records = [HashRecord("pdq", bytes([i]) * 32, 90, (LABEL,)) for i in range(count)]
    entry = sign_entry(
        SigningKey.from_seed(bytes(32)),
        consortium_id=CONSORTIUM,
        author="platform-a",
        seq=1,
        prev=ZERO_ID,
        timestamp_ms=1,
        kind=EntryKind.CONTRIBUTION,
        items=[r.encode() for r in records],
    )
    with store.write() as txn:
        store.put_entry(txn, entry)
        new = [NewRecord(record_id(entry.entry_id, i), i, r, r.encode()) for i, r in enumerate(records)]
        store.put_records(txn, entry, new)


def test_the_offline_check_finds_a_feed_that_lost_a_record(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "store", consortium_id=CONSORTIUM)
    try:
        _write_records(store, 3)
        assert check_store(store).ok
        with store.write() as txn:
            txn.delete((1).to_bytes(8, "big"), db=store.db("changes"))
        report = check_store(store)
        assert report.problems == [
            "change feed: position 2 follows 0",
            "change feed: 1 records were never on it",
        ]
    finally:
        store.close()
