"""The one table from hashnode errors to gRPC status codes, and the interceptor that applies it to every RPC.

Servicers raise `node.core.errors` exceptions and never pick status codes themselves. An exception that is not a
`HashnodeError` is a bug: it is logged with its traceback and the caller gets INTERNAL with a generic message,
so that no internals (paths, stack frames) leak to clients. One exception is not a bug: the `grpc.RpcError` a
request iterator raises once the caller has cancelled or gone away (or the server cancelled the call at the end
of its shutdown grace) passes through unlogged; the metrics count the call CANCELLED.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from node.core import errors
from node.server.handlers import rewrap

log = logging.getLogger(__name__)

INTERNAL_MESSAGE = "internal error; the node operator can find the details in the node's log"

# Looked up along the exception's MRO, so a subclass inherits its parent's code unless listed itself.
STATUS_CODES: dict[type[errors.HashnodeError], grpc.StatusCode] = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    # Data the caller sent (a bundle, an entry) does not verify or decode: the caller's argument is bad.
    errors.VerificationError: grpc.StatusCode.INVALID_ARGUMENT,
    errors.EncodingError: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
    errors.DeadlineExceeded: grpc.StatusCode.DEADLINE_EXCEEDED,
    # The node's own configuration does not allow the operation (e.g. a follower asked to author).
    errors.ConfigError: grpc.StatusCode.FAILED_PRECONDITION,
    # Damaged stored bytes: whatever the answer would be, it could be wrong (a miss for a record that is there),
    # so none is given. Checked before StorageError (its parent) by the MRO lookup.
    errors.DataCorruption: grpc.StatusCode.DATA_LOSS,
    # A broken or full store is the node's fault, not the caller's, and retrying will not help: INTERNAL. The
    # message is still ours (no traceback), and the operator needs to see it, so it is logged too.
    errors.StorageError: grpc.StatusCode.INTERNAL,
    # A HashnodeError subclass someone adds without a row here: still a deliberate message, code unknown.
    errors.HashnodeError: grpc.StatusCode.UNKNOWN,
}


def status_code(exc: errors.HashnodeError) -> grpc.StatusCode:
    """The status code of an error: the row of the nearest class in its MRO."""
    for cls in type(exc).__mro__:
        code = STATUS_CODES.get(cls)
        if code is not None:
            return code
    return grpc.StatusCode.UNKNOWN  # unreachable: HashnodeError is in the table


def _abort(context: grpc.ServicerContext, exc: BaseException, method: str) -> None:
    """Aborts the RPC with the status the exception maps to. Always raises."""
    if isinstance(exc, errors.HashnodeError):
        code = status_code(exc)
        if code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DATA_LOSS):
            log.error("%s failed: %s: %s", method, type(exc).__name__, exc.diagnostics())
        context.abort(code, exc.diagnostics())
    log.error("%s failed with an unexpected exception", method, exc_info=exc)
    context.abort(grpc.StatusCode.INTERNAL, INTERNAL_MESSAGE)


def _caller_gone(context: grpc.ServicerContext, exc: BaseException) -> bool:
    """True when `exc` is gRPC telling the handler that the call is over without it: the caller cancelled or
    disconnected, its deadline passed, or the server's shutdown grace ended. Nobody is left to answer."""
    return isinstance(exc, grpc.RpcError) and not context.is_active()


def _already_aborted(context: grpc.ServicerContext) -> bool:
    """True when the handler itself called context.abort (whose exception must pass through unchanged)."""
    code = context.code()
    return code is not None and code != grpc.StatusCode.OK


Behavior = Callable[[Any, grpc.ServicerContext], Any]
Deserializer = Callable[[bytes], Any]


class _Undecodable:
    """Stands in for request bytes the method's deserializer refused (see `_tolerant`)."""


def _tolerant(deserializer: Deserializer | None) -> Deserializer | None:
    """The method's request deserializer, returning `_Undecodable` instead of raising.

    gRPC answers a deserializer's exception with INTERNAL ("Exception deserializing request!") before any
    handler runs; but bytes that are not the request message are the caller's fault. The handler (after the
    authorization check, so that a stranger learns nothing) turns the stand-in into INVALID_ARGUMENT.
    """
    if deserializer is None:
        return None

    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception:  # protobuf's DecodeError, or whatever a custom deserializer raises
            return _Undecodable()

    return deserialize


def _decoded(request: Any, method: str) -> Any:
    if isinstance(request, _Undecodable):
        raise errors.InvalidArgument("request", "bytes that do not parse", f"the request message of {method}")
    return request


def _decoded_stream(requests: Iterator[Any], method: str) -> Iterator[Any]:
    for request in requests:
        yield _decoded(request, method)


def _checked_requests(request: Any, method: str, streaming: bool) -> Any:
    return _decoded_stream(request, method) if streaming else _decoded(request, method)


def _wrap_unary(behavior: Behavior, method: str, streaming_requests: bool = False) -> Behavior:
    def handler(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return behavior(_checked_requests(request, method, streaming_requests), context)
        except Exception as exc:
            if _already_aborted(context) or _caller_gone(context, exc):
                raise  # gRPC knows these exceptions and ends the call without logging them
            _abort(context, exc, method)

    return handler


def _wrap_streaming(behavior: Behavior, method: str, streaming_requests: bool = False) -> Behavior:
    def handler(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        try:
            yield from behavior(_checked_requests(request, method, streaming_requests), context)
        except Exception as exc:
            if _already_aborted(context) or _caller_gone(context, exc):
                raise  # gRPC knows these exceptions and ends the call without logging them
            _abort(context, exc, method)

    return handler


class ErrorStatusInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]
    """Maps exceptions escaping any servicer method, unary or streaming, through `STATUS_CODES`; request bytes
    that do not decode are INVALID_ARGUMENT."""

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        wrap = _wrap_streaming if handler.response_streaming else _wrap_unary
        return rewrap(
            handler,
            lambda behaviour: wrap(behaviour, method, handler.request_streaming),
            request_deserializer=_tolerant(handler.request_deserializer),
        )
