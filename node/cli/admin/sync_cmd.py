"""`hashnode admin sync --target ADMIN_ADDRESS`: replicate and exchange rosters with every peer now."""

from __future__ import annotations

import argparse

from node.api.gen.hashnode.v1 import admin_pb2, admin_pb2_grpc
from node.cli.command_base import add_target_options, channel
from node.cli.exit_codes import ExitCode


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_options(parser, admin=True)


def run(args: argparse.Namespace) -> int:
    with channel(args) as opened:
        reply = admin_pb2_grpc.AdminStub(opened).Sync(admin_pb2.SyncRequest(), timeout=args.timeout)
    print(f"sync started with {reply.peers} peer(s); hashnode admin peers shows how far it got")
    return ExitCode.OK
