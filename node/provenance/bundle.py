"""Provenance bundles: why a hash is in the database, verifiable offline by anyone.

A bundle carries the record's canonical bytes, the signed header of the entry holding it, an inclusion proof from
the record to the header's body root, the author's member entry and public keys, and every related signed entry
(retractions, opinions, appeals, decisions). `verify_bundle` re-derives everything from those bytes; nothing in a
bundle is trusted because the node that assembled it says so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace

from node.core import merkle
from node.core.entry import Entry, EntryHeader, EntryKind
from node.core.errors import EncodingError, VerificationError
from node.core.keys import PublicKey
from node.core.records import HashRecord, record_id
from node.core.retraction import RetractionItem
from node.dueprocess.deadlines import DecisionAuthority
from node.dueprocess.history import RecordHistory, derive_verdict
from node.dueprocess.policy import PolicyConfig, RecordFacts
from node.membership.members import DEFAULT_DECISION_WINDOW_MS, Member, Membership

FORMAT_VERSION = 1


@dataclass(frozen=True)
class RelatedEntry:
    entry: Entry
    author: Member
    kind: str
    summary: str


@dataclass(frozen=True)
class ProvenanceBundle:
    consortium_id: str
    record_id: bytes
    record_item: bytes
    leaf_index: int
    leaf_count: int
    inclusion_proof: tuple[bytes, ...]
    entry_header: bytes
    entry_signature: bytes
    author: Member
    related: tuple[RelatedEntry, ...]
    generated_at_ms: int
    generated_by: str
    # Who may decide appeals after the contributor's window, and the window: what a verifier needs to rule on
    # decisions. Claims of the assembling node, like the member entries: a pinned membership overrides them.
    stewards: tuple[Member, ...] = ()
    decision_window_ms: int | None = None  # None: not stated, the protocol default applies


@dataclass(frozen=True)
class VerifiedEvent:
    """One verified entry of the record's history."""

    kind: str
    author: str
    timestamp_ms: int
    entry_id: bytes
    summary: str
    ruling: str = ""  # decisions only: effective, superseded or refused, and why (deadlines.resolve)


@dataclass(frozen=True)
class VerifiedProvenance:
    record_id: bytes
    record: HashRecord
    header: EntryHeader
    entry_id: bytes
    author: Member
    history: tuple[VerifiedEvent, ...]
    status: str  # active, withheld (only under a verifier's own policy), retracted, overturned
    notes: tuple[str, ...]


# For each related entry kind: (record ids an item concerns, one-line summary). Extensions register their kinds.
ItemDescriber = Callable[[bytes], tuple[bytes, str]]


def _describe_retraction(item: bytes) -> tuple[bytes, str]:
    decoded = RetractionItem.decode(item)
    return decoded.record_id, f"retracted by its contributor: {decoded.reason or 'no reason given'}"


DESCRIBERS: dict[int, ItemDescriber] = {EntryKind.RETRACTION: _describe_retraction}

# Which status a verified related kind puts the record in, when its author may decide that.
STATUS_BY_KIND: dict[int, str] = {EntryKind.RETRACTION: "retracted"}


def describe(entry: Entry, rid: bytes) -> str:
    """Summary of what `entry` says about record `rid` (its first item about it)."""
    describer = DESCRIBERS.get(entry.kind)
    if describer is None:
        return f"entry of kind {entry.kind}"
    for item in entry.items:
        about, summary = describer(item)
        if about == rid:
            return summary
    raise VerificationError(f"related entry {entry.entry_id.hex()} does not concern record {rid.hex()}")


def _author_key(author: Member, key_id: bytes, timestamp_ms: int, trusted: Membership | None) -> PublicKey:
    """The author's key for `key_id`, checked against the pinned membership when one is given."""
    source = author
    if trusted is not None:
        pinned = trusted.get(author.member_id)
        if pinned is None:
            raise VerificationError(f"author {author.member_id!r} is not in the pinned consortium file")
        source = pinned
    key = source.key(key_id)
    if key is None:
        where = "pinned consortium file" if trusted is not None else "bundle's member entry"
        raise VerificationError(f"key {key_id.hex()[:16]}… of {author.member_id!r} is not in the {where}")
    if not key.valid_at(timestamp_ms):
        raise VerificationError(f"key {key_id.hex()[:16]}… of {author.member_id!r} was not valid when it signed")
    if source.revoked_after_ms and timestamp_ms > source.revoked_after_ms:
        raise VerificationError(f"{author.member_id!r} signed this after its revocation cutoff")
    return key.public_key


def _verify_record(bundle: ProvenanceBundle, trusted: Membership | None) -> tuple[EntryHeader, HashRecord]:
    try:
        header = EntryHeader.decode(bundle.entry_header)
        record = HashRecord.decode(bundle.record_item)
    except EncodingError as exc:
        raise VerificationError(f"bundle: {exc.message}") from exc
    if header.consortium_id != bundle.consortium_id:
        raise VerificationError(f"entry is of consortium {header.consortium_id!r}, not {bundle.consortium_id!r}")
    if trusted is not None and header.consortium_id != trusted.consortium_id:
        raise VerificationError(f"entry is of consortium {header.consortium_id!r}, not the pinned one")
    if header.author != bundle.author.member_id:
        raise VerificationError(f"entry author {header.author!r} differs from the bundle's member entry")
    if header.kind != EntryKind.CONTRIBUTION:
        raise VerificationError(f"entry kind {header.kind} is not a contribution")
    key = _author_key(bundle.author, header.key_id, header.timestamp_ms, trusted)
    key.verify(bundle.entry_signature, bundle.entry_header)
    if bundle.leaf_count != header.item_count:
        raise VerificationError(f"leaf count {bundle.leaf_count} differs from the signed {header.item_count}")
    root = merkle.root_from_proof(bundle.record_item, bundle.leaf_index, bundle.leaf_count, bundle.inclusion_proof)
    if root != header.body_root:
        raise VerificationError("inclusion proof does not lead to the signed body root: record bytes changed")
    entry_id = hashlib.sha256(bundle.entry_header).digest()
    if record_id(entry_id, bundle.leaf_index) != bundle.record_id:
        raise VerificationError("record id does not derive from the entry id and leaf index")
    return header, record


def _verify_related(
    bundle: ProvenanceBundle, related: RelatedEntry, trusted: Membership | None
) -> VerifiedEvent:
    entry = related.entry
    checked = Entry.parse(entry.header_bytes, entry.signature, entry.items)
    header = checked.header
    if header.consortium_id != bundle.consortium_id:
        raise VerificationError(f"related entry {checked.entry_id.hex()} is of another consortium")
    if header.author != related.author.member_id:
        raise VerificationError(f"related entry {checked.entry_id.hex()}: author differs from its member entry")
    key = _author_key(related.author, header.key_id, header.timestamp_ms, trusted)
    checked.verify(key)
    summary = describe(checked, bundle.record_id)
    return VerifiedEvent(EntryKind(header.kind).label, header.author, header.timestamp_ms, checked.entry_id, summary)


def trusted_author(author: Member, trusted: Membership | None) -> Member:
    """The author as the pinned membership lists it when there is one (its status is the one that counts)."""
    pinned = None if trusted is None else trusted.get(author.member_id)
    return pinned or author


def status_note(member: Member) -> str:
    """Why a contributor's records deserve a second look, e.g. "contributor x revoked at roster version 4"."""
    if member.status_version:
        note = f"contributor {member.member_id} {member.status} at roster version {member.status_version}"
    else:
        note = f"contributor {member.member_id} is {member.status}"
    if member.revoked_after_ms:
        note += f"; its entries signed after {member.revoked_after_ms} (ms) are refused, earlier ones stay valid"
    return note


def verify_bundle(
    bundle: ProvenanceBundle, *, trusted: Membership | None = None, policy: PolicyConfig | None = None
) -> VerifiedProvenance:
    """Verifies every byte of a bundle; raises VerificationError naming the first thing that does not hold.

    Without `trusted`, keys are taken from the bundle itself: the result proves integrity and authorship by that
    key, and the caller should compare the key id with one obtained independently. With `trusted` (a pinned
    consortium file or roster), the author's key must be the pinned one, and the stewards and the decision
    window are the pinned ones.

    The status is derived from the verified items by the rules every node applies (docs/due-process.md):
    retracted by the contributor, overturned by an effective decision, else active. With a `policy` (a node's
    `[policy]` table) it may also be withheld, as on a node with that policy.
    """
    header, record = _verify_record(bundle, trusted)
    events = [_verify_related(bundle, related, trusted) for related in bundle.related]
    author = trusted_author(bundle.author, trusted)
    standing = _standing(bundle, header, record, author, trusted, policy)
    events = [replace(e, ruling=standing.rulings.get(e.entry_id, "")) for e in events]
    notes = [*standing.notes] if author.status == "active" else [*standing.notes, status_note(author)]
    return VerifiedProvenance(
        record_id=bundle.record_id,
        record=record,
        header=header,
        entry_id=hashlib.sha256(bundle.entry_header).digest(),
        author=bundle.author,
        history=tuple(sorted(events, key=lambda e: (e.timestamp_ms, e.entry_id))),
        status=standing.status,
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class _Standing:
    status: str
    notes: tuple[str, ...]
    rulings: dict[bytes, str]  # decision entry id → its ruling


def _authority(bundle: ProvenanceBundle, contributor: str, trusted: Membership | None) -> DecisionAuthority:
    """Stewards and window from the pinned membership; without one, from the bundle's claims."""
    if trusted is not None:
        return DecisionAuthority(contributor, trusted.stewards(), trusted.decision_window_ms)
    claimed = {m.member_id for m in bundle.stewards if "steward" in m.roles}
    claimed |= {r.author.member_id for r in bundle.related if "steward" in r.author.roles}
    window = DEFAULT_DECISION_WINDOW_MS if bundle.decision_window_ms is None else bundle.decision_window_ms
    return DecisionAuthority(contributor, frozenset(claimed), window)


def _standing(
    bundle: ProvenanceBundle,
    header: EntryHeader,
    record: HashRecord,
    author: Member,
    trusted: Membership | None,
    policy: PolicyConfig | None,
) -> _Standing:
    """The record's status derived from the verified related entries (the same code the nodes run)."""
    history = RecordHistory.from_entries(bundle.record_id, (r.entry for r in bundle.related))
    authority = _authority(bundle, header.author, trusted)
    facts = RecordFacts(bundle.record_id, header.author, author.roles, record.labels)
    verdict = derive_verdict(facts, history, authority, policy or PolicyConfig())
    appeals = history.resolve(authority)
    rulings = {
        ruled.decision.entry_id: ruled.ruling.value + (f": {ruled.why}" if ruled.why else "")
        for resolution in appeals.resolutions
        for ruled in resolution.decisions
    }
    rulings.update({d.entry_id: "pending: its appeal is not in this bundle" for d in appeals.orphans})
    return _Standing(verdict.standing.value, verdict.notes, rulings)


def _register_extensions() -> None:
    """Due-process kinds (opinion, appeal, decision) register their describers here, after this module exists."""
    from node import dueprocess

    dueprocess.register(DESCRIBERS, STATUS_BY_KIND)


_register_extensions()
