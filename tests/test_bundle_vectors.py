"""The conformance suite of provenance bundles (tests/vectors/bundles, docs/protocol.md §9.9), run through
`hashnode verify` itself, and kept equal to the rule table of docs/protocol.md §9.8 and to the verifier's rules.

Each case runs as a user would run it (`hashnode verify BUNDLE [--consortium|--roster…] --time-ms T --json`, in
process) and must give the manifest's verdict: the status and rulings of a verified bundle, the rule of a refused
one. clients/node/verify.js runs the same manifest in tests/test_node_client.py.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from node.cli.main import main
from node.core.entry import EntryHeader
from node.provenance import bundle_file
from node.provenance.assembly import Assembly
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
    # Every refusal is a verdict, the anchor's as the bundle's: exit 1 with the rule (2 is for usage errors).
    assert code == 1, (code, out.getvalue(), err.getvalue())
    return {"expect": "rejected", "rule": json.loads(out.getvalue())["rule"]}


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


# Readings of §9 that an implementation written from the document might choose, each with the vectors that
# refuse it (the clean-room verifier's report listed every one of these as passing the first 115 cases).
WRONG_READINGS: dict[str, tuple[str, ...]] = {
    "stewards and window from the assembly even with an anchor": (
        "verified/stewards-and-window-from-the-consortium-anchor-not-the-assembly",
        "verified/stewards-and-window-from-the-roster-anchor-not-the-assembly"),
    "stewards and window from the anchor's defaults without an anchor": (
        "verified/without-an-anchor-stewards-and-window-from-the-assembly",),
    "a roster anchor's window is always 72 hours": (
        "verified/stewards-and-window-from-the-roster-anchor-not-the-assembly",),
    "no refusal of a decision before its appeal": ("verified/decided-before-the-appeal-is-refused",),
    "no refusal of a contributor decision by another member": (
        "verified/contributor-decision-by-another-member-is-refused",),
    "no refusal of a steward decision by a non-steward": ("verified/steward-decision-by-a-non-steward-is-refused",),
    "decisions at one timestamp in bundle order": ("verified/equal-timestamps-the-lower-entry-id-is-effective",),
    "only active members are stewards": ("verified/a-suspended-steward-decides",),
    "no rulings once retracted": ("verified/retracted-after-a-decision-rulings-still-derived",),
    "an entry's ruling from the first appeal it decides": ("verified/ruling-of-a-decision-entry-is-its-first-items",),
    "any entry a decision names is an appeal": ("verified/decision-naming-an-opinion-is-pending",),
    "no frontier check of the contribution entry": ("assembly.frontier/contribution-author-without-a-head",
                                                    "assembly.frontier/contribution-same-seq-another-entry"),
    "refused at the revocation cutoff (t >= cutoff)": ("verified/signed-exactly-at-the-revocation-cutoff",),
    "a key window that excludes its end": ("verified/signed-exactly-at-the-end-of-the-key-window",),
    "a key window that excludes its start": ("verified/signed-exactly-at-the-start-of-the-key-window",),
    "a roster expired at T = expires_ms": ("verified/roster-used-exactly-at-its-expiry",),
    "nesting limit 31": ("file.field_unknown/nested-32-levels",),
    "nesting limit above 32": ("file.json/nested-33-levels",),
    "no roster transition rules": ("anchor.roster_chain/member-removed", "anchor.roster_chain/revocation-cutoff-moved",
                                   "anchor.roster_chain/revocation-undone",
                                   "anchor.roster_chain/status-changed-without-a-new-status-version",
                                   "anchor.roster_chain/status-version-bumped-without-a-change",
                                   "anchor.roster_chain/new-member-with-an-old-status-version"),
    "a later roster checked against its own stewards only": (
        "anchor.roster_threshold/later-version-not-signed-by-the-previous-stewards",),
    "no roster_id check": ("anchor.roster_malformed/roster-id-of-another-roster",),
    "a lenient signed-roster file": ("anchor.roster_malformed/unknown-field-in-the-file",
                                     "anchor.roster_malformed/signature-of-63-bytes",
                                     "anchor.roster_malformed/upper-case-key-id"),
    "the bundle file read before the anchor": ("consortium.syntax/reported-before-the-bundle-file",),
    "no structure check of the contribution header": ("record.shape/seq-0", "record.shape/item-count-0"),
}


@pytest.mark.parametrize("reading", WRONG_READINGS, ids=list(WRONG_READINGS))
def test_each_wrong_reading_has_a_vector_that_refuses_it(reading: str) -> None:
    names = {c["name"] for c in CASES}
    assert [n for n in WRONG_READINGS[reading] if n not in names] == []


def _case(name: str) -> dict[str, Any]:
    return next(c for c in CASES if c["name"] == name)


def _decoded(name: str) -> tuple[Any, list[Any]]:
    """The assembly statement and the related entries' headers of a case's bundle."""
    b = bundle_file.parse((SUITE / _case(name)["bundle"]).read_bytes())
    return Assembly.decode(b.assembly), [EntryHeader.decode(r.header) for r in b.related]


def test_the_assembly_states_other_stewards_and_window_than_the_anchor() -> None:
    """Else a verifier taking them from the assembly with an anchor would pass."""
    statement, _ = _decoded("verified/stewards-and-window-from-the-consortium-anchor-not-the-assembly")
    anchor = json.loads((SUITE / "anchors/consortium.json").read_text(encoding="utf-8"))
    stewards = sorted(m["id"] for m in anchor["member"] if "steward" in m.get("roles", []))
    assert list(statement.stewards) != stewards
    assert statement.policy.decision_window_ms != anchor["decision_window_ms"]


def test_the_tied_decisions_share_a_timestamp_and_come_higher_id_first() -> None:
    """Else a verifier ordering by timestamp alone (bundle order on ties) would pass."""
    _, headers = _decoded("verified/equal-timestamps-the-lower-entry-id-is-effective")
    carried_first, carried_second = headers[1], headers[2]
    assert carried_first.timestamp_ms == carried_second.timestamp_ms
    assert hashlib.sha256(carried_first.encode()).digest() > hashlib.sha256(carried_second.encode()).digest()


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
