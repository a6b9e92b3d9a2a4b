"""Stewards' rulings: a decision on an appeal signed offline by the consortium's stewards, k of n, and published
by any member's node (docs/due-process.md, "Stewards' rulings").

Stewards rarely run nodes. A ruling is prepared as a file, each steward adds an Ed25519 signature over its
canonical bytes with its own member key (as stewards sign roster versions: `node.membership.roster.Signature`,
`valid_signers`), and any node publishes it inside a decision item (`decided_as = stewards`) of its own log.
Every node then checks the same signatures against the same membership and the consortium's steward quorum, so
the publishing node is a messenger: it cannot change a ruling, and a ruling short of the quorum counts nowhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from node.core.canonical import Writer
from node.core.errors import InvalidArgument
from node.core.keys import PublicKey, SigningKey
from node.dueprocess.items import MAX_TEXT, DecisionItem, Outcome
from node.membership.members import MemberKey
from node.membership.roster import Signature, valid_signers

RULING_TAG = b"hashnode.steward-ruling.v1\x00"
FILE_FORMAT = "hashnode.steward-ruling.v1"


@dataclass(frozen=True)
class Ruling:
    """What the stewards sign: the appeal they decide, the outcome, why, and when they ruled."""

    consortium_id: str
    record_id: bytes
    appeal_entry_id: bytes
    outcome: Outcome
    reason: str
    ruled_at_ms: int

    def __post_init__(self) -> None:
        if not self.consortium_id:
            raise InvalidArgument("consortium_id", '""', "the consortium's id")
        for name in ("record_id", "appeal_entry_id"):
            if len(getattr(self, name)) != 32:
                raise InvalidArgument(name, f"{len(getattr(self, name))} bytes", "32 bytes")
        object.__setattr__(self, "outcome", Outcome(self.outcome))
        if len(self.reason.encode("utf-8")) > MAX_TEXT:
            raise InvalidArgument("reason", f"{len(self.reason.encode())} bytes", f"at most {MAX_TEXT} bytes")
        if not 0 < self.ruled_at_ms < 2**64:
            raise InvalidArgument("ruled_at_ms", self.ruled_at_ms, "Unix milliseconds > 0")

    def encode(self) -> bytes:
        """The signed bytes (docs/due-process.md, "Stewards' rulings")."""
        return ruling_bytes(
            self.consortium_id, self.record_id, self.appeal_entry_id, self.outcome, self.reason, self.ruled_at_ms
        )


def ruling_bytes(
    consortium_id: str, record_id: bytes, appeal_entry_id: bytes, outcome: Outcome, reason: str, ruled_at_ms: int
) -> bytes:
    """The ruling bytes of any fields, without the limits an author must keep (`Ruling` checks those): a verifier
    checks the signatures of whatever a decision item carries (docs/protocol.md §9.7)."""
    return (
        Writer()
        .raw(RULING_TAG)
        .string(consortium_id)
        .fixed(record_id, 32)
        .fixed(appeal_entry_id, 32)
        .u8(outcome)
        .string(reason)
        .u64(ruled_at_ms)
        .getvalue()
    )


def ruling_of(item: DecisionItem, consortium_id: str) -> Ruling:
    """The ruling a stewards' decision item carries: what its signatures must sign."""
    return Ruling(
        consortium_id, item.record_id, item.appeal_entry_id, item.outcome, item.reason, item.ruled_at_ms
    )


def signed_bytes(item: DecisionItem, consortium_id: str) -> bytes:
    """What the signatures of a stewards' decision item must sign, whatever its fields hold."""
    return ruling_bytes(
        consortium_id, item.record_id, item.appeal_entry_id, item.outcome, item.reason, item.ruled_at_ms
    )


def steward_signers(
    ruling_bytes: bytes,
    signatures: Iterable[Signature],
    steward_keys: Iterable[tuple[str, MemberKey]],
    at_ms: int,
) -> list[str]:
    """The distinct stewards (member ids) whose key, valid at `at_ms`, made a valid signature of the ruling.

    A steward counts once however many of its keys signed; signatures by other keys count for nothing. `steward_keys`
    may list one key several times (an unanchored bundle's member entries are claims, docs/protocol.md §9.7): a
    signature counts for every steward a copy of its key valid at `at_ms` is listed for.
    """
    owners: dict[bytes, set[str]] = {}
    keys: dict[bytes, PublicKey] = {}
    for member_id, key in steward_keys:
        if key.valid_at(at_ms):
            owners.setdefault(key.public_key.key_id, set()).add(member_id)
            keys[key.public_key.key_id] = key.public_key
    return sorted({owner for key_id in valid_signers(ruling_bytes, signatures, keys) for owner in owners[key_id]})


@dataclass(frozen=True)
class SignedRuling:
    """A ruling and the stewards' signatures collected so far: the file stewards pass around."""

    ruling: Ruling
    signatures: tuple[Signature, ...] = ()

    def sign(self, key: SigningKey) -> SignedRuling:
        """A copy with `key`'s signature added (replacing an earlier one by the same key)."""
        others = tuple(s for s in self.signatures if s.key_id != key.public.key_id)
        mine = Signature(key.public.key_id, key.sign(self.ruling.encode()))
        return replace(self, signatures=(*others, mine))

    def merge(self, *others: SignedRuling) -> SignedRuling:
        """The signatures of copies of the same ruling together.

        Raises:
            InvalidArgument: another file holds a different ruling.
        """
        merged = {(s.key_id, s.signature): s for s in self.signatures}
        for other in others:
            if other.ruling != self.ruling:
                raise InvalidArgument("ruling", "a different ruling", "copies of the same ruling")
            merged.update({(s.key_id, s.signature): s for s in other.signatures})
        return replace(self, signatures=tuple(merged.values()))

    def to_json(self) -> str:
        ruling = self.ruling
        data = {
            "format": FILE_FORMAT,
            "consortium_id": ruling.consortium_id,
            "record_id": ruling.record_id.hex(),
            "appeal_entry_id": ruling.appeal_entry_id.hex(),
            "outcome": ruling.outcome.label,
            "reason": ruling.reason,
            "ruled_at_ms": ruling.ruled_at_ms,
            "signatures": [
                {"key_id": s.key_id.hex(), "signature": s.signature.hex()}
                for s in sorted(self.signatures, key=lambda s: s.key_id)
            ],
        }
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> SignedRuling:
        """Raises: InvalidArgument naming the field that is wrong."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidArgument("ruling file", f"not JSON ({exc.msg})", FILE_FORMAT) from None
        if not isinstance(data, dict) or data.get("format") != FILE_FORMAT:
            got = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise InvalidArgument("format", got, FILE_FORMAT)
        return cls(_ruling(data), tuple(_signature(i, s) for i, s in enumerate(data.get("signatures", []))))


def _hex(data: Mapping[str, Any], name: str, size: int) -> bytes:
    try:
        raw = bytes.fromhex(str(data.get(name, "")))
    except ValueError:
        raw = b""
    if len(raw) != size:
        raise InvalidArgument(name, data.get(name), f"{size * 2} hex characters")
    return raw


def _ruling(data: Mapping[str, Any]) -> Ruling:
    outcome = str(data.get("outcome", ""))
    if outcome not in ("upheld", "overturned"):
        raise InvalidArgument("outcome", outcome, "upheld or overturned")
    ruled_at = data.get("ruled_at_ms")
    if not isinstance(ruled_at, int) or isinstance(ruled_at, bool):
        raise InvalidArgument("ruled_at_ms", ruled_at, "Unix milliseconds")
    return Ruling(
        consortium_id=str(data.get("consortium_id", "")),
        record_id=_hex(data, "record_id", 32),
        appeal_entry_id=_hex(data, "appeal_entry_id", 32),
        outcome=Outcome[outcome.upper()],
        reason=str(data.get("reason", "")),
        ruled_at_ms=ruled_at,
    )


def _signature(i: int, item: object) -> Signature:
    if not isinstance(item, Mapping):
        raise InvalidArgument(f"signatures[{i}]", item, "an object with key_id and signature")
    return Signature(_hex(item, "key_id", 32), _hex(item, "signature", 64))
