"""`hashnode admin merge FILE FILE... --out FILE`: join signatures stewards added to copies of a roster."""

from __future__ import annotations

import argparse
from pathlib import Path

from node.cli.admin import roster_files, ruling_files
from node.cli.exit_codes import ExitCode


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files", type=Path, nargs="+", metavar="FILE", help="copies of one roster, each signed"
    )
    parser.add_argument("--out", type=Path, required=True, metavar="FILE", help="the merged file")
    parser.add_argument(
        "--roster", type=Path, metavar="CURRENT", help="the roster trusted now, for the thresholds"
    )


def run(args: argparse.Namespace) -> int:
    if ruling_files.is_ruling_file(args.files[0]):
        first_ruling, *other_rulings = [ruling_files.load(path) for path in args.files]
        merged_ruling = first_ruling.merge(*other_rulings)  # refuses copies of different rulings
        trusted = roster_files.load(args.roster).roster if args.roster else None
        roster_files.write(args.out, merged_ruling, replace=args.out in args.files)
        print(f"merged {len(args.files)} copies of the stewards' ruling into {args.out}")
        for line in ruling_files.describe(merged_ruling, trusted):
            print(line)
        return ExitCode.OK
    first, *others = [roster_files.load(path) for path in args.files]
    merged = first.merge(*others)  # refuses copies of different rosters
    current = roster_files.load(args.roster) if args.roster else None
    roster_files.write(args.out, merged, replace=args.out in args.files)
    print(f"merged {len(args.files)} copies of roster version {merged.roster.version} into {args.out}")
    for line in roster_files.describe_signatures(roster_files.signature_status(merged, current)):
        print(line)
    return ExitCode.OK
