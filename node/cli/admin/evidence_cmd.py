"""`hashnode admin evidence --target ADMIN_ADDRESS`: the fork evidence a node holds (two entries, one seq)."""

from __future__ import annotations

import argparse

from node.api.gen.hashnode.v1 import admin_pb2, admin_pb2_grpc
from node.cli.command_base import add_json_option, add_target_options, channel, print_json
from node.cli.exit_codes import ExitCode


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_target_options(parser, admin=True)
    add_json_option(parser)


def run(args: argparse.Namespace) -> int:
    with channel(args) as opened:
        reply = admin_pb2_grpc.AdminStub(opened).ListEvidence(
            admin_pb2.ListEvidenceRequest(), timeout=args.timeout
        )
    found = [(e.evidence_id.hex(), e.author, e.seq, e.kind) for e in reply.evidence]
    if args.json:
        print_json([{"evidence_id": i, "author": a, "seq": s, "kind": k} for i, a, s, k in found])
        return ExitCode.OK
    for evidence_id, author, seq, kind in found:
        print(f"{evidence_id[:16]}…  {author} signed two entries at seq {seq} ({kind}); its log is frozen")
    if not found:
        print("no fork evidence: every member's log is a single chain on this node")
    else:
        print("the stewards decide what follows (suspension, key rotation or revocation in the roster)")
    return ExitCode.OK
