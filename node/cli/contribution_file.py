"""Reading hashes to contribute from a CSV or JSON Lines file, checked line by line before anything is sent.

Columns (CSV header) or keys (JSONL objects): `signal_type`, `value`, `quality`, `labels`, `tags`,
`reference`, `source`. `signal_type`, `value` and `labels` are required; `quality` is required for pdq and 0
(or empty) for exact types. In CSV, `labels` and `tags` are separated by `;` or `|`; in JSONL they may also be
lists.

Checks here are the ones that need no node: signal type, hex and length, quality range, label and tag syntax.
Whether labels are in the consortium's taxonomy and whether PDQ quality meets the node's minimum is decided by
the node, which refuses the whole batch if any record fails.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from node.api.gen.hashnode.v1 import types_pb2
from node.errors import HashnodeError, InvalidArgument
from node.signals import signal_type
from node.taxonomy import MAX_LABELS, check_tags

COLUMNS = ("signal_type", "value", "quality", "labels", "tags", "reference", "source")
REQUIRED = ("signal_type", "value", "labels")
MAX_RECORDS = 10_000
MAX_REPORTED = 20
_SEPARATORS = re.compile(r"[;|]")


class BadLines(InvalidArgument):
    """Some lines of a contribution file are invalid; every one is listed, and nothing was sent."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        shown = problems[:MAX_REPORTED]
        more = [f"... and {len(problems) - len(shown)} more"] if len(problems) > len(shown) else []
        HashnodeError.__init__(
            self, f"{path}: {len(problems)} bad line(s), nothing sent:\n  " + "\n  ".join([*shown, *more])
        )
        self.field = str(path)


def split_list(value: object, field: str) -> list[str]:
    """A list of names from a JSON list or a `;`/`|`-separated string."""
    if value is None or value == "":
        return []
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    if isinstance(value, str):
        return [part.strip() for part in _SEPARATORS.split(value) if part.strip()]
    raise InvalidArgument(field, repr(value), "a list of names, or names separated by ; or |")


def parse_quality(value: object, kind_has_quality: bool, field: str) -> int:
    if value is None or value == "":
        if kind_has_quality:
            raise InvalidArgument(field, "nothing", "0..100 for pdq (`hashnode hash` prints it)")
        return 0
    if isinstance(value, bool):
        raise InvalidArgument(field, repr(value), "an integer 0..100")
    try:
        quality = int(str(value).strip())
    except ValueError:
        raise InvalidArgument(field, repr(value), "an integer 0..100") from None
    if not 0 <= quality <= 100:
        raise InvalidArgument(field, quality, "an integer 0..100")
    return quality


def _text(fields: dict[str, object], key: str, field: str) -> str:
    value = fields.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidArgument(field, repr(value), "a string")
    return value.strip()


def record_from_fields(
    fields: dict[str, object], where: str = "", names: Mapping[str, str] | None = None
) -> types_pb2.HashRecord:
    """Checks one record's fields. Errors name `where` + the field (or its alias in `names`: "--hash")."""

    def name(key: str) -> str:
        return where + (names or {}).get(key, key)

    kind = signal_type(_text(fields, "signal_type", name("signal_type")), name("signal_type"))
    value = kind.parse(_text(fields, "value", name("value")), name("value"))
    labels = split_list(fields.get("labels"), name("labels"))
    if not labels:
        raise InvalidArgument(name("labels"), "nothing", "at least one taxonomy label")
    if len(labels) > MAX_LABELS:
        raise InvalidArgument(name("labels"), f"{len(labels)} labels", f"at most {MAX_LABELS}")
    tags = check_tags(split_list(fields.get("tags"), name("tags")), name("tags"))
    return types_pb2.HashRecord(
        signal_type=kind.name,
        value=value.hex(),
        quality=parse_quality(fields.get("quality"), kind.has_quality, name("quality")),
        labels=labels,
        tags=tags,
        reference=_text(fields, "reference", name("reference")),
        source=_text(fields, "source", name("source")),
    )


Row = tuple[int, "dict[str, object] | InvalidArgument"]  # a line's fields, or why the line cannot be read


def _csv_rows(text: str) -> Iterator[Row]:
    """CSV rows; a bad header is raised (nothing else can be read), a bad row is yielded as its error."""
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    unknown = [name for name in header if name not in COLUMNS]
    missing = [name for name in REQUIRED if name not in header]
    if unknown or missing:
        raise InvalidArgument(
            "line 1: header",
            ",".join(header) or "nothing",
            f"columns {','.join(COLUMNS)} ({', '.join(REQUIRED)} required)",
        )
    for row in reader:
        if None in row:  # more cells than header columns
            cells = len(header) + len(row[None])
            yield (
                reader.line_num,
                InvalidArgument(f"line {reader.line_num}", f"{cells} cells", f"{len(header)}"),
            )
        else:
            yield reader.line_num, dict(row)


def _jsonl_fields(number: int, line: str) -> dict[str, object]:
    try:
        fields = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(
            f"line {number}", "invalid JSON", f"one JSON object per line ({exc.msg})"
        ) from None
    if not isinstance(fields, dict):
        raise InvalidArgument(f"line {number}", type(fields).__name__, "a JSON object")
    unknown = [key for key in fields if key not in COLUMNS]
    if unknown:
        raise InvalidArgument(
            f"line {number}: {unknown[0]}", "an unknown key", "one of " + ", ".join(COLUMNS)
        )
    return fields


def _jsonl_rows(text: str) -> Iterator[Row]:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                yield number, _jsonl_fields(number, line)
            except InvalidArgument as exc:
                yield number, exc


def _check_all(rows: Iterable[Row], problems: list[str]) -> list[types_pb2.HashRecord]:
    """Checks every row, collecting every problem rather than stopping at the first."""
    records = []
    for number, fields in rows:
        try:
            if isinstance(fields, InvalidArgument):
                raise fields
            records.append(record_from_fields(fields, f"line {number}: "))
        except InvalidArgument as exc:
            problems.append(exc.message)
    return records


def read_contribution_file(path: Path) -> list[types_pb2.HashRecord]:
    """All records of a `.csv` or `.jsonl` file; raises BadLines listing every bad line."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl"):
        raise InvalidArgument("--file", str(path), "a .csv or .jsonl file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InvalidArgument("--file", str(path), "an existing file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidArgument("--file", str(path), f"a readable UTF-8 file ({exc})") from None
    problems: list[str] = []
    try:
        records = _check_all(_csv_rows(text) if suffix == ".csv" else _jsonl_rows(text), problems)
    except InvalidArgument as exc:  # a bad CSV header: no line can be read
        problems.append(exc.message)
        records = []
    if problems:
        raise BadLines(path, problems)
    if not 1 <= len(records) <= MAX_RECORDS:
        raise InvalidArgument("--file", f"{len(records)} records", f"1..{MAX_RECORDS} (split larger files)")
    return records
