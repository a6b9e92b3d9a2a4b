"""Near-duplicate video matching (vPDQ) over the one PDQ index.

A stored video's frames go into the same `PdqIndex` as images' PDQ hashes, no second copy: each of its usable
distinct frames (quality >= `QUALITY_FLOOR`, one row per distinct PDQ hash) is a row whose key says which
video and which of its distinct frames it is (`frame_key`). Image keys are store ordinals, far below
`FRAME_KEY_FLAG`; so one lookup tells frames from images, and each side filters the other out.

Matching follows vPDQ's rule (python-threatexchange's `VPDQIndex`, Meta's reference matcher):
- frames below the quality floor are ignored on both sides, and each side's frames are deduplicated by hash;
- a query frame matches a stored frame within Hamming distance `FRAME_DISTANCE` (31), whatever the threshold
  asked of image queries;
- query-match % is the share of the query's distinct usable frames that match some frame of the stored video,
  compared-match % the share of the stored video's distinct usable frames that some query frame matches;
- a stored video matches when it shares at least one frame and both percentages reach their thresholds.

`compare_features` computes that by brute force: the oracle the index path is tested against.

How `VideoIndex.match` stays fast (a 10-minute query at one frame per second is 600 lookups): a stored video
can reach a query-match threshold T only if at most `miss = N - ceil(T% of N)` of the N query frames miss it,
so among any `s > miss` of the query frames at least `s - miss` hit it. One batch lookup of such a sample (the
compiled kernel, threads for large ones) names the candidates; each is then compared in full with the query,
by a compiled scan of its frames, read from the store through the caller's `frames_of`. At threshold 0 the
sample is every frame. Either way the answer is exactly the brute-force one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from node.core.vpdq import FRAME_BYTES, FRAME_DISTANCE, HEAD_BYTES, QUALITY_FLOOR, VpdqFeatures
from node.index import flat
from node.index.mih import Int64s
from node.index.pdq import IndexArgumentError, PdqIndex

FRAME_KEY_FLAG: Final = 1 << 62
"""Set in every frame key; store ordinals (image keys) stay below it."""
RANK_BITS: Final = 24
MAX_FRAMES: Final = 1 << RANK_BITS
"""Distinct usable frames one stored video may index (16.7M: 155 hours at 30 frames/s)."""
MAX_VIDEO_ORDINAL: Final = (1 << (62 - RANK_BITS)) - 1

DEFAULT_QUERY_PERCENT: Final = 80.0
DEFAULT_COMPARED_PERCENT: Final = 0.0

# Matched samples at most this many sampling intervals apart join one time range: one or two samples between
# them that did not match (or were of low quality: fades, black frames) do not split it.
GAP_INTERVALS: Final = 3
# The lookup sample is sized so that a candidate must be hit by at least this share of it (see the module
# docstring): larger samples cost lookups, smaller ones let through more candidates to compare in full.
_SAMPLE_HIT_SHARE: Final = 0.2
# Lookups of at least this many frames are split over two threads (the kernel releases the GIL).
_PARALLEL_MIN_FRAMES: Final = 64
_RANK_MASK: Final = MAX_FRAMES - 1
_VIDEO_MASK: Final = MAX_VIDEO_ORDINAL

# A frame of the canonical encoding (node/core/vpdq.py, docs/protocol.md "vPDQ features"), read without decoding
# each frame into an object: a stored record's features are read this way for every candidate.
_FRAME_DTYPE: Final = np.dtype([("pdq", "u1", (32,)), ("quality", "u1"), ("frame_number", ">u4"), ("time", ">u4")])
_INTERVAL: Final = np.dtype(">u4")
assert _FRAME_DTYPE.itemsize == FRAME_BYTES

_pool: ThreadPoolExecutor | None = None


@dataclass(frozen=True)
class TimeRange:
    """A stretch of a video, `[start_ms, end_ms)`."""

    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class FrameSet:
    """A video's features as matching sees them.

    `hashes` are its distinct usable frames (quality >= the floor) in order of first appearance, `rank_of_frame`
    maps each frame of the video to its distinct frame (-1: below the quality floor), `timestamps_ms` are the
    frames' times and `step_ms` the sampling interval (from the features, or the frames' median spacing).
    """

    hashes: npt.NDArray[np.uint8]
    rank_of_frame: npt.NDArray[np.int32]
    timestamps_ms: Int64s
    step_ms: int

    @classmethod
    def of(cls, features: VpdqFeatures) -> FrameSet:
        frames = features.frames
        n = len(frames)
        pdq = np.frombuffer(b"".join(f.pdq for f in frames), dtype=np.uint8).reshape(n, flat.HASH_BYTES)
        quality = np.fromiter((f.quality for f in frames), dtype=np.int32, count=n)
        times = np.fromiter((f.timestamp_ms for f in frames), dtype=np.int64, count=n)
        return cls._of_arrays(pdq, quality, times, features.interval_ms)

    @classmethod
    def from_value(cls, value: bytes) -> FrameSet:
        """The frames of a stored vpdq record's value (`VpdqFeatures.encode()`, validated when it was stored)."""
        interval_ms = int(np.frombuffer(value, _INTERVAL, 1, offset=1)[0])
        frames = np.frombuffer(value, _FRAME_DTYPE, offset=HEAD_BYTES)
        pdq = np.ascontiguousarray(frames["pdq"])
        return cls._of_arrays(pdq, frames["quality"].astype(np.int32), frames["time"].astype(np.int64), interval_ms)

    @classmethod
    def _of_arrays(
        cls, pdq: npt.NDArray[np.uint8], quality: npt.NDArray[np.int32], times: Int64s, interval_ms: int
    ) -> FrameSet:
        n = len(pdq)
        rank_of_frame = np.full(n, -1, dtype=np.int32)
        usable = np.flatnonzero(quality >= QUALITY_FLOOR)
        if len(usable) == 0:
            return cls(np.empty((0, flat.HASH_BYTES), np.uint8), rank_of_frame, times, _step(interval_ms, times))
        rows = np.ascontiguousarray(pdq[usable]).view(f"V{flat.HASH_BYTES}").ravel()
        _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
        by_appearance = np.argsort(first, kind="stable")
        rank = np.empty(len(first), dtype=np.int32)
        rank[by_appearance] = np.arange(len(first), dtype=np.int32)
        rank_of_frame[usable] = rank[inverse.ravel()]
        hashes = np.ascontiguousarray(pdq[usable[first[by_appearance]]])
        return cls(hashes, rank_of_frame, times, _step(interval_ms, times))

    def __len__(self) -> int:
        """Distinct usable frames."""
        return len(self.hashes)

    def ranges(self, matched: npt.NDArray[np.bool_]) -> tuple[TimeRange, ...]:
        """The time ranges of the frames whose distinct frame is `matched` (a mask over the distinct frames).

        A range runs from a matched frame's time to the last matched frame's time plus one sampling interval;
        matched frames at most `GAP_INTERVALS` intervals apart join one range.
        """
        usable = self.rank_of_frame >= 0
        hit = np.zeros(len(self.rank_of_frame), dtype=bool)
        hit[usable] = matched[self.rank_of_frame[usable]]
        times = np.sort(self.timestamps_ms[hit])
        if len(times) == 0:
            return ()
        step = max(1, self.step_ms)
        breaks = np.flatnonzero(np.diff(times) > GAP_INTERVALS * step)
        starts = np.concatenate([times[:1], times[breaks + 1]])
        ends = np.concatenate([times[breaks], times[-1:]]) + step
        return tuple(TimeRange(int(a), int(b)) for a, b in zip(starts.tolist(), ends.tolist(), strict=True))


@dataclass(frozen=True)
class VideoComparison:
    """How a query video and a stored video match, by vPDQ's rule."""

    query_matched: int  # distinct usable query frames that match some frame of the stored video
    query_frames: int  # distinct usable query frames
    compared_matched: int  # distinct usable stored frames that some query frame matches
    compared_frames: int  # distinct usable stored frames
    query_ranges: tuple[TimeRange, ...] = ()
    stored_ranges: tuple[TimeRange, ...] = ()

    @property
    def query_match_percent(self) -> float:
        return self.query_matched * 100 / self.query_frames if self.query_frames else 0.0

    @property
    def compared_match_percent(self) -> float:
        return self.compared_matched * 100 / self.compared_frames if self.compared_frames else 0.0

    def matches(self, query_percent: float, compared_percent: float) -> bool:
        """vPDQ's verdict: some frame shared, and both percentages at least their thresholds."""
        return (
            self.query_matched > 0
            and self.query_match_percent >= query_percent
            and self.compared_match_percent >= compared_percent
        )


@dataclass(frozen=True)
class VideoMatch:
    """A stored video (its key, the store ordinal of its record) that a query video matched."""

    ordinal: int
    comparison: VideoComparison


def compare_features(query: VpdqFeatures, stored: VpdqFeatures) -> VideoComparison:
    """vPDQ's comparison of two videos by brute force: the oracle of `VideoIndex.match`.

    Deliberately independent of the index: numpy's XOR and popcount over every pair of distinct usable frames.
    """
    q, s = FrameSet.of(query), FrameSet.of(stored)
    left, right = q.hashes.view(np.uint64), s.hashes.view(np.uint64)  # (n, 4) words
    near = np.zeros((len(q), len(s)), dtype=bool)
    for start in range(0, len(q), 64):  # blocks of query frames: bounded temporaries
        block = np.bitwise_count(left[start : start + 64, None, :] ^ right[None, :, :]).sum(axis=2)
        near[start : start + 64] = block <= FRAME_DISTANCE
    query_hit = np.any(near, axis=1, keepdims=False).astype(bool)
    stored_hit = np.any(near, axis=0, keepdims=False).astype(bool)
    return _comparison(q, s, query_hit, stored_hit)


def check_percent(field: str, value: float) -> float:
    """A match-percent threshold, 0..100.

    Raises:
        IndexArgumentError: not a number in range.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise IndexArgumentError(field, value, "a percentage 0..100")
    return float(value)


def frame_keys(ordinal: int, frames: int) -> Int64s:
    """The index keys of a stored video's distinct frames: the flag, the video's store ordinal, the rank."""
    if not 0 <= ordinal <= MAX_VIDEO_ORDINAL:
        raise IndexArgumentError("ordinal", ordinal, f"0..{MAX_VIDEO_ORDINAL} for a video")
    if frames > MAX_FRAMES:
        raise IndexArgumentError("frames", frames, f"at most {MAX_FRAMES} distinct usable frames")
    return FRAME_KEY_FLAG | (ordinal << RANK_BITS) | np.arange(frames, dtype=np.int64)


def video_rows(ordinal: int, value: bytes) -> tuple[Int64s, npt.NDArray[np.uint8]]:
    """(keys, hashes) of the index rows of the stored vpdq record at `ordinal` whose value is `value`."""
    frames = FrameSet.from_value(value)
    return frame_keys(ordinal, len(frames)), frames.hashes


def is_frame_key(keys: Int64s) -> npt.NDArray[np.bool_]:
    """Which index keys are video frames (the rest are images' store ordinals)."""
    return keys >= FRAME_KEY_FLAG


def video_of(keys: Int64s) -> Int64s:
    """The store ordinal of the video each frame key belongs to."""
    return (keys >> RANK_BITS) & _VIDEO_MASK


class VideoIndex:
    """vPDQ matching over a `PdqIndex` shared with images: adds, removes and matches stored videos' frames."""

    def __init__(self, index: PdqIndex) -> None:
        self.index = index

    def add(self, videos: Iterable[tuple[int, FrameSet]]) -> int:
        """Adds stored videos, keyed by their store ordinals, in one index call; returns the rows added.

        A video without a usable frame adds nothing (it can never match).
        """
        keys, hashes = [], []
        for ordinal, frames in videos:
            keys.append(frame_keys(ordinal, len(frames)))
            hashes.append(frames.hashes)
        if not keys:
            return 0
        all_keys = np.concatenate(keys)
        if len(all_keys):
            self.index.add(all_keys, np.concatenate(hashes))
        return len(all_keys)

    def remove(self, videos: Iterable[tuple[int, FrameSet]]) -> None:
        """Stops stored videos matching (their rows are marked dead at once)."""
        keys = [frame_keys(ordinal, len(frames)) for ordinal, frames in videos]
        if keys:
            self.index.remove(np.concatenate(keys))

    def match(
        self,
        query: FrameSet,
        frames_of: Callable[[int], FrameSet | None],
        query_percent: float = DEFAULT_QUERY_PERCENT,
        compared_percent: float = DEFAULT_COMPARED_PERCENT,
    ) -> list[VideoMatch]:
        """The stored videos `query` matches by vPDQ's rule, by ordinal, with their comparisons.

        `frames_of(ordinal)` gives a candidate's frames (its stored record), or None when it no longer matches.

        Raises:
            IndexArgumentError: a threshold out of range, or a query without a usable frame.
        """
        query_percent = check_percent("query_match_percent", query_percent)
        compared_percent = check_percent("compared_match_percent", compared_percent)
        n = len(query)
        if n == 0:
            raise IndexArgumentError("frames", "no frame of quality >= 50", "at least one usable frame")
        need = _least_hits(n, query_percent)
        if need > n:
            return []
        miss = n - need
        sample = min(n, max(miss + 1, math.ceil(miss / (1 - _SAMPLE_HIT_SHARE))))
        picked = np.arange(sample, dtype=np.int64) * n // sample  # spread over the video, all distinct
        found: list[VideoMatch] = []
        for ordinal in self._candidates(query.hashes[picked], sample - miss).tolist():
            stored = frames_of(ordinal)
            if stored is None or len(stored) == 0:
                continue
            comparison = compare_frames(query, stored)
            if comparison.matches(query_percent, compared_percent):
                found.append(VideoMatch(ordinal, comparison))
        return found

    def _candidates(self, hashes: npt.NDArray[np.uint8], least: int) -> Int64s:
        """Stored videos hit by at least `least` of the distinct frames `hashes`."""
        query_idx, keys = _lookup(self.index, hashes)
        frames = is_frame_key(keys)
        videos, query_idx = video_of(keys[frames]), query_idx[frames]
        if len(videos) == 0:
            return np.empty(0, np.int64)
        pairs = np.unique((videos << RANK_BITS) | query_idx)  # each (video, query frame) once
        video, hits = np.unique(pairs >> RANK_BITS, return_counts=True)
        chosen: Int64s = video[hits >= least]
        return chosen


def compare_frames(query: FrameSet, stored: FrameSet) -> VideoComparison:
    """vPDQ's comparison of two prepared videos: every pair of distinct frames, by the compiled scan."""
    query_idx, rows, _ = flat.scan(flat.as_words(stored.hashes), flat.as_words(query.hashes), FRAME_DISTANCE)
    query_hit = np.zeros(len(query), dtype=bool)
    stored_hit = np.zeros(len(stored), dtype=bool)
    query_hit[query_idx] = True
    stored_hit[rows] = True
    return _comparison(query, stored, query_hit, stored_hit)


def _comparison(
    query: FrameSet, stored: FrameSet, query_hit: npt.NDArray[np.bool_], stored_hit: npt.NDArray[np.bool_]
) -> VideoComparison:
    return VideoComparison(
        int(query_hit.sum()),
        len(query),
        int(stored_hit.sum()),
        len(stored),
        query.ranges(query_hit),
        stored.ranges(stored_hit),
    )


def _least_hits(n: int, percent: float) -> int:
    """The fewest matched frames of `n` whose share (computed as the verdict computes it) reaches `percent`;
    at least 1, and `n + 1` when none does."""
    hits = max(1, math.ceil(percent * n / 100) - 1)
    while hits <= n and hits * 100 / n < percent:
        hits += 1
    return hits


def _lookup(index: PdqIndex, hashes: npt.NDArray[np.uint8]) -> tuple[Int64s, Int64s]:
    """`(query_idx, key)` of every indexed hash within `FRAME_DISTANCE` of each of `hashes`: in two halves on
    two threads when there are many (each half a batch call of the compiled kernel)."""
    global _pool
    if len(hashes) < _PARALLEL_MIN_FRAMES:
        query_idx, keys, _ = index.query(hashes, FRAME_DISTANCE)
        return query_idx.astype(np.int64), keys
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="vpdq-lookup")
    half = len(hashes) // 2
    parts = list(_pool.map(lambda part: index.query(part, FRAME_DISTANCE), (hashes[:half], hashes[half:])))
    return (
        np.concatenate([parts[0][0].astype(np.int64), parts[1][0].astype(np.int64) + half]),
        np.concatenate([parts[0][1], parts[1][1]]),
    )


def _step(interval_ms: int, times: Int64s) -> int:
    if interval_ms > 0:
        return interval_ms
    spacing = np.diff(times)
    spacing = spacing[spacing > 0]
    return int(np.median(spacing)) if len(spacing) else 1

