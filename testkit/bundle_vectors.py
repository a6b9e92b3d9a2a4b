"""The conformance suite of provenance bundles (docs/protocol.md §9.9): genuine and invalid bundle files, their
trust anchors, and a manifest any implementation can run.

Everything derives from fixed seeds and constants, so `scripts/gen_vectors.py` writes the same bytes every time.
One small consortium lives through twelve hours: member-a contributes and decides, member-b appeals, opines and
retracts what is not its own, steward-1 decides after the window (and once too early), member-x is revoked at
5 h, member-e's only key expires at 2 h, member-a rotates its key at 9-10 h, and member-c assembles every bundle.
From 10 h member-d's records go through the decisions every rule of §9.7 is about: one decided before its
appeal, by someone else as the contributor, by a non-steward as a steward, two decisions at one timestamp, a
suspended steward (steward-2), a retraction after a decision, a decision entry whose first item names no appeal.
Each invalid case changes one thing of a genuine bundle, re-signing what must still verify, so that it breaks the
one rule it is named after and, wherever that rule allows, no other; boundary cases (a signature exactly at a
key's end or a revocation cutoff, a roster used exactly at its expiry, JSON nested exactly 32 deep) verify.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from node.api import convert
from node.core import merkle
from node.core.canonical import Writer
from node.core.entry import ENTRY_TAG, ZERO_ID, Entry, EntryHeader, EntryKind
from node.core.keys import SigningKey
from node.core.records import HashRecord, record_id
from node.core.retraction import RetractionItem
from node.core.vpdq import MAX_FRAMES, VpdqFeatures, VpdqFrame
from node.dueprocess.items import AppealItem, DecidedAs, DecisionItem, OpinionItem, Outcome, Stance
from node.dueprocess.ruling import ruling_bytes
from node.membership.consortium_policy import ConsortiumPolicy, QuarantineMode
from node.membership.members import Member, MemberKey, Membership
from node.membership.roster import MemberStatus, Roster, RosterMember, Signature, SignedRoster, StewardKey
from node.provenance.assembly import Assembly, Head
from node.provenance.bundle import ProvenanceBundle, RelatedEntry

CONSORTIUM = "example-consortium"
HOUR = 3_600_000
T0 = 1_700_000_000_000
WINDOW = HOUR  # the consortium's decision window
ASSEMBLED_AT = T0 + 12 * HOUR
NOW = T0 + 12 * HOUR  # the verification time of every case but the expired roster
ROSTER_EXPIRES = T0 + 30 * 24 * HOUR
POLICY = ConsortiumPolicy(decision_window_ms=WINDOW)


def key(name: str) -> SigningKey:
    """The example key `name`: its Ed25519 seed is SHA-256("hashnode example key " ‖ name), as in golden.json."""
    return SigningKey.from_seed(hashlib.sha256(b"hashnode example key " + name.encode("utf-8")).digest())


A1, A2, B, C, S, X, E = (key(n) for n in ("member-a", "member-a/rotated", "member-b", "member-c", "steward-1",
                                         "member-x", "member-e"))
D, S2 = key("member-d"), key("steward-2")
OBSERVER = key("observer-o")
STRANGER = key("stranger")
ROSTER_STEWARDS = [key(f"roster-steward-{i}") for i in (1, 2, 3)]
NEW_ROSTER_STEWARDS = [key(f"roster-steward-{i}") for i in (4, 5, 6)]  # the stewards who replace them
ALL_ROSTER_STEWARDS = ROSTER_STEWARDS + NEW_ROSTER_STEWARDS
STEWARDS = ("steward-1", "steward-2")  # the members with the steward role, as every genuine assembly states them
B_ENDPOINTS = ("b1.example:50061", "[2001:db8::b]:50061")  # member-b's node in the roster (two: extension 1)


def members() -> list[Member]:
    return [
        Member("member-a", "Example Platform A", (MemberKey(A1.public, 0, T0 + 10 * HOUR),
                                                  MemberKey(A2.public, T0 + 9 * HOUR, 0)),
               contact="trust@a.example"),
        Member("member-b", "Example Platform B", (MemberKey(B.public),), contact="trust@b.example",
               endpoints=B_ENDPOINTS),
        Member("member-c", "Example Platform C", (MemberKey(C.public),), contact="trust@c.example"),
        Member("member-d", "Example Platform D", (MemberKey(D.public),), contact="trust@d.example"),
        Member("member-e", "Example Platform E", (MemberKey(E.public, 0, T0 + 2 * HOUR),)),
        Member("member-x", "Example Platform X", (MemberKey(X.public),), status="revoked",
               revoked_after_ms=T0 + 5 * HOUR),
        Member("observer-o", "Example Observer", (MemberKey(OBSERVER.public),), roles=("observer",)),
        Member("steward-1", "Example Steward", (MemberKey(S.public),), roles=("steward",)),
        # Suspended, yet a steward: S is every member with the role, whatever its status (§9.7).
        Member("steward-2", "Example Steward Two", (MemberKey(S2.public),), roles=("steward",), status="suspended"),
    ]


def membership() -> Membership:
    found = Membership.from_members(CONSORTIUM, members())
    found.policy = POLICY
    return found


MEMBERS = {m.member_id: m for m in members()}


# --- entries ----------------------------------------------------------------------------------------------


def raw_entry(
    signer: SigningKey, author: str, seq: int, prev: bytes, timestamp_ms: int, kind: int, items: Sequence[bytes],
    *, consortium_id: str = CONSORTIUM, item_count: int | None = None, key_id: bytes | None = None,
) -> Entry:
    """An entry signed as given, without the author-side checks (so vectors can break them)."""
    header = EntryHeader(
        consortium_id=consortium_id, author=author, key_id=key_id or signer.public.key_id, seq=seq, prev=prev,
        timestamp_ms=timestamp_ms, kind=kind, item_count=len(items) if item_count is None else item_count,
        body_root=merkle.root(list(items)),
    )
    data = header.encode()
    return Entry(data, signer.sign(data), tuple(items), header)


class Log:
    """One author's chained log."""

    def __init__(self, author: str, signer: SigningKey) -> None:
        self.author, self.signer, self.entries = author, signer, list[Entry]()

    def add(self, hours: float, kind: int, items: Sequence[bytes], signer: SigningKey | None = None) -> Entry:
        prev = self.entries[-1].entry_id if self.entries else ZERO_ID
        entry = raw_entry(signer or self.signer, self.author, len(self.entries) + 1, prev,
                          T0 + round(hours * HOUR), kind, items)
        self.entries.append(entry)
        return entry

    def head(self) -> Head:
        last = self.entries[-1]
        return Head(self.author, last.header.seq, last.entry_id)


def rec(signal: str, value: str, labels: tuple[str, ...] = ("tvec.propaganda",), quality: int = 0,
        **more: Any) -> bytes:
    return HashRecord(signal, bytes.fromhex(value), quality, labels, **more).encode()


def rid(entry: Entry, index: int = 0) -> bytes:
    return record_id(entry.entry_id, index)


@dataclass
class World:
    logs: dict[str, Log]
    named: dict[str, Entry]

    def heads(self) -> list[Head]:
        return [log.head() for log in self.logs.values() if log.entries]


def world() -> World:
    a, b, s = Log("member-a", A1), Log("member-b", B), Log("steward-1", S)
    x, e = Log("member-x", X), Log("member-e", E)
    c, d, s2 = Log("member-c", C), Log("member-d", D), Log("steward-2", S2)
    n: dict[str, Entry] = {}
    n["a1"] = a.add(0, EntryKind.CONTRIBUTION, [
        rec("pdq", "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22", quality=87),
        rec("md5", "d41d8cd98f00b204e9800998ecf8427e", ("tvec.glorification", "tvec.manifesto")),
        rec("sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            tags=("campaign:2023-11", "lang:en"), reference="case-4711", source="referral:example-iru"),
    ])
    a1 = n["a1"]
    n["b1"] = b.add(1, EntryKind.APPEAL, [AppealItem(rid(a1, 1), "case-1", 4).encode()])
    n["a2"] = a.add(1 + 1 / 6, EntryKind.DECISION, [DecisionItem(
        rid(a1, 1), n["b1"].entry_id, Outcome.OVERTURNED, "satire", DecidedAs.CONTRIBUTOR).encode()])
    n["b2"] = b.add(2, EntryKind.APPEAL, [AppealItem(rid(a1, 2), "case-2", None).encode()])
    n["s1"] = s.add(2.5, EntryKind.DECISION, [DecisionItem(
        rid(a1, 2), n["b2"].entry_id, Outcome.OVERTURNED, "too early", DecidedAs.STEWARD).encode()])
    n["a3"] = a.add(3, EntryKind.DECISION, [DecisionItem(
        rid(a1, 2), n["b2"].entry_id, Outcome.UPHELD, "it is propaganda", DecidedAs.CONTRIBUTOR).encode()])
    n["s2"] = s.add(3.5, EntryKind.DECISION, [DecisionItem(
        rid(a1, 2), n["b2"].entry_id, Outcome.OVERTURNED, "after the window", DecidedAs.STEWARD).encode()])
    n["b3"] = b.add(4, EntryKind.OPINION, [
        OpinionItem(rid(a1, 0), Stance.FALSE_POSITIVE, "not_tvec", "a news photograph").encode(),
        OpinionItem(rid(a1, 1), Stance.AGREE, "", "").encode(),
    ])
    n["x1"] = x.add(4, EntryKind.CONTRIBUTION, [rec("md5", "00112233445566778899aabbccddeeff")])
    n["a4"] = a.add(4.5, EntryKind.CONTRIBUTION, [
        rec("video_md5", "0123456789abcdef0123456789abcdef", ("tvec.attack_livestream",),
            reference="Fall Nr. 7 — Überprüfung", source="proaktive Erkennung 🔍"),
    ])
    n["b4"] = b.add(5, EntryKind.APPEAL, [AppealItem(rid(n["a4"]), "case-4", 0).encode()])
    n["s3"] = s.add(6, EntryKind.DECISION, [DecisionItem(
        rid(n["a4"]), n["b4"].entry_id, Outcome.OVERTURNED, "no answer", DecidedAs.STEWARD).encode()])
    n["a5"] = a.add(6.5, EntryKind.RETRACTION, [RetractionItem(rid(a1, 0), "false positive: news").encode()])
    n["e1"] = e.add(1, EntryKind.CONTRIBUTION, [rec("sha256", "11" * 32)])
    n["a6"] = a.add(9.5, EntryKind.CONTRIBUTION, [rec("md5", "ffeeddccbbaa99887766554433221100")], signer=A2)
    n["b5"] = b.add(10, EntryKind.RETRACTION, [RetractionItem(rid(n["a6"]), "not mine to retract").encode()])
    n["a7"] = a.add(11, EntryKind.DECISION, [DecisionItem(
        rid(n["a6"]), hashlib.sha256(b"no such appeal").digest(), Outcome.UPHELD, "", DecidedAs.CONTRIBUTOR,
    ).encode()], signer=A2)
    _decisions(n, b, c, d, s, s2)
    return World({log.author: log for log in (a, b, s, x, e, c, d, s2)}, n)


def _decisions(n: dict[str, Entry], b: Log, c: Log, d: Log, s: Log, s2: Log) -> None:
    """From 10 h: member-d's records d1[0..8], one per rule of §9.7 (see the module docstring), with the
    appeals of member-b at 10 h (one at 10.5 h) and the decisions about them."""
    n["d1"] = d.add(10, EntryKind.CONTRIBUTION, [rec("md5", f"{0xd0 + i:02x}" * 16) for i in range(9)])

    def r(i: int) -> bytes:
        return rid(n["d1"], i)

    def appeal(name: str, i: int, hours: float = 10) -> None:
        n[name] = b.add(hours, EntryKind.APPEAL, [AppealItem(r(i), f"case-{name}", None).encode()])

    def decision(i: int, appeal_name: str, outcome: Outcome, reason: str, decided_as: DecidedAs) -> bytes:
        return DecisionItem(r(i), n[appeal_name].entry_id, outcome, reason, decided_as).encode()

    for name, i in (("b6", 0), ("b8", 2), ("b9", 3), ("b10", 4), ("b11", 5), ("b12", 6), ("b13", 7)):
        appeal(name, i)
    n["b14"] = b.add(10, EntryKind.OPINION, [OpinionItem(r(8), Stance.FALSE_POSITIVE, "not_tvec", "").encode()])
    appeal("b7", 1, 10.5)
    n["d2"] = d.add(10.25, EntryKind.DECISION, [decision(1, "b7", Outcome.OVERTURNED, "backdated",
                                                         DecidedAs.CONTRIBUTOR)])
    n["d3"] = d.add(10.5, EntryKind.DECISION, [decision(6, "b12", Outcome.UPHELD, "reviewed", DecidedAs.CONTRIBUTOR)])
    n["d5"] = d.add(10.5, EntryKind.DECISION, [
        DecisionItem(r(7), hashlib.sha256(b"an appeal nobody holds").digest(), Outcome.OVERTURNED, "",
                     DecidedAs.CONTRIBUTOR).encode(),
        decision(7, "b13", Outcome.OVERTURNED, "reviewed", DecidedAs.CONTRIBUTOR),
    ])
    n["d6"] = d.add(10.5, EntryKind.DECISION, [DecisionItem(r(8), n["b14"].entry_id, Outcome.OVERTURNED,
                                                            "an opinion is no appeal", DecidedAs.CONTRIBUTOR).encode()])
    n["c1"] = c.add(10.75, EntryKind.DECISION, [decision(2, "b8", Outcome.OVERTURNED, "not mine to decide",
                                                         DecidedAs.CONTRIBUTOR)])
    n["d4"] = d.add(11, EntryKind.RETRACTION, [RetractionItem(r(6), "withdrawn after review").encode()])
    n["c2"] = c.add(11.5, EntryKind.DECISION, [decision(3, "b9", Outcome.OVERTURNED, "not a steward",
                                                        DecidedAs.STEWARD)])
    n["s4"] = s.add(11.5, EntryKind.DECISION, [decision(0, "b6", Outcome.OVERTURNED, "after the anchor's window",
                                                        DecidedAs.STEWARD)])
    # d7 and s5 decide one appeal at one timestamp: the lower entry id is effective.
    n["d7"] = d.add(11.5, EntryKind.DECISION, [decision(4, "b10", Outcome.UPHELD, "same time", DecidedAs.CONTRIBUTOR)])
    n["s5"] = s.add(11.5, EntryKind.DECISION, [decision(4, "b10", Outcome.OVERTURNED, "same time",
                                                        DecidedAs.STEWARD)])
    n["t1"] = s2.add(11.5, EntryKind.DECISION, [decision(5, "b11", Outcome.OVERTURNED, "a suspended steward",
                                                         DecidedAs.STEWARD)])


# --- bundles ----------------------------------------------------------------------------------------------


def bundle(
    w: World, entry: Entry, index: int, related: Sequence[Entry], *, heads: Sequence[Head] | None = None,
    listed: Sequence[bytes] | None = None, assembler: SigningKey = C, assembler_id: str = "member-c",
    assembled_at_ms: int = ASSEMBLED_AT, stewards: Sequence[str] = STEWARDS, policy: ConsortiumPolicy = POLICY,
    known: dict[str, Member] | None = None, **changes: Any,
) -> ProvenanceBundle:
    """The bundle of record `index` of `entry`, assembled and signed by member-c (unless told otherwise), whose
    statement names `stewards` and `policy` (the consortium's, unless a case makes them differ from the anchor)."""
    unsigned = ProvenanceBundle(
        consortium_id=CONSORTIUM,
        record_id=rid(entry, index),
        record_item=entry.items[index],
        leaf_index=index,
        leaf_count=len(entry.items),
        inclusion_proof=tuple(merkle.inclusion_proof(list(entry.items), index)),
        entry_header=entry.header_bytes,
        entry_signature=entry.signature,
        author=(known or MEMBERS).get(entry.header.author),
        related=tuple(RelatedEntry.of(r, (known or MEMBERS).get(r.header.author)) for r in related),
    )
    unsigned = replace(unsigned, **changes)
    statement = Assembly.create(
        consortium_id=unsigned.consortium_id, assembler=assembler_id, key_id=assembler.public.key_id,
        assembled_at_ms=assembled_at_ms, record_id=unsigned.record_id, roster_version=0, policy=policy,
        stewards=stewards, heads=w.heads() if heads is None else heads,
        related=[r.entry_id for r in unsigned.related] if listed is None else listed,
    )
    return sign_assembly(unsigned, statement.encode(), assembler, assembler_id, known)


def sign_assembly(unsigned: ProvenanceBundle, statement: bytes, signer: SigningKey, assembler_id: str,
                  known: dict[str, Member] | None = None) -> ProvenanceBundle:
    return replace(unsigned, assembly=statement, assembly_signature=signer.sign(statement),
                   assembler=(known or MEMBERS).get(assembler_id), generated_at_ms=ASSEMBLED_AT,
                   generated_by=assembler_id)


def file_text(b: ProvenanceBundle) -> str:
    return convert.bundle_to_json(convert.bundle_to_proto(b))


def document(b: ProvenanceBundle) -> dict[str, Any]:
    return json.loads(file_text(b))  # type: ignore[no-any-return]


def dumps(doc: Any) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def flip(data: bytes, i: int) -> bytes:
    return data[:i] + bytes([data[i] ^ 1]) + data[i + 1:]


# --- anchors ----------------------------------------------------------------------------------------------


def consortium_document(member_list: Sequence[Member], window_ms: int = WINDOW,
                        policy: ConsortiumPolicy | None = None) -> dict[str, Any]:
    """The consortium file of `member_list`: the window alone, or (`policy`) every field of the policy."""
    def table(m: Member) -> dict[str, Any]:
        out: dict[str, Any] = {"id": m.member_id, "organisation": m.organisation}
        if m.contact:
            out["contact"] = m.contact
        if m.roles != ("contributor",):
            out["roles"] = list(m.roles)
        if m.status != "active":
            out["status"] = m.status
        if m.revoked_after_ms:
            out["revoked_after_ms"] = m.revoked_after_ms
        if m.endpoints:
            out["endpoint"] = m.endpoints[0]  # informational: a verifier dials no one
        if all(k.valid_from_ms == 0 and k.valid_until_ms == 0 for k in m.keys):
            out["public_keys" if len(m.keys) > 1 else "public_key"] = (
                [k.public_key.raw.hex() for k in m.keys] if len(m.keys) > 1 else m.keys[0].public_key.raw.hex())
        else:
            out["keys"] = [
                {"public_key": k.public_key.raw.hex(),
                 **({"valid_from_ms": k.valid_from_ms} if k.valid_from_ms else {}),
                 **({"valid_until_ms": k.valid_until_ms} if k.valid_until_ms else {})}
                for k in m.keys
            ]
        return out

    stated: dict[str, Any] = {"decision_window_ms": window_ms}
    if policy is not None:
        stated = {"decision_window_ms": policy.decision_window_ms, "steward_quorum": policy.steward_quorum,
                  "dispute_quorum": policy.dispute_quorum,
                  "trusted_flagger_disputes": policy.trusted_flagger_disputes,
                  "quarantine": QuarantineMode(policy.quarantine).label}
    return {"consortium_id": CONSORTIUM, **stated, "member": [table(m) for m in member_list]}


def toml_text(doc: dict[str, Any]) -> str:
    """The TOML twin of a consortium document (the same data model)."""
    def value(v: Any) -> str:
        if isinstance(v, str):
            return json.dumps(v, ensure_ascii=False)
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, list):
            return "[" + ", ".join(value(i) for i in v) + "]"
        return str(v)

    lines = ["# A conformance-suite anchor (tests/vectors/bundles); the JSON file of the same name says the same."]
    lines += [f"{k} = {value(v)}" for k, v in doc.items() if k != "member"]
    for m in doc["member"]:
        lines += ["", "[[member]]"]
        lines += [f"{k} = {value(v)}" for k, v in m.items() if k != "keys"]
        for k in m.get("keys", []):
            lines += ["", "[[member.keys]]"] + [f"{kk} = {value(vv)}" for kk, vv in k.items()]
    return "\n".join(lines) + "\n"


STATUS = {"active": MemberStatus.ACTIVE, "suspended": MemberStatus.SUSPENDED, "revoked": MemberStatus.REVOKED}


def roster_members() -> list[RosterMember]:
    return [
        RosterMember(m.member_id, m.organisation, m.keys, m.roles, m.contact, endpoints=m.endpoints,
                     status=STATUS[m.status], status_version=1, revoked_after_ms=m.revoked_after_ms)
        for m in members()
    ]


def roster(
    version: int, *, expires_ms: int = ROSTER_EXPIRES, signers: int = 2,
    member_list: Sequence[RosterMember] | None = None, stewards: Sequence[SigningKey] = ROSTER_STEWARDS,
    signed_by: Sequence[SigningKey] | None = None,
    consortium_id: str = CONSORTIUM,
) -> SignedRoster:
    """Roster `version` of the example consortium, threshold 2 of its `stewards`, signed by the first `signers`
    of them (or by exactly `signed_by`)."""
    document_ = Roster(
        consortium_id, version, expires_ms, 2,
        tuple(StewardKey(f"roster-steward-{ALL_ROSTER_STEWARDS.index(k) + 1}", k.public) for k in stewards),
        tuple(roster_members() if member_list is None else member_list), POLICY,
    )
    signed = SignedRoster.unsigned(document_)
    for k in stewards[:signers] if signed_by is None else signed_by:
        signed = signed.sign(k)
    return signed


def roster_file(roster_bytes: bytes, signed_by: Sequence[SigningKey]) -> dict[str, Any]:
    """A signed-roster file of any bytes (ones `Roster` would refuse to build, too), as `SignedRoster.to_json`."""
    return {
        "format": "hashnode.signed-roster.v1",
        "roster_id": hashlib.sha256(roster_bytes).hexdigest(),
        "roster": b64(roster_bytes),
        "signatures": [{"key_id": k.public.key_id.hex(), "signature": k.sign(roster_bytes).hex()} for k in signed_by],
    }


# --- the suite --------------------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    bundle: bytes
    expect: str  # "verified" or "rejected"
    rule: str = ""
    status: str = ""
    rulings: dict[str, str] = field(default_factory=dict)
    ruling_rules: dict[str, str] = field(default_factory=dict)
    anchor: dict[str, Any] | None = field(default_factory=lambda: {"consortium": "anchors/consortium.json"})
    time_ms: int = NOW
    note: str = ""


class Suite:
    def __init__(self) -> None:
        self.w = world()
        self.cases: list[Case] = []
        self.files: dict[str, bytes] = {}

    def ok(self, name: str, b: ProvenanceBundle | bytes, status: str, rulings: dict[str, str] | None = None,
           note: str = "", **more: Any) -> None:
        """A verified case. `rulings` maps each decision entry id to its ruling; a refused or pending one also
        names its rule of §9.7 after a space ("refused decision.too_early"), which the manifest lists apart."""
        data = b if isinstance(b, bytes) else file_text(b).encode("utf-8")
        words = {entry_id: ruling.split(" ") for entry_id, ruling in (rulings or {}).items()}
        for ruling, *rule in words.values():
            assert (ruling in ("refused", "pending")) == bool(rule), (name, ruling, rule)
        self.cases.append(Case(f"verified/{name}", data, "verified", status=status,
                               rulings={k: v[0] for k, v in words.items()},
                               ruling_rules={k: v[1] for k, v in words.items() if len(v) > 1}, note=note, **more))

    def bad(self, rule: str, name: str, b: ProvenanceBundle | bytes, note: str = "", **more: Any) -> None:
        data = b if isinstance(b, bytes) else file_text(b).encode("utf-8")
        self.cases.append(Case(f"{rule}/{name}", data, "rejected", rule=rule, note=note, **more))

    def edited(self, b: ProvenanceBundle, edit: Callable[[dict[str, Any]], None]) -> bytes:
        doc = document(b)
        edit(doc)
        return dumps(doc)


def build() -> tuple[dict[str, bytes], dict[str, Any]]:
    """Every file of the suite (path relative to tests/vectors/bundles → bytes) and the manifest."""
    suite = Suite()
    for section in SECTIONS:
        section(suite)
    manifest_cases = []
    for case in suite.cases:
        path = f"cases/{case.name}.json"
        suite.files[path] = case.bundle
        entry: dict[str, Any] = {"name": case.name, "bundle": path, "anchor": case.anchor, "time_ms": case.time_ms,
                                 "expect": case.expect}
        if case.expect == "verified":
            entry["status"] = case.status
            entry["rulings"] = case.rulings
            entry["ruling_rules"] = case.ruling_rules
        else:
            entry["rule"] = case.rule
        if case.note:
            entry["note"] = case.note
        manifest_cases.append(entry)
    manifest = {
        "format": "hashnode.bundle-vectors.v1",
        "description": "Conformance vectors of provenance bundle verification: docs/protocol.md section 9.9.",
        "generator": "scripts/gen_vectors.py",
        "cases": manifest_cases,
    }
    suite.files["manifest.json"] = dumps(manifest)
    return suite.files, manifest


def _anchors(suite: Suite) -> None:
    doc = consortium_document(members())
    suite.files["anchors/consortium.json"] = dumps(doc)
    suite.files["anchors/consortium.toml"] = toml_text(doc).encode("utf-8")
    for version in (1, 2, 3):
        suite.files[f"anchors/roster-v{version}.json"] = roster(version).to_json().encode("utf-8")
    suite.files["anchors/roster-v1-one-signature.json"] = roster(1, signers=1).to_json().encode("utf-8")
    suite.files["anchors/roster-v1-expires-early.json"] = (
        roster(1, expires_ms=T0 + 11 * HOUR).to_json().encode("utf-8"))
    good = json.loads(roster(1).to_json())
    good["roster"] = b64(base64.b64decode(good["roster"])[:-1])
    good["roster_id"] = hashlib.sha256(base64.b64decode(good["roster"])).hexdigest()
    suite.files["anchors/roster-v1-truncated.json"] = dumps(good)
    bad_members = [*members(), Member("member-a", "twice", (MemberKey(STRANGER.public),))]
    bad = consortium_document(bad_members)
    suite.files["anchors/consortium-member-twice.json"] = dumps(bad)
    unknown = consortium_document(members())
    unknown["member"][0]["revoked"] = True  # a typo for revoked_after_ms: never silently ignored
    suite.files["anchors/consortium-unknown-field.json"] = dumps(unknown)
    shared = consortium_document(members())
    shared["member"][1]["public_key"] = A2.public.raw.hex()
    suite.files["anchors/consortium-key-twice.json"] = dumps(shared)
    upper = consortium_document(members())
    upper["member"][1]["public_key"] = upper["member"][1]["public_key"].upper()
    suite.files["anchors/consortium-upper-case-key.json"] = dumps(upper)
    no_id = consortium_document(members())
    del no_id["consortium_id"]
    suite.files["anchors/consortium-no-id.json"] = dumps(no_id)
    suite.files["anchors/consortium-not-json.json"] = b'{"consortium_id": "example-consortium",}\n'
    suite.files["anchors/consortium-not-utf8.json"] = dumps(doc).replace(b"Example Platform A", b"Example \xff", 1)
    suite.files["anchors/consortium-byte-order-mark.json"] = b"\xef\xbb\xbf" + dumps(doc)
    empty = consortium_document(members())
    member_c = next(m for m in empty["member"] if m["id"] == "member-c")
    del member_c["public_key"]
    member_c["public_keys"] = []
    suite.files["anchors/consortium-public-keys-empty.json"] = dumps(empty)
    suite.files["anchors/consortium-window-both-ways.json"] = dumps({"decision_window_hours": 1, **doc})
    _roster_anchors(suite)


def _roster_anchors(suite: Suite) -> None:
    """Signed-roster files that break the file format, the roster bytes' rules, or a rule of the chain."""
    files = suite.files

    def put(name: str, document_: dict[str, Any] | bytes) -> None:
        files[f"anchors/{name}.json"] = document_ if isinstance(document_, bytes) else dumps(document_)

    v1 = json.loads(roster(1).to_json())
    put("roster-v1-id-of-another-roster", {**v1, "roster_id": roster(2).roster_id.hex()})
    put("roster-v1-unknown-field", {**v1, "comment": "a wrapper is read as strictly as a bundle file"})
    put("roster-v1-signature-of-63-bytes", {**v1, "signatures": [
        {**v1["signatures"][0], "signature": v1["signatures"][0]["signature"][:126]}, v1["signatures"][1]]})
    put("roster-v1-upper-case-key-id", {**v1, "signatures": [
        {**v1["signatures"][0], "key_id": v1["signatures"][0]["key_id"].upper()}, v1["signatures"][1]]})
    put("roster-v1-duplicate-name", dumps(v1).replace(
        b'"format": "hashnode.signed-roster.v1",',
        b'"format": "hashnode.signed-roster.v1",\n  "format": "hashnode.signed-roster.v1",', 1))
    good = roster(1).roster_bytes
    no_port = good.replace(B_ENDPOINTS[0].encode(), B_ENDPOINTS[0].replace(":", "-").encode())
    put("roster-v1-endpoint-without-a-port", roster_file(no_port, ROSTER_STEWARDS[:2]))
    assert good.count(C.public.raw) == 1
    shared = good.replace(C.public.raw, D.public.raw)
    put("roster-v1-two-members-share-a-key", roster_file(shared, ROSTER_STEWARDS[:2]))
    put("roster-v1-other-expiry", json.loads(roster(1, expires_ms=ROSTER_EXPIRES - 1).to_json()))

    def v2_with(**changes: RosterMember | None) -> dict[str, Any]:
        """Version 2 with members replaced (None: removed), signed by a threshold of both steward sets."""
        by_id = {m.member_id: m for m in roster_members()}
        for member_id, member in changes.items():
            if member is None:
                by_id.pop(member_id.replace("_", "-"))
            else:
                by_id[member.member_id] = member
        document_: dict[str, Any] = json.loads(roster(2, member_list=list(by_id.values())).to_json())
        return document_

    x = next(m for m in roster_members() if m.member_id == "member-x")
    b = next(m for m in roster_members() if m.member_id == "member-b")
    put("roster-v2-member-removed", v2_with(member_e=None))
    put("roster-v2-cutoff-moved", v2_with(member_x=replace(x, revoked_after_ms=x.revoked_after_ms + HOUR)))
    put("roster-v2-revocation-undone", v2_with(member_x=replace(
        x, status=MemberStatus.ACTIVE, revoked_after_ms=0, status_version=2)))
    put("roster-v2-status-changed-same-status-version", v2_with(member_b=replace(b, status=MemberStatus.SUSPENDED)))
    put("roster-v2-status-version-bumped-without-a-change", v2_with(member_b=replace(b, status_version=2)))
    newcomer = RosterMember("member-n", "Example Newcomer", (MemberKey(key("member-n").public),), status_version=1)
    put("roster-v2-new-member-with-an-old-status-version", v2_with(member_n=newcomer))
    put("roster-v2-another-consortium", json.loads(roster(2, consortium_id="other").to_json()))
    both = [*ROSTER_STEWARDS[:2], *NEW_ROSTER_STEWARDS[:2]]
    for name, signers in (("roster-v2-new-stewards", both),
                          ("roster-v2-new-stewards-signed-by-them-alone", NEW_ROSTER_STEWARDS[:2]),
                          ("roster-v2-new-stewards-signed-by-the-old-alone", ROSTER_STEWARDS[:2])):
        put(name, json.loads(roster(2, stewards=NEW_ROSTER_STEWARDS, signed_by=signers).to_json()))


def _genuine(suite: Suite) -> None:
    w, n = suite.w, suite.w.named
    suite.ok("no-history", bundle(w, n["e1"], 0, []), "active")
    suite.ok("retracted-by-its-contributor", bundle(w, n["a1"], 0, [n["b3"], n["a5"]]), "retracted",
             note="also a false-positive opinion, which changes nothing offline")
    suite.ok("overturned-by-the-contributor", bundle(w, n["a1"], 1, [n["b1"], n["a2"], n["b3"]]), "overturned",
             {n["a2"].entry_id.hex(): "effective"})
    suite.ok("upheld-steward-too-early-then-superseded", bundle(w, n["a1"], 2, [n["b2"], n["s1"], n["a3"], n["s2"]]),
             "active", {n["s1"].entry_id.hex(): "refused decision.too_early", n["a3"].entry_id.hex(): "effective",
                        n["s2"].entry_id.hex(): "superseded"})
    suite.ok("overturned-by-a-steward-after-the-window", bundle(w, n["a4"], 0, [n["b4"], n["s3"]]), "overturned",
             {n["s3"].entry_id.hex(): "effective"}, note="video_md5 with non-ASCII reference and source")
    suite.ok("retraction-by-another-member-and-an-orphan-decision", bundle(w, n["a6"], 0, [n["b5"], n["a7"]]),
             "active", {n["a7"].entry_id.hex(): "pending decision.no_case"},
             note="signed by member-a's rotated key in the overlap")
    suite.ok("revoked-member-before-its-cutoff", bundle(w, n["x1"], 0, []), "active")
    suite.ok("related-in-any-order", bundle(w, n["a1"], 2, [n["s2"], n["a3"], n["s1"], n["b2"]]), "active",
             {n["s1"].entry_id.hex(): "refused decision.too_early", n["a3"].entry_id.hex(): "effective",
              n["s2"].entry_id.hex(): "superseded"})
    for where in ("no-anchor", "roster-anchor", "roster-chain", "roster-pinned-later-version"):
        anchor: dict[str, Any] | None = {
            "no-anchor": None,
            "roster-anchor": {"roster": ["anchors/roster-v1.json"], "roster_id": None},
            "roster-chain": {"roster": ["anchors/roster-v1.json", "anchors/roster-v2.json"], "roster_id": None},
            "roster-pinned-later-version": {"roster": ["anchors/roster-v2.json"],
                                            "roster_id": roster(2).roster_id.hex()},
        }[where]
        suite.ok(f"overturned-{where}", bundle(w, n["a1"], 1, [n["b1"], n["a2"], n["b3"]]), "overturned",
                 {n["a2"].entry_id.hex(): "effective"}, anchor=anchor)
    bare = bundle(w, n["a1"], 1, [n["b1"], n["a2"], n["b3"]], author=None)
    bare = replace(bare, assembler=None, related=tuple(replace(r, author=None) for r in bare.related))
    suite.ok("no-member-entries-with-an-anchor", bare, "overturned", {n["a2"].entry_id.hex(): "effective"},
             note="with an anchor the member entries are not consulted: a bundle may carry none")
    convenient = bundle(w, n["a1"], 1, [n["b1"], n["a2"]])

    def conveniences(doc: dict[str, Any]) -> None:
        doc["related"][0]["kind"] = "decision"
        doc["related"][1]["summary"] = "upheld by the contributor"
        doc["stewards"] = [{"member_id": "member-b", "roles": ["steward"]}]
        doc["decision_window_ms"] = "1"
        doc["generated_by"] = "member-b"
        doc["author"]["keys"][0]["key_id"] = "00" * 32
        doc["author"]["status"] = "suspended"
        doc["author"]["roles"] = ["contributor", "contributor", "observer"]  # claims: repeats are not refused
        doc["record"] = {"record_id": "11" * 32, "record": {"signal_type": "md5", "labels": ["tvec.manifesto"]},
                         "author": "member-b", "status": "RECORD_STATUS_ACTIVE"}

    suite.ok("convenience-fields-changed", suite.edited(convenient, conveniences), "overturned",
             {n["a2"].entry_id.hex(): "effective"}, note="record view, kinds, summaries, key ids, stewards, window")


ROSTER_V1 = {"roster": ["anchors/roster-v1.json"], "roster_id": None}


def _decision_cases(suite: Suite) -> None:
    """§9.7, one rule per case: where stewards and window come from, and each reason a decision is refused."""
    w, n = suite.w, suite.w.named
    d1 = n["d1"]

    def ids(*names: str, ruling: str) -> dict[str, str]:
        return {n[name].entry_id.hex(): ruling for name in names}

    # The assembler states other stewards (member-b) and a 72 h window: the anchor's (steward-1, 1 h) count.
    claimed = bundle(w, d1, 0, [n["b6"], n["s4"]], stewards=("member-b",),
                     policy=ConsortiumPolicy(decision_window_ms=72 * HOUR))
    suite.ok("stewards-and-window-from-the-consortium-anchor-not-the-assembly", claimed, "overturned",
             ids("s4", ruling="effective"),
             note="the assembly states stewards [member-b] and a 72 h window; the anchor steward-1 and 1 h")
    suite.ok("stewards-and-window-from-the-roster-anchor-not-the-assembly", claimed, "overturned",
             ids("s4", ruling="effective"), anchor=ROSTER_V1,
             note="the roster's due-process policy (extension 1) says 1 h, not the default 72 h")
    suite.ok("without-an-anchor-stewards-and-window-from-the-assembly", claimed, "active",
             ids("s4", ruling="refused decision.not_steward"), anchor=None,
             note="the same bundle: without an anchor the signed statement's stewards [member-b] and 72 h count")
    suite.ok("decided-before-the-appeal-is-refused", bundle(w, d1, 1, [n["b7"], n["d2"]]), "active",
             ids("d2", ruling="refused decision.before_appeal"),
             note="the contributor's decision is timestamped 15 minutes before the appeal")
    suite.ok("contributor-decision-by-another-member-is-refused", bundle(w, d1, 2, [n["b8"], n["c1"]]), "active",
             ids("c1", ruling="refused decision.not_contributor"),
             note="member-c decides as the contributor of member-d's record")
    suite.ok("steward-decision-by-a-non-steward-is-refused", bundle(w, d1, 3, [n["b9"], n["c2"]]), "active",
             ids("c2", ruling="refused decision.not_steward"), note="member-c decides as a steward after the window")
    first, second = sorted((n["d7"], n["s5"]), key=lambda e: e.entry_id)
    tied = bundle(w, d1, 4, [n["b10"], second, first])
    suite.ok("equal-timestamps-the-lower-entry-id-is-effective", tied,
             "active" if first is n["d7"] else "overturned",
             {first.entry_id.hex(): "effective", second.entry_id.hex(): "superseded"},
             note="two valid decisions at 11.5 h; the bundle carries the higher entry id first")
    suite.ok("a-suspended-steward-decides", bundle(w, d1, 5, [n["b11"], n["t1"]]), "overturned",
             ids("t1", ruling="effective"), note="steward-2 is suspended: its role makes it a steward all the same")
    suite.ok("retracted-after-a-decision-rulings-still-derived", bundle(w, d1, 6, [n["b12"], n["d3"], n["d4"]]),
             "retracted", ids("d3", ruling="effective"), note="every decision entry has a ruling, whatever the status")
    suite.ok("ruling-of-a-decision-entry-is-its-first-items", bundle(w, d1, 7, [n["b13"], n["d5"]]), "overturned",
             ids("d5", ruling="pending decision.no_case"),
             note="d5's first item names an appeal nobody holds (pending); its second decides b13 (effective)")
    suite.ok("decision-naming-an-opinion-is-pending", bundle(w, d1, 8, [n["b14"], n["d6"]]), "active",
             ids("d6", ruling="pending decision.no_case"),
             note="the entry it names is in the bundle, but it is no appeal")


def _boundary_cases(suite: Suite) -> None:
    """Each bound counts its end: a key valid until t signs at t, a cutoff t allows t, a roster expiring at T
    is used at T."""
    w, n = suite.w, suite.w.named
    at_cutoff = raw_entry(X, "member-x", 2, n["x1"].entry_id, T0 + 5 * HOUR, EntryKind.CONTRIBUTION,
                          [rec("md5", "5a" * 16)])
    suite.ok("signed-exactly-at-the-revocation-cutoff", bundle(w, at_cutoff, 0, [], heads=_with_head(w, at_cutoff)),
             "active", note="member-x's cutoff is 5 h: an entry signed at 5 h is before nothing")
    at_end = raw_entry(E, "member-e", 2, n["e1"].entry_id, T0 + 2 * HOUR, EntryKind.CONTRIBUTION,
                       [rec("md5", "5b" * 16)])
    suite.ok("signed-exactly-at-the-end-of-the-key-window", bundle(w, at_end, 0, [], heads=_with_head(w, at_end)),
             "active", note="member-e's key is valid until 2 h, inclusive")
    at_start = raw_entry(A2, "member-a", 1, ZERO_ID, T0 + 9 * HOUR, EntryKind.CONTRIBUTION, [rec("md5", "5c" * 16)])
    suite.ok("signed-exactly-at-the-start-of-the-key-window", bundle(w, at_start, 0, []), "active",
             note="member-a's rotated key is valid from 9 h, inclusive")
    suite.ok("roster-used-exactly-at-its-expiry", bundle(w, n["e1"], 0, []), "active", anchor=ROSTER_V1,
             time_ms=ROSTER_EXPIRES, note="expires_ms = T: still valid")


def _file_rules(suite: Suite) -> None:
    w, n = suite.w, suite.w.named
    g = bundle(w, n["a1"], 1, [n["b1"], n["a2"]])
    text = file_text(g).encode("utf-8")
    suite.bad("file.utf8", "byte-order-mark", b"\xef\xbb\xbf" + text)
    suite.bad("file.utf8", "invalid-byte", text.replace(b'"member-c"', b'"member-\xff"', 1))
    suite.bad("file.json", "trailing-comma", text.rstrip().rstrip(b"}").rstrip() + b",\n}\n")
    suite.bad("file.json", "duplicate-name", text.replace(b'"format_version": 1,',
                                                          b'"format_version": 1,\n  "format_version": 1,', 1))
    suite.bad("file.json", "minus-zero", text.replace(b'"leaf_index": 1', b'"leaf_index": -0', 1))
    suite.bad("file.json", "lone-surrogate", text.replace(b'"generated_by": "member-c"',
                                                          b'"generated_by": "\\ud800"', 1))
    suite.bad("file.json", "nested-too-deep", b'{"x": ' + b"[" * 40 + b"]" * 40 + b"}")

    def nested(levels: int) -> Callable[[dict[str, Any]], None]:
        """A member `x` of the top-level object (depth 1) holding arrays nested to depth `levels` in all, the
        innermost holding a number (which does not count as a level)."""
        def edit(d: dict[str, Any]) -> None:
            value: list[Any] = [7]
            for _ in range(levels - 2):
                value = [value]
            d["x"] = value
        return edit

    suite.bad("file.json", "nested-33-levels", suite.edited(g, nested(33)),
              note="the top-level object is depth 1; a value at depth 33 is refused")
    suite.bad("file.field_unknown", "nested-32-levels", suite.edited(g, nested(32)),
              note="depth 32 is strict JSON: the unknown member x is what is refused")
    suite.bad("file.json", "minus-zero-with-a-fraction", text.replace(b'"leaf_index": 1', b'"leaf_index": -0.0', 1),
              note="a negative zero in any spelling: -0, -0.0, -0e5")
    suite.bad("file.json", "not-a-number", text.replace(b'"leaf_count": 3', b'"leaf_count": NaN', 1))
    suite.bad("file.json", "duplicate-name-after-unescaping", text.replace(
        b'"format_version": 1,', b'"format_version": 1,\n  "format_versio\\u006e": 1,', 1),
        note="member names are compared after unescaping")
    suite.bad("file.json", "not-an-object", b"[]\n")
    suite.bad("file.field_unknown", "camel-case-name", suite.edited(g, lambda d: d.update(
        recordId=d["record_id"])), note="names are the proto names; recordId is not record_id")
    suite.bad("file.field_unknown", "inside-a-related-entry", suite.edited(
        g, lambda d: d["related"][0]["entry"].update(comment="x")))
    suite.bad("file.field_missing", "entry-header", suite.edited(g, lambda d: d.pop("entry_header")))
    suite.bad("file.field_missing", "assembly", suite.edited(g, lambda d: d.pop("assembly")))
    suite.bad("file.field_missing", "related-entry-items", suite.edited(
        g, lambda d: d["related"][0]["entry"].pop("items")))
    suite.bad("file.field_invalid", "upper-case-record-id", suite.edited(
        g, lambda d: d.update(record_id=d["record_id"].upper())), note="ids are lowercase hex")
    suite.bad("file.field_invalid", "u64-as-a-number", suite.edited(
        g, lambda d: d.update(generated_at_ms=int(d["generated_at_ms"]))))
    suite.bad("file.field_invalid", "u32-as-a-string", suite.edited(g, lambda d: d.update(leaf_count="3")))
    suite.bad("file.field_invalid", "u32-with-a-fraction", text.replace(b'"leaf_count": 3', b'"leaf_count": 3.0', 1))
    suite.bad("file.field_invalid", "null-value", suite.edited(g, lambda d: d.update(stewards=None)))
    doc = document(g)
    url_field = next(k for k in ("entry_header", "entry_signature", "record_item", "assembly", "assembly_signature")
                     if "+" in doc[k] or "/" in doc[k])
    suite.bad("file.field_invalid", "base64-url-alphabet", suite.edited(
        g, lambda d: d.update({url_field: d[url_field].replace("+", "-").replace("/", "_")})))
    padded = next(k for k in ("entry_signature", "record_item", "entry_header", "assembly") if doc[k].endswith("="))
    suite.bad("file.field_invalid", "base64-without-padding", suite.edited(
        g, lambda d: d.update({padded: d[padded].rstrip("=")})))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    text64 = b64(g.entry_signature)  # 64 bytes: the last group is one byte, two characters and "=="
    last = alphabet[alphabet.index(text64[-3]) ^ 1]  # flips one of the 4 unused bits: same bytes, other text
    suite.bad("file.field_invalid", "base64-not-canonical", suite.edited(
        g, lambda d: d.update(entry_signature=text64[:-3] + last + "==")), note="unused bits of the last character set")
    suite.bad("file.field_invalid", "member-key-of-31-bytes", suite.edited(
        g, lambda d: d["author"]["keys"][0].update(public_key=b64(A1.public.raw[:31]))))
    suite.bad("file.field_invalid", "unknown-role", suite.edited(g, lambda d: d["author"].update(roles=["admin"])))

    def key_twice(d: dict[str, Any]) -> None:
        first = d["author"]["keys"][0]
        d["author"]["keys"].append({**first, "valid_from_ms": "1", "valid_until_ms": "2"})

    suite.bad("file.field_invalid", "member-entry-lists-a-key-twice", suite.edited(g, key_twice),
              note="one public key with two windows: refused, as in consortium files and rosters")
    suite.bad("file.format_version", "version-2", suite.edited(g, lambda d: d.update(format_version=2)))


def _anchor_rules(suite: Suite) -> None:
    w, n = suite.w, suite.w.named
    g = file_text(bundle(w, n["e1"], 0, [])).encode("utf-8")
    roster_anchor = {"roster": ["anchors/roster-v1.json"], "roster_id": None}
    suite.bad("anchor.roster_malformed", "truncated-roster-bytes", g,
              anchor={"roster": ["anchors/roster-v1-truncated.json"], "roster_id": None})
    suite.bad("anchor.roster_root", "version-2-without-a-pin", g,
              anchor={"roster": ["anchors/roster-v2.json"], "roster_id": None})
    suite.bad("anchor.roster_root", "pin-of-another-roster", g,
              anchor={"roster": ["anchors/roster-v1.json"], "roster_id": roster(2).roster_id.hex()})
    suite.bad("anchor.roster_threshold", "one-signature-of-two", g,
              anchor={"roster": ["anchors/roster-v1-one-signature.json"], "roster_id": None})
    suite.bad("anchor.roster_chain", "a-version-skipped", g,
              anchor={"roster": ["anchors/roster-v1.json", "anchors/roster-v3.json"], "roster_id": None})
    suite.bad("anchor.roster_expired", "expired-at-the-verification-time", g,
              anchor={"roster": ["anchors/roster-v1-expires-early.json"], "roster_id": None})
    suite.bad("anchor.roster_expired", "verified-after-expiry", g, anchor=roster_anchor,
              time_ms=ROSTER_EXPIRES + 1)
    for name, file, rule in (
        ("member-listed-twice", "consortium-member-twice", "consortium.member_duplicate"),
        ("typo-in-a-field-name", "consortium-unknown-field", "consortium.field_unknown"),
        ("one-key-for-two-members", "consortium-key-twice", "consortium.key_duplicate"),
        ("upper-case-key", "consortium-upper-case-key", "consortium.field_invalid"),
        ("no-consortium-id", "consortium-no-id", "consortium.field_missing"),
        ("trailing-comma", "consortium-not-json", "consortium.syntax"),
        ("invalid-utf8", "consortium-not-utf8", "consortium.utf8"),
        ("byte-order-mark", "consortium-byte-order-mark", "consortium.utf8"),
        ("public-keys-empty", "consortium-public-keys-empty", "consortium.field_invalid"),
        ("window-given-both-ways", "consortium-window-both-ways", "consortium.field_invalid"),
    ):
        suite.bad(rule, name, g, anchor={"consortium": f"anchors/{file}.json"})
    suite.bad("consortium.syntax", "reported-before-the-bundle-file", b"not a bundle file\n",
              anchor={"consortium": "anchors/consortium-not-json.json"},
              note="the anchor is established before the bundle file is read (section 9, step 1)")

    def chain(*files: str, pin: str | None = None) -> dict[str, Any]:
        return {"roster": [f"anchors/{f}.json" for f in files], "roster_id": pin}

    for rule, name, files in (
        ("anchor.roster_malformed", "roster-id-of-another-roster", ["roster-v1-id-of-another-roster"]),
        ("anchor.roster_malformed", "unknown-field-in-the-file", ["roster-v1-unknown-field"]),
        ("anchor.roster_malformed", "signature-of-63-bytes", ["roster-v1-signature-of-63-bytes"]),
        ("anchor.roster_malformed", "upper-case-key-id", ["roster-v1-upper-case-key-id"]),
        ("anchor.roster_malformed", "duplicate-name-in-the-file", ["roster-v1-duplicate-name"]),
        ("anchor.roster_malformed", "endpoint-without-a-port", ["roster-v1-endpoint-without-a-port"]),
        ("anchor.roster_malformed", "two-members-share-a-key", ["roster-v1-two-members-share-a-key"]),
        ("anchor.roster_malformed", "a-later-file-malformed", ["roster-v1", "roster-v1-unknown-field"]),
        ("anchor.roster_chain", "member-removed", ["roster-v1", "roster-v2-member-removed"]),
        ("anchor.roster_chain", "revocation-cutoff-moved", ["roster-v1", "roster-v2-cutoff-moved"]),
        ("anchor.roster_chain", "revocation-undone", ["roster-v1", "roster-v2-revocation-undone"]),
        ("anchor.roster_chain", "status-changed-without-a-new-status-version",
         ["roster-v1", "roster-v2-status-changed-same-status-version"]),
        ("anchor.roster_chain", "status-version-bumped-without-a-change",
         ["roster-v1", "roster-v2-status-version-bumped-without-a-change"]),
        ("anchor.roster_chain", "new-member-with-an-old-status-version",
         ["roster-v1", "roster-v2-new-member-with-an-old-status-version"]),
        ("anchor.roster_chain", "another-consortium", ["roster-v1", "roster-v2-another-consortium"]),
        ("anchor.roster_chain", "rollback", ["roster-v1", "roster-v2", "roster-v1"]),
        ("anchor.roster_chain", "same-version-other-bytes", ["roster-v1", "roster-v1-other-expiry"]),
        ("anchor.roster_threshold", "later-version-not-signed-by-the-previous-stewards",
         ["roster-v1", "roster-v2-new-stewards-signed-by-them-alone"]),
        ("anchor.roster_threshold", "later-version-not-signed-by-its-own-stewards",
         ["roster-v1", "roster-v2-new-stewards-signed-by-the-old-alone"]),
    ):
        suite.bad(rule, name, g, anchor=chain(*files))
    suite.ok("roster-chain-repeats-a-version", g, "active", anchor=chain("roster-v1", "roster-v1", "roster-v2"),
             note="the same version with the same bytes again changes nothing")
    suite.ok("roster-stewards-replaced", g, "active", anchor=chain("roster-v1", "roster-v2-new-stewards"),
             note="version 2 has new stewards: signed by 2 of the old and 2 of the new")
    suite.ok("roster-pinned-in-upper-case", g, "active",
             anchor=chain("roster-v2", pin=roster(2).roster_id.hex().upper()),
             note="a pin is 64 hex digits in either case")


def _record_rules(suite: Suite) -> None:
    w, n = suite.w, suite.w.named
    a1 = n["a1"]
    g = bundle(w, a1, 1, [n["b1"], n["a2"]])
    suite.bad("record.header", "trailing-byte", bundle(w, a1, 1, [n["b1"], n["a2"]],
                                                       entry_header=a1.header_bytes + b"\x00"))
    suite.bad("record.header", "wrong-domain-tag", bundle(w, a1, 1, [n["b1"], n["a2"]],
                                                          entry_header=b"X" + a1.header_bytes[1:]))
    items = list(a1.items)
    as_retraction = raw_entry(A1, "member-a", 1, ZERO_ID, T0, EntryKind.RETRACTION, items)
    suite.bad("record.kind", "a-retraction-entry", bundle(w, as_retraction, 1, []),
              note="a signed entry of kind 2 whose items are hash records")
    foreign = raw_entry(A1, "member-a", 1, ZERO_ID, T0, EntryKind.CONTRIBUTION, items, consortium_id="other")
    suite.bad("record.consortium", "another-consortium", bundle(w, foreign, 1, []))
    suite.bad("record.consortium", "consistent-but-not-the-anchors", bundle(w, foreign, 1, [], consortium_id="other"),
              note="header, bundle and assembly say 'other'; the anchor's consortium decides")
    suite.bad("record.signature", "flipped-bit", replace(g, entry_signature=flip(g.entry_signature, 10)))
    suite.bad("record.signature", "63-bytes", replace(g, entry_signature=g.entry_signature[:63]),
              note="a signature of another length is well-formed base64 that does not verify")
    one = [rec("md5", "6f" * 16)]
    for name, shaped in (
        ("seq-0", raw_entry(A1, "member-a", 0, ZERO_ID, T0, EntryKind.CONTRIBUTION, one)),
        ("prev-not-zero-at-seq-1", raw_entry(A1, "member-a", 1, a1.entry_id, T0, EntryKind.CONTRIBUTION, one)),
        ("prev-zero-at-seq-2", raw_entry(A1, "member-a", 2, ZERO_ID, T0, EntryKind.CONTRIBUTION, one)),
    ):
        suite.bad("record.shape", name, bundle(w, shaped, 0, [], heads=_with_head(w, shaped)))
    empty = raw_entry(A1, "member-a", 1, ZERO_ID, T0, EntryKind.CONTRIBUTION, one, item_count=0)
    suite.bad("record.shape", "item-count-0", suite.edited(bundle(w, empty, 0, [], leaf_count=0),
                                                         lambda d: d.update(leaf_count=0)),
              note="the header signs 0 items; leaf_count says so too (written out: it is a required field)")
    largest = VpdqFeatures.create([VpdqFrame(bytes(32), 90, i, i * 1000) for i in range(MAX_FRAMES)], 1000)
    long_item = HashRecord("vpdq", largest.encode(), 100, ("tvec.propaganda",), reference="r" * 20_000).encode()
    big = raw_entry(A1, "member-a", 1, ZERO_ID, T0, EntryKind.CONTRIBUTION, [long_item])
    suite.bad("record.shape", "record-item-over-262144-bytes", bundle(w, big, 0, []),
              note="a canonical vpdq record of 6000 frames with a long reference: longer than any item a node holds")
    suite.bad("record.leaf_count", "one-more", bundle(w, a1, 1, [n["b1"], n["a2"]], leaf_count=4))
    suite.bad("record.proof", "flipped-sibling", bundle(w, a1, 1, [n["b1"], n["a2"]], inclusion_proof=(
        flip(g.inclusion_proof[0], 0), *g.inclusion_proof[1:])))
    suite.bad("record.proof", "record-bytes-changed", bundle(w, a1, 1, [n["b1"], n["a2"]],
                                                              record_item=flip(a1.items[1], 20)))
    suite.bad("record.proof", "proof-too-short", bundle(w, a1, 1, [n["b1"], n["a2"]],
                                                         inclusion_proof=g.inclusion_proof[:1]))
    other = rid(a1, 2)
    suite.bad("record.id", "id-of-another-leaf", bundle(w, a1, 1, [], record_id=other),
              note="the assembly names that id too, so only the derivation fails")
    for name, item in (
        ("upper-case-signal-type", rec("pdq", "00" * 32, quality=90).replace(b"\x00\x03pdq", b"\x00\x03PDQ", 1)),
        ("unknown-signal-type", rec("tlsh", "00" * 35)),
        ("value-of-the-wrong-size", rec("md5", "00" * 20)),
        ("labels-not-sorted", HashRecord("md5", bytes(16), 0, ("tvec.manifesto", "tvec.glorification")).encode()),
        ("trailing-byte", rec("md5", "00" * 16) + b"\x00"),
        ("md5-record-over-4096-bytes", rec("md5", "70" * 16, reference="r" * 4100)),
        *_bad_videos(),
    ):
        odd = raw_entry(A1, "member-a", 1, ZERO_ID, T0, EntryKind.CONTRIBUTION, [item])
        suite.bad("record.item", name, bundle(w, odd, 0, [], heads=_with_head(w, odd)))


def _video(*frames: tuple[int, int, int], interval_ms: int = 1000) -> VpdqFeatures:
    """Features of frames given as (quality, frame_number, timestamp_ms), each with its own PDQ hash."""
    return VpdqFeatures.create(
        [VpdqFrame(hashlib.sha256(b"frame %d" % n).digest(), q, n, t) for q, n, t in frames], interval_ms
    )


def _video_record(features: VpdqFeatures, quality: int | None = None) -> bytes:
    derived = features.record_quality if quality is None else quality
    return HashRecord("vpdq", features.encode(), derived, ("tvec.attack_livestream",)).encode()


def _bad_videos() -> list[tuple[str, bytes]]:
    """vpdq records that break the features' canonical rules or the derived quality (docs/protocol.md)."""
    good = _video((90, 0, 0), (40, 25, 1000)).encode()
    swapped = good[:9] + good[9 + 41 :] + good[9 : 9 + 41]  # the two frames in the wrong order

    def raw(value: bytes, quality: int) -> bytes:
        return HashRecord("vpdq", value, quality, ("tvec.propaganda",)).encode()

    over_100 = bytearray(good)
    over_100[9 + 32] = 101
    return [
        ("vpdq-frames-out-of-order", raw(swapped, 50)),
        ("vpdq-timestamps-going-back", raw(_video((90, 0, 1000), (90, 1, 2000)).encode()[:-4] + bytes(4), 100)),
        ("vpdq-quality-of-a-frame-over-100", raw(bytes(over_100), 50)),
        ("vpdq-quality-not-the-derived-one", raw(good, 100)),
        ("vpdq-features-truncated", raw(good[:-1], 50)),
        ("vpdq-no-frames", raw(good[:5] + bytes(4), 0)),
        ("vpdq-unknown-features-version", raw(b"\x02" + good[1:], 50)),
        ("vpdq-hex-value-instead-of-features", rec("vpdq", "f8" * 32, quality=90)),
    ]


def _video_cases(suite: Suite) -> None:
    """vpdq records (issue 13): a video's frame features in a contribution item, verified like any record."""
    w = suite.w
    video = _video((100, 0, 0), (30, 25, 1000), (80, 50, 2000), (80, 75, 3000), interval_ms=1000)
    entry = raw_entry(X, "member-x", 2, w.named["x1"].entry_id, T0 + 3 * HOUR, EntryKind.CONTRIBUTION,
                      [rec("md5", "5d" * 16), _video_record(video)])  # fmt: skip
    suite.ok("vpdq-video-record", bundle(w, entry, 1, [], heads=_with_head(w, entry)), "active",
             note="a vpdq record of 4 frames, one below the quality floor: quality 75")


def _video_limits(suite: Suite) -> None:
    """The edges of vpdq features a reader decides on (docs/protocol.md, "vPDQ features"): 6000 frames and not 6001,
    equal timestamps (frame numbers ascend strictly, times only do not go back), and a record no frame of which
    can match (quality 0), which a node would not create but a reader accepts."""
    w = suite.w

    def one(item: bytes) -> tuple[Entry, list[Head]]:
        entry = raw_entry(A1, "member-a", 1, ZERO_ID, T0, EntryKind.CONTRIBUTION, [item])
        return entry, _with_head(w, entry)

    frames = [(90, i, i * 1000) for i in range(MAX_FRAMES)]
    entry, heads = one(_video_record(_video(*frames)))
    suite.ok("vpdq-6000-frames", bundle(w, entry, 0, [], heads=heads), "active",
             note="the most frames a feature list holds")
    canonical = _video(*frames).encode()  # 6000 frames, then one more frame and the count made 6001
    extra = hashlib.sha256(b"frame %d" % MAX_FRAMES).digest() + bytes([90]) + struct.pack(">II", MAX_FRAMES, 6_000_000)
    over = canonical[:5] + (MAX_FRAMES + 1).to_bytes(4, "big") + canonical[9:] + extra
    entry, heads = one(HashRecord("vpdq", over, 100, ("tvec.attack_livestream",)).encode())
    suite.bad("record.item", "vpdq-6001-frames", bundle(w, entry, 0, [], heads=heads),
              note="one frame over the limit, otherwise canonical (246050 bytes of features, under the item limit)")
    entry, heads = one(_video_record(_video((90, 0, 0), (90, 1, 0), (90, 2, 1000))))
    suite.ok("vpdq-equal-timestamps", bundle(w, entry, 0, [], heads=heads), "active",
             note="frames 0 and 1 share timestamp 0: timestamps may repeat, frame numbers may not")
    entry, heads = one(_video_record(_video((40, 0, 0), (10, 30, 1000))))
    suite.ok("vpdq-no-matchable-frame", bundle(w, entry, 0, [], heads=heads), "active",
             note="no frame reaches quality 50: quality 0; a node refuses to create it, a reader accepts it")


def _with_head(w: World, *entries: Entry) -> list[Head]:
    """The world's frontier, with each author of `entries` at least as far as them."""
    heads = {h.author: h for h in w.heads()}
    for entry in entries:
        current = heads.get(entry.header.author)
        if current is None or current.seq <= entry.header.seq:
            heads[entry.header.author] = Head(entry.header.author, entry.header.seq, entry.entry_id)
    return list(heads.values())


def _key_rules(suite: Suite) -> None:
    w, n = suite.w, suite.w.named
    x2 = raw_entry(X, "member-x", 2, n["x1"].entry_id, T0 + 6 * HOUR, EntryKind.CONTRIBUTION,
                   [rec("md5", "22" * 16)])
    suite.bad("key.revoked", "contribution-after-the-cutoff", bundle(w, x2, 0, [], heads=_with_head(w, x2)))
    e2 = raw_entry(E, "member-e", 2, n["e1"].entry_id, T0 + 3 * HOUR, EntryKind.CONTRIBUTION, [rec("md5", "33" * 16)])
    suite.bad("key.not_valid", "expired-key", bundle(w, e2, 0, [], heads=_with_head(w, e2)))
    suite.bad("key.not_valid", "without-an-anchor-the-member-entrys-window",
              bundle(w, e2, 0, [], heads=_with_head(w, e2)), anchor=None,
              note="without an anchor the member entry's key windows count")
    suite.bad("key.revoked", "without-an-anchor-the-member-entrys-cutoff",
              bundle(w, x2, 0, [], heads=_with_head(w, x2)), anchor=None,
              note="without an anchor the member entry's revoked_after_ms counts")
    a_last = w.logs["member-a"].entries[-1]
    old = raw_entry(A1, "member-a", a_last.header.seq + 1, a_last.entry_id, T0 + 11 * HOUR,
                    EntryKind.CONTRIBUTION, [rec("md5", "44" * 16)])
    suite.bad("key.not_valid", "rotated-key-after-the-overlap", bundle(w, old, 0, [], heads=_with_head(w, old)))
    early = raw_entry(A2, "member-a", 1, ZERO_ID, T0 + 8 * HOUR, EntryKind.CONTRIBUTION, [rec("md5", "55" * 16)])
    suite.bad("key.not_valid", "new-key-before-its-window", bundle(w, early, 0, []))
    forged = raw_entry(STRANGER, "member-a", 1, ZERO_ID, T0, EntryKind.CONTRIBUTION, [rec("md5", "66" * 16)])
    suite.bad("key.unknown", "a-stranger-signs-as-member-a", bundle(w, forged, 0, []))
    ghost = raw_entry(STRANGER, "member-z", 1, ZERO_ID, T0, EntryKind.CONTRIBUTION, [rec("md5", "77" * 16)])
    suite.bad("key.member", "author-not-in-the-anchor", bundle(w, ghost, 0, [], heads=_with_head(w, ghost)))
    suite.bad("key.member", "no-member-entry-without-an-anchor", bundle(w, n["e1"], 0, [], author=None), anchor=None)
    wrong_entry = replace(MEMBERS["member-b"])
    suite.bad("key.member", "member-entry-of-someone-else-without-an-anchor",
              bundle(w, n["e1"], 0, [], author=wrong_entry), anchor=None)
    stale_b = raw_entry(E, "member-e", 3, hashlib.sha256(b"x").digest(), T0 + 3 * HOUR, EntryKind.OPINION,
                        [OpinionItem(rid(n["a1"], 1), Stance.DISAGREE, "", "").encode()])
    suite.bad("key.not_valid", "related-entry-by-an-expired-key",
              bundle(w, n["a1"], 1, [n["b1"], n["a2"], stale_b], heads=_with_head(w, stale_b)))
    late = bundle(w, n["e1"], 0, [], assembler=E, assembler_id="member-e")
    suite.bad("key.not_valid", "assembled-with-an-expired-key", late)
    steward_hash = raw_entry(S, "steward-1", 9, hashlib.sha256(b"s").digest(), T0 + HOUR, EntryKind.CONTRIBUTION,
                             [rec("md5", "88" * 16)])
    suite.bad("key.role", "a-steward-contributes", bundle(w, steward_hash, 0, [], heads=_with_head(w, steward_hash)))
    watched = raw_entry(OBSERVER, "observer-o", 1, ZERO_ID, T0 + 4 * HOUR, EntryKind.OPINION,
                        [OpinionItem(rid(n["a1"], 1), Stance.FALSE_POSITIVE, "", "").encode()])
    suite.bad("key.role", "an-observer-opines", bundle(w, n["a1"], 1, [n["b1"], n["a2"], watched],
                                                        heads=_with_head(w, watched)))
    suite.ok("an-observer-opines-without-an-anchor", bundle(w, n["a1"], 1, [n["b1"], n["a2"], watched],
                                                             heads=_with_head(w, watched)), "overturned",
             {n["a2"].entry_id.hex(): "effective"}, anchor=None,
             note="without an anchor the member entry's roles are claims: not checked")
    assembled_by_observer = bundle(w, n["e1"], 0, [], assembler=OBSERVER, assembler_id="observer-o")
    suite.ok("assembled-by-an-observer", assembled_by_observer, "active",
             note="any member's node may assemble: the assembly statement is not an entry")


def _related_rules(suite: Suite) -> None:
    w, n = suite.w, suite.w.named
    a1, base = n["a1"], [n["b1"], n["a2"]]
    r = rid(a1, 1)
    suite.bad("related.duplicate", "one-entry-twice", bundle(w, a1, 1, [*base, n["b1"]],
                                                              listed=[e.entry_id for e in base]))
    cut = replace(RelatedEntry.of(n["b1"], MEMBERS["member-b"]), header=n["b1"].header_bytes[:-1])
    g = bundle(w, a1, 1, base)
    suite.bad("related.header", "truncated", sign_assembly(
        replace(g, related=(cut, g.related[1])), _statement(g, [cut.entry_id, g.related[1].entry_id]), C,
        "member-c"))

    def last_b(seq: int) -> bytes:
        return w.logs["member-b"].entries[seq - 2].entry_id if seq > 1 else ZERO_ID

    shapes = {
        "seq-0": raw_entry(B, "member-b", 0, ZERO_ID, T0 + 11 * HOUR, EntryKind.OPINION,
                           [OpinionItem(r, Stance.AGREE, "", "").encode()]),
        "prev-zero-after-seq-1": raw_entry(B, "member-b", 2, ZERO_ID, T0 + 11 * HOUR, EntryKind.OPINION,
                                           [OpinionItem(r, Stance.AGREE, "", "").encode()]),
        "item-count-differs": raw_entry(B, "member-b", 2, last_b(2), T0 + 11 * HOUR, EntryKind.OPINION,
                                        [OpinionItem(r, Stance.AGREE, "", "").encode()], item_count=2),
        "item-over-4096-bytes": raw_entry(B, "member-b", 2, last_b(2), T0 + 11 * HOUR, EntryKind.OPINION,
                                          [OpinionItem(r, Stance.AGREE, "", "x" * 4100).encode()]),
    }
    for name, entry in shapes.items():
        suite.bad("related.shape", name, bundle(w, a1, 1, [*base, entry]))
    changed = replace(RelatedEntry.of(n["b1"], MEMBERS["member-b"]),
                      items=(AppealItem(r, "case-9", 4).encode(),))
    suite.bad("related.body_root", "item-replaced", sign_assembly(
        replace(g, related=(changed, g.related[1])), _statement(g, [changed.entry_id, g.related[1].entry_id]), C,
        "member-c"))
    foreign = raw_entry(B, "member-b", 7, hashlib.sha256(b"y").digest(), T0 + 11 * HOUR, EntryKind.OPINION,
                        [OpinionItem(r, Stance.AGREE, "", "").encode()], consortium_id="other")
    suite.bad("related.consortium", "another-consortium", bundle(w, a1, 1, [*base, foreign]))
    flipped = replace(RelatedEntry.of(n["a2"], MEMBERS["member-a"]), signature=flip(n["a2"].signature, 3))
    suite.bad("related.signature", "flipped-bit", sign_assembly(
        replace(g, related=(g.related[0], flipped)), _statement(g, [g.related[0].entry_id, flipped.entry_id]), C,
        "member-c"))
    item = r + b"\x00\x00"
    for kind, name in ((1, "a-contribution"), (0, "kind-0"), (6, "reserved-kind-6"), (65535, "reserved-kind-65535")):
        odd = raw_entry(B, "member-b", 2, last_b(2), T0 + 11 * HOUR, kind, [item])
        suite.bad("related.kind", name, bundle(w, a1, 1, [*base, odd]),
                  note="issue 12 item 6: kind 6 crashed the verifier" if kind == 6 else "")
    for name, kind, bad_item in (
        ("retraction-trailing-byte", EntryKind.RETRACTION, RetractionItem(r, "x").encode() + b"\x00"),
        ("appeal-distance-flag-2", EntryKind.APPEAL, Writer().fixed(r, 32).string("case-9").u8(2).getvalue()),
        ("decision-outcome-3", EntryKind.DECISION,
         Writer().fixed(r, 32).fixed(n["b1"].entry_id, 32).u8(3).string("").u8(1).getvalue()),
        ("opinion-invalid-utf8", EntryKind.OPINION,
         Writer().fixed(r, 32).u8(1).string("").getvalue() + b"\x00\x01\xff"),
        ("second-item-undecodable", EntryKind.OPINION, None),
    ):
        items_ = [bad_item] if bad_item is not None else [OpinionItem(r, Stance.AGREE, "", "").encode(), b"\x00"]
        odd = raw_entry(B, "member-b", 2, last_b(2), T0 + 11 * HOUR, kind, items_)
        suite.bad("related.item", name, bundle(w, a1, 1, [*base, odd]))
    elsewhere = bundle(w, a1, 1, [*base, n["a5"]])
    suite.bad("related.unrelated", "a-retraction-of-another-record", elsewhere)


def _statement(b: ProvenanceBundle, related_ids: Sequence[bytes], **changes: Any) -> bytes:
    statement = Assembly.decode(b.assembly)
    fields = {"related": tuple(sorted(related_ids)), **changes}
    return replace(statement, **fields).encode()


def _assembly_rules(suite: Suite) -> None:
    w, n = suite.w, suite.w.named
    a1, base = n["a1"], [n["b1"], n["a2"]]
    g = bundle(w, a1, 1, base)
    ids = [e.entry_id for e in base]
    suite.bad("assembly.malformed", "truncated", sign_assembly(g, g.assembly[:-1], C, "member-c"))
    suite.bad("assembly.malformed", "wrong-domain-tag", sign_assembly(g, b"X" + g.assembly[1:], C, "member-c"))
    unsorted = Assembly.decode(g.assembly)
    reversed_heads = replace(unsorted, heads=tuple(reversed(unsorted.heads))).encode()
    suite.bad("assembly.malformed", "heads-not-sorted", sign_assembly(g, reversed_heads, C, "member-c"))
    suite.bad("assembly.malformed", "quarantine-mode-3", sign_assembly(
        g, _policy_bytes(g.assembly, quarantine=3), C, "member-c"))
    suite.bad("assembly.consortium", "another-consortium", sign_assembly(
        g, _statement(g, ids, consortium_id="other"), C, "member-c"))
    suite.bad("assembly.record", "another-record", sign_assembly(
        g, _statement(g, ids, record_id=rid(a1, 0)), C, "member-c"))
    suite.bad("assembly.signature", "flipped-bit", replace(g, assembly_signature=flip(g.assembly_signature, 0)))
    suite.bad("assembly.signature", "statement-changed-after-signing", replace(
        g, assembly=_statement(g, ids, assembled_at_ms=ASSEMBLED_AT + 1)))
    heads = w.heads()
    low = [h if h.author != "member-a" else Head("member-a", 1, a1.entry_id) for h in heads]
    suite.bad("assembly.frontier", "related-entry-beyond-the-head", bundle(w, a1, 1, base, heads=low),
              note="member-a's head is seq 1, the decision is seq 2")
    suite.bad("assembly.frontier", "author-without-a-head", bundle(
        w, a1, 1, base, heads=[h for h in heads if h.author != "member-b"]))
    other_id = [h if h.author != "member-a" else Head("member-a", 2, hashlib.sha256(b"fork").digest())
                for h in heads]
    suite.bad("assembly.frontier", "same-seq-another-entry", bundle(w, a1, 1, base, heads=other_id),
              note="the head at seq 2 is another entry: the log forked, or the bundle's entry is not the one held")
    e1 = n["e1"]
    suite.bad("assembly.frontier", "contribution-author-without-a-head", bundle(
        w, e1, 0, [], heads=[h for h in heads if h.author != "member-e"]),
        note="the contribution entry itself must lie at or below its author's head")
    suite.bad("assembly.frontier", "contribution-same-seq-another-entry", bundle(
        w, e1, 0, [], heads=[h if h.author != "member-e" else Head("member-e", 1, hashlib.sha256(b"e").digest())
                             for h in heads]))
    suite.bad("assembly.omitted", "decision-removed", bundle(w, a1, 1, [n["b1"]], listed=ids),
              note="issue 16: a bundle with an entry removed below the signed frontier fails")
    suite.bad("assembly.omitted", "every-entry-removed", bundle(w, a1, 1, [], listed=ids))
    suite.bad("assembly.unlisted", "genuine-entry-added", bundle(w, a1, 1, [*base, n["b3"]], listed=ids))


# --- due process: stewards' rulings, dispute cases, quarantine, the referrer role (§9.7, §9.4 step 5) -----------

# A second consortium file over the same consortium: the members above and those below, and a policy that uses
# every part of §9.7: stewards' rulings need 2 stewards, 2 false-positive reports (or 1 by a trusted flagger)
# open a dispute case, and quarantine marks. Two more files change one policy field each.
F, G, H = key("member-f"), key("member-g"), key("member-h")
FLAGGER, REFERRER = key("flagger-t"), key("referrer-r")
S3_OLD, S3_NEW, S4 = key("steward-3"), key("steward-3/rotated"), key("steward-4")
DP_POLICY = ConsortiumPolicy(decision_window_ms=WINDOW, steward_quorum=2, dispute_quorum=2,
                             trusted_flagger_disputes=True, quarantine=QuarantineMode.MARK)
DP_STEWARDS = ("steward-1", "steward-2", "steward-3", "steward-4")
DP_ANCHOR = {"consortium": "anchors/consortium-due-process.json"}
DP_WITHHOLD = {"consortium": "anchors/consortium-due-process-withhold.json"}
DP_NO_FLAGGERS = {"consortium": "anchors/consortium-due-process-no-trusted-flaggers.json"}


def dp_members() -> list[Member]:
    return [*members(),
            Member("member-f", "Example Platform F", (MemberKey(F.public),), contact="trust@f.example"),
            Member("member-g", "Example Platform G", (MemberKey(G.public),)),
            Member("member-h", "Example Platform H", (MemberKey(H.public),)),
            Member("flagger-t", "Example Hotline", (MemberKey(FLAGGER.public),), roles=("trusted_flagger",)),
            Member("referrer-r", "Example Referral Unit", (MemberKey(REFERRER.public),), roles=("referrer",),
                   contact="iru@r.example"),
            # steward-3 rotates its key at 7-8 h; steward-4 is revoked with a cutoff at 5 h.
            Member("steward-3", "Example Steward Three", (MemberKey(S3_OLD.public, 0, T0 + 8 * HOUR),
                                                          MemberKey(S3_NEW.public, T0 + 7 * HOUR, 0)),
                   roles=("steward",)),
            Member("steward-4", "Example Steward Four", (MemberKey(S4.public),), roles=("steward",),
                   status="revoked", revoked_after_ms=T0 + 5 * HOUR)]


DP_MEMBERS = {m.member_id: m for m in dp_members()}


def ruling_item(record: bytes, case: bytes, outcome: Outcome, ruled_at_hours: float,
                signers: Sequence[SigningKey], reason: str = "the stewards' ruling") -> bytes:
    """A decision item `decided_as = stewards` carrying the signatures of `signers` over the ruling bytes."""
    at = T0 + round(ruled_at_hours * HOUR)
    signed = ruling_bytes(CONSORTIUM, record, case, outcome, reason, at)
    signatures = tuple(Signature(k.public.key_id, k.sign(signed)) for k in signers)
    return DecisionItem(record, case, outcome, reason, DecidedAs.STEWARDS, at, signatures).encode()


def _due_process(suite: Suite) -> None:
    """One case per rule of §9.7 that the due-process policy adds, against DP_ANCHOR unless said otherwise. From
    0 h member-f's record f1[i] is appealed by member-g at 1 h (the window closes at 2 h) or reported as a false
    positive; member-g publishes the stewards' rulings."""
    docs = {"consortium-due-process": DP_POLICY,
            "consortium-due-process-withhold": replace(DP_POLICY, quarantine=QuarantineMode.WITHHOLD),
            "consortium-due-process-no-trusted-flaggers": replace(DP_POLICY, trusted_flagger_disputes=False)}
    for name, policy in docs.items():
        suite.files[f"anchors/{name}.json"] = dumps(consortium_document(dp_members(), policy=policy))
    logs = {m: Log(m, k) for m, k in (("member-f", F), ("member-g", G), ("member-h", H), ("flagger-t", FLAGGER),
                                       ("referrer-r", REFERRER), ("steward-1", S))}
    f, g, h, t, r, s = logs.values()
    w = World(logs, {})
    f1 = f.add(0, EntryKind.CONTRIBUTION, [rec("md5", f"{0xa0 + i:02x}" * 16) for i in range(24)])

    def rec_id(i: int) -> bytes:
        return rid(f1, i)

    def appeal(i: int, hours: float = 1) -> Entry:
        return g.add(hours, EntryKind.APPEAL, [AppealItem(rec_id(i), f"case-f{i}", None).encode()])

    def ruling(i: int, case: Entry, hours: float, signers: Sequence[SigningKey], *, outcome: Outcome =
               Outcome.OVERTURNED, ruled_at: float | None = None, by: Log = g) -> Entry:
        item = ruling_item(rec_id(i), case.entry_id, outcome, hours if ruled_at is None else ruled_at, signers)
        return by.add(hours, EntryKind.DECISION, [item])

    def opinion(log: Log, i: int, hours: float, stance: Stance = Stance.FALSE_POSITIVE) -> Entry:
        return log.add(hours, EntryKind.OPINION, [OpinionItem(rec_id(i), stance, "not_tvec", "").encode()])

    def contributor_decides(i: int, case: Entry, hours: float, outcome: Outcome) -> Entry:
        return f.add(hours, EntryKind.DECISION, [DecisionItem(rec_id(i), case.entry_id, outcome, "reviewed",
                                                               DecidedAs.CONTRIBUTOR).encode()])

    # Every entry is made first, each log in time order (the assembler's frontier is the world's), then bundled.
    # Disputes: f1[10] is reported by member-g (1 h) and member-h (2 h); f1[11] by member-g alone; f1[12] by the
    # trusted flagger; f1[13] by the contributor itself and member-g; f1[14] by member-g and member-h, who then
    # changes its mind; f1[15] by two, upheld by member-f at 3 h, then reported by the flagger at 5 h; f1[16] by
    # two, overturned by the stewards after the window. The referrer contributes r1, decides the appeal of r1[0],
    # retracts r1[1], publishes a stewards' ruling and opines.
    r1 = r.add(0.5, EntryKind.CONTRIBUTION, [rec("md5", "b0" * 16), rec("md5", "b1" * 16)])
    ap = {i: appeal(i) for i in (*range(10), 18)}
    r_appealed = g.add(1, EntryKind.APPEAL, [AppealItem(rid(r1, 0), "case-r0", None).encode()])
    first_reports = {i: opinion(g, i, 1) for i in (10, 14, 15, 16)}
    alone = opinion(g, 11, 1)
    flagged = opinion(t, 12, 1)
    own = (opinion(f, 13, 1), opinion(g, 13, 2))
    gh = {i: (first_reports[i], opinion(h, i, 2)) for i in (10, 14, 15, 16)}
    r_decides = r.add(2, EntryKind.DECISION, [DecisionItem(rid(r1, 0), r_appealed.entry_id, Outcome.OVERTURNED,
                                                           "our mistake", DecidedAs.CONTRIBUTOR).encode()])
    early_case = contributor_decides(10, gh[10][0], 2.5, Outcome.OVERTURNED)  # names member-g's report: no case
    rulings = {
        "quorum": ruling(0, ap[0], 3, [S, S3_OLD]),
        "short": ruling(1, ap[1], 3, [S]),
        "stranger": ruling(2, ap[2], 3, [S, H]),
        "at-the-deadline": ruling(4, ap[4], 3, [S, S3_OLD], ruled_at=2),
        "within-the-window": ruling(5, ap[5], 3, [S, S3_OLD], ruled_at=1.5),
    }
    single = s.add(3, EntryKind.DECISION, [DecisionItem(rec_id(0), ap[0].entry_id, Outcome.UPHELD, "alone",
                                                        DecidedAs.STEWARD).encode()])
    upheld_case = contributor_decides(15, gh[15][1], 3, Outcome.UPHELD)
    mind_changed = opinion(h, 14, 3, Stance.AGREE)
    r_retracts = r.add(3, EntryKind.RETRACTION, [RetractionItem(rid(r1, 1), "withdrawn").encode()])
    r_publishes = ruling(18, ap[18], 3.5, [S, S3_OLD], by=r)
    r_opines = r.add(4, EntryKind.OPINION, [OpinionItem(rec_id(17), Stance.DISAGREE, "", "").encode()])
    rulings["revoked-before"] = ruling(9, ap[9], 4, [S, S4])
    ruled_case = ruling(16, gh[16][1], 4, [S, S3_OLD])
    late = contributor_decides(1, ap[1], 5, Outcome.UPHELD)
    flagged_again = opinion(t, 15, 5)
    rulings["revoked-after"] = ruling(8, ap[8], 6, [S, S4])
    rulings["one-steward-two-keys"] = ruling(3, ap[3], 7.5, [S3_OLD, S3_NEW])
    rulings["expired-key"] = ruling(6, ap[6], 9, [S, S3_OLD])
    rulings["rotated-key"] = ruling(7, ap[7], 9, [S, S3_NEW])
    r_appeals = raw_entry(REFERRER, "referrer-r", len(r.entries) + 1, r.entries[-1].entry_id, T0 + 5 * HOUR,
                          EntryKind.APPEAL, [AppealItem(rec_id(19), "case-from-a-referrer", None).encode()])
    r_reserved = raw_entry(REFERRER, "referrer-r", len(r.entries) + 1, r.entries[-1].entry_id, T0 + 5 * HOUR, 6,
                           [rec_id(19) + b"\x00\x00"])

    def dp(entry: Entry, index: int, related: Sequence[Entry], *, steward_entries: bool = False,
           **more: Any) -> ProvenanceBundle:
        made = bundle(w, entry, index, related, policy=DP_POLICY, stewards=DP_STEWARDS, known=DP_MEMBERS, **more)
        # Member entries are unsigned key hints: the stewards' carry their keys for a verifier without an anchor.
        return replace(made, stewards=tuple(DP_MEMBERS[m] for m in DP_STEWARDS)) if steward_entries else made

    def ok(name: str, b: ProvenanceBundle, status: str, rulings_: dict[Entry, str] | None = None, note: str = "",
           anchor: dict[str, Any] | None = DP_ANCHOR) -> None:
        suite.ok(name, b, status, {e.entry_id.hex(): v for e, v in (rulings_ or {}).items()}, note=note,
                 anchor=anchor)

    # Stewards' rulings (decided_as = stewards): k of n distinct stewards, keys valid when they ruled, after W.
    q = rulings
    ok("stewards-ruling-meeting-the-quorum", dp(f1, 0, [ap[0], q["quorum"]]), "overturned",
       {q["quorum"]: "effective"}, "signed by steward-1 and steward-3 at 3 h; the quorum is 2")
    ok("stewards-ruling-one-signature-short", dp(f1, 1, [ap[1], q["short"]]), "active",
       {q["short"]: "refused decision.ruling_quorum"}, "signed by steward-1 alone")
    ok("stewards-ruling-signed-by-a-non-steward-key", dp(f1, 2, [ap[2], q["stranger"]]), "active",
       {q["stranger"]: "refused decision.ruling_quorum"}, "steward-1 and member-h: member-h's valid signature counts "
       "for nothing")
    ok("stewards-ruling-one-steward-with-two-keys", dp(f1, 3, [ap[3], q["one-steward-two-keys"]]), "active",
       {q["one-steward-two-keys"]: "refused decision.ruling_quorum"},
       "steward-3 signs with its old and its new key in their overlap: one steward, counted once")
    ok("stewards-ruling-exactly-at-the-end-of-the-window", dp(f1, 4, [ap[4], q["at-the-deadline"]]), "overturned",
       {q["at-the-deadline"]: "effective"}, "ruled_at_ms = appeal + W: the stewards may rule from then on")
    ok("stewards-ruling-within-the-window", dp(f1, 5, [ap[5], q["within-the-window"]]), "active",
       {q["within-the-window"]: "refused decision.ruling_too_early"},
       "ruled at 1.5 h (the appeal at 1 h, W = 1 h), published at 3 h: ruled_at_ms counts")
    ok("stewards-ruling-signed-with-an-expired-key", dp(f1, 6, [ap[6], q["expired-key"]]), "active",
       {q["expired-key"]: "refused decision.ruling_quorum"}, "steward-3's old key ended at 8 h; ruled at 9 h")
    ok("stewards-ruling-signed-with-a-rotated-key", dp(f1, 7, [ap[7], q["rotated-key"]]), "overturned",
       {q["rotated-key"]: "effective"}, "steward-3's new key, valid from 7 h; ruled at 9 h")
    ok("stewards-ruling-by-a-revoked-steward-after-its-cutoff", dp(f1, 8, [ap[8], q["revoked-after"]]), "active",
       {q["revoked-after"]: "refused decision.ruling_quorum"},
       "steward-4's cutoff is 5 h, ruled at 6 h: its signature counts for nothing")
    ok("stewards-ruling-by-a-revoked-steward-before-its-cutoff", dp(f1, 9, [ap[9], q["revoked-before"]]),
       "overturned", {q["revoked-before"]: "effective"}, "ruled at 4 h, before steward-4's cutoff at 5 h")
    ok("single-steward-decision-above-quorum-1", dp(f1, 0, [ap[0], single, q["quorum"]]), "overturned",
       {single: "refused decision.single_steward", q["quorum"]: "effective"},
       "steward-1 decides alone (decided_as = steward) at 3 h, after the window: with a quorum of 2 it does not count")
    ok("contributor-decides-after-the-window", dp(f1, 1, [ap[1], q["short"], late]), "active",
       {q["short"]: "refused decision.ruling_quorum", late: "effective"},
       "the window lets stewards in; it does not shut the contributor out")
    ok("stewards-ruling-meeting-the-quorum-without-an-anchor",
       dp(f1, 0, [ap[0], q["quorum"]], steward_entries=True), "overturned", {q["quorum"]: "effective"},
       "the assembly's policy (quorum 2) and stewards, the stewards' keys from the bundle's stewards entries",
       anchor=None)
    ok("stewards-ruling-without-an-anchor-and-without-steward-entries", dp(f1, 0, [ap[0], q["quorum"]]), "active",
       {q["quorum"]: "refused decision.ruling_quorum"},
       "no member entry carries a steward's key: no signature can be checked", anchor=None)
    # Dispute cases: k = 2 false-positive reports, or one by a trusted flagger; each member's latest opinion.
    ok("dispute-case-opens-at-the-quorum", dp(f1, 10, [*gh[10]]), "disputed", {},
       "member-g and member-h report a false positive: the case is named by member-h's report, the second")
    ok("dispute-case-quarantine-withhold", dp(f1, 10, [*gh[10]]), "quarantined", {},
       "the same bundle; the policy's quarantine mode is withhold", anchor=DP_WITHHOLD)
    ok("dispute-one-report-below-the-quorum", dp(f1, 11, [alone]), "active", {}, "member-g alone")
    ok("dispute-case-opened-by-a-trusted-flagger", dp(f1, 12, [flagged]), "disputed", {},
       "one report by flagger-t: the policy lets a trusted flagger's report open a case")
    ok("dispute-trusted-flagger-when-the-policy-says-no", dp(f1, 12, [flagged]), "active", {},
       "the same bundle; trusted_flagger_disputes is false: one report of two", anchor=DP_NO_FLAGGERS)
    ok("dispute-the-contributors-own-report-does-not-count", dp(f1, 13, [*own]), "active", {},
       "member-f (the contributor) and member-g report: one report counts")
    ok("dispute-a-members-latest-opinion-counts", dp(f1, 14, [*gh[14], mind_changed]), "active", {},
       "member-h reports, then agrees: its latest opinion is no report")
    ok("dispute-case-upheld-then-a-new-report-opens-another", dp(f1, 15, [*gh[15], upheld_case, flagged_again]),
       "disputed", {upheld_case: "effective"},
       "member-f upholds the first case at 3 h (reviewing the reports before it); flagger-t's at 5 h opens another")
    ok("dispute-case-upheld", dp(f1, 15, [*gh[15], upheld_case]), "active", {upheld_case: "effective"},
       "the contributor decides the case named by the second report")
    ok("dispute-case-overturned-by-a-stewards-ruling", dp(f1, 16, [*gh[16], ruled_case]), "overturned",
       {ruled_case: "effective"}, "the stewards rule on the case after the window")
    ok("decision-naming-a-report-that-opened-no-case", dp(f1, 10, [*gh[10], early_case]), "disputed",
       {early_case: "pending decision.no_case"},
       "the decision names member-g's report, the first: the case is named by the second, so it stays open")
    # The referrer role (§9.4 step 5, Who may author what): contributes, retracts, opines, decides about its own
    # records, publishes a stewards' ruling; appeals and reserved kinds are not its to author.
    ok("referrer-contributes-and-decides-its-own-appeal", dp(r1, 0, [r_appealed, r_decides]), "overturned",
       {r_decides: "effective"})
    ok("referrer-retracts-its-own-record", dp(r1, 1, [r_retracts]), "retracted")
    ok("referrer-opines", dp(f1, 17, [r_opines]), "active")
    ok("referrer-publishes-a-stewards-ruling", dp(f1, 18, [ap[18], r_publishes]), "overturned",
       {r_publishes: "effective"}, "the ruling's signatures count, not its publisher")
    suite.bad("key.role", "a-referrer-appeals", dp(f1, 19, [r_appeals], heads=_with_head(w, r_appeals)),
              anchor=DP_ANCHOR, note="a referrer runs no matching: it files no appeals")
    suite.bad("key.role", "a-referrer-signs-a-reserved-kind", dp(f1, 19, [r_reserved], heads=_with_head(w, r_reserved)),
              anchor=DP_ANCHOR, note="reserved kinds need contributor or trusted_flagger")
    dup = ruling_item(rec_id(0), ap[0].entry_id, Outcome.OVERTURNED, 3, [S])
    twice = dup[:-2 - 96] + b"\x00\x02" + dup[-96:] + dup[-96:]
    again = raw_entry(G, "member-g", len(g.entries) + 1, g.entries[-1].entry_id, T0 + 11 * HOUR,
                      EntryKind.DECISION, [twice])
    suite.bad("related.item", "stewards-ruling-lists-a-key-twice", dp(f1, 0, [ap[0], again],
                                                                      heads=_with_head(w, again)),
              anchor=DP_ANCHOR, note="signatures are in strictly increasing key id order: one key once")


def _policy_bytes(statement: bytes, **fields: int) -> bytes:
    """The statement with its 14 policy bytes rewritten raw (a decoder must refuse them)."""
    decoded = Assembly.decode(statement)
    start = len(Writer().raw(b"hashnode.assembly.v1\x00").string(decoded.consortium_id)
                .string(decoded.assembler).getvalue()) + 32 + 8 + 32 + 8
    policy = bytearray(statement[start:start + 14])
    if "quarantine" in fields:
        policy[13] = fields["quarantine"]
    return statement[:start] + bytes(policy) + statement[start + 14:]


# --- one answer for each place the clean-room verifier had to guess (issue 15, its second report) ------------

# A window given in hours whose product with 3600000 is exactly 14062.5 in binary64: W = ⌊14062.5 + 0.5⌋ = 14063 ms
# (a reader that truncates, or rounds half to even, finds 14062).
WINDOW_HOURS = 0.00390625
WINDOW_HOURS_MS = 14063


def _u64(value: int) -> bytes:
    return value.to_bytes(8, "big")


def _dp_roster(version: int = 1) -> SignedRoster:
    """The due-process consortium as a roster (quorum 2, dispute quorum 2, trusted flaggers' reports, mark)."""
    member_list = [
        RosterMember(m.member_id, m.organisation, m.keys, m.roles, m.contact, endpoints=m.endpoints,
                     status=STATUS[m.status], status_version=1, revoked_after_ms=m.revoked_after_ms)
        for m in dp_members()
    ]
    document_ = Roster(CONSORTIUM, version, ROSTER_EXPIRES, 2,
                       tuple(StewardKey(f"roster-steward-{i + 1}", k.public) for i, k in enumerate(ROSTER_STEWARDS)),
                       tuple(member_list), DP_POLICY)
    signed = SignedRoster.unsigned(document_)
    for k in ROSTER_STEWARDS[:2]:
        signed = signed.sign(k)
    return signed


def _answers(suite: Suite) -> None:
    """Each answer of §9 that a reader could have guessed the other way, with the vector that refuses the other
    guess: dispute cases, stewards' rulings (keys without an anchor, post-dated rulings), negative zero, quality,
    member entries, roster decoding, consortium files, the window in hours, the assembly's order and a ruling's
    signatures."""
    _answers_due_process(suite)
    _answers_file(suite)
    _answers_rosters(suite)
    _answers_consortium(suite)


def _answers_due_process(suite: Suite) -> None:
    logs = {m: Log(m, k) for m, k in (("member-f", F), ("member-g", G), ("member-h", H), ("flagger-t", FLAGGER),
                                       ("steward-1", S))}
    f, g, h, t, s = logs.values()
    w = World(logs, {})
    f2 = f.add(0, EntryKind.CONTRIBUTION, [rec("md5", f"{0xc0 + i:02x}" * 16) for i in range(16)])

    def r(i: int) -> bytes:
        return rid(f2, i)

    def opinion(log: Log, i: int, hours: float, *stances: Stance) -> Entry:
        return log.add(hours, EntryKind.OPINION, [OpinionItem(r(i), st, "not_tvec", "").encode()
                                                  for st in stances or (Stance.FALSE_POSITIVE,)])

    def decides(i: int, case: Entry, hours: float, outcome: Outcome) -> Entry:
        return f.add(hours, EntryKind.DECISION, [DecisionItem(r(i), case.entry_id, outcome, "reviewed",
                                                               DecidedAs.CONTRIBUTOR).encode()])

    def appeal(i: int, hours: float = 1) -> Entry:
        return g.add(hours, EntryKind.APPEAL, [AppealItem(r(i), f"case-f2-{i}", None).encode()])

    def ruling(i: int, case: Entry, hours: float, signers: Sequence[SigningKey], ruled_at: float,
               outcome: Outcome = Outcome.OVERTURNED, by: Log = g) -> Entry:
        return by.add(hours, EntryKind.DECISION, [ruling_item(r(i), case.entry_id, outcome, ruled_at, signers)])

    # Entries first, each log in time order; bundles after, over the frontier of them all.
    several = (opinion(g, 0, 1), opinion(h, 0, 2, Stance.AGREE, Stance.FALSE_POSITIVE))
    at_r = (opinion(g, 1, 1), opinion(h, 1, 2))
    by_ts = (opinion(g, 2, 1), opinion(h, 2, 2))
    kth_first = (opinion(g, 3, 1), opinion(h, 3, 2))
    tf_first = opinion(t, 4, 1)
    unanchored_tf = opinion(t, 5, 1)
    appeals = {i: appeal(i) for i in (6, 7, 8, 9, 10, 12, 13)}
    dp_roster_reports = (opinion(g, 11, 1), opinion(h, 11, 2))
    postdated = ruling(8, appeals[8], 1.5, [S, S3_OLD], ruled_at=2.5)
    tf_first_g = opinion(g, 4, 2)
    kth_first_t = opinion(t, 3, 3)
    at_r_upheld = decides(1, at_r[1], 3, Outcome.UPHELD)
    at_r_flagger = opinion(t, 1, 3)
    steward_from_assembler = ruling(6, appeals[6], 3, [S, S3_OLD], ruled_at=3)
    roster_quorum = ruling(9, appeals[9], 3, [S, S3_OLD], ruled_at=3)
    roster_short = ruling(10, appeals[10], 3, [S], ruled_at=3)
    tf_decided = decides(4, tf_first, 3, Outcome.OVERTURNED)
    kth_decided = decides(3, kth_first_t, 4, Outcome.OVERTURNED)
    by_ts_flagger = opinion(t, 2, 4)
    by_ts_ruling = ruling(2, by_ts[1], 5, [S, S3_OLD], ruled_at=3, outcome=Outcome.UPHELD)
    listed_twice = ruling(7, appeals[7], 9, [S, S3_NEW], ruled_at=9)
    # The window in hours (W = 14063 ms): steward-1 decides alone (quorum 1) 14062 ms and 14063 ms after the appeal.
    tA = appeals[12].header.timestamp_ms
    hours_early = s.add((tA - T0 + WINDOW_HOURS_MS - 1) / HOUR, EntryKind.DECISION, [DecisionItem(
        r(12), appeals[12].entry_id, Outcome.OVERTURNED, "one ms early", DecidedAs.STEWARD).encode()])
    hours_on_time = s.add((tA - T0 + WINDOW_HOURS_MS) / HOUR, EntryKind.DECISION, [DecisionItem(
        r(13), appeals[13].entry_id, Outcome.OVERTURNED, "at the deadline", DecidedAs.STEWARD).encode()])
    assert hours_early.header.timestamp_ms == tA + WINDOW_HOURS_MS - 1
    assert hours_on_time.header.timestamp_ms == tA + WINDOW_HOURS_MS
    assert WINDOW_HOURS * HOUR == WINDOW_HOURS_MS - 0.5
    # A ruling's signatures: more than 64, and two out of key id order (related.item).
    many = sorted((key(f"signer-{i}") for i in range(65)), key=lambda k: k.public.key_id)
    too_many = g.add(10, EntryKind.DECISION, [ruling_item(r(14), appeals[6].entry_id, Outcome.OVERTURNED, 3, many)])
    two = sorted((S, S3_OLD), key=lambda k: k.public.key_id)
    ordered = ruling_item(r(15), appeals[6].entry_id, Outcome.OVERTURNED, 3, two)
    swapped = ordered[:-2 * 96] + ordered[-96:] + ordered[-2 * 96:-96]
    out_of_order = g.add(10, EntryKind.DECISION, [swapped])

    def dp(entry: Entry, index: int, related: Sequence[Entry], **more: Any) -> ProvenanceBundle:
        return bundle(w, entry, index, related, policy=DP_POLICY, stewards=DP_STEWARDS, known=DP_MEMBERS, **more)

    def ok(name: str, b: ProvenanceBundle, status: str, rulings_: dict[Entry, str] | None = None, note: str = "",
           anchor: dict[str, Any] | None = DP_ANCHOR) -> None:
        suite.ok(name, b, status, {e.entry_id.hex(): v for e, v in (rulings_ or {}).items()}, note=note,
                 anchor=anchor)

    ok("dispute-several-opinions-in-one-entry-the-last-counts", dp(f2, 0, [*several]), "disputed", {},
       "member-h's one entry says agree, then false_positive, about the record: its last item is its latest opinion")
    ok("dispute-a-report-at-the-time-of-the-upholding-decision-was-reviewed",
       dp(f2, 1, [*at_r, at_r_upheld, at_r_flagger]), "active", {at_r_upheld: "effective"},
       "the case is upheld at 3 h (R); flagger-t reports at 3 h: only reports after R count")
    ok("dispute-reviewed-until-the-time-of-the-entry-that-publishes-the-ruling",
       dp(f2, 2, [*by_ts, by_ts_ruling, by_ts_flagger]), "active", {by_ts_ruling: "effective"},
       "the stewards uphold the case in a ruling dated 3 h, published at 5 h: R is 5 h, so flagger-t's report at "
       "4 h was reviewed")
    ok("dispute-the-first-report-that-meets-either-rule-opens-the-case",
       dp(f2, 3, [*kth_first, kth_first_t, kth_decided]), "disputed", {kth_decided: "pending decision.no_case"},
       "member-h's report at 2 h is the second (k = 2): it opens the case; the decision names flagger-t's at 3 h")
    ok("dispute-a-trusted-flaggers-report-before-the-quorum-opens-the-case",
       dp(f2, 4, [tf_first, tf_first_g, tf_decided]), "overturned", {tf_decided: "effective"},
       "flagger-t's report at 1 h opens the case before member-g's makes two; the contributor decides it")
    tf_claims = dp(f2, 5, [unanchored_tf], assembler=FLAGGER, assembler_id="flagger-t")
    tf_claims = replace(tf_claims, related=(replace(tf_claims.related[0], author=replace(
        DP_MEMBERS["flagger-t"], roles=("contributor",))),))
    ok("without-an-anchor-a-trusted-flagger-named-by-any-of-its-member-entries", tf_claims, "disputed", {},
       "flagger-t's opinion entry's member entry claims contributor; its assembler entry claims trusted_flagger: "
       "one of its entries says so", anchor=None)
    from_assembler = replace(dp(f2, 6, [appeals[6], steward_from_assembler], assembler=S, assembler_id="steward-1"),
                             stewards=(DP_MEMBERS["steward-3"],))
    ok("stewards-ruling-without-an-anchor-a-stewards-keys-from-its-assembler-entry", from_assembler, "overturned",
       {steward_from_assembler: "effective"},
       "steward-1 assembles the bundle: its assembler entry carries its key; stewards lists steward-3 only",
       anchor=None)
    s3 = DP_MEMBERS["steward-3"]
    twice = replace(dp(f2, 7, [appeals[7], listed_twice]), stewards=(
        replace(s3, keys=(s3.keys[0],)), DP_MEMBERS["steward-1"], replace(s3, keys=(s3.keys[1],))))
    ok("stewards-ruling-without-an-anchor-a-steward-listed-twice-both-entries-count", twice, "overturned",
       {listed_twice: "effective"},
       "steward-3 has two entries: the first with its old key, the second with the new one, which signed at 9 h",
       anchor=None)
    ok("stewards-ruling-postdated-and-published-inside-the-window", dp(f2, 8, [appeals[8], postdated]), "active",
       {postdated: "refused decision.ruling_postdated"},
       "appeal at 1 h, W = 1 h: a ruling dated 2.5 h published at 1.5 h; ruled_at_ms may not be after its entry")
    dp_roster = {"roster": ["anchors/roster-due-process-v1.json"], "roster_id": None}
    suite.files["anchors/roster-due-process-v1.json"] = _dp_roster().to_json().encode("utf-8")
    ok("stewards-ruling-meeting-the-quorum-roster-anchor", dp(f2, 9, [appeals[9], roster_quorum]), "overturned",
       {roster_quorum: "effective"}, "the roster's policy (extension 1) says quorum 2", anchor=dp_roster)
    ok("stewards-ruling-one-signature-short-roster-anchor", dp(f2, 10, [appeals[10], roster_short]), "active",
       {roster_short: "refused decision.ruling_quorum"}, anchor=dp_roster)
    ok("dispute-case-opens-at-the-quorum-roster-anchor", dp(f2, 11, [*dp_roster_reports]), "disputed", {},
       "the roster's policy says dispute quorum 2", anchor=dp_roster)
    hours_doc = consortium_document(dp_members(), policy=replace(DP_POLICY, steward_quorum=1))
    del hours_doc["decision_window_ms"]
    hours_doc = {"consortium_id": CONSORTIUM, "decision_window_hours": WINDOW_HOURS,
                 **{k: v for k, v in hours_doc.items() if k != "consortium_id"}}
    suite.files["anchors/consortium-window-in-hours.json"] = dumps(hours_doc)
    hours_anchor = {"consortium": "anchors/consortium-window-in-hours.json"}
    ok("window-in-hours-rounds-half-up-one-ms-early", dp(f2, 12, [appeals[12], hours_early]), "active",
       {hours_early: "refused decision.too_early"},
       f"decision_window_hours {WINDOW_HOURS}: 14062.5 ms, so W = 14063; steward-1 decides 14062 ms after the appeal",
       anchor=hours_anchor)
    ok("window-in-hours-rounds-half-up-at-the-deadline", dp(f2, 13, [appeals[13], hours_on_time]), "overturned",
       {hours_on_time: "effective"}, "steward-1 decides 14063 ms after the appeal", anchor=hours_anchor)
    suite.bad("related.shape", "stewards-ruling-with-65-signatures", dp(f2, 14, [too_many]), anchor=DP_ANCHOR,
              note="65 x 96 bytes of signatures: over the 4096-byte item limit before the limit of 64 signatures")
    suite.bad("related.item", "stewards-ruling-key-ids-out-of-order", dp(f2, 15, [out_of_order]), anchor=DP_ANCHOR,
              note="signatures in strictly increasing key id order")


def _answers_file(suite: Suite) -> None:
    w, n = suite.w, suite.w.named
    g = bundle(w, n["a1"], 1, [n["b1"], n["a2"]])
    text = file_text(g).encode("utf-8")
    for name, token in (("minus-zero-with-an-exponent", b"-0e5"), ("minus-zero-with-a-fraction-and-exponent",
                                                                    b"-0.0e0"),
                        ("minus-zero-with-a-signed-upper-case-exponent", b"-0E+3")):
        suite.bad("file.json", name, text.replace(b'"leaf_index": 1', b'"leaf_index": ' + token, 1),
                  note="a number whose value is zero and whose token starts with -: the exponent does not matter")
    suite.bad("file.field_invalid", "a-negative-number-too-small-for-a-double",
              text.replace(b'"leaf_index": 1', b'"leaf_index": -1e-400', 1),
              note="-1e-400 is not zero (though a double rounds it to -0.0): strict JSON, then no u32")

    def member_edit(edit: Callable[[dict[str, Any]], None]) -> bytes:
        return suite.edited(g, lambda d: edit(d["author"]))

    suite.bad("file.field_invalid", "member-key-window-ends-before-it-starts", member_edit(
        lambda a: a["keys"][1].update(valid_until_ms=str(T0 + 8 * HOUR))),
        note="member-a's rotated key: valid from 9 h, until 8 h (as in consortium files and rosters)")
    suite.bad("file.field_invalid", "member-cutoff-without-revocation", member_edit(
        lambda a: a.update(revoked_after_ms=str(T0 + 11 * HOUR))),
        note="revoked_after_ms > 0 exactly when the status is revoked")
    x_bundle = bundle(w, n["x1"], 0, [])
    suite.bad("file.field_invalid", "member-revoked-without-a-cutoff",
              suite.edited(x_bundle, lambda d: d["author"].pop("revoked_after_ms")),
              note="member-x's entry says revoked, with no cutoff")
    for name, item, note in (
        ("md5-with-quality-7", rec("md5", "7a" * 16, quality=7), "quality is not checked on decoding"),
        ("pdq-with-quality-200", rec("pdq", "7b" * 32, quality=200), "quality is not checked on decoding"),
    ):
        odd = raw_entry(A1, "member-a", 1, ZERO_ID, T0, EntryKind.CONTRIBUTION, [item])
        suite.ok(f"record-{name}", bundle(w, odd, 0, [], heads=_with_head(w, odd)), "active", note=note)
    statement = Assembly.decode(g.assembly)
    unsorted = replace(statement, stewards=tuple(reversed(statement.stewards))).encode()
    suite.bad("assembly.malformed", "stewards-not-sorted", sign_assembly(g, unsorted, C, "member-c"))
    zero = replace(statement, heads=tuple(replace(h, seq=0) if h.author == "member-x" else h
                                         for h in statement.heads)).encode()
    suite.bad("assembly.malformed", "a-head-with-seq-0", sign_assembly(g, zero, C, "member-c"),
              note="member-x's head (no entry of the bundle is member-x's)")


def _answers_rosters(suite: Suite) -> None:
    """Roster bytes that break one decoding rule of membership.md each (anchor.roster_malformed), re-signed."""
    w, n = suite.w, suite.w.named
    e1 = file_text(bundle(w, n["e1"], 0, [])).encode("utf-8")
    good = roster(1).roster_bytes

    def case(name: str, data: bytes, rule: str = "anchor.roster_malformed", note: str = "",
             expect_ok: str = "") -> None:
        assert data != good
        suite.files[f"anchors/roster-v1-{name}.json"] = dumps(roster_file(data, ROSTER_STEWARDS[:2]))
        anchor = {"roster": [f"anchors/roster-v1-{name}.json"], "roster_id": None}
        if expect_ok:
            suite.ok(f"roster-{name}", e1, expect_ok, anchor=anchor, note=note)
        else:
            suite.bad(rule, name if rule.startswith("anchor.") else f"author-not-in-a-roster-{name}", e1,
                      anchor=anchor, note=note)

    def once(data: bytes, old: bytes, new: bytes) -> bytes:
        assert data.count(old) == 1, old
        return data.replace(old, new)

    observer_roles = b"\x00\x01\x00\x08observer"
    case("member-id-syntax", once(good, b"\x00\x09steward-2", b"\x00\x0asteward-2!"),
         note="steward-2! (still the last member in order): 1-64 of a-z 0-9 . _ -")
    case("member-without-roles", once(good, observer_roles, b"\x00\x00"), note="one or more roles")
    case("member-status-0", once(good, observer_roles + b"\x01", observer_roles + b"\x00"), note="status 1..3")
    case("member-status-4", once(good, observer_roles + b"\x01", observer_roles + b"\x04"), note="status 1..3")
    observer_key = b"\x00\x01" + OBSERVER.public.raw + _u64(0) + _u64(0)
    case("member-without-keys", once(good, observer_key, b"\x00\x00"), note="one or more keys")
    e_key = E.public.raw + _u64(0) + _u64(T0 + 2 * HOUR)
    case("key-window-ends-before-it-starts", once(good, e_key, E.public.raw + _u64(T0 + 3 * HOUR) +
                                                   _u64(T0 + 2 * HOUR)), note="member-e's key: from 3 h until 2 h")

    def with_certificate(der: bytes, valid_from: int = 0, valid_until: int = 0) -> bytes:
        return once(good, observer_key + b"\x00\x00",
                    observer_key + b"\x00\x01" + len(der).to_bytes(4, "big") + der + _u64(valid_from) +
                    _u64(valid_until))

    case("certificate-of-8193-bytes", with_certificate(b"\x30" * 8193), note="a certificate is 1..8192 bytes")
    case("certificate-of-0-bytes", with_certificate(b""), note="a certificate is 1..8192 bytes")
    case("certificate-window-ends-before-it-starts", with_certificate(b"\x30" * 100, T0 + 3 * HOUR, T0 + 2 * HOUR))
    case("certificate-of-8192-bytes", with_certificate(b"\x30" * 8192), expect_ok="active",
         note="8192 bytes is within the limit; certificates are not parsed as X.509")
    no_members = Roster(CONSORTIUM, 1, ROSTER_EXPIRES, 2, roster(1).roster.stewards, (), POLICY).encode()
    case("with-no-members", no_members, rule="key.member",
         note="a roster of no members decodes; member-e is then no member of the anchor")
    policy = POLICY.encode()
    tail = b"\x00\x01\x00\x01" + len(policy).to_bytes(4, "big") + policy
    assert good.endswith(tail)
    case("unknown-roster-extension", good[:-len(tail)] + b"\x00\x01\x00\x02" + tail[4:],
         note="roster extension type 2 is not defined")
    further = b"\x00\x01" + len(B_ENDPOINTS[1]).to_bytes(2, "big") + B_ENDPOINTS[1].encode()
    member_ext = b"\x00\x01\x00\x01" + len(further).to_bytes(4, "big") + further
    case("unknown-member-extension", once(good, member_ext, b"\x00\x01\x00\x02" + member_ext[4:]),
         note="member extension type 2 is not defined")
    single = [replace(m, endpoints=m.endpoints[:1]) for m in roster_members()]
    plain = Roster(CONSORTIUM, 1, ROSTER_EXPIRES, 2, roster(1).roster.stewards, tuple(single), POLICY).encode()
    assert plain.endswith(tail) and plain.startswith(b"hashnode.roster.v2\x00")
    case("version-2-form-without-an-extension", plain[:-len(tail)] + b"\x00\x00",
         note="every block empty: such a roster is encoded as version 1")
    window, quorum = policy[:8], policy[8:10]
    for name, bad_policy in (
        ("policy-steward-quorum-0", window + b"\x00\x00" + policy[10:]),
        ("policy-window-over-365-days", _u64(31_536_000_001) + policy[8:]),
        ("policy-dispute-quorum-1001", window + quorum + (1001).to_bytes(2, "big") + policy[12:]),
        ("policy-quarantine-3", policy[:13] + b"\x03"),
    ):
        case(name, good[:-len(policy)] + bad_policy, note="the due-process policy's ranges (extension 1)")


def _answers_consortium(suite: Suite) -> None:
    w, n = suite.w, suite.w.named
    e1 = file_text(bundle(w, n["e1"], 0, [])).encode("utf-8")
    doc = consortium_document(members())
    member_c = next(m for m in doc["member"] if m["id"] == "member-c")
    twice = json.loads(json.dumps(doc))
    next(m for m in twice["member"] if m["id"] == "member-c").update(
        public_key=None, public_keys=[member_c["public_key"], member_c["public_key"]])
    next(m for m in twice["member"] if m["id"] == "member-c").pop("public_key")
    suite.files["anchors/consortium-public-keys-lists-a-key-twice.json"] = dumps(twice)
    tables = json.loads(json.dumps(doc))
    member_a = next(m for m in tables["member"] if m["id"] == "member-a")
    member_a["keys"].append({"public_key": member_a["keys"][0]["public_key"], "valid_from_ms": T0 + 20 * HOUR})
    suite.files["anchors/consortium-keys-lists-a-key-twice.json"] = dumps(tables)
    for name, file in (("public-keys-lists-a-key-twice", "consortium-public-keys-lists-a-key-twice"),
                       ("key-tables-list-a-key-twice", "consortium-keys-lists-a-key-twice")):
        suite.bad("consortium.key_duplicate", name, e1, anchor={"consortium": f"anchors/{file}.json"},
                  note="one key listed twice within a member, as for two members")


# The sections of the suite, in manifest order. A new record form or rule adds its own function here (e.g. a
# signal type's genuine and invalid records: `bundle()` takes any contribution entry, `raw_entry` any item).
SECTIONS: tuple[Callable[[Suite], None], ...] = (
    _anchors, _genuine, _decision_cases, _boundary_cases, _video_cases, _video_limits, _file_rules, _anchor_rules,
    _record_rules, _key_rules, _related_rules, _assembly_rules, _due_process, _answers,
)

__all__ = ["ENTRY_TAG", "SECTIONS", "build"]
