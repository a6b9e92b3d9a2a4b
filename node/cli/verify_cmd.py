"""`hashnode verify BUNDLE [--consortium FILE | --roster FILE... [--roster-id HEX]]`: verify a provenance bundle
offline.

The bundle file is read by the one strict reader (`node.provenance.bundle_file`) and checked by
`node.provenance.verify_bundle` in the order of docs/protocol.md §9: the signature over the entry header, the
inclusion proof from the record's bytes to the signed body root, the record id, every related entry, and the
assembling node's signed statement of the history it held. Without an anchor the keys come from the bundle itself
(integrity and authorship by those keys); with `--consortium` or `--roster`, every key must be the anchor's. Any
input gives VERIFIED (exit 0) or one line naming the broken rule (exit 1), whether the rule is the bundle's or
the anchor's; bad options and a file that cannot be read are usage errors (exit 2).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from node.api import convert
from node.api.gen.hashnode.v1 import types_pb2
from node.cli.command_base import add_json_option, print_json
from node.cli.display import utc
from node.cli.exit_codes import ExitCode
from node.core.errors import InvalidArgument
from node.membership import consortium_file
from node.membership.members import Membership
from node.membership.roster import MalformedRosterError, SignedRoster
from node.provenance import anchor, bundle_file
from node.provenance.bundle import ProvenanceBundle, VerifiedEvent, VerifiedProvenance, verify_bundle
from node.provenance.rules import Rejected


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "bundle", type=Path, metavar="BUNDLE", help="a bundle file from `hashnode provenance`"
    )
    parser.add_argument(
        "--consortium", type=Path, metavar="FILE",
        help="trust anchor: check every key against this consortium file (TOML or JSON)",
    )
    parser.add_argument(
        "--roster",
        type=Path,
        action="append",
        metavar="FILE",
        help="trust anchor: a signed roster file, version 1 or the one --roster-id pins; repeat for the later "
        "versions in order (each must follow from the one before)",
    )
    parser.add_argument(
        "--roster-id", metavar="HEX", help="the id of the first --roster, obtained independently (pins it)"
    )
    parser.add_argument(
        "--time-ms", type=int, metavar="MS",
        help="verify as of this Unix time in milliseconds (default now): the newest roster must not have expired",
    )
    add_json_option(parser)


def read_bundle_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InvalidArgument("BUNDLE", str(path), "an existing bundle file") from None
    except OSError as exc:
        raise InvalidArgument("BUNDLE", str(path), f"a readable bundle file ({exc.strerror or exc})") from None


def verify_message(msg: types_pb2.ProvenanceBundle, trusted: Membership | None) -> VerifiedProvenance:
    """Verifies a bundle received over gRPC exactly as its file would be verified.

    Raises:
        Rejected: it breaks the rule named.
    """
    return verify_bundle(convert.bundle_from_proto(msg), trusted=trusted)


def summary_lines(verified: VerifiedProvenance, bundle: ProvenanceBundle, pinned: str | None) -> list[str]:
    """What a person needs to judge a match: what was contributed, by whom, when, what happened since, and
    who vouches for the completeness of that history. Everything shown is derived from verified bytes."""
    record, header, author, assembly = verified.record, verified.header, verified.author, verified.assembly
    key_check = (
        f"every key matches the anchor {pinned}"
        if pinned
        else "NOT PINNED: the keys come from the bundle itself; pass --consortium FILE or --roster FILE"
    )
    lines = [
        f"VERIFIED  record {verified.record_id.hex()}",
        f"  hash          {record.describe_hash()}"
        + (f" (quality {record.quality})" if record.quality else ""),
        f"  labels        {', '.join(record.labels)}",
        f"  tags          {', '.join(record.tags) or '-'}",
        f"  reference     {record.reference or '-'}",
        f"  source        {record.source or '-'}",
        f"  contributor   {author.member_id} ({author.organisation or '?'})"
        + (f", contact {author.contact}" if author.contact else ""),
        f"  signed at     {utc(header.timestamp_ms)}",
        f"  entry         {verified.entry_id.hex()} (seq {header.seq}, "
        f"record {bundle.leaf_index + 1} of {header.item_count})",
        f"  key id        {header.key_id.hex()}",
        f"  key check     {key_check}",
        f"  status        {verified.status} (derived from the verified history below)",
    ]
    lines += [f"  history       {event_line(e)}" for e in verified.history]
    lines += [f"  note          {note}" for note in verified.notes]
    lines.append(
        f"  assembled by  {assembly.assembler} at {utc(assembly.assembled_at_ms)} (signed, key "
        f"{assembly.key_id.hex()[:16]}…): it held {len(assembly.heads)} logs and lists {len(assembly.related)} "
        "entries about this record, all present"
    )
    return lines


def event_line(event: VerifiedEvent) -> str:
    """One history line; a decision says whether it counts (effective), came too late (superseded) or was
    refused, and why."""
    line = f"{utc(event.timestamp_ms)} {event.kind} by {event.author}: {event.summary}"
    if not event.ruling:
        return line
    return f"{line} [{event.ruling} (rule {event.ruling_rule})]" if event.ruling_rule else f"{line} [{event.ruling}]"


def verified_json(verified: VerifiedProvenance, pinned: str | None) -> dict[str, object]:
    record, header, author, assembly = verified.record, verified.header, verified.author, verified.assembly
    return {
        "verified": True,
        "pinned": pinned,
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
                **({"ruling_rule": e.ruling_rule} if e.ruling_rule else {}),
            }
            for e in verified.history
        ],
        "notes": list(verified.notes),
        "assembly": {
            "assembler": assembly.assembler,
            "assembled_at_ms": assembly.assembled_at_ms,
            "key_id": assembly.key_id.hex(),
            "roster_version": assembly.roster_version,
            "policy": assembly.policy.to_mapping(),
            "heads": [
                {"author": h.author, "seq": h.seq, "entry_id": h.entry_id.hex()} for h in assembly.heads
            ],
            "related": [entry_id.hex() for entry_id in assembly.related],
        },
    }


def _failed(exc: Rejected, as_json: bool) -> int:
    if as_json:
        print_json({"verified": False, "rule": exc.rule, "error": exc.message})
    else:
        # One line whatever the bundle held: control characters a message quotes are escaped.
        line = "".join(c if c.isprintable() else repr(c)[1:-1] for c in exc.diagnostics())
        print(f"VERIFICATION FAILED: {line}", file=sys.stderr)
    return ExitCode.FAILURE


def report(bundle_bytes: bytes, trusted: Membership | None, pinned: str | None, as_json: bool) -> int:
    """Reads, verifies and prints the outcome of one bundle file's bytes; exit code 1 on failure. Shared with
    `hashnode provenance`, so a bundle fetched is judged exactly as its file is later."""
    try:
        bundle = bundle_file.parse(bundle_bytes)
        verified = verify_bundle(bundle, trusted=trusted)
    except Rejected as exc:
        return _failed(exc, as_json)
    if as_json:
        print_json(verified_json(verified, pinned))
    else:
        print("\n".join(summary_lines(verified, bundle, pinned)))
    return ExitCode.OK


def pinned_membership(args: argparse.Namespace) -> Membership | None:
    """The anchor: a consortium file, or a roster chain from version 1 or a pinned id.

    Raises:
        InvalidArgument, ConfigError: the options are unusable or a file cannot be read (a usage error).
        Rejected: the consortium file breaks a `consortium.*` rule, or the roster chain an `anchor.*` rule.
    """
    if args.roster_id and not args.roster:
        raise InvalidArgument("--roster-id", args.roster_id, "given with --roster")
    if not args.roster:
        if args.consortium is None:
            return None
        try:
            return consortium_file.load(args.consortium)  # unreadable: ConfigError, a usage error
        except consortium_file.ConsortiumFileError as exc:
            # A file that breaks a rule is judged like any input of the verification: exit 1, with its rule.
            raise Rejected(exc.rule, exc.message) from None
    if args.consortium:
        raise InvalidArgument("--roster", str(args.roster[0]), "either --roster or --consortium, not both")
    pinned_id = convert.parse_id(args.roster_id, "--roster-id") if args.roster_id else None
    try:
        chain = [SignedRoster.load(path) for path in args.roster]  # unreadable: ConfigError, a usage error
    except MalformedRosterError as exc:
        raise Rejected("anchor.roster_malformed", f"roster anchor: {exc.message}") from None
    now = args.time_ms if args.time_ms is not None else int(time.time() * 1000)
    return anchor.roster_membership(chain, pinned_id, now)


def anchor_name(args: argparse.Namespace) -> str | None:
    if args.roster:
        return "roster " + ", ".join(str(p) for p in args.roster)
    return None if args.consortium is None else str(args.consortium)


def run(args: argparse.Namespace) -> int:
    data = read_bundle_file(args.bundle)  # a file that cannot be read is a usage error, never a verdict
    try:
        trusted = pinned_membership(args)  # §9: the anchor is established before the bundle file is read
    except Rejected as exc:
        return _failed(exc, args.json)
    return report(data, trusted, anchor_name(args), args.json)
