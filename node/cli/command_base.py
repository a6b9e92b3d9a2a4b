"""What every `hashnode` command shares: exit codes, common options, the connection to a node, JSON output."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from node.membership.tls_names import PEER_TLS_NAME

DEFAULT_TARGET = "127.0.0.1:50051"
DEFAULT_ADMIN_TARGET = "127.0.0.1:50052"
DEFAULT_TIMEOUT_S = 30.0


def default_target() -> str:
    return os.environ.get("HASHNODE_TARGET") or DEFAULT_TARGET


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


def add_config_options(parser: argparse.ArgumentParser, help: str = "the node's TOML config") -> None:
    """--config FILE, and --data-dir DIR overriding its `[node] data_dir`."""
    parser.add_argument("--config", type=Path, required=True, metavar="FILE", help=help)
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="where the node keeps its store (default: [node] data_dir, else $XDG_STATE_HOME/hashnode/MEMBER_ID)",
    )


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON instead of text")


def add_target_options(parser: argparse.ArgumentParser, *, admin: bool = False) -> None:
    """--target, --timeout and the credentials: --token-file and --ca (client API or, with `admin`, the
    operator's admin API)."""
    env = "HASHNODE_ADMIN" if admin else "HASHNODE"
    default = os.environ.get(f"{env}_TARGET") or (DEFAULT_ADMIN_TARGET if admin else DEFAULT_TARGET)
    what = "the node's admin listener" if admin else "the node"
    parser.add_argument(
        "--target",
        default=default,
        metavar="HOST:PORT",
        help=f"{what} (default: ${env}_TARGET, else %(default)s)",
    )
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="SECONDS", help="deadline of each call"
    )
    token = "the operator's token ([admin] token_file)" if admin else "a client token ([clients] token_file)"
    parser.add_argument(
        "--token-file",
        type=Path,
        default=_env_path(f"{env}_TOKEN_FILE"),
        metavar="FILE",
        help=f"file holding {token} (default: ${env}_TOKEN_FILE)",
    )
    parser.add_argument(
        "--ca",
        type=Path,
        default=_env_path("HASHNODE_CA"),
        metavar="FILE",
        help="the node's TLS certificate (PEM) to trust: use TLS (default: $HASHNODE_CA; none: plaintext)",
    )
    parser.add_argument(
        "--tls-server-name",
        default=os.environ.get("HASHNODE_TLS_SERVER_NAME") or PEER_TLS_NAME,
        metavar="NAME",
        help="with --ca: the name the node's certificate must carry (default: $HASHNODE_TLS_SERVER_NAME, else "
        "%(default)s, which every node's carries)",
    )


@contextmanager
def channel(target: str | argparse.Namespace) -> Iterator[Any]:
    """A gRPC channel to a node: `--target`, over TLS when `--ca` names its certificate, presenting `--token-file`.

    A bare address gives a plaintext channel without credentials (a loopback development node). gRPC is loaded
    here, by the commands that call a node, and not by `hashnode --help` or a command's `--help`.
    """
    from node.cli.grpc_channel import open_channel

    args = target if isinstance(target, argparse.Namespace) else argparse.Namespace(target=target)
    with open_channel(args) as opened:
        yield opened


def print_json(data: object) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")
