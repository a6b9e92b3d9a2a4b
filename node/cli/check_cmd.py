"""`hashnode check --config FILE`: check a node's store page by page (node/storage/integrity.py), offline.

Every member's log is walked (contiguous, chained, each entry stored under its own id, signed by its author's
key in the newest roster the node stored), every record is compared with its entry, and the counters and the
index table with the records. `hashnode serve` does not do this at start (it would read the whole store); run
it on a stopped node after a crash, a disk fault or a restore. Exit 0 when the store is consistent, 1 if not.
"""

from __future__ import annotations

import argparse

from node.cli.command_base import add_config_options
from node.cli.exit_codes import ExitCode
from node.membership.members import Membership
from node.membership.roster import SignedRoster
from node.storage.integrity import check_store
from node.storage.store import Store


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_options(parser)


def run(args: argparse.Namespace) -> int:
    from node.runtime.config import load_config

    config = load_config(args.config, data_dir=args.data_dir)
    root = config.load_root_roster()
    store_path = config.data_dir / "lmdb"
    if not (store_path / "data.mdb").is_file():
        print(f"hashnode: no store at {store_path}")
        return ExitCode.FAILURE
    store = Store.open(store_path, map_size=config.map_size_mib << 20, consortium_id=root.roster.consortium_id)
    try:
        report = check_store(store, _newest_membership(store, root))
    finally:
        store.close()
    print(f"store {store_path}: {report.summary() if report.ok else 'NOT consistent'}")
    for problem in report.problems:
        print(f"  {problem}")
    return ExitCode.OK if report.ok else ExitCode.FAILURE


def _newest_membership(store: Store, root: SignedRoster) -> Membership:
    """The membership of the newest roster the node stored (it verified the chain when it stored it)."""
    with store.read() as txn:
        stored = list(store.rosters(txn))
    if not stored:
        return root.roster.membership()
    return SignedRoster.from_json(stored[-1][1].decode("utf-8")).roster.membership()
