"""`hashnode admin roster --target ADMIN_ADDRESS [--out FILE]`: the roster a node trusts now."""

from __future__ import annotations

import argparse
from pathlib import Path

from node.api.gen.hashnode.v1 import admin_pb2, admin_pb2_grpc
from node.api.roster_wire import signed_roster_from_proto
from node.cli.admin import roster_files
from node.cli.command_base import add_json_option, add_target_options, channel, print_json
from node.cli.display import utc
from node.cli.exit_codes import ExitCode


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, metavar="FILE", help="save the signed roster file here")
    add_target_options(parser, admin=True)
    add_json_option(parser)


def run(args: argparse.Namespace) -> int:
    with channel(args) as opened:
        info = admin_pb2_grpc.AdminStub(opened).GetRoster(admin_pb2.GetRosterRequest(), timeout=args.timeout)
    signed = signed_roster_from_proto(info.signed)
    if args.out:
        roster_files.write(args.out, signed)
    if args.json:
        print_json(
            {
                "consortium_id": info.consortium_id,
                "version": info.version,
                "roster_id": info.roster_id,
                "expires_ms": info.expires_ms,
                "expired": info.expired,
                "threshold": info.threshold,
                "stewards": [s.name for s in info.stewards],
                "members": [
                    {
                        "member_id": m.member_id,
                        "status": m.status,
                        "status_version": m.status_version,
                        "roles": list(m.roles),
                        "revoked_after_ms": m.revoked_after_ms,
                        "endpoints": list(m.endpoints),
                    }
                    for m in info.members
                ],
            }
        )
        return ExitCode.OK
    expired = " (EXPIRED)" if info.expired else ""
    print(f"roster version {info.version} of {info.consortium_id}, expires {utc(info.expires_ms)}{expired}")
    print(f"  id        {info.roster_id}")
    print(f"  stewards  {', '.join(s.name for s in info.stewards)} ({info.threshold} must sign the next one)")
    print(f"members ({len(info.members)})")
    for line in roster_files.member_lines(signed.roster):
        print(line)
    if args.out:
        print(f"wrote {args.out}")
    return ExitCode.OK
