"""`hashnode match`: look hashes up in a node's database. Nothing about the query leaves that node.

`hashnode match HASH...` matches hashes of one `--type` (pdq by default). `hashnode match --file IMAGE...`
hashes images locally (PDQ, MD5, SHA-256; needs the `hashing` extra) and matches all three; with `--dihedral`
it also matches the PDQ hashes of the image's 8 rotations and flips and reports which transform matched.
`--file VIDEO` hashes a video locally (vPDQ, one frame per second; needs the `video` extra) and matches its
frame features and its MD5; `--features FILE` matches precomputed features (`hashnode hash --json` output, or
Meta's `frame_number,quality,pdq_hex,timestamp_seconds` lines). A video match shows both percentages (of the
query's frames, of the stored video's) and the matched time ranges of both videos.

The module imports only what parsing its arguments needs; the wire code (gRPC, protobuf) is loaded when it calls
a node, and the image hashing when `--file` is given (bench/cli_startup.py measures the start-up).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from node.cli.command_base import add_json_option, add_target_options, channel, print_json
from node.cli.exit_codes import ExitCode
from node.core.content_ref import check_content_ref
from node.core.errors import InvalidArgument
from node.core.signals import typed_signal_type, typed_value

if TYPE_CHECKING:
    from node.api.gen.hashnode.v1 import client_pb2
    from node.core.vpdq import VpdqFeatures, VpdqFrame

MAX_THRESHOLD = 64


@dataclass(frozen=True)
class LocalQuery:
    """A query and where it came from, to explain a match to a person."""

    signal_type: str
    value: str
    file: str = ""
    transform: str = ""
    video: VpdqFeatures | None = None  # a vpdq query's frame features (`value` is then empty)

    def describe(self) -> str:
        origin = ", ".join(part for part in (self.file, self.transform and f"as {self.transform}") if part)
        what = f"vpdq {self.video.summary()}" if self.video is not None else f"{self.signal_type} {self.value}"
        return what + (f"  ({origin})" if origin else "")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("hashes", nargs="*", metavar="HASH", help="hex hashes of --type")
    parser.add_argument(
        "--type",
        default="pdq",
        help="signal type of HASH: pdq, md5, sha256, video_md5 (any case; the node is sent the exact name)",
    )
    parser.add_argument(
        "--file", nargs="+", type=Path, default=[], metavar="FILE", help="hash images or videos locally"
    )
    parser.add_argument(
        "--features", nargs="+", type=Path, default=[], metavar="FILE",
        help="match precomputed vPDQ features of videos (hashnode hash --json, or Meta's frame lines)",
    )
    parser.add_argument("--dihedral", action="store_true", help="with --file: also match rotations and flips")
    parser.add_argument("--threshold", type=int, help="PDQ Hamming distance 0..64 (default: the node's, 31)")
    parser.add_argument(
        "--query-percent", type=float, metavar="P",
        help="videos: share of the query's frames that must match a stored video, 0..100 (default: the node's, 80)",
    )
    parser.add_argument(
        "--compared-percent", type=float, metavar="P",
        help="videos: share of the stored video's frames that must match the query, 0..100 (default: the node's, 0)",
    )
    parser.add_argument(
        "--content-ref",
        default="",
        metavar="REF",
        help="your reference for the content the HASHes come from, kept in the node's match log for "
        "reinstatement notices (--file uses the file name)",
    )
    add_target_options(parser)
    add_json_option(parser)


def queries_from_hashes(hashes: list[str], type_name: str) -> list[LocalQuery]:
    kind = typed_signal_type(type_name, "--type")
    return [
        LocalQuery(kind.name, kind.parse(typed_value(text), f"HASH #{i + 1}").hex()) for i, text in enumerate(hashes)
    ]


def queries_from_files(paths: list[Path], *, dihedral: bool) -> list[LocalQuery]:
    from node.hashing import digests, image, video  # hashing (Pillow, pdqhash, vpdq) only when files are hashed

    queries = []
    for path in paths:
        md5, sha256 = digests.file_digests(path)
        if video.is_video(path):
            if dihedral:
                raise InvalidArgument("--dihedral", f"{path} (a video)", "image files only")
            features = video.hash_video(path)
            queries += [LocalQuery("vpdq", "", str(path), video=features), LocalQuery("video_md5", md5, str(path))]
            continue
        if dihedral:
            queries += [
                LocalQuery("pdq", value, str(path), name) for name, value, _ in image.pdq_dihedral(path)
            ]
        else:
            queries.append(LocalQuery("pdq", image.pdq_hash(path)[0], str(path)))
        queries += [LocalQuery("md5", md5, str(path)), LocalQuery("sha256", sha256, str(path))]
    return queries


def queries_from_features(paths: list[Path]) -> list[LocalQuery]:
    from node.core.vpdq import check_matchable

    queries = []
    for path in paths:
        features = read_features(path)
        check_matchable(features, str(path))  # said here, before anything is sent
        queries.append(LocalQuery("vpdq", "", str(path), video=features))
    return queries


def read_features(path: Path) -> VpdqFeatures:
    """A video's vPDQ features from a file: `hashnode hash --json` output (one video), the `vpdq` object of it,
    or Meta's reference form, one `frame_number,quality,pdq_hex,timestamp_seconds` line per frame (`#` lines
    ignored: `hashnode hash VIDEO` output as it is).

    Raises:
        InvalidArgument: unreadable, or not features (the message names the file and what is wrong).
    """
    import json

    from node.core.vpdq import VpdqFeatures

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidArgument("--features", str(path), f"a readable features file ({exc})") from None
    if text.lstrip().startswith(("[", "{")):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InvalidArgument("--features", str(path), f"JSON features ({exc})") from None
        return _features_from_json(data, path)
    frames, interval = _frames_from_lines(text, path)
    return VpdqFeatures.create(frames, interval, f"{path}")


def _features_from_json(data: object, path: Path) -> VpdqFeatures:
    """`hashnode hash --json` output of one video, or its `vpdq` object (`VpdqFeatures.as_json`)."""
    from node.core.vpdq import VpdqFeatures

    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if isinstance(data, dict) and "vpdq" in data:
        data = data["vpdq"]
    return VpdqFeatures.from_json(data, str(path))


def _frames_from_lines(text: str, path: Path) -> tuple[list[VpdqFrame], int]:
    """Meta's frame lines; the sampling is read from `hashnode hash`'s summary line when it is there (else 0:
    every frame, as Meta's reference files are)."""
    from node.core.vpdq import VpdqFrame

    frames: list[VpdqFrame] = []
    interval = 0
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if line.startswith("# vpdq") and "one every " in line:
            interval = int(line.split("one every ", 1)[1].split(" ", 1)[0])
        if not line or line.startswith("#"):
            continue
        try:
            frame, quality, pdq, seconds = line.split(",")
            frames.append(VpdqFrame(bytes.fromhex(pdq), int(quality), int(frame), round(float(seconds) * 1000)))
        except ValueError:
            raise InvalidArgument(
                f"{path}:{number}", line[:60], "frame_number,quality,pdq_hex,timestamp_seconds"
            ) from None
    return frames, interval


def local_queries(args: argparse.Namespace) -> list[LocalQuery]:
    given = [name for name, value in (("HASH", args.hashes), ("--file", args.file), ("--features", args.features))
             if value]
    if len(given) != 1:
        raise InvalidArgument(
            "HASH / --file / --features", " and ".join(given) or "none", "hashes, --file FILE... or --features FILE..."
        )
    if args.dihedral and not args.file:
        raise InvalidArgument(
            "--dihedral", "without --file", "--file IMAGE... (it hashes the image's variants)"
        )
    if args.threshold is not None and not 0 <= args.threshold <= MAX_THRESHOLD:
        raise InvalidArgument("--threshold", args.threshold, f"0..{MAX_THRESHOLD}")
    for name in ("query_percent", "compared_percent"):
        value = getattr(args, name)
        if value is not None and not 0 <= value <= 100:
            raise InvalidArgument(f"--{name.replace('_', '-')}", value, "a percentage 0..100")
    if args.file:
        return queries_from_files(args.file, dihedral=args.dihedral)
    if args.features:
        return queries_from_features(args.features)
    return queries_from_hashes(args.hashes, args.type)


def _print_human(queries: list[LocalQuery], response: client_pb2.MatchResponse) -> None:
    from node.cli.display import record_line, video_line, video_ranges_line

    matched = 0
    for query, result in zip(queries, response.results, strict=True):
        count = len(result.matches)
        matched += bool(count)
        print(f"{query.describe()}: " + (f"{count} match(es)" if count else "no match"))
        for match in result.matches:
            mark = "  DISPUTED: a case is open, review before acting" if match.disputed else ""
            if match.HasField("video"):
                print(f"  {video_line(match.video)}  {record_line(match.record)}{mark}")
                print(f"    {video_ranges_line(match.video)}")
            else:
                print(f"  distance {match.distance:>2}  {record_line(match.record)}{mark}")
            print("".join(f"    policy: {note}\n" for note in match.policy), end="")
        if result.query_id:
            print(f"  logged as query {result.query_id}")
    print(f"{matched} of {len(queries)} queries matched")


def _features_json(features: VpdqFeatures) -> dict[str, object]:
    """A video query's summary (its features are not repeated: `hashnode hash --json` prints them)."""
    return {
        "frames": len(features.frames),
        "duration_ms": features.duration_ms,
        "interval_ms": features.interval_ms,
        "matchable_frames": features.matchable,
    }


def _as_json(queries: list[LocalQuery], response: client_pb2.MatchResponse) -> list[dict[str, object]]:
    from node.cli.display import record_info_json, video_json

    return [
        {
            "query": {
                "signal_type": q.signal_type,
                "value": q.value,
                "file": q.file,
                "transform": q.transform,
                **({"video": _features_json(q.video)} if q.video is not None else {}),
            },
            "query_id": result.query_id,
            "matches": [
                {
                    "distance": m.distance,
                    **record_info_json(m.record),
                    "policy": list(m.policy),
                    "disputed": m.disputed,
                    **({"video": video_json(m.video)} if m.HasField("video") else {}),
                }
                for m in result.matches
            ],
        }
        for q, result in zip(queries, response.results, strict=True)
    ]


def run(args: argparse.Namespace) -> int:
    # The wire code is loaded here, not at import: `hashnode match --help` needs none of it.
    from node.api.gen.hashnode.v1 import client_pb2, client_pb2_grpc

    queries = local_queries(args)
    content_ref = check_content_ref(args.content_ref, "--content-ref")
    request = client_pb2.MatchRequest(
        pdq_threshold=args.threshold,
        include_records=True,  # a person reads what each match is
        vpdq_query_match_percent=args.query_percent,
        vpdq_compared_match_percent=args.compared_percent,
    )
    for q in queries:
        asked = request.queries.add(signal_type=q.signal_type, value=q.value, content_ref=q.file or content_ref)
        if q.video is not None:
            asked.video.interval_ms = q.video.interval_ms
            for f in q.video.frames:
                asked.video.frames.add(
                    pdq=f.pdq, quality=f.quality, frame_number=f.frame_number, timestamp_ms=f.timestamp_ms
                )
    with channel(args) as opened:
        response = client_pb2_grpc.HashNodeStub(opened).Match(request, timeout=args.timeout)
    if args.json:
        print_json(_as_json(queries, response))
    else:
        _print_human(queries, response)
    return ExitCode.OK
