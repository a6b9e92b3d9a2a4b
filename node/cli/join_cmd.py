"""`hashnode join --consortium ID --member-id ID --organisation NAME --contact EMAIL --out DIR`: ask to join.

Creates, in a new directory, everything an organisation's node needs to ask the stewards for admission and
then to run: its log key, its TLS identity, the signed join request to send, API tokens for its own systems
and its operator, and a node config to complete. Prints what to confirm with the stewards and the next steps.
"""

from __future__ import annotations

import argparse
import secrets
from dataclasses import dataclass
from pathlib import Path

from node.cli.command_base import add_json_option, print_json
from node.cli.exit_codes import ExitCode
from node.core.errors import ConfigError, InvalidArgument
from node.core.keys import SigningKey
from node.core.private_files import PUBLIC_MODE, private_directory, write_file
from node.ledger.ledger import now_ms
from node.membership import certificates
from node.membership.join import SignedJoinRequest, create_join_request
from node.membership.members import MAX_ENDPOINTS, ROLES, check_endpoint, check_member_id
from node.network.addresses import check_listen

CERTIFICATE_YEARS = 5
YEAR_MS = 365 * 86_400_000
FILES = ("log.key", "tls.crt", "tls.key", "join-request.json", "client-token", "admin-token", "node.toml")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--consortium", required=True, metavar="ID", help="the consortium's id (its stewards say)"
    )
    parser.add_argument(
        "--member-id", required=True, metavar="ID", help="the id you ask for, e.g. platform-d"
    )
    parser.add_argument("--organisation", required=True, metavar="NAME", help="your organisation's name")
    parser.add_argument(
        "--contact", required=True, metavar="EMAIL", help="who the stewards and members contact"
    )
    parser.add_argument("--role", default="contributor", choices=ROLES, help="the role you ask for")
    parser.add_argument(
        "--endpoint",
        action="append",
        default=[],
        metavar="HOST:PORT",
        help="where other members' nodes reach your peer listener (the roster lists it and every node dials "
        "it); repeat for more than one, in order of preference",
    )
    parser.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="a new directory for the files"
    )
    parser.add_argument("--listen", default="127.0.0.1:50051", metavar="HOST:PORT", help="client API address")
    parser.add_argument("--peer-listen", default="0.0.0.0:50061", metavar="HOST:PORT", help="peer listener")
    parser.add_argument(
        "--admin-listen", default="127.0.0.1:50052", metavar="HOST:PORT", help="admin listener"
    )
    add_json_option(parser)


@dataclass(frozen=True)
class JoinKit:
    """Everything `join` writes, made in memory first so that nothing is written unless all of it is valid."""

    log_key: SigningKey
    identity: certificates.TlsIdentity
    request: SignedJoinRequest
    client_token: str
    admin_token: str
    config: str


def _check(args: argparse.Namespace) -> None:
    try:
        check_member_id(args.member_id)
    except InvalidArgument as exc:
        raise InvalidArgument("--member-id", args.member_id, exc.message.split("want ", 1)[-1]) from None
    for flag, value in (
        ("--listen", args.listen),
        ("--peer-listen", args.peer_listen),
        ("--admin-listen", args.admin_listen),
    ):
        try:
            check_listen(value, flag)
        except ConfigError as exc:
            raise InvalidArgument(flag, value, "host:port, e.g. 0.0.0.0:50061") from exc
    for endpoint in args.endpoint:
        check_endpoint(endpoint, "--endpoint")
    if len(set(args.endpoint)) != len(args.endpoint) or len(args.endpoint) > MAX_ENDPOINTS:
        raise InvalidArgument("--endpoint", args.endpoint, f"at most {MAX_ENDPOINTS} distinct endpoints")
    taken = [name for name in FILES if (args.out / name).exists()]
    if taken:
        raise ConfigError(f"--out {args.out}: already holds {', '.join(taken)}; choose a new directory")


def make_kit(args: argparse.Namespace) -> JoinKit:
    """Raises: JoinRequestError (a field is invalid)."""
    created = now_ms()
    log_key = SigningKey.generate()
    identity = certificates.generate_identity(
        args.member_id, not_before_ms=created - 3_600_000, not_after_ms=created + CERTIFICATE_YEARS * YEAR_MS
    )
    request = create_join_request(
        log_key,
        identity.certificate_der,
        consortium_id=args.consortium,
        member_id=args.member_id,
        organisation=args.organisation,
        contact=args.contact,
        requested_role=args.role,
        endpoints=args.endpoint,
        created_ms=created,
    )
    return JoinKit(log_key, identity, request, secrets.token_hex(32), secrets.token_hex(32), node_toml(args))


def node_toml(args: argparse.Namespace) -> str:
    return f"""# Node config of {args.member_id} ({args.organisation}), written by `hashnode join`.
# Before the first start: save the roster file the stewards send you (the version admitting you) next to this
# file as roster.json, then run hashnode bootstrap (docs/onboarding.md). Keep log.key, tls.key and the tokens
# secret.
[node]
member_id = "{args.member_id}"
roster = "roster.json"
# roster_id = "..."   # bootstrap pins the id the stewards confirm to you; or pin it here
signing_key = "log.key"
data_dir = "data"
listen = "{args.listen}"          # the client API, for your own systems (client-token)

[tls]
certificate = "tls.crt"
private_key = "tls.key"

[peer]
listen = "{args.peer_listen}"     # other members' nodes, mutual TLS pinned to the roster; they reach it at
                                  # the endpoint the roster lists for you ({", ".join(args.endpoint) or "none given"})

[clients]
token_file = "client-token"

[admin]
listen = "{args.admin_listen}"    # your operator (admin-token)
token_file = "admin-token"

# Your node dials every other active member at the endpoints the roster lists, and they dial yours: no peer to
# configure. Only a peer the roster does not give goes here (your own follower's primary, a private link to a
# member, replacing its roster endpoints); hashnode admin peers add does the same at run time.
# [[peers]]
# name = "platform-a"
# address = "10.0.0.2:50061"
"""


def write_kit(out: Path, kit: JoinKit) -> None:
    """The kit's files in `out` (created 0700 if new): keys, tokens and the config 0600; the certificate and the
    join request, made to be sent, 0644."""
    private_directory(out)
    kit.log_key.save(out / "log.key")
    kit.identity.save(out / "tls.crt", out / "tls.key")
    write_file(out / "join-request.json", kit.request.to_json().encode("utf-8"), mode=PUBLIC_MODE, exclusive=True)
    write_file(out / "client-token", (kit.client_token + "\n").encode(), exclusive=True)
    write_file(out / "admin-token", (kit.admin_token + "\n").encode(), exclusive=True)
    write_file(out / "node.toml", kit.config.encode("utf-8"), exclusive=True)


def run(args: argparse.Namespace) -> int:
    _check(args)
    kit = make_kit(args)
    write_kit(args.out, kit)
    key_id, fingerprint = kit.log_key.public.key_id.hex(), kit.identity.fingerprint.hex()
    if args.json:
        print_json(
            {
                "directory": str(args.out),
                "member_id": args.member_id,
                "log_key_id": key_id,
                "tls_fingerprint": fingerprint,
                "request": str(args.out / "join-request.json"),
            }
        )
        return ExitCode.OK
    print(f"created the keys and the join request of {args.member_id} in {args.out}")
    print(f"  log key id       {key_id}")
    print(f"  TLS fingerprint  {fingerprint}")
    if not args.endpoint:
        print("  no --endpoint: the other members' nodes will not dial yours (yours dials theirs); to be reachable,")
        print("  join again with --endpoint HOST:PORT, or ask the stewards for hashnode admin set-endpoints later")
    print("next:")
    print(f"  1. send {args.out / 'join-request.json'} to the stewards of {args.consortium}")
    print("  2. confirm the log key id and the TLS fingerprint above to them on another channel (a call, a")
    print("     signed letter): the file proves you hold the keys, not who you are")
    print("  3. when they have admitted you, they send you the signed roster and tell you its id: save it as")
    print(f"     {args.out / 'roster.json'}, then")
    print(f"     hashnode bootstrap --config {args.out / 'node.toml'} --peer PEER:PORT --roster-id ROSTER_ID")
    print(f"  4. hashnode serve --config {args.out / 'node.toml'}")
    print("keep log.key, tls.key, client-token and admin-token secret; they never leave this machine")
    return ExitCode.OK
