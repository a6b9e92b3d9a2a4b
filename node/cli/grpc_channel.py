"""The gRPC channel the CLI calls a node on: TLS with the node's certificate and the name it carries, and the
bearer token on every call. Loaded by `node.cli.command_base.channel` only when a command calls a node."""

from __future__ import annotations

import argparse
import collections
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc

from node.api import MAX_MESSAGE_BYTES
from node.core.errors import ConfigError
from node.membership.tls_names import PEER_TLS_NAME

AUTHORIZATION = "authorization"
# Calls that read only are sent again when they fail with UNAVAILABLE: a load balancer in front of several
# followers answers so for a call in flight on a follower that died, which it cannot resend itself
# (docs/scale-out.md). Calls that sign something (Submit, Retract, Opine, Appeal, Decide) are never retried:
# the node may have signed before the failure, and a second call would sign again.
RETRIED_READS = (
    ("hashnode.v1.HashNode", "Match"),
    ("hashnode.v1.HashNode", "GetProvenance"),
    ("grpc.health.v1.Health", "Check"),
)
RETRY_SERVICE_CONFIG = json.dumps(
    {
        "methodConfig": [
            {
                "name": [{"service": service, "method": method} for service, method in RETRIED_READS],
                "retryPolicy": {
                    "maxAttempts": 3,
                    "initialBackoff": "0.05s",
                    "maxBackoff": "0.5s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ]
    }
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


def read_ca(path: Path) -> bytes:
    """The PEM certificate `--ca` names. Raises: ConfigError."""
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
def open_channel(args: argparse.Namespace) -> Iterator[grpc.Channel]:
    """`node.cli.command_base.channel`: see there."""
    options: list[tuple[str, object]] = [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.service_config", RETRY_SERVICE_CONFIG),
    ]
    ca, token_file = getattr(args, "ca", None), getattr(args, "token_file", None)
    if ca is not None:
        # Node certificates name `hashnode.peer`, whatever host they run on (docs/membership.md, "TLS"), and the
        # client listener's also the names its operator configured ([tls] client_names).
        options.append(("grpc.ssl_target_name_override", getattr(args, "tls_server_name", None) or PEER_TLS_NAME))
        opened = grpc.secure_channel(args.target, grpc.ssl_channel_credentials(read_ca(ca)), options=options)
    else:
        opened = grpc.insecure_channel(args.target, options=options)
    with opened:
        yield (
            opened
            if token_file is None
            else grpc.intercept_channel(opened, _BearerToken(read_token(token_file)))
        )
