"""Receipt rules: what a node does with an entry a peer (or a client) handed it.

`classify` is pure. Given one entry and what the node holds for the entry's author, it returns one typed
verdict; the LMDB store and the in-memory reference model (`reconcile.LogSet`) act on it and never re-decide.

The rules, in the order they are applied. Cheap checks come first; the signature is checked before an entry is
treated as evidence of anything, because an unsigned conflicting entry proves nothing about its author (anyone
can write one): it is a forgery, not an equivocation.

R1  Another consortium's entry: Reject(WRONG_CONSORTIUM).
R2  The same id is already stored at author+seq: Duplicate, a no-op. Push and pull overlap, so this is the
    common case; it needs no signature check, since the stored bytes with this id were verified when stored.
R3  The author is convicted of forking: Reject(CONVICTED_AUTHOR), see below.
R4  Author or key unknown to this roster version: Pending. The roster version admitting them may not have
    reached this node yet, so the entry is kept, not dropped, and classified again when the membership
    changes.
R5  Key outside its validity window: Reject(KEY_NOT_VALID). Signed after the author's revocation cutoff:
    Reject(REVOKED_AUTHOR). The author holds no role that may author the entry's kind
    (`node.membership.authorship`, the table the node's own authoring uses too): Reject(NOT_AUTHORIZED).
R6  Timestamp beyond now + max clock skew: Reject(FUTURE_TIMESTAMP). Transient; anti-entropy fetches it again.
R7  Signature does not verify: Reject(FORGED_SIGNATURE). From here on, the author did sign the entry.
R8  Position against the author's head:
    - seq 1 and no head, or seq = head+1 and prev = head id: Apply; but Reject(TIMESTAMP_REGRESSION) when the
      timestamp is older than the head's.
    - seq <= head with a different id stored at seq: Equivocation, two signed entries for one seq. Evidence;
      the stored entry stays and the new one is not applied.
    - seq = head+1 with prev != head id: WrongPrevious. The author signed an entry whose predecessor is not
      the entry it signed at `head`, so it signed two different entries at some seq <= head. Also evidence
      (`evidence.ForkKind.BROKEN_LINK`); the entry is not applied.
    - seq > head+1: Gap. Buffer it and fetch head+1..seq-1.
R9  (`check_items`, on Apply only) Items the node cannot apply: a contribution item that is not a canonical
    hash record of a known signal type with a value of that type's size, or an item of a retraction or
    due-process kind that does not decode: Reject(MALFORMED_ITEM), nothing written. The author signed
    garbage; every node refuses the same entry, so they stay in agreement (the author's log stops there).

Why a convicted author is frozen (R3): once an author has provably signed two histories, "the next entry" is
ambiguous. Nodes that received different branches first would keep extending different logs, and keep fetching
from each other entries they can never apply. Replication's job is to keep what each node had, keep the proof
and spread it; what happens to the member (suspension, key rotation, revocation) is a governance decision,
taken through the roster.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from node.core.entry import Entry, EntryKind
from node.core.errors import HashnodeError, VerificationError
from node.core.keys import PublicKey
from node.core.records import HashRecord, decode_item
from node.membership.authorship import refusal
from node.membership.members import Membership
from node.provenance.bundle import DESCRIBERS
from node.replication.frontier import AuthorRange

DEFAULT_MAX_CLOCK_SKEW_MS = 5 * 60 * 1000


class PendingReason(enum.Enum):
    UNKNOWN_AUTHOR = "unknown_author"
    UNKNOWN_KEY = "unknown_key"


class RejectReason(enum.Enum):
    WRONG_CONSORTIUM = "wrong_consortium"
    CONVICTED_AUTHOR = "convicted_author"
    KEY_NOT_VALID = "key_not_valid"
    REVOKED_AUTHOR = "revoked_author"
    NOT_AUTHORIZED = "not_authorized"
    FUTURE_TIMESTAMP = "future_timestamp"
    FORGED_SIGNATURE = "forged_signature"
    TIMESTAMP_REGRESSION = "timestamp_regression"
    MALFORMED_ITEM = "malformed_item"

    @property
    def transient(self) -> bool:
        """Whether the same entry may be accepted later: only a clock ahead of ours fixes itself with time."""
        return self is RejectReason.FUTURE_TIMESTAMP

    @property
    def permanent(self) -> bool:
        """Whether every node refuses the entry for good under this roster version, whoever sends it, and so
        the rest of its author's log (which chains on it). R5's refusals (key window, revocation cutoff,
        roles) and R8/R9's signed faults are; a wrong consortium, a convicted author (frozen anyway), a clock
        ahead of ours and a forged signature are not (the last two could be anyone's doing). The replica
        remembers a permanent refusal only once the author's signature on the entry verifies."""
        return self in _PERMANENT


_PERMANENT = frozenset(
    {
        RejectReason.KEY_NOT_VALID,
        RejectReason.REVOKED_AUTHOR,
        RejectReason.NOT_AUTHORIZED,
        RejectReason.TIMESTAMP_REGRESSION,
        RejectReason.MALFORMED_ITEM,
    }
)


class LogHead(Protocol):
    """What `classify` needs of an author's head: any object with these fields does (`store.Head` has them).

    The timestamp is part of the head because R8 needs it: an author's timestamps never go backwards.
    """

    @property
    def seq(self) -> int: ...

    @property
    def entry_id(self) -> bytes: ...

    @property
    def timestamp_ms(self) -> int: ...


@dataclass(frozen=True)
class Head:
    """The last entry of an author's contiguous log on this node (the in-memory `LogHead`)."""

    seq: int
    entry_id: bytes
    timestamp_ms: int

    @classmethod
    def of(cls, entry: Entry) -> Head:
        return cls(entry.header.seq, entry.entry_id, entry.header.timestamp_ms)


@dataclass(frozen=True)
class Apply:
    """Append `entry`: it extends the author's log by one."""

    entry: Entry


@dataclass(frozen=True)
class Duplicate:
    """Already stored; nothing to do."""

    entry_id: bytes


@dataclass(frozen=True)
class Gap:
    """Signed and ahead of the head: buffer it and fetch `missing` first."""

    entry: Entry
    missing: AuthorRange


@dataclass(frozen=True)
class Pending:
    """Cannot be checked against this roster version; keep it until the membership changes."""

    entry: Entry
    reason: PendingReason


@dataclass(frozen=True)
class Equivocation:
    """Signed, at a seq where another entry (`existing_id`) is stored. Evidence of both; apply neither."""

    entry: Entry
    existing_id: bytes


@dataclass(frozen=True)
class WrongPrevious:
    """Signed, at head+1, chained to an entry other than the head (`head_id`). Evidence with the head."""

    entry: Entry
    head_id: bytes


@dataclass(frozen=True)
class Reject:
    """Refused. `detail` is for logs and diagnostics, shaped "field: got X, want Y"."""

    entry_id: bytes
    reason: RejectReason
    detail: str


Verdict = Apply | Duplicate | Gap | Pending | Equivocation | WrongPrevious | Reject


def classify(
    entry: Entry,
    *,
    consortium_id: str,
    membership: Membership,
    head: LogHead | None,
    existing_at_seq: bytes | None,
    now_ms: int,
    max_clock_skew_ms: int = DEFAULT_MAX_CLOCK_SKEW_MS,
    convicted: bool = False,
) -> Verdict:
    """Applies rules R1..R8 (module docstring) to one received entry.

    Args:
        entry: parsed (structure and Merkle root checked by `Entry.parse`), signature not yet checked.
        head: the author's contiguous head on this node, or None if nothing of the author is stored.
        existing_at_seq: the id stored at the entry's author+seq, if any. Must be given when seq <= head.seq.
        now_ms: this node's clock.
        convicted: whether this node holds fork evidence against the author.

    Raises:
        ValueError: `existing_at_seq` is None for a seq at or below the head (the caller's log has a hole).
    """
    header = entry.header
    if header.consortium_id != consortium_id:
        return _reject(
            entry,
            RejectReason.WRONG_CONSORTIUM,
            f"consortium_id: got {header.consortium_id!r}, want {consortium_id!r}",
        )
    if existing_at_seq == entry.entry_id:
        return Duplicate(entry.entry_id)
    if head is not None and header.seq <= head.seq and existing_at_seq is None:
        raise ValueError(f"existing_at_seq: none given for seq {header.seq} at or below head {head.seq}")
    if convicted:
        return _reject(
            entry,
            RejectReason.CONVICTED_AUTHOR,
            f"author: got {header.author!r}, want an author without fork evidence",
        )
    authority = authenticate(entry, membership)
    if not isinstance(authority, PublicKey):
        return authority
    # R5, the author's roles: before the signature like every R5 refusal, so a forged entry naming an
    # observer is refused the same way and stops nothing. (Fork evidence needs no role: `authenticate`.)
    member = membership.get(header.author)
    not_allowed = None if member is None else refusal(member, header.kind)
    if not_allowed is not None:
        return _reject(entry, RejectReason.NOT_AUTHORIZED, not_allowed)
    if header.timestamp_ms > now_ms + max_clock_skew_ms:
        return _reject(
            entry,
            RejectReason.FUTURE_TIMESTAMP,
            f"timestamp_ms: got {header.timestamp_ms}, want <= {now_ms + max_clock_skew_ms}",
        )
    try:
        entry.verify(authority)
    except VerificationError as exc:
        return _reject(entry, RejectReason.FORGED_SIGNATURE, f"signature: {exc.message}")
    return _position(entry, head, existing_at_seq)


def authenticate(entry: Entry, membership: Membership) -> PublicKey | Pending | Reject:
    """The key that must have signed `entry` (R4, R5), or why there is none. Does not check the signature.

    The typed checks tell "not yet known" (pending) from "known and refused"; `Membership.signing_key` stays
    the authority, so that a stricter roster (e.g. status checks) takes effect here without a change.
    """
    header = entry.header
    member = membership.get(header.author)
    if member is None:
        return Pending(entry, PendingReason.UNKNOWN_AUTHOR)
    key = member.key(header.key_id)
    if key is None:
        return Pending(entry, PendingReason.UNKNOWN_KEY)
    if not key.valid_at(header.timestamp_ms):
        return _reject(
            entry,
            RejectReason.KEY_NOT_VALID,
            f"timestamp_ms: got {header.timestamp_ms}, want within "
            f"the key's validity [{key.valid_from_ms}, {key.valid_until_ms or 'unbounded'}]",
        )
    if member.revoked_after_ms and header.timestamp_ms > member.revoked_after_ms:
        return _reject(
            entry,
            RejectReason.REVOKED_AUTHOR,
            f"timestamp_ms: got {header.timestamp_ms}, want <= revocation cutoff {member.revoked_after_ms}",
        )
    try:
        return membership.signing_key(header.author, header.key_id, header.timestamp_ms)
    except VerificationError as exc:
        return _reject(entry, RejectReason.NOT_AUTHORIZED, exc.message)


def _position(entry: Entry, head: LogHead | None, existing_at_seq: bytes | None) -> Verdict:
    """R8, for an entry whose signature has been verified."""
    seq, prev = entry.header.seq, entry.header.prev
    have = head.seq if head else 0
    if seq > have + 1:
        return Gap(entry, AuthorRange(entry.header.author, have + 1, seq - 1))
    if head is None:
        return Apply(entry)  # seq 1: Entry.parse guarantees prev is all zeros
    if seq <= head.seq:
        assert existing_at_seq is not None  # checked by classify before the signature
        return Equivocation(entry, existing_at_seq)
    if prev != head.entry_id:
        return WrongPrevious(entry, head.entry_id)
    if entry.header.timestamp_ms < head.timestamp_ms:
        return _reject(
            entry,
            RejectReason.TIMESTAMP_REGRESSION,
            f"timestamp_ms: got {entry.header.timestamp_ms}, "
            f"want >= {head.timestamp_ms} (the author's previous entry)",
        )
    return Apply(entry)


def _reject(entry: Entry, reason: RejectReason, detail: str) -> Reject:
    return Reject(entry.entry_id, reason, detail)


def check_items(entry: Entry) -> tuple[HashRecord, ...] | Reject:
    """R9: the decoded records of a contribution (empty for other kinds), or why the items cannot be applied.

    Run on an entry `classify` said to apply. The records are returned so that applying does not decode again.
    """
    if entry.kind == EntryKind.CONTRIBUTION:
        records = []
        for i, item in enumerate(entry.items):
            record = _contribution_item(item)
            if isinstance(record, str):
                return _reject(entry, RejectReason.MALFORMED_ITEM, f"items[{i}]: {record}")
            records.append(record)
        return tuple(records)
    describer = DESCRIBERS.get(entry.kind)
    if describer is not None:
        for i, item in enumerate(entry.items):
            try:
                describer(item)
            except HashnodeError as exc:
                return _reject(entry, RejectReason.MALFORMED_ITEM, f"items[{i}]: {exc.message}")
    return ()


def _contribution_item(item: bytes) -> HashRecord | str:
    """The record an item encodes, or what is wrong with it."""
    try:
        return decode_item(item)
    except HashnodeError as exc:
        return exc.message
