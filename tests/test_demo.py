"""`make demo` tells its story to the end by itself, quickly, and leaves no process behind."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from conftest import ROOT


@pytest.mark.slow
def test_demo_runs_to_completion() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "demo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    steps = (
        "hashnode: serving member platform-a",
        "hashnode: serving member platform-c",
        "matchable at platform-b",
        "matchable at platform-c",
        "by platform-a",
        "distance  4",
        "assembled by  platform-c",
        "VERIFIED  record",
        "VERIFICATION FAILED",
    )
    for expected in steps:
        assert expected in done.stdout
    assert done.stdout.rstrip().endswith("tamper caught.")


def test_a_port_taken_before_a_node_binds_it_is_named_and_not_a_traceback(tmp_path, monkeypatch) -> None:
    from demo import consortium

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        monkeypatch.setattr(consortium, "free_port", lambda: squatter.getsockname()[1])
        taken = pytest.raises(consortium.PortTaken, match="platform-a")
        with taken, consortium.running_nodes(tmp_path, ["platform-a"]):
            pass


def test_the_demo_starts_again_on_other_ports_when_one_was_taken(monkeypatch, capsys) -> None:
    from demo import consortium

    attempts: list[int] = []

    def story(workdir: object) -> float:
        attempts.append(1)
        if len(attempts) == 1:
            raise consortium.PortTaken("platform-c: cannot bind 127.0.0.1:1")
        return 0.25

    monkeypatch.setattr(consortium, "story", story)
    assert consortium.main() == 0
    assert len(attempts) == 2
    assert "starting again on other ports" in capsys.readouterr().out


def test_a_port_taken_at_every_attempt_fails_in_one_line(monkeypatch, capsys) -> None:
    from demo import consortium

    def story(workdir: object) -> float:
        raise consortium.PortTaken("platform-c: cannot bind 127.0.0.1:1")

    monkeypatch.setattr(consortium, "story", story)
    assert consortium.main() == 1
    assert "demo FAILED: platform-c: cannot bind" in capsys.readouterr().err
