"""Whom this node talks to, and how: the peer directory, pinned peer channels, and the roster exchange.

* `PeerDirectory`: every active member at its roster endpoints (`node.membership.dialling`), the peers of
  the config file (`[[peers]]`, which take precedence), and the operator's changes (`Admin.AddPeer`,
  `Admin.RemovePeer`), kept in the store's `state` table so that they survive a restart without editing the
  config; minus the members the roster holds suspended or revoked, whoever named them.
* `PeerChannels`: the replicator's `ChannelFactory`. A channel to a peer presents this node's certificate and
  trusts only the certificates the roster lists for that peer's member (the peer's name is its member id), or,
  for an address no peer name is known for, those of the roster's active members. In insecure (loopback
  development) mode, a plaintext channel.
* `RosterExchange`: asks every peer for roster versions newer than the trusted one (`Membership.GetRosters`)
  and hands them to the `Consortium`, which verifies them; periodically, and when asked (`Admin.Sync`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import grpc

from node.api import MAX_MESSAGE_BYTES
from node.api.gen.hashnode.v1 import membership_pb2, membership_pb2_grpc
from node.api.roster_wire import signed_roster_from_proto
from node.core.errors import (
    AlreadyExists,
    ConfigError,
    FailedPrecondition,
    HashnodeError,
    InvalidArgument,
    NotFound,
)
from node.ledger.consortium import Consortium, RosterChange
from node.membership import certificates
from node.membership.dialling import DialPlan
from node.membership.members import check_member_id
from node.membership.roster import SignedRoster, WrongConsortiumError
from node.network import tls
from node.network.addresses import PeerConfig, check_listen
from node.storage.store import Store

log = logging.getLogger(__name__)

PEER_PREFIX = b"peer\x00"
REMOVED = b""  # the value of a configured peer the operator removed
CHANNEL_OPTIONS: tuple[tuple[str, object], ...] = (
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    # Reconnect soon after a peer restarts; gRPC's own default backs off to two minutes.
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 5000),
)


@dataclass(frozen=True)
class Peer:
    name: str  # the peer's member id
    address: str  # host:port of its peer listener: the one dialled now
    source: str  # "config", "admin" (Admin.AddPeer) or "roster" (the member's roster endpoints)
    endpoints: tuple[str, ...] = ()  # a roster peer's endpoints, in order of preference


PeerListener = Callable[[str, Peer | None], None]  # (name, the peer now or None when removed)


class PeerDirectory:
    """Whom the node dials: the roster's peers, then the config's, then the operator's changes, minus the
    members the roster does not hold active. Thread-safe; listeners hear every change, in order."""

    def __init__(self, store: Store, configured: Sequence[PeerConfig]) -> None:
        self._store = store
        self._configured = {p.name: Peer(p.name, p.address, "config") for p in configured}
        self._plan = DialPlan()
        self._chosen: dict[str, int] = {}  # roster peer -> index of the endpoint dialled now
        self._lock = threading.Lock()
        self._notifying = threading.Lock()  # listeners hear changes one set at a time, in order
        self._listeners: list[PeerListener] = []
        self._current = self._compute()

    def on_change(self, listener: PeerListener) -> None:
        self._listeners.append(listener)

    def _overrides(self) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        with self._store.read() as txn:
            cursor = txn.cursor(db=self._store.db("state"))
            if cursor.set_range(PEER_PREFIX):
                for key, value in cursor:
                    if not bytes(key).startswith(PEER_PREFIX):
                        break
                    found[bytes(key)[len(PEER_PREFIX) :].decode("utf-8")] = bytes(value)
        return found

    def _compute(self) -> dict[str, Peer]:
        peers = {
            name: Peer(name, endpoints[self._chosen.get(name, 0) % len(endpoints)], "roster", endpoints)
            for name, endpoints in self._plan.endpoints.items()
        }
        peers.update(self._configured)
        for name, value in self._overrides().items():
            if value == REMOVED:
                peers.pop(name, None)
            else:
                peers[name] = Peer(name, value.decode("utf-8"), "admin")
        for name in self._plan.barred:
            peers.pop(name, None)
        return peers

    def peers(self) -> list[Peer]:
        """The peers dialled now, by name."""
        with self._lock:
            return [self._current[name] for name in sorted(self._current)]

    def get(self, name: str) -> Peer | None:
        with self._lock:
            return self._current.get(name)

    def member_at(self, address: str) -> str | None:
        """The member id of the peer at `address`, if one is known."""
        return next((p.name for p in self.peers() if p.address == address), None)

    def barred(self, name: str) -> str | None:
        """Why the roster bars dialling `name` (e.g. "revoked in roster version 3"), or None."""
        with self._lock:
            return self._plan.barred.get(name)

    def follow(self, plan: DialPlan) -> None:
        """Takes the roster's peers and bars from `plan` (a newer roster version, or the first)."""
        with self._lock:
            for name in set(self._chosen) - set(plan.endpoints):
                del self._chosen[name]
            for name, endpoints in plan.endpoints.items():
                if self._plan.endpoints.get(name) != endpoints:
                    self._chosen[name] = 0  # new or moved: its first endpoint first
            self._plan = plan
        self._refresh()

    def next_endpoint(self, name: str) -> Peer | None:
        """Dials the roster peer `name` at its next endpoint (after failures at this one); the peer now, or
        None when there is no other endpoint to try (or the peer is not the roster's)."""
        with self._lock:
            peer = self._current.get(name)
            if peer is None or peer.source != "roster" or len(peer.endpoints) < 2:
                return None
            self._chosen[name] = self._chosen.get(name, 0) + 1
        self._refresh()
        return self.get(name)

    def add(self, name: str, address: str) -> Peer:
        """An operator's peer; for a member the roster lists, it replaces the roster's endpoints (a private
        link, say) until `reset`.

        Raises: InvalidArgument (name or address malformed); AlreadyExists (a configured or added peer has
        that name); FailedPrecondition (the roster holds that member suspended or revoked).
        """
        check_member_id(name, "name")
        try:
            check_listen(address, "address")
        except ConfigError as exc:
            raise InvalidArgument("address", address, "host:port of the peer's peer listener") from exc
        with self._lock:
            existing = self._current.get(name)
            if existing is not None and existing.source != "roster":
                raise AlreadyExists(f"name: peer {name!r} exists; remove it first to change its address")
            if name in self._plan.barred:
                raise FailedPrecondition(f"name: {name} is {self._plan.barred[name]}: no node dials it")
            with self._store.write() as txn:
                self._store.put_state(txn, PEER_PREFIX + name.encode("utf-8"), address.encode("utf-8"))
        self._refresh()
        return Peer(name, address, "admin")

    def remove(self, name: str) -> Peer:
        """Stops dialling `name`, whatever made it a peer, until `add` or `reset`.

        Raises: NotFound (no peer has that name).
        """
        with self._lock:
            peer = self._current.get(name)
            if peer is None:
                raise NotFound(f"name: no peer {name!r} (hashnode admin peers list shows them)")
            with self._store.write() as txn:
                key = PEER_PREFIX + name.encode("utf-8")
                if name in self._configured or name in self._plan.endpoints:
                    self._store.put_state(txn, key, REMOVED)  # a marker that hides the config's or roster's
                else:
                    txn.delete(key, db=self._store.db("state"))
        self._refresh()
        return peer

    def reset(self, name: str) -> Peer | None:
        """Forgets the operator's change to `name` (added or removed): the config and the roster decide again.
        Returns the peer now, or None if neither makes it one.

        Raises: NotFound (the operator changed nothing about `name`).
        """
        with self._lock:
            if name not in self._overrides():
                raise NotFound(f"name: the operator has not added or removed a peer {name!r}")
            with self._store.write() as txn:
                txn.delete(PEER_PREFIX + name.encode("utf-8"), db=self._store.db("state"))
        self._refresh()
        return self.get(name)

    def _refresh(self) -> None:
        """Recomputes the peers and tells the listeners what changed."""
        with self._notifying:
            with self._lock:
                before, self._current = self._current, self._compute()
                after = self._current
            for name in sorted(before.keys() | after.keys()):
                old, new = before.get(name), after.get(name)
                if old is not None and new is not None and (old.address, old.name) == (new.address, new.name):
                    continue
                if new is None and name in self._plan.barred:
                    log.info("not dialling %s any more: %s", name, self._plan.barred[name])
                elif new is not None and old is None:
                    log.info("dialling %s at %s (%s)", name, new.address, new.source)
                for listener in self._listeners:
                    listener(name, new)


class PeerChannels:
    """The `ChannelFactory` (address -> channel) of this node's outgoing peer calls."""

    def __init__(
        self,
        identity: certificates.TlsIdentity | None,
        consortium: Consortium,
        directory: PeerDirectory,
        *,
        insecure: bool = False,
    ) -> None:
        if identity is None and not insecure:
            raise ConfigError("tls: peer channels need this node's TLS identity (or insecure = true)")
        self._identity = identity
        self._consortium = consortium
        self._directory = directory
        self._insecure = insecure

    def credentials(self, address: str, member_id: str | None = None) -> grpc.ChannelCredentials:
        """Credentials pinned to `member_id` (or the member at `address`, or any active member)."""
        assert self._identity is not None
        trust = self._consortium.trust.get()
        member = member_id or self._directory.member_at(address)
        if member is not None and trust.bundle_pem(member):
            return tls.channel_credentials(self._identity, trust, member)
        roots = trust.bundle_pem()
        if not roots:
            raise ConfigError("roster: no active member has a TLS certificate to dial")
        return grpc.ssl_channel_credentials(
            root_certificates=roots,
            private_key=self._identity.private_key_pem,
            certificate_chain=self._identity.certificate_pem,
        )

    def __call__(self, address: str) -> grpc.Channel:
        return self.dial(address)

    def dial(self, address: str, member_id: str | None = None) -> grpc.Channel:
        """A channel to the peer listener at `address`, pinned to `member_id`'s certificates if given."""
        if self._insecure:
            return grpc.insecure_channel(address, options=list(CHANNEL_OPTIONS))
        options = [*CHANNEL_OPTIONS, *tls.CHANNEL_OPTIONS]
        return grpc.secure_channel(address, self.credentials(address, member_id), options=options)


def fetch_rosters(
    channel: grpc.Channel, since_version: int, *, consortium_id: str, timeout_s: float
) -> list[SignedRoster]:
    """One `GetRosters` call: the peer's rosters above `since_version`, oldest first.

    Raises: grpc.RpcError (the call failed); WrongConsortiumError; MalformedRosterError, InvalidArgument.
    """
    stub = membership_pb2_grpc.MembershipStub(channel)
    reply = stub.GetRosters(membership_pb2.GetRostersRequest(since_version=since_version), timeout=timeout_s)
    if reply.consortium_id != consortium_id:
        raise WrongConsortiumError(
            f"peer roster chain: consortium {reply.consortium_id!r}, want {consortium_id!r}"
        )
    return [signed_roster_from_proto(r, f"rosters[{i}]") for i, r in enumerate(reply.rosters)]


def pull_rosters(
    consortium: Consortium, channel: grpc.Channel, *, timeout_s: float, max_calls: int = 100
) -> list[RosterChange]:
    """Fetches and applies, from one peer, every roster version newer than the trusted one.

    Raises: as `fetch_rosters`, and RosterError when a version does not verify (those before it are kept).
    """
    changes: list[RosterChange] = []
    for _ in range(max_calls):
        chain = fetch_rosters(
            channel, consortium.roster.version, consortium_id=consortium.consortium_id, timeout_s=timeout_s
        )
        applied = consortium.submit_chain(chain)
        changes += applied
        if not applied:
            break
    return changes


class RosterExchange:
    """Pulls newer roster versions from every peer, every `interval_s` and when woken (first from the peer
    that woke it, when one did: it has just shown a newer version). After each round it runs `after_round`
    (the peers' endpoint failover)."""

    def __init__(
        self,
        consortium: Consortium,
        directory: PeerDirectory,
        channels: Callable[[str], grpc.Channel],
        *,
        interval_s: float = 10.0,
        timeout_s: float = 10.0,
    ) -> None:
        self._consortium = consortium
        self._directory = directory
        self._channels = channels
        self._interval_s = interval_s
        self._timeout_s = timeout_s
        self._open: dict[str, tuple[str, grpc.Channel]] = {}
        self._stale = False
        self._first: str | None = None
        self.after_round: list[Callable[[], None]] = []
        consortium.on_change(self._roster_changed)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="roster-exchange", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)
        for _, channel in self._open.values():
            channel.close()

    def wake(self, first: str | None = None) -> None:
        """Runs a round now; `first`: the peer to ask first (it said it trusts a newer roster)."""
        if first is not None:
            self._first = first
        self._wake.set()

    def _roster_changed(self, change: RosterChange) -> None:
        self._stale = True  # certificates may have changed: open the channels again, in the exchange thread

    def exchange_once(self) -> int:
        """One round with every peer; returns how many roster versions were newly trusted.

        Each round also brings the TLS trust set up to the time: a rotated certificate's window may have
        opened, or an old one's closed, since the roster arrived.
        """
        if self._consortium.refresh_trust():
            self._stale = True
        if self._stale:
            self._stale = False
            for _, channel in self._open.values():
                channel.close()
            self._open.clear()
        trusted = 0
        first, self._first = self._first, None
        for peer in sorted(self._directory.peers(), key=lambda p: p.name != first):
            channel = self._channel(peer.name, peer.address)
            try:
                trusted += len(pull_rosters(self._consortium, channel, timeout_s=self._timeout_s))
            except grpc.RpcError as exc:
                log.debug("roster exchange with %s: %s", peer.name, exc)
            except HashnodeError as exc:
                log.warning("roster exchange with %s: %s", peer.name, exc.diagnostics())
        return trusted

    def _channel(self, name: str, address: str) -> grpc.Channel:
        # One channel per peer, opened again when its address changed (credentials are fixed per channel).
        opened = self._open.get(name)
        if opened is None or opened[0] != address:
            if opened is not None:
                opened[1].close()
            opened = (address, self._channels(address))
            self._open[name] = opened
        return opened[1]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.exchange_once()
                for hook in self.after_round:
                    hook()
            except Exception:  # the exchange must outlive any one failure, and say so
                log.exception("roster exchange failed")
            self._wake.wait(self._interval_s)
            self._wake.clear()
