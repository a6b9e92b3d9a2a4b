"""Admission: a listener takes on at most a bounded number of calls; the rest are refused at once, and work whose
deadline has passed is not started (docs/operator-guide.md, "Overload").

gRPC Python runs each call's handler on the server's thread pool, whose queue has no bound: past what the
workers can serve, calls wait in the queue until their deadline passes, still holding their requests, and are
then answered by a worker that does the work nobody waits for any more. Instead:

- `AdmissionPool` is the listener's thread pool; it counts the calls submitted to it and not finished (running
  or queued: `in_flight`).
- `AdmissionInterceptor`, outermost, decides in gRPC's own polling thread, before the call is queued: below the
  limit the call goes on as before; at the limit it is answered RESOURCE_EXHAUSTED with a retry hint (trailing
  metadata `retry-after-ms`, and `grpc-retry-pushback-ms` for gRPC's own retries) by a small separate pool
  (gRPC's `experimental_thread_pool` of the behaviour), without reading the request, so that a refusal never
  waits for a busy worker. Health checks take that lane too: a busy node still answers them.
- When a listener that refused calls has none left in flight, the freed heap is returned to the system
  (`release_free_memory`): the node's memory returns to its size before the load.
- Beyond `backstop` calls of any kind, refused or not, gRPC's core refuses new ones itself
  (`maximum_concurrent_rpcs`: RESOURCE_EXHAUSTED, "Concurrent RPC limit exceeded!", no hint) without reading
  them, which bounds what a flood can hold.
- `DeadlineInterceptor` aborts a call whose deadline has passed when its turn comes (DEADLINE_EXCEEDED,
  nothing done); `deadline_check` gives servicers the same check between steps and before a commit.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent import futures
from typing import Any

import grpc

from node.core.errors import DeadlineExceeded
from node.server.handlers import rewrap

RETRY_AFTER_KEY = "retry-after-ms"
# The same hint under the name gRPC's own retries read (gRFC A6 server pushback): a client whose service config
# retries RESOURCE_EXHAUSTED waits that long before its next attempt, with no code of its own.
PUSHBACK_KEY = "grpc-retry-pushback-ms"
WORKERS = 16  # threads per listener
# Each listener's limit when its config sets none. The client listener's calls are mostly CPU (matching, in
# Python under one interpreter lock): beyond a few at once they only share the CPU, every call (refusals too)
# waits longer for its turn, and calls miss their deadlines instead of being refused; half its threads. The
# peer listener's streams (replication subscriptions, at most 12) mostly wait, and the admin listener's calls
# are few: all their threads.
DEFAULT_LIMITS = {"client": WORKERS // 2, "peer": WORKERS, "admin": WORKERS}
BACKSTOP_EXTRA = 128  # calls being refused at once, past the limit, before gRPC's core refuses without a hint
FAST_LANE_WORKERS = 2
MIN_RETRY_AFTER_MS, MAX_RETRY_AFTER_MS = 10, 5000
# Calls answered in the fast lane when admitted: cheap, never blocking (a Watch stream would hold a thread).
FAST_METHODS = frozenset({"/grpc.health.v1.Health/Check"})
# A Submit is not committed with less than this left before its deadline: the commit and the reply would not
# reach the caller in time, and it would retry a submission it believes failed (idempotent with a request id,
# but without one a duplicate).
COMMIT_MARGIN_SECONDS = 0.05
_EWMA_WEIGHT = 0.1
_MAX_SAMPLE_SECONDS = 5.0  # a long stream ending does not make every hint long


class AdmissionPool(futures.ThreadPoolExecutor):
    """A listener's worker pool that counts its calls in flight (submitted, not finished) and how long a call
    runs (a moving average), from which the retry hint is derived."""

    def __init__(self, workers: int, listener: str, on_idle: Callable[[], None] | None = None) -> None:
        super().__init__(max_workers=workers, thread_name_prefix=f"hashnode-{listener}")
        self.workers = workers
        self._count_lock = threading.Lock()
        self.in_flight = 0
        self._seconds_per_call = 0.0
        self._on_idle = on_idle  # called (on the worker that finished last) when no call is left in flight

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> futures.Future[Any]:
        with self._count_lock:
            self.in_flight += 1
        try:
            return super().submit(self._counted, fn, *args, **kwargs)
        except BaseException:  # shutting down: the call was not taken
            self._finished(0.0)
            raise

    def _counted(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        start = time.monotonic()
        try:
            return fn(*args, **kwargs)
        finally:
            self._finished(min(time.monotonic() - start, _MAX_SAMPLE_SECONDS))

    def _finished(self, seconds: float) -> None:
        with self._count_lock:
            self.in_flight -= 1
            idle = self.in_flight == 0
            if seconds:
                self._seconds_per_call += _EWMA_WEIGHT * (seconds - self._seconds_per_call)
        if idle and self._on_idle is not None:
            self._on_idle()

    def retry_after_ms(self) -> int:
        """About how long until the calls in flight now are done: when a retry is likely to be admitted."""
        with self._count_lock:
            estimate = self._seconds_per_call * self.in_flight / self.workers * 1000
        return int(min(MAX_RETRY_AFTER_MS, max(MIN_RETRY_AFTER_MS, estimate)))


class Admission:
    """One listener's admission: its pool, its limit, the fast lane, and what it refused, by method."""

    def __init__(self, listener: str, *, limit: int | None = None, workers: int = WORKERS) -> None:
        self.listener = listener
        self.limit = limit or DEFAULT_LIMITS.get(listener, workers)
        self.pool = AdmissionPool(workers, listener, on_idle=self._idle)
        self._overloaded = False  # calls were refused since the listener was last idle
        self.fast_lane = futures.ThreadPoolExecutor(FAST_LANE_WORKERS, thread_name_prefix=f"hashnode-{listener}-fast")
        self._lock = threading.Lock()
        self.shed: Counter[str] = Counter()  # method -> calls refused at the limit
        self.expired: Counter[str] = Counter()  # method -> calls not started or not committed: deadline passed

    @property
    def backstop(self) -> int:
        return self.limit + BACKSTOP_EXTRA

    @property
    def in_flight(self) -> int:
        return self.pool.in_flight

    def interceptors(self) -> tuple[AdmissionInterceptor, DeadlineInterceptor]:
        """The admission interceptor (first of the listener's) and the deadline one (inside the metrics)."""
        return AdmissionInterceptor(self), DeadlineInterceptor(self)

    def count_expired(self, method: str) -> None:
        with self._lock:
            self.expired[method] += 1

    def counts(self) -> tuple[dict[str, int], dict[str, int]]:
        """Calls refused at the limit and calls expired, by method, since the node started."""
        with self._lock:
            return dict(self.shed), dict(self.expired)

    def _count_shed(self, method: str) -> None:
        with self._lock:
            self.shed[method] += 1
            self._overloaded = True

    def _idle(self) -> None:
        """The last call in flight is done. After an overload, the memory the calls held is given back to the
        system: glibc keeps freed heap in its arenas (one per thread that allocated), and without a trim the
        process stays at its peak size long after the load is gone."""
        with self._lock:
            overloaded, self._overloaded = self._overloaded, False
        if overloaded:
            release_free_memory()

    def close(self) -> None:
        self.fast_lane.shutdown(wait=False)
        self.pool.shutdown(wait=False)

    def refusal(self, method: str) -> Callable[[Any, grpc.ServicerContext], None]:
        """The behaviour of a call refused at the limit: RESOURCE_EXHAUSTED with the retry hint."""
        self._count_shed(method)
        hint = self.pool.retry_after_ms()
        message = (
            f"node busy: the {self.listener} listener is serving its limit of {self.limit} calls; "
            f"retry after {hint} ms"
        )

        def refuse(request: Any, context: grpc.ServicerContext) -> None:
            context.set_trailing_metadata(((RETRY_AFTER_KEY, str(hint)), (PUSHBACK_KEY, str(hint))))
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, message)

        return refuse


_LIBC: Any = None


def release_free_memory() -> None:
    """glibc's `malloc_trim(0)`: returns the free memory of every malloc arena to the system (a no-op elsewhere)."""
    global _LIBC
    if _LIBC is None:
        name = ctypes.util.find_library("c")
        try:
            _LIBC = ctypes.CDLL(name) if name else False
        except OSError:
            _LIBC = False
    trim = getattr(_LIBC, "malloc_trim", None) if _LIBC else None
    if trim is not None:
        trim(0)


def _in_lane(behaviour: Callable[..., Any], lane: futures.ThreadPoolExecutor, streaming: bool) -> Any:
    """`behaviour` run on `lane` instead of the server's pool (gRPC reads the attribute when it queues the call)."""
    if streaming:
        def run_stream(request: Any, context: grpc.ServicerContext) -> Any:
            yield from behaviour(request, context)

        run_stream.experimental_thread_pool = lane  # type: ignore[attr-defined]
        return run_stream

    def run(request: Any, context: grpc.ServicerContext) -> Any:
        return behaviour(request, context)

    run.experimental_thread_pool = lane  # type: ignore[attr-defined]
    return run


class AdmissionInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]
    """Refuses a call at once when the listener is at its limit. Must be the listener's first interceptor: its
    decision runs in gRPC's polling thread before the call is queued, and the lane it picks is read from the
    behaviour it returns, which a later interceptor would wrap again."""

    def __init__(self, admission: Admission) -> None:
        self._admission = admission

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        admission, method = self._admission, handler_call_details.method
        if method in FAST_METHODS:
            return rewrap(handler, lambda b: _in_lane(b, admission.fast_lane, handler.response_streaming))
        if admission.in_flight < admission.limit:
            return handler
        # Answered as a call with a request stream, never read: no worker waits for the request to arrive.
        refuse = admission.refusal(method)
        return grpc.stream_unary_rpc_method_handler(_in_lane(refuse, admission.fast_lane, streaming=False))


def deadline_check(context: grpc.ServicerContext, margin: float = 0.0) -> Callable[[], None]:
    """A check that raises DeadlineExceeded once the call has less than `margin` seconds left (never, when the
    caller set no deadline)."""

    def check() -> None:
        remaining = context.time_remaining()
        if remaining is not None and remaining <= margin:
            raise DeadlineExceeded(
                "the call's deadline passed before the node could do the work; nothing was done"
                if margin == 0
                else f"less than {margin * 1000:.0f} ms left before the call's deadline; nothing was committed"
            )

    return check


class DeadlineInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]
    """Aborts a call whose deadline passed while it waited for a worker: DEADLINE_EXCEEDED, nothing done."""

    def __init__(self, admission: Admission) -> None:
        self._admission = admission

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method, admission = handler_call_details.method, self._admission

        def wrap(behaviour: Callable[..., Any]) -> Callable[..., Any]:
            def run(request: Any, context: grpc.ServicerContext) -> Any:
                remaining = context.time_remaining()
                if remaining is not None and remaining <= 0:
                    admission.count_expired(method)
                    context.abort(
                        grpc.StatusCode.DEADLINE_EXCEEDED,
                        "the call's deadline passed while it waited; the node did not start it",
                    )
                return behaviour(request, context)

            return run

        return rewrap(handler, wrap)
