"""`hashnode admin SUBCOMMAND`: consortium membership (stewards) and node operations (operators).

Stewards prepare and sign roster versions as files, offline: `admit`, `revoke`, `rotate-key`, `rotate-tls`,
`sign`, `merge`, `show`. Operators act on their node through its admin listener: `publish`, `roster`, `peers`,
`sync`, `evidence`, `purge-member`, `backup`, `policy`; `restore` works on a stopped node's data directory.
"""

from __future__ import annotations

import argparse

from node.cli.admin import SUBCOMMANDS
from node.cli.command_base import ExitCode

NAME = "admin"
HELP = "consortium membership and node operations (hashnode admin -h lists them)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    subparsers = parser.add_subparsers(dest="admin_command", metavar="SUBCOMMAND")
    for command in SUBCOMMANDS:
        sub = subparsers.add_parser(command.NAME, help=command.HELP, description=command.__doc__)
        command.add_arguments(sub)
        sub.set_defaults(admin_run=command.run)
    parser.set_defaults(admin_parser=parser)


def run(args: argparse.Namespace) -> int:
    if not hasattr(args, "admin_run"):
        args.admin_parser.print_help()
        return ExitCode.USAGE
    return int(args.admin_run(args))
