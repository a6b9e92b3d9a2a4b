"""`hashnode dispute RECORD_ID [--stance false_positive|disagree|agree] [--reason-code CODE] [--text TEXT]`:
sign this member's opinion on another member's record (docs/due-process.md).

A false-positive report or a disagreement disputes the record; `--stance agree` endorses it. The opinion is
replicated to every member, and each node's own policy decides what it does with it (e.g. withhold a record
after N false-positive reports). The text is shared with every member: no personal data.
"""

from __future__ import annotations

import argparse

from node.api import convert
from node.api.gen.hashnode.v1 import client_pb2, client_pb2_grpc
from node.cli.command_base import add_json_option, add_target_options, channel
from node.cli.display import print_due_process
from node.cli.exit_codes import ExitCode

STANCES = {
    "false_positive": client_pb2.STANCE_FALSE_POSITIVE,
    "disagree": client_pb2.STANCE_DISAGREE,
    "agree": client_pb2.STANCE_AGREE,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("record_id", metavar="RECORD_ID", help="the record (64 hex characters)")
    parser.add_argument(
        "--stance", choices=tuple(STANCES), default="false_positive", help="default: %(default)s"
    )
    parser.add_argument("--reason-code", default="", metavar="CODE", help="a lowercase code, e.g. not_tvec")
    parser.add_argument("--text", default="", help="an explanation for the other members (no personal data)")
    add_target_options(parser)
    add_json_option(parser)


def run(args: argparse.Namespace) -> int:
    request = client_pb2.OpineRequest(
        record_id=convert.parse_id(args.record_id, "RECORD_ID").hex(),
        stance=STANCES[args.stance],
        reason_code=args.reason_code,
        text=args.text,
    )
    with channel(args) as opened:
        response = client_pb2_grpc.HashNodeStub(opened).Opine(request, timeout=args.timeout)
    print_due_process(f"{args.stance.replace('_', ' ')} opinion", response, args.json)
    return ExitCode.OK
