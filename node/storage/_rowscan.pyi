from collections.abc import Sequence

def scan(
    rows: Sequence[bytes | None], tag: bytes
) -> tuple[list[int], list[bytes], list[bytes], list[bytes]]: ...
