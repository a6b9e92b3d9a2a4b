"""`python -m demo.report --out DIR` (`make report-demo`): a transparency report from a demo data set,
and a headless-browser screenshot of its HTML page when Chromium is installed.

Three in-process nodes over real LMDB live through 60 days of a made-up consortium on a simulated clock:
they contribute hashes under several labels, match content, dispute and endorse each other's records, and
replicate with a random delay. platform-b acts on most content it matches and issues a statement of reasons for
each decision; some of its users appeal from their statements, the appeals are decided (some overturned, some
upheld, one by a steward after the window), and platform-b withdraws the statements whose appeal was overturned
(it reinstates the content). Everything is seeded, so the report is the same on every run. The report is platform-b's,
built by the same code as `Admin.BuildReport`. EXAMPLE KEYS derived from fixed seeds: never for production.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from node.core.keys import SigningKey
from node.core.records import HashRecord
from node.core.taxonomy import Taxonomy
from node.dueprocess import report
from node.dueprocess.items import AppealItem, Outcome, Stance
from node.dueprocess.statement import DecisionRequest, StatementSettings
from node.dueprocess.statement_language import load_packs
from node.ledger.ledger import Ledger, LedgerSettings, Query
from node.ledger.statements import IssueRequest, Statements
from node.ledger.transparency import transparency_report
from node.membership.members import Member, MemberKey, Membership

CONSORTIUM = "demo-consortium"
START_MS = 1_767_225_600_000  # 2026-01-01T00:00Z
DAY_MS = 86_400_000
DAYS = 60
MEMBERS = {"platform-a": ("contributor",), "platform-b": ("contributor",), "platform-c": ("trusted_flagger",)}
STEWARD = "steward-1"
LABELS = ("tvec.attack_livestream", "tvec.manifesto", "tvec.propaganda", "tvec.recruitment_instruction")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def _key(member: str) -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(b"hashnode report demo " + member.encode()).digest())


def _membership() -> Membership:
    roles = {**MEMBERS, STEWARD: ("steward",)}
    return Membership.from_members(
        CONSORTIUM,
        [
            Member(m, m, (MemberKey(_key(m).public),), r, contact=f"trust-and-safety@{m}.example")
            for m, r in roles.items()
        ],
    )


@dataclass
class Clock:
    now: int = START_MS

    def __call__(self) -> int:
        return self.now


@dataclass
class DemoConsortium:
    root: Path
    rng: random.Random = field(default_factory=lambda: random.Random(2026))
    clock: Clock = field(default_factory=Clock)
    nodes: dict[str, Ledger] = field(default_factory=dict)
    records: list[tuple[str, bytes, bytes]] = field(default_factory=list)  # (author, record id, hash)
    statements: Statements | None = None  # platform-b's statements of reasons
    ids: random.Random = field(default_factory=lambda: random.Random(7))  # statement ids, apart from `rng`
    appealed_from: dict[bytes, str] = field(default_factory=dict)  # appeal entry id -> statement id

    def open(self) -> None:
        membership = _membership()
        for member in (*MEMBERS, STEWARD):
            self.nodes[member] = Ledger.open(
                self.root / member,
                settings=LedgerSettings(CONSORTIUM, member, map_size=1 << 28),
                membership=membership,
                signer=_key(member),
                taxonomy=Taxonomy.default(),
                clock=self.clock,
            )
        self.statements = Statements(
            self.nodes["platform-b"],
            StatementSettings(),
            load_packs(),
            new_id=lambda: f"sor-{self.ids.randbytes(8).hex()}",
        )

    def act(self, upload: int) -> str:
        """platform-b removes the content and issues the statement of its decision; returns its id."""
        assert self.statements is not None
        how = self.rng.choice(("fully", "fully", "partially", "not_automated"))
        request = IssueRequest(
            content_ref=f"upload/{upload}", decision=DecisionRequest(automated_decision=how, visibility=("removed",))
        )
        return self.statements.issue(request).view.statement.statement_id

    def close(self) -> None:
        for ledger in self.nodes.values():
            ledger.close()

    def replicate(self) -> None:
        """Every node receives every entry it lacks, each after a random delay (minutes to an hour)."""
        for target, ledger in self.nodes.items():
            self.clock.now += self.rng.choice((200, 800, 3_000, 20_000, 90_000, 400_000, 2_000_000))
            for source, other in self.nodes.items():
                if source != target:
                    _deliver(other, ledger)

    def contribute(self, member: str) -> None:
        count = self.rng.randint(1, 4)
        values = [self.rng.randbytes(32) for _ in range(count)]
        records = [HashRecord("pdq", v, 100, (self.rng.choice(LABELS),)) for v in values]
        result = self.nodes[member].submit(records)
        self.records += [(member, rid, v) for rid, v in zip(result.record_ids, values, strict=True)]

    def match(self, member: str, upload: int) -> list[bytes]:
        _, _, value = self.rng.choice(self.records)
        [hits] = self.nodes[member].match([Query("pdq", value, f"upload/{upload}")])
        return [hit.record_id for hit in hits]


def _deliver(source: Ledger, target: Ledger) -> None:
    with source.store.read() as txn, target.store.read() as have:
        missing = []
        for author, head in sorted(source.store.heads(txn).items()):
            mine = target.store.head(have, author)
            missing += list(source.store.log(txn, author, (mine.seq if mine else 0) + 1, head.seq))
    if missing:
        target.commit_entries(missing)


def _day(demo: DemoConsortium, day: int, appeals: list[bytes]) -> None:
    demo.clock.now = START_MS + day * DAY_MS + demo.rng.randint(0, 8 * 3_600_000)
    for member in MEMBERS:
        if demo.rng.random() < 0.6:
            demo.contribute(member)
    demo.replicate()
    for upload in range(demo.rng.randint(0, 12)):
        hits = demo.match("platform-b", day * 100 + upload)
        if not hits or demo.rng.random() < 0.2:  # no match, or matched and not acted on: no statement, no appeal
            continue
        statement_id = demo.act(day * 100 + upload)
        for rid in hits:
            if demo.rng.random() < 0.15:  # the user appeals from the statement: its id is the case reference
                appeal = demo.nodes["platform-b"].appeal(rid, statement_id).entry_id
                appeals.append(appeal)
                demo.appealed_from[appeal] = statement_id
    _opinions(demo)
    demo.replicate()


def _opinions(demo: DemoConsortium) -> None:
    for member in ("platform-b", "platform-a"):
        author, rid, _ = demo.rng.choice(demo.records)
        if author != member and demo.nodes[member].record(rid).status.value == "active":
            stance = demo.rng.choice((Stance.AGREE, Stance.AGREE, Stance.DISAGREE, Stance.FALSE_POSITIVE))
            demo.nodes[member].opine(rid, stance, "demo" if stance is not Stance.AGREE else "")


def _decide(demo: DemoConsortium, appeals: list[bytes]) -> None:
    """Contributors decide the week's appeals; one appeal already past the decision window goes to a steward
    instead, as if its contributor had stayed silent."""
    window = demo.nodes[STEWARD].membership.decision_window_ms
    steward_decided = False
    overturned: list[bytes] = []
    for appeal_id in appeals:
        with demo.nodes[STEWARD].store.read() as txn:
            entry = demo.nodes[STEWARD].store.entry(txn, appeal_id)
        assert entry is not None, "replicate() delivered every entry"
        rid = AppealItem.decode(entry.items[0]).record_id
        late = entry.header.timestamp_ms + window <= demo.clock.now
        decider = demo.nodes[STEWARD].record(rid).author
        if late and not steward_decided:
            decider, steward_decided = STEWARD, True
        outcome = Outcome.OVERTURNED if demo.rng.random() < 0.35 else Outcome.UPHELD
        demo.nodes[decider].decide(appeal_id, outcome, "demo decision")
        if outcome is Outcome.OVERTURNED:
            overturned.append(appeal_id)
    demo.replicate()
    assert demo.statements is not None
    for appeal_id in overturned:  # platform-b reinstates the content and withdraws the statement
        statement_id = demo.appealed_from[appeal_id]
        if demo.statements.get(statement_id).statement.status == "issued":
            demo.statements.withdraw(statement_id, "content reinstated after the appeal succeeded")


def build(out: Path) -> list[Path]:
    """Runs the demo consortium and writes platform-b's report for the 60 days into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hashnode-report-demo-") as tmp:
        demo = DemoConsortium(Path(tmp))
        demo.open()
        try:
            appeals: list[bytes] = []
            for day in range(DAYS):
                _day(demo, day, appeals)
                if day % 7 == 6:
                    _decide(demo, appeals)
                    appeals = []
            built = transparency_report(
                demo.nodes["platform-b"], report.Period(START_MS, START_MS + DAYS * DAY_MS)
            )
        finally:
            demo.close()
    paths = [out / "report.json", out / "report.csv", out / "report.html"]
    texts = (report.to_json(built), report.to_csv(built), report.to_html(built))
    for path, text in zip(paths, texts, strict=True):
        path.write_text(text, encoding="utf-8")
    return paths


def screenshot(page: Path, png: Path, *, width: int = 1280, height: int = 2000) -> Path | None:
    """A PNG of `page` by headless Chromium, or None when Chromium is not installed."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        return None
    with tempfile.TemporaryDirectory(prefix="hashnode-chromium-") as profile:
        subprocess.run(
            [
                browser,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--screenshot={png}",
                f"--window-size={width},{height}",
                page.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    return png


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.report", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("build/report-demo"), help="default: %(default)s")
    args = parser.parse_args(argv)
    for path in build(args.out):
        print(f"wrote {path}")
    png = screenshot(args.out / "report.html", args.out / "report.png")
    print(f"wrote {png}" if png else "chromium not installed: no screenshot (apt-get install chromium)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
