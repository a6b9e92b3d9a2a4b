"""What the node and the `hashnode` command create to hold keys, tokens, configs, certificates, stores and
backups gets the permissions it needs whatever the umask (node/core/private_files.py): real processes run
under umask 000 (issue 12 item 7: `join --out DIR` made DIR 0777)."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from node.cli.serve_cmd import PACKAGE_ROOT, NodeProcess
from node.runtime.runtime import open_node
from node.server.server import CLIENT_CERTIFICATE_FILE, create_servers
from tests.conftest import tls_config, write_config


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    """The process umask, inherited by the children started inside the block."""
    saved = os.umask(mask)
    try:
        yield
    finally:
        os.umask(saved)


def hashnode(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    """`hashnode ARGS` in a child process under umask 000."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH")]))}
    with umask(0):
        done = subprocess.run(
            [sys.executable, "-m", "node.cli.main", *map(str, argv)],
            capture_output=True, text=True, timeout=60, env=env, check=False,
        )
    assert done.returncode == 0, done.stderr
    return done


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def modes(directory: Path) -> dict[str, int]:
    return {path.name: mode(path) for path in directory.iterdir()}


def test_join_creates_its_directory_0700_and_its_secrets_0600_under_umask_000(tmp_path: Path) -> None:
    out = tmp_path / "new" / "kit"
    hashnode("join", "--consortium", "example-consortium", "--member-id", "platform-d", "--organisation", "D",
             "--contact", "trust@d.example", "--out", out)
    assert (mode(tmp_path / "new"), mode(out)) == (0o700, 0o700)
    assert modes(out) == {
        "log.key": 0o600, "tls.key": 0o600, "client-token": 0o600, "admin-token": 0o600, "node.toml": 0o600,
        "tls.crt": 0o644, "join-request.json": 0o644,  # made to be sent; only their owner may change them
    }


def test_keygen_creates_the_key_0600_in_a_new_directory_0700_under_umask_000(tmp_path: Path) -> None:
    hashnode("keygen", "--out", tmp_path / "keys" / "log.key")
    assert (mode(tmp_path / "keys"), mode(tmp_path / "keys" / "log.key")) == (0o700, 0o600)


def test_a_node_its_backup_and_a_restore_create_their_stores_private_under_umask_000(tmp_path: Path) -> None:
    with umask(0):
        node = NodeProcess.start(write_config(tmp_path), tmp_path / "node.log", cwd=tmp_path)
    try:
        data = tmp_path / "data-platform-a"
        assert (mode(data), mode(data / "lmdb")) == (0o700, 0o700)
        assert modes(data / "lmdb") == {"data.mdb": 0o600, "lock.mdb": 0o600}
        backup = tmp_path / "backups" / "today"
        hashnode("admin", "backup", backup, "--target", node.admin_address)
    finally:
        node.stop(signal.SIGKILL)
    assert (mode(tmp_path / "backups"), mode(backup), modes(backup)) == (0o700, 0o700, {"data.mdb": 0o600})
    restored = tmp_path / "restored"
    hashnode("admin", "restore", backup, "--data-dir", restored)
    assert (mode(restored), mode(restored / "lmdb"), mode(restored / "lmdb" / "data.mdb")) == (0o700, 0o700, 0o600)


def test_the_client_listener_certificate_is_written_0644_under_umask_000(tmp_path: Path) -> None:
    with umask(0):
        runtime = open_node(tls_config(tmp_path / "data", tls_client_names=("localhost",)))
        try:
            create_servers(runtime).stop(None)
        finally:
            runtime.close()
    assert mode(tmp_path / "data") == 0o700
    assert mode(tmp_path / "data" / CLIENT_CERTIFICATE_FILE) == 0o644
