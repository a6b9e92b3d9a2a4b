"""Ed25519 signing keys of members (and stewards) and their identifiers."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from node.core.errors import ConfigError, InvalidArgument, VerificationError
from node.core.private_files import private_directory, write_file

PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64


def key_id(public_key: bytes) -> bytes:
    """A key's id: SHA-256 of its raw 32-byte public key."""
    return hashlib.sha256(public_key).digest()


@dataclass(frozen=True)
class PublicKey:
    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != PUBLIC_KEY_SIZE:
            raise InvalidArgument("public_key", f"{len(self.raw)} bytes", f"{PUBLIC_KEY_SIZE} bytes (raw Ed25519)")

    @classmethod
    def from_hex(cls, text: str, field: str = "public_key") -> PublicKey:
        try:
            raw = bytes.fromhex(text.strip())
        except ValueError:
            raise InvalidArgument(field, text, "64 hex characters (raw Ed25519 public key)") from None
        if len(raw) != PUBLIC_KEY_SIZE:
            raise InvalidArgument(field, text, "64 hex characters (raw Ed25519 public key)")
        return cls(raw)

    @property
    def key_id(self) -> bytes:
        return key_id(self.raw)

    def verify(self, signature: bytes, message: bytes) -> None:
        """Raises VerificationError unless `signature` is this key's signature of `message`."""
        if len(signature) != SIGNATURE_SIZE:
            raise VerificationError(f"signature: got {len(signature)} bytes, want {SIGNATURE_SIZE}")
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, message)
        except InvalidSignature:
            raise VerificationError("signature does not verify under the author's key") from None


class SigningKey:
    """An Ed25519 private key. Stored as unencrypted PKCS#8 PEM with mode 0600."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public = PublicKey(
            private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKey:
        """Deterministic key from a 32-byte seed: for example keys and golden test vectors only."""
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"signing key {path}: {exc.strerror or exc}") from exc
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"signing key {path}: not an unencrypted PEM private key") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError(f"signing key {path}: not an Ed25519 key")
        return cls(key)

    def save(self, path: Path) -> None:
        """Writes the key with owner-only permissions; refuses to overwrite an existing key."""
        pem = self._private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        private_directory(path.parent)
        try:
            write_file(path, pem, exclusive=True)
        except FileExistsError:
            raise ConfigError(f"signing key {path}: already exists; refusing to overwrite a key") from None

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)
