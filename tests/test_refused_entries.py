"""Entries refused for good are remembered, not fetched and counted again (issue 12, item 1's side effects).

A peer may hold entries this node refuses: an observer's or a steward's hash entries, stored by a node with the
role check removed. Such a refusal is permanent (`RejectReason.permanent`): every later entry of the author
chains on the refused one. The node remembers, durably and per author, the first refused seq and why; it does
not fetch that log again from anyone, counts each refused entry once, reports those entries apart from lag
("4 entries refused from watcher: not_authorized") and a bootstrap finishes (exit 0) naming them.

The process tests run real `hashnode serve` processes: `watcher` (observer) and `guardian` (steward) hold a chain
their members signed outside the node's checks, `relay` (a contributor's node) holds both chains too, and
`contrib` pulls from all three. The in-process tests cover the sibling refusals and the forgery that must not
stall an author.
"""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request
from dataclasses import replace
from pathlib import Path

import grpc
import pytest

from node.api.gen.hashnode.v1 import admin_pb2, admin_pb2_grpc
from node.cli.serve_cmd import PACKAGE_ROOT, NodeProcess
from node.core.entry import ZERO_ID, Entry, EntryKind, sign_entry
from node.core.keys import SigningKey
from node.core.records import HashRecord
from node.dueprocess.items import DecidedAs, DecisionItem, OpinionItem, Outcome, Stance
from node.ledger.replica import Replica
from node.membership.members import Member, MemberKey, Membership
from node.membership.roster import RosterMember, SignedRoster
from node.replication.frontier import AuthorHead, AuthorRange, Frontier
from node.replication.validate import RejectReason
from testkit.consortium import eventually, free_port
from tests.consortium_helpers import NOW, genesis
from tests.replication_helpers import CONSORTIUM, T0, open_ledger, plant_entries, sign_chain, write_process_config

LABEL = "tvec.propaganda"
SEEDS = {"contrib": 0x61, "relay": 0x62, "watcher": 0x63, "guardian": 0x64, "fresh": 0x65}
ROLES = {
    "contrib": ("contributor",),
    "relay": ("contributor",),
    "watcher": ("observer",),
    "guardian": ("steward",),
    "fresh": ("contributor",),
}
CHAIN = 4  # entries each of watcher and guardian signed outside the node
REFUSED = 2 * CHAIN


# --- in process: what is remembered, and what is not ----------------------------------------------------------


def _member(roles: tuple[str, ...], **changes: object) -> tuple[Membership, SigningKey]:
    signer = SigningKey.from_seed(b"\x03" * 32)
    member = Member("alice", "Alice", (MemberKey(signer.public, **changes),), roles=roles)  # type: ignore[arg-type]
    return Membership.from_members(CONSORTIUM, [member]), signer


def _chain(signer: SigningKey, length: int, start_ms: int = T0 + 1000) -> list[Entry]:
    entries: list[Entry] = []
    for seq in range(1, length + 1):
        item = HashRecord("md5", bytes([seq]) * 16, 0, (LABEL,)).encode()
        entries.append(
            sign_entry(
                signer, consortium_id=CONSORTIUM, author="alice", seq=seq,
                prev=entries[-1].entry_id if entries else ZERO_ID, timestamp_ms=start_ms + seq,
                kind=EntryKind.CONTRIBUTION, items=[item],
            )
        )
    return entries


def _frontier(entries: list[Entry]) -> Frontier:
    last = entries[-1]
    return Frontier.of([AuthorHead(last.header.author, last.header.seq, last.entry_id)])


@pytest.mark.parametrize(
    ("reason", "roles", "key_changes"),
    [
        (RejectReason.NOT_AUTHORIZED, ("observer",), {}),
        (RejectReason.NOT_AUTHORIZED, ("steward",), {}),
        (RejectReason.KEY_NOT_VALID, ("contributor",), {"valid_until_ms": T0}),
    ],
    ids=["observer", "steward", "key-expired"],
)
def test_a_permanent_refusal_is_counted_once_and_the_log_not_asked_for_again(
    tmp_path: Path, reason: RejectReason, roles: tuple[str, ...], key_changes: dict[str, int]
) -> None:
    membership, signer = _member(roles, **key_changes)
    entries = _chain(signer, 3)
    ledger = open_ledger(tmp_path, membership, "bob")
    try:
        replica = Replica(ledger)
        assert [r.reason for r in replica.receive(entries).rejected] == [reason] * 3
        for _ in range(3):  # other peers, pushes, later passes: the same entries again
            assert replica.receive(entries).rejected == []
        assert replica.rejected[reason] == 3
        assert replica.missing_ranges(_frontier(entries)) == []
        behind = replica.behind(_frontier(entries))
        assert behind.lag == 0 and behind.refused_lines() == [f"3 entries refused from alice: {reason.value}"]
    finally:
        ledger.close()
    reopened = open_ledger(tmp_path, membership, "bob")  # durable: a restart does not fetch them again
    try:
        replica = Replica(reopened)
        assert replica.missing_ranges(_frontier(entries)) == []
        assert replica.receive(entries).rejected == [] and not replica.rejected
    finally:
        reopened.close()


def test_a_forged_entry_naming_an_observer_does_not_stall_its_log(tmp_path: Path) -> None:
    """R5 refuses before the signature check, so anyone can make a refused entry naming any author: only an
    entry the author did sign is remembered."""
    membership, signer = _member(("observer",))
    forged = [Entry.parse(e.header_bytes, bytes(64), e.items) for e in _chain(signer, 2)]  # alice's key id
    ledger = open_ledger(tmp_path, membership, "bob")
    try:
        replica = Replica(ledger)
        assert [r.reason for r in replica.receive(forged).rejected] == [RejectReason.NOT_AUTHORIZED] * 2
        assert replica.refusals() == []
        assert replica.missing_ranges(_frontier(forged)) == [AuthorRange("alice", 1, 2)]
    finally:
        ledger.close()


def test_a_transient_refusal_is_not_remembered(tmp_path: Path) -> None:
    membership, signer = _member(("contributor",))
    ahead = _chain(signer, 1, start_ms=NOW + 3_600_000)  # an hour ahead of the node's clock
    ledger = open_ledger(tmp_path, membership, "bob")
    try:
        replica = Replica(ledger)
        outcome = replica.receive(ahead)
        assert [r.reason for r in outcome.rejected] == [RejectReason.FUTURE_TIMESTAMP]
        assert replica.refusals() == [] and replica.missing_ranges(_frontier(ahead)) == [AuthorRange("alice", 1, 1)]
    finally:
        ledger.close()


def test_a_roster_giving_the_role_asks_for_the_log_again_and_applies_it(tmp_path: Path) -> None:
    membership, signer = _member(("observer",))
    entries = _chain(signer, 2)
    ledger = open_ledger(tmp_path, membership, "bob")
    try:
        replica = Replica(ledger)
        replica.receive(entries)
        still_observer = Membership.from_members(CONSORTIUM, [replace(m, roles=("observer",)) for m in membership])
        replica.update_membership(still_observer)
        assert replica.missing_ranges(_frontier(entries)) == [AuthorRange("alice", 1, 2)]  # asked once more
        assert replica.receive(entries).rejected == []  # refused again, not counted again
        assert replica.rejected[RejectReason.NOT_AUTHORIZED] == 2 and replica.missing_ranges(_frontier(entries)) == []
        replica.update_membership(
            Membership.from_members(CONSORTIUM, [replace(m, roles=("contributor",)) for m in membership])
        )
        assert replica.receive(entries).applied == entries and replica.refusals() == []
    finally:
        ledger.close()


# --- real processes -------------------------------------------------------------------------------------------


def _key(member: str) -> SigningKey:
    return SigningKey.from_seed(bytes([SEEDS[member]]) * 32)




def _crafted(member: str) -> list[Entry]:
    """A chain `member` signed outside the node: a contribution, two opinions, then a decision (which a steward
    may author, but it chains on the refused contribution)."""
    rid = b"\x09" * 32
    items = [
        (EntryKind.CONTRIBUTION, HashRecord("md5", bytes([SEEDS[member]]) * 16, 0, (LABEL,)).encode()),
        (EntryKind.OPINION, OpinionItem.create(rid, Stance.FALSE_POSITIVE, "", "").encode()),
        (EntryKind.OPINION, OpinionItem.create(rid, Stance.FALSE_POSITIVE, "again", "").encode()),
        (
            EntryKind.DECISION,
            DecisionItem.create(rid, b"\x08" * 32, Outcome.OVERTURNED, "", DecidedAs.STEWARD).encode(),
        ),
    ]
    return sign_chain(_key(member), "refused-test", member, items, NOW - 60_000)




@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    directory = tmp_path_factory.mktemp("refused")
    members = [
        RosterMember(member_id=m, organisation=m.title(), keys=(MemberKey(_key(m).public),), roles=ROLES[m])
        for m in SEEDS
    ]
    genesis("refused-test", members).save(directory / "roster.json")
    for m in SEEDS:
        _key(m).save(directory / f"{m}.key")
    ports = {m: free_port() for m in SEEDS}
    holders = ("watcher", "guardian", "relay")
    write_process_config(directory, "contrib", {m: f"127.0.0.1:{ports[m]}" for m in holders}, ports["contrib"])
    for member in holders:
        write_process_config(directory, member, {}, ports[member])
    write_process_config(directory, "fresh", {}, ports["fresh"])
    crafted = {m: _crafted(m) for m in ("watcher", "guardian")}
    plant_entries(directory, "watcher", crafted["watcher"])
    plant_entries(directory, "guardian", crafted["guardian"])
    plant_entries(directory, "relay", crafted["watcher"] + crafted["guardian"])
    nodes = {}
    try:
        for member in ("watcher", "guardian", "relay", "contrib"):
            nodes[member] = NodeProcess.start(directory / f"{member}.toml", directory / f"{member}.log")
        yield directory, nodes
    finally:
        for process in nodes.values():
            process.stop()


def _admin(process: NodeProcess) -> admin_pb2_grpc.AdminStub:
    return admin_pb2_grpc.AdminStub(grpc.insecure_channel(process.admin_address))


def _rejected(process: NodeProcess) -> int:
    state = _admin(process).GetReplicationState(admin_pb2.ReplicationStateRequest(), timeout=5)
    return sum(c.count for c in state.rejected)


def _passes(process: NodeProcess, count: int) -> None:
    """Waits until every peer link has completed `count` more pull passes (each moves last_sync_ms)."""
    seen: dict[str, set[int]] = {}

    def done() -> bool:
        for p in _admin(process).ListPeers(admin_pb2.ListPeersRequest(), timeout=5).peers:
            seen.setdefault(p.name, set()).add(p.last_sync_ms)
        return len(seen) == 3 and all(len(v) > count for v in seen.values())

    eventually(done, f"{count} more pull passes with every peer", poll=0.02)


def _metric(directory: Path, member: str) -> str:
    found = re.findall(r"metrics on http://(\S+)/metrics", (directory / f"{member}.log").read_text(encoding="utf-8"))
    assert found, "the node logs its metrics address"
    with urllib.request.urlopen(f"http://{found[-1]}/metrics", timeout=5) as response:
        return str(response.read().decode())


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "node.cli.main", *args], capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": str(PACKAGE_ROOT), "PATH": "/usr/bin"},
    )


def _refused_peers(process: NodeProcess) -> dict[str, list[tuple[str, int, str]]]:
    peers = _admin(process).ListPeers(admin_pb2.ListPeersRequest(), timeout=5).peers
    return {p.name: sorted((r.author, r.entries, r.reason) for r in p.refused) for p in peers}


WATCHER = ("watcher", CHAIN, "not_authorized")
GUARDIAN = ("guardian", CHAIN, "not_authorized")


@pytest.mark.slow
def test_refused_entries_are_counted_once_across_pull_passes_and_shown_apart_from_lag(consortium) -> None:  # type: ignore[no-untyped-def]
    directory, nodes = consortium
    contrib = nodes["contrib"]
    eventually(lambda: _rejected(contrib) >= REFUSED, "contrib refused the observer's and the steward's chains")
    _passes(contrib, 5)
    assert _rejected(contrib) == REFUSED
    assert f'hashnode_replication_rejected_total{{reason="not_authorized"}} {REFUSED}' in _metric(directory, "contrib")
    peers = _admin(contrib).ListPeers(admin_pb2.ListPeersRequest(), timeout=5).peers
    assert {p.name: p.lag_entries for p in peers} == {"guardian": 0, "relay": 0, "watcher": 0}
    assert _refused_peers(contrib) == {"guardian": [GUARDIAN], "relay": [GUARDIAN, WATCHER], "watcher": [WATCHER]}
    state = _admin(contrib).GetReplicationState(admin_pb2.ReplicationStateRequest(), timeout=5)
    assert sorted((r.author, r.from_seq, r.entries, r.reason) for r in state.refused_logs) == [
        ("guardian", 1, CHAIN, "not_authorized"), ("watcher", 1, CHAIN, "not_authorized")
    ]
    health = _cli("health", "--target", contrib.admin_address)
    assert health.returncode == 0, health
    assert "lag        0 entries behind its peers" in health.stdout
    assert f"refused    {CHAIN} entries refused from watcher: not_authorized" in health.stdout
    assert f"refused    {CHAIN} entries refused from guardian: not_authorized" in health.stdout
    listed = _cli("admin", "peers", "--target", contrib.admin_address)
    assert listed.returncode == 0, listed
    assert listed.stdout.count("lag 0 ") == 3, listed.stdout
    assert listed.stdout.count(f"{CHAIN} entries refused from watcher: not_authorized") == 2, listed.stdout


@pytest.mark.slow
def test_a_restarted_node_remembers_what_it_refused(consortium) -> None:  # type: ignore[no-untyped-def]
    directory, nodes = consortium
    eventually(lambda: _rejected(nodes["contrib"]) >= REFUSED, "contrib refused the chains")
    nodes["contrib"].stop()
    nodes["contrib"] = NodeProcess.start(directory / "contrib.toml", directory / "contrib.log")
    contrib = nodes["contrib"]
    eventually(lambda: _refused_peers(contrib)["relay"] == [GUARDIAN, WATCHER], "a pass with relay")
    _passes(contrib, 3)
    assert _rejected(contrib) == 0  # not fetched again: nothing new to count
    peers = _admin(contrib).ListPeers(admin_pb2.ListPeersRequest(), timeout=5).peers
    assert all(p.lag_entries == 0 for p in peers), peers


@pytest.mark.slow
def test_bootstrap_from_a_peer_holding_refused_entries_finishes_and_names_them(consortium) -> None:  # type: ignore[no-untyped-def]
    directory, nodes = consortium
    roster_id = SignedRoster.load(directory / "roster.json").roster_id.hex()
    command = ("bootstrap", "--config", str(directory / "fresh.toml"), "--peer", nodes["relay"].peer_address,
               "--roster-id", roster_id)
    for attempt in ("first", "again"):
        done = _cli(*command)
        assert done.returncode == 0, (attempt, done.stdout, done.stderr)
        assert "lag        0 entries behind its peers" in done.stdout, done.stdout
        assert f"refused    {CHAIN} entries refused from watcher: not_authorized" in done.stdout
        assert f"refused    {CHAIN} entries refused from guardian: not_authorized" in done.stdout
        assert "run the same command again" not in done.stdout
