"""`hashnode cases [--json]`: this member's open cases, the most urgent first (docs/due-process.md, "Case
queue").

Lists the appeals and dispute cases waiting for a decision that concern the node's member: about records it
contributed (`to decide`: `hashnode decide CASE_ID --outcome ...`), opened by it and waiting for the contributor
(`filed`), or, for a steward, left past the decision window (`to rule`: `hashnode admin rule`). Cases opened by
trusted flaggers and referrers come first, then by deadline. Each shows who to contact about it.
"""

from __future__ import annotations

import argparse

from node.api.gen.hashnode.v1 import admin_pb2, admin_pb2_grpc
from node.cli.command_base import add_json_option, add_target_options, channel, print_json
from node.cli.display import utc
from node.cli.exit_codes import ExitCode

ROLES = {"to_decide": "to decide", "to_rule": "to rule (steward)", "filed": "filed, awaiting the contributor"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_options(parser, admin=True)
    add_json_option(parser)


def _json(case: admin_pb2.OpenCase) -> dict[str, object]:
    return {
        "kind": case.kind,
        "role": case.role,
        "record_id": case.record_id,
        "case_id": case.case_id,
        "case_ref": case.case_ref,
        "contributor": case.contributor,
        "contributor_contact": case.contributor_contact,
        "opened_by": case.opened_by,
        "opened_by_contact": case.opened_by_contact,
        "opened_at_ms": case.opened_at_ms,
        "deadline_ms": case.deadline_ms,
        "overdue": case.overdue,
        "priority": case.priority,
    }


def _lines(case: admin_pb2.OpenCase) -> list[str]:
    first = "PRIORITY " if case.priority else ""
    due = "OVERDUE since" if case.overdue else "decide by"
    what = f"{case.kind} {case.case_ref}".rstrip()
    return [
        f"{first}{what}  {ROLES.get(case.role, case.role)}  {due} {utc(case.deadline_ms)}",
        f"  case {case.case_id}  record {case.record_id}",
        f"  opened {utc(case.opened_at_ms)} by {case.opened_by}"
        + (f" ({case.priority.replace('_', ' ')})" if case.priority else "")
        + (f"  contact {case.opened_by_contact}" if case.opened_by_contact else ""),
        f"  contributor {case.contributor}"
        + (f"  contact {case.contributor_contact}" if case.contributor_contact else ""),
    ]


def run(args: argparse.Namespace) -> int:
    with channel(args) as opened:
        response = admin_pb2_grpc.AdminStub(opened).ListCases(admin_pb2.ListCasesRequest(), timeout=args.timeout)
    if args.json:
        print_json({"now_ms": response.now_ms, "cases": [_json(c) for c in response.cases]})
        return ExitCode.OK
    print(f"{len(response.cases)} open case(s) as of {utc(response.now_ms)}")
    for case in response.cases:
        print("\n".join(_lines(case)))
    return ExitCode.OK
