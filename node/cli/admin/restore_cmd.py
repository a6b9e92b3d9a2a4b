"""`hashnode admin restore BACKUP --data-dir DIR`: put a backup in place as a (stopped) node's store."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import lmdb

from node.cli.exit_codes import ExitCode
from node.core.errors import ConfigError, StorageError
from node.storage.store import SCHEMA

DATA_FILE = "data.mdb"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("backup", type=Path, metavar="BACKUP", help="a directory hashnode admin backup wrote")
    parser.add_argument(
        "--data-dir", type=Path, required=True, metavar="DIR", help="node.data_dir of the node"
    )


def check_backup(backup: Path) -> tuple[str, int]:
    """The consortium of a backup and its entry count. Raises: ConfigError, StorageError."""
    if not (backup / DATA_FILE).is_file():
        raise ConfigError(f"{backup}: no {DATA_FILE}; want a directory written by hashnode admin backup")
    try:
        env = lmdb.open(str(backup), readonly=True, lock=False, max_dbs=64, subdir=True)
    except lmdb.Error as exc:
        raise StorageError(f"{backup}: not an LMDB store: {exc}") from None
    try:
        with env.begin() as txn:
            meta, counts = (
                env.open_db(b"meta", txn=txn, create=False),
                env.open_db(b"counts", txn=txn, create=False),
            )
            schema, consortium = txn.get(b"schema", db=meta), txn.get(b"consortium", db=meta)
            entries = txn.get(b"entries", db=counts)
    except lmdb.Error as exc:
        raise StorageError(f"{backup}: not a hashnode store: {exc}") from None
    finally:
        env.close()
    if schema != SCHEMA or consortium is None:
        raise StorageError(f"{backup}: schema {schema!r}; this version restores {SCHEMA!r}")
    return bytes(consortium).decode(), int.from_bytes(entries or b"", "big")


def run(args: argparse.Namespace) -> int:
    consortium, entries = check_backup(args.backup)
    if args.data_dir.exists() and any(args.data_dir.iterdir()):
        raise ConfigError(
            f"--data-dir {args.data_dir}: not empty; restore into an empty directory (move the old one aside)"
        )
    target = args.data_dir / "lmdb"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(args.backup / DATA_FILE, target / DATA_FILE)
    print(f"restored {entries} entries of consortium {consortium} into {target}")
    print(
        "start the node: it rebuilds its index, catches up with its peers (entries signed since the backup)"
    )
    print("and authors again only once it has compared its own log with a peer's copy")
    return ExitCode.OK
