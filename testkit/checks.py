"""Contributions whose acknowledgement is recorded, and the checks that none of them was lost.

A contribution counts as acknowledged only when the node answered the Submit call with its record ids; a call
that failed or timed out may or may not have been committed, and is not counted either way. After a fault,
every acknowledged record must be matched by its hash and its provenance bundle must verify against the
pinned roster, and the store must pass `node.storage.integrity.check_store`.
"""

from __future__ import annotations

import collections
import hashlib
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

import grpc

from node.api import convert
from node.api.gen.hashnode.v1 import client_pb2, client_pb2_grpc, types_pb2
from node.core.errors import HashnodeError
from node.membership.members import Membership
from node.provenance.bundle import verify_bundle
from node.storage.integrity import IntegrityReport, check_store
from node.storage.store import Store

LABEL = "tvec.propaganda"
MATCH_CHUNK = 5000


def pdq_value(tag: str) -> str:
    """A distinct PDQ-shaped value per tag (64 hex digits); random values are ~128 bits apart."""
    return hashlib.sha256(tag.encode()).hexdigest()


def submit_batch(
    client: client_pb2_grpc.HashNodeStub, tag: str, size: int, timeout: float = 10.0
) -> dict[str, str]:
    """Submits `size` PDQ records; returns record id → value of what the node acknowledged.

    Raises: grpc.RpcError when the node did not acknowledge the batch.
    """
    values = [pdq_value(f"{tag}/{i}") for i in range(size)]
    records = [types_pb2.HashRecord(signal_type="pdq", value=v, quality=90, labels=[LABEL]) for v in values]
    reply = client.Submit(client_pb2.SubmitRequest(records=records), timeout=timeout)
    return dict(zip(reply.record_ids, values, strict=True))


class Contributions:
    """The acknowledged contributions of a run (record id → PDQ value), and the refusals by status code."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.acknowledged: dict[str, str] = {}
        self.refused: collections.Counter[str] = collections.Counter()

    def submit(
        self, client: client_pb2_grpc.HashNodeStub, tag: str, size: int, timeout: float = 10.0
    ) -> bool:
        """One batch; True when acknowledged. A refusal or failure is counted by its code, not raised."""
        try:
            acked = submit_batch(client, tag, size, timeout)
        except grpc.RpcError as exc:
            with self._lock:
                self.refused[exc.code().name] += 1
            return False
        with self._lock:
            self.acknowledged.update(acked)
        return True

    def snapshot(self) -> dict[str, str]:
        with self._lock:
            return dict(self.acknowledged)

    def __len__(self) -> int:
        with self._lock:
            return len(self.acknowledged)


def missing_records(client: client_pb2_grpc.HashNodeStub, acknowledged: Mapping[str, str]) -> list[str]:
    """The acknowledged record ids that a Match of their own value does not return (exact PDQ match)."""
    items = sorted(acknowledged.items())
    missing = []
    for start in range(0, len(items), MATCH_CHUNK):
        chunk = items[start : start + MATCH_CHUNK]
        queries = [client_pb2.HashQuery(signal_type="pdq", value=value) for _, value in chunk]
        reply = client.Match(client_pb2.MatchRequest(queries=queries, pdq_threshold=0), timeout=60)
        for (rid, _), result in zip(chunk, reply.results, strict=True):
            if rid not in {m.provenance_ref for m in result.matches}:
                missing.append(rid)
    return missing


def unverified_provenance(
    client: client_pb2_grpc.HashNodeStub, record_ids: Iterable[str], trusted: Membership
) -> list[str]:
    """`record id: why` for each record whose provenance bundle cannot be fetched or does not verify."""
    failures = []
    for rid in record_ids:
        try:
            msg = client.GetProvenance(client_pb2.ProvenanceRequest(record_id=rid), timeout=10)
            verified = verify_bundle(convert.bundle_from_proto(msg), trusted=trusted)
        except grpc.RpcError as exc:
            failures.append(f"{rid}: {exc.code().name}: {exc.details()}")
            continue
        except HashnodeError as exc:
            failures.append(f"{rid}: {exc.diagnostics()}")
            continue
        if verified.record_id.hex() != rid:
            failures.append(f"{rid}: the bundle is of record {verified.record_id.hex()}")
    return failures


def check_stopped_store(path: Path, trusted: Membership) -> IntegrityReport:
    """Opens the LMDB store at `path` (its node stopped or killed) and checks it; signatures included."""
    if not (path / "data.mdb").is_file():
        raise AssertionError(f"no store at {path}")
    store = Store.open(path, consortium_id=trusted.consortium_id)
    try:
        return check_store(store, trusted)
    finally:
        store.close()
