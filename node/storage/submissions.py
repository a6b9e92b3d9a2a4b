"""The submissions this node's member made with a client-chosen request id, so that a retried Submit returns the
first attempt's result instead of signing the records again (client.proto, `SubmitRequest.request_id`).

Tables (node/storage/store.py):
  submissions         author (u16 len + UTF-8) ‖ request id (ASCII) → stored u64 ‖ digest (32) ‖ entry id
                      (u8 len: 0 or 32, then its bytes) ‖ record ids (u32 count, then 32 bytes each) ‖
                      duplicates (u32 count, then u32 each)
  submissions_by_time stored u64 ‖ the key above → b"": what `prune` removes, oldest first

Local to this node (never replicated), written in the transaction that commits the entry, kept for
`RETENTION_MS`: a client retries within minutes, not days.
"""

from __future__ import annotations

from dataclasses import dataclass

from node.core.canonical import Reader, Writer
from node.storage.store import Store, Txn, read_u64, u64

RETENTION_MS = 7 * 24 * 3600 * 1000
PRUNE_PER_WRITE = 64  # rows removed by one write at most: pruning never makes one submission slow


@dataclass(frozen=True)
class StoredSubmission:
    """What a submission with a request id returned, and the digest of what it submitted."""

    digest: bytes
    entry_id: bytes | None  # None: every record was a duplicate, nothing was signed
    record_ids: tuple[bytes, ...]
    duplicates: tuple[int, ...]

    def encode(self, stored_ms: int) -> bytes:
        out = Writer().u64(stored_ms).raw(self.digest)
        entry = self.entry_id or b""
        out.u8(len(entry)).raw(entry).u32(len(self.record_ids))
        for rid in self.record_ids:
            out.raw(rid)
        out.u32(len(self.duplicates))
        for index in self.duplicates:
            out.u32(index)
        return out.getvalue()

    @classmethod
    def decode(cls, data: bytes) -> StoredSubmission:
        reader = Reader(data, "stored submission")
        reader.u64()
        digest = reader.fixed(32)
        entry = reader.fixed(reader.u8())
        record_ids = tuple(reader.fixed(32) for _ in range(reader.u32()))
        duplicates = tuple(reader.u32() for _ in range(reader.u32()))
        reader.end()
        return cls(digest, entry or None, record_ids, duplicates)


def _key(author: str, request_id: str) -> bytes:
    return Writer().string(author).getvalue() + request_id.encode("ascii")


class SubmissionBook:
    """The submissions by request id, inside one transaction."""

    def __init__(self, store: Store, txn: Txn) -> None:
        self._txn = txn
        self._rows, self._by_time = store.db("submissions"), store.db("submissions_by_time")

    def get(self, author: str, request_id: str) -> StoredSubmission | None:
        raw = self._txn.get(_key(author, request_id), db=self._rows)
        return None if raw is None else StoredSubmission.decode(bytes(raw))

    def add(self, author: str, request_id: str, submission: StoredSubmission, stored_ms: int) -> None:
        """Stores a new submission (its id must be new: the caller looked it up in this transaction) and prunes
        those older than `RETENTION_MS`."""
        key = _key(author, request_id)
        self._txn.put(key, submission.encode(stored_ms), db=self._rows)
        self._txn.put(u64(stored_ms) + key, b"", db=self._by_time)
        self.prune(stored_ms - RETENTION_MS)

    def prune(self, before_ms: int, limit: int = PRUNE_PER_WRITE) -> int:
        """Removes up to `limit` submissions stored before `before_ms`, oldest first; returns how many."""
        cursor, removed = self._txn.cursor(db=self._by_time), 0
        while removed < limit and cursor.first():
            time_key = bytes(cursor.key())
            if read_u64(time_key[:8]) >= before_ms:
                break
            cursor.delete()
            self._txn.delete(time_key[8:], db=self._rows)
            removed += 1
        return removed

    def __len__(self) -> int:
        return int(self._txn.stat(self._rows)["entries"])
