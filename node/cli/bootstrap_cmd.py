"""`hashnode bootstrap --config FILE --peer HOST:PORT --roster-id HEX`: a new node's first sync from a peer.

Checks the roster file against the id the stewards confirmed, verifies the roster chain from it, then fetches
and verifies the whole database from the peer, showing progress on stderr, and ends with the node's health
summary. Run it once, before the first `hashnode serve`; running it again continues where it stopped.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from typing import TextIO

from node.cli.command_base import add_config_options
from node.cli.exit_codes import ExitCode
from node.core.errors import ConfigError, InvalidArgument
from node.ledger.replica import Replica
from node.membership import authorship
from node.membership.roster import TrustedRoster, valid_signers
from node.network.bootstrap import HealthSummary, SyncCounts, SyncReport, pull_database
from node.network.peers import pull_rosters
from node.runtime.config import NodeConfig, load_config
from node.runtime.runtime import NodeRuntime, open_node

REDRAW_S, LOG_S = 0.2, 5.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_options(parser, help="the node's config")
    parser.add_argument("--peer", required=True, metavar="HOST:PORT", help="a member node's peer listener")
    parser.add_argument(
        "--roster-id",
        metavar="HEX",
        help="the roster file's id the stewards confirmed (default: node.roster_id)",
    )
    parser.add_argument(
        "--peer-name", metavar="MEMBER", help="the peer's member id (its certificate is pinned)"
    )


def pinned_id(args: argparse.Namespace, config: NodeConfig) -> bytes:
    if args.roster_id is None:
        if config.roster_id is None:
            raise InvalidArgument("--roster-id", "nothing", "the roster id the stewards confirmed to you")
        return config.roster_id
    try:
        pin = bytes.fromhex(args.roster_id)
    except ValueError:
        pin = b""
    if len(pin) != 32:
        raise InvalidArgument("--roster-id", args.roster_id, "64 hex characters (a SHA-256 roster id)")
    if config.roster_id is not None and config.roster_id != pin:
        raise ConfigError(f"--roster-id {args.roster_id}: differs from node.roster_id in {config.path}")
    return pin


class ProgressLine:
    """`syncing from X: 1200/5000 entries (24%), 9000 records, 850 entries/s, ETA 4 s` on stderr."""

    def __init__(self, peer: str, stream: TextIO | None = None) -> None:
        self.peer, self.stream = peer, stream or sys.stderr
        self.started = self.shown = time.monotonic()
        self.live = self.stream.isatty()

    def line(self, counts: SyncCounts) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-3)
        rate = counts.entries / elapsed
        total = max(counts.total_entries, counts.entries)
        percent = 100 * counts.entries // total if total else 100
        eta = f"{(total - counts.entries) / rate:.0f} s" if rate > 0 and total > counts.entries else "-"
        rejected = f", {counts.rejected} refused" if counts.rejected else ""
        return (
            f"syncing from {self.peer}: {counts.entries}/{total} entries ({percent}%), {counts.records} "
            f"records, {rate:,.0f} entries/s, ETA {eta}{rejected}"
        )

    def update(self, counts: SyncCounts) -> None:
        now = time.monotonic()
        if now - self.shown >= (REDRAW_S if self.live else LOG_S):
            self.shown = now
            self._write(self.line(counts), final=False)

    def finish(self, counts: SyncCounts) -> None:
        self._write(self.line(counts), final=True)

    def _write(self, text: str, *, final: bool) -> None:
        if self.live:
            self.stream.write("\r\x1b[K" + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def summary(runtime: NodeRuntime, report: SyncReport) -> HealthSummary:
    stats = runtime.ledger.stats()
    roster = runtime.consortium.roster
    notes = [
        f"{count} entries refused ({reason})" for reason, count in sorted(report.rejected_by_reason.items())
    ]
    blocked = runtime.ledger.authoring_blocked_reason
    member = runtime.ledger.membership.get(runtime.member_id)
    never = authorship.authors_nothing(member.roles) if member is not None else None
    if runtime.ledger.signer is None:
        authoring = "no: no signing key (follower)"
    else:
        authoring = f"no ({never})" if never else (blocked or "yes")
    return HealthSummary(
        member_id=runtime.member_id,
        consortium_id=roster.consortium_id,
        roster_version=roster.version,
        roster_expired=runtime.consortium.expired(),
        peers_total=1,
        peers_reachable=1,
        records=int(stats["records"]),  # type: ignore[call-overload]
        entries=int(stats["entries"]),  # type: ignore[call-overload]
        labels=dict(stats["by_label"]),  # type: ignore[call-overload]
        lag_entries=report.lag_entries,
        authoring=authoring,
        notes=tuple(notes),
        refused=report.refused,
    )


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config, data_dir=args.data_dir)
    pin = pinned_id(args, config)
    root = config.load_root_roster()
    TrustedRoster(root.roster_bytes, root.signatures, pinned_id=pin)  # before anything is written
    signers = valid_signers(root.roster_bytes, root.signatures, root.roster.steward_keys)
    print(
        f"roster file {config.roster}: version {root.roster.version} of {root.roster.consortium_id}, id "
        f"matches, signed by {len(signers)} of its stewards ({root.roster.threshold} needed)"
    )
    runtime = open_node(dataclasses.replace(config, roster_id=pin))
    try:
        return _sync(args, config, runtime)
    finally:
        runtime.close()


def _sync(args: argparse.Namespace, config: NodeConfig, runtime: NodeRuntime) -> int:
    timeout = config.peer_limits.call_timeout_s
    with runtime.channels.dial(args.peer, args.peer_name) as channel:
        changes = pull_rosters(runtime.consortium, channel, timeout_s=timeout)
        roster = runtime.consortium.roster
        print(
            f"roster chain verified: now at version {roster.version} ({len(changes)} newer version(s) "
            f"fetched from {args.peer}, each signed by the stewards of the version before it and by its own)"
        )
        replica = runtime.replica or Replica(runtime.ledger)
        display = ProgressLine(args.peer)
        report = pull_database(replica, channel, timeout_s=timeout, progress=display.update)
        display.finish(report.counts)
    health = summary(runtime, report)
    for line in health.lines():
        print(line)
    if report.lag_entries:
        print(f"the sync stopped {report.lag_entries} entries short; run the same command again to continue")
        return ExitCode.FAILURE
    if report.refused:
        print(
            "the peer holds entries this node refuses for good (see refused above): they are not fetched "
            "again and need no re-run"
        )
    print(f"done: start the node with  hashnode serve --config {args.config}")
    print(
        f"and add its peers (if not in the config): hashnode admin peers add {report.peer_member or 'NAME'} "
        f"{args.peer}"
    )
    return ExitCode.OK
