"""Due process in the ledger, over real LMDB: authoring opinions, appeals and decisions, each status
transition they cause (own and replicated entries, in any arrival order), policy notes on matches, the match
log and its reinstatement notices."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from node.core.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from node.dueprocess.deadlines import DecisionTooEarly, NotDecisionAuthority, UnknownAppeal
from node.dueprocess.items import Outcome, Stance
from node.dueprocess.policy import PolicyConfig
from node.ledger import standing
from node.ledger.ledger import AppealAlreadyDecided, Ledger, RecordStatus
from node.provenance.bundle import verify_bundle
from tests.dueprocess_helpers import (
    HOUR,
    LABEL,
    OTHER_PDQ,
    PDQ,
    PDQ_NEAR,
    WINDOW,
    Consortium,
    consortium,
    membership,
    query,
    record,
)


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[Consortium]:
    """platform-a (contributes), platform-b (matches, appeals), steward-1; default policy everywhere."""
    with consortium(tmp_path) as opened:
        for member in ("platform-a", "platform-b", "steward-1"):
            opened.open(member)
        yield opened


OTHER_LABEL = "tvec.glorification"


def contribute(nodes: Consortium, value: str = PDQ) -> bytes:
    [rid] = nodes.nodes["platform-a"].submit([record(value)]).record_ids
    nodes.sync()
    return rid


def status(ledger: Ledger, rid: bytes) -> RecordStatus:
    return ledger.record(rid).status


def entry_count(ledger: Ledger) -> int:
    return int(ledger.stats()["entries"])  # type: ignore[call-overload]


# --- overturning and upholding ------------------------------------------------------------------------------


def test_the_contributor_overturns_and_the_record_stops_matching_everywhere(nodes: Consortium) -> None:
    rid = contribute(nodes)
    a, b = nodes.nodes["platform-a"], nodes.nodes["platform-b"]
    assert nodes.matches("platform-b", PDQ_NEAR, "post/1") == [rid]
    appeal = b.appeal(rid, "case-17", match_distance=8)
    nodes.deliver("platform-b", "platform-a")
    a.decide(appeal.entry_id, Outcome.OVERTURNED, "satire, not propaganda")
    assert status(a, rid) is RecordStatus.OVERTURNED
    assert nodes.matches("platform-a") == []
    nodes.sync()
    for ledger in nodes.nodes.values():
        assert status(ledger, rid) is RecordStatus.OVERTURNED
        assert nodes.matches(ledger.settings.member_id) == []


def test_an_upheld_appeal_keeps_the_record_and_clears_earlier_reports(tmp_path: Path) -> None:
    with consortium(tmp_path) as nodes:
        a = nodes.open("platform-a")
        b = nodes.open("platform-b", policy=PolicyConfig(suspend_after_false_positive_reports=1))
        nodes.open("platform-c")
        rid = contribute(nodes)
        b.opine(rid, Stance.FALSE_POSITIVE, "not_tvec")
        assert status(b, rid) is RecordStatus.SUSPENDED
        appeal = b.appeal(rid, "case-18")
        nodes.sync()
        assert status(a, rid) is RecordStatus.ACTIVE  # a's policy does not count reports
        nodes.clock.advance(1000)
        a.decide(appeal.entry_id, Outcome.UPHELD, "reviewed: attack footage")
        nodes.sync()
        assert status(b, rid) is RecordStatus.ACTIVE
        [hit] = b.match([query()])[0]
        assert "appeal upheld by the contributor platform-a" in hit.policy


def test_a_steward_decides_once_the_contributor_stayed_silent_past_the_window(nodes: Consortium) -> None:
    rid = contribute(nodes)
    steward = nodes.nodes["steward-1"]
    appeal = nodes.nodes["platform-b"].appeal(rid, "case-19")
    nodes.sync()
    nodes.clock.advance(WINDOW - 1)
    before = entry_count(steward)
    with pytest.raises(DecisionTooEarly, match="stewards from then on"):
        steward.decide(appeal.entry_id, Outcome.OVERTURNED, "no answer")
    assert entry_count(steward) == before  # nothing written
    nodes.clock.advance(1)
    steward.decide(appeal.entry_id, Outcome.OVERTURNED, "no answer from the contributor")
    nodes.sync()
    for ledger in nodes.nodes.values():
        assert status(ledger, rid) is RecordStatus.OVERTURNED


def test_the_window_comes_from_the_consortium(tmp_path: Path) -> None:
    with consortium(tmp_path, members=membership(window_ms=HOUR)) as nodes:
        for member in ("platform-a", "platform-b", "steward-1"):
            nodes.open(member)
        rid = contribute(nodes)
        appeal = nodes.nodes["platform-b"].appeal(rid, "case-20")
        nodes.sync()
        nodes.clock.advance(HOUR)
        nodes.nodes["steward-1"].decide(appeal.entry_id, Outcome.OVERTURNED, "silent for an hour")
        assert status(nodes.nodes["steward-1"], rid) is RecordStatus.OVERTURNED


def test_the_contributor_may_still_decide_after_the_window_if_no_steward_did(nodes: Consortium) -> None:
    rid = contribute(nodes)
    appeal = nodes.nodes["platform-b"].appeal(rid, "case-21")
    nodes.sync()
    nodes.clock.advance(10 * WINDOW)
    nodes.nodes["platform-a"].decide(appeal.entry_id, Outcome.UPHELD, "late but reviewed")
    assert status(nodes.nodes["platform-a"], rid) is RecordStatus.ACTIVE


# --- refused decisions write nothing ------------------------------------------------------------------------


def test_only_the_contributor_and_stewards_decide(nodes: Consortium) -> None:
    rid = contribute(nodes)
    b = nodes.nodes["platform-b"]
    appeal = b.appeal(rid, "case-22")
    before = entry_count(b)
    with pytest.raises(NotDecisionAuthority, match="only the record's contributor"):
        b.decide(appeal.entry_id, Outcome.OVERTURNED, "my own appeal")
    assert entry_count(b) == before


def test_a_decided_appeal_is_not_decided_again(nodes: Consortium) -> None:
    rid = contribute(nodes)
    appeal = nodes.nodes["platform-b"].appeal(rid, "case-23")
    nodes.sync()
    a = nodes.nodes["platform-a"]
    a.decide(appeal.entry_id, Outcome.UPHELD, "reviewed")
    with pytest.raises(AppealAlreadyDecided, match="already upheld by platform-a"):
        a.decide(appeal.entry_id, Outcome.OVERTURNED, "changed my mind")


def test_a_decision_names_an_appeal_this_node_holds(nodes: Consortium) -> None:
    rid = contribute(nodes)
    a = nodes.nodes["platform-a"]
    with pytest.raises(UnknownAppeal, match="appeal_entry_id"):
        a.decide(rid, Outcome.OVERTURNED, "no such appeal")  # a record id is not an appeal entry id
    appeal = nodes.nodes["platform-b"].appeal(rid, "case-24")
    with pytest.raises(UnknownAppeal):  # not replicated to platform-a yet
        a.decide(appeal.entry_id, Outcome.OVERTURNED, "")


@pytest.mark.parametrize(
    ("member", "action", "error", "message"),
    [
        ("platform-a", "opine", FailedPrecondition, "contributed the record"),
        ("steward-1", "opine", PermissionDenied, "want one of contributor, referrer, trusted_flagger to author"),
        ("steward-1", "appeal", PermissionDenied, "want one of contributor, trusted_flagger to author appeal"),
    ],
    ids=["own record", "steward opinion", "steward appeal"],
)
def test_who_may_file_opinions_and_appeals(
    nodes: Consortium, member: str, action: str, error: type[Exception], message: str
) -> None:
    rid = contribute(nodes)
    ledger = nodes.nodes[member]
    with pytest.raises(error, match=message):
        if action == "opine":
            ledger.opine(rid, Stance.FALSE_POSITIVE)
        else:
            ledger.appeal(rid, "case-25")


def test_bad_input_names_the_field_and_writes_nothing(nodes: Consortium) -> None:
    rid = contribute(nodes)
    b = nodes.nodes["platform-b"]
    before = entry_count(b)
    with pytest.raises(InvalidArgument, match="case_ref"):
        b.appeal(rid, "jane.doe@example.com")
    with pytest.raises(InvalidArgument, match="reason_code"):
        b.opine(rid, Stance.DISAGREE, "Not A Code")
    with pytest.raises(NotFound, match="record_id"):
        b.opine(bytes(32), Stance.DISAGREE)
    assert entry_count(b) == before


def test_a_record_that_no_longer_matches_cannot_be_appealed(nodes: Consortium) -> None:
    rid = contribute(nodes)
    nodes.nodes["platform-a"].retract([rid], "mistake")
    nodes.sync()
    with pytest.raises(FailedPrecondition, match="already retracted"):
        nodes.nodes["platform-b"].appeal(rid, "case-26")


# --- arrival order ------------------------------------------------------------------------------------------


def test_a_decision_that_arrives_before_its_appeal_waits_for_it(tmp_path: Path) -> None:
    with consortium(tmp_path) as nodes:
        for member in ("platform-a", "platform-b", "platform-c"):
            nodes.open(member)
        rid = contribute(nodes)
        appeal = nodes.nodes["platform-b"].appeal(rid, "case-27")
        nodes.deliver("platform-b", "platform-a")
        nodes.nodes["platform-a"].decide(appeal.entry_id, Outcome.OVERTURNED, "")
        c = nodes.nodes["platform-c"]
        nodes.deliver("platform-a", "platform-c", ("platform-a",))  # the decision, not yet b's appeal
        assert status(c, rid) is RecordStatus.ACTIVE
        nodes.deliver("platform-b", "platform-c")
        assert status(c, rid) is RecordStatus.OVERTURNED
        assert nodes.matches("platform-c") == []


def test_a_record_whose_history_arrived_first_starts_in_its_derived_status(tmp_path: Path) -> None:
    with consortium(tmp_path) as nodes:
        a, b = nodes.open("platform-a"), nodes.open("platform-b")
        rid = contribute(nodes)
        appeal = b.appeal(rid, "case-28")
        nodes.deliver("platform-b", "platform-a")
        a.decide(appeal.entry_id, Outcome.OVERTURNED, "")
        c = nodes.open("platform-c")
        # b's log (the appeal) reaches c before a's (the record and the decision): the appeal waits for the
        # record, and the record starts overturned.
        nodes.deliver("platform-b", "platform-c", ("platform-b",))
        assert nodes.deliver("platform-a", "platform-c", ("platform-a",)) == 2
        assert status(c, rid) is RecordStatus.OVERTURNED
        assert nodes.matches("platform-c") == []


# --- local policy -------------------------------------------------------------------------------------------


def test_endorsements_required_by_policy_withhold_new_records_until_given(tmp_path: Path) -> None:
    with consortium(tmp_path) as nodes:
        nodes.open("platform-a")
        b = nodes.open("platform-b", policy=PolicyConfig(min_endorsements=1))
        c = nodes.open("platform-c")
        rid = contribute(nodes)
        assert status(b, rid) is RecordStatus.SUSPENDED
        assert nodes.matches("platform-b") == []
        c.opine(rid, Stance.AGREE)
        nodes.sync()
        assert status(b, rid) is RecordStatus.ACTIVE
        [hit] = b.match([query()])[0]
        assert hit.policy == ("endorsed by 1 member",)


def test_a_trusted_flaggers_record_matches_without_endorsements_when_preferred(tmp_path: Path) -> None:
    with consortium(tmp_path) as nodes:
        flagger = nodes.open("flagger")
        policy = PolicyConfig(min_endorsements=2, trusted_flagger_preferred=True)
        b = nodes.open("platform-b", policy=policy)
        [rid] = flagger.submit([record()]).record_ids
        nodes.sync()
        [hit] = b.match([query()])[0]
        assert hit.record_id == rid
        assert hit.policy == (
            "trusted flagger contribution",
            "policy: 0 endorsements < 2 required — waived for a trusted flagger",
        )


def test_the_verdicts_of_one_match_agree_with_record_by_record_verdicts(tmp_path: Path) -> None:
    # A match derives the verdict of a record nothing was said about once per (contributor, labels).
    policy = PolicyConfig(
        min_endorsements=1,
        trusted_flagger_preferred=True,
        accept_labels_from={"platform-a": frozenset({LABEL})},
    )
    values = [f"{i:02x}" * 32 for i in range(1, 7)]
    with consortium(tmp_path) as nodes:
        a, flagger = nodes.open("platform-a"), nodes.open("flagger")
        b = nodes.open("platform-b", policy=policy)
        labelled = [record(v, label) for v, label in zip(values[:4], [LABEL, OTHER_LABEL] * 2, strict=True)]
        rids = a.submit(labelled).record_ids + flagger.submit([record(v) for v in values[4:]]).record_ids
        nodes.sync()
        b.opine(rids[0], Stance.AGREE)  # a history: judged on its own
        with b.store.read() as txn:
            verdicts = standing.Verdicts(b.store, txn, b.membership, policy)
            for rid in rids * 2:  # the second round answers from what the first one derived
                row = b.store.record(txn, b.store.ordinal(txn, rid))
                assert row is not None
                expected = standing.verdict(b.store, txn, row, b.membership, policy)
                notes = verdicts.notes(row.ordinal, row.encode(), rid, row.author, row.record.labels)
                assert notes == expected.notes


def test_a_changed_policy_reevaluates_every_record_at_start(tmp_path: Path) -> None:
    with consortium(tmp_path) as nodes:
        nodes.open("platform-a")
        nodes.open("platform-b", policy=PolicyConfig(min_endorsements=1))
        rid = contribute(nodes)
        assert status(nodes.nodes["platform-b"], rid) is RecordStatus.SUSPENDED
        nodes.nodes.pop("platform-b").close()
        b = nodes.open("platform-b")
        assert status(b, rid) is RecordStatus.ACTIVE
        assert nodes.matches("platform-b") == [rid]


def test_a_revoked_contributors_late_record_stays_withheld_whatever_the_opinions(tmp_path: Path) -> None:
    with consortium(tmp_path) as nodes:
        a, b = nodes.open("platform-a"), nodes.open("platform-b")
        rid = contribute(nodes)
        revoked = replace(
            nodes.members.members["platform-a"], status="revoked", revoked_after_ms=nodes.clock.now - 1
        )
        nodes.members.members["platform-a"] = revoked
        b.opine(rid, Stance.AGREE)  # re-evaluation applies the local withhold
        assert status(b, rid) is RecordStatus.SUSPENDED
        assert a is not None


# --- the match log and reinstatement notices ----------------------------------------------------------------


def test_overturning_issues_a_notice_for_each_content_that_matched(nodes: Consortium) -> None:
    rid = contribute(nodes)
    other = contribute(nodes, OTHER_PDQ)
    b = nodes.nodes["platform-b"]
    assert nodes.matches("platform-b", PDQ_NEAR, "post/1") == [rid]
    assert nodes.matches("platform-b", PDQ, "post/2") == [rid]
    assert nodes.matches("platform-b", OTHER_PDQ, "post/2") == [other]  # post/2 also matched another record
    assert nodes.matches("platform-b", OTHER_PDQ, "post/3") == [other]
    appeal = b.appeal(rid, "case-30")
    nodes.sync()
    nodes.nodes["platform-a"].decide(appeal.entry_id, Outcome.OVERTURNED, "")
    nodes.sync()
    notices = b.notices()
    assert [(n.notice.content_ref, n.cause, n.standing, n.notice.cleared) for n in notices] == [
        ("post/1", rid, "overturned", True),
        ("post/2", rid, "overturned", False),
    ]
    assert notices[1].notice.still_matched == (other,)
    assert b.notices(after=notices[0].number) == notices[1:]
    # Other nodes never matched it: no notices there.
    assert nodes.nodes["platform-a"].notices() == []


def test_a_retraction_issues_notices_too(nodes: Consortium) -> None:
    rid = contribute(nodes)
    nodes.matches("platform-b", PDQ, "post/9")
    nodes.nodes["platform-a"].retract([rid], "hash of the wrong file")
    nodes.sync()
    [notice] = nodes.nodes["platform-b"].notices()
    assert (notice.notice.content_ref, notice.standing) == ("post/9", "retracted")


def test_explain_gives_the_provenance_of_every_match_of_a_content(nodes: Consortium) -> None:
    rid = contribute(nodes)
    b = nodes.nodes["platform-b"]
    [[hit]] = b.match([query(content_ref="post/5")])
    [explained] = b.explain("post/5")
    assert (explained.match.record_id, explained.match.query_id) == (rid, hit.query_id)
    assert verify_bundle(explained.bundle).record_id == rid
    with pytest.raises(NotFound, match="no logged match"):
        b.explain("post/never")
    with pytest.raises(InvalidArgument, match="content_ref"):
        b.explain("")


def test_explain_by_query_id_gives_the_matches_of_that_query(nodes: Consortium) -> None:
    rid = contribute(nodes)
    b = nodes.nodes["platform-b"]
    [[hit]] = b.match([query()])  # no content reference: the query id is all the platform has
    b.match([query(content_ref="post/other")])
    [explained] = b.explain(query_id=hit.query_id)
    assert (explained.match.record_id, explained.match.query_id) == (rid, hit.query_id)
    [same] = b.explain(hit.query_id)  # a content reference nobody used that is a query id: taken as one
    assert same.match == explained.match
    with pytest.raises(NotFound, match="no logged match of query"):
        b.explain(query_id="0123456789abcdef")
    with pytest.raises(InvalidArgument, match="query_id: got nope, want 16 hex digits"):
        b.explain(query_id="nope")


def test_the_same_appeal_filed_twice_returns_the_first_entry(nodes: Consortium) -> None:
    rid = contribute(nodes)
    b = nodes.nodes["platform-b"]
    first, existed = b.file_appeal(rid, "CASE-9", 3)
    before = entry_count(b)
    again, existed_again = b.file_appeal(rid, "CASE-9", 5)
    assert (existed, existed_again, again.entry_id) == (False, True, first.entry_id)
    assert b.appeal(rid, "CASE-9") == first
    assert entry_count(b) == before
    other, _ = b.file_appeal(rid, "CASE-10")
    assert other.entry_id != first.entry_id  # another case is another appeal


def test_a_filed_appeal_is_returned_even_once_its_record_is_overturned(nodes: Consortium) -> None:
    rid = contribute(nodes)
    a, b = nodes.nodes["platform-a"], nodes.nodes["platform-b"]
    first = b.appeal(rid, "CASE-9")
    nodes.sync()
    a.decide(first.entry_id, Outcome.OVERTURNED, "news")
    nodes.sync()
    assert b.file_appeal(rid, "CASE-9") == (first, True)
    with pytest.raises(FailedPrecondition, match="already overturned"):
        b.appeal(rid, "CASE-10")


def test_matches_older_than_the_retention_are_pruned_and_issue_no_notice(tmp_path: Path) -> None:
    with consortium(tmp_path) as nodes:
        a = nodes.open("platform-a")
        b = nodes.open("platform-b", retention_ms=HOUR)
        rid = contribute(nodes)
        nodes.matches("platform-b", PDQ, "post/old")
        nodes.clock.advance(HOUR + 1)
        nodes.matches("platform-b", PDQ, "post/new")
        assert b.prune_match_log() == (1, 0, 0)
        a.retract([rid], "")
        nodes.sync()
        assert [n.notice.content_ref for n in b.notices()] == ["post/new"]


def test_without_a_match_log_nothing_is_kept(tmp_path: Path) -> None:
    with consortium(tmp_path) as nodes:
        nodes.open("platform-a")
        b = nodes.open("platform-b", retention_ms=0)
        contribute(nodes)
        [[hit]] = b.match([query(content_ref="post/1")])
        assert hit.query_id == ""
        with pytest.raises(NotFound):
            b.explain("post/1")


def test_unflushed_matches_survive_a_restart(tmp_path: Path) -> None:
    with consortium(tmp_path) as nodes:
        nodes.open("platform-a")
        nodes.open("platform-b")
        contribute(nodes)
        nodes.matches("platform-b", PDQ, "post/1")
        nodes.nodes.pop("platform-b").close()  # close flushes
        assert len(nodes.open("platform-b").explain("post/1")) == 1


def test_a_roster_change_that_makes_a_member_a_steward_reevaluates(nodes: Consortium) -> None:
    rid = contribute(nodes)
    b, c = nodes.nodes["platform-b"], nodes.nodes["steward-1"]
    appeal = b.appeal(rid, "case-40")
    nodes.sync()
    nodes.clock.advance(WINDOW)
    c.decide(appeal.entry_id, Outcome.OVERTURNED, "silent contributor")
    demoted = membership(**{"steward-1": replace(nodes.members.members["steward-1"], roles=("observer",))})
    b.membership = demoted
    nodes.deliver("steward-1", "platform-b")
    assert status(b, rid) is RecordStatus.ACTIVE  # a decision by a non-steward counts for nothing
    b.membership = nodes.members
    assert status(b, rid) is RecordStatus.OVERTURNED
    assert nodes.matches("platform-b") == []


def test_standing_reads_purges_where_revocation_records_them() -> None:
    from node.ledger import revocation, standing

    assert standing.PURGED_MEMBER_PREFIX == revocation.PURGE_PREFIX
