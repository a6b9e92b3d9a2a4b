"""`hashnode report --from DATE --to DATE --out DIR`: this member's transparency report.

The node builds it from what this member may disclose (docs/due-process.md, "Transparency reports"): its own
contributions and opinions, the appeals it received and those about its records with their outcomes, counts of
its matches, and how fast other members' contributions reached it; and the TCO Regulation's (Art. 7) items:
decisions on terrorist content with a statement of reasons, removals, complaints and their outcomes,
reinstatements (for the yearly TCO report: `--from YYYY-01-01 --to YYYY-12-31`). Counts only: no record ids,
hashes, case references, statement ids or content references. Writes `report.json`, `report.csv` and
`report.html` (one self-contained page with inline SVG charts) into DIR.

Dates are UTC, `YYYY-MM-DD` (a whole day; `--to` is inclusive) or `YYYY-MM-DDTHH:MM[:SS]` (an instant;
`--to` is exclusive).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path

from node.api.gen.hashnode.v1 import admin_pb2, admin_pb2_grpc
from node.cli.command_base import add_json_option, add_target_options, channel, print_json
from node.cli.exit_codes import ExitCode
from node.core.errors import InvalidArgument

FILES = ("report.json", "report.csv", "report.html")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="start", required=True, metavar="DATE", help="first day (UTC)")
    parser.add_argument("--to", dest="end", required=True, metavar="DATE", help="last day, inclusive (UTC)")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="directory to write into")
    parser.add_argument(
        "--at",
        metavar="TIME",
        help="the report's time (UTC, as --to): later entries and matches are not counted, appeals open then are "
        "pending; pinned, the report is the same bytes whenever it is built (default: the end of the period)",
    )
    add_target_options(parser, admin=True)
    add_json_option(parser)


def parse_bound(text: str, option: str, *, end: bool = False) -> int:
    """Unix ms of a `--from`/`--to` value; a bare date as `--to` means the end of that day."""
    for layout in ("%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            moment = datetime.strptime(text, layout).replace(tzinfo=UTC)
        except ValueError:
            continue
        if end and layout == "%Y-%m-%d":
            moment += timedelta(days=1)
        return int(moment.timestamp() * 1000)
    raise InvalidArgument(option, text, "a UTC date YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]")


def period(args: argparse.Namespace) -> tuple[int, int]:
    start, end = parse_bound(args.start, "--from"), parse_bound(args.end, "--to", end=True)
    if end <= start:
        raise InvalidArgument("--to", args.end, f"a time after --from {args.start}")
    return start, end


def _check_out(directory: Path) -> None:
    """Refuses an unusable --out before asking the node for anything."""
    if directory.exists() and not directory.is_dir():
        raise InvalidArgument("--out", str(directory), "a directory")


def write_report(directory: Path, report: admin_pb2.Report) -> list[Path]:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        paths = [directory / name for name in FILES]
        for path, text in zip(paths, (report.json, report.csv, report.html), strict=True):
            path.write_text(text, encoding="utf-8")
    except OSError as exc:
        want = f"a writable directory ({exc.strerror or exc})"
        raise InvalidArgument("--out", str(directory), want) from None
    return paths


def run(args: argparse.Namespace) -> int:
    start, end = period(args)
    if args.at and parse_bound(args.at, "--at") < start:
        raise InvalidArgument("--at", args.at, f"a time from --from {args.start} on")
    _check_out(args.out)
    with channel(args) as opened:
        request = admin_pb2.ReportRequest(from_ms=start, to_ms=end)
        if args.at:
            request.at_ms = parse_bound(args.at, "--at")
        report = admin_pb2_grpc.AdminStub(opened).BuildReport(request, timeout=args.timeout)
    paths = write_report(args.out, report)
    if args.json:
        print_json({"files": [str(p) for p in paths]})
    else:
        print("\n".join(f"wrote {p}" for p in paths))
    return ExitCode.OK
