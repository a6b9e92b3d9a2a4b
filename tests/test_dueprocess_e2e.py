"""The due-process lifecycle across three `hashnode serve` processes (mutual TLS with the example identities,
replicating with each other), driven by `hashnode` commands as an operator and a platform's moderators would:

A contributes a hash; B matches a piece of content (with a content reference); B's user appeals and B files
the appeal; A overturns it; B and C stop matching; B's reinstatement notices list its earlier match; the
provenance bundle verifies offline (pinned to the consortium file) at every step, and a changed byte of its
signed content fails verification.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import EXAMPLE_KEYS, Cli

from node.cli.serve_cmd import NodeProcess
from testkit.consortium import example_config

pytestmark = pytest.mark.slow
MEMBERS = ("platform-a", "platform-b", "platform-c")
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
PDQ_NEAR = "f8f8f0cee0f4a84f0637022a038f67f0b36e26d596621e1d33e6b39c4e9c9b22"
CONSORTIUM_FILE = EXAMPLE_KEYS / "consortium.toml"
DEADLINE_S = 15.0  # generous; replication normally takes well under a second


def eventually(check: Callable[[], bool], what: str, timeout: float = DEADLINE_S) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for: {what}")
        time.sleep(0.05)
    return time.monotonic() - start


class Consortium:
    def __init__(self, cli: Cli, workdir: Path) -> None:
        self.cli, self.workdir = cli, workdir
        self.nodes: dict[str, NodeProcess] = {}

    def run(self, *argv: object, expect: int = 0) -> str:
        result = self.cli(*argv)
        assert result.code == expect, f"hashnode {' '.join(map(str, argv))}: exit {result.code}\n{result.err}"
        assert "Traceback" not in result.err
        return result.out

    def client(self, member: str) -> list[object]:
        return [
            "--target",
            self.nodes[member].address,
            "--ca",
            EXAMPLE_KEYS / f"{member}.crt",
            "--token-file",
            EXAMPLE_KEYS / f"{member}.client-token",
        ]

    def admin(self, member: str) -> list[object]:
        token = EXAMPLE_KEYS / f"{member}.admin-token"
        return ["--target", self.nodes[member].admin_address, "--token-file", token]

    def matches(self, member: str, value: str = PDQ, content_ref: str = "") -> list[str]:
        extra = ["--content-ref", content_ref] if content_ref else []
        found = json.loads(self.run("match", *self.client(member), value, *extra, "--json"))
        return [m["record_id"] for m in found[0]["matches"]]

    def bundle(self, member: str, record_id: str, path: Path) -> dict[str, object]:
        self.run("provenance", record_id, "--out", path, *self.client(member))
        return dict(json.loads(path.read_text(encoding="utf-8")))

    def verify(self, path: Path, expect: int = 0) -> dict[str, object]:
        out = self.run("verify", path, "--consortium", CONSORTIUM_FILE, "--json", expect=expect)
        return dict(json.loads(out))


@pytest.fixture
def consortium(cli: Cli, tmp_path: Path) -> Iterator[Consortium]:
    running = Consortium(cli, tmp_path)
    configs = {m: example_config(tmp_path, m) for m in MEMBERS}

    def start(member: str) -> None:
        running.nodes[member] = NodeProcess.start(configs[member], tmp_path / f"{member}.log", timeout=60)

    with ThreadPoolExecutor(len(MEMBERS)) as pool:
        list(pool.map(start, MEMBERS))
    try:
        for m in MEMBERS:
            for other in (o for o in MEMBERS if o != m):
                address = running.nodes[other].peer_address
                running.run("admin", "peers", "add", other, address, *running.admin(m))
        yield running
    finally:
        with ThreadPoolExecutor(len(MEMBERS)) as pool:  # each stop drains its streams: stop them together
            list(pool.map(NodeProcess.stop, running.nodes.values()))


def _flip_signed_byte(bundle: dict[str, object], field: str) -> dict[str, object]:
    changed = json.loads(json.dumps(bundle))
    holder, key = changed, field
    if field.startswith("related."):  # the first item of the first related entry
        holder, key = changed["related"][0]["entry"]["items"], 0
    raw = bytearray(base64.b64decode(holder[key]))
    raw[len(raw) // 2] ^= 0x01
    holder[key] = base64.b64encode(bytes(raw)).decode()
    return dict(changed)


def test_appeal_overturn_and_reinstatement_across_three_node_processes(
    consortium: Consortium, tmp_path: Path
) -> None:
    run, a, b, c = consortium.run, "platform-a", "platform-b", "platform-c"
    submitted = run(
        "submit",
        *consortium.client(a),
        "--hash",
        PDQ,
        "--quality",
        "100",
        "--label",
        "tvec.propaganda",
        "--json",
    )
    [rid] = json.loads(submitted)["record_ids"]
    eventually(lambda: consortium.matches(c) == [rid], "the record to reach C")
    eventually(lambda: consortium.matches(b, PDQ_NEAR, "upload/2026/42") == [rid], "B to match the upload")
    bundle_file = tmp_path / "bundle.json"
    consortium.bundle(c, rid, bundle_file)
    assert consortium.verify(bundle_file)["status"] == "active"

    appeal = json.loads(
        run("appeal", rid, "--case", "CASE-42", "--distance", "8", *consortium.client(b), "--json")
    )
    assert appeal["status"] == "active"

    def a_holds_the_appeal() -> bool:
        history = consortium.bundle(a, rid, bundle_file).get("related", [])  # absent while empty
        return [r["kind"] for r in history] == ["appeal"]  # type: ignore[index, union-attr]

    eventually(a_holds_the_appeal, "the appeal to reach A")
    pending = consortium.verify(bundle_file)
    assert pending["status"] == "active" and [e["kind"] for e in pending["history"]] == ["appeal"]  # type: ignore[union-attr]

    decided = run(
        "decide",
        appeal["entry_id"],
        "--outcome",
        "overturned",
        "--reason",
        "news report",
        *consortium.client(a),
    )
    assert "is now overturned on this node" in decided
    for member in (b, c):
        took = eventually(lambda m=member: consortium.matches(m) == [], f"{member} to stop matching")  # type: ignore[misc]
        print(f"{member} stopped matching {took:.2f} s after the decision")

    notices = json.loads(run("notices", *consortium.admin(b), "--json"))["notices"]
    ours = [n for n in notices if n["content_ref"] == "upload/2026/42"]
    assert [(n["cause_record_id"], n["standing"], n["cleared"]) for n in ours] == [(rid, "overturned", True)]

    final = consortium.bundle(b, rid, bundle_file)
    verified = consortium.verify(bundle_file)
    assert verified["status"] == "overturned"
    assert [(e["kind"], e["ruling"]) for e in verified["history"]] == [
        ("appeal", ""),
        ("decision", "effective"),
    ]  # type: ignore[union-attr]
    for field in ("record_item", "entry_header", "entry_signature", "related.items"):
        tampered = tmp_path / f"tampered-{field}.json"
        tampered.write_text(json.dumps(_flip_signed_byte(final, field)), encoding="utf-8")
        assert consortium.verify(tampered, expect=1)["verified"] is False
