"""Whom a node dials because the roster says so (docs/membership.md, "The roster in the node").

Each member's roster entry may list the endpoints of its node's peer listener. A node dials every other active
member at the first of them (the next after a failure), and never dials a member the roster does not hold
active, whoever configured it: a suspended or revoked member's node is refused by every node's TLS anyway, so
dialling it would only fail, for ever. Pure: the roster in, the plan out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from node.membership.roster import MemberStatus, Roster


@dataclass(frozen=True)
class DialPlan:
    """The peers a roster version gives a node, and the members it must not dial at all."""

    version: int = 0  # the roster version it was made from (0: none yet)
    endpoints: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # member -> its endpoints
    barred: Mapping[str, str] = field(default_factory=dict)  # member -> why no node dials it


def dial_plan(
    roster: Roster, own_member: str, *, mesh: bool = True, require_certificate: bool = True
) -> DialPlan:
    """The roster's dial plan for the node of `own_member`.

    `mesh` False (a follower, a private link): no roster peers, only the bar on inactive members.
    `require_certificate`: leave out members without a TLS certificate, whose node no pinned channel could
    verify (an insecure development node dials in plaintext and needs none).
    """
    endpoints: dict[str, tuple[str, ...]] = {}
    barred: dict[str, str] = {}
    for member in roster.members:
        dialable = member.endpoints and (member.tls or not require_certificate)
        if member.status != MemberStatus.ACTIVE:
            barred[member.member_id] = f"{member.status.label} in roster version {member.status_version}"
        elif mesh and member.member_id != own_member and dialable:
            endpoints[member.member_id] = member.endpoints
    return DialPlan(roster.version, endpoints, barred)
