"""Load that exceeds what a node can serve: many clients at once, each call with a short deadline.

Used by tests/test_overload.py (the acceptance test of "overload is shed, not queued") and bench/overload.py
(its figures). Clients send serialized requests and read raw replies so that the load generator, in the same
interpreter as the test, costs little CPU of its own; each client has its own channel (its own connection).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc

from node.api.gen.hashnode.v1 import client_pb2, types_pb2
from testkit.checks import LABEL

MATCH = "/hashnode.v1.HashNode/Match"
SUBMIT = "/hashnode.v1.HashNode/Submit"
RETRY_AFTER = "retry-after-ms"
RETRIED = frozenset(
    {grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED}
)


def random_pdq(rng: random.Random) -> str:
    return rng.randbytes(32).hex()


def match_request(rng: random.Random, size: int) -> bytes:
    """A serialized Match request of `size` random PDQ queries."""
    queries = [client_pb2.HashQuery(signal_type="pdq", value=random_pdq(rng)) for _ in range(size)]
    return bytes(client_pb2.MatchRequest(queries=queries).SerializeToString())


def retry_after_ms(exc: grpc.RpcError) -> int | None:
    """The node's retry hint on a refused call (trailing metadata `retry-after-ms`), if it gave one."""
    for key, value in exc.trailing_metadata() or ():
        if key == RETRY_AFTER:
            return int(value)
    return None


@dataclass
class Outcome:
    """One call: its final code, how long it took (s), and the retry hint it carried."""

    code: grpc.StatusCode
    seconds: float
    hint_ms: int | None = None


@dataclass
class Storm:
    """What `match_storm` saw."""

    outcomes: list[Outcome] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)  # the node's resident bytes, sampled during the storm

    def codes(self) -> Counter[str]:
        return Counter(o.code.name for o in self.outcomes)

    def of(self, code: grpc.StatusCode) -> list[Outcome]:
        return [o for o in self.outcomes if o.code == code]

    def shed_fraction(self) -> float:
        return len(self.of(grpc.StatusCode.RESOURCE_EXHAUSTED)) / max(1, len(self.outcomes))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _run_clients(target: str, clients: int, body: Callable[[int, grpc.Channel], None]) -> None:
    threads = []
    for i in range(clients):
        def run(i: int = i) -> None:
            with grpc.insecure_channel(target) as channel:
                body(i, channel)

        threads.append(threading.Thread(target=run, name=f"load-{i}", daemon=True))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _sample(rss: Callable[[], int], into: list[int], stop: threading.Event, every: float = 0.1) -> threading.Thread:
    def run() -> None:
        while not stop.wait(every):
            try:
                into.append(rss())
            except OSError:
                return

    thread = threading.Thread(target=run, name="rss-sampler", daemon=True)
    thread.start()
    return thread


def match_storm(
    target: str,
    *,
    clients: int = 64,
    batch: int = 1000,
    deadline: float = 1.0,
    seconds: float = 8.0,
    rss: Callable[[], int] | None = None,
    seed: int = 12,
) -> Storm:
    """`clients` clients each sending Match calls of `batch` random PDQ queries with `deadline`, back to back
    (no retry, no pause: a refused call is followed by the next at once) for `seconds`."""
    rng = random.Random(seed)
    requests = [match_request(rng, batch) for _ in range(8)]
    storm, lock, stop = Storm(), threading.Lock(), threading.Event()
    sampler = _sample(rss, storm.rss, stop) if rss is not None else None
    end = time.monotonic() + seconds

    def client(i: int, channel: grpc.Channel) -> None:
        call = channel.unary_unary(MATCH)
        n = i
        while time.monotonic() < end:
            n += 1
            start = time.monotonic()
            try:
                call(requests[n % len(requests)], timeout=deadline)
                outcome = Outcome(grpc.StatusCode.OK, time.monotonic() - start)
            except grpc.RpcError as exc:
                outcome = Outcome(exc.code(), time.monotonic() - start, retry_after_ms(exc))
            with lock:
                storm.outcomes.append(outcome)

    _run_clients(target, clients, client)
    stop.set()
    if sampler is not None:
        sampler.join()
    return storm


@dataclass
class Submissions:
    """What `submit_storm` saw: record id → value of every record a client saw acknowledged, the calls that
    gave up, and each attempt's outcome."""

    acknowledged: dict[str, str] = field(default_factory=dict)
    gave_up: list[str] = field(default_factory=list)  # request ids never acknowledged
    attempts: list[Outcome] = field(default_factory=list)
    retried: int = 0  # submissions acknowledged after at least one failed attempt

    def codes(self) -> Counter[str]:
        return Counter(o.code.name for o in self.attempts)


def submit_storm(
    target: str,
    *,
    clients: int = 64,
    batch: int = 100,
    deadline: float = 1.0,
    seconds: float = 8.0,
    give_up_after: float = 30.0,
    request_ids: bool = True,
    seed: int = 13,
) -> Submissions:
    """`clients` clients each submitting batches of `batch` new PDQ records with `deadline`, back to back for
    `seconds`. A call refused with RESOURCE_EXHAUSTED, UNAVAILABLE or DEADLINE_EXCEEDED is sent again (same
    request id and records) after the node's hint (or 50 ms), until acknowledged or `give_up_after`."""
    seen, lock = Submissions(), threading.Lock()
    end = time.monotonic() + seconds

    def client(i: int, channel: grpc.Channel) -> None:
        call = channel.unary_unary(SUBMIT, response_deserializer=client_pb2.SubmitResponse.FromString)
        rng, n = random.Random(seed * 1000 + i), 0
        while time.monotonic() < end:
            n += 1
            values = [random_pdq(rng) for _ in range(batch)]
            records = [types_pb2.HashRecord(signal_type="pdq", value=v, quality=90, labels=[LABEL]) for v in values]
            request = client_pb2.SubmitRequest(records=records)
            request_id = f"storm-{i}-{n}-{uuid.uuid4().hex[:8]}"
            if request_ids:
                request.request_id = request_id
            payload = request.SerializeToString()
            first, retried = time.monotonic(), False
            while True:
                start = time.monotonic()
                try:
                    reply = call(payload, timeout=deadline)
                except grpc.RpcError as exc:
                    hint = retry_after_ms(exc)
                    with lock:
                        seen.attempts.append(Outcome(exc.code(), time.monotonic() - start, hint))
                    if exc.code() not in RETRIED or time.monotonic() - first > give_up_after:
                        with lock:
                            seen.gave_up.append(request_id)
                        break
                    retried = True
                    time.sleep((hint if hint is not None else 50) / 1000 * (1 + rng.random()))
                    continue
                with lock:
                    seen.attempts.append(Outcome(grpc.StatusCode.OK, time.monotonic() - start))
                    seen.acknowledged.update(zip(reply.record_ids, values, strict=True))
                    seen.retried += retried
                break

    _run_clients(target, clients, client)
    return seen
