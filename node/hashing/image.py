"""PDQ hashes of images (perceptual), computed locally.

PDQ comes from `pdqhash`, which wraps Meta's reference C++ implementation, so hashes agree with the reference
bit for bit. `pdqhash` and Pillow are the optional `hashing` extra and are imported only when an image is
hashed: a node that only stores and matches hashes does not need them.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

from node.core.errors import FailedPrecondition, InvalidArgument

# Order of pdqhash.compute_dihedral's results (the reference implementation's dihedral order).
DIHEDRAL_TRANSFORMS: tuple[str, ...] = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flipx",
    "flipy",
    "flip_plus1",
    "flip_minus1",
)


def _hashing_modules() -> tuple[ModuleType, ModuleType]:
    """Imports pdqhash and PIL.Image, or explains how to install them."""
    try:
        import pdqhash
        from PIL import Image
    except ImportError as exc:
        raise FailedPrecondition(
            f"image hashing needs the optional 'hashing' extra ({exc.name} is missing): "
            "pip install 'hashnode-consortium[hashing]'"
        ) from None
    return pdqhash, Image


def _load_rgb(path: Path) -> Any:
    """Decodes an image into an RGB uint8 array of shape (height, width, 3)."""
    import numpy

    _, image_module = _hashing_modules()
    try:
        with image_module.open(path) as image:
            return numpy.asarray(image.convert("RGB"))
    except FileNotFoundError:
        raise InvalidArgument(str(path), "no such file", "an existing image file") from None
    except (OSError, ValueError) as exc:  # PIL.UnidentifiedImageError is an OSError
        raise InvalidArgument(
            str(path), f"unreadable image ({exc.__class__.__name__})", "a JPEG, PNG, ..."
        ) from None


def _hex(bits: Any) -> str:
    """Packs PDQ's 256 bits, most significant first, into the reference 64-character hex form."""
    import numpy

    return bytes(numpy.packbits(numpy.asarray(bits, dtype=numpy.uint8)).tobytes()).hex()


def pdq_hash(path: Path) -> tuple[str, int]:
    """PDQ hash (64 hex characters) and quality (0..100) of an image file."""
    pdqhash, _ = _hashing_modules()
    bits, quality = pdqhash.compute(_load_rgb(path))
    return _hex(bits), int(quality)


def pdq_dihedral(path: Path) -> list[tuple[str, str, int]]:
    """PDQ hashes of the eight rotations and flips of an image: (transform name, hex, quality)."""
    pdqhash, _ = _hashing_modules()
    hashes, quality = pdqhash.compute_dihedral(_load_rgb(path))
    return [(name, _hex(bits), int(quality)) for name, bits in zip(DIHEDRAL_TRANSFORMS, hashes, strict=True)]
