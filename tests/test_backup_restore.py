"""Backup under write load (Admin.Backup, while serving) and restore (hashnode admin restore, offline).

The backup is a consistent snapshot: a prefix of the node's log, each entry whole with its records and index
keys. Restored into an empty data directory, it serves, for every hash of that prefix, exactly what the
original serves (same records, same provenance), and nothing of the entries committed after the snapshot.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import grpc
import pytest
from conftest import Cli, NodeFactory, RunningNode, node_config

from node.api.gen.hashnode.v1 import admin_pb2, client_pb2, types_pb2

LABEL = "tvec.propaganda"
BATCH = 25


def batch(n: int) -> list[types_pb2.HashRecord]:
    """Batch n: PDQ and MD5 records whose values derive from n (so each batch is recognisable)."""
    records = []
    for i in range(BATCH):
        digest = hashlib.sha256(f"batch {n} record {i}".encode()).digest()
        if i % 2:
            records.append(types_pb2.HashRecord(signal_type="md5", value=digest[:16].hex(), labels=[LABEL]))
        else:
            records.append(
                types_pb2.HashRecord(signal_type="pdq", value=digest.hex(), quality=90, labels=[LABEL])
            )
    return records


def match(node: RunningNode, records: list[types_pb2.HashRecord]) -> list[list[str]]:
    queries = [client_pb2.HashQuery(signal_type=r.signal_type, value=r.value) for r in records]
    request = client_pb2.MatchRequest(queries=queries, pdq_threshold=0, include_records=True)
    response = node.client.Match(request)
    return [[m.record.SerializeToString().hex() for m in result.matches] for result in response.results]


def provenance(node: RunningNode, record_id: str) -> types_pb2.ProvenanceBundle:
    """The bundle without what its assembly says about the moment: the time and the signed frontier."""
    bundle = node.client.GetProvenance(client_pb2.ProvenanceRequest(record_id=record_id))
    for moment in ("generated_at_ms", "assembly", "assembly_signature"):
        bundle.ClearField(moment)
    return bundle


def test_a_backup_under_write_load_restores_to_a_node_serving_the_same_results(
    node_factory: NodeFactory, tmp_path: Path, cli: Cli
) -> None:
    original = node_factory(node_config(tmp_path / "original"))
    written: list[int] = []
    stop = threading.Event()

    def write() -> None:
        n = 0
        while not stop.is_set() and n < 400:
            original.client.Submit(client_pb2.SubmitRequest(records=batch(n)))
            written.append(n)
            n += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while len(written) < 20:
            stop.wait(0.01)
        backup = original.admin.Backup(admin_pb2.BackupRequest(directory=str(tmp_path / "backup")))
    finally:
        stop.set()
        writer.join()
    assert backup.entries >= 20 and len(written) > backup.entries  # writes went on during and after the copy

    data = tmp_path / "restored"
    result = cli("admin", "restore", tmp_path / "backup", "--data-dir", data)
    assert result.code == 0, result.err
    restored = node_factory(node_config(data))
    held = restored.entry_count()
    assert held == backup.entries and held < len(written)  # the counts reported are the backup's own
    assert restored.record_count() == held * BATCH == backup.records

    for n in written:
        records = batch(n)
        if n < held:  # the log is a prefix: batch n is entry n + 1
            assert match(restored, records) == match(original, records)
        else:
            assert match(restored, records) == [[] for _ in records]
    first = original.client.Match(
        client_pb2.MatchRequest(queries=[client_pb2.HashQuery(signal_type="pdq", value=batch(0)[0].value)])
    )
    record_id = first.results[0].matches[0].provenance_ref
    assert provenance(restored, record_id) == provenance(original, record_id)


def test_restore_refuses_a_data_dir_in_use_and_what_is_not_a_backup(
    node: RunningNode, tmp_path: Path, cli: Cli
) -> None:
    node.admin.Backup(admin_pb2.BackupRequest(directory=str(tmp_path / "backup")))
    busy = tmp_path / "busy"
    (busy / "lmdb").mkdir(parents=True)
    (busy / "lmdb" / "data.mdb").write_bytes(b"x")
    refused = cli("admin", "restore", tmp_path / "backup", "--data-dir", busy)
    assert refused.code == 2 and "not empty" in refused.err
    assert (busy / "lmdb" / "data.mdb").read_bytes() == b"x"
    bogus = cli("admin", "restore", tmp_path, "--data-dir", tmp_path / "new")
    assert bogus.code == 2 and "no data.mdb" in bogus.err and not (tmp_path / "new").exists()


def test_backup_refuses_a_relative_or_non_empty_directory(node: RunningNode, tmp_path: Path) -> None:
    with pytest.raises(grpc.RpcError) as relative:
        node.admin.Backup(admin_pb2.BackupRequest(directory="backup"))
    assert relative.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "something").write_text("x")
    with pytest.raises(grpc.RpcError) as full:
        node.admin.Backup(admin_pb2.BackupRequest(directory=str(tmp_path / "full")))
    assert full.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "want an empty or new directory" in (full.value.details() or "")
