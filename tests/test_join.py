"""Join requests: proof of possession of the log key (signature) and TLS key (self-signed certificate), tamper
evidence, and admission into a roster by the stewards."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from node.core.errors import AlreadyExists
from node.core.keys import SigningKey
from node.membership import certificates
from node.membership.join import (
    JOIN_TAG,
    JOIN_TAG_V2,
    JoinRequest,
    JoinRequestError,
    SignedJoinRequest,
    create_join_request,
)
from node.membership.roster import MemberStatus, RosterDraft, StewardKey, TrustedRoster, WrongConsortiumError

CONSORTIUM = "test-consortium"
NOW = 1_700_000_000_000
DAY = 86_400_000
LOG_KEY = SigningKey.from_seed(b"\x61" * 32)
OTHER_KEY = SigningKey.from_seed(b"\x62" * 32)
STEWARD = SigningKey.from_seed(b"\x10" * 32)


def identity(member_id: str) -> certificates.TlsIdentity:
    return certificates.generate_identity(member_id, not_before_ms=NOW - DAY, not_after_ms=NOW + 365 * DAY)


@pytest.fixture(scope="module")
def cert_c() -> bytes:
    return identity("platform-c").certificate_der


def join(cert_der: bytes, *, key: SigningKey = LOG_KEY, **fields: str) -> SignedJoinRequest:
    base = {
        "consortium_id": CONSORTIUM,
        "member_id": "platform-c",
        "organisation": "Platform C Ltd",
        "contact": "trust@platform-c.example",
        "requested_role": "contributor",
        "endpoints": ("node.platform-c.example:7443",),
    }
    return create_join_request(key, cert_der, created_ms=NOW, **{**base, **fields})


def odd_certificate(
    member_id: str,
    *,
    issuer_key: ec.EllipticCurvePrivateKey | None = None,
    ca: bool = False,
    names: tuple[str, ...] = (certificates.PEER_TLS_NAME,),
) -> bytes:
    """A certificate that breaks one rule: signed by another key, a CA, or without the peer name."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, member_id)])
    start = datetime.datetime(2023, 1, 1, tzinfo=datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
    return builder.sign(issuer_key or key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def test_a_join_request_proves_possession_of_both_keys(cert_c: bytes) -> None:
    request = join(cert_c).verify()
    assert request.member_id == "platform-c" and request.log_public_key == LOG_KEY.public
    assert request.tls_fingerprint == certificates.fingerprint(cert_c)


def test_signed_bytes_are_the_canonical_request(cert_c: bytes) -> None:
    signed = join(cert_c)
    assert signed.request_bytes.startswith(JOIN_TAG)
    assert JoinRequest.decode(signed.request_bytes) == signed.request
    LOG_KEY.public.verify(signed.signature, signed.request_bytes)


def test_several_endpoints_are_signed_in_layout_2_in_their_order(cert_c: bytes) -> None:
    endpoints = ("node.platform-c.example:7443", "[2001:db8::c]:7443")
    signed = join(cert_c, endpoints=endpoints)  # type: ignore[arg-type]
    assert signed.request_bytes.startswith(JOIN_TAG_V2)
    assert JoinRequest.decode(signed.request_bytes).endpoints == endpoints
    assert genesis().admit(signed).endpoints == endpoints  # the roster lists what the member signed


def test_version_2_for_one_endpoint_is_refused(cert_c: bytes) -> None:
    request = join(cert_c).request
    empty_block = JOIN_TAG_V2 + request.encode()[len(JOIN_TAG) :] + b"\x00\x00"
    with pytest.raises(JoinRequestError, match="not canonical"):
        JoinRequest.decode(empty_block)


def test_file_round_trip(tmp_path: Path, cert_c: bytes) -> None:
    signed = join(cert_c)
    signed.save(tmp_path / "join.json")
    again = SignedJoinRequest.load(tmp_path / "join.json")
    assert again == signed and again.verify() == signed.request


# --- tampering, table-driven ------------------------------------------------------------------------------


@dataclass
class Tamper:
    """A way to spoil a valid request (given the certificate), and what the error says."""

    spoil: Callable[[bytes], tuple[bytes, bytes]]  # certificate -> (request bytes, signature)
    match: str


def _edited(cert: bytes, **changes: str) -> tuple[bytes, bytes]:
    """The request re-encoded with `changes` but the original signature kept."""
    signed = join(cert)
    return dataclasses.replace(signed.request, **changes).encode(), signed.signature  # type: ignore[arg-type]


def _as_pair(signed: SignedJoinRequest) -> tuple[bytes, bytes]:
    return signed.request_bytes, signed.signature


TAMPER_CASES: dict[str, Tamper] = {
    "organisation changed after signing": Tamper(
        lambda c: _edited(c, organisation="Evil Corp"), "not signed"
    ),
    "member id changed after signing": Tamper(lambda c: _edited(c, member_id="platform-a"), "not signed"),
    "role raised after signing": Tamper(lambda c: _edited(c, requested_role="steward"), "not signed"),
    "signed by a key other than the one it names": Tamper(
        lambda c: (join(c).request_bytes, OTHER_KEY.sign(join(c).request_bytes)), "not signed"
    ),
    "signature garbled": Tamper(lambda c: (join(c).request_bytes, bytes(64)), "not signed"),
    "certificate of another member": Tamper(
        lambda c: _as_pair(join(identity("platform-x").certificate_der)), "common name"
    ),
    "certificate signed by another key": Tamper(
        lambda c: _as_pair(
            join(odd_certificate("platform-c", issuer_key=ec.generate_private_key(ec.SECP256R1())))
        ),
        "not self-signed",
    ),
    "CA certificate": Tamper(lambda c: _as_pair(join(odd_certificate("platform-c", ca=True))), "CA"),
    "certificate without the peer name": Tamper(
        lambda c: _as_pair(join(odd_certificate("platform-c", names=("platform-c.example",)))),
        "hashnode.peer",
    ),
    "not a certificate": Tamper(lambda c: _as_pair(join(b"\x30\x03\x02\x01\x01")), "X.509"),
    "wrong domain tag": Tamper(
        lambda c: (b"hashnode.jion.v1\x00" + join(c).request_bytes[17:], bytes(64)), "tag"
    ),
    "trailing byte": Tamper(lambda c: (join(c).request_bytes + b"\x00", join(c).signature), "trailing"),
    "truncated": Tamper(lambda c: (join(c).request_bytes[:-3], join(c).signature), "truncated"),
    "short signature": Tamper(lambda c: (join(c).request_bytes, join(c).signature[:63]), "signature"),
}


@pytest.mark.parametrize("case", TAMPER_CASES.values(), ids=TAMPER_CASES.keys())
def test_tampered_request_is_refused(case: Tamper, cert_c: bytes) -> None:
    request_bytes, signature = case.spoil(cert_c)
    with pytest.raises(JoinRequestError, match=case.match):
        SignedJoinRequest.parse(request_bytes, signature).verify()


INVALID_FIELDS: dict[str, dict[str, str]] = {
    "unknown role": {"requested_role": "admin"},
    "member id with spaces": {"member_id": "platform c"},
    "empty consortium id": {"consortium_id": ""},
    "endpoint without a port": {"endpoints": ("node.platform-c.example",)},  # type: ignore[dict-item]
}


@pytest.mark.parametrize("fields", INVALID_FIELDS.values(), ids=INVALID_FIELDS.keys())
def test_invalid_fields_are_refused_when_creating(fields: dict[str, str], cert_c: bytes) -> None:
    with pytest.raises(JoinRequestError):
        join(cert_c, **fields)  # type: ignore[arg-type]


def test_json_file_of_another_kind_is_refused(cert_c: bytes) -> None:
    with pytest.raises(JoinRequestError, match="format"):
        SignedJoinRequest.from_json(join(cert_c).to_json().replace("hashnode.join-request.v1", "other"))


# --- admission --------------------------------------------------------------------------------------------


def genesis() -> RosterDraft:
    return RosterDraft.genesis(
        CONSORTIUM,
        stewards=[StewardKey("steward-0", STEWARD.public)],
        threshold=1,
        expires_ms=NOW + 365 * DAY,
    )


def test_admitted_member_verifies_in_the_next_roster(cert_c: bytes) -> None:
    draft = genesis()
    draft.admit(join(cert_c), "observer")
    signed = draft.sign(STEWARD)
    roster = TrustedRoster(signed.roster_bytes, signed.signatures).current(NOW)
    member = roster.member("platform-c")
    assert member is not None
    assert (
        member.roles == ("observer",) and member.status == MemberStatus.ACTIVE and member.status_version == 1
    )
    assert [c.fingerprint for c in member.tls] == [certificates.fingerprint(cert_c)]
    membership = roster.membership()
    assert membership.signing_key("platform-c", LOG_KEY.public.key_id, NOW) == LOG_KEY.public
    with pytest.raises(Exception, match="not valid"):  # the key is valid from the request's creation only
        membership.signing_key("platform-c", LOG_KEY.public.key_id, NOW - 1)


def test_admission_defaults_to_the_requested_role(cert_c: bytes) -> None:
    draft = genesis()
    assert draft.admit(join(cert_c, requested_role="trusted_flagger")).roles == ("trusted_flagger",)


def test_tampered_request_is_not_admitted(cert_c: bytes) -> None:
    draft = genesis()
    request_bytes, signature = _edited(cert_c, organisation="Evil Corp")
    with pytest.raises(JoinRequestError):
        draft.admit(SignedJoinRequest.parse(request_bytes, signature))
    assert draft.members == ()


def test_request_for_another_consortium_is_not_admitted(cert_c: bytes) -> None:
    with pytest.raises(WrongConsortiumError):
        genesis().admit(join(cert_c, consortium_id="other-consortium"))


def test_a_member_id_is_admitted_once(cert_c: bytes) -> None:
    draft = genesis()
    draft.admit(join(cert_c))
    with pytest.raises(AlreadyExists):
        draft.admit(join(cert_c, key=OTHER_KEY))


def test_tls_rotation_checks_the_certificate_and_overlaps(cert_c: bytes) -> None:
    draft = genesis()
    draft.admit(join(cert_c))
    with pytest.raises(certificates.TlsCertificateError):
        draft.rotate_tls(
            "platform-c", identity("platform-x").certificate_der, valid_from_ms=NOW, overlap_until_ms=NOW
        )
    new = identity("platform-c").certificate_der
    draft.rotate_tls("platform-c", new, valid_from_ms=NOW + DAY, overlap_until_ms=NOW + 2 * DAY)
    member = draft.build().member("platform-c")
    assert member is not None
    windows = {c.fingerprint: (c.valid_from_ms, c.valid_until_ms) for c in member.tls}
    assert windows == {
        certificates.fingerprint(cert_c): (NOW, NOW + 2 * DAY),
        certificates.fingerprint(new): (NOW + DAY, 0),
    }
