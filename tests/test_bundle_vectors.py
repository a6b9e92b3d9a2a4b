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
from node.provenance.rules import DECISION_RULES, RULES
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
        decisions = [e for e in shown["history"] if e["kind"] == "decision"]
        rulings = {e["entry_id"]: e["ruling"].split(":")[0] for e in decisions}
        rules = {e["entry_id"]: e["ruling_rule"] for e in decisions if "ruling_rule" in e}
        return {"expect": "verified", "status": shown["status"], "rulings": rulings, "ruling_rules": rules}
    # Every refusal is a verdict, the anchor's as the bundle's: exit 1 with the rule (2 is for usage errors).
    assert code == 1, (code, out.getvalue(), err.getvalue())
    return {"expect": "rejected", "rule": json.loads(out.getvalue())["rule"]}


def expected(case: dict[str, Any]) -> dict[str, Any]:
    keys = ("expect", "status", "rulings", "ruling_rules") if case["expect"] == "verified" else ("expect", "rule")
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
    """The rule index of docs/protocol.md §9.8 (both of its tables): rule id → the text of its row."""
    index = PROTOCOL.split("### 9.8 Rule index", 1)[1].split("### 9.9", 1)[0]
    return {m.group(1): m.group(0) for m in re.finditer(r"^\| `([a-z_0-9]+\.[a-z_0-9]+)` \|.*$", index, re.M)}


def test_every_rule_of_the_verifier_has_a_row_in_the_rule_index_and_no_row_is_stale() -> None:
    assert set(documented_rules()) == set(RULES) | set(DECISION_RULES)
    assert not set(RULES) & set(DECISION_RULES)


def test_every_rule_is_stated_in_its_step_of_section_9() -> None:
    section = PROTOCOL.split("## Verifying a provenance bundle", 1)[1].split("### 9.8 Rule index", 1)[0]
    missing = [rule for rule in RULES if f"`{rule}`" not in section]
    assert missing == []
    status = section.split("### 9.7 Status", 1)[1]
    assert [rule for rule in DECISION_RULES if f"`{rule}`" not in status] == []


def test_every_rule_has_a_vector_and_every_vector_a_rule() -> None:
    exercised = {c["rule"] for c in CASES if c["expect"] == "rejected"}
    assert exercised <= set(RULES)
    assert sorted(set(RULES) - exercised) == []
    assert all(c["name"].startswith(c["rule"] + "/") for c in CASES if c["expect"] == "rejected")


def test_every_decision_rule_has_a_vector_and_every_ruling_that_does_not_count_a_rule() -> None:
    verified = [c for c in CASES if c["expect"] == "verified"]
    named = {rule for c in verified for rule in c["ruling_rules"].values()}
    assert named <= set(DECISION_RULES)
    assert sorted(set(DECISION_RULES) - named) == []
    for case in verified:
        uncounted = {e for e, ruling in case["rulings"].items() if ruling in ("refused", "pending")}
        assert set(case["ruling_rules"]) == uncounted, case["name"]
        for entry_id, rule in case["ruling_rules"].items():
            assert (case["rulings"][entry_id] == "pending") == (rule == "decision.no_case"), case["name"]


# Where the verifiers' code names a rule: every string literal shaped like a rule id (family.name) in the Python
# verifier's modules and in verify.js. A new refusal, or a new reason a decision does not count, written in either
# verifier is found here whether or not a vector reaches it, and must then be in the tables above, so in §9.8 and
# in the vectors.
RULE_FAMILIES = ("file", "consortium", "anchor", "record", "key", "related", "assembly", "decision")
RULE_LITERAL = re.compile(r"""["'`]((?:""" + "|".join(RULE_FAMILIES) + r""")\.[a-z_0-9]+)["'`]""")
VERIFIER_SOURCES = [*sorted((ROOT / "node/provenance").glob("*.py")), ROOT / "node/dueprocess/deadlines.py",
                    ROOT / "node/membership/consortium_file.py", ROOT / "node/cli/verify_cmd.py",
                    ROOT / "clients/node/verify.js"]


def test_every_rule_id_the_verifiers_code_names_is_in_the_tables() -> None:
    named = {m.group(1): path.name for path in VERIFIER_SOURCES
             for m in RULE_LITERAL.finditer(path.read_text(encoding="utf-8"))}
    assert {rule: where for rule, where in named.items() if rule not in RULES and rule not in DECISION_RULES} == {}
    assert set(DECISION_RULES) <= set(named)  # the scan sees the decision rules where they are raised


def test_a_decision_rule_outside_the_table_cannot_be_raised() -> None:
    from node.dueprocess.deadlines import UnknownAppeal, _refused

    with pytest.raises(KeyError, match="undocumented decision rule"):
        _refused(UnknownAppeal, "decision.something_new", "x")


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
    assert statuses == {"active", "retracted", "overturned", "disputed", "quarantined"}
    rulings = {r for c in CASES if c["expect"] == "verified" for r in c["rulings"].values()}
    assert rulings == {"effective", "superseded", "refused", "pending"}


def test_the_suite_covers_the_due_process_policy_and_the_referrer() -> None:
    """Stewards' rulings (quorum met, one short, a non-steward's key, one steward twice, a single steward above
    quorum 1, the window, expired/rotated/revoked keys), dispute cases (at the quorum, by a trusted flagger when the
    policy says so), quarantine in both modes, and the referrer role (each kind it may or may not author)."""
    names = {c["name"] for c in CASES}
    needed = [f"verified/{n}" for n in (
        "stewards-ruling-meeting-the-quorum", "stewards-ruling-one-signature-short",
        "stewards-ruling-signed-by-a-non-steward-key", "stewards-ruling-one-steward-with-two-keys",
        "single-steward-decision-above-quorum-1", "stewards-ruling-within-the-window",
        "stewards-ruling-exactly-at-the-end-of-the-window", "contributor-decides-after-the-window",
        "stewards-ruling-signed-with-an-expired-key", "stewards-ruling-signed-with-a-rotated-key",
        "stewards-ruling-by-a-revoked-steward-after-its-cutoff",
        "stewards-ruling-by-a-revoked-steward-before-its-cutoff",
        "stewards-ruling-meeting-the-quorum-without-an-anchor", "dispute-case-opens-at-the-quorum",
        "dispute-one-report-below-the-quorum", "dispute-case-opened-by-a-trusted-flagger",
        "dispute-trusted-flagger-when-the-policy-says-no", "dispute-case-quarantine-withhold",
        "referrer-contributes-and-decides-its-own-appeal", "referrer-retracts-its-own-record", "referrer-opines",
        "referrer-publishes-a-stewards-ruling")]
    needed += ["key.role/a-referrer-appeals", "key.role/a-referrer-signs-a-reserved-kind",
               "related.item/stewards-ruling-lists-a-key-twice"]
    assert [n for n in needed if n not in names] == []
    files = {c["anchor"]["consortium"] for c in CASES if c["name"] in needed and c["anchor"]}
    modes = {json.loads((SUITE / f).read_text(encoding="utf-8"))["quarantine"] for f in files}
    assert modes == {"mark", "withhold"}


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
    "a ruling counts its signatures, not its stewards": ("verified/stewards-ruling-one-steward-with-two-keys",),
    "any member's key signs a ruling": ("verified/stewards-ruling-signed-by-a-non-steward-key",),
    "a ruling's signatures checked without key windows": ("verified/stewards-ruling-signed-with-an-expired-key",),
    "a revoked steward's signatures count whenever they ruled": (
        "verified/stewards-ruling-by-a-revoked-steward-after-its-cutoff",),
    "a ruling's window from the publishing entry's time": ("verified/stewards-ruling-within-the-window",),
    "a single steward decides whatever the quorum": ("verified/single-steward-decision-above-quorum-1",),
    "the window shuts the contributor out": ("verified/contributor-decides-after-the-window",),
    "a trusted flagger opens a case whatever the policy": ("verified/dispute-trusted-flagger-when-the-policy-says-no",),
    "the contributor's own report counts": ("verified/dispute-the-contributors-own-report-does-not-count",),
    "every report counts, not each member's latest opinion": ("verified/dispute-a-members-latest-opinion-counts",),
    "reports reviewed by an upheld decision count again, or none after it": (
        "verified/dispute-case-upheld", "verified/dispute-case-upheld-then-a-new-report-opens-another"),
    "a case named by the first report": ("verified/decision-naming-a-report-that-opened-no-case",),
    "withhold mode shown as disputed": ("verified/dispute-case-quarantine-withhold",),
    "a referrer authors as a contributor": ("key.role/a-referrer-appeals", "key.role/a-referrer-signs-a-reserved-kind"),
    "a referrer authors as an observer": ("verified/referrer-contributes-and-decides-its-own-appeal",),
    # The clean-room verifier's second report: each place it had to guess, and the vector that refuses the other
    # guess.
    "of several opinion items in one entry, the first counts": (
        "verified/dispute-several-opinions-in-one-entry-the-last-counts",),
    "a report at the time of the upholding decision opens a new case (after R, not strictly)": (
        "verified/dispute-a-report-at-the-time-of-the-upholding-decision-was-reviewed",),
    "reviewed until a stewards' ruling's ruled_at_ms": (
        "verified/dispute-reviewed-until-the-time-of-the-entry-that-publishes-the-ruling",),
    "a trusted flagger's report opens the case even after the k-th report": (
        "verified/dispute-the-first-report-that-meets-either-rule-opens-the-case",),
    "the k-th report opens the case even after a trusted flagger's": (
        "verified/dispute-a-trusted-flaggers-report-before-the-quorum-opens-the-case",),
    "without an anchor, a trusted flagger by the member entry of its own opinion, or by the first entry": (
        "verified/without-an-anchor-a-trusted-flagger-named-by-any-of-its-member-entries",),
    "without an anchor, stewards' keys from the stewards and related entries only": (
        "verified/stewards-ruling-without-an-anchor-a-stewards-keys-from-its-assembler-entry",),
    "without an anchor, a steward's keys from its first member entry": (
        "verified/stewards-ruling-without-an-anchor-a-steward-listed-twice-both-entries-count",),
    "a ruling may be dated after the entry that publishes it": (
        "verified/stewards-ruling-postdated-and-published-inside-the-window",),
    "a negative zero only without an exponent": ("file.json/minus-zero-with-an-exponent",
                                                 "file.json/minus-zero-with-a-fraction-and-exponent",
                                                 "file.json/minus-zero-with-a-signed-upper-case-exponent"),
    "a negative zero by its binary64 value": ("file.field_invalid/a-negative-number-too-small-for-a-double",),
    "the quality rule checked on decoding": ("verified/record-md5-with-quality-7",
                                             "verified/record-pdq-with-quality-200"),
    "member entries' windows and cutoffs not checked against each other": (
        "file.field_invalid/member-key-window-ends-before-it-starts",
        "file.field_invalid/member-cutoff-without-revocation", "file.field_invalid/member-revoked-without-a-cutoff"),
    "the Meaning columns of roster bytes are advice to encoders": (
        "anchor.roster_malformed/member-id-syntax", "anchor.roster_malformed/member-without-roles",
        "anchor.roster_malformed/member-status-0", "anchor.roster_malformed/member-status-4",
        "anchor.roster_malformed/member-without-keys", "anchor.roster_malformed/key-window-ends-before-it-starts",
        "anchor.roster_malformed/certificate-of-8193-bytes", "anchor.roster_malformed/certificate-of-0-bytes",
        "anchor.roster_malformed/certificate-window-ends-before-it-starts"),
    "a certificate limit below 8192 bytes": ("verified/roster-certificate-of-8192-bytes",),
    "a roster needs members": ("key.member/author-not-in-a-roster-with-no-members",),
    "lenient roster extensions": ("anchor.roster_malformed/unknown-roster-extension",
                                  "anchor.roster_malformed/unknown-member-extension",
                                  "anchor.roster_malformed/version-2-form-without-an-extension",
                                  "anchor.roster_malformed/policy-steward-quorum-0",
                                  "anchor.roster_malformed/policy-window-over-365-days",
                                  "anchor.roster_malformed/policy-dispute-quorum-1001",
                                  "anchor.roster_malformed/policy-quarantine-3"),
    "a key listed twice within a consortium member is field_invalid": (
        "consortium.key_duplicate/public-keys-lists-a-key-twice",
        "consortium.key_duplicate/key-tables-list-a-key-twice"),
    "the window in hours truncated or rounded half to even": ("verified/window-in-hours-rounds-half-up-one-ms-early",
                                                              "verified/window-in-hours-rounds-half-up-at-the-deadline"),
    "an assembly's stewards or heads' seq unchecked": ("assembly.malformed/stewards-not-sorted",
                                                       "assembly.malformed/a-head-with-seq-0"),
    "a ruling's signatures in any order": ("related.item/stewards-ruling-key-ids-out-of-order",),
    "due process only from a consortium file": ("verified/stewards-ruling-meeting-the-quorum-roster-anchor",
                                               "verified/stewards-ruling-one-signature-short-roster-anchor",
                                               "verified/dispute-case-opens-at-the-quorum-roster-anchor"),
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
