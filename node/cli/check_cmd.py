"""`hashnode check --config FILE`: check a node's store table by table (node/storage/integrity.py), offline.

Every table is read to its end; every member's log is walked (contiguous, chained, each entry stored under its
own id, signed by its author's key in the newest roster the node stored), every record is compared with its
entry, and the lookup tables (exact hashes, record ids, the PDQ table), the counters and the change feed with
the records. Every problem is listed (table, key, what is wrong), damaged pages included: the check never stops
at the first. The store is opened read-only and nothing is written to it, so a read-only copy or file system
can be checked. `hashnode serve` checks the lookup tables at every start (not the logs: that would read the
whole store); run this on a stopped node after a crash, a disk fault or a restore. Exit 0 when the store is
consistent, 1 if not.
"""

from __future__ import annotations

import argparse

from node.cli.command_base import add_config_options
from node.cli.exit_codes import ExitCode
from node.membership.members import Membership
from node.membership.roster import SignedRoster
from node.storage.integrity import check_store_at
from node.storage.store import Store

RECOVERY = "to recover: docs/operator-guide.md, Recovering from a damaged store"


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
    # Every read in child processes (check_store_at): a damaged page can kill the process reading it.
    report = check_store_at(store_path, lambda store: _newest_membership(store, root))
    print(f"store {store_path}: {report.summary() if report.ok else 'NOT consistent'}")
    for problem in report.problems:
        print(f"  {problem}")
    if not report.ok:
        if report.found > len(report.problems):
            print(f"  ... and {report.found - len(report.problems)} more")
        print(f"hashnode: {report.found} problem(s); {RECOVERY}")
    return ExitCode.OK if report.ok else ExitCode.FAILURE


def _newest_membership(store: Store, root: SignedRoster) -> Membership:
    """The membership of the newest roster the node stored (it verified the chain when it stored it); the
    root's when none decodes (the check reports the damaged ones)."""
    try:
        with store.read() as txn:
            stored = list(store.rosters(txn))
        if stored:
            return SignedRoster.from_json(stored[-1][1].decode("utf-8")).roster.membership()
    except Exception:  # a damaged roster row is reported by the check itself
        pass
    return root.roster.membership()
