"""`hashnode admin restore BACKUP --data-dir DIR`: put a backup in place as a (stopped) node's store.

The restored store is marked (node/storage/restore.py): the node does not author until it has compared its own
member's log with a peer's copy, whether or not peers are configured, because the backup may lack entries the
member signed after it was taken. `--accept-fork-risk` marks it otherwise, for an operator who knows the
backup holds the member's newest entry (the node did not author after the backup was taken), or who must author
with no peer reachable: the node authors at once, without waiting for any peer (even when its configuration
names peers), until a peer's copy of its log has been compared.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from node.cli.exit_codes import ExitCode
from node.core.errors import ConfigError
from node.core.private_files import private_directory, restrict
from node.storage.restore import DATA_FILE, BackupSummary, mark_fork_risk_accepted, mark_restored, summary
from node.storage.store import Store


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("backup", type=Path, metavar="BACKUP", help="a directory hashnode admin backup wrote")
    parser.add_argument(
        "--data-dir", type=Path, required=True, metavar="DIR", help="node.data_dir of the node"
    )
    parser.add_argument(
        "--accept-fork-risk",
        action="store_true",
        help="let the node author at once, without first comparing its member's log with a peer's copy and "
        "without waiting for any configured peer. If "
        "the member signed anything after this backup was taken, the node will sign a second entry at a seq "
        "it already used: its log forks, every node that sees both freezes it, and the stewards must act. "
        "Use only when this backup is known to hold the member's newest entry",
    )


def check_backup(backup: Path) -> BackupSummary:
    """What a backup holds. Raises: ConfigError, StorageError."""
    return summary(backup)


def run(args: argparse.Namespace) -> int:
    held = check_backup(args.backup)
    if args.data_dir.exists() and any(args.data_dir.iterdir()):
        raise ConfigError(
            f"--data-dir {args.data_dir}: not empty; restore into an empty directory (move the old one aside)"
        )
    target = args.data_dir / "lmdb"
    private_directory(target)
    shutil.copyfile(args.backup / DATA_FILE, target / DATA_FILE)
    restrict(target / DATA_FILE)
    mark = mark_fork_risk_accepted if args.accept_fork_risk else mark_restored
    store = Store.open(target, consortium_id=held.consortium_id)
    try:
        mark(store, time.time_ns() // 1_000_000, str(args.backup))
    finally:
        store.close()
    print(f"restored {held.entries} entries ({held.records} active records) of consortium {held.consortium_id}")
    print(f"into {target}")
    print("start the node: it rebuilds its index and catches up with its peers (entries signed since the backup)")
    if args.accept_fork_risk:
        print(
            "--accept-fork-risk: it authors at once, whether or not a peer can be reached; if its member signed "
            "anything after this backup, its log now forks and every node will freeze it"
        )
    else:
        print(
            "it does not author until it has compared its member's log with a peer's copy (hashnode health "
            "shows why); with no peer configured, add one (hashnode admin peers add)"
        )
    return ExitCode.OK
