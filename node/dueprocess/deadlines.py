"""Who may decide an appeal, and which decision counts (docs/due-process.md, "Deciding appeals").

The record's contributor decides. If it has not decided within the consortium's decision window after the
appeal, any steward may decide too. The first valid decision, ordered by (signed timestamp, entry id), is the
outcome; later valid decisions stay on record as superseded, invalid ones as refused. `resolve` is a pure
function of the set of verified items it is given, so every node that holds the same entries derives the same
outcome, whatever order replication delivered them in.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from node.core.errors import FailedPrecondition, HashnodeError, InvalidArgument, NotFound, PermissionDenied
from node.dueprocess.items import (
    DISPUTE_CASE,
    AppealItem,
    AppealKey,
    DecidedAs,
    DecisionItem,
    Outcome,
    VerifiedItem,
)
from node.dueprocess.ruling import signed_bytes, steward_signers
from node.membership.consortium_policy import QuarantineMode

# The window is a consortium parameter read with the membership; re-exported for callers of this module.
from node.membership.members import DEFAULT_DECISION_WINDOW_MS as DEFAULT_DECISION_WINDOW_MS
from node.membership.members import HOUR_MS as HOUR_MS
from node.membership.members import MemberKey

# Why a decision does not count (docs/protocol.md §9.7, step 4): rule id → what it refuses. Every ruling that is
# not effective or superseded names one of these, in both verifiers; tests/test_bundle_vectors.py keeps this table,
# the document's rule index (§9.8) and the conformance vectors equal, and finds every id the verifiers' code names.
DECISION_RULES: dict[str, str] = {
    "decision.before_appeal": "the decision is timestamped before the appeal or case it decides",
    "decision.not_contributor": "decided as the contributor by another member",
    "decision.not_steward": "decided as a steward by a member without the steward role",
    "decision.single_steward": "decided as a steward alone while the steward quorum is above 1",
    "decision.too_early": "decided as a steward before the decision window closed",
    "decision.ruling_quorum": "a stewards' ruling carries valid signatures of fewer distinct stewards than the quorum",
    "decision.ruling_too_early": "a stewards' ruling ruled before the decision window closed",
    "decision.ruling_postdated": "a stewards' ruling dated after the entry that publishes it",
    "decision.no_case": "pending: the decision names no appeal or dispute case of the record in the bundle",
}


class _Refusal(HashnodeError):
    """A refusal of due process; from `check_decision` it names its rule (one of DECISION_RULES)."""

    rule: str = ""


def _refused(cls: type[_Refusal], rule: str, message: str) -> _Refusal:
    if rule not in DECISION_RULES:
        raise KeyError(f"undocumented decision rule {rule!r}")
    error = cls(message)
    error.rule = rule
    return error


class NotDecisionAuthority(_Refusal, PermissionDenied):
    """The decision's author is not who `decided_as` says (the contributor, or a steward)."""


class DecisionTooEarly(_Refusal, FailedPrecondition):
    """A steward decided while the contributor's decision window was still open."""


class DecisionBeforeAppeal(_Refusal, FailedPrecondition):
    """The decision is timestamped before the appeal it decides."""


class UnknownAppeal(_Refusal, NotFound):
    """The decision names an appeal this node does not hold (yet: replication may deliver it later)."""


@dataclass(frozen=True)
class DecisionAuthority:
    """Who may decide appeals about one record. `window_ms` is a consortium parameter: every node must use the
    same value, or nodes would disagree on which decisions are valid."""

    contributor: str
    stewards: frozenset[str]
    window_ms: int = DEFAULT_DECISION_WINDOW_MS
    # A stewards' ruling counts when this many distinct stewards signed it; above 1, a single steward's own
    # decision does not count either (the consortium's policy, docs/due-process.md "Consortium policy").
    steward_quorum: int = 1
    consortium_id: str = ""  # what a ruling's signatures sign, with the ruling
    steward_keys: tuple[tuple[str, MemberKey], ...] = ()  # (steward, key): the keys that sign rulings
    # When disputes quarantine the record and open a case (node/dueprocess/disputes.py), and what that does.
    dispute_quorum: int = 0
    trusted_flagger_disputes: bool = False
    trusted_flaggers: frozenset[str] = frozenset()
    quarantine: QuarantineMode = QuarantineMode.MARK

    def __post_init__(self) -> None:
        if self.window_ms < 0:
            raise InvalidArgument("window_ms", self.window_ms, ">= 0")
        if self.steward_quorum < 1:
            raise InvalidArgument("steward_quorum", self.steward_quorum, ">= 1")


def appeal_key(appeal: VerifiedItem[AppealItem]) -> AppealKey:
    return AppealKey(appeal.entry_id, appeal.item.record_id)


def decision_key(decision: VerifiedItem[DecisionItem]) -> AppealKey:
    return AppealKey(decision.item.appeal_entry_id, decision.item.record_id)


def deadline_ms(appeal: VerifiedItem[AppealItem], authority: DecisionAuthority) -> int:
    """From this time on (inclusive), stewards may decide the appeal."""
    return appeal.timestamp_ms + authority.window_ms


def check_decision(
    appeal: VerifiedItem[AppealItem] | None,
    decision: VerifiedItem[DecisionItem],
    authority: DecisionAuthority,
) -> None:
    """Raises the typed error that makes `decision` invalid for `appeal`, or returns if it is valid.

    The ledger calls this before authoring a decision, so a member is refused what its peers would ignore.

    Raises:
        UnknownAppeal: `appeal` is None or is not the appeal the decision names.
        DecisionBeforeAppeal: the decision is timestamped before the appeal.
        NotDecisionAuthority: the author does not hold the capacity in `decided_as`.
        DecisionTooEarly: a steward decided before the deadline, or a stewards' ruling is dated before it or
            after the entry that publishes it.
    """
    key = decision_key(decision)
    if appeal is None or appeal_key(appeal) != key:
        raise _refused(UnknownAppeal, "decision.no_case",
                       f"decision {decision.entry_id.hex()[:16]}…: no appeal {key.short()} on this node")
    if decision.timestamp_ms < appeal.timestamp_ms:
        raise _refused(
            DecisionBeforeAppeal, "decision.before_appeal",
            f"decision {decision.entry_id.hex()[:16]}…: timestamped {decision.timestamp_ms}, "
            f"before the appeal at {appeal.timestamp_ms}",
        )
    author, decided_as = decision.author, decision.item.decided_as
    if decided_as is DecidedAs.CONTRIBUTOR and author != authority.contributor:
        raise _refused(
            NotDecisionAuthority, "decision.not_contributor",
            f"decision by {author!r} as contributor: the record's contributor is {authority.contributor!r}",
        )
    if decided_as is DecidedAs.STEWARD:
        if author not in authority.stewards:
            raise _refused(NotDecisionAuthority, "decision.not_steward",
                           f"decision by {author!r} as steward: {author!r} is not a steward")
        if authority.steward_quorum > 1:
            raise _refused(
                NotDecisionAuthority, "decision.single_steward",
                f"decision by {author!r} as steward: the consortium's policy wants rulings signed by "
                f"{authority.steward_quorum} stewards",
            )
        _check_deadline(appeal, decision.timestamp_ms, f"steward decision by {author!r}", authority,
                        "decision.too_early")
    if decided_as is DecidedAs.STEWARDS:
        check_ruling(decision.item, authority)
        _check_deadline(appeal, decision.item.ruled_at_ms, "stewards' ruling", authority, "decision.ruling_too_early")
        if decision.item.ruled_at_ms > decision.timestamp_ms:
            # ruled_at_ms is the stewards' own claim: a ruling dated after the window but published inside it
            # would let the stewards take the contributor's window. It cannot be dated after its publication.
            raise _refused(
                DecisionTooEarly, "decision.ruling_postdated",
                f"stewards' ruling dated {decision.item.ruled_at_ms}, after the entry that publishes it "
                f"({decision.timestamp_ms})",
            )


def check_ruling(item: DecisionItem, authority: DecisionAuthority) -> list[str]:
    """The stewards whose valid signatures a ruling carries; raises if they are fewer than the quorum.

    Raises:
        NotDecisionAuthority: fewer distinct stewards than `steward_quorum` signed the ruling.
    """
    signed = signed_bytes(item, authority.consortium_id)
    signers = steward_signers(signed, item.signatures, authority.steward_keys, item.ruled_at_ms)
    if len(signers) < authority.steward_quorum:
        names = ", ".join(signers) or "none"
        raise _refused(
            NotDecisionAuthority, "decision.ruling_quorum",
            f"stewards' ruling: signed by {len(signers)} steward(s) ({names}), want {authority.steward_quorum}",
        )
    return signers


def _check_deadline(
    appeal: VerifiedItem[AppealItem], at_ms: int, what: str, authority: DecisionAuthority, rule: str
) -> None:
    deadline = deadline_ms(appeal, authority)
    if at_ms < deadline:
        raise _refused(
            DecisionTooEarly, rule,
            f"{what} at {at_ms}: the contributor may decide until {deadline}; stewards from then on",
        )


class Ruling(enum.StrEnum):
    EFFECTIVE = "effective"  # the first valid decision: its outcome is the appeal's outcome
    SUPERSEDED = "superseded"  # valid, but a valid decision came first
    REFUSED = "refused"  # invalid; kept as history only


@dataclass(frozen=True)
class RuledDecision:
    decision: VerifiedItem[DecisionItem]
    ruling: Ruling
    why: str  # empty for the effective decision
    rule: str = ""  # refused: the rule of DECISION_RULES it breaks


@dataclass(frozen=True)
class AppealResolution:
    key: AppealKey
    appellant: str
    appealed_at_ms: int
    deadline_ms: int
    outcome: Outcome | None  # None while pending
    effective: VerifiedItem[DecisionItem] | None
    decisions: tuple[RuledDecision, ...]  # every decision about this appeal, in (timestamp, entry id) order
    case_ref: str = ""  # the appeal's case reference; DISPUTE_CASE for a case opened by disputes

    @property
    def dispute(self) -> bool:
        """A case opened by disputes (node/dueprocess/disputes.py), not by an appeal."""
        return self.case_ref == DISPUTE_CASE

    @property
    def pending(self) -> bool:
        return self.outcome is None

    def stewards_may_decide(self, now_ms: int) -> bool:
        return self.pending and now_ms >= self.deadline_ms


def _order(decision: VerifiedItem[DecisionItem]) -> tuple[int, bytes]:
    return decision.timestamp_ms, decision.entry_id


def resolve(
    appeal: VerifiedItem[AppealItem],
    decisions: Iterable[VerifiedItem[DecisionItem]],
    authority: DecisionAuthority,
) -> AppealResolution:
    """The outcome of one appeal. Decisions naming other appeals are ignored, so all decisions about the
    record may be passed."""
    key = appeal_key(appeal)
    ruled: list[RuledDecision] = []
    effective: VerifiedItem[DecisionItem] | None = None
    for decision in sorted((d for d in decisions if decision_key(d) == key), key=_order):
        try:
            check_decision(appeal, decision, authority)
        except _Refusal as exc:
            ruled.append(RuledDecision(decision, Ruling.REFUSED, exc.message, exc.rule))
            continue
        if effective is None:
            effective = decision
            ruled.append(RuledDecision(decision, Ruling.EFFECTIVE, ""))
        else:
            why = f"decided first by {effective.author!r} at {effective.timestamp_ms}"
            ruled.append(RuledDecision(decision, Ruling.SUPERSEDED, why))
    return AppealResolution(
        key=key,
        appellant=appeal.author,
        appealed_at_ms=appeal.timestamp_ms,
        deadline_ms=deadline_ms(appeal, authority),
        outcome=None if effective is None else effective.item.outcome,
        effective=effective,
        decisions=tuple(ruled),
        case_ref=appeal.item.case_ref,
    )


@dataclass(frozen=True)
class RecordAppeals:
    resolutions: tuple[AppealResolution, ...]  # in (appeal timestamp, appeal entry id) order
    orphans: tuple[VerifiedItem[DecisionItem], ...]  # decisions whose appeal this node does not hold yet


def resolve_record(
    appeals: Sequence[VerifiedItem[AppealItem]],
    decisions: Sequence[VerifiedItem[DecisionItem]],
    authority: DecisionAuthority,
) -> RecordAppeals:
    """Resolves every appeal about one record. Of several items of one appeal entry about the record, the
    first counts (they name the same appeal)."""
    first: dict[AppealKey, VerifiedItem[AppealItem]] = {}
    for appeal in appeals:
        first.setdefault(appeal_key(appeal), appeal)
    ordered = sorted(first.values(), key=lambda a: (a.timestamp_ms, a.entry_id))
    resolutions = tuple(resolve(a, decisions, authority) for a in ordered)
    orphans = tuple(sorted((d for d in decisions if decision_key(d) not in first), key=_order))
    return RecordAppeals(resolutions, orphans)
