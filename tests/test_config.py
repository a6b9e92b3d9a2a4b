"""Node config files: defaults, relative paths, and errors that name the file and the field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import EXAMPLE_KEYS, Cli, write_config

from node.core.errors import ConfigError
from node.dueprocess import tdb
from node.runtime.config import MaxCalls, load_config
from node.runtime.runtime import open_node

MINIMAL = """[node]
member_id = "platform-a"
roster = "roster.json"
signing_key = "platform-a.key"
data_dir = "data"
insecure = true
"""
SECURE = """[node]
member_id = "platform-a"
roster = "roster.json"
signing_key = "platform-a.key"
data_dir = "data"
[tls]
certificate = "a.crt"
private_key = "a.tls.key"
[clients]
token_file = "client-token"
[admin]
token_file = "admin-token"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_and_relative_paths(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    assert config.member_id == "platform-a"
    assert (config.roster, config.roster_id) == (tmp_path.resolve() / "roster.json", None)
    assert config.signing_key == tmp_path.resolve() / "platform-a.key"
    assert config.data_dir == tmp_path.resolve() / "data"
    assert (config.listen, config.follower, config.insecure) == ("127.0.0.1:50051", False, True)
    assert (config.peer_listen, config.admin_listen) == ("127.0.0.1:50061", "127.0.0.1:50052")
    limits = config.peer_limits
    assert (limits.rate, limits.burst, limits.call_timeout_s) == (50, 100, 30)
    assert (config.tls_certificate, config.client_token_file, config.admin_token_file) == (None, None, None)
    assert (config.pdq_threshold, config.min_pdq_quality, config.max_batch) == (31, 50, 10_000)
    assert (config.vpdq_query_match_percent, config.vpdq_compared_match_percent) == (80.0, 0.0)
    assert (config.taxonomy_file, config.peers) == (None, ())
    assert config.max_calls == MaxCalls(0, 0, 0)  # the server's defaults (node/server/admission.py)


def test_each_listener_takes_its_own_max_calls(tmp_path: Path) -> None:
    text = MINIMAL.replace("[node]\n", "[node]\nmax_calls = 4\n") + "[peer]\nmax_calls = 20\n[admin]\nmax_calls = 2\n"
    assert load_config(write(tmp_path, text)).max_calls == MaxCalls(client=4, peer=20, admin=2)


def test_every_section(tmp_path: Path) -> None:
    text = (
        MINIMAL
        + """listen = "[::1]:0"
[matching]
pdq_threshold = 20
min_pdq_quality = 70
max_batch = 500
vpdq_query_match_percent = 90
vpdq_compared_match_percent = 12.5
[taxonomy]
file = "../taxonomy.toml"
[[peers]]
name = "platform-b"
address = "10.0.0.2:50051"
[[peers]]
name = "platform-c"
address = "node-c.example:443"
[statements]
contact = "appeals@platform-a.example"
appeal_url = "https://platform-a.example/appeal?ref={statement_id}"
language = "de"
decision_ground = "incompatible"
terms_ground = { en = "Terms, section 4", de = "Nutzungsbedingungen, Abschnitt 4" }
territorial_scope = ["EU", "NO"]
retention_days = 400
[statements.categories."x.hate"]
category = "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"
keywords = ["KEYWORD_HATE_SPEECH"]
"""
    )
    (tmp_path.parent / "taxonomy.toml").write_text(
        '[[label]]\nname = "tvec.propaganda"\n[[label]]\nname = "x.hate"\n', encoding="utf-8"
    )
    config = load_config(write(tmp_path, text))
    statements = config.statements
    assert (statements.language, statements.contact, statements.retention_days) == (
        "de",
        "appeals@platform-a.example",
        400,
    )
    assert statements.appeal_link("sor-1") == "https://platform-a.example/appeal?ref=sor-1"
    assert statements.terms_ground == {"en": "Terms, section 4", "de": "Nutzungsbedingungen, Abschnitt 4"}
    assert statements.territorial_scope == tuple(sorted((*tdb.EU, "NO")))
    assert statements.categories.categorise(["x.hate"]).category == "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"
    assert (
        statements.categories.categorise(["tvec.propaganda"]).category == "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
    )
    assert config.ledger_settings("c").statement_retention_ms == 400 * 86_400_000
    assert config.listen == "[::1]:0"
    assert (config.pdq_threshold, config.min_pdq_quality, config.max_batch) == (20, 70, 500)
    assert config.taxonomy_file == tmp_path.resolve().parent / "taxonomy.toml"
    assert [(p.name, p.address) for p in config.peers] == [
        ("platform-b", "10.0.0.2:50051"),
        ("platform-c", "node-c.example:443"),
    ]
    settings = config.ledger_settings("example-consortium")
    assert (settings.consortium_id, settings.member_id, settings.pdq_threshold) == (
        "example-consortium",
        "platform-a",
        20,
    )
    assert (settings.min_pdq_quality, settings.max_batch) == (70, 500)
    assert (settings.vpdq_query_match_percent, settings.vpdq_compared_match_percent) == (90.0, 12.5)


def test_without_a_data_dir_the_node_keeps_its_data_in_the_state_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    config = load_config(write(tmp_path, MINIMAL.replace('data_dir = "data"\n', "")))
    assert config.data_dir == (tmp_path / "state").resolve() / "hashnode" / "platform-a"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = load_config(write(tmp_path, MINIMAL.replace('data_dir = "data"\n', "")))
    assert config.data_dir == (tmp_path / "home").resolve() / ".local/state/hashnode/platform-a"


def test_data_dir_given_on_the_command_line_wins(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL), data_dir=tmp_path / "elsewhere")
    assert config.data_dir == (tmp_path / "elsewhere").resolve()


@pytest.mark.parametrize(
    ("node", "peer", "dials"),
    [
        ("", "", True),
        ("follower = true\n", "", False),
        ("insecure = true\n", "", False),
        ("follower = true\n", "[peer]\nmesh = true\n", True),
        ("", "[peer]\nmesh = false\n", False),
    ],
    ids=["primary", "follower", "insecure", "follower asked to", "primary asked not to"],
)
def test_who_dials_the_roster_members(tmp_path: Path, node: str, peer: str, dials: bool) -> None:
    text = SECURE.replace("[tls]", node + "[tls]") + peer
    assert load_config(write(tmp_path, text)).dials_roster is dials


def test_a_follower_needs_no_signing_key(tmp_path: Path) -> None:
    text = MINIMAL.replace('signing_key = "platform-a.key"\n', "follower = true\n")
    config = load_config(write(tmp_path, text))
    assert (config.follower, config.signing_key, config.load_signing_key()) == (True, None, None)


def test_a_secure_config(tmp_path: Path) -> None:
    text = (
        SECURE.replace("[node]\n", '[node]\nroster_id = "' + "ab" * 32 + '"\n').replace(
            "[clients]\n", '[clients]\ncertificates = ["ingest.crt"]\n'
        )
        + '[peer]\nlisten = "0.0.0.0:50061"\nrate = 5\nburst = 10\ncall_timeout_s = 2.5\n'
    )
    config = load_config(write(tmp_path, text))
    base = tmp_path.resolve()
    assert (config.insecure, config.roster_id) == (False, bytes.fromhex("ab" * 32))
    assert (config.tls_certificate, config.tls_private_key) == (base / "a.crt", base / "a.tls.key")
    assert config.client_token_file == base / "client-token"
    assert config.admin_token_file == base / "admin-token"
    assert config.client_certificates == (base / "ingest.crt",)
    assert (config.peer_listen, config.peer_limits.rate, config.peer_limits.burst) == ("0.0.0.0:50061", 5, 10)
    assert config.peer_limits.call_timeout_s == 2.5


def test_the_example_configs_load(tmp_path: Path) -> None:
    for name in ("platform-a", "platform-b", "platform-c"):
        config = load_config(EXAMPLE_KEYS / f"{name}.toml")
        assert not config.insecure and config.roster_id is not None
        root = config.load_root_roster()
        assert (root.roster.consortium_id, root.roster_id) == ("example-consortium", config.roster_id)
        signer = config.load_signing_key()
        identity = config.load_tls_identity()
        assert signer is not None and identity is not None
        member = root.roster.member(name)
        assert member is not None and member.key(signer.public.key_id) is not None
        assert [c.fingerprint for c in member.tls] == [identity.fingerprint]


BAD_FIELDS = [
    (
        "video threshold above 100",
        MINIMAL + "[matching]\nvpdq_query_match_percent = 101\n",
        "matching.vpdq_query_match_percent: got 101, want a number in 0..100",
    ),
    (
        "threshold above 64",
        MINIMAL + "[matching]\npdq_threshold = 99\n",
        "matching.pdq_threshold: got 99, want 0..64",
    ),
    (
        "threshold not a number",
        MINIMAL + '[matching]\npdq_threshold = "31"\n',
        "matching.pdq_threshold: got '31', want 0..64",
    ),
    (
        "threshold a boolean",
        MINIMAL + "[matching]\npdq_threshold = true\n",
        "matching.pdq_threshold: got True, want 0..64",
    ),
    (
        "quality above 100",
        MINIMAL + "[matching]\nmin_pdq_quality = 101\n",
        "matching.min_pdq_quality: got 101, want 0..100",
    ),
    ("batch of zero", MINIMAL + "[matching]\nmax_batch = 0\n", "matching.max_batch: got 0, want 1..10000"),
    (
        "batch above the protocol",
        MINIMAL + "[matching]\nmax_batch = 20000\n",
        "matching.max_batch: got 20000, want 1..10000",
    ),
    (
        "listen without port",
        MINIMAL + 'listen = "localhost"\n',
        "node.listen: got 'localhost', want host:port",
    ),
    ("listen port too big", MINIMAL + 'listen = "127.0.0.1:70000"\n', "node.listen: got '127.0.0.1:70000'"),
    (
        "member id missing",
        MINIMAL.replace('member_id = "platform-a"\n', ""),
        "node.member_id: got nothing, want a non-empty string",
    ),
    (
        "member id empty",
        MINIMAL.replace('"platform-a"', '""', 1),
        "node.member_id: got '', want a non-empty string",
    ),
    ("mesh not a boolean", MINIMAL + "[peer]\nmesh = 1\n", "peer.mesh: got 1, want true or false"),
    (
        "signing key missing",
        MINIMAL.replace('signing_key = "platform-a.key"\n', ""),
        "node.signing_key: got nothing",
    ),
    (
        "follower not a boolean",
        MINIMAL + 'follower = "yes"\n',
        "node.follower: got 'yes', want true or false",
    ),
    ("unknown key", MINIMAL + 'listn = "127.0.0.1:1"\n', "node.listn: got 'listn', want one of member_id"),
    (
        "unknown section",
        MINIMAL + "[matchng]\npdq_threshold = 1\n",
        "matchng: got unknown section, want one of node",
    ),
    ("section not a table", "matching = 3\n" + MINIMAL, "matching: got int, want a [matching] table"),
    ("peer without address", MINIMAL + '[[peers]]\nname = "b"\n', "peers[0].address: got nothing"),
    (
        "peer with a bad address",
        MINIMAL + '[[peers]]\nname = "b"\naddress = "b"\n',
        "peers[0].address: got 'b'",
    ),
    (
        "peers twice",
        MINIMAL + '[[peers]]\nname = "b"\naddress = "b:1"\n[[peers]]\nname = "b"\naddress = "c:1"\n',
        "peers: got 'b' twice, want unique names",
    ),
    ("invalid toml", MINIMAL + "pdq_threshold = \n", "not valid TOML"),
    ("roster missing", MINIMAL.replace('roster = "roster.json"\n', ""), "node.roster: got nothing"),
    ("roster id not hex", MINIMAL + 'roster_id = "zz"\n', "node.roster_id: got 'zz', want 64 hex characters"),
    ("roster id short", MINIMAL + 'roster_id = "abcd"\n', "node.roster_id: got 'abcd', want 64 hex"),
    (
        "insecure on a public address",
        MINIMAL + '[peer]\nlisten = "0.0.0.0:50061"\n',
        "node.insecure: got true with peer.listen = '0.0.0.0:50061'; insecure mode (no TLS) is for",
    ),
    (
        "insecure client listener on a public address",
        MINIMAL + 'listen = "10.0.0.1:50051"\n',
        "node.insecure: got true with node.listen = '10.0.0.1:50051'",
    ),
    ("secure without TLS", SECURE.replace("[tls]", "[tlsx]"), "tlsx: got unknown section"),
    (
        "secure without a TLS identity",
        SECURE.replace('certificate = "a.crt"\nprivate_key = "a.tls.key"\n', ""),
        "tls: got no certificate and private_key, want this node's TLS identity",
    ),
    (
        "secure without client credentials",
        SECURE.replace('[clients]\ntoken_file = "client-token"\n', ""),
        "clients: got neither token_file nor certificates",
    ),
    (
        "secure without an operator token",
        SECURE.replace('[admin]\ntoken_file = "admin-token"\n', ""),
        "admin.token_file: got nothing, want the operator's token file",
    ),
    ("peer rate zero", MINIMAL + "[peer]\nrate = 0\n", "peer.rate: got 0, want a number in 0.01..1e+06"),
    ("peer burst a string", MINIMAL + '[peer]\nburst = "9"\n', "peer.burst: got '9', want 1..1000000"),
    ("admin max_calls negative", MINIMAL + "[admin]\nmax_calls = -1\n", "admin.max_calls: got -1, want 0..100000"),
    (
        "client certificates not a list",
        MINIMAL + '[clients]\ncertificates = "a.crt"\n',
        "clients.certificates: got 'a.crt', want a list of file names",
    ),
    ("admin listen bad", MINIMAL + '[admin]\nlisten = "x"\n', "admin.listen: got 'x', want host:port"),
    ("statements key unknown", MINIMAL + "[statements]\nlanguge = 'en'\n", "statements.languge: got 'languge'"),
    (
        "statements in a language without a pack",
        MINIMAL + '[statements]\nlanguage = "fr"\n',
        "statements.language: got 'fr', want a language with a pack: de, en",
    ),
    (
        "terms of service ground without the terms",
        MINIMAL + '[statements]\ndecision_ground = "incompatible"\n',
        "statements.terms_ground: got {}, want the terms of service relied on",
    ),
    (
        "appeal address not a web address",
        MINIMAL + '[statements]\nappeal_url = "ftp://platform.example/appeal"\n',
        "statements.appeal_url: got 'ftp://platform.example/appeal', want an http(s) URL",
    ),
    (
        "appeal address with an unknown placeholder",
        MINIMAL + '[statements]\nappeal_url = "https://platform.example/appeal/{id}"\n',
        "want no placeholder but {statement_id}",
    ),
    (
        "statements for Greece as EL",
        MINIMAL + '[statements]\nterritorial_scope = ["EL"]\n',
        "statements.territorial_scope: got ['EL'], want a list of EU/EEA country codes (GR for Greece)",
    ),
    ("statements kept no days", MINIMAL + "[statements]\nretention_days = 0\n", "statements.retention_days: got 0"),
    (
        "a category for a label the taxonomy lacks",
        MINIMAL + '[statements.categories."tvec.typo"]\ncategory = "STATEMENT_CATEGORY_VIOLENCE"\n',
        "statements.categories.tvec.typo: got a label the taxonomy lacks",
    ),
    (
        "a legal ground in a language without a pack",
        MINIMAL + '[statements]\nlegal_ground = { fr = "Code pénal" }\n',
        "statements.legal_ground.fr: got 'fr', want a language with a pack",
    ),
]


@pytest.mark.parametrize(("text", "message"), [case[1:] for case in BAD_FIELDS], ids=[case[0] for case in BAD_FIELDS])
def test_errors_name_the_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.message.startswith(f"{path}: "), caught.value.message
    assert message in caught.value.message


def test_a_taxonomy_label_without_a_category_is_refused_when_the_config_loads(tmp_path: Path, cli: Cli) -> None:
    (tmp_path / "taxonomy.toml").write_text('[[label]]\nname = "tvec.propaganda"\n[[label]]\nname = "x.new"\n')
    path = write(tmp_path, MINIMAL + '[taxonomy]\nfile = "taxonomy.toml"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.message.startswith(
        f"{path}: statements.categories: got no entry for the taxonomy's label 'x.new', "
        'want [statements.categories."x.new"] category = "STATEMENT_CATEGORY_..."'
    )
    served = cli("serve", "--config", path)
    assert served.code == 2 and served.err.count("\n") == 1 and "label 'x.new'" in served.err


def test_statement_languages_come_from_the_operators_directory(tmp_path: Path) -> None:
    english = (Path(__file__).resolve().parents[1] / "node/data/statement.en.toml").read_text(encoding="utf-8")
    (tmp_path / "languages").mkdir()
    (tmp_path / "languages/statement.fr.toml").write_text(english.replace('language = "en"', 'language = "fr"'))
    config = load_config(write(tmp_path, MINIMAL + '[statements]\nlanguages_dir = "languages"\nlanguage = "fr"\n'))
    assert (config.statements.language, sorted(config.statement_packs)) == ("fr", ["de", "en", "fr"])
    (tmp_path / "languages/statement.fr.toml").write_text("language = 'fr'\n[labels]\n'x.unknown' = 'X'\n")
    with pytest.raises(ConfigError, match=r"statement\.fr\.toml: text\.appeal: got nothing, want a sentence"):
        load_config(tmp_path / "config.toml")


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "nope.toml")


def test_member_not_in_the_consortium(tmp_path: Path) -> None:
    text = (
        MINIMAL.replace('"platform-a"', '"platform-z"', 1)
        .replace('"roster.json"', f'"{EXAMPLE_KEYS / "roster.json"}"')
        .replace('"platform-a.key"', f'"{EXAMPLE_KEYS / "platform-a.key"}"')
    )
    with pytest.raises(ConfigError, match=r"node\.member_id: got 'platform-z', want a member of consortium"):
        open_node(load_config(write(tmp_path, text)))


def test_serve_with_a_bad_config_fails_cleanly(tmp_path: Path, cli: Cli) -> None:
    path = write(tmp_path, MINIMAL + "[matching]\npdq_threshold = 99\n")
    result = cli("serve", "--config", path)
    assert result.code == 2
    assert result.err == f"hashnode: error: {path}: matching.pdq_threshold: got 99, want 0..64\n"


def test_serve_with_a_key_that_is_not_the_members_fails_cleanly(tmp_path: Path, cli: Cli) -> None:
    text = f"""[node]
member_id = "platform-a"
roster = "{EXAMPLE_KEYS / "roster.json"}"
signing_key = "{EXAMPLE_KEYS / "platform-b.key"}"
data_dir = "data"
listen = "127.0.0.1:0"
insecure = true
"""
    result = cli("serve", "--config", write(tmp_path, text))
    assert result.code == 1
    assert "is not a log key of 'platform-a' in roster version 1" in result.err
    assert "Traceback" not in result.err


def test_policy_and_match_log_sections(tmp_path: Path) -> None:
    config = load_config(
        write_config(
            tmp_path,
            extra='[policy]\nmin_endorsements = 2\n[policy.accept_labels_from]\n"*" = ["*"]\n'
            "[matchlog]\nretention_days = 30\n",
        )
    )
    settings = config.ledger_settings("c")
    assert settings.policy.min_endorsements == 2
    assert settings.policy.accepted_labels("anyone") is None
    assert settings.match_log_retention_ms == 30 * 86_400_000


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("[policy]\nmin_endorsement = 1\n", "policy: unknown keys ['min_endorsement']"),
        ("[policy]\ntrusted_flagger_preferred = 1\n", "trusted_flagger_preferred: got 1, want true or false"),
        ("[matchlog]\nretention_days = -1\n", "matchlog.retention_days: got -1, want 0..3650"),
    ],
    ids=["unknown key", "not a flag", "negative retention"],
)
def test_policy_and_match_log_errors_name_the_field(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(write_config(tmp_path, extra=extra))
