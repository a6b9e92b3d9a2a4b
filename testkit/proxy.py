"""A TCP proxy on 127.0.0.1 that a test controls: forward, cut, black-hole, delay, or stall mid-stream.

One proxy stands for one directed link (node X dials node Y's peer listener through it), so that a test can
partition a consortium of real processes without touching their sockets:

* `cut()`: every open connection is reset (RST) and new ones are reset at once, as when a host goes away;
* `blackhole()`: nothing passes in either direction and connections stay open, as when packets are dropped
  silently: bytes wait in the socket buffers (as TCP would keep retransmitting them) and the callers find out
  by their own deadlines and heartbeats;
* `restore()`: forward again: what waited flows on, and connections reset by a cut stay closed (the nodes
  dial again);
* `delay(seconds)`: every chunk is held that long before it is forwarded, in order;
* `stall_after(n)`: on each new connection, forward the first `n` bytes the target sends, then nothing more
  from it (a peer that stops mid-stream, its connection open).

Threads, not asyncio: each connection has two pump threads polling every 50 ms, so that a mode change takes
effect on open connections within that time. Counts and byte totals are kept for the test to read.
"""

from __future__ import annotations

import contextlib
import enum
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass

POLL_SECONDS = 0.05
CHUNK = 64 << 10


class Mode(enum.Enum):
    FORWARD = "forward"
    CUT = "cut"
    BLACKHOLE = "blackhole"


@dataclass
class ProxyStats:
    connections: int = 0  # accepted
    refused: int = 0  # accepted while cut, and reset at once
    bytes_to_target: int = 0
    bytes_from_target: int = 0


class _Connection:
    def __init__(self, client: socket.socket, upstream: socket.socket, stall_after: int | None) -> None:
        self.client, self.upstream = client, upstream
        self.from_target_budget = stall_after  # None: unlimited
        self.closed = threading.Event()

    def close(self, reset: bool) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                if reset:  # linger 0: close sends RST instead of FIN
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()


class TcpProxy:
    """Listens on 127.0.0.1 (any free port) and forwards to `target` ("host:port") as the test says."""

    def __init__(self, target: str, name: str = "") -> None:
        host, _, port = target.rpartition(":")
        self.target = (host, int(port))
        self.name = name or target
        self.stats = ProxyStats()
        self._mode = Mode.FORWARD
        self._delay = 0.0
        self._stall_after: int | None = None
        self._lock = threading.Lock()
        self._connections: set[_Connection] = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(POLL_SECONDS)
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, name=f"proxy-{self.name}", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def mode(self) -> Mode:
        return self._mode

    # -- control -------------------------------------------------------------------------------------------

    def cut(self) -> None:
        """Resets every open connection; new ones are reset as soon as they are accepted."""
        with self._lock:
            self._mode = Mode.CUT
            connections = list(self._connections)
        for connection in connections:
            connection.close(reset=True)

    def blackhole(self) -> None:
        """Forwards nothing from now on, in either direction; connections stay open."""
        self._mode = Mode.BLACKHOLE

    def restore(self) -> None:
        self._mode = Mode.FORWARD
        self._delay = 0.0

    def delay(self, seconds: float) -> None:
        """Holds every chunk `seconds` before forwarding it (0: no delay)."""
        self._delay = max(0.0, seconds)

    def stall_after(self, nbytes: int | None) -> None:
        """New connections forward only the first `nbytes` from the target (None: no limit)."""
        self._stall_after = nbytes

    def close(self) -> None:
        self._closed.set()
        self._thread.join(2.0)
        self._listener.close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            connection.close(reset=False)

    # -- forwarding ----------------------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.stats.connections += 1
            if self._mode is Mode.CUT:
                self.stats.refused += 1
                _Connection(client, socket.socket(), None).close(reset=True)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=2.0)
            except OSError:  # the target is down: the caller sees its connection reset
                _Connection(client, socket.socket(), None).close(reset=True)
                continue
            connection = _Connection(client, upstream, self._stall_after)
            with self._lock:
                self._connections.add(connection)
            for source, sink, from_target in ((client, upstream, False), (upstream, client, True)):
                threading.Thread(
                    target=self._pump, args=(connection, source, sink, from_target), daemon=True
                ).start()

    def _pump(
        self, connection: _Connection, source: socket.socket, sink: socket.socket, from_target: bool
    ) -> None:
        try:
            while not (connection.closed.is_set() or self._closed.is_set()):
                if not self._passes(connection, from_target):
                    time.sleep(POLL_SECONDS)  # leave the bytes in the socket buffers
                    continue
                readable, _, _ = select.select([source], [], [], POLL_SECONDS)
                if not readable or not self._passes(connection, from_target):
                    continue  # nothing yet; or black-holed while waiting: the bytes stay where they are
                data = source.recv(self._budget(connection, from_target))
                if not data:
                    break
                if from_target and connection.from_target_budget is not None:
                    connection.from_target_budget -= len(data)
                if self._delay:
                    time.sleep(self._delay)
                sink.sendall(data)
                if from_target:
                    self.stats.bytes_from_target += len(data)
                else:
                    self.stats.bytes_to_target += len(data)
        except (OSError, ValueError):  # reset, or closed by a cut on another thread
            pass
        connection.close(reset=self._mode is Mode.CUT)
        with self._lock:
            self._connections.discard(connection)

    def _passes(self, connection: _Connection, from_target: bool) -> bool:
        """Whether bytes may flow this way now: not while black-holed, nor from a target past its budget."""
        if self._mode is not Mode.FORWARD:
            return False
        return not (from_target and connection.from_target_budget == 0)

    @staticmethod
    def _budget(connection: _Connection, from_target: bool) -> int:
        if from_target and connection.from_target_budget is not None:
            return min(CHUNK, connection.from_target_budget)
        return CHUNK
