"""`hashnode admin sign FILE --key STEWARD.key`: add a steward's signature to a roster file or to a stewards'
ruling file (`hashnode admin rule`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from node.cli.admin import roster_files, ruling_files
from node.cli.exit_codes import ExitCode
from node.core.errors import PermissionDenied
from node.core.keys import SigningKey


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, metavar="FILE", help="the roster file")
    parser.add_argument(
        "--key", type=Path, required=True, metavar="STEWARD.key", help="your steward key (PEM)"
    )
    parser.add_argument("--out", type=Path, metavar="FILE", help="write the signed copy here (default: FILE)")
    parser.add_argument(
        "--roster", type=Path, metavar="CURRENT", help="the roster trusted now, to show both thresholds"
    )


def _sign_ruling(args: argparse.Namespace, key: SigningKey) -> int:
    signed = ruling_files.load(args.file)
    current = roster_files.load(args.roster).roster if args.roster else None
    if current is not None:
        stewards = {k.public_key.key_id for _, k in current.membership().steward_keys()}
        if key.public.key_id not in stewards:
            raise PermissionDenied(
                f"--key {args.key}: key {key.public.key_id.hex()[:16]}… is not a steward's key in --roster; "
                "nothing was written"
            )
    signed = signed.sign(key)
    out = args.out or args.file
    roster_files.write(out, signed, replace=out == args.file)
    print(f"signed the stewards' ruling into {out}")
    for line in ruling_files.describe(signed, current):
        print(line)
    return ExitCode.OK


def run(args: argparse.Namespace) -> int:
    if ruling_files.is_ruling_file(args.file):
        return _sign_ruling(args, SigningKey.load(args.key))
    signed = roster_files.load(args.file)
    key = SigningKey.load(args.key)
    current = roster_files.load(args.roster) if args.roster else None
    stewards = {s.key_id for s in signed.roster.stewards}
    if current is not None:
        stewards |= {s.key_id for s in current.roster.stewards}
    if key.public.key_id not in stewards:
        raise PermissionDenied(
            f"--key {args.key}: key {key.public.key_id.hex()[:16]}… is not a steward key of this roster "
            "(nor of --roster); nothing was written"
        )
    signed = signed.sign(key)
    out = args.out or args.file
    roster_files.write(out, signed, replace=out == args.file)
    print(f"signed roster version {signed.roster.version} (id {signed.roster_id.hex()}) into {out}")
    for line in roster_files.describe_signatures(roster_files.signature_status(signed, current)):
        print(line)
    return ExitCode.OK
