"""A consortium of real `hashnode serve` processes on 127.0.0.1, in insecure loopback mode with the example
keys.

Each node has a fixed peer port (so that its peers can name it in their configs and it can be restarted on the
same address) and its own data directory. With `proxied=True` every directed peer link X→Y goes through its
own `TcpProxy`, so that a test can partition the consortium (`partition`, `isolate`, `heal`) or slow a link.

The nodes are the example consortium's members (keys/example: platform-a, -b, -c), named by their last letter.
"""

from __future__ import annotations

import re
import signal
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from node.api.gen.hashnode.v1 import admin_pb2, admin_pb2_grpc, client_pb2_grpc
from node.cli.serve_cmd import PACKAGE_ROOT, NodeProcess
from node.membership.members import Membership
from node.membership.roster import SignedRoster
from node.runtime.config import NodeConfig
from testkit.proxy import TcpProxy

EXAMPLE_KEYS = PACKAGE_ROOT / "keys" / "example"
EXAMPLE_ROSTER = EXAMPLE_KEYS / "roster.json"
NAMES = ("a", "b", "c")


def member_of(name: str) -> str:
    return f"platform-{name}"


def example_membership() -> Membership:
    return SignedRoster.load(EXAMPLE_ROSTER).roster.membership()


def insecure_config(data_dir: Path, member: str = "platform-a", **overrides: object) -> NodeConfig:
    """An in-process node's config: an example member in insecure loopback mode, every listener on port 0."""
    fields: dict[str, object] = {
        "path": EXAMPLE_KEYS / f"{member}.toml",
        "member_id": member,
        "roster": EXAMPLE_ROSTER,
        "signing_key": EXAMPLE_KEYS / f"{member}.key",
        "data_dir": data_dir,
        "listen": "127.0.0.1:0",
        "peer_listen": "127.0.0.1:0",
        "admin_listen": "127.0.0.1:0",
        "insecure": True,
    }
    fields.update(overrides)
    return NodeConfig(**fields)  # type: ignore[arg-type]


def example_config(
    workdir: Path, member: str, *, peer_port: int = 0, node_extra: str = "", extra: str = "", name: str = ""
) -> Path:
    """keys/example/<member>.toml made fit for a test: its client and admin listeners on port 0, its peer
    listener on `peer_port` (0: any), its data under `workdir`, its key files by absolute path, and dialling no
    roster peer: the example roster's endpoints are the example consortium's fixed ports, where someone may be
    running it (the tests that run it as it is use the files unchanged). `node_extra` is added to `[node]`
    (e.g. `follower = true`), `extra` appended (other tables); `name` names the file and the data directory
    (default: the member id), for several nodes of one member."""
    text = (EXAMPLE_KEYS / f"{member}.toml").read_text(encoding="utf-8")
    listeners = re.findall(r'^listen = "127\.0\.0\.1:(\d+)"', text, flags=re.MULTILINE)
    if len(listeners) != 3:
        raise AssertionError(f"{member}.toml: want 3 listeners on 127.0.0.1, found {listeners}")
    for port in listeners:
        new = peer_port if text.split(f'"127.0.0.1:{port}"')[0].rstrip().endswith("[peer]\nlisten =") else 0
        text = text.replace(f'"127.0.0.1:{port}"', f'"127.0.0.1:{new}"')
    text = text.replace("[peer]\n", "[peer]\nmesh = false\n")
    name = name or member
    text = text.replace("[node]\n", f'[node]\ndata_dir = "{workdir / "data" / name}"\n{node_extra}')
    files = ("roster.json", *(f"{member}.{x}" for x in ("key", "crt", "tls.key", "client-token", "admin-token")))
    for file in files:
        text = text.replace(f'"{file}"', f'"{EXAMPLE_KEYS / file}"')
    path = workdir / f"{name}.toml"
    path.write_text(text + extra, encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def eventually(condition: Callable[[], bool], what: str, timeout: float = 30.0, poll: float = 0.05) -> float:
    """Polls `condition` until it holds (an RPC error counts as not yet); returns the seconds it took.

    Raises: AssertionError after `timeout`.
    """
    start = time.monotonic()
    while True:
        try:
            if condition():
                return time.monotonic() - start
        except grpc.RpcError:
            pass  # a node restarting or shutting down: not yet
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)


@dataclass
class ProcessNode:
    """One node: its config, its data directory, and its process while it runs."""

    name: str
    directory: Path
    peer_port: int
    process: NodeProcess | None = None
    starts: int = 0
    _channels: list[grpc.Channel] = field(default_factory=list)
    _client: client_pb2_grpc.HashNodeStub | None = None
    _admin: admin_pb2_grpc.AdminStub | None = None
    _health: health_pb2_grpc.HealthStub | None = None

    @property
    def member(self) -> str:
        return member_of(self.name)

    @property
    def config(self) -> Path:
        return self.directory / f"{self.name}.toml"

    @property
    def data_dir(self) -> Path:
        return self.directory / f"data-{self.name}"

    @property
    def store_path(self) -> Path:
        return self.data_dir / "lmdb"

    @property
    def peer_address(self) -> str:
        return f"127.0.0.1:{self.peer_port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.process.poll() is None

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} is not running"
        return self.process.process.pid

    def write_config(
        self, peers: dict[str, str], extra: str = "", anti_entropy_ms: int = 300, call_timeout_s: float = 30.0
    ) -> None:
        """`peers`: member id → address this node dials it at (the peer itself, or a proxy). `extra` is TOML
        added after the node's tables (other tables: `[storage]`, `[matching]`...)."""
        peer_tables = "".join(
            f'[[peers]]\nname = "{member}"\naddress = "{address}"\n'
            for member, address in sorted(peers.items())
        )
        self.config.write_text(
            f"""[node]
member_id = "{self.member}"
roster = "{EXAMPLE_ROSTER}"
signing_key = "{EXAMPLE_KEYS / f"{self.member}.key"}"
data_dir = "data-{self.name}"
listen = "127.0.0.1:0"
insecure = true
[peer]
listen = "127.0.0.1:{self.peer_port}"
call_timeout_s = {call_timeout_s}
[admin]
listen = "127.0.0.1:0"
[replication]
anti_entropy_ms = {anti_entropy_ms}
{extra}
{peer_tables}""",
            encoding="utf-8",
        )

    def start(self, timeout: float = 30.0) -> None:
        self.starts += 1
        self.process = NodeProcess.start(
            self.config, self.directory / f"{self.name}-{self.starts}.log", timeout=timeout
        )

    def kill(self) -> None:
        """SIGKILL: no drain, no clean close of the store."""
        self._close_channels()
        if self.process is not None:
            self.process.stop(signal.SIGKILL)
            self.process = None

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Stops the node (graceful with SIGTERM) and returns its exit code (0 when it was not running)."""
        self._close_channels()
        if self.process is None:
            return 0
        code = self.process.stop(signum, timeout)
        self.process = None
        return code

    def log_text(self) -> str:
        return (self.directory / f"{self.name}-{self.starts}.log").read_text(
            encoding="utf-8", errors="replace"
        )

    # -- calling it ----------------------------------------------------------------------------------------

    def _channel(self, address: str) -> grpc.Channel:
        channel = grpc.insecure_channel(address)
        self._channels.append(channel)
        return channel

    def _close_channels(self) -> None:
        for channel in self._channels:
            channel.close()
        self._channels.clear()
        self._client, self._admin, self._health = None, None, None

    @property
    def client(self) -> client_pb2_grpc.HashNodeStub:
        if self._client is None:
            assert self.process is not None, f"{self.name} is not running"
            self._client = client_pb2_grpc.HashNodeStub(self._channel(self.process.target))
        return self._client

    @property
    def admin(self) -> admin_pb2_grpc.AdminStub:
        if self._admin is None:
            assert self.process is not None, f"{self.name} is not running"
            self._admin = admin_pb2_grpc.AdminStub(self._channel(self.process.admin_address))
        return self._admin

    @property
    def health(self) -> health_pb2_grpc.HealthStub:
        if self._health is None:
            assert self.process is not None, f"{self.name} is not running"
            self._health = health_pb2_grpc.HealthStub(self._channel(self.process.admin_address))
        return self._health

    def is_serving(self) -> bool:
        reply = self.health.Check(health_pb2.HealthCheckRequest(), timeout=5)
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)

    def state(self, timeout: float = 5.0) -> admin_pb2.ReplicationState:
        reply: admin_pb2.ReplicationState = self.admin.GetReplicationState(
            admin_pb2.ReplicationStateRequest(), timeout=timeout
        )
        return reply

    def stats(self, timeout: float = 5.0) -> admin_pb2.Stats:
        reply: admin_pb2.Stats = self.admin.GetStats(admin_pb2.StatsRequest(), timeout=timeout)
        return reply

    def can_author(self) -> bool:
        try:
            return self.state().authoring_blocked_reason == ""
        except grpc.RpcError:
            return False

    def memory(self) -> dict[str, int]:
        """Resident memory of the process in bytes: rss (all), anon (heap and the index), file (mapped files:
        the LMDB map's pages in use), from /proc."""
        fields = {"VmRSS": "rss", "RssAnon": "anon", "RssFile": "file"}
        found: dict[str, int] = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in fields:
                found[fields[key]] = int(value.split()[0]) * 1024
        return found


class LocalConsortium:
    """Nodes a, b, c (platform-a/-b/-c) replicating with each other, directly or through a proxy per link."""

    def __init__(
        self,
        directory: Path,
        names: Sequence[str] = NAMES,
        *,
        proxied: bool = False,
        anti_entropy_ms: int = 300,
        call_timeout_s: float = 30.0,
        extra: dict[str, str] | None = None,
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.nodes = {name: ProcessNode(name, directory, free_port()) for name in names}
        self.links: dict[tuple[str, str], TcpProxy] = {}
        for name, node in self.nodes.items():
            peers = {}
            for other, target in self.nodes.items():
                if other == name:
                    continue
                address = target.peer_address
                if proxied:
                    proxy = TcpProxy(address, name=f"{name}->{other}")
                    self.links[(name, other)] = proxy
                    address = proxy.address
                peers[target.member] = address
            node.write_config(peers, (extra or {}).get(name, ""), anti_entropy_ms, call_timeout_s)

    def __enter__(self) -> LocalConsortium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getitem__(self, name: str) -> ProcessNode:
        return self.nodes[name]

    def running(self) -> list[ProcessNode]:
        return [node for node in self.nodes.values() if node.running]

    def start(self, *, wait_authoring: bool = True, timeout: float = 30.0) -> None:
        for node in self.nodes.values():
            if not node.running:
                node.start()
        if wait_authoring:
            for node in self.nodes.values():
                eventually(node.can_author, f"{node.name} to compare its log with a peer", timeout)

    def close(self) -> None:
        for node in self.nodes.values():
            node.stop()
        for proxy in self.links.values():
            proxy.close()

    # -- agreement -----------------------------------------------------------------------------------------

    def digests(self, nodes: Iterable[ProcessNode] | None = None) -> dict[str, bytes]:
        return {node.name: node.state().state_digest for node in (nodes or self.running())}

    def converged(self, nodes: Iterable[ProcessNode] | None = None) -> bool:
        """The nodes hold the same entries and evidence, with nothing waiting in a gap buffer."""
        states = [node.state() for node in (nodes or self.running())]
        return len({s.state_digest for s in states}) == 1 and all(s.gap_buffered == 0 for s in states)

    def wait_converged(self, timeout: float = 30.0, nodes: Sequence[ProcessNode] | None = None) -> float:
        return eventually(lambda: self.converged(nodes), "the nodes to converge", timeout)

    # -- links ---------------------------------------------------------------------------------------------

    def partition(self, *groups: Iterable[str]) -> None:
        """Cuts every link between nodes of different groups and restores every link within a group."""
        group_of = {name: i for i, group in enumerate(groups) for name in group}
        for (source, target), proxy in self.links.items():
            if group_of.get(source, -1) == group_of.get(target, -2):
                proxy.restore()
            else:
                proxy.cut()

    def isolate(self, name: str) -> None:
        self.partition([name], [n for n in self.nodes if n != name])

    def heal(self) -> None:
        for proxy in self.links.values():
            proxy.restore()
