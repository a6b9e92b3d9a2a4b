"""What every `hashnode` command shares: exit codes, common options, the connection to a node, JSON output."""

from __future__ import annotations

import argparse
import enum
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import grpc

from node.api import MAX_MESSAGE_BYTES

DEFAULT_TARGET = "127.0.0.1:50051"
DEFAULT_TIMEOUT_S = 30.0


class ExitCode(enum.IntEnum):
    OK = 0
    FAILURE = 1  # the operation failed (node refused, verification failed, node unreachable)
    USAGE = 2  # the user's input is wrong (arguments, files, config)
    INTERRUPTED = 130  # Ctrl-C


def default_target() -> str:
    return os.environ.get("HASHNODE_TARGET") or DEFAULT_TARGET


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON instead of text")


def add_target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--target",
        default=default_target(),
        metavar="HOST:PORT",
        help="the node to call (default: $HASHNODE_TARGET, else %(default)s)",
    )
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="SECONDS", help="deadline of each call"
    )


@contextmanager
def channel(target: str) -> Iterator[grpc.Channel]:
    """An insecure channel to a node (nodes serve their platform's own systems; TLS is up to deployments)."""
    options = [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ]
    with grpc.insecure_channel(target, options=options) as opened:
        yield opened


def print_json(data: object) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")
