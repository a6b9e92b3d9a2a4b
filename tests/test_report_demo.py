"""`make report-demo`: the demo consortium's transparency report is complete and deterministic, and its HTML
page renders its charts in a headless browser (skipped where Chromium is not installed)."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from demo import report as report_demo
from node.dueprocess.report import _PALETTE


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report-demo")
    report_demo.build(out)
    return out


def test_the_demo_report_covers_every_section(built: Path) -> None:
    data = json.loads((built / "report.json").read_text(encoding="utf-8"))
    assert (data["issuer"], data["contact"]) == ("platform-b", "trust-and-safety@platform-b.example")
    sections = data["sections"]
    assert sorted(sections) == ["appeals", "availability", "contributions", "disputes", "matches", "tco"]
    assert sections["contributions"]["records"] > 0 and sections["matches"]["lookup_hits"] > 0
    assert 0 < sections["matches"]["distinct_contents"] <= sections["matches"]["lookup_hits"]
    assert all(count > 0 for count in sections["disputes"]["filed_by_me"].values())
    filed = sections["appeals"]["filed_by_me"]
    assert filed["received"] > 0 and filed["overturned"] > 0 and filed["time_to_decision"]["count"] > 0
    assert sections["availability"]["entries"] > 0
    assert set(sections["availability"]["by_source"]) == {"platform-a", "platform-c"}  # not the node itself
    tco = sections["tco"]
    assert 0 < tco["removed_or_disabled"] <= tco["decisions"]
    assert all(count > 0 for count in tco["decisions_by_automation"].values())
    complaints = tco["complaints"]
    assert complaints["received"] == filed["received"]  # every appeal platform-b filed was from a statement
    assert complaints["upheld"] > 0 and complaints["overturned"] > 0
    assert tco["reinstated_after_complaint"] > 0


def test_the_demo_report_is_the_same_on_every_run(built: Path, tmp_path: Path) -> None:
    again = report_demo.build(tmp_path)
    for path in again:
        if path.name != "report.html":  # the HTML embeds nothing variable either, but JSON/CSV say it all
            assert path.read_bytes() == (built / path.name).read_bytes()


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_the_report_page_renders_its_charts_in_a_headless_browser(built: Path) -> None:
    image = pytest.importorskip("PIL.Image")
    png = report_demo.screenshot(built / "report.html", built / "report.png")
    assert png is not None
    with image.open(png) as shot:
        rgb = shot.convert("RGB")
        pixels = Counter(
            rgb.getpixel((x, y)) for x in range(0, rgb.width, 2) for y in range(0, rgb.height, 2)
        )
    # Every chart draws its bars in the palette; each of the first colours covers a real area.
    for colour in _PALETTE[:3]:
        assert pixels[_rgb(colour)] > 200, f"few {colour} pixels: a chart did not render"
    assert pixels[(255, 255, 255)] < 0.95 * sum(pixels.values())  # not a blank page
