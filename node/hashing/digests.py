"""MD5 and SHA-256 of a file's bytes: the exact-match signals, computed locally."""

from __future__ import annotations

import hashlib
from pathlib import Path

from node.core.errors import InvalidArgument

_CHUNK = 1 << 20


def file_digests(path: Path) -> tuple[str, str]:
    """MD5 and SHA-256 (hex) of a file's bytes."""
    md5, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                md5.update(chunk)
                sha256.update(chunk)
    except FileNotFoundError:
        raise InvalidArgument(str(path), "no such file", "an existing file") from None
    except OSError as exc:
        raise InvalidArgument(str(path), exc.strerror or "unreadable", "a readable file") from None
    return md5.hexdigest(), sha256.hexdigest()
