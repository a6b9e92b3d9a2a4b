"""The consortium's label taxonomy.

The default is modelled on behaviour-based categories for terrorist and violent extremist content (what the content
does, not who made it), as used by industry hash-sharing consortia. A consortium replaces it with its own TOML file.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from node.core.errors import ConfigError, InvalidArgument

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,63}$")
MAX_LABELS = 16
MAX_TAGS = 32
SHOWN_LABELS = 12  # an error names this many of the taxonomy's labels


@dataclass(frozen=True)
class Label:
    name: str
    description: str


DEFAULT_LABELS: tuple[Label, ...] = (
    Label("tvec.imminent_credible_threat", "Imminent, credible threat of terrorist or violent extremist violence"),
    Label("tvec.graphic_violence", "Graphic violence against defenceless people by a terrorist entity"),
    Label("tvec.glorification", "Glorification of terrorist acts or their perpetrators"),
    Label("tvec.recruitment_instruction", "Recruitment, or instruction in terrorist methods or weapons"),
    Label("tvec.attack_livestream", "Recording or livestream of a terrorist attack"),
    Label("tvec.propaganda", "Branded propaganda of a designated terrorist organisation"),
    Label("tvec.manifesto", "Manifesto of an attacker"),
    Label("referral.law_enforcement", "Referred by a law-enforcement internet referral unit"),
)


@dataclass(frozen=True)
class Taxonomy:
    labels: dict[str, Label]

    @classmethod
    def default(cls) -> Taxonomy:
        return cls({label.name: label for label in DEFAULT_LABELS})

    @classmethod
    def load(cls, path: Path) -> Taxonomy:
        """Reads `[[label]] name = "...", description = "..."` entries from a TOML file."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"taxonomy {path}: {exc}") from exc
        labels: dict[str, Label] = {}
        for i, entry in enumerate(data.get("label", [])):
            name = entry.get("name", "") if isinstance(entry, dict) else ""
            if not isinstance(name, str) or not _NAME.match(name):
                raise ConfigError(f"taxonomy {path}: label[{i}].name: got {name!r}, want a lowercase name")
            labels[name] = Label(name, str(entry.get("description", "")))
        if not labels:
            raise ConfigError(f"taxonomy {path}: no [[label]] entries")
        return cls(labels)

    def label_list(self, limit: int = SHOWN_LABELS) -> str:
        """The taxonomy's label names for a person: sorted, the first `limit` of them, then how many more."""
        names = sorted(self.labels)
        shown = ", ".join(names[:limit])
        return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")

    def check_labels(self, labels: list[str] | tuple[str, ...], field: str = "labels") -> tuple[str, ...]:
        """Validates and canonicalises labels: at least one, all known, sorted, without duplicates."""
        if not labels:
            raise InvalidArgument(field, "[]", "at least one label from the taxonomy")
        if len(labels) > MAX_LABELS:
            raise InvalidArgument(field, f"{len(labels)} labels", f"at most {MAX_LABELS}")
        for label in labels:
            if label not in self.labels:
                raise InvalidArgument(field, label, "a taxonomy label: " + self.label_list())
        return tuple(sorted(set(labels)))


def check_tags(tags: list[str] | tuple[str, ...], field: str = "tags") -> tuple[str, ...]:
    """Free tags: lowercase names, sorted, without duplicates."""
    if len(tags) > MAX_TAGS:
        raise InvalidArgument(field, f"{len(tags)} tags", f"at most {MAX_TAGS}")
    for tag in tags:
        if not _NAME.match(tag):
            raise InvalidArgument(field, tag, "a lowercase tag of 1-64 characters [a-z0-9_.:-]")
    return tuple(sorted(set(tags)))
