"""Signed rosters: canonical encoding, k-of-n steward rotation, rollback rules, the Membership they produce.

The rotation tests follow python-tuf's tests/test_updater_key_rotations.py: each named case is a list of
roster versions, each saying which steward keys it lists, its threshold, who signs it, and the error expected
(None: the version is trusted). Keys are fixed (seeded), so every roster here is the same bytes on every run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.core.errors import AlreadyExists, FailedPrecondition, InvalidArgument, VerificationError
from node.core.keys import SigningKey
from node.membership.consortium_policy import ConsortiumPolicy, QuarantineMode
from node.membership.members import MemberKey
from node.membership.roster import (
    ConflictingVersionError,
    ExpiredRosterError,
    MalformedRosterError,
    MemberStatus,
    PinnedRosterMismatchError,
    RollbackError,
    Roster,
    RosterDraft,
    RosterError,
    RosterMember,
    RosterTransitionError,
    Signature,
    SignedRoster,
    SkippedVersionError,
    StewardKey,
    ThresholdError,
    TlsCertificate,
    TrustedRoster,
    WrongConsortiumError,
    valid_signers,
)

CONSORTIUM = "test-consortium"
NOW = 1_700_000_000_000
DAY = 86_400_000
FAR = NOW + 365 * DAY
# Fixed keys: steward i is seeded with bytes([0x10 + i]) * 32; member keys with bytes([0x60 + i]) * 32.
STEWARDS = [SigningKey.from_seed(bytes([0x10 + i]) * 32) for i in range(10)]
MEMBER_KEYS = [SigningKey.from_seed(bytes([0x60 + i]) * 32) for i in range(4)]
# The roster does not parse certificates (node.membership.certificates does); fixed bytes keep these rosters
# byte-for-byte stable.
FAKE_CERT = b"\x30\x03\x02\x01\x01"


def steward_keys(indexes: list[int]) -> tuple[StewardKey, ...]:
    return tuple(StewardKey(f"steward-{i}", STEWARDS[i].public) for i in indexes)


def member_fields(member_id: str, key: int = 0) -> dict[str, object]:
    return {
        "member_id": member_id,
        "organisation": f"{member_id} Ltd",
        "keys": (MemberKey(MEMBER_KEYS[key].public, NOW - DAY, 0),),
        "roles": ("contributor",),
        "contact": f"trust@{member_id}.example",
        "tls": (TlsCertificate(FAKE_CERT + member_id.encode(), NOW - DAY, 0),),
    }


def member(member_id: str, key: int = 0, **fields: object) -> RosterMember:
    return RosterMember(**{**member_fields(member_id, key), **fields})  # type: ignore[arg-type]


def roster_fields(version: int, keys: list[int], threshold: int) -> dict[str, object]:
    return {
        "consortium_id": CONSORTIUM,
        "version": version,
        "expires_ms": FAR,
        "threshold": threshold,
        "stewards": steward_keys(keys),
        "members": (member("platform-a", 0), member("platform-b", 1)),
    }


def make_roster(version: int, keys: list[int], threshold: int, **fields: object) -> Roster:
    return Roster(**{**roster_fields(version, keys, threshold), **fields})  # type: ignore[arg-type]


def signed_by(roster: Roster, signers: list[int], corrupt: list[int] = ()) -> SignedRoster:  # type: ignore[assignment]
    """The roster signed by each steward in `signers` (repeats allowed); `corrupt` ones are garbled."""
    signed = SignedRoster.unsigned(roster)
    signatures = []
    for i in signers:
        sig = signed.sign(STEWARDS[i]).signatures[-1]
        if i in corrupt:
            sig = Signature(sig.key_id, bytes([sig.signature[0] ^ 1]) + sig.signature[1:])
        signatures.append(sig)
    return dataclasses.replace(signed, signatures=tuple(signatures))


def trusted_chain(*versions: SignedRoster) -> TrustedRoster:
    root, *rest = versions
    trusted = TrustedRoster(root.roster_bytes, root.signatures)
    trusted.update_chain(rest, NOW)
    return trusted


# --- steward rotation, table-driven -------------------------------------------------------------------------


@dataclass
class RosterVersion:
    keys: list[int]  # steward keys the version lists
    threshold: int
    sigs: list[int]  # stewards who sign it, in order; repeats and non-stewards allowed
    error: type[Exception] | None = None  # None: the version becomes trusted
    corrupt: list[int] = field(default_factory=list)  # signers whose signature is garbled


RV = RosterVersion
FIVE = [0, 1, 2, 3, 4]

ROTATION_CASES: dict[str, list[RosterVersion]] = {
    "1-of-1 root": [RV([0], 1, [0])],
    "1-of-1 root not self-signed": [RV([0], 1, [1], ThresholdError)],
    "1-of-1 key rotation": [RV([0], 1, [0]), RV([1], 1, [1, 0]), RV([1], 1, [1])],
    "1-of-1 rotation signed by the new key only": [RV([0], 1, [0]), RV([1], 1, [1], ThresholdError)],
    "1-of-1 rotation signed by the old key only": [RV([0], 1, [0]), RV([1], 1, [0], ThresholdError)],
    "1-of-1 rotation, a failed attempt, then a good one": [
        RV([0], 1, [0]),
        RV([1], 1, [1], ThresholdError),
        RV([1], 1, [0, 1]),
    ],
    "3-of-5 root": [RV(FIVE, 3, [0, 2, 4])],
    "3-of-5 root signed by 2": [RV(FIVE, 3, [0, 1], ThresholdError)],
    "3-of-5, other signers each version": [
        RV(FIVE, 3, [0, 1, 2]),
        RV(FIVE, 3, [2, 3, 4]),
        RV(FIVE, 3, [4, 0, 2]),
    ],
    "3-of-5, one key replaced": [RV(FIVE, 3, [0, 1, 2]), RV([0, 1, 2, 3, 5], 3, [0, 1, 3, 5])],
    "3-of-5, one key replaced, old threshold missed": [
        RV(FIVE, 3, [0, 1, 2]),
        RV([0, 1, 2, 3, 5], 3, [0, 1, 5], ThresholdError),
    ],
    "3-of-5, all keys replaced": [RV(FIVE, 3, [0, 1, 2]), RV([5, 6, 7, 8, 9], 3, [0, 1, 2, 5, 6, 7])],
    "3-of-5, all keys replaced, new threshold missed": [
        RV(FIVE, 3, [0, 1, 2]),
        RV([5, 6, 7, 8, 9], 3, [0, 1, 2, 3, 4, 5, 6], ThresholdError),
    ],
    "3-of-5, all keys replaced, old threshold missed": [
        RV(FIVE, 3, [0, 1, 2]),
        RV([5, 6, 7, 8, 9], 3, [0, 1, 5, 6, 7, 8, 9], ThresholdError),
    ],
    "3-of-5, then the new stewards alone sign the next version": [
        RV(FIVE, 3, [0, 1, 2]),
        RV([5, 6, 7, 8, 9], 3, [0, 1, 2, 5, 6, 7]),
        RV([5, 6, 7, 8, 9], 3, [7, 8, 9]),
    ],
    "3-of-5, then the old stewards can no longer sign": [
        RV(FIVE, 3, [0, 1, 2]),
        RV([5, 6, 7, 8, 9], 3, [0, 1, 2, 5, 6, 7]),
        RV([5, 6, 7, 8, 9], 3, [0, 1, 2, 3, 4], ThresholdError),
    ],
    "threshold raised 1-of-3 to 3-of-3": [RV([0, 1, 2], 1, [0]), RV([0, 1, 2], 3, [0, 1, 2])],
    "threshold raised 1-of-3 to 3-of-3, signed by 2": [
        RV([0, 1, 2], 1, [0]),
        RV([0, 1, 2], 3, [0, 1], ThresholdError),
    ],
    "threshold lowered 3-of-3 to 1-of-3 still needs the old 3": [
        RV([0, 1, 2], 3, [0, 1, 2]),
        RV([0, 1, 2], 1, [0], ThresholdError),
    ],
    "duplicate signatures by one key count once": [
        RV([0, 1, 2], 2, [0, 1]),
        RV([0, 1, 2], 2, [0, 0], ThresholdError),
    ],
    "duplicate signatures by one key, threshold met by others": [
        RV([0, 1, 2], 2, [0, 1]),
        RV([0, 1, 2], 2, [0, 0, 2]),
    ],
    "signatures by unknown keys are ignored": [RV([0, 1, 2], 2, [0, 1]), RV([0, 1, 2], 2, [7, 0, 8, 1])],
    "unknown keys do not make up a threshold": [
        RV([0, 1, 2], 2, [0, 1]),
        RV([0, 1, 2], 2, [0, 7, 8], ThresholdError),
    ],
    "an invalid signature by a steward is ignored": [
        RV([0, 1, 2], 2, [0, 1]),
        RV([0, 1, 2], 2, [0, 1, 2], corrupt=[1]),
    ],
    "an invalid signature does not count": [
        RV([0, 1, 2], 2, [0, 1]),
        RV([0, 1, 2], 2, [0, 1], ThresholdError, corrupt=[1]),
    ],
}


@pytest.mark.parametrize("versions", ROTATION_CASES.values(), ids=ROTATION_CASES.keys())
def test_steward_rotation(versions: list[RosterVersion]) -> None:
    root, *rest = versions
    signed = signed_by(make_roster(1, root.keys, root.threshold), root.sigs, root.corrupt)
    if root.error is not None:
        with pytest.raises(root.error):
            TrustedRoster(signed.roster_bytes, signed.signatures)
        return
    trusted = TrustedRoster(signed.roster_bytes, signed.signatures)
    for step in rest:
        # A refused version does not use up its number: the next attempt offers the same version again.
        version = trusted.roster.version + 1
        signed = signed_by(make_roster(version, step.keys, step.threshold), step.sigs, step.corrupt)
        if step.error is None:
            trusted.update(signed.roster_bytes, signed.signatures, NOW)
            assert trusted.roster.version == version
        else:
            with pytest.raises(step.error):
                trusted.update(signed.roster_bytes, signed.signatures, NOW)
            assert trusted.roster.version == version - 1


def test_valid_signers_counts_each_key_once_and_skips_strangers() -> None:
    signed = signed_by(make_roster(1, [0, 1], 2), [0, 0, 1, 5], corrupt=[1])
    keys = make_roster(1, [0, 1], 2).steward_keys
    assert valid_signers(signed.roster_bytes, signed.signatures, keys) == {STEWARDS[0].public.key_id}


# --- version rules, table-driven ----------------------------------------------------------------------------


@dataclass
class Offer:
    """A roster offered to a node trusting version 2 (stewards 0-2, 2-of-3; each version signed by 0, 1)."""

    version: int
    error: type[Exception] | None
    trusted_after: int  # the version the node trusts afterwards
    consortium_id: str = CONSORTIUM
    expires_ms: int = FAR
    contact: str = "trust@platform-a.example"  # changed to make other bytes for the same version


OFFER_CASES: dict[str, Offer] = {
    "next version": Offer(3, None, 3),
    "skipped version": Offer(4, SkippedVersionError, 2),
    "rollback to version 1, same bytes as the trusted version 1 had": Offer(1, RollbackError, 2),
    "rollback to version 1, other bytes": Offer(1, RollbackError, 2, contact="changed"),
    "equal version, identical bytes: a no-op": Offer(2, None, 2),
    "equal version, other bytes": Offer(2, ConflictingVersionError, 2, contact="changed"),
    "another consortium": Offer(3, WrongConsortiumError, 2, consortium_id="other-consortium"),
    # Trusted all the same (forgetting it would let version 2 be replayed); the error says it cannot be used.
    "next version, expired": Offer(3, ExpiredRosterError, 3, expires_ms=NOW - 1),
    "next version, expires exactly now": Offer(3, None, 3, expires_ms=NOW),
}


def version_chain(
    version: int, *, contact: str = "trust@platform-a.example", **fields: object
) -> SignedRoster:
    members = (member("platform-a", 0, contact=contact), member("platform-b", 1))
    return signed_by(make_roster(version, [0, 1, 2], 2, members=members, **fields), [0, 1])


@pytest.mark.parametrize("offer", OFFER_CASES.values(), ids=OFFER_CASES.keys())
def test_version_rules(offer: Offer) -> None:
    trusted = trusted_chain(version_chain(1), version_chain(2))
    offered = version_chain(
        offer.version, contact=offer.contact, consortium_id=offer.consortium_id, expires_ms=offer.expires_ms
    )
    if offer.error is None:
        trusted.update(offered.roster_bytes, offered.signatures, NOW)
    else:
        with pytest.raises(offer.error):
            trusted.update(offered.roster_bytes, offered.signatures, NOW)
    assert trusted.roster.version == offer.trusted_after
    assert len(trusted.history) == offer.trusted_after


def test_errors_are_distinct_types_under_verification_error() -> None:
    kinds = [ThresholdError, RollbackError, SkippedVersionError, ExpiredRosterError, WrongConsortiumError]
    assert len(set(kinds)) == len(kinds)
    assert all(issubclass(k, RosterError) and issubclass(k, VerificationError) for k in kinds)
    assert issubclass(ConflictingVersionError, RollbackError)
    assert not issubclass(RollbackError, ConflictingVersionError)


def test_expired_newest_roster_is_refused_until_a_newer_one_arrives() -> None:
    trusted = trusted_chain(version_chain(1))
    expired = version_chain(2, expires_ms=NOW - 1)
    with pytest.raises(ExpiredRosterError):
        trusted.update(expired.roster_bytes, expired.signatures, NOW)
    with pytest.raises(ExpiredRosterError):
        trusted.membership(NOW)
    fresh = version_chain(3)
    assert trusted.update(fresh.roster_bytes, fresh.signatures, NOW).version == 3
    assert trusted.membership(NOW).version == 3


def test_expired_intermediate_versions_do_not_stop_catching_up() -> None:
    root = version_chain(1, expires_ms=NOW - 3)
    trusted = TrustedRoster(root.roster_bytes, root.signatures)  # the root's expiry is not checked either
    chain = [version_chain(2, expires_ms=NOW - 2), version_chain(3, expires_ms=NOW - 1), version_chain(4)]
    assert trusted.update_chain(chain, NOW).version == 4


def test_root_must_be_version_1_unless_pinned_by_id() -> None:
    v1, v2 = version_chain(1), version_chain(2)
    with pytest.raises(PinnedRosterMismatchError):
        TrustedRoster(v2.roster_bytes, v2.signatures)
    assert TrustedRoster(v2.roster_bytes, v2.signatures, pinned_id=v2.roster_id).roster.version == 2
    with pytest.raises(PinnedRosterMismatchError):
        TrustedRoster(v2.roster_bytes, v2.signatures, pinned_id=v1.roster_id)


def test_roster_id_is_sha256_of_the_signed_bytes() -> None:
    signed = version_chain(1)
    assert signed.roster_id == hashlib.sha256(signed.roster_bytes).digest()
    assert signed.roster_bytes.startswith(b"hashnode.roster.v1\x00")


# --- transition rules ---------------------------------------------------------------------------------------


def test_a_member_cannot_be_removed() -> None:
    trusted = trusted_chain(version_chain(1))
    without_b = signed_by(make_roster(2, [0, 1, 2], 2, members=(member("platform-a", 0),)), [0, 1])
    with pytest.raises(RosterTransitionError, match="never removed"):
        trusted.update(without_b.roster_bytes, without_b.signatures, NOW)


@pytest.mark.parametrize(
    ("status_version", "status", "revoked_after_ms"),
    [
        pytest.param(2, MemberStatus.ACTIVE, 0, id="unchanged status, status_version moved"),
        pytest.param(1, MemberStatus.SUSPENDED, 0, id="changed status, status_version not moved"),
    ],
)
def test_status_version_records_the_version_of_the_change(
    status_version: int, status: MemberStatus, revoked_after_ms: int
) -> None:
    trusted = trusted_chain(version_chain(1))
    changed = member(
        "platform-b", 1, status=status, status_version=status_version, revoked_after_ms=revoked_after_ms
    )
    offered = signed_by(make_roster(2, [0, 1, 2], 2, members=(member("platform-a", 0), changed)), [0, 1])
    with pytest.raises(RosterTransitionError, match="status_version"):
        trusted.update(offered.roster_bytes, offered.signatures, NOW)


@pytest.mark.parametrize(
    "undone",
    [
        pytest.param(
            {"status": MemberStatus.ACTIVE, "revoked_after_ms": 0, "status_version": 3}, id="reinstated"
        ),
        pytest.param({"revoked_after_ms": NOW + DAY}, id="cutoff moved later"),
    ],
)
def test_revocation_cannot_be_undone_by_a_later_version(undone: dict[str, object]) -> None:
    revoked = member("platform-b", 1, status=MemberStatus.REVOKED, revoked_after_ms=NOW, status_version=2)
    v2 = signed_by(make_roster(2, [0, 1, 2], 2, members=(member("platform-a", 0), revoked)), [0, 1])
    trusted = trusted_chain(version_chain(1), v2)
    undone_member = replace(revoked, **undone)  # type: ignore[arg-type]
    v3 = signed_by(make_roster(3, [0, 1, 2], 2, members=(member("platform-a", 0), undone_member)), [0, 1])
    with pytest.raises(RosterTransitionError, match="revocation is final"):
        trusted.update(v3.roster_bytes, v3.signatures, NOW)


# --- canonical encoding -------------------------------------------------------------------------------------


def _hand_encoded(
    roster: Roster, members_reversed: bool = False, v2_policy: bytes | None = None, v2: bool = False
) -> bytes:
    """An independent encoder written from docs/membership.md ("Roster bytes"), not from node.roster; with
    `v2_policy`, version 2 carrying that due-process policy value; with `v2`, version 2 whatever the roster
    holds. In version 2, a member with more than one endpoint has them after the first as member extension 1."""

    def string(s: str) -> bytes:
        return struct.pack(">H", len(s.encode())) + s.encode()

    v2 = v2 or v2_policy is not None
    v2_policy = b"" if v2 and v2_policy is None else v2_policy
    tag = b"hashnode.roster.v1\x00" if v2_policy is None else b"hashnode.roster.v2\x00"
    out = tag + string(roster.consortium_id)
    out += struct.pack(">QQHH", roster.version, roster.expires_ms, roster.threshold, len(roster.stewards))
    for s in roster.stewards:
        out += string(s.name) + s.public_key.raw
    members = list(reversed(roster.members)) if members_reversed else list(roster.members)
    out += struct.pack(">I", len(members))
    for m in members:
        first = m.endpoints[0] if m.endpoints else ""
        out += b"".join(string(x) for x in (m.member_id, m.organisation, m.contact, first))
        out += struct.pack(">H", len(m.roles)) + b"".join(string(r) for r in m.roles)
        out += struct.pack(">BQQH", m.status, m.status_version, m.revoked_after_ms, len(m.keys))
        for k in m.keys:
            out += k.public_key.raw + struct.pack(">QQ", k.valid_from_ms, k.valid_until_ms)
        out += struct.pack(">H", len(m.tls))
        for c in m.tls:
            out += (
                struct.pack(">I", len(c.der)) + c.der + struct.pack(">QQ", c.valid_from_ms, c.valid_until_ms)
            )
        if v2_policy is not None and len(m.endpoints) > 1:
            further = struct.pack(">H", len(m.endpoints) - 1) + b"".join(string(e) for e in m.endpoints[1:])
            out += struct.pack(">HHI", 1, 1, len(further)) + further
        elif v2_policy is not None:
            out += b"\x00\x00"  # no member extensions
    if v2_policy is not None:
        out += struct.pack(">H", 1 if v2_policy else 0)
        if v2_policy:
            out += struct.pack(">HI", 1, len(v2_policy)) + v2_policy
    return out


def test_encoding_matches_the_document() -> None:
    roster = make_roster(3, [0, 1, 2], 2)
    assert roster.encode() == _hand_encoded(roster)
    assert Roster.decode(roster.encode()) == roster


TWO_ENDPOINTS = ("node.platform-a.example:50061", "[2001:db8::1]:50061")


def test_one_endpoint_per_member_is_written_in_version_1() -> None:
    roster = make_roster(1, [0], 1, members=(member("platform-a", 0, endpoints=(TWO_ENDPOINTS[0],)),))
    assert roster.encode() == _hand_encoded(roster)
    assert roster.encode().startswith(b"hashnode.roster.v1\x00")
    assert Roster.decode(roster.encode()).members[0].endpoints == (TWO_ENDPOINTS[0],)


def test_further_endpoints_are_member_extension_1_in_their_order() -> None:
    roster = make_roster(1, [0, 1], 2, members=(member("platform-a", 0, endpoints=TWO_ENDPOINTS[::-1]),))
    assert roster.encode() == _hand_encoded(roster, v2=True)
    assert roster.encode().startswith(b"hashnode.roster.v2\x00")
    assert Roster.decode(roster.encode()).members[0].endpoints == TWO_ENDPOINTS[::-1]  # preference order kept


def test_version_2_for_one_endpoint_is_refused_as_not_canonical() -> None:
    roster = make_roster(1, [0], 1, members=(member("platform-a", 0, endpoints=(TWO_ENDPOINTS[0],)),))
    with pytest.raises(MalformedRosterError, match="not canonical"):
        Roster.decode(_hand_encoded(roster, v2=True))


@pytest.mark.parametrize(
    ("first", "further", "message"),
    [
        (TWO_ENDPOINTS[0], struct.pack(">H", 0), "got 0 after 1, want at least one"),
        ("", struct.pack(">H", 1) + struct.pack(">H", 8) + b"a.org:12", "got 1 after 0, want at least one"),
        (TWO_ENDPOINTS[0], struct.pack(">H", 1) + struct.pack(">H", 8) + b"a.org:12" + b"\x00", "trailing"),
    ],
    ids=["empty", "without a first endpoint", "trailing bytes"],
)
def test_a_malformed_further_endpoints_extension_is_refused(first: str, further: bytes, message: str) -> None:
    roster = make_roster(1, [0], 1, members=(member("platform-a", 0, endpoints=(first,) if first else ()),))
    good = _hand_encoded(roster, v2=True)
    member_end = len(good) - 2 - 2  # before the member's empty block and the roster's
    bad = good[:member_end] + struct.pack(">HHI", 1, 1, len(further)) + further + good[member_end + 2 :]
    with pytest.raises(MalformedRosterError, match=message):
        Roster.decode(bad)


def test_a_roster_signed_before_version_2_existed_verifies_byte_for_byte() -> None:
    """The example consortium's genesis roster as the code of version 1 alone wrote it (a fixed file)."""
    path = Path(__file__).resolve().parent / "vectors" / "roster-v1-example.json"
    signed = SignedRoster.load(path)
    trusted = TrustedRoster(signed.roster_bytes, signed.signatures)
    assert signed.roster.encode() == signed.roster_bytes
    signers = valid_signers(signed.roster_bytes, signed.signatures, trusted.roster.steward_keys)
    assert len(signers) == 3 and trusted.roster.version == 1


def test_non_canonical_order_is_refused() -> None:
    roster = make_roster(1, [0], 1)
    with pytest.raises(MalformedRosterError, match="not canonical"):
        Roster.decode(_hand_encoded(roster, members_reversed=True))


MALFORMED: dict[str, bytes] = {
    "truncated": make_roster(1, [0], 1).encode()[:-1],
    "trailing byte": make_roster(1, [0], 1).encode() + b"\x00",
    "wrong domain tag": b"hashnode.rooster1\x00" + make_roster(1, [0], 1).encode()[19:],
    "threshold above the steward count": _hand_encoded(
        dataclasses.replace(make_roster(1, [0, 1], 2), threshold=2)
    ).replace(struct.pack(">QHH", FAR, 2, 2), struct.pack(">QHH", FAR, 3, 2)),
    "empty": b"",
}


@pytest.mark.parametrize("data", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_bytes_are_refused(data: bytes) -> None:
    with pytest.raises(MalformedRosterError):
        Roster.decode(data)


STRUCTURE_CASES: dict[str, dict[str, object]] = {
    "threshold 0": {"threshold": 0},
    "threshold above steward count": {"threshold": 4},
    "a steward key listed twice": {"stewards": steward_keys([0, 0, 1])},
    "a member listed twice": {"members": (member("platform-a"), member("platform-a"))},
    "a log key shared by two members": {"members": (member("platform-a", 0), member("platform-b", 0))},
    "version 0": {"version": 0},
    "empty consortium id": {"consortium_id": ""},
}


@pytest.mark.parametrize("fields", STRUCTURE_CASES.values(), ids=STRUCTURE_CASES.keys())
def test_structural_rules(fields: dict[str, object]) -> None:
    with pytest.raises(MalformedRosterError):
        Roster(**{**roster_fields(1, [0, 1, 2], 2), **fields})  # type: ignore[arg-type]


MEMBER_CASES: dict[str, dict[str, object]] = {
    "revoked without a cutoff": {"status": MemberStatus.REVOKED},
    "a cutoff while active": {"revoked_after_ms": NOW},
    "no keys": {"keys": ()},
    "unknown role": {"roles": ("admin",)},
    "no roles": {"roles": ()},
    "member id with capitals": {"member_id": "Platform-A"},
    "key window ends before it starts": {"keys": (MemberKey(MEMBER_KEYS[0].public, NOW, NOW - 1),)},
    "endpoint without a port": {"endpoints": ("node.example",)},
    "endpoint on port 0": {"endpoints": ("node.example:0",)},
    "endpoint with a space": {"endpoints": ("node example:50061",)},
    "endpoint listed twice": {"endpoints": ("a.example:1", "a.example:1")},
    "nine endpoints": {"endpoints": tuple(f"a.example:{port}" for port in range(1, 10))},
}


@pytest.mark.parametrize("fields", MEMBER_CASES.values(), ids=MEMBER_CASES.keys())
def test_member_rules(fields: dict[str, object]) -> None:
    with pytest.raises(MalformedRosterError):
        RosterMember(**{**member_fields("platform-a"), **fields})  # type: ignore[arg-type]


member_ids = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,10}", fullmatch=True)
texts = st.text(max_size=20)
u64 = st.integers(min_value=0, max_value=2**64 - 1)
endpoints = st.builds(
    lambda host, port: f"{host}:{port}",
    st.from_regex(r"[a-z0-9.-]{1,12}|\[[0-9a-f:]{2,10}\]", fullmatch=True),
    st.integers(1, 65535),
)


@st.composite
def rosters(draw: st.DrawFn) -> Roster:
    ids = draw(st.lists(member_ids, max_size=4, unique=True))
    key_seeds = draw(
        st.lists(st.binary(min_size=32, max_size=32), min_size=len(ids), max_size=len(ids), unique=True)
    )
    members = tuple(
        RosterMember(
            member_id=mid,
            organisation=draw(texts),
            keys=(MemberKey(SigningKey.from_seed(seed).public, draw(u64), 0),),
            roles=tuple(
                draw(
                    st.lists(st.sampled_from(["observer", "contributor", "steward"]), min_size=1, unique=True)
                )
            ),
            contact=draw(texts),
            endpoints=tuple(draw(st.lists(endpoints, max_size=3, unique=True))),
            tls=(TlsCertificate(draw(st.binary(min_size=1, max_size=40)) + mid.encode()),),
        )
        for mid, seed in zip(ids, key_seeds, strict=True)
    )
    stewards = steward_keys(draw(st.lists(st.integers(0, 9), min_size=1, max_size=4, unique=True)))
    threshold = draw(st.integers(1, len(stewards)))
    return Roster(
        draw(texts.filter(bool)), draw(st.integers(1, 2**64 - 1)), draw(u64), threshold, stewards, members
    )


@given(rosters())
def test_decode_inverts_encode(roster: Roster) -> None:
    assert Roster.decode(roster.encode()) == roster


# --- files, signing in several places -----------------------------------------------------------------------


def test_stewards_sign_separate_copies_that_merge(tmp_path: Path) -> None:
    draft = RosterDraft.genesis(CONSORTIUM, stewards=steward_keys(FIVE), threshold=3, expires_ms=FAR)
    draft.sign(STEWARDS[0]).save(tmp_path / "unsigned-0.json")
    for i in (1, 2):  # each steward loads the file, checks it, signs it, sends it back
        SignedRoster.load(tmp_path / "unsigned-0.json").sign(STEWARDS[i]).save(tmp_path / f"signed-{i}.json")
    copies = [
        SignedRoster.load(tmp_path / name) for name in ("unsigned-0.json", "signed-1.json", "signed-2.json")
    ]
    merged = copies[0].merge(*copies[1:])
    assert len(merged.signatures) == 3
    assert TrustedRoster(merged.roster_bytes, merged.signatures).roster.threshold == 3


def test_merging_another_roster_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        version_chain(1).merge(version_chain(2))


def test_signing_twice_replaces_the_signature() -> None:
    signed = version_chain(1).sign(STEWARDS[0]).sign(STEWARDS[0])
    assert sorted(s.key_id for s in signed.signatures) == sorted(
        [STEWARDS[0].public.key_id, STEWARDS[1].public.key_id]
    )


def test_file_with_a_wrong_roster_id_is_refused() -> None:
    text = version_chain(1).to_json().replace(version_chain(1).roster_id.hex(), "00" * 32)
    with pytest.raises(MalformedRosterError, match="roster_id"):
        SignedRoster.from_json(text)


def _file_edited(edit: Callable[[dict[str, Any]], None]) -> bytes:
    document = json.loads(version_chain(1).to_json())
    edit(document)
    return json.dumps(document).encode()


MALFORMED_FILES = [
        ("an unknown field", _file_edited(lambda d: d.update(comment="x")), "comment: unknown field"),
        ("no format", _file_edited(lambda d: d.pop("format")), "format: missing"),
        ("another format", _file_edited(lambda d: d.update(format="hashnode.signed-roster.v2")), "format: got"),
        ("roster not canonical base64", _file_edited(lambda d: d.update(roster=d["roster"].rstrip("="))),
         "roster:"),
        ("an upper-case roster id", _file_edited(lambda d: d.update(roster_id=d["roster_id"].upper())),
         "roster_id: got"),
        ("an upper-case key id", _file_edited(lambda d: d["signatures"][0].update(
            key_id=d["signatures"][0]["key_id"].upper())), "signatures[0].key_id"),
        ("a signature of 63 bytes", _file_edited(lambda d: d["signatures"][0].update(
            signature=d["signatures"][0]["signature"][:126])), "signatures[0].signature"),
        ("a field in a signature", _file_edited(lambda d: d["signatures"][0].update(by="me")),
         "signatures[0].by: unknown field"),
        ("a name twice", version_chain(1).to_json().replace('"format"', '"format": "x", "format"', 1).encode(),
         "appears twice"),
        ("a byte order mark", b"\xef\xbb\xbf" + version_chain(1).to_json().encode(), "byte order mark"),
        ("not UTF-8", version_chain(1).to_json().encode().replace(b'"roster_id"', b'"roster_id\xff"', 1),
         "not UTF-8"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "data", "names"), MALFORMED_FILES, ids=[c[0] for c in MALFORMED_FILES])
def test_a_signed_roster_file_is_read_strictly(name: str, data: bytes, names: str, tmp_path: Path) -> None:
    """Nodes and both offline verifiers read one file format alike (docs/membership.md, "the roster file")."""
    with pytest.raises(MalformedRosterError, match=re.escape(names)):
        SignedRoster.from_bytes(data)
    path = tmp_path / "roster.json"
    path.write_bytes(data)
    with pytest.raises(MalformedRosterError):  # load too: a file that is not UTF-8 is malformed, not unreadable
        SignedRoster.load(path)


def test_a_signed_roster_file_without_roster_id_or_signatures_is_read() -> None:
    document = json.loads(version_chain(1).to_json())
    del document["roster_id"], document["signatures"]
    assert SignedRoster.from_bytes(json.dumps(document).encode()).signatures == ()


def test_file_round_trip_keeps_the_bytes() -> None:
    signed = version_chain(2)
    again = SignedRoster.from_json(signed.to_json())
    assert again.roster_bytes == signed.roster_bytes and again.signatures == signed.signatures


# --- the Membership a roster produces -----------------------------------------------------------------------


def draft_v2() -> RosterDraft:
    return RosterDraft.next_version(make_roster(1, [0], 1), expires_ms=FAR)


def test_membership_carries_the_roster() -> None:
    roster = make_roster(4, [0], 1, members=(member("platform-a", 0, endpoints=("a.example:7443",)),))
    membership = roster.membership()
    got = membership.get("platform-a")
    assert membership.consortium_id == CONSORTIUM and membership.version == 4
    assert got is not None and got.endpoints == ("a.example:7443",) and got.status == "active"
    assert got.tls_fingerprints == (hashlib.sha256(FAKE_CERT + b"platform-a").hexdigest(),)
    assert got.keys == roster.members[0].keys


def test_revoked_member_entries_before_the_cutoff_stay_valid_after_are_refused() -> None:
    draft = draft_v2()
    draft.revoke("platform-a", cutoff_ms=NOW)
    membership = draft.build().membership()
    key_id = MEMBER_KEYS[0].public.key_id
    assert membership.signing_key("platform-a", key_id, NOW - 1) == MEMBER_KEYS[0].public
    assert membership.signing_key("platform-a", key_id, NOW) == MEMBER_KEYS[0].public
    with pytest.raises(VerificationError, match="revoked"):
        membership.signing_key("platform-a", key_id, NOW + 1)
    revoked = draft.build().member("platform-a")
    assert revoked is not None and revoked.status == MemberStatus.REVOKED and revoked.status_version == 2


def test_key_rotation_overlap() -> None:
    draft = draft_v2()
    new_key = MEMBER_KEYS[3]
    draft.rotate_key("platform-a", new_key.public, valid_from_ms=NOW, overlap_until_ms=NOW + DAY)
    membership = draft.build().membership()
    old_id, new_id = MEMBER_KEYS[0].public.key_id, new_key.public.key_id
    for t in (NOW, NOW + DAY // 2, NOW + DAY):  # both keys are valid during the overlap
        assert membership.signing_key("platform-a", old_id, t) == MEMBER_KEYS[0].public
        assert membership.signing_key("platform-a", new_id, t) == new_key.public
    with pytest.raises(VerificationError, match="not valid"):
        membership.signing_key("platform-a", old_id, NOW + DAY + 1)
    with pytest.raises(VerificationError, match="not valid"):
        membership.signing_key("platform-a", new_id, NOW - 1)
    assert membership.signing_key("platform-a", new_id, NOW + 10 * DAY) == new_key.public


def test_a_rotated_roster_verifies_as_the_next_version() -> None:
    root = signed_by(make_roster(1, [0], 1), [0])
    draft = RosterDraft.next_version(root.roster, expires_ms=FAR)
    draft.rotate_key("platform-b", MEMBER_KEYS[3].public, valid_from_ms=NOW, overlap_until_ms=NOW + DAY)
    draft.suspend("platform-a")
    trusted = trusted_chain(root)
    nxt = draft.sign(STEWARDS[0])
    suspended = trusted.update(nxt.roster_bytes, nxt.signatures, NOW).member("platform-a")
    assert suspended is not None and suspended.status == MemberStatus.SUSPENDED


def test_suspended_member_may_not_author_and_can_be_reinstated() -> None:
    draft = draft_v2()
    draft.suspend("platform-a")
    assert not draft.build().membership().members["platform-a"].may_author()
    draft.reinstate("platform-a")
    assert draft.build().membership().members["platform-a"].may_author()


def test_revocation_is_final() -> None:
    draft = draft_v2()
    draft.revoke("platform-a", cutoff_ms=NOW)
    with pytest.raises(FailedPrecondition):
        draft.reinstate("platform-a")
    with pytest.raises(FailedPrecondition):
        draft.revoke("platform-a", cutoff_ms=NOW + 1)


def test_rotating_to_a_key_the_member_has_is_refused() -> None:
    with pytest.raises(AlreadyExists):
        draft_v2().rotate_key("platform-a", MEMBER_KEYS[0].public, valid_from_ms=NOW, overlap_until_ms=NOW)


# --- the worked example of docs/membership.md ---------------------------------------------------------------

DOC = Path(__file__).resolve().parents[1] / "docs" / "membership.md"


VERSION_2_HEADING = "### The same roster in version 2"


def example_roster(endpoints: tuple[str, ...] = ()) -> SignedRoster:
    """The roster of docs/membership.md, "Worked example" (with `endpoints`: its version-2 variant)."""
    platform_a = RosterMember(
        "platform-a",
        "Platform A",
        (MemberKey(SigningKey.from_seed(b"\x60" * 32).public, 0, 0),),
        ("contributor",),
        "trust@platform-a.example",
        endpoints,
    )
    steward = SigningKey.from_seed(b"\x10" * 32)
    roster = Roster(
        "example", 1, 1_767_225_600_000, 1, (StewardKey("steward-1", steward.public),), (platform_a,)
    )
    return SignedRoster.unsigned(roster).sign(steward)


@pytest.mark.parametrize(
    ("part", "endpoints"),
    [(0, ()), (1, ("a1.example:50061", "[2001:db8::a]:50061"))],
    ids=["version 1", "version 2"],
)
def test_worked_example_table_is_the_encoding(part: int, endpoints: tuple[str, ...]) -> None:
    section = DOC.read_text(encoding="utf-8").split("## Worked example")[1].split(VERSION_2_HEADING)[part]
    rows = [line.split("|") for line in section.splitlines() if line.startswith("| ") and "`" in line]
    data = b"".join(bytes.fromhex(row[4].split("`")[1]) for row in rows)
    assert [int(row[1]) for row in rows] == [sum(int(r[2]) for r in rows[:i]) for i in range(len(rows))]
    signed = example_roster(endpoints)
    assert data == signed.roster_bytes
    assert f"{len(data)} bytes in all" in section
    assert signed.roster_id.hex() in section and signed.signatures[0].signature.hex() in section
    assert TrustedRoster(signed.roster_bytes, signed.signatures).current(1_767_225_600_000).version == 1


# --- version 2: extensions (the consortium's due-process policy) --------------------------------------------

POLICY = ConsortiumPolicy(3_600_000, 2, 2, True, QuarantineMode.WITHHOLD)


def _hand_encoded_v2(roster: Roster, policy: bytes) -> bytes:
    """Version 2 from docs/membership.md ("Version 2: extensions"): the version 1 fields under the v2 tag, an
    empty block after each member, then the roster's extension block."""
    return _hand_encoded(roster, v2_policy=policy)


def test_a_roster_without_extensions_keeps_the_version_1_bytes() -> None:
    roster = make_roster(3, [0, 1, 2], 2)
    assert roster.encode().startswith(b"hashnode.roster.v1\x00")
    assert roster.membership().policy == ConsortiumPolicy()


def test_the_due_process_policy_is_roster_extension_1_as_documented() -> None:
    roster = make_roster(3, [0, 1, 2], 2, policy=POLICY)
    section = DOC.read_text(encoding="utf-8").split("### Version 2: extensions")[1].split("## ")[0]
    assert POLICY.encode().hex() in section
    assert roster.encode() == _hand_encoded_v2(roster, POLICY.encode())
    assert Roster.decode(roster.encode()) == roster
    assert roster.membership().policy == POLICY
    assert roster.membership().decision_window_ms == 3_600_000


def test_a_version_2_roster_without_extensions_is_refused_as_not_canonical() -> None:
    roster = make_roster(1, [0], 1)
    bare = _hand_encoded_v2(roster, b"")
    with pytest.raises(MalformedRosterError, match="not canonical"):
        Roster.decode(bare)


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (struct.pack(">HHI", 1, 7, 1) + b"\x00", "roster extension type 7 is unknown"),
        (struct.pack(">HHI", 2, 1, 14) + POLICY.encode() + struct.pack(">HI", 1, 14) + POLICY.encode(),
         "types must ascend"),
        (struct.pack(">HHI", 1, 1, 15) + POLICY.encode() + b"\x00", "trailing"),
        (struct.pack(">HHI", 1, 1, 14) + POLICY.encode()[:-1] + b"\x03", "quarantine: got 3"),
        (struct.pack(">HHI", 1, 1, 14) + POLICY.encode()[:-2] + b"\x02\x01", "trusted_flagger_disputes: got 2"),
        (struct.pack(">HHI", 1, 1, 14) + POLICY.encode()[:8] + b"\x00\x00" + POLICY.encode()[10:],
         "steward_quorum: got 0"),
    ],
    ids=["unknown type", "repeated type", "trailing bytes", "unknown mode", "bad flag", "zero quorum"],
)
def test_a_malformed_extension_block_is_refused(block: bytes, message: str) -> None:
    roster = make_roster(1, [0], 1, policy=POLICY)
    good = roster.encode()
    tail = struct.pack(">HHI", 1, 1, 14) + POLICY.encode()
    with pytest.raises(MalformedRosterError, match=message):
        Roster.decode(good[: -len(tail)] + block)


def test_an_unknown_member_extension_is_refused() -> None:
    roster = make_roster(1, [0], 1, members=(member("platform-a"),), policy=POLICY)
    good = roster.encode()
    tail = struct.pack(">HHI", 1, 1, 14) + POLICY.encode()
    member_end = len(good) - len(tail) - 2
    bad = good[:member_end] + struct.pack(">HHI", 1, 2, 0) + good[member_end + 2 :]
    with pytest.raises(MalformedRosterError, match="member 'platform-a' extension type 2 is unknown"):
        Roster.decode(bad)


def test_the_policy_comes_in_as_a_signed_version_and_stays_in_later_drafts() -> None:
    v1 = signed_by(make_roster(1, [0, 1, 2], 2), [0, 1])
    draft = RosterDraft.next_version(v1.roster, expires_ms=FAR)
    draft.policy = POLICY
    v2 = signed_by(draft.build(), [0, 2])
    trusted = trusted_chain(v1, v2)
    assert trusted.membership(NOW).policy == POLICY
    assert RosterDraft.next_version(v2.roster, expires_ms=FAR).build().policy == POLICY
