"""The python-threatexchange adapter (node/adapters/threatexchange.py) against a live node over real gRPC.

The real `threatexchange` CLI fetches from the node (its own fetch loop, state store and checkpointing), and
threatexchange's own PDQ index then matches a near-duplicate hash: what an HMA deployment does.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip(
    "threatexchange", reason="needs the threatexchange extra: pip install '.[threatexchange]'"
)

from threatexchange.cli.main import inner_main
from threatexchange.exchanges import fetch_state
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal

from node.adapters.threatexchange import (
    HashnodeCollabConfig,
    HashnodeRecord,
    HashnodeSignalExchangeAPI,
)
from node.api.gen.hashnode.v1 import client_pb2, types_pb2
from tests.conftest import RunningNode

LABEL = "tvec.propaganda"
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
PDQ_NEAR = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b2d"  # 4 bits away
MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def submit(node: RunningNode, *records: types_pb2.HashRecord) -> list[str]:
    return list(node.client.Submit(client_pb2.SubmitRequest(records=records)).record_ids)


def pdq(value: str = PDQ, labels: tuple[str, ...] = (LABEL,)) -> types_pb2.HashRecord:
    return types_pb2.HashRecord(signal_type="pdq", value=value, quality=90, labels=labels)


def md5() -> types_pb2.HashRecord:
    return types_pb2.HashRecord(signal_type="md5", value=MD5, labels=["tvec.manifesto"])


def exchange(node: RunningNode) -> HashnodeSignalExchangeAPI:
    collab = HashnodeCollabConfig(name="consortium", api="hashnode", enabled=True, target=node.target)
    return HashnodeSignalExchangeAPI.for_collab(collab)


Fetched = dict[str, HashnodeRecord]


def fetch(api: HashnodeSignalExchangeAPI, checkpoint: object = None) -> tuple[Fetched, object]:
    merged: dict[str, HashnodeRecord] = {}
    for delta in api.fetch_iter([PdqSignal, VideoMD5Signal], checkpoint):  # type: ignore[arg-type]
        api.naive_fetch_merge(merged, delta.updates)
        checkpoint = delta.checkpoint
    return merged, checkpoint


def test_threatexchange_cli_fetches_from_a_node_and_its_pdq_index_matches(
    node: RunningNode, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    submit(node, pdq(), md5())
    state_dir = tmp_path / "threatexchange"

    def tx(*args: str) -> str:
        capsys.readouterr()
        inner_main(list(args), state_dir=state_dir)
        return capsys.readouterr().out

    tx("config", "extensions", "add", "node.adapters.threatexchange")
    tx("config", "collab", "edit", "hashnode", "consortium", "--create", "--target", node.target)
    tx("fetch")
    fetched = sorted(tx("dataset", "--print-signals").splitlines())
    assert fetched == [
        f"pdq {PDQ} 'consortium' POSITIVE_CLASS {LABEL}",
        f"video_md5 {MD5} 'consortium' POSITIVE_CLASS tvec.manifesto",
    ]
    # threatexchange's own PDQ index, built from what its CLI fetched. Built in memory: `threatexchange match`
    # reloads a pickled faiss index, which with faiss-cpu 1.15 finds nothing, whatever the data's source.
    signals = tx("dataset", "--print-signals", "--print-signals-only", "--only-signals", "pdq").split()
    index = PdqSignal.get_index_cls().build((signal, signal) for signal in signals)
    (found,) = index.query(PDQ_NEAR)
    assert (found.metadata, found.similarity_info.distance) == (PDQ, 4)
    assert index.query("0" * 64) == []


def test_fetch_is_incremental_and_drops_records_no_longer_active(node: RunningNode) -> None:
    first_id, _ = submit(node, pdq(), md5())
    api = exchange(node)
    fetched, checkpoint = fetch(api)
    assert {r.signal_type for r in fetched.values()} == {"pdq", "md5"}
    assert fetched[first_id] == HashnodeRecord("pdq", PDQ, (LABEL,), "platform-a", True)

    (second_id,) = submit(node, pdq(labels=("tvec.manifesto",)))
    node.client.Retract(client_pb2.RetractRequest(record_ids=[first_id], reason="mistake"))
    later: dict[str, HashnodeRecord | None] = {}
    for delta in api.fetch_iter([PdqSignal, VideoMD5Signal], checkpoint):  # type: ignore[arg-type]
        later.update(delta.updates)
    assert set(later) == {second_id}, "a resumed fetch reads only what was stored since"

    refetched, _ = fetch(api)  # what a stale checkpoint leads to: everything again, retracted records gone
    assert first_id not in refetched and second_id in refetched


def test_records_of_one_hash_become_one_signal_with_an_opinion_per_record(node: RunningNode) -> None:
    submit(node, pdq())
    submit(node, pdq(labels=("tvec.manifesto", LABEL)))
    collab = HashnodeCollabConfig(name="consortium", api="hashnode", enabled=True, target=node.target)
    fetched, _ = fetch(exchange(node))
    signals = HashnodeSignalExchangeAPI.naive_convert_to_signal_type([PdqSignal], collab, fetched)
    (metadata,) = signals[PdqSignal].values()
    opinions = metadata.get_as_opinions()
    assert sorted(sorted(o.tags) for o in opinions) == [["tvec.manifesto", LABEL], [LABEL]]
    assert all(o.is_mine and o.category == fetch_state.SignalOpinionCategory.POSITIVE_CLASS for o in opinions)


def test_opinions_on_own_records_sign_nothing_and_seeds_are_not_opinions(node: RunningNode) -> None:
    submit(node, pdq())
    api = exchange(node)
    entries = node.entry_count()
    positive = fetch_state.SignalOpinion(True, fetch_state.SignalOpinionCategory.POSITIVE_CLASS, set())
    api.report_opinion(PdqSignal, PDQ, positive)
    assert node.entry_count() == entries
    seed = fetch_state.SignalOpinion(True, fetch_state.SignalOpinionCategory.INVESTIGATION_SEED, set())
    with pytest.raises(NotImplementedError):
        api.report_opinion(PdqSignal, PDQ, seed)
