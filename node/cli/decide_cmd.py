"""`hashnode decide APPEAL_ENTRY_ID --outcome upheld|overturned [--reason TEXT] [--record RECORD_ID]`: decide
an appeal (docs/due-process.md, "Deciding appeals").

The record's contributor decides; once the consortium's decision window has passed without a decision, a
steward may decide instead. The node refuses a decision its peers would refuse (not the contributor or a
steward, a steward before the deadline, an appeal already decided) and writes nothing then. An overturned
record stops matching on every node, and platforms that acted on it receive reinstatement notices.
"""

from __future__ import annotations

import argparse

from node.api import convert
from node.api.gen.hashnode.v1 import client_pb2, client_pb2_grpc
from node.cli.command_base import add_json_option, add_target_options, channel
from node.cli.display import print_due_process
from node.cli.exit_codes import ExitCode

OUTCOMES = {"upheld": client_pb2.OUTCOME_UPHELD, "overturned": client_pb2.OUTCOME_OVERTURNED}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("appeal_entry_id", metavar="APPEAL_ENTRY_ID", help="the appeal's entry id")
    parser.add_argument("--outcome", choices=tuple(OUTCOMES), required=True)
    parser.add_argument("--reason", default="", help="why (shared with every member; no personal data)")
    parser.add_argument(
        "--record", metavar="RECORD_ID", help="needed when the appeal concerns several records"
    )
    add_target_options(parser)
    add_json_option(parser)


def run(args: argparse.Namespace) -> int:
    request = client_pb2.DecideRequest(
        appeal_entry_id=convert.parse_id(args.appeal_entry_id, "APPEAL_ENTRY_ID").hex(),
        outcome=OUTCOMES[args.outcome],
        reason=args.reason,
        record_id=convert.parse_id(args.record, "--record").hex() if args.record else "",
    )
    with channel(args) as opened:
        response = client_pb2_grpc.HashNodeStub(opened).Decide(request, timeout=args.timeout)
    print_due_process(f"decision ({args.outcome})", response, args.json)
    return ExitCode.OK
