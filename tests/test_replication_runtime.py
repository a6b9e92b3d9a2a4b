"""Replication as a node runs it (node.runtime, the three listeners, insecure loopback mode): followers, the
operator's view (ListPeers, ListEvidence, GetReplicationState) and the [replication] config section."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from conftest import EXAMPLE_KEYS, NodeFactory, RunningNode, node_config

from node.api.gen.hashnode.v1 import admin_pb2, client_pb2, types_pb2
from node.core.entry import ZERO_ID, EntryKind, sign_entry
from node.core.errors import ConfigError
from node.core.keys import SigningKey
from node.core.records import HashRecord
from node.network.addresses import PeerConfig
from node.runtime.config import load_config

LABEL = "tvec.propaganda"


def eventually(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def pdq(tag: str) -> str:
    return hashlib.sha256(tag.encode()).hexdigest()


def submit(node: RunningNode, tag: str) -> client_pb2.SubmitResponse:
    record = types_pb2.HashRecord(signal_type="pdq", value=pdq(tag), quality=90, labels=[LABEL])
    reply: client_pb2.SubmitResponse = node.client.Submit(
        client_pb2.SubmitRequest(records=[record]), timeout=5
    )
    return reply


def matches(node: RunningNode, tag: str) -> list[str]:
    query = client_pb2.HashQuery(signal_type="pdq", value=pdq(tag))
    reply = node.client.Match(client_pb2.MatchRequest(queries=[query]), timeout=5)
    return [m.provenance_ref for m in reply.results[0].matches]


def state(node: RunningNode) -> admin_pb2.ReplicationState:
    reply: admin_pb2.ReplicationState = node.admin.GetReplicationState(admin_pb2.ReplicationStateRequest())
    return reply


def started(
    node_factory: NodeFactory, data: Path, member: str = "platform-a", **overrides: object
) -> RunningNode:
    node = node_factory(node_config(data, member, anti_entropy_ms=300, **overrides))
    node.runtime.start()
    return node


@pytest.mark.parametrize("with_key", [False, True], ids=["without a key", "with its member's key"])
def test_a_follower_replicates_its_primary_serves_matches_and_refuses_to_author(
    node_factory: NodeFactory, tmp_path: Path, with_key: bool
) -> None:
    primary = started(node_factory, tmp_path / "primary")
    key = {} if with_key else {"signing_key": None}
    peers = (PeerConfig("platform-a", primary.peer_target),)
    follower = started(node_factory, tmp_path / "follower", follower=True, peers=peers, **key)
    (record_id,) = submit(primary, "primary's").record_ids
    eventually(lambda: matches(follower, "primary's") == [record_id], "the follower to replicate")
    request = client_pb2.ProvenanceRequest(record_id=record_id)
    if with_key:  # it signs the bundle's assembly with the member key, which it never authors with
        bundle = follower.client.GetProvenance(request, timeout=5)
        assert (bundle.author.member_id, bundle.assembler.member_id) == ("platform-a", "platform-a")
    else:
        with pytest.raises(grpc.RpcError) as keyless:
            follower.client.GetProvenance(request, timeout=5)
        assert keyless.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "no signing key" in keyless.value.details()
    with pytest.raises(grpc.RpcError) as refused:
        submit(follower, "the follower's own")
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "follower" in refused.value.details()
    assert "follower" in state(follower).authoring_blocked_reason
    (peer,) = follower.admin.ListPeers(admin_pb2.ListPeersRequest()).peers
    assert (peer.name, peer.member_id, peer.last_error) == ("platform-a", "platform-a", "")
    assert peer.state in ("synced", "live") and peer.applied >= 1 and peer.last_sync_ms > 0


def test_the_operator_sees_peers_lag_evidence_and_the_state_digest(
    node_factory: NodeFactory, tmp_path: Path
) -> None:
    a = started(node_factory, tmp_path / "a")
    b = started(node_factory, tmp_path / "b", "platform-b", peers=(PeerConfig("platform-a", a.peer_target),))
    eventually(lambda: state(b).authoring_blocked_reason == "", "b to compare its log with a")
    submit(a, "one")
    eventually(lambda: state(a).state_digest == state(b).state_digest, "equal state digests")
    heads = {h.author: h.seq for h in state(b).heads}
    assert heads == {"platform-a": 1}

    # A fork of platform-c, handed to b directly: evidence, and c frozen.
    key_c = SigningKey.load(EXAMPLE_KEYS / "platform-c.key")
    now = int(time.time() * 1000)
    forks = [
        sign_entry(
            key_c,
            consortium_id=a.ledger.settings.consortium_id,
            author="platform-c",
            seq=1,
            prev=ZERO_ID,
            timestamp_ms=now,
            kind=EntryKind.CONTRIBUTION,
            items=[HashRecord("md5", bytes([i]) * 16, 0, (LABEL,)).encode()],
        )
        for i in range(2)
    ]
    assert b.runtime.replica is not None
    b.runtime.replica.receive(forks)
    (info,) = b.admin.ListEvidence(admin_pb2.ListEvidenceRequest()).evidence
    assert (info.author, info.seq, info.kind) == ("platform-c", 1, "same_seq")
    assert {info.evidence.lower.header, info.evidence.upper.header} == {f.header_bytes for f in forks}
    assert list(state(b).convicted_authors) == ["platform-c"] and state(b).evidence == 1
    assert state(b).state_digest != state(a).state_digest  # a does not replicate from b


def test_the_replication_section_of_the_config(tmp_path: Path) -> None:
    path = tmp_path / "node.toml"
    base = f"""[node]
member_id = "platform-a"
roster = "{EXAMPLE_KEYS / "roster.json"}"
signing_key = "{EXAMPLE_KEYS / "platform-a.key"}"
data_dir = "data"
insecure = true
"""
    path.write_text(base, encoding="utf-8")
    defaults = load_config(path)
    assert (defaults.anti_entropy_ms, defaults.authoring_without_peers_after_s) == (5000, 0)
    path.write_text(base + "[replication]\nanti_entropy_ms = 250\nauthoring_without_peers_after_s = 600\n")
    custom = load_config(path)
    assert (custom.anti_entropy_ms, custom.authoring_without_peers_after_s) == (250, 600)
    path.write_text(base + "[replication]\nanti_entropy_ms = 10\n")
    with pytest.raises(ConfigError, match=r"replication\.anti_entropy_ms: got 10, want 100\.\.3600000"):
        load_config(path)
