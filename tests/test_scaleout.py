"""One member scaled out: a writer, three followers and nginx in front of them (testkit/scaleout.py), as real
processes. Matching load goes through nginx; a record submitted at the writer is matchable through nginx within
a second; a follower killed under load costs no failed call and, started again, takes its share of the load
again. nginx sends a call to the next follower when the one it chose refuses the connection; a call already in
flight on the follower that died comes back from nginx as UNAVAILABLE (HTTP 502: nginx cannot resend a request
it has streamed), and the client's retry policy for read-only calls (node/cli/grpc_channel.py, the one
docs/scale-out.md gives clients) sends it again.

Needs nginx from Debian (`nginx-light`): installed here when missing (as root, with apt), else skipped.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from conftest import EXAMPLE_KEYS, NodeFactory, RunningNode, tls_config

from node.api.gen.hashnode.v1 import client_pb2, client_pb2_grpc, types_pb2
from node.core.records import HashRecord
from node.ledger.ledger import Query
from node.network.addresses import PeerConfig
from testkit.scaleout import ScaledMember, client_channel, nginx_binary, scaled_member

pytestmark = pytest.mark.slow
LABEL = "tvec.propaganda"
CERTIFICATE = EXAMPLE_KEYS / "platform-a.crt"


@pytest.fixture(scope="module")
def nginx() -> str:
    found = nginx_binary()
    if found is None:
        pytest.skip("nginx is not installed and apt-get could not install it (nginx-light)")
    return found


def pdq(tag: str) -> str:
    return hashlib.sha256(tag.encode()).hexdigest()


def eventually(check: Callable[[], bool], what: str, timeout: float = 30.0) -> float:
    start = time.monotonic()
    while True:
        try:
            if check():
                return time.monotonic() - start
        except grpc.RpcError:
            pass
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.02)


class Load:
    """Clients matching through nginx without pause, on their own threads; counts what came back."""

    def __init__(self, target: str, clients: int = 2, batch: int = 50) -> None:
        self.ok = 0
        self.failed: list[str] = []
        self._stop = threading.Event()
        rng = random.Random(7)
        queries = [client_pb2.HashQuery(signal_type="pdq", value=f"{rng.getrandbits(256):064x}") for _ in range(batch)]
        self._request = client_pb2.MatchRequest(queries=queries)
        self._threads = [threading.Thread(target=self._run, args=(target,), daemon=True) for _ in range(clients)]
        self._lock = threading.Lock()

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(15)

    def _run(self, target: str) -> None:
        with client_channel(target) as opened:
            stub = client_pb2_grpc.HashNodeStub(opened)
            while not self._stop.is_set():
                try:
                    stub.Match(self._request, timeout=10)
                    with self._lock:
                        self.ok += 1
                except grpc.RpcError as exc:
                    with self._lock:
                        self.failed.append(f"{exc.code().name}: {exc.details()}")

    def calls(self) -> int:
        with self._lock:
            return self.ok + len(self.failed)


def submit_at_writer(member: ScaledMember, tag: str) -> str:
    record = types_pb2.HashRecord(signal_type="pdq", value=pdq(tag), quality=90, labels=[LABEL])
    with client_channel(member.writer.address, ca=CERTIFICATE) as opened:
        reply = client_pb2_grpc.HashNodeStub(opened).Submit(client_pb2.SubmitRequest(records=[record]), timeout=10)
    return str(reply.record_ids[0])


def matched_through_nginx(member: ScaledMember, tag: str, calls: int) -> bool:
    """`calls` matches in a row through nginx (round robin: every follower answers some) all find the record."""
    query = client_pb2.MatchRequest(queries=[client_pb2.HashQuery(signal_type="pdq", value=pdq(tag))])
    with client_channel(member.nginx.address) as opened:
        stub = client_pb2_grpc.HashNodeStub(opened)
        return all(stub.Match(query, timeout=5).results[0].matches for _ in range(calls))


def share(member: ScaledMember, since: int) -> Counter[str]:
    """Calls each follower answered, in the nginx log from entry `since` on."""
    return Counter(tried[-1] for tried, status in member.nginx.answered()[since:] if status == 200)


def test_followers_behind_nginx_match_what_the_writer_signed_and_survive_losing_one(
    nginx: str, tmp_path: Path
) -> None:
    with scaled_member(tmp_path, 3, nginx=nginx) as member:
        followers = [p.address for p in member.followers if p is not None]
        submit_at_writer(member, "warm-up")  # the writer authors: it has no peer to wait for
        eventually(lambda: matched_through_nginx(member, "warm-up", 6), "the followers to replicate")

        # A record signed at the writer is matchable through nginx, at every follower, within a second.
        submit_at_writer(member, "fresh")
        submitted = time.monotonic()
        eventually(lambda: matched_through_nginx(member, "fresh", 6), "the fresh record through nginx", 5)
        took = time.monotonic() - submitted
        assert took < 1.0, f"matchable through nginx {took:.3f} s after the writer signed it"

        # Matching load, round robin over the three followers.
        mark = len(member.nginx.answered())
        with Load(member.nginx.address) as load:
            eventually(lambda: load.calls() >= 60, "matching load through nginx")
            answered = share(member, mark)
            assert set(answered) == set(followers), answered
            assert min(answered.values()) >= 10, answered

            # A follower dies under load: nginx sends its calls to the others; no call fails.
            before = load.ok
            member.kill_follower(1)
            killed_at = len(member.nginx.answered())
            eventually(lambda: load.ok >= before + 100, "load to go on without the killed follower")
            assert load.failed == [], load.failed[:5]
            assert followers[1] not in share(member, killed_at + 20)  # after the calls in flight: none to it

            # Started again (same address), it catches up and takes its share again.
            member.start_follower(1)
            back = len(member.nginx.answered())
            eventually(lambda: share(member, back)[followers[1]] >= 10, "the follower back in rotation", 30)
            assert matched_through_nginx(member, "fresh", 6)
        assert load.failed == [], load.failed[:5]
        log = member.nginx.answered()
        by_nginx = sum(len(tried) > 1 and status == 200 for tried, status in log)
        by_client = sum(status == 204 for _, status in log)  # nginx's gRPC UNAVAILABLE (its @unavailable)
        print(
            f"{load.ok} calls through nginx, none failed; {by_nginx} resent by nginx to another follower, "
            f"{by_client} answered UNAVAILABLE by nginx and resent by the client's retry policy; the fresh record "
            f"matchable through nginx {took * 1000:.0f} ms after the writer signed it"
        )


def test_one_writer_keeps_a_live_stream_to_each_of_five_followers_sharing_its_certificate(
    node_factory: NodeFactory, tmp_path: Path
) -> None:
    """Followers present the member's certificate, like its writer: each counts as a caller of its own on the
    writer's peer listener (one member's node may hold only 4 streams there, and five followers need five)."""
    writer = node_factory(tls_config(tmp_path / "writer", anti_entropy_ms=300))
    followers = [
        node_factory(
            tls_config(
                tmp_path / f"follower-{i}",
                follower=True,
                anti_entropy_ms=300,
                peers=(PeerConfig("platform-a", writer.peer_target),),
            )
        )
        for i in range(5)
    ]
    for node in (writer, *followers):
        node.runtime.start()  # replication (node_factory starts the listeners only)

    def live(node: RunningNode) -> bool:
        assert node.runtime.replicator is not None
        return [s.state.value for s in node.runtime.replicator.statuses()] == ["live"]

    eventually(lambda: all(live(f) for f in followers), "every follower's push stream from the writer")
    writer.runtime.ledger.submit([HashRecord("pdq", bytes.fromhex(pdq("to five")), 90, (LABEL,))])
    query = [Query("pdq", bytes.fromhex(pdq("to five")))]
    eventually(lambda: all(f.runtime.ledger.match(query, 0)[0] for f in followers), "the record at every follower")
