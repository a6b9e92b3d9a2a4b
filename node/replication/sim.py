"""A seeded, deterministic discrete-event simulation of replication between nodes.

Each node hosts one member, an honest author that signs entries at random times (real Ed25519 keys, real
`Entry` signing) and pushes each to every peer on commit. Every node also runs anti-entropy: at intervals it
asks a random peer for its frontier and evidence ids and fetches what it lacks, in bounded batches; a peer
that does not answer in time is backed off exponentially. The network drops, duplicates, delays and so
reorders messages, and may be partitioned for a while; nodes may crash and restart, losing their in-memory
buffers but not their logs.

Options: a member admitted late (other nodes learn of it at different times, and must keep its early entries
pending rather than drop them); and an equivocating author, outside the nodes, that signs two different
entries for one seq and hands each to a different half of a partition.

Faults stop at a fixed time (`quiet_at_ms`); the run then continues, with anti-entropy only, until every node
holds the same state digest with no message in flight, or the time limit passes. Whether the result is right
is for the caller to judge: `SimResult.expected_digest` is computed from what was signed, not from what the
nodes hold.

Everything random comes from one `random.Random(seed)`, and ties in time are broken by scheduling order, so a
seed replays exactly.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from node.core.entry import ZERO_ID, Entry, EntryKind, sign_entry
from node.core.keys import SigningKey
from node.membership.members import Member, MemberKey, Membership
from node.replication.evidence import ForkEvidence
from node.replication.frontier import AuthorRange, Frontier, state_digest
from node.replication.reconcile import Limits, LogSet, ReceiveOutcome

EPOCH_MS = 1_700_000_000_000
CONSORTIUM_ID = "sim.hashnode.example"
EQUIVOCATOR = "mallory"
# Small enough that reordering overflows them, so that dropping and refetching is exercised in most runs.
SMALL_BUFFERS = Limits(gap_per_author=2, gap_total=4, pending_total=4)


@functools.cache
def member_key(member_id: str) -> SigningKey:
    """A fixed key per simulated member, so that runs (and their entry ids) are reproducible."""
    return SigningKey.from_seed(hashlib.sha256(b"hashnode.sim\x00" + member_id.encode()).digest())


def roster(member_ids: Sequence[str], version: int = 1) -> Membership:
    members = [Member(m, m, (MemberKey(member_key(m).public),)) for m in member_ids]
    membership = Membership.from_members(CONSORTIUM_ID, members)
    membership.version = version
    return membership


@dataclass(frozen=True)
class SimConfig:
    seed: int
    nodes: int = 4
    entries_per_author: int = 6
    authoring_ms: int = 1500
    min_delay_ms: int = 1
    max_delay_ms: int = 60
    drop_rate: float = 0.1
    duplicate_rate: float = 0.1
    partition: bool = True
    restarts: int = 1
    late_member: bool = False
    equivocation: bool = False
    equivocator_continues: bool = True
    anti_entropy_ms: int = 100
    request_timeout_ms: int = 250
    max_backoff_ms: int = 1600
    max_batch_bytes: int = 700
    max_clock_offset_ms: int = 40
    max_clock_skew_ms: int = 200
    limits: Limits = SMALL_BUFFERS
    settle_limit_ms: int = 60_000


@dataclass(frozen=True)
class Push:
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class PushEvidence:
    evidence: tuple[ForkEvidence, ...]


@dataclass(frozen=True)
class FrontierRequest:
    request_id: int


@dataclass(frozen=True)
class FrontierReply:
    request_id: int
    frontier: Frontier
    evidence_ids: frozenset[bytes]


@dataclass(frozen=True)
class FetchRequest:
    ranges: tuple[AuthorRange, ...]
    evidence_ids: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class EntryBatch:
    entries: tuple[Entry, ...]
    evidence: tuple[ForkEvidence, ...] = ()


Message = Push | PushEvidence | FrontierRequest | FrontierReply | FetchRequest | EntryBatch


@dataclass
class SimNode:
    name: str
    logs: LogSet
    clock_offset_ms: int
    up: bool = True
    outstanding: dict[int, str] = field(default_factory=dict)
    backoff_ms: dict[str, int] = field(default_factory=dict)
    next_try_ms: dict[str, int] = field(default_factory=dict)


@dataclass
class SimStats:
    sent: int = 0
    dropped: int = 0
    duplicated: int = 0
    delivered: int = 0
    timeouts: int = 0
    restarts: int = 0
    rejected: int = 0
    overflowed: int = 0  # entries a full buffer could not keep (fetched again later)
    held_pending: int = 0  # entries kept for a roster version not yet received


@dataclass
class Fork:
    """The equivocation as signed: which half got which entry; what each node applied first at that seq."""

    seq: int
    entry_a: Entry
    entry_b: Entry
    group_a: frozenset[str]
    group_b: frozenset[str]
    first_applied: dict[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class SimResult:
    config: SimConfig
    converged_at_ms: int | None
    nodes: dict[str, LogSet]
    honest_ids: frozenset[bytes]
    fork: Fork | None
    stats: SimStats

    @property
    def digests(self) -> dict[str, bytes]:
        return {name: logs.state_digest() for name, logs in self.nodes.items()}

    @property
    def expected_digest(self) -> bytes:
        """What every node should hold: each honestly signed entry, and the evidence (none without a fork)."""
        evidence = set().union(*(logs.evidence_ids() for logs in self.nodes.values()))
        return state_digest([*self.honest_ids, *evidence])


class Simulation:
    """One run. `run()` returns the result; construct a new one per seed."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.now = 0
        self.quiet_at_ms = config.authoring_ms
        self.stats = SimStats()
        self.fork: Fork | None = None
        self._queue: list[tuple[int, int, Callable[[], None]]] = []
        self._scheduled = 0
        self._in_flight = 0
        self._next_request = 0
        self._partition: tuple[frozenset[str], frozenset[str]] | None = None
        self._authored: list[Entry] = []
        self.names = [f"m{i}" for i in range(config.nodes)]
        self.nodes = {name: self._make_node(name) for name in self.names}

    # -- set-up ----------------------------------------------------------------------------------------------

    def _make_node(self, name: str) -> SimNode:
        late = self.names[-1] if self.config.late_member else None
        known = [m for m in self.names if m != late or m == name]
        if self.config.equivocation:
            known.append(EQUIVOCATOR)
        logs = LogSet(
            CONSORTIUM_ID,
            roster(known),
            limits=self.config.limits,
            max_clock_skew_ms=self.config.max_clock_skew_ms,
        )
        offset = self.rng.randint(-self.config.max_clock_offset_ms, self.config.max_clock_offset_ms)
        return SimNode(name, logs, offset)

    def _schedule_timeline(self) -> None:
        for name in self.names:
            for t in sorted(self._times(self.config.entries_per_author, 0, self.config.authoring_ms)):
                self._at(t, functools.partial(self._author, name))
            self._at(
                self.rng.randint(0, self.config.anti_entropy_ms), functools.partial(self._anti_entropy, name)
            )
        if self.config.equivocation:
            self._schedule_equivocation()
        elif self.config.partition:
            start = self.rng.randint(0, self.config.authoring_ms // 2)
            self._schedule_partition(start, start + self.rng.randint(200, 800))
        for _ in range(self.config.restarts):
            self._schedule_restart()
        if self.config.late_member:
            self._schedule_admission(self.names[-1])

    def _times(self, n: int, lo: int, hi: int) -> list[int]:
        return [self.rng.randint(lo, hi) for _ in range(n)]

    def _schedule_partition(self, start: int, end: int) -> tuple[frozenset[str], frozenset[str]]:
        shuffled = self.rng.sample(self.names, len(self.names))
        cut = self.rng.randint(1, len(shuffled) - 1)
        halves = (frozenset(shuffled[:cut]), frozenset(shuffled[cut:]))
        self._at(start, functools.partial(self._set_partition, halves))
        self._at(end, functools.partial(self._set_partition, None))
        self.quiet_at_ms = max(self.quiet_at_ms, end)
        return halves

    def _schedule_restart(self) -> None:
        name = self.rng.choice(self.names)
        crash = self.rng.randint(0, self.config.authoring_ms)
        back = crash + self.rng.randint(50, 400)
        self._at(crash, functools.partial(self._set_up, name, False))
        self._at(back, functools.partial(self._set_up, name, True))
        self.quiet_at_ms = max(self.quiet_at_ms, back)

    def _schedule_admission(self, late: str) -> None:
        """Each other node learns of the late member's admission at its own time, as roster updates spread."""
        full = roster([*self.names, *([EQUIVOCATOR] if self.config.equivocation else [])], version=2)
        for name in self.names:
            if name != late:
                t = self.rng.randint(200, self.config.authoring_ms + 500)
                self._at(t, functools.partial(self._admit, name, full))
                self.quiet_at_ms = max(self.quiet_at_ms, t)

    def _schedule_equivocation(self) -> None:
        """A partition from 20% to 80% of the authoring window; the fork at 50%, one entry to each half."""
        span = self.config.authoring_ms
        halves = self._schedule_partition(span // 5, span * 4 // 5)
        equivocator = _Equivocator(member_key(EQUIVOCATOR))
        for t in sorted(self._times(2, 0, span // 5 - 1)):
            self._at(t, functools.partial(self._inject_honest, equivocator))
        self._at(span // 2, functools.partial(self._inject_fork, equivocator, halves))
        if self.config.equivocator_continues:
            for t in sorted(self._times(2, span // 2 + 1, span * 4 // 5 - 1)):
                self._at(t, functools.partial(self._inject_branch_a, equivocator, halves[0]))

    # -- the event loop --------------------------------------------------------------------------------------

    def run(self) -> SimResult:
        self._schedule_timeline()
        converged_at: int | None = None
        deadline = self.quiet_at_ms + self.config.settle_limit_ms
        while self._queue:
            t, _, event = heapq.heappop(self._queue)
            if t > deadline:
                break
            self.now = t
            event()
            if t >= self.quiet_at_ms and self._in_flight == 0 and self._agree():
                converged_at = t
                break
        return SimResult(
            self.config,
            converged_at,
            {n: s.logs for n, s in self.nodes.items()},
            frozenset(e.entry_id for e in self._authored),
            self.fork,
            self.stats,
        )

    def _at(self, t: int, event: Callable[[], None]) -> None:
        self._scheduled += 1
        heapq.heappush(self._queue, (t, self._scheduled, event))

    def _agree(self) -> bool:
        return len({node.logs.state_digest() for node in self.nodes.values()}) == 1

    def _faulty(self) -> bool:
        return self.now < self.quiet_at_ms

    def _clock(self, node: SimNode) -> int:
        return EPOCH_MS + self.now + node.clock_offset_ms

    # -- faults ----------------------------------------------------------------------------------------------

    def _set_partition(self, halves: tuple[frozenset[str], frozenset[str]] | None) -> None:
        self._partition = halves

    def _connected(self, a: str, b: str) -> bool:
        return self._partition is None or any(a in half and b in half for half in self._partition)

    def _set_up(self, name: str, up: bool) -> None:
        node = self.nodes[name]
        node.up = up
        if up:  # a restart: committed logs survive, everything in memory does not
            node.logs.restart()
            node.outstanding.clear()
            node.backoff_ms.clear()
            node.next_try_ms.clear()
            self.stats.restarts += 1

    def _admit(self, name: str, membership: Membership) -> None:
        node = self.nodes[name]
        self._after_receive(node, None, node.logs.update_membership(membership, now_ms=self._clock(node)))

    # -- network ---------------------------------------------------------------------------------------------

    def _send(self, src: str, dst: str, message: Message) -> None:
        self.stats.sent += 1
        if not self._connected(src, dst) or (self._faulty() and self.rng.random() < self.config.drop_rate):
            self.stats.dropped += 1
            return
        copies = 2 if self._faulty() and self.rng.random() < self.config.duplicate_rate else 1
        self.stats.duplicated += copies - 1
        for _ in range(copies):
            delay = self.rng.randint(self.config.min_delay_ms, self.config.max_delay_ms)
            self._in_flight += 1
            self._at(self.now + delay, functools.partial(self._deliver, src, dst, message))

    def _deliver(self, src: str, dst: str, message: Message) -> None:
        self._in_flight -= 1
        node = self.nodes[dst]
        if not node.up or not self._connected(src, dst):
            self.stats.dropped += 1
            return
        self.stats.delivered += 1
        self._handle(node, src, message)

    def _broadcast(self, src: str, message: Message) -> None:
        for name in self.names:
            if name != src:
                self._send(src, name, message)

    # -- node behaviour --------------------------------------------------------------------------------------

    def _handle(self, node: SimNode, src: str, message: Message) -> None:
        match message:
            case Push(entries):
                self._after_receive(node, src, node.logs.receive(entries, now_ms=self._clock(node)))
            case EntryBatch(entries, evidence):
                self._after_receive(node, src, node.logs.receive(entries, now_ms=self._clock(node)))
                if evidence:
                    self._after_receive(node, src, node.logs.receive_evidence(evidence))
            case PushEvidence(evidence):
                self._after_receive(node, src, node.logs.receive_evidence(evidence))
            case FrontierRequest(request_id):
                reply = FrontierReply(request_id, node.logs.frontier(), node.logs.evidence_ids())
                self._send(node.name, src, reply)
            case FrontierReply():
                self._on_frontier(node, src, message)
            case FetchRequest(ranges, evidence_ids):
                self._serve(node, src, ranges, evidence_ids)

    def _after_receive(self, node: SimNode, src: str | None, outcome: ReceiveOutcome) -> None:
        """Fetch what the gap buffer waits for from the sender; spread new evidence at once."""
        self.stats.rejected += len(outcome.rejected)
        self.stats.overflowed += outcome.dropped
        self.stats.held_pending += outcome.pending
        if outcome.missing and src is not None:
            self._send(node.name, src, FetchRequest(tuple(outcome.missing)))
        if outcome.new_evidence:
            self._broadcast(node.name, PushEvidence(tuple(outcome.new_evidence)))
        if self.fork is not None:
            for entry in outcome.applied:
                if entry.header.author == EQUIVOCATOR and entry.header.seq == self.fork.seq:
                    self.fork.first_applied.setdefault(node.name, entry.entry_id)

    def _serve(
        self, node: SimNode, src: str, ranges: Sequence[AuthorRange], evidence_ids: Sequence[bytes]
    ) -> None:
        for batch in node.logs.entries_for(ranges, max_bytes=self.config.max_batch_bytes):
            self._send(node.name, src, EntryBatch(tuple(batch)))
        evidence = node.logs.evidence_for(evidence_ids)
        if evidence:
            self._send(node.name, src, EntryBatch((), tuple(evidence)))

    def _author(self, name: str) -> None:
        node = self.nodes[name]
        if not node.up:  # a crashed node signs nothing; try again shortly
            self._at(self.now + 50, functools.partial(self._author, name))
            return
        head = node.logs.head(name)
        entry = sign_entry(
            member_key(name),
            consortium_id=CONSORTIUM_ID,
            author=name,
            seq=head.seq + 1 if head else 1,
            prev=head.entry_id if head else ZERO_ID,
            timestamp_ms=max(self._clock(node), head.timestamp_ms if head else 0),
            kind=EntryKind.CONTRIBUTION,
            items=[f"{name}/{head.seq + 1 if head else 1}".encode()],
        )
        outcome = node.logs.receive([entry], now_ms=self._clock(node))
        assert outcome.applied == [entry], f"{name} could not apply its own entry: {outcome}"
        self._authored.append(entry)
        self._broadcast(name, Push((entry,)))

    def _anti_entropy(self, name: str) -> None:
        node = self.nodes[name]
        self._at(self.now + self.config.anti_entropy_ms, functools.partial(self._anti_entropy, name))
        ready = [p for p in self.names if p != name and node.next_try_ms.get(p, 0) <= self.now]
        if not node.up or not ready:
            return
        peer = self.rng.choice(ready)
        self._next_request += 1
        node.outstanding[self._next_request] = peer
        self._send(name, peer, FrontierRequest(self._next_request))
        self._at(
            self.now + self.config.request_timeout_ms,
            functools.partial(self._timeout, name, self._next_request),
        )

    def _timeout(self, name: str, request_id: int) -> None:
        node = self.nodes[name]
        peer = node.outstanding.pop(request_id, None)
        if peer is None:
            return
        self.stats.timeouts += 1
        backoff = min(2 * node.backoff_ms.get(peer, self.config.anti_entropy_ms), self.config.max_backoff_ms)
        node.backoff_ms[peer] = backoff
        node.next_try_ms[peer] = self.now + backoff

    def _on_frontier(self, node: SimNode, src: str, reply: FrontierReply) -> None:
        if node.outstanding.pop(reply.request_id, None) is not None:
            node.backoff_ms.pop(src, None)
            node.next_try_ms.pop(src, None)
        ranges = node.logs.missing_ranges(reply.frontier)
        evidence = node.logs.missing_evidence(reply.evidence_ids)
        if ranges or evidence:
            self._send(node.name, src, FetchRequest(tuple(ranges), tuple(evidence)))

    # -- the equivocating author -----------------------------------------------------------------------------

    def _inject(self, names: Sequence[str] | frozenset[str], entry: Entry) -> None:
        """The equivocator's client talks to nodes directly (it is not behind the partition) and retries a
        node that is down, so that each half does see its branch: a fork nobody observes is not a scenario
        worth testing."""
        for name in sorted(names):
            node = self.nodes[name]
            if node.up:
                self._after_receive(node, None, node.logs.receive([entry], now_ms=self._clock(node)))
            else:
                self._at(self.now + 50, functools.partial(self._inject, [name], entry))

    def _inject_honest(self, equivocator: _Equivocator) -> None:
        self._inject(self.names, equivocator.sign(EPOCH_MS + self.now, b"honest"))

    def _inject_fork(self, equivocator: _Equivocator, halves: tuple[frozenset[str], frozenset[str]]) -> None:
        entry_a, entry_b = equivocator.fork(EPOCH_MS + self.now)
        self.fork = Fork(entry_a.header.seq, entry_a, entry_b, halves[0], halves[1])
        self._inject(halves[0], entry_a)
        self._inject(halves[1], entry_b)

    def _inject_branch_a(self, equivocator: _Equivocator, half: frozenset[str]) -> None:
        self._inject(half, equivocator.sign(EPOCH_MS + self.now, b"branch a"))


class _Equivocator:
    """An author that keeps one chain of its own (branch a) and, once, signs a second entry for one seq."""

    def __init__(self, key: SigningKey) -> None:
        self.key = key
        self.seq = 0
        self.prev = ZERO_ID

    def _sign(self, seq: int, timestamp_ms: int, item: bytes) -> Entry:
        return sign_entry(
            self.key,
            consortium_id=CONSORTIUM_ID,
            author=EQUIVOCATOR,
            seq=seq,
            prev=self.prev,
            timestamp_ms=timestamp_ms,
            kind=EntryKind.CONTRIBUTION,
            items=[item + b"/%d" % seq],
        )

    def sign(self, timestamp_ms: int, item: bytes) -> Entry:
        entry = self._sign(self.seq + 1, timestamp_ms, item)
        self.seq, self.prev = entry.header.seq, entry.entry_id
        return entry

    def fork(self, timestamp_ms: int) -> tuple[Entry, Entry]:
        entry_b = self._sign(self.seq + 1, timestamp_ms, b"branch b")
        return self.sign(timestamp_ms, b"branch a"), entry_b


def simulate(config: SimConfig) -> SimResult:
    return Simulation(config).run()
