"""`hashnode admin publish-ruling FILE`: hand a stewards' signed ruling to a node, which checks the signatures
against the consortium's stewards and quorum and the decision window, then signs it into its own log as a
decision item (`decided_as = stewards`); it replicates and takes effect on every node like a contributor's
decision. Publishing the same ruling again returns the entry that carries it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from node.api.gen.hashnode.v1 import admin_pb2, admin_pb2_grpc
from node.cli.admin import ruling_files
from node.cli.command_base import add_json_option, add_target_options, channel, print_json
from node.cli.display import status_name
from node.cli.exit_codes import ExitCode


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, metavar="FILE", help="the signed ruling file")
    add_target_options(parser, admin=True)
    add_json_option(parser)


def run(args: argparse.Namespace) -> int:
    signed = ruling_files.load(args.file)  # a file that is not a ruling is the user's error: exit 2, nothing sent
    with channel(args) as opened:
        request = admin_pb2.PublishRulingRequest(ruling_file=signed.to_json())
        response = admin_pb2_grpc.AdminStub(opened).PublishRuling(request, timeout=args.timeout)
    status = status_name(response.status)
    if args.json:
        print_json(
            {
                "entry_id": response.entry_id,
                "seq": response.seq,
                "record_id": response.record_id,
                "status": status,
                "existing": response.existing,
                "signed_by": list(response.signed_by),
            }
        )
        return ExitCode.OK
    verb = "already published as" if response.existing else "published as"
    print(f"stewards' ruling {verb} entry {response.entry_id} (seq {response.seq})")
    print(f"  signed by {', '.join(response.signed_by)}")
    print(f"  record {response.record_id} is now {status} on this node")
    return ExitCode.OK
