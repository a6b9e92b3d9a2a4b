"""`make demo` tells its story to the end by itself, quickly, and leaves no process behind."""

from __future__ import annotations

import os
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
