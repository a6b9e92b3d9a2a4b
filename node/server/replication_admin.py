"""The replication RPCs of the Admin service (protos/hashnode/v1/admin.proto): peers, fork evidence, state.

A mixin of `AdminServicer`: it reads the runtime's replica and replicator, which report; it decides nothing.
"""

from __future__ import annotations

from typing import Protocol

import grpc

from node.api.gen.hashnode.v1 import admin_pb2, peer_pb2
from node.api.peer_wire import evidence_to_proto
from node.core.errors import FailedPrecondition
from node.ledger.replica import RefusedLog, Replica
from node.network.replicator import PeerStatus
from node.runtime.runtime import NodeRuntime


class _HasRuntime(Protocol):
    @property
    def runtime(self) -> NodeRuntime: ...


def _replica(runtime: NodeRuntime) -> Replica:
    if runtime.replica is None:
        raise FailedPrecondition("this node runs without replication")
    return runtime.replica


def peer_info(status: PeerStatus, source: str = "") -> admin_pb2.PeerInfo:
    return admin_pb2.PeerInfo(
        source=source,
        name=status.name,
        address=status.address,
        state=status.state.value,
        member_id=status.member_id,
        last_sync_ms=status.last_sync_ms,
        last_error=status.last_error,
        lag_entries=status.lag_entries,
        applied=status.applied,
        rejected=status.rejected,
        refused=[_refused_log(log, count) for log, count in status.refused],
    )


def _refused_log(log: RefusedLog, entries: int) -> admin_pb2.RefusedLog:
    return admin_pb2.RefusedLog(
        author=log.author, from_seq=log.from_seq, reason=log.reason.value, detail=log.detail, entries=entries
    )


class ReplicationAdmin:
    def ListPeers(
        self: _HasRuntime, request: admin_pb2.ListPeersRequest, context: grpc.ServicerContext
    ) -> admin_pb2.ListPeersResponse:
        replicator = self.runtime.replicator
        linked = {s.name: s for s in (replicator.statuses() if replicator is not None else [])}
        # The directory is the truth on who the peers are; a peer without a link yet is reported as such.
        peers = [
            peer_info(linked[p.name], p.source)
            if p.name in linked and linked[p.name].address == p.address
            else admin_pb2.PeerInfo(name=p.name, address=p.address, state="not started", source=p.source)
            for p in self.runtime.peers.peers()
        ]
        return admin_pb2.ListPeersResponse(peers=peers)

    def ListEvidence(
        self: _HasRuntime, request: admin_pb2.ListEvidenceRequest, context: grpc.ServicerContext
    ) -> admin_pb2.ListEvidenceResponse:
        found = _replica(self.runtime).evidence()
        return admin_pb2.ListEvidenceResponse(
            evidence=[
                admin_pb2.EvidenceInfo(
                    evidence_id=e.evidence_id,
                    author=e.author,
                    seq=e.seq,
                    kind=e.kind.value,
                    evidence=evidence_to_proto(e),
                )
                for e in found
            ]
        )

    def GetReplicationState(
        self: _HasRuntime, request: admin_pb2.ReplicationStateRequest, context: grpc.ServicerContext
    ) -> admin_pb2.ReplicationState:
        replica = _replica(self.runtime)
        frontier = replica.frontier()
        convicted = sorted(h.author for h in frontier if replica.is_convicted(h.author))
        return admin_pb2.ReplicationState(
            state_digest=replica.state_digest(),
            heads=[peer_pb2.AuthorHead(author=h.author, seq=h.seq, entry_id=h.entry_id) for h in frontier],
            convicted_authors=convicted,
            evidence=len(replica.evidence_ids()),
            gap_buffered=replica.buffered_count(),
            pending=replica.pending_count(),
            rejected=[
                admin_pb2.Count(key=r.value, count=n)
                for r, n in sorted(replica.rejected.items(), key=lambda item: item[0].value)
            ],
            authoring_blocked_reason=self.runtime.ledger.authoring_blocked_reason or "",
            undecodable=[admin_pb2.Count(key=r, count=n) for r, n in sorted(replica.undecodable.items())],
            refused_logs=[
                _refused_log(r, r.counted_through - r.from_seq + 1) for r in replica.refusals() if r.active
            ],
        )
