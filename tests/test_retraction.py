"""Retraction items (docs/protocol.md, "Retraction items")."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.core.errors import EncodingError
from node.core.retraction import MAX_REASON, RetractionItem

RECORD_ID = hashlib.sha256(b"a record").digest()


@pytest.mark.parametrize(
    ("reason", "reason_bytes"),
    [
        pytest.param("", b"\x00\x00", id="empty reason"),
        pytest.param("false positive", b"\x00\x0efalse positive", id="ascii reason"),
        pytest.param("Überprüfung", b"\x00\x0d" + "Überprüfung".encode(), id="reason length in UTF-8 bytes"),
    ],
)
def test_item_is_record_id_then_reason(reason: str, reason_bytes: bytes) -> None:
    item = RetractionItem(RECORD_ID, reason)
    assert item.encode() == RECORD_ID + reason_bytes
    assert len(item.encode()) == 34 + len(reason.encode("utf-8"))


def test_item_round_trips() -> None:
    item = RetractionItem(RECORD_ID, "benign file")
    assert RetractionItem.decode(item.encode()) == item


def test_reason_of_the_author_limit_round_trips() -> None:
    item = RetractionItem(RECORD_ID, "x" * MAX_REASON)
    assert RetractionItem.decode(item.encode()) == item


@pytest.mark.parametrize("size", [31, 33], ids=["record id one byte short", "record id one byte long"])
def test_record_id_must_be_32_bytes(size: int) -> None:
    with pytest.raises(EncodingError, match=f"got {size} bytes, want 32"):
        RetractionItem(bytes(size), "").encode()


def test_trailing_bytes_are_rejected() -> None:
    with pytest.raises(EncodingError, match="retraction item: 1 trailing bytes"):
        RetractionItem.decode(RetractionItem(RECORD_ID, "r").encode() + b"\x00")


def test_every_truncation_is_rejected() -> None:
    data = RetractionItem(RECORD_ID, "reason").encode()
    for cut in range(len(data)):
        with pytest.raises(EncodingError, match="retraction item: truncated"):
            RetractionItem.decode(data[:cut])


def test_invalid_utf8_reason_is_rejected() -> None:
    with pytest.raises(EncodingError, match="retraction item: invalid UTF-8"):
        RetractionItem.decode(RECORD_ID + b"\x00\x01\xff")


@given(st.binary(min_size=32, max_size=32), st.text(max_size=300))
def test_any_item_round_trips(record_id: bytes, reason: str) -> None:
    item = RetractionItem(record_id, reason)
    assert RetractionItem.decode(item.encode()) == item
