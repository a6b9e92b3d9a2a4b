"""`hashnode hash FILE...`: PDQ (images) or vPDQ (videos), MD5 and SHA-256 of files, computed locally (no node
involved).

A video's feature list prints one line per sampled frame, `frame_number,quality,pdq_hex,timestamp_seconds`,
the form of Meta's reference vPDQ files, after `#` lines naming the file, its digests and a summary: `grep -v
'^#'` leaves exactly a file in Meta's form. `--json` gives `{"path", "md5", "sha256", "vpdq": {"interval_ms",
"frames": [{"pdq", "quality", "frame_number", "timestamp_ms"}]}}` (node.core.vpdq.VpdqFeatures.as_json).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from node.cli.command_base import add_json_option, print_json
from node.cli.exit_codes import ExitCode
from node.core.errors import InvalidArgument
from node.core.vpdq import QUALITY_FLOOR
from node.hashing import digests, image, video


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parser.add_argument(
        "--dihedral", action="store_true", help="also PDQ of the 8 rotations/flips of each image"
    )
    sampling = parser.add_mutually_exclusive_group()
    sampling.add_argument(
        "--interval-ms",
        default=str(video.DEFAULT_INTERVAL_MS),
        metavar="MS",
        help=f"videos: hash one frame every MS milliseconds (default {video.DEFAULT_INTERVAL_MS}; 0: every frame; "
        "auto: the finest sampling that keeps the video within 6000 frames, a stored record's limit)",
    )
    sampling.add_argument(
        "--every-frame", action="store_true", help="videos: hash every frame (--interval-ms 0)"
    )
    add_json_option(parser)


def hash_file(
    path: Path, *, dihedral: bool, interval_ms: int | None = video.DEFAULT_INTERVAL_MS
) -> dict[str, object]:
    """Everything `hash` reports about one file: a video (by name or content) gets vPDQ features, any other
    file is read as an image."""
    if video.is_video(path):
        if dihedral:
            raise InvalidArgument("--dihedral", f"{path} (a video)", "image files only")
        md5, sha256 = digests.file_digests(path)
        features = video.hash_video(path, interval_ms=interval_ms, option="--interval-ms")
        return {"path": str(path), "md5": md5, "sha256": sha256, "vpdq": features.as_json()}
    md5, sha256 = digests.file_digests(path)
    pdq, quality = image.pdq_hash(path)
    result: dict[str, object] = {
        "path": str(path),
        "pdq": pdq,
        "quality": quality,
        "md5": md5,
        "sha256": sha256,
    }
    if dihedral:
        result["dihedral"] = [
            {"transform": name, "pdq": value, "quality": q} for name, value, q in image.pdq_dihedral(path)
        ]
    return result


def _print_video(result: dict[str, object]) -> None:
    features = result["vpdq"]
    assert isinstance(features, dict)
    frames = features["frames"]
    usable = sum(1 for frame in frames if frame["quality"] >= QUALITY_FLOOR)
    sampling = f"one every {features['interval_ms']} ms" if features["interval_ms"] else "every frame"
    print(f"# {result['path']}")
    print(f"# md5     {result['md5']}")
    print(f"# sha256  {result['sha256']}")
    last = frames[-1]["timestamp_ms"]
    print(
        f"# vpdq    {len(frames)} frames ({sampling}) to {last // 1000}.{last % 1000:03d} s, "
        f"{usable} of quality >= {QUALITY_FLOOR}"
    )
    print("# frame_number,quality,pdq_hex,timestamp_seconds")
    for frame in frames:
        ms = frame["timestamp_ms"]
        print(f"{frame['frame_number']},{frame['quality']},{frame['pdq']},{ms // 1000}.{ms % 1000:03d}")


def _print_human(result: dict[str, object]) -> None:
    if "vpdq" in result:
        _print_video(result)
        return
    print(result["path"])
    print(f"  pdq     {result['pdq']}  quality {result['quality']}")
    print(f"  md5     {result['md5']}")
    print(f"  sha256  {result['sha256']}")
    variants = result.get("dihedral")
    if isinstance(variants, list):
        for variant in variants:
            print(f"  pdq {variant['transform']:<12} {variant['pdq']}  quality {variant['quality']}")


def run(args: argparse.Namespace) -> int:
    interval_ms = 0 if args.every_frame else video.parse_interval(args.interval_ms)
    results = [hash_file(path, dihedral=args.dihedral, interval_ms=interval_ms) for path in args.files]
    if args.json:
        print_json(results)
    else:
        for result in results:
            _print_human(result)
    return ExitCode.OK
