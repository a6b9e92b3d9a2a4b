"""Every `hashnode COMMAND` the code and the documentation point a person to exists (an error that sends a user
to a command that does not exist is a dead end)."""

from __future__ import annotations

import re
from pathlib import Path

from node.cli.admin import SUBCOMMANDS
from node.cli.main import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
MENTION = re.compile(r"`hashnode ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?")
COMMAND_NAMES = {command.name for command in COMMANDS}
ADMIN_NAMES = {command.name for command in SUBCOMMANDS}


def mentions() -> list[tuple[str, str, str]]:
    files = [*ROOT.joinpath("node").rglob("*.py"), *ROOT.joinpath("docs").glob("*.md"), ROOT / "README.md"]
    found = []
    for path in files:
        if "gen" in path.parts:
            continue
        for match in MENTION.finditer(path.read_text(encoding="utf-8")):
            found.append((str(path.relative_to(ROOT)), match[1], match[2] or ""))
    return found


def test_the_code_and_docs_mention_commands() -> None:
    assert len(mentions()) > 50  # the scan finds what it is meant to


def test_every_command_mentioned_exists() -> None:
    unknown = [(where, name) for where, name, _ in mentions() if name not in COMMAND_NAMES]
    assert unknown == []


def test_every_admin_command_mentioned_exists() -> None:
    unknown = [
        (where, sub) for where, name, sub in mentions() if name == "admin" and sub and sub not in ADMIN_NAMES
    ]
    assert unknown == []
