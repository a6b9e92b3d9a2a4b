"""The per-node replication state machine (node/replication/reconcile.py): `LogSet`, the reference model.

Named cases for each behaviour, then properties: whatever order and repetition entries arrive in, a node ends
with the logs in-order delivery would give it, never rewrites an entry it applied, and catches up from a peer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.core.entry import ZERO_ID, Entry, EntryKind, sign_entry
from node.core.errors import InvalidArgument
from node.core.keys import SigningKey
from node.membership.members import Member, MemberKey, Membership
from node.replication.evidence import ForkEvidence, ForkKind
from node.replication.frontier import AuthorHead, AuthorRange, Frontier, state_digest
from node.replication.reconcile import Limits, LogSet, entry_size
from node.replication.validate import Head, RejectReason

CONSORTIUM = "test-consortium"
T0 = 1_700_000_000_000
NOW = T0 + 3_600_000


def key(name: str) -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(b"test reconcile " + name.encode()).digest())


KEYS = {name: key(name) for name in ("alice", "bob", "carol")}
EVERYONE = Membership.from_members(
    CONSORTIUM, [Member(n, n, (MemberKey(k.public),)) for n, k in KEYS.items()]
)
WITHOUT_CAROL = Membership.from_members(CONSORTIUM, [m for m in EVERYONE if m.member_id != "carol"])


def chain(author: str, n: int, *, tag: bytes = b"", after: Entry | None = None) -> list[Entry]:
    """Entries of `author`'s log, one second apart: 1..n, or the n after `after`."""
    entries: list[Entry] = [after] if after else []
    for _ in range(n):
        prev = entries[-1] if entries else None
        seq = prev.header.seq + 1 if prev else 1
        entries.append(
            sign_entry(
                KEYS[author],
                consortium_id=CONSORTIUM,
                author=author,
                seq=seq,
                prev=prev.entry_id if prev else ZERO_ID,
                timestamp_ms=T0 + seq * 1000,
                kind=EntryKind.CONTRIBUTION,
                items=[tag + f"{author} {seq}".encode()],
            )
        )
    return entries[1:] if after else entries


ALICE = chain("alice", 8)
BOB = chain("bob", 8)
CAROL = chain("carol", 3)
ALICE_FORK = chain("alice", 3, tag=b"fork ", after=ALICE[1])  # seqs 3..5 on alice's entry 2


def logset(membership: Membership = EVERYONE, **limits: Any) -> LogSet:
    return LogSet(CONSORTIUM, membership, limits=Limits(**limits))


def seqs(entries: Sequence[Entry]) -> list[int]:
    return [e.header.seq for e in entries]


# --- applying, buffering, draining --------------------------------------------------------------------------


def test_entries_in_order_are_applied_and_become_the_head() -> None:
    logs = logset()
    outcome = logs.receive(ALICE[:3], now_ms=NOW)
    assert outcome.applied == ALICE[:3]
    assert logs.log("alice") == tuple(ALICE[:3])
    assert logs.head("alice") == Head.of(ALICE[2])
    assert logs.frontier() == Frontier.of([AuthorHead("alice", 3, ALICE[2].entry_id)])


def test_entries_ahead_wait_in_the_gap_buffer_and_drain_in_order() -> None:
    logs = logset()
    early = logs.receive([ALICE[3], ALICE[1], ALICE[2]], now_ms=NOW)
    assert (early.applied, early.buffered, logs.buffered_count()) == ([], 3, 3)
    closing = logs.receive([ALICE[0]], now_ms=NOW)
    assert closing.applied == ALICE[:4]
    assert logs.buffered_count() == 0


def test_gaps_are_reported_as_the_ranges_to_fetch() -> None:
    logs = logset()
    logs.receive([ALICE[0]], now_ms=NOW)
    outcome = logs.receive([ALICE[3], ALICE[6], BOB[1]], now_ms=NOW)
    assert outcome.missing == [
        AuthorRange("alice", 2, 3),
        AuthorRange("alice", 5, 6),
        AuthorRange("bob", 1, 1),
    ]


def test_a_repeated_entry_is_counted_not_applied_again() -> None:
    logs = logset()
    logs.receive(ALICE[:2], now_ms=NOW)
    outcome = logs.receive([ALICE[0], ALICE[1], ALICE[4], ALICE[4]], now_ms=NOW)
    assert (outcome.applied, outcome.duplicates, outcome.buffered) == ([], 3, 1)


def test_a_full_gap_buffer_keeps_the_entries_nearest_the_head() -> None:
    logs = logset(gap_per_author=2)
    outcome = logs.receive([ALICE[4], ALICE[3], ALICE[2], ALICE[7]], now_ms=NOW)
    assert outcome.dropped == 2  # entry 5 made way for entry 3; entry 8 was beyond both
    assert logs.receive([ALICE[0], ALICE[1]], now_ms=NOW).applied == ALICE[:4]


def test_the_gap_buffer_is_bounded_across_authors() -> None:
    logs = logset(gap_total=1)
    outcome = logs.receive([ALICE[2], BOB[2]], now_ms=NOW)
    assert (outcome.buffered, outcome.dropped, logs.buffered_count()) == (1, 1, 1)


def test_rejections_are_reported_with_their_reason() -> None:
    logs = logset()
    late = sign_entry(
        KEYS["alice"], consortium_id=CONSORTIUM, author="alice", seq=1, prev=ZERO_ID,
        timestamp_ms=NOW + 3_600_000, kind=EntryKind.CONTRIBUTION, items=[b"from the future"],
    )  # fmt: skip
    outcome = logs.receive([late], now_ms=NOW)
    assert [r.reason for r in outcome.rejected] == [RejectReason.FUTURE_TIMESTAMP]
    assert logs.log("alice") == ()


# --- pending entries and roster changes ---------------------------------------------------------------------


def test_entries_of_a_member_not_yet_admitted_are_kept_until_the_roster_admits_them() -> None:
    logs = logset(WITHOUT_CAROL)
    outcome = logs.receive(CAROL, now_ms=NOW)
    assert (outcome.applied, outcome.pending, logs.pending_count()) == ([], 3, 3)
    admitted = logs.update_membership(EVERYONE, now_ms=NOW)
    assert admitted.applied == CAROL
    assert logs.pending_count() == 0
    assert logs.membership is EVERYONE


def test_the_pending_buffer_is_bounded_and_refuses_newcomers_when_full() -> None:
    logs = logset(WITHOUT_CAROL, pending_total=2)
    outcome = logs.receive([*CAROL, CAROL[0]], now_ms=NOW)
    assert (outcome.pending, outcome.dropped, outcome.duplicates) == (2, 1, 1)
    assert logs.update_membership(EVERYONE, now_ms=NOW).applied == CAROL[:2]


def test_a_restart_loses_the_buffers_but_not_the_logs_or_the_evidence() -> None:
    logs = logset(WITHOUT_CAROL)
    logs.receive([*ALICE[:3], ALICE_FORK[0], BOB[3], *CAROL], now_ms=NOW)
    assert (logs.buffered_count(), logs.pending_count(), len(logs.evidence())) == (1, 3, 1)
    logs.restart()
    assert (logs.buffered_count(), logs.pending_count(), len(logs.evidence())) == (0, 0, 1)
    assert logs.log("alice") == tuple(ALICE[:3])


# --- fork evidence and convicted authors --------------------------------------------------------------------


def test_evidence_from_a_peer_convicts_the_author_without_touching_the_log() -> None:
    logs = logset()
    logs.receive(ALICE[:3], now_ms=NOW)
    evidence = ForkEvidence.of(ALICE[2], ALICE_FORK[0])
    outcome = logs.receive_evidence([evidence, evidence])
    assert (outcome.new_evidence, outcome.duplicates) == ([evidence], 1)
    assert logs.is_convicted("alice")
    assert logs.log("alice") == tuple(ALICE[:3])
    assert logs.evidence_ids() == {evidence.evidence_id}


def test_evidence_that_does_not_verify_is_reported_and_not_kept() -> None:
    forged = ALICE_FORK[0]
    forged = Entry.parse(forged.header_bytes, KEYS["bob"].sign(forged.header_bytes), list(forged.items))
    outcome = logset().receive_evidence([ForkEvidence.of(ALICE[2], forged)])
    assert len(outcome.invalid_evidence) == 1
    assert outcome.new_evidence == []


def test_a_convicted_author_is_frozen_and_its_gap_buffer_dropped() -> None:
    logs = logset()
    logs.receive([*ALICE[:3], ALICE[4]], now_ms=NOW)
    outcome = logs.receive([ALICE_FORK[0]], now_ms=NOW)  # a second entry 3
    assert outcome.dropped == 1 and logs.buffered_count() == 0
    later = logs.receive([ALICE[3]], now_ms=NOW)
    assert [r.reason for r in later.rejected] == [RejectReason.CONVICTED_AUTHOR]
    assert logs.log("alice") == tuple(ALICE[:3])


def test_two_entries_for_one_seq_in_the_gap_buffer_are_evidence_too() -> None:
    logs = logset()
    outcome = logs.receive([ALICE[3], ALICE_FORK[1]], now_ms=NOW)
    assert [e.kind for e in outcome.new_evidence] == [ForkKind.SAME_SEQ]


def test_the_state_digest_covers_unconvicted_logs_and_the_evidence() -> None:
    logs = logset()
    logs.receive([*ALICE[:3], *BOB[:2]], now_ms=NOW)
    assert logs.state_digest() == state_digest(e.entry_id for e in [*ALICE[:3], *BOB[:2]])
    [evidence] = logs.receive([ALICE_FORK[0]], now_ms=NOW).new_evidence
    assert logs.state_digest() == state_digest([*(e.entry_id for e in BOB[:2]), evidence.evidence_id])
    assert logs.held_ids() == {e.entry_id for e in [*ALICE[:3], *BOB[:2]]}


# --- what to fetch, what to serve ---------------------------------------------------------------------------


def remote_of(*logs: Sequence[Entry]) -> Frontier:
    return Frontier.of(
        AuthorHead(log[-1].header.author, log[-1].header.seq, log[-1].entry_id) for log in logs
    )


def test_missing_ranges_ask_for_what_the_peer_has_beyond_our_heads() -> None:
    logs = logset()
    logs.receive(ALICE[:2], now_ms=NOW)
    assert logs.missing_ranges(remote_of(ALICE[:5], BOB[:3])) == [
        AuthorRange("alice", 3, 5),
        AuthorRange("bob", 1, 3),
    ]


def test_missing_ranges_skip_authors_the_roster_does_not_know_yet() -> None:
    assert logset(WITHOUT_CAROL).missing_ranges(remote_of(CAROL)) == []


def test_missing_ranges_skip_convicted_authors() -> None:
    logs = logset()
    logs.receive([*ALICE[:3], ALICE_FORK[0]], now_ms=NOW)
    assert logs.missing_ranges(remote_of(ALICE)) == []


def test_a_peer_behind_us_on_another_branch_is_asked_for_its_head_to_prove_the_fork() -> None:
    logs = logset()
    logs.receive(ALICE[:5], now_ms=NOW)
    assert logs.missing_ranges(remote_of(ALICE_FORK[:1])) == [AuthorRange("alice", 3, 3)]
    assert logs.missing_ranges(remote_of(ALICE[:3])) == []


def test_entries_are_served_in_log_order_in_batches_of_bounded_size() -> None:
    logs = logset()
    logs.receive([*ALICE, *BOB], now_ms=NOW)
    size = entry_size(ALICE[0])
    batches = list(logs.entries_for([AuthorRange("alice", 2, 4), AuthorRange("bob", 7)], max_bytes=2 * size))
    assert [seqs(b) for b in batches] == [[2, 3], [4, 7], [8]]
    assert [e.header.author for e in batches[1]] == ["alice", "bob"]


def test_a_range_beyond_the_head_or_of_an_unknown_author_serves_what_there_is() -> None:
    logs = logset()
    logs.receive(ALICE[:3], now_ms=NOW)
    served = list(
        logs.entries_for([AuthorRange("alice", 2, 99), AuthorRange("nobody", 1)], max_bytes=1 << 20)
    )
    assert [seqs(b) for b in served] == [[2, 3]]


def test_an_entry_larger_than_the_batch_limit_goes_alone() -> None:
    logs = logset()
    logs.receive(ALICE[:2], now_ms=NOW)
    assert [seqs(b) for b in logs.entries_for([AuthorRange("alice", 1)], max_bytes=1)] == [[1], [2]]


def test_the_batch_limit_must_be_positive() -> None:
    with pytest.raises(InvalidArgument, match="max_batch_bytes"):
        list(logset().entries_for([], max_bytes=0))


# --- properties ---------------------------------------------------------------------------------------------

ALL = [*ALICE, *BOB]
deliveries = st.lists(st.sampled_from(range(len(ALL))), min_size=1, max_size=40)


def catch_up(logs: LogSet, source: LogSet, max_bytes: int) -> int:
    """Anti-entropy against one peer until nothing is missing; returns the rounds it took."""
    rounds = 0
    while ranges := logs.missing_ranges(source.frontier()):
        rounds += 1
        assert rounds <= len(ALL), "anti-entropy made no progress"
        for batch in source.entries_for(ranges, max_bytes=max_bytes):
            logs.receive(batch, now_ms=NOW)
    return rounds


@settings(max_examples=60, deadline=None)
@given(st.permutations(range(len(ALL))), deliveries)
def test_any_order_with_repeats_ends_in_the_in_order_state(order: list[int], repeats: list[int]) -> None:
    logs = logset(gap_per_author=len(ALL), gap_total=len(ALL))
    for i in [*order, *repeats]:
        logs.receive([ALL[i]], now_ms=NOW)
    assert logs.log("alice") == tuple(ALICE) and logs.log("bob") == tuple(BOB)
    assert logs.state_digest() == state_digest(e.entry_id for e in ALL)
    assert logs.buffered_count() == 0


@settings(max_examples=60, deadline=None)
@given(deliveries, st.integers(min_value=1, max_value=3), st.integers(min_value=1, max_value=4))
def test_with_tiny_buffers_anti_entropy_still_catches_up(
    delivered: list[int], per_author: int, batch: int
) -> None:
    source = logset()
    source.receive(ALL, now_ms=NOW)
    logs = logset(gap_per_author=per_author, gap_total=per_author + 1)
    for i in delivered:
        logs.receive([ALL[i]], now_ms=NOW)
    catch_up(logs, source, max_bytes=batch * entry_size(ALL[0]))
    assert logs.state_digest() == source.state_digest()


@settings(max_examples=40, deadline=None)
@given(st.sets(st.sampled_from(range(len(ALL)))), st.sets(st.sampled_from(range(len(ALL)))))
def test_two_nodes_pulling_from_each_other_converge(left: set[int], right: set[int]) -> None:
    a, b = logset(), logset()
    a.receive([ALL[i] for i in sorted(left)], now_ms=NOW)
    b.receive([ALL[i] for i in sorted(right)], now_ms=NOW)
    # Entries waiting in a gap buffer are not in the frontier, so closing a gap can take a few exchanges.
    for _ in range(len(ALL)):
        if catch_up(a, b, max_bytes=1 << 16) + catch_up(b, a, max_bytes=1 << 16) == 0:
            break
    union = {ALL[i] for i in left | right}
    for author, log in (("alice", ALICE), ("bob", BOB)):
        assert a.log(author) == b.log(author) == tuple(contiguous_prefix(log, union))


def contiguous_prefix(log: Sequence[Entry], held: set[Entry]) -> list[Entry]:
    """Entries 1..k of `log`, for the largest k such that all of them are in `held`."""
    prefix: list[Entry] = []
    for entry in log:
        if entry not in held:
            break
        prefix.append(entry)
    return prefix


FORKED = [*ALICE[:5], *ALICE_FORK]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(range(len(FORKED))), min_size=1, max_size=30))
def test_a_fork_never_rewrites_an_applied_entry_and_two_entries_for_one_seq_convict(order: list[int]) -> None:
    logs = logset(gap_per_author=len(FORKED), gap_total=len(FORKED))
    for i in order:
        before = logs.log("alice")
        logs.receive([FORKED[i]], now_ms=NOW)
        assert logs.log("alice")[: len(before)] == before, "an applied entry was rewritten"
    for evidence in logs.evidence():
        assert evidence.author == "alice" and evidence.seq >= 3  # the branches share entries 1 and 2
    delivered = {FORKED[i] for i in order}
    if any(
        main in delivered and fork in delivered for main, fork in zip(ALICE[2:5], ALICE_FORK, strict=True)
    ):
        assert logs.is_convicted("alice"), "two signed entries for one seq arrived, yet no evidence"
