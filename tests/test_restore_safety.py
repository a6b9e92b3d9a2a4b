"""A restore never forks the member's own log (issue 12, item 2), with real `hashnode serve` processes.

The scenario each test starts from: platform-a signs entry 1, is backed up, signs entry 2, and loses its store;
the operator restores the backup (which ends at entry 1). Signing again at once would put a second entry at
seq 2. So the restored node does not author, with or without peers configured, until a peer's copy of its log
has shown it holds the newest entry (it fetches entry 2 and continues at seq 3), or until the operator restored
with `--accept-fork-risk`, which the command describes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from node.api.gen.hashnode.v1 import admin_pb2, client_pb2, types_pb2
from node.cli.serve_cmd import PACKAGE_ROOT
from testkit.consortium import LocalConsortium, ProcessNode, eventually

pytestmark = pytest.mark.slow
LABEL = "tvec.propaganda"


def records(tag: str) -> list[types_pb2.HashRecord]:
    value = hashlib.sha256(tag.encode()).hexdigest()[:32]
    return [types_pb2.HashRecord(signal_type="md5", value=value, labels=[LABEL])]


def hashnode(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(PACKAGE_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "node.cli.main", *map(str, argv)], capture_output=True, text=True, timeout=60,
        env=env,
    )


def submit(node: ProcessNode, tag: str) -> int:
    return int(node.client.Submit(client_pb2.SubmitRequest(records=records(tag)), timeout=10).seq)


def head_of(node: ProcessNode, author: str) -> int:
    return {h.author: h.seq for h in node.state().heads}.get(author, 0)


def own_head(node: ProcessNode) -> int:
    return head_of(node, node.member)


def lose_store_after_backup(node: ProcessNode, backup: Path, *, others: list[ProcessNode] = ()) -> None:  # type: ignore[assignment]
    """Entry 1, a backup, entry 2 (replicated to `others`), then the node stops and its store is gone."""
    assert submit(node, "first") == 1
    reply = node.admin.Backup(admin_pb2.BackupRequest(directory=str(backup)), timeout=30)
    assert reply.entries == 1
    assert submit(node, "second") == 2
    for other in others:
        eventually(lambda other=other: head_of(other, node.member) == 2, f"{other.name} holds entry 2")
    node.stop()
    shutil.rmtree(node.data_dir)


def restore(node: ProcessNode, backup: Path, *flags: str) -> str:
    restored = hashnode("admin", "restore", backup, "--data-dir", node.data_dir, *flags)
    assert restored.returncode == 0, restored.stderr
    return restored.stdout


def test_restored_without_peers_it_refuses_to_author_and_says_why(tmp_path: Path) -> None:
    with LocalConsortium(tmp_path, ["a"]) as nodes:
        a = nodes["a"]
        a.start()
        lose_store_after_backup(a, tmp_path / "backup")
        said = restore(a, tmp_path / "backup")
        assert "does not author until it has compared" in said
        a.start()
        with pytest.raises(grpc.RpcError) as refused:
            submit(a, "after restore")
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "restored from a backup" in (refused.value.details() or "")
        assert own_head(a) == 1  # nothing signed at seq 2
        health = hashnode("health", "--target", a.process.admin_address)  # type: ignore[union-attr]
        assert "authoring  restored from a backup" in health.stdout, health.stdout + health.stderr
        # A restart does not clear it: the mark is in the store.
        a.stop()
        a.start()
        assert "restored from a backup" in a.state().authoring_blocked_reason


def test_restored_with_a_peer_it_fetches_its_newest_entry_then_continues_the_log(tmp_path: Path) -> None:
    with LocalConsortium(tmp_path, ["a", "b"]) as nodes:
        a, b = nodes["a"], nodes["b"]
        nodes.start()
        lose_store_after_backup(a, tmp_path / "backup", others=[b])
        restore(a, tmp_path / "backup")
        a.start()
        eventually(a.can_author, "a compared its log with b's copy")
        assert own_head(a) == 2  # fetched from b
        assert submit(a, "after restore") == 3
        eventually(lambda: head_of(b, a.member) == 3, "b applied entry 3")
        assert not a.state().convicted_authors and not b.state().convicted_authors
        a.stop()
        a.start()  # the proof is kept: it authors at once (its peer is up)
        eventually(a.can_author, "a authors after a restart")


def test_a_peer_added_after_the_restore_proves_the_head(tmp_path: Path) -> None:
    with LocalConsortium(tmp_path, ["a", "b"]) as nodes:
        a, b = nodes["a"], nodes["b"]
        nodes.start()
        lose_store_after_backup(a, tmp_path / "backup", others=[b])
        restore(a, tmp_path / "backup")
        a.write_config({})  # the example configs have no peers
        a.start()
        assert not a.can_author()
        added = hashnode("admin", "peers", "add", b.member, b.peer_address, "--target", a.process.admin_address)  # type: ignore[union-attr]
        assert added.returncode == 0, added.stderr
        eventually(a.can_author, "a compared its log with the peer added")
        assert submit(a, "after restore") == 3


def test_the_override_authors_at_once_and_names_the_risk(tmp_path: Path) -> None:
    with LocalConsortium(tmp_path, ["a"]) as nodes:
        a = nodes["a"]
        a.start()
        assert submit(a, "first") == 1
        a.admin.Backup(admin_pb2.BackupRequest(directory=str(tmp_path / "backup")), timeout=30)
        a.stop()
        shutil.rmtree(a.data_dir)
        said = restore(a, tmp_path / "backup", "--accept-fork-risk")
        assert "its log now forks" in said
        a.start()
        assert submit(a, "after restore") == 2


def test_the_override_authors_at_once_though_every_configured_peer_is_down(tmp_path: Path) -> None:
    # The case the operator guide names: peers configured (the roster's endpoints), none reachable. The general
    # rule (replication.authoring_without_peers_after_s = 0) would hold the node; the override lifts it too.
    with LocalConsortium(tmp_path, ["a", "b"]) as nodes:
        a, b = nodes["a"], nodes["b"]
        nodes.start()
        lose_store_after_backup(a, tmp_path / "backup", others=[b])
        b.stop()
        said = restore(a, tmp_path / "backup", "--accept-fork-risk")
        assert "authors at once" in said
        a.start()
        assert submit(a, "after restore") == 2  # the risk taken: seq 2 signed again, as the command said
        health = hashnode("health", "--target", a.process.admin_address)  # type: ignore[union-attr]
        assert "authoring  yes" in health.stdout, health.stdout + health.stderr
        assert "fork risk accepted" in a.log_text()
        a.stop()
        a.start()  # still no peer: the override holds until a peer's copy has been compared
        assert submit(a, "after restart") == 3


def test_without_the_override_a_restore_with_every_peer_down_still_waits(tmp_path: Path) -> None:
    with LocalConsortium(tmp_path, ["a", "b"]) as nodes:
        a, b = nodes["a"], nodes["b"]
        nodes.start()
        lose_store_after_backup(a, tmp_path / "backup", others=[b])
        b.stop()
        restore(a, tmp_path / "backup")
        a.start()
        with pytest.raises(grpc.RpcError) as refused:
            submit(a, "after restore")
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "restored from a backup" in (refused.value.details() or "")
        b.start()
        eventually(a.can_author, "a compared its log with b's copy")
        assert submit(a, "after restore") == 3
