"""`hashnode`: the command line of a hashnode node and its users. One module per command (`*_cmd.py`), imported
only when that command runs (node.cli.commands).

Errors a user can cause are caught once, here: a `HashnodeError` prints `hashnode: error: <diagnostics>` (exit
2 for wrong input or configuration, 1 otherwise), a failed call to a node prints its status code and details
(exit 1), Ctrl-C exits 130. None of them prints a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from node.cli.commands import Command, add_commands
from node.cli.exit_codes import ExitCode
from node.core.errors import ConfigError, HashnodeError, InvalidArgument

COMMANDS: tuple[Command, ...] = (
    Command("serve", "node.cli.serve_cmd", "run a node"),
    Command(
        "join",
        "node.cli.join_cmd",
        "create this organisation's keys and the join request to send to the consortium's stewards",
    ),
    Command(
        "bootstrap",
        "node.cli.bootstrap_cmd",
        "verify the roster chain and sync this new node's whole database from one peer",
    ),
    Command(
        "health",
        "node.cli.health_cmd",
        "show a node's health summary: roster, peers reachable, records, labels, replication lag",
    ),
    Command(
        "probe",
        "node.cli.probe_cmd",
        "exit 0 if a node answers SERVING on the standard gRPC health service (container health checks)",
    ),
    Command("admin", "node.cli.admin_cmd", "consortium membership and node operations (hashnode admin -h lists them)"),
    Command("keygen", "node.cli.keygen_cmd", "create an Ed25519 signing key for a member"),
    Command("submit", "node.cli.submit_cmd", "contribute hashes (signed by the node's member key)"),
    Command(
        "import",
        "node.cli.import_cmd",
        "submit every valid line of a hash list file (CSV, JSONL, threatexchange) and report the others",
    ),
    Command(
        "export",
        "node.cli.export_cmd",
        "write a node's records to a CSV, JSONL or threatexchange file, with provenance references",
    ),
    Command("match", "node.cli.match_cmd", "match hashes or images against a node"),
    Command("provenance", "node.cli.provenance_cmd", "fetch a record's provenance bundle (verifiable offline)"),
    Command("verify", "node.cli.verify_cmd", "verify a provenance bundle file offline"),
    Command("retract", "node.cli.retract_cmd", "withdraw records this member contributed (signed, replicated)"),
    Command("dispute", "node.cli.dispute_cmd", "report a record as a false positive, disagree with it, or endorse it"),
    Command("appeal", "node.cli.appeal_cmd", "file an appeal your platform received against a match"),
    Command(
        "decide",
        "node.cli.decide_cmd",
        "decide an appeal (as the record's contributor, or as a steward after the deadline)",
    ),
    Command(
        "notices",
        "node.cli.notices_cmd",
        "list (or --watch) reinstatement notices for content that matched overturned records",
    ),
    Command(
        "explain", "node.cli.explain_cmd", "show why content was matched: its matches and their verified provenance"
    ),
    Command(
        "statement",
        "node.cli.statement_cmd",
        "issue the statement of reasons of a decision taken on a match: for the DSA database and the user",
    ),
    Command("statements", "node.cli.statements_cmd", "list, show or withdraw the statements of reasons issued"),
    Command("report", "node.cli.report_cmd", "write this member's transparency report (JSON, CSV, HTML)"),
    Command(
        "cases",
        "node.cli.cases_cmd",
        "list this member's open appeals and dispute cases, the most urgent first, with deadlines and contacts",
    ),
    Command(
        "hash", "node.cli.hash_cmd", "hash files locally: PDQ (images) or vPDQ (videos) with quality, MD5, SHA-256"
    ),
    Command("stats", "node.cli.stats_cmd", "show a node's record counts and storage use"),
    Command("check", "node.cli.check_cmd", "check a stopped node's store, every log and record (offline)"),
)
USAGE_ERRORS = (InvalidArgument, ConfigError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hashnode", description="Node and tools of a federated hash-sharing consortium."
    )
    add_commands(parser, COMMANDS, dest="command")
    return parser


def _error(message: str) -> None:
    print(f"hashnode: error: {message}", file=sys.stderr)


def _rpc_error(exc: BaseException) -> Any | None:
    """`exc` if it is a gRPC call's failure. gRPC is imported only by commands that call a node."""
    grpc = sys.modules.get("grpc")
    return exc if grpc is not None and isinstance(exc, grpc.RpcError) else None


def _rpc_failure(exc: Any, args: argparse.Namespace) -> int:
    code = exc.code() if hasattr(exc, "code") else None
    details = exc.details() if hasattr(exc, "details") else str(exc)
    name = code.name if code is not None else "UNKNOWN"
    target = getattr(args, "target", None) or getattr(args, "peer", None)
    hint = _unavailable_hint(details or "", target, args) if name == "UNAVAILABLE" and target else ""
    _error(f"{name}: {details}{hint}")
    return ExitCode.FAILURE


def _unavailable_hint(details: str, target: str, args: argparse.Namespace) -> str:
    """What to change when client and node disagree on TLS; else whether a node runs there at all."""
    from node.network.diagnose import Mismatch, tls_mismatch

    tls = getattr(args, "ca", None) is not None
    mismatch = tls_mismatch(details, target, tls=tls) if hasattr(args, "ca") else None
    if mismatch is Mismatch.PLAINTEXT_TO_TLS:
        return f" (the node at {target} speaks TLS: pass --ca with its certificate, and --token-file)"
    if mismatch is Mismatch.TLS_TO_PLAINTEXT:
        return f" (the node at {target} speaks plaintext, a development node in insecure mode: drop --ca)"
    if mismatch is Mismatch.SERVER_NAME:
        name = getattr(args, "tls_server_name", "")
        return (
            f" (the node's certificate does not carry the name {name!r}: pass --tls-server-name with a name it "
            "carries; every node's carries hashnode.peer)"
        )
    return f" (is a node running at {target}?)"


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
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:  # e.g. `hashnode match ... | head`
        return ExitCode.OK
    except OSError as exc:  # a file the user named cannot be read or written
        where = f" ({exc.filename})" if exc.filename else ""
        _error(f"{exc.strerror or exc}{where}")
        return ExitCode.FAILURE
    except Exception as exc:
        if (failed := _rpc_error(exc)) is None:
            raise
        return _rpc_failure(failed, args)


if __name__ == "__main__":
    sys.exit(main())
