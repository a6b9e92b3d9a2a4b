"""`hashnode statement CONTENT_REF|QUERY_ID --automated HOW --visibility WHAT ... [--out DIR]`: the statement of
reasons of a decision your platform took on a logged match (docs/due-process.md, "Statements of reasons").

Name the content as your match queries did (its `content_ref`, or the query id a match answered) and say what
you did (`--visibility removed`, `--account suspended`, ...) and how far automated means decided
(`--automated fully|partially|not_automated`). The node adds why, from the matched records that still stand:
who contributed them under which labels, when, how they matched. It keeps the statement under an id
(`sor-...`) and answers both forms: the JSON to submit to the DSA Transparency Database (validated against its
documented rules, docs/schema/dsa-statement.schema.json) and the page for the affected user, in your language.
`--out DIR` writes them as `ID.json` and `ID.html`. The user's appeal, filed with `hashnode appeal RECORD_ID
--case ID`, names the statement; an overturn's reinstatement notice then names it too.

Dates are UTC, YYYY-MM-DD. `hashnode statements` lists, shows and withdraws issued statements.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from node.api import convert, statement_wire
from node.api.gen.hashnode.v1 import admin_pb2, admin_pb2_grpc
from node.cli.command_base import add_json_option, add_target_options, channel, print_json
from node.cli.display import status_name, utc
from node.cli.exit_codes import ExitCode
from node.core.content_ref import check_content_ref
from node.core.errors import InvalidArgument
from node.dueprocess import statement as sor

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATES = ("decided", "posted", "visibility_end", "monetary_end", "provision_end", "account_end")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "content", metavar="CONTENT_REF|QUERY_ID", help="the content acted on, as your queries named it"
    )
    parser.add_argument("--query-id", action="store_true", help="CONTENT_REF|QUERY_ID is a query id")
    parser.add_argument(
        "--automated", required=True, choices=sorted(sor.AUTOMATED), help="how far automated means decided"
    )
    decided = parser.add_argument_group("what the platform did (at least one)")
    decided.add_argument(
        "--visibility",
        action="append",
        default=[],
        choices=list(sor.VISIBILITY),
        metavar="WHAT",
        help="restriction of the content (repeatable): " + ", ".join(sor.VISIBILITY),
    )
    decided.add_argument("--visibility-other", default="", metavar="TEXT", help="with --visibility other")
    decided.add_argument("--visibility-end", default="", metavar="DATE", help="when it ends (default: never)")
    decided.add_argument("--monetary", default="", choices=list(sor.MONETARY), help="restriction of payments")
    decided.add_argument("--monetary-other", default="", metavar="TEXT", help="with --monetary other")
    decided.add_argument("--monetary-end", default="", metavar="DATE")
    decided.add_argument("--provision", default="", choices=list(sor.PROVISION), help="of the service")
    decided.add_argument("--provision-end", default="", metavar="DATE")
    decided.add_argument("--account", default="", choices=list(sor.ACCOUNT), help="of the user's account")
    decided.add_argument("--account-end", default="", metavar="DATE")
    decided.add_argument("--account-type", default="", choices=list(sor.ACCOUNT_TYPE))
    facts = parser.add_argument_group("facts (defaults in parentheses)")
    facts.add_argument("--decided", default="", metavar="DATE", help="the decision's date (today)")
    facts.add_argument("--posted", default="", metavar="DATE", help="when the content was posted (first match)")
    facts.add_argument(
        "--content-type",
        action="append",
        default=[],
        choices=list(sor.CONTENT_TYPE),
        metavar="TYPE",
        help="(from the hashes, e.g. pdq: image) " + ", ".join(sor.CONTENT_TYPE),
    )
    facts.add_argument("--content-type-other", default="", metavar="TEXT", help="with --content-type other")
    facts.add_argument("--content-language", default="", metavar="CODE", help="ISO 639-1 code of the content")
    facts.add_argument("--source", default="", choices=list(sor.SOURCE), help="what led to it (voluntary)")
    facts.add_argument("--source-identity", default="", metavar="TEXT", help="the notifier; never personal data")
    facts.add_argument("--ground", default="", choices=list(sor.GROUND), help="([statements] decision_ground)")
    facts.add_argument(
        "--scope",
        action="append",
        default=[],
        metavar="CODE",
        help="where it applies: country codes, EU or EEA (repeatable; [statements])",
    )
    facts.add_argument(
        "--record",
        action="append",
        default=[],
        metavar="RECORD_ID",
        help="a matched record the decision rests on (repeatable; every one still matching)",
    )
    facts.add_argument("--puid", default="", metavar="ID", help="your unique id of the statement (its id)")
    facts.add_argument("--language", default="", metavar="CODE", help="of the user's page ([statements] language)")
    facts.add_argument("--supersedes", default="", metavar="STATEMENT_ID", help="the statement this one updates")
    parser.add_argument("--out", type=Path, metavar="DIR", help="write ID.json and ID.html into DIR")
    add_target_options(parser, admin=True)
    add_json_option(parser)


def _check(args: argparse.Namespace) -> None:
    """What can be wrong before anything is sent: exit 2, nothing asked of the node."""
    for name in _DATES:
        value = getattr(args, name)
        if value and not _DATE.fullmatch(value):
            raise InvalidArgument("--" + name.replace("_", "-"), value, "a date YYYY-MM-DD")
    if not (args.visibility or args.monetary or args.provision or args.account):
        raise InvalidArgument(
            "--visibility", "nothing", "what you did: --visibility, --monetary, --provision or --account"
        )
    if args.puid and not re.fullmatch(r"[A-Za-z0-9_-]{1,500}", args.puid):
        raise InvalidArgument("--puid", args.puid, "1-500 characters A-Z a-z 0-9 _ - (never personal data)")
    if args.supersedes:
        sor.check_statement_id(args.supersedes, "--supersedes")
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise InvalidArgument("--out", str(args.out), "a directory")


def _request(args: argparse.Namespace) -> admin_pb2.IssueStatementRequest:
    decision = sor.DecisionRequest(
        automated_decision=args.automated,
        visibility=tuple(args.visibility),
        visibility_other=args.visibility_other,
        visibility_end_date=args.visibility_end,
        monetary=args.monetary,
        monetary_other=args.monetary_other,
        monetary_end_date=args.monetary_end,
        provision=args.provision,
        provision_end_date=args.provision_end,
        account=args.account,
        account_end_date=args.account_end,
        account_type=args.account_type,
        application_date=args.decided,
        content_date=args.posted,
        content_type=tuple(args.content_type),
        content_type_other=args.content_type_other,
        content_language=args.content_language,
        source=args.source,
        source_identity=args.source_identity,
        ground=args.ground,
        territorial_scope=tuple(args.scope),
        puid=args.puid,
        language=args.language,
    )
    request = admin_pb2.IssueStatementRequest(
        record_ids=[convert.parse_id(r, "--record").hex() for r in args.record],
        decision=statement_wire.decision_to_proto(decision),
        supersedes=args.supersedes,
    )
    if args.query_id:
        request.query_id = args.content
    else:
        request.content_ref = check_content_ref(args.content, "CONTENT_REF")
    return request


def write_documents(directory: Path, statement: admin_pb2.StatementOfReasons) -> list[Path]:
    """`ID.json` (for the Transparency Database) and `ID.html` (for the user) in `directory`."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        paths = [directory / f"{statement.statement_id}.json", directory / f"{statement.statement_id}.html"]
        paths[0].write_text(statement.database_json, encoding="utf-8")
        paths[1].write_text(statement.user_page_html, encoding="utf-8")
    except OSError as exc:
        raise InvalidArgument("--out", str(directory), f"a writable directory ({exc.strerror or exc})") from None
    return paths


def statement_json(statement: admin_pb2.StatementOfReasons, documents: bool = True) -> dict[str, object]:
    shown: dict[str, object] = {
        "statement_id": statement.statement_id,
        "number": statement.number,
        "puid": statement.puid,
        "status": statement.status,
        "issued_at_ms": statement.issued_at_ms,
        "content_ref": statement.content_ref,
        "query_ids": list(statement.query_ids),
        "category": statement.category,
        "language": statement.language,
        "basis_stands": statement.basis_stands,
        "basis": [
            {
                "record_id": b.record_id,
                "contributor": b.contributor,
                "labels": list(b.labels),
                "matched_at_ms": b.matched_at_ms,
                "distance": b.distance,
                "status": status_name(b.status),
            }
            for b in statement.basis
        ],
        "appeals": [
            {
                "appeal_entry_id": a.appeal_entry_id,
                "record_id": a.record_id,
                "case_ref": a.case_ref,
                "outcome": a.outcome,
                "decided_by": a.decided_by,
            }
            for a in statement.appeals
        ],
    }
    for key in ("supersedes", "superseded_by", "withdrawal_reason"):
        if getattr(statement, key):
            shown[key] = getattr(statement, key)
    if statement.withdrawn_at_ms:
        shown["withdrawn_at_ms"] = statement.withdrawn_at_ms
    if statement.existing:
        shown["existing"] = True
    if documents and statement.database_json:
        shown["database_statement"] = json.loads(statement.database_json)
        shown["user_page_html"] = statement.user_page_html
    return shown


def statement_lines(statement: admin_pb2.StatementOfReasons) -> list[str]:
    content = statement.content_ref or "(no content ref)"
    lines = [
        f"statement {statement.statement_id}  {statement.status}  issued {utc(statement.issued_at_ms)}",
        f"  puid      {statement.puid}",
        f"  content   {content}  (queries {', '.join(statement.query_ids)})",
        f"  category  {statement.category}",
    ]
    for b in statement.basis:
        lines.append(
            f"  rests on  record {b.record_id} by {b.contributor} [{', '.join(b.labels)}] "
            f"distance {b.distance}, {status_name(b.status)} now"
        )
    if not statement.basis_stands:
        lines.append("  a record it rests on no longer matches: withdraw or update the statement")
    for a in statement.appeals:
        decided = f" by {a.decided_by}" if a.decided_by else ""
        lines.append(f"  appeal    {a.appeal_entry_id} ({a.case_ref}): {a.outcome}{decided}")
    if statement.supersedes:
        lines.append(f"  updates   {statement.supersedes}")
    if statement.superseded_by:
        lines.append(f"  updated by {statement.superseded_by}")
    if statement.withdrawn_at_ms:
        lines.append(f"  withdrawn {utc(statement.withdrawn_at_ms)}: {statement.withdrawal_reason or '-'}")
    return lines


def run(args: argparse.Namespace) -> int:
    _check(args)
    request = _request(args)
    with channel(args) as opened:
        statement = admin_pb2_grpc.AdminStub(opened).IssueStatement(request, timeout=args.timeout)
    written = write_documents(args.out, statement) if args.out else []
    if args.json:
        print_json({**statement_json(statement), "files": [str(p) for p in written]})
        return ExitCode.OK
    print(("already issued: " if statement.existing else "") + "\n".join(statement_lines(statement)))
    for b in statement.basis:
        print(f"  appeal with: hashnode appeal {b.record_id} --case {statement.statement_id}")
    for path in written:
        print(f"wrote {path}")
    return ExitCode.OK
