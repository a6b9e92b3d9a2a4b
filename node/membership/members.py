"""Who belongs to the consortium, with which keys and roles.

Until signed rosters exist this is read from a consortium file (TOML) that every node of the consortium shares; the
signed, versioned roster replaces the source, not this interface.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from node.core.errors import ConfigError, InvalidArgument, VerificationError
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


def check_member_id(member_id: str) -> str:
    """Returns `member_id` if it is a valid member id (lowercase, 1-64 characters of a-z 0-9 . _ -).

    Raises:
        InvalidArgument: it is not.
    """
    if not MEMBER_ID_RE.fullmatch(member_id):
        raise InvalidArgument(
            "member_id", member_id, "1-64 characters a-z 0-9 . _ - starting with a letter or digit"
        )
    return member_id


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
    endpoint: str = ""
    status_version: int = 0  # the roster version that gave the current status (0: not from a roster)

    def key(self, key_id: bytes) -> MemberKey | None:
        return next((k for k in self.keys if k.public_key.key_id == key_id), None)

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

    @classmethod
    def load(cls, path: Path) -> Membership:
        """Reads a consortium file: `consortium_id = "..."`, the optional consortium policy keys
        (`decision_window_hours`, default 72; `steward_quorum`, `dispute_quorum`, `trusted_flagger_disputes`,
        `quarantine`: node/membership/consortium_policy.py) and `[[member]]` tables."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"consortium file {path}: {exc}") from exc
        consortium_id = data.get("consortium_id")
        if not isinstance(consortium_id, str) or not consortium_id:
            raise ConfigError(f"consortium file {path}: consortium_id: want a non-empty string")
        members = [_member(path, i, entry) for i, entry in enumerate(data.get("member", []))]
        if not members:
            raise ConfigError(f"consortium file {path}: no [[member]] entries")
        membership = cls.from_members(consortium_id, members)
        membership.policy = ConsortiumPolicy.from_mapping(data, f"consortium file {path}")
        return membership


def _member(path: Path, i: int, entry: object) -> Member:
    where = f"consortium file {path}: member[{i}]"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: want a table")
    member_id = entry.get("id")
    if not isinstance(member_id, str) or not member_id:
        raise ConfigError(f"{where}.id: want a non-empty string")
    keys_hex = entry.get("public_keys") or ([entry["public_key"]] if "public_key" in entry else [])
    if not keys_hex:
        raise ConfigError(f"{where}.public_key: missing")
    try:
        keys = tuple(MemberKey(PublicKey.from_hex(str(k))) for k in keys_hex)
    except Exception as exc:
        raise ConfigError(f"{where}.public_key: {exc}") from exc
    roles = tuple(entry.get("roles", ["contributor"]))
    bad = [r for r in roles if r not in ROLES]
    if bad:
        raise ConfigError(f"{where}.roles: got {bad}, want any of {', '.join(ROLES)}")
    status = entry.get("status", "active")
    if status not in STATUSES:
        raise ConfigError(f"{where}.status: got {status!r}, want one of {', '.join(STATUSES)}")
    revoked_after_ms = entry.get("revoked_after_ms", 0)
    if type(revoked_after_ms) is not int or revoked_after_ms < 0:
        raise ConfigError(f"{where}.revoked_after_ms: got {revoked_after_ms!r}, want Unix milliseconds >= 0")
    return Member(
        member_id=member_id,
        organisation=str(entry.get("organisation", member_id)),
        keys=keys,
        roles=roles,
        contact=str(entry.get("contact", "")),
        status=status,
        revoked_after_ms=revoked_after_ms,
        endpoint=str(entry.get("endpoint", "")),
    )
