"""The independent Node.js client (clients/node): its offline verifier and its demo against a real node.

verify.js runs the whole conformance suite (tests/vectors/bundles) and must agree with the manifest and with
`hashnode verify` on every case; and it verifies bundles of records appealed and decided in-process (overturned
by the contributor, by a steward after the window, upheld), where both must derive the same status, and where a
removed decision fails both. demo.js runs against a real node serving TLS with a client token, as the Python
CLI reaches it (the node's certificate as CA, the name `hashnode.peer`, `authorization: Bearer`).
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLE_KEYS, Cli, NodeFactory, RunningNode, tls_config
from google.protobuf import json_format

from node.api.convert import bundle_from_proto, bundle_to_proto
from node.api.gen.hashnode.v1 import types_pb2
from node.core.entry import EntryKind
from node.dueprocess.items import DecidedAs, DecisionItem, Outcome, Stance
from node.dueprocess.ruling import Ruling, SignedRuling
from node.membership import consortium_file
from node.membership.consortium_policy import ConsortiumPolicy, QuarantineMode
from node.provenance import bundle_file
from node.provenance.bundle import verify_bundle
from node.provenance.rules import Rejected
from tests.dueprocess_helpers import CONSORTIUM, WINDOW, consortium, record, signing_key
from tests.test_bundle_vectors import outcome

ROOT = Path(__file__).resolve().parents[1]
CLIENT = ROOT / "clients/node"
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


# --- the conformance suite: verify.js and hashnode verify agree case by case ------------------------------------

SUITE = ROOT / "tests/vectors/bundles"
MANIFEST = json.loads((SUITE / "manifest.json").read_text(encoding="utf-8"))
CASES: list[dict[str, Any]] = MANIFEST["cases"]


@pytest.fixture(scope="session")
def node_outcomes() -> dict[str, dict[str, Any]]:
    """verify.js's outcome of every case, from one run of run-vectors.js over the whole manifest."""
    assert NODE is not None
    done = subprocess.run(
        [NODE, "run-vectors.js", str(SUITE / "manifest.json")], cwd=CLIENT, capture_output=True, text=True,
        timeout=120,
    )
    assert done.stderr == "", done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == f"{len(CASES)} passed, 0 failed", "\n".join(line for line in lines if '"ok":false' in line)
    assert done.returncode == 0
    return {found["name"]: found for found in map(json.loads, lines[:-1])}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_verify_js_and_hashnode_verify_agree_with_the_manifest(
    case: dict[str, Any], node_outcomes: dict[str, dict[str, Any]]
) -> None:
    found = node_outcomes[case["name"]]
    python = outcome(case, case["anchor"])
    keys = ("expect", "status", "rulings", "ruling_rules") if case["expect"] == "verified" else ("expect", "rule")
    assert {k: found[k] for k in keys} == python == {k: case[k] for k in keys}


def node_verify(path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    """Runs `node verify.js FILE ARGS`; returns its exit status and its JSON line."""
    assert NODE is not None
    done = subprocess.run([NODE, "verify.js", str(path), *args], cwd=CLIENT, capture_output=True, text=True,
                          timeout=30)
    assert done.stderr == ""
    return done.returncode, json.loads(done.stdout)


def case_path(name: str) -> Path:
    return SUITE / next(c["bundle"] for c in CASES if c["name"] == name)


def test_the_command_line_verifies_and_refuses_with_the_rule() -> None:
    anchor = str(SUITE / "anchors/consortium.json")
    code, out = node_verify(case_path("verified/overturned-by-the-contributor"), "--consortium", anchor,
                            "--time-ms", "1700043200000")
    assert (code, out["ok"], out["status"], out["pinned"]) == (0, True, "overturned", True)
    assert out["assembly"]["assembler"] == "member-c"
    code, out = node_verify(case_path("related.kind/reserved-kind-6"), "--consortium", anchor)
    assert (code, out["ok"], out["rule"]) == (1, False, "related.kind")
    code, out = node_verify(case_path("verified/no-history"), "--roster", str(SUITE / "anchors/roster-v1.json"),
                            "--time-ms", "1700043200000")
    assert (code, out["status"]) == (0, "active")


def test_the_command_line_pins_key_ids_and_the_consortium_without_an_anchor() -> None:
    path = case_path("verified/no-history")
    code, out = node_verify(path)
    assert (code, out["pinned"]) == (0, False)
    code, out = node_verify(path, "--key-id", "00" * 32)
    assert (code, out["rule"]) == (1, "key.unknown")
    code, out = node_verify(path, "--consortium-id", "other")
    assert (code, out["rule"]) == (1, "record.consortium")


def test_the_command_line_usage_errors_exit_2(tmp_path: Path) -> None:
    assert NODE is not None
    bundle = str(case_path("verified/no-history"))
    roster = str(SUITE / "anchors/roster-v1.json")
    toml = str(SUITE / "anchors/consortium.toml")
    for args in ([], [str(tmp_path / "absent.json")], ["a.json", "--consortium", "c.json", "--roster", "r.json"],
                 [bundle, "--consortium", str(tmp_path / "absent.json")],
                 [bundle, "--roster", roster, "--roster-id", "zz"], [bundle, "--roster-id", "00" * 32],
                 [bundle, "--consortium", toml]):
        done = subprocess.run([NODE, "verify.js", *args], cwd=CLIENT, capture_output=True, text=True, timeout=30)
        assert done.returncode == 2 and done.stdout == "" and "Error" not in done.stderr, args


def test_the_command_line_takes_a_roster_pin_in_either_case() -> None:
    pinned = next(c for c in CASES if c["name"] == "verified/overturned-roster-pinned-later-version")
    pin = pinned["anchor"]["roster_id"]
    for shown in (pin, pin.upper()):
        code, out = node_verify(case_path("verified/no-history"), "--roster", str(SUITE / "anchors/roster-v2.json"),
                                "--roster-id", shown, "--time-ms", "1700043200000")
        assert (code, out["ok"]) == (0, True)


def test_the_command_line_refuses_a_broken_anchor_with_its_rule() -> None:
    code, out = node_verify(case_path("verified/no-history"), "--consortium",
                            str(SUITE / "anchors/consortium-unknown-field.json"))
    assert (code, out["ok"], out["rule"]) == (1, False, "consortium.field_unknown")


def test_both_verifiers_show_a_video_records_features_alike(cli: Cli) -> None:
    path = case_path("verified/vpdq-video-record")
    code, out = node_verify(path, "--consortium", str(SUITE / "anchors/consortium.json"))
    assert (code, out["ok"]) == (0, True)
    done = cli("verify", path, "--consortium", SUITE / "anchors/consortium.json", "--json")
    assert done.code == 0, done.err
    python = json.loads(done.out)["record"]
    assert out["record"] == python
    assert (python["signal_type"], python["value"], python["quality"]) == ("vpdq", "", 75)
    assert [f["quality"] for f in python["video"]["frames"]] == [100, 30, 80, 80]
    text = cli("verify", path, "--consortium", SUITE / "anchors/consortium.json")
    assert "hash          vpdq 4 frames over 0:03 (one every 1000 ms), 3 of quality >= 50 (quality 75)" in text.out


# --- bundles of live nodes: verify.js and the Python verifier derive the same status ----------------------------


def write_bundle(bundle: types_pb2.ProvenanceBundle, tmp_path: Path, *, proto_names: bool = True) -> Path:
    path = tmp_path / "bundle.json"
    path.write_text(json_format.MessageToJson(bundle, preserving_proto_field_name=proto_names), encoding="utf-8")
    return path


def appealed_bundle(tmp_path: Path, decider: str, outcome_: Outcome, wait_ms: int) -> types_pb2.ProvenanceBundle:
    with consortium(tmp_path / "ledgers") as nodes:
        for member in ("platform-a", "platform-b", "steward-1"):
            nodes.open(member)
        [rid] = nodes.nodes["platform-a"].submit([record()]).record_ids
        nodes.sync()
        appeal = nodes.nodes["platform-b"].appeal(rid, "case-42", match_distance=6)
        nodes.sync()
        nodes.clock.advance(wait_ms)
        nodes.nodes[decider].decide(appeal.entry_id, outcome_, "satire, not propaganda")
        nodes.sync()
        return bundle_to_proto(nodes.nodes["platform-a"].provenance(rid))


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
    bundle = appealed_bundle(tmp_path, case.decider, case.outcome, case.wait_ms)
    python = verify_bundle(bundle_from_proto(bundle))
    assert python.status == case.status
    code, out = node_verify(write_bundle(bundle, tmp_path))
    assert (code, out["ok"]) == (0, True), out
    assert out["status"] == python.status
    assert [(e["kind"], e["author"], e["summary"]) for e in out["history"]] == [
        (e.kind, e.author, e.summary) for e in python.history
    ]
    [ruling] = [e["ruling"] for e in out["history"] if e["kind"] == "decision"]
    assert ruling == next(e.ruling for e in python.history if e.kind == "decision") == "effective"


def test_a_bundle_with_the_decision_removed_fails_in_both_verifiers(tmp_path: Path) -> None:
    """Issue 16: a bundle missing an entry below the assembler's signed frontier fails verification."""
    bundle = appealed_bundle(tmp_path, "platform-a", Outcome.OVERTURNED, 0)
    decisions = [i for i, r in enumerate(bundle.related) if r.kind == "decision"]
    del bundle.related[decisions[0]]
    code, out = node_verify(write_bundle(bundle, tmp_path))
    assert (code, out["rule"]) == (1, "assembly.omitted")
    with pytest.raises(Rejected) as python:
        verify_bundle(bundle_from_proto(bundle))
    assert python.value.rule == "assembly.omitted"


def test_camel_case_names_are_not_the_files_names_in_both_verifiers(tmp_path: Path) -> None:
    """The JSON mapping's camelCase form (grpcurl's) is not a bundle file: its `formatVersion` leaves the
    required `format_version` missing."""
    bundle = appealed_bundle(tmp_path, "platform-a", Outcome.UPHELD, 0)
    path = write_bundle(bundle, tmp_path, proto_names=False)
    code, out = node_verify(path)
    assert (code, out["rule"]) == (1, "file.field_missing")
    with pytest.raises(Rejected) as python:
        bundle_file.parse(path.read_bytes())
    assert python.value.rule == "file.field_missing"


@pytest.mark.parametrize("claim", ["a longer window", "no stewards"])
def test_the_unsigned_steward_and_window_fields_change_nothing(claim: str, tmp_path: Path) -> None:
    """The bundle's `stewards` and `decision_window_ms` are conveniences: without an anchor the stewards and the
    window are those the assembler signed in its statement, so changing the fields leaves the steward's
    decision effective, in both verifiers."""
    bundle = appealed_bundle(tmp_path, "steward-1", Outcome.OVERTURNED, WINDOW)
    if claim == "a longer window":
        bundle.decision_window_ms = WINDOW + 1
    else:
        del bundle.stewards[:]
        for related in bundle.related:
            if "steward" in related.author.roles:
                related.author.roles.remove("steward")
    python = verify_bundle(bundle_from_proto(bundle))
    code, out = node_verify(write_bundle(bundle, tmp_path))
    assert (code, out["status"], python.status) == (0, "overturned", "overturned")
    [ruling] = [e["ruling"] for e in out["history"] if e["kind"] == "decision"]
    assert ruling == next(e.ruling for e in python.history if e.kind == "decision") == "effective"


# --- no input makes verify.js throw anything but a VerificationError ---------------------------------------------

FUZZ_RUNNER = """
const fs = require("node:fs");
const path = require("node:path");
const { readBundleFile, verifyRead, readConsortiumFile, VerificationError } = require("./verify");
const anchor = readConsortiumFile(fs.readFileSync(process.argv[2]));
const outcomes = [];
for (const name of fs.readdirSync(process.argv[1]).sort()) {
  const data = fs.readFileSync(path.join(process.argv[1], name));
  for (const a of [null, anchor]) {
    try {
      verifyRead(readBundleFile(data), a);
      outcomes.push("verified");
    } catch (err) {
      if (!(err instanceof VerificationError) || !err.rule) throw err;
      outcomes.push(err.rule);
    }
  }
}
process.stdout.write(JSON.stringify(outcomes));
"""


def test_no_mutated_bundle_file_makes_verify_js_fail_other_than_by_a_rule(tmp_path: Path) -> None:
    """Seeded byte and JSON mutations of a genuine bundle file: each verifies or names a rule of §9.8, and
    verify.js and hashnode verify agree on which."""
    rng = random.Random(15)
    genuine = case_path("verified/overturned-by-the-contributor").read_bytes()
    files = tmp_path / "mutants"
    files.mkdir()
    for n in range(300):
        data = bytearray(genuine)
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(data))
            choice = rng.random()
            if choice < 0.5:
                data[i] = rng.randrange(256)
            elif choice < 0.75:
                del data[i]
            else:
                data[i:i] = rng.choice([b",", b"0", b'"', b"{", b"]", b"A", b"-0", b"\\u0000"])
        (files / f"{n:04d}.json").write_bytes(bytes(data))
    assert NODE is not None
    anchor = SUITE / "anchors/consortium.json"
    done = subprocess.run([NODE, "-e", FUZZ_RUNNER, str(files), str(anchor)], cwd=CLIENT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    node_rules = json.loads(done.stdout)
    membership = consortium_file.load(anchor)
    python_rules = []
    for path in sorted(files.iterdir()):
        for trusted in (None, membership):
            try:
                verify_bundle(bundle_file.parse(path.read_bytes()), trusted=trusted)
                python_rules.append("verified")
            except Rejected as exc:
                python_rules.append(exc.rule)
    assert node_rules == python_rules
    assert len(set(node_rules)) > 5  # the mutations reach many rules, not only file.json


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


@pytest.mark.parametrize("signers", [("steward-1", "steward-2"), ("steward-1",)], ids=["quorum met", "one short"])
def test_node_rules_on_a_stewards_ruling_as_python_does(signers: tuple[str, ...], tmp_path: Path) -> None:
    """A ruling signed offline by stewards and published by a third member: both verifiers check the signatures
    against the stewards' keys and the quorum the assembler signed (2). The short one is signed into a log
    directly: a node refuses to publish it, but a verifier must refuse it on its own."""
    with consortium(tmp_path / "ledgers") as nodes:
        nodes.members.policy = ConsortiumPolicy(decision_window_ms=WINDOW, steward_quorum=2)
        for member in ("platform-a", "platform-b", "platform-c"):
            nodes.open(member)
        [rid] = nodes.nodes["platform-a"].submit([record()]).record_ids
        nodes.sync()
        appeal = nodes.nodes["platform-b"].appeal(rid, "case-44")
        nodes.sync()
        nodes.clock.advance(WINDOW)
        signed = SignedRuling(Ruling(CONSORTIUM, rid, appeal.entry_id, Outcome.OVERTURNED, "silence", nodes.clock.now))
        for steward in signers:
            signed = signed.sign(signing_key(steward))
        item = DecisionItem.create(
            rid, appeal.entry_id, Outcome.OVERTURNED, "silence", DecidedAs.STEWARDS, nodes.clock.now, signed.signatures
        )
        nodes.nodes["platform-c"]._author(EntryKind.DECISION, [item.encode()])
        nodes.sync()
        bundle = bundle_to_proto(nodes.nodes["platform-a"].provenance(rid))
    python = verify_bundle(bundle_from_proto(bundle))
    code, out = node_verify(write_bundle(bundle, tmp_path))
    assert (code, out["ok"]) == (0, True), out
    assert out["status"] == python.status == ("overturned" if len(signers) == 2 else "active")
    assert [(e["kind"], e["summary"], e.get("ruling", "")) for e in out["history"]] == [
        (e.kind, e.summary, e.ruling) for e in python.history
    ]
    if len(signers) == 1:
        assert python.history[-1].ruling == "refused: stewards' ruling: signed by 1 steward(s) (steward-1), want 2"


@pytest.mark.parametrize(
    ("quarantine", "decided", "status"),
    [("mark", None, "disputed"), ("withhold", None, "quarantined"), ("mark", Outcome.OVERTURNED, "overturned"),
     ("mark", Outcome.UPHELD, "active")],
    ids=["open case, mark", "open case, withhold", "case overturned", "case upheld"],
)
def test_node_derives_dispute_cases_as_python_does(
    quarantine: str, decided: Outcome | None, status: str, tmp_path: Path
) -> None:
    with consortium(tmp_path / "ledgers") as nodes:
        nodes.members.policy = ConsortiumPolicy(
            decision_window_ms=WINDOW, dispute_quorum=2, quarantine=QuarantineMode.parse(quarantine, "q")
        )
        for member in ("platform-a", "platform-b", "platform-c"):
            nodes.open(member)
        [rid] = nodes.nodes["platform-a"].submit([record()]).record_ids
        nodes.sync()
        case = b""
        for member in ("platform-b", "platform-c"):
            nodes.clock.advance(1_000)
            case = nodes.nodes[member].opine(rid, Stance.FALSE_POSITIVE, "not_tvec").entry_id
            nodes.sync()
        if decided is not None:
            nodes.nodes["platform-a"].decide(case, decided, "reviewed")
            nodes.sync()
        bundle = bundle_to_proto(nodes.nodes["platform-a"].provenance(rid))
    python = verify_bundle(bundle_from_proto(bundle))
    code, out = node_verify(write_bundle(bundle, tmp_path))
    assert (code, out["ok"]) == (0, True), out
    assert out["status"] == python.status == status
    assert [e.get("ruling", "") for e in out["history"]] == [e.ruling for e in python.history]
