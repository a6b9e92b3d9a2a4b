"""The Admin service: operator RPCs (protos/hashnode/v1/admin.proto)."""

from __future__ import annotations

import grpc

from node.api import convert
from node.api.dueprocess_admin import DueProcessAdmin
from node.api.gen.hashnode.v1 import admin_pb2, admin_pb2_grpc
from node.ledger import Ledger


class AdminServicer(DueProcessAdmin, admin_pb2_grpc.AdminServicer):  # type: ignore[misc]
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def GetStats(self, request: admin_pb2.StatsRequest, context: grpc.ServicerContext) -> admin_pb2.Stats:
        settings = self.ledger.settings
        return convert.stats_to_proto(
            self.ledger.stats(), member_id=settings.member_id, consortium_id=settings.consortium_id
        )
