"""Strict reading of the JSON documents people carry around: bundle files and consortium files.

JSON (RFC 8259) leaves room that two readers may fill differently: duplicate member names (first or last
wins?), numbers beyond 2^53, `NaN`, lone surrogates, a byte order mark. A document a verifier accepts must mean
the same thing to every implementation, so these are all errors here (docs/protocol.md, "Bundle files"), and
every field is read by a typed accessor that names its path (`related[2].entry.items[0]`) when it is missing,
unknown or of the wrong shape.

Errors carry a `kind`, one of `utf8`, `json`, `field_unknown`, `field_missing`, `field_invalid`; the caller
prefixes it with the document's rule family (`file.` for bundles, `consortium.` for consortium files).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from typing import NoReturn

from node.core.errors import VerificationError

MAX_DEPTH = 32  # bundle files nest 5 deep; deeper input is refused before it can exhaust a recursive reader
MAX_U64 = 2**64 - 1
MAX_SAFE_INT = 2**53 - 1  # JSON numbers beyond it are not exact in every reader; 64-bit fields are strings
_U64_TEXT = re.compile(r"0|[1-9][0-9]{0,19}")
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")


class DocumentError(VerificationError):
    """A JSON document breaks the document rules; `kind` says which (see the module docstring)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def fail(kind: str, path: str, message: str) -> NoReturn:
    raise DocumentError(kind, f"{path}: {message}" if path else message)


def _pairs(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            fail("json", "", f"member name {key!r} appears twice in one object")
        result[key] = value
    return result


class _Float(float):
    """A JSON number written with a fraction or an exponent: accepted only where a field allows fractions."""


# A number token whose value is zero and that carries a minus sign, in any spelling (-0, -0.0, -0e5): refused,
# because readers disagree on whether it is 0 or a distinct negative zero. Decided on the text, so that a
# negative number too small for a float (-1e-400, which rounds to -0.0) is not mistaken for one.
_NEGATIVE_ZERO = re.compile(r"-0(?:\.0+)?(?:[eE][-+]?[0-9]+)?")


def _constant(name: str) -> NoReturn:
    fail("json", "", f"{name} is not JSON")


def _int(text: str) -> int:
    if text == "-0":
        fail("json", "", "-0 is not a number a document may hold")
    return int(text)


def _float(text: str) -> _Float:
    if _NEGATIVE_ZERO.fullmatch(text):
        fail("json", "", f"{text} (a negative zero) is not a number a document may hold")
    return _Float(text)


def _depth(value: object, depth: int = 1) -> int:
    if isinstance(value, dict):
        return max((_depth(v, depth + 1) for v in value.values()), default=depth)
    if isinstance(value, list):
        return max((_depth(v, depth + 1) for v in value), default=depth)
    return depth


def _check_text(value: object) -> None:
    """Every string and member name is Unicode: no lone surrogate from a `\\ud800` escape."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            fail("json", "", "a string holds a lone surrogate (\\ud800-\\udfff escape)")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_text(item)
    elif isinstance(value, list):
        for item in value:
            _check_text(item)


def loads(data: bytes) -> dict[str, object]:
    """Parses a document: UTF-8 without a byte order mark, one JSON object, strictly.

    Raises:
        DocumentError: `utf8` when the bytes are not UTF-8 or start with a BOM; `json` for anything RFC 8259
            does not allow, a member name twice in one object (compared after unescaping: "a" and "\\u0061"
            are one name), NaN or Infinity, a negative zero (-0, -0.0, -0e5), a lone surrogate, nesting deeper
            than MAX_DEPTH (the top-level object is at depth 1), or a top level that is not an object.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        fail("utf8", "", "starts with a byte order mark")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        fail("utf8", "", f"not UTF-8 (byte {exc.start})")
    if _raw_depth(text) > MAX_DEPTH:
        fail("json", "", f"nested deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(
            text, object_pairs_hook=_pairs, parse_constant=_constant, parse_int=_int, parse_float=_float
        )
    except DocumentError:
        raise
    except (ValueError, RecursionError) as exc:
        fail("json", "", f"not JSON: {exc}")
    _check_text(value)
    if not isinstance(value, dict):
        fail("json", "", f"want a JSON object at the top level, got {type_name(value)}")
    return value


def _raw_depth(text: str) -> int:
    """Nesting depth of brackets outside strings, counted before parsing (a recursive parser would overflow)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def type_name(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    if value is None:
        return "null"
    return f"a TOML {type(value).__name__}"  # a consortium file in TOML: a date, time or datetime


class Obj:
    """One JSON object being read: typed accessors, then `done()` refuses the members nobody asked for."""

    def __init__(self, value: object, path: str) -> None:
        if not isinstance(value, dict):
            fail("field_invalid", path or "(top level)", f"got {type_name(value)}, want an object")
        self.value: dict[str, object] = value
        self.path = path
        self._read: set[str] = set()

    def _at(self, name: str) -> str:
        shown = name if _NAME.fullmatch(name) else json.dumps(name)  # errors stay one printable line
        return f"{self.path}.{shown}" if self.path else shown

    def _get(self, name: str, required: bool) -> object:
        self._read.add(name)
        if name not in self.value:
            if required:
                fail("field_missing", self._at(name), "missing")
            return None
        value = self.value[name]
        if value is None:
            fail("field_invalid", self._at(name), "got null, want a value (omit the field instead)")
        return value

    def has(self, name: str) -> bool:
        return name in self.value

    def string(self, name: str, *, required: bool = False, default: str = "") -> str:
        value = self._get(name, required)
        if value is None:
            return default
        if not isinstance(value, str):
            fail("field_invalid", self._at(name), f"got {type_name(value)}, want a string")
        return value

    def boolean(self, name: str) -> bool:
        value = self._get(name, False)
        if value is None:
            return False
        if not isinstance(value, bool):
            fail("field_invalid", self._at(name), f"got {_shown(value)}, want true or false")
        return value

    def u32(self, name: str, *, required: bool = False) -> int:
        """A 32-bit unsigned field: a JSON number, integral, no fraction or exponent."""
        value = self._get(name, required)
        if value is None:
            return 0
        if isinstance(value, bool) or not isinstance(value, int) or isinstance(value, _Float):
            fail("field_invalid", self._at(name), f"got {_shown(value)}, want an integer 0..4294967295")
        if not 0 <= value <= 0xFFFFFFFF:
            fail("field_invalid", self._at(name), f"got {value}, want an integer 0..4294967295")
        return value

    def u64_text(self, name: str, *, required: bool = False) -> int | None:
        """A 64-bit unsigned field written as a decimal string (as the protobuf JSON mapping writes it)."""
        value = self._get(name, required)
        if value is None:
            return None
        if not isinstance(value, str) or not _U64_TEXT.fullmatch(value) or int(value) > MAX_U64:
            fail("field_invalid", self._at(name), f"got {_shown(value)}, want a decimal string 0..{MAX_U64}")
        return int(value)

    def number(self, name: str, low: float, high: float) -> float | None:
        """A number that may have a fraction (e.g. hours), low..high."""
        value = self._get(name, False)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            fail("field_invalid", self._at(name), f"got {_shown(value)}, want a number {low:g}..{high:g}")
        return float(value)

    def integer(self, name: str, low: int, high: int) -> int | None:
        """An integer JSON number (or TOML integer) low..high, high at most 2^53 - 1."""
        value = self._get(name, False)
        if value is None:
            return None
        if isinstance(value, (bool, _Float)) or not isinstance(value, int) or not low <= value <= high:
            fail("field_invalid", self._at(name), f"got {_shown(value)}, want an integer {low}..{high}")
        return value

    def base64(self, name: str, *, required: bool = False) -> bytes:
        value = self._get(name, required)
        return b"" if value is None else decode_base64(value, self._at(name))

    def hex_id(self, name: str, *, required: bool = False) -> str:
        """A 32-byte id as 64 lowercase hex digits."""
        value = self.string(name, required=required)
        if (value or required) and not _HEX64.fullmatch(value):
            fail("field_invalid", self._at(name), f"got {_shown(value)}, want 64 lowercase hex digits")
        return value

    def array(self, name: str, *, required: bool = False) -> list[tuple[str, object]]:
        """The elements of an array field with their paths (`name[i]`)."""
        value = self._get(name, required)
        if value is None:
            return []
        if not isinstance(value, list):
            fail("field_invalid", self._at(name), f"got {type_name(value)}, want an array")
        return [(f"{self._at(name)}[{i}]", item) for i, item in enumerate(value)]

    def obj(self, name: str, *, required: bool = False) -> Obj | None:
        value = self._get(name, required)
        return None if value is None else Obj(value, self._at(name))

    def done(self) -> None:
        unknown = sorted(set(self.value) - self._read)
        if unknown:
            fail("field_unknown", self._at(unknown[0]), "unknown field")


def _shown(value: object) -> str:
    if isinstance(value, _Float):
        text = repr(float(value))
    else:
        # A TOML document (the consortium file) may hold values JSON has no name for: dates and times.
        text = json.dumps(value, default=lambda v: f"a TOML {type(v).__name__} {v.isoformat()}"
                          if hasattr(v, "isoformat") else type(v).__name__)
    return text if len(text) <= 40 else text[:37] + "..."


def decode_base64(value: object, path: str) -> bytes:
    """Standard base64 (RFC 4648 section 4) with padding, and canonical: the unused bits of the last
    character are zero, so every byte string has exactly one text."""
    if not isinstance(value, str) or not _BASE64.fullmatch(value):
        fail("field_invalid", path, f"got {_shown(value)}, want standard base64 with padding")
    try:
        data = base64.b64decode(value, validate=True)
    except binascii.Error:
        fail("field_invalid", path, "not base64")
    if base64.b64encode(data).decode("ascii") != value:
        fail("field_invalid", path, "not canonical base64 (unused bits of the last character are not zero)")
    return data


def strings(items: Iterable[tuple[str, object]]) -> list[str]:
    """The elements of an array of strings."""
    out = []
    for path, item in items:
        if not isinstance(item, str):
            fail("field_invalid", path, f"got {type_name(item)}, want a string")
        out.append(item)
    return out
