"""Due process: opinions, appeals and decisions about records, the local policy built on them, the local match
log, and transparency reports (docs/due-process.md).

Everything here is pure: it takes verified items and returns decisions, notes and documents. The ledger, API
and replication call in; nothing here touches a store, a clock or the network. May import `node.core` and
`node.membership`.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping

from node.core.entry import EntryKind
from node.dueprocess.items import AppealItem, DecidedAs, DecisionItem, OpinionItem

ItemDescriber = Callable[[bytes], tuple[bytes, str]]


def describe_opinion(item: bytes) -> tuple[bytes, str]:
    opinion = OpinionItem.decode(item)
    summary = f"opinion: {opinion.stance.label.replace('_', ' ')}"
    if opinion.reason_code:
        summary += f" ({opinion.reason_code})"
    if opinion.text:
        summary += f": {opinion.text}"
    return opinion.record_id, summary


def describe_appeal(item: bytes) -> tuple[bytes, str]:
    appeal = AppealItem.decode(item)
    summary = f"appeal received, case {appeal.case_ref}"
    if appeal.match_distance is not None:
        summary += f", match distance {appeal.match_distance}"
    return appeal.record_id, summary


def describe_decision(item: bytes) -> tuple[bytes, str]:
    decision = DecisionItem.decode(item)
    by = decision.decided_as.label
    if decision.decided_as is DecidedAs.STEWARDS:
        by = f"stewards ({len(decision.signatures)} signatures, ruled at {decision.ruled_at_ms})"
    summary = (
        f"appeal {decision.appeal_entry_id.hex()[:16]}… {decision.outcome.label}"
        f" by the {by}: {decision.reason or 'no reason given'}"
    )
    return decision.record_id, summary


DESCRIBERS: dict[int, ItemDescriber] = {
    EntryKind.OPINION: describe_opinion,
    EntryKind.APPEAL: describe_appeal,
    EntryKind.DECISION: describe_decision,
}


def register(
    describers: MutableMapping[int, ItemDescriber], status_by_kind: MutableMapping[int, str]
) -> None:
    """Registers the item describers of the due-process kinds with the provenance module.

    `status_by_kind` is deliberately left without due-process rows: a kind-to-status map cannot say what a
    decision does, because the outcome is inside the item (upheld or overturned) and stewards, not only the
    contributor, may decide after the deadline. `node.dueprocess.deadlines.resolve` derives that; see
    docs/due-process.md, "Wiring". The parameter is taken so the call site stays the same once an item-aware
    status rule exists, and so a stale kind-level row for these kinds is removed rather than silently applied.
    """
    describers.update(DESCRIBERS)
    for kind in DESCRIBERS:
        status_by_kind.pop(kind, None)
