"""The `hashnode` command line: human and --json output, exit codes, keys, files."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLE_KEYS, ROOT, Cli, RunningNode

from node.cli import command_base, match_cmd
from node.core.keys import SigningKey
from node.provenance import bundle_file

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "d35c785545392755e7e4164457657269"
LABEL = "tvec.propaganda"


def submit(cli: Cli, node: RunningNode, *extra: str) -> dict[str, object]:
    result = cli("submit", "--target", node.target, "--json", *extra)
    assert result.code == 0, result.err
    return dict(json.loads(result.out))


def test_no_command_prints_help_and_exits_2(cli: Cli) -> None:
    result = cli()
    assert result.code == 2 and "usage: hashnode" in result.err


def test_help_exits_0(cli: Cli) -> None:
    result = cli("--help")
    assert result.code == 0 and "provenance" in result.out


def test_keygen_writes_a_usable_key_and_refuses_to_overwrite_it(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "member.key"
    result = cli("keygen", "--out", path, "--json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    key = SigningKey.load(path)
    assert data == {"path": str(path), "public_key": key.public.raw.hex(), "key_id": key.public.key_id.hex()}
    assert path.stat().st_mode & 0o777 == 0o600
    again = cli("keygen", "--out", path)
    assert again.code == 2 and "refusing to overwrite" in again.err


def test_submit_from_arguments_with_every_field(cli: Cli, node: RunningNode) -> None:
    data = submit(
        cli, node, "--hash", PDQ, "--quality", "90", "--label", LABEL, "--label", "tvec.glorification",
        "--tag", "bridge", "--reference", "case-7", "--source", "referral:example-iru",
    )  # fmt: skip
    (record_id,) = data["record_ids"]  # type: ignore[misc]
    match = cli("match", "--target", node.target, "--json", PDQ)
    (hit,) = json.loads(match.out)[0]["matches"]
    assert hit["record_id"] == record_id
    assert (hit["labels"], hit["tags"], hit["reference"], hit["source"], hit["quality"]) == (
        ["tvec.glorification", LABEL],
        ["bridge"],
        "case-7",
        "referral:example-iru",
        90,
    )


def test_submit_several_hashes_at_once(cli: Cli, node: RunningNode) -> None:
    data = submit(cli, node, "--type", "md5", "--hash", MD5, "--hash", "0" * 32, "--label", LABEL)
    assert data["seq"] == 1 and len(data["record_ids"]) == 2  # type: ignore[arg-type]


def test_submit_jsonl_file_with_list_labels(cli: Cli, node: RunningNode, tmp_path: Path) -> None:
    path = tmp_path / "batch.jsonl"
    lines = [
        {"signal_type": "pdq", "value": PDQ.upper(), "quality": 100, "labels": [LABEL, "tvec.manifesto"]},
        {"signal_type": "md5", "value": MD5, "labels": [LABEL, "tvec.manifesto"], "tags": ["a", "b"]},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    data = submit(cli, node, "--file", str(path))
    assert len(data["record_ids"]) == 2  # type: ignore[arg-type]
    assert node.record_count() == 2


def test_submit_human_output_lists_record_ids(cli: Cli, node: RunningNode) -> None:
    result = cli("submit", "--target", node.target, "--hash", PDQ, "--quality", "100", "--label", LABEL)
    first, second = result.out.splitlines()
    assert first.startswith("submitted 1 record(s) as entry ") and "(seq 1, request id sha256-" in first
    assert second.endswith(f"pdq {PDQ}")


def test_match_json_reports_queries_and_matches(cli: Cli, node: RunningNode) -> None:
    submit(cli, node, "--hash", PDQ, "--quality", "100", "--label", LABEL)
    result = cli("match", "--target", node.target, "--json", "--threshold", "0", PDQ, "0" * 64)
    first, second = json.loads(result.out)
    assert first["query"] == {"signal_type": "pdq", "value": PDQ, "file": "", "transform": ""}
    assert [m["distance"] for m in first["matches"]] == [0]
    assert second["matches"] == []


def test_provenance_json_is_the_bundle_file_format(cli: Cli, node: RunningNode) -> None:
    (record_id,) = submit(cli, node, "--hash", PDQ, "--quality", "100", "--label", LABEL)["record_ids"]  # type: ignore[misc]
    result = cli("provenance", "--target", node.target, "--json", record_id)
    assert result.code == 0, result.err
    bundle = bundle_file.parse(result.out.encode("utf-8"))
    assert bundle.record_id.hex() == record_id and json.loads(result.out)["format_version"] == 1


def test_provenance_out_then_verify_json(cli: Cli, node: RunningNode, tmp_path: Path) -> None:
    (record_id,) = submit(cli, node, "--hash", PDQ, "--quality", "100", "--label", LABEL)["record_ids"]  # type: ignore[misc]
    path = tmp_path / "bundle.json"
    fetched = cli("provenance", "--target", node.target, record_id, "--out", path)
    assert fetched.code == 0 and "NOT PINNED" in fetched.out and f"wrote {path}" in fetched.out
    result = cli("verify", path, "--consortium", EXAMPLE_KEYS / "consortium.toml", "--json")
    data = json.loads(result.out)
    assert data["verified"] is True and data["record_id"] == record_id
    assert data["author"]["organisation"] == "Example Platform A (large platform)"
    assert data["record"]["labels"] == [LABEL] and data["status"] == "active"


def test_verify_json_failure(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "bundle.json"
    path.write_text("{}")
    result = cli("verify", path, "--json")
    assert result.code == 1
    data = json.loads(result.out)
    assert data["verified"] is False and "format_version" in data["error"]


def test_stats(cli: Cli, node: RunningNode) -> None:
    submit(cli, node, "--type", "md5", "--hash", MD5, "--label", LABEL)
    data = json.loads(cli("stats", "--target", node.admin_target, "--json").out)
    assert (data["member_id"], data["records"], data["records_by_type"]) == ("platform-a", 1, {"md5": 1})
    human = cli("stats", "--target", node.admin_target).out
    assert "node of platform-a in example-consortium" in human and "by_label   tvec.propaganda 1" in human


def test_target_defaults_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HASHNODE_TARGET", "10.1.2.3:4567")
    parser = argparse.ArgumentParser()
    command_base.add_target_options(parser)
    assert parser.parse_args([]).target == "10.1.2.3:4567"
    monkeypatch.delenv("HASHNODE_TARGET")
    parser = argparse.ArgumentParser()
    command_base.add_target_options(parser)
    assert parser.parse_args([]).target == "127.0.0.1:50051"


def test_ctrl_c_exits_130(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(args: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(match_cmd, "run", interrupted)
    assert cli("match", "0" * 64).code == 130


def test_example_keys_regenerate_byte_for_byte(tmp_path: Path) -> None:
    script = [sys.executable, str(ROOT / "scripts/make_example_keys.py"), "--out", str(tmp_path)]
    for _ in range(2):  # the second run rewrites the files it wrote the first time
        subprocess.run(script, check=True, capture_output=True, timeout=60)
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in EXAMPLE_KEYS.iterdir())
        for path in tmp_path.iterdir():
            assert path.read_bytes() == (EXAMPLE_KEYS / path.name).read_bytes(), path.name


def test_an_unwritable_path_is_an_error_not_a_traceback(cli: Cli, tmp_path: Path) -> None:
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    result = cli("keygen", "--out", not_a_directory / "member.key")
    assert result.code == 1 and result.err.startswith("hashnode: error: "), result
    assert str(not_a_directory) in result.err and "Traceback" not in result.err
