"""A member's open cases: the appeals and dispute cases waiting for a decision that concern it, in the order to
work them (docs/due-process.md, "Case queue").

A member sees the cases about records it contributed (it decides them: `to_decide`), the cases it opened that
wait for someone else (`filed`), and, when it is a steward, every case whose contributor left it past the
decision window (`to_rule`). Priority: cases opened by trusted flaggers and referrers first (the Commission's
ask: their notices are handled with priority), then by deadline, the most urgent first, then by age. Derived
from the signed entries on each call; nothing is stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from node.core.entry import EntryKind
from node.dueprocess.deadlines import AppealResolution
from node.dueprocess.history import records_concerned
from node.ledger import standing
from node.ledger.ledger import Ledger
from node.membership.members import Membership

PRIORITY_ROLES = ("trusted_flagger", "referrer")


@dataclass(frozen=True)
class OpenCase:
    kind: str  # "appeal" or "dispute"
    role: str  # what this member does with it: "to_decide", "to_rule" (a steward) or "filed"
    record_id: bytes
    case_id: bytes  # the entry id a decision names (the appeal entry, or the opinion that opened the dispute)
    case_ref: str  # the appeal's case reference ("" for a dispute case)
    contributor: str
    contributor_contact: str
    opened_by: str
    opened_by_contact: str
    opened_at_ms: int
    deadline_ms: int  # the contributor decides until then; stewards may rule from then on
    priority: str  # why it comes first ("trusted_flagger", "referrer"), or ""

    def overdue(self, now_ms: int) -> bool:
        return now_ms >= self.deadline_ms

    def order(self) -> tuple[int, int, int, bytes]:
        return (0 if self.priority else 1, self.deadline_ms, self.opened_at_ms, self.case_id)


def _priority(membership: Membership, member_id: str) -> str:
    member = membership.get(member_id)
    roles = member.roles if member is not None else ()
    return next((role for role in PRIORITY_ROLES if role in roles), "")


def _contact(membership: Membership, member_id: str) -> str:
    member = membership.get(member_id)
    return member.contact if member is not None else ""


def _role(me: str, steward: bool, contributor: str, case: AppealResolution, now_ms: int) -> str | None:
    if contributor == me:
        return "to_decide"
    if case.appellant == me:
        return "filed"
    if steward and case.stewards_may_decide(now_ms):
        return "to_rule"
    return None


def open_cases(ledger: Ledger, now_ms: int) -> list[OpenCase]:
    """This member's open cases, in priority order."""
    me, store, membership = ledger.settings.member_id, ledger.store, ledger.membership
    steward = me in membership.stewards()
    found: list[OpenCase] = []
    with store.read() as txn:
        records: dict[bytes, None] = {}
        for author in sorted(store.heads(txn)):
            for entry in store.log(txn, author, 1):
                if entry.kind in (EntryKind.APPEAL, EntryKind.OPINION):
                    records.update(dict.fromkeys(records_concerned(entry)))
        for rid in records:
            ordinal = store.ordinal(txn, rid)
            row = None if ordinal is None else store.record(txn, ordinal)
            if row is None or row.status in standing.FINAL:
                continue
            history = standing.history(store, txn, rid)
            for case in history.resolve(standing.authority(row.author, membership)).resolutions:
                role = _role(me, steward, row.author, case, now_ms) if case.pending else None
                if role is None:
                    continue
                found.append(
                    OpenCase(
                        kind="dispute" if case.dispute else "appeal",
                        role=role,
                        record_id=rid,
                        case_id=case.key.appeal_entry_id,
                        case_ref="" if case.dispute else case.case_ref,
                        contributor=row.author,
                        contributor_contact=_contact(membership, row.author),
                        opened_by=case.appellant,
                        opened_by_contact=_contact(membership, case.appellant),
                        opened_at_ms=case.appealed_at_ms,
                        deadline_ms=case.deadline_ms,
                        priority=_priority(membership, case.appellant),
                    )
                )
    return sorted(found, key=OpenCase.order)
