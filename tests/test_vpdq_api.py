"""vpdq records over the client API, end to end: a video's frame features submitted, signed, stored, exported,
proved offline and replicated like any record; bad feature lists refused naming the field, nothing written."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from conftest import RunningNode
from replication_helpers import EVERYONE, KEYS, LABEL, NetNode, open_ledger, serve, wait_for

from node.api import convert
from node.api.gen.hashnode.v1 import client_pb2, client_pb2_grpc, types_pb2
from node.core.entry import MAX_ENTRY_BYTES
from node.core.errors import NotFound
from node.core.vpdq import MAX_FRAMES, VpdqFeatures
from node.membership.members import Membership
from node.provenance.bundle import verify_bundle

LABELS = ["tvec.propaganda"]


def pdq(n: int) -> bytes:
    return hashlib.sha256(b"frame %d" % n).digest()


def video(count: int = 5, *, interval_ms: int = 1000, quality: int = 90, **frame: Any) -> types_pb2.VideoFeatures:
    """A video's features as a caller sends them: `count` frames one second apart."""
    frames = [
        types_pb2.VideoFrame(pdq=pdq(i), quality=quality, frame_number=25 * i, timestamp_ms=1000 * i)
        for i in range(count)
    ]
    for name, value in frame.items():  # e.g. frame_number_3=0: frame 3's frame_number is 0
        field, index = name.rsplit("_", 1)
        setattr(frames[int(index)], field, value)
    return types_pb2.VideoFeatures(frames=frames, interval_ms=interval_ms)


def video_record(features: types_pb2.VideoFeatures | None = None, **fields: Any) -> types_pb2.HashRecord:
    record = types_pb2.HashRecord(signal_type="vpdq", labels=LABELS, reference="case-9", **fields)
    record.video.CopyFrom(video() if features is None else features)
    return record


def domain(features: types_pb2.VideoFeatures) -> VpdqFeatures:
    return convert.features_from_proto(features, "video")


def submit(node: RunningNode, *records: types_pb2.HashRecord, skip: bool = False) -> client_pb2.SubmitResponse:
    return node.client.Submit(client_pb2.SubmitRequest(records=records, skip_duplicates=skip))


# --- contributing a video -----------------------------------------------------------------------------------


def test_a_submitted_video_is_one_signed_record_holding_its_features(
    node: RunningNode, example_membership: Membership
) -> None:
    pdq_record = types_pb2.HashRecord(signal_type="pdq", value=pdq(99).hex(), quality=90, labels=LABELS)
    response = submit(node, pdq_record, video_record())
    assert response.seq == 1 and len(response.record_ids) == 2
    assert node.record_count() == 2

    bundle = node.client.GetProvenance(client_pb2.ProvenanceRequest(record_id=response.record_ids[1]))
    verified = verify_bundle(convert.bundle_from_proto(bundle), trusted=example_membership)
    assert verified.record.signal_type == "vpdq"
    assert verified.record.features == domain(video())
    assert verified.record.quality == 100
    assert bundle.record.record.video == video()  # the decoded view carries the features, not a hex value
    assert bundle.record.record.value == ""


def test_a_videos_quality_is_the_share_of_frames_that_can_match(node: RunningNode) -> None:
    features = video(4, quality_1=10, quality_2=49)
    (rid,) = submit(node, video_record(features)).record_ids
    stored = node.runtime.ledger.record(bytes.fromhex(rid))
    assert stored.record.quality == 50
    assert stored.record.features.matchable == 2


def test_export_streams_a_video_record_with_its_features(node: RunningNode) -> None:
    (rid,) = submit(node, video_record()).record_ids
    (batch,) = node.client.ExportRecords(client_pb2.ExportRequest(signal_types=["vpdq"]))
    (info,) = batch.records
    assert (info.record_id, info.record.signal_type, info.record.video) == (rid, "vpdq", video())


def test_the_same_video_is_not_signed_twice_with_skip_duplicates(node: RunningNode) -> None:
    first = submit(node, video_record(), skip=True)
    again = submit(node, video_record(), video_record(video(6)), skip=True)
    assert list(again.duplicates) == [0]
    assert again.record_ids[0] == first.record_ids[0]
    assert node.record_count() == 2


def test_a_video_at_the_frame_limit_is_accepted(node: RunningNode) -> None:
    (rid,) = submit(node, video_record(video(MAX_FRAMES))).record_ids
    assert len(node.runtime.ledger.record(bytes.fromhex(rid)).record.features.frames) == MAX_FRAMES


# --- bad input: named, nothing written ----------------------------------------------------------------------

BAD = [
    pytest.param(video_record(video(3, quality=49)), "records[0].video.frames",
                 "at least one frame of quality >= 50", id="every frame below the quality floor"),
    pytest.param(types_pb2.HashRecord(signal_type="vpdq", labels=LABELS), "records[0].video",
                 "the video's frame features for vpdq", id="no features"),
    pytest.param(video_record(video(0)), "records[0].video.frames", "1..6000", id="no frames"),
    pytest.param(video_record(video(MAX_FRAMES + 1)), "records[0].video.frames", "1..6000", id="too many frames"),
    pytest.param(video_record(video(3, frame_number_2=25)), "records[0].video.frames[2].frame_number", "> 25",
                 id="frame numbers repeated"),
    pytest.param(video_record(video(3, frame_number_1=60)), "records[0].video.frames[2].frame_number", "> 60",
                 id="frames out of order"),
    pytest.param(video_record(video(3, timestamp_ms_2=999)), "records[0].video.frames[2].timestamp_ms",
                 ">= 1000", id="timestamps going back"),
    pytest.param(video_record(video(3, timestamp_ms_0=1 << 32)), "records[0].video.frames[0].timestamp_ms",
                 "0..4294967295", id="timestamp over 32 bits"),
    pytest.param(video_record(video(3, quality_1=101)), "records[0].video.frames[1].quality", "0..100",
                 id="quality over 100"),
    pytest.param(video_record(video(3, pdq_1=bytes(31))), "records[0].video.frames[1].pdq", "32 bytes",
                 id="pdq of 31 bytes"),
    pytest.param(video_record(value=pdq(1).hex()), "records[0].value", "empty for vpdq", id="a hex value too"),
    pytest.param(video_record(quality=90), "records[0].quality", "0 or 100 for vpdq", id="a quality not derived"),
    pytest.param(types_pb2.HashRecord(signal_type="pdq", value=pdq(1).hex(), quality=90, labels=LABELS,
                                      video=video()), "records[0].video", "none for pdq", id="features on pdq"),
]  # fmt: skip


@pytest.mark.parametrize(("record", "field", "want"), BAD)
def test_a_bad_video_is_refused_naming_the_field_and_nothing_is_written(
    node: RunningNode, record: types_pb2.HashRecord, field: str, want: str
) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        submit(node, record)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.details().startswith(f"{field}: got ")
    assert want in raised.value.details()
    assert node.record_count() == 0 and node.entry_count() == 0


def test_a_batch_over_the_entry_limit_is_refused_whole(node: RunningNode) -> None:
    largest = video_record(video(MAX_FRAMES))
    count = MAX_ENTRY_BYTES // len(domain(largest.video).encode()) + 1  # 35 records: 10 MB, within 16 MiB
    with pytest.raises(grpc.RpcError) as raised:
        submit(node, *[largest] * count)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.details().startswith("records: got ")
    assert f"at most {MAX_ENTRY_BYTES}: split the batch" in raised.value.details()
    assert node.record_count() == 0


def test_a_video_query_matches_the_stored_video_with_percentages_and_ranges(node: RunningNode) -> None:
    [rid] = submit(node, video_record(video(10))).record_ids
    first_half = client_pb2.HashQuery(signal_type="vpdq", video=video(5), content_ref="upload-1")
    response = node.client.Match(client_pb2.MatchRequest(queries=[first_half], include_records=True))
    [match] = response.results[0].matches
    assert (match.record.record_id, match.distance) == (rid, 0)
    assert (match.video.query_match_percent, match.video.compared_match_percent) == (100.0, 50.0)
    assert [(r.start_ms, r.end_ms) for r in match.video.stored_ranges] == [(0, 5000)]
    strict = client_pb2.MatchRequest(queries=[first_half], vpdq_compared_match_percent=51)
    assert not node.client.Match(strict).results[0].matches


@pytest.mark.parametrize(
    ("query", "request_fields", "message"),
    [
        pytest.param(client_pb2.HashQuery(signal_type="vpdq"), {}, "queries[0].video: got absent", id="no video"),
        pytest.param(
            client_pb2.HashQuery(signal_type="vpdq", video=video(quality=20)), {},
            "queries[0].video.frames: got no frame of quality >= 50", id="no usable frame",
        ),
        pytest.param(
            client_pb2.HashQuery(signal_type="vpdq", video=video(frame_number_1=0)), {},
            "queries[0].video.frames[1].frame_number: got 0", id="frames out of order",
        ),
        pytest.param(
            client_pb2.HashQuery(signal_type="vpdq", video=video()), {"vpdq_query_match_percent": 101},
            "vpdq_query_match_percent: got 101", id="threshold over 100",
        ),
    ],
)
def test_a_bad_video_query_is_refused_naming_the_field(
    node: RunningNode, query: client_pb2.HashQuery, request_fields: dict[str, float], message: str
) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        node.client.Match(client_pb2.MatchRequest(queries=[query], **request_fields))
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.details().startswith(message), raised.value.details()


# --- replication --------------------------------------------------------------------------------------------


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[NetNode, NetNode]]:
    a = serve("a", open_ledger(tmp_path / "a", EVERYONE, "alice", signer=KEYS["alice"], clock=None))
    b = serve("b", open_ledger(tmp_path / "b", EVERYONE, "bob", signer=KEYS["bob"], clock=None))
    a.replicate_from(b)
    b.replicate_from(a)
    yield a, b
    for node in (a, b):
        node.stop_replicating()
    for node in (a, b):
        node.stop()


def test_a_video_record_replicates_and_proves_on_the_peer(pair: tuple[NetNode, NetNode]) -> None:
    a, b = pair
    stub = client_pb2_grpc.HashNodeStub(grpc.insecure_channel(a.address))
    features = video(MAX_FRAMES)
    record = types_pb2.HashRecord(signal_type="vpdq", labels=[LABEL])
    record.video.CopyFrom(features)
    wait_for(lambda: a.ledger.authoring_blocked_reason is None, what="a to compare its log with b")
    (rid,) = stub.Submit(client_pb2.SubmitRequest(records=[record]), timeout=10).record_ids

    def held() -> bool:
        try:
            return b.ledger.record(bytes.fromhex(rid)) is not None
        except NotFound:
            return False

    wait_for(held, what="b to hold the video record")
    stored = b.ledger.record(bytes.fromhex(rid))
    assert (stored.author, stored.record.features) == ("alice", domain(features))
    verified = verify_bundle(b.ledger.provenance(bytes.fromhex(rid)), trusted=EVERYONE)
    assert verified.record.features == domain(features)
