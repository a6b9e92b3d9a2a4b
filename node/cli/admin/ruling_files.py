"""What the stewards' ruling commands share: reading ruling files and telling who signed them against the
consortium's steward quorum (docs/due-process.md, "Stewards' rulings").

A ruling file (`SignedRuling.to_json`) travels like a roster draft: one steward prepares it (`hashnode admin
rule`), each signs it (`hashnode admin sign`), copies merge (`hashnode admin merge`), any node publishes it
(`hashnode admin publish-ruling`). Files are written atomically by `roster_files.write`.
"""

from __future__ import annotations

import json
from pathlib import Path

from node.core.errors import ConfigError
from node.dueprocess.ruling import FILE_FORMAT, SignedRuling, steward_signers
from node.membership.roster import Roster


def is_ruling_file(path: Path) -> bool:
    """Whether `path` holds a stewards' ruling (not a roster). Raises: ConfigError if unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    except json.JSONDecodeError:
        return False
    return isinstance(data, dict) and data.get("format") == FILE_FORMAT


def load(path: Path) -> SignedRuling:
    """Raises: ConfigError (unreadable) or InvalidArgument (not a ruling file)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"ruling file {path}: {exc}") from exc
    return SignedRuling.from_json(text)


def describe(signed: SignedRuling, roster: Roster | None) -> list[str]:
    """Who signed, against the quorum of `roster` (the roster trusted now), when one is given."""
    ruling = signed.ruling
    lines = [
        f"  ruling on appeal {ruling.appeal_entry_id.hex()} about record {ruling.record_id.hex()}: "
        f"{ruling.outcome.label} ({len(signed.signatures)} signature(s))"
    ]
    if roster is None:
        return [*lines, "  (give --roster CURRENT to check the signatures against the stewards and the quorum)"]
    membership = roster.membership()
    signers = steward_signers(
        ruling.encode(), signed.signatures, membership.steward_keys(), ruling.ruled_at_ms
    )
    quorum = membership.policy.steward_quorum
    stewards = sorted(membership.stewards())
    shown = ", ".join(f"{s} {'signed' if s in signers else 'missing'}" for s in stewards)
    lines.append(f"  stewards: {len(signers)} of {quorum} needed ({shown})")
    if len(signers) >= quorum:
        lines.append("  ready to publish: hashnode admin publish-ruling FILE --target NODE_ADMIN_ADDRESS")
    return lines
