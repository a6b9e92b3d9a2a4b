"""`hashnode admin admit REQUEST --roster CURRENT --out DRAFT`: the next version admitting a member."""

from __future__ import annotations

import argparse
from pathlib import Path

from node.cli.admin import roster_files
from node.cli.exit_codes import ExitCode
from node.membership.join import SignedJoinRequest
from node.membership.members import ROLES
from node.membership.roster import SignedRoster


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("request", type=Path, metavar="REQUEST", help="the join request file (hashnode join)")
    roster_files.add_draft_options(parser)
    parser.add_argument("--role", choices=ROLES, help="the role to grant (default: the one requested)")


def run(args: argparse.Namespace) -> int:
    request = SignedJoinRequest.load(args.request)
    draft = roster_files.next_draft(args)
    member = draft.admit(request, args.role)  # verifies the request's proofs of possession
    signed = SignedRoster.unsigned(draft.build())
    roster_files.write(args.out, signed)
    joined = request.request
    print(
        f"wrote {args.out}: roster version {draft.version} admitting {member.member_id} "
        f"({member.organisation})"
    )
    print(f"  role             {', '.join(member.roles)}")
    print(f"  contact          {member.contact or '-'}")
    print(f"  log key id       {joined.log_public_key.key_id.hex()}")
    print(f"  TLS fingerprint  {joined.tls_fingerprint.hex()}")
    print("before signing, confirm the key id and the fingerprint with the organisation on another channel")
    print("(a call, a signed letter): the request proves it holds the keys, not who it is. Then:")
    print(
        f"  hashnode admin sign {args.out} --key STEWARD.key   (each steward, until the thresholds are met)"
    )
    print(f"  hashnode admin show {args.out} --roster {args.roster}")
    return ExitCode.OK
