"""Whom this node talks to, and how: the peer directory, pinned peer channels, and the roster exchange.

* `PeerDirectory`: the peers of the config file (`[[peers]]`) plus those the operator added with
  `Admin.AddPeer`, minus those removed with `Admin.RemovePeer`; the changes are kept in the store's `state`
  table, so they survive a restart without editing the config.
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
from node.core.errors import AlreadyExists, ConfigError, HashnodeError, InvalidArgument, NotFound
from node.ledger.consortium import Consortium, RosterChange
from node.membership import certificates
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
    address: str  # host:port of its peer listener
    source: str  # "config" or "admin"


PeerListener = Callable[[str, Peer | None], None]  # (name, the peer now or None when removed)


class PeerDirectory:
    """The configured peers with the operator's additions and removals. Thread-safe."""

    def __init__(self, store: Store, configured: Sequence[PeerConfig]) -> None:
        self._store = store
        self._configured = {p.name: Peer(p.name, p.address, "config") for p in configured}
        self._lock = threading.Lock()
        self._listeners: list[PeerListener] = []

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

    def peers(self) -> list[Peer]:
        """The peers, by name."""
        peers = dict(self._configured)
        for name, value in self._overrides().items():
            if value == REMOVED:
                peers.pop(name, None)
            else:
                peers[name] = Peer(name, value.decode("utf-8"), "admin")
        return [peers[name] for name in sorted(peers)]

    def get(self, name: str) -> Peer | None:
        return next((p for p in self.peers() if p.name == name), None)

    def member_at(self, address: str) -> str | None:
        """The member id of the peer at `address`, if one is known."""
        return next((p.name for p in self.peers() if p.address == address), None)

    def add(self, name: str, address: str) -> Peer:
        """Raises: InvalidArgument (name or address malformed); AlreadyExists (a peer has that name)."""
        check_member_id(name)
        try:
            check_listen(address, "address")
        except ConfigError as exc:
            raise InvalidArgument("address", address, "host:port of the peer's peer listener") from exc
        with self._lock:
            if self.get(name) is not None:
                raise AlreadyExists(f"name: peer {name!r} exists; remove it first to change its address")
            with self._store.write() as txn:
                self._store.put_state(txn, PEER_PREFIX + name.encode("utf-8"), address.encode("utf-8"))
        peer = Peer(name, address, "admin")
        self._notify(name, peer)
        return peer

    def remove(self, name: str) -> Peer:
        """Raises: NotFound (no peer has that name)."""
        with self._lock:
            peer = self.get(name)
            if peer is None:
                raise NotFound(f"name: no peer {name!r} (hashnode admin peers list shows them)")
            with self._store.write() as txn:
                key = PEER_PREFIX + name.encode("utf-8")
                if name in self._configured:
                    self._store.put_state(txn, key, REMOVED)
                else:
                    txn.delete(key, db=self._store.db("state"))
        self._notify(name, None)
        return peer

    def _notify(self, name: str, peer: Peer | None) -> None:
        for listener in self._listeners:
            listener(name, peer)


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
    """Pulls newer roster versions from every peer, every `interval_s` and when woken."""

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

    def wake(self) -> None:
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
        for peer in self._directory.peers():
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
            except Exception:  # the exchange must outlive any one failure, and say so
                log.exception("roster exchange failed")
            self._wake.wait(self._interval_s)
            self._wake.clear()
