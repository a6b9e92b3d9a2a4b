"""Record rows as the store keeps them: what is encoded decodes back; a damaged row is DataCorruption (the
store's fault: DATA_LOSS, never the caller's INVALID_ARGUMENT)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.core.errors import DataCorruption
from node.storage.store import STATUSES, RecordRow

ROWS = st.builds(
    RecordRow,
    ordinal=st.integers(0, 2**63),
    entry_id=st.binary(min_size=32, max_size=32),
    index=st.integers(0, 2**32 - 1),
    seq=st.integers(0, 2**64 - 1),
    timestamp_ms=st.integers(0, 2**64 - 1),
    status=st.sampled_from(sorted(STATUSES)),
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
    with pytest.raises(DataCorruption, match="row truncated"):
        RecordRow.decode(row.ordinal, encoded[:cut])


def test_an_author_that_is_not_utf8_is_refused() -> None:
    encoded = RecordRow(0, bytes(32), 0, 1, 2, 1, "ab", b"item").encode()
    damaged = encoded.replace(b"ab", b"\xff\xfe")
    with pytest.raises(DataCorruption, match="the contributor is not UTF-8"):
        RecordRow.decode(0, damaged)


@given(status=st.integers(0, 255).filter(lambda status: status not in STATUSES))
def test_a_status_byte_that_is_no_status_is_damage(status: int) -> None:
    encoded = RecordRow(7, bytes(32), 0, 1, 2, status, "ab", b"item").encode()
    with pytest.raises(DataCorruption, match=f"records ordinal 7: status byte {status} is no status"):
        RecordRow.decode(7, encoded)
