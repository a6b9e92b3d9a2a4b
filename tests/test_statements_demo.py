"""The seeded statements scenario (`make statements-demo`, demo/statements.py): every match platform-b acted on
yields a statement whose JSON passes the published schema and whose page renders in headless Chromium; the
match it did not act on yields none; the overturn after an appeal from a statement yields a reinstatement
notice naming that statement; the files are the same on every run, and docs/ shows them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from demo import statements as demo
from node.core.taxonomy import Taxonomy
from node.dueprocess import tdb
from node.dueprocess.statement_page import ACCENT
from node.ledger.ledger import Ledger, LedgerSettings
from node.storage.statements import StatementBook
from testkit import browser

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "docs/schema/dsa-statement.schema.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> tuple[demo.Played, Path, Path]:
    root, out = tmp_path_factory.mktemp("demo-root"), tmp_path_factory.mktemp("demo-out")
    return demo.run(root, out), root, out


def test_every_acted_on_match_has_a_statement_and_the_other_has_none(played: tuple[demo.Played, Path, Path]) -> None:
    outcome, _, out = played
    acted = {u.content_ref for u in demo.UPLOADS if u.decision is not None}
    assert set(outcome.statements) == acted and len(acted) == len(demo.UPLOADS) - 1
    assert sorted(p.stem for p in out.glob("sor-*.json")) == sorted(outcome.statements.values())


def test_every_statement_passes_the_published_schema(played: tuple[demo.Played, Path, Path]) -> None:
    outcome, _, out = played
    checker = Draft202012Validator(SCHEMA, format_checker=FormatChecker())
    for statement_id in outcome.statements.values():
        statement = json.loads((out / f"{statement_id}.json").read_text(encoding="utf-8"))
        assert [e.message for e in checker.iter_errors(statement)] == [], statement_id
        assert tdb.check(statement) == []


def test_the_overturn_issues_a_notice_naming_the_statement_appealed_from(
    played: tuple[demo.Played, Path, Path],
) -> None:
    outcome, _, out = played
    [notice] = json.loads((out / "notices.json").read_text(encoding="utf-8"))
    assert notice["content_ref"] == "upload/1001" and notice["standing"] == "overturned"
    assert notice["statement_ids"] == [outcome.appealed] == [outcome.statements["upload/1001"]]


def test_statements_and_their_state_are_in_the_store_after_a_restart(played: tuple[demo.Played, Path, Path]) -> None:
    outcome, root, _ = played
    ledger = Ledger.open(
        root / "platform-b",
        settings=LedgerSettings(demo.CONSORTIUM, "platform-b", map_size=1 << 27),
        membership=demo.membership(),
        signer=None,
        taxonomy=Taxonomy.default(),
    )
    try:
        with ledger.store.read() as txn:
            book = StatementBook(ledger.store, txn)
            appealed = book.get(outcome.appealed)
            assert appealed is not None and appealed.status == "withdrawn"
            assert appealed.withdrawal_reason.startswith("content reinstated")
            assert book.count() == len(outcome.statements)
            [rid] = appealed.record_ids
            assert [s.statement_id for s in book.resting_on(rid)] == [outcome.appealed]
    finally:
        ledger.close()


def test_the_demo_writes_the_same_files_on_every_run(played: tuple[demo.Played, Path, Path], tmp_path: Path) -> None:
    _, _, out = played
    again = demo.build(tmp_path)
    assert sorted(p.name for p in again.files) == sorted(p.name for p in out.iterdir() if p.suffix != ".png")
    for path in again.files:
        assert path.read_bytes() == (out / path.name).read_bytes(), path.name


def test_the_documentation_shows_the_demos_first_statement(played: tuple[demo.Played, Path, Path]) -> None:
    outcome, _, out = played
    example = outcome.statements["upload/1001"]
    docs = ROOT / "docs"
    assert (docs / "statement-example.json").read_bytes() == (out / f"{example}.json").read_bytes()
    assert (docs / "statement-example.html").read_bytes() == (out / f"{example}.html").read_bytes()
    assert (docs / "statement-example.png").stat().st_size > 10_000
    text = (docs / "due-process.md").read_text(encoding="utf-8")
    assert json.loads((out / f"{example}.json").read_text(encoding="utf-8"))["puid"] in text


@pytest.mark.slow
@pytest.mark.skipif(browser.chromium() is None, reason="chromium is not installed")
def test_every_page_renders_in_a_headless_browser(played: tuple[demo.Played, Path, Path]) -> None:
    pytest.importorskip("PIL.Image")
    outcome, _, out = played
    for content_ref, statement_id in sorted(outcome.statements.items()):
        png = browser.shot(out / f"{statement_id}.html", out / f"{statement_id}.png")
        pixels = browser.colours(png)
        total = sum(pixels.values())
        # The header band and the appeal button are drawn in the accent colour: the page's CSS applied.
        assert pixels[browser.rgb(ACCENT)] > 0.04 * total, f"{content_ref}: no header band rendered"
        assert pixels[(255, 255, 255)] > 0.2 * total, f"{content_ref}: no page body rendered"
        assert len(pixels) > 50, f"{content_ref}: no text rendered"  # anti-aliased glyphs bring many shades


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_the_browser_parses_the_german_page_as_german(played: tuple[demo.Played, Path, Path]) -> None:
    outcome, _, out = played
    parsed = browser.dom(out / f"{outcome.statements['upload/1002']}.html")
    assert '<html lang="de" dir="ltr">' in parsed
    assert "Wir haben Ihr Bild entfernt." in parsed and "Wir haben Ihr Konto gesperrt." in parsed
