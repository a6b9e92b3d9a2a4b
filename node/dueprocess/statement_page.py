"""The statement of reasons as the affected user reads it: one short, self-contained HTML page in the platform's
language of choice (DSA Art. 17(3) and (4): what was restricted, where and for how long; the facts, including
that the content matched material a named consortium member identified, when, and under which label; that
automated means detected it and how far they decided; the legal or contractual ground; how to seek redress; and
TCO Art. 11 and 10 for terrorist content: information to the content provider, an answer within two weeks).

Every sentence comes from a language pack (node/dueprocess/statement_language.py) and every value is escaped:
the page holds text, two links (the appeal route and the rules relied on) and inline CSS, loads nothing, and
carries a Content-Security-Policy of `default-src 'none'`.
"""

from __future__ import annotations

import html
import string
from collections.abc import Sequence
from dataclasses import dataclass

from node.dueprocess import tdb
from node.dueprocess.statement import Basis, Decision, StatementSettings, percent, time_ranges, utc_day
from node.dueprocess.statement_language import LanguagePack

ACCENT = "#1f4e79"  # the header band and the appeal button; tests look for it in the screenshot
_CSP = "default-src 'none'; style-src 'unsafe-inline'"
_STYLE = f"""
body{{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1b1b1b;background:#f4f5f7}}
header{{background:{ACCENT};color:#fff;padding:1.2em 0}}
header div{{max-width:680px;margin:0 auto;padding:0 1.5em}}
header p{{margin:.2em 0 0;opacity:.9}}
h1{{font-size:1.5em;margin:0}}
main{{max-width:680px;margin:0 auto;padding:.5em 1.5em 2em;background:#fff}}
h2{{font-size:1.1em;margin:1.6em 0 .4em;color:{ACCENT}}}
ul{{padding-inline-start:1.2em}}li{{margin:.3em 0}}
a.button{{display:inline-block;background:{ACCENT};color:#fff;padding:.5em 1em;border-radius:4px;
text-decoration:none;font-weight:600}}
footer{{max-width:680px;margin:0 auto;padding:1em 1.5em;font-size:.85em;color:#555}}
"""


class Markup(str):
    """Text that is already HTML (a link built here): `_fill` inserts it as it is."""


def _e(value: object) -> str:
    return value if isinstance(value, Markup) else html.escape(str(value), quote=True)


def _fill(template: str, **values: object) -> Markup:
    """The sentence with its placeholders filled: the sentence's own text and every value escaped."""
    parts = []
    for literal, name, _, _ in string.Formatter().parse(template):
        parts.append(html.escape(literal, quote=False))
        if name is not None:
            parts.append(_e(values[name]))
    return Markup("".join(parts))


def _link(href: str, text: object, css: str = "") -> Markup:
    attribute = f' class="{css}"' if css else ""
    return Markup(f'<a{attribute} href="{html.escape(href, quote=True)}">{_e(text)}</a>')


def contact_markup(contact: str) -> Markup:
    """An e-mail address or a web address as a link; anything else (a postal address, a phone number) as text."""
    if contact.startswith(("https://", "http://")) and " " not in contact:
        return _link(contact, contact)
    if "@" in contact and " " not in contact and ":" not in contact:
        return _link("mailto:" + contact, contact)
    return Markup(_e(contact))


@dataclass(frozen=True)
class Page:
    """What the page says besides the decision and its basis."""

    statement_id: str
    issued_ms: int
    platform: str
    contact: str
    consortium: str
    terrorist_content: bool  # TCO Art. 10(2): the outcome of a complaint within two weeks


class _Writer:
    def __init__(self, pack: LanguagePack) -> None:
        self.pack = pack
        self.parts: list[str] = []

    def t(self, key: str, **values: object) -> Markup:
        return _fill(self.pack.text("text", key), **values)

    def heading(self, key: str) -> None:
        self.parts.append(f"<h2>{self.t(key)}</h2>")

    def paragraph(self, *sentences: str) -> None:
        self.parts.append("<p>" + " ".join(sentences) + "</p>")

    def items(self, sentences: Sequence[str]) -> None:
        self.parts.append("<ul>" + "".join(f"<li>{s}</li>" for s in sentences) + "</ul>")


def _decisions(w: _Writer, decision: Decision, content: str) -> list[str]:
    """One sentence per decision taken, each with its end date when it has one."""
    pack, sentences = w.pack, []

    def add(section: str, value: str, end: str, other: str = "") -> None:
        sentence = _fill(pack.text(section, value), content=content, other=other)
        sentences.append(sentence + (" " + w.t("ends_on", date=end) if end else ""))

    for value in decision.visibility:
        add("visibility", value, decision.visibility_end_date, decision.visibility_other)
    if decision.monetary:
        add("monetary", decision.monetary, decision.monetary_end_date, decision.monetary_other)
    if decision.provision:
        add("provision", decision.provision, decision.provision_end_date)
    if decision.account:
        add("account", decision.account, decision.account_end_date)
    return sentences


def _scope(w: _Writer, scope: Sequence[str]) -> Markup:
    if tuple(scope) == tdb.EEA:
        return w.t("scope_eea")
    if tuple(scope) == tdb.EU:
        return w.t("scope_eu")
    return w.t("scope_countries", countries=", ".join(w.pack.text("countries", code) for code in scope))


def _label_names(pack: LanguagePack, b: Basis) -> str:
    names = [pack.labels.get(label) or name or label for label, name in zip(b.labels, b.label_names, strict=True)]
    return "; ".join(n.rstrip(".") for n in names)


def _video_match(w: _Writer, b: Basis) -> str:
    """What of a video matched, by vPDQ's rule: both shares of frames and the matched spans of both videos."""
    return w.t(
        "matched_video",
        query_percent=percent(b.query_match_percent),
        query_ranges=time_ranges(b.query_ranges),
        compared_percent=percent(b.compared_match_percent),
        stored_ranges=time_ranges(b.stored_ranges),
    )


def _why(w: _Writer, decision: Decision, basis: Sequence[Basis], page: Page, settings: StatementSettings) -> None:
    content = w.pack.text("content", decision.content_type[0])
    w.heading("why_heading")
    w.paragraph(w.t("matched", content=content))
    w.items(
        [
            w.t(
                "matched_item",
                label=_label_names(w.pack, b),
                member=b.contributor_name or b.contributor,
                consortium=page.consortium,
                date=utc_day(b.contributed_ms),
            )
            + (" " + _video_match(w, b) if b.video else "")
            + (f" <code>{_e(b.disclosed)}</code>" if settings.disclose_hash else "")
            for b in basis
        ]
    )
    code = w.pack.code
    if decision.ground == tdb.GROUND_ILLEGAL:
        ground = w.t("ground_illegal", ground=settings.page_text(settings.legal_ground, code))
    else:
        ground = w.t("ground_incompatible", ground=settings.page_text(settings.terms_ground, code))
    url = settings.ground_url(decision.ground)
    link = " " + _link(url, w.t("ground_link")) if url else ""
    w.paragraph(ground + link)
    if settings.explanation:
        w.paragraph(_e(settings.page_text(settings.explanation, code)))


def _appeal(w: _Writer, page: Page, settings: StatementSettings) -> None:
    w.heading("appeal_heading")
    w.paragraph(w.t("appeal", reference=page.statement_id))
    if settings.appeal_url:
        w.paragraph(_link(settings.appeal_link(page.statement_id), w.t("appeal_link"), "button"))
    else:
        w.paragraph(w.t("appeal_write", contact=contact_markup(page.contact)))
    if page.terrorist_content:
        w.paragraph(w.t("appeal_two_weeks"))
    w.paragraph(w.t("other_routes"))


def render_page(
    decision: Decision, basis: Sequence[Basis], page: Page, settings: StatementSettings, pack: LanguagePack
) -> str:
    """The user's page: self-contained HTML5, in `pack`'s language."""
    w = _Writer(pack)
    content = pack.text("content", decision.content_type[0])
    w.heading("what_heading")
    w.items(_decisions(w, decision, content))
    w.paragraph(
        w.t("decided_on", date=decision.application_date),
        w.t("posted_on", date=decision.content_date),
        _scope(w, decision.territorial_scope),
    )
    _why(w, decision, basis, page, settings)
    w.heading("how_heading")
    automated = {
        "AUTOMATED_DECISION_FULLY": "decided_fully",
        "AUTOMATED_DECISION_PARTIALLY": "decided_partially",
        "AUTOMATED_DECISION_NOT_AUTOMATED": "decided_by_person",
    }[decision.automated_decision]
    w.paragraph(_fill(pack.text("source", decision.source)), w.t("detected"), w.t(automated))
    _appeal(w, page, settings)
    w.heading("contact_heading")
    w.paragraph(w.t("contact", contact=contact_markup(page.contact)))
    footer = w.t("footer", reference=page.statement_id, date=utc_day(page.issued_ms), platform=page.platform)
    return (
        f'<!DOCTYPE html>\n<html lang="{_e(pack.code)}" dir="{_e(pack.direction)}"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{w.t('title')}: {_e(page.platform)} {_e(page.statement_id)}</title>"
        f"<style>{_STYLE}</style></head><body>"
        f"<header><div><h1>{w.t('heading')}</h1><p>{w.t('intro', platform=page.platform)}</p></div></header>"
        f"<main>{''.join(w.parts)}</main><footer>{footer}</footer></body></html>\n"
    )
