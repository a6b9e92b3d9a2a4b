"""Fork evidence: two entries signed by one author that cannot both belong to one log.

Evidence is what replication keeps when an author equivocates, and it replicates like entries do: any node
can check it alone, with nothing but the roster, so it need not trust the peer that sent it. Two shapes prove
a fork:

* SAME_SEQ: two entries with the same seq and different ids;
* BROKEN_LINK: an entry at seq n and one at n+1 whose `prev` is not the first's id. The author signed the
  entry at n+1 after some entry at n other than this one, so it signed two entries at n, one of which we may
  never see.

A record is order-normalised (lower seq first; for one seq, lower id first), so two nodes that found the same
pair in different orders hold the same record with the same `evidence_id`. Which of the two entries a node
keeps in its log is that node's own business (the one it received first) and is not part of the record.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass

from node.core.entry import Entry
from node.core.errors import VerificationError
from node.membership.members import Membership
from node.replication.validate import Pending, Reject, authenticate

EVIDENCE_TAG = b"hashnode.fork-evidence.v1\x00"


class ForkKind(enum.Enum):
    SAME_SEQ = "same_seq"
    BROKEN_LINK = "broken_link"


class InvalidEvidence(VerificationError):
    """Evidence that does not prove a fork. `transient` when a later roster version may make it check out."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(f"fork evidence: {message}")
        self.transient = transient


@dataclass(frozen=True)
class ForkEvidence:
    """Two entries of one author that form a fork. Build with `of`; check them with `verify_evidence`."""

    lower: Entry
    upper: Entry

    def __post_init__(self) -> None:
        _check_shape(self.lower, self.upper)

    @classmethod
    def of(cls, a: Entry, b: Entry) -> ForkEvidence:
        """Normalises the order. Raises InvalidEvidence unless the two entries are shaped like a fork."""
        if (a.header.seq, a.entry_id) <= (b.header.seq, b.entry_id):
            return cls(a, b)
        return cls(b, a)

    @property
    def author(self) -> str:
        return self.lower.header.author

    @property
    def seq(self) -> int:
        """The seq at which the author signed two entries (for BROKEN_LINK, one of them is not here)."""
        return self.lower.header.seq

    @property
    def kind(self) -> ForkKind:
        return ForkKind.SAME_SEQ if self.lower.header.seq == self.upper.header.seq else ForkKind.BROKEN_LINK

    @property
    def evidence_id(self) -> bytes:
        return hashlib.sha256(EVIDENCE_TAG + self.lower.entry_id + self.upper.entry_id).digest()

    def entries(self) -> tuple[Entry, Entry]:
        return (self.lower, self.upper)


def _check_shape(lower: Entry, upper: Entry) -> None:
    a, b = lower.header, upper.header
    if a.consortium_id != b.consortium_id:
        raise InvalidEvidence(f"consortium_id: got {a.consortium_id!r} and {b.consortium_id!r}, want one")
    if a.author != b.author:
        raise InvalidEvidence(f"author: got {a.author!r} and {b.author!r}, want one author")
    if (a.seq, lower.entry_id) >= (b.seq, upper.entry_id):
        raise InvalidEvidence("order: want (seq, entry id) of the first entry below the second's")
    if a.seq == b.seq:
        return
    if b.seq != a.seq + 1:
        raise InvalidEvidence(f"seq: got {a.seq} and {b.seq}, want equal or consecutive")
    if b.prev == lower.entry_id:
        raise InvalidEvidence(f"prev: entry {b.seq} chains to entry {a.seq}, so they do not conflict")


def verify_evidence(evidence: ForkEvidence, *, consortium_id: str, membership: Membership) -> None:
    """Checks both entries were signed by the author under keys the roster gives them at their timestamps.

    Raises:
        InvalidEvidence: wrong consortium, an entry not validly signed, or (transient) an author or key
            unknown to this roster version.
    """
    if evidence.lower.header.consortium_id != consortium_id:
        raise InvalidEvidence(
            f"consortium_id: got {evidence.lower.header.consortium_id!r}, want {consortium_id!r}"
        )
    for entry in evidence.entries():
        authority = authenticate(entry, membership)
        if isinstance(authority, Pending):
            raise InvalidEvidence(f"author: {authority.reason.value} {entry.header.author!r}", transient=True)
        if isinstance(authority, Reject):
            raise InvalidEvidence(f"entry {entry.header.seq}: {authority.detail}")
        try:
            entry.verify(authority)
        except VerificationError as exc:
            raise InvalidEvidence(f"entry {entry.header.seq}: {exc.message}") from None
