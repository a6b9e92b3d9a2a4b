"""Video records over a node's API: a match's record (`include_records`) comes without its frames, so that a
response of many video hits stays small, and GetProvenance gives the full record; a statement of reasons on a
video match says what matched (both percentages, both videos' ranges) and discloses the features' SHA-256."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from conftest import NodeFactory, RunningNode, node_config

from node.api import convert
from node.api.gen.hashnode.v1 import admin_pb2, client_pb2
from node.core.records import HashRecord
from node.core.vpdq import MAX_FRAMES, VpdqFeatures, VpdqFrame
from node.dueprocess.statement import StatementSettings


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


def test_a_statement_on_a_video_match_says_what_matched_and_discloses_the_features_digest(
    node_factory: NodeFactory, tmp_path: Path
) -> None:
    settings = StatementSettings(contact="appeals@platform-a.example", disclose_hash=True)
    node = node_factory(node_config(tmp_path / "a", "platform-a", statements=settings))
    hashes = np.random.default_rng(9).integers(0, 256, (600, 32), dtype=np.uint8)
    frames = [VpdqFrame(bytes(h), 90, i, 1000 * i) for i, h in enumerate(hashes)]
    video = VpdqFeatures.create(frames, 1000)
    record = HashRecord("vpdq", video.encode(), video.record_quality, ("tvec.propaganda",))
    node.ledger.submit([record])
    query = client_pb2.HashQuery(signal_type="vpdq", content_ref="upload/5")
    convert.fill_features(query.video, VpdqFeatures.create(frames[60:360], 1000))  # minutes 1 to 6
    node.client.Match(client_pb2.MatchRequest(queries=[query]))
    decision = admin_pb2.StatementDecision(automated_decision="fully", visibility=["removed"])
    issued = node.admin.IssueStatement(admin_pb2.IssueStatementRequest(content_ref="upload/5", decision=decision))
    facts = json.loads(issued.database_json)["decision_facts"]
    digest = hashlib.sha256(video.encode()).hexdigest()
    assert (
        "Matched by vPDQ video hashes, frame by frame (PDQ): 100.0 % of the content's frames (1:00-6:00) and "
        f"50.0 % of the identified video's (1:00-6:00) match (vpdq features sha256 {digest})." in facts
    ), facts
    assert "Hamming" not in facts and video.encode().hex()[:64] not in facts
    page = issued.user_page_html
    said = "100.0 % of the frames of your video (1:00-6:00) match 50.0 % of the frames of that video (1:00-6:00)."
    assert said in page
    assert f"vpdq features sha256 {digest}" in page
