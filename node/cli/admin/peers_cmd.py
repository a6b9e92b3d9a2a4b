"""`hashnode admin peers [list | add NAME ADDRESS | remove NAME | reset NAME] --target ADMIN_ADDRESS`.

A node dials every active member at its roster endpoints by itself; these are the operator's exceptions: `add`
a peer the roster does not give (a follower's primary, a private link to a member, replacing its roster
endpoints), `remove` one (whatever named it), `reset` to forget both for a name.
"""

from __future__ import annotations

import argparse

from node.api.gen.hashnode.v1 import admin_pb2, admin_pb2_grpc
from node.cli.command_base import add_json_option, add_target_options, channel, print_json
from node.cli.display import utc
from node.cli.exit_codes import ExitCode
from node.core.errors import InvalidArgument


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", default="list", choices=("list", "add", "remove", "reset"))
    parser.add_argument("name", nargs="?", metavar="NAME", help="the peer's member id (add, remove, reset)")
    parser.add_argument("address", nargs="?", metavar="ADDRESS", help="host:port of its peer listener (add)")
    add_target_options(parser, admin=True)
    add_json_option(parser)


def run(args: argparse.Namespace) -> int:
    if args.action != "list" and not args.name:
        raise InvalidArgument("NAME", "nothing", f"a member id: hashnode admin peers {args.action} NAME")
    if args.action == "add" and not args.address:
        raise InvalidArgument("ADDRESS", "nothing", "host:port of the peer's peer listener")
    with channel(args) as opened:
        stub = admin_pb2_grpc.AdminStub(opened)
        if args.action == "add":
            stub.AddPeer(admin_pb2.AddPeerRequest(name=args.name, address=args.address), timeout=args.timeout)
            print(f"added peer {args.name} at {args.address}; the node connects to it now")
            return ExitCode.OK
        if args.action in ("remove", "reset"):
            request = admin_pb2.RemovePeerRequest(name=args.name, reset=args.action == "reset")
            stub.RemovePeer(request, timeout=args.timeout)
            if args.action == "remove":
                print(f"removed peer {args.name}: the node no longer dials it (hashnode admin peers reset undoes)")
            else:
                print(f"reset peer {args.name}: the config and the roster decide again whether it is dialled")
            return ExitCode.OK
        peers = stub.ListPeers(admin_pb2.ListPeersRequest(), timeout=args.timeout).peers
    if args.json:
        print_json(
            [
                {
                    "name": p.name,
                    "address": p.address,
                    "source": p.source,
                    "state": p.state,
                    "lag_entries": p.lag_entries,
                    "last_sync_ms": p.last_sync_ms,
                    "last_error": p.last_error,
                    "refused": [
                        {"author": r.author, "from_seq": r.from_seq, "entries": r.entries, "reason": r.reason}
                        for r in p.refused
                    ],
                }
                for p in peers
            ]
        )
        return ExitCode.OK
    for p in peers:
        synced = utc(p.last_sync_ms) if p.last_sync_ms else "never"
        error = f"  ({p.last_error})" if p.last_error else ""
        print(
            f"{p.name:<20} {p.address:<24} {p.source:<7} {p.state:<10} lag {p.lag_entries:<6} "
            f"last sync {synced}{error}"
        )
        for r in p.refused:  # held by the peer, refused here for good: not lag
            print(f"  {r.entries} entries refused from {r.author}: {r.reason} (from seq {r.from_seq})")
    if not peers:
        print(
            "no peers: the roster lists no other active member's endpoint (and none is configured); add one "
            "with hashnode admin peers add NAME ADDRESS"
        )
    return ExitCode.OK
