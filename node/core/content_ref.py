"""A platform's reference for content it matched: opaque to the node, bounded, kept in the local match log and in
reinstatement notices (docs/due-process.md)."""

from __future__ import annotations

from node.core.errors import InvalidArgument

MAX_CONTENT_REF_BYTES = 512


def check_content_ref(content_ref: str, field: str) -> str:
    """`content_ref` when it fits. Raises: InvalidArgument naming `field` when it is too long."""
    size = len(content_ref.encode("utf-8"))
    if size > MAX_CONTENT_REF_BYTES:
        raise InvalidArgument(field, f"{size} bytes", f"at most {MAX_CONTENT_REF_BYTES} bytes of UTF-8")
    return content_ref
