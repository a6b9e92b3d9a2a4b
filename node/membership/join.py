"""Join requests: an organisation asks the stewards to admit its node (docs/membership.md, "Joining").

The request names the member, its organisation and contact, the role it asks for, its log public key and its
TLS certificate, and is signed by the log key over its canonical bytes. Verifying it proves the requester
holds the log key; the certificate's own self-signature proves it holds the TLS key. The stewards admit it
with `RosterDraft.admit`, which verifies it again.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from node.core.canonical import Reader, Writer
from node.core.errors import ConfigError, EncodingError, InvalidArgument, VerificationError
from node.core.keys import PUBLIC_KEY_SIZE, SIGNATURE_SIZE, PublicKey, SigningKey
from node.membership import certificates
from node.membership.members import MAX_CERTIFICATE_BYTES, ROLES, check_endpoints, check_member_id

# As with rosters (docs/membership.md, "Version 2: extensions"), version 2 is version 1 followed by an extension
# block, and a request that needs no extension is written in version 1, so each request has one encoding.
JOIN_TAG = b"hashnode.join.v1\x00"
JOIN_TAG_V2 = b"hashnode.join.v2\x00"
EXT_FURTHER_ENDPOINTS = 1  # `string[]`: the endpoints after the first (which is in `endpoint`)
FILE_FORMAT = "hashnode.join-request.v1"


class JoinRequestError(VerificationError):
    """A join request is malformed, or does not prove possession of its keys."""


@dataclass(frozen=True)
class JoinRequest:
    consortium_id: str
    member_id: str
    organisation: str
    contact: str
    requested_role: str
    endpoints: tuple[str, ...]
    log_public_key: PublicKey
    tls_certificate_der: bytes
    created_ms: int

    def __post_init__(self) -> None:
        try:
            check_member_id(self.member_id)
        except InvalidArgument as exc:
            raise JoinRequestError(f"join request: {exc.message}") from None
        if not self.consortium_id:
            raise JoinRequestError('join request: consortium_id: got "", want a consortium id')
        if self.requested_role not in ROLES:
            raise JoinRequestError(
                f"join request: requested_role: got {self.requested_role!r}, want one of {', '.join(ROLES)}"
            )
        object.__setattr__(self, "endpoints", tuple(self.endpoints))
        try:
            check_endpoints(self.endpoints)
        except InvalidArgument as exc:
            raise JoinRequestError(f"join request: {exc.message}") from None
        if not 0 < len(self.tls_certificate_der) <= MAX_CERTIFICATE_BYTES:
            raise JoinRequestError(
                f"join request: tls certificate: got {len(self.tls_certificate_der)} bytes, "
                f"want 1..{MAX_CERTIFICATE_BYTES}"
            )

    @property
    def tls_fingerprint(self) -> bytes:
        return certificates.fingerprint(self.tls_certificate_der)

    def encode(self) -> bytes:
        extended = len(self.endpoints) > 1
        writer = Writer().raw(JOIN_TAG_V2 if extended else JOIN_TAG).string(self.consortium_id)
        writer.string(self.member_id).string(self.organisation).string(self.contact).string(self.requested_role)
        writer.string(self.endpoints[0] if self.endpoints else "")
        writer.fixed(self.log_public_key.raw, PUBLIC_KEY_SIZE).blob(self.tls_certificate_der)
        writer.u64(self.created_ms)
        if extended:
            writer.u16(1).u16(EXT_FURTHER_ENDPOINTS).blob(Writer().strings(self.endpoints[1:]).getvalue())
        return writer.getvalue()

    @classmethod
    def decode(cls, data: bytes) -> JoinRequest:
        """Raises: JoinRequestError if the bytes are not one canonical join request."""
        reader = Reader(data, "join request")
        try:
            tag = reader.fixed(len(JOIN_TAG))
            if tag not in (JOIN_TAG, JOIN_TAG_V2):
                raise JoinRequestError("join request: wrong domain tag (want hashnode.join.v1 or v2)")
            consortium_id, member_id, organisation = reader.string(), reader.string(), reader.string()
            contact, requested_role, endpoint = reader.string(), reader.string(), reader.string()
            log_public_key = PublicKey(reader.fixed(PUBLIC_KEY_SIZE))
            certificate, created_ms = reader.blob(), reader.u64()
            further = _further_endpoints(reader) if tag == JOIN_TAG_V2 else ()
            endpoints = ((endpoint,) if endpoint else ()) + further
            reader.end()
            request = cls(
                consortium_id=consortium_id,
                member_id=member_id,
                organisation=organisation,
                contact=contact,
                requested_role=requested_role,
                endpoints=endpoints,
                log_public_key=log_public_key,
                tls_certificate_der=certificate,
                created_ms=created_ms,
            )
        except EncodingError as exc:
            raise JoinRequestError(exc.message) from exc
        if request.encode() != bytes(data):
            raise JoinRequestError("join request: not canonical (version 2 without a further endpoint)")
        return request


def _further_endpoints(reader: Reader) -> tuple[str, ...]:
    """A version-2 request's extension block: extension 1 (further endpoints) is the only type there is."""
    found: tuple[str, ...] = ()
    for _ in range(reader.u16()):
        kind, value = reader.u16(), reader.blob()
        if kind != EXT_FURTHER_ENDPOINTS or found:
            raise JoinRequestError(f"join request: extension type {kind}: unknown or repeated (newer protocol?)")
        inner = Reader(value, "join request further endpoints")
        found = inner.strings()
        inner.end()
    return found


@dataclass(frozen=True)
class SignedJoinRequest:
    """A join request as received: its bytes, the log key's signature over them, and the decoded request."""

    request_bytes: bytes
    signature: bytes
    request: JoinRequest = field(compare=False)

    @classmethod
    def parse(cls, request_bytes: bytes, signature: bytes) -> SignedJoinRequest:
        """Decodes the request; `verify` checks the signature. Raises: JoinRequestError."""
        if len(signature) != SIGNATURE_SIZE:
            raise JoinRequestError(
                f"join request: signature: got {len(signature)} bytes, want {SIGNATURE_SIZE}"
            )
        return cls(bytes(request_bytes), bytes(signature), JoinRequest.decode(request_bytes))

    def verify(self) -> JoinRequest:
        """Checks the proofs of possession and returns the request.

        Raises:
            JoinRequestError: the log key did not sign these bytes, or the TLS certificate is not a
                self-signed certificate for this member (node.membership.certificates.check_member_certificate).
        """
        request = self.request
        try:
            request.log_public_key.verify(self.signature, self.request_bytes)
        except VerificationError:
            raise JoinRequestError(
                f"join request of {request.member_id!r}: not signed by its log key "
                f"{request.log_public_key.key_id.hex()[:16]}…"
            ) from None
        try:
            certificates.check_member_certificate(request.tls_certificate_der, request.member_id)
        except certificates.TlsCertificateError as exc:
            raise JoinRequestError(f"join request: {exc.message}") from exc
        return request

    def to_json(self) -> str:
        request = self.request
        return (
            json.dumps(
                {
                    "format": FILE_FORMAT,
                    "request": base64.b64encode(self.request_bytes).decode("ascii"),
                    "signature": self.signature.hex(),
                    # For stewards to compare with what the organisation says out of band; not read back.
                    "member_id": request.member_id,
                    "log_key_id": request.log_public_key.key_id.hex(),
                    "tls_fingerprint": request.tls_fingerprint.hex(),
                },
                indent=2,
            )
            + "\n"
        )

    @classmethod
    def from_json(cls, text: str) -> SignedJoinRequest:
        """Raises: JoinRequestError if the text is not a join-request file."""
        data = _json_object(text)
        if data.get("format") != FILE_FORMAT:
            raise JoinRequestError(
                f"join request file: format: got {data.get('format')!r}, want {FILE_FORMAT}"
            )
        try:
            request_bytes = base64.b64decode(str(data["request"]), validate=True)
            signature = bytes.fromhex(str(data["signature"]))
        except (KeyError, ValueError, binascii.Error) as exc:
            raise JoinRequestError(f"join request file: {exc}") from exc
        return cls.parse(request_bytes, signature)

    def save(self, path: Path) -> None:
        path.write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> SignedJoinRequest:
        """Raises: ConfigError if the file cannot be read; JoinRequestError if it is not a join request."""
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"join request file {path}: {exc}") from exc
        return cls.from_json(text)


def _json_object(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JoinRequestError(f"join request file: not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise JoinRequestError("join request file: want a JSON object")
    return data


def create_join_request(
    log_key: SigningKey,
    tls_certificate_der: bytes,
    *,
    consortium_id: str,
    member_id: str,
    organisation: str,
    contact: str,
    requested_role: str,
    endpoints: tuple[str, ...] | list[str],
    created_ms: int,
) -> SignedJoinRequest:
    """A join request signed by `log_key`.

    Raises: JoinRequestError if a field is invalid.
    """
    request = JoinRequest(
        consortium_id=consortium_id,
        member_id=member_id,
        organisation=organisation,
        contact=contact,
        requested_role=requested_role,
        endpoints=tuple(endpoints),
        log_public_key=log_key.public,
        tls_certificate_der=tls_certificate_der,
        created_ms=created_ms,
    )
    request_bytes = request.encode()
    return SignedJoinRequest(request_bytes, log_key.sign(request_bytes), request)
