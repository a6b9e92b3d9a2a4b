"""Who may call what: the one authorization table of the node, and the interceptor that enforces it.

A node serves three listeners, and each authenticates its callers in one way (docs/access-control.md):

* the **client** listener (`node.listen`): the platform's own systems, by bearer token (`[clients]
  token_file`) or pinned client certificate (`[clients] certificates`);
* the **peer** listener (`[peer] listen`): other members' nodes, by the TLS certificate the roster lists for
  an active member (the handshake already refuses any other certificate);
* the **admin** listener (`[admin] listen`, 127.0.0.1 by default): the operator, by bearer token (`[admin]
  token_file`).

Whatever the listener, a call is allowed only when `RULES` names its method and lists the caller's class. A
method without a row is refused (deny by default), so a new RPC is unreachable until someone decides who may
call it; `tests/test_authz_matrix.py` fails for any RPC of any service without a row. Refusals are
`Unauthenticated` (no or unknown credentials) or `PermissionDenied` (known caller, not allowed), mapped to
status codes by the one table in `node.server.status`; a peer over its rate limit gets `ResourceExhausted`.
"""

from __future__ import annotations

import enum
import hmac
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from node.core import errors
from node.core.errors import ConfigError, PermissionDenied, ResourceExhausted, Unauthenticated
from node.membership import trust
from node.network import tls
from node.server.handlers import guarded
from node.server.status import status_code

AUTHORIZATION_HEADER = "authorization"
BEARER = "bearer "
MIN_TOKEN_CHARS = 32


class Caller(enum.Enum):
    """The classes of caller the table distinguishes."""

    ANONYMOUS = "anonymous"  # no credentials (or, on the peer listener in insecure mode, anyone)
    PLATFORM_CLIENT = "platform_client"  # this member's own systems (client listener)
    MEMBER_PEER = (
        "member_peer"  # an active member's node, by its roster-listed TLS certificate (peer listener)
    )
    OPERATOR = "operator"  # this node's operator (admin listener)


PUBLIC = frozenset(Caller)
CLIENTS = frozenset({Caller.PLATFORM_CLIENT})
PEERS = frozenset({Caller.MEMBER_PEER})
OPERATORS = frozenset({Caller.OPERATOR})
INTROSPECTION = frozenset({Caller.PLATFORM_CLIENT, Caller.OPERATOR})

# service full name -> method -> the caller classes allowed. Every RPC of every service served has a row.
RULES: Mapping[str, Mapping[str, frozenset[Caller]]] = {
    "hashnode.v1.HashNode": {
        "Submit": CLIENTS,
        "Match": CLIENTS,
        "MatchStream": CLIENTS,
        "GetProvenance": CLIENTS,
        "Retract": CLIENTS,
        "ExportRecords": CLIENTS,
        # Due process: the member's own moderators opine, appeal and (stewards) decide through its node.
        "Opine": CLIENTS,
        "Appeal": CLIENTS,
        "Decide": CLIENTS,
    },
    "hashnode.v1.Peer": {
        "GetFrontier": PEERS,
        "FetchEntries": PEERS,
        "Subscribe": PEERS,
    },
    "hashnode.v1.Membership": {
        "GetRosters": PEERS,
    },
    "hashnode.v1.Admin": {
        "GetStats": OPERATORS,
        "GetRoster": OPERATORS,
        "SubmitRoster": OPERATORS,
        "PurgeMember": OPERATORS,
        "AddPeer": OPERATORS,
        "RemovePeer": OPERATORS,
        "Sync": OPERATORS,
        "ListPeers": OPERATORS,
        "ListEvidence": OPERATORS,
        "GetReplicationState": OPERATORS,
        "Backup": OPERATORS,
        "GetPolicy": OPERATORS,
        # Due process: the match log and transparency reports hold what this platform matched: operator only.
        "ListReinstateNotices": OPERATORS,
        "WatchReinstateNotices": OPERATORS,
        "ExplainMatch": OPERATORS,
        "BuildReport": OPERATORS,
        # Statements of reasons are made from the match log and name the platform's content: operator only.
        "IssueStatement": OPERATORS,
        "GetStatement": OPERATORS,
        "ListStatements": OPERATORS,
        "WithdrawStatement": OPERATORS,
        "PublishRuling": OPERATORS,
        "ListCases": OPERATORS,
    },
    # Liveness is public: load balancers and peers probe it without credentials; it says SERVING or not.
    "grpc.health.v1.Health": {"Check": PUBLIC, "Watch": PUBLIC, "List": PUBLIC},
    # The API's shape is no secret, but only callers with credentials list it.
    "grpc.reflection.v1alpha.ServerReflection": {"ServerReflectionInfo": INTROSPECTION},
}


def split_method(full_method: str) -> tuple[str, str]:
    """ "/pkg.Service/Method" -> ("pkg.Service", "Method")."""
    _, service, method = [*full_method.split("/"), "", ""][:3]
    return service, method


def rule_for(full_method: str) -> frozenset[Caller] | None:
    """The callers allowed to call `full_method`, or None when the table has no row (then nobody may)."""
    service, method = split_method(full_method)
    return RULES.get(service, {}).get(method)


# --- credentials --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    caller: Caller
    name: str  # who, for logs and rate limits: a member id, "operator", "client token", "anonymous"


ANONYMOUS = Identity(Caller.ANONYMOUS, "anonymous")


class TokenSet:
    """Bearer tokens read from a file: one per line; blank lines and lines starting with # are ignored."""

    def __init__(self, tokens: Collection[str]) -> None:
        self._tokens = tuple(t.encode("utf-8") for t in tokens)

    @classmethod
    def load(cls, path: Path, field: str) -> TokenSet:
        """Raises: ConfigError if the file cannot be read, holds no token, or a token is shorter than 32."""
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{field}: cannot read token file {path}: {exc}") from None
        tokens = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
        if not tokens:
            raise ConfigError(f"{field}: token file {path} holds no token")
        short = [i + 1 for i, t in enumerate(tokens) if len(t) < MIN_TOKEN_CHARS or " " in t]
        if short:
            raise ConfigError(
                f"{field}: token file {path}: token {short[0]}: "
                f"want {MIN_TOKEN_CHARS}+ characters without spaces"
            )
        return cls(tokens)

    def matches(self, presented: str) -> bool:
        """Constant-time comparison against every token (no early exit reveals which one was close)."""
        candidate = presented.encode("utf-8")
        found = False
        for token in self._tokens:
            found |= hmac.compare_digest(token, candidate)
        return found


def bearer_token(metadata: Any) -> str | None:
    """The token of an `authorization: Bearer <token>` header, if the call carries one."""
    for key, value in metadata or ():
        if key == AUTHORIZATION_HEADER and isinstance(value, str) and value.lower().startswith(BEARER):
            return value[len(BEARER) :].strip()
    return None


Authenticate = Callable[[grpc.ServicerContext], Identity]


def _by_token(tokens: TokenSet | None, identity: Identity, open_to_all: bool) -> Authenticate:
    def authenticate(context: grpc.ServicerContext) -> Identity:
        if open_to_all:  # insecure mode: no tokens, whether the caller presents one or not
            return identity
        presented = bearer_token(context.invocation_metadata())
        if presented is None:
            return identity if open_to_all else ANONYMOUS
        if tokens is None or not tokens.matches(presented):
            raise Unauthenticated("authorization: bearer token not recognised by this node")
        return identity

    return authenticate


def client_authenticator(
    tokens: TokenSet | None, certificates: Collection[bytes] = (), *, insecure: bool = False
) -> Authenticate:
    """The platform's own systems: a listed client certificate (fingerprint) or a known bearer token.

    In insecure (loopback dev) mode tokens are not checked: every caller counts as a platform client.
    """
    by_token = _by_token(tokens, Identity(Caller.PLATFORM_CLIENT, "client token"), insecure)
    pinned = frozenset(certificates)

    def authenticate(context: grpc.ServicerContext) -> Identity:
        fingerprint = tls.peer_fingerprint(context) if pinned else None
        if fingerprint is not None and fingerprint in pinned:
            return Identity(Caller.PLATFORM_CLIENT, f"client certificate {fingerprint.hex()[:16]}")
        return by_token(context)

    return authenticate


def operator_authenticator(tokens: TokenSet | None, *, insecure: bool = False) -> Authenticate:
    """The operator, by token. In insecure (loopback dev) mode tokens are not checked: every caller is."""
    return _by_token(tokens, Identity(Caller.OPERATOR, "operator"), insecure)


def peer_authenticator(
    trust: trust.TrustStore | None,
    clock: Callable[[], int],
    *,
    insecure: bool = False,
    on_member: Callable[[str], None] | None = None,
) -> Authenticate:
    """An active member's node, by the roster-listed certificate it presented (insecure mode: anyone).

    `on_member` hears the member of every authenticated call (it is up: a link backing off from it retries).
    """

    def authenticate(context: grpc.ServicerContext) -> Identity:
        if insecure or trust is None:
            return Identity(Caller.MEMBER_PEER, context.peer())
        member = tls.authenticated_member(context, trust.get(), clock())
        if on_member is not None:
            on_member(member)
        return Identity(Caller.MEMBER_PEER, member)

    return authenticate


# --- rate limits --------------------------------------------------------------------------------------------


class RateLimiter:
    """A token bucket per caller: `rate` calls per second on average, bursts of up to `burst`."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._rate, self._burst, self._clock = rate, float(burst), clock
        self._buckets: dict[str, tuple[float, float]] = {}  # name -> (tokens, last refill)
        self._lock = threading.Lock()

    def allow(self, name: str) -> bool:
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.get(name, (self._burst, now))
            tokens = min(self._burst, tokens + (now - last) * self._rate)
            allowed = tokens >= 1.0
            self._buckets[name] = (tokens - 1.0 if allowed else tokens, now)
            return allowed


# --- the interceptor ----------------------------------------------------------------------------------------


def authorize(full_method: str, identity: Identity) -> None:
    """Raises: Unauthenticated (anonymous caller) or PermissionDenied unless `RULES` allows the call."""
    allowed = rule_for(full_method)
    if allowed is not None and identity.caller in allowed:
        return
    if allowed is None:
        message = f"{full_method}: no access rule; every RPC needs a row in node/server/authz.py RULES"
    else:
        message = f"{full_method}: not allowed for {identity.caller.value} callers"
    if identity.caller is Caller.ANONYMOUS:
        raise Unauthenticated(f"{message}; this listener wants credentials")
    raise PermissionDenied(message)


class AuthorizationInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]
    """Authenticates each call as its listener does, applies `RULES`, then the rate limit, then the handler.

    Put it first in the server's interceptors, before `ErrorStatusInterceptor`: a refused call never reaches a
    servicer. Refusals go through the status table like every other error.
    """

    def __init__(self, authenticate: Authenticate, limiter: RateLimiter | None = None) -> None:
        self._authenticate = authenticate
        self._limiter = limiter

    def _check(self, method: str, context: grpc.ServicerContext) -> None:
        if rule_for(method) == PUBLIC:
            return  # whoever calls, with whatever credentials (health probes carry none or someone else's)
        try:
            identity = self._authenticate(context)
            authorize(method, identity)
            limited = self._limiter is not None and identity.caller is Caller.MEMBER_PEER
            if limited and not self._limiter.allow(identity.name):  # type: ignore[union-attr]
                raise ResourceExhausted(f"rate limit: {identity.name} is calling too often; retry later")
        except errors.HashnodeError as exc:
            context.abort(status_code(exc), exc.diagnostics())

    def intercept_service(self, continuation: Callable[[Any], Any], handler_call_details: Any) -> Any:
        method = handler_call_details.method
        handler = continuation(handler_call_details)
        if handler is None:
            # Not served here. Still refuse unknown callers before admitting the method does not exist.
            return grpc.unary_unary_rpc_method_handler(
                lambda _request, context: self._unimplemented(method, context)
            )
        return guarded(handler, lambda context: self._check(method, context))

    def _unimplemented(self, method: str, context: grpc.ServicerContext) -> None:
        self._check(method, context)
        context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{method}: not served on this listener")
