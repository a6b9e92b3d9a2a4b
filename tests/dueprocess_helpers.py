"""Shared by the due-process tests: a small consortium of in-process nodes over real LMDB, a settable clock,
and delivery of entries between nodes in log order (what replication does, without the network)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from node.core.keys import SigningKey
from node.core.records import HashRecord
from node.core.taxonomy import Taxonomy
from node.dueprocess.policy import PolicyConfig
from node.ledger.ledger import Ledger, LedgerSettings, Query
from node.membership.members import Member, MemberKey, Membership

CONSORTIUM = "dp-consortium"
T0 = 1_700_000_000_000
HOUR = 3_600_000
WINDOW = 72 * HOUR
LABEL = "tvec.propaganda"
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
PDQ_NEAR = "f8f8f0cee0f4a84f0637022a038f67f0b36e26d596621e1d33e6b39c4e9c9b22"  # distance 8 from PDQ
OTHER_PDQ = "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"
ROLES = {
    "platform-a": ("contributor",),
    "platform-b": ("contributor",),
    "platform-c": ("contributor",),
    "flagger": ("trusted_flagger",),
    "hotline": ("referrer",),  # an internet referral unit: contributes and reports, runs no matching
    "steward-1": ("steward",),
    "steward-2": ("steward",),
}


def signing_key(member: str) -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(b"due process test " + member.encode()).digest())


def membership(window_ms: int = WINDOW, **overrides: Member) -> Membership:
    members = [
        Member(
            name, name.title(), (MemberKey(signing_key(name).public),), roles, contact=f"tns@{name}.example"
        )
        for name, roles in ROLES.items()
    ]
    found = Membership.from_members(CONSORTIUM, [overrides.get(m.member_id, m) for m in members])
    found.decision_window_ms = window_ms
    return found


@dataclass
class Clock:
    now: int = T0

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


def record(value: str = PDQ, label: str = LABEL) -> HashRecord:
    return HashRecord.create(
        signal_type_name="pdq",
        value_hex=value,
        quality=100,
        labels=[label],
        taxonomy=Taxonomy.default(),
        min_pdq_quality=50,
    )


def query(value: str = PDQ, content_ref: str = "") -> Query:
    return Query("pdq", bytes.fromhex(value), content_ref)


@dataclass
class Consortium:
    """In-process nodes of one consortium, each with its own store, policy and the shared clock."""

    root: Path
    clock: Clock = field(default_factory=Clock)
    members: Membership = field(default_factory=membership)
    nodes: dict[str, Ledger] = field(default_factory=dict)

    def open(
        self, member: str, *, policy: PolicyConfig | None = None, retention_ms: int | None = None
    ) -> Ledger:
        settings = LedgerSettings(CONSORTIUM, member, policy=policy or PolicyConfig(), map_size=1 << 26)
        if retention_ms is not None:
            settings = replace(settings, match_log_retention_ms=retention_ms)
        ledger = Ledger.open(
            self.root / member,
            settings=settings,
            membership=self.members,
            signer=signing_key(member),
            taxonomy=Taxonomy.default(),
            clock=self.clock,
        )
        self.nodes[member] = ledger
        return ledger

    def close(self) -> None:
        for ledger in self.nodes.values():
            ledger.close()
        self.nodes.clear()

    def deliver(self, source: str, target: str, authors: tuple[str, ...] = ()) -> int:
        """Commits on `target` every entry `source` holds that `target` lacks (of `authors` only, when
        given), each author's log in order; returns how many."""
        src, dst = self.nodes[source], self.nodes[target]
        with src.store.read() as txn, dst.store.read() as have:
            heads = src.store.heads(txn)
            missing = []
            for author, head in sorted(heads.items()):
                if authors and author not in authors:
                    continue
                mine = dst.store.head(have, author)
                missing += list(src.store.log(txn, author, (mine.seq if mine else 0) + 1, head.seq))
        if missing:
            dst.commit_entries(missing)
        return len(missing)

    def sync(self) -> None:
        """Every node gets every entry (two rounds reach everyone from everyone)."""
        for _ in range(2):
            for source in self.nodes:
                for target in self.nodes:
                    if source != target:
                        self.deliver(source, target)

    def matches(self, member: str, value: str = PDQ, content_ref: str = "") -> list[bytes]:
        [hits] = self.nodes[member].match([query(value, content_ref)])
        return [hit.record_id for hit in hits]


@contextmanager
def consortium(root: Path, **fields: object) -> Iterator[Consortium]:
    opened = Consortium(root, **fields)  # type: ignore[arg-type]
    try:
        yield opened
    finally:
        opened.close()
