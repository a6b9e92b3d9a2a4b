"""The roster-driven mesh: each node dials every active member at the endpoints its roster entry lists.

The dial plan is pure (node/membership/dialling.py); the peer directory layers the config's peers and the
operator's changes over it, in a real LMDB store; then nodes in this process over mutual TLS, none with a peer
configured, form a consortium from their roster alone, drop a revoked member at the version that revokes it
(published to one node only: the others learn of it from their peers' heartbeats), fail over to a member's
next endpoint, and let the operator override the roster for one member.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from consortium_helpers import NOW, MemberSecrets, genesis, next_version, secure_config, sign

from node.core.errors import AlreadyExists, FailedPrecondition, NotFound
from node.core.records import HashRecord
from node.ledger.ledger import Query
from node.membership.dialling import DialPlan, dial_plan
from node.membership.roster import MemberStatus, RosterMember
from node.network.addresses import PeerConfig
from node.network.peers import Peer, PeerDirectory
from node.network.replicator import PeerState
from node.runtime.runtime import NodeRuntime, open_node
from node.server.server import Listeners, create_servers
from node.storage.store import Store
from testkit.consortium import free_port

CONSORTIUM = "mesh-test"
LABEL = "tvec.propaganda"


@pytest.fixture(scope="module")
def people() -> dict[str, MemberSecrets]:
    names = ("alpha", "bravo", "charlie", "delta")
    return {name: MemberSecrets.make(name, 0x70 + i) for i, name in enumerate(names)}


def member(people: dict[str, MemberSecrets], name: str, *endpoints: str, **fields: object) -> RosterMember:
    return people[name].roster_member(endpoints=endpoints, **fields)


# --- the dial plan (pure) -------------------------------------------------------------------------------


def test_a_node_dials_every_other_active_member_at_its_endpoints(people: dict[str, MemberSecrets]) -> None:
    roster = genesis(
        CONSORTIUM,
        [
            member(people, "alpha", "a.example:1"),
            member(people, "bravo", "b.example:1", "[2001:db8::b]:1"),
            member(people, "charlie"),  # lists no endpoint: nobody dials it (it dials the others)
        ],
    ).roster
    plan = dial_plan(roster, "alpha")
    assert plan.version == 1
    assert dict(plan.endpoints) == {"bravo": ("b.example:1", "[2001:db8::b]:1")}
    assert dict(plan.barred) == {}


def test_suspended_and_revoked_members_are_barred(people: dict[str, MemberSecrets]) -> None:
    roster = genesis(
        CONSORTIUM,
        [
            member(people, "alpha", "a.example:1"),
            member(people, "bravo", "b.example:1", status=MemberStatus.SUSPENDED),
            member(people, "charlie", "c.example:1", status=MemberStatus.REVOKED, revoked_after_ms=NOW),
        ],
    ).roster
    plan = dial_plan(roster, "delta")
    assert dict(plan.endpoints) == {"alpha": ("a.example:1",)}
    assert dict(plan.barred) == {
        "bravo": "suspended in roster version 1",
        "charlie": "revoked in roster version 1",
    }


def test_a_follower_dials_no_roster_peer_but_keeps_the_bars(people: dict[str, MemberSecrets]) -> None:
    roster = genesis(
        CONSORTIUM,
        [
            member(people, "alpha", "a.example:1"),
            member(people, "bravo", "b.example:1", status=MemberStatus.SUSPENDED),
        ],
    ).roster
    plan = dial_plan(roster, "charlie", mesh=False)
    assert dict(plan.endpoints) == {} and set(plan.barred) == {"bravo"}


def test_a_member_without_a_certificate_is_dialled_only_without_tls(people: dict[str, MemberSecrets]) -> None:
    bare = replace(member(people, "bravo", "b.example:1"), tls=())
    roster = genesis(CONSORTIUM, [member(people, "alpha", "a.example:1"), bare]).roster
    assert "bravo" not in dial_plan(roster, "alpha").endpoints
    assert "bravo" in dial_plan(roster, "alpha", require_certificate=False).endpoints


# --- the peer directory (real LMDB) -----------------------------------------------------------------------


@dataclass
class Heard:
    """What a directory's listener heard: (name, address or None), in order."""

    changes: list[tuple[str, str | None]]

    def __call__(self, name: str, peer: Peer | None) -> None:
        self.changes.append((name, None if peer is None else peer.address))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "lmdb", consortium_id=CONSORTIUM)
    yield opened
    opened.close()


def plan(endpoints: dict[str, tuple[str, ...]], barred: dict[str, str] | None = None, version: int = 1) -> DialPlan:
    return DialPlan(version, endpoints, barred or {})


def directory(store: Store, *configured: PeerConfig) -> tuple[PeerDirectory, Heard]:
    found = PeerDirectory(store, configured)
    heard = Heard([])
    found.on_change(heard)
    return found, heard


def addresses(found: PeerDirectory) -> dict[str, tuple[str, str]]:
    return {p.name: (p.address, p.source) for p in found.peers()}


def test_roster_peers_come_and_go_with_the_plan(store: Store) -> None:
    found, heard = directory(store)
    found.follow(plan({"bravo": ("b:1",), "charlie": ("c:1",)}))
    assert addresses(found) == {"bravo": ("b:1", "roster"), "charlie": ("c:1", "roster")}
    found.follow(plan({"bravo": ("b:2",), "delta": ("d:1",)}, {"charlie": "revoked in roster version 2"}, 2))
    assert addresses(found) == {"bravo": ("b:2", "roster"), "delta": ("d:1", "roster")}
    assert heard.changes == [
        ("bravo", "b:1"),
        ("charlie", "c:1"),
        ("bravo", "b:2"),
        ("charlie", None),
        ("delta", "d:1"),
    ]


def test_the_config_and_the_operator_take_precedence_over_the_roster(store: Store) -> None:
    found, _ = directory(store, PeerConfig("bravo", "private-b:1"))
    found.follow(plan({"bravo": ("b:1",), "charlie": ("c:1",)}))
    assert addresses(found)["bravo"] == ("private-b:1", "config")
    found.add("charlie", "private-c:1")  # a private link replaces the roster's endpoints
    assert addresses(found)["charlie"] == ("private-c:1", "admin")
    with pytest.raises(AlreadyExists):
        found.add("charlie", "private-c:2")
    found.reset("charlie")
    assert addresses(found)["charlie"] == ("c:1", "roster")


def test_removing_a_roster_peer_lasts_until_reset_and_across_restarts(store: Store) -> None:
    found, heard = directory(store)
    found.follow(plan({"bravo": ("b:1",)}))
    found.remove("bravo")
    assert addresses(found) == {}
    again, _ = directory(store)  # the node restarted: the operator's removal is in the store
    again.follow(plan({"bravo": ("b:1",)}))
    assert addresses(again) == {}
    again.reset("bravo")
    assert addresses(again) == {"bravo": ("b:1", "roster")}
    with pytest.raises(NotFound):
        again.reset("bravo")
    assert heard.changes == [("bravo", "b:1"), ("bravo", None)]


def test_a_barred_member_is_not_dialled_whoever_named_it(store: Store) -> None:
    found, heard = directory(store, PeerConfig("bravo", "private-b:1"))
    found.add("charlie", "private-c:1")
    found.follow(plan({}, {"bravo": "revoked in roster version 3", "charlie": "suspended in roster version 3"}))
    assert addresses(found) == {}
    with pytest.raises(FailedPrecondition, match="revoked in roster version 3"):
        found.add("bravo", "elsewhere:1")
    assert heard.changes[-2:] == [("bravo", None), ("charlie", None)]


def test_a_failing_roster_peer_is_dialled_at_its_next_endpoint_in_turn(store: Store) -> None:
    found, heard = directory(store)
    found.follow(plan({"bravo": ("b1:1", "b2:1", "b3:1"), "charlie": ("c:1",)}))
    moved = [found.next_endpoint("bravo") for _ in range(3)]
    assert [p.address for p in moved if p is not None] == ["b2:1", "b3:1", "b1:1"]
    assert found.next_endpoint("charlie") is None  # one endpoint: nowhere else to go
    found.follow(plan({"bravo": ("b1:1", "b2:1", "b3:1"), "charlie": ("c:1",)}, version=2))
    assert addresses(found)["bravo"] == ("b1:1", "roster")  # unchanged endpoints: no reset on a new version
    found.follow(plan({"bravo": ("b4:1", "b1:1")}, version=3))
    assert addresses(found)["bravo"] == ("b4:1", "roster")  # moved: its first endpoint first
    assert heard.changes[:4] == [("bravo", "b1:1"), ("charlie", "c:1"), ("bravo", "b2:1"), ("bravo", "b3:1")]


# --- nodes over mutual TLS that find each other through the roster ----------------------------------------


@dataclass
class MeshNode:
    name: str
    runtime: NodeRuntime
    listeners: Listeners

    def submit(self, tag: str) -> None:
        self.runtime.ledger.submit([HashRecord("pdq", pdq(tag), 90, (LABEL,))])

    def matches(self, tag: str) -> bool:
        return bool(self.runtime.ledger.match([Query("pdq", pdq(tag))], 0)[0])

    def peers(self) -> dict[str, str]:
        return {p.name: p.address for p in self.runtime.peers.peers()}

    def links(self) -> dict[str, PeerState]:
        assert self.runtime.replicator is not None
        return {s.name: s.state for s in self.runtime.replicator.statuses()}

    def stop(self) -> None:
        self.listeners.stop(None)
        self.runtime.close()


def pdq(tag: str) -> bytes:
    return hashlib.sha256(tag.encode()).digest()


def eventually(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> float:
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)
    return time.monotonic() - start


class Mesh:
    """Nodes of `people` started from one roster file, each listening for peers on the port the roster says."""

    def __init__(self, tmp_path: Path, people: dict[str, MemberSecrets]) -> None:
        self.tmp_path, self.people = tmp_path, people
        self.nodes: dict[str, MeshNode] = {}

    def start(self, name: str, roster_file: Path, port: int, **config: object) -> MeshNode:
        settings: dict[str, object] = {"peer_listen": f"127.0.0.1:{port}", "anti_entropy_ms": 300, **config}
        runtime = open_node(secure_config(self.tmp_path / name, self.people[name], roster_file, **settings))
        try:
            listeners = create_servers(runtime)
        except Exception:
            runtime.close()
            raise
        listeners.start()
        runtime.start()
        self.nodes[name] = MeshNode(name, runtime, listeners)
        return self.nodes[name]

    def close(self) -> None:
        for node in self.nodes.values():
            node.stop()


@pytest.fixture
def mesh(tmp_path: Path, people: dict[str, MemberSecrets]) -> Iterator[Mesh]:
    running = Mesh(tmp_path, people)
    yield running
    running.close()


def three_members(people: dict[str, MemberSecrets], ports: dict[str, int]) -> list[RosterMember]:
    return [member(people, name, f"127.0.0.1:{ports[name]}") for name in ("alpha", "bravo", "charlie")]


@pytest.mark.slow
def test_nodes_form_a_consortium_from_the_roster_and_drop_a_member_it_revokes(
    mesh: Mesh, people: dict[str, MemberSecrets], tmp_path: Path
) -> None:
    ports = {name: free_port() for name in ("alpha", "bravo", "charlie")}
    v1 = genesis(CONSORTIUM, three_members(people, ports))
    v1.save(tmp_path / "roster.json")
    nodes = [mesh.start(name, tmp_path / "roster.json", ports[name]) for name in ports]
    alpha, bravo, charlie = nodes
    assert alpha.peers() == {"bravo": f"127.0.0.1:{ports['bravo']}", "charlie": f"127.0.0.1:{ports['charlie']}"}
    eventually(lambda: all(s == PeerState.LIVE for n in nodes for s in n.links().values()), "every link live")
    charlie.submit("from charlie")
    eventually(lambda: alpha.matches("from charlie") and bravo.matches("from charlie"), "charlie's hash")

    # Version 2 revokes charlie, published at alpha alone; bravo hears of it from alpha's heartbeats (its
    # roster exchange alone would take up to 10 s) and both stop dialling charlie.
    draft = next_version(v1.roster)
    draft.revoke("charlie", int(time.time() * 1000))
    assert alpha.runtime.consortium.submit(sign(draft.build())) is not None
    took = eventually(lambda: bravo.runtime.consortium.roster.version == 2, "version 2 at bravo", timeout=8)
    assert took < 5, f"bravo trusted version 2 after {took:.1f} s"
    for node in (alpha, bravo):
        eventually(lambda node=node: "charlie" not in node.links(), f"{node.name} to stop dialling charlie")
        assert "charlie" not in node.peers()
        assert node.runtime.peers.barred("charlie") == "revoked in roster version 2"


@pytest.mark.slow
def test_a_new_member_is_dialled_when_the_version_admitting_it_arrives(
    mesh: Mesh, people: dict[str, MemberSecrets], tmp_path: Path
) -> None:
    ports = {name: free_port() for name in ("alpha", "bravo", "charlie", "delta")}
    v1 = genesis(CONSORTIUM, three_members(people, ports))
    v1.save(tmp_path / "roster.json")
    alpha, bravo = (mesh.start(name, tmp_path / "roster.json", ports[name]) for name in ("alpha", "bravo"))
    draft = next_version(v1.roster)
    draft.admit(people["delta"].join_request(CONSORTIUM))
    draft.set_endpoints("delta", [f"127.0.0.1:{ports['delta']}"])
    v2 = sign(draft.build())
    v2.save(tmp_path / "roster-2.json")
    assert alpha.runtime.consortium.submit(v2) is not None
    # delta starts from version 2 (its root, pinned) and dials alpha and bravo; they dial it back.
    delta = mesh.start("delta", tmp_path / "roster-2.json", ports["delta"], roster_id=v2.roster_id)
    eventually(lambda: not delta.runtime.ledger.authoring_blocked_reason, "delta to compare its log with a peer")
    delta.submit("from delta")
    eventually(lambda: alpha.matches("from delta") and bravo.matches("from delta"), "delta's hash everywhere")
    assert "delta" in bravo.peers() and "delta" in alpha.peers()


@pytest.mark.slow
def test_a_member_is_reached_at_its_next_endpoint_when_the_first_fails(
    mesh: Mesh, people: dict[str, MemberSecrets], tmp_path: Path
) -> None:
    ports = {name: free_port() for name in ("alpha", "bravo")}
    dead = free_port()  # nobody listens there
    members = [
        member(people, "alpha", f"127.0.0.1:{ports['alpha']}"),
        member(people, "bravo", f"127.0.0.1:{dead}", f"127.0.0.1:{ports['bravo']}"),
    ]
    genesis(CONSORTIUM, members).save(tmp_path / "roster.json")
    alpha = mesh.start("alpha", tmp_path / "roster.json", ports["alpha"], mesh=True, peers=())
    bravo = mesh.start("bravo", tmp_path / "roster.json", ports["bravo"])
    eventually(lambda: not bravo.runtime.ledger.authoring_blocked_reason, "bravo to compare its log with alpha")
    alpha.runtime.roster_exchange.wake()  # its round ends with the failover check (else: every 10 s)
    eventually(lambda: alpha.peers()["bravo"] == f"127.0.0.1:{ports['bravo']}", "alpha to try bravo's second")
    bravo.submit("from bravo")
    eventually(lambda: alpha.matches("from bravo"), "bravo's hash at alpha")
