"""The DSA Transparency Database's statement of reasons: its attributes, their values and rules (API schema v2,
in force since 1 July 2025), a validator, and the JSON Schema published as docs/schema/dsa-statement.schema.json.

Online platforms submit one statement per restriction decision to the Commission's database (Regulation (EU)
2022/2065, Art. 24(5)), `POST https://transparency.dsa.ec.europa.eu/api/v1/statement`. Every value below is
copied from the database's public documentation and source (docs/due-process.md, "Statements of reasons",
cites the pages): this module is the one place the lists are written down. `check` reads them as the API's
rules do and answers "field: got X, want Y"; `schema()` writes the same rules as JSON Schema (draft 2020-12),
which tests check the node's statements against with the `jsonschema` package, so the two cannot drift.

Two rules are stricter than the API, on purpose: unknown attributes are errors (the API drops them, which would
hide a typo), and `territorial_scope` is required (the documentation says so; the API's rule says nullable).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date

DECISION_VISIBILITY = (
    "DECISION_VISIBILITY_CONTENT_REMOVED",
    "DECISION_VISIBILITY_CONTENT_DISABLED",
    "DECISION_VISIBILITY_CONTENT_DEMOTED",
    "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
    "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED",
    "DECISION_VISIBILITY_CONTENT_LABELLED",
    "DECISION_VISIBILITY_OTHER",
)
DECISION_MONETARY = ("DECISION_MONETARY_SUSPENSION", "DECISION_MONETARY_TERMINATION", "DECISION_MONETARY_OTHER")
DECISION_PROVISION = (
    "DECISION_PROVISION_PARTIAL_SUSPENSION",
    "DECISION_PROVISION_TOTAL_SUSPENSION",
    "DECISION_PROVISION_PARTIAL_TERMINATION",
    "DECISION_PROVISION_TOTAL_TERMINATION",
)
DECISION_ACCOUNT = ("DECISION_ACCOUNT_SUSPENDED", "DECISION_ACCOUNT_TERMINATED")
ACCOUNT_TYPE = ("ACCOUNT_TYPE_BUSINESS", "ACCOUNT_TYPE_PRIVATE")
GROUND_ILLEGAL = "DECISION_GROUND_ILLEGAL_CONTENT"
GROUND_INCOMPATIBLE = "DECISION_GROUND_INCOMPATIBLE_CONTENT"
DECISION_GROUND = (GROUND_ILLEGAL, GROUND_INCOMPATIBLE)
CONTENT_TYPE = (
    "CONTENT_TYPE_APP",
    "CONTENT_TYPE_AUDIO",
    "CONTENT_TYPE_IMAGE",
    "CONTENT_TYPE_PRODUCT",
    "CONTENT_TYPE_SYNTHETIC_MEDIA",
    "CONTENT_TYPE_TEXT",
    "CONTENT_TYPE_VIDEO",
    "CONTENT_TYPE_OTHER",
)
# v2 categories, as resources/markdown/api-documentation-two.md of the database's repository lists them.
CATEGORY = (
    "STATEMENT_CATEGORY_ANIMAL_WELFARE",
    "STATEMENT_CATEGORY_CONSUMER_INFORMATION",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
    "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
    "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
    "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
    "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE",
    "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
    "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
    "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
    "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
    "STATEMENT_CATEGORY_SELF_HARM",
    "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS",
    "STATEMENT_CATEGORY_VIOLENCE",
)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# v2 keywords (`category_specification`), in the documentation's order (its duplicate KEYWORD_OTHER dropped).
KEYWORD = tuple(
    "KEYWORD_" + k
    for k in _words(
        """ANIMAL_HARM ADULT_SEXUAL_MATERIAL AGE_SPECIFIC_RESTRICTIONS AGE_SPECIFIC_RESTRICTIONS_MINORS
    BIOMETRIC_DATA_BREACH BULLYING_AGAINST_GIRLS CHILD_SEXUAL_ABUSE_MATERIAL CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE
    CONTENT_PROMOTING_EATING_DISORDERS COORDINATED_HARM COPYRIGHT_INFRINGEMENT CYBER_BULLYING_INTIMIDATION
    CYBER_HARASSMENT CYBER_HARASSMENT_AGAINST_WOMEN CYBER_INCITEMENT CYBER_STALKING CYBER_STALKING_AGAINST_WOMEN
    DATA_FALSIFICATION DEFAMATION DESIGN_INFRINGEMENT DISCRIMINATION MISINFORMATION_DISINFORMATION
    FEMALE_GENDERED_DISINFORMATION GEOGRAPHIC_INDICATIONS_INFRINGEMENT GEOGRAPHICAL_REQUIREMENTS
    GOODS_SERVICES_NOT_PERMITTED GROOMING_SEXUAL_ENTICEMENT_MINORS HATE_SPEECH HIDDEN_ADVERTISEMENT
    HUMAN_EXPLOITATION HUMAN_TRAFFICKING ILLEGAL_ORGANIZATIONS IMPERSONATION_ACCOUNT_HIJACKING INAUTHENTIC_ACCOUNTS
    INAUTHENTIC_LISTINGS INAUTHENTIC_USER_REVIEWS INCITEMENT_AGAINST_WOMEN INCITEMENT_VIOLENCE_HATRED
    INSUFFICIENT_INFORMATION_ON_TRADERS LANGUAGE_REQUIREMENTS MISLEADING_INFO_CONSUMER_RIGHTS
    MISLEADING_INFO_GOODS_SERVICES MISSING_PROCESSING_GROUND NON_CONSENSUAL_IMAGE_SHARING
    NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN NON_CONSENSUAL_MATERIAL_DEEPFAKE
    NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN NONCOMPLIANCE_PRICING NUDITY PATENT_INFRINGEMENT PHISHING
    PROHIBITED_PRODUCTS PYRAMID_SCHEMES RIGHT_TO_BE_FORGOTTEN OTHER RISK_ENVIRONMENTAL_DAMAGE RISK_PUBLIC_HEALTH
    SELF_MUTILATION STALKING SUICIDE TERRORIST_CONTENT TRADE_SECRET_INFRINGEMENT TRADEMARK_INFRINGEMENT
    TRAFFICKING_WOMEN_GIRLS UNLAWFUL_SALE_ANIMALS UNSAFE_CHALLENGES UNSAFE_PRODUCTS VIOLATION_EU_LAW
    VIOLATION_NATIONAL_LAW"""
    )
)
SOURCE_ARTICLE_16 = "SOURCE_ARTICLE_16"
SOURCE_TRUSTED_FLAGGER = "SOURCE_TRUSTED_FLAGGER"
SOURCE_OTHER_NOTIFICATION = "SOURCE_TYPE_OTHER_NOTIFICATION"
SOURCE_VOLUNTARY = "SOURCE_VOLUNTARY"
SOURCE_TYPE = (SOURCE_ARTICLE_16, SOURCE_TRUSTED_FLAGGER, SOURCE_OTHER_NOTIFICATION, SOURCE_VOLUNTARY)
YES_NO = ("Yes", "No")
AUTOMATED_DECISION = (
    "AUTOMATED_DECISION_FULLY",
    "AUTOMATED_DECISION_PARTIALLY",
    "AUTOMATED_DECISION_NOT_AUTOMATED",
)
# app/Services/EuropeanCountriesService.php: the EU 27 and Iceland, Liechtenstein, Norway. Greece is GR, not EL.
EU = (
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU",
    "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
)  # fmt: skip
EEA = tuple(sorted((*EU, "IS", "LI", "NO")))
COUNTRY = EEA
# app/Services/EuropeanLanguagesService.php ALL_LANGUAGES: uppercase ISO 639-1.
LANGUAGE = _words(
    """AB AA AF AK SQ AM AR AN HY AS AV AE AY AZ BM BA EU BE BN BH BI BS BR BG MY CA KM CH CE NY ZH CU CV KW CO CR
    HR CS DA DV NL DZ EN EO ET EE FO FJ FI FR FF GD GL LG KA DE KI EL KL GN GU HT HA HE HZ HI HO HU IS IO IG ID IA
    IE IU IK GA IT JA JV KN KR KS KK RW KV KG KO KJ KU KY LO LA LV LB LI LN LT LU MK MG MS ML MT GV MI MR MH RO MN NA
    NV ND NG NE SE NO NB NN II OC OJ OR OM OS PI PA PS FA PL PT QU RM RN RU SM SG SA SC SR SN SD SI SK SL SO ST NR ES
    SU SW SS SV TL TY TG TA TT TE TH BO TI TO TS TN TR TK TW UG UK UR UZ VE VI VO WA CY FY WO XH YI YO ZA ZU"""
)

PUID_PATTERN = "^[a-zA-Z0-9_-]+$"  # enforced by the API since 18 April 2024
URL_PATTERN = "^[Hh][Tt][Tt][Pp][Ss]?://\\S+$"
EAN13_PATTERN = "^[0-9]{13}$"
_PUID = re.compile(PUID_PATTERN)
_URL = re.compile(URL_PATTERN)
_EAN13 = re.compile(EAN13_PATTERN)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
LATEST_DATE = date(2038, 1, 1)  # every date's upper bound in the API's code

# Maximum lengths (characters) of the free-text attributes.
MAX_OTHER = 500
MAX_FACTS = 5000
MAX_EXPLANATION = 2000
MAX_PUID = 500

# (attribute, earliest date); None: no lower bound.
_DATES: dict[str, date | None] = {
    "content_date": date(2000, 1, 1),
    "application_date": date(2020, 1, 1),
    "end_date_visibility_restriction": None,
    "end_date_monetary_restriction": None,
    "end_date_service_restriction": None,
    "end_date_account_restriction": None,
}
END_DATES = tuple(k for k in _DATES if k.startswith("end_date"))
_TEXTS = {
    "decision_visibility_other": MAX_OTHER,
    "decision_monetary_other": MAX_OTHER,
    "decision_facts": MAX_FACTS,
    "decision_ground_reference_url": MAX_OTHER,
    "illegal_content_legal_ground": MAX_OTHER,
    "illegal_content_explanation": MAX_EXPLANATION,
    "incompatible_content_ground": MAX_OTHER,
    "incompatible_content_explanation": MAX_EXPLANATION,
    "content_type_other": MAX_OTHER,
    "category_specification_other": MAX_OTHER,
    "source_identity": MAX_OTHER,
    "puid": MAX_PUID,
}
_ENUMS: dict[str, Sequence[str]] = {
    "decision_monetary": DECISION_MONETARY,
    "decision_provision": DECISION_PROVISION,
    "decision_account": DECISION_ACCOUNT,
    "account_type": ACCOUNT_TYPE,
    "decision_ground": DECISION_GROUND,
    "incompatible_content_illegal": YES_NO,
    "category": CATEGORY,
    "content_language": LANGUAGE,
    "source_type": SOURCE_TYPE,
    "automated_detection": YES_NO,
    "automated_decision": AUTOMATED_DECISION,
}
_ARRAYS: dict[str, Sequence[str]] = {
    "decision_visibility": DECISION_VISIBILITY,
    "content_type": CONTENT_TYPE,
    "category_addition": CATEGORY,
    "category_specification": KEYWORD,
    "territorial_scope": COUNTRY,
}
REQUIRED = (
    "decision_ground",
    "content_type",
    "category",
    "territorial_scope",
    "content_date",
    "application_date",
    "decision_facts",
    "source_type",
    "automated_detection",
    "automated_decision",
    "puid",
)
# Attributes that may be null (absent is the same); the others, when given, must hold a value.
_NOT_NULL = {*REQUIRED, "category_addition", "content_id"}
DECISIONS = ("decision_visibility", "decision_monetary", "decision_provision", "decision_account")
# (attribute, value that makes the others required, the attributes it requires)
_CONDITIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("decision_ground", GROUND_ILLEGAL, ("illegal_content_legal_ground", "illegal_content_explanation")),
    ("decision_ground", GROUND_INCOMPATIBLE, ("incompatible_content_ground", "incompatible_content_explanation")),
    ("decision_monetary", "DECISION_MONETARY_OTHER", ("decision_monetary_other",)),
    ("decision_visibility", "DECISION_VISIBILITY_OTHER", ("decision_visibility_other",)),
    ("content_type", "CONTENT_TYPE_OTHER", ("content_type_other",)),
)
ATTRIBUTES = (*_DATES, *_TEXTS, *_ENUMS, *_ARRAYS, "content_id")


def _shown(value: object) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."


def _check_date(name: str, value: object, earliest: date | None) -> str | None:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return f"{name}: got {_shown(value)}, want a date YYYY-MM-DD"
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return f"{name}: got {value}, want a calendar date YYYY-MM-DD"
    if (earliest is not None and day < earliest) or day > LATEST_DATE:
        low = earliest.isoformat() if earliest else "0001-01-01"
        return f"{name}: got {value}, want {low}..{LATEST_DATE.isoformat()}"
    return None


def _check_value(name: str, value: object) -> list[str]:
    """The errors of one attribute's value on its own (null handled by the caller)."""
    if name in _DATES:
        error = _check_date(name, value, _DATES[name])
        return [error] if error else []
    if name in _TEXTS:
        if not isinstance(value, str):
            return [f"{name}: got {_shown(value)}, want a string"]
        if len(value) > _TEXTS[name]:
            return [f"{name}: got {len(value)} characters, want at most {_TEXTS[name]}"]
        if name == "puid" and not _PUID.match(value):
            return [f"puid: got {_shown(value)}, want 1-500 characters a-z A-Z 0-9 _ -"]
        if name == "decision_ground_reference_url" and not _URL.match(value):
            return [f"{name}: got {_shown(value)}, want an http(s) URL"]
        if name in REQUIRED and not value:
            return [f"{name}: got an empty string, want a value"]
        return []
    if name in _ENUMS:
        return [] if value in _ENUMS[name] else [f"{name}: got {_shown(value)}, want one of {_ENUMS[name]}"]
    if name in _ARRAYS:
        if not isinstance(value, list):
            return [f"{name}: got {_shown(value)}, want an array"]
        if name in REQUIRED and not value:
            return [f"{name}: got [], want at least one value"]
        return [f"{name}: got {_shown(v)}, want one of {_ARRAYS[name]}" for v in value if v not in _ARRAYS[name]]
    if name == "content_id":
        if not isinstance(value, dict):
            return [f"content_id: got {_shown(value)}, want an object"]
        return [
            f"content_id: got {_shown(key)}: {_shown(code)}, want \"EAN-13\": a 13-digit product number"
            for key, code in value.items()
            if key != "EAN-13" or not isinstance(code, str) or not _EAN13.match(code)
        ]
    return [f"{name}: got an attribute the database does not define, want one of its attributes"]


def _present(statement: Mapping[str, object], name: str) -> bool:
    """The API's `required`: given, and not null, "" or []."""
    return statement.get(name) not in (None, "", [])


def check(statement: Mapping[str, object]) -> list[str]:
    """Every way `statement` breaks the database's rules, as "attribute: got X, want Y" (empty: none).

    Also the documented rule JSON Schema cannot say: an end date is not before the application date.
    """
    errors: list[str] = []
    for name, value in statement.items():
        if value is None:
            if name in _NOT_NULL:
                errors.append(f"{name}: got null, want a value")
            elif name not in ATTRIBUTES:
                errors += _check_value(name, value)
            continue
        errors += _check_value(name, value)
    errors += [f"{name}: got nothing, want a value (required)" for name in REQUIRED if name not in statement]
    if not any(_present(statement, name) for name in DECISIONS):
        errors.append("decision_visibility: got nothing, want at least one of " + ", ".join(DECISIONS))
    for name, value, needed in _CONDITIONS:
        given = statement.get(name)
        if given == value or (isinstance(given, list) and value in given):
            missing = [n for n in needed if not _present(statement, n)]
            errors += [f"{n}: got nothing, want a value when {name} is {value}" for n in missing]
    applied = statement.get("application_date")
    for name in END_DATES:
        end = statement.get(name)
        if isinstance(end, str) and isinstance(applied, str) and end < applied:
            errors.append(f"{name}: got {end}, want a date on or after application_date {applied}")
    return errors


# --- the JSON Schema ------------------------------------------------------------------------------------------

SCHEMA_ID = "urn:hashnode:dsa-tdb:statement:v2"
_MONTH_DAY = "(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
# The year ranges of the dates as patterns; "format": "date" rejects impossible days where formats are checked.
_DATE_PATTERNS = {
    "content_date": f"^((20[0-2][0-9]|203[0-7])-{_MONTH_DAY}|2038-01-01)$",
    "application_date": f"^((202[0-9]|203[0-7])-{_MONTH_DAY}|2038-01-01)$",
}
_ANY_DATE_PATTERN = f"^(([01][0-9]{{3}}|20[0-2][0-9]|203[0-7])-{_MONTH_DAY}|2038-01-01)$"


def _nullable(kind: str, nullable: bool) -> str | list[str]:
    return [kind, "null"] if nullable else kind


def _property(name: str) -> dict[str, object]:
    nullable = name not in _NOT_NULL
    if name in _DATES:
        pattern = _DATE_PATTERNS.get(name, _ANY_DATE_PATTERN)
        return {"type": _nullable("string", nullable), "format": "date", "pattern": pattern}
    if name in _TEXTS:
        text: dict[str, object] = {"type": _nullable("string", nullable), "maxLength": _TEXTS[name]}
        if name == "puid":
            text |= {"minLength": 1, "pattern": PUID_PATTERN}
        elif name == "decision_ground_reference_url":
            text["pattern"] = URL_PATTERN
        elif name in REQUIRED:
            text["minLength"] = 1
        return text
    if name in _ENUMS:
        return {"enum": [*_ENUMS[name], *([None] if nullable else [])]}
    if name in _ARRAYS:
        array: dict[str, object] = {"type": _nullable("array", nullable), "items": {"enum": list(_ARRAYS[name])}}
        return array | ({"minItems": 1} if name in REQUIRED else {})
    assert name == "content_id"
    return {
        "type": "object",
        "propertyNames": {"enum": ["EAN-13"]},
        "properties": {"EAN-13": {"type": "string", "pattern": EAN13_PATTERN}},
        "additionalProperties": False,
    }


def _condition(name: str, value: str, needed: tuple[str, ...]) -> dict[str, object]:
    test: dict[str, object] = (
        {"type": "array", "contains": {"const": value}} if name in _ARRAYS else {"const": value}
    )
    return {
        "if": {"required": [name], "properties": {name: test}},
        "then": {"required": list(needed), "properties": {n: {"type": "string", "minLength": 1} for n in needed}},
    }


def schema() -> dict[str, object]:
    """The JSON Schema (draft 2020-12) of one statement; `$defs/statements` is the batch endpoint's body."""
    present = {
        "decision_visibility": {"type": "array", "minItems": 1},
        "decision_monetary": {"type": "string"},
        "decision_provision": {"type": "string"},
        "decision_account": {"type": "string"},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "DSA Transparency Database statement of reasons (API schema v2, from 1 July 2025)",
        "description": (
            "One statement for POST https://transparency.dsa.ec.europa.eu/api/v1/statement; $defs/statements is "
            "the body of POST .../api/v1/statements (1..100). Written from the database's API documentation "
            "(https://transparency.dsa.ec.europa.eu/page/api-documentation) and its source; generated from "
            "node/dueprocess/tdb.py. Stricter than the API in two ways: unknown attributes are errors, and "
            "territorial_scope is required. Not expressible here: an end date is not before application_date."
        ),
        "type": "object",
        "additionalProperties": False,
        "properties": {name: _property(name) for name in sorted(ATTRIBUTES)},
        "required": list(REQUIRED),
        "anyOf": [{"required": [name], "properties": {name: rule}} for name, rule in present.items()],
        "allOf": [_condition(*condition) for condition in _CONDITIONS],
        "$defs": {
            "statements": {
                "type": "object",
                "additionalProperties": False,
                "required": ["statements"],
                "properties": {
                    "statements": {"type": "array", "minItems": 1, "maxItems": 100, "items": {"$ref": "#"}}
                },
            }
        },
    }
