"""Observability: the health states (node/server/health.py), Prometheus metrics over HTTP on loopback
(node/server/metrics.py), JSON logs (node/runtime/log_format.py) and their config sections."""

from __future__ import annotations

import io
import json
import logging
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from node.api.gen.hashnode.v1 import client_pb2, client_pb2_grpc, types_pb2
from node.core.errors import ConfigError
from node.runtime.config import load_config
from node.runtime.log_format import JsonFormatter, configure_logging
from node.runtime.runtime import open_node
from node.server.health import STARTING_MESSAGE, HealthState, Phase
from node.server.metrics import MetricsServer, NodeMetrics
from node.server.server import Listeners, create_servers
from tests.conftest import node_config, write_config

LABEL = "tvec.propaganda"
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@dataclass
class ObservedNode:
    listeners: Listeners
    channel: grpc.Channel
    health: HealthState
    metrics: NodeMetrics

    def status(self, service: str = "") -> int:
        stub = health_pb2_grpc.HealthStub(self.channel)
        return int(stub.Check(health_pb2.HealthCheckRequest(service=service)).status)

    @property
    def client(self) -> client_pb2_grpc.HashNodeStub:
        return client_pb2_grpc.HashNodeStub(self.channel)


@pytest.fixture
def observed(tmp_path: Path) -> Iterator[ObservedNode]:
    """A node (client listener) that starts in the `starting` phase, with metrics."""
    runtime = open_node(node_config(tmp_path / "data"))
    state, metrics = HealthState(), NodeMetrics()
    listeners = create_servers(runtime, health_state=state, metrics=metrics)
    listeners.start()
    channel = grpc.insecure_channel(listeners.client.address)
    yield ObservedNode(listeners, channel, state, metrics)
    channel.close()
    listeners.stop(None)
    runtime.close()


def match_request() -> client_pb2.MatchRequest:
    return client_pb2.MatchRequest(queries=[client_pb2.HashQuery(signal_type="pdq", value=PDQ)])


# --- health -------------------------------------------------------------------------------------------------


def test_a_starting_node_is_not_serving_and_refuses_client_calls(observed: ObservedNode) -> None:
    assert observed.health.phase is Phase.STARTING
    assert observed.status() == NOT_SERVING
    assert observed.status("hashnode.v1.HashNode") == NOT_SERVING
    with pytest.raises(grpc.RpcError) as caught:
        observed.client.Match(match_request())
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert caught.value.details() == STARTING_MESSAGE


def test_health_follows_the_documented_phases(observed: ObservedNode) -> None:
    observed.health.started()
    assert (observed.health.phase, observed.status(), observed.status("hashnode.v1.Admin")) == (
        Phase.SERVING,
        SERVING,
        SERVING,
    )
    observed.health.set_catching_up("replication", True)
    observed.health.set_catching_up("roster", True)
    assert (observed.health.phase, observed.status()) == (Phase.CATCHING_UP, NOT_SERVING)
    observed.client.Match(match_request())  # a node catching up still answers
    observed.health.set_catching_up("replication", False)
    assert observed.status() == NOT_SERVING  # still behind by another source's account
    observed.health.set_catching_up("roster", False)
    assert observed.status() == SERVING
    observed.health.shutting_down()
    observed.health.started()  # nothing brings a node back from shutting down
    assert (observed.health.phase, observed.status()) == (Phase.SHUTTING_DOWN, NOT_SERVING)


# --- metrics ------------------------------------------------------------------------------------------------


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode("utf-8"))


def series(text: str) -> dict[str, float]:
    """`name{labels}` -> value of every sample line of an exposition."""
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def test_metrics_endpoint_serves_the_documented_series(observed: ObservedNode) -> None:
    observed.health.started()
    record = types_pb2.HashRecord(signal_type="pdq", value=PDQ, quality=90, labels=[LABEL])
    observed.client.Submit(client_pb2.SubmitRequest(records=[record]))
    observed.client.Match(match_request())
    with pytest.raises(grpc.RpcError):
        observed.client.Match(client_pb2.MatchRequest())
    observed.metrics.register_replication_lag(lambda: {"platform-b": 2.5})
    endpoint = MetricsServer.start("127.0.0.1:0", observed.metrics.registry)
    try:
        found = series(scrape(endpoint.port))
    finally:
        endpoint.stop()
    submit, match = "/hashnode.v1.HashNode/Submit", "/hashnode.v1.HashNode/Match"
    expected = {
        f'hashnode_rpc_requests_total{{code="OK",method="{submit}"}}': 1.0,
        f'hashnode_rpc_requests_total{{code="OK",method="{match}"}}': 1.0,
        f'hashnode_rpc_requests_total{{code="INVALID_ARGUMENT",method="{match}"}}': 1.0,
        f'hashnode_rpc_duration_seconds_count{{code="OK",method="{submit}"}}': 1.0,
        f'hashnode_matches_total{{label="{LABEL}"}}': 1.0,
        "hashnode_records": 1.0,
        'hashnode_records_by_type{signal_type="pdq"}': 1.0,
        f'hashnode_records_by_label{{label="{LABEL}"}}': 1.0,
        'hashnode_records_by_author{author="platform-a"}': 1.0,
        "hashnode_entries": 1.0,
        "hashnode_index_hashes": 1.0,
        'hashnode_replication_lag_seconds{peer="platform-b"}': 2.5,
        'hashnode_health_phase{phase="serving"}': 1.0,
        'hashnode_health_phase{phase="starting"}': 0.0,
    }
    assert {name: found.get(name) for name in expected} == expected
    for name in ("hashnode_index_bytes", "hashnode_lmdb_used_bytes", "hashnode_lmdb_map_bytes"):
        assert found[name] > 0, name
    assert 0 < found["hashnode_lmdb_map_used_ratio"] < 1
    assert f'hashnode_rpc_duration_seconds_bucket{{code="OK",le="0.001",method="{submit}"}}' in found


def test_metrics_listen_in_use_is_a_config_error(observed: ObservedNode) -> None:
    first = MetricsServer.start("127.0.0.1:0", observed.metrics.registry)
    try:
        with pytest.raises(ConfigError, match=r"metrics\.listen: cannot bind"):
            MetricsServer.start(f"127.0.0.1:{first.port}", observed.metrics.registry)
    finally:
        first.stop()


# --- logs and config ----------------------------------------------------------------------------------------


def test_json_logs_are_one_object_per_line_with_extra_fields() -> None:
    stream = io.StringIO()
    configure_logging("json", "INFO", stream)
    try:
        logging.getLogger("hashnode.test").info("matched %d hashes", 3, extra={"peer": "platform-b"})
        logging.getLogger("hashnode.test").debug("not shown at INFO")
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("hashnode.test").exception("failed")
    finally:
        logging.getLogger().handlers.clear()
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert {k: first[k] for k in ("level", "logger", "message", "peer")} == {
        "level": "INFO",
        "logger": "hashnode.test",
        "message": "matched 3 hashes",
        "peer": "platform-b",
    }
    assert first["ts"].endswith("Z") and len(first["ts"]) == len("2026-01-31T12:00:00.000Z")
    assert second["level"] == "ERROR" and "ValueError: boom" in second["exception"]


def test_json_formatter_turns_unusual_extra_values_into_text() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None)
    record.path = Path("/a")
    assert json.loads(JsonFormatter().format(record))["path"] == "/a"


@pytest.mark.parametrize(
    ("extra", "expected", "error"),
    [
        ("", ("", "text", "INFO"), None),
        (
            '[metrics]\nlisten = "127.0.0.1:9464"\n[logging]\nformat = "json"\nlevel = "DEBUG"\n',
            ("127.0.0.1:9464", "json", "DEBUG"),
            None,
        ),
        ('[metrics]\nlisten = ""\n', ("", "text", "INFO"), None),
        ('[metrics]\nlisten = "9464"\n', None, "metrics.listen: got '9464'"),
        ('[logging]\nformat = "xml"\n', None, "logging.format: got 'xml', want 'text' or 'json'"),
        ('[logging]\nlevel = "LOUD"\n', None, "logging.level: got 'LOUD'"),
        ("[metrics]\nport = 9464\n", None, "metrics.port: got 'port'"),
    ],
)
def test_metrics_and_logging_config(
    tmp_path: Path, extra: str, expected: tuple[str, str, str] | None, error: str | None
) -> None:
    path = write_config(tmp_path, extra=extra)
    if error is not None:
        with pytest.raises(ConfigError, match=error.replace("[", r"\[")):
            load_config(path)
        return
    config = load_config(path)
    assert (config.metrics_listen, config.log_format, config.log_level) == expected


# --- a node process with JSON logs: every line on stderr is one JSON object ---------------------------------


def json_tls_config(directory: Path, listen: str = "127.0.0.1:0") -> Path:
    keys = Path(__file__).resolve().parents[1] / "keys/example"
    path = directory / "node.toml"
    path.write_text(
        f"""[node]
member_id = "platform-a"
roster = "{keys / "roster.json"}"
signing_key = "{keys / "platform-a.key"}"
data_dir = "data"
listen = "{listen}"
[tls]
certificate = "{keys / "platform-a.crt"}"
private_key = "{keys / "platform-a.tls.key"}"
[clients]
token_file = "{keys / "platform-a.client-token"}"
[admin]
listen = "127.0.0.1:0"
token_file = "{keys / "platform-a.admin-token"}"
[peer]
listen = "127.0.0.1:0"
[logging]
format = "json"
""",
        encoding="utf-8",
    )
    return path


def test_with_json_logs_grpcs_own_lines_and_the_shutdown_line_are_json(tmp_path: Path) -> None:
    from node.cli.serve_cmd import NodeProcess

    node = NodeProcess.start(json_tls_config(tmp_path), tmp_path / "node.log")
    try:
        keys = Path(__file__).resolve().parents[1] / "keys/example"
        credentials = grpc.ssl_channel_credentials((keys / "platform-a.crt").read_bytes())
        options = [("grpc.ssl_target_name_override", "not-a-name-it-carries")]
        # The node's gRPC core logs the failed handshake itself, on its stderr.
        with grpc.secure_channel(node.address, credentials, options) as channel, pytest.raises(grpc.RpcError):
            client_pb2_grpc.HashNodeStub(channel).Match(client_pb2.MatchRequest(), timeout=5)
    finally:
        assert node.stop() == 0
    lines = [json.loads(line) for line in node.log.read_text(encoding="utf-8").splitlines()]
    assert lines, "the node logged nothing"
    assert any(line["logger"] == "grpc" and "source" in line for line in lines), lines
    assert [line["logger"] for line in lines if line["message"] == "hashnode: stopped"] == ["node.server.server"]


def test_with_json_logs_a_node_that_cannot_start_says_why_in_json(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        config = json_tls_config(tmp_path, listen=address)
        done = subprocess.run(
            [sys.executable, "-m", "node.cli.main", "serve", "--config", str(config)],
            capture_output=True, text=True, timeout=60, check=False,
        )
    assert done.returncode == 2
    lines = [json.loads(text) for text in done.stderr.splitlines()]  # gRPC's own bind error among them
    (said,) = [line for line in lines if line["logger"] == "node.cli.serve"]
    assert said["level"] == "ERROR" and said["message"].startswith("hashnode: error: node.listen"), lines
