"""Benchmark of PDQ near-duplicate matching: hashnode's PdqIndex against faiss, on uniform and clustered data.

    python bench/match.py --sizes 100000,1000000 --queries 1000
    python bench/match.py --sizes 10000000 --data uniform --slow-queries 100

For each size and each collection of `bench/datasets.py` (`uniform`; `clustered`: near-duplicate families,
low-texture hashes, duplicates, the real haystack) it builds every engine over the same hashes, asks the same
queries (edited re-uploads of stored items and fresh uploads) at threshold 31, asserts that every engine returns
exactly the same (query, hash) pairs, and prints one table: build time, memory per hash, single-query latency
p50/p99 in wall-clock and in CPU time, the candidates hashnode compared per query (p50/p99), batched lookups per
CPU-second, how many times faster hashnode is, and the load average when each engine was timed. A run on the real
haystack/needles PDQ hashes follows when present.

Engines: hashnode as callers use it (`PdqIndex.query`, with the compiled kernel when it is built); when the kernel
is built, the same index with it turned off (numpy only) and the compiled floor (only the kernel calls a query
makes, set up beforehand: what is left without Python); faiss IndexBinaryFlat (exhaustive, compiled) and
IndexBinaryMultiHash (16 x 16 bits, nflip 1: exact to 31 like hashnode; what HMA uses). The hashnode engines
share one index, built (and timed) once.

Per-core figures: queries run in this one thread (faiss is set to one OpenMP thread). CPU times are this thread's
(`time.thread_time`), so other processes on the machine inflate them much less than wall-clock times. Slow
engines (faiss) time a sample of the queries (`--slow-queries`); the ratios compare hashnode on the same sample.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import datasets

from node.index import flat, mih
from node.index.pdq import DEFAULT_THRESHOLD, PdqIndex

Hashes = npt.NDArray[np.uint8]
Pairs = set[tuple[int, int]]


@dataclass
class Engine:
    """A matcher under test: how to build it, ask one batch of queries, and what it holds per hash."""

    name: str
    build: Callable[[Hashes], object]
    query: Callable[[object, Hashes, int], object]  # the call timed
    pairs: Callable[[object], Pairs]  # its answer as (query, row) pairs
    bytes_per_hash: Callable[[object, int], float]
    sampled: bool = True  # slow engines time only `--slow-queries` queries
    candidates: Callable[[object, Hashes, int], npt.NDArray[np.int64]] | None = None
    shares_build: bool = False  # uses the index an engine before it built (no build time of its own)


@dataclass
class Result:
    name: str
    build_s: float
    bytes_per_hash: float
    queries: int
    wall_ms: npt.NDArray[np.float64]  # per query, best of `--repeat`
    cpu_ms: npt.NDArray[np.float64]
    first_wall_ms: npt.NDArray[np.float64]  # first pass alone
    batch_per_cpu_s: float
    load: float  # 1-minute load average when the timing ended
    candidates: npt.NDArray[np.int64] | None
    pairs: Pairs = field(repr=False)

    def wall(self, q: float) -> float:
        return float(np.percentile(self.wall_ms, q))

    def cpu(self, q: float) -> float:
        return float(np.percentile(self.cpu_ms, q))


# --- engines --------------------------------------------------------------------------------------------


class SharedIndex:
    """The PdqIndex of the current collection, built once for the hashnode engines (the first one times it)."""

    def __init__(self) -> None:
        self.db: Hashes | None = None
        self.index: PdqIndex | None = None

    def of(self, db: Hashes) -> PdqIndex:
        if self.db is not db or self.index is None:
            self.index = None  # free the previous collection's index first
            self.index = PdqIndex.build(np.arange(len(db), dtype=np.int64), db)
            self.db = db
        return self.index


def hashnode_engines(shared: SharedIndex) -> list[Engine]:
    """hashnode as a caller sees it; then, when the kernel is built, the same index on numpy alone, and the
    compiled floor: only the kernel calls a query makes, without the Python around them."""

    def build(db: Hashes) -> object:
        return shared.of(db)

    def query(index: object, queries: Hashes, threshold: int) -> object:
        assert isinstance(index, PdqIndex)
        return index.query(queries, threshold)

    def query_numpy(index: object, queries: Hashes, threshold: int) -> object:
        assert isinstance(index, PdqIndex)
        flat.USE_KERNEL = False
        try:
            return index.query(queries, threshold)
        finally:
            flat.USE_KERNEL = True

    def pairs(answer: object) -> Pairs:
        query_idx, ordinals, _ = cast(tuple[npt.NDArray[np.int32], npt.NDArray[np.int64], object], answer)
        return set(zip(query_idx.tolist(), ordinals.tolist(), strict=True))

    def per_hash(index: object, n: int) -> float:
        assert isinstance(index, PdqIndex)
        return index.memory_bytes() / n

    def candidates(index: object, queries: Hashes, threshold: int) -> npt.NDArray[np.int64]:
        assert isinstance(index, PdqIndex)
        return index.candidates(queries, threshold)

    kernel = "kernel" if flat.USE_KERNEL else "no kernel built"
    engines = [Engine(f"hashnode ({kernel})", build, query, pairs, per_hash, False, candidates)]
    if flat.USE_KERNEL:
        engines.append(Engine("hashnode (numpy only)", build, query_numpy, pairs, per_hash, False, candidates, True))
        engines.append(floor_engine(shared, per_hash))
    return engines


KernelCall = Callable[[npt.NDArray[np.uint64], int], tuple[bytes, bytes, bytes]]


@dataclass
class Floor:
    """The index and, per table, its segment, first row and the kernel call that answers for it."""

    index: PdqIndex
    calls: list[tuple[mih.MihSegment, int, KernelCall]]


def floor_engine(shared: SharedIndex, per_hash: Callable[[object, int], float]) -> Engine:
    """The kernel calls of `MihSegment.match`, set up beforehand (reaches into the index's private tables)."""

    def build(db: Hashes) -> object:
        index = shared.of(db)
        assert not len(index._state.delta)
        return Floor(index, [(s, t.first, kernel_call(t)) for s in index._state.segments for t in s.tables])

    def query(floor: object, queries: Hashes, threshold: int) -> object:
        assert isinstance(floor, Floor)
        words = queries.view(np.uint64).reshape(-1, 4)
        return floor, [call(words, threshold) for _, _, call in floor.calls]

    def pairs(answer: object) -> Pairs:
        floor, found = cast(tuple[Floor, list[tuple[bytes, bytes, bytes]]], answer)
        found_pairs: Pairs = set()
        for (segment, first, _), raw in zip(floor.calls, found, strict=True):
            query_idx, rows, distance = flat.from_kernel(raw)
            query_idx, ordinals, _ = segment._to_records(query_idx, rows + first, distance)
            found_pairs.update(zip(query_idx.tolist(), ordinals.tolist(), strict=True))
        return found_pairs

    def floor_per_hash(floor: object, n: int) -> float:
        assert isinstance(floor, Floor)
        return per_hash(floor.index, n)

    return Engine("kernel calls alone (floor)", build, query, pairs, floor_per_hash, False, shares_build=True)


def kernel_call(table: mih._Table) -> KernelCall:
    """What `table.match` asks of the kernel: a scan, or a probe with the threshold's plan."""
    sources = table.chunking.sources if table.chunking else None
    if table.chunking is None or table.rows < mih.MIH_MIN_ROWS:
        return flat.CompiledTable(table.words, None, None, False, None, sources).scan
    compiled = table._kernel()
    plans = {t: table._plan(t).kernel_arrays for t in range(mih.MAX_THRESHOLD + 1)}
    limit = int(mih._FLAT_FRACTION * table.rows)

    def match(words: npt.NDArray[np.uint64], threshold: int) -> tuple[bytes, bytes, bytes]:
        return compiled.match(words, *plans[threshold], threshold, limit)

    return match


def brute_force_engine() -> Engine:
    """numpy at its best for a scan: words stored column-major, so each pass runs over a contiguous array."""

    def build(db: Hashes) -> object:
        return np.ascontiguousarray(db.view(np.uint64).T)

    def query(columns: object, queries: Hashes, threshold: int) -> object:
        assert isinstance(columns, np.ndarray)
        found: Pairs = set()
        for q, words in enumerate(queries.view(np.uint64)):
            distance = np.zeros(columns.shape[1], dtype=np.uint16)
            for j in range(4):
                distance += np.bitwise_count(columns[j] ^ words[j])
            found.update((q, int(row)) for row in np.flatnonzero(distance <= threshold))
        return found

    def pairs(found: object) -> Pairs:
        assert isinstance(found, set)
        return found

    return Engine("numpy brute force", build, query, pairs, lambda _, n: 32.0)


def faiss_engines() -> list[Engine]:
    try:
        import faiss
    except ImportError:
        print("faiss not importable: skipping faiss engines (pip install faiss-cpu)")
        return []
    faiss.omp_set_num_threads(1)

    def query(index: object, queries: Hashes, threshold: int) -> object:
        # Binary range_search returns distances strictly below the radius.
        return index.range_search(queries, threshold + 1)  # type: ignore[attr-defined]

    def pairs(answer: object) -> Pairs:
        limits, _, ids = cast(tuple[npt.NDArray[np.int64], object, npt.NDArray[np.int64]], answer)
        owners = np.repeat(np.arange(len(limits) - 1), np.diff(limits).astype(np.int64))
        return set(zip(owners.tolist(), ids.tolist(), strict=True))

    def flat(db: Hashes) -> object:
        index = faiss.IndexBinaryFlat(256)
        index.add(db)
        return index

    def multihash(db: Hashes) -> object:
        # 16 tables of 16 bits probed with one bit flip: exact up to distance 31 by pigeonhole, like hashnode.
        index = faiss.IndexBinaryMultiHash(256, 16, 16)
        index.nflip = 1
        index.add(db)
        return index

    return [
        Engine("faiss IndexBinaryFlat", flat, query, pairs, lambda _, n: 32.0),
        Engine("faiss IndexBinaryMultiHash", multihash, query, pairs, lambda _, n: float("nan")),
    ]


# --- measurement ----------------------------------------------------------------------------------------


def rss_bytes() -> int:
    """Resident set size of this process (Linux), for engines that do not report their memory."""
    try:
        fields = Path("/proc/self/statm").read_text().split()
    except OSError:
        return 0
    return int(fields[1]) * os.sysconf("SC_PAGE_SIZE")


def run_engine(engine: Engine, db: Hashes, queries: Hashes, threshold: int, repeat: int) -> tuple[Result, object]:
    gc.collect()
    rss_before = rss_bytes()
    started = time.perf_counter()
    index = engine.build(db)
    build_s = float("nan") if engine.shares_build else time.perf_counter() - started
    per_hash = engine.bytes_per_hash(index, len(db))
    if per_hash != per_hash:  # NaN: measure the resident-set growth instead
        per_hash = (rss_bytes() - rss_before) / len(db)
    # Each query is timed `repeat` times and its fastest run kept (wall and CPU separately): on a shared
    # machine a slow run mostly measures waiting for a CPU. The first pass alone is reported too (`p99 1st`).
    wall = np.full(len(queries), np.inf)
    cpu = np.full(len(queries), np.inf)
    first = np.zeros(len(queries))
    for attempt in range(repeat):
        for i in range(len(queries)):
            one = queries[i : i + 1]
            cpu_started, started_ns = time.thread_time_ns(), time.perf_counter_ns()
            engine.query(index, one, threshold)
            elapsed, cpu_elapsed = time.perf_counter_ns() - started_ns, time.thread_time_ns() - cpu_started
            wall[i], cpu[i] = min(wall[i], elapsed), min(cpu[i], cpu_elapsed)
            first[i] = elapsed if attempt == 0 else first[i]
    load = os.getloadavg()[0]
    cpu_started = time.thread_time_ns()
    answer = engine.query(index, queries, threshold)
    batch_cpu = (time.thread_time_ns() - cpu_started) / 1e9
    pairs = engine.pairs(answer)
    candidates = engine.candidates(index, queries, threshold) if engine.candidates else None
    rate = len(queries) / batch_cpu if batch_cpu > 0 else float("inf")
    result = Result(
        engine.name, build_s, per_hash, len(queries), wall / 1e6, cpu / 1e6, first / 1e6, rate, load, candidates, pairs
    )
    return result, index


def freshness(index: PdqIndex, db: Hashes, rng: np.random.Generator, threshold: int) -> list[str]:
    """Times add() of one record then a query that must find it, remove() then a query that must not."""
    fresh = rng.integers(0, 256, size=(1, 32), dtype=np.uint8)
    ordinal = np.array([2**40], dtype=np.int64)
    started = time.perf_counter()
    index.add(ordinal, fresh)
    added = time.perf_counter()
    _, found, _ = index.query(fresh, threshold)
    queried = time.perf_counter()
    assert ordinal[0] in found, "a fresh addition must match at once"
    index.remove(ordinal)
    removed = time.perf_counter()
    _, found, _ = index.query(fresh, threshold)
    assert ordinal[0] not in found, "a removed ordinal must stop matching at once"
    stored = len(db) // 2  # a record of the bulk-built segment: removal scans its ordinals
    started_stored = time.perf_counter()
    index.remove(np.array([stored], dtype=np.int64))
    removed_stored = time.perf_counter() - started_stored
    assert stored not in index.query(db[stored : stored + 1], 0)[1]
    singles = []
    for i in range(4096):  # sustained single adds: includes turning full deltas into segments
        one = rng.integers(0, 256, size=(1, 32), dtype=np.uint8)
        started_one = time.perf_counter()
        index.add(np.array([2**40 + 1 + i], dtype=np.int64), one)
        singles.append(time.perf_counter() - started_one)
    ms = np.array(singles) * 1e3
    return [
        f"freshness: add(1) {1e3 * (added - started):.3f} ms, then a query finds it "
        f"{1e3 * (queried - added):.3f} ms; remove(1) {1e3 * (removed - queried):.3f} ms, then no match; "
        f"remove(1) of a bulk-built record {1e3 * removed_stored:.3f} ms",
        f"4096 single adds: p50 {np.percentile(ms, 50):.3f} ms, p99 {np.percentile(ms, 99):.3f} ms, "
        f"max {ms.max():.1f} ms (full deltas become segments)",
    ]


def persistence(index: PdqIndex, queries: Hashes, threshold: int) -> str:
    """Times save() and a memory-mapped load(), and checks the loaded index answers the same."""
    with tempfile.TemporaryDirectory(prefix="hashnode-bench-") as tmp:
        started = time.perf_counter()
        index.save(Path(tmp) / "pdq")
        saved = time.perf_counter()
        loaded = PdqIndex.load(Path(tmp) / "pdq")
        opened = time.perf_counter()
        first = loaded.query(queries[:1], threshold)
        answered = time.perf_counter()
        expected = index.query(queries[:1], threshold)
        assert all(np.array_equal(first[i], expected[i]) for i in range(3)), "load must answer as saved"
        del loaded
    return (
        f"persistence: save {saved - started:.2f} s, load (mmap) {opened - saved:.3f} s, "
        f"first query after load {1e3 * (answered - opened):.1f} ms"
    )


def check_agreement(results: Sequence[Result], sample: int) -> None:
    """Every engine must return the same pairs as hashnode on the queries it was asked."""
    reference = results[0].pairs
    for result in results[1:]:
        expected = reference if result.queries == results[0].queries else _first(reference, sample)
        if result.pairs != expected:
            missing, extra = len(expected - result.pairs), len(result.pairs - expected)
            raise AssertionError(f"{result.name} disagrees with hashnode: {missing} missing, {extra} extra")


def _first(pairs: Pairs, queries: int) -> Pairs:
    return {pair for pair in pairs if pair[0] < queries}


def print_table(title: str, results: Sequence[Result]) -> None:
    base = results[0]
    print(f"\n{title}")
    header = (
        f"{'engine':27s} {'build s':>7s} {'B/hash':>6s} {'queries':>7s} | {'wall p50':>8s} {'p99':>6s} "
        f"{'p99 1st':>7s} | {'cpu p50':>7s} {'p99':>6s} | {'cand p50':>8s} {'p99':>6s} | "
        f"{'batch/cpu-s':>11s} | {'hn faster cpu p50':>17s} {'p99':>5s} | {'load':>4s}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        base_cpu = base.cpu_ms[: r.queries]  # the ratios compare the same queries
        cand = (
            f"{np.percentile(r.candidates, 50):8.0f} {np.percentile(r.candidates, 99):6.0f}"
            if r.candidates is not None
            else f"{'-':>8s} {'-':>6s}"
        )
        build = "shared" if r.build_s != r.build_s else f"{r.build_s:.2f}"  # NaN: built by an engine above
        print(
            f"{r.name:27s} {build:>7s} {r.bytes_per_hash:6.1f} {r.queries:7d} | {r.wall(50):8.3f} "
            f"{r.wall(99):6.3f} {np.percentile(r.first_wall_ms, 99):7.3f} | {r.cpu(50):7.3f} {r.cpu(99):6.3f} | "
            f"{cand} | {r.batch_per_cpu_s:11.0f} | {r.cpu(50) / np.percentile(base_cpu, 50):16.1f}x "
            f"{r.cpu(99) / np.percentile(base_cpu, 99):4.1f}x | {r.load:4.1f}"
        )


def bench(
    title: str,
    db: Hashes,
    queries: Hashes,
    engines: Sequence[Engine],
    shared: SharedIndex,
    slow: int,
    threshold: int,
    repeat: int,
) -> None:
    results = []
    for engine in engines:
        asked = queries[:slow] if engine.sampled else queries
        result, index = run_engine(engine, db, asked, threshold, repeat)
        results.append(result)
        del index
    index = shared.of(db)  # the notes change it: after every engine has used it
    tables = [[(t.chunking.name if t.chunking else "scanned", t.rows) for t in s.tables] for s in index._state.segments]
    notes = [f"hashnode tables (chunking, rows) per segment: {tables}", persistence(index, queries, threshold)]
    notes += freshness(index, db, np.random.default_rng(0), threshold)
    shared.index = None
    check_agreement(results, slow)
    matches = len(results[0].pairs) / max(1, len(queries))
    print_table(f"{title}; {matches:.1f} matches per query at threshold {threshold}", results)
    print(f"all engines agree ({len(results[0].pairs)} matching pairs)")
    print("\n".join(notes))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="comma-separated index sizes")
    parser.add_argument("--data", default="uniform,clustered", help="collections: uniform, clustered or both")
    parser.add_argument("--queries", type=int, default=1000, help="queries per size")
    parser.add_argument("--slow-queries", type=int, default=500, help="queries timed on faiss and brute force")
    parser.add_argument("--reupload", type=float, default=datasets.QueryMix.reupload, help="re-upload fraction")
    parser.add_argument("--threshold", type=int, default=DEFAULT_THRESHOLD)
    parser.add_argument("--repeat", type=int, default=3, help="timings per query; the fastest is kept")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-faiss", action="store_true", help="skip the faiss engines")
    parser.add_argument("--numpy-brute-force", action="store_true", help="add the numpy brute-force engine")
    parser.add_argument("--no-numpy-path", action="store_true", help="skip hashnode with the kernel turned off")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    shared = SharedIndex()
    engines = [*hashnode_engines(shared), *([] if args.no_faiss else faiss_engines())]
    if args.no_numpy_path:
        engines = [engine for engine in engines if engine.name != "hashnode (numpy only)"]
    if args.numpy_brute_force:
        engines.append(brute_force_engine())
    print(f"compiled kernel: {'in use' if flat.USE_KERNEL else 'not built (numpy code paths)'}")
    mix = datasets.QueryMix(reupload=args.reupload)
    print(f"cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}, threshold {args.threshold}")
    for size in (int(s) for s in args.sizes.split(",")):
        for kind in args.data.split(","):
            maker = {"uniform": datasets.uniform, "clustered": datasets.clustered}[kind]
            collection = maker(size, args.seed)
            asked = datasets.queries(collection, args.queries, args.seed + 1, mix)
            slow = min(args.slow_queries, args.queries)
            title = f"{kind}, {size:,} hashes, {args.queries:,} queries ({mix.reupload:.0%} re-uploads)"
            bench(title, collection.hashes, asked.hashes, engines, shared, slow, args.threshold, args.repeat)
    data = datasets.real_data_dir()
    if data is not None:
        haystack, needles = datasets.load_hex(data / "haystack.txt"), datasets.load_hex(data / "needles.txt")
        title = "real PDQ haystack (1,350) x needles (100)"
        bench(title, haystack, needles, engines, shared, len(needles), args.threshold, args.repeat)
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
