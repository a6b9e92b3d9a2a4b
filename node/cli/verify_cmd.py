"""`hashnode verify BUNDLE [--consortium FILE | --roster FILE]`: verify a provenance bundle offline.

The bundle file is the protobuf JSON mapping of `hashnode.v1.ProvenanceBundle` (see `hashnode provenance`). It
is decoded to domain types and checked by `node.provenance.verify_bundle`: the signature over the entry
header, the inclusion proof from the record's bytes to the signed body root, the record id, every related
entry. Without `--consortium` the author's key comes from the bundle itself (integrity and authorship by that
key); with it, the key must be the one in your pinned copy of the consortium file. Any changed byte fails,
loudly, with exit code 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from node.api import convert
from node.api.gen.hashnode.v1 import types_pb2
from node.cli.command_base import add_json_option, print_json
from node.cli.display import utc
from node.cli.exit_codes import ExitCode
from node.core.errors import HashnodeError, InvalidArgument
from node.membership.members import Member, Membership
from node.membership.roster import SignedRoster, TrustedRoster
from node.provenance.bundle import VerifiedEvent, VerifiedProvenance, verify_bundle


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "bundle", type=Path, metavar="BUNDLE", help="a bundle file from `hashnode provenance`"
    )
    parser.add_argument(
        "--consortium", type=Path, metavar="FILE", help="check the author's key against this consortium file"
    )
    parser.add_argument(
        "--roster",
        type=Path,
        metavar="FILE",
        help="check the author's key and status against this signed roster file (its stewards' signatures "
        "are checked too)",
    )
    add_json_option(parser)


def read_bundle_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidArgument("BUNDLE", str(path), "an existing bundle file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidArgument("BUNDLE", str(path), f"a readable bundle file ({exc})") from None


def verify_message(msg: types_pb2.ProvenanceBundle, trusted: Membership | None) -> VerifiedProvenance:
    """Verifies a bundle message; raises a HashnodeError on anything that does not hold."""
    verified = verify_bundle(convert.bundle_from_proto(msg), trusted=trusted)
    convert.check_display_view(msg, verified)
    convert.check_related_view(msg, verified)
    return verified


def summary_lines(
    verified: VerifiedProvenance, msg: types_pb2.ProvenanceBundle, author: Member, pinned: Path | None
) -> list[str]:
    """What a person needs to judge a match: what was contributed, by whom, when, and what happened since."""
    record, header = verified.record, verified.header
    key_check = (
        f"matches the pinned consortium file {pinned}"
        if pinned
        else "NOT PINNED: the key comes from the bundle itself; pass --consortium FILE to check it"
    )
    lines = [
        f"VERIFIED  record {verified.record_id.hex()}",
        f"  hash          {record.signal_type} {record.value_hex}"
        + (f" (quality {record.quality})" if record.quality else ""),
        f"  labels        {', '.join(record.labels)}",
        f"  tags          {', '.join(record.tags) or '-'}",
        f"  reference     {record.reference or '-'}",
        f"  source        {record.source or '-'}",
        f"  contributor   {author.member_id} ({author.organisation})"
        + (f", contact {author.contact}" if author.contact else ""),
        f"  signed at     {utc(header.timestamp_ms)}",
        f"  entry         {verified.entry_id.hex()} (seq {header.seq}, "
        f"record {msg.leaf_index + 1} of {header.item_count})",
        f"  key id        {header.key_id.hex()}",
        f"  key check     {key_check}",
        f"  status        {verified.status} (derived from the verified history below)",
    ]
    lines += [f"  history       {event_line(e)}" for e in verified.history]
    lines += [f"  note          {note}" for note in verified.notes]
    lines.append(f"  assembled by  {msg.generated_by or '?'} at {utc(msg.generated_at_ms)} (not signed)")
    return lines


def event_line(event: VerifiedEvent) -> str:
    """One history line; a decision says whether it counts (effective), came too late (superseded) or was
    refused, and why."""
    line = f"{utc(event.timestamp_ms)} {event.kind} by {event.author}: {event.summary}"
    return f"{line} [{event.ruling}]" if event.ruling else line


def verified_json(verified: VerifiedProvenance, author: Member, pinned: Path | None) -> dict[str, object]:
    record, header = verified.record, verified.header
    return {
        "verified": True,
        "pinned": str(pinned) if pinned else None,
        "record_id": verified.record_id.hex(),
        "record": record.as_json(),
        "author": {
            "member_id": author.member_id,
            "organisation": author.organisation,
            "contact": author.contact,
        },
        "signed_at_ms": header.timestamp_ms,
        "entry_id": verified.entry_id.hex(),
        "seq": header.seq,
        "key_id": header.key_id.hex(),
        "status": verified.status,
        "history": [
            {
                "kind": e.kind,
                "author": e.author,
                "timestamp_ms": e.timestamp_ms,
                "entry_id": e.entry_id.hex(),
                "summary": e.summary,
                "ruling": e.ruling,
            }
            for e in verified.history
        ],
        "notes": list(verified.notes),
    }


def _failed(exc: HashnodeError, as_json: bool) -> int:
    if as_json:
        print_json({"verified": False, "error": exc.diagnostics()})
    else:
        print(f"VERIFICATION FAILED: {exc.diagnostics()}", file=sys.stderr)
    return ExitCode.FAILURE


def report(
    msg: types_pb2.ProvenanceBundle, trusted: Membership | None, pinned: Path | None, as_json: bool
) -> int:
    """Verifies and prints the outcome; exit code 1 on failure. Shared with `hashnode provenance`."""
    try:
        verified = verify_message(msg, trusted)
    except HashnodeError as exc:
        return _failed(exc, as_json)
    # With a pinned consortium file, who the author is comes from that file, not from the bundle's claims.
    author = (trusted.get(verified.author.member_id) if trusted else None) or verified.author
    if as_json:
        print_json(verified_json(verified, author, pinned))
    else:
        print("\n".join(summary_lines(verified, msg, author, pinned)))
    return ExitCode.OK


def pinned_membership(args: argparse.Namespace) -> Membership | None:
    """The membership to check the bundle against: a consortium file, or a roster signed by its stewards."""
    if args.roster is None:
        return Membership.load(args.consortium) if args.consortium else None
    if args.consortium:
        raise InvalidArgument("--roster", str(args.roster), "either --roster or --consortium, not both")
    signed = SignedRoster.load(args.roster)
    # A threshold of its own stewards must have signed it, as for a node's pinned root.
    TrustedRoster(signed.roster_bytes, signed.signatures, pinned_id=signed.roster_id)
    return signed.roster.membership()


def run(args: argparse.Namespace) -> int:
    trusted = pinned_membership(args)
    text = read_bundle_file(args.bundle)
    try:
        msg = convert.bundle_from_json(text)
    except HashnodeError as exc:
        return _failed(exc, args.json)
    return report(msg, trusted, args.roster or args.consortium, args.json)
