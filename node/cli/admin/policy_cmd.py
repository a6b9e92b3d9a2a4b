"""`hashnode admin policy --target ADMIN_ADDRESS`: the matching and membership policy a node applies."""

from __future__ import annotations

import argparse

from node.api.gen.hashnode.v1 import admin_pb2, admin_pb2_grpc
from node.cli.command_base import add_target_options, channel
from node.cli.exit_codes import ExitCode


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_options(parser, admin=True)


def run(args: argparse.Namespace) -> int:
    with channel(args) as opened:
        reply = admin_pb2_grpc.AdminStub(opened).GetPolicy(admin_pb2.GetPolicyRequest(), timeout=args.timeout)
    print(reply.json)
    return ExitCode.OK
