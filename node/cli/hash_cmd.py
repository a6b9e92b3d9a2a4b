"""`hashnode hash FILE...`: PDQ, MD5 and SHA-256 of files, computed locally (no node involved)."""

from __future__ import annotations

import argparse
from pathlib import Path

from node.cli.command_base import add_json_option, print_json
from node.cli.exit_codes import ExitCode
from node.hashing import digests, image


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parser.add_argument(
        "--dihedral", action="store_true", help="also PDQ of the 8 rotations/flips of each image"
    )
    add_json_option(parser)


def hash_file(path: Path, *, dihedral: bool) -> dict[str, object]:
    """Everything `hash` reports about one file."""
    md5, sha256 = digests.file_digests(path)
    pdq, quality = image.pdq_hash(path)
    result: dict[str, object] = {
        "path": str(path),
        "pdq": pdq,
        "quality": quality,
        "md5": md5,
        "sha256": sha256,
    }
    if dihedral:
        result["dihedral"] = [
            {"transform": name, "pdq": value, "quality": q} for name, value, q in image.pdq_dihedral(path)
        ]
    return result


def _print_human(result: dict[str, object]) -> None:
    print(result["path"])
    print(f"  pdq     {result['pdq']}  quality {result['quality']}")
    print(f"  md5     {result['md5']}")
    print(f"  sha256  {result['sha256']}")
    variants = result.get("dihedral")
    if isinstance(variants, list):
        for variant in variants:
            print(f"  pdq {variant['transform']:<12} {variant['pdq']}  quality {variant['quality']}")


def run(args: argparse.Namespace) -> int:
    results = [hash_file(path, dihedral=args.dihedral) for path in args.files]
    if args.json:
        print_json(results)
    else:
        for result in results:
            _print_human(result)
    return ExitCode.OK
