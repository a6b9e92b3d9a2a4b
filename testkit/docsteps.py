"""Running a document's shell steps as they are written (README.md, docs/onboarding.md).

`shell_blocks` takes the ```sh blocks of a Markdown document apart into commands (a line ending in a backslash
continues on the next). `ShellSession` runs them one at a time with bash, the way a reader pastes them into a
terminal: variable assignments and `export`s carry over to the later commands, `hashnode` is this checkout's
command, and the working directory is the one given. Long-running commands (`hashnode serve`) are for the
caller to start as processes.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from node.cli.serve_cmd import PACKAGE_ROOT

FENCE = re.compile(r"^```sh\n(.*?)^```", re.MULTILINE | re.DOTALL)
ASSIGNMENT = re.compile(r"^(export\s+)?[A-Za-z_][A-Za-z0-9_]*=")


def shell_blocks(markdown: str) -> list[list[str]]:
    """The commands of each ```sh block, in order; continuation lines joined, blank lines dropped."""
    blocks = []
    for body in FENCE.findall(markdown):
        commands: list[str] = []
        pending = ""
        for line in body.splitlines():
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1].rstrip() + " "
                continue
            command = (pending + line.strip()).strip()
            pending = ""
            if command:
                commands.append(command)
        blocks.append(commands)
    return blocks


def section(markdown: str, heading: str) -> str:
    """The text from `heading` (a whole line) to the next heading of the same or a higher level.

    Raises: AssertionError if the heading is not in the document.
    """
    lines = markdown.splitlines(keepends=True)
    level = len(heading) - len(heading.lstrip("#"))
    start = next((i for i, line in enumerate(lines) if line.rstrip("\n") == heading), None)
    assert start is not None, f"no heading {heading!r}"
    end = next(
        (
            i
            for i in range(start + 1, len(lines))
            if lines[i].startswith("#") and len(lines[i]) - len(lines[i].lstrip("#")) <= level
        ),
        len(lines),
    )
    return "".join(lines[start:end])


def words(command: str) -> list[str]:
    """A command's words as the shell splits them (comments dropped), for commands run as processes."""
    return shlex.split(command, comments=True)


@dataclass
class ShellSession:
    """A reader's terminal: bash, in `cwd`, with this checkout's `hashnode` first on the PATH."""

    cwd: Path
    bin_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    prelude: list[str] = field(default_factory=list)  # assignments and exports run so far

    @classmethod
    def open(cls, cwd: Path, scratch: Path, env: dict[str, str] | None = None) -> ShellSession:
        """A session whose `hashnode` runs this checkout's code with this Python (a script in `scratch`)."""
        bin_dir = scratch / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        shim = bin_dir / "hashnode"
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m node.cli.main "$@"\n', encoding="utf-8")
        shim.chmod(0o755)
        paths = [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH", "")]
        base = {
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": os.pathsep.join(p for p in paths if p),
        }
        return cls(cwd, bin_dir, {**base, **(env or {})})

    def run(self, command: str, *, expect: int = 0, timeout: float = 120.0) -> str:
        """Runs `command` after the assignments seen so far; returns its output (stdout, then stderr).

        Raises: AssertionError when it exits with another code than `expect`, or prints a traceback.
        """
        if ASSIGNMENT.match(command):
            self.prelude.append(command)
            return ""
        script = "\n".join(["set -eu", *self.prelude, command])
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        output = done.stdout + done.stderr
        assert done.returncode == expect, f"{command}\nexit {done.returncode}, want {expect}:\n{output}"
        assert "Traceback" not in output, f"{command}\n{output}"
        return output
