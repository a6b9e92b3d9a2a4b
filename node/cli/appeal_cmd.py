"""`hashnode appeal RECORD_ID --case REF [--distance N]`: record that this member received an appeal against
an action it took because content matched a record (docs/due-process.md).

The appeal is signed and replicated; the record's contributor decides it, or a steward once the consortium's
decision window has passed. `--case` is your own opaque case token, never personal data: it is replicated to
every member. Print the appeal entry id: it is what `hashnode decide` takes.
"""

from __future__ import annotations

import argparse

from node.api import convert
from node.api.gen.hashnode.v1 import client_pb2, client_pb2_grpc
from node.cli.command_base import add_json_option, add_target_options, channel
from node.cli.display import print_due_process
from node.cli.exit_codes import ExitCode
from node.core.errors import InvalidArgument
from node.dueprocess.items import MAX_DISTANCE, check_case_ref


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("record_id", metavar="RECORD_ID", help="the matched record (64 hex characters)")
    parser.add_argument("--case", required=True, metavar="REF", help="your case token, e.g. CASE-2026-0042")
    parser.add_argument("--distance", type=int, metavar="N", help="the distance of the appealed match")
    add_target_options(parser)
    add_json_option(parser)


def run(args: argparse.Namespace) -> int:
    rid = convert.parse_id(args.record_id, "RECORD_ID")
    # Checked here as well as by the node: a case reference that looks like personal data is the user's input
    # error (exit 2), and it never leaves this machine.
    request = client_pb2.AppealRequest(record_id=rid.hex(), case_ref=check_case_ref(args.case, "--case"))
    if args.distance is not None:
        if not 0 <= args.distance <= MAX_DISTANCE:
            raise InvalidArgument("--distance", args.distance, f"0..{MAX_DISTANCE}")
        request.match_distance = args.distance
    with channel(args) as opened:
        response = client_pb2_grpc.HashNodeStub(opened).Appeal(request, timeout=args.timeout)
    print_due_process("appeal", response, args.json)
    return ExitCode.OK
