"""How a 256-bit hash is cut into chunks for multi-index hashing, and the bit order a chunking reads it in.

`NARROW` (16 chunks of 16 bits) and `WIDE` (12 chunks of 21/21/22 bits) read the hash as it is, so each 16-bit
chunk of `NARROW` is one row of PDQ's 16x16 bit matrix. That is what crowds buckets on real collections: a
low-texture image has flat or striped rows (0x0000, 0xFFFF, 0x5555, ...), so a few values of every chunk hold
thousands of unrelated hashes. `SCATTERED` cuts the same 16x16 bits after a fixed permutation that gives every
chunk one bit of each row, at a different column in each row: striped and flat rows then no longer line up
with chunks, and those hashes spread over the chunk values like any others.

Hamming distance does not depend on the order of bits, so rows stored in a chunking's bit order are compared
with queries in that same order and the distances are the true ones.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property
from typing import Final

import numpy as np
import numpy.typing as npt

from node.index import flat
from node.index.flat import Words

HASH_BITS: Final = 256
LANE_BITS: Final = 16
# Rows permuted at once: bounds the unpacked bits held (256 bytes a row).
_PERMUTE_BLOCK: Final = 1 << 15


def _scatter_sources() -> npt.NDArray[np.uint8]:
    """Bit j = 16c + b of a scattered hash is bit (c + 5b) mod 16 of 16-bit lane b of the hash.

    Chunk c thus takes one bit from every lane; 5 is odd, so in each lane c -> (c + 5b) mod 16 is one-to-one and
    the whole map is a permutation. The step 5 staggers the columns, so stripes of period 2, 4 or 8 in the lanes
    do not line up either. Part of the snapshot format: changing it means a new chunking name.
    """
    bit = np.arange(HASH_BITS)
    chunk, lane = bit // LANE_BITS, bit % LANE_BITS
    sources: npt.NDArray[np.uint8] = (LANE_BITS * lane + (chunk + 5 * lane) % LANE_BITS).astype(np.uint8)
    return sources


@dataclass(frozen=True)
class Chunking:
    """How each 64-bit word of a hash is cut into chunks (bit widths, low bits first), after an optional
    permutation of the hash's bits (`sources[j]` is the hash bit that becomes bit j)."""

    name: str
    widths: tuple[int, ...]
    sources: bytes | None = None

    @cached_property
    def chunks(self) -> tuple[tuple[int, int, int], ...]:
        """`(word, shift, width)` of every chunk; chunk 0 is the one rows are sorted by."""
        found = []
        for word in range(flat.WORDS_PER_HASH):
            shifts = itertools.accumulate(self.widths[:-1], initial=0)
            found += [(word, shift, width) for shift, width in zip(shifts, self.widths, strict=True)]
        return tuple(found)

    @cached_property
    def columns(self) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
        """`chunks` as arrays: word index, shift and value mask per chunk."""
        word, shift, width = zip(*self.chunks, strict=True)
        masks = [(1 << w) - 1 for w in width]
        return np.array(word, np.intp), np.array(shift, np.uint64), np.array(masks, np.uint64)

    @cached_property
    def kernel_chunks(self) -> npt.NDArray[np.int32]:
        """`chunks` as the compiled kernel takes them: int32 `(word, shift, width)` rows."""
        return np.array(self.chunks, dtype=np.int32)

    def values(self, words: Words, chunk: int) -> npt.NDArray[np.uint32] | npt.NDArray[np.uint16]:
        """Chunk `chunk` of rows already in this chunking's bit order (`arrange`); uint16 for 16-bit chunks."""
        word, shift, width = self.chunks[chunk]
        if width == 16 and shift % 16 == 0 and np.little_endian:
            return np.ascontiguousarray(words.view(np.uint16)[:, word * 4 + shift // 16])
        return ((words[:, word] >> np.uint64(shift)) & np.uint64((1 << width) - 1)).astype(np.uint32)

    def arrange(self, words: Words) -> Words:
        """Hashes in this chunking's bit order: `words` itself when it reads bits as they are."""
        if self.sources is None:
            return words
        return _permute_bits(words, np.frombuffer(self.sources, dtype=np.uint8).astype(np.intp))

    def restore(self, words: Words) -> Words:
        """The inverse of `arrange`."""
        if self.sources is None:
            return words
        return _permute_bits(words, np.argsort(np.frombuffer(self.sources, dtype=np.uint8)))


NARROW: Final = Chunking("narrow", (16, 16, 16, 16))
WIDE: Final = Chunking("wide", (21, 21, 22))
SCATTERED: Final = Chunking("scattered", (16, 16, 16, 16), _scatter_sources().tobytes())
CHUNKINGS: Final = {c.name: c for c in (NARROW, WIDE, SCATTERED)}


def _permute_bits(words: Words, sources: npt.NDArray[np.intp]) -> Words:
    """Rows whose bit j is bit `sources[j]` of the same row of `words` (bits numbered in the native uint64
    words, as the chunks are; on little-endian machines that is also the byte order with `bitorder="little"`)."""
    if not np.little_endian:  # pragma: no cover - every platform we run on is little-endian
        raise NotImplementedError("bit permutations assume a little-endian machine")
    out = np.empty_like(words)
    for start in range(0, len(words), _PERMUTE_BLOCK):
        part = np.ascontiguousarray(words[start : start + _PERMUTE_BLOCK]).view(np.uint8)
        bits = np.take(np.unpackbits(part, axis=1, bitorder="little"), sources, axis=1)
        packed = np.ascontiguousarray(np.packbits(bits, axis=1, bitorder="little"))
        out[start : start + _PERMUTE_BLOCK] = packed.view(np.uint64)
    return out
