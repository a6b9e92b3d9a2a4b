"""python-threatexchange's own hash listings, as `hashnode import` reads them.

python-threatexchange (pytx) 1.2.17 writes signals in these forms, all read here line by line:

- `threatexchange dataset -P -S`, and the lines of a `local_file` collaboration: `<type> <signal>`, split on the
  first space (a signal may itself hold spaces: a vPDQ frame list does).
- `threatexchange dataset -P`: `<type> <signal> <collab> <CATEGORY>[ <tag>,<tag>...]`, where `<collab>` is
  Python's `repr()` of the collaboration's name (`'name'`, or `"it's"`) and the category is pytx's aggregate
  opinion: NEGATIVE_CLASS, INVESTIGATION_SEED, POSITIVE_CLASS or DISPUTED. With exactly one `-c` pytx leaves
  the collab out; with exactly one `-s` it leaves the type out (as `-P -S -s TYPE` does, which prints bare
  signals): such lines need the caller's default type, as a `local_file` collaboration with `signal_type` does.
- `threatexchange dataset -P --csv`: a header `signal_type,signal_str,collab,category,tags`, then one row per
  (signal, collab); tags are separated by spaces.

Categories: a signal pytx holds as POSITIVE_CLASS or INVESTIGATION_SEED (all local-file data is a seed) is
imported; NEGATIVE_CLASS (a false positive, or test data) and DISPUTED (someone reported it as one) are refused
with that reason, so that a list of known false positives never becomes a contribution by accident. pytx's tags
become the record's free tags; labels come from the importer. The collab name is not kept.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

CATEGORIES = ("NEGATIVE_CLASS", "INVESTIGATION_SEED", "POSITIVE_CLASS", "DISPUTED")
IMPORTED_CATEGORIES = ("POSITIVE_CLASS", "INVESTIGATION_SEED")
CSV_COLUMNS = ("signal_type", "signal_str", "collab", "category", "tags")
# Every signal type name pytx 1.2.17 and the extensions in its wheel define: a first line that starts with one
# is a pytx listing, even when its type is one hashnode does not carry (refused line by line then).
KNOWN_TYPES = frozenset(
    {"pdq", "video_md5", "video_sha256", "raw_text", "url", "url_md5", "trend_query", "vpdq", "text_tlsh",
     "pdq_ocr"}
)
_DATASET_LINE = re.compile(
    r"^(?P<head>.+?)"
    r"(?: (?P<collab>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"))?"
    rf" (?P<category>{'|'.join(CATEGORIES)})"
    r"(?: (?P<tags>.*))?$"
)


@dataclass(frozen=True)
class PytxLine:
    """One signal of a pytx listing, as written (names and values are not checked here)."""

    signal_type: str  # pytx's type name, or the caller's default for lines without one
    signal: str
    category: str = ""  # "" for listings without categories (-P -S, local_file)
    tags: tuple[str, ...] = ()
    collab: str = ""


@dataclass(frozen=True)
class Problem:
    """Why a line is not a usable pytx signal: the field that is wrong and what was expected."""

    field: str
    reason: str


def looks_like_listing(first_line: str) -> bool:
    """Whether a file's first line is a pytx listing line (used when neither a format nor an extension says)."""
    text = first_line.strip()
    return text.split(" ", 1)[0] in KNOWN_TYPES or _DATASET_LINE.match(text) is not None


def parse_line(text: str, default_type: str | None = None) -> PytxLine | Problem:
    """A `dataset -P`, `dataset -P -S` or local-file line (stripped, not blank) as a signal.

    With `default_type`, the line holds no type: all of it before the collab and category is the signal, as pytx's
    local-file reader takes a line when its collaboration has a `signal_type`.
    """
    found = _DATASET_LINE.match(text)
    head = found["head"] if found else text
    if default_type is not None:
        signal_type, signal = default_type, head
    else:
        signal_type, space, signal = head.partition(" ")
        if not space or not signal.strip():
            return Problem(
                "format",
                f"format: got {_short(text)}, want '<signal_type> <signal>' (bare signals need a default signal "
                "type)",
            )
    if found is None:
        return category_problem(PytxLine(signal_type, signal.strip()))
    tags = tuple(tag for tag in (found["tags"] or "").split(",") if tag)
    return category_problem(
        PytxLine(signal_type, signal.strip(), found["category"], tags, _collab(found["collab"]))
    )


def from_csv_row(cells: dict[str, str]) -> PytxLine | Problem:
    """A `dataset -P --csv` row (cells by column name) as a signal."""
    category = cells["category"].strip()
    if category not in CATEGORIES:
        return Problem("category", f"category: got {_short(category)}, want one of {', '.join(CATEGORIES)}")
    line = PytxLine(
        cells["signal_type"].strip(),
        cells["signal_str"].strip(),
        category,
        tuple(cells["tags"].split()),
        cells["collab"],
    )
    return category_problem(line)


def category_problem(line: PytxLine) -> PytxLine | Problem:
    """`line`, or the reason its category keeps it out of a contribution."""
    if not line.category or line.category in IMPORTED_CATEGORIES:
        return line
    meaning = "a false positive or test data" if line.category == "NEGATIVE_CLASS" else "reported as a false positive"
    return Problem(
        "category",
        f"category: got {line.category}, want {' or '.join(IMPORTED_CATEGORIES)} (python-threatexchange holds "
        f"the signal as {meaning})",
    )


def _collab(quoted: str | None) -> str:
    if not quoted:
        return ""
    try:
        value = ast.literal_eval(quoted)
    except (ValueError, SyntaxError):
        return quoted
    return value if isinstance(value, str) else quoted


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
