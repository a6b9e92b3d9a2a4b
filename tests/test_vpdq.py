"""vPDQ video features and vpdq records: validation as a caller gives them, the canonical encoding, the item limits
every reader enforces (docs/protocol.md, "vPDQ features")."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

import pytest
from conftest import ROOT
from hypothesis import given
from hypothesis import strategies as st

from node.core.canonical import Writer
from node.core.entry import (
    MAX_CONTRIBUTION_ITEM_BYTES,
    MAX_ENTRY_BYTES,
    MAX_ITEM_BYTES,
    ZERO_ID,
    Entry,
    EntryKind,
    MalformedEntry,
    sign_entry,
)
from node.core.errors import EncodingError, InvalidArgument
from node.core.keys import SigningKey
from node.core.records import HashRecord, decode_item
from node.core.taxonomy import Taxonomy
from node.core.vpdq import (
    FRAME_BYTES,
    HEAD_BYTES,
    MAX_ENCODED_BYTES,
    MAX_FRAMES,
    QUALITY_FLOOR,
    VpdqFeatures,
    VpdqFrame,
)

TAXONOMY = Taxonomy.default()
LABEL = "tvec.propaganda"
PDQ_A = bytes.fromhex("f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22")
PDQ_B = bytes(range(32))


def frame(number: int, *, quality: int = 90, timestamp_ms: int | None = None, pdq: Any = PDQ_A) -> VpdqFrame:
    return VpdqFrame(pdq, quality, number, number * 1000 if timestamp_ms is None else timestamp_ms)


def frames(count: int, **kwargs: Any) -> list[VpdqFrame]:
    return [frame(i, **kwargs) for i in range(count)]


def features(count: int = 3, interval_ms: int = 1000) -> VpdqFeatures:
    return VpdqFeatures.create(frames(count), interval_ms)


# --- a feature list as a caller gives it -------------------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    name: str
    frames: list[Any]
    interval_ms: Any
    field: str  # the field the error names, under "features"
    want: str  # part of the error's "want" clause


REFUSED = [
    Refused("no frames", [], 1000, "frames", f"1..{MAX_FRAMES}"),
    Refused("one frame over the limit", frames(MAX_FRAMES + 1), 1000, "frames", f"1..{MAX_FRAMES}"),
    Refused("negative interval", frames(1), -1, "interval_ms", "0..4294967295"),
    Refused("interval over u32", frames(1), 1 << 32, "interval_ms", "0..4294967295"),
    Refused("interval not an integer", frames(1), 1.5, "interval_ms", "0..4294967295"),
    Refused("pdq of 31 bytes", [frame(0, pdq=bytes(31))], 0, "frames[0].pdq", "32 bytes"),
    Refused("pdq of 33 bytes", [frame(0), frame(1, pdq=bytes(33))], 0, "frames[1].pdq", "32 bytes"),
    Refused("pdq as hex text", [frame(0, pdq=PDQ_A.hex())], 0, "frames[0].pdq", "32 bytes"),
    Refused("quality below 0", [frame(0, quality=-1)], 0, "frames[0].quality", "0..100"),
    Refused("quality above 100", [frame(0), frame(1, quality=101)], 0, "frames[1].quality", "0..100"),
    Refused("negative frame number", [VpdqFrame(PDQ_A, 90, -1, 0)], 0, "frames[0].frame_number", "0..4294967295"),
    Refused("frame number over u32", [VpdqFrame(PDQ_A, 90, 1 << 32, 0)], 0, "frames[0].frame_number",
            "0..4294967295"),
    Refused("repeated frame number", [frame(0), frame(1), frame(1)], 0, "frames[2].frame_number",
            "> 1 (the previous frame's; frames strictly ascending by frame number)"),
    Refused("frames out of order", [frame(0), frame(5), frame(3)], 0, "frames[2].frame_number", "> 5"),
    Refused("negative timestamp", [frame(0, timestamp_ms=-1)], 0, "frames[0].timestamp_ms", "0..4294967295"),
    Refused("timestamp over u32", [frame(0, timestamp_ms=1 << 32)], 0, "frames[0].timestamp_ms", "0..4294967295"),
    Refused("timestamp going back", [frame(0), frame(1, timestamp_ms=2000), frame(2, timestamp_ms=1999)], 0,
            "frames[2].timestamp_ms", ">= 2000 (the previous frame's; timestamps non-decreasing)"),
]  # fmt: skip


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.name)
def test_malformed_or_out_of_order_features_are_refused_naming_the_field(case: Refused) -> None:
    with pytest.raises(InvalidArgument) as raised:
        VpdqFeatures.create(case.frames, case.interval_ms, "records[2].video")
    assert raised.value.field == f"records[2].video.{case.field}"
    assert raised.value.message.startswith(f"records[2].video.{case.field}: got ")
    assert case.want in raised.value.message


@pytest.mark.parametrize(
    ("given", "interval_ms"),
    [
        pytest.param(frames(1), 0, id="one frame, every frame sampled"),
        pytest.param(frames(MAX_FRAMES), 1000, id="the frame limit"),
        pytest.param([frame(0, timestamp_ms=0), frame(1, timestamp_ms=0)], 0, id="equal timestamps"),
        pytest.param([frame(3), frame(90)], 0, id="frame numbers with gaps"),
        pytest.param([frame(0, quality=0), frame(1, quality=100)], (1 << 32) - 1, id="the u32 edges"),
    ],
)
def test_features_in_canonical_order_are_accepted(given: list[VpdqFrame], interval_ms: int) -> None:
    created = VpdqFeatures.create(given, interval_ms)
    assert created.frames == tuple(given)
    assert created.interval_ms == interval_ms


@pytest.mark.parametrize(
    ("qualities", "expected"),
    [
        pytest.param([90, 90, 90], 100, id="all at or above the floor"),
        pytest.param([QUALITY_FLOOR, QUALITY_FLOOR - 1], 50, id="the floor itself counts"),
        pytest.param([90, 10, 10], 34, id="a third, rounded up"),
        pytest.param([10, 20, 49], 0, id="none: 0"),
        pytest.param([90] + [0] * (MAX_FRAMES - 1), 1, id="one in 6000 is not 0"),
    ],
)
def test_record_quality_is_the_share_of_matchable_frames_rounded_up(qualities: list[int], expected: int) -> None:
    given = VpdqFeatures.create([frame(i, quality=q) for i, q in enumerate(qualities)], 1000)
    assert given.record_quality == expected


# --- the canonical encoding ---------------------------------------------------------------------------------

# docs/protocol.md, "vPDQ features": the worked example, byte for byte.
EXAMPLE = VpdqFeatures.create([VpdqFrame(PDQ_A, 100, 0, 0), VpdqFrame(PDQ_B, 40, 30, 1000)], 1000)
EXAMPLE_HEX = (
    "01" "000003e8" "00000002"
    + PDQ_A.hex() + "64" "00000000" "00000000"
    + PDQ_B.hex() + "28" "0000001e" "000003e8"
)  # fmt: skip


def test_encoding_is_the_documented_layout() -> None:
    assert EXAMPLE.encode().hex() == EXAMPLE_HEX
    assert len(EXAMPLE.encode()) == HEAD_BYTES + 2 * FRAME_BYTES == 9 + 82
    assert VpdqFeatures.decode(bytes.fromhex(EXAMPLE_HEX)) == EXAMPLE


def test_the_worked_example_in_the_protocol_document_is_this_encoding() -> None:
    document = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    section = document.split("### vPDQ features", 1)[1].split("\n## ", 1)[0].split("Worked example", 1)[1]
    shown = "".join(part.strip("`") for line in section.splitlines() if line.startswith("| ")
                    for part in line.split("|")[4].split() if part.startswith("`"))  # fmt: skip
    assert shown == EXAMPLE_HEX


def test_largest_features_fit_a_contribution_item() -> None:
    largest = features(MAX_FRAMES)
    assert len(largest.encode()) == MAX_ENCODED_BYTES
    record = video_record(video=largest, tags=[f"t{i}" for i in range(32)], reference="r" * 256, source="s" * 256)
    assert len(record.encode()) < MAX_CONTRIBUTION_ITEM_BYTES
    assert decode_item(record.encode()) == record


def encoded_features(version: int, interval_ms: int, count: int, rows: list[tuple[bytes, int, int, int]]) -> bytes:
    writer = Writer().u8(version).u32(interval_ms).u32(count)
    for pdq, quality, number, timestamp in rows:
        writer.fixed(pdq, 32).u8(quality).u32(number).u32(timestamp)
    return writer.getvalue()


ROW0 = (PDQ_A, 90, 0, 0)
ROW1 = (PDQ_B, 90, 1, 1000)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"", "got 0 bytes, want at least 9", id="empty"),
        pytest.param(encoded_features(2, 0, 1, [ROW0]), "version: got 2, want 1", id="unknown version"),
        pytest.param(encoded_features(1, 0, 0, []), "frame count: got 0, want 1..6000", id="no frames"),
        pytest.param(encoded_features(1, 0, MAX_FRAMES + 1, []), "frame count: got 6001", id="over the limit"),
        pytest.param(encoded_features(1, 0, 2, [ROW0]), "got 50 bytes, want 91 for 2 frames", id="a frame short"),
        pytest.param(encoded_features(1, 0, 1, [ROW0]) + b"\x00", "got 51 bytes, want 50", id="trailing byte"),
        pytest.param(encoded_features(1, 0, 1, [(PDQ_A, 101, 0, 0)]), "frames[0].quality: got 101, want 0..100",
                     id="quality over 100"),
        pytest.param(encoded_features(1, 0, 2, [ROW0, (PDQ_B, 90, 0, 1000)]),
                     "frames[1].frame_number: got 0, want > 0", id="frame number repeated"),
        pytest.param(encoded_features(1, 0, 2, [(PDQ_A, 90, 5, 0), (PDQ_B, 90, 4, 1000)]),
                     "frames[1].frame_number: got 4, want > 5", id="frames out of order"),
        pytest.param(encoded_features(1, 0, 2, [(PDQ_A, 90, 0, 1000), (PDQ_B, 90, 1, 999)]),
                     "frames[1].timestamp_ms: got 999, want >= 1000", id="timestamp going back"),
    ],
)
def test_decode_refuses_every_non_canonical_encoding(data: bytes, message: str) -> None:
    with pytest.raises(EncodingError, match=r"^vpdq features: ") as raised:
        VpdqFeatures.decode(data)
    assert message in raised.value.message


def test_decode_refuses_every_truncation() -> None:
    data = EXAMPLE.encode()
    for cut in range(len(data)):
        with pytest.raises(EncodingError):
            VpdqFeatures.decode(data[:cut])


def test_decode_accepts_the_canonical_edges() -> None:
    data = encoded_features(1, 0, 2, [(PDQ_A, 0, 0, 7), (PDQ_B, 100, (1 << 32) - 1, 7)])
    assert VpdqFeatures.decode(data).encode() == data


@st.composite
def feature_lists(draw: st.DrawFn) -> VpdqFeatures:
    count = draw(st.integers(1, 40))
    numbers = sorted(draw(st.sets(st.integers(0, (1 << 32) - 1), min_size=count, max_size=count)))
    times = sorted(draw(st.lists(st.integers(0, (1 << 32) - 1), min_size=count, max_size=count)))
    given = [
        VpdqFrame(draw(st.binary(min_size=32, max_size=32)), draw(st.integers(0, 100)), number, time)
        for number, time in zip(numbers, times, strict=True)
    ]
    return VpdqFeatures.create(given, draw(st.integers(0, (1 << 32) - 1)))


@given(feature_lists())
def test_any_valid_feature_list_round_trips(given: VpdqFeatures) -> None:
    data = given.encode()
    assert VpdqFeatures.decode(data) == given
    assert len(data) == HEAD_BYTES + FRAME_BYTES * len(given.frames)


# --- vpdq records -------------------------------------------------------------------------------------------


def video_record(**overrides: Any) -> HashRecord:
    """A vpdq record created as a member submits it (three frames of quality 90 unless `video` says)."""
    fields: dict[str, Any] = {
        "signal_type_name": "vpdq",
        "value_hex": "",
        "quality": 0,
        "labels": [LABEL],
        "taxonomy": TAXONOMY,
        "min_pdq_quality": 50,
        "video": features(),
        "field": "records[0]",
    }
    fields.update(overrides)
    return HashRecord.create(**fields)


def test_a_vpdq_record_holds_the_encoded_features_and_derives_its_quality() -> None:
    video = VpdqFeatures.create([frame(0, quality=90), frame(1, quality=20), frame(2, quality=60)], 1000)
    record = video_record(video=video)
    assert record.signal_type == "vpdq"
    assert record.value == video.encode()
    assert record.quality == 67
    assert record.features == video
    assert video_record(video=video, quality=67) == record  # the derived value is accepted as given too
    assert decode_item(record.encode()) == record


@pytest.mark.parametrize(
    ("overrides", "field", "want"),
    [
        pytest.param({"video": None}, "video", "the video's frame features for vpdq", id="no features"),
        pytest.param({"value_hex": PDQ_A.hex()}, "value", "empty for vpdq", id="a hex value as well"),
        pytest.param({"video": VpdqFeatures.create(frames(3, quality=QUALITY_FLOOR - 1), 1000)}, "video.frames",
                     "at least one frame of quality >= 50", id="every frame below the quality floor"),
        pytest.param({"quality": 80}, "quality", "0 or 100 for vpdq (derived", id="another quality"),
        pytest.param({"signal_type_name": "pdq", "value_hex": PDQ_A.hex(), "quality": 90}, "video",
                     "none for pdq (vpdq only)", id="features on a pdq record"),
    ],
)
def test_invalid_vpdq_contribution_is_refused_naming_the_field(
    overrides: dict[str, Any], field: str, want: str
) -> None:
    with pytest.raises(InvalidArgument) as raised:
        video_record(**overrides)
    assert raised.value.field == f"records[0].{field}"
    assert want in raised.value.message


def record_item(signal_type: str, value: bytes, quality: int, reference: str = "") -> bytes:
    return (
        Writer().string(signal_type).blob(value).u8(quality).strings([LABEL]).strings([]).string(reference)
        .string("").getvalue()
    )  # fmt: skip


@pytest.mark.parametrize(
    ("item", "message"),
    [
        pytest.param(record_item("vpdq", EXAMPLE.encode(), 51), "quality: got 51, want 50 for vpdq",
                     id="vpdq quality not the derived one"),
        pytest.param(record_item("vpdq", EXAMPLE.encode()[:-1], 50), "vpdq features: got 90 bytes",
                     id="vpdq features malformed"),
        pytest.param(record_item("vpdq", b"", 0), "vpdq features: got 0 bytes", id="vpdq without features"),
        pytest.param(record_item("vpdq", features(MAX_FRAMES).encode(), 100, "x" * 20_000),
                     f"want at most {MAX_CONTRIBUTION_ITEM_BYTES}", id="vpdq item over its limit"),
        pytest.param(record_item("pdq", PDQ_A, 90, "x" * 5000), f"want at most {MAX_ITEM_BYTES} for pdq",
                     id="pdq item over the item limit"),
        pytest.param(record_item("pdq", EXAMPLE.encode(), 50), "value: got 91 bytes, want 32 for pdq",
                     id="features under another type"),
    ],
)
def test_every_reader_refuses_a_vpdq_item_that_breaks_the_rules(item: bytes, message: str) -> None:
    with pytest.raises(EncodingError) as raised:
        decode_item(item)
    assert message in raised.value.message


def test_a_video_record_with_the_example_features_is_decoded_by_readers() -> None:
    record = decode_item(record_item("vpdq", EXAMPLE.encode(), 50))
    assert record.features == EXAMPLE


# --- entries: the larger item limit is for contributions, and entries are bounded in all -------------------

KEY = SigningKey.from_seed(hashlib.sha256(b"vpdq test key").digest())


def signed(kind: EntryKind, items: list[bytes]) -> Entry:
    return sign_entry(KEY, consortium_id="c", author="a", seq=1, prev=ZERO_ID, timestamp_ms=1, kind=kind,
                      items=items)  # fmt: skip


def test_a_contribution_item_may_reach_the_contribution_limit() -> None:
    entry = signed(EntryKind.CONTRIBUTION, [b"x" * MAX_CONTRIBUTION_ITEM_BYTES])
    assert Entry.parse(entry.header_bytes, entry.signature, entry.items) == entry


@pytest.mark.parametrize(
    ("kind", "items", "message"),
    [
        pytest.param(EntryKind.CONTRIBUTION, [b"x" * (MAX_CONTRIBUTION_ITEM_BYTES + 1)],
                     f"an item exceeds {MAX_CONTRIBUTION_ITEM_BYTES} bytes", id="contribution item over its limit"),
        pytest.param(EntryKind.RETRACTION, [b"x" * (MAX_ITEM_BYTES + 1)], f"an item exceeds {MAX_ITEM_BYTES} bytes",
                     id="other kinds keep the item limit"),
        pytest.param(EntryKind.CONTRIBUTION, [b"x" * MAX_CONTRIBUTION_ITEM_BYTES] * 33,
                     f"want at most {MAX_ENTRY_BYTES}", id="items over the entry limit in all"),
    ],
)
def test_entries_over_the_limits_are_neither_signed_nor_parsed(
    kind: EntryKind, items: list[bytes], message: str
) -> None:
    with pytest.raises(EncodingError, match=message):
        signed(kind, items)
    good = signed(kind, [b"x"])
    forged_header = replace(good.header, item_count=len(items))
    with pytest.raises(MalformedEntry, match=message):
        Entry.parse(forged_header.encode(), good.signature, items)
