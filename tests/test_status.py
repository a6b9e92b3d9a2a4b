"""The one table from hashnode errors to gRPC status codes, applied by the interceptor to every RPC kind."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent import futures

import grpc
import pytest

from node.api.gen.hashnode.v1 import types_pb2
from node.core import errors
from node.server.status import INTERNAL_MESSAGE, STATUS_CODES, ErrorStatusInterceptor, status_code

RAISES: dict[str, Callable[[], BaseException]] = {
    "invalid": lambda: errors.InvalidArgument("records[3].value", "zz", "64 hex characters"),
    "encoding": lambda: errors.EncodingError("entry header: truncated"),
    "not_found": lambda: errors.NotFound("record_id: no record"),
    "storage": lambda: errors.StorageError("the store is damaged"),
    "bug": lambda: KeyError("/secret/path/in/a/traceback"),
}


def all_error_classes() -> list[type[errors.HashnodeError]]:
    found, todo = [], [errors.HashnodeError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return [cls for cls in found if cls.__module__ == "node.core.errors"]


@pytest.mark.parametrize("cls", all_error_classes(), ids=lambda cls: cls.__name__)
def test_every_error_class_has_a_row_in_the_table(cls: type[errors.HashnodeError]) -> None:
    assert cls in STATUS_CODES


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (errors.InvalidArgument("f", 1, "2"), grpc.StatusCode.INVALID_ARGUMENT),
        (errors.VerificationError("x"), grpc.StatusCode.INVALID_ARGUMENT),
        (errors.EncodingError("x"), grpc.StatusCode.INVALID_ARGUMENT),
        (errors.NotFound("x"), grpc.StatusCode.NOT_FOUND),
        (errors.AlreadyExists("x"), grpc.StatusCode.ALREADY_EXISTS),
        (errors.PermissionDenied("x"), grpc.StatusCode.PERMISSION_DENIED),
        (errors.Unauthenticated("x"), grpc.StatusCode.UNAUTHENTICATED),
        (errors.FailedPrecondition("x"), grpc.StatusCode.FAILED_PRECONDITION),
        (errors.ResourceExhausted("x"), grpc.StatusCode.RESOURCE_EXHAUSTED),
        (errors.Unavailable("x"), grpc.StatusCode.UNAVAILABLE),
        (errors.ConfigError("x"), grpc.StatusCode.FAILED_PRECONDITION),
        (errors.StorageError("x"), grpc.StatusCode.INTERNAL),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else "",
)
def test_status_code_of_each_error(error: errors.HashnodeError, code: grpc.StatusCode) -> None:
    assert status_code(error) == code


def test_an_unlisted_subclass_inherits_its_parents_code() -> None:
    class Stale(errors.FailedPrecondition):
        pass

    assert status_code(Stale("x")) == grpc.StatusCode.FAILED_PRECONDITION


def _unary(request: bytes, context: grpc.ServicerContext) -> bytes:
    name = request.decode()
    if name == "aborts":
        context.abort(grpc.StatusCode.OUT_OF_RANGE, "aborted by the handler")
    if name == "ok":
        return b"fine"
    raise RAISES[name]()


def _stream(request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
    yield b"first"
    yield _unary(request, context)


def _bidi(requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
    for request in requests:
        yield _unary(request, context)


def _protobuf(data: bytes) -> bytes:
    """A request deserializer that refuses bytes, as a generated `FromString` does."""
    return types_pb2.HashRecord.FromString(data).SerializeToString()


def _parsed(request: bytes, context: grpc.ServicerContext) -> bytes:
    return b"parsed"


def _parsed_bidi(requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
    for _ in requests:
        yield b"parsed"


@pytest.fixture(scope="module")
def channel() -> Iterator[grpc.Channel]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), interceptors=[ErrorStatusInterceptor()])
    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(_unary),
        "Stream": grpc.unary_stream_rpc_method_handler(_stream),
        "Bidi": grpc.stream_stream_rpc_method_handler(_bidi),
        "Parsed": grpc.unary_unary_rpc_method_handler(_parsed, request_deserializer=_protobuf),
        "ParsedBidi": grpc.stream_stream_rpc_method_handler(_parsed_bidi, request_deserializer=_protobuf),
    }
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("test.Errors", handlers)])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as opened:
        yield opened
    server.stop(None).wait()


def call_unary(channel: grpc.Channel, name: str) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        channel.unary_unary("/test.Errors/Unary")(name.encode())
    return caught.value


def test_hashnode_error_becomes_its_code_with_its_message(channel: grpc.Channel) -> None:
    error = call_unary(channel, "invalid")
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "records[3].value: got zz, want 64 hex characters"


def test_unexpected_exception_is_internal_with_a_generic_message_and_a_logged_traceback(
    channel: grpc.Channel, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="node.server.status"):
        error = call_unary(channel, "bug")
    assert error.code() == grpc.StatusCode.INTERNAL
    assert error.details() == INTERNAL_MESSAGE
    assert "secret" not in error.details()
    assert any(record.exc_info and record.exc_info[0] is KeyError for record in caplog.records)


def test_storage_error_is_internal_but_keeps_its_message(channel: grpc.Channel) -> None:
    error = call_unary(channel, "storage")
    assert (error.code(), error.details()) == (grpc.StatusCode.INTERNAL, "the store is damaged")


def test_a_handlers_own_abort_passes_through_unchanged(channel: grpc.Channel) -> None:
    error = call_unary(channel, "aborts")
    assert (error.code(), error.details()) == (grpc.StatusCode.OUT_OF_RANGE, "aborted by the handler")


def test_server_streaming_errors_are_mapped_after_the_responses_already_sent(channel: grpc.Channel) -> None:
    received = []
    with pytest.raises(grpc.RpcError) as caught:
        for response in channel.unary_stream("/test.Errors/Stream")(b"not_found"):
            received.append(response)
    assert received == [b"first"]
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_bidi_streaming_errors_are_mapped(channel: grpc.Channel) -> None:
    received = []
    with pytest.raises(grpc.RpcError) as caught:
        for response in channel.stream_stream("/test.Errors/Bidi")(iter([b"ok", b"encoding", b"ok"])):
            received.append(response)
    assert received == [b"fine"]
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details() == "entry header: truncated"


def test_request_bytes_that_do_not_parse_are_invalid_argument_not_internal(channel: grpc.Channel) -> None:
    """gRPC itself answers a failing request deserializer with INTERNAL; the interceptor makes it the caller's
    error (found by fuzzing every RPC, bench/fuzz.py)."""
    assert channel.unary_unary("/test.Errors/Parsed")(b"") == b"parsed"
    with pytest.raises(grpc.RpcError) as caught:
        channel.unary_unary("/test.Errors/Parsed")(b"\xff\xff\xff")
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details() == (
        "request: got bytes that do not parse, want the request message of /test.Errors/Parsed"
    )
    received = []
    with pytest.raises(grpc.RpcError) as caught:
        for response in channel.stream_stream("/test.Errors/ParsedBidi")(iter([b"", b"\x0a\x05abc", b""])):
            received.append(response)
    assert received == [b"parsed"]
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
