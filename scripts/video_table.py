"""The pairwise vPDQ table of the sample videos in docs/video.md: query % / compared % for every pair.

    python scripts/video_table.py [--data ../shared/data/video] [--features-dir DIR]

Hashes every frame of each sample video once (`hash_video(path, interval_ms=0)`; --features-dir keeps the
feature lists between runs), then derives each sampling from it as vpdq samples: the frames whose number is a
multiple of int(interval_s * frame_rate). A frame's hash does not depend on which other frames are hashed, so
this equals hashing at that interval (tests/test_video_table.py checks it on a sample). Each cell is
`compare_features(query, stored)` (vPDQ's rule, brute force); a pair matches when the query % reaches
QUERY_MATCH_PERCENT and the compared % COMPARED_MATCH_PERCENT (python-threatexchange's defaults, 80 and 0).
Prints Markdown: one table per sampling, rows the query videos, columns the stored ones.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from node.core.vpdq import VpdqFeatures, compare_features
from node.hashing.video import hash_video

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "video"
QUERY_MATCH_PERCENT = 80.0
COMPARED_MATCH_PERCENT = 0.0
# The sample videos, each with its scene and the short name of the table's columns.
VIDEOS: dict[str, str] = {
    "chair-orig-22-sd-bar": "C-orig",
    "chair-19-sd-bar": "C-19",
    "chair-20-sd-bar": "C-20",
    "chair-22-sd-grey-bar": "C-grey",
    "chair-22-sd-sepia-bar": "C-sepia",
    "chair-22-with-small-logo-bar": "C-slogo",
    "chair-22-with-large-logo-bar": "C-llogo",
    "pattern-hd-no-bar": "P-hd",
    "pattern-longer-no-bar": "P-long",
    "pattern-sd-grey-bar": "P-grey",
    "pattern-sd-with-small-logo-bar": "P-slogo",
    "pattern-sd-with-large-logo-bar": "P-llogo",
    "doorknob-hd-no-bar": "D-hd",
    "test-padded-dimensions": "T-pad",
}


@dataclass(frozen=True)
class Sampling:
    """How often each side of a comparison was sampled: milliseconds between frames, 0 for every frame."""

    name: str
    query_ms: int
    stored_ms: int


SAMPLINGS = (
    Sampling("one frame per second on both sides", 1000, 1000),
    Sampling("queries one frame per second, stored videos every frame", 1000, 0),
)
RECOMMENDED = SAMPLINGS[1]
# Edited copies that start elsewhere than their original (trimmed or longer), for the stored-sampling sweep.
SHIFTED = (("chair-19-sd-bar", "chair-orig-22-sd-bar"), ("chair-20-sd-bar", "chair-orig-22-sd-bar"),
           ("pattern-longer-no-bar", "pattern-hd-no-bar"))
SWEEP_FRAMES = (30, 15, 10, 6, 5, 3, 2, 1)  # stored: one frame in N (30 frames/s: 1 s ... every frame)
DRIFT_FRAMES = (1, 2, 3, 5, 10, 30)


def scene(name: str) -> str:
    """chair, pattern, doorknob or test: what a video shows (edited copies share their original's scene)."""
    return name.split("-", 1)[0]


def frame_rate(features: VpdqFeatures) -> float:
    """The frame rate of an every-frame feature list, from its last frame (vpdq's timestamp is number / rate)."""
    last = features.frames[-1]
    if features.interval_ms != 0 or last.timestamp_ms == 0:
        raise ValueError("want every frame of a video longer than one frame")
    return round(last.frame_number * 1000 / last.timestamp_ms, 2)


def subsample(every_frame: VpdqFeatures, interval_ms: int) -> VpdqFeatures:
    """The frames vpdq hashes at `interval_ms`, taken from the every-frame list of the same video."""
    if interval_ms == 0:
        return every_frame
    step = max(1, int(interval_ms / 1000 * frame_rate(every_frame)))
    return VpdqFeatures(tuple(f for f in every_frame.frames if f.frame_number % step == 0), interval_ms)


def matches(percentages: tuple[float, float]) -> bool:
    query, compared = percentages
    return query >= QUERY_MATCH_PERCENT and compared >= COMPARED_MATCH_PERCENT


def table(every_frame: dict[str, VpdqFeatures], sampling: Sampling) -> dict[tuple[str, str], tuple[float, float]]:
    """(query %, compared %) of every ordered pair of videos (query, stored), the same video included."""
    queries = {name: subsample(f, sampling.query_ms) for name, f in every_frame.items()}
    stored = {name: subsample(f, sampling.stored_ms) for name, f in every_frame.items()}
    return {(q, s): compare_features(queries[q], stored[s]) for q in every_frame for s in every_frame}


def markdown(cells: dict[tuple[str, str], tuple[float, float]], names: list[str]) -> list[str]:
    short = [VIDEOS.get(name, name) for name in names]
    lines = ["| query \\ stored | " + " | ".join(short) + " |", "|---|" + "---|" * len(names)]
    for query, label in zip(names, short, strict=True):
        row = []
        for stored in names:
            q, c = cells[query, stored]
            text = f"{q:.0f}/{c:.0f}"
            row.append(f"**{text}**" if matches((q, c)) else text)
        lines.append(f"| {label} | " + " | ".join(row) + " |")
    return lines


def sweep(every_frame: dict[str, VpdqFeatures]) -> list[str]:
    """Query % of each shifted copy (one frame a second) against its original stored one frame in N."""
    lines = ["| query -> stored | " + " | ".join(f"1 in {n}" for n in SWEEP_FRAMES) + " |",
             "|---|" + "---|" * len(SWEEP_FRAMES)]
    for query, stored in SHIFTED:
        q = subsample(every_frame[query], 1000)
        cells = []
        for n in SWEEP_FRAMES:
            frames = tuple(f for f in every_frame[stored].frames if f.frame_number % n == 0)
            percent = compare_features(q, VpdqFeatures(frames, 0))[0]
            cells.append(f"**{percent:.0f}**" if percent >= QUERY_MATCH_PERCENT else f"{percent:.0f}")
        lines.append(f"| {VIDEOS[query]} -> {VIDEOS[stored]} | " + " | ".join(cells) + " |")
    return lines


def drift(every_frame: dict[str, VpdqFeatures]) -> list[str]:
    """How far a frame's PDQ hash is from the hash of the frame N later, in each original (usable frames)."""
    lines = ["| video | " + " | ".join(f"{n} later: p50 / within 31" for n in DRIFT_FRAMES) + " |",
             "|---|" + "---|" * len(DRIFT_FRAMES)]
    for name in ("chair-orig-22-sd-bar", "pattern-hd-no-bar", "doorknob-hd-no-bar"):
        usable = {f.frame_number: f.pdq for f in every_frame[name].frames if f.quality >= 50}
        cells = []
        for n in DRIFT_FRAMES:
            distances = sorted(
                (int.from_bytes(pdq, "big") ^ int.from_bytes(usable[i + n], "big")).bit_count()
                for i, pdq in usable.items() if i + n in usable
            )
            within = sum(1 for d in distances if d <= 31)
            cells.append(f"{distances[len(distances) // 2]} / {100 * within / len(distances):.0f} %")
        lines.append(f"| {VIDEOS[name]} | " + " | ".join(cells) + " |")
    return lines


def every_frame_features(data: Path, features_dir: Path | None) -> dict[str, VpdqFeatures]:
    """Every frame of each sample video, hashed (or read back from `features_dir`)."""
    result = {}
    for name in VIDEOS:
        cached = features_dir / f"{name}.vpdq" if features_dir else None
        if cached and cached.exists():
            result[name] = VpdqFeatures.decode(cached.read_bytes())
            continue
        print(f"hashing every frame of {name} ...", file=sys.stderr, flush=True)
        result[name] = hash_video(data / "videos" / f"{name}.mp4", interval_ms=0)
        if cached:
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_bytes(result[name].encode())
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the sample set (videos/, vpdq/)")
    parser.add_argument("--features-dir", type=Path, help="keep every-frame feature lists here between runs")
    args = parser.parse_args(argv)
    every_frame = every_frame_features(args.data, args.features_dir)
    names = list(VIDEOS)
    legend = ", ".join(f"{short} = {name}" for name, short in VIDEOS.items())
    print(f"Cells: query % / compared %, bold where the pair matches (query >= {QUERY_MATCH_PERCENT:.0f} %, "
          f"compared >= {COMPARED_MATCH_PERCENT:.0f} %). {legend}.")
    for sampling in SAMPLINGS:
        print(f"\n**{sampling.name.capitalize()}** (query every {sampling.query_ms} ms, stored "
              f"{'every frame' if sampling.stored_ms == 0 else f'every {sampling.stored_ms} ms'}):\n")
        print("\n".join(markdown(table(every_frame, sampling), names)))
    print("\n**Shifted copies: query % at one frame a second against the original stored one frame in N**:\n")
    print("\n".join(sweep(every_frame)))
    print("\n**Frame-to-frame drift: PDQ distance to the frame N later (median) and the share within 31**:\n")
    print("\n".join(drift(every_frame)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
