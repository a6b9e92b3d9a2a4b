"""Disputes that resolve: false-positive reports reaching the consortium's quorum (or one trusted flagger's)
quarantine a record and open a case its contributor or the stewards decide (docs/due-process.md, "Disputes and
quarantine"). Real LMDB, in-process nodes, every node deriving the same case."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from node.dueprocess.deadlines import DecisionTooEarly
from node.dueprocess.items import DISPUTE_CASE, Outcome, Stance
from node.dueprocess.ruling import Ruling, SignedRuling
from node.ledger import standing
from node.ledger.ledger import RecordStatus
from node.membership.consortium_policy import ConsortiumPolicy, QuarantineMode
from node.provenance.bundle import verify_bundle
from tests.dueprocess_helpers import CONSORTIUM, WINDOW, Consortium, consortium, query, record, signing_key

MARK = ConsortiumPolicy(decision_window_ms=WINDOW, dispute_quorum=2)
MEMBERS = ("platform-a", "platform-b", "platform-c", "flagger")


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[Consortium]:
    with consortium(tmp_path) as opened:
        opened.members.policy = MARK
        for member in MEMBERS:
            opened.open(member)
        yield opened


def contribute(nodes: Consortium) -> bytes:
    [rid] = nodes.nodes["platform-a"].submit([record()]).record_ids
    nodes.sync()
    return rid


def report(nodes: Consortium, member: str, rid: bytes, stance: Stance = Stance.FALSE_POSITIVE) -> bytes:
    nodes.clock.advance(1_000)  # reports in a known order (ties are ordered by entry id)
    entry = nodes.nodes[member].opine(rid, stance, "not_tvec")
    nodes.sync()
    return entry.entry_id


def statuses(nodes: Consortium, rid: bytes) -> set[RecordStatus]:
    return {ledger.record(rid).status for ledger in nodes.nodes.values()}


def test_reports_below_the_quorum_change_nothing(nodes: Consortium) -> None:
    rid = contribute(nodes)
    report(nodes, "platform-b", rid)
    assert statuses(nodes, rid) == {RecordStatus.ACTIVE}


def test_k_reports_quarantine_the_record_on_every_node_and_hits_are_marked(nodes: Consortium) -> None:
    rid = contribute(nodes)
    report(nodes, "platform-b", rid)
    opened_by = report(nodes, "platform-c", rid)
    assert statuses(nodes, rid) == {RecordStatus.DISPUTED}
    [[hit]] = nodes.nodes["platform-b"].match([query()])
    assert hit.record_id == rid and hit.disputed
    assert hit.policy[0] == "disputed: reported as a false positive (case opened by platform-c), pending a decision"
    assert any(note.startswith("dispute case pending; stewards may decide from") for note in hit.policy)
    verified = verify_bundle(nodes.nodes["platform-b"].provenance(rid))
    assert verified.status == "disputed"
    store = nodes.nodes["platform-a"].store
    with store.read() as txn:
        [case] = standing.history(store, txn, rid).cases(standing.authority("platform-a", nodes.members))
    assert (case.entry_id, case.author, case.item.case_ref) == (opened_by, "platform-c", DISPUTE_CASE)


def test_a_member_that_changes_its_mind_lifts_the_quarantine(nodes: Consortium) -> None:
    rid = contribute(nodes)
    report(nodes, "platform-b", rid)
    report(nodes, "platform-c", rid)
    report(nodes, "platform-c", rid, Stance.AGREE)
    assert statuses(nodes, rid) == {RecordStatus.ACTIVE}


def test_the_contributor_upholds_the_case_and_earlier_reports_are_reviewed(nodes: Consortium) -> None:
    rid = contribute(nodes)
    report(nodes, "platform-b", rid)
    case = report(nodes, "platform-c", rid)
    nodes.nodes["platform-a"].decide(case, Outcome.UPHELD, "it is propaganda")
    nodes.sync()
    assert statuses(nodes, rid) == {RecordStatus.ACTIVE}
    report(nodes, "flagger", rid)  # one new report after the review: below the quorum again
    assert statuses(nodes, rid) == {RecordStatus.ACTIVE}
    report(nodes, "platform-b", rid)  # platform-b reports again, after the review: a second case opens
    assert statuses(nodes, rid) == {RecordStatus.DISPUTED}


def test_the_contributor_overturns_the_case_and_the_record_stops_matching_everywhere(nodes: Consortium) -> None:
    rid = contribute(nodes)
    report(nodes, "platform-b", rid)
    case = report(nodes, "platform-c", rid)
    nodes.nodes["platform-a"].decide(case, Outcome.OVERTURNED, "a news photo")
    nodes.sync()
    assert statuses(nodes, rid) == {RecordStatus.OVERTURNED}
    assert all(nodes.matches(m) == [] for m in MEMBERS)
    assert verify_bundle(nodes.nodes["platform-c"].provenance(rid)).notes == (
        "overturned on dispute by the contributor platform-a",
    )


def test_withhold_mode_quarantines_by_not_matching(tmp_path: Path) -> None:
    with consortium(tmp_path) as nodes:
        nodes.members.policy = replace(MARK, quarantine=QuarantineMode.WITHHOLD)
        for member in MEMBERS:
            nodes.open(member)
        rid = contribute(nodes)
        report(nodes, "platform-b", rid)
        report(nodes, "platform-c", rid)
        assert statuses(nodes, rid) == {RecordStatus.SUSPENDED}
        assert nodes.matches("platform-b") == []
        assert verify_bundle(nodes.nodes["platform-b"].provenance(rid)).status == "quarantined"


def test_one_trusted_flaggers_report_opens_a_case_when_the_policy_says_so(tmp_path: Path) -> None:
    with consortium(tmp_path) as nodes:
        nodes.members.policy = replace(MARK, dispute_quorum=0, trusted_flagger_disputes=True)
        for member in MEMBERS:
            nodes.open(member)
        rid = contribute(nodes)
        report(nodes, "platform-b", rid)  # not a trusted flagger: nothing
        assert statuses(nodes, rid) == {RecordStatus.ACTIVE}
        report(nodes, "flagger", rid)
        assert statuses(nodes, rid) == {RecordStatus.DISPUTED}


def test_stewards_rule_on_a_case_the_contributor_left_past_the_window(nodes: Consortium) -> None:
    rid = contribute(nodes)
    report(nodes, "platform-b", rid)
    case = report(nodes, "platform-c", rid)
    early = SignedRuling(Ruling(CONSORTIUM, rid, case, Outcome.OVERTURNED, "silence", nodes.clock.now))
    with pytest.raises(DecisionTooEarly):
        nodes.nodes["platform-b"].publish_ruling(early.sign(signing_key("steward-1")))
    nodes.clock.advance(WINDOW)
    late = SignedRuling(Ruling(CONSORTIUM, rid, case, Outcome.OVERTURNED, "silence", nodes.clock.now))
    nodes.nodes["platform-b"].publish_ruling(late.sign(signing_key("steward-1")))
    nodes.sync()
    assert statuses(nodes, rid) == {RecordStatus.OVERTURNED}


def test_without_a_dispute_quorum_reports_never_quarantine(tmp_path: Path) -> None:
    with consortium(tmp_path) as nodes:
        for member in MEMBERS:
            nodes.open(member)
        rid = contribute(nodes)
        for member in ("platform-b", "platform-c", "flagger"):
            report(nodes, member, rid)
        assert statuses(nodes, rid) == {RecordStatus.ACTIVE}
