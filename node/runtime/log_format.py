"""How a node's logs look: human text (the default) or one JSON object per line for log pipelines.

Configured by `[logging] format = "text" | "json"` and `level` in the node's config. A JSON line carries `ts`
(RFC 3339 UTC, milliseconds), `level`, `logger`, `message`, any `extra={...}` fields the call passed, and
`exception` (the formatted traceback) when there is one; keys are stable, so that queries keep working.

With JSON logs every line on stderr is a JSON object, also what the logging module does not write: gRPC's C
core logs to file descriptor 2 directly (a failed TLS handshake, say), and a stray print or a crash's traceback
would too. `StderrAsJson` points descriptor 2 at a pipe whose lines are logged as records of the `grpc` logger
(gRPC's own lines, with its level and source location) or of the `stderr` logger (anything else), while the log
handler writes to the real stderr.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
from datetime import UTC, datetime
from types import TracebackType
from typing import TextIO

FORMATS = ("text", "json")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged as a field.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, object] = {
            "ts": _timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                fields[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            fields["exception"] = self.formatException(record.exc_info)
        return json.dumps(fields, ensure_ascii=False)


def _timestamp(created: float) -> str:
    moment = datetime.fromtimestamp(created, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# gRPC core (absl) lines: `E1202 07:59:12.753231    9232 ssl_transport_security.cc:3238] No match found ...`
_NATIVE_LINE = re.compile(r"^(?P<level>[EWID])\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ (?P<source>[^\]\s]+)\] (?P<message>.*)$")
_NATIVE_LEVELS = {"E": logging.ERROR, "W": logging.WARNING, "I": logging.INFO, "D": logging.DEBUG}


def log_native_line(line: str) -> None:
    """Logs one line another writer put on stderr: a gRPC core line as the `grpc` logger, else `stderr`."""
    found = _NATIVE_LINE.match(line)
    if found is None:
        logging.getLogger("stderr").warning(line)
        return
    level = _NATIVE_LEVELS[found["level"]]
    logging.getLogger("grpc").log(level, found["message"], extra={"source": found["source"]})


class StderrAsJson:
    """While active, lines written to file descriptor 2 by anything but the log handler are logged (in JSON).

    `__enter__` returns the stream the log handler must write to: the real stderr.
    """

    def __init__(self) -> None:
        self._saved = -1
        self._reader: threading.Thread | None = None
        self.stream: TextIO | None = None

    def __enter__(self) -> TextIO:
        sys.stderr.flush()
        self._saved = os.dup(2)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
        self.stream = open(os.dup(self._saved), "w", encoding="utf-8", buffering=1)
        self._reader = threading.Thread(target=_pump, args=(read_end,), name="stderr-as-json", daemon=True)
        self._reader.start()
        return self.stream

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        sys.stderr.flush()
        os.dup2(self._saved, 2)  # the pipe's last writer is gone: the reader drains it and ends
        os.close(self._saved)
        if self._reader is not None:
            self._reader.join(timeout=5.0)
        if self.stream is not None:
            self.stream.flush()


def _pump(read_end: int) -> None:
    with open(read_end, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            text = line.rstrip("\n")
            if text.strip():
                log_native_line(text)


def configure_logging(fmt: str = "text", level: str = "INFO", stream: TextIO | None = None) -> None:
    """Sends every log record of the process to `stream` (stderr) in `fmt`, from `level` up."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
