"""This member's transparency report, from its node's store and match log (docs/due-process.md, "Transparency
reports"): the events `node.dueprocess.report` aggregates, gathered from what this member may disclose.

Disclosed, as counts only: the member's own contributions and opinions (its signed log); the appeals it
received and the appeals about records it contributed, with their effective decisions (signed entries that
concern it); its own matches (its local match log, counts only); how long other members' contributions took to
reach this node (local arrival times). Nothing about other members' opinions, matches or contributions.
Gathering reads every entry in the store once: a report is an occasional operator action.
"""

from __future__ import annotations

from collections.abc import Iterator

from node.core.entry import Entry, EntryKind
from node.core.records import HashRecord
from node.dueprocess.deadlines import resolve
from node.dueprocess.items import AppealItem, OpinionItem, VerifiedItem
from node.dueprocess.report import (
    ArrivalEvent,
    ContributionEvent,
    MatchEvent,
    OpinionEvent,
    Period,
    ReportEvent,
    TransparencyReport,
    build_report,
    resolution_events,
)
from node.ledger import standing
from node.ledger.ledger import Ledger
from node.storage.matchlog import LmdbMatchLog
from node.storage.store import Store, Txn


def _arrivals(store: Store, txn: Txn, me: str, period: Period) -> Iterator[ArrivalEvent]:
    """Other members' contributions reaching this node in the period."""
    for arrival in store.arrivals(txn):
        if arrival.author != me and arrival.kind == EntryKind.CONTRIBUTION and arrival.arrived_ms in period:
            yield ArrivalEvent(me, arrival.signed_ms, arrival.arrived_ms)


def _entries(store: Store, txn: Txn) -> Iterator[Entry]:
    for author in sorted(store.heads(txn)):
        yield from store.log(txn, author, 1)


def _own_events(entry: Entry) -> Iterator[ReportEvent]:
    header = entry.header
    if entry.kind == EntryKind.CONTRIBUTION:
        for item in entry.items:
            yield ContributionEvent(header.timestamp_ms, header.author, HashRecord.decode(item).labels)
    elif entry.kind == EntryKind.OPINION:
        for item in entry.items:
            yield OpinionEvent(header.timestamp_ms, header.author, OpinionItem.decode(item).stance)


def _appeal_events(ledger: Ledger, txn: Txn, entry: Entry) -> Iterator[ReportEvent]:
    """The appeal and its effective decision, for each item of `entry` this member received or must decide."""
    me, store = ledger.settings.member_id, ledger.store
    for item in (AppealItem.decode(i) for i in entry.items):
        ordinal = store.ordinal(txn, item.record_id)
        row = None if ordinal is None else store.record(txn, ordinal)
        if entry.header.author != me and (row is None or row.author != me):
            continue
        appeal = VerifiedItem(entry.header.author, entry.header.timestamp_ms, entry.entry_id, item)
        contributor = row.author if row is not None else ""
        decisions = standing.history(store, txn, item.record_id).decisions
        authority = standing.authority(contributor, ledger.membership)
        yield from resolution_events(resolve(appeal, decisions, authority))


def report_events(ledger: Ledger, period: Period) -> list[ReportEvent]:
    """Everything this member may disclose, as report events; `build_report` keeps those in the period."""
    me, store = ledger.settings.member_id, ledger.store
    ledger.flush_match_log()
    events: list[ReportEvent] = []
    with store.read() as txn:
        for entry in _entries(store, txn):
            if entry.header.author == me:
                events += _own_events(entry)
            if entry.kind == EntryKind.APPEAL:
                events += _appeal_events(ledger, txn, entry)
        events += [MatchEvent.from_log(e) for e in LmdbMatchLog(store, txn).since(period.start_ms)]
        events += _arrivals(store, txn, me, period)
    return events


def transparency_report(ledger: Ledger, period: Period) -> TransparencyReport:
    return build_report(
        report_events(ledger, period),
        period,
        issuer=ledger.settings.member_id,
        generated_at_ms=ledger.clock(),
    )
