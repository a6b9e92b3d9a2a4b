"""Statements of reasons issued by this node for its platform (docs/due-process.md, "Statements of reasons").

A logged match is not yet a decision: the platform records that it acted on one by issuing a statement, naming
the content (its `content_ref`, or the query id of the match) and declaring what it did (`DecisionRequest`). The
node adds why, from what it holds: the records the content matched and still stand, who contributed them under
which labels and when, how each matched. It writes both forms, the DSA Transparency Database's JSON and the
user's page, and keeps the statement under an id (`sor-…`) so that it can be found again, superseded by an
updated one, or withdrawn, and so that appeals filed from it and reinstatement notices name it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from node.core.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from node.core.signals import VPDQ, MatchKind, signal_type
from node.dueprocess.deadlines import resolve as resolve_appeal
from node.dueprocess.matchlog import MatchLogEntry, is_query_id
from node.dueprocess.statement import (
    Basis,
    DecisionRequest,
    Statement,
    StatementSettings,
    check_statement_id,
    database_statement,
    new_statement_id,
    statement_of_case,
    to_json,
    utc_day,
)
from node.dueprocess.statement import resolve as resolve_decision
from node.dueprocess.statement_language import LanguagePack
from node.dueprocess.statement_page import Page, render_page
from node.index.video import VideoComparison
from node.ledger import standing
from node.ledger.ledger import Ledger, RecordStatus, StoredRecord
from node.storage.matchlog import LmdbMatchLog
from node.storage.statements import StatementBook
from node.storage.store import Txn

# Records a decision may rest on: those that match on this node now.
STANDING = frozenset({RecordStatus.ACTIVE, RecordStatus.DISPUTED})  # disputed records still match
MAX_REASON = 500


@dataclass(frozen=True)
class IssueRequest:
    content_ref: str = ""  # the content acted on, as its Match queries named it
    query_id: str = ""  # or the QueryResult.query_id of the match
    record_ids: tuple[bytes, ...] = ()  # the matched records the decision rests on; (): every one that stands
    decision: DecisionRequest = field(default_factory=DecisionRequest)
    supersedes: str = ""  # the statement this one updates


@dataclass(frozen=True)
class Issued:
    view: StatementView
    existing: bool  # issued before with the same puid and the same request: nothing new was stored


@dataclass(frozen=True)
class AppealLink:
    """An appeal this member filed from a statement (the statement id in its case reference), and its outcome."""

    appeal_entry_id: bytes
    record_id: bytes
    case_ref: str
    filed_ms: int
    outcome: str  # pending, upheld, overturned
    decided_by: str = ""


@dataclass(frozen=True)
class StatementView:
    statement: Statement
    number: int  # its place in the order this node issued statements
    record_statuses: Mapping[bytes, RecordStatus]  # each basis record's status now
    appeals: tuple[AppealLink, ...]

    @property
    def basis_stands(self) -> bool:
        """Every record the decision rests on still matches here."""
        return all(status in STANDING for status in self.record_statuses.values())


class Statements:
    """The statements of reasons of one node."""

    def __init__(
        self,
        ledger: Ledger,
        settings: StatementSettings,
        packs: Mapping[str, LanguagePack],
        *,
        new_id: Callable[[], str] = new_statement_id,
    ) -> None:
        self.ledger, self.settings, self.packs = ledger, settings, packs
        self._new_id = new_id

    # --- issuing ------------------------------------------------------------------------------------------------

    def _matches(self, request: IssueRequest) -> list[MatchLogEntry]:
        ledger = self.ledger
        if not request.content_ref and not request.query_id:
            raise InvalidArgument("content_ref", '""', "the content acted on: its content_ref, or a query id")
        if request.query_id and not is_query_id(request.query_id):
            raise InvalidArgument("query_id", request.query_id, "16 lowercase hex digits (a QueryResult.query_id)")
        ledger.flush_match_log()
        with ledger.store.read() as txn:
            log = LmdbMatchLog(ledger.store, txn)
            matches = log.of_content(request.content_ref) if request.content_ref else []
            if not matches and (request.query_id or is_query_id(request.content_ref)):
                matches = log.of_query_id(request.query_id or request.content_ref)
        if not matches:
            days = ledger.settings.match_log_retention_ms // 86_400_000
            what = f"content {request.content_ref!r}" if request.content_ref else f"query {request.query_id!r}"
            raise NotFound(f"no logged match of {what} (matches are kept {days} days): nothing to state reasons for")
        return matches

    def _basis(self, request: IssueRequest, matches: Sequence[MatchLogEntry]) -> tuple[Basis, ...]:
        first: dict[bytes, MatchLogEntry] = {}
        for match in sorted(matches, key=lambda m: (m.time_ms, m.distance)):
            first.setdefault(match.record_id, match)
        for rid in request.record_ids:
            if rid not in first:
                raise InvalidArgument("record_ids", rid.hex(), "a record the content matched: " + _ids(first))
        records = {rid: self.ledger.record(rid) for rid in (request.record_ids or tuple(first))}
        fallen = {rid: r.status for rid, r in records.items() if r.status not in STANDING}
        if fallen and (request.record_ids or len(fallen) == len(records)):
            shown = ", ".join(f"{rid.hex()} is {status}" for rid, status in sorted(fallen.items()))
            raise FailedPrecondition(f"record_ids: {shown}; a decision cannot rest on a record that no longer matches")
        return tuple(self._one_basis(records[rid], first[rid]) for rid in sorted(records) if rid not in fallen)

    def _one_basis(self, stored: StoredRecord, match: MatchLogEntry) -> Basis:
        record, taxonomy = stored.record, self.ledger.taxonomy.labels
        member = self.ledger.membership.get(stored.author)
        video = record.signal_type == VPDQ.name
        basis = Basis(
            record_id=stored.record_id,
            signal_type=record.signal_type,
            # A video's features run to hundreds of kilobytes: their SHA-256, the record's exact-lookup key.
            value_hex=hashlib.sha256(record.value).hexdigest() if video else record.value.hex(),
            labels=record.labels,
            label_names=tuple(taxonomy[label].description if label in taxonomy else "" for label in record.labels),
            contributor=stored.author,
            contributor_name=member.organisation if member is not None else "",
            contributed_ms=stored.timestamp_ms,
            matched_ms=match.time_ms,
            distance=match.distance,
            exact=signal_type(record.signal_type).match == MatchKind.EXACT,
        )
        return basis if match.video is None else _with_video(basis, match.video)

    def _page(self, statement_id: str, issued_ms: int, terrorist: bool) -> Page:
        ledger, settings = self.ledger, self.settings
        me = ledger.membership.get(ledger.settings.member_id)
        contact = settings.contact or (me.contact if me is not None else "")
        if not contact:
            raise FailedPrecondition(
                "statements.contact: got nothing, want the point of contact users write to: set [statements] "
                "contact in the node config (or the member's contact in the roster)"
            )
        platform = settings.platform_name or (me.organisation if me is not None else "") or ledger.settings.member_id
        return Page(statement_id, issued_ms, platform, contact, ledger.settings.consortium_id, terrorist)

    def _unused_id(self) -> str:
        with self.ledger.store.read() as txn:
            book = StatementBook(self.ledger.store, txn)
            while True:  # ids are random: a repeat is all but impossible, and cheap to avoid
                statement_id = self._new_id()
                if book.get(statement_id) is None:
                    return statement_id

    def build(self, request: IssueRequest) -> Statement:
        """The statement `request` asks for, not yet stored.

        Raises:
            InvalidArgument, NotFound, FailedPrecondition: see `issue`.
        """
        matches = self._matches(request)
        basis = self._basis(request, matches)
        statement_id, now = self._unused_id(), self.ledger.clock()
        decision = resolve_decision(
            request.decision, basis, self.settings, statement_id=statement_id, today=utc_day(now)
        )
        consortium = self.ledger.settings.consortium_id
        database = database_statement(decision, basis, consortium, self.settings)
        categorised = self.settings.categories.categorise({label for b in basis for label in b.labels})
        page = self._page(statement_id, now, categorised.terrorist_content)
        html = render_page(decision, basis, page, self.settings, self.packs[decision.language])
        content_ref = request.content_ref or next((m.content_ref for m in matches if m.content_ref), "")
        about = (request.content_ref, request.query_id, *(r.hex() for r in request.record_ids), request.supersedes)
        return Statement(
            statement_id=statement_id,
            issued_ms=now,
            content_ref=content_ref,
            query_ids=tuple(sorted({m.query_id for m in matches})),
            basis=basis,
            decision=decision,
            database_json=to_json(database),
            page_html=html,
            request_digest=request.decision.digest(*about),
            category=categorised.category,
            keywords=categorised.keywords,
            supersedes=request.supersedes,
        )

    def issue(self, request: IssueRequest) -> Issued:
        """Issues and stores the statement of a decision the platform took on logged matches.

        Raises:
            InvalidArgument: the request is malformed, or a record named is not one the content matched.
            NotFound: no logged match of the content (or query), or no statement `supersedes` names.
            FailedPrecondition: a record named no longer matches; the statement superseded is not in force;
                no point of contact is configured.
            AlreadyExists: the puid is taken by a statement of another request.
        """
        if request.supersedes:
            check_statement_id(request.supersedes, "supersedes")
        statement = self.build(request)
        with self.ledger.store.write() as txn:
            book = StatementBook(self.ledger.store, txn)
            earlier = book.with_puid(statement.puid)
            if earlier is not None:
                if earlier.request_digest == statement.request_digest:
                    return Issued(self._view(txn, earlier), existing=True)
                raise AlreadyExists(
                    f"puid: got {statement.puid}, want a puid not used before: statement {earlier.statement_id} "
                    "has it (the Transparency Database refuses a puid twice)"
                )
            if book.get(statement.statement_id) is not None:
                raise AlreadyExists(f"statement_id: {statement.statement_id} exists; issue the statement again")
            if request.supersedes:
                book.replace(_superseded(book, request.supersedes, statement))
            book.add(statement)
            return Issued(self._view(txn, statement), existing=False)

    # --- reading and withdrawing --------------------------------------------------------------------------------

    def get(self, statement_id: str) -> StatementView:
        """Raises: InvalidArgument (not a statement id), NotFound."""
        check_statement_id(statement_id)
        store = self.ledger.store
        with store.read() as txn:
            statement = StatementBook(store, txn).get(statement_id)
            if statement is None:
                days = self.settings.retention_days
                raise NotFound(f"statement_id: no statement {statement_id} here (statements are kept {days} days)")
            return self._view(txn, statement)

    def list(self, after: int, limit: int) -> list[StatementView]:
        """Up to `limit` statements numbered above `after`, in the order issued."""
        store = self.ledger.store
        with store.read() as txn:
            return [self._view(txn, s) for _, s in StatementBook(store, txn).after(after, limit)]

    def withdraw(self, statement_id: str, reason: str) -> StatementView:
        """Records that the platform reversed the decision (e.g. reinstated the content after an overturn).

        Raises:
            InvalidArgument: not a statement id, or the reason is too long.
            NotFound: no such statement.
            FailedPrecondition: it is withdrawn or superseded already.
        """
        check_statement_id(statement_id)
        reason = reason.strip()
        if len(reason) > MAX_REASON:
            raise InvalidArgument("reason", f"{len(reason)} characters", f"at most {MAX_REASON}")
        store = self.ledger.store
        with store.write() as txn:
            book = StatementBook(store, txn)
            statement = book.get(statement_id)
            if statement is None:
                raise NotFound(f"statement_id: no statement {statement_id} on this node")
            if statement.status != "issued":
                raise FailedPrecondition(f"statement_id: {statement_id} is {statement.status} already")
            now = self.ledger.clock()
            book.replace(replace(statement, status="withdrawn", withdrawn_ms=now, withdrawal_reason=reason))
        return self.get(statement_id)

    def prune(self) -> int:
        """Drops statements past `[statements] retention_days`; returns how many."""
        with self.ledger.store.write() as txn:
            return StatementBook(self.ledger.store, txn).prune(self.ledger.clock() - self.settings.retention_ms)

    def _view(self, txn: Txn, statement: Statement) -> StatementView:
        ledger, store = self.ledger, self.ledger.store
        statuses: dict[bytes, RecordStatus] = {}
        appeals: list[AppealLink] = []
        for rid in statement.record_ids:
            ordinal = store.ordinal(txn, rid)
            row = None if ordinal is None else store.record(txn, ordinal)
            if row is None:
                continue
            statuses[rid] = StoredRecord.from_row(row).status
            appeals += _appeals_from(ledger, txn, rid, row.author, statement.statement_id)
        number = StatementBook(store, txn).number(statement.statement_id) or 0
        appealed = tuple(sorted(appeals, key=lambda a: (a.filed_ms, a.record_id)))
        return StatementView(statement, number, statuses, appealed)


def _superseded(book: StatementBook, old_id: str, new: Statement) -> Statement:
    old = book.get(old_id)
    if old is None:
        raise NotFound(f"supersedes: no statement {old_id} on this node")
    if old.status != "issued":
        raise FailedPrecondition(f"supersedes: {old_id} is {old.status}; only a statement in force is superseded")
    same = (old.content_ref and old.content_ref == new.content_ref) or set(old.query_ids) & set(new.query_ids)
    if not same:
        raise InvalidArgument("supersedes", old_id, "a statement about the same content")
    return replace(old, status="superseded", superseded_by=new.statement_id)


def _appeals_from(ledger: Ledger, txn: Txn, rid: bytes, contributor: str, statement_id: str) -> list[AppealLink]:
    """This member's appeals about `rid` filed from the statement, with their outcome now."""
    me, store = ledger.settings.member_id, ledger.store
    history = standing.history(store, txn, rid)
    authority = standing.authority(contributor, ledger.membership)
    links = []
    for appeal in history.appeals:
        if appeal.author != me or statement_of_case(appeal.item.case_ref) != statement_id:
            continue
        resolution = resolve_appeal(appeal, history.decisions, authority)
        effective = resolution.effective
        links.append(
            AppealLink(
                appeal_entry_id=appeal.entry_id,
                record_id=rid,
                case_ref=appeal.item.case_ref,
                filed_ms=appeal.timestamp_ms,
                outcome="pending" if resolution.outcome is None else resolution.outcome.label,
                decided_by=effective.author if effective is not None else "",
            )
        )
    return links


def _ids(first: Mapping[bytes, object]) -> str:
    return ", ".join(rid.hex() for rid in sorted(first))


def _with_video(basis: Basis, video: VideoComparison) -> Basis:
    """A video's basis: what matched, by vPDQ's rule (both percentages, the matched ranges of both videos)."""
    return replace(
        basis,
        query_match_percent=video.query_match_percent,
        compared_match_percent=video.compared_match_percent,
        query_ranges=tuple((r.start_ms, r.end_ms) for r in video.query_ranges),
        stored_ranges=tuple((r.start_ms, r.end_ms) for r in video.stored_ranges),
    )
