"""The roster in the node: the chain kept in LMDB from a pinned root, and what a new version changes.

In process, over real LMDB: the node trusts a pinned root, replays its stored chain on restart and refuses a
store of another chain; a published version reaches the ledger, the replica and the TLS trust set; a revoked
member's later entries are refused, its earlier ones stay valid and are flagged; a node whose own member is
revoked stops authoring; a purge withholds a revoked member's records; log keys and TLS certificates rotate
with an overlap without breaking older entries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from consortium_helpers import DAY, NOW, STEWARDS, MemberSecrets, genesis, next_version, sign

from node.core.entry import ZERO_ID, Entry, EntryKind, sign_entry
from node.core.errors import FailedPrecondition, NotFound, StorageError
from node.core.keys import SigningKey
from node.core.records import HashRecord, record_id
from node.ledger.consortium import Consortium
from node.ledger.ledger import Ledger, Query
from node.ledger.replica import Replica
from node.ledger.revocation import purge_member
from node.membership import certificates
from node.membership.roster import PinnedRosterMismatchError, SignedRoster, ThresholdError
from node.provenance.bundle import verify_bundle
from node.replication.validate import RejectReason
from node.runtime.config import NodeConfig
from node.runtime.runtime import NodeRuntime, open_node

CONSORTIUM = "consortium-test"
LABEL = "tvec.propaganda"


@pytest.fixture(scope="module")
def people() -> dict[str, MemberSecrets]:
    return {name: MemberSecrets.make(name, 0x50 + i) for i, name in enumerate(("hub", "bob", "carol"))}


@pytest.fixture
def v1(people: dict[str, MemberSecrets], tmp_path: Path) -> Path:
    path = tmp_path / "roster.json"
    genesis(CONSORTIUM, [people["hub"].roster_member(), people["bob"].roster_member()]).save(path)
    return path


def config_for(
    tmp_path: Path, people: dict[str, MemberSecrets], roster: Path, **fields: object
) -> NodeConfig:
    keys = people["hub"].write(tmp_path / "keys")
    defaults: dict[str, object] = {
        "path": tmp_path / "node.toml",
        "member_id": "hub",
        "roster": roster,
        "signing_key": keys["key"],
        "data_dir": tmp_path / "data",
        "insecure": True,
    }
    return NodeConfig(**{**defaults, **fields})  # type: ignore[arg-type]


@pytest.fixture
def node(tmp_path: Path, people: dict[str, MemberSecrets], v1: Path) -> Iterator[NodeRuntime]:
    runtime = open_node(config_for(tmp_path, people, v1))
    yield runtime
    runtime.close()


def pdq(tag: str) -> bytes:
    return hashlib.sha256(tag.encode()).digest()


def entry(
    author: MemberSecrets, seq: int, prev: bytes, timestamp_ms: int, tag: str, key: SigningKey | None = None
) -> Entry:
    item = HashRecord("pdq", pdq(tag), 90, (LABEL,)).encode()
    return sign_entry(
        key or author.log_key,
        consortium_id=CONSORTIUM,
        author=author.member_id,
        seq=seq,
        prev=prev,
        timestamp_ms=timestamp_ms,
        kind=EntryKind.CONTRIBUTION,
        items=[item],
    )


def matches(runtime: NodeRuntime, tag: str) -> bool:
    return bool(runtime.ledger.match([Query("pdq", pdq(tag))], 0)[0])


def publish(runtime: NodeRuntime, signed: SignedRoster) -> None:
    assert runtime.consortium.submit(signed) is not None


# --- the chain in the store ------------------------------------------------------------------------------


def test_versions_are_stored_and_replayed_after_a_restart(
    tmp_path: Path, people: dict[str, MemberSecrets], v1: Path
) -> None:
    runtime = open_node(config_for(tmp_path, people, v1))
    draft = next_version(runtime.consortium.roster)
    draft.admit(people["carol"].join_request(CONSORTIUM))
    v2 = sign(draft.build())
    publish(runtime, v2)
    runtime.close()
    again = open_node(config_for(tmp_path, people, v1))
    try:
        assert again.consortium.roster.version == 2
        assert again.ledger.membership.get("carol") is not None
        assert [s.roster.version for s in again.consortium.since(0)] == [1, 2]
        assert again.consortium.since(1)[0].roster_bytes == v2.roster_bytes
    finally:
        again.close()


def test_a_restart_after_a_policy_relevant_version_evaluates_no_record(
    tmp_path: Path, people: dict[str, MemberSecrets], v1: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stored statuses follow the newest roster. Opening the ledger must not judge them under the root first:
    # with millions of records that is minutes of start-up, twice, and a status flip each way.
    runtime = open_node(config_for(tmp_path, people, v1))
    runtime.ledger.submit([HashRecord("pdq", pdq("kept"), 90, (LABEL,))])
    draft = next_version(runtime.consortium.roster)
    draft.set_roles("bob", ["contributor", "trusted_flagger"])  # trusted flaggers change verdicts
    publish(runtime, sign(draft.build()))
    runtime.close()
    evaluated: list[bytes] = []
    monkeypatch.setattr(Ledger, "refresh_standing", lambda self, txn, rid, delta: evaluated.append(rid))
    again = open_node(config_for(tmp_path, people, v1))
    try:
        assert again.consortium.roster.version == 2
        assert evaluated == []
        assert matches(again, "kept")
    finally:
        again.close()


def test_a_store_of_another_chain_is_refused(
    tmp_path: Path, people: dict[str, MemberSecrets], v1: Path
) -> None:
    open_node(config_for(tmp_path, people, v1)).close()
    other = tmp_path / "other.json"
    genesis(CONSORTIUM, [people["hub"].roster_member()]).save(other)  # same consortium, other bytes
    with pytest.raises(StorageError, match="belongs to another chain"):
        open_node(config_for(tmp_path, people, other))


def test_a_tampered_stored_version_is_refused_at_start(
    tmp_path: Path, people: dict[str, MemberSecrets], v1: Path
) -> None:
    runtime = open_node(config_for(tmp_path, people, v1))
    draft = next_version(runtime.consortium.roster)
    draft.suspend("bob")
    unsigned_enough = sign(draft.build(), STEWARDS[:1])  # one steward: below the threshold of two
    with runtime.ledger.store.write() as txn:
        runtime.ledger.store.put_roster(txn, 2, unsigned_enough.to_json().encode())
    runtime.close()
    with pytest.raises(StorageError, match="stored roster version 2 no longer verifies"):
        open_node(config_for(tmp_path, people, v1))


def test_a_later_root_needs_its_pin_and_the_store_remembers_it(
    tmp_path: Path, people: dict[str, MemberSecrets], v1: Path
) -> None:
    current = SignedRoster.load(v1).roster
    draft = next_version(current)
    draft.suspend("bob")
    v2 = sign(draft.build())
    v2_file = tmp_path / "v2.json"
    v2.save(v2_file)
    with pytest.raises(PinnedRosterMismatchError, match="want 1"):
        open_node(config_for(tmp_path, people, v2_file))
    with pytest.raises(PinnedRosterMismatchError, match="id"):
        open_node(config_for(tmp_path, people, v2_file, roster_id=bytes(32)))
    open_node(config_for(tmp_path, people, v2_file, roster_id=v2.roster_id)).close()
    remembered = open_node(config_for(tmp_path, people, v2_file))  # no pin in the config: the store's
    assert remembered.consortium.roster.version == 2
    remembered.close()


def test_an_under_signed_version_changes_nothing(node: NodeRuntime) -> None:
    draft = next_version(node.consortium.roster)
    draft.suspend("bob")
    with pytest.raises(ThresholdError):
        node.consortium.submit(sign(draft.build(), STEWARDS[:1]))
    assert node.consortium.roster.version == 1
    assert [s.roster.version for s in node.consortium.since(0)] == [1]


# --- what a version changes ------------------------------------------------------------------------------


def test_a_published_version_reaches_the_trust_set_and_the_replica(
    node: NodeRuntime, people: dict[str, MemberSecrets]
) -> None:
    replica = Replica(node.ledger)
    node.consortium.on_change(lambda change: replica.update_membership(change.current.membership()))
    carol = people["carol"]
    early = entry(carol, 1, ZERO_ID, NOW - 1000, "carol-1")
    assert replica.receive([early]).pending == 1  # unknown author: held, not dropped
    assert node.consortium.trust.get().member_for(carol.identity.fingerprint, NOW) is None
    draft = next_version(node.consortium.roster)
    draft.admit(carol.join_request(CONSORTIUM, NOW - 5000))
    publish(node, sign(draft.build()))
    assert node.consortium.trust.get().member_for(carol.identity.fingerprint, NOW) == "carol"
    assert matches(node, "carol-1") and replica.pending_count() == 0


def test_revocation_refuses_later_entries_keeps_earlier_ones_and_flags_them(
    node: NodeRuntime, people: dict[str, MemberSecrets]
) -> None:
    bob = people["bob"]
    replica = Replica(node.ledger)
    node.consortium.on_change(lambda change: replica.update_membership(change.current.membership()))
    first = entry(bob, 1, ZERO_ID, NOW - 3000, "before")
    second = entry(bob, 2, first.entry_id, NOW - 1000, "after-but-already-stored")
    assert len(replica.receive([first, second]).applied) == 2
    cutoff = NOW - 2000
    draft = next_version(node.consortium.roster)
    draft.revoke("bob", cutoff)
    publish(node, sign(draft.build()))

    assert matches(node, "before") and not matches(node, "after-but-already-stored")  # withheld on revocation
    third = entry(bob, 3, second.entry_id, NOW, "later")
    outcome = replica.receive([third])
    assert [r.reason for r in outcome.rejected] == [RejectReason.REVOKED_AUTHOR] and not matches(
        node, "later"
    )
    assert node.consortium.trust.get().member_for(bob.identity.fingerprint, NOW) is None  # TLS refused

    bundle = node.ledger.provenance(record_id(first.entry_id, 0))
    verified = verify_bundle(bundle, trusted=node.ledger.membership)
    assert verified.notes[0].startswith("contributor bob revoked at roster version 2")
    after = node.ledger.provenance(record_id(second.entry_id, 0))
    with pytest.raises(Exception, match="revocation cutoff"):
        verify_bundle(after, trusted=node.ledger.membership)


def test_a_node_whose_member_is_revoked_stops_authoring(node: NodeRuntime) -> None:
    node.ledger.submit([HashRecord("pdq", pdq("mine"), 90, (LABEL,))])
    draft = next_version(node.consortium.roster)
    draft.revoke("hub", NOW)
    publish(node, sign(draft.build()))
    with pytest.raises(
        FailedPrecondition, match="authoring stopped: member 'hub' is revoked in roster version 2"
    ):
        node.ledger.submit([HashRecord("pdq", pdq("more"), 90, (LABEL,))])


def test_suspension_pauses_authoring_and_reinstatement_resumes_it(node: NodeRuntime) -> None:
    draft = next_version(node.consortium.roster)
    draft.suspend("hub")
    publish(node, sign(draft.build()))
    with pytest.raises(FailedPrecondition, match="suspended"):
        node.ledger.submit([HashRecord("pdq", pdq("paused"), 90, (LABEL,))])
    draft = next_version(node.consortium.roster)
    draft.reinstate("hub")
    publish(node, sign(draft.build()))
    node.ledger.submit([HashRecord("pdq", pdq("resumed"), 90, (LABEL,))])


def test_purge_withholds_every_record_of_a_revoked_member_including_late_ones(
    node: NodeRuntime, people: dict[str, MemberSecrets]
) -> None:
    bob = people["bob"]
    replica = Replica(node.ledger)
    first = entry(bob, 1, ZERO_ID, NOW - 5000, "one")
    second = entry(bob, 2, first.entry_id, NOW - 4000, "two")
    replica.receive([first])
    with pytest.raises(FailedPrecondition, match="is active; the stewards revoke a member before"):
        purge_member(node.ledger, node.consortium, "bob", "case 7")
    with pytest.raises(NotFound):
        purge_member(node.ledger, node.consortium, "nobody", "")
    draft = next_version(node.consortium.roster)
    draft.revoke("bob", NOW - 1000)
    publish(node, sign(draft.build()))
    replica.update_membership(node.consortium.membership())
    assert matches(node, "one")
    assert purge_member(node.ledger, node.consortium, "bob", "steward decision 12") == 1
    node.purge_guard.add("bob")
    assert not matches(node, "one")
    replica.receive([second])  # signed before the cutoff, arriving after the purge
    assert not matches(node, "two")


# --- rotation ----------------------------------------------------------------------------------------------


def test_log_key_rotation_keeps_older_entries_valid(
    node: NodeRuntime, people: dict[str, MemberSecrets]
) -> None:
    bob = people["bob"]
    replica = Replica(node.ledger)
    node.consortium.on_change(lambda change: replica.update_membership(change.current.membership()))
    old = entry(bob, 1, ZERO_ID, NOW - 10 * DAY, "old-key")
    replica.receive([old])
    new_key = SigningKey.from_seed(b"\x99" * 32)
    draft = next_version(node.consortium.roster)
    draft.rotate_key("bob", new_key.public, valid_from_ms=NOW - DAY, overlap_until_ms=NOW)
    publish(node, sign(draft.build()))

    overlap = entry(bob, 2, old.entry_id, NOW - DAY // 2, "old-key-in-overlap")
    rotated = entry(bob, 3, overlap.entry_id, NOW + 1, "new-key", key=new_key)
    stale = entry(bob, 4, rotated.entry_id, NOW + 2, "old-key-too-late")
    outcome = replica.receive([overlap, rotated, stale])
    assert [e.entry_id for e in outcome.applied] == [overlap.entry_id, rotated.entry_id]
    assert [r.reason for r in outcome.rejected] == [RejectReason.KEY_NOT_VALID]
    for earlier in (old, overlap, rotated):
        bundle = node.ledger.provenance(record_id(earlier.entry_id, 0))
        assert verify_bundle(bundle, trusted=node.ledger.membership).status == "active"


def test_tls_rotation_accepts_both_certificates_during_the_overlap(
    node: NodeRuntime, people: dict[str, MemberSecrets]
) -> None:
    bob = people["bob"]
    renewed = certificates.generate_identity("bob", not_before_ms=NOW - DAY, not_after_ms=NOW + 30 * DAY)
    draft = next_version(node.consortium.roster)
    draft.rotate_tls("bob", renewed.certificate_der, valid_from_ms=NOW - 1, overlap_until_ms=NOW + DAY)
    publish(node, sign(draft.build()))
    trust = node.consortium.trust.get()
    assert trust.member_for(bob.identity.fingerprint, NOW) == "bob"
    assert trust.member_for(renewed.fingerprint, NOW) == "bob"
    assert trust.member_for(bob.identity.fingerprint, NOW + 2 * DAY) is None
    assert trust.member_for(renewed.fingerprint, NOW + 2 * DAY) == "bob"


def test_consortium_open_alone_pins_and_persists_the_root(tmp_path: Path, v1: Path) -> None:
    from node.storage.store import Store

    root = SignedRoster.load(v1)
    store = Store.open(tmp_path / "lmdb", consortium_id=CONSORTIUM)
    try:
        consortium = Consortium.open(store, root, pinned_id=root.roster_id)
        assert consortium.since(0)[0].roster_id == root.roster_id
        assert not consortium.expired() and consortium.roster.version == 1
    finally:
        store.close()


def test_the_trust_set_follows_certificate_windows_without_a_new_roster(
    tmp_path: Path, people: dict[str, MemberSecrets], v1: Path
) -> None:
    clock = [NOW]
    runtime = open_node(config_for(tmp_path, people, v1), clock=lambda: clock[0])
    try:
        bob = people["bob"]
        renewed = certificates.generate_identity("bob", not_before_ms=NOW - DAY, not_after_ms=NOW + 30 * DAY)
        draft = next_version(runtime.consortium.roster)
        draft.rotate_tls(
            "bob", renewed.certificate_der, valid_from_ms=NOW + DAY, overlap_until_ms=NOW + 2 * DAY
        )
        publish(runtime, sign(draft.build()))
        changed: list[bool] = []
        runtime.consortium.on_trust_change(lambda: changed.append(True))
        assert (
            runtime.consortium.trust.get().member_for(renewed.fingerprint, NOW + DAY) is None
        )  # not yet listed
        assert not runtime.consortium.refresh_trust() and changed == []
        clock[0] = NOW + DAY + 1
        assert runtime.consortium.refresh_trust() and changed == [True]
        trust = runtime.consortium.trust.get()
        assert trust.member_for(renewed.fingerprint, clock[0]) == "bob"
        assert trust.member_for(bob.identity.fingerprint, clock[0]) == "bob"  # still in the overlap
    finally:
        runtime.close()
