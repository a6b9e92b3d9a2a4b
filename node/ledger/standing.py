"""A stored record's standing on this node: its due-process history read from the store, the verdict of this
node's policy over it, and the stored status that verdict maps to (docs/due-process.md, "Wiring").

The ledger calls in inside its write transactions whenever an entry about a record is applied, so a record's
status always follows from the entries the node holds and its policy; nothing here writes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from node.core.errors import DataCorruption
from node.core.records import HashRecord, record_id
from node.dueprocess.deadlines import DecisionAuthority
from node.dueprocess.history import RecordHistory, derive_verdict
from node.dueprocess.policy import PolicyConfig, RecordFacts, Standing, Verdict
from node.membership.members import Membership
from node.storage.store import RecordRow, Status, Store, Txn, row_timestamp_ms

STATUS_OF: dict[Standing, int] = {
    Standing.ACTIVE: Status.ACTIVE,
    Standing.DISPUTED: Status.DISPUTED,
    Standing.QUARANTINED: Status.SUSPENDED,
    Standing.WITHHELD: Status.SUSPENDED,
    Standing.RETRACTED: Status.RETRACTED,
    Standing.OVERTURNED: Status.OVERTURNED,
}
# A record in one of these never matches again on any node, whatever the local policy.
FINAL = frozenset({Status.RETRACTED, Status.OVERTURNED})
STANDING_OF_FINAL = {Status.RETRACTED: Standing.RETRACTED, Status.OVERTURNED: Standing.OVERTURNED}


def row_record_id(row: RecordRow) -> bytes:
    return record_id(row.entry_id, row.index)


def authority(contributor: str, membership: Membership) -> DecisionAuthority:
    """Who decides appeals about a record of `contributor`: it, and after the window the stewards."""
    policy = membership.policy
    return DecisionAuthority(
        contributor,
        membership.stewards(),
        policy.decision_window_ms,
        policy.steward_quorum,
        membership.consortium_id,
        membership.steward_keys(),
        policy.dispute_quorum,
        policy.trusted_flagger_disputes,
        frozenset(m.member_id for m in membership if "trusted_flagger" in m.roles),
        policy.quarantine,
    )


def facts(row: RecordRow, membership: Membership, record: HashRecord | None = None) -> RecordFacts:
    """`record` is the row's decoded record when the caller has it already (decoding costs on a hot path)."""
    member = membership.get(row.author)
    roles = member.roles if member is not None else ()
    return RecordFacts(row_record_id(row), row.author, roles, (record or row.record).labels)


def history(store: Store, txn: Txn, rid: bytes) -> RecordHistory:
    """The items about `rid` in the entries the store relates to it."""
    related = store.related(txn, rid)
    if not related:  # most records: nothing was ever said about them
        return RecordHistory(rid)
    entries = []
    for entry_id in related:
        entry = store.entry(txn, entry_id)
        if entry is None:
            raise DataCorruption("entries", entry_id.hex()[:16], f"related to record {rid.hex()[:16]}, but not stored")
        entries.append(entry)
    return RecordHistory.from_entries(rid, entries)


# node/ledger/revocation.py records an operator's purge of a revoked member under this prefix in the `state` table.
PURGED_MEMBER_PREFIX = b"purged-member\x00"


def verdict(
    store: Store,
    txn: Txn,
    row: RecordRow,
    membership: Membership,
    policy: PolicyConfig,
    record: HashRecord | None = None,
) -> Verdict:
    """The record's verdict on this node: the shared history under the local policy, and the withholds
    this node applies to a revoked contributor's records (node/ledger/revocation.py), which no opinion lifts."""
    rid = row_record_id(row)
    found = derive_verdict(
        facts(row, membership, record), history(store, txn, rid), authority(row.author, membership), policy
    )
    return _with_local_withhold(found, local_withhold(store, txn, row, membership))


def _with_local_withhold(found: Verdict, held: str | None) -> Verdict:
    if held is None or found.standing not in (Standing.ACTIVE, Standing.DISPUTED, Standing.WITHHELD):
        return found
    return Verdict(Standing.WITHHELD, (*found.notes, held))


# What `Verdicts` derives for the records of a (contributor, labels) without history: the contributor's
# revocation cutoff, and the notes for records signed before and after it (without the purge note).
Shared = tuple[int, Verdict, tuple[str, ...]]


class Verdicts:
    """The policy notes of many active records read in one transaction: the hits of one match call.

    Most records have no history (nothing was ever said about them), and the verdict of such a record
    depends only on its contributor (roles, decision authority) and its labels: it is derived once per
    (contributor, labels) and shared; the local withholds are read once per contributor. Records with a
    history are judged one by one exactly as `verdict` does.
    """

    def __init__(
        self,
        store: Store,
        txn: Txn,
        membership: Membership,
        policy: PolicyConfig,
        shared: dict[tuple[str, tuple[str, ...]], Shared] | None = None,
    ) -> None:
        """`shared` carries what no-history records' verdicts are, from one call to the next, for as long as
        `membership` and `policy` are the same (the caller's to ensure); the purge withholds are read per call."""
        self._store, self._txn, self._membership, self._policy = store, txn, membership, policy
        self._shared = {} if shared is None else shared
        self._purged: dict[str, str | None] = {}
        self._notes: dict[tuple[str, tuple[str, ...]], tuple[int, tuple[str, ...], tuple[str, ...]]] = {}

    def notes(self, ordinal: int, row: bytes, rid: bytes, author: str, labels: tuple[str, ...]) -> tuple[str, ...]:
        """The notes of the verdict on the record at `ordinal`: `row` encoded, its id `rid`, contributor
        `author` and `labels` read from it."""
        if self._store.has_related(self._txn, rid):
            decoded = RecordRow.decode(ordinal, row)
            return verdict(self._store, self._txn, decoded, self._membership, self._policy).notes
        known = self._notes.get((author, labels))
        if known is None:
            known = self._notes[(author, labels)] = self._derive(rid, author, labels)
        revoked_after_ms, before, after = known
        return after if revoked_after_ms and row_timestamp_ms(row) > revoked_after_ms else before

    def notes_of(
        self,
        ordinals: Sequence[int],
        rows: Sequence[bytes],
        rids: Sequence[bytes],
        authors: Sequence[str],
        labels: Sequence[tuple[str, ...]],
    ) -> list[tuple[str, ...]]:
        """`notes` of many records (columns of one item per record), in one loop."""
        related, txn, known_notes = self._store.has_related, self._txn, self._notes
        found = []
        for ordinal, row, rid, author, record_labels in zip(ordinals, rows, rids, authors, labels, strict=True):
            if related(txn, rid):
                found.append(self.notes(ordinal, row, rid, author, record_labels))
                continue
            known = known_notes.get((author, record_labels))
            if known is None:
                known = known_notes[(author, record_labels)] = self._derive(rid, author, record_labels)
            revoked_after_ms, before, after = known
            found.append(after if revoked_after_ms and row_timestamp_ms(row) > revoked_after_ms else before)
        return found

    def _derive(
        self, rid: bytes, author: str, labels: tuple[str, ...]
    ) -> tuple[int, tuple[str, ...], tuple[str, ...]]:
        """What `notes` answers for every record of `author` with `labels` and no history: `local_withhold`
        depends on the record only through its timestamp, against the contributor's revocation cutoff."""
        shared = self._shared.get((author, labels))
        if shared is None:
            member = self._membership.get(author)
            facts = RecordFacts(rid, author, member.roles if member is not None else (), labels)
            found = derive_verdict(facts, RecordHistory(rid), authority(author, self._membership), self._policy)
            revoked_after_ms = member.revoked_after_ms if member is not None else 0
            shared = self._shared[(author, labels)] = (
                revoked_after_ms, found, _with_local_withhold(found, _revoked_note(author)).notes
            )
        revoked_after_ms, found, after = shared
        if author not in self._purged:
            purged = self._store.get_state(self._txn, PURGED_MEMBER_PREFIX + author.encode("utf-8")) is not None
            self._purged[author] = _purged_note(author) if purged else None
        return revoked_after_ms, _with_local_withhold(found, self._purged[author]).notes, after


def local_withhold(store: Store, txn: Txn, row: RecordRow, membership: Membership) -> str | None:
    """Why this node withholds the record whatever its history says, if it does."""
    member = membership.get(row.author)
    if member is not None and member.revoked_after_ms and row.timestamp_ms > member.revoked_after_ms:
        return _revoked_note(row.author)
    if store.get_state(txn, PURGED_MEMBER_PREFIX + row.author.encode("utf-8")) is not None:
        return _purged_note(row.author)
    return None


def _revoked_note(author: str) -> str:
    return f"contributor {author} revoked; signed after its cutoff — withheld"


def _purged_note(author: str) -> str:
    return f"contributor {author} purged on this node — withheld"


def is_open(policy: PolicyConfig) -> bool:
    """True when a record nobody has said anything about is active under `policy` (no endorsements or label
    restrictions required): the fast path for new contributions."""
    return policy.min_endorsements == 0 and not policy.accept_labels_from


def fingerprint(policy: PolicyConfig, membership: Membership) -> bytes:
    """Changes whenever something a verdict depends on, other than the entries, changes: the policy, the
    consortium's due-process policy (window, quorums, quarantine), who is a steward, who is a trusted flagger.
    (Revocations are applied by node/ledger/revocation.py when the roster changes.)"""
    flaggers = sorted(m.member_id for m in membership if "trusted_flagger" in m.roles)
    parts = [
        repr(policy.suspend_after_false_positive_reports),
        repr(policy.min_endorsements),
        repr(policy.trusted_flagger_preferred),
        repr(sorted((m, sorted(labels)) for m, labels in policy.accept_labels_from.items())),
        repr(membership.policy),
        repr(sorted(membership.stewards())),
        repr(flaggers),
    ]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).digest()
