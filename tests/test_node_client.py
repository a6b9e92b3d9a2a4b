"""The independent Node.js client (clients/node): its offline verifier and its demo against a real node.

verify.js is checked against bundles built from the golden vectors, with the Python verifier as the oracle:
both accept the genuine bundles and both refuse every copy with one flipped byte; and against bundles of records
appealed and decided in-process (overturned by the contributor, by a steward after the window, upheld), where
both must derive the same status. demo.js runs against a real node serving TLS with a client token, as the Python
CLI reaches it (the node's certificate as CA, the name `hashnode.peer`, `authorization: Bearer`).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLE_KEYS, NodeFactory, RunningNode, tls_config
from google.protobuf import json_format

from node.api.convert import bundle_from_proto, bundle_to_proto
from node.api.gen.hashnode.v1 import types_pb2
from node.core.errors import VerificationError
from node.core.keys import SigningKey
from node.core.records import HashRecord
from node.dueprocess.items import Outcome
from node.provenance.assembly import Head
from node.provenance.bundle import attest, verify_bundle
from tests.dueprocess_helpers import WINDOW, consortium, record

ROOT = Path(__file__).resolve().parents[1]
CLIENT = ROOT / "clients/node"
GOLDEN = json.loads((ROOT / "tests/vectors/golden.json").read_text(encoding="utf-8"))
ENTRIES = {entry["name"]: entry for entry in GOLDEN["entries"]}
NODE = shutil.which("node")
NPM = shutil.which("npm")
NETWORK_ERRORS = ("ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNREFUSED", "ECONNRESET", "ENETUNREACH")

pytestmark = pytest.mark.skipif(
    NODE is None, reason="Node.js (`node`) is not installed; the Node client needs it"
)


@pytest.fixture(scope="session")
def node_modules() -> Path:
    """Installs the client's locked dependencies once per session (clients/node/node_modules, git-ignored)."""
    if NPM is None:
        pytest.skip("npm is not installed; the Node client's dependencies cannot be installed")
    done = subprocess.run(
        [NPM, "ci", "--no-audit", "--no-fund"], cwd=CLIENT, capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        if any(code in done.stderr for code in NETWORK_ERRORS):
            pytest.skip(f"npm registry unreachable: {done.stderr.strip().splitlines()[-1]}")
        pytest.fail(f"npm ci failed ({done.returncode}):\n{done.stderr}")
    return CLIENT / "node_modules"


# --- bundles from the golden vectors ------------------------------------------------------------------------


def _member() -> types_pb2.MemberInfo:
    key = GOLDEN["keys"][0]
    return types_pb2.MemberInfo(
        member_id=key["name"],
        organisation="Example member A",
        keys=[types_pb2.MemberKey(key_id=key["key_id"], public_key=bytes.fromhex(key["public_key"]))],
        roles=["contributor"],
        status="active",
    )


def _signed(name: str) -> types_pb2.SignedEntry:
    entry = ENTRIES[name]
    return types_pb2.SignedEntry(
        header=bytes.fromhex(entry["header"]),
        signature=bytes.fromhex(entry["signature"]),
        items=[bytes.fromhex(item) for item in entry["items"]],
    )


def golden_bundle(name: str, index: int, related: tuple[str, ...] = ()) -> types_pb2.ProvenanceBundle:
    """The provenance bundle of record `index` of golden entry `name`, as GetProvenance would return it."""
    entry = ENTRIES[name]
    bundle = types_pb2.ProvenanceBundle(
        format_version=1,
        consortium_id=entry["consortium_id"],
        record_id=entry["records"][index]["record_id"],
        record_item=bytes.fromhex(entry["items"][index]),
        leaf_index=index,
        leaf_count=entry["item_count"],
        inclusion_proof=[bytes.fromhex(h) for h in entry["inclusion_proofs"][index]],
        entry_header=bytes.fromhex(entry["header"]),
        entry_signature=bytes.fromhex(entry["signature"]),
        author=_member(),
        related=[
            types_pb2.RelatedEntry(entry=_signed(r), author=_member(), kind=ENTRIES[r]["kind_name"])
            for r in related
        ],
        generated_at_ms=1_700_000_200_000,
        generated_by="member-a",
    )
    return _attested(bundle)


def _attested(msg: types_pb2.ProvenanceBundle) -> types_pb2.ProvenanceBundle:
    """`msg` signed by member-a as its assembler, with member-a's log up to the retraction as its frontier."""
    head = ENTRIES["retraction_seq3"]
    seed = bytes.fromhex(GOLDEN["keys"][0]["seed"])
    msg.assembly = msg.assembly_signature = b"to be signed"  # the reader wants both fields; attest replaces them
    domain = bundle_from_proto(msg)
    attested = attest(
        domain, SigningKey.from_seed(seed), assembler=domain.author or "member-a", assembled_at_ms=1_700_000_200_000,
        heads=[Head("member-a", head["seq"], bytes.fromhex(head["entry_id"]))],
    )
    return bundle_to_proto(attested)


def node_verify(
    bundle: types_pb2.ProvenanceBundle, tmp_path: Path, *args: str, proto_names: bool = False
) -> tuple[int, dict[str, Any]]:
    """Runs `node verify.js` on the proto3 JSON of `bundle`; returns its exit status and its JSON line."""
    path = tmp_path / "bundle.json"
    text = json_format.MessageToJson(bundle, preserving_proto_field_name=proto_names)
    path.write_text(text, encoding="utf-8")
    assert NODE is not None
    done = subprocess.run(
        [NODE, "verify.js", str(path), *args], cwd=CLIENT, capture_output=True, text=True, timeout=30
    )
    assert done.stderr == ""
    return done.returncode, json.loads(done.stdout)


@dataclass(frozen=True)
class Genuine:
    name: str
    entry: str
    index: int
    related: tuple[str, ...]
    status: str


GENUINE = [
    Genuine("pdq record, middle of a 3-leaf tree", "contribution_seq1", 0, (), "active"),
    Genuine("md5 record retracted by its author", "contribution_seq1", 1, ("retraction_seq3",), "retracted"),
    Genuine("last leaf of an odd tree, tags and reference", "contribution_seq1", 2, (), "active"),
    Genuine("single-leaf entry, non-ASCII text", "contribution_seq2", 0, ("retraction_seq3",), "retracted"),
]


@pytest.mark.parametrize("case", GENUINE, ids=[c.name for c in GENUINE])
def test_node_verifies_genuine_bundles_as_python_does(case: Genuine, tmp_path: Path) -> None:
    bundle = golden_bundle(case.entry, case.index, case.related)
    code, out = node_verify(bundle, tmp_path)
    assert (code, out["ok"]) == (0, True), out
    python = verify_bundle(bundle_from_proto(bundle))
    record = HashRecord.decode(bundle.record_item)
    assert out["record_id"] == python.record_id.hex() == bundle.record_id
    assert out["entry_id"] == python.entry_id.hex() == ENTRIES[case.entry]["entry_id"]
    assert out["record"] == record.as_json()
    assert out["status"] == python.status == case.status
    assert [e["summary"] for e in out["history"]] == [e.summary for e in python.history]
    assert out["key_id"] == GOLDEN["keys"][0]["key_id"]


def test_node_reads_proto_field_names_too(tmp_path: Path) -> None:
    bundle = golden_bundle("contribution_seq1", 1, ("retraction_seq3",))
    code, out = node_verify(bundle, tmp_path, proto_names=True)
    assert (code, out["status"]) == (0, "retracted")


@dataclass(frozen=True)
class Flip:
    name: str
    field: str
    offset: int
    error: str  # what verify.js says


FLIPS = [
    Flip("record item: hash value", "record_item", 10, "inclusion proof does not lead to the signed"),
    Flip("record item: label text", "record_item", 60, "inclusion proof does not lead to the signed"),
    Flip("header: domain tag", "entry_header", 0, "wrong domain tag"),
    Flip("header: consortium id", "entry_header", 25, "entry is of consortium"),
    Flip("header: key id", "entry_header", 48, "is not in the bundle's member entry"),
    Flip("header: timestamp", "entry_header", 127, "signature does not verify"),
    Flip("header: body root", "entry_header", 165, "signature does not verify"),
    Flip("signature: R", "entry_signature", 0, "signature does not verify"),
    Flip("signature: S", "entry_signature", 63, "signature does not verify"),
    Flip("inclusion proof: first sibling", "inclusion_proof", 0, "inclusion proof does not lead"),
    Flip("related retraction: an item", "related_item", 3, "items do not match the signed body root"),
    Flip("related retraction: its signature", "related_signature", 5, "signature does not verify"),
]


def flipped(bundle: types_pb2.ProvenanceBundle, flip: Flip) -> types_pb2.ProvenanceBundle:
    """A copy of `bundle` with one bit changed at `flip.offset` of `flip.field`."""
    copy = types_pb2.ProvenanceBundle()
    copy.CopyFrom(bundle)

    def bit(data: bytes) -> bytes:
        changed = bytearray(data)
        changed[flip.offset] ^= 0x01
        return bytes(changed)

    if flip.field == "inclusion_proof":
        copy.inclusion_proof[0] = bit(copy.inclusion_proof[0])
    elif flip.field == "related_item":
        copy.related[0].entry.items[0] = bit(copy.related[0].entry.items[0])
    elif flip.field == "related_signature":
        copy.related[0].entry.signature = bit(copy.related[0].entry.signature)
    else:
        setattr(copy, flip.field, bit(getattr(copy, flip.field)))
    return copy


@pytest.mark.parametrize("flip", FLIPS, ids=[f.name for f in FLIPS])
def test_node_refuses_a_bundle_with_one_flipped_byte(flip: Flip, tmp_path: Path) -> None:
    bundle = flipped(golden_bundle("contribution_seq1", 1, ("retraction_seq3",)), flip)
    code, out = node_verify(bundle, tmp_path)
    assert (code, out["ok"]) == (1, False)
    assert flip.error in out["error"]
    with pytest.raises(VerificationError):  # the Python verifier, as oracle, refuses it too
        verify_bundle(bundle_from_proto(bundle))


def test_node_refuses_a_signer_other_than_the_pinned_key(tmp_path: Path) -> None:
    bundle = golden_bundle("contribution_seq1", 0)
    code, out = node_verify(bundle, tmp_path, "--key-id", "00" * 32)
    assert (code, out["ok"]) == (1, False)
    assert "not one of the pinned key ids" in out["error"]
    code, out = node_verify(bundle, tmp_path, "--key-id", GOLDEN["keys"][0]["key_id"])
    assert code == 0


def test_node_refuses_a_bundle_of_another_consortium(tmp_path: Path) -> None:
    code, out = node_verify(golden_bundle("contribution_seq1", 0), tmp_path, "--consortium-id", "other")
    assert (code, out["ok"]) == (1, False)


# --- due-process decisions: verify.js and the Python verifier derive the same status ---------------------------


@dataclass(frozen=True)
class Decided:
    name: str
    decider: str  # the member that decides the appeal
    outcome: Outcome
    wait_ms: int  # how long after the appeal the decision is signed
    status: str


DECIDED = [
    Decided("overturned by the contributor", "platform-a", Outcome.OVERTURNED, 0, "overturned"),
    Decided("overturned by a steward after the window", "steward-1", Outcome.OVERTURNED, WINDOW, "overturned"),
    Decided("upheld by the contributor", "platform-a", Outcome.UPHELD, 0, "active"),
]


@pytest.mark.parametrize("case", DECIDED, ids=[c.name for c in DECIDED])
def test_node_derives_the_status_of_a_decided_appeal_as_python_does(case: Decided, tmp_path: Path) -> None:
    with consortium(tmp_path / "ledgers") as nodes:
        for member in ("platform-a", "platform-b", "steward-1"):
            nodes.open(member)
        [rid] = nodes.nodes["platform-a"].submit([record()]).record_ids
        nodes.sync()
        appeal = nodes.nodes["platform-b"].appeal(rid, "case-42", match_distance=6)
        nodes.sync()
        nodes.clock.advance(case.wait_ms)
        nodes.nodes[case.decider].decide(appeal.entry_id, case.outcome, "satire, not propaganda")
        nodes.sync()
        bundle = bundle_to_proto(nodes.nodes["platform-a"].provenance(rid))
    python = verify_bundle(bundle_from_proto(bundle))
    assert python.status == case.status
    code, out = node_verify(bundle, tmp_path)
    assert (code, out["ok"]) == (0, True), out
    assert out["status"] == python.status
    assert [(e["kind"], e["author"], e["summary"]) for e in out["history"]] == [
        (e.kind, e.author, e.summary) for e in python.history
    ]
    [ruling] = [e["ruling"] for e in out["history"] if e["kind"] == "decision"]
    assert ruling == next(e.ruling for e in python.history if e.kind == "decision") == "effective"


@pytest.mark.parametrize("claim", ["a longer window", "no stewards"])
def test_the_unsigned_steward_and_window_fields_change_nothing(claim: str, tmp_path: Path) -> None:
    """The bundle's `stewards` and `decision_window_ms` are conveniences: without an anchor the stewards and the
    window are those the assembler signed in its statement, so changing the fields leaves the steward's
    decision effective."""
    with consortium(tmp_path / "ledgers") as nodes:
        for member in ("platform-a", "platform-b", "steward-1"):
            nodes.open(member)
        [rid] = nodes.nodes["platform-a"].submit([record()]).record_ids
        nodes.sync()
        appeal = nodes.nodes["platform-b"].appeal(rid, "case-43")
        nodes.sync()
        nodes.clock.advance(WINDOW)
        nodes.nodes["steward-1"].decide(appeal.entry_id, Outcome.OVERTURNED, "no answer from the contributor")
        nodes.sync()
        bundle = bundle_to_proto(nodes.nodes["platform-a"].provenance(rid))
    if claim == "a longer window":
        bundle.decision_window_ms = WINDOW + 1
    else:
        del bundle.stewards[:]
        for related in bundle.related:
            if "steward" in related.author.roles:
                related.author.roles.remove("steward")
    python = verify_bundle(bundle_from_proto(bundle))
    assert python.status == "overturned"
    assert next(e.ruling for e in python.history if e.kind == "decision") == "effective"


# --- the demo against a real node ---------------------------------------------------------------------------

CA = EXAMPLE_KEYS / "platform-a.crt"
CLIENT_TOKEN = EXAMPLE_KEYS / "platform-a.client-token"


def run_demo(*args: str | Path) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    assert NODE is not None
    done = subprocess.run(
        [NODE, "demo.js", *map(str, args)], cwd=CLIENT, capture_output=True, text=True, timeout=60
    )
    return done, [json.loads(line) for line in done.stdout.splitlines()]


@pytest.fixture
def tls_node(node_factory: NodeFactory, tmp_path: Path) -> RunningNode:
    """platform-a serving TLS with its example certificate and client token (conftest's `tls_config`)."""
    return node_factory(tls_config(tmp_path / "tls-data"))


def test_demo_submits_matches_and_verifies_against_a_tls_node_with_a_token(
    node_modules: Path, tls_node: RunningNode
) -> None:
    done, lines = run_demo(tls_node.target, "--ca", CA, "--token-file", CLIENT_TOKEN)
    assert done.returncode == 0, done.stdout + done.stderr
    steps = [line["step"] for line in lines]
    assert steps == ["connect", "submit", *["match"] * 2, *["verify"] * 2, *["tamper"] * 3, "done"]
    assert lines[0]["tls"] is True
    submit = lines[1]
    assert [m["distance"] for m in lines[2:4]] == [4, 0]
    assert [m["record_id"] for m in lines[2:4]] == submit["record_ids"]
    assert [v["record"]["signal_type"] for v in lines[4:6]] == ["pdq", "md5"]
    assert all(v["author"] == "platform-a" for v in lines[4:6])
    assert {t["field"] for t in lines[6:9]} == {"record_item", "entry_header", "entry_signature"}
    assert all(t["rejected"] for t in lines[6:9])
    assert int(tls_node.ledger.stats()["records"]) == 2  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("name", "args", "code"),
    [
        (
            "a token the node does not know",
            ("--ca", CA, "--token-file", EXAMPLE_KEYS / "platform-a.admin-token"),
            "UNAUTHENTICATED",
        ),
        ("no token at all", ("--ca", CA), "UNAUTHENTICATED"),
        ("plaintext to a TLS node", ("--insecure",), "UNAVAILABLE"),
    ],
    ids=lambda v: v if isinstance(v, str) and " " in v else "",
)
def test_demo_is_refused_by_a_tls_node_without_the_right_credentials(
    node_modules: Path, tls_node: RunningNode, name: str, args: tuple[str | Path, ...], code: str
) -> None:
    done, lines = run_demo(tls_node.target, *args)
    assert done.returncode == 1, done.stdout + done.stderr
    assert (lines[-1]["step"], lines[-1]["ok"]) == ("failed", False)
    assert lines[-1]["error"].startswith(code), lines[-1]
    assert int(tls_node.ledger.stats()["records"]) == 0  # type: ignore[call-overload]


def test_demo_runs_in_plaintext_against_an_insecure_node_only_when_asked(
    node_modules: Path, node: RunningNode
) -> None:
    done, lines = run_demo(node.target, "--insecure")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (lines[0]["tls"], lines[-1]["step"]) == (False, "done")
    assert node.record_count() == 2
    done, _ = run_demo(node.target)  # neither --ca nor --insecure: a usage error, nothing sent in plaintext
    assert done.returncode == 2 and "--ca" in done.stderr


def test_demo_fails_with_a_non_zero_status_when_no_node_answers(node_modules: Path) -> None:
    done, lines = run_demo("127.0.0.1:1", "--ca", CA, "--token-file", CLIENT_TOKEN)
    assert done.returncode == 1
    assert (lines[-1]["step"], lines[-1]["ok"]) == ("failed", False)
    assert lines[-1]["error"].startswith("UNAVAILABLE")
