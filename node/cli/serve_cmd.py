"""`hashnode serve --config FILE`: run a node until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from node.cli.command_base import ExitCode

NAME = "serve"
HELP = "run a node"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, required=True, metavar="FILE", help="the node's TOML config")
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))


def run(args: argparse.Namespace) -> int:
    # Imported here: the server pulls in the store and index, which no other command needs.
    from node.api.server import serve
    from node.config import load_config

    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    serve(load_config(args.config))
    return ExitCode.OK
