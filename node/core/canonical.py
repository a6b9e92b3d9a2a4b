"""Canonical binary encoding primitives (docs/protocol.md, "Encoding primitives").

All integers are unsigned big-endian. Strings are UTF-8 with a u16 length prefix; byte strings carry a u32 length
prefix; fixed-size fields (ids, keys) have no prefix. A decoder accepts exactly one encoding per value: trailing
bytes, short reads and invalid UTF-8 are errors.
"""

from __future__ import annotations

import struct

from node.core.errors import EncodingError

_U8 = struct.Struct(">B")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")


class Writer:
    """Appends canonical fields to a buffer."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def raw(self, data: bytes) -> Writer:
        self._parts.append(bytes(data))
        return self

    def fixed(self, data: bytes, size: int) -> Writer:
        if len(data) != size:
            raise EncodingError(f"fixed field: got {len(data)} bytes, want {size}")
        return self.raw(data)

    def u8(self, value: int) -> Writer:
        return self.raw(_U8.pack(value))

    def u16(self, value: int) -> Writer:
        return self.raw(_U16.pack(value))

    def u32(self, value: int) -> Writer:
        return self.raw(_U32.pack(value))

    def u64(self, value: int) -> Writer:
        return self.raw(_U64.pack(value))

    def string(self, value: str) -> Writer:
        data = value.encode("utf-8")
        if len(data) > 0xFFFF:
            raise EncodingError(f"string: got {len(data)} bytes, want at most 65535")
        return self.u16(len(data)).raw(data)

    def blob(self, value: bytes) -> Writer:
        return self.u32(len(value)).raw(value)

    def strings(self, values: list[str] | tuple[str, ...]) -> Writer:
        self.u16(len(values))
        for value in values:
            self.string(value)
        return self

    def getvalue(self) -> bytes:
        return b"".join(self._parts)


class Reader:
    """Reads canonical fields; every read checks bounds."""

    def __init__(self, data: bytes, what: str = "data") -> None:
        self._data = memoryview(bytes(data))
        self._pos = 0
        self._what = what

    def _take(self, size: int) -> bytes:
        end = self._pos + size
        if end > len(self._data):
            raise EncodingError(f"{self._what}: truncated at byte {self._pos}, needed {size} more")
        chunk = self._data[self._pos : end].tobytes()
        self._pos = end
        return chunk

    def fixed(self, size: int) -> bytes:
        return self._take(size)

    def u8(self) -> int:
        return int(_U8.unpack(self._take(1))[0])

    def u16(self) -> int:
        return int(_U16.unpack(self._take(2))[0])

    def u32(self) -> int:
        return int(_U32.unpack(self._take(4))[0])

    def u64(self) -> int:
        return int(_U64.unpack(self._take(8))[0])

    def string(self) -> str:
        raw = self._take(self.u16())
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EncodingError(f"{self._what}: invalid UTF-8 at byte {self._pos - len(raw)}") from exc

    def blob(self) -> bytes:
        return self._take(self.u32())

    def strings(self) -> tuple[str, ...]:
        return tuple(self.string() for _ in range(self.u16()))

    def remaining(self) -> int:
        """Bytes not yet read (a field appended in a later version is present when some remain)."""
        return len(self._data) - self._pos

    def rest(self) -> bytes:
        """Everything not yet read (for a trailing field whose length is the remainder)."""
        return self._take(len(self._data) - self._pos)

    def end(self) -> None:
        if self._pos != len(self._data):
            raise EncodingError(f"{self._what}: {len(self._data) - self._pos} trailing bytes")
