"""Due-process items: their canonical encodings (docs/due-process.md, "Items"), author-side checks, decoders
that accept exactly one encoding per value, and the describers the provenance module registers."""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.core.entry import ZERO_ID, EntryKind, sign_entry
from node.core.errors import EncodingError, InvalidArgument, VerificationError
from node.core.keys import SigningKey
from node.dueprocess import DESCRIBERS, register
from node.dueprocess.items import (
    AppealItem,
    DecidedAs,
    DecisionItem,
    OpinionItem,
    Outcome,
    Stance,
)
from node.provenance import bundle as provenance

RID = bytes(range(32))
APPEAL_ID = bytes([0xAA]) * 32


def _s(text: str) -> bytes:
    """A canonical string, written from the spec with struct only: u16 length, UTF-8."""
    data = text.encode("utf-8")
    return struct.pack(">H", len(data)) + data


# --- encodings, derived independently from docs/due-process.md ----------------------------------------------


@dataclass(frozen=True)
class EncodingCase:
    name: str
    item: OpinionItem | AppealItem | DecisionItem
    expected: bytes


ENCODING_CASES = [
    EncodingCase(
        "opinion: false positive with code and text",
        OpinionItem(RID, Stance.FALSE_POSITIVE, "not_tvec", "news report"),
        RID + b"\x03" + _s("not_tvec") + _s("news report"),
    ),
    EncodingCase(
        "opinion: bare endorsement", OpinionItem(RID, Stance.AGREE, "", ""), RID + b"\x01" + _s("") + _s("")
    ),
    EncodingCase("appeal without distance", AppealItem(RID, "CASE-1"), RID + _s("CASE-1") + b"\x00"),
    EncodingCase(
        "appeal with distance 12",
        AppealItem(RID, "CASE-1", 12),
        RID + _s("CASE-1") + b"\x01" + struct.pack(">H", 12),
    ),
    EncodingCase("appeal with distance 0", AppealItem(RID, "c", 0), RID + _s("c") + b"\x01\x00\x00"),
    EncodingCase(
        "decision overturned by a steward",
        DecisionItem(RID, APPEAL_ID, Outcome.OVERTURNED, "satire", DecidedAs.STEWARD),
        RID + APPEAL_ID + b"\x02" + _s("satire") + b"\x02",
    ),
    EncodingCase(
        "decision upheld by the contributor",
        DecisionItem(RID, APPEAL_ID, Outcome.UPHELD, "", DecidedAs.CONTRIBUTOR),
        RID + APPEAL_ID + b"\x01" + _s("") + b"\x01",
    ),
]


@pytest.mark.parametrize("case", ENCODING_CASES, ids=[c.name for c in ENCODING_CASES])
def test_item_encodes_as_the_document_says_and_decodes_back(case: EncodingCase) -> None:
    assert case.item.encode() == case.expected
    assert type(case.item).decode(case.expected) == case.item


# --- decoders reject every non-canonical encoding -----------------------------------------------------------


@dataclass(frozen=True)
class RejectCase:
    name: str
    decoder: type[OpinionItem] | type[AppealItem] | type[DecisionItem]
    data: bytes
    message: str


REJECT_CASES = [
    RejectCase(
        "opinion with a trailing byte", OpinionItem, RID + b"\x01" + _s("") + _s("") + b"\x00", "trailing"
    ),
    RejectCase("opinion truncated in the record id", OpinionItem, RID[:31], "truncated"),
    RejectCase("opinion with stance 0", OpinionItem, RID + b"\x00" + _s("") + _s(""), "stance: got 0"),
    RejectCase("opinion with stance 4", OpinionItem, RID + b"\x04" + _s("") + _s(""), "stance: got 4"),
    RejectCase(
        "opinion with invalid UTF-8 text", OpinionItem, RID + b"\x01" + _s("") + b"\x00\x01\xff", "UTF-8"
    ),
    RejectCase("appeal with distance flag 2", AppealItem, RID + _s("c") + b"\x02\x00\x01", "flag: got 2"),
    RejectCase("appeal flagged with distance but none", AppealItem, RID + _s("c") + b"\x01", "truncated"),
    RejectCase(
        "appeal without distance, trailing u16", AppealItem, RID + _s("c") + b"\x00\x00\x01", "trailing"
    ),
    RejectCase(
        "decision with outcome 3", DecisionItem, RID + APPEAL_ID + b"\x03" + _s("") + b"\x01", "outcome"
    ),
    RejectCase(
        "decision as decided_as 0", DecisionItem, RID + APPEAL_ID + b"\x01" + _s("") + b"\x00", "decided_as"
    ),
    RejectCase("decision missing decided_as", DecisionItem, RID + APPEAL_ID + b"\x01" + _s(""), "truncated"),
]


@pytest.mark.parametrize("case", REJECT_CASES, ids=[c.name for c in REJECT_CASES])
def test_decoder_rejects_non_canonical_bytes(case: RejectCase) -> None:
    with pytest.raises(EncodingError, match=case.message):
        case.decoder.decode(case.data)


def test_decode_errors_are_verification_errors_so_a_bad_peer_entry_is_rejected() -> None:
    assert issubclass(EncodingError, VerificationError)


# --- author-side checks -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateCase:
    name: str
    build: Callable[[], object]
    field: str


CREATE_CASES = [
    CreateCase("record id of 31 bytes", lambda: OpinionItem.create(RID[:31], Stance.AGREE), "record_id"),
    CreateCase(
        "reason code in upper case", lambda: OpinionItem.create(RID, Stance.AGREE, "NOT_TVEC"), "reason_code"
    ),
    CreateCase(
        "opinion text over 1024 bytes", lambda: OpinionItem.create(RID, Stance.AGREE, "", "é" * 513), "text"
    ),
    CreateCase("stance value 9", lambda: OpinionItem.create(RID, 9), "stance"),  # type: ignore[arg-type]
    CreateCase("empty case reference", lambda: AppealItem.create(RID, ""), "case_ref"),
    CreateCase(
        "case reference with a space (free text)", lambda: AppealItem.create(RID, "Jane Doe"), "case_ref"
    ),
    CreateCase(
        "case reference that is an e-mail", lambda: AppealItem.create(RID, "jane@example.org"), "case_ref"
    ),
    CreateCase("case reference of 129 characters", lambda: AppealItem.create(RID, "a" * 129), "case_ref"),
    CreateCase("match distance 257", lambda: AppealItem.create(RID, "c", 257), "match_distance"),
    CreateCase("negative match distance", lambda: AppealItem.create(RID, "c", -1), "match_distance"),
    CreateCase(
        "decision appeal id of 8 bytes",
        lambda: DecisionItem.create(RID, b"\x00" * 8, Outcome.UPHELD, "", DecidedAs.STEWARD),
        "appeal_entry_id",
    ),
    CreateCase(
        "decision reason over 1024 bytes",
        lambda: DecisionItem.create(RID, APPEAL_ID, Outcome.UPHELD, "x" * 1025, DecidedAs.STEWARD),
        "reason",
    ),
]


@pytest.mark.parametrize("case", CREATE_CASES, ids=[c.name for c in CREATE_CASES])
def test_create_refuses_what_an_author_must_not_write(case: CreateCase) -> None:
    with pytest.raises(InvalidArgument) as raised:
        case.build()
    assert raised.value.field == case.field


def test_create_accepts_a_platform_case_token() -> None:
    appeal = AppealItem.create(RID, "TKT-2024/000123#2", 31)
    assert AppealItem.decode(appeal.encode()) == appeal


# --- property: every item round-trips -----------------------------------------------------------------------

_ids = st.binary(min_size=32, max_size=32)
_text = st.text(max_size=60)


@given(_ids, st.sampled_from(Stance), _text, _text)
def test_opinion_round_trips(rid: bytes, stance: Stance, code: str, text: str) -> None:
    item = OpinionItem(rid, stance, code, text)
    assert OpinionItem.decode(item.encode()) == item


@given(_ids, _text, st.none() | st.integers(0, 0xFFFF))
def test_appeal_round_trips(rid: bytes, case_ref: str, distance: int | None) -> None:
    item = AppealItem(rid, case_ref, distance)
    assert AppealItem.decode(item.encode()) == item


@given(_ids, _ids, st.sampled_from(Outcome), _text, st.sampled_from(DecidedAs))
def test_decision_round_trips(
    rid: bytes, appeal: bytes, outcome: Outcome, reason: str, as_: DecidedAs
) -> None:
    item = DecisionItem(rid, appeal, outcome, reason, as_)
    assert DecisionItem.decode(item.encode()) == item


# --- registration with the provenance module ----------------------------------------------------------------


def test_register_adds_describers_and_no_kind_level_status() -> None:
    describers: dict[int, provenance.ItemDescriber] = {EntryKind.RETRACTION: provenance.DESCRIBERS[2]}
    status_by_kind = {int(EntryKind.RETRACTION): "retracted", int(EntryKind.DECISION): "overturned"}
    register(describers, status_by_kind)
    assert set(describers) == {EntryKind.RETRACTION, EntryKind.OPINION, EntryKind.APPEAL, EntryKind.DECISION}
    # An upheld decision must not mark a record overturned: decisions get no kind-level status row.
    assert status_by_kind == {EntryKind.RETRACTION: "retracted"}


@dataclass(frozen=True)
class DescribeCase:
    name: str
    kind: EntryKind
    item: bytes
    summary: str


DESCRIBE_CASES = [
    DescribeCase(
        "false-positive opinion",
        EntryKind.OPINION,
        OpinionItem(RID, Stance.FALSE_POSITIVE, "not_tvec", "news footage").encode(),
        "opinion: false positive (not_tvec): news footage",
    ),
    DescribeCase(
        "endorsement", EntryKind.OPINION, OpinionItem(RID, Stance.AGREE, "", "").encode(), "opinion: agree"
    ),
    DescribeCase(
        "appeal with distance",
        EntryKind.APPEAL,
        AppealItem(RID, "CASE-9", 4).encode(),
        "appeal received, case CASE-9, match distance 4",
    ),
    DescribeCase(
        "steward decision",
        EntryKind.DECISION,
        DecisionItem(RID, APPEAL_ID, Outcome.OVERTURNED, "satire", DecidedAs.STEWARD).encode(),
        "appeal aaaaaaaaaaaaaaaa… overturned by the steward: satire",
    ),
]


@pytest.mark.parametrize("case", DESCRIBE_CASES, ids=[c.name for c in DESCRIBE_CASES])
def test_provenance_describes_a_signed_due_process_entry(
    case: DescribeCase, monkeypatch: pytest.MonkeyPatch
) -> None:
    describers = dict(provenance.DESCRIBERS)
    register(describers, dict(provenance.STATUS_BY_KIND))
    monkeypatch.setattr(provenance, "DESCRIBERS", describers)
    other = OpinionItem(bytes(32), Stance.AGREE, "", "").encode()
    entry = sign_entry(
        SigningKey.from_seed(bytes(32)),
        consortium_id="test",
        author="platform-b",
        seq=1,
        prev=ZERO_ID,
        timestamp_ms=1,
        kind=case.kind,
        items=[other, case.item] if case.kind is EntryKind.OPINION else [case.item],
    )
    assert provenance.describe(entry, RID) == case.summary
    assert DESCRIBERS[case.kind](case.item) == (RID, case.summary)


# --- the document quotes the current encodings --------------------------------------------------------------

DOC = Path(__file__).resolve().parent.parent / "docs" / "due-process.md"
QUOTED_IN_DOC = (
    "opinion: false positive with code and text",
    "appeal without distance",
    "appeal with distance 12",
    "decision overturned by a steward",
)


def test_due_process_document_quotes_the_encodings() -> None:
    text = DOC.read_text(encoding="utf-8")
    stale = [c.name for c in ENCODING_CASES if c.name in QUOTED_IN_DOC and c.expected.hex() not in text]
    assert not stale, f"docs/due-process.md does not show the current encoding of {stale}"
