"""The Peer service: serves this node's copy of every member's log, and the fork evidence it holds, to peers.

Entries go out exactly as their authors signed them (header bytes, signature, items), so a relayed copy
verifies end to end. Batches are bounded in bytes well below the gRPC message limit, and one FetchEntries call
returns at most `MAX_FETCH_BYTES`: the caller asks again for what is still missing. A subscriber whose bounded
queue overflows is dropped: it repairs itself through the frontier exchange, which is always correct, only
slower.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterator

import grpc

from node.api import MAX_MESSAGE_BYTES
from node.api.gen.hashnode.v1 import peer_pb2, peer_pb2_grpc
from node.api.peer_wire import (
    PeerFrontier,
    batch_to_proto,
    fetch_from_proto,
    frontier_from_proto,
    frontier_to_proto,
)
from node.core.entry import Entry
from node.core.errors import FailedPrecondition, ResourceExhausted
from node.ledger.replica import Replica
from node.network import tls
from node.replication.evidence import ForkEvidence
from node.replication.frontier import AuthorRange
from node.replication.reconcile import entry_size

DEFAULT_BATCH_BYTES = 1 << 20
MIN_BATCH_BYTES = 64 << 10
MAX_BATCH_BYTES = 4 << 20
MAX_FETCH_BYTES = 64 << 20  # per FetchEntries call
MAX_CATCH_UP_BYTES = 16 << 20  # a subscriber further behind is told to fetch first
MAX_ENTRY_BYTES = MAX_MESSAGE_BYTES - (64 << 10)  # an entry must fit in one message with room for framing
SUBSCRIBER_QUEUE = 4096
# Each FetchEntries or Subscribe stream holds one of the peer listener's worker threads (node.server.server
# WORKERS = 16) for as long as it lasts, a live subscription indefinitely. Without a bound, one peer opening
# streams would leave no thread for any other peer's calls.
MAX_STREAMS = 12  # open at once, in all: 4 threads stay free for unary calls
MAX_STREAMS_PER_CALLER = 4  # a replicator holds one fetch and one subscription, two while it reconnects
POLL_SECONDS = 0.5  # how often a live stream checks that its caller (and this server) is still there
HEARTBEAT_SECONDS = 2.0  # an idle live stream sends an empty batch this often

Pushed = Entry | ForkEvidence


class _Subscriber:
    """A live subscription: a bounded queue fed by commits, drained by one response stream."""

    def __init__(self) -> None:
        self.queue: queue.Queue[Pushed] = queue.Queue(SUBSCRIBER_QUEUE)
        self.overflowed = False

    def offer(self, item: Pushed) -> None:
        try:
            self.queue.put_nowait(item)
        except queue.Full:
            self.overflowed = True


class StreamSlots:
    """Counts the streams open, in all and per caller, and refuses one more beyond either bound."""

    def __init__(self, total: int = MAX_STREAMS, per_caller: int = MAX_STREAMS_PER_CALLER) -> None:
        self._total, self._per_caller = total, per_caller
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def slot(self, caller: str) -> Iterator[None]:
        """Raises: ResourceExhausted when `caller` or the listener has as many streams open as allowed."""
        with self._lock:
            if self._open.get(caller, 0) >= self._per_caller:
                raise ResourceExhausted(
                    f"streams: {caller} has {self._per_caller} open already; close one before opening another"
                )
            if sum(self._open.values()) >= self._total:
                raise ResourceExhausted(f"streams: {self._total} open already on this node; retry later")
            self._open[caller] = self._open.get(caller, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                self._open[caller] -= 1
                if not self._open[caller]:
                    del self._open[caller]


def _caller(context: grpc.ServicerContext, own_fingerprints: frozenset[bytes] = frozenset()) -> str:
    """Who holds a stream: the member's certificate (every connection of one member's node counts together),
    or the connection in insecure mode. This node's own certificates are its member's other nodes (followers
    share the member's identity): each of their connections counts on its own, so that several followers of one
    writer do not share one member's allowance."""
    fingerprint = tls.peer_fingerprint(context)
    if fingerprint is None or fingerprint in own_fingerprints:
        return str(context.peer())
    return fingerprint.hex()


class PeerServicer(peer_pb2_grpc.PeerServicer):  # type: ignore[misc]
    def __init__(
        self,
        replica: Replica,
        *,
        stopping: threading.Event | None = None,
        roster_version: Callable[[], int] = lambda: 0,
        own_fingerprints: frozenset[bytes] = frozenset(),
    ) -> None:
        """`stopping`, when set, ends the live streams at their next poll (so that a server stop need not wait
        for its grace period to end them). `roster_version`: the newest roster version this node trusts, told
        in every frontier and pushed batch so that a peer still on an older one fetches the newer."""
        self._replica = replica
        self._roster_version = roster_version
        self._own = own_fingerprints
        self._store = replica.store
        self._settings = replica.ledger.settings
        self._subscribers: set[_Subscriber] = set()
        self._lock = threading.Lock()
        self._stopping = stopping or threading.Event()
        self._streams = StreamSlots()
        replica.ledger.on_commit(self._publish)
        replica.on_evidence(self._publish)

    def _publish(self, item: Pushed) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber.offer(item)

    def GetFrontier(
        self, request: peer_pb2.FrontierRequest, context: grpc.ServicerContext
    ) -> peer_pb2.Frontier:
        return frontier_to_proto(
            self._replica.frontier(),
            self._replica.evidence_ids(),
            consortium_id=self._settings.consortium_id,
            member_id=self._settings.member_id,
            roster_version=self._roster_version(),
        )

    def FetchEntries(
        self, request: peer_pb2.FetchRequest, context: grpc.ServicerContext
    ) -> Iterator[peer_pb2.EntryBatch]:
        ranges, evidence_ids = fetch_from_proto(request)
        with self._streams.slot(_caller(context, self._own)):
            yield from self._fetch(ranges, evidence_ids, request.max_batch_bytes)

    def _fetch(
        self, ranges: list[AuthorRange], evidence_ids: list[bytes], max_batch_bytes: int
    ) -> Iterator[peer_pb2.EntryBatch]:
        limit = _batch_limit(max_batch_bytes)
        # Evidence first: it is small, it freezes authors whose entries then need not be fetched, and the
        # byte budget below must not keep it from a caller whose ranges never end (an entry it refuses).
        evidence = self._replica.evidence_for(evidence_ids)
        for start in range(0, len(evidence), 64):  # an evidence record is two entries
            yield batch_to_proto([], evidence[start : start + 64])
        budget = MAX_FETCH_BYTES
        for wanted in ranges:
            for batch in self._range_batches(wanted, limit):
                yield batch_to_proto(batch)
                budget -= sum(entry_size(e) for e in batch)
                if budget <= 0:
                    return

    def _range_batches(self, wanted: AuthorRange, limit: int) -> Iterator[list[Entry]]:
        """Batches of one author's log; each batch is read in its own short read transaction."""
        next_seq = wanted.from_seq
        while wanted.to_seq == 0 or next_seq <= wanted.to_seq:
            batch, size = [], 0
            with self._store.read() as txn:
                for entry in self._store.log(txn, wanted.author, next_seq, wanted.to_seq):
                    batch.append(_sendable(entry))
                    size += entry_size(entry)
                    if size >= limit:
                        break
            if not batch:
                return
            yield batch
            next_seq = batch[-1].header.seq + 1
            if size < limit:
                return

    def Subscribe(
        self, request: peer_pb2.SubscribeRequest, context: grpc.ServicerContext
    ) -> Iterator[peer_pb2.EntryBatch]:
        since = frontier_from_proto(request.since, "since")
        with self._streams.slot(_caller(context, self._own)):
            for batch in self._subscribe(since, context):
                batch.roster_version = self._roster_version()
                yield batch

    def _subscribe(self, since: PeerFrontier, context: grpc.ServicerContext) -> Iterator[peer_pb2.EntryBatch]:
        subscriber = _Subscriber()
        with self._lock:
            self._subscribers.add(subscriber)
        try:
            # Register first, then catch up: an entry committed in between arrives twice, never zero times.
            yield from self._catch_up({h.author: h.seq for h in since.frontier})
            theirs = set(since.evidence_ids)
            missing = [i for i in self._replica.evidence_ids() if i not in theirs]
            if missing:
                yield batch_to_proto([], self._replica.evidence_for(missing))
            yield from self._live(subscriber, context)
        finally:
            with self._lock:
                self._subscribers.discard(subscriber)

    def _catch_up(self, since: dict[str, int]) -> Iterator[peer_pb2.EntryBatch]:
        sent = 0
        for head in self._replica.frontier():
            if head.seq <= since.get(head.author, 0):
                continue
            wanted = AuthorRange(head.author, since.get(head.author, 0) + 1)
            for batch in self._range_batches(wanted, DEFAULT_BATCH_BYTES):
                yield batch_to_proto(batch)
                sent += sum(entry_size(e) for e in batch)
                if sent > MAX_CATCH_UP_BYTES:
                    raise FailedPrecondition("since: too far behind to catch up by subscription; fetch first")

    def _live(self, subscriber: _Subscriber, context: grpc.ServicerContext) -> Iterator[peer_pb2.EntryBatch]:
        """Pushes what is committed; an empty batch after `HEARTBEAT_SECONDS` idle shows the link is up."""
        yield peer_pb2.EntryBatch()  # caught up: from here on, the stream is live
        last_sent = time.monotonic()
        while context.is_active() and not self._stopping.is_set():
            if subscriber.overflowed:
                raise ResourceExhausted("subscriber fell behind (its queue overflowed); resync by frontier")
            try:
                first = subscriber.queue.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if time.monotonic() - last_sent >= HEARTBEAT_SECONDS:
                    last_sent = time.monotonic()
                    yield peer_pb2.EntryBatch()
                continue
            last_sent = time.monotonic()
            yield _drain(subscriber, first)


def _drain(subscriber: _Subscriber, first: Pushed) -> peer_pb2.EntryBatch:
    """One batch: `first` and whatever else is queued already, up to the default batch size. Never waits."""
    entries: list[Entry] = []
    evidence: list[ForkEvidence] = []
    size = 0
    item: Pushed | None = first
    while item is not None:
        if isinstance(item, Entry):
            entries.append(_sendable(item))
            size += entry_size(item)
        else:
            evidence.append(item)
            size += entry_size(item.lower) + entry_size(item.upper)
        if size >= DEFAULT_BATCH_BYTES:
            break
        try:
            item = subscriber.queue.get_nowait()
        except queue.Empty:
            item = None
    return batch_to_proto(entries, evidence)


def _sendable(entry: Entry) -> Entry:
    if entry_size(entry) > MAX_ENTRY_BYTES:
        raise ResourceExhausted(
            f"entry {entry.entry_id.hex()} of {entry.header.author} takes {entry_size(entry)} bytes; "
            f"replication sends at most {MAX_ENTRY_BYTES} per entry"
        )
    return entry


def _batch_limit(requested: int) -> int:
    if requested == 0:
        return DEFAULT_BATCH_BYTES
    return max(MIN_BATCH_BYTES, min(requested, MAX_BATCH_BYTES))
