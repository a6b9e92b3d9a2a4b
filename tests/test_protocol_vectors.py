"""The golden vectors of docs/protocol.md: up to date, re-derivable from the document, tamper-evident.

The re-derivation (part b) deliberately does not use node.core.canonical, node.core.entry, node.core.merkle or
node.core.records: it implements the wire format from docs/protocol.md with `struct`, `hashlib` and `cryptography`
only, as a second implementation in another language would. If it and the node disagree, one of them departs
from the document.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import json
import struct
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

# Used only by part (c), which tests the node's verifier; parts (a) and (b) never touch node code.
from node.core.entry import Entry
from node.core.errors import VerificationError
from node.core.keys import PublicKey

ROOT = Path(__file__).resolve().parent.parent
VECTORS_PATH = ROOT / "tests" / "vectors" / "golden.json"
PROTOCOL_DOC = ROOT / "docs" / "protocol.md"
VECTORS: dict[str, Any] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
ENTRIES: list[dict[str, Any]] = VECTORS["entries"]
KEY: dict[str, Any] = VECTORS["keys"][0]
ENTRY_NAMES = [e["name"] for e in ENTRIES]
RECORDS = [(e, r) for e in ENTRIES for r in e.get("records", [])]
RECORD_NAMES = [r["name"] for _, r in RECORDS]


def _load_generator() -> Any:
    spec = importlib.util.spec_from_file_location("gen_vectors", ROOT / "scripts" / "gen_vectors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- (a) drift --------------------------------------------------------------------------------


def test_checked_in_vectors_equal_what_the_generator_produces_now() -> None:
    generator = _load_generator()
    assert VECTORS_PATH.read_text(encoding="utf-8") == generator.render(generator.build()), (
        "tests/vectors/golden.json is out of date: run `python scripts/gen_vectors.py` and review the diff"
    )


def test_generator_is_deterministic() -> None:
    generator = _load_generator()
    assert generator.render(generator.build()) == generator.render(generator.build())


def test_protocol_document_quotes_the_current_vectors() -> None:
    doc = PROTOCOL_DOC.read_text(encoding="utf-8")
    first = ENTRIES[0]
    quoted = {
        "seed": KEY["seed"],
        "public key": KEY["public_key"],
        "key id": KEY["key_id"],
        "body root": first["body_root"],
        "entry id": first["entry_id"],
        "signature": first["signature"],
        "first leaf hash": first["leaf_hashes"][0],
        "first record id": first["records"][0]["record_id"],
    }
    stale = [name for name, value in quoted.items() if value not in doc]
    assert not stale, f"docs/protocol.md 'Worked example' does not show the current {stale}"


# --- (b) independent re-derivation from docs/protocol.md ----------------------------------------
# "Encoding primitives": big-endian integers, u16-prefixed UTF-8 strings, u32-prefixed blobs,
# u16-counted string lists.


def u8(v: int) -> bytes:
    return struct.pack(">B", v)


def u16(v: int) -> bytes:
    return struct.pack(">H", v)


def u32(v: int) -> bytes:
    return struct.pack(">I", v)


def u64(v: int) -> bytes:
    return struct.pack(">Q", v)


def string(s: str) -> bytes:
    raw = s.encode("utf-8")
    return u16(len(raw)) + raw


def blob(b: bytes) -> bytes:
    return u32(len(b)) + b


def string_list(values: list[str]) -> bytes:
    return u16(len(values)) + b"".join(string(v) for v in values)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# "Merkle trees and inclusion proofs" (RFC 9162 2.1.1, 2.1.3.2).


def leaf(d: bytes) -> bytes:
    return sha256(b"\x00" + d)


def node(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right)


def largest_power_of_two_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(items: list[bytes]) -> bytes:
    if len(items) == 1:
        return leaf(items[0])
    k = largest_power_of_two_below(len(items))
    return node(mth(items[:k]), mth(items[k:]))


def path(m: int, items: list[bytes]) -> list[bytes]:
    if len(items) == 1:
        return []
    k = largest_power_of_two_below(len(items))
    if m < k:
        return [*path(m, items[:k]), mth(items[k:])]
    return [*path(m - k, items[k:]), mth(items[:k])]


def root_from_proof(d: bytes, m: int, n: int, proof: list[bytes]) -> bytes | None:
    """RFC 9162 2.1.3.2, step by step as the document gives it; None where it says "fail"."""
    if m >= n:
        return None
    fn, sn, r = m, n - 1, leaf(d)
    for p in proof:
        if len(p) != 32 or sn == 0:
            return None
        if fn % 2 == 1 or fn == sn:
            r = node(p, r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


# "Entries", "Hash record items", "Record ids", "Retraction items".


def header_bytes(e: dict[str, Any]) -> bytes:
    return (
        b"hashnode.entry.v1\x00"
        + string(e["consortium_id"])
        + string(e["author"])
        + bytes.fromhex(e["key_id"])
        + u64(e["seq"])
        + bytes.fromhex(e["prev"])
        + u64(e["timestamp_ms"])
        + u16(e["kind"])
        + u32(e["item_count"])
        + bytes.fromhex(e["body_root"])
    )


def record_item(f: dict[str, Any]) -> bytes:
    return (
        string(f["signal_type"])
        + blob(bytes.fromhex(f["value"]))
        + u8(f["quality"])
        + string_list(f["labels"])
        + string_list(f["tags"])
        + string(f["reference"])
        + string(f["source"])
    )


def record_id(entry_id: bytes, index: int) -> bytes:
    return sha256(b"hashnode.record.v1\x00" + entry_id + u32(index))


def retraction_item(r: dict[str, Any]) -> bytes:
    return bytes.fromhex(r["record_id"]) + string(r["reason"])


def ed25519_verifies(public_key: bytes, signature: bytes, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except InvalidSignature:
        return False
    return True


def items_of(e: dict[str, Any]) -> list[bytes]:
    return [bytes.fromhex(i) for i in e["items"]]


SIGNAL_SIZES = {"pdq": 32, "md5": 16, "sha256": 32, "video_md5": 16}


def test_key_derives_from_its_seed_rule() -> None:
    seed = sha256(b"hashnode example key " + KEY["name"].encode("utf-8"))
    public = (
        Ed25519PrivateKey.from_private_bytes(seed)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    assert seed.hex() == KEY["seed"]
    assert public.hex() == KEY["public_key"]
    assert sha256(public).hex() == KEY["key_id"]


@pytest.mark.parametrize("e", ENTRIES, ids=ENTRY_NAMES)
def test_entry_header_id_and_signature_rederive(e: dict[str, Any]) -> None:
    header = header_bytes(e)
    assert header.hex() == e["header"]
    assert len(header) == 140 + len(e["consortium_id"].encode()) + len(e["author"].encode())
    assert sha256(header).hex() == e["entry_id"]
    assert e["key_id"] == KEY["key_id"]
    assert ed25519_verifies(bytes.fromhex(KEY["public_key"]), bytes.fromhex(e["signature"]), header)
    # Ed25519 is deterministic (RFC 8032): the same key and header give the same signature.
    seed = bytes.fromhex(KEY["seed"])
    assert Ed25519PrivateKey.from_private_bytes(seed).sign(header).hex() == e["signature"]


@pytest.mark.parametrize("e", ENTRIES, ids=ENTRY_NAMES)
def test_body_root_leaves_and_proofs_rederive(e: dict[str, Any]) -> None:
    items = items_of(e)
    assert e["item_count"] == len(items)
    assert [leaf(i).hex() for i in items] == e["leaf_hashes"]
    assert mth(items).hex() == e["body_root"]
    for m, proof_hex in enumerate(e["inclusion_proofs"]):
        proof = [bytes.fromhex(p) for p in proof_hex]
        assert [p.hex() for p in path(m, items)] == proof_hex
        assert root_from_proof(items[m], m, len(items), proof) == bytes.fromhex(e["body_root"])


def test_chain_links_each_entry_to_the_previous_one() -> None:
    assert [e["seq"] for e in ENTRIES] == list(range(1, len(ENTRIES) + 1))
    assert ENTRIES[0]["prev"] == "00" * 32
    for previous, current in itertools.pairwise(ENTRIES):
        assert current["prev"] == previous["entry_id"]
        assert current["author"] == previous["author"]


@pytest.mark.parametrize(("e", "r"), RECORDS, ids=RECORD_NAMES)
def test_record_item_and_id_rederive(e: dict[str, Any], r: dict[str, Any]) -> None:
    fields = r["fields"]
    assert record_item(fields).hex() == r["item"] == e["items"][r["index"]]
    assert record_id(bytes.fromhex(e["entry_id"]), r["index"]).hex() == r["record_id"]
    assert len(bytes.fromhex(fields["value"])) == SIGNAL_SIZES[fields["signal_type"]]
    for name in ("labels", "tags"):
        assert fields[name] == sorted(set(fields[name])), f"{name} must be sorted and unique"


@pytest.mark.parametrize(("e", "r"), RECORDS, ids=RECORD_NAMES)
def test_record_canonical_fields_follow_from_the_submission(e: dict[str, Any], r: dict[str, Any]) -> None:
    submitted, fields = r["submitted"], r["fields"]
    assert fields["signal_type"] == submitted["signal_type_name"].lower()
    assert fields["value"] == submitted["value_hex"].strip().lower()
    assert fields["labels"] == sorted(set(submitted["labels"]))
    assert fields["tags"] == sorted(set(submitted.get("tags", [])))


def test_retraction_items_rederive_and_name_records_of_the_same_author() -> None:
    retraction = next(e for e in ENTRIES if e["kind"] == 2)
    own_records = {
        r["record_id"] for e in ENTRIES if e["author"] == retraction["author"] for r in e.get("records", [])
    }
    assert [retraction_item(r).hex() for r in retraction["retractions"]] == retraction["items"]
    assert {r["record_id"] for r in retraction["retractions"]} <= own_records


@pytest.mark.parametrize(("e", "r"), RECORDS, ids=RECORD_NAMES)
def test_provenance_of_each_record_verifies_offline(e: dict[str, Any], r: dict[str, Any]) -> None:
    """docs/protocol.md "Verifying a provenance bundle", from the pieces a bundle carries."""
    header = bytes.fromhex(e["header"])
    item = bytes.fromhex(r["item"])
    proof = [bytes.fromhex(p) for p in e["inclusion_proofs"][r["index"]]]
    public_key = bytes.fromhex(KEY["public_key"])

    assert header[:18] == b"hashnode.entry.v1\x00"
    consortium_end = 20 + struct.unpack(">H", header[18:20])[0]
    assert header[20:consortium_end].decode() == "example-consortium"
    key_id_at = consortium_end + 2 + struct.unpack(">H", header[consortium_end : consortium_end + 2])[0]
    assert header[key_id_at : key_id_at + 32] == sha256(public_key)
    kind, item_count = struct.unpack(">HI", header[-38:-32])
    assert kind == 1
    assert ed25519_verifies(public_key, bytes.fromhex(e["signature"]), header)
    assert root_from_proof(item, r["index"], item_count, proof) == header[-32:]
    assert record_id(sha256(header), r["index"]).hex() == r["record_id"]


@pytest.mark.parametrize(
    ("index", "size"),
    [
        pytest.param(1, 3, id="another index"),
        pytest.param(0, 2, id="smaller tree"),
        pytest.param(3, 3, id="index not below size"),
    ],
)
def test_proof_with_another_index_or_size_fails(index: int, size: int) -> None:
    e = ENTRIES[0]
    proof = [bytes.fromhex(p) for p in e["inclusion_proofs"][0]]
    assert root_from_proof(items_of(e)[0], index, size, proof) != bytes.fromhex(e["body_root"])


def test_tree_size_must_come_from_the_signed_item_count() -> None:
    """A proof does not pin the tree size by itself: leaf 0 of 3 leaves also "verifies" as leaf 0 of 4.

    That is why a verifier takes the size from the signed header's item_count (docs/protocol.md).
    """
    e = ENTRIES[0]
    proof = [bytes.fromhex(p) for p in e["inclusion_proofs"][0]]
    assert e["item_count"] == 3
    assert root_from_proof(items_of(e)[0], 0, 4, proof) == bytes.fromhex(e["body_root"])


# --- (c) every single-bit flip fails node.core.entry verification ------------------------------------


def _flips(data: bytes) -> list[bytes]:
    return [
        data[:i] + bytes([data[i] ^ (1 << bit)]) + data[i + 1 :] for i in range(len(data)) for bit in range(8)
    ]


def _parse_and_verify(header: bytes, signature: bytes, items: list[bytes]) -> None:
    Entry.parse(header, signature, items).verify(PublicKey(bytes.fromhex(KEY["public_key"])))


@pytest.mark.parametrize("e", ENTRIES, ids=ENTRY_NAMES)
def test_unmodified_entry_verifies(e: dict[str, Any]) -> None:
    _parse_and_verify(bytes.fromhex(e["header"]), bytes.fromhex(e["signature"]), items_of(e))


@pytest.mark.parametrize("part", ["header", "items", "signature"])
@pytest.mark.parametrize("e", ENTRIES, ids=ENTRY_NAMES)
def test_every_single_bit_flip_fails_verification(e: dict[str, Any], part: str) -> None:
    header, signature, items = bytes.fromhex(e["header"]), bytes.fromhex(e["signature"]), items_of(e)
    variants: list[tuple[bytes, bytes, list[bytes]]] = []
    if part == "header":
        variants = [(h, signature, items) for h in _flips(header)]
    elif part == "signature":
        variants = [(header, s, items) for s in _flips(signature)]
    else:
        for i, item in enumerate(items):
            variants += [(header, signature, [*items[:i], f, *items[i + 1 :]]) for f in _flips(item)]
    accepted = 0
    for variant in variants:
        try:
            _parse_and_verify(*variant)
        except VerificationError:
            continue
        accepted += 1
    assert variants
    assert accepted == 0, f"{accepted} of {len(variants)} single-bit flips of the {part} still verify"
