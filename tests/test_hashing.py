"""Local hashing against Meta's reference output, and image matching through a node (../shared/data/pdq)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import Cli, ImageHashes, RunningNode

from node.core.errors import FailedPrecondition
from node.hashing import image as hashing

pytest.importorskip("pdqhash", reason="needs the hashing extra")

ORIGINAL = "bridge-mods/aaa-orig.jpg"


def test_hash_command_reproduces_the_reference_hashes(cli: Cli, pdq_images: dict[str, ImageHashes]) -> None:
    result = cli("hash", "--json", *(image.path for image in pdq_images.values()))
    assert result.code == 0, result.err
    got = {Path(item["path"]): item for item in json.loads(result.out)}
    for image in pdq_images.values():
        item = got[image.path]
        assert (item["pdq"], item["quality"], item["md5"], item["sha256"]) == (
            image.pdq,
            image.quality,
            image.md5,
            image.sha256,
        ), image.path


def test_hash_command_human_output(cli: Cli, pdq_images: dict[str, ImageHashes]) -> None:
    image = pdq_images[ORIGINAL]
    result = cli("hash", image.path)
    assert result.out.splitlines() == [
        str(image.path),
        f"  pdq     {image.pdq}  quality {image.quality}",
        f"  md5     {image.md5}",
        f"  sha256  {image.sha256}",
    ]


def test_dihedral_of_the_original_starts_with_the_original(pdq_images: dict[str, ImageHashes]) -> None:
    image = pdq_images[ORIGINAL]
    variants = hashing.pdq_dihedral(image.path)
    assert [name for name, _, _ in variants] == list(hashing.DIHEDRAL_TRANSFORMS)
    assert variants[0][1:] == (image.pdq, image.quality)


def submit_original(node: RunningNode, cli: Cli, image: ImageHashes) -> None:
    result = cli(
        "submit",
        "--target",
        node.target,
        "--hash",
        image.pdq,
        "--quality",
        image.quality,
        "--label",
        "tvec.propaganda",
    )
    assert result.code == 0, result.err


def match_file(node: RunningNode, cli: Cli, path: Path, *extra: str) -> list[dict[str, object]]:
    result = cli("match", "--target", node.target, "--json", "--threshold", "31", "--file", path, *extra)
    assert result.code == 0, result.err
    return list(json.loads(result.out))


def pdq_matches(results: list[dict[str, object]]) -> list[tuple[str, int]]:
    """(transform, distance) of each PDQ query that matched."""
    found = []
    for result in results:
        query, matches = result["query"], result["matches"]
        assert isinstance(query, dict) and isinstance(matches, list)
        if query["signal_type"] == "pdq" and matches:
            found.append((str(query["transform"]), int(matches[0]["distance"])))
    return found


def test_every_edit_matches_the_original_at_threshold_31(
    node: RunningNode, cli: Cli, pdq_images: dict[str, ImageHashes]
) -> None:
    submit_original(node, cli, pdq_images[ORIGINAL])
    edits = [
        image for name, image in pdq_images.items() if name.startswith("bridge-mods/") and name != ORIGINAL
    ]
    assert len(edits) == 11
    for image in edits:
        (match,) = pdq_matches(match_file(node, cli, image.path))
        assert match[1] <= 31, image.path


def test_rotations_and_flips_match_only_with_dihedral(
    node: RunningNode, cli: Cli, pdq_images: dict[str, ImageHashes]
) -> None:
    submit_original(node, cli, pdq_images[ORIGINAL])
    variants = [
        image for name, image in pdq_images.items() if name.startswith("dihedral/") and "original" not in name
    ]
    assert len(variants) == 7
    for image in variants:
        assert pdq_matches(match_file(node, cli, image.path)) == [], image.path
        matched = pdq_matches(match_file(node, cli, image.path, "--dihedral"))
        assert len(matched) == 1 and matched[0][0] != "original", (image.path, matched)
        assert matched[0][1] <= 31


def test_dihedral_human_output_names_the_transform(
    node: RunningNode, cli: Cli, pdq_images: dict[str, ImageHashes]
) -> None:
    submit_original(node, cli, pdq_images[ORIGINAL])
    rotated = pdq_images["dihedral/bridge-2-rotate-90.jpg"]
    result = cli("match", "--target", node.target, "--file", rotated.path, "--dihedral")
    matched = [line for line in result.out.splitlines() if "1 match" in line]
    # Turning the rotated copy back by 270 degrees reproduces the original exactly.
    assert matched == [f"pdq {pdq_images[ORIGINAL].pdq}  ({rotated.path}, as rotate270): 1 match(es)"]


def test_a_file_that_is_not_an_image(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not an image")
    result = cli("hash", path)
    assert result.code == 2
    assert (
        result.err.startswith(f"hashnode: error: {path}: got unreadable image")
        and "Traceback" not in result.err
    )


def test_a_missing_file(cli: Cli, tmp_path: Path) -> None:
    result = cli("hash", tmp_path / "nope.jpg")
    assert result.code == 2 and "no such file" in result.err


def test_missing_hashing_extra_is_explained(
    monkeypatch: pytest.MonkeyPatch, cli: Cli, pdq_images: dict[str, ImageHashes]
) -> None:
    monkeypatch.setitem(sys.modules, "pdqhash", None)
    with pytest.raises(FailedPrecondition, match=r"pip install 'hashnode-consortium\[hashing\]'"):
        hashing.pdq_hash(pdq_images[ORIGINAL].path)
    result = cli("hash", pdq_images[ORIGINAL].path)
    assert result.code == 1
    assert "image hashing needs the optional 'hashing' extra" in result.err
