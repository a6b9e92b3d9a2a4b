"""`hashnode match --features FILE` (and `--file VIDEO`) against a running node: a video match shows both
percentages and the matched ranges of both videos; bad feature files are one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import Cli, RunningNode

from node.core.records import HashRecord
from node.core.vpdq import VpdqFeatures, VpdqFrame

LABELS = ("tvec.propaganda",)


def features(hashes: np.ndarray) -> VpdqFeatures:
    return VpdqFeatures.create([VpdqFrame(bytes(h), 90, 30 * i, 1000 * i) for i, h in enumerate(hashes)], 1000)


@pytest.fixture
def stored(node: RunningNode) -> tuple[np.ndarray, str]:
    """A 40-second video stored at the node: its frames and record id."""
    frames = np.random.default_rng(5).integers(0, 256, (40, 32), dtype=np.uint8)
    video = features(frames)
    [rid] = node.ledger.submit([HashRecord("vpdq", video.encode(), video.record_quality, LABELS)]).record_ids
    return frames, rid.hex()


def test_a_features_file_matches_with_both_percentages_and_ranges(
    cli: Cli, node: RunningNode, stored: tuple[np.ndarray, str], tmp_path: Path
) -> None:
    frames, rid = stored
    path = tmp_path / "first-half.json"
    path.write_text(json.dumps([{"path": "first-half.mp4", "vpdq": features(frames[:20]).as_json()}]))
    result = cli("match", "--target", node.target, "--features", path)
    assert result.code == 0, result.err
    assert "video 100.0% of query,  50.0% of stored" in result.out and rid in result.out
    assert "matched: query 0:00.000-0:20.000; stored 0:00.000-0:20.000" in result.out
    as_json = cli("match", "--target", node.target, "--features", path, "--json")
    assert "vpdq 20 frames over 0:19 (one every 1000 ms), 20 of quality >= 50" in result.out
    [answer] = json.loads(as_json.out)
    assert answer["query"]["video"] == {"frames": 20, "duration_ms": 19000, "interval_ms": 1000, "matchable_frames": 20}
    [hit] = answer["matches"]
    assert hit["record_id"] == rid
    assert hit["video"] == {
        "query_match_percent": 100.0, "compared_match_percent": 50.0,
        "query_ranges": [[0, 20000]], "stored_ranges": [[0, 20000]],
    }  # fmt: skip


def test_meta_frame_lines_match_and_thresholds_can_be_asked(
    cli: Cli, node: RunningNode, stored: tuple[np.ndarray, str], tmp_path: Path
) -> None:
    frames, _ = stored
    path = tmp_path / "cut.txt"
    lines = [f"{30 * i},90,{bytes(h).hex()},{i}.000" for i, h in enumerate(frames[:20])]
    path.write_text("# frame_number,quality,pdq_hex,timestamp_seconds\n" + "\n".join(lines) + "\n")
    assert "1 of 1 queries matched" in cli("match", "--target", node.target, "--features", path).out
    strict = cli("match", "--target", node.target, "--features", path, "--compared-percent", "60")
    assert strict.code == 0 and "0 of 1 queries matched" in strict.out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("0,90,zz,0.0\n", "cut.txt:1: got 0,90,zz,0.0, want frame_number,quality,pdq_hex", id="bad hex"),
        pytest.param('{"frames": [{"pdq": "00"}]}', "frames[0]", id="json frame incomplete"),
        pytest.param(f"0,10,{'0' * 64},0.0\n", "no frame of quality >= 50", id="no usable frame"),
        pytest.param(
            f"1,90,{'0' * 64},0.0\n0,90,{'1' * 64},1.0\n", "frames[1].frame_number: got 0", id="out of order"
        ),
    ],
)
def test_bad_feature_files_are_one_line_errors(
    cli: Cli, node: RunningNode, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "cut.txt"
    path.write_text(content)
    result = cli("match", "--target", node.target, "--features", path)
    assert result.code == 2 and message in result.err and len(result.err.strip().splitlines()) == 1, result.err


def test_hashes_files_and_features_are_exclusive(cli: Cli, tmp_path: Path) -> None:
    result = cli("match", "--features", tmp_path / "a.json", "--file", tmp_path / "b.mp4")
    assert result.code == 2 and "--file and --features" in result.err


def test_explain_and_notices_carry_both_percentages_and_ranges(
    cli: Cli, node: RunningNode, stored: tuple[np.ndarray, str], tmp_path: Path
) -> None:
    frames, rid = stored
    path = tmp_path / "first-half.json"
    path.write_text(json.dumps({"vpdq": features(frames[:20]).as_json()}))
    assert cli("match", "--target", node.target, "--features", path).code == 0  # content ref: the file's name
    expected = {
        "query_match_percent": 100.0, "compared_match_percent": 50.0,
        "query_ranges": [[0, 20000]], "stored_ranges": [[0, 20000]],
    }  # fmt: skip
    explained = cli("explain", str(path), "--target", node.admin_target)
    assert explained.code == 0, explained.err
    assert f"video 100.0% of query,  50.0% of stored  record {rid}" in explained.out
    assert "matched: query 0:00.000-0:20.000; stored 0:00.000-0:20.000" in explained.out
    [why] = json.loads(cli("explain", str(path), "--target", node.admin_target, "--json").out)["matches"]
    assert why["video"] == expected
    node.ledger.retract([bytes.fromhex(rid)], "test")
    notices = cli("notices", "--target", node.admin_target)
    assert f"matched record {rid}: video 100.0% of query,  50.0% of stored" in notices.out, notices.err
    assert "matched: query 0:00.000-0:20.000; stored 0:00.000-0:20.000" in notices.out
    [notice] = json.loads(cli("notices", "--target", node.admin_target, "--json").out)["notices"]
    [video] = notice["videos"]
    assert video["record_id"] == rid and video["query_id"] == why["query_id"] and video["video"] == expected
