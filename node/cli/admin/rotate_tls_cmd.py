"""`hashnode admin rotate-tls MEMBER --certificate FILE --roster CURRENT --out DRAFT`: a new TLS cert."""

from __future__ import annotations

import argparse
from pathlib import Path

from node.cli.admin import roster_files
from node.cli.admin.rotate_key_cmd import add_window_options, window
from node.cli.exit_codes import ExitCode
from node.core.errors import ConfigError
from node.membership import certificates
from node.membership.roster import SignedRoster


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("member", metavar="MEMBER", help="the member id")
    parser.add_argument(
        "--certificate", type=Path, required=True, metavar="FILE", help="the new certificate (PEM)"
    )
    roster_files.add_draft_options(parser)
    add_window_options(parser)


def run(args: argparse.Namespace) -> int:
    try:
        der = certificates.pem_to_der(args.certificate.read_bytes())
    except OSError as exc:
        raise ConfigError(f"--certificate {args.certificate}: {exc.strerror or exc}") from None
    start, overlap = window(args)
    draft = roster_files.next_draft(args)
    draft.rotate_tls(args.member, der, valid_from_ms=start, overlap_until_ms=overlap)
    roster_files.write(args.out, SignedRoster.unsigned(draft.build()))
    print(f"wrote {args.out}: roster version {draft.version}, {args.member} gets TLS certificate")
    print(f"  {certificates.fingerprint(der).hex()} valid from {start}; its other certificates until {overlap} (ms)")
    print(
        f"next: hashnode admin sign {args.out} --key STEWARD.key (each steward), then hashnode admin publish"
    )
    return ExitCode.OK
