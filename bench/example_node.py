#!/usr/bin/env python3
"""The example node the start-up and gRPC benchmarks run: platform-a of the example consortium (keys/example),
TLS with its example identity, with a data dir of synthetic signed records built once and cached.

    python bench/example_node.py --work /tmp/hn-1m --pdq 1000000 --md5 100000 --sha256 100000
    python bench/example_node.py --work /tmp/hn-1m-c --pdq 1000000 --collection clustered

Records are submitted through the ledger of a node opened as `hashnode serve` opens it (`open_node`), in
entries of `--batch` records, like a platform's bulk import. Their hashes are a pure function of (seed, signal
type, position), so a benchmark can query near-duplicates of stored hashes without reading the store: uniform
random hashes, or with `--collection clustered` the PDQ hashes of `bench/datasets.py`'s clustered collection
(families of near-duplicates, low-texture images, the real haystack). A `built.json` in the work dir records
what was built; a later run with the same figures reuses the data dir.
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import grpc
import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
KEYS = ROOT / "keys" / "example"
MEMBER = "platform-a"
LABELS = ("tvec.propaganda", "tvec.glorification", "tvec.graphic_violence")
SIGNALS = {"pdq": (0, 32), "md5": (1, 16), "sha256": (2, 32)}  # seed stream, size in bytes
BLOCK = 10_000
BUILT_MARK = "built.json"


@dataclass(frozen=True)
class Contents:
    """What the data dir holds: records of each signal type, in this order, hashes drawn from `seed`."""

    pdq: int
    md5: int = 0
    sha256: int = 0
    seed: int = 1
    collection: str = "uniform"  # of the PDQ hashes: "uniform" or "clustered" (bench/datasets.py)

    def describe(self) -> str:
        parts = [f"{self.pdq:,} {'clustered ' if self.collection == 'clustered' else ''}PDQ"] + [
            f"{n:,} {t.upper()}" for t, n in (("md5", self.md5), ("sha256", self.sha256)) if n
        ]
        return " + ".join(parts) + " records"


def hashes(signal: str, first: int, count: int, seed: int, collection: str = "uniform") -> np.ndarray:
    """The raw hashes of stored `signal` records first..first+count-1, as a (count, size) uint8 array."""
    if signal == "pdq" and collection == "clustered":
        raise ValueError("clustered PDQ hashes come from clustered_pdq(contents)")
    stream, size = SIGNALS[signal]
    blocks = [
        np.random.default_rng([seed, stream, block]).integers(0, 256, size=(BLOCK, size), dtype=np.uint8)
        for block in range(first // BLOCK, (first + count - 1) // BLOCK + 1)
    ]
    offset = first % BLOCK
    return np.concatenate(blocks)[offset : offset + count]


@functools.cache
def clustered_collection(count: int, seed: int) -> Any:
    """The clustered collection of `count` PDQ hashes (bench/datasets.py), in storage order."""
    import datasets

    return datasets.clustered(count, seed)


def stored_pdq(contents: Contents, first: int, count: int) -> np.ndarray:
    """The PDQ hashes of stored records first..first+count-1 of `contents`."""
    if contents.collection == "clustered":
        stored: npt.NDArray[np.uint8] = clustered_collection(contents.pdq, contents.seed).hashes
        return stored[first : first + count]
    return hashes("pdq", first, count, contents.seed)


def near_duplicate(value: np.ndarray, bits: int, rng: np.random.Generator) -> bytes:
    """`value` with `bits` distinct bits flipped."""
    unpacked = np.unpackbits(value)
    unpacked[rng.choice(unpacked.size, size=bits, replace=False)] ^= 1
    return np.packbits(unpacked).tobytes()


def write_config(work: Path) -> Path:
    """platform-a's example config (TLS, client token, operator token) with its data under `work/data`."""
    from demo.consortium import write_config as example_config

    return example_config(work, MEMBER, {MEMBER: 0})


def data_dir(work: Path) -> Path:
    return work / "data" / MEMBER


def build(work: Path, contents: Contents, batch: int) -> None:
    from node.core.records import HashRecord
    from node.runtime.config import load_config
    from node.runtime.runtime import open_node

    runtime = open_node(load_config(write_config(work)))
    start, done = time.perf_counter(), 0
    try:
        for signal in SIGNALS:
            total = getattr(contents, signal)
            quality = 90 if signal == "pdq" else 0
            for first in range(0, total, batch):
                size = min(batch, total - first)
                if signal == "pdq":
                    values = stored_pdq(contents, first, size)
                else:
                    values = hashes(signal, first, size, contents.seed)
                runtime.ledger.submit(
                    [
                        HashRecord(signal, v.tobytes(), quality, (LABELS[(first + i) % 3],), (), f"case-{first + i}")
                        for i, v in enumerate(values)
                    ]
                )
                done += len(values)
                if done % 500_000 < batch:
                    elapsed = time.perf_counter() - start
                    print(f"  {done:,} records, {elapsed:.0f} s, {done / elapsed:,.0f}/s", flush=True)
    finally:
        runtime.close()
    (work / BUILT_MARK).write_text(json.dumps(asdict(contents)))


def ensure_built(work: Path, contents: Contents, batch: int = 10_000) -> None:
    """Builds the data dir under `work` unless it holds `contents` already; in a child process, so that the
    build's memory is gone before anything is measured."""
    mark = work / BUILT_MARK
    if mark.exists() and Contents(**json.loads(mark.read_text())) == contents:
        print(f"data dir: {data_dir(work)} ({contents.describe()}, reused)")
        return
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    print(f"data dir: building {contents.describe()} under {work} (entries of {batch:,})", flush=True)
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            __file__,
            "--work",
            str(work),
            "--pdq",
            str(contents.pdq),
            "--md5",
            str(contents.md5),
            "--sha256",
            str(contents.sha256),
            "--seed",
            str(contents.seed),
            "--collection",
            contents.collection,
            "--batch",
            str(batch),
        ],
        check=True,
    )
    print(f"data dir: built in {time.perf_counter() - started:.0f} s")


@contextmanager
def platform_channel(address: str, *, tls: bool = True) -> Iterator[grpc.Channel]:
    """A channel as platform-a's own systems open one: TLS trusting the node's certificate (plaintext to a node
    in insecure mode with `tls=False`), presenting the client token."""
    from node.cli.command_base import channel

    ca = KEYS / f"{MEMBER}.crt" if tls else None
    with channel(argparse.Namespace(target=address, ca=ca, token_file=KEYS / f"{MEMBER}.client-token")) as opened:
        yield opened


def memory_mib(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM, RssAnon, RssFile of process `pid` (/proc/<pid>/status), in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            fields[name] = int(value.split()[0]) // 1024
    return fields


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--pdq", type=int, required=True)
    parser.add_argument("--md5", type=int, default=0)
    parser.add_argument("--sha256", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--collection", choices=("uniform", "clustered"), default="uniform")
    parser.add_argument("--batch", type=int, default=10_000)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    build(args.work, Contents(args.pdq, args.md5, args.sha256, args.seed, args.collection), args.batch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
