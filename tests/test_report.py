"""Transparency reports from a fixed event set, every figure computed by hand (docs/due-process.md,
"Transparency reports"), and the local match log they draw matches from, with its reinstatement notices
(docs/due-process.md, "Match log")."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html.parser import HTMLParser

import pytest

from node.core.errors import InvalidArgument
from node.dueprocess import report as report_module
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
    ARRIVALS,
    MATCH_LOG,
    SIGNED,
    STATEMENTS,
    AppealEvent,
    ArrivalEvent,
    ComplaintEvent,
    ContributionEvent,
    DecisionEvent,
    DuplicateDecision,
    MatchEvent,
    NoticeEvent,
    OpinionEvent,
    Period,
    RemovalEvent,
    ReportEvent,
    ReportInput,
    Section,
    StatementEvent,
    TransparencyReport,
    build_report,
    resolution_events,
    time_axis,
    to_csv,
    to_dict,
    to_html,
    to_json,
)

DAY = 86_400_000
HOUR = 3_600_000
START = 1_709_251_200_000  # 2024-03-01T00:00:00Z
PERIOD = Period(START, START + 3 * DAY)
RID_SECRET = bytes.fromhex("5e" * 32)  # a record id that must never appear in a report
K1, K2, K3, K4, K5 = (AppealKey(bytes([i]) * 32, RID_SECRET) for i in (1, 2, 3, 4, 5))
ME, B, C = "platform-a", "platform-b", "platform-c"


def _match(
    at_ms: int, content_ref: str = "post/secret-content", query_id: str = "0123456789abcdef", kind: str = "vpdq"
) -> MatchEvent:
    return MatchEvent.from_log(MatchLogEntry(at_ms, RID_SECRET, 4, content_ref, query_id), kind)


EVENTS: list[ReportEvent] = [
    # contributions: 2 of mine in the period (3 labels), one of another member, one of mine before the period
    ContributionEvent(START + 1_000, ME, ("tvec.propaganda",), "pdq"),
    ContributionEvent(START + 2_000, ME, ("tvec.manifesto", "tvec.propaganda"), "vpdq"),
    ContributionEvent(START + DAY + 5, B, ("tvec.propaganda",), "pdq"),
    ContributionEvent(START - 1, ME, ("tvec.manifesto",), "md5"),
    # removals of my records: after 86,399,000 ms (1h-1d) and 172,798,000 ms (1d-3d); one of another member's
    RemovalEvent(START + DAY, ME, START + 1_000, "overturned"),
    RemovalEvent(START + 2 * DAY, ME, START + 2_000, "retracted"),
    RemovalEvent(START + DAY, B, START, "overturned"),
    # matches: 3 hits of 2 contents in the period (the end is exclusive)
    _match(START + 10),
    _match(START + 20),
    _match(START + 2 * DAY + 7, "", "fedcba9876543210", "pdq"),
    _match(START + 3 * DAY),
    NoticeEvent(START + DAY, True),
    NoticeEvent(START + DAY + 1, False),
    # opinions: 2 filed by me, 2 about my records, 1 neither
    OpinionEvent(START + 100, ME, Stance.FALSE_POSITIVE, B),
    OpinionEvent(START + 200, ME, Stance.AGREE, C),
    OpinionEvent(START + 300, B, Stance.FALSE_POSITIVE, ME),
    OpinionEvent(START + 400, C, Stance.DISAGREE, ME),
    OpinionEvent(START + 500, C, Stance.AGREE, B),
    # dispute cases: one about my records (open), one my report opened about another's
    AppealEvent(START + 600, C, K4, ME, dispute=True),
    AppealEvent(START + 700, ME, K5, B, dispute=True),
    # appeals: one I filed (overturned after 86,399,000 ms), two about my records (one upheld by a steward
    # after 172,798,000 ms, one decided only after the period's end: pending as of the end)
    AppealEvent(START + 1_000, ME, K1, B),
    AppealEvent(START + 2_000, B, K2, ME),
    AppealEvent(START + 3_000, C, K3, ME),
    DecisionEvent(START + DAY, K1, Outcome.OVERTURNED, DecidedAs.CONTRIBUTOR),
    DecisionEvent(START + 2 * DAY, K2, Outcome.UPHELD, DecidedAs.STEWARD),
    DecisionEvent(START + 3 * DAY + 5, K3, Outcome.OVERTURNED, DecidedAs.CONTRIBUTOR),
    # arrivals at this node, by the member that contributed
    ArrivalEvent(B, START, START + 500),
    ArrivalEvent(B, START, START + 2_000),
    ArrivalEvent(B, START, START + 90_000),
    ArrivalEvent(C, START, START + 5_000),
    ArrivalEvent(C, START + 200, START),  # the contributor's clock is ahead: negative latency, counted as 0
    ArrivalEvent(C, START, START + 2 * DAY),
    # statements of reasons: three on terrorist content in force (two removals), one on other content, one
    # superseded by an update, one before the period; the appeal K1 was filed from the first, which the platform
    # withdrew (reinstated the content) after the overturn
    StatementEvent(START + 10, "sor-00000000000000a1", True, True, "fully", "voluntary", START + DAY + 10),
    StatementEvent(START + 20, "sor-00000000000000a2", True, True, "partially", "trusted_flagger"),
    StatementEvent(START + 30, "sor-00000000000000a4", True, False, "not_automated", "voluntary"),
    StatementEvent(START + 40, "sor-00000000000000a3", False, True, "fully", "voluntary"),
    StatementEvent(START + 50, "sor-00000000000000a5", True, True, "fully", "voluntary", superseded=True),
    StatementEvent(START - 1, "sor-00000000000000a6", True, True, "fully", "voluntary"),
    ComplaintEvent(START + 1_000, K1, "sor-00000000000000a1"),
]


def _buckets(**counts: int) -> list[dict[str, object]]:
    names = {"lt1h": "<1h", "h1_1d": "1h-1d", "d1_3d": "1d-3d", "d3_7d": "3d-7d", "d7_30d": "7d-30d", "ge30d": ">=30d"}
    return [{"range": name, "count": counts.get(key, 0)} for key, name in names.items()]


def _dist(values: list[int], **counts: int) -> dict[str, object]:
    return {"count": len(values), "median_ms": values[0], "p90_ms": values[-1], "max_ms": values[-1],
            "buckets": _buckets(**counts)}


NONE = {"count": 0, "median_ms": None, "p90_ms": None, "max_ms": None, "buckets": _buckets()}

EXPECTED = {
    "format": "hashnode.transparency.v2",
    "issuer": ME,
    "contact": "trust@platform-a.example",
    "period": {"start": "2024-03-01T00:00:00Z", "end": "2024-03-04T00:00:00Z"},
    "as_of": "2024-03-04T00:00:00Z",
    "sections": {
        "contributions": {
            "title": "Contributions and removals",
            "source": SIGNED,
            "records": 2,
            "by_label": {"tvec.manifesto": 1, "tvec.propaganda": 2},
            "by_signal_type": {"pdq": 1, "vpdq": 1},
            "removed": {"retracted": 1, "overturned": 1},
            "time_to_removal": {
                "count": 2, "median_ms": 86_399_000, "p90_ms": 172_798_000, "max_ms": 172_798_000,
                "buckets": _buckets(h1_1d=1, d1_3d=1),
            },
        },
        "matches": {
            "title": "Matches on this node",
            "source": MATCH_LOG,
            "lookup_hits": 3,
            "by_signal_type": {"pdq": 1, "vpdq": 2},
            "distinct_contents": 2,
            "granularity": "day",
            "over_time": [
                {"period": "2024-03-01", "count": 2},
                {"period": "2024-03-02", "count": 0},
                {"period": "2024-03-03", "count": 1},
            ],
            "reinstatement_notices": {"issued": 2, "cleared": 1, "to_review": 1},
        },
        "disputes": {
            "title": "Disputes: opinions on records",
            "source": SIGNED,
            "filed_by_me": {"agree": 1, "disagree": 0, "false_positive": 1},
            "about_my_records": {"agree": 0, "disagree": 1, "false_positive": 1},
            "cases_about_my_records": {"received": 1, "upheld": 0, "overturned": 0, "pending": 1},
            "cases_opened_by_my_reports": 1,
        },
        "appeals": {
            "title": "Appeals and outcomes",
            "source": SIGNED,
            "filed_by_me": {
                "received": 1, "upheld": 0, "overturned": 1, "pending": 0,
                "time_to_decision": _dist([86_399_000], h1_1d=1),
            },
            "about_my_records": {
                "received": 2, "upheld": 1, "overturned": 0, "pending": 1,
                "decided_by": {"contributor": 0, "steward": 1, "stewards": 0},
                "overturn_rate": 0.0,
                "time_to_decision": _dist([172_798_000], d1_3d=1),
            },
        },
        "availability": {
            "title": "Time from contribution to availability on this node",
            "source": ARRIVALS,
            "entries": 6,
            "negative_latency": 1,
            "latency": {
                "count": 6, "median_ms": 2_000, "p90_ms": 172_800_000, "max_ms": 172_800_000,
                "buckets": [
                    {"range": "<1s", "count": 2}, {"range": "1s-10s", "count": 2}, {"range": "10s-1min", "count": 0},
                    {"range": "1min-10min", "count": 1}, {"range": "10min-1h", "count": 0},
                    {"range": "1h-1d", "count": 0}, {"range": ">=1d", "count": 1},
                ],
            },
            "by_source": {
                B: {"count": 3, "median_ms": 2_000, "p90_ms": 90_000, "max_ms": 90_000},
                C: {"count": 3, "median_ms": 5_000, "p90_ms": 172_800_000, "max_ms": 172_800_000},
            },
        },
        "tco": {
            "title": "Terrorist content online (Regulation (EU) 2021/784, Art. 7)",
            "source": STATEMENTS,
            "decisions": 3,
            "decisions_by_automation": {"fully": 1, "partially": 1, "not_automated": 1},
            "removed_or_disabled": 2,
            "removed_or_disabled_by_source": {
                "voluntary": 1, "article_16": 0, "trusted_flagger": 1, "other_notification": 0,
            },
            "removal_orders": None,
            "removal_orders_not_executed": None,
            "complaints": {
                "received": 1, "upheld": 0, "overturned": 1, "pending": 0, "decided_within_two_weeks": 1,
                "time_to_decision": _dist([86_399_000], h1_1d=1),
            },
            "reinstated_after_complaint": 1,
            "overturned_not_yet_reinstated": 0,
            "review_proceedings": None,
            "reinstated_after_review": None,
        },
    },
}


def _report(events: list[ReportEvent] = EVENTS, **options: object) -> TransparencyReport:
    return build_report(events, PERIOD, issuer=ME, contact="trust@platform-a.example", **options)  # type: ignore[arg-type]


def test_every_figure_of_every_section_is_the_hand_computed_one() -> None:
    assert json.loads(to_json(_report())) == EXPECTED


def test_json_is_byte_for_byte_the_same_whatever_the_event_order() -> None:
    assert to_json(_report(list(reversed(EVENTS)))) == to_json(_report())
    assert to_html(_report(list(reversed(EVENTS)))) == to_html(_report())


def test_outcomes_are_as_of_the_pinned_time() -> None:
    later = json.loads(to_json(_report(as_of_ms=START + 4 * DAY)))
    about = later["sections"]["appeals"]["about_my_records"]
    assert (about["overturned"], about["pending"], later["as_of"]) == (1, 0, "2024-03-05T00:00:00Z")
    earlier = json.loads(to_json(_report(as_of_ms=START + DAY)))  # before the steward upheld K2
    assert earlier["sections"]["appeals"]["about_my_records"]["pending"] == 2
    assert earlier["sections"]["matches"]["lookup_hits"] == 2  # events after the as-of time are not counted
    with pytest.raises(InvalidArgument, match="as_of"):
        _report(as_of_ms=START - 1)


def _tco(events: list[ReportEvent], as_of_ms: int | None = None) -> dict[str, object]:
    report = build_report(events, PERIOD, issuer=ME, as_of_ms=as_of_ms)
    return dict(to_dict(report)["sections"]["tco"])  # type: ignore[index]


def test_the_tco_section_counts_complaints_by_outcome_and_reinstatements() -> None:
    def statement(n: int, terrorist: bool = True, withdrawn_ms: int = 0) -> StatementEvent:
        return StatementEvent(START + n, f"sor-{n:016x}", terrorist, True, "fully", "voluntary", withdrawn_ms)

    keys = [AppealKey(bytes([i]) * 32, RID_SECRET) for i in range(10, 16)]
    events: list[ReportEvent] = [
        *(statement(n) for n in range(1, 5)),
        statement(5, terrorist=False),
        statement(6, withdrawn_ms=START + 2 * DAY + 1),
        # upheld in a day; overturned after 20 days (and not reinstated); pending; decided after the report's time
        ComplaintEvent(START + 100, keys[0], f"sor-{1:016x}"),
        DecisionEvent(START + 100 + DAY, keys[0], Outcome.UPHELD, DecidedAs.CONTRIBUTOR),
        ComplaintEvent(START + 200, keys[1], f"sor-{2:016x}"),
        DecisionEvent(START + 200 + 20 * DAY, keys[1], Outcome.OVERTURNED, DecidedAs.STEWARD),
        ComplaintEvent(START + 300, keys[2], f"sor-{3:016x}"),
        ComplaintEvent(START + 400, keys[3], f"sor-{4:016x}"),
        DecisionEvent(START + 2 * DAY, keys[3], Outcome.OVERTURNED, DecidedAs.CONTRIBUTOR),
        # a complaint about other content is no TCO complaint; one about an unknown statement neither
        ComplaintEvent(START + 500, keys[4], f"sor-{5:016x}"),
        ComplaintEvent(START + 600, keys[5], "sor-00000000000000ff"),
        # reinstated after its overturn: withdrawn a day after it
        ComplaintEvent(START + 700, AppealKey(bytes([20]) * 32, RID_SECRET), f"sor-{6:016x}"),
        DecisionEvent(START + DAY, AppealKey(bytes([20]) * 32, RID_SECRET), Outcome.OVERTURNED, DecidedAs.CONTRIBUTOR),
    ]
    tco = _tco(events, as_of_ms=START + 30 * DAY)
    complaints = tco["complaints"]
    assert isinstance(complaints, dict)
    assert {k: complaints[k] for k in ("received", "upheld", "overturned", "pending")} == {
        "received": 5, "upheld": 1, "overturned": 3, "pending": 1,
    }
    assert complaints["decided_within_two_weeks"] == 3
    assert (tco["decisions"], tco["removed_or_disabled"]) == (5, 5)
    assert (tco["reinstated_after_complaint"], tco["overturned_not_yet_reinstated"]) == (1, 2)
    earlier = _tco(events, as_of_ms=START + 2 * DAY)  # before the withdrawal and the 20-day decision
    assert (earlier["reinstated_after_complaint"], earlier["overturned_not_yet_reinstated"]) == (0, 2)
    assert earlier["complaints"]["pending"] == 2  # type: ignore[index]


def test_the_tco_section_says_what_hashnode_does_not_record() -> None:
    page = _html()
    assert "Removal orders (Art. 3) and those not executed are not recorded here" in page
    assert "tco,removal_orders,," in to_csv(_report())
    assert _tco([])["complaints"] == {  # an empty year: zeros, no median
        "received": 0, "upheld": 0, "overturned": 0, "pending": 0, "decided_within_two_weeks": 0,
        "time_to_decision": NONE,
    }


def test_csv_has_one_figure_per_row() -> None:
    rows = to_csv(_report()).splitlines()
    assert rows[0] == "section,key,subkey,value"
    for expected in (
        "contributions,records,,2",
        "contributions,time_to_removal,buckets.1h-1d,1",
        "contributions,time_to_removal,median_ms,86399000",
        "matches,distinct_contents,,2",
        "matches,over_time,2024-03-02,0",
        "disputes,about_my_records,false_positive,1",
        "appeals,about_my_records,overturn_rate,0.0000",
        "appeals,filed_by_me,time_to_decision.count,1",
        "availability,by_source,platform-c.p90_ms,172800000",
    ):
        assert expected in rows
    empty = to_csv(build_report([], PERIOD, issuer=ME)).splitlines()
    assert "appeals,filed_by_me,time_to_decision.median_ms," in empty  # the median of nothing: empty
    assert all(len(row.split(",")) == 4 for row in rows)


def test_a_new_section_is_one_function_and_every_format_renders_it() -> None:
    def orders(data: ReportInput) -> Section:
        return Section("removal_orders", "Removal orders", SIGNED, {"received": 7})

    report_module.SECTIONS.append(orders)
    try:
        report = _report()
    finally:
        report_module.SECTIONS.remove(orders)
    assert to_dict(report)["sections"]["removal_orders"] == {  # type: ignore[index]
        "title": "Removal orders", "source": SIGNED, "received": 7
    }
    assert "removal_orders,received,,7" in to_csv(report)
    assert '<section id="removal_orders"><h2>Removal orders</h2>' in to_html(report)


# --- the time axis at any period length ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length_ms", "unit", "first", "last", "count"),
    [
        (DAY, "hour", "2024-03-01T00:00", "2024-03-01T23:00", 24),
        (HOUR, "hour", "2024-03-01T00:00", "2024-03-01T00:00", 1),
        (2 * DAY, "hour", "2024-03-01T00:00", "2024-03-02T23:00", 48),
        (10 * DAY, "day", "2024-03-01", "2024-03-10", 10),
        (366 * DAY, "month", "2024-03", "2025-03", 13),
    ],
    ids=["one day", "one hour", "two days", "ten days", "a year"],
)
def test_the_matches_axis_has_one_bucket_per_hour_day_or_month(
    length_ms: int, unit: str, first: str, last: str, count: int
) -> None:
    period = Period(START, START + length_ms)
    report = build_report([_match(START), _match(START + length_ms - 1)], period, issuer=ME)
    figures = report.section("matches").figures
    axis = figures["over_time"]
    assert isinstance(axis, list)
    assert (figures["granularity"], axis[0]["period"], axis[-1]["period"], len(axis)) == (unit, first, last, count)
    assert sum(int(p["count"]) for p in axis) == 2
    assert time_axis(period, unit)[0] == first


def test_a_one_day_chart_labels_its_hours_and_its_date_once() -> None:
    period = Period(START, START + DAY)
    page = to_html(build_report([_match(START + 5 * HOUR)], period, issuer=ME))
    chart = re.search(r'<svg id="chart-matches".*?</svg>', page)
    assert chart is not None
    svg = chart.group(0)
    assert svg.count("<rect") == 24
    ticks = re.findall(r'text-anchor="middle">([^<]+)</text>', svg)
    assert ticks[0] == "00:00" and ticks[-1] == "23:00" and len(ticks) == len(set(ticks)) <= 8
    assert "2024-03-01T00:00 to 2024-03-01T23:00 (UTC)" in svg


def test_a_one_bucket_chart_is_labelled_once() -> None:
    page = to_html(build_report([_match(START)], Period(START, START + HOUR), issuer=ME))
    svg = re.search(r'<svg id="chart-matches".*?</svg>', page)
    assert svg is not None
    assert re.findall(r'text-anchor="middle">([^<]+)</text>', svg.group(0)) == ["00:00"]
    assert "2024-03-01T00:00 (UTC)" in svg.group(0) and " to " not in svg.group(0)


# --- HTML ---------------------------------------------------------------------------------------------------

CHART_IDS = (
    "chart-contributions-label",
    "chart-removals",
    "chart-time-to-removal",
    "chart-matches",
    "chart-disputes-filed",
    "chart-disputes-about",
    "chart-appeals-filed",
    "chart-appeals-about",
    "chart-time-to-decision",
    "chart-latency",
    "chart-tco-complaints",
)


def _html() -> str:
    return to_html(_report())


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


def test_html_says_where_figures_come_from_and_when() -> None:
    page = _html()
    assert page.count("Source: signed logs") == 3
    assert "Source: this node&#x27;s local match log: not signed" in page
    assert "figures as of 2024-03-04T00:00:00Z" in page
    assert "Point of contact: trust@platform-a.example" in page


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
    text = render(_report())
    secrets = (RID_SECRET.hex(), RID_SECRET.hex()[:12], "post/secret-content", "0123456789abcdef", "0101010101", "sor-")
    for secret in secrets:
        assert secret not in text


def test_html_escapes_member_names_and_labels() -> None:
    hostile = [ContributionEvent(START, "a&b", ('x"><svg onload=1>',))]
    page = to_html(build_report(hostile, PERIOD, issuer="a&b", contact="<script>alert(1)</script>"))
    assert "<script>" not in page and "<svg onload" not in page
    assert "&lt;script&gt;" in page and "a&amp;b" in page


def test_an_empty_report_renders_with_no_data_charts() -> None:
    report = build_report([], PERIOD, issuer=ME)
    about = to_dict(report)["sections"]["appeals"]["about_my_records"]  # type: ignore[index]
    assert about == {
        "received": 0, "upheld": 0, "overturned": 0, "pending": 0,
        "decided_by": {"contributor": 0, "steward": 0, "stewards": 0},
        "overturn_rate": None, "time_to_decision": NONE,
    }
    assert "appeals,about_my_records,overturn_rate,\n" in to_csv(report)


def test_two_effective_decisions_for_one_appeal_are_refused() -> None:
    twice = [
        DecisionEvent(START, K1, Outcome.UPHELD, DecidedAs.CONTRIBUTOR),
        DecisionEvent(START + 1, K1, Outcome.OVERTURNED, DecidedAs.STEWARD),
    ]
    with pytest.raises(DuplicateDecision):
        build_report(twice, PERIOD, issuer=ME)


def test_period_must_not_be_empty() -> None:
    with pytest.raises(InvalidArgument):
        Period(START, START)


def test_resolution_events_give_the_appeal_and_only_its_effective_decision() -> None:
    appeal = VerifiedItem(B, START, K1.appeal_entry_id, AppealItem(RID_SECRET, "C-1"))
    authority = DecisionAuthority(ME, frozenset({"steward-1"}))
    decisions = [
        VerifiedItem(
            ME, START + 10, b"\x10" * 32,
            DecisionItem(RID_SECRET, K1.appeal_entry_id, Outcome.OVERTURNED, "", DecidedAs.CONTRIBUTOR),
        ),
        VerifiedItem(
            ME, START + 20, b"\x11" * 32,
            DecisionItem(RID_SECRET, K1.appeal_entry_id, Outcome.UPHELD, "", DecidedAs.CONTRIBUTOR),
        ),
    ]
    events = resolution_events(resolve(appeal, decisions, authority), about=ME)
    assert events == [
        AppealEvent(START, B, K1, ME),
        DecisionEvent(START + 10, K1, Outcome.OVERTURNED, DecidedAs.CONTRIBUTOR),
    ]


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
