"""The built wheel, installed with its `threatexchange` extra into a fresh virtual environment, serves, matches and
plugs into the real `threatexchange` CLI, following docs/threatexchange.md against TLS nodes.

The wheel is built from a copy of this checkout (`python -m build --wheel`), installed with pip into a new venv
(its dependencies from the package index pip is configured with), and everything then runs from that venv as
subprocesses with no path to this checkout: two nodes (platform-a, whose node the threatexchange CLI fetches
from, and platform-b, replicating with it over mutual TLS), the `hashnode` client and the `threatexchange` CLI.
The doc's steps run in order: fetch, dataset, match, label; then a dispute by another member and a retraction by
the contributor show up in the next incremental fetch. Skipped, saying so, only when pip cannot reach a package
index at all.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from node.api.gen.hashnode.v1 import client_pb2, client_pb2_grpc
from node.server.server import LISTENER_LINE, SERVING_LINE
from testkit.consortium import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
KEYS = ROOT / "keys/example"
LABEL = "tvec.propaganda"
PDQ_A = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"  # platform-a's
PDQ_A_NEAR = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b2d"  # 4 bits away
PDQ_B = "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"  # platform-b's
MD5_A = "d41d8cd98f00b204e9800998ecf8427e"
NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "*.so", ".hypothesis", "node_modules",
    ".pytest_cache", ".mypy_cache", ".ruff_cache", "demo-data", "reports",
)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a program installed in the venv: nothing points at this checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    return {**env, **extra}


def attempt(args: list[str | Path], *, timeout: float = 300, **kwargs: object) -> subprocess.CompletedProcess[str]:
    command = [str(a) for a in args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)  # type: ignore[call-overload,no-any-return]


def run(args: list[str | Path], *, timeout: float = 300, **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = attempt(args, timeout=timeout, **kwargs)
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from a copy of this checkout as a release would be."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_COPIED)
    run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", work / "dist", source], cwd=work)
    (built,) = (work / "dist").glob("hashnode_consortium-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the wheel and its threatexchange extra installed by pip."""
    target = tmp_path_factory.mktemp("venv") / "venv"
    run([sys.executable, "-m", "venv", target])
    python = target / "bin/python"
    install = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", f"{wheel}[threatexchange]"],
        capture_output=True, text=True, timeout=900, env=clean_env(), check=False,
    )
    if install.returncode != 0:
        probe = subprocess.run(
            [python, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", target / "probe", "threatexchange"],
            capture_output=True, text=True, timeout=300, env=clean_env(), check=False,
        )
        if probe.returncode != 0:
            pytest.skip(f"no package index reachable to install the wheel's dependencies: {probe.stderr[-500:]}")
        pytest.fail(f"pip could not install {wheel.name}[threatexchange]:\n{install.stderr[-3000:]}")
    return target


# --- the nodes, served from the venv ------------------------------------------------------------------------


@dataclass
class ServedNode:
    member: str
    process: subprocess.Popen[str]
    address: str
    log: Path

    @property
    def ca(self) -> Path:
        return KEYS / f"{self.member}.crt"

    @property
    def token_file(self) -> Path:
        return KEYS / f"{self.member}.client-token"

    def auth(self) -> list[str | Path]:
        return ["--target", self.address, "--ca", self.ca, "--token-file", self.token_file]

    def client(self) -> client_pb2_grpc.HashNodeStub:
        credentials = grpc.ssl_channel_credentials(self.ca.read_bytes())
        channel = grpc.secure_channel(self.address, credentials, [("grpc.ssl_target_name_override", "hashnode.peer")])
        return client_pb2_grpc.HashNodeStub(channel)

    def metadata(self) -> list[tuple[str, str]]:
        return [("authorization", "Bearer " + self.token_file.read_text().split()[0])]


def node_config(directory: Path, member: str, peer_port: int, peers: dict[str, int]) -> Path:
    peer_tables = "".join(f'[[peers]]\nname = "{m}"\naddress = "127.0.0.1:{port}"\n' for m, port in peers.items())
    path = directory / f"{member}.toml"
    path.write_text(
        f"""[node]
member_id = "{member}"
roster = "{KEYS / "roster.json"}"
signing_key = "{KEYS / f"{member}.key"}"
data_dir = "data-{member}"
listen = "127.0.0.1:0"
[tls]
certificate = "{KEYS / f"{member}.crt"}"
private_key = "{KEYS / f"{member}.tls.key"}"
[peer]
listen = "127.0.0.1:{peer_port}"
[clients]
token_file = "{KEYS / f"{member}.client-token"}"
[admin]
listen = "127.0.0.1:0"
token_file = "{KEYS / f"{member}.admin-token"}"
[replication]
anti_entropy_ms = 300
{peer_tables}""",
        encoding="utf-8",
    )
    return path


def serve(venv: Path, config: Path, member: str) -> ServedNode:
    log = config.with_suffix(".log")
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [venv / "bin/hashnode", "serve", "--config", config], cwd=config.parent, env=clean_env(),
            stdout=subprocess.PIPE, stderr=stderr, text=True,
        )
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if LISTENER_LINE.match(line.strip()):
            continue
        found = SERVING_LINE.match(line.strip())
        if found:
            return ServedNode(member, process, found["address"], log)
    process.kill()
    raise AssertionError(f"{member} did not start: {log.read_text()[-2000:]}")


@pytest.fixture(scope="module")
def nodes(venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServedNode, ServedNode]]:
    directory = tmp_path_factory.mktemp("nodes")
    port_a, port_b = free_port(), free_port()
    a = serve(venv, node_config(directory, "platform-a", port_a, {"platform-b": port_b}), "platform-a")
    b = serve(venv, node_config(directory, "platform-b", port_b, {"platform-a": port_a}), "platform-b")
    try:
        yield a, b
    finally:
        for node in (a, b):
            node.process.terminate()
            node.process.wait(30)
            assert node.process.stdout is not None
            node.process.stdout.close()


def eventually(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def holds(node: ServedNode, record_id: str) -> bool:
    try:
        node.client().GetProvenance(client_pb2.ProvenanceRequest(record_id=record_id), metadata=node.metadata())
    except grpc.RpcError:
        return False
    return True


def related_kinds(node: ServedNode, record_id: str) -> list[str]:
    bundle = node.client().GetProvenance(client_pb2.ProvenanceRequest(record_id=record_id), metadata=node.metadata())
    return [f"{r.kind} by {r.author.member_id}" for r in bundle.related]


# --- the steps -----------------------------------------------------------------------------------------------


def test_the_wheel_holds_the_package_and_its_licence_only(wheel: Path) -> None:
    import zipfile

    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert {name.split("/", 1)[0] for name in names} == {"node", wheel.name.split("-")[0] + "-0.1.0.dist-info"}
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    assert "Name: hashnode-consortium" in metadata and "License-Expression: Apache-2.0" in metadata
    assert "Provides-Extra: threatexchange" in metadata


class Tx:
    """The `threatexchange` CLI of the venv, with its own state directory and the node's client token."""

    def __init__(self, venv: Path, state: Path, token: str) -> None:
        self.venv, self.state, self.token = venv, state, token

    def __call__(self, *args: str | Path) -> str:
        env = clean_env(TX_STATEDIR=str(self.state), TX_HASHNODE_TOKEN=self.token)
        return run([self.venv / "bin/threatexchange", *args], env=env, cwd=self.state.parent).stdout

    def dataset(self) -> list[str]:
        return sorted(self("dataset", "-P").splitlines())

    def checkpoint(self) -> object:
        with (self.state / "fetched/hashnode/consortium.state.pickle").open("rb") as saved:
            return pickle.load(saved).checkpoint


def test_the_doc_steps_with_the_threatexchange_cli_against_a_tls_node(
    venv: Path, nodes: tuple[ServedNode, ServedNode], tmp_path: Path
) -> None:
    a, b = nodes
    hashnode = venv / "bin/hashnode"

    def contribute(node: ServedNode, kind: str, value: str, *extra: str) -> str:
        command = [hashnode, "submit", *node.auth(), "--type", kind, "--hash", value, "--label", LABEL, *extra]
        deadline = time.monotonic() + 60
        # A node with peers authors once a peer's copy of its own log was compared with its own (catching up).
        while "catching up" in (done := attempt([*command, "--json"])).stderr and time.monotonic() < deadline:
            time.sleep(0.3)
        assert done.returncode == 0, done.stderr
        (record_id,) = json.loads(done.stdout)["record_ids"]
        return str(record_id)

    pdq_a = contribute(a, "pdq", PDQ_A, "--quality", "90")
    md5_a = contribute(a, "md5", MD5_A)
    pdq_b = contribute(b, "pdq", PDQ_B, "--quality", "90")
    eventually(lambda: holds(a, pdq_b) and holds(b, pdq_a), "the two nodes to replicate")
    matched = run([hashnode, "match", PDQ_A_NEAR, *a.auth(), "--json"]).stdout
    assert [m["record_id"] for m in json.loads(matched)[0]["matches"]] == [pdq_a], "the wheel's node matches"

    # The doc: add the extension, one collaboration for the node (TLS with its certificate), the token, fetch.
    tx = Tx(venv, tmp_path / "threatexchange", a.token_file.read_text().split()[0])
    tx("config", "extensions", "add", "node.adapters.threatexchange")
    tx("config", "collab", "edit", "hashnode", "consortium", "--create", "--target", a.address,
       "--root-certificate", a.ca)
    tx("fetch")
    assert tx.dataset() == [
        f"pdq {PDQ_B} 'consortium' POSITIVE_CLASS {LABEL}",
        f"pdq {PDQ_A} 'consortium' POSITIVE_CLASS {LABEL}",
        f"video_md5 {MD5_A} 'consortium' POSITIVE_CLASS {LABEL}",
    ]
    query = tmp_path / "upload.pdq"
    query.write_text(PDQ_A_NEAR)
    assert tx("match", "-H", "photo", query).splitlines() == [f"pdq 4 (consortium) POSITIVE_CLASS {LABEL}"]

    # label: an endorsement of another member's record, signed by platform-a's node.
    labelled = tmp_path / "labelled.pdq"
    labelled.write_text(PDQ_B)
    tx("label", "--as-hash", "pdq", "consortium", "photo", labelled)
    assert "opinion by platform-a" in related_kinds(a, pdq_b)

    first = tx.checkpoint()
    # A dispute by another member, and a retraction by the contributor, on the node...
    run([hashnode, "dispute", pdq_a, *b.auth(), "--stance", "false_positive", "--reason-code", "not_tvec"])
    eventually(lambda: "opinion by platform-b" in related_kinds(a, pdq_a), "platform-b's dispute to reach platform-a")
    run([hashnode, "retract", md5_a, *a.auth(), "--reason", "contributed by mistake"])
    # ...show up in the next fetch, which continues from the checkpoint (no refetch from scratch).
    tx("fetch")
    later = tx.checkpoint()
    assert later.cursor > first.cursor and later.full_fetch_started == first.full_fetch_started  # type: ignore[attr-defined]
    assert tx.dataset() == [
        f"pdq {PDQ_B} 'consortium' POSITIVE_CLASS {LABEL}",
        f"pdq {PDQ_A} 'consortium' DISPUTED {LABEL}",
    ]
