"""The gRPC channel the CLI calls a node on: TLS with the node's certificate and the name it carries, and the
bearer token on every call. Loaded by `node.cli.command_base.channel` only when a command calls a node."""

from __future__ import annotations

import argparse
import collections
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc

from node.api import MAX_MESSAGE_BYTES
from node.api.gen.hashnode.v1 import client_pb2, client_pb2_grpc
from node.core.errors import ConfigError
from node.membership.tls_names import PEER_TLS_NAME

AUTHORIZATION = "authorization"
# Calls that read only are sent again when they fail with UNAVAILABLE: a load balancer in front of several
# followers answers so for a call in flight on a follower that died, which it cannot resend itself
# (docs/scale-out.md); and with RESOURCE_EXHAUSTED, a busy node's refusal, after the wait its
# `grpc-retry-pushback-ms` asks for (gRPC's retries honour it). Submit is sent again by `submit_with_retries`
# under the same request id, which the node answers with the first attempt's result. Other calls that sign
# something (Retract, Opine, Appeal, Decide) are never retried: the node may have signed before the failure,
# and a second call would sign again.
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
                    "maxAttempts": 5,
                    "initialBackoff": "0.05s",
                    "maxBackoff": "0.5s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE", "RESOURCE_EXHAUSTED"],
                },
            }
        ]
    }
)


# A submission is sent again, under its request id, after these: the node was busy or unreachable, or the
# answer did not come in time (the first attempt may or may not have been committed; the id makes that safe).
RETRIED_SUBMIT_CODES = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.DEADLINE_EXCEEDED}
)
SUBMIT_ATTEMPTS = 6
RETRY_AFTER_KEY = "retry-after-ms"
MAX_RETRY_WAIT_S = 10.0


def new_request_id() -> str:
    """A fresh request id for one submission (sent again unchanged with each retry of it)."""
    return uuid.uuid4().hex


def retry_wait_s(exc: grpc.RpcError, attempt: int) -> float:
    """How long to wait before attempt `attempt + 1`: the node's hint (`retry-after-ms`) if it gave one, else an
    exponential backoff from 100 ms; with up to 50% jitter, so that refused clients do not return together."""
    hint = None
    for key, value in exc.trailing_metadata() or ():
        if key == RETRY_AFTER_KEY and str(value).isdigit():
            hint = int(value) / 1000
    base = hint if hint is not None else 0.1 * 2**attempt
    return float(min(MAX_RETRY_WAIT_S, base * (1 + random.random() / 2)))


def submit_with_retries(
    stub: client_pb2_grpc.HashNodeStub,
    request: client_pb2.SubmitRequest,
    timeout: float | None,
    *,
    attempts: int = SUBMIT_ATTEMPTS,
    sleep: Callable[[float], None] = time.sleep,
) -> client_pb2.SubmitResponse:
    """Submit, sent again on UNAVAILABLE, RESOURCE_EXHAUSTED or DEADLINE_EXCEEDED (up to `attempts` in all) with
    the same request id, which it sets if the request has none. Raises: grpc.RpcError (the last failure)."""
    if not request.request_id:
        request.request_id = new_request_id()
    for attempt in range(attempts):
        try:
            response: client_pb2.SubmitResponse = stub.Submit(request, timeout=timeout)
            return response
        except grpc.RpcError as exc:
            if exc.code() not in RETRIED_SUBMIT_CODES or attempt == attempts - 1:
                raise
            sleep(retry_wait_s(exc, attempt))
    raise AssertionError("unreachable")


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
