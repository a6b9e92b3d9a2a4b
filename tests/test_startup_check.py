"""The check of the lookup tables a node runs before it serves (`[storage] startup_check`).

`full` (the default) compares every lookup table with the record rows and refuses to start on damage; its loop
runs in C (node/storage/_rowscan.c) where built and in Python otherwise, with the same report on clean and
damaged stores alike. `quick` compares only the tables' row counts before serving (O(1)), then runs the full
check beside the serving node: damage it finds turns health NOT_SERVING and is counted in
`hashnode_storage_corruption_total`, as damage met while serving. `off` checks nothing. bench/startup_check.py
measures what each costs (docs/reliability.md).
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import grpc
import lmdb
import pytest
from conftest import EXAMPLE_ROSTER
from grpc_health.v1 import health_pb2, health_pb2_grpc

from node.core.errors import ConfigError, DataCorruption
from node.runtime.config import load_config
from node.runtime.runtime import open_node
from node.server.metrics import NodeMetrics
from node.server.server import create_servers
from node.storage import integrity
from node.storage.integrity import IntegrityReport, quick_check_lookups
from node.storage.store import Store, exact_key, u64
from testkit.consortium import insecure_config
from testkit.corruption import KnownRecords, build_store, damage

compiled = pytest.mark.skipif(
    integrity.compiled_lookups is None,
    reason="node/storage/_rowscan.c is not built (python setup.py build_ext --inplace)",
)


@pytest.fixture(scope="module")
def base_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, KnownRecords]:
    directory = tmp_path_factory.mktemp("startcheck") / "base"
    return directory, build_store(directory)


def loop_report(store: Store, use_compiled: bool) -> tuple[IntegrityReport, dict[str, int]]:
    report = IntegrityReport()
    integrity._part(
        store, report, {}, "the lookup tables",
        lambda store, txn, report, rows: integrity._check_lookups(
            store, txn, report, full=False, compiled=use_compiled
        ),
    )
    return report, {}


def both_reports(path: Path) -> tuple[list[str], list[str]]:
    """The start-up check's problems at `path` from the compiled loop and from the Python loop (each in a child
    process, as at start: a damaged page may kill the reader)."""
    reports = [
        integrity._in_child(path, "the lookup tables", functools.partial(loop_report, use_compiled=flag))[0]
        for flag in (True, False)
    ]
    return sorted(reports[0].problems), sorted(reports[1].problems)


def rewrite_exact_key(path: Path, ordinal: int, signal_type: str, value: bytes) -> None:
    """The exact-hash table's row of `ordinal` moved to another hash: as many rows as before, one lookup a miss."""
    env = lmdb.open(str(path), max_dbs=64)
    try:
        with env.begin(write=True) as txn:
            exact = env.open_db(b"exact", txn=txn, dupsort=True)
            key = exact_key(signal_type, value)
            assert txn.delete(key, u64(ordinal), db=exact)
            txn.put(exact_key(signal_type, bytes(len(value))), u64(ordinal), db=exact)
    finally:
        env.close()


@compiled
def test_the_compiled_loop_reports_what_the_python_loop_reports(
    base_store: tuple[Path, KnownRecords], tmp_path: Path
) -> None:
    base, _ = base_store
    assert both_reports(base / "lmdb") == ([], [])
    damaged = 0
    for seed in range(40):
        trial = tmp_path / f"t{seed}"
        shutil.copytree(base, trial)
        damage(trial / "lmdb/data.mdb", seed)
        from_c, from_python = both_reports(trial / "lmdb")
        assert from_c == from_python, f"seed {seed}"
        damaged += bool(from_c)
        shutil.rmtree(trial)
    assert damaged >= 5  # the trials do reach the lookup tables


@compiled
@pytest.mark.parametrize("table", ["exact", "rids"])
def test_both_loops_find_a_changed_lookup_row_that_the_counts_cannot(
    base_store: tuple[Path, KnownRecords], tmp_path: Path, table: str
) -> None:
    base, known = base_store
    shutil.copytree(base, tmp_path / "data")
    path = tmp_path / "data/lmdb"
    signal_type, value, ordinal = known.records[7]
    if table == "exact":
        rewrite_exact_key(path, ordinal, signal_type, bytes.fromhex(value))
    else:
        env = lmdb.open(str(path), max_dbs=64)
        with env.begin(write=True) as txn:
            rids = env.open_db(b"rids", txn=txn)
            cursor = txn.cursor(db=rids)
            assert cursor.first()
            _, row = cursor.item()
            cursor.delete()
            txn.put(bytes(32), row, db=rids)
        env.close()
    wanted = f"{table}: its rows are not those the records give"
    assert both_reports(path) == ([wanted], [wanted])
    store = Store.open_readonly(path)
    try:
        quick_check_lookups(store)  # the counts agree: `quick` cannot see it before serving
    finally:
        store.close()


def test_quick_refuses_to_start_when_a_table_lost_rows(base_store: tuple[Path, KnownRecords], tmp_path: Path) -> None:
    base, _ = base_store
    shutil.copytree(base, tmp_path / "data")
    env = lmdb.open(str(tmp_path / "data/lmdb"), max_dbs=64)
    with env.begin(write=True) as txn:
        cursor = txn.cursor(db=env.open_db(b"rids", txn=txn))
        assert cursor.first() and cursor.delete()
    env.close()
    with pytest.raises(DataCorruption) as refused:
        open_node(insecure_config(tmp_path / "data", startup_check="quick"))
    assert refused.value.table == "rids"
    assert "299 rows, but the records table holds 300" in refused.value.diagnostics()


def test_full_refuses_what_quick_serves_and_then_reports_from_the_background(
    base_store: tuple[Path, KnownRecords], tmp_path: Path
) -> None:
    base, known = base_store
    shutil.copytree(base, tmp_path / "data")
    signal_type, value, ordinal = known.records[7]
    rewrite_exact_key(tmp_path / "data/lmdb", ordinal, signal_type, bytes.fromhex(value))
    with pytest.raises(DataCorruption, match="exact: its rows are not those the records give"):
        open_node(insecure_config(tmp_path / "data"))  # the default: full

    metrics = NodeMetrics()
    runtime = open_node(insecure_config(tmp_path / "data", startup_check="quick"))
    listeners = create_servers(runtime, metrics=metrics)
    listeners.start()
    channel = grpc.insecure_channel(listeners.client.address)
    try:
        check = runtime.ledger.background_check
        assert check is not None and check.finished.wait(60)
        assert check.problem is not None and check.problem.table == "exact"
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "hashnode.v1.HashNode"):
            status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status
            assert status == health_pb2.HealthCheckResponse.NOT_SERVING, service
        assert metrics.registry.get_sample_value("hashnode_storage_corruption_total", {"table": "exact"}) == 1
    finally:
        channel.close()
        listeners.stop(None)
        runtime.close()


def test_quick_on_a_sound_store_serves_and_its_background_check_finds_nothing(
    base_store: tuple[Path, KnownRecords], tmp_path: Path
) -> None:
    base, known = base_store
    shutil.copytree(base, tmp_path / "data")
    runtime = open_node(insecure_config(tmp_path / "data", startup_check="quick"))
    listeners = create_servers(runtime, metrics=NodeMetrics())
    listeners.start()
    channel = grpc.insecure_channel(listeners.client.address)
    try:
        check = runtime.ledger.background_check
        assert check is not None and check.finished.wait(60) and check.problem is None
        assert known.missing(known.stub(channel)) == []
        status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5).status
        assert status == health_pb2.HealthCheckResponse.SERVING
    finally:
        channel.close()
        listeners.stop(None)
        runtime.close()


def test_off_checks_nothing(base_store: tuple[Path, KnownRecords], tmp_path: Path) -> None:
    base, known = base_store
    shutil.copytree(base, tmp_path / "data")
    signal_type, value, ordinal = known.records[7]
    rewrite_exact_key(tmp_path / "data/lmdb", ordinal, signal_type, bytes.fromhex(value))
    runtime = open_node(insecure_config(tmp_path / "data", startup_check="off"))
    try:
        assert runtime.ledger.background_check is None
    finally:
        runtime.close()


def test_the_setting_is_read_and_checked(tmp_path: Path) -> None:
    text = (
        f'[node]\nmember_id = "platform-a"\nroster = "{EXAMPLE_ROSTER}"\n'
        f'signing_key = "{EXAMPLE_ROSTER.parent / "platform-a.key"}"\n'
        'data_dir = "data"\ninsecure = true\n'
    )
    path = tmp_path / "config.toml"
    path.write_text(text + '[storage]\nstartup_check = "quick"\n')
    assert load_config(path).startup_check == "quick"
    assert load_config(path).ledger_settings("c").startup_check == "quick"
    path.write_text(text)
    assert load_config(path).startup_check == "full"
    path.write_text(text + '[storage]\nstartup_check = "fast"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "storage.startup_check: got 'fast', want 'full' or 'quick' or 'off'" in caught.value.message
