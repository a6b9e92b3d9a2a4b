"""The due-process lifecycle across three nodes that replicate over gRPC (Peer service and replicator on
loopback, in this process): A contributes; B matches a piece of content; B's user appeals and B files the
appeal; A overturns; B and C stop matching; B gets a reinstatement notice naming its earlier match. The
provenance bundle verifies offline against the pinned membership at every step, and any changed byte of its
signed content fails verification. Then the steward path, when the contributor stays silent past the window.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from replication_helpers import NetNode, serve, wait_for

from node.core.errors import HashnodeError
from node.core.taxonomy import Taxonomy
from node.dueprocess.items import Outcome
from node.dueprocess.policy import PolicyConfig
from node.ledger.ledger import Ledger, LedgerSettings, RecordStatus
from node.membership.members import Membership
from node.provenance.bundle import ProvenanceBundle, RelatedEntry, verify_bundle
from tests.dueprocess_helpers import CONSORTIUM, PDQ, PDQ_NEAR, membership, query, record, signing_key

DEADLINE_S = 5.0  # generous: replication normally takes milliseconds


@dataclass
class Net:
    nodes: dict[str, NetNode]
    members: Membership

    def __getitem__(self, member: str) -> Ledger:
        return self.nodes[member].ledger

    def matches(self, member: str, value: str = PDQ, content_ref: str = "") -> list[bytes]:
        [hits] = self[member].match([query(value, content_ref)])
        return [hit.record_id for hit in hits]

    def holds(self, member: str, entry_id: bytes) -> Callable[[], bool]:
        def check() -> bool:
            with self[member].store.read() as txn:
                return self[member].store.has_entry(txn, entry_id)

        return check


def _open(directory: Path, member: str, members: Membership, clock: Callable[[], int] | None) -> Ledger:
    kwargs = {} if clock is None else {"clock": clock}
    return Ledger.open(
        directory,
        settings=LedgerSettings(CONSORTIUM, member, policy=PolicyConfig(), map_size=1 << 26),
        membership=members,
        signer=signing_key(member),
        taxonomy=Taxonomy.default(),
        **kwargs,
    )


@pytest.fixture
def net_factory(tmp_path: Path) -> Iterator[Callable[..., Net]]:
    started: list[NetNode] = []

    def start(names: tuple[str, ...], members: Membership, clock: Callable[[], int] | None = None) -> Net:
        nodes = {name: serve(name, _open(tmp_path / name, name, members, clock)) for name in names}
        started.extend(nodes.values())
        for name, node in nodes.items():
            node.replicate_from(*(other for other_name, other in nodes.items() if other_name != name))
        # A node authors once it compared its own log with a peer's copy (replication's authoring gate).
        ready = lambda: all(n.ledger.authoring_blocked_reason is None for n in nodes.values())  # noqa: E731
        wait_for(ready, DEADLINE_S, "every node to have caught up")
        return Net(nodes, members)

    yield start
    for node in started:
        node.stop()


def bundle_of(net: Net, member: str, rid: bytes) -> ProvenanceBundle:
    return net[member].provenance(rid)


def verified_status(bundle: ProvenanceBundle, members: Membership) -> str:
    return verify_bundle(bundle, trusted=members).status


def _flip(data: bytes, i: int) -> bytes:
    return data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]


def _flipped_entries(entry: RelatedEntry) -> Iterator[tuple[str, RelatedEntry]]:
    """The entry with one byte flipped, for every byte of its header, signature and items. Built without
    parsing (a tamperer does not parse): the verifier parses what it is given."""
    for name in ("header", "signature"):
        data: bytes = getattr(entry, name)
        for i in range(len(data)):
            yield f"{name}[{i}]", replace(entry, **{name: _flip(data, i)})
    for k, item in enumerate(entry.items):
        for i in range(len(item)):
            items = (*entry.items[:k], _flip(item, i), *entry.items[k + 1 :])
            yield f"items[{k}][{i}]", replace(entry, items=items)


def tampered_copies(bundle: ProvenanceBundle) -> Iterator[tuple[str, ProvenanceBundle]]:
    """One copy per signed byte with that byte flipped: the record, its entry header and signature, and every
    byte of every related entry."""
    for name in ("record_item", "entry_header", "entry_signature"):
        data: bytes = getattr(bundle, name)
        for i in range(len(data)):
            yield f"{name}[{i}]", replace(bundle, **{name: _flip(data, i)})
    for r, related in enumerate(bundle.related):
        for where, entry in _flipped_entries(related):
            changed = (*bundle.related[:r], entry, *bundle.related[r + 1 :])
            yield f"related[{r}].{where}", replace(bundle, related=changed)


def assert_every_byte_matters(bundle: ProvenanceBundle, members: Membership) -> int:
    count = 0
    for where, copy in tampered_copies(bundle):
        with pytest.raises(HashnodeError):
            verify_bundle(copy, trusted=members)
            pytest.fail(f"a flipped byte at {where} still verifies")
        count += 1
    return count


def test_appeal_overturn_and_reinstatement_across_three_replicating_nodes(
    net_factory: Callable[..., Net],
) -> None:
    members = membership()
    net = net_factory(("platform-a", "platform-b", "platform-c"), members)
    a, b, c = net["platform-a"], net["platform-b"], net["platform-c"]

    submitted = a.submit([record()])
    [rid] = submitted.record_ids
    for member in ("platform-b", "platform-c"):
        wait_for(net.holds(member, submitted.entry.entry_id), DEADLINE_S, f"{member} to hold the record")
        # The index takes the record just after the commit that stores it: wait for that too.
        wait_for(lambda m=member: len(net[m].index) == 1, DEADLINE_S, f"{member} to index the record")  # type: ignore[misc]
    assert verified_status(bundle_of(net, "platform-b", rid), members) == "active"

    assert net.matches("platform-b", PDQ_NEAR, "upload/2026/0001") == [rid]
    # Without a content reference: the match log knows it by query id. The index follows the commit that
    # `holds` saw, so C may miss at first; a miss is not logged.
    c_hits: list[Any] = []

    def c_matches() -> bool:
        c_hits[:] = c.match([query(PDQ)])[0]
        return bool(c_hits)

    wait_for(c_matches, DEADLINE_S, "platform-c to match the record")
    [c_hit] = c_hits

    appeal = b.appeal(rid, "CASE-0001", match_distance=8)
    wait_for(net.holds("platform-a", appeal.entry_id), DEADLINE_S, "the appeal to reach platform-a")
    pending = verify_bundle(bundle_of(net, "platform-a", rid), trusted=members)
    assert pending.status == "active"
    assert any(note.startswith("appeal pending; stewards may decide from") for note in pending.notes)

    decision = a.decide(appeal.entry_id, Outcome.OVERTURNED, "news reporting, not propaganda")
    assert net.matches("platform-a") == []
    for member in ("platform-b", "platform-c"):
        took = wait_for(lambda m=member: net.matches(m) == [], DEADLINE_S, f"{member} to stop matching")  # type: ignore[misc]
        assert took < DEADLINE_S
        assert net[member].record(rid).status is RecordStatus.OVERTURNED

    # Polling by matching logged more matches of B's own (without content references): one notice each.
    [notice] = [n for n in b.notices() if n.notice.content_ref]
    assert (notice.notice.content_ref, notice.cause, notice.standing, notice.notice.cleared) == (
        "upload/2026/0001",
        rid,
        "overturned",
        True,
    )
    first = c.notices()[0]
    assert (first.notice.content_ref, first.notice.query_ids) == ("", (c_hit.query_id,))
    final = bundle_of(net, "platform-c", rid)
    verified = verify_bundle(final, trusted=members)
    assert verified.status == "overturned"
    assert [(e.kind, e.ruling) for e in verified.history] == [("appeal", ""), ("decision", "effective")]
    assert decision.entry_id in {e.entry_id for e in verified.history}
    assert assert_every_byte_matters(final, members) > 500


def test_a_steward_decides_when_the_contributor_is_silent_past_the_window(
    net_factory: Callable[..., Net],
) -> None:
    members = membership(window_ms=300)  # a tiny window: the deadline passes within the test
    net = net_factory(("platform-a", "platform-b", "steward-1"), members)
    submitted = net["platform-a"].submit([record()])
    [rid] = submitted.record_ids
    wait_for(net.holds("platform-b", submitted.entry.entry_id), DEADLINE_S, "platform-b to hold the record")
    appeal = net["platform-b"].appeal(rid, "CASE-0002")
    wait_for(net.holds("steward-1", appeal.entry_id), DEADLINE_S, "the appeal to reach steward-1")
    wait_for(lambda: net["steward-1"].clock() >= appeal.header.timestamp_ms + 300, DEADLINE_S, "the deadline")
    net["steward-1"].decide(appeal.entry_id, Outcome.OVERTURNED, "no answer from the contributor")
    for member in ("platform-a", "platform-b"):
        wait_for(lambda m=member: net.matches(m) == [], DEADLINE_S, f"{member} to stop matching")  # type: ignore[misc]
    verified = verify_bundle(bundle_of(net, "platform-a", rid), trusted=members)
    assert verified.status == "overturned"
    assert verified.history[-1].ruling == "effective"
