"""`hashnode admin due-process --roster CURRENT --out DRAFT [--decision-window-hours H] [--steward-quorum K]
[--dispute-quorum N] [--trusted-flagger-disputes yes|no] [--quarantine mark|withhold]`: prepare the next roster
version with the consortium's due-process policy (docs/due-process.md, "Consortium policy").

Options not given keep the current roster's values (the defaults, if it states none). The policy is part of the
signed roster: every node applies the same one, so every node derives the same standing for every record.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from node.cli.admin import roster_files
from node.cli.exit_codes import ExitCode
from node.core.errors import InvalidArgument
from node.membership.consortium_policy import HOUR_MS, ConsortiumPolicy, QuarantineMode
from node.membership.roster import SignedRoster


def add_arguments(parser: argparse.ArgumentParser) -> None:
    roster_files.add_draft_options(parser)
    parser.add_argument(
        "--decision-window-hours",
        type=float,
        metavar="H",
        help="how long the contributor alone decides an appeal; stewards may rule after (default 72)",
    )
    parser.add_argument(
        "--steward-quorum", type=int, metavar="K", help="steward signatures a stewards' ruling needs (1: one)"
    )
    parser.add_argument(
        "--dispute-quorum",
        type=int,
        metavar="N",
        help="members whose false-positive reports quarantine a record and open a case (0: never)",
    )
    parser.add_argument(
        "--trusted-flagger-disputes",
        choices=("yes", "no"),
        help="one trusted flagger's false-positive report quarantines on its own",
    )
    parser.add_argument(
        "--quarantine",
        choices=("mark", "withhold"),
        help="a quarantined record matches marked `disputed` (mark) or not at all (withhold)",
    )


def _policy(args: argparse.Namespace, current: ConsortiumPolicy) -> ConsortiumPolicy:
    changes: dict[str, object] = {}
    if args.decision_window_hours is not None:
        hours = args.decision_window_hours
        if not 0 <= hours <= 24 * 365:
            raise InvalidArgument("--decision-window-hours", hours, "0..8760")
        changes["decision_window_ms"] = round(hours * HOUR_MS)
    if args.steward_quorum is not None:
        changes["steward_quorum"] = args.steward_quorum
    if args.dispute_quorum is not None:
        changes["dispute_quorum"] = args.dispute_quorum
    if args.trusted_flagger_disputes is not None:
        changes["trusted_flagger_disputes"] = args.trusted_flagger_disputes == "yes"
    if args.quarantine is not None:
        changes["quarantine"] = QuarantineMode.parse(args.quarantine, "--quarantine")
    try:
        return replace(current, **changes)  # type: ignore[arg-type]
    except InvalidArgument as exc:  # name the option, not the field
        want = exc.message.split(", want ", 1)[-1]
        raise InvalidArgument(f"--{exc.field.replace('_', '-')}", changes.get(exc.field), want) from None


def run(args: argparse.Namespace) -> int:
    draft = roster_files.next_draft(args)
    policy = _policy(args, draft.policy or ConsortiumPolicy())
    stewards = sum(1 for m in draft.members if "steward" in m.roles)
    if policy.steward_quorum > max(stewards, 1):
        raise InvalidArgument("--steward-quorum", policy.steward_quorum, f"1..{max(stewards, 1)} (the stewards)")
    draft.policy = policy
    roster_files.write(args.out, SignedRoster.unsigned(draft.build()))
    shown = ", ".join(f"{k} {v}" for k, v in policy.to_mapping().items())
    print(f"wrote {args.out}: roster version {draft.version} with the due-process policy: {shown}")
    print(
        f"next: hashnode admin sign {args.out} --key STEWARD.key (each steward), then hashnode admin publish"
    )
    return ExitCode.OK
