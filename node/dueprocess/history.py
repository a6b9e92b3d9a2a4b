"""A record's due-process history: the items about one record, taken from the signed entries that carry them,
and the verdict they lead to (docs/due-process.md, "Wiring").

The ledger (entries from its store) and the provenance verifier (entries from a bundle) both build a
`RecordHistory` from entries they have verified, so a node and an offline verifier derive a record's standing
by the same code. Pure: entries in, verdict out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from node.core.entry import Entry, EntryKind
from node.core.errors import EncodingError
from node.core.retraction import RetractionItem
from node.dueprocess.deadlines import DecisionAuthority, RecordAppeals, resolve_record
from node.dueprocess.disputes import dispute_cases
from node.dueprocess.items import AppealItem, DecisionItem, OpinionItem, Outcome, VerifiedItem
from node.dueprocess.policy import Evidence, PolicyConfig, RecordFacts, Verdict, evaluate

log = logging.getLogger(__name__)

_DECODERS: dict[int, Callable[[bytes], Any]] = {
    EntryKind.RETRACTION: RetractionItem.decode,
    EntryKind.OPINION: OpinionItem.decode,
    EntryKind.APPEAL: AppealItem.decode,
    EntryKind.DECISION: DecisionItem.decode,
}


def items_about(entry: Entry, record_id: bytes) -> list[Any]:
    """The decoded items of a retraction or due-process entry that concern `record_id`.

    An item that does not decode is skipped (and logged): it is part of its author's signed log, so the entry
    stays, but an item nobody can read concerns no record.
    """
    decode = _DECODERS.get(entry.kind)
    if decode is None:
        return []
    found = []
    for item in entry.items:
        try:
            decoded = decode(item)
        except EncodingError as exc:
            log.warning("entry %s: skipping an undecodable item: %s", entry.entry_id.hex()[:16], exc.message)
            continue
        if decoded.record_id == record_id:
            found.append(decoded)
    return found


def records_concerned(entry: Entry) -> list[bytes]:
    """The record ids the readable items of a retraction or due-process entry concern, each once, in order."""
    decode = _DECODERS.get(entry.kind)
    if decode is None:
        return []
    seen: dict[bytes, None] = {}
    for item in entry.items:
        try:
            seen.setdefault(decode(item).record_id, None)
        except EncodingError:
            continue
    return list(seen)


@dataclass(frozen=True)
class RecordHistory:
    """The verified items about one record, by kind."""

    record_id: bytes
    opinions: tuple[VerifiedItem[OpinionItem], ...] = ()
    appeals: tuple[VerifiedItem[AppealItem], ...] = ()
    decisions: tuple[VerifiedItem[DecisionItem], ...] = ()
    retractions: tuple[VerifiedItem[RetractionItem], ...] = ()

    @classmethod
    def from_entries(cls, record_id: bytes, entries: Iterable[Entry]) -> RecordHistory:
        """Gathers the items about `record_id` from entries the caller verified; other kinds are ignored."""
        by_kind: dict[int, list[VerifiedItem[Any]]] = {kind: [] for kind in _DECODERS}
        for entry in entries:
            author, timestamp_ms = entry.header.author, entry.header.timestamp_ms
            for item in items_about(entry, record_id):
                by_kind[entry.kind].append(VerifiedItem(author, timestamp_ms, entry.entry_id, item))
        return cls(
            record_id,
            opinions=tuple(by_kind[EntryKind.OPINION]),
            appeals=tuple(by_kind[EntryKind.APPEAL]),
            decisions=tuple(by_kind[EntryKind.DECISION]),
            retractions=tuple(by_kind[EntryKind.RETRACTION]),
        )

    def cases(self, authority: DecisionAuthority) -> tuple[VerifiedItem[AppealItem], ...]:
        """The appeals, then the cases opened by disputes under the consortium's policy (whose reports an upheld
        appeal reviewed do not count)."""
        appeals = resolve_record(self.appeals, self.decisions, authority)
        reviewed = max(
            (r.effective.timestamp_ms for r in appeals.resolutions if r.effective and r.outcome is Outcome.UPHELD),
            default=-1,
        )
        disputes = dispute_cases(self.record_id, self.opinions, self.decisions, authority, reviewed)
        return (*self.appeals, *disputes)

    def resolve(self, authority: DecisionAuthority) -> RecordAppeals:
        """Every appeal and dispute case of the record, resolved."""
        return resolve_record(self.cases(authority), self.decisions, authority)

    def evidence(self, authority: DecisionAuthority) -> Evidence:
        return Evidence(self.opinions, self.resolve(authority).resolutions, self.retractions)


def derive_verdict(
    facts: RecordFacts, history: RecordHistory, authority: DecisionAuthority, config: PolicyConfig
) -> Verdict:
    """The record's standing under `config`. With the default `PolicyConfig()` nothing is withheld: the
    verdict is then the consortium-wide part only (active, retracted or overturned)."""
    return evaluate(facts, history.evidence(authority), config, authority.quarantine)
