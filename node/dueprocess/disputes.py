"""Disputes that resolve: when the consortium's policy says enough members report a record as a false
positive, the record is quarantined and a case opens for its contributor (or, after the decision window, the
stewards) to decide, like an appeal (docs/due-process.md, "Disputes and quarantine").

The case is derived, not signed by anyone: every node computes the same cases from the same opinions and the
same consortium policy, so a case needs no entry of its own. It is named like an appeal, by (the entry id of
the opinion that completed the quorum, record id), and decisions name it so: `appeal_entry_id` is that
opinion's entry id. An upheld decision reviews the reports made before it: later reports may open a new case.
"""

from __future__ import annotations

from collections.abc import Sequence

from node.dueprocess.deadlines import DecisionAuthority, resolve
from node.dueprocess.items import (
    DISPUTE_CASE,
    AppealItem,
    DecisionItem,
    OpinionItem,
    Outcome,
    Stance,
    VerifiedItem,
)


def _latest_reports(
    contributor: str, record_id: bytes, opinions: Sequence[VerifiedItem[OpinionItem]]
) -> list[VerifiedItem[OpinionItem]]:
    """Each member's latest opinion on the record if it is a false-positive report, in (time, entry id) order;
    the contributor's own opinions do not count."""
    latest: dict[str, VerifiedItem[OpinionItem]] = {}
    for opinion in sorted(opinions, key=lambda o: (o.timestamp_ms, o.entry_id)):
        if opinion.author != contributor and opinion.item.record_id == record_id:
            latest[opinion.author] = opinion
    reports = [o for o in latest.values() if o.item.stance is Stance.FALSE_POSITIVE]
    return sorted(reports, key=lambda o: (o.timestamp_ms, o.entry_id))


def _trigger(
    reports: Sequence[VerifiedItem[OpinionItem]], since_ms: int, authority: DecisionAuthority
) -> VerifiedItem[OpinionItem] | None:
    """The report that completes the policy's condition among the reports made after `since_ms`, if any."""
    count = 0
    for report in reports:
        if report.timestamp_ms <= since_ms:
            continue
        count += 1
        flagger = authority.trusted_flagger_disputes and report.author in authority.trusted_flaggers
        if flagger or (authority.dispute_quorum and count >= authority.dispute_quorum):
            return report
    return None


def dispute_cases(
    record_id: bytes,
    opinions: Sequence[VerifiedItem[OpinionItem]],
    decisions: Sequence[VerifiedItem[DecisionItem]],
    authority: DecisionAuthority,
    reviewed_until_ms: int = -1,
) -> list[VerifiedItem[AppealItem]]:
    """The dispute cases of a record, oldest first, as appeal-like items (`case_ref` DISPUTE_CASE).

    `reviewed_until_ms` is the time of the latest upheld decision on a real appeal: reports before it were
    reviewed. Each upheld case reviews the reports before its decision in turn; a pending or overturned case is
    the last one.
    """
    if not (authority.dispute_quorum or authority.trusted_flagger_disputes):
        return []
    reports = _latest_reports(authority.contributor, record_id, opinions)
    cases: list[VerifiedItem[AppealItem]] = []
    since = reviewed_until_ms
    while (trigger := _trigger(reports, since, authority)) is not None:
        case = VerifiedItem(
            trigger.author, trigger.timestamp_ms, trigger.entry_id, AppealItem(record_id, DISPUTE_CASE)
        )
        cases.append(case)
        resolution = resolve(case, decisions, authority)
        if resolution.outcome is not Outcome.UPHELD or resolution.effective is None:
            break
        since = resolution.effective.timestamp_ms
    return cases
