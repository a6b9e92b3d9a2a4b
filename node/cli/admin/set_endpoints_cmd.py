"""`hashnode admin set-endpoints MEMBER [HOST:PORT ...] --roster CURRENT --out DRAFT`: move a member's node.

Every node dials each active member at the endpoints the roster lists (docs/membership.md, "The roster in the
node"), so a member whose node moves, or adds an address, asks the stewards for a version listing the new
ones. No endpoint at all: nodes stop dialling the member (its node can still dial them).
"""

from __future__ import annotations

import argparse

from node.cli.admin import roster_files
from node.cli.exit_codes import ExitCode
from node.membership.members import check_endpoints
from node.membership.roster import SignedRoster


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("member", metavar="MEMBER", help="the member id")
    parser.add_argument(
        "endpoints",
        nargs="*",
        metavar="HOST:PORT",
        help="its node's peer listener, in order of preference (none: nodes stop dialling it)",
    )
    roster_files.add_draft_options(parser)


def run(args: argparse.Namespace) -> int:
    endpoints = check_endpoints(args.endpoints, "HOST:PORT")  # before reading anything: bad input exits 2
    draft = roster_files.next_draft(args)
    draft.set_endpoints(args.member, endpoints)
    roster_files.write(args.out, SignedRoster.unsigned(draft.build()))
    where = ", ".join(endpoints) or "no endpoint (not dialled)"
    print(f"wrote {args.out}: roster version {draft.version}: {args.member} at {where}")
    print("once published, every node dials it there (and stops dialling the old addresses)")
    print(
        f"next: hashnode admin sign {args.out} --key STEWARD.key (each steward), then hashnode admin publish"
    )
    return ExitCode.OK
