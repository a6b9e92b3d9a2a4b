"""What python-threatexchange writes imports into hashnode with nothing lost (node/interchange/pytx_dataset.py).

Every listing here is produced by the real `threatexchange` CLI (in this process, its own state directory) from
two local-file collaborations with overlapping, clustered hashes and from its built-in sample collaboration
(all seven signal types); the reader must give back exactly the set of signals python-threatexchange holds.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from node.core.records import HashRecord
from node.core.taxonomy import Taxonomy
from node.interchange.formats import Refusal, read_records
from node.interchange.pytx_names import to_pytx

pytest.importorskip("threatexchange", reason="needs the threatexchange extra: pip install '.[threatexchange]'")

from threatexchange.cli.main import _DEFAULT_SIGNAL_TYPES, inner_main
from threatexchange.exchanges.impl.file_api import FileCollaborationConfig, LocalFileSignalExchangeAPI

from tests.conftest import Cli, RunningNode

LABEL = "tvec.propaganda"
TAXONOMY = Taxonomy.default()
Signals = set[tuple[str, str]]
Tx = Callable[..., str]


def clustered_pdq(rng: random.Random, clusters: int, per_cluster: int) -> list[str]:
    """PDQ hashes in clusters of near-duplicates (a few bits apart), as edited copies of images give."""
    hashes = []
    for _ in range(clusters):
        base = rng.getrandbits(256)
        hashes.append(f"{base:064x}")
        for _ in range(per_cluster - 1):
            flipped = base
            for bit in rng.sample(range(256), rng.randint(1, 12)):
                flipped ^= 1 << bit
            hashes.append(f"{flipped:064x}")
    return hashes


def collab_lines() -> dict[str, list[str]]:
    rng = random.Random(14)
    pdq = clustered_pdq(rng, clusters=4, per_cluster=6)
    md5 = [f"{rng.getrandbits(128):032x}" for _ in range(8)]
    sha = [f"{rng.getrandbits(256):064x}" for _ in range(8)]
    a = [f"pdq {h}" for h in pdq[:16]] + [f"video_md5 {h}" for h in md5[:5]] + [f"video_sha256 {h}" for h in sha[:5]]
    b = [f"pdq {h}" for h in pdq[10:]] + [f"video_md5 {h}" for h in md5[3:]] + [f"video_sha256 {h}" for h in sha[3:]]
    return {"collab_a": a, "collab_b": b}


def as_signals(lines: list[str]) -> Signals:
    return {(kind, value) for kind, value in (line.split(" ", 1) for line in lines)}


@pytest.fixture(scope="module")
def tx(tmp_path_factory: pytest.TempPathFactory) -> Tx:
    """The threatexchange CLI over two local-file collaborations, fetched."""
    root = tmp_path_factory.mktemp("pytx")
    state = root / "state"

    def run(*args: str) -> str:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            inner_main(list(args), state_dir=state)
        return out.getvalue()

    for name, lines in collab_lines().items():
        path = root / f"{name}.txt"
        path.write_text("\n".join(lines) + "\n")
        run("config", "collab", "edit", "local_file", name, "--create", "--filename", str(path))
    run("fetch")
    return run


@pytest.fixture(scope="module")
def sample_tx(tmp_path_factory: pytest.TempPathFactory) -> Tx:
    """The threatexchange CLI with no collaboration configured: it serves its built-in sample data."""
    state = tmp_path_factory.mktemp("pytx-sample") / "state"

    def run(*args: str) -> str:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            inner_main(list(args), state_dir=state)
        return out.getvalue()

    run("fetch")
    return run


def imported(text: str, **options: object) -> tuple[list[HashRecord], list[Refusal]]:
    """Reads a listing with the format detected from its content, as `hashnode import` of a file without an
    extension it knows does."""
    items = list(
        read_records(
            io.StringIO(text, newline=""),
            None,
            taxonomy=TAXONOMY,
            default_labels=[LABEL],
            default_pdq_quality=80,
            **options,  # type: ignore[arg-type]
        )
    )
    records = [item for item in items if isinstance(item, HashRecord)]
    return records, [item for item in items if isinstance(item, Refusal)]


def pytx_set(records: list[HashRecord]) -> Signals:
    return {to_pytx(r.signal_type, r.value_hex) for r in records}


EVERY = as_signals(collab_lines()["collab_a"] + collab_lines()["collab_b"])
PDQ_ONLY = {(kind, value) for kind, value in EVERY if kind == "pdq"}


@pytest.mark.parametrize(
    ("args", "options", "expected"),
    [
        (("dataset", "-P", "-S"), {}, EVERY),
        (("dataset", "-P"), {}, EVERY),
        (("dataset", "-P", "--csv"), {}, EVERY),
        (("dataset", "-P", "-c", "collab_a"), {}, as_signals(collab_lines()["collab_a"])),
        (("dataset", "-P", "-s", "pdq"), {"default_signal_type": "pdq"}, PDQ_ONLY),
        (("dataset", "-P", "-S", "-s", "pdq"), {"default_signal_type": "pdq"}, PDQ_ONLY),
        (("dataset", "-P", "-s", "pdq", "-c", "collab_b"), {"default_signal_type": "pdq"},
         {s for s in as_signals(collab_lines()["collab_b"]) if s[0] == "pdq"}),
    ],
    ids=["-P -S", "-P", "-P --csv", "-P one collab", "-P one type", "-P -S one type", "-P one type one collab"],
)
def test_every_dataset_listing_imports_as_the_set_threatexchange_holds(
    tx: Tx, args: tuple[str, ...], options: dict[str, object], expected: Signals
) -> None:
    records, refusals = imported(tx(*args), **options)
    assert refusals == []
    assert pytx_set(records) == expected


def test_dataset_listing_holds_what_was_fetched(tx: Tx) -> None:
    listed = as_signals(tx("dataset", "-P", "-S").splitlines())
    assert listed == EVERY  # the collaborations' files, as python-threatexchange stored them


def test_local_file_collaboration_files_import_as_written(tmp_path: Path) -> None:
    for lines in collab_lines().values():
        records, refusals = imported("\n".join(lines) + "\n")
        assert refusals == []
        assert pytx_set(records) == as_signals(lines)


def test_types_hashnode_does_not_carry_are_refused_line_by_line_and_the_rest_imports(sample_tx: Tx) -> None:
    listing = sample_tx("dataset", "-P", "-S")
    lines = listing.splitlines()
    carried = {line for line in lines if line.split(" ", 1)[0] in ("pdq", "video_md5", "video_sha256")}
    records, refusals = imported(listing)
    assert pytx_set(records) == as_signals(sorted(carried))
    assert len(records) == len(carried) == 20
    assert len(refusals) == len(lines) - len(carried) == 6
    assert {r.field for r in refusals} == {"signal_type"}
    assert all("want a python-threatexchange type hashnode carries" in r.reason for r in refusals)


def test_sample_csv_with_quoted_json_signals_reads_row_by_row(sample_tx: Tx) -> None:
    records, refusals = imported(sample_tx("dataset", "-P", "--csv"))
    assert len(records) == 20 and {r.field for r in refusals} == {"signal_type"}


# Real `threatexchange dataset -P` and `-P --csv` output for signals with opinions (python-threatexchange 1.2.17;
# an exchange reporting POSITIVE_CLASS, NEGATIVE_CLASS and both for one signal, which it shows as DISPUTED).
OPINIONS_P = """\
pdq f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22 'ops' POSITIVE_CLASS csam,sextortion
pdq e64cc9d91c623882f8d1f1d9a398e78c9f199b3bd83924f2b7e11e0bf861b064 'ops' NEGATIVE_CLASS meme
pdq c186f9619659658c4b6916daf934496985f4259c72c39676ab9edb631c3c349c 'ops' DISPUTED terror
pdq 6227401f601ff4ccafcc9fad4b0d95d371a2eb7265a3285234d228ca94deeb2d 'ops' POSITIVE_CLASS spam,review
video_sha256 ed2fb63d4467c7c8419175c0d14ae029c8429cad70d18472a709f38938ba3938 'ops' POSITIVE_CLASS new
video_md5 83a79f1bd44945e21843af2825092a42 "it's ops" POSITIVE_CLASS
"""
OPINIONS_CSV = (
    "signal_type,signal_str,collab,category,tags\r\n"
    "pdq,f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22,ops,POSITIVE_CLASS,csam sextortion\r\n"
    "pdq,e64cc9d91c623882f8d1f1d9a398e78c9f199b3bd83924f2b7e11e0bf861b064,ops,NEGATIVE_CLASS,meme\r\n"
    "pdq,c186f9619659658c4b6916daf934496985f4259c72c39676ab9edb631c3c349c,ops,DISPUTED,terror\r\n"
    "pdq,6227401f601ff4ccafcc9fad4b0d95d371a2eb7265a3285234d228ca94deeb2d,ops,POSITIVE_CLASS,review spam\r\n"
    "video_sha256,ed2fb63d4467c7c8419175c0d14ae029c8429cad70d18472a709f38938ba3938,ops,POSITIVE_CLASS,new\r\n"
    "video_md5,83a79f1bd44945e21843af2825092a42,it's ops,POSITIVE_CLASS,\r\n"
)


@pytest.mark.parametrize(("listing", "first"), [(OPINIONS_P, 1), (OPINIONS_CSV, 2)], ids=["-P", "-P --csv"])
def test_false_positives_and_disputed_signals_are_refused_with_their_category(listing: str, first: int) -> None:
    records, refusals = imported(listing)
    assert [(r.line_no, r.field) for r in refusals] == [(first + 1, "category"), (first + 2, "category")]
    assert "got NEGATIVE_CLASS, want POSITIVE_CLASS or INVESTIGATION_SEED" in refusals[0].reason
    assert "got DISPUTED" in refusals[1].reason
    assert [r.tags for r in records] == [("csam", "sextortion"), ("review", "spam"), ("new",), ()]
    assert [r.signal_type for r in records] == ["pdq", "pdq", "sha256", "md5"]


def test_bare_hashes_without_a_default_type_are_refused_saying_so() -> None:
    _, refusals = imported(f"pdq {'f8' * 32}\nd41d8cd98f00b204e9800998ecf8427e\n")
    assert [(r.line_no, r.field) for r in refusals] == [(2, "format")]
    assert "bare signals need a default signal type" in refusals[0].reason


def test_upper_case_hashes_threatexchange_passes_through_import_in_lower_case() -> None:
    records, _ = imported("video_md5 6D7C47AD186E93C3D825E72A759B64B0\n")
    assert pytx_set(records) == {("video_md5", "6d7c47ad186e93c3d825e72a759b64b0")}


# --- through a node: import, export, import again -----------------------------------------------------------


def exported_set(cli: Cli, node: RunningNode, out: Path) -> Signals:
    """What the node holds, exported in threatexchange's format and read back by its own local-file reader."""
    assert cli("export", "--target", node.target, "--out", out, "--format", "te").code == 0
    collab = FileCollaborationConfig(name="export", api="local_file", enabled=True, filename=str(out))
    api = LocalFileSignalExchangeAPI.for_collab(collab)
    fetched: dict[tuple[str, str], object] = {}
    for delta in api.fetch_iter(_DEFAULT_SIGNAL_TYPES, None):
        fetched.update(delta.updates)
    converted = api.naive_convert_to_signal_type(_DEFAULT_SIGNAL_TYPES, collab, fetched)  # type: ignore[arg-type]
    return {(s_type.get_name(), signal) for s_type, signals in converted.items() for signal in signals}


@pytest.mark.parametrize(
    ("args", "flags"),
    [
        (("dataset", "-P", "-S"), ()),
        (("dataset", "-P"), ()),
        (("dataset", "-P", "--csv"), ()),
        (("dataset", "-P", "-S", "-s", "pdq"), ("--signal-type", "pdq")),
    ],
    ids=["-P -S", "-P", "-P --csv", "bare pdq"],
)
def test_listing_imports_into_a_node_exports_back_as_the_same_set_and_imports_again_as_nothing(
    tx: Tx, node: RunningNode, cli: Cli, tmp_path: Path, args: tuple[str, ...], flags: tuple[str, ...]
) -> None:
    listing = tmp_path / "listing"
    listing.write_text(tx(*args))
    expected = PDQ_ONLY if flags else EVERY
    options = ("--target", node.target, "--label", LABEL, "--quality", "80", *flags, "--json")
    first = json.loads(cli("import", listing, *options).out)
    assert first["refused"] == [] and first["accepted"] == len(expected)
    assert exported_set(cli, node, tmp_path / "export.te") == expected
    second = json.loads(cli("import", listing, *options).out)
    assert second["accepted"] == 0 and second["entries"] == []
    assert len(second["duplicates"]) == len(listing.read_text().splitlines()) - args.count("--csv")
    assert node.record_count() == len(expected)
