"""vpdq records in files and in python-threatexchange: CSV, JSONL and TE export and import (node/interchange), the
pytx mapping (pytx_names), `hashnode submit` of a features file or a video, and the exchange adapter."""

from __future__ import annotations

import hashlib
import io
import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli, NodeFactory, RunningNode

from node.api import convert
from node.api.gen.hashnode.v1 import client_pb2
from node.cli.import_cmd import Line, batches
from node.core.errors import InvalidArgument
from node.core.records import HashRecord
from node.core.taxonomy import Taxonomy
from node.core.vpdq import MAX_FRAMES, VpdqFeatures, VpdqFrame
from node.hashing.video import parse_interval
from node.interchange import pytx_names
from node.interchange.formats import Format, Refusal, read_records, write_records

TAXONOMY = Taxonomy.default()
LABEL = "tvec.propaganda"
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def pdq(n: int) -> bytes:
    return hashlib.sha256(b"frame %d" % n).digest()


def features(count: int = 4, interval_ms: int = 500, low: tuple[int, ...] = (1,)) -> VpdqFeatures:
    """`count` frames every `interval_ms`, 12 frames apart; those at `low` of quality 20, the rest 90."""
    return VpdqFeatures.create(
        [VpdqFrame(pdq(i), 20 if i in low else 90, 12 * i, interval_ms * i) for i in range(count)], interval_ms
    )


def video_record(video: VpdqFeatures | None = None, **fields: Any) -> HashRecord:
    return HashRecord.create(
        signal_type_name="vpdq", value_hex="", quality=0, labels=[LABEL], taxonomy=TAXONOMY, min_pdq_quality=50,
        video=features() if video is None else video, **fields,
    )  # fmt: skip


def pdq_record() -> HashRecord:
    return HashRecord.create(signal_type_name="pdq", value_hex=PDQ, quality=90, labels=[LABEL], taxonomy=TAXONOMY,
                             min_pdq_quality=50)  # fmt: skip


def written(records: list[HashRecord], fmt: Format) -> str:
    stream = io.StringIO()
    write_records(stream, records, fmt)
    return stream.getvalue()


def read(text: str, fmt: Format) -> list[HashRecord | Refusal]:
    return list(read_records(io.StringIO(text), fmt, default_labels=[LABEL], taxonomy=TAXONOMY))


# --- CSV and JSONL: exact round trips ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [Format.CSV, Format.JSONL], ids=lambda f: f.value)
def test_an_export_imports_as_the_same_records(fmt: Format) -> None:
    records = [video_record(reference="case-7", tags=["lang:ar"]), pdq_record(), video_record(features(MAX_FRAMES))]
    assert read(written(records, fmt), fmt) == records


def test_csv_holds_the_features_as_the_hex_of_their_encoding_in_the_value_cell() -> None:
    record = video_record()
    header, row = written([record], Format.CSV).splitlines()
    assert header.startswith("signal_type,value,quality,")
    assert row.startswith(f"vpdq,{features().encode().hex()},75,{LABEL},")


def test_jsonl_holds_the_features_as_frame_objects() -> None:
    (line,) = written([video_record()], Format.JSONL).splitlines()
    doc = json.loads(line)
    assert (doc["signal_type"], doc["value"], doc["quality"]) == ("vpdq", "", 75)
    assert doc["video"]["interval_ms"] == 500
    assert doc["video"]["frames"][1] == {"pdq": pdq(1).hex(), "quality": 20, "frame_number": 12, "timestamp_ms": 500}


def test_a_jsonl_line_may_give_the_features_in_hex_as_csv_does() -> None:
    line = json.dumps({"signal_type": "vpdq", "value": features().encode().hex(), "labels": [LABEL]})
    assert read(line, Format.JSONL) == [video_record()]


def jsonl(video: Any, **more: Any) -> str:
    return json.dumps({"signal_type": "vpdq", "video": video, "labels": [LABEL], **more})


def frames_json(**changes: Any) -> dict[str, Any]:
    """features() as JSON, with `changes` (e.g. quality_2=101: frame 2's quality) applied."""
    doc = features().as_json()
    frames: list[dict[str, Any]] = doc["frames"]  # type: ignore[assignment]
    for name, value in changes.items():
        key, index = name.rsplit("_", 1)
        if value is None:
            del frames[int(index)][key]
        else:
            frames[int(index)][key] = value
    return doc


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        pytest.param(jsonl(frames_json(timestamp_ms_2=400)), "video", "video.frames[2].timestamp_ms: got 400, "
                     "want >= 500", id="timestamps going back"),
        pytest.param(jsonl(frames_json(frame_number_3=24)), "video", "video.frames[3].frame_number: got 24, want > 24",
                     id="frame numbers repeated"),
        pytest.param(jsonl(frames_json(quality_2=101)), "video", "video.frames[2].quality: got 101", id="quality 101"),
        pytest.param(jsonl(frames_json(quality_2=True)), "video", "video.frames[2].quality: got true, want an integer",
                     id="quality true"),
        pytest.param(jsonl(frames_json(pdq_0="zz" * 32)), "video", "video.frames[0].pdq: got", id="pdq not hex"),
        pytest.param(jsonl(frames_json(pdq_0=PDQ[:-2])), "video", "64 hex characters", id="pdq of 31 bytes"),
        pytest.param(jsonl(frames_json(timestamp_ms_1=None)), "video", "video.frames[1].timestamp_ms: got nothing",
                     id="a frame without timestamp"),
        pytest.param(jsonl(frames_json(colour_1="red")), "video", "video.frames[1].colour: got an unknown key",
                     id="unknown frame key"),
        pytest.param(jsonl({"frames": []}), "video", "video.interval_ms: got nothing", id="no interval"),
        pytest.param(jsonl({"interval_ms": 0, "frames": []}), "video", "video.frames: got 0 frames, want 1..6000",
                     id="no frames"),
        pytest.param(jsonl([1, 2]), "video", "video: got [1, 2], want an object", id="not an object"),
        pytest.param(jsonl(features(3, low=(0, 1, 2)).as_json()), "video",
                     "at least one frame of quality >= 50", id="every frame below the floor"),
        pytest.param(jsonl(features().as_json(), value="00"), "value", "empty when video gives the features",
                     id="value and video"),
        pytest.param(jsonl(features().as_json(), quality=80), "quality", "0 or 75 for vpdq", id="another quality"),
        pytest.param(json.dumps({"signal_type": "vpdq", "value": "01ff", "labels": [LABEL]}), "value",
                     "the hex of canonical vpdq features", id="hex that is not features"),
        pytest.param(json.dumps({"signal_type": "pdq", "value": PDQ, "quality": 90, "video": {}}), "video",
                     "want none for pdq", id="features on a pdq line"),
    ],
)  # fmt: skip
def test_a_bad_feature_list_is_refused_naming_the_frame_and_field(line: str, field: str, message: str) -> None:
    (refusal,) = read(line, Format.JSONL)
    assert isinstance(refusal, Refusal)
    assert refusal.field == field
    assert message in refusal.reason


def test_a_bad_csv_value_is_refused_and_the_other_lines_kept() -> None:
    good = written([video_record()], Format.CSV)
    header, row = good.splitlines()
    broken = row.replace(features().encode().hex()[:20], "02" + features().encode().hex()[2:20])  # version 2
    first, second = read("\n".join([header, broken, row]), Format.CSV)
    assert isinstance(first, Refusal) and first.field == "value"
    assert "vpdq features: version: got 2, want 1" in first.reason
    assert second == video_record()


# --- python-threatexchange's vpdq string ---------------------------------------------------------------------


def test_te_export_writes_threatexchanges_vpdq_string() -> None:
    (line,) = written([video_record()], Format.TE).splitlines()
    name, signal = line.split(" ", 1)
    assert name == "vpdq"
    assert json.loads(signal) == [
        f"{pdq(0).hex()},90,0.000", f"{pdq(1).hex()},20,0.500", f"{pdq(2).hex()},90,1.000", f"{pdq(3).hex()},90,1.500"
    ]  # fmt: skip


def test_te_import_keeps_hashes_qualities_and_times_but_renumbers_frames_and_assumes_one_per_second() -> None:
    """pytx's string has neither frame numbers nor the interval (pytx_names says so)."""
    (back,) = read(written([video_record()], Format.TE), Format.TE)
    assert isinstance(back, HashRecord)
    original, imported = features(), back.features
    assert [(f.pdq, f.quality, f.timestamp_ms) for f in imported.frames] == [
        (f.pdq, f.quality, f.timestamp_ms) for f in original.frames
    ]
    assert [f.frame_number for f in imported.frames] == [0, 1, 2, 3]
    assert imported.interval_ms == pytx_names.PYTX_VPDQ_INTERVAL_MS == 1000


def test_threatexchanges_own_timestamps_of_three_significant_digits_import() -> None:
    signal = json.dumps([f"{PDQ},100,9.99", f"{PDQ},100,1e+01", f"{PDQ},100,1.23e+02"])
    assert [f.timestamp_ms for f in read(f"vpdq {signal}", Format.TE)[0].features.frames] == [9990, 10000, 123000]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("signal", "field", "message"),
    [
        pytest.param("[not json", "value", 'a JSON list of "<pdq hex>,<quality>,<seconds>" strings', id="not JSON"),
        pytest.param('{"a": 1}', "value", "a JSON list", id="an object"),
        pytest.param("[1, 2]", "value", "a JSON list", id="numbers"),
        pytest.param(json.dumps([f"{PDQ},100"]), "value", "value[0]: got", id="two parts"),
        pytest.param(json.dumps([f"{PDQ},100,0", f"{PDQ[:-1]}g,100,1"]), "value", "value[1]: got", id="not hex"),
        pytest.param(json.dumps([f"{PDQ},high,0"]), "value", "value[0]: got", id="quality not a number"),
        pytest.param(json.dumps([f"{PDQ},101,0"]), "value", "value.frames[0].quality: got 101", id="quality 101"),
        pytest.param(json.dumps([f"{PDQ},100,nan"]), "value", "value.frames[0].timestamp_ms", id="time nan"),
        pytest.param(json.dumps([f"{PDQ},100,2", f"{PDQ},100,1"]), "value", "value.frames[1].timestamp_ms: got 1000",
                     id="times going back"),
        pytest.param("[]", "value", "value.frames: got 0 frames", id="no frames"),
        pytest.param(json.dumps([f"{PDQ},10,0"]), "video", "at least one frame of quality >= 50",
                     id="every frame below the floor"),
    ],
)  # fmt: skip
def test_a_bad_threatexchange_vpdq_string_is_refused_naming_the_frame(signal: str, field: str, message: str) -> None:
    (refusal,) = read(f"vpdq {signal}", Format.TE)
    assert isinstance(refusal, Refusal)
    assert refusal.field == field
    assert message in refusal.reason


def test_the_mapping_refuses_a_value_that_is_not_features() -> None:
    with pytest.raises(InvalidArgument, match=r"^value: got"):
        pytx_names.to_pytx("vpdq", "00")


# --- the real python-threatexchange reads what we write ------------------------------------------------------


def test_threatexchange_parses_our_export_into_the_same_frames(tmp_path: Path) -> None:
    pytest.importorskip("vpdq", reason="python-threatexchange's vpdq extension needs the vpdq package")
    from threatexchange.exchanges.impl.file_api import FileCollaborationConfig, LocalFileSignalExchangeAPI
    from threatexchange.extensions.vpdq.vpdq import VPDQSignal
    from threatexchange.extensions.vpdq.vpdq_util import json_to_vpdq

    records = [video_record(), video_record(features(6, interval_ms=1000, low=()))]
    path = tmp_path / "export.te"
    write_records(path, records, Format.TE)
    collab = FileCollaborationConfig(name="hashnode", api="local_file", enabled=True, filename=str(path))
    api = LocalFileSignalExchangeAPI.for_collab(collab)
    fetched: dict[tuple[str, str], object] = {}
    for delta in api.fetch_iter([VPDQSignal], None):
        fetched.update(delta.updates)
    converted = api.naive_convert_to_signal_type([VPDQSignal], collab, fetched)  # type: ignore[arg-type]
    signals = list(converted[VPDQSignal])
    assert len(signals) == 2
    for signal, record in zip(sorted(signals, key=len), sorted(records, key=lambda r: len(r.value)), strict=True):
        assert VPDQSignal.validate_signal_str(signal) == signal
        parsed = json_to_vpdq(signal)
        assert [(f.pdq_hex, f.quality, round(f.timestamp * 1000)) for f in parsed] == [
            (f.pdq.hex(), f.quality, f.timestamp_ms) for f in record.features.frames
        ]
    assert VPDQSignal.compare_hash(signals[0], signals[0]).match  # and matches a video with itself


def test_threatexchanges_own_serialisation_imports() -> None:
    pytest.importorskip("vpdq", reason="python-threatexchange's vpdq extension needs the vpdq package")
    from threatexchange.extensions.vpdq.vpdq_util import VpdqCompactFeature, vpdq_to_json

    signal = vpdq_to_json([VpdqCompactFeature(pdq(i).hex(), 80, i * 1.0) for i in range(3)])
    (record,) = read(f"vpdq {signal}", Format.TE)
    assert isinstance(record, HashRecord)
    assert [(f.pdq, f.timestamp_ms) for f in record.features.frames] == [(pdq(i), 1000 * i) for i in range(3)]


# --- hashnode submit and import ------------------------------------------------------------------------------


def test_submit_sends_a_features_file(cli: Cli, node: RunningNode, tmp_path: Path) -> None:
    path = tmp_path / "video.jsonl"
    path.write_text(written([video_record(reference="case-3")], Format.JSONL), encoding="utf-8")
    done = cli("submit", "--file", path, "--target", node.target)
    assert done.code == 0, done.err
    assert "vpdq 4 frames over 0:01 (one every 500 ms), 3 of quality >= 50" in done.out
    (record_id,) = [line.split()[0] for line in done.out.splitlines()[1:]]
    stored = node.runtime.ledger.record(bytes.fromhex(record_id)).record
    assert (stored.features, stored.reference) == (features(), "case-3")


def test_submit_hashes_a_video_file_and_sends_its_features(
    cli: Cli, node: RunningNode, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Path, int]] = []

    def hash_video(path: Path, *, interval_ms: int, option: str) -> VpdqFeatures:
        calls.append((path, interval_ms))
        assert option == "--interval-ms"  # what an error about the sampling names
        return features(interval_ms=interval_ms)

    stand_in = types.SimpleNamespace(hash_video=hash_video, parse_interval=parse_interval)
    monkeypatch.setitem(sys.modules, "node.hashing.video", stand_in)
    video = tmp_path / "clip.MP4"
    video.write_bytes(b"not read by the stand-in")
    done = cli("submit", "--file", video, "--interval-ms", "250", "--label", LABEL, "--source", "referral:iru",
               "--target", node.target)  # fmt: skip
    assert done.code == 0, done.err
    assert calls == [(video, 250)]
    (record_id,) = [line.split()[0] for line in done.out.splitlines()[1:]]
    stored = node.runtime.ledger.record(bytes.fromhex(record_id)).record
    assert (stored.features, stored.labels, stored.source) == (features(interval_ms=250), (LABEL,), "referral:iru")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["--type", "vpdq", "--hash", "00", "--label", LABEL], "--type: got vpdq, want a type given by "
                     "its hex hash", id="vpdq by --hash"),
        pytest.param(["--file", "clip.mp4", "--interval-ms", "-1", "--label", LABEL], "--interval-ms: got -1",
                     id="negative interval"),
    ],
)  # fmt: skip
def test_submit_refuses_a_video_it_cannot_take_in_one_line(
    cli: Cli, node: RunningNode, argv: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    done = cli("submit", *argv, "--target", node.target)
    assert done.code != 0
    assert message in done.err and len(done.err.strip().splitlines()) == 1
    assert node.record_count() == 0


def test_import_cuts_batches_by_bytes_as_well_as_by_count() -> None:
    line = Line(1, convert.record_to_proto(video_record()))
    size = line.record.ByteSize()
    cut = [len(b) for b in batches([line] * 10, size=4, max_bytes=3 * size)]
    assert cut == [3, 3, 3, 1]
    assert [len(b) for b in batches([line] * 10, size=4, max_bytes=100 * size)] == [4, 4, 2]
    assert [len(b) for b in batches([line] * 2, size=4, max_bytes=1)] == [1, 1]  # a larger record goes alone


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "te"])
def test_hashnode_export_then_import_carries_a_video_to_a_fresh_node(
    fmt: str, node_factory: NodeFactory, cli: Cli, tmp_path: Path
) -> None:
    source, fresh = node_factory(), node_factory()
    video = video_record(reference="case-12")
    source.client.Submit(client_pb2.SubmitRequest(records=[convert.record_to_proto(video)]))
    out = tmp_path / f"export.{fmt}"
    exported = cli("export", "--target", source.target, "--out", out, "--json")
    assert exported.code == 0, exported.err
    imported = cli("import", out, "--target", fresh.target, "--label", LABEL)
    assert imported.code == 0, imported.err
    (batch,) = fresh.client.ExportRecords(client_pb2.ExportRequest())
    (info,) = batch.records
    carried = convert.features_from_proto(info.record.video, "video")
    if fmt == "te":  # pytx's string: hashes, qualities and times; frames renumbered, one per second assumed
        assert [(f.pdq, f.quality, f.timestamp_ms) for f in carried.frames] == [
            (f.pdq, f.quality, f.timestamp_ms) for f in video.features.frames
        ]
    else:
        assert carried == video.features
        assert info.record.reference == "case-12"
    query = client_pb2.HashQuery(signal_type="vpdq")
    convert.fill_features(query.video, video.features)
    (result,) = fresh.client.Match(client_pb2.MatchRequest(queries=[query])).results
    (hit,) = result.matches
    assert (hit.provenance_ref, hit.video.query_match_percent) == (info.record_id, 100.0)
