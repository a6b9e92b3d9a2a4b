"""Fuzzing every decoder and every RPC: random and mutated input must be refused cleanly, never crash.

Decoders (`DECODERS`): whatever bytes come in, a decoder returns a value or raises a `HashnodeError` (a
protobuf `DecodeError` too, where the input is a protobuf container); any other exception is a crash. A value
it returns must re-encode to exactly the bytes given (one encoding per value, docs/protocol.md).

RPCs (`rpc_targets`): every method of the HashNode, Peer, Membership and Admin services of a real node on
127.0.0.1, called with mutated valid requests, random messages built from the descriptors, and random bytes.
The answer is never INTERNAL or UNKNOWN, and a call that fails leaves the store as it was (counters and state
digest unchanged): no partial write.

Inputs come from a seeded `random.Random`, so a run is reproducible; the hypothesis tests in
tests/test_fuzz_*.py draw their own. Mutations: bit flips, byte changes, insertions, deletions, truncation,
duplicated and spliced slices, and random bytes.
"""

from __future__ import annotations

import hashlib
import random
import string
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import descriptor as pb_descriptor  # type: ignore[import-untyped]
from google.protobuf.message import DecodeError, Message  # type: ignore[import-untyped]

from node.api import convert
from node.api.gen.hashnode.v1 import (
    admin_pb2,
    client_pb2,
    membership_pb2,
    peer_pb2,
    types_pb2,
)
from node.api.peer_wire import batch_from_proto, fetch_from_proto, frontier_from_proto
from node.core.entry import ZERO_ID, Entry, EntryHeader, EntryKind, sign_entry
from node.core.errors import HashnodeError
from node.core.keys import SigningKey
from node.core.records import HashRecord, record_id
from node.core.retraction import RetractionItem
from node.dueprocess.items import AppealItem, DecidedAs, DecisionItem, OpinionItem, Outcome, Stance
from node.dueprocess.ruling import Ruling, SignedRuling
from node.dueprocess.statement import DecisionRequest
from node.ledger.ledger import Query
from node.ledger.statements import IssueRequest
from node.membership.certificates import pem_to_der
from node.membership.join import JoinRequest, SignedJoinRequest, create_join_request
from node.membership.members import Membership
from node.membership.roster import Roster, SignedRoster
from node.provenance import bundle_file
from node.provenance.bundle import verify_bundle
from node.storage.statements import StatementBook
from testkit.consortium import EXAMPLE_KEYS, EXAMPLE_ROSTER

LABEL = "tvec.propaganda"
T0 = 1_767_225_600_000  # 2026-01-01, inside the example keys' validity


class FuzzFailure(AssertionError):
    """An input that crashed a decoder, was accepted in a non-canonical form, or made an RPC fail badly."""


# --- mutation -----------------------------------------------------------------------------------------------


def flip_bit(data: bytes, bit: int) -> bytes:
    buffer = bytearray(data)
    buffer[bit // 8] ^= 1 << (bit % 8)
    return bytes(buffer)


def random_bytes(rng: random.Random, most: int = 64) -> bytes:
    return rng.randbytes(rng.randint(0, most))


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to three random edits of `data`."""
    for _ in range(rng.randint(1, 3)):
        data = _edit(data, rng)
    return data


def _edit(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return random_bytes(rng, 16)
    at = rng.randrange(len(data))
    choice = rng.randrange(8)
    if choice == 0:
        return flip_bit(data, rng.randrange(len(data) * 8))
    if choice == 1:  # a byte set to an interesting value
        value = rng.choice((0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)))
        return data[:at] + bytes([value]) + data[at + 1 :]
    if choice == 2:
        return data[:at] + random_bytes(rng, 8) + data[at:]
    if choice == 3:
        return data[:at] + data[at + rng.randint(1, 16) :]
    if choice == 4:
        return data[:at]
    if choice == 5:
        end = min(len(data), at + rng.randint(1, 32))
        return data[:end] + data[at:end] + data[end:]
    if choice == 6:  # a length prefix made huge
        return data[:at] + b"\xff\xff\xff\xff" + data[at + 4 :]
    return data + random_bytes(rng, 8)


# --- example data -------------------------------------------------------------------------------------------


def member_key(member: str) -> SigningKey:
    return SigningKey.load(EXAMPLE_KEYS / f"{member}.key")


def trusted_membership() -> Membership:
    return SignedRoster.load(EXAMPLE_ROSTER).roster.membership()


def consortium_id() -> str:
    return trusted_membership().consortium_id


def sample_records(tag: str, count: int = 3) -> list[HashRecord]:
    records = []
    for i in range(count):
        digest = hashlib.sha256(f"{tag} {i}".encode()).digest()
        if i % 2:
            records.append(HashRecord("md5", digest[:16], 0, (LABEL,), ("case:1",), "ref", "source"))
        else:
            records.append(HashRecord("pdq", digest, 90, (LABEL,)))
    return records


def sample_log(member: str = "platform-b", tag: str = "fuzz") -> list[Entry]:
    """A valid log of `member`: a contribution, a retraction of one of its records, another contribution."""
    key, cid = member_key(member), consortium_id()
    first = sign_entry(
        key,
        consortium_id=cid,
        author=member,
        seq=1,
        prev=ZERO_ID,
        timestamp_ms=T0,
        kind=EntryKind.CONTRIBUTION,
        items=[r.encode() for r in sample_records(tag)],
    )
    retraction = sign_entry(
        key,
        consortium_id=cid,
        author=member,
        seq=2,
        prev=first.entry_id,
        timestamp_ms=T0 + 1,
        kind=EntryKind.RETRACTION,
        items=[RetractionItem(record_id(first.entry_id, 1), "duplicate").encode()],
    )
    second = sign_entry(
        key,
        consortium_id=cid,
        author=member,
        seq=3,
        prev=retraction.entry_id,
        timestamp_ms=T0 + 2,
        kind=EntryKind.CONTRIBUTION,
        items=[r.encode() for r in sample_records(tag + " 2", 2)],
    )
    return [first, retraction, second]


def due_process_items() -> list[bytes]:
    rid, other = hashlib.sha256(b"r").digest(), hashlib.sha256(b"e").digest()
    return [
        OpinionItem(rid, Stance.FALSE_POSITIVE, "not_tvec", "looks like a cartoon").encode(),
        OpinionItem(rid, Stance.AGREE, "", "").encode(),
        AppealItem(rid, "case-17", 12).encode(),
        AppealItem(rid, "case-18", None).encode(),
        DecisionItem(rid, other, Outcome.OVERTURNED, "not tvec", DecidedAs.CONTRIBUTOR).encode(),
    ]


def sample_join_request() -> SignedJoinRequest:
    return create_join_request(
        member_key("platform-a"),
        pem_to_der((EXAMPLE_KEYS / "platform-a.crt").read_bytes()),
        consortium_id=consortium_id(),
        member_id="platform-a",
        organisation="Platform A",
        contact="trust@example.org",
        requested_role="contributor",
        endpoints=("127.0.0.1:50061",),
        created_ms=T0,
    )


def sample_bundle(entries: Sequence[Entry] | None = None) -> types_pb2.ProvenanceBundle:
    """The provenance bundle of the first record of a sample log, with the retraction of its second record
    related to nothing (bundles list only entries about their own record)."""
    from node.core import merkle
    from node.provenance.assembly import Head
    from node.provenance.bundle import ProvenanceBundle, attest

    log = entries or sample_log()
    entry = log[0]
    membership = trusted_membership()
    author = membership.get(entry.header.author)
    assert author is not None
    bundle = ProvenanceBundle(
        consortium_id=membership.consortium_id,
        record_id=record_id(entry.entry_id, 0),
        record_item=entry.items[0],
        leaf_index=0,
        leaf_count=len(entry.items),
        inclusion_proof=tuple(merkle.inclusion_proof(entry.items, 0)),
        entry_header=entry.header_bytes,
        entry_signature=entry.signature,
        author=author,
        related=(),
    )
    last = log[-1]
    heads = [Head(last.header.author, last.header.seq, last.entry_id)]
    return convert.bundle_to_proto(
        attest(bundle, member_key(author.member_id), assembler=author, assembled_at_ms=T0 + 10, heads=heads)
    )


# --- decoder targets ----------------------------------------------------------------------------------------


Refusals = tuple[type[BaseException], ...]
REFUSED: Refusals = (HashnodeError,)
REFUSED_OR_PROTOBUF: Refusals = (HashnodeError, DecodeError)


@dataclass(frozen=True)
class DecoderTarget:
    """A decoder, valid inputs to mutate, and (for canonical encodings) how to re-encode what it accepts."""

    name: str
    decode: Callable[[bytes], object]
    seeds: Callable[[], list[bytes]]
    encode: Callable[[Any], bytes] | None = None
    refusals: Refusals = REFUSED

    def check(self, data: bytes) -> bool:
        """True when accepted, False when refused.

        Raises: FuzzFailure on a crash or a non-canonical accept.
        """
        try:
            value = self.decode(data)
        except self.refusals:
            return False
        except Exception as exc:
            raise FuzzFailure(
                f"{self.name}: {type(exc).__name__}: {exc} on input {data[:200].hex()}"
            ) from exc
        if self.encode is not None and self.encode(value) != data:
            raise FuzzFailure(f"{self.name}: accepted a non-canonical encoding {data[:200].hex()}")
        return True


def _entry_from_signed(data: bytes) -> Entry:
    return convert.entry_from_proto(types_pb2.SignedEntry.FromString(data), "entry")


def _bundle(data: bytes) -> object:
    msg = types_pb2.ProvenanceBundle.FromString(data)
    return verify_bundle(convert.bundle_from_proto(msg), trusted=trusted_membership())


def _bundle_json(data: bytes) -> object:
    return verify_bundle(bundle_file.parse(data), trusted=trusted_membership())


def _signed_roster_json(data: bytes) -> object:
    return SignedRoster.from_json(data.decode("utf-8", errors="replace"))


def _join_json(data: bytes) -> object:
    return SignedJoinRequest.from_json(data.decode("utf-8", errors="replace")).verify()


def _frontier(data: bytes) -> object:
    return frontier_from_proto(peer_pb2.Frontier.FromString(data))


def _fetch(data: bytes) -> object:
    return fetch_from_proto(peer_pb2.FetchRequest.FromString(data))


def _subscribe(data: bytes) -> object:
    return frontier_from_proto(peer_pb2.SubscribeRequest.FromString(data).since, "since")


def _batch(data: bytes) -> object:
    return batch_from_proto(peer_pb2.EntryBatch.FromString(data))


def _seeds_headers() -> list[bytes]:
    return [e.header_bytes for e in sample_log()]


def _seeds_items(kind: EntryKind) -> Callable[[], list[bytes]]:
    def seeds() -> list[bytes]:
        return [item for e in sample_log() if e.kind == kind for item in e.items]

    return seeds


def _seeds_due_process(decode: Callable[[bytes], object]) -> Callable[[], list[bytes]]:
    def seeds() -> list[bytes]:
        found = []
        for item in due_process_items():
            try:
                decode(item)
            except HashnodeError:
                continue
            found.append(item)
        return found

    return seeds


def _seeds_batch() -> list[bytes]:
    from node.api.peer_wire import batch_to_proto

    log = sample_log()
    return [batch_to_proto(log).SerializeToString(), batch_to_proto(log[:1]).SerializeToString()]


def _seeds_frontier() -> list[bytes]:
    log = sample_log()
    head = peer_pb2.AuthorHead(author="platform-b", seq=3, entry_id=log[-1].entry_id)
    frontier = peer_pb2.Frontier(heads=[head], consortium_id=consortium_id(), member_id="platform-b")
    return [frontier.SerializeToString()]


def _seeds_fetch() -> list[bytes]:
    ranges = [peer_pb2.AuthorRange(author="platform-b", from_seq=1, to_seq=3)]
    return [
        peer_pb2.FetchRequest(
            ranges=ranges, max_batch_bytes=65536, evidence_ids=[bytes(32)]
        ).SerializeToString()
    ]


def _seeds_subscribe() -> list[bytes]:
    return [
        peer_pb2.SubscribeRequest(
            since=peer_pb2.Frontier.FromString(_seeds_frontier()[0])
        ).SerializeToString()
    ]


DECODERS: tuple[DecoderTarget, ...] = (
    DecoderTarget("EntryHeader.decode", EntryHeader.decode, _seeds_headers, lambda h: h.encode()),
    DecoderTarget(
        "Entry.parse (SignedEntry)",
        _entry_from_signed,
        lambda: [convert.entry_to_proto(e).SerializeToString() for e in sample_log()],
        refusals=REFUSED_OR_PROTOBUF,
    ),
    DecoderTarget(
        "HashRecord.decode", HashRecord.decode, _seeds_items(EntryKind.CONTRIBUTION), lambda r: r.encode()
    ),
    DecoderTarget(
        "RetractionItem.decode",
        RetractionItem.decode,
        _seeds_items(EntryKind.RETRACTION),
        lambda r: r.encode(),
    ),
    DecoderTarget(
        "OpinionItem.decode", OpinionItem.decode, _seeds_due_process(OpinionItem.decode), lambda i: i.encode()
    ),
    DecoderTarget(
        "AppealItem.decode", AppealItem.decode, _seeds_due_process(AppealItem.decode), lambda i: i.encode()
    ),
    DecoderTarget(
        "DecisionItem.decode",
        DecisionItem.decode,
        _seeds_due_process(DecisionItem.decode),
        lambda i: i.encode(),
    ),
    DecoderTarget(
        "Roster.decode",
        Roster.decode,
        lambda: [SignedRoster.load(EXAMPLE_ROSTER).roster_bytes],
        lambda r: r.encode(),
    ),
    DecoderTarget("SignedRoster.from_json", _signed_roster_json, lambda: [EXAMPLE_ROSTER.read_bytes()]),
    DecoderTarget(
        "JoinRequest.decode",
        JoinRequest.decode,
        lambda: [sample_join_request().request_bytes],
        lambda r: r.encode(),
    ),
    DecoderTarget(
        "SignedJoinRequest.from_json+verify", _join_json, lambda: [sample_join_request().to_json().encode()]
    ),
    DecoderTarget(
        "verify_bundle (protobuf)",
        _bundle,
        lambda: [sample_bundle().SerializeToString()],
        refusals=REFUSED_OR_PROTOBUF,
    ),
    DecoderTarget(
        "verify_bundle (JSON file)", _bundle_json, lambda: [convert.bundle_to_json(sample_bundle()).encode()]
    ),
    DecoderTarget("peer Frontier", _frontier, _seeds_frontier, refusals=REFUSED_OR_PROTOBUF),
    DecoderTarget("peer FetchRequest", _fetch, _seeds_fetch, refusals=REFUSED_OR_PROTOBUF),
    DecoderTarget("peer SubscribeRequest", _subscribe, _seeds_subscribe, refusals=REFUSED_OR_PROTOBUF),
    DecoderTarget("peer EntryBatch", _batch, _seeds_batch, refusals=REFUSED_OR_PROTOBUF),
)


def decoder_input(target: DecoderTarget, seeds: Sequence[bytes], rng: random.Random) -> bytes:
    """Mostly mutations of a seed; some random bytes; now and then a seed as it is."""
    roll = rng.random()
    if roll < 0.05 or not seeds:
        return random_bytes(rng, 256)
    seed = rng.choice(seeds)
    return seed if roll < 0.08 else mutate(seed, rng)


# --- RPC targets --------------------------------------------------------------------------------------------

SERVICES = {
    "client": client_pb2.DESCRIPTOR.services_by_name["HashNode"],
    "peer": peer_pb2.DESCRIPTOR.services_by_name["Peer"],
    "membership": membership_pb2.DESCRIPTOR.services_by_name["Membership"],
    "admin": admin_pb2.DESCRIPTOR.services_by_name["Admin"],
}
# Methods that may change what the store holds when they succeed (a failed call must change nothing).
WRITES = {
    "Submit",
    "Retract",
    "Opine",
    "Appeal",
    "Decide",
    "SubmitRoster",
    "PurgeMember",
    "AddPeer",
    "RemovePeer",
    "IssueStatement",
    "WithdrawStatement",
}
# Streams that stay open when they have nothing more to send: read what comes within a short deadline.
LIVE_STREAMS = {"Subscribe", "WatchReinstateNotices"}


@dataclass(frozen=True)
class RpcTarget:
    listener: str  # client, peer or admin (Membership is served on the peer listener)
    method: pb_descriptor.MethodDescriptor
    seeds: tuple[bytes, ...]
    sanitize: Callable[[Message], Message] | None = None  # keeps a fuzzed request from harming the host

    @property
    def name(self) -> str:
        return str(self.method.name)

    @property
    def path(self) -> str:
        return f"/{self.method.containing_service.full_name}/{self.method.name}"

    @property
    def request_type(self) -> type[Message]:
        from google.protobuf import message_factory

        cls: type[Message] = message_factory.GetMessageClass(self.method.input_type)
        return cls


def random_message(desc: pb_descriptor.Descriptor, rng: random.Random, depth: int = 0) -> Message:
    """A message of type `desc` with random values in random fields, plausible strings now and then."""
    from google.protobuf import message_factory

    msg: Message = message_factory.GetMessageClass(desc)()
    for fd in desc.fields:
        if rng.random() < 0.4:
            continue
        count = rng.choice((1, 1, 2, 3, 50)) if fd.is_repeated else 1
        for _ in range(count):
            if fd.type == fd.TYPE_MESSAGE:
                if depth > 3:
                    break
                value = random_message(fd.message_type, rng, depth + 1)
                target = getattr(msg, fd.name)
                if fd.is_repeated:
                    target.add().CopyFrom(value)
                else:
                    target.CopyFrom(value)
                continue
            value = _random_scalar(fd, rng)
            if fd.is_repeated:
                getattr(msg, fd.name).append(value)
            else:
                setattr(msg, fd.name, value)
    return msg


PLAUSIBLE = (
    "",
    "pdq",
    "md5",
    "sha256",
    "video_md5",
    LABEL,
    "platform-a",
    "platform-b",
    "platform-c",
    "nobody",
    "0" * 64,
    "f" * 64,
    "g" * 64,
    "a" * 32,
    "case-1",
    "not_tvec",
    "\u00e9\u0000",
    "x" * 5000,
)


def _random_scalar(fd: pb_descriptor.FieldDescriptor, rng: random.Random) -> Any:
    kind = fd.type
    if kind == fd.TYPE_STRING:
        if rng.random() < 0.6:
            return rng.choice(PLAUSIBLE)
        return "".join(rng.choice(string.printable) for _ in range(rng.randint(0, 80)))
    if kind == fd.TYPE_BYTES:
        return rng.choice((b"", bytes(32), rng.randbytes(32), random_bytes(rng, 100)))
    if kind == fd.TYPE_BOOL:
        return rng.random() < 0.5
    if kind == fd.TYPE_ENUM:
        return rng.choice([v.number for v in fd.enum_type.values] + [99])
    if kind in (fd.TYPE_FLOAT, fd.TYPE_DOUBLE):
        return rng.choice((0.0, -1.0, 1e300, float("nan")))
    signed = kind in (
        fd.TYPE_INT32,
        fd.TYPE_INT64,
        fd.TYPE_SINT32,
        fd.TYPE_SINT64,
        fd.TYPE_SFIXED32,
        fd.TYPE_SFIXED64,
    )
    bits = (
        32
        if kind in (fd.TYPE_INT32, fd.TYPE_UINT32, fd.TYPE_SINT32, fd.TYPE_FIXED32, fd.TYPE_SFIXED32)
        else 64
    )
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    return rng.choice((0, 1, 2, 31, 64, 10_000, 10_001, high, low, rng.randint(low, high)))


def rpc_input(target: RpcTarget, rng: random.Random) -> bytes:
    """Serialized request bytes: a mutated seed, a random message, or random bytes."""
    roll = rng.random()
    if roll < 0.55 and target.seeds:
        data = rng.choice(target.seeds)
        data = data if roll < 0.05 else mutate(data, rng)
    elif roll < 0.9:
        data = bytes(random_message(target.method.input_type, rng).SerializeToString())
    else:
        data = random_bytes(rng, 128)
    if target.sanitize is None:
        return data
    try:
        parsed = target.request_type.FromString(data)
    except DecodeError:
        return data  # refused by the node before anything is done with it
    return bytes(target.sanitize(parsed).SerializeToString())


@dataclass
class Counts:
    inputs: int = 0
    accepted: int = 0
    refused: int = 0
    failures: list[str] = field(default_factory=list)
    codes: dict[str, int] = field(default_factory=dict)


def call_raw(channel: grpc.Channel, target: RpcTarget, data: bytes, rng: random.Random) -> grpc.StatusCode:
    """Sends `data` as the request (one to three of them to a client-streaming method); the status code."""
    method = target.method
    kwargs: dict[str, Any] = {"request_serializer": None, "response_deserializer": None}
    timeout = 0.1 if method.name in LIVE_STREAMS else 10.0
    try:
        if method.client_streaming:
            requests = [data] + [rpc_input(target, rng) for _ in range(rng.randint(0, 2))]
            stream = channel.stream_stream(target.path, **kwargs)(iter(requests), timeout=timeout)
            _drain(stream)
        elif method.server_streaming:
            stream = channel.unary_stream(target.path, **kwargs)(data, timeout=timeout)
            _drain(stream)
        else:
            channel.unary_unary(target.path, **kwargs)(data, timeout=timeout)
    except grpc.RpcError as exc:
        code: grpc.StatusCode = exc.code()
        return code
    return grpc.StatusCode.OK


def _drain(stream: Iterator[bytes], most: int = 200) -> None:
    for i, _ in enumerate(stream):
        if i >= most:
            stream.cancel()  # type: ignore[attr-defined]
            return


StateProbe = Callable[[], object]


class RpcFuzzer:
    """Calls RPC targets with fuzzed input; checks codes and, for failed writes, that nothing was written."""

    def __init__(
        self, channels: dict[str, grpc.Channel], probe: StateProbe, targets: Sequence[RpcTarget]
    ) -> None:
        self.channels = channels
        self.probe = probe
        self.targets = list(targets)
        self.counts = {t.name: Counts() for t in self.targets}
        self._lock = threading.Lock()

    def fuzz_one(self, target: RpcTarget, data: bytes, rng: random.Random) -> grpc.StatusCode:
        counts = self.counts[target.name]
        before = self.probe() if target.name in WRITES else None
        code = call_raw(self.channels[target.listener], target, data, rng)
        counts.inputs += 1
        counts.codes[code.name] = counts.codes.get(code.name, 0) + 1
        if code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN):
            counts.failures.append(f"{target.path}: {code.name} for request {data[:200].hex()}")
        elif code == grpc.StatusCode.OK:
            counts.accepted += 1
        else:
            counts.refused += 1
            if before is not None and self.probe() != before:
                counts.failures.append(f"{target.path}: refused with {code.name} but the store changed")
        return code

    def run(self, inputs: int, rng: random.Random) -> None:
        for _ in range(inputs):
            target = rng.choice(self.targets)
            self.fuzz_one(target, rpc_input(target, rng), rng)


def rpc_seeds(
    own_record_ids: Sequence[str], other_record_ids: Sequence[str], appeal_entry_id: str, statement_id: str = ""
) -> dict[str, list[Message]]:
    """Valid requests for every method, from what a seeded node holds."""
    pdq = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
    record = types_pb2.HashRecord(signal_type="pdq", value=pdq, quality=90, labels=[LABEL])
    md5 = types_pb2.HashRecord(signal_type="md5", value="d35c785545392755e7e4164457657269", labels=[LABEL])
    query = client_pb2.HashQuery(signal_type="pdq", value=pdq, content_ref="upload-1")
    frontier = peer_pb2.Frontier.FromString(_seeds_frontier()[0])
    rid, other = (own_record_ids or [""])[0], (other_record_ids or [""])[0]
    roster = SignedRoster.load(EXAMPLE_ROSTER)
    signatures = [
        membership_pb2.RosterSignature(key_id=s.key_id, signature=s.signature) for s in roster.signatures
    ]
    signed = membership_pb2.SignedRoster(roster=roster.roster_bytes, signatures=signatures)
    seeds: dict[str, list[Message]] = {
        "Submit": [client_pb2.SubmitRequest(records=[record, md5])],
        "Match": [client_pb2.MatchRequest(queries=[query], pdq_threshold=31)],
        "MatchStream": [client_pb2.MatchRequest(queries=[query])],
        "GetProvenance": [client_pb2.ProvenanceRequest(record_id=other or rid)],
        "Retract": [client_pb2.RetractRequest(record_ids=[rid], reason="fuzz")],
        "ExportRecords": [client_pb2.ExportRequest(batch_size=10, include_inactive=True)],
        "Opine": [client_pb2.OpineRequest(record_id=other, stance=client_pb2.STANCE_FALSE_POSITIVE)],
        "Appeal": [client_pb2.AppealRequest(record_id=other, case_ref="case-1", match_distance=3)],
        "Decide": [
            client_pb2.DecideRequest(appeal_entry_id=appeal_entry_id, outcome=client_pb2.OUTCOME_UPHELD)
        ],
        "GetFrontier": [peer_pb2.FrontierRequest()],
        "FetchEntries": [peer_pb2.FetchRequest.FromString(_seeds_fetch()[0])],
        "Subscribe": [peer_pb2.SubscribeRequest(since=frontier)],
        "GetRosters": [membership_pb2.GetRostersRequest()],
        "PurgeMember": [admin_pb2.PurgeMemberRequest(member_id="platform-c", reason="fuzz")],
        "AddPeer": [admin_pb2.AddPeerRequest(name="platform-c", address="127.0.0.1:9")],
        "RemovePeer": [admin_pb2.RemovePeerRequest(name="platform-c")],
        "Backup": [admin_pb2.BackupRequest(directory="backup")],
        "ListReinstateNotices": [admin_pb2.ListNoticesRequest(after=0, limit=10)],
        "WatchReinstateNotices": [admin_pb2.WatchNoticesRequest(after=0)],
        "ExplainMatch": [admin_pb2.ExplainMatchRequest(content_ref="upload-1")],
        "BuildReport": [admin_pb2.ReportRequest(from_ms=0, to_ms=T0 * 2)],
        "SubmitRoster": [admin_pb2.SubmitRosterRequest(roster=signed)],
        "IssueStatement": [
            admin_pb2.IssueStatementRequest(
                content_ref="upload-1",
                decision=admin_pb2.StatementDecision(
                    automated_decision="fully", visibility=["removed"], account="suspended", language="de"
                ),
            )
        ],
        "GetStatement": [admin_pb2.GetStatementRequest(statement_id=statement_id)],
        "ListStatements": [admin_pb2.ListStatementsRequest(after=0, limit=10, documents=True)],
        "WithdrawStatement": [admin_pb2.WithdrawStatementRequest(statement_id=statement_id, reason="fuzz")],
        "ListCases": [admin_pb2.ListCasesRequest()],
        "PublishRuling": [admin_pb2.PublishRulingRequest(ruling_file=_ruling_file(roster, other, appeal_entry_id))],
    }
    return seeds


def _ruling_file(roster: SignedRoster, record_id: str, appeal_entry_id: str) -> str:
    """A stewards' ruling on the seeded appeal, signed by no one (the fuzzer mutates it)."""
    if len(record_id) != 64 or len(appeal_entry_id) != 64:
        return "{}"
    ruling = Ruling(
        roster.roster.consortium_id,
        bytes.fromhex(record_id),
        bytes.fromhex(appeal_entry_id),
        Outcome.OVERTURNED,
        "fuzz",
        T0,
    )
    return SignedRuling(ruling).to_json()


def sandbox(directory: Path) -> dict[str, Callable[[Message], Message]]:
    """Sanitizers: a Backup goes under `directory`; AddPeer names one of four peers at a closed loopback
    port (a fuzz must not fill a real directory tree, dial the internet, or start a thousand replication
    links)."""

    def backup(msg: Message) -> Message:
        assert isinstance(msg, admin_pb2.BackupRequest)
        safe = hashlib.sha256(msg.directory.encode("utf-8", "replace")).hexdigest()[:8]
        return admin_pb2.BackupRequest(directory=str(directory / "backups" / safe) if msg.directory else "")

    def add_peer(msg: Message) -> Message:
        assert isinstance(msg, admin_pb2.AddPeerRequest)
        name = (
            f"peer-{hashlib.sha256(msg.name.encode('utf-8', 'replace')).digest()[0] % 4}" if msg.name else ""
        )
        return admin_pb2.AddPeerRequest(name=name, address="127.0.0.1:9" if msg.address else "")

    return {"Backup": backup, "AddPeer": add_peer}


def rpc_targets(
    seeds: dict[str, list[Message]], sanitizers: dict[str, Callable[[Message], Message]]
) -> list[RpcTarget]:
    """One target per method of every service a node serves (Membership on the peer listener)."""
    targets = []
    for listener, service in SERVICES.items():
        for method in service.methods:
            encoded = tuple(m.SerializeToString() for m in seeds.get(method.name, []))
            where = "peer" if listener == "membership" else listener
            targets.append(RpcTarget(where, method, encoded, sanitizers.get(method.name)))
    return targets


# --- a node to fuzz -----------------------------------------------------------------------------------------


class FuzzNode:
    """platform-a serving on 127.0.0.1 in this process (insecure loopback mode, no peers, no rate limit),
    holding records of its own, platform-b's log and an appeal: something for every RPC to find."""

    def __init__(self, directory: Path, *, seeded: bool = True, **overrides: object) -> None:
        """`seeded`: submit records, take platform-b's log and appeal (a node with peers may not author
        before it has compared its log with one). `overrides`: config fields."""
        from node.runtime.config import PeerLimits
        from node.runtime.runtime import open_node
        from node.server.server import create_servers
        from testkit.consortium import insecure_config

        self.directory = directory
        unlimited = PeerLimits(rate=1e9, burst=1 << 30)
        fields: dict[str, object] = {"peer_limits": unlimited, **overrides}
        config = insecure_config(directory / "data", "platform-a", **fields)
        self.runtime = open_node(config)
        self.listeners = create_servers(self.runtime)
        self.listeners.start()
        self.runtime.start()
        self.channels = {
            "client": grpc.insecure_channel(self.listeners.client.address),
            "peer": grpc.insecure_channel(self.listeners.peer.address),
            "admin": grpc.insecure_channel(self.listeners.admin.address),
        }
        self.seeds: dict[str, list[Message]] = {}
        if seeded:
            self._seed()

    def _seed(self) -> None:
        ledger = self.runtime.ledger
        own = ledger.submit(sample_records("fuzz node"))
        other = sample_log()
        assert self.runtime.replica is not None
        outcome = self.runtime.replica.receive(other)
        assert len(outcome.applied) == len(other), outcome
        other_ids = [record_id(other[0].entry_id, 0).hex()]
        appeal = ledger.appeal(record_id(other[0].entry_id, 0), "case-1")
        # A logged match of platform-b's record, acted on: something for the statement RPCs to find.
        ledger.match([Query("pdq", HashRecord.decode(other[0].items[0]).value, "upload-1")])
        assert self.runtime.statements is not None
        decision = DecisionRequest(automated_decision="fully", visibility=("removed",))
        issued = self.runtime.statements.issue(IssueRequest(content_ref="upload-1", decision=decision))
        statement_id = issued.view.statement.statement_id
        self.seeds = rpc_seeds([r.hex() for r in own.record_ids], other_ids, appeal.entry_id.hex(), statement_id)

    def targets(self) -> list[RpcTarget]:
        return rpc_targets(self.seeds, sandbox(self.directory))

    def probe(self) -> object:
        """What a refused call must leave as it was: counters, state digest, roster version, peers."""
        runtime = self.runtime
        assert runtime.replica is not None
        store = runtime.ledger.store
        with store.read() as txn:
            counts = store.counts(txn)
        peers = sorted((p.name, p.address) for p in runtime.peers.peers())
        with store.read() as txn:
            statements = [(s.statement_id, s.status) for s in StatementBook(store, txn)]
        return counts, runtime.replica.state_digest(), runtime.consortium.roster.version, peers, statements

    def close(self) -> None:
        for channel in self.channels.values():
            channel.close()
        self.runtime.stopping.set()
        self.listeners.stop(None)
        self.runtime.close()
