"""`hashnode retract`: a contributor withdraws its records, and every other case is refused with a reason."""

from __future__ import annotations

import json
from pathlib import Path

from node.api.gen.hashnode.v1 import client_pb2, types_pb2
from tests.conftest import Cli, NodeFactory, RunningNode, node_config
from tests.test_change_feed import deliver

LABEL = "tvec.propaganda"


def pdq(i: int) -> types_pb2.HashRecord:
    return types_pb2.HashRecord(signal_type="pdq", value=f"{i:08x}" + "0f" * 28, quality=90, labels=[LABEL])


def submit(node: RunningNode, *records: types_pb2.HashRecord) -> list[str]:
    return list(node.client.Submit(client_pb2.SubmitRequest(records=records)).record_ids)


def matches(node: RunningNode, i: int) -> int:
    query = client_pb2.HashQuery(signal_type="pdq", value=pdq(i).value)
    (result,) = node.client.Match(client_pb2.MatchRequest(queries=[query], pdq_threshold=0)).results
    return len(result.matches)


def test_retract_withdraws_the_records_named_and_in_a_file(node: RunningNode, cli: Cli, tmp_path: Path) -> None:
    first, second, third = submit(node, pdq(1), pdq(2), pdq(3))
    listed = tmp_path / "ids.txt"
    listed.write_text(f"{second}\n\n{third.upper()}\n{first}\n")
    result = cli("retract", first, "--file", listed, "--reason", "mistake", "--target", node.target, "--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["record_ids"] == [first, second, third], "each once, in order"
    assert [matches(node, i) for i in (1, 2, 3)] == [0, 0, 0]


def test_retract_prints_the_entry(node: RunningNode, cli: Cli) -> None:
    (rid,) = submit(node, pdq(1))
    result = cli("retract", rid, "--target", node.target)
    assert result.code == 0
    assert result.out.startswith("retracted 1 record(s) in entry ")


def test_only_the_contributor_retracts(node_factory: NodeFactory, cli: Cli, tmp_path: Path) -> None:
    a, b = node_factory(), node_factory(node_config(tmp_path / "b", "platform-b"))
    (theirs,) = submit(b, pdq(5))
    deliver(b, a)
    result = cli("retract", theirs, "--target", a.target)
    assert result.code == 1
    assert "only its contributor retracts" in result.err and "Traceback" not in result.err
    assert matches(a, 5) == 1


def test_bad_record_ids_are_usage_errors_naming_where(node: RunningNode, cli: Cli, tmp_path: Path) -> None:
    listed = tmp_path / "ids.txt"
    listed.write_text("abc\n")
    for argv, where in (
        (("retract",), "RECORD_ID: got nothing"),
        (("retract", "zz"), "RECORD_ID #1: got zz"),
        (("retract", "--file", str(listed)), f"{listed}:1: got abc"),
    ):
        result = cli(*argv, "--target", node.target)
        assert result.code == 2 and where in result.err, result.err
