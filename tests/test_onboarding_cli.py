"""The onboarding and steward commands on files: join, admit, sign, merge, show, revoke, rotate-key, -tls.

What each writes, what it prints for a first-timer, and that wrong input is refused with one line and leaves
nothing behind. The example consortium's stewards (keys/example) sign.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import EXAMPLE_KEYS, Cli, NodeFactory

from node.membership.certificates import TlsIdentity
from node.membership.join import SignedJoinRequest
from node.membership.roster import MemberStatus, SignedRoster

ROSTER = EXAMPLE_KEYS / "roster.json"


@pytest.fixture
def joined(cli: Cli, tmp_path: Path) -> Path:
    out = tmp_path / "d"
    result = cli(
        "join",
        "--consortium",
        "example-consortium",
        "--member-id",
        "platform-d",
        "--organisation",
        "Platform D",
        "--contact",
        "trust@d.example",
        "--out",
        out,
    )
    assert result.code == 0, result.err
    return out


def test_join_writes_the_kit_and_says_what_to_confirm(joined: Path, cli: Cli) -> None:
    assert sorted(p.name for p in joined.iterdir()) == sorted(
        ["log.key", "tls.crt", "tls.key", "join-request.json", "client-token", "admin-token", "node.toml"]
    )
    for secret in ("log.key", "tls.key", "client-token", "admin-token"):
        assert (joined / secret).stat().st_mode & 0o777 == 0o600
    request = SignedJoinRequest.load(joined / "join-request.json").verify()
    identity = TlsIdentity.load(joined / "tls.crt", joined / "tls.key")
    assert (request.member_id, request.tls_fingerprint) == ("platform-d", identity.fingerprint)
    config = (joined / "node.toml").read_text()
    assert 'member_id = "platform-d"' in config and 'roster = "roster.json"' in config


def test_join_prints_the_key_id_the_fingerprint_and_next_steps(cli: Cli, tmp_path: Path) -> None:
    result = cli(
        "join",
        "--consortium",
        "c",
        "--member-id",
        "m1",
        "--organisation",
        "O",
        "--contact",
        "x",
        "--out",
        tmp_path / "m1",
    )
    request = SignedJoinRequest.load(tmp_path / "m1" / "join-request.json").request
    assert request.log_public_key.key_id.hex() in result.out and request.tls_fingerprint.hex() in result.out
    assert "hashnode bootstrap --config" in result.out and "on another channel" in result.out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--member-id", "Platform D"], "--member-id: got Platform D, want 1-64 characters"),
        (["--peer-listen", "nowhere"], "--peer-listen: got nowhere, want host:port"),
        (["--endpoint", "host-without-port"], "--endpoint: got host-without-port"),
        (["--role", "king"], "invalid choice: 'king'"),
    ],
    ids=["bad member id", "bad listen address", "bad endpoint", "unknown role"],
)
def test_join_refuses_bad_input_and_writes_nothing(
    cli: Cli, tmp_path: Path, argv: list[str], message: str
) -> None:
    base = {"--consortium": "c", "--member-id": "m1", "--organisation": "O", "--contact": "x"}
    base.update(dict(zip(argv[::2], argv[1::2], strict=True)))
    result = cli("join", *[x for pair in base.items() for x in pair], "--out", tmp_path / "out")
    assert result.code == 2 and message in result.err and "Traceback" not in result.err
    assert not (tmp_path / "out").exists()


def test_join_refuses_to_overwrite_a_kit(joined: Path, cli: Cli) -> None:
    before = (joined / "log.key").read_bytes()
    result = cli(
        "join",
        "--consortium",
        "c",
        "--member-id",
        "m2",
        "--organisation",
        "O",
        "--contact",
        "x",
        "--out",
        joined,
    )
    assert result.code == 2 and "already holds log.key" in result.err
    assert (joined / "log.key").read_bytes() == before


def test_admit_sign_show_until_ready(joined: Path, cli: Cli, tmp_path: Path) -> None:
    draft = tmp_path / "v2.json"
    admitted = cli("admin", "admit", joined / "join-request.json", "--roster", ROSTER, "--out", draft)
    assert admitted.code == 0, admitted.err
    assert "confirm the key id and the fingerprint" in admitted.out
    signed = cli("admin", "sign", draft, "--key", EXAMPLE_KEYS / "steward-1.key", "--roster", ROSTER)
    assert "1 of 2 needed" in signed.out and "not ready" in signed.out
    cli("admin", "sign", draft, "--key", EXAMPLE_KEYS / "steward-3.key")
    shown = cli("admin", "show", draft, "--roster", ROSTER)
    assert "ready to publish" in shown.out and "+ platform-d (Platform D) joins as contributor" in shown.out
    status = json.loads(cli("admin", "show", draft, "--roster", ROSTER, "--json").out)
    assert status["ready"] and sorted(status["signed_by"]) == ["steward-1", "steward-3"]
    roster = SignedRoster.load(draft).roster
    assert roster.version == 2 and roster.member("platform-d") is not None


def test_stewards_sign_copies_and_merge_them(joined: Path, cli: Cli, tmp_path: Path) -> None:
    draft = tmp_path / "v2.json"
    cli("admin", "admit", joined / "join-request.json", "--roster", ROSTER, "--out", draft)
    copies = []
    for steward in ("steward-1", "steward-2"):
        copy = tmp_path / f"{steward}.json"
        result = cli("admin", "sign", draft, "--key", EXAMPLE_KEYS / f"{steward}.key", "--out", copy)
        assert result.code == 0, result.err
        copies.append(copy)
    merged = cli("admin", "merge", *copies, "--out", tmp_path / "merged.json", "--roster", ROSTER)
    assert merged.code == 0 and "ready to publish" in merged.out
    assert SignedRoster.load(draft).signatures == ()  # the draft itself was left alone


def test_a_non_steward_cannot_sign(joined: Path, cli: Cli, tmp_path: Path) -> None:
    draft = tmp_path / "v2.json"
    cli("admin", "admit", joined / "join-request.json", "--roster", ROSTER, "--out", draft)
    before = draft.read_bytes()
    result = cli("admin", "sign", draft, "--key", EXAMPLE_KEYS / "platform-a.key")
    assert result.code == 1 and "not a steward key" in result.err and draft.read_bytes() == before


def test_admit_refuses_a_tampered_request_another_consortium_and_a_taken_id(
    joined: Path, cli: Cli, tmp_path: Path
) -> None:
    data = json.loads((joined / "join-request.json").read_text())
    data["signature"] = ("00" if data["signature"][:2] != "00" else "11") + data["signature"][2:]
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(data))
    result = cli("admin", "admit", tampered, "--roster", ROSTER, "--out", tmp_path / "x.json")
    assert result.code == 1 and "not signed by its log key" in result.err
    other = tmp_path / "other"
    cli(
        "join",
        "--consortium",
        "another",
        "--member-id",
        "m9",
        "--organisation",
        "O",
        "--contact",
        "x",
        "--out",
        other,
    )
    result = cli(
        "admin", "admit", other / "join-request.json", "--roster", ROSTER, "--out", tmp_path / "x.json"
    )
    assert result.code == 1 and "consortium 'another'" in result.err
    taken = tmp_path / "taken"
    cli(
        "join",
        "--consortium",
        "example-consortium",
        "--member-id",
        "platform-a",
        "--organisation",
        "O",
        "--contact",
        "x",
        "--out",
        taken,
    )
    result = cli(
        "admin", "admit", taken / "join-request.json", "--roster", ROSTER, "--out", tmp_path / "x.json"
    )
    assert result.code == 1 and "already in the roster" in result.err
    assert not (tmp_path / "x.json").exists()


def test_revoke_and_rotate_drafts(cli: Cli, tmp_path: Path) -> None:
    revoke = cli(
        "admin",
        "revoke",
        "platform-c",
        "--roster",
        ROSTER,
        "--out",
        tmp_path / "r.json",
        "--cutoff",
        "2026-01-02T03:04:05Z",
    )
    assert revoke.code == 0, revoke.err
    member = SignedRoster.load(tmp_path / "r.json").roster.member("platform-c")
    assert member is not None and member.status == MemberStatus.REVOKED
    assert member.revoked_after_ms == 1_767_323_045_000
    key = cli("keygen", "--out", tmp_path / "new.key", "--json")
    public = json.loads(key.out)["public_key"]
    rotated = cli(
        "admin",
        "rotate-key",
        "platform-a",
        "--public-key",
        public,
        "--roster",
        ROSTER,
        "--out",
        tmp_path / "k.json",
        "--valid-from",
        "1767225600000",
        "--overlap-until",
        "7d",
    )
    assert rotated.code == 0, rotated.err
    keys = SignedRoster.load(tmp_path / "k.json").roster.member("platform-a").keys  # type: ignore[union-attr]
    assert sorted(k.valid_until_ms for k in keys) == [0, 1_767_225_600_000 + 7 * 86_400_000]
    tls = cli(
        "admin",
        "rotate-tls",
        "platform-b",
        "--certificate",
        EXAMPLE_KEYS / "platform-b.crt",
        "--roster",
        ROSTER,
        "--out",
        tmp_path / "t.json",
    )
    assert tls.code == 1 and "already has certificate" in tls.err and not (tmp_path / "t.json").exists()


def test_set_endpoints_moves_a_member_and_show_lists_the_change(cli: Cli, tmp_path: Path) -> None:
    draft = tmp_path / "e.json"
    moved = cli(
        "admin", "set-endpoints", "platform-b", "b1.example:50061", "[2001:db8::b]:50061",
        "--roster", ROSTER, "--out", draft,
    )  # fmt: skip
    assert moved.code == 0, moved.err
    member = SignedRoster.load(draft).roster.member("platform-b")
    assert member is not None and member.endpoints == ("b1.example:50061", "[2001:db8::b]:50061")
    before = SignedRoster.load(ROSTER).roster.member("platform-b")
    assert before is not None
    shown = cli("admin", "show", draft, "--roster", ROSTER)
    change = f"~ platform-b: endpoints {', '.join(before.endpoints) or 'none'} -> b1.example:50061, [2001:db8::b]:50061"
    assert change in shown.out


def test_join_lists_every_endpoint_given_in_its_request(cli: Cli, tmp_path: Path) -> None:
    result = cli(
        "join", "--consortium", "c", "--member-id", "m1", "--organisation", "O", "--contact", "x",
        "--endpoint", "m1.example:50061", "--endpoint", "10.0.0.9:50061", "--out", tmp_path / "m1",
    )  # fmt: skip
    assert result.code == 0, result.err
    request = SignedJoinRequest.load(tmp_path / "m1" / "join-request.json").verify()
    assert request.endpoints == ("m1.example:50061", "10.0.0.9:50061")


@pytest.mark.parametrize(
    ("argv", "message", "code"),
    [
        (["revoke", "nobody", "--roster", ROSTER], "'nobody' is not in roster version 2", 1),
        (["revoke", "platform-a", "--roster", ROSTER, "--cutoff", "yesterday"], "--cutoff: got yesterday", 2),
        (["revoke", "platform-a", "--roster", ROSTER, "--expires", "2001-01-01"], "a time in the future", 2),
        (["revoke", "platform-a", "--roster", Path("/nonexistent.json")], "roster file /nonexistent.json", 2),
        (["rotate-key", "platform-a", "--public-key", "zz", "--roster", ROSTER], "--public-key: got zz", 2),
        (["set-endpoints", "platform-a", "a.example", "--roster", ROSTER], "HOST:PORT[0]: got a.example", 2),
        (["set-endpoints", "nobody", "a.example:1", "--roster", ROSTER], "'nobody' is not in roster", 1),
    ],
    ids=[
        "unknown member",
        "bad time",
        "expiry in the past",
        "missing roster",
        "bad public key",
        "endpoint without a port",
        "endpoints of an unknown member",
    ],
)
def test_steward_commands_refuse_bad_input_and_write_nothing(
    cli: Cli, tmp_path: Path, argv: list[object], message: str, code: int
) -> None:
    result = cli("admin", *argv, "--out", tmp_path / "out.json")
    assert result.code == code and message in result.err and "Traceback" not in result.err
    assert not (tmp_path / "out.json").exists()


def test_a_draft_is_not_written_over_an_existing_file(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "out.json").write_text("keep me")
    result = cli("admin", "revoke", "platform-a", "--roster", ROSTER, "--out", tmp_path / "out.json")
    assert result.code == 1 and "exists" in result.err and (tmp_path / "out.json").read_text() == "keep me"


def test_verify_against_a_signed_roster(cli: Cli, node_factory: NodeFactory, tmp_path: Path) -> None:
    node = node_factory()
    submitted = cli(
        "submit",
        "--target",
        node.target,
        "--type",
        "md5",
        "--hash",
        "0" * 32,
        "--label",
        "tvec.propaganda",
        "--json",
    )
    record_id = json.loads(submitted.out)["record_ids"][0]
    cli("provenance", "--target", node.target, record_id, "--out", tmp_path / "bundle.json")
    verified = cli("verify", tmp_path / "bundle.json", "--roster", ROSTER)
    assert verified.code == 0 and f"every key matches the anchor roster {ROSTER}" in verified.out
    unsigned = tmp_path / "unsigned.json"
    SignedRoster.unsigned(SignedRoster.load(ROSTER).roster).save(unsigned)
    refused = cli("verify", tmp_path / "bundle.json", "--roster", unsigned)
    assert refused.code == 1 and "signed by 0 of its own stewards" in refused.err
