"""Signal types: the kinds of hash the consortium shares, and how each is parsed and matched.

A new type (a video hash, say) is one more `SignalType` in the registry. How each type is named and written in
python-threatexchange (whose `video_md5` and `video_sha256` are hashnode's `md5` and `sha256`) is one mapping,
`node.interchange.pytx_names`, which exports, imports and the exchange adapter share.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from node.core.errors import InvalidArgument

PDQ_MIN_QUALITY_DEFAULT = 50
_HEX_DIGITS = frozenset("0123456789abcdef")


class MatchKind(enum.Enum):
    EXACT = "exact"        # byte equality (cryptographic hashes)
    HAMMING = "hamming"    # near-duplicate by Hamming distance (perceptual hashes)
    FRAMES = "frames"      # a video's frame hashes, near-duplicate frame by frame, aggregated per video (vpdq)


@dataclass(frozen=True)
class SignalType:
    name: str
    size: int            # bytes of the raw hash; 0: variable (vpdq: the encoded feature list, node.core.vpdq)
    match: MatchKind
    has_quality: bool
    description: str

    def parse(self, value: str, field: str = "value") -> bytes:
        """Parses a hex hash (either case: the same value); returns raw bytes. Surrounding space is refused: a
        value on the wire is exact (`typed_value` strips what a person typed)."""
        if self.match is MatchKind.FRAMES:
            raise InvalidArgument(field, value or '""', f"no hex value for {self.name}: its frame features are given")
        if value != value.strip():
            raise InvalidArgument(field, repr(value), f"{self.size * 2} hex characters for {self.name}, no spaces")
        text = value.lower()
        if len(text) != self.size * 2:
            raise InvalidArgument(field, value, f"{self.size * 2} hex characters for {self.name}")
        # Checked here, not left to bytes.fromhex: it skips inner whitespace and would return a short value.
        if not set(text) <= _HEX_DIGITS:
            raise InvalidArgument(field, value, f"hexadecimal digits 0-9a-f for {self.name}")
        return bytes.fromhex(text)


PDQ = SignalType("pdq", 32, MatchKind.HAMMING, True, "PDQ 256-bit perceptual image hash")
MD5 = SignalType("md5", 16, MatchKind.EXACT, False, "MD5 of the file bytes")
SHA256 = SignalType("sha256", 32, MatchKind.EXACT, False, "SHA-256 of the file bytes")
VIDEO_MD5 = SignalType("video_md5", 16, MatchKind.EXACT, False, "MD5 of a video file's bytes")
VPDQ = SignalType("vpdq", 0, MatchKind.FRAMES, True, "vPDQ video hash: PDQ hashes of a video's sampled frames")

REGISTRY: dict[str, SignalType] = {t.name: t for t in (PDQ, MD5, SHA256, VIDEO_MD5, VPDQ)}


def signal_type(name: str, field: str = "signal_type") -> SignalType:
    """Looks up a signal type by its exact name, as on the wire: "pdq " or "PDQ" is no name (a value a client
    sends is stored and compared as it is). Unknown names are an InvalidArgument naming the choices."""
    found = REGISTRY.get(name)
    if found is None:
        near = name.strip().lower() in REGISTRY
        want = "one of " + ", ".join(sorted(REGISTRY)) + (", exactly (no spaces, lower case)" if near else "")
        raise InvalidArgument(field, _shown(name), want)
    return found


def _shown(text: str) -> str:
    """`text` as an error shows it: quoted when spaces at its ends or unprintable characters would hide."""
    return text if text == text.strip() and text.isprintable() else repr(text)


def typed_signal_type(name: str, field: str = "signal_type") -> SignalType:
    """A signal type as a person typed it (the CLI's options, contribution and import files): case and
    surrounding space are ignored, "PDQ " is pdq. What is sent on is the exact name."""
    normalised = name.strip().lower()
    if normalised not in REGISTRY:
        raise InvalidArgument(field, _shown(name), "one of " + ", ".join(sorted(REGISTRY)))
    return REGISTRY[normalised]


def typed_value(value: str) -> str:
    """A hex value as a person typed it, without the surrounding space (the wire refuses it)."""
    return value.strip()


def check_quality(kind: SignalType, quality: int, minimum: int, field: str = "quality") -> None:
    """PDQ hashes of low quality (flat or tiny images) match too much; refuse them at contribution."""
    if not kind.has_quality:
        if quality != 0:
            raise InvalidArgument(field, quality, f"0 for {kind.name} (quality applies to pdq only)")
        return
    if not 0 <= quality <= 100:
        raise InvalidArgument(field, quality, "an integer 0..100")
    if quality < minimum:
        raise InvalidArgument(field, quality, f">= {minimum} (PDQ hashes of low quality are refused)")
