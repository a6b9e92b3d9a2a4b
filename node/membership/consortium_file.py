"""The consortium file: a trust anchor people keep and pass to `hashnode verify --consortium` (docs/protocol.md,
"The consortium file"; schema in docs/schema/consortium.schema.json).

One data model, written as TOML (for people) or as JSON (for programs: a file whose first non-blank character
is `{`). Both are read by this one strict reader: unknown fields, duplicate members or keys, and values out of
range are errors naming the field, so a typo never silently drops a key or a revocation.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path

from node.core.errors import ConfigError
from node.core.jsondoc import MAX_SAFE_INT, DocumentError, Obj, fail, loads, strings
from node.core.keys import PublicKey
from node.membership.consortium_policy import MAX_QUORUM, ConsortiumPolicy, QuarantineMode
from node.membership.members import (
    DEFAULT_DECISION_WINDOW_MS,
    HOUR_MS,
    MEMBER_ID_RE,
    ROLES,
    STATUSES,
    Member,
    MemberKey,
    Membership,
)

MAX_WINDOW_HOURS = 24 * 365
_KEY_HEX = re.compile(r"[0-9a-f]{64}")


class ConsortiumFileError(ConfigError):
    """A consortium file breaks a rule; `rule` is its id (docs/protocol.md §9 "consortium.*")."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule

    def diagnostics(self) -> str:
        return f"{self.message} [rule {self.rule}]"


def parse(data: bytes, where: str) -> Membership:
    """Reads a consortium file's bytes; `where` (its path) prefixes every error.

    Raises:
        ConsortiumFileError: the file breaks a rule of the consortium file.
    """
    try:
        return _membership(_document(data))
    except DocumentError as exc:
        kind = "syntax" if exc.kind == "json" else exc.kind
        raise ConsortiumFileError(f"consortium.{kind}", f"consortium file {where}: {exc.message}") from None


def load(path: Path) -> Membership:
    """Reads the consortium file at `path`.

    Raises:
        ConfigError: the file cannot be read.
        ConsortiumFileError: it breaks a rule of the consortium file.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"consortium file {path}: {exc.strerror or exc}") from None
    return parse(data, str(path))


def _document(data: bytes) -> dict[str, object]:
    """JSON when the first byte that is not JSON whitespace (space, tab, LF, CR) is `{`, else TOML. A byte order
    mark is refused in either form, before the form is chosen: it is not whitespace, and it would otherwise
    make a JSON file TOML."""
    if data.startswith(b"\xef\xbb\xbf"):
        fail("utf8", "", "starts with a byte order mark")
    if data.lstrip(b" \t\n\r")[:1] == b"{":
        return loads(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        fail("utf8", "", f"not UTF-8 (byte {exc.start})")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        fail("syntax", "", f"neither a JSON object nor TOML: {exc}")


def _membership(document: dict[str, object]) -> Membership:
    top = Obj(document, "")
    consortium_id = top.string("consortium_id", required=True)
    if not consortium_id:
        fail("field_invalid", "consortium_id", 'got "", want a non-empty string')
    policy = _policy(top)
    members: dict[str, Member] = {}
    for path, value in top.array("member", required=True):
        member = _member(Obj(value, path))
        if member.member_id in members:
            fail("member_duplicate", f"{path}.id", f"{member.member_id!r} is listed twice")
        members[member.member_id] = member
    top.done()
    if not members:
        fail("field_invalid", "member", "got an empty array, want at least one member")
    _check_keys_unique(members.values())
    return Membership(consortium_id, members, policy=policy)


def _policy(top: Obj) -> ConsortiumPolicy:
    """The consortium's due-process policy (node/membership/consortium_policy.py), as a roster states it."""
    mode = top.string("quarantine", default="mark")
    if mode not in ("mark", "withhold"):
        fail("field_invalid", "quarantine", f"got {mode!r}, want mark or withhold")
    return ConsortiumPolicy(
        decision_window_ms=_window(top),
        steward_quorum=top.integer("steward_quorum", 1, MAX_QUORUM) or 1,
        dispute_quorum=top.integer("dispute_quorum", 0, MAX_QUORUM) or 0,
        trusted_flagger_disputes=top.boolean("trusted_flagger_disputes"),
        quarantine=QuarantineMode.parse(mode, "quarantine"),
    )


def _window(top: Obj) -> int:
    hours = top.number("decision_window_hours", 0, MAX_WINDOW_HOURS)
    window_ms = top.integer("decision_window_ms", 0, MAX_WINDOW_HOURS * HOUR_MS)
    if hours is not None and window_ms is not None:
        fail("field_invalid", "decision_window_ms", "given with decision_window_hours; want one of them")
    if window_ms is not None:
        return window_ms
    # Round half up, from the one IEEE-754 product every language computes the same way.
    return DEFAULT_DECISION_WINDOW_MS if hours is None else math.floor(hours * HOUR_MS + 0.5)


def _member(entry: Obj) -> Member:
    member_id = entry.string("id", required=True)
    if not MEMBER_ID_RE.fullmatch(member_id):
        fail("field_invalid", f"{entry.path}.id", f"got {member_id!r}, want 1-64 characters a-z 0-9 . _ - "
             "starting with a letter or digit")
    roles = tuple(strings(entry.array("roles"))) if entry.has("roles") else ("contributor",)
    bad = [r for r in roles if r not in ROLES]
    if bad or not roles or len(set(roles)) != len(roles):
        fail("field_invalid", f"{entry.path}.roles", f"got {list(roles)}, want one or more distinct of "
             + ", ".join(ROLES))
    status = entry.string("status", default="active")
    if status not in STATUSES:
        fail("field_invalid", f"{entry.path}.status", f"got {status!r}, want one of {', '.join(STATUSES)}")
    cutoff = entry.integer("revoked_after_ms", 0, MAX_SAFE_INT) or 0
    if (status == "revoked") != (cutoff > 0):
        fail("field_invalid", f"{entry.path}.revoked_after_ms", f"got {cutoff}, want > 0 exactly when the "
             "status is revoked")
    member = Member(
        member_id=member_id,
        organisation=entry.string("organisation", default=member_id),
        keys=_keys(entry),
        roles=roles,
        contact=entry.string("contact"),
        status=status,
        revoked_after_ms=cutoff,
        endpoints=tuple(filter(None, [entry.string("endpoint")])),  # informational here: verifiers dial no one
    )
    entry.done()
    return member


def _keys(entry: Obj) -> tuple[MemberKey, ...]:
    forms = [name for name in ("public_key", "public_keys", "keys") if entry.has(name)]
    if len(forms) != 1:
        problem = "missing" if not forms else f"given as {' and '.join(forms)}"
        fail("field_missing" if not forms else "field_invalid", f"{entry.path}.keys",
             f"{problem}; want exactly one of public_key, public_keys, keys")
    if forms == ["public_key"]:
        return (MemberKey(_public_key(entry.string("public_key"), f"{entry.path}.public_key")),)
    if forms == ["public_keys"]:
        items = entry.array("public_keys")
        if not items:
            fail("field_invalid", f"{entry.path}.public_keys", "got an empty array, want at least one key")
        texts = strings(items)
        return tuple(MemberKey(_public_key(text, path)) for (path, _), text in zip(items, texts, strict=True))
    keys = []
    for path, value in entry.array("keys"):
        key = Obj(value, path)
        public = _public_key(key.string("public_key", required=True), f"{path}.public_key")
        valid_from = key.integer("valid_from_ms", 0, MAX_SAFE_INT) or 0
        valid_until = key.integer("valid_until_ms", 0, MAX_SAFE_INT) or 0
        if valid_until and valid_until < valid_from:
            fail("field_invalid", f"{path}.valid_until_ms", f"got {valid_until}, want 0 or >= valid_from_ms "
                 f"{valid_from}")
        key.done()
        keys.append(MemberKey(public, valid_from, valid_until))
    if not keys:
        fail("field_invalid", f"{entry.path}.keys", "got an empty array, want at least one key")
    return tuple(keys)


def _public_key(text: str, path: str) -> PublicKey:
    if not _KEY_HEX.fullmatch(text):
        fail("field_invalid", path, f"got {text[:70]!r}, want 64 lowercase hex digits (raw Ed25519 public key)")
    return PublicKey(bytes.fromhex(text))


def _check_keys_unique(members: Iterable[Member]) -> None:
    """A key id names one key of one member, as in a roster: the key decides who signed."""
    holders: dict[bytes, str] = {}
    for member in members:
        for key in member.keys:
            key_id = key.public_key.key_id
            if key_id in holders:
                where = "twice" if holders[key_id] == member.member_id else f"for {holders[key_id]!r} too"
                fail("key_duplicate", f"member {member.member_id!r}", f"key {key_id.hex()[:16]}… is listed {where}")
            holders[key_id] = member.member_id
