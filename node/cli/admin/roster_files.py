"""What the steward commands share: reading and writing roster files, times, and who signed what.

A draft is a signed-roster file with no signatures yet (`SignedRoster.save`); signing adds to it. Files are
written only after everything was checked, through a temporary file renamed into place, so an invalid input
leaves nothing behind and a crash never leaves half a file.
"""

from __future__ import annotations

import argparse
import datetime
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from node.core.errors import AlreadyExists, InvalidArgument
from node.membership.roster import Roster, RosterDraft, RosterError, SignedRoster, TrustedRoster, valid_signers

DAY_MS = 86_400_000
DEFAULT_VALIDITY_DAYS = 365


def now_ms() -> int:
    return int(datetime.datetime.now(tz=datetime.UTC).timestamp() * 1000)


def parse_time(text: str, field: str) -> int:
    """`now`, Unix milliseconds, or an ISO 8601 date or time (UTC unless it says otherwise), in ms.

    Raises: InvalidArgument.
    """
    if text == "now":
        return now_ms()
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument(
            field, text, "now, Unix milliseconds, or an ISO 8601 time like 2026-03-01T12:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return int(moment.timestamp() * 1000)


def add_roster_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--roster",
        type=Path,
        required=True,
        metavar="CURRENT",
        help="the roster file the consortium trusts now",
    )


def add_draft_options(parser: argparse.ArgumentParser) -> None:
    """--roster CURRENT, --out DRAFT and --expires: what every command preparing the next version takes."""
    add_roster_option(parser)
    parser.add_argument("--out", type=Path, required=True, metavar="DRAFT", help="where to write the draft")
    parser.add_argument(
        "--expires",
        metavar="TIME",
        help=f"when the new version expires (default: the current expiry, or {DEFAULT_VALIDITY_DAYS} days "
        "from now if that is less than 30 days away)",
    )


def load(path: Path) -> SignedRoster:
    """Raises: ConfigError (unreadable) or MalformedRosterError (not a signed roster file)."""
    return SignedRoster.load(path)


def next_draft(args: argparse.Namespace) -> RosterDraft:
    """The next version of `--roster`, expiring at `--expires`."""
    current = load(args.roster).roster
    if args.expires:
        expires = parse_time(args.expires, "--expires")
    elif current.expires_ms - now_ms() >= 30 * DAY_MS:
        expires = current.expires_ms
    else:
        expires = now_ms() + DEFAULT_VALIDITY_DAYS * DAY_MS
    if expires <= now_ms():
        raise InvalidArgument("--expires", args.expires or str(expires), "a time in the future")
    return RosterDraft.next_version(current, expires_ms=expires)


class _JsonFile(Protocol):
    def to_json(self) -> str: ...


def write(path: Path, signed: _JsonFile, *, replace: bool = False) -> None:
    """Writes a roster (or ruling) file atomically. Raises: AlreadyExists (unless `replace`)."""
    if path.exists() and not replace:
        raise AlreadyExists(f"{path}: exists; choose another --out (nothing was written)")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(signed.to_json())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class SignatureStatus:
    """Who signed a roster, against the thresholds it must meet."""

    own: list[tuple[str, bool]]  # (steward name, signed) for the roster's own stewards
    own_threshold: int
    previous: list[tuple[str, bool]] | None  # the same for the trusted version's stewards, if given
    previous_threshold: int
    problem: str | None  # why the trusted roster would not accept it (None: it would)

    @property
    def ready(self) -> bool:
        return self.problem is None


def signature_status(signed: SignedRoster, current: SignedRoster | None) -> SignatureStatus:
    roster = signed.roster
    own_signers = valid_signers(signed.roster_bytes, signed.signatures, roster.steward_keys)
    own = [(s.name, s.key_id in own_signers) for s in roster.stewards]
    previous = None
    previous_threshold = 0
    if current is not None:
        old = current.roster
        old_signers = valid_signers(signed.roster_bytes, signed.signatures, old.steward_keys)
        previous = [(s.name, s.key_id in old_signers) for s in old.stewards]
        previous_threshold = old.threshold
    return SignatureStatus(own, roster.threshold, previous, previous_threshold, _problem(signed, current))


def _problem(signed: SignedRoster, current: SignedRoster | None) -> str | None:
    """What `TrustedRoster` would say: trusting `current`, would it trust `signed` next?"""
    try:
        if current is None or signed.roster.version == 1:
            TrustedRoster(signed.roster_bytes, signed.signatures, pinned_id=signed.roster_id)
        else:
            trusted = TrustedRoster(current.roster_bytes, current.signatures, pinned_id=current.roster_id)
            trusted.update_chain([signed], 0)  # expiry is the node's concern at publication time
    except RosterError as exc:
        return exc.message
    return None


def describe_signatures(status: SignatureStatus) -> list[str]:
    def line(whose: str, stewards: list[tuple[str, bool]], threshold: int) -> str:
        count = sum(1 for _, ok in stewards if ok)
        names = ", ".join(f"{name} {'signed' if ok else 'missing'}" for name, ok in stewards)
        return f"  {whose}: {count} of {threshold} needed ({names})"

    lines = [line("its own stewards", status.own, status.own_threshold)]
    if status.previous is not None:
        lines.append(line("the current stewards", status.previous, status.previous_threshold))
    if status.ready:
        lines.append("  ready to publish: hashnode admin publish FILE --target NODE_ADMIN_ADDRESS")
    else:
        lines.append(f"  not ready: {status.problem}")
    return lines


def member_lines(roster: Roster) -> list[str]:
    lines = []
    for m in roster.members:
        status = m.status.label + (f" after {m.revoked_after_ms}" if m.revoked_after_ms else "")
        keys = ", ".join(k.public_key.key_id.hex()[:16] for k in m.keys)
        certs = ", ".join(c.fingerprint.hex()[:16] for c in m.tls) or "none"
        endpoints = ", ".join(m.endpoints) or "none"
        lines.append(
            f"  {m.member_id:<20} {status:<18} {','.join(m.roles):<22} keys {keys}  tls {certs}"
            f"  endpoints {endpoints}  (status since v{m.status_version})"
        )
    return lines
