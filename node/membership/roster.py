"""Signed, versioned consortium rosters and their verification (docs/membership.md).

A roster is the consortium's membership document: who the stewards are and how many of them must sign (k of
n), and who the members are, with their log keys, TLS certificates, roles and status. It replaces the static
consortium file as the source of `node.membership.Membership` (`Roster.membership()`).

Trust follows the root-rotation rules of The Update Framework (TUF specification 1.0, section 5.3): version
N+1 is trusted only when a threshold of version N's stewards *and* a threshold of its own stewards signed
exactly its bytes. `TrustedRoster` is the pure verifier: canonical bytes and signatures in, trusted state out;
the clock is an argument. The bytes received are kept and verified as they are; nothing is re-serialised
before verification.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from node.core.canonical import Reader, Writer
from node.core.errors import (
    AlreadyExists,
    ConfigError,
    EncodingError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    VerificationError,
)
from node.core.jsondoc import DocumentError, Obj, fail, loads
from node.core.keys import PUBLIC_KEY_SIZE, SIGNATURE_SIZE, PublicKey, SigningKey
from node.membership.certificates import check_member_certificate
from node.membership.consortium_policy import ConsortiumPolicy
from node.membership.members import (
    MAX_CERTIFICATE_BYTES,
    MEMBER_ID_RE,
    ROLES,
    Member,
    MemberKey,
    Membership,
    check_endpoints,
)

if TYPE_CHECKING:  # roster needs join requests only for annotations
    from node.membership.join import SignedJoinRequest

ROSTER_TAG = b"hashnode.roster.v1\x00"
# Version 2 is version 1 with extension blocks (docs/protocol.md, "Rosters"): a roster that uses no extension
# is encoded as version 1, so every roster has exactly one encoding and old rosters verify unchanged.
ROSTER_TAG_V2 = b"hashnode.roster.v2\x00"
# Roster extension types (u16). A decoder refuses a type it does not know: every node must read a roster the
# same way, or nodes would disagree on what it says.
EXT_DUE_PROCESS_POLICY = 1
# Member extension types. 1: the member's further endpoints (`string[]`, at least one), after the one version 1
# holds in `endpoint`; present exactly when the member lists more than one.
EXT_MEMBER_FURTHER_ENDPOINTS = 1
MEMBER_EXTENSIONS: dict[int, str] = {EXT_MEMBER_FURTHER_ENDPOINTS: "further endpoints"}
FILE_FORMAT = "hashnode.signed-roster.v1"
_SIGNATURE_HEX = re.compile(f"[0-9a-f]{{{2 * SIGNATURE_SIZE}}}")
MAX_U64 = 2**64 - 1


# --- errors: one type per reason a roster is refused --------------------------------------------------------


class RosterError(VerificationError):
    """A roster was refused. Subclasses name the reason."""


class MalformedRosterError(RosterError, EncodingError):
    """The bytes do not decode, are not canonical, or break a structural rule (e.g. threshold > stewards)."""


class ThresholdError(RosterError):
    """Too few distinct stewards signed the roster."""


class RollbackError(RosterError):
    """A roster older than the trusted one (a replay, or an attacker freezing the node on old data)."""


class ConflictingVersionError(RollbackError):
    """The trusted version number but other bytes: a forgery, or a fork signed by the stewards."""


class SkippedVersionError(RosterError):
    """A roster more than one version ahead: the versions between must be verified first."""


class ExpiredRosterError(RosterError):
    """The newest trusted roster has expired; a newer one must be fetched before it can be used."""


class WrongConsortiumError(RosterError):
    """The roster belongs to another consortium."""


class PinnedRosterMismatchError(RosterError):
    """The root of trust is not the pinned roster (its id differs, or it is not version 1)."""


class RosterTransitionError(RosterError):
    """Version N+1 breaks a rule relating it to version N (a member removed, a status version misrecorded)."""


# --- the document -------------------------------------------------------------------------------------------


class MemberStatus(enum.IntEnum):
    ACTIVE = 1
    SUSPENDED = 2  # reversible: may not author or connect; entries stay valid
    REVOKED = 3  # final: entries signed after revoked_after_ms are refused

    @property
    def label(self) -> str:
        return self.name.lower()


def _malformed(field_name: str, got: object, want: str) -> MalformedRosterError:
    return MalformedRosterError(InvalidArgument(field_name, got, want).message)


def _check_u64(field_name: str, value: int) -> None:
    if not 0 <= value <= MAX_U64:
        raise _malformed(field_name, value, "an unsigned 64-bit integer")


def _check_window(field_name: str, valid_from_ms: int, valid_until_ms: int) -> None:
    _check_u64(f"{field_name}.valid_from_ms", valid_from_ms)
    _check_u64(f"{field_name}.valid_until_ms", valid_until_ms)
    if valid_until_ms and valid_until_ms < valid_from_ms:
        raise _malformed(
            f"{field_name}.valid_until_ms", valid_until_ms, f"0 or >= valid_from_ms {valid_from_ms}"
        )


@dataclass(frozen=True)
class TlsCertificate:
    """A member's self-signed X.509 certificate (DER) and when the roster accepts it (0: unbounded)."""

    der: bytes = field(repr=False)
    valid_from_ms: int = 0
    valid_until_ms: int = 0

    def __post_init__(self) -> None:
        if not 0 < len(self.der) <= MAX_CERTIFICATE_BYTES:
            raise _malformed("tls.der", f"{len(self.der)} bytes", f"1..{MAX_CERTIFICATE_BYTES} bytes")
        _check_window("tls", self.valid_from_ms, self.valid_until_ms)

    @property
    def fingerprint(self) -> bytes:
        """SHA-256 of the DER encoding, the certificate's identity everywhere in hashnode."""
        return hashlib.sha256(self.der).digest()

    def valid_at(self, timestamp_ms: int) -> bool:
        return self.valid_from_ms <= timestamp_ms and (
            self.valid_until_ms == 0 or timestamp_ms <= self.valid_until_ms
        )


@dataclass(frozen=True)
class RosterMember:
    """One member as the roster lists it. Sequences are put in canonical order on construction."""

    member_id: str
    organisation: str
    keys: tuple[MemberKey, ...]
    roles: tuple[str, ...] = ("contributor",)
    contact: str = ""
    endpoints: tuple[str, ...] = ()  # its node's peer listener, in order of preference; may be empty
    tls: tuple[TlsCertificate, ...] = ()
    status: MemberStatus = MemberStatus.ACTIVE
    status_version: int = 1
    revoked_after_ms: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", tuple(sorted(self.keys, key=lambda k: k.public_key.key_id)))
        object.__setattr__(self, "tls", tuple(sorted(self.tls, key=lambda c: c.fingerprint)))
        object.__setattr__(self, "roles", tuple(sorted(self.roles, key=_role_rank)))
        object.__setattr__(self, "status", MemberStatus(self.status))
        object.__setattr__(self, "endpoints", tuple(self.endpoints))
        self._validate()

    def _validate(self) -> None:
        where = f"member {self.member_id!r}"
        if not MEMBER_ID_RE.fullmatch(self.member_id):
            raise _malformed("member_id", self.member_id, "1-64 characters a-z 0-9 . _ -")
        if not self.keys:
            raise _malformed(f"{where}.keys", "none", "at least one log key")
        if len({k.public_key.key_id for k in self.keys}) != len(self.keys):
            raise _malformed(f"{where}.keys", "a key listed twice", "distinct keys")
        for key in self.keys:
            _check_window(f"{where}.key", key.valid_from_ms, key.valid_until_ms)
        if len({c.fingerprint for c in self.tls}) != len(self.tls):
            raise _malformed(f"{where}.tls", "a certificate listed twice", "distinct certificates")
        if not self.roles or len(set(self.roles)) != len(self.roles):
            raise _malformed(f"{where}.roles", list(self.roles), "one or more distinct roles")
        try:
            check_endpoints(self.endpoints, f"{where}.endpoints")
        except InvalidArgument as exc:
            raise MalformedRosterError(exc.message) from None
        _check_u64(f"{where}.revoked_after_ms", self.revoked_after_ms)
        if (self.status == MemberStatus.REVOKED) != (self.revoked_after_ms > 0):
            raise _malformed(f"{where}.revoked_after_ms", self.revoked_after_ms, "> 0 exactly when revoked")
        if not 1 <= self.status_version <= MAX_U64:
            raise _malformed(f"{where}.status_version", self.status_version, ">= 1")

    def key(self, key_id: bytes) -> MemberKey | None:
        return next((k for k in self.keys if k.public_key.key_id == key_id), None)

    @property
    def extensions(self) -> tuple[tuple[int, bytes], ...]:
        """The member's extensions, by ascending type: its endpoints after the first, if it has more than one."""
        if len(self.endpoints) < 2:
            return ()
        return ((EXT_MEMBER_FURTHER_ENDPOINTS, Writer().strings(self.endpoints[1:]).getvalue()),)

    def to_member(self) -> Member:
        return Member(
            member_id=self.member_id,
            organisation=self.organisation,
            keys=self.keys,
            roles=self.roles,
            contact=self.contact,
            status=self.status.label,
            revoked_after_ms=self.revoked_after_ms,
            tls_fingerprints=tuple(c.fingerprint.hex() for c in self.tls),
            endpoints=self.endpoints,
            status_version=self.status_version,
        )


def _role_rank(role: str) -> int:
    if role not in ROLES:
        raise _malformed("roles", role, "one of " + ", ".join(ROLES))
    return ROLES.index(role)


@dataclass(frozen=True)
class StewardKey:
    """A key that signs rosters, and who holds it (`name`, informational)."""

    name: str
    public_key: PublicKey

    @property
    def key_id(self) -> bytes:
        return self.public_key.key_id


@dataclass(frozen=True)
class Roster:
    """A roster document: from `Roster.decode` (received bytes) or `RosterDraft.build` (stewards)."""

    consortium_id: str
    version: int
    expires_ms: int
    threshold: int
    stewards: tuple[StewardKey, ...]
    members: tuple[RosterMember, ...] = ()
    # The consortium's due-process policy (roster extension 1); None: not stated, the defaults apply.
    policy: ConsortiumPolicy | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "stewards", tuple(sorted(self.stewards, key=lambda s: s.key_id)))
        object.__setattr__(self, "members", tuple(sorted(self.members, key=lambda m: m.member_id)))
        self._validate()

    def _validate(self) -> None:
        if not self.consortium_id:
            raise _malformed("consortium_id", '""', "a non-empty string")
        if not 1 <= self.version <= MAX_U64:
            raise _malformed("version", self.version, ">= 1")
        _check_u64("expires_ms", self.expires_ms)
        if not 1 <= self.threshold <= len(self.stewards):
            raise _malformed(
                "threshold", self.threshold, f"1..{len(self.stewards)} (the number of steward keys)"
            )
        if len({s.key_id for s in self.stewards}) != len(self.stewards):
            raise _malformed("stewards", "a key listed twice", "distinct steward keys")
        if len({m.member_id for m in self.members}) != len(self.members):
            raise _malformed("members", "a member id listed twice", "distinct member ids")
        _check_unique("log key", [k.public_key.key_id for m in self.members for k in m.keys])
        _check_unique("TLS certificate", [c.fingerprint for m in self.members for c in m.tls])
        late = [m.member_id for m in self.members if m.status_version > self.version]
        if late:
            raise _malformed("status_version", late, f"<= the roster version {self.version}")

    @property
    def extensions(self) -> tuple[tuple[int, bytes], ...]:
        """The roster extensions, by ascending type."""
        return () if self.policy is None else ((EXT_DUE_PROCESS_POLICY, self.policy.encode()),)

    @property
    def extended(self) -> bool:
        """Whether it needs version 2: a roster extension, or a member extension (more than one endpoint)."""
        return bool(self.extensions) or any(m.extensions for m in self.members)

    def encode(self) -> bytes:
        extended = self.extended
        tag = ROSTER_TAG_V2 if extended else ROSTER_TAG
        writer = Writer().raw(tag).string(self.consortium_id).u64(self.version).u64(self.expires_ms)
        writer.u16(self.threshold).u16(len(self.stewards))
        for steward in self.stewards:
            writer.string(steward.name).fixed(steward.public_key.raw, PUBLIC_KEY_SIZE)
        writer.u32(len(self.members))
        for member in self.members:
            _encode_member(writer, member)
            if extended:
                _encode_extensions(writer, member.extensions)
        if extended:
            _encode_extensions(writer, self.extensions)
        return writer.getvalue()

    @classmethod
    def decode(cls, data: bytes) -> Roster:
        """Decodes canonical roster bytes.

        Raises:
            MalformedRosterError: the bytes are truncated, have trailing bytes, break a structural rule, or
                are not the one canonical encoding of the roster they describe.
        """
        try:
            roster = _decode_roster(Reader(data, "roster"))
        except MalformedRosterError:
            raise
        except (EncodingError, InvalidArgument, ValueError) as exc:
            raise MalformedRosterError(f"roster: {exc}") from exc
        if roster.encode() != bytes(data):
            raise MalformedRosterError(
                "roster: not canonical (stewards, members, keys, roles or certificates order)"
            )
        return roster

    @property
    def steward_keys(self) -> dict[bytes, PublicKey]:
        return {s.key_id: s.public_key for s in self.stewards}

    def member(self, member_id: str) -> RosterMember | None:
        return next((m for m in self.members if m.member_id == member_id), None)

    def membership(self) -> Membership:
        """The roster as the `Membership` the ledger and replication verify entries against."""
        members = {m.member_id: m.to_member() for m in self.members}
        policy = self.policy if self.policy is not None else ConsortiumPolicy()
        return Membership(self.consortium_id, members, version=self.version, policy=policy)


def _check_unique(what: str, ids: list[bytes]) -> None:
    if len(set(ids)) != len(ids):
        raise _malformed("members", f"a {what} shared by two members", f"each {what} held by one member")


def _encode_member(writer: Writer, member: RosterMember) -> None:
    writer.string(member.member_id).string(member.organisation).string(member.contact)
    writer.string(member.endpoints[0] if member.endpoints else "")  # the first; the others: an extension
    writer.strings(member.roles).u8(member.status).u64(member.status_version).u64(member.revoked_after_ms)
    writer.u16(len(member.keys))
    for key in member.keys:
        writer.fixed(key.public_key.raw, PUBLIC_KEY_SIZE).u64(key.valid_from_ms).u64(key.valid_until_ms)
    writer.u16(len(member.tls))
    for cert in member.tls:
        writer.blob(cert.der).u64(cert.valid_from_ms).u64(cert.valid_until_ms)


def _encode_extensions(writer: Writer, extensions: Sequence[tuple[int, bytes]]) -> None:
    writer.u16(len(extensions))
    for kind, value in extensions:
        writer.u16(kind).blob(value)


def _decode_extensions(reader: Reader, where: str, known: Mapping[int, str]) -> dict[int, bytes]:
    """`u16 count`, then (u16 type, blob value) by strictly ascending type; every type must be known."""
    found: dict[int, bytes] = {}
    for _ in range(reader.u16()):
        kind, value = reader.u16(), reader.blob()
        if found and kind <= max(found):
            raise MalformedRosterError(f"roster: {where} extension {kind}: types must ascend, each once")
        if kind not in known:
            raise MalformedRosterError(
                f"roster: {where} extension type {kind} is unknown to this node (a newer protocol); upgrade"
            )
        found[kind] = value
    return found


def _decode_roster(reader: Reader) -> Roster:
    tag = reader.fixed(len(ROSTER_TAG))
    if tag not in (ROSTER_TAG, ROSTER_TAG_V2):
        raise MalformedRosterError("roster: wrong domain tag (want hashnode.roster.v1 or v2)")
    extended = tag == ROSTER_TAG_V2
    consortium_id, version, expires_ms, threshold = reader.string(), reader.u64(), reader.u64(), reader.u16()
    stewards = tuple(
        StewardKey(reader.string(), PublicKey(reader.fixed(PUBLIC_KEY_SIZE))) for _ in range(reader.u16())
    )
    members = []
    for _ in range(reader.u32()):
        member = _decode_member(reader)
        if extended:
            found = _decode_extensions(reader, f"member {member.member_id!r}", MEMBER_EXTENSIONS)
            member = _with_extensions(member, found)
        members.append(member)
    policy = None
    if extended:
        extensions = _decode_extensions(reader, "roster", {EXT_DUE_PROCESS_POLICY: "due-process policy"})
        if EXT_DUE_PROCESS_POLICY in extensions:
            policy = ConsortiumPolicy.decode(extensions[EXT_DUE_PROCESS_POLICY])
    reader.end()
    return Roster(consortium_id, version, expires_ms, threshold, stewards, tuple(members), policy)


def _with_extensions(member: RosterMember, found: Mapping[int, bytes]) -> RosterMember:
    """The member with what its extensions add (their encoding is checked by the re-encoding in `decode`)."""
    further = found.get(EXT_MEMBER_FURTHER_ENDPOINTS)
    if further is None:
        return member
    reader = Reader(further, f"member {member.member_id!r} further endpoints")
    endpoints = reader.strings()
    reader.end()
    if not member.endpoints or not endpoints:
        raise MalformedRosterError(
            f"roster: member {member.member_id!r} further endpoints: got {len(endpoints)} after "
            f"{len(member.endpoints)}, want at least one after a first endpoint"
        )
    return replace(member, endpoints=member.endpoints + endpoints)


def _decode_member(reader: Reader) -> RosterMember:
    member_id, organisation, contact, endpoint = (
        reader.string(),
        reader.string(),
        reader.string(),
        reader.string(),
    )
    roles, status, status_version, revoked_after_ms = (
        reader.strings(),
        reader.u8(),
        reader.u64(),
        reader.u64(),
    )
    keys = tuple(
        MemberKey(PublicKey(reader.fixed(PUBLIC_KEY_SIZE)), reader.u64(), reader.u64())
        for _ in range(reader.u16())
    )
    certs = tuple(TlsCertificate(reader.blob(), reader.u64(), reader.u64()) for _ in range(reader.u16()))
    return RosterMember(
        member_id,
        organisation,
        keys,
        roles,
        contact,
        (endpoint,) if endpoint else (),
        certs,
        MemberStatus(status),
        status_version,
        revoked_after_ms,
    )


# --- signatures and the signed file -------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """A steward's Ed25519 signature over the roster bytes, with the id of the key that made it."""

    key_id: bytes
    signature: bytes

    def __post_init__(self) -> None:
        if len(self.key_id) != 32:
            raise _malformed("signature.key_id", f"{len(self.key_id)} bytes", "32 bytes")
        if len(self.signature) != SIGNATURE_SIZE:
            raise _malformed("signature.signature", f"{len(self.signature)} bytes", f"{SIGNATURE_SIZE} bytes")


def valid_signers(
    roster_bytes: bytes, signatures: Iterable[Signature], keys: Mapping[bytes, PublicKey]
) -> set[bytes]:
    """The ids of the keys in `keys` that made a valid signature of `roster_bytes`.

    A key counts once however often it signed. Signatures by keys not in `keys`, and signatures that do not
    verify, count for nothing and are not errors (TUF 5.3.4: other parties may have signed the same bytes).
    """
    signers: set[bytes] = set()
    for sig in signatures:
        key = keys.get(sig.key_id)
        if key is None or sig.key_id in signers:
            continue
        try:
            key.verify(sig.signature, roster_bytes)
        except VerificationError:
            continue
        signers.add(sig.key_id)
    return signers


@dataclass(frozen=True)
class SignedRoster:
    """Roster bytes as received, the signatures collected so far, and the decoded roster."""

    roster_bytes: bytes
    signatures: tuple[Signature, ...]
    roster: Roster = field(compare=False)

    @classmethod
    def parse(cls, roster_bytes: bytes, signatures: Iterable[Signature]) -> SignedRoster:
        """Decodes the roster; signatures are checked by `TrustedRoster`, not here.

        Raises:
            MalformedRosterError: the bytes do not decode.
        """
        return cls(bytes(roster_bytes), tuple(signatures), Roster.decode(roster_bytes))

    @classmethod
    def unsigned(cls, roster: Roster) -> SignedRoster:
        return cls(roster.encode(), (), roster)

    @property
    def roster_id(self) -> bytes:
        return hashlib.sha256(self.roster_bytes).digest()

    def sign(self, key: SigningKey) -> SignedRoster:
        """A copy with `key`'s signature added (replacing an earlier one by the same key)."""
        others = tuple(s for s in self.signatures if s.key_id != key.public.key_id)
        return replace(self, signatures=(*others, Signature(key.public.key_id, key.sign(self.roster_bytes))))

    def merge(self, *others: SignedRoster) -> SignedRoster:
        """A copy with the signatures of `others` added: stewards sign separate copies of the same file.

        Raises:
            InvalidArgument: another file holds a different roster.
        """
        merged = {(s.key_id, s.signature): s for s in self.signatures}
        for other in others:
            if other.roster_bytes != self.roster_bytes:
                raise InvalidArgument("roster", other.roster_id.hex(), f"roster {self.roster_id.hex()}")
            merged.update({(s.key_id, s.signature): s for s in other.signatures})
        return replace(self, signatures=tuple(merged.values()))

    def to_json(self) -> str:
        return (
            json.dumps(
                {
                    "format": FILE_FORMAT,
                    "roster_id": self.roster_id.hex(),
                    "roster": base64.b64encode(self.roster_bytes).decode("ascii"),
                    "signatures": [
                        {"key_id": s.key_id.hex(), "signature": s.signature.hex()} for s in self.signatures
                    ],
                },
                indent=2,
            )
            + "\n"
        )

    @classmethod
    def from_json(cls, text: str) -> SignedRoster:
        """Reads the file format of `to_json` from text (see `from_bytes`).

        Raises:
            MalformedRosterError: as `from_bytes`.
        """
        return cls.from_bytes(text.encode("utf-8", errors="surrogatepass"))

    @classmethod
    def from_bytes(cls, data: bytes) -> SignedRoster:
        """Reads a signed-roster file (docs/membership.md, "Signatures, roster id and the roster file") strictly:
        UTF-8 strict JSON (the rules of bundle files), `format`, `roster` in canonical base64, optional
        `roster_id` (lowercase hex, equal to SHA-256 of the roster bytes), optional `signatures` (each a
        lowercase-hex 32-byte key id and 64-byte signature), nothing else. A file one reader accepts, every
        reader accepts: the offline verifiers read rosters by the same rules.

        Raises:
            MalformedRosterError: not a signed-roster file, or the roster inside does not decode.
        """
        try:
            top = Obj(loads(data), "")
            file_format = top.string("format", required=True)
            if file_format != FILE_FORMAT:
                fail("field_invalid", "format", f"got {file_format[:40]!r}, want {FILE_FORMAT!r}")
            roster_bytes = top.base64("roster", required=True)
            claimed_id = top.hex_id("roster_id") if top.has("roster_id") else None
            signatures = [_signature_from_json(Obj(value, path)) for path, value in top.array("signatures")]
            top.done()
        except DocumentError as exc:
            raise MalformedRosterError(f"signed roster file: {exc.message}") from None
        signed = cls.parse(roster_bytes, signatures)
        if claimed_id is not None and claimed_id != signed.roster_id.hex():
            raise _malformed("roster_id", claimed_id, f"{signed.roster_id.hex()} (SHA-256 of roster)")
        return signed

    def save(self, path: Path) -> None:
        path.write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> SignedRoster:
        """Raises: ConfigError if the file cannot be read; MalformedRosterError if not a signed roster."""
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"roster file {path}: {exc.strerror or exc}") from exc
        return cls.from_bytes(data)


def _signature_from_json(item: Obj) -> Signature:
    key_id = item.hex_id("key_id", required=True)
    signature = item.string("signature", required=True)
    if not _SIGNATURE_HEX.fullmatch(signature):
        fail("field_invalid", f"{item.path}.signature", f"got {signature[:40]!r}, want {2 * SIGNATURE_SIZE} lowercase "
             "hex digits (a 64-byte Ed25519 signature)")
    item.done()
    return Signature(bytes.fromhex(key_id), bytes.fromhex(signature))


# --- verification -------------------------------------------------------------------------------------------


def _check_threshold(signed: SignedRoster, signers_of: Roster, whose: str) -> None:
    signers = valid_signers(signed.roster_bytes, signed.signatures, signers_of.steward_keys)
    if len(signers) < signers_of.threshold:
        raise ThresholdError(
            f"roster version {signed.roster.version}: signed by {len(signers)} of {whose} stewards "
            f"(version {signers_of.version}), want {signers_of.threshold}"
        )


def _check_transition(old: Roster, new: Roster) -> None:
    """Rules relating consecutive versions beyond signatures (docs/membership.md, step 7).

    Raises:
        RosterTransitionError: a member of `old` is missing from `new`; a revoked member is no longer revoked
            at the same cutoff; or a status_version is not the version of the member's last status change.
    """
    for before in old.members:
        after = new.member(before.member_id)
        if after is None:
            raise RosterTransitionError(
                f"roster version {new.version}: member {before.member_id!r} is missing; members are revoked, "
                "never removed, so that their past entries stay verifiable"
            )
        if before.status == MemberStatus.REVOKED and after.revoked_after_ms != before.revoked_after_ms:
            # Nodes have already refused the entries after the cutoff; moving it would split the consortium.
            raise RosterTransitionError(
                f"roster version {new.version}: member {before.member_id!r} was revoked after "
                f"{before.revoked_after_ms}; revocation is final, want the same cutoff"
            )
    for member in new.members:
        _check_status_version(old.member(member.member_id), member, new.version)


def _check_status_version(before: RosterMember | None, after: RosterMember, version: int) -> None:
    changed = before is None or before.status != after.status
    want = version if changed or before is None else before.status_version
    if after.status_version != want:
        raise RosterTransitionError(
            f"roster version {version}: member {after.member_id!r} status_version: "
            f"got {after.status_version}, want {want}"
        )


class TrustedRoster:
    """The newest roster this node trusts, reached from a pinned root by verified steps. Pure: no I/O.

    The root of trust is either version 1 (as shipped to the operator) or any version whose roster id (SHA-256
    of its bytes) the operator pinned out of band. The root must be signed by a threshold of its own stewards.
    """

    def __init__(
        self, root_bytes: bytes, signatures: Sequence[Signature], *, pinned_id: bytes | None = None
    ) -> None:
        """Raises:
        MalformedRosterError: the root does not decode.
        PinnedRosterMismatchError: its id is not `pinned_id`, or (without a pin) it is not version 1.
        ThresholdError: too few of its own stewards signed it.
        """
        root = SignedRoster.parse(root_bytes, signatures)
        if pinned_id is None and root.roster.version != 1:
            raise PinnedRosterMismatchError(
                f"root roster: version {root.roster.version}, want 1 (or pin the id of a later version)"
            )
        if pinned_id is not None and root.roster_id != pinned_id:
            raise PinnedRosterMismatchError(f"root roster: id {root.roster_id.hex()}, want {pinned_id.hex()}")
        _check_threshold(root, root.roster, "its own")
        self._history = [root]

    @property
    def roster(self) -> Roster:
        """The newest trusted roster, even if it has expired (see `current`)."""
        return self._history[-1].roster

    @property
    def signed(self) -> SignedRoster:
        """The newest trusted roster as received, to persist or to serve to peers."""
        return self._history[-1]

    @property
    def history(self) -> tuple[SignedRoster, ...]:
        """Every roster accepted since the root, oldest first: what a peer catching up needs."""
        return tuple(self._history)

    def current(self, now_ms: int) -> Roster:
        """The newest trusted roster, if it has not expired.

        Raises:
            ExpiredRosterError: its expires_ms is before now_ms.
        """
        roster = self.roster
        if roster.expires_ms < now_ms:
            raise ExpiredRosterError(
                f"roster version {roster.version} expired at {roster.expires_ms} (now {now_ms}); "
                "fetch a newer one"
            )
        return roster

    def membership(self, now_ms: int) -> Membership:
        """`current(now_ms).membership()`. Raises: ExpiredRosterError."""
        return self.current(now_ms).membership()

    def update(self, roster_bytes: bytes, signatures: Sequence[Signature], now_ms: int) -> Roster:
        """Verifies the next roster, trusts it, and returns the newest trusted roster.

        Equal version and identical bytes: a no-op. An expired roster that verifies is still trusted as the
        newest version (forgetting it would let its predecessor be replayed; TUF 5.3.10 checks expiry only
        after the update), so ExpiredRosterError is raised *after* the state moved on; a newer roster clears
        it.

        Raises:
            MalformedRosterError: the bytes do not decode.
            WrongConsortiumError: the roster is another consortium's.
            RollbackError: its version is lower than the trusted one.
            ConflictingVersionError: same version as the trusted one, other bytes (a RollbackError).
            SkippedVersionError: its version is more than one ahead.
            ThresholdError: too few of the trusted or of its own stewards signed it.
            RosterTransitionError: it removes a member, undoes a revocation or misrecords a status change.
            ExpiredRosterError: the newest trusted roster (possibly this one) has expired.
        """
        self._advance(SignedRoster.parse(roster_bytes, signatures))
        return self.current(now_ms)

    def update_chain(self, chain: Iterable[SignedRoster], now_ms: int) -> Roster:
        """Applies consecutive rosters, then checks that the last has not expired (intermediates may have).

        Raises: as `update`; the rosters before the failing one stay trusted.
        """
        for signed in chain:
            self._advance(SignedRoster.parse(signed.roster_bytes, signed.signatures))
        return self.current(now_ms)

    def _advance(self, new: SignedRoster) -> None:
        trusted = self.roster
        version = new.roster.version
        if new.roster.consortium_id != trusted.consortium_id:
            raise WrongConsortiumError(
                f"roster: consortium {new.roster.consortium_id!r}, want {trusted.consortium_id!r}"
            )
        if version < trusted.version:  # TUF 5.3.5: never go back to an older version
            raise RollbackError(f"roster version {version}: older than the trusted version {trusted.version}")
        if version == trusted.version:
            if new.roster_bytes != self.signed.roster_bytes:
                raise ConflictingVersionError(
                    f"roster version {version}: differs from the trusted roster of the same version "
                    f"(id {new.roster_id.hex()}, trusted {self.signed.roster_id.hex()})"
                )
            return  # the roster we already trust: nothing to do
        if version != trusted.version + 1:  # TUF 5.3.5: versions are consecutive
            raise SkippedVersionError(f"roster version {version}: want {trusted.version + 1} next")
        _check_threshold(new, trusted, "the trusted")  # TUF 5.3.4: signed by the previous stewards
        _check_threshold(new, new.roster, "its own")  # TUF 5.3.4: and by its own
        _check_transition(trusted, new.roster)
        self._history.append(new)


# --- building the next version (stewards) -------------------------------------------------------------------


class RosterDraft:
    """A roster version being prepared: edit it, `build()` it, then each steward signs the same bytes."""

    def __init__(
        self,
        *,
        consortium_id: str,
        version: int,
        expires_ms: int,
        threshold: int,
        stewards: Iterable[StewardKey],
        members: Iterable[RosterMember] = (),
        policy: ConsortiumPolicy | None = None,
    ) -> None:
        self.policy = policy
        self.consortium_id = consortium_id
        self.version = version
        self.expires_ms = expires_ms
        self.threshold = threshold
        self.stewards = tuple(stewards)
        self._members = {m.member_id: m for m in members}

    @classmethod
    def genesis(
        cls, consortium_id: str, *, stewards: Iterable[StewardKey], threshold: int, expires_ms: int
    ) -> RosterDraft:
        """Version 1 of a new consortium's roster: stewards, no members yet."""
        return cls(
            consortium_id=consortium_id,
            version=1,
            expires_ms=expires_ms,
            threshold=threshold,
            stewards=stewards,
        )

    @classmethod
    def next_version(cls, base: Roster, *, expires_ms: int) -> RosterDraft:
        """Version base.version + 1, starting as a copy of `base`."""
        return cls(
            consortium_id=base.consortium_id,
            version=base.version + 1,
            expires_ms=expires_ms,
            threshold=base.threshold,
            stewards=base.stewards,
            members=base.members,
            policy=base.policy,
        )

    @property
    def members(self) -> tuple[RosterMember, ...]:
        return tuple(self._members.values())

    def _get(self, member_id: str) -> RosterMember:
        member = self._members.get(member_id)
        if member is None:
            raise NotFound(f"member {member_id!r} is not in roster version {self.version}")
        return member

    def _put(self, member: RosterMember) -> None:
        self._members[member.member_id] = member

    def admit(self, request: SignedJoinRequest, role: str | None = None) -> RosterMember:
        """Adds the member a join request describes, after verifying its proof of key possession.

        The log key and TLS certificate are valid from the request's created_ms. `role` defaults to the
        requested one.

        Raises:
            JoinRequestError: the request does not verify (node.membership.join).
            WrongConsortiumError: the request is for another consortium.
            AlreadyExists: the member id is taken.
            InvalidArgument: `role` is not a role.
        """
        join = request.verify()
        if join.consortium_id != self.consortium_id:
            raise WrongConsortiumError(
                f"join request: consortium {join.consortium_id!r}, want {self.consortium_id!r}"
            )
        if join.member_id in self._members:
            raise AlreadyExists(f"member {join.member_id!r} is already in the roster")
        granted = role or join.requested_role
        if granted not in ROLES:
            raise InvalidArgument("role", granted, "one of " + ", ".join(ROLES))
        member = RosterMember(
            member_id=join.member_id,
            organisation=join.organisation,
            keys=(MemberKey(join.log_public_key, join.created_ms, 0),),
            roles=(granted,),
            contact=join.contact,
            endpoints=join.endpoints,
            tls=(TlsCertificate(join.tls_certificate_der, join.created_ms, 0),),
            status_version=self.version,
        )
        self._put(member)
        return member

    def _set_status(self, member_id: str, status: MemberStatus, revoked_after_ms: int = 0) -> None:
        member = self._get(member_id)
        if member.status == MemberStatus.REVOKED:
            raise FailedPrecondition(f"member {member_id!r} is revoked; revocation is final")
        if member.status == status:
            raise FailedPrecondition(f"member {member_id!r} is already {status.label}")
        self._put(
            replace(member, status=status, status_version=self.version, revoked_after_ms=revoked_after_ms)
        )

    def revoke(self, member_id: str, cutoff_ms: int) -> None:
        """Revokes a member for good: entries signed after `cutoff_ms` are refused, earlier ones stay valid.

        Raises:
            NotFound: no such member. FailedPrecondition: already revoked. InvalidArgument: cutoff_ms < 1.
        """
        if cutoff_ms < 1:
            raise InvalidArgument("cutoff_ms", cutoff_ms, ">= 1 (a time in ms since the epoch)")
        self._set_status(member_id, MemberStatus.REVOKED, cutoff_ms)

    def suspend(self, member_id: str) -> None:
        """Suspends a member (reversibly). Raises: NotFound; FailedPrecondition if not active."""
        self._set_status(member_id, MemberStatus.SUSPENDED)

    def reinstate(self, member_id: str) -> None:
        """Makes a suspended member active again. Raises: NotFound; FailedPrecondition if not suspended."""
        self._set_status(member_id, MemberStatus.ACTIVE)

    def set_endpoints(self, member_id: str, endpoints: Sequence[str]) -> None:
        """Replaces where the member's node is dialled (in order of preference; none: it is not dialled).

        Raises: NotFound; MalformedRosterError if an endpoint is malformed or repeated, or too many.
        """
        self._put(replace(self._get(member_id), endpoints=tuple(endpoints)))

    def set_roles(self, member_id: str, roles: Sequence[str]) -> None:
        """Raises: NotFound; MalformedRosterError if a role is unknown or repeated."""
        self._put(replace(self._get(member_id), roles=tuple(roles)))

    def rotate_key(
        self, member_id: str, new_key: PublicKey, *, valid_from_ms: int, overlap_until_ms: int
    ) -> None:
        """Adds a log key valid from `valid_from_ms`; the member's other keys stop being valid after
        `overlap_until_ms`, so both are valid in between.

        Raises:
            NotFound: no such member. AlreadyExists: the member has that key.
            InvalidArgument: the overlap ends before the new key starts.
        """
        member = self._get(member_id)
        if member.key(new_key.key_id) is not None:
            raise AlreadyExists(f"member {member_id!r} already has key {new_key.key_id.hex()[:16]}…")
        _check_overlap(valid_from_ms, overlap_until_ms)
        old = tuple(
            replace(k, valid_until_ms=_ended(k.valid_until_ms, overlap_until_ms)) for k in member.keys
        )
        self._put(replace(member, keys=(*old, MemberKey(new_key, valid_from_ms, 0))))

    def rotate_tls(
        self, member_id: str, certificate_der: bytes, *, valid_from_ms: int, overlap_until_ms: int
    ) -> None:
        """Adds a TLS certificate as `rotate_key` adds a log key; the old ones stop after `overlap_until_ms`.

        Raises:
            NotFound: no such member. TlsCertificateError: not a self-signed certificate naming the member.
            AlreadyExists: the member has that certificate.
            InvalidArgument: the overlap ends before the new certificate starts.
        """
        member = self._get(member_id)
        check_member_certificate(certificate_der, member_id)
        new = TlsCertificate(certificate_der, valid_from_ms, 0)
        if any(c.fingerprint == new.fingerprint for c in member.tls):
            raise AlreadyExists(f"member {member_id!r} already has certificate {new.fingerprint.hex()[:16]}…")
        _check_overlap(valid_from_ms, overlap_until_ms)
        old = tuple(replace(c, valid_until_ms=_ended(c.valid_until_ms, overlap_until_ms)) for c in member.tls)
        self._put(replace(member, tls=(*old, new)))

    def set_stewards(self, stewards: Iterable[StewardKey], threshold: int) -> None:
        """Replaces the steward keys. The old stewards must still sign this version (TUF root rotation)."""
        self.stewards = tuple(stewards)
        self.threshold = threshold

    def build(self) -> Roster:
        """Raises: MalformedRosterError if the draft breaks a structural rule."""
        return Roster(
            consortium_id=self.consortium_id,
            version=self.version,
            expires_ms=self.expires_ms,
            threshold=self.threshold,
            stewards=self.stewards,
            members=self.members,
            policy=self.policy,
        )

    def sign(self, key: SigningKey) -> SignedRoster:
        """The built roster with `key`'s signature: the first one; other stewards add theirs to the file."""
        return SignedRoster.unsigned(self.build()).sign(key)


def _check_overlap(valid_from_ms: int, overlap_until_ms: int) -> None:
    if overlap_until_ms < valid_from_ms:
        raise InvalidArgument("overlap_until_ms", overlap_until_ms, f">= valid_from_ms {valid_from_ms}")


def _ended(valid_until_ms: int, end_ms: int) -> int:
    """An old key's or certificate's end after a rotation: `end_ms`, unless it already ended earlier."""
    return valid_until_ms if valid_until_ms and valid_until_ms <= end_ms else end_ms
