"""`hashnode admin revoke MEMBER --roster CURRENT --out DRAFT [--cutoff TIME]`: revoke a member."""

from __future__ import annotations

import argparse

from node.cli.admin import roster_files
from node.cli.exit_codes import ExitCode
from node.membership.roster import SignedRoster


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("member", metavar="MEMBER", help="the member id")
    roster_files.add_draft_options(parser)
    parser.add_argument(
        "--cutoff",
        default="now",
        metavar="TIME",
        help="entries it signed after this are refused, earlier ones stay valid; if its key may be stolen, "
        "the last time it was known safe (now, Unix ms, or ISO 8601; default: now)",
    )


def run(args: argparse.Namespace) -> int:
    cutoff = roster_files.parse_time(args.cutoff, "--cutoff")
    draft = roster_files.next_draft(args)
    draft.revoke(args.member, cutoff)
    roster_files.write(args.out, SignedRoster.unsigned(draft.build()))
    print(f"wrote {args.out}: roster version {draft.version} revoking {args.member} after {cutoff} (ms)")
    print("once published, nodes refuse its connections and its entries signed after the cutoff; its earlier")
    print("records stay valid and show the revocation in their provenance. Revocation is final.")
    print(
        f"next: hashnode admin sign {args.out} --key STEWARD.key (each steward), then hashnode admin publish"
    )
    return ExitCode.OK
