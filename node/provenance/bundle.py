"""Provenance bundles: why a hash is in the database, verifiable offline by anyone (docs/protocol.md §9).

A bundle carries the record's canonical bytes, the signed header of the entry holding it, an inclusion proof from
the record to the header's body root, every related signed entry (retractions, opinions, appeals, decisions),
and the assembling node's signed statement of the history it held. `verify_bundle` re-derives everything from
those bytes, in the order of §9; each refusal names the rule it applies (`node.provenance.rules`). Nothing in a
bundle is trusted because the node that assembled it says so: member entries, the record view, related kinds and
summaries are conveniences, never compared, and what a verifier shows it derives itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from node.core import merkle
from node.core.entry import MAX_ITEMS, ZERO_ID, Entry, EntryHeader, EntryKind, check_items, max_item_bytes
from node.core.errors import EncodingError, VerificationError
from node.core.keys import PublicKey, SigningKey
from node.core.records import HashRecord, decode_item, record_id
from node.core.retraction import RetractionItem
from node.dueprocess.deadlines import DecisionAuthority
from node.dueprocess.history import RecordHistory, derive_verdict
from node.dueprocess.items import DecisionItem, VerifiedItem
from node.dueprocess.policy import PolicyConfig, RecordFacts
from node.membership import authorship
from node.membership.consortium_policy import ConsortiumPolicy
from node.membership.members import DEFAULT_DECISION_WINDOW_MS, Member, Membership
from node.provenance.assembly import Assembly, Head
from node.provenance.rules import Rejected

FORMAT_VERSION = 1


@dataclass(frozen=True)
class RelatedEntry:
    """A signed entry about the record, as carried: the bytes, plus conveniences nobody has to believe."""

    header: bytes
    signature: bytes
    items: tuple[bytes, ...]
    author: Member | None = None  # the author's member entry: where an unanchored verifier finds the key
    kind: str = ""  # what the assembler says it is; verifiers derive it from the header
    summary: str = ""  # the assembler's wording; verifiers derive their own

    @classmethod
    def of(cls, entry: Entry, author: Member | None, kind: str = "", summary: str = "") -> RelatedEntry:
        return cls(entry.header_bytes, entry.signature, entry.items, author, kind, summary)

    @property
    def entry_id(self) -> bytes:
        return hashlib.sha256(self.header).digest()


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
    author: Member | None
    related: tuple[RelatedEntry, ...]
    generated_at_ms: int = 0  # convenience copies of the signed assembly's time and assembler
    generated_by: str = ""
    # Conveniences for people (organisations, contacts); what counts is the anchor's, or the signed assembly's.
    stewards: tuple[Member, ...] = ()
    decision_window_ms: int | None = None
    assembly: bytes = b""  # canonical `Assembly` bytes (node.provenance.assembly)
    assembly_signature: bytes = b""
    assembler: Member | None = None


@dataclass(frozen=True)
class VerifiedEvent:
    """One verified entry of the record's history."""

    kind: str
    author: str
    timestamp_ms: int
    entry_id: bytes
    summary: str
    ruling: str = ""  # decisions only: effective, superseded, refused or pending, and why (deadlines.resolve)
    ruling_rule: str = ""  # refused or pending: the rule of §9.7 (deadlines.DECISION_RULES) that says so


@dataclass(frozen=True)
class VerifiedProvenance:
    record_id: bytes
    record: HashRecord
    header: EntryHeader
    entry_id: bytes
    author: Member  # from the anchor when there is one, else the bundle's claim
    history: tuple[VerifiedEvent, ...]
    status: str  # active, withheld (only under a verifier's own policy), retracted, overturned
    notes: tuple[str, ...]
    assembly: Assembly
    assembler: Member
    pinned: bool = False
    stewards: frozenset[str] = field(default_factory=frozenset)
    decision_window_ms: int = DEFAULT_DECISION_WINDOW_MS


# --- the kinds a bundle knows ----------------------------------------------------------------------------------

# Entry kinds whose items are records (§9.3 step 3): kind → the one decoder of its items. A new record encoding
# (a new signal type, or a new contribution kind) is registered here and nowhere else.
RECORD_KINDS: dict[int, Callable[[bytes], HashRecord]] = {EntryKind.CONTRIBUTION: decode_item}

# Entry kinds that concern records (§9.5 step 8): kind → (item → (record id it concerns, one-line summary)).
# Extensions register their kinds (node.dueprocess.register); every other kind is refused as related.
ItemDescriber = Callable[[bytes], tuple[bytes, str]]


def _describe_retraction(item: bytes) -> tuple[bytes, str]:
    decoded = RetractionItem.decode(item)
    return decoded.record_id, f"retracted by its contributor: {decoded.reason or 'no reason given'}"


DESCRIBERS: dict[int, ItemDescriber] = {EntryKind.RETRACTION: _describe_retraction}

# Which status a verified related kind puts the record in, when its author may decide that.
STATUS_BY_KIND: dict[int, str] = {EntryKind.RETRACTION: "retracted"}


def kind_label(kind: int) -> str:
    """`retraction`, `decision`… for a known kind; `kind 6` for any other (never an exception)."""
    try:
        return EntryKind(kind).label
    except ValueError:
        return f"kind {kind}"


def describe(entry: Entry, rid: bytes) -> str:
    """Summary of what `entry` says about record `rid` (its first item about it)."""
    describer = DESCRIBERS.get(entry.kind)
    if describer is None:
        return f"entry of {kind_label(entry.kind)}"
    for item in entry.items:
        about, summary = describer(item)
        if about == rid:
            return summary
    raise VerificationError(f"related entry {entry.entry_id.hex()} does not concern record {rid.hex()}")


def attest(
    bundle: ProvenanceBundle,
    key: SigningKey,
    *,
    assembler: Member | str,
    assembled_at_ms: int,
    heads: Iterable[Head],
    roster_version: int = 0,
    policy: ConsortiumPolicy | None = None,
    stewards: Iterable[str] = (),
) -> ProvenanceBundle:
    """`bundle` with the assembler's signed statement (§9.6) over its record, its related entries and `heads`.

    `assembler` is the assembling member's entry (carried for verifiers without an anchor), or only its id.
    """
    member = assembler if isinstance(assembler, Member) else None
    statement = Assembly.create(
        consortium_id=bundle.consortium_id,
        assembler=assembler.member_id if isinstance(assembler, Member) else assembler,
        key_id=key.public.key_id,
        assembled_at_ms=assembled_at_ms,
        record_id=bundle.record_id,
        roster_version=roster_version,
        policy=policy or ConsortiumPolicy(),
        stewards=stewards,
        heads=heads,
        related=(r.entry_id for r in bundle.related),
    ).encode()
    return replace(
        bundle,
        generated_at_ms=assembled_at_ms,
        generated_by=assembler.member_id if isinstance(assembler, Member) else assembler,
        assembly=statement,
        assembly_signature=key.sign(statement),
        assembler=member,
    )


# --- keys (§9.4) ---------------------------------------------------------------------------------------------


def signing_key(
    what: str,
    signer: str,
    key_id: bytes,
    timestamp_ms: int,
    claimed: Member | None,
    trusted: Membership | None,
    kind: int | None = None,
) -> PublicKey:
    """The key `signer` signed `what` with: from the anchor when there is one, else from its member entry in
    the bundle (which must name the signer). With an anchor and an entry `kind`, the signer's roles must let it
    author that kind (the table receipt rule R5 applies, node.membership.authorship). Raises Rejected with a
    `key.*` rule."""
    if trusted is not None:
        source = trusted.get(signer)
        if source is None:
            raise Rejected("key.member", f"{what}: {signer!r} is not a member of the anchor's consortium")
        where = "anchor"
    else:
        if claimed is None or claimed.member_id != signer:
            shown = "none" if claimed is None else repr(claimed.member_id)
            raise Rejected("key.member", f"{what}: signed by {signer!r}, and the bundle's member entry is {shown}")
        source, where = claimed, "bundle's member entry"
    key = source.key(key_id)
    if key is None:
        raise Rejected("key.unknown", f"{what}: key {key_id.hex()[:16]}… of {signer!r} is not in the {where}")
    if not key.valid_at(timestamp_ms):
        raise Rejected("key.not_valid", f"{what}: key {key_id.hex()[:16]}… of {signer!r} was not valid at "
                       f"{timestamp_ms} (valid {key.valid_from_ms}..{key.valid_until_ms or 'no end'})")
    if source.revoked_after_ms and timestamp_ms > source.revoked_after_ms:
        raise Rejected("key.revoked", f"{what}: {signer!r} signed at {timestamp_ms}, after its revocation cutoff "
                       f"{source.revoked_after_ms}")
    if trusted is not None and kind is not None and (why := authorship.refusal(source, kind)) is not None:
        raise Rejected("key.role", f"{what}: {why}")
    return key.public_key


def _check_signature(rule: str, what: str, key: PublicKey, signature: bytes, message: bytes) -> None:
    try:
        key.verify(signature, message)
    except VerificationError as exc:
        raise Rejected(rule, f"{what}: {exc.message}") from None


# --- the record (§9.3) ---------------------------------------------------------------------------------------


def _verify_record(bundle: ProvenanceBundle, trusted: Membership | None) -> tuple[EntryHeader, HashRecord]:
    try:
        header = EntryHeader.decode(bundle.entry_header)
    except EncodingError as exc:
        raise Rejected("record.header", exc.message) from None
    _check_record_shape(header, bundle.record_item)
    if header.kind not in RECORD_KINDS:
        raise Rejected("record.kind", f"entry_header: kind {header.kind} ({kind_label(header.kind)}) holds no records")
    anchor_id = bundle.consortium_id if trusted is None else trusted.consortium_id
    if header.consortium_id != bundle.consortium_id or header.consortium_id != anchor_id:
        raise Rejected("record.consortium", f"entry is of consortium {header.consortium_id!r}; the bundle says "
                       f"{bundle.consortium_id!r}" + ("" if trusted is None else f", the anchor {anchor_id!r}"))
    key = signing_key(
        "entry_header", header.author, header.key_id, header.timestamp_ms, bundle.author, trusted, header.kind
    )
    _check_signature("record.signature", "entry_signature", key, bundle.entry_signature, bundle.entry_header)
    if bundle.leaf_count != header.item_count:
        raise Rejected("record.leaf_count", f"leaf_count: got {bundle.leaf_count}, the header signs "
                       f"{header.item_count}")
    try:
        root = merkle.root_from_proof(
            bundle.record_item, bundle.leaf_index, bundle.leaf_count, bundle.inclusion_proof
        )
    except VerificationError as exc:
        raise Rejected("record.proof", f"inclusion_proof: {exc.message}") from None
    if root != header.body_root:
        raise Rejected("record.proof", "inclusion proof does not lead to the signed body root: record bytes changed")
    entry_id = hashlib.sha256(bundle.entry_header).digest()
    if record_id(entry_id, bundle.leaf_index) != bundle.record_id:
        raise Rejected("record.id", "record_id does not derive from the entry id and leaf_index")
    try:
        record = RECORD_KINDS[header.kind](bundle.record_item)
    except EncodingError as exc:
        raise Rejected("record.item", exc.message) from None
    return header, record


def _check_record_shape(header: EntryHeader, record_item: bytes) -> None:
    """§9.3 step 2: the structure of "Verifying an entry" steps 2-3 that a header and one item can show, so that a
    bundle verifies only for an entry a node could hold (the other items are not in the bundle)."""
    problem = ""
    if header.seq < 1:
        problem = "entry_header: seq must be >= 1"
    elif (header.seq == 1) != (header.prev == ZERO_ID):
        problem = "entry_header: prev must be all zeros exactly when seq is 1"
    elif not 1 <= header.item_count <= MAX_ITEMS:
        problem = f"entry_header: item_count: got {header.item_count}, want 1..{MAX_ITEMS}"
    elif len(record_item) > max_item_bytes(header.kind):
        problem = f"record_item: got {len(record_item)} bytes, want at most {max_item_bytes(header.kind)}"
    if problem:
        raise Rejected("record.shape", problem)


# --- the assembly (§9.6) -------------------------------------------------------------------------------------


def _verify_assembly(bundle: ProvenanceBundle, trusted: Membership | None) -> Assembly:
    try:
        assembly = Assembly.decode(bundle.assembly)
    except EncodingError as exc:
        raise Rejected("assembly.malformed", exc.message if bundle.assembly else "assembly: missing") from None
    if assembly.consortium_id != bundle.consortium_id:
        raise Rejected("assembly.consortium", f"assembly is of consortium {assembly.consortium_id!r}")
    if assembly.record_id != bundle.record_id:
        raise Rejected("assembly.record", f"assembly is about record {assembly.record_id.hex()}")
    key = signing_key(
        "assembly", assembly.assembler, assembly.key_id, assembly.assembled_at_ms, bundle.assembler, trusted
    )
    _check_signature("assembly.signature", "assembly_signature", key, bundle.assembly_signature, bundle.assembly)
    return assembly


def _check_frontier(what: str, assembly: Assembly, header: EntryHeader, entry_id: bytes) -> None:
    head = assembly.head(header.author)
    if head is None or header.seq > head.seq or (header.seq == head.seq and entry_id != head.entry_id):
        held = "nothing" if head is None else f"seq {head.seq}"
        raise Rejected("assembly.frontier", f"{what}: seq {header.seq} of {header.author!r} lies beyond the "
                       f"assembler's signed frontier ({held} of that author)")


def _check_complete(bundle: ProvenanceBundle, assembly: Assembly) -> None:
    carried = {related.entry_id for related in bundle.related}
    listed = set(assembly.related)
    missing = sorted(listed - carried)
    if missing:
        raise Rejected("assembly.omitted", f"entry {missing[0].hex()} about the record, held by the assembler, "
                       "is missing from the bundle")
    extra = [i for i, related in enumerate(bundle.related) if related.entry_id not in listed]
    if extra:
        raise Rejected("assembly.unlisted", f"related[{extra[0]}]: entry {bundle.related[extra[0]].entry_id.hex()} "
                       "is not in the assembler's signed list")


# --- related entries (§9.5) ----------------------------------------------------------------------------------


def _verify_related(
    bundle: ProvenanceBundle, i: int, related: RelatedEntry, trusted: Membership | None
) -> tuple[Entry, VerifiedEvent]:
    where = f"related[{i}]"
    try:
        header = EntryHeader.decode(related.header)
    except EncodingError as exc:
        raise Rejected("related.header", f"{where}: {exc.message}") from None
    _check_shape(where, header, related.items)
    if merkle.root(related.items) != header.body_root:
        raise Rejected("related.body_root", f"{where}: items do not match the signed body root")
    if header.consortium_id != bundle.consortium_id:
        raise Rejected("related.consortium", f"{where}: entry is of consortium {header.consortium_id!r}")
    key = signing_key(where, header.author, header.key_id, header.timestamp_ms, related.author, trusted, header.kind)
    _check_signature("related.signature", f"{where}.entry.signature", key, related.signature, related.header)
    describer = DESCRIBERS.get(header.kind)
    if describer is None:
        raise Rejected("related.kind", f"{where}: kind {header.kind} ({kind_label(header.kind)}) is not a kind that "
                       "concerns records")
    summaries = []
    for j, item in enumerate(related.items):
        try:
            about, summary = describer(item)
        except EncodingError as exc:
            raise Rejected("related.item", f"{where}.entry.items[{j}]: {exc.message}") from None
        if about == bundle.record_id:
            summaries.append(summary)
    if not summaries:
        raise Rejected("related.unrelated", f"{where}: no item concerns record {bundle.record_id.hex()}")
    entry = Entry(related.header, related.signature, related.items, header)
    event = VerifiedEvent(kind_label(header.kind), header.author, header.timestamp_ms, entry.entry_id, summaries[0])
    return entry, event


def _check_shape(where: str, header: EntryHeader, items: Sequence[bytes]) -> None:
    """§5 and "Verifying an entry" step 2-3: the structure every entry has."""
    problem = ""
    if header.seq < 1:
        problem = "seq must be >= 1"
    elif (header.seq == 1) != (header.prev == ZERO_ID):
        problem = "prev must be all zeros exactly when seq is 1"
    elif header.item_count != len(items):
        problem = f"header counts {header.item_count} items, got {len(items)}"
    else:
        try:
            check_items(header.kind, items)
        except EncodingError as exc:
            problem = exc.message.removeprefix("entry: ")
    if problem:
        raise Rejected("related.shape", f"{where}: {problem}")


# --- the whole bundle ----------------------------------------------------------------------------------------


def verify_bundle(
    bundle: ProvenanceBundle, *, trusted: Membership | None = None, policy: PolicyConfig | None = None
) -> VerifiedProvenance:
    """Verifies every byte of a bundle in the order of docs/protocol.md §9; raises `Rejected` naming the rule
    of the first check that fails.

    Without `trusted`, keys come from the bundle's member entries and the stewards and decision window from
    the signed assembly: the result proves integrity and authorship by those keys, and the caller should
    compare the key ids with ones obtained independently. With `trusted` (a consortium file or roster), every
    key must be the anchor's, and the stewards and window are the anchor's.

    The status is derived from the verified entries by the rules every node applies (§9.7): retracted by the
    contributor, overturned by an effective decision, else active. With a `policy` (a node's `[policy]` table)
    it may also be withheld, as on a node with that policy.

    Raises:
        Rejected: the bundle breaks the rule it names.
    """
    header, record = _verify_record(bundle, trusted)
    entry_id = hashlib.sha256(bundle.entry_header).digest()
    assembly = _verify_assembly(bundle, trusted)
    seen: set[bytes] = set()
    verified: list[tuple[Entry, VerifiedEvent]] = []
    for i, related in enumerate(bundle.related):
        if related.entry_id in seen:
            raise Rejected("related.duplicate", f"related[{i}]: entry {related.entry_id.hex()} appears twice")
        seen.add(related.entry_id)
        verified.append(_verify_related(bundle, i, related, trusted))
    _check_frontier("entry_header", assembly, header, entry_id)
    for i, (entry, _) in enumerate(verified):
        _check_frontier(f"related[{i}]", assembly, entry.header, entry.entry_id)
    _check_complete(bundle, assembly)
    return _outcome(bundle, header, record, entry_id, assembly, verified, trusted, policy)


def _outcome(
    bundle: ProvenanceBundle,
    header: EntryHeader,
    record: HashRecord,
    entry_id: bytes,
    assembly: Assembly,
    verified: list[tuple[Entry, VerifiedEvent]],
    trusted: Membership | None,
    policy: PolicyConfig | None,
) -> VerifiedProvenance:
    author = _shown_member(header.author, bundle.author, trusted)
    authority = _authority(bundle, header.author, assembly, trusted)
    standing = _standing(bundle.record_id, header, record, author, [e for e, _ in verified], authority, policy)
    events = [
        replace(e, ruling=ruling, ruling_rule=rule)
        for _, e in verified
        for ruling, rule in [standing.rulings.get(e.entry_id, ("", ""))]
    ]
    notes = [*standing.notes] if author.status == "active" else [*standing.notes, status_note(author)]
    return VerifiedProvenance(
        record_id=bundle.record_id,
        record=record,
        header=header,
        entry_id=entry_id,
        author=author,
        history=tuple(sorted(events, key=lambda e: (e.timestamp_ms, e.entry_id))),
        status=standing.status,
        notes=tuple(notes),
        assembly=assembly,
        assembler=_shown_member(assembly.assembler, bundle.assembler, trusted),
        pinned=trusted is not None,
        stewards=authority.stewards,
        decision_window_ms=authority.window_ms,
    )


def _shown_member(member_id: str, claimed: Member | None, trusted: Membership | None) -> Member:
    """Who a verified signer is: the anchor's entry, else the bundle's claim (which names the signer: checked)."""
    pinned = None if trusted is None else trusted.get(member_id)
    return pinned or claimed or Member(member_id, member_id, ())


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


@dataclass(frozen=True)
class _Standing:
    status: str
    notes: tuple[str, ...]
    rulings: dict[bytes, tuple[str, str]]  # decision entry id → its ruling, and the rule when not counted


def _authority(
    bundle: ProvenanceBundle, contributor: str, assembly: Assembly, trusted: Membership | None
) -> DecisionAuthority:
    """Who decides, and the consortium's due-process policy: from the anchor; without one, from the assembler's
    signed statement (stewards, policy), the stewards' keys and the trusted flaggers from the bundle's member
    entries (claims, like every key of an unanchored bundle)."""
    if trusted is not None:
        pinned = trusted.policy
        return DecisionAuthority(
            contributor,
            trusted.stewards(),
            pinned.decision_window_ms,
            pinned.steward_quorum,
            assembly.consortium_id,
            trusted.steward_keys(),
            pinned.dispute_quorum,
            pinned.trusted_flagger_disputes,
            frozenset(m.member_id for m in trusted if "trusted_flagger" in m.roles),
            pinned.quarantine,
        )
    stewards = frozenset(assembly.stewards)
    # Every member entry of the bundle, each one a claim: a steward's keys are all those its entries list (each
    # with that entry's windows and cutoff), and a member is a trusted flagger when any of its entries says so.
    members = [m for m in (bundle.author, bundle.assembler, *bundle.stewards, *(r.author for r in bundle.related))
               if m is not None]
    keys = {(m.member_id, key) for m in members if m.member_id in stewards for key in m.signing_keys()}
    flaggers = frozenset(m.member_id for m in members if "trusted_flagger" in m.roles)
    policy = assembly.policy
    return DecisionAuthority(
        contributor,
        stewards,
        policy.decision_window_ms,
        policy.steward_quorum,
        assembly.consortium_id,
        tuple(sorted(keys, key=lambda k: (k[0], k[1].public_key.key_id))),
        policy.dispute_quorum,
        policy.trusted_flagger_disputes,
        flaggers,
        policy.quarantine,
    )


def _standing(
    rid: bytes,
    header: EntryHeader,
    record: HashRecord,
    author: Member,
    entries: list[Entry],
    authority: DecisionAuthority,
    policy: PolicyConfig | None,
) -> _Standing:
    """The record's status derived from the verified related entries (the same code the nodes run, §9.7)."""
    history = RecordHistory.from_entries(rid, entries)
    facts = RecordFacts(rid, header.author, author.roles, record.labels)
    verdict = derive_verdict(facts, history, authority, policy or PolicyConfig())
    return _Standing(verdict.standing.value, verdict.notes, _rulings(history, authority))


def _rulings(history: RecordHistory, authority: DecisionAuthority) -> dict[bytes, tuple[str, str]]:
    """Each decision entry's ruling and, when it does not count, its rule (deadlines.DECISION_RULES): the ruling
    of its first decision item about the record, in item order (§9.7). Derived whatever the status: a retracted
    record's decisions are shown with theirs too."""
    by_item: dict[VerifiedItem[DecisionItem], tuple[str, str]] = {}
    for resolution in history.resolve(authority).resolutions:
        for ruled in resolution.decisions:
            why = f": {ruled.why}" if ruled.why else ""
            # An item listed twice in one entry: the first in item order is also first here (a stable order).
            by_item.setdefault(ruled.decision, (ruled.ruling.value + why, ruled.rule))
    pending = ("pending: it names no appeal or dispute case of the record in this bundle", "decision.no_case")
    rulings: dict[bytes, tuple[str, str]] = {}
    for decision in history.decisions:  # entries in bundle order, each entry's items in item order
        if decision.entry_id not in rulings:
            rulings[decision.entry_id] = by_item.get(decision, pending)
    return rulings


def _register_extensions() -> None:
    """Due-process kinds (opinion, appeal, decision) register their describers here, after this module exists."""
    from node import dueprocess

    dueprocess.register(DESCRIBERS, STATUS_BY_KIND)


_register_extensions()
