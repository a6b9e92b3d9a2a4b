"""`hashnode admin backup DIR --target ADMIN_ADDRESS`: a consistent copy of a serving node's store."""

from __future__ import annotations

import argparse
from pathlib import Path

from node.api.gen.hashnode.v1 import admin_pb2, admin_pb2_grpc
from node.cli.command_base import add_json_option, add_target_options, channel, print_json
from node.cli.exit_codes import ExitCode


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "directory", type=Path, metavar="DIR", help="an empty or new directory on the node's host"
    )
    add_target_options(parser, admin=True)
    add_json_option(parser)


def run(args: argparse.Namespace) -> int:
    request = admin_pb2.BackupRequest(directory=str(args.directory.absolute()))
    with channel(args) as opened:
        reply = admin_pb2_grpc.AdminStub(opened).Backup(request, timeout=max(args.timeout, 600.0))
    if args.json:
        print_json(
            {
                "directory": reply.directory,
                "bytes": reply.bytes,
                "records": reply.records,
                "entries": reply.entries,
                "roster_version": reply.roster_version,
                "taken_at_ms": reply.taken_at_ms,
            }
        )
        return ExitCode.OK
    print(
        f"backed up {reply.entries} entries ({reply.records} active records, roster version "
        f"{reply.roster_version}) into {reply.directory}: {reply.bytes / 1048576:.1f} MiB"
    )
    print(f"restore it, node stopped: hashnode admin restore {reply.directory} --data-dir DATA_DIR")
    return ExitCode.OK
