"""Network partitions between real node processes, through the proxies of a `LocalConsortium(proxied=True)`.

Each scenario contributes to nodes on every side while the network is broken, checks that the break held
(the sides disagree) and that each side still agrees within itself, restores the network, and then requires
the whole consortium to converge with every acknowledged record on every node and no fork evidence (each
member writes only on its own node, so a partition must never look like a fork).

| scenario      | what breaks                                                                 |
| ------------- | --------------------------------------------------------------------------- |
| split         | {a} | {b, c}: links reset, contributions on both sides                      |
| isolated      | one node cut off from both others, then rejoined                            |
| flapping      | the a↔b links cut and restored every 0.1..0.5 s (c stays connected to both) |
| blackhole     | every link of one node silently stops passing bytes (connections stay open) |
| slow          | 50..150 ms added to every chunk on every link of one node                   |
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from testkit.checks import Contributions, missing_records
from testkit.consortium import LocalConsortium, ProcessNode

SCENARIOS = ("split", "isolated", "flapping", "blackhole", "slow")


@dataclass
class ScenarioResult:
    name: str
    acknowledged: int = 0  # during the scenario
    held: bool = True  # the partition separated the sides (their digests differed before the heal)
    converged: bool = False
    converge_seconds: float = 0.0
    missing: int = 0  # acknowledged records (of the whole run so far) missing on some node afterwards
    evidence: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.held and self.converged and not self.missing and not self.evidence and not self.problems


class _Contributing:
    """One submitter thread per node, until stopped."""

    def __init__(self, contributions: Contributions, nodes: list[ProcessNode], batch: int) -> None:
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(contributions, node, batch), daemon=True)
            for node in nodes
        ]
        for thread in self._threads:
            thread.start()

    def _run(self, contributions: Contributions, node: ProcessNode, batch: int) -> None:
        client, n = node.client, 0
        while not self._stop.is_set():
            n += 1
            contributions.submit(client, f"partition {node.name} {n} {time.time_ns()}", batch, timeout=5)
            self._stop.wait(0.05)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)


class PartitionRunner:
    """Runs scenarios one after the other on a started, proxied consortium."""

    def __init__(
        self,
        consortium: LocalConsortium,
        *,
        seed: int = 0,
        seconds: float = 2.0,
        batch: int = 5,
        converge_timeout: float = 60.0,
    ) -> None:
        assert consortium.links, "the consortium must be proxied"
        self.consortium = consortium
        self.rng = random.Random(seed)
        self.seconds = seconds
        self.batch = batch
        self.converge_timeout = converge_timeout
        self.contributions = Contributions()
        self.results: list[ScenarioResult] = []

    def run(self, name: str) -> ScenarioResult:
        result = ScenarioResult(name)
        scenario: Callable[[ScenarioResult], None] = getattr(self, "_" + name)
        before = len(self.contributions)
        try:
            scenario(result)
        finally:
            self.consortium.heal()
        result.acknowledged = len(self.contributions) - before
        self._check_after_heal(result)
        self.results.append(result)
        return result

    # -- scenarios ---------------------------------------------------------------------------------------

    def _split(self, result: ScenarioResult) -> None:
        lone = self.rng.choice(sorted(self.consortium.nodes))
        rest = [n for n in self.consortium.nodes if n != lone]
        self._broken(result, lambda: self.consortium.partition([lone], rest), sides=[[lone], rest])

    def _isolated(self, result: ScenarioResult) -> None:
        lone = self.rng.choice(sorted(self.consortium.nodes))
        rest = [n for n in self.consortium.nodes if n != lone]
        self._broken(result, lambda: self.consortium.isolate(lone), sides=[[lone], rest], contribute_to=rest)
        # The isolated node has not seen the others' contributions: it rejoins and catches up.

    def _flapping(self, result: ScenarioResult) -> None:
        links = [self.consortium.links[("a", "b")], self.consortium.links[("b", "a")]]
        load = _Contributing(self.contributions, self.consortium.running(), self.batch)
        deadline = time.monotonic() + self.seconds * 2
        try:
            while time.monotonic() < deadline:
                for proxy in links:
                    proxy.cut()
                time.sleep(self.rng.uniform(0.1, 0.5))
                for proxy in links:
                    proxy.restore()
                time.sleep(self.rng.uniform(0.1, 0.5))
        finally:
            load.stop()

    def _blackhole(self, result: ScenarioResult) -> None:
        lone = self.rng.choice(sorted(self.consortium.nodes))
        rest = [n for n in self.consortium.nodes if n != lone]

        def silence() -> None:
            for (source, target), proxy in self.consortium.links.items():
                if lone in (source, target):
                    proxy.blackhole()

        self._broken(result, silence, sides=[[lone], rest])

    def _slow(self, result: ScenarioResult) -> None:
        lone = self.rng.choice(sorted(self.consortium.nodes))
        for (source, target), proxy in self.consortium.links.items():
            if lone in (source, target):
                proxy.delay(self.rng.uniform(0.05, 0.15))
        load = _Contributing(self.contributions, self.consortium.running(), self.batch)
        time.sleep(self.seconds)
        load.stop()

    def _broken(
        self,
        result: ScenarioResult,
        breaking: Callable[[], None],
        *,
        sides: list[list[str]],
        contribute_to: list[str] | None = None,
    ) -> None:
        """Breaks the network, contributes for a while, and checks the sides drifted apart, each side agreeing
        within itself."""
        breaking()
        names = contribute_to or sorted(self.consortium.nodes)
        load = _Contributing(self.contributions, [self.consortium[n] for n in names], self.batch)
        time.sleep(self.seconds)
        load.stop()
        digests = self.consortium.digests()
        first, second = ({digests[n] for n in side} for side in sides)
        if first & second:
            result.held = False
            result.problems.append("the partition did not separate the sides")
        for side in sides:
            nodes = [self.consortium[n] for n in side]
            if len(nodes) > 1:
                try:
                    self.consortium.wait_converged(self.converge_timeout, nodes)
                except AssertionError:
                    result.problems.append(f"side {side} did not agree within itself while partitioned")

    # -- after -------------------------------------------------------------------------------------------

    def _check_after_heal(self, result: ScenarioResult) -> None:
        try:
            result.converge_seconds = self.consortium.wait_converged(self.converge_timeout)
            result.converged = True
        except AssertionError as exc:
            result.problems.append(str(exc))
            return
        acknowledged = self.contributions.snapshot()
        for node in self.consortium.running():
            missing = missing_records(node.client, acknowledged)
            result.missing = max(result.missing, len(missing))
            if missing:
                result.problems.append(f"{node.name} lacks {len(missing)} acknowledged records")
            result.evidence = max(result.evidence, int(node.state().evidence))
