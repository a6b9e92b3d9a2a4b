"""The node's readiness, as the standard gRPC health service (grpc.health.v1) reports it.

A node is SERVING only when it can answer correctly; otherwise NOT_SERVING, the reason in `HealthState.phase`:

| phase         | health      | when                                                       | client RPCs |
| ------------- | ----------- | ---------------------------------------------------------- | ----------- |
| starting      | NOT_SERVING | the store is open, the PDQ index is still being built      | UNAVAILABLE |
| catching_up   | NOT_SERVING | a component (replication) reports the node behind its peers | answered    |
| serving       | SERVING     | ready                                                      | answered    |
| damaged       | NOT_SERVING | a read met damaged bytes in the store (DATA_LOSS answered)  | answered    |
| shutting_down | NOT_SERVING | SIGTERM/SIGINT received; in-flight calls drain, then exit  | draining    |

Every service name the node registers reports the same status as the overall ("") entry. While catching up,
the node still answers (its data is correct, only incomplete): the status lets a load balancer prefer a node
that is up to date. While starting, client RPCs are refused by `StartupGate`, because an index that is not
built yet would answer "no match" for hashes the node holds.

Other components mark the node behind with `set_catching_up(source, True)` and clear it with `False`; the node
is catching up while any source says so. Shutting down is final; so is damaged (until the operator restores
the store and restarts the node: docs/operator-guide.md): a call that touches the damage fails with DATA_LOSS,
others are still answered, and the status tells a load balancer to send the traffic to another node.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Iterable
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2

STARTING_MESSAGE = "the node is starting (building its PDQ index); retry in a moment"
# Services a starting node still answers: the health service itself, and reflection (what a client can call).
ALWAYS_OPEN = ("/grpc.health.v1.Health/", "/grpc.reflection.")


class Phase(enum.Enum):
    STARTING = "starting"
    CATCHING_UP = "catching_up"
    SERVING = "serving"
    DAMAGED = "damaged"
    SHUTTING_DOWN = "shutting_down"


class ListingHealthServicer(health.HealthServicer):  # type: ignore[misc]
    """The standard health servicer with List, which grpc.health.v1 defines and the installed grpcio-health-checking
    answers UNIMPLEMENTED: every service name this node reports on, with the status Check would give."""

    def List(self, request: health_pb2.HealthListRequest, context: grpc.ServicerContext) -> Any:
        with self._lock:  # the servicer's own table, as its Check reads it
            statuses = dict(self._server_status)
        return health_pb2.HealthListResponse(
            statuses={name: health_pb2.HealthCheckResponse(status=status) for name, status in statuses.items()}
        )


class HealthState:
    """Readiness of one node, published through a `grpc_health` HealthServicer. Thread-safe."""

    def __init__(self, servicer: health.HealthServicer | None = None, *, started: bool = False) -> None:
        self.servicer = servicer or ListingHealthServicer()
        self._lock = threading.Lock()
        self._services: set[str] = {""}
        self._starting = not started
        self._behind: set[str] = set()
        self._shutting_down = False
        self.damage: str | None = None  # what the first damage met said (`damaged`)
        self._publish()

    @property
    def phase(self) -> Phase:
        with self._lock:
            return self._phase()

    def _phase(self) -> Phase:
        if self._shutting_down:
            return Phase.SHUTTING_DOWN
        if self._starting:
            return Phase.STARTING
        if self.damage is not None:
            return Phase.DAMAGED
        return Phase.CATCHING_UP if self._behind else Phase.SERVING

    def add_services(self, names: Iterable[str]) -> None:
        """Service names to report on, besides the overall ("") status."""
        with self._lock:
            self._services.update(names)
        self._publish()

    def started(self) -> None:
        """The index is built: the node answers from now on."""
        with self._lock:
            self._starting = False
        self._publish()

    def set_catching_up(self, source: str, behind: bool) -> None:
        """`source` (e.g. "replication") reports whether this node is behind its peers."""
        with self._lock:
            if behind:
                self._behind.add(source)
            else:
                self._behind.discard(source)
        self._publish()

    def damaged(self, what: str) -> None:
        """The store holds damaged bytes (`what` says where): NOT_SERVING from now on, for every service."""
        with self._lock:
            if self.damage is None:
                self.damage = what
        self._publish()

    def shutting_down(self) -> None:
        """Final: every service reports NOT_SERVING until the process exits."""
        with self._lock:
            self._shutting_down = True
        self.servicer.enter_graceful_shutdown()

    def _publish(self) -> None:
        with self._lock:
            if self._shutting_down:
                return
            serving = self._phase() is Phase.SERVING
            services = sorted(self._services)
        response = health_pb2.HealthCheckResponse
        status = response.SERVING if serving else response.NOT_SERVING
        for name in services:
            self.servicer.set(name, status)


class StartupGate(grpc.ServerInterceptor):  # type: ignore[misc]
    """Refuses every RPC but health and reflection with UNAVAILABLE while the node is starting."""

    def __init__(self, state: HealthState) -> None:
        self.state = state

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        if handler is None or self.state.phase is not Phase.STARTING:
            return handler
        if handler_call_details.method.startswith(ALWAYS_OPEN):
            return handler
        return _refusing(handler)


def _refuse(request: Any, context: grpc.ServicerContext) -> Any:
    context.abort(grpc.StatusCode.UNAVAILABLE, STARTING_MESSAGE)


_REFUSERS = {
    (False, False): grpc.unary_unary_rpc_method_handler,
    (False, True): grpc.unary_stream_rpc_method_handler,
    (True, False): grpc.stream_unary_rpc_method_handler,
    (True, True): grpc.stream_stream_rpc_method_handler,
}


def _refusing(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    factory = _REFUSERS[(handler.request_streaming, handler.response_streaming)]
    return factory(
        _refuse,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )
