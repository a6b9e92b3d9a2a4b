"""Due-process items: opinions, appeals and decisions about a record (docs/due-process.md, "Items").

Like retraction items, each item concerns exactly one record and is encoded with the canonical primitives of
docs/protocol.md. A decoder accepts exactly one encoding per value: unknown enum values, an optional-field
flag other than 0 or 1, and trailing bytes are errors. Author-side limits (lengths, token syntax) are checked
by the `create` constructors, not by decoders: a peer's item is bounded by the 4096-byte item limit only, as
for retractions.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Generic, TypeVar

from node.core.canonical import Reader, Writer
from node.core.errors import EncodingError, InvalidArgument
from node.membership.roster import Signature

MAX_TEXT = 1024  # bytes of an opinion's text or a decision's reason
MAX_DISTANCE = 256  # a PDQ hash has 256 bits; exact matches have distance 0
_REASON_CODE = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,63}$")
# A case reference is an opaque token of the platform's own case system. The token syntax (no spaces, no "@")
# keeps free text, names and e-mail addresses out of a field that every member replicates.
_CASE_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/#-]{0,127}$")
# The case reference of a case opened by disputes (node/dueprocess/disputes.py). No appeal can carry it: a case
# token starts with a letter or digit, so "(" marks a derived case unambiguously.
DISPUTE_CASE = "(dispute)"


class Stance(enum.IntEnum):
    AGREE = 1  # an endorsement: the member agrees the hash belongs in the database
    DISAGREE = 2  # the member disagrees (e.g. with the labels) without calling it a false positive
    FALSE_POSITIVE = 3  # the member reports the hash matches content that is not what the labels say

    @property
    def label(self) -> str:
        return self.name.lower()


class Outcome(enum.IntEnum):
    UPHELD = 1  # the record stays: the appeal is rejected
    OVERTURNED = 2  # the record is withdrawn from matching for good

    @property
    def label(self) -> str:
        return self.name.lower()


class DecidedAs(enum.IntEnum):
    CONTRIBUTOR = 1
    STEWARD = 2  # one steward, signing the entry with its own member key
    STEWARDS = 3  # a stewards' ruling signed offline, k of n, published by any member (node/dueprocess/ruling.py)

    @property
    def label(self) -> str:
        return self.name.lower()


E = TypeVar("E", bound=enum.IntEnum)


def _enum(enum_type: type[E], value: int, what: str) -> E:
    try:
        return enum_type(value)
    except ValueError:
        allowed = ", ".join(str(int(m)) for m in enum_type)
        raise EncodingError(f"{what}: got {value}, want one of {allowed}") from None


def _member(enum_type: type[E], field: str, value: int) -> E:
    try:
        return enum_type(value)
    except ValueError:
        raise InvalidArgument(
            field, value, f"one of {', '.join(m.name.lower() for m in enum_type)}"
        ) from None


def _check_text(field: str, text: str, limit: int = MAX_TEXT) -> None:
    size = len(text.encode("utf-8"))
    if size > limit:
        raise InvalidArgument(field, f"{size} bytes", f"at most {limit} bytes of UTF-8")


def _check_record_id(field: str, rid: bytes) -> None:
    if len(rid) != 32:
        raise InvalidArgument(field, f"{len(rid)} bytes", "32 bytes")


@dataclass(frozen=True)
class OpinionItem:
    """A member's opinion on a record. A member's latest opinion on a record replaces its earlier ones."""

    record_id: bytes
    stance: Stance
    reason_code: str
    text: str

    @classmethod
    def create(cls, record_id: bytes, stance: Stance, reason_code: str = "", text: str = "") -> OpinionItem:
        """An opinion as an author writes it; raises InvalidArgument naming the field."""
        _check_record_id("record_id", record_id)
        if reason_code and not _REASON_CODE.match(reason_code):
            raise InvalidArgument("reason_code", reason_code, "a lowercase code like 'not_tvec' (or empty)")
        _check_text("text", text)
        return cls(record_id, _member(Stance, "stance", stance), reason_code, text)

    def encode(self) -> bytes:
        return (
            Writer()
            .fixed(self.record_id, 32)
            .u8(self.stance)
            .string(self.reason_code)
            .string(self.text)
            .getvalue()
        )

    @classmethod
    def decode(cls, data: bytes) -> OpinionItem:
        reader = Reader(data, "opinion item")
        item = cls(
            record_id=reader.fixed(32),
            stance=_enum(Stance, reader.u8(), "opinion item: stance"),
            reason_code=reader.string(),
            text=reader.string(),
        )
        reader.end()
        return item


def check_case_ref(case_ref: str, field: str = "case_ref") -> str:
    """Returns `case_ref` if it is an opaque case token (no spaces, no "@": no names, e-mail addresses or
    free text in a field every member replicates).

    Raises:
        InvalidArgument: it is not.
    """
    if not _CASE_REF.fullmatch(case_ref):
        raise InvalidArgument(
            field, case_ref, "an opaque case token of 1..128 characters [A-Za-z0-9_.:/#-], no personal data"
        )
    return case_ref


@dataclass(frozen=True)
class AppealItem:
    """A member received an appeal against an action it took because of a match with the record."""

    record_id: bytes
    case_ref: str
    match_distance: int | None = None

    @classmethod
    def create(cls, record_id: bytes, case_ref: str, match_distance: int | None = None) -> AppealItem:
        _check_record_id("record_id", record_id)
        check_case_ref(case_ref)
        if match_distance is not None and not 0 <= match_distance <= MAX_DISTANCE:
            raise InvalidArgument("match_distance", match_distance, f"0..{MAX_DISTANCE}")
        return cls(record_id, case_ref, match_distance)

    def encode(self) -> bytes:
        writer = Writer().fixed(self.record_id, 32).string(self.case_ref)
        if self.match_distance is None:
            return writer.u8(0).getvalue()
        return writer.u8(1).u16(self.match_distance).getvalue()

    @classmethod
    def decode(cls, data: bytes) -> AppealItem:
        reader = Reader(data, "appeal item")
        rid, case_ref, flag = reader.fixed(32), reader.string(), reader.u8()
        if flag not in (0, 1):
            raise EncodingError(f"appeal item: match_distance flag: got {flag}, want 0 or 1")
        distance = reader.u16() if flag else None
        reader.end()
        return cls(rid, case_ref, distance)


MAX_SIGNATURES = 64  # steward signatures on one ruling


def encode_signatures(writer: Writer, signatures: tuple[Signature, ...]) -> Writer:
    """`u16 n`, then n of (key_id[32], signature[64]) by strictly increasing key id: one encoding per set."""
    ordered = sorted(signatures, key=lambda s: s.key_id)
    writer.u16(len(ordered))
    for sig in ordered:
        writer.fixed(sig.key_id, 32).fixed(sig.signature, 64)
    return writer


def decode_signatures(reader: Reader, what: str) -> tuple[Signature, ...]:
    """Raises: EncodingError (more than MAX_SIGNATURES, or key ids not strictly increasing)."""
    count = reader.u16()
    if count > MAX_SIGNATURES:
        raise EncodingError(f"{what}: {count} signatures, want at most {MAX_SIGNATURES}")
    found: list[Signature] = []
    for _ in range(count):
        sig = Signature(reader.fixed(32), reader.fixed(64))
        if found and sig.key_id <= found[-1].key_id:
            raise EncodingError(f"{what}: signatures must be ordered by key id, each key once")
        found.append(sig)
    return tuple(found)


@dataclass(frozen=True)
class DecisionItem:
    """A decision on one appeal: the appeal entry's item about `record_id`.

    A stewards' ruling (`decided_as = STEWARDS`) also carries when the stewards ruled and their signatures over
    the ruling's bytes (node/dueprocess/ruling.py); the entry's author only published it.
    """

    record_id: bytes
    appeal_entry_id: bytes
    outcome: Outcome
    reason: str
    decided_as: DecidedAs
    ruled_at_ms: int = 0  # stewards' rulings only
    signatures: tuple[Signature, ...] = ()  # stewards' rulings only, by key id

    @classmethod
    def create(
        cls,
        record_id: bytes,
        appeal_entry_id: bytes,
        outcome: Outcome,
        reason: str,
        decided_as: DecidedAs,
        ruled_at_ms: int = 0,
        signatures: tuple[Signature, ...] = (),
    ) -> DecisionItem:
        _check_record_id("record_id", record_id)
        _check_record_id("appeal_entry_id", appeal_entry_id)
        _check_text("reason", reason)
        outcome, decided_as = (
            _member(Outcome, "outcome", outcome),
            _member(DecidedAs, "decided_as", decided_as),
        )
        ruling = decided_as is DecidedAs.STEWARDS
        if ruling and (ruled_at_ms <= 0 or not signatures):
            raise InvalidArgument("signatures", "none", "a stewards' ruling: its time and signatures")
        if not ruling and (ruled_at_ms or signatures):
            raise InvalidArgument("signatures", len(signatures), "none (only a stewards' ruling carries them)")
        if len(signatures) > MAX_SIGNATURES or len({s.key_id for s in signatures}) != len(signatures):
            raise InvalidArgument("signatures", len(signatures), f"at most {MAX_SIGNATURES}, each key once")
        ordered = tuple(sorted(signatures, key=lambda s: s.key_id))
        return cls(record_id, appeal_entry_id, outcome, reason, decided_as, ruled_at_ms, ordered)

    def encode(self) -> bytes:
        writer = (
            Writer()
            .fixed(self.record_id, 32)
            .fixed(self.appeal_entry_id, 32)
            .u8(self.outcome)
            .string(self.reason)
            .u8(self.decided_as)
        )
        if self.decided_as is DecidedAs.STEWARDS:
            encode_signatures(writer.u64(self.ruled_at_ms), self.signatures)
        return writer.getvalue()

    @classmethod
    def decode(cls, data: bytes) -> DecisionItem:
        reader = Reader(data, "decision item")
        record_id, appeal_entry_id = reader.fixed(32), reader.fixed(32)
        outcome = _enum(Outcome, reader.u8(), "decision item: outcome")
        reason = reader.string()
        decided_as = _enum(DecidedAs, reader.u8(), "decision item: decided_as")
        ruled_at_ms, signatures = 0, tuple[Signature, ...]()
        if decided_as is DecidedAs.STEWARDS:
            ruled_at_ms = reader.u64()
            signatures = decode_signatures(reader, "decision item: signatures")
        reader.end()
        return cls(record_id, appeal_entry_id, outcome, reason, decided_as, ruled_at_ms, signatures)


T = TypeVar("T")


@dataclass(frozen=True)
class VerifiedItem(Generic[T]):
    """An item together with the envelope of the entry that carried it; the caller verified that entry."""

    author: str
    timestamp_ms: int
    entry_id: bytes
    item: T


@dataclass(frozen=True)
class AppealKey:
    """Names one appeal: an appeal entry's items about one record are one appeal (the first such item
    counts)."""

    appeal_entry_id: bytes
    record_id: bytes

    def short(self) -> str:
        return f"{self.appeal_entry_id.hex()[:12]}/{self.record_id.hex()[:12]}"
