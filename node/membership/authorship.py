"""Who may author what: the one table of entry kinds and the member roles that may sign them.

Both paths by which an entry enters a node use it: the node's own authoring (`node.ledger.ledger.Ledger`)
refuses before signing, and the receipt rules (`node.replication.validate`, rule R5) refuse a peer's entry
with `not_authorized`. One table, so that what a node signs is exactly what every other node accepts.

Roles are those of the member in the roster version the node trusts when it checks the entry (the newest): a
roster carries no effective time for a role change (docs/membership.md, "Roles"). To end a member's right to
author from a point in time, the stewards revoke it with a cutoff (or rotate its keys), which the receipt
rules apply by the entry's timestamp.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from node.core.entry import EntryKind
from node.membership.members import Member

# The roles that take part in matching and hold records of their own.
_MATCHING = frozenset({"contributor", "trusted_flagger"})
# A referrer (an internet referral unit, a hotline) contributes hashes and reports but runs no matching: it holds
# records of its own (and decides appeals about them) but receives no appeals from users.
_HOLDING = _MATCHING | {"referrer"}

AUTHOR_ROLES: Mapping[int, frozenset[str]] = {
    EntryKind.CONTRIBUTION: _HOLDING,
    # A retraction only changes records its author contributed; a member without the role has none to retract
    # and nothing to say about others' (use an opinion).
    EntryKind.RETRACTION: _HOLDING,
    EntryKind.OPINION: _HOLDING,
    EntryKind.APPEAL: _MATCHING,
    # The record's contributor decides first; the stewards once the decision window has passed
    # (docs/due-process.md). Which of the two a decision claims is checked against the record by due process.
    # Any of these may publish a stewards' ruling (its signatures, not its author, make it count).
    EntryKind.DECISION: _HOLDING | {"steward"},
}
# Kinds this version does not know (reserved): a member that may contribute may sign them, so that a later
# protocol version's kind does not stop its log on older nodes; observers and stewards may not.
RESERVED_KIND_ROLES = _MATCHING


def author_roles(kind: int) -> frozenset[str]:
    """The roles any one of which lets a member sign an entry of `kind`."""
    return AUTHOR_ROLES.get(kind, RESERVED_KIND_ROLES)


def authors_nothing(roles: Collection[str]) -> str | None:
    """Why a member with `roles` may author no entry of any kind ("role observer may not contribute"), for the
    operator's view of a node (`hashnode health`); None if some kind is open to it."""
    if any(wanted.intersection(roles) for wanted in (*AUTHOR_ROLES.values(), RESERVED_KIND_ROLES)):
        return None
    return f"role {', '.join(roles) or 'none'} may not contribute"


def kind_name(kind: int) -> str:
    return EntryKind(kind).label if kind in EntryKind._value2member_map_ else f"reserved kind {kind}"


def refusal(member: Member, kind: int) -> str | None:
    """Why `member` may not author an entry of `kind` ("roles: got X, want Y"), or None if it may."""
    wanted = author_roles(kind)
    if wanted.intersection(member.roles):
        return None
    roles = ", ".join(member.roles) or "none"
    return (
        f"roles: got {roles} for {member.member_id!r}, want one of {', '.join(sorted(wanted))} "
        f"to author {kind_name(kind)} entries"
    )
