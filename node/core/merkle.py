"""Merkle tree hashing and inclusion proofs as in RFC 9162 (Certificate Transparency 2.0), section 2.1.

One signature covers a whole batch of records through the tree's root, and each record stays provable on its own
with an inclusion proof of about log2(n) hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from node.core.errors import VerificationError

HASH_SIZE = 32


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def _root(leaves: Sequence[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node_hash(_root(leaves[:k]), _root(leaves[k:]))


def root(items: Sequence[bytes]) -> bytes:
    """Merkle tree hash of a non-empty list of items.

    Computed bottom-up: pairing neighbours level by level and carrying an odd last node upwards builds the same
    tree as RFC 9162's recursive split at the largest power of two, without the recursion.
    """
    if not items:
        raise ValueError("a Merkle tree needs at least one item")
    sha = hashlib.sha256
    level = [sha(b"\x00" + item).digest() for item in items]
    while len(level) > 1:
        paired = [sha(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def _path(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*_path(index, leaves[:k]), _root(leaves[k:])]
    return [*_path(index - k, leaves[k:]), _root(leaves[:k])]


def inclusion_proof(items: Sequence[bytes], index: int) -> list[bytes]:
    """Audit path for item `index`, ordered from the leaf's sibling up to the root's child."""
    if not 0 <= index < len(items):
        raise ValueError(f"index {index} out of range for {len(items)} items")
    return _path(index, [leaf_hash(item) for item in items])


def root_from_proof(item: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """Recomputes the root from an item and its audit path (RFC 9162, 2.1.3.2)."""
    if not 0 <= index < size:
        raise VerificationError(f"inclusion proof: leaf index {index} not below tree size {size}")
    fn, sn = index, size - 1
    result = leaf_hash(item)
    for sibling in proof:
        if len(sibling) != HASH_SIZE:
            raise VerificationError("inclusion proof: sibling hash is not 32 bytes")
        if sn == 0:
            raise VerificationError("inclusion proof: longer than the tree is deep")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise VerificationError("inclusion proof: shorter than the tree is deep")
    return result
