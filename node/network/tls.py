"""gRPC credentials for mutual TLS between members' nodes, pinned to the roster's certificates.

gRPC cannot pin a fingerprint, so pinning is built from what it can do:

- A server trusts as "root certificates" exactly the certificates of the roster's active members, and requires
  a client certificate: a certificate the roster does not list fails the handshake. The trust set is read
  again at every new connection (`grpc.dynamic_ssl_server_credentials`), so a roster update needs no restart.
- After the handshake, `node.server.peer_auth.PeerAuthInterceptor` maps the peer certificate that gRPC reports
  (`context.auth_context()["x509_pem_cert"]`) to its fingerprint and that to a member, and refuses the call
  unless the roster holds that certificate for an active member *now*. This also cuts off a revoked member on
  a connection opened before its revocation.
- A client dialling member M trusts only M's certificates and asks for the name `hashnode.peer`.
"""

from __future__ import annotations

from typing import Any

import grpc

from node.core.errors import ConfigError, FailedPrecondition, Unauthenticated
from node.membership.certificates import TlsCertificateError, TlsIdentity, fingerprint, pem_to_der
from node.membership.tls_names import PEER_TLS_NAME
from node.membership.trust import PeerTrust, TrustStore

CHANNEL_OPTIONS: tuple[tuple[str, str], ...] = (("grpc.ssl_target_name_override", PEER_TLS_NAME),)
PEM_CERT_PROPERTY = "x509_pem_cert"


class _CertificateConfigFetcher:
    """Gives gRPC a new certificate configuration when the trust store changed since the last handshake."""

    def __init__(self, identity: TlsIdentity, store: TrustStore) -> None:
        self._identity = identity
        self._store = store
        self._served = -1

    def config(self, trust: PeerTrust) -> Any:
        pair = [(self._identity.private_key_pem, self._identity.certificate_pem)]
        return grpc.ssl_server_certificate_configuration(pair, root_certificates=trust.bundle_pem())

    def initial(self) -> Any:
        generation, trust = self._store.snapshot()
        if not trust.certificates:
            raise ConfigError("TLS: the roster lists no active member certificates to trust")
        self._served = generation
        return self.config(trust)

    def __call__(self) -> Any:
        generation, trust = self._store.snapshot()
        # With nothing to trust, keep the last configuration: PeerAuthInterceptor still refuses every call.
        if generation == self._served or not trust.certificates:
            return None
        self._served = generation
        return self.config(trust)


def server_credentials(identity: TlsIdentity, store: TrustStore) -> grpc.ServerCredentials:
    """Credentials for a peer-facing server: mutual TLS, trusting the store's certificates at each connection.

    Raises: ConfigError if the store has no certificates.
    """
    fetcher = _CertificateConfigFetcher(identity, store)
    return grpc.dynamic_ssl_server_credentials(fetcher.initial(), fetcher, require_client_authentication=True)


def channel_credentials(
    identity: TlsIdentity, trust: PeerTrust, peer_member_id: str
) -> grpc.ChannelCredentials:
    """Credentials to dial `peer_member_id`: trust only its certificates, present ours. Use CHANNEL_OPTIONS.

    Raises: FailedPrecondition if the peer has no certificate in `trust`.
    """
    roots = trust.bundle_pem(peer_member_id)
    if not roots:
        raise FailedPrecondition(f"member {peer_member_id!r} has no valid TLS certificate in the roster")
    return grpc.ssl_channel_credentials(
        root_certificates=roots,
        private_key=identity.private_key_pem,
        certificate_chain=identity.certificate_pem,
    )


def peer_fingerprint(context: grpc.ServicerContext) -> bytes | None:
    """The fingerprint of the certificate the peer presented in the TLS handshake, or None without one."""
    pems = context.auth_context().get(PEM_CERT_PROPERTY)
    if not pems:
        return None
    try:
        return fingerprint(pem_to_der(pems[0]))
    except TlsCertificateError:
        return None


def authenticated_member(context: grpc.ServicerContext, trust: PeerTrust, now_ms: int) -> str:
    """The member whose certificate the peer presented.

    Raises:
        Unauthenticated: no client certificate, or none the trust set holds for an active member at `now_ms`.
    """
    peer = peer_fingerprint(context)
    if peer is None:
        raise Unauthenticated("peer: no TLS client certificate")
    member_id = trust.member_for(peer, now_ms)
    if member_id is None:
        raise Unauthenticated(f"peer: certificate {peer.hex()[:16]}… is not an active member's in the roster")
    return member_id
