"""The wording of the statement-of-reasons page, per language: language packs (docs/due-process.md, "Statements
of reasons").

A pack is a TOML file `statement.<code>.toml`: its sections hold the page's sentences (`text`), one sentence per
decision value of the Transparency Database (`visibility`, `monetary`, `provision`, `account`) and per source
type (`source`: what led to the decision), the noun for each content type (`content`), the names of the EU/EEA
countries (`countries`) and, optionally, the taxonomy's labels in the language (`labels`). English and German
ship in node/data/; an operator adds languages, or rewords a shipped one, in the directory `[statements]
languages_dir` names. English is the reference: every pack must have exactly its keys, and a value may use only
the {placeholders} its English value uses, so a pack that loads renders every page.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from node.core.errors import ConfigError

REFERENCE = "en"
BUILTIN_LANGUAGES = ("de", "en")  # the packs in node/data
SECTIONS = ("text", "visibility", "monetary", "provision", "account", "source", "content", "countries")
_CODE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})?")
_FILE = re.compile(r"statement\.(.+)\.toml")
_DIRECTIONS = ("ltr", "rtl")


def placeholders(template: str) -> frozenset[str]:
    """The {names} a sentence uses. Raises: ValueError (an unbalanced brace)."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name is not None)


@dataclass(frozen=True)
class LanguagePack:
    code: str  # lowercase ISO 639 code, optionally with a region: "en", "de", "pt-br"
    name: str  # the language's own name for itself
    direction: str  # "ltr" or "rtl"
    sections: Mapping[str, Mapping[str, str]]
    labels: Mapping[str, str]  # taxonomy label -> its name in this language

    def text(self, section: str, key: str) -> str:
        return self.sections[section][key]


def _fail(source: str, where: str, got: str, want: str) -> ConfigError:
    return ConfigError(f"{source}: {where}: got {got}, want {want}")


def _strings(source: str, data: Mapping[str, object], section: str) -> dict[str, str]:
    table = data.get(section, {})
    if not isinstance(table, dict):
        raise _fail(source, section, type(table).__name__, f"a [{section}] table")
    for key, value in table.items():
        if not isinstance(value, str) or not value.strip():
            raise _fail(source, f"{section}.{key}", repr(value), "a non-empty string")
    return dict(table)


def _check_against(source: str, sections: Mapping[str, Mapping[str, str]], reference: LanguagePack) -> None:
    """Raises ConfigError unless `sections` has the reference's keys, each using only its placeholders."""
    for section in SECTIONS:
        ours, theirs = sections[section], reference.sections[section]
        missing, extra = sorted(set(theirs) - set(ours)), sorted(set(ours) - set(theirs))
        if missing:
            raise _fail(source, f"{section}.{missing[0]}", "nothing", f"a sentence (every key of {REFERENCE})")
        if extra:
            raise _fail(source, f"{section}.{extra[0]}", "an unknown key", f"one of the keys of {REFERENCE}")
        for key, value in ours.items():
            try:
                used = placeholders(value)
            except ValueError:
                raise _fail(source, f"{section}.{key}", repr(value), "balanced {braces}") from None
            allowed = placeholders(theirs[key])
            if not used <= allowed:
                shown = ", ".join("{" + n + "}" for n in sorted(used - allowed))
                want = "only " + (", ".join("{" + n + "}" for n in sorted(allowed)) or "no placeholders")
                raise _fail(source, f"{section}.{key}", shown, want)


def parse_pack(text: str, source: str, reference: LanguagePack | None) -> LanguagePack:
    """A pack from its TOML text; `reference` (English) is what it is checked against (None: English itself).

    Raises:
        ConfigError: naming `source` and the key.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    allowed = {"language", "name", "direction", "labels", *SECTIONS}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise _fail(source, unknown[0], "an unknown key", "one of " + ", ".join(sorted(allowed)))
    code = data.get("language")
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise _fail(source, "language", repr(code), "a lowercase language code, e.g. en, de, pt-br")
    name, direction = data.get("name", code), data.get("direction", "ltr")
    if not isinstance(name, str) or not name.strip():
        raise _fail(source, "name", repr(name), "the language's name")
    if direction not in _DIRECTIONS:
        raise _fail(source, "direction", repr(direction), "ltr or rtl")
    sections = {section: _strings(source, data, section) for section in SECTIONS}
    pack = LanguagePack(code, name, str(direction), sections, _strings(source, data, "labels"))
    _check_against(source, sections, reference or pack)
    return pack


def _builtin_texts() -> dict[str, tuple[str, str]]:
    """code -> (file name, text) of the packs shipped in node/data."""
    found = {}
    for entry in resources.files("node").joinpath("data").iterdir():
        matched = _FILE.fullmatch(entry.name)
        if matched:
            found[matched.group(1)] = (f"node/data/{entry.name}", entry.read_text(encoding="utf-8"))
    return found


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None


def load_packs(directory: Path | None = None) -> dict[str, LanguagePack]:
    """The shipped packs, then those in `directory` (which replace a shipped one of the same code).

    Raises:
        ConfigError: a pack is malformed, named for another language than it declares, or the directory is
            unreadable.
    """
    texts = _builtin_texts()
    reference = parse_pack(texts[REFERENCE][1], texts[REFERENCE][0], None)  # the shipped English, always
    if directory is not None:
        try:
            files = sorted(p for p in directory.iterdir() if _FILE.fullmatch(p.name))
        except OSError as exc:
            raise ConfigError(f"{directory}: cannot list language files: {exc.strerror or exc}") from None
        for path in files:
            code = _FILE.fullmatch(path.name).group(1)  # type: ignore[union-attr]
            texts[code] = (str(path), _read(path))
    packs = {}
    for code, (source, text) in sorted(texts.items()):
        pack = parse_pack(text, source, reference)
        if pack.code != code:
            raise _fail(source, "language", repr(pack.code), f"{code!r}, as the file name says")
        packs[code] = pack
    return packs
