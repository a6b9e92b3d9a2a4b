"""Signed log entries (docs/protocol.md, "Entries").

Each member's entries form a hash-chained log: entry n names its author, its sequence number n and the id of entry
n-1. The signature covers the canonical header only; the header commits to the entry's items through their Merkle
root. The bytes received are kept and verified as they are: nothing is re-serialised before verification.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from node.core import merkle
from node.core.canonical import Reader, Writer
from node.core.errors import EncodingError, VerificationError
from node.core.keys import PublicKey, SigningKey

ENTRY_TAG = b"hashnode.entry.v1\x00"
ZERO_ID = bytes(32)
MAX_ITEMS = 10_000
MAX_ITEM_BYTES = 4096
# A contribution item may be larger: a vpdq record holds a video's frame features (docs/protocol.md, "Entries").
# Its signal type's own limit (records.decode_item) keeps every other record at MAX_ITEM_BYTES.
MAX_CONTRIBUTION_ITEM_BYTES = 262_144
# The items of one entry together: a replication batch carries at least one whole entry, and it must fit the
# 16 MiB gRPC message limit of every node (node.api.MAX_MESSAGE_BYTES) with room for the envelope.
MAX_ENTRY_BYTES = 8 * 1024 * 1024


class DecodeFailure(enum.StrEnum):
    """Why received entry bytes do not parse (replication counts undecodable entries by these)."""

    HEADER = "malformed_header"  # not a canonical header: tag, lengths, trailing bytes
    ITEM_COUNT = "item_count_mismatch"  # the header counts another number of items than were sent
    SHAPE = "malformed_shape"  # seq/prev rule, no items or too many, an item too large
    BODY_ROOT = "body_root_mismatch"  # the items are not the ones the header commits to
    EVIDENCE = "malformed_evidence"  # a fork evidence pair that is not shaped like a fork


class MalformedEntry(EncodingError):
    """Entry bytes that break the format; `reason` says which rule."""

    def __init__(self, message: str, reason: DecodeFailure) -> None:
        super().__init__(message)
        self.reason = reason


class EntryKind(enum.IntEnum):
    CONTRIBUTION = 1  # items: hash records
    RETRACTION = 2    # items: record id + reason, by the records' contributor
    OPINION = 3       # items: a member's opinion on a record (issue: due process)
    APPEAL = 4        # items: an appeal a member received about a match
    DECISION = 5      # items: an appeal decision by the contributor or the stewards

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class EntryHeader:
    consortium_id: str
    author: str
    key_id: bytes
    seq: int
    prev: bytes
    timestamp_ms: int
    kind: int
    item_count: int
    body_root: bytes

    def encode(self) -> bytes:
        return (
            Writer()
            .raw(ENTRY_TAG)
            .string(self.consortium_id)
            .string(self.author)
            .fixed(self.key_id, 32)
            .u64(self.seq)
            .fixed(self.prev, 32)
            .u64(self.timestamp_ms)
            .u16(self.kind)
            .u32(self.item_count)
            .fixed(self.body_root, 32)
            .getvalue()
        )

    @classmethod
    def decode(cls, data: bytes) -> EntryHeader:
        reader = Reader(data, "entry header")
        if reader.fixed(len(ENTRY_TAG)) != ENTRY_TAG:
            raise EncodingError("entry header: wrong domain tag (want hashnode.entry.v1)")
        header = cls(
            consortium_id=reader.string(),
            author=reader.string(),
            key_id=reader.fixed(32),
            seq=reader.u64(),
            prev=reader.fixed(32),
            timestamp_ms=reader.u64(),
            kind=reader.u16(),
            item_count=reader.u32(),
            body_root=reader.fixed(32),
        )
        reader.end()
        return header


@dataclass(frozen=True)
class Entry:
    """A signed entry as received: header bytes, signature, items. Construct with `Entry.parse` or `sign_entry`."""

    header_bytes: bytes
    signature: bytes
    items: tuple[bytes, ...]
    header: EntryHeader = field(compare=False)
    entry_id: bytes = field(compare=False, default=b"")

    def __post_init__(self) -> None:
        if not self.entry_id:
            object.__setattr__(self, "entry_id", hashlib.sha256(self.header_bytes).digest())

    @classmethod
    def parse(cls, header_bytes: bytes, signature: bytes, items: Sequence[bytes]) -> Entry:
        """Decodes the header and checks the items against it. The signature is checked by `verify`.

        Raises:
            MalformedEntry: the bytes break the format; its `reason` names which rule.
        """
        try:
            header = EntryHeader.decode(header_bytes)
        except EncodingError as exc:
            raise MalformedEntry(exc.message, DecodeFailure.HEADER) from None
        if header.item_count != len(items):
            raise MalformedEntry(
                f"entry: header counts {header.item_count} items, got {len(items)}", DecodeFailure.ITEM_COUNT
            )
        try:
            _check_shape(header.seq, header.prev, header.kind, items)
        except EncodingError as exc:
            raise MalformedEntry(exc.message, DecodeFailure.SHAPE) from None
        if merkle.root(items) != header.body_root:
            raise MalformedEntry("entry: items do not match the signed body root", DecodeFailure.BODY_ROOT)
        return cls(bytes(header_bytes), bytes(signature), tuple(bytes(i) for i in items), header)

    @property
    def kind(self) -> int:
        return self.header.kind

    def verify(self, public_key: PublicKey) -> None:
        """Checks the key is the one the header names and that it signed the header."""
        if public_key.key_id != self.header.key_id:
            raise VerificationError("entry: signed with a key other than the one given")
        public_key.verify(self.signature, self.header_bytes)


def max_item_bytes(kind: int) -> int:
    """The largest item an entry of `kind` may hold."""
    return MAX_CONTRIBUTION_ITEM_BYTES if kind == EntryKind.CONTRIBUTION else MAX_ITEM_BYTES


def check_items(kind: int, items: Sequence[bytes]) -> None:
    """The item rules of an entry: 1..MAX_ITEMS items, each within its kind's limit, MAX_ENTRY_BYTES in all.

    Raises:
        EncodingError: one does not hold; the message says which.
    """
    if not 1 <= len(items) <= MAX_ITEMS:
        raise EncodingError(f"entry: got {len(items)} items, want 1..{MAX_ITEMS}")
    limit, total = max_item_bytes(kind), 0
    for item in items:
        if len(item) > limit:
            raise EncodingError(f"entry: an item exceeds {limit} bytes")
        total += len(item)
    if total > MAX_ENTRY_BYTES:
        raise EncodingError(f"entry: items total {total} bytes, want at most {MAX_ENTRY_BYTES}")


def _check_shape(seq: int, prev: bytes, kind: int, items: Sequence[bytes]) -> None:
    """The structural rules every entry obeys, whether received or about to be signed."""
    if seq < 1:
        raise EncodingError("entry header: seq must be >= 1")
    if (seq == 1) != (prev == ZERO_ID):
        raise EncodingError("entry header: prev must be all zeros exactly when seq is 1")
    check_items(kind, items)


def sign_entry(
    key: SigningKey,
    *,
    consortium_id: str,
    author: str,
    seq: int,
    prev: bytes,
    timestamp_ms: int,
    kind: EntryKind,
    items: Sequence[bytes],
) -> Entry:
    _check_shape(seq, prev, int(kind), items)
    header = EntryHeader(
        consortium_id=consortium_id,
        author=author,
        key_id=key.public.key_id,
        seq=seq,
        prev=prev,
        timestamp_ms=timestamp_ms,
        kind=int(kind),
        item_count=len(items),
        body_root=merkle.root(items),
    )
    header_bytes = header.encode()
    return Entry(header_bytes, key.sign(header_bytes), tuple(items), header)
