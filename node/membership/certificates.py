"""Members' TLS identities: self-signed certificates, their fingerprints, and the checks a roster applies.

There is no certificate authority. Each member's node has a self-signed certificate (CA:FALSE); the roster
lists it by its DER bytes, and its identity is its fingerprint, SHA-256(DER). Host names do not identify anyone:
certificates carry the fixed name `hashnode.peer`, which clients ask for. How the roster's certificates become
whom a node trusts is `node.membership.trust`; the gRPC credentials built on them are `node.network.tls`.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from node.core.errors import ConfigError, VerificationError
from node.core.private_files import PUBLIC_MODE, private_directory, write_file
from node.membership.tls_names import PEER_TLS_NAME

_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


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
        private_directory(private_key_path.parent)
        try:
            write_file(private_key_path, self.private_key_pem, exclusive=True)
        except FileExistsError:
            raise ConfigError(
                f"TLS key {private_key_path}: already exists; refusing to overwrite a key"
            ) from None
        private_directory(certificate_path.parent)
        write_file(certificate_path, self.certificate_pem, mode=PUBLIC_MODE)

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


def is_host_name(name: str) -> bool:
    """Whether `name` is an IP address or a DNS host name (lower-case labels of letters, digits and inner
    hyphens; a leading `*.` wildcard label allowed), what a certificate's subject alternative names hold."""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        return True
    labels = name.removeprefix("*.").split(".")
    return len(name) <= 253 and all(_HOST_LABEL.match(label) for label in labels)


def client_identity(identity: TlsIdentity, names: Iterable[str]) -> TlsIdentity:
    """The certificate a node's client listener serves when its operator names hosts for it ([tls] client_names).

    Clients that check the host name they dial (HMA, the threatexchange CLI, a browser-grade TLS stack) need
    it among the certificate's names; the roster's certificate carries only `hashnode.peer`. This one carries
    `names` only (not `hashnode.peer`: the listener serves both and picks by the name asked for, so clients that
    ask for `hashnode.peer` keep getting the roster's), with the node certificate's key, subject and validity,
    self-signed. Its serial
    number comes from the node certificate and the names, and ECDSA signatures are deterministic (RFC 6979), so
    the same identity and names give the same bytes at every start: the file clients trust stays valid across
    restarts, and changes only when the names or the node certificate do.

    Raises:
        TlsCertificateError: the identity's certificate or key cannot be read, or the key is not an ECDSA key (as
            `generate_identity` makes).
    """
    try:
        node = x509.load_pem_x509_certificate(identity.certificate_pem)
        key = serialization.load_pem_private_key(identity.private_key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise TlsCertificateError(f"TLS identity: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        kind = type(key).__name__
        raise TlsCertificateError(f"TLS identity: a {kind} key, want an ECDSA key (hashnode join makes one)")
    hosts = list(dict.fromkeys(names))
    alternative: list[x509.GeneralName] = []
    for host in hosts:
        try:
            alternative.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            alternative.append(x509.DNSName(host))
    seed = hashlib.sha256(b"hashnode client listener\x00" + fingerprint(identity.certificate_der))
    seed.update("\x00".join(hosts).encode())
    builder = (
        x509.CertificateBuilder()
        .subject_name(node.subject)
        .issuer_name(node.subject)
        .public_key(node.public_key())
        .serial_number(_serial_from_seed(seed.digest()))
        .not_valid_before(node.not_valid_before_utc)
        .not_valid_after(node.not_valid_after_utc)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(alternative), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    cert = builder.sign(key, hashes.SHA256(), ecdsa_deterministic=True)
    return TlsIdentity(cert.public_bytes(serialization.Encoding.PEM), identity.private_key_pem)


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
