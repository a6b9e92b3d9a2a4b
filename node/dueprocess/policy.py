"""A member's local matching policy over the consortium's shared due-process history (docs/due-process.md,
"Local policy").

The history (opinions, appeals, decisions, retractions) is shared and signed; what a node does with it is each
member's own choice, configured in its node config. Two outcomes are not a choice: a retracted record and a
record overturned on appeal never match on any node. `evaluate` is pure: the ledger gathers the verified items
about a record and applies the verdict (docs/due-process.md, "Wiring").
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from node.core.errors import ConfigError
from node.core.retraction import RetractionItem
from node.dueprocess.deadlines import AppealResolution
from node.dueprocess.items import DecidedAs, DecisionItem, OpinionItem, Outcome, Stance, VerifiedItem
from node.membership.consortium_policy import QuarantineMode

ANY = "*"  # in accept_labels_from: as a member, any member not listed; as a label, every label
_KEYS = (
    "suspend_after_false_positive_reports",
    "min_endorsements",
    "trusted_flagger_preferred",
    "accept_labels_from",
)


@dataclass(frozen=True)
class PolicyConfig:
    """Local policy of one node (the `[policy]` table of its config).

    suspend_after_false_positive_reports: withhold a record once this many members report it as a false
        positive (0: reports never withhold).
    min_endorsements: a record matches only once this many other members endorsed it (0: none needed).
    trusted_flagger_preferred: contributions of trusted flaggers match without the endorsements.
    accept_labels_from: member → labels accepted from it; a record matches only if it has an accepted label.
        Members not listed (and no "*" entry) are unrestricted.
    """

    suspend_after_false_positive_reports: int = 0
    min_endorsements: int = 0
    trusted_flagger_preferred: bool = False
    accept_labels_from: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: Mapping[str, object], where: str = "policy") -> PolicyConfig:
        """Reads a parsed `[policy]` TOML table; errors name the field."""
        unknown = sorted(set(data) - set(_KEYS))
        if unknown:
            raise ConfigError(f"{where}: unknown keys {unknown}, want any of {', '.join(_KEYS)}")
        return cls(
            suspend_after_false_positive_reports=_count(data, "suspend_after_false_positive_reports", where),
            min_endorsements=_count(data, "min_endorsements", where),
            trusted_flagger_preferred=_flag(data, "trusted_flagger_preferred", where),
            accept_labels_from=_accept(data.get("accept_labels_from", {}), f"{where}.accept_labels_from"),
        )

    def to_mapping(self) -> dict[str, object]:
        """The `[policy]` table this config reads from (`from_mapping(to_mapping())` gives it back)."""
        return {
            "suspend_after_false_positive_reports": self.suspend_after_false_positive_reports,
            "min_endorsements": self.min_endorsements,
            "trusted_flagger_preferred": self.trusted_flagger_preferred,
            "accept_labels_from": {m: sorted(ls) for m, ls in sorted(self.accept_labels_from.items())},
        }

    def accepted_labels(self, member: str) -> frozenset[str] | None:
        """The labels accepted from `member`, or None when it is unrestricted."""
        labels = self.accept_labels_from.get(member, self.accept_labels_from.get(ANY))
        return None if labels is None or ANY in labels else labels


def _count(data: Mapping[str, object], key: str, where: str) -> int:
    value = data.get(key, 0)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigError(f"{where}.{key}: got {value!r}, want an integer >= 0")
    return value


def _flag(data: Mapping[str, object], key: str, where: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}.{key}: got {value!r}, want true or false")
    return value


def _accept(value: object, where: str) -> dict[str, frozenset[str]]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: got {value!r}, want a table of member = [labels]")
    accepted = {}
    for member, labels in value.items():
        if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
            raise ConfigError(f"{where}.{member}: got {labels!r}, want a list of label names")
        accepted[str(member)] = frozenset(labels)
    return accepted


@dataclass(frozen=True)
class RecordFacts:
    """What policy needs to know about the record itself (from its verified contribution and the
    membership)."""

    record_id: bytes
    author: str
    author_roles: tuple[str, ...]
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Evidence:
    """The verified items about one record. Appeals come resolved by `deadlines.resolve_record`."""

    opinions: Sequence[VerifiedItem[OpinionItem]] = ()
    appeals: Sequence[AppealResolution] = ()
    retractions: Sequence[VerifiedItem[RetractionItem]] = ()


class Standing(enum.StrEnum):
    ACTIVE = "active"
    DISPUTED = "disputed"  # a dispute case is open, the consortium quarantines in `mark` mode: matches, marked
    QUARANTINED = "quarantined"  # a dispute case is open, the consortium quarantines in `withhold` mode
    WITHHELD = "withheld"  # local policy: not matched on this node for now
    RETRACTED = "retracted"  # by its contributor: never matches
    OVERTURNED = "overturned"  # on appeal: never matches


@dataclass(frozen=True)
class Verdict:
    standing: Standing
    notes: tuple[str, ...]  # for the match response and the provenance view

    @property
    def matchable(self) -> bool:
        return self.standing in (Standing.ACTIVE, Standing.DISPUTED)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%MZ")


def latest_stances(
    record: RecordFacts, opinions: Sequence[VerifiedItem[OpinionItem]]
) -> dict[str, tuple[Stance, int]]:
    """Each member's latest opinion on the record as (stance, timestamp); the contributor's own do not
    count."""
    latest: dict[str, VerifiedItem[OpinionItem]] = {}
    for opinion in sorted(opinions, key=lambda o: (o.timestamp_ms, o.entry_id)):
        if opinion.author != record.author and opinion.item.record_id == record.record_id:
            latest[opinion.author] = opinion
    return {member: (o.item.stance, o.timestamp_ms) for member, o in latest.items()}


def _final(record: RecordFacts, evidence: Evidence) -> Verdict | None:
    """Retraction and overturning end a record's matching on every node, whatever the local policy."""
    if any(r.author == record.author and r.item.record_id == record.record_id for r in evidence.retractions):
        return Verdict(Standing.RETRACTED, ("retracted by its contributor",))
    for appeal in evidence.appeals:
        if appeal.outcome is Outcome.OVERTURNED and appeal.effective is not None:
            on = "on dispute" if appeal.dispute else "on appeal"
            return Verdict(Standing.OVERTURNED, (f"overturned {on} by the {_by(appeal.effective)}",))
    return None


def _by(decision: VerifiedItem[DecisionItem]) -> str:
    """Who decided: "contributor platform-a", "steward steward-1", "stewards (published by platform-c)"."""
    if decision.item.decided_as is DecidedAs.STEWARDS:
        return f"stewards (published by {decision.author})"
    return f"{decision.item.decided_as.label} {decision.author}"


def _appeal_notes(evidence: Evidence) -> list[str]:
    notes = []
    for appeal in evidence.appeals:
        what = "dispute case" if appeal.dispute else "appeal"
        if appeal.effective is not None:
            notes.append(f"{what} upheld by the {_by(appeal.effective)}")
        else:
            notes.append(f"{what} pending; stewards may decide from {_iso(appeal.deadline_ms)}")
    return notes


def _quarantine(evidence: Evidence, mode: QuarantineMode) -> Verdict | None:
    """An open dispute case quarantines the record, as the consortium's policy says."""
    open_cases = [a for a in evidence.appeals if a.dispute and a.pending]
    if not open_cases:
        return None
    opened = open_cases[0]
    if mode is QuarantineMode.WITHHOLD:
        note = f"quarantined: disputed as a false positive (case opened by {opened.appellant}) — withheld until decided"
        return Verdict(Standing.QUARANTINED, (note,))
    note = f"disputed: reported as a false positive (case opened by {opened.appellant}), pending a decision"
    return Verdict(Standing.DISPUTED, (note,))


def _reviewed_until(evidence: Evidence) -> int:
    """Reports up to the latest upheld decision were reviewed by it; only later reports count."""
    upheld = [
        a.effective.timestamp_ms for a in evidence.appeals if a.effective and a.outcome is Outcome.UPHELD
    ]
    return max(upheld, default=-1)


def _report_rule(record: RecordFacts, evidence: Evidence, config: PolicyConfig) -> tuple[bool, list[str]]:
    stances = latest_stances(record, evidence.opinions)
    since = _reviewed_until(evidence)
    reports = sum(1 for s, t in stances.values() if s is Stance.FALSE_POSITIVE and t > since)
    disagree = sum(1 for s, _ in stances.values() if s is Stance.DISAGREE)
    notes = [f"{_plural(disagree, 'member')} disagree{'s' if disagree == 1 else ''}"] if disagree else []
    threshold = config.suspend_after_false_positive_reports
    if threshold and reports >= threshold:
        noun = _plural(reports, "false-positive report")
        return True, [*notes, f"policy: {noun} ≥ {threshold} — withheld until reviewed"]
    if reports:
        notes.append(
            _plural(reports, "false-positive report") + (f" (withheld at {threshold})" if threshold else "")
        )
    return False, notes


def _endorsement_rule(
    record: RecordFacts, evidence: Evidence, config: PolicyConfig
) -> tuple[bool, list[str]]:
    trusted = "trusted_flagger" in record.author_roles
    notes = ["trusted flagger contribution"] if trusted else []
    wanted = config.min_endorsements
    count = sum(1 for s, _ in latest_stances(record, evidence.opinions).values() if s is Stance.AGREE)
    if count:
        notes.append(f"endorsed by {_plural(count, 'member')}")
    if count >= wanted:
        return False, notes
    shortfall = f"policy: {_plural(count, 'endorsement')} < {wanted} required"
    if trusted and config.trusted_flagger_preferred:
        return False, [*notes, f"{shortfall} — waived for a trusted flagger"]
    return True, [*notes, f"{shortfall} — withheld"]


def _label_rule(record: RecordFacts, config: PolicyConfig) -> tuple[bool, list[str]]:
    accepted = config.accepted_labels(record.author)
    if accepted is None or accepted.intersection(record.labels):
        return False, []
    shown = ", ".join(record.labels) or "no labels"
    return True, [f"policy: labels {shown} from {record.author} not accepted by this node — withheld"]


def evaluate(
    record: RecordFacts, evidence: Evidence, config: PolicyConfig, quarantine: QuarantineMode = QuarantineMode.MARK
) -> Verdict:
    """Whether the record matches on this node, and the notes a match response carries. `quarantine` is the
    consortium's mode for records with an open dispute case."""
    final = _final(record, evidence)
    if final is not None:
        return final
    withheld = False
    notes: list[str] = []
    for rule_withholds, rule_notes in (
        _label_rule(record, config),
        _endorsement_rule(record, evidence, config),
        _report_rule(record, evidence, config),
    ):
        withheld = withheld or rule_withholds
        notes.extend(rule_notes)
    notes.extend(_appeal_notes(evidence))
    if withheld:
        return Verdict(Standing.WITHHELD, tuple(notes))
    quarantined = _quarantine(evidence, quarantine)
    if quarantined is not None:
        return Verdict(quarantined.standing, (*quarantined.notes, *notes))
    return Verdict(Standing.ACTIVE, tuple(notes))
