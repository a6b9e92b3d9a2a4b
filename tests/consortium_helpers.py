"""Test consortia with real keys and TLS identities: rosters signed by seeded stewards, nodes over mutual TLS.

X.509 validity is checked against the wall clock, so certificates and rosters here use the real time.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from node.core.keys import SigningKey
from node.membership import certificates
from node.membership.join import SignedJoinRequest, create_join_request
from node.membership.members import MemberKey
from node.membership.roster import Roster, RosterDraft, RosterMember, SignedRoster, StewardKey, TlsCertificate
from node.runtime.config import NodeConfig

NOW = time.time_ns() // 1_000_000
DAY = 86_400_000
STEWARDS = [SigningKey.from_seed(bytes([0x30 + i]) * 32) for i in range(3)]


def steward_keys(keys: Iterable[SigningKey] = STEWARDS) -> tuple[StewardKey, ...]:
    return tuple(StewardKey(f"steward-{i}", key.public) for i, key in enumerate(keys))


@dataclass(frozen=True)
class MemberSecrets:
    """A member's secrets: its log key and its TLS identity."""

    member_id: str
    log_key: SigningKey
    identity: certificates.TlsIdentity

    @classmethod
    def make(cls, member_id: str, seed: int) -> MemberSecrets:
        identity = certificates.generate_identity(member_id, not_before_ms=NOW - DAY, not_after_ms=NOW + 30 * DAY)
        return cls(member_id, SigningKey.from_seed(bytes([seed]) * 32), identity)

    def roster_member(self, **fields: object) -> RosterMember:
        return RosterMember(
            member_id=self.member_id,
            organisation=self.member_id.title(),
            keys=(MemberKey(self.log_key.public),),
            tls=(TlsCertificate(self.identity.certificate_der),),
            **fields,  # type: ignore[arg-type]
        )

    def join_request(self, consortium_id: str, created_ms: int = NOW - 1000) -> SignedJoinRequest:
        return create_join_request(
            self.log_key,
            self.identity.certificate_der,
            consortium_id=consortium_id,
            member_id=self.member_id,
            organisation=self.member_id.title(),
            contact=f"{self.member_id}@example.org",
            requested_role="contributor",
            endpoints=(),
            created_ms=created_ms,
        )

    def write(self, directory: Path) -> dict[str, Path]:
        """Writes log key, certificate, TLS key; returns their paths by name."""
        directory.mkdir(parents=True, exist_ok=True)
        paths = {
            "key": directory / f"{self.member_id}.key",
            "crt": directory / f"{self.member_id}.crt",
            "tls": directory / f"{self.member_id}.tls.key",
        }
        if not paths["key"].exists():
            self.log_key.save(paths["key"])
            self.identity.save(paths["crt"], paths["tls"])
        return paths


def sign(roster: Roster, keys: Iterable[SigningKey] = STEWARDS) -> SignedRoster:
    signed = SignedRoster.unsigned(roster)
    for key in keys:
        signed = signed.sign(key)
    return signed


def genesis(consortium_id: str, members: Iterable[RosterMember]) -> SignedRoster:
    """Version 1: three stewards, threshold 2, signed by all three; valid for 30 days."""
    return sign(Roster(consortium_id, 1, NOW + 30 * DAY, 2, steward_keys(), tuple(members)))


def next_version(current: Roster) -> RosterDraft:
    return RosterDraft.next_version(current, expires_ms=NOW + 30 * DAY)


def revoked(member: RosterMember, version: int, cutoff_ms: int) -> RosterMember:
    return replace(member, status=member.status.REVOKED, status_version=version, revoked_after_ms=cutoff_ms)


def token_for(member_id: str, kind: str) -> str:
    return hashlib.sha256(f"test token {member_id} {kind}".encode()).hexdigest()


def write_token(path: Path, text: str) -> Path:
    path.write_text(text + "\n", encoding="utf-8")
    return path


def secure_config(
    directory: Path, member: MemberSecrets, roster_file: Path, **overrides: object
) -> NodeConfig:
    """A secure (TLS, tokens) node config for `member` on 127.0.0.1 port 0, files in `directory`."""
    paths = member.write(directory / "keys")
    fields: dict[str, object] = {
        "path": directory / "node.toml",
        "member_id": member.member_id,
        "roster": roster_file,
        "signing_key": paths["key"],
        "data_dir": directory / "data",
        "listen": "127.0.0.1:0",
        "peer_listen": "127.0.0.1:0",
        "admin_listen": "127.0.0.1:0",
        "tls_certificate": paths["crt"],
        "tls_private_key": paths["tls"],
        "client_token_file": write_token(directory / "client-token", token_for(member.member_id, "client")),
        "admin_token_file": write_token(directory / "admin-token", token_for(member.member_id, "admin")),
    }
    fields.update(overrides)
    return NodeConfig(**fields)  # type: ignore[arg-type]
