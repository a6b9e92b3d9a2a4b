"""Peer service messages (protos/hashnode/v1/peer.proto) to and from the replication domain types.

Both ends use this module: the Peer servicer (what this node serves) and the replicator (what it asks of its
peers). Whatever comes off the wire is validated here into domain types; nothing past this module touches
generated code. Entries keep the bytes received (`Entry.parse`), so that a relayed copy verifies end to end.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from node.api.convert import entry_from_proto, entry_to_proto
from node.api.gen.hashnode.v1 import peer_pb2
from node.core.entry import DecodeFailure, Entry, MalformedEntry
from node.core.errors import InvalidArgument, VerificationError
from node.membership.members import check_member_id
from node.replication.evidence import ForkEvidence, InvalidEvidence
from node.replication.frontier import ID_SIZE, AuthorHead, AuthorRange, Frontier

MAX_RANGES = 1024  # per FetchRequest; what does not fit is asked for in the next request
MAX_EVIDENCE_IDS = 1024
MAX_HEADS = 100_000  # far above any consortium's member count; a frontier is one head per author


@dataclass(frozen=True)
class PeerFrontier:
    """A peer's `Frontier` message, checked: its heads, evidence ids, consortium and member."""

    frontier: Frontier
    evidence_ids: tuple[bytes, ...]
    consortium_id: str
    member_id: str
    roster_version: int = 0  # the newest roster version the peer trusts (0: it did not say)


@dataclass(frozen=True)
class Undecodable:
    """An entry or evidence record of a batch that does not parse: why (counted) and what (logged)."""

    reason: DecodeFailure
    message: str


@dataclass
class ReceivedBatch:
    """An `EntryBatch` as decoded. Entries that do not parse are left out and described in `undecodable`."""

    entries: list[Entry] = field(default_factory=list)
    evidence: list[ForkEvidence] = field(default_factory=list)
    undecodable: list[Undecodable] = field(default_factory=list)


# --- frontier -----------------------------------------------------------------------------------------------


def frontier_to_proto(
    frontier: Frontier,
    evidence_ids: Iterable[bytes],
    *,
    consortium_id: str,
    member_id: str,
    roster_version: int = 0,
) -> peer_pb2.Frontier:
    return peer_pb2.Frontier(
        heads=[peer_pb2.AuthorHead(author=h.author, seq=h.seq, entry_id=h.entry_id) for h in frontier],
        consortium_id=consortium_id,
        member_id=member_id,
        evidence_ids=sorted(evidence_ids),
        roster_version=roster_version,
    )


def frontier_from_proto(msg: peer_pb2.Frontier, field_name: str = "frontier") -> PeerFrontier:
    """Raises InvalidArgument naming the first bad field."""
    if len(msg.heads) > MAX_HEADS:
        raise InvalidArgument(f"{field_name}.heads", f"{len(msg.heads)} heads", f"at most {MAX_HEADS}")
    if len(msg.evidence_ids) > MAX_HEADS:
        raise InvalidArgument(
            f"{field_name}.evidence_ids", f"{len(msg.evidence_ids)} ids", f"at most {MAX_HEADS}"
        )
    heads = [_head(h, f"{field_name}.heads[{i}]") for i, h in enumerate(msg.heads)]
    evidence_ids = tuple(
        _id(bytes(i), f"{field_name}.evidence_ids[{n}]") for n, i in enumerate(msg.evidence_ids)
    )
    return PeerFrontier(Frontier.of(heads), evidence_ids, msg.consortium_id, msg.member_id, msg.roster_version)


def _head(msg: peer_pb2.AuthorHead, field_name: str) -> AuthorHead:
    check_member_id(msg.author, f"{field_name}.author")
    if msg.seq < 1:
        raise InvalidArgument(f"{field_name}.seq", msg.seq, ">= 1")
    return AuthorHead(msg.author, msg.seq, _id(bytes(msg.entry_id), f"{field_name}.entry_id"))


def _id(value: bytes, field_name: str) -> bytes:
    if len(value) != ID_SIZE:
        raise InvalidArgument(field_name, f"{len(value)} bytes", f"{ID_SIZE} bytes")
    return value


# --- fetch requests -----------------------------------------------------------------------------------------


def fetch_request(
    ranges: Sequence[AuthorRange], evidence_ids: Sequence[bytes] = (), *, max_batch_bytes: int = 0
) -> peer_pb2.FetchRequest:
    """A request for at most MAX_RANGES ranges and MAX_EVIDENCE_IDS evidence ids: the first ones given."""
    return peer_pb2.FetchRequest(
        ranges=[
            peer_pb2.AuthorRange(author=r.author, from_seq=r.from_seq, to_seq=r.to_seq)
            for r in ranges[:MAX_RANGES]
        ],
        evidence_ids=list(evidence_ids[:MAX_EVIDENCE_IDS]),
        max_batch_bytes=max_batch_bytes,
    )


def fetch_from_proto(msg: peer_pb2.FetchRequest) -> tuple[list[AuthorRange], list[bytes]]:
    """The ranges and evidence ids of a request. Raises InvalidArgument naming the first bad field."""
    if len(msg.ranges) > MAX_RANGES:
        raise InvalidArgument("ranges", f"{len(msg.ranges)} ranges", f"at most {MAX_RANGES}")
    if len(msg.evidence_ids) > MAX_EVIDENCE_IDS:
        raise InvalidArgument("evidence_ids", f"{len(msg.evidence_ids)} ids", f"at most {MAX_EVIDENCE_IDS}")
    ranges = [_range(wanted, f"ranges[{i}]") for i, wanted in enumerate(msg.ranges)]
    evidence_ids = [_id(bytes(v), f"evidence_ids[{i}]") for i, v in enumerate(msg.evidence_ids)]
    return ranges, evidence_ids


def _range(msg: peer_pb2.AuthorRange, field_name: str) -> AuthorRange:
    check_member_id(msg.author, f"{field_name}.author")
    if msg.from_seq < 1:
        raise InvalidArgument(f"{field_name}.from_seq", msg.from_seq, ">= 1")
    if msg.to_seq != 0 and msg.to_seq < msg.from_seq:
        raise InvalidArgument(f"{field_name}.to_seq", msg.to_seq, f"0 or >= from_seq ({msg.from_seq})")
    return AuthorRange(msg.author, msg.from_seq, msg.to_seq)


# --- entries and evidence -----------------------------------------------------------------------------------


def evidence_to_proto(evidence: ForkEvidence) -> peer_pb2.ForkEvidence:
    return peer_pb2.ForkEvidence(lower=entry_to_proto(evidence.lower), upper=entry_to_proto(evidence.upper))


def evidence_from_proto(msg: peer_pb2.ForkEvidence, field_name: str) -> ForkEvidence:
    """Parses both entries and checks the pair is shaped like a fork (the replica checks signatures)."""
    lower = entry_from_proto(msg.lower, f"{field_name}.lower")
    upper = entry_from_proto(msg.upper, f"{field_name}.upper")
    try:
        return ForkEvidence(lower, upper)
    except InvalidEvidence as exc:
        raise VerificationError(f"{field_name}: {exc.message}") from None


def batch_to_proto(entries: Sequence[Entry], evidence: Sequence[ForkEvidence] = ()) -> peer_pb2.EntryBatch:
    return peer_pb2.EntryBatch(
        entries=[entry_to_proto(e) for e in entries], evidence=[evidence_to_proto(e) for e in evidence]
    )


def batch_from_proto(msg: peer_pb2.EntryBatch) -> ReceivedBatch:
    """Decodes each entry and evidence record on its own: one bad entry does not cost the whole batch."""
    batch = ReceivedBatch()
    for i, signed in enumerate(msg.entries):
        try:
            batch.entries.append(entry_from_proto(signed, f"entries[{i}]"))
        except VerificationError as exc:
            batch.undecodable.append(Undecodable(_reason(exc, DecodeFailure.HEADER), exc.message))
    for i, record in enumerate(msg.evidence):
        try:
            batch.evidence.append(evidence_from_proto(record, f"evidence[{i}]"))
        except VerificationError as exc:
            batch.undecodable.append(Undecodable(DecodeFailure.EVIDENCE, exc.message))
    return batch


def _reason(exc: VerificationError, default: DecodeFailure) -> DecodeFailure:
    return exc.reason if isinstance(exc, MalformedEntry) else default
