"""`hashnode submit`: contribute hashes to the consortium through a node, as one signed entry.

From arguments: `--type pdq --hash HEX --quality 100 --label L [--label ...] [--tag T] [--reference R]
[--source S]` (`--hash` may repeat; every hash gets the same metadata). From a file: `--file F` (.csv,
.jsonl or .txt: the formats of `hashnode import`, read by `node.interchange.formats`; `--label` and `--quality` then
apply to lines that give none). Every record is checked before anything is sent; the node then checks the
batch against its taxonomy and quality minimum and refuses all of it if any record fails. To submit every
good line of a large file and hear about the others, use `hashnode import`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from node.api.gen.hashnode.v1 import client_pb2, client_pb2_grpc, types_pb2
from node.cli.command_base import add_json_option, add_target_options, channel, print_json
from node.cli.contribution_file import read_contribution_file, record_from_fields
from node.cli.exit_codes import ExitCode
from node.cli.grpc_channel import submit_with_retries


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--hash", action="append", metavar="HEX", help="a hash to contribute (repeatable)")
    source.add_argument(
        "--file", type=Path, metavar="FILE", help="a .csv, .jsonl or threatexchange .txt file of records"
    )
    parser.add_argument("--type", default="pdq", help="signal type of --hash: pdq, md5, sha256, video_md5")
    parser.add_argument(
        "--quality", type=int, help="PDQ quality 0..100 of --hash (`hashnode hash` prints it)"
    )
    parser.add_argument(
        "--label", action="append", default=[], help="taxonomy label (repeatable, at least one)"
    )
    parser.add_argument("--tag", action="append", default=[], help="free tag (repeatable)")
    parser.add_argument("--reference", default="", help="your own opaque reference, e.g. a case id")
    parser.add_argument("--source", default="", help="where the hash comes from, e.g. proactive-detection")
    add_target_options(parser)
    add_json_option(parser)


# The option that sets each record field, for error messages.
OPTION_NAMES = {
    "signal_type": "--type",
    "value": "--hash",
    "quality": "--quality",
    "labels": "--label",
    "tags": "--tag",
    "reference": "--reference",
    "source": "--source",
}


def records_from_args(args: argparse.Namespace) -> list[types_pb2.HashRecord]:
    records = []
    for i, value in enumerate(args.hash):
        fields: dict[str, object] = {
            "signal_type": args.type,
            "value": value,
            "quality": args.quality,
            "labels": args.label,
            "tags": args.tag,
            "reference": args.reference,
            "source": args.source,
        }
        where = "" if len(args.hash) == 1 else f"--hash #{i + 1}: "
        records.append(record_from_fields(fields, where, OPTION_NAMES))
    return records


def run(args: argparse.Namespace) -> int:
    if args.file:
        records = read_contribution_file(
            args.file, default_labels=args.label, default_pdq_quality=args.quality
        )
    else:
        records = records_from_args(args)
    with channel(args) as opened:
        stub = client_pb2_grpc.HashNodeStub(opened)
        # Sent again with the same request id if the node is busy or slow: never signed twice (grpc_channel.py).
        response = submit_with_retries(stub, client_pb2.SubmitRequest(records=records), args.timeout)
    if args.json:
        print_json(
            {"entry_id": response.entry_id, "seq": response.seq, "record_ids": list(response.record_ids)}
        )
        return ExitCode.OK
    print(f"submitted {len(response.record_ids)} record(s) as entry {response.entry_id} (seq {response.seq})")
    for record, record_id in zip(records, response.record_ids, strict=True):
        print(f"  {record_id}  {record.signal_type} {record.value}")
    return ExitCode.OK
