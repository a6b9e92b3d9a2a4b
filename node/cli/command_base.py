"""What every `hashnode` command shares: exit codes, common options, the connection to a node, JSON output."""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc

from node.api import MAX_MESSAGE_BYTES
from node.core.errors import ConfigError
from node.membership.certificates import PEER_TLS_NAME

DEFAULT_TARGET = "127.0.0.1:50051"
DEFAULT_ADMIN_TARGET = "127.0.0.1:50052"
DEFAULT_TIMEOUT_S = 30.0
AUTHORIZATION = "authorization"


def default_target() -> str:
    return os.environ.get("HASHNODE_TARGET") or DEFAULT_TARGET


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


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


def read_token(path: Path) -> str:
    """The first token in a token file. Raises: ConfigError."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--token-file {path}: {exc}") from None
    tokens = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    if not tokens:
        raise ConfigError(f"--token-file {path}: holds no token")
    return tokens[0]


def _read_ca(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"--ca {path}: {exc.strerror or exc}") from None


class _BearerToken(
    grpc.UnaryUnaryClientInterceptor,  # type: ignore[misc]
    grpc.UnaryStreamClientInterceptor,  # type: ignore[misc]
    grpc.StreamUnaryClientInterceptor,  # type: ignore[misc]
    grpc.StreamStreamClientInterceptor,  # type: ignore[misc]
):
    """Adds `authorization: Bearer <token>` to every call (TLS or, on loopback dev nodes, plaintext)."""

    def __init__(self, token: str) -> None:
        self._header = (AUTHORIZATION, f"Bearer {token}")

    def _details(self, details: Any) -> Any:
        metadata = [*(details.metadata or ()), self._header]
        return _CallDetails(
            details.method,
            details.timeout,
            metadata,
            details.credentials,
            details.wait_for_ready,
            details.compression,
        )

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(self._details(details), requests)

    def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(self._details(details), requests)


class _CallDetails(
    collections.namedtuple(
        "_CallDetails", ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")
    ),
    grpc.ClientCallDetails,  # type: ignore[misc]
):
    pass


@contextmanager
def channel(target: str | argparse.Namespace) -> Iterator[grpc.Channel]:
    """A channel to a node: `--target`, over TLS when `--ca` names its certificate, presenting `--token-file`.

    A bare address gives a plaintext channel without credentials (a loopback development node).
    """
    args = target if isinstance(target, argparse.Namespace) else argparse.Namespace(target=target)
    options: list[tuple[str, object]] = [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ]
    ca, token_file = getattr(args, "ca", None), getattr(args, "token_file", None)
    if ca is not None:
        # Node certificates name `hashnode.peer`, whatever host they run on (docs/membership.md, "TLS"), and the
        # client listener's also the names its operator configured ([tls] client_names).
        options.append(("grpc.ssl_target_name_override", getattr(args, "tls_server_name", None) or PEER_TLS_NAME))
        opened = grpc.secure_channel(args.target, grpc.ssl_channel_credentials(_read_ca(ca)), options=options)
    else:
        opened = grpc.insecure_channel(args.target, options=options)
    with opened:
        yield (
            opened
            if token_file is None
            else grpc.intercept_channel(opened, _BearerToken(read_token(token_file)))
        )


def print_json(data: object) -> None:
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")
