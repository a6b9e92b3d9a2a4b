"""The one exception tree of hashnode.

Every error a user or a peer can cause is a `HashnodeError`. The gRPC edge maps each class to a status code in one
table (`node.server.status`); the CLI prints `diagnostics()` and exits non-zero. Nothing else should escape to a user.
"""

from __future__ import annotations


class HashnodeError(Exception):
    """Base class. `message` is what a person reads."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def diagnostics(self) -> str:
        return self.message


class InvalidArgument(HashnodeError):
    """A request field is malformed or out of range. Message shape: "field: got X, want Y"."""

    def __init__(self, field: str, got: object, want: str) -> None:
        self.field = field
        super().__init__(f"{field}: got {shown_value(got)}, want {want}")


def shown_value(got: object) -> str:
    """How an error message shows a value it got: plain when that reads unambiguously ("0 records", "pdq"), else
    quoted like Python's repr ('platform-a ', '', 'a\\tb'), so that spaces at either end, an empty value or
    control characters can be seen; at most 80 characters."""
    if isinstance(got, str) and got and len(got) <= 80 and got == got.strip() and got.isprintable():
        return got
    return repr(got)[:80]


class VerificationError(HashnodeError):
    """Signed data does not verify: bad signature, digest mismatch, malformed canonical bytes."""


class EncodingError(VerificationError):
    """Canonical bytes cannot be decoded."""


class NotFound(HashnodeError):
    pass


class AlreadyExists(HashnodeError):
    pass


class PermissionDenied(HashnodeError):
    pass


class Unauthenticated(HashnodeError):
    pass


class FailedPrecondition(HashnodeError):
    """The node is not in a state to do this (e.g. catching up before it may author)."""


class ResourceExhausted(HashnodeError):
    """A limit was hit: batch too large, rate limit, storage map full."""


class Unavailable(HashnodeError):
    pass


class DeadlineExceeded(HashnodeError):
    """The caller's deadline passed (or is too near) before the work was done: nothing was done."""


class ConfigError(HashnodeError):
    """A configuration file is missing, malformed, or has an invalid field."""


class StorageError(HashnodeError):
    """The store cannot be opened or is corrupted."""


class DataCorruption(StorageError):
    """Bytes read from the store are damaged: a table's page or row does not decode, or a derived table (an
    index, a counter) disagrees with the records it is derived from. The node's fault, never the caller's: the
    answer could be wrong, so none is given. `table` and `key` say where."""

    def __init__(self, table: str, key: str, what: str) -> None:
        self.table = table
        self.key = key
        self.what = what
        where = f"{table} {key}" if key else table
        super().__init__(
            f"the store is damaged ({where}: {what}); the operator must restore it from a backup or re-sync it "
            "from a peer (docs/operator-guide.md, Recovering from a damaged store)"
        )
