"""Partitions between real node processes (one TCP proxy per directed link, testkit/proxy.py):
contributions on every side of a split, an isolated node, a flapping link, silently dropped traffic and a
slow link; after each, the consortium converges with every acknowledged record everywhere and no fork
evidence (testkit/partition.py; bench/partition.py runs many random rounds)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest

from testkit.consortium import LocalConsortium
from testkit.partition import SCENARIOS, PartitionRunner
from testkit.proxy import TcpProxy

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PartitionRunner]:
    directory = tmp_path_factory.mktemp("partition")
    # Short peer deadlines, so that calls stuck on a black-holed link fail within the test's time.
    with LocalConsortium(directory, proxied=True, call_timeout_s=2.0) as consortium:
        consortium.start()
        yield PartitionRunner(consortium, seed=3, seconds=1.5)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_consortium_converges_after(runner: PartitionRunner, scenario: str) -> None:
    result = runner.run(scenario)
    assert result.problems == []
    assert result.acknowledged > 0
    assert result.held and result.converged
    assert result.missing == 0 and result.evidence == 0


def echo_server() -> tuple[socket.socket, threading.Thread]:
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn, contextlib.suppress(OSError):  # a cut resets this side too
                while data := conn.recv(1024):
                    conn.sendall(data)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server, thread


def test_the_proxy_forwards_cuts_and_restores() -> None:
    server, _ = echo_server()
    proxy = TcpProxy(f"127.0.0.1:{server.getsockname()[1]}")
    try:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=2) as conn:
            conn.sendall(b"ping")
            assert conn.recv(16) == b"ping"
            proxy.cut()
            with pytest.raises(ConnectionResetError):
                conn.recv(16)
            assert proxy.stats.connections == 1
        with (  # accepted, and reset at once (the reset may even beat the end of the handshake)
            pytest.raises(ConnectionResetError),
            socket.create_connection(("127.0.0.1", proxy.port), timeout=2) as conn,
        ):
            conn.recv(16)
        proxy.restore()
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=2) as conn:
            conn.sendall(b"again")
            assert conn.recv(16) == b"again"
    finally:
        proxy.close()
        server.close()


def test_a_blackholed_proxy_holds_bytes_until_restored() -> None:
    server, _ = echo_server()
    proxy = TcpProxy(f"127.0.0.1:{server.getsockname()[1]}")
    try:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=0.5) as conn:
            proxy.blackhole()
            conn.sendall(b"held")
            with pytest.raises(TimeoutError):
                conn.recv(16)
            proxy.restore()
            conn.settimeout(2)
            assert conn.recv(16) == b"held"
    finally:
        proxy.close()
        server.close()
