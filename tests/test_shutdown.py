"""Graceful shutdown of a real `hashnode serve` process: SIGTERM during a stream of submissions turns health
NOT_SERVING, lets the calls in flight finish within the grace period (a match stream keeps being answered until
its client closes it), refuses new ones, exits 0, and after a restart every acknowledged record is there."""

from __future__ import annotations

import queue
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2

from node.api.gen.hashnode.v1 import client_pb2
from node.server.server import GRACE_SECONDS
from testkit.checks import Contributions, check_stopped_store, missing_records, pdq_value
from testkit.consortium import LocalConsortium, ProcessNode, eventually, example_membership

pytestmark = pytest.mark.slow
SERVING, NOT_SERVING = health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING


class HealthWatch:
    """Records what Health.Watch reports; lets go of the stream once the node says NOT_SERVING (a watch is a
    call in flight too: held open, it would keep the node draining for the whole grace period)."""

    def __init__(self, node: ProcessNode) -> None:
        self.seen: list[int] = []
        self._stream = node.health.Watch(health_pb2.HealthCheckRequest())
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for reply in self._stream:
                self.seen.append(reply.status)
                if reply.status == NOT_SERVING and SERVING in self.seen:
                    self._stream.cancel()
        except grpc.RpcError:
            pass


class MatchStream:
    """A MatchStream call the test feeds one request at a time."""

    def __init__(self, node: ProcessNode) -> None:
        self._requests: queue.Queue[client_pb2.MatchRequest | None] = queue.Queue()
        self.responses: list[client_pb2.MatchResponse] = []
        self.error: grpc.RpcError | None = None
        self._call = node.client.MatchStream(self._feed())
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _feed(self) -> Iterator[client_pb2.MatchRequest]:
        while (request := self._requests.get()) is not None:
            yield request

    def _read(self) -> None:
        try:
            self.responses.extend(self._call)
        except grpc.RpcError as exc:
            self.error = exc

    def ask(self) -> None:
        query = client_pb2.HashQuery(signal_type="pdq", value=pdq_value("shutdown 0/0"))
        self._requests.put(client_pb2.MatchRequest(queries=[query]))

    def close(self) -> None:
        self._requests.put(None)
        self._thread.join(10)


def test_sigterm_drains_in_flight_calls_and_loses_nothing_acknowledged(tmp_path: Path) -> None:
    with LocalConsortium(tmp_path, names=("a",)) as consortium:
        node = consortium["a"]
        node.start()
        contributions = Contributions()
        assert contributions.submit(node.client, "shutdown 0", 5)
        watch = HealthWatch(node)
        eventually(lambda: SERVING in watch.seen, "the health watch to report SERVING")
        matches = MatchStream(node)
        matches.ask()
        eventually(lambda: len(matches.responses) == 1, "the first match answer")

        stop = threading.Event()

        def submit(worker: int) -> None:
            client, n = node.client, 0
            while not stop.is_set():
                n += 1
                contributions.submit(client, f"shutdown {worker} {n}", 10, timeout=10)

        submitters = [threading.Thread(target=submit, args=(i + 1,)) for i in range(3)]
        for thread in submitters:
            thread.start()
        time.sleep(0.5)
        assert node.process is not None
        process = node.process.process
        stopped_at = time.monotonic()
        process.send_signal(signal.SIGTERM)

        eventually(lambda: NOT_SERVING in watch.seen, "health to turn NOT_SERVING", timeout=GRACE_SECONDS)
        for _ in range(3):  # the stream was open before SIGTERM: it is still answered
            matches.ask()
            time.sleep(0.2)
        matches.close()
        stop.set()
        for thread in submitters:
            thread.join(15)
        code = process.wait(GRACE_SECONDS + 10)
        took = time.monotonic() - stopped_at
        assert code == 0 and took < GRACE_SECONDS + 2, (code, took)
        assert "hashnode: stopped" in node.log_text()
        node.kill()  # releases the channels; the process is gone already

        assert matches.error is None and len(matches.responses) == 4
        assert watch.seen[-1] == NOT_SERVING
        # Refused: calls that came after SIGTERM (or raced the listeners' closing); never acknowledged.
        assert len(contributions) > 5 and set(contributions.refused) <= {"UNAVAILABLE", "CANCELLED"}
        assert check_stopped_store(node.store_path, example_membership()).ok
        node.start()
        assert missing_records(node.client, contributions.snapshot()) == []
