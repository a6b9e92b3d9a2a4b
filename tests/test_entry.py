"""Signed entries (docs/protocol.md, "Entries" and "Chain rules")."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from typing import Any

import pytest

from node.core import merkle
from node.core.entry import (
    ENTRY_TAG,
    MAX_ITEM_BYTES,
    MAX_ITEMS,
    ZERO_ID,
    Entry,
    EntryHeader,
    EntryKind,
    sign_entry,
)
from node.core.errors import EncodingError, VerificationError
from node.core.keys import SigningKey

ALICE = SigningKey.from_seed(hashlib.sha256(b"test entry alice").digest())
MALLORY = SigningKey.from_seed(hashlib.sha256(b"test entry mallory").digest())
ITEMS = (b"first item", b"second item", b"third item")
PREV = hashlib.sha256(b"some earlier entry").digest()
PREV_RULE = "prev must be all zeros exactly when seq is 1"


def signed(key: SigningKey = ALICE, *, items: Sequence[bytes] = ITEMS, **overrides: Any) -> Entry:
    fields: dict[str, Any] = {
        "consortium_id": "test-consortium",
        "author": "alice",
        "seq": 1,
        "prev": ZERO_ID,
        "timestamp_ms": 1_700_000_000_000,
        "kind": EntryKind.CONTRIBUTION,
    }
    fields.update(overrides)
    return sign_entry(key, items=items, **fields)


def resigned(header: EntryHeader, key: SigningKey = ALICE) -> tuple[bytes, bytes]:
    """Header bytes and a valid signature for a header built by hand (to test parse rules, not signatures)."""
    data = header.encode()
    return data, key.sign(data)


# --- signing and verifying ----------------------------------------------------------------------------------


def test_signed_entry_verifies_under_its_key() -> None:
    entry = signed()
    entry.verify(ALICE.public)


def test_parse_of_the_bytes_received_gives_an_equal_entry() -> None:
    entry = signed()
    parsed = Entry.parse(entry.header_bytes, entry.signature, list(entry.items))
    assert parsed == entry
    assert parsed.header == entry.header
    parsed.verify(ALICE.public)


def test_entry_id_is_sha256_of_the_header_bytes() -> None:
    entry = signed()
    assert entry.entry_id == hashlib.sha256(entry.header_bytes).digest()


def test_header_commits_to_key_item_count_and_body_root() -> None:
    header = signed().header
    assert header.key_id == ALICE.public.key_id
    assert header.item_count == len(ITEMS)
    assert header.body_root == merkle.root(ITEMS)


def test_header_bytes_start_with_the_domain_tag() -> None:
    assert signed().header_bytes.startswith(b"hashnode.entry.v1\x00") and len(ENTRY_TAG) == 18


def test_header_round_trips() -> None:
    header = signed().header
    assert EntryHeader.decode(header.encode()) == header


def test_signature_by_another_key_is_rejected() -> None:
    """The header names Alice's key, but Mallory signed it."""
    entry = signed()
    forged = Entry.parse(entry.header_bytes, MALLORY.sign(entry.header_bytes), list(entry.items))
    with pytest.raises(VerificationError, match="does not verify"):
        forged.verify(ALICE.public)


def test_verifying_with_a_key_other_than_the_header_names_is_rejected() -> None:
    with pytest.raises(VerificationError, match="key other than the one given"):
        signed().verify(MALLORY.public)


def test_signature_of_wrong_length_is_rejected() -> None:
    entry = signed()
    truncated = Entry.parse(entry.header_bytes, entry.signature[:63], list(entry.items))
    with pytest.raises(VerificationError, match="got 63 bytes, want 64"):
        truncated.verify(ALICE.public)


# --- items against the header -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "received",
    [
        pytest.param(ITEMS[:2], id="one item missing"),
        pytest.param((*ITEMS, b"extra"), id="one item added"),
    ],
)
def test_item_count_mismatch_is_rejected(received: tuple[bytes, ...]) -> None:
    entry = signed()
    with pytest.raises(VerificationError, match=f"header counts 3 items, got {len(received)}"):
        Entry.parse(entry.header_bytes, entry.signature, received)


@pytest.mark.parametrize(
    "received",
    [
        pytest.param((ITEMS[1], ITEMS[0], ITEMS[2]), id="items reordered"),
        pytest.param((ITEMS[0], b"changed", ITEMS[2]), id="item changed"),
        pytest.param((ITEMS[0], ITEMS[1], ITEMS[2] + b"\x00"), id="item extended"),
    ],
)
def test_items_not_matching_the_body_root_are_rejected(received: tuple[bytes, ...]) -> None:
    entry = signed()
    with pytest.raises(VerificationError, match="do not match the signed body root"):
        Entry.parse(entry.header_bytes, entry.signature, received)


def test_entry_of_max_items_is_accepted() -> None:
    items = [i.to_bytes(4, "big") for i in range(MAX_ITEMS)]
    assert signed(items=items).header.item_count == MAX_ITEMS


@pytest.mark.parametrize(
    ("items", "message"),
    [
        pytest.param([], "got 0 items, want 1..10000", id="no items"),
        pytest.param([b"x"] * (MAX_ITEMS + 1), "got 10001 items, want 1..10000", id="one over max items"),
        pytest.param([b"x" * (MAX_ITEM_BYTES + 1)], "exceeds 4096 bytes", id="item over 4096 bytes"),
    ],
)
def test_item_limits_are_enforced(items: list[bytes], message: str) -> None:
    # A retraction: contribution items have a larger limit of their own (tests/test_vpdq.py).
    header = dataclasses.replace(
        signed(kind=EntryKind.RETRACTION).header, item_count=len(items),
        body_root=merkle.root(items) if items else bytes(32),
    )
    with pytest.raises(EncodingError, match=message):
        Entry.parse(*resigned(header), items)


def test_item_of_exactly_4096_bytes_is_accepted() -> None:
    signed(items=[b"x" * MAX_ITEM_BYTES])


# --- chain rules --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seq", "prev"),
    [
        pytest.param(1, ZERO_ID, id="first entry links to zeros"),
        pytest.param(2, PREV, id="later entry links to its predecessor"),
        pytest.param(2**64 - 1, PREV, id="largest seq"),
    ],
)
def test_chain_link_accepted(seq: int, prev: bytes) -> None:
    header = dataclasses.replace(signed().header, seq=seq, prev=prev)
    Entry.parse(*resigned(header), ITEMS).verify(ALICE.public)


@pytest.mark.parametrize(
    ("seq", "prev", "message"),
    [
        pytest.param(0, ZERO_ID, "seq must be >= 1", id="seq zero"),
        pytest.param(1, PREV, PREV_RULE, id="first entry with a prev"),
        pytest.param(2, ZERO_ID, PREV_RULE, id="later entry without prev"),
    ],
)
def test_chain_link_rejected(seq: int, prev: bytes, message: str) -> None:
    header = dataclasses.replace(signed().header, seq=seq, prev=prev)
    with pytest.raises(EncodingError, match=message):
        Entry.parse(*resigned(header), ITEMS)


def test_chained_entries_link_by_entry_id() -> None:
    first = signed()
    second = signed(seq=2, prev=first.entry_id, timestamp_ms=1_700_000_001_000)
    assert second.header.prev == first.entry_id


# --- header decoding ----------------------------------------------------------------------------------------


def test_wrong_domain_tag_is_rejected() -> None:
    data = signed().header_bytes
    with pytest.raises(EncodingError, match="wrong domain tag"):
        EntryHeader.decode(b"hashnode.entry.v2\x00" + data[len(ENTRY_TAG) :])


def test_trailing_bytes_after_the_header_are_rejected() -> None:
    with pytest.raises(EncodingError, match="1 trailing bytes"):
        EntryHeader.decode(signed().header_bytes + b"\x00")


def test_truncated_header_is_rejected() -> None:
    data = signed().header_bytes
    for cut in range(len(data)):
        with pytest.raises(EncodingError):
            EntryHeader.decode(data[:cut])


@pytest.mark.parametrize("kind", list(EntryKind), ids=lambda k: k.label)
def test_every_kind_signs_and_verifies(kind: EntryKind) -> None:
    entry = signed(kind=kind)
    assert entry.kind == int(kind)
    entry.verify(ALICE.public)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (EntryKind.CONTRIBUTION, 1),
        (EntryKind.RETRACTION, 2),
        (EntryKind.OPINION, 3),
        (EntryKind.APPEAL, 4),
        (EntryKind.DECISION, 5),
    ],
    ids=lambda v: v.label if isinstance(v, EntryKind) else str(v),
)
def test_kind_numbers_are_those_of_the_protocol(kind: EntryKind, value: int) -> None:
    assert int(kind) == value
