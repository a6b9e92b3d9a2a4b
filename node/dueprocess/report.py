"""Transparency reports: what a member did and what was done about its records, in numbers (docs/due-process.md,
"Transparency reports").

Input is an iterable of verified events; output is a `TransparencyReport` of counts and durations only (no
record ids, hashes, case references or content references), rendered as JSON, CSV, or one self-contained HTML
page whose charts are inline SVG drawn here: the page loads nothing from anywhere.

A report is a list of sections, each built by one function of `SECTIONS` from the same events: a new section
(e.g. one on removal orders) is a new function and its events, and JSON, CSV and HTML render it with no change
here. Each section says where its figures come from: the signed logs (anyone holding them derives the same
figures), or this node's own unsigned records (the match log, arrival times), which only its operator can check.

A report is a function of its events, its period and its as-of time: built twice from the same store with the
same `as_of_ms` it is the same bytes. Nothing reads a clock.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from node.core.errors import InvalidArgument
from node.dueprocess.deadlines import AppealResolution
from node.dueprocess.items import AppealKey, DecidedAs, Outcome, Stance
from node.dueprocess.matchlog import MatchLogEntry

FORMAT = "hashnode.transparency.v2"
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
MAX_HOURLY_DAYS = 2  # periods up to 2 days count matches per hour
MAX_DAILY_DAYS = 92  # up to 92 days per day; longer periods per month
SIGNED = "signed logs: anyone holding the consortium's entries derives these figures"
MATCH_LOG = "this node's local match log: not signed, kept for a bounded time; only its operator can check it"
ARRIVALS = "this node's local arrival times: not signed; only its operator can check them"
STATEMENTS = (
    "this node's statements of reasons (local, not signed; only its operator can check them) and the appeals filed "
    "from them with their decisions (signed logs)"
)
TWO_WEEKS_MS = 14 * DAY_MS  # TCO Art. 10(2): the complainant hears the outcome within two weeks
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
# The same for durations of due process (time to decision, time to removal).
DURATION_BUCKETS: tuple[tuple[int | None, str], ...] = (
    (HOUR_MS, "<1h"),
    (DAY_MS, "1h-1d"),
    (3 * DAY_MS, "1d-3d"),
    (7 * DAY_MS, "3d-7d"),
    (30 * DAY_MS, "7d-30d"),
    (None, ">=30d"),
)


# --- events -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContributionEvent:
    """One record, contributed by `member` at `time_ms` (its entry's signed timestamp)."""

    time_ms: int
    member: str
    labels: tuple[str, ...]
    signal_type: str = ""  # pdq, vpdq, md5, ...


@dataclass(frozen=True)
class RemovalEvent:
    """A record of `member` stopped matching for good at `time_ms` (signed): retracted or overturned."""

    time_ms: int
    member: str
    contributed_ms: int
    how: str  # "retracted" or "overturned"


@dataclass(frozen=True)
class MatchEvent:
    """A lookup hit; `content` tells the contents apart (its content reference, else its query) and is never
    reported, only counted."""

    time_ms: int
    distance: int
    content: str = ""
    signal_type: str = ""  # of the record matched: pdq, vpdq, md5, ...

    @classmethod
    def from_log(cls, entry: MatchLogEntry, signal_type: str = "") -> MatchEvent:
        content = f"ref:{entry.content_ref}" if entry.content_ref else f"query:{entry.query_id}"
        return cls(entry.time_ms, entry.distance, content, signal_type)


@dataclass(frozen=True)
class OpinionEvent:
    time_ms: int
    member: str  # who said it
    stance: Stance
    about: str = ""  # the contributor of the record it is about


@dataclass(frozen=True)
class AppealEvent:
    time_ms: int
    member: str  # who filed the appeal (received it from its user), or who opened the dispute case
    key: AppealKey
    about: str = ""  # the contributor of the record appealed
    dispute: bool = False  # a case opened by disputes, not an appeal


@dataclass(frozen=True)
class DecisionEvent:
    """The effective decision of an appeal or dispute case (from `deadlines.resolve`); refused and superseded
    decisions are not report events."""

    time_ms: int
    key: AppealKey
    outcome: Outcome
    decided_as: DecidedAs


@dataclass(frozen=True)
class NoticeEvent:
    """A reinstatement notice this node issued: content it matched against a record since removed."""

    time_ms: int
    cleared: bool  # no other record still matches the content


@dataclass(frozen=True)
class ArrivalEvent:
    """An entry `source` contributed at `contributed_ms` reached this node at `arrived_ms` (its clock)."""

    source: str
    contributed_ms: int
    arrived_ms: int

    @property
    def time_ms(self) -> int:
        return self.arrived_ms


@dataclass(frozen=True)
class StatementEvent:
    """A statement of reasons this node issued for a decision its platform took (node/dueprocess/statement.py).

    `statement` ties the appeals filed from it (`ComplaintEvent`) to it and is never reported, only counted."""

    time_ms: int  # issued
    statement: str
    terrorist: bool  # about terrorist content (keyword KEYWORD_TERRORIST_CONTENT): within Regulation 2021/784
    removal: bool  # the content was removed or access to it disabled (TCO Art. 7(3)(c))
    automated: str  # how the decision was taken: fully, partially or not_automated
    source: str  # what led to it: voluntary, article_16, trusted_flagger, other_notification
    withdrawn_ms: int = 0  # when the platform recorded reversing it (the content reinstated); 0: it stands
    superseded: bool = False  # replaced by an updated statement of the same decision: counted once, as that one


@dataclass(frozen=True)
class ComplaintEvent:
    """An appeal this member filed from one of its statements (the statement's id leads its case reference): a
    complaint of the content provider (TCO Art. 10), signed; its outcome is the appeal's decision."""

    time_ms: int
    key: AppealKey
    statement: str


ReportEvent = (
    ContributionEvent
    | RemovalEvent
    | MatchEvent
    | OpinionEvent
    | AppealEvent
    | DecisionEvent
    | NoticeEvent
    | ArrivalEvent
    | StatementEvent
    | ComplaintEvent
)


def resolution_events(resolution: AppealResolution, about: str = "") -> list[ReportEvent]:
    """The appeal (or dispute case) and, once decided, its effective decision."""
    events: list[ReportEvent] = [
        AppealEvent(resolution.appealed_at_ms, resolution.appellant, resolution.key, about, resolution.dispute)
    ]
    if resolution.effective is not None:
        decision = resolution.effective
        events.append(
            DecisionEvent(decision.timestamp_ms, resolution.key, decision.item.outcome, decision.item.decided_as)
        )
    return events


class DuplicateDecision(InvalidArgument):
    """Two effective decisions for one appeal: the input was not resolved with `deadlines.resolve`."""


# --- the report ---------------------------------------------------------------------------------------------


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
class Chart:
    chart_id: str
    title: str
    rows: tuple[tuple[str, int], ...]
    over_time: bool = False  # columns over a time axis, else horizontal bars


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]


@dataclass(frozen=True)
class Section:
    """One part of a report: its figures (JSON values), where they come from, and how the page shows them."""

    key: str
    title: str
    source: str
    figures: dict[str, object]
    lines: tuple[str, ...] = ()  # sentences for people, above the charts
    charts: tuple[Chart, ...] = ()
    tables: tuple[Table, ...] = ()


@dataclass(frozen=True)
class TransparencyReport:
    issuer: str
    period: Period
    as_of_ms: int  # events after it are not counted; outcomes are as they stood then
    sections: tuple[Section, ...] = field(default_factory=tuple)
    contact: str = ""  # the issuer's point of contact (from the roster)

    def section(self, key: str) -> Section:
        return next(s for s in self.sections if s.key == key)


@dataclass(frozen=True)
class ReportInput:
    """The events of a report by type, those after `as_of_ms` already dropped."""

    issuer: str
    period: Period
    as_of_ms: int
    events: Mapping[type, Sequence[ReportEvent]]

    def of(self, kind: type[ReportEvent], *, in_period: bool = True) -> list[ReportEvent]:
        found = self.events.get(kind, [])
        return [e for e in found if e.time_ms in self.period] if in_period else list(found)


SectionBuilder = Callable[[ReportInput], Section]


# --- figures ------------------------------------------------------------------------------------------------


def _listing(counter: Counter[str]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(counter.items())) or "none"


def _sorted_counts(counter: Counter[str]) -> dict[str, int]:
    return {key: counter[key] for key in sorted(counter)}


def _nearest_rank(ordered: Sequence[int], percent: int) -> int:
    rank = max(1, -(-percent * len(ordered) // 100))  # ceil(percent/100 * n)
    return ordered[rank - 1]


def _bucket_of(value: int, bounds: Sequence[tuple[int | None, str]]) -> str:
    return next(name for bound, name in bounds if bound is None or value < bound)


def distribution(
    values: Iterable[int], bounds: Sequence[tuple[int | None, str]] = DURATION_BUCKETS
) -> dict[str, object]:
    """count, median, p90 (nearest rank), max, and a count per bucket; null figures when there are none."""
    ordered = sorted(values)
    buckets = dict.fromkeys((name for _, name in bounds), 0)
    for value in ordered:
        buckets[_bucket_of(value, bounds)] += 1
    return {
        "count": len(ordered),
        "median_ms": _nearest_rank(ordered, 50) if ordered else None,
        "p90_ms": _nearest_rank(ordered, 90) if ordered else None,
        "max_ms": ordered[-1] if ordered else None,
        "buckets": [{"range": name, "count": count} for name, count in buckets.items()],
    }


def _buckets_rows(dist: Mapping[str, object]) -> tuple[tuple[str, int], ...]:
    rows = dist["buckets"]
    assert isinstance(rows, list)
    return tuple((str(b["range"]), int(b["count"])) for b in rows)


def granularity(period: Period) -> str:
    length = period.end_ms - period.start_ms
    if length <= MAX_HOURLY_DAYS * DAY_MS:
        return "hour"
    return "day" if length <= MAX_DAILY_DAYS * DAY_MS else "month"


_LAYOUT = {"hour": "%Y-%m-%dT%H:00", "day": "%Y-%m-%d", "month": "%Y-%m"}
_STEP = {"hour": timedelta(hours=1), "day": timedelta(days=1), "month": timedelta(days=1)}


def _bucket(time_ms: int, unit: str) -> str:
    return datetime.fromtimestamp(time_ms // 1000, UTC).strftime(_LAYOUT[unit])


def time_axis(period: Period, unit: str) -> list[str]:
    """Every bucket of the period, so quiet hours, days or months show as zero."""
    moment = datetime.fromtimestamp(period.start_ms // 1000, UTC)
    end = datetime.fromtimestamp((period.end_ms - 1) // 1000, UTC)
    keys: list[str] = []
    while moment <= end:
        key = _bucket(int(moment.timestamp()) * 1000, unit)
        if not keys or keys[-1] != key:
            keys.append(key)
        moment += _STEP[unit]
    last = _bucket(period.end_ms - 1, unit)
    if keys[-1] != last:  # a period ending mid-step
        keys.append(last)
    return keys


def _outcomes(
    appeals: Sequence[AppealEvent], decided: Mapping[AppealKey, DecisionEvent]
) -> dict[str, object]:
    """How the appeals of a cohort stood as of the report: received, upheld, overturned, pending."""
    outcomes = Counter(decided[a.key].outcome.label for a in appeals if a.key in decided)
    return {
        "received": len(appeals),
        "upheld": outcomes["upheld"],
        "overturned": outcomes["overturned"],
        "pending": sum(1 for a in appeals if a.key not in decided),
    }


def _decisions(events: Sequence[ReportEvent]) -> dict[AppealKey, DecisionEvent]:
    decided: dict[AppealKey, DecisionEvent] = {}
    for decision in events:
        assert isinstance(decision, DecisionEvent)
        if decision.key in decided:
            raise DuplicateDecision("decisions", f"two for appeal {decision.key.short()}", "one effective decision")
        decided[decision.key] = decision
    return decided


def _time_to_decision(appeals: Sequence[AppealEvent], decided: Mapping[AppealKey, DecisionEvent]) -> dict[str, object]:
    return distribution(decided[a.key].time_ms - a.time_ms for a in appeals if a.key in decided)


# --- sections -----------------------------------------------------------------------------------------------


def contributions_section(data: ReportInput) -> Section:
    mine = [e for e in data.of(ContributionEvent) if isinstance(e, ContributionEvent) and e.member == data.issuer]
    removed = [e for e in data.of(RemovalEvent) if isinstance(e, RemovalEvent) and e.member == data.issuer]
    by_label: Counter[str] = Counter(label for e in mine for label in e.labels)
    by_type: Counter[str] = Counter(e.signal_type for e in mine if e.signal_type)
    how = Counter(e.how for e in removed)
    removals = {"retracted": how["retracted"], "overturned": how["overturned"]}
    to_removal = distribution(e.time_ms - e.contributed_ms for e in removed)
    figures: dict[str, object] = {
        "records": len(mine),
        "by_label": _sorted_counts(by_label),
        "by_signal_type": _sorted_counts(by_type),
        "removed": removals,
        "time_to_removal": to_removal,
    }
    return Section(
        "contributions",
        "Contributions and removals",
        SIGNED,
        figures,
        (
            f"Records contributed by {data.issuer}: {len(mine)} (a record with two labels counts under each); by "
            f"signal type: {_listing(by_type)}.",
            f"Of its records, stopped matching for good: {len(removed)} ({removals['retracted']} retracted by "
            f"{data.issuer}, {removals['overturned']} overturned on appeal or dispute).",
        ),
        (
            Chart("chart-contributions-label", "Records contributed, by label", tuple(by_label.items())),
            Chart("chart-removals", "Records removed, by how", tuple(removals.items())),
            Chart(
                "chart-time-to-removal",
                "Time from contribution to removal",
                _buckets_rows(to_removal),
            ),
        ),
    )


def matches_section(data: ReportInput) -> Section:
    matches = [e for e in data.of(MatchEvent) if isinstance(e, MatchEvent)]
    notices = [e for e in data.of(NoticeEvent) if isinstance(e, NoticeEvent)]
    unit = granularity(data.period)
    over_time = dict.fromkeys(time_axis(data.period, unit), 0)
    for match in matches:
        over_time[_bucket(match.time_ms, unit)] += 1
    cleared = sum(1 for n in notices if n.cleared)
    contents = len({m.content for m in matches})
    by_type: Counter[str] = Counter(m.signal_type for m in matches if m.signal_type)
    figures: dict[str, object] = {
        "lookup_hits": len(matches),
        "by_signal_type": _sorted_counts(by_type),
        "distinct_contents": contents,
        "granularity": unit,
        "over_time": [{"period": k, "count": v} for k, v in over_time.items()],
        "reinstatement_notices": {"issued": len(notices), "cleared": cleared, "to_review": len(notices) - cleared},
    }
    return Section(
        "matches",
        "Matches on this node",
        MATCH_LOG,
        figures,
        (
            f"Distinct contents matched: {contents} (lookup hits: {len(matches)}; a content matching two records, "
            f"or looked up twice, counts once). Lookup hits by signal type of the record matched: "
            f"{_listing(by_type)}.",
            f"Reinstatement notices, for content matched against records since removed: {len(notices)} "
            f"({cleared} with no other match left, {len(notices) - cleared} to review).",
        ),
        (Chart("chart-matches", f"Lookup hits per {unit}", tuple(over_time.items()), over_time=True),),
    )


def disputes_section(data: ReportInput) -> Section:
    opinions = [e for e in data.of(OpinionEvent) if isinstance(e, OpinionEvent)]
    cases = [e for e in data.of(AppealEvent) if isinstance(e, AppealEvent) and e.dispute]
    decided = _decisions(data.of(DecisionEvent, in_period=False))

    def stances(events: Iterable[OpinionEvent]) -> dict[str, int]:
        counted = Counter(e.stance.label for e in events)
        return {s.label: counted[s.label] for s in Stance}

    by_me = stances(o for o in opinions if o.member == data.issuer)
    about_me = stances(o for o in opinions if o.about == data.issuer and o.member != data.issuer)
    my_cases = [c for c in cases if c.about == data.issuer]
    figures: dict[str, object] = {
        "filed_by_me": by_me,
        "about_my_records": about_me,
        "cases_about_my_records": _outcomes(my_cases, decided),
        "cases_opened_by_my_reports": sum(1 for c in cases if c.member == data.issuer),
    }
    return Section(
        "disputes",
        "Disputes: opinions on records",
        SIGNED,
        figures,
        (
            f"Opinions {data.issuer} filed on other members' records: {sum(by_me.values())}; opinions other "
            f"members filed on records {data.issuer} contributed: {sum(about_me.values())}.",
            f"Dispute cases opened about its records (false-positive reports reaching the consortium's quorum): "
            f"{len(my_cases)}.",
        ),
        (
            Chart("chart-disputes-filed", f"Opinions filed by {data.issuer}", tuple(by_me.items())),
            Chart("chart-disputes-about", f"Opinions about records of {data.issuer}", tuple(about_me.items())),
        ),
    )


def appeals_section(data: ReportInput) -> Section:
    appeals = [e for e in data.of(AppealEvent) if isinstance(e, AppealEvent) and not e.dispute]
    decided = _decisions(data.of(DecisionEvent, in_period=False))
    filed = [a for a in appeals if a.member == data.issuer]
    about = [a for a in appeals if a.about == data.issuer]
    about_outcomes = _outcomes(about, decided)
    decided_about = [decided[a.key] for a in about if a.key in decided]
    by_whom = {d.label: sum(1 for e in decided_about if e.decided_as is d) for d in DecidedAs}
    overturned = about_outcomes["overturned"]
    assert isinstance(overturned, int)
    rate = round(overturned / len(decided_about), 4) if decided_about else None
    to_decision = _time_to_decision(about, decided)
    figures: dict[str, object] = {
        "filed_by_me": {**_outcomes(filed, decided), "time_to_decision": _time_to_decision(filed, decided)},
        "about_my_records": {
            **about_outcomes,
            "decided_by": by_whom,
            "overturn_rate": rate,
            "time_to_decision": to_decision,
        },
    }
    filed_outcomes = _outcomes(filed, decided)
    shown = "n/a" if rate is None else f"{rate * 100:.1f}%"
    return Section(
        "appeals",
        "Appeals and outcomes",
        SIGNED,
        figures,
        (
            f"Appeals {data.issuer} received from its users and filed: {len(filed)}; appeals members filed about "
            f"records {data.issuer} contributed: {len(about)} (overturn rate {shown}). Appeals of the period, "
            "outcomes as of the report's time.",
        ),
        (
            Chart(
                "chart-appeals-filed",
                f"Appeals filed by {data.issuer}, by outcome",
                tuple((k, int(str(filed_outcomes[k]))) for k in ("upheld", "overturned", "pending")),
            ),
            Chart(
                "chart-appeals-about",
                f"Appeals about records of {data.issuer}, by outcome",
                tuple((k, int(str(about_outcomes[k]))) for k in ("upheld", "overturned", "pending")),
            ),
            Chart("chart-time-to-decision", "Time from appeal to decision (appeals about its records)",
                  _buckets_rows(to_decision)),
        ),
        (Table(("decided by", "decisions"), tuple(by_whom.items())),),
    )


def availability_section(data: ReportInput) -> Section:
    arrivals = [e for e in data.of(ArrivalEvent) if isinstance(e, ArrivalEvent)]
    skew = sum(1 for a in arrivals if a.arrived_ms < a.contributed_ms)
    latencies = [max(0, a.arrived_ms - a.contributed_ms) for a in arrivals]
    by_source: dict[str, list[int]] = {}
    for arrival, latency in zip(arrivals, latencies, strict=True):
        by_source.setdefault(arrival.source, []).append(latency)
    overall = distribution(latencies, LATENCY_BUCKETS)
    sources = {m: distribution(v, LATENCY_BUCKETS) for m, v in sorted(by_source.items())}
    figures: dict[str, object] = {
        "entries": len(arrivals),
        "latency": overall,
        "negative_latency": skew,
        "by_source": {m: {k: v for k, v in d.items() if k != "buckets"} for m, d in sources.items()},
    }
    rows = tuple(
        (member, d["count"], d["median_ms"], d["p90_ms"], d["max_ms"]) for member, d in sources.items()
    )
    return Section(
        "availability",
        "Time from contribution to availability on this node",
        ARRIVALS,
        figures,
        (
            f"Contributions of other members that reached {data.issuer}'s node: {len(arrivals)}; of these, "
            f"timestamped after their arrival (clock skew, counted as 0): {skew}.",
        ),
        (Chart("chart-latency", "Time from contribution to arrival", _buckets_rows(overall)),),
        (Table(("from member", "entries", "median ms", "p90 ms", "max ms"), rows),),
    )


_AUTOMATION = ("fully", "partially", "not_automated")
_SOURCES = ("voluntary", "article_16", "trusted_flagger", "other_notification")


def tco_section(data: ReportInput) -> Section:
    """Regulation (EU) 2021/784 Art. 7(3): measures, removals, complaints and their outcomes, reinstatements,
    for the platform's decisions on terrorist content. What hashnode does not record (removal orders and their
    execution, review proceedings) is null, and the section says so."""
    statements = [
        e for e in data.of(StatementEvent) if isinstance(e, StatementEvent) and e.terrorist and not e.superseded
    ]
    every = {e.statement: e for e in data.of(StatementEvent, in_period=False) if isinstance(e, StatementEvent)}
    removals = [e for e in statements if e.removal]
    complaints = [
        e
        for e in data.of(ComplaintEvent)
        if isinstance(e, ComplaintEvent) and e.statement in every and every[e.statement].terrorist
    ]
    decided = _decisions(data.of(DecisionEvent, in_period=False))
    answered = [decided[c.key].time_ms - c.time_ms for c in complaints if c.key in decided]
    outcomes = Counter(decided[c.key].outcome.label for c in complaints if c.key in decided)
    overturned = {c.statement for c in complaints if c.key in decided and decided[c.key].outcome is Outcome.OVERTURNED}
    reinstated = {s for s in overturned if 0 < every[s].withdrawn_ms <= data.as_of_ms}
    automation = Counter(e.automated for e in statements)
    source = Counter(e.source for e in removals)
    within = sum(1 for ms in answered if ms <= TWO_WEEKS_MS)
    figures: dict[str, object] = {
        "decisions": len(statements),
        "decisions_by_automation": {a: automation[a] for a in _AUTOMATION},
        "removed_or_disabled": len(removals),
        "removed_or_disabled_by_source": {s: source[s] for s in _SOURCES},
        "removal_orders": None,
        "removal_orders_not_executed": None,
        "complaints": {
            "received": len(complaints),
            "upheld": outcomes["upheld"],
            "overturned": outcomes["overturned"],
            "pending": len(complaints) - len(answered),
            "decided_within_two_weeks": within,
            "time_to_decision": distribution(answered),
        },
        "reinstated_after_complaint": len(reinstated),
        "overturned_not_yet_reinstated": len(overturned - reinstated),
        "review_proceedings": None,
        "reinstated_after_review": None,
    }
    return Section(
        "tco",
        "Terrorist content online (Regulation (EU) 2021/784, Art. 7)",
        STATEMENTS,
        figures,
        (
            "(a), (b) Measures: uploads are checked by automated hash matching (perceptual and file hashes) "
            "against the consortium's shared database of terrorist content, which also finds material that "
            f"reappears after its removal. Decisions on terrorist content with a statement of reasons: "
            f"{len(statements)} ({automation['fully']} fully automated, {automation['partially']} automated and "
            f"reviewed by a person, {automation['not_automated']} taken by a person).",
            f"(c) Items removed or disabled: {len(removals)}. Removal orders (Art. 3) and those not executed are "
            "not recorded here: take them from the platform's own records.",
            f"(d) Complaints (appeals filed from a statement): {len(complaints)}; upheld {outcomes['upheld']}, "
            f"overturned {outcomes['overturned']}, pending {len(complaints) - len(answered)}; decided within two "
            f"weeks: {within}.",
            "(e), (f) Administrative or judicial review proceedings, and reinstatements they ordered, are not "
            "recorded here.",
            f"(g) Reinstated after a complaint: {len(reinstated)}; overturned but not yet reinstated: "
            f"{len(overturned - reinstated)}. A TCO report covers a calendar year (Art. 7(2)): build it for "
            "1 January to 31 December and publish it before 1 March.",
        ),
        (
            Chart(
                "chart-tco-complaints",
                "Complaints about removals of terrorist content, by outcome",
                (
                    ("upheld", outcomes["upheld"]),
                    ("overturned", outcomes["overturned"]),
                    ("pending", len(complaints) - len(answered)),
                ),
            ),
        ),
        (
            Table(("decisions taken", "statements"), tuple((a, automation[a]) for a in _AUTOMATION)),
            Table(("removals led by", "items"), tuple((s, source[s]) for s in _SOURCES)),
        ),
    )


# The sections of a report, in order. A new section is a function here (and the events it needs).
SECTIONS: list[SectionBuilder] = [
    contributions_section,
    matches_section,
    disputes_section,
    appeals_section,
    availability_section,
    tco_section,
]


def build_report(
    events: Iterable[ReportEvent],
    period: Period,
    *,
    issuer: str,
    contact: str = "",
    as_of_ms: int | None = None,
) -> TransparencyReport:
    """Aggregates the events of `period` (arrivals by arrival time) as they stood at `as_of_ms` (default: the
    end of the period): events after it are not counted, and appeals still open then are pending.

    Raises:
        DuplicateDecision: two decision events name the same appeal.
        InvalidArgument: `as_of_ms` is before the period starts.
    """
    as_of = period.end_ms if as_of_ms is None else as_of_ms
    if as_of < period.start_ms:
        raise InvalidArgument("as_of", as_of, f">= the period's start {period.start_ms}")
    grouped: dict[type, list[ReportEvent]] = {}
    for event in events:
        if event.time_ms <= as_of:
            grouped.setdefault(type(event), []).append(event)
    for kind in grouped:  # a deterministic order whatever order the events came in
        grouped[kind].sort(key=repr)
    data = ReportInput(issuer, period, as_of, grouped)
    return TransparencyReport(issuer, period, as_of, tuple(build(data) for build in SECTIONS), contact)


# --- JSON and CSV -------------------------------------------------------------------------------------------


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def to_dict(report: TransparencyReport) -> dict[str, object]:
    """The report as plain JSON values. Ordered lists keep the order of buckets and time."""
    return {
        "format": FORMAT,
        "issuer": report.issuer,
        "contact": report.contact,
        "period": {"start": _iso(report.period.start_ms), "end": _iso(report.period.end_ms)},
        "as_of": _iso(report.as_of_ms),
        "sections": {s.key: {"title": s.title, "source": s.source, **s.figures} for s in report.sections},
    }


def to_json(report: TransparencyReport) -> str:
    return json.dumps(to_dict(report), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _flatten(prefix: tuple[str, ...], value: object) -> Iterable[tuple[tuple[str, ...], object]]:
    if isinstance(value, Mapping):
        for key in sorted(value):
            yield from _flatten((*prefix, str(key)), value[key])
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, Mapping) and len(item) == 2 and "count" in item:
                label = next(str(v) for k, v in item.items() if k != "count")
                yield (*prefix, label), item["count"]
            else:
                yield from _flatten(prefix, item)
    else:
        yield prefix, value


def csv_rows(report: TransparencyReport) -> list[tuple[str, str, str, str]]:
    """(section, key, subkey, value) rows: one figure per row, for spreadsheets. Nested keys are joined
    with "." in `subkey`; a missing figure (e.g. a median of nothing) is an empty value."""
    rows = []
    for section in report.sections:
        for path, value in _flatten((), section.figures):
            shown = "" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)
            rows.append((section.key, path[0], ".".join(path[1:]), shown))
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


def _svg_open(chart_id: str, title: str, height: int) -> list[str]:
    # No xmlns attribute: the HTML5 parser puts inline <svg> in the SVG namespace itself, and the page stays
    # free of URLs.
    return [
        f'<svg id="{_e(chart_id)}" class="chart" role="img" aria-labelledby="{_e(chart_id)}-title" '
        f'width="{_CHART_WIDTH}" height="{height}" viewBox="0 0 {_CHART_WIDTH} {height}">',
        f'<title id="{_e(chart_id)}-title">{_e(title)}</title>',
    ]


def bar_chart(chart_id: str, title: str, rows: Sequence[tuple[str, int]]) -> str:
    """A horizontal bar chart as an inline SVG element, each bar its own colour, the value beside it."""
    height = max(1, len(rows)) * _BAR_HEIGHT + 30
    peak = max((v for _, v in rows), default=0) or 1
    span = _CHART_WIDTH - _LABEL_WIDTH - 60
    parts = _svg_open(chart_id, title, height)
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


def _tick_positions(count: int) -> list[int]:
    """Which columns get a label: all when few, else the first, the last and evenly spaced ones between, so
    labels never collide and a single column is labelled once."""
    if count <= 7:
        return list(range(count))
    step = -(-count // 6)
    picks = list(range(0, count - 1, step))
    if count - 1 - picks[-1] < step / 2:
        picks.pop()
    return [*picks, count - 1]


def _tick_label(name: str) -> str:
    """Short labels under the columns (hours as HH:00, days as MM-DD, months as YYYY-MM): the chart's caption
    line gives the full first and last bucket."""
    if "T" in name:
        return name.split("T", 1)[1]
    return name[5:] if len(name) == 10 else name


def column_chart(chart_id: str, title: str, rows: Sequence[tuple[str, int]]) -> str:
    """A vertical column chart over time, with a labelled value axis and time ticks that fit any length."""
    height, base, top = 240, 190, 20
    step = (_CHART_WIDTH - 60) / max(1, len(rows))
    gap = min(2.0, step / 4)
    peak = max((v for _, v in rows), default=0) or 1
    parts = _svg_open(chart_id, title, height)
    parts += [
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
    for i in _tick_positions(len(rows)):
        x = 40 + (i + 0.5) * step
        parts.append(
            f'<line x1="{x:.1f}" y1="{base}" x2="{x:.1f}" y2="{base + 4}" stroke="#444"/>'
            f'<text x="{x:.1f}" y="{base + 18}" text-anchor="middle">{_e(_tick_label(rows[i][0]))}</text>'
        )
    if rows:
        first, last = rows[0][0], rows[-1][0]
        span = first if first == last else f"{first} to {last}"
        parts.append(f'<text x="40" y="{base + 40}">{_e(span)} (UTC)</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(table: Table) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in table.headers)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td class=num>{_e('n/a' if v is None else v)}</td>" if i else f"<td>{_e(v)}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in table.rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _figure(chart: Chart) -> str:
    draw = column_chart if chart.over_time else bar_chart
    return f"<figure><figcaption>{_e(chart.title)}</figcaption>{draw(chart.chart_id, chart.title, chart.rows)}</figure>"


def _section_html(section: Section) -> str:
    return (
        f'<section id="{_e(section.key)}"><h2>{_e(section.title)}</h2>'
        f"<p class=source>Source: {_e(section.source)}.</p>"
        + "".join(f"<p>{_e(line)}</p>" for line in section.lines)
        + "".join(_figure(c) for c in section.charts)
        + "".join(_table(t) for t in section.tables)
        + "</section>"
    )


_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:760px;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ccc}
figure{margin:1em 0}figcaption{font-weight:bold;margin-bottom:.25em}
svg.chart{display:block;margin:.5em 0;font-size:12px}svg.chart text{fill:#222}
p.source{color:#555;font-size:.9em}
table{border-collapse:collapse;margin:.5em 0}
td,th{padding:2px 10px;border-bottom:1px solid #eee;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
"""
# Nothing may load: the page is read on machines that reach nothing outside.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def to_html(report: TransparencyReport) -> str:
    """One self-contained page: inline CSS and SVG, no script, no external reference of any kind."""
    period = f"{_iso(report.period.start_ms)} to {_iso(report.period.end_ms)}"
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        f"<title>Transparency report {_e(report.issuer)} {_e(period)}</title>"
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>Transparency report of {_e(report.issuer)}</h1>"
        f"<p>Period {_e(period)}; figures as of {_e(_iso(report.as_of_ms))}. Aggregate counts only: no record, "
        "hash, case or content is named.</p>"
        + (f"<p>Point of contact: {_e(report.contact)}</p>" if report.contact else "")
        + "".join(_section_html(s) for s in report.sections)
        + "</body></html>\n"
    )
