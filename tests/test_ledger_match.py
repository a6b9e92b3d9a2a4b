"""Ledger.match answers what brute force over the store answers: every active record within the threshold (exact
types: equal), sorted by (distance, record id), whichever way it computes it (plain Python for small calls, numpy
for large ones), and queues exactly what it answered for the match log."""

from __future__ import annotations

import random

import pytest

from node.core.keys import SigningKey
from node.core.records import HashRecord
from node.core.taxonomy import Taxonomy
from node.ledger import ledger as ledger_module
from node.ledger.ledger import Ledger, LedgerSettings, MatchResults, Query
from node.membership.members import Member, MemberKey, Membership
from node.storage import store as store_module
from node.storage.matchlog import LmdbMatchLog

KEY = SigningKey.from_seed(bytes(range(32)))
MEMBERSHIP = Membership.from_members("c", [Member("a", "A", (MemberKey(KEY.public),))])
LABELS = (("tvec.propaganda",), ("tvec.glorification", "tvec.propaganda"))
Stocked = tuple[Ledger, list[tuple[bytes, HashRecord]]]


def flip(value: bytes, bits: int, rng: random.Random) -> bytes:
    as_int = int.from_bytes(value, "big")
    for bit in rng.sample(range(256), bits):
        as_int ^= 1 << bit
    return as_int.to_bytes(32, "big")


@pytest.fixture(scope="module")
def stocked(tmp_path_factory: pytest.TempPathFactory) -> Stocked:
    """A ledger with families of near-duplicate PDQ records, MD5 records (some repeated), some retracted."""
    rng = random.Random(3)
    ledger = Ledger.open(
        tmp_path_factory.mktemp("ledger"),
        settings=LedgerSettings("c", "a"),
        membership=MEMBERSHIP,
        signer=KEY,
        taxonomy=Taxonomy.default(),
    )
    seeds = [rng.randbytes(32) for _ in range(30)]
    records = [
        HashRecord("pdq", flip(rng.choice(seeds), rng.randrange(12), rng), 90, rng.choice(LABELS)) for _ in range(600)
    ]
    md5s = [rng.randbytes(16) for _ in range(20)]
    records += [HashRecord("md5", rng.choice(md5s), 0, rng.choice(LABELS)) for _ in range(60)]
    ids = ledger.submit(records).record_ids
    retracted = set(rng.sample(ids, 40))
    ledger.retract(sorted(retracted), "test")
    stored = [(rid, record) for rid, record in zip(ids, records, strict=True) if rid not in retracted]
    return ledger, stored


def brute_force(stored: list[tuple[bytes, HashRecord]], query: Query, threshold: int) -> list[tuple[int, bytes]]:
    found = []
    for rid, record in stored:
        if record.signal_type != query.signal_type:
            continue
        distance = (int.from_bytes(record.value, "big") ^ int.from_bytes(query.value, "big")).bit_count()
        if distance <= (threshold if query.signal_type == "pdq" else 0):
            found.append((distance, rid))
    return sorted(found)


def answers(results: MatchResults) -> list[list[tuple[int, bytes]]]:
    return [[(hit.distance, hit.record_id) for hit in hits] for hits in results]


def queries(stored: list[tuple[bytes, HashRecord]], count: int, seed: int) -> list[Query]:
    rng = random.Random(seed)
    asked = []
    for i in range(count):
        _, record = rng.choice(stored)
        if record.signal_type == "md5":
            asked.append(Query("md5", record.value if i % 3 else rng.randbytes(16), f"{seed}/upload-{i}"))
        else:
            asked.append(Query("pdq", flip(record.value, rng.randrange(40), rng), f"{seed}/upload-{i}"))
    return asked


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled rows", "rows in Python"])
@pytest.mark.parametrize("small", [0, 10**9], ids=["numpy", "plain Python"])
def test_matches_are_what_brute_force_finds_in_order(
    stocked: Stocked, small: int, compiled: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger, stored = stocked
    monkeypatch.setattr(ledger_module, "SMALL_MATCH", small)
    if not compiled:
        monkeypatch.setattr(store_module, "compiled_scan", None)
    asked = queries(stored, 200, seed=small % 97)
    results = ledger.match(asked, 24)
    assert answers(results) == [brute_force(stored, q, 24) for q in asked]
    assert sum(map(len, answers(results))) > 200  # families: queries match several records
    for hits in results:
        assert all(h.labels in LABELS and h.author == "a" and h.query_id == hits[0].query_id for h in hits)
        assert all(ledger.record(h.record_id).record.value for h in hits)


def test_one_hash_calls_answer_as_the_same_hashes_in_one_batch(
    stocked: Stocked,
) -> None:
    ledger, stored = stocked
    asked = queries(stored, 60, seed=11)
    assert [answers(ledger.match([q]))[0] for q in asked] == answers(ledger.match(asked))


def test_the_log_gets_exactly_what_was_answered(stocked: Stocked) -> None:
    ledger, stored = stocked
    ledger.flush_match_log()
    asked = queries(stored, 50, seed=5)
    results = ledger.match(asked)
    ledger.flush_match_log()
    with ledger.store.read() as txn:
        log = LmdbMatchLog(ledger.store, txn)
        for query, hits, query_id in zip(asked, results, results.query_ids, strict=True):
            logged = log.of_content(query.content_ref)
            assert sorted((e.distance, e.record_id, e.query_id) for e in logged) == sorted(
                (h.distance, h.record_id, query_id) for h in hits
            )
            assert (query_id != "") == bool(hits)
