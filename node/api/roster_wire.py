"""Rosters on the wire (protos/hashnode/v1/membership.proto, admin.proto) to and from node.membership.roster types.

What comes off the wire is the roster bytes and signatures exactly as received; `SignedRoster.parse` decodes
them and `TrustedRoster` verifies them. Nothing is re-encoded before verification.
"""

from __future__ import annotations

from node.api.gen.hashnode.v1 import admin_pb2, membership_pb2
from node.core.errors import InvalidArgument
from node.membership.roster import MalformedRosterError, Roster, Signature, SignedRoster

MAX_SIGNATURES = 256


def signed_roster_to_proto(signed: SignedRoster) -> membership_pb2.SignedRoster:
    return membership_pb2.SignedRoster(
        roster=signed.roster_bytes,
        signatures=[
            membership_pb2.RosterSignature(key_id=s.key_id, signature=s.signature) for s in signed.signatures
        ],
    )


def signed_roster_from_proto(msg: membership_pb2.SignedRoster, field: str = "roster") -> SignedRoster:
    """Raises: InvalidArgument (too many signatures); MalformedRosterError (bytes or a signature)."""
    if not msg.roster:
        raise InvalidArgument(f"{field}.roster", "no bytes", "the canonical roster bytes")
    if len(msg.signatures) > MAX_SIGNATURES:
        raise InvalidArgument(
            f"{field}.signatures", f"{len(msg.signatures)} signatures", f"<= {MAX_SIGNATURES}"
        )
    try:
        signatures = [Signature(bytes(s.key_id), bytes(s.signature)) for s in msg.signatures]
    except MalformedRosterError as exc:
        raise MalformedRosterError(f"{field}: {exc.message}") from None
    return SignedRoster.parse(bytes(msg.roster), signatures)


def roster_info(signed: SignedRoster, *, expired: bool, changed: bool = False) -> admin_pb2.RosterInfo:
    roster: Roster = signed.roster
    return admin_pb2.RosterInfo(
        consortium_id=roster.consortium_id,
        version=roster.version,
        roster_id=signed.roster_id.hex(),
        expires_ms=roster.expires_ms,
        expired=expired,
        threshold=roster.threshold,
        stewards=[admin_pb2.StewardInfo(name=s.name, key_id=s.key_id.hex()) for s in roster.stewards],
        members=[
            admin_pb2.RosterMemberInfo(
                member_id=m.member_id,
                organisation=m.organisation,
                contact=m.contact,
                endpoint=m.endpoints[0] if m.endpoints else "",
                endpoints=list(m.endpoints),
                roles=list(m.roles),
                status=m.status.label,
                status_version=m.status_version,
                revoked_after_ms=m.revoked_after_ms,
                key_ids=[k.public_key.key_id.hex() for k in m.keys],
                tls_fingerprints=[c.fingerprint.hex() for c in m.tls],
            )
            for m in roster.members
        ],
        signed=signed_roster_to_proto(signed),
        changed=changed,
    )
