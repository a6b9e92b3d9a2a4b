"""What a node does with a member's records when the roster revokes or suspends it, or the stewards purge it.

* **Revocation** (roster): entries signed after the cutoff are refused on receipt (`Membership.signing_key`,
  rule R5 of the replica). Entries this node stored *before* it learnt of the revocation may be among them
  (the cutoff can lie in the past: the last time the key was known to be safe), so `withhold_after_cutoff`
  moves the records of those entries to SUSPENDED: they stop matching, and their provenance no longer verifies
  against the roster. Earlier entries stay valid and keep matching; their provenance notes the revocation.
* **Own status**: a node whose own member is suspended or revoked stops authoring (`OwnStatusGate`).
* **Purge** (`Admin.PurgeMember`, an explicit operator action carrying out a steward decision): every record
  of a *revoked* member is moved to SUSPENDED on this node, also those that arrive later. The decision is
  recorded in the store's `state` table; it is local to this node, and nothing signed changes."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass

from node.core.entry import Entry, EntryKind
from node.core.errors import FailedPrecondition, NotFound
from node.core.records import record_id
from node.ledger.consortium import Consortium, RosterChange
from node.ledger.ledger import IndexDelta, Ledger
from node.membership.roster import MemberStatus
from node.storage.store import MATCHING, Status, Store, Txn

log = logging.getLogger(__name__)

PURGE_PREFIX = b"purged-member\x00"


def entries_after(store: Store, txn: Txn, author: str, cutoff_ms: int) -> Iterator[Entry]:
    """The author's entries signed after `cutoff_ms`, newest first (timestamps never decrease along a log)."""
    head = store.head(txn, author)
    seq = head.seq if head else 0
    while seq >= 1:
        entry_id = store.entry_id_at(txn, author, seq)
        entry = None if entry_id is None else store.entry(txn, entry_id)
        if entry is None or entry.header.timestamp_ms <= cutoff_ms:
            return
        yield entry
        seq -= 1


def _suspend_entry(ledger: Ledger, txn: Txn, entry: Entry, delta: IndexDelta) -> int:
    """Moves the active records of a contribution entry to SUSPENDED; returns how many moved."""
    if entry.kind != EntryKind.CONTRIBUTION:
        return 0
    moved = 0
    for index in range(len(entry.items)):
        rid = record_id(entry.entry_id, index)
        ordinal = ledger.store.ordinal(txn, rid)
        row = None if ordinal is None else ledger.store.record(txn, ordinal)
        if row is not None and row.status in MATCHING:
            ledger.set_record_status(txn, rid, Status.SUSPENDED, delta)
            moved += 1
    return moved


def withhold_after_cutoff(ledger: Ledger, author: str, cutoff_ms: int) -> int:
    """Suspends the records of `author`'s entries signed after `cutoff_ms`; returns how many records moved."""
    delta = IndexDelta()
    with ledger.store.write() as txn:
        moved = sum(
            _suspend_entry(ledger, txn, e, delta) for e in entries_after(ledger.store, txn, author, cutoff_ms)
        )
    ledger.after_commit(None, delta)
    if moved:
        log.warning("withheld %d records %s signed after its revocation cutoff %d", moved, author, cutoff_ms)
    return moved


class OwnStatusGate:
    """Stops authoring while this node's own member is not active in the roster; resumes when it is again."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._reason: str | None = None

    def update(self, consortium: Consortium) -> None:
        member = consortium.roster.member(self._ledger.settings.member_id)
        blocked = None
        if member is None or member.status != MemberStatus.ACTIVE:
            status = "not a member" if member is None else member.status.label
            blocked = (
                f"authoring stopped: member {self._ledger.settings.member_id!r} is {status} in roster "
                f"version {consortium.roster.version}"
            )
        if blocked is not None and blocked != self._reason:
            log.error("%s", blocked)
        self._reason = blocked
        self._ledger.block_authoring("member status", blocked)  # other gates keep their own reasons


def on_roster_change(
    ledger: Ledger, gate: OwnStatusGate, consortium: Consortium
) -> Callable[[RosterChange], None]:
    """The listener that applies a roster change to the ledger's records and authoring."""

    def apply(change: RosterChange) -> None:
        for member in change.newly(MemberStatus.REVOKED):
            withhold_after_cutoff(ledger, member.member_id, member.revoked_after_ms)
        gate.update(consortium)

    return apply


# --- purge ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PurgeDecision:
    member_id: str
    reason: str
    decided_at_ms: int
    roster_version: int

    def encode(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode("utf-8")

    @classmethod
    def decode(cls, data: bytes) -> PurgeDecision:
        return cls(**json.loads(data.decode("utf-8")))


def purged_members(store: Store) -> dict[str, PurgeDecision]:
    with store.read() as txn:
        cursor = txn.cursor(db=store.db("state"))
        found = {}
        if cursor.set_range(PURGE_PREFIX):
            for key, value in cursor:
                if not bytes(key).startswith(PURGE_PREFIX):
                    break
                decision = PurgeDecision.decode(bytes(value))
                found[decision.member_id] = decision
        return found


def purge_member(ledger: Ledger, consortium: Consortium, member_id: str, reason: str) -> int:
    """Suspends every record of a revoked member on this node and remembers the decision; returns how many.

    Raises:
        NotFound: no such member in the roster.
        FailedPrecondition: the member is not revoked (a purge removes what a revoked member contributed; an
            active member's records are handled one by one, by due process).
    """
    roster = consortium.roster
    member = roster.member(member_id)
    if member is None:
        raise NotFound(f"member_id: {member_id!r} is not in roster version {roster.version}")
    if member.status != MemberStatus.REVOKED:
        raise FailedPrecondition(
            f"member {member_id!r} is {member.status.label}; the stewards revoke a member before its records "
            "are purged"
        )
    decision = PurgeDecision(member_id, reason, ledger.clock(), roster.version)
    delta = IndexDelta()
    with ledger.store.write() as txn:
        ledger.store.put_state(txn, PURGE_PREFIX + member_id.encode("utf-8"), decision.encode())
        moved = sum(
            _suspend_entry(ledger, txn, e, delta) for e in entries_after(ledger.store, txn, member_id, -1)
        )
    ledger.after_commit(None, delta)
    log.warning("purged member %s: %d records suspended (%s)", member_id, moved, reason or "no reason given")
    return moved


class PurgeGuard:
    """Suspends records of purged members that arrive after the purge (late replication of older entries)."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._purged = set(purged_members(ledger.store))

    def add(self, member_id: str) -> None:
        self._purged.add(member_id)

    def __call__(self, entry: Entry) -> None:
        if entry.header.author not in self._purged or entry.kind != EntryKind.CONTRIBUTION:
            return
        delta = IndexDelta()
        with self._ledger.store.write() as txn:
            _suspend_entry(self._ledger, txn, entry, delta)
        self._ledger.apply_index_delta(delta)
