"""`hashnode admin publish SIGNED --target ADMIN_ADDRESS`: hand a signed roster version to a node."""

from __future__ import annotations

import argparse
from pathlib import Path

from node.api.gen.hashnode.v1 import admin_pb2, admin_pb2_grpc
from node.api.roster_wire import signed_roster_to_proto
from node.cli.admin import roster_files
from node.cli.command_base import add_target_options, channel
from node.cli.exit_codes import ExitCode


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, metavar="SIGNED", help="the signed roster file")
    add_target_options(parser, admin=True)


def run(args: argparse.Namespace) -> int:
    signed = roster_files.load(args.file)
    request = admin_pb2.SubmitRosterRequest(roster=signed_roster_to_proto(signed))
    with channel(args) as opened:
        info = admin_pb2_grpc.AdminStub(opened).SubmitRoster(request, timeout=args.timeout)
    verb = "now trusts" if info.changed else "already trusted"
    print(f"the node {verb} roster version {info.version} of {info.consortium_id} (id {info.roster_id})")
    if info.changed:
        print("it applies it now (connections, membership) and its peers fetch it from it within seconds")
    if info.expired:
        print(
            "warning: this roster has expired; nodes keep using it but the stewards must publish a newer one"
        )
    return ExitCode.OK
