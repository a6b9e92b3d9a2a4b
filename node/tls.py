"""Mutual TLS between members' nodes, pinned to the certificates the roster lists (docs/membership.md, "TLS").

There is no certificate authority. Each member's node has a self-signed certificate (CA:FALSE); the roster
lists it by its DER bytes, and its identity is its fingerprint, SHA-256(DER). gRPC cannot pin a fingerprint,
so pinning is built from what it can do:

- A server trusts as "root certificates" exactly the certificates of the roster's active members, and requires
  a client certificate: a certificate the roster does not list fails the handshake. The trust set is read
  again at every new connection (`grpc.dynamic_ssl_server_credentials`), so a roster update needs no restart.
- After the handshake, `PeerAuthInterceptor` maps the peer certificate that gRPC reports
  (`context.auth_context()["x509_pem_cert"]`) to its fingerprint and that to a member, and refuses the call
  unless the roster holds that certificate for an active member *now*. This also cuts off a revoked member on
  a connection opened before its revocation.
- A client dialling member M trusts only M's certificates, so it talks to M or to no one. Host names do not
  identify anyone: certificates carry the fixed name `hashnode.peer`, which clients ask for.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from node.api.handlers import guarded
from node.errors import ConfigError, FailedPrecondition, Unauthenticated, VerificationError

if (
    TYPE_CHECKING
):  # roster imports tls at run time (certificate checks); tls needs roster only for annotations
    from node.roster import Roster

PEER_TLS_NAME = "hashnode.peer"
CHANNEL_OPTIONS: tuple[tuple[str, str], ...] = (("grpc.ssl_target_name_override", PEER_TLS_NAME),)
PEM_CERT_PROPERTY = "x509_pem_cert"


class TlsCertificateError(VerificationError):
    """A certificate is not a member's self-signed TLS certificate as docs/membership.md defines it."""


def fingerprint(certificate_der: bytes) -> bytes:
    """A certificate's identity: SHA-256 of its DER encoding."""
    return hashlib.sha256(certificate_der).digest()


def pem_to_der(certificate_pem: bytes) -> bytes:
    """Raises: TlsCertificateError if `certificate_pem` is not one PEM certificate."""
    try:
        cert = x509.load_pem_x509_certificate(certificate_pem)
    except ValueError as exc:
        raise TlsCertificateError(f"certificate: not a PEM X.509 certificate ({exc})") from exc
    return cert.public_bytes(serialization.Encoding.DER)


def der_to_pem(certificate_der: bytes) -> bytes:
    """Raises: TlsCertificateError if `certificate_der` is not a DER certificate."""
    return _load_der(certificate_der).public_bytes(serialization.Encoding.PEM)


def _load_der(certificate_der: bytes) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(certificate_der)
    except ValueError as exc:
        raise TlsCertificateError(f"certificate: not a DER X.509 certificate ({exc})") from exc


def _utc(ms: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.UTC)


@dataclass(frozen=True)
class TlsIdentity:
    """A node's own certificate and private key, both PEM."""

    certificate_pem: bytes
    private_key_pem: bytes

    @property
    def certificate_der(self) -> bytes:
        return pem_to_der(self.certificate_pem)

    @property
    def fingerprint(self) -> bytes:
        return fingerprint(self.certificate_der)

    def save(self, certificate_path: Path, private_key_path: Path) -> None:
        """Writes both files; the key with owner-only permissions. Refuses to overwrite an existing key.

        Raises: ConfigError if the key file exists.
        """
        private_key_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(private_key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise ConfigError(
                f"TLS key {private_key_path}: already exists; refusing to overwrite a key"
            ) from None
        with os.fdopen(fd, "wb") as handle:
            handle.write(self.private_key_pem)
        certificate_path.write_bytes(self.certificate_pem)

    @classmethod
    def load(cls, certificate_path: Path, private_key_path: Path) -> TlsIdentity:
        """Raises: ConfigError if a file cannot be read or the certificate is not PEM."""
        try:
            identity = cls(certificate_path.read_bytes(), private_key_path.read_bytes())
            identity.certificate_der  # noqa: B018 -- parse now, fail at start-up rather than at the first handshake
        except OSError as exc:
            raise ConfigError(f"TLS identity: {exc}") from exc
        except TlsCertificateError as exc:
            raise ConfigError(f"TLS certificate {certificate_path}: {exc}") from exc
        return identity


def generate_identity(
    member_id: str,
    *,
    not_before_ms: int,
    not_after_ms: int,
    hosts: Iterable[str] = (),
    seed: bytes | None = None,
) -> TlsIdentity:
    """A new ECDSA P-256 key and a self-signed certificate for `member_id` (CN), for TLS server and client.

    `hosts` are extra DNS names; peers do not need them (they ask for `hashnode.peer`). With `seed`, the key,
    serial number and signature derive from it, so the same arguments give the same bytes: for published
    example identities only, whose private keys are public anyway.
    """
    key = ec.generate_private_key(ec.SECP256R1()) if seed is None else _key_from_seed(seed)
    serial = x509.random_serial_number() if seed is None else _serial_from_seed(seed)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, member_id)])
    san = x509.SubjectAlternativeName([x509.DNSName(h) for h in (PEER_TLS_NAME, *hosts)])
    usage = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(_utc(not_before_ms))
        .not_valid_after(_utc(not_after_ms))
        # CA:FALSE: a member's certificate vouches for itself only, never for another certificate.
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(san, critical=False)
        .add_extension(usage, critical=False)
        # Key identifiers let TLS libraries tell a member's old and new certificate (same subject) apart.
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256(), ecdsa_deterministic=seed is not None)
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return TlsIdentity(cert.public_bytes(serialization.Encoding.PEM), key_pem)


def _key_from_seed(seed: bytes) -> ec.EllipticCurvePrivateKey:
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # of P-256
    scalar = int.from_bytes(hashlib.sha256(b"hashnode tls key\x00" + seed).digest(), "big") % (order - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


def _serial_from_seed(seed: bytes) -> int:
    # RFC 5280: positive, at most 20 octets; 159 bits keeps the top bit clear.
    return int.from_bytes(hashlib.sha256(b"hashnode tls serial\x00" + seed).digest()[:20], "big") >> 1 or 1


def check_member_certificate(certificate_der: bytes, member_id: str) -> None:
    """Checks a certificate is one a roster may list for `member_id`.

    Raises:
        TlsCertificateError: not DER X.509; its common name is not `member_id`; it is not self-signed (or its
            self-signature does not verify); it is a CA certificate; it lacks the name `hashnode.peer`.
    """
    cert = _load_der(certificate_der)
    names = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if names != [member_id]:
        raise TlsCertificateError(f"certificate: common name {names}, want [{member_id!r}]")
    try:
        cert.verify_directly_issued_by(cert)
    except Exception as exc:  # ValueError, TypeError or InvalidSignature, by cryptography's contract
        raise TlsCertificateError(
            f"certificate of {member_id!r}: not self-signed ({exc or type(exc).__name__})"
        ) from exc
    constraints = _extension(cert, x509.BasicConstraints)
    if constraints is not None and constraints.ca:
        raise TlsCertificateError(f"certificate of {member_id!r}: is a CA certificate, want CA:FALSE")
    san = _extension(cert, x509.SubjectAlternativeName)
    if san is None or PEER_TLS_NAME not in san.get_values_for_type(x509.DNSName):
        raise TlsCertificateError(f"certificate of {member_id!r}: lacks the DNS name {PEER_TLS_NAME}")


def _extension(cert: x509.Certificate, kind: type[Any]) -> Any:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


# --- whom to trust ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeerCertificate:
    member_id: str
    der: bytes
    valid_from_ms: int = 0
    valid_until_ms: int = 0

    @property
    def fingerprint(self) -> bytes:
        return fingerprint(self.der)

    def valid_at(self, timestamp_ms: int) -> bool:
        return self.valid_from_ms <= timestamp_ms and (
            self.valid_until_ms == 0 or timestamp_ms <= self.valid_until_ms
        )


@dataclass(frozen=True)
class PeerTrust:
    """The certificates a node accepts from peers, each with the member that holds it."""

    certificates: tuple[PeerCertificate, ...]

    @classmethod
    def from_roster(cls, roster: Roster, now_ms: int) -> PeerTrust:
        """The certificates of the roster's active members that are valid at `now_ms`.

        Suspended and revoked members are left out: they may not connect (their past entries stay valid).
        """
        from node.roster import MemberStatus

        certs = tuple(
            PeerCertificate(m.member_id, c.der, c.valid_from_ms, c.valid_until_ms)
            for m in roster.members
            if m.status == MemberStatus.ACTIVE
            for c in m.tls
            if c.valid_at(now_ms)
        )
        return cls(certs)

    def member_for(self, certificate_fingerprint: bytes, now_ms: int) -> str | None:
        """The member holding the certificate with that fingerprint, if it is valid at `now_ms`."""
        for cert in self.certificates:
            if cert.fingerprint == certificate_fingerprint and cert.valid_at(now_ms):
                return cert.member_id
        return None

    def bundle_pem(self, member_id: str | None = None) -> bytes:
        """The PEM certificates of `member_id`, or of everyone: gRPC's "root certificates"."""
        return b"".join(der_to_pem(c.der) for c in self.certificates if member_id in (None, c.member_id))


class TrustStore:
    """The current `PeerTrust`, swapped atomically when the roster changes (read from gRPC's threads)."""

    def __init__(self, trust: PeerTrust) -> None:
        self._lock = threading.Lock()
        self._trust = trust
        self._generation = 0

    def get(self) -> PeerTrust:
        with self._lock:
            return self._trust

    def snapshot(self) -> tuple[int, PeerTrust]:
        """The trust and a number that changes whenever it is replaced."""
        with self._lock:
            return self._generation, self._trust

    def set(self, trust: PeerTrust) -> None:
        with self._lock:
            self._trust = trust
            self._generation += 1


# --- gRPC credentials and the server-side check -------------------------------------------------------------


class _CertificateConfigFetcher:
    """Gives gRPC a new certificate configuration when the trust store changed since the last handshake."""

    def __init__(self, identity: TlsIdentity, store: TrustStore) -> None:
        self._identity = identity
        self._store = store
        self._served = -1

    def config(self, trust: PeerTrust) -> Any:
        pair = [(self._identity.private_key_pem, self._identity.certificate_pem)]
        return grpc.ssl_server_certificate_configuration(pair, root_certificates=trust.bundle_pem())

    def initial(self) -> Any:
        generation, trust = self._store.snapshot()
        if not trust.certificates:
            raise ConfigError("TLS: the roster lists no active member certificates to trust")
        self._served = generation
        return self.config(trust)

    def __call__(self) -> Any:
        generation, trust = self._store.snapshot()
        # With nothing to trust, keep the last configuration: PeerAuthInterceptor still refuses every call.
        if generation == self._served or not trust.certificates:
            return None
        self._served = generation
        return self.config(trust)


def server_credentials(identity: TlsIdentity, store: TrustStore) -> grpc.ServerCredentials:
    """Credentials for a peer-facing server: mutual TLS, trusting the store's certificates at each connection.

    Raises: ConfigError if the store has no certificates.
    """
    fetcher = _CertificateConfigFetcher(identity, store)
    return grpc.dynamic_ssl_server_credentials(fetcher.initial(), fetcher, require_client_authentication=True)


def channel_credentials(
    identity: TlsIdentity, trust: PeerTrust, peer_member_id: str
) -> grpc.ChannelCredentials:
    """Credentials to dial `peer_member_id`: trust only its certificates, present ours. Use CHANNEL_OPTIONS.

    Raises: FailedPrecondition if the peer has no certificate in `trust`.
    """
    roots = trust.bundle_pem(peer_member_id)
    if not roots:
        raise FailedPrecondition(f"member {peer_member_id!r} has no valid TLS certificate in the roster")
    return grpc.ssl_channel_credentials(
        root_certificates=roots,
        private_key=identity.private_key_pem,
        certificate_chain=identity.certificate_pem,
    )


def peer_fingerprint(context: grpc.ServicerContext) -> bytes | None:
    """The fingerprint of the certificate the peer presented in the TLS handshake, or None without one."""
    pems = context.auth_context().get(PEM_CERT_PROPERTY)
    if not pems:
        return None
    try:
        return fingerprint(pem_to_der(pems[0]))
    except TlsCertificateError:
        return None


def authenticated_member(context: grpc.ServicerContext, trust: PeerTrust, now_ms: int) -> str:
    """The member whose certificate the peer presented.

    Raises:
        Unauthenticated: no client certificate, or none the trust set holds for an active member at `now_ms`.
    """
    peer = peer_fingerprint(context)
    if peer is None:
        raise Unauthenticated("peer: no TLS client certificate")
    member_id = trust.member_for(peer, now_ms)
    if member_id is None:
        raise Unauthenticated(f"peer: certificate {peer.hex()[:16]}… is not an active member's in the roster")
    return member_id


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class PeerAuthInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]
    """Refuses, with UNAUTHENTICATED, every call whose peer certificate is not an active member's now."""

    def __init__(self, store: TrustStore, clock: Callable[[], int] = _wall_clock_ms) -> None:
        self._store = store
        self._clock = clock

    def _check(self, context: grpc.ServicerContext) -> None:
        try:
            authenticated_member(context, self._store.get(), self._clock())
        except Unauthenticated as exc:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, exc.message)

    def intercept_service(self, continuation: Callable[[Any], Any], handler_call_details: Any) -> Any:
        handler = continuation(handler_call_details)
        return None if handler is None else guarded(handler, self._check)
