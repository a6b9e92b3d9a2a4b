"""Shared fixtures: the example consortium, a real node on 127.0.0.1 port 0 over real LMDB, a CLI runner."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from node.api.gen.hashnode.v1 import admin_pb2, admin_pb2_grpc, client_pb2_grpc
from node.cli.main import main as cli_main
from node.ledger.ledger import Ledger
from node.membership.members import Membership
from node.membership.roster import SignedRoster
from node.runtime.config import NodeConfig
from node.runtime.runtime import NodeRuntime, open_node
from node.server.server import Listeners, create_servers
from testkit.consortium import insecure_config

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_KEYS = ROOT / "keys/example"
PDQ_DATA = Path(__file__).resolve().parents[2] / "shared/data/pdq"
VIDEO_DATA = Path(__file__).resolve().parents[2] / "shared/data/video"


EXAMPLE_ROSTER = EXAMPLE_KEYS / "roster.json"


@pytest.fixture(scope="session")
def example_membership() -> Membership:
    """The example consortium's membership, from its genesis roster (keys/example/roster.json)."""
    return SignedRoster.load(EXAMPLE_ROSTER).roster.membership()


def node_config(data_dir: Path, member: str = "platform-a", **overrides: object) -> NodeConfig:
    """A config for one of the example platforms, data in `data_dir`, in insecure (loopback, no TLS, no
    tokens) mode on port 0; `tls_config` gives the secure one."""
    return insecure_config(data_dir, member, **overrides)


def tls_config(data_dir: Path, member: str = "platform-a", **overrides: object) -> NodeConfig:
    """As `node_config`, with the example member's TLS identity and tokens (keys/example/<member>.*), dialling
    no roster peer."""
    secure: dict[str, object] = {
        "insecure": False,
        "tls_certificate": EXAMPLE_KEYS / f"{member}.crt",
        "tls_private_key": EXAMPLE_KEYS / f"{member}.tls.key",
        "client_token_file": EXAMPLE_KEYS / f"{member}.client-token",
        "admin_token_file": EXAMPLE_KEYS / f"{member}.admin-token",
        # The example roster lists the example nodes' fixed endpoints: a test node on port 0 must not dial
        # them (another test, or someone trying the example, may be running there).
        "mesh": False,
    }
    return node_config(data_dir, member, **{**secure, **overrides})


def write_config(directory: Path, member: str = "platform-a", extra: str = "") -> Path:
    """A config file for an example platform, data under `directory`, insecure mode; returns its path."""
    path = directory / f"{member}.toml"
    path.write_text(
        f"""[node]
member_id = "{member}"
roster = "{EXAMPLE_ROSTER}"
signing_key = "{EXAMPLE_KEYS / f"{member}.key"}"
data_dir = "data-{member}"
listen = "127.0.0.1:0"
insecure = true
[peer]
listen = "127.0.0.1:0"
[admin]
listen = "127.0.0.1:0"
{extra}""",
        encoding="utf-8",
    )
    return path


@dataclass
class RunningNode:
    """A node serving on 127.0.0.1 (client, peer and admin listeners) with stubs to call it."""

    runtime: NodeRuntime
    listeners: Listeners
    channel: grpc.Channel
    admin_channel: grpc.Channel
    stopped: bool = False

    @property
    def ledger(self) -> Ledger:
        return self.runtime.ledger

    @property
    def port(self) -> int:
        return self.listeners.client.port

    @property
    def target(self) -> str:
        return self.listeners.client.address

    @property
    def admin_target(self) -> str:
        return self.listeners.admin.address

    @property
    def peer_target(self) -> str:
        return self.listeners.peer.address

    @property
    def client(self) -> client_pb2_grpc.HashNodeStub:
        return client_pb2_grpc.HashNodeStub(self.channel)

    @property
    def admin(self) -> admin_pb2_grpc.AdminStub:
        return admin_pb2_grpc.AdminStub(self.admin_channel)

    def record_count(self) -> int:
        return int(self.admin.GetStats(admin_pb2.StatsRequest()).records)

    def entry_count(self) -> int:
        return int(self.admin.GetStats(admin_pb2.StatsRequest()).entries)

    def stop(self) -> None:
        """Stops the servers and closes the node (its store can then be opened again)."""
        if self.stopped:
            return
        self.stopped = True
        self.channel.close()
        self.admin_channel.close()
        self.listeners.stop(None)
        self.runtime.close()


NodeFactory = Callable[..., RunningNode]


@pytest.fixture
def node_factory(tmp_path: Path) -> Iterator[NodeFactory]:
    """Starts nodes (platform-a, insecure loopback mode, by default) over real LMDB stores in tmp_path; stops
    them all at the end."""
    started: list[RunningNode] = []

    def start(config: NodeConfig | None = None) -> RunningNode:
        config = config or node_config(tmp_path / f"data-{len(started)}")
        runtime = open_node(config)
        try:
            listeners = create_servers(runtime)
        except Exception:
            runtime.close()
            raise
        listeners.start()
        node = RunningNode(
            runtime,
            listeners,
            grpc.insecure_channel(listeners.client.address),
            grpc.insecure_channel(listeners.admin.address),
        )
        started.append(node)
        return node

    yield start
    for node in started:
        node.stop()


@pytest.fixture
def node(node_factory: NodeFactory) -> RunningNode:
    """A running platform-a node."""
    return node_factory()


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str


Cli = Callable[..., CliResult]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    """Runs `hashnode ARGS...` in-process through `node.cli.main.main`; returns exit code and output."""

    def run(*argv: str | Path) -> CliResult:
        capsys.readouterr()
        code = cli_main([str(a) for a in argv])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@dataclass(frozen=True)
class ImageHashes:
    path: Path
    pdq: str
    quality: int
    md5: str
    sha256: str


def require_vpdq() -> None:
    """Skips a video hashing test where vpdq (the `video` extra) is not installed, unless the machine is meant
    to have it: CI sets HASHNODE_REQUIRE_VPDQ (.ci/run), and there a missing vpdq fails the test, since a skip
    would let CI pass without ever hashing a video."""
    try:
        import vpdq  # noqa: F401
    except ImportError as exc:
        reason = f"vpdq (the video extra) cannot be imported: {exc}; README, Install"
        if os.environ.get("HASHNODE_REQUIRE_VPDQ"):
            pytest.fail(f"HASHNODE_REQUIRE_VPDQ is set but {reason}")
        pytest.skip(reason)


def require_video_data() -> Path:
    """The sample videos and Meta's reference hashes (../shared/data/video), or a skip saying where they were
    looked for."""
    if not (VIDEO_DATA / "videos").is_dir():
        pytest.skip(f"sample videos not found at {VIDEO_DATA}")
    return VIDEO_DATA


@pytest.fixture(scope="session")
def pdq_images() -> dict[str, ImageHashes]:
    """The reference images and their expected hashes (../shared/data/pdq/expected.csv), by relative path."""
    expected = PDQ_DATA / "expected.csv"
    if not expected.exists():
        pytest.skip(f"reference PDQ data not found at {PDQ_DATA}")
    with expected.open(newline="", encoding="utf-8") as handle:
        return {
            row["path"]: ImageHashes(
                PDQ_DATA / row["path"], row["pdq_hex"], int(row["quality"]), row["md5"], row["sha256"]
            )
            for row in csv.DictReader(handle)
        }
