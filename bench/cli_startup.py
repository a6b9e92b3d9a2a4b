#!/usr/bin/env python3
"""CLI start-up benchmark: wall-clock time of `hashnode --help` and `hashnode match --help`, fresh processes;
and of a whole `hashnode match HASH` against a running node.

    python bench/cli_startup.py               # 15 runs of each, interleaved
    python bench/cli_startup.py --runs 31

Each command runs as `python -m node.cli.main ...` (the code of this checkout, whatever the virtual environment
has installed) in a new process; the median of `--runs` runs is the figure, with the fastest and the slowest.
Runs are interleaved (one of each command per round) so that a change of load hits every command alike. The
baseline in the same run is the bare interpreter (`python -c pass`, with the same site-packages): a command's
figure minus it is what hashnode itself costs. Also shown: `python -c "import grpc"`, what a command that talks
to a node pays on top, and `hashnode match` of one MD5 against a node this script starts (`hashnode serve`, the
example keys in insecure loopback mode, an empty store): start-up, the call and the output. Goal: under 0.3 s
for both `--help` commands on a quiet machine. The load average is printed with the figures, which move with it
on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_S = 0.3
COMMANDS: dict[str, list[str]] = {
    "python -c pass (baseline)": ["-c", "pass"],
    'python -c "import grpc"': ["-c", "import grpc"],
    "hashnode --help": ["-m", "node.cli.main", "--help"],
    "hashnode match --help": ["-m", "node.cli.main", "match", "--help"],
}
GOALS = ("hashnode --help", "hashnode match --help")


def run_once(args: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    started = time.perf_counter()
    subprocess.run([sys.executable, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def example_node(directory: Path) -> Path:
    """An insecure loopback config of the example member platform-a, its data in `directory`."""
    keys = ROOT / "keys/example"
    config = directory / "platform-a.toml"
    config.write_text(
        f"""[node]
member_id = "platform-a"
roster = "{keys / "roster.json"}"
signing_key = "{keys / "platform-a.key"}"
data_dir = "data"
listen = "127.0.0.1:0"
insecure = true
[peer]
listen = "127.0.0.1:0"
[admin]
listen = "127.0.0.1:0"
""",
        encoding="utf-8",
    )
    return config


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each command (default %(default)s)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from node.cli.serve_cmd import NodeProcess

    work = Path(tempfile.mkdtemp(prefix="hn-cli-startup-"))
    node = NodeProcess.start(example_node(work), work / "node.log")
    try:
        return measure(args.runs, node.address)
    finally:
        node.stop()
        shutil.rmtree(work, ignore_errors=True)


def measure(runs: int, target: str) -> int:
    COMMANDS["hashnode match HASH (a node)"] = [
        "-m", "node.cli.main", "match", "--type", "md5", "d41d8cd98f00b204e9800998ecf8427e", "--target", target,
    ]
    load_before = os.getloadavg()
    for command in COMMANDS.values():  # warm the file cache: the first start reads every module from disk
        run_once(command)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(runs):
        for name, command in COMMANDS.items():
            times[name].append(run_once(command))
    load_after = os.getloadavg()
    baseline = statistics.median(times["python -c pass (baseline)"])
    print(f"{runs} runs each, interleaved; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    print(f"{'command':<30} {'median s':>9} {'min s':>7} {'max s':>7} {'x baseline':>10} {'over it s':>9}")
    for name, found in times.items():
        median = statistics.median(found)
        print(
            f"{name:<30} {median:>9.3f} {min(found):>7.3f} {max(found):>7.3f} {median / baseline:>10.1f} "
            f"{median - baseline:>9.3f}"
        )
    missed = [name for name in GOALS if statistics.median(times[name]) >= GOAL_S]
    verdict = "met" if not missed else "missed by " + ", ".join(missed)
    print(f"goal: {', '.join(GOALS)} under {GOAL_S} s (median): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
