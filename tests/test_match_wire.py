"""The hand-encoded MatchResponse (node/api/match_wire.py) reads, with the generated parser, exactly as the message
the generated code builds from the same results."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from node.api import match_wire
from node.api.gen.hashnode.v1 import client_pb2, types_pb2
from node.ledger.ledger import HitRecord, MatchResults

TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


@st.composite
def match_results(draw: st.DrawFn) -> MatchResults:
    records = [
        HitRecord(
            ordinal=i,
            record_id=hashlib.sha256(bytes([i])).digest(),
            author=draw(TEXT),
            labels=tuple(draw(st.lists(TEXT, max_size=3))),
            policy=tuple(draw(st.lists(TEXT, max_size=2))),
            # Only the status byte matters here: 5 (disputed) or 1 (active), at offset 52 of a stored row.
            row=bytes(52) + bytes([draw(st.sampled_from([1, 5]))]),
        )
        for i in range(draw(st.integers(0, 6)))
    ]
    queries = draw(st.integers(1, 40))
    offsets, slots, distances, query_ids = [0], [], [], []
    for _ in range(queries):
        hit = st.tuples(st.integers(0, max(len(records) - 1, 0)), st.integers(0, 300))
        hits = draw(st.lists(hit, max_size=5)) if records else []
        slots += [s for s, _ in hits]
        distances += [d for _, d in hits]
        offsets.append(offsets[-1] + len(hits))
        query_ids.append(draw(st.sampled_from(["", "00ff00ff00ff00ff"])) if hits else "")
    return MatchResults(records, offsets, slots, distances, query_ids)


def built_with_generated_code(results: MatchResults, with_records: bool = False) -> client_pb2.MatchResponse:
    response = client_pb2.MatchResponse()
    for i, hits in enumerate(results):
        result = response.results.add(query_index=i, query_id=results.query_ids[i])
        for hit in hits:
            match = result.matches.add(
                distance=hit.distance,
                provenance_ref=hit.record_id.hex(),
                policy=hit.policy,
                labels=hit.labels,
                author=hit.author,
                disputed=hit.disputed,
            )
            if with_records:
                match.record.CopyFrom(record_info(results.records[hit.ordinal]))  # ordinals are slots here
    return response


def record_info(record: HitRecord) -> types_pb2.RecordInfo:
    return types_pb2.RecordInfo(record_id=record.record_id.hex(), author=record.author, seq=record.ordinal + 1)


requires_kernel = pytest.mark.skipif(
    match_wire.compiled_encode is None, reason="node/api/_wire.c is not built (python setup.py build_ext --inplace)"
)


@settings(max_examples=200, deadline=None)
@given(results=match_results())
def test_the_encoded_response_parses_to_the_generated_codes_message(results: MatchResults) -> None:
    parsed = client_pb2.MatchResponse.FromString(match_wire.encode_in_python(results))
    assert parsed == built_with_generated_code(results)


@requires_kernel
@settings(max_examples=200, deadline=None)
@given(results=match_results())
def test_the_compiled_encoding_is_the_same_bytes(results: MatchResults) -> None:
    assert match_wire.encode(results) == match_wire.encode_in_python(results)


@settings(max_examples=50, deadline=None)
@given(results=match_results())
def test_records_details_are_carried_when_asked_for(results: MatchResults) -> None:
    encoded = match_wire.encode(results, lambda r: record_info(r).SerializeToString())
    assert client_pb2.MatchResponse.FromString(encoded) == built_with_generated_code(results, with_records=True)
    assert encoded == match_wire.encode_in_python(results, lambda r: record_info(r).SerializeToString())


@requires_kernel
def test_the_compiled_encoding_refuses_columns_that_disagree() -> None:
    results = MatchResults([], [0, 1], [0], [3], [""])  # a hit of a record that is not there
    with pytest.raises(ValueError, match="slots"):
        match_wire.encode(results)


@given(value=st.integers(1, 2**64 - 1))  # 0 is left out of messages
def test_varints_are_protobufs(value: int) -> None:
    assert types_pb2.RecordInfo(seq=value).SerializeToString() == b"\x28" + match_wire.varint(value)


def test_the_largest_batch_has_a_result_per_query() -> None:
    results = MatchResults([], [0] * 10_001, [], [], [""] * 10_000)
    for encoded in (match_wire.encode(results), match_wire.encode_in_python(results)):
        parsed = client_pb2.MatchResponse.FromString(encoded)
        assert [r.query_index for r in parsed.results] == list(range(10_000))
