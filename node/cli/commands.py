"""The command table and its lazy parsers: a command's module is imported only when that command is parsed.

`hashnode --help` lists every command from the table alone; `hashnode match ...` imports `match_cmd` and what
it uses, nothing of the other commands. Each command module provides `add_arguments(parser)` and `run(args)`;
its docstring is the command's description.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Command:
    name: str
    module: str  # dotted name of the module providing add_arguments(parser) and run(args)
    help: str


class LazyCommandParser(argparse.ArgumentParser):
    """A subcommand's parser whose arguments come from its module, imported when it is first parsed."""

    def __init__(self, *args: Any, command_module: str = "", run_dest: str = "run", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._command_module = command_module
        self._run_dest = run_dest
        self._loaded = False

    def load(self) -> None:
        if self._loaded:
            return
        module = importlib.import_module(self._command_module)
        self.description = module.__doc__
        module.add_arguments(self)
        self.set_defaults(**{self._run_dest: module.run})
        self._loaded = True

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        self.load()
        return super().parse_known_args(args, namespace)


def add_commands(
    parser: argparse.ArgumentParser, table: Sequence[Command], *, dest: str, run_dest: str = "run"
) -> None:
    """Adds one lazily loaded subparser per command of `table` to `parser`."""
    subparsers = parser.add_subparsers(dest=dest, metavar="COMMAND", parser_class=LazyCommandParser)
    for command in table:
        subparsers.add_parser(command.name, help=command.help, command_module=command.module, run_dest=run_dest)
