"""Trust anchors of an offline verifier (docs/protocol.md §9.2): a consortium file, or a chain of signed rosters.

A verifier trusts keys only through an anchor it obtained independently of the bundle. A consortium file is
trusted as it is (its reader is `node.membership.consortium_file`). A roster chain is trusted as a node trusts its
own (docs/membership.md, "Verifying a roster chain"): its first roster is version 1 or the roster whose id the
verifier pinned, each roster is signed by a threshold of its stewards, each later one follows from the one before,
and the newest has not expired at the verification time. Each refusal names an `anchor.*` rule.
"""

from __future__ import annotations

from collections.abc import Sequence

from node.membership.members import Membership
from node.membership.roster import (
    ExpiredRosterError,
    MalformedRosterError,
    PinnedRosterMismatchError,
    RosterError,
    SignedRoster,
    ThresholdError,
    TrustedRoster,
)
from node.provenance.rules import Rejected


def _rule(error: RosterError) -> str:
    if isinstance(error, MalformedRosterError):
        return "anchor.roster_malformed"
    if isinstance(error, PinnedRosterMismatchError):
        return "anchor.roster_root"
    if isinstance(error, ThresholdError):
        return "anchor.roster_threshold"
    if isinstance(error, ExpiredRosterError):
        return "anchor.roster_expired"
    return "anchor.roster_chain"  # another consortium, rollback, skipped version, transition rule


def roster_membership(chain: Sequence[SignedRoster], pinned_id: bytes | None, now_ms: int) -> Membership:
    """The membership of the newest roster of `chain` (root first), trusted as of `now_ms`.

    Raises:
        Rejected: an `anchor.*` rule does not hold.
    """
    if not chain:
        raise Rejected("anchor.roster_root", "no roster given")
    root, *later = chain
    try:
        trusted = TrustedRoster(root.roster_bytes, root.signatures, pinned_id=pinned_id)
        if later:
            trusted.update_chain(later, now_ms)
        roster = trusted.current(now_ms)
    except RosterError as exc:
        raise Rejected(_rule(exc), f"roster anchor: {exc.message}") from None
    return roster.membership()
