"""Video matching across three `hashnode serve` processes (the example consortium over mutual TLS):

A contributes a sample video (`hashnode submit --file`: hashed where the command runs, its features sent); B
matches copies made here with ffmpeg, one re-encoded at another bitrate and one cut to its first half (hashed
beforehand with `hashnode hash --json`, matched with `hashnode match --features`), within a second of A's
acknowledgement; the record's provenance bundle verifies offline with `hashnode
verify` and with the Node verifier; B's user appeals, A overturns, every node stops matching the video, and B's
reinstatement notice names its past video match.

Needs ffmpeg and vpdq (the `video` extra); skipped without them unless HASHNODE_REQUIRE_VPDQ says this machine
must have them (tests/conftest.py, `require_vpdq`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import EXAMPLE_KEYS, ROOT, VIDEO_DATA, require_vpdq

from tests.test_dueprocess_e2e import Consortium, consortium, eventually

__all__ = ["consortium"]  # the fixture, imported for pytest
pytestmark = pytest.mark.slow
SAMPLE = VIDEO_DATA / "videos/chair-orig-22-sd-bar.mp4"  # 22.5 s, 720x480
FFMPEG = shutil.which("ffmpeg")
NODE = shutil.which("node")


def ffmpeg(*args: object) -> None:
    assert FFMPEG is not None
    subprocess.run([FFMPEG, "-v", "error", "-y", *map(str, args)], check=True, timeout=120)


def duration_s(path: Path) -> float:
    probe = shutil.which("ffprobe")
    assert probe is not None
    shown = subprocess.run(
        [probe, "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        check=True, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    return float(shown.stdout)


@pytest.fixture
def copies(tmp_path: Path) -> dict[str, Path]:
    """The sample and two edited copies of it: re-encoded at a much lower bitrate, and its first half only."""
    if FFMPEG is None or shutil.which("ffprobe") is None:
        require_vpdq()  # fails where video hashing is required (CI), else skips
        pytest.skip("ffmpeg is not installed")
    require_vpdq()
    reencoded, first_half = tmp_path / "reencoded.mp4", tmp_path / "first-half.mp4"
    x264 = ("-c:v", "libx264", "-preset", "ultrafast", "-an")
    ffmpeg("-i", SAMPLE, *x264, "-b:v", "150k", reencoded)
    ffmpeg("-i", SAMPLE, "-t", f"{duration_s(SAMPLE) / 2:.3f}", *x264, first_half)
    return {"sample": SAMPLE, "reencoded": reencoded, "first-half": first_half}


def features_file(consortium: Consortium, video: Path, out: Path) -> Path:
    """`hashnode hash --json VIDEO`, kept as the features file `hashnode match --features` reads."""
    out.write_text(consortium.run("hash", video, "--json"), encoding="utf-8")
    return out


def contribute(consortium: Consortium, member: str, video: Path) -> str:
    """`hashnode submit --file VIDEO` at `member` (the video hashed here, its features sent); returns the record id
    once the node has acknowledged it."""
    run = consortium.run
    done = run("submit", *consortium.client(member), "--file", video, "--label", "tvec.propaganda", "--json")
    [rid] = json.loads(done)["record_ids"]
    return str(rid)


def video_matches(consortium: Consortium, member: str, features: Path) -> list[dict[str, object]]:
    found = json.loads(consortium.run("match", *consortium.client(member), "--features", features, "--json"))
    return list(found[0]["matches"])


def test_edited_copies_match_across_the_consortium_until_the_video_is_overturned(
    consortium: Consortium, copies: dict[str, Path], tmp_path: Path
) -> None:
    run, a, b, c = consortium.run, "platform-a", "platform-b", "platform-c"
    reencoded = features_file(consortium, copies["reencoded"], tmp_path / "reencoded.json")
    first_half = features_file(consortium, copies["first-half"], tmp_path / "first-half.json")

    rid = contribute(consortium, a, copies["sample"])
    acknowledged = time.monotonic()
    eventually(lambda: [m["record_id"] for m in video_matches(consortium, b, reencoded)] == [rid], "B to match")
    took = time.monotonic() - acknowledged
    print(f"B matched the re-encoded copy {took:.3f} s after A's acknowledgement")
    assert took <= 1.0
    [whole] = video_matches(consortium, b, reencoded)
    [half] = video_matches(consortium, b, first_half)
    assert whole["video"]["query_match_percent"] >= 80 and whole["video"]["compared_match_percent"] >= 80  # type: ignore[index]
    assert half["video"]["query_match_percent"] >= 80  # type: ignore[index]
    assert 30 <= half["video"]["compared_match_percent"] <= 70  # type: ignore[index]
    [stored_range] = half["video"]["stored_ranges"]  # type: ignore[index]
    assert stored_range[0] == 0 and 9_000 <= stored_range[1] <= 14_000  # about the first 11 s
    shown = run("match", *consortium.client(b), "--file", copies["first-half"])  # hashed by the command itself
    assert f"record {rid}" in shown and "% of query" in shown and "matched: query 0:00.000-" in shown

    bundle = tmp_path / "bundle.json"
    run("provenance", rid, "--out", bundle, *consortium.client(c))
    assert consortium.verify(bundle)["status"] == "active"
    if NODE is not None:
        done = subprocess.run(
            [NODE, "verify.js", str(bundle), "--roster", str(EXAMPLE_KEYS / "roster.json")], cwd=ROOT / "clients/node",
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0 and json.loads(done.stdout)["status"] == "active", done.stdout + done.stderr

    matched_query = json.loads(run("match", *consortium.client(b), "--features", reencoded, "--json"))[0]["query_id"]
    appeal = json.loads(run("appeal", rid, "--case", "CASE-V1", *consortium.client(b), "--json"))

    def a_holds_the_appeal() -> bool:
        related = consortium.bundle(a, rid, tmp_path / "a.json").get("related", [])  # absent while empty
        return [r["kind"] for r in related] == ["appeal"]  # type: ignore[union-attr]

    eventually(a_holds_the_appeal, "the appeal to reach A")
    run("decide", appeal["entry_id"], "--outcome", "overturned", "--reason", "news report", *consortium.client(a))
    for member in (a, b, c):
        eventually(lambda m=member: video_matches(consortium, m, reencoded) == [], f"{member} to stop matching")  # type: ignore[misc]

    notices = json.loads(run("notices", *consortium.admin(b), "--json"))["notices"]
    ours = [n for n in notices if n["content_ref"] == str(reencoded)]
    assert [(n["cause_record_id"], n["standing"], n["overturned_record_ids"]) for n in ours] == [
        (rid, "overturned", [rid])
    ]
    assert matched_query in ours[0]["query_ids"]
    explained = json.loads(run("explain", matched_query, *consortium.admin(b), "--json"))
    assert [m["record_id"] for m in explained["matches"]] == [rid]
    run("provenance", rid, "--out", bundle, *consortium.client(b))
    assert consortium.verify(bundle)["status"] == "overturned"

