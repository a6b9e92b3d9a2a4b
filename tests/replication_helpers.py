"""Shared by the replication tests: test members with fixed keys, signed chains of valid hash records, ledgers
over real LMDB in a temporary directory."""

from __future__ import annotations

import hashlib
from pathlib import Path

from node.entry import ZERO_ID, Entry, EntryKind, sign_entry
from node.keys import SigningKey
from node.ledger import Ledger, LedgerSettings
from node.membership import Member, MemberKey, Membership
from node.records import HashRecord
from node.taxonomy import Taxonomy

CONSORTIUM = "test-consortium"
T0 = 1_700_000_000_000
NOW = T0 + 3_600_000
LABEL = "tvec.propaganda"


def key(name: str) -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(b"test replica " + name.encode()).digest())


KEYS = {name: key(name) for name in ("alice", "bob", "carol")}
EVERYONE = Membership.from_members(
    CONSORTIUM, [Member(n, n, (MemberKey(k.public),)) for n, k in KEYS.items()]
)
WITHOUT_CAROL = Membership.from_members(CONSORTIUM, [m for m in EVERYONE if m.member_id != "carol"])


def record_item(author: str, seq: int, tag: bytes = b"", index: int = 0) -> bytes:
    """A valid record item, different per author, seq, tag and index: md5, or pdq for even seqs."""
    digest = hashlib.sha256(tag + f"{author} {seq} {index}".encode()).digest()
    if seq % 2 == 0:
        return HashRecord("pdq", digest, 90, (LABEL,)).encode()
    return HashRecord("md5", digest[:16], 0, (LABEL,)).encode()


def sign(
    author: str,
    seq: int,
    prev: bytes,
    items: list[bytes],
    *,
    timestamp_ms: int | None = None,
    consortium: str = CONSORTIUM,
    signer: SigningKey | None = None,
    kind: EntryKind = EntryKind.CONTRIBUTION,
) -> Entry:
    return sign_entry(
        signer or KEYS[author],
        consortium_id=consortium,
        author=author,
        seq=seq,
        prev=prev,
        timestamp_ms=T0 + seq * 1000 if timestamp_ms is None else timestamp_ms,
        kind=kind,
        items=items,
    )


def chain(
    author: str, n: int, *, tag: bytes = b"", after: Entry | None = None, records: int = 1
) -> list[Entry]:
    """Entries of `author`'s log, one second apart: 1..n, or the n after `after`."""
    entries: list[Entry] = [after] if after else []
    for _ in range(n):
        prev = entries[-1] if entries else None
        seq = prev.header.seq + 1 if prev else 1
        items = [record_item(author, seq, tag, i) for i in range(records)]
        entries.append(sign(author, seq, prev.entry_id if prev else ZERO_ID, items))
    return entries[1:] if after else entries


def forged(entry: Entry) -> Entry:
    """The same entry with one bit of its signature flipped."""
    signature = bytes([entry.signature[0] ^ 1]) + entry.signature[1:]
    return Entry.parse(entry.header_bytes, signature, entry.items)


def open_ledger(directory: Path, membership: Membership = EVERYONE, member: str = "alice") -> Ledger:
    """A ledger over real LMDB in `directory`, without a signing key, with the clock at NOW."""
    return Ledger.open(
        directory,
        settings=LedgerSettings(consortium_id=CONSORTIUM, member_id=member, map_size=1 << 30),
        membership=membership,
        signer=None,
        taxonomy=Taxonomy.default(),
        clock=lambda: NOW,
    )
