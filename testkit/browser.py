"""Pages in headless Chromium (Debian's `chromium`, as CI installs it): a screenshot, the DOM as parsed, and
what a screenshot shows. Tests that need it skip where Chromium is not installed."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

from demo.report import CHROMIUM_FLAGS, screenshot


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def dom(page: Path) -> str:
    """The page's DOM as Chromium parsed it (serialised): what a reader's browser builds from the file."""
    browser = chromium()
    assert browser is not None, "chromium is not installed"
    with tempfile.TemporaryDirectory(prefix="hashnode-chromium-") as profile:
        done = subprocess.run(
            [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.resolve().as_uri()],
            check=True,
            capture_output=True,
            timeout=120,
        )
    return done.stdout.decode("utf-8")


def shot(page: Path, png: Path, *, width: int = 900, height: int = 1400) -> Path:
    found = screenshot(page, png, width=width, height=height)
    assert found is not None, "chromium is not installed"
    return found


def colours(png: Path) -> Counter[tuple[int, int, int]]:
    """How many pixels (of every second row and column) have each colour."""
    from PIL import Image

    with Image.open(png) as image:
        pixels = image.convert("RGB")
        found: Counter[tuple[int, int, int]] = Counter()
        for x in range(0, pixels.width, 2):
            for y in range(0, pixels.height, 2):
                r, g, b = pixels.getpixel((x, y))  # type: ignore[misc]
                found[(r, g, b)] += 1
        return found


def rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)
