"""Shared by the replication tests: test members with fixed keys, signed chains of valid hash records, ledgers
over real LMDB in a temporary directory."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from node.api.gen.hashnode.v1 import peer_pb2_grpc
from node.core.entry import ZERO_ID, Entry, EntryKind, sign_entry
from node.core.keys import SigningKey
from node.core.records import HashRecord
from node.core.taxonomy import Taxonomy
from node.ledger.ledger import Ledger, LedgerSettings, now_ms
from node.ledger.replica import Replica
from node.membership.members import Member, MemberKey, Membership
from node.network.replicator import PeerAddress, PeerStatus, ReplicationSettings, Replicator
from node.runtime.config import load_config
from node.runtime.runtime import open_node
from node.server import client_service
from node.server.client_service import HashNodeServicer
from node.server.peer_service import PeerServicer
from node.server.status import ErrorStatusInterceptor

CONSORTIUM = "test-consortium"
T0 = 1_700_000_000_000
NOW = T0 + 3_600_000
LABEL = "tvec.propaganda"


def key(name: str) -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(b"test replica " + name.encode()).digest())


KEYS = {name: key(name) for name in ("alice", "bob", "carol")}
EVERYONE = Membership.from_members(
    CONSORTIUM, [Member(n, n, (MemberKey(k.public),)) for n, k in KEYS.items()]
)
WITHOUT_CAROL = Membership.from_members(CONSORTIUM, [m for m in EVERYONE if m.member_id != "carol"])


def record_item(author: str, seq: int, tag: bytes = b"", index: int = 0) -> bytes:
    """A valid record item, different per author, seq, tag and index: md5, or pdq for even seqs."""
    digest = hashlib.sha256(tag + f"{author} {seq} {index}".encode()).digest()
    if seq % 2 == 0:
        return HashRecord("pdq", digest, 90, (LABEL,)).encode()
    return HashRecord("md5", digest[:16], 0, (LABEL,)).encode()


def sign(
    author: str,
    seq: int,
    prev: bytes,
    items: list[bytes],
    *,
    timestamp_ms: int | None = None,
    consortium: str = CONSORTIUM,
    signer: SigningKey | None = None,
    kind: EntryKind = EntryKind.CONTRIBUTION,
) -> Entry:
    return sign_entry(
        signer or KEYS[author],
        consortium_id=consortium,
        author=author,
        seq=seq,
        prev=prev,
        timestamp_ms=T0 + seq * 1000 if timestamp_ms is None else timestamp_ms,
        kind=kind,
        items=items,
    )


def chain(
    author: str, n: int, *, tag: bytes = b"", after: Entry | None = None, records: int = 1
) -> list[Entry]:
    """Entries of `author`'s log, one second apart: 1..n, or the n after `after`."""
    entries: list[Entry] = [after] if after else []
    for _ in range(n):
        prev = entries[-1] if entries else None
        seq = prev.header.seq + 1 if prev else 1
        items = [record_item(author, seq, tag, i) for i in range(records)]
        entries.append(sign(author, seq, prev.entry_id if prev else ZERO_ID, items))
    return entries[1:] if after else entries


def forged(entry: Entry) -> Entry:
    """The same entry with one bit of its signature flipped."""
    signature = bytes([entry.signature[0] ^ 1]) + entry.signature[1:]
    return Entry.parse(entry.header_bytes, signature, entry.items)


def open_ledger(
    directory: Path,
    membership: Membership = EVERYONE,
    member: str = "alice",
    *,
    signer: SigningKey | None = None,
    clock: Callable[[], int] | None = lambda: NOW,
) -> Ledger:
    """A ledger over real LMDB in `directory`; by default without a signing key and with the clock at NOW."""
    return Ledger.open(
        directory,
        settings=LedgerSettings(consortium_id=CONSORTIUM, member_id=member, map_size=1 << 30),
        membership=membership,
        signer=signer,
        taxonomy=Taxonomy.default(),
        clock=clock or now_ms,
    )


# --- nodes on loopback, in this process ---------------------------------------------------------------------


@dataclass
class NetNode:
    """A ledger, its replica, a gRPC server (HashNode and Peer) on 127.0.0.1, and maybe a replicator."""

    name: str
    ledger: Ledger
    replica: Replica
    server: grpc.Server
    port: int
    stopping: threading.Event
    replicator: Replicator | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def replicate_from(self, *peers: NetNode | str, **settings: Any) -> Replicator:
        """Starts a replicator with `peers` (nodes, or raw addresses named by themselves)."""
        addresses = [
            PeerAddress(p, p) if isinstance(p, str) else PeerAddress(p.name, p.address) for p in peers
        ]
        defaults: dict[str, Any] = {"anti_entropy_ms": 300, "backoff_initial_ms": 50, "backoff_max_ms": 500}
        self.replicator = Replicator(
            self.replica, addresses, settings=ReplicationSettings(**{**defaults, **settings}), seed=1
        )
        self.replicator.start()
        return self.replicator

    def statuses(self) -> list[PeerStatus]:
        assert self.replicator is not None, f"{self.name} replicates from nobody"
        return self.replicator.statuses()

    def stop_replicating(self) -> None:
        if self.replicator is not None:
            self.replicator.stop()

    def stop(self) -> None:
        if self.replicator is not None:
            self.replicator.stop()
        self.stopping.set()
        self.server.stop(None).wait()
        self.ledger.close()


def serve(name: str, ledger: Ledger, replica: Replica | None = None) -> NetNode:
    """Serves HashNode and Peer for `ledger` on 127.0.0.1, port 0."""
    replica = replica or Replica(ledger)
    stopping = threading.Event()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16), interceptors=[ErrorStatusInterceptor()])
    client_service.add_to_server(HashNodeServicer(ledger), server)
    peer_pb2_grpc.add_PeerServicer_to_server(PeerServicer(replica, stopping=stopping), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return NetNode(name, ledger, replica, server, port, stopping)


def wait_for(condition: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> float:
    """Polls `condition` every 5 ms until true; returns the seconds it took. Fails after `timeout`."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.005)
    return time.monotonic() - start

def write_process_config(directory: Path, member: str, peers: dict[str, str], peer_port: int = 0) -> Path:
    """An insecure `hashnode serve` config for a test member: its key and the roster in `directory`, every
    listener on a free port but the peer listener (on `peer_port`), `peers` dialled by address."""
    tables = "".join(f'[[peers]]\nname = "{n}"\naddress = "{a}"\n' for n, a in sorted(peers.items()))
    path = directory / f"{member}.toml"
    path.write_text(
        f"""[node]
member_id = "{member}"
roster = "{directory / 'roster.json'}"
signing_key = "{directory / f'{member}.key'}"
data_dir = "data-{member}"
listen = "127.0.0.1:0"
insecure = true
[peer]
listen = "127.0.0.1:{peer_port}"
[admin]
listen = "127.0.0.1:0"
[metrics]
listen = "127.0.0.1:0"
[replication]
anti_entropy_ms = 200
{tables}""",
        encoding="utf-8",
    )
    return path


def plant_entries(directory: Path, member: str, entries: list[Entry]) -> None:
    """Writes entries `member` signed straight into its node's store, as a modified node would hold them."""
    runtime = open_node(load_config(directory / f"{member}.toml"))
    try:
        runtime.ledger.commit_entries(entries)
    finally:
        runtime.close()


def sign_chain(key: SigningKey, consortium_id: str, author: str, items: list[tuple[EntryKind, bytes]],
               start_ms: int) -> list[Entry]:
    """`author`'s log of one entry per (kind, item), seq 1.., each chained to the one before, a millisecond apart
    from `start_ms` + 1."""
    entries: list[Entry] = []
    for seq, (kind, item) in enumerate(items, start=1):
        entries.append(
            sign_entry(
                key, consortium_id=consortium_id, author=author, seq=seq,
                prev=entries[-1].entry_id if entries else ZERO_ID, timestamp_ms=start_ms + seq, kind=kind,
                items=[item],
            )
        )
    return entries
