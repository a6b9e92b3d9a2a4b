"""Frontiers, the ranges to fetch from a peer, and the state digest (node/replication/frontier.py)."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.core.errors import InvalidArgument
from node.replication.frontier import AuthorHead, AuthorRange, Frontier, diff, state_digest


def eid(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()


def frontier(**heads: tuple[int, str]) -> Frontier:
    return Frontier.of(AuthorHead(author, seq, eid(label)) for author, (seq, label) in heads.items())


@pytest.mark.parametrize(
    ("name", "local", "remote", "want"),
    [
        ("same heads: nothing to fetch", frontier(a=(3, "a3")), frontier(a=(3, "a3")), []),
        (
            "remote ahead: everything after our head",
            frontier(a=(3, "a3")),
            frontier(a=(7, "a7")),
            [AuthorRange("a", 4, 7)],
        ),
        (
            "author we never saw: from the first entry",
            frontier(),
            frontier(b=(2, "b2")),
            [AuthorRange("b", 1, 2)],
        ),
        ("remote behind: nothing (it fetches from us)", frontier(a=(7, "a7")), frontier(a=(3, "a3")), []),
        (
            "same seq, other entry: that entry, to prove the fork",
            frontier(a=(3, "a3")),
            frontier(a=(3, "x3")),
            [AuthorRange("a", 3, 3)],
        ),
        ("authors only we hold: nothing", frontier(a=(3, "a3"), c=(1, "c1")), frontier(a=(3, "a3")), []),
        (
            "several authors, in author order",
            frontier(b=(1, "b1")),
            frontier(c=(2, "c2"), a=(1, "a1"), b=(4, "b4")),
            [AuthorRange("a", 1, 1), AuthorRange("b", 2, 4), AuthorRange("c", 1, 2)],
        ),
    ],
)
def test_diff(name: str, local: Frontier, remote: Frontier, want: list[AuthorRange]) -> None:
    assert diff(local, remote) == want


def test_frontier_is_sorted_by_author_and_looks_heads_up() -> None:
    f = frontier(b=(2, "b2"), a=(1, "a1"))
    assert [h.author for h in f] == ["a", "b"]
    assert f.get("b") == AuthorHead("b", 2, eid("b2"))
    assert f.get("z") is None
    assert len(f) == 2


def test_frontier_refuses_two_heads_for_one_author() -> None:
    with pytest.raises(InvalidArgument, match="one head per author"):
        Frontier.of([AuthorHead("a", 1, eid("a1")), AuthorHead("a", 2, eid("a2"))])


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: AuthorHead("a", 0, eid("a")), "head.seq"),
        (lambda: AuthorHead("a", 1, b"short"), "head.entry_id"),
        (lambda: AuthorRange("a", 0, 3), "range.from_seq"),
        (lambda: AuthorRange("a", 5, 3), "range.to_seq"),
    ],
)
def test_malformed_heads_and_ranges_cannot_be_built(make: Callable[[], object], field: str) -> None:
    with pytest.raises(InvalidArgument, match=field):
        make()


def test_range_to_zero_means_up_to_the_head() -> None:
    assert AuthorRange("a", 4).to_seq == 0


def test_state_digest_is_sha256_over_the_sorted_ids() -> None:
    ids = [eid("b"), eid("a")]
    assert state_digest(ids) == hashlib.sha256(b"".join(sorted(ids))).digest()


def test_state_digest_of_nothing_is_sha256_of_nothing() -> None:
    assert state_digest([]) == hashlib.sha256(b"").digest()


def test_state_digest_refuses_ids_that_are_not_32_bytes() -> None:
    with pytest.raises(InvalidArgument, match="entry_id"):
        state_digest([b"short"])


@given(st.lists(st.binary(min_size=32, max_size=32), max_size=20), st.randoms(use_true_random=False))
def test_state_digest_ignores_order_and_repetition(ids: list[bytes], rng: random.Random) -> None:
    shuffled = [*ids, *ids[:3]]
    rng.shuffle(shuffled)
    assert state_digest(shuffled) == state_digest(ids)


@given(
    st.sets(st.binary(min_size=32, max_size=32), min_size=1, max_size=10), st.binary(min_size=32, max_size=32)
)
def test_state_digest_changes_with_the_set(ids: set[bytes], extra: bytes) -> None:
    if extra not in ids:
        assert state_digest(ids | {extra}) != state_digest(ids)
