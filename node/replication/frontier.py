"""What a node holds, as one head per author, and what to ask a peer for.

A frontier is the anti-entropy summary peers exchange (`Peer.GetFrontier`): for each author, the highest
contiguous sequence number held and the id of that entry. Comparing two frontiers tells a node which ranges to
fetch; comparing two state digests tells a test (or an operator) whether two nodes hold the same entries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from node.core.errors import InvalidArgument

ID_SIZE = 32


@dataclass(frozen=True)
class AuthorHead:
    """The last entry of an author's contiguous log on some node (proto `AuthorHead`)."""

    author: str
    seq: int
    entry_id: bytes

    def __post_init__(self) -> None:
        if self.seq < 1:
            raise InvalidArgument("head.seq", self.seq, ">= 1")
        if len(self.entry_id) != ID_SIZE:
            raise InvalidArgument("head.entry_id", f"{len(self.entry_id)} bytes", f"{ID_SIZE} bytes")


@dataclass(frozen=True)
class AuthorRange:
    """Entries `from_seq..to_seq` (inclusive) of one author; `to_seq` 0 means up to the head (proto same)."""

    author: str
    from_seq: int
    to_seq: int = 0

    def __post_init__(self) -> None:
        if self.from_seq < 1:
            raise InvalidArgument("range.from_seq", self.from_seq, ">= 1")
        if self.to_seq != 0 and self.to_seq < self.from_seq:
            raise InvalidArgument("range.to_seq", self.to_seq, f"0 or >= from_seq ({self.from_seq})")


@dataclass(frozen=True)
class Frontier:
    """One head per author, sorted by author. Build with `of`; two heads for one author are refused."""

    heads: tuple[AuthorHead, ...] = ()
    _by_author: Mapping[str, AuthorHead] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_author = {head.author: head for head in self.heads}
        if len(by_author) != len(self.heads):
            raise InvalidArgument("frontier.heads", "an author twice", "one head per author")
        object.__setattr__(self, "_by_author", by_author)

    @classmethod
    def of(cls, heads: Iterable[AuthorHead]) -> Frontier:
        return cls(tuple(sorted(heads, key=lambda head: head.author)))

    def get(self, author: str) -> AuthorHead | None:
        return self._by_author.get(author)

    def __iter__(self) -> Iterator[AuthorHead]:
        return iter(self.heads)

    def __len__(self) -> int:
        return len(self.heads)


def diff(local: Frontier, remote: Frontier) -> list[AuthorRange]:
    """The ranges to fetch from `remote` so that `local` catches up with it, in author order.

    Where the remote is ahead, ask for everything after the local head. Where both are at the same seq but
    hold different entries, the author has forked: ask for the remote's entry at that seq so the receipt rules
    turn it into equivocation evidence. Where the remote is behind, a frontier alone cannot tell whether it
    forked; the caller can (`LogSet.missing_ranges` compares against its own log), and the remote finds out
    when it pulls.
    """
    ranges: list[AuthorRange] = []
    for theirs in remote:
        ours = local.get(theirs.author)
        have = ours.seq if ours else 0
        if theirs.seq > have:
            ranges.append(AuthorRange(theirs.author, have + 1, theirs.seq))
        elif ours is not None and theirs.seq == ours.seq and theirs.entry_id != ours.entry_id:
            ranges.append(AuthorRange(theirs.author, theirs.seq, theirs.seq))
    return ranges


def state_digest(entry_ids: Iterable[bytes]) -> bytes:
    """SHA-256 over the sorted, de-duplicated ids: nodes holding the same set of entries get the same digest.

    Order-free on purpose: nodes apply entries of different authors in different orders, and the digest must
    not depend on the order of arrival.
    """
    ids = set(entry_ids)
    bad = next((i for i in ids if len(i) != ID_SIZE), None)
    if bad is not None:
        raise InvalidArgument("entry_id", f"{len(bad)} bytes", f"{ID_SIZE} bytes")
    digest = hashlib.sha256()
    for entry_id in sorted(ids):
        digest.update(entry_id)
    return digest.digest()
