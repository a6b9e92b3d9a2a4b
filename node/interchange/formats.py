"""Import and export of hash lists: CSV, JSON Lines and python-threatexchange's "type hash" text.

Readers turn each line of a file into either a validated `HashRecord` (through `HashRecord.create`, the same
checks as a gRPC Submit) or a `Refusal` naming the line and why; nothing is dropped silently, and one bad line
never costs the good ones. Writers export records with their provenance references so that an export can be
traced back to the signed entries; importing an export yields the same `HashRecord`s (provenance columns are
ignored on import: a re-submitted record is signed anew and gets a new record id).

Formats:

- CSV: a header row naming the columns `signal_type,value,quality,labels,tags,reference,source` in any order
  (`signal_type` and `value` required), plus on export `record_id,author,entry_id,contributed_at`. Labels and
  tags are separated by `|` or `;`. An empty `labels` cell takes the caller's default labels.
- JSONL: one JSON object per line with the same keys; `labels` and `tags` are lists of strings.

vpdq records (a video's frame features, docs/protocol.md "vPDQ features"): in CSV the `value` cell holds the hex of
the canonical features encoding (one cell, up to 492018 characters for 6000 frames); in JSONL `value` is empty
and `video` holds `{"interval_ms": n, "frames": [{"pdq": hex, "quality": q, "frame_number": n, "timestamp_ms":
t}, ...]}` (a line may instead give the hex in `value`, as CSV does); in TE files the signal is
python-threatexchange's vpdq string, a JSON list of `"<pdq hex>,<quality>,<seconds>"` (`pytx_names`). Their
`quality` is derived from the frames: absent, 0 or the derived value are accepted. A feature list is validated
like a Submit's (`VpdqFeatures.create`: frames in order, a frame of quality 50 or more), and refused naming the
frame and field (`video.frames[3].timestamp_ms`).
- TE: python-threatexchange's text. Written: `<signal_type> <hash>` per line, as `threatexchange dataset -P -S`
  prints it and its `local_file` collaboration reads it, with python-threatexchange's type names
  (`node.interchange.pytx_names`: hashnode's `md5` and `sha256` are written `video_md5` and `video_sha256`).
  Read: those lines (hashnode's own type names too), `threatexchange dataset -P` lines with their category and
  tags, and bare hashes given a default signal type (`node.interchange.pytx_dataset`). Labels come from the
  caller's defaults; the format carries no PDQ quality, so the caller vouches for one (`default_pdq_quality`).
  A TE round trip keeps hashes, not types: a `video_md5` record comes back as `md5`.
- pytx CSV: `threatexchange dataset -P --csv` (header `signal_type,signal_str,collab,category,tags`) is read as
  CSV; its rows are read like `dataset -P` lines.

Blank lines are skipped in every format, and lines starting with `#` in TE files. An empty `quality` (or a
missing key) means 0 for exact types and `default_pdq_quality` for PDQ.

Spreadsheet safety: a `reference` or `source` written to CSV that starts with `= + - @ '`, a tab or a carriage
return gets a leading `'`, so that a spreadsheet shows it as text instead of evaluating it as a formula (these
are free text from other members). The CSV reader removes one leading `'` from those two columns, so the round
trip is exact; a hand-written CSV that means a leading quote must double it.
"""

from __future__ import annotations

import csv
import enum
import itertools
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO

from node.core.entry import MAX_CONTRIBUTION_ITEM_BYTES
from node.core.errors import InvalidArgument
from node.core.records import HashRecord
from node.core.signals import PDQ_MIN_QUALITY_DEFAULT, REGISTRY, VPDQ, typed_signal_type, typed_value
from node.core.taxonomy import Taxonomy
from node.core.vpdq import VpdqFeatures
from node.interchange import pytx_dataset
from node.interchange.pytx_names import from_pytx, to_pytx

if TYPE_CHECKING:
    from _csv import Reader as _CsvReader


class Format(enum.Enum):
    CSV = "csv"
    JSONL = "jsonl"
    TE = "te"  # python-threatexchange "<signal_type> <hash>" lines


_EXTENSIONS = {
    ".csv": Format.CSV,
    ".jsonl": Format.JSONL,
    ".ndjson": Format.JSONL,
    ".txt": Format.TE,
    ".te": Format.TE,
}
RECORD_COLUMNS = ("signal_type", "value", "quality", "labels", "tags", "reference", "source")
PROVENANCE_COLUMNS = ("record_id", "author", "entry_id", "contributed_at")
_REQUIRED = ("signal_type", "value")
VIDEO_KEY = "video"  # JSONL only: a vpdq record's features
# A CSV cell may hold a vpdq record's features in hex; the csv module's default limit (128 KiB) is below that.
csv.field_size_limit(max(csv.field_size_limit(), 2 * MAX_CONTRIBUTION_ITEM_BYTES))
_LIST_SEPARATORS = re.compile(r"[|;]")
_FORMULA_START = ("=", "+", "-", "@", "'", "\t", "\r")
_TEXT_COLUMNS = ("reference", "source")
FORMAT_FIELD = "format"  # Refusal.field of a line that is not in the file's format at all


@dataclass(frozen=True)
class Refusal:
    """A line that did not become a record. `field` names what was wrong (a column, or "format")."""

    line_no: int
    reason: str
    field: str = FORMAT_FIELD

    def __str__(self) -> str:
        return f"line {self.line_no}: {self.reason}"


@dataclass
class ImportSummary:
    """Counts of an import: records accepted, and refusals by the field that was wrong."""

    accepted: int = 0
    refused: Counter[str] = field(default_factory=Counter)

    @property
    def refused_total(self) -> int:
        return sum(self.refused.values())

    def tally(self, items: Iterable[HashRecord | Refusal]) -> Iterator[HashRecord | Refusal]:
        """Passes `items` through unchanged, counting them."""
        for item in items:
            if isinstance(item, Refusal):
                self.refused[item.field] += 1
            else:
                self.accepted += 1
            yield item

    def __str__(self) -> str:
        text = f"{self.accepted} accepted, {self.refused_total} refused"
        if self.refused:
            text += " (" + ", ".join(f"{name}: {n}" for name, n in sorted(self.refused.items())) + ")"
        return text


class ProvenancedRecord(Protocol):
    """What an export needs of a stored record (`node.ledger.StoredRecord` is one)."""

    @property
    def record_id(self) -> bytes: ...
    @property
    def record(self) -> HashRecord: ...
    @property
    def author(self) -> str: ...
    @property
    def entry_id(self) -> bytes: ...
    @property
    def timestamp_ms(self) -> int: ...


# --- reading ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rules:
    taxonomy: Taxonomy
    min_pdq_quality: int
    default_labels: tuple[str, ...]
    default_pdq_quality: int | None


@dataclass(frozen=True)
class _Fields:
    """One line's fields, typed but not yet validated. None: the line does not give it."""

    signal_type: str
    value: str
    quality: int | None = None
    labels: Sequence[str] | None = None
    tags: Sequence[str] = ()
    reference: str = ""
    source: str = ""
    video: object = None  # JSONL's `video` as parsed JSON, checked by VpdqFeatures.from_json


def read_records(
    source: Path | str | TextIO,
    fmt: Format | str | None = None,
    *,
    default_labels: Sequence[str] = (),
    taxonomy: Taxonomy,
    min_pdq_quality: int = PDQ_MIN_QUALITY_DEFAULT,
    default_pdq_quality: int | None = None,
    default_signal_type: str | None = None,
) -> Iterator[HashRecord | Refusal]:
    """Reads a hash list, yielding a record or a refusal for every line that holds data, in file order.

    The same as `read_numbered_records` without the line numbers; see there for the arguments.
    """
    numbered = read_numbered_records(
        source,
        fmt,
        default_labels=default_labels,
        taxonomy=taxonomy,
        min_pdq_quality=min_pdq_quality,
        default_pdq_quality=default_pdq_quality,
        default_signal_type=default_signal_type,
    )
    return (item for _, item in numbered)


def read_numbered_records(
    source: Path | str | TextIO,
    fmt: Format | str | None = None,
    *,
    default_labels: Sequence[str] = (),
    taxonomy: Taxonomy,
    min_pdq_quality: int = PDQ_MIN_QUALITY_DEFAULT,
    default_pdq_quality: int | None = None,
    default_signal_type: str | None = None,
) -> Iterator[tuple[int, HashRecord | Refusal]]:
    """Reads a hash list, yielding (line number, record or refusal) for every line that holds data, in order.

    A record's line number lets a caller report a later refusal (by a node) against the line it came from.

    Args:
        source: a path, or an open text stream.
        fmt: the format; None detects it from the file extension, else from the first line.
        default_labels: labels of lines that give none (every line of a TE file).
        taxonomy: the consortium taxonomy labels are checked against.
        min_pdq_quality: PDQ lines below this quality are refused.
        default_pdq_quality: quality of PDQ lines that give none; None refuses such lines.
        default_signal_type: TE only: every line is a bare signal of this type (a python-threatexchange or
            hashnode name), as `threatexchange dataset -P -S -s TYPE` prints them.

    Raises:
        InvalidArgument: when iteration starts, if the format cannot be detected, the CSV header is unusable
            or a default is invalid. Open CSV streams with `newline=""`.
    """
    if default_pdq_quality is not None and not 0 <= default_pdq_quality <= 100:
        raise InvalidArgument("default_pdq_quality", default_pdq_quality, "0..100")
    if default_signal_type is not None:
        from_pytx(default_signal_type, "", "default_signal_type")  # a type hashnode carries, or refused now
    rules = _Rules(
        taxonomy=taxonomy,
        min_pdq_quality=min_pdq_quality,
        default_labels=taxonomy.check_labels(tuple(default_labels), "default_labels")
        if default_labels
        else (),
        default_pdq_quality=default_pdq_quality,
    )
    with ExitStack() as stack:
        if isinstance(source, (str, Path)):
            path = Path(source)
            # surrogateescape: a line of invalid UTF-8 becomes one refusal instead of aborting the whole file.
            stream: TextIO = stack.enter_context(
                path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")
            )
            chosen = _format(fmt) if fmt is not None else _EXTENSIONS.get(path.suffix.lower())
        else:
            stream, chosen = source, _format(fmt) if fmt is not None else None
        lines: Iterable[str] = stream
        if chosen is None:
            first = stream.readline()
            chosen = Format.TE if default_signal_type is not None else _sniff(first)
            lines = itertools.chain([first], stream)
        if chosen is Format.TE:
            parsed = _read_te(lines, default_signal_type)
        else:
            parsed = {Format.CSV: _read_csv, Format.JSONL: _read_jsonl}[chosen](lines)
        for line_no, fields in parsed:
            yield line_no, fields if isinstance(fields, Refusal) else _record(line_no, fields, rules)


def _format(fmt: Format | str) -> Format:
    if isinstance(fmt, Format):
        return fmt
    try:
        return Format(fmt.lower())
    except ValueError:
        raise InvalidArgument("format", fmt, "one of " + ", ".join(f.value for f in Format)) from None


def _sniff(first_line: str) -> Format:
    """Detects the format from the first line of a file whose extension says nothing."""
    text = first_line.lstrip("\ufeff").strip()
    if text.startswith("{"):
        return Format.JSONL
    if "," in text and "signal_type" in text:
        return Format.CSV
    if text.startswith("#") or text.split(" ", 1)[0] in REGISTRY or pytx_dataset.looks_like_listing(text):
        return Format.TE
    raise InvalidArgument(
        "format", text[:40] or "an empty first line", "a CSV header, a JSON object or '<signal_type> <hash>'"
    )


def _record(line_no: int, fields: _Fields, rules: _Rules) -> HashRecord | Refusal:
    labels = fields.labels if fields.labels else rules.default_labels
    quality = fields.quality
    if fields.signal_type.strip().lower() == VPDQ.name:
        return _video_record(line_no, fields, labels, rules)
    if fields.video is not None:
        return Refusal(line_no, f"{VIDEO_KEY}: got frame features, want none for {fields.signal_type}", VIDEO_KEY)
    if quality is None:
        kind = REGISTRY.get(fields.signal_type.strip().lower())
        quality = 0
        if kind is not None and kind.has_quality:
            if rules.default_pdq_quality is None:
                return Refusal(
                    line_no,
                    f"quality: got nothing, want 0..100 for {kind.name} (give one, or a default PDQ quality)",
                    "quality",
                )
            quality = rules.default_pdq_quality
    try:
        return HashRecord.create(
            # A file is typed by people and other tools: its spelling is forgiven here, the wire's is not.
            signal_type_name=typed_signal_type(fields.signal_type, "record.signal_type").name,
            value_hex=typed_value(fields.value),
            quality=quality,
            labels=list(labels),
            tags=list(fields.tags),
            reference=fields.reference,
            source=fields.source,
            taxonomy=rules.taxonomy,
            min_pdq_quality=rules.min_pdq_quality,
            field="record",
        )
    except InvalidArgument as exc:
        return Refusal(line_no, exc.message.removeprefix("record."), exc.field.removeprefix("record."))


def _video_record(line_no: int, fields: _Fields, labels: Sequence[str], rules: _Rules) -> HashRecord | Refusal:
    """A vpdq line: its features from JSONL's `video`, or from the hex of their encoding in `value`."""
    try:
        if fields.video is not None:
            if fields.value.strip():
                raise InvalidArgument("value", fields.value[:40], f"empty when {VIDEO_KEY} gives the features")
            video = VpdqFeatures.from_json(fields.video, VIDEO_KEY)
        else:
            video = VpdqFeatures.from_hex(fields.value, "value")
        return HashRecord.create(
            signal_type_name=VPDQ.name, value_hex="", quality=fields.quality or 0, labels=list(labels),
            tags=list(fields.tags), reference=fields.reference, source=fields.source, taxonomy=rules.taxonomy,
            min_pdq_quality=rules.min_pdq_quality, video=video, field="record",
        )  # fmt: skip
    except InvalidArgument as exc:
        return Refusal(line_no, exc.message.removeprefix("record."), _column(exc.field.removeprefix("record.")))


def _column(field: str) -> str:
    """The column a refused field is counted under: a frame's field (video.frames[3].quality, value[3]) under
    its column; the message names the frame."""
    return next((c for c in (VIDEO_KEY, "value") if field.startswith((f"{c}.", f"{c}["))), field)


def _invalid_utf8(texts: Iterable[str]) -> bool:
    try:
        for text in texts:
            text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


_UTF8_REFUSAL = "encoding: not valid UTF-8"


def _split_list(cell: str) -> list[str]:
    return [part.strip() for part in _LIST_SEPARATORS.split(cell) if part.strip()]


def _read_csv(lines: Iterable[str]) -> Iterator[tuple[int, _Fields | Refusal]]:
    reader = csv.reader(lines, strict=True)
    header = _csv_header(reader)
    row_fields = _pytx_csv_fields if set(header) == set(pytx_dataset.CSV_COLUMNS) else _csv_fields
    # Line numbers are physical lines (csv counts them): a quoted cell may span several.
    line_num = reader.line_num
    while True:
        start = line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line_num = reader.line_num
            yield start, Refusal(start, f"format: {exc}")
            continue
        line_num = reader.line_num
        if any(cell.strip() for cell in row):
            yield start, row_fields(start, header, row)


def _csv_header(reader: _CsvReader) -> list[str]:
    try:
        header = [name.strip().lower() for name in next(reader)]
    except (StopIteration, csv.Error):
        raise InvalidArgument("header", "no header row", "a CSV header row") from None
    if sorted(header) == sorted(pytx_dataset.CSV_COLUMNS):
        return header  # `threatexchange dataset -P --csv`
    known = set(RECORD_COLUMNS) | set(PROVENANCE_COLUMNS)
    unknown = [name for name in header if name not in known]
    if unknown:  # a misspelt column would otherwise lose its data on every line
        raise InvalidArgument("header", ", ".join(unknown), "columns among " + ", ".join(sorted(known)))
    if len(set(header)) != len(header):
        raise InvalidArgument("header", ",".join(header), "each column once")
    if not set(_REQUIRED) <= set(header):
        raise InvalidArgument("header", ",".join(header), "columns " + " and ".join(_REQUIRED))
    return header


def _pytx_csv_fields(line_no: int, header: list[str], row: list[str]) -> _Fields | Refusal:
    if len(row) != len(header):
        return Refusal(line_no, f"format: got {len(row)} cells, want {len(header)} as in the header")
    if _invalid_utf8(row):
        return Refusal(line_no, _UTF8_REFUSAL, "encoding")
    return _pytx_fields(line_no, pytx_dataset.from_csv_row(dict(zip(header, row, strict=True))))


def _pytx_fields(line_no: int, parsed: pytx_dataset.PytxLine | pytx_dataset.Problem) -> _Fields | Refusal:
    """A python-threatexchange signal as hashnode fields (its type translated), or the line's refusal."""
    if isinstance(parsed, pytx_dataset.Problem):
        return Refusal(line_no, parsed.reason, parsed.field)
    try:
        kind, value = from_pytx(parsed.signal_type, parsed.signal)
    except InvalidArgument as exc:
        return Refusal(line_no, exc.message, _column(exc.field))
    return _Fields(signal_type=kind, value=value, tags=parsed.tags)


def _csv_fields(line_no: int, header: list[str], row: list[str]) -> _Fields | Refusal:
    if len(row) != len(header):
        return Refusal(line_no, f"format: got {len(row)} cells, want {len(header)} as in the header")
    if _invalid_utf8(row):
        return Refusal(line_no, _UTF8_REFUSAL, "encoding")
    cells = dict(zip(header, row, strict=True))
    quality_text = cells.get("quality", "").strip()
    quality = None
    if quality_text:
        if not quality_text.isdigit():
            return Refusal(line_no, f"quality: got {quality_text}, want an integer 0..100", "quality")
        quality = int(quality_text)
    text = {name: _unescape_cell(cells.get(name, "")) for name in _TEXT_COLUMNS}
    return _Fields(
        signal_type=cells["signal_type"],
        value=cells["value"],
        quality=quality,
        labels=_split_list(cells.get("labels", "")),
        tags=_split_list(cells.get("tags", "")),
        reference=text["reference"],
        source=text["source"],
    )


def _read_jsonl(lines: Iterable[str]) -> Iterator[tuple[int, _Fields | Refusal]]:
    for line_no, line in enumerate(lines, start=1):
        if line.strip():
            yield line_no, _json_fields(line_no, line)


def _json_fields(line_no: int, line: str) -> _Fields | Refusal:
    if _invalid_utf8([line]):
        return Refusal(line_no, _UTF8_REFUSAL, "encoding")
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return Refusal(line_no, f"format: not JSON ({exc.msg} at column {exc.colno})")
    if not isinstance(obj, dict):
        return Refusal(line_no, f"format: got a JSON {type(obj).__name__}, want an object")
    unknown = sorted(set(obj) - set(RECORD_COLUMNS) - set(PROVENANCE_COLUMNS) - {VIDEO_KEY})
    if unknown:
        return Refusal(line_no, f"format: unknown keys {', '.join(unknown)}")
    for name in _REQUIRED:
        if name not in obj and not (name == "value" and VIDEO_KEY in obj):
            return Refusal(line_no, f"{name}: got nothing, want a string", name)
    problem = _json_type_problem(obj)
    if problem is not None:
        name, want = problem
        return Refusal(line_no, f"{name}: got {json.dumps(obj[name])[:80]}, want {want}", name)
    return _Fields(
        signal_type=obj["signal_type"],
        value=obj.get("value", ""),
        quality=obj.get("quality"),
        labels=obj.get("labels"),
        tags=obj.get("tags", ()),
        reference=obj.get("reference", ""),
        source=obj.get("source", ""),
        video=obj.get(VIDEO_KEY),
    )


def _json_type_problem(obj: Mapping[str, object]) -> tuple[str, str] | None:
    """The first key whose JSON type is wrong, with what it should be."""
    for name in ("signal_type", "value", "reference", "source"):
        if name in obj and not isinstance(obj[name], str):
            return name, "a string"
    quality = obj.get("quality")
    # bool is an int subclass in Python; true is not a quality.
    if quality is not None and (isinstance(quality, bool) or not isinstance(quality, int)):
        return "quality", "an integer 0..100"
    for name in ("labels", "tags"):
        value = obj.get(name)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            return name, "a list of strings"
    return None


def _read_te(lines: Iterable[str], default_type: str | None) -> Iterator[tuple[int, _Fields | Refusal]]:
    for line_no, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if _invalid_utf8([text]):
            yield line_no, Refusal(line_no, _UTF8_REFUSAL, "encoding")
            continue
        yield line_no, _pytx_fields(line_no, pytx_dataset.parse_line(text, default_type))


# --- writing ------------------------------------------------------------------------------------------------


def write_records(
    dest: Path | str | TextIO,
    records: Iterable[ProvenancedRecord | HashRecord],
    fmt: Format | str | None = None,
) -> int:
    """Writes records in `fmt` (None: from the file extension); returns how many were written.

    Stored records carry their provenance references (record id, author, entry id, signing time); bare
    `HashRecord`s (a conversion between formats) leave those columns empty.

    Raises:
        InvalidArgument: the format is unknown, or not given for a stream or an unknown extension.
    """
    if isinstance(dest, (str, Path)):
        path = Path(dest)
        chosen = _format(fmt) if fmt is not None else _EXTENSIONS.get(path.suffix.lower())
        if chosen is None:
            raise InvalidArgument(
                "format", path.suffix or path.name, "csv, jsonl or te (or a known extension)"
            )
        with path.open("w", encoding="utf-8", newline="") as stream:
            return _write(stream, records, chosen)
    if fmt is None:
        raise InvalidArgument("format", "nothing", "csv, jsonl or te for a stream")
    return _write(dest, records, _format(fmt))


def _write(stream: TextIO, records: Iterable[ProvenancedRecord | HashRecord], fmt: Format) -> int:
    count = 0
    if fmt is Format.CSV:
        writer = csv.writer(stream)  # RFC 4180 CRLF rows; a cell holding \r or \n is then quoted
        writer.writerow(RECORD_COLUMNS + PROVENANCE_COLUMNS)
        for item in records:
            row = _export_row(item)
            if row.pop("video", None) is not None:  # a vpdq record: its canonical features in hex, in one cell
                row["value"] = (item if isinstance(item, HashRecord) else item.record).value_hex
            for name in _TEXT_COLUMNS:
                row[name] = _escape_cell(str(row[name]))
            writer.writerow(["|".join(v) if isinstance(v, list) else v for v in row.values()])
            count += 1
    elif fmt is Format.JSONL:
        for item in records:
            stream.write(json.dumps(_export_row(item), ensure_ascii=False) + "\n")
            count += 1
    else:
        for item in records:
            record = item if isinstance(item, HashRecord) else item.record
            name, value = to_pytx(record.signal_type, record.value_hex)
            stream.write(f"{name} {value}\n")
            count += 1
    return count


def _export_row(item: ProvenancedRecord | HashRecord) -> dict[str, object]:
    record = item if isinstance(item, HashRecord) else item.record
    row = record.as_json()
    if isinstance(item, HashRecord):
        row.update(dict.fromkeys(PROVENANCE_COLUMNS, ""))
    else:
        row.update(
            record_id=item.record_id.hex(),
            author=item.author,
            entry_id=item.entry_id.hex(),
            contributed_at=format_timestamp(item.timestamp_ms),
        )
    return row


def format_timestamp(timestamp_ms: int) -> str:
    """RFC 3339 UTC with milliseconds, e.g. 2023-11-14T22:13:20.000Z."""
    moment = datetime.fromtimestamp(timestamp_ms // 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{timestamp_ms % 1000:03d}Z"


def _escape_cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def _unescape_cell(text: str) -> str:
    return text[1:] if text.startswith("'") else text
