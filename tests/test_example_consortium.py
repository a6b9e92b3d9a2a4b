"""The README's quickstart, run as it is written: three `hashnode serve --config keys/example/platform-X.toml`
processes form a consortium with nothing configured but the example files, then the README's commands
contribute at one node, match at the other two, fetch provenance and verify it offline.

The example configs listen on fixed loopback ports, so this test holds the example-ports lock
(testkit/example_ports.py) while its nodes run. Their data go to the state directory the test chooses
(XDG_STATE_HOME), never into the checkout.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import ROOT

from node.cli.serve_cmd import NodeProcess
from testkit.docsteps import ShellSession, section, shell_blocks, words
from testkit.example_ports import example_ports_held, start_example_nodes

pytestmark = pytest.mark.slow
README = ROOT / "README.md"


def quickstart() -> tuple[list[str], list[str]]:
    """The README's two quickstart blocks: starting the nodes, then using them."""
    blocks = shell_blocks(section(README.read_text(encoding="utf-8"), "## Quickstart"))
    assert len(blocks) == 2, f"want two ```sh blocks in the quickstart, found {len(blocks)}"
    return blocks[0], blocks[1]


@pytest.fixture
def example_nodes(tmp_path: Path) -> Iterator[dict[str, NodeProcess]]:
    """The quickstart's first block: its `hashnode serve` lines, each started as a process from the checkout."""
    start_block, _ = quickstart()
    serving = [command for command in start_block if command.startswith("hashnode serve")]
    assert [c for c in start_block if c not in serving] == ["make venv && . .venv/bin/activate"]
    configs = []
    for command in serving:
        argv = words(command)
        assert argv[:3] == ["hashnode", "serve", "--config"] and len(argv) == 4, command
        configs.append(ROOT / argv[3])
    with example_ports_held():
        nodes = start_example_nodes(configs, tmp_path)
        try:
            yield nodes
        finally:
            for node in nodes.values():
                node.stop()


def eventually(check: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


def test_three_example_nodes_form_a_consortium_and_the_readme_commands_work(
    example_nodes: dict[str, NodeProcess], tmp_path: Path
) -> None:
    assert sorted(example_nodes) == ["platform-a", "platform-b", "platform-c"]
    for name in example_nodes:  # each can author: it found a peer through the roster (start_example_nodes)
        assert (tmp_path / "state" / "hashnode" / name / "lmdb").is_dir()  # the data, outside the checkout
    work = tmp_path / "work"  # where the reader's files (bundle.json) go; keys/ is the checkout's
    work.mkdir()
    (work / "keys").symlink_to(ROOT / "keys")
    shell = ShellSession.open(work, tmp_path)
    _, use_block = quickstart()
    record_id = ""
    for command in use_block:
        if "RECORD_ID" in words(command):
            assert record_id, "the README uses RECORD_ID before a submit printed it"
            command = command.replace("RECORD_ID", record_id)
        if command.startswith("hashnode match"):  # replication takes a moment: run it until it matches
            found = lambda command=command: re.search(r"distance\s+4\s", shell.run(command)) is not None  # noqa: E731
            eventually(found, f"a match: {command}", 10)
            continue
        output = shell.run(command)
        if command.startswith("hashnode submit"):
            record_id = re.findall(r"^\s+([0-9a-f]{64})\s+pdq", output, re.MULTILINE)[0]
        if command.startswith("hashnode verify"):
            assert f"VERIFIED  record {record_id}" in output and "every key matches the anchor" in output
        if command.startswith("hashnode admin peers"):
            lines = output.splitlines()
            assert [line.split()[:3] for line in lines] == [
                ["platform-b", "127.0.0.1:50261", "roster"],
                ["platform-c", "127.0.0.1:50361", "roster"],
            ], output
    assert record_id and (work / "bundle.json").is_file()
