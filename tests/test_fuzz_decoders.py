"""Property tests of every decoder (testkit/fuzz.py `DECODERS`): any bytes are either refused with a
hashnode error (or, for protobuf containers, a protobuf decode error) or decoded; what decodes re-encodes to
exactly the bytes given. bench/fuzz.py runs the same targets for longer."""

from __future__ import annotations

import contextlib
import functools
import random

import pytest
from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from node.api import convert
from node.api.gen.hashnode.v1 import types_pb2
from node.core.entry import Entry
from node.core.errors import HashnodeError, VerificationError
from node.provenance.bundle import verify_bundle
from testkit.fuzz import DECODERS, DecoderTarget, flip_bit, mutate, sample_bundle, trusted_membership

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def seeds(target: DecoderTarget) -> list[bytes]:
    return target.seeds()


@pytest.mark.parametrize("target", DECODERS, ids=lambda t: t.name)
def test_every_seed_decodes(target: DecoderTarget) -> None:
    assert seeds(target), f"{target.name} has no valid input to mutate"
    for seed in seeds(target):
        assert target.check(seed), f"{target.name} refuses its own seed"


@pytest.mark.parametrize("target", DECODERS, ids=lambda t: t.name)
@FUZZ
@given(data=st.binary(max_size=600))
def test_random_bytes_are_refused_cleanly(target: DecoderTarget, data: bytes) -> None:
    target.check(data)


@pytest.mark.parametrize("target", DECODERS, ids=lambda t: t.name)
@FUZZ
@given(rng=st.randoms(use_true_random=False))
def test_mutated_valid_inputs_are_refused_cleanly_or_decoded_canonically(
    target: DecoderTarget, rng: random.Random
) -> None:
    target.check(mutate(rng.choice(seeds(target)), rng))


@settings(max_examples=300, deadline=None)
@given(
    header=st.binary(max_size=300),
    signature=st.binary(max_size=80),
    items=st.lists(st.binary(max_size=100), max_size=5),
)
def test_entry_parse_refuses_any_structure_it_cannot_read(
    header: bytes, signature: bytes, items: list[bytes]
) -> None:
    with contextlib.suppress(HashnodeError):
        Entry.parse(header, signature, items)


SIGNED_FIELDS = ("record_item", "entry_header", "entry_signature")


@functools.cache
def bundle_bytes() -> dict[str, bytes]:
    bundle = sample_bundle()
    return {name: bytes(getattr(bundle, name)) for name in SIGNED_FIELDS}


@settings(max_examples=200, deadline=None)
@given(field=st.sampled_from(SIGNED_FIELDS), position=st.integers(min_value=0))
def test_every_single_bit_flip_of_a_bundles_signed_bytes_fails_verification(
    field: str, position: int
) -> None:
    msg = sample_bundle()
    original = bundle_bytes()[field]
    setattr(msg, field, flip_bit(original, position % (len(original) * 8)))
    with pytest.raises(VerificationError):
        verify_bundle(convert.bundle_from_proto(msg), trusted=trusted_membership())


@settings(max_examples=200, deadline=None)
@given(rng=st.randoms(use_true_random=False))
def test_a_mutated_bundle_that_still_verifies_proves_the_same_record(rng: random.Random) -> None:
    """Only unsigned conveniences (generated_by, the author's contact...) may change without failing."""
    original = verify_bundle(convert.bundle_from_proto(sample_bundle()), trusted=trusted_membership())
    try:
        msg = types_pb2.ProvenanceBundle.FromString(mutate(sample_bundle().SerializeToString(), rng))
        verified = verify_bundle(convert.bundle_from_proto(msg), trusted=trusted_membership())
    except (HashnodeError, DecodeError):  # refused: the decoder tests cover refusals; here, acceptance
        return
    assert (verified.record_id, verified.record, verified.header) == (
        original.record_id,
        original.record,
        original.header,
    )
