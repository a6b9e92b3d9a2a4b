"""Statements of reasons: from a match a platform acted on to what the law asks it to tell the affected user and
the regulator (docs/due-process.md, "Statements of reasons").

The Digital Services Act (Regulation (EU) 2022/2065) requires a platform to give the user a statement of reasons
for every restriction (Art. 17) and to submit it, without personal data, to the Commission's Transparency
Database (Art. 24(5)); the Terrorist Content Online Regulation (2021/784) requires information to the content
provider (Art. 11) and a complaint route answered within two weeks (Art. 10). A restriction triggered by a
consortium hash has every fact such a statement needs: the platform declares what it did (`DecisionRequest`,
checked into a `Decision`), the node supplies why (`Basis`: the records the content matched, who contributed
them under which labels, when, how it matched), and `database_statement` writes the Transparency Database's
JSON (node/dueprocess/tdb.py) while node/dueprocess/statement_page.py writes the user's page.

The consortium's labels map to the database's categories and keywords through `CategoryTable`, set in the node
config (`[statements.categories]`); every label of the taxonomy must map, which the config checks when it loads.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from node.core.errors import ConfigError, InvalidArgument
from node.dueprocess import tdb
from node.dueprocess.matchlog import DAY_MS, ReinstateNotice
from node.dueprocess.statement_language import BUILTIN_LANGUAGES

# --- identifiers ----------------------------------------------------------------------------------------------

STATEMENT_ID = re.compile(r"sor-[0-9a-f]{16}")
STATUSES = ("issued", "withdrawn", "superseded")
DEFAULT_RETENTION_DAYS = 430  # a TCO report covers a calendar year and is due by 1 March: ~14 months back


def new_statement_id() -> str:
    """A statement id: `sor-` and 16 random hex digits (random, so ids say nothing about volumes)."""
    return f"sor-{secrets.randbits(64):016x}"


def check_statement_id(text: str, field_name: str = "statement_id") -> str:
    """Raises InvalidArgument unless `text` is a statement id."""
    if not STATEMENT_ID.fullmatch(text):
        raise InvalidArgument(field_name, text, "a statement id: sor- and 16 lowercase hex digits")
    return text


def statement_of_case(case_ref: str) -> str | None:
    """The statement an appeal's case reference names: the case reference is the statement id, or starts with it
    and a `/` (e.g. `sor-1a2b3c4d5e6f7a8b/CASE-42`). None when it names none."""
    head = case_ref.split("/", 1)[0]
    return head if STATEMENT_ID.fullmatch(head) else None


# --- the platform's decision -----------------------------------------------------------------------------------

# The short names the API and the command line take, and the database's values they stand for (either is taken).
VISIBILITY = {
    "removed": "DECISION_VISIBILITY_CONTENT_REMOVED",
    "disabled": "DECISION_VISIBILITY_CONTENT_DISABLED",
    "demoted": "DECISION_VISIBILITY_CONTENT_DEMOTED",
    "age_restricted": "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
    "interaction_restricted": "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED",
    "labelled": "DECISION_VISIBILITY_CONTENT_LABELLED",
    "other": "DECISION_VISIBILITY_OTHER",
}
MONETARY = {
    "suspension": "DECISION_MONETARY_SUSPENSION",
    "termination": "DECISION_MONETARY_TERMINATION",
    "other": "DECISION_MONETARY_OTHER",
}
PROVISION = {
    "partial_suspension": "DECISION_PROVISION_PARTIAL_SUSPENSION",
    "total_suspension": "DECISION_PROVISION_TOTAL_SUSPENSION",
    "partial_termination": "DECISION_PROVISION_PARTIAL_TERMINATION",
    "total_termination": "DECISION_PROVISION_TOTAL_TERMINATION",
}
ACCOUNT = {"suspended": "DECISION_ACCOUNT_SUSPENDED", "terminated": "DECISION_ACCOUNT_TERMINATED"}
ACCOUNT_TYPE = {"business": "ACCOUNT_TYPE_BUSINESS", "private": "ACCOUNT_TYPE_PRIVATE"}
CONTENT_TYPE = {name.removeprefix("CONTENT_TYPE_").lower(): name for name in tdb.CONTENT_TYPE}
AUTOMATED = {
    "fully": "AUTOMATED_DECISION_FULLY",
    "partially": "AUTOMATED_DECISION_PARTIALLY",
    "not_automated": "AUTOMATED_DECISION_NOT_AUTOMATED",
}
SOURCE = {
    "voluntary": tdb.SOURCE_VOLUNTARY,
    "article_16": tdb.SOURCE_ARTICLE_16,
    "trusted_flagger": tdb.SOURCE_TRUSTED_FLAGGER,
    "other_notification": tdb.SOURCE_OTHER_NOTIFICATION,
}
GROUND = {"illegal": tdb.GROUND_ILLEGAL, "incompatible": tdb.GROUND_INCOMPATIBLE}
# What a signal type says about the content it hashed; a file hash (md5, sha256) says nothing.
CONTENT_OF_SIGNAL = {"pdq": "CONTENT_TYPE_IMAGE", "video_md5": "CONTENT_TYPE_VIDEO", "vpdq": "CONTENT_TYPE_VIDEO"}
SCOPES = {"EU": tdb.EU, "EEA": tdb.EEA}


def _choice(field_name: str, value: str, table: Mapping[str, str]) -> str:
    """The database value for a short name (or the database value itself)."""
    if value in table:
        return table[value]
    if value in table.values():
        return value
    raise InvalidArgument(field_name, value, "one of " + ", ".join(table))


def _date(field_name: str, value: str) -> date:
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidArgument(field_name, value, "a calendar date YYYY-MM-DD")


def _text(field_name: str, value: str, limit: int) -> str:
    value = value.strip()
    if len(value) > limit:
        raise InvalidArgument(field_name, f"{len(value)} characters", f"at most {limit}")
    return value


def utc_day(time_ms: int) -> str:
    return datetime.fromtimestamp(time_ms / 1000, tz=UTC).date().isoformat()


@dataclass(frozen=True)
class DecisionRequest:
    """What the platform says it did, as given (short names or database values, dates `YYYY-MM-DD`, "" for
    "not given"): the request of `IssueStatement` and `hashnode statement`, before `resolve` checks it."""

    automated_decision: str = ""  # required: fully, partially or not_automated
    visibility: tuple[str, ...] = ()
    visibility_other: str = ""
    visibility_end_date: str = ""
    monetary: str = ""
    monetary_other: str = ""
    monetary_end_date: str = ""
    provision: str = ""
    provision_end_date: str = ""
    account: str = ""
    account_end_date: str = ""
    account_type: str = ""
    application_date: str = ""  # default: the day the statement is issued (UTC)
    content_date: str = ""  # default: the day of the content's first logged match (UTC)
    content_type: tuple[str, ...] = ()  # default: from the matched hashes' signal types, where they say
    content_type_other: str = ""
    content_language: str = ""
    source: str = ""  # default: voluntary (the platform's own hash matching)
    source_identity: str = ""
    ground: str = ""  # default: [statements] decision_ground
    territorial_scope: tuple[str, ...] = ()  # default: [statements] territorial_scope
    puid: str = ""  # default: the statement id
    language: str = ""  # of the user's page; default: [statements] language

    def digest(self, *about: str) -> str:
        """Identifies the request (and what it is `about`): a retry with the same puid must be the same."""
        text = json.dumps([asdict(self), list(about)], sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Decision:
    """A checked decision, in the database's values; every default resolved."""

    automated_decision: str
    application_date: str
    content_date: str
    content_type: tuple[str, ...]
    ground: str
    territorial_scope: tuple[str, ...]
    source: str
    puid: str
    language: str
    visibility: tuple[str, ...] = ()
    visibility_other: str = ""
    visibility_end_date: str = ""
    monetary: str = ""
    monetary_other: str = ""
    monetary_end_date: str = ""
    provision: str = ""
    provision_end_date: str = ""
    account: str = ""
    account_end_date: str = ""
    account_type: str = ""
    content_type_other: str = ""
    content_language: str = ""
    source_identity: str = ""

    @property
    def restricts_visibility(self) -> bool:
        """Removal or disabling of access: what TCO Art. 7(3)(c) counts as an item removed or disabled."""
        removal = {"DECISION_VISIBILITY_CONTENT_REMOVED", "DECISION_VISIBILITY_CONTENT_DISABLED"}
        return bool(removal & set(self.visibility))


# --- why: the records matched ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Basis:
    """A record the content matched and the decision rests on, as the node knew it when the statement was issued."""

    record_id: bytes
    signal_type: str
    value_hex: str  # the hash: on the user's page and in the database only if [statements] disclose_hash
    labels: tuple[str, ...]
    label_names: tuple[str, ...]  # the taxonomy's descriptions of `labels`, in order
    contributor: str  # member id
    contributor_name: str  # its organisation, from the roster
    contributed_ms: int
    matched_ms: int  # the content's first logged match of this record
    distance: int  # 0 for exact signal types and videos
    exact: bool  # an exact signal type (file hashes) rather than a perceptual one
    # A video's match (vpdq), by vPDQ's rule: the shares of the content's and of the identified video's frames
    # that match, and the matched time ranges [start_ms, end_ms) of each. `value_hex` is then the SHA-256 of the
    # record's features (its exact-lookup key), not the features, which run to hundreds of kilobytes.
    query_match_percent: float = 0.0
    compared_match_percent: float = 0.0
    query_ranges: tuple[tuple[int, int], ...] = ()
    stored_ranges: tuple[tuple[int, int], ...] = ()

    @property
    def video(self) -> bool:
        return self.signal_type == "vpdq"

    @property
    def disclosed(self) -> str:
        """The hash as a statement discloses it (`[statements] disclose_hash`)."""
        return f"vpdq features sha256 {self.value_hex}" if self.video else f"{self.signal_type} {self.value_hex}"


# --- labels -> the database's categories ----------------------------------------------------------------------


@dataclass(frozen=True)
class LabelCategory:
    category: str
    keywords: tuple[str, ...] = ()
    additional: tuple[str, ...] = ()
    keyword_other: str = ""  # category_specification_other, with KEYWORD_OTHER


_TERRORIST = LabelCategory("STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY", ("KEYWORD_TERRORIST_CONTENT",))
# The default for the built-in taxonomy (node/core/taxonomy.py), after docs/due-process.md, "Labels and
# categories": terrorist content is "Risk for public security" with the keyword "Terrorist content" (the
# database has no terrorism category since its first version); a label's other aspects are additional categories.
DEFAULT_CATEGORIES: Mapping[str, LabelCategory] = {
    "tvec.imminent_credible_threat": replace(_TERRORIST, additional=("STATEMENT_CATEGORY_VIOLENCE",)),
    "tvec.graphic_violence": replace(_TERRORIST, additional=("STATEMENT_CATEGORY_VIOLENCE",)),
    "tvec.glorification": replace(_TERRORIST, additional=("STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",)),
    "tvec.recruitment_instruction": replace(
        _TERRORIST, keywords=("KEYWORD_ILLEGAL_ORGANIZATIONS", "KEYWORD_TERRORIST_CONTENT")
    ),
    "tvec.attack_livestream": replace(_TERRORIST, additional=("STATEMENT_CATEGORY_VIOLENCE",)),
    "tvec.propaganda": replace(_TERRORIST, keywords=("KEYWORD_ILLEGAL_ORGANIZATIONS", "KEYWORD_TERRORIST_CONTENT")),
    "tvec.manifesto": replace(_TERRORIST, additional=("STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",)),
    # The consortium shares terrorist content only: what a referral unit refers to it is of that kind.
    "referral.law_enforcement": _TERRORIST,
}


def _ordered(values: Iterable[str], order: Sequence[str]) -> tuple[str, ...]:
    return tuple(sorted(set(values), key=order.index))


@dataclass(frozen=True)
class Categorised:
    category: str
    additional: tuple[str, ...]
    keywords: tuple[str, ...]
    keyword_other: str

    @property
    def terrorist_content(self) -> bool:
        return "KEYWORD_TERRORIST_CONTENT" in self.keywords


@dataclass(frozen=True)
class CategoryTable:
    """Taxonomy label -> the database's category, keywords and additional categories."""

    labels: Mapping[str, LabelCategory] = field(default_factory=lambda: dict(DEFAULT_CATEGORIES))

    def categorise(self, labels: Collection[str]) -> Categorised:
        """One category for a decision resting on `labels`: the one most of them map to (ties: the database's
        order); the others, and every label's additional categories, as `category_addition`; keywords united.

        Raises:
            InvalidArgument: a label has no entry (the config check makes this unreachable on a running node).
        """
        missing = sorted(set(labels) - set(self.labels))
        if missing:
            raise InvalidArgument("labels", missing[0], "a label [statements.categories] maps")
        entries = [self.labels[label] for label in sorted(set(labels))]
        counts = Counter(e.category for e in entries)
        category = min(counts, key=lambda c: (-counts[c], tdb.CATEGORY.index(c)))
        additional = {e.category for e in entries} | {a for e in entries for a in e.additional}
        keywords = _ordered((k for e in entries for k in e.keywords), tdb.KEYWORD)
        others = sorted({e.keyword_other for e in entries if e.keyword_other})
        return Categorised(
            category,
            _ordered(additional - {category}, tdb.CATEGORY),
            keywords,
            "; ".join(others)[: tdb.MAX_OTHER] if "KEYWORD_OTHER" in keywords else "",
        )

    @classmethod
    def from_mapping(cls, table: Mapping[str, object], source: str, taxonomy: Collection[str]) -> CategoryTable:
        """The default table with `[statements.categories]` over it, checked against the taxonomy's labels.

        Raises:
            ConfigError: an entry is malformed or names a label the taxonomy lacks, or a label of the taxonomy
                has no entry.
        """
        labels = {label: entry for label, entry in DEFAULT_CATEGORIES.items() if label in taxonomy}
        for label, entry in table.items():
            where = f"{source}: statements.categories.{label}"
            if label not in taxonomy:
                raise ConfigError(f"{where}: got a label the taxonomy lacks, want one of {', '.join(sorted(taxonomy))}")
            if not isinstance(entry, dict):
                raise ConfigError(f"{where}: got {type(entry).__name__}, want a table: category, keywords, additional")
            labels[label] = _label_category(where, entry)
        unmapped = sorted(set(taxonomy) - set(labels))
        if unmapped:
            raise ConfigError(
                f"{source}: statements.categories: got no entry for the taxonomy's label {unmapped[0]!r}"
                + (f" (and {len(unmapped) - 1} more)" if len(unmapped) > 1 else "")
                + f', want [statements.categories."{unmapped[0]}"] category = "STATEMENT_CATEGORY_..." '
                "(the DSA Transparency Database category of content so labelled; docs/due-process.md)"
            )
        return cls(labels)


def _label_category(where: str, entry: Mapping[str, object]) -> LabelCategory:
    unknown = sorted(set(entry) - {"category", "keywords", "additional", "keyword_other"})
    if unknown:
        want = "category, keywords, additional, keyword_other"
        raise ConfigError(f"{where}.{unknown[0]}: got an unknown key, want {want}")
    category = entry.get("category")
    if category not in tdb.CATEGORY:
        raise ConfigError(f"{where}.category: got {category!r}, want one of the database's categories {tdb.CATEGORY}")

    def values(key: str, allowed: Sequence[str]) -> tuple[str, ...]:
        given = entry.get(key, [])
        if not isinstance(given, list) or any(v not in allowed for v in given):
            bad = given if not isinstance(given, list) else next(v for v in given if v not in allowed)
            raise ConfigError(f"{where}.{key}: got {bad!r}, want a list of the database's values ({allowed[0]}, ...)")
        return _ordered(given, allowed)

    other = entry.get("keyword_other", "")
    if not isinstance(other, str) or len(other) > tdb.MAX_OTHER:
        raise ConfigError(f"{where}.keyword_other: got {other!r}, want text of at most {tdb.MAX_OTHER} characters")
    keywords = values("keywords", tdb.KEYWORD)
    if other and "KEYWORD_OTHER" not in keywords:
        raise ConfigError(f"{where}.keyword_other: got {other!r} without KEYWORD_OTHER, want KEYWORD_OTHER in keywords")
    return LabelCategory(str(category), keywords, values("additional", tdb.CATEGORY), other)


# --- the platform's settings ------------------------------------------------------------------------------------

DEFAULT_LEGAL_GROUND: Mapping[str, str] = {
    "en": "Regulation (EU) 2021/784 on addressing the dissemination of terrorist content online, Art. 2(7), and "
    "the national law transposing Directive (EU) 2017/541 on combating terrorism",
    "de": "Verordnung (EU) 2021/784 zur Bekämpfung der Verbreitung terroristischer Online-Inhalte, Art. 2 Nr. 7, "
    "und das nationale Recht zur Umsetzung der Richtlinie (EU) 2017/541 zur Terrorismusbekämpfung",
}
DEFAULT_GROUND_URL = "https://eur-lex.europa.eu/eli/reg/2021/784/oj"
_SETTINGS_KEYS = (
    "language",
    "languages_dir",
    "platform_name",
    "contact",
    "appeal_url",
    "decision_ground",
    "legal_ground",
    "terms_ground",
    "content_also_illegal",
    "legal_ground_url",
    "terms_url",
    "explanation",
    "territorial_scope",
    "disclose_hash",
    "retention_days",
    "categories",
)
_URL = re.compile(r"https?://[^\s<>\"']+")
MAX_EXPLANATION = 1000  # of the platform's own words; the generated part takes the rest of the 2,000


@dataclass(frozen=True)
class StatementSettings:
    """`[statements]` of the node config: how this platform words and addresses its statements."""

    language: str = "en"
    platform_name: str = ""  # "": this member's organisation in the roster
    contact: str = ""  # "": this member's contact in the roster
    appeal_url: str = ""  # where the user asks for a review; {statement_id} is replaced. "": write to `contact`
    decision_ground: str = tdb.GROUND_ILLEGAL
    # The texts below by language code: the Transparency Database gets the English one (else the one of
    # `language`), each page its own language's (else the database's).
    legal_ground: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_LEGAL_GROUND))
    terms_ground: Mapping[str, str] = field(default_factory=dict)
    explanation: Mapping[str, str] = field(default_factory=dict)  # the platform's words after the generated ones
    content_also_illegal: str = ""  # with the incompatible ground: "Yes", "No" or "" (not said)
    legal_ground_url: str = DEFAULT_GROUND_URL  # the law relied on
    terms_url: str = ""  # the terms of service relied on
    territorial_scope: tuple[str, ...] = tdb.EEA
    disclose_hash: bool = False
    retention_days: int = DEFAULT_RETENTION_DAYS
    categories: CategoryTable = field(default_factory=CategoryTable)
    languages: tuple[str, ...] = BUILTIN_LANGUAGES  # the language packs loaded

    @property
    def retention_ms(self) -> int:
        return self.retention_days * DAY_MS

    def database_text(self, texts: Mapping[str, str]) -> str:
        """A text's version for the Transparency Database: English, else the default language's, else any."""
        return texts.get("en") or texts.get(self.language) or next(iter(texts.values()), "")

    def page_text(self, texts: Mapping[str, str], language: str) -> str:
        return texts.get(language) or self.database_text(texts)

    def ground_url(self, ground: str) -> str:
        """The page of the rules a decision on `ground` relies on ("": none configured)."""
        return self.legal_ground_url if ground == tdb.GROUND_ILLEGAL else self.terms_url

    def appeal_link(self, statement_id: str) -> str:
        return self.appeal_url.replace("{statement_id}", statement_id)

    @classmethod
    def from_mapping(
        cls, table: Mapping[str, Any], source: str, taxonomy: Collection[str], languages: Collection[str]
    ) -> StatementSettings:
        """Reads `[statements]` (everything optional); `languages`: the packs loaded, `taxonomy`: its labels.

        Raises:
            ConfigError: naming the file and the field.
        """

        def fail(key: str, got: object, want: str) -> ConfigError:
            return ConfigError(f"{source}: statements.{key}: got {got!r}, want {want}")

        unknown = sorted(set(table) - set(_SETTINGS_KEYS))
        if unknown:
            raise fail(unknown[0], unknown[0], "one of " + ", ".join(_SETTINGS_KEYS) + " (unknown key)")

        def text(key: str, default: str, limit: int) -> str:
            value = table.get(key, default)
            if not isinstance(value, str) or len(value.strip()) > limit:
                raise fail(key, value, f"text of at most {limit} characters")
            return value.strip()

        def texts(key: str, default: Mapping[str, str], limit: int) -> dict[str, str]:
            """A text, or a table of texts by language code (`key = { en = "...", de = "..." }`)."""
            value = table.get(key, default)
            if isinstance(value, str):
                value = {language: value} if value.strip() else {}
            want = f"text of at most {limit} characters, or a table of such texts by language code"
            if not isinstance(value, dict):
                raise fail(key, value, want)
            for code, each in value.items():
                if code not in languages and code != "en":
                    raise fail(f"{key}.{code}", code, "a language with a pack: " + ", ".join(sorted(languages)))
                if not isinstance(each, str) or not each.strip() or len(each.strip()) > limit:
                    raise fail(f"{key}.{code}", each, want)
            return {code: each.strip() for code, each in value.items()}

        language = text("language", "en", 16)
        if language not in languages:
            raise fail("language", language, "a language with a pack: " + ", ".join(sorted(languages)))
        ground = _choice_config(fail, "decision_ground", table.get("decision_ground", "illegal"), GROUND)
        terms = texts("terms_ground", {}, tdb.MAX_OTHER)
        if ground == tdb.GROUND_INCOMPATIBLE and not terms:
            raise fail("terms_ground", terms, "the terms of service relied on (decision_ground is incompatible)")
        also_illegal = table.get("content_also_illegal")
        if also_illegal is not None and not isinstance(also_illegal, bool):
            raise fail("content_also_illegal", also_illegal, "true or false")
        return cls(
            language=language,
            platform_name=text("platform_name", "", 200),
            contact=text("contact", "", 200),
            appeal_url=_url(fail, "appeal_url", text("appeal_url", "", tdb.MAX_OTHER), placeholder=True),
            decision_ground=ground,
            legal_ground=texts("legal_ground", DEFAULT_LEGAL_GROUND, tdb.MAX_OTHER) or dict(DEFAULT_LEGAL_GROUND),
            terms_ground=terms,
            explanation=texts("explanation", {}, MAX_EXPLANATION),
            content_also_illegal="" if also_illegal is None else ("Yes" if also_illegal else "No"),
            legal_ground_url=_url(
                fail, "legal_ground_url", text("legal_ground_url", DEFAULT_GROUND_URL, tdb.MAX_OTHER)
            ),
            terms_url=_url(fail, "terms_url", text("terms_url", "", tdb.MAX_OTHER)),
            territorial_scope=_scope(fail, table.get("territorial_scope", ["EEA"])),
            disclose_hash=_boolean(fail, table, "disclose_hash"),
            retention_days=_days(fail, table.get("retention_days", DEFAULT_RETENTION_DAYS)),
            categories=CategoryTable.from_mapping(_categories(fail, table), source, taxonomy),
            languages=tuple(sorted(languages)),
        )


def _choice_config(fail: Any, key: str, value: object, table: Mapping[str, str]) -> str:
    if isinstance(value, str) and (value in table or value in table.values()):
        return table.get(value, value)
    raise fail(key, value, " or ".join(table))


def _url(fail: Any, key: str, value: str, *, placeholder: bool = False) -> str:
    if value and not _URL.fullmatch(value):
        raise fail(key, value, "an http(s) URL")
    braces = value.replace("{statement_id}", "") if placeholder else value
    if "{" in braces or "}" in braces:
        raise fail(key, value, "no placeholder but {statement_id}" if placeholder else "a URL without braces")
    return value


def _scope(fail: Any, value: object) -> tuple[str, ...]:
    want = 'a list of EU/EEA country codes (GR for Greece), or ["EU"] or ["EEA"]'
    if not isinstance(value, list) or not value:
        raise fail("territorial_scope", value, want)
    try:
        return check_scope(value, "territorial_scope")
    except InvalidArgument:
        raise fail("territorial_scope", value, want) from None


def check_scope(value: Sequence[object], field_name: str) -> tuple[str, ...]:
    """Country codes (and the shorthands EU, EEA) as the database's sorted codes. Raises: InvalidArgument."""
    codes: set[str] = set()
    for item in value:
        code = str(item).upper()
        if code in SCOPES:
            codes |= set(SCOPES[code])
        elif code in tdb.COUNTRY:
            codes.add(code)
        else:
            raise InvalidArgument(field_name, str(item), "EU, EEA or a country code of the EU/EEA (GR for Greece)")
    return tuple(sorted(codes))


def _boolean(fail: Any, table: Mapping[str, object], key: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise fail(key, value, "true or false")
    return value


def _days(fail: Any, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3650:
        raise fail("retention_days", value, "1..3650")
    return value


def _categories(fail: Any, table: Mapping[str, object]) -> Mapping[str, object]:
    value = table.get("categories", {})
    if not isinstance(value, dict):
        raise fail("categories", value, '[statements.categories] with one "label" = { category = ... } per label')
    return value


# --- checking a request ------------------------------------------------------------------------------------------


def _end_date(name: str, value: str, applied: date) -> str:
    if not value:
        return ""
    end = _date(name, value)
    if end < applied or end > tdb.LATEST_DATE:
        raise InvalidArgument(name, value, f"a date from application_date {applied.isoformat()} to 2038-01-01")
    return value


def _content_types(request: DecisionRequest, basis: Sequence[Basis]) -> tuple[str, ...]:
    if request.content_type:
        return _ordered((_choice("content_type", c, CONTENT_TYPE) for c in request.content_type), tdb.CONTENT_TYPE)
    inferred = {CONTENT_OF_SIGNAL.get(b.signal_type) for b in basis}
    if None in inferred or not inferred:
        kinds = ", ".join(sorted({b.signal_type for b in basis}))
        raise InvalidArgument(
            "content_type", "nothing", f"the content's type ({', '.join(CONTENT_TYPE)}): a {kinds} match does not say"
        )
    return _ordered((c for c in inferred if c), tdb.CONTENT_TYPE)


def resolve(
    request: DecisionRequest,
    basis: Sequence[Basis],
    settings: StatementSettings,
    *,
    statement_id: str,
    today: str,
) -> Decision:
    """Checks the platform's request and fills its defaults.

    Raises:
        InvalidArgument: a field is malformed, missing or contradicts another ("field: got X, want Y").
    """
    if not request.automated_decision:
        raise InvalidArgument(
            "automated_decision", "nothing", "fully, partially or not_automated: how the platform decided"
        )
    automated = _choice("automated_decision", request.automated_decision, AUTOMATED)
    visibility = _ordered((_choice("visibility", v, VISIBILITY) for v in request.visibility), tdb.DECISION_VISIBILITY)
    monetary = _choice("monetary", request.monetary, MONETARY) if request.monetary else ""
    provision = _choice("provision", request.provision, PROVISION) if request.provision else ""
    account = _choice("account", request.account, ACCOUNT) if request.account else ""
    if not (visibility or monetary or provision or account):
        want = "what the platform did: visibility, monetary, provision or account"
        raise InvalidArgument("visibility", "nothing", want)
    applied = _date("application_date", request.application_date or today)
    if not date(2020, 1, 1) <= applied <= tdb.LATEST_DATE:
        raise InvalidArgument("application_date", applied.isoformat(), "2020-01-01..2038-01-01")
    first_match = utc_day(min(b.matched_ms for b in basis))
    posted = _date("content_date", request.content_date or first_match)
    if not date(2000, 1, 1) <= posted <= applied:
        raise InvalidArgument("content_date", posted.isoformat(), f"2000-01-01..application_date {applied.isoformat()}")
    visibility_other = _text("visibility_other", request.visibility_other, tdb.MAX_OTHER)
    if "DECISION_VISIBILITY_OTHER" in visibility and not visibility_other:
        raise InvalidArgument("visibility_other", "nothing", "what the other restriction is (visibility other)")
    monetary_other = _text("monetary_other", request.monetary_other, tdb.MAX_OTHER)
    if monetary == "DECISION_MONETARY_OTHER" and not monetary_other:
        raise InvalidArgument("monetary_other", "nothing", "what the other restriction is (monetary other)")
    content_type = _content_types(request, basis)
    content_type_other = _text("content_type_other", request.content_type_other, tdb.MAX_OTHER)
    if "CONTENT_TYPE_OTHER" in content_type and not content_type_other:
        raise InvalidArgument("content_type_other", "nothing", "what the content is (content type other)")
    language = (request.content_language or "").upper()
    if language and language not in tdb.LANGUAGE:
        raise InvalidArgument("content_language", request.content_language, "an ISO 639-1 code, e.g. en, de, ar")
    puid = request.puid or statement_id
    if len(puid) > tdb.MAX_PUID or not re.fullmatch(tdb.PUID_PATTERN, puid):
        raise InvalidArgument("puid", puid, "1-500 characters a-z A-Z 0-9 _ - (never personal data)")
    page_language = request.language or settings.language
    if page_language not in settings.languages:
        raise InvalidArgument("language", page_language, "a language with a pack: " + ", ".join(settings.languages))
    source = _choice("source", request.source, SOURCE) if request.source else tdb.SOURCE_VOLUNTARY
    return Decision(
        automated_decision=automated,
        application_date=applied.isoformat(),
        content_date=posted.isoformat(),
        content_type=content_type,
        ground=_choice("ground", request.ground, GROUND) if request.ground else settings.decision_ground,
        territorial_scope=(
            check_scope(request.territorial_scope, "territorial_scope")
            if request.territorial_scope
            else settings.territorial_scope
        ),
        source=source,
        puid=puid,
        language=page_language,
        visibility=visibility,
        visibility_other=visibility_other if "DECISION_VISIBILITY_OTHER" in visibility else "",
        visibility_end_date=_end_date("visibility_end_date", request.visibility_end_date, applied),
        monetary=monetary,
        monetary_other=monetary_other if monetary == "DECISION_MONETARY_OTHER" else "",
        monetary_end_date=_end_date("monetary_end_date", request.monetary_end_date, applied),
        provision=provision,
        provision_end_date=_end_date("provision_end_date", request.provision_end_date, applied),
        account=account,
        account_end_date=_end_date("account_end_date", request.account_end_date, applied),
        account_type=_choice("account_type", request.account_type, ACCOUNT_TYPE) if request.account_type else "",
        content_type_other=content_type_other if "CONTENT_TYPE_OTHER" in content_type else "",
        content_language=language,
        source_identity=(
            "" if source == tdb.SOURCE_VOLUNTARY else _text("source_identity", request.source_identity, tdb.MAX_OTHER)
        ),
    )


# --- the Transparency Database's statement ----------------------------------------------------------------------


def _label_list(basis: Sequence[Basis]) -> str:
    named = {label: name for b in basis for label, name in zip(b.labels, b.label_names, strict=True)}
    return "; ".join(f"{(name or label).rstrip('.')} ({label})" for label, name in sorted(named.items()))


_SIGNAL_NAMES = {"pdq": "PDQ", "md5": "MD5", "sha256": "SHA-256", "video_md5": "MD5", "vpdq": "vPDQ"}


def _how_matched(b: Basis, disclose_hash: bool) -> str:
    kind = _SIGNAL_NAMES.get(b.signal_type, b.signal_type)
    if b.exact:
        how = f"an identical {kind} hash of the file"
    elif b.video:
        how = (
            f"vPDQ video hashes, frame by frame (PDQ): {percent(b.query_match_percent)} of the content's frames "
            f"({time_ranges(b.query_ranges)}) and {percent(b.compared_match_percent)} of the identified video's "
            f"({time_ranges(b.stored_ranges)}) match"
        )
    else:
        how = f"a {kind} perceptual hash at Hamming distance {b.distance} (of 256 bits)"
    return how + (f" ({b.disclosed})" if disclose_hash else "")


def percent(value: float) -> str:
    """A match percentage, never rounded up to a threshold it did not reach: 79.96 is 79.9 %."""
    return f"{int(value * 10) / 10:.1f} %"


def time_ranges(ranges: Sequence[tuple[int, int]]) -> str:
    """Matched spans as `m:ss-m:ss` (`h:mm:ss` from an hour), to the second."""
    return ", ".join(f"{_clock(start)}-{_clock(end)}" for start, end in ranges) or "none"


def _clock(ms: int) -> str:
    minutes, seconds = divmod(ms // 1000, 60)
    hours, minutes = divmod(minutes, 60)
    return (f"{hours}:{minutes:02d}" if hours else f"{minutes}") + f":{seconds:02d}"


def decision_facts(basis: Sequence[Basis], consortium: str, disclose_hash: bool) -> str:
    """The database's `decision_facts`: standard wording, no personal data, no member named, the hash only if
    the platform's settings disclose it."""
    matches = "; ".join(_how_matched(b, disclose_hash) for b in basis)
    text = (
        "Detected by automated hash matching: the content is a copy or close variant of material in the database "
        f"of the {consortium} hash-sharing consortium, where it was identified as: {_label_list(basis)}. "
        f"Matched by {matches}."
    )
    return text[: tdb.MAX_FACTS]


def explanation(basis: Sequence[Basis], consortium: str, settings: StatementSettings) -> str:
    text = (
        f"A member of the {consortium} hash-sharing consortium identified the material this content copies as: "
        f"{_label_list(basis)}."
    )
    if settings.explanation:
        text += " " + settings.database_text(settings.explanation)
    return text[: tdb.MAX_EXPLANATION]


def database_statement(
    decision: Decision, basis: Sequence[Basis], consortium: str, settings: StatementSettings
) -> dict[str, object]:
    """The statement to submit to the DSA Transparency Database, in the order of its documentation.

    Raises:
        InvalidArgument: the result breaks the database's rules (`tdb.check`), e.g. a configured text too long.
    """
    categorised = settings.categories.categorise({label for b in basis for label in b.labels})
    statement: dict[str, object] = {}

    def put(name: str, value: object) -> None:
        if value not in ("", (), None):
            statement[name] = list(value) if isinstance(value, tuple) else value

    put("decision_visibility", decision.visibility)
    put("decision_visibility_other", decision.visibility_other)
    put("end_date_visibility_restriction", decision.visibility_end_date)
    put("decision_monetary", decision.monetary)
    put("decision_monetary_other", decision.monetary_other)
    put("end_date_monetary_restriction", decision.monetary_end_date)
    put("decision_provision", decision.provision)
    put("end_date_service_restriction", decision.provision_end_date)
    put("decision_account", decision.account)
    put("end_date_account_restriction", decision.account_end_date)
    put("account_type", decision.account_type)
    put("decision_facts", decision_facts(basis, consortium, settings.disclose_hash))
    put("decision_ground", decision.ground)
    put("decision_ground_reference_url", settings.ground_url(decision.ground))
    if decision.ground == tdb.GROUND_ILLEGAL:
        put("illegal_content_legal_ground", settings.database_text(settings.legal_ground))
        put("illegal_content_explanation", explanation(basis, consortium, settings))
    else:
        put("incompatible_content_ground", settings.database_text(settings.terms_ground))
        put("incompatible_content_explanation", explanation(basis, consortium, settings))
        put("incompatible_content_illegal", settings.content_also_illegal)
    put("content_type", decision.content_type)
    put("content_type_other", decision.content_type_other)
    put("category", categorised.category)
    put("category_addition", categorised.additional)
    put("category_specification", categorised.keywords)
    put("category_specification_other", categorised.keyword_other)
    put("territorial_scope", decision.territorial_scope)
    put("content_language", decision.content_language)
    put("content_date", decision.content_date)
    put("application_date", decision.application_date)
    put("source_type", decision.source)
    put("source_identity", decision.source_identity)
    put("automated_detection", "Yes")  # a hash match is detection by automated means
    put("automated_decision", decision.automated_decision)
    put("puid", decision.puid)
    errors = tdb.check(statement)
    if errors:
        raise InvalidArgument("statement", errors[0], "a statement the Transparency Database accepts")
    return statement


def to_json(statement: Mapping[str, object]) -> str:
    """The statement as a JSON document: one attribute per line, in the documentation's order."""
    lines = [f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in statement.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"


# --- a statement as issued ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    """A statement of reasons this node issued, and what became of it."""

    statement_id: str
    issued_ms: int
    content_ref: str
    query_ids: tuple[str, ...]
    basis: tuple[Basis, ...]
    decision: Decision
    database_json: str  # what to submit to the Transparency Database
    page_html: str  # what the user reads
    request_digest: str
    category: str = ""
    keywords: tuple[str, ...] = ()
    status: str = "issued"  # issued, withdrawn, superseded
    supersedes: str = ""
    superseded_by: str = ""
    withdrawn_ms: int = 0
    withdrawal_reason: str = ""

    @property
    def puid(self) -> str:
        return self.decision.puid

    @property
    def record_ids(self) -> tuple[bytes, ...]:
        return tuple(b.record_id for b in self.basis)

    def to_document(self) -> bytes:
        data = asdict(self)
        data["basis"] = [{**asdict(b), "record_id": b.record_id.hex()} for b in self.basis]
        return json.dumps({"v": 1, **data}, sort_keys=True, ensure_ascii=False).encode("utf-8")

    @classmethod
    def from_document(cls, raw: bytes) -> Statement:
        data = json.loads(raw)
        data.pop("v")
        basis = tuple(
            Basis(**{**b, "record_id": bytes.fromhex(b["record_id"]), **_tuples(b, "labels", "label_names"),
                     **_ranges(b)})
            for b in data.pop("basis")
        )
        decision = data.pop("decision")
        tuples = ("visibility", "content_type", "territorial_scope")
        return cls(
            basis=basis,
            decision=Decision(**{**decision, **_tuples(decision, *tuples)}),
            **{**data, **_tuples(data, "query_ids", "keywords")},
        )


def _tuples(data: Mapping[str, Any], *names: str) -> dict[str, tuple[str, ...]]:
    return {name: tuple(data[name]) for name in names}


def _ranges(basis: Mapping[str, Any]) -> dict[str, tuple[tuple[int, int], ...]]:
    """A stored basis's video ranges (JSON lists) as tuples; none in statements issued before videos."""
    names = ("query_ranges", "stored_ranges")
    return {name: tuple((start, end) for start, end in basis[name]) for name in names if name in basis}


# --- reinstatement notices naming statements ---------------------------------------------------------------------


def name_statements(
    notices: Sequence[ReinstateNotice], statements: Sequence[Statement], final: Collection[bytes]
) -> list[ReinstateNotice]:
    """The notices an overturned or retracted record issues, each naming the statements about its content that
    rest on a record in `final` (records that no longer match anywhere): the statements to withdraw or update.

    A statement is about a notice's content when it has the notice's content reference (or, without one, one
    of its query ids). A statement no notice covers (its matches are past the match log's retention, or the log
    is off) gets a notice of its own, built from what the statement recorded.
    """
    gone = set(final)
    relevant = [s for s in statements if gone & set(s.record_ids)]
    named: list[ReinstateNotice] = []
    covered: set[str] = set()
    for notice in notices:
        ids = tuple(
            sorted(
                s.statement_id
                for s in relevant
                if (s.content_ref and s.content_ref == notice.content_ref)
                or (not s.content_ref and set(s.query_ids) & set(notice.query_ids))
            )
        )
        covered.update(ids)
        named.append(replace(notice, statement_ids=ids) if ids else notice)
    for s in relevant:
        if s.statement_id in covered:
            continue
        records = set(s.record_ids)
        named.append(
            ReinstateNotice(
                content_ref=s.content_ref,
                overturned=tuple(sorted(records & gone)),
                still_matched=tuple(sorted(records - gone)),
                query_ids=s.query_ids,
                first_matched_ms=min(b.matched_ms for b in s.basis),
                last_matched_ms=max(b.matched_ms for b in s.basis),
                statement_ids=(s.statement_id,),
            )
        )
    return named
