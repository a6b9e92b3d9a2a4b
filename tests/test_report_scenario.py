"""The transparency report of a seeded one-day scenario on real ledgers, every figure computed by hand; built
twice it is the same bytes (the time pinned), and its page renders every chart legibly in headless Chromium.

platform-b is the issuer. Its day (2026-03-01, UTC), hour by hour:

01:00 b contributes b1, b2 (propaganda); a contributes a1 (manifesto); they reach b at 01:00:05 (5 s)
02:00 c contributes c1 (propaganda); it reaches b at 02:00:30 (30 s)
03:00 b matches a1 (content up/1); 03:10 again (up/1); 03:20 matches c1 (no content reference)
03:30 b removes up/1 by automated means and issues its statement of reasons (sor-00000000000000a1)
04:00 b appeals a1 from the statement; 04:30 a overturns it (30 min): b is told to reinstate up/1 (nothing else
      matched); 04:45 b reinstates it and withdraws the statement
05:00 c appeals b1 (CASE-2); 06:30 steward-1 overturns it after the 1-hour window (1 h 30 min)
07:00 a appeals b2 (CASE-3); 07:10 b upholds it (10 min)
08:00 b retracts b2
09:00 b contributes b3 (manifesto)
10:00 a reports b3 as a false positive; 10:05 c does too: the dispute quorum (2) opens a case, still open
11:00 b endorses c1; 11:05 b reports c1 as a false positive (one report: below the quorum)
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from demo.report import screenshot
from node.core.records import HashRecord
from node.dueprocess.items import Outcome, Stance
from node.dueprocess.report import (
    _PALETTE,
    ARRIVALS,
    MATCH_LOG,
    SIGNED,
    STATEMENTS,
    Period,
    to_csv,
    to_html,
    to_json,
)
from node.dueprocess.statement import DecisionRequest, StatementSettings
from node.dueprocess.statement_language import load_packs
from node.ledger.ledger import Query
from node.ledger.statements import IssueRequest, Statements
from node.ledger.transparency import transparency_report
from node.membership.consortium_policy import ConsortiumPolicy
from tests.dueprocess_helpers import Clock, Consortium, consortium

DAY_START = 1_772_323_200_000  # 2026-03-01T00:00:00Z
STATEMENT = "sor-00000000000000a1"
MINUTE, HOUR = 60_000, 3_600_000
PERIOD = Period(DAY_START, DAY_START + 24 * HOUR)


def pdq(name: str) -> bytes:
    return hashlib.sha256(name.encode()).digest()  # random-looking hashes, far apart from each other


def rec(name: str, label: str) -> HashRecord:
    return HashRecord("pdq", pdq(name), 100, (label,))


def at(nodes: Consortium, hours: float, seconds: int = 0) -> None:
    nodes.clock.now = DAY_START + round(hours * HOUR) + seconds * 1000


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Consortium]:
    root = tmp_path_factory.mktemp("report-scenario")
    with consortium(root, clock=Clock(DAY_START)) as nodes:
        nodes.members.policy = ConsortiumPolicy(decision_window_ms=HOUR, dispute_quorum=2)
        a, b, c = (nodes.open(m) for m in ("platform-a", "platform-b", "platform-c"))
        steward = nodes.open("steward-1")
        at(nodes, 1)
        b1, b2 = b.submit([rec("b1", "tvec.propaganda"), rec("b2", "tvec.propaganda")]).record_ids
        [a1] = a.submit([rec("a1", "tvec.manifesto")]).record_ids
        at(nodes, 1, 5)
        nodes.sync()
        at(nodes, 2)
        [c1] = c.submit([rec("c1", "tvec.propaganda")]).record_ids
        at(nodes, 2, 30)
        nodes.sync()
        for when, name, ref in ((3, "a1", "up/1"), (3 + 10 / 60, "a1", "up/1"), (3 + 20 / 60, "c1", "")):
            at(nodes, when)
            assert [len(hits) for hits in b.match([Query("pdq", pdq(name), ref)])] == [1]
        at(nodes, 3.5)
        statements = Statements(b, StatementSettings(), load_packs(), new_id=lambda: STATEMENT)
        removed = DecisionRequest(automated_decision="fully", visibility=("removed",))
        statements.issue(IssueRequest(content_ref="up/1", decision=removed))
        steps = [
            (4, lambda: b.appeal(a1, STATEMENT)),
            (4.5, lambda: a.decide(case_1(), Outcome.OVERTURNED, "a news photo")),
            (4.75, lambda: statements.withdraw(STATEMENT, "reinstated")),
            (5, lambda: c.appeal(b1, "CASE-2")),
            (6.5, lambda: steward.decide(case_2(), Outcome.OVERTURNED, "no answer")),
            (7, lambda: a.appeal(b2, "CASE-3")),
            (7 + 10 / 60, lambda: b.decide(case_3(), Outcome.UPHELD, "propaganda")),
            (8, lambda: b.retract([b2], "wrong file")),
            (9, lambda: b.submit([rec("b3", "tvec.manifesto")])),
            (10, lambda: a.opine(b3(), Stance.FALSE_POSITIVE, "not_tvec")),
            (10 + 5 / 60, lambda: c.opine(b3(), Stance.FALSE_POSITIVE, "not_tvec")),
            (11, lambda: b.opine(c1, Stance.AGREE)),
            (11 + 5 / 60, lambda: b.opine(c1, Stance.FALSE_POSITIVE, "not_tvec")),
        ]
        done: dict[str, object] = {}

        def case_1() -> bytes:
            return done["CASE-1"].entry_id  # type: ignore[attr-defined, no-any-return]

        def case_2() -> bytes:
            return done["CASE-2"].entry_id  # type: ignore[attr-defined, no-any-return]

        def case_3() -> bytes:
            return done["CASE-3"].entry_id  # type: ignore[attr-defined, no-any-return]

        def b3() -> bytes:
            return done["b3"].record_ids[0]  # type: ignore[attr-defined, no-any-return]

        for i, (hours, step) in enumerate(steps):
            at(nodes, hours)
            result = step()
            key = {0: "CASE-1", 3: "CASE-2", 5: "CASE-3", 8: "b3"}.get(i)
            if key:
                done[key] = result
            nodes.sync()
        yield nodes


def _buckets(names: tuple[str, ...], **counts: int) -> list[dict[str, object]]:
    return [{"range": name, "count": counts.get(name, 0)} for name in names]


DURATIONS = ("<1h", "1h-1d", "1d-3d", "3d-7d", "7d-30d", ">=30d")
LATENCIES = ("<1s", "1s-10s", "10s-1min", "1min-10min", "10min-1h", "1h-1d", ">=1d")
HOURS = [f"2026-03-01T{h:02d}:00" for h in range(24)]

EXPECTED = {
    "format": "hashnode.transparency.v2",
    "issuer": "platform-b",
    "contact": "tns@platform-b.example",
    "period": {"start": "2026-03-01T00:00:00Z", "end": "2026-03-02T00:00:00Z"},
    "as_of": "2026-03-02T00:00:00Z",
    "sections": {
        "contributions": {
            "title": "Contributions and removals",
            "source": SIGNED,
            "records": 3,
            "by_label": {"tvec.manifesto": 1, "tvec.propaganda": 2},
            "by_signal_type": {"pdq": 3},
            "removed": {"retracted": 1, "overturned": 1},
            # b1 overturned 5 h 30 min after it was contributed, b2 retracted after 7 h
            "time_to_removal": {
                "count": 2, "median_ms": 19_800_000, "p90_ms": 25_200_000, "max_ms": 25_200_000,
                "buckets": _buckets(DURATIONS, **{"1h-1d": 2}),
            },
        },
        "matches": {
            "title": "Matches on this node",
            "source": MATCH_LOG,
            "lookup_hits": 3,
            "by_signal_type": {"pdq": 3},
            "distinct_contents": 2,
            "granularity": "hour",
            "over_time": [{"period": h, "count": 3 if h.endswith("T03:00") else 0} for h in HOURS],
            "reinstatement_notices": {"issued": 1, "cleared": 1, "to_review": 0},
        },
        "disputes": {
            "title": "Disputes: opinions on records",
            "source": SIGNED,
            "filed_by_me": {"agree": 1, "disagree": 0, "false_positive": 1},
            "about_my_records": {"agree": 0, "disagree": 0, "false_positive": 2},
            "cases_about_my_records": {"received": 1, "upheld": 0, "overturned": 0, "pending": 1},
            "cases_opened_by_my_reports": 0,
        },
        "appeals": {
            "title": "Appeals and outcomes",
            "source": SIGNED,
            "filed_by_me": {
                "received": 1, "upheld": 0, "overturned": 1, "pending": 0,
                "time_to_decision": {
                    "count": 1, "median_ms": 30 * MINUTE, "p90_ms": 30 * MINUTE, "max_ms": 30 * MINUTE,
                    "buckets": _buckets(DURATIONS, **{"<1h": 1}),
                },
            },
            "about_my_records": {
                "received": 2, "upheld": 1, "overturned": 1, "pending": 0,
                "decided_by": {"contributor": 1, "steward": 1, "stewards": 0},
                "overturn_rate": 0.5,
                "time_to_decision": {
                    "count": 2, "median_ms": 10 * MINUTE, "p90_ms": 90 * MINUTE, "max_ms": 90 * MINUTE,
                    "buckets": _buckets(DURATIONS, **{"<1h": 1, "1h-1d": 1}),
                },
            },
        },
        "availability": {
            "title": "Time from contribution to availability on this node",
            "source": ARRIVALS,
            "entries": 2,
            "negative_latency": 0,
            "latency": {
                "count": 2, "median_ms": 5_000, "p90_ms": 30_000, "max_ms": 30_000,
                "buckets": _buckets(LATENCIES, **{"1s-10s": 1, "10s-1min": 1}),
            },
            "by_source": {
                "platform-a": {"count": 1, "median_ms": 5_000, "p90_ms": 5_000, "max_ms": 5_000},
                "platform-c": {"count": 1, "median_ms": 30_000, "p90_ms": 30_000, "max_ms": 30_000},
            },
        },
        "tco": {
            "title": "Terrorist content online (Regulation (EU) 2021/784, Art. 7)",
            "source": STATEMENTS,
            "decisions": 1,
            "decisions_by_automation": {"fully": 1, "partially": 0, "not_automated": 0},
            "removed_or_disabled": 1,
            "removed_or_disabled_by_source": {
                "voluntary": 1, "article_16": 0, "trusted_flagger": 0, "other_notification": 0,
            },
            "removal_orders": None,
            "removal_orders_not_executed": None,
            # the appeal from the statement, overturned after 30 min; the statement withdrawn 15 min later
            "complaints": {
                "received": 1, "upheld": 0, "overturned": 1, "pending": 0, "decided_within_two_weeks": 1,
                "time_to_decision": {
                    "count": 1, "median_ms": 30 * MINUTE, "p90_ms": 30 * MINUTE, "max_ms": 30 * MINUTE,
                    "buckets": _buckets(DURATIONS, **{"<1h": 1}),
                },
            },
            "reinstated_after_complaint": 1,
            "overturned_not_yet_reinstated": 0,
            "review_proceedings": None,
            "reinstated_after_review": None,
        },
    },
}


def test_every_section_of_the_days_report_is_the_hand_computed_one(day: Consortium) -> None:
    built = transparency_report(day.nodes["platform-b"], PERIOD)
    assert json.loads(to_json(built)) == EXPECTED


def test_two_builds_are_the_same_bytes_even_after_the_node_moved_on(day: Consortium) -> None:
    b = day.nodes["platform-b"]

    def render() -> tuple[str, str, str]:
        built = transparency_report(b, PERIOD)
        return to_json(built), to_csv(built), to_html(built)

    first = render()
    assert render() == first
    day.clock.now = DAY_START + 30 * HOUR  # the next day: more entries, matches and arrivals
    b.submit([rec("b4", "tvec.propaganda")])
    b.match([Query("pdq", pdq("c1"))])
    day.sync()
    assert render() == first


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_every_chart_of_the_page_is_legible_in_a_headless_browser(day: Consortium, tmp_path: Path) -> None:
    """Each chart on a page of its own, screenshot by Chromium: its bars are drawn in the palette over a real
    area, and its labels (dark text) are there."""
    image = pytest.importorskip("PIL.Image")
    page = to_html(transparency_report(day.nodes["platform-b"], PERIOD))
    (tmp_path / "report.html").write_text(page, encoding="utf-8")
    head = page.split("<body>")[0] + "<body>"
    charts = page.split('<figure>')[1:]
    assert len(charts) == 11
    for i, chunk in enumerate(charts):
        figure = "<figure>" + chunk.split("</figure>")[0] + "</figure>"
        single = tmp_path / f"chart-{i}.html"
        single.write_text(head + figure + "</body></html>\n", encoding="utf-8")
        png = screenshot(single, tmp_path / f"chart-{i}.png", width=800, height=500)
        assert png is not None
        with image.open(png) as shot:
            colours, counts = np.unique(np.asarray(shot.convert("RGB")).reshape(-1, 3), axis=0, return_counts=True)
        pixels = Counter({tuple(int(v) for v in c): int(n) for c, n in zip(colours, counts, strict=True)})
        name = figure.split('id="')[1].split('"')[0]
        bars = sum(pixels[tuple(int(c[k : k + 2], 16) for k in (1, 3, 5))] for c in _PALETTE)
        text = sum(n for (r, g, bl), n in pixels.items() if max(r, g, bl) < 90)
        assert bars > 150, f"{name}: bars cover {bars} pixels"
        assert text > 150, f"{name}: its labels cover {text} dark pixels"
    screenshot(tmp_path / "report.html", tmp_path / "report.png", width=900, height=3600)
