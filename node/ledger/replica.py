"""The node's replica: `reconcile.LogSet`'s receive semantics over the LMDB store.

`LogSet` is the reference model; this class does the same to the node's store, and the tests feed both the
same deliveries and compare heads, evidence and state digests. Decisions stay in `validate.classify` (R1..R8)
and `validate.check_items` (R9); this module routes verdicts to tables:

* Apply: `Ledger.apply_in_txn` (entry, records, index keys, counters);
* Duplicate: nothing;
* Gap: the in-memory gap buffer, drained when the hole closes; the holes are returned as ranges to fetch;
* Pending: the in-memory pending buffer, classified again by `update_membership`;
* Equivocation, WrongPrevious: fork evidence in the `evidence` table; the stored entry stays;
* Reject: counted by reason and logged; nothing else is written, except that a permanent refusal
  (`RejectReason.permanent`) of an entry its author did sign is remembered in the `state` table (`RefusedLog`,
  one per author: the first refused seq and why). The rest of that author's log chains on the refused entry,
  so from that seq on it is not fetched again from any peer, not counted again when a peer pushes it, and not
  reported as lag but as refused (`behind`). A new roster version asks for those logs once more (it may admit
  them); an entry refused again is not counted again.

One `receive` call is one write transaction: every entry of the batch, its effects, the evidence it produced
and the checkpoint of the peer it came from commit together or not at all. Listeners (the index, this node's
subscribers) run after the commit, in commit order. The buffers live in memory only: after a crash the
anti-entropy exchange fetches their entries again.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from node.core.canonical import Reader, Writer
from node.core.entry import Entry, EntryKind
from node.core.errors import DataCorruption, VerificationError
from node.ledger.ledger import IndexDelta, Ledger
from node.membership.members import Membership
from node.replication.evidence import ForkEvidence, InvalidEvidence, verify_evidence
from node.replication.frontier import AuthorHead, AuthorRange, Frontier, diff, state_digest
from node.replication.reconcile import Limits, ReceiveOutcome
from node.replication.validate import (
    DEFAULT_MAX_CLOCK_SKEW_MS,
    Apply,
    Duplicate,
    Equivocation,
    Gap,
    Pending,
    Reject,
    RejectReason,
    Verdict,
    WrongPrevious,
    check_items,
    classify,
)
from node.storage.store import Head, Txn

log = logging.getLogger(__name__)

POSITION_PREFIX = b"replication.peer\x00"
REFUSED_KEY = b"replication.refused"  # every `RefusedLog`, in one value (one per author at most: bounded)
EvidenceListener = Callable[[ForkEvidence], None]


@dataclass(frozen=True)
class RefusedLog:
    """An author's log as refused from `from_seq` on (a permanent refusal of a signed entry), durably.

    `counted_through` is the highest seq of the author counted as refused: an entry at or below it that comes
    again (another peer, a push, a new roster version that still refuses it) is not counted again. `active`
    is False after a roster change, until the entry is refused again (or applied: the record goes).
    """

    author: str
    from_seq: int
    entry_id: bytes  # the refused entry at from_seq (another one there would be a fork: classified as usual)
    reason: RejectReason
    detail: str
    counted_through: int
    active: bool = True

    def covers(self, entry: Entry) -> bool:
        """Whether `entry` is the refused one or later in the author's log (it chains on it)."""
        seq = entry.header.seq
        return self.active and (seq > self.from_seq or (seq == self.from_seq and entry.entry_id == self.entry_id))

    def refused_detail(self, seq: int) -> str:
        return (
            f"seq: got {seq}, want < {self.from_seq} ({self.author}'s log is refused from seq {self.from_seq}, "
            f"{self.reason.value}: {self.detail})"
        )


@dataclass(frozen=True)
class Behind:
    """What a peer's frontier holds that this node lacks: `lag` entries it can still fetch, and per author the
    entries it will not take (its log refused from some seq: `RefusedLog`)."""

    lag: int
    refused: tuple[tuple[RefusedLog, int], ...] = ()  # (the refusal, entries the peer holds from its seq)

    def refused_lines(self, peer: str = "") -> list[str]:
        source = f" (held by {peer})" if peer else ""
        return [
            f"{count} entries refused from {log.author}: {log.reason.value}{source}" for log, count in self.refused
        ]


def _encode_refusals(refusals: dict[str, RefusedLog]) -> bytes:
    writer = Writer().u32(len(refusals))
    for r in sorted(refusals.values(), key=lambda r: r.author):
        writer.string(r.author).u64(r.from_seq).fixed(r.entry_id, 32).string(r.reason.value).string(r.detail)
        writer.u64(r.counted_through).u8(int(r.active))
    return writer.getvalue()


def _decode_refusals(data: bytes) -> dict[str, RefusedLog]:
    reader = Reader(data, "refused logs")
    found = {}
    for _ in range(reader.u32()):
        author, from_seq, entry_id = reader.string(), reader.u64(), reader.fixed(32)
        reason, detail = RejectReason(reader.string()), reader.string()
        refusal = RefusedLog(author, from_seq, entry_id, reason, detail, reader.u64(), bool(reader.u8()))
        found[author] = refusal
    reader.end()
    return found


@dataclass(frozen=True)
class PeerPosition:
    """A peer's frontier as this node last saw it and when: the replication checkpoint of that peer.

    Written in the transaction that applies what was fetched against it, so that after a crash the node never
    believes it holds more of a peer's state than it does.
    """

    peer: str
    frontier: Frontier
    synced_at_ms: int

    def encode(self) -> bytes:
        writer = Writer().u64(self.synced_at_ms).u32(len(self.frontier))
        for head in self.frontier:
            writer.string(head.author).u64(head.seq).fixed(head.entry_id, 32)
        return writer.getvalue()

    @classmethod
    def decode(cls, peer: str, data: bytes) -> PeerPosition:
        reader = Reader(data, "peer position")
        synced_at = reader.u64()
        heads = [AuthorHead(reader.string(), reader.u64(), reader.fixed(32)) for _ in range(reader.u32())]
        reader.end()
        return cls(peer, Frontier.of(heads), synced_at)


@dataclass
class _Batch:
    """The state of one `receive` transaction."""

    txn: Txn
    now_ms: int
    outcome: ReceiveOutcome
    applied: list[tuple[Entry, IndexDelta]] = field(default_factory=list)
    convicted: set[str] = field(default_factory=set)  # by evidence found in this transaction
    refusals: dict[str, RefusedLog] | None = None  # this transaction's copy, when it changed them


class Replica:
    """The store-backed replica of every member's log, with the two receive buffers. Thread-safe."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        limits: Limits | None = None,
        max_clock_skew_ms: int = DEFAULT_MAX_CLOCK_SKEW_MS,
    ) -> None:
        self.ledger = ledger
        self.store = ledger.store
        self.limits = limits or Limits()
        self.max_clock_skew_ms = max_clock_skew_ms
        self.rejected: collections.Counter[RejectReason] = collections.Counter()
        # Entries and evidence records that did not even parse, by `DecodeFailure` value; fed by whoever
        # decodes the wire (the replicator, bootstrap) through `count_undecodable`.
        self.undecodable: collections.Counter[str] = collections.Counter()
        self.invalid_evidence = 0
        self._lock = threading.RLock()
        self._gaps: dict[str, dict[int, Entry]] = {}
        self._pending: dict[bytes, Entry] = {}
        self._evidence_listeners: list[EvidenceListener] = []
        with self.store.read() as txn:
            self._convicted = self.store.convicted_authors(txn)
            stored = self.store.get_state(txn, REFUSED_KEY)
        self._refusals: dict[str, RefusedLog] = {} if stored is None else _decode_refusals(stored)
        if ledger.settings.member_id in self._convicted:
            self._freeze_own_log()

    def count_undecodable(self, source: str, failures: Iterable[tuple[str, str]]) -> None:
        """Counts (reason, message) pairs of what `source` sent that did not parse; logs them as rejects are
        logged (the first, second, fourth... of each reason)."""
        with self._lock:
            for reason, message in failures:
                self.undecodable[reason] += 1
                count = self.undecodable[reason]
                if count & (count - 1) == 0:
                    log.warning("%s sent an undecodable entry (%s, %d so far): %s", source, reason, count, message)

    def on_evidence(self, listener: EvidenceListener) -> None:
        """Registers a callback run after new fork evidence is committed (pushes to subscribers)."""
        self._evidence_listeners.append(listener)

    # -- reading ---------------------------------------------------------------------------------------------

    @property
    def consortium_id(self) -> str:
        return self.ledger.settings.consortium_id

    @property
    def membership(self) -> Membership:
        return self.ledger.membership

    def head(self, author: str) -> Head | None:
        with self.store.read() as txn:
            return self.store.head(txn, author)

    def frontier(self) -> Frontier:
        with self.store.read() as txn:
            heads = self.store.heads(txn)
        return Frontier.of(AuthorHead(a, h.seq, h.entry_id) for a, h in heads.items())

    def is_convicted(self, author: str) -> bool:
        return author in self._convicted

    def evidence(self) -> list[ForkEvidence]:
        with self.store.read() as txn:
            return [ForkEvidence(lower, upper) for _, lower, upper in self.store.iter_evidence(txn)]

    def evidence_ids(self) -> list[bytes]:
        with self.store.read() as txn:
            return self.store.evidence_ids(txn)

    def evidence_for(self, ids: Iterable[bytes]) -> list[ForkEvidence]:
        found = []
        with self.store.read() as txn:
            for evidence_id in ids:
                pair = self.store.evidence(txn, evidence_id)
                if pair is not None:
                    found.append(ForkEvidence(*pair))
        return found

    def missing_evidence(self, remote_ids: Iterable[bytes]) -> list[bytes]:
        with self.store.read() as txn:
            return sorted(i for i in set(remote_ids) if self.store.evidence(txn, i) is None)

    def buffered_count(self) -> int:
        with self._lock:
            return sum(len(buffer) for buffer in self._gaps.values())

    def pending_count(self) -> int:
        with self._lock:
            return len(self._pending)

    def state_digest(self) -> bytes:
        """As `LogSet.state_digest`: every entry of every author not proven to fork, and every evidence id."""
        with self.store.read() as txn:
            authors = [a for a in self.store.heads(txn) if a not in self._convicted]
            ids = [i for a in authors for i in self.store.log_ids(txn, a)]
            return state_digest([*ids, *self.store.evidence_ids(txn)])

    def refusals(self) -> list[RefusedLog]:
        """The authors whose log this node refuses from some seq on (`RefusedLog`)."""
        with self._lock:
            return sorted(self._refusals.values(), key=lambda r: r.author)

    def behind(self, remote: Frontier) -> Behind:
        """What `remote` holds beyond this node: entries still to fetch, apart from those it refuses."""
        local = self.frontier()
        with self._lock:
            refusals = {a: r for a, r in self._refusals.items() if r.active}
        lag, refused = 0, []
        for theirs in remote:
            ours = local.get(theirs.author)
            have = ours.seq if ours else 0
            refusal = refusals.get(theirs.author)
            if refusal is not None and theirs.seq >= refusal.from_seq:
                refused.append((refusal, theirs.seq - max(have, refusal.from_seq - 1)))
                lag += max(0, refusal.from_seq - 1 - have)
            else:
                lag += max(0, theirs.seq - have)
        return Behind(lag, tuple(refused))

    def missing_ranges(self, remote: Frontier) -> list[AuthorRange]:
        """As `LogSet.missing_ranges`: what to fetch from a peer whose frontier is `remote`; except that an
        author's log is asked for only up to the seq this node refuses it from (`RefusedLog`): the rest would
        bring nothing it can apply."""
        local = self.frontier()
        wanted = []
        for r in diff(local, remote):
            refusal = self._refusals.get(r.author)
            if refusal is not None and refusal.active:
                if r.from_seq >= refusal.from_seq:
                    continue
                r = AuthorRange(r.author, r.from_seq, min(r.to_seq, refusal.from_seq - 1))
            if self._replicates(r.author):
                wanted.append(r)
        with self.store.read() as txn:
            for theirs in remote:
                ours = local.get(theirs.author)
                if ours is None or theirs.seq >= ours.seq or not self._replicates(theirs.author):
                    continue
                if self.store.entry_id_at(txn, theirs.author, theirs.seq) != theirs.entry_id:
                    wanted.append(AuthorRange(theirs.author, theirs.seq, theirs.seq))
        return sorted(wanted, key=lambda r: (r.author, r.from_seq))

    def _replicates(self, author: str) -> bool:
        return author not in self._convicted and self.membership.get(author) is not None

    def peer_position(self, peer: str) -> PeerPosition | None:
        with self.store.read() as txn:
            value = self.store.get_state(txn, POSITION_PREFIX + peer.encode())
        return None if value is None else PeerPosition.decode(peer, value)

    # -- receiving -------------------------------------------------------------------------------------------

    def receive(self, entries: Iterable[Entry], *, position: PeerPosition | None = None) -> ReceiveOutcome:
        """Classifies and acts on each entry in order, in one transaction with `position` (the checkpoint)."""
        with self._lock:
            with self.store.write() as txn:
                batch = _Batch(txn, self.ledger.clock(), ReceiveOutcome())
                touched: set[str] = set()
                for entry in entries:
                    touched.add(entry.header.author)
                    current: Entry | None = entry
                    while current is not None:
                        current = self._receive_one(batch, current)
                batch.outcome.missing = self._gap_ranges(txn, sorted(touched))
                if batch.refusals is not None:
                    self.store.put_state(txn, REFUSED_KEY, _encode_refusals(batch.refusals))
                if position is not None:
                    self.store.put_state(txn, POSITION_PREFIX + position.peer.encode(), position.encode())
            self._committed(batch)
        return batch.outcome

    def receive_evidence(self, evidence: Iterable[ForkEvidence]) -> ReceiveOutcome:
        """Checks and keeps evidence a peer sent. It convicts the author; no log entry changes."""
        with self._lock:
            with self.store.write() as txn:
                batch = _Batch(txn, self.ledger.clock(), ReceiveOutcome())
                for record in evidence:
                    if self.store.evidence(txn, record.evidence_id) is not None:
                        batch.outcome.duplicates += 1
                        continue
                    try:
                        verify_evidence(record, consortium_id=self.consortium_id, membership=self.membership)
                    except InvalidEvidence as exc:
                        batch.outcome.invalid_evidence.append(exc)
                        continue
                    self._record(batch, record)
            self._committed(batch)
        return batch.outcome

    def update_membership(self, membership: Membership) -> ReceiveOutcome:
        """Switches to a new roster version and classifies the pending entries again under it."""
        with self._lock:
            self.ledger.membership = membership
            waiting = list(self._pending.values())
            self._pending.clear()
            if any(r.active for r in self._refusals.values()):
                # A role, a key or a cutoff may have changed: ask for those logs again, once.
                self._refusals = {a: replace(r, active=False) for a, r in self._refusals.items()}
                with self.store.write() as txn:
                    self.store.put_state(txn, REFUSED_KEY, _encode_refusals(self._refusals))
            return self.receive(waiting)

    def _receive_one(self, batch: _Batch, entry: Entry) -> Entry | None:
        """Acts on one verdict; returns the buffered successor when applying `entry` closed a gap."""
        outcome, header = batch.outcome, entry.header
        refusal = self._refusals_of(batch).get(header.author)
        if refusal is not None and refusal.covers(entry):
            # It chains on the refused entry (or is it): refused without a look, counted once per seq.
            if header.seq > refusal.counted_through:
                self._refusals_of(batch, True)[header.author] = replace(refusal, counted_through=header.seq)
                reject = Reject(entry.entry_id, refusal.reason, refusal.refused_detail(header.seq))
                outcome.rejected.append(reject)
            else:
                outcome.duplicates += 1
            return None
        verdict = self._classify(batch, entry)
        match verdict:
            case Apply():
                records = check_items(entry)
                if isinstance(records, Reject):
                    self._refused(batch, entry, records)
                    return None
                decoded = records if entry.kind == EntryKind.CONTRIBUTION else None
                if refusal is not None and header.seq >= refusal.from_seq:  # a new roster admits it
                    del self._refusals_of(batch, True)[header.author]
                batch.applied.append((entry, self.ledger.apply_in_txn(batch.txn, entry, decoded)))
                outcome.applied.append(entry)
                return self._gaps.get(header.author, {}).pop(header.seq + 1, None)
            case Duplicate():
                outcome.duplicates += 1
            case Gap():
                self._buffer(batch, entry)
            case Pending():
                self._hold_pending(entry, outcome)
            case Equivocation():
                self._record(batch, ForkEvidence.of(self._stored(batch.txn, verdict.existing_id), entry))
            case WrongPrevious():
                self._record(batch, ForkEvidence.of(self._stored(batch.txn, verdict.head_id), entry))
            case Reject():
                self._refused(batch, entry, verdict)
        return None

    def _refusals_of(self, batch: _Batch, changing: bool = False) -> dict[str, RefusedLog]:
        """The refusals as this transaction sees them; a copy of its own once it changes them."""
        if batch.refusals is None and changing:
            batch.refusals = dict(self._refusals)
        return self._refusals if batch.refusals is None else batch.refusals

    def _refused(self, batch: _Batch, entry: Entry, reject: Reject) -> None:
        """Counts a refusal, and remembers the author's log as refused when the reason is permanent and the
        author did sign the entry (anyone can forge an entry naming an author, to stall its log)."""
        header = entry.header
        known = self._refusals_of(batch).get(header.author)
        if known is None or not known.from_seq <= header.seq <= known.counted_through:
            batch.outcome.rejected.append(reject)  # not counted before (a new roster may refuse it again)
        if not reject.reason.permanent or not self._signed(entry):
            return
        refusals = self._refusals_of(batch, True)
        counted = max(header.seq, known.counted_through if known else 0)
        if known is None or not known.active or header.seq < known.from_seq:
            refusals[header.author] = RefusedLog(
                header.author, header.seq, entry.entry_id, reject.reason, reject.detail, counted
            )
            for seq in [s for s in self._gaps.get(header.author, {}) if s > header.seq]:
                del self._gaps[header.author][seq]  # they chain on the refused entry
        else:
            refusals[header.author] = replace(known, counted_through=counted)

    def _signed(self, entry: Entry) -> bool:
        """Whether the entry's author signed it (R5's refusals come before the signature check)."""
        member = self.membership.get(entry.header.author)
        key = None if member is None else member.key(entry.header.key_id)
        if key is None:
            return False
        try:
            entry.verify(key.public_key)
        except VerificationError:
            return False
        return True

    def _classify(self, batch: _Batch, entry: Entry) -> Verdict:
        author = entry.header.author
        return classify(
            entry,
            consortium_id=self.consortium_id,
            membership=self.membership,
            head=self.store.head(batch.txn, author),
            existing_at_seq=self.store.entry_id_at(batch.txn, author, entry.header.seq),
            now_ms=batch.now_ms,
            max_clock_skew_ms=self.max_clock_skew_ms,
            convicted=author in self._convicted or author in batch.convicted,
        )

    def _stored(self, txn: Txn, entry_id: bytes) -> Entry:
        entry = self.store.entry(txn, entry_id)
        if entry is None:
            raise DataCorruption("entries", entry_id.hex()[:16], "a log names it, but it is not stored")
        return entry

    def _buffer(self, batch: _Batch, entry: Entry) -> None:
        """As `LogSet._buffer`: when full, keep the entries nearest the head (they drain first)."""
        outcome = batch.outcome
        buffer = self._gaps.setdefault(entry.header.author, {})
        held = buffer.get(entry.header.seq)
        if held is not None:
            if held.entry_id == entry.entry_id:
                outcome.duplicates += 1
            else:  # both were verified by classify before they were buffered
                self._record(batch, ForkEvidence.of(held, entry))
            return
        if len(buffer) >= self.limits.gap_per_author:
            highest = max(buffer)
            outcome.dropped += 1
            if entry.header.seq > highest:
                return
            del buffer[highest]
        if sum(len(b) for b in self._gaps.values()) >= self.limits.gap_total:
            outcome.dropped += 1
            return
        buffer[entry.header.seq] = entry
        outcome.buffered += 1

    def _hold_pending(self, entry: Entry, outcome: ReceiveOutcome) -> None:
        """As `LogSet._hold_pending`: when full, refuse new entries rather than evict unverified ones."""
        if entry.entry_id in self._pending:
            outcome.duplicates += 1
        elif len(self._pending) >= self.limits.pending_total:
            outcome.dropped += 1
        else:
            self._pending[entry.entry_id] = entry
            outcome.pending += 1

    def _record(self, batch: _Batch, evidence: ForkEvidence) -> None:
        if not self.store.put_evidence(batch.txn, evidence.evidence_id, evidence.lower, evidence.upper):
            batch.outcome.duplicates += 1
            return
        batch.convicted.add(evidence.author)
        batch.outcome.dropped += len(self._gaps.pop(evidence.author, {}))
        batch.outcome.new_evidence.append(evidence)
        if evidence.author == self.ledger.settings.member_id:
            self._freeze_own_log()  # before the commit: nothing may be signed once the evidence is stored

    def _gap_ranges(self, txn: Txn, authors: Iterable[str]) -> list[AuthorRange]:
        """The holes below each buffered entry of `authors`, as ranges to fetch."""
        ranges: list[AuthorRange] = []
        for author in authors:
            head = self.store.head(txn, author)
            expected = (head.seq if head else 0) + 1
            for seq in sorted(self._gaps.get(author, {})):
                if seq > expected:
                    ranges.append(AuthorRange(author, expected, seq - 1))
                expected = max(expected, seq + 1)
        return ranges

    # -- after the commit ------------------------------------------------------------------------------------

    def _committed(self, batch: _Batch) -> None:
        """What follows a commit, in commit order: index, subscribers, counters."""
        self._convicted |= batch.convicted
        if batch.refusals is not None:
            self._refusals = batch.refusals
        self.ledger.after_commit_all(batch.applied)
        for reject in batch.outcome.rejected:
            self._count_reject(reject)
        self.invalid_evidence += len(batch.outcome.invalid_evidence)
        for evidence in batch.outcome.new_evidence:
            log.warning(
                "fork evidence %s: %s signed two entries at seq %d (%s)",
                evidence.evidence_id.hex()[:16],
                evidence.author,
                evidence.seq,
                evidence.kind.value,
            )
            for listener in self._evidence_listeners:
                listener(evidence)

    def _count_reject(self, reject: Reject) -> None:
        self.rejected[reject.reason] += 1
        count = self.rejected[reject.reason]
        if count & (count - 1) == 0:  # 1, 2, 4, 8...: visible, but a flood does not flood the log
            log.warning(
                "rejected entry %s (%s, %d so far): %s",
                reject.entry_id.hex()[:16],
                reject.reason.value,
                count,
                reject.detail,
            )

    def _freeze_own_log(self) -> None:
        """Evidence against this node's own member: two signers share its key, or a restored store forked."""
        member = self.ledger.settings.member_id
        reason = (
            f"authoring stopped: fork evidence shows two different entries signed as {member!r} for one seq "
            "(two nodes signing with this member's key, or a store restored from an old backup); see the "
            "ListEvidence admin call; the consortium's stewards decide what happens next"
        )
        self.ledger.block_authoring("replication: fork evidence", reason)
        log.error("%s", reason)
