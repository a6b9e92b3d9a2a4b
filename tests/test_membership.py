"""Consortium membership: the consortium file (its one strict reader, TOML and JSON), and which key must have
signed an entry."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from node.core.errors import ConfigError, VerificationError
from node.core.keys import SigningKey
from node.membership import consortium_file
from node.membership.consortium_file import ConsortiumFileError
from node.membership.members import Member, MemberKey, Membership


def key(name: str) -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(b"test membership " + name.encode()).digest())


OLD, NEW, OTHER = key("old"), key("new"), key("other")
OLD_HEX, NEW_HEX, OTHER_HEX = OLD.public.raw.hex(), NEW.public.raw.hex(), OTHER.public.raw.hex()
GAMMA_OLD, GAMMA_NEW = key("gamma old"), key("gamma new")
GAMMA_OLD_HEX, GAMMA_NEW_HEX = GAMMA_OLD.public.raw.hex(), GAMMA_NEW.public.raw.hex()

VALID_FILE = f"""
consortium_id = "test-consortium"

[[member]]
id = "alpha"
organisation = "Alpha Platform"
public_keys = ["{OLD_HEX}", "{NEW_HEX}"]
roles = ["contributor", "steward"]
contact = "trust@alpha.example"
endpoint = "alpha.example:7443"

[[member]]
id = "beta"
public_key = "{OTHER_HEX}"
status = "revoked"
revoked_after_ms = 1700000000000

[[member]]
id = "gamma"
roles = ["trusted_flagger"]

[[member.keys]]
public_key = "{GAMMA_OLD_HEX}"
valid_until_ms = 1700000000000

[[member.keys]]
public_key = "{GAMMA_NEW_HEX}"
valid_from_ms = 1700000000001
"""


def load(tmp_path: Path, text: str) -> Membership:
    path = tmp_path / "consortium.toml"
    path.write_text(text, encoding="utf-8")
    return consortium_file.load(path)


# --- the consortium file ------------------------------------------------------------------------------------


def test_valid_file_is_read_with_every_field(tmp_path: Path) -> None:
    membership = load(tmp_path, VALID_FILE)
    alpha = membership.get("alpha")
    assert membership.consortium_id == "test-consortium"
    assert alpha is not None
    assert [k.public_key for k in alpha.keys] == [OLD.public, NEW.public]
    assert (alpha.organisation, alpha.roles, alpha.contact, alpha.endpoints) == (
        "Alpha Platform",
        ("contributor", "steward"),
        "trust@alpha.example",
        ("alpha.example:7443",),
    )


def test_missing_optional_fields_take_their_defaults(tmp_path: Path) -> None:
    beta = load(tmp_path, VALID_FILE).get("beta")
    assert beta is not None
    assert (beta.organisation, beta.roles, beta.contact, beta.endpoints) == ("beta", ("contributor",), "", ())


def test_revocation_is_read_from_the_file(tmp_path: Path) -> None:
    beta = load(tmp_path, VALID_FILE).get("beta")
    assert beta is not None
    assert (beta.status, beta.revoked_after_ms) == ("revoked", 1_700_000_000_000)


def test_members_iterate_in_file_order(tmp_path: Path) -> None:
    assert [m.member_id for m in load(tmp_path, VALID_FILE)] == ["alpha", "beta", "gamma"]


def test_keys_with_validity_windows_are_read(tmp_path: Path) -> None:
    gamma = load(tmp_path, VALID_FILE).get("gamma")
    assert gamma is not None
    assert [(k.public_key, k.valid_from_ms, k.valid_until_ms) for k in gamma.keys] == [
        (GAMMA_OLD.public, 0, 1_700_000_000_000),
        (GAMMA_NEW.public, 1_700_000_000_001, 0),
    ]


def test_the_json_form_reads_as_the_toml_form(tmp_path: Path) -> None:
    text = json.dumps({
        "consortium_id": "test-consortium",
        "decision_window_hours": 0.5,
        "member": [
            {"id": "alpha", "public_keys": [OLD_HEX, NEW_HEX], "roles": ["contributor", "steward"]},
            {"id": "gamma", "keys": [{"public_key": GAMMA_OLD_HEX, "valid_until_ms": 1_700_000_000_000}]},
        ],
    })
    path = tmp_path / "consortium.json"
    path.write_text(" \t\r\n" + text, encoding="utf-8")  # JSON whitespace before the brace: still JSON
    membership = consortium_file.load(path)
    assert membership.decision_window_ms == 1_800_000
    assert membership.stewards() == {"alpha"}
    gamma = membership.get("gamma")
    assert gamma is not None and gamma.keys[0].valid_until_ms == 1_700_000_000_000


def test_the_decision_window_defaults_to_72_hours_or_is_given_in_milliseconds(tmp_path: Path) -> None:
    assert load(tmp_path, VALID_FILE).decision_window_ms == 72 * 3_600_000
    text = VALID_FILE.replace('consortium_id = "test-consortium"', 'consortium_id = "c"\ndecision_window_ms = 5')
    assert load(tmp_path, text).decision_window_ms == 5


def with_second_member(fields: str, consortium: str = 'consortium_id = "c"') -> str:
    """A file whose first member is valid and whose second member (member[1]) has `fields`."""
    return f'{consortium}\n[[member]]\nid = "ok"\npublic_key = "{OLD_HEX}"\n\n[[member]]\n{fields}\n'


KEY_LINE = f'public_key = "{OLD_HEX}"'


@dataclass(frozen=True)
class BadFile:
    name: str
    text: str
    names: str  # what the error must name
    rule: str = "consortium.field_invalid"


BAD_FILES = [
    BadFile("not TOML", "consortium_id = ", "consortium file", "consortium.syntax"),
    BadFile("not UTF-8", 'consortium_id = "\xff"', "not UTF-8", "consortium.utf8"),
    BadFile("JSON with a duplicate name", '{"consortium_id": "c", "consortium_id": "d", "member": []}',
            "appears twice", "consortium.syntax"),
    BadFile("consortium_id missing", with_second_member('id = "b"', consortium=""),
            ": consortium_id: missing", "consortium.field_missing"),
    BadFile("consortium_id empty", with_second_member('id = "b"', consortium='consortium_id = ""'),
            ": consortium_id:"),
    BadFile("consortium_id not a string", with_second_member('id = "b"', consortium="consortium_id = 7"),
            ": consortium_id:"),
    BadFile("no members", 'consortium_id = "c"\n', "member: missing", "consortium.field_missing"),
    BadFile("member not a table", 'consortium_id = "c"\nmember = [1]\n', "member[0]: got a number, want an object"),
    BadFile("unknown top-level field", 'consortium_id = "c"\ncolour = "red"\n[[member]]\nid = "a"\n' + KEY_LINE,
            "colour: unknown field", "consortium.field_unknown"),
    BadFile("unknown member field (a typo)", with_second_member(f'id = "b"\npublic_key = "{NEW_HEX}"\nrevoked = 1'),
            "member[1].revoked: unknown field", "consortium.field_unknown"),
    BadFile("id missing", with_second_member(f'public_key = "{NEW_HEX}"'), "member[1].id: missing",
            "consortium.field_missing"),
    BadFile("id not a string", with_second_member(f'id = 3\npublic_key = "{NEW_HEX}"'), "member[1].id:"),
    BadFile("id upper case", with_second_member(f'id = "B"\npublic_key = "{NEW_HEX}"'), "member[1].id:"),
    BadFile("member listed twice", with_second_member(f'id = "ok"\npublic_key = "{NEW_HEX}"'),
            "member[1].id: 'ok' is listed twice", "consortium.member_duplicate"),
    BadFile("public key missing", with_second_member('id = "b"'), "member[1].keys: missing",
            "consortium.field_missing"),
    BadFile("public key given twice", with_second_member(f'id = "b"\n{KEY_LINE}\npublic_keys = ["{NEW_HEX}"]'),
            "member[1].keys: given as public_key and public_keys"),
    BadFile("public key not hex", with_second_member('id = "b"\npublic_key = "zz"'),
            "member[1].public_key: got 'zz', want 64 lowercase hex digits"),
    BadFile("public key upper case", with_second_member(f'id = "b"\npublic_key = "{NEW_HEX.upper()}"'),
            "member[1].public_key:"),
    BadFile("public key too short", with_second_member(f'id = "b"\npublic_key = "{NEW_HEX[:62]}"'),
            "member[1].public_key:"),
    BadFile("second of public keys bad", with_second_member(f'id = "b"\npublic_keys = ["{NEW_HEX}", "00"]'),
            "member[1].public_keys[1]:"),
    BadFile("one key for two members", with_second_member(f'id = "b"\n{KEY_LINE}'),
            "is listed for 'ok' too", "consortium.key_duplicate"),
    BadFile("key window ends before it starts",
            with_second_member(f'id = "b"\n[[member.keys]]\npublic_key = "{NEW_HEX}"\nvalid_from_ms = 5\n'
                               'valid_until_ms = 4'),
            "member[1].keys[0].valid_until_ms: got 4, want 0 or >= valid_from_ms 5"),
    BadFile("unknown role", with_second_member(f'id = "b"\npublic_key = "{NEW_HEX}"\nroles = ["admin"]'),
            "member[1].roles: got ['admin'], want one or more distinct of contributor, trusted_flagger, observer, "
            "steward"),
    BadFile("unknown status", with_second_member(f'id = "b"\npublic_key = "{NEW_HEX}"\nstatus = "gone"'),
            "member[1].status: got 'gone', want one of active, suspended, revoked"),
    BadFile("revoked without a cutoff", with_second_member(f'id = "b"\npublic_key = "{NEW_HEX}"\nstatus = "revoked"'),
            "member[1].revoked_after_ms: got 0, want > 0 exactly when the status is revoked"),
    BadFile("negative revocation cutoff",
            with_second_member(f'id = "b"\npublic_key = "{NEW_HEX}"\nrevoked_after_ms = -1'),
            "member[1].revoked_after_ms: got -1, want an integer 0..9007199254740991"),
    BadFile("revocation cutoff not a number",
            with_second_member(f'id = "b"\npublic_key = "{NEW_HEX}"\nrevoked_after_ms = "soon"'),
            'member[1].revoked_after_ms: got "soon"'),
    BadFile("public keys empty", with_second_member('id = "b"\npublic_keys = []'),
            "member[1].public_keys: got an empty array, want at least one key"),
    BadFile("byte order mark before JSON", '\ufeff{"consortium_id": "c", "member": []}', "byte order mark",
            "consortium.utf8"),
    BadFile("byte order mark before TOML", '\ufeff' + with_second_member(f'id = "b"\npublic_key = "{NEW_HEX}"'),
            "byte order mark", "consortium.utf8"),
    BadFile("a form feed is no JSON whitespace: the file is TOML", '\f{"consortium_id": "c"}', "consortium file",
            "consortium.syntax"),
    # docs/protocol.md §9.2: a JSON top level that is not an object is read as TOML, and is not TOML.
    BadFile("a JSON array at the top level", '[]', "consortium file", "consortium.syntax"),
    BadFile("a JSON string at the top level", '"example-consortium"', "consortium file", "consortium.syntax"),
    BadFile("a JSON number at the top level", '42', "consortium file", "consortium.syntax"),
    # A TOML value of another type than the field's, a date or time among them: field_invalid.
    BadFile("a TOML datetime as an integer",
            with_second_member(f'id = "b"\npublic_key = "{NEW_HEX}"\nrevoked_after_ms = 1979-05-27T07:32:00Z\n'
                               'status = "revoked"'), "member[1].revoked_after_ms:"),
    BadFile("a TOML date as the window",
            with_second_member(f'id = "b"\npublic_key = "{NEW_HEX}"',
                               consortium='consortium_id = "c"\ndecision_window_hours = 2026-12-02'),
            "decision_window_hours:"),
    BadFile("a TOML time as the consortium id",
            with_second_member(f'id = "b"\npublic_key = "{NEW_HEX}"', consortium="consortium_id = 07:32:00"),
            "consortium_id:"),
    # One key listed twice within a member: key_duplicate, as for two members.
    BadFile("public keys list a key twice", with_second_member(f'id = "b"\npublic_keys = ["{NEW_HEX}", "{NEW_HEX}"]'),
            "is listed twice", "consortium.key_duplicate"),
    BadFile("window in hours and milliseconds",
            with_second_member(f'id = "b"\npublic_key = "{NEW_HEX}"',
                               consortium='consortium_id = "c"\ndecision_window_hours = 1\ndecision_window_ms = 5'),
            "decision_window_ms: given with decision_window_hours"),
]  # fmt: skip


@pytest.mark.parametrize("case", BAD_FILES, ids=lambda c: c.name)
def test_invalid_file_is_refused_naming_the_field_and_the_rule(tmp_path: Path, case: BadFile) -> None:
    path = tmp_path / "consortium.toml"
    path.write_bytes(case.text.encode("utf-8").replace(b"\xc3\xbf", b"\xff"))
    with pytest.raises(ConsortiumFileError) as raised:
        consortium_file.load(path)
    assert str(path) in raised.value.message
    assert case.names in raised.value.message, raised.value.message
    assert raised.value.rule == case.rule


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"consortium file .*absent\.toml"):
        consortium_file.load(tmp_path / "absent.toml")


# --- which key must have signed -----------------------------------------------------------------------------

T0 = 1_700_000_000_000
ROTATING = Member(
    member_id="alpha",
    organisation="Alpha",
    keys=(MemberKey(OLD.public, valid_until_ms=T0), MemberKey(NEW.public, valid_from_ms=T0 + 1)),
)
REVOKED = Member(
    member_id="beta",
    organisation="Beta",
    keys=(MemberKey(OTHER.public),),
    status="revoked",
    revoked_after_ms=T0,
)
MEMBERSHIP = Membership.from_members("test-consortium", [ROTATING, REVOKED])


@dataclass(frozen=True)
class Signer:
    name: str
    author: str
    key: SigningKey
    timestamp_ms: int


ACCEPTED = [
    Signer("old key before rotation", "alpha", OLD, T0 - 1),
    Signer("old key at its last valid millisecond", "alpha", OLD, T0),
    Signer("new key at its first valid millisecond", "alpha", NEW, T0 + 1),
    Signer("new key without an upper bound", "alpha", NEW, 2**63),
    Signer("unbounded key at time 0", "beta", OTHER, 0),
    Signer("revoked member at the cutoff", "beta", OTHER, T0),
]

REFUSED = [
    (Signer("unknown author", "gamma", OLD, T0), "'gamma' is not a member of consortium 'test-consortium'"),
    (Signer("key of another member", "alpha", OTHER, T0), "'alpha' has no key"),
    (Signer("old key after rotation", "alpha", OLD, T0 + 1), "was not valid at 1700000000001"),
    (Signer("new key before its window", "alpha", NEW, T0), "was not valid at 1700000000000"),
    (Signer("revoked member after the cutoff", "beta", OTHER, T0 + 1), "'beta' was revoked before"),
]


@pytest.mark.parametrize("case", ACCEPTED, ids=lambda c: c.name)
def test_signing_key_accepted(case: Signer) -> None:
    assert MEMBERSHIP.signing_key(case.author, case.key.public.key_id, case.timestamp_ms) == case.key.public


@pytest.mark.parametrize(("case", "message"), REFUSED, ids=[c.name for c, _ in REFUSED])
def test_signing_key_refused(case: Signer, message: str) -> None:
    with pytest.raises(VerificationError, match=message):
        MEMBERSHIP.signing_key(case.author, case.key.public.key_id, case.timestamp_ms)


def test_signing_key_applies_a_revocation_read_from_the_file(tmp_path: Path) -> None:
    membership = load(tmp_path, VALID_FILE)
    membership.signing_key("beta", OTHER.public.key_id, 1_700_000_000_000)
    with pytest.raises(VerificationError, match="revoked"):
        membership.signing_key("beta", OTHER.public.key_id, 1_700_000_000_001)


@pytest.mark.parametrize(
    ("roles", "status", "may_author"),
    [
        pytest.param(("contributor",), "active", True, id="active contributor"),
        pytest.param(("trusted_flagger",), "active", True, id="active trusted flagger"),
        pytest.param(("observer",), "active", False, id="observer"),
        pytest.param(("steward",), "active", False, id="steward alone"),
        pytest.param(("contributor",), "suspended", False, id="suspended contributor"),
        pytest.param(("contributor",), "revoked", False, id="revoked contributor"),
    ],
)
def test_who_may_author(roles: tuple[str, ...], status: str, may_author: bool) -> None:
    member = Member("m", "M", (MemberKey(OLD.public),), roles=roles, status=status)
    assert member.may_author() is may_author
