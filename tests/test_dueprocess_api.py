"""Due process over gRPC: Opine/Appeal/Decide, policy notes and query ids on matches, reinstatement notices
(listed and streamed), ExplainMatch, BuildReport; every refusal maps to its status code, names the field and
writes nothing. Real servers over real LMDB; entries move between nodes as replication would move them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from node.api import convert
from node.api.gen.hashnode.v1 import admin_pb2, client_pb2, types_pb2
from node.provenance.bundle import verify_bundle
from tests.conftest import NodeFactory, RunningNode, node_config

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
PDQ_NEAR = "f8f8f0cee0f4a84f0637022a038f67f0b36e26d596621e1d33e6b39c4e9c9b22"
DAY = 86_400_000
RECORD = types_pb2.HashRecord(signal_type="pdq", value=PDQ, quality=100, labels=["tvec.propaganda"])


def deliver(source: RunningNode, target: RunningNode) -> None:
    """Commits on `target` the entries of `source` it lacks, in log order (replication without a network)."""
    with source.ledger.store.read() as txn, target.ledger.store.read() as have:
        missing = []
        for author, head in sorted(source.ledger.store.heads(txn).items()):
            mine = target.ledger.store.head(have, author)
            missing += list(source.ledger.store.log(txn, author, (mine.seq if mine else 0) + 1, head.seq))
    if missing:
        target.ledger.commit_entries(missing)


@dataclass
class Pair:
    a: RunningNode  # platform-a: contributes
    b: RunningNode  # platform-b: matches, appeals
    record_id: str

    def sync(self) -> None:
        deliver(self.a, self.b)
        deliver(self.b, self.a)


@pytest.fixture
def pair(node_factory: NodeFactory, tmp_path: Path) -> Pair:
    a = node_factory(node_config(tmp_path / "a", "platform-a"))
    b = node_factory(node_config(tmp_path / "b", "platform-b"))
    [record_id] = a.client.Submit(client_pb2.SubmitRequest(records=[RECORD])).record_ids
    deliver(a, b)
    return Pair(a, b, record_id)


def match(node: RunningNode, value: str = PDQ_NEAR, content_ref: str = "") -> client_pb2.QueryResult:
    query = client_pb2.HashQuery(signal_type="pdq", value=value, content_ref=content_ref)
    [result] = node.client.Match(client_pb2.MatchRequest(queries=[query])).results
    return result


def test_the_lifecycle_over_the_api(pair: Pair) -> None:
    a, b = pair.a, pair.b
    result = match(b, content_ref="upload/991")
    [hit] = result.matches
    assert (hit.provenance_ref, len(result.query_id)) == (pair.record_id, 16)
    appealed = b.client.Appeal(
        client_pb2.AppealRequest(record_id=pair.record_id, case_ref="case-42", match_distance=hit.distance)
    )
    assert appealed.status == types_pb2.RECORD_STATUS_ACTIVE
    pair.sync()
    decided = a.client.Decide(
        client_pb2.DecideRequest(
            appeal_entry_id=appealed.entry_id, outcome=client_pb2.OUTCOME_OVERTURNED, reason="documentary"
        )
    )
    assert (decided.status, decided.decided_as) == (types_pb2.RECORD_STATUS_OVERTURNED, "contributor")
    pair.sync()
    assert list(match(b).matches) == []
    [notice] = b.admin.ListReinstateNotices(admin_pb2.ListNoticesRequest()).notices
    assert (notice.content_ref, notice.cause_record_id, notice.standing, notice.cleared) == (
        "upload/991",
        pair.record_id,
        "overturned",
        True,
    )
    assert list(notice.query_ids) == [result.query_id]
    stream = b.admin.WatchReinstateNotices(admin_pb2.WatchNoticesRequest(after=0), timeout=5)
    assert next(stream) == notice
    stream.cancel()
    explained = b.admin.ExplainMatch(admin_pb2.ExplainMatchRequest(content_ref="upload/991"))
    [why] = explained.matches
    assert why.record.status == types_pb2.RECORD_STATUS_OVERTURNED
    verified = verify_bundle(convert.bundle_from_proto(why.bundle))
    assert verified.status == "overturned"
    assert [e.kind for e in verified.history] == ["appeal", "decision"]


def test_matches_carry_the_policy_that_applied(pair: Pair, node_factory: NodeFactory, tmp_path: Path) -> None:
    c = node_factory(node_config(tmp_path / "c", "platform-c"))
    deliver(pair.a, c)
    c.client.Opine(client_pb2.OpineRequest(record_id=pair.record_id, stance=client_pb2.STANCE_AGREE))
    deliver(c, pair.b)
    [hit] = match(pair.b).matches
    assert list(hit.policy) == ["endorsed by 1 member"]


def test_a_watch_receives_a_notice_issued_while_it_waits(pair: Pair) -> None:
    match(pair.b, content_ref="upload/7")
    stream = pair.b.admin.WatchReinstateNotices(admin_pb2.WatchNoticesRequest(), timeout=10)
    pair.a.client.Retract(client_pb2.RetractRequest(record_ids=[pair.record_id], reason="wrong file"))
    deliver(pair.a, pair.b)
    notice = next(stream)
    stream.cancel()
    assert (notice.number, notice.content_ref, notice.standing) == (1, "upload/7", "retracted")


def test_build_report_renders_json_csv_and_html(pair: Pair) -> None:
    match(pair.b, content_ref="upload/1")
    now = pair.a.ledger.clock()
    period = admin_pb2.ReportRequest(from_ms=now - DAY, to_ms=now + DAY)
    report = pair.a.admin.BuildReport(period)
    parsed = json.loads(report.json)
    assert (parsed["issuer"], parsed["sections"]["contributions"]["records"]) == ("platform-a", 1)
    assert report.csv.startswith("section,key,subkey,value\n")
    assert "<svg" in report.html and "http" not in report.html.split("</head>")[1]
    b_report = json.loads(pair.b.admin.BuildReport(period).json)
    sections = b_report["sections"]
    assert (sections["contributions"]["records"], sections["matches"]["lookup_hits"]) == (0, 1)
    assert list(sections["availability"]["by_source"]) == ["platform-a"]  # the peer it heard from, not itself


# --- refusals -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    name: str
    node: str  # "a" or "b"
    call: str
    request: object
    code: grpc.StatusCode
    message: str


RID_PLACEHOLDER = "RID"


def _refusals() -> list[Refusal]:
    bad = grpc.StatusCode.INVALID_ARGUMENT
    rid = RID_PLACEHOLDER
    return [
        Refusal(
            "stance missing",
            "b",
            "Opine",
            client_pb2.OpineRequest(record_id=rid),
            bad,
            "stance: got STANCE_UNSPECIFIED, want one of agree, disagree, false_positive",
        ),
        Refusal(
            "record id not hex",
            "b",
            "Opine",
            client_pb2.OpineRequest(record_id="zz" * 32, stance=client_pb2.STANCE_AGREE),
            bad,
            "record_id:",
        ),
        Refusal(
            "reason code with spaces",
            "b",
            "Opine",
            client_pb2.OpineRequest(record_id=rid, stance=client_pb2.STANCE_DISAGREE, reason_code="Bad Code"),
            bad,
            "reason_code:",
        ),
        Refusal(
            "opinion text too long",
            "b",
            "Opine",
            client_pb2.OpineRequest(record_id=rid, stance=client_pb2.STANCE_DISAGREE, text="x" * 1025),
            bad,
            "text: got 1025 bytes",
        ),
        Refusal(
            "unknown record",
            "b",
            "Opine",
            client_pb2.OpineRequest(record_id="00" * 32, stance=client_pb2.STANCE_AGREE),
            grpc.StatusCode.NOT_FOUND,
            "record_id: no record",
        ),
        Refusal(
            "own record",
            "a",
            "Opine",
            client_pb2.OpineRequest(record_id=rid, stance=client_pb2.STANCE_FALSE_POSITIVE),
            grpc.StatusCode.FAILED_PRECONDITION,
            "contributed the record",
        ),
        Refusal(
            "case ref is an e-mail address",
            "b",
            "Appeal",
            client_pb2.AppealRequest(record_id=rid, case_ref="jane@example.com"),
            bad,
            "case_ref:",
        ),
        Refusal(
            "match distance out of range",
            "b",
            "Appeal",
            client_pb2.AppealRequest(record_id=rid, case_ref="c-1", match_distance=300),
            bad,
            "match_distance: got 300, want 0..256",
        ),
        Refusal(
            "outcome missing",
            "a",
            "Decide",
            client_pb2.DecideRequest(appeal_entry_id="ab" * 32),
            bad,
            "outcome: got OUTCOME_UNSPECIFIED, want one of upheld, overturned",
        ),
        Refusal(
            "appeal entry id too short",
            "a",
            "Decide",
            client_pb2.DecideRequest(appeal_entry_id="ab", outcome=client_pb2.OUTCOME_UPHELD),
            bad,
            "appeal_entry_id: got ab, want 64 hex characters",
        ),
        Refusal(
            "unknown appeal",
            "a",
            "Decide",
            client_pb2.DecideRequest(appeal_entry_id="ab" * 32, outcome=client_pb2.OUTCOME_UPHELD),
            grpc.StatusCode.NOT_FOUND,
            "appeal_entry_id: no appeal entry",
        ),
        Refusal(
            "content ref too long",
            "b",
            "Match",
            client_pb2.MatchRequest(
                queries=[client_pb2.HashQuery(signal_type="pdq", value=PDQ, content_ref="x" * 513)]
            ),
            bad,
            "queries[0].content_ref: got 513 bytes",
        ),
    ]


@pytest.mark.parametrize("case", _refusals(), ids=lambda c: c.name)
def test_refusals_name_the_field_and_write_nothing(pair: Pair, case: Refusal) -> None:
    node = pair.a if case.node == "a" else pair.b
    request = type(case.request)()
    request.CopyFrom(case.request)  # type: ignore[attr-defined]
    if getattr(request, "record_id", None) == RID_PLACEHOLDER:
        request.record_id = pair.record_id  # type: ignore[attr-defined]
    before = node.entry_count()
    with pytest.raises(grpc.RpcError) as caught:
        getattr(node.client, case.call)(request)
    assert caught.value.code() == case.code
    assert case.message in caught.value.details()
    assert node.entry_count() == before


def test_only_the_contributor_or_a_steward_decides(pair: Pair) -> None:
    appealed = pair.b.client.Appeal(client_pb2.AppealRequest(record_id=pair.record_id, case_ref="c-2"))
    request = client_pb2.DecideRequest(
        appeal_entry_id=appealed.entry_id, outcome=client_pb2.OUTCOME_OVERTURNED
    )
    with pytest.raises(grpc.RpcError) as caught:
        pair.b.client.Decide(request)
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (admin_pb2.ListNoticesRequest(limit=1001), "limit: got 1001, want 0..1000"),
        (admin_pb2.ReportRequest(from_ms=10, to_ms=10), "to_ms: got 10, want after from_ms (10)"),
        (admin_pb2.ExplainMatchRequest(content_ref=""), 'content_ref: got "", want'),
    ],
    ids=["notice limit", "empty report period", "no content ref"],
)
def test_admin_refusals_name_the_field(pair: Pair, request_: object, message: str) -> None:
    call = {
        admin_pb2.ListNoticesRequest: pair.b.admin.ListReinstateNotices,
        admin_pb2.ReportRequest: pair.b.admin.BuildReport,
        admin_pb2.ExplainMatchRequest: pair.b.admin.ExplainMatch,
    }[type(request_)]
    with pytest.raises(grpc.RpcError) as caught:
        call(request_)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in caught.value.details()
