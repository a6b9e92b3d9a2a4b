"""Stewards' rulings: a decision signed offline by k of n stewards and published by any member's node, checked
by every node and both offline verifiers alike (docs/due-process.md, "Stewards' rulings"). Real LMDB, in-process
nodes with a settable clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from node.api.convert import bundle_from_proto, bundle_to_proto
from node.core.canonical import Writer
from node.core.errors import EncodingError, InvalidArgument
from node.dueprocess.deadlines import DecisionTooEarly, NotDecisionAuthority
from node.dueprocess.items import DecidedAs, DecisionItem, Outcome
from node.dueprocess.ruling import Ruling, SignedRuling
from node.ledger.ledger import RecordStatus
from node.membership.consortium_policy import ConsortiumPolicy
from node.membership.roster import Signature
from node.provenance.bundle import verify_bundle
from tests.dueprocess_helpers import CONSORTIUM, WINDOW, Consortium, consortium, record, signing_key

QUORUM_2 = ConsortiumPolicy(decision_window_ms=WINDOW, steward_quorum=2)


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[Consortium]:
    """platform-a contributes, platform-b files the appeal, platform-c publishes; two stewards, quorum 2."""
    with consortium(tmp_path) as opened:
        opened.members.policy = QUORUM_2
        for member in ("platform-a", "platform-b", "platform-c"):
            opened.open(member)
        yield opened


def appealed(nodes: Consortium) -> tuple[bytes, bytes]:
    """A record of platform-a, appealed at platform-b and replicated everywhere: (record id, appeal entry id)."""
    [rid] = nodes.nodes["platform-a"].submit([record()]).record_ids
    nodes.sync()
    appeal = nodes.nodes["platform-b"].appeal(rid, "CASE-7")
    nodes.sync()
    return rid, appeal.entry_id


def ruling(
    rid: bytes, appeal_id: bytes, at_ms: int, signers: tuple[str, ...], outcome: Outcome = Outcome.OVERTURNED
) -> SignedRuling:
    signed = SignedRuling(Ruling(CONSORTIUM, rid, appeal_id, outcome, "the contributor did not answer", at_ms))
    for steward in signers:
        signed = signed.sign(signing_key(steward))
    return signed


def test_a_ruling_signed_by_the_quorum_after_the_window_overturns_on_every_node(nodes: Consortium) -> None:
    rid, appeal_id = appealed(nodes)
    nodes.clock.advance(WINDOW)
    signed = ruling(rid, appeal_id, nodes.clock.now, ("steward-1", "steward-2"))
    entry, existing = nodes.nodes["platform-c"].publish_ruling(signed)
    assert not existing and entry.header.author == "platform-c"
    nodes.sync()
    for member, ledger in nodes.nodes.items():
        assert ledger.record(rid).status is RecordStatus.OVERTURNED, member
        assert nodes.matches(member) == []


def test_publishing_the_same_ruling_again_returns_the_entry_that_carries_it(nodes: Consortium) -> None:
    rid, appeal_id = appealed(nodes)
    nodes.clock.advance(WINDOW)
    signed = ruling(rid, appeal_id, nodes.clock.now, ("steward-1", "steward-2"))
    first, _ = nodes.nodes["platform-c"].publish_ruling(signed)
    nodes.sync()
    assert nodes.nodes["platform-c"].publish_ruling(signed) == (first, True)
    assert nodes.nodes["platform-b"].publish_ruling(signed) == (first, True)  # another node, the same ruling


@pytest.mark.parametrize(
    ("signers", "message"),
    [
        (("steward-1",), r"signed by 1 steward\(s\) \(steward-1\), want 2"),
        (("steward-1", "platform-b"), r"signed by 1 steward\(s\) \(steward-1\), want 2"),
        ((), r"signed by 0 steward\(s\) \(none\), want 2"),
    ],
    ids=["one steward", "a member that is not a steward", "nobody"],
)
def test_a_ruling_short_of_the_quorum_is_refused_and_nothing_is_written(
    nodes: Consortium, signers: tuple[str, ...], message: str
) -> None:
    rid, appeal_id = appealed(nodes)
    nodes.clock.advance(WINDOW)
    c = nodes.nodes["platform-c"]
    before = c.stats()["entries"]
    signed = ruling(rid, appeal_id, nodes.clock.now, signers)
    error = InvalidArgument if not signers else NotDecisionAuthority
    with pytest.raises(error, match=message if signers else "signatures"):
        c.publish_ruling(signed)
    assert c.stats()["entries"] == before


def test_stewards_may_not_rule_before_the_window_closes(nodes: Consortium) -> None:
    rid, appeal_id = appealed(nodes)
    nodes.clock.advance(WINDOW)  # published after the window, but ruled before it closed
    early = ruling(rid, appeal_id, nodes.clock.now - 1, ("steward-1", "steward-2"))
    with pytest.raises(DecisionTooEarly, match="stewards' ruling at"):
        nodes.nodes["platform-c"].publish_ruling(early)


def test_a_ruling_dated_after_the_window_may_not_be_published_inside_it(nodes: Consortium) -> None:
    """ruled_at_ms is the stewards' own claim: a ruling post-dated past the window and published while the
    contributor may still decide is refused (decision.ruling_postdated), and nothing is written; published once
    its date has come, the same ruling counts."""
    rid, appeal_id = appealed(nodes)
    c = nodes.nodes["platform-c"]
    before = c.stats()["entries"]
    postdated = ruling(rid, appeal_id, nodes.clock.now + WINDOW, ("steward-1", "steward-2"))
    with pytest.raises(DecisionTooEarly, match="after the entry that publishes it") as refused:
        c.publish_ruling(postdated)
    assert refused.value.rule == "decision.ruling_postdated"
    assert c.stats()["entries"] == before
    nodes.clock.advance(WINDOW)
    c.publish_ruling(postdated)
    nodes.sync()
    assert nodes.nodes["platform-a"].record(rid).status is RecordStatus.OVERTURNED


def test_a_single_stewards_own_decision_does_not_count_when_the_quorum_is_above_1(tmp_path: Path) -> None:
    with consortium(tmp_path) as nodes:
        nodes.members.policy = QUORUM_2
        for member in ("platform-a", "platform-b", "steward-1"):
            nodes.open(member)
        _, appeal_id = appealed(nodes)
        nodes.clock.advance(WINDOW)
        with pytest.raises(NotDecisionAuthority, match="wants rulings signed by 2 stewards"):
            nodes.nodes["steward-1"].decide(appeal_id, Outcome.OVERTURNED, "alone")


def test_a_ruling_for_another_consortium_is_refused(nodes: Consortium) -> None:
    rid, appeal_id = appealed(nodes)
    nodes.clock.advance(WINDOW)
    signed = ruling(rid, appeal_id, nodes.clock.now, ("steward-1", "steward-2"))
    other = SignedRuling(replace(signed.ruling, consortium_id="elsewhere"), signed.signatures)
    with pytest.raises(InvalidArgument, match="consortium_id: got elsewhere"):
        nodes.nodes["platform-c"].publish_ruling(other)


def test_the_offline_verifier_rules_on_the_signatures_as_the_nodes_do(nodes: Consortium) -> None:
    rid, appeal_id = appealed(nodes)
    nodes.clock.advance(WINDOW)
    nodes.nodes["platform-c"].publish_ruling(ruling(rid, appeal_id, nodes.clock.now, ("steward-1", "steward-2")))
    nodes.sync()
    bundle = nodes.nodes["platform-a"].provenance(rid)
    verified = verify_bundle(bundle)
    assert verified.status == "overturned"
    [decision] = [e for e in verified.history if e.kind == "decision"]
    assert decision.ruling == "effective" and "by the stewards (2 signatures" in decision.summary
    assert verify_bundle(bundle_from_proto(bundle_to_proto(bundle))).status == "overturned"
    stricter = replace(nodes.members, policy=replace(QUORUM_2, steward_quorum=3))
    pinned = verify_bundle(bundle, trusted=stricter)
    assert pinned.status == "active"
    assert next(e.ruling for e in pinned.history if e.kind == "decision").startswith(
        "refused: stewards' ruling: signed by 2 steward(s) (steward-1, steward-2), want 3"
    )


def test_a_ruling_file_keeps_its_signatures_and_copies_merge() -> None:
    rid, appeal_id = bytes(range(32)), bytes([0xAA]) * 32
    one = ruling(rid, appeal_id, 1_700_000_000_000, ("steward-1",))
    two = ruling(rid, appeal_id, 1_700_000_000_000, ("steward-2",))
    merged = one.merge(two)
    assert SignedRuling.from_json(merged.to_json()) == SignedRuling(merged.ruling, tuple(
        sorted(merged.signatures, key=lambda s: s.key_id)
    ))
    with pytest.raises(InvalidArgument, match="ruling: got a different ruling"):
        one.merge(ruling(rid, appeal_id, 1_700_000_000_001, ("steward-2",)))
    with pytest.raises(InvalidArgument, match=r"format: got hashnode\.signed-roster\.v1"):
        SignedRuling.from_json('{"format": "hashnode.signed-roster.v1"}')


# --- the decision item of a ruling ---------------------------------------------------------------------------

SIG_A = Signature(bytes([0x01]) * 32, bytes([0x11]) * 64)
SIG_B = Signature(bytes([0x02]) * 32, bytes([0x22]) * 64)


def test_a_rulings_item_encodes_its_time_and_signatures_after_the_decision_fields() -> None:
    item = DecisionItem.create(
        bytes(range(32)), bytes([0xAA]) * 32, Outcome.OVERTURNED, "satire", DecidedAs.STEWARDS,
        1_700_000_000_000, (SIG_B, SIG_A),
    )
    expected = (
        bytes(range(32)) + bytes([0xAA]) * 32 + b"\x02" + b"\x00\x06satire" + b"\x03"
        + (1_700_000_000_000).to_bytes(8, "big") + b"\x00\x02"
        + SIG_A.key_id + SIG_A.signature + SIG_B.key_id + SIG_B.signature
    )
    assert item.encode() == expected
    assert DecisionItem.decode(expected) == item


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        (Writer().u64(1).u16(2).fixed(SIG_B.key_id, 32).fixed(SIG_B.signature, 64)
         .fixed(SIG_A.key_id, 32).fixed(SIG_A.signature, 64).getvalue(), "ordered by key id"),
        (Writer().u64(1).u16(1).fixed(SIG_A.key_id, 32).getvalue(), "truncated"),
        (Writer().u64(1).u16(65).getvalue(), "at most 64"),
    ],
    ids=["unordered", "truncated", "too many"],
)
def test_a_malformed_rulings_item_does_not_decode(tail: bytes, message: str) -> None:
    head = bytes(range(32)) + bytes([0xAA]) * 32 + b"\x02" + b"\x00\x00" + b"\x03"
    with pytest.raises(EncodingError, match=message):
        DecisionItem.decode(head + tail)


def test_only_a_stewards_ruling_carries_signatures() -> None:
    with pytest.raises(InvalidArgument, match="signatures"):
        DecisionItem.create(bytes(32), bytes(32), Outcome.UPHELD, "", DecidedAs.CONTRIBUTOR, 5, (SIG_A,))
    with pytest.raises(InvalidArgument, match="signatures"):
        DecisionItem.create(bytes(32), bytes(32), Outcome.UPHELD, "", DecidedAs.STEWARDS)
