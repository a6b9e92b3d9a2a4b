"""A node keeps everything across a restart: records match, provenance verifies, its log continues."""

from __future__ import annotations

import json
import signal
import socket
from pathlib import Path

import pytest
from conftest import EXAMPLE_KEYS, Cli, NodeFactory, node_config, write_config

from node.api import convert
from node.api.gen.hashnode.v1 import client_pb2, types_pb2
from node.cli.serve_cmd import NodeProcess
from node.membership.members import Membership
from node.provenance.bundle import verify_bundle

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
NEAR_PDQ = "f8f8f0cee0f4a84f0637022a038f67f0b36e26d596621e1d33e6b39c4e9c9b22"
MD5 = "d35c785545392755e7e4164457657269"
LABEL = "tvec.propaganda"


def test_in_process_restart_keeps_records_history_and_the_log(
    node_factory: NodeFactory, tmp_path: Path, example_membership: Membership
) -> None:
    config = node_config(tmp_path / "data")
    first = node_factory(config)
    records = [
        types_pb2.HashRecord(signal_type="pdq", value=PDQ, quality=100, labels=[LABEL]),
        types_pb2.HashRecord(signal_type="md5", value=MD5, labels=[LABEL]),
    ]
    ids = first.client.Submit(client_pb2.SubmitRequest(records=records)).record_ids
    first.client.Retract(client_pb2.RetractRequest(record_ids=[ids[1]], reason="duplicate"))
    counts = (first.record_count(), first.entry_count())
    first.stop()

    second = node_factory(config)
    assert (second.record_count(), second.entry_count()) == counts
    queries = [
        client_pb2.HashQuery(signal_type="pdq", value=NEAR_PDQ),
        client_pb2.HashQuery(signal_type="md5", value=MD5),
    ]
    results = second.client.Match(client_pb2.MatchRequest(queries=queries)).results
    assert [m.provenance_ref for m in results[0].matches] == [ids[0]]
    assert list(results[1].matches) == []  # still retracted
    for rid, status in ((ids[0], "active"), (ids[1], "retracted")):
        bundle = second.client.GetProvenance(client_pb2.ProvenanceRequest(record_id=rid))
        assert verify_bundle(convert.bundle_from_proto(bundle), trusted=example_membership).status == status
    again = second.client.Submit(client_pb2.SubmitRequest(records=records[:1]))
    assert again.seq == 3


def run_json(cli: Cli, *argv: object) -> object:
    result = cli(*argv, "--json")
    assert result.code == 0, result.err
    return json.loads(result.out)


@pytest.mark.slow
def test_subprocess_node_survives_sigterm_and_sigint(tmp_path: Path, cli: Cli) -> None:
    config = write_config(tmp_path)
    node = NodeProcess.start(config, tmp_path / "node-1.log")
    try:
        assert node.member_id == "platform-a" and node.address.startswith("127.0.0.1:")
        submitted = run_json(
            cli, "submit", "--target", node.target, "--hash", PDQ, "--quality", "100", "--label", LABEL
        )
        assert isinstance(submitted, dict)
        (record_id,) = submitted["record_ids"]
    finally:
        assert node.stop(signal.SIGTERM) == 0
    assert "hashnode: stopped" in node.log.read_text()

    node = NodeProcess.start(config, tmp_path / "node-2.log")
    try:
        matches = run_json(cli, "match", "--target", node.target, NEAR_PDQ)
        assert isinstance(matches, list)
        assert [m["record_id"] for m in matches[0]["matches"]] == [record_id]
        bundle = tmp_path / "bundle.json"
        result = cli("provenance", "--target", node.target, record_id, "--out", bundle)
        assert result.code == 0, result.err
    finally:
        assert node.stop(signal.SIGINT) == 0
    result = cli("verify", bundle, "--consortium", EXAMPLE_KEYS / "consortium.toml")
    assert result.code == 0 and result.out.startswith(f"VERIFIED  record {record_id}"), result


def test_a_port_in_use_is_refused_not_shared(tmp_path: Path, cli: Cli) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(tmp_path)
        config.write_text(
            config.read_text().replace('listen = "127.0.0.1:0"', f'listen = "127.0.0.1:{port}"')
        )
        result = cli("serve", "--config", config)
    assert result.code == 2
    assert f"node.listen: cannot bind 127.0.0.1:{port}" in result.err and "Traceback" not in result.err
