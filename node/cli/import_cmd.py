"""`hashnode import FILE`: submit every valid line of a hash list, and account for every other line.

The file is read by `node.interchange.formats`: CSV and JSON Lines, and what python-threatexchange writes (the
lines of a `local_file` collaboration, `threatexchange dataset -P`, `-P -S` and `-P --csv`; with
`--signal-type`, bare hashes). The format comes from `--format`, else the extension, else the first line. Good
lines are submitted in batches of `--batch` records, one signed entry per batch. A line is refused either here
(it does not parse or check) or by the node (a label outside the consortium's taxonomy, a PDQ quality under the
node's minimum); a refusal by the node costs only that record, and the rest of its batch is submitted. Nothing
is dropped silently: the summary lists every refused line with its reason, and the exit code is 1 if any line
was refused.

Importing is idempotent: a line whose signal type, hash and labels this member already contributed (and did not
retract), or that repeats an earlier line, is reported as a duplicate with the record it duplicates and is not
signed again; the node decides this in the same step that signs, so two imports of one file running at once
add each record once. `--force` signs such lines anyway.

Progress (records, rate, duplicates and refusals; the share of the file's lines done and the time left) is shown
on stderr; the summary goes to stdout (`--json` for a machine).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from node.api.gen.hashnode.v1 import client_pb2, client_pb2_grpc, types_pb2
from node.cli.command_base import add_json_option, add_target_options, channel, print_json
from node.cli.contribution_file import CLIENT_TAXONOMY, record_to_proto
from node.cli.exit_codes import ExitCode
from node.cli.grpc_channel import submit_with_retries
from node.cli.progress import Progress, count_lines
from node.core.errors import InvalidArgument
from node.interchange.formats import Format, Refusal, read_numbered_records
from node.interchange.pytx_names import from_pytx

DEFAULT_BATCH = 1000
MAX_BATCH = 10_000
MAX_SHOWN = 100
# A node refusal names the record: "records[3].labels: got tvec.made_up, want a taxonomy label ...".
_NODE_REFUSAL = re.compile(r"^records\[(?P<index>\d+)\]\.(?P<field>\w+): (?P<reason>.*)$", re.DOTALL)
_GOT = re.compile(r"^got (?P<value>.*?), want ")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, metavar="FILE", help="the hash list to import")
    parser.add_argument(
        "--format",
        choices=[f.value for f in Format],
        help="csv, jsonl or te (default: from the extension, else from the first line)",
    )
    parser.add_argument(
        "--label", action="append", default=[], help="label for lines that give none (repeatable; TE lines)"
    )
    parser.add_argument("--quality", type=int, help="PDQ quality for lines that give none (TE lines)")
    parser.add_argument(
        "--signal-type",
        metavar="TYPE",
        help="every line is a bare hash of TYPE, as `threatexchange dataset -P -S -s TYPE` prints them "
        "(a threatexchange or hashnode type name)",
    )
    parser.add_argument(
        "--batch", type=int, default=DEFAULT_BATCH, help=f"records per signed entry, 1..{MAX_BATCH}"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="sign lines this member already contributed (same type, hash and labels) again; by default they "
        "are reported as duplicates",
    )
    add_target_options(parser)
    add_json_option(parser)


@dataclass(frozen=True)
class Line:
    """A record read from the file and the line it came from."""

    line_no: int
    record: types_pb2.HashRecord


@dataclass(frozen=True)
class Duplicate:
    """A line not signed again: the record it duplicates (an earlier contribution, or an earlier line)."""

    line_no: int
    record_id: str


@dataclass
class ImportReport:
    accepted: int = 0
    entries: list[str] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    stopped_at: int | None = None  # the first line not submitted when the node could no longer be reached
    error: str = ""

    def refuse(self, refusal: Refusal) -> None:
        self.refusals.append(refusal)


def read_lines(args: argparse.Namespace, report: ImportReport, progress: Progress) -> Iterator[Line]:
    """The file's records; refused lines go to the report as they are read."""
    items = read_numbered_records(
        args.file,
        args.format,
        default_labels=args.label,
        taxonomy=CLIENT_TAXONOMY,
        min_pdq_quality=0,  # the node applies its own minimum
        default_pdq_quality=args.quality,
        default_signal_type=args.signal_type,
    )
    try:
        for line_no, item in items:
            if isinstance(item, Refusal):
                report.refuse(item)
                progress.add(refused=1, position=line_no)
            else:
                yield Line(line_no, record_to_proto(item))
    except FileNotFoundError:
        raise InvalidArgument("FILE", str(args.file), "an existing file") from None


# Bytes of records per Submit: well within one entry's item limit (MAX_ENTRY_BYTES, 8 MiB) and the 16 MiB message
# limit, so that a file of video records (up to ~300 KB each) goes in several entries instead of being refused.
BATCH_BYTES = 4 << 20


def batches(lines: Iterable[Line], size: int, max_bytes: int = BATCH_BYTES) -> Iterator[list[Line]]:
    """`lines` in batches of at most `size` records and `max_bytes` bytes (a larger record goes alone)."""
    batch: list[Line] = []
    total = 0
    for line in lines:
        n = line.record.ByteSize()
        if batch and total + n > max_bytes:
            yield batch
            batch, total = [], 0
        batch.append(line)
        total += n
        if len(batch) == size:
            yield batch
            batch, total = [], 0
    if batch:
        yield batch


def node_refusal(exc: grpc.RpcError, pending: list[Line]) -> tuple[int, Refusal] | None:
    """The record a node's INVALID_ARGUMENT names, as a refusal of its line; None if it names none."""
    if exc.code() != grpc.StatusCode.INVALID_ARGUMENT:
        return None
    found = _NODE_REFUSAL.match(exc.details() or "")
    if found is None or int(found["index"]) >= len(pending):
        return None
    index = int(found["index"])
    reason = f"{found['field']}: {found['reason']} (refused by the node)"
    return index, Refusal(pending[index].line_no, reason, found["field"])


def _same_bad_label(refusal: Refusal, line: Line) -> bool:
    """Whether `line` carries the label the node just refused (so it need not be sent to hear that again)."""
    got = _GOT.match(refusal.reason.removeprefix("labels: "))
    return refusal.field == "labels" and got is not None and got["value"] in line.record.labels


def take_out_refused(pending: list[Line], index: int, refusal: Refusal, report: ImportReport) -> list[Line]:
    """`pending` without the refused record and any other carrying the same refused label (all reported)."""
    kept = []
    for position, line in enumerate(pending):
        if position == index or _same_bad_label(refusal, line):
            report.refuse(Refusal(line.line_no, refusal.reason, refusal.field))
        else:
            kept.append(line)
    return kept


def submit_batch(
    stub: client_pb2_grpc.HashNodeStub, batch: list[Line], report: ImportReport, args: argparse.Namespace
) -> int:
    """Submits a batch, taking out each record the node refuses, until the node accepts the rest.

    Returns how many records were refused. Raises grpc.RpcError for failures that name no record.
    """
    pending, refused = list(batch), 0
    while pending:
        request = client_pb2.SubmitRequest(
            records=[line.record for line in pending], skip_duplicates=not args.force
        )
        try:
            # A new id per distinct batch; its retries (busy node, lost answer) keep it: never signed twice.
            response = submit_with_retries(stub, request, args.timeout)
        except grpc.RpcError as exc:
            found = node_refusal(exc, pending)
            if found is None:
                raise
            before = len(pending)
            pending = take_out_refused(pending, *found, report)
            refused += before - len(pending)
            continue
        skipped = set(response.duplicates)
        report.duplicates += [
            Duplicate(line.line_no, response.record_ids[i]) for i, line in enumerate(pending) if i in skipped
        ]
        report.accepted += len(pending) - len(skipped)
        if response.entry_id:
            report.entries.append(response.entry_id)
        return refused
    return refused


def run_import(args: argparse.Namespace, report: ImportReport, progress: Progress) -> None:
    with channel(args) as opened:
        stub = client_pb2_grpc.HashNodeStub(opened)
        for batch in batches(read_lines(args, report, progress), args.batch):
            duplicates = len(report.duplicates)
            try:
                refused = submit_batch(stub, batch, report, args)
            except grpc.RpcError as exc:
                report.stopped_at = batch[0].line_no
                report.error = f"{exc.code().name}: {exc.details()}"
                return
            skipped = len(report.duplicates) - duplicates
            progress.add(
                done=len(batch) - refused - skipped,
                refused=refused,
                duplicates=skipped,
                position=batch[-1].line_no,
            )


def summary_json(args: argparse.Namespace, report: ImportReport) -> dict[str, object]:
    return {
        "file": str(args.file),
        "accepted": report.accepted,
        "entries": report.entries,
        "duplicates": [
            {"line": d.line_no, "record_id": d.record_id} for d in sorted(report.duplicates, key=lambda d: d.line_no)
        ],
        "refused": [
            {"line": r.line_no, "field": r.field, "reason": r.reason}
            for r in sorted(report.refusals, key=lambda r: r.line_no)
        ],
        "stopped": None if report.stopped_at is None else {"line": report.stopped_at, "error": report.error},
    }


def summary_lines(args: argparse.Namespace, report: ImportReport) -> list[str]:
    refusals = sorted(report.refusals, key=lambda r: r.line_no)
    duplicates = f"{len(report.duplicates)} duplicate(s) not signed again; " if report.duplicates else ""
    lines = [
        f"imported {report.accepted} record(s) from {args.file} as {len(report.entries)} entr"
        f"{'y' if len(report.entries) == 1 else 'ies'}; {duplicates}{len(refusals)} line(s) refused"
    ]
    if report.duplicates:
        shown = sorted(report.duplicates, key=lambda d: d.line_no)
        lines += [f"  line {d.line_no}: duplicate of record {d.record_id}" for d in shown[:MAX_SHOWN]]
        if len(shown) > MAX_SHOWN:
            lines.append(f"  ... and {len(shown) - MAX_SHOWN} more duplicates (--json lists every one)")
    if refusals:
        by_field = Counter(r.field for r in refusals)
        lines.append("  refused by field: " + ", ".join(f"{k} {v}" for k, v in sorted(by_field.items())))
        lines += [f"  {r}" for r in refusals[:MAX_SHOWN]]
        if len(refusals) > MAX_SHOWN:
            lines.append(f"  ... and {len(refusals) - MAX_SHOWN} more (--json lists every one)")
    if report.stopped_at is not None:
        lines.append(
            f"STOPPED at line {report.stopped_at}: {report.error}; lines before it were submitted, "
            f"lines from it on were not (import the rest of the file once the node is back)"
        )
    return lines


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.batch <= MAX_BATCH:
        raise InvalidArgument("--batch", args.batch, f"1..{MAX_BATCH}")
    if args.signal_type is not None:
        from_pytx(args.signal_type, "", "--signal-type")  # refuses a type hashnode does not carry, naming the flag
    report, progress = ImportReport(), Progress("imported", total=count_lines(args.file))
    try:
        run_import(args, report, progress)
    finally:
        progress.finish()
    if args.json:
        print_json(summary_json(args, report))
    else:
        print("\n".join(summary_lines(args, report)))
    failed = report.refusals or report.stopped_at is not None
    return ExitCode.FAILURE if failed else ExitCode.OK
