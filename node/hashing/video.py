"""vPDQ features of video files, computed locally with Meta's reference implementation.

`vpdq` (PyPI) is Meta's own vPDQ: Cython over the C++ that decodes with ffmpeg's libraries and hashes frames
with the reference PDQ, so features agree with Meta's reference files (within the distance Meta's regression
test allows, since ffmpeg builds decode and scale slightly differently). It is the optional `video` extra,
imported only when a video is hashed: a node that stores and matches feature lists does not need it.

Sampling: `interval_ms` is vpdq's `seconds_per_hash` in milliseconds. vpdq hashes the frames whose number is a
multiple of `int(interval_ms / 1000 * frame_rate)` (at least 1), so 1000 ms at 30 frames/s is every 30th frame
and 0 is every frame. A feature list holds at most 6000 frames (MAX_FRAMES): every frame fits 200 s of a 30 frames/s
video, one a second 100 minutes; `auto` hashes every frame and, for a longer video, keeps the finest sampling
that fits (every k-th frame of the every-frame hashes: what vpdq hashes at an interval of k frames).

`parse_interval` reads the command line's `--interval-ms` (milliseconds, or `auto`).
"""

from __future__ import annotations

import contextlib
import importlib
import math
import os
import struct
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import IO, Any

from node.core.errors import FailedPrecondition, InvalidArgument
from node.core.vpdq import MAX_FRAMES, MAX_U32, QUALITY_FLOOR, VpdqFeatures, VpdqFrame

DEFAULT_INTERVAL_MS = 1000  # one frame per second: python-threatexchange's default sampling

# Containers recognised by name. Content is recognised too (`is_video`): a video renamed to .bin is still one.
VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".3gp", ".3g2", ".mkv", ".webm", ".avi", ".flv", ".wmv", ".asf", ".mpg", ".mpeg",
     ".ts", ".m2ts", ".mts", ".ogv", ".y4m"}
)
_WANT = "a video file ffmpeg can decode (MP4, WebM, MKV, ...)"
INSTALL_HINT = (
    "pip install 'hashnode-consortium[video]' (vpdq builds from source: it needs cmake, pkg-config and ffmpeg's "
    "development libraries; the README's Install section lists the Debian packages)"
)

# vpdq writes its reason for a failure to the process's standard error (C++ std::cerr, not an exception).
_VPDQ_REASONS = (
    ("No video stream found", "no video stream (an audio-only or empty file)"),
    ("Cannot open video", "not a video ffmpeg can open"),
    ("Processing frame failed", "a damaged or truncated video"),
    ("Flushing frame buffer failed", "a damaged or truncated video"),
)
_MATROSKA_SEGMENT = 0x18538067  # the EBML id of a Matroska file's one top-level Segment
# Redirecting file descriptor 2 is process-wide: one hash at a time swaps it.
_STDERR_LOCK = threading.Lock()


def _vpdq_module(path: Path) -> ModuleType:
    """Imports vpdq, or explains how to install it."""
    try:
        return importlib.import_module("vpdq")
    except ImportError as exc:
        if exc.name == "vpdq":
            raise FailedPrecondition(
                f"{path}: video hashing needs the optional 'video' extra (vpdq is not installed): {INSTALL_HINT}"
            ) from None
        # Installed, but a shared library it was built against (ffmpeg's) is gone.
        raise FailedPrecondition(f"{path}: video hashing: vpdq is installed but cannot load ({exc})") from None


def is_video(path: Path) -> bool:
    """A video by its name, or by its first bytes (ISO base media, Matroska/WebM, AVI, FLV, MPEG, YUV4MPEG)."""
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return True
    try:
        with path.open("rb") as handle:
            head = handle.read(12)
    except OSError:
        return False
    return (
        head[4:8] == b"ftyp"
        or head.startswith((b"\x1a\x45\xdf\xa3", b"FLV\x01", b"\x00\x00\x01\xba", b"YUV4MPEG2"))
        or (head.startswith(b"RIFF") and head[8:12] == b"AVI ")
    )


def hash_video(
    path: Path, *, interval_ms: int | None = DEFAULT_INTERVAL_MS, threads: int = 0, option: str = "interval_ms"
) -> VpdqFeatures:
    """vPDQ features of a video file: one frame every `interval_ms` milliseconds (0: every frame; None, `auto`:
    about the finest sampling that keeps the video within a feature list's MAX_FRAMES, every frame if it fits).

    `threads`: vpdq's hashing threads, 0 for one per core; `option`: what errors call the sampling (a command
    line's `--interval-ms`). Nothing is written anywhere.

    Raises:
        FailedPrecondition: vpdq (the `video` extra) is not installed or cannot load.
        InvalidArgument: naming the file: missing, not a video, truncated, no frames, no frame of quality >= 50
            (such a video can never match); and `option`: more frames at that sampling than a feature list holds
            (the message gives about the finest interval that fits).
    """
    if interval_ms is not None and (
        isinstance(interval_ms, bool) or not isinstance(interval_ms, int) or not 0 <= interval_ms <= MAX_U32
    ):
        raise InvalidArgument("interval_ms", interval_ms, f"milliseconds 0..{MAX_U32} (0: every frame)")
    if isinstance(threads, bool) or not isinstance(threads, int) or not 0 <= threads <= 1024:
        raise InvalidArgument("threads", threads, "0..1024 (0: one per core)")
    vpdq = _vpdq_module(path)
    _check_file(path)
    if interval_ms is None:
        return _finest_fitting(vpdq, path, threads)
    frames = _frames(vpdq, path, interval_ms, threads)
    if len(frames) > MAX_FRAMES:
        raise InvalidArgument(
            f"{path}: {option}",
            f"{interval_ms} ms, {len(frames)} frames over {frames[-1].timestamp_ms / 1000:.1f} s",
            f"at most {MAX_FRAMES} frames (a vpdq feature list's limit): about {_fitting_interval(frames)} ms or "
            "more, or auto (the finest sampling that fits)",
        )
    return VpdqFeatures.create(frames, interval_ms, field=str(path))


def parse_interval(text: str, option: str = "--interval-ms") -> int | None:
    """A sampling as a command line gives it: milliseconds 0..2^32-1 (0: every frame), or `auto` (None)."""
    if text.strip().lower() == "auto":
        return None
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_U32:
        raise InvalidArgument(option, text, f"milliseconds 0..{MAX_U32} (0: every frame) or auto")
    return value


def _finest_fitting(vpdq: ModuleType, path: Path, threads: int) -> VpdqFeatures:
    """Every frame if the video has at most MAX_FRAMES, else every k-th frame for the smallest k that fits: what
    vpdq hashes at an interval of k frames (the frames whose number is a multiple of k), taken from the
    every-frame hashes rather than hashing again; `interval_ms` is then k frames' time."""
    frames = _frames(vpdq, path, 0, threads)
    if len(frames) <= MAX_FRAMES:
        return VpdqFeatures.create(frames, 0, field=str(path))
    step = 2
    while sum(1 for f in frames if f.frame_number % step == 0) > MAX_FRAMES:
        step += 1
    kept = [f for f in frames if f.frame_number % step == 0]
    return VpdqFeatures.create(kept, max(1, round(step * _frame_ms(frames))), field=str(path))


def _frame_ms(frames: list[VpdqFrame]) -> float:
    """One frame's time, from the first and last of these frames."""
    span = frames[-1].timestamp_ms - frames[0].timestamp_ms
    return span / max(1, frames[-1].frame_number - frames[0].frame_number)


def _fitting_interval(frames: list[VpdqFrame]) -> int:
    """About the finest interval that keeps a video of these frames (at any sampling) within MAX_FRAMES: its span
    over MAX_FRAMES - 1 gaps, plus a frame's time (vpdq rounds its frame step down)."""
    span = frames[-1].timestamp_ms - frames[0].timestamp_ms
    return math.ceil(span / (MAX_FRAMES - 1) + _frame_ms(frames))


def _frames(vpdq: ModuleType, path: Path, interval_ms: int, threads: int) -> list[VpdqFrame]:
    raw = _compute(vpdq, path, interval_ms / 1000, threads)
    if not raw:
        raise InvalidArgument(str(path), "a video with no frames", "a video with at least one frame")
    frames = [
        VpdqFrame(bytes.fromhex(f.hex), int(f.quality), int(f.frame_number), round(f.timestamp * 1000))
        for f in raw
    ]
    best = max(frame.quality for frame in frames)
    if best < QUALITY_FLOOR:
        raise InvalidArgument(
            str(path),
            f"{len(frames)} frames, none of quality >= {QUALITY_FLOOR} (best {best}: blank or flat frames)",
            f"a video with frames of quality >= {QUALITY_FLOOR}: frames below are never matched",
        )
    return frames


def _check_file(path: Path) -> None:
    """A readable regular file that, if it is an MP4/MOV, holds every byte its boxes declare."""
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            truncated = _iso_bmff_truncation(handle, size) or _matroska_truncation(handle, size)
    except FileNotFoundError:
        raise InvalidArgument(str(path), "no such file", "an existing video file") from None
    except IsADirectoryError:
        raise InvalidArgument(str(path), "a directory", "a video file") from None
    except OSError as exc:
        raise InvalidArgument(str(path), exc.strerror or "unreadable", "a readable video file") from None
    if size == 0:
        raise InvalidArgument(str(path), "an empty file (0 bytes)", _WANT)
    if truncated:
        raise InvalidArgument(str(path), f"a truncated {truncated}", "a complete video file")


def _iso_bmff_truncation(handle: IO[bytes], size: int) -> str | None:
    """Why an ISO base media file (MP4, MOV, 3GP) is cut short, or None if it is not one or is whole.

    Its top-level boxes tile the file, each declaring its own size: a box that runs past the end of the file
    means bytes are missing. This reads box headers only.
    """
    offset = 0
    while offset < size:
        handle.seek(offset)
        header = handle.read(16)
        if offset == 0 and header[4:8] != b"ftyp":
            return None  # another container: ffmpeg decides
        if len(header) < 8:
            return f"MP4 (it ends inside a box header at byte {offset:,})"
        box_size, kind = struct.unpack(">I4s", header[:8])
        name = kind.decode("latin-1")
        if box_size == 1:  # a 64-bit size follows the type
            if len(header) < 16:
                return f"MP4 (it ends inside the header of box '{name}')"
            box_size = struct.unpack(">Q", header[8:16])[0]
        elif box_size == 0:  # the last box, running to the end of the file
            return None
        if box_size < 8:
            return None  # malformed rather than short: ffmpeg decides
        if offset + box_size > size:
            return f"MP4 (box '{name}' needs {box_size:,} bytes, {size - offset:,} left)"
        offset += box_size
    return None


def _matroska_truncation(handle: IO[bytes], size: int) -> str | None:
    """Why a Matroska or WebM file is cut short, or None if it is not one, is whole, or does not say.

    After its EBML header comes one Segment element holding everything else, whose size is declared up front
    (or left unknown by a live recorder). ffmpeg reads a cut Segment up to the cut without complaint.
    """
    handle.seek(0)
    head = handle.read(64)
    if not head.startswith(b"\x1a\x45\xdf\xa3"):
        return None
    header = _ebml_element(head, 0)
    if header is None:
        return None
    _, header_length, header_size = header
    if header_size is None:
        return None
    offset = header_length + header_size
    handle.seek(offset)
    segment = _ebml_element(handle.read(12), 0)
    if segment is None:
        return None
    segment_id, length, declared = segment
    if segment_id != _MATROSKA_SEGMENT or declared is None:
        return None
    if offset + length + declared > size:
        return f"Matroska/WebM (its Segment needs {declared:,} bytes, {size - offset - length:,} left)"
    return None


def _ebml_element(data: bytes, at: int) -> tuple[int, int, int | None] | None:
    """(id, header length, data size or None if unknown) of the EBML element at `at`, None if cut short."""
    id_length = _vint_length(data, at)
    if id_length is None or id_length > 4 or at + id_length >= len(data):
        return None
    element_id = int.from_bytes(data[at : at + id_length], "big")
    size_at = at + id_length
    size_length = _vint_length(data, size_at)
    if size_length is None or size_at + size_length > len(data):
        return None
    raw = int.from_bytes(data[size_at : size_at + size_length], "big")
    value = raw & ((1 << (7 * size_length)) - 1)  # drop the length marker
    unknown = value == (1 << (7 * size_length)) - 1
    return element_id, id_length + size_length, None if unknown else value


def _vint_length(data: bytes, at: int) -> int | None:
    """The length of the EBML variable-size integer at `at`: one more than its first byte's leading zeros."""
    if at >= len(data) or data[at] == 0:
        return None
    return 9 - data[at].bit_length()


def _compute(vpdq: ModuleType, path: Path, seconds_per_hash: float, threads: int) -> list[Any]:
    """vpdq.computeHash, with its diagnostics (written to standard error) turned into the error's reason."""
    with _STDERR_LOCK, tempfile.TemporaryFile() as diagnostics:
        try:
            with _stderr_to(diagnostics):
                raw = vpdq.computeHash(str(path), seconds_per_hash=seconds_per_hash, thread_count=threads)
            failure = None
        except Exception:  # vpdq raises a bare Exception("Fail to create VPDQ hash")
            failure = "failed"
        diagnostics.seek(0)
        written = diagnostics.read().decode("utf-8", "replace")
    if failure is None:
        sys.stderr.write(written)  # not a failure's reason: whatever else wrote meanwhile, passed on
        return list(raw)
    raise InvalidArgument(str(path), _reason(written), _WANT)


def _reason(diagnostics: str) -> str:
    lines = [line.strip() for line in diagnostics.splitlines() if line.strip()]
    for marker, reason in _VPDQ_REASONS:
        for line in lines:
            if marker in line:
                detail = line.partition(": ")[2]  # e.g. "Processing frame failed: Cannot send packet to decoder"
                return f"{reason} ({detail[:40]})" if marker.startswith(("Processing", "Flushing")) else reason
    return f"not a video ffmpeg can decode ({lines[-1][:40]})" if lines else "not a video ffmpeg can decode"


@contextlib.contextmanager
def _stderr_to(target: IO[bytes]) -> Iterator[None]:
    """Points file descriptor 2 (where vpdq's C++ writes) at `target` for the duration."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        os.dup2(target.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
