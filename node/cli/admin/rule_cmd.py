"""`hashnode admin rule --roster CURRENT --record RECORD_ID --appeal APPEAL_ENTRY_ID --outcome upheld|overturned
--reason TEXT --out FILE [--at TIME]`: prepare a stewards' ruling on an appeal the contributor left undecided
past the consortium's decision window (docs/due-process.md, "Stewards' rulings").

The file is signed by each steward with `hashnode admin sign FILE --key STEWARD.key` (k of n, as the roster's
due-process policy says) and published by any node with `hashnode admin publish-ruling FILE`. Nothing here
talks to a node: stewards rule offline.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from node.api import convert
from node.cli.admin import roster_files, ruling_files
from node.cli.exit_codes import ExitCode
from node.dueprocess.items import Outcome
from node.dueprocess.ruling import Ruling, SignedRuling


def add_arguments(parser: argparse.ArgumentParser) -> None:
    roster_files.add_roster_option(parser)
    parser.add_argument("--record", required=True, metavar="RECORD_ID", help="the record appealed (64 hex)")
    parser.add_argument("--appeal", required=True, metavar="APPEAL_ENTRY_ID", help="the appeal entry (64 hex)")
    parser.add_argument("--outcome", required=True, choices=("upheld", "overturned"))
    parser.add_argument("--reason", default="", help="why, for people; replicated to every member")
    parser.add_argument("--out", type=Path, required=True, metavar="FILE", help="where to write the ruling")
    parser.add_argument(
        "--at", default="now", metavar="TIME", help="when the stewards rule (now, Unix ms or ISO 8601; default now)"
    )


def run(args: argparse.Namespace) -> int:
    roster = roster_files.load(args.roster).roster
    ruling = Ruling(
        consortium_id=roster.consortium_id,
        record_id=convert.parse_id(args.record, "--record"),
        appeal_entry_id=convert.parse_id(args.appeal, "--appeal"),
        outcome=Outcome[args.outcome.upper()],
        reason=args.reason,
        ruled_at_ms=roster_files.parse_time(args.at, "--at"),
    )
    signed = SignedRuling(ruling)
    roster_files.write(args.out, signed)
    print(f"wrote {args.out}: stewards' ruling ({ruling.outcome.label}), no signatures yet")
    for line in ruling_files.describe(signed, roster):
        print(line)
    print(f"next: hashnode admin sign {args.out} --key STEWARD.key (each steward), then hashnode admin publish-ruling")
    return ExitCode.OK
