"""`hashnode stats`: what a node holds."""

from __future__ import annotations

import argparse

from node.api.gen.hashnode.v1 import admin_pb2, admin_pb2_grpc
from node.cli.command_base import add_json_option, add_target_options, channel, print_json
from node.cli.exit_codes import ExitCode


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_options(parser, admin=True)
    add_json_option(parser)


def _counts(counts: list[admin_pb2.Count]) -> dict[str, int]:
    return {c.key: c.count for c in counts}


def run(args: argparse.Namespace) -> int:
    with channel(args) as opened:
        stats = admin_pb2_grpc.AdminStub(opened).GetStats(admin_pb2.StatsRequest(), timeout=args.timeout)
    groups = {
        "records_by_type": _counts(list(stats.records_by_type)),
        "records_by_label": _counts(list(stats.records_by_label)),
        "records_by_author": _counts(list(stats.records_by_author)),
    }
    if args.json:
        print_json(
            {
                "member_id": stats.member_id,
                "consortium_id": stats.consortium_id,
                "records": stats.records,
                "entries": stats.entries,
                **groups,
                "index_bytes": stats.index_bytes,
                "disk_bytes": stats.disk_bytes,
                "map_bytes": stats.map_bytes,
            }
        )
        return ExitCode.OK
    print(f"node of {stats.member_id} in {stats.consortium_id}")
    print(f"  records    {stats.records}")
    print(f"  entries    {stats.entries}")
    for key, counts in groups.items():
        shown = ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"
        print(f"  {key.removeprefix('records_'):<11}{shown}")
    mib = 1024 * 1024
    print(f"  index      {stats.index_bytes / mib:.1f} MiB in memory")
    print(f"  disk       {stats.disk_bytes / mib:.1f} MiB used of a {stats.map_bytes / mib:.0f} MiB map")
    return ExitCode.OK
