"""`hashnode notices [--after N] [--limit N] [--watch]`: reinstatement notices from the node's admin API.

A notice names this platform's content (by the `content_ref` its match queries carried) that matched a record
since overturned on appeal or retracted: content the platform may have removed because of a hash that no
longer stands. `cleared` means no other record still matches it; otherwise a person should look before
reinstating. A notice names the statements of reasons issued about the content that rest on the record: withdraw
or update them (`hashnode statements`). With `--watch` the command stays connected and prints each new notice as
it is issued (one JSON object per line with `--json`), until Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import sys

from node.api.gen.hashnode.v1 import admin_pb2, admin_pb2_grpc
from node.cli.command_base import add_json_option, add_target_options, channel, print_json
from node.cli.display import utc, video_json, video_line, video_ranges_line
from node.cli.exit_codes import ExitCode


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--after", type=int, default=0, metavar="N", help="only notices numbered above N")
    parser.add_argument("--limit", type=int, default=0, metavar="N", help="at most N (1..1000; default 100)")
    parser.add_argument("--watch", action="store_true", help="keep printing new notices as they are issued")
    add_target_options(parser, admin=True)
    add_json_option(parser)


def notice_json(notice: admin_pb2.ReinstateNotice) -> dict[str, object]:
    return {
        "number": notice.number,
        "issued_at_ms": notice.issued_at_ms,
        "cause_record_id": notice.cause_record_id,
        "standing": notice.standing,
        "content_ref": notice.content_ref,
        "overturned_record_ids": list(notice.overturned_record_ids),
        "still_matched_record_ids": list(notice.still_matched_record_ids),
        "query_ids": list(notice.query_ids),
        "first_matched_ms": notice.first_matched_ms,
        "last_matched_ms": notice.last_matched_ms,
        "cleared": notice.cleared,
        "statement_ids": list(notice.statement_ids),
        "videos": [
            {"query_id": v.query_id, "record_id": v.record_id, "video": video_json(v.video)} for v in notice.videos
        ],
    }


def notice_lines(notice: admin_pb2.ReinstateNotice) -> list[str]:
    content = notice.content_ref or f"(no content ref; queries {', '.join(notice.query_ids)})"
    verdict = (
        "cleared: no other record matches it"
        if notice.cleared
        else "still matches " + ", ".join(notice.still_matched_record_ids) + ": review before reinstating"
    )
    return [
        f"notice {notice.number}  {utc(notice.issued_at_ms)}  "
        f"record {notice.cause_record_id} {notice.standing}",
        f"  content   {content}",
        f"  matched   {utc(notice.first_matched_ms)} .. {utc(notice.last_matched_ms)}",
        f"  {verdict}",
        *(
            line
            for v in notice.videos
            for line in (
                f"  query {v.query_id} matched record {v.record_id}: {video_line(v.video)}",
                f"    {video_ranges_line(v.video)}",
            )
        ),
        *(
            [f"  statements {', '.join(notice.statement_ids)}: withdraw or update them (hashnode statements)"]
            if notice.statement_ids
            else []
        ),
    ]


def _show(notice: admin_pb2.ReinstateNotice, as_json: bool) -> None:
    if as_json:
        print(json.dumps(notice_json(notice), sort_keys=True), flush=True)
    else:
        print("\n".join(notice_lines(notice)), flush=True)


def run(args: argparse.Namespace) -> int:
    with channel(args) as opened:
        stub = admin_pb2_grpc.AdminStub(opened)
        if args.watch:
            for notice in stub.WatchReinstateNotices(admin_pb2.WatchNoticesRequest(after=args.after)):
                _show(notice, args.json)
            return ExitCode.OK
        request = admin_pb2.ListNoticesRequest(after=args.after, limit=max(args.limit, 0))
        response = stub.ListReinstateNotices(request, timeout=args.timeout)
    if args.json:
        print_json({"notices": [notice_json(n) for n in response.notices], "next_after": response.next_after})
    elif not response.notices:
        print(f"no reinstatement notices after {args.after}", file=sys.stderr)
    else:
        for notice in response.notices:
            _show(notice, False)
    return ExitCode.OK
