"""The operator's commands against a running node: roster, publish, peers, sync, policy, evidence, purge,
backup, health, and bootstrap's refusals. Plus the credentials every command takes (--token-file, --ca)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import EXAMPLE_KEYS, Cli, NodeFactory, RunningNode, tls_config

from node.core.keys import SigningKey
from node.membership.roster import RosterDraft, SignedRoster
from testkit.consortium import example_config

ROSTER = EXAMPLE_KEYS / "roster.json"


def next_roster(tmp_path: Path, stewards: tuple[str, ...]) -> Path:
    """Version 2 of the example roster suspending platform-c, signed by `stewards`."""
    current = SignedRoster.load(ROSTER).roster
    draft = RosterDraft.next_version(current, expires_ms=current.expires_ms)
    draft.suspend("platform-c")
    signed = SignedRoster.unsigned(draft.build())
    for steward in stewards:
        signed = signed.sign(SigningKey.load(EXAMPLE_KEYS / f"{steward}.key"))
    path = tmp_path / f"v2-{len(stewards)}.json"
    signed.save(path)
    return path


def test_roster_show_and_save(node: RunningNode, cli: Cli, tmp_path: Path) -> None:
    shown = json.loads(cli("admin", "roster", "--target", node.admin_target, "--json").out)
    assert (shown["version"], shown["consortium_id"], shown["expired"]) == (1, "example-consortium", False)
    assert cli("admin", "roster", "--target", node.admin_target, "--out", tmp_path / "r.json").code == 0
    assert SignedRoster.load(tmp_path / "r.json").roster_id == SignedRoster.load(ROSTER).roster_id


def test_publish_verifies_before_anything_changes(node: RunningNode, cli: Cli, tmp_path: Path) -> None:
    refused = cli("admin", "publish", next_roster(tmp_path, ("steward-1",)), "--target", node.admin_target)
    assert refused.code == 1
    assert (
        "INVALID_ARGUMENT: roster version 2: signed by 1 of the trusted stewards (version 1), want 2"
        in refused.err
    )
    signed = next_roster(tmp_path, ("steward-1", "steward-2"))
    published = cli("admin", "publish", signed, "--target", node.admin_target)
    assert published.code == 0 and "now trusts roster version 2" in published.out
    again = cli("admin", "publish", signed, "--target", node.admin_target)
    assert "already trusted roster version 2" in again.out
    assert node.ledger.membership.get("platform-c").status == "suspended"  # type: ignore[union-attr]


def test_peers_add_list_remove(node: RunningNode, cli: Cli) -> None:
    admin = ("--target", node.admin_target)
    assert cli("admin", "peers", "add", "platform-b", "127.0.0.1:9", *admin).code == 0
    listed = json.loads(cli("admin", "peers", *admin, "--json").out)
    assert [(p["name"], p["address"], p["source"]) for p in listed] == [("platform-b", "127.0.0.1:9", "admin")]
    twice = cli("admin", "peers", "add", "platform-b", "127.0.0.1:10", *admin)
    assert twice.code == 1 and "ALREADY_EXISTS" in twice.err
    bad = cli("admin", "peers", "add", "platform-c", "nowhere", *admin)
    assert bad.code == 1 and "INVALID_ARGUMENT: address: got nowhere" in bad.err
    assert "sync started with 1 peer(s)" in cli("admin", "sync", *admin).out
    assert cli("admin", "peers", "remove", "platform-b", *admin).code == 0
    assert json.loads(cli("admin", "peers", *admin, "--json").out) == []
    missing = cli("admin", "peers", "remove", "platform-b", *admin)
    assert missing.code == 1 and "NOT_FOUND" in missing.err
    usage = cli("admin", "peers", "add", *admin)
    assert usage.code == 2 and "NAME: got nothing" in usage.err


def test_peers_reset_forgets_the_operators_changes(node: RunningNode, cli: Cli) -> None:
    admin = ("--target", node.admin_target)
    assert cli("admin", "peers", "add", "platform-c", "127.0.0.1:9", *admin).code == 0
    reset = cli("admin", "peers", "reset", "platform-c", *admin)
    assert reset.code == 0 and "the config and the roster decide again" in reset.out
    assert json.loads(cli("admin", "peers", *admin, "--json").out) == []
    again = cli("admin", "peers", "reset", "platform-c", *admin)
    assert again.code == 1 and "NOT_FOUND: name: the operator has not added or removed a peer" in again.err


def test_policy_evidence_purge_backup_and_health(node: RunningNode, cli: Cli, tmp_path: Path) -> None:
    admin = ("--target", node.admin_target)
    policy = json.loads(cli("admin", "policy", *admin).out)
    assert policy["matching"]["pdq_threshold"] == 31 and policy["membership"]["steward_threshold"] == 2
    assert "no fork evidence" in cli("admin", "evidence", *admin).out
    purge = cli("admin", "purge-member", "platform-b", "--reason", "test", *admin)
    assert purge.code == 1 and "FAILED_PRECONDITION: member 'platform-b' is active" in purge.err
    backup = cli("admin", "backup", tmp_path / "backup", *admin)
    assert (
        backup.code == 0
        and "hashnode admin restore" in backup.out
        and (tmp_path / "backup" / "data.mdb").exists()
    )
    health = cli("health", *admin)
    assert (
        health.code == 0
        and "roster     version 1" in health.out
        and "peers      0 of 0 reachable" in health.out
    )


def test_a_secure_node_wants_its_tokens_and_its_certificate(
    node_factory: NodeFactory, cli: Cli, tmp_path: Path
) -> None:
    node = node_factory(tls_config(tmp_path / "data"))
    admin_token = EXAMPLE_KEYS / "platform-a.admin-token"
    missing = cli("stats", "--target", node.admin_target)
    assert missing.code == 1 and "UNAUTHENTICATED" in missing.err and "Traceback" not in missing.err
    assert cli("stats", "--target", node.admin_target, "--token-file", admin_token).code == 0
    client = ("--target", node.target, "--token-file", EXAMPLE_KEYS / "platform-a.client-token")
    plaintext = cli("match", *client, "--type", "md5", "0" * 32)
    assert plaintext.code == 1 and "UNAVAILABLE" in plaintext.err  # a TLS server, a plaintext client
    assert cli("match", *client, "--ca", EXAMPLE_KEYS / "platform-a.crt", "--type", "md5", "0" * 32).code == 0
    wrong = cli(
        "match",
        *client[:2],
        "--token-file",
        admin_token,
        "--ca",
        EXAMPLE_KEYS / "platform-a.crt",
        "--type",
        "md5",
        "0" * 32,
    )
    assert wrong.code == 1 and "UNAUTHENTICATED" in wrong.err


def test_bootstrap_refuses_a_roster_that_is_not_the_pinned_one_and_writes_nothing(
    cli: Cli, tmp_path: Path
) -> None:
    config = example_config(tmp_path, "platform-a")
    text = config.read_text().replace(str(tmp_path / "data" / "platform-a"), str(tmp_path / "data"))
    config.write_text(text.replace("roster_id = ", "# roster_id = "))
    wrong = cli("bootstrap", "--config", config, "--peer", "127.0.0.1:9", "--roster-id", "ab" * 32)
    assert (
        wrong.code == 1
        and f"root roster: id {SignedRoster.load(ROSTER).roster_id.hex()}, want {'ab' * 32}" in wrong.err
    )
    malformed = cli("bootstrap", "--config", config, "--peer", "127.0.0.1:9", "--roster-id", "xyz")
    assert malformed.code == 2 and "--roster-id: got xyz" in malformed.err
    assert not (tmp_path / "data").exists()
    unreachable = cli(
        "bootstrap",
        "--config",
        config,
        "--peer",
        "127.0.0.1:9",
        "--roster-id",
        SignedRoster.load(ROSTER).roster_id.hex(),
    )
    assert unreachable.code == 1 and "UNAVAILABLE" in unreachable.err and "Traceback" not in unreachable.err


def test_the_due_process_policy_is_set_by_a_signed_roster_version(
    node: RunningNode, cli: Cli, tmp_path: Path
) -> None:
    draft = tmp_path / "policy.json"
    made = cli(
        "admin", "due-process", "--roster", ROSTER, "--out", draft, "--decision-window-hours", "0.5",
        "--steward-quorum", "2", "--dispute-quorum", "2", "--quarantine", "withhold",
    )
    assert made.code == 0, made.err
    assert "decision_window_hours 0.5, steward_quorum 2, dispute_quorum 2" in made.out
    for steward in ("steward-1", "steward-3"):
        assert cli("admin", "sign", draft, "--key", EXAMPLE_KEYS / f"{steward}.key").code == 0
    shown = json.loads(cli("admin", "show", draft, "--roster", ROSTER, "--json").out)
    assert shown["ready"] and shown["due_process"]["quarantine"] == "withhold"
    assert cli("admin", "publish", draft, "--target", node.admin_target).code == 0
    policy = node.ledger.membership.policy
    assert (policy.decision_window_ms, policy.steward_quorum, policy.dispute_quorum) == (1_800_000, 2, 2)
    assert policy.quarantine.label == "withhold"


def test_a_steward_quorum_above_the_stewards_exits_2(cli: Cli, tmp_path: Path) -> None:
    done = cli("admin", "due-process", "--roster", ROSTER, "--out", tmp_path / "d.json", "--steward-quorum", "4")
    assert (done.code, done.out) == (2, "")
    assert "--steward-quorum: got 4, want 1..3 (the stewards)" in done.err
    assert not (tmp_path / "d.json").exists()


def test_probe_exits_0_for_a_serving_node_and_1_for_no_answer(node: RunningNode, cli: Cli) -> None:
    serving = cli("probe", "--target", node.admin_target)
    assert serving.code == 0 and serving.out == f"{node.admin_target}: SERVING\n"
    on_client_listener = cli("probe", "--target", node.target, "--service", "hashnode.v1.HashNode")
    assert on_client_listener.code == 0
    nobody = cli("probe", "--target", "127.0.0.1:9", "--timeout", "2")
    assert nobody.code == 1 and "127.0.0.1:9: no answer (UNAVAILABLE" in nobody.out
