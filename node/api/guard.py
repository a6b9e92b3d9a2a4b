"""Wrapping a gRPC method handler so a check runs before its behaviour, whatever the kind of RPC.

Server interceptors that decide per call (authentication, authorization) return the handler wrapped this way;
the check aborts the call through its context when it refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

_KINDS = (
    ("unary_unary", grpc.unary_unary_rpc_method_handler),
    ("unary_stream", grpc.unary_stream_rpc_method_handler),
    ("stream_unary", grpc.stream_unary_rpc_method_handler),
    ("stream_stream", grpc.stream_stream_rpc_method_handler),
)


def guarded(handler: Any, check: Callable[[grpc.ServicerContext], None]) -> Any:
    """`handler` with `check(context)` run before its behaviour, for each of the four kinds of RPC."""
    for attribute, make in _KINDS:
        behaviour = getattr(handler, attribute)
        if behaviour is not None:
            return make(_checked(behaviour, check), handler.request_deserializer, handler.response_serializer)
    return handler


def _checked(behaviour: Callable[[Any, Any], Any], check: Callable[[Any], None]) -> Callable[[Any, Any], Any]:
    def run(request: Any, context: grpc.ServicerContext) -> Any:
        check(context)
        return behaviour(request, context)

    return run
