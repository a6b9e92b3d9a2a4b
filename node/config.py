"""A node's configuration: one TOML file, validated field by field.

```toml
[node]
member_id = "platform-a"
consortium_file = "consortium.toml"   # read by Membership.load
signing_key = "platform-a.key"        # PEM Ed25519 key; may be omitted on a follower
data_dir = "data/platform-a"
listen = "127.0.0.1:50051"
follower = false                      # a follower replicates and matches but never authors

[matching]
pdq_threshold = 31
min_pdq_quality = 50
max_batch = 10000

[taxonomy]
file = "taxonomy.toml"                # optional; the built-in taxonomy by default

[metrics]
listen = "127.0.0.1:9464"             # Prometheus /metrics over HTTP; absent or "": no metrics endpoint

[logging]
format = "text"                       # or "json": one JSON object per line (node/log_format.py)
level = "INFO"                        # DEBUG, INFO, WARNING or ERROR

[[peers]]
name = "platform-b"
address = "10.0.0.2:50051"
```

Relative paths resolve against the directory of the config file, so a config and its keys move together. Every
error names the file and the field: `config.toml: matching.pdq_threshold: got 99, want 0..64`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from node.errors import ConfigError
from node.keys import SigningKey
from node.ledger import LedgerSettings
from node.log_format import FORMATS as LOG_FORMATS
from node.log_format import LEVELS as LOG_LEVELS
from node.membership import Membership
from node.taxonomy import Taxonomy

DEFAULT_LISTEN = "127.0.0.1:50051"
MAX_BATCH_LIMIT = 10_000  # the protocol's ceiling (client.proto: "1..10000")

_KEYS: dict[str, tuple[str, ...]] = {
    "node": ("member_id", "consortium_file", "signing_key", "data_dir", "listen", "follower"),
    "matching": ("pdq_threshold", "min_pdq_quality", "max_batch"),
    "taxonomy": ("file",),
    "metrics": ("listen",),
    "logging": ("format", "level"),
    "peers": ("name", "address"),
}


@dataclass(frozen=True)
class PeerConfig:
    name: str
    address: str


@dataclass(frozen=True)
class NodeConfig:
    path: Path
    member_id: str
    consortium_file: Path
    signing_key: Path | None
    data_dir: Path
    listen: str = DEFAULT_LISTEN
    follower: bool = False
    pdq_threshold: int = 31
    min_pdq_quality: int = 50
    max_batch: int = MAX_BATCH_LIMIT
    taxonomy_file: Path | None = None
    peers: tuple[PeerConfig, ...] = ()
    metrics_listen: str = ""  # empty: no metrics endpoint
    log_format: str = "text"
    log_level: str = "INFO"

    def load_membership(self) -> Membership:
        membership = Membership.load(self.consortium_file)
        if membership.get(self.member_id) is None:
            raise ConfigError(
                f"{self.path}: node.member_id: got {self.member_id!r}, "
                f"want a member of consortium {membership.consortium_id!r} ({self.consortium_file})"
            )
        return membership

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
            max_batch=self.max_batch,
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

    def boolean(self, key: str, default: bool) -> bool:
        value = self.table.get(key, default)
        if not isinstance(value, bool):
            self.fail(key, repr(value), "true or false")
        return bool(value)

    def path(self, key: str, base: Path) -> Path:
        return (base / self.string(key)).resolve()

    def optional_path(self, key: str, base: Path, *, required: bool = False) -> Path | None:
        return self.path(key, base) if required or key in self.table else None


def check_listen(address: str, field: str = "node.listen") -> str:
    """Checks `host:port` (IPv6 hosts in brackets); port 0 asks the OS for a free port."""
    host, sep, port = address.rpartition(":")
    want = "host:port with port 0..65535, e.g. 127.0.0.1:50051 or [::1]:50051"
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"{field}: got {address!r}, want {want}")
    return address


def load_config(path: Path) -> NodeConfig:
    """Reads and validates a node config file. Raises ConfigError naming the file and field."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(data, path)


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
    node = _Fields(source, "node.", _table(source, data, "node"), _KEYS["node"])
    matching = _Fields(source, "matching.", _table(source, data, "matching"), _KEYS["matching"])
    taxonomy = _Fields(source, "taxonomy.", _table(source, data, "taxonomy"), _KEYS["taxonomy"])
    follower = node.boolean("follower", False)
    signing_key = node.optional_path("signing_key", base, required=not follower)
    listen = node.string("listen", DEFAULT_LISTEN)
    try:
        check_listen(listen)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc.message}") from None
    return NodeConfig(
        path=path,
        member_id=node.string("member_id"),
        consortium_file=node.path("consortium_file", base),
        signing_key=signing_key,
        data_dir=node.path("data_dir", base),
        listen=listen,
        follower=follower,
        pdq_threshold=matching.integer("pdq_threshold", 31, 0, 64),
        min_pdq_quality=matching.integer("min_pdq_quality", 50, 0, 100),
        max_batch=matching.integer("max_batch", MAX_BATCH_LIMIT, 1, MAX_BATCH_LIMIT),
        taxonomy_file=taxonomy.optional_path("file", base),
        peers=_peers(source, data.get("peers", [])),
        metrics_listen=_metrics_listen(source, data),
        log_format=_logging_choice(source, data, "format", "text", LOG_FORMATS),
        log_level=_logging_choice(source, data, "level", "INFO", LOG_LEVELS),
    )


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


def _logging_choice(
    source: str, data: dict[str, Any], key: str, default: str, choices: tuple[str, ...]
) -> str:
    fields = _Fields(source, "logging.", _table(source, data, "logging"), _KEYS["logging"])
    value = fields.string(key, default)
    if value not in choices:
        fields.fail(key, repr(value), " or ".join(repr(c) for c in choices))
    return value


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
