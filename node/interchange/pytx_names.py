"""The one mapping between hashnode's signal types and python-threatexchange's (pytx): names and value strings.

Export (`hashnode export --format te`), import (`hashnode import` of what pytx writes) and the pytx exchange
adapter (`node.adapters.threatexchange`) all translate through this module; nothing else names a pytx type.

pytx's names come from its `SignalType.get_name()` (python-threatexchange 1.2.17): `pdq`, `video_md5`,
`video_sha256`, and more that hashnode does not carry (`raw_text`, `url`, `url_md5`, `trend_query`, and the
extensions' `vpdq`, `text_tlsh`, `pdq_ocr`). pytx has no `md5` and no `sha256`: hashnode's MD5 and SHA-256 of a
file's bytes are pytx's `video_md5` and `video_sha256`, the only pytx types that are a digest of the bytes.

| hashnode    | pytx           | import of the pytx name gives |
| ----------- | -------------- | ----------------------------- |
| `pdq`       | `pdq`          | `pdq`                         |
| `md5`       | `video_md5`    | `md5`                         |
| `video_md5` | `video_md5`    | (`md5`, above)                |
| `sha256`    | `video_sha256` | `sha256`                      |
| `vpdq`      | `vpdq`         | `vpdq`                        |

Several hashnode types may export as one pytx type; exactly one of them is what that pytx name imports as. pytx's
two digests import as hashnode's two digests of a file's bytes, `md5` and `sha256`: those are what `hashnode
match --file` looks up for any file, so an imported pytx `video_md5` matches the file it was computed from.
Values: pytx's `pdq` refuses upper-case hex (its `validate_signal_str`), so hex is always written in lower case;
on import a value is handed to hashnode's own parser, which accepts either case.

A signal type whose pytx string is not hashnode's text form registers its two conversions here, beside its names.
`vpdq` does: hashnode's text form of a video hash is the hex of its canonical features (docs/protocol.md, "vPDQ
features"); pytx's (`VPDQSignal`, its `VpdqCompactFeature`) is a JSON list of `"<pdq hex>,<quality>,<timestamp in
seconds>"` strings, one per frame, e.g. `["f8f8…9b22,100,0.000", "f8f8…9b23,87,1.000"]`. pytx keeps neither frame
numbers nor the sampling interval: on import frames are numbered 0, 1, 2… in list order and the interval is taken
as 1000 ms (pytx's default sampling, one frame per second); timestamps are rounded to the millisecond. Exports
write timestamps with three decimals (pytx itself writes three significant digits, e.g. `1.23e+02`: both read).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass

from node.core.errors import InvalidArgument
from node.core.vpdq import VpdqFeatures, VpdqFrame

PYTX_VPDQ_INTERVAL_MS = 1000  # pytx's default sampling (VPDQSignal.hash_from_file): one frame per second
_PYTX_VPDQ_WANT = 'a JSON list of "<pdq hex>,<quality>,<seconds>" strings (python-threatexchange vpdq)'


def _lower(value: str) -> str:
    return value.strip().lower()


def _strip(value: str) -> str:
    return value.strip()


def vpdq_to_pytx(value: str) -> str:
    """A vpdq hash's text form (hex of the canonical features) as pytx's vpdq signal string."""
    features = VpdqFeatures.from_hex(value, "value")
    return json.dumps([f"{f.pdq.hex()},{f.quality},{f.timestamp_ms / 1000:.3f}" for f in features.frames])


def vpdq_from_pytx(signal: str) -> str:
    """pytx's vpdq signal string as hashnode's text form of the hash, validated: errors name the frame, e.g.
    `value[3]` (its position in pytx's list) or `value.frames[3].timestamp_ms`."""
    try:
        items = json.loads(signal)
    except json.JSONDecodeError:
        raise InvalidArgument("value", signal[:40], _PYTX_VPDQ_WANT) from None
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise InvalidArgument("value", signal[:40], _PYTX_VPDQ_WANT)
    frames = [_pytx_frame(i, item) for i, item in enumerate(items)]
    return VpdqFeatures.create(frames, PYTX_VPDQ_INTERVAL_MS, "value").encode().hex()


def _pytx_frame(i: int, item: str) -> VpdqFrame:
    parts = item.split(",")
    want = '"<pdq hex>,<quality 0..100>,<seconds>" (python-threatexchange VpdqCompactFeature)'
    if len(parts) != 3:
        raise InvalidArgument(f"value[{i}]", item[:80], want)
    pdq_hex, quality, seconds = (part.strip() for part in parts)
    try:
        pdq = bytes.fromhex(pdq_hex) if len(pdq_hex) == 64 else b""
        at = float(seconds)
        frame = VpdqFrame(pdq, int(quality), i, round(at * 1000) if math.isfinite(at) else -1)
    except ValueError:
        raise InvalidArgument(f"value[{i}]", item[:80], want) from None
    if len(frame.pdq) != 32:
        raise InvalidArgument(f"value[{i}]", item[:80], want)
    return frame


@dataclass(frozen=True)
class PytxSignal:
    """How one hashnode signal type appears in python-threatexchange."""

    hashnode: str  # hashnode's signal type name (node.core.signals)
    pytx: str  # pytx's SignalType.get_name()
    imports: bool = True  # whether reading the pytx name gives this hashnode type (one per pytx name)
    to_pytx_value: Callable[[str], str] = _lower  # hashnode's text value -> pytx's signal string
    from_pytx_value: Callable[[str], str] = _strip  # pytx's signal string -> hashnode's text value


SIGNALS: tuple[PytxSignal, ...] = (
    PytxSignal("pdq", "pdq"),
    PytxSignal("md5", "video_md5"),
    PytxSignal("video_md5", "video_md5", imports=False),
    PytxSignal("sha256", "video_sha256"),
    PytxSignal("vpdq", "vpdq", to_pytx_value=vpdq_to_pytx, from_pytx_value=vpdq_from_pytx),
)

# tests/test_pytx_names.py checks that every mapped type is a hashnode type and every pytx name imports as exactly
# one hashnode type.
_BY_HASHNODE = {signal.hashnode: signal for signal in SIGNALS}
_IMPORTED_AS = {signal.pytx: signal for signal in SIGNALS if signal.imports}


def pytx_name(hashnode_type: str) -> str | None:
    """pytx's name for a hashnode signal type; None when pytx has no such type."""
    signal = _BY_HASHNODE.get(hashnode_type)
    return None if signal is None else signal.pytx


def pytx_names() -> tuple[str, ...]:
    """Every pytx type name hashnode exchanges, sorted."""
    return tuple(sorted(_IMPORTED_AS))


def hashnode_types_of(pytx_type: str) -> tuple[str, ...]:
    """The hashnode signal types that appear in pytx as `pytx_type` (none for a type hashnode does not carry)."""
    return tuple(sorted(signal.hashnode for signal in SIGNALS if signal.pytx == pytx_type))


def to_pytx(hashnode_type: str, value: str, field: str = "signal_type") -> tuple[str, str]:
    """A hashnode record's (signal type, text value) as pytx writes it: (pytx type name, pytx signal string).

    Raises:
        InvalidArgument: pytx has no type for `hashnode_type`.
    """
    signal = _BY_HASHNODE.get(hashnode_type)
    if signal is None:
        raise InvalidArgument(field, hashnode_type, "a type python-threatexchange carries: " + _hashnode_names())
    return signal.pytx, signal.to_pytx_value(value)


def from_pytx(type_name: str, signal_str: str, field: str = "signal_type") -> tuple[str, str]:
    """A pytx signal as hashnode reads it: (hashnode type name, text value for hashnode's parser).

    `type_name` is a pytx name (`video_sha256`) or, for files hashnode wrote before it used pytx's names, a
    hashnode name (`sha256`). The value is not validated here: hashnode's signal type parses it.

    Raises:
        InvalidArgument: a type neither pytx nor hashnode carries (e.g. pytx's `url` or `raw_text`).
    """
    name = type_name.strip()
    signal = _IMPORTED_AS.get(name)
    if signal is not None:
        return signal.hashnode, signal.from_pytx_value(signal_str)
    legacy = _BY_HASHNODE.get(name.lower())
    if legacy is not None:
        return legacy.hashnode, signal_str.strip()
    raise InvalidArgument(
        field,
        name,
        "a python-threatexchange type hashnode carries: " + ", ".join(pytx_names())
        + " (or a hashnode type: " + _hashnode_names() + ")",
    )


def _hashnode_names() -> str:
    return ", ".join(sorted(_BY_HASHNODE))
