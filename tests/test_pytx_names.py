"""The one mapping between hashnode's and python-threatexchange's signal types (node/interchange/pytx_names.py),
checked against python-threatexchange's own signal types and its local-file parser."""

from __future__ import annotations

from pathlib import Path

import pytest

from node.core.errors import InvalidArgument
from node.core.records import HashRecord
from node.core.signals import REGISTRY
from node.core.taxonomy import Taxonomy
from node.interchange import pytx_names
from node.interchange.formats import Format, write_records

pytest.importorskip("threatexchange", reason="needs the threatexchange extra: pip install '.[threatexchange]'")

from threatexchange.cli.main import _DEFAULT_SIGNAL_TYPES
from threatexchange.exchanges.impl.file_api import FileCollaborationConfig, LocalFileSignalExchangeAPI
from threatexchange.signal_type.signal_base import SignalType

PYTX_TYPES: dict[str, type[SignalType]] = {s.get_name(): s for s in _DEFAULT_SIGNAL_TYPES}
try:  # the vpdq extension of python-threatexchange, which needs the vpdq package
    from threatexchange.extensions.vpdq.vpdq import VPDQSignal

    PYTX_TYPES[VPDQSignal.get_name()] = VPDQSignal
    EXTENSIONS_MISSING: frozenset[str] = frozenset()
except ImportError:
    EXTENSIONS_MISSING = frozenset({"vpdq"})
TAXONOMY = Taxonomy.default()
PDQ = "F8F8F0CEE0F4A84F06370A22038F63F0B36E2ED596621E1D33E6B39C4E9C9B22"  # upper case: pytx refuses it as is
MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def record(kind: str, value: str, quality: int = 0) -> HashRecord:
    return HashRecord.create(
        signal_type_name=kind,
        value_hex=value,
        quality=quality,
        labels=["tvec.propaganda"],
        taxonomy=TAXONOMY,
        min_pdq_quality=50,
    )


def test_every_mapped_type_is_a_hashnode_type_and_a_threatexchange_type() -> None:
    for signal in pytx_names.SIGNALS:
        assert signal.hashnode in REGISTRY
        assert signal.pytx in PYTX_TYPES or signal.pytx in EXTENSIONS_MISSING


def test_every_threatexchange_name_imports_as_exactly_one_hashnode_type() -> None:
    for name in pytx_names.pytx_names():
        importing = [s.hashnode for s in pytx_names.SIGNALS if s.pytx == name and s.imports]
        assert len(importing) == 1, name


def test_hashnode_md5_and_sha256_are_threatexchange_video_digests() -> None:
    assert pytx_names.to_pytx("md5", MD5) == ("video_md5", MD5)
    assert pytx_names.to_pytx("sha256", SHA256) == ("video_sha256", SHA256)
    assert pytx_names.from_pytx("video_sha256", SHA256) == ("sha256", SHA256)
    assert pytx_names.from_pytx("video_md5", MD5) == ("md5", MD5)
    assert pytx_names.hashnode_types_of("video_md5") == ("md5", "video_md5")


def test_pdq_is_written_in_the_lower_case_threatexchange_requires() -> None:
    name, value = pytx_names.to_pytx("pdq", PDQ)
    assert (name, value) == ("pdq", PDQ.lower())
    assert PYTX_TYPES["pdq"].validate_signal_str(value) == value


def test_names_of_earlier_hashnode_exports_still_read() -> None:
    assert pytx_names.from_pytx("md5", MD5) == ("md5", MD5)
    assert pytx_names.from_pytx("sha256", SHA256) == ("sha256", SHA256)


@pytest.mark.parametrize("name", ["url", "raw_text", "url_md5", "trend_query", "text_tlsh"])
def test_threatexchange_types_hashnode_does_not_carry_are_refused_by_name(name: str) -> None:
    with pytest.raises(InvalidArgument, match=f"signal_type: got {name}, want a python-threatexchange type"):
        pytx_names.from_pytx(name, "x")


def test_te_export_loads_in_threatexchanges_local_file_reader_with_nothing_dropped(tmp_path: Path) -> None:
    records = [
        record("pdq", PDQ, 90),
        record("md5", MD5),
        record("video_md5", "6d7c47ad186e93c3d825e72a759b64b0"),
        record("sha256", SHA256),
    ]
    path = tmp_path / "export.te"
    write_records(path, records, Format.TE)
    collab = FileCollaborationConfig(name="hashnode", api="local_file", enabled=True, filename=str(path))
    api = LocalFileSignalExchangeAPI.for_collab(collab)
    fetched: dict[tuple[str, str], object] = {}
    for delta in api.fetch_iter(_DEFAULT_SIGNAL_TYPES, None):
        fetched.update(delta.updates)
    converted = api.naive_convert_to_signal_type(_DEFAULT_SIGNAL_TYPES, collab, fetched)  # type: ignore[arg-type]
    loaded = {(s_type.get_name(), signal) for s_type, signals in converted.items() for signal in signals}
    expected = {pytx_names.to_pytx(r.signal_type, r.value_hex) for r in records}
    assert loaded == expected
    assert len(expected) == 4  # md5 and video_md5 of different hashes: nothing merged away


def test_te_export_of_a_type_threatexchange_lacks_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="signal_type: got nonesuch"):
        pytx_names.to_pytx("nonesuch", MD5)
