"""Files and directories holding a member's secrets, created with the permissions they need whatever the umask.

A process umask of 000 (a container default, a careless service unit) would otherwise leave a new key directory
0777 and a config file 0666: another local user could read the keys and tokens, or swap the config or the
certificate clients trust. Every place the node and the `hashnode` command create such a thing goes through
here (docs/operator-guide.md, "Files and permissions"):

| what                                                   | mode |
| ------------------------------------------------------ | ---- |
| a directory created for keys, tokens, a config, a store or a backup (and the parents it needed) | 0700 |
| a private key, a token, a config, a store's or a backup's data file | 0600 |
| a certificate or a join request (made to be sent, but only its owner may change it) | 0644 |

An existing directory is left as it is: it is the operator's.
"""

from __future__ import annotations

import os
from pathlib import Path

DIRECTORY_MODE = 0o700
PRIVATE_MODE = 0o600
PUBLIC_MODE = 0o644


def private_directory(path: Path) -> None:
    """Creates `path` and any missing parent, each 0700; existing ones are left as they are.

    Raises: OSError.
    """
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIRECTORY_MODE)
        except FileExistsError:
            if not directory.is_dir():
                raise
            continue  # created meanwhile by someone else: theirs
        os.chmod(directory, DIRECTORY_MODE)  # mkdir's mode is filtered through the umask


def write_file(path: Path, data: bytes, *, mode: int = PRIVATE_MODE, exclusive: bool = False) -> None:
    """Writes `path` with exactly `mode`; with `exclusive`, refuses an existing file (FileExistsError).

    Raises: OSError.
    """
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, mode)
    try:
        os.fchmod(fd, mode)  # the umask filtered the mode of a new file; an existing one kept its own
        with os.fdopen(fd, "wb") as handle:
            fd = -1
            handle.write(data)
    finally:
        if fd >= 0:
            os.close(fd)


def restrict(path: Path, mode: int = PRIVATE_MODE) -> None:
    """Sets the mode of a file another library created (LMDB's data files). Raises: OSError."""
    os.chmod(path, mode)
