"""This member's transparency report, from its node's store and match log (docs/due-process.md, "Transparency
reports"): the events `node.dueprocess.report` aggregates, gathered from what this member may disclose.

Disclosed, as counts and durations only: the member's own contributions, their removals and how long they
stayed; the opinions it filed and those filed about its records; the appeals it filed and those about its
records, and the dispute cases about them, each with its effective decision (all from signed entries); its own
matches and the reinstatement notices its node issued (its local match log, unsigned); how long other members'
contributions took to reach this node (local arrival times, unsigned); the statements of reasons its node issued
(local, unsigned) and the appeals it filed from them (signed), for the TCO section. Gathering reads every entry in
the store once: a report is an occasional operator action.
"""

from __future__ import annotations

from collections.abc import Iterator

from node.core.entry import Entry, EntryKind
from node.core.records import HashRecord
from node.dueprocess.history import records_concerned
from node.dueprocess.items import AppealItem, AppealKey, OpinionItem, Outcome
from node.dueprocess.report import (
    ArrivalEvent,
    ComplaintEvent,
    ContributionEvent,
    MatchEvent,
    NoticeEvent,
    OpinionEvent,
    Period,
    RemovalEvent,
    ReportEvent,
    StatementEvent,
    TransparencyReport,
    build_report,
    resolution_events,
)
from node.dueprocess.statement import AUTOMATED, SOURCE, Statement, statement_of_case
from node.ledger import standing
from node.ledger.ledger import Ledger
from node.storage.matchlog import LmdbMatchLog, NoticeBook
from node.storage.statements import StatementBook
from node.storage.store import MAX_U64, RecordRow, Status, Store, Txn


def _entries(store: Store, txn: Txn) -> Iterator[Entry]:
    for author in sorted(store.heads(txn)):
        yield from store.log(txn, author, 1)


def _row(store: Store, txn: Txn, rid: bytes) -> RecordRow | None:
    ordinal = store.ordinal(txn, rid)
    return None if ordinal is None else store.record(txn, ordinal)


def _arrivals(store: Store, txn: Txn, me: str) -> Iterator[ArrivalEvent]:
    """Other members' contributions reaching this node."""
    for arrival in store.arrivals(txn):
        if arrival.author != me and arrival.kind == EntryKind.CONTRIBUTION:
            yield ArrivalEvent(arrival.author, arrival.signed_ms, arrival.arrived_ms)


def _opinions(store: Store, txn: Txn, entry: Entry, me: str) -> Iterator[OpinionEvent]:
    """Opinions this member filed, and opinions about its records."""
    for raw in entry.items:
        item = OpinionItem.decode(raw)
        row = _row(store, txn, item.record_id)
        about = row.author if row is not None else ""
        if entry.header.author == me or about == me:
            yield OpinionEvent(entry.header.timestamp_ms, entry.header.author, item.stance, about)


def _record_events(ledger: Ledger, txn: Txn, rid: bytes) -> Iterator[ReportEvent]:
    """The appeals and dispute cases of one record that concern this member (filed by it, or about its
    record), each with its effective decision; and the record's removal if it is this member's."""
    me, store = ledger.settings.member_id, ledger.store
    row = _row(store, txn, rid)
    if row is None:
        return
    history = standing.history(store, txn, rid)
    resolved = history.resolve(standing.authority(row.author, ledger.membership))
    for resolution in resolved.resolutions:
        if resolution.appellant == me or row.author == me:
            yield from resolution_events(resolution, about=row.author)
    if row.author != me or row.status not in standing.FINAL:
        return
    if row.status == Status.RETRACTED:
        times = [r.timestamp_ms for r in history.retractions if r.author == row.author]
        how = "retracted"
    else:
        times = [
            r.effective.timestamp_ms
            for r in resolved.resolutions
            if r.effective is not None and r.outcome is Outcome.OVERTURNED
        ]
        how = "overturned"
    if times:
        yield RemovalEvent(min(times), row.author, row.timestamp_ms, how)


_AUTOMATED = {value: name for name, value in AUTOMATED.items()}
_SOURCE = {value: name for name, value in SOURCE.items()}


def _statement_event(statement: Statement) -> StatementEvent:
    decision = statement.decision
    return StatementEvent(
        statement.issued_ms,
        statement.statement_id,
        "KEYWORD_TERRORIST_CONTENT" in statement.keywords,
        decision.restricts_visibility,
        _AUTOMATED[decision.automated_decision],
        _SOURCE[decision.source],
        statement.withdrawn_ms,
        statement.status == "superseded",
    )


def _complaints(entry: Entry) -> Iterator[ComplaintEvent]:
    """This member's appeals filed from a statement of reasons: its id leads the case reference."""
    seen: set[bytes] = set()
    for raw in entry.items:
        item = AppealItem.decode(raw)
        statement = statement_of_case(item.case_ref)
        if statement is not None and item.record_id not in seen:  # an entry's first item about a record counts
            seen.add(item.record_id)
            yield ComplaintEvent(entry.header.timestamp_ms, AppealKey(entry.entry_id, item.record_id), statement)


def _signal_type(store: Store, txn: Txn, rid: bytes) -> str:
    """The signal type of a stored record ("" if it is not stored here any more)."""
    ordinal = store.ordinal(txn, rid)
    row = None if ordinal is None else store.record(txn, ordinal)
    return "" if row is None else row.record.signal_type


def report_events(ledger: Ledger, period: Period) -> list[ReportEvent]:
    """Everything this member may disclose, as report events; `build_report` keeps those of the period."""
    me, store = ledger.settings.member_id, ledger.store
    ledger.flush_match_log()
    events: list[ReportEvent] = []
    with store.read() as txn:
        discussed: dict[bytes, None] = {}
        for entry in _entries(store, txn):
            header = entry.header
            if entry.kind == EntryKind.CONTRIBUTION and header.author == me:
                records = [HashRecord.decode(item) for item in entry.items]
                events += [ContributionEvent(header.timestamp_ms, me, r.labels, r.signal_type) for r in records]
            elif entry.kind == EntryKind.OPINION:
                events += _opinions(store, txn, entry, me)
            elif entry.kind == EntryKind.APPEAL and header.author == me:
                events += _complaints(entry)
            if entry.kind in (EntryKind.OPINION, EntryKind.APPEAL, EntryKind.DECISION, EntryKind.RETRACTION):
                discussed.update(dict.fromkeys(records_concerned(entry)))
        for rid in discussed:
            events += _record_events(ledger, txn, rid)
        types: dict[bytes, str] = {}
        for e in LmdbMatchLog(store, txn).since(period.start_ms):
            if e.record_id not in types:
                types[e.record_id] = _signal_type(store, txn, e.record_id)
            events.append(MatchEvent.from_log(e, types[e.record_id]))
        events += [
            NoticeEvent(n.created_ms, n.notice.cleared) for n in NoticeBook(store, txn).after(0, MAX_U64)
        ]
        events += _arrivals(store, txn, me)
        events += [_statement_event(s) for s in StatementBook(store, txn)]
    return events


def transparency_report(ledger: Ledger, period: Period, as_of_ms: int | None = None) -> TransparencyReport:
    """The report of `period` as it stood at `as_of_ms` (default: the period's end): the same bytes every time
    it is built from the same store."""
    me = ledger.settings.member_id
    member = ledger.membership.get(me)
    return build_report(
        report_events(ledger, period),
        period,
        issuer=me,
        contact=member.contact if member is not None else "",
        as_of_ms=as_of_ms,
    )
