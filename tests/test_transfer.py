"""Import and export of hash lists (node/interchange/formats.py): every line becomes a record or a refusal."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.core.errors import InvalidArgument
from node.core.records import HashRecord
from node.core.signals import REGISTRY
from node.core.taxonomy import DEFAULT_LABELS, Taxonomy
from node.interchange.formats import Format, ImportSummary, Refusal, read_records, write_records

TAXONOMY = Taxonomy.default()
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
T0 = 1_700_000_000_000
CSV_HEADER = "signal_type,value,quality,labels,tags,reference,source\n"


@dataclass(frozen=True)
class Stored:
    """Stands in for node.ledger.StoredRecord: the provenance fields an export reads."""

    record_id: bytes
    record: HashRecord
    author: str
    entry_id: bytes
    timestamp_ms: int


def read(text: str, fmt: Format | None, **kwargs: object) -> list[HashRecord | Refusal]:
    options: dict[str, object] = {"taxonomy": TAXONOMY, **kwargs}
    return list(read_records(io.StringIO(text, newline=""), fmt, **options))  # type: ignore[arg-type]


def outcome(items: list[HashRecord | Refusal]) -> list[tuple[int, str] | str]:
    """Refusals as (line, field); records as their hex value, to compare whole files at a glance."""
    return [(i.line_no, i.field) if isinstance(i, Refusal) else i.value_hex for i in items]


def record(signal_type: str = "md5", value: str = MD5, quality: int = 0, **kwargs: object) -> HashRecord:
    fields: dict[str, object] = {"labels": ["tvec.propaganda"], **kwargs}
    return HashRecord.create(
        signal_type_name=signal_type,
        value_hex=value,
        quality=quality,
        taxonomy=TAXONOMY,
        min_pdq_quality=50,
        **fields,  # type: ignore[arg-type]
    )


# --- round trip ---------------------------------------------------------------------------------------------

LABELS = [label.name for label in DEFAULT_LABELS]
NAME = st.from_regex(r"\A[a-z0-9][a-z0-9_.:-]{0,20}\Z")
# Free text as members write it, including what CSV and spreadsheets treat specially.
TEXT = st.text(
    alphabet=st.one_of(st.sampled_from("=+-@'\",|;\t\r\n #é€"), st.characters(codec="utf-8")), max_size=40
)


@st.composite
def hash_records(draw: st.DrawFn) -> HashRecord:
    kind = REGISTRY[draw(st.sampled_from(sorted(n for n, k in REGISTRY.items() if k.size)))]
    return HashRecord.create(
        signal_type_name=kind.name,
        value_hex=draw(st.binary(min_size=kind.size, max_size=kind.size)).hex(),
        quality=draw(st.integers(50, 100)) if kind.has_quality else 0,
        labels=draw(st.lists(st.sampled_from(LABELS), min_size=1, max_size=4)),
        tags=draw(st.lists(NAME, max_size=4)),
        reference=draw(TEXT),
        source=draw(TEXT),
        taxonomy=TAXONOMY,
        min_pdq_quality=50,
    )


@pytest.mark.parametrize("fmt", [Format.CSV, Format.JSONL])
@given(records=st.lists(hash_records(), max_size=8))
def test_export_then_import_yields_the_same_records(fmt: Format, records: list[HashRecord]) -> None:
    stored = [Stored(bytes([i]) * 32, r, "member-a", bytes(32), T0) for i, r in enumerate(records)]
    out = io.StringIO(newline="")
    assert write_records(out, stored, fmt) == len(records)
    assert read(out.getvalue(), fmt) == records


def test_te_round_trip_restores_hashes_from_the_callers_defaults_under_threatexchange_types() -> None:
    records = [record("pdq", PDQ, 80), record("md5", MD5), record("sha256", SHA256)]
    out = io.StringIO()
    write_records(out, records, Format.TE)
    assert out.getvalue() == f"pdq {PDQ}\nvideo_md5 {MD5}\nvideo_sha256 {SHA256}\n"
    again = read(out.getvalue(), Format.TE, default_labels=["tvec.propaganda"], default_pdq_quality=80)
    assert again == records


def test_te_video_md5_records_come_back_as_md5_the_digest_file_matching_looks_up() -> None:
    out = io.StringIO()
    write_records(out, [record("video_md5", MD5)], Format.TE)
    assert out.getvalue() == f"video_md5 {MD5}\n"
    assert read(out.getvalue(), Format.TE, default_labels=["tvec.propaganda"]) == [record("md5", MD5)]


def test_te_reads_hashnode_type_names_of_earlier_exports() -> None:
    text = f"md5 {MD5}\nsha256 {SHA256}\n"
    again = read(text, Format.TE, default_labels=["tvec.propaganda"])
    assert again == [record("md5", MD5), record("sha256", SHA256)]


def test_export_to_a_path_picks_the_format_from_the_extension(tmp_path: Path) -> None:
    records = [record(), record("sha256", SHA256)]  # what TE carries type and all
    for name in ("out.csv", "out.jsonl", "out.txt"):
        write_records(tmp_path / name, records)
        back = list(read_records(tmp_path / name, taxonomy=TAXONOMY, default_labels=["tvec.propaganda"]))
        assert back == records, name


def test_export_carries_provenance_references() -> None:
    rec = record(reference="case-1")
    rid, eid = hashlib.sha256(b"r").digest(), hashlib.sha256(b"e").digest()
    out = io.StringIO(newline="")
    write_records(out, [Stored(rid, rec, "member-a", eid, 1_700_000_000_123)], Format.CSV)
    row = next(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert row == {
        "signal_type": "md5",
        "value": MD5,
        "quality": "0",
        "labels": "tvec.propaganda",
        "tags": "",
        "reference": "case-1",
        "source": "",
        "record_id": rid.hex(),
        "author": "member-a",
        "entry_id": eid.hex(),
        "contributed_at": "2023-11-14T22:13:20.123Z",
    }
    out = io.StringIO()
    write_records(out, [Stored(rid, rec, "member-a", eid, 1_700_000_000_123)], Format.JSONL)
    obj = json.loads(out.getvalue())
    assert obj["labels"] == ["tvec.propaganda"] and obj["quality"] == 0
    assert (obj["record_id"], obj["entry_id"], obj["contributed_at"]) == (
        rid.hex(),
        eid.hex(),
        "2023-11-14T22:13:20.123Z",
    )


def test_bare_records_export_with_empty_provenance_columns() -> None:
    out = io.StringIO(newline="")
    write_records(out, [record()], Format.CSV)
    row = next(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert row["record_id"] == row["author"] == row["entry_id"] == row["contributed_at"] == ""


def test_csv_export_keeps_spreadsheets_from_evaluating_free_text() -> None:
    rec = record(reference='=HYPERLINK("http://x")', source="@cmd")
    out = io.StringIO(newline="")
    write_records(out, [rec], Format.CSV)
    row = next(csv.DictReader(io.StringIO(out.getvalue(), newline="")))
    assert (row["reference"], row["source"]) == ('\'=HYPERLINK("http://x")', "'@cmd")
    assert read(out.getvalue(), Format.CSV) == [rec]


# --- malformed lines: reported with their line number, every valid line kept --------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    fmt: Format
    text: str
    want: list[tuple[int, str] | str]  # per yielded item: (line, refused field) or the accepted value
    options: tuple[tuple[str, object], ...] = ()


CASES = [
    Case(
        "csv: bad value, unknown label, low quality, wrong cell count, bad quality; good lines around them",
        Format.CSV,
        CSV_HEADER
        + f"md5,{MD5},0,tvec.propaganda,,,\n"
        + "md5,zz,0,tvec.propaganda,,,\n"
        + f"md5,{MD5},0,no.such.label,,,\n"
        + f"pdq,{PDQ},10,tvec.propaganda,,,\n"
        + f"md5,{MD5},0,tvec.propaganda\n"
        + f"md5,{MD5},high,tvec.propaganda,,,\n"
        + f"sha256,{SHA256},0,tvec.manifesto|tvec.glorification,a;b,,\n",
        [MD5, (3, "value"), (4, "labels"), (5, "quality"), (6, "format"), (7, "quality"), SHA256],
    ),
    Case(
        "csv: a quoted cell spanning lines moves the numbers of the lines after it",
        Format.CSV,
        CSV_HEADER + f'md5,{MD5},0,tvec.propaganda,,"two\nlines",\n\nmd5,zz,0,tvec.propaganda,,,\n',
        [MD5, (5, "value")],
    ),
    Case(
        "csv: a broken quote is refused and reading goes on",
        Format.CSV,
        CSV_HEADER + f'md5,"{MD5}"x,0,tvec.propaganda,,,\nmd5,{MD5},0,tvec.propaganda,,,\n',
        [(2, "format"), MD5],
    ),
    Case(
        "csv: a pdq row without quality needs a default",
        Format.CSV,
        CSV_HEADER + f"pdq,{PDQ},,tvec.propaganda,,,\n",
        [(2, "quality")],
    ),
    Case(
        "csv: an empty labels cell takes the default labels",
        Format.CSV,
        "signal_type,value,labels\n" + f"md5,{MD5},\n",
        [MD5],
        (("default_labels", ["tvec.manifesto"]),),
    ),
    Case(
        "csv: without default labels a row without labels is refused",
        Format.CSV,
        "signal_type,value\n" + f"md5,{MD5}\n",
        [(2, "labels")],
    ),
    Case(
        "jsonl: not JSON, not an object, wrong types, unknown key, missing value",
        Format.JSONL,
        f'{{"signal_type": "md5", "value": "{MD5}", "labels": ["tvec.propaganda"]}}\n'
        + "{not json\n"
        + "[1, 2]\n"
        + f'{{"signal_type": "pdq", "value": "{PDQ}", "quality": "87", "labels": ["tvec.propaganda"]}}\n'
        + f'{{"signal_type": "pdq", "value": "{PDQ}", "quality": true, "labels": ["tvec.propaganda"]}}\n'
        + f'{{"signal_type": "md5", "value": "{MD5}", "labels": "tvec.propaganda"}}\n'
        + f'{{"signal_type": "md5", "value": "{MD5}", "labels": ["tvec.propaganda"], "lables": []}}\n'
        + '{"signal_type": "md5", "labels": ["tvec.propaganda"]}\n'
        + "\n"
        + f'{{"signal_type": "sha256", "value": "{SHA256}", "labels": ["tvec.manifesto"], "tags": ["x"]}}\n',
        [
            MD5,
            (2, "format"),
            (3, "format"),
            (4, "quality"),
            (5, "quality"),
            (6, "labels"),
            (7, "format"),
            (8, "value"),
            SHA256,
        ],
    ),
    Case(
        "te: comments and blank lines skipped; no hash, a hash with more, unknown type and short hash refused",
        Format.TE,
        f"# exported\n\nmd5 {MD5}\npdq\nmd5 {MD5} extra\nurl_md5 {MD5}\nmd5 {MD5[:-1]}\n"
        f"  sha256   {SHA256}  \n",
        [MD5, (4, "format"), (5, "value"), (6, "signal_type"), (7, "value"), SHA256],
        (("default_labels", ["tvec.propaganda"]),),
    ),
    Case(
        "te: pdq lines are refused unless the caller vouches for their quality",
        Format.TE,
        f"pdq {PDQ}\n",
        [(1, "quality")],
        (("default_labels", ["tvec.propaganda"]),),
    ),
    Case(
        "te: the vouched quality still has to meet the minimum",
        Format.TE,
        f"pdq {PDQ}\n",
        [(1, "quality")],
        (("default_labels", ["tvec.propaganda"]), ("default_pdq_quality", 40)),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_line_is_a_record_or_a_refusal(case: Case) -> None:
    assert outcome(read(case.text, case.fmt, **dict(case.options))) == case.want


def test_refusal_reads_as_line_and_reason() -> None:
    [refusal] = read(CSV_HEADER + "md5,zz,0,tvec.propaganda,,,\n", Format.CSV)
    assert str(refusal) == "line 2: value: got zz, want 32 hex characters for md5"


def test_invalid_utf8_refuses_that_line_only(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_bytes(f"md5 {MD5}\nmd5 \xff\xfe\n".encode("latin-1") + f"sha256 {SHA256}\n".encode())
    items = list(read_records(path, taxonomy=TAXONOMY, default_labels=["tvec.propaganda"]))
    assert outcome(items) == [MD5, (2, "encoding"), SHA256]


def test_byte_order_mark_of_a_spreadsheet_export_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (CSV_HEADER + f"md5,{MD5},0,tvec.propaganda,,,\n").encode())
    assert outcome(list(read_records(path, taxonomy=TAXONOMY))) == [MD5]


def test_summary_counts_accepted_and_refused_by_field() -> None:
    summary = ImportSummary()
    items = read(CASES[0].text, Format.CSV)
    assert list(summary.tally(items)) == items
    assert (summary.accepted, summary.refused_total) == (2, 5)
    assert summary.refused == {"value": 1, "labels": 1, "quality": 2, "format": 1}
    assert str(summary) == "2 accepted, 5 refused (format: 1, labels: 1, quality: 2, value: 1)"


# --- whole-file errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "got"),
    [
        # misspelt: its data would be lost on every line
        (f"signal_type,value,lables\nmd5,{MD5},x\n", "lables"),
        (f"signal_type,labels\nmd5,{MD5}\n", "signal_type,labels"),
        (f"signal_type,value,value\nmd5,{MD5},{MD5}\n", "signal_type,value,value"),
        ("", "no header row"),
    ],
    ids=["unknown column", "missing value column", "duplicate column", "empty file"],
)
def test_unusable_csv_header_rejects_the_file(text: str, got: str) -> None:
    with pytest.raises(InvalidArgument, match=f"header: got {got}, want"):
        read(text, Format.CSV)


def test_invalid_default_labels_are_rejected_before_reading() -> None:
    with pytest.raises(InvalidArgument, match="default_labels: got nope"):
        read(f"md5 {MD5}\n", Format.TE, default_labels=["nope"])


def test_writing_to_a_stream_needs_a_format() -> None:
    with pytest.raises(InvalidArgument, match="format"):
        write_records(io.StringIO(), [record()])


# --- format detection ---------------------------------------------------------------------------------------

SAMPLES = {
    Format.CSV: CSV_HEADER + f"md5,{MD5},0,tvec.propaganda,,,\n",
    Format.JSONL: f'{{"signal_type": "md5", "value": "{MD5}", "labels": ["tvec.propaganda"]}}\n',
    Format.TE: f"md5 {MD5}\n",
}


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.csv", Format.CSV),
        ("a.JSONL", Format.JSONL),
        ("a.ndjson", Format.JSONL),
        ("a.txt", Format.TE),
        ("a.dat", Format.CSV),
        ("a.dat", Format.JSONL),
        ("a.dat", Format.TE),
        ("noext", Format.TE),
    ],
)
def test_format_is_detected_by_extension_else_by_content(tmp_path: Path, name: str, fmt: Format) -> None:
    path = tmp_path / name
    path.write_text(SAMPLES[fmt])
    items = list(read_records(path, taxonomy=TAXONOMY, default_labels=["tvec.propaganda"]))
    assert outcome(items) == [MD5]


def test_extension_wins_over_content(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text(SAMPLES[Format.TE])
    with pytest.raises(InvalidArgument, match="header"):
        list(read_records(path, taxonomy=TAXONOMY))


def test_stream_format_is_detected_from_its_first_line() -> None:
    assert outcome(read(SAMPLES[Format.JSONL], None)) == [MD5]


def test_undetectable_content_is_rejected() -> None:
    with pytest.raises(InvalidArgument, match="format: got hello world again"):
        read("hello world again\n", None)
