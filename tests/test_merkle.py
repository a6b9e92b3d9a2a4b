"""Merkle tree hash and inclusion proofs as RFC 9162 section 2.1 defines them (docs/protocol.md)."""

from __future__ import annotations

import contextlib
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from node.core import merkle
from node.core.errors import VerificationError

# Certificate Transparency's reference inputs and tree heads (RFC 6962 test data; RFC 9162 hashes alike).
CT_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = {
    1: "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    2: "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    3: "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    4: "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    5: "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    6: "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    7: "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    8: "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
}
CT_PROOFS = [
    pytest.param(0, 8, [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ], id="leaf 0 of 8"),
    pytest.param(5, 8, [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ], id="leaf 5 of 8"),
    pytest.param(2, 3, [
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    ], id="leaf 2 of 3"),
    pytest.param(1, 5, [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ], id="leaf 1 of 5"),
]  # fmt: skip


def items(n: int) -> list[bytes]:
    return [b"item %d" % i for i in range(n)]


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def test_leaf_hash_prefixes_0x00() -> None:
    assert merkle.leaf_hash(b"abc") == sha256(b"\x00abc")


def test_node_hash_prefixes_0x01() -> None:
    left, right = bytes(32), b"\x01" * 32
    assert merkle.node_hash(left, right) == sha256(b"\x01" + left + right)


def test_empty_tree_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one item"):
        merkle.root([])


def test_single_item_root_is_its_leaf_hash() -> None:
    assert merkle.root([b"x"]) == merkle.leaf_hash(b"x")


def test_split_is_at_the_largest_power_of_two_below_n() -> None:
    five = items(5)
    leaves = [merkle.leaf_hash(d) for d in five]
    left = merkle.node_hash(merkle.node_hash(leaves[0], leaves[1]), merkle.node_hash(leaves[2], leaves[3]))
    assert merkle.root(five) == merkle.node_hash(left, leaves[4])


def test_interior_node_cannot_pose_as_a_leaf() -> None:
    """Second preimages: a tree of two leaves differs from one leaf holding their concatenated hashes."""
    a, b = merkle.leaf_hash(b"a"), merkle.leaf_hash(b"b")
    assert merkle.root([b"a", b"b"]) != merkle.root([a + b])


def rfc9162_mth(data: list[bytes]) -> bytes:
    """The recursive definition of RFC 9162 2.1.1, as an oracle for the node's bottom-up computation."""
    if len(data) == 1:
        return sha256(b"\x00" + data[0])
    k = 1 << ((len(data) - 1).bit_length() - 1)  # largest power of two below n
    return sha256(b"\x01" + rfc9162_mth(data[:k]) + rfc9162_mth(data[k:]))


def test_root_equals_the_recursive_definition_for_every_size_up_to_130() -> None:
    for n in range(1, 131):
        assert merkle.root(items(n)) == rfc9162_mth(items(n)), n


@pytest.mark.parametrize("n", sorted(CT_ROOTS), ids=lambda n: f"{n} leaves")
def test_root_matches_certificate_transparency_reference(n: int) -> None:
    assert merkle.root(CT_LEAVES[:n]).hex() == CT_ROOTS[n]


@pytest.mark.parametrize(("index", "size", "expected"), CT_PROOFS)
def test_proof_matches_certificate_transparency_reference(index: int, size: int, expected: list[str]) -> None:
    proof = merkle.inclusion_proof(CT_LEAVES[:size], index)
    assert [p.hex() for p in proof] == expected
    assert merkle.root_from_proof(CT_LEAVES[index], index, size, proof).hex() == CT_ROOTS[size]


def test_every_proof_verifies_for_every_size_up_to_70() -> None:
    for n in range(1, 71):
        data = items(n)
        root = merkle.root(data)
        depth = (n - 1).bit_length()  # ceil(log2 n)
        for i in range(n):
            proof = merkle.inclusion_proof(data, i)
            assert len(proof) <= depth, (n, i)
            assert merkle.root_from_proof(data[i], i, n, proof) == root, (n, i)


def test_proof_for_another_index_gives_another_root() -> None:
    for n in range(2, 71):
        data = items(n)
        root = merkle.root(data)
        for i in range(n):
            proof = merkle.inclusion_proof(data, i)
            for j in {i - 1, i + 1} & set(range(n)):
                # A proof of the wrong length for index j is rejected outright.
                with contextlib.suppress(VerificationError):
                    assert merkle.root_from_proof(data[i], j, n, proof) != root, (n, i, j)


def test_proof_with_a_changed_sibling_gives_another_root() -> None:
    for n in range(2, 71):
        data = items(n)
        root = merkle.root(data)
        for i in range(n):
            proof = merkle.inclusion_proof(data, i)
            for k in range(len(proof)):
                tampered = [*proof[:k], bytes([proof[k][0] ^ 1]) + proof[k][1:], *proof[k + 1 :]]
                assert merkle.root_from_proof(data[i], i, n, tampered) != root, (n, i, k)


def test_proof_of_another_item_gives_another_root() -> None:
    data = items(7)
    proof = merkle.inclusion_proof(data, 3)
    assert merkle.root_from_proof(b"not item 3", 3, 7, proof) != merkle.root(data)


def test_size_of_another_depth_is_rejected_or_gives_another_root() -> None:
    """Sizes of equal depth can share a path (docs/protocol.md): the size must come from signed data."""
    for n in range(2, 34):
        data = items(n)
        root = merkle.root(data)
        for size in range(1, 2 * n + 1):
            if (size - 1).bit_length() == (n - 1).bit_length():
                continue
            for i in range(min(n, size)):
                proof = merkle.inclusion_proof(data, i)
                with contextlib.suppress(VerificationError):
                    assert merkle.root_from_proof(data[i], i, size, proof) != root, (n, i, size)


@pytest.mark.parametrize(
    ("index", "size", "proof_change", "message"),
    [
        pytest.param(5, 5, None, "not below tree size", id="index equal to size"),
        pytest.param(9, 5, None, "not below tree size", id="index above size"),
        pytest.param(0, 5, "drop last", "shorter than the tree is deep", id="proof too short"),
        pytest.param(0, 5, "append", "longer than the tree is deep", id="proof too long"),
        pytest.param(0, 5, "short sibling", "not 32 bytes", id="sibling of 31 bytes"),
    ],
)
def test_malformed_proof_is_rejected(index: int, size: int, proof_change: str | None, message: str) -> None:
    data = items(5)
    proof = merkle.inclusion_proof(data, 0)
    if proof_change == "drop last":
        proof = proof[:-1]
    elif proof_change == "append":
        proof = [*proof, bytes(32)]
    elif proof_change == "short sibling":
        proof = [proof[0][:31], *proof[1:]]
    with pytest.raises(VerificationError, match=message):
        merkle.root_from_proof(data[0], index, size, proof)


@pytest.mark.parametrize("index", [-1, 3], ids=["negative", "equal to count"])
def test_proof_of_missing_index_is_refused(index: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        merkle.inclusion_proof(items(3), index)


def test_single_item_proof_is_empty() -> None:
    assert merkle.inclusion_proof([b"only"], 0) == []
    assert merkle.root_from_proof(b"only", 0, 1, []) == merkle.root([b"only"])


@given(st.lists(st.binary(max_size=40), min_size=1, max_size=100), st.data())
def test_any_item_of_any_tree_proves_its_inclusion(data: list[bytes], draw: st.DataObject) -> None:
    index = draw.draw(st.integers(0, len(data) - 1))
    proof = merkle.inclusion_proof(data, index)
    assert merkle.root_from_proof(data[index], index, len(data), proof) == merkle.root(data)
