"""Statements of reasons, the pure part (node/dueprocess/statement*.py): labels to categories, the platform's
decision checked, the Transparency Database's statement (validated with `jsonschema` against the published
schema), the user's page and its language packs, and notices naming statements."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from node.core.errors import ConfigError, InvalidArgument
from node.core.taxonomy import DEFAULT_LABELS, Taxonomy
from node.dueprocess import tdb
from node.dueprocess.matchlog import ReinstateNotice
from node.dueprocess.statement import (
    DEFAULT_CATEGORIES,
    Basis,
    CategoryTable,
    DecisionRequest,
    Statement,
    StatementSettings,
    database_statement,
    name_statements,
    resolve,
    statement_of_case,
    to_json,
)
from node.dueprocess.statement_language import BUILTIN_LANGUAGES, SECTIONS, load_packs, parse_pack
from node.dueprocess.statement_page import Page, render_page

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "docs/schema/dsa-statement.schema.json").read_text(encoding="utf-8"))
PACKS = load_packs()
SETTINGS = StatementSettings(appeal_url="https://platform-b.example/appeal?s={statement_id}")
SID = "sor-0123456789abcdef"
TODAY = "2026-03-10"
DAY = 86_400_000
T0 = 1_772_323_200_000  # 2026-03-01
PDQ_HEX = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def basis(
    labels: tuple[str, ...] = ("tvec.glorification",), signal_type: str = "pdq", record: int = 1, **fields: object
) -> Basis:
    taxonomy = Taxonomy.default().labels
    values: dict[str, object] = {
        "record_id": bytes([record]) * 32,
        "signal_type": signal_type,
        "value_hex": PDQ_HEX,
        "labels": labels,
        "label_names": tuple(taxonomy[label].description for label in labels),
        "contributor": "platform-a",
        "contributor_name": "Example Platform A",
        "contributed_ms": T0,
        "matched_ms": T0 + 8 * DAY,
        "distance": 12,
        "exact": signal_type != "pdq",
        **fields,
    }
    return Basis(**values)  # type: ignore[arg-type]


def decide(request: DecisionRequest, *on: Basis, settings: StatementSettings = SETTINGS) -> dict[str, object]:
    grounds = on or (basis(),)
    decision = resolve(request, grounds, settings, statement_id=SID, today=TODAY)
    return database_statement(decision, grounds, "example-consortium", settings)


REMOVED = DecisionRequest(automated_decision="fully", visibility=("removed",))


def schema_errors(statement: object) -> list[str]:
    checker = Draft202012Validator(SCHEMA, format_checker=FormatChecker())
    return [e.message for e in checker.iter_errors(statement)]


# --- labels and categories ---------------------------------------------------------------------------------------


def test_every_label_of_the_built_in_taxonomy_has_a_default_category() -> None:
    assert set(DEFAULT_CATEGORIES) == {label.name for label in DEFAULT_LABELS}
    table = CategoryTable.from_mapping({}, "node.toml", {label.name for label in DEFAULT_LABELS})
    for label in DEFAULT_CATEGORIES:
        categorised = table.categorise([label])
        assert categorised.category == "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
        assert "KEYWORD_TERRORIST_CONTENT" in categorised.keywords


def test_a_label_of_the_taxonomy_without_a_category_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError) as refused:
        CategoryTable.from_mapping({}, "node.toml", {"tvec.propaganda", "csam.known"})
    assert refused.value.message.startswith(
        "node.toml: statements.categories: got no entry for the taxonomy's label 'csam.known', "
        'want [statements.categories."csam.known"] category = "STATEMENT_CATEGORY_..."'
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"tvec.typo": {"category": "STATEMENT_CATEGORY_VIOLENCE"}}, "statements.categories.tvec.typo: got a label"),
        ({"tvec.propaganda": {"category": "STATEMENT_CATEGORY_TERRORISM"}}, ".category: got 'STATEMENT_CATEGORY_TERRO"),
        (
            {"tvec.propaganda": {"category": "STATEMENT_CATEGORY_VIOLENCE", "keywords": ["KEYWORD_DISINFORMATION"]}},
            ".keywords: got 'KEYWORD_DISINFORMATION', want a list of the database's values",
        ),
        (
            {"tvec.propaganda": {"category": "STATEMENT_CATEGORY_VIOLENCE", "keyword_other": "extremism"}},
            ".keyword_other: got 'extremism' without KEYWORD_OTHER",
        ),
        ({"tvec.propaganda": {"category": "STATEMENT_CATEGORY_VIOLENCE", "colour": 1}}, ".colour: got an unknown key"),
        ({"tvec.propaganda": "STATEMENT_CATEGORY_VIOLENCE"}, "got str, want a table"),
    ],
    ids=["unknown label", "retired category", "v1 keyword", "other without keyword", "unknown key", "not a table"],
)
def test_a_malformed_category_entry_is_a_configuration_error(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        CategoryTable.from_mapping(table, "node.toml", {label.name for label in DEFAULT_LABELS})
    assert message in refused.value.message


def test_a_configured_entry_replaces_the_default_for_its_label() -> None:
    entry = {"category": "STATEMENT_CATEGORY_VIOLENCE", "keywords": ["KEYWORD_OTHER"], "keyword_other": "Gore"}
    table = CategoryTable.from_mapping({"tvec.graphic_violence": entry}, "n", {"tvec.graphic_violence"})
    categorised = table.categorise(["tvec.graphic_violence"])
    assert (categorised.category, categorised.keywords, categorised.keyword_other) == (
        "STATEMENT_CATEGORY_VIOLENCE",
        ("KEYWORD_OTHER",),
        "Gore",
    )


def test_several_labels_take_the_category_most_map_to_and_the_others_as_additions() -> None:
    table = CategoryTable(
        {
            **DEFAULT_CATEGORIES,
            "hate.a": DEFAULT_CATEGORIES["tvec.glorification"].__class__(
                "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", ("KEYWORD_HATE_SPEECH",)
            ),
        }
    )
    categorised = table.categorise(["tvec.propaganda", "tvec.attack_livestream", "hate.a"])
    assert categorised.category == "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
    assert categorised.additional == ("STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", "STATEMENT_CATEGORY_VIOLENCE")
    assert categorised.keywords == ("KEYWORD_HATE_SPEECH", "KEYWORD_ILLEGAL_ORGANIZATIONS", "KEYWORD_TERRORIST_CONTENT")


# --- the platform's decision --------------------------------------------------------------------------------------


def test_defaults_come_from_the_match_the_settings_and_the_day() -> None:
    decision = resolve(REMOVED, [basis()], SETTINGS, statement_id=SID, today=TODAY)
    assert decision.application_date == TODAY
    assert decision.content_date == "2026-03-09"  # the day of the first logged match
    assert decision.content_type == ("CONTENT_TYPE_IMAGE",)  # a PDQ hash is an image's
    assert decision.territorial_scope == tdb.EEA
    assert (decision.puid, decision.source, decision.language) == (SID, tdb.SOURCE_VOLUNTARY, "en")
    assert decision.ground == tdb.GROUND_ILLEGAL


@pytest.mark.parametrize(
    ("request_", "on", "message"),
    [
        (DecisionRequest(visibility=("removed",)), None, "automated_decision: got nothing, want fully, partially"),
        (replace(REMOVED, automated_decision="yes"), None, "automated_decision: got yes, want one of fully"),
        (DecisionRequest(automated_decision="fully"), None, "visibility: got nothing, want what the platform did"),
        (replace(REMOVED, visibility=("hidden",)), None, "visibility: got hidden, want one of removed, disabled"),
        (replace(REMOVED, visibility=("other",)), None, "visibility_other: got nothing"),
        (replace(REMOVED, application_date="2026-02-30"), None, "application_date: got 2026-02-30, want a calendar"),
        (replace(REMOVED, application_date="2019-06-01"), None, "application_date: got 2019-06-01, want 2020-01-01"),
        (replace(REMOVED, content_date="2026-04-01"), None, "content_date: got 2026-04-01, want 2000-01-01..applica"),
        (replace(REMOVED, visibility_end_date="2026-03-01"), None, "visibility_end_date: got 2026-03-01, want a date"),
        (REMOVED, basis(signal_type="md5"), "content_type: got nothing, want the content's type"),
        (replace(REMOVED, content_type=("document",)), None, "content_type: got document, want one of app, audio"),
        (replace(REMOVED, content_language="xx"), None, "content_language: got xx, want an ISO 639-1 code"),
        (replace(REMOVED, puid="user jane@example.org"), None, "puid: got user jane@example.org, want 1-500"),
        (replace(REMOVED, language="fr"), None, "language: got fr, want a language with a pack: de, en"),
        (replace(REMOVED, territorial_scope=("EL",)), None, "territorial_scope: got EL, want EU, EEA or a country"),
        (replace(REMOVED, visibility_other="x" * 501, visibility=("other",)), None, "visibility_other: got 501 char"),
    ],
    ids=[
        "automated missing", "automated unknown", "no decision", "unknown visibility", "other unsaid", "no such day",
        "before 2020", "posted after decided", "ends before", "file hash says no type", "unknown type",
        "unknown language", "personal puid", "no pack", "Greece as EL", "other too long",
    ],
)  # fmt: skip
def test_a_malformed_decision_is_refused_naming_the_field(
    request_: DecisionRequest, on: Basis | None, message: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        resolve(request_, [on or basis()], SETTINGS, statement_id=SID, today=TODAY)
    assert refused.value.message.startswith(message), refused.value.message


def test_short_names_and_the_database_values_are_both_taken() -> None:
    short = resolve(REMOVED, [basis()], SETTINGS, statement_id=SID, today=TODAY)
    long = resolve(
        replace(
            REMOVED, visibility=("DECISION_VISIBILITY_CONTENT_REMOVED",), automated_decision="AUTOMATED_DECISION_FULLY"
        ),
        [basis()],
        SETTINGS,
        statement_id=SID,
        today=TODAY,
    )
    assert short == long


# --- the Transparency Database's statement ------------------------------------------------------------------------

DECISIONS = {
    "removed, fully automated": REMOVED,
    "every kind of decision": DecisionRequest(
        automated_decision="partially",
        visibility=("demoted", "other"),
        visibility_other="Excluded from recommendations",
        visibility_end_date="2026-06-30",
        monetary="other",
        monetary_other="Advertising revenue withheld",
        provision="partial_suspension",
        account="suspended",
        account_end_date="2026-04-10",
        account_type="private",
        content_type=("video", "other"),
        content_type_other="Livestream replay",
        content_language="ar",
        source="other_notification",
        source_identity="An internet referral unit",
        territorial_scope=("EU",),
        puid="platform-b_case_0042",
    ),
    "terms of service": replace(REMOVED, ground="incompatible"),
}


@pytest.mark.parametrize("request_", DECISIONS.values(), ids=DECISIONS.keys())
def test_the_statement_passes_the_published_schema(request_: DecisionRequest) -> None:
    settings = replace(SETTINGS, terms_ground={"en": "Community Guidelines, section 3"}, content_also_illegal="Yes")
    statement = decide(request_, basis(), basis(("tvec.attack_livestream",), record=2), settings=settings)
    assert schema_errors(statement) == []
    assert schema_errors(json.loads(to_json(statement))) == []


def test_the_statement_holds_no_personal_data_nor_the_hash_nor_member_names() -> None:
    text = to_json(decide(REMOVED))
    for private in ("upload/", PDQ_HEX, "platform-a", "Example Platform A", SID.removeprefix("sor-") + "x"):
        assert private not in text
    assert "Glorification of terrorist acts or their perpetrators (tvec.glorification)" in text
    assert "Hamming distance 12" in text


def test_the_hash_is_in_the_facts_only_where_the_platform_discloses_it() -> None:
    statement = decide(REMOVED, settings=replace(SETTINGS, disclose_hash=True))
    assert f"pdq {PDQ_HEX}" in str(statement["decision_facts"])
    assert schema_errors(statement) == []


def test_a_terms_of_service_decision_states_the_terms_and_their_page() -> None:
    settings = replace(
        SETTINGS, terms_ground={"en": "Community Guidelines, section 3"}, terms_url="https://b.example/rules"
    )
    statement = decide(replace(REMOVED, ground="incompatible"), settings=settings)
    assert statement["incompatible_content_ground"] == "Community Guidelines, section 3"
    assert statement["decision_ground_reference_url"] == "https://b.example/rules"
    assert "illegal_content_legal_ground" not in statement


def test_a_configured_text_the_database_refuses_is_an_error_not_a_statement() -> None:
    settings = replace(SETTINGS, legal_ground={"en": "x" * 501})
    with pytest.raises(InvalidArgument) as refused:
        decide(REMOVED, settings=settings)
    assert "illegal_content_legal_ground: got 501 characters, want at most 500" in refused.value.message


# --- the user's page ---------------------------------------------------------------------------------------------


def page(
    request_: DecisionRequest = REMOVED, settings: StatementSettings = SETTINGS, language: str = "en", **fields: object
) -> str:
    grounds = (basis(),)
    decision = resolve(request_, grounds, settings, statement_id=SID, today=TODAY)
    values: dict[str, object] = {
        "statement_id": SID,
        "issued_ms": T0 + 9 * DAY,
        "platform": "Example Platform B",
        "contact": "appeals@platform-b.example",
        "consortium": "example-consortium",
        "terrorist_content": True,
        **fields,
    }
    return render_page(decision, grounds, Page(**values), settings, PACKS[language])  # type: ignore[arg-type]


def test_the_page_says_what_why_when_how_and_where_to_appeal() -> None:
    html = page()
    for said in (
        "We removed your image.",
        "Date of the decision: 2026-03-10.",
        "“Glorification of terrorist acts or their perpetrators”, identified by Example Platform A, a member of "
        "the example-consortium hash-sharing consortium, on 2026-03-01.",
        "We consider the content illegal under Regulation (EU) 2021/784",
        "The decision was taken by automated means, without a person reviewing it.",
        f'<a class="button" href="https://platform-b.example/appeal?s={SID}">Ask for a review</a>',
        "We will tell you the outcome within two weeks",
        '<a href="mailto:appeals@platform-b.example">appeals@platform-b.example</a>',
    ):
        assert said in html, said


def test_the_page_loads_nothing_and_links_only_to_the_appeal_the_rules_and_the_contact() -> None:
    html = page()
    assert "default-src 'none'" in html
    assert re.findall(r"\b(?:src|srcset|action)=", html) == []
    assert sorted(re.findall(r'href="([^"]+)"', html)) == [
        "https://eur-lex.europa.eu/eli/reg/2021/784/oj",
        f"https://platform-b.example/appeal?s={SID}",
        "mailto:appeals@platform-b.example",
    ]


def test_without_an_appeal_address_the_page_says_to_write_to_the_contact() -> None:
    html = page(settings=replace(SETTINGS, appeal_url=""))
    assert 'To ask for a review, write to <a href="mailto:appeals@platform-b.example">' in html
    assert 'class="button"' not in html


def test_the_two_week_answer_is_promised_for_terrorist_content_only() -> None:
    assert "within two weeks" not in page(terrorist_content=False)


def test_everything_shown_is_escaped() -> None:
    html = page(platform='<script>alert(1)</script> & "B"', contact="javascript:alert(1)")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;B&quot;" in html
    assert 'href="javascript' not in html


def test_the_german_page_uses_the_german_pack_and_label_names() -> None:
    scoped = replace(REMOVED, territorial_scope=("DE", "AT"), account="suspended")
    html = page(scoped, language="de")
    assert '<html lang="de" dir="ltr">' in html
    assert "Wir haben Ihr Bild entfernt." in html and "Wir haben Ihr Konto gesperrt." in html
    assert "„Verherrlichung terroristischer Taten oder ihrer Täter“" in html
    assert "Dies gilt in diesen Ländern: Österreich, Deutschland." in html
    assert "Verordnung (EU) 2021/784" in html  # the default legal ground has a German text


# --- language packs -------------------------------------------------------------------------------------------------


def _english() -> str:
    return (ROOT / "node/data/statement.en.toml").read_text(encoding="utf-8")


def test_the_shipped_packs_are_the_built_in_languages_with_the_same_keys() -> None:
    assert tuple(sorted(PACKS)) == BUILTIN_LANGUAGES
    for section in SECTIONS:
        assert set(PACKS["de"].sections[section]) == set(PACKS["en"].sections[section]), section
    assert set(PACKS["de"].labels) == {label.name for label in DEFAULT_LABELS}


def test_a_language_added_in_the_operators_directory_renders(tmp_path: Path) -> None:
    french = (
        _english()
        .replace('language = "en"', 'language = "fr"')
        .replace(
            'heading = "Why we restricted your content"', 'heading = "Pourquoi nous avons restreint votre contenu"'
        )
    )
    (tmp_path / "statement.fr.toml").write_text(french, encoding="utf-8")
    packs = load_packs(tmp_path)
    assert sorted(packs) == ["de", "en", "fr"]
    settings = replace(SETTINGS, languages=tuple(packs))
    decision = resolve(replace(REMOVED, language="fr"), [basis()], settings, statement_id=SID, today=TODAY)
    html = render_page(decision, [basis()], Page(SID, T0, "B", "b@b.example", "c", True), settings, packs["fr"])
    assert "Pourquoi nous avons restreint votre contenu" in html


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace('title = "Statement of reasons"\n', ""), "text.title: got nothing, want a sentence"),
        (lambda t: t + '\n[text]\nx = "y"\n', "not valid TOML"),
        (lambda t: t.replace("We removed your {content}.", "We removed {what}."), "{what}, want only {content}"),
        (lambda t: t.replace('"We suspended your account."', '"We suspended {x"'), "want balanced {braces}"),
        (lambda t: t.replace('language = "fr"', 'language = "xx"'), "language: got 'xx', want 'fr'"),
        (lambda t: t.replace('direction = "ltr"', 'direction = "up"'), "direction: got 'up', want ltr or rtl"),
        (lambda t: t.replace("[labels]", "[colours]"), "colours: got an unknown key"),
    ],
    ids=[
        "missing sentence",
        "duplicate table",
        "unknown placeholder",
        "unbalanced",
        "wrong code",
        "direction",
        "section",
    ],
)
def test_a_malformed_pack_is_a_configuration_error_naming_file_and_key(
    tmp_path: Path, edit: object, message: str
) -> None:
    text = _english().replace('language = "en"', 'language = "fr"')
    path = tmp_path / "statement.fr.toml"
    path.write_text(edit(text), encoding="utf-8")  # type: ignore[operator]
    with pytest.raises(ConfigError) as refused:
        load_packs(tmp_path)
    assert refused.value.message.startswith(str(path)) and message in refused.value.message, refused.value.message


def test_the_english_pack_is_its_own_reference() -> None:
    assert parse_pack(_english(), "en.toml", None).code == "en"


# --- statements as stored, appeals and notices ---------------------------------------------------------------------


def statement(statement_id: str = SID, content_ref: str = "upload/1", records: tuple[int, ...] = (1,)) -> Statement:
    grounds = tuple(basis(record=r) for r in records)
    decision = resolve(REMOVED, grounds, SETTINGS, statement_id=statement_id, today=TODAY)
    return Statement(
        statement_id, T0 + 9 * DAY, content_ref, ("00000000000000aa",), grounds, decision, "{}", "<p>", "d"
    )


def test_a_statement_reads_back_as_stored() -> None:
    stored = replace(statement(records=(1, 2)), status="withdrawn", withdrawn_ms=5, withdrawal_reason="reinstated")
    assert Statement.from_document(stored.to_document()) == stored


def test_an_appeal_names_a_statement_by_leading_its_case_reference() -> None:
    assert statement_of_case(SID) == SID
    assert statement_of_case(SID + "/CASE-42") == SID
    assert statement_of_case("CASE-42") is None
    assert statement_of_case("sor-0123") is None


def _notice(
    content_ref: str, records: tuple[int, ...], query_ids: tuple[str, ...] = ("00000000000000aa",)
) -> ReinstateNotice:
    return ReinstateNotice(content_ref, tuple(bytes([r]) * 32 for r in records), (), query_ids, T0, T0)


def test_a_notice_names_the_statements_about_its_content_resting_on_the_overturned_record() -> None:
    about = statement("sor-00000000000000a1", "upload/1")
    elsewhere = statement("sor-00000000000000a2", "upload/2")
    other_record = statement("sor-00000000000000a3", "upload/1", records=(3,))
    [named] = name_statements([_notice("upload/1", (1,))], [about, other_record], {bytes([1]) * 32})
    assert named.statement_ids == ("sor-00000000000000a1",)
    [_, own] = name_statements([_notice("upload/1", (1,))], [about, elsewhere], {bytes([1]) * 32})
    assert (own.content_ref, own.statement_ids, own.overturned) == (
        "upload/2",
        ("sor-00000000000000a2",),
        (bytes([1]) * 32,),
    )


def test_a_statement_without_a_logged_match_still_gets_a_notice() -> None:
    [own] = name_statements([], [statement(records=(1, 2))], {bytes([1]) * 32})
    assert own.statement_ids == (SID,)
    assert (own.overturned, own.still_matched, own.cleared) == ((bytes([1]) * 32,), (bytes([2]) * 32,), False)


# --- the documentation ----------------------------------------------------------------------------------------------

DUE_PROCESS = (ROOT / "docs/due-process.md").read_text(encoding="utf-8")


def test_the_documented_category_table_is_the_default() -> None:
    [block] = [b for b in re.findall(r"```toml\n(.*?)```", DUE_PROCESS, re.S) if "statements.categories" in b]
    documented = tomllib.loads(block)["statements"]["categories"]
    labels = {label.name for label in DEFAULT_LABELS}
    assert CategoryTable.from_mapping(documented, "docs", labels) == CategoryTable.from_mapping({}, "docs", labels)
    assert set(documented) == labels


def test_the_documented_error_for_an_unmapped_label_is_the_nodes() -> None:
    [line] = [line for line in DUE_PROCESS.splitlines() if line.startswith("hashnode: error: node.toml: statements")]
    with pytest.raises(ConfigError) as refused:
        CategoryTable.from_mapping({}, "node.toml", {"tvec.propaganda", "x.new"})
    assert line == "hashnode: error: " + refused.value.message
