"""Seeded PDQ-like collections and query mixes for the matching benchmarks (import it; it does no I/O but read the
real hashes).

    from datasets import ClusteredSpec, QueryMix, clustered, queries, uniform

    collection = clustered(1_000_000, seed=1)                    # families, low-texture, real hashes, duplicates
    asked = queries(collection, 1000, seed=2, mix=QueryMix())    # re-uploads with edits and fresh uploads

Two collections:

- `uniform`: independent uniform 256-bit hashes, the easy case for multi-index hashing (every 16-bit chunk value
  equally likely).
- `clustered`: what real collections look like (issue 19):
  * families: a seed image and tens to hundreds of edited variants (sizes log-uniform in `family_sizes`), each
    variant a number of bits from its seed drawn from a geometric distribution clipped to `variant_bits`; some
    seeds are real PDQ hashes;
  * low-texture images: each 16-bit chunk is, with probability `palette_chunks`, one of a handful of values
    (0x0000, 0xFFFF, 0x5555, ...: flat or striped rows of the 16x16 PDQ bit matrix), otherwise random; a few
    bits of noise on top. They crowd a few values of every chunk, the hard case for multi-index hashing;
  * exact duplicates of other members; the real haystack of `shared/data/pdq`; uniform hashes for the rest.
  Rows are shuffled, so ordinals say nothing about kinds.

Query mix (`queries`): re-uploads of stored items with a few bits edited (geometric, mean `edit_mean`), and fresh
uploads: new hashes, low-texture ones in the collection's proportion, the rest uniform (they match nothing or
almost nothing). `reupload` sets the hit rate: with the default clustered spec, 0.3 (the default) gives about 4
matches per query at threshold 31 and 0.67 about 9 (`bench/match.py` prints the measured mean).

Everything is a function of the seed: the same arguments give the same bytes (numpy's PCG64; a numpy release may
change a sampling method, so compare figures made with one numpy version).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

Hashes = npt.NDArray[np.uint8]

# The 16-bit values low-texture chunks take: flat (0x0000, 0xFFFF) and striped rows. Each is made of two equal
# bytes, so the value reads the same in either byte order.
PALETTE = np.array([0x0000, 0xFFFF, 0x5555, 0xAAAA, 0x3333, 0xCCCC, 0x0F0F, 0xF0F0], dtype=np.uint16)

# Row kinds, in `Collection.kinds` and `Queries.kinds`.
UNIFORM, FAMILY, LOW_TEXTURE, DUPLICATE, REAL = 0, 1, 2, 3, 4
KIND_NAMES = {UNIFORM: "uniform", FAMILY: "family", LOW_TEXTURE: "low-texture", DUPLICATE: "duplicate", REAL: "real"}
REUPLOAD, FRESH = 0, 1


@dataclass(frozen=True)
class ClusteredSpec:
    """Composition of a clustered collection, as fractions of its rows."""

    family_fraction: float = 0.1
    family_sizes: tuple[int, int] = (10, 200)  # log-uniform, inclusive
    variant_bits: tuple[int, int] = (2, 20)  # a variant's distance from its seed: geometric, clipped
    variant_mean: float = 6.0
    real_seed_fraction: float = 0.1  # families grown from a real PDQ hash
    low_texture_fraction: float = 0.02
    palette_chunks: float = 0.75  # chance that a low-texture chunk is a palette value
    low_texture_noise: int = 3  # at most this many bits flipped on top
    duplicate_fraction: float = 0.01
    real: bool = True  # mix in the real haystack (when the data is there)


@dataclass(frozen=True)
class QueryMix:
    """Which queries a platform asks: re-uploads of stored items (edited) and fresh uploads."""

    reupload: float = 0.3  # the rest are fresh uploads
    edit_mean: float = 4.0  # bits edited in a re-upload: geometric with this mean, from 0
    edit_max: int = 16


@dataclass(frozen=True)
class Collection:
    hashes: Hashes  # (n, 32) uint8, PDQ bytes in hex order
    kinds: npt.NDArray[np.uint8]  # UNIFORM, FAMILY, ...
    family: npt.NDArray[np.int64]  # family number, -1 outside families
    spec: ClusteredSpec | None  # None for a uniform collection

    def __len__(self) -> int:
        return len(self.hashes)


@dataclass(frozen=True)
class Queries:
    hashes: Hashes
    kinds: npt.NDArray[np.uint8]  # REUPLOAD or FRESH
    source: npt.NDArray[np.int64]  # the stored row a re-upload edits, -1 for fresh uploads


def uniform(n: int, seed: int) -> Collection:
    rng = np.random.default_rng(seed)
    return Collection(_random(rng, n), np.full(n, UNIFORM, np.uint8), np.full(n, -1, np.int64), None)


def clustered(n: int, seed: int, spec: ClusteredSpec = ClusteredSpec()) -> Collection:
    """`n` hashes with the composition of `spec`, shuffled."""
    rng = np.random.default_rng(seed)
    real = real_hashes() if spec.real else np.empty((0, 32), np.uint8)
    real = real[: n // 10]
    members, family = _families(rng, int(n * spec.family_fraction), spec, real)
    low = low_texture(rng, int(n * spec.low_texture_fraction), spec)
    so_far = np.concatenate([members, low, real])
    n_dupes = min(int(n * spec.duplicate_fraction), n - len(so_far)) if len(so_far) else 0
    dupes = so_far[rng.integers(0, len(so_far), n_dupes)]
    rest = _random(rng, n - len(so_far) - n_dupes)
    hashes = np.concatenate([members, low, real, dupes, rest])
    kinds = np.concatenate(
        [
            np.full(len(members), FAMILY, np.uint8),
            np.full(len(low), LOW_TEXTURE, np.uint8),
            np.full(len(real), REAL, np.uint8),
            np.full(n_dupes, DUPLICATE, np.uint8),
            np.full(len(rest), UNIFORM, np.uint8),
        ]
    )
    families = np.concatenate([family, np.full(n - len(family), -1, np.int64)])
    order = rng.permutation(n)
    return Collection(hashes[order], kinds[order], families[order], spec)


def queries(collection: Collection, m: int, seed: int, mix: QueryMix = QueryMix()) -> Queries:
    """`m` queries: re-uploads of stored rows with edits, and fresh uploads like the collection's, shuffled.

    Fresh uploads follow the collection's make-up: in a clustered collection some are low-texture images and
    some are new family seeds; in a uniform one they are uniform.
    """
    rng = np.random.default_rng(seed)
    n_re = round(m * mix.reupload)
    source = rng.integers(0, len(collection), n_re)
    edits = np.minimum(rng.geometric(1 / (mix.edit_mean + 1), n_re) - 1, mix.edit_max)
    reuploads = flip_exactly(rng, collection.hashes[source], edits)
    fresh = _fresh(rng, m - n_re, collection)
    hashes = np.concatenate([reuploads, fresh])
    kinds = np.concatenate([np.full(n_re, REUPLOAD, np.uint8), np.full(m - n_re, FRESH, np.uint8)])
    sources = np.concatenate([source, np.full(m - n_re, -1, np.int64)])
    order = rng.permutation(m)
    return Queries(hashes[order], kinds[order], sources[order])


def low_texture(rng: np.random.Generator, n: int, spec: ClusteredSpec = ClusteredSpec()) -> Hashes:
    """Hashes of low-texture images: most 16-bit chunks from `PALETTE`, the others random, a little noise."""
    chunks = rng.integers(0, 1 << 16, size=(n, 16), dtype=np.uint16)
    flat = rng.random((n, 16)) < spec.palette_chunks
    chunks[flat] = PALETTE[rng.integers(0, len(PALETTE), int(flat.sum()))]
    hashes = chunks.view(np.uint8).reshape(n, 32)
    return flip_exactly(rng, hashes, rng.integers(0, spec.low_texture_noise + 1, n))


def flip_exactly(rng: np.random.Generator, hashes: Hashes, bits: npt.NDArray[np.int64]) -> Hashes:
    """Each hash with exactly `bits[i]` distinct bits flipped (positions uniform), in O(max(bits) * n)."""
    out = np.array(hashes, dtype=np.uint8, copy=True)
    mask = np.zeros_like(out)
    for step in range(int(bits.max(initial=0))):
        rows = np.flatnonzero(bits > step)
        position = rng.integers(0, 256, len(rows))
        while True:  # redraw the positions already flipped in that row (rare: step / 256)
            taken = (mask[rows, position >> 3] >> (position & 7).astype(np.uint8)) & 1
            again = np.flatnonzero(taken)
            if len(again) == 0:
                break
            position[again] = rng.integers(0, 256, len(again))
        mask[rows, position >> 3] |= (1 << (position & 7)).astype(np.uint8)
    return out ^ mask


@cache
def real_hashes() -> Hashes:
    """The real PDQ haystack (1,350 hashes) of `shared/data/pdq`, or none when it is not there."""
    path = real_data_dir()
    if path is None:
        return np.empty((0, 32), np.uint8)
    return load_hex(path / "haystack.txt")


def real_data_dir() -> Path | None:
    """`shared/data/pdq` beside the repository or any directory above it (a git worktree sits deeper)."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared/data/pdq"
        if (candidate / "haystack.txt").exists():
            return candidate
    return None


def load_hex(path: Path) -> Hashes:
    lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    return np.frombuffer(bytes.fromhex("".join(lines)), dtype=np.uint8).reshape(-1, 32).copy()


def _families(
    rng: np.random.Generator, total: int, spec: ClusteredSpec, real: Hashes
) -> tuple[Hashes, npt.NDArray[np.int64]]:
    lo, hi = spec.family_sizes
    sizes: list[int] = []
    while sum(sizes) < total:
        sizes.append(int(np.exp(rng.uniform(np.log(lo), np.log(hi + 1)))))
    if sizes:
        sizes[-1] -= sum(sizes) - total
    sizes_array = np.array([s for s in sizes if s > 0], dtype=np.int64)
    seeds = _random(rng, len(sizes_array))
    if len(real):
        from_real = rng.random(len(seeds)) < spec.real_seed_fraction
        seeds[from_real] = real[rng.integers(0, len(real), int(from_real.sum()))]
    family = np.repeat(np.arange(len(sizes_array)), sizes_array)
    first = np.concatenate([[0], np.cumsum(sizes_array)[:-1]]).astype(np.int64)
    low, high = spec.variant_bits
    bits = np.clip(low - 1 + rng.geometric(1 / (spec.variant_mean - low + 1), len(family)), low, high)
    bits[first] = 0  # each family holds its seed itself
    return flip_exactly(rng, seeds[family], bits), family


def _fresh(rng: np.random.Generator, m: int, collection: Collection) -> Hashes:
    """Unstored hashes in the proportions of the collection's low-texture rows; the rest uniform."""
    if collection.spec is None or len(collection) == 0:
        return _random(rng, m)
    n_low = round(m * float(np.mean(collection.kinds == LOW_TEXTURE)))
    return np.concatenate([low_texture(rng, n_low, collection.spec), _random(rng, m - n_low)])


def _random(rng: np.random.Generator, n: int) -> Hashes:
    return rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
