"""Where a node listens and whom it dials: `host:port` addresses and configured peers."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from node.core.errors import ConfigError


@dataclass(frozen=True)
class PeerConfig:
    name: str
    address: str


def check_listen(address: str, field: str = "node.listen") -> str:
    """Checks `host:port` (IPv6 hosts in brackets); port 0 asks the OS for a free port."""
    host, sep, port = address.rpartition(":")
    want = "host:port with port 0..65535, e.g. 127.0.0.1:50051 or [::1]:50051"
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"{field}: got {address!r}, want {want}")
    return address


def is_loopback(address: str) -> bool:
    """Whether `host:port` names this machine only (127.0.0.0/8, ::1 or localhost)."""
    host = address.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
