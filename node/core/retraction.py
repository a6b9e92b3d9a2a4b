"""Retraction items: a contributor withdraws one of its own records (docs/protocol.md, "Retraction items")."""

from __future__ import annotations

from dataclasses import dataclass

from node.core.canonical import Reader, Writer

MAX_REASON = 1024


@dataclass(frozen=True)
class RetractionItem:
    record_id: bytes
    reason: str

    def encode(self) -> bytes:
        return Writer().fixed(self.record_id, 32).string(self.reason).getvalue()

    @classmethod
    def decode(cls, data: bytes) -> RetractionItem:
        reader = Reader(data, "retraction item")
        item = cls(record_id=reader.fixed(32), reason=reader.string())
        reader.end()
        return item
