"""Video records over the client API: a match's record (`include_records`) comes without its frames, so that a
response of many video hits stays small; GetProvenance gives the full record."""

from __future__ import annotations

import numpy as np
from conftest import RunningNode

from node.api import convert
from node.api.gen.hashnode.v1 import client_pb2
from node.core.records import HashRecord
from node.core.vpdq import MAX_FRAMES, VpdqFeatures, VpdqFrame


def test_a_matched_videos_record_leaves_its_frames_to_get_provenance(node: RunningNode) -> None:
    hashes = np.random.default_rng(8).integers(0, 256, (MAX_FRAMES, 32), dtype=np.uint8)
    frames = [VpdqFrame(bytes(h), 90, i, 33 * i) for i, h in enumerate(hashes)]
    video = VpdqFeatures.create(frames, 0)
    record = HashRecord("vpdq", video.encode(), video.record_quality, ("tvec.propaganda",))
    [rid] = node.ledger.submit([record]).record_ids
    query = client_pb2.HashQuery(signal_type="vpdq")
    convert.fill_features(query.video, VpdqFeatures.create(frames[:10], 0))
    response = node.client.Match(client_pb2.MatchRequest(queries=[query], include_records=True))
    [match] = response.results[0].matches
    assert match.record.record_id == rid.hex() and match.record.record.signal_type == "vpdq"
    assert match.record.video_frames == MAX_FRAMES and not match.record.record.video.frames
    assert response.ByteSize() < 2_000  # with its frames, some 270 KB
    full = node.client.GetProvenance(client_pb2.ProvenanceRequest(record_id=rid.hex()))
    assert len(full.record.record.video.frames) == MAX_FRAMES and not full.record.video_frames
    assert convert.features_from_proto(full.record.record.video, "video") == video
