"""Backups and restores of a store: what a backup holds, and the mark a restored store carries.

A store restored from a backup may lack entries its own member signed after the backup was taken. Signing again
from the backup's head would put a second, different entry at a seq the member already used: a fork of its own
log, which every node that holds both freezes (docs/protocol.md, "Restore safety"). So `hashnode admin restore`
marks the restored store (`mark_restored`); while the mark is there the node does not author, whether or not it
has peers, until a pull pass with a peer has compared its member's log with the peer's copy (the replicator
then clears the mark), or until the operator restores again with the override that accepts the risk.

The override (`--accept-fork-risk`) leaves its own mark instead (`mark_fork_risk_accepted`): the operator has
accepted in writing that the log may fork, so the node authors at once, even though its peers are configured
and none can be reached (the general rule, `replication.authoring_without_peers_after_s = 0`, would hold it);
the replicator clears that mark too once a peer's copy has been compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import lmdb

from node.core.canonical import Reader, Writer
from node.core.errors import ConfigError, StorageError
from node.storage.store import SCHEMA, Store, read_u64

DATA_FILE = "data.mdb"
RESTORED_KEY = b"restore.unverified"  # state table: u64 restored_at_ms ‖ string backup it came from
FORK_RISK_KEY = b"restore.fork_risk_accepted"  # the same, for a restore with the operator's override


@dataclass(frozen=True)
class BackupSummary:
    """What a backup (or any closed store directory) holds, read from the copy itself."""

    consortium_id: str
    entries: int
    records: int


@dataclass(frozen=True)
class RestoreMark:
    restored_at_ms: int
    source: str


def summary(directory: Path) -> BackupSummary:
    """The consortium and counts of the store in `directory` (a backup: `data.mdb` inside), opened read-only.

    Raises:
        ConfigError: no data file there.
        StorageError: not a hashnode store of this schema.
    """
    if not (directory / DATA_FILE).is_file():
        raise ConfigError(f"{directory}: no {DATA_FILE}; want a directory written by hashnode admin backup")
    try:
        env = lmdb.open(str(directory), readonly=True, lock=False, max_dbs=64, subdir=True)
    except lmdb.Error as exc:
        raise StorageError(f"{directory}: not an LMDB store: {exc}") from None
    try:
        with env.begin() as txn:
            meta = env.open_db(b"meta", txn=txn, create=False)
            counts = env.open_db(b"counts", txn=txn, create=False)
            schema, consortium = txn.get(b"schema", db=meta), txn.get(b"consortium", db=meta)
            entries, records = txn.get(b"entries", db=counts), txn.get(b"records", db=counts)
    except lmdb.Error as exc:
        raise StorageError(f"{directory}: not a hashnode store: {exc}") from None
    finally:
        env.close()
    if schema != SCHEMA or consortium is None:
        raise StorageError(f"{directory}: schema {schema!r}; this version restores {SCHEMA!r}")
    return BackupSummary(
        bytes(consortium).decode(),
        read_u64(bytes(entries)) if entries else 0,
        read_u64(bytes(records)) if records else 0,
    )


def mark_restored(store: Store, restored_at_ms: int, source: str) -> None:
    _put_mark(store, RESTORED_KEY, restored_at_ms, source)


def mark_fork_risk_accepted(store: Store, restored_at_ms: int, source: str) -> None:
    _put_mark(store, FORK_RISK_KEY, restored_at_ms, source)


def restore_mark(store: Store) -> RestoreMark | None:
    """The mark of a restore not yet verified against a peer's copy, if any."""
    return _get_mark(store, RESTORED_KEY)


def fork_risk_accepted(store: Store) -> RestoreMark | None:
    """The mark of a restore whose operator accepted the fork risk, until a peer's copy has been compared."""
    return _get_mark(store, FORK_RISK_KEY)


def clear_restore_mark(store: Store) -> None:
    """Clears both marks: the member's log has been compared with a peer's copy."""
    with store.write() as txn:
        store.delete_state(txn, RESTORED_KEY)
        store.delete_state(txn, FORK_RISK_KEY)


def _put_mark(store: Store, key: bytes, restored_at_ms: int, source: str) -> None:
    with store.write() as txn:
        store.put_state(txn, key, Writer().u64(restored_at_ms).string(source).getvalue())


def _get_mark(store: Store, key: bytes) -> RestoreMark | None:
    with store.read() as txn:
        value = store.get_state(txn, key)
    if value is None:
        return None
    reader = Reader(value, "restore mark")
    return RestoreMark(reader.u64(), reader.string())
