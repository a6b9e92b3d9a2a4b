"""`hashnode serve --config FILE`: run a node until SIGTERM or Ctrl-C; and running it as a child process.

`NodeProcess` starts `hashnode serve` in a child Python process and learns the address it bound from the one
line it prints (`hashnode: serving member <id> on <host:port>`), which is how the demo and the tests run real
nodes on port 0.
"""

from __future__ import annotations

import argparse
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import node
from node.cli.command_base import add_config_options
from node.cli.exit_codes import ExitCode
from node.core.errors import ConfigError, HashnodeError, InvalidArgument, Unavailable
from node.runtime.log_format import StderrAsJson, configure_logging

PACKAGE_ROOT = Path(node.__file__).resolve().parents[1]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_options(parser)
    parser.add_argument(
        "--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR"), help="overrides [logging] level"
    )


def run(args: argparse.Namespace) -> int:
    # Imported here: the server pulls in the store and index, which no other command needs.
    from node.runtime.config import load_config
    from node.server.server import serve

    config = load_config(args.config, data_dir=args.data_dir)
    level = args.log_level or config.log_level
    if config.log_format != "json":
        configure_logging(config.log_format, level)
        serve(config)
        return ExitCode.OK
    with StderrAsJson() as stderr:  # gRPC's own lines and stray output become JSON lines too
        configure_logging(config.log_format, level, stderr)
        try:
            serve(config)
        except HashnodeError as exc:  # a node that cannot start says why in a JSON line too
            logging.getLogger("node.cli.serve").error("hashnode: error: %s", exc.diagnostics())
            return ExitCode.USAGE if isinstance(exc, (ConfigError, InvalidArgument)) else ExitCode.FAILURE
    return ExitCode.OK


def _read_lines(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)


@dataclass
class NodeProcess:
    """A `hashnode serve` child process and the addresses it serves on (client, peer, admin)."""

    process: subprocess.Popen[str]
    member_id: str
    address: str
    log: Path
    reader: threading.Thread
    peer_address: str = ""
    admin_address: str = ""

    @property
    def target(self) -> str:
        return self.address

    @classmethod
    def start(
        cls,
        config: Path,
        log: Path,
        *,
        timeout: float = 30.0,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> NodeProcess:
        """Starts a node and waits for its serving line; its stderr (logs) goes to `log`. `env` adds to the
        environment (e.g. XDG_STATE_HOME); `cwd` is its working directory."""
        from node.server.server import LISTENER_LINE, SERVING_LINE

        paths = [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH", "")]
        environment = {**os.environ, **(env or {}), "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
        with log.open("w", encoding="utf-8") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-m", "node.cli.main", "serve", "--config", str(config)],
                stdout=subprocess.PIPE,
                stderr=log_file,
                text=True,
                env=environment,
                cwd=cwd,
            )
        lines: queue.Queue[str | None] = queue.Queue()
        reader = threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True)
        reader.start()
        listeners: dict[str, str] = {}
        deadline = time.monotonic() + timeout
        found = None
        while found is None:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            announced = LISTENER_LINE.match(line or "")
            if announced is not None:
                listeners[announced["listener"]] = announced["address"]
                continue
            found = SERVING_LINE.match(line or "")
            if found is None:
                cls(process, "", "", log, reader).stop(signal.SIGKILL)
                output = log.read_text(encoding="utf-8").strip()[-2000:]
                raise Unavailable(f"node for {config} did not start: {output}")
        return cls(
            process,
            found["member"],
            found["address"],
            log,
            reader,
            peer_address=listeners.get("peer", ""),
            admin_address=listeners.get("admin", ""),
        )

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Asks the node to stop (graceful drain) and returns its exit code; kills it after `timeout`."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.reader.join(timeout)  # it ends at the end of the output, once the process is gone
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode
