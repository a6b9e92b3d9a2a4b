"""The Admin service: operator RPCs (protos/hashnode/v1/admin.proto), on the admin listener only."""

from __future__ import annotations

import json
from pathlib import Path

import grpc

from node.api import MAX_MESSAGE_BYTES, convert
from node.api.gen.hashnode.v1 import admin_pb2, admin_pb2_grpc
from node.api.roster_wire import roster_info, signed_roster_from_proto
from node.core.errors import InvalidArgument, StorageError
from node.ledger.ledger import Ledger
from node.ledger.revocation import purge_member
from node.ledger.statements import Statements
from node.membership.members import check_member_id
from node.runtime.runtime import NodeRuntime
from node.server.dueprocess_admin import DueProcessAdmin
from node.server.replication_admin import ReplicationAdmin
from node.storage.restore import summary as backup_summary


class AdminServicer(DueProcessAdmin, ReplicationAdmin, admin_pb2_grpc.AdminServicer):  # type: ignore[misc]
    def __init__(self, runtime: NodeRuntime) -> None:
        self.runtime = runtime

    @property
    def ledger(self) -> Ledger:
        return self.runtime.ledger

    @property
    def statements(self) -> Statements:
        assert self.runtime.statements is not None  # set when the node opens
        return self.runtime.statements

    def GetStats(self, request: admin_pb2.StatsRequest, context: grpc.ServicerContext) -> admin_pb2.Stats:
        settings = self.ledger.settings
        return convert.stats_to_proto(
            self.ledger.stats(), member_id=settings.member_id, consortium_id=settings.consortium_id
        )

    # --- membership -----------------------------------------------------------------------------------------

    def GetRoster(
        self, request: admin_pb2.GetRosterRequest, context: grpc.ServicerContext
    ) -> admin_pb2.RosterInfo:
        consortium = self.runtime.consortium
        return roster_info(consortium.signed, expired=consortium.expired())

    def SubmitRoster(
        self, request: admin_pb2.SubmitRosterRequest, context: grpc.ServicerContext
    ) -> admin_pb2.RosterInfo:
        consortium = self.runtime.consortium
        change = consortium.submit(signed_roster_from_proto(request.roster))
        return roster_info(consortium.signed, expired=consortium.expired(), changed=change is not None)

    def PurgeMember(
        self, request: admin_pb2.PurgeMemberRequest, context: grpc.ServicerContext
    ) -> admin_pb2.PurgeMemberResponse:
        if not request.member_id:
            raise InvalidArgument("member_id", '""', "the id of a revoked member")
        check_member_id(request.member_id, "member_id")
        moved = purge_member(self.ledger, self.runtime.consortium, request.member_id, request.reason)
        self.runtime.purge_guard.add(request.member_id)
        return admin_pb2.PurgeMemberResponse(records_suspended=moved)

    # --- peers ----------------------------------------------------------------------------------------------

    def AddPeer(
        self, request: admin_pb2.AddPeerRequest, context: grpc.ServicerContext
    ) -> admin_pb2.AddPeerResponse:
        self.runtime.peers.add(request.name, request.address)
        return admin_pb2.AddPeerResponse()

    def RemovePeer(
        self, request: admin_pb2.RemovePeerRequest, context: grpc.ServicerContext
    ) -> admin_pb2.RemovePeerResponse:
        if request.reset:
            self.runtime.peers.reset(request.name)
        else:
            self.runtime.peers.remove(request.name)
        return admin_pb2.RemovePeerResponse()

    def Sync(self, request: admin_pb2.SyncRequest, context: grpc.ServicerContext) -> admin_pb2.SyncResponse:
        return admin_pb2.SyncResponse(peers=self.runtime.sync_now())

    # --- operations -----------------------------------------------------------------------------------------

    def Backup(
        self, request: admin_pb2.BackupRequest, context: grpc.ServicerContext
    ) -> admin_pb2.BackupResponse:
        directory = Path(request.directory)
        if not request.directory or not directory.is_absolute():
            raise InvalidArgument(
                "directory", request.directory or '""', "an absolute path on the node's host"
            )
        if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
            raise InvalidArgument("directory", str(directory), "an empty or new directory")
        try:
            self.ledger.store.copy(directory)
        except OSError as exc:
            raise StorageError(f"backup to {directory}: {exc.strerror or exc}") from None
        held = backup_summary(directory)  # read from the copy: what a restore of it will hold
        size = sum(f.stat().st_size for f in directory.iterdir() if f.is_file())
        return admin_pb2.BackupResponse(
            directory=str(directory),
            bytes=size,
            records=held.records,
            entries=held.entries,
            roster_version=self.runtime.consortium.roster.version,
            taken_at_ms=self.ledger.clock(),
        )

    def GetPolicy(
        self, request: admin_pb2.GetPolicyRequest, context: grpc.ServicerContext
    ) -> admin_pb2.Policy:
        return admin_pb2.Policy(json=json.dumps(self._policy(), indent=2, sort_keys=True))

    def _policy(self) -> dict[str, object]:
        settings, config = self.ledger.settings, self.runtime.config
        roster = self.runtime.consortium.roster
        return {
            "matching": {
                "pdq_threshold": settings.pdq_threshold,
                "min_pdq_quality": settings.min_pdq_quality,
                "max_batch": settings.max_batch,
            },
            "membership": {
                "consortium_id": roster.consortium_id,
                "roster_version": roster.version,
                "steward_threshold": roster.threshold,
                "due_process": self.ledger.membership.policy.to_mapping(),
                "stewards": [s.name for s in roster.stewards],
            },
            "limits": {
                "max_message_bytes": MAX_MESSAGE_BYTES,
                "peer_rate_per_s": config.peer_limits.rate,
                "peer_burst": config.peer_limits.burst,
                "peer_call_timeout_s": config.peer_limits.call_timeout_s,
            },
            "local": {
                "policy": settings.policy.to_mapping(),
                "match_log_retention_days": config.match_log_retention_days,
                "match_log_durability": config.match_log_durability,
                "decision_window_ms": self.ledger.membership.decision_window_ms,
                "statements": {
                    "language": config.statements.language,
                    "languages": list(config.statements.languages),
                    "decision_ground": config.statements.decision_ground,
                    "retention_days": config.statements.retention_days,
                    "disclose_hash": config.statements.disclose_hash,
                },
            },
        }
