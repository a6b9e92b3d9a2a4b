"""The Membership service: the roster chain this node trusts, for its peers (membership.proto).

Served on the peer listener, to active members only. Peers verify every version themselves (k of n stewards of
the version before and of its own), so a node passes rosters on without being trusted for them.
"""

from __future__ import annotations

import grpc

from node.api.gen.hashnode.v1 import membership_pb2, membership_pb2_grpc
from node.api.roster_wire import signed_roster_to_proto
from node.ledger.consortium import Consortium

MAX_CHAIN_BYTES = 8 << 20  # per reply, well below the message limit; the caller asks again for the rest


class MembershipServicer(membership_pb2_grpc.MembershipServicer):  # type: ignore[misc]
    def __init__(self, consortium: Consortium) -> None:
        self._consortium = consortium

    def GetRosters(
        self, request: membership_pb2.GetRostersRequest, context: grpc.ServicerContext
    ) -> membership_pb2.RosterChain:
        chain: list[membership_pb2.SignedRoster] = []
        size = 0
        for signed in self._consortium.since(request.since_version):
            size += len(signed.roster_bytes) + 96 * len(signed.signatures)
            if chain and size > MAX_CHAIN_BYTES:
                break
            chain.append(signed_roster_to_proto(signed))
        return membership_pb2.RosterChain(
            rosters=chain,
            consortium_id=self._consortium.consortium_id,
            newest_version=self._consortium.roster.version,
        )
