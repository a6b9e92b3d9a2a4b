"""The bad input matrix, over gRPC and over the CLI.

Every case is refused with the fitting status code (INVALID_ARGUMENT unless said otherwise) and a message
naming the field, nothing is written (record and entry counts stay the same, the member's log has no gap), and
the CLI exits non-zero with a one-line `hashnode: error:` message, never a traceback.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import grpc
import pytest
from conftest import EXAMPLE_KEYS, Cli, CliResult, RunningNode

from node.api import convert
from node.api.gen.hashnode.v1 import client_pb2, types_pb2
from node.cli.verify_cmd import verify_message
from node.core.entry import ZERO_ID, EntryKind, sign_entry
from node.core.errors import HashnodeError
from node.core.keys import SigningKey
from node.core.records import record_id
from node.membership.members import MemberKey, Membership
from node.provenance.assembly import Head
from node.provenance.bundle import ProvenanceBundle, attest

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "d35c785545392755e7e4164457657269"
LABEL = "tvec.propaganda"
GOOD_FIELDS: dict[str, object] = {"signal_type": "pdq", "value": PDQ, "quality": 100, "labels": [LABEL]}


def good_record(**changes: object) -> types_pb2.HashRecord:
    return types_pb2.HashRecord(**{**GOOD_FIELDS, **changes})  # type: ignore[arg-type]


def rpc_error(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


def assert_clean_cli_failure(result: CliResult, *, names: str, code: int | None = None) -> None:
    assert result.code != 0 if code is None else result.code == code, result
    assert "Traceback" not in result.out + result.err
    assert names in result.err, result.err


def assert_nothing_written(node: RunningNode) -> None:
    assert (node.record_count(), node.entry_count()) == (0, 0)
    # The member's log has no gap: the next good contribution is entry 1.
    assert node.client.Submit(client_pb2.SubmitRequest(records=[good_record()])).seq == 1


# --- records ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BadRecord:
    name: str
    change: dict[str, object]  # fields replacing those of a good record
    field: str  # the record field the message names
    cli_args: tuple[str, ...]  # the same mistake on the `hashnode submit` command line
    cli_names: str  # what the CLI's message names (a local check names the option, the node the field path)


GOOD_CLI = ("--hash", PDQ, "--quality", "100", "--label", LABEL)

BAD_RECORDS = [
    BadRecord("malformed hex", {"value": "zz" * 32}, "value", ("--hash", "zz" * 32, *GOOD_CLI[2:]), "--hash"),
    BadRecord("wrong length", {"value": PDQ[:-2]}, "value", ("--hash", PDQ[:-2], *GOOD_CLI[2:]), "--hash"),
    BadRecord(
        "inner whitespace",
        {"value": PDQ[:10] + " " + PDQ[11:]},
        "value",
        ("--hash", PDQ[:10] + " " + PDQ[11:], *GOOD_CLI[2:]),
        "--hash",
    ),
    BadRecord(
        "unknown hash type", {"signal_type": "phash"}, "signal_type", ("--type", "phash", *GOOD_CLI), "--type"
    ),
    BadRecord(
        "unknown label",
        {"labels": ["tvec.made_up"]},
        "labels",
        (*GOOD_CLI[:4], "--label", "tvec.made_up"),
        "records[0].labels",
    ),
    BadRecord("no label", {"labels": []}, "labels", GOOD_CLI[:4], "--label"),
    BadRecord(
        "low-quality pdq",
        {"quality": 10},
        "quality",
        ("--hash", PDQ, "--quality", "10", "--label", LABEL),
        "records[0].quality",
    ),
    BadRecord(
        "pdq without quality", {"quality": 0}, "quality", ("--hash", PDQ, "--label", LABEL), "--quality"
    ),
    BadRecord(
        "quality out of range",
        {"quality": 101},
        "quality",
        ("--hash", PDQ, "--quality", "101", "--label", LABEL),
        "--quality",
    ),
    BadRecord(
        "quality on an exact type",
        {"signal_type": "md5", "value": MD5, "quality": 50},
        "quality",
        ("--type", "md5", "--hash", MD5, "--quality", "50", "--label", LABEL),
        "records[0].quality",
    ),
    BadRecord("malformed tag", {"tags": ["Not A Tag"]}, "tags", (*GOOD_CLI, "--tag", "Not A Tag"), "--tag"),
    BadRecord(
        "reference too long",
        {"reference": "x" * 300},
        "reference",
        (*GOOD_CLI, "--reference", "x" * 300),
        "records[0].reference",
    ),
]


@pytest.mark.parametrize("case", BAD_RECORDS, ids=lambda case: case.name)
def test_bad_record_over_grpc_refuses_the_whole_batch(node: RunningNode, case: BadRecord) -> None:
    request = client_pb2.SubmitRequest(records=[good_record(), good_record(**case.change), good_record()])
    error = rpc_error(lambda: node.client.Submit(request))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith(f"records[1].{case.field}: got "), error.details()
    assert ", want " in error.details()
    assert_nothing_written(node)


@pytest.mark.parametrize("case", BAD_RECORDS, ids=lambda case: case.name)
def test_bad_record_over_cli_sends_or_writes_nothing(node: RunningNode, cli: Cli, case: BadRecord) -> None:
    result = cli("submit", "--target", node.target, *case.cli_args)
    assert_clean_cli_failure(result, names=case.cli_names)
    assert result.err.startswith("hashnode: error: ")
    assert_nothing_written(node)


def test_empty_batch(node: RunningNode, cli: Cli, tmp_path: Path) -> None:
    error = rpc_error(lambda: node.client.Submit(client_pb2.SubmitRequest()))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "records: got 0 records, want 1..10000"
    empty = tmp_path / "empty.csv"
    empty.write_text("signal_type,value,quality,labels\n")
    assert_clean_cli_failure(
        cli("submit", "--target", node.target, "--file", empty), names="0 records", code=2
    )
    assert_nothing_written(node)


def test_oversized_batch(node: RunningNode, cli: Cli, tmp_path: Path) -> None:
    """Over the per-request limit is INVALID_ARGUMENT: the request is wrong whatever the node's state."""
    request = client_pb2.SubmitRequest(records=[good_record()] * 10_001)
    error = rpc_error(lambda: node.client.Submit(request))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "records: got 10001 records, want 1..10000"
    big = tmp_path / "big.csv"
    big.write_text("signal_type,value,quality,labels\n" + f"pdq,{PDQ},100,{LABEL}\n" * 10_001)
    assert_clean_cli_failure(
        cli("submit", "--target", node.target, "--file", big), names="10001 records", code=2
    )
    assert_nothing_written(node)


def test_contribution_file_reports_every_bad_line_and_sends_nothing(
    node: RunningNode, cli: Cli, tmp_path: Path
) -> None:
    batch = tmp_path / "batch.csv"
    batch.write_text(
        "signal_type,value,quality,labels,tags\n"
        f"pdq,{PDQ},100,{LABEL},\n"
        f"pdq,{'zz' * 32},100,{LABEL},\n"
        f"phash,{PDQ},100,{LABEL},\n"
        f"md5,{MD5},,{LABEL};tvec.manifesto,a|b\n"
        f"pdq,{PDQ},high,{LABEL},\n"
        f"md5,{MD5},,,\n"
    )
    result = cli("submit", "--target", node.target, "--file", batch)
    assert_clean_cli_failure(result, names="4 bad line(s), nothing sent", code=2)
    for expected in ("line 3: value", "line 4: signal_type", "line 6: quality", "line 7: labels"):
        assert expected in result.err
    assert "line 2" not in result.err and "line 5" not in result.err
    assert_nothing_written(node)


def test_jsonl_file_reports_bad_json_lines(node: RunningNode, cli: Cli, tmp_path: Path) -> None:
    batch = tmp_path / "batch.jsonl"
    good = json.dumps(GOOD_FIELDS)
    batch.write_text(f"{good}\n{{not json\n\n[1, 2]\n" + json.dumps({**GOOD_FIELDS, "colour": "red"}) + "\n")
    result = cli("submit", "--target", node.target, "--file", batch)
    assert_clean_cli_failure(result, names="3 bad line(s)", code=2)
    for expected in ("line 2: format: not JSON", "line 4: format: got a JSON list", "line 5: format: unk"):
        assert expected in result.err
    assert_nothing_written(node)


def test_unknown_label_in_a_file_is_refused_by_the_node(node: RunningNode, cli: Cli, tmp_path: Path) -> None:
    batch = tmp_path / "batch.csv"
    batch.write_text(f"signal_type,value,quality,labels\npdq,{PDQ},100,{LABEL}\nmd5,{MD5},,tvec.made_up\n")
    result = cli("submit", "--target", node.target, "--file", batch)
    assert_clean_cli_failure(result, names="INVALID_ARGUMENT: records[1].labels: got tvec.made_up", code=1)
    assert_nothing_written(node)


# --- matching -----------------------------------------------------------------------------------------------


def query(signal_type: str, value: str) -> client_pb2.HashQuery:
    return client_pb2.HashQuery(signal_type=signal_type, value=value)


@dataclass(frozen=True)
class BadMatch:
    name: str
    request: client_pb2.MatchRequest
    message: str  # the start of the status details
    cli_args: tuple[str, ...]
    cli_names: str


BAD_MATCHES = [
    BadMatch(
        "malformed hex",
        client_pb2.MatchRequest(queries=[query("pdq", PDQ), query("pdq", "zz" * 32)]),
        "queries[1].value: got",
        ("zz" * 32,),
        "HASH #1: got",
    ),
    BadMatch(
        "wrong length",
        client_pb2.MatchRequest(queries=[query("md5", PDQ)]),
        "queries[0].value: got",
        ("--type", "md5", PDQ),
        "HASH #1: got",
    ),
    BadMatch(
        "unknown hash type",
        client_pb2.MatchRequest(queries=[query("phash", PDQ)]),
        "queries[0].signal_type: got phash, want one of md5, pdq, sha256, video_md5",
        ("--type", "phash", PDQ),
        "--type: got phash",
    ),
    BadMatch(
        "threshold above 64",
        client_pb2.MatchRequest(queries=[query("pdq", PDQ)], pdq_threshold=65),
        "pdq_threshold: got 65, want 0..64",
        ("--threshold", "65", PDQ),
        "--threshold: got 65, want 0..64",
    ),
    BadMatch(
        "negative threshold",
        client_pb2.MatchRequest(queries=[query("pdq", PDQ)], pdq_threshold=2**32 - 1),
        "pdq_threshold: got 4294967295, want 0..64",
        ("--threshold", "-1", PDQ),
        "--threshold: got -1",
    ),
    BadMatch(
        "no queries", client_pb2.MatchRequest(), "queries: got 0 queries, want 1..10000", (), "HASH / --file"
    ),
]


@pytest.mark.parametrize("case", BAD_MATCHES, ids=lambda case: case.name)
def test_bad_match_request_over_grpc(node: RunningNode, case: BadMatch) -> None:
    error = rpc_error(lambda: node.client.Match(case.request))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith(case.message), error.details()


@pytest.mark.parametrize("case", BAD_MATCHES, ids=lambda case: case.name)
def test_bad_match_request_over_cli(node: RunningNode, cli: Cli, case: BadMatch) -> None:
    assert_clean_cli_failure(
        cli("match", "--target", node.target, *case.cli_args), names=case.cli_names, code=2
    )


def test_bad_request_in_a_match_stream_names_which_request(node: RunningNode) -> None:
    requests = [
        client_pb2.MatchRequest(queries=[query("pdq", PDQ)]),
        client_pb2.MatchRequest(queries=[query("pdq", "0")]),
    ]
    received = []
    with pytest.raises(grpc.RpcError) as caught:
        for response in node.client.MatchStream(iter(requests)):
            received.append(response)
    assert len(received) == 1
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details().startswith("requests[1].queries[0].value: got 0, want 64 hex characters")


# --- provenance and retraction ------------------------------------------------------------------------------


def test_malformed_record_id(node: RunningNode, cli: Cli) -> None:
    error = rpc_error(lambda: node.client.GetProvenance(client_pb2.ProvenanceRequest(record_id="xyz")))
    assert (error.code(), error.details()) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "record_id: got xyz, want 64 hex characters",
    )
    assert_clean_cli_failure(
        cli("provenance", "--target", node.target, "xyz"), names="RECORD_ID: got xyz", code=2
    )


def test_unknown_record_id_is_not_found(node: RunningNode, cli: Cli) -> None:
    error = rpc_error(lambda: node.client.GetProvenance(client_pb2.ProvenanceRequest(record_id="ab" * 32)))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    result = cli("provenance", "--target", node.target, "ab" * 32)
    assert_clean_cli_failure(result, names="NOT_FOUND: record_id: no record", code=1)


@pytest.mark.parametrize(
    ("record_ids", "code", "message"),
    [
        ([], grpc.StatusCode.INVALID_ARGUMENT, "record_ids: got 0 record ids, want 1..10000"),
        (
            ["ab" * 32, "nope"],
            grpc.StatusCode.INVALID_ARGUMENT,
            "record_ids[1]: got nope, want 64 hex characters",
        ),
        (["ab" * 32], grpc.StatusCode.NOT_FOUND, "record_ids[0]: no record"),
    ],
    ids=["empty", "malformed", "unknown"],
)
def test_bad_retraction_writes_nothing(
    node: RunningNode, record_ids: list[str], code: grpc.StatusCode, message: str
) -> None:
    error = rpc_error(
        lambda: node.client.Retract(client_pb2.RetractRequest(record_ids=record_ids, reason="x"))
    )
    assert error.code() == code
    assert error.details().startswith(message), error.details()
    assert_nothing_written(node)


def test_cli_cannot_reach_a_node(cli: Cli) -> None:
    result = cli("match", "--target", "127.0.0.1:1", "--timeout", "2", PDQ)
    assert_clean_cli_failure(result, names="UNAVAILABLE", code=1)
    assert "is a node running at 127.0.0.1:1?" in result.err


def test_cli_usage_error_exits_2(cli: Cli) -> None:
    result = cli("submit", "--hash", PDQ, "--file", "x.csv")
    assert_clean_cli_failure(result, names="not allowed with argument", code=2)


# --- tampered bundles ---------------------------------------------------------------------------------------


def flip(data: bytes, position: int | None = None) -> bytes:
    """`data` with one bit of one byte (the middle one by default) flipped."""
    i = len(data) // 2 if position is None else position
    return data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]


Tamper = Callable[[types_pb2.ProvenanceBundle], None]


def _set(attribute: str) -> Tamper:
    def tamper(msg: types_pb2.ProvenanceBundle) -> None:
        setattr(msg, attribute, flip(getattr(msg, attribute)))

    return tamper


def _proof(msg: types_pb2.ProvenanceBundle) -> None:
    msg.inclusion_proof[0] = flip(msg.inclusion_proof[0])


def _related(part: str) -> Tamper:
    def tamper(msg: types_pb2.ProvenanceBundle) -> None:
        entry = msg.related[0].entry
        if part == "item":
            entry.items[0] = flip(entry.items[0])
        else:
            setattr(entry, part, flip(getattr(entry, part)))

    return tamper


@dataclass(frozen=True)
class TamperCase:
    name: str
    tamper: Tamper


TAMPERS = [
    TamperCase("record item (the hash or its labels)", _set("record_item")),
    TamperCase("entry header", _set("entry_header")),
    TamperCase("entry signature", _set("entry_signature")),
    TamperCase("inclusion proof", _proof),
    TamperCase("leaf index", lambda m: setattr(m, "leaf_index", m.leaf_index + 1)),
    TamperCase(
        "record id",
        lambda m: setattr(m, "record_id", ("1" if m.record_id[0] == "0" else "0") + m.record_id[1:]),
    ),
    TamperCase("related entry header", _related("header")),
    TamperCase("related entry signature", _related("signature")),
    TamperCase("related entry item", _related("item")),
    TamperCase("related entry removed", lambda m: m.related.pop()),
    TamperCase("assembly statement", _set("assembly")),
    TamperCase("assembly signature", _set("assembly_signature")),
]

# Conveniences (docs/protocol.md 9.1): never trusted, never compared; what `verify` shows it derives itself.
CONVENIENCES = [
    TamperCase("related entry kind", lambda m: setattr(m.related[0], "kind", "decision")),
    TamperCase("related entry summary", lambda m: setattr(m.related[0], "summary", "overturned by the steward")),
    TamperCase("displayed label", lambda m: m.record.record.labels.__setitem__(0, "tvec.manifesto")),
    TamperCase("displayed author", lambda m: setattr(m.record, "author", "platform-b")),
    TamperCase("member entry key id", lambda m: setattr(m.author.keys[0], "key_id", "00" * 32)),
    TamperCase("generated by", lambda m: setattr(m, "generated_by", "platform-b")),
]


@pytest.fixture
def retracted_bundle(node: RunningNode) -> types_pb2.ProvenanceBundle:
    """The bundle of a record in a 3-record entry that its contributor then retracted (so it has history)."""
    records = [good_record(), good_record(signal_type="md5", value=MD5, quality=0), good_record(quality=90)]
    ids = node.client.Submit(client_pb2.SubmitRequest(records=records)).record_ids
    node.client.Retract(client_pb2.RetractRequest(record_ids=[ids[1]], reason="appeal upheld"))
    return node.client.GetProvenance(client_pb2.ProvenanceRequest(record_id=ids[1]))


def test_untampered_bundle_verifies(
    retracted_bundle: types_pb2.ProvenanceBundle, example_membership: Membership, cli: Cli, tmp_path: Path
) -> None:
    verified = verify_message(retracted_bundle, example_membership)
    assert verified.status == "retracted"
    path = tmp_path / "bundle.json"
    path.write_text(convert.bundle_to_json(retracted_bundle))
    result = cli("verify", path, "--consortium", EXAMPLE_KEYS / "consortium.toml")
    assert result.code == 0 and result.out.startswith("VERIFIED"), result


@pytest.mark.parametrize("case", TAMPERS, ids=lambda case: case.name)
def test_tampered_bundle_fails_verification(
    retracted_bundle: types_pb2.ProvenanceBundle,
    example_membership: Membership,
    cli: Cli,
    tmp_path: Path,
    case: TamperCase,
) -> None:
    msg = types_pb2.ProvenanceBundle()
    msg.CopyFrom(retracted_bundle)
    case.tamper(msg)
    assert msg != retracted_bundle
    with pytest.raises(HashnodeError):
        verify_message(msg, example_membership)
    path = tmp_path / "bundle.json"
    path.write_text(convert.bundle_to_json(msg))
    result = cli("verify", path, "--consortium", EXAMPLE_KEYS / "consortium.toml")
    assert_clean_cli_failure(result, names="VERIFICATION FAILED: ", code=1)
    assert result.out == ""
    assert_clean_cli_failure(cli("verify", path), names="VERIFICATION FAILED: ", code=1)


@pytest.mark.parametrize("case", CONVENIENCES, ids=lambda case: case.name)
def test_a_changed_convenience_field_is_ignored_and_never_shown(
    retracted_bundle: types_pb2.ProvenanceBundle, cli: Cli, tmp_path: Path, case: TamperCase
) -> None:
    msg = types_pb2.ProvenanceBundle()
    msg.CopyFrom(retracted_bundle)
    case.tamper(msg)
    path = tmp_path / "bundle.json"
    path.write_text(convert.bundle_to_json(msg))
    result = cli("verify", path, "--consortium", EXAMPLE_KEYS / "consortium.toml")
    assert result.code == 0, result.err
    assert "tvec.manifesto" not in result.out and "overturned" not in result.out and "decision" not in result.out
    assert "contributor   platform-a" in result.out and "assembled by  platform-a" in result.out


def test_the_bundles_own_author_key_counts_only_without_an_anchor(
    retracted_bundle: types_pb2.ProvenanceBundle, cli: Cli, tmp_path: Path
) -> None:
    """With an anchor the member entries are not consulted; without one, a changed key is a key nobody signed
    with."""
    msg = types_pb2.ProvenanceBundle()
    msg.CopyFrom(retracted_bundle)
    msg.author.keys[0].public_key = flip(msg.author.keys[0].public_key)
    path = tmp_path / "bundle.json"
    path.write_text(convert.bundle_to_json(msg))
    assert cli("verify", path, "--consortium", EXAMPLE_KEYS / "consortium.toml").code == 0
    unpinned = cli("verify", path)
    assert_clean_cli_failure(unpinned, names="VERIFICATION FAILED: ", code=1)
    assert "[rule key.unknown]" in unpinned.err


def test_flipped_character_in_the_bundle_file_fails(
    retracted_bundle: types_pb2.ProvenanceBundle, cli: Cli, tmp_path: Path
) -> None:
    text = convert.bundle_to_json(retracted_bundle)
    signature = base64.b64encode(retracted_bundle.entry_signature).decode()
    i = text.index(signature) + 10
    tampered = text[:i] + ("A" if text[i] != "A" else "B") + text[i + 1 :]
    path = tmp_path / "bundle.json"
    path.write_text(tampered)
    assert_clean_cli_failure(cli("verify", path), names="VERIFICATION FAILED: ", code=1)


@pytest.mark.parametrize(
    "text",
    ["", "not json", "{}", '{"format_version": 1, "colour": "red"}'],
    ids=["empty", "text", "empty object", "unknown field"],
)
def test_malformed_bundle_file_fails_verification(cli: Cli, tmp_path: Path, text: str) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(text)
    assert_clean_cli_failure(cli("verify", path), names="VERIFICATION FAILED: ", code=1)


def test_missing_bundle_file_is_a_usage_error(cli: Cli, tmp_path: Path) -> None:
    assert_clean_cli_failure(cli("verify", tmp_path / "nope.json"), names="BUNDLE: got", code=2)


VECTOR_BUNDLE = Path(__file__).parent / "vectors/bundles/cases/verified/no-history.json"


def test_a_consortium_file_that_breaks_a_rule_is_a_verdict(cli: Cli, tmp_path: Path) -> None:
    """docs/protocol.md §9: every rule, the anchor's too, is exit 1 with its id; exit 2 is for usage errors."""
    anchor = tmp_path / "consortium.json"
    anchor.write_text('{"consortium_id": "example-consortium", "colour": "red", "member": []}')
    result = cli("verify", VECTOR_BUNDLE, "--consortium", anchor)
    assert_clean_cli_failure(result, names="VERIFICATION FAILED: ", code=1)
    assert result.err.rstrip().endswith("[rule consortium.field_unknown]")


@pytest.mark.parametrize(
    "args",
    [("--consortium", "absent.json"), ("--roster", "absent.json"),
     ("--roster", str(Path(__file__).parent / "vectors/bundles/anchors/roster-v1.json"), "--roster-id", "zz")],
    ids=["consortium file missing", "roster file missing", "roster id not hex"],
)
def test_an_anchor_that_cannot_be_used_is_a_usage_error(cli: Cli, tmp_path: Path, args: tuple[str, ...]) -> None:
    result = cli("verify", VECTOR_BUNDLE, *[str(tmp_path / a) if a == "absent.json" else a for a in args])
    assert_clean_cli_failure(result, names="hashnode: error: ", code=2)


def test_a_forgery_under_a_foreign_key_is_caught_by_pinning_the_consortium(
    retracted_bundle: types_pb2.ProvenanceBundle, example_membership: Membership, cli: Cli, tmp_path: Path
) -> None:
    """A self-consistent bundle signed by a key that is not platform-a's verifies only without pinning."""
    forger = SigningKey.from_seed(bytes(32))
    item = retracted_bundle.record_item
    entry = sign_entry(
        forger,
        consortium_id="example-consortium",
        author="platform-a",
        seq=1,
        prev=ZERO_ID,
        timestamp_ms=retracted_bundle.generated_at_ms,
        kind=EntryKind.CONTRIBUTION,
        items=[item],
    )
    real = example_membership.get("platform-a")
    assert real is not None
    claimed = replace(real, keys=(MemberKey(forger.public),))
    forged = ProvenanceBundle(
        consortium_id="example-consortium",
        record_id=record_id(entry.entry_id, 0),
        record_item=item,
        leaf_index=0,
        leaf_count=1,
        inclusion_proof=(),
        entry_header=entry.header_bytes,
        entry_signature=entry.signature,
        author=claimed,
        related=(),
        generated_at_ms=0,
        generated_by="platform-a",
    )
    forged = attest(
        forged, forger, assembler=claimed, assembled_at_ms=entry.header.timestamp_ms,
        heads=[Head("platform-a", 1, entry.entry_id)],
    )
    path = tmp_path / "forged.json"
    path.write_text(convert.bundle_to_json(convert.bundle_to_proto(forged)))
    unpinned = cli("verify", path)
    assert unpinned.code == 0 and "NOT PINNED" in unpinned.out
    pinned = cli("verify", path, "--consortium", EXAMPLE_KEYS / "consortium.toml")
    assert_clean_cli_failure(pinned, names="VERIFICATION FAILED: ", code=1)
    assert "is not in the anchor [rule key.unknown]" in pinned.err


@pytest.mark.parametrize("kind", [0, 1, 6, 65535], ids=["kind 0", "a contribution", "kind 6", "kind 65535"])
def test_a_related_entry_of_a_kind_that_concerns_no_record_fails_in_one_line(
    retracted_bundle: types_pb2.ProvenanceBundle, cli: Cli, tmp_path: Path, kind: int
) -> None:
    """Issue 12, item 6: kind 6 crashed `verify` with a ValueError. Every input gives VERIFIED or one line."""
    key = SigningKey.load(EXAMPLE_KEYS / "platform-a.key")
    entry = sign_entry(
        key,
        consortium_id="example-consortium",
        author="platform-a",
        seq=9,
        prev=b"\x01" * 32,
        timestamp_ms=retracted_bundle.generated_at_ms,
        kind=kind,  # type: ignore[arg-type]  # reserved kinds on purpose
        items=[bytes.fromhex(retracted_bundle.record_id) + b"\x00\x00"],
    )
    msg = types_pb2.ProvenanceBundle()
    msg.CopyFrom(retracted_bundle)
    msg.related.add(entry=convert.entry_to_proto(entry), author=msg.author)
    path = tmp_path / "bundle.json"
    path.write_text(convert.bundle_to_json(msg))
    for anchor in ((), ("--consortium", EXAMPLE_KEYS / "consortium.toml")):
        result = cli("verify", path, *anchor)
        assert_clean_cli_failure(result, names="VERIFICATION FAILED: related[1]: kind", code=1)
        assert result.err.rstrip().endswith("[rule related.kind]")
