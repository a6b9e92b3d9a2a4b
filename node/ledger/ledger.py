"""The node's domain operations: author entries, apply entries, match, explain.

The ledger ties the store (LMDB, durable) to the in-memory PDQ index (rebuilt or loaded at start) and to the
member's signing key. It speaks domain types only; the gRPC edge converts.
"""

from __future__ import annotations

import enum
import hashlib
import itertools
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar, overload

import numpy as np
import numpy.typing as npt

from node.core import merkle
from node.core.entry import MAX_ENTRY_BYTES, ZERO_ID, Entry, EntryKind, sign_entry
from node.core.errors import (
    DataCorruption,
    EncodingError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    StorageError,
)
from node.core.keys import SigningKey
from node.core.records import HashRecord, decode_labels, encode_labels, record_id
from node.core.retraction import RetractionItem
from node.core.signals import REGISTRY as SIGNAL_TYPES
from node.core.signals import MatchKind, SignalType, signal_type
from node.core.taxonomy import Taxonomy
from node.core.vpdq import QUALITY_FLOOR, VpdqFeatures
from node.dueprocess.deadlines import (
    DecisionAuthority,
    NotDecisionAuthority,
    UnknownAppeal,
    check_decision,
    check_ruling,
    resolve,
)
from node.dueprocess.history import records_concerned
from node.dueprocess.items import (
    DISPUTE_CASE,
    AppealItem,
    DecidedAs,
    DecisionItem,
    OpinionItem,
    Outcome,
    Stance,
    VerifiedItem,
)
from node.dueprocess.matchlog import DEFAULT_RETENTION_MS, MatchLogEntry, is_query_id
from node.dueprocess.policy import PolicyConfig
from node.dueprocess.ruling import Ruling, SignedRuling, ruling_of
from node.dueprocess.statement import DEFAULT_RETENTION_DAYS as STATEMENT_RETENTION_DAYS
from node.dueprocess.statement import name_statements, statement_of_case
from node.index.pdq import MAX_THRESHOLD, PdqIndex
from node.index.video import (
    DEFAULT_COMPARED_PERCENT,
    DEFAULT_QUERY_PERCENT,
    FRAME_KEY_FLAG,
    FrameSet,
    VideoComparison,
    VideoIndex,
    check_percent,
    video_rows,
)
from node.ledger import standing
from node.membership import authorship
from node.membership.members import Membership
from node.provenance.assembly import Head
from node.provenance.bundle import DESCRIBERS, ProvenanceBundle, RelatedEntry, attest, describe, kind_label
from node.storage import integrity, pdq_snapshot
from node.storage.matchlog import (
    MAX_UNWRITTEN_MATCHES,
    LmdbMatchLog,
    MatchBatch,
    MatchRecorder,
    NoticeBook,
    StoredNotice,
    notices_for,
)
from node.storage.statements import StatementBook
from node.storage.store import (
    DEFAULT_MAP_SIZE,
    MATCHING,
    NewRecord,
    RecordRow,
    Status,
    Store,
    Txn,
    is_disputed_row,
)
from node.storage.submissions import StoredSubmission, SubmissionBook

_T = TypeVar("_T")
SMALL_MATCH = 64  # hits: below, `match` answers in plain Python (numpy costs microseconds per call)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class LedgerSettings:
    consortium_id: str
    member_id: str
    pdq_threshold: int = 31
    min_pdq_quality: int = 50
    # vPDQ's thresholds (node/index/video.py): shares of the query's and of the stored video's frames that match.
    vpdq_query_match_percent: float = DEFAULT_QUERY_PERCENT
    vpdq_compared_match_percent: float = DEFAULT_COMPARED_PERCENT
    max_batch: int = 10_000
    map_size: int = DEFAULT_MAP_SIZE
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    match_log_retention_ms: int = DEFAULT_RETENTION_MS  # 0: keep no match log (and issue no notices)
    match_log_answered: bool = False  # a match returns once its matches are logged (docs/due-process.md)
    statement_retention_ms: int = STATEMENT_RETENTION_DAYS * 86_400_000  # statements of reasons issued here
    # What is checked of the lookup tables before serving (integrity.STARTUP_CHECKS; docs/operator-guide.md):
    # "full" all of it, "quick" the tables' counts and then all of it beside the serving node, "off" nothing.
    startup_check: str = "full"


class RecordStatus(enum.StrEnum):
    ACTIVE = "active"
    DISPUTED = "disputed"  # matches, marked: a dispute case is open (consortium quarantine mode `mark`)
    RETRACTED = "retracted"
    OVERTURNED = "overturned"
    SUSPENDED = "suspended"


_STATUS_NAMES = {
    Status.ACTIVE: RecordStatus.ACTIVE,
    Status.RETRACTED: RecordStatus.RETRACTED,
    Status.OVERTURNED: RecordStatus.OVERTURNED,
    Status.SUSPENDED: RecordStatus.SUSPENDED,
    Status.DISPUTED: RecordStatus.DISPUTED,
}


@dataclass(frozen=True)
class StoredRecord:
    record_id: bytes
    record: HashRecord
    author: str
    entry_id: bytes
    seq: int
    index: int
    timestamp_ms: int
    status: RecordStatus

    @classmethod
    def from_row(cls, row: RecordRow) -> StoredRecord:
        return cls(
            record_id=record_id(row.entry_id, row.index),
            record=row.record,
            author=row.author,
            entry_id=row.entry_id,
            seq=row.seq,
            index=row.index,
            timestamp_ms=row.timestamp_ms,
            status=_STATUS_NAMES[row.status],
        )


@dataclass(frozen=True)
class Query:
    signal_type: str
    value: bytes
    content_ref: str = ""


@dataclass(frozen=True)
class MatchHit:
    """One record a query matched, with what a platform needs to act on it; the rest of the record and its
    provenance are fetched on request (`Ledger.record`, `Ledger.provenance`) by its id."""

    record_id: bytes
    distance: int
    author: str  # the contributing member
    labels: tuple[str, ...]
    policy: tuple[str, ...] = ()  # the notes of this node's policy verdict on the record
    query_id: str = ""  # the match log's id of the query (empty when the node keeps no match log)
    ordinal: int = -1  # the record's position in this node's store (`HitRecord.stored` reads the row)
    disputed: bool = False  # the record has an open dispute case (quarantine mode `mark`): act with care
    video: VideoComparison | None = None  # a video query's match (vpdq): both percentages and matched ranges


@dataclass(frozen=True, slots=True)
class HitRecord:
    """A record that matched, once per match call however many queries matched it."""

    ordinal: int
    record_id: bytes
    author: str
    labels: tuple[str, ...]
    policy: tuple[str, ...]
    row: bytes  # the stored row (`RecordRow.encode`): everything else about the record, decoded on request

    @property
    def disputed(self) -> bool:
        """The record has an open dispute case: its stored status, derived when the entries applied (not per
        hit)."""
        return is_disputed_row(self.row)

    def stored(self) -> StoredRecord:
        return StoredRecord.from_row(RecordRow.decode(self.ordinal, self.row))


class HitRecords(Sequence[HitRecord]):
    """The distinct records one match call matched, by columns: each a list with one item per record. Indexing
    builds a `HitRecord`."""

    __slots__ = ("authors", "authors_utf8", "label_sections", "labels", "ordinals", "policies", "record_ids", "rows")

    def __init__(
        self,
        ordinals: Sequence[int] = (),
        record_ids: Sequence[bytes] = (),
        authors: Sequence[str] = (),
        labels: Sequence[tuple[str, ...]] = (),
        policies: Sequence[tuple[str, ...]] = (),
        rows: Sequence[bytes] = (),
        authors_utf8: Sequence[bytes] | None = None,
        label_sections: Sequence[bytes] | None = None,
    ) -> None:
        """`authors_utf8` and `label_sections` are `authors` and `labels` as the store keeps them (UTF-8; the
        labels section of the record item): encoders copy them as they are. Derived when not given."""
        self.ordinals, self.record_ids, self.authors = ordinals, record_ids, authors
        self.labels, self.policies, self.rows = labels, policies, rows
        self.authors_utf8 = [a.encode("utf-8") for a in authors] if authors_utf8 is None else authors_utf8
        self.label_sections = [encode_labels(x) for x in labels] if label_sections is None else label_sections

    @classmethod
    def of(cls, records: Sequence[HitRecord]) -> HitRecords:
        return cls(
            [r.ordinal for r in records],
            [r.record_id for r in records],
            [r.author for r in records],
            [r.labels for r in records],
            [r.policy for r in records],
            [r.row for r in records],
        )

    def __len__(self) -> int:
        return len(self.ordinals)

    @overload
    def __getitem__(self, i: int) -> HitRecord: ...

    @overload
    def __getitem__(self, i: slice) -> list[HitRecord]: ...

    def __getitem__(self, i: int | slice) -> HitRecord | list[HitRecord]:
        if isinstance(i, slice):
            return [self[j] for j in range(len(self))[i]]
        return HitRecord(
            self.ordinals[i], self.record_ids[i], self.authors[i], self.labels[i], self.policies[i], self.rows[i]
        )


class MatchResults(Sequence[list[MatchHit]]):
    """The answer to one match call: per query, the records it matched, sorted by (distance, record id).

    Columnar, so that answering builds no object per hit: query `i`'s hits are `offsets[i]..offsets[i+1]` of
    `slots` (indexes into `records`, the distinct records matched) and `distances`. Indexing it gives a query's
    hits as `MatchHit`s, built on demand.
    """

    __slots__ = ("distances", "offsets", "query_ids", "records", "slots", "videos")

    def __init__(
        self,
        records: HitRecords | Sequence[HitRecord],
        offsets: list[int],
        slots: list[int],
        distances: list[int],
        query_ids: list[str],
        videos: list[VideoComparison | None] | None = None,
    ) -> None:
        self.records = records if isinstance(records, HitRecords) else HitRecords.of(records)
        self.offsets, self.slots, self.distances = offsets, slots, distances
        self.query_ids = query_ids  # per query; "" without hits or without a match log
        self.videos = videos  # per hit, a video query's match (None for the others); None: no video query

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @overload
    def __getitem__(self, i: int) -> list[MatchHit]: ...

    @overload
    def __getitem__(self, i: slice) -> list[list[MatchHit]]: ...

    def __getitem__(self, i: int | slice) -> list[MatchHit] | list[list[MatchHit]]:
        if isinstance(i, slice):
            return [self[j] for j in range(len(self))[i]]
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        i %= len(self)
        query_id, records = self.query_ids[i], self.records
        hits = []
        for h in range(self.offsets[i], self.offsets[i + 1]):
            s = self.slots[h]
            hits.append(
                MatchHit(
                    records.record_ids[s], self.distances[h], records.authors[s], records.labels[s],
                    records.policies[s], query_id, records.ordinals[s], is_disputed_row(records.rows[s]),
                    None if self.videos is None else self.videos[h],
                )
            )
        return hits

    @property
    def hits(self) -> int:
        return len(self.slots)

    def label_counts(self) -> dict[str, int]:
        """Hits by label (a hit counts once under each label of its record): what metrics count."""
        per_record = np.bincount(np.asarray(self.slots, dtype=np.int64), minlength=len(self.records))
        counts: dict[str, int] = {}
        for labels, n in zip(self.records.labels, per_record.tolist(), strict=True):
            for label in labels:
                counts[label] = counts.get(label, 0) + n
        return counts


class _AlreadyFiled(Exception):
    """Raised inside an appeal's write transaction when the same appeal was filed meanwhile."""

    def __init__(self, entry: Entry) -> None:
        super().__init__("appeal already filed")
        self.entry = entry


class AppealAlreadyDecided(FailedPrecondition):
    """The appeal has an effective decision: a later one would change nothing."""


@dataclass(frozen=True)
class MatchExplanation:
    """One logged match of a piece of content, with the record's provenance as it stands now."""

    match: MatchLogEntry
    record: StoredRecord
    bundle: ProvenanceBundle


@dataclass(frozen=True)
class SubmitResult:
    """What a submission signed. `record_ids` has one id per submitted record, in order: a duplicate's is the
    id of the record it duplicates. `entry` is None when every record was a duplicate (nothing was signed)."""

    entry: Entry | None
    record_ids: list[bytes]
    duplicates: tuple[int, ...] = ()  # indexes of the submitted records that were not signed again


@dataclass
class IndexDelta:
    """What a committed transaction changes in the in-memory index; applied after the commit."""

    add_ordinals: list[int] = field(default_factory=list)  # index keys: a PDQ record's ordinal, a video's frame keys
    add_hashes: list[bytes] = field(default_factory=list)  # their hashes, joined in the same order
    remove: list[int] = field(default_factory=list)

    def add(self, ordinal: int, signal_type: str, value: bytes) -> None:
        if signal_type == "vpdq":
            self.add_video(ordinal, value)
        else:
            self.add_ordinals.append(ordinal)
            self.add_hashes.append(value)

    def add_video(self, ordinal: int, value: bytes) -> None:
        """A stored video's frames (node/index/video.py): rows of the same index."""
        keys, hashes = video_rows(ordinal, value)
        self.add_ordinals.extend(keys.tolist())
        self.add_hashes.append(hashes.tobytes())

    def drop(self, ordinal: int, signal_type: str, value: bytes) -> None:
        self.remove.extend(video_rows(ordinal, value)[0].tolist() if signal_type == "vpdq" else [ordinal])


class Ledger:
    """Store + index + signer of one node."""

    def __init__(
        self,
        store: Store,
        index: PdqIndex,
        *,
        settings: LedgerSettings,
        membership: Membership,
        signer: SigningKey | None,
        taxonomy: Taxonomy,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.store = store
        self.index = index
        self.settings = settings
        self._membership = membership
        self.signer = signer
        # Signs provenance bundles' assembly statements: the member key, also on a follower (which never
        # authors with it: a statement is not a log entry, so it cannot fork the member's log).
        self.attester = signer
        self.taxonomy = taxonomy
        self.clock = clock
        # Reentrant: a submission that skips duplicates holds it from its lookup to its commit.
        self._author_lock = threading.RLock()
        self.background_check: integrity.BackgroundCheck | None = None  # startup_check "quick": the full one
        self._listeners: list[Callable[[Entry], None]] = []
        # Answered durability: each match call writes its own matches (with whatever else is pending) before it
        # returns, so nothing waits long enough to be dropped.
        self._recorder = MatchRecorder(None if settings.match_log_answered else MAX_UNWRITTEN_MATCHES)
        self._flush_lock = threading.Lock()  # one flush at a time: later callers find their matches written
        self._verdict_cache: tuple[Membership, dict[tuple[str, tuple[str, ...]], standing.Shared]] | None = None
        # Woken after every commit; notice watchers wait on it (and re-read the store).
        self.commits = threading.Condition()
        self._listeners.append(self._wake_watchers)
        self.authoring_blocked_reason: str | None = None  # set through `block_authoring`
        self._authoring_blocks: dict[str, str] = {}
        self._authoring_blocks_lock = threading.Lock()
        self.snapshot_dir: Path | None = None  # where close() saves the PDQ index (set by `open`)

    @classmethod
    def open(
        cls,
        data_dir: Path,
        *,
        settings: LedgerSettings,
        membership: Membership,
        signer: SigningKey | None,
        taxonomy: Taxonomy,
        clock: Callable[[], int] = now_ms,
        reevaluate: bool = True,
    ) -> Ledger:
        """Opens the store under `data_dir` and loads (or builds) the PDQ index from it.

        `reevaluate=False` leaves re-deriving statuses to the caller's next `membership` assignment: a node
        opens with its root roster and then sets its newest one, and judging every record under the root first
        would rewrite statuses back and forth, O(records), at every start.
        """
        if signer is not None:
            _check_signer(settings, membership, signer)
        # Before the store is opened and anything is derived from it: a damaged lookup table would answer "no
        # match" for records the store holds (docs/reliability.md says what this costs at start).
        path = data_dir / "lmdb"
        if settings.startup_check == "full":
            integrity.check_lookups_at(path)
        store = Store.open(path, map_size=settings.map_size, consortium_id=settings.consortium_id)
        ledger = cls(
            store, PdqIndex(), settings=settings, membership=membership, signer=signer, taxonomy=taxonomy,
            clock=clock,
        )
        try:
            if settings.startup_check == "quick":
                integrity.quick_check_lookups(store)
                # The full check in a child process, beside the index load and the serving node: damage it
                # finds is reported as damage met while serving (health NOT_SERVING, the corruption counter).
                ledger.background_check = integrity.BackgroundCheck(path, store.report_damage).start()
            if reevaluate:
                ledger.reevaluate_if_policy_changed()
            ledger.index = pdq_snapshot.load_or_build(store, data_dir / "index")
            ledger.snapshot_dir = data_dir / "index"
        except Exception:
            if ledger.background_check is not None:
                ledger.background_check.stop()
            store.close()
            raise
        return ledger

    @property
    def membership(self) -> Membership:
        return self._membership

    @membership.setter
    def membership(self, membership: Membership) -> None:
        """A new roster: records are re-evaluated if what their standing depends on changed (stewards,
        trusted flaggers, the decision window)."""
        self._membership = membership
        self.reevaluate_if_policy_changed()

    def close(self) -> None:
        """Flushes the match log, saves the PDQ index snapshot for a fast next start, closes the store."""
        if self.background_check is not None:
            self.background_check.stop()
        try:
            self.flush_match_log()
            if self.snapshot_dir is not None:
                pdq_snapshot.save(self.store, self.index, self.snapshot_dir)
        finally:
            self.store.close()

    def on_commit(self, listener: Callable[[Entry], None]) -> None:
        """Registers a callback run after each committed entry (replication pushes from here)."""
        self._listeners.append(listener)

    def block_authoring(self, source: str, reason: str | None) -> None:
        """Records why `source` refuses authoring (None: it no longer does). Several gates do (replication
        catching up or holding fork evidence, the member's status in the roster, a follower); authoring is
        refused while any of them refuses it, and `authoring_blocked_reason` shows the earliest reason."""
        with self._authoring_blocks_lock:
            if reason is None:
                self._authoring_blocks.pop(source, None)
            else:
                self._authoring_blocks[source] = reason
            self.authoring_blocked_reason = next(iter(self._authoring_blocks.values()), None)

    # --- authoring --------------------------------------------------------------------------------------------

    def submit(
        self,
        records: Sequence[HashRecord],
        *,
        skip_duplicates: bool = False,
        request_id: str | None = None,
        still_wanted: Callable[[], None] | None = None,
    ) -> SubmitResult:
        """Signs `records` as one contribution entry of this member and commits it.

        With `skip_duplicates`, a record this member already contributed with the same signal type, value and
        labels (and did not retract), or that repeats an earlier record of the same batch, is not signed again.
        The lookup and the signing happen under the authoring lock, so two concurrent submissions of one record
        sign it once.

        With `request_id` (the client's), a submission made before with the same id returns that first result
        and signs nothing; the result is stored with the entry, in its transaction. `still_wanted()` runs under
        the authoring lock just before signing, and raises (e.g. DeadlineExceeded) when the caller can no longer
        receive the result: nothing is then signed or committed.

        Raises:
            InvalidArgument: `request_id` was used before for other records or another `skip_duplicates`.
        """
        self._check_batch("records", len(records))
        items = [r.encode() for r in records]
        total = sum(map(len, items))
        if total > MAX_ENTRY_BYTES:  # one entry must fit every peer's message limit (docs/protocol.md "Entries")
            raise InvalidArgument("records", f"{total} bytes encoded", f"at most {MAX_ENTRY_BYTES}: split the batch")
        digest = _submission_digest(items, skip_duplicates) if request_id is not None else b""
        with self._author_lock:
            if request_id is not None:
                first = self._first_submission(request_id, digest)
                if first is not None:
                    return first
            result = self._submit(records, items, skip_duplicates, still_wanted, request_id, digest)
        return result

    def _first_submission(self, request_id: str, digest: bytes) -> SubmitResult | None:
        """The result of the earlier submission with `request_id`, if there was one. Raises: InvalidArgument."""
        with self.store.read() as txn:
            stored = SubmissionBook(self.store, txn).get(self.settings.member_id, request_id)
            if stored is None:
                return None
            if stored.digest != digest:
                raise InvalidArgument(
                    "request_id",
                    request_id,
                    "a new id: this one was sent before with other records (or skip_duplicates); a retry sends "
                    "the same request",
                )
            entry = None if stored.entry_id is None else self.store.entry(txn, stored.entry_id)
        return SubmitResult(entry, list(stored.record_ids), stored.duplicates)

    def _submit(
        self,
        records: Sequence[HashRecord],
        items: list[bytes],
        skip_duplicates: bool,
        still_wanted: Callable[[], None] | None,
        request_id: str | None,
        digest: bytes,
    ) -> SubmitResult:
        """`submit` under the authoring lock, once no earlier submission with `request_id` was found."""

        def precheck(txn: Txn, timestamp_ms: int) -> None:
            if still_wanted is not None:
                still_wanted()

        def remember(txn: Txn, result: SubmitResult) -> None:
            if request_id is not None:
                stored = StoredSubmission(
                    digest,
                    None if result.entry is None else result.entry.entry_id,
                    tuple(result.record_ids),
                    tuple(result.duplicates),
                )
                SubmissionBook(self.store, txn).add(self.settings.member_id, request_id, stored, self.clock())

        if not skip_duplicates:
            def ids_of(entry: Entry) -> SubmitResult:
                return SubmitResult(entry, [record_id(entry.entry_id, i) for i in range(len(records))])

            entry = self._author(
                EntryKind.CONTRIBUTION, items, records, precheck,
                then=lambda txn, entry: remember(txn, ids_of(entry)),
            )
            return ids_of(entry)
        with self.store.read() as txn:
            earlier = self._contributed(txn, records)
        fresh = _first_of_each(records, earlier)
        signed: Entry | None = None
        if fresh:
            chosen = [records[i] for i in fresh]
            signed = self._author(
                EntryKind.CONTRIBUTION, [items[i] for i in fresh], chosen, precheck,
                then=lambda txn, entry: remember(txn, _with_duplicates(records, earlier, fresh, entry)),
            )
        elif request_id is not None:
            with self.store.write() as txn:
                remember(txn, _with_duplicates(records, earlier, fresh, None))
        return _with_duplicates(records, earlier, fresh, signed)

    def _contributed(self, txn: Txn, records: Sequence[HashRecord]) -> dict[int, bytes]:
        """Which of `records` this member already contributed (same type, value and labels, not retracted): the
        id of such a record, by index into `records`."""
        me, found = self.settings.member_id, {}
        for i, record in enumerate(records):
            for ordinal in self.store.exact(txn, record.signal_type, record.value):
                row = self.store.record(txn, ordinal)
                if row is None or row.author != me or row.status == Status.RETRACTED:
                    continue
                if row.record.labels == record.labels:
                    found[i] = standing.row_record_id(row)
                    break
        return found

    def retract(self, record_ids: Sequence[bytes], reason: str) -> Entry:
        """Withdraws records this member contributed."""
        self._check_may_author(EntryKind.RETRACTION)
        self._check_batch("record_ids", len(record_ids))
        with self.store.read() as txn:
            for i, rid in enumerate(record_ids):
                row = self._row(txn, rid, f"record_ids[{i}]")
                if row.author != self.settings.member_id:
                    raise PermissionDenied(
                        f"record_ids[{i}]: record was contributed by {row.author}; only its contributor retracts"
                    )
        return self._author(EntryKind.RETRACTION, [RetractionItem(rid, reason).encode() for rid in record_ids])

    def opine(self, rid: bytes, stance: Stance, reason_code: str = "", text: str = "") -> Entry:
        """Signs this member's opinion on another member's record: an endorsement, a disagreement or a
        false-positive report. A member's latest opinion on a record replaces its earlier ones."""
        item = OpinionItem.create(rid, stance, reason_code, text)
        self._check_may_author(EntryKind.OPINION)
        self._check_may_dispute("opinions")
        with self.store.read() as txn:
            row = self._row(txn, rid, "record_id")
        if row.author == self.settings.member_id:
            raise FailedPrecondition(
                "record_id: this member contributed the record; its own opinion does not count "
                "(retract it instead)"
            )
        return self._author(EntryKind.OPINION, [item.encode()])

    def appeal(self, rid: bytes, case_ref: str, match_distance: int | None = None) -> Entry:
        """Signs that this member received an appeal against an action it took because content matched `rid`.
        `case_ref` is the member's own opaque case token: never personal data. Filing the same case about the
        same record again returns the first appeal entry (`file_appeal` says which)."""
        return self.file_appeal(rid, case_ref, match_distance)[0]

    def file_appeal(self, rid: bytes, case_ref: str, match_distance: int | None = None) -> tuple[Entry, bool]:
        """`appeal`, and whether the entry returned was filed before (True: nothing new was signed).

        Idempotent by (record, case reference): a retried or repeated call must not open a second case that
        needs a second decision and counts twice in reports.

        Raises:
            InvalidArgument: the case reference or distance is malformed.
            PermissionDenied: this member may not file appeals.
            FailedPrecondition: the record is already retracted or overturned.
        """
        item = AppealItem.create(rid, case_ref, match_distance)
        self._check_may_author(EntryKind.APPEAL)
        self._check_may_dispute("appeals")
        with self.store.read() as txn:
            row = self._row(txn, rid, "record_id")
            earlier = self._filed_appeal(txn, rid, case_ref)
        if earlier is not None:
            return earlier, True
        if row.status in standing.FINAL:
            name = standing.STANDING_OF_FINAL[row.status].value
            raise FailedPrecondition(f"record_id: the record is already {name}; it matches nowhere")

        def precheck(txn: Txn, timestamp_ms: int) -> None:
            found = self._filed_appeal(txn, rid, case_ref)
            if found is not None:  # a concurrent call filed it since the read above
                raise _AlreadyFiled(found)
            self._check_statement_case(txn, rid, case_ref)

        try:
            return self._author(EntryKind.APPEAL, [item.encode()], precheck=precheck), False
        except _AlreadyFiled as filed:
            return filed.entry, True

    def _check_statement_case(self, txn: Txn, rid: bytes, case_ref: str) -> None:
        """An appeal filed from a statement of reasons (its id leads the case reference) must name one this node
        issued that rests on the record: the link is what lets the overturn's notice name the statement.

        Raises:
            InvalidArgument: no such statement here, or it does not rest on `rid`.
        """
        statement_id = statement_of_case(case_ref)
        if statement_id is None:
            return
        statement = StatementBook(self.store, txn).get(statement_id)
        if statement is None:
            want = f"a statement of reasons this node issued ({statement_id} is not)"
            raise InvalidArgument("case_ref", case_ref, want)
        if rid not in statement.record_ids:
            raise InvalidArgument(
                "case_ref",
                case_ref,
                f"a statement resting on record {rid.hex()} ({statement_id} rests on "
                + ", ".join(r.hex() for r in statement.record_ids)
                + ")",
            )

    def _filed_appeal(self, txn: Txn, rid: bytes, case_ref: str) -> Entry | None:
        """This member's first appeal entry about `rid` with this case reference, if any."""
        me, found = self.settings.member_id, []
        for entry_id in self.store.related(txn, rid):
            entry = self._entry(txn, entry_id)
            if entry.kind != EntryKind.APPEAL or entry.header.author != me:
                continue
            items = [AppealItem.decode(i) for i in entry.items]
            if any(i.record_id == rid and i.case_ref == case_ref for i in items):
                found.append(entry)
        return min(found, key=lambda e: e.header.seq, default=None)

    def decide(
        self, appeal_entry_id: bytes, outcome: Outcome, reason: str, rid: bytes | None = None
    ) -> Entry:
        """Signs a decision on an appeal: as the record's contributor, or as a steward once the contributor's
        decision window has passed. `rid` may be omitted when the appeal concerns one record.

        Raises:
            UnknownAppeal: no appeal entry with this id (about `rid`) on this node.
            NotDecisionAuthority: this member is neither the record's contributor nor a steward.
            DecisionTooEarly: a steward decides before the deadline.
            AppealAlreadyDecided: the appeal has an effective decision.
        """
        self._check_may_author(EntryKind.DECISION)
        with self.store.read() as txn:
            appeal = self._appeal(txn, appeal_entry_id, rid)
            row = self._row(txn, appeal.item.record_id, "record_id")
        authority = standing.authority(row.author, self.membership)
        item = DecisionItem.create(
            appeal.item.record_id, appeal_entry_id, outcome, reason, self._decided_as(authority)
        )
        return self._author(EntryKind.DECISION, [item.encode()], precheck=self._decision_check(appeal, item, authority))

    def publish_ruling(self, signed: SignedRuling) -> tuple[Entry, bool]:
        """Signs a stewards' ruling into this member's log as a decision item (`decided_as = stewards`), after
        the checks every node will apply: enough stewards signed it, they ruled after the decision window, the
        appeal is on this node and not decided yet. Publishing the same ruling again returns the entry that
        carries it (True: nothing new was signed), whoever published it.

        Raises:
            InvalidArgument: the ruling is for another consortium.
            UnknownAppeal: no such appeal on this node.
            NotDecisionAuthority: fewer stewards than the consortium's quorum signed it.
            DecisionTooEarly: the stewards ruled before the contributor's window closed.
            AppealAlreadyDecided: the appeal has an effective decision.
        """
        ruling = signed.ruling
        self._check_may_author(EntryKind.DECISION)
        if ruling.consortium_id != self.settings.consortium_id:
            raise InvalidArgument("consortium_id", ruling.consortium_id, self.settings.consortium_id)
        item = DecisionItem.create(
            ruling.record_id, ruling.appeal_entry_id, ruling.outcome, ruling.reason, DecidedAs.STEWARDS,
            ruling.ruled_at_ms, tuple(signed.signatures),
        )
        with self.store.read() as txn:
            appeal = self._appeal(txn, ruling.appeal_entry_id, ruling.record_id)
            row = self._row(txn, ruling.record_id, "record_id")
            earlier = self._published(txn, ruling)
        if earlier is not None:
            return earlier, True
        authority = standing.authority(row.author, self.membership)
        check_ruling(item, authority)  # before the write lock: the common refusal costs no transaction
        precheck = self._decision_check(appeal, item, authority)
        return self._author(EntryKind.DECISION, [item.encode()], precheck=precheck), False

    def _published(self, txn: Txn, ruling: Ruling) -> Entry | None:
        """The first decision entry, by anyone, carrying this ruling."""
        found = []
        for entry_id in self.store.related(txn, ruling.record_id):
            entry = self._entry(txn, entry_id)
            if entry.kind != EntryKind.DECISION:
                continue
            for raw in entry.items:
                item = DecisionItem.decode(raw)
                if item.decided_as is DecidedAs.STEWARDS and ruling_of(item, ruling.consortium_id) == ruling:
                    found.append(entry)
                    break
        return min(found, key=lambda e: (e.header.timestamp_ms, e.entry_id), default=None)

    def _decision_check(
        self, appeal: VerifiedItem[AppealItem], item: DecisionItem, authority: DecisionAuthority
    ) -> Callable[[Txn, int], None]:
        """The precheck of a decision entry: valid with the timestamp it will carry, and the appeal undecided."""

        def precheck(txn: Txn, timestamp_ms: int) -> None:
            me = self.settings.member_id
            check_decision(appeal, VerifiedItem(me, timestamp_ms, ZERO_ID, item), authority)
            decided = resolve(appeal, standing.history(self.store, txn, item.record_id).decisions, authority)
            if decided.effective is not None:
                raise AppealAlreadyDecided(
                    f"appeal_entry_id: appeal {decided.key.short()} was already "
                    f"{decided.effective.item.outcome.label} by {decided.effective.author}"
                )

        return precheck

    def _appeal(self, txn: Txn, appeal_entry_id: bytes, rid: bytes | None) -> VerifiedItem[AppealItem]:
        """The appeal (or the case opened by disputes) that a decision names.

        Raises:
            UnknownAppeal: no such appeal or open case on this node.
            InvalidArgument: `rid` is needed (the entry concerns several records) and was not given.
        """
        entry = self.store.entry(txn, appeal_entry_id)
        if entry is not None and entry.kind == EntryKind.OPINION:
            return self._dispute_case(txn, entry, rid)
        if entry is None or entry.kind != EntryKind.APPEAL:
            raise UnknownAppeal(f"appeal_entry_id: no appeal entry {appeal_entry_id.hex()} on this node")
        items = [AppealItem.decode(i) for i in entry.items]
        if rid is None and len({i.record_id for i in items}) > 1:
            raise InvalidArgument("record_id", "nothing", "the record decided: the appeal concerns several")
        chosen = next((i for i in items if rid is None or i.record_id == rid), None)
        if chosen is None:
            raise UnknownAppeal(f"record_id: appeal {appeal_entry_id.hex()[:16]}… does not concern {rid!r}")
        header = entry.header
        return VerifiedItem(header.author, header.timestamp_ms, entry.entry_id, chosen)

    def _dispute_case(self, txn: Txn, opinion: Entry, rid: bytes | None) -> VerifiedItem[AppealItem]:
        """The case the disputes opened with this opinion entry (node/dueprocess/disputes.py)."""
        concerned = records_concerned(opinion)
        if rid is None and len(concerned) > 1:
            raise InvalidArgument("record_id", "nothing", "the record decided: the opinion concerns several")
        for record in [rid] if rid is not None else concerned:
            row = self._row(txn, record, "record_id")
            history = standing.history(self.store, txn, record)
            authority = standing.authority(row.author, self.membership)
            for case in history.cases(authority):
                if case.entry_id == opinion.entry_id and case.item.case_ref == DISPUTE_CASE:
                    return case
        raise UnknownAppeal(
            f"appeal_entry_id: opinion {opinion.entry_id.hex()[:16]}… opened no dispute case on this node"
        )

    def _decided_as(self, authority: DecisionAuthority) -> DecidedAs:
        me = self.settings.member_id
        if me == authority.contributor:
            return DecidedAs.CONTRIBUTOR
        if me in authority.stewards:
            return DecidedAs.STEWARD
        raise NotDecisionAuthority(
            f"{me!r} may not decide this appeal: only the record's contributor {authority.contributor!r} "
            "and, after the decision window, the stewards decide"
        )

    def _check_may_dispute(self, what: str) -> None:
        member = self.membership.get(self.settings.member_id)
        if member is None or member.status != "active":
            raise PermissionDenied(
                f"member {self.settings.member_id!r} may not file {what}: that takes an active member"
            )

    def _check_may_author(self, kind: EntryKind) -> None:
        """The rule table every node applies to this member's entries (`authorship`, receipt rule R5): an
        entry it would refuse is never signed here."""
        me = self.settings.member_id
        member = self.membership.get(me)
        if member is None:
            raise PermissionDenied(f"member {me!r} is not in the roster this node trusts; it cannot author")
        why = authorship.refusal(member, kind)
        if why is not None:
            raise PermissionDenied(why)

    def _check_batch(self, field_name: str, size: int) -> None:
        if not 1 <= size <= self.settings.max_batch:
            raise InvalidArgument(field_name, f"{size} items", f"1..{self.settings.max_batch}")

    def _author(
        self,
        kind: EntryKind,
        items: list[bytes],
        decoded: Sequence[HashRecord] | None = None,
        precheck: Callable[[Txn, int], None] | None = None,
        *,
        then: Callable[[Txn, Entry], None] | None = None,
    ) -> Entry:
        """Signs and commits one entry of this member. `precheck(txn, timestamp_ms)` runs in the write
        transaction, with the timestamp the entry will carry, before anything is signed or written;
        `then(txn, entry)` after the entry is written, in the same transaction."""
        if self.signer is None:
            raise FailedPrecondition("this node has no signing key (follower or read-only node); it cannot author")
        self._check_may_author(kind)  # first: waiting would not help
        if self.authoring_blocked_reason:
            raise FailedPrecondition(self.authoring_blocked_reason)
        me = self.settings.member_id
        with self._author_lock:
            with self.store.write() as txn:
                head = self.store.head(txn, me)
                # Never before the previous entry: replication refuses a log whose timestamps go back (R8).
                timestamp_ms = max(self.clock(), head.timestamp_ms if head else 0)
                if precheck is not None:
                    precheck(txn, timestamp_ms)
                entry = sign_entry(
                    self.signer,
                    consortium_id=self.settings.consortium_id,
                    author=me,
                    seq=head.seq + 1 if head else 1,
                    prev=head.entry_id if head else ZERO_ID,
                    timestamp_ms=timestamp_ms,
                    kind=kind,
                    items=items,
                )
                delta = self.apply_in_txn(txn, entry, decoded)
                if then is not None:
                    then(txn, entry)
            self.after_commit(entry, delta)
        return entry

    # --- applying entries (own and replicated) ---------------------------------------------------------------

    def apply_in_txn(self, txn: Txn, entry: Entry, decoded: Sequence[HashRecord] | None = None) -> IndexDelta:
        """Writes a validated entry and its effects inside `txn`. The caller checked signature and chain.

        `decoded` are the entry's records when the caller has them already (its own submissions).
        """
        self.store.put_entry(txn, entry)
        self.store.put_arrival(txn, entry, self.clock())
        delta = IndexDelta()
        if entry.kind == EntryKind.CONTRIBUTION:
            self._apply_contribution(txn, entry, delta, decoded)
        elif entry.kind == EntryKind.RETRACTION:
            self._apply_retraction(txn, entry, delta)
        elif entry.kind in DESCRIBERS:
            # Opinions, appeals, decisions: related to each record they concern, whose standing may change.
            for rid in records_concerned(entry):
                self.store.add_related(txn, rid, entry.entry_id)
                self.refresh_standing(txn, rid, delta)
        return delta

    def _apply_contribution(
        self, txn: Txn, entry: Entry, delta: IndexDelta, decoded: Sequence[HashRecord] | None
    ) -> None:
        values = decoded if decoded is not None else [HashRecord.decode(item) for item in entry.items]
        records = [
            NewRecord(record_id(entry.entry_id, i), i, value, item)
            for i, (value, item) in enumerate(zip(values, entry.items, strict=True))
        ]
        ordinals = self.store.put_records(txn, entry, records)
        for ordinal, new in zip(ordinals, records, strict=True):
            if not self._starts_active(txn, ordinal, new.record_id):
                continue
            if new.record.signal_type == "pdq":
                delta.add_ordinals.append(ordinal)
                delta.add_hashes.append(new.record.value)
            elif new.record.signal_type == "vpdq":
                delta.add_video(ordinal, new.record.value)

    def _starts_active(self, txn: Txn, ordinal: int, rid: bytes) -> bool:
        """Whether a new record matches under this node's policy. Entries about it may have arrived first
        (they are in other members' logs), and the policy may require endorsements or accepted labels."""
        policy = self.settings.policy
        if standing.is_open(policy) and not self.store.related(txn, rid):
            return True
        row = self.store.record(txn, ordinal)
        if row is None:
            raise StorageError(f"record {rid.hex()} vanished while it was being stored")
        status = standing.STATUS_OF[standing.verdict(self.store, txn, row, self.membership, policy).standing]
        self.store.set_status(txn, row, status)
        return status in MATCHING

    def _apply_retraction(self, txn: Txn, entry: Entry, delta: IndexDelta) -> None:
        for item in entry.items:
            retraction = RetractionItem.decode(item)
            self.store.add_related(txn, retraction.record_id, entry.entry_id)
            ordinal = self.store.ordinal(txn, retraction.record_id)
            row = None if ordinal is None else self.store.record(txn, ordinal)
            # Only the contributor can retract; anyone else's retraction stays on record as history, nothing more.
            if row is not None and row.author == entry.header.author:
                self.set_record_status(txn, retraction.record_id, Status.RETRACTED, delta)

    def set_record_status(self, txn: Txn, rid: bytes, status: int, delta: IndexDelta) -> None:
        """Moves a record to `status` (policy and due-process decisions use this). A record that stops
        matching for good (retracted, overturned) issues reinstatement notices for its logged matches."""
        ordinal = self.store.ordinal(txn, rid)
        row = None if ordinal is None else self.store.record(txn, ordinal)
        if row is None or row.status == status:
            return
        self.store.set_status(txn, row, status)
        if row.record.signal_type in ("pdq", "vpdq"):
            if status in MATCHING and row.status not in MATCHING:
                delta.add(row.ordinal, row.record.signal_type, row.record.value)
            elif row.status in MATCHING and status not in MATCHING:
                delta.drop(row.ordinal, row.record.signal_type, row.record.value)
        if status in standing.FINAL and row.status not in standing.FINAL:
            self._issue_notices(txn, rid, standing.STANDING_OF_FINAL[status].value)

    def refresh_standing(self, txn: Txn, rid: bytes, delta: IndexDelta) -> None:
        """Re-derives a record's status from its history and this node's policy, inside `txn`."""
        ordinal = self.store.ordinal(txn, rid)
        row = None if ordinal is None else self.store.record(txn, ordinal)
        if row is None:  # entries about a record may arrive before it: evaluated when it arrives
            return
        verdict = standing.verdict(self.store, txn, row, self.membership, self.settings.policy)
        self.set_record_status(txn, rid, standing.STATUS_OF[verdict.standing], delta)

    def reevaluate_if_policy_changed(self) -> int:
        """Re-derives every record's status when the policy, the decision window, the stewards or the trusted
        flaggers changed since the last run (a fingerprint is kept in the store); returns how many records
        were evaluated. Runs at open and whenever the membership changes."""
        key = b"dueprocess.fingerprint"
        wanted = standing.fingerprint(self.settings.policy, self.membership)
        with self.store.read() as txn:
            if self.store.get_state(txn, key) == wanted:
                return 0
        count, delta = 0, IndexDelta()
        with self.store.write() as txn:
            while rows := list(itertools.islice(self.store.records_from(txn, count), 10_000)):
                for row in rows:  # read in chunks: statuses are rewritten in place
                    if row.status != Status.RETRACTED:
                        self.refresh_standing(txn, standing.row_record_id(row), delta)
                count = rows[-1].ordinal + 1
            self.store.put_state(txn, key, wanted)
        self.after_commit(None, delta)
        return count

    def after_commit(self, entry: Entry | None, delta: IndexDelta) -> None:
        self.apply_index_delta(delta)
        if entry is not None:
            for listener in self._listeners:
                listener(entry)

    def after_commit_all(self, applied: Sequence[tuple[Entry, IndexDelta]]) -> None:
        """`after_commit` for the entries of one transaction, in commit order, with the index changed in bulk.

        Additions are merged across entries (one index call instead of one per entry); a removal first flushes
        the additions before it, so a record added and retracted in one batch ends up removed.
        """
        merged = IndexDelta()
        for _, delta in applied:
            if delta.remove:
                self.apply_index_delta(merged)
                merged = IndexDelta()
                self.apply_index_delta(delta)
            else:
                merged.add_ordinals.extend(delta.add_ordinals)
                merged.add_hashes.extend(delta.add_hashes)
        self.apply_index_delta(merged)
        for entry, _ in applied:
            for listener in self._listeners:
                listener(entry)

    def apply_index_delta(self, delta: IndexDelta) -> None:
        if delta.remove:
            self.index.remove(np.asarray(delta.remove, dtype=np.int64))
        if delta.add_ordinals:
            hashes = np.frombuffer(b"".join(delta.add_hashes), dtype=np.uint8).reshape(-1, 32)
            self.index.add(np.asarray(delta.add_ordinals, dtype=np.int64), hashes)

    def commit_entries(self, entries: Sequence[Entry], extra: Callable[[Txn], None] | None = None) -> None:
        """Commits already-validated entries (replication) in one transaction, with `extra` writes (checkpoint)."""
        applied = []
        with self.store.write() as txn:
            for entry in entries:
                applied.append((entry, self.apply_in_txn(txn, entry)))
            if extra is not None:
                extra(txn)
        self.after_commit_all(applied)

    # --- matching ---------------------------------------------------------------------------------------------

    def match(
        self,
        queries: Sequence[Query],
        pdq_threshold: int | None = None,
        vpdq_query_percent: float | None = None,
        vpdq_compared_percent: float | None = None,
    ) -> MatchResults:
        """Matches every query; per query the active records it matched, sorted by (distance, record id).

        A video query (vpdq) matches stored videos by vPDQ's rule (node/index/video.py) with the given
        thresholds (None: this node's settings), whatever `pdq_threshold` says; its hits have distance 0 and
        carry the comparison. Image queries never match video frames, nor video queries images.

        The matches are queued for the match log (`flush_match_log` writes them; docs/due-process.md says when
        they are logged), each query that matched with a query id.
        """
        threshold = self.settings.pdq_threshold if pdq_threshold is None else pdq_threshold
        if not 0 <= threshold <= MAX_THRESHOLD:
            raise InvalidArgument("pdq_threshold", threshold, f"0..{MAX_THRESHOLD}")
        self._check_batch("queries", len(queries))
        kinds = [_query_kind(i, query) for i, query in enumerate(queries)]
        pdq_positions = [i for i, kind in enumerate(kinds) if kind.match is MatchKind.HAMMING]
        pdq: tuple[npt.NDArray[np.int64], ...] = ()  # query, ordinal, distance of each PDQ hit
        if pdq_positions:
            hashes = np.frombuffer(b"".join(queries[i].value for i in pdq_positions), dtype=np.uint8)
            qidx, ordinals, distances = self.index.query(hashes.reshape(-1, 32), threshold)
            images = ordinals < FRAME_KEY_FLAG  # the index holds videos' frames too
            if not images.all():
                qidx, ordinals, distances = qidx[images], ordinals[images], distances[images]
            if len(pdq_positions) != len(queries):
                qidx = np.asarray(pdq_positions)[qidx]
            pdq = (qidx.astype(np.int64), ordinals.astype(np.int64), distances.astype(np.int64))
        video_positions = [i for i, kind in enumerate(kinds) if kind.match is MatchKind.FRAMES]
        videos: dict[tuple[int, int], VideoComparison] | None = None
        if video_positions:
            videos = self._match_videos(queries, video_positions, vpdq_query_percent, vpdq_compared_percent)
            found = np.asarray(list(videos), dtype=np.int64).reshape(-1, 2).T
            video_hits = (found[0], found[1], np.zeros(len(videos), np.int64))
            pdq = tuple(np.concatenate(p) for p in zip(pdq, video_hits, strict=True)) if pdq else video_hits
        with self.store.read() as txn:
            exact = [
                (i, ordinal)
                for i, (query, kind) in enumerate(zip(queries, kinds, strict=True))
                if kind.match is MatchKind.EXACT
                for ordinal in self.store.exact(txn, kind.name, query.value)
            ]
            if len(pdq[0] if pdq else ()) + len(exact) <= SMALL_MATCH:
                return self._answer_small(txn, queries, pdq, exact, videos)
            if exact:
                q, o = np.asarray(exact, dtype=np.int64).T
                pdq = tuple(np.concatenate(parts) for parts in zip(pdq, (q, o, np.zeros_like(q)), strict=True))
            hit_q, hit_o, hit_d = pdq
            distinct, slot_of_hit = np.unique(hit_o, return_inverse=True)
            records, slot_of_distinct = self._hit_records(txn, distinct.tolist())
        hit_slot = np.asarray(slot_of_distinct, dtype=np.int64)[slot_of_hit]
        keep = hit_slot >= 0
        hit_q, hit_d, hit_slot = hit_q[keep], hit_d[keep], hit_slot[keep]
        order = np.lexsort((_id_order(records.record_ids)[hit_slot], hit_d, hit_q))  # (query, distance, record id)
        counts = np.bincount(hit_q, minlength=len(queries))
        offsets = np.concatenate([[0], np.cumsum(counts)]).tolist()
        return self._answer(queries, records, offsets, hit_slot[order].tolist(), hit_d[order].tolist(), videos)

    def _match_videos(
        self,
        queries: Sequence[Query],
        positions: list[int],
        query_percent: float | None,
        compared_percent: float | None,
    ) -> dict[tuple[int, int], VideoComparison]:
        """(query position, stored video's ordinal) → comparison of each stored video a video query matches."""
        settings = self.settings
        q = settings.vpdq_query_match_percent if query_percent is None else query_percent
        c = settings.vpdq_compared_match_percent if compared_percent is None else compared_percent
        q = check_percent("vpdq_query_match_percent", q)
        c = check_percent("vpdq_compared_match_percent", c)
        found: dict[tuple[int, int], VideoComparison] = {}
        with self.store.read() as txn:

            def frames_of(ordinal: int) -> FrameSet | None:
                row = self.store.record(txn, ordinal)
                if row is None or row.status not in MATCHING:
                    return None
                return FrameSet.from_value(row.record.value)

            index = VideoIndex(self.index)
            for i in positions:
                query = _video_query(i, queries[i])
                for match in index.match(query, frames_of, q, c):
                    found[(i, match.ordinal)] = match.comparison
        return found

    def _answer_small(
        self,
        txn: Txn,
        queries: Sequence[Query],
        pdq: tuple[npt.NDArray[np.int64], ...],
        exact: list[tuple[int, int]],
        videos: dict[tuple[int, int], VideoComparison] | None = None,
    ) -> MatchResults:
        """`match` for calls with few hits (one-hash calls, mostly): the same answer in plain Python, where numpy's
        cost per call (a few microseconds per function) would be most of the work."""
        hits = [(q, 0, o) for q, o in exact]
        if pdq:
            hits += zip(pdq[0].tolist(), pdq[2].tolist(), pdq[1].tolist(), strict=True)
        distinct = sorted({o for _, _, o in hits})
        records, slots = self._hit_records(txn, distinct)
        slot_of = dict(zip(distinct, slots, strict=True))
        ids = records.record_ids
        ordered = sorted((q, d, ids[slot_of[o]], slot_of[o]) for q, d, o in hits if slot_of[o] >= 0)
        offsets = [0] * (len(queries) + 1)
        for q, *_ in ordered:
            offsets[q + 1] += 1
        for i in range(len(queries)):
            offsets[i + 1] += offsets[i]
        return self._answer(queries, records, offsets, [h[3] for h in ordered], [h[1] for h in ordered], videos)

    def _hit_records(self, txn: Txn, ordinals: list[int]) -> tuple[HitRecords, list[int]]:
        """The active records among `ordinals`, and the slot of each ordinal among them (-1: not active, it does
        not match)."""
        hits = self.store.active_hits(txn, ordinals)
        try:
            authors = _decoded(hits.authors, lambda raw: raw.decode("utf-8"))
            labels = _decoded(hits.label_sections, decode_labels)
        except (UnicodeDecodeError, EncodingError) as exc:  # stored rows, checked when stored: damage
            raise DataCorruption("records", "", f"a matched row does not decode ({exc})") from None
        kept = [ordinals[at] for at in hits.positions]
        policies = self._verdicts(txn).notes_of(kept, hits.rows, hits.record_ids, authors, labels)
        slots = [-1] * len(ordinals)
        for slot, at in enumerate(hits.positions):
            slots[at] = slot
        records = HitRecords(
            kept, hits.record_ids, authors, labels, policies, hits.rows, hits.authors, hits.label_sections
        )
        return records, slots

    def _verdicts(self, txn: Txn) -> standing.Verdicts:
        """The verdicts of one match call. What they derive for records without history depends only on the
        membership and the policy, so it is kept across calls until the membership changes."""
        cache = self._verdict_cache
        if cache is None or cache[0] is not self._membership or len(cache[1]) > 10_000:
            cache = self._verdict_cache = (self._membership, {})
        return standing.Verdicts(self.store, txn, self._membership, self.settings.policy, cache[1])

    def _answer(
        self,
        queries: Sequence[Query],
        records: HitRecords,
        offsets: list[int],
        slots: list[int],
        distances: list[int],
        videos: dict[tuple[int, int], VideoComparison] | None = None,
    ) -> MatchResults:
        """The results of a match call, each query's hits `offsets[i]..offsets[i+1]` of (`slots`, `distances`),
        given query ids and queued for the log (with the video comparisons of video queries' hits)."""
        hit_videos = None if videos is None else _hit_videos(records, offsets, slots, videos)
        query_ids = [""] * len(queries)
        matched = [i for i in range(len(queries)) if offsets[i + 1] > offsets[i]] if slots else []
        if matched and self.settings.match_log_retention_ms:
            numbers = secrets.token_bytes(8 * len(matched))
            for j, i in enumerate(matched):
                query_ids[i] = numbers[8 * j : 8 * j + 8].hex()
            batch = MatchBatch(
                self.clock(),
                numbers,
                [queries[i].content_ref for i in matched],
                [offsets[i] for i in matched] + [offsets[matched[-1] + 1]],
                records.record_ids,
                slots,
                distances,
                hit_videos,
            )
            self._recorder.add(batch)
            if self.settings.match_log_answered:
                self._log_now(batch)
        return MatchResults(records, offsets, slots, distances, query_ids, hit_videos)

    def _log_now(self, batch: MatchBatch) -> None:
        """Answered durability: returns once `batch` is written. Calls that arrive while a flush runs wait for
        it and then find their batch written by the next one, together (a group commit: one transaction for
        all of them). A batch that cannot be written is withdrawn and the call fails: nothing is answered that
        the log does not hold."""
        try:
            with self._flush_lock:
                if self._recorder.is_pending(batch):
                    self._flush_locked()
        except BaseException:
            self._recorder.discard(batch)
            raise

    # --- match log and reinstatement notices ---------------------------------------------------------------

    def flush_match_log(self) -> int:
        """Writes the matches answered since the last flush in one transaction; returns how many (hits). Once
        it returns they are logged: durable, whatever happens to the process."""
        with self._flush_lock:
            return self._flush_locked()

    def _flush_locked(self) -> int:
        if not len(self._recorder):
            return 0
        with self.store.write() as txn:
            batches = self._recorder.write(LmdbMatchLog(self.store, txn))
        self._recorder.written(batches)
        return sum(len(b) for b in batches)

    def match_log_counts(self) -> dict[str, int]:
        """Hits logged (written by committed flushes) and dropped unwritten since the node started, and pending."""
        recorder = self._recorder
        return {"logged": recorder.logged, "dropped": recorder.dropped, "pending": len(recorder)}

    def prune_match_log(self) -> tuple[int, int, int]:
        """Drops logged matches and notices older than the match log's retention window, and statements of
        reasons older than theirs: (matches, notices, statements) dropped."""
        self.flush_match_log()
        retention, now = self.settings.match_log_retention_ms, self.clock()
        cutoff = now - retention if retention else now + 1
        with self.store.write() as txn:
            return (
                LmdbMatchLog(self.store, txn).prune(cutoff),
                NoticeBook(self.store, txn).prune(cutoff),
                StatementBook(self.store, txn).prune(now - self.settings.statement_retention_ms),
            )

    def _issue_notices(self, txn: Txn, rid: bytes, standing_name: str) -> None:
        """The reinstatement notices of `rid` ceasing to match: one per content that matched it within the match
        log's retention, each naming the statements of reasons about that content resting on it; and one per
        statement resting on it that no such notice covers (its matches pruned, or no match log kept)."""

        def gone(other: bytes) -> bool:
            ordinal = self.store.ordinal(txn, other)
            row = None if ordinal is None else self.store.record(txn, ordinal)
            return row is not None and row.status in standing.FINAL

        retention, now = self.settings.match_log_retention_ms, self.clock()
        notices = []
        if retention:
            log = LmdbMatchLog(self.store, txn)
            self._recorder.write(log)  # complete the log first; the entries stay queued until a flush commits
            notices = notices_for(log, rid, now - retention, gone)
        statements = [s for s in StatementBook(self.store, txn).resting_on(rid) if s.status == "issued"]
        final = {rid} | {other for s in statements for other in s.record_ids if other != rid and gone(other)}
        final |= {other for n in notices for other in n.overturned}
        notices = name_statements(notices, statements, final)
        NoticeBook(self.store, txn).issue(notices, created_ms=now, cause=rid, standing=standing_name)

    def notices(self, after: int = 0, limit: int = 1000) -> list[StoredNotice]:
        """Reinstatement notices numbered above `after`, oldest first."""
        with self.store.read() as txn:
            return NoticeBook(self.store, txn).after(after, limit)

    def wait_for_commit(self, timeout_s: float) -> None:
        """Returns after the next commit, or after `timeout_s`."""
        with self.commits:
            self.commits.wait(timeout_s)

    def _wake_watchers(self, entry: Entry) -> None:
        with self.commits:
            self.commits.notify_all()

    def explain(self, content_ref: str = "", query_id: str = "") -> list[MatchExplanation]:
        """Why was this content acted on: its logged matches, each with the record's provenance now.

        The content is named by the `content_ref` its queries carried or by the `query_id` a match answered
        (notices carry both; a platform that sends no content reference has only the query id). A
        `content_ref` that names no logged content but is a query id this node issued is taken as one.

        Raises:
            InvalidArgument: neither is given, or `query_id` is not 16 hex digits.
            NotFound: no logged match of that content or query.
        """
        if not content_ref and not query_id:
            raise InvalidArgument("content_ref", '""', "the content reference a Match query carried, or a query id")
        self.flush_match_log()
        with self.store.read() as txn:
            log = LmdbMatchLog(self.store, txn)
            matches = log.of_content(content_ref) if content_ref else []
            if not matches and (query_id or is_query_id(content_ref)):
                matches = log.of_query_id(query_id or content_ref)
        if not matches:
            days = self.settings.match_log_retention_ms // 86_400_000
            what = f"content {content_ref!r}" if content_ref else f"query {query_id!r}"
            raise NotFound(f"no logged match of {what} (matches are kept {days} days)")
        bundles: dict[bytes, ProvenanceBundle] = {}
        explained = []
        for match in matches:
            if match.record_id not in bundles:
                bundles[match.record_id] = self.provenance(match.record_id)
            explained.append(MatchExplanation(match, self.record(match.record_id), bundles[match.record_id]))
        return explained

    # --- provenance -------------------------------------------------------------------------------------------

    def record(self, rid: bytes) -> StoredRecord:
        with self.store.read() as txn:
            return StoredRecord.from_row(self._row(txn, rid, "record_id"))

    def _row(self, txn: Txn, rid: bytes, field_name: str) -> RecordRow:
        ordinal = self.store.ordinal(txn, rid)
        row = None if ordinal is None else self.store.record(txn, ordinal)
        if row is None:
            raise NotFound(f"{field_name}: no record {rid.hex()} on this node")
        return row

    def provenance(self, rid: bytes) -> ProvenanceBundle:
        """Assembles the self-contained provenance bundle of a record, signed with this node's frontier.

        The related entries and the heads of every log are read in one transaction, so the signed statement
        (docs/protocol.md §9.6) lists exactly the entries about the record this node held up to those heads.

        Raises:
            NotFound: no such record here.
            FailedPrecondition: this node has no member key to sign the statement with.
        """
        if self.attester is None:
            raise FailedPrecondition(
                "this node has no signing key, so it cannot sign provenance bundles; configure the member's key "
                "(a follower may hold it: it never authors with it) or ask another node of the consortium"
            )
        with self.store.read() as txn:
            row = self._row(txn, rid, "record_id")
            entry = self._entry(txn, row.entry_id)
            related = []
            for related_id in self.store.related(txn, rid):
                other = self._entry(txn, related_id)
                author = self.membership.get(other.header.author)
                related.append(RelatedEntry.of(other, author, kind_label(other.kind), describe(other, rid)))
            heads = [Head(author, head.seq, head.entry_id) for author, head in self.store.heads(txn).items()]
        membership, now = self.membership, self.clock()
        stewards = sorted(membership.stewards())
        bundle = ProvenanceBundle(
            consortium_id=self.settings.consortium_id,
            record_id=rid,
            record_item=entry.items[row.index],
            leaf_index=row.index,
            leaf_count=len(entry.items),
            inclusion_proof=tuple(merkle.inclusion_proof(entry.items, row.index)),
            entry_header=entry.header_bytes,
            entry_signature=entry.signature,
            author=membership.get(row.author),
            related=tuple(related),
            stewards=tuple(m for s in stewards if (m := membership.get(s)) is not None),
            decision_window_ms=membership.decision_window_ms,
        )
        return attest(
            bundle,
            self.attester,
            assembler=membership.get(self.settings.member_id) or self.settings.member_id,
            assembled_at_ms=now,
            heads=heads,
            roster_version=membership.version,
            policy=membership.policy,
            stewards=stewards,
        )

    def _entry(self, txn: Txn, entry_id: bytes) -> Entry:
        entry = self.store.entry(txn, entry_id)
        if entry is None:
            raise DataCorruption("entries", entry_id.hex()[:16], "referenced, but not stored")
        return entry

    # --- operations -------------------------------------------------------------------------------------------

    def stats(self) -> dict[str, object]:
        with self.store.read() as txn:
            counts = self.store.counts(txn)

        def group(prefix: str) -> dict[str, int]:
            return {k[len(prefix) :]: v for k, v in sorted(counts.items()) if k.startswith(prefix)}

        return {
            "records": counts.get("records", 0),
            "entries": counts.get("entries", 0),
            "by_type": group("type:"),
            "by_label": group("label:"),
            "by_author": group("author:"),
            "index_bytes": self.index.memory_bytes(),
            "disk_bytes": self.store.disk_bytes(),
            "map_bytes": self.store.map_bytes(),
        }


def _duplicate_key(record: HashRecord) -> tuple[str, bytes, tuple[str, ...]]:
    return record.signal_type, record.value, record.labels


def _with_duplicates(
    records: Sequence[HashRecord], earlier: dict[int, bytes], fresh: list[int], signed: Entry | None
) -> SubmitResult:
    """The result of a submission that skipped duplicates: every record's id (a duplicate's is the earlier
    contribution's, or its batch's first copy's) and the indexes of those not signed again."""
    ids_by_key = {_duplicate_key(records[i]): rid for i, rid in earlier.items()}
    if signed is not None:
        entry_id = signed.entry_id
        ids_by_key.update((_duplicate_key(records[i]), record_id(entry_id, n)) for n, i in enumerate(fresh))
    kept = set(fresh)
    return SubmitResult(
        signed,
        [ids_by_key[_duplicate_key(record)] for record in records],
        tuple(i for i in range(len(records)) if i not in kept),
    )


def _submission_digest(items: Sequence[bytes], skip_duplicates: bool) -> bytes:
    """What identifies a submission's content (its records encoded), compared when its request id comes again."""
    digest = hashlib.sha256(b"hashnode submission\0" + bytes([skip_duplicates]))
    for encoded in items:
        digest.update(len(encoded).to_bytes(4, "big") + encoded)
    return digest.digest()


def _first_of_each(records: Sequence[HashRecord], earlier: dict[int, bytes]) -> list[int]:
    """Indexes of the records to sign: not contributed earlier, and the first of their kind in the batch."""
    seen: set[tuple[str, bytes, tuple[str, ...]]] = set()
    fresh = []
    for i, record in enumerate(records):
        key = _duplicate_key(record)
        if i not in earlier and key not in seen:
            fresh.append(i)
        seen.add(key)
    return fresh


def _decoded(raw: Sequence[bytes], decode: Callable[[bytes], _T]) -> list[_T]:
    """Each value decoded, each distinct value once (contributors and label sets repeat across records)."""
    distinct = {value: decode(value) for value in set(raw)}
    return [distinct[value] for value in raw]


def _id_order(record_ids: Sequence[bytes]) -> npt.NDArray[np.int64]:
    """Each record id's rank in byte order."""
    words = np.frombuffer(b"".join(record_ids), dtype=">u8").reshape(-1, 4)
    rank = np.empty(len(record_ids), dtype=np.int64)
    rank[np.lexsort(words.T[::-1])] = np.arange(len(record_ids))
    return rank


def _hit_videos(
    records: HitRecords, offsets: list[int], slots: list[int], videos: dict[tuple[int, int], VideoComparison]
) -> list[VideoComparison | None]:
    """Per hit, its video comparison: found by (query, record ordinal) for a video query's hits, else None."""
    out: list[VideoComparison | None] = [None] * len(slots)
    ordinals = records.ordinals
    for i in range(len(offsets) - 1):
        for h in range(offsets[i], offsets[i + 1]):
            out[h] = videos.get((i, ordinals[slots[h]]))
    return out


def _video_query(i: int, query: Query) -> FrameSet:
    """A video query's frames, from its value (`VpdqFeatures.encode()`).

    Raises:
        InvalidArgument: the value is not a feature list, or it has no frame matching can use.
    """
    try:
        VpdqFeatures.decode(query.value)
    except EncodingError as exc:
        raise InvalidArgument(f"queries[{i}].video", "malformed features", f"a vPDQ feature list ({exc})") from None
    frames = FrameSet.from_value(query.value)
    if len(frames) == 0:
        raise InvalidArgument(
            f"queries[{i}].video.frames", f"no frame of quality >= {QUALITY_FLOOR}",
            f"at least one frame of quality >= {QUALITY_FLOOR}: frames below are never matched",
        )
    return frames


def _query_kind(i: int, query: Query) -> SignalType:
    """The query's signal type, its value checked against the type's size (a video's: decoded when matched)."""
    kind = SIGNAL_TYPES.get(query.signal_type) or signal_type(query.signal_type, f"queries[{i}].signal_type")
    if kind.size and len(query.value) != kind.size:
        raise InvalidArgument(f"queries[{i}].value", f"{len(query.value)} bytes", f"{kind.size} bytes")
    return kind


def _check_signer(settings: LedgerSettings, membership: Membership, signer: SigningKey) -> None:
    """A node must sign with a key its member holds in the membership, or its entries would be refused."""
    member = membership.get(settings.member_id)
    if member is None:
        raise FailedPrecondition(f"member {settings.member_id!r} is not in consortium {membership.consortium_id!r}")
    if member.key(signer.public.key_id) is None:
        raise FailedPrecondition(
            f"the signing key (id {signer.public.key_id.hex()[:16]}…) is not a key of member {settings.member_id!r}"
        )
