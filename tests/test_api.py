"""The client API end to end over real gRPC: submit, match (exact, near, stream), provenance, retract."""

from __future__ import annotations

import grpc
import pytest
from conftest import RunningNode
from grpc_health.v1 import health_pb2, health_pb2_grpc

from node.api import convert
from node.api.gen.hashnode.v1 import admin_pb2, client_pb2, types_pb2
from node.membership.members import Membership
from node.provenance import bundle_file
from node.provenance.bundle import verify_bundle

ORIGINAL_PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"  # bridge-mods/aaa-orig.jpg
BLURRED_PDQ = "f8f8f0cee0f4a84f0637022a038f67f0b36e26d596621e1d33e6b39c4e9c9b22"  # bridge-mods/blur-a-lot.jpg
ORIGINAL_MD5 = "d35c785545392755e7e4164457657269"
ORIGINAL_SHA256 = "b5b0799616df52d475a3968dc7e54f1d0724c912244ffa6175bc786375dd7298"
UNRELATED_PDQ = "30a10efd71cc3d429013d48d0ffffc52e34e0e17ada952a9d29685211ea9e5af"


def bit_distance(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def original_records() -> list[types_pb2.HashRecord]:
    labels = ["tvec.propaganda"]
    return [
        types_pb2.HashRecord(
            signal_type="pdq", value=ORIGINAL_PDQ, quality=100, labels=labels, reference="case-1"
        ),
        types_pb2.HashRecord(signal_type="md5", value=ORIGINAL_MD5, labels=labels, tags=["bridge"]),
        types_pb2.HashRecord(signal_type="sha256", value=ORIGINAL_SHA256.upper(), labels=labels),
    ]


def submit_originals(node: RunningNode) -> client_pb2.SubmitResponse:
    return node.client.Submit(client_pb2.SubmitRequest(records=original_records()))


def query(signal_type: str, value: str) -> client_pb2.HashQuery:
    return client_pb2.HashQuery(signal_type=signal_type, value=value)


def test_submit_returns_one_signed_entry_with_a_record_id_per_record(node: RunningNode) -> None:
    response = submit_originals(node)
    assert response.seq == 1
    assert len(response.entry_id) == 64
    assert len(response.record_ids) == 3 and len(set(response.record_ids)) == 3
    assert node.record_count() == 3 and node.entry_count() == 1


def test_successive_submissions_extend_the_members_log(node: RunningNode) -> None:
    first = submit_originals(node)
    second = node.client.Submit(client_pb2.SubmitRequest(records=original_records()[:1]))
    assert (first.seq, second.seq) == (1, 2)


def test_exact_types_match_exactly_and_in_query_order(node: RunningNode) -> None:
    ids = submit_originals(node).record_ids
    request = client_pb2.MatchRequest(
        queries=[query("sha256", ORIGINAL_SHA256), query("md5", "0" * 32), query("md5", ORIGINAL_MD5)]
    )
    results = node.client.Match(request).results
    assert [r.query_index for r in results] == [0, 1, 2]
    assert [[m.provenance_ref for m in r.matches] for r in results] == [[ids[2]], [], [ids[1]]]
    assert results[2].matches[0].distance == 0


def test_near_duplicate_pdq_matches_with_its_distance(node: RunningNode) -> None:
    ids = submit_originals(node).record_ids
    results = node.client.Match(client_pb2.MatchRequest(queries=[query("pdq", BLURRED_PDQ)])).results
    (match,) = results[0].matches
    assert (match.provenance_ref, match.author, list(match.labels)) == (ids[0], "platform-a", ["tvec.propaganda"])
    assert match.distance == bit_distance(ORIGINAL_PDQ, BLURRED_PDQ) > 0
    assert not match.HasField("record")  # the record's details come on request


def test_a_match_carries_its_records_details_on_request(node: RunningNode) -> None:
    ids = submit_originals(node).record_ids
    request = client_pb2.MatchRequest(queries=[query("pdq", BLURRED_PDQ)], include_records=True)
    (match,) = node.client.Match(request).results[0].matches
    assert (match.provenance_ref, match.record.record_id) == (ids[0], ids[0])
    info = match.record
    assert (info.author, info.seq, info.index, info.status) == (
        "platform-a",
        1,
        0,
        types_pb2.RECORD_STATUS_ACTIVE,
    )
    assert (info.record.value, info.record.quality, info.record.reference) == (ORIGINAL_PDQ, 100, "case-1")


def test_pdq_threshold_bounds_near_matches(node: RunningNode) -> None:
    submit_originals(node)
    distance = bit_distance(ORIGINAL_PDQ, BLURRED_PDQ)
    below = client_pb2.MatchRequest(queries=[query("pdq", BLURRED_PDQ)], pdq_threshold=distance - 1)
    at = client_pb2.MatchRequest(queries=[query("pdq", BLURRED_PDQ)], pdq_threshold=distance)
    assert not node.client.Match(below).results[0].matches
    assert node.client.Match(at).results[0].matches


def test_unrelated_image_does_not_match(node: RunningNode) -> None:
    submit_originals(node)
    assert (
        not node.client.Match(client_pb2.MatchRequest(queries=[query("pdq", UNRELATED_PDQ)]))
        .results[0]
        .matches
    )


def test_match_stream_answers_each_request_in_order(node: RunningNode) -> None:
    ids = submit_originals(node).record_ids
    requests = [
        client_pb2.MatchRequest(queries=[query("pdq", BLURRED_PDQ)]),
        client_pb2.MatchRequest(queries=[query("pdq", UNRELATED_PDQ)]),
        client_pb2.MatchRequest(queries=[query("md5", ORIGINAL_MD5), query("pdq", ORIGINAL_PDQ)]),
    ]
    responses = list(node.client.MatchStream(iter(requests)))
    assert [[[m.provenance_ref for m in r.matches] for r in resp.results] for resp in responses] == [
        [[ids[0]]],
        [[]],
        [[ids[1]], [ids[0]]],
    ]


def test_provenance_bundle_verifies_offline_against_the_consortium(
    node: RunningNode, example_membership: Membership
) -> None:
    ids = submit_originals(node).record_ids
    bundle = node.client.GetProvenance(client_pb2.ProvenanceRequest(record_id=ids[1]))
    verified = verify_bundle(convert.bundle_from_proto(bundle), trusted=example_membership)
    assert verified.record.value.hex() == ORIGINAL_MD5
    assert verified.record.labels == ("tvec.propaganda",)
    assert verified.author.member_id == "platform-a"
    assert verified.status == "active"
    assert bundle.record.record_id == ids[1] and bundle.generated_by == "platform-a"


def test_bundle_survives_the_json_file_format(node: RunningNode, example_membership: Membership) -> None:
    ids = submit_originals(node).record_ids
    bundle = node.client.GetProvenance(client_pb2.ProvenanceRequest(record_id=ids[0]))
    again = bundle_file.parse(convert.bundle_to_json(bundle).encode("utf-8"))
    assert again == convert.bundle_from_proto(bundle)
    assert again.record_id.hex() == ids[0] and again.assembly and again.assembly_signature
    verify_bundle(again, trusted=example_membership)


def test_retracted_record_stops_matching_and_its_bundle_says_why(
    node: RunningNode, example_membership: Membership
) -> None:
    ids = submit_originals(node).record_ids
    retraction = node.client.Retract(client_pb2.RetractRequest(record_ids=[ids[0]], reason="false positive"))
    assert retraction.seq == 2
    assert (
        not node.client.Match(client_pb2.MatchRequest(queries=[query("pdq", ORIGINAL_PDQ)]))
        .results[0]
        .matches
    )
    bundle = node.client.GetProvenance(client_pb2.ProvenanceRequest(record_id=ids[0]))
    assert bundle.record.status == types_pb2.RECORD_STATUS_RETRACTED
    verified = verify_bundle(convert.bundle_from_proto(bundle), trusted=example_membership)
    assert verified.status == "retracted"
    assert [e.kind for e in verified.history] == ["retraction"]
    assert "false positive" in verified.history[0].summary


def test_unknown_record_is_not_found(node: RunningNode) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        node.client.GetProvenance(client_pb2.ProvenanceRequest(record_id="ab" * 32))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert "record_id" in caught.value.details()


def test_stats_count_records_by_type_label_and_author(node: RunningNode) -> None:
    submit_originals(node)
    stats = node.admin.GetStats(admin_pb2.StatsRequest())
    assert (stats.member_id, stats.consortium_id) == ("platform-a", "example-consortium")
    assert (stats.records, stats.entries) == (3, 1)
    assert {c.key: c.count for c in stats.records_by_type} == {"pdq": 1, "md5": 1, "sha256": 1}
    assert {c.key: c.count for c in stats.records_by_label} == {"tvec.propaganda": 3}
    assert {c.key: c.count for c in stats.records_by_author} == {"platform-a": 3}


@pytest.mark.parametrize("service", ["", "hashnode.v1.HashNode", "hashnode.v1.Admin"])
def test_health_service_reports_serving(node: RunningNode, service: str) -> None:
    response = health_pb2_grpc.HealthStub(node.channel).Check(health_pb2.HealthCheckRequest(service=service))
    assert response.status == health_pb2.HealthCheckResponse.SERVING
