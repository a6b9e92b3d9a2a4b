"""Regenerates the protocol's vectors: tests/vectors/golden.json (the worked example of docs/protocol.md) and
tests/vectors/bundles/ (the conformance suite of provenance bundles, docs/protocol.md §9.9, built by
testkit/bundle_vectors.py).

Everything is derived from fixed inputs: keys come from fixed seeds, timestamps are constants, and Ed25519
signing is deterministic (RFC 8032), so running this twice writes identical bytes. `--check` fails if a
checked-in file differs, is missing, or is not generated any more.

    python scripts/gen_vectors.py            # rewrite tests/vectors/golden.json and tests/vectors/bundles/
    python scripts/gen_vectors.py --check    # exit 1 if anything is out of date
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from node.core import merkle  # noqa: E402
from node.core.entry import ZERO_ID, Entry, EntryKind, sign_entry  # noqa: E402
from node.core.keys import SigningKey  # noqa: E402
from node.core.records import HashRecord, record_id  # noqa: E402
from node.core.retraction import RetractionItem  # noqa: E402
from node.core.signals import PDQ_MIN_QUALITY_DEFAULT  # noqa: E402
from node.core.taxonomy import Taxonomy  # noqa: E402

VECTORS = ROOT / "tests" / "vectors" / "golden.json"
BUNDLES = ROOT / "tests" / "vectors" / "bundles"
CONSORTIUM_ID = "example-consortium"
AUTHOR = "member-a"
KEY_NAME = "member-a"

# Each contribution is (entry name, timestamp, records as a member submits them).
CONTRIBUTIONS: tuple[tuple[str, int, tuple[dict[str, Any], ...]], ...] = (
    (
        "contribution_seq1",
        1_700_000_000_000,
        (
            {
                "name": "pdq_with_quality",
                "signal_type_name": "pdq",
                "value_hex": "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
                "quality": 87,
                "labels": ["tvec.propaganda"],
            },
            {
                "name": "md5_two_labels",
                "signal_type_name": "md5",
                "value_hex": "d41d8cd98f00b204e9800998ecf8427e",
                "quality": 0,
                # Submitted out of order; the record stores them sorted.
                "labels": ["tvec.manifesto", "tvec.glorification"],
            },
            {
                "name": "sha256_tags_reference_source",
                "signal_type_name": "sha256",
                "value_hex": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                "quality": 0,
                "labels": ["referral.law_enforcement", "tvec.recruitment_instruction"],
                # Submitted with a duplicate and out of order; the record stores them sorted and unique.
                "tags": ["lang:en", "campaign:2023-11", "lang:en"],
                "reference": "case-4711",
                "source": "referral:example-iru",
            },
        ),
    ),
    (
        "contribution_seq2",
        1_700_000_060_000,
        (
            {
                "name": "video_md5_unicode_text",
                "signal_type_name": "video_md5",
                "value_hex": "0123456789ABCDEF0123456789ABCDEF",
                "quality": 0,
                "labels": ["tvec.attack_livestream"],
                "tags": ["lang:de"],
                "reference": "Fall Nr. 7 — Überprüfung",
                "source": "proaktive Erkennung 🔍",
            },
        ),
    ),
)

RETRACTION_NAME = "retraction_seq3"
RETRACTION_TIMESTAMP = 1_700_000_120_000
# (entry name, index of the record in that entry, reason)
RETRACTED: tuple[tuple[str, int, str], ...] = (
    ("contribution_seq1", 1, "false positive: benign file"),
    ("contribution_seq2", 0, "Zurückgezogen nach Überprüfung"),
)


def example_key(name: str) -> tuple[bytes, SigningKey]:
    """The example key `name`: its seed is SHA-256(b"hashnode example key " + name)."""
    seed = hashlib.sha256(b"hashnode example key " + name.encode("utf-8")).digest()
    return seed, SigningKey.from_seed(seed)


def _hex_list(values: list[bytes] | tuple[bytes, ...]) -> list[str]:
    return [value.hex() for value in values]


def _entry_vector(name: str, entry: Entry) -> dict[str, Any]:
    header = entry.header
    items = list(entry.items)
    return {
        "name": name,
        "consortium_id": header.consortium_id,
        "author": header.author,
        "key_id": header.key_id.hex(),
        "seq": header.seq,
        "prev": header.prev.hex(),
        "timestamp_ms": header.timestamp_ms,
        "kind": header.kind,
        "kind_name": EntryKind(header.kind).label,
        "item_count": header.item_count,
        "items": _hex_list(items),
        "leaf_hashes": [merkle.leaf_hash(item).hex() for item in items],
        "body_root": header.body_root.hex(),
        "header": entry.header_bytes.hex(),
        "entry_id": entry.entry_id.hex(),
        "signature": entry.signature.hex(),
        "inclusion_proofs": [_hex_list(merkle.inclusion_proof(items, i)) for i in range(len(items))],
    }


def _record_fields(record: HashRecord) -> dict[str, Any]:
    return dict(record.as_json())


def _sign(
    key: SigningKey, seq: int, prev: bytes, timestamp_ms: int, kind: EntryKind, items: list[bytes]
) -> Entry:
    return sign_entry(
        key,
        consortium_id=CONSORTIUM_ID,
        author=AUTHOR,
        seq=seq,
        prev=prev,
        timestamp_ms=timestamp_ms,
        kind=kind,
        items=items,
    )


def _contribution(
    key: SigningKey,
    seq: int,
    prev: bytes,
    name: str,
    timestamp_ms: int,
    submitted: tuple[dict[str, Any], ...],
) -> tuple[Entry, dict[str, Any]]:
    """Creates records as a member submits them (validated, canonicalised) and signs them as one entry."""
    inputs = [{k: v for k, v in fields.items() if k != "name"} for fields in submitted]
    records = [
        HashRecord.create(**fields, taxonomy=Taxonomy.default(), min_pdq_quality=PDQ_MIN_QUALITY_DEFAULT)
        for fields in inputs
    ]
    entry = _sign(key, seq, prev, timestamp_ms, EntryKind.CONTRIBUTION, [r.encode() for r in records])
    vector = _entry_vector(name, entry)
    vector["records"] = [
        {
            "name": fields["name"],
            "index": index,
            "submitted": given,
            "fields": _record_fields(record),
            "item": record.encode().hex(),
            "record_id": record_id(entry.entry_id, index).hex(),
        }
        for index, (fields, given, record) in enumerate(zip(submitted, inputs, records, strict=True))
    ]
    return entry, vector


def _retraction(key: SigningKey, seq: int, prev: bytes, by_name: dict[str, Entry]) -> dict[str, Any]:
    retractions = [
        RetractionItem(record_id(by_name[entry_name].entry_id, index), reason)
        for entry_name, index, reason in RETRACTED
    ]
    entry = _sign(
        key, seq, prev, RETRACTION_TIMESTAMP, EntryKind.RETRACTION, [r.encode() for r in retractions]
    )
    vector = _entry_vector(RETRACTION_NAME, entry)
    vector["retractions"] = [
        {"record_id": r.record_id.hex(), "reason": r.reason, "item": r.encode().hex()} for r in retractions
    ]
    return vector


def build() -> dict[str, Any]:
    """All vectors as one JSON-ready dict, in a fixed order: one author's log of three chained entries."""
    seed, key = example_key(KEY_NAME)
    entries: list[dict[str, Any]] = []
    by_name: dict[str, Entry] = {}
    prev, seq = ZERO_ID, 1
    for name, timestamp_ms, submitted in CONTRIBUTIONS:
        entry, vector = _contribution(key, seq, prev, name, timestamp_ms, submitted)
        entries.append(vector)
        by_name[name] = entry
        prev, seq = entry.entry_id, seq + 1
    entries.append(_retraction(key, seq, prev, by_name))
    return {
        "description": "Golden vectors of the hashnode wire format; see docs/protocol.md, 'Worked example'.",
        "generator": "scripts/gen_vectors.py",
        "keys": [
            {
                "name": KEY_NAME,
                "seed_rule": 'SHA-256(b"hashnode example key " || UTF-8(name))',
                "seed": seed.hex(),
                "public_key": key.public.raw.hex(),
                "key_id": key.public.key_id.hex(),
            }
        ],
        "entries": entries,
    }


def render(vectors: dict[str, Any]) -> str:
    return json.dumps(vectors, indent=2, ensure_ascii=False) + "\n"


def bundle_files() -> dict[Path, bytes]:
    from testkit.bundle_vectors import build as build_bundles

    files, _ = build_bundles()
    return {BUNDLES / name: data for name, data in files.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=VECTORS, help="where to write golden.json (default: %(default)s)")
    parser.add_argument("--check", action="store_true", help="compare with the files instead of writing them")
    args = parser.parse_args(argv)
    files = {args.out: render(build()).encode("utf-8"), **bundle_files()}
    if args.check:
        stale = [path for path, data in files.items() if not path.exists() or path.read_bytes() != data]
        extra = sorted({p for p in BUNDLES.rglob("*") if p.is_file()} - set(files)) if BUNDLES.exists() else []
        for path in [*stale, *extra]:
            print(f"{path.relative_to(ROOT)}: out of date; run scripts/gen_vectors.py", file=sys.stderr)
        if stale or extra:
            return 1
        print(f"{len(files)} vector files: up to date")
        return 0
    if BUNDLES.exists():
        for old in BUNDLES.rglob("*"):
            if old.is_file() and old not in files:
                old.unlink()
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    print(f"wrote {len(files)} vector files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
