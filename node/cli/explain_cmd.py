"""`hashnode explain CONTENT_REF [--out DIR]`: why was this content acted on?

Asks the node's admin API for the logged matches of the content (by the `content_ref` its match queries
carried) and verifies each record's provenance bundle here, offline: who contributed the hash, when, under
which labels, and what happened to it since (disputes, appeals, decisions, retraction). `--out DIR` writes the
bundle files, which anyone can check again with `hashnode verify`.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from node.api import convert
from node.api.gen.hashnode.v1 import admin_pb2, admin_pb2_grpc
from node.cli import verify_cmd
from node.cli.command_base import add_json_option, add_target_options, channel, print_json
from node.cli.display import utc, video_json, video_line, video_ranges_line
from node.cli.exit_codes import ExitCode
from node.core.content_ref import check_content_ref
from node.core.errors import HashnodeError, InvalidArgument
from node.provenance.bundle import VerifiedProvenance


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "content_ref", metavar="CONTENT_REF", help="the content reference your queries carried"
    )
    parser.add_argument("--out", type=Path, metavar="DIR", help="write each record's bundle file into DIR")
    add_target_options(parser, admin=True)
    add_json_option(parser)


def _write_bundles(directory: Path, response: admin_pb2.ExplainMatchResponse) -> list[Path]:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for match in response.matches:
            path = directory / f"{match.record.record_id}.json"
            path.write_text(convert.bundle_to_json(match.bundle), encoding="utf-8")
            written.append(path)
    except OSError as exc:
        raise InvalidArgument(
            "--out", str(directory), f"a writable directory ({exc.strerror or exc})"
        ) from None
    return sorted(set(written))


@dataclass(frozen=True)
class Explained:
    """A logged match and its bundle as verified here (or why it does not verify)."""

    match: admin_pb2.MatchExplanation
    verified: VerifiedProvenance | None
    error: str = ""

    @classmethod
    def check(cls, match: admin_pb2.MatchExplanation) -> Explained:
        try:
            return cls(match, verify_cmd.verify_message(match.bundle, None))
        except HashnodeError as exc:
            return cls(match, None, exc.diagnostics())

    def history(self) -> list[str]:
        events = self.verified.history if self.verified else ()
        return [f"{utc(e.timestamp_ms)} {e.kind} by {e.author}: {e.summary}" for e in events]

    def to_json(self) -> dict[str, object]:
        match, info = self.match, self.match.record
        shown: dict[str, object] = {
            "matched_at_ms": match.matched_at_ms,
            "distance": match.distance,
            "query_id": match.query_id,
            "record_id": info.record_id,
            "author": info.author,
            "contributor_contact": match.bundle.author.contact,
            "labels": list(info.record.labels),
            "verified": self.verified is not None,
            **({"video": video_json(match.video)} if match.HasField("video") else {}),
        }
        if self.verified is None:
            return {**shown, "error": self.error}
        return {**shown, "status": self.verified.status, "history": self.history()}

    def lines(self) -> list[str]:
        match, info = self.match, self.match.record
        state = f"VERIFIED, {self.verified.status}" if self.verified else f"NOT VERIFIED: {self.error}"
        how = video_line(match.video) if match.HasField("video") else f"distance {match.distance}"
        return [
            f"  {utc(match.matched_at_ms)}  {how}  record {info.record_id}",
            *([f"    {video_ranges_line(match.video)}"] if match.HasField("video") else []),
            f"    by {info.author} [{', '.join(info.record.labels)}]  {state}",
            *([f"    contact {match.bundle.author.contact}"] if match.bundle.author.contact else []),
            *(f"    {line}" for line in self.history()),
        ]


def run(args: argparse.Namespace) -> int:
    content_ref = check_content_ref(args.content_ref, "CONTENT_REF")
    with channel(args) as opened:
        request = admin_pb2.ExplainMatchRequest(content_ref=content_ref)
        response = admin_pb2_grpc.AdminStub(opened).ExplainMatch(request, timeout=args.timeout)
    explained = [Explained.check(m) for m in response.matches]
    written = _write_bundles(args.out, response) if args.out else []
    if args.json:
        matches = [e.to_json() for e in explained]
        print_json({"content_ref": content_ref, "matches": matches, "bundles": [str(p) for p in written]})
    else:
        print(f"content {content_ref}: {len(explained)} logged match(es)")
        for each in explained:
            print("\n".join(each.lines()))
        for path in written:
            print(f"wrote {path}")
    return ExitCode.OK if all(e.verified for e in explained) else ExitCode.FAILURE
