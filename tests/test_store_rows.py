"""Record rows as the store keeps them: what is encoded decodes back; a damaged row is an EncodingError."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.core.errors import EncodingError
from node.storage.store import RecordRow

ROWS = st.builds(
    RecordRow,
    ordinal=st.integers(0, 2**63),
    entry_id=st.binary(min_size=32, max_size=32),
    index=st.integers(0, 2**32 - 1),
    seq=st.integers(0, 2**64 - 1),
    timestamp_ms=st.integers(0, 2**64 - 1),
    status=st.integers(0, 255),
    author=st.text(max_size=40),
    item=st.binary(max_size=200),
)


@given(row=ROWS)
def test_a_row_decodes_to_what_was_encoded(row: RecordRow) -> None:
    assert RecordRow.decode(row.ordinal, row.encode()) == row


@given(row=ROWS, data=st.data())
def test_a_truncated_row_is_refused(row: RecordRow, data: st.DataObject) -> None:
    encoded = row.encode()
    fixed_and_author = len(encoded) - len(row.item)
    cut = data.draw(st.integers(0, fixed_and_author - 1))
    with pytest.raises(EncodingError, match="record row: truncated"):
        RecordRow.decode(row.ordinal, encoded[:cut])


def test_an_author_that_is_not_utf8_is_refused() -> None:
    encoded = RecordRow(0, bytes(32), 0, 1, 2, 1, "ab", b"item").encode()
    damaged = encoded.replace(b"ab", b"\xff\xfe")
    with pytest.raises(EncodingError, match="record row: invalid UTF-8"):
        RecordRow.decode(0, damaged)
