"""Clients meeting a node's TLS: the name the certificate carries, and a client and node that disagree on TLS
told so in words, by the `hashnode` CLI (the threatexchange adapter's side is in test_threatexchange_adapter.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_KEYS, Cli, NodeFactory, RunningNode, tls_config

CA = EXAMPLE_KEYS / "platform-a.crt"
TOKEN = EXAMPLE_KEYS / "platform-a.client-token"
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


@pytest.fixture
def tls_node(node_factory: NodeFactory, tmp_path: Path) -> RunningNode:
    return node_factory(tls_config(tmp_path / "tls"))


def test_tls_with_the_name_every_node_certificate_carries(tls_node: RunningNode, cli: Cli) -> None:
    result = cli("match", PDQ, "--target", tls_node.target, "--ca", CA, "--token-file", TOKEN)
    assert result.code == 0, result.err
    named = cli(
        "match", PDQ, "--target", tls_node.target, "--ca", CA, "--token-file", TOKEN, "--tls-server-name",
        "hashnode.peer",
    )
    assert named.code == 0, named.err


def test_plaintext_client_against_a_tls_node_is_told_to_use_tls(tls_node: RunningNode, cli: Cli) -> None:
    result = cli("match", PDQ, "--target", tls_node.target, "--token-file", TOKEN)
    assert result.code == 1
    assert f"(the node at {tls_node.target} speaks TLS: pass --ca with its certificate" in result.err
    assert "Traceback" not in result.err


def test_tls_client_against_a_plaintext_node_is_told_to_drop_tls(node: RunningNode, cli: Cli) -> None:
    result = cli("match", PDQ, "--target", node.target, "--ca", CA)
    assert result.code == 1
    assert "speaks plaintext, a development node in insecure mode: drop --ca" in result.err


def test_a_name_the_certificate_lacks_is_named(tls_node: RunningNode, cli: Cli) -> None:
    result = cli(
        "match", PDQ, "--target", tls_node.target, "--ca", CA, "--token-file", TOKEN, "--tls-server-name",
        "hashnode.example.org",
    )
    assert result.code == 1
    assert "does not carry the name 'hashnode.example.org': pass --tls-server-name" in result.err


def test_nothing_listening_is_still_asked_about(cli: Cli) -> None:
    result = cli("match", PDQ, "--target", "127.0.0.1:1", "--timeout", "2")
    assert result.code == 1 and "(is a node running at 127.0.0.1:1?)" in result.err


# --- [tls] client_names: a client-listener certificate carrying the operator's names ----------------------------


@pytest.fixture
def named_node(node_factory: NodeFactory, tmp_path: Path) -> RunningNode:
    names = ("localhost", "127.0.0.1", "hashnode.example.org")
    return node_factory(tls_config(tmp_path / "named", tls_client_names=names))


def served_certificate(node: RunningNode) -> Path:
    return node.runtime.config.data_dir / "client-listener.crt"


def test_the_client_listener_certificate_carries_the_configured_names(named_node: RunningNode) -> None:
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(served_certificate(named_node).read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost", "hashnode.example.org"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    node_cert = x509.load_pem_x509_certificate(CA.read_bytes())
    assert cert.public_key() == node_cert.public_key() and cert.subject == node_cert.subject


def test_a_client_that_checks_the_name_it_dials_reaches_the_node(named_node: RunningNode, cli: Cli) -> None:
    """gRPC without a name override verifies the dialled host, as HMA's and browsers' TLS stacks do."""
    import grpc

    from node.api.gen.hashnode.v1 import client_pb2, client_pb2_grpc

    port = named_node.port
    roots = grpc.ssl_channel_credentials(served_certificate(named_node).read_bytes())
    token = TOKEN.read_text().split()[0]
    for host in ("localhost", "127.0.0.1"):
        with grpc.secure_channel(f"{host}:{port}", roots) as channel:
            request = client_pb2.MatchRequest(queries=[client_pb2.HashQuery(signal_type="pdq", value=PDQ)])
            metadata = [("authorization", f"Bearer {token}")]
            assert len(client_pb2_grpc.HashNodeStub(channel).Match(request, metadata=metadata, timeout=10).results) == 1
    result = cli(
        "match", PDQ, "--target", f"localhost:{port}", "--ca", served_certificate(named_node), "--token-file", TOKEN,
        "--tls-server-name", "hashnode.example.org",
    )
    assert result.code == 0, result.err


def test_clients_that_trust_the_node_certificate_are_served_it_still(named_node: RunningNode, cli: Cli) -> None:
    """The listener serves both certificates and picks by the name the client asks for: hashnode.peer, which only
    the node's own certificate carries, gets that one."""
    result = cli("match", PDQ, "--target", named_node.target, "--ca", CA, "--token-file", TOKEN)
    assert result.code == 0, result.err


def test_the_client_listener_certificate_is_the_same_at_every_start(
    node_factory: NodeFactory, named_node: RunningNode
) -> None:
    first = served_certificate(named_node).read_bytes()
    config = named_node.runtime.config
    named_node.stop()
    served_certificate(named_node).unlink()
    again = node_factory(config)
    assert served_certificate(again).read_bytes() == first


def test_client_names_must_be_host_names(tmp_path: Path) -> None:
    from node.core.errors import ConfigError
    from node.runtime.config import load_config

    path = tmp_path / "node.toml"
    path.write_text(
        '[node]\nmember_id = "platform-a"\nroster = "r.json"\nsigning_key = "k"\ndata_dir = "d"\n'
        '[tls]\nclient_names = ["hashnode.example.org", "not a name!"]\n'
    )
    with pytest.raises(ConfigError, match=r"tls.client_names: got 'not a name!', want a DNS host name"):
        load_config(path)


# --- insecure mode: no TLS and no tokens --------------------------------------------------------------------


def test_an_insecure_node_checks_no_tokens_even_when_token_files_are_configured(
    node_factory: NodeFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.conftest import node_config

    config = node_config(
        tmp_path / "dev",
        client_token_file=TOKEN,
        admin_token_file=EXAMPLE_KEYS / "platform-a.admin-token",
    )
    with caplog.at_level("WARNING"):
        node = node_factory(config)
    assert "the token files configured are not checked" in caplog.text
    assert node.record_count() == 0  # the admin listener, without a token
    from node.api.gen.hashnode.v1 import client_pb2

    query = client_pb2.HashQuery(signal_type="pdq", value=PDQ)
    assert len(node.client.Match(client_pb2.MatchRequest(queries=[query])).results) == 1
    wrong = [("authorization", "Bearer " + "x" * 40)]
    assert len(node.client.Match(client_pb2.MatchRequest(queries=[query]), metadata=wrong).results) == 1
