"""`hashnode`: the command line of a hashnode node and its users. One module per command (`*_cmd.py`).

Errors a user can cause are caught once, here: a `HashnodeError` prints `hashnode: error: <diagnostics>` (exit
2 for wrong input or configuration, 1 otherwise), a failed call to a node prints its status code and details
(exit 1), Ctrl-C exits 130. None of them prints a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType

import grpc

from node.cli import (
    admin_cmd,
    appeal_cmd,
    bootstrap_cmd,
    check_cmd,
    decide_cmd,
    dispute_cmd,
    explain_cmd,
    export_cmd,
    hash_cmd,
    health_cmd,
    import_cmd,
    join_cmd,
    keygen_cmd,
    match_cmd,
    notices_cmd,
    provenance_cmd,
    report_cmd,
    serve_cmd,
    stats_cmd,
    submit_cmd,
    verify_cmd,
)
from node.cli.command_base import ExitCode
from node.errors import ConfigError, HashnodeError, InvalidArgument

COMMANDS: tuple[ModuleType, ...] = (
    serve_cmd,
    join_cmd,
    bootstrap_cmd,
    health_cmd,
    admin_cmd,
    keygen_cmd,
    submit_cmd,
    import_cmd,
    export_cmd,
    match_cmd,
    provenance_cmd,
    verify_cmd,
    dispute_cmd,
    appeal_cmd,
    decide_cmd,
    notices_cmd,
    explain_cmd,
    report_cmd,
    hash_cmd,
    stats_cmd,
    check_cmd,
)
USAGE_ERRORS = (InvalidArgument, ConfigError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hashnode", description="Node and tools of a federated hash-sharing consortium."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        sub = subparsers.add_parser(command.NAME, help=command.HELP, description=command.__doc__)
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def _error(message: str) -> None:
    print(f"hashnode: error: {message}", file=sys.stderr)


def _rpc_failure(exc: grpc.RpcError, args: argparse.Namespace) -> int:
    code = exc.code() if hasattr(exc, "code") else None
    details = exc.details() if hasattr(exc, "details") else str(exc)
    name = code.name if code is not None else "UNKNOWN"
    target = getattr(args, "target", None) or getattr(args, "peer", None)
    hint = f" (is a node running at {target}?)" if code == grpc.StatusCode.UNAVAILABLE and target else ""
    _error(f"{name}: {details}{hint}")
    return ExitCode.FAILURE


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed usage (exit 2) or help (exit 0)
        return exc.code if isinstance(exc.code, int) else ExitCode.USAGE
    if not hasattr(args, "run"):
        parser.print_help(sys.stderr)
        return ExitCode.USAGE
    try:
        return int(args.run(args))
    except HashnodeError as exc:
        _error(exc.diagnostics())
        return ExitCode.USAGE if isinstance(exc, USAGE_ERRORS) else ExitCode.FAILURE
    except grpc.RpcError as exc:
        return _rpc_failure(exc, args)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:  # e.g. `hashnode match ... | head`
        return ExitCode.OK
    except OSError as exc:  # a file the user named cannot be read or written
        where = f" ({exc.filename})" if exc.filename else ""
        _error(f"{exc.strerror or exc}{where}")
        return ExitCode.FAILURE


if __name__ == "__main__":
    sys.exit(main())
