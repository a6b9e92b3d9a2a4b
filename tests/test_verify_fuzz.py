"""`hashnode verify` on any bundle file and any consortium file: VERIFIED (exit 0) or one line naming a documented
rule (exit 1), never a traceback (issue 12 item 6; docs/protocol.md §9).

Hypothesis mutates genuine files at every level: the raw bytes, the JSON values (types, numbers, strings, base64
text, deleted and added fields), and the signed bytes inside the base64 fields. The genuine bundles are a sample
one and conformance vectors that carry every part of due process (stewards' rulings with their signatures, dispute
reports, the referrer role, the stewards' member entries, the assembly's policy); the consortium file is the
vectors' due-process anchor (steward and dispute quorums, trusted flaggers' disputes, quarantine mode, rotated keys,
a revoked steward). Related entries are also signed anew by a member's key with any kind (reserved ones),
sequence number and items, with and without an anchor, so that the checks after the signature are reached. Each
mutated file goes through the command's own entry point (`node.cli.main.main`), as a user's would.
"""

from __future__ import annotations

import base64
import copy
import functools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.api import convert
from node.api.gen.hashnode.v1 import types_pb2
from node.cli.main import main
from node.core.entry import ZERO_ID, EntryKind, sign_entry
from node.provenance.rules import RULES
from testkit.consortium import EXAMPLE_KEYS
from testkit.fuzz import member_key, sample_bundle, trusted_membership

JsonValue = Any
EXAMPLE_CONSORTIUM = EXAMPLE_KEYS / "consortium.toml"


@functools.cache
def genuine() -> dict[str, JsonValue]:
    return json.loads(convert.bundle_to_json(sample_bundle()))  # type: ignore[no-any-return]


VECTORS = Path(__file__).resolve().parent / "vectors/bundles"
DUE_PROCESS_ANCHOR = VECTORS / "anchors/consortium-due-process.json"
# Vectors whose bundles carry the due-process fields: rulings (decided_as 3, signatures), reports that open a case,
# a referrer's entries, stewards' member entries; verified against the due-process anchor, or without one.
DUE_PROCESS_BUNDLES = (
    "verified/stewards-ruling-meeting-the-quorum",
    "verified/stewards-ruling-meeting-the-quorum-without-an-anchor",
    "verified/dispute-case-upheld-then-a-new-report-opens-another",
    "verified/referrer-contributes-and-decides-its-own-appeal",
)


@functools.cache
def vector_document(name: str) -> dict[str, JsonValue]:
    return json.loads((VECTORS / "cases" / f"{name}.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@functools.cache
def anchor_document() -> dict[str, JsonValue]:
    return json.loads(DUE_PROCESS_ANCHOR.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def paths(value: JsonValue, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a JSON value (object keys and array indexes), the root included."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += paths(item, (*prefix, i))
    return found


def replaced(document: JsonValue, path: tuple[Any, ...], new: JsonValue) -> JsonValue:
    if not path:
        return new
    copied = copy.deepcopy(document)
    parent = copied
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = new
    return copied


def deleted(document: JsonValue, path: tuple[Any, ...]) -> JsonValue:
    if not path:
        return document
    copied = copy.deepcopy(document)
    parent = copied
    for step in path[:-1]:
        parent = parent[step]
    del parent[path[-1]]
    return copied


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.just("A" * 43 + "="),  # base64 of 32 bytes
    st.just("9" * 25),
)


def _flip_base64(text: str, position: int) -> str:
    try:
        data = bytearray(base64.b64decode(text, validate=True))
    except ValueError:
        return text
    if not data:
        return text
    data[position % len(data)] ^= 1 << (position % 8)
    return base64.b64encode(bytes(data)).decode("ascii")


def mutate(draw: st.DrawFn, document: JsonValue) -> JsonValue:
    """One to three mutations anywhere in a JSON document."""
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        where = draw(st.sampled_from(paths(document)))
        action = draw(st.sampled_from(["replace", "delete", "add", "flip", "wrap"]))
        if action == "replace":
            document = replaced(document, where, draw(SCALARS))
        elif action == "delete":
            document = deleted(document, where)
        elif action == "add":
            target = document
            for step in where:
                target = target[step]
            if isinstance(target, dict):
                document = replaced(document, (*where, draw(st.text(max_size=12))), draw(SCALARS))
        elif action == "flip":
            target = document
            for step in where:
                target = target[step]
            if isinstance(target, str):
                document = replaced(document, where, _flip_base64(target, draw(st.integers(0, 10_000))))
        else:
            target = document
            for step in where:
                target = target[step]
            document = replaced(document, where, draw(st.sampled_from([[target], {"x": target}, str(target)])))
    return document


@st.composite
def mutated_document(draw: st.DrawFn) -> bytes:
    return json.dumps(mutate(draw, genuine())).encode("utf-8")


@st.composite
def mutated_due_process_bundle(draw: st.DrawFn) -> tuple[bytes, bool]:
    """A due-process vector's bundle, mutated; and whether to verify it against the due-process anchor."""
    document = mutate(draw, vector_document(draw(st.sampled_from(DUE_PROCESS_BUNDLES))))
    return json.dumps(document, ensure_ascii=False).encode("utf-8"), draw(st.booleans())


POLICY_VALUES = st.one_of(SCALARS, st.sampled_from(["mark", "withhold", "MARK", "quarantine"]),
                          st.integers(min_value=-2, max_value=1002), st.sampled_from(
                              [["referrer"], ["trusted_flagger", "steward"], ["steward", "steward"], [], ["admin"]]))


@st.composite
def mutated_consortium_file(draw: st.DrawFn) -> bytes:
    """The due-process anchor with its policy fields, roles, keys and cutoffs (and anything else) mutated."""
    document = anchor_document()
    for _ in range(draw(st.integers(min_value=0, max_value=2))):
        field = draw(st.sampled_from(["steward_quorum", "dispute_quorum", "trusted_flagger_disputes", "quarantine",
                                      "decision_window_ms", "decision_window_hours"]))
        document = replaced(document, (field,), draw(POLICY_VALUES))
    member = draw(st.integers(0, len(document["member"]) - 1))
    field = draw(st.sampled_from(["roles", "status", "revoked_after_ms", "keys", "public_key", "public_keys"]))
    if draw(st.booleans()):
        document = replaced(document, ("member", member, field), draw(POLICY_VALUES))
    return json.dumps(mutate(draw, document)).encode("utf-8")


@st.composite
def mutated_bytes(draw: st.DrawFn) -> bytes:
    data = bytearray(convert.bundle_to_json(sample_bundle()).encode("utf-8"))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        position = draw(st.integers(0, len(data) - 1))
        choice = draw(st.sampled_from(["set", "delete", "insert"]))
        if choice == "set":
            data[position] = draw(st.integers(0, 255))
        elif choice == "delete":
            del data[position]
        else:
            data[position:position] = draw(st.binary(min_size=1, max_size=4))
    return bytes(data)


def run_verify(tmp_path: Path, data: bytes, capsys: pytest.CaptureFixture[str], *anchor: str) -> None:
    path = tmp_path / "bundle.json"
    path.write_bytes(data)
    code = main(["verify", str(path), *anchor])
    out, err = capsys.readouterr()
    if code == 0:
        assert out.startswith("VERIFIED") and err == ""
        return
    assert code == 1, (code, err)
    assert out == "" and err.count("\n") == 1 and err.startswith("VERIFICATION FAILED: "), err
    rule = err.rstrip().rpartition("[rule ")[2].rstrip("]")
    assert rule in RULES, err


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(data=mutated_document())
def test_a_mutated_bundle_document_verifies_or_fails_in_one_line(
    data: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_verify(tmp_path, data, capsys)


@FUZZ
@given(data=mutated_bytes())
def test_a_bundle_file_with_mutated_bytes_verifies_or_fails_in_one_line(
    data: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_verify(tmp_path, data, capsys)


DUE_PROCESS_FUZZ = settings(max_examples=150, deadline=None,
                            suppress_health_check=[HealthCheck.function_scoped_fixture])


@DUE_PROCESS_FUZZ
@given(case=mutated_due_process_bundle())
def test_a_mutated_due_process_bundle_verifies_or_fails_in_one_line(
    case: tuple[bytes, bool], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, anchored = case
    anchor = ("--consortium", str(DUE_PROCESS_ANCHOR)) if anchored else ()
    run_verify(tmp_path, data, capsys, *anchor, "--time-ms", "1700043200000")


@DUE_PROCESS_FUZZ
@given(data=mutated_consortium_file())
def test_a_mutated_consortium_file_verifies_or_fails_in_one_line(
    data: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    anchor = tmp_path / "consortium.json"
    anchor.write_bytes(data)
    bundle = (VECTORS / "cases/verified/stewards-ruling-meeting-the-quorum.json").read_bytes()
    run_verify(tmp_path, bundle, capsys, "--consortium", str(anchor), "--time-ms", "1700043200000")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200))
def test_arbitrary_bytes_fail_in_one_line(data: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_verify(tmp_path, data, capsys)


@pytest.mark.parametrize(
    "text",
    ['{"a":' * 100_000, "[" * 5000 + "]" * 5000, '{"format_version": 1e400}', '{"format_version": -0}',
     '{"format_version": NaN}', '"\\ud800"', '{"record_id": "\\ud800"}', "\ufeff{}"],
    ids=["deep object", "deep array", "huge exponent", "minus zero", "NaN", "lone surrogate at top",
         "lone surrogate in a field", "byte order mark"],
)
def test_hostile_json_fails_in_one_line(text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_verify(tmp_path, text.encode("utf-8", errors="surrogatepass"), capsys)


def test_a_field_name_with_a_line_break_is_reported_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found by the fuzz test above: an unknown field named "\\n" printed its name raw, on two lines."""
    document = {**genuine(), "\n": None, "a\rb": 1}
    run_verify(tmp_path, json.dumps(document).encode("utf-8"), capsys)


# Every kind there is, the first reserved ones (kind 6 crashed `verify` once), and any other 16-bit value.
KINDS = st.one_of(st.integers(min_value=0, max_value=len(EntryKind) + 3), st.integers(min_value=0, max_value=65535))


@st.composite
def signed_related_entry(draw: st.DrawFn) -> bytes:
    """A genuine bundle with one more related entry, validly signed by a member's own key but otherwise
    arbitrary: any kind (reserved ones too), sequence number, predecessor, time and items. The signature holds,
    so every check after it is reached (the mutations above mostly stop at the signature)."""
    bundle = types_pb2.ProvenanceBundle()
    bundle.CopyFrom(sample_bundle())
    member = draw(st.sampled_from(["platform-a", "platform-b"]))
    record = bytes.fromhex(bundle.record_id)
    item = st.one_of(st.binary(max_size=40), st.just(record), st.binary(max_size=4).map(lambda tail: record + tail))
    seq = draw(st.one_of(st.just(1), st.integers(min_value=2, max_value=2**63 - 1)))
    prev = ZERO_ID if seq == 1 else b"\x01" + draw(st.binary(min_size=31, max_size=31))
    entry = sign_entry(
        member_key(member),
        consortium_id=draw(st.sampled_from([bundle.consortium_id, "another-consortium"])),
        author=member,
        seq=seq,
        prev=prev,
        timestamp_ms=draw(st.integers(min_value=0, max_value=2**63 - 1)),
        kind=draw(KINDS),  # type: ignore[arg-type]  # reserved kinds on purpose
        items=draw(st.lists(item, min_size=1, max_size=4)),
    )
    author = trusted_membership().get(member)
    assert author is not None
    bundle.related.add(entry=convert.entry_to_proto(entry), author=convert.member_to_proto(author))
    return convert.bundle_to_json(bundle).encode("utf-8")


@FUZZ
@given(data=signed_related_entry(), anchored=st.booleans())
def test_a_validly_signed_related_entry_of_any_shape_verifies_or_fails_in_one_line(
    data: bytes, anchored: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_verify(tmp_path, data, capsys, *(("--consortium", str(EXAMPLE_CONSORTIUM)) if anchored else ()))
