"""Who may decide an appeal and which decision counts (docs/due-process.md, "Deciding appeals")."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest

from node.core.errors import FailedPrecondition, NotFound, PermissionDenied
from node.dueprocess.deadlines import (
    DecisionAuthority,
    DecisionBeforeAppeal,
    DecisionTooEarly,
    NotDecisionAuthority,
    Ruling,
    UnknownAppeal,
    check_decision,
    resolve,
    resolve_record,
)
from node.dueprocess.items import AppealItem, DecidedAs, DecisionItem, Outcome, VerifiedItem

H = 3_600_000
T0 = 1_700_000_000_000  # when the appeal was signed
RID = b"\x01" * 32
APPEAL_ENTRY = b"\xaa" * 32
CONTRIBUTOR, STEWARD, OTHER = "platform-a", "steward-1", "platform-c"
AUTHORITY = DecisionAuthority(contributor=CONTRIBUTOR, stewards=frozenset({STEWARD}), window_ms=72 * H)
APPEAL = VerifiedItem("platform-b", T0, APPEAL_ENTRY, AppealItem(RID, "CASE-7", 3))

UP, OV = Outcome.UPHELD, Outcome.OVERTURNED
AS_C, AS_S = DecidedAs.CONTRIBUTOR, DecidedAs.STEWARD


def decision(
    author: str,
    at_ms: int,
    outcome: Outcome,
    decided_as: DecidedAs,
    tag: int,
    *,
    appeal_entry: bytes = APPEAL_ENTRY,
) -> VerifiedItem[DecisionItem]:
    """A decision signed by `author` at T0 + at_ms; `tag` makes its entry id."""
    return VerifiedItem(
        author, T0 + at_ms, bytes([tag]) * 32, DecisionItem(RID, appeal_entry, outcome, "", decided_as)
    )


@dataclass(frozen=True)
class Case:
    name: str
    decisions: tuple[VerifiedItem[DecisionItem], ...]
    outcome: Outcome | None
    effective_by: str | None
    rulings: tuple[Ruling, ...]  # in (timestamp, entry id) order


R_E, R_S, R_R = Ruling.EFFECTIVE, Ruling.SUPERSEDED, Ruling.REFUSED

CASES = [
    Case("no decision yet: pending", (), None, None, ()),
    Case(
        "contributor decides within the window",
        (decision(CONTRIBUTOR, 5 * H, OV, AS_C, 1),),
        OV,
        CONTRIBUTOR,
        (R_E,),
    ),
    Case(
        "contributor may still decide after the window when no steward has",
        (decision(CONTRIBUTOR, 100 * H, UP, AS_C, 1),),
        UP,
        CONTRIBUTOR,
        (R_E,),
    ),
    Case(
        "steward decides when the contributor is silent past the deadline",
        (decision(STEWARD, 73 * H, OV, AS_S, 1),),
        OV,
        STEWARD,
        (R_E,),
    ),
    Case(
        "steward decides exactly at the deadline",
        (decision(STEWARD, 72 * H, OV, AS_S, 1),),
        OV,
        STEWARD,
        (R_E,),
    ),
    Case("steward too early is refused", (decision(STEWARD, 72 * H - 1, OV, AS_S, 1),), None, None, (R_R,)),
    Case(
        "steward too early is refused, and the contributor's later decision counts",
        (decision(STEWARD, 1 * H, OV, AS_S, 1), decision(CONTRIBUTOR, 2 * H, UP, AS_C, 2)),
        UP,
        CONTRIBUTOR,
        (R_R, R_E),
    ),
    Case(
        "contributor's later decision after the steward's does not flip",
        (decision(STEWARD, 80 * H, OV, AS_S, 1), decision(CONTRIBUTOR, 81 * H, UP, AS_C, 2)),
        OV,
        STEWARD,
        (R_E, R_S),
    ),
    Case(
        "a second steward's later decision does not flip",
        (decision(STEWARD, 80 * H, UP, AS_S, 1), decision(STEWARD, 90 * H, OV, AS_S, 2)),
        UP,
        STEWARD,
        (R_E, R_S),
    ),
    Case(
        "contributor's second decision does not flip its first",
        (decision(CONTRIBUTOR, 1 * H, UP, AS_C, 1), decision(CONTRIBUTOR, 2 * H, OV, AS_C, 2)),
        UP,
        CONTRIBUTOR,
        (R_E, R_S),
    ),
    Case(
        "same timestamp: the smaller entry id decides",
        (decision(STEWARD, 80 * H, OV, AS_S, 9), decision(CONTRIBUTOR, 80 * H, UP, AS_C, 3)),
        UP,
        CONTRIBUTOR,
        (R_E, R_S),
    ),
    Case(
        "a non-steward non-contributor is refused",
        (decision(OTHER, 80 * H, OV, AS_S, 1),),
        None,
        None,
        (R_R,),
    ),
    Case(
        "a member posing as the contributor is refused",
        (decision(OTHER, 1 * H, OV, AS_C, 1),),
        None,
        None,
        (R_R,),
    ),
    Case(
        "a steward posing as the contributor is refused",
        (decision(STEWARD, 1 * H, OV, AS_C, 1),),
        None,
        None,
        (R_R,),
    ),
    Case(
        "the contributor claiming steward capacity is refused",
        (decision(CONTRIBUTOR, 80 * H, OV, AS_S, 1),),
        None,
        None,
        (R_R,),
    ),
    Case(
        "a decision dated before the appeal is refused",
        (decision(CONTRIBUTOR, -1, OV, AS_C, 1),),
        None,
        None,
        (R_R,),
    ),
    Case(
        "a decision about another appeal is not this appeal's",
        (decision(CONTRIBUTOR, 1 * H, OV, AS_C, 1, appeal_entry=b"\xbb" * 32),),
        None,
        None,
        (),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_resolution(case: Case) -> None:
    resolution = resolve(APPEAL, case.decisions, AUTHORITY)
    assert resolution.outcome == case.outcome
    assert (resolution.effective.author if resolution.effective else None) == case.effective_by
    assert tuple(r.ruling for r in resolution.decisions) == case.rulings
    assert resolution.deadline_ms == T0 + 72 * H


@pytest.mark.parametrize("case", [c for c in CASES if len(c.decisions) > 1], ids=lambda c: c.name)
def test_resolution_does_not_depend_on_arrival_order(case: Case) -> None:
    outcomes = {resolve(APPEAL, order, AUTHORITY) for order in itertools.permutations(case.decisions)}
    assert len(outcomes) == 1


@dataclass(frozen=True)
class RefusalCase:
    name: str
    decision: VerifiedItem[DecisionItem]
    error: type[Exception]
    status_class: type[Exception]  # what the API maps it by


REFUSALS = [
    RefusalCase(
        "steward too early", decision(STEWARD, 71 * H, OV, AS_S, 1), DecisionTooEarly, FailedPrecondition
    ),
    RefusalCase(
        "not an authority", decision(OTHER, 80 * H, OV, AS_S, 1), NotDecisionAuthority, PermissionDenied
    ),
    RefusalCase(
        "before the appeal", decision(CONTRIBUTOR, -H, OV, AS_C, 1), DecisionBeforeAppeal, FailedPrecondition
    ),
    RefusalCase(
        "unknown appeal",
        decision(CONTRIBUTOR, H, OV, AS_C, 1, appeal_entry=b"\xbb" * 32),
        UnknownAppeal,
        NotFound,
    ),
]


@pytest.mark.parametrize("case", REFUSALS, ids=[c.name for c in REFUSALS])
def test_check_decision_raises_a_typed_error(case: RefusalCase) -> None:
    with pytest.raises(case.error) as raised:
        check_decision(APPEAL, case.decision, AUTHORITY)
    assert isinstance(raised.value, case.status_class)


def test_check_decision_without_the_appeal_is_unknown_appeal() -> None:
    with pytest.raises(UnknownAppeal):
        check_decision(None, decision(CONTRIBUTOR, H, OV, AS_C, 1), AUTHORITY)


def test_refused_decision_says_why() -> None:
    [ruled] = resolve(APPEAL, [decision(STEWARD, H, OV, AS_S, 1)], AUTHORITY).decisions
    assert "the contributor may decide until" in ruled.why


def test_stewards_may_decide_only_once_the_deadline_passed_and_while_pending() -> None:
    pending = resolve(APPEAL, [], AUTHORITY)
    assert not pending.stewards_may_decide(T0 + 72 * H - 1)
    assert pending.stewards_may_decide(T0 + 72 * H)
    decided = resolve(APPEAL, [decision(CONTRIBUTOR, H, UP, AS_C, 1)], AUTHORITY)
    assert not decided.stewards_may_decide(T0 + 100 * H)


def test_the_window_is_configurable() -> None:
    short = DecisionAuthority(CONTRIBUTOR, frozenset({STEWARD}), window_ms=H)
    assert resolve(APPEAL, [decision(STEWARD, H, OV, AS_S, 1)], short).outcome is OV


def test_resolve_record_counts_duplicate_items_of_one_appeal_entry_once_and_keeps_orphans() -> None:
    second_item = VerifiedItem("platform-b", T0, APPEAL_ENTRY, AppealItem(RID, "CASE-7-dup"))
    later = VerifiedItem("platform-c", T0 + H, b"\xcc" * 32, AppealItem(RID, "C-2"))
    orphan = decision(CONTRIBUTOR, 2 * H, OV, AS_C, 5, appeal_entry=b"\xdd" * 32)
    record = resolve_record(
        [later, APPEAL, second_item], [orphan, decision(CONTRIBUTOR, H, UP, AS_C, 1)], AUTHORITY
    )
    assert [r.key.appeal_entry_id for r in record.resolutions] == [APPEAL_ENTRY, b"\xcc" * 32]
    assert [r.outcome for r in record.resolutions] == [UP, None]
    assert record.orphans == (orphan,)
