"""`python -m demo` (`make demo`): a guided run of a three-member consortium, narrated for a person.

The story: platform A contributes the hashes of a known piece of violent extremist content (here, a harmless
photo of a bridge stands in for it); within a second the hashes are matchable at platforms B and C, whose
nodes replicate A's signed log; an exact copy is then matched at B and an edited copy at C, as a
near-duplicate; C fetches the provenance of the hash, which names A as the contributor, verifies it offline
against the consortium's keys, and sees that changing a single byte of that evidence is detected.

It uses the EXAMPLE keys in keys/example (never for production), a temporary data directory and real
`hashnode serve` processes on loopback: mutual TLS between the nodes, pinned to the roster.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import csv
import io
import json
import shlex
import socket
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc

from node.api.gen.hashnode.v1 import admin_pb2, admin_pb2_grpc, client_pb2, client_pb2_grpc
from node.cli.command_base import channel
from node.cli.main import main as hashnode
from node.cli.serve_cmd import NodeProcess
from node.core.errors import HashnodeError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_KEYS = ROOT / "keys/example"
MEMBERS = ["platform-a", "platform-b", "platform-c"]
READY_S = 30.0  # for every node to have compared its log with a peer and opened its push streams
PROPAGATION_S = 5.0  # a contribution not matchable everywhere by then fails the demo (the target is 1 s)
PDQ_DATA = ROOT.parent / "shared/data/pdq"
LABEL = "tvec.propaganda"


@dataclass(frozen=True)
class ImageHashes:
    name: str
    pdq: str
    quality: int
    md5: str
    sha256: str


# Reference hashes of two images of Meta's PDQ test set, used when ../shared/data/pdq is not there.
BUILT_IN = {
    "bridge-mods/aaa-orig.jpg": ImageHashes(
        "bridge-mods/aaa-orig.jpg",
        "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
        100,
        "d35c785545392755e7e4164457657269",
        "b5b0799616df52d475a3968dc7e54f1d0724c912244ffa6175bc786375dd7298",
    ),
    "bridge-mods/blur-a-lot.jpg": ImageHashes(
        "bridge-mods/blur-a-lot.jpg",
        "f8f8f0cee0f4a84f0637022a038f67f0b36e26d596621e1d33e6b39c4e9c9b22",
        100,
        "552d2d428fe0ff59d3458370a9712573",
        "08e69270937da0226e4571465672d57d7da20a3884aff672461affd7824948cd",
    ),
}
ORIGINAL, EDIT = "bridge-mods/aaa-orig.jpg", "bridge-mods/blur-a-lot.jpg"


class DemoFailed(Exception):
    """Something the story relies on did not happen."""


class PortTaken(DemoFailed):
    """A port the demo picked as free was taken by another program before its node could bind it."""


ATTEMPTS = 3  # starts of the consortium on fresh ports when another program takes one of them first


def load_images() -> dict[str, ImageHashes]:
    expected = PDQ_DATA / "expected.csv"
    if not expected.exists():
        return BUILT_IN
    with expected.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {
        row["path"]: ImageHashes(row["path"], row["pdq_hex"], int(row["quality"]), row["md5"], row["sha256"])
        for row in rows
    }


# --- narration ----------------------------------------------------------------------------------------------


def say(text: str) -> None:
    print()
    print(textwrap.fill(" ".join(text.split()), width=100))
    sys.stdout.flush()


def step(number: int, title: str) -> None:
    print(f"\n=== {number}. {title} " + "=" * max(0, 90 - len(title)))


def shown(path: Path | str) -> str:
    """A path as short as it can be for the reader: relative to the current directory when inside it."""
    path = Path(path)
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd()))
    return str(path)


def run(*argv: str | Path, expect: int = 0) -> str:
    """Runs and shows `hashnode ARGV...`; returns its standard output."""
    args = [str(a) for a in argv]
    print("\n$ hashnode " + " ".join(shlex.quote(shown(a) if isinstance(a, Path) else a) for a in argv))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = hashnode(args)
    text = out.getvalue()
    for line in (text + err.getvalue()).splitlines():
        print("  " + line)
    if code != expect:
        raise DemoFailed(f"`hashnode {' '.join(args)}` exited {code}, expected {expect}")
    return text


def run_json(*argv: str | Path) -> object:
    """Runs a command with --json quietly and returns the parsed output."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = hashnode([*(str(a) for a in argv), "--json"])
    if code != 0:
        raise DemoFailed(f"`hashnode {' '.join(map(str, argv))} --json` exited {code}")
    return json.loads(out.getvalue())


# --- nodes --------------------------------------------------------------------------------------------------


@dataclass
class DemoNode:
    member_id: str
    config: Path
    process: NodeProcess | None = None

    @property
    def target(self) -> str:
        if self.process is None:
            raise DemoFailed(f"node {self.member_id} is not running")
        return self.process.target

    @property
    def client_args(self) -> list[str | Path]:
        """How the platform's own systems reach the node: its address, its TLS certificate, a client token."""
        keys = EXAMPLE_KEYS / self.member_id
        return [
            "--target",
            self.target,
            "--ca",
            keys.with_suffix(".crt"),
            "--token-file",
            keys.with_suffix(".client-token"),
        ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(workdir: Path, member_id: str, peer_ports: dict[str, int]) -> Path:
    """The example member's node config, with its data in `workdir`: TLS with the example identity, its client
    and admin listeners on any free port, its peer listener on `peer_ports[member_id]` and every other member
    of `peer_ports` as a peer. (The example configs run on fixed ports, dialling each other through the
    roster's endpoints; the demo must not take those ports from someone running the example consortium.)"""
    config = (EXAMPLE_KEYS / f"{member_id}.toml").read_text(encoding="utf-8")
    for section, port in (("[node]", 0), ("[peer]", peer_ports[member_id]), ("[admin]", 0)):
        before, found, after = config.partition(f"{section}\n")
        listen = after.split("\n[", 1)[0]
        line = next((x for x in listen.splitlines() if x.startswith("listen = ")), None)
        if not found or line is None:
            raise DemoFailed(f"{member_id}.toml: expected a listen line in {section}")
        config = before + found + after.replace(line, f'listen = "127.0.0.1:{port}"', 1)
    config = config.replace("[peer]\n", "[peer]\nmesh = false\n")
    config = config.replace("[node]\n", f'[node]\ndata_dir = "{workdir / "data" / member_id}"\n')
    config += "\n[replication]\nanti_entropy_ms = 1000\n"
    for peer, port in peer_ports.items():
        if peer != member_id:
            config += f'\n[[peers]]\nname = "{peer}"\naddress = "127.0.0.1:{port}"\n'
    for name in (
        "roster.json",
        f"{member_id}.key",
        f"{member_id}.crt",
        f"{member_id}.tls.key",
        f"{member_id}.client-token",
        f"{member_id}.admin-token",
    ):
        config = config.replace(f'"{name}"', f'"{EXAMPLE_KEYS / name}"')
    path = workdir / f"{member_id}.toml"
    path.write_text(config, encoding="utf-8")
    return path


@contextlib.contextmanager
def running_nodes(workdir: Path, members: list[str]) -> Iterator[list[DemoNode]]:
    """Starts one node per member, each a peer of the others; stops them all (SIGTERM, graceful) however the
    story ends."""
    ports = {member: free_port() for member in members}
    nodes = [DemoNode(member, write_config(workdir, member, ports)) for member in members]
    try:
        for node in nodes:
            print(f"\n$ hashnode serve --config {shown(node.config)} &")
            try:
                node.process = NodeProcess.start(node.config, workdir / f"{node.member_id}.log")
            except HashnodeError as exc:
                if "cannot bind" in str(exc):
                    raise PortTaken(f"{node.member_id}: {str(exc).splitlines()[-1]}") from None
                raise DemoFailed(f"the node of {node.member_id} did not start: {exc}") from None
            print(f"  hashnode: serving member {node.process.member_id} on {node.process.address}")
        yield nodes
    finally:
        for node in nodes:
            if node.process is not None:
                code = node.process.stop()
                print(f"\nstopped the node of {node.member_id} (exit code {code})")


# --- the story ----------------------------------------------------------------------------------------------


def contribute(node: DemoNode, workdir: Path, original: ImageHashes) -> list[str]:
    batch = workdir / "batch.csv"
    batch.write_text(
        "signal_type,value,quality,labels,reference,source\n"
        f"pdq,{original.pdq},{original.quality},{LABEL},case-2041,proactive-detection\n"
        f"md5,{original.md5},,{LABEL},case-2041,proactive-detection\n"
        f"sha256,{original.sha256},,{LABEL},case-2041,proactive-detection\n",
        encoding="utf-8",
    )
    print(f"\n$ cat {shown(batch)}")
    print(textwrap.indent(batch.read_text(encoding="utf-8").rstrip(), "  "))
    out = run("submit", *node.client_args, "--file", batch)
    return [line.split()[0] for line in out.splitlines()[1:]]


def check_match(out: str, record_id: str) -> None:
    if record_id not in out:
        raise DemoFailed(f"expected a match with record {record_id}")


def tamper(bundle: Path, tampered: Path) -> str:
    """Changes one byte of the signed record in a bundle (a letter of its label); returns the new label."""
    data = json.loads(bundle.read_text(encoding="utf-8"))
    item = bytearray(base64.b64decode(data["record_item"]))
    at = item.index(LABEL.encode()) + len(LABEL) - 1
    item[at] ^= 0x03  # 'a' becomes 'b'
    data["record_item"] = base64.b64encode(bytes(item)).decode()
    tampered.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return item[at - len(LABEL) + 1 : at + 1].decode()


def _stubs(node: DemoNode) -> tuple[argparse.Namespace, argparse.Namespace]:
    """How to reach the node's client API (TLS, client token) and its admin API (loopback, operator token)."""
    assert node.process is not None
    keys = EXAMPLE_KEYS / node.member_id
    client = argparse.Namespace(
        target=node.target, ca=keys.with_suffix(".crt"), token_file=keys.with_suffix(".client-token")
    )
    admin = argparse.Namespace(
        target=node.process.admin_address, ca=None, token_file=keys.with_suffix(".admin-token")
    )
    return client, admin


def wait_until_replicating(nodes: list[DemoNode]) -> None:
    """Until every node has compared its own log with a peer's copy (only then may it author) and holds a live
    push stream from each of its peers."""
    deadline = time.monotonic() + READY_S
    for node in nodes:
        with channel(_stubs(node)[1]) as opened:
            admin = admin_pb2_grpc.AdminStub(opened)
            while True:
                try:
                    state = admin.GetReplicationState(admin_pb2.ReplicationStateRequest(), timeout=5)
                    peers = admin.ListPeers(admin_pb2.ListPeersRequest(), timeout=5).peers
                except grpc.RpcError:
                    state, peers = None, []
                if (
                    state is not None
                    and not state.authoring_blocked_reason
                    and all(p.state == "live" for p in peers)
                ):
                    break
                if time.monotonic() > deadline:
                    raise DemoFailed(
                        f"the node of {node.member_id} did not start replicating within {READY_S} s"
                    )
                time.sleep(0.05)
        print(f"  {node.member_id}: replicating with {', '.join(p.name for p in peers)} (push streams live)")


def seconds_until_matchable(node: DemoNode, md5: str, record_id: str, since: float) -> float:
    """Polls the node's Match until the record is there; the seconds since `since`."""
    query = client_pb2.MatchRequest(queries=[client_pb2.HashQuery(signal_type="md5", value=md5)])
    with channel(_stubs(node)[0]) as opened:
        stub = client_pb2_grpc.HashNodeStub(opened)
        while time.monotonic() - since < PROPAGATION_S:
            reply = stub.Match(query, timeout=5)
            if any(m.provenance_ref == record_id for m in reply.results[0].matches):
                return time.monotonic() - since
            time.sleep(0.005)
    raise DemoFailed(f"record {record_id} was not matchable at {node.member_id} within {PROPAGATION_S} s")


def story(workdir: Path) -> float:
    """Tells the story; returns the slowest propagation measured, in seconds."""
    images = load_images()
    original, edit = images[ORIGINAL], images[EDIT]
    consortium = EXAMPLE_KEYS / "consortium.toml"
    step(1, "Start the nodes of platforms A, B and C")
    say(f"""The example consortium ({shown(consortium)}) has three stewards and three platforms, each with an
        EXAMPLE key. Each platform runs a node; every node is a peer of the other two: it subscribes to their
        new entries and, every second, compares what it holds with what they hold. Nodes talk over mutual TLS,
        each trusting only the certificates the signed roster lists. Their data live in a temporary
        directory.""")
    with running_nodes(workdir, MEMBERS) as nodes:
        a, b, c = nodes
        wait_until_replicating(nodes)

        step(2, "Platform A contributes the hashes of a known item")
        say("""Platform A's moderators confirmed an image as terrorist propaganda. Its node signs the PDQ hash
            (perceptual, survives edits) and the MD5 and SHA-256 (exact copies) as one entry of Platform A's
            log, under a label of the consortium's taxonomy and with Platform A's own case reference.""")
        pdq_id, md5_id, sha_id = contribute(a, workdir, original)
        submitted = time.monotonic()

        step(3, "The entry reaches platforms B and C")
        say("""A's node pushes the signed entry to B's and C's nodes, which check the signature against the
            roster, the chain against A's log, and every record, before they store and index it.""")
        delays = {n.member_id: seconds_until_matchable(n, original.md5, md5_id, submitted) for n in (b, c)}
        for member, delay in delays.items():
            print(f"  matchable at {member} {1000 * delay:.0f} ms after A's node acknowledged the submission")

        step(4, "Exact matches at platform B")
        say("An exact copy of the file is uploaded to platform B: its MD5 and SHA-256 match exactly.")
        check_match(run("match", *b.client_args, "--type", "md5", original.md5), md5_id)
        check_match(run("match", *b.client_args, "--type", "sha256", original.sha256), sha_id)

        step(5, "A near-duplicate at platform C")
        say(f"""Someone uploads an edited copy ({EDIT}: blurred) to platform C. Its bytes differ, so MD5 and
            SHA-256 no longer match, but its PDQ hash is a few bits from the original's: within the
            consortium's threshold of 31 bits, it matches.""")
        check_match(run("match", *c.client_args, edit.pdq), pdq_id)
        run("match", *c.client_args, "--type", "md5", edit.md5)

        step(6, "Why is this hash in the database? Platform C fetches its provenance")
        bundle = workdir / "bundle.json"
        run("provenance", *c.client_args, pdq_id, "--out", bundle)

    step(7, "Verify the bundle offline")
    say("""The nodes are stopped now. Anyone holding the bundle and the consortium file can check, offline,
        who contributed the hash (platform A, although C's node assembled the bundle), when, and under which
        label: the signature, the Merkle inclusion proof and the record id are all recomputed from the bytes
        in the file.""")
    run("verify", bundle, "--consortium", consortium)

    step(8, "Tamper with one byte")
    say("""Suppose someone edits the bundle to make the hash look as if it carried another label: here, one
        letter of the label inside the signed record changes. Verification fails, loudly.""")
    tampered = workdir / "tampered.json"
    forged_label = tamper(bundle, tampered)
    print(f"\n  {shown(tampered)}: record_item now says {forged_label!r} where {LABEL!r} was signed")
    run("verify", tampered, "--consortium", consortium, expect=1)
    return max(delays.values())


def main() -> int:
    print("hashnode demo: three nodes of a hash-sharing consortium, with EXAMPLE keys (never for production)")
    for attempt in range(1, ATTEMPTS + 1):
        with tempfile.TemporaryDirectory(prefix="hashnode-demo-") as tmp:
            try:
                slowest = story(Path(tmp))
                break
            except PortTaken as exc:
                if attempt == ATTEMPTS:
                    print(f"\ndemo FAILED: {exc}", file=sys.stderr)
                    return 1
                print(f"\nanother program took a port the demo had picked ({exc}); starting again on other ports")
            except (DemoFailed, HashnodeError) as exc:
                print(f"\ndemo FAILED: {exc}", file=sys.stderr)
                return 1
    print(
        f"\ndemo complete: contributed at A, matchable at B and C within {1000 * slowest:.0f} ms, matched "
        "exactly and as a near-duplicate, provenance verified, tamper caught."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
