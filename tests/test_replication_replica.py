"""The store-backed replica (node/ledger/replica.py) over real LMDB: named receipt cases, then a
property: fed the same deliveries, it ends in the state of the reference model `LogSet`."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from replication_helpers import (
    CONSORTIUM,
    EVERYONE,
    KEYS,
    NOW,
    WITHOUT_CAROL,
    chain,
    forged,
    open_ledger,
    record_item,
    sign,
)

from node.core.entry import Entry, EntryKind
from node.core.records import HashRecord
from node.core.retraction import RetractionItem
from node.ledger.ledger import Ledger, Query
from node.ledger.replica import REFUSED_KEY, PeerPosition, Replica
from node.replication.evidence import ForkEvidence, ForkKind
from node.replication.frontier import AuthorHead, AuthorRange, Frontier
from node.replication.reconcile import Limits, LogSet, ReceiveOutcome
from node.replication.validate import RejectReason

ALICE = chain("alice", 6)
BOB = chain("bob", 4)
CAROL = chain("carol", 2)
ALICE_FORK = chain("alice", 2, tag=b"fork ", after=ALICE[1])  # seqs 3..4 on alice's entry 2


TABLES = (
    "entries",
    "logs",
    "heads",
    "records",
    "rids",
    "exact",
    "pdq",
    "related",
    "counts",
    "state",
    "evidence",
)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    opened = open_ledger(tmp_path / "node")
    yield opened
    opened.close()


@pytest.fixture
def replica(ledger: Ledger) -> Replica:
    return Replica(ledger)


def snapshot(replica: Replica) -> tuple[object, ...]:
    """Everything a received entry could change in the store, apart from the memory of refused logs (a
    permanent refusal writes it on purpose: `test_refused_entries.py`)."""
    store = replica.store
    with store.read() as txn:
        sizes = [txn.stat(store.db(name))["entries"] for name in TABLES]
        sizes[TABLES.index("state")] -= store.get_state(txn, REFUSED_KEY) is not None
        return (*sizes, store.counts(txn), store.heads(txn))


def ids(entries: list[Entry]) -> list[bytes]:
    return [e.entry_id for e in entries]


def reasons(outcome: ReceiveOutcome) -> list[RejectReason]:
    return [r.reason for r in outcome.rejected]


# --- applying -----------------------------------------------------------------------------------------------


def test_entries_in_order_are_applied_and_matchable(replica: Replica, ledger: Ledger) -> None:
    seen: list[Entry] = []
    ledger.on_commit(seen.append)
    outcome = replica.receive(ALICE[:2])
    assert ids(outcome.applied) == ids(ALICE[:2]) == ids(seen)
    head = replica.head("alice")
    assert head is not None and (head.seq, head.entry_id) == (2, ALICE[1].entry_id)
    pdq = HashRecord.decode(ALICE[1].items[0])  # even seqs carry a PDQ record
    (hits,) = ledger.match([Query("pdq", pdq.value)])
    assert [ledger.record(h.record_id).entry_id for h in hits] == [ALICE[1].entry_id]
    md5 = HashRecord.decode(ALICE[0].items[0])
    (hits,) = ledger.match([Query("md5", md5.value)])
    assert [h.author for h in hits] == ["alice"]


def test_a_duplicate_and_a_replayed_old_entry_write_nothing(replica: Replica) -> None:
    replica.receive(ALICE[:3])
    before = snapshot(replica)
    outcome = replica.receive([ALICE[2], ALICE[0]])
    assert (outcome.applied, outcome.duplicates, outcome.rejected) == ([], 2, [])
    assert snapshot(replica) == before


@pytest.mark.parametrize(
    ("name", "entry", "reason"),
    [
        ("forged signature", forged(ALICE[0]), RejectReason.FORGED_SIGNATURE),
        (
            "wrong consortium",
            sign("alice", 1, bytes(32), [record_item("alice", 1)], consortium="another-consortium"),
            RejectReason.WRONG_CONSORTIUM,
        ),
        (
            "signed by another member's key",
            sign("alice", 1, bytes(32), [record_item("alice", 1)], signer=KEYS["bob"]),
            None,  # bob's key id is not one of alice's keys: pending (a later roster may add it), not applied
        ),
        (
            "from the future",
            sign("alice", 1, bytes(32), [b"x"], timestamp_ms=NOW + 3_600_000),
            RejectReason.FUTURE_TIMESTAMP,
        ),
    ],
)
def test_refused_entries_write_nothing(
    replica: Replica, name: str, entry: Entry, reason: RejectReason | None
) -> None:
    before = snapshot(replica)
    outcome = replica.receive([entry])
    assert outcome.applied == []
    assert reasons(outcome) == ([reason] if reason else [])
    assert snapshot(replica) == before
    if reason:
        assert replica.rejected[reason] == 1


@pytest.mark.parametrize(
    ("name", "item", "detail"),
    [
        ("undecodable bytes", b"\x00\x03pdq\xff", "record item"),
        ("unknown signal type", HashRecord("tlsh", bytes(35), 0, ("x",)).encode(), "signal_type: got 'tlsh'"),
        ("wrong size for its type", HashRecord("md5", bytes(20), 0, ("x",)).encode(), "value: got 20 bytes"),
        ("labels out of order", HashRecord("md5", bytes(16), 0, ("b", "a")).encode(), "not sorted"),
    ],
)
def test_a_contribution_with_a_malformed_item_is_rejected_and_writes_nothing(
    replica: Replica, name: str, item: bytes, detail: str
) -> None:
    entry = sign("alice", 1, bytes(32), [record_item("alice", 1), item])
    before = snapshot(replica)
    outcome = replica.receive([entry])
    assert reasons(outcome) == [RejectReason.MALFORMED_ITEM]
    assert detail in outcome.rejected[0].detail and "items[1]" in outcome.rejected[0].detail
    assert snapshot(replica) == before


def test_an_author_whose_signed_entry_is_refused_is_not_fetched_again(replica: Replica) -> None:
    replica.receive(ALICE[:1])
    remote = Frontier.of([AuthorHead("alice", 6, ALICE[5].entry_id)])
    malformed = sign("alice", 2, ALICE[0].entry_id, [b"not a record"])
    assert reasons(replica.receive([malformed])) == [RejectReason.MALFORMED_ITEM]
    assert replica.missing_ranges(remote) == []  # the rest of alice's log could not be applied
    replica.update_membership(EVERYONE)  # a new roster: ask again
    assert replica.missing_ranges(remote) == [AuthorRange("alice", 2, 6)]


def test_a_forged_entry_does_not_stop_the_author_being_fetched(replica: Replica) -> None:
    replica.receive(ALICE[:1])
    assert reasons(replica.receive([forged(ALICE[1])])) == [RejectReason.FORGED_SIGNATURE]
    remote = Frontier.of([AuthorHead("alice", 6, ALICE[5].entry_id)])
    assert replica.missing_ranges(remote) == [AuthorRange("alice", 2, 6)]


def test_a_malformed_retraction_is_rejected(replica: Replica) -> None:
    replica.receive(ALICE[:1])
    entry = sign("alice", 2, ALICE[0].entry_id, [b"not a retraction"], kind=EntryKind.RETRACTION)
    assert reasons(replica.receive([entry])) == [RejectReason.MALFORMED_ITEM]


def test_a_replicated_retraction_removes_the_record_from_matching(replica: Replica, ledger: Ledger) -> None:
    from node.core.records import record_id

    rid = record_id(ALICE[1].entry_id, 0)
    retraction = sign(
        "alice", 3, ALICE[1].entry_id, [RetractionItem(rid, "mistake").encode()], kind=EntryKind.RETRACTION
    )
    # In one batch: the record is added and retracted; the index must end without it.
    outcome = replica.receive([*ALICE[:2], retraction])
    assert len(outcome.applied) == 3
    pdq = HashRecord.decode(ALICE[1].items[0])
    assert list(ledger.match([Query("pdq", pdq.value)])) == [[]]


# --- buffers ------------------------------------------------------------------------------------------------


def test_a_gap_is_buffered_reported_and_drained_when_it_closes(replica: Replica) -> None:
    replica.receive(ALICE[:1])
    before = snapshot(replica)
    outcome = replica.receive([ALICE[3], ALICE[2]])
    assert (outcome.applied, outcome.buffered) == ([], 2)
    assert outcome.missing == [AuthorRange("alice", 2, 2)]
    assert snapshot(replica) == before and replica.buffered_count() == 2
    outcome = replica.receive([ALICE[1]])
    assert ids(outcome.applied) == ids(ALICE[1:4])
    assert replica.buffered_count() == 0 and outcome.missing == []


def test_the_gap_buffer_is_bounded(ledger: Ledger) -> None:
    replica = Replica(ledger, limits=Limits(gap_per_author=2, gap_total=3))
    outcome = replica.receive([ALICE[5], ALICE[4], ALICE[3], BOB[3], BOB[2]])
    # alice's 6 makes way for 4 (nearest the head drains first); bob's 3 finds the whole buffer full
    assert outcome.buffered == 4 and outcome.dropped == 2
    assert replica.buffered_count() == 3
    outcome = replica.receive([*ALICE[:3], *BOB[:2]])
    assert ids(outcome.applied) == ids([*ALICE[:5], *BOB[:2]])
    assert outcome.missing == [AuthorRange("bob", 3, 3)]


def test_an_unknown_author_is_pending_until_the_roster_admits_it(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path / "node", WITHOUT_CAROL)
    try:
        replica = Replica(ledger)
        before = snapshot(replica)
        outcome = replica.receive(CAROL)
        assert (outcome.applied, outcome.pending) == ([], 2)
        assert snapshot(replica) == before and replica.pending_count() == 2
        assert replica.missing_ranges(Frontier.of([AuthorHead("carol", 2, CAROL[1].entry_id)])) == []
        outcome = replica.update_membership(EVERYONE)
        assert ids(outcome.applied) == ids(CAROL) and replica.pending_count() == 0
    finally:
        ledger.close()


# --- forks --------------------------------------------------------------------------------------------------


def test_equivocation_keeps_both_entries_as_evidence_and_the_first_in_the_log(replica: Replica) -> None:
    replica.receive(ALICE[:3])
    outcome = replica.receive([ALICE_FORK[0]])  # another entry at seq 3
    assert outcome.applied == []
    (evidence,) = outcome.new_evidence
    assert evidence.kind is ForkKind.SAME_SEQ
    assert {e.entry_id for e in evidence.entries()} == {ALICE[2].entry_id, ALICE_FORK[0].entry_id}
    head = replica.head("alice")
    assert head is not None and head.entry_id == ALICE[2].entry_id
    assert [e.evidence_id for e in replica.evidence()] == [evidence.evidence_id]
    assert replica.evidence_for([evidence.evidence_id]) == [evidence]
    # The author is frozen: its next entry is refused, and a peer's frontier asks for nothing of it.
    assert reasons(replica.receive([ALICE[3]])) == [RejectReason.CONVICTED_AUTHOR]
    assert replica.missing_ranges(Frontier.of([AuthorHead("alice", 6, ALICE[5].entry_id)])) == []


def test_a_wrong_previous_is_broken_link_evidence(replica: Replica) -> None:
    replica.receive(ALICE[:3])
    wrong = sign("alice", 4, ALICE_FORK[0].entry_id, [record_item("alice", 4, b"other")])
    outcome = replica.receive([wrong])
    assert outcome.applied == []
    (evidence,) = outcome.new_evidence
    assert evidence.kind is ForkKind.BROKEN_LINK
    assert (evidence.lower.entry_id, evidence.upper.entry_id) == (ALICE[2].entry_id, wrong.entry_id)


def test_evidence_and_conviction_survive_a_restart_and_the_buffers_do_not(tmp_path: Path) -> None:
    ledger = open_ledger(tmp_path / "node")
    replica = Replica(ledger)
    replica.receive([*ALICE[:3], ALICE_FORK[0], BOB[3]])
    digest = replica.state_digest()
    ledger.close()
    ledger = open_ledger(tmp_path / "node")
    try:
        again = Replica(ledger)
        assert again.is_convicted("alice") and again.buffered_count() == 0
        assert again.state_digest() == digest
        assert len(again.evidence()) == 1
    finally:
        ledger.close()


def test_evidence_from_a_peer_is_verified_before_it_is_kept(replica: Replica) -> None:
    good = ForkEvidence.of(ALICE[2], ALICE_FORK[0])
    bad = ForkEvidence.of(ALICE[2], forged(ALICE_FORK[0]))
    outcome = replica.receive_evidence([bad])
    assert len(outcome.invalid_evidence) == 1 and replica.evidence() == []
    outcome = replica.receive_evidence([good, good])
    assert outcome.new_evidence == [good] and outcome.duplicates == 1
    assert replica.is_convicted("alice")


def test_evidence_against_the_nodes_own_member_stops_authoring(replica: Replica, ledger: Ledger) -> None:
    assert ledger.settings.member_id == "alice" and ledger.authoring_blocked_reason is None
    pushed: list[ForkEvidence] = []
    replica.on_evidence(pushed.append)
    replica.receive([*ALICE[:3], ALICE_FORK[0]])
    assert len(pushed) == 1
    assert ledger.authoring_blocked_reason is not None and "fork evidence" in ledger.authoring_blocked_reason


# --- the checkpoint -----------------------------------------------------------------------------------------


def test_the_peer_position_commits_with_the_batch_or_not_at_all(
    replica: Replica, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    position = PeerPosition("bob-node", Frontier.of([AuthorHead("alice", 3, ALICE[2].entry_id)]), NOW)
    replica.receive(ALICE[:1], position=position)
    assert replica.peer_position("bob-node") == position

    later = PeerPosition("bob-node", Frontier.of([AuthorHead("alice", 6, ALICE[5].entry_id)]), NOW + 1)
    real = ledger.apply_in_txn
    calls = []

    def failing(txn: object, entry: Entry, decoded: object = None) -> object:
        calls.append(entry)
        if len(calls) == 2:
            raise OSError("disk on fire")
        return real(txn, entry, decoded)  # type: ignore[arg-type]

    monkeypatch.setattr(ledger, "apply_in_txn", failing)
    before = snapshot(replica)
    with pytest.raises(OSError):
        replica.receive(ALICE[1:4], position=later)
    assert snapshot(replica) == before
    assert replica.peer_position("bob-node") == position


# --- the reference model ------------------------------------------------------------------------------------

MODEL_LIMITS = Limits(gap_per_author=2, gap_total=3, pending_total=2)
POOL = [
    *ALICE,
    *BOB,
    *CAROL,
    *ALICE_FORK,
    forged(BOB[1]),
    sign("bob", 1, bytes(32), [record_item("bob", 1)], consortium="another-consortium"),
    sign("bob", 5, BOB[3].entry_id, [record_item("bob", 5)], timestamp_ms=BOB[3].header.timestamp_ms - 1),
]
deliveries = st.lists(
    st.one_of(
        st.lists(st.sampled_from(range(len(POOL))), min_size=1, max_size=5),
        st.just("admit carol"),
        st.just("restart"),
    ),
    min_size=1,
    max_size=12,
)


def outcome_view(outcome: ReceiveOutcome) -> tuple[object, ...]:
    return (
        ids(outcome.applied),
        outcome.duplicates,
        outcome.buffered,
        outcome.pending,
        outcome.dropped,
        reasons(outcome),
        [e.evidence_id for e in outcome.new_evidence],
        outcome.missing,
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deliveries)
def test_the_replica_ends_where_the_reference_model_does(steps: list[list[int] | str]) -> None:
    model = LogSet(CONSORTIUM, WITHOUT_CAROL, limits=MODEL_LIMITS)
    with tempfile.TemporaryDirectory() as tmp:
        ledger = open_ledger(Path(tmp), WITHOUT_CAROL)
        try:
            replica = Replica(ledger, limits=MODEL_LIMITS)
            for step in steps:
                if step == "admit carol":
                    got, want = (
                        replica.update_membership(EVERYONE),
                        model.update_membership(EVERYONE, now_ms=NOW),
                    )
                elif step == "restart":
                    model.restart()
                    ledger.close()
                    ledger = open_ledger(Path(tmp), replica.membership)
                    replica = Replica(ledger, limits=MODEL_LIMITS)
                    continue
                else:
                    assert isinstance(step, list)
                    batch = [POOL[i] for i in step]
                    got, want = replica.receive(batch), model.receive(batch, now_ms=NOW)
                assert outcome_view(got) == outcome_view(want)
            assert replica.frontier() == model.frontier()
            assert replica.evidence_ids() == sorted(model.evidence_ids())
            assert replica.state_digest() == model.state_digest()
            assert (replica.buffered_count(), replica.pending_count()) == (
                model.buffered_count(),
                model.pending_count(),
            )
            remote = Frontier.of(
                [AuthorHead("alice", 6, ALICE[5].entry_id), AuthorHead("bob", 4, BOB[3].entry_id)]
            )
            assert replica.missing_ranges(remote) == model.missing_ranges(remote)
        finally:
            ledger.close()
