"""The strict JSON reader of bundle, consortium and signed-roster files (node/core/jsondoc.py): each rule of
docs/protocol.md §9.1 `file.json` at its exact edge, so that "strict" means one thing in every implementation."""

from __future__ import annotations

import pytest

from node.core.jsondoc import DocumentError, Obj, loads


def refused(text: str) -> DocumentError:
    with pytest.raises(DocumentError) as raised:
        loads(text.encode("utf-8", errors="surrogatepass"))
    return raised.value


def nested(depth: int) -> str:
    """An object at depth 1 holding arrays down to depth `depth`, the innermost holding a number."""
    return '{"x": ' + "[" * (depth - 1) + "7" + "]" * (depth - 1) + "}"


def test_brackets_may_nest_32_deep_and_what_they_hold_does_not_count() -> None:
    assert loads(nested(32).encode())["x"]


def test_brackets_nested_33_deep_are_refused() -> None:
    assert refused(nested(33)).kind == "json"


@pytest.mark.parametrize("number", ["-0", "-0.0", "-0e5", "-0E-3", "-0.000e+0"])
def test_a_negative_zero_is_refused_in_any_spelling(number: str) -> None:
    assert refused(f'{{"n": {number}}}').kind == "json"


@pytest.mark.parametrize("number", ["0", "0.0", "0e5", "-1e-400", "-0.5"])
def test_zero_and_negative_numbers_that_are_not_negative_zero_are_read(number: str) -> None:
    """-1e-400 rounds to -0.0 as a float, but it is not written as a zero: the rule is about the text."""
    assert "n" in loads(f'{{"n": {number}}}'.encode())


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_numbers_json_does_not_have_are_refused(literal: str) -> None:
    assert refused(f'{{"n": {literal}}}').kind == "json"


def test_member_names_are_compared_after_unescaping() -> None:
    assert "twice" in refused('{"a": 1, "\\u0061": 2}').message


def test_a_lone_surrogate_in_a_member_name_is_refused() -> None:
    assert refused('{"\\udc00": 1}').kind == "json"


def test_a_boolean_is_not_an_integer() -> None:
    with pytest.raises(DocumentError) as raised:
        Obj(loads(b'{"n": true}'), "").u32("n")
    assert raised.value.kind == "field_invalid"
