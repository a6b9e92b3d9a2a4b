"""`hashnode keygen --out FILE`: create a member signing key."""

from __future__ import annotations

import argparse
from pathlib import Path

from node.cli.command_base import add_json_option, print_json
from node.cli.exit_codes import ExitCode
from node.core.keys import SigningKey


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, required=True, metavar="FILE", help="where to write the PEM key (0600)"
    )
    add_json_option(parser)


def run(args: argparse.Namespace) -> int:
    key = SigningKey.generate()
    key.save(args.out)
    public_key, key_id = key.public.raw.hex(), key.public.key_id.hex()
    if args.json:
        print_json({"path": str(args.out), "public_key": public_key, "key_id": key_id})
    else:
        print(f"wrote {args.out}")
        print(f"public key  {public_key}")
        print(f"key id      {key_id}")
        print(
            "add the public key to the consortium file as this member's public_key; keep the key file secret"
        )
    return ExitCode.OK
