"""A node's configuration: one TOML file, validated field by field.

```toml
[node]
member_id = "platform-a"
roster = "roster.json"                # the signed roster this node trusts first (docs/membership.md)
roster_id = "742f…"                   # its id, pinned; required unless the roster file is version 1
signing_key = "platform-a.key"        # PEM Ed25519 key; may be omitted on a follower
data_dir = "data/platform-a"          # default: $XDG_STATE_HOME/hashnode/<member_id> (~/.local/state/...)
listen = "127.0.0.1:50051"            # the client API, for this platform's own systems
follower = false                      # a follower replicates and matches but never authors
insecure = false                      # development only: no TLS, loopback addresses only
max_calls = 8                         # calls the client listener takes on at once (running, or waiting for
                                      # one of its 16 threads); beyond, RESOURCE_EXHAUSTED at once with a
                                      # retry hint. 0 or absent: 8. [peer] and [admin] have their own
                                      # (default 16: their threads; docs/operator-guide.md, "Overload")

[tls]                                 # this node's identity; its certificate is the one the roster lists
certificate = "platform-a.crt"
private_key = "platform-a.tls.key"
client_names = ["hashnode.example.org"]  # optional: host names (or IP addresses) for clients that check the
                                      # name they dial: the client listener then also serves a certificate
                                      # carrying them (data_dir/client-listener.crt; node/server/server.py)

[peer]                                # other members' nodes, over mutual TLS pinned to the roster
listen = "0.0.0.0:50061"
mesh = true                           # dial every active member at its roster endpoints (default: true,
                                      # except on a follower or an insecure node)
rate = 50.0                           # calls per second per peer (token bucket), then RESOURCE_EXHAUSTED
burst = 100
call_timeout_s = 30.0                 # deadline of every call this node makes to a peer
max_calls = 16                        # as [node] max_calls, for the peer listener

[clients]                             # who may call the client API: bearer tokens and/or pinned certificates
token_file = "platform-a.client-token"
certificates = ["ingest.crt"]

[admin]                               # the operator's API, on its own listener
listen = "127.0.0.1:50052"
token_file = "platform-a.admin-token"
max_calls = 16                        # as [node] max_calls, for the admin listener

[matching]
pdq_threshold = 31
min_pdq_quality = 50
max_batch = 10000

[taxonomy]
file = "taxonomy.toml"                # optional; the built-in taxonomy by default

[metrics]
listen = "127.0.0.1:9464"             # Prometheus /metrics over HTTP; absent or "": no metrics endpoint

[logging]
format = "text"                       # or "json": one JSON object per line (node/runtime/log_format.py)
level = "INFO"                        # DEBUG, INFO, WARNING or ERROR

[[peers]]                             # besides the roster's: a follower's primary, a private link (it replaces
name = "platform-b"                   # the member's roster endpoints); the peer's member id: its certificate is
address = "10.0.0.2:50061"            # looked up in the roster

[policy]                              # local matching policy over disputes (docs/due-process.md)
suspend_after_false_positive_reports = 2
min_endorsements = 0
trusted_flagger_preferred = true
[policy.accept_labels_from]
"*" = ["*"]

[matchlog]
retention_days = 180                  # 0: keep no match log, issue no reinstatement notices
durability = "batched"                # or "answered": a Match answers once its matches are logged
flush_ms = 1000                       # batched: answered matches are written at least this often

[statements]                          # statements of reasons (docs/due-process.md, "Statements of reasons")
contact = "appeals@platform-a.example"  # the users' point of contact; default: the member's contact in the roster
appeal_url = "https://platform-a.example/appeal?ref={statement_id}"  # default: the page says to write to contact
language = "en"                       # of the user's page; "de" ships too, more in languages_dir
decision_ground = "illegal"           # or "incompatible" (with terms_ground)
retention_days = 430
[statements.categories."tvec.propaganda"]  # taxonomy label -> DSA Transparency Database category (the built-in
category = "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"  # taxonomy's labels have a default; others must be set)
keywords = ["KEYWORD_TERRORIST_CONTENT", "KEYWORD_ILLEGAL_ORGANIZATIONS"]

[storage]
map_size_mib = 65536                  # the LMDB map: address space, not disk; a full map refuses writes
                                      # (RESOURCE_EXHAUSTED) and keeps serving reads
startup_check = "full"                # the lookup tables against the rows before serving; "quick": their
                                      # counts, then the full check beside the serving node; "off"

[replication]                         # docs/protocol.md, "Replication"
anti_entropy_ms = 5000                # how often each peer is asked for its frontier (pushes are immediate)
authoring_without_peers_after_s = 0   # with peers, author only once a peer's copy of this member's log was
                                      # compared; after this long with no peer answering, author anyway
                                      # (0: never; for a consortium's first node, or every peer lost for good)
```

Relative paths resolve against the directory of the config file, so a config and its keys move together. Every
error names the file and the field: `config.toml: matching.pdq_threshold: got 99, want 0..64`.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn

from node.core.errors import ConfigError
from node.core.keys import SigningKey
from node.core.taxonomy import Taxonomy
from node.dueprocess.matchlog import DAY_MS
from node.dueprocess.policy import PolicyConfig
from node.dueprocess.statement import StatementSettings
from node.dueprocess.statement_language import LanguagePack, load_packs
from node.ledger.ledger import LedgerSettings
from node.membership.certificates import TlsIdentity, is_host_name
from node.membership.roster import SignedRoster
from node.network.addresses import PeerConfig, check_listen, is_loopback
from node.runtime.log_format import FORMATS as LOG_FORMATS
from node.runtime.log_format import LEVELS as LOG_LEVELS
from node.storage.integrity import STARTUP_CHECKS
from node.storage.store import DEFAULT_MAP_SIZE

DEFAULT_LISTEN = "127.0.0.1:50051"
DEFAULT_PEER_LISTEN = "127.0.0.1:50061"
DEFAULT_ADMIN_LISTEN = "127.0.0.1:50052"
MAX_BATCH_LIMIT = 10_000  # the protocol's ceiling (client.proto: "1..10000")

_KEYS: dict[str, tuple[str, ...]] = {
    "node": (
        "member_id",
        "roster",
        "roster_id",
        "signing_key",
        "data_dir",
        "listen",
        "follower",
        "insecure",
        "max_calls",
    ),
    "tls": ("certificate", "private_key", "client_names"),
    "peer": ("listen", "rate", "burst", "call_timeout_s", "mesh", "max_calls"),
    "clients": ("token_file", "certificates"),
    "admin": ("listen", "token_file", "max_calls"),
    "matching": (
        "pdq_threshold", "min_pdq_quality", "max_batch", "vpdq_query_match_percent", "vpdq_compared_match_percent",
    ),
    "taxonomy": ("file",),
    "metrics": ("listen",),
    "logging": ("format", "level"),
    "peers": ("name", "address"),
    "policy": (),  # read by PolicyConfig.from_mapping, which names its own keys
    "matchlog": ("retention_days", "durability", "flush_ms"),
    "replication": ("anti_entropy_ms", "authoring_without_peers_after_s"),
    "storage": ("map_size_mib", "startup_check"),
    "statements": (),  # read by StatementSettings.from_mapping, which names its own keys
}
DEFAULT_MATCH_LOG_DAYS = 180
MATCH_LOG_DURABILITY = ("batched", "answered")  # docs/due-process.md, "What a logged match survives"
DEFAULT_MAP_SIZE_MIB = DEFAULT_MAP_SIZE >> 20
MAX_MAP_SIZE_MIB = 1 << 24  # 16 TiB
MAX_MATCH_LOG_DAYS = 3650
MAX_CALLS_LIMIT = 100_000


@dataclass(frozen=True)
class MaxCalls:
    """How many calls each listener takes on at once (`max_calls` of [node], [peer], [admin]); 0: the server's
    default (node/server/admission.py: 8 for the client listener, 16 for the others)."""

    client: int = 0
    peer: int = 0
    admin: int = 0


@dataclass(frozen=True)
class PeerLimits:
    rate: float = 50.0  # calls per second per peer
    burst: int = 100
    call_timeout_s: float = 30.0  # deadline of outgoing calls to peers


@dataclass(frozen=True)
class NodeConfig:
    path: Path
    member_id: str
    roster: Path
    signing_key: Path | None
    data_dir: Path
    roster_id: bytes | None = None
    listen: str = DEFAULT_LISTEN
    follower: bool = False
    insecure: bool = False
    tls_certificate: Path | None = None
    tls_private_key: Path | None = None
    tls_client_names: tuple[str, ...] = ()
    peer_listen: str = DEFAULT_PEER_LISTEN
    peer_limits: PeerLimits = PeerLimits()
    client_token_file: Path | None = None
    client_certificates: tuple[Path, ...] = ()
    admin_listen: str = DEFAULT_ADMIN_LISTEN
    admin_token_file: Path | None = None
    pdq_threshold: int = 31
    min_pdq_quality: int = 50
    max_batch: int = MAX_BATCH_LIMIT
    vpdq_query_match_percent: float = 80.0
    vpdq_compared_match_percent: float = 0.0
    taxonomy_file: Path | None = None
    peers: tuple[PeerConfig, ...] = ()
    metrics_listen: str = ""  # empty: no metrics endpoint
    log_format: str = "text"
    log_level: str = "INFO"
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    match_log_retention_days: int = DEFAULT_MATCH_LOG_DAYS  # 0: keep no match log
    match_log_durability: str = "batched"  # or "answered"
    match_log_flush_ms: int = 1000
    anti_entropy_ms: int = 5000
    authoring_without_peers_after_s: int = 0  # 0: never author without having compared with a peer
    map_size_mib: int = DEFAULT_MAP_SIZE_MIB
    startup_check: str = "full"  # STARTUP_CHECKS: "full", "quick" (counts, then full in the background), "off"
    mesh: bool | None = None  # dial the roster's members; None: unless a follower or insecure
    max_calls: MaxCalls = MaxCalls()

    @property
    def dials_roster(self) -> bool:
        """Whether this node dials every active member at its roster endpoints (`[peer] mesh`).

        By default a primary node does; a follower replicates from its own member's nodes (its `[[peers]]`),
        and an insecure development node cannot dial the members' TLS listeners in plaintext.
        """
        return self.mesh if self.mesh is not None else not (self.follower or self.insecure)
    statements: StatementSettings = field(default_factory=StatementSettings)
    statement_packs: dict[str, LanguagePack] = field(default_factory=load_packs)  # the user page's languages

    def load_root_roster(self) -> SignedRoster:
        """The roster file the node trusts first. Raises: ConfigError (unreadable) or a RosterError."""
        return SignedRoster.load(self.roster)

    def load_tls_identity(self) -> TlsIdentity | None:
        """The node's TLS certificate and key, or None in insecure mode without them. Raises: ConfigError."""
        if self.tls_certificate is None or self.tls_private_key is None:
            return None
        return TlsIdentity.load(self.tls_certificate, self.tls_private_key)

    def load_taxonomy(self) -> Taxonomy:
        return Taxonomy.default() if self.taxonomy_file is None else Taxonomy.load(self.taxonomy_file)

    def load_signing_key(self) -> SigningKey | None:
        """The member's key, or None on a follower configured without one."""
        return None if self.signing_key is None else SigningKey.load(self.signing_key)

    def ledger_settings(self, consortium_id: str) -> LedgerSettings:
        return LedgerSettings(
            consortium_id=consortium_id,
            member_id=self.member_id,
            pdq_threshold=self.pdq_threshold,
            min_pdq_quality=self.min_pdq_quality,
            vpdq_query_match_percent=self.vpdq_query_match_percent,
            vpdq_compared_match_percent=self.vpdq_compared_match_percent,
            max_batch=self.max_batch,
            policy=self.policy,
            match_log_retention_ms=self.match_log_retention_days * DAY_MS,
            match_log_answered=self.match_log_durability == "answered",
            map_size=self.map_size_mib << 20,
            startup_check=self.startup_check,
            statement_retention_ms=self.statements.retention_ms,
        )


class _Fields:
    """Typed reads from one TOML table; every error names the file and the dotted field."""

    def __init__(self, source: str, prefix: str, table: dict[str, Any], allowed: tuple[str, ...]) -> None:
        self.source, self.prefix, self.table = source, prefix, table
        for key in table:
            if key not in allowed:
                self.fail(key, repr(key), "one of " + ", ".join(allowed) + " (unknown key)")

    def fail(self, key: str, got: str, want: str) -> NoReturn:
        raise ConfigError(f"{self.source}: {self.prefix}{key}: got {got}, want {want}")

    def string(self, key: str, default: str | None = None) -> str:
        value = self.table.get(key, default)
        if value is None:
            self.fail(key, "nothing", "a non-empty string (required)")
        if not isinstance(value, str) or not value.strip():
            self.fail(key, repr(value), "a non-empty string")
        return str(value).strip()

    def integer(self, key: str, default: int, low: int, high: int) -> int:
        value = self.table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(key, repr(value), f"{low}..{high}")
        return int(value)

    def number(self, key: str, default: float, low: float, high: float) -> float:
        value = self.table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            self.fail(key, repr(value), f"a number in {low:g}..{high:g}")
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.table.get(key, default)
        if not isinstance(value, bool):
            self.fail(key, repr(value), "true or false")
        return bool(value)

    def path(self, key: str, base: Path) -> Path:
        return (base / Path(self.string(key)).expanduser()).resolve()

    def optional_path(self, key: str, base: Path, *, required: bool = False) -> Path | None:
        return self.path(key, base) if required or key in self.table else None


def default_data_dir(member_id: str) -> Path:
    """Where a node keeps its data when its config says nothing: the user's state directory (XDG), per member."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state).expanduser().resolve() / "hashnode" / member_id


def load_config(path: Path, *, data_dir: Path | None = None) -> NodeConfig:
    """Reads and validates a node config file; `data_dir` (`--data-dir`) overrides `[node] data_dir`.

    Raises ConfigError naming the file and field.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    config = parse_config(data, path)
    return config if data_dir is None else replace(config, data_dir=data_dir.expanduser().resolve())


def _table(source: str, data: dict[str, Any], name: str) -> dict[str, Any]:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: {name}: got {type(table).__name__}, want a [{name}] table")
    return table


def parse_config(data: dict[str, Any], path: Path) -> NodeConfig:
    """Validates parsed TOML; `path` names the file in errors and anchors relative paths."""
    source, base = str(path), path.resolve().parent
    for key in data:
        if key not in _KEYS:
            raise ConfigError(f"{source}: {key}: got unknown section, want one of {', '.join(_KEYS)}")
    tables = {
        name: _Fields(source, f"{name}.", _table(source, data, name), _KEYS[name])
        for name in _KEYS
        if name not in ("peers", "policy", "statements")
    }
    node, matching = tables["node"], tables["matching"]
    follower = node.boolean("follower", False)
    member_id = node.string("member_id")
    taxonomy_file = tables["taxonomy"].optional_path("file", base)
    statements, packs = _statements(source, _table(source, data, "statements"), base, taxonomy_file)
    config = NodeConfig(
        path=path,
        member_id=member_id,
        roster=node.path("roster", base),
        roster_id=_roster_id(node),
        signing_key=node.optional_path("signing_key", base, required=not follower),
        data_dir=node.path("data_dir", base) if "data_dir" in node.table else default_data_dir(member_id),
        listen=_listen(source, node, DEFAULT_LISTEN),
        follower=follower,
        insecure=node.boolean("insecure", False),
        tls_certificate=tables["tls"].optional_path("certificate", base),
        tls_private_key=tables["tls"].optional_path("private_key", base),
        tls_client_names=_client_names(tables["tls"]),
        peer_listen=_listen(source, tables["peer"], DEFAULT_PEER_LISTEN),
        peer_limits=_peer_limits(tables["peer"]),
        max_calls=MaxCalls(
            *(tables[name].integer("max_calls", 0, 0, MAX_CALLS_LIMIT) for name in ("node", "peer", "admin"))
        ),
        client_token_file=tables["clients"].optional_path("token_file", base),
        client_certificates=_paths(tables["clients"], "certificates", base),
        admin_listen=_listen(source, tables["admin"], DEFAULT_ADMIN_LISTEN),
        admin_token_file=tables["admin"].optional_path("token_file", base),
        pdq_threshold=matching.integer("pdq_threshold", 31, 0, 64),
        min_pdq_quality=matching.integer("min_pdq_quality", 50, 0, 100),
        max_batch=matching.integer("max_batch", MAX_BATCH_LIMIT, 1, MAX_BATCH_LIMIT),
        vpdq_query_match_percent=matching.number("vpdq_query_match_percent", 80.0, 0, 100),
        vpdq_compared_match_percent=matching.number("vpdq_compared_match_percent", 0.0, 0, 100),
        taxonomy_file=taxonomy_file,
        peers=_peers(source, data.get("peers", [])),
        metrics_listen=_metrics_listen(source, data),
        log_format=_logging_choice(source, data, "format", "text", LOG_FORMATS),
        log_level=_logging_choice(source, data, "level", "INFO", LOG_LEVELS),
        policy=PolicyConfig.from_mapping(_table(source, data, "policy"), f"{source}: policy"),
        match_log_retention_days=tables["matchlog"].integer(
            "retention_days", DEFAULT_MATCH_LOG_DAYS, 0, MAX_MATCH_LOG_DAYS
        ),
        match_log_durability=_choice(tables["matchlog"], "durability", "batched", MATCH_LOG_DURABILITY),
        match_log_flush_ms=tables["matchlog"].integer("flush_ms", 1000, 10, 60_000),
        anti_entropy_ms=tables["replication"].integer("anti_entropy_ms", 5000, 100, 3_600_000),
        authoring_without_peers_after_s=tables["replication"].integer(
            "authoring_without_peers_after_s", 0, 0, 365 * 86_400
        ),
        map_size_mib=tables["storage"].integer("map_size_mib", DEFAULT_MAP_SIZE_MIB, 1, MAX_MAP_SIZE_MIB),
        startup_check=_choice(tables["storage"], "startup_check", "full", STARTUP_CHECKS),
        mesh=tables["peer"].boolean("mesh", False) if "mesh" in tables["peer"].table else None,
        statements=statements,
        statement_packs=packs,
    )
    check_security(config)
    return config


def _statements(
    source: str, table: dict[str, Any], base: Path, taxonomy_file: Path | None
) -> tuple[StatementSettings, dict[str, LanguagePack]]:
    """`[statements]`, checked against the taxonomy (every label must map to a category: a label that does not
    is an error here, not a wrong statement later) and the language packs it can use."""
    directory = table.get("languages_dir")
    if directory is not None and (not isinstance(directory, str) or not directory.strip()):
        raise ConfigError(f"{source}: statements.languages_dir: got {directory!r}, want a directory name")
    packs = load_packs(None if directory is None else (base / directory).resolve())
    # A pack's names for labels this taxonomy lacks (the shipped German names the built-in labels) go unused.
    taxonomy = Taxonomy.default() if taxonomy_file is None else Taxonomy.load(taxonomy_file)
    settings = StatementSettings.from_mapping(table, source, set(taxonomy.labels), set(packs))
    return settings, packs


def _listen(source: str, fields: _Fields, default: str) -> str:
    address = fields.string("listen", default)
    try:
        return check_listen(address, f"{fields.prefix}listen")
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc.message}") from None


def _roster_id(node: _Fields) -> bytes | None:
    if "roster_id" not in node.table:
        return None
    text = node.string("roster_id")
    try:
        pinned = bytes.fromhex(text)
    except ValueError:
        pinned = b""
    if len(pinned) != 32:
        node.fail("roster_id", repr(text), "64 hex characters (the SHA-256 roster id)")
    return pinned


def _peer_limits(peer: _Fields) -> PeerLimits:
    return PeerLimits(
        rate=peer.number("rate", PeerLimits.rate, 0.01, 1e6),
        burst=peer.integer("burst", PeerLimits.burst, 1, 1_000_000),
        call_timeout_s=peer.number("call_timeout_s", PeerLimits.call_timeout_s, 0.1, 3600.0),
    )


def _client_names(fields: _Fields) -> tuple[str, ...]:
    value = fields.table.get("client_names", [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        fields.fail("client_names", repr(value), "a list of host names or IP addresses")
    names = tuple(dict.fromkeys(v.strip().lower() for v in value))
    for name in names:
        if not is_host_name(name):
            fields.fail("client_names", repr(name), "a DNS host name (e.g. hashnode.example.org) or an IP address")
    return names


def _paths(fields: _Fields, key: str, base: Path) -> tuple[Path, ...]:
    value = fields.table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        fields.fail(key, repr(value), "a list of file names")
    return tuple((base / v).resolve() for v in value)


def check_security(config: NodeConfig) -> None:
    """Refuses configurations that would expose a node without TLS or without authentication.

    Raises: ConfigError naming the file and the field.
    """
    source = str(config.path)
    listeners = {
        "node.listen": config.listen,
        "peer.listen": config.peer_listen,
        "admin.listen": config.admin_listen,
    }
    if config.insecure:
        exposed = [f"{key} = {address!r}" for key, address in listeners.items() if not is_loopback(address)]
        if exposed:
            raise ConfigError(
                f"{source}: node.insecure: got true with {', '.join(exposed)}; insecure mode (no TLS) is for "
                "development on this machine only: bind to 127.0.0.1 or remove insecure = true"
            )
        return
    if config.tls_certificate is None or config.tls_private_key is None:
        raise ConfigError(
            f"{source}: tls: got no certificate and private_key, want this node's TLS identity "
            "(hashnode join creates one), or insecure = true for development on 127.0.0.1"
        )
    if config.client_token_file is None and not config.client_certificates:
        raise ConfigError(
            f"{source}: clients: got neither token_file nor certificates, want at least one: otherwise no "
            "system of this platform could call the node"
        )
    if config.admin_token_file is None:
        raise ConfigError(f"{source}: admin.token_file: got nothing, want the operator's token file")


def _metrics_listen(source: str, data: dict[str, Any]) -> str:
    """`[metrics] listen`: where to serve Prometheus metrics; "" (or no section) serves none."""
    fields = _Fields(source, "metrics.", _table(source, data, "metrics"), _KEYS["metrics"])
    if fields.table.get("listen", "") == "":
        return ""
    address = fields.string("listen")
    try:
        return check_listen(address, "metrics.listen")
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc.message}") from None


def _choice(fields: _Fields, key: str, default: str, choices: tuple[str, ...]) -> str:
    value = fields.string(key, default)
    if value not in choices:
        fields.fail(key, repr(value), " or ".join(repr(c) for c in choices))
    return value


def _logging_choice(
    source: str, data: dict[str, Any], key: str, default: str, choices: tuple[str, ...]
) -> str:
    fields = _Fields(source, "logging.", _table(source, data, "logging"), _KEYS["logging"])
    return _choice(fields, key, default, choices)


def _peers(source: str, value: object) -> tuple[PeerConfig, ...]:
    if not isinstance(value, list):
        raise ConfigError(f"{source}: peers: got {type(value).__name__}, want [[peers]] tables")
    peers: list[PeerConfig] = []
    for i, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise ConfigError(f"{source}: peers[{i}]: got {type(entry).__name__}, want a table")
        fields = _Fields(source, f"peers[{i}].", entry, _KEYS["peers"])
        address = fields.string("address")
        try:
            check_listen(address, f"peers[{i}].address")
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc.message}") from None
        peers.append(PeerConfig(name=fields.string("name"), address=address))
    names = [p.name for p in peers]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise ConfigError(f"{source}: peers: got {duplicate!r} twice, want unique names")
    return tuple(peers)
