"""Corruption is never served silently (issue 12, item 3).

Stray bytes written into the middle of a real store's data file, at seeded offsets: `hashnode check` reports
every problem without crashing, and the node either refuses to start with a one-line message naming the damage
or answers every record the store held (a Match returns it, or fails with DATA_LOSS): never a clean "no match",
never INVALID_ARGUMENT blaming the caller, never INTERNAL. Damage met while serving is DATA_LOSS, counted in
`hashnode_storage_corruption_total` and turns the node's health NOT_SERVING; the operator restores a backup and
the node serves the records again. bench/corruption.py runs the same trials in larger numbers
(docs/reliability.md).
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
from collections import Counter
from pathlib import Path

import grpc
import pytest
from conftest import Cli, write_config
from grpc_health.v1 import health_pb2, health_pb2_grpc

from node.api.gen.hashnode.v1 import admin_pb2, client_pb2
from node.core.errors import HashnodeError, Unavailable
from node.runtime.runtime import open_node
from node.server.metrics import NodeMetrics
from node.server.server import create_servers
from node.storage.integrity import check_store_at
from node.storage.store import Store
from testkit.consortium import LocalConsortium, insecure_config
from testkit.corruption import KnownRecords, build_store, damage, serve_trial, status_offset

TRIALS = 100


@pytest.fixture(scope="module")
def base_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, KnownRecords]:
    """One store of 300 records (MD5, SHA-256 and PDQ, six entries), built once and copied per trial."""
    directory = tmp_path_factory.mktemp("corruption") / "base"
    return directory, build_store(directory)


@pytest.mark.slow  # the issue asks for at least 100 trials: ~15 s on an idle box (0.15 s a trial)
def test_damage_anywhere_is_reported_by_check_and_never_served_as_a_miss(
    base_store: tuple[Path, KnownRecords], tmp_path: Path
) -> None:
    base, known = base_store
    outcomes: Counter[str] = Counter()
    for seed in range(TRIALS):
        trial = tmp_path / f"t{seed}"
        shutil.copytree(base, trial)
        damage(trial / "lmdb/data.mdb", seed)
        report = check_store_at(trial / "lmdb")
        outcome = serve_trial(trial, known)
        outcomes[outcome.kind] += 1
        assert not outcome.misses, f"seed {seed}: a clean no match for {outcome.misses[:3]}"
        assert outcome.kind in ("served", "refused", "data_loss"), f"seed {seed}: {outcome}"
        if outcome.kind != "served":  # what the node met, the check reports too
            assert not report.ok, f"seed {seed}: the node said {outcome.detail}, the check found nothing"
        if outcome.kind == "refused":
            assert "the store is damaged" in outcome.detail and "\n" not in outcome.detail, outcome.detail
        shutil.rmtree(trial)
    # Not vacuous: many trials hit the tables matching reads (the rest hit free pages or other tables).
    assert outcomes["refused"] + outcomes["data_loss"] >= TRIALS // 5, outcomes
    assert outcomes["served"] >= TRIALS // 5, outcomes


def test_check_never_crashes_and_says_where(base_store: tuple[Path, KnownRecords], tmp_path: Path, cli: Cli) -> None:
    """Runs as the operator does (config file, `hashnode check`): every problem listed, exit 1, no traceback, also
    on a read-only copy; damage in the records table is named by table and key."""
    base = base_store[0]
    config = write_config(tmp_path)
    data = tmp_path / "data-platform-a"
    shutil.copytree(base, data)
    assert cli("check", "--config", config).code == 0
    ordinal = 40
    with open(data / "lmdb/data.mdb", "r+b") as file:
        file.seek(status_offset(data / "lmdb", ordinal))
        file.write(b"\xee")
    for path in [data / "lmdb", data / "lmdb/data.mdb", data / "lmdb/lock.mdb", data]:
        if path.exists():
            path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        checked = cli("check", "--config", config)
    finally:
        for path in [data, data / "lmdb", data / "lmdb/data.mdb", data / "lmdb/lock.mdb"]:
            if path.exists():
                path.chmod(path.stat().st_mode | stat.S_IWUSR)
    assert checked.code == 1, checked.out + checked.err
    assert f"records ordinal {ordinal}: status byte 238 is no status" in checked.out, checked.out
    assert "Recovering from a damaged store" in checked.out and "Traceback" not in checked.out + checked.err


def test_damage_met_while_serving_is_data_loss_counted_and_not_serving(
    base_store: tuple[Path, KnownRecords], tmp_path: Path
) -> None:
    """The store damaged under a running node (its pages are mapped: the bytes change under it)."""
    base, known = base_store
    shutil.copytree(base, tmp_path / "data")
    signal_type, value, ordinal = known.records[40]
    offset = status_offset(tmp_path / "data/lmdb", ordinal)
    metrics = NodeMetrics()
    runtime = open_node(insecure_config(tmp_path / "data"))
    listeners = create_servers(runtime, metrics=metrics)
    listeners.start()
    channel = grpc.insecure_channel(listeners.client.address)
    try:
        client, health = known.stub(channel), health_pb2_grpc.HealthStub(channel)
        query = client_pb2.MatchRequest(queries=[client_pb2.HashQuery(signal_type=signal_type, value=value)])
        assert client.Match(query, timeout=10).results[0].matches
        with open(tmp_path / "data/lmdb/data.mdb", "r+b") as file:
            file.seek(offset)
            file.write(b"\xee")
        with pytest.raises(grpc.RpcError) as failed:
            client.Match(query, timeout=10)
        assert failed.value.code() == grpc.StatusCode.DATA_LOSS
        assert f"the store is damaged (records ordinal {ordinal}: status byte 238" in (failed.value.details() or "")
        for service in ("", "hashnode.v1.HashNode"):
            status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status
            assert status == health_pb2.HealthCheckResponse.NOT_SERVING, service
        assert metrics.registry.get_sample_value("hashnode_storage_corruption_total", {"table": "records"}) == 1
        other = known.records[41]
        other_query = client_pb2.HashQuery(signal_type=other[0], value=other[1])
        assert client.Match(client_pb2.MatchRequest(queries=[other_query]), timeout=10).results[0].matches
    finally:
        channel.close()
        listeners.stop(None)
        runtime.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("seed", "what"),
    [
        (2, "an entry: matching does not read it, the node serves; check reports it"),
        (5, "a record row: the node refuses to start"),
        (21, "a page naming bytes past the end of the file: it kills the reader, the node refuses to start"),
        (24, "the exact-hash table: a lookup would miss, the node refuses to start"),
    ],
)
def test_damage_with_real_processes(
    base_store: tuple[Path, KnownRecords], tmp_path: Path, seed: int, what: str
) -> None:
    """A few trials as an operator meets them, `hashnode check` and `hashnode serve` as processes (the store is
    built the same, byte for byte, every time: each seed damages the same place)."""
    base, known = base_store
    with LocalConsortium(tmp_path, ["a"]) as nodes:
        node = nodes["a"]
        shutil.copytree(base, node.data_dir)
        damage(node.store_path / "data.mdb", seed)
        checked = known.hashnode("check", "--config", node.config)
        assert checked.returncode == 1, checked.stdout + checked.stderr
        assert "Traceback" not in checked.stdout + checked.stderr and "Recovering" in checked.stdout
        try:
            node.start()
        except Unavailable:
            said = node.log_text()
            assert "hashnode: error: the store is damaged (" in said and "Traceback" not in said, said
            assert "refuses" in what
            return
        assert "serves" in what
        assert not known.missing(node.client)


@pytest.mark.slow
def test_recovery_from_a_backup_with_real_processes(base_store: tuple[Path, KnownRecords], tmp_path: Path) -> None:
    """Damage a served store; the node answers DATA_LOSS and NOT_SERVING; stopped, `hashnode check` and a restart
    both name the damage; the operator restores the backup and the node serves every record again."""
    base, known = base_store
    with LocalConsortium(tmp_path, ["a"]) as nodes:
        node = nodes["a"]
        shutil.copytree(base, node.data_dir)
        ordinal = known.records[-10][2]
        offset = status_offset(node.store_path, ordinal)  # the live copy of the row: taken before pages move
        node.start()
        backup = tmp_path / "backup"
        node.admin.Backup(admin_pb2.BackupRequest(directory=str(backup)), timeout=30)
        assert not known.missing(node.client)
        with open(node.store_path / "data.mdb", "r+b") as file:
            file.seek(offset)
            file.write(b"\x00")
        with pytest.raises(grpc.RpcError) as failed:
            known.missing(node.client)
        assert failed.value.code() == grpc.StatusCode.DATA_LOSS
        assert not node.is_serving()
        assert node.stop(signal.SIGTERM) == 0
        checked = known.hashnode("check", "--config", node.config)
        assert checked.returncode == 1 and f"records ordinal {ordinal}: status byte 0" in checked.stdout
        refused = known.hashnode("serve", "--config", node.config)
        assert refused.returncode != 0 and "Traceback" not in refused.stderr
        assert "the store is damaged (records ordinal" in refused.stderr + refused.stdout
        os.rename(node.data_dir, tmp_path / "damaged")  # kept for a post-mortem; restore needs an empty place
        restored = known.hashnode("admin", "restore", backup, "--data-dir", node.data_dir)
        assert restored.returncode == 0, restored.stderr
        assert known.hashnode("check", "--config", node.config).returncode == 0
        node.start()
        assert node.is_serving()
        assert not known.missing(node.client)


def test_a_store_that_does_not_open_is_one_line(tmp_path: Path) -> None:
    """Bytes that are not an LMDB file at all: the node refuses with one line, `check` says so."""
    (tmp_path / "lmdb").mkdir()
    (tmp_path / "lmdb/data.mdb").write_bytes(os.urandom(64 << 10))
    with pytest.raises(HashnodeError) as refused:
        open_node(insecure_config(tmp_path))
    assert "\n" not in refused.value.diagnostics()
    with pytest.raises(HashnodeError):
        Store.open_readonly(tmp_path / "lmdb")
