"""A member's local matching policy over disputes, endorsements, trusted flaggers, appeals and retractions
(docs/due-process.md, "Local policy")."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from node.core.errors import ConfigError
from node.core.retraction import RetractionItem
from node.dueprocess.deadlines import AppealResolution, DecisionAuthority, resolve
from node.dueprocess.items import (
    AppealItem,
    DecidedAs,
    DecisionItem,
    OpinionItem,
    Outcome,
    Stance,
    VerifiedItem,
)
from node.dueprocess.policy import Evidence, PolicyConfig, RecordFacts, Standing, evaluate

H = 3_600_000
T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z
RID = b"\x01" * 32
OTHER_RID = b"\x02" * 32
AUTHOR = "platform-a"
STEWARD = "steward-1"
AUTHORITY = DecisionAuthority(AUTHOR, frozenset({STEWARD}))
APPEAL_ENTRY = b"\xaa" * 32

FP, AGREE, DISAGREE = Stance.FALSE_POSITIVE, Stance.AGREE, Stance.DISAGREE

_tags = iter(range(1, 10_000))


def op(member: str, stance: Stance, at_h: float = 1, rid: bytes = RID) -> VerifiedItem[OpinionItem]:
    tag = next(_tags).to_bytes(32, "big")
    return VerifiedItem(member, T0 + int(at_h * H), tag, OpinionItem(rid, stance, "", ""))


def appeal(*decisions: tuple[str, float, Outcome, DecidedAs]) -> AppealResolution:
    """An appeal at T0 with decisions (author, hours after T0, outcome, capacity), resolved."""
    verified = VerifiedItem("platform-b", T0, APPEAL_ENTRY, AppealItem(RID, "CASE-1"))
    items = [
        VerifiedItem(
            a, T0 + int(h * H), next(_tags).to_bytes(32, "big"), DecisionItem(RID, APPEAL_ENTRY, o, "", d)
        )
        for a, h, o, d in decisions
    ]
    return resolve(verified, items, AUTHORITY)


def retraction(member: str) -> VerifiedItem[RetractionItem]:
    return VerifiedItem(member, T0, b"\xee" * 32, RetractionItem(RID, "mistake"))


def record(*roles: str, labels: tuple[str, ...] = ("tvec.propaganda",)) -> RecordFacts:
    return RecordFacts(RID, AUTHOR, roles or ("contributor",), labels)


WITHHOLD_AT_2 = PolicyConfig(suspend_after_false_positive_reports=2)
NEED_2 = PolicyConfig(min_endorsements=2)
NEED_2_TF = PolicyConfig(min_endorsements=2, trusted_flagger_preferred=True)
FP_WITHHELD = "policy: 2 false-positive reports ≥ 2 — withheld until reviewed"


@dataclass(frozen=True)
class Case:
    name: str
    config: PolicyConfig
    evidence: Evidence
    standing: Standing
    notes: tuple[str, ...]
    record: RecordFacts = field(default_factory=record)


CASES = [
    Case("no history matches under the default policy", PolicyConfig(), Evidence(), Standing.ACTIVE, ()),
    # --- disputes
    Case(
        "two false-positive reports withhold under threshold 2",
        WITHHOLD_AT_2,
        Evidence(opinions=[op("b", FP), op("c", FP)]),
        Standing.WITHHELD,
        (FP_WITHHELD,),
    ),
    Case(
        "one report does not withhold",
        WITHHOLD_AT_2,
        Evidence(opinions=[op("b", FP)]),
        Standing.ACTIVE,
        ("1 false-positive report (withheld at 2)",),
    ),
    Case(
        "reports never withhold when the threshold is 0",
        PolicyConfig(),
        Evidence(opinions=[op("b", FP), op("c", FP), op("d", FP)]),
        Standing.ACTIVE,
        ("3 false-positive reports",),
    ),
    Case(
        "reports by the contributor itself do not count",
        WITHHOLD_AT_2,
        Evidence(opinions=[op(AUTHOR, FP), op("b", FP)]),
        Standing.ACTIVE,
        ("1 false-positive report (withheld at 2)",),
    ),
    Case(
        "duplicate reports by the same member count once",
        WITHHOLD_AT_2,
        Evidence(opinions=[op("b", FP, 1), op("b", FP, 2)]),
        Standing.ACTIVE,
        ("1 false-positive report (withheld at 2)",),
    ),
    Case(
        "a member's later endorsement replaces its report",
        WITHHOLD_AT_2,
        Evidence(opinions=[op("b", FP, 1), op("c", FP, 1), op("b", AGREE, 2)]),
        Standing.ACTIVE,
        ("endorsed by 1 member", "1 false-positive report (withheld at 2)"),
    ),
    Case(
        "reports about another record do not count",
        WITHHOLD_AT_2,
        Evidence(opinions=[op("b", FP), op("c", FP, rid=OTHER_RID)]),
        Standing.ACTIVE,
        ("1 false-positive report (withheld at 2)",),
    ),
    Case(
        "a disagreement is noted and does not withhold",
        WITHHOLD_AT_2,
        Evidence(opinions=[op("b", DISAGREE)]),
        Standing.ACTIVE,
        ("1 member disagrees",),
    ),
    # --- endorsements
    Case(
        "endorsements below minimum withhold",
        NEED_2,
        Evidence(opinions=[op("b", AGREE)]),
        Standing.WITHHELD,
        ("endorsed by 1 member", "policy: 1 endorsement < 2 required — withheld"),
    ),
    Case(
        "endorsements at the minimum match",
        NEED_2,
        Evidence(opinions=[op("b", AGREE), op("c", AGREE)]),
        Standing.ACTIVE,
        ("endorsed by 2 members",),
    ),
    Case(
        "the contributor's own endorsement does not count",
        NEED_2,
        Evidence(opinions=[op(AUTHOR, AGREE), op("b", AGREE)]),
        Standing.WITHHELD,
        ("endorsed by 1 member", "policy: 1 endorsement < 2 required — withheld"),
    ),
    Case(
        "duplicate endorsements by the same member count once",
        NEED_2,
        Evidence(opinions=[op("b", AGREE, 1), op("b", AGREE, 2)]),
        Standing.WITHHELD,
        ("endorsed by 1 member", "policy: 1 endorsement < 2 required — withheld"),
    ),
    # --- trusted flaggers
    Case(
        "trusted flagger contribution matches despite missing endorsements when preferred",
        NEED_2_TF,
        Evidence(),
        Standing.ACTIVE,
        (
            "trusted flagger contribution",
            "policy: 0 endorsements < 2 required — waived for a trusted flagger",
        ),
        record("trusted_flagger"),
    ),
    Case(
        "trusted flagger contribution still needs endorsements when not preferred",
        NEED_2,
        Evidence(),
        Standing.WITHHELD,
        ("trusted flagger contribution", "policy: 0 endorsements < 2 required — withheld"),
        record("trusted_flagger"),
    ),
    Case(
        "trusted flagger preference does not override false-positive reports",
        PolicyConfig(suspend_after_false_positive_reports=2, trusted_flagger_preferred=True),
        Evidence(opinions=[op("b", FP), op("c", FP)]),
        Standing.WITHHELD,
        ("trusted flagger contribution", FP_WITHHELD),
        record("trusted_flagger"),
    ),
    Case(
        "preference does not waive endorsements for an ordinary contributor",
        NEED_2_TF,
        Evidence(),
        Standing.WITHHELD,
        ("policy: 0 endorsements < 2 required — withheld",),
    ),
    # --- retraction and appeals
    Case(
        "retracted never matches",
        PolicyConfig(),
        Evidence(opinions=[op("b", AGREE)], retractions=[retraction(AUTHOR)]),
        Standing.RETRACTED,
        ("retracted by its contributor",),
    ),
    Case(
        "a retraction by another member does not retract",
        PolicyConfig(),
        Evidence(retractions=[retraction("b")]),
        Standing.ACTIVE,
        (),
    ),
    Case(
        "overturned never matches",
        PolicyConfig(),
        Evidence(
            opinions=[op("b", AGREE)],
            appeals=[appeal((AUTHOR, 2, Outcome.OVERTURNED, DecidedAs.CONTRIBUTOR))],
        ),
        Standing.OVERTURNED,
        ("overturned on appeal by the contributor platform-a",),
    ),
    Case(
        "overturned by a steward after the deadline never matches, even for a preferred trusted flagger",
        NEED_2_TF,
        Evidence(appeals=[appeal((STEWARD, 80, Outcome.OVERTURNED, DecidedAs.STEWARD))]),
        Standing.OVERTURNED,
        ("overturned on appeal by the steward steward-1",),
        record("trusted_flagger"),
    ),
    Case(
        "upheld appeal keeps matching",
        PolicyConfig(),
        Evidence(appeals=[appeal((AUTHOR, 2, Outcome.UPHELD, DecidedAs.CONTRIBUTOR))]),
        Standing.ACTIVE,
        ("appeal upheld by the contributor platform-a",),
    ),
    Case(
        "an upheld appeal clears the reports it reviewed",
        WITHHOLD_AT_2,
        Evidence(
            opinions=[op("b", FP, 1), op("c", FP, 1)],
            appeals=[appeal((AUTHOR, 2, Outcome.UPHELD, DecidedAs.CONTRIBUTOR))],
        ),
        Standing.ACTIVE,
        ("appeal upheld by the contributor platform-a",),
    ),
    Case(
        "reports after an upheld appeal count again",
        WITHHOLD_AT_2,
        Evidence(
            opinions=[op("b", FP, 3), op("c", FP, 4)],
            appeals=[appeal((AUTHOR, 2, Outcome.UPHELD, DecidedAs.CONTRIBUTOR))],
        ),
        Standing.WITHHELD,
        (FP_WITHHELD, "appeal upheld by the contributor platform-a"),
    ),
    Case(
        "a pending appeal is noted and does not withhold",
        PolicyConfig(),
        Evidence(appeals=[appeal()]),
        Standing.ACTIVE,
        ("appeal pending; stewards may decide from 2023-11-17T22:13Z",),
    ),
    Case(
        "a steward decision before the deadline leaves the appeal pending",
        PolicyConfig(),
        Evidence(appeals=[appeal((STEWARD, 1, Outcome.OVERTURNED, DecidedAs.STEWARD))]),
        Standing.ACTIVE,
        ("appeal pending; stewards may decide from 2023-11-17T22:13Z",),
    ),
    # --- labels accepted per member
    Case(
        "labels not accepted from the member withhold",
        PolicyConfig(accept_labels_from={AUTHOR: frozenset({"tvec.attack_livestream"})}),
        Evidence(),
        Standing.WITHHELD,
        ("policy: labels tvec.propaganda from platform-a not accepted by this node — withheld",),
    ),
    Case(
        "one accepted label is enough",
        PolicyConfig(accept_labels_from={AUTHOR: frozenset({"tvec.manifesto"})}),
        Evidence(),
        Standing.ACTIVE,
        (),
        record(labels=("tvec.manifesto", "tvec.propaganda")),
    ),
    Case(
        "members not listed are unrestricted",
        PolicyConfig(accept_labels_from={"platform-z": frozenset({"tvec.manifesto"})}),
        Evidence(),
        Standing.ACTIVE,
        (),
    ),
    Case(
        "the '*' member entry restricts members not listed",
        PolicyConfig(accept_labels_from={"*": frozenset({"tvec.manifesto"})}),
        Evidence(),
        Standing.WITHHELD,
        ("policy: labels tvec.propaganda from platform-a not accepted by this node — withheld",),
    ),
    Case(
        "a '*' label accepts every label of that member",
        PolicyConfig(accept_labels_from={"*": frozenset({"tvec.manifesto"}), AUTHOR: frozenset({"*"})}),
        Evidence(),
        Standing.ACTIVE,
        (),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_policy(case: Case) -> None:
    verdict = evaluate(case.record, case.evidence, case.config)
    assert (verdict.standing, verdict.notes) == (case.standing, case.notes)
    assert verdict.matchable is (case.standing is Standing.ACTIVE)


@pytest.mark.parametrize(
    "config",
    [
        PolicyConfig(),
        NEED_2_TF,
        PolicyConfig(suspend_after_false_positive_reports=1, accept_labels_from={"*": frozenset({"*"})}),
    ],
    ids=["default", "endorsements waived for trusted flaggers", "permissive"],
)
@pytest.mark.parametrize(
    "final",
    [
        Evidence(retractions=[retraction(AUTHOR)]),
        Evidence(appeals=[appeal((AUTHOR, 1, Outcome.OVERTURNED, DecidedAs.CONTRIBUTOR))]),
    ],
    ids=["retracted", "overturned"],
)
def test_no_local_policy_makes_a_retracted_or_overturned_record_match(
    config: PolicyConfig, final: Evidence
) -> None:
    assert not evaluate(record("trusted_flagger"), final, config).matchable


# --- reading the [policy] table -----------------------------------------------------------------------------


def test_policy_table_is_read_field_by_field() -> None:
    config = PolicyConfig.from_mapping(
        {
            "suspend_after_false_positive_reports": 2,
            "min_endorsements": 1,
            "trusted_flagger_preferred": True,
            "accept_labels_from": {"platform-b": ["tvec.manifesto"]},
        }
    )
    assert config == PolicyConfig(2, 1, True, {"platform-b": frozenset({"tvec.manifesto"})})


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"min_endorsement": 1}, "policy: unknown keys ['min_endorsement']"),
        ({"min_endorsements": -1}, "policy.min_endorsements: got -1"),
        (
            {"suspend_after_false_positive_reports": True},
            "policy.suspend_after_false_positive_reports: got True",
        ),
        ({"trusted_flagger_preferred": "yes"}, "policy.trusted_flagger_preferred: got 'yes'"),
        ({"accept_labels_from": ["tvec.manifesto"]}, "policy.accept_labels_from: got"),
        (
            {"accept_labels_from": {"platform-b": "tvec.manifesto"}},
            "policy.accept_labels_from.platform-b: got",
        ),
    ],
    ids=[
        "misspelt key",
        "negative count",
        "boolean count",
        "string flag",
        "labels not a table",
        "labels not a list",
    ],
)
def test_policy_table_errors_name_the_field(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        PolicyConfig.from_mapping(table)
    assert raised.value.message.startswith(message)
