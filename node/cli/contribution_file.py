"""Hashes to contribute, from command-line arguments or from a file, checked before anything is sent.

Files are read by `node.interchange.formats` (CSV, JSON Lines, or threatexchange "type hash" lines; see there for the
columns), the same reader as `hashnode import`. `submit --file` is all or nothing: one signed entry, so every
line must be good; `hashnode import` instead submits every good line and reports the others.

Checks here are the ones that need no node: signal type, hex and length, quality range, label count and tag
syntax. Whether labels are in the consortium's taxonomy and whether PDQ quality meets the node's minimum is
decided by the node, which knows both (`ClientTaxonomy` stands in for the taxonomy on this side).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from node.api import convert
from node.api.gen.hashnode.v1 import types_pb2
from node.core.errors import HashnodeError, InvalidArgument
from node.core.records import HashRecord
from node.core.signals import VPDQ, typed_signal_type
from node.core.taxonomy import MAX_LABELS, Taxonomy, check_tags
from node.interchange.formats import Refusal, read_numbered_records

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


@dataclass(frozen=True)
class ClientTaxonomy(Taxonomy):
    """The taxonomy as a client sees it: not knowing the consortium's labels, it checks their number only.

    Labels are canonicalised (sorted, unique) as the node does; the node refuses labels outside its taxonomy.
    """

    def check_labels(self, labels: list[str] | tuple[str, ...], field: str = "labels") -> tuple[str, ...]:
        if not labels:
            raise InvalidArgument(field, "nothing", "at least one taxonomy label")
        if len(labels) > MAX_LABELS:
            raise InvalidArgument(field, f"{len(labels)} labels", f"at most {MAX_LABELS}")
        return tuple(sorted(set(labels)))


CLIENT_TAXONOMY = ClientTaxonomy({})


def record_to_proto(record: HashRecord) -> types_pb2.HashRecord:
    """A checked record as Submit takes it (a vpdq record's features in `video`)."""
    return convert.record_to_proto(record)


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

    kind = typed_signal_type(_text(fields, "signal_type", name("signal_type")), name("signal_type"))
    if kind is VPDQ:
        raise InvalidArgument(
            name("signal_type"), kind.name, "a type given by its hex hash (a video's vpdq features come from --file)"
        )
    value = kind.parse(_text(fields, "value", name("value")), name("value"))
    labels = split_list(fields.get("labels"), name("labels"))
    CLIENT_TAXONOMY.check_labels(labels, name("labels"))
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


def read_contribution_file(
    path: Path,
    fmt: str | None = None,
    *,
    default_labels: Sequence[str] = (),
    default_pdq_quality: int | None = None,
) -> list[types_pb2.HashRecord]:
    """All records of a hash list file; raises BadLines listing every bad line (nothing is sent then)."""
    problems: list[str] = []
    records: list[types_pb2.HashRecord] = []
    items = read_numbered_records(
        path,
        fmt,
        default_labels=default_labels,
        taxonomy=CLIENT_TAXONOMY,
        min_pdq_quality=0,
        default_pdq_quality=default_pdq_quality,
    )
    try:
        for _, item in items:
            if isinstance(item, Refusal):
                problems.append(str(item))
            else:
                records.append(record_to_proto(item))
    except FileNotFoundError:
        raise InvalidArgument("--file", str(path), "an existing file") from None
    if problems:
        raise BadLines(path, problems)
    if not 1 <= len(records) <= MAX_RECORDS:
        raise InvalidArgument("--file", f"{len(records)} records", f"1..{MAX_RECORDS} (split larger files)")
    return records
