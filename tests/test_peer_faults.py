"""Peers that misbehave, against a real node on 127.0.0.1: one that stalls mid-stream is cut off by a deadline
while the others replicate as usual; one that floods the node with calls is rate limited, with streams it
cannot hold more of, or with entries far ahead of its log, and the node's memory and its answers to everyone
else stay bounded."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest

from node.api.gen.hashnode.v1 import client_pb2, client_pb2_grpc, peer_pb2, peer_pb2_grpc
from node.api.peer_wire import batch_to_proto
from node.core.entry import Entry
from node.network.addresses import PeerConfig
from node.network.replicator import PeerState
from node.replication.reconcile import Limits
from node.runtime.config import PeerLimits
from node.server.peer_service import MAX_STREAMS, MAX_STREAMS_PER_CALLER
from testkit.consortium import eventually
from testkit.fuzz import FuzzNode, consortium_id, sample_log

pytestmark = pytest.mark.slow


class ScriptedPeer(peer_pb2_grpc.PeerServicer):  # type: ignore[misc]
    """Serves one member's log: whole (honest), or the first batch and then nothing (`stall`), or an endless
    push of entries far ahead of anything the node holds (`flood`)."""

    def __init__(self, member: str, log: list[Entry], *, stall: bool = False) -> None:
        self.member, self.log, self.stall = member, log, stall
        self.fetches = 0
        self.released = threading.Event()
        self.flood: list[Entry] = []
        self.pushed = 0

    def GetFrontier(self, request: peer_pb2.FrontierRequest, context: grpc.ServicerContext) -> peer_pb2.Frontier:
        head = peer_pb2.AuthorHead(author=self.member, seq=len(self.log), entry_id=self.log[-1].entry_id)
        return peer_pb2.Frontier(heads=[head], consortium_id=consortium_id(), member_id=self.member)

    def FetchEntries(
        self, request: peer_pb2.FetchRequest, context: grpc.ServicerContext
    ) -> Iterator[peer_pb2.EntryBatch]:
        self.fetches += 1
        yield batch_to_proto(self.log[:1])
        while self.stall and context.is_active() and not self.released.wait(0.2):
            pass  # mid-stream: the connection stays up, nothing more comes
        yield batch_to_proto(self.log[1:])

    def Subscribe(
        self, request: peer_pb2.SubscribeRequest, context: grpc.ServicerContext
    ) -> Iterator[peer_pb2.EntryBatch]:
        yield peer_pb2.EntryBatch()
        while context.is_active() and self.flood and not self.released.is_set():
            for start in range(0, len(self.flood), 50):
                self.pushed += len(self.flood[start : start + 50])
                yield batch_to_proto(self.flood[start : start + 50])
        while context.is_active() and not self.released.wait(0.2):
            pass


def serve_peer(servicer: ScriptedPeer) -> tuple[grpc.Server, str]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    peer_pb2_grpc.add_PeerServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, f"127.0.0.1:{port}"


def test_a_peer_that_stalls_mid_stream_is_cut_off_and_the_others_are_unaffected(tmp_path: Path) -> None:
    stalling = ScriptedPeer("platform-c", sample_log("platform-c", tag="stalls"), stall=True)
    honest = ScriptedPeer("platform-b", sample_log("platform-b", tag="honest"))
    servers = [serve_peer(stalling), serve_peer(honest)]
    peers = (PeerConfig("platform-c", servers[0][1]), PeerConfig("platform-b", servers[1][1]))
    node = FuzzNode(
        tmp_path, seeded=False, peers=peers, anti_entropy_ms=200, peer_limits=PeerLimits(call_timeout_s=1.0)
    )
    replica, replicator = node.runtime.replica, node.runtime.replicator
    assert replica is not None and replicator is not None
    try:
        eventually(lambda: stalling.fetches >= 1, "the stalling peer to be asked")
        took = eventually(lambda: (h := replica.head("platform-b")) is not None and h.seq == 3, "b's log", 10)
        assert took < 5  # not held up by the stalled stream

        def cut_off() -> bool:
            status = next(s for s in replicator.statuses() if s.name == "platform-c")
            return status.state is PeerState.BACKOFF and "sent nothing for 1 s mid-stream" in status.last_error

        assert eventually(cut_off, "the stalled fetch to be cut off", timeout=10) < 5
        assert replica.head("platform-c") is None  # the first batch of a cut-off stream is not half-applied
        stalling.released.set()
        stalling.stall = False
        eventually(lambda: (h := replica.head("platform-c")) is not None and h.seq == 3, "c's log once it answers")
    finally:
        stalling.released.set()
        node.close()
        for server, _ in servers:
            server.stop(None)


def test_a_peer_flooding_calls_is_rate_limited_and_others_are_answered(tmp_path: Path) -> None:
    node = FuzzNode(tmp_path, peer_limits=PeerLimits(rate=20.0, burst=20))
    flooder = peer_pb2_grpc.PeerStub(grpc.insecure_channel(node.listeners.peer.address))
    other = peer_pb2_grpc.PeerStub(grpc.insecure_channel(node.listeners.peer.address, options=[("x", 1)]))
    codes: dict[str, int] = {}
    stop = threading.Event()

    def flood() -> None:
        while not stop.is_set():
            try:
                flooder.GetFrontier(peer_pb2.FrontierRequest(), timeout=5)
                name = "OK"
            except grpc.RpcError as exc:
                name = exc.code().name
            codes[name] = codes.get(name, 0) + 1

    threads = [threading.Thread(target=flood) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        started = time.monotonic()
        for _ in range(5):
            other.GetFrontier(peer_pb2.FrontierRequest(), timeout=5)
        assert time.monotonic() - started < 2
        client = client_pb2_grpc.HashNodeStub(node.channels["client"])
        assert client.Match(client_pb2.MatchRequest(queries=[client_pb2.HashQuery(signal_type="md5", value="0" * 32)]))
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        node.close()
    assert codes.get("RESOURCE_EXHAUSTED", 0) > codes.get("OK", 0) > 0
    assert set(codes) == {"OK", "RESOURCE_EXHAUSTED"}


def test_a_peer_holding_streams_open_cannot_starve_the_others(tmp_path: Path) -> None:
    node = FuzzNode(tmp_path)
    address = node.listeners.peer.address
    since = peer_pb2.SubscribeRequest(since=peer_pb2.Frontier())
    # One caller opens more live subscriptions than it may (each holds a server thread while it lasts) ...
    hog = peer_pb2_grpc.PeerStub(grpc.insecure_channel(address))
    hogging = [hog.Subscribe(since) for _ in range(MAX_STREAMS_PER_CALLER + 3)]
    # ... and so do others, until the node holds as many streams as it allows in all.
    others = [grpc.insecure_channel(address, options=[("x", i)]) for i in range(MAX_STREAMS)]
    crowd = [peer_pb2_grpc.PeerStub(channel).Subscribe(since) for channel in others]
    try:
        refused = 0
        for stream in hogging:
            try:
                next(stream)  # the first message: caught up
            except grpc.RpcError as exc:
                assert exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                refused += 1
        assert refused == 3
        opened = 0
        for stream in crowd:
            try:
                next(stream)
                opened += 1
            except grpc.RpcError as exc:
                assert exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert opened == MAX_STREAMS - MAX_STREAMS_PER_CALLER
        # Unary calls still have threads: a peer's frontier, and the client listener, answer at once.
        started = time.monotonic()
        newcomer = peer_pb2_grpc.PeerStub(grpc.insecure_channel(address, options=[("y", 1)]))
        newcomer.GetFrontier(peer_pb2.FrontierRequest(), timeout=5)
        assert time.monotonic() - started < 1
    finally:
        for stream in [*hogging, *crowd]:
            stream.cancel()
        node.close()


def test_a_peer_pushing_entries_far_ahead_is_held_to_the_gap_buffer(tmp_path: Path) -> None:
    """Entries the node cannot apply yet (their predecessors are missing) are buffered up to `Limits`; the rest
    are dropped, to be fetched again once they apply."""
    log = sample_log("platform-c", tag="flood")
    flooding = ScriptedPeer("platform-c", log)
    from node.core.entry import EntryKind, sign_entry
    from testkit.fuzz import T0, member_key, sample_records

    key, previous = member_key("platform-c"), log[-1]
    for seq in range(4, 4 + 2 * Limits().gap_per_author):  # seq 4 itself is never sent: all are gaps
        previous = sign_entry(
            key,
            consortium_id=consortium_id(),
            author="platform-c",
            seq=seq,
            prev=previous.entry_id,
            timestamp_ms=T0 + seq,
            kind=EntryKind.CONTRIBUTION,
            items=[r.encode() for r in sample_records(f"flood {seq}", 20)],
        )
        if seq > 4:
            flooding.flood.append(previous)
    flooding.log = log
    server, address = serve_peer(flooding)
    node = FuzzNode(tmp_path, seeded=False, peers=(PeerConfig("platform-c", address),), anti_entropy_ms=100)
    replica = node.runtime.replica
    assert replica is not None
    try:
        eventually(lambda: flooding.pushed >= 20 * len(flooding.flood), "twenty rounds of the flood", 60)
        assert replica.buffered_count() <= Limits().gap_per_author
        head = replica.head("platform-c")
        assert head is not None and head.seq == 3  # nothing past the hole was applied
    finally:
        flooding.released.set()
        node.close()
        server.stop(None)
