"""Who may call what, over real TLS on 127.0.0.1: every identity against every RPC of every service served.

The node runs in secure mode (TLS identity, client and operator tokens, peer listener pinned to the roster).
The identities:

* anonymous: no client certificate, no token;
* platform client: the node's client token;
* member peer: an active member's roster-listed certificate;
* stranger: a well-formed certificate the roster does not list;
* revoked member: a certificate the roster lists for a revoked member;
* other consortium: a member of another consortium, with its roster-listed certificate there;
* operator: the node's operator token.

Each RPC is called where it is served (HashNode and reflection: client listener; Peer and Membership: peer
listener; Admin: admin listener; health: all three), with the identity's certificate and token, and an empty
request. SPEC below says who must get through: allowed means any status but UNAUTHENTICATED or
PERMISSION_DENIED (the request itself may be invalid); denied means one of those two, or, on the peer
listener, a refused TLS handshake (UNAVAILABLE: mutual TLS pinned to the roster refuses the connection).

RPCs are enumerated from the service descriptors, and the services served from the node's reflection service
and its listener lists, so a new RPC or service without a rule (node/server/authz.py) or a spec here fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import pytest
from consortium_helpers import NOW, MemberSecrets, genesis, revoked, secure_config
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message_factory import GetMessageClass
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from node.api.gen.hashnode.v1 import admin_pb2, client_pb2, membership_pb2, peer_pb2
from node.network import tls
from node.runtime.runtime import NodeRuntime, open_node
from node.server import authz
from node.server.server import Listeners, create_servers

CONSORTIUM = "matrix-consortium"
STREAM_TIMEOUT_S = 0.5  # an allowed live stream (Subscribe, Watch) is cut here: DEADLINE_EXCEEDED, not denied
DENIED = {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}

SERVICES: dict[str, ServiceDescriptor] = {
    s.full_name: s
    for s in (
        client_pb2.DESCRIPTOR.services_by_name["HashNode"],
        peer_pb2.DESCRIPTOR.services_by_name["Peer"],
        membership_pb2.DESCRIPTOR.services_by_name["Membership"],
        admin_pb2.DESCRIPTOR.services_by_name["Admin"],
        health_pb2.DESCRIPTOR.services_by_name["Health"],
        reflection_pb2.DESCRIPTOR.services_by_name["ServerReflection"],
    )
}
HOME = {  # where each service is served, hence called
    "hashnode.v1.HashNode": "client",
    "hashnode.v1.Peer": "peer",
    "hashnode.v1.Membership": "peer",
    "hashnode.v1.Admin": "admin",
    "grpc.health.v1.Health": "client",
    "grpc.reflection.v1alpha.ServerReflection": "client",
}
EVERYONE = frozenset(
    {
        "anonymous",
        "platform client",
        "member peer",
        "stranger",
        "revoked member",
        "other consortium",
        "operator",
    }
)
# The specification: service -> the identities that get through, for every RPC of the service.
SPEC: dict[str, frozenset[str]] = {
    "hashnode.v1.HashNode": frozenset({"platform client"}),
    "hashnode.v1.Peer": frozenset({"member peer"}),
    "hashnode.v1.Membership": frozenset({"member peer"}),
    "hashnode.v1.Admin": frozenset({"operator"}),
    "grpc.health.v1.Health": EVERYONE,
    "grpc.reflection.v1alpha.ServerReflection": frozenset({"platform client"}),
}


@dataclass(frozen=True)
class Identity:
    name: str
    member: MemberSecrets | None = None  # presents this member's TLS certificate
    token: str | None = None


@dataclass
class Node:
    runtime: NodeRuntime
    listeners: Listeners
    client_token: str
    admin_token: str

    def address(self, listener: str) -> str:
        return str(getattr(self.listeners, listener).address)


@pytest.fixture(scope="module")
def members() -> dict[str, MemberSecrets]:
    names = ("hub", "peer", "revoked", "stranger", "outsider")
    return {name: MemberSecrets.make(name, 0x70 + i) for i, name in enumerate(names)}


@pytest.fixture(scope="module")
def node(members: dict[str, MemberSecrets], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    directory = tmp_path_factory.mktemp("matrix")
    roster = genesis(
        CONSORTIUM,
        [
            members["hub"].roster_member(),
            members["peer"].roster_member(),
            revoked(members["revoked"].roster_member(), 1, NOW - 1000),
        ],
    )
    roster.save(directory / "roster.json")
    genesis("another-consortium", [members["outsider"].roster_member()]).save(directory / "other.json")
    config = secure_config(directory, members["hub"], directory / "roster.json")
    runtime = open_node(config)
    listeners = create_servers(runtime)
    listeners.start()
    assert config.client_token_file is not None and config.admin_token_file is not None
    tokens = [path.read_text().strip() for path in (config.client_token_file, config.admin_token_file)]
    yield Node(runtime, listeners, tokens[0], tokens[1])
    listeners.stop(None)
    runtime.close()


@pytest.fixture(scope="module")
def identities(node: Node, members: dict[str, MemberSecrets]) -> dict[str, Identity]:
    return {
        "anonymous": Identity("anonymous"),
        "platform client": Identity("platform client", token=node.client_token),
        "member peer": Identity("member peer", members["peer"]),
        "stranger": Identity("stranger", members["stranger"]),
        "revoked member": Identity("revoked member", members["revoked"]),
        "other consortium": Identity("other consortium", members["outsider"]),
        "operator": Identity("operator", token=node.admin_token),
    }


def open_channel(node: Node, listener: str, identity: Identity) -> grpc.Channel:
    """A channel to `listener` as `identity`: TLS trusting the node's certificate (plaintext to the loopback
    admin listener), presenting the identity's certificate if it has one."""
    address = node.address(listener)
    if listener == "admin":
        return grpc.insecure_channel(address)
    hub = node.runtime.identity
    assert hub is not None
    key = identity.member.identity if identity.member is not None else None
    credentials = grpc.ssl_channel_credentials(
        root_certificates=hub.certificate_pem,
        private_key=key.private_key_pem if key else None,
        certificate_chain=key.certificate_pem if key else None,
    )
    return grpc.secure_channel(address, credentials, options=tls.CHANNEL_OPTIONS)


def call(channel: grpc.Channel, method: MethodDescriptor, token: str | None) -> grpc.StatusCode:
    """Calls `method` with an empty request; returns the status (OK when a first response arrived)."""
    path = f"/{method.containing_service.full_name}/{method.name}"
    request = GetMessageClass(method.input_type)()
    metadata = [("authorization", f"Bearer {token}")] if token else None
    kind = {
        (False, False): channel.unary_unary,
        (False, True): channel.unary_stream,
        (True, False): channel.stream_unary,
        (True, True): channel.stream_stream,
    }[(method.client_streaming, method.server_streaming)]
    stub = kind(path, request_serializer=lambda m: m.SerializeToString(), response_deserializer=lambda b: b)
    argument = iter([request]) if method.client_streaming else request
    timeout = STREAM_TIMEOUT_S if method.server_streaming else 10.0
    try:
        answer = stub(argument, metadata=metadata, timeout=timeout)
        if method.server_streaming:
            next(iter(answer), None)
            answer.cancel()
    except grpc.RpcError as exc:
        return exc.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def check(code: grpc.StatusCode, allowed: bool, listener: str) -> bool:
    if allowed:
        return code not in DENIED and code != grpc.StatusCode.UNAVAILABLE
    return code in DENIED or (listener == "peer" and code == grpc.StatusCode.UNAVAILABLE)


def every_rpc() -> list[MethodDescriptor]:
    return [m for service in SERVICES.values() for m in service.methods]


def test_every_rpc_of_every_service_has_a_rule_and_a_spec() -> None:
    missing = [
        f"{m.containing_service.full_name}/{m.name}"
        for m in every_rpc()
        if authz.rule_for(f"/{m.containing_service.full_name}/{m.name}") is None
    ]
    assert missing == [], f"RPCs without a row in node/server/authz.py RULES: {missing}"
    assert set(SPEC) == set(SERVICES) == set(HOME)


def test_the_served_services_are_the_enumerated_ones(node: Node) -> None:
    """Reflection lists what the client and admin listeners serve: nothing escapes the matrix."""
    for listener, token in (("client", node.client_token), ("admin", node.admin_token)):
        with open_channel(node, listener, Identity("x", token=token)) as channel:
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            request = reflection_pb2.ServerReflectionRequest(list_services="")
            replies = stub.ServerReflectionInfo(
                iter([request]), metadata=[("authorization", f"Bearer {token}")]
            )
            served = {s.name for s in next(iter(replies)).list_services_response.service}
        assert served <= set(SERVICES), served - set(SERVICES)


def test_authorization_matrix(node: Node, identities: dict[str, Identity]) -> None:
    failures = []
    for identity in identities.values():
        channels = {
            listener: open_channel(node, listener, identity) for listener in ("client", "peer", "admin")
        }
        try:
            for method in every_rpc():
                service = method.containing_service.full_name
                listener = HOME[service]
                allowed = identity.name in SPEC[service]
                code = call(channels[listener], method, identity.token)
                if not check(code, allowed, listener):
                    want = "allowed" if allowed else "denied"
                    failures.append(f"{identity.name:16} {service}/{method.name}: {code.name}, want {want}")
        finally:
            for channel in channels.values():
                channel.close()
    assert failures == [], "\n".join(failures)


@pytest.mark.parametrize(
    ("listener", "identity_name"),
    [("client", "platform client"), ("peer", "member peer"), ("admin", "operator")],
)
def test_a_listener_serves_nothing_else_even_to_its_own_callers(
    node: Node, identities: dict[str, Identity], listener: str, identity_name: str
) -> None:
    """Every RPC of a service not at home on a listener is denied there, to the listener's own callers too."""
    identity = identities[identity_name]
    with open_channel(node, listener, identity) as channel:
        for method in every_rpc():
            service = method.containing_service.full_name
            if HOME[service] == listener or service == "grpc.health.v1.Health":
                continue
            if listener == "admin" and service == "grpc.reflection.v1alpha.ServerReflection":
                continue  # reflection is served on the admin listener too, to the operator
            code = call(channel, method, identity.token)
            assert code in DENIED, f"{service}/{method.name} on the {listener} listener: {code.name}"


def test_health_answers_anyone_on_every_listener(node: Node, identities: dict[str, Identity]) -> None:
    check_rpc = SERVICES["grpc.health.v1.Health"].methods_by_name["Check"]
    for listener in ("client", "admin"):
        with open_channel(node, listener, identities["anonymous"]) as channel:
            assert call(channel, check_rpc, None) == grpc.StatusCode.OK
    with open_channel(node, "peer", identities["member peer"]) as channel:
        assert call(channel, check_rpc, None) == grpc.StatusCode.OK


def test_a_wrong_token_is_unauthenticated_and_names_no_token(node: Node) -> None:
    submit = SERVICES["hashnode.v1.HashNode"].methods_by_name["Submit"]
    with open_channel(node, "client", Identity("guess")) as channel:
        assert call(channel, submit, "not-the-token-" + "0" * 40) == grpc.StatusCode.UNAUTHENTICATED
        assert call(channel, submit, node.admin_token) == grpc.StatusCode.UNAUTHENTICATED


def test_operator_credentials_are_refused_off_the_admin_listener(
    node: Node, identities: dict[str, Identity]
) -> None:
    stats = SERVICES["hashnode.v1.Admin"].methods_by_name["GetStats"]
    with open_channel(node, "client", identities["operator"]) as channel:
        assert call(channel, stats, node.admin_token) in DENIED
