"""`hashnode export --out FILE`: write the records a node holds to a hash list, with provenance references.

Records stream from the node's ExportRecords RPC in bounded batches and are written as they arrive (CSV,
JSON Lines or threatexchange "type hash" lines; `node.interchange.formats` writes them), so memory stays flat however
large the export. CSV and JSONL carry each record's id, author, entry id and signing time, so every line can
be traced to the signed entry it came from (`hashnode provenance RECORD_ID`). The file appears only once the
export is complete: an interrupted export leaves no half-written file behind under the name asked for.

`--own` exports only the contributions of the node's own member; `--all` (the default) every member's.
Only active records are exported (retracted, overturned and suspended ones are not).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from node.api import convert
from node.api.gen.hashnode.v1 import client_pb2, client_pb2_grpc, types_pb2
from node.cli.command_base import add_json_option, add_target_options, channel, print_json
from node.cli.exit_codes import ExitCode
from node.cli.progress import Progress
from node.core.errors import InvalidArgument
from node.core.records import HashRecord
from node.interchange.formats import Format, write_records

DEFAULT_BATCH = 1000
MAX_BATCH = 10_000
EXPORT_TIMEOUT_S = 3600.0  # the deadline covers the whole stream


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, metavar="FILE", help="the file to write")
    parser.add_argument(
        "--format",
        choices=[f.value for f in Format],
        help="csv, jsonl or te (default: from the extension of --out)",
    )
    whose = parser.add_mutually_exclusive_group()
    whose.add_argument("--own", action="store_true", help="only records this node's member contributed")
    whose.add_argument("--all", action="store_true", help="every member's records (the default)")
    parser.add_argument(
        "--type", action="append", default=[], dest="types", metavar="TYPE", help="only this signal type"
    )
    parser.add_argument(
        "--batch", type=int, default=DEFAULT_BATCH, help=f"records per streamed batch, 1..{MAX_BATCH}"
    )
    add_target_options(parser)
    parser.set_defaults(timeout=EXPORT_TIMEOUT_S)
    add_json_option(parser)


@dataclass(frozen=True)
class ExportedRecord:
    """A record as the node exported it: what `node.interchange.formats.write_records` needs to write it."""

    record_id: bytes
    record: HashRecord
    author: str
    entry_id: bytes
    timestamp_ms: int

    @classmethod
    def from_proto(cls, info: types_pb2.RecordInfo) -> ExportedRecord:
        msg = info.record
        # A vpdq record's value is its features' canonical encoding (docs/protocol.md, "vPDQ features").
        video = msg.signal_type == "vpdq"
        value = convert.features_from_proto(msg.video, "record.video").encode() if video else bytes.fromhex(msg.value)
        record = HashRecord(
            signal_type=msg.signal_type,
            value=value,
            quality=msg.quality,
            labels=tuple(msg.labels),
            tags=tuple(msg.tags),
            reference=msg.reference,
            source=msg.source,
        )
        record_id, entry_id = bytes.fromhex(info.record_id), bytes.fromhex(info.entry_id)
        return cls(record_id, record, info.author, entry_id, info.contributed_at_ms)


def stream_records(
    stub: client_pb2_grpc.HashNodeStub, args: argparse.Namespace, progress: Progress
) -> Iterator[ExportedRecord]:
    request = client_pb2.ExportRequest(own_only=args.own, batch_size=args.batch, signal_types=args.types)
    for batch in stub.ExportRecords(request, timeout=args.timeout):
        for info in batch.records:
            yield ExportedRecord.from_proto(info)
        progress.add(done=len(batch.records))


def partial_path(out: Path) -> Path:
    """Where the export is written until complete; it keeps the extension, which may name the format."""
    return out.with_name(f".{out.name}.partial{out.suffix}")


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.batch <= MAX_BATCH:
        raise InvalidArgument("--batch", args.batch, f"1..{MAX_BATCH}")
    partial, progress = partial_path(args.out), Progress("exported")
    try:
        with channel(args) as opened:
            stub = client_pb2_grpc.HashNodeStub(opened)
            count = write_records(partial, stream_records(stub, args, progress), args.format)
        os.replace(partial, args.out)
    finally:
        progress.finish()
        partial.unlink(missing_ok=True)
    if args.json:
        print_json({"out": str(args.out), "records": count})
    else:
        print(f"exported {count} record(s) to {args.out}")
    return ExitCode.OK
