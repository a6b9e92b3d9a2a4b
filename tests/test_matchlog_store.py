"""The LMDB match log agrees with its model (`MemoryMatchLog`); notices are numbered, kept and pruned."""

from __future__ import annotations

import hashlib
import random
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.core.canonical import Writer
from node.core.errors import InvalidArgument
from node.dueprocess.matchlog import MatchLogEntry, MemoryMatchLog, ReinstateNotice, reinstate_notices
from node.storage.matchlog import (
    BY_CONTENT,
    BY_QUERY,
    BY_RECORD,
    RUN_PAGE,
    LmdbMatchLog,
    MatchBatch,
    MatchRecorder,
    NoticeBook,
    new_query_id,
    notices_for,
)
from node.storage.store import Store, Txn, u64

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


# --- runs: the lookups by record, content and query id ------------------------------------------------------


def test_many_flushes_merge_their_runs_and_every_lookup_still_finds_every_match(store: Store) -> None:
    rng = random.Random(5)
    model = MemoryMatchLog()
    for flush in range(100):  # each flush writes one run per kind; merges keep the count down
        queries = [(f"{flush * 10 + q:016x}", rng.choice(["", f"post/{rng.randrange(40)}"])) for q in range(3)]
        entries = [
            MatchLogEntry(T + flush, rid, rng.randrange(32), content_ref, query_id)
            for query_id, content_ref in queries
            for rid in rng.sample(R, rng.randrange(1, len(R) + 1))
        ]
        with store.write() as txn:
            LmdbMatchLog(store, txn).append(entries)
        model.append(entries)
    with store.read() as txn:
        log = LmdbMatchLog(store, txn)
        runs = sum(1 for kind in (BY_RECORD, BY_CONTENT, BY_QUERY) for _ in log._headers(kind))
        assert runs < 3 * 20
        for rid in R:
            assert list(log.since(T + 30, [rid])) == list(model.since(T + 30, [rid]))
        for ref in {e.content_ref for e in model.since(0)} - {""}:  # no reference: found by query id
            assert log.of_content(ref) == [e for e in model.since(0) if e.content_ref == ref]
        some = next(iter(model.since(T + 50)))
        assert log.of_query_id(some.query_id) == [e for e in model.since(0) if e.query_id == some.query_id]


def test_a_record_matched_by_more_queries_than_a_page_holds_is_found_in_every_page(store: Store) -> None:
    queries = RUN_PAGE * 2 + 17
    batch = MatchBatch(T, secrets.token_bytes(8 * queries), [""] * queries, list(range(queries + 1)), [R[0], R[1]],
                       [0] * (queries - 1) + [1], [3] * queries)
    with store.write() as txn:
        LmdbMatchLog(store, txn).write([batch])
    with store.read() as txn:
        log = LmdbMatchLog(store, txn)
        assert len(list(log.since(0, [R[0]]))) == queries - 1
        assert [e.query_id for e in log.since(0, [R[1]])] == [batch.query_ids[-1]]


def _write_old_layout(txn: Txn, store: Store, entries: list[MatchLogEntry]) -> None:
    """Rows and per-hit indexes as stores written before runs hold them."""
    for e in entries:
        position = u64(e.time_ms) + bytes.fromhex(e.query_id)
        row = Writer().u16(e.distance).string(e.content_ref).getvalue()
        txn.put(position + e.record_id, row, db=store.db("matchlog"))
        txn.put(e.record_id, position, db=store.db("matchlog_rec"))
        txn.put(bytes.fromhex(e.query_id), u64(e.time_ms), db=store.db("matchlog_qid"))
        if e.content_ref:
            txn.put(hashlib.sha256(e.content_ref.encode()).digest(), position, db=store.db("matchlog_ref"))


def test_a_store_written_before_runs_is_read_and_pruned_with_the_new_matches(store: Store) -> None:
    old = [MatchLogEntry(T, R[0], 1, "post/1", QUERIES[0]), MatchLogEntry(T, R[1], 2, "post/1", QUERIES[0])]
    new = [MatchLogEntry(T + 10, R[0], 4, "post/1", QUERIES[1])]
    with store.write() as txn:
        _write_old_layout(txn, store, old)
        LmdbMatchLog(store, txn).append(new)
    with store.read() as txn:
        log = LmdbMatchLog(store, txn)
        assert list(log.since(0)) == old + new
        assert list(log.since(0, [R[0]])) == [old[0], new[0]]
        assert log.of_content("post/1") == old + new
        assert log.of_query_id(QUERIES[0]) == old
        [notice] = notices_for(log, R[0], 0, lambda _: False)
        assert (notice.overturned, notice.still_matched) == ((R[0],), (R[1],))
    with store.write() as txn:
        assert LmdbMatchLog(store, txn).prune(T + 5) == 2
    with store.read() as txn:
        log = LmdbMatchLog(store, txn)
        assert list(log.since(0)) == new and log.of_query_id(QUERIES[0]) == []
        assert list(log.since(0, [R[1]])) == [] and log.of_content("post/1") == new
        for table in ("matchlog_rec", "matchlog_ref", "matchlog_qid"):
            assert txn.stat(store.db(table))["entries"] == 0


def test_a_notice_keeps_the_statements_it_names_and_one_stored_before_them_reads_as_naming_none(
    store: Store,
) -> None:
    naming = replace(NOTICE, statement_ids=("sor-00000000000000a1", "sor-00000000000000a2"))
    with store.write() as txn:
        NoticeBook(store, txn).issue([naming, NOTICE], created_ms=T, cause=R[0], standing="overturned")
        # A notice as versions before statements of reasons stored it: its bytes end after last_matched_ms.
        db = store.db("notices")
        txn.put((3).to_bytes(8, "big"), bytes(txn.get((2).to_bytes(8, "big"), db=db))[:-2], db=db)
    with store.read() as txn:
        stored = NoticeBook(store, txn).after(0, 10)
    assert [n.notice.statement_ids for n in stored] == [naming.statement_ids, (), ()]
    assert stored[2].notice == NOTICE
