"""The assembler's signed statement: which node built a bundle, from which history (docs/protocol.md §9.6).

A bundle is only as complete as the node that assembled it chose to make it. The assembling node therefore signs,
with its member key, one statement binding: the record, the time, the node's frontier (the head of every
author's log it held, as `Peer.GetFrontier` reports it), the decision parameters it applied, and the ids of every
entry about the record it held up to that frontier. A verifier then refuses a bundle that lacks a listed entry or
carries an unlisted one, and a bundle whose entries lie beyond the frontier; anyone holding an entry about the
record at or below a signed head that the statement does not list holds proof that the assembler left it out.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from node.core.canonical import Reader, Writer
from node.core.errors import EncodingError
from node.membership.consortium_policy import ConsortiumPolicy

ASSEMBLY_TAG = b"hashnode.assembly.v1\x00"
ID_SIZE = 32
POLICY_SIZE = 14  # the due-process policy, encoded as roster extension 1 (docs/membership.md)


@dataclass(frozen=True)
class Head:
    """The last entry of one author's log the assembler held: (author, seq, entry id)."""

    author: str
    seq: int
    entry_id: bytes


@dataclass(frozen=True)
class Assembly:
    """The statement. Build with `Assembly.create` (sorts), read with `Assembly.decode` (refuses disorder)."""

    consortium_id: str
    assembler: str
    key_id: bytes
    assembled_at_ms: int
    record_id: bytes
    roster_version: int  # the roster version the assembler's membership came from; 0: not from a roster
    policy: ConsortiumPolicy  # the consortium's due-process policy the assembler applied
    stewards: tuple[str, ...]  # member ids holding the steward role, sorted
    heads: tuple[Head, ...]  # sorted by author (UTF-8 bytes), one per author
    related: tuple[bytes, ...]  # ids of the entries about the record, sorted

    @classmethod
    def create(
        cls,
        *,
        consortium_id: str,
        assembler: str,
        key_id: bytes,
        assembled_at_ms: int,
        record_id: bytes,
        roster_version: int,
        policy: ConsortiumPolicy,
        stewards: Iterable[str],
        heads: Iterable[Head],
        related: Iterable[bytes],
    ) -> Assembly:
        return cls(
            consortium_id,
            assembler,
            key_id,
            assembled_at_ms,
            record_id,
            roster_version,
            policy,
            tuple(sorted(set(stewards), key=_utf8)),
            tuple(sorted(heads, key=lambda h: _utf8(h.author))),
            tuple(sorted(set(related))),
        )

    def encode(self) -> bytes:
        writer = (
            Writer()
            .raw(ASSEMBLY_TAG)
            .string(self.consortium_id)
            .string(self.assembler)
            .fixed(self.key_id, ID_SIZE)
            .u64(self.assembled_at_ms)
            .fixed(self.record_id, ID_SIZE)
            .u64(self.roster_version)
            .raw(self.policy.encode())
            .strings(self.stewards)
            .u32(len(self.heads))
        )
        for head in self.heads:
            writer.string(head.author).u64(head.seq).fixed(head.entry_id, ID_SIZE)
        writer.u32(len(self.related))
        for entry_id in self.related:
            writer.fixed(entry_id, ID_SIZE)
        return writer.getvalue()

    @classmethod
    def decode(cls, data: bytes) -> Assembly:
        """Decodes a statement; exactly one encoding per statement.

        Raises:
            EncodingError: wrong tag, truncation, trailing bytes, invalid UTF-8, a head with seq 0, or stewards,
                heads or related ids not strictly ascending.
        """
        reader = Reader(data, "assembly")
        if reader.fixed(len(ASSEMBLY_TAG)) != ASSEMBLY_TAG:
            raise EncodingError("assembly: wrong domain tag (want hashnode.assembly.v1)")
        consortium_id, assembler, key_id = reader.string(), reader.string(), reader.fixed(ID_SIZE)
        assembled_at_ms, record_id = reader.u64(), reader.fixed(ID_SIZE)
        roster_version, policy = reader.u64(), ConsortiumPolicy.decode(reader.fixed(POLICY_SIZE))
        stewards = reader.strings()
        heads = tuple(Head(reader.string(), reader.u64(), reader.fixed(ID_SIZE)) for _ in range(reader.u32()))
        related = tuple(reader.fixed(ID_SIZE) for _ in range(reader.u32()))
        reader.end()
        _ascending("stewards", [_utf8(s) for s in stewards])
        _ascending("heads", [_utf8(h.author) for h in heads])
        _ascending("related", list(related))
        if any(h.seq < 1 for h in heads):
            raise EncodingError("assembly: a head with seq 0 (a head is an entry, seq >= 1)")
        return cls(
            consortium_id, assembler, key_id, assembled_at_ms, record_id, roster_version, policy, stewards,
            heads, related,
        )

    def head(self, author: str) -> Head | None:
        return next((h for h in self.heads if h.author == author), None)


def _utf8(text: str) -> bytes:
    return text.encode("utf-8")


def _ascending(name: str, values: list[bytes]) -> None:
    if not all(a < b for a, b in itertools.pairwise(values)):
        raise EncodingError(f"assembly: {name} not strictly ascending (sorted, unique)")
