"""Reading matched record rows (Store.active_hits): the compiled kernel (node/storage/_rowscan.c) answers exactly
what the Python reading does, on real encoded rows, and refuses malformed ones."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.core.errors import EncodingError
from node.core.records import RECORD_ID_TAG, HashRecord, record_id
from node.storage import store
from node.storage.store import RecordRow, Status

pytestmark = pytest.mark.skipif(
    store.compiled_scan is None, reason="node/storage/_rowscan.c is not built (python setup.py build_ext --inplace)"
)

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=20)


@st.composite
def rows(draw: st.DrawFn) -> bytes | None:
    if draw(st.integers(0, 9)) == 0:
        return None
    record = HashRecord(
        draw(st.sampled_from(["pdq", "md5"])),
        draw(st.binary(min_size=16, max_size=32)),
        draw(st.integers(0, 100)),
        tuple(sorted(set(draw(st.lists(TEXT, max_size=3))))),
        tuple(sorted(set(draw(st.lists(TEXT, max_size=2))))),
        draw(TEXT),
        draw(st.text(max_size=10)),
    )
    return RecordRow(
        draw(st.integers(0, 2**40)),
        draw(st.binary(min_size=32, max_size=32)),
        draw(st.integers(0, 2**32 - 1)),
        draw(st.integers(1, 2**40)),
        draw(st.integers(0, 2**50)),
        draw(st.sampled_from([Status.ACTIVE, Status.ACTIVE, Status.RETRACTED, Status.SUSPENDED])),
        draw(TEXT),
        record.encode(),
    ).encode()


@settings(max_examples=300, deadline=None)
@given(found=st.lists(rows(), max_size=30))
def test_the_kernel_reads_rows_as_python_does(found: list[bytes | None]) -> None:
    positions, ids, authors, sections = store.compiled_scan(found, RECORD_ID_TAG)
    assert store.ActiveHits(positions, [found[i] for i in positions], ids, authors, sections) == store._scan_rows(found)
    for at, rid in zip(positions, ids, strict=True):
        row = RecordRow.decode(0, found[at])  # type: ignore[arg-type]
        assert rid == record_id(row.entry_id, row.index)


@given(message=st.binary(max_size=119 - 36), material=st.binary(min_size=36, max_size=36))
def test_record_ids_are_sha256(message: bytes, material: bytes) -> None:
    # The kernel's SHA-256 over every tag length up to its two-block limit.
    row = material + bytes(16) + bytes([Status.ACTIVE]) + b"\x00\x00" + HashRecord("md5", bytes(16), 0, ("l",)).encode()
    (_, [rid], _, _) = store.compiled_scan([row], message)
    assert rid == hashlib.sha256(message + material).digest()


@pytest.mark.parametrize(
    "damage",
    [lambda r: r[:54], lambda r: r[:-8], lambda r: r[:53] + b"\xff\xff" + r[55:]],
    ids=["short", "cut in the labels", "author"],
)
def test_a_malformed_row_is_refused_both_ways(damage: object) -> None:
    row = RecordRow(0, bytes(32), 0, 1, 1, Status.ACTIVE, "a", HashRecord("md5", bytes(16), 0, ("l",)).encode())
    bad = damage(row.encode())  # type: ignore[operator]
    with pytest.raises(ValueError):
        store.compiled_scan([bad], RECORD_ID_TAG)
    with pytest.raises((EncodingError, IndexError)):
        store._scan_rows([bad])
