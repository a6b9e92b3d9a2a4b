#!/usr/bin/env python3
"""Video hashing benchmark: how fast `hash_video` (vpdq) turns video into frame features, SD and HD.

    python bench/video_hashing.py                       # the samples, one hashing thread, best of 3
    python bench/video_hashing.py --threads 0 --repeats 1 --no-fhd

Workload: sample videos from ../shared/data/video (SD: chair-orig-22-sd-bar, 480x720, 22.4 s; HD:
pattern-hd-no-bar, 720x1280, 6.9 s) and a Full HD clip this script makes with ffmpeg (chair-orig-22-sd-bar
scaled to 1080x1920, x264, in a temporary directory; --no-fhd skips it), each hashed at one frame per second
and at every frame. Figures per run: wall time (the best of --repeats), frames hashed per second, how many
times faster than real time (the video's duration over the wall time), and the baseline in the same run:
ffmpeg decoding the same file to nowhere (`ffmpeg -threads N -i FILE -f null -`), which every hash pays since
vpdq decodes every frame even when it hashes one a second. `hashing / decoding` is what PDQ and the conversion
to RGB add. `--threads` is vpdq's hashing threads (1: one core's figures; 0: one per core) and ffmpeg's.

bench/video.py (matching) imports `measure` and `sample_clips` to print these figures beside its own.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from node.hashing.video import hash_video  # noqa: E402  (after the path: this checkout's node)

DATA = ROOT.parent / "shared" / "data" / "video" / "videos"
SD, HD = "chair-orig-22-sd-bar", "pattern-hd-no-bar"
INTERVALS_MS = (1000, 0)


@dataclass(frozen=True)
class Clip:
    label: str
    path: Path
    width: int
    height: int
    duration_s: float
    frames: int


@dataclass(frozen=True)
class HashingFigure:
    clip: Clip
    interval_ms: int
    threads: int
    frames_hashed: int
    hash_s: float  # best of the repeats
    decode_s: float  # ffmpeg decoding alone, best of the repeats

    @property
    def frames_per_s(self) -> float:
        """Frames hashed per second of wall time."""
        return self.frames_hashed / self.hash_s

    @property
    def times_real_time(self) -> float:
        return self.clip.duration_s / self.hash_s

    def row(self) -> str:
        sampling = "every frame" if self.interval_ms == 0 else f"1 per {self.interval_ms / 1000:g} s"
        return (
            f"{self.clip.label:<28} {sampling:<12} {self.frames_hashed:>6} {self.hash_s:>8.2f} "
            f"{self.frames_per_s:>9.1f} {self.times_real_time:>8.1f}x {self.decode_s:>8.2f} "
            f"{self.hash_s / self.decode_s:>7.2f}x"
        )


HEADER = (
    f"{'video':<28} {'sampling':<12} {'frames':>6} {'hash s':>8} {'frames/s':>9} {'realtime':>9} "
    f"{'decode s':>8} {'hash/dec':>8}"
)


def probe(path: Path, label: str) -> Clip:
    """Size, duration and frame count of a video's first video stream (ffprobe)."""
    done = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets", "-show_entries",
         "stream=width,height,nb_read_packets:format=duration", "-of", "json", str(path)],
        capture_output=True, text=True, check=True, timeout=60,
    )
    info = json.loads(done.stdout)
    stream = info["streams"][0]
    return Clip(
        label, path, int(stream["width"]), int(stream["height"]), float(info["format"]["duration"]),
        int(stream["nb_read_packets"]),
    )


def make_fhd(source: Path, directory: Path) -> Path:
    """A 1080x1920 copy of `source` (portrait, as the sample; x264): the benchmark's Full HD clip."""
    target = directory / "fhd-1080x1920.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(source), "-vf", "scale=1080:1920", "-c:v", "libx264",
         "-preset", "veryfast", "-an", str(target)],
        check=True, timeout=600,
    )
    return target


def sample_clips(directory: Path, *, fhd: bool = True) -> list[Clip]:
    """The benchmark's clips: the SD and HD samples and, with `fhd`, a Full HD one made in `directory`."""
    sd, hd = DATA / f"{SD}.mp4", DATA / f"{HD}.mp4"
    clips = [probe(sd, f"SD {SD}"), probe(hd, f"HD {HD}")]
    if fhd:
        clips.append(probe(make_fhd(sd, directory), "FHD chair (scaled 1080x1920)"))
    return clips


def decode_seconds(path: Path, threads: int) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["ffmpeg", "-v", "error", "-threads", str(threads), "-i", str(path), "-an", "-f", "null", "-"],
        check=True, timeout=600,
    )
    return time.perf_counter() - started


def measure(clip: Clip, interval_ms: int, *, threads: int = 1, repeats: int = 3) -> HashingFigure:
    """Hashes `clip` `repeats` times at `interval_ms`, interleaved with ffmpeg decoding it; the best of each."""
    hash_times, decode_times, frames = [], [], 0
    for _ in range(repeats):
        started = time.perf_counter()
        frames = len(hash_video(clip.path, interval_ms=interval_ms, threads=threads).frames)
        hash_times.append(time.perf_counter() - started)
        decode_times.append(decode_seconds(clip.path, threads))
    return HashingFigure(clip, interval_ms, threads, frames, min(hash_times), min(decode_times))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="vpdq's and ffmpeg's threads (0: one per core)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each; the best is the figure")
    parser.add_argument("--no-fhd", action="store_true", help="skip making and hashing the Full HD clip")
    args = parser.parse_args(argv)
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        parser.error("needs ffmpeg and ffprobe (the Debian package ffmpeg)")
    print(f"threads {args.threads}, best of {args.repeats}, load average {os.getloadavg()[0]:.2f}, "
          f"{os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="video-bench-") as directory:
        clips = sample_clips(Path(directory), fhd=not args.no_fhd)
        for clip in clips:
            print(f"  {clip.label}: {clip.width}x{clip.height}, {clip.duration_s:.1f} s, {clip.frames} frames")
        print(HEADER)
        for clip in clips:
            for interval_ms in INTERVALS_MS:
                print(measure(clip, interval_ms, threads=args.threads, repeats=args.repeats).row(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
