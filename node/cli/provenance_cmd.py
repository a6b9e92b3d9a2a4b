"""`hashnode provenance RECORD_ID [--out bundle.json]`: fetch the offline-verifiable provenance of a record.

The bundle file format is the protobuf JSON mapping (google.protobuf.json_format, proto field names) of
`hashnode.v1.ProvenanceBundle` (protos/hashnode/v1/types.proto): bytes fields are base64, 64-bit integers are
strings. The signed content travels as the canonical bytes fields, so the JSON wrapper can be re-indented
without harm, while any change to those bytes fails verification. Anyone can check the file with `hashnode
verify`.

The bundle received is written, then read back and verified exactly as `hashnode verify` reads the file (without
an anchor: against the keys it carries).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from node.api import convert
from node.api.gen.hashnode.v1 import client_pb2, client_pb2_grpc
from node.cli import verify_cmd
from node.cli.command_base import add_json_option, add_target_options, channel
from node.cli.exit_codes import ExitCode
from node.core.errors import InvalidArgument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("record_id", metavar="RECORD_ID", help="a record id (64 hex characters) from a match")
    parser.add_argument("--out", type=Path, metavar="FILE", help="write the bundle file here")
    add_target_options(parser)
    add_json_option(parser)


def write_bundle(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InvalidArgument("--out", str(path), f"a writable path ({exc.strerror or exc})") from None


def run(args: argparse.Namespace) -> int:
    record_id = convert.parse_id(args.record_id, "RECORD_ID").hex()
    with channel(args) as opened:
        stub = client_pb2_grpc.HashNodeStub(opened)
        bundle = stub.GetProvenance(client_pb2.ProvenanceRequest(record_id=record_id), timeout=args.timeout)
    text = convert.bundle_to_json(bundle)
    if args.out:
        write_bundle(args.out, text)
    elif args.json:
        print(text, end="")  # the bundle itself is the JSON output
        return ExitCode.OK
    # The text written is read back by the one strict reader and verified as `hashnode verify` would.
    code = verify_cmd.report(text.encode("utf-8"), None, None, args.json)
    if args.out and not args.json:
        print(
            f"wrote {args.out}; verify it anywhere: hashnode verify {args.out} --consortium CONSORTIUM.toml"
        )
    return code
