"""Assembles the gRPC server of a node and runs it.

`create_server` builds a server with every service registered and bound to an address (port 0: any free port)
and returns it unstarted with the bound port; tests use it directly. `serve` is the process's life: open the
ledger, start, announce, wait for SIGTERM/SIGINT, drain, close.
"""

from __future__ import annotations

import re
import signal
import sys
import threading
from concurrent import futures
from types import FrameType

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from node.api import MAX_MESSAGE_BYTES
from node.api.admin_service import AdminServicer
from node.api.client_service import HashNodeServicer
from node.api.gen.hashnode.v1 import admin_pb2, admin_pb2_grpc, client_pb2, client_pb2_grpc
from node.api.status import ErrorStatusInterceptor
from node.config import NodeConfig
from node.errors import ConfigError
from node.ledger import Ledger

GRACE_SECONDS = 5.0
SERVING_LINE = re.compile(r"^hashnode: serving member (?P<member>\S+) on (?P<address>\S+)$")
WORKERS = 16
SERVICE_NAMES = (
    client_pb2.DESCRIPTOR.services_by_name["HashNode"].full_name,
    admin_pb2.DESCRIPTOR.services_by_name["Admin"].full_name,
)


def create_server(
    ledger: Ledger,
    listen: str,
    *,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
    health_servicer: health.HealthServicer | None = None,
) -> tuple[grpc.Server, int]:
    """A server for `ledger` bound to `listen` (not started) and the port it bound.

    Registers HashNode, Admin, the standard health service (SERVING for the node's services; pass your own
    `health_servicer` to flip it to NOT_SERVING on shutdown) and server reflection.
    """
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="hashnode-rpc"),
        interceptors=[ErrorStatusInterceptor()],
        options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.so_reuseport", 0),  # a second node on the same port must fail, not share it silently
        ],
    )
    client_pb2_grpc.add_HashNodeServicer_to_server(HashNodeServicer(ledger), server)
    admin_pb2_grpc.add_AdminServicer_to_server(AdminServicer(ledger), server)
    health_servicer = health_servicer or health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in ("", *SERVICE_NAMES):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    try:
        port = server.add_insecure_port(listen)
    except RuntimeError as exc:
        raise ConfigError(f"node.listen: cannot bind {listen}: {exc}") from None
    if port == 0:
        raise ConfigError(f"node.listen: cannot bind {listen}")
    return server, port


def open_ledger(config: NodeConfig) -> Ledger:
    """Opens the node's ledger as its config describes."""
    membership = config.load_membership()
    return Ledger.open(
        config.data_dir,
        settings=config.ledger_settings(membership.consortium_id),
        membership=membership,
        signer=config.load_signing_key(),
        taxonomy=config.load_taxonomy(),
    )


def bound_address(listen: str, port: int) -> str:
    """`listen` with the port actually bound (which differs when port 0 was asked for)."""
    host = listen.rpartition(":")[0]
    return f"{host}:{port}"


def serving_line(member_id: str, address: str) -> str:
    """The line `serve` prints once it accepts calls; `SERVING_LINE` parses it."""
    return f"hashnode: serving member {member_id} on {address}"


def _stop_on_signals(stop: threading.Event) -> None:
    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)


def serve(
    config: NodeConfig, *, stop: threading.Event | None = None, grace_seconds: float = GRACE_SECONDS
) -> None:
    """Runs the node until SIGTERM/SIGINT (or `stop` is set), then drains in-flight calls, closes the ledger.

    Prints one line `hashnode: serving member <id> on <host:port>` to stdout once the server accepts calls;
    tools that start a node on port 0 read the port from it.
    """
    stop = stop or threading.Event()
    _stop_on_signals(stop)
    ledger = open_ledger(config)
    try:
        health_servicer = health.HealthServicer()
        server, port = create_server(ledger, config.listen, health_servicer=health_servicer)
        server.start()
        print(serving_line(config.member_id, bound_address(config.listen, port)), flush=True)
        while not stop.wait(0.5):  # short waits keep the main thread responsive to signals
            pass
        health_servicer.enter_graceful_shutdown()
        server.stop(grace_seconds).wait()
        print("hashnode: stopped", file=sys.stderr, flush=True)
    finally:
        ledger.close()
