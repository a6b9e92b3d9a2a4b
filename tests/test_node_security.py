"""Transport security of a node over real TLS: roster changes take effect on live connections, rate limits.

A member admitted by a new roster version connects without a restart; a member revoked is refused on the
connection it already has; a peer calling too often gets RESOURCE_EXHAUSTED; tokens are compared as they must.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from consortium_helpers import NOW, MemberSecrets, genesis, next_version, secure_config, sign

from node.api.gen.hashnode.v1 import (
    client_pb2,
    client_pb2_grpc,
    membership_pb2,
    membership_pb2_grpc,
    peer_pb2,
    peer_pb2_grpc,
)
from node.core.errors import ConfigError
from node.membership import certificates
from node.network import tls
from node.runtime.config import PeerLimits
from node.runtime.runtime import NodeRuntime, open_node
from node.server.authz import RateLimiter, TokenSet
from node.server.server import Listeners, create_servers

CONSORTIUM = "security-consortium"


@dataclass
class Node:
    runtime: NodeRuntime
    listeners: Listeners


@pytest.fixture(scope="module")
def people() -> dict[str, MemberSecrets]:
    return {name: MemberSecrets.make(name, 0x40 + i) for i, name in enumerate(("hub", "peer", "newcomer"))}


def start(tmp_path: Path, people: dict[str, MemberSecrets], **config: object) -> Node:
    roster = tmp_path / "roster.json"
    genesis(CONSORTIUM, [people["hub"].roster_member(), people["peer"].roster_member()]).save(roster)
    runtime = open_node(secure_config(tmp_path, people["hub"], roster, **config))
    listeners = create_servers(runtime)
    listeners.start()
    return Node(runtime, listeners)


@pytest.fixture
def node(tmp_path: Path, people: dict[str, MemberSecrets]) -> Iterator[Node]:
    started = start(tmp_path, people)
    yield started
    started.listeners.stop(None)
    started.runtime.close()


def dial(node: Node, member: MemberSecrets) -> grpc.Channel:
    hub = node.runtime.identity
    assert hub is not None
    credentials = grpc.ssl_channel_credentials(
        hub.certificate_pem, member.identity.private_key_pem, member.identity.certificate_pem
    )
    return grpc.secure_channel(node.listeners.peer.address, credentials, options=tls.CHANNEL_OPTIONS)


def frontier(channel: grpc.Channel) -> grpc.StatusCode:
    try:
        peer_pb2_grpc.PeerStub(channel).GetFrontier(peer_pb2.FrontierRequest(), timeout=5)
    except grpc.RpcError as exc:
        return exc.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def test_a_revoked_member_is_refused_on_the_connection_it_already_has(
    node: Node, people: dict[str, MemberSecrets]
) -> None:
    with dial(node, people["peer"]) as channel:
        assert frontier(channel) == grpc.StatusCode.OK
        draft = next_version(node.runtime.consortium.roster)
        draft.revoke("peer", NOW)
        node.runtime.consortium.submit(sign(draft.build()))
        assert frontier(channel) == grpc.StatusCode.UNAUTHENTICATED
    with dial(node, people["peer"]) as channel:  # and a new connection fails the handshake
        assert frontier(channel) == grpc.StatusCode.UNAVAILABLE


def test_a_member_admitted_by_a_new_version_connects_without_a_restart(
    node: Node, people: dict[str, MemberSecrets]
) -> None:
    newcomer = people["newcomer"]
    with dial(node, newcomer) as channel:
        assert frontier(channel) == grpc.StatusCode.UNAVAILABLE
    draft = next_version(node.runtime.consortium.roster)
    draft.admit(newcomer.join_request(CONSORTIUM))
    node.runtime.consortium.submit(sign(draft.build()))
    with dial(node, newcomer) as channel:
        assert frontier(channel) == grpc.StatusCode.OK
        chain = membership_pb2_grpc.MembershipStub(channel).GetRosters(
            membership_pb2.GetRostersRequest(), timeout=5
        )
        assert [len(r.signatures) for r in chain.rosters] == [3, 3] and chain.newest_version == 2


def test_a_peer_over_its_rate_limit_is_told_to_slow_down(
    tmp_path: Path, people: dict[str, MemberSecrets]
) -> None:
    node = start(tmp_path, people, peer_limits=PeerLimits(rate=0.01, burst=3))
    try:
        with dial(node, people["peer"]) as channel:
            codes = [frontier(channel) for _ in range(4)]
        assert codes == [grpc.StatusCode.OK] * 3 + [grpc.StatusCode.RESOURCE_EXHAUSTED]
    finally:
        node.listeners.stop(None)
        node.runtime.close()


def test_the_token_bucket_refills_at_its_rate_per_caller() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=2.0, burst=2, clock=lambda: now[0])
    assert [limiter.allow("a"), limiter.allow("a"), limiter.allow("a"), limiter.allow("b")] == [
        True,
        True,
        False,
        True,
    ]
    now[0] = 0.5  # one token back for "a"
    assert [limiter.allow("a"), limiter.allow("a")] == [True, False]


def test_token_files(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text("# operators\n" + "a" * 40 + "\n\n" + "b" * 32 + "\n")
    tokens = TokenSet.load(path, "admin.token_file")
    assert tokens.matches("a" * 40) and tokens.matches("b" * 32) and not tokens.matches("a" * 39)
    path.write_text("short\n")
    with pytest.raises(ConfigError, match="token 1: want 32\\+ characters"):
        TokenSet.load(path, "admin.token_file")
    path.write_text("# nothing\n")
    with pytest.raises(ConfigError, match="holds no token"):
        TokenSet.load(path, "admin.token_file")


def test_a_pinned_client_certificate_is_a_platform_client(
    tmp_path: Path, people: dict[str, MemberSecrets]
) -> None:
    ingest = certificates.generate_identity("ingest", not_before_ms=NOW - 86_400_000, not_after_ms=NOW + 86_400_000)
    ingest.save(tmp_path / "ingest.crt", tmp_path / "ingest.key")
    node = start(tmp_path, people, client_token_file=None, client_certificates=(tmp_path / "ingest.crt",))
    hub = node.runtime.identity
    assert hub is not None
    try:

        def match(key: certificates.TlsIdentity | None) -> grpc.StatusCode:
            credentials = grpc.ssl_channel_credentials(
                hub.certificate_pem, key and key.private_key_pem, key and key.certificate_pem
            )
            with grpc.secure_channel(
                node.listeners.client.address, credentials, options=tls.CHANNEL_OPTIONS
            ) as ch:
                request = client_pb2.MatchRequest(
                    queries=[client_pb2.HashQuery(signal_type="md5", value="0" * 32)]
                )
                try:
                    client_pb2_grpc.HashNodeStub(ch).Match(request, timeout=5)
                except grpc.RpcError as exc:
                    return exc.code()  # type: ignore[no-any-return]
            return grpc.StatusCode.OK

        assert match(ingest) == grpc.StatusCode.OK
        assert match(None) == grpc.StatusCode.UNAVAILABLE  # the listener requires a pinned certificate
        assert match(people["peer"].identity) == grpc.StatusCode.UNAVAILABLE  # a member's is not a client's
    finally:
        node.listeners.stop(None)
        node.runtime.close()
