from collections.abc import Sequence

def encode(
    record_ids: Sequence[bytes],
    label_sections: Sequence[bytes],
    authors: Sequence[bytes],
    policies: Sequence[bytes],
    infos: Sequence[bytes] | None,
    offsets: Sequence[int],
    slots: Sequence[int],
    distances: Sequence[int],
    query_ids: Sequence[str],
) -> bytes: ...
