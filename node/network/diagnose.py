"""Why a client could not reach a node, in words: plaintext against TLS, TLS against plaintext, a certificate
that does not carry the name the client asked for.

gRPC reports all three as UNAVAILABLE with transport details. A plaintext client talking to a TLS listener only
learns "Socket closed", so `speaks_tls` asks the listener itself: it starts a TLS handshake (nothing verified,
nothing sent after it) and reports whether the other side answered in TLS.
"""

from __future__ import annotations

import enum
import socket
import ssl

PROBE_TIMEOUT_S = 2.0
_TLS_AGAINST_PLAINTEXT = ("WRONG_VERSION_NUMBER", "wrong version number")
_NAME_MISMATCH = ("Hostname Verification Check failed", "No match found for server name")


def split_target(target: str) -> tuple[str, int] | None:
    """(host, port) of `host:port` or `[v6]:port`; None when it is not one (a unix: target, say)."""
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit() or not host:
        return None
    return host.strip("[]"), int(port)


def speaks_tls(target: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether the listener at `target` answers a TLS handshake (a TLS alert counts: it is TLS too)."""
    address = split_target(target)
    if address is None:
        return False
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["h2"])
    try:
        with (
            socket.create_connection(address, timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=address[0]) as tls,
        ):
            tls.version()
    except ssl.SSLError as exc:
        # Bytes that are not TLS records come back as these; an alert (a client certificate required, say) means
        # the other side spoke TLS.
        return not any(marker in str(exc) for marker in ("WRONG_VERSION_NUMBER", "record layer failure", "EOF"))
    except OSError:
        return False
    return True


class Mismatch(enum.Enum):
    """How client and node disagree on TLS."""

    PLAINTEXT_TO_TLS = "the node speaks TLS, the client called it in plaintext"
    TLS_TO_PLAINTEXT = "the client used TLS, the node speaks plaintext (a development node in insecure mode?)"
    SERVER_NAME = "the node's TLS certificate does not carry the name the client asked for"


def tls_mismatch(details: str, target: str, *, tls: bool) -> Mismatch | None:
    """How an UNAVAILABLE call to `target` shows client and node disagree on TLS, if they do: from the gRPC
    status `details`, and for a plaintext client from a TLS probe of the listener."""
    if tls and any(marker in details for marker in _TLS_AGAINST_PLAINTEXT):
        return Mismatch.TLS_TO_PLAINTEXT
    if tls and any(marker in details for marker in _NAME_MISMATCH):
        return Mismatch.SERVER_NAME
    if not tls and speaks_tls(target):
        return Mismatch.PLAINTEXT_TO_TLS
    return None
