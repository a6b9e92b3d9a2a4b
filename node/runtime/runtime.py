"""A node's parts, opened from its config and wired together; no gRPC servers (node.server.server serves them).

Opening a node: the ledger (store and PDQ index), then the consortium (the roster chain from the configured,
pinned root, replayed from the store), then the membership the ledger verifies against and the signing key,
checked against that membership. Then the wiring that keeps them in step when the roster changes: the TLS
trust set (inside `Consortium`), the ledger's membership, the authoring gate of the node's own member, the
records of newly revoked members; and the peer directory, the pinned peer channels and the roster exchange.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from node.core.errors import ConfigError, FailedPrecondition
from node.core.keys import SigningKey
from node.ledger.consortium import Consortium, RosterChange
from node.ledger.ledger import Ledger, now_ms
from node.ledger.replica import Replica
from node.ledger.revocation import OwnStatusGate, PurgeGuard, on_roster_change
from node.ledger.statements import Statements
from node.membership.certificates import TlsIdentity
from node.membership.dialling import DialPlan, dial_plan
from node.membership.roster import Roster
from node.network.peers import PeerChannels, PeerDirectory, RosterExchange
from node.network.replicator import PeerAddress, PeerState, ReplicationSettings, Replicator, RosterVersionSeen
from node.runtime.config import NodeConfig
from node.storage.matchlog import MatchLogKeeper

log = logging.getLogger(__name__)


@dataclass
class NodeRuntime:
    """Everything a running node holds. `close` releases it."""

    config: NodeConfig
    ledger: Ledger
    consortium: Consortium
    identity: TlsIdentity | None
    peers: PeerDirectory
    channels: PeerChannels
    roster_exchange: RosterExchange
    purge_guard: PurgeGuard
    # Run by `Admin.Sync` and after each roster change: the roster exchange, the replicator's passes.
    sync_hooks: list[Callable[[], None]] = field(default_factory=list)
    started: bool = False
    match_log: MatchLogKeeper | None = None  # flushes and prunes the local match log (due process)
    replica: Replica | None = None  # every member's log in the store, with the receipt rules
    replicator: Replicator | None = None  # pulls from and subscribes to every peer
    statements: Statements | None = None  # the statements of reasons this node issues for its platform
    stopping: threading.Event = field(default_factory=threading.Event)  # ends the Peer service's live streams
    roster_hint: _RosterHint | None = None  # the trusted roster version, as told to peers and compared with theirs

    @property
    def roster_version(self) -> int:
        """The newest roster version this node trusts (read without the consortium's lock)."""
        return self.roster_hint.version if self.roster_hint is not None else self.consortium.roster.version

    @property
    def member_id(self) -> str:
        return self.config.member_id

    def start(self) -> None:
        """Starts the background work (replication, the roster exchange, the match log). Idempotent."""
        if not self.started:
            if self.replicator is not None:
                self.replicator.start()
            self.roster_exchange.start()
            if self.match_log is not None:
                self.match_log.start()
            self.started = True

    def roster_changed(self, change: RosterChange) -> None:
        if self.replicator is not None:
            self.replicator.reconnect()  # certificates may have changed: channels are pinned when opened
        self.sync_now()  # new members' entries, and new versions for the peers that ask

    def peer_called(self, member_id: str) -> None:
        """A member's node has just called this one (it is up): a link backing off from it tries again now."""
        if self.replicator is not None:
            self.replicator.peer_called(member_id)

    def sync_now(self) -> int:
        """Asks every background exchange to run now; returns the number of peers."""
        for hook in self.sync_hooks:
            hook()
        return len(self.peers.peers())

    def close(self) -> None:
        self.stopping.set()
        if self.started:
            if self.replicator is not None:
                self.replicator.stop()
            self.roster_exchange.stop()
            if self.match_log is not None:
                self.match_log.stop()
        self.ledger.close()


def open_node(config: NodeConfig, *, clock: Callable[[], int] = now_ms) -> NodeRuntime:
    """Opens the node's ledger and consortium as its config describes, and wires them.

    Raises:
        ConfigError: a file the config names is missing or invalid; the node's member or key is not in the
            roster.
        RosterError: the root roster is not the pinned one, or too few of its stewards signed it.
        StorageError: the store belongs to another consortium or roster chain.
    """
    root = config.load_root_roster()
    identity = config.load_tls_identity()
    signer = config.load_signing_key()
    ledger = Ledger.open(
        config.data_dir,
        settings=config.ledger_settings(root.roster.consortium_id),
        membership=root.roster.membership(),
        signer=None,  # checked below, against the newest trusted roster rather than the root
        taxonomy=config.load_taxonomy(),
        clock=clock,
        reevaluate=False,  # the newest roster's membership, set below, decides
    )
    try:
        consortium = Consortium.open(ledger.store, root, pinned_id=config.roster_id, clock=clock)
        ledger.membership = consortium.membership()
        _check_member(config, consortium, signer, identity)
        ledger.signer = None if config.follower else signer
        ledger.attester = signer
        if config.follower:
            ledger.block_authoring("follower", follower_reason(config.member_id))
        return _wire(config, ledger, consortium, identity)
    except Exception:
        ledger.close()
        raise


def follower_reason(member_id: str) -> str:
    return (
        f"this node is a follower of {member_id}: it replicates the member's log and matches, but never "
        f"authors; submit to {member_id}'s primary node"
    )


def _check_member(
    config: NodeConfig, consortium: Consortium, signer: SigningKey | None, identity: TlsIdentity | None
) -> None:
    roster = consortium.roster
    member = roster.member(config.member_id)
    if member is None:
        raise ConfigError(
            f"{config.path}: node.member_id: got {config.member_id!r}, want a member of consortium "
            f"{roster.consortium_id!r} in roster version {roster.version} ({config.roster}); if the stewards "
            "admitted you in a newer version, put that roster file there and pin its id (node.roster_id)"
        )
    if signer is not None and member.key(signer.public.key_id) is None:
        raise FailedPrecondition(
            f"{config.path}: node.signing_key: key {signer.public.key_id.hex()[:16]}… is not a log key of "
            f"{config.member_id!r} in roster version {roster.version}"
        )
    if identity is not None and all(c.fingerprint != identity.fingerprint for c in member.tls):
        log.warning(
            "tls.certificate %s… is not listed for %s in roster version %d: peers will refuse this node",
            identity.fingerprint.hex()[:16],
            config.member_id,
            roster.version,
        )


def _wire(
    config: NodeConfig, ledger: Ledger, consortium: Consortium, identity: TlsIdentity | None
) -> NodeRuntime:
    gate = OwnStatusGate(ledger)
    gate.update(consortium)
    replica = Replica(ledger)
    # First the replica (it switches the ledger's membership and classifies its pending entries again), then
    # what follows from the new roster for records and authoring.
    consortium.on_change(_follow_membership(replica))
    consortium.on_change(on_roster_change(ledger, gate, consortium))
    guard = PurgeGuard(ledger)
    ledger.on_commit(guard)
    peers = PeerDirectory(ledger.store, config.peers)
    peers.follow(_plan(config, consortium.roster))  # before the replicator: its authoring gate counts them
    consortium.on_change(lambda change: peers.follow(_plan(config, change.current)))
    channels = PeerChannels(identity, consortium, peers, insecure=config.insecure)
    exchange = RosterExchange(consortium, peers, channels, timeout_s=config.peer_limits.call_timeout_s)
    runtime = NodeRuntime(config, ledger, consortium, identity, peers, channels, exchange, guard)
    runtime.match_log = MatchLogKeeper(
        ledger.flush_match_log, ledger.prune_match_log, flush_s=config.match_log_flush_ms / 1000
    )
    runtime.replica = replica
    runtime.statements = Statements(ledger, config.statements, config.statement_packs)
    runtime.roster_hint = _RosterHint(consortium, exchange)
    runtime.replicator = _replicator(config, replica, peers, channels, runtime.roster_hint.seen)
    exchange.after_round.append(_fail_over(peers, runtime.replicator))
    runtime.sync_hooks += [exchange.wake, runtime.replicator.sync_now]
    consortium.on_trust_change(runtime.replicator.reconnect)
    consortium.on_change(runtime.roster_changed)
    return runtime


def _plan(config: NodeConfig, roster: Roster) -> DialPlan:
    return dial_plan(
        roster, config.member_id, mesh=config.dials_roster, require_certificate=not config.insecure
    )


class _RosterHint:
    """What a peer's roster version tells: a newer one than ours is fetched now, from that peer first.

    Keeps the trusted version itself (set by the roster listener) rather than asking the consortium: replication
    threads report versions while a roster change, holding the consortium's lock, may be stopping them.
    """

    def __init__(self, consortium: Consortium, exchange: RosterExchange) -> None:
        self.version = consortium.roster.version
        self._exchange = exchange
        consortium.on_change(self._changed)

    def _changed(self, change: RosterChange) -> None:
        self.version = change.current.version

    def seen(self, peer: str, version: int) -> None:
        if version > self.version:
            self._exchange.wake(first=peer)


def _fail_over(peers: PeerDirectory, replicator: Replicator) -> Callable[[], None]:
    """After each roster exchange round: a roster peer that is failing is dialled at its next endpoint."""

    def fail_over() -> None:
        for status in replicator.statuses():
            if status.state == PeerState.BACKOFF:
                moved = peers.next_endpoint(status.name)
                if moved is not None:
                    log.info("peer %s: %s failing, trying %s", status.name, status.address, moved.address)

    return fail_over


def _replicator(
    config: NodeConfig,
    replica: Replica,
    peers: PeerDirectory,
    channels: PeerChannels,
    on_roster_version: RosterVersionSeen,
) -> Replicator:
    """The replicator over the directory's peers, following its changes, dialling through pinned channels."""
    settings = ReplicationSettings(
        rpc_timeout_s=config.peer_limits.call_timeout_s,
        anti_entropy_ms=config.anti_entropy_ms,
        authoring_without_peers_after_s=config.authoring_without_peers_after_s,
    )
    addresses = [PeerAddress(p.name, p.address) for p in peers.peers()]
    replicator = Replicator(
        replica,
        addresses,
        channel_factory=channels,
        settings=settings,
        on_roster_version=on_roster_version,
    )
    peers.on_change(replicator.set_peer)
    return replicator


def _follow_membership(replica: Replica) -> Callable[[RosterChange], None]:
    def follow(change: RosterChange) -> None:
        replica.update_membership(change.current.membership())

    return follow
