"""Roles are enforced everywhere a record enters (issue 12, item 1).

One table (`node.membership.authorship`) says which roles may author which entry kind. The node's own authoring
refuses before signing (PERMISSION_DENIED, "roles: got X, want Y"), and the receipt rules refuse a peer's entry
(R5, `not_authorized`), counted by reason in `GetReplicationState` and the metrics. The process tests run an
observer's node and a steward's node as `hashnode serve` processes: their operators try every client path
(Submit, import, Retract, Opine, Appeal, Decide), and entries they signed anyway (written straight into their
stores) are fetched and refused by a contributor's node.
"""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request
from dataclasses import replace
from pathlib import Path

import grpc
import pytest

from node.api.gen.hashnode.v1 import admin_pb2, client_pb2, client_pb2_grpc, types_pb2
from node.cli.serve_cmd import PACKAGE_ROOT, NodeProcess
from node.core.entry import ZERO_ID, Entry, EntryKind, sign_entry
from node.core.keys import SigningKey
from node.core.records import HashRecord
from node.dueprocess.items import AppealItem, DecidedAs, DecisionItem, OpinionItem, Outcome, Stance
from node.membership import authorship
from node.membership.members import Member, MemberKey, Membership
from node.replication.validate import Apply, Reject, RejectReason, classify
from testkit.consortium import eventually
from tests.consortium_helpers import NOW, genesis
from tests.replication_helpers import CONSORTIUM, T0, open_ledger, plant_entries, sign_chain, write_process_config

LABEL = "tvec.propaganda"
KINDS = [EntryKind.CONTRIBUTION, EntryKind.RETRACTION, EntryKind.OPINION, EntryKind.APPEAL, EntryKind.DECISION]


# --- the table ----------------------------------------------------------------------------------------------


ALLOWED = {
    "contributor": set(KINDS),
    "trusted_flagger": set(KINDS),
    "observer": set(),
    "steward": {EntryKind.DECISION},
}


@pytest.mark.parametrize("role", sorted(ALLOWED))
@pytest.mark.parametrize("kind", [*KINDS, 6], ids=[*(k.label for k in KINDS), "reserved-6"])
def test_the_table_says_which_role_authors_which_kind(role: str, kind: int) -> None:
    from node.membership import authorship  # imported here: the other tests run against any version

    member = Member("m", "M", (MemberKey(SigningKey.from_seed(b"\x01" * 32).public),), roles=(role,))
    allowed = kind in ALLOWED[role] or (kind == 6 and role in ("contributor", "trusted_flagger"))
    why = authorship.refusal(member, kind)
    assert (why is None) == allowed, why
    if why is not None:
        assert why.startswith(f"roles: got {role} for 'm', want one of ")


# --- the receipt rules, pure --------------------------------------------------------------------------------


def _membership(roles: tuple[str, ...]) -> tuple[Membership, SigningKey]:
    signer = SigningKey.from_seed(b"\x02" * 32)
    member = Member("alice", "Alice", (MemberKey(signer.public),), roles=roles)
    return Membership.from_members(CONSORTIUM, [member]), signer


def _entry(signer: SigningKey, kind: EntryKind, author: str = "alice") -> Entry:
    return sign_entry(
        signer, consortium_id=CONSORTIUM, author=author, seq=1, prev=ZERO_ID, timestamp_ms=T0, kind=kind,
        items=[b"\x00" * 40],
    )


@pytest.mark.parametrize("roles", [("observer",), ("steward",)], ids=["observer", "steward"])
@pytest.mark.parametrize("kind", KINDS, ids=[k.label for k in KINDS])
def test_receipt_rule_r5_refuses_a_role_that_may_not_author_the_kind(
    roles: tuple[str, ...], kind: EntryKind
) -> None:
    membership, signer = _membership(roles)
    verdict = classify(
        _entry(signer, kind), consortium_id=CONSORTIUM, membership=membership, head=None, existing_at_seq=None,
        now_ms=T0,
    )
    if kind == EntryKind.DECISION and roles == ("steward",):
        assert isinstance(verdict, Apply)  # stewards decide appeals; due process checks the rest
    else:
        assert isinstance(verdict, Reject) and verdict.reason is RejectReason.NOT_AUTHORIZED, verdict
        assert "roles: got" in verdict.detail


def test_a_role_change_in_a_newer_roster_lets_the_refused_entries_in(tmp_path: Path) -> None:
    """Refused before the signature check, so nothing is stuck: the next pull after the roster change applies
    the same entries (every node decides by the roster it trusts; they converge with the roster)."""
    observer, signer = _membership(("observer",))
    ledger = open_ledger(tmp_path, observer, "bob")
    try:
        from node.ledger.replica import Replica

        replica = Replica(ledger)
        entries = [_signed_chain(signer)]
        outcome = replica.receive(entries)
        assert [r.reason for r in outcome.rejected] == [RejectReason.NOT_AUTHORIZED]
        assert replica.rejected[RejectReason.NOT_AUTHORIZED] == 1 and ledger.stats()["records"] == 0
        contributor = Membership.from_members(
            CONSORTIUM, [replace(m, roles=("contributor",)) for m in observer]
        )
        replica.update_membership(contributor)
        assert replica.receive(entries).applied == entries
    finally:
        ledger.close()


def _signed_chain(signer: SigningKey) -> Entry:
    item = HashRecord("md5", b"\x07" * 16, 0, (LABEL,)).encode()
    return sign_entry(
        signer, consortium_id=CONSORTIUM, author="alice", seq=1, prev=ZERO_ID, timestamp_ms=T0 + 1000,
        kind=EntryKind.CONTRIBUTION, items=[item],
    )


def test_the_reference_model_and_the_store_agree_on_refusals(tmp_path: Path) -> None:
    from node.ledger.replica import Replica
    from node.replication.reconcile import LogSet

    observer, signer = _membership(("observer",))
    entry = _signed_chain(signer)
    model = LogSet(CONSORTIUM, observer)
    ledger = open_ledger(tmp_path, observer, "bob")
    try:
        stored = Replica(ledger).receive([entry])
        modelled = model.receive([entry], now_ms=T0 + 5000)
        assert [r.reason for r in stored.rejected] == [r.reason for r in modelled.rejected] == [
            RejectReason.NOT_AUTHORIZED
        ]
    finally:
        ledger.close()


def test_an_observers_own_ledger_signs_nothing(tmp_path: Path) -> None:
    from node.core.errors import PermissionDenied

    observer, signer = _membership(("observer",))
    ledger = open_ledger(tmp_path, observer, "alice", signer=signer)
    try:
        with pytest.raises(PermissionDenied, match=r"roles: got observer for 'alice'.*contribution"):
            ledger.submit([HashRecord("md5", b"\x07" * 16, 0, (LABEL,))])
        with ledger.store.read() as txn:
            assert ledger.store.head(txn, "alice") is None
    finally:
        ledger.close()


# --- real processes -----------------------------------------------------------------------------------------


SEEDS = {"contrib": 0x51, "watcher": 0x52, "guardian": 0x53}
ROLES = {"contrib": ("contributor",), "watcher": ("observer",), "guardian": ("steward",)}


def _key(member: str) -> SigningKey:
    return SigningKey.from_seed(bytes([SEEDS[member]]) * 32)


def _write_consortium(directory: Path) -> Path:
    members = [
        # RosterMember via the helper's genesis: keys only, roles as given; insecure mode needs no TLS.
        __import__("node.membership.roster", fromlist=["RosterMember"]).RosterMember(
            member_id=m, organisation=m.title(), keys=(MemberKey(_key(m).public),), roles=ROLES[m]
        )
        for m in SEEDS
    ]
    roster = directory / "roster.json"
    genesis("roles-test", members).save(roster)
    for m in SEEDS:
        _key(m).save(directory / f"{m}.key")
    return roster






def _crafted(member: str) -> list[Entry]:
    """A chain `member` signed outside the node: a contribution, then an opinion, an appeal and a decision."""
    record = HashRecord("md5", bytes([SEEDS[member]]) * 16, 0, (LABEL,))
    rid = b"\x09" * 32
    items = [
        (EntryKind.CONTRIBUTION, record.encode()),
        (EntryKind.OPINION, OpinionItem.create(rid, Stance.FALSE_POSITIVE, "", "").encode()),
        (EntryKind.APPEAL, AppealItem.create(rid, "case-1", None).encode()),
        (
            EntryKind.DECISION,
            DecisionItem.create(rid, b"\x08" * 32, Outcome.OVERTURNED, "", DecidedAs.STEWARD).encode(),
        ),
    ]
    return sign_chain(_key(member), "roles-test", member, items, NOW - 60_000)


def _metrics(process: NodeProcess, log: Path) -> str:
    found = re.search(r"metrics on http://(\S+)/metrics", log.read_text(encoding="utf-8"))
    assert found, "the node logs its metrics address"
    with urllib.request.urlopen(f"http://{found[1]}/metrics", timeout=5) as response:
        return str(response.read().decode())


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Three real nodes: contrib (contributor) pulls from watcher (observer) and guardian (steward), whose
    stores hold entries their members signed outside the node's checks."""
    directory = tmp_path_factory.mktemp("roles")
    _write_consortium(directory)
    from testkit.consortium import free_port

    ports = {m: free_port() for m in SEEDS}
    for member in SEEDS:
        peers = {} if member != "contrib" else {m: f"127.0.0.1:{ports[m]}" for m in ("watcher", "guardian")}
        if member != "contrib":
            peers = {"contrib": f"127.0.0.1:{ports['contrib']}"}
        write_process_config(directory, member, peers, ports[member])
    for member in ("watcher", "guardian"):
        plant_entries(directory, member, _crafted(member))
    nodes = {}
    try:
        for member in SEEDS:
            nodes[member] = NodeProcess.start(directory / f"{member}.toml", directory / f"{member}.log")
        yield directory, nodes
    finally:
        for process in nodes.values():
            process.stop()


def _stub(process: NodeProcess) -> client_pb2_grpc.HashNodeStub:
    return client_pb2_grpc.HashNodeStub(grpc.insecure_channel(process.target))


def _admin(process: NodeProcess):  # type: ignore[no-untyped-def]
    from node.api.gen.hashnode.v1 import admin_pb2_grpc

    return admin_pb2_grpc.AdminStub(grpc.insecure_channel(process.admin_address))


def _md5_record(value: str) -> types_pb2.HashRecord:
    return types_pb2.HashRecord(signal_type="md5", value=value, labels=[LABEL])


def _denied(call, request, role: str, kind: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as raised:
        call(request, timeout=10)
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED, raised.value.details()
    assert f"roles: got {role}" in raised.value.details() and kind in raised.value.details()


@pytest.mark.slow
def test_observer_and_steward_nodes_sign_nothing_through_the_client_api(consortium) -> None:  # type: ignore[no-untyped-def]
    directory, nodes = consortium
    contrib = _stub(nodes["contrib"])
    eventually(
        lambda: not _admin(nodes["contrib"]).GetReplicationState(admin_pb2.ReplicationStateRequest(), timeout=5)
        .authoring_blocked_reason,
        "contrib may author (it compared its log with a peer's)",
    )
    submitted = contrib.Submit(client_pb2.SubmitRequest(records=[_md5_record("ab" * 16)]), timeout=10)
    rid = submitted.record_ids[0]
    appeal = contrib.Appeal(client_pb2.AppealRequest(record_id=rid, case_ref="case-7"), timeout=10)
    for member, role in (("watcher", "observer"), ("guardian", "steward")):
        stub = _stub(nodes[member])
        eventually(
            lambda member=member: _admin(nodes[member]).GetStats(admin_pb2.StatsRequest(), timeout=5).entries >= 6,
            f"{member} replicated contrib's entries",
        )
        _denied(stub.Submit, client_pb2.SubmitRequest(records=[_md5_record("cd" * 16)]), role, "contribution")
        _denied(stub.Retract, client_pb2.RetractRequest(record_ids=[rid], reason="x"), role, "retraction")
        opinion = client_pb2.OpineRequest(record_id=rid, stance=client_pb2.STANCE_DISAGREE)
        _denied(stub.Opine, opinion, role, "opinion")
        _denied(stub.Appeal, client_pb2.AppealRequest(record_id=rid, case_ref="case-8"), role, "appeal")
        lines = directory / f"{member}-import.csv"
        lines.write_text(f"signal_type,value,labels\nmd5,{'ef' * 16},{LABEL}\n", encoding="utf-8")
        imported = subprocess.run(
            [sys.executable, "-m", "node.cli.main", "import", str(lines), "--target", nodes[member].target],
            capture_output=True, text=True, timeout=60, env={"PYTHONPATH": str(PACKAGE_ROOT), "PATH": "/usr/bin"},
        )
        assert imported.returncode == 1, imported
        assert "roles: got" in imported.stdout + imported.stderr and "Traceback" not in imported.stderr
    # The observer may not decide; the steward may (after the contributor's window: too early here).
    decide = client_pb2.DecideRequest(appeal_entry_id=appeal.entry_id, outcome=client_pb2.OUTCOME_OVERTURNED)
    with pytest.raises(grpc.RpcError) as raised:
        _stub(nodes["watcher"]).Decide(decide, timeout=10)
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED and "roles: got observer" in raised.value.details()
    with pytest.raises(grpc.RpcError) as raised:
        _stub(nodes["guardian"]).Decide(decide, timeout=10)
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION, raised.value.details()  # the window
    for member in ("watcher", "guardian"):
        state = _admin(nodes[member]).GetReplicationState(admin_pb2.ReplicationStateRequest(), timeout=5)
        heads = {h.author: h.seq for h in state.heads}
        assert heads[member] == 4  # only the planted entries: nothing was signed through the API


@pytest.mark.slow
def test_health_says_an_observer_never_authors(consortium) -> None:  # type: ignore[no-untyped-def]
    _, nodes = consortium
    said = {}
    for member in ("watcher", "guardian"):
        health = subprocess.run(
            [sys.executable, "-m", "node.cli.main", "health", "--target", nodes[member].admin_address],
            capture_output=True, text=True, timeout=60, env={"PYTHONPATH": str(PACKAGE_ROOT), "PATH": "/usr/bin"},
        )  # fmt: skip
        said[member] = [line for line in health.stdout.splitlines() if line.startswith("  authoring")]
    assert said["watcher"] == ["  authoring  no (role observer may not contribute)"]
    assert len(said["guardian"]) == 1 and "may not contribute" not in said["guardian"][0]  # it may decide


@pytest.mark.parametrize(
    ("roles", "said"),
    [
        (("observer",), "role observer may not contribute"),
        ((), "role none may not contribute"),
        (("steward",), None),
        (("contributor",), None),
        (("observer", "referrer"), None),
    ],
)
def test_authors_nothing_names_the_roles_that_author_no_kind(roles: tuple[str, ...], said: str | None) -> None:
    assert authorship.authors_nothing(roles) == said


@pytest.mark.slow
def test_entries_an_observer_or_steward_signed_are_refused_when_fetched(consortium) -> None:  # type: ignore[no-untyped-def]
    directory, nodes = consortium
    admin = _admin(nodes["contrib"])

    def refused() -> int:
        state = admin.GetReplicationState(admin_pb2.ReplicationStateRequest(), timeout=5)
        return sum(c.count for c in state.rejected if c.key == "not_authorized")

    eventually(lambda: refused() >= 2, "contrib refused the observer's and the steward's first entries")
    state = admin.GetReplicationState(admin_pb2.ReplicationStateRequest(), timeout=5)
    assert {h.author for h in state.heads} <= {"contrib"}, state.heads
    queries = [client_pb2.HashQuery(signal_type="md5", value=f"{SEEDS[m]:02x}" * 16) for m in ("watcher", "guardian")]
    match = _stub(nodes["contrib"]).Match(client_pb2.MatchRequest(queries=queries), timeout=10)
    assert [len(r.matches) for r in match.results] == [0, 0]
    scraped = _metrics(nodes["contrib"], directory / "contrib.log")
    assert re.search(r'hashnode_replication_rejected_total\{reason="not_authorized"\} [1-9]', scraped), scraped
