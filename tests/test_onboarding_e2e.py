"""A new member joins a running three-member consortium by the CLI steps of docs/onboarding.md; then revoked.

Real `hashnode serve` processes on 127.0.0.1, mutual TLS with the example identities (keys/example); every
step is a `hashnode` command as the document gives it (run in this process for speed; the nodes are separate
processes). The new member ends fully synced and verified, contributes a hash the others match; then the
stewards revoke it: its later entries are refused everywhere (the others refuse its connections, and its own
node, once told, stops authoring and withholds what it signed after the cutoff), while its earlier records
stay matchable everywhere, flagged in their provenance.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import EXAMPLE_KEYS, Cli

from node.cli.serve_cmd import NodeProcess

pytestmark = pytest.mark.slow
LABEL = "tvec.propaganda"
MEMBERS = ("platform-a", "platform-b", "platform-c")


def example_config(workdir: Path, member: str) -> Path:
    """The example member's node config (TLS, tokens: keys/example) on port 0, its data in `workdir`."""
    text = (EXAMPLE_KEYS / f"{member}.toml").read_text(encoding="utf-8")
    text = text.replace('"../../demo-data/', '"' + str(workdir / "data") + "/")
    for ext in ("key", "crt", "tls.key", "client-token", "admin-token"):
        text = text.replace(f'"{member}.{ext}"', f'"{EXAMPLE_KEYS / f"{member}.{ext}"}"')
    text = text.replace('"roster.json"', f'"{EXAMPLE_KEYS / "roster.json"}"')
    path = workdir / f"{member}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def md5(tag: str) -> str:
    return hashlib.md5(tag.encode()).hexdigest()


def eventually(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        time.sleep(0.2)


class Consortium:
    """The running nodes and how to call them as their operators and platforms would."""

    def __init__(self, cli: Cli, workdir: Path) -> None:
        self.cli, self.workdir = cli, workdir
        self.nodes: dict[str, NodeProcess] = {}
        self.keys: dict[
            str, tuple[Path, Path, Path]
        ] = {}  # member -> (certificate, client token, admin token)

    def run(self, *argv: object, expect: int = 0) -> str:
        result = self.cli(*argv)
        assert result.code == expect, f"hashnode {' '.join(map(str, argv))}: exit {result.code}\n{result.err}"
        assert "Traceback" not in result.err
        return result.out + result.err

    def client(self, member: str) -> list[object]:
        cert, token, _ = self.keys[member]
        return ["--target", self.nodes[member].address, "--ca", cert, "--token-file", token]

    def admin(self, member: str) -> list[object]:
        return ["--target", self.nodes[member].admin_address, "--token-file", self.keys[member][2]]

    def start(self, member: str, config: Path) -> None:
        self.nodes[member] = NodeProcess.start(config, self.workdir / f"{member}.log", timeout=60)

    def matches(self, member: str, value: str) -> bool:
        out = self.run("match", *self.client(member), "--type", "md5", value, "--json")
        return bool(json.loads(out)[0]["matches"])

    def roster_version(self, member: str) -> int:
        return int(json.loads(self.run("admin", "roster", *self.admin(member), "--json"))["version"])

    def stop(self) -> None:
        for process in self.nodes.values():
            process.stop()


@pytest.fixture
def consortium(cli: Cli, tmp_path: Path) -> Iterator[Consortium]:
    """platform-a, -b and -c running with the example TLS identities, each the others' peer."""
    running = Consortium(cli, tmp_path)
    configs = {m: example_config(tmp_path, m) for m in MEMBERS}
    for m in MEMBERS:
        running.keys[m] = tuple(EXAMPLE_KEYS / f"{m}.{ext}" for ext in ("crt", "client-token", "admin-token"))  # type: ignore[assignment]
    with ThreadPoolExecutor(len(MEMBERS)) as pool:
        list(pool.map(lambda m: running.start(m, configs[m]), MEMBERS))
    try:
        for m in MEMBERS:
            for other in MEMBERS:
                if other != m:
                    running.run(
                        "admin", "peers", "add", other, running.nodes[other].peer_address, *running.admin(m)
                    )
        yield running
    finally:
        running.stop()


def test_a_member_joins_contributes_and_is_revoked(consortium: Consortium, tmp_path: Path) -> None:
    run, a = consortium.run, "platform-a"
    run("submit", *consortium.client(a), "--type", "md5", "--hash", md5("known-a"), "--label", LABEL)
    eventually(lambda: all(consortium.matches(m, md5("known-a")) for m in MEMBERS), "A's hash everywhere")

    # 1. The new member creates its keys and its join request.
    d = tmp_path / "platform-d"
    out = run(
        "join",
        "--consortium",
        "example-consortium",
        "--member-id",
        "platform-d",
        "--organisation",
        "Platform D",
        "--contact",
        "trust@platform-d.example",
        "--out",
        d,
        "--listen",
        "127.0.0.1:0",
        "--peer-listen",
        "127.0.0.1:0",
        "--admin-listen",
        "127.0.0.1:0",
    )
    fingerprint = out.split("TLS fingerprint")[1].split()[0]

    # 2. The stewards admit it: the next roster version, reviewed, signed by two of three.
    stewards = tmp_path / "stewards"
    stewards.mkdir()
    run("admin", "roster", *consortium.admin(a), "--out", stewards / "current.json")
    admitted = run(
        "admin",
        "admit",
        d / "join-request.json",
        "--roster",
        stewards / "current.json",
        "--out",
        stewards / "v2.json",
    )
    assert fingerprint in admitted  # what the stewards confirm with the organisation out of band
    for steward in ("steward-1", "steward-2"):
        run("admin", "sign", stewards / "v2.json", "--key", EXAMPLE_KEYS / f"{steward}.key")
    shown = run("admin", "show", stewards / "v2.json", "--roster", stewards / "current.json", "--json")
    v2 = json.loads(shown)
    assert v2["ready"] and v2["version"] == 2

    # 3. Published to one node; the others fetch it from there.
    run("admin", "publish", stewards / "v2.json", *consortium.admin(a))
    for m in MEMBERS[1:]:
        run("admin", "sync", *consortium.admin(m))
    eventually(lambda: all(consortium.roster_version(m) == 2 for m in MEMBERS), "roster version 2 everywhere")

    # 4. The new member bootstraps from one peer: roster chain from the pinned id, then the whole database.
    shutil.copyfile(stewards / "v2.json", d / "roster.json")
    boot = run(
        "bootstrap",
        "--config",
        d / "node.toml",
        "--peer",
        consortium.nodes[a].peer_address,
        "--roster-id",
        v2["roster_id"],
    )
    assert "roster chain verified: now at version 2" in boot and "lag        0 entries behind" in boot
    assert "records    1 active" in boot

    # 5. It serves; it and the others add each other as peers.
    consortium.start("platform-d", d / "node.toml")
    consortium.keys["platform-d"] = (d / "tls.crt", d / "client-token", d / "admin-token")
    for m in MEMBERS:
        run(
            "admin",
            "peers",
            "add",
            "platform-d",
            consortium.nodes["platform-d"].peer_address,
            *consortium.admin(m),
        )
        run("admin", "peers", "add", m, consortium.nodes[m].peer_address, *consortium.admin("platform-d"))
    assert consortium.matches("platform-d", md5("known-a"))  # synced and verified by bootstrap
    eventually(
        lambda: "peers      3 of 3 reachable" in run("health", *consortium.admin("platform-d")),
        "platform-d reaching its three peers",
    )

    # 6. It contributes; the others match.
    run(
        "submit", *consortium.client("platform-d"), "--type", "md5", "--hash", md5("from-d"), "--label", LABEL
    )
    eventually(lambda: all(consortium.matches(m, md5("from-d")) for m in MEMBERS), "D's hash everywhere")

    # 7. The stewards revoke it.
    run("admin", "roster", *consortium.admin(a), "--out", stewards / "current-2.json")
    run(
        "admin",
        "revoke",
        "platform-d",
        "--roster",
        stewards / "current-2.json",
        "--out",
        stewards / "v3.json",
    )
    for steward in ("steward-2", "steward-3"):
        run("admin", "sign", stewards / "v3.json", "--key", EXAMPLE_KEYS / f"{steward}.key")
    run("admin", "publish", stewards / "v3.json", *consortium.admin(a))
    for m in MEMBERS[1:]:
        run("admin", "sync", *consortium.admin(m))
    eventually(lambda: all(consortium.roster_version(m) == 3 for m in MEMBERS), "roster version 3 everywhere")

    # Its node, not told, signs another hash; no other node takes it (they refuse its connections and would
    # refuse the entry), and its earlier hash stays, flagged.
    run(
        "submit",
        *consortium.client("platform-d"),
        "--type",
        "md5",
        "--hash",
        md5("after-cutoff"),
        "--label",
        LABEL,
    )
    for m in MEMBERS:
        run("admin", "sync", *consortium.admin(m))
    eventually(
        lambda: all(
            "backoff" in line or "connecting" in line
            for line in run("admin", "peers", *consortium.admin("platform-d")).splitlines()
        ),
        "platform-d's connections refused",
    )
    time.sleep(1.0)
    for m in MEMBERS:
        assert not consortium.matches(m, md5("after-cutoff"))
        assert consortium.matches(m, md5("from-d"))
    record_id = json.loads(run("match", *consortium.client(a), "--type", "md5", md5("from-d"), "--json"))[0][
        "matches"
    ][0]["record_id"]
    bundle = tmp_path / "bundle.json"
    run("provenance", *consortium.client(a), record_id, "--out", bundle)
    verified = run("verify", bundle, "--json")
    assert "contributor platform-d revoked at roster version 3" in verified

    # Once its operator is given the new roster too, its own node stops authoring and withholds what it
    # signed after the cutoff.
    run("admin", "publish", stewards / "v3.json", *consortium.admin("platform-d"))
    refused = run(
        "submit",
        *consortium.client("platform-d"),
        "--type",
        "md5",
        "--hash",
        md5("refused"),
        "--label",
        LABEL,
        expect=1,
    )
    assert "authoring stopped: member 'platform-d' is revoked in roster version 3" in refused
    assert not consortium.matches("platform-d", md5("after-cutoff"))
    assert consortium.matches("platform-d", md5("from-d"))
