"""Hash records and their canonical encoding (docs/protocol.md, "Hash record items")."""

from __future__ import annotations

import hashlib
import itertools
import struct
from dataclasses import dataclass

from node.core.entry import MAX_CONTRIBUTION_ITEM_BYTES, MAX_ITEM_BYTES
from node.core.errors import EncodingError, InvalidArgument
from node.core.signals import REGISTRY, VPDQ, check_quality, signal_type
from node.core.taxonomy import Taxonomy, check_tags
from node.core.vpdq import VpdqFeatures, check_matchable

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
        video: VpdqFeatures | None = None,
        field: str = "record",
    ) -> HashRecord:
        """Validates a contribution as a member submits it; every error names the field.

        A `vpdq` record takes its frame features in `video` (already validated by `VpdqFeatures.create`) and no
        hex value; its quality is derived from the frames (`VpdqFeatures.record_quality`): 0 or that value.
        """
        kind = signal_type(signal_type_name, f"{field}.signal_type")
        if kind is VPDQ:
            value, quality = _video_value(value_hex, quality, video, field)
        else:
            if video is not None:
                raise InvalidArgument(f"{field}.video", "frame features", f"none for {kind.name} (vpdq only)")
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
    def features(self) -> VpdqFeatures:
        """A vpdq record's frame features, decoded from its value.

        Raises:
            EncodingError: the record is not a vpdq record, or its value does not decode.
        """
        if self.signal_type != VPDQ.name:
            raise EncodingError(f"record item: {self.signal_type} records have no frame features")
        return VpdqFeatures.decode(self.value)

    @property
    def value_hex(self) -> str:
        return self.value.hex()

    def as_json(self) -> dict[str, object]:
        """The record's fields as JSON-ready values (hex hash, lists), the shape exports and `--json` output use.
        A vpdq record's `value` is empty and its features are `video` (`VpdqFeatures.as_json`)."""
        video = self.signal_type == VPDQ.name
        doc: dict[str, object] = {
            "signal_type": self.signal_type,
            "value": "" if video else self.value_hex,
            "quality": self.quality,
            "labels": list(self.labels),
            "tags": list(self.tags),
            "reference": self.reference,
            "source": self.source,
        }
        if video:
            doc["video"] = self.features.as_json()
        return doc

    def describe_hash(self) -> str:
        """The hash for people: `pdq f8f8…` (hex), or for vpdq a summary of the frames."""
        if self.signal_type == VPDQ.name:
            return f"vpdq {self.features.summary()}"
        return f"{self.signal_type} {self.value_hex}"

    def encode(self) -> bytes:
        # Hand-inlined form of the canonical Writer calls (string, blob, u8, strings, strings, string, string):
        # contributions are encoded by the million, and the generic writer costs several times more.
        parts = [_string(self.signal_type), _U32.pack(len(self.value)), self.value, _U8.pack(self.quality)]
        for values in (self.labels, self.tags):
            parts.append(_U16.pack(len(values)))
            parts.extend(_string(v) for v in values)
        parts.append(_string(self.reference))
        parts.append(_string(self.source))
        return b"".join(parts)

    @classmethod
    def decode(cls, data: bytes) -> HashRecord:
        """Decodes a record item; rejects any encoding that is not the canonical one."""
        try:
            record, end = _decode(data)
        except (struct.error, UnicodeDecodeError, IndexError) as exc:
            raise EncodingError(f"record item: malformed ({exc})") from None
        if end != len(data):
            raise EncodingError(f"record item: {len(data) - end} trailing bytes")
        for name, values in (("labels", record.labels), ("tags", record.tags)):
            # Strictly ascending means sorted and unique; str order (code points) is UTF-8 byte order.
            if len(values) > 1 and not all(a < b for a, b in itertools.pairwise(values)):
                raise EncodingError(f"record item: {name} not sorted and unique")
        return record


def decode_item(item: bytes) -> HashRecord:
    """A contribution item as every reader takes it (receipt rule R9, bundle rule record.item): the canonical
    record encoding, of a known signal type, with a value of that type's size. The one place that says so.

    Raises:
        EncodingError: any of the three does not hold.
    """
    record = HashRecord.decode(item)
    kind = REGISTRY.get(record.signal_type)
    if kind is None:
        raise EncodingError(
            f"record item: signal_type: got {record.signal_type[:40]!r}, want one of {', '.join(sorted(REGISTRY))}"
        )
    if kind is VPDQ:
        if len(item) > MAX_CONTRIBUTION_ITEM_BYTES:
            raise EncodingError(f"record item: got {len(item)} bytes, want at most {MAX_CONTRIBUTION_ITEM_BYTES}")
        features = VpdqFeatures.decode(record.value)
        if record.quality != features.record_quality:
            raise EncodingError(
                f"record item: quality: got {record.quality}, want {features.record_quality} for vpdq (the "
                "percentage of frames of quality >= 50, rounded up)"
            )
        return record
    if len(item) > MAX_ITEM_BYTES:
        raise EncodingError(f"record item: got {len(item)} bytes, want at most {MAX_ITEM_BYTES} for {kind.name}")
    if len(record.value) != kind.size:
        raise EncodingError(f"record item: value: got {len(record.value)} bytes, want {kind.size} for {kind.name}")
    return record


def _video_value(value_hex: str, quality: int, video: VpdqFeatures | None, field: str) -> tuple[bytes, int]:
    """A vpdq contribution's value (the encoded features) and quality byte."""
    if value_hex.strip():
        raise InvalidArgument(f"{field}.value", value_hex, "empty for vpdq: the frame features go in video")
    if video is None:
        raise InvalidArgument(f"{field}.video", "nothing", "the video's frame features for vpdq")
    check_matchable(video, f"{field}.video")
    if quality not in (0, video.record_quality):
        raise InvalidArgument(
            f"{field}.quality", quality,
            f"0 or {video.record_quality} for vpdq (derived: the percentage of frames of quality >= 50, rounded up)",
        )
    return video.encode(), video.record_quality


_U8 = struct.Struct(">B")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


def _string(value: str) -> bytes:
    data = value.encode("utf-8")
    if len(data) > 0xFFFF:
        raise EncodingError(f"string: got {len(data)} bytes, want at most 65535")
    return _U16.pack(len(data)) + data


_unpack_u16 = _U16.unpack_from
_unpack_u32 = _U32.unpack_from
_new_record = object.__new__


def _truncated(pos: int, size: int) -> EncodingError:
    return EncodingError(f"record item: truncated at byte {pos}, needed {size} more")


def _read_strings(data: bytes, pos: int) -> tuple[tuple[str, ...], int]:
    (count,) = _unpack_u16(data, pos)
    pos += 2
    values = []
    for _ in range(count):
        end = pos + 2 + _unpack_u16(data, pos)[0]
        if end > len(data):
            raise _truncated(pos + 2, end - pos - 2)
        values.append(data[pos + 2 : end].decode("utf-8"))
        pos = end
    return tuple(values), pos


def _read_string(data: bytes, pos: int) -> tuple[str, int]:
    end = pos + 2 + _unpack_u16(data, pos)[0]
    if end > len(data):
        raise _truncated(pos + 2, end - pos - 2)
    return data[pos + 2 : end].decode("utf-8"), end


def item_labels(data: bytes, start: int = 0) -> bytes:
    """The labels section (u16 count ‖ each u16 length + UTF-8) of the record item encoded at `start` in
    `data`, as it is stored: matching reads a hit's labels without decoding the record (`decode_labels` decodes
    them). The item was checked when it was stored; a malformed one raises EncodingError."""
    try:
        pos = start + 2 + _unpack_u16(data, start)[0]
        start = pos + 4 + _unpack_u32(data, pos)[0] + 1  # past the value and the quality byte
        (count,) = _unpack_u16(data, start)
        end = start + 2
        for _ in range(count):
            end += 2 + _unpack_u16(data, end)[0]
    except struct.error as exc:
        raise EncodingError(f"record item: malformed ({exc})") from None
    if end > len(data):
        raise _truncated(len(data), end - len(data))
    return data[start:end]


def encode_labels(labels: tuple[str, ...]) -> bytes:
    """The labels section of a record item holding `labels` (what `item_labels` reads)."""
    return _U16.pack(len(labels)) + b"".join(_string(label) for label in labels)


def decode_labels(section: bytes) -> tuple[str, ...]:
    """The labels of an `item_labels` section."""
    try:
        labels, end = _read_strings(section, 0)
    except (struct.error, UnicodeDecodeError) as exc:
        raise EncodingError(f"record item: malformed labels ({exc})") from None
    if end != len(section):
        raise EncodingError(f"record item: {len(section) - end} bytes after the labels")
    return labels


def _decode(data: bytes) -> tuple[HashRecord, int]:
    # Hand-inlined like `encode`: replicas decode every record they receive, by the million. Reads past the
    # end raise struct.error or IndexError (HashRecord.decode turns them into EncodingError) or are checked.
    signal, pos = _read_string(data, 0)
    end = pos + 4 + _unpack_u32(data, pos)[0]
    if end > len(data):
        raise _truncated(pos + 4, end - pos - 4)
    value = data[pos + 4 : end]
    quality = data[end]
    labels, pos = _read_strings(data, end + 1)
    tags, pos = _read_strings(data, pos)
    reference, pos = _read_string(data, pos)
    source, pos = _read_string(data, pos)
    # The fields are validated above; skipping the frozen dataclass's __init__ (one setattr per field) halves
    # the cost of building the object. Equality, hashing and repr are the dataclass's as usual.
    record = _new_record(HashRecord)
    record.__dict__.update(
        signal_type=signal, value=bytes(value), quality=quality, labels=labels, tags=tags,
        reference=reference, source=source,
    )
    return record, pos
