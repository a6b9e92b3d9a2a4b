"""vPDQ video features: a video's hash as the list of its sampled frames' PDQ hashes (docs/protocol.md, "vPDQ
features").

A `vpdq` record's `value` is `VpdqFeatures.encode()`: a version byte, the sampling interval, the frame count and
fixed-size frames. There is exactly one encoding of a feature list: frames strictly ascending by frame number,
timestamps non-decreasing, qualities 0..100, 1..MAX_FRAMES frames; `decode` refuses anything else.

`compare_features` is vPDQ's matching rule by brute force (docs/video.md, "Matching rule").
"""

from __future__ import annotations

import itertools
import json
import math
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from node.core.errors import EncodingError, InvalidArgument

QUALITY_FLOOR = 50  # frames below are ignored in matching (vPDQ's rule)
FRAME_DISTANCE = 31  # a frame matches within this PDQ distance (vPDQ's rule)
FORMAT_VERSION = 1
PDQ_BYTES = 32
MAX_FRAMES = 6000  # 100 minutes at python-threatexchange's default of one frame per second
MAX_U32 = 0xFFFF_FFFF
_HEX_DIGITS = frozenset("0123456789abcdef")

_HEAD = struct.Struct(">BII")  # version, interval_ms, frame count
_FRAME = struct.Struct(">32sBII")  # pdq, quality, frame_number, timestamp_ms
HEAD_BYTES = _HEAD.size  # 9
FRAME_BYTES = _FRAME.size  # 41
MAX_ENCODED_BYTES = HEAD_BYTES + MAX_FRAMES * FRAME_BYTES


@dataclass(frozen=True)
class VpdqFrame:
    """One sampled frame: its PDQ hash, the hash's quality, its position in the video and its time."""

    pdq: bytes  # 32 bytes
    quality: int  # 0..100
    frame_number: int  # >= 0, strictly ascending within a video
    timestamp_ms: int  # >= 0, non-decreasing


@dataclass(frozen=True)
class VpdqFeatures:
    """A video's frame features in canonical order. Construct with `create` (validates) or `decode`."""

    frames: tuple[VpdqFrame, ...]
    interval_ms: int  # sampling: one frame every interval_ms; 0 = every frame

    @classmethod
    def create(cls, frames: Iterable[VpdqFrame], interval_ms: int, field: str = "features") -> VpdqFeatures:
        """Validates a feature list as a caller gives it; every error names the field, e.g.
        `features.frames[3].timestamp_ms: got 900, want >= 1000 (the previous frame's; non-decreasing)`.

        Frames must already be in order: a list out of order is refused, not sorted, since it says the producer
        mixed up its frames.
        """
        _check_u32(interval_ms, f"{field}.interval_ms", "milliseconds between sampled frames, 0..4294967295")
        frames = tuple(frames)
        if not 1 <= len(frames) <= MAX_FRAMES:
            raise InvalidArgument(f"{field}.frames", f"{len(frames)} frames", f"1..{MAX_FRAMES}")
        previous: VpdqFrame | None = None
        for i, frame in enumerate(frames):
            _check_frame(frame, previous, f"{field}.frames[{i}]")
            previous = frame
        return cls(frames, interval_ms)

    @classmethod
    def from_json(cls, doc: object, field: str = "video") -> VpdqFeatures:
        """The features of an `as_json` document (a JSONL file's `video`), validated like `create`; every error
        names the key, e.g. `video.frames[2].pdq`."""
        if not isinstance(doc, dict):
            raise InvalidArgument(field, _json_shown(doc), 'an object {"interval_ms": ..., "frames": [...]}')
        _no_other_keys(doc, ("interval_ms", "frames"), field)
        frames = doc.get("frames")
        if not isinstance(frames, list):
            raise InvalidArgument(f"{field}.frames", _json_shown(frames), "a list of frame objects")
        return cls.create(
            [_frame_from_json(item, f"{field}.frames[{i}]") for i, item in enumerate(frames)],
            _json_int(doc.get("interval_ms"), f"{field}.interval_ms"),
            field,
        )

    @classmethod
    def from_hex(cls, text: str, field: str = "value") -> VpdqFeatures:
        """Features from the hex of their canonical encoding (a CSV file's `value` cell)."""
        try:
            data = bytes.fromhex(text.strip())
        except ValueError:
            raise InvalidArgument(field, text[:40] + "…" * (len(text) > 40), _HEX_WANT) from None
        try:
            return cls.decode(data)
        except EncodingError as exc:
            raise InvalidArgument(field, exc.message, _HEX_WANT) from None

    def encode(self) -> bytes:
        parts = [_HEAD.pack(FORMAT_VERSION, self.interval_ms, len(self.frames))]
        parts.extend(_FRAME.pack(f.pdq, f.quality, f.frame_number, f.timestamp_ms) for f in self.frames)
        return b"".join(parts)

    @classmethod
    def decode(cls, data: bytes) -> VpdqFeatures:
        """Decodes a canonical feature list; anything else is an EncodingError naming the rule broken."""
        if len(data) < HEAD_BYTES:
            raise EncodingError(f"vpdq features: got {len(data)} bytes, want at least {HEAD_BYTES}")
        version, interval_ms, count = _HEAD.unpack_from(data, 0)
        if version != FORMAT_VERSION:
            raise EncodingError(f"vpdq features: version: got {version}, want {FORMAT_VERSION}")
        if not 1 <= count <= MAX_FRAMES:
            raise EncodingError(f"vpdq features: frame count: got {count}, want 1..{MAX_FRAMES}")
        if len(data) != HEAD_BYTES + count * FRAME_BYTES:
            raise EncodingError(
                f"vpdq features: got {len(data)} bytes, want {HEAD_BYTES + count * FRAME_BYTES} for {count} frames"
            )
        frames = tuple(
            VpdqFrame(bytes(pdq), quality, number, timestamp)
            for pdq, quality, number, timestamp in _FRAME.iter_unpack(memoryview(data)[HEAD_BYTES:])
        )
        for i, frame in enumerate(frames):
            if frame.quality > 100:
                raise EncodingError(f"vpdq features: frames[{i}].quality: got {frame.quality}, want 0..100")
        for i, (a, b) in enumerate(itertools.pairwise(frames), start=1):
            if b.frame_number <= a.frame_number:
                raise EncodingError(
                    f"vpdq features: frames[{i}].frame_number: got {b.frame_number}, want > {a.frame_number}"
                )
            if b.timestamp_ms < a.timestamp_ms:
                raise EncodingError(
                    f"vpdq features: frames[{i}].timestamp_ms: got {b.timestamp_ms}, want >= {a.timestamp_ms}"
                )
        return cls(frames, interval_ms)

    @property
    def matchable(self) -> int:
        """How many frames reach the quality floor (the frames matching uses)."""
        return sum(1 for f in self.frames if f.quality >= QUALITY_FLOOR)

    @property
    def record_quality(self) -> int:
        """The record's quality byte: the percentage of frames at or above the quality floor, rounded up, so that
        it is 0 exactly when no frame can match."""
        return math.ceil(100 * self.matchable / len(self.frames))

    @property
    def duration_ms(self) -> int:
        """The last frame's timestamp: how long the sampled part of the video runs."""
        return self.frames[-1].timestamp_ms

    def as_json(self) -> dict[str, object]:
        """The features as JSON-ready values, the shape `--json` output, JSONL files and the Node verifier use:
        `{"interval_ms": 1000, "frames": [{"pdq": hex, "quality": 0..100, "frame_number": n, "timestamp_ms": t}]}`.
        """
        return {
            "interval_ms": self.interval_ms,
            "frames": [
                {
                    "pdq": f.pdq.hex(), "quality": f.quality, "frame_number": f.frame_number,
                    "timestamp_ms": f.timestamp_ms,
                }
                for f in self.frames
            ],
        }

    def summary(self) -> str:
        """One line for people: how many frames, over how long, how many can match."""
        sampling = f"one every {self.interval_ms} ms" if self.interval_ms else "every frame"
        return (
            f"{len(self.frames)} frames over {_clock(self.duration_ms)} ({sampling}), "
            f"{self.matchable} of quality >= {QUALITY_FLOOR}"
        )


def _clock(ms: int) -> str:
    seconds = ms // 1000
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


_HEX_WANT = "the hex of canonical vpdq features (docs/protocol.md, vPDQ features)"
_FRAME_KEYS = ("pdq", "quality", "frame_number", "timestamp_ms")


def _json_shown(value: object) -> str:
    return json.dumps(value)[:80] if value is not None else "nothing"


def _no_other_keys(doc: dict[str, object], allowed: tuple[str, ...], field: str) -> None:
    unknown = sorted(set(doc) - set(allowed))
    if unknown:
        raise InvalidArgument(f"{field}.{unknown[0]}", "an unknown key", "one of " + ", ".join(allowed))


def _json_int(value: object, field: str) -> int:
    # bool is an int in Python; true is not a number here.
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(field, _json_shown(value), "an integer")
    return value


def _frame_from_json(item: object, field: str) -> VpdqFrame:
    if not isinstance(item, dict):
        raise InvalidArgument(field, _json_shown(item), "an object with " + ", ".join(_FRAME_KEYS))
    _no_other_keys(item, _FRAME_KEYS, field)
    pdq = item.get("pdq")
    if not isinstance(pdq, str) or len(pdq) != 2 * PDQ_BYTES or not set(pdq.lower()) <= _HEX_DIGITS:
        raise InvalidArgument(f"{field}.pdq", _json_shown(pdq), f"{2 * PDQ_BYTES} hex characters (a PDQ hash)")
    return VpdqFrame(
        bytes.fromhex(pdq),
        _json_int(item.get("quality"), f"{field}.quality"),
        _json_int(item.get("frame_number"), f"{field}.frame_number"),
        _json_int(item.get("timestamp_ms"), f"{field}.timestamp_ms"),
    )


def _check_u32(value: object, field: str, want: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_U32:
        raise InvalidArgument(field, value, want)


def _check_frame(frame: VpdqFrame, previous: VpdqFrame | None, field: str) -> None:
    if not isinstance(frame.pdq, bytes) or len(frame.pdq) != PDQ_BYTES:
        shown = f"{len(frame.pdq)} bytes" if isinstance(frame.pdq, bytes) else frame.pdq
        raise InvalidArgument(f"{field}.pdq", shown, f"{PDQ_BYTES} bytes (a PDQ hash)")
    if not isinstance(frame.quality, int) or isinstance(frame.quality, bool) or not 0 <= frame.quality <= 100:
        raise InvalidArgument(f"{field}.quality", frame.quality, "an integer 0..100")
    _check_u32(frame.frame_number, f"{field}.frame_number", "an integer 0..4294967295")
    _check_u32(frame.timestamp_ms, f"{field}.timestamp_ms", "milliseconds 0..4294967295")
    if previous is None:
        return
    if frame.frame_number <= previous.frame_number:
        raise InvalidArgument(
            f"{field}.frame_number", frame.frame_number,
            f"> {previous.frame_number} (the previous frame's; frames strictly ascending by frame number)",
        )
    if frame.timestamp_ms < previous.timestamp_ms:
        raise InvalidArgument(
            f"{field}.timestamp_ms", frame.timestamp_ms,
            f">= {previous.timestamp_ms} (the previous frame's; timestamps non-decreasing)",
        )


def check_matchable(features: VpdqFeatures, field: str = "features") -> None:
    """A contribution must have a frame matching can use (vPDQ ignores frames below the quality floor)."""
    if features.matchable == 0:
        best = max(f.quality for f in features.frames)
        raise InvalidArgument(
            f"{field}.frames", f"no frame of quality >= {QUALITY_FLOOR} (best {best})",
            f"at least one frame of quality >= {QUALITY_FLOOR}: frames below are never matched",
        )


def compare_features(query: VpdqFeatures, stored: VpdqFeatures) -> tuple[float, float]:
    """vPDQ's match percentages of two videos, by brute force: (query %, compared %).

    The rule of python-threatexchange's VPDQIndex: frames of quality below QUALITY_FLOOR are ignored, then
    frames with the same PDQ hash count once; a frame matches when a frame of the other video is within
    FRAME_DISTANCE bits (inclusive). The query % is the share of the query's frames that match, the compared %
    the share of the stored video's. A video with no frame left matches nothing: (0.0, 0.0).
    """
    import numpy

    left, right = _matchable_words(query), _matchable_words(stored)
    if len(left) == 0 or len(right) == 0:
        return 0.0, 0.0
    distances = numpy.zeros((len(left), len(right)), dtype=numpy.uint16)
    for word in range(left.shape[1]):  # Hamming distance, 64 bits at a time
        distances += numpy.bitwise_count(left[:, word, None] ^ right[None, :, word])
    close = distances <= FRAME_DISTANCE
    return 100.0 * int(close.any(axis=1).sum()) / len(left), 100.0 * int(close.any(axis=0).sum()) / len(right)


def _matchable_words(features: VpdqFeatures) -> Any:
    """The unique PDQ hashes of frames at or above the quality floor, as rows of four 64-bit words."""
    import numpy

    unique = dict.fromkeys(f.pdq for f in features.frames if f.quality >= QUALITY_FLOOR)
    return numpy.frombuffer(b"".join(unique), dtype=">u8").reshape(len(unique), 4).astype(numpy.uint64)
