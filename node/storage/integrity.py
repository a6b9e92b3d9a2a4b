"""An offline consistency check of a node's store: every table read, every derived table compared with what it
is derived from, every problem reported (never a crash: a damaged page is a problem like any other).

What a crash, a disk fault or stray bytes must never leave unnoticed, checked from the bytes stored (not from
the counters that summarise them):

* every table reads to its end, holding as many rows as its header says, each of the shape its layout says
  (node/storage/store.py);
* each author's log is a contiguous chain: seq 1..h with no hole and nothing after h, each entry stored under
  the id of its own header bytes, each `prev` naming the entry before, the head row naming entry h (seq, id,
  timestamp), and (with a membership) each signature verifying under the author's key; no entry outside a log;
* each contribution's records are stored under their record ids, at their leaf index, with their item bytes;
* the lookup tables agree with the records (`check_lookups`, also run at every start): ordinals dense from 0,
  each row's exact-hash row and record-id row naming it and no other rows, the `pdq` table (what the index is
  built from) listing exactly the active PDQ records, every counter recomputed from the rows;
* the change feed has no gap, and lists every stored record and nothing else; the match log, statements,
  arrivals, evidence and rosters decode.

Run it on a store no process is writing (a stopped node, or a copy): it reads one snapshot per part.
"""

from __future__ import annotations

import faulthandler
import functools
import hashlib
import json
import os
import pickle
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import lmdb

from node.core.canonical import Reader
from node.core.entry import ZERO_ID, Entry, EntryKind
from node.core.errors import DataCorruption, EncodingError, HashnodeError
from node.core.records import RECORD_ID_TAG, decode_labels, item_labels, record_id
from node.index.video import video_rows
from node.membership.members import Membership
from node.storage.matchlog import LmdbMatchLog
from node.storage.store import (
    MATCHING,
    ROW_FIXED,
    STATUS_AT,
    STATUSES,
    TABLES,
    RecordRow,
    Store,
    Txn,
    damage,
    exact_key,
    read_u64,
    u64,
)

try:  # the start-up check's loops in C (setup.py); without them, the same in Python
    from node.storage._rowscan import digest as compiled_digest
    from node.storage._rowscan import lookups as compiled_lookups
    from node.storage._rowscan import table_digest as compiled_table_digest
except ImportError:  # pragma: no cover - depends on the build
    compiled_lookups = compiled_table_digest = compiled_digest = None  # type: ignore[assignment]

MAX_PROBLEMS = 100  # a badly damaged store would otherwise produce one line per entry


@dataclass
class IntegrityReport:
    """What `check_store` found: sizes, and every problem (empty when the store is consistent)."""

    authors: int = 0
    entries: int = 0
    records: int = 0
    active_records: int = 0
    problems: list[str] = field(default_factory=list)
    found: int = 0  # problems found, those beyond MAX_PROBLEMS too

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, text: str) -> None:
        self.found += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(text)

    def summary(self) -> str:
        sizes = f"{self.authors} logs, {self.entries} entries, {self.records} records"
        sizes += f" ({self.active_records} active)"
        if self.ok:
            return f"consistent: {sizes}"
        return f"{self.found} problem(s) in {sizes}: " + "; ".join(self.problems[:5])


Part = Callable[[Store, Txn, IntegrityReport, dict[str, int]], None]


def check_store(store: Store, membership: Membership | None = None) -> IntegrityReport:
    """Checks `store` part by part, each part in its own read snapshot; with `membership`, every entry's
    signature too. Damage met in a part is reported as a problem of that part and the check goes on."""
    report = IntegrityReport()
    missing = [name for name in TABLES if store.db(name) is None]
    for name in missing:
        report.problem(f"table {name}: absent")
    if not missing:
        rows: dict[str, int] = {}
        for what, part in _parts(membership):
            _part(store, report, rows, what, part)
            _after_part(report, rows, what)
    return report


def check_store_at(
    path: Path, membership: Membership | Callable[[Store], Membership] | None = None
) -> IntegrityReport:
    """`check_store` of the store at `path` (not open in this process), each part read in a child process of
    its own (where the platform can fork), so that a page naming bytes past the end of the data file, which
    kills the process reading it (SIGBUS: LMDB trusts the sizes written in its pages), is reported as a
    problem of that part too, and the other parts are still checked. `membership` may be a function of the
    store (the newest roster it holds), called in the child that checks the logs."""
    report, rows = IntegrityReport(), dict[str, int]()
    absent, _ = _in_child(path, "the table list", _absent_tables)
    _merge(report, rows, absent, {})
    if absent.ok:
        for what, part in _parts(membership):
            _merge(report, rows, *_in_child(path, what, functools.partial(_run_part, what=what, part=part)))
            _after_part(report, rows, what)
    return report


def _absent_tables(store: Store) -> tuple[IntegrityReport, dict[str, int]]:
    report = IntegrityReport()
    for name in TABLES:
        if store.db(name) is None:
            report.problem(f"table {name}: absent")
    return report, {}


def _parts(membership: Membership | Callable[[Store], Membership] | None) -> list[tuple[str, Part]]:
    def logs(store: Store, txn: Txn, report: IntegrityReport, rows: dict[str, int]) -> None:
        _check_logs(store, txn, membership(store) if callable(membership) else membership, report)

    return [
        ("the table pages", lambda store, txn, report, rows: rows.update(_read_tables(store, txn, report))),
        ("the logs", logs),
        ("the records and their lookup tables", lambda store, txn, report, rows: _check_lookups(store, txn, report)),
        ("the change feed", lambda store, txn, report, rows: _check_changes(store, txn, report)),
        ("the decoded tables", lambda store, txn, report, rows: _check_decoding(store, txn, report)),
    ]


def _after_part(report: IntegrityReport, rows: dict[str, int], what: str) -> None:
    if what == "the logs":
        if "entries" in rows and rows["entries"] != report.entries:
            report.problem(f"entries: {rows['entries']} stored, but the logs hold {report.entries}")
        if "logs" in rows and rows["logs"] != report.entries:
            report.problem(f"logs: {rows['logs']} rows, but the logs hold {report.entries} entries")


def check_lookups(store: Store) -> None:
    """What the node checks at every start before it serves: each record row decodes, and every table a lookup
    reads (the exact-hash and record-id tables, the `pdq` table the index is built from, the counters) agrees
    with the rows, so that a damaged lookup table can never answer a miss for a record the store holds.

    Raises:
        DataCorruption: naming the first problems found (`hashnode check` lists them all).
    """
    _raise_first(_lookups_report(store)[0])


def check_lookups_at(path: Path) -> None:
    """`check_lookups` of the store at `path` (not open in this process: before the node opens it), read in a
    child process, as `check_store_at` says: a reader killed by a damaged page is reported as damage."""
    if (path / "data.mdb").is_file():
        _raise_first(_in_child(path, "the lookup tables", _lookups_report)[0])


# `[storage] startup_check` (docs/operator-guide.md): what the node checks of its lookup tables before it serves.
STARTUP_CHECKS = ("full", "quick", "off")


def quick_check_lookups(store: Store) -> None:
    """The `quick` start-up check, O(1) whatever the store's size: the rows the records, exact-hash, record-id
    and `pdq` tables hold (their headers' counts) against the store's next ordinal and the counters. It finds a
    lost or added row, never a changed one (a damaged key in the exact table is a miss it cannot see): the full
    check (`BackgroundCheck`) runs after the start for that.

    Raises:
        DataCorruption: naming the first count that disagrees.
    """
    report = IntegrityReport()

    def counts(store: Store, txn: Txn, report: IntegrityReport, rows: dict[str, int]) -> None:
        held = {name: txn.stat(store.db(name))["entries"] for name in ("records", "exact", "rids", "pdq")}
        next_ordinal = store.pdq_watermark(txn)[0]
        if held["records"] != next_ordinal:
            report.problem(f"meta next_ordinal: {next_ordinal}, but the records table holds {held['records']} rows")
        for name in ("exact", "rids"):
            if held[name] != held["records"]:
                report.problem(f"{name}: {held[name]} rows, but the records table holds {held['records']}")
        active_pdq = store.counts(txn).get("type:pdq", 0)
        if held["pdq"] != active_pdq:
            report.problem(f"pdq: {held['pdq']} rows, but the counters give {active_pdq} active PDQ records")

    _part(store, report, {}, "the lookup tables' counts", counts)
    _raise_first(report)


class BackgroundCheck:
    """The full start-up check run beside a node that is already serving (`[storage] startup_check = "quick"`),
    in a child process of its own, started afresh (a forked child of a process with the store open could not open
    it again): as at start, a reader killed by a damaged page is damage. What it finds is given to `found` (the
    node reports it as damage met while serving: health NOT_SERVING, hashnode_storage_corruption_total). `stop`
    ends it early."""

    def __init__(self, path: Path, found: Callable[[DataCorruption], None]) -> None:
        self.path, self.found = path, found
        self.finished = threading.Event()
        self.problem: DataCorruption | None = None  # what it found, once finished
        self._stopping = False
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._thread = threading.Thread(target=self._run, name="startup-check", daemon=True)

    def start(self) -> BackgroundCheck:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            if (self.path / "data.mdb").is_file():
                _raise_first(self._report())
        except DataCorruption as exc:
            if not self._stopping:
                self.problem = exc
                self.found(exc)
        finally:
            self.finished.set()

    def _report(self) -> IntegrityReport:
        root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (root, os.environ.get("PYTHONPATH"))))}
        command = "import sys; from node.storage.integrity import _check_main; sys.exit(_check_main(sys.argv[1]))"
        with self._lock:
            if self._stopping:
                return IntegrityReport()
            self._process = subprocess.Popen(
                [sys.executable, "-c", command, str(self.path)],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
            )
        data, _ = self._process.communicate()
        code = self._process.returncode
        if code == 0 and data:
            received: tuple[IntegrityReport, dict[str, int]] = pickle.loads(data)
            return received[0]
        return _reader_died("the lookup tables", -code if code < 0 else None, code)

    def stop(self) -> None:
        """Ends the check (its child process) if it is still running, and waits for its thread."""
        with self._lock:
            self._stopping = True
            if self._process is not None and self._process.poll() is None:
                self._process.kill()
        if self._thread.is_alive():
            self._thread.join()


def _check_main(path: str) -> int:
    """`BackgroundCheck`'s child: the report of `check_lookups` of the store at `path`, pickled to stdout."""
    try:
        store = Store.open_readonly(Path(path))
    except HashnodeError as exc:
        result: tuple[IntegrityReport, dict[str, int]] = (IntegrityReport(), {})
        result[0].problem(f"the lookup tables: {exc.diagnostics()}")
    else:
        try:
            result = _lookups_report(store)
        finally:
            store.close()
    sys.stdout.buffer.write(pickle.dumps(result))
    sys.stdout.flush()
    return 0


def _raise_first(report: IntegrityReport) -> None:
    if report.problems:
        first = report.problems[0]
        more = f" and {report.found - 1} more problem(s)" if report.found > 1 else ""
        raise DataCorruption(*_where(first), f"{_what(first)}{more}")


def _lookups_report(store: Store) -> tuple[IntegrityReport, dict[str, int]]:
    report = IntegrityReport()
    _part(
        store, report, {}, "the lookup tables",
        lambda store, txn, report, rows: _check_lookups(store, txn, report, full=False),
    )
    if report.ok:  # what a match reads besides: the history of records (policy notes)
        _part(
            store, report, {}, "the related table", lambda store, txn, report, rows: _read_table(txn, store, "related")
        )
    return report, {}


def _run_part(store: Store, what: str, part: Part) -> tuple[IntegrityReport, dict[str, int]]:
    report, rows = IntegrityReport(), dict[str, int]()
    _part(store, report, rows, what, part)
    return report, rows


def _merge(report: IntegrityReport, rows: dict[str, int], part: IntegrityReport, part_rows: dict[str, int]) -> None:
    for problem in part.problems:
        report.problem(problem)
    report.found += part.found - len(part.problems)
    for name in ("authors", "entries", "records", "active_records"):
        if getattr(part, name):
            setattr(report, name, getattr(part, name))
    rows.update(part_rows)


def _in_child(
    path: Path,
    what: str,
    task: Callable[[Store], tuple[IntegrityReport, dict[str, int]]],
) -> tuple[IntegrityReport, dict[str, int]]:
    """`task` run over `path` opened read-only in a forked child; a child killed by a signal (or failing in
    any other way) is reported as a problem of `what`."""
    if not hasattr(os, "fork"):  # pragma: no cover - every platform the node runs on forks
        store = Store.open_readonly(path)
        try:
            return task(store)
        finally:
            store.close()
    readable, writable = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no locks of the parent's threads are taken here (no logging, no gRPC)
        code = 1
        try:
            # A damaged page may kill it (LMDB asserts, or reads past the file): the parent reports that, without
            # a stack dump or LMDB's assertion text on the terminal.
            faulthandler.disable()
            os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
            os.close(readable)
            try:
                store = Store.open_readonly(path)
                result = task(store)
            except HashnodeError as exc:  # the store does not open: that is the report
                result = (IntegrityReport(), {})
                result[0].problem(f"{what}: {exc.diagnostics()}")
            with os.fdopen(writable, "wb") as out:
                pickle.dump(result, out)
            code = 0
        finally:
            os._exit(code)
    os.close(writable)
    with os.fdopen(readable, "rb") as received:
        data = received.read()
    _, status = os.waitpid(pid, 0)
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and data:
        received_result: tuple[IntegrityReport, dict[str, int]] = pickle.loads(data)
        return received_result
    killed = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    return _reader_died(what, killed, os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1), {}


def _reader_died(what: str, killed: int | None, code: int) -> IntegrityReport:
    """The report of a reader process that gave none: killed by signal `killed`, or exited with `code`."""
    report = IntegrityReport()
    if killed is not None:
        name = signal.Signals(killed).name
        report.problem(
            f"{what}: reading them killed the reader ({name}): a page names bytes past the end of the data file"
        )
    else:
        report.problem(f"{what}: the reader failed (exit status {code})")
    return report


def _read_table(txn: Txn, store: Store, name: str) -> None:
    rows = txn.cursor(db=store.db(name)).iternext(keys=True, values=True)
    if compiled_table_digest is not None:
        compiled_table_digest(rows)
    else:
        for _ in rows:
            pass


def _where(problem: str) -> tuple[str, str]:
    """(table, key) of a problem line "table key: what" (a line about a part names no table: all of it)."""
    head = problem.split(": ", 1)[0]
    table, _, key = head.partition(" ")
    return (table, key) if table in TABLES else (head, "")


def _what(problem: str) -> str:
    return problem.split(": ", 1)[1] if ": " in problem else problem


def _part(store: Store, report: IntegrityReport, rows: dict[str, int], what: str, part: Part) -> None:
    """Runs one part of the check in its own snapshot; damage that stops it is a problem, not a crash."""
    try:
        with store.read() as txn:
            part(store, txn, report, rows)
    except DataCorruption as exc:
        where = f"{exc.table} {exc.key}".strip()
        report.problem(f"{where}: {_cause(exc)} (while reading {what})")
    except (HashnodeError, lmdb.Error) as exc:
        report.problem(f"{what}: {damage(exc).diagnostics()}")
    except Exception as exc:  # damaged bytes can break any decoder; say so, never crash
        report.problem(f"{what}: unreadable ({type(exc).__name__}: {exc})")


def _cause(exc: DataCorruption) -> str:
    """What a DataCorruption says is wrong, without where and the advice (the check prints its own)."""
    return exc.what


def _read_tables(store: Store, txn: Txn, report: IntegrityReport) -> dict[str, int]:
    """Reads every row of every table; compares the rows read with the count in the table's header (a lost
    branch of the tree shows there). Returns the rows read per table that read to its end."""
    rows: dict[str, int] = {}
    for name in TABLES:
        db = store.db(name)
        try:
            read = 0
            for _ in txn.cursor(db=db).iternext(keys=True, values=True):
                read += 1
            said = int(txn.stat(db)["entries"])
        except lmdb.Error as exc:
            report.problem(f"{name}: unreadable after {read} rows ({damage(exc).diagnostics()})")
            continue
        if read != said:
            report.problem(f"{name}: {read} rows read, but the table's header says {said}")
        rows[name] = read
    return rows


def _check_logs(store: Store, txn: Txn, membership: Membership | None, report: IntegrityReport) -> None:
    heads = store.heads(txn)
    report.authors = len(heads)
    for author in sorted(heads):
        try:
            _check_log(store, txn, author, membership, report)
        except DataCorruption as exc:
            report.problem(f"{exc.table} {exc.key}: {_cause(exc)} (in the log of {author})")
    counted = store.counts(txn).get("entries", 0)
    if counted != report.entries:
        report.problem(f"counts entries: {counted}, but the logs hold {report.entries}")


def _check_log(store: Store, txn: Txn, author: str, membership: Membership | None, report: IntegrityReport) -> None:
    head = store.head(txn, author)
    assert head is not None  # listed by heads()
    prev, last_timestamp = ZERO_ID, 0
    for seq in range(1, head.seq + 1):
        where = f"log of {author} at seq {seq}"
        entry_id = store.entry_id_at(txn, author, seq)
        if entry_id is None:
            report.problem(f"{where}: missing (head says seq {head.seq})")
            return
        try:
            entry = store.entry(txn, entry_id)
        except HashnodeError as exc:
            report.problem(f"{where}: stored entry does not decode: {exc.diagnostics()}")
            return
        if entry is None:
            report.problem(f"{where}: names entry {entry_id.hex()[:16]}… which is not stored")
            return
        header = entry.header
        if entry.entry_id != entry_id:
            report.problem(f"{where}: stored under {entry_id.hex()[:16]}… but its header hashes to another id")
        if (header.author, header.seq) != (author, seq):
            report.problem(f"{where}: the entry says {header.author} seq {header.seq}")
        if header.prev != prev:
            report.problem(f"{where}: prev does not name the entry at seq {seq - 1}")
        if membership is not None:
            _check_signature(entry, membership, where, report)
        prev, last_timestamp = entry_id, header.timestamp_ms
        report.entries += 1
        if entry.kind == EntryKind.CONTRIBUTION:
            _check_contribution(store, txn, entry_id, entry.items, where, report)
    if store.entry_id_at(txn, author, head.seq + 1) is not None:
        report.problem(f"log of {author}: holds seq {head.seq + 1}, after its head")
    if (head.entry_id, head.timestamp_ms) != (prev, last_timestamp):
        report.problem(f"log of {author}: head row does not match entry seq {head.seq}")


def _check_signature(entry: Entry, membership: Membership, where: str, report: IntegrityReport) -> None:
    header = entry.header
    try:
        entry.verify(membership.signing_key(header.author, header.key_id, header.timestamp_ms))
    except HashnodeError as exc:
        report.problem(f"{where}: signature: {exc.diagnostics()}")


def _check_contribution(
    store: Store, txn: Txn, entry_id: bytes, items: tuple[bytes, ...], where: str, report: IntegrityReport
) -> None:
    for index, item in enumerate(items):
        ordinal = store.ordinal(txn, record_id(entry_id, index))
        row = None if ordinal is None else store.record(txn, ordinal)
        if row is None:
            report.problem(f"{where}: record {index} is not stored")
        elif (row.entry_id, row.index, row.item) != (entry_id, index, item):
            report.problem(f"{where}: record {index} is stored with other bytes or another position")


def _check_lookups(
    store: Store, txn: Txn, report: IntegrityReport, *, full: bool = True, compiled: bool | None = None
) -> None:
    """Every record row decodes, ordinals are dense from 0 up to the store's next ordinal, and the exact-hash,
    record-id, `pdq` and `frames` tables (what the index is built from: the active PDQ records, the distinct
    usable frames of the active vpdq records) and the counters say exactly what the rows say.

    Without `full` (at start), a row is read only as far as the lookups and the counters need (its fixed part,
    contributor, signal type, value and labels section; a record item damaged beyond those is found when it is
    decoded, DATA_LOSS then, or by `hashnode check`), and the exact-hash and record-id tables are compared with
    the rows as multisets (a sum of digests of their rows, read in order) instead of looked up row by row: a
    mismatch is reported without the key (`hashnode check` names it). The frames table is compared so always.
    Without `full`, the loop over the rows and the exact and rids tables runs in node/storage/_rowscan.c where it
    is built (`compiled`, default: when built), handing back the rows it does not read itself; the Python loop
    gives the same report.
    """
    compiled = compiled_lookups is not None if compiled is None else compiled
    tally = _Tally(
        store, txn, report, full, compiled_digest if compiled and not full else _python_digest
    )
    report.records = report.active_records = 0
    records = txn.cursor(db=store.db("records"))
    if compiled and not full:
        rows, active, expected, exact_sum, rids_sum, groups, others, problems = compiled_lookups(
            records.iternext(keys=True, values=True), RECORD_ID_TAG, tally.pdq
        )
        for problem in problems:
            report.problem(problem)
        report.records, report.active_records = rows, active
        tally.sums["exact"], tally.sums["rids"] = exact_sum, rids_sum
        tally.by_group = groups
        for ordinal, key, value in others:
            tally.row(ordinal, key, value)
    else:
        expected = 0
        for key, value in records:
            if len(key) != 8 or read_u64(key) != expected:
                where = f"records ordinal {read_u64(key) if len(key) == 8 else bytes(key).hex()}"
                report.problem(f"{where}: found where ordinal {expected} should be")
                if len(key) != 8:
                    continue
                expected = read_u64(key)
            ordinal, expected = expected, expected + 1
            report.records += 1
            tally.row(ordinal, key, value)
    pdq = tally.pdq
    if pdq:
        report.problem(f"pdq {min(pdq).hex()}: the pdq table lists {len(pdq)} ordinal(s) with no record")
    next_ordinal = store.pdq_watermark(txn)[0]
    if next_ordinal != expected:
        report.problem(f"meta next_ordinal: {next_ordinal}, but the records end at ordinal {expected}")
    for name, rows in (("exact", report.records), ("rids", report.records), ("frames", tally.frames)):
        cursor = txn.cursor(db=store.db(name)).iternext(keys=True, values=True)
        if name != "frames" and compiled and not full:
            held, total = compiled_table_digest(cursor)
        else:
            held = total = 0
            for row in cursor:
                held += 1
                total += hash(row) if name == "frames" or not full else 0
        if held != rows:
            report.problem(f"{name}: {held} rows, but the records give {rows}")
        elif total % _DIGEST_MOD != tally.sums[name] % _DIGEST_MOD:
            report.problem(f"{name}: its rows are not those the records give")
    _compare_counts(store.counts(txn), tally.by_group, report)


_DIGEST_MOD = 1 << 64  # the compiled digests are summed modulo 2**64; Python's hash() sums are compared so too


def _python_digest(key: bytes, value: bytes) -> int:
    return hash((key, value))


class _Tally:
    """What `_check_lookups` adds up over the record rows: the digests of the exact, rids and frames rows the
    rows give, the pdq table's rows not yet met, the active rows per (signal type, author, labels section)."""

    def __init__(
        self, store: Store, txn: Txn, report: IntegrityReport, full: bool, digest: Callable[[bytes, bytes], int]
    ) -> None:
        self.report, self.full, self.digest = report, full, digest
        self.exact_cursor, self.rids, self.get = txn.cursor(db=store.db("exact")), store.db("rids"), txn.get
        self.sums = {"exact": 0, "rids": 0, "frames": 0}  # what the rows say each table holds (without full)
        self.frames = 0
        self.pdq = dict(txn.cursor(db=store.db("pdq")).iternext(keys=True, values=True))  # `Store.iter_pdq`
        self.by_group: dict[tuple[bytes, bytes, bytes], int] = {}  # (type, author, labels section) -> active rows

    def row(self, ordinal: int, key: bytes, value: bytes) -> None:
        """Adds one record row (at a dense ordinal) to the tally, reporting what is wrong with it."""
        report, full = self.report, self.full
        try:
            kind, value_at, value_end, labels = _lookup_fields(ordinal, value, full)
        except DataCorruption as exc:
            report.problem(f"records ordinal {ordinal}: {_cause(exc)}")
            return
        active = value[STATUS_AT] in MATCHING
        report.active_records += active
        end = ROW_FIXED + (value[53] << 8 | value[54])
        exact_row = (exact_key(kind.decode("utf-8", "replace"), value[value_at:value_end]), key)
        rids_row = (hashlib.sha256(RECORD_ID_TAG + value[:36]).digest(), key)
        if not full:
            self.sums["exact"] += self.digest(*exact_row)
            self.sums["rids"] += self.digest(*rids_row)
        elif not self.exact_cursor.set_key_dup(*exact_row):
            hashed = value[value_at:value_end].hex()
            report.problem(f"records ordinal {ordinal}: its {kind.decode()} hash {hashed} is not in the exact table")
        if full and self.get(rids_row[0], db=self.rids) != key:
            report.problem(f"records ordinal {ordinal}: its record id does not name it in the rids table")
        listed = self.pdq.pop(key, None)
        if kind == b"pdq" and active and listed != value[value_at:value_end]:
            report.problem(
                f"records ordinal {ordinal}: active PDQ record missing from the pdq table (the index is built from it)"
            )
        elif listed is not None and not (kind == b"pdq" and active):
            report.problem(f"records ordinal {ordinal}: in the pdq table but not an active PDQ record")
        if kind == b"vpdq" and active:
            try:
                frame_keys, hashes = video_rows(ordinal, value[value_at:value_end])
            except (HashnodeError, ValueError) as exc:
                report.problem(f"records ordinal {ordinal}: its video features do not decode ({exc})")
            else:
                self.frames += len(hashes)
                frame_rows = zip(frame_keys.tolist(), hashes, strict=True)
                self.sums["frames"] += sum(hash((u64(frame), bytes(frame_hash))) for frame, frame_hash in frame_rows)
        if active:
            group = (kind, value[ROW_FIXED:end], labels)
            self.by_group[group] = self.by_group.get(group, 0) + 1


def _lookup_fields(ordinal: int, row: bytes, full: bool) -> tuple[bytes, int, int, bytes]:
    """(signal type, where the value starts and ends, labels section as stored) of an encoded record row.

    Raises:
        DataCorruption: the row (with `full`, its whole record item) does not decode.
    """
    if full or len(row) < ROW_FIXED or row[STATUS_AT] not in STATUSES:
        RecordRow.decode(ordinal, row).record  # raises, saying what is wrong  # noqa: B018
    end = ROW_FIXED + (row[53] << 8 | row[54])
    try:
        kind_end = end + 2 + (row[end] << 8 | row[end + 1])
        value_at = kind_end + 4
        value_end = value_at + int.from_bytes(row[kind_end:value_at], "big")
        labels = item_labels(row, end)
    except (IndexError, EncodingError) as exc:
        raise DataCorruption("records", f"ordinal {ordinal}", f"record item: malformed ({exc})") from None
    if value_end > len(row) or len(row) < value_at:
        raise DataCorruption("records", f"ordinal {ordinal}", "record item: truncated")
    return row[end + 2 : kind_end], value_at, value_end, labels


def _compare_counts(
    stored: dict[str, int], by_group: dict[tuple[bytes, bytes, bytes], int], report: IntegrityReport
) -> None:
    """Every counter but `entries` against the active rows, counted by (type, author, labels section)."""
    counts: dict[str, int] = {}
    for (kind, author, labels), n in by_group.items():
        names = [f"type:{kind.decode('utf-8', 'replace')}", f"author:{author.decode('utf-8', 'replace')}"]
        try:
            names += [f"label:{label}" for label in decode_labels(labels)]
        except EncodingError:
            report.problem(f"records: a labels section does not decode ({labels.hex()[:40]})")
        for name in ("records", *names):
            counts[name] = counts.get(name, 0) + n
    stored = {name: value for name, value in stored.items() if name != "entries"}
    for name in sorted(set(stored) | set(counts)):
        if stored.get(name, 0) != counts.get(name, 0):
            report.problem(f"counts {name}: {stored.get(name, 0)}, but the rows give {counts.get(name, 0)}")


def _check_changes(store: Store, txn: Txn, report: IntegrityReport) -> None:
    """The change feed has no gap, names only stored records, and names every record (a reader following it
    would otherwise miss one)."""
    stored = bytearray()  # one bit per ordinal: a store's ordinals are dense from 0
    end = store.pdq_watermark(txn)[0]
    for key in txn.cursor(db=store.db("records")).iternext(keys=True, values=False):
        ordinal = read_u64(key) if len(key) == 8 else end
        if ordinal >= end:  # a damaged key: the records part says so
            continue
        if ordinal >> 3 >= len(stored):
            stored.extend(bytes((ordinal >> 3) + 1 - len(stored)))
        stored[ordinal >> 3] |= 1 << (ordinal & 7)
    listed = bytearray(len(stored))
    expected, unknown = None, 0
    for position, ordinal in store.changes_from(txn, 0):
        if expected is not None and position != expected:
            report.problem(f"change feed: position {position} follows {expected - 1}")
        expected = position + 1
        if ordinal >> 3 < len(stored) and stored[ordinal >> 3] & (1 << (ordinal & 7)):
            listed[ordinal >> 3] |= 1 << (ordinal & 7)
        else:
            unknown += 1
    if unknown:
        report.problem(f"change feed: {unknown} positions name no stored record")
    missing = sum(bin(held & ~seen).count("1") for held, seen in zip(stored, listed, strict=True))
    if missing:
        report.problem(f"change feed: {missing} records were never on it")


def _check_decoding(store: Store, txn: Txn, report: IntegrityReport) -> None:
    """The tables no other part decodes: each row of the shape its layout says."""
    checks: list[tuple[str, Callable[[bytes, bytes], object]]] = [
        ("arrivals", _arrival),
        ("evidence", lambda key, value: store.evidence(txn, key)),
        ("rosters", lambda key, value: json.loads(value.decode("utf-8"))),
        ("related", lambda key, value: _sized(value, 32)),
        ("rids", lambda key, value: _sized(value, 8)),
        ("pdqlog", lambda key, value: _sized(value, 9)),
        ("changes", lambda key, value: _sized(value, 8)),
    ]
    for name, decode in checks:
        for key, value in txn.cursor(db=store.db(name)):
            try:
                decode(bytes(key), bytes(value))
            except Exception as exc:  # whatever a damaged row makes a decoder raise
                what = exc.diagnostics() if isinstance(exc, HashnodeError) else f"{type(exc).__name__}: {exc}"
                report.problem(f"{name} {bytes(key).hex()[:32]}: does not decode ({what})")
    for _ in LmdbMatchLog(store, txn).since(0):
        pass


def _arrival(key: bytes, value: bytes) -> None:
    reader = Reader(value, "arrival")
    reader.u64(), reader.u64(), reader.u16(), reader.string()
    reader.end()


def _sized(value: bytes, size: int) -> None:
    if len(value) != size:
        raise ValueError(f"{len(value)} bytes, want {size}")
