"""Benchmark of near-duplicate video matching (vPDQ): hashnode's VideoIndex against python-threatexchange's VPDQIndex.

    python bench/video.py                     # 500 stored videos of 10 minutes (300k frames): a quick run
    python bench/video.py --videos 5000       # Europol scale: 5,000 videos, 3M frame hashes (~10 min)

Stored collection (synthetic, seeded): videos of `--minutes` at one frame per second. A video is a run of scenes
(lengths geometric, mean 8 s); a scene's frames are its seed hash with a few bits flipped each (consecutive
samples of one shot), some scenes are low-texture (the crowded PDQ values of `bench/datasets.py`) and some frames
are fades below the quality floor. Families: 40% of the videos are originals, the rest edited copies of them
(re-encodes: every frame a few bits off; trims: a subsequence of the original padded with other material; both).

Queries (`--queries`): half re-uploads of stored videos (re-encoded, a third of them also cut to their first
half), half fresh videos made like the collection (they share only low-texture frames with it).

Both engines get the same videos and the same queries, with vPDQ's defaults (quality 50, distance 31, query-match
80 %, compared-match 0 %); their verdicts (which stored videos each query matches, with both percentages) are
asserted identical. Printed: build time (hashnode: from the records' encoded features), memory per stored frame
(hashnode: the index arrays, all it keeps in memory, records stay in the store; python-threatexchange: its
process's resident-set growth), wall-clock p50/p99 per query and the CPU time per query (all threads of the
process: both engines may use two, faiss's OpenMP and hashnode's lookups), and the ratios. On a shared machine the
CPU times are the steadier figures: wall-clock ones include waiting for a core. The hashing figures of
`bench/video_hashing.py` follow (SD and HD: frames hashed per second, times real time) where it is present.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import sys
import time
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import datasets

from node.core.vpdq import QUALITY_FLOOR, VpdqFeatures, VpdqFrame
from node.index.pdq import PdqIndex
from node.index.video import FrameSet, VideoIndex, VideoMatch, frame_keys

Hashes = npt.NDArray[np.uint8]
Verdicts = list[set[tuple[int, float, float]]]


@dataclass(frozen=True)
class Video:
    """A video's frame features as arrays (the benchmark's stand-in for its stored record)."""

    hashes: Hashes  # (n, 32)
    quality: npt.NDArray[np.int32]
    interval_ms: int = 1000

    def features(self) -> VpdqFeatures:
        frames = tuple(
            VpdqFrame(row.tobytes(), int(q), i, i * self.interval_ms)
            for i, (row, q) in enumerate(zip(self.hashes, self.quality.tolist(), strict=True))
        )
        return VpdqFeatures(frames, self.interval_ms)

    def signal(self) -> str:
        """python-threatexchange's vpdq signal string: a JSON list of `hex,quality,seconds`."""
        return json.dumps(
            [f"{row.tobytes().hex()},{q},{i * self.interval_ms / 1000:.3f}" for i, (row, q) in
             enumerate(zip(self.hashes, self.quality.tolist(), strict=True))]
        )


# --- the synthetic collection ----------------------------------------------------------------------------


def scenes(rng: np.random.Generator, frames: int, low_texture_share: float = 0.05) -> Video:
    """A fresh video: scenes of near-identical frames, some low-texture, a few fades below the quality floor."""
    lengths: list[int] = []
    while sum(lengths) < frames:
        lengths.append(int(rng.geometric(1 / 8)))
    lengths[-1] -= sum(lengths) - frames
    seeds = rng.integers(0, 256, (len(lengths), 32), dtype=np.uint8)
    low = rng.random(len(lengths)) < low_texture_share
    seeds[low] = datasets.low_texture(rng, int(low.sum()))
    scene = np.repeat(np.arange(len(lengths)), lengths)
    drift = np.minimum(rng.geometric(1 / 3, frames) - 1, 12)
    hashes = datasets.flip_exactly(rng, seeds[scene], drift)
    quality = rng.integers(60, 101, frames).astype(np.int32)
    quality[low[scene]] = rng.integers(30, 80, int(low[scene].sum()))  # flat frames hash with low quality
    fades = rng.random(frames) < 0.03
    quality[fades] = rng.integers(0, QUALITY_FLOOR, int(fades.sum()))
    return Video(hashes, quality)


def reencoded(rng: np.random.Generator, video: Video, mean_bits: float = 4.0) -> Video:
    """Every frame a few bits off (another encoder, bitrate, scaler), qualities jittered."""
    bits = np.minimum(rng.geometric(1 / (mean_bits + 1), len(video.hashes)) - 1, 16)
    quality = np.clip(video.quality + rng.integers(-5, 6, len(video.quality)), 0, 100).astype(np.int32)
    return Video(datasets.flip_exactly(rng, video.hashes, bits), quality)


def trimmed(rng: np.random.Generator, video: Video, frames: int) -> Video:
    """A subsequence of `video` (40-90 % of it) padded with other material to `frames`."""
    keep = int(len(video.hashes) * rng.uniform(0.4, 0.9))
    start = int(rng.integers(0, len(video.hashes) - keep + 1))
    pad = scenes(rng, frames - keep)
    return Video(
        np.concatenate([video.hashes[start : start + keep], pad.hashes]),
        np.concatenate([video.quality[start : start + keep], pad.quality]),
    )


def collection(n: int, frames: int, seed: int) -> list[Video]:
    """`n` stored videos: 40 % originals, the rest edited copies of them (families)."""
    rng = np.random.default_rng(seed)
    originals = [scenes(rng, frames) for _ in range(max(1, int(n * 0.4)))]
    videos = list(originals)
    while len(videos) < n:
        source = originals[int(rng.integers(0, len(originals)))]
        kind = rng.integers(0, 3)
        edited = reencoded(rng, source) if kind == 0 else trimmed(rng, source, frames)
        videos.append(reencoded(rng, edited) if kind == 2 else edited)
    order = rng.permutation(len(videos))
    return [videos[i] for i in order]


def query_mix(stored: Sequence[Video], m: int, frames: int, seed: int) -> list[Video]:
    """Half edited re-uploads of stored videos (a third of those cut to their first half), half fresh videos."""
    rng = np.random.default_rng(seed)
    asked = []
    for i in range(m):
        if i % 2:
            asked.append(scenes(rng, frames))
            continue
        video = reencoded(rng, stored[int(rng.integers(0, len(stored)))])
        if rng.random() < 1 / 3:
            half = len(video.hashes) // 2
            video = Video(video.hashes[:half], video.quality[:half])
        asked.append(video)
    return asked


# --- engines ---------------------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    build_s: float
    bytes_per_frame: float
    wall_ms: npt.NDArray[np.float64]
    cpu_ms: npt.NDArray[np.float64]
    verdicts: Verdicts
    load: float


def rss_bytes() -> int:
    try:
        fields = Path("/proc/self/statm").read_text().split()
    except OSError:
        return 0
    return int(fields[1]) * os.sysconf("SC_PAGE_SIZE")


def timed(queries: Sequence[object], ask: Callable[[object], set[tuple[int, float, float]]]) -> tuple[
    npt.NDArray[np.float64], npt.NDArray[np.float64], Verdicts
]:
    wall, cpu, verdicts = [], [], []
    for query in queries:
        cpu_started, started = time.process_time_ns(), time.perf_counter_ns()
        verdicts.append(ask(query))
        wall.append((time.perf_counter_ns() - started) / 1e6)
        cpu.append((time.process_time_ns() - cpu_started) / 1e6)
    return np.array(wall), np.array(cpu), verdicts


def run_hashnode(stored: Sequence[Video], queries: Sequence[Video]) -> Result:
    # The stored records' values (the canonical encoding a vpdq record holds): the index keeps the frame hashes
    # once, in memory; a candidate's frames are read from its record, as the node reads them from its store.
    values = [video.features().encode() for video in stored]
    gc.collect()
    started = time.perf_counter()
    prepared = [(ordinal, FrameSet.from_value(value)) for ordinal, value in enumerate(values)]
    frames = sum(len(f) for _, f in prepared)
    keys = np.concatenate([frame_keys(ordinal, len(f)) for ordinal, f in prepared])
    index = VideoIndex(PdqIndex.build(keys, np.concatenate([f.hashes for _, f in prepared])))
    del prepared
    build_s = time.perf_counter() - started
    per_frame = index.index.memory_bytes() / frames

    def frames_of(ordinal: int) -> FrameSet:
        return FrameSet.from_value(values[ordinal])

    asked = [video.features().encode() for video in queries]  # as a request brings them

    def ask(query: object) -> set[tuple[int, float, float]]:
        assert isinstance(query, bytes)
        return _verdicts(index.match(FrameSet.from_value(query), frames_of))

    wall, cpu, verdicts = timed(asked, ask)
    return Result("hashnode VideoIndex", build_s, per_frame, wall, cpu, verdicts, os.getloadavg()[0])


def run_threatexchange(stored: Sequence[Video], queries: Sequence[Video]) -> Result | None:
    index_module = _threatexchange_index()
    if index_module is None:
        return None
    signals = [video.signal() for video in stored]
    asked = [video.signal() for video in queries]
    gc.collect()
    rss_before = rss_bytes()
    started = time.perf_counter()
    index = index_module.VPDQIndex.build((signal, ordinal) for ordinal, signal in enumerate(signals))
    build_s = time.perf_counter() - started
    per_frame = (rss_bytes() - rss_before) / sum(len(f) for f, _ in index._entry_idx_to_features_and_entries)

    def ask(query: object) -> set[tuple[int, float, float]]:
        assert isinstance(query, str)
        return {
            (int(m.metadata), round(m.similarity_info.query_match_percent, 9),
             round(m.similarity_info.compared_match_percent, 9))
            for m in index.query(query)
        }

    wall, cpu, verdicts = timed(asked, ask)
    return Result("python-threatexchange VPDQIndex", build_s, per_frame, wall, cpu, verdicts, os.getloadavg()[0])


def _threatexchange_index() -> types.ModuleType | None:
    """python-threatexchange's vpdq index module, or None when it is not installed. Its modules import the
    `vpdq` hashing package but match without it: a stand-in is put in its place when it is absent."""
    try:
        importlib.import_module("faiss")
        importlib.import_module("threatexchange")
    except ImportError:
        return None
    try:
        importlib.import_module("vpdq")
    except ImportError:
        stand_in = types.ModuleType("vpdq")
        stand_in.VpdqFeature = object  # type: ignore[attr-defined]
        sys.modules["vpdq"] = stand_in
    return importlib.import_module("threatexchange.extensions.vpdq.vpdq_index")


def _verdicts(matches: list[VideoMatch]) -> set[tuple[int, float, float]]:
    return {
        (m.ordinal, round(m.comparison.query_match_percent, 9), round(m.comparison.compared_match_percent, 9))
        for m in matches
    }


# --- report ----------------------------------------------------------------------------------------------


def print_table(results: Sequence[Result], frames: int) -> None:
    print(f"{'engine':34} {'build s':>8} {'B/frame':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
          f"{'cpu p50':>8} {'cpu p99':>8} {'load':>5}")
    for r in results:
        print(
            f"{r.name:34} {r.build_s:8.1f} {r.bytes_per_frame:8.1f} {np.percentile(r.wall_ms, 50):8.2f} "
            f"{np.percentile(r.wall_ms, 99):8.2f} {r.wall_ms.max():8.2f} {np.percentile(r.cpu_ms, 50):8.2f} "
            f"{np.percentile(r.cpu_ms, 99):8.2f} {r.load:5.1f}"
        )


def check_same(a: Result, b: Result) -> None:
    differ = [i for i, (x, y) in enumerate(zip(a.verdicts, b.verdicts, strict=True)) if x != y]
    if differ:
        i = differ[0]
        raise SystemExit(f"verdicts differ on {len(differ)} queries; query {i}: {a.verdicts[i]} vs {b.verdicts[i]}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=500, help="stored videos (5000: Europol scale, 3M frames)")
    parser.add_argument("--minutes", type=float, default=10.0, help="length of each video (one frame per second)")
    parser.add_argument("--queries", type=int, default=100, help="query videos")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-threatexchange", action="store_true", help="skip python-threatexchange")
    parser.add_argument("--no-hashing", action="store_true", help="skip bench/video_hashing.py")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    frames = int(args.minutes * 60)
    started = time.perf_counter()
    stored = collection(args.videos, frames, args.seed)
    queries = query_mix(stored, args.queries, frames, args.seed + 1)
    total = sum(len(v.hashes) for v in stored)
    print(f"vPDQ matching: {args.videos:,} stored videos of {args.minutes:g} min at 1 frame/s ({total:,} frame "
          f"hashes), {len(queries)} query videos (half edited re-uploads, half fresh); made in "
          f"{time.perf_counter() - started:.1f} s; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    results = [run_hashnode(stored, queries)]
    matched = sum(1 for v in results[0].verdicts if v)
    print(f"queries matching some stored video: {matched} of {len(queries)}; stored videos matched per such query: "
          f"{sum(len(v) for v in results[0].verdicts) / max(1, matched):.1f}")
    if not args.no_threatexchange:
        theirs = run_threatexchange(stored, queries)
        if theirs is None:
            print("python-threatexchange or faiss-cpu is not installed: hashnode alone")
        else:
            results.append(theirs)
            check_same(results[0], theirs)
            print("verdicts identical (stored videos matched, query-match and compared-match percentages)")
    print_table(results, total)
    if len(results) == 2:
        ours, theirs = results
        for what, q in (("p50", 50), ("p99", 99)):
            wall = np.percentile(theirs.wall_ms, q) / np.percentile(ours.wall_ms, q)
            cpu = np.percentile(theirs.cpu_ms, q) / np.percentile(ours.cpu_ms, q)
            print(f"hashnode is {wall:.1f}x faster at {what} wall clock, {cpu:.1f}x in CPU time")
        print(f"memory per stored frame: {ours.bytes_per_frame:.0f} B vs {theirs.bytes_per_frame:.0f} B")
    if not args.no_hashing:
        _hashing_figures(full=args.videos >= 5000)
    return 0


def _hashing_figures(full: bool) -> None:
    """Video hashing rates (SD and HD, frames/s and times real time) from bench/video_hashing.py, when it is
    there: one run each for a quick run, its defaults (best of 3, Full HD too) for a full one."""
    try:
        hashing = importlib.import_module("video_hashing")
    except ImportError as exc:
        print(f"(no hashing figures: bench/video_hashing.py cannot be imported: {exc})")
        return
    print("\nvideo hashing (bench/video_hashing.py):")
    try:
        hashing.main([] if full else ["--repeats", "1", "--no-fhd"])
    except SystemExit as exc:  # it refuses to run without ffmpeg, saying why
        print(f"(no hashing figures: exit {exc.code})")


if __name__ == "__main__":
    raise SystemExit(main())
