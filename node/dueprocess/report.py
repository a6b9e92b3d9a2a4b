"""Transparency reports: aggregate numbers about contributions, matches, disputes, appeals and availability
(docs/due-process.md, "Transparency reports").

Input is an iterable of verified events; output is a `TransparencyReport` of counts only (no record ids,
hashes, case references or content references), rendered as JSON, CSV, or one self-contained HTML page whose
charts are inline SVG drawn here: the page loads nothing from anywhere.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from node.core.errors import InvalidArgument
from node.dueprocess.deadlines import AppealResolution
from node.dueprocess.items import AppealKey, DecidedAs, Outcome, Stance
from node.dueprocess.matchlog import MatchLogEntry

DAY_MS = 86_400_000
MAX_DAILY_DAYS = 92  # longer periods count matches per month
# Upper bounds (exclusive) of the availability latency buckets, in ms, and their names; the last is open.
LATENCY_BUCKETS: tuple[tuple[int | None, str], ...] = (
    (1_000, "<1s"),
    (10_000, "1s-10s"),
    (60_000, "10s-1min"),
    (600_000, "1min-10min"),
    (3_600_000, "10min-1h"),
    (DAY_MS, "1h-1d"),
    (None, ">=1d"),
)


# --- events -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContributionEvent:
    """One record, contributed by `member` at `time_ms` (its entry's signed timestamp)."""

    time_ms: int
    member: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class MatchEvent:
    time_ms: int
    distance: int

    @classmethod
    def from_log(cls, entry: MatchLogEntry) -> MatchEvent:
        return cls(entry.time_ms, entry.distance)


@dataclass(frozen=True)
class OpinionEvent:
    time_ms: int
    member: str
    stance: Stance


@dataclass(frozen=True)
class AppealEvent:
    time_ms: int
    member: str  # who received the appeal
    key: AppealKey


@dataclass(frozen=True)
class DecisionEvent:
    """The effective decision of an appeal (from `deadlines.resolve`); refused and superseded decisions are
    not report events."""

    time_ms: int
    key: AppealKey
    outcome: Outcome
    decided_as: DecidedAs


@dataclass(frozen=True)
class ArrivalEvent:
    """An entry contributed at `contributed_ms` reached `peer` at `arrived_ms` (the peer's clock)."""

    peer: str
    contributed_ms: int
    arrived_ms: int

    @property
    def time_ms(self) -> int:
        return self.arrived_ms


ReportEvent = ContributionEvent | MatchEvent | OpinionEvent | AppealEvent | DecisionEvent | ArrivalEvent


def resolution_events(resolution: AppealResolution) -> list[ReportEvent]:
    """The appeal and, once decided, its effective decision."""
    events: list[ReportEvent] = [AppealEvent(resolution.appealed_at_ms, resolution.appellant, resolution.key)]
    if resolution.effective is not None:
        decision = resolution.effective
        events.append(
            DecisionEvent(
                decision.timestamp_ms, resolution.key, decision.item.outcome, decision.item.decided_as
            )
        )
    return events


class DuplicateDecision(InvalidArgument):
    """Two effective decisions for one appeal: the input was not resolved with `deadlines.resolve`."""


# --- aggregates ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """[start_ms, end_ms), UTC."""

    start_ms: int
    end_ms: int

    def __post_init__(self) -> None:
        if self.end_ms <= self.start_ms:
            raise InvalidArgument("period", f"{self.start_ms}..{self.end_ms}", "start before end")

    def __contains__(self, time_ms: int) -> bool:
        return self.start_ms <= time_ms < self.end_ms


@dataclass(frozen=True)
class PeerLatency:
    count: int
    median_ms: int
    p90_ms: int
    max_ms: int


@dataclass(frozen=True)
class TransparencyReport:
    issuer: str
    period: Period
    generated_at_ms: int
    contributions_by_label: dict[str, int]
    contributions_by_member: dict[str, int]
    contributions_by_member_label: dict[str, dict[str, int]]
    contributions_total: int
    matches_total: int
    match_granularity: str  # "day" or "month"
    matches_over_time: dict[str, int]
    opinions_by_stance: dict[str, int]
    appeals_received: int
    appeals_by_member: dict[str, int]
    appeals_pending: int  # appeals of the period without a decision in it
    decisions_by_outcome: dict[str, int]
    decisions_by_decided_as: dict[str, int]
    overturn_rate: float | None  # overturned / decided; None with no decisions
    latency_buckets: dict[str, int] = field(default_factory=dict)  # in LATENCY_BUCKETS order
    latency_by_peer: dict[str, PeerLatency] = field(default_factory=dict)
    latency_negative: int = 0  # arrivals timestamped before their contribution: clock skew


def _sorted_counts(counter: Counter[str]) -> dict[str, int]:
    return {key: counter[key] for key in sorted(counter)}


def _bucket(time_ms: int, granularity: str) -> str:
    day = datetime.fromtimestamp(time_ms // 1000, UTC)
    return day.strftime("%Y-%m-%d" if granularity == "day" else "%Y-%m")


def _time_axis(period: Period, granularity: str) -> list[str]:
    """Every bucket of the period, so quiet days show as zero."""
    start = datetime.fromtimestamp(period.start_ms // 1000, UTC)
    end = datetime.fromtimestamp((period.end_ms - 1) // 1000, UTC)
    keys: list[str] = []
    day = start
    while day <= end:
        key = _bucket(int(day.timestamp()) * 1000, granularity)
        if not keys or keys[-1] != key:
            keys.append(key)
        day += timedelta(days=1)
    return keys


def _nearest_rank(ordered: Sequence[int], percent: int) -> int:
    rank = max(1, -(-percent * len(ordered) // 100))  # ceil(percent/100 * n)
    return ordered[rank - 1]


def _latency_bucket(latency_ms: int) -> str:
    return next(name for bound, name in LATENCY_BUCKETS if bound is None or latency_ms < bound)


def _latency(arrivals: Sequence[ArrivalEvent]) -> tuple[dict[str, int], dict[str, PeerLatency], int]:
    buckets = dict.fromkeys((name for _, name in LATENCY_BUCKETS), 0)
    by_peer: dict[str, list[int]] = {}
    negative = 0
    for arrival in arrivals:
        latency = arrival.arrived_ms - arrival.contributed_ms
        negative += latency < 0
        latency = max(latency, 0)
        buckets[_latency_bucket(latency)] += 1
        by_peer.setdefault(arrival.peer, []).append(latency)
    peers = {}
    for peer in sorted(by_peer):
        values = sorted(by_peer[peer])
        peers[peer] = PeerLatency(
            len(values), _nearest_rank(values, 50), _nearest_rank(values, 90), values[-1]
        )
    return buckets, peers, negative


def _in_period(events: Iterable[ReportEvent], period: Period) -> dict[type, list[ReportEvent]]:
    grouped: dict[type, list[ReportEvent]] = {}
    for event in events:
        if event.time_ms in period:
            grouped.setdefault(type(event), []).append(event)
    return grouped


def _of(grouped: Mapping[type, list[ReportEvent]], kind: type[ReportEvent]) -> list[ReportEvent]:
    return grouped.get(kind, [])


def _contributions(
    events: Sequence[ContributionEvent],
) -> tuple[Counter[str], Counter[str], dict[str, Counter[str]]]:
    by_label: Counter[str] = Counter()
    by_member: Counter[str] = Counter()
    by_member_label: dict[str, Counter[str]] = {}
    for event in events:
        by_member[event.member] += 1
        for label in event.labels:
            by_label[label] += 1
            by_member_label.setdefault(event.member, Counter())[label] += 1
    return by_label, by_member, by_member_label


def _decisions(decisions: Sequence[DecisionEvent]) -> dict[AppealKey, DecisionEvent]:
    decided: dict[AppealKey, DecisionEvent] = {}
    for decision in decisions:
        if decision.key in decided:
            raise DuplicateDecision(
                "decisions", f"two for appeal {decision.key.short()}", "one effective decision"
            )
        decided[decision.key] = decision
    return decided


def build_report(
    events: Iterable[ReportEvent], period: Period, *, issuer: str, generated_at_ms: int
) -> TransparencyReport:
    """Aggregates the events whose time falls in `period` (arrivals by arrival time).

    Raises:
        DuplicateDecision: two decision events name the same appeal.
    """
    grouped = _in_period(events, period)
    contributions = [e for e in _of(grouped, ContributionEvent) if isinstance(e, ContributionEvent)]
    matches = [e for e in _of(grouped, MatchEvent) if isinstance(e, MatchEvent)]
    opinions = [e for e in _of(grouped, OpinionEvent) if isinstance(e, OpinionEvent)]
    appeals = [e for e in _of(grouped, AppealEvent) if isinstance(e, AppealEvent)]
    decided = _decisions([e for e in _of(grouped, DecisionEvent) if isinstance(e, DecisionEvent)])
    arrivals = [e for e in _of(grouped, ArrivalEvent) if isinstance(e, ArrivalEvent)]

    by_label, by_member, by_member_label = _contributions(contributions)
    granularity = "day" if period.end_ms - period.start_ms <= MAX_DAILY_DAYS * DAY_MS else "month"
    over_time = dict.fromkeys(_time_axis(period, granularity), 0)
    for match in matches:
        over_time[_bucket(match.time_ms, granularity)] += 1
    outcomes = Counter(d.outcome.label for d in decided.values())
    buckets, peers, negative = _latency(arrivals)
    return TransparencyReport(
        issuer=issuer,
        period=period,
        generated_at_ms=generated_at_ms,
        contributions_by_label=_sorted_counts(by_label),
        contributions_by_member=_sorted_counts(by_member),
        contributions_by_member_label={m: _sorted_counts(c) for m, c in sorted(by_member_label.items())},
        contributions_total=len(contributions),
        matches_total=len(matches),
        match_granularity=granularity,
        matches_over_time=over_time,
        opinions_by_stance={s.label: sum(1 for o in opinions if o.stance is s) for s in Stance},
        appeals_received=len(appeals),
        appeals_by_member=_sorted_counts(Counter(a.member for a in appeals)),
        appeals_pending=sum(1 for a in appeals if a.key not in decided),
        decisions_by_outcome={o.label: outcomes[o.label] for o in Outcome},
        decisions_by_decided_as={
            d.label: sum(1 for e in decided.values() if e.decided_as is d) for d in DecidedAs
        },
        overturn_rate=round(outcomes["overturned"] / len(decided), 4) if decided else None,
        latency_buckets=buckets,
        latency_by_peer=peers,
        latency_negative=negative,
    )


# --- JSON and CSV -------------------------------------------------------------------------------------------


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def to_dict(report: TransparencyReport) -> dict[str, object]:
    """The report as plain JSON values. Ordered lists keep the order of buckets and time."""
    return {
        "format": "hashnode.transparency.v1",
        "issuer": report.issuer,
        "period": {"start": _iso(report.period.start_ms), "end": _iso(report.period.end_ms)},
        "generated_at": _iso(report.generated_at_ms),
        "contributions": {
            "total": report.contributions_total,
            "by_label": report.contributions_by_label,
            "by_member": report.contributions_by_member,
            "by_member_label": report.contributions_by_member_label,
        },
        "matches": {
            "total": report.matches_total,
            "granularity": report.match_granularity,
            "over_time": [{"period": k, "count": v} for k, v in report.matches_over_time.items()],
        },
        "opinions": {"by_stance": report.opinions_by_stance},
        "appeals": {
            "received": report.appeals_received,
            "by_member": report.appeals_by_member,
            "pending": report.appeals_pending,
            "decisions_by_outcome": report.decisions_by_outcome,
            "decisions_by_decided_as": report.decisions_by_decided_as,
            "overturn_rate": report.overturn_rate,
        },
        "availability": {
            "buckets": [{"latency": k, "count": v} for k, v in report.latency_buckets.items()],
            "negative_latency": report.latency_negative,
            "by_peer": {
                peer: {"count": p.count, "median_ms": p.median_ms, "p90_ms": p.p90_ms, "max_ms": p.max_ms}
                for peer, p in report.latency_by_peer.items()
            },
        },
    }


def to_json(report: TransparencyReport) -> str:
    return json.dumps(to_dict(report), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def csv_rows(report: TransparencyReport) -> list[tuple[str, str, str, str]]:
    """(section, key, subkey, value) rows: one figure per row, for spreadsheets."""
    rows: list[tuple[str, str, str, str]] = [("contributions", "total", "", str(report.contributions_total))]
    rows += [("contributions_by_label", k, "", str(v)) for k, v in report.contributions_by_label.items()]
    rows += [("contributions_by_member", k, "", str(v)) for k, v in report.contributions_by_member.items()]
    rows += [
        ("contributions_by_member_label", m, k, str(v))
        for m, labels in report.contributions_by_member_label.items()
        for k, v in labels.items()
    ]
    rows.append(("matches", "total", "", str(report.matches_total)))
    rows += [
        (f"matches_by_{report.match_granularity}", k, "", str(v)) for k, v in report.matches_over_time.items()
    ]
    rows += [("opinions_by_stance", k, "", str(v)) for k, v in report.opinions_by_stance.items()]
    rows.append(("appeals", "received", "", str(report.appeals_received)))
    rows.append(("appeals", "pending", "", str(report.appeals_pending)))
    rows += [("appeals_by_member", k, "", str(v)) for k, v in report.appeals_by_member.items()]
    rows += [("decisions_by_outcome", k, "", str(v)) for k, v in report.decisions_by_outcome.items()]
    rows += [("decisions_by_decided_as", k, "", str(v)) for k, v in report.decisions_by_decided_as.items()]
    rate = "" if report.overturn_rate is None else f"{report.overturn_rate:.4f}"
    rows.append(("appeals", "overturn_rate", "", rate))
    rows += [("availability_latency", k, "", str(v)) for k, v in report.latency_buckets.items()]
    rows.append(("availability_latency", "negative", "", str(report.latency_negative)))
    for peer, p in report.latency_by_peer.items():
        rows += [
            ("availability_by_peer", peer, name, str(getattr(p, name)))
            for name in ("count", "median_ms", "p90_ms", "max_ms")
        ]
    return rows


def to_csv(report: TransparencyReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("section", "key", "subkey", "value"))
    writer.writerows(csv_rows(report))
    return out.getvalue()


# --- HTML with inline SVG -----------------------------------------------------------------------------------

_BAR_HEIGHT = 22
_CHART_WIDTH = 640
_LABEL_WIDTH = 200
_PALETTE = ("#3b6ea8", "#c8553d", "#5a8f29", "#8e6bb8", "#d09a2c", "#3f8f8f", "#7a7a7a")


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _fit(name: str, limit: int = 28) -> str:
    """A label short enough for the label column; the full name is in the tooltip and the table."""
    return name if len(name) <= limit else name[: limit - 1] + "…"


def bar_chart(chart_id: str, title: str, rows: Sequence[tuple[str, int]]) -> str:
    """A horizontal bar chart as an inline SVG element.

    No xmlns attribute: the HTML5 parser puts inline <svg> in the SVG namespace itself, and the page stays
    free of URLs.
    """
    height = max(1, len(rows)) * _BAR_HEIGHT + 30
    peak = max((v for _, v in rows), default=0) or 1
    span = _CHART_WIDTH - _LABEL_WIDTH - 60
    parts = [
        f'<svg id="{_e(chart_id)}" class="chart" role="img" aria-labelledby="{_e(chart_id)}-title" '
        f'width="{_CHART_WIDTH}" height="{height}" viewBox="0 0 {_CHART_WIDTH} {height}">',
        f'<title id="{_e(chart_id)}-title">{_e(title)}</title>',
    ]
    if not rows:
        parts.append('<text x="10" y="20">no data</text>')
    for i, (name, value) in enumerate(rows):
        y = 10 + i * _BAR_HEIGHT
        width = round(span * value / peak)
        colour = _PALETTE[i % len(_PALETTE)]
        parts.append(
            f'<text x="{_LABEL_WIDTH - 8}" y="{y + 15}" text-anchor="end">{_e(_fit(name))}</text>'
            f'<rect x="{_LABEL_WIDTH}" y="{y + 3}" width="{width}" height="{_BAR_HEIGHT - 6}" '
            f'fill="{colour}">'
            f"<title>{_e(name)}: {value}</title></rect>"
            f'<text x="{_LABEL_WIDTH + width + 6}" y="{y + 15}">{value}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def column_chart(chart_id: str, title: str, rows: Sequence[tuple[str, int]]) -> str:
    """A vertical column chart over time. Only the first and last period are labelled: all would collide."""
    height, base, top = 220, 190, 20
    gap = 2
    step = (_CHART_WIDTH - 60) / max(1, len(rows))
    peak = max((v for _, v in rows), default=0) or 1
    parts = [
        f'<svg id="{_e(chart_id)}" class="chart" role="img" aria-labelledby="{_e(chart_id)}-title" '
        f'width="{_CHART_WIDTH}" height="{height}" viewBox="0 0 {_CHART_WIDTH} {height}">',
        f'<title id="{_e(chart_id)}-title">{_e(title)}</title>',
        f'<line x1="40" y1="{base}" x2="{_CHART_WIDTH - 20}" y2="{base}" stroke="#444"/>',
        f'<text x="36" y="{top + 4}" text-anchor="end">{peak}</text>',
        f'<text x="36" y="{base}" text-anchor="end">0</text>',
    ]
    for i, (name, value) in enumerate(rows):
        bar = (base - top) * value / peak
        x = 40 + i * step
        parts.append(
            f'<rect x="{x:.1f}" y="{base - bar:.1f}" width="{max(step - gap, 1):.1f}" height="{bar:.1f}" '
            f'fill="{_PALETTE[0]}"><title>{_e(name)}: {value}</title></rect>'
        )
    if rows:
        parts.append(f'<text x="40" y="{base + 18}">{_e(rows[0][0])}</text>')
        parts.append(
            f'<text x="{_CHART_WIDTH - 20}" y="{base + 18}" text-anchor="end">{_e(rows[-1][0])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(headers: tuple[str, str], rows: Iterable[tuple[str, object]]) -> str:
    body = "".join(f"<tr><td>{_e(k)}</td><td class=num>{_e(v)}</td></tr>" for k, v in rows)
    return f"<table><tr><th>{_e(headers[0])}</th><th>{_e(headers[1])}</th></tr>{body}</table>"


def _section(title: str, *content: str) -> str:
    return f"<section><h2>{_e(title)}</h2>{''.join(content)}</section>"


_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:760px;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ccc}
svg.chart{display:block;margin:.5em 0;font-size:12px}svg.chart text{fill:#222}
table{border-collapse:collapse;margin:.5em 0}
td,th{padding:2px 10px;border-bottom:1px solid #eee;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}.big{font-size:2em;font-weight:bold}
"""
# Nothing may load: the page is read on machines that reach nothing outside.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _rate_chart(rate: float | None) -> str:
    # Upheld first, as in the outcome chart above it, so each outcome keeps its colour on the page.
    rows = [] if rate is None else [("upheld", 100 - round(rate * 100)), ("overturned", round(rate * 100))]
    title = "Share of decided appeals upheld and overturned (%)"
    return f"<p>{_e(title)}</p>" + bar_chart("chart-overturn-rate", title, rows)


def _availability_section(report: TransparencyReport) -> str:
    peers = "".join(
        f"<tr><td>{_e(peer)}</td><td class=num>{p.count}</td><td class=num>{p.median_ms}</td>"
        f"<td class=num>{p.p90_ms}</td><td class=num>{p.max_ms}</td></tr>"
        for peer, p in report.latency_by_peer.items()
    )
    table = (
        "<table><tr><th>peer</th><th>entries</th><th>median ms</th><th>p90 ms</th><th>max ms</th></tr>"
        f"{peers}</table>"
    )
    skew = (
        f"<p>{report.latency_negative} arrivals timestamped before their contribution (clock skew), "
        "counted as 0.</p>"
    )
    chart = bar_chart(
        "chart-latency", "Time from contribution to availability", list(report.latency_buckets.items())
    )
    return _section("Time from contribution to availability at peers", chart, table, skew)


def to_html(report: TransparencyReport) -> str:
    """One self-contained page: inline CSS and SVG, no script, no external reference of any kind."""
    rate = "n/a" if report.overturn_rate is None else f"{report.overturn_rate * 100:.1f}%"
    outcomes = [*report.decisions_by_outcome.items(), ("pending", report.appeals_pending)]
    sections = [
        _section(
            "Contributions",
            f"<p><span class=big>{report.contributions_total}</span> records contributed.</p>",
            bar_chart(
                "chart-contributions-label",
                "Contributions by label",
                list(report.contributions_by_label.items()),
            ),
            bar_chart(
                "chart-contributions-member",
                "Contributions by member",
                list(report.contributions_by_member.items()),
            ),
            _table(("member", "records"), report.contributions_by_member.items()),
        ),
        _section(
            "Matches",
            f"<p><span class=big>{report.matches_total}</span> matches on this node.</p>",
            column_chart(
                "chart-matches",
                f"Matches per {report.match_granularity}",
                list(report.matches_over_time.items()),
            ),
        ),
        _section(
            "Disputes",
            bar_chart("chart-opinions", "Opinions by stance", list(report.opinions_by_stance.items())),
            _table(("stance", "opinions"), report.opinions_by_stance.items()),
        ),
        _section(
            "Appeals and outcomes",
            f"<p><span class=big>{report.appeals_received}</span> appeals received; "
            f"overturn rate {_e(rate)}.</p>",
            bar_chart("chart-appeals", "Appeals by outcome", outcomes),
            _table(("decided as", "decisions"), report.decisions_by_decided_as.items()),
            _rate_chart(report.overturn_rate),
        ),
        _availability_section(report),
    ]
    period = f"{_iso(report.period.start_ms)} to {_iso(report.period.end_ms)}"
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        f"<title>Transparency report {_e(report.issuer)} {_e(period)}</title>"
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>Transparency report of {_e(report.issuer)}</h1>"
        f"<p>Period {_e(period)}; generated {_e(_iso(report.generated_at_ms))}. Aggregate counts only.</p>"
        + "".join(sections)
        + "</body></html>\n"
    )
