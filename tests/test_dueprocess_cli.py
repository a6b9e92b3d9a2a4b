"""The due-process commands: dispute, appeal, decide, notices, explain, report; and `verify` showing the
history with each decision's ruling. Exit 2 on wrong input (nothing sent, nothing written), 1 when the node
refuses, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from node.api.gen.hashnode.v1 import client_pb2
from tests.conftest import Cli, NodeFactory, RunningNode, node_config
from tests.test_dueprocess_api import PDQ, RECORD, deliver


@pytest.fixture
def nodes(node_factory: NodeFactory, tmp_path: Path) -> tuple[RunningNode, RunningNode, str]:
    a = node_factory(node_config(tmp_path / "a", "platform-a"))
    b = node_factory(node_config(tmp_path / "b", "platform-b"))
    [record_id] = a.client.Submit(client_pb2.SubmitRequest(records=[RECORD])).record_ids
    deliver(a, b)
    return a, b, record_id


def _match(node: RunningNode, content_ref: str) -> None:
    query = client_pb2.HashQuery(signal_type="pdq", value=PDQ, content_ref=content_ref)
    node.client.Match(client_pb2.MatchRequest(queries=[query]))


def test_appeal_decide_notices_explain_and_verify(
    cli: Cli, nodes: tuple[RunningNode, RunningNode, str], tmp_path: Path
) -> None:
    a, b, rid = nodes
    _match(b, "upload/77")
    appealed = cli("appeal", rid, "--case", "CASE-77", "--distance", "0", "--target", b.target, "--json")
    assert appealed.code == 0, appealed.err
    appeal_id = json.loads(appealed.out)["entry_id"]
    deliver(b, a)
    decided = cli(
        "decide", appeal_id, "--outcome", "overturned", "--reason", "news report", "--target", a.target
    )
    assert decided.code == 0, decided.err
    assert "as contributor" in decided.out and "is now overturned on this node" in decided.out
    deliver(a, b)

    listed = cli("notices", "--target", b.admin_target)
    assert "record " + rid + " overturned" in listed.out
    assert "content   upload/77" in listed.out and "cleared" in listed.out
    as_json = json.loads(cli("notices", "--target", b.admin_target, "--json").out)
    assert [n["content_ref"] for n in as_json["notices"]] == ["upload/77"]

    out = tmp_path / "bundles"
    explained = cli("explain", "upload/77", "--out", out, "--target", b.admin_target)
    assert explained.code == 0, explained.err
    assert "VERIFIED, overturned" in explained.out
    bundle = out / f"{rid}.json"
    verified = cli("verify", bundle)
    assert verified.code == 0
    assert "status        overturned" in verified.out
    assert "decision by platform-a" in verified.out and "[effective]" in verified.out

    text = bundle.read_text(encoding="utf-8")
    data = json.loads(text)
    data["related"][1]["entry"]["items"][0] = data["related"][0]["entry"]["items"][0]  # swap a signed item
    bundle.write_text(json.dumps(data), encoding="utf-8")
    assert cli("verify", bundle).code == 1


def test_dispute_prints_the_signed_opinion(cli: Cli, nodes: tuple[RunningNode, RunningNode, str]) -> None:
    _, b, rid = nodes
    done = cli("dispute", rid, "--reason-code", "not_tvec", "--text", "a film still", "--target", b.target)
    assert done.code == 0, done.err
    assert done.out.startswith("signed false positive opinion as entry ")
    assert f"record {rid} is now active on this node" in done.out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("dispute", "abc"), "RECORD_ID: got abc, want 64 hex characters"),
        (("appeal", "RID", "--case", "CASE-1", "--distance", "-1"), "--distance: got -1, want 0..256"),
        (("decide", "xyz", "--outcome", "upheld"), "APPEAL_ENTRY_ID: got xyz"),
        (("report", "--from", "2026-02-30", "--to", "2026-03-01", "--out", "OUT"), "--from: got 2026-02-30"),
        (("report", "--from", "2026-03-02", "--to", "2026-03-01", "--out", "OUT"), "--to: got 2026-03-01"),
        (("explain", "x" * 513), "CONTENT_REF: got 513 bytes"),
        (("appeal", "RID", "--case", "jane.doe@example.org"), "--case: got jane.doe@example.org, want an opaque"),
        (("appeal", "RID", "--case", "Jane Doe"), "--case: got Jane Doe, want an opaque case token"),
    ],
    ids=["record id", "distance", "appeal id", "bad date", "empty period", "content ref", "e-mail", "name"],
)
def test_wrong_input_exits_2_and_sends_nothing(
    cli: Cli, nodes: tuple[RunningNode, RunningNode, str], tmp_path: Path, argv: tuple[str, ...], message: str
) -> None:
    _, b, rid = nodes
    before = b.entry_count()
    args = [rid if a == "RID" else str(tmp_path / "out") if a == "OUT" else a for a in argv]
    done = cli(*args, "--target", b.target)
    assert (done.code, done.out) == (2, "")
    assert message in done.err and "Traceback" not in done.err
    assert b.entry_count() == before
    assert not (tmp_path / "out").exists()


def test_a_refusal_by_the_node_exits_1(cli: Cli, nodes: tuple[RunningNode, RunningNode, str]) -> None:
    a, _, rid = nodes
    done = cli("dispute", rid, "--target", a.target)  # a contributed it
    assert done.code == 1
    assert done.err.startswith("hashnode: error: FAILED_PRECONDITION: record_id: this member contributed")


def test_report_writes_json_csv_and_html(
    cli: Cli, nodes: tuple[RunningNode, RunningNode, str], tmp_path: Path
) -> None:
    a, _, _ = nodes
    out = tmp_path / "report"
    done = cli(
        "report", "--from", "2020-01-01", "--to", "2035-12-31", "--out", out, "--target", a.admin_target
    )
    assert done.code == 0, done.err
    assert sorted(p.name for p in out.iterdir()) == ["report.csv", "report.html", "report.json"]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["sections"]["contributions"]["records"] == 1
    pinned = tmp_path / "pinned"
    argv = ["report", "--from", "2020-01-01", "--to", "2035-12-31", "--at", "2030-01-01", "--target", a.admin_target]
    assert cli(*argv, "--out", pinned).code == 0
    assert json.loads((pinned / "report.json").read_text(encoding="utf-8"))["as_of"] == "2030-01-01T00:00:00Z"
    assert cli(*argv, "--out", tmp_path / "again").code == 0
    for name in ("report.json", "report.csv", "report.html"):
        assert (pinned / name).read_bytes() == (tmp_path / "again" / name).read_bytes()
    early = cli("report", "--from", "2020-01-01", "--to", "2035-12-31", "--at", "2019-01-01", "--out", tmp_path / "x",
                "--target", a.admin_target)
    assert (early.code, early.out) == (2, "") and "--at: got 2019-01-01" in early.err


def test_match_keeps_the_content_ref_and_shows_the_query_id_and_policy(
    cli: Cli, nodes: tuple[RunningNode, RunningNode, str], node_factory: NodeFactory, tmp_path: Path
) -> None:
    a, b, rid = nodes
    c = node_factory(node_config(tmp_path / "c", "platform-c"))
    deliver(a, c)
    assert cli("dispute", rid, "--stance", "agree", "--target", c.target).code == 0
    deliver(c, b)
    done = cli("match", PDQ, "--content-ref", "upload/5", "--target", b.target)
    assert done.code == 0, done.err
    assert "  logged as query " in done.out and "    policy: endorsed by 1 member" in done.out
    explained = cli("explain", "upload/5", "--target", b.admin_target, "--json")
    assert [m["record_id"] for m in json.loads(explained.out)["matches"]] == [rid]


def test_explain_takes_a_query_id_and_a_repeated_appeal_signs_nothing(
    cli: Cli, nodes: tuple[RunningNode, RunningNode, str]
) -> None:
    _, b, rid = nodes
    done = cli("match", PDQ, "--target", b.target, "--json")  # no content reference
    query_id = json.loads(done.out)[0]["query_id"]
    explained = cli("explain", query_id, "--target", b.admin_target, "--json")
    assert explained.code == 0, explained.err
    assert [(m["record_id"], m["query_id"]) for m in json.loads(explained.out)["matches"]] == [(rid, query_id)]

    first = json.loads(cli("appeal", rid, "--case", "CASE-5", "--target", b.target, "--json").out)
    before = b.entry_count()
    again = cli("appeal", rid, "--case", "CASE-5", "--target", b.target)
    assert again.code == 0, again.err
    assert again.out.startswith(f"appeal filed before: entry {first['entry_id']}")
    assert b.entry_count() == before
