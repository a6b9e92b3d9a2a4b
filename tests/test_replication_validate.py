"""Receipt rules for replicated entries (node/replication/validate.py, rules R1-R8) and fork evidence.

Each named case is one received entry against one state of the receiving node, and the verdict it must get.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pytest

from node.core.entry import ZERO_ID, Entry, EntryKind, sign_entry
from node.core.keys import SigningKey
from node.membership.members import Member, MemberKey, Membership
from node.replication.evidence import ForkEvidence, ForkKind, InvalidEvidence, verify_evidence
from node.replication.frontier import AuthorRange
from node.replication.reconcile import LogSet
from node.replication.validate import (
    Apply,
    Duplicate,
    Equivocation,
    Gap,
    Head,
    Pending,
    PendingReason,
    Reject,
    RejectReason,
    Verdict,
    WrongPrevious,
    classify,
)

CONSORTIUM = "test-consortium"
T0 = 1_700_000_000_000
NOW = T0 + 60_000
SKEW = 5_000


def key(name: str) -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(b"test replication " + name.encode()).digest())


ALICE, CAROL, DAVE, ERIN, MALLORY = (key(n) for n in ("alice", "carol", "dave", "erin", "mallory"))
ALICE_NEW_KEY = key("alice rotated")
CAROL_CUTOFF = T0 + 10_000
DAVE_KEY_UNTIL = T0 + 10_000

MEMBERSHIP = Membership.from_members(
    CONSORTIUM,
    [
        Member("alice", "Alice Org", (MemberKey(ALICE.public),)),
        Member(
            "carol", "Carol Org", (MemberKey(CAROL.public),), status="revoked", revoked_after_ms=CAROL_CUTOFF
        ),
        Member("dave", "Dave Org", (MemberKey(DAVE.public, valid_until_ms=DAVE_KEY_UNTIL),)),
    ],
)


def signed(key: SigningKey = ALICE, **overrides: Any) -> Entry:
    fields: dict[str, Any] = {
        "consortium_id": CONSORTIUM,
        "author": "alice",
        "seq": 1,
        "prev": ZERO_ID,
        "timestamp_ms": T0,
        "kind": EntryKind.CONTRIBUTION,
        "items": [b"item"],
    }
    fields.update(overrides)
    if fields["seq"] > 1 and "prev" not in overrides:
        fields["prev"] = hashlib.sha256(b"unrelated").digest()
    return sign_entry(key, **fields)


def chain(n: int, key: SigningKey = ALICE, author: str = "alice", tag: bytes = b"") -> list[Entry]:
    """Entries 1..n of one author's log, one second apart."""
    entries: list[Entry] = []
    for seq in range(1, n + 1):
        prev = entries[-1].entry_id if entries else ZERO_ID
        entries.append(
            signed(
                key,
                author=author,
                seq=seq,
                prev=prev,
                timestamp_ms=T0 + seq * 1000,
                items=[tag + b"%d" % seq],
            )
        )
    return entries


def forged(entry: Entry, by: SigningKey = MALLORY) -> Entry:
    """The same header, signed by someone else: what a peer could make up about the author."""
    return Entry.parse(entry.header_bytes, by.sign(entry.header_bytes), list(entry.items))


def on(prev: Entry, **overrides: Any) -> Entry:
    """An entry right after `prev` in the same log."""
    fields: dict[str, Any] = {
        "seq": prev.header.seq + 1,
        "prev": prev.entry_id,
        "timestamp_ms": prev.header.timestamp_ms + 1000,
    }
    fields.update(overrides)
    return signed(author=prev.header.author, **fields)


A1, A2, A3 = chain(3)
A2_OTHER = signed(seq=2, prev=A1.entry_id, timestamp_ms=T0 + 2000, items=[b"another second entry"])
A3_ON_OTHER = signed(seq=3, prev=A2_OTHER.entry_id, timestamp_ms=T0 + 3000)


@dataclass(frozen=True)
class Case:
    name: str
    entry: Entry
    head: Entry | None = None
    existing: Entry | None = None
    expect: type[Verdict] = Apply
    reason: RejectReason | PendingReason | None = None
    convicted: bool = False


CASES = [
    Case("first entry of a log applies", A1),
    Case("entry after the head applies", A2, head=A1),
    Case(
        "forged signature is rejected",
        forged(A2),
        head=A1,
        expect=Reject,
        reason=RejectReason.FORGED_SIGNATURE,
    ),
    Case(
        "signature by another member's key is rejected",
        Entry.parse(A2.header_bytes, CAROL.sign(A2.header_bytes), list(A2.items)),
        head=A1,
        expect=Reject,
        reason=RejectReason.FORGED_SIGNATURE,
    ),
    Case(
        "wrong consortium is rejected",
        signed(consortium_id="other-consortium"),
        expect=Reject,
        reason=RejectReason.WRONG_CONSORTIUM,
    ),
    Case(
        "wrong consortium is rejected before the signature is looked at",
        forged(signed(consortium_id="other-consortium")),
        expect=Reject,
        reason=RejectReason.WRONG_CONSORTIUM,
    ),
    Case("sequence gap is buffered", A3, head=A1, expect=Gap),
    Case("sequence gap with nothing held is buffered", A2, expect=Gap),
    Case(
        "forged entry ahead of the head is not buffered",
        forged(A3),
        head=A1,
        expect=Reject,
        reason=RejectReason.FORGED_SIGNATURE,
    ),
    Case("replayed old entry is a duplicate", A1, head=A2, existing=A1, expect=Duplicate),
    Case("the head itself again is a duplicate", A2, head=A2, existing=A2, expect=Duplicate),
    Case(
        "duplicate needs no valid signature: it is a no-op",
        forged(A1),
        head=A2,
        existing=A1,
        expect=Duplicate,
    ),
    Case("wrong previous id is fork evidence, not applied", A3_ON_OTHER, head=A2, expect=WrongPrevious),
    Case(
        "entry by a non-member is pending",
        signed(ERIN, author="erin"),
        expect=Pending,
        reason=PendingReason.UNKNOWN_AUTHOR,
    ),
    Case(
        "entry under a key the roster does not list yet is pending",
        signed(ALICE_NEW_KEY),
        expect=Pending,
        reason=PendingReason.UNKNOWN_KEY,
    ),
    Case(
        "revoked member's entry before the cutoff applies",
        signed(CAROL, author="carol", timestamp_ms=CAROL_CUTOFF),
    ),
    Case(
        "revoked member's entry after the cutoff is rejected",
        signed(CAROL, author="carol", timestamp_ms=CAROL_CUTOFF + 1),
        expect=Reject,
        reason=RejectReason.REVOKED_AUTHOR,
    ),
    Case(
        "entry after its key's validity ends is rejected",
        signed(DAVE, author="dave", timestamp_ms=DAVE_KEY_UNTIL + 1),
        expect=Reject,
        reason=RejectReason.KEY_NOT_VALID,
    ),
    Case("future timestamp within the allowed skew applies", signed(timestamp_ms=NOW + SKEW)),
    Case(
        "future timestamp beyond the allowed skew is rejected",
        signed(timestamp_ms=NOW + SKEW + 1),
        expect=Reject,
        reason=RejectReason.FUTURE_TIMESTAMP,
    ),
    Case(
        "timestamp older than the previous entry's is rejected",
        on(A1, timestamp_ms=T0 + 999),
        head=A1,
        expect=Reject,
        reason=RejectReason.TIMESTAMP_REGRESSION,
    ),
    Case(
        "timestamp equal to the previous entry's applies",
        on(A1, timestamp_ms=A1.header.timestamp_ms),
        head=A1,
    ),
    Case(
        "second signed entry for a stored seq is equivocation",
        A2_OTHER,
        head=A2,
        existing=A2,
        expect=Equivocation,
    ),
    Case(
        "conflicting entry below the head is equivocation",
        A2_OTHER,
        head=A3,
        existing=A2,
        expect=Equivocation,
    ),
    Case(
        "unsigned conflicting entry is a forgery, not evidence",
        forged(A2_OTHER),
        head=A2,
        existing=A2,
        expect=Reject,
        reason=RejectReason.FORGED_SIGNATURE,
    ),
    Case(
        "convicted author's next entry is rejected",
        A3,
        head=A2,
        expect=Reject,
        reason=RejectReason.CONVICTED_AUTHOR,
        convicted=True,
    ),
    Case(
        "convicted author's stored entry is still a duplicate",
        A2,
        head=A2,
        existing=A2,
        expect=Duplicate,
        convicted=True,
    ),
]


def run(case: Case) -> Verdict:
    return classify(
        case.entry,
        consortium_id=CONSORTIUM,
        membership=MEMBERSHIP,
        head=Head.of(case.head) if case.head else None,
        existing_at_seq=case.existing.entry_id if case.existing else None,
        now_ms=NOW,
        max_clock_skew_ms=SKEW,
        convicted=case.convicted,
    )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_receipt_rules(case: Case) -> None:
    verdict = run(case)
    assert type(verdict) is case.expect, verdict
    if isinstance(verdict, Reject | Pending):
        assert verdict.reason is case.reason
    else:
        assert case.reason is None


def test_case_names_are_unique() -> None:
    assert len({c.name for c in CASES}) == len(CASES)


# --- what each verdict carries ------------------------------------------------------------------------------


def test_gap_names_the_missing_range() -> None:
    verdict = run(Case("", A3))
    assert verdict == Gap(A3, AuthorRange("alice", 1, 2))


def test_equivocation_names_the_stored_entry() -> None:
    assert run(Case("", A2_OTHER, head=A3, existing=A2)) == Equivocation(A2_OTHER, A2.entry_id)


def test_wrong_previous_names_the_head() -> None:
    assert run(Case("", A3_ON_OTHER, head=A2)) == WrongPrevious(A3_ON_OTHER, A2.entry_id)


def test_rejection_detail_says_what_was_got_and_wanted() -> None:
    verdict = run(Case("", signed(timestamp_ms=NOW + SKEW + 1)))
    assert isinstance(verdict, Reject)
    assert verdict.entry_id == signed(timestamp_ms=NOW + SKEW + 1).entry_id
    assert verdict.detail == f"timestamp_ms: got {NOW + SKEW + 1}, want <= {NOW + SKEW}"


def test_only_a_future_timestamp_is_transient() -> None:
    assert [r for r in RejectReason if r.transient] == [RejectReason.FUTURE_TIMESTAMP]


def test_a_hole_below_the_head_is_the_callers_bug() -> None:
    with pytest.raises(ValueError, match="existing_at_seq"):
        run(Case("", A1, head=A2, existing=None))


# --- fork evidence ------------------------------------------------------------------------------------------


def test_evidence_is_the_same_record_whichever_entry_came_first() -> None:
    one, other = ForkEvidence.of(A2, A2_OTHER), ForkEvidence.of(A2_OTHER, A2)
    assert one == other
    assert one.evidence_id == other.evidence_id
    assert {e.entry_id for e in one.entries()} == {A2.entry_id, A2_OTHER.entry_id}
    assert (one.author, one.seq, one.kind) == ("alice", 2, ForkKind.SAME_SEQ)


def test_same_seq_evidence_verifies() -> None:
    verify_evidence(ForkEvidence.of(A2, A2_OTHER), consortium_id=CONSORTIUM, membership=MEMBERSHIP)


def test_broken_link_evidence_verifies() -> None:
    evidence = ForkEvidence.of(A3_ON_OTHER, A2)
    assert (evidence.lower, evidence.upper, evidence.kind, evidence.seq) == (
        A2,
        A3_ON_OTHER,
        ForkKind.BROKEN_LINK,
        2,
    )
    verify_evidence(evidence, consortium_id=CONSORTIUM, membership=MEMBERSHIP)


def test_evidence_with_a_forged_entry_does_not_verify() -> None:
    with pytest.raises(InvalidEvidence, match="signature"):
        verify_evidence(
            ForkEvidence.of(A2, forged(A2_OTHER)), consortium_id=CONSORTIUM, membership=MEMBERSHIP
        )


def test_evidence_against_an_unknown_author_is_transient() -> None:
    erin_a = signed(ERIN, author="erin")
    erin_b = signed(ERIN, author="erin", items=[b"other"])
    with pytest.raises(InvalidEvidence) as raised:
        verify_evidence(ForkEvidence.of(erin_a, erin_b), consortium_id=CONSORTIUM, membership=MEMBERSHIP)
    assert raised.value.transient


def test_evidence_from_another_consortium_does_not_verify() -> None:
    a = signed(consortium_id="other-consortium")
    b = signed(consortium_id="other-consortium", items=[b"other"])
    with pytest.raises(InvalidEvidence, match="consortium_id") as raised:
        verify_evidence(ForkEvidence.of(a, b), consortium_id=CONSORTIUM, membership=MEMBERSHIP)
    assert not raised.value.transient


@pytest.mark.parametrize(
    ("name", "a", "b", "message"),
    [
        ("one entry twice", A2, A2, "order"),
        ("two authors", A2, signed(CAROL, author="carol", seq=2, prev=A1.entry_id), "author"),
        (
            "two consortia",
            A2,
            signed(consortium_id="other-consortium", seq=2, prev=A1.entry_id),
            "consortium_id",
        ),
        ("seqs two apart", A1, A3, "seq"),
        ("consecutive entries of one chain", A1, A2, "prev"),
    ],
)
def test_pairs_that_prove_no_fork_cannot_be_built(name: str, a: Entry, b: Entry, message: str) -> None:
    with pytest.raises(InvalidEvidence, match=message):
        ForkEvidence.of(a, b)


# --- acting on the verdicts: the first entry stays, the evidence holds both ---------------------------------


@pytest.mark.parametrize(("first", "second"), [(A2, A2_OTHER), (A2_OTHER, A2)])
def test_equivocation_keeps_the_first_entry_and_records_both(first: Entry, second: Entry) -> None:
    logs = LogSet(CONSORTIUM, MEMBERSHIP, max_clock_skew_ms=SKEW)
    logs.receive([A1, first], now_ms=NOW)
    outcome = logs.receive([second], now_ms=NOW)
    assert outcome.applied == []
    assert logs.entry_at("alice", 2) == first
    [evidence] = outcome.new_evidence
    assert set(evidence.entries()) == {first, second}
    assert logs.evidence() == [evidence]
    assert logs.is_convicted("alice")


def test_wrong_previous_keeps_the_head_and_records_the_broken_link() -> None:
    logs = LogSet(CONSORTIUM, MEMBERSHIP, max_clock_skew_ms=SKEW)
    logs.receive([A1, A2], now_ms=NOW)
    outcome = logs.receive([A3_ON_OTHER], now_ms=NOW)
    assert logs.log("alice") == (A1, A2)
    [evidence] = outcome.new_evidence
    assert evidence.kind is ForkKind.BROKEN_LINK
    assert evidence.entries() == (A2, A3_ON_OTHER)


def test_a_forged_conflict_convicts_nobody() -> None:
    logs = LogSet(CONSORTIUM, MEMBERSHIP, max_clock_skew_ms=SKEW)
    logs.receive([A1, A2], now_ms=NOW)
    outcome = logs.receive([forged(A2_OTHER)], now_ms=NOW)
    assert [r.reason for r in outcome.rejected] == [RejectReason.FORGED_SIGNATURE]
    assert logs.evidence() == []
    assert not logs.is_convicted("alice")
