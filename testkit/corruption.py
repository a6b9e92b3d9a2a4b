"""Damaged stores: a real store built once, stray bytes written into copies of it at seeded offsets, and what
the node does with each copy (tests/test_corruption.py, bench/corruption.py, docs/reliability.md).

The invariant: for every record the store held, a Match returns it or fails with DATA_LOSS, or the node refuses
to start naming the damage; never a clean "no match".
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from node.api.gen.hashnode.v1 import client_pb2, client_pb2_grpc, types_pb2
from node.cli.serve_cmd import PACKAGE_ROOT
from node.core.errors import HashnodeError
from node.runtime.runtime import open_node
from node.server.server import create_servers
from node.storage.store import Store, u64
from testkit.consortium import insecure_config

LABEL = "tvec.propaganda"
TYPES = ("md5", "sha256", "pdq")
PAGE = 4096
BUILT_AT_MS = 1_780_000_000_000


@dataclass
class KnownRecords:
    """The records a store was built with: (signal type, hex value, ordinal) and their record ids."""

    records: list[tuple[str, str, int]] = field(default_factory=list)
    record_ids: list[str] = field(default_factory=list)

    @staticmethod
    def stub(channel: grpc.Channel) -> client_pb2_grpc.HashNodeStub:
        return client_pb2_grpc.HashNodeStub(channel)

    def request(self) -> client_pb2.MatchRequest:
        return client_pb2.MatchRequest(
            queries=[client_pb2.HashQuery(signal_type=t, value=v) for t, v, _ in self.records]
        )

    def missing(self, client: client_pb2_grpc.HashNodeStub) -> list[str]:
        """The records a Match of all of them did not return (raises grpc.RpcError if the call fails)."""
        reply = client.Match(self.request(), timeout=30)
        return [
            rid
            for rid, result in zip(self.record_ids, reply.results, strict=True)
            if rid not in {m.provenance_ref for m in result.matches}
        ]

    @staticmethod
    def hashnode(*argv: str | Path) -> subprocess.CompletedProcess[str]:
        """`hashnode ARGV...` as a process."""
        env = {**os.environ, "PYTHONPATH": str(PACKAGE_ROOT)}
        return subprocess.run(
            [sys.executable, "-m", "node.cli.main", *map(str, argv)], capture_output=True, text=True, timeout=60,
            env=env,
        )


def build_store(data_dir: Path, batches: int = 6, size: int = 50) -> KnownRecords:
    """A store of platform-a under `data_dir` holding `batches` contributions of `size` records each (MD5,
    SHA-256 and PDQ in turn), written through a real node."""
    runtime = open_node(insecure_config(data_dir), clock=lambda: BUILT_AT_MS)  # the same bytes every build
    listeners = create_servers(runtime)
    listeners.start()
    known = KnownRecords()
    try:
        with grpc.insecure_channel(listeners.client.address) as channel:
            client = client_pb2_grpc.HashNodeStub(channel)
            for batch in range(batches):
                records = []
                for i in range(size):
                    kind = TYPES[i % 3]
                    digest = hashlib.sha256(f"{batch}/{i}".encode()).hexdigest()
                    value = digest[:32] if kind == "md5" else digest
                    quality = 90 if kind == "pdq" else 0
                    records.append(types_pb2.HashRecord(signal_type=kind, value=value, quality=quality, labels=[LABEL]))
                    known.records.append((kind, value, len(known.records)))
                reply = client.Submit(client_pb2.SubmitRequest(records=records), timeout=30)
                known.record_ids.extend(reply.record_ids)
    finally:
        listeners.stop(None)
        runtime.close()
    return known


def damage(data_file: Path, seed: int) -> list[tuple[int, int]]:
    """Writes 1 to 3 runs of 1 to 64 random bytes at random offsets past the two meta pages of `data_file`
    (seeded); returns (offset, length) of each."""
    rng = random.Random(seed)
    size = data_file.stat().st_size
    written = []
    with open(data_file, "r+b") as file:
        for _ in range(rng.randint(1, 3)):
            length = rng.randint(1, 64)
            offset = rng.randrange(2 * PAGE, size - length)
            file.seek(offset)
            file.write(rng.randbytes(length))
            written.append((offset, length))
    return written


def status_offset(store_path: Path, ordinal: int) -> int:
    """Where the status byte of the record row at `ordinal` is in the data file (its row's bytes are unique)."""
    store = Store.open_readonly(store_path)
    try:
        with store.read() as txn:
            row = bytes(txn.get(u64(ordinal), db=store.db("records")))
    finally:
        store.close()
    data = (store_path / "data.mdb").read_bytes()
    at = data.find(row)
    assert at >= 0 and data.find(row, at + 1) < 0, "the row is stored once"
    return at + 52


@dataclass
class Outcome:
    """What a node did with a damaged store: `served` (every Match answered), `refused` (it did not start),
    `data_loss` (a Match failed with DATA_LOSS), or anything else (`crash:...`, `error:CODE`)."""

    kind: str
    detail: str = ""
    misses: list[str] = field(default_factory=list)  # records answered "no match": must stay empty


def serve_trial(data_dir: Path, known: KnownRecords) -> Outcome:
    """Opens a node on `data_dir` in this process (the real server, on 127.0.0.1 port 0) and matches every known
    record in one call."""
    try:
        runtime = open_node(insecure_config(data_dir))
    except HashnodeError as exc:
        return Outcome("refused", exc.diagnostics())
    try:
        listeners = create_servers(runtime)
        listeners.start()
        try:
            with grpc.insecure_channel(listeners.client.address) as channel:
                missing = known.missing(known.stub(channel))
        except grpc.RpcError as exc:
            code = exc.code()
            kind = "data_loss" if code == grpc.StatusCode.DATA_LOSS else f"error:{code.name}"
            return Outcome(kind, exc.details() or "")
        finally:
            listeners.stop(None)
        return Outcome("served", misses=missing)
    finally:
        # Closing saves the index snapshot and flushes the match log: damage may stop it.
        with contextlib.suppress(HashnodeError):
            runtime.close()
