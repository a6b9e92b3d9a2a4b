"""Wrapping gRPC method handlers, whatever the kind of RPC: the one mechanism every interceptor uses.

An interceptor that acts per call (authentication, authorization, error mapping, metrics) returns the handler
`rewrap`ped: the same kind of handler with its behaviour wrapped. `guarded` is the common case of a check that
runs first and aborts the call through its context when it refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

Behaviour = Callable[[Any, grpc.ServicerContext], Any]

# (request streaming, response streaming) -> (the handler's attribute holding the behaviour, its factory)
_FACTORIES: dict[tuple[bool, bool], tuple[str, Callable[..., grpc.RpcMethodHandler]]] = {
    (False, False): ("unary_unary", grpc.unary_unary_rpc_method_handler),
    (False, True): ("unary_stream", grpc.unary_stream_rpc_method_handler),
    (True, False): ("stream_unary", grpc.stream_unary_rpc_method_handler),
    (True, True): ("stream_stream", grpc.stream_stream_rpc_method_handler),
}


def rewrap(
    handler: Any,
    wrap: Callable[[Behaviour], Behaviour],
    *,
    request_deserializer: Callable[[bytes], Any] | None = None,
) -> Any:
    """`handler` with its behaviour replaced by `wrap(behaviour)` (and, if given, its request deserializer)."""
    attribute, factory = _FACTORIES[(handler.request_streaming, handler.response_streaming)]
    return factory(
        wrap(getattr(handler, attribute)),
        request_deserializer=request_deserializer or handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


def guarded(handler: Any, check: Callable[[grpc.ServicerContext], None]) -> Any:
    """`handler` with `check(context)` run before its behaviour."""
    return rewrap(handler, lambda behaviour: _checked(behaviour, check))


def _checked(behaviour: Behaviour, check: Callable[[grpc.ServicerContext], None]) -> Behaviour:
    def run(request: Any, context: grpc.ServicerContext) -> Any:
        check(context)
        return behaviour(request, context)

    return run
