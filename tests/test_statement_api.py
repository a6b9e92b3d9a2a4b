"""Statements of reasons over gRPC and the command line, on real nodes over real LMDB: platform-a contributes
hashes of real images, platform-b matches real files and acts on them. Every acted-on match yields a statement
whose JSON passes the published schema (`jsonschema`) and whose page renders in headless Chromium; an appeal
from a statement, overturned, yields a reinstatement notice naming it; refusals name the field and store
nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from node.api.gen.hashnode.v1 import admin_pb2, client_pb2, types_pb2
from node.dueprocess.statement import StatementSettings
from node.dueprocess.statement_page import ACCENT
from node.hashing import digests, image
from node.runtime.runtime import open_node
from node.server.server import create_servers
from testkit import browser
from tests.conftest import PDQ_DATA, Cli, RunningNode, node_config
from tests.test_dueprocess_api import deliver

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "docs/schema/dsa-statement.schema.json").read_text(encoding="utf-8"))
ORIGINAL = PDQ_DATA / "bridge-mods/aaa-orig.jpg"
CONTRAST = PDQ_DATA / "bridge-mods/high-contrast.jpg"
ROTATED = PDQ_DATA / "dihedral/bridge-2-rotate-90.jpg"
APPEAL_URL = "https://platform-b.example/appeal?statement={statement_id}"
pytestmark = pytest.mark.skipif(not ORIGINAL.exists(), reason="the PDQ reference images are not here")


def _start(config: object) -> RunningNode:
    runtime = open_node(config)  # type: ignore[arg-type]
    listeners = create_servers(runtime)
    listeners.start()
    return RunningNode(
        runtime,
        listeners,
        grpc.insecure_channel(listeners.client.address),
        grpc.insecure_channel(listeners.admin.address),
    )


@dataclass
class Consortium:
    a: RunningNode  # contributes
    b: RunningNode  # matches and acts
    records: dict[str, str]  # what -> record id

    def sync(self) -> None:
        deliver(self.a, self.b)
        deliver(self.b, self.a)

    def statements(self) -> list[admin_pb2.StatementOfReasons]:
        return list(self.b.admin.ListStatements(admin_pb2.ListStatementsRequest(limit=1000)).statements)


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Consortium]:
    root = tmp_path_factory.mktemp("statements")
    a = _start(node_config(root / "a", "platform-a"))
    settings = StatementSettings(appeal_url=APPEAL_URL, platform_name="Example Platform B")
    b = _start(node_config(root / "b", "platform-b", statements=settings))
    md5, _ = digests.file_digests(CONTRAST)
    records = [
        ("original", types_pb2.HashRecord(signal_type="pdq", value=image.pdq_hash(ORIGINAL)[0], quality=100,
                                          labels=["tvec.glorification"])),
        ("contrast file", types_pb2.HashRecord(signal_type="md5", value=md5, labels=["tvec.manifesto"])),
        ("rotated", types_pb2.HashRecord(signal_type="pdq", value=image.pdq_hash(ROTATED)[0], quality=100,
                                         labels=["tvec.propaganda"])),
    ]  # fmt: skip
    ids = a.client.Submit(client_pb2.SubmitRequest(records=[r for _, r in records])).record_ids
    consortium = Consortium(a, b, {name: rid for (name, _), rid in zip(records, ids, strict=True)})
    consortium.sync()
    yield consortium
    for node in (a, b):
        node.stop()


def _matched(cli: Cli, node: RunningNode, *argv: str | Path) -> list[dict[str, object]]:
    done = cli("match", *argv, "--target", node.target, "--json")
    assert done.code == 0, done.err
    return list(json.loads(done.out))


def _issue(cli: Cli, node: RunningNode, *argv: str | Path) -> dict[str, object]:
    done = cli("statement", *argv, "--target", node.admin_target, "--json")
    assert done.code == 0, done.err
    return dict(json.loads(done.out))


def _schema_errors(path: Path) -> list[str]:
    checker = Draft202012Validator(SCHEMA, format_checker=FormatChecker())
    return [e.message for e in checker.iter_errors(json.loads(path.read_text(encoding="utf-8")))]


def test_acted_on_matches_yield_statements_and_an_overturn_names_the_appealed_one(
    nodes: Consortium, cli: Cli, tmp_path: Path
) -> None:
    a, b = nodes.a, nodes.b
    out = tmp_path / "statements"
    # 1. A blurred copy of the original photo is uploaded: a near-duplicate match, acted on by automated means.
    blurred = image.pdq_hash(PDQ_DATA / "bridge-mods/blur-a-lot.jpg")[0]
    [near] = _matched(cli, b, blurred, "--content-ref", "upload/1")
    assert [m["record_id"] for m in near["matches"]] == [nodes.records["original"]]
    first = _issue(cli, b, "upload/1", "--automated", "fully", "--visibility", "removed", "--out", out)
    # 2. The high-contrast file itself: its MD5 and its PDQ hash match two records; a person reviews.
    both = _matched(cli, b, "--file", CONTRAST)
    assert sum(len(q["matches"]) for q in both) == 2  # type: ignore[arg-type]
    second = _issue(
        cli, b, str(CONTRAST), "--automated", "partially", "--visibility", "removed", "--account", "suspended",
        "--content-type", "image", "--language", "de", "--out", out,
    )  # fmt: skip
    # 3. The rotated photo matches too, by its query id alone; the platform acts on it only by demoting it.
    [rotated] = _matched(cli, b, image.pdq_hash(ROTATED)[0])
    third = _issue(cli, b, str(rotated["query_id"]), "--query-id", "--automated", "not_automated",
                   "--visibility", "demoted", "--scope", "DE", "--scope", "AT", "--out", out)  # fmt: skip

    issued = [first, second, third]
    assert [len(s["basis"]) for s in issued] == [1, 2, 1]  # type: ignore[arg-type]
    assert {s["statement_id"] for s in issued} == {s.statement_id for s in nodes.statements()}
    for statement in issued:
        sid = str(statement["statement_id"])
        assert _schema_errors(out / f"{sid}.json") == [], sid
        assert statement["database_statement"] == json.loads((out / f"{sid}.json").read_text(encoding="utf-8"))
        html = (out / f"{sid}.html").read_text(encoding="utf-8")
        assert APPEAL_URL.replace("{statement_id}", sid) in html and "Example Platform B" in html
        if statement["content_ref"]:
            assert str(statement["content_ref"]) not in json.dumps(statement["database_statement"])
    assert "Example Platform A (large platform)" in (out / f"{first['statement_id']}.html").read_text(encoding="utf-8")

    # The user of upload/1 appeals from the statement; platform-a overturns; platform-b's notice names it.
    sid, rid = str(first["statement_id"]), nodes.records["original"]
    appealed = cli("appeal", rid, "--case", sid, "--target", b.target, "--json")
    assert appealed.code == 0, appealed.err
    nodes.sync()
    entry_id = json.loads(appealed.out)["entry_id"]
    decided = cli("decide", entry_id, "--outcome", "overturned", "--reason", "news photo", "--target", a.target)
    assert decided.code == 0, decided.err
    nodes.sync()
    notices = json.loads(cli("notices", "--target", b.admin_target, "--json").out)["notices"]
    [named] = [n for n in notices if n["content_ref"] == "upload/1"]
    assert named["statement_ids"] == [sid] and named["cleared"]
    assert "statements " + sid in cli("notices", "--target", b.admin_target).out

    shown = json.loads(cli("statements", "show", sid, "--target", b.admin_target, "--json").out)
    assert shown["basis_stands"] is False and shown["basis"][0]["status"] == "overturned"
    appeals = [(x["case_ref"], x["outcome"], x["decided_by"]) for x in shown["appeals"]]
    assert appeals == [(sid, "overturned", "platform-a")]
    withdrawn = cli("statements", "withdraw", sid, "--reason", "reinstated", "--target", b.admin_target)
    assert withdrawn.code == 0 and "withdrawn" in withdrawn.out
    again = cli("statements", "withdraw", sid, "--target", b.admin_target)
    assert again.code == 1 and f"FAILED_PRECONDITION: statement_id: {sid} is withdrawn already" in again.err

    if browser.chromium() is not None:
        pytest.importorskip("PIL.Image")
        png = browser.shot(out / f"{sid}.html", tmp_path / "page.png")
        assert browser.colours(png)[browser.rgb(ACCENT)] > 10_000


def _request(content_ref: str = "upload/9", **decision: object) -> admin_pb2.IssueStatementRequest:
    fields: dict[str, object] = {"automated_decision": "fully", "visibility": ["removed"], **decision}
    return admin_pb2.IssueStatementRequest(content_ref=content_ref, decision=admin_pb2.StatementDecision(**fields))


@pytest.fixture(scope="module")
def upload9(nodes: Consortium) -> Consortium:
    # The rotated photo: its record still stands whatever the other tests overturn.
    query = client_pb2.HashQuery(signal_type="pdq", value=image.pdq_hash(ROTATED)[0], content_ref="upload/9")
    nodes.b.client.Match(client_pb2.MatchRequest(queries=[query]))
    return nodes


REFUSED = [
    ("no content", admin_pb2.IssueStatementRequest(decision=_request().decision), "INVALID_ARGUMENT",
     "content_ref: got \"\", want the content acted on"),
    ("content never matched", _request("upload/none"), "NOT_FOUND", "no logged match of content 'upload/none'"),
    ("bad query id", admin_pb2.IssueStatementRequest(query_id="xyz", decision=_request().decision), "INVALID_ARGUMENT",
     "query_id: got xyz, want 16 lowercase hex digits"),
    ("how automated unsaid", _request(automated_decision=""), "INVALID_ARGUMENT", "automated_decision: got nothing"),
    ("nothing done", _request(visibility=[]), "INVALID_ARGUMENT", "visibility: got nothing, want what the platform"),
    ("a record not matched", admin_pb2.IssueStatementRequest(content_ref="upload/9", record_ids=["ab" * 32],
     decision=_request().decision), "INVALID_ARGUMENT", f"record_ids: got {'ab' * 32}, want a record the content"),
    ("supersedes nothing", admin_pb2.IssueStatementRequest(content_ref="upload/9", supersedes="sor-00000000000000ff",
     decision=_request().decision), "NOT_FOUND", "supersedes: no statement sor-00000000000000ff"),
    ("personal data as puid", _request(puid="jane.doe@example.org"), "INVALID_ARGUMENT", "puid: got jane.doe@"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "request_", "code", "message"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_refused_statement_names_the_field_and_stores_nothing(
    upload9: Consortium, name: str, request_: admin_pb2.IssueStatementRequest, code: str, message: str
) -> None:
    before = len(upload9.statements())
    with pytest.raises(grpc.RpcError) as refused:
        upload9.b.admin.IssueStatement(request_)
    assert refused.value.code().name == code
    assert message in str(refused.value.details()), refused.value.details()
    assert len(upload9.statements()) == before


def test_a_puid_is_issued_once_and_a_retry_answers_the_same_statement(upload9: Consortium) -> None:
    admin = upload9.b.admin
    first = admin.IssueStatement(_request(puid="case_0009"))
    retry = admin.IssueStatement(_request(puid="case_0009"))
    assert (retry.statement_id, retry.existing, first.existing) == (first.statement_id, True, False)
    with pytest.raises(grpc.RpcError) as refused:
        admin.IssueStatement(_request(puid="case_0009", visibility=["disabled"]))
    assert refused.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert f"statement {first.statement_id} has it" in str(refused.value.details())


def test_an_updated_statement_supersedes_the_one_in_force(upload9: Consortium) -> None:
    admin = upload9.b.admin
    old = admin.IssueStatement(_request())
    new = admin.IssueStatement(
        admin_pb2.IssueStatementRequest(
            content_ref="upload/9", supersedes=old.statement_id, decision=_request(visibility=["labelled"]).decision
        )
    )
    again = admin.GetStatement(admin_pb2.GetStatementRequest(statement_id=old.statement_id))
    assert (again.status, again.superseded_by, new.supersedes) == ("superseded", new.statement_id, old.statement_id)
    with pytest.raises(grpc.RpcError) as refused:
        admin.WithdrawStatement(admin_pb2.WithdrawStatementRequest(statement_id=old.statement_id))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_an_appeal_naming_a_statement_must_name_one_resting_on_its_record(upload9: Consortium) -> None:
    b, records = upload9.b, upload9.records
    statement = b.admin.IssueStatement(_request())
    entries = b.entry_count()
    for case_ref, want in (
        ("sor-00000000000000ee/CASE-1", "a statement of reasons this node issued (sor-00000000000000ee is not)"),
        (statement.statement_id, f"a statement resting on record {records['contrast file']}"),
    ):
        with pytest.raises(grpc.RpcError) as refused:
            b.client.Appeal(client_pb2.AppealRequest(record_id=records["contrast file"], case_ref=case_ref))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert f"case_ref: got {case_ref}, want {want}" in str(refused.value.details())
    assert b.entry_count() == entries


def test_a_statement_is_found_again_by_id_and_listed_in_order(upload9: Consortium) -> None:
    admin = upload9.b.admin
    issued = admin.IssueStatement(_request())
    found = admin.GetStatement(admin_pb2.GetStatementRequest(statement_id=issued.statement_id))
    assert (found.database_json, found.user_page_html) == (issued.database_json, issued.user_page_html)
    listed = admin.ListStatements(admin_pb2.ListStatementsRequest(after=issued.number - 1, limit=1))
    assert [s.statement_id for s in listed.statements] == [issued.statement_id]
    assert listed.statements[0].database_json == ""  # documents only when asked
    assert listed.next_after == issued.number
    for statement_id, code in (("sor-1", "INVALID_ARGUMENT"), ("sor-00000000000000dd", "NOT_FOUND")):
        with pytest.raises(grpc.RpcError) as refused:
            admin.GetStatement(admin_pb2.GetStatementRequest(statement_id=statement_id))
        assert refused.value.code().name == code


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("statement", "upload/9", "--automated", "fully"), "--visibility: got nothing, want what you did"),
        (("statement", "upload/9", "--automated", "fully", "--visibility", "removed", "--decided", "10.3.2026"),
         "--decided: got 10.3.2026, want a date YYYY-MM-DD"),
        (("statement", "upload/9", "--automated", "fully", "--visibility", "removed", "--puid", "a b"),
         "--puid: got a b, want 1-500 characters"),
        (("statement", "upload/9", "--automated", "fully", "--visibility", "removed", "--supersedes", "x"),
         "--supersedes: got x, want a statement id"),
        (("statements", "show", "sor-12"), "ID: got sor-12, want a statement id"),
    ],
    ids=["nothing done", "date", "puid", "supersedes", "statement id"],
)  # fmt: skip
def test_wrong_input_on_the_command_line_exits_2_and_sends_nothing(
    upload9: Consortium, cli: Cli, argv: tuple[str, ...], message: str
) -> None:
    before = len(upload9.statements())
    done = cli(*argv, "--target", upload9.b.admin_target)
    assert (done.code, done.out) == (2, "")
    assert message in done.err and "Traceback" not in done.err
    assert len(upload9.statements()) == before
