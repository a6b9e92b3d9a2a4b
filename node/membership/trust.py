"""Whom a node trusts on its peer listener and when dialling: the roster's active members' certificates.

A server trusts as "root certificates" exactly the certificates of the roster's active members, and a client
dialling member M trusts only M's certificates, so it talks to M or to no one (docs/membership.md, "TLS").
`TrustStore` holds the current set, swapped when a roster arrives, so a roster update needs no restart.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from node.membership.certificates import der_to_pem, fingerprint
from node.membership.roster import MemberStatus, Roster


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
