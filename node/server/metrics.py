"""Prometheus metrics of a node, served over HTTP on `[metrics] listen` (docs/operator-guide.md lists them).

Two kinds of series:

- Counted as calls happen: by `MetricsInterceptor` (every RPC, whatever the service),
  `hashnode_rpc_requests_total` and the `hashnode_rpc_duration_seconds` histogram by method and status code;
  by the client service (`count_matches`), `hashnode_matches_total` by label (the hits Match and MatchStream
  returned).
- Read when Prometheus scrapes, by `LedgerCollector`: records (by type, label, author), entries, PDQ index
  size, LMDB use, the node's health phase, and the replication lag per peer that replication reports through
  `NodeMetrics.register_replication_lag`.

Each node gets its own `CollectorRegistry` (not the process-wide default), so that tests can run several nodes
in one process and each scrape sees one node only.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIServer

import grpc
from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from node.core.errors import ConfigError, DataCorruption
from node.ledger.ledger import Ledger
from node.ledger.replica import Replica
from node.server.admission import Admission
from node.server.handlers import rewrap
from node.server.health import HealthState, Phase

# Seconds: from a cache-hot exact lookup (~1 ms) to a full 10,000-query batch or a long export stream.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)
LagSource = Callable[[], Mapping[str, float]]  # peer name -> seconds this node is behind that peer


class NodeMetrics:
    """The metrics of one node: a registry, the per-call series, and the hooks other components feed."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.rpcs = Counter(
            "hashnode_rpc_requests",
            "RPCs handled, by method and status code",
            ["method", "code"],
            registry=self.registry,
        )
        self.rpc_seconds = Histogram(
            "hashnode_rpc_duration_seconds",
            "Time to handle an RPC (streams: until the last message)",
            ["method", "code"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.matches = Counter(
            "hashnode_matches",
            "Match hits returned to clients, by record label",
            ["label"],
            registry=self.registry,
        )
        self.corruption = Counter(
            "hashnode_storage_corruption",
            "Reads that met damaged bytes in the store (answered DATA_LOSS), by table",
            ["table"],
            registry=self.registry,
        )
        self._lag_sources: list[LagSource] = []
        self._lock = threading.Lock()
        self._admissions: list[Admission] = []
        self.registry.register(AdmissionCollector(self._admissions))

    def watch_admission(self, admission: Admission) -> None:
        """Reports a listener's calls in flight, its limit, and the calls it refused or did not start."""
        with self._lock:
            self._admissions.append(admission)

    def register_replication_lag(self, source: LagSource) -> None:
        """Adds a callback giving seconds behind per peer; it is called at every scrape, so keep it cheap."""
        with self._lock:
            self._lag_sources.append(source)

    def replication_lag(self) -> dict[str, float]:
        with self._lock:
            sources = list(self._lag_sources)
        lag: dict[str, float] = {}
        for source in sources:
            lag.update(source())
        return lag

    def watch(self, ledger: Ledger, health: HealthState | None = None, replica: Replica | None = None) -> None:
        """Reports `ledger`'s contents (and `health`'s phase, `replica`'s refusals) at every scrape."""
        self.registry.register(LedgerCollector(ledger, self, health, replica))

    def count_matches(self, by_label: Mapping[str, int]) -> None:
        """Counts the hits of one answered match call (`MatchResults.label_counts`): the client service calls
        it, as the responses it hands gRPC are already serialized."""
        for label, hits in by_label.items():
            self.matches.labels(label).inc(hits)


class LedgerCollector(Collector):
    """Gauges read from the ledger when Prometheus scrapes (counts are kept by the store: this is cheap)."""

    def __init__(
        self, ledger: Ledger, metrics: NodeMetrics, health: HealthState | None, replica: Replica | None = None
    ) -> None:
        self.ledger, self.metrics, self.health, self.replica = ledger, metrics, health, replica

    def collect(self) -> Iterator[Metric]:
        # Damage met reading the contents is counted by the store's damage listener; the rest is still reported.
        with contextlib.suppress(DataCorruption):
            yield from self._contents()
        yield from self._node()

    def _contents(self) -> Iterator[Metric]:
        stats = self.ledger.stats()
        yield _gauge("hashnode_records", "Active records held", stats["records"])
        yield _gauge("hashnode_entries", "Signed log entries held (all members)", stats["entries"])
        yield _by(
            "hashnode_records_by_type", "Active records by signal type", "signal_type", stats["by_type"]
        )
        yield _by("hashnode_records_by_label", "Active records by label", "label", stats["by_label"])
        yield _by("hashnode_records_by_author", "Active records by member", "author", stats["by_author"])
        what = "PDQ hashes in the in-memory index (images' and video frames')"
        yield _gauge("hashnode_index_hashes", what, len(self.ledger.index))
        yield _gauge("hashnode_index_bytes", "Memory held by the PDQ index", stats["index_bytes"])

    def _node(self) -> Iterator[Metric]:
        yield from self._storage()
        yield from self._match_log()
        lag = self.metrics.replication_lag()
        yield _by("hashnode_replication_lag_seconds", "How far this node is behind each peer", "peer", lag)
        if self.replica is not None:
            rejected = {r.value: n for r, n in self.replica.rejected.items()}
            yield _counter(
                "hashnode_replication_rejected",
                "Entries the receipt rules refused since start, by reason (not_authorized: a role that may not "
                "author the kind)",
                "reason",
                rejected,
            )
            yield _counter(
                "hashnode_replication_undecodable",
                "Entries and evidence received from peers that did not parse, by reason",
                "reason",
                dict(self.replica.undecodable),
            )
        if self.health is not None:
            current = self.health.phase
            phases = {phase.value: int(phase is current) for phase in Phase}
            yield _by("hashnode_health_phase", "1 for the node's current health phase", "phase", phases)

    def _match_log(self) -> Iterator[Metric]:
        counts = self.ledger.match_log_counts()
        yield CounterMetricFamily(
            "hashnode_matchlog_logged", "Match hits written to the match log since the node started", counts["logged"]
        )
        yield CounterMetricFamily(
            "hashnode_matchlog_dropped",
            "Match hits dropped unwritten since the node started (the store refused writes for too long)",
            counts["dropped"],
        )
        yield _gauge("hashnode_matchlog_pending", "Match hits answered and not yet written", counts["pending"])

    def _storage(self) -> Iterator[Metric]:
        store = self.ledger.store
        used, mapped = store.used_bytes(), store.map_bytes()
        yield _gauge("hashnode_lmdb_used_bytes", "LMDB pages in use (the data, without free pages)", used)
        yield _gauge("hashnode_lmdb_map_bytes", "LMDB map size: the most the store can grow to", mapped)
        yield _gauge("hashnode_lmdb_disk_bytes", "LMDB files on disk", store.disk_bytes())
        yield _gauge(
            "hashnode_lmdb_map_used_ratio", "Share of the LMDB map in use (alert before 1)", used / mapped
        )


class AdmissionCollector(Collector):
    """Each listener's admission (node/server/admission.py), read at every scrape."""

    def __init__(self, admissions: list[Admission]) -> None:
        self.admissions = admissions

    def collect(self) -> Iterator[Metric]:
        admissions = list(self.admissions)
        in_flight = GaugeMetricFamily(
            "hashnode_rpc_in_flight", "Calls a listener has taken on: running or waiting for a worker",
            labels=["listener"],
        )
        limit = GaugeMetricFamily(
            "hashnode_rpc_admission_limit", "Calls a listener takes on at once ([node|peer|admin] max_calls)",
            labels=["listener"],
        )
        shed = CounterMetricFamily(
            "hashnode_rpc_shed",
            "Calls refused at once (RESOURCE_EXHAUSTED with a retry hint): the listener was at its limit",
            labels=["listener", "method"],
        )
        expired = CounterMetricFamily(
            "hashnode_rpc_expired",
            "Calls not started, or submissions not committed, because their deadline had passed",
            labels=["listener", "method"],
        )
        for admission in admissions:
            in_flight.add_metric([admission.listener], float(admission.in_flight))
            limit.add_metric([admission.listener], float(admission.limit))
            refused, not_started = admission.counts()
            for method, count in sorted(refused.items()):
                shed.add_metric([admission.listener, method], float(count))
            for method, count in sorted(not_started.items()):
                expired.add_metric([admission.listener, method], float(count))
        yield from (in_flight, limit, shed, expired)


def _gauge(name: str, documentation: str, value: object) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float(value))  # type: ignore[arg-type]


def _counter(name: str, documentation: str, label: str, values: Mapping[str, int]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], float(value))
    return family


def _by(name: str, documentation: str, label: str, values: object) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key, value in dict(values).items():  # type: ignore[call-overload]
        family.add_metric([str(key)], float(value))
    return family


# --- the interceptor ----------------------------------------------------------------------------------------


def _code_name(context: grpc.ServicerContext, default: grpc.StatusCode) -> str:
    """The code the call ended with: the one the handler set; else, when the call ended without the node's
    answer (the caller cancelled or disconnected, the server cancelled it at the end of its shutdown grace),
    CANCELLED, or DEADLINE_EXCEEDED if the caller's deadline had passed; else `default`."""
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return str(code.name)
    if not context.is_active():
        remaining = context.time_remaining()
        expired = remaining is not None and remaining <= 0
        return str((grpc.StatusCode.DEADLINE_EXCEEDED if expired else grpc.StatusCode.CANCELLED).name)
    return str(default.name)


class _Call:
    """Times one RPC and records it once, with the code it ended with."""

    def __init__(self, metrics: NodeMetrics, method: str) -> None:
        self.metrics, self.method, self.started = metrics, method, time.perf_counter()

    def done(self, code: str) -> None:
        self.metrics.rpcs.labels(self.method, code).inc()
        self.metrics.rpc_seconds.labels(self.method, code).observe(time.perf_counter() - self.started)


Behavior = Callable[[Any, grpc.ServicerContext], Any]


def _unary(metrics: NodeMetrics, method: str, behavior: Behavior) -> Behavior:
    def handler(request: Any, context: grpc.ServicerContext) -> Any:
        call = _Call(metrics, method)
        try:
            response = behavior(request, context)
        except BaseException:
            call.done(_code_name(context, grpc.StatusCode.UNKNOWN))
            raise
        call.done(_code_name(context, grpc.StatusCode.OK))
        return response

    return handler


def _streaming(metrics: NodeMetrics, method: str, behavior: Behavior) -> Behavior:
    def handler(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        call = _Call(metrics, method)
        try:
            yield from behavior(request, context)
        except GeneratorExit:  # the client went away mid-stream
            call.done(grpc.StatusCode.CANCELLED.name)
            raise
        except BaseException:
            call.done(_code_name(context, grpc.StatusCode.UNKNOWN))
            raise
        call.done(_code_name(context, grpc.StatusCode.OK))

    return handler


class MetricsInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]
    """Counts and times every RPC by method and final status code. Install it outermost, so that it sees the
    code the error interceptor chose."""

    def __init__(self, metrics: NodeMetrics) -> None:
        self.metrics = metrics

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        wrap = _streaming if handler.response_streaming else _unary
        return rewrap(handler, lambda behaviour: wrap(self.metrics, handler_call_details.method, behaviour))


# --- the HTTP endpoint --------------------------------------------------------------------------------------


@dataclass
class MetricsServer:
    """The /metrics HTTP endpoint of a node (a daemon thread)."""

    httpd: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.httpd.server_port)

    @classmethod
    def start(cls, listen: str, registry: CollectorRegistry) -> MetricsServer:
        """Serves `registry` on `host:port` (port 0: any free port). Raises ConfigError if it cannot bind."""
        host, _, port = listen.rpartition(":")
        try:
            httpd, thread = start_http_server(int(port), addr=host.strip("[]"), registry=registry)
        except OSError as exc:
            raise ConfigError(f"metrics.listen: cannot bind {listen}: {exc.strerror or exc}") from None
        return cls(httpd, thread)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def families(registry: CollectorRegistry) -> Iterable[Metric]:
    """Every metric family `registry` exposes now (what a scrape would read)."""
    return list(registry.collect())
