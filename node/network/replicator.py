"""The replicator: keeps this node's replica in step with its configured peers over the Peer service.

Per peer, two worker threads share one channel:

* pull (anti-entropy): `GetFrontier`, then `FetchEntries` for what `Replica.missing_ranges` and
  `Replica.missing_evidence` say is missing, until nothing is (or a fetch brings nothing new); then it sleeps
  `anti_entropy_ms`, or less when woken (a gap seen on the push stream). The peer's frontier is the checkpoint
  committed with each fetched batch. Failures back off exponentially, with jitter.
* push (live): after the first pull pass, `Subscribe` from this node's frontier and hand every batch to the
  replica as it arrives. The server sends an empty batch when idle; a stream silent for three heartbeats is
  cancelled by the pull thread and opened again.

Restore safety (`AuthoringGate`, closed when the replicator is built): a node with peers may not author until
one pull pass with a peer has compared its own member's log with the peer's copy and fetched whatever the peer
holds beyond it. A node restored from an old backup thus continues its member's log where the consortium has
it, instead of signing a second entry for a seq it already signed (which would fork its own log and freeze
it, see `validate` R3). `authoring_without_peers_after_s` (default 0: never) lets a node author alone after
that long without any peer answering: for a consortium's first node, or when every peer is lost for good.

Everything is bounded: batches and requests by the Peer service limits, passes by `max_rounds`, buffers by the
replica's `Limits`, waits by timeouts. Channels come from a `ChannelFactory`, so that mutual TLS plugs in.

Two hints cut waits short. A link backing off from a peer that has just called this node (`peer_called`: it is
up again, or has just started) is opened again at once, on a new channel (the old one's own reconnect backoff
could hold it for seconds more). And every frontier and pushed batch says which roster
version the peer trusts: a newer one than this node's is reported (`on_roster_version`), so that a roster
published at any node reaches the others within a heartbeat, not a roster-exchange period.
"""

from __future__ import annotations

import enum
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import grpc

from node.api import MAX_MESSAGE_BYTES
from node.api.gen.hashnode.v1 import peer_pb2, peer_pb2_grpc
from node.api.peer_wire import (
    PeerFrontier,
    ReceivedBatch,
    batch_from_proto,
    fetch_request,
    frontier_from_proto,
    frontier_to_proto,
)
from node.core.errors import HashnodeError
from node.ledger.replica import PeerPosition, RefusedLog, Replica
from node.replication.frontier import AuthorRange, Frontier
from node.replication.reconcile import ReceiveOutcome
from node.storage.restore import RestoreMark, clear_restore_mark, fork_risk_accepted, restore_mark

log = logging.getLogger(__name__)

ChannelFactory = Callable[[str], grpc.Channel]
RosterVersionSeen = Callable[[str, int], None]  # (peer name, the roster version it trusts)
HEARTBEAT_SECONDS = 2.0  # must match the Peer service's idle heartbeat
WATCHDOG_SECONDS = 0.5  # how often fetch streams are checked for a stalled peer, and links renewed
RENEW_SECONDS = 2.0  # a link is opened again on a peer's call at most this often
GATE_SOURCE = "replication: catching up"  # the authoring gate's name in `Ledger.block_authoring`


def insecure_channel(address: str) -> grpc.Channel:
    """A plaintext channel to a peer (loopback and tests; mutual TLS replaces this factory)."""
    return grpc.insecure_channel(address, options=CHANNEL_OPTIONS)


CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    # Reconnect soon after a peer restarts; gRPC's own default backs off to two minutes.
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 5000),
]


class PeerError(HashnodeError):
    """A peer answered, but not as a peer of this consortium should."""


@dataclass(frozen=True)
class PeerAddress:
    name: str  # the peer's member id
    address: str  # host:port of its Peer service


class NamedAddress(Protocol):
    """What `Replicator.set_peer` needs of a peer (`PeerAddress`, or a peer directory's own type)."""

    @property
    def name(self) -> str: ...

    @property
    def address(self) -> str: ...


@dataclass(frozen=True)
class ReplicationSettings:
    anti_entropy_ms: int = 5000
    backoff_initial_ms: int = 200
    backoff_max_ms: int = 30_000
    rpc_timeout_s: float = 10.0
    fetch_timeout_s: float = 300.0
    max_batch_bytes: int = 1 << 20  # per message asked of the peer
    apply_batch_bytes: int = 16 << 20  # fetched messages applied in one transaction (memory held meanwhile)
    max_rounds: int = 1000  # fetch requests per pass
    # Restore safety: author without having compared with any peer after this long; 0 = never.
    authoring_without_peers_after_s: int = 0


class PeerState(enum.Enum):
    CONNECTING = "connecting"  # no pass completed yet
    SYNCED = "synced"  # last pull pass succeeded; no live stream (yet)
    LIVE = "live"  # last pull pass succeeded and the push stream is open
    BACKOFF = "backoff"  # the last call failed; waiting before trying again
    STOPPED = "stopped"


@dataclass(frozen=True)
class PeerStatus:
    """What the admin `ListPeers` call reports about one peer."""

    name: str
    address: str
    state: PeerState
    member_id: str = ""  # the member the peer's node serves, as it said
    last_sync_ms: int = 0  # last successful pull pass or pushed batch; 0 = never
    last_error: str = ""
    lag_entries: int = 0  # entries the peer held (when last seen) that this node does not, and may take
    # Per author whose log this node refuses from some seq (`RefusedLog`), the entries the peer holds from it.
    refused: tuple[tuple[RefusedLog, int], ...] = ()
    applied: int = 0  # entries applied from this peer since start
    rejected: int = 0  # entries from this peer the receipt rules refused, since start


# --- restore safety -----------------------------------------------------------------------------------------


class AuthoringGate:
    """Holds authoring until the node's own log has been compared with a peer's copy of it."""

    def __init__(
        self,
        replica: Replica,
        peers: Sequence[str],
        settings: ReplicationSettings,
        restored: RestoreMark | None = None,
        accepted: RestoreMark | None = None,
    ) -> None:
        self._ledger = replica.ledger
        self._replica = replica
        member = self._ledger.settings.member_id
        # A store restored from a backup (`hashnode admin restore`) is held until a peer's copy proves it holds
        # the member's newest entry; no timeout opens it (`authoring_without_peers_after_s` is for a node
        # whose store was never restored), only that comparison or the operator's restore override.
        self.restored = restored
        # Restored with `--accept-fork-risk`: the operator accepted in writing that the log may fork, so no wait
        # holds it, not even the general one for a node whose peers cannot be reached.
        self.accepted = accepted if restored is None else None
        if restored is not None:
            where = f"its peers ({', '.join(peers)})" if peers else "a peer (none is configured: add one)"
            self.reason = (
                f"restored from a backup ({restored.source}): this node does not author until it has compared "
                f"the log of {member} with {where}, since the backup may lack entries {member} signed after "
                "it was taken; to author anyway, accepting that its log may fork, restore again with "
                "hashnode admin restore --accept-fork-risk"
            )
        else:
            self.reason = (
                f"catching up: this node has not yet compared the log of {member} with a peer's copy "
                f"({', '.join(peers)}); it authors once it has, so that it never signs a second entry for a seq"
            )
        self._settings = settings
        self._lock = threading.Lock()
        self._open = False
        self._answered = False  # some peer answered GetFrontier: its pass, not the timeout, opens the gate

    @property
    def is_open(self) -> bool:
        return self._open

    def answered(self) -> None:
        """A peer gave its frontier: its catch-up has begun; the solo-authoring timeout no longer applies."""
        self._answered = True

    def close_until_caught_up(self) -> None:
        """Blocks authoring until `compared` (or `timed_out`) opens the gate."""
        if self._ledger.signer is None:  # a follower or read-only node never authors: nothing to guard
            self._open = True
        elif self.accepted is not None:
            log.warning(
                "authoring at once: fork risk accepted at restore (hashnode admin restore --accept-fork-risk, "
                "backup %s); this node has not compared its member's log with a peer's copy",
                self.accepted.source,
            )
        else:
            self._ledger.block_authoring(GATE_SOURCE, self.reason)

    def compared(self, peer: str, remote: Frontier) -> None:
        """After a pull pass with `peer`: opens the gate if this node holds all that peer holds of its log."""
        member = self._ledger.settings.member_id
        theirs = remote.get(member)
        ours = self._replica.head(member)
        if self._replica.is_convicted(member):
            return  # the replica has frozen authoring, with its own reason
        if theirs is not None and (ours is None or ours.seq < theirs.seq):
            return  # not caught up (the fetch may have been cut short); the next pass tries again
        if self.restored is not None and theirs is None and ours is not None:
            return  # a peer holding none of this log proves nothing about a restored store's head
        self._release(f"compared the log of {member} with {peer}'s copy (seq {ours.seq if ours else 0})")

    def timed_out(self) -> None:
        """The solo-authoring timeout: opens the gate unless a peer answered (its catch-up may be long) or the
        store was restored (only a peer's copy proves a restored store holds the member's newest entry)."""
        if self._answered or self.restored is not None:
            return
        self._release(
            f"no peer answered for {self._settings.authoring_without_peers_after_s} s "
            "(replication.authoring_without_peers_after_s): authoring without comparing with a peer"
        )

    def _release(self, why: str) -> None:
        with self._lock:
            if self._open:
                return
            self._open = True
        if self.restored is not None or self.accepted is not None:
            clear_restore_mark(self._ledger.store)  # proved: a restart need not prove it again
            self.restored = self.accepted = None
        self._ledger.block_authoring(GATE_SOURCE, None)
        log.info("authoring allowed: %s", why)


# --- one peer -----------------------------------------------------------------------------------------------


class PeerLink:
    """The pull and push workers of one peer, and its status."""

    def __init__(
        self,
        peer: PeerAddress,
        replica: Replica,
        channel: grpc.Channel,
        settings: ReplicationSettings,
        gate: AuthoringGate | None,
        rng: random.Random,
        on_roster_version: RosterVersionSeen | None = None,
    ) -> None:
        self.peer = peer
        self._on_roster_version = on_roster_version
        self._replica = replica
        self._channel = channel
        self._stub = peer_pb2_grpc.PeerStub(channel)
        self._settings = settings
        self._gate = gate
        self._rng = rng
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._push_wake = threading.Event()
        self._synced_once = threading.Event()
        self._lock = threading.Lock()
        self._calls: set[grpc.Future] = set()
        self._status = PeerStatus(peer.name, peer.address, PeerState.CONNECTING)
        self._remote: Frontier | None = None
        self._last_message = time.monotonic()
        self._live = False
        self._stream: grpc.Future | None = None
        # The fetch stream in progress and since when it has been waiting for the peer (None while this node
        # applies what came): `cut_stalled_fetch` ends a stream the peer stopped feeding.
        self._fetch_call: grpc.Future | None = None
        self._fetch_waiting_since: float | None = None
        self._fetch_stalled = False
        self._threads = [
            threading.Thread(target=self._pull_loop, name=f"pull-{peer.name}", daemon=True),
            threading.Thread(target=self._push_loop, name=f"push-{peer.name}", daemon=True),
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float) -> None:
        self._stop.set()
        self._wake.set()
        self._push_wake.set()
        self._synced_once.set()
        with self._lock:
            calls = list(self._calls)
        for call in calls:
            call.cancel()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._channel.close()
        self._update(state=PeerState.STOPPED)

    def wake(self) -> None:
        self._wake.set()

    @property
    def backing_off(self) -> bool:
        return self._status.state == PeerState.BACKOFF

    def _roster_version_seen(self, version: int) -> None:
        if version and self._on_roster_version is not None:
            self._on_roster_version(self.peer.name, version)

    def status(self) -> PeerStatus:
        with self._lock:
            status, remote = self._status, self._remote
        if remote is None:
            return status
        behind = self._replica.behind(remote)
        return replace(status, lag_entries=behind.lag, refused=behind.refused)

    def _update(self, **changes: object) -> None:
        with self._lock:
            self._status = replace(self._status, **changes)  # type: ignore[arg-type]

    def _count(self, outcome: ReceiveOutcome) -> None:
        with self._lock:
            self._status = replace(
                self._status,
                applied=self._status.applied + len(outcome.applied),
                rejected=self._status.rejected + len(outcome.rejected),
            )

    def _failed(self, exc: BaseException, failures: int) -> float:
        """Records a failure; returns how long to wait before the next try (exponential, with jitter)."""
        message = _describe(exc)
        if message != self._status.last_error or failures == 1:
            log.warning("peer %s (%s): %s", self.peer.name, self.peer.address, message)
        self._update(state=PeerState.BACKOFF, last_error=message)
        doubled = self._settings.backoff_initial_ms * (1 << min(failures - 1, 30))
        return min(self._settings.backoff_max_ms, doubled) * self._rng.uniform(0.5, 1.5) / 1000

    # -- pull --------------------------------------------------------------------------------------------

    def _pull_loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                self.pass_once()
                failures = 0
                wait = self._settings.anti_entropy_ms / 1000
            except Exception as exc:  # a worker must survive anything, and report it
                if self._stop.is_set():
                    return
                if not isinstance(exc, (grpc.RpcError, HashnodeError)):
                    log.exception("peer %s: unexpected error in anti-entropy", self.peer.name)
                failures += 1
                wait = self._failed(exc, failures)
            self._wake.wait(min(wait, HEARTBEAT_SECONDS) if self._live else wait)
            self._wake.clear()
            self._check_stream()

    def pass_once(self) -> None:
        """One anti-entropy pass: frontier, then fetches until nothing is missing or nothing new arrives."""
        remote = self._frontier()
        self._roster_version_seen(remote.roster_version)
        if self._gate is not None:
            self._gate.answered()
        for _ in range(self._settings.max_rounds):
            ranges = self._replica.missing_ranges(remote.frontier)
            evidence_ids = self._replica.missing_evidence(remote.evidence_ids)
            if not (ranges or evidence_ids) or not self._fetch(remote, ranges, evidence_ids):
                break
        with self._lock:
            self._remote = remote.frontier
        self._update(
            state=PeerState.LIVE if self._live else PeerState.SYNCED,
            member_id=remote.member_id,
            last_sync_ms=self._replica.ledger.clock(),
            last_error="",
        )
        if self._gate is not None:
            self._gate.compared(self.peer.name, remote.frontier)
        self._synced_once.set()

    def _frontier(self) -> PeerFrontier:
        reply = self._call_unary(peer_pb2.FrontierRequest())
        remote = frontier_from_proto(reply)
        if remote.consortium_id != self._replica.consortium_id:
            raise PeerError(
                f"consortium_id: got {remote.consortium_id!r}, want {self._replica.consortium_id!r} "
                "(the peer's address points at another consortium's node)"
            )
        return remote

    def _call_unary(self, request: peer_pb2.FrontierRequest) -> peer_pb2.Frontier:
        future = self._stub.GetFrontier.future(request, timeout=self._settings.rpc_timeout_s)
        with self._tracked(future):
            reply: peer_pb2.Frontier = future.result()
        return reply

    def _fetch(
        self, remote: PeerFrontier, ranges: Sequence[AuthorRange], evidence_ids: Sequence[bytes]
    ) -> bool:
        """One FetchEntries call; True when it brought anything new (entries applied or evidence kept)."""
        request = fetch_request(ranges, evidence_ids, max_batch_bytes=self._settings.max_batch_bytes)
        call = self._stub.FetchEntries(request, timeout=self._settings.fetch_timeout_s)
        position = PeerPosition(self.peer.name, remote.frontier, self._replica.ledger.clock())
        progressed = False
        pending, size = ReceivedBatch(), 0
        self._fetch_call, self._fetch_waiting_since, self._fetch_stalled = call, time.monotonic(), False
        try:
            with self._tracked(call):
                for message in call:
                    self._fetch_waiting_since = None
                    # Several messages per transaction: a commit writes every page it dirtied, and records
                    # land on pages all over the id and hash tables, so fewer, larger commits are much cheaper.
                    _extend(pending, batch_from_proto(message))
                    size += message.ByteSize()
                    if size >= self._settings.apply_batch_bytes:
                        outcome = self._receive(pending, position)
                        progressed = progressed or bool(outcome.applied or outcome.new_evidence)
                        pending, size = ReceivedBatch(), 0
                    self._fetch_waiting_since = time.monotonic()
        except grpc.RpcError:
            if self._fetch_stalled:
                raise PeerError(
                    f"FetchEntries: the peer sent nothing for {self._settings.rpc_timeout_s:g} s mid-stream; "
                    "cut off (it is asked again at the next pass)"
                ) from None
            raise
        finally:
            self._fetch_call = self._fetch_waiting_since = None
        if pending.entries or pending.evidence or pending.undecodable:
            outcome = self._receive(pending, position)
            progressed = progressed or bool(outcome.applied or outcome.new_evidence)
        return progressed

    def _receive(self, batch: ReceivedBatch, position: PeerPosition | None = None) -> ReceiveOutcome:
        self._replica.count_undecodable(
            f"peer {self.peer.name}", [(u.reason.value, u.message) for u in batch.undecodable]
        )
        outcome = self._replica.receive(batch.entries, position=position)
        if batch.evidence:
            found = self._replica.receive_evidence(batch.evidence)
            outcome.new_evidence.extend(found.new_evidence)
            outcome.invalid_evidence.extend(found.invalid_evidence)
        self._count(outcome)
        return outcome

    # -- push --------------------------------------------------------------------------------------------

    def _push_loop(self) -> None:
        self._synced_once.wait()
        failures = 0
        while not self._stop.is_set():
            try:
                self._subscribe()
                failures = 0
                wait = self._settings.backoff_initial_ms / 1000  # the server ended the stream: open it again
            except Exception as exc:  # a worker must survive anything, and report it
                if self._stop.is_set():
                    return
                if _code(exc) == grpc.StatusCode.FAILED_PRECONDITION:  # too far behind: pull first
                    self._wake.set()
                elif not isinstance(exc, (grpc.RpcError, HashnodeError)):
                    log.exception("peer %s: unexpected error on the push stream", self.peer.name)
                failures += 1
                wait = self._failed(exc, failures)
            finally:
                self._live, self._stream = False, None
            self._push_wake.wait(wait)
            self._push_wake.clear()

    def _subscribe(self) -> None:
        since = frontier_to_proto(
            self._replica.frontier(),
            self._replica.evidence_ids(),
            consortium_id=self._replica.consortium_id,
            member_id=self._replica.ledger.settings.member_id,
        )
        call = self._stub.Subscribe(peer_pb2.SubscribeRequest(since=since))
        with self._tracked(call):
            self._stream = call
            self._last_message = time.monotonic()
            for message in call:
                self._last_message = time.monotonic()
                self._roster_version_seen(message.roster_version)
                if not self._live:  # the first message: catch-up batches, or the empty one that ends them
                    self._live = True
                    self._update(state=PeerState.LIVE, last_error="")
                if not (message.entries or message.evidence):
                    continue  # the end of the catch-up, or a heartbeat
                outcome = self._receive(batch_from_proto(message))
                self._update(last_sync_ms=self._replica.ledger.clock())
                if outcome.missing:
                    self._wake.set()

    def cut_stalled_fetch(self, now: float) -> None:
        """Cancels the fetch stream when the peer has sent nothing for `rpc_timeout_s` (its deadline covers
        the whole catch-up, which may take minutes; a peer that stops mid-stream must not hold the link)."""
        call, since = self._fetch_call, self._fetch_waiting_since
        if call is not None and since is not None and now - since > self._settings.rpc_timeout_s:
            self._fetch_stalled = True
            call.cancel()

    def _check_stream(self) -> None:
        """Cancels a push stream that has been silent for three heartbeats (a dead peer or a cut network)."""
        if self._live and time.monotonic() - self._last_message > 3 * HEARTBEAT_SECONDS:
            log.warning(
                "peer %s: push stream silent for %.0f s; reconnecting",
                self.peer.name,
                time.monotonic() - self._last_message,
            )
            stream = self._stream
            if stream is not None:
                stream.cancel()

    def _tracked(self, call: grpc.Future) -> _Tracked:
        return _Tracked(self, call)

    def _track(self, call: grpc.Future, add: bool) -> None:
        with self._lock:
            if add:
                self._calls.add(call)
            else:
                self._calls.discard(call)
        if add and self._stop.is_set():
            call.cancel()


class _Tracked:
    """Keeps a call in its link's set while it runs, so that `stop` can cancel it."""

    def __init__(self, link: PeerLink, call: grpc.Future) -> None:
        self.link, self.call = link, call

    def __enter__(self) -> None:
        self.link._track(self.call, True)

    def __exit__(self, *exc: object) -> None:
        self.link._track(self.call, False)


def _extend(batch: ReceivedBatch, more: ReceivedBatch) -> None:
    batch.entries.extend(more.entries)
    batch.evidence.extend(more.evidence)
    batch.undecodable.extend(more.undecodable)


def _code(exc: BaseException) -> grpc.StatusCode | None:
    return exc.code() if isinstance(exc, grpc.Call) else None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, grpc.Call):
        return f"{exc.code().name}: {exc.details()}"
    if isinstance(exc, HashnodeError):
        return exc.diagnostics()
    return f"internal error ({type(exc).__name__}); see the node's log"


# --- all peers ----------------------------------------------------------------------------------------------


class Replicator:
    """The links to every peer, the authoring gate, and their lifecycle. Peers can change while running."""

    def __init__(
        self,
        replica: Replica,
        peers: Sequence[PeerAddress],
        *,
        channel_factory: ChannelFactory = insecure_channel,
        settings: ReplicationSettings | None = None,
        seed: int | None = None,
        on_roster_version: RosterVersionSeen | None = None,
    ) -> None:
        self.replica = replica
        self._on_roster_version = on_roster_version
        self.settings = settings or ReplicationSettings()
        self._channel_factory = channel_factory
        self._peers = {p.name: p for p in peers}
        self._rng = random.Random(seed)
        # Closed now, not in `start`: a server may begin taking Submit calls before replication starts. A
        # restored store is held even without peers: one added later (Admin.AddPeer) opens the gate.
        restored = restore_mark(replica.store)
        self.gate = (
            AuthoringGate(replica, sorted(self._peers), self.settings, restored, fork_risk_accepted(replica.store))
            if peers or restored is not None
            else None
        )
        if self.gate is not None:
            self.gate.close_until_caught_up()
        self._links: dict[str, PeerLink] = {}
        self._lock = threading.Lock()
        self._started = False
        self._stop = threading.Event()
        self._timer: threading.Thread | None = None
        self._watchdog = threading.Thread(target=self._watch, name="replication-watchdog", daemon=True)
        self._renew: set[str] = set()  # links to open again (their peer called while they backed off)
        self._renewed: dict[str, float] = {}  # when each was last opened again

    def start(self) -> None:
        """Starts every link (authoring has been blocked since construction, when there are peers)."""
        with self._lock:
            self._started = True
            for peer in self._peers.values():
                self._start_link(peer)
        if self._watchdog.ident is None:  # not started yet
            self._watchdog.start()
        if self.gate is not None and self.settings.authoring_without_peers_after_s > 0:
            self._timer = threading.Thread(target=self._solo_timer, name="authoring-gate-timer", daemon=True)
            self._timer.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Cancels every call, joins every worker (each within `timeout`), closes the channels."""
        self._stop.set()
        with self._lock:
            links, self._started = list(self._links.values()), False
        for link in links:
            link.stop(timeout)
        if self._timer is not None:
            self._timer.join(timeout)
        if self._watchdog.is_alive():
            self._watchdog.join(timeout)

    def set_peer(self, name: str, peer: NamedAddress | None) -> None:
        """Adds, moves (new address) or, with None, removes one peer; a running node starts or stops its link.

        Matches `PeerDirectory.on_change` listeners: anything with `name` and `address` will do for `peer`.
        """
        with self._lock:
            old = self._links.pop(name, None) if self._started else None
            if peer is None:
                self._peers.pop(name, None)
            else:
                self._peers[name] = PeerAddress(peer.name, peer.address)
                if self._started:
                    self._start_link(self._peers[name])
        if old is not None:
            old.stop(self.settings.rpc_timeout_s)

    def reconnect(self) -> None:
        """Opens every link again on a new channel (after a roster change: certificates may have changed)."""
        for name, peer in list(self._peers.items()):
            self.set_peer(name, peer)

    def statuses(self) -> list[PeerStatus]:
        with self._lock:
            links = [self._links[name] for name in sorted(self._links)]
        return [link.status() for link in links]

    def peer_called(self, name: str) -> None:
        """The peer `name` has just called this node: if its link is backing off, it is opened again on a new
        channel within `WATCHDOG_SECONDS` (not here: this runs in the thread serving the peer's call)."""
        with self._lock:
            link = self._links.get(name)
            if link is not None and link.backing_off:
                self._renew.add(name)

    def sync_now(self) -> None:
        """Starts an anti-entropy pass with every peer now (e.g. after a roster change)."""
        with self._lock:
            links = list(self._links.values())
        for link in links:
            link.wake()

    def _start_link(self, peer: PeerAddress) -> None:
        rng = random.Random(self._rng.random())
        link = PeerLink(
            peer,
            self.replica,
            self._channel_factory(peer.address),
            self.settings,
            self.gate,
            rng,
            self._on_roster_version,
        )
        self._links[peer.name] = link
        link.start()

    def _watch(self) -> None:
        """Every half second: cuts off fetch streams whose peer stalled, and opens again the links whose peer
        called while they backed off."""
        while not self._stop.wait(WATCHDOG_SECONDS):
            with self._lock:
                links = list(self._links.values())
                renew, self._renew = self._renew, set()
            for link in links:
                link.cut_stalled_fetch(time.monotonic())
            for name in sorted(renew):
                self._open_again(name)

    def _open_again(self, name: str) -> None:
        now = time.monotonic()
        if now - self._renewed.get(name, -RENEW_SECONDS) < RENEW_SECONDS:
            return
        self._renewed[name] = now
        with self._lock:
            peer = self._peers.get(name)
            link = self._links.get(name)
        if peer is not None and link is not None and link.backing_off:
            log.info("peer %s called this node: opening the link to it again now", name)
            self.set_peer(name, peer)

    def _solo_timer(self) -> None:
        if not self._stop.wait(self.settings.authoring_without_peers_after_s) and self.gate is not None:
            self.gate.timed_out()
