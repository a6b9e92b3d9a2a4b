"""Replication over real gRPC on 127.0.0.1, nodes in this process over real LMDB: push and pull, restore
safety, followers, forks across a partition, bounded requests and a clean stop."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from replication_helpers import (
    CONSORTIUM,
    EVERYONE,
    KEYS,
    LABEL,
    NetNode,
    chain,
    open_ledger,
    serve,
    wait_for,
)

from node.api.gen.hashnode.v1 import client_pb2, client_pb2_grpc, peer_pb2, peer_pb2_grpc, types_pb2
from node.api.peer_wire import batch_from_proto, batch_to_proto, fetch_request, frontier_from_proto
from node.core.errors import Unavailable
from node.core.records import HashRecord
from node.ledger.ledger import Query
from node.network.replicator import PeerAddress, PeerState
from node.replication.frontier import AuthorRange
from node.server import peer_service
from node.server.peer_service import PeerServicer

Factory = Callable[..., NetNode]


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Factory]:
    """Starts nodes over LMDB in tmp_path: `start("a", member="alice", signer=True)`; stops them all."""
    nodes: list[NetNode] = []

    def make(name: str, member: str = "alice", *, signer: bool = True, data: Path | None = None) -> NetNode:
        ledger = open_ledger(
            data or tmp_path / name, EVERYONE, member, signer=KEYS[member] if signer else None, clock=None
        )
        node = serve(name, ledger)
        nodes.append(node)
        return node

    yield make
    for node in nodes:  # replicators first, so that none sees a peer go away
        node.stop_replicating()
    for node in nodes:
        if not node.stopping.is_set():
            node.stop()


def pdq(tag: str) -> bytes:
    return hashlib.sha256(tag.encode()).digest()


def contribute(node: NetNode, tag: str) -> bytes:
    """Submits one PDQ record through the ledger; returns its hash."""
    value = pdq(tag)
    node.ledger.submit([HashRecord("pdq", value, 90, (LABEL,))])
    return value


def matchable(node: NetNode, value: bytes) -> bool:
    return bool(node.ledger.match([Query("pdq", value)], 0)[0])


def seq(node: NetNode, author: str) -> int:
    head = node.replica.head(author)
    return head.seq if head else 0


def can_author(node: NetNode) -> bool:
    return node.ledger.authoring_blocked_reason is None


def submit_rpc(node: NetNode) -> client_pb2.SubmitResponse:
    stub = client_pb2_grpc.HashNodeStub(grpc.insecure_channel(node.address))
    record = types_pb2.HashRecord(signal_type="pdq", value=pdq("rpc").hex(), quality=90, labels=[LABEL])
    response: client_pb2.SubmitResponse = stub.Submit(client_pb2.SubmitRequest(records=[record]), timeout=5)
    return response


# --- push and pull ------------------------------------------------------------------------------------------


def test_a_contribution_is_matchable_on_every_peer_within_a_second(start: Factory) -> None:
    a, b, c = start("a", "alice"), start("b", "bob"), start("c", "carol")
    a.replicate_from(b, c), b.replicate_from(a, c), c.replicate_from(a, b)
    for node in (a, b, c):
        wait_for(lambda node=node: can_author(node), what=f"{node.name} to compare its log with a peer")
    wait_for(
        lambda: all(s.state is PeerState.LIVE for n in (a, b, c) for s in n.statuses()),
        what="every push stream to open",
    )
    delays = []
    for i in range(5):
        value = contribute(a, f"contribution {i}")
        delays.append(
            wait_for(lambda value=value: matchable(b, value) and matchable(c, value), what="propagation")
        )
    assert max(delays) < 1.0, delays
    wait_for(lambda: len({n.replica.state_digest() for n in (a, b, c)}) == 1, what="equal state digests")
    statuses = b.statuses()  # each of a's entries came straight from a, or relayed by c
    assert [(s.name, s.member_id, s.last_error) for s in statuses] == [("a", "alice", ""), ("c", "carol", "")]
    assert sum(s.applied for s in statuses) == 5


def test_a_fresh_node_bootstraps_by_pull_in_bounded_requests(
    start: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(peer_service, "MAX_FETCH_BYTES", 4000)  # several FetchEntries calls for one pass
    source = start("source", "alice")
    source.replica.receive([*chain("bob", 30, records=5), *chain("carol", 10)])
    fresh = start("fresh", "carol", signer=False)
    fresh.replicate_from(source, max_batch_bytes=1)  # the server raises this to its minimum batch size
    wait_for(lambda: fresh.replica.state_digest() == source.replica.state_digest(), what="bootstrap")
    head = fresh.replica.head("bob")
    assert head is not None and head.seq == 30
    position = fresh.replica.peer_position("source")
    assert position is not None and position.frontier == source.replica.frontier()
    (status,) = fresh.statuses()
    assert status.lag_entries == 0 and status.applied == 40


def test_fetch_entries_answers_in_batches_below_the_asked_size(start: Factory) -> None:
    source = start("source", "alice")
    source.replica.receive(chain("bob", 60, records=40))
    stub = peer_pb2_grpc.PeerStub(grpc.insecure_channel(source.address))
    request = fetch_request([AuthorRange("bob", 3, 58)], max_batch_bytes=1)
    batches = [batch_from_proto(m) for m in stub.FetchEntries(request, timeout=5)]
    seqs = [e.header.seq for batch in batches for e in batch.entries]
    assert seqs == list(range(3, 59)) and len(batches) > 1
    assert all(m.ByteSize() < peer_service.MIN_BATCH_BYTES + 20_000 for m in stub.FetchEntries(request))


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (
            peer_pb2.FetchRequest(ranges=[peer_pb2.AuthorRange(author="bob", from_seq=0)]),
            "ranges[0].from_seq",
        ),
        (peer_pb2.FetchRequest(ranges=[peer_pb2.AuthorRange(from_seq=1)]), "ranges[0].author"),
        (peer_pb2.FetchRequest(evidence_ids=[b"short"]), "evidence_ids[0]"),
        (peer_pb2.FetchRequest(ranges=[peer_pb2.AuthorRange(author="b", from_seq=1)] * 1025), "ranges"),
    ],
)
def test_fetch_entries_refuses_bad_requests(
    start: Factory, request_: peer_pb2.FetchRequest, field: str
) -> None:
    source = start("source", "alice")
    stub = peer_pb2_grpc.PeerStub(grpc.insecure_channel(source.address))
    with pytest.raises(grpc.RpcError) as caught:
        list(stub.FetchEntries(request_, timeout=5))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details().startswith(field)


def test_a_subscriber_too_far_behind_is_told_to_fetch_first(
    start: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(peer_service, "MAX_CATCH_UP_BYTES", 1000)
    source = start("source", "alice")
    source.replica.receive(chain("bob", 20))
    stub = peer_pb2_grpc.PeerStub(grpc.insecure_channel(source.address))
    with pytest.raises(grpc.RpcError) as caught:
        list(stub.Subscribe(peer_pb2.SubscribeRequest(), timeout=5))
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    # The replicator copes: it pulls, then subscribes from where it is.
    fresh = start("fresh", "carol", signer=False)
    fresh.replicate_from(source)
    wait_for(lambda: fresh.replica.state_digest() == source.replica.state_digest(), what="catch-up")
    value = contribute(source, "after")
    wait_for(lambda: matchable(fresh, value), what="the push stream")


def test_a_subscriber_whose_queue_overflows_is_dropped_and_recovers(
    start: Factory, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(peer_service, "SUBSCRIBER_QUEUE", 2)
    source = start("source", "alice", signer=False)
    fresh = start("fresh", "carol", signer=False)
    fresh.replicate_from(source)
    wait_for(lambda: [s.state for s in fresh.statuses()] == [PeerState.LIVE], what="a live stream")
    source.replica.receive(chain("bob", 40))  # 40 commits at once: far more than the queue holds
    wait_for(lambda: fresh.replica.state_digest() == source.replica.state_digest(), what="recovery by pull")
    assert seq(fresh, "bob") == 40
    assert any("RESOURCE_EXHAUSTED" in r.getMessage() for r in caplog.records)  # it was dropped


def test_one_undecodable_entry_does_not_cost_the_rest_of_a_batch() -> None:
    good = chain("bob", 2)
    message = batch_to_proto(good)
    message.entries[0].items[0] = b"changed after signing"  # the body root no longer matches
    decoded = batch_from_proto(message)
    assert [e.entry_id for e in decoded.entries] == [good[1].entry_id]
    assert len(decoded.undecodable) == 1 and decoded.undecodable[0].message.startswith("entries[0]")


def test_get_frontier_lists_heads_and_evidence(start: Factory) -> None:
    source = start("source", "alice")
    bob = chain("bob", 3)
    fork = chain("bob", 1, tag=b"fork", after=bob[1])
    source.replica.receive([*bob, *fork])
    stub = peer_pb2_grpc.PeerStub(grpc.insecure_channel(source.address))
    frontier = frontier_from_proto(stub.GetFrontier(peer_pb2.FrontierRequest(), timeout=5))
    assert frontier.frontier == source.replica.frontier()
    assert frontier.evidence_ids == tuple(source.replica.evidence_ids()) and len(frontier.evidence_ids) == 1
    assert (frontier.consortium_id, frontier.member_id) == (CONSORTIUM, "alice")


# --- restore safety -----------------------------------------------------------------------------------------


def test_a_node_restored_from_an_old_backup_catches_up_before_it_authors(
    start: Factory, tmp_path: Path
) -> None:
    a, b = start("a", "alice"), start("b", "bob")
    b.replicate_from(a)
    for i in range(2):
        contribute(a, f"early {i}")
    a.ledger.store.copy(tmp_path / "backup" / "lmdb")
    later = [contribute(a, f"late {i}") for i in range(3)]
    wait_for(lambda: all(matchable(b, v) for v in later), what="b to hold a's log")
    a.stop()
    restored = start("restored", "alice", data=tmp_path / "backup")
    assert seq(restored, "alice") == 2
    restored.replicate_from(b)
    wait_for(lambda: can_author(restored), what="the restored node to catch up")
    assert seq(restored, "alice") == 5
    assert submit_rpc(restored).seq == 6
    b.stop_replicating()
    b.replicate_from(restored)
    wait_for(lambda: seq(b, "alice") == 6, what="b to take entry 6")
    assert restored.replica.evidence() == [] and b.replica.evidence() == []


def test_without_a_reachable_peer_submit_fails_with_a_clear_message(start: Factory) -> None:
    lonely = start("lonely", "alice")
    lonely.replicate_from("127.0.0.1:1")
    with pytest.raises(grpc.RpcError) as caught:
        submit_rpc(lonely)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "catching up" in caught.value.details() and "127.0.0.1:1" in caught.value.details()
    wait_for(lambda: lonely.statuses()[0].state is PeerState.BACKOFF, what="backoff")
    assert "UNAVAILABLE" in lonely.statuses()[0].last_error


def test_authoring_without_peers_after_the_configured_time(start: Factory) -> None:
    lonely = start("lonely", "alice")
    lonely.replicate_from("127.0.0.1:1", authoring_without_peers_after_s=1)
    assert not can_author(lonely)
    wait_for(lambda: can_author(lonely), timeout=5, what="the solo authoring timeout")
    assert submit_rpc(lonely).seq == 1


def test_the_solo_timeout_does_not_cut_a_catch_up_short(
    start: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    def busy(self: PeerServicer, request: object, context: object) -> Iterator[object]:
        raise Unavailable("busy")  # the frontier says there is more of alice; fetching it keeps failing

    monkeypatch.setattr(PeerServicer, "FetchEntries", busy)
    source = start("source", "bob")
    source.replica.receive(chain("alice", 3))
    restored = start("restored", "alice")
    restored.replicate_from(source, authoring_without_peers_after_s=1)
    time.sleep(1.5)
    assert not can_author(restored) and seq(restored, "alice") == 0


def test_the_gate_lifts_only_its_own_block(start: Factory) -> None:
    lonely = start("lonely", "alice")
    replicator = lonely.replicate_from("127.0.0.1:1", authoring_without_peers_after_s=1)
    lonely.ledger.block_authoring("member status", "authoring stopped: alice is suspended")
    assert "catching up" in (lonely.ledger.authoring_blocked_reason or "")  # the earliest reason shows
    assert replicator.gate is not None
    wait_for(lambda: replicator.gate.is_open, what="the solo authoring timeout")  # type: ignore[union-attr]
    assert lonely.ledger.authoring_blocked_reason == "authoring stopped: alice is suspended"
    lonely.ledger.block_authoring("member status", None)
    assert can_author(lonely)


# --- followers ----------------------------------------------------------------------------------------------


def test_a_follower_replicates_its_primary_matches_and_refuses_to_author(start: Factory) -> None:
    primary = start("primary", "alice")
    follower = start("follower", "alice", signer=False)
    follower.ledger.block_authoring("follower", "this node is a follower of alice")
    follower.replicate_from(primary)
    value = contribute(primary, "primary's")
    wait_for(lambda: matchable(follower, value), what="the follower to replicate")
    with pytest.raises(grpc.RpcError) as caught:
        submit_rpc(follower)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "follower" in caught.value.details()


# --- forks --------------------------------------------------------------------------------------------------


def test_two_nodes_signing_as_one_member_are_caught_and_frozen(start: Factory) -> None:
    """Partition equivocation: a1 and a2 both sign as alice, each unaware of the other; c peers with both."""
    a1, a2, c = start("a1", "alice"), start("a2", "alice"), start("c", "carol")
    a1.replicate_from(c)
    c.replicate_from(a1)
    wait_for(lambda: can_author(a1), what="a1 to compare with c")
    first = contribute(a1, "branch one")
    wait_for(lambda: matchable(c, first), what="c to take branch one")
    a2.replicate_from("127.0.0.1:1", authoring_without_peers_after_s=1)  # cut off from everyone
    wait_for(lambda: can_author(a2), what="a2 to author alone")
    contribute(a2, "branch two")
    a2.stop_replicating()
    a2.replicate_from(c)  # the partition heals
    c.stop_replicating()
    c.replicate_from(a1, a2)
    for node in (a1, a2, c):
        wait_for(
            lambda node=node: len(node.replica.evidence()) == 1, what=f"{node.name} to hold the evidence"
        )
    wait_for(lambda: len({n.replica.state_digest() for n in (a1, a2, c)}) == 1, what="equal digests")
    assert not can_author(a1) and not can_author(a2)
    assert "fork evidence" in (a1.ledger.authoring_blocked_reason or "")
    assert matchable(c, first)  # c keeps the branch it saw first
    (evidence,) = c.replica.evidence()
    assert {e.header.seq for e in evidence.entries()} == {1}


def test_peers_are_added_moved_and_removed_while_running(start: Factory) -> None:
    a, b, c = start("a", "alice"), start("b", "bob"), start("c", "carol")
    replicator = c.replicate_from(a)
    replicator.set_peer("b", PeerAddress("b", "127.0.0.1:1"))
    wait_for(lambda: [s.name for s in c.statuses()] == ["a", "b"], what="a link to b")
    replicator.set_peer("b", PeerAddress("b", b.address))  # moved
    value = contribute(b, "from b")
    wait_for(lambda: matchable(c, value), what="c to replicate from b at its new address")
    replicator.set_peer("a", None)
    assert [s.name for s in c.statuses()] == ["b"]


# --- stopping -----------------------------------------------------------------------------------------------


def test_stop_is_prompt_with_open_streams_and_unreachable_peers(start: Factory) -> None:
    a, b = start("a", "alice"), start("b", "bob")
    replicator = b.replicate_from(a, "127.0.0.1:1", anti_entropy_ms=60_000)
    wait_for(
        lambda: [s.state for s in replicator.statuses() if s.name == "a"] == [PeerState.LIVE], what="a stream"
    )
    began = time.monotonic()
    replicator.stop(timeout=5)
    assert time.monotonic() - began < 2.0
    assert all(s.state is PeerState.STOPPED for s in replicator.statuses())
