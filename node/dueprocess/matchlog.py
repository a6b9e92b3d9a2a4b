"""The local match log: which of this member's content matched which record, kept for a bounded time so that
an overturned record can be followed by reinstatement notices (docs/due-process.md, "Match log").

The log is local and private: it is never replicated, and only its counts appear in transparency reports. This
module is the model and the interface; the LMDB-backed log implements `MatchLog` in the same transactions as
the match it records.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from node.core.errors import InvalidArgument
from node.index.video import VideoComparison

DAY_MS = 86_400_000
DEFAULT_RETENTION_MS = 180 * DAY_MS


def is_query_id(text: str) -> bool:
    """Whether `text` has the shape of a query id (`QueryResult.query_id`): 16 lowercase hex digits."""
    return len(text) == 16 and all(c in "0123456789abcdef" for c in text)


@dataclass(frozen=True)
class MatchLogEntry:
    time_ms: int
    record_id: bytes
    distance: int
    content_ref: str  # the platform's own reference to the matched content (from the query); may be empty
    query_id: str  # the node's id of the query that produced the match
    video: VideoComparison | None = None  # a video query's match (vpdq): both percentages and matched ranges


@dataclass(frozen=True)
class Retention:
    max_age_ms: int = DEFAULT_RETENTION_MS

    def __post_init__(self) -> None:
        if self.max_age_ms <= 0:
            raise InvalidArgument("match_log.retention_ms", self.max_age_ms, "> 0")

    def cutoff(self, now_ms: int) -> int:
        """Entries strictly older than this are dropped."""
        return now_ms - self.max_age_ms


class MatchLogReader(Protocol):
    def since(self, since_ms: int, record_ids: Collection[bytes] | None = None) -> Iterator[MatchLogEntry]:
        """Entries with time_ms >= since_ms (about `record_ids` only, when given), oldest first."""
        ...


class MatchLog(MatchLogReader, Protocol):
    def append(self, entries: Iterable[MatchLogEntry]) -> None: ...

    def prune(self, before_ms: int) -> int:
        """Drops entries with time_ms < before_ms; returns how many."""
        ...


class MemoryMatchLog:
    """A `MatchLog` in memory: the model the store-backed log must agree with, and a test double."""

    def __init__(self, entries: Iterable[MatchLogEntry] = ()) -> None:
        self._entries: list[MatchLogEntry] = []
        self.append(entries)

    def append(self, entries: Iterable[MatchLogEntry]) -> None:
        self._entries.extend(entries)
        self._entries.sort(key=lambda e: (e.time_ms, e.query_id, e.record_id))

    def since(self, since_ms: int, record_ids: Collection[bytes] | None = None) -> Iterator[MatchLogEntry]:
        wanted = None if record_ids is None else set(record_ids)
        for entry in self._entries:
            if entry.time_ms >= since_ms and (wanted is None or entry.record_id in wanted):
                yield entry

    def prune(self, before_ms: int) -> int:
        kept = [e for e in self._entries if e.time_ms >= before_ms]
        dropped = len(self._entries) - len(kept)
        self._entries = kept
        return dropped

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(frozen=True)
class ReinstateNotice:
    """Content of this member that matched records since overturned: a candidate for reinstatement.

    `still_matched` lists the other records the same content matched in the same period; while any of them
    still matches, the action taken on the content may rest on it, and a person has to look before
    reinstating.
    """

    content_ref: str  # empty when the queries carried no content reference: see query_ids
    overturned: tuple[bytes, ...]
    still_matched: tuple[bytes, ...]
    query_ids: tuple[str, ...]
    first_matched_ms: int
    last_matched_ms: int
    # The statements of reasons this node issued about the content that rest on an overturned record: the
    # platform withdraws or updates them (node/dueprocess/statement.py).
    statement_ids: tuple[str, ...] = ()
    # The content's video matches of the overturned records (vpdq): query id, record id, the comparison.
    videos: tuple[tuple[str, bytes, VideoComparison], ...] = ()

    @property
    def cleared(self) -> bool:
        return not self.still_matched


def _group_key(entry: MatchLogEntry) -> tuple[str, str]:
    # Matches without a content reference cannot be tied to each other: each query is its own group.
    return (entry.content_ref, "") if entry.content_ref else ("", entry.query_id)


def reinstate_notices(
    log: MatchLogReader, overturned_record_ids: Collection[bytes], since_ms: int
) -> list[ReinstateNotice]:
    """One notice per content that matched an overturned record since `since_ms`, ordered by content ref.

    The log holds only what retention kept: matches older than the retention window produce no notice.
    """
    overturned = set(overturned_record_ids)
    groups: dict[tuple[str, str], list[MatchLogEntry]] = {}
    for entry in log.since(since_ms):
        groups.setdefault(_group_key(entry), []).append(entry)
    notices = []
    for key in sorted(groups):
        entries = groups[key]
        hit = sorted({e.record_id for e in entries if e.record_id in overturned})
        if not hit:
            continue
        notices.append(
            ReinstateNotice(
                content_ref=key[0],
                overturned=tuple(hit),
                still_matched=tuple(sorted({e.record_id for e in entries} - overturned)),
                query_ids=tuple(sorted({e.query_id for e in entries})),
                first_matched_ms=min(e.time_ms for e in entries),
                last_matched_ms=max(e.time_ms for e in entries),
                videos=tuple(
                    (e.query_id, e.record_id, e.video)
                    for e in entries
                    if e.video is not None and e.record_id in overturned
                ),
            )
        )
    return notices
