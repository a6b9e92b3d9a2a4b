"""The conformance suite of provenance bundles (tests/vectors/bundles, docs/protocol.md §9.9), run through
`hashnode verify` itself, and kept equal to the rule table of docs/protocol.md §9.8 and to the verifier's rules.

Each case runs as a user would run it (`hashnode verify BUNDLE [--consortium|--roster…] --time-ms T --json`, in
process) and must give the manifest's verdict: the status and rulings of a verified bundle, the rule of a refused
one. clients/node/verify.js runs the same manifest in tests/test_node_client.py.
"""

from __future__ import annotations

import io
import json
import re
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from node.cli.main import main
from node.provenance.rules import RULES
from scripts.gen_vectors import main as gen_vectors
from testkit.bundle_vectors import build as build_suite

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "tests/vectors/bundles"
MANIFEST = json.loads((SUITE / "manifest.json").read_text(encoding="utf-8"))
CASES: list[dict[str, Any]] = MANIFEST["cases"]
PROTOCOL = (ROOT / "docs/protocol.md").read_text(encoding="utf-8")
BUNDLE_SCHEMA = json.loads((ROOT / "docs/schema/bundle.schema.json").read_text(encoding="utf-8"))
CONSORTIUM_SCHEMA = json.loads((ROOT / "docs/schema/consortium.schema.json").read_text(encoding="utf-8"))


def anchor_args(anchor: dict[str, Any] | None) -> list[str]:
    if anchor is None:
        return []
    if "consortium" in anchor:
        return ["--consortium", str(SUITE / anchor["consortium"])]
    args = [arg for file in anchor["roster"] for arg in ("--roster", str(SUITE / file))]
    return args + (["--roster-id", anchor["roster_id"]] if anchor.get("roster_id") else [])


def outcome(case: dict[str, Any], anchor: dict[str, Any] | None) -> dict[str, Any]:
    """What `hashnode verify` says about a case, in the manifest's terms."""
    out, err = io.StringIO(), io.StringIO()
    argv = ["verify", str(SUITE / case["bundle"]), *anchor_args(anchor), "--time-ms", str(case["time_ms"]), "--json"]
    with redirect_stdout(out), redirect_stderr(err):
        code = main(argv)
    if code == 0:
        shown = json.loads(out.getvalue())
        rulings = {e["entry_id"]: e["ruling"].split(":")[0] for e in shown["history"] if e["kind"] == "decision"}
        return {"expect": "verified", "status": shown["status"], "rulings": rulings}
    if code == 1:
        return {"expect": "rejected", "rule": json.loads(out.getvalue())["rule"]}
    found = re.search(r"\[rule ([a-z_.0-9]+)\]$", err.getvalue().strip())  # a refused anchor file: exit 2
    assert code == 2 and found, (code, out.getvalue(), err.getvalue())
    return {"expect": "rejected", "rule": found.group(1)}


def expected(case: dict[str, Any]) -> dict[str, Any]:
    keys = ("expect", "status", "rulings") if case["expect"] == "verified" else ("expect", "rule")
    return {k: case[k] for k in keys}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_hashnode_verify_gives_the_manifests_verdict(case: dict[str, Any]) -> None:
    assert outcome(case, case["anchor"]) == expected(case)


TOML_TWINS = [c for c in CASES if c["anchor"] == {"consortium": "anchors/consortium.json"}]


@pytest.mark.parametrize("case", TOML_TWINS[::7], ids=[c["name"] for c in TOML_TWINS[::7]])
def test_the_toml_twin_of_the_consortium_anchor_gives_the_same_verdict(case: dict[str, Any]) -> None:
    assert outcome(case, {"consortium": "anchors/consortium.toml"}) == expected(case)


def test_the_suite_is_what_the_generator_writes() -> None:
    assert gen_vectors(["--check"]) == 0


def test_the_generator_is_deterministic() -> None:
    assert build_suite()[0] == build_suite()[0]


# --- every rule documented, and exercised -------------------------------------------------------------------


def documented_rules() -> dict[str, str]:
    """The rule index of docs/protocol.md §9.8: rule id → the text of its row."""
    index = PROTOCOL.split("### 9.8 Rule index", 1)[1].split("### 9.9", 1)[0]
    return {m.group(1): m.group(0) for m in re.finditer(r"^\| `([a-z_0-9]+\.[a-z_0-9]+)` \|.*$", index, re.M)}


def test_every_rule_of_the_verifier_has_a_row_in_the_rule_index_and_no_row_is_stale() -> None:
    assert set(documented_rules()) == set(RULES)


def test_every_rule_is_stated_in_its_step_of_section_9() -> None:
    section = PROTOCOL.split("## Verifying a provenance bundle", 1)[1].split("### 9.8 Rule index", 1)[0]
    missing = [rule for rule in RULES if f"`{rule}`" not in section]
    assert missing == []


def test_every_rule_has_a_vector_and_every_vector_a_rule() -> None:
    exercised = {c["rule"] for c in CASES if c["expect"] == "rejected"}
    assert exercised <= set(RULES)
    assert sorted(set(RULES) - exercised) == []
    assert all(c["name"].startswith(c["rule"] + "/") for c in CASES if c["expect"] == "rejected")


def test_the_suite_covers_what_the_issue_names() -> None:
    """Every related-entry kind, reserved kinds, duplicates, case, unknown fields, and anchors with expired,
    rotated and revoked keys."""
    names = {c["name"] for c in CASES}
    for needed in ("related.kind/reserved-kind-6", "related.kind/a-contribution", "related.duplicate/one-entry-twice",
                   "file.field_invalid/upper-case-record-id", "record.item/upper-case-signal-type",
                   "file.field_unknown/camel-case-name", "key.not_valid/expired-key",
                   "key.not_valid/rotated-key-after-the-overlap", "key.revoked/contribution-after-the-cutoff",
                   "anchor.roster_expired/expired-at-the-verification-time", "assembly.omitted/decision-removed"):
        assert needed in names
    statuses = {c["status"] for c in CASES if c["expect"] == "verified"}
    assert statuses == {"active", "retracted", "overturned"}
    rulings = {r for c in CASES if c["expect"] == "verified" for r in c["rulings"].values()}
    assert rulings == {"effective", "superseded", "refused", "pending"}


# --- the published schemas, checked by the reference JSON Schema implementation -----------------------------


def _bundle_document(case: dict[str, Any]) -> Any:
    return json.loads((SUITE / case["bundle"]).read_text(encoding="utf-8"))


def test_every_verified_bundle_file_is_valid_under_the_schema() -> None:
    validator = jsonschema.Draft202012Validator(BUNDLE_SCHEMA)
    for case in CASES:
        if case["expect"] == "verified":
            validator.validate(_bundle_document(case))


SCHEMA_REFUSES = [c for c in CASES if c.get("rule") in ("file.field_unknown", "file.field_missing",
                                                          "file.format_version")
                  or c["name"] in ("file.field_invalid/upper-case-record-id", "file.field_invalid/u64-as-a-number",
                                   "file.field_invalid/u32-as-a-string", "file.field_invalid/null-value",
                                   "file.field_invalid/unknown-role")]


@pytest.mark.parametrize("case", SCHEMA_REFUSES, ids=[c["name"] for c in SCHEMA_REFUSES])
def test_the_schema_refuses_what_the_reader_refuses(case: dict[str, Any]) -> None:
    assert not jsonschema.Draft202012Validator(BUNDLE_SCHEMA).is_valid(_bundle_document(case))


@pytest.mark.parametrize(
    ("anchor", "valid"),
    [("consortium.json", True), ("consortium-unknown-field.json", False), ("consortium-upper-case-key.json", False),
     ("consortium-no-id.json", False)],
)
def test_the_consortium_schema_agrees_with_the_reader(anchor: str, valid: bool) -> None:
    document = json.loads((SUITE / "anchors" / anchor).read_text(encoding="utf-8"))
    assert jsonschema.Draft202012Validator(CONSORTIUM_SCHEMA).is_valid(document) is valid


def test_the_schemas_are_valid_json_schemas() -> None:
    jsonschema.Draft202012Validator.check_schema(BUNDLE_SCHEMA)
    jsonschema.Draft202012Validator.check_schema(CONSORTIUM_SCHEMA)
