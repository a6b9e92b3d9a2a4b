"""The exit status of every `hashnode` command."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    FAILURE = 1  # the operation failed (node refused, verification failed, node unreachable)
    USAGE = 2  # the user's input is wrong (arguments, files, config)
    INTERRUPTED = 130  # Ctrl-C
