"""Video (vpdq) matching through the ledger: a stored video's frames in the one index, vPDQ's verdicts with both
percentages and matched ranges, images and videos kept apart, statuses honoured, the match log, explain and
reinstatement notices naming past video matches, an index that survives a restart, and the wire encoding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from node.api import match_wire
from node.api.gen.hashnode.v1 import client_pb2
from node.core.errors import InvalidArgument
from node.core.keys import SigningKey
from node.core.records import HashRecord
from node.core.taxonomy import Taxonomy
from node.core.vpdq import VpdqFeatures, VpdqFrame
from node.dueprocess.report import Period, to_dict
from node.index.video import TimeRange, compare_features
from node.ledger.ledger import IndexDelta, Ledger, LedgerSettings, Query
from node.ledger.transparency import transparency_report
from node.membership.members import Member, MemberKey, Membership
from node.storage.integrity import check_store
from node.storage.store import Status

KEY = SigningKey.from_seed(bytes(range(32)))
MEMBERSHIP = Membership.from_members("c", [Member("a", "A", (MemberKey(KEY.public),))])
LABELS = ("tvec.propaganda",)


def video(hashes: np.ndarray, interval_ms: int = 1000) -> VpdqFeatures:
    frames = [VpdqFrame(bytes(h), 90, i, i * interval_ms) for i, h in enumerate(hashes)]
    return VpdqFeatures.create(frames, interval_ms)


def record(features: VpdqFeatures) -> HashRecord:
    return HashRecord("vpdq", features.encode(), features.record_quality, LABELS)


def flipped(hashes: np.ndarray, bits: int, rng: np.random.Generator) -> np.ndarray:
    out = hashes.copy()
    for row in out:
        for bit in rng.choice(256, bits, replace=False):
            row[bit // 8] ^= 1 << (bit % 8)
    return out


def open_ledger(path: Path) -> Ledger:
    return Ledger.open(path, settings=LedgerSettings("c", "a"), membership=MEMBERSHIP, signer=KEY,
                       taxonomy=Taxonomy.default())


class Stocked:
    """A ledger holding three videos (two scenes shared by none), an image whose hash is a frame of video 0."""

    def __init__(self, path: Path) -> None:
        rng = np.random.default_rng(1)
        self.path = path
        self.frames = [rng.integers(0, 256, (40, 32), dtype=np.uint8) for _ in range(3)]
        self.ledger = open_ledger(path)
        records = [record(video(h)) for h in self.frames]
        records.append(HashRecord("pdq", bytes(self.frames[0][5]), 90, LABELS))
        self.ids = self.ledger.submit(records).record_ids
        self.rng = rng

    def query(self, hashes: np.ndarray, ref: str = "upload-1") -> Query:
        return Query("vpdq", video(hashes).encode(), ref)


@pytest.fixture
def stocked(tmp_path: Path) -> Stocked:
    return Stocked(tmp_path / "node")


def test_an_edited_copy_matches_its_video_with_both_percentages_and_ranges(stocked: Stocked) -> None:
    edited = flipped(stocked.frames[1], 8, stocked.rng)
    [hits] = stocked.ledger.match([stocked.query(edited)])
    assert [h.record_id for h in hits] == [stocked.ids[1]]
    assert hits[0].video == compare_features(video(edited), video(stocked.frames[1]))
    assert hits[0].video is not None and hits[0].video.query_match_percent == 100.0
    assert hits[0].distance == 0 and hits[0].labels == LABELS


def test_a_first_half_matches_all_of_itself_and_half_of_the_video(stocked: Stocked) -> None:
    [hits] = stocked.ledger.match([stocked.query(flipped(stocked.frames[2][:20], 6, stocked.rng))])
    [hit] = hits
    assert hit.video is not None
    assert (hit.video.query_match_percent, hit.video.compared_match_percent) == (100.0, 50.0)
    assert hit.video.stored_ranges == (TimeRange(0, 20_000),)


def test_thresholds_come_from_the_request_or_the_node(stocked: Stocked) -> None:
    half = stocked.query(stocked.frames[2][:20])
    assert len(stocked.ledger.match([half], vpdq_compared_percent=50)[0]) == 1
    assert len(stocked.ledger.match([half], vpdq_compared_percent=51)[0]) == 0
    with pytest.raises(InvalidArgument, match="vpdq_query_match_percent"):
        stocked.ledger.match([half], vpdq_query_percent=101)


def test_images_and_videos_never_match_each_other(stocked: Stocked) -> None:
    frame = bytes(stocked.frames[0][5])  # a frame of video 0, and the stored image's hash
    image_hits, video_hits = stocked.ledger.match([Query("pdq", frame), stocked.query(stocked.frames[0][5:6])])
    assert [h.record_id for h in image_hits] == [stocked.ids[3]]
    assert [h.record_id for h in video_hits] == [stocked.ids[0]]


def test_a_video_query_without_usable_frames_is_refused_naming_the_field(stocked: Stocked) -> None:
    poor = VpdqFeatures.create([VpdqFrame(bytes(32), 10, 0, 0)], 1000)
    with pytest.raises(InvalidArgument, match=r"queries\[0\]\.video\.frames"):
        stocked.ledger.match([Query("vpdq", poor.encode())])


def test_a_retracted_video_stops_matching_and_its_past_match_gets_a_notice(stocked: Stocked) -> None:
    ledger = stocked.ledger
    [hits] = ledger.match([stocked.query(stocked.frames[1], "upload-7")])
    assert hits[0].video is not None
    ledger.retract([stocked.ids[1]], "test")
    assert list(ledger.match([stocked.query(stocked.frames[1])])) == [[]]
    [stored] = ledger.notices()
    assert stored.notice.content_ref == "upload-7"
    assert stored.notice.overturned == (stocked.ids[1],)
    assert stored.notice.videos == ((hits[0].query_id, stocked.ids[1], hits[0].video),)


def test_the_transparency_report_counts_videos_by_signal_type(stocked: Stocked) -> None:
    ledger = stocked.ledger
    ledger.match([stocked.query(stocked.frames[1], "upload-3"), Query("pdq", bytes(stocked.frames[0][5]))])
    now = ledger.clock()
    report = to_dict(transparency_report(ledger, Period(now - 3_600_000, now + 1)))
    sections = report["sections"]
    assert isinstance(sections, dict)
    assert sections["contributions"]["by_signal_type"] == {"pdq": 1, "vpdq": 3}
    assert sections["matches"]["by_signal_type"] == {"pdq": 1, "vpdq": 1}


def test_a_disputed_video_still_matches_flagged(stocked: Stocked) -> None:
    ledger, delta = stocked.ledger, IndexDelta()
    with ledger.store.write() as txn:
        ledger.set_record_status(txn, stocked.ids[0], Status.DISPUTED, delta)
    ledger.after_commit(None, delta)
    [hits] = ledger.match([stocked.query(stocked.frames[0])])
    assert [(h.record_id, h.disputed) for h in hits] == [(stocked.ids[0], True)]


def test_the_match_log_and_explain_keep_the_comparison(stocked: Stocked) -> None:
    ledger = stocked.ledger
    [hits] = ledger.match([stocked.query(stocked.frames[2][10:30], "upload-9")])
    [explained] = ledger.explain("upload-9")
    assert explained.match.video == hits[0].video
    assert explained.match.video is not None and explained.match.video.stored_ranges == (TimeRange(10_000, 30_000),)


@pytest.mark.parametrize("snapshot", [True, False], ids=["from the snapshot", "rebuilt"])
def test_videos_match_after_a_restart_and_changes_made_meanwhile_hold(tmp_path: Path, snapshot: bool) -> None:
    stocked = Stocked(tmp_path / "node")
    stocked.ledger.close()
    ledger = open_ledger(stocked.path)
    ledger.retract([stocked.ids[0]], "test")  # after the snapshot: replayed over it at the next start
    more = stocked.rng.integers(0, 256, (30, 32), dtype=np.uint8)
    [new_id] = ledger.submit([record(video(more))]).record_ids
    ledger.snapshot_dir = None  # stops as a crash would: the next start brings the first snapshot up to date
    ledger.close()
    if not snapshot:
        for mark in stocked.path.rglob("hashnode-snapshot.json"):
            mark.unlink()
    ledger = open_ledger(stocked.path)
    found = [[h.record_id for h in hits] for hits in ledger.match([stocked.query(h) for h in (*stocked.frames, more)])]
    assert found == [[], [stocked.ids[1]], [stocked.ids[2]], [new_id]]
    assert len(ledger.index) == 40 + 40 + 30 + 1  # the live videos' frames and the image: video 0's are gone
    assert check_store(ledger.store, MEMBERSHIP).ok
    ledger.close()


def test_the_wire_carries_the_comparison(stocked: Stocked) -> None:
    image = Query("pdq", bytes(stocked.frames[0][5]))
    results = stocked.ledger.match([image, stocked.query(stocked.frames[2][:20])])
    response = client_pb2.MatchResponse.FromString(match_wire.encode(results))
    image_match, video_match = response.results[0].matches[0], response.results[1].matches[0]
    assert not image_match.HasField("video")
    assert video_match.record.record_id == "" and video_match.provenance_ref == stocked.ids[2].hex()
    assert video_match.video.query_match_percent == 100.0
    assert video_match.video.compared_match_percent == 50.0
    assert [(r.start_ms, r.end_ms) for r in video_match.video.stored_ranges] == [(0, 20_000)]
    assert [(r.start_ms, r.end_ms) for r in video_match.video.query_ranges] == [(0, 20_000)]
