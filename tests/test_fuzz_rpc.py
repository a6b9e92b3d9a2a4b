"""Fuzzing every RPC of a real node on 127.0.0.1 (testkit/fuzz.py): mutated valid requests, random
messages and random bytes are never answered INTERNAL or UNKNOWN, and a refused call writes nothing
(counters, state digest, roster version and peers unchanged). Valid entries with one bit flipped, pushed
through the peer path (decoded as a peer's batch and received by the replica, or served by a peer the node
pulls from), are refused and change nothing. The regressions are inputs the fuzzer found."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from google.protobuf.message import DecodeError, Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.api.gen.hashnode.v1 import admin_pb2, membership_pb2, peer_pb2, peer_pb2_grpc
from node.api.peer_wire import batch_from_proto, batch_to_proto
from node.core.entry import Entry
from node.network.addresses import PeerConfig
from testkit.consortium import eventually
from testkit.fuzz import (
    SERVICES,
    FuzzNode,
    RpcFuzzer,
    RpcTarget,
    call_raw,
    consortium_id,
    flip_bit,
    rpc_input,
    sample_log,
)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzNode]:
    fuzz_node = FuzzNode(tmp_path_factory.mktemp("fuzz"))
    yield fuzz_node
    fuzz_node.close()


@pytest.fixture(scope="module")
def fuzzer(node: FuzzNode) -> RpcFuzzer:
    return RpcFuzzer(node.channels, node.probe, node.targets())


def test_every_method_of_every_service_is_a_target(fuzzer: RpcFuzzer) -> None:
    served = {f"/{s.full_name}/{m.name}" for s in SERVICES.values() for m in s.methods}
    assert {t.path for t in fuzzer.targets} == served
    without_seeds = [t.name for t in fuzzer.targets if not t.seeds and t.method.input_type.fields]
    assert without_seeds == []


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rng=st.randoms(use_true_random=False), pick=st.integers(min_value=0))
def test_fuzzed_requests_are_refused_cleanly_and_write_nothing(
    fuzzer: RpcFuzzer, rng: random.Random, pick: int
) -> None:
    target = fuzzer.targets[pick % len(fuzzer.targets)]
    fuzzer.fuzz_one(target, rpc_input(target, rng), rng)
    assert fuzzer.counts[target.name].failures == []


@dataclass(frozen=True)
class Regression:
    name: str
    method: str
    request: Message | bytes
    code: grpc.StatusCode


REGRESSIONS = [
    # store.rosters asked for version 2**64 (u64 overflow: INTERNAL).
    Regression(
        "rosters since the largest version",
        "GetRosters",
        membership_pb2.GetRostersRequest(since_version=2**64 - 1),
        grpc.StatusCode.OK,
    ),
    # NoticeBook.after asked for notice number 2**64.
    Regression(
        "notices after the largest number",
        "ListReinstateNotices",
        admin_pb2.ListNoticesRequest(after=2**64 - 1),
        grpc.StatusCode.OK,
    ),
    Regression(
        "watching notices after the largest number",
        "WatchReinstateNotices",
        admin_pb2.WatchNoticesRequest(after=2**64 - 1),
        grpc.StatusCode.DEADLINE_EXCEEDED,  # the watch stays open: nothing to send yet
    ),
    # A negative start reached the match log as a u64; an end in year 292 million broke the calendar axis.
    Regression(
        "a report from before 1970",
        "BuildReport",
        admin_pb2.ReportRequest(from_ms=-5, to_ms=10),
        grpc.StatusCode.INVALID_ARGUMENT,
    ),
    Regression(
        "a report to the end of int64",
        "BuildReport",
        admin_pb2.ReportRequest(from_ms=0, to_ms=2**63 - 1),
        grpc.StatusCode.INVALID_ARGUMENT,
    ),
    # gRPC answers a request that does not parse with INTERNAL unless the interceptor catches it.
    Regression("bytes that are not a request", "Submit", b"\xff\xff\xff", grpc.StatusCode.INVALID_ARGUMENT),
    Regression("a truncated field", "FetchEntries", b"\x0a\x05abc", grpc.StatusCode.INVALID_ARGUMENT),
]


@pytest.mark.parametrize("case", REGRESSIONS, ids=lambda c: c.name)
def test_regression(fuzzer: RpcFuzzer, case: Regression) -> None:
    target = next(t for t in fuzzer.targets if t.name == case.method)
    data = case.request if isinstance(case.request, bytes) else case.request.SerializeToString()
    assert call_raw(fuzzer.channels[target.listener], target, data, random.Random(0)) == case.code


# --- single-bit flips through the peer path --------------------------------------------------------------


def flippable() -> bytes:
    """A peer's batch holding one valid entry this node does not have (platform-c's first)."""
    return bytes(batch_to_proto(sample_log("platform-c", tag="flips")[:1]).SerializeToString())


@settings(max_examples=300, deadline=None)
@given(bit=st.integers(min_value=0))
def test_a_single_bit_flip_in_a_pushed_batch_applies_nothing(node: FuzzNode, bit: int) -> None:
    data = flippable()
    before = node.probe()
    try:
        batch = batch_from_proto(peer_pb2.EntryBatch.FromString(flip_bit(data, bit % (len(data) * 8))))
    except DecodeError:
        return
    replica = node.runtime.replica
    assert replica is not None
    outcome = replica.receive(batch.entries)
    found = replica.receive_evidence(batch.evidence)
    assert outcome.applied == [] and found.new_evidence == []
    assert node.probe() == before


def test_the_unflipped_batch_applies(node: FuzzNode) -> None:
    """The property above is not vacuous: the same batch, unflipped, is taken."""
    replica = node.runtime.replica
    assert replica is not None
    batch = batch_from_proto(peer_pb2.EntryBatch.FromString(flippable()))
    assert len(replica.receive(batch.entries).applied) == 1


class FlippingPeer(peer_pb2_grpc.PeerServicer):  # type: ignore[misc]
    """Claims platform-c's log and serves it with one bit flipped in each entry, until `honest` is set."""

    def __init__(self, log: list[Entry]) -> None:
        self.log = log
        self.rng = random.Random(5)
        self.fetches = 0
        self.honest = threading.Event()

    def GetFrontier(
        self, request: peer_pb2.FrontierRequest, context: grpc.ServicerContext
    ) -> peer_pb2.Frontier:
        head = peer_pb2.AuthorHead(author="platform-c", seq=len(self.log), entry_id=self.log[-1].entry_id)
        return peer_pb2.Frontier(heads=[head], consortium_id=consortium_id(), member_id="platform-c")

    def FetchEntries(
        self, request: peer_pb2.FetchRequest, context: grpc.ServicerContext
    ) -> Iterator[peer_pb2.EntryBatch]:
        self.fetches += 1
        batch = batch_to_proto(self.log)
        if not self.honest.is_set():
            for signed in batch.entries:
                field = self.rng.choice(("header", "signature"))
                value = getattr(signed, field)
                setattr(signed, field, flip_bit(value, self.rng.randrange(len(value) * 8)))
        yield batch

    def Subscribe(
        self, request: peer_pb2.SubscribeRequest, context: grpc.ServicerContext
    ) -> Iterator[peer_pb2.EntryBatch]:
        context.abort(grpc.StatusCode.UNAVAILABLE, "this peer only answers fetches")
        yield from ()


def test_a_peer_serving_flipped_entries_changes_nothing_then_honest_entries_apply(tmp_path: Path) -> None:
    log = sample_log("platform-c", tag="served")
    peer = FlippingPeer(log)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    peer_pb2_grpc.add_PeerServicer_to_server(peer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    peers = (PeerConfig("platform-c", f"127.0.0.1:{port}"),)
    node = FuzzNode(tmp_path, seeded=False, peers=peers, anti_entropy_ms=100)
    try:
        before = node.probe()
        eventually(lambda: peer.fetches >= 10, "ten fetches from the flipping peer", timeout=30)
        assert node.probe() == before
        replica = node.runtime.replica
        assert replica is not None and sum(replica.rejected.values()) > 0
        assert replica.head("platform-c") is None
        peer.honest.set()
        eventually(
            lambda: (head := replica.head("platform-c")) is not None and head.seq == 3, "the honest log"
        )
    finally:
        node.close()
        server.stop(None)


def test_targets_are_sanitized_before_they_reach_the_host(fuzzer: RpcFuzzer, node: FuzzNode) -> None:
    """A fuzzed Backup writes under the fuzz directory; a fuzzed AddPeer dials only a closed loopback port."""
    rng = random.Random(1)
    backup = next(t for t in fuzzer.targets if t.name == "Backup")
    add_peer = next(t for t in fuzzer.targets if t.name == "AddPeer")
    for _ in range(50):
        request = admin_pb2.BackupRequest.FromString(_parsable(backup, rng))
        assert request.directory == "" or request.directory.startswith(str(node.directory))
        peer = admin_pb2.AddPeerRequest.FromString(_parsable(add_peer, rng))
        assert peer.address in ("", "127.0.0.1:9") and peer.name in (
            "",
            "peer-0",
            "peer-1",
            "peer-2",
            "peer-3",
        )


def _parsable(target: RpcTarget, rng: random.Random) -> bytes:
    while True:
        data = rpc_input(target, rng)
        try:
            target.request_type.FromString(data)
        except DecodeError:
            continue
        return data
