"""The due-process policy the whole consortium must agree on (docs/due-process.md, "Consortium policy").

Every node derives a record's consortium-wide standing from the same signed entries; for that, every node must
apply the same parameters: the appeal decision window, how many stewards sign a stewards' ruling, when
disputes quarantine a record, and what a quarantine does. They are therefore not node settings but a field of
the signed roster (docs/protocol.md, "Rosters": roster extension 1), and of consortium files for test
consortia. A member's own matching choices stay in its node's `[policy]` (node/dueprocess/policy.py).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from node.core.canonical import Reader, Writer
from node.core.errors import ConfigError, EncodingError, InvalidArgument

HOUR_MS = 3_600_000
# The consortium's appeal decision window (docs/due-process.md, "Deciding appeals"): a consortium parameter,
# the same on every node, or nodes would disagree on which steward decisions are valid.
DEFAULT_DECISION_WINDOW_MS = 72 * HOUR_MS
MAX_DECISION_WINDOW_MS = 365 * 24 * HOUR_MS
MAX_QUORUM = 1000


class QuarantineMode(enum.IntEnum):
    MARK = 1  # a quarantined record still matches; every hit is marked `disputed`
    WITHHOLD = 2  # a quarantined record does not match until its case is decided

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str, field: str) -> QuarantineMode:
        """Raises: InvalidArgument naming `field`."""
        try:
            return cls[text.upper()]
        except KeyError:
            raise InvalidArgument(field, text, "mark or withhold") from None


@dataclass(frozen=True)
class ConsortiumPolicy:
    """decision_window_ms: the contributor decides an appeal alone for this long; stewards may decide after.
    steward_quorum: distinct stewards whose signatures a stewards' ruling needs (1: one steward may rule).
    dispute_quorum: members (not the contributor) whose latest opinion is `false_positive` that quarantine a
        record and open a case (0: disputes never quarantine).
    trusted_flagger_disputes: one trusted flagger's false-positive report quarantines on its own.
    quarantine: what a quarantine does to matching (mark the hits, or withhold the record).
    """

    decision_window_ms: int = DEFAULT_DECISION_WINDOW_MS
    steward_quorum: int = 1
    dispute_quorum: int = 0
    trusted_flagger_disputes: bool = False
    quarantine: QuarantineMode = QuarantineMode.MARK

    def __post_init__(self) -> None:
        object.__setattr__(self, "quarantine", QuarantineMode(self.quarantine))
        if not 0 <= self.decision_window_ms <= MAX_DECISION_WINDOW_MS:
            raise InvalidArgument("decision_window_ms", self.decision_window_ms, f"0..{MAX_DECISION_WINDOW_MS}")
        if not 1 <= self.steward_quorum <= MAX_QUORUM:
            raise InvalidArgument("steward_quorum", self.steward_quorum, f"1..{MAX_QUORUM}")
        if not 0 <= self.dispute_quorum <= MAX_QUORUM:
            raise InvalidArgument("dispute_quorum", self.dispute_quorum, f"0..{MAX_QUORUM}")

    @property
    def quarantines(self) -> bool:
        """Whether disputes can quarantine a record at all."""
        return self.dispute_quorum > 0 or self.trusted_flagger_disputes

    def encode(self) -> bytes:
        """The value of roster extension 1 (docs/protocol.md, "Rosters")."""
        return (
            Writer()
            .u64(self.decision_window_ms)
            .u16(self.steward_quorum)
            .u16(self.dispute_quorum)
            .u8(1 if self.trusted_flagger_disputes else 0)
            .u8(self.quarantine)
            .getvalue()
        )

    @classmethod
    def decode(cls, data: bytes) -> ConsortiumPolicy:
        """Raises: EncodingError (truncated, trailing bytes, a flag other than 0/1, an unknown mode, a value
        out of range)."""
        reader = Reader(data, "due-process policy")
        window, steward_quorum, dispute_quorum = reader.u64(), reader.u16(), reader.u16()
        flag, mode = reader.u8(), reader.u8()
        reader.end()
        if flag not in (0, 1):
            raise EncodingError(f"due-process policy: trusted_flagger_disputes: got {flag}, want 0 or 1")
        if mode not in tuple(QuarantineMode):
            raise EncodingError(f"due-process policy: quarantine: got {mode}, want 1 or 2")
        try:
            return cls(window, steward_quorum, dispute_quorum, bool(flag), QuarantineMode(mode))
        except InvalidArgument as exc:
            raise EncodingError(f"due-process policy: {exc.message}") from None

    def to_mapping(self) -> dict[str, object]:
        """As shown to people and in consortium files (`from_mapping(to_mapping())` gives it back)."""
        return {
            "decision_window_hours": self.decision_window_ms / HOUR_MS,
            "steward_quorum": self.steward_quorum,
            "dispute_quorum": self.dispute_quorum,
            "trusted_flagger_disputes": self.trusted_flagger_disputes,
            "quarantine": self.quarantine.label,
        }

    @classmethod
    def from_mapping(cls, data: Mapping[str, object], where: str) -> ConsortiumPolicy:
        """Reads the keys of a consortium file (all optional; other keys are the caller's).

        Raises:
            ConfigError: a value is wrong; the message names the key.
        """
        hours = data.get("decision_window_hours", DEFAULT_DECISION_WINDOW_MS / HOUR_MS)
        if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not 0 <= hours <= 24 * 365:
            raise ConfigError(f"{where}: decision_window_hours: got {hours!r}, want 0..8760 hours")
        flag = data.get("trusted_flagger_disputes", False)
        if not isinstance(flag, bool):
            raise ConfigError(f"{where}: trusted_flagger_disputes: got {flag!r}, want true or false")
        mode = data.get("quarantine", "mark")
        try:
            return cls(
                decision_window_ms=round(hours * HOUR_MS),
                steward_quorum=_count(data, "steward_quorum", 1, where),
                dispute_quorum=_count(data, "dispute_quorum", 0, where),
                trusted_flagger_disputes=flag,
                quarantine=QuarantineMode.parse(str(mode), "quarantine"),
            )
        except InvalidArgument as exc:
            raise ConfigError(f"{where}: {exc.message}") from None


def _count(data: Mapping[str, object], key: str, default: int, where: str) -> int:
    value = data.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{where}: {key}: got {value!r}, want an integer")
    return value
