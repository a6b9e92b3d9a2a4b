"""The LMDB match log agrees with its model (`MemoryMatchLog`); notices are numbered, kept and pruned."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.core.errors import InvalidArgument
from node.dueprocess.matchlog import MatchLogEntry, MemoryMatchLog, ReinstateNotice, reinstate_notices
from node.storage.matchlog import LmdbMatchLog, MatchBatch, MatchRecorder, NoticeBook, new_query_id, notices_for
from node.storage.store import Store

R = [bytes([i]) * 32 for i in range(1, 5)]
T = 1_700_000_000_000
QUERIES = [f"{i:016x}" for i in range(1, 7)]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "lmdb", map_size=1 << 26, consortium_id="c")
    yield opened
    opened.close()


def _entries() -> st.SearchStrategy[list[MatchLogEntry]]:
    """Entries as matching produces them: one row per (query, record), a query's rows share time and ref."""
    query = st.tuples(
        st.integers(0, 50), st.sampled_from(QUERIES), st.sampled_from(["", "post/1", "post/2", "vid/9"])
    )
    hits = st.lists(
        st.tuples(st.sampled_from(R), st.integers(0, 31)), min_size=1, max_size=3, unique_by=lambda h: h[0]
    )
    return st.lists(st.tuples(query, hits), max_size=12, unique_by=lambda q: q[0][1]).map(
        lambda queries: [
            MatchLogEntry(T + t, rid, d, ref, qid) for (t, qid, ref), hs in queries for rid, d in hs
        ]
    )


@settings(max_examples=40, deadline=None)
@given(entries=_entries(), since=st.integers(0, 50), prune=st.integers(0, 50))
def test_lmdb_log_agrees_with_the_model(entries: list[MatchLogEntry], since: int, prune: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp), map_size=1 << 24, consortium_id="c")
        try:
            model = MemoryMatchLog(entries)
            with store.write() as txn:
                LmdbMatchLog(store, txn).append(entries)
            with store.read() as txn:
                log = LmdbMatchLog(store, txn)
                assert list(log.since(T + since)) == list(model.since(T + since))
                assert list(log.since(T + since, [R[0]])) == list(model.since(T + since, [R[0]]))
                assert reinstate_notices(log, [R[0]], T + since) == reinstate_notices(
                    model, [R[0]], T + since
                )
                # The neighbourhood of a record is enough to compute its notices.
                assert notices_for(log, R[0], T + since, lambda _: False) == reinstate_notices(
                    model, [R[0]], T + since
                )
            with store.write() as txn:
                assert LmdbMatchLog(store, txn).prune(T + prune) == model.prune(T + prune)
            with store.read() as txn:
                assert list(LmdbMatchLog(store, txn).since(0)) == list(model.since(0))
                assert list(LmdbMatchLog(store, txn).since(0, [R[1]])) == list(model.since(0, [R[1]]))
        finally:
            store.close()


def test_writing_an_entry_twice_stores_it_once(store: Store) -> None:
    entry = MatchLogEntry(T, R[0], 3, "post/1", QUERIES[0])
    for _ in range(2):
        with store.write() as txn:
            LmdbMatchLog(store, txn).append([entry])
    with store.read() as txn:
        log = LmdbMatchLog(store, txn)
        assert list(log.since(0)) == [entry]
        assert log.of_content("post/1") == [entry]


def test_a_query_id_must_be_one_this_node_issued(store: Store) -> None:
    with store.write() as txn, pytest.raises(InvalidArgument, match="query_id"):
        LmdbMatchLog(store, txn).append([MatchLogEntry(T, R[0], 0, "", "not-hex")])
    assert len(new_query_id()) == 16


def test_records_already_gone_are_listed_as_overturned_not_as_still_matched(store: Store) -> None:
    entries = [
        MatchLogEntry(T, R[0], 1, "post/1", QUERIES[0]),
        MatchLogEntry(T, R[1], 2, "post/1", QUERIES[0]),
    ]
    with store.write() as txn:
        LmdbMatchLog(store, txn).append(entries)
    with store.read() as txn:
        log = LmdbMatchLog(store, txn)
        [alone] = notices_for(log, R[0], 0, lambda rid: False)
        [both] = notices_for(log, R[0], 0, lambda rid: rid == R[1])
    assert (alone.overturned, alone.still_matched, alone.cleared) == ((R[0],), (R[1],), False)
    assert (both.overturned, both.still_matched, both.cleared) == ((R[0], R[1]), (), True)


NOTICE = ReinstateNotice("post/1", (R[0],), (), (QUERIES[0],), T, T + 5)


def test_notices_are_numbered_in_issue_order_and_listed_after_a_number(store: Store) -> None:
    with store.write() as txn:
        first = NoticeBook(store, txn).issue(
            [NOTICE, NOTICE], created_ms=T, cause=R[0], standing="overturned"
        )
    with store.write() as txn:
        second = NoticeBook(store, txn).issue([NOTICE], created_ms=T + 9, cause=R[1], standing="retracted")
    assert [n.number for n in first + second] == [1, 2, 3]
    with store.read() as txn:
        book = NoticeBook(store, txn)
        assert book.after(0, 10) == first + second
        assert book.after(1, 1) == first[1:]
        assert book.after(3, 10) == []
    with store.write() as txn:
        assert NoticeBook(store, txn).prune(T + 1) == 2
    with store.read() as txn:
        assert NoticeBook(store, txn).after(0, 10) == second


def test_the_recorder_keeps_entries_pending_until_their_transaction_committed(store: Store) -> None:
    recorder = MatchRecorder()
    [batch] = MatchBatch.of_entries([MatchLogEntry(T, R[0], 0, "", QUERIES[0])])
    recorder.add(batch)
    with pytest.raises(RuntimeError), store.write() as txn:
        recorder.write(LmdbMatchLog(store, txn))
        raise RuntimeError("aborted")
    assert len(recorder) == 1
    with store.write() as txn:
        batch = recorder.write(LmdbMatchLog(store, txn))
    recorder.written(batch)
    assert len(recorder) == 0
    with store.read() as txn:
        assert len(list(LmdbMatchLog(store, txn).since(0))) == 1
