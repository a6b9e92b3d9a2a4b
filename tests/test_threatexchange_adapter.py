"""The python-threatexchange adapter (node/adapters/threatexchange.py) against live nodes over real gRPC.

The real `threatexchange` CLI fetches from the node (its own fetch loop, state store and checkpointing) and
matches with its own indexes, as an HMA deployment does; the adapter's API is also driven directly to check what
each fetch carries. Another member's records reach the node as replication delivers them (its signed log).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import pickle
from pathlib import Path
from typing import Any

import grpc
import pytest

pytest.importorskip(
    "threatexchange", reason="needs the threatexchange extra: pip install '.[threatexchange]'"
)

from threatexchange.cli.main import inner_main
from threatexchange.exchanges import fetch_state
from threatexchange.exchanges.fetch_state import SignalOpinion
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal
from threatexchange.signal_type.sha256 import VideoSHA256Signal
from threatexchange.utils import dataclass_json

from node.adapters.threatexchange import (
    FEED_VERSION,
    HashnodeCheckpoint,
    HashnodeCollabConfig,
    HashnodeRecord,
    HashnodeSignalExchangeAPI,
    NodeUnreachable,
)
from node.api.gen.hashnode.v1 import client_pb2, client_pb2_grpc, types_pb2
from tests.conftest import EXAMPLE_KEYS, NodeFactory, RunningNode, node_config, tls_config
from tests.test_change_feed import deliver

LABEL = "tvec.propaganda"
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
PDQ_NEAR = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b2d"  # 4 bits away
OTHER_PDQ = "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"
MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
TYPES = [PdqSignal, VideoMD5Signal, VideoSHA256Signal]
POSITIVE = fetch_state.SignalOpinionCategory.POSITIVE_CLASS
NEGATIVE = fetch_state.SignalOpinionCategory.NEGATIVE_CLASS
DISPUTED = fetch_state.AggregateSignalOpinionCategory.DISPUTED


def submit(node: RunningNode, *records: types_pb2.HashRecord) -> list[str]:
    return list(node.client.Submit(client_pb2.SubmitRequest(records=records)).record_ids)


def pdq(value: str = PDQ, labels: tuple[str, ...] = (LABEL,)) -> types_pb2.HashRecord:
    return types_pb2.HashRecord(signal_type="pdq", value=value, quality=90, labels=labels)


def md5() -> types_pb2.HashRecord:
    return types_pb2.HashRecord(signal_type="md5", value=MD5, labels=["tvec.manifesto"])


def collab(node: RunningNode, **fields: object) -> HashnodeCollabConfig:
    return HashnodeCollabConfig(name="consortium", api="hashnode", enabled=True, target=node.target, **fields)  # type: ignore[arg-type]


def exchange(node: RunningNode, **fields: object) -> HashnodeSignalExchangeAPI:
    return HashnodeSignalExchangeAPI.for_collab(collab(node, **fields))


Fetched = dict[str, HashnodeRecord | None]


def fetch(
    api: HashnodeSignalExchangeAPI, checkpoint: object = None, types: list[type[Any]] = TYPES
) -> tuple[Fetched, HashnodeCheckpoint]:
    """One fetch: every update it carried (deletes as None), and the checkpoint it ended with."""
    updates: Fetched = {}
    for delta in api.fetch_iter(types, checkpoint):  # type: ignore[arg-type]
        updates.update(delta.updates)
        checkpoint = delta.checkpoint
    assert isinstance(checkpoint, HashnodeCheckpoint)
    return updates, checkpoint


def held(updates: Fetched) -> dict[str, HashnodeRecord]:
    """What a copy that applied `updates` holds (threatexchange's merge: None deletes)."""
    merged: dict[str, HashnodeRecord] = {}
    HashnodeSignalExchangeAPI.naive_fetch_merge(merged, updates)
    return merged


def signal_opinions(api: HashnodeSignalExchangeAPI, fetched: dict[str, HashnodeRecord]) -> list[SignalOpinion]:
    """The opinions threatexchange reads on the PDQ signal of `fetched`."""
    signals = HashnodeSignalExchangeAPI.naive_convert_to_signal_type(TYPES, api.collab, fetched)  # type: ignore[arg-type]
    return list(signals[PdqSignal][PDQ].get_as_opinions())


@pytest.fixture
def pair(node_factory: NodeFactory, tmp_path: Path) -> tuple[RunningNode, RunningNode]:
    """platform-a's node (the one HMA fetches from) and platform-b's, whose log a receives."""
    return node_factory(), node_factory(node_config(tmp_path / "b", "platform-b"))


class TxCli:
    """The real threatexchange CLI in this process, with its own state directory."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir

    def __call__(self, *args: str) -> str:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            inner_main(list(args), state_dir=self.state_dir)
        return out.getvalue()

    def dataset(self) -> list[str]:
        return sorted(self("dataset", "--print-signals").splitlines())


@pytest.fixture
def tx(tmp_path: Path) -> TxCli:
    return TxCli(tmp_path / "threatexchange")


# --- the threatexchange CLI ----------------------------------------------------------------------------------


def test_threatexchange_cli_fetches_from_a_node_and_matches_with_its_own_index(
    node: RunningNode, tx: TxCli, tmp_path: Path
) -> None:
    # Two PDQ hashes: threatexchange 1.2.17's PDQ index, reloaded from its file, finds nothing when it holds one.
    submit(node, pdq(), pdq(OTHER_PDQ), md5())
    tx("config", "extensions", "add", "node.adapters.threatexchange")
    tx("config", "collab", "edit", "hashnode", "consortium", "--create", "--target", node.target)
    tx("fetch")
    assert tx.dataset() == [
        f"pdq {OTHER_PDQ} 'consortium' POSITIVE_CLASS {LABEL}",
        f"pdq {PDQ} 'consortium' POSITIVE_CLASS {LABEL}",
        f"video_md5 {MD5} 'consortium' POSITIVE_CLASS tvec.manifesto",
    ]
    query = tmp_path / "near.txt"
    query.write_text(PDQ_NEAR)
    assert tx("match", "-H", "photo", str(query)).splitlines() == [f"pdq 4 (consortium) POSITIVE_CLASS {LABEL}"]


def test_retraction_and_dispute_show_in_the_next_incremental_cli_fetch(
    pair: tuple[RunningNode, RunningNode], tx: TxCli
) -> None:
    a, b = pair
    (theirs,) = submit(b, pdq())
    deliver(b, a)
    (mine,) = submit(a, md5())
    tx("config", "extensions", "add", "node.adapters.threatexchange")
    tx("config", "collab", "edit", "hashnode", "consortium", "--create", "--target", a.target)
    tx("fetch")
    assert len(tx.dataset()) == 2
    a.client.Opine(client_pb2.OpineRequest(record_id=theirs, stance=client_pb2.STANCE_FALSE_POSITIVE))
    a.client.Retract(client_pb2.RetractRequest(record_ids=[mine], reason="mistake"))
    tx("fetch")
    assert tx.dataset() == [f"pdq {PDQ} 'consortium' DISPUTED {LABEL}"]


# --- what a fetch carries -------------------------------------------------------------------------------------


def test_a_first_fetch_holds_every_active_record(node: RunningNode) -> None:
    first, second = submit(node, pdq(), md5())
    fetched, checkpoint = fetch(exchange(node))
    assert fetched[first] == HashnodeRecord("pdq", PDQ, (LABEL,), "platform-a", True)
    assert fetched[second] is not None and fetched[second].signal_type == "md5"
    assert (checkpoint.member_id, checkpoint.feed) == ("platform-a", FEED_VERSION)


def test_an_incremental_fetch_carries_new_records_and_deletes_at_once(node: RunningNode) -> None:
    first, _ = submit(node, pdq(), md5())
    api = exchange(node)
    _, checkpoint = fetch(api)
    (third,) = submit(node, pdq(labels=("tvec.manifesto",)))
    node.client.Retract(client_pb2.RetractRequest(record_ids=[first], reason="mistake"))
    later, _ = fetch(api, checkpoint)
    assert set(later) == {first, third}, "only what changed since"
    assert later[first] is None, "the retraction is a delete in this very fetch"


def test_a_fetch_from_nothing_deletes_what_is_no_longer_active(node: RunningNode) -> None:
    """HMA refetches from nothing without clearing its copy: the full fetch itself must carry the deletes."""
    first, second = submit(node, pdq(), md5())
    node.client.Retract(client_pb2.RetractRequest(record_ids=[first], reason="mistake"))
    # A copy that still holds the record from before it was retracted, as HMA's does.
    stale_copy = held({first: HashnodeRecord("pdq", PDQ, (LABEL,), "platform-a", True)})
    refetched, _ = fetch(exchange(node))
    HashnodeSignalExchangeAPI.naive_fetch_merge(stale_copy, refetched)
    assert set(stale_copy) == {second}


def test_records_of_one_hash_become_one_signal_with_an_opinion_per_record(node: RunningNode) -> None:
    submit(node, pdq())
    submit(node, pdq(labels=("tvec.manifesto", LABEL)))
    api = exchange(node)
    opinions = signal_opinions(api, held(fetch(api)[0]))
    assert sorted(sorted(o.tags) for o in opinions) == [["tvec.manifesto", LABEL], [LABEL]]
    assert all(o.is_mine and o.category == POSITIVE for o in opinions)


def test_another_members_false_positive_report_makes_the_signal_disputed(
    pair: tuple[RunningNode, RunningNode],
) -> None:
    a, b = pair
    (mine,) = submit(a, pdq())
    deliver(a, b)
    api = exchange(a)
    fetched, checkpoint = fetch(api)
    b.client.Opine(client_pb2.OpineRequest(record_id=mine, stance=client_pb2.STANCE_FALSE_POSITIVE))
    deliver(b, a)
    later, _ = fetch(api, checkpoint)
    assert set(later) == {mine}, "the opinion put the record on the feed again"
    opinions = signal_opinions(api, held(fetched | later))
    assert [(o.is_mine, o.category) for o in opinions] == [(True, POSITIVE), (False, NEGATIVE)]
    aggregate = fetch_state.AggregateSignalOpinion.from_opinions(opinions)
    assert aggregate.category == DISPUTED


def test_an_endorsement_is_a_positive_opinion(pair: tuple[RunningNode, RunningNode]) -> None:
    a, b = pair
    (theirs,) = submit(b, pdq())
    deliver(b, a)
    a.client.Opine(client_pb2.OpineRequest(record_id=theirs, stance=client_pb2.STANCE_AGREE))
    api = exchange(a)
    opinions = signal_opinions(api, held(fetch(api)[0]))
    assert [(o.is_mine, o.category) for o in opinions] == [(False, POSITIVE), (True, POSITIVE)]


def test_an_overturned_record_is_deleted_at_the_next_fetch(pair: tuple[RunningNode, RunningNode]) -> None:
    a, b = pair
    (mine,) = submit(a, pdq())
    deliver(a, b)
    api = exchange(a)
    _, checkpoint = fetch(api)
    appeal = b.client.Appeal(client_pb2.AppealRequest(record_id=mine, case_ref="CASE-1"))
    deliver(b, a)
    a.client.Decide(
        client_pb2.DecideRequest(appeal_entry_id=appeal.entry_id, outcome=client_pb2.OUTCOME_OVERTURNED, reason="no")
    )
    later, _ = fetch(api, checkpoint)
    assert later == {mine: None}


def test_a_checkpoint_saved_by_an_earlier_version_is_stale() -> None:
    """Its cursor was a store position: reading the feed from it would skip changes."""
    old = HashnodeCheckpoint.__new__(HashnodeCheckpoint)
    old.__dict__.update(cursor=5, member_id="platform-a", full_fetch_started=9e12, full_refetch_s=1e9)
    restored = pickle.loads(pickle.dumps(old))
    assert restored.is_stale()
    assert not HashnodeCheckpoint(5, "platform-a", 9e12, 1e9, FEED_VERSION).is_stale()


def test_a_record_saved_by_an_earlier_version_still_converts() -> None:
    old = HashnodeRecord.__new__(HashnodeRecord)
    old.__dict__.update(signal_type="pdq", value=PDQ, labels=(LABEL,), author="platform-b", is_mine=False)
    config = HashnodeCollabConfig(name="c", api="hashnode", enabled=True, target="127.0.0.1:1")
    saved = {"r": pickle.loads(pickle.dumps(old))}
    signals = HashnodeSignalExchangeAPI.naive_convert_to_signal_type(TYPES, config, saved)  # type: ignore[arg-type]
    assert [o.category for o in signals[PdqSignal][PDQ].get_as_opinions()] == [POSITIVE]


def test_a_cursor_from_a_store_since_restored_starts_the_feed_over(node: RunningNode) -> None:
    first, second = submit(node, pdq(), md5())
    api = exchange(node)
    _, checkpoint = fetch(api)
    ahead = HashnodeCheckpoint(checkpoint.cursor + 100, "platform-a", checkpoint.full_fetch_started, 1e9, FEED_VERSION)
    refetched, after = fetch(api, ahead)
    assert set(refetched) == {first, second} and after.cursor == checkpoint.cursor


def test_types_hashnode_does_not_carry_fetch_nothing(node: RunningNode) -> None:
    from threatexchange.signal_type.raw_text import RawTextSignal

    submit(node, pdq())
    assert list(exchange(node).fetch_iter([RawTextSignal], None)) == []  # type: ignore[list-item]


def test_a_video_record_is_fetched_as_threatexchanges_vpdq_signal(node: RunningNode) -> None:
    pytest.importorskip("vpdq", reason="python-threatexchange's vpdq extension needs the vpdq package")
    from threatexchange.extensions.vpdq.vpdq import VPDQSignal
    from threatexchange.extensions.vpdq.vpdq_util import json_to_vpdq

    video = types_pb2.HashRecord(signal_type="vpdq", labels=[LABEL])
    for i in range(3):
        video.video.frames.add(pdq=bytes([i]) * 32, quality=90, frame_number=i, timestamp_ms=1000 * i)
    (record_id,) = submit(node, video, pdq())[:1]
    api = exchange(node)
    updates: Fetched = {}
    for delta in api.fetch_iter([*TYPES, VPDQSignal], None):  # type: ignore[list-item]
        updates.update(delta.updates)
    signals = HashnodeSignalExchangeAPI.naive_convert_to_signal_type([VPDQSignal], api.collab, held(updates))  # type: ignore[list-item]
    ((signal, metadata),) = signals[VPDQSignal].items()
    assert [(f.pdq_hex, f.quality, f.timestamp) for f in json_to_vpdq(signal)] == [
        (bytes([i]).hex() * 32, 90, float(i)) for i in range(3)
    ]
    assert list(metadata.records) == [record_id]
    assert VPDQSignal.compare_hash(signal, signal).match


# --- opinions reported back ---------------------------------------------------------------------------------


def test_label_endorses_other_members_records_and_the_next_fetch_shows_it(
    pair: tuple[RunningNode, RunningNode],
) -> None:
    a, b = pair
    submit(b, pdq())
    deliver(b, a)
    api = exchange(a)
    _, checkpoint = fetch(api)
    api.report_opinion(PdqSignal, PDQ, fetch_state.SignalOpinion(True, POSITIVE, {LABEL}))
    later, _ = fetch(api, checkpoint)
    opinions = signal_opinions(api, held(later))
    assert [(o.is_mine, o.category) for o in opinions] == [(False, POSITIVE), (True, POSITIVE)]


def test_a_false_positive_report_on_a_video_signal_reaches_the_other_members_video(
    pair: tuple[RunningNode, RunningNode],
) -> None:
    pytest.importorskip("vpdq", reason="python-threatexchange's vpdq extension needs the vpdq package")
    from threatexchange.extensions.vpdq.vpdq import VPDQSignal

    a, b = pair
    video = types_pb2.HashRecord(signal_type="vpdq", labels=[LABEL])
    for i in range(8):
        frame = hashlib.sha256(b"frame %d" % i).digest()
        video.video.frames.add(pdq=frame, quality=90, frame_number=30 * i, timestamp_ms=1000 * i)
    (record_id,) = submit(b, video)
    deliver(b, a)
    api = exchange(a)
    updates, checkpoint = fetch(api, types=[VPDQSignal])
    ((signal, _),) = api.naive_convert_to_signal_type([VPDQSignal], api.collab, held(updates))[VPDQSignal].items()  # type: ignore[list-item]
    api.report_opinion(VPDQSignal, signal, fetch_state.SignalOpinion(True, NEGATIVE, set()))
    later, _ = fetch(api, checkpoint, types=[VPDQSignal])
    assert [(o.member_id, o.stance) for o in later[record_id].opinions] == [  # type: ignore[union-attr]
        ("platform-a", client_pb2.STANCE_FALSE_POSITIVE)
    ]


def test_opinions_on_own_records_sign_nothing_and_seeds_are_not_opinions(node: RunningNode) -> None:
    submit(node, pdq())
    api = exchange(node)
    entries = node.entry_count()
    api.report_opinion(PdqSignal, PDQ, fetch_state.SignalOpinion(True, POSITIVE, set()))
    assert node.entry_count() == entries
    seed = fetch_state.SignalOpinion(True, fetch_state.SignalOpinionCategory.INVESTIGATION_SEED, set())
    with pytest.raises(NotImplementedError):
        api.report_opinion(PdqSignal, PDQ, seed)


# --- TLS ------------------------------------------------------------------------------------------------------


@pytest.fixture
def tls_node(node_factory: NodeFactory, tmp_path: Path) -> RunningNode:
    """platform-a's node with its TLS identity (a certificate naming hashnode.peer only) and client tokens."""
    return node_factory(tls_config(tmp_path / "tls"))


def test_a_tls_node_is_fetched_with_its_certificate_under_the_name_every_node_carries(
    tls_node: RunningNode,
) -> None:
    token = (EXAMPLE_KEYS / "platform-a.client-token").read_text().split()[0]
    config = collab(tls_node, root_certificate=str(EXAMPLE_KEYS / "platform-a.crt"))
    assert config.tls_server_name == "hashnode.peer"
    assert fetch(HashnodeSignalExchangeAPI(config, token))[0] == {}


def test_a_wrong_tls_server_name_is_explained(tls_node: RunningNode) -> None:
    api = exchange(tls_node, root_certificate=str(EXAMPLE_KEYS / "platform-a.crt"), tls_server_name="hma.example")
    with pytest.raises(NodeUnreachable, match="does not carry the name the client asked for: set tls_server_name"):
        fetch(api)


def test_plaintext_against_a_tls_node_is_explained(tls_node: RunningNode) -> None:
    with pytest.raises(NodeUnreachable, match="the node speaks TLS, the client called it in plaintext"):
        fetch(exchange(tls_node))


def test_tls_against_a_plaintext_node_is_explained(node: RunningNode) -> None:
    api = exchange(node, root_certificate=str(EXAMPLE_KEYS / "platform-a.crt"))
    with pytest.raises(NodeUnreachable, match="the node speaks plaintext"):
        fetch(api)


# --- HMA's fetch loop ------------------------------------------------------------------------------------------


class HmaBank:
    """HMA's exchange storage and fetcher as OpenMediaMatch runs them (facebook/ThreatExchange,
    hasher-matcher-actioner: background_tasks/fetcher.py `_fetch`, storage/postgres/impl.py
    `exchange_commit_fetch`), without Flask and Postgres: a stale checkpoint refetches from nothing *without*
    clearing the stored data; updates merge by key (the last wins); each key is converted on its own and one that
    converts to nothing, or is None, is deleted; values are stored pickled, checkpoints as JSON."""

    def __init__(self, config_json: str) -> None:
        self.collab = dataclass_json.dataclass_loads(config_json, HashnodeCollabConfig)
        self.rows: dict[str, bytes] = {}  # fetch id -> pickled value (ExchangeData)
        self.checkpoint_json: str | None = None

    def fetch(self) -> None:
        api = HashnodeSignalExchangeAPI.for_collab(self.collab)
        saved = self.checkpoint_json
        checkpoint = None if saved is None else dataclass_json.dataclass_loads(saved, HashnodeCheckpoint)
        if checkpoint is not None and checkpoint.is_stale():
            checkpoint = None  # "Checkpoint has become stale! Will refetch from scratch" -- nothing cleared
        pending: dict[str, HashnodeRecord | None] = {}
        last = None
        for delta in api.fetch_iter(TYPES, checkpoint):  # type: ignore[arg-type]
            pending.update(delta.updates)
            last = delta.checkpoint
        for key, value in pending.items():
            converted = {} if value is None else api.naive_convert_to_signal_type(TYPES, self.collab, {key: value})  # type: ignore[arg-type]
            if not converted:
                self.rows.pop(key, None)
            else:
                self.rows[key] = pickle.dumps(value)
        if last is not None:
            self.checkpoint_json = dataclass_json.dataclass_dumps(last)

    def signals(self) -> dict[tuple[str, str], fetch_state.AggregateSignalOpinionCategory]:
        """The bank's signals and the category HMA's UI shows for each."""
        held: dict[str, HashnodeRecord] = {key: pickle.loads(row) for key, row in self.rows.items()}
        found = {}
        for s_type, signals in HashnodeSignalExchangeAPI.naive_convert_to_signal_type(TYPES, self.collab, held).items():  # type: ignore[arg-type]
            for value, metadata in signals.items():
                found[(s_type.get_name(), value)] = metadata.get_as_aggregate_opinion().category
        return found


def test_hma_keeps_a_bank_of_a_tls_node_in_step_with_disputes_retractions_and_a_stale_checkpoint(
    node_factory: NodeFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = node_factory(tls_config(tmp_path / "a", tls_client_names=("localhost",)))
    b = node_factory(node_config(tmp_path / "b", "platform-b"))
    token = (EXAMPLE_KEYS / "platform-a.client-token").read_text().split()[0]
    credentials = grpc.ssl_channel_credentials((EXAMPLE_KEYS / "platform-a.crt").read_bytes())
    a_tls = grpc.secure_channel(a.target, credentials, [("grpc.ssl_target_name_override", "hashnode.peer")])
    a_client, auth = client_pb2_grpc.HashNodeStub(a_tls), [("authorization", f"Bearer {token}")]
    mine_pdq, mine_md5 = a_client.Submit(client_pb2.SubmitRequest(records=[pdq(), md5()]), metadata=auth).record_ids
    (theirs,) = submit(b, pdq(OTHER_PDQ))
    deliver(b, a)
    # The exchange's configuration as HMA stores it (docs/threatexchange.md, "HMA"), and its credential.
    config = {
        "name": "hashnode-consortium",
        "api": "hashnode",
        "enabled": True,
        "target": f"localhost:{a.port}",
        "root_certificate": str(a.runtime.config.data_dir / "client-listener.crt"),
        "tls_server_name": "localhost",
    }
    monkeypatch.setenv("TX_HASHNODE_TOKEN", token)
    bank = HmaBank(json.dumps(config))
    bank.fetch()
    assert bank.signals() == {
        ("pdq", PDQ): fetch_state.AggregateSignalOpinionCategory.POSITIVE_CLASS,
        ("pdq", OTHER_PDQ): fetch_state.AggregateSignalOpinionCategory.POSITIVE_CLASS,
        ("video_md5", MD5): fetch_state.AggregateSignalOpinionCategory.POSITIVE_CLASS,
    }
    deliver(a, b)
    b.client.Opine(client_pb2.OpineRequest(record_id=mine_pdq, stance=client_pb2.STANCE_FALSE_POSITIVE))
    deliver(b, a)
    a_client.Retract(client_pb2.RetractRequest(record_ids=[mine_md5], reason="mistake"), metadata=auth)
    bank.fetch()
    assert bank.signals() == {
        ("pdq", PDQ): fetch_state.AggregateSignalOpinionCategory.DISPUTED,
        ("pdq", OTHER_PDQ): fetch_state.AggregateSignalOpinionCategory.POSITIVE_CLASS,
    }
    assert theirs in bank.rows and mine_md5 not in bank.rows
    # A stale checkpoint: HMA fetches from nothing over what it holds; the feed's deletes keep the bank exact.
    stale = dataclass_json.dataclass_loads(bank.checkpoint_json or "", HashnodeCheckpoint)
    stale.full_fetch_started = 0.0
    bank.checkpoint_json = dataclass_json.dataclass_dumps(stale)
    bank.rows[mine_md5] = pickle.dumps(HashnodeRecord("md5", MD5, ("tvec.manifesto",), "platform-a", True))
    bank.fetch()
    assert mine_md5 not in bank.rows and len(bank.rows) == 2
    a_tls.close()


def test_an_empty_tls_server_name_checks_the_host_dialled(node_factory: NodeFactory, tmp_path: Path) -> None:
    """With `[tls] client_names` on the node, a collaboration that dials one of them needs no name of its own."""
    named = node_factory(tls_config(tmp_path / "named", tls_client_names=("localhost",)))
    token = (EXAMPLE_KEYS / "platform-a.client-token").read_text().split()[0]
    config = HashnodeCollabConfig(
        name="consortium",
        api="hashnode",
        enabled=True,
        target=f"localhost:{named.port}",
        root_certificate=str(named.runtime.config.data_dir / "client-listener.crt"),
        tls_server_name="",
    )
    assert fetch(HashnodeSignalExchangeAPI(config, token))[0] == {}
