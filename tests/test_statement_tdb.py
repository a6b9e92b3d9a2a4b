"""The DSA Transparency Database's statement rules (node/dueprocess/tdb.py) and the JSON Schema published from
them (docs/schema/dsa-statement.schema.json), checked with `jsonschema`, the reference implementation of JSON
Schema: the published file is what the node generates, the example statements written from the database's
documentation pass both, and every documented rule broken is refused by both, for the same attribute."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

from node.dueprocess import tdb
from scripts import gen_statement_schema

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_FILE = ROOT / "docs/schema/dsa-statement.schema.json"
EXAMPLES = sorted((ROOT / "tests/vectors/dsa-statements").glob("valid-*.json"))


def published() -> dict[str, Any]:
    return dict(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


def validator() -> Draft202012Validator:
    return Draft202012Validator(published(), format_checker=FormatChecker())


def schema_errors(statement: object) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator().iter_errors(statement)]


def example(index: int = 0) -> dict[str, Any]:
    return dict(json.loads(EXAMPLES[index].read_text(encoding="utf-8")))


def test_the_published_schema_is_the_one_the_node_generates() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == gen_statement_schema.text(), (
        "docs/schema/dsa-statement.schema.json is out of date: run make statement-schema"
    )


def test_the_published_schema_is_a_valid_2020_12_schema() -> None:
    Draft202012Validator.check_schema(published())


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_the_documented_examples_pass_both_checks(path: Path) -> None:
    statement = json.loads(path.read_text(encoding="utf-8"))
    assert schema_errors(statement) == []
    assert tdb.check(statement) == []


def _drop(*names: str) -> Callable[[dict[str, Any]], None]:
    def mutate(statement: dict[str, Any]) -> None:
        for name in names:
            statement.pop(name, None)

    return mutate


def _set(**values: object) -> Callable[[dict[str, Any]], None]:
    return lambda statement: statement.update(values)


@dataclass(frozen=True)
class Broken:
    name: str
    mutate: Callable[[dict[str, Any]], None]
    attribute: str  # the attribute both checks name
    schema_says_it: bool = True  # False: a documented rule JSON Schema cannot express


BROKEN = [
    Broken(
        "illegal ground without its legal ground", _drop("illegal_content_legal_ground"), "illegal_content_legal_ground"
    ),
    Broken("illegal ground, empty explanation", _set(illegal_content_explanation=""), "illegal_content_explanation"),
    Broken("no decision of any kind", _drop("decision_visibility"), "decision_visibility"),
    Broken("an empty visibility decision", _set(decision_visibility=[]), "decision_visibility"),
    Broken(
        "visibility other without saying what",
        _set(decision_visibility=["DECISION_VISIBILITY_OTHER"]),
        "decision_visibility_other",
    ),
    Broken(
        "visibility as a string (before v1)",
        _set(decision_visibility="DECISION_VISIBILITY_CONTENT_REMOVED"),
        "decision_visibility",
    ),
    Broken("the 2023 terrorism category", _set(category="STATEMENT_CATEGORY_TERRORISM"), "category"),
    Broken("a v1 category v2 renamed", _set(category="STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE"), "category"),
    Broken("a v1 keyword v2 merged", _set(category_specification=["KEYWORD_DISINFORMATION"]), "category_specification"),
    Broken("automated detection as a boolean", _set(automated_detection=True), "automated_detection"),
    Broken("automated decision as Yes (2023)", _set(automated_decision="Yes"), "automated_decision"),
    Broken("a puid with a dot and a space", _set(puid="hn sor.1"), "puid"),
    Broken("a puid over 500 characters", _set(puid="a" * 501), "puid"),
    Broken("a date with an hour (2023)", _set(application_date="2025-09-14-10"), "application_date"),
    Broken("an application date before 2020", _set(application_date="2019-12-31"), "application_date"),
    Broken("an impossible day", _set(content_date="2025-02-30"), "content_date"),
    Broken("content type other without saying what", _set(content_type=["CONTENT_TYPE_OTHER"]), "content_type_other"),
    Broken("Greece as EL", _set(territorial_scope=["EL"]), "territorial_scope"),
    Broken("no territorial scope", _drop("territorial_scope"), "territorial_scope"),
    Broken("a lowercase language", _set(content_language="ar"), "content_language"),
    Broken("facts over 5000 characters", _set(decision_facts="x" * 5001), "decision_facts"),
    Broken("an explanation over 2000", _set(illegal_content_explanation="x" * 2001), "illegal_content_explanation"),
    Broken("a PDQ hash as content id", _set(content_id={"PDQ": "f" * 64}), "content_id"),
    Broken("an attribute the database lacks", _set(decision_ground_url="https://example.org"), "decision_ground_url"),
    Broken(
        "monetary other without saying what",
        _set(decision_monetary="DECISION_MONETARY_OTHER"),
        "decision_monetary_other",
    ),
    Broken("no puid", _drop("puid"), "puid"),
    Broken("a null category", _set(category=None), "category"),
    Broken(
        "an end date before the decision",
        _set(end_date_visibility_restriction="2025-09-01"),
        "end_date_visibility_restriction",
        schema_says_it=False,
    ),
]


@pytest.mark.parametrize("case", BROKEN, ids=lambda c: c.name)
def test_a_broken_rule_is_refused_by_both_checks(case: Broken) -> None:
    statement = copy.deepcopy(example())
    case.mutate(statement)
    errors = tdb.check(statement)
    assert errors, "tdb.check accepted it"
    assert any(e.startswith(case.attribute + ":") for e in errors), errors
    found = schema_errors(statement)
    assert bool(found) == case.schema_says_it, found


def test_the_batch_endpoint_takes_one_to_a_hundred_statements() -> None:
    schema = published()
    batch = Draft202012Validator(
        {"$ref": f"{tdb.SCHEMA_ID}#/$defs/statements"},
        format_checker=FormatChecker(),
        registry=Registry().with_resource(tdb.SCHEMA_ID, Resource.from_contents(schema)),
    )
    statements = [example(i) for i in range(len(EXAMPLES))]
    assert list(batch.iter_errors({"statements": statements})) == []
    [too_many] = list(batch.iter_errors({"statements": statements[:1] * 101}))
    assert "too long" in too_many.message
    assert list(batch.iter_errors({"statements": []}))


def test_errors_say_what_was_given_and_what_is_wanted() -> None:
    statement = example()
    statement["territorial_scope"] = ["EL"]
    assert tdb.check(statement) == ["territorial_scope: got EL, want one of " + str(tdb.COUNTRY)]


# --- the node's check and the published schema agree on any statement -------------------------------------------

_TEXT_VALUES = ["ok", "", None, 5, "x" * 501, "x" * 2001, "x" * 5001]
_DATE_VALUES = ["2025-09-14", "2025-02-30", "2019-12-31", "1999-12-31", "2038-01-01", "2038-01-02", "20250914", None]
_CANDIDATES: dict[str, list[object]] = {
    **{name: _TEXT_VALUES for name in tdb._TEXTS},
    **{name: _DATE_VALUES for name in tdb._DATES},
    **{name: [values[0], values[-1], "NOT_A_VALUE", "", None, 1] for name, values in tdb._ENUMS.items()},
    **{
        name: [[values[0]], [values[0], values[-1]], [], ["NOT_A_VALUE"], values[0], None]
        for name, values in tdb._ARRAYS.items()
    },
    "puid": ["hn_1", "a b", "", "a" * 501, None],
    "decision_ground_reference_url": ["https://eur-lex.europa.eu", "ftp://x", "", None],
    "content_id": [{}, {"EAN-13": "1234567890123"}, {"EAN-13": "123"}, {"PDQ": "f" * 64}, None, []],
    "decision_ground": [tdb.GROUND_ILLEGAL, tdb.GROUND_INCOMPATIBLE, None, "x"],
    "decision_visibility": [["DECISION_VISIBILITY_OTHER"], ["DECISION_VISIBILITY_CONTENT_REMOVED"], [], None],
    "decision_monetary": ["DECISION_MONETARY_OTHER", "DECISION_MONETARY_SUSPENSION", "", None],
    "content_type": [["CONTENT_TYPE_OTHER"], ["CONTENT_TYPE_IMAGE"], [], None],
    "surplus": [1],
}


@st.composite
def _statements(draw: st.DrawFn) -> dict[str, Any]:
    statement = example(draw(st.integers(0, len(EXAMPLES) - 1)))
    for name in draw(st.lists(st.sampled_from(sorted(_CANDIDATES)), max_size=4)):
        if draw(st.integers(0, 5)) == 0:
            statement.pop(name, None)
        else:
            statement[name] = draw(st.sampled_from(_CANDIDATES[name]))
    return statement


@settings(max_examples=400, deadline=None)
@given(statement=_statements())
def test_the_nodes_check_and_the_published_schema_agree(statement: dict[str, Any]) -> None:
    ours = [e for e in tdb.check(statement) if "want a date on or after application_date" not in e]
    assert bool(ours) == bool(schema_errors(statement)), (ours, schema_errors(statement))
