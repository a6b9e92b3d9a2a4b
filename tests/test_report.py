"""Transparency reports from a fixed event set (docs/due-process.md, "Transparency reports"), and the local
match log they draw matches from, with its reinstatement notices (docs/due-process.md, "Match log")."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest

from node.core.errors import InvalidArgument
from node.dueprocess.deadlines import DecisionAuthority, resolve
from node.dueprocess.items import (
    AppealItem,
    AppealKey,
    DecidedAs,
    DecisionItem,
    Outcome,
    Stance,
    VerifiedItem,
)
from node.dueprocess.matchlog import MatchLogEntry, MemoryMatchLog, Retention, reinstate_notices
from node.dueprocess.report import (
    AppealEvent,
    ArrivalEvent,
    ContributionEvent,
    DecisionEvent,
    DuplicateDecision,
    MatchEvent,
    OpinionEvent,
    Period,
    ReportEvent,
    TransparencyReport,
    build_report,
    resolution_events,
    to_csv,
    to_dict,
    to_html,
    to_json,
)

DAY = 86_400_000
START = 1_709_251_200_000  # 2024-03-01T00:00:00Z
PERIOD = Period(START, START + 3 * DAY)
GENERATED = START + 3 * DAY + 3_600_000
RID_SECRET = bytes.fromhex("5e" * 32)  # a record id that must never appear in a report
K1, K2, K3 = (AppealKey(bytes([i]) * 32, RID_SECRET) for i in (1, 2, 3))


def _match(at_ms: int) -> MatchEvent:
    return MatchEvent.from_log(MatchLogEntry(at_ms, RID_SECRET, 4, "post/secret-content", "q-secret"))


EVENTS: list[ReportEvent] = [
    ContributionEvent(START + 1_000, "platform-a", ("tvec.propaganda",)),
    ContributionEvent(START + 2_000, "platform-a", ("tvec.manifesto", "tvec.propaganda")),
    ContributionEvent(START + DAY + 5, "platform-b", ("tvec.propaganda",)),
    ContributionEvent(START - 1, "platform-b", ("tvec.manifesto",)),  # before the period: not counted
    _match(START + 10),
    _match(START + 20),
    _match(START + 2 * DAY + 7),
    _match(START + 3 * DAY),  # the end is exclusive: not counted
    OpinionEvent(START + 100, "platform-b", Stance.FALSE_POSITIVE),
    OpinionEvent(START + 200, "platform-c", Stance.FALSE_POSITIVE),
    OpinionEvent(START + 300, "platform-c", Stance.AGREE),
    OpinionEvent(START + 400, "platform-d", Stance.DISAGREE),
    AppealEvent(START + 1_000, "platform-b", K1),
    AppealEvent(START + 2_000, "platform-c", K2),
    AppealEvent(START + 3_000, "platform-b", K3),
    DecisionEvent(START + DAY, K1, Outcome.OVERTURNED, DecidedAs.CONTRIBUTOR),
    DecisionEvent(START + 2 * DAY, K2, Outcome.UPHELD, DecidedAs.STEWARD),
    ArrivalEvent("peer-b", START, START + 500),
    ArrivalEvent("peer-b", START, START + 2_000),
    ArrivalEvent("peer-b", START, START + 90_000),
    ArrivalEvent("peer-c", START, START + 5_000),
    ArrivalEvent("peer-c", START + 200, START),  # the peer's clock is behind: negative latency, counted as 0
    ArrivalEvent("peer-c", START, START + 2 * DAY),
]

EXPECTED = {
    "format": "hashnode.transparency.v1",
    "issuer": "platform-a",
    "period": {"start": "2024-03-01T00:00:00Z", "end": "2024-03-04T00:00:00Z"},
    "generated_at": "2024-03-04T01:00:00Z",
    "contributions": {
        "total": 3,
        "by_label": {"tvec.manifesto": 1, "tvec.propaganda": 3},
        "by_member": {"platform-a": 2, "platform-b": 1},
        "by_member_label": {
            "platform-a": {"tvec.manifesto": 1, "tvec.propaganda": 2},
            "platform-b": {"tvec.propaganda": 1},
        },
    },
    "matches": {
        "total": 3,
        "granularity": "day",
        "over_time": [
            {"period": "2024-03-01", "count": 2},
            {"period": "2024-03-02", "count": 0},
            {"period": "2024-03-03", "count": 1},
        ],
    },
    "opinions": {"by_stance": {"agree": 1, "disagree": 1, "false_positive": 2}},
    "appeals": {
        "received": 3,
        "by_member": {"platform-b": 2, "platform-c": 1},
        "pending": 1,
        "decisions_by_outcome": {"upheld": 1, "overturned": 1},
        "decisions_by_decided_as": {"contributor": 1, "steward": 1, "stewards": 0},
        "overturn_rate": 0.5,
    },
    "availability": {
        "buckets": [
            {"latency": "<1s", "count": 2},
            {"latency": "1s-10s", "count": 2},
            {"latency": "10s-1min", "count": 0},
            {"latency": "1min-10min", "count": 1},
            {"latency": "10min-1h", "count": 0},
            {"latency": "1h-1d", "count": 0},
            {"latency": ">=1d", "count": 1},
        ],
        "negative_latency": 1,
        "by_peer": {
            "peer-b": {"count": 3, "median_ms": 2_000, "p90_ms": 90_000, "max_ms": 90_000},
            "peer-c": {"count": 3, "median_ms": 5_000, "p90_ms": 2 * DAY, "max_ms": 2 * DAY},
        },
    },
}

EXPECTED_CSV = """\
section,key,subkey,value
contributions,total,,3
contributions_by_label,tvec.manifesto,,1
contributions_by_label,tvec.propaganda,,3
contributions_by_member,platform-a,,2
contributions_by_member,platform-b,,1
contributions_by_member_label,platform-a,tvec.manifesto,1
contributions_by_member_label,platform-a,tvec.propaganda,2
contributions_by_member_label,platform-b,tvec.propaganda,1
matches,total,,3
matches_by_day,2024-03-01,,2
matches_by_day,2024-03-02,,0
matches_by_day,2024-03-03,,1
opinions_by_stance,agree,,1
opinions_by_stance,disagree,,1
opinions_by_stance,false_positive,,2
appeals,received,,3
appeals,pending,,1
appeals_by_member,platform-b,,2
appeals_by_member,platform-c,,1
decisions_by_outcome,upheld,,1
decisions_by_outcome,overturned,,1
decisions_by_decided_as,contributor,,1
decisions_by_decided_as,steward,,1
decisions_by_decided_as,stewards,,0
appeals,overturn_rate,,0.5000
availability_latency,<1s,,2
availability_latency,1s-10s,,2
availability_latency,10s-1min,,0
availability_latency,1min-10min,,1
availability_latency,10min-1h,,0
availability_latency,1h-1d,,0
availability_latency,>=1d,,1
availability_latency,negative,,1
availability_by_peer,peer-b,count,3
availability_by_peer,peer-b,median_ms,2000
availability_by_peer,peer-b,p90_ms,90000
availability_by_peer,peer-b,max_ms,90000
availability_by_peer,peer-c,count,3
availability_by_peer,peer-c,median_ms,5000
availability_by_peer,peer-c,p90_ms,172800000
availability_by_peer,peer-c,max_ms,172800000
"""

CHART_IDS = (
    "chart-contributions-label",
    "chart-contributions-member",
    "chart-matches",
    "chart-opinions",
    "chart-appeals",
    "chart-overturn-rate",
    "chart-latency",
)


def _report() -> str:
    return to_json(build_report(EVENTS, PERIOD, issuer="platform-a", generated_at_ms=GENERATED))


def test_json_has_the_exact_aggregates() -> None:
    assert json.loads(_report()) == EXPECTED


def test_json_is_byte_for_byte_deterministic_whatever_the_event_order() -> None:
    shuffled = list(reversed(EVENTS))
    report = build_report(shuffled, PERIOD, issuer="platform-a", generated_at_ms=GENERATED)
    assert to_json(report) == _report()


def test_csv_has_one_figure_per_row() -> None:
    report = build_report(EVENTS, PERIOD, issuer="platform-a", generated_at_ms=GENERATED)
    assert to_csv(report) == EXPECTED_CSV


def _html() -> str:
    return to_html(build_report(EVENTS, PERIOD, issuer="platform-a", generated_at_ms=GENERATED))


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.starts: list[str] = []
        self.ends: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.starts.append(tag)
        self.attrs.extend(attrs)

    def handle_endtag(self, tag: str) -> None:
        self.ends.append(tag)


def test_html_contains_every_chart_as_inline_svg() -> None:
    page = _html()
    tags = _Tags()
    tags.feed(page)
    svg_ids = re.findall(r'<svg id="([^"]+)"', page)
    assert tuple(svg_ids) == CHART_IDS
    assert tags.starts.count("svg") == tags.ends.count("svg") == len(CHART_IDS)
    assert tags.starts.count("rect") > 10


def test_html_loads_nothing_from_anywhere() -> None:
    page = _html()
    tags = _Tags()
    tags.feed(page)
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(tags.starts)
    assert not {name for name, _ in tags.attrs} & {"src", "href", "xmlns", "srcset", "action"}
    assert not re.search(r"https?:|//|url\(|@import", page, re.IGNORECASE)
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


@pytest.mark.parametrize("render", [to_json, to_csv, to_html], ids=["json", "csv", "html"])
def test_no_output_carries_record_ids_or_content_references(
    render: Callable[[TransparencyReport], str],
) -> None:
    report = build_report(EVENTS, PERIOD, issuer="platform-a", generated_at_ms=GENERATED)
    text = render(report)
    for secret in (RID_SECRET.hex(), RID_SECRET.hex()[:12], "post/secret-content", "q-secret", "0101010101"):
        assert secret not in text


def test_html_escapes_member_names_and_labels() -> None:
    hostile = [ContributionEvent(START, "<script>alert(1)</script>", ('x"><svg onload=1>',))]
    page = to_html(build_report(hostile, PERIOD, issuer="a&b", generated_at_ms=GENERATED))
    assert "<script>" not in page and "<svg onload" not in page
    assert "&lt;script&gt;" in page and "a&amp;b" in page


def test_empty_report_renders_with_no_data_charts() -> None:
    report = build_report([], PERIOD, issuer="platform-a", generated_at_ms=GENERATED)
    assert report.overturn_rate is None
    assert to_dict(report)["appeals"] == {
        "received": 0,
        "by_member": {},
        "pending": 0,
        "decisions_by_outcome": {"upheld": 0, "overturned": 0},
        "decisions_by_decided_as": {"contributor": 0, "steward": 0, "stewards": 0},
        "overturn_rate": None,
    }
    assert "no data" in to_html(report)
    assert "appeals,overturn_rate,,\n" in to_csv(report)


def test_long_periods_count_matches_per_month() -> None:
    year = Period(START, START + 366 * DAY)
    report = build_report(
        [_match(START), _match(START + 40 * DAY)], year, issuer="a", generated_at_ms=GENERATED
    )
    assert report.match_granularity == "month"
    assert list(report.matches_over_time)[:3] == ["2024-03", "2024-04", "2024-05"]
    assert report.matches_over_time["2024-03"] == 1 and report.matches_over_time["2024-04"] == 1
    assert len(report.matches_over_time) == 13  # March 2024 to March 2025 inclusive


def test_two_effective_decisions_for_one_appeal_are_refused() -> None:
    twice = [
        DecisionEvent(START, K1, Outcome.UPHELD, DecidedAs.CONTRIBUTOR),
        DecisionEvent(START + 1, K1, Outcome.OVERTURNED, DecidedAs.STEWARD),
    ]
    with pytest.raises(DuplicateDecision):
        build_report(twice, PERIOD, issuer="a", generated_at_ms=GENERATED)


def test_period_must_not_be_empty() -> None:
    with pytest.raises(InvalidArgument):
        Period(START, START)


def test_resolution_events_give_the_appeal_and_only_its_effective_decision() -> None:
    appeal = VerifiedItem("platform-b", START, K1.appeal_entry_id, AppealItem(RID_SECRET, "C-1"))
    authority = DecisionAuthority("platform-a", frozenset({"steward-1"}))
    decisions = [
        VerifiedItem(
            "platform-a",
            START + 10,
            b"\x10" * 32,
            DecisionItem(RID_SECRET, K1.appeal_entry_id, Outcome.OVERTURNED, "", DecidedAs.CONTRIBUTOR),
        ),
        VerifiedItem(
            "platform-a",
            START + 20,
            b"\x11" * 32,
            DecisionItem(RID_SECRET, K1.appeal_entry_id, Outcome.UPHELD, "", DecidedAs.CONTRIBUTOR),
        ),
    ]
    events = resolution_events(resolve(appeal, decisions, authority))
    assert events == [
        AppealEvent(START, "platform-b", K1),
        DecisionEvent(START + 10, K1, Outcome.OVERTURNED, DecidedAs.CONTRIBUTOR),
    ]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_html_renders_in_a_headless_browser(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(_html(), encoding="utf-8")
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--screenshot={shot}",
            "--window-size=800,2600",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- the match log and reinstatement notices ----------------------------------------------------------------

R1, R2, R3 = (bytes([i]) * 32 for i in (0x11, 0x22, 0x33))
T = 1_700_000_000_000

LOG_ENTRIES = [
    MatchLogEntry(T + 1, R1, 3, "post/1", "q1"),  # matched only R1
    MatchLogEntry(T + 2, R1, 0, "post/2", "q2"),  # post/2 matched R1 and R2
    MatchLogEntry(T + 2, R2, 9, "post/2", "q2"),
    MatchLogEntry(T + 3, R2, 1, "post/3", "q3"),  # matched only R2
    MatchLogEntry(T + 4, R1, 5, "", "q4"),  # no content ref: one group per query
    MatchLogEntry(T + 5, R1, 5, "", "q5"),
    MatchLogEntry(T - 10, R1, 2, "post/old", "q0"),  # before `since`
]


def test_reinstate_notices_name_content_that_matched_overturned_records() -> None:
    notices = reinstate_notices(MemoryMatchLog(LOG_ENTRIES), [R1, R3], T)
    summary = [(n.content_ref, n.query_ids, n.overturned, n.still_matched, n.cleared) for n in notices]
    assert summary == [
        ("", ("q4",), (R1,), (), True),
        ("", ("q5",), (R1,), (), True),
        ("post/1", ("q1",), (R1,), (), True),
        ("post/2", ("q2",), (R1,), (R2,), False),
    ]
    assert (notices[3].first_matched_ms, notices[3].last_matched_ms) == (T + 2, T + 2)


def test_no_notice_when_nothing_overturned_was_matched() -> None:
    assert reinstate_notices(MemoryMatchLog(LOG_ENTRIES), [R3], T - 100) == []


def test_retention_prunes_old_entries() -> None:
    log = MemoryMatchLog(LOG_ENTRIES)
    retention = Retention(max_age_ms=3)
    assert log.prune(retention.cutoff(T + 5)) == 2  # the entries at T - 10 and T + 1 are older than T + 2
    assert [e.query_id for e in log.since(0)] == ["q2", "q2", "q3", "q4", "q5"]
    assert reinstate_notices(log, [R1], 0)[0].content_ref == ""


def test_since_filters_by_time_and_record() -> None:
    log = MemoryMatchLog(LOG_ENTRIES)
    assert [e.query_id for e in log.since(T + 2, [R2])] == ["q2", "q3"]


def test_retention_must_be_positive() -> None:
    with pytest.raises(InvalidArgument):
        Retention(0)
