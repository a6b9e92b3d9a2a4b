"""Types of the compiled kernel (node/index/_kernel.c)."""

from typing import Any

import numpy as np
import numpy.typing as npt

class Table:
    def __init__(
        self,
        words: npt.NDArray[np.uint64],
        positions: npt.NDArray[np.uint32] | None,
        lookup: npt.NDArray[np.uint32] | None,
        offsets: bool,
        chunks: npt.NDArray[np.int32] | None,
        permutation: bytes | None,
    ) -> None: ...
    def match(
        self,
        queries: npt.NDArray[np.uint64],
        probe_chunk: npt.NDArray[np.int32],
        probe_flip: npt.NDArray[np.uint32],
        radius: npt.NDArray[np.int32],
        threshold: int,
        flat_limit: int,
        counted: npt.NDArray[np.int64] | None = None,
        /,
    ) -> tuple[bytes, bytes, bytes]: ...
    def scan(self, queries: npt.NDArray[Any], threshold: int, /) -> tuple[bytes, bytes, bytes]: ...

def records(
    query: npt.NDArray[np.int64],
    row: npt.NDArray[np.int64],
    distance: npt.NDArray[np.int32],
    extra_rows: npt.NDArray[np.uint32],
    ords: npt.NDArray[np.uint32] | npt.NDArray[np.int64],
    extra_ords: npt.NDArray[np.uint32] | npt.NDArray[np.int64],
    dead: npt.NDArray[np.uint8],
    ord_base: int,
    /,
) -> tuple[bytes, bytes, bytes]: ...
