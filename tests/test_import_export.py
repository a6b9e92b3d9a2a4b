"""Moving hash lists in and out of a node: the ExportRecords stream, `hashnode export` and `hashnode import`.

The round trip is the specification: what one node exports, a fresh node imports, and both then answer every
match query the same way (same hashes, labels and distances). Bad lines are reported by line number and cost
nothing but themselves.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest

from node.api.gen.hashnode.v1 import client_pb2, types_pb2
from tests.conftest import Cli, NodeFactory, RunningNode

LABEL = "tvec.propaganda"
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
PDQ_NEAR = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b2d"  # 4 bits away
MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def pdq_variant(i: int) -> str:
    """A PDQ hash far from PDQ: the i-th of a family differing in their first bytes."""
    return f"{i:08x}" + "0f" * 28


def contribute(node: RunningNode, records: list[types_pb2.HashRecord]) -> list[str]:
    return list(node.client.Submit(client_pb2.SubmitRequest(records=records)).record_ids)


def pdq_record(value: str = PDQ, **fields: object) -> types_pb2.HashRecord:
    return types_pb2.HashRecord(signal_type="pdq", value=value, quality=90, labels=[LABEL], **fields)  # type: ignore[arg-type]


def md5_record(value: str = MD5, **fields: object) -> types_pb2.HashRecord:
    return types_pb2.HashRecord(signal_type="md5", value=value, labels=[LABEL], **fields)  # type: ignore[arg-type]


def export(node: RunningNode, **fields: object) -> list[client_pb2.ExportBatch]:
    return list(node.client.ExportRecords(client_pb2.ExportRequest(**fields)))  # type: ignore[arg-type]


def values(batches: list[client_pb2.ExportBatch]) -> list[str]:
    return [info.record.value for batch in batches for info in batch.records]


Hit = tuple[str, tuple[str, ...], int]


def match_view(node: RunningNode, queries: list[tuple[str, str]]) -> list[list[Hit]]:
    """What a match answers, minus who signed it: (hash, labels, distance) per hit, per query."""
    asked = [client_pb2.HashQuery(signal_type=kind, value=value) for kind, value in queries]
    request = client_pb2.MatchRequest(queries=asked, include_records=True)
    return [
        sorted((m.record.record.value, tuple(m.record.record.labels), m.distance) for m in result.matches)
        for result in node.client.Match(request).results
    ]


# --- the ExportRecords stream -------------------------------------------------------------------------------


def test_export_of_an_empty_node_is_one_empty_batch(node: RunningNode) -> None:
    batches = export(node)
    assert [(len(b.records), b.next_cursor, b.member_id) for b in batches] == [(0, 0, "platform-a")]


def test_export_streams_bounded_batches_and_resumes_from_a_cursor(node: RunningNode) -> None:
    contribute(node, [pdq_record(pdq_variant(i)) for i in range(7)])
    batches = export(node, batch_size=3)
    assert [len(b.records) for b in batches] == [3, 3, 1]
    assert values(batches) == [pdq_variant(i) for i in range(7)]
    info = batches[0].records[0]
    assert (info.author, info.seq, info.index, len(info.entry_id)) == ("platform-a", 1, 0, 64)
    resumed = export(node, batch_size=3, after_cursor=batches[0].next_cursor)
    assert values(resumed) == [pdq_variant(i) for i in range(3, 7)]
    assert export(node, after_cursor=batches[-1].next_cursor)[0].records == []


def test_export_selects_by_type_and_status(node: RunningNode) -> None:
    pdq_id, _ = contribute(node, [pdq_record(), md5_record()])
    assert values(export(node, signal_types=["md5"])) == [MD5]
    node.client.Retract(client_pb2.RetractRequest(record_ids=[pdq_id], reason="mistake"))
    assert values(export(node)) == [MD5]
    everything = export(node, include_inactive=True)
    assert [info.status for info in everything[0].records] == [
        types_pb2.RECORD_STATUS_RETRACTED,
        types_pb2.RECORD_STATUS_ACTIVE,
    ]


def test_export_refuses_bad_requests(node: RunningNode) -> None:
    for fields, message in (
        ({"batch_size": 10_001}, "batch_size: got 10001, want 0..10000"),
        ({"signal_types": ["phash"]}, "signal_types[0]: got phash"),
    ):
        with pytest.raises(grpc.RpcError) as caught:
            export(node, **fields)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert message in (caught.value.details() or "")


# --- round trip through files -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "te"])
def test_export_then_import_into_a_fresh_node_matches_the_same(
    fmt: str, node_factory: NodeFactory, cli: Cli, tmp_path: Path
) -> None:
    source, fresh = node_factory(), node_factory()
    contribute(
        source,
        [
            pdq_record(reference="=HYPERLINK(case-1)", source="proactive"),
            md5_record(tags=["batch-7"]),
            types_pb2.HashRecord(signal_type="sha256", value=SHA256, labels=[LABEL, "tvec.manifesto"]),
        ],
    )
    out = tmp_path / f"export.{fmt}"
    exported = cli("export", "--target", source.target, "--out", out, "--json")
    assert exported.code == 0, exported.err
    assert json.loads(exported.out) == {"out": str(out), "records": 3}
    extra = ["--label", LABEL, "--quality", "90"] if fmt == "te" else []
    imported = cli("import", out, "--target", fresh.target, *extra)
    assert imported.code == 0, imported.err
    assert imported.out.startswith("imported 3 record(s)")
    queries = [("pdq", PDQ_NEAR), ("md5", MD5), ("sha256", SHA256), ("pdq", pdq_variant(1))]
    if fmt == "te":  # the TE format carries hashes only: labels come from --label
        assert [len(hits) for hits in match_view(fresh, queries)] == [1, 1, 1, 0]
    else:
        assert match_view(fresh, queries) == match_view(source, queries)
        assert match_view(fresh, queries)[0] == [(PDQ, (LABEL,), 4)]


def test_export_own_only_and_provenance_columns(node_factory: NodeFactory, cli: Cli, tmp_path: Path) -> None:
    node = node_factory()
    (record_id,) = contribute(node, [md5_record()])
    out = tmp_path / "own.jsonl"
    assert cli("export", "--target", node.target, "--out", out, "--own").code == 0
    (line,) = [json.loads(text) for text in out.read_text().splitlines()]
    assert (line["record_id"], line["author"], line["value"]) == (record_id, "platform-a", MD5)
    assert not list(tmp_path.glob(".*partial*")), "no partial file is left behind"


# --- import: every line accounted for -----------------------------------------------------------------------


def test_import_submits_every_good_line_and_reports_the_others(
    node: RunningNode, cli: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text(
        "signal_type,value,quality,labels\n"
        f"pdq,{pdq_variant(1)},90,{LABEL}\n"  # 2 good
        f"pdq,{'zz' * 32},90,{LABEL}\n"  # 3 bad hex
        f"md5,{MD5},,tvec.made_up\n"  # 4 a label the node's taxonomy lacks
        f"pdq,{pdq_variant(2)},20,{LABEL}\n"  # 5 quality under the node's minimum
        "pdq,1,2,3,4\n"  # 6 wrong cell count
        f"sha256,{SHA256},,tvec.made_up|{LABEL}\n"  # 7 the same unknown label again
        f"pdq,{pdq_variant(3)},90,{LABEL}\n"  # 8 good
        f"md5,{'0' * 32},,{LABEL}\n"  # 9 good
    )
    result = cli("import", path, "--target", node.target, "--batch", "3", "--json")
    assert result.code == 1
    report = json.loads(result.out)
    assert report["accepted"] == 3 and report["stopped"] is None
    assert [(r["line"], r["field"]) for r in report["refused"]] == [
        (3, "value"),
        (4, "labels"),
        (5, "quality"),
        (6, "format"),
        (7, "labels"),
    ]
    assert "refused by the node" in report["refused"][1]["reason"]
    assert node.record_count() == 3
    assert "imported 3 records" in result.err  # the progress line


def test_import_human_summary_lists_lines(node: RunningNode, cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_text(f"# threatexchange dataset\npdq {PDQ}\nmd5 {MD5}\nmd5 nothexatall\n")
    result = cli("import", path, "--target", node.target, "--label", LABEL, "--quality", "80")
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0] == f"imported 2 record(s) from {path} as 1 entry; 1 line(s) refused"
    assert lines[1:] == [
        "  refused by field: value 1",
        "  line 4: value: got nothexatall, want 32 hex characters for md5",
    ]


def test_import_when_the_node_goes_away_says_where_it_stopped(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "list.jsonl"
    path.write_text(json.dumps({"signal_type": "md5", "value": MD5, "labels": [LABEL]}) + "\n")
    result = cli("import", path, "--target", "127.0.0.1:1", "--timeout", "2")
    assert result.code == 1
    assert "STOPPED at line 1: UNAVAILABLE" in result.out
    assert "Traceback" not in result.err


def test_import_of_a_file_in_no_known_format_is_a_usage_error(
    node: RunningNode, cli: Cli, tmp_path: Path
) -> None:
    path = tmp_path / "notes.dat"
    path.write_text("hello there, friend of mine\n")
    result = cli("import", path, "--target", node.target)
    assert result.code == 2 and "format" in result.err and "Traceback" not in result.err


# --- idempotent import --------------------------------------------------------------------------------------


def te_file(path: Path, count: int) -> Path:
    path.write_text("".join(f"pdq {pdq_variant(i)}\n" for i in range(count)))
    return path


def test_importing_a_file_twice_adds_nothing_the_second_time(node: RunningNode, cli: Cli, tmp_path: Path) -> None:
    path = te_file(tmp_path / "list.txt", 25)
    first = cli("import", path, "--target", node.target, "--label", LABEL, "--quality", "90", "--batch", "10", "--json")
    assert first.code == 0 and json.loads(first.out)["accepted"] == 25
    entries = node.entry_count()
    second = cli("import", path, "--target", node.target, "--label", LABEL, "--quality", "90", "--json")
    report = json.loads(second.out)
    assert second.code == 0, "duplicates are not a failure"
    assert report["accepted"] == 0 and report["entries"] == [] and report["refused"] == []
    assert [d["line"] for d in report["duplicates"]] == list(range(1, 26))
    assert node.record_count() == 25 and node.entry_count() == entries, "nothing signed again"
    first_ids = {info.record_id for batch in export(node) for info in batch.records}
    assert {d["record_id"] for d in report["duplicates"]} == first_ids


def test_a_line_repeated_in_the_file_is_a_duplicate_of_the_first(node: RunningNode, cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_text(f"pdq {PDQ}\nmd5 {MD5}\npdq {PDQ.upper()}\n")
    result = cli("import", path, "--target", node.target, "--label", LABEL, "--quality", "90")
    assert result.code == 0
    (info,) = [i for batch in export(node, signal_types=["pdq"]) for i in batch.records]
    assert result.out.splitlines() == [
        f"imported 2 record(s) from {path} as 1 entry; 1 duplicate(s) not signed again; 0 line(s) refused",
        f"  line 3: duplicate of record {info.record_id}",
    ]


def test_other_labels_or_a_retracted_record_are_not_duplicates(node: RunningNode, cli: Cli, tmp_path: Path) -> None:
    kept, retracted = contribute(node, [pdq_record(), md5_record()])
    node.client.Retract(client_pb2.RetractRequest(record_ids=[retracted], reason="mistake"))
    path = tmp_path / "list.txt"
    path.write_text(f"pdq {PDQ}\nmd5 {MD5}\n")
    result = cli("import", path, "--target", node.target, "--label", "tvec.manifesto", "--quality", "90", "--json")
    assert json.loads(result.out)["accepted"] == 2, "same hashes under other labels are new records"
    again = cli("import", path, "--target", node.target, "--label", LABEL, "--quality", "90", "--json")
    report = json.loads(again.out)
    assert report["accepted"] == 1, "the retracted md5 is contributed again"
    assert report["duplicates"] == [{"line": 1, "record_id": kept}]


def test_force_signs_duplicates_again(node: RunningNode, cli: Cli, tmp_path: Path) -> None:
    path = te_file(tmp_path / "list.txt", 3)
    options = ("--target", node.target, "--label", LABEL, "--quality", "90", "--json")
    cli("import", path, *options)
    forced = cli("import", path, *options, "--force")
    assert json.loads(forced.out)["accepted"] == 3 and node.record_count() == 6


def test_concurrent_submissions_of_the_same_records_sign_each_once(node: RunningNode) -> None:
    records = [pdq_record(pdq_variant(i)) for i in range(200)]
    request = client_pb2.SubmitRequest(records=records, skip_duplicates=True)
    barrier = threading.Barrier(8)

    def submit() -> client_pb2.SubmitResponse:
        barrier.wait()
        return node.client.Submit(request)

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(lambda _: submit(), range(8)))
    assert node.record_count() == 200
    assert sum(1 for r in responses if r.entry_id) == 1, "one submission signed, the others found its records"
    assert len({tuple(r.record_ids) for r in responses}) == 1, "every caller learns the same record ids"


def test_two_import_processes_of_one_file_add_each_record_once(node: RunningNode, tmp_path: Path) -> None:
    path = te_file(tmp_path / "list.txt", 3000)
    command = [
        sys.executable, "-m", "node.cli.main", "import", str(path), "--target", node.target,
        "--label", LABEL, "--quality", "90", "--batch", "100", "--json",
    ]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    reports = [json.loads(p.communicate(timeout=120)[0]) for p in processes]
    assert node.record_count() == 3000
    assert sum(r["accepted"] for r in reports) == 3000
    assert sum(len(r["duplicates"]) for r in reports) == 3000


def test_import_progress_shows_the_share_of_the_file_done(node: RunningNode, cli: Cli, tmp_path: Path) -> None:
    path = te_file(tmp_path / "list.txt", 40)
    result = cli("import", path, "--target", node.target, "--label", LABEL, "--quality", "90", "--batch", "10")
    (last,) = result.err.splitlines()[-1:]
    assert re.fullmatch(r"imported 40 records \([\d,]+/s\); line 40/40 \(100%\), ETA 0 s", last), last
