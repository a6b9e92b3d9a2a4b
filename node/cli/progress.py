"""A one-line progress display on stderr for long imports and exports: count, rate, and with a known total the
percentage and the time left.

`imported 1,200 records (850/s), 3 duplicates, 2 refused; line 1,500/5,000 (30%), ETA 4 s`

On a terminal the line is redrawn in place a few times a second; when stderr is a file or a pipe (logs, CI) a
plain line is written every `LOG_INTERVAL_S` instead, so logs are not flooded with carriage returns.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

REDRAW_INTERVAL_S = 0.2
LOG_INTERVAL_S = 10.0


class Progress:
    """Counts items and shows them on stderr.

    With `total` (e.g. the lines of the file being imported) the caller reports its `position` out of it, and
    the line shows the percentage and an ETA from the rate so far; `unit` names what the total counts.
    """

    def __init__(
        self,
        verb: str,
        *,
        total: int | None = None,
        unit: str = "line",
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.verb = verb
        self.total = total
        self.unit = unit
        self.stream = stream or sys.stderr
        self.clock = clock
        self.done = 0
        self.refused = 0
        self.duplicates = 0
        self.position = 0
        self.started = clock()
        self._shown = self.started
        self._live = self.stream.isatty()

    def add(self, done: int = 0, refused: int = 0, duplicates: int = 0, position: int | None = None) -> None:
        self.done += done
        self.refused += refused
        self.duplicates += duplicates
        if position is not None:
            self.position = max(self.position, position)
        now = self.clock()
        if now - self._shown >= (REDRAW_INTERVAL_S if self._live else LOG_INTERVAL_S):
            self._shown = now
            self._show(final=False)

    def elapsed(self) -> float:
        return max(self.clock() - self.started, 1e-6)

    def rate(self) -> float:
        return self.done / self.elapsed()

    def line(self) -> str:
        text = f"{self.verb} {self.done:,} records ({self.rate():,.0f}/s)"
        if self.duplicates:
            text += f", {self.duplicates:,} duplicate{'s' if self.duplicates != 1 else ''}"
        if self.refused:
            text += f", {self.refused:,} refused"
        if self.total:
            position = min(self.position, self.total)
            percent = 100 * position // self.total
            text += f"; {self.unit} {position:,}/{self.total:,} ({percent}%), ETA {self._eta(position)}"
        return text

    def _eta(self, position: int) -> str:
        if self.total is None or position >= self.total:
            return "0 s"
        if position == 0:
            return "-"
        seconds = (self.total - position) * self.elapsed() / position
        return f"{seconds:,.0f} s" if seconds < 120 else f"{seconds / 60:,.0f} min"

    def finish(self) -> None:
        """Shows the final count on its own line (always, so that a run leaves one line behind)."""
        self._show(final=True)

    def _show(self, *, final: bool) -> None:
        if self._live:
            self.stream.write("\r\x1b[K" + self.line() + ("\n" if final else ""))
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()


def count_lines(path: Path) -> int | None:
    """The number of lines of the file at `path` (a last line without a newline counts), read in binary
    chunks; None if it cannot be read (the import itself then reports why)."""
    try:
        with path.open("rb") as handle:
            count, last = 0, b"\n"
            while chunk := handle.read(1 << 20):
                count += chunk.count(b"\n")
                last = chunk[-1:]
    except OSError:
        return None
    return count + (last != b"\n")
