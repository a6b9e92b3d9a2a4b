"""A match call's answer encoded straight into `MatchResponse` wire bytes (protos/hashnode/v1/client.proto).

A batch of 1,000 queries on realistic data answers thousands of hits: built as protobuf message objects they
cost ~3 µs each, more than the index spends finding them. Here each matched record's part of a `Match` is
encoded once per call, and each hit is that part behind its own length and distance, joined as bytes; the
servicer hands the bytes to gRPC as the serialized response (node/server/client_service.py).

The encoding is protobuf's (https://protobuf.dev/programming-guides/encoding/); fields at their default
value (0, "", empty) are left out, as the generated code leaves them out, so a generated parser reads the same
message either way. tests/test_match_wire.py checks the bytes against messages built with the generated code.

  MatchResponse  results = 1 (QueryResult, one per query)
  QueryResult    query_index = 1 (varint), matches = 2 (Match), query_id = 3 (string)
  Match          record = 1 (RecordInfo, with `include_records`), distance = 2 (varint),
                 provenance_ref = 3, policy = 4 (repeated), labels = 5 (repeated), author = 6 (strings),
                 disputed = 7 (varint, only when true), video = 8 (VideoMatch, a video query's hits)
  VideoMatch     query_match_percent = 1, compared_match_percent = 2 (doubles), query_ranges = 3,
                 stored_ranges = 4 (TimeRange: start_ms = 1, end_ms = 2, varints)

A call with video queries is encoded in Python (`encode_in_python`): a video hit's `video` differs from hit to
hit, where the compiled encoder repeats one part per record; such calls have few hits.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from functools import lru_cache

from node.index.video import TimeRange, VideoComparison
from node.ledger.ledger import HitRecord, HitRecords, MatchResults
from node.storage.store import is_disputed_row

try:  # the same encoding in C (setup.py), where it is built
    from node.api._wire import encode as compiled_encode
except ImportError:  # pragma: no cover - depends on the build
    compiled_encode = None  # type: ignore[assignment]

# Tags: field number << 3 | wire type (0 varint, 2 length-delimited).
_RESULT = b"\x0a"
_QUERY_INDEX = b"\x08"
_MATCH = 0x12
_QUERY_ID = b"\x1a"
_RECORD = b"\x0a"
_DISTANCE = 0x10
_PROVENANCE_REF = b"\x1a"
_POLICY = b"\x22"
_LABELS = b"\x2a"
_AUTHOR = b"\x32"
_DISPUTED = b"\x38\x01"  # field 7, varint 1 (true); false is left out
_VIDEO = b"\x42"  # Match.video: field 8, length-delimited
_QUERY_PERCENT, _COMPARED_PERCENT = b"\x09", b"\x11"  # VideoMatch fields 1 and 2: 64-bit (double)
_QUERY_RANGES, _STORED_RANGES = b"\x1a", b"\x22"  # VideoMatch fields 3 and 4
_START, _END = b"\x08", b"\x10"  # TimeRange fields 1 and 2: varints
_DOUBLE = struct.Struct("<d")


def varint(value: int) -> bytes:
    """`value` (>= 0) as a protobuf varint: 7 bits per byte, least significant first."""
    if value < 0x80:
        return _BYTES[value]
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_BYTES = [bytes([i]) for i in range(0x80)]
_SMALL = 1 << 14
# A Match's tag and length, for the lengths most matches have; a distance's field, for every PDQ distance.
_MATCH_HEADS = [bytes([_MATCH]) + varint(n) for n in range(_SMALL)]
_DISTANCES = [b""] + [bytes([_DISTANCE]) + varint(d) for d in range(1, 257)]


def _match_head(size: int) -> bytes:
    return _MATCH_HEADS[size] if size < _SMALL else bytes([_MATCH]) + varint(size)


def _distance(value: int) -> bytes:
    return _DISTANCES[value] if value < len(_DISTANCES) else bytes([_DISTANCE]) + varint(value)


def _string(tag: bytes, value: str) -> bytes:
    data = value.encode("utf-8")
    return tag + varint(len(data)) + data if data else b""


@lru_cache(maxsize=4096)
def _strings(tag: bytes, values: tuple[str, ...]) -> bytes:
    """A repeated string field. Labels, authors and policy notes repeat across records: encoded once each."""
    return b"".join(tag + varint(len(data)) + data for data in (v.encode("utf-8") for v in values))


@lru_cache(maxsize=4096)
def _author(author: str) -> bytes:
    return _string(_AUTHOR, author)


@lru_cache(maxsize=4096)
def _labels(labels: tuple[str, ...]) -> bytes:
    return _strings(_LABELS, labels)


def _empty_result(index: int) -> bytes:
    body = _QUERY_INDEX + varint(index) if index else b""
    return _RESULT + varint(len(body)) + body


_EMPTY_RESULTS = [_empty_result(i) for i in range(10_001)]  # up to the largest batch a node may accept


def _policy_parts(records: HitRecords) -> list[bytes]:
    """Per record, its policy notes and, for a record with an open dispute case, `disputed` (read from the
    stored status once per record): fields are parsed in any order, so both travel where the notes do."""
    return [
        _strings(_POLICY, policy) + (_DISPUTED if is_disputed_row(row) else b"")
        for policy, row in zip(records.policies, records.rows, strict=True)
    ]


def _record_parts(records: HitRecords, record_info: Callable[[HitRecord], bytes] | None) -> list[bytes]:
    """Per record, everything of a `Match` but its distance: the same for every hit of the record."""
    parts = [
        # A record id is 64 hex characters (0x40).
        b"".join((_PROVENANCE_REF, b"\x40", rid.hex().encode("ascii"), policy, labels, author))
        for rid, policy, labels, author in zip(
            records.record_ids,
            _policy_parts(records),
            map(_labels, records.labels),
            map(_author, records.authors),
            strict=True,
        )
    ]
    if record_info is not None:
        for i, part in enumerate(parts):
            info = record_info(records[i])
            parts[i] = part + _RECORD + varint(len(info)) + info
    return parts


def video_match(video: VideoComparison) -> bytes:
    """A `VideoMatch` message's bytes."""
    parts = []
    percents = ((_QUERY_PERCENT, video.query_match_percent), (_COMPARED_PERCENT, video.compared_match_percent))
    for tag, percent in percents:
        if percent:
            parts.append(tag + _DOUBLE.pack(percent))
    for tag, ranges in ((_QUERY_RANGES, video.query_ranges), (_STORED_RANGES, video.stored_ranges)):
        for one in ranges:
            body = _time_range(one)
            parts.append(tag + varint(len(body)) + body)
    return b"".join(parts)


def _time_range(one: TimeRange) -> bytes:
    start = _START + varint(one.start_ms) if one.start_ms else b""
    return start + (_END + varint(one.end_ms) if one.end_ms else b"")


def _video_fields(videos: Sequence[VideoComparison | None] | None) -> list[bytes] | None:
    """Per hit, its `Match.video` field (empty for hits of other queries); None when no hit has one."""
    if videos is None or not any(v is not None for v in videos):
        return None
    out = []
    for video in videos:
        body = b"" if video is None else video_match(video)
        out.append(_VIDEO + varint(len(body)) + body if video is not None else b"")
    return out


def encode(results: MatchResults, record_info: Callable[[HitRecord], bytes] | None = None) -> bytes:
    """The serialized `MatchResponse` of `results`. With `record_info` (a record's serialized `RecordInfo`),
    each match carries its record's details too (`MatchRequest.include_records`). In C where node/api/_wire.c
    is built, else `encode_in_python`: the same bytes."""
    if compiled_encode is None or _video_fields(results.videos) is not None:
        return encode_in_python(results, record_info)
    records = results.records
    infos = None
    if record_info is not None:
        infos = [_RECORD + varint(len(info)) + info for info in (record_info(records[i]) for i in range(len(records)))]
    return bytes(
        compiled_encode(
            records.record_ids,
            records.label_sections,
            records.authors_utf8,
            _policy_parts(records),
            infos,
            results.offsets,
            results.slots,
            results.distances,
            results.query_ids,
        )
    )


def encode_in_python(results: MatchResults, record_info: Callable[[HitRecord], bytes] | None = None) -> bytes:
    """`encode` without the compiled kernel."""
    parts = _record_parts(results.records, record_info)
    offsets, slots, distances, query_ids = results.offsets, results.slots, results.distances, results.query_ids
    videos = _video_fields(results.videos)
    out: list[bytes] = []
    for i in range(len(offsets) - 1):
        lo, hi = offsets[i], offsets[i + 1]
        if lo == hi and not query_ids[i]:
            out.append(_EMPTY_RESULTS[i] if i < len(_EMPTY_RESULTS) else _empty_result(i))
            continue
        body = [_QUERY_INDEX + varint(i)] if i else []
        for h in range(lo, hi):
            slot, d = slots[h], distances[h]
            part = parts[slot] if videos is None else parts[slot] + videos[h]
            if d:
                field = _distance(d)
                body += (_match_head(len(part) + len(field)), field, part)
            else:
                body += (_match_head(len(part)), part)
        if query_ids[i]:
            body.append(_string(_QUERY_ID, query_ids[i]))
        joined = b"".join(body)
        out += (_RESULT, varint(len(joined)), joined)
    return b"".join(out)
