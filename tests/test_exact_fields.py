"""Wire values are exact, and every bounded field says its bound (issue 12 item 7).

A signal type, a hash value, a record or entry id is taken as the client sent it: "pdq ", " md5", "PDQ" and an
id with a space around it are INVALID_ARGUMENT naming the field and the exact names accepted, never silently
trimmed (the CLI and import files forgive what a person types, and send the exact name). Labels, tags and member
ids were exact already and are held to it here. A field with a size limit, on the client, peer and admin
services, refused past it names the field and the limit. And `grpc.health.v1.Health/List`, documented as
public, answers on every listener.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from conftest import RunningNode
from grpc_health.v1 import health_pb2, health_pb2_grpc

from node.api.gen.hashnode.v1 import admin_pb2, admin_pb2_grpc, client_pb2, peer_pb2, peer_pb2_grpc, types_pb2
from node.core.content_ref import MAX_CONTENT_REF_BYTES
from node.core.signals import REGISTRY

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
LABEL = "tvec.propaganda"
RECORD_ID = "ab" * 32
NAMES = "want one of " + ", ".join(sorted(REGISTRY)) + ", exactly"
LONG_MEMBER = "a" * 65


def record(**fields: Any) -> types_pb2.HashRecord:
    return types_pb2.HashRecord(**{"signal_type": "pdq", "value": PDQ, "quality": 90, "labels": [LABEL], **fields})


def submit(**fields: Any) -> Callable[[RunningNode], Any]:
    return lambda node: node.client.Submit(client_pb2.SubmitRequest(records=[record(**fields)]), timeout=10)


def match(signal_type: str = "pdq", value: str = PDQ, content_ref: str = "") -> Callable[[RunningNode], Any]:
    query = client_pb2.HashQuery(signal_type=signal_type, value=value, content_ref=content_ref)
    return lambda node: node.client.Match(client_pb2.MatchRequest(queries=[query]), timeout=10)


def peer(node: RunningNode) -> peer_pb2_grpc.PeerStub:
    return peer_pb2_grpc.PeerStub(grpc.insecure_channel(node.peer_target))


def fetch(author: str) -> Callable[[RunningNode], Any]:
    ranges = [peer_pb2.AuthorRange(author=author, from_seq=1)]
    return lambda node: list(peer(node).FetchEntries(peer_pb2.FetchRequest(ranges=ranges), timeout=10))


def subscribe_since(author: str) -> Callable[[RunningNode], Any]:
    since = peer_pb2.Frontier(heads=[peer_pb2.AuthorHead(author=author, seq=1, entry_id=b"\x01" * 32)])
    return lambda node: next(iter(peer(node).Subscribe(peer_pb2.SubscribeRequest(since=since), timeout=10)))


def admin(call: Callable[[admin_pb2_grpc.AdminStub], Any]) -> Callable[[RunningNode], Any]:
    return lambda node: call(node.admin)


@dataclass(frozen=True)
class Refused:
    name: str
    call: Callable[[RunningNode], Any]
    field: str  # the details start with it
    want: str  # and say this


CASES = [
    # --- exact names and values: nothing trimmed, no other case ---------------------------------------------
    *[
        Refused(f"Submit signal type {spelled!r}", submit(signal_type=spelled), "records[0].signal_type", NAMES)
        for spelled in ("pdq ", " md5", "PDQ", "pdq\n", "Sha256")
    ],
    Refused("Submit value with a trailing space", submit(value=PDQ + " "), "records[0].value", "no spaces"),
    Refused("Submit value with a leading tab", submit(value="\t" + PDQ), "records[0].value", "no spaces"),
    Refused("Submit label with a trailing space", submit(labels=[LABEL + " "]), "records[0].labels", "label"),
    Refused("Submit tag with a trailing space", submit(tags=["campaign "]), "records[0].tags", "lowercase tag"),
    Refused("Submit tag in upper case", submit(tags=["Campaign"]), "records[0].tags", "lowercase tag"),
    Refused("Match signal type 'pdq '", match(signal_type="pdq "), "queries[0].signal_type", NAMES),
    Refused("Match signal type 'PDQ'", match(signal_type="PDQ"), "queries[0].signal_type", NAMES),
    Refused("Match value with a space", match(value=" " + PDQ), "queries[0].value", "no spaces"),
    Refused(
        "GetProvenance id with a trailing space",
        lambda node: node.client.GetProvenance(client_pb2.ProvenanceRequest(record_id=RECORD_ID[:-1] + " ")),
        "record_id",
        "64 hex characters, no spaces",
    ),
    Refused(
        "Retract id with spaces around",
        lambda node: node.client.Retract(client_pb2.RetractRequest(record_ids=[f" {RECORD_ID} "], reason="x")),
        "record_ids[0]",
        "64 hex characters",
    ),
    # --- bounded fields: the field and the bound ------------------------------------------------------------
    Refused("FetchEntries author of 65 characters", fetch(LONG_MEMBER), "ranges[0].author", "1-64 characters"),
    Refused("FetchEntries author of 100 KiB", fetch("a" * 100_000), "ranges[0].author", "1-64 characters"),
    Refused("FetchEntries author in upper case", fetch("Platform-a"), "ranges[0].author", "1-64 characters a-z"),
    Refused("FetchEntries empty author", fetch(""), "ranges[0].author", "1-64 characters"),
    Refused(
        "Subscribe head author of 65 characters",
        subscribe_since(LONG_MEMBER),
        "since.heads[0].author",
        "1-64 characters",
    ),
    Refused(
        "Match content_ref over the limit",
        match(content_ref="x" * (MAX_CONTENT_REF_BYTES + 1)),
        "queries[0].content_ref",
        f"at most {MAX_CONTENT_REF_BYTES} bytes",
    ),
    Refused(
        "ExplainMatch content_ref over the limit",
        admin(lambda a: a.ExplainMatch(admin_pb2.ExplainMatchRequest(content_ref="x" * (MAX_CONTENT_REF_BYTES + 1)))),
        "content_ref",
        f"at most {MAX_CONTENT_REF_BYTES} bytes",
    ),
    Refused(
        "PurgeMember member id of 65 characters",
        admin(lambda a: a.PurgeMember(admin_pb2.PurgeMemberRequest(member_id=LONG_MEMBER, reason="r"))),
        "member_id",
        "1-64 characters",
    ),
    Refused(
        "AddPeer name of 65 characters",
        admin(lambda a: a.AddPeer(admin_pb2.AddPeerRequest(name=LONG_MEMBER, address="127.0.0.1:1"))),
        "name",
        "1-64 characters",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_value_that_is_not_exact_or_too_long_is_refused_naming_the_field(node: RunningNode, case: Refused) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        case.call(node)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
    details = caught.value.details()
    assert details.startswith(case.field + ": got "), details
    assert case.want in details, details


def test_the_exact_names_are_accepted(node: RunningNode) -> None:
    reply = node.client.Submit(client_pb2.SubmitRequest(records=[record(value=PDQ.upper())]), timeout=10)
    assert len(reply.record_ids) == 1  # hex in either case is the same value; only spelling around it is refused
    (result,) = node.client.Match(client_pb2.MatchRequest(queries=[match_query()]), timeout=10).results
    assert [m.provenance_ref for m in result.matches] == list(reply.record_ids)


def match_query() -> client_pb2.HashQuery:
    return client_pb2.HashQuery(signal_type="pdq", value=PDQ)


def test_health_list_answers_every_service_on_every_listener(node: RunningNode) -> None:
    for target in (node.target, node.peer_target, node.admin_target):
        with grpc.insecure_channel(target) as channel:
            listed = health_pb2_grpc.HealthStub(channel).List(health_pb2.HealthListRequest(), timeout=10)
        statuses = {name: response.status for name, response in listed.statuses.items()}
        assert {"", "hashnode.v1.HashNode", "hashnode.v1.Peer", "hashnode.v1.Admin"} <= set(statuses), statuses
        assert set(statuses.values()) == {health_pb2.HealthCheckResponse.SERVING}, statuses


def test_the_cli_forgives_what_a_person_types_and_sends_the_exact_name(node: RunningNode, cli: Any) -> None:
    result = cli("match", "--type", " PDQ", f" {PDQ.upper()} ", "--target", node.target)
    assert result.code == 0, result.err


def test_a_value_with_spaces_around_is_shown_quoted_so_that_they_can_be_seen(node: RunningNode) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        submit(signal_type="pdq ")(node)
    assert caught.value.details().startswith("records[0].signal_type: got 'pdq ', want ")
    with pytest.raises(grpc.RpcError) as caught:
        submit(value="\t" + PDQ)(node)
    assert caught.value.details().startswith(f"records[0].value: got '\\t{PDQ}', want ")
    with pytest.raises(grpc.RpcError) as caught:
        submit(signal_type="PDQ")(node)  # a plain value reads as it is
    assert caught.value.details().startswith("records[0].signal_type: got PDQ, want ")
