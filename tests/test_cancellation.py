"""A caller going away is not an error: a real `hashnode serve` process whose clients cancel every kind of
streaming call after its first answer, or give up on a unary call the node is still working on, logs nothing
at ERROR and no traceback (text and JSON logs alike), and counts those calls `code="CANCELLED"`; at SIGTERM the
streams still open end quietly and the node exits 0.

The streaming calls, on every listener: HashNode.MatchStream (bidi), HashNode.ExportRecords (records, and the
change feed), grpc.health.v1.Health/Watch, the reflection stream (client and admin listeners), Peer.FetchEntries,
Peer.Subscribe and Admin.WatchReinstateNotices.
"""

from __future__ import annotations

import json
import queue
import re
import signal
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from node.api.gen.hashnode.v1 import admin_pb2, admin_pb2_grpc, client_pb2, client_pb2_grpc, peer_pb2, peer_pb2_grpc
from node.cli.serve_cmd import NodeProcess
from node.server.peer_service import MIN_BATCH_BYTES
from node.server.server import GRACE_SECONDS
from testkit.checks import pdq_value, submit_batch
from testkit.consortium import eventually
from tests.conftest import write_config

pytestmark = pytest.mark.slow
ENTRIES, RECORDS_PER_ENTRY = 8, 1000  # each entry larger than a peer batch's minimum: one entry per batch
METRICS_LINE = re.compile(r"metrics on http://(?P<address>[^/\s]+)/metrics")
MATCH_STREAM = "/hashnode.v1.HashNode/MatchStream"
REFLECTION = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
BIDIRECTIONAL = {MATCH_STREAM, REFLECTION}
SUBSCRIBE = "/hashnode.v1.Peer/Subscribe"
HEALTH_WATCH = "/grpc.health.v1.Health/Watch"


@dataclass
class Node:
    process: NodeProcess
    channel: grpc.Channel
    peer_channel: grpc.Channel
    admin_channel: grpc.Channel
    metrics_address: str

    def log(self) -> str:
        return self.process.log.read_text(encoding="utf-8")

    def codes(self) -> dict[str, dict[str, float]]:
        """method -> code -> calls, from `hashnode_rpc_requests_total`."""
        url = f"http://{self.metrics_address}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode("utf-8")
        counts: dict[str, dict[str, float]] = {}
        for found in re.finditer(r'^hashnode_rpc_requests_total\{code="(\w+)",method="([^"]+)"\} (\S+)$', text, re.M):
            code, method, value = found.groups()
            counts.setdefault(method, {})[code] = float(value)
        return counts

    def close(self) -> None:
        for channel in (self.channel, self.peer_channel, self.admin_channel):
            channel.close()


@pytest.fixture(params=["text", "json"])
def node(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Node]:
    extra = f'[logging]\nformat = "{request.param}"\n[metrics]\nlisten = "127.0.0.1:0"\n'
    process = NodeProcess.start(write_config(tmp_path, extra=extra), tmp_path / "node.log", cwd=tmp_path)
    found = METRICS_LINE.search(process.log.read_text(encoding="utf-8"))
    assert found is not None, process.log.read_text(encoding="utf-8")
    running = Node(
        process,
        grpc.insecure_channel(process.address),
        grpc.insecure_channel(process.peer_address),
        grpc.insecure_channel(process.admin_address),
        found["address"],
    )
    client = client_pb2_grpc.HashNodeStub(running.channel)
    for n in range(ENTRIES):
        submit_batch(client, f"cancel {n}", RECORDS_PER_ENTRY, timeout=30)
    yield running
    running.close()
    process.stop(signal.SIGKILL)


def held_open(first: Any) -> Iterator[Any]:
    """A request stream that sends `first` and then neither sends more nor ends (the caller is still there)."""
    yield first
    queue.Queue[None]().get()  # blocks until the call is cancelled and gRPC stops reading this iterator


def cancel_after_first(call: Any) -> None:
    next(call)
    call.cancel()


def pdq_query() -> client_pb2.HashQuery:
    return client_pb2.HashQuery(signal_type="pdq", value=pdq_value("cancel 0/0"))


def streams(node: Node) -> dict[str, Callable[[], Any]]:
    """Each streaming method, as the full method name -> a call to it that gets answered at least once."""
    client = client_pb2_grpc.HashNodeStub(node.channel)
    peer = peer_pb2_grpc.PeerStub(node.peer_channel)
    reflection = reflection_pb2_grpc.ServerReflectionStub(node.channel)
    listing = reflection_pb2.ServerReflectionRequest(list_services="")
    return {
        MATCH_STREAM: lambda: client.MatchStream(
            held_open(client_pb2.MatchRequest(queries=[pdq_query()]))
        ),
        "/hashnode.v1.HashNode/ExportRecords": lambda: client.ExportRecords(client_pb2.ExportRequest(batch_size=10)),
        HEALTH_WATCH: lambda: health_pb2_grpc.HealthStub(node.channel).Watch(health_pb2.HealthCheckRequest()),
        REFLECTION: lambda: reflection.ServerReflectionInfo(held_open(listing)),
        "/hashnode.v1.Peer/FetchEntries": lambda: peer.FetchEntries(
            peer_pb2.FetchRequest(
                ranges=[peer_pb2.AuthorRange(author="platform-a", from_seq=1)], max_batch_bytes=MIN_BATCH_BYTES
            )
        ),
        SUBSCRIBE: lambda: peer.Subscribe(peer_pb2.SubscribeRequest()),
    }


def assert_quiet(log: str) -> None:
    """No line at ERROR (or CRITICAL), no traceback: in text logs and in JSON logs."""
    assert "Traceback" not in log, log
    for line in log.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            assert record["level"] not in ("ERROR", "CRITICAL") and "exception" not in record, line
        else:
            assert not re.search(r"\b(ERROR|CRITICAL)\b", line), line


def test_cancelled_streams_are_counted_cancelled_and_logged_at_no_error(node: Node) -> None:
    for start in streams(node).values():
        cancel_after_first(start())
    client = client_pb2_grpc.HashNodeStub(node.channel)
    changes = client.ExportRecords(client_pb2.ExportRequest(batch_size=10, changes=True))
    cancel_after_first(changes)
    admin_reflection = reflection_pb2_grpc.ServerReflectionStub(node.admin_channel).ServerReflectionInfo(
        held_open(reflection_pb2.ServerReflectionRequest(list_services=""))
    )
    cancel_after_first(admin_reflection)

    expected = {
        **{method: 1.0 for method in streams(node)},
        "/hashnode.v1.HashNode/ExportRecords": 2.0,
        REFLECTION: 2.0,
    }

    def counted() -> dict[str, dict[str, float]]:
        codes = node.codes()
        return {method: codes.get(method, {}) for method in expected}

    def missing() -> list[str]:
        return [method for method, n in expected.items() if sum(counted()[method].values()) < n]

    try:
        eventually(lambda: not missing(), "every cancelled stream counted", timeout=15)
    except AssertionError:
        raise AssertionError(f"not counted: {missing()}; counts: {counted()}") from None
    for method, codes in counted().items():
        # A cancelled bidirectional call can reach the node as the end of its requests first (gRPC reports both
        # the same way until the cancellation itself arrives): the handler ends, and the call counts OK.
        allowed = {"CANCELLED", "OK"} if method in BIDIRECTIONAL else {"CANCELLED"}
        assert set(codes) <= allowed, (method, codes)
    assert_watch_cancelled_while_waiting(node)
    assert_quiet(node.log())


def assert_watch_cancelled_while_waiting(node: Node) -> None:
    """A notice watch with nothing to report yet, cancelled while it waits. It answers nothing before: a call
    cancelled before the node picked it up is never counted, so try again until one is."""
    method = "/hashnode.v1.Admin/WatchReinstateNotices"
    for _attempt in range(3):
        watch = admin_pb2_grpc.AdminStub(node.admin_channel).WatchReinstateNotices(admin_pb2.WatchNoticesRequest())
        time.sleep(0.5)
        watch.cancel()
        try:
            eventually(lambda: method in node.codes(), "the cancelled watch to be counted", timeout=5)
            break
        except AssertionError:
            continue
    assert node.codes()[method] == {"CANCELLED": 1.0}


def test_a_client_giving_up_on_a_unary_call_is_counted_cancelled(node: Node) -> None:
    client = client_pb2_grpc.HashNodeStub(node.channel)
    # 10,000 queries at the widest threshold, each one hitting a stored record whose details are wanted too: the
    # node works on it for most of a second (0.9 s here), and the client gives up long before.
    queries = [
        client_pb2.HashQuery(signal_type="pdq", value=pdq_value(f"cancel {i % ENTRIES}/{i // ENTRIES}"))
        for i in range(10_000)
    ]
    request = client_pb2.MatchRequest(queries=queries, pdq_threshold=31, include_records=True)
    method = "/hashnode.v1.HashNode/Match"
    for _attempt in range(5):  # a call cancelled before the node picked it up is never counted: try again
        call = client.Match.future(request)
        time.sleep(0.15)
        call.cancel()
        try:
            eventually(lambda: method in node.codes(), "the cancelled Match to be counted", timeout=10)
            break
        except AssertionError:
            continue
    assert node.codes()[method] == {"CANCELLED": 1.0}
    assert_quiet(node.log())


def test_at_sigterm_the_streams_still_open_end_quietly_and_the_node_exits_0(node: Node) -> None:
    calls = streams(node)
    opened = []
    # Several bidirectional streams: gRPC ends each one's requests or cancels it, whichever it sees first.
    for method in (MATCH_STREAM, MATCH_STREAM, MATCH_STREAM, REFLECTION, REFLECTION, SUBSCRIBE, HEALTH_WATCH):
        call = calls[method]()
        next(call)
        opened.append(call)
    watch = admin_pb2_grpc.AdminStub(node.admin_channel).WatchReinstateNotices(admin_pb2.WatchNoticesRequest())
    time.sleep(0.3)
    started = time.monotonic()
    assert node.process.stop(signal.SIGTERM, timeout=GRACE_SECONDS + 10) == 0
    assert time.monotonic() - started < GRACE_SECONDS + 3
    for call in (*opened, watch):
        call.cancel()
    log = node.log()
    assert "hashnode: stopped" in log
    assert_quiet(log)
