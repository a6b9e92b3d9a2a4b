"""`python -m demo.statements --out DIR` (`make statements-demo`): statements of reasons from a seeded scenario,
and headless-browser screenshots of their pages when Chromium is installed.

Three in-process nodes over real LMDB on a simulated clock. platform-a and platform-c contribute hashes of
terrorist content (the PDQ hashes of Meta's reference photos standing in for images; file hashes for a
manifesto and an attack video). platform-b matches five uploads against them and acts on four; for each it
issues a statement of reasons, with the same code as `Admin.IssueStatement`: a removal decided by automated
means alone, a removal with an account suspension a person reviewed (its page in German), a restriction in one
country decided by a person, a video removal. The fifth match it does not act on: a match is not a decision,
and no statement is issued. The user of the first upload appeals from its statement; platform-a, the record's
contributor, overturns the record; platform-b's reinstatement notice names the statement, and platform-b
withdraws it. Everything is seeded, so every file is the same on every run. EXAMPLE KEYS derived from fixed
seeds: never for production.

Writes into DIR: `ID.json` (for the DSA Transparency Database) and `ID.html` (for the user) of every statement,
`notices.json` (platform-b's reinstatement notices) and `scenario.json` (which upload led to which statement);
with Chromium, `ID.png` of every page.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from demo.report import screenshot
from node.core.keys import SigningKey
from node.core.records import HashRecord
from node.core.taxonomy import Taxonomy
from node.dueprocess.items import Outcome
from node.dueprocess.statement import DecisionRequest, StatementSettings
from node.dueprocess.statement_language import load_packs
from node.ledger.ledger import Ledger, LedgerSettings, Query
from node.ledger.statements import IssueRequest, Statements
from node.membership.members import Member, MemberKey, Membership

CONSORTIUM = "demo-consortium"
START_MS = 1_767_225_600_000  # 2026-01-01T00:00Z
HOUR_MS, DAY_MS = 3_600_000, 86_400_000
MEMBERS = {
    "platform-a": ("Example Video Platform", "trust-and-safety@platform-a.example", ("contributor",)),
    "platform-b": ("Example Social Network", "appeals@platform-b.example", ("contributor",)),
    "platform-c": ("Example Referral Unit", "referrals@platform-c.example", ("trusted_flagger",)),
}
# PDQ hashes of Meta's reference photos (ThreatExchange pdq/data), computed by the reference implementation.
BRIDGE = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"  # bridge-mods/aaa-orig.jpg
BRIDGE_BLURRED = "f8f8f0cee0f4a84f0637022a038f67f0b36e26d596621e1d33e6b39c4e9c9b22"  # bridge-mods/blur-a-lot.jpg
ROTATED = "adad5a64b5a142e75b62a09857da895ae63b847fc23794b766b319361bc93188"  # dihedral/bridge-3-rotate-180.jpg
FLIPPED = "f8f80f31e0f417b20e37f5cd028f980fb36ed02a9662c1e233e64c634e9c64dd"  # dihedral/bridge-5-flipx.jpg
MANIFESTO_MD5 = hashlib.md5(b"hashnode demo: a manifesto file").hexdigest()
VIDEO_MD5 = hashlib.md5(b"hashnode demo: an attack video file").hexdigest()
APPEAL_URL = "https://platform-b.example/appeal?statement={statement_id}"


def _key(member: str) -> SigningKey:
    return SigningKey.from_seed(hashlib.sha256(b"hashnode statements demo " + member.encode()).digest())


def membership() -> Membership:
    members = [
        Member(m, organisation, (MemberKey(_key(m).public),), roles, contact=contact)
        for m, (organisation, contact, roles) in MEMBERS.items()
    ]
    return Membership.from_members(CONSORTIUM, members)


@dataclass
class Clock:
    now: int = START_MS

    def __call__(self) -> int:
        return self.now


@dataclass(frozen=True)
class Upload:
    """A piece of content platform-b's users posted, and what platform-b decided on its match (None: nothing)."""

    content_ref: str
    signal_type: str
    value: str
    decision: DecisionRequest | None


UPLOADS = (
    Upload(
        "upload/1001",
        "pdq",
        BRIDGE_BLURRED,
        DecisionRequest(automated_decision="fully", visibility=("removed",), content_language="ar"),
    ),
    Upload(
        "upload/1002",
        "pdq",
        ROTATED,
        DecisionRequest(
            automated_decision="partially",
            visibility=("removed",),
            account="suspended",
            account_end_date="2026-02-14",
            language="de",
        ),
    ),
    Upload(
        "upload/1003",
        "md5",
        MANIFESTO_MD5,
        DecisionRequest(
            automated_decision="not_automated",
            visibility=("disabled",),
            content_type=("text",),
            territorial_scope=("DE",),
            ground="incompatible",
        ),
    ),
    Upload("upload/1004", "video_md5", VIDEO_MD5, DecisionRequest(automated_decision="fully", visibility=("removed",))),
    Upload("upload/1005", "pdq", FLIPPED, None),
)


@dataclass
class Scenario:
    root: Path
    clock: Clock = field(default_factory=Clock)
    nodes: dict[str, Ledger] = field(default_factory=dict)
    rng: random.Random = field(default_factory=lambda: random.Random(18))

    def open(self) -> None:
        for member in MEMBERS:
            self.nodes[member] = Ledger.open(
                self.root / member,
                settings=LedgerSettings(CONSORTIUM, member, map_size=1 << 27),
                membership=membership(),
                signer=_key(member),
                taxonomy=Taxonomy.default(),
                clock=self.clock,
            )

    def close(self) -> None:
        for ledger in self.nodes.values():
            ledger.close()

    def replicate(self) -> None:
        for target, ledger in self.nodes.items():
            for source, other in self.nodes.items():
                if source != target:
                    _deliver(other, ledger)

    def statements(self) -> Statements:
        packs = load_packs()
        settings = StatementSettings(
            appeal_url=APPEAL_URL,
            terms_ground={
                "en": "Community Guidelines, section 3: violent extremism",
                "de": "Gemeinschaftsrichtlinien, Abschnitt 3: gewalttätiger Extremismus",
            },
            terms_url="https://platform-b.example/community-guidelines#violent-extremism",
            languages=tuple(packs),
        )
        return Statements(
            self.nodes["platform-b"], settings, packs, new_id=lambda: f"sor-{self.rng.randbytes(8).hex()}"
        )


def _deliver(source: Ledger, target: Ledger) -> None:
    with source.store.read() as txn, target.store.read() as have:
        missing = []
        for author, head in sorted(source.store.heads(txn).items()):
            mine = target.store.head(have, author)
            missing += list(source.store.log(txn, author, (mine.seq if mine else 0) + 1, head.seq))
    if missing:
        target.commit_entries(missing)


def _contribute(scenario: Scenario) -> None:
    a, c = scenario.nodes["platform-a"], scenario.nodes["platform-c"]
    a.submit(
        [
            HashRecord("pdq", bytes.fromhex(BRIDGE), 100, ("tvec.glorification",)),
            HashRecord("pdq", bytes.fromhex(ROTATED), 100, ("tvec.propaganda",)),
            HashRecord("md5", bytes.fromhex(MANIFESTO_MD5), 0, ("tvec.manifesto",)),
        ]
    )
    scenario.clock.now += 3 * HOUR_MS
    c.submit(
        [
            HashRecord("video_md5", bytes.fromhex(VIDEO_MD5), 0, ("tvec.attack_livestream",)),
            HashRecord("pdq", bytes.fromhex(FLIPPED), 100, ("referral.law_enforcement",)),
        ]
    )
    scenario.replicate()


@dataclass(frozen=True)
class Played:
    statements: dict[str, str]  # content ref -> statement id
    appealed: str  # the statement appealed from and overturned
    files: list[Path]


def run(root: Path, out: Path) -> Played:
    """Plays the scenario in `root` and writes what platform-b issued into `out`."""
    scenario = Scenario(root)
    scenario.open()
    try:
        _contribute(scenario)
        scenario.clock.now = START_MS + 9 * DAY_MS + 10 * HOUR_MS
        b, statements = scenario.nodes["platform-b"], scenario.statements()
        issued: dict[str, str] = {}
        for upload in UPLOADS:
            scenario.clock.now += HOUR_MS
            [hits] = b.match([Query(upload.signal_type, bytes.fromhex(upload.value), upload.content_ref)])
            assert hits, f"{upload.content_ref} matches"
            if upload.decision is not None:
                request = IssueRequest(content_ref=upload.content_ref, decision=upload.decision)
                issued[upload.content_ref] = statements.issue(request).view.statement.statement_id
        appealed = _appeal_and_overturn(scenario, statements, issued["upload/1001"])
        files = _write(out, statements, scenario, issued)
    finally:
        scenario.close()
    return Played(issued, appealed, files)


def _appeal_and_overturn(scenario: Scenario, statements: Statements, statement_id: str) -> str:
    """The user appeals from the statement; the record's contributor overturns it; platform-b withdraws."""
    b, a = scenario.nodes["platform-b"], scenario.nodes["platform-a"]
    scenario.clock.now += DAY_MS
    [rid] = statements.get(statement_id).statement.record_ids
    appeal = b.appeal(rid, statement_id)
    scenario.replicate()
    scenario.clock.now += DAY_MS
    a.decide(appeal.entry_id, Outcome.OVERTURNED, "a news agency's photograph, not propaganda")
    scenario.replicate()
    scenario.clock.now += HOUR_MS
    statements.withdraw(statement_id, "content reinstated after the record was overturned on appeal")
    return statement_id


def _write(out: Path, statements: Statements, scenario: Scenario, issued: dict[str, str]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for view in statements.list(0, 100):
        statement = view.statement
        for suffix, text in ((".json", statement.database_json), (".html", statement.page_html)):
            path = out / f"{statement.statement_id}{suffix}"
            path.write_text(text, encoding="utf-8")
            files.append(path)
    notices = [
        {
            "number": n.number,
            "content_ref": n.notice.content_ref,
            "standing": n.standing,
            "cleared": n.notice.cleared,
            "statement_ids": list(n.notice.statement_ids),
        }
        for n in scenario.nodes["platform-b"].notices()
    ]
    for name, data in (("notices.json", notices), ("scenario.json", issued)):
        path = out / name
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        files.append(path)
    return files


def build(out: Path) -> Played:
    with tempfile.TemporaryDirectory(prefix="hashnode-statements-demo-") as tmp:
        return run(Path(tmp), out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.statements", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("build/statements-demo"), help="default: %(default)s")
    args = parser.parse_args(argv)
    outcome = build(args.out)
    for path in outcome.files:
        print(f"wrote {path}")
    for path in sorted(args.out.glob("sor-*.html")):
        png = screenshot(path, path.with_suffix(".png"), width=900, height=1400)
        print(f"wrote {png}" if png else "chromium not installed: no screenshots (apt-get install chromium)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
