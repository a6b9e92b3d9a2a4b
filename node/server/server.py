"""Assembles the gRPC servers of a node and runs them.

A node serves three listeners, each its own `grpc.Server` with its own credentials and the same authorization
table (node/server/authz.py, docs/access-control.md):

| listener | config         | services                     | transport                           | callers   |
|----------|----------------|------------------------------|-------------------------------------|-----------|
| client   | `node.listen`  | HashNode, health, reflection | TLS (client certificates if pinned) | platform  |
| peer     | `peer.listen`  | Peer, Membership, health     | mutual TLS pinned to the roster     | members   |
| admin    | `admin.listen` | Admin, health, reflection    | plaintext on loopback, else TLS     | operator  |

In insecure mode (`node.insecure`, loopback addresses only) every listener is plaintext.

`create_servers(runtime)` builds the three servers bound (port 0: any free port) but not started; tests use
it directly. `serve` is the process's life: open the node, start, announce, wait for SIGTERM/SIGINT, drain,
close.
"""

from __future__ import annotations

import logging
import re
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import grpc
from grpc_health.v1 import health, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from node.api import MAX_MESSAGE_BYTES
from node.api.gen.hashnode.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    client_pb2,
    membership_pb2,
    membership_pb2_grpc,
    peer_pb2,
    peer_pb2_grpc,
)
from node.core.errors import ConfigError, DataCorruption
from node.core.private_files import PUBLIC_MODE, private_directory, write_file
from node.ledger.consortium import wall_clock_ms
from node.membership import certificates
from node.network import tls
from node.network.addresses import is_loopback
from node.runtime.config import NodeConfig
from node.runtime.runtime import NodeRuntime, open_node
from node.server import client_service
from node.server.admin_service import AdminServicer
from node.server.admission import Admission
from node.server.authz import (
    AuthorizationInterceptor,
    RateLimiter,
    TokenSet,
    client_authenticator,
    operator_authenticator,
    peer_authenticator,
)
from node.server.client_service import HashNodeServicer
from node.server.health import HealthState, StartupGate
from node.server.membership_service import MembershipServicer
from node.server.metrics import MetricsInterceptor, MetricsServer, NodeMetrics
from node.server.peer_service import PeerServicer
from node.server.status import ErrorStatusInterceptor

log = logging.getLogger(__name__)

GRACE_SECONDS = 5.0
SERVING_LINE = re.compile(r"^hashnode: serving member (?P<member>\S+) on (?P<address>\S+)$")
LISTENER_LINE = re.compile(r"^hashnode: (?P<listener>peer|admin) listener on (?P<address>\S+)")
CLIENT_SERVICES = (client_pb2.DESCRIPTOR.services_by_name["HashNode"].full_name,)
PEER_SERVICES = (
    peer_pb2.DESCRIPTOR.services_by_name["Peer"].full_name,
    membership_pb2.DESCRIPTOR.services_by_name["Membership"].full_name,
)
ADMIN_SERVICES = (admin_pb2.DESCRIPTOR.services_by_name["Admin"].full_name,)
Register = Callable[[grpc.Server], None]


@dataclass
class Listener:
    """One bound gRPC server."""

    name: str
    server: grpc.Server
    address: str  # host:port actually bound
    admission: Admission

    @property
    def port(self) -> int:
        return int(self.address.rpartition(":")[2])


@dataclass
class Listeners:
    client: Listener
    peer: Listener
    admin: Listener

    def all(self) -> tuple[Listener, ...]:
        return (self.client, self.peer, self.admin)

    def start(self) -> None:
        for listener in self.all():
            listener.server.start()

    def stop(self, grace: float | None) -> None:
        """Stops every server; in-flight calls get `grace` seconds to finish."""
        events = [listener.server.stop(grace) for listener in self.all()]
        for event in events:
            event.wait()
        for listener in self.all():
            listener.admission.close()


@dataclass(frozen=True)
class Observability:
    """What every listener reports to: the node's health (node/server/health.py) and, if enabled, its metrics."""

    health: HealthState
    metrics: NodeMetrics | None = None

    def admission(self, listener: str, limit: int) -> Admission:
        """A listener's admission (`limit` 0: the default), its counts reported with the metrics."""
        admission = Admission(listener, limit=limit or None)
        if self.metrics is not None:
            self.metrics.watch_admission(admission)
        return admission

    def interceptors(self) -> list[grpc.ServerInterceptor]:
        """Metrics outermost (they see the final status code), then the startup gate."""
        gate: list[grpc.ServerInterceptor] = [StartupGate(self.health)]
        return gate if self.metrics is None else [MetricsInterceptor(self.metrics), *gate]


def _server(
    interceptor: AuthorizationInterceptor, max_message_bytes: int, observed: Observability, admission: Admission
) -> grpc.Server:
    admit, expire = admission.interceptors()
    return grpc.server(
        admission.pool,
        # Admission first, before the call is queued (node/server/admission.py); then metrics see the final
        # code; a call whose deadline passed while it waited is not started; authorization before any servicer.
        # Authorization and the servicers map errors through one table.
        interceptors=[admit, *observed.interceptors(), expire, interceptor, ErrorStatusInterceptor()],
        maximum_concurrent_rpcs=admission.backstop,
        options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.so_reuseport", 0),  # a second node on the same port must fail, not share it silently
        ],
    )


def _bind(server: grpc.Server, field: str, listen: str, credentials: grpc.ServerCredentials | None) -> str:
    try:
        port = (
            server.add_insecure_port(listen)
            if credentials is None
            else server.add_secure_port(listen, credentials)
        )
    except RuntimeError as exc:
        raise ConfigError(f"{field}: cannot bind {listen}: {exc}") from None
    if port == 0:
        raise ConfigError(f"{field}: cannot bind {listen} (in use?)")
    return bound_address(listen, port)


def _add_health(server: grpc.Server, observed: Observability, names: Sequence[str], reflect: bool) -> None:
    health_pb2_grpc.add_HealthServicer_to_server(observed.health.servicer, server)
    observed.health.add_services(names)
    if reflect:
        reflection.enable_server_reflection((*names, health.SERVICE_NAME, reflection.SERVICE_NAME), server)


def _read_certificates(paths: Sequence[Path]) -> list[bytes]:
    """The PEM client certificates `[clients] certificates` pins. Raises: ConfigError."""
    pems = []
    for path in paths:
        try:
            pem = path.read_bytes()
            certificates.pem_to_der(pem)
        except OSError as exc:
            raise ConfigError(f"clients.certificates: cannot read {path}: {exc.strerror or exc}") from None
        except certificates.TlsCertificateError as exc:
            raise ConfigError(f"clients.certificates: {path}: {exc.message}") from None
        pems.append(pem)
    return pems


def _load_tokens(path: Path | None, field: str) -> TokenSet | None:
    return None if path is None else TokenSet.load(path, field)


def _client_listener(runtime: NodeRuntime, observed: Observability, max_bytes: int) -> Listener:
    config, identity = runtime.config, runtime.identity
    pinned = _read_certificates(config.client_certificates)
    authenticate = client_authenticator(
        _load_tokens(config.client_token_file, "clients.token_file"),
        [certificates.fingerprint(certificates.pem_to_der(pem)) for pem in pinned],
        insecure=config.insecure,
    )
    admission = observed.admission("client", config.max_calls.client)
    server = _server(AuthorizationInterceptor(authenticate), max_bytes, observed, admission)
    count_matches = None if observed.metrics is None else observed.metrics.count_matches
    servicer = HashNodeServicer(runtime.ledger, count_matches, count_expired=admission.count_expired)
    client_service.add_to_server(servicer, server)
    _add_health(server, observed, CLIENT_SERVICES, reflect=True)
    credentials = None
    if not config.insecure and identity is not None:
        credentials = grpc.ssl_server_credentials(
            [(served.private_key_pem, served.certificate_pem) for served in _client_identities(config, identity)],
            root_certificates=b"".join(pinned) or None,
            require_client_auth=bool(pinned),
        )
    return Listener("client", server, _bind(server, "node.listen", config.listen, credentials), admission)


CLIENT_CERTIFICATE_FILE = "client-listener.crt"


def _client_identities(
    config: NodeConfig, identity: certificates.TlsIdentity
) -> list[certificates.TlsIdentity]:
    """The certificates the client listener serves: with `[tls] client_names`, first one carrying those names
    (written to `<data_dir>/client-listener.crt` for clients to trust, the same bytes at every start), then the
    node's own. gRPC picks by the name the client asks for (TLS SNI): a client asking for `hashnode.peer`, which
    only the node's certificate carries, gets it as before; one dialling a configured name, or an IP address
    (no name asked), gets the first.

    Raises: ConfigError if the certificate cannot be made or written.
    """
    if not config.tls_client_names:
        return [identity]
    try:
        served = certificates.client_identity(identity, config.tls_client_names)
    except certificates.TlsCertificateError as exc:
        raise ConfigError(f"tls.client_names: {exc.message}") from None
    path = config.data_dir / CLIENT_CERTIFICATE_FILE
    try:
        if not path.exists() or path.read_bytes() != served.certificate_pem:
            private_directory(config.data_dir)
            partial = path.with_name(path.name + ".partial")
            write_file(partial, served.certificate_pem, mode=PUBLIC_MODE)
            partial.replace(path)
    except OSError as exc:
        raise ConfigError(f"tls.client_names: cannot write {path}: {exc.strerror or exc}") from None
    names = ", ".join(config.tls_client_names)
    log.info("client listener certificate for %s: %s (clients that dial those names trust this file)", names, path)
    return [served, identity]


def _peer_listener(
    runtime: NodeRuntime, observed: Observability, max_bytes: int, register: Sequence[Register]
) -> Listener:
    config, identity = runtime.config, runtime.identity
    trust = runtime.consortium.trust
    limits = config.peer_limits
    interceptor = AuthorizationInterceptor(
        peer_authenticator(trust, wall_clock_ms, insecure=config.insecure, on_member=runtime.peer_called),
        RateLimiter(limits.rate, limits.burst),
    )
    admission = observed.admission("peer", config.max_calls.peer)
    server = _server(interceptor, max_bytes, observed, admission)
    membership_pb2_grpc.add_MembershipServicer_to_server(MembershipServicer(runtime.consortium), server)
    if runtime.replica is not None:
        peer = PeerServicer(
            runtime.replica,
            stopping=runtime.stopping,
            roster_version=lambda: runtime.roster_version,
            own_fingerprints=frozenset([identity.fingerprint]) if identity is not None else frozenset(),
        )
        peer_pb2_grpc.add_PeerServicer_to_server(peer, server)
    for add in register:
        add(server)
    _add_health(server, observed, PEER_SERVICES, reflect=False)
    credentials = None
    if not config.insecure and identity is not None:
        credentials = tls.server_credentials(identity, trust)
    return Listener("peer", server, _bind(server, "peer.listen", config.peer_listen, credentials), admission)


def _admin_listener(runtime: NodeRuntime, observed: Observability, max_bytes: int) -> Listener:
    config, identity = runtime.config, runtime.identity
    authenticate = operator_authenticator(
        _load_tokens(config.admin_token_file, "admin.token_file"), insecure=config.insecure
    )
    admission = observed.admission("admin", config.max_calls.admin)
    server = _server(AuthorizationInterceptor(authenticate), max_bytes, observed, admission)
    admin_pb2_grpc.add_AdminServicer_to_server(AdminServicer(runtime), server)
    _add_health(server, observed, ADMIN_SERVICES, reflect=True)
    credentials = None
    if not is_loopback(config.admin_listen) and identity is not None:
        # Off this machine the operator's token must not cross the network in the clear.
        credentials = grpc.ssl_server_credentials([(identity.private_key_pem, identity.certificate_pem)])
    address = _bind(server, "admin.listen", config.admin_listen, credentials)
    return Listener("admin", server, address, admission)


def create_servers(
    runtime: NodeRuntime,
    *,
    max_message_bytes: int = MAX_MESSAGE_BYTES,
    health_servicer: health.HealthServicer | None = None,
    peer_services: Sequence[Register] = (),
    health_state: HealthState | None = None,
    metrics: NodeMetrics | None = None,
) -> Listeners:
    """The node's three servers, bound (not started). `peer_services` register more services on the peer
    listener (replication's Peer service). One health state reports for all three: `health_state`
    (node/server/health.py), else SERVING at once. With `metrics`, every RPC of every listener is counted and
    timed, and the ledger is reported at each scrape (node/server/metrics.py).

    Raises: ConfigError (an address cannot be bound, a token or certificate file is invalid, or the roster
        lists no active member certificate for the peer listener to trust).
    """
    observed = Observability(health_state or HealthState(health_servicer, started=True), metrics)
    config = runtime.config
    if config.insecure and (config.client_token_file or config.admin_token_file):
        log.warning("insecure mode: no TLS and no tokens; the token files configured are not checked")
    if metrics is not None:
        metrics.watch(runtime.ledger, observed.health, runtime.replica)
    runtime.ledger.store.on_damage(_damage_reporter(observed))
    return Listeners(
        client=_client_listener(runtime, observed, max_message_bytes),
        peer=_peer_listener(runtime, observed, max_message_bytes, peer_services),
        admin=_admin_listener(runtime, observed, max_message_bytes),
    )


def _damage_reporter(observed: Observability) -> Callable[[DataCorruption], None]:
    """What a read that met damaged bytes does, whichever call or background task met it: logs it, counts it
    (`hashnode_storage_corruption_total`) and turns the node NOT_SERVING (the calls meeting it get DATA_LOSS)."""

    def report(exc: DataCorruption) -> None:
        if observed.health.damage is None:
            log.error("%s; health is NOT_SERVING until the store is restored", exc.diagnostics())
        if observed.metrics is not None:
            observed.metrics.corruption.labels(exc.table).inc()
        observed.health.damaged(exc.diagnostics())

    return report


def bound_address(listen: str, port: int) -> str:
    """`listen` with the port actually bound (which differs when port 0 was asked for)."""
    host = listen.rpartition(":")[0]
    return f"{host}:{port}"


def serving_line(member_id: str, address: str) -> str:
    """The line `serve` prints once it accepts calls; `SERVING_LINE` parses it."""
    return f"hashnode: serving member {member_id} on {address}"


def listener_lines(listeners: Listeners, *, insecure: bool) -> list[str]:
    """The lines announcing the peer and admin listeners (`LISTENER_LINE`), before the serving line."""
    peer = "plaintext, insecure mode" if insecure else "mutual TLS, roster members only"
    return [
        f"hashnode: peer listener on {listeners.peer.address} ({peer})",
        f"hashnode: admin listener on {listeners.admin.address} (operator token)",
    ]


def _stop_on_signals(stop: threading.Event) -> None:
    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)


def serve(
    config: NodeConfig, *, stop: threading.Event | None = None, grace_seconds: float = GRACE_SECONDS
) -> None:
    """Runs the node until SIGTERM/SIGINT (or `stop` is set), then drains in-flight calls and closes the node.

    Prints `hashnode: peer listener on …`, `hashnode: admin listener on …` and last
    `hashnode: serving member <id> on <host:port>` (the client listener) to stdout once the servers accept
    calls; tools that start a node on port 0 read the ports from them.
    """
    stop = stop or threading.Event()
    _stop_on_signals(stop)
    runtime = open_node(config)
    metrics_server: MetricsServer | None = None
    try:
        health_state = HealthState()  # NOT_SERVING until started() below; components may hold it back later
        metrics = NodeMetrics() if config.metrics_listen else None
        listeners = create_servers(runtime, health_state=health_state, metrics=metrics)
        if metrics is not None:
            metrics_server = MetricsServer.start(config.metrics_listen, metrics.registry)
            address = bound_address(config.metrics_listen, metrics_server.port)
            log.info("metrics on http://%s/metrics", address)
        listeners.start()
        runtime.start()
        health_state.started()
        for line in listener_lines(listeners, insecure=config.insecure):
            print(line, flush=True)
        print(serving_line(config.member_id, listeners.client.address), flush=True)
        while not stop.wait(0.5):  # short waits keep the main thread responsive to signals
            pass
        health_state.shutting_down()
        runtime.stopping.set()  # live streams (peer subscriptions) end now instead of holding up the grace
        listeners.stop(grace_seconds)
        log.info("hashnode: stopped")
    finally:
        if metrics_server is not None:
            metrics_server.stop()
        runtime.close()
