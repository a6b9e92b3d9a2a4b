"""A member's open cases in priority order (docs/due-process.md, "Case queue"): trusted flaggers' and
referrers' cases first, then by deadline; each with its deadline and the points of contact. Real LMDB,
in-process nodes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from node.dueprocess.items import Outcome, Stance
from node.ledger.cases import open_cases
from node.membership.consortium_policy import ConsortiumPolicy
from tests.dueprocess_helpers import OTHER_PDQ, PDQ, WINDOW, Consortium, consortium, record

THIRD_PDQ = "33" * 32
MEMBERS = ("platform-a", "platform-b", "platform-c", "flagger", "hotline", "steward-1")


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[Consortium]:
    """platform-a's three records: platform-b appeals the first, the trusted flagger the second, and reports by
    platform-c and the referral hotline open a dispute case about the third."""
    with consortium(tmp_path) as opened:
        opened.members.policy = ConsortiumPolicy(decision_window_ms=WINDOW, dispute_quorum=2)
        for member in MEMBERS:
            opened.open(member)
        rids = opened.nodes["platform-a"].submit([record(PDQ), record(OTHER_PDQ), record(THIRD_PDQ)]).record_ids
        opened.sync()
        for member, step in (
            ("platform-b", lambda n: n.appeal(rids[0], "CASE-B")),
            ("flagger", lambda n: n.appeal(rids[1], "CASE-F")),
            ("platform-c", lambda n: n.opine(rids[2], Stance.FALSE_POSITIVE)),
            ("hotline", lambda n: n.opine(rids[2], Stance.FALSE_POSITIVE)),
        ):
            opened.clock.advance(60_000)
            step(opened.nodes[member])
            opened.sync()
        yield opened


def summary(nodes: Consortium, member: str) -> list[tuple[str, str, str, str, str]]:
    return [
        (c.kind, c.role, c.case_ref, c.opened_by, c.priority)
        for c in open_cases(nodes.nodes[member], nodes.clock.now)
    ]


def test_the_contributors_queue_puts_trusted_flaggers_and_referrers_first(nodes: Consortium) -> None:
    assert summary(nodes, "platform-a") == [
        ("appeal", "to_decide", "CASE-F", "flagger", "trusted_flagger"),
        ("dispute", "to_decide", "", "hotline", "referrer"),
        ("appeal", "to_decide", "CASE-B", "platform-b", ""),
    ]


def test_each_case_carries_its_deadline_and_the_points_of_contact(nodes: Consortium) -> None:
    first = open_cases(nodes.nodes["platform-a"], nodes.clock.now)[0]
    assert first.deadline_ms == first.opened_at_ms + WINDOW and not first.overdue(nodes.clock.now)
    assert (first.contributor_contact, first.opened_by_contact) == ("tns@platform-a.example", "tns@flagger.example")


def test_a_member_sees_the_cases_it_filed(nodes: Consortium) -> None:
    assert summary(nodes, "platform-b") == [("appeal", "filed", "CASE-B", "platform-b", "")]
    assert summary(nodes, "platform-c") == []  # its report did not open the case: the hotline's did


def test_stewards_see_the_cases_left_past_the_window(nodes: Consortium) -> None:
    assert summary(nodes, "steward-1") == []
    nodes.clock.advance(WINDOW)
    assert [role for _, role, *_ in summary(nodes, "steward-1")] == ["to_rule"] * 3
    assert all(c.overdue(nodes.clock.now) for c in open_cases(nodes.nodes["platform-a"], nodes.clock.now))


def test_a_decided_case_leaves_the_queue(nodes: Consortium) -> None:
    case = open_cases(nodes.nodes["platform-a"], nodes.clock.now)[0]
    nodes.nodes["platform-a"].decide(case.case_id, Outcome.UPHELD, "reviewed")
    assert [c.case_ref for c in open_cases(nodes.nodes["platform-a"], nodes.clock.now)] == ["", "CASE-B"]
