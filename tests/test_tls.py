"""Roster-pinned mutual TLS: certificates, the trust set a roster yields, real gRPC handshakes on 127.0.0.1.

The server runs the standard gRPC health service and a one-method test service that answers with the member
(and certificate fingerprint) the server mapped the caller to. A refused handshake shows as UNAVAILABLE (no
connection); a call refused after the handshake by PeerAuthInterceptor shows as UNAUTHENTICATED.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from node.core.errors import ConfigError, FailedPrecondition
from node.core.keys import SigningKey
from node.membership import certificates
from node.membership.members import MemberKey
from node.membership.roster import MemberStatus, Roster, RosterMember, StewardKey, TlsCertificate
from node.membership.trust import PeerTrust, TrustStore
from node.network import tls
from node.server import peer_auth

NOW = (
    time.time_ns() // 1_000_000
)  # X.509 validity is checked against the real clock, so the roster uses it too
DAY = 86_400_000
NAMES = ("hub", "alice", "bob", "carol", "dave", "stranger")


@pytest.fixture(scope="module")
def ids() -> dict[str, certificates.TlsIdentity]:
    """One certificate each, plus alice's next one (rotation) and an impostor's calling itself alice."""
    made = {n: certificates.generate_identity(n, not_before_ms=NOW - DAY, not_after_ms=NOW + DAY) for n in NAMES}
    made["alice-next"] = certificates.generate_identity("alice", not_before_ms=NOW - DAY, not_after_ms=NOW + DAY)
    made["impostor"] = certificates.generate_identity("alice", not_before_ms=NOW - DAY, not_after_ms=NOW + DAY)
    return made


def roster_member(i: int, member_id: str, certs: list[TlsCertificate], **fields: object) -> RosterMember:
    key = MemberKey(SigningKey.from_seed(bytes([0x60 + i]) * 32).public)
    return RosterMember(member_id, member_id.title(), (key,), tls=tuple(certs), **fields)  # type: ignore[arg-type]


def make_roster(
    ids: dict[str, certificates.TlsIdentity], *, admitted: tuple[str, ...] = (), revoked: tuple[str, ...] = ()
) -> Roster:
    """hub and bob; alice in a rotation overlap (two certificates); carol suspended; plus `admitted`."""

    def cert(name: str, **window: int) -> TlsCertificate:
        return TlsCertificate(ids[name].certificate_der, **window)

    members = [
        roster_member(0, "hub", [cert("hub")]),
        roster_member(
            1, "alice", [cert("alice", valid_until_ms=NOW + DAY), cert("alice-next", valid_from_ms=NOW)]
        ),
        roster_member(2, "bob", [cert("bob")]),
        roster_member(3, "carol", [cert("carol")], status=MemberStatus.SUSPENDED),
    ]
    members += [roster_member(4 + i, name, [cert(name)]) for i, name in enumerate(admitted)]
    members = [
        replace(m, status=MemberStatus.REVOKED, revoked_after_ms=NOW) if m.member_id in revoked else m
        for m in members
    ]
    steward = StewardKey("steward", SigningKey.from_seed(b"\x10" * 32).public)
    return Roster("test-consortium", 1, NOW + DAY, 1, (steward,), tuple(members))


# --- certificates and trust sets, no network ----------------------------------------------------------------


def test_generated_certificate_is_a_valid_member_certificate(ids: dict[str, certificates.TlsIdentity]) -> None:
    alice = ids["alice"]
    certificates.check_member_certificate(alice.certificate_der, "alice")
    assert alice.fingerprint == hashlib.sha256(alice.certificate_der).digest()
    assert certificates.pem_to_der(certificates.der_to_pem(alice.certificate_der)) == alice.certificate_der
    with pytest.raises(certificates.TlsCertificateError, match="common name"):
        certificates.check_member_certificate(alice.certificate_der, "bob")


def test_trust_set_holds_active_members_certificates_valid_now(ids: dict[str, certificates.TlsIdentity]) -> None:
    trust = PeerTrust.from_roster(make_roster(ids, revoked=("bob",)), NOW)
    assert {c.member_id for c in trust.certificates} == {"hub", "alice"}  # carol suspended, bob revoked
    assert trust.member_for(ids["alice"].fingerprint, NOW) == "alice"
    assert trust.member_for(ids["alice-next"].fingerprint, NOW) == "alice"
    assert trust.member_for(ids["alice"].fingerprint, NOW + DAY + 1) is None  # after the rotation overlap
    assert trust.member_for(ids["impostor"].fingerprint, NOW) is None
    bundle = trust.bundle_pem("alice")  # in the roster's order: by fingerprint
    assert sorted([ids["alice"].certificate_pem, ids["alice-next"].certificate_pem]) == sorted(
        b"-----BEGIN" + pem for pem in bundle.split(b"-----BEGIN")[1:]
    )


def test_certificates_outside_their_window_are_left_out(ids: dict[str, certificates.TlsIdentity]) -> None:
    later = PeerTrust.from_roster(make_roster(ids), NOW + DAY + 1)
    assert ids["alice"].fingerprint not in {c.fingerprint for c in later.certificates}
    assert ids["alice-next"].fingerprint in {c.fingerprint for c in later.certificates}


def test_identity_files(tmp_path: Path, ids: dict[str, certificates.TlsIdentity]) -> None:
    ids["alice"].save(tmp_path / "tls.crt", tmp_path / "tls.key")
    assert os.stat(tmp_path / "tls.key").st_mode & 0o777 == 0o600
    assert certificates.TlsIdentity.load(tmp_path / "tls.crt", tmp_path / "tls.key") == ids["alice"]
    with pytest.raises(ConfigError, match="refusing to overwrite"):
        ids["bob"].save(tmp_path / "tls.crt", tmp_path / "tls.key")


def test_dialling_a_member_without_a_certificate_is_refused(ids: dict[str, certificates.TlsIdentity]) -> None:
    with pytest.raises(FailedPrecondition):
        tls.channel_credentials(ids["alice"], PeerTrust.from_roster(make_roster(ids), NOW), "carol")


# --- real handshakes ----------------------------------------------------------------------------------------

WHOAMI = "/hashnode.test.WhoAmI/Get"
# Each test channel gets its own subchannels: a shared one would carry over a failed handshake's back-off.
OPTIONS = (*tls.CHANNEL_OPTIONS, ("grpc.use_local_subchannel_pool", 1))


@contextmanager
def peer_server(identity: certificates.TlsIdentity, store: TrustStore) -> Iterator[str]:
    def whoami(request: bytes, context: grpc.ServicerContext) -> bytes:
        member = tls.authenticated_member(context, store.get(), NOW)
        fingerprint = tls.peer_fingerprint(context)
        assert fingerprint is not None
        return f"{member} {fingerprint.hex()}".encode()

    handler = grpc.method_handlers_generic_handler(
        "hashnode.test.WhoAmI", {"Get": grpc.unary_unary_rpc_method_handler(whoami)}
    )
    server = grpc.server(
        ThreadPoolExecutor(4), interceptors=[peer_auth.PeerAuthInterceptor(store, clock=lambda: NOW)]
    )
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    server.add_generic_rpc_handlers([handler])
    port = server.add_secure_port("127.0.0.1:0", tls.server_credentials(identity, store))
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(None)


@pytest.fixture
def hub(ids: dict[str, certificates.TlsIdentity]) -> Iterator[tuple[str, TrustStore]]:
    store = TrustStore(PeerTrust.from_roster(make_roster(ids), NOW))
    with peer_server(ids["hub"], store) as address:
        yield address, store


def dial(address: str, client: certificates.TlsIdentity, server_pem: bytes) -> grpc.Channel:
    """A channel presenting `client` and trusting only `server_pem`."""
    credentials = grpc.ssl_channel_credentials(server_pem, client.private_key_pem, client.certificate_pem)
    return grpc.secure_channel(address, credentials, options=OPTIONS)


def whoami(channel: grpc.Channel) -> str:
    answer: bytes = channel.unary_unary(WHOAMI)(b"", timeout=5)
    return answer.decode()


def health_check(channel: grpc.Channel) -> grpc.StatusCode:
    try:
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    except grpc.RpcError as exc:
        code: grpc.StatusCode = exc.code()
        return code
    return grpc.StatusCode.OK


@pytest.mark.parametrize("client", ["alice", "alice-next", "bob"])
def test_a_member_is_accepted_and_mapped_to_its_roster_entry(
    client: str, hub: tuple[str, TrustStore], ids: dict[str, certificates.TlsIdentity]
) -> None:
    address, store = hub
    credentials = tls.channel_credentials(ids[client], store.get(), "hub")
    with grpc.secure_channel(address, credentials, options=OPTIONS) as channel:
        assert health_check(channel) == grpc.StatusCode.OK
        assert whoami(channel) == f"{client.removesuffix('-next')} {ids[client].fingerprint.hex()}"


@pytest.mark.parametrize(
    "client",
    [
        pytest.param("stranger", id="stranger's self-signed certificate"),
        pytest.param("impostor", id="certificate naming a member, other key"),
        pytest.param("carol", id="suspended member"),
    ],
)
def test_a_certificate_not_pinned_by_the_roster_fails_the_handshake(
    client: str, hub: tuple[str, TrustStore], ids: dict[str, certificates.TlsIdentity]
) -> None:
    address, _ = hub
    with dial(address, ids[client], ids["hub"].certificate_pem) as channel:
        assert health_check(channel) == grpc.StatusCode.UNAVAILABLE


def test_the_client_refuses_a_server_that_is_not_the_member_dialled(
    hub: tuple[str, TrustStore], ids: dict[str, certificates.TlsIdentity]
) -> None:
    address, store = hub
    credentials = tls.channel_credentials(ids["alice"], store.get(), "bob")  # hub answers at this address
    with grpc.secure_channel(address, credentials, options=OPTIONS) as channel:
        assert health_check(channel) == grpc.StatusCode.UNAVAILABLE


def test_revocation_cuts_off_an_open_connection(
    hub: tuple[str, TrustStore], ids: dict[str, certificates.TlsIdentity]
) -> None:
    address, store = hub
    with dial(address, ids["bob"], ids["hub"].certificate_pem) as channel:
        assert health_check(channel) == grpc.StatusCode.OK
        store.set(PeerTrust.from_roster(make_roster(ids, revoked=("bob",)), NOW))
        assert health_check(channel) == grpc.StatusCode.UNAUTHENTICATED
    with dial(
        address, ids["bob"], ids["hub"].certificate_pem
    ) as channel:  # and no new connection is accepted
        assert health_check(channel) == grpc.StatusCode.UNAVAILABLE


def test_a_newly_admitted_member_connects_without_a_server_restart(
    hub: tuple[str, TrustStore], ids: dict[str, certificates.TlsIdentity]
) -> None:
    address, store = hub
    with dial(address, ids["dave"], ids["hub"].certificate_pem) as channel:
        assert health_check(channel) == grpc.StatusCode.UNAVAILABLE
    store.set(PeerTrust.from_roster(make_roster(ids, admitted=("dave",)), NOW))
    with dial(address, ids["dave"], ids["hub"].certificate_pem) as channel:
        assert whoami(channel) == f"dave {ids['dave'].fingerprint.hex()}"
