"""The statements of reasons this node issued, in LMDB (docs/due-process.md, "Statements of reasons").

Tables (node/storage/store.py):
  statements      statement no u64 → the statement as issued and its status since (`Statement.to_document`,
                  UTF-8 JSON): numbered from 1 in the order issued
  statement_keys  b"i" ‖ statement id (ASCII) → statement no u64
                  b"p" ‖ puid (UTF-8) → statement no u64: a puid is the platform's, unique for ever
                  b"r" ‖ record id (32) ‖ statement no u64 → b"": the statements resting on a record, which
                  the record's overturning or retraction names in its reinstatement notices

Like the match log, statements hold the platform's own content references: they are local, never replicated,
and pruned after `[statements] retention_days`.
"""

from __future__ import annotations

from collections.abc import Iterator

from node.dueprocess.statement import Statement
from node.storage.store import MAX_U64, Store, Txn, read_u64, u64

_BY_ID, _BY_PUID, _BY_RECORD = b"i", b"p", b"r"


class StatementBook:
    """The statements of this node, inside one transaction."""

    def __init__(self, store: Store, txn: Txn) -> None:
        self._txn = txn
        self._docs, self._keys = store.db("statements"), store.db("statement_keys")

    def _number(self, key: bytes) -> int | None:
        found = self._txn.get(key, db=self._keys)
        return None if found is None else read_u64(bytes(found))

    def _load(self, number: int | None) -> Statement | None:
        if number is None:
            return None
        raw = self._txn.get(u64(number), db=self._docs)
        return None if raw is None else Statement.from_document(bytes(raw))

    def get(self, statement_id: str) -> Statement | None:
        return self._load(self.number(statement_id))

    def number(self, statement_id: str) -> int | None:
        """The statement's number (its place in the order issued), or None if there is no such statement."""
        return self._number(_BY_ID + statement_id.encode("ascii", "replace"))

    def with_puid(self, puid: str) -> Statement | None:
        return self._load(self._number(_BY_PUID + puid.encode("utf-8")))

    def add(self, statement: Statement) -> int:
        """Stores a new statement (its id and puid must be new here: the caller checked); returns its number."""
        cursor = self._txn.cursor(db=self._docs)
        number = (read_u64(cursor.key()) if cursor.last() else 0) + 1
        self._txn.put(u64(number), statement.to_document(), db=self._docs)
        self._txn.put(_BY_ID + statement.statement_id.encode("ascii"), u64(number), db=self._keys)
        self._txn.put(_BY_PUID + statement.puid.encode("utf-8"), u64(number), db=self._keys)
        for rid in set(statement.record_ids):
            self._txn.put(_BY_RECORD + rid + u64(number), b"", db=self._keys)
        return number

    def replace(self, statement: Statement) -> None:
        """Stores a statement's new status (same id, same basis)."""
        number = self.number(statement.statement_id)
        if number is None:
            raise KeyError(statement.statement_id)
        self._txn.put(u64(number), statement.to_document(), db=self._docs)

    def resting_on(self, record_id: bytes) -> list[Statement]:
        """The statements that rest on a record, in the order issued."""
        prefix = _BY_RECORD + record_id
        cursor = self._txn.cursor(db=self._keys)
        numbers = []
        if cursor.set_range(prefix):
            for key, _ in cursor:
                if not bytes(key).startswith(prefix):
                    break
                numbers.append(read_u64(bytes(key)[len(prefix) :]))
        return [s for s in (self._load(n) for n in numbers) if s is not None]

    def after(self, number: int, limit: int) -> list[tuple[int, Statement]]:
        """Up to `limit` statements numbered above `number`, in order."""
        found: list[tuple[int, Statement]] = []
        cursor = self._txn.cursor(db=self._docs)
        if number < MAX_U64 and cursor.set_range(u64(number + 1)):
            for key, value in cursor:
                if len(found) == limit:
                    break
                found.append((read_u64(bytes(key)), Statement.from_document(bytes(value))))
        return found

    def __iter__(self) -> Iterator[Statement]:
        cursor = self._txn.cursor(db=self._docs)
        for _, value in cursor:
            yield Statement.from_document(bytes(value))

    def count(self) -> int:
        return int(self._txn.stat(self._docs)["entries"])

    def prune(self, before_ms: int) -> int:
        """Drops the statements issued before `before_ms`, and their keys; returns how many."""
        cursor = self._txn.cursor(db=self._docs)
        doomed: list[tuple[bytes, Statement]] = []
        if cursor.first():
            for key, value in cursor:
                statement = Statement.from_document(bytes(value))
                if statement.issued_ms >= before_ms:
                    break
                doomed.append((bytes(key), statement))
        for key, statement in doomed:
            self._txn.delete(key, db=self._docs)
            self._txn.delete(_BY_ID + statement.statement_id.encode("ascii"), db=self._keys)
            self._txn.delete(_BY_PUID + statement.puid.encode("utf-8"), db=self._keys)
            for rid in set(statement.record_ids):
                self._txn.delete(_BY_RECORD + rid + key, db=self._keys)
        return len(doomed)
