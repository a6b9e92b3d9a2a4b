"""`hashnode health --target ADMIN_ADDRESS`: a running node at a glance (roster, peers, records, lag)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import grpc

from node.api.gen.hashnode.v1 import admin_pb2, admin_pb2_grpc
from node.cli.command_base import add_json_option, add_target_options, channel, print_json
from node.cli.exit_codes import ExitCode
from node.membership import authorship
from node.network.bootstrap import HealthSummary

REACHABLE = ("synced", "live")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_options(parser, admin=True)
    add_json_option(parser)


def authoring(member_id: str, roster: admin_pb2.RosterInfo, blocked: str) -> str:
    """The `authoring` line: no for a member whose roles author nothing, else why it waits, else yes."""
    roles = next((list(m.roles) for m in roster.members if m.member_id == member_id), None)
    never = authorship.authors_nothing(roles) if roles is not None else None
    return f"no ({never})" if never else (blocked or "yes")


def fetch(stub: admin_pb2_grpc.AdminStub, timeout: float) -> HealthSummary:
    stats = stub.GetStats(admin_pb2.StatsRequest(), timeout=timeout)
    roster = stub.GetRoster(admin_pb2.GetRosterRequest(), timeout=timeout)
    peers = stub.ListPeers(admin_pb2.ListPeersRequest(), timeout=timeout).peers
    state = stub.GetReplicationState(admin_pb2.ReplicationStateRequest(), timeout=timeout)
    notes = [
        f"{p.name}: {p.state}{' (' + p.last_error + ')' if p.last_error else ''}"
        for p in peers
        if p.state not in REACHABLE
    ]
    notes += [f"{c.count} entries refused ({c.key})" for c in state.rejected]
    if state.convicted_authors:
        notes.append(f"fork evidence against {', '.join(state.convicted_authors)} (hashnode admin evidence)")
    return HealthSummary(
        member_id=stats.member_id,
        consortium_id=stats.consortium_id,
        roster_version=roster.version,
        roster_expired=roster.expired,
        peers_total=len(peers),
        peers_reachable=sum(1 for p in peers if p.state in REACHABLE),
        records=stats.records,
        entries=stats.entries,
        labels={c.key: c.count for c in stats.records_by_label},
        lag_entries=sum(p.lag_entries for p in peers),
        authoring=authoring(stats.member_id, roster, state.authoring_blocked_reason),
        notes=tuple(notes),
        refused=refused_lines(peers),
    )


def refused_lines(peers: Sequence[admin_pb2.PeerInfo]) -> tuple[str, ...]:
    """Per author refused, the most entries any peer holds of it (each peer holds the same log)."""
    most: dict[tuple[str, str], int] = {}
    for p in peers:
        for r in p.refused:
            most[r.author, r.reason] = max(most.get((r.author, r.reason), 0), r.entries)
    return tuple(f"{n} entries refused from {author}: {reason}" for (author, reason), n in sorted(most.items()))


def run(args: argparse.Namespace) -> int:
    with channel(args) as opened:
        try:
            health = fetch(admin_pb2_grpc.AdminStub(opened), args.timeout)
        except grpc.RpcError as exc:
            if isinstance(exc, grpc.Call) and exc.code() == grpc.StatusCode.UNIMPLEMENTED:
                print(
                    "this node does not report replication (no replicator): hashnode stats shows its records"
                )
            raise
    if args.json:
        print_json({**health.__dict__, "notes": list(health.notes), "healthy": health.healthy})
    else:
        for line in health.lines():
            print(line)
    return ExitCode.OK if health.healthy else ExitCode.FAILURE
