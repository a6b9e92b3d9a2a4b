"""`hashnode admin show FILE [--roster CURRENT]`: what a roster file says, who signed it, what changes."""

from __future__ import annotations

import argparse
from pathlib import Path

from node.cli.admin import roster_files
from node.cli.command_base import add_json_option, print_json
from node.cli.display import utc
from node.cli.exit_codes import ExitCode
from node.membership.roster import Roster, SignedRoster


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file", type=Path, metavar="FILE", help="a roster file (draft, partly or fully signed)"
    )
    parser.add_argument(
        "--roster", type=Path, metavar="CURRENT", help="the roster trusted now: thresholds, diff"
    )
    add_json_option(parser)


def changes(old: Roster, new: Roster) -> list[str]:
    """What a steward checks before signing: members added, status, role, key and certificate changes."""
    found = []
    for member in new.members:
        before = old.member(member.member_id)
        if before is None:
            found.append(f"  + {member.member_id} ({member.organisation}) joins as {','.join(member.roles)}")
            continue
        if before.status != member.status:
            found.append(f"  ~ {member.member_id}: {before.status.label} -> {member.status.label}")
        if before.roles != member.roles:
            found.append(
                f"  ~ {member.member_id}: roles {','.join(before.roles)} -> {','.join(member.roles)}"
            )
        if before.keys != member.keys:
            found.append(f"  ~ {member.member_id}: log keys change (rotation)")
        if before.tls != member.tls:
            found.append(f"  ~ {member.member_id}: TLS certificates change (rotation)")
        if before.endpoints != member.endpoints:
            found.append(
                f"  ~ {member.member_id}: endpoints {', '.join(before.endpoints) or 'none'} -> "
                f"{', '.join(member.endpoints) or 'none'}"
            )
    if (old.threshold, old.stewards) != (new.threshold, new.stewards):
        found.append(
            f"  ~ stewards: {len(old.stewards)} (threshold {old.threshold}) -> "
            f"{len(new.stewards)} (threshold {new.threshold})"
        )
    if old.policy != new.policy:
        found.append(f"  ~ due-process policy: {_policy(old)} -> {_policy(new)}")
    return found or ["  (no membership changes)"]


def _policy(roster: Roster) -> str:
    if roster.policy is None:
        return "not stated (defaults)"
    return ", ".join(f"{k} {v}" for k, v in roster.policy.to_mapping().items())


def run(args: argparse.Namespace) -> int:
    signed: SignedRoster = roster_files.load(args.file)
    current = roster_files.load(args.roster) if args.roster else None
    roster = signed.roster
    status = roster_files.signature_status(signed, current)
    if args.json:
        print_json(
            {
                "consortium_id": roster.consortium_id,
                "version": roster.version,
                "roster_id": signed.roster_id.hex(),
                "expires_ms": roster.expires_ms,
                "threshold": roster.threshold,
                "signed_by": [name for name, ok in status.own if ok],
                "signed_by_current_stewards": [name for name, ok in status.previous or [] if ok],
                "ready": status.ready,
                "due_process": None if roster.policy is None else roster.policy.to_mapping(),
                "problem": status.problem,
                "members": [
                    {
                        "member_id": m.member_id,
                        "status": m.status.label,
                        "roles": list(m.roles),
                        "endpoints": list(m.endpoints),
                    }
                    for m in roster.members
                ],
            }
        )
        return ExitCode.OK
    print(f"roster version {roster.version} of {roster.consortium_id}")
    print(f"  id       {signed.roster_id.hex()}")
    print(f"  expires  {utc(roster.expires_ms)}")
    print(f"  due-process policy  {_policy(roster)}")
    print("signatures")
    for line in roster_files.describe_signatures(status):
        print(line)
    if current is not None:
        print(f"changes from version {current.roster.version}")
        for line in changes(current.roster, roster):
            print(line)
    print(f"members ({len(roster.members)})")
    for line in roster_files.member_lines(roster):
        print(line)
    return ExitCode.OK
