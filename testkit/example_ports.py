"""The example consortium run as it is: its nodes on their fixed loopback ports, taken by one test at a time.

Tests that run keys/example/platform-*.toml as they are bind the ports those files name (client, admin and peer
listener of each platform). Several test runs share this machine, so such a test holds a lock file for as long
as its nodes run, and waits for the ports to be free (a node of the previous test may still be releasing them).
`example_consortium` starts the three nodes that way, their data in a directory of the test's
(`XDG_STATE_HOME`), and waits until each can author (it has compared its log with a peer it found through the
roster).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import re
import socket
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from node.api.gen.hashnode.v1 import admin_pb2, admin_pb2_grpc
from node.cli.command_base import channel
from node.cli.serve_cmd import PACKAGE_ROOT, NodeProcess
from testkit.consortium import EXAMPLE_KEYS, eventually

LOCK = Path(tempfile.gettempdir()) / "hashnode-example-ports.lock"


def example_ports() -> list[int]:
    """Every port the example node configs listen on."""
    found = []
    for config in sorted(EXAMPLE_KEYS.glob("platform-*.toml")):
        found += [int(p) for p in re.findall(r'^listen = "127\.0\.0\.1:(\d+)"', config.read_text(), re.MULTILINE)]
    return found


def _free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@contextlib.contextmanager
def example_ports_held(timeout: float = 600.0) -> Iterator[list[int]]:
    """Holds the lock on the example ports, once they are all free; yields them.

    Raises: TimeoutError when the lock or the ports stay taken for `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    with LOCK.open("a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{LOCK}: held by another test for {timeout:.0f} s") from None
                time.sleep(0.5)
        try:
            ports = example_ports()
            while not all(_free(port) for port in ports):
                if time.monotonic() > deadline:
                    taken = [port for port in ports if not _free(port)]
                    raise TimeoutError(f"example ports {taken} still in use after {timeout:.0f} s")
                time.sleep(0.5)
            yield ports
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def bearer(token_file: Path) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token_file.read_text(encoding='utf-8').strip()}")]


def can_author(admin_address: str, token_file: Path) -> bool:
    """Whether the node at `admin_address` (plaintext loopback admin API) may author now."""
    with channel(admin_address) as opened:
        state = admin_pb2_grpc.AdminStub(opened).GetReplicationState(
            admin_pb2.ReplicationStateRequest(), metadata=bearer(token_file), timeout=5
        )
    return not state.authoring_blocked_reason


def start_example_nodes(configs: Sequence[Path], workdir: Path) -> dict[str, NodeProcess]:
    """`hashnode serve --config CONFIG` for each config, from the checkout, data under `workdir/state`; waits
    until each may author. The caller holds `example_ports_held` and stops the nodes.

    Raises: Unavailable (a node did not start); AssertionError (one never reached a peer).
    """
    state = workdir / "state"
    workdir.mkdir(parents=True, exist_ok=True)
    nodes: dict[str, NodeProcess] = {}
    try:
        for config in configs:
            nodes[config.stem] = NodeProcess.start(
                config, workdir / f"{config.stem}.log", timeout=60, env={"XDG_STATE_HOME": str(state)}, cwd=PACKAGE_ROOT
            )
        for name, node in nodes.items():
            authors = functools.partial(can_author, node.admin_address, EXAMPLE_KEYS / f"{name}.admin-token")
            eventually(authors, f"{name} to author", 60)
    except BaseException:
        for node in nodes.values():
            node.stop()
        raise
    return nodes


@contextlib.contextmanager
def example_consortium(workdir: Path) -> Iterator[dict[str, NodeProcess]]:
    """The three example nodes, running from keys/example/platform-{a,b,c}.toml as they are."""
    with example_ports_held():
        nodes = start_example_nodes(sorted(EXAMPLE_KEYS.glob("platform-*.toml")), workdir)
        try:
            yield nodes
        finally:
            for node in nodes.values():
                node.stop()
