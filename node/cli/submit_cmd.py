"""`hashnode submit`: contribute hashes to the consortium through a node, as one signed entry.

From arguments: `--type pdq --hash HEX --quality 100 --label L [--label ...] [--tag T] [--reference R]
[--source S]` (`--hash` may repeat; every hash gets the same metadata). From a file: `--file F` (.csv,
.jsonl or .txt: the formats of `hashnode import`, read by `node.interchange.formats`, vpdq feature lists included;
`--label` and `--quality` then apply to lines that give none). From a video: `--file VIDEO.mp4` (any extension of
`VIDEO_EXTENSIONS`) hashes it here with vPDQ, one frame every `--interval-ms` (default 1000; 0 every frame; `auto`
the finest sampling that keeps the video within a feature list's 6000 frames), and submits one vpdq record with
the `--label`/`--tag`/`--reference`/`--source` given; the video itself never leaves this machine.
Every record is checked before anything is sent; the node then checks the batch against its taxonomy and quality
minimum and refuses all of it if any record fails. To submit every good line of a large file and hear about the
others, use `hashnode import`.

The request id (client.proto `SubmitRequest.request_id`) is by default derived from the submission's content
(`content_request_id`): running the same `hashnode submit` again, e.g. after it was killed or lost its connection
mid-call, returns the first run's entry and record ids instead of contributing every record a second time, as
long as the node still keeps the id (7 days). `--request-id ID` sets the id; `--new` sends a fresh one, to
contribute records identical to an earlier submission again on purpose (e.g. after retracting them).
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Sequence
from pathlib import Path

from node.api import convert
from node.api.gen.hashnode.v1 import client_pb2, client_pb2_grpc, types_pb2
from node.cli.command_base import add_json_option, add_target_options, channel, print_json
from node.cli.contribution_file import CLIENT_TAXONOMY, read_contribution_file, record_from_fields
from node.cli.exit_codes import ExitCode
from node.cli.grpc_channel import new_request_id, submit_with_retries
from node.core.errors import InvalidArgument
from node.core.records import HashRecord
from node.core.vpdq import VpdqFeatures

# Files `--file` hashes as a video rather than reading as a hash list.
VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".flv", ".wmv", ".mpg", ".mpeg", ".ts", ".3gp"}
)
DEFAULT_INTERVAL_MS = 1000  # python-threatexchange's vpdq default: one frame per second


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--hash", action="append", metavar="HEX", help="a hash to contribute (repeatable)")
    source.add_argument(
        "--file", type=Path, metavar="FILE",
        help="a .csv, .jsonl or threatexchange .txt file of records, or a video (.mp4, .mov, ...) to hash with vPDQ",
    )
    parser.add_argument(
        "--interval-ms", default=str(DEFAULT_INTERVAL_MS), metavar="MS",
        help="video sampling: hash one frame every MS milliseconds, 0 every frame, auto the finest that keeps the "
        f"video within 6000 frames (default {DEFAULT_INTERVAL_MS})",
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
    request = parser.add_mutually_exclusive_group()
    request.add_argument(
        "--request-id", metavar="ID",
        help="the submission's request id (1..128 printable ASCII characters, no spaces); by default one derived "
        "from the records, so that running the same submission again returns the first result",
    )
    request.add_argument(
        "--new", action="store_true",
        help="a fresh request id: contribute again records identical to an earlier submission (e.g. after "
        "retracting them) instead of getting the earlier submission's result",
    )
    add_target_options(parser)
    add_json_option(parser)


def content_request_id(records: Sequence[types_pb2.HashRecord]) -> str:
    """The request id of a submission of `records`, derived from their content alone: SHA-256 over each record's
    fields (signal type, value, quality, labels and tags as sets, reference, source, a video's features; no
    member, no time), length-prefixed, in order. The same records submitted by the same member get the same id,
    so that a re-run returns the first result. Nothing is checked here: the node checks the records.
    """
    digest = hashlib.sha256(b"hashnode submit request id\0")
    for msg in records:
        video = msg.video.SerializeToString(deterministic=True) if msg.HasField("video") else b""
        fields = (
            msg.signal_type.encode(), msg.value.encode(), str(msg.quality).encode(),
            "\n".join(sorted(set(msg.labels))).encode(), "\n".join(sorted(set(msg.tags))).encode(),
            msg.reference.encode(), msg.source.encode(), video,
        )  # fmt: skip
        for value in fields:
            digest.update(len(value).to_bytes(8, "big") + value)
    return "sha256-" + digest.hexdigest()


def request_id_of(args: argparse.Namespace, records: Sequence[types_pb2.HashRecord]) -> str:
    """The request id to send: `--request-id`, a fresh one with `--new`, else the content's. Raises:
    InvalidArgument."""
    if args.new:
        return new_request_id()
    if args.request_id is None:
        return content_request_id(records)
    if not 0 < len(args.request_id) <= convert.MAX_REQUEST_ID or not all(" " < c <= "~" for c in args.request_id):
        raise InvalidArgument(
            "--request-id", args.request_id, f"1..{convert.MAX_REQUEST_ID} printable ASCII characters without spaces"
        )
    return str(args.request_id)


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


def video_record(args: argparse.Namespace) -> types_pb2.HashRecord:
    """The vpdq record of the video `args.file`, hashed here (node.hashing.video)."""
    try:
        from node.hashing.video import hash_video, parse_interval  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:  # the `video` extra is not installed
        raise InvalidArgument(
            "--file", str(args.file), f"a hash list: this installation cannot hash videos ({exc.msg})"
        ) from None
    interval: int | None = parse_interval(args.interval_ms)
    features: VpdqFeatures = hash_video(args.file, interval_ms=interval, option="--interval-ms")
    record = HashRecord.create(
        signal_type_name="vpdq", value_hex="", quality=0, labels=args.label, tags=args.tag,
        reference=args.reference, source=args.source, taxonomy=CLIENT_TAXONOMY, min_pdq_quality=0,
        video=features, field=str(args.file),
    )  # fmt: skip
    return convert.record_to_proto(record)


def is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_EXTENSIONS


def describe(record: types_pb2.HashRecord) -> str:
    if record.signal_type == "vpdq":
        return f"vpdq {convert.features_from_proto(record.video, 'video').summary()}"
    return f"{record.signal_type} {record.value}"


def run(args: argparse.Namespace) -> int:
    if args.file and is_video(args.file):
        records = [video_record(args)]
    elif args.file:
        records = read_contribution_file(
            args.file, default_labels=args.label, default_pdq_quality=args.quality
        )
    else:
        records = records_from_args(args)
    request_id = request_id_of(args, records)
    with channel(args) as opened:
        stub = client_pb2_grpc.HashNodeStub(opened)
        # Sent again with the same request id if the node is busy or slow: never signed twice (grpc_channel.py).
        request = client_pb2.SubmitRequest(records=records, request_id=request_id)
        response = submit_with_retries(stub, request, args.timeout)
    if args.json:
        print_json(
            {
                "entry_id": response.entry_id,
                "seq": response.seq,
                "record_ids": list(response.record_ids),
                "request_id": request_id,
            }
        )
        return ExitCode.OK
    print(
        f"submitted {len(response.record_ids)} record(s) as entry {response.entry_id} "
        f"(seq {response.seq}, request id {request_id})"
    )
    for record, record_id in zip(records, response.record_ids, strict=True):
        print(f"  {record_id}  {describe(record)}")
    return ExitCode.OK
