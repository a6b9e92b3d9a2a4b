"""Similarity indexes over stored hashes. `PdqIndex` finds PDQ near-duplicates by Hamming distance."""

from node.index.pdq import (
    DEFAULT_THRESHOLD,
    MAX_THRESHOLD,
    IndexArgumentError,
    PdqIndex,
    hamming_bruteforce,
)

__all__ = ["DEFAULT_THRESHOLD", "MAX_THRESHOLD", "IndexArgumentError", "PdqIndex", "hamming_bruteforce"]
