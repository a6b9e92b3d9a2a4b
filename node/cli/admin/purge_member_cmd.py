"""`hashnode admin purge-member MEMBER --reason TEXT --target ADMIN`: withhold a revoked member's records."""

from __future__ import annotations

import argparse

from node.api.gen.hashnode.v1 import admin_pb2, admin_pb2_grpc
from node.cli.command_base import add_target_options, channel
from node.cli.exit_codes import ExitCode


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("member", metavar="MEMBER", help="the revoked member's id")
    parser.add_argument(
        "--reason", required=True, metavar="TEXT", help="the steward decision, for the record"
    )
    add_target_options(parser, admin=True)


def run(args: argparse.Namespace) -> int:
    request = admin_pb2.PurgeMemberRequest(member_id=args.member, reason=args.reason)
    with channel(args) as opened:
        reply = admin_pb2_grpc.AdminStub(opened).PurgeMember(request, timeout=args.timeout)
    print(f"suspended {reply.records_suspended} record(s) of {args.member} on this node; records of it that")
    print("arrive later are suspended too. Nothing signed changes: other nodes decide for themselves.")
    return ExitCode.OK
