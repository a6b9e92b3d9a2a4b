"""Resource faults with real node processes: a full LMDB map and a full disk refuse writes with a clear
RESOURCE_EXHAUSTED, keep serving reads (in bounded memory) and damage nothing; a data file that is not this
node's store (garbage, empty, truncated, another program's LMDB, another consortium's store) stops the node
at start with a one-line error and is left byte for byte as it was."""

from __future__ import annotations

import hashlib
import logging
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import lmdb
import pytest

from node.core.errors import StorageError
from node.dueprocess.matchlog import MatchLogEntry
from node.storage.matchlog import MatchBatch, MatchRecorder
from node.storage.store import Store
from testkit.checks import (
    Contributions,
    check_stopped_store,
    missing_records,
    submit_batch,
    unverified_provenance,
)
from testkit.consortium import LocalConsortium, ProcessNode, example_membership

pytestmark = pytest.mark.slow


def fill(node: ProcessNode, contributions: Contributions) -> grpc.RpcError:
    """Submits ever smaller batches until not even one record fits; returns that last refusal."""
    size, n = 64, 0
    while True:
        n += 1
        try:
            contributions.acknowledged.update(submit_batch(node.client, f"fill {n}", size))
        except grpc.RpcError as exc:
            if size == 1:
                return exc
            size //= 2


def assert_still_serving_reads(node: ProcessNode, contributions: Contributions) -> None:
    acknowledged = contributions.snapshot()
    assert missing_records(node.client, acknowledged) == []
    assert unverified_provenance(node.client, sorted(acknowledged)[:5], example_membership()) == []
    assert node.is_serving() and node.stats().records == len(acknowledged)


def test_a_full_map_refuses_writes_keeps_serving_reads_and_damages_nothing(tmp_path: Path) -> None:
    with LocalConsortium(tmp_path, names=("a",), extra={"a": "[storage]\nmap_size_mib = 1\n"}) as consortium:
        node = consortium["a"]
        node.start()
        contributions = Contributions()
        refused = fill(node, contributions)
        assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert refused.details() == "storage map is full: raise storage.map_size_mib and restart"
        assert len(contributions) > 100
        assert_still_serving_reads(node, contributions)
        assert node.stop() in (0, 1)  # 1 when matches answered since the last flush could not be logged
        assert check_stopped_store(node.store_path, example_membership()).ok
        node.config.write_text(node.config.read_text().replace("map_size_mib = 1", "map_size_mib = 64"))
        node.start()
        assert missing_records(node.client, contributions.snapshot()) == []
        assert submit_batch(node.client, "room again", 10)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs mounted where node a keeps its data (root only)."""
    mount = tmp_path / "data-a"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_refuses_writes_keeps_serving_reads_and_damages_nothing(tmp_path: Path, tiny_disk: Path) -> None:
    with LocalConsortium(tmp_path, names=("a",)) as consortium:
        node = consortium["a"]
        node.start()
        contributions = Contributions()
        refused = fill(node, contributions)
        assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert refused.details().startswith("no space left for the store")
        assert_still_serving_reads(node, contributions)
        code = node.stop()
        log = node.log_text()
        assert "Traceback" not in log and "hashnode: stopped" in log
        # Matches answered since the last match-log flush cannot be written: said in one line, exit 1.
        assert code == 0 or "hashnode: error: no space left for the store" in log
        subprocess.run(["mount", "-o", "remount,size=16m", str(tiny_disk)], check=True)
        assert check_stopped_store(node.store_path, example_membership()).ok
        node.start()
        assert missing_records(node.client, contributions.snapshot()) == []
        assert submit_batch(node.client, "room again", 10)


# --- data files that are not this node's store ----------------------------------------------------------


def _garbage(store: Path) -> None:
    (store / "data.mdb").write_bytes(random.Random(1).randbytes(1 << 16))


def _empty(store: Path) -> None:
    (store / "data.mdb").write_bytes(b"")


def _truncated(store: Path) -> None:
    data = (store / "data.mdb").read_bytes()
    (store / "data.mdb").write_bytes(data[: len(data) // 2])


def _zeroed_meta_pages(store: Path) -> None:
    data = bytearray((store / "data.mdb").read_bytes())
    data[:8192] = bytes(8192)
    (store / "data.mdb").write_bytes(bytes(data))


def _another_programs_lmdb(store: Path) -> None:
    shutil.rmtree(store)
    env = lmdb.open(str(store), max_dbs=2)
    with env.begin(write=True) as txn:
        txn.put(b"key", b"value", db=env.open_db(b"accounts", txn=txn))
    env.close()


def _another_consortium(store: Path) -> None:
    shutil.rmtree(store)
    Store.open(store, consortium_id="another-consortium").close()


@dataclass(frozen=True)
class BadFile:
    name: str
    damage: Callable[[Path], None]
    message: str


BAD_FILES = [
    BadFile("garbage", _garbage, "File is not an LMDB file"),
    BadFile("an empty file", _empty, "data.mdb is empty, not a store"),
    BadFile("a truncated store", _truncated, "data.mdb is truncated"),
    BadFile("zeroed meta pages", _zeroed_meta_pages, "File is not an LMDB file"),
    BadFile("another program's LMDB", _another_programs_lmdb, "is not a hashnode store (it holds 'accounts')"),
    BadFile("another consortium's store", _another_consortium, "belongs to consortium 'another-consortium'"),
]


@pytest.fixture(scope="module")
def good_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of platform-a holding a few contributions, written by a real node and stopped."""
    directory = tmp_path_factory.mktemp("good")
    with LocalConsortium(directory, names=("a",)) as consortium:
        node = consortium["a"]
        node.start()
        assert Contributions().submit(node.client, "kept", 50)
        node.stop()
    return node.store_path


def digests(store: Path) -> dict[str, str]:
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in store.iterdir() if f.name != "lock.mdb"}


@pytest.mark.parametrize("case", BAD_FILES, ids=lambda c: c.name)
def test_a_store_that_is_not_this_nodes_is_refused_untouched(good_store: Path, tmp_path: Path, case: BadFile) -> None:
    store = tmp_path / "lmdb"
    shutil.copytree(good_store, store)
    case.damage(store)
    before = digests(store)
    with pytest.raises(StorageError) as refused:
        Store.open(store, consortium_id=example_membership().consortium_id)
    assert case.message in refused.value.message
    assert digests(store) == before


def test_serve_exits_with_one_line_when_its_store_is_damaged(good_store: Path, tmp_path: Path) -> None:
    with LocalConsortium(tmp_path, names=("a",)) as consortium:
        node = consortium["a"]
        shutil.copytree(good_store, node.store_path)
        _truncated(node.store_path)
        before = digests(node.store_path)
        paths = [str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
        done = subprocess.run(
            [sys.executable, "-m", "node.cli.main", "serve", "--config", str(node.config)],
            capture_output=True,
            text=True,
            timeout=30,
            env=env,
        )
    assert done.returncode == 1
    assert done.stderr.startswith("hashnode: error: ") and "is truncated" in done.stderr
    assert "Traceback" not in done.stderr
    assert digests(node.store_path) == before


def test_matches_the_store_cannot_take_are_held_in_bounded_memory(caplog: pytest.LogCaptureFixture) -> None:
    """While the store refuses writes, matching goes on: the match log keeps at most its limit of unwritten
    entries, the oldest dropped first, and says so (not once per match)."""
    recorder = MatchRecorder(limit=100)
    entries = [MatchLogEntry(i, bytes(32), 0, f"upload-{i}", f"{i:016x}") for i in range(1000)]
    with caplog.at_level(logging.ERROR, logger="node.storage.matchlog"):
        for entry in entries:
            recorder.add(*MatchBatch.of_entries([entry]))
    assert len(recorder) == 100 and recorder.dropped == 900
    assert 0 < len(caplog.records) <= 10
