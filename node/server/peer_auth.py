"""The peer listener's check that every call comes from an active member's certificate, now."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import grpc

from node.core.errors import Unauthenticated
from node.membership.trust import TrustStore
from node.network.tls import authenticated_member
from node.server.handlers import guarded


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class PeerAuthInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]
    """Refuses, with UNAUTHENTICATED, every call whose peer certificate is not an active member's now."""

    def __init__(self, store: TrustStore, clock: Callable[[], int] = _wall_clock_ms) -> None:
        self._store = store
        self._clock = clock

    def _check(self, context: grpc.ServicerContext) -> None:
        try:
            authenticated_member(context, self._store.get(), self._clock())
        except Unauthenticated as exc:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, exc.message)

    def intercept_service(self, continuation: Callable[[Any], Any], handler_call_details: Any) -> Any:
        handler = continuation(handler_call_details)
        return None if handler is None else guarded(handler, self._check)
