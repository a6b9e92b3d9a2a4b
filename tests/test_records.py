"""Hash records: validation at contribution and canonical encoding (docs/protocol.md, "Hash record items")."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.core.canonical import Writer
from node.core.errors import EncodingError, InvalidArgument
from node.core.records import HashRecord, record_id
from node.core.signals import REGISTRY
from node.core.taxonomy import MAX_LABELS, MAX_TAGS, Taxonomy

TAXONOMY = Taxonomy.default()
PDQ_HEX = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5_HEX = "d41d8cd98f00b204e9800998ecf8427e"
LABEL = "tvec.propaganda"
ALL_LABELS = sorted(TAXONOMY.labels)
# Types whose value is a hex hash of a fixed size (vpdq's is a video's frame features: tests/test_vpdq.py).
HEX_TYPES = sorted(name for name, kind in REGISTRY.items() if kind.size)


def create(**overrides: Any) -> HashRecord:
    fields: dict[str, Any] = {
        "signal_type_name": "pdq",
        "value_hex": PDQ_HEX,
        "quality": 80,
        "labels": [LABEL],
        "taxonomy": TAXONOMY,
        "min_pdq_quality": 50,
        "field": "records[0]",
    }
    fields.update(overrides)
    return HashRecord.create(**fields)


@dataclass(frozen=True)
class Refused:
    name: str
    overrides: dict[str, Any]
    field: str  # the field the error must name
    want: str  # part of the error's "want" clause


REFUSED = [
    Refused("unknown signal type", {"signal_type_name": "tmk"}, "signal_type",
            "one of md5, pdq, sha256, video_md5, vpdq"),
    Refused("signal type not exact", {"signal_type_name": " PDQ "}, "signal_type",
            "one of md5, pdq, sha256, video_md5, vpdq, exactly"),
    Refused("value padded", {"value_hex": f"  {PDQ_HEX}\n"}, "value", "no spaces"),
    Refused("value not hex", {"value_hex": "g" + PDQ_HEX[1:]}, "value", "hexadecimal digits"),
    # 64 characters, 62 of them hex: bytes.fromhex alone would skip the spaces and return 31 bytes.
    Refused("value with inner whitespace", {"value_hex": PDQ_HEX[:30] + "  " + PDQ_HEX[30:62]}, "value",
            "hexadecimal digits"),
    Refused("value one byte short", {"value_hex": PDQ_HEX[:-2]}, "value", "64 hex characters for pdq"),
    Refused("value one byte long", {"value_hex": PDQ_HEX + "00"}, "value", "64 hex characters for pdq"),
    Refused("md5 value of pdq length", {"signal_type_name": "md5", "quality": 0}, "value",
            "32 hex characters for md5"),
    Refused("empty value", {"value_hex": ""}, "value", "64 hex characters"),
    Refused("pdq quality below minimum", {"quality": 49}, "quality",
            ">= 50 (PDQ hashes of low quality are refused)"),
    Refused("pdq quality below a raised minimum", {"quality": 69, "min_pdq_quality": 70}, "quality", ">= 70"),
    Refused("pdq quality above 100", {"quality": 101}, "quality", "an integer 0..100"),
    Refused("quality on an exact type", {"signal_type_name": "md5", "value_hex": MD5_HEX, "quality": 10},
            "quality", "0 for md5 (quality applies to pdq only)"),
    Refused("no labels", {"labels": []}, "labels", "at least one label"),
    Refused("unknown label", {"labels": [LABEL, "tvec.unknown"]}, "labels", "a taxonomy label"),
    Refused("too many labels", {"labels": [LABEL] * (MAX_LABELS + 1)}, "labels", f"at most {MAX_LABELS}"),
    Refused("tag with upper case", {"tags": ["Lang:en"]}, "tags", "a lowercase tag"),
    Refused("empty tag", {"tags": [""]}, "tags", "a lowercase tag"),
    Refused("tag starting with punctuation", {"tags": ["-x"]}, "tags", "a lowercase tag"),
    Refused("tag of 65 characters", {"tags": ["a" * 65]}, "tags", "a lowercase tag of 1-64 characters"),
    Refused("too many tags", {"tags": [f"t{i}" for i in range(MAX_TAGS + 1)]}, "tags", f"at most {MAX_TAGS}"),
    Refused("reference over 256 bytes", {"reference": "é" * 129}, "reference", "at most 256 bytes"),
    Refused("source over 256 bytes", {"source": "x" * 257}, "source", "at most 256 bytes"),
]  # fmt: skip


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.name)
def test_invalid_contribution_is_refused_naming_the_field(case: Refused) -> None:
    with pytest.raises(InvalidArgument) as raised:
        create(**case.overrides)
    assert raised.value.field == f"records[0].{case.field}"
    assert raised.value.message.startswith(f"records[0].{case.field}: got ")
    assert case.want in raised.value.message


@dataclass(frozen=True)
class Accepted:
    name: str
    overrides: dict[str, Any]
    expected: dict[str, Any]


ACCEPTED = [
    Accepted("pdq at the minimum quality", {"quality": 50}, {"quality": 50}),
    Accepted("pdq of quality 100", {"quality": 100}, {"quality": 100}),
    Accepted("pdq with quality check disabled", {"quality": 0, "min_pdq_quality": 0}, {"quality": 0}),
    Accepted("value upper case", {"value_hex": PDQ_HEX.upper()}, {"value": bytes.fromhex(PDQ_HEX)}),
    Accepted("md5 with quality 0", {"signal_type_name": "md5", "value_hex": MD5_HEX, "quality": 0},
             {"signal_type": "md5", "value": bytes.fromhex(MD5_HEX)}),
    Accepted("labels sorted and unique", {"labels": ["tvec.propaganda", "tvec.manifesto", "tvec.propaganda"]},
             {"labels": ("tvec.manifesto", "tvec.propaganda")}),
    Accepted("tags sorted and unique", {"tags": ["lang:en", "campaign:x", "lang:en"]},
             {"tags": ("campaign:x", "lang:en")}),
    Accepted("tag of 64 characters", {"tags": ["a" * 64]}, {"tags": ("a" * 64,)}),
    Accepted("every label at once", {"labels": ALL_LABELS}, {"labels": tuple(ALL_LABELS)}),
    Accepted("reference of exactly 256 bytes", {"reference": "é" * 128}, {"reference": "é" * 128}),
    Accepted("no tags, reference or source", {}, {"tags": (), "reference": "", "source": ""}),
]  # fmt: skip


@pytest.mark.parametrize("case", ACCEPTED, ids=lambda c: c.name)
def test_valid_contribution_is_stored_canonically(case: Accepted) -> None:
    record = create(**case.overrides)
    for name, value in case.expected.items():
        assert getattr(record, name) == value, name


@pytest.mark.parametrize("name", HEX_TYPES, ids=str)
def test_every_hex_signal_type_accepts_a_value_of_its_size(name: str) -> None:
    kind = REGISTRY[name]
    record = create(signal_type_name=name, value_hex="ab" * kind.size, quality=80 if kind.has_quality else 0)
    assert len(record.value) == kind.size
    assert record.value_hex == "ab" * kind.size


def test_error_names_the_default_field_without_a_prefix() -> None:
    with pytest.raises(InvalidArgument, match=r"^record\.quality: got 10, want >= 50"):
        HashRecord.create(
            signal_type_name="pdq", value_hex=PDQ_HEX, quality=10, labels=[LABEL], taxonomy=TAXONOMY,
            min_pdq_quality=50,
        )  # fmt: skip


# --- encoding -----------------------------------------------------------------------------------------------


def test_encoding_is_the_documented_layout() -> None:
    record = create(tags=["lang:en"], reference="case-1", source="proactive")
    expected = (
        Writer()
        .string("pdq")
        .blob(bytes.fromhex(PDQ_HEX))
        .u8(80)
        .strings([LABEL])
        .strings(["lang:en"])
        .string("case-1")
        .string("proactive")
        .getvalue()
    )
    assert record.encode() == expected


def test_record_round_trips() -> None:
    record = create(labels=ALL_LABELS, tags=["b", "a"], reference="Fall Nr. 7 — Überprüfung", source="🔍")
    assert HashRecord.decode(record.encode()) == record


def encoded(labels: list[str], tags: list[str]) -> bytes:
    return (
        Writer()
        .string("md5")
        .blob(bytes(16))
        .u8(0)
        .strings(labels)
        .strings(tags)
        .string("")
        .string("")
        .getvalue()
    )


@pytest.mark.parametrize(
    ("labels", "tags", "message"),
    [
        pytest.param(["b", "a"], [], "labels not sorted and unique", id="labels out of order"),
        pytest.param(["a", "a"], [], "labels not sorted and unique", id="duplicate label"),
        pytest.param(["a"], ["y", "x"], "tags not sorted and unique", id="tags out of order"),
        pytest.param(["a"], ["x", "x"], "tags not sorted and unique", id="duplicate tag"),
    ],
)
def test_decode_rejects_non_canonical_order(labels: list[str], tags: list[str], message: str) -> None:
    with pytest.raises(EncodingError, match=message):
        HashRecord.decode(encoded(labels, tags))


def test_decode_accepts_canonical_order() -> None:
    assert HashRecord.decode(encoded(["a", "b"], ["x", "y"])).labels == ("a", "b")


def test_decode_rejects_invalid_utf8() -> None:
    data = create().encode()
    with pytest.raises(EncodingError, match="record item"):
        HashRecord.decode(b"\x00\x03pd\xff" + data[5:])


def test_decode_rejects_trailing_bytes() -> None:
    with pytest.raises(EncodingError, match="record item: 1 trailing bytes"):
        HashRecord.decode(create().encode() + b"\x00")


def test_decode_rejects_every_truncation() -> None:
    data = create(tags=["lang:en"], reference="r", source="s").encode()
    for cut in range(len(data)):
        with pytest.raises(EncodingError):
            HashRecord.decode(data[:cut])


# --- record ids ---------------------------------------------------------------------------------------------


def test_record_id_is_tagged_hash_of_entry_id_and_index() -> None:
    entry_id = hashlib.sha256(b"an entry").digest()
    expected = hashlib.sha256(b"hashnode.record.v1\x00" + entry_id + b"\x00\x00\x00\x05").digest()
    assert record_id(entry_id, 5) == expected


def test_record_ids_differ_by_index_and_entry() -> None:
    a, b = hashlib.sha256(b"a").digest(), hashlib.sha256(b"b").digest()
    assert len({record_id(a, 0), record_id(a, 1), record_id(b, 0)}) == 3


# --- property: any valid record round-trips -----------------------------------------------------------------

NAMES = st.from_regex(r"\A[a-z0-9][a-z0-9_.:-]{0,63}\Z")
TEXT = st.text(max_size=64)  # at most 256 bytes of UTF-8


@st.composite
def hash_records(draw: st.DrawFn) -> HashRecord:
    kind = REGISTRY[draw(st.sampled_from(HEX_TYPES))]
    return HashRecord(
        signal_type=kind.name,
        value=draw(st.binary(min_size=kind.size, max_size=kind.size)),
        quality=draw(st.integers(0, 100)) if kind.has_quality else 0,
        labels=tuple(sorted(draw(st.sets(st.sampled_from(ALL_LABELS), min_size=1, max_size=MAX_LABELS)))),
        tags=tuple(sorted(draw(st.sets(NAMES, max_size=MAX_TAGS)))),
        reference=draw(TEXT),
        source=draw(TEXT),
    )


@given(hash_records())
def test_any_valid_record_round_trips(record: HashRecord) -> None:
    data = record.encode()
    assert HashRecord.decode(data) == record
    assert HashRecord.decode(data).encode() == data


@given(hash_records())
def test_any_valid_record_encodes_as_the_canonical_writer_would(record: HashRecord) -> None:
    """The record codec is hand-inlined for speed; it must stay byte-identical to the documented layout."""
    expected = (
        Writer()
        .string(record.signal_type)
        .blob(record.value)
        .u8(record.quality)
        .strings(record.labels)
        .strings(record.tags)
        .string(record.reference)
        .string(record.source)
        .getvalue()
    )
    assert record.encode() == expected


@given(hash_records())
def test_any_valid_record_is_reproduced_by_create(record: HashRecord) -> None:
    """What decode accepts from a valid contribution, create would have produced from the same fields."""
    recreated = HashRecord.create(
        signal_type_name=record.signal_type,
        value_hex=record.value_hex,
        quality=record.quality,
        labels=list(reversed(record.labels)),
        tags=list(reversed(record.tags)),
        reference=record.reference,
        source=record.source,
        taxonomy=TAXONOMY,
        min_pdq_quality=0,
    )
    assert recreated == record
