"""Bootstrapping a new node from one peer: the roster chain from the pinned id, then the whole database.

1. The roster file the operator was given must have the id the stewards confirmed (`--roster-id`), and a
   threshold of its own stewards must have signed it; it becomes the node's pinned root (kept in the store).
2. Every newer roster version is fetched from the peer (`Membership.GetRosters`) and verified step by step.
3. Every member's log is fetched (`Peer.GetFrontier`, `Peer.FetchEntries`) and handed to the replica, which
   checks each entry's signature, chain and author against the roster (docs/protocol.md, "Replication"): a
   peer can withhold entries, never forge them.

`pull_database` reports progress per batch; `HealthSummary` is what the operator sees at the end (and what
`hashnode health` shows of a running node).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import grpc

from node.api.gen.hashnode.v1 import peer_pb2, peer_pb2_grpc
from node.api.peer_wire import PeerFrontier, batch_from_proto, fetch_request, frontier_from_proto
from node.core.entry import EntryKind
from node.core.errors import FailedPrecondition
from node.ledger.replica import PeerPosition, Replica

MAX_ROUNDS = 100_000  # FetchEntries calls; each brings a server-capped amount, so this bounds a sync


@dataclass
class SyncCounts:
    """What a sync has done so far; `total_entries` is what the peer held beyond this node when it started."""

    total_entries: int
    entries: int = 0
    records: int = 0
    rejected: int = 0
    evidence: int = 0


Progress = Callable[[SyncCounts], None]


@dataclass
class SyncReport:
    peer_member: str
    counts: SyncCounts
    lag_entries: int  # entries the peer holds that this node still lacks and may take (0 once complete)
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    refused: tuple[str, ...] = ()  # "3 entries refused from AUTHOR: REASON": the peer holds them, never taken


def _frontier(stub: peer_pb2_grpc.PeerStub, replica: Replica, timeout_s: float) -> PeerFrontier:
    remote = frontier_from_proto(stub.GetFrontier(peer_pb2.FrontierRequest(), timeout=timeout_s))
    if remote.consortium_id != replica.consortium_id:
        raise FailedPrecondition(
            f"peer: consortium {remote.consortium_id!r}, want {replica.consortium_id!r} (wrong address?)"
        )
    return remote


def pull_database(
    replica: Replica, channel: grpc.Channel, *, timeout_s: float, progress: Progress | None = None
) -> SyncReport:
    """Fetches from the peer every entry (and fork evidence) this node lacks, until nothing new arrives.

    Raises: grpc.RpcError (the peer failed), FailedPrecondition (another consortium's node).
    """
    stub = peer_pb2_grpc.PeerStub(channel)
    remote = _frontier(stub, replica, timeout_s)
    counts = SyncCounts(total_entries=replica.behind(remote.frontier).lag)
    for _ in range(MAX_ROUNDS):
        ranges = replica.missing_ranges(remote.frontier)
        evidence_ids = replica.missing_evidence(remote.evidence_ids)
        if not (ranges or evidence_ids) or not _fetch(
            stub, replica, remote, ranges, evidence_ids, counts, progress, timeout_s
        ):
            break
    rejected = {reason.value: count for reason, count in replica.rejected.items()}
    behind = replica.behind(remote.frontier)
    return SyncReport(remote.member_id, counts, behind.lag, rejected, tuple(behind.refused_lines()))


def _fetch(
    stub: peer_pb2_grpc.PeerStub,
    replica: Replica,
    remote: PeerFrontier,
    ranges: list,  # type: ignore[type-arg]
    evidence_ids: list[bytes],
    counts: SyncCounts,
    progress: Progress | None,
    timeout_s: float,
) -> bool:
    """One FetchEntries call; True when it brought anything new."""
    position = PeerPosition(remote.member_id or "bootstrap", remote.frontier, replica.ledger.clock())
    progressed = False
    for message in stub.FetchEntries(fetch_request(ranges, evidence_ids), timeout=max(timeout_s, 300.0)):
        batch = batch_from_proto(message)
        replica.count_undecodable(
            f"bootstrap peer {remote.member_id}", [(u.reason.value, u.message) for u in batch.undecodable]
        )
        outcome = replica.receive(batch.entries, position=position)
        if batch.evidence:
            found = replica.receive_evidence(batch.evidence)
            counts.evidence += len(found.new_evidence)
            progressed = progressed or bool(found.new_evidence)
        counts.entries += len(outcome.applied)
        counts.records += sum(len(e.items) for e in outcome.applied if e.kind == EntryKind.CONTRIBUTION)
        counts.rejected += len(outcome.rejected)
        progressed = progressed or bool(outcome.applied)
        if progress is not None:
            progress(counts)
    return progressed


@dataclass(frozen=True)
class HealthSummary:
    """A node at a glance: what the operator checks after a bootstrap or at any time."""

    member_id: str
    consortium_id: str
    roster_version: int
    roster_expired: bool
    peers_total: int
    peers_reachable: int
    records: int
    entries: int
    labels: dict[str, int]
    lag_entries: int  # entries it may still take; those it refuses are in `refused`
    authoring: str  # "yes", or why not
    notes: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()  # "3 entries refused from AUTHOR: REASON", per author

    def lines(self) -> list[str]:
        expired = " (EXPIRED: ask the stewards for a newer one)" if self.roster_expired else ""
        labels = ", ".join(f"{label} {count}" for label, count in sorted(self.labels.items())) or "none"
        return [
            f"node of {self.member_id} in {self.consortium_id}",
            f"  roster     version {self.roster_version}{expired}",
            f"  peers      {self.peers_reachable} of {self.peers_total} reachable",
            f"  records    {self.records} active, in {self.entries} signed entries (each signature verified)",
            f"  labels     {labels}",
            f"  lag        {self.lag_entries} entries behind its peers",
            *(f"  refused    {line}" for line in self.refused),
            f"  authoring  {self.authoring}",
            *(f"  note       {note}" for note in self.notes),
        ]

    @property
    def healthy(self) -> bool:
        return not self.roster_expired and (self.peers_total == 0 or self.peers_reachable > 0)
