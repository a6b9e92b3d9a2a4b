"""Canonical encoding primitives (docs/protocol.md, "Encoding primitives")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.core.canonical import Reader, Writer
from node.core.errors import EncodingError


@dataclass(frozen=True)
class Primitive:
    name: str
    value: Any
    encoded: bytes
    write: Callable[[Writer, Any], Writer]
    read: Callable[[Reader], Any]


PRIMITIVES = [
    Primitive("u8", 0xAB, b"\xab", Writer.u8, Reader.u8),
    Primitive("u16 is big-endian", 0x0102, b"\x01\x02", Writer.u16, Reader.u16),
    Primitive("u32 is big-endian", 0x01020304, b"\x01\x02\x03\x04", Writer.u32, Reader.u32),
    Primitive("u64 is big-endian", 0x0102030405060708, bytes(range(1, 9)), Writer.u64, Reader.u64),
    Primitive("u64 maximum", 2**64 - 1, b"\xff" * 8, Writer.u64, Reader.u64),
    Primitive("empty string", "", b"\x00\x00", Writer.string, Reader.string),
    Primitive("ascii string", "abc", b"\x00\x03abc", Writer.string, Reader.string),
    Primitive("string length counts UTF-8 bytes", "é🔍", b"\x00\x06\xc3\xa9\xf0\x9f\x94\x8d", Writer.string,
              Reader.string),
    Primitive("empty blob", b"", b"\x00\x00\x00\x00", Writer.blob, Reader.blob),
    Primitive("blob has a u32 length", b"\x00\xff", b"\x00\x00\x00\x02\x00\xff", Writer.blob, Reader.blob),
    Primitive("empty string list", (), b"\x00\x00", Writer.strings, Reader.strings),
    Primitive("string list", ("a", "bc"), b"\x00\x02\x00\x01a\x00\x02bc", Writer.strings, Reader.strings),
]  # fmt: skip


@pytest.mark.parametrize("case", PRIMITIVES, ids=lambda c: c.name)
def test_primitive_encodes_exactly(case: Primitive) -> None:
    assert case.write(Writer(), case.value).getvalue() == case.encoded


@pytest.mark.parametrize("case", PRIMITIVES, ids=lambda c: c.name)
def test_primitive_decodes_back(case: Primitive) -> None:
    reader = Reader(case.encoded)
    assert case.read(reader) == case.value
    reader.end()


@pytest.mark.parametrize("case", PRIMITIVES, ids=lambda c: c.name)
def test_every_truncation_is_rejected(case: Primitive) -> None:
    for cut in range(len(case.encoded)):
        with pytest.raises(EncodingError, match="truncated"):
            case.read(Reader(case.encoded[:cut]))


@pytest.mark.parametrize("case", PRIMITIVES, ids=lambda c: c.name)
def test_trailing_byte_is_rejected_by_end(case: Primitive) -> None:
    reader = Reader(case.encoded + b"\x00", "thing")
    case.read(reader)
    with pytest.raises(EncodingError, match="thing: 1 trailing bytes"):
        reader.end()


def test_fixed_field_round_trips_without_prefix() -> None:
    data = bytes(range(32))
    assert Writer().fixed(data, 32).getvalue() == data
    assert Reader(data).fixed(32) == data


@pytest.mark.parametrize("size", [31, 33], ids=["one short", "one long"])
def test_fixed_field_of_wrong_size_is_refused(size: int) -> None:
    with pytest.raises(EncodingError, match=f"got {size} bytes, want 32"):
        Writer().fixed(bytes(size), 32)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"\xff", id="invalid start byte"),
        pytest.param(b"\xc3", id="truncated two-byte sequence"),
        pytest.param(b"\xc0\xaf", id="overlong encoding"),
        pytest.param(b"\xed\xa0\x80", id="surrogate code point"),
    ],
)
def test_invalid_utf8_string_is_rejected(raw: bytes) -> None:
    data = len(raw).to_bytes(2, "big") + raw
    with pytest.raises(EncodingError, match="invalid UTF-8"):
        Reader(data).string()


def test_string_of_65535_bytes_is_the_largest_allowed() -> None:
    text = "x" * 0xFFFF
    encoded = Writer().string(text).getvalue()
    assert encoded[:2] == b"\xff\xff"
    assert Reader(encoded).string() == text


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("x" * 0x10000, id="65536 ascii bytes"),
        pytest.param("é" * 0x8000, id="32768 two-byte chars"),
    ],
)
def test_oversize_string_is_refused_not_truncated(text: str) -> None:
    with pytest.raises(EncodingError, match="want at most 65535"):
        Writer().string(text)


def test_length_prefix_past_the_end_is_truncation() -> None:
    with pytest.raises(EncodingError, match="truncated at byte 4, needed 100 more"):
        Reader(b"\x00\x00\x00\x64abc").blob()


def test_reads_continue_where_the_last_stopped() -> None:
    encoded = Writer().u8(7).string("id").u64(9).blob(b"\x01").getvalue()
    reader = Reader(encoded)
    assert (reader.u8(), reader.string(), reader.u64(), reader.blob()) == (7, "id", 9, b"\x01")
    reader.end()


@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("u8"), st.integers(0, 2**8 - 1)),
            st.tuples(st.just("u16"), st.integers(0, 2**16 - 1)),
            st.tuples(st.just("u32"), st.integers(0, 2**32 - 1)),
            st.tuples(st.just("u64"), st.integers(0, 2**64 - 1)),
            st.tuples(st.just("string"), st.text(max_size=50)),
            st.tuples(st.just("blob"), st.binary(max_size=50)),
            st.tuples(st.just("strings"), st.lists(st.text(max_size=10), max_size=5).map(tuple)),
        ),
        max_size=12,
    )
)
def test_any_sequence_of_fields_round_trips(fields: list[tuple[str, Any]]) -> None:
    writer = Writer()
    for kind, value in fields:
        getattr(writer, kind)(value)
    reader = Reader(writer.getvalue())
    assert [(kind, getattr(reader, kind)()) for kind, _ in fields] == fields
    reader.end()
