"""`hashnode statements list|show|withdraw`: the statements of reasons a node issued for your platform.

`list [--after N] [--limit N]` lists them in the order issued; `show ID [--out DIR]` shows one with its
records' status now and the appeals filed from it, and writes its two documents again; `withdraw ID --reason R`
records that you reversed the decision (e.g. reinstated the content after a reinstatement notice named it).
The DSA Transparency Database takes no corrections through its API: tell the user, and for a changed decision
issue a new statement with `hashnode statement ... --supersedes ID`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from node.api.gen.hashnode.v1 import admin_pb2, admin_pb2_grpc
from node.cli.command_base import add_json_option, add_target_options, channel, print_json
from node.cli.exit_codes import ExitCode
from node.cli.statement_cmd import statement_json, statement_lines, write_documents
from node.core.errors import InvalidArgument
from node.dueprocess.statement import check_statement_id


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="statements_command", metavar="COMMAND", parser_class=argparse.ArgumentParser)
    listed = commands.add_parser("list", help="statements in the order issued")
    listed.add_argument("--after", type=int, default=0, metavar="N", help="only statements numbered above N")
    listed.add_argument("--limit", type=int, default=0, metavar="N", help="at most N (1..1000; default 100)")
    shown = commands.add_parser("show", help="one statement, its records now, the appeals filed from it")
    shown.add_argument("statement_id", metavar="ID")
    shown.add_argument("--out", type=Path, metavar="DIR", help="write ID.json and ID.html into DIR")
    withdrawn = commands.add_parser("withdraw", help="record that the platform reversed the decision")
    withdrawn.add_argument("statement_id", metavar="ID")
    withdrawn.add_argument("--reason", default="", metavar="TEXT", help="why, for the record (e.g. reinstated)")
    for sub in (listed, shown, withdrawn):
        add_target_options(sub, admin=True)
        add_json_option(sub)
    parser.set_defaults(statements_parser=parser)


def _list(args: argparse.Namespace, stub: admin_pb2_grpc.AdminStub) -> int:
    if not 0 <= args.limit <= 1000:
        raise InvalidArgument("--limit", args.limit, "1..1000")
    if args.after < 0:
        raise InvalidArgument("--after", args.after, "0 or more")
    request = admin_pb2.ListStatementsRequest(after=args.after, limit=args.limit)
    response = stub.ListStatements(request, timeout=args.timeout)
    if args.json:
        statements = [statement_json(s, documents=False) for s in response.statements]
        print_json({"statements": statements, "next_after": response.next_after})
    elif not response.statements:
        print(f"no statements after {args.after}", file=sys.stderr)
    for statement in [] if args.json else response.statements:
        print(f"{statement.number}. " + "\n".join(statement_lines(statement)))
    return ExitCode.OK


def _one(args: argparse.Namespace, statement: admin_pb2.StatementOfReasons) -> int:
    written = write_documents(args.out, statement) if getattr(args, "out", None) else []
    if args.json:
        print_json({**statement_json(statement), "files": [str(p) for p in written]})
        return ExitCode.OK
    print("\n".join(statement_lines(statement)))
    for path in written:
        print(f"wrote {path}")
    return ExitCode.OK


def run(args: argparse.Namespace) -> int:
    command = getattr(args, "statements_command", None)
    if command is None:
        args.statements_parser.print_help(sys.stderr)
        return ExitCode.USAGE
    if command != "list":
        check_statement_id(args.statement_id, "ID")
    if command == "show" and args.out is not None and args.out.exists() and not args.out.is_dir():
        raise InvalidArgument("--out", str(args.out), "a directory")
    with channel(args) as opened:
        stub = admin_pb2_grpc.AdminStub(opened)
        if command == "list":
            return _list(args, stub)
        if command == "show":
            statement = stub.GetStatement(
                admin_pb2.GetStatementRequest(statement_id=args.statement_id), timeout=args.timeout
            )
        else:
            request = admin_pb2.WithdrawStatementRequest(statement_id=args.statement_id, reason=args.reason)
            statement = stub.WithdrawStatement(request, timeout=args.timeout)
    return _one(args, statement)
