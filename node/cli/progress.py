"""A one-line progress display on stderr for long imports and exports: count, rate, refusals so far.

On a terminal the line is redrawn in place a few times a second; when stderr is a file or a pipe (logs, CI) a
plain line is written every `LOG_INTERVAL_S` instead, so logs are not flooded with carriage returns.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

REDRAW_INTERVAL_S = 0.2
LOG_INTERVAL_S = 10.0


class Progress:
    """Counts items and shows `<verb> N records (R/s)[, M refused]` on stderr."""

    def __init__(
        self, verb: str, *, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.verb = verb
        self.stream = stream or sys.stderr
        self.clock = clock
        self.done = 0
        self.refused = 0
        self.started = clock()
        self._shown = self.started
        self._live = self.stream.isatty()

    def add(self, done: int = 0, refused: int = 0) -> None:
        self.done += done
        self.refused += refused
        now = self.clock()
        if now - self._shown >= (REDRAW_INTERVAL_S if self._live else LOG_INTERVAL_S):
            self._shown = now
            self._show(final=False)

    def rate(self) -> float:
        elapsed = max(self.clock() - self.started, 1e-6)
        return self.done / elapsed

    def line(self) -> str:
        text = f"{self.verb} {self.done} records ({self.rate():,.0f}/s)"
        return text + (f", {self.refused} refused" if self.refused else "")

    def finish(self) -> None:
        """Shows the final count on its own line (always, so that a run leaves one line behind)."""
        self._show(final=True)

    def _show(self, *, final: bool) -> None:
        if self._live:
            self.stream.write("\r\x1b[K" + self.line() + ("\n" if final else ""))
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()
