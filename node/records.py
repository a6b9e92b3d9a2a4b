"""Hash records and their canonical encoding (docs/protocol.md, "Hash record items")."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from node.canonical import Reader, Writer
from node.errors import EncodingError, InvalidArgument
from node.signals import check_quality, signal_type
from node.taxonomy import Taxonomy, check_tags

RECORD_ID_TAG = b"hashnode.record.v1\x00"
MAX_TEXT = 256  # bytes of `reference` and `source`


def record_id(entry_id: bytes, index: int) -> bytes:
    """A record's id: SHA-256 over a domain tag, the id of the entry holding it and its position there."""
    return hashlib.sha256(RECORD_ID_TAG + entry_id + index.to_bytes(4, "big")).digest()


@dataclass(frozen=True)
class HashRecord:
    """One contributed hash. Fields are canonical: labels and tags sorted and unique, value raw bytes."""

    signal_type: str
    value: bytes
    quality: int
    labels: tuple[str, ...]
    tags: tuple[str, ...] = ()
    reference: str = ""
    source: str = ""

    @classmethod
    def create(
        cls,
        *,
        signal_type_name: str,
        value_hex: str,
        quality: int,
        labels: list[str] | tuple[str, ...],
        tags: list[str] | tuple[str, ...] = (),
        reference: str = "",
        source: str = "",
        taxonomy: Taxonomy,
        min_pdq_quality: int,
        field: str = "record",
    ) -> HashRecord:
        """Validates a contribution as a member submits it; every error names the field."""
        kind = signal_type(signal_type_name, f"{field}.signal_type")
        value = kind.parse(value_hex, f"{field}.value")
        check_quality(kind, quality, min_pdq_quality, f"{field}.quality")
        for name, text in (("reference", reference), ("source", source)):
            if len(text.encode("utf-8")) > MAX_TEXT:
                raise InvalidArgument(f"{field}.{name}", f"{len(text)} characters", f"at most {MAX_TEXT} bytes")
        return cls(
            signal_type=kind.name,
            value=value,
            quality=quality,
            labels=taxonomy.check_labels(labels, f"{field}.labels"),
            tags=check_tags(tags, f"{field}.tags"),
            reference=reference,
            source=source,
        )

    @property
    def value_hex(self) -> str:
        return self.value.hex()

    def encode(self) -> bytes:
        return (
            Writer()
            .string(self.signal_type)
            .blob(self.value)
            .u8(self.quality)
            .strings(self.labels)
            .strings(self.tags)
            .string(self.reference)
            .string(self.source)
            .getvalue()
        )

    @classmethod
    def decode(cls, data: bytes) -> HashRecord:
        """Decodes a record item; rejects any encoding that is not the canonical one."""
        reader = Reader(data, "record item")
        record = cls(
            signal_type=reader.string(),
            value=reader.blob(),
            quality=reader.u8(),
            labels=reader.strings(),
            tags=reader.strings(),
            reference=reader.string(),
            source=reader.string(),
        )
        reader.end()
        for name, values in (("labels", record.labels), ("tags", record.tags)):
            if list(values) != sorted(set(values)):
                raise EncodingError(f"record item: {name} not sorted and unique")
        return record
