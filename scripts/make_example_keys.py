#!/usr/bin/env python3
"""Regenerate the example consortium in keys/example/ byte for byte.

Every key is derived from a public seed, SHA-256(b"hashnode example key " + name), so anyone can recreate it:
these keys are for demos and tests only and protect nothing. Running it again rewrites identical files: the
genesis roster (signed by the three example stewards), each platform's TLS identity (deterministic ECDSA), its
API tokens and its node config.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from node.core.keys import SigningKey  # noqa: E402
from node.membership import certificates  # noqa: E402
from node.membership.members import MemberKey  # noqa: E402
from node.membership.roster import Roster, RosterMember, SignedRoster, StewardKey, TlsCertificate  # noqa: E402

CONSORTIUM_ID = "example-consortium"
STEWARD_THRESHOLD = 2
# Fixed times keep the files byte for byte reproducible. The roster and the certificates last until 2036.
NOT_BEFORE_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z
EXPIRES_MS = 2_082_758_400_000  # 2036-01-01T00:00:00Z


@dataclass(frozen=True)
class ExampleMember:
    name: str
    organisation: str
    roles: tuple[str, ...]
    port_base: int = 0  # a node's listeners: client port_base+1, admin +2, peer +11; 0: runs no node

    @property
    def runs_node(self) -> bool:
        return self.port_base > 0

    @property
    def client(self) -> str:
        return f"127.0.0.1:{self.port_base + 1}"

    @property
    def admin(self) -> str:
        return f"127.0.0.1:{self.port_base + 2}"

    @property
    def peer(self) -> str:
        return f"127.0.0.1:{self.port_base + 11}"


# Fixed loopback ports, so that the three nodes find each other through the roster's endpoints and keep their
# addresses across restarts: platform-a 50151 (client), 50152 (admin), 50161 (peer); b 502xx; c 503xx.
MEMBERS = (
    ExampleMember("steward-1", "Example Steward One (consortium secretariat)", ("steward",)),
    ExampleMember("steward-2", "Example Steward Two (civil society)", ("steward",)),
    ExampleMember("steward-3", "Example Steward Three (academic)", ("steward",)),
    ExampleMember("platform-a", "Example Platform A (large platform)", ("contributor",), 50150),
    ExampleMember("platform-b", "Example Platform B (medium platform)", ("contributor",), 50250),
    ExampleMember("platform-c", "Example Platform C (small platform)", ("contributor",), 50350),
)

README = """# Example consortium keys

**THESE ARE EXAMPLE KEYS. THEIR PRIVATE KEYS ARE PUBLIC. NEVER USE THEM IN PRODUCTION.**

Every key here is derived from a published seed, `SHA-256(b"hashnode example key " + name)`, by
`scripts/make_example_keys.py`, which regenerates these files byte for byte. Anyone can sign as any of these
members. They exist for the demo (`make demo`), the tests and for trying a node out.

- `roster.json`: the genesis roster (version 1) of the example consortium, signed by all three example
  stewards (threshold 2 of 3): the stewards, and the platforms with their log keys, TLS certificates and peer
  endpoints (127.0.0.1:50161, :50261, :50361). Its roster id is pinned in the node configs.
- `consortium.toml`: the same members as a plain consortium file, for `hashnode verify --consortium`.
- `<name>.key`: each member's Ed25519 signing key (PKCS#8 PEM); the stewards' keys also sign rosters.
- `<platform>.crt`, `<platform>.tls.key`: each platform node's self-signed TLS certificate and its key.
- `<platform>.client-token`, `<platform>.admin-token`: bearer tokens of the platform's own systems and of its
  operator.
- `platform-a.toml`, `platform-b.toml`, `platform-c.toml`: node configs. Each node listens on fixed loopback
  ports (platform-a: client API 127.0.0.1:50151, admin 127.0.0.1:50152, peers 127.0.0.1:50161; platform-b
  502xx; platform-c 503xx) and finds the other two through the roster's endpoints, so three
  `hashnode serve --config keys/example/platform-X.toml`, in three terminals, form a consortium. Data go to
  `$XDG_STATE_HOME/hashnode/<member>` (`~/.local/state/hashnode/<member>`), or wherever `--data-dir DIR` says;
  never into this checkout.

For a real deployment run `hashnode join` (docs/onboarding.md) on the machine that will run the node.
"""


def seed(name: str) -> bytes:
    return hashlib.sha256(b"hashnode example key " + name.encode()).digest()


def token(name: str, kind: str) -> str:
    return hashlib.sha256(f"hashnode example token {name} {kind}".encode()).hexdigest()


def tls_identity(name: str) -> certificates.TlsIdentity:
    return certificates.generate_identity(name, not_before_ms=NOT_BEFORE_MS, not_after_ms=EXPIRES_MS, seed=seed(name))


def genesis_roster(keys: dict[str, SigningKey], identities: dict[str, certificates.TlsIdentity]) -> SignedRoster:
    """Version 1: the stewards (2 of 3 must sign the next version), the stewards and platforms as members."""
    stewards = [StewardKey(m.name, keys[m.name].public) for m in MEMBERS if "steward" in m.roles]
    members = [
        RosterMember(
            member_id=m.name,
            organisation=m.organisation,
            keys=(MemberKey(keys[m.name].public),),
            roles=m.roles,
            contact=f"trust-and-safety@{m.name}.example",
            tls=(TlsCertificate(identities[m.name].certificate_der),) if m.runs_node else (),
            endpoints=(m.peer,) if m.runs_node else (),
        )
        for m in MEMBERS
    ]
    roster = Roster(CONSORTIUM_ID, 1, EXPIRES_MS, STEWARD_THRESHOLD, tuple(stewards), tuple(members))
    signed = SignedRoster.unsigned(roster)
    for steward in stewards:
        signed = signed.sign(keys[steward.name])
    return signed


def consortium_toml(keys: dict[str, SigningKey]) -> str:
    lines = [
        "# Example consortium. EXAMPLE KEYS ONLY: their private keys are public (see README.md).",
        "# Generated by scripts/make_example_keys.py; do not edit by hand.",
        f'consortium_id = "{CONSORTIUM_ID}"',
    ]
    for member in MEMBERS:
        roles = ", ".join(f'"{r}"' for r in member.roles)
        lines += [
            "",
            "[[member]]",
            f'id = "{member.name}"',
            f'organisation = "{member.organisation}"',
            f'public_key = "{keys[member.name].public.raw.hex()}"',
            f"roles = [{roles}]",
            f'contact = "trust-and-safety@{member.name}.example"',
        ]
    return "\n".join(lines) + "\n"


def node_toml(member: ExampleMember, roster_id: str) -> str:
    name = member.name
    return f"""# Example node config for {name}. EXAMPLE KEYS ONLY (see README.md).
# Generated by scripts/make_example_keys.py; do not edit by hand.
# hashnode serve --config keys/example/{name}.toml [--data-dir DIR]
# Its data go to DIR, else to $XDG_STATE_HOME/hashnode/{name} (~/.local/state/hashnode/{name}).
# It dials the other example platforms at the endpoints the roster lists for them.
[node]
member_id = "{name}"
roster = "roster.json"
roster_id = "{roster_id}"
signing_key = "{name}.key"
listen = "{member.client}"

[tls]
certificate = "{name}.crt"
private_key = "{name}.tls.key"

[peer]
listen = "{member.peer}"    # the roster's endpoint for {name}

[clients]
token_file = "{name}.client-token"

[admin]
listen = "{member.admin}"
token_file = "{name}.admin-token"

[matching]
pdq_threshold = 31
min_pdq_quality = 50
max_batch = 10000
"""


def write(out: Path) -> list[Path]:
    """Writes every example file into `out`; returns the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    keys = {m.name: SigningKey.from_seed(seed(m.name)) for m in MEMBERS}
    identities = {m.name: tls_identity(m.name) for m in MEMBERS if m.runs_node}
    written = []
    for name, key in keys.items():
        path = out / f"{name}.key"
        path.unlink(missing_ok=True)  # SigningKey.save refuses to overwrite a key, rightly; these are derived
        key.save(path)
        written.append(path)
    for name, identity in identities.items():
        certificate, private_key = out / f"{name}.crt", out / f"{name}.tls.key"
        private_key.unlink(missing_ok=True)
        identity.save(certificate, private_key)
        written += [certificate, private_key]
    roster = genesis_roster(keys, identities)
    texts = {"roster.json": roster.to_json(), "consortium.toml": consortium_toml(keys), "README.md": README}
    for m in MEMBERS:
        if m.runs_node:
            texts[f"{m.name}.toml"] = node_toml(m, roster.roster_id.hex())
            texts[f"{m.name}.client-token"] = token(m.name, "client") + "\n"
            texts[f"{m.name}.admin-token"] = token(m.name, "admin") + "\n"
    for filename, text in texts.items():
        (out / filename).write_text(text, encoding="utf-8")
        written.append(out / filename)
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "keys/example")
    for path in write(parser.parse_args().out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
