"""Who belongs to the consortium, with which keys and roles.

A node reads it from its signed roster (`node.membership.roster`); an offline verifier from a roster or from a
consortium file (`node.membership.consortium_file`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from node.core.errors import InvalidArgument, VerificationError
from node.core.keys import PublicKey
from node.membership.consortium_policy import DEFAULT_DECISION_WINDOW_MS as DEFAULT_DECISION_WINDOW_MS
from node.membership.consortium_policy import HOUR_MS as HOUR_MS
from node.membership.consortium_policy import ConsortiumPolicy

# A referrer (e.g. an internet referral unit, a hotline) contributes hashes and notices but runs no matching.
# The order is the canonical order of roles in roster bytes: new roles are appended, never inserted.
ROLES = ("contributor", "trusted_flagger", "observer", "steward", "referrer")
STATUSES = ("active", "suspended", "revoked")
MEMBER_ID_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
# Largest TLS certificate a roster or join request may carry.
MAX_CERTIFICATE_BYTES = 8192
# Peer endpoints a member may list (docs/membership.md, "Roster bytes"): its node's addresses in order of
# preference, e.g. one per address family or site. Bounded so that a roster stays small and a dialler's
# failover round stays short.
MAX_ENDPOINTS = 8
MAX_ENDPOINT_BYTES = 255
_ENDPOINT_RE = re.compile(r"(?P<host>[A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]):(?P<port>[0-9]{1,5})")
ENDPOINT_WANT = "host:port with a DNS name, IPv4 address or [IPv6] address and port 1..65535"


MEMBER_ID_FORMAT = "a member id: 1-64 characters a-z 0-9 . _ - starting with a letter or digit"


def check_member_id(member_id: str, field_name: str = "member_id") -> str:
    """Returns `member_id` if it is a valid member id (lowercase, 1-64 characters of a-z 0-9 . _ -).

    Raises:
        InvalidArgument: it is not (naming `field_name`; a long value is shown by its length).
    """
    if not MEMBER_ID_RE.fullmatch(member_id):
        shown = member_id if len(member_id) <= 64 else f"{len(member_id)} characters"
        raise InvalidArgument(field_name, shown or '""', MEMBER_ID_FORMAT.removeprefix("a member id: "))
    return member_id


def check_endpoint(endpoint: str, field_name: str = "endpoint") -> str:
    """Returns `endpoint` if other nodes can dial it: `host:port`, port 1..65535, at most 255 bytes.

    Raises:
        InvalidArgument: it is not.
    """
    found = _ENDPOINT_RE.fullmatch(endpoint) if len(endpoint.encode()) <= MAX_ENDPOINT_BYTES else None
    if found is None or not 1 <= int(found["port"]) <= 65535:
        raise InvalidArgument(field_name, endpoint, ENDPOINT_WANT)
    return endpoint


def check_endpoints(endpoints: Iterable[str], field_name: str = "endpoints") -> tuple[str, ...]:
    """Returns the endpoints as a tuple if each is valid, none repeats and there are at most MAX_ENDPOINTS.

    Raises:
        InvalidArgument: one is malformed, repeated, or there are too many.
    """
    found = tuple(endpoints)
    for i, endpoint in enumerate(found):
        check_endpoint(endpoint, f"{field_name}[{i}]")
    if len(set(found)) != len(found):
        raise InvalidArgument(field_name, list(found), "distinct endpoints")
    if len(found) > MAX_ENDPOINTS:
        raise InvalidArgument(field_name, f"{len(found)} endpoints", f"at most {MAX_ENDPOINTS}")
    return found


@dataclass(frozen=True)
class MemberKey:
    public_key: PublicKey
    valid_from_ms: int = 0   # 0: no lower bound
    valid_until_ms: int = 0  # 0: no upper bound

    def valid_at(self, timestamp_ms: int) -> bool:
        return (self.valid_from_ms <= timestamp_ms) and (
            self.valid_until_ms == 0 or timestamp_ms <= self.valid_until_ms
        )


@dataclass(frozen=True)
class Member:
    member_id: str
    organisation: str
    keys: tuple[MemberKey, ...]
    roles: tuple[str, ...] = ("contributor",)
    contact: str = ""
    status: str = "active"
    revoked_after_ms: int = 0
    tls_fingerprints: tuple[str, ...] = ()
    endpoints: tuple[str, ...] = ()  # its node's peer listener, in order of preference (may be empty)
    status_version: int = 0  # the roster version that gave the current status (0: not from a roster)

    def key(self, key_id: bytes) -> MemberKey | None:
        return next((k for k in self.keys if k.public_key.key_id == key_id), None)

    def signing_keys(self) -> tuple[MemberKey, ...]:
        """Its keys with each window ending at its revocation cutoff, if any: what its signatures that carry no
        entry (a stewards' ruling's) may be checked with. A key whose window starts after the cutoff is left out."""
        cutoff = self.revoked_after_ms
        if not cutoff:
            return self.keys
        return tuple(
            replace(k, valid_until_ms=min(k.valid_until_ms or cutoff, cutoff))
            for k in self.keys
            if k.valid_from_ms <= cutoff
        )

    def may_author(self) -> bool:
        return self.status == "active" and ("contributor" in self.roles or "trusted_flagger" in self.roles)

    def may_refer(self) -> bool:
        """Contributes hashes (a contributor, trusted flagger or referrer)."""
        return self.status == "active" and bool({"contributor", "trusted_flagger", "referrer"} & set(self.roles))


@dataclass
class Membership:
    consortium_id: str
    members: dict[str, Member] = field(default_factory=dict)
    version: int = 0
    policy: ConsortiumPolicy = field(default_factory=ConsortiumPolicy)

    @property
    def decision_window_ms(self) -> int:
        return self.policy.decision_window_ms

    @decision_window_ms.setter
    def decision_window_ms(self, window_ms: int) -> None:
        self.policy = replace(self.policy, decision_window_ms=window_ms)

    def __iter__(self) -> Iterator[Member]:
        return iter(self.members.values())

    def get(self, member_id: str) -> Member | None:
        return self.members.get(member_id)

    def steward_keys(self) -> tuple[tuple[str, MemberKey], ...]:
        """(steward, key) for every key of every member with the steward role: the keys that sign rulings, each
        valid until the steward's revocation cutoff at the latest (`Member.signing_keys`)."""
        return tuple(
            (m.member_id, key) for m in self.members.values() if "steward" in m.roles for key in m.signing_keys()
        )

    def stewards(self) -> frozenset[str]:
        """Members holding the steward role (whatever their status: the role, not the status, decides)."""
        return frozenset(m.member_id for m in self.members.values() if "steward" in m.roles)

    def signing_key(self, author: str, key_id: bytes, timestamp_ms: int) -> PublicKey:
        """The key that must have signed an entry of `author` with `key_id` at `timestamp_ms`.

        Raises VerificationError when the author is unknown, the key is not the author's, or it was not valid then.
        """
        member = self.members.get(author)
        if member is None:
            raise VerificationError(f"author {author!r} is not a member of consortium {self.consortium_id!r}")
        key = member.key(key_id)
        if key is None:
            raise VerificationError(f"author {author!r} has no key {key_id.hex()[:16]}…")
        if not key.valid_at(timestamp_ms):
            raise VerificationError(f"key {key_id.hex()[:16]}… of {author!r} was not valid at {timestamp_ms}")
        if member.revoked_after_ms and timestamp_ms > member.revoked_after_ms:
            raise VerificationError(f"author {author!r} was revoked before this entry was signed")
        return key.public_key

    @classmethod
    def from_members(cls, consortium_id: str, members: Iterable[Member]) -> Membership:
        return cls(consortium_id, {m.member_id: m for m in members})
