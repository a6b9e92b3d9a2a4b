"""The per-node replication state machine, in memory: the reference model of what the LMDB store does.

`LogSet` holds one hash-chained log per author, the fork evidence, and two bounded buffers that live in memory
only (a restart loses them, and anti-entropy makes up for it):

* the gap buffer, for signed entries that arrived ahead of their predecessors (bounded per author and in
  total; drained in order when the gap closes);
* the pending buffer, for entries of authors or keys this roster version does not know (re-classified when the
  membership changes).

Every decision is taken by `validate.classify`; this module only keeps state and routes verdicts, so that the
LMDB store can implement the same operations over its tables and be tested against this model. The simulator
(`replication.sim`) runs several of these over a faulty network.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from node.core.entry import Entry
from node.core.errors import InvalidArgument
from node.membership.members import Membership
from node.replication.evidence import ForkEvidence, InvalidEvidence, verify_evidence
from node.replication.frontier import AuthorHead, AuthorRange, Frontier, diff, state_digest
from node.replication.validate import (
    DEFAULT_MAX_CLOCK_SKEW_MS,
    Apply,
    Duplicate,
    Equivocation,
    Gap,
    Head,
    Pending,
    Reject,
    Verdict,
    WrongPrevious,
    classify,
)


@dataclass(frozen=True)
class Limits:
    """Bounds on what a node holds in memory for entries it cannot apply yet. Overflow is dropped, not fatal:
    anti-entropy fetches the entries again once they can be applied."""

    gap_per_author: int = 256
    gap_total: int = 4096
    pending_total: int = 1024


@dataclass
class ReceiveOutcome:
    """What one `receive` (or `receive_evidence`, or `update_membership`) call did.

    `applied` is in commit order; the transport pushes it to subscribers. `missing` are the ranges the gap
    buffer waits for; the transport fetches them from the peer that sent the entries.
    """

    applied: list[Entry] = field(default_factory=list)
    duplicates: int = 0
    buffered: int = 0
    pending: int = 0
    dropped: int = 0
    rejected: list[Reject] = field(default_factory=list)
    new_evidence: list[ForkEvidence] = field(default_factory=list)
    invalid_evidence: list[InvalidEvidence] = field(default_factory=list)
    missing: list[AuthorRange] = field(default_factory=list)


def entry_size(entry: Entry) -> int:
    """Bytes an entry takes on the wire, near enough for batching: header, signature and items."""
    return len(entry.header_bytes) + len(entry.signature) + sum(len(item) for item in entry.items)


class LogSet:
    """Per-author logs, fork evidence and receive buffers of one node. See the module docstring."""

    def __init__(
        self,
        consortium_id: str,
        membership: Membership,
        *,
        limits: Limits | None = None,
        max_clock_skew_ms: int = DEFAULT_MAX_CLOCK_SKEW_MS,
    ) -> None:
        self.consortium_id = consortium_id
        self.limits = limits or Limits()
        self.max_clock_skew_ms = max_clock_skew_ms
        self._membership = membership
        self._logs: dict[str, list[Entry]] = {}
        self._evidence: dict[bytes, ForkEvidence] = {}
        self._convicted: set[str] = set()
        self._gaps: dict[str, dict[int, Entry]] = {}
        self._pending: dict[bytes, Entry] = {}

    # -- reading ---------------------------------------------------------------------------------------------

    @property
    def membership(self) -> Membership:
        return self._membership

    def head(self, author: str) -> Head | None:
        log = self._logs.get(author)
        return Head.of(log[-1]) if log else None

    def entry_at(self, author: str, seq: int) -> Entry | None:
        log = self._logs.get(author, [])
        return log[seq - 1] if 1 <= seq <= len(log) else None

    def log(self, author: str) -> tuple[Entry, ...]:
        return tuple(self._logs.get(author, ()))

    def frontier(self) -> Frontier:
        return Frontier.of(AuthorHead(a, len(log), log[-1].entry_id) for a, log in self._logs.items() if log)

    def is_convicted(self, author: str) -> bool:
        return author in self._convicted

    def evidence(self) -> list[ForkEvidence]:
        return [self._evidence[i] for i in sorted(self._evidence)]

    def evidence_ids(self) -> frozenset[bytes]:
        return frozenset(self._evidence)

    def evidence_for(self, ids: Iterable[bytes]) -> list[ForkEvidence]:
        return [self._evidence[i] for i in ids if i in self._evidence]

    def missing_evidence(self, remote_ids: Iterable[bytes]) -> list[bytes]:
        return sorted(set(remote_ids) - self._evidence.keys())

    def held_ids(self) -> set[bytes]:
        """Ids of every entry in every log, including the branches of convicted authors."""
        return {entry.entry_id for log in self._logs.values() for entry in log}

    def buffered_count(self) -> int:
        return sum(len(buffer) for buffer in self._gaps.values())

    def pending_count(self) -> int:
        return len(self._pending)

    def state_digest(self) -> bytes:
        """The digest honest nodes agree on once replication has quiesced.

        It covers every entry of every author not proven to fork, plus the ids of all fork evidence. The logs
        of a convicted author are left out on purpose: each node keeps the branch it received first (never
        overwritten), and during a partition the two halves legitimately received different branches first, so
        no rule could make them agree on those entries without overwriting one. What they do agree on is the
        evidence, which replicates as a grow-only set, and through it on who is convicted. Evidence ids carry
        their own domain tag, so they cannot be confused with entry ids in the one sorted set.
        """
        ids = [e.entry_id for a, log in self._logs.items() if a not in self._convicted for e in log]
        return state_digest([*ids, *self._evidence])

    # -- receiving -------------------------------------------------------------------------------------------

    def receive(self, entries: Iterable[Entry], *, now_ms: int) -> ReceiveOutcome:
        """Classifies and acts on each entry, in the order given, draining the gap buffer as gaps close."""
        outcome = ReceiveOutcome()
        touched: set[str] = set()
        for entry in entries:
            touched.add(entry.header.author)
            current: Entry | None = entry
            while current is not None:
                current = self._receive_one(current, now_ms, outcome)
        outcome.missing = self._gap_ranges(sorted(touched))
        return outcome

    def receive_evidence(self, evidence: Iterable[ForkEvidence]) -> ReceiveOutcome:
        """Checks and records evidence a peer sent. It convicts the author; no log entry changes."""
        outcome = ReceiveOutcome()
        for record in evidence:
            if record.evidence_id in self._evidence:
                outcome.duplicates += 1
                continue
            try:
                verify_evidence(record, consortium_id=self.consortium_id, membership=self._membership)
            except InvalidEvidence as exc:
                outcome.invalid_evidence.append(exc)
                continue
            self._record(record, outcome)
        return outcome

    def update_membership(self, membership: Membership, *, now_ms: int) -> ReceiveOutcome:
        """Switches to a new roster version and classifies the pending entries again under it."""
        self._membership = membership
        waiting = list(self._pending.values())
        self._pending.clear()
        return self.receive(waiting, now_ms=now_ms)

    def restart(self) -> None:
        """What a process restart does: logs and evidence were committed, the buffers were only in memory."""
        self._gaps.clear()
        self._pending.clear()

    def _receive_one(self, entry: Entry, now_ms: int, outcome: ReceiveOutcome) -> Entry | None:
        """Acts on one verdict; returns the buffered successor when applying `entry` closed a gap."""
        verdict = self._classify(entry, now_ms)
        match verdict:
            case Apply():
                self._logs.setdefault(entry.header.author, []).append(entry)
                outcome.applied.append(entry)
                return self._gaps.get(entry.header.author, {}).pop(entry.header.seq + 1, None)
            case Duplicate():
                outcome.duplicates += 1
            case Gap():
                self._buffer(entry, outcome)
            case Pending():
                self._hold_pending(entry, outcome)
            case Equivocation():
                stored = self.entry_at(entry.header.author, entry.header.seq)
                assert stored is not None and stored.entry_id == verdict.existing_id
                self._record(ForkEvidence.of(stored, entry), outcome)
            case WrongPrevious():
                stored = self.entry_at(entry.header.author, entry.header.seq - 1)
                assert stored is not None and stored.entry_id == verdict.head_id
                self._record(ForkEvidence.of(stored, entry), outcome)
            case Reject():
                outcome.rejected.append(verdict)
        return None

    def _classify(self, entry: Entry, now_ms: int) -> Verdict:
        author = entry.header.author
        existing = self.entry_at(author, entry.header.seq)
        return classify(
            entry,
            consortium_id=self.consortium_id,
            membership=self._membership,
            head=self.head(author),
            existing_at_seq=existing.entry_id if existing else None,
            now_ms=now_ms,
            max_clock_skew_ms=self.max_clock_skew_ms,
            convicted=author in self._convicted,
        )

    def _buffer(self, entry: Entry, outcome: ReceiveOutcome) -> None:
        """Keeps a signed entry that is ahead of the head. When full, keeps the entries nearest the head: they
        are the ones that drain first, and anything dropped is fetched again."""
        buffer = self._gaps.setdefault(entry.header.author, {})
        held = buffer.get(entry.header.seq)
        if held is not None:
            if held.entry_id == entry.entry_id:
                outcome.duplicates += 1
            else:  # both were verified by classify before they were buffered
                self._record(ForkEvidence.of(held, entry), outcome)
            return
        if len(buffer) >= self.limits.gap_per_author:
            highest = max(buffer)
            if entry.header.seq > highest:
                outcome.dropped += 1
                return
            del buffer[highest]
            outcome.dropped += 1
        if self.buffered_count() >= self.limits.gap_total:
            outcome.dropped += 1
            return
        buffer[entry.header.seq] = entry
        outcome.buffered += 1

    def _hold_pending(self, entry: Entry, outcome: ReceiveOutcome) -> None:
        """Keeps an entry this roster cannot check. When full, refuses new ones rather than evicting: these
        entries are unauthenticated, and evicting would let a flood of junk push out the real ones."""
        if entry.entry_id in self._pending:
            outcome.duplicates += 1
        elif len(self._pending) >= self.limits.pending_total:
            outcome.dropped += 1
        else:
            self._pending[entry.entry_id] = entry
            outcome.pending += 1

    def _record(self, evidence: ForkEvidence, outcome: ReceiveOutcome) -> None:
        if evidence.evidence_id in self._evidence:
            outcome.duplicates += 1
            return
        self._evidence[evidence.evidence_id] = evidence
        self._convicted.add(evidence.author)
        outcome.dropped += len(self._gaps.pop(evidence.author, {}))
        outcome.new_evidence.append(evidence)

    def _gap_ranges(self, authors: Iterable[str]) -> list[AuthorRange]:
        """The holes below each buffered entry of `authors`, as ranges to fetch."""
        ranges: list[AuthorRange] = []
        for author in authors:
            expected = len(self._logs.get(author, ())) + 1
            for seq in sorted(self._gaps.get(author, {})):
                if seq > expected:
                    ranges.append(AuthorRange(author, expected, seq - 1))
                expected = max(expected, seq + 1)
        return ranges

    # -- serving peers ---------------------------------------------------------------------------------------

    def missing_ranges(self, remote: Frontier) -> list[AuthorRange]:
        """The ranges to fetch from a peer whose frontier is `remote`.

        Skips authors this roster does not know (their entries could only go to the pending buffer; they are
        fetched once the roster admits them) and convicted authors (frozen, see `validate`). Adds what
        `frontier.diff` cannot see: a peer behind us whose head is not the entry we hold at that seq has
        forked, and fetching that one entry turns it into evidence.
        """
        wanted = [r for r in diff(self.frontier(), remote) if self._replicates(r.author)]
        for theirs in remote:
            ours = self.entry_at(theirs.author, theirs.seq)
            behind = theirs.seq < len(self._logs.get(theirs.author, ()))
            if (
                behind
                and ours is not None
                and ours.entry_id != theirs.entry_id
                and self._replicates(theirs.author)
            ):
                wanted.append(AuthorRange(theirs.author, theirs.seq, theirs.seq))
        return sorted(wanted, key=lambda r: (r.author, r.from_seq))

    def _replicates(self, author: str) -> bool:
        return author not in self._convicted and self._membership.get(author) is not None

    def entries_for(self, ranges: Iterable[AuthorRange], *, max_bytes: int) -> Iterator[list[Entry]]:
        """The entries in `ranges` that this node holds, in range and log order, in batches of at most
        `max_bytes`. A batch holds at least one entry, so an entry larger than the limit still goes, alone."""
        if max_bytes < 1:
            raise InvalidArgument("max_batch_bytes", max_bytes, ">= 1")
        batch: list[Entry] = []
        size = 0
        for wanted in ranges:
            log = self._logs.get(wanted.author, [])
            last = len(log) if wanted.to_seq == 0 else min(wanted.to_seq, len(log))
            for entry in log[wanted.from_seq - 1 : last]:
                n = entry_size(entry)
                if batch and size + n > max_bytes:
                    yield batch
                    batch, size = [], 0
                batch.append(entry)
                size += n
        if batch:
            yield batch
