"""`hashnode admin rotate-key MEMBER --public-key HEX --roster CURRENT --out DRAFT`: a new log key."""

from __future__ import annotations

import argparse

from node.cli.admin import roster_files
from node.cli.exit_codes import ExitCode
from node.core.keys import PublicKey
from node.membership.roster import SignedRoster


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("member", metavar="MEMBER", help="the member id")
    parser.add_argument(
        "--public-key",
        required=True,
        metavar="HEX",
        help="the new Ed25519 public key (hashnode keygen prints it)",
    )
    roster_files.add_draft_options(parser)
    add_window_options(parser)


def add_window_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--valid-from", default="now", metavar="TIME", help="when the new one starts (default: now)"
    )
    parser.add_argument(
        "--overlap-until",
        default="7d",
        metavar="TIME",
        help="when the old ones stop: a time, or a number of days after --valid-from like 7d (default: 7d)",
    )


def window(args: argparse.Namespace) -> tuple[int, int]:
    start = roster_files.parse_time(args.valid_from, "--valid-from")
    text = args.overlap_until
    if text.endswith("d") and text[:-1].isdigit():
        return start, start + int(text[:-1]) * roster_files.DAY_MS
    return start, roster_files.parse_time(text, "--overlap-until")


def run(args: argparse.Namespace) -> int:
    key = PublicKey.from_hex(args.public_key, "--public-key")
    start, overlap = window(args)
    draft = roster_files.next_draft(args)
    draft.rotate_key(args.member, key, valid_from_ms=start, overlap_until_ms=overlap)
    roster_files.write(args.out, SignedRoster.unsigned(draft.build()))
    print(
        f"wrote {args.out}: roster version {draft.version}, {args.member} gets key {key.key_id.hex()[:16]}…"
    )
    print(f"  new key valid from {start}; its other keys until {overlap} (ms): entries signed by either key")
    print("  in between verify, and the older entries stay verifiable for good")
    print(
        f"next: hashnode admin sign {args.out} --key STEWARD.key (each steward), then hashnode admin publish"
    )
    return ExitCode.OK
