"""The crash harness: SIGKILL a node of a running consortium at random points, restart it, check that nothing
was lost.

Each iteration picks a victim and one of three moments to kill it:

* `ingest`: while clients stream Submit batches to every node (the victim included) and the nodes replicate;
* `catch-up`: the victim is killed, the others take contributions meanwhile, and the victim is killed again at
  a random moment after it restarts, while it fetches what it missed (and takes live pushes);
* `start-up`: as catch-up, but the second kill lands while the process is still starting (opening the store,
  replaying the roster chain, building the index), before it serves.

After every kill, with the victim down: its store opens and passes `check_store` (every log a contiguous
signed chain matching its head, every record where its entry says, counters right). Then it restarts, the
consortium must converge (one state digest, empty gap buffers), and every acknowledged contribution must be
matched on the victim, with the provenance of this iteration's acknowledged records verifying against the
pinned roster.
"""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from node.api.gen.hashnode.v1 import client_pb2_grpc
from node.cli.serve_cmd import PACKAGE_ROOT
from node.membership.members import Membership
from testkit.checks import Contributions, check_stopped_store, missing_records, unverified_provenance
from testkit.consortium import LocalConsortium, ProcessNode, eventually

MODES = ("ingest", "catch-up", "start-up")


@dataclass
class CrashFigures:
    """What the harness did and found. Every count after `acknowledged` must be 0."""

    iterations: int = 0
    kills: dict[str, int] = field(default_factory=lambda: {mode: 0 for mode in MODES})
    kills_while_behind: int = 0  # the victim held fewer entries than its peers when it died
    acknowledged: int = 0
    lost: int = 0  # acknowledged records not matched after the restart
    unverified: int = 0  # acknowledged records whose provenance did not verify
    integrity_problems: int = 0  # check_store problems after a kill
    not_converged: int = 0
    converge_seconds: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.unverified or self.integrity_problems or self.not_converged)

    def lines(self) -> list[str]:
        converge = sorted(self.converge_seconds) or [0.0]
        return [
            f"iterations                 {self.iterations}",
            "kills                      " + ", ".join(f"{mode} {n}" for mode, n in self.kills.items()),
            f"kills while behind peers   {self.kills_while_behind}",
            f"acknowledged records       {self.acknowledged}",
            f"acknowledged records lost  {self.lost}",
            f"provenance not verifying   {self.unverified}",
            f"store integrity problems   {self.integrity_problems}",
            f"did not converge           {self.not_converged}",
            f"converged after restart    median {converge[len(converge) // 2]:.2f} s, "
            f"max {converge[-1]:.2f} s",
        ]


class _Load:
    """Submitter threads, one or more per node, each submitting batches until stopped."""

    def __init__(
        self, contributions: Contributions, rng: random.Random, max_batch: int, pause: float
    ) -> None:
        self._contributions = contributions
        self._pause = pause
        self._rng = rng
        self._max_batch = max_batch
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._counter = 0
        self._lock = threading.Lock()

    def start(self, nodes: list[ProcessNode]) -> None:
        for node in nodes:
            client = node.client  # bound now: a kill later closes the node's channels, not this stub's calls
            sizes = [self._rng.randint(1, self._max_batch) for _ in range(1000)]
            thread = threading.Thread(target=self._run, args=(client, sizes), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _run(self, client: client_pb2_grpc.HashNodeStub, sizes: list[int]) -> None:
        for size in sizes:
            if self._stop.is_set():
                return
            with self._lock:
                self._counter += 1
                tag = f"crash {time.time_ns()} {self._counter}"
            try:
                self._contributions.submit(client, tag, size, timeout=5)
            except ValueError:  # the channel was closed under the call: not acknowledged
                return
            self._stop.wait(self._pause)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(15)
        self._threads.clear()
        self._stop.clear()


class CrashHarness:
    """Runs kill/restart/check iterations against a started `LocalConsortium`."""

    def __init__(
        self,
        consortium: LocalConsortium,
        trusted: Membership,
        *,
        seed: int = 0,
        max_batch: int = 10,
        backlog_batches: int = 10,
        converge_timeout: float = 30.0,
        verify_sample: int = 20,
        pause: float = 0.01,
    ) -> None:
        self.consortium = consortium
        self.trusted = trusted
        self.rng = random.Random(seed)
        self.contributions = Contributions()
        self.figures = CrashFigures()
        self.max_batch = max_batch
        self.backlog_batches = backlog_batches
        self.converge_timeout = converge_timeout
        self.verify_sample = verify_sample
        self.pause = pause  # between one submitter's batches

    def run(self, iterations: int, progress: bool = False) -> CrashFigures:
        for i in range(iterations):
            mode = MODES[i % len(MODES)] if i < len(MODES) else self.rng.choice(MODES)
            victim = self.consortium[self.rng.choice(sorted(self.consortium.nodes))]
            self.iteration(victim, mode)
            if progress:
                print(
                    f"  {i + 1}/{iterations} {mode:9} {victim.name}: "
                    f"acknowledged {self.figures.acknowledged}, lost {self.figures.lost}",
                    file=sys.stderr,
                    flush=True,
                )
        return self.figures

    def iteration(self, victim: ProcessNode, mode: str) -> None:
        before = self.contributions.snapshot()
        if mode == "ingest":
            self._kill_during_ingest(victim)
        else:
            self._kill_during_catch_up(victim, during_start=mode == "start-up")
        self.figures.kills[mode] += 1
        self.figures.iterations += 1
        self._check_after_kill(victim)
        victim.start()
        self._check_after_restart(victim, before)

    # -- the kills -----------------------------------------------------------------------------------------

    def _kill_during_ingest(self, victim: ProcessNode) -> None:
        eventually(victim.can_author, f"{victim.name} to author again")
        load = _Load(self.contributions, self.rng, self.max_batch, self.pause)
        load.start([victim, victim, *self.consortium.running()])
        time.sleep(self.rng.uniform(0.05, 0.5))
        self._sigkill(victim)
        load.stop()
        victim.kill()

    def _kill_during_catch_up(self, victim: ProcessNode, *, during_start: bool) -> None:
        victim.kill()
        others = [n for n in self.consortium.running() if n is not victim]
        for i in range(self.backlog_batches):  # what the victim will have to fetch
            node = others[i % len(others)]
            self.contributions.submit(node.client, f"backlog {time.time_ns()} {i}", self.max_batch)
        load = _Load(self.contributions, self.rng, self.max_batch, self.pause)
        load.start(others)  # and live pushes while it catches up
        try:
            if during_start:
                self._kill_while_starting(victim, self.rng.uniform(0.1, 1.2))
            else:
                victim.start()
                time.sleep(self.rng.uniform(0.0, 0.4))
                self._sigkill(victim)
                victim.kill()
        finally:
            load.stop()

    def _kill_while_starting(self, victim: ProcessNode, delay: float) -> None:
        """Starts `hashnode serve` and SIGKILLs it `delay` seconds later, whether or not it serves yet."""
        log = (victim.directory / f"{victim.name}-killed-starting.log").open("w")
        with log:
            process = subprocess.Popen(
                [sys.executable, "-m", "node.cli.main", "serve", "--config", str(victim.config)],
                stdout=subprocess.DEVNULL,
                stderr=log,
                cwd=PACKAGE_ROOT,
            )
            time.sleep(delay)
            process.kill()
            process.wait()

    def _sigkill(self, victim: ProcessNode) -> None:
        """Kills the process at once; its channels stay open until `victim.kill()` (calls in flight fail)."""
        if victim.process is not None:
            victim.process.process.kill()
            victim.process.process.wait()

    # -- the checks ----------------------------------------------------------------------------------------

    def _check_after_kill(self, victim: ProcessNode) -> None:
        report = check_stopped_store(victim.store_path, self.trusted)
        if not report.ok:
            self.figures.integrity_problems += len(report.problems)
            self.figures.failures.append(f"{victim.name} after a kill: {report.summary()}")
        peers = [n.stats().entries for n in self.consortium.running() if n is not victim]
        if peers and report.entries < min(peers):
            self.figures.kills_while_behind += 1

    def _check_after_restart(self, victim: ProcessNode, before: dict[str, str]) -> None:
        try:
            self.figures.converge_seconds.append(self.consortium.wait_converged(self.converge_timeout))
        except AssertionError as exc:
            self.figures.not_converged += 1
            self.figures.failures.append(f"{victim.name} after a restart: {exc}")
        acknowledged = self.contributions.snapshot()
        self.figures.acknowledged = len(acknowledged)
        missing = missing_records(victim.client, acknowledged)
        self.figures.lost = max(self.figures.lost, len(missing))
        if missing:
            self.figures.failures.append(
                f"{victim.name} lacks {len(missing)} acknowledged records: {missing[:3]}"
            )
        new = sorted(set(acknowledged) - set(before))
        sample = self.rng.sample(new, min(self.verify_sample, len(new)))
        failures = unverified_provenance(victim.client, sample, self.trusted)
        self.figures.unverified += len(failures)
        self.figures.failures.extend(failures[:3])

    def final_check(self) -> None:
        """Every node matches every acknowledged record, whose provenance verifies; then each node is stopped
        gracefully and its store checked offline."""
        nodes = self.consortium.running()
        acknowledged = self.contributions.snapshot()
        for node in nodes:
            missing = missing_records(node.client, acknowledged)
            self.figures.lost = max(self.figures.lost, len(missing))
        failures = unverified_provenance(nodes[0].client, sorted(acknowledged), self.trusted)
        self.figures.unverified += len(failures)
        self.figures.failures.extend(failures[:3])
        for node in nodes:
            code = node.stop()
            report = check_stopped_store(node.store_path, self.trusted)
            if code != 0 or not report.ok:
                self.figures.integrity_problems += len(report.problems) or 1
                self.figures.failures.append(f"{node.name} at the end: exit {code}, {report.summary()}")
