"""`hashnode admin SUBCOMMAND`: consortium membership (stewards) and node operations (operators).

Stewards prepare and sign roster versions as files, offline: `admit`, `revoke`, `rotate-key`, `rotate-tls`,
`sign`, `merge`, `show`. Operators act on their node through its admin listener: `publish`, `roster`, `peers`,
`sync`, `evidence`, `purge-member`, `backup`, `policy`; `restore` works on a stopped node's data directory.
"""

from __future__ import annotations

import argparse

from node.cli.admin import SUBCOMMANDS
from node.cli.commands import add_commands
from node.cli.exit_codes import ExitCode


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_commands(parser, SUBCOMMANDS, dest="admin_command", run_dest="admin_run")
    parser.set_defaults(admin_parser=parser)


def run(args: argparse.Namespace) -> int:
    if not hasattr(args, "admin_run"):
        args.admin_parser.print_help()
        return ExitCode.USAGE
    return int(args.admin_run(args))
