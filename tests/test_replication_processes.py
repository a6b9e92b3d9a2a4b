"""Replication between real `hashnode serve` processes on 127.0.0.1 (insecure loopback mode, example keys):
a node killed with SIGKILL during a stream of submissions comes back and everyone converges with every
acknowledged record; and two processes signing as one member, cut off from each other, are caught."""

from __future__ import annotations

import hashlib
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from conftest import EXAMPLE_KEYS, EXAMPLE_ROSTER

from node.api.gen.hashnode.v1 import admin_pb2, admin_pb2_grpc, client_pb2, client_pb2_grpc, types_pb2
from node.cli.serve_cmd import NodeProcess

LABEL = "tvec.propaganda"
DEADLINE_S = 30.0  # generous for a loaded machine; replication itself takes milliseconds

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Node:
    """A node's config (its peer port fixed, so that peers can name it) and its running process."""

    name: str
    member: str
    config: Path
    peer_port: int
    logs: Path
    process: NodeProcess | None = None
    starts: int = 0

    def start(self) -> None:
        self.starts += 1
        self.process = NodeProcess.start(self.config, self.logs / f"{self.name}-{self.starts}.log")

    def kill(self) -> None:
        assert self.process is not None
        self.process.stop(signal.SIGKILL)
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    @property
    def client(self) -> client_pb2_grpc.HashNodeStub:
        assert self.process is not None
        return client_pb2_grpc.HashNodeStub(grpc.insecure_channel(self.process.target))

    @property
    def admin(self) -> admin_pb2_grpc.AdminStub:
        assert self.process is not None
        return admin_pb2_grpc.AdminStub(grpc.insecure_channel(self.process.admin_address))

    def state(self) -> admin_pb2.ReplicationState:
        reply: admin_pb2.ReplicationState = self.admin.GetReplicationState(
            admin_pb2.ReplicationStateRequest(), timeout=5
        )
        return reply


NodeMaker = Callable[..., Node]


@pytest.fixture
def make_node(tmp_path: Path) -> Iterator[NodeMaker]:
    nodes: list[Node] = []

    def make(
        name: str, member: str, peers: dict[str, int], *, port: int | None = None, extra: str = ""
    ) -> Node:
        port = port or free_port()
        config = tmp_path / f"{name}.toml"
        peer_tables = "".join(
            f'[[peers]]\nname = "{peer}"\naddress = "127.0.0.1:{peer_port}"\n'
            for peer, peer_port in peers.items()
        )
        config.write_text(
            f"""[node]
member_id = "{member}"
roster = "{EXAMPLE_ROSTER}"
signing_key = "{EXAMPLE_KEYS / f"{member}.key"}"
data_dir = "data-{name}"
listen = "127.0.0.1:0"
insecure = true
[peer]
listen = "127.0.0.1:{port}"
[admin]
listen = "127.0.0.1:0"
[replication]
anti_entropy_ms = 300
{extra}
{peer_tables}""",
            encoding="utf-8",
        )
        node = Node(name, member, config, port, tmp_path)
        nodes.append(node)
        return node

    yield make
    for node in nodes:
        node.stop()


def eventually(condition: Callable[[], bool], what: str, timeout: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def can_author(node: Node) -> bool:
    try:
        return node.state().authoring_blocked_reason == ""
    except grpc.RpcError:
        return False


def submit(node: Node, tag: str) -> client_pb2.SubmitResponse:
    value = hashlib.sha256(tag.encode()).hexdigest()
    record = types_pb2.HashRecord(signal_type="pdq", value=value, quality=90, labels=[LABEL])
    reply: client_pb2.SubmitResponse = node.client.Submit(
        client_pb2.SubmitRequest(records=[record]), timeout=5
    )
    return reply


def holds(node: Node, record_id: str) -> bool:
    try:
        node.client.GetProvenance(client_pb2.ProvenanceRequest(record_id=record_id), timeout=5)
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.NOT_FOUND:
            return False
        raise
    return True


@dataclass
class Submitter:
    """Submits to the nodes in turn from a thread; keeps the record ids the nodes acknowledged."""

    nodes: list[Node]
    acknowledged: list[str] = field(default_factory=list)
    refused: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self, count: int) -> None:
        for i in range(count):
            if self.stop.is_set():
                return
            node = self.nodes[i % len(self.nodes)]
            try:
                reply = submit(node, f"stream {i}")
            except (grpc.RpcError, AssertionError):  # down, restarting, or catching up: not acknowledged
                self.refused += 1
            else:
                self.acknowledged.extend(reply.record_ids)
            time.sleep(0.02)


def test_a_node_killed_mid_stream_comes_back_and_all_converge(make_node: NodeMaker) -> None:
    ports = {name: free_port() for name in ("a", "b", "c")}
    members = {"a": "platform-a", "b": "platform-b", "c": "platform-c"}
    nodes = {}
    for name, member in members.items():
        peers = {members[other]: ports[other] for other in members if other != name}
        nodes[name] = make_node(name, member, peers, port=ports[name])
    for node in nodes.values():
        node.start()
    for node in nodes.values():
        eventually(lambda node=node: can_author(node), f"{node.name} to compare its log with a peer")

    submitter = Submitter(list(nodes.values()))
    stream = threading.Thread(target=submitter.run, args=(150,))
    stream.start()
    try:
        eventually(lambda: len(submitter.acknowledged) >= 20, "the first acknowledgements")
        nodes["c"].kill()  # SIGKILL: no drain, no clean close of the store
        eventually(lambda: submitter.refused >= 3, "submissions to the dead node to fail")
        nodes["c"].start()
    finally:
        stream.join(DEADLINE_S)
        submitter.stop.set()
    assert submitter.acknowledged and submitter.refused

    def converged() -> bool:
        states = [n.state() for n in nodes.values()]
        return len({s.state_digest for s in states}) == 1 and all(s.gap_buffered == 0 for s in states)

    eventually(converged, "every node to hold the same entries")
    for node in nodes.values():
        missing = [rid for rid in submitter.acknowledged if not holds(node, rid)]
        assert missing == [], f"{node.name} lacks {len(missing)} acknowledged records"
        state = node.state()
        assert list(state.convicted_authors) == [] and state.evidence == 0
    # The restarted node authors again, continuing its own log where it left it.
    eventually(lambda: can_author(nodes["c"]), "c to compare its log with a peer after the restart")
    assert submit(nodes["c"], "after the restart").seq > 1


def test_two_processes_signing_as_one_member_are_caught(make_node: NodeMaker) -> None:
    """Partition equivocation: a1 and a2 both hold platform-a's key and never talk to each other; c hears
    from a1 first; when c also hears from a2, the fork is evidence everywhere and both a-nodes stop."""
    c_port, a1_port = free_port(), free_port()
    c = make_node("c", "platform-c", {"platform-a": a1_port}, port=c_port)
    a1 = make_node("a1", "platform-a", {"platform-c": c_port}, port=a1_port)
    a2 = make_node("a2", "platform-a", {})  # alone: no peers, so nothing holds its authoring back
    for node in (c, a1, a2):
        node.start()
    eventually(lambda: can_author(a1), "a1 to compare its log with c")
    first = submit(a1, "branch one")
    eventually(lambda: holds(c, first.record_ids[0]), "c to take a1's entry")
    second = submit(a2, "branch two")
    assert (first.seq, second.seq) == (1, 1) and first.entry_id != second.entry_id

    assert a2.process is not None
    c.admin.AddPeer(
        admin_pb2.AddPeerRequest(name="platform-a-twin", address=a2.process.peer_address), timeout=5
    )
    for node in (c, a1):
        eventually(lambda node=node: node.state().evidence == 1, f"{node.name} to hold the evidence")
    evidence = c.admin.ListEvidence(admin_pb2.ListEvidenceRequest(), timeout=5).evidence
    assert [(e.author, e.seq, e.kind) for e in evidence] == [("platform-a", 1, "same_seq")]
    assert holds(c, first.record_ids[0]) and not holds(c, second.record_ids[0])  # c keeps what it saw first
    eventually(lambda: not can_author(a1), "a1 to stop authoring")
    with pytest.raises(grpc.RpcError) as refused:
        submit(a1, "after the fork")
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "fork evidence" in refused.value.details()
    assert a1.state().state_digest == c.state().state_digest
