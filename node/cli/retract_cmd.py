"""`hashnode retract RECORD_ID... --reason TEXT`: withdraw records this member contributed.

The retraction is one signed entry of this member, replicated to every node: each stops matching the records for
good, and exchanges that follow the node (python-threatexchange, HMA) delete them at their next fetch. Only a
record's contributor retracts it; another member disputes it instead (`hashnode dispute`). The reason is shared
with every member: no personal data. `--file` takes the record ids from a file, one per line (e.g. the
`record_id` column of `hashnode export`, or the record ids `hashnode import --json` printed).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from node.cli.command_base import add_json_option, add_target_options, channel, print_json
from node.cli.exit_codes import ExitCode
from node.core.errors import InvalidArgument

MAX_IDS = 10_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("record_ids", nargs="*", metavar="RECORD_ID", help="records to retract (64 hex characters)")
    parser.add_argument("--file", type=Path, metavar="FILE", help="also the record ids in FILE, one per line")
    parser.add_argument("--reason", default="", help="why, for the other members (no personal data)")
    add_target_options(parser)
    add_json_option(parser)


def record_ids(args: argparse.Namespace) -> list[str]:
    """The ids to retract, each checked, in order, once. Raises: InvalidArgument."""
    named: list[tuple[str, str]] = [(text, f"RECORD_ID #{i + 1}") for i, text in enumerate(args.record_ids)]
    if args.file is not None:
        try:
            lines = args.file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidArgument("--file", str(args.file), f"a readable text file ({exc})") from None
        named += [(line.strip(), f"{args.file}:{n}") for n, line in enumerate(lines, 1) if line.strip()]
    if not named:
        raise InvalidArgument("RECORD_ID", "nothing", "at least one record id (or --file)")
    if len(named) > MAX_IDS:
        raise InvalidArgument("RECORD_ID", f"{len(named)} ids", f"at most {MAX_IDS} per retraction")
    from node.api.convert import parse_id

    ids = [parse_id(text, where).hex() for text, where in named]
    return list(dict.fromkeys(ids))


def run(args: argparse.Namespace) -> int:
    from node.api.gen.hashnode.v1 import client_pb2, client_pb2_grpc

    ids = record_ids(args)
    request = client_pb2.RetractRequest(record_ids=ids, reason=args.reason)
    with channel(args) as opened:
        response = client_pb2_grpc.HashNodeStub(opened).Retract(request, timeout=args.timeout)
    if args.json:
        print_json({"entry_id": response.entry_id, "seq": response.seq, "record_ids": ids})
    else:
        print(f"retracted {len(ids)} record(s) in entry {response.entry_id} (seq {response.seq})")
    return ExitCode.OK
