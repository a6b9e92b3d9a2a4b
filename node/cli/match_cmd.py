"""`hashnode match`: look hashes up in a node's database. Nothing about the query leaves that node.

`hashnode match HASH...` matches hashes of one `--type` (pdq by default). `hashnode match --file IMAGE...`
hashes images locally (PDQ, MD5, SHA-256; needs the `hashing` extra) and matches all three; with `--dihedral`
it also matches the PDQ hashes of the image's 8 rotations and flips and reports which transform matched.

The module imports only what parsing its arguments needs; the wire code (gRPC, protobuf) is loaded when it calls
a node, and the image hashing when `--file` is given (bench/cli_startup.py measures the start-up).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from node.cli.command_base import add_json_option, add_target_options, channel, print_json
from node.cli.exit_codes import ExitCode
from node.core.content_ref import check_content_ref
from node.core.errors import InvalidArgument
from node.core.signals import typed_signal_type, typed_value

if TYPE_CHECKING:
    from node.api.gen.hashnode.v1 import client_pb2

MAX_THRESHOLD = 64


@dataclass(frozen=True)
class LocalQuery:
    """A query and where it came from, to explain a match to a person."""

    signal_type: str
    value: str
    file: str = ""
    transform: str = ""

    def describe(self) -> str:
        origin = ", ".join(part for part in (self.file, self.transform and f"as {self.transform}") if part)
        return f"{self.signal_type} {self.value}" + (f"  ({origin})" if origin else "")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("hashes", nargs="*", metavar="HASH", help="hex hashes of --type")
    parser.add_argument(
        "--type",
        default="pdq",
        help="signal type of HASH: pdq, md5, sha256, video_md5 (any case; the node is sent the exact name)",
    )
    parser.add_argument(
        "--file", nargs="+", type=Path, default=[], metavar="IMAGE", help="hash images locally"
    )
    parser.add_argument("--dihedral", action="store_true", help="with --file: also match rotations and flips")
    parser.add_argument("--threshold", type=int, help="PDQ Hamming distance 0..64 (default: the node's, 31)")
    parser.add_argument(
        "--content-ref",
        default="",
        metavar="REF",
        help="your reference for the content the HASHes come from, kept in the node's match log for "
        "reinstatement notices (--file uses the file name)",
    )
    add_target_options(parser)
    add_json_option(parser)


def queries_from_hashes(hashes: list[str], type_name: str) -> list[LocalQuery]:
    kind = typed_signal_type(type_name, "--type")
    return [
        LocalQuery(kind.name, kind.parse(typed_value(text), f"HASH #{i + 1}").hex()) for i, text in enumerate(hashes)
    ]


def queries_from_files(paths: list[Path], *, dihedral: bool) -> list[LocalQuery]:
    from node.hashing import digests, image  # image hashing (Pillow, pdqhash) only when files are hashed

    queries = []
    for path in paths:
        md5, sha256 = digests.file_digests(path)
        if dihedral:
            queries += [
                LocalQuery("pdq", value, str(path), name) for name, value, _ in image.pdq_dihedral(path)
            ]
        else:
            queries.append(LocalQuery("pdq", image.pdq_hash(path)[0], str(path)))
        queries += [LocalQuery("md5", md5, str(path)), LocalQuery("sha256", sha256, str(path))]
    return queries


def local_queries(args: argparse.Namespace) -> list[LocalQuery]:
    if bool(args.hashes) == bool(args.file):
        raise InvalidArgument(
            "HASH / --file", "both" if args.hashes else "neither", "hashes or --file IMAGE..."
        )
    if args.dihedral and not args.file:
        raise InvalidArgument(
            "--dihedral", "without --file", "--file IMAGE... (it hashes the image's variants)"
        )
    if args.threshold is not None and not 0 <= args.threshold <= MAX_THRESHOLD:
        raise InvalidArgument("--threshold", args.threshold, f"0..{MAX_THRESHOLD}")
    if args.file:
        return queries_from_files(args.file, dihedral=args.dihedral)
    return queries_from_hashes(args.hashes, args.type)


def _print_human(queries: list[LocalQuery], response: client_pb2.MatchResponse) -> None:
    from node.cli.display import record_line

    matched = 0
    for query, result in zip(queries, response.results, strict=True):
        count = len(result.matches)
        matched += bool(count)
        print(f"{query.describe()}: " + (f"{count} match(es)" if count else "no match"))
        for match in result.matches:
            mark = "  DISPUTED: a case is open, review before acting" if match.disputed else ""
            print(f"  distance {match.distance:>2}  {record_line(match.record)}{mark}")
            print("".join(f"    policy: {note}\n" for note in match.policy), end="")
        if result.query_id:
            print(f"  logged as query {result.query_id}")
    print(f"{matched} of {len(queries)} queries matched")


def _as_json(queries: list[LocalQuery], response: client_pb2.MatchResponse) -> list[dict[str, object]]:
    from node.cli.display import record_info_json

    return [
        {
            "query": {
                "signal_type": q.signal_type,
                "value": q.value,
                "file": q.file,
                "transform": q.transform,
            },
            "query_id": result.query_id,
            "matches": [
                {
                    "distance": m.distance,
                    **record_info_json(m.record),
                    "policy": list(m.policy),
                    "disputed": m.disputed,
                }
                for m in result.matches
            ],
        }
        for q, result in zip(queries, response.results, strict=True)
    ]


def run(args: argparse.Namespace) -> int:
    # The wire code is loaded here, not at import: `hashnode match --help` needs none of it.
    from node.api.gen.hashnode.v1 import client_pb2, client_pb2_grpc

    queries = local_queries(args)
    content_ref = check_content_ref(args.content_ref, "--content-ref")
    request = client_pb2.MatchRequest(
        queries=[
            client_pb2.HashQuery(signal_type=q.signal_type, value=q.value, content_ref=q.file or content_ref)
            for q in queries
        ],
        pdq_threshold=args.threshold,
        include_records=True,  # a person reads what each match is
    )
    with channel(args) as opened:
        response = client_pb2_grpc.HashNodeStub(opened).Match(request, timeout=args.timeout)
    if args.json:
        print_json(_as_json(queries, response))
    else:
        _print_human(queries, response)
    return ExitCode.OK
