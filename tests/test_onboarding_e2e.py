"""docs/onboarding.md, run as it is written: a fourth member joins the running example consortium with no
`peers add` anywhere, replicates with all three within seconds, and is revoked; then no node dials it.

The example consortium runs as the README starts it (three `hashnode serve --config keys/example/platform-X.toml`
processes on their fixed ports). Every command of the document's ```sh blocks runs in order, with bash, in the
"terminal" of whoever the document says runs it: the new member (its files under a scratch directory instead of
/etc/hashnode, its host names replaced by loopback addresses), or a steward working with platform-a's operator
(steward keys from keys/example). The document's placeholders are filled from the output of the commands before
them; what the people do between commands (send a file, confirm an id) the test does with a file copy. The new
member's peer listener is reached through a counting TCP proxy, its roster endpoint, so the test can tell when
the other nodes stop dialling it.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from conftest import EXAMPLE_KEYS, ROOT

from node.api.gen.hashnode.v1 import admin_pb2, admin_pb2_grpc, client_pb2, client_pb2_grpc, types_pb2
from node.cli.command_base import channel
from node.cli.serve_cmd import NodeProcess
from testkit.consortium import free_port
from testkit.docsteps import ShellSession, section, shell_blocks, words
from testkit.example_ports import bearer, example_consortium
from testkit.proxy import TcpProxy

pytestmark = pytest.mark.slow
DOC = ROOT / "docs" / "onboarding.md"
MEMBERS = ("platform-a", "platform-b", "platform-c")
D = "platform-d"
D_HASH = "d35c785545392755e7e4164457657269"  # what the document has the new member contribute
LABEL = "tvec.propaganda"

# Who runs each ```sh block of the document, section by section, in order.
ROLES: dict[str, list[str]] = {
    "## 1. You: create your keys and your join request": ["you"],
    "## 2. The stewards: admit you in the next roster version": ["stewards", "stewards"],
    "## 3. The stewards: publish it to any one node": ["stewards"],
    "## 4. You: bootstrap your node from one peer": ["you"],
    "## 5. You: run your node": ["serve", "you"],
    "## 6. You: contribute and match": ["you"],
    "## Moving your node": ["stewards"],
    "## Rotating keys and certificates": ["you", "stewards"],
    "## Leaving, revocation and purges": ["stewards", "stewards"],
}


def eventually(check: Callable[[], bool], what: str, timeout: float = 30.0) -> float:
    start = time.monotonic()
    while True:
        try:
            if check():
                return time.monotonic() - start
        except grpc.RpcError:
            pass
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


@dataclass
class Node:
    """A running node and the credentials its operator and its platform's systems hold."""

    process: NodeProcess
    certificate: Path
    client_token: Path
    admin_token: Path

    def admin(self) -> tuple[admin_pb2_grpc.AdminStub, list[tuple[str, str]]]:
        return admin_pb2_grpc.AdminStub(grpc.insecure_channel(self.process.admin_address)), bearer(self.admin_token)

    def peers(self) -> dict[str, tuple[str, str]]:
        stub, metadata = self.admin()
        reply = stub.ListPeers(admin_pb2.ListPeersRequest(), metadata=metadata, timeout=5)
        return {p.name: (p.source, p.state) for p in reply.peers}

    def roster_version(self) -> int:
        stub, metadata = self.admin()
        return int(stub.GetRoster(admin_pb2.GetRosterRequest(), metadata=metadata, timeout=5).version)

    def matches(self, md5: str) -> bool:
        args = argparse.Namespace(
            target=self.process.address, ca=self.certificate, token_file=self.client_token
        )
        with channel(args) as opened:
            query = client_pb2.HashQuery(signal_type="md5", value=md5)
            reply = client_pb2_grpc.HashNodeStub(opened).Match(client_pb2.MatchRequest(queries=[query]), timeout=5)
        return bool(reply.results[0].matches)


def example_node(process: NodeProcess) -> Node:
    name = process.member_id
    return Node(process, *(EXAMPLE_KEYS / f"{name}.{ext}" for ext in ("crt", "client-token", "admin-token")))


def doc_blocks() -> list[tuple[str, str, list[str]]]:
    """(heading, role, commands) for every ```sh block of the document, checked against ROLES."""
    text = DOC.read_text(encoding="utf-8")
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    found = []
    for heading in headings:
        blocks = shell_blocks(section(text, heading))
        assert len(blocks) == len(ROLES.get(heading, [])), f"{heading}: {len(blocks)} shell blocks"
        found += [(heading, role, block) for role, block in zip(ROLES.get(heading, []), blocks, strict=True)]
    assert [h for h in ROLES if h not in headings] == [], "ROLES names a section the document lacks"
    return found


def test_the_document_asks_no_operator_to_add_a_peer() -> None:
    commands = [c for _, _, block in doc_blocks() for c in block]
    assert commands and not [c for c in commands if "peers add" in c]


def test_no_admin_command_runs_in_a_shell_that_exported_the_client_ca() -> None:
    # HASHNODE_CA is read by every command: exported for the client API (TLS), it turns the admin commands run
    # later in the same terminal (a reader follows the document in one) to TLS against the plaintext admin
    # listener.
    exported = False
    wrong = []
    for _, _, block in doc_blocks():
        for command in block:
            if command.startswith("export") and "HASHNODE_CA=" in command:
                exported = True
            elif exported and words(command)[:2] in (["hashnode", "admin"], ["hashnode", "health"]):
                wrong.append(command)
    assert wrong == []


def test_a_fourth_member_joins_by_the_document_alone_and_stops_being_dialled_once_revoked(
    tmp_path: Path,
) -> None:
    home = tmp_path / "etc-hashnode"  # the new member's /etc/hashnode
    d_ports = {"client": free_port(), "admin": free_port(), "peer": free_port()}
    d_endpoint = TcpProxy(f"127.0.0.1:{d_ports['peer']}", name="platform-d's endpoint")
    you = ShellSession.open(tmp_path / "you", tmp_path / "you-bin")
    stewards = ShellSession.open(
        tmp_path / "stewards",
        tmp_path / "stewards-bin",
        {
            "HASHNODE_ADMIN_TARGET": "127.0.0.1:50152",  # platform-a's admin API (keys/example/platform-a.toml)
            "HASHNODE_ADMIN_TOKEN_FILE": str(EXAMPLE_KEYS / "platform-a.admin-token"),
        },
    )
    for session in (you, stewards):
        session.cwd.mkdir()
    for i in (1, 2, 3):
        (stewards.cwd / f"steward-{i}.key").symlink_to(EXAMPLE_KEYS / f"steward-{i}.key")
    filled = {
        "/etc/hashnode": str(home),
        "node.platform-d.example:50061": d_endpoint.address,
        "0.0.0.0:50061": f"127.0.0.1:{d_ports['peer']}",
        "127.0.0.1:50051": f"127.0.0.1:{d_ports['client']}",
        "127.0.0.1:50052": f"127.0.0.1:{d_ports['admin']}",
        "node.platform-a.example:50061": "127.0.0.1:50161",  # platform-a's roster endpoint
    }

    with example_consortium(tmp_path / "consortium") as processes:
        nodes = {name: example_node(process) for name, process in processes.items()}
        a = nodes["platform-a"]
        submit_md5(a, "known before platform-d")  # bootstrap must bring it
        published_at = 0.0
        for heading, role, block in doc_blocks():
            for command in block:
                if role == "serve":
                    argv = words(command.replace("/etc/hashnode", str(home)))
                    assert argv[:3] == ["hashnode", "serve", "--config"], command
                    nodes[D] = Node(
                        NodeProcess.start(Path(argv[3]), tmp_path / "platform-d.log", timeout=60),
                        home / "tls.crt",
                        home / "client-token",
                        home / "admin-token",
                    )
                    started = time.monotonic()
                    continue
                session = you if role == "you" else stewards
                for text, value in filled.items():
                    command = command.replace(text, value) if role == "you" else command
                output = session.run(command.replace("<hex>", filled.get("<hex>", "<hex>")))
                after_command(heading, command, output, filled, you, stewards, home)
                if words(command) == ["hashnode", "admin", "publish", "v2.json"]:
                    published_at = time.monotonic()
                    # Published at platform-a only: -b and -c fetch it by themselves, within a heartbeat.
                    took = eventually(lambda: all(n.roster_version() == 2 for n in nodes.values()), "version 2", 15)
                    print(f"version 2 at every node {took:.1f} s after its publication at platform-a")
                if heading.startswith("## 5.") and command.startswith("export"):
                    check_joined(nodes, started, published_at)
                if command.startswith("hashnode admin peers"):
                    assert [line.split()[:3] for line in output.splitlines()] == [
                        [m, f"127.0.0.1:{50061 + 100 * (i + 1)}", "roster"] for i, m in enumerate(MEMBERS)
                    ], output
                if command.startswith("hashnode health"):
                    assert "3 of 3 reachable" in output, output
                if heading.startswith("## 6.") and command.startswith("hashnode submit"):
                    took = eventually(lambda: all(nodes[m].matches(D_HASH) for m in MEMBERS), "D's hash", 10)
                    print(f"platform-d's hash matchable at every other node {took:.2f} s after its submit")
                if words(command) == ["hashnode", "admin", "publish", "v3.json"]:
                    check_revoked(nodes, d_endpoint)
                if command.startswith("hashnode admin purge-member"):
                    assert not a.matches(D_HASH)  # platform-a withholds platform-d's earlier records too
                    assert nodes["platform-b"].matches(D_HASH)  # a purge is local to the node that ran it
        nodes[D].process.stop()
    d_endpoint.close()


def md5(tag: str) -> str:
    return hashlib.md5(tag.encode()).hexdigest()


def submit_md5(node: Node, tag: str) -> None:
    args = argparse.Namespace(target=node.process.address, ca=node.certificate, token_file=node.client_token)
    record = types_pb2.HashRecord(signal_type="md5", value=md5(tag), labels=[LABEL])
    with channel(args) as opened:
        client_pb2_grpc.HashNodeStub(opened).Submit(client_pb2.SubmitRequest(records=[record]), timeout=10)


def after_command(
    heading: str,
    command: str,
    output: str,
    filled: dict[str, str],
    you: ShellSession,
    stewards: ShellSession,
    home: Path,
) -> None:
    """What the people do between the commands: send files, confirm ids; and what the output must say."""
    if command.startswith("hashnode join") and heading.startswith("## 1."):
        shutil.copy(home / "join-request.json", stewards.cwd)  # sent to the stewards
    if words(command) == ["hashnode", "admin", "publish", "v2.json"]:
        filled["<the roster id the stewards confirmed>"] = re.findall(r"[0-9a-f]{64}", output)[0]
        shutil.copy(stewards.cwd / "v2.json", you.cwd)  # sent to the new member, with its id
    if command.startswith("hashnode admin show v2.json"):
        assert "+ platform-d (Platform D) joins as contributor" in output, output
        assert f"endpoints {filled['node.platform-d.example:50061']}" in output, output
    if command.startswith("hashnode bootstrap"):
        assert "roster chain verified: now at version 2" in output and "lag        0 entries behind" in output
    if command.startswith("hashnode keygen"):
        filled["<hex>"] = re.findall(r"[0-9a-f]{64}", output)[0]
    if command.startswith("hashnode join") and "new-identity" in command:
        (stewards.cwd / "new-identity").mkdir()
        shutil.copy(you.cwd / "new-identity" / "tls.crt", stewards.cwd / "new-identity")


def check_joined(nodes: dict[str, Node], started: float, published_at: float) -> None:
    """Every node dials every other through the roster, the new one included, with no operator's help."""
    d = nodes[D]
    eventually(lambda: {m: s for m, (_, s) in d.peers().items()} == dict.fromkeys(MEMBERS, "live"), "D's links")
    print(f"platform-d's links to the others live {time.monotonic() - started:.1f} s after it started")
    for name in MEMBERS:
        eventually(lambda name=name: nodes[name].peers().get(D) == ("roster", "live"), f"{name} dialling D")
        print(f"{name}'s link to platform-d live {time.monotonic() - started:.1f} s after platform-d started")
    print(f"(the roster admitting platform-d was published {started - published_at:.1f} s before it started)")
    assert d.matches(md5("known before platform-d"))  # bootstrap brought it


def check_revoked(nodes: dict[str, Node], d_endpoint: TcpProxy) -> None:
    """Version 3 (published at platform-a only) revokes platform-d: no node dials it any more."""
    for name in MEMBERS:
        took = eventually(lambda name=name: D not in nodes[name].peers(), f"{name} to stop dialling D", 15)
        print(f"{name} stopped dialling platform-d {took:.1f} s after the revocation's publication")
        assert nodes[name].matches(D_HASH)  # signed before the cutoff: stays valid
    time.sleep(1.0)  # the links just dropped finish stopping (their calls are cancelled, their channels closed)
    dialled = d_endpoint.stats.connections
    time.sleep(7.0)  # longer than a heartbeat timeout, an anti-entropy pass and a roster exchange round
    assert d_endpoint.stats.connections == dialled, "a node dialled the revoked member"
