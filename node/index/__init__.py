"""Similarity indexes over stored hashes. `PdqIndex` finds PDQ near-duplicates by Hamming distance.

In memory (numpy arrays), with `save`/`load` of those arrays to the directory `node.storage.pdq_snapshot`
chooses. May import `node.core`.
"""

from node.index.pdq import (
    DEFAULT_THRESHOLD,
    MAX_THRESHOLD,
    IndexArgumentError,
    PdqIndex,
    hamming_bruteforce,
)

__all__ = ["DEFAULT_THRESHOLD", "MAX_THRESHOLD", "IndexArgumentError", "PdqIndex", "hamming_bruteforce"]
