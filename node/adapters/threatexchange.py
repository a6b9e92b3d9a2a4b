"""A python-threatexchange `SignalExchangeAPI` for a hashnode node: HMA or the `threatexchange` CLI fetch the
consortium's hashes from a member's node and report opinions back (docs/threatexchange.md).

Fetching pages through the node's ExportRecords stream. The checkpoint is the stream's cursor (a position in
that node's store, which only grows), so each fetch asks only for records stored since the last one. A record
retracted or overturned after it was fetched is not in that stream, so the checkpoint turns stale after
`full_refetch_days`, and the exchange then fetches everything again, which drops such records. Updates are
keyed by record id; several records may carry the same hash, and `naive_convert_to_signal_type` merges them
into one signal with one opinion per record, the record's labels as its tags.

Opinions: `report_opinion` signs an opinion entry on the node (the Opine RPC) about every other member's
record of the signal: a positive opinion endorses it, a negative one reports a false positive.

Signal types and values translate through `node.interchange.pytx_names`: hashnode's `pdq` is threatexchange's
`pdq`; `md5` and `video_md5` (both the MD5 of a file's bytes) are `video_md5`, and `sha256` is `video_sha256`.

Needs the `threatexchange` extra (`pip install 'hashnode[threatexchange]'`). Add it to the threatexchange CLI
with `threatexchange config extensions add node.adapters.threatexchange`.
"""

# No `from __future__ import annotations`: the threatexchange CLI reads the config dataclass's field types at
# run time to build its command-line options, and postponed annotations would hand it strings.

import time
import typing as t
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from threatexchange.exchanges import auth
from threatexchange.exchanges import fetch_state as state
from threatexchange.exchanges.collab_config import CollaborationConfigWithDefaults
from threatexchange.exchanges.signal_exchange_api import SignalExchangeAPI
from threatexchange.extensions.manifest import ThreatExchangeExtensionManifest
from threatexchange.signal_type.signal_base import SignalType

from node.api import MAX_MESSAGE_BYTES
from node.api.gen.hashnode.v1 import client_pb2, client_pb2_grpc, types_pb2
from node.interchange.pytx_names import hashnode_types_of, pytx_name, to_pytx

API_NAME = "hashnode"
FETCH_BATCH = 1000
DAY_S = 86_400
OPINION_STANCES = {
    state.SignalOpinionCategory.POSITIVE_CLASS: client_pb2.STANCE_AGREE,
    state.SignalOpinionCategory.NEGATIVE_CLASS: client_pb2.STANCE_FALSE_POSITIVE,
}
OPINION_TEXT = "reported through the threatexchange adapter"


@dataclass
class _RequiredFields:
    target: str = field(
        metadata={"help": "host:port of the hashnode node's client API", "metavar": "HOST:PORT"}
    )


@dataclass
class HashnodeCollabConfig(CollaborationConfigWithDefaults, _RequiredFields):
    """Which node to fetch from, and what."""

    scope: str = field(
        default="all", metadata={"help": "all: every member's records; own: this node's member's only"}
    )
    root_certificate: t.Optional[str] = field(  # noqa: UP045 (the CLI inspects this type at run time)
        default=None,
        metadata={
            "help": "PEM file to verify the node's TLS certificate with; unset: plaintext (development only)",
            "metavar": "PEM_FILE",
        },
    )
    full_refetch_days: int = field(
        default=7, metadata={"help": "fetch everything again after this many days (drops retracted records)"}
    )


@dataclass
class HashnodeCredentials(auth.CredentialHelper):
    """The node's client bearer token (`[clients] token_file` on the node)."""

    ENV_VARIABLE: t.ClassVar[str] = "TX_HASHNODE_TOKEN"
    FILE_NAME: t.ClassVar[str] = "~/.tx_hashnode_token"

    token: str

    @classmethod
    def _from_str(cls, s: str) -> "HashnodeCredentials":
        return cls(s.strip())

    def _are_valid(self) -> bool:
        return bool(self.token)


@dataclass
class HashnodeCheckpoint(state.FetchCheckpointBase):
    cursor: int  # ExportRecords cursor: the node's store position after the last record fetched
    member_id: str  # the node the cursor belongs to: a cursor means nothing on another node
    full_fetch_started: float  # Unix seconds when the fetch this checkpoint continues started from nothing
    full_refetch_s: float

    def is_stale(self) -> bool:
        return time.time() - self.full_fetch_started > self.full_refetch_s


@dataclass
class HashnodeRecord:
    """One record as fetched (the update value, keyed by record id)."""

    signal_type: str  # hashnode's name
    value: str
    labels: tuple[str, ...]
    author: str
    is_mine: bool


@dataclass
class HashnodeSignalMetadata(state.FetchedSignalMetadata):
    """Every record of one signal: one opinion per record, its labels as tags."""

    records: dict[str, HashnodeRecord]  # by record id

    def get_as_opinions(self) -> t.Sequence[state.SignalOpinion]:
        return [
            state.SignalOpinion(
                record.is_mine, state.SignalOpinionCategory.POSITIVE_CLASS, set(record.labels)
            )
            for record in self.records.values()
        ]


Update = dict[str, HashnodeRecord | None]


def _record_update(info: types_pb2.RecordInfo, member_id: str) -> HashnodeRecord | None:
    """The update a fetched record makes: the record while active, None (delete) once it is not."""
    if info.status != types_pb2.RECORD_STATUS_ACTIVE:
        return None
    record = info.record
    return HashnodeRecord(
        record.signal_type, record.value, tuple(record.labels), info.author, info.author == member_id
    )


class HashnodeSignalExchangeAPI(
    auth.SignalExchangeWithAuth[HashnodeCollabConfig, HashnodeCredentials],
    SignalExchangeAPI[HashnodeCollabConfig, HashnodeCheckpoint, HashnodeSignalMetadata, str, HashnodeRecord],
):
    """Fetches a hashnode node's records; reports opinions as signed Opine entries."""

    def __init__(self, collab: HashnodeCollabConfig, token: str | None = None) -> None:
        if collab.scope not in ("all", "own"):
            raise ValueError(f"scope: got {collab.scope!r}, want 'all' or 'own'")
        self.collab = collab
        self.metadata = [("authorization", f"Bearer {token}")] if token else []

    @classmethod
    def get_name(cls) -> str:
        return API_NAME

    @staticmethod
    def get_config_cls() -> type[HashnodeCollabConfig]:
        return HashnodeCollabConfig

    @staticmethod
    def get_checkpoint_cls() -> type[HashnodeCheckpoint]:
        return HashnodeCheckpoint

    @staticmethod
    def get_record_cls() -> type[HashnodeSignalMetadata]:
        return HashnodeSignalMetadata

    @staticmethod
    def get_credential_cls() -> type[HashnodeCredentials]:
        return HashnodeCredentials

    @classmethod
    def for_collab(
        cls,
        collab: HashnodeCollabConfig,
        credentials: HashnodeCredentials | None = None,
    ) -> "HashnodeSignalExchangeAPI":
        if credentials is None:
            try:
                credentials = HashnodeCredentials.get(cls)
            except auth.SignalExchangeAPIMissingAuthException:
                credentials = None  # a development node on loopback takes calls without a token
        return cls(collab, credentials.token if credentials else None)

    @contextmanager
    def _stub(self) -> Iterator[client_pb2_grpc.HashNodeStub]:
        options = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES)]
        if self.collab.root_certificate:
            roots = Path(self.collab.root_certificate).read_bytes()
            opened = grpc.secure_channel(self.collab.target, grpc.ssl_channel_credentials(roots), options)
        else:
            opened = grpc.insecure_channel(self.collab.target, options)
        with opened:
            yield client_pb2_grpc.HashNodeStub(opened)

    def fetch_iter(
        self,
        supported_signal_types: t.Sequence[type[SignalType]],
        checkpoint: HashnodeCheckpoint | None,
    ) -> t.Iterator[state.FetchDelta[str, HashnodeRecord, HashnodeCheckpoint]]:
        started = checkpoint.full_fetch_started if checkpoint else time.time()
        request = client_pb2.ExportRequest(
            own_only=self.collab.scope == "own",
            after_cursor=checkpoint.cursor if checkpoint else 0,
            batch_size=FETCH_BATCH,
            include_inactive=checkpoint is not None,  # deletes matter only to a copy that holds something
            signal_types=_hashnode_types(supported_signal_types),
        )
        refetch_s = float(self.collab.full_refetch_days * DAY_S)
        with self._stub() as stub:
            for batch in stub.ExportRecords(request, metadata=self.metadata):
                if checkpoint is not None and checkpoint.member_id not in ("", batch.member_id):
                    raise ValueError(
                        f"{self.collab.target} now serves {batch.member_id}, not {checkpoint.member_id}: "
                        "clear the fetched data of this collaboration and fetch again"
                    )
                updates: Update = {
                    info.record_id: _record_update(info, batch.member_id) for info in batch.records
                }
                yield state.FetchDelta(
                    updates, HashnodeCheckpoint(batch.next_cursor, batch.member_id, started, refetch_s)
                )

    @classmethod
    def naive_convert_to_signal_type(
        cls,
        signal_types: t.Sequence[type[SignalType]],
        collab: HashnodeCollabConfig,
        fetched: t.Mapping[str, HashnodeRecord],
    ) -> dict[type[SignalType], dict[str, HashnodeSignalMetadata]]:
        by_name = {s_type.get_name(): s_type for s_type in signal_types}
        converted: dict[type[SignalType], dict[str, HashnodeSignalMetadata]] = {}
        for record_id, record in fetched.items():
            s_type = None if record is None else by_name.get(pytx_name(record.signal_type) or "")
            if s_type is None:
                continue
            _, signal = to_pytx(record.signal_type, record.value)
            signals = converted.setdefault(s_type, {})
            signals.setdefault(signal, HashnodeSignalMetadata({})).records[record_id] = record
        return converted

    def report_opinion(self, s_type: type[SignalType], signal: str, opinion: state.SignalOpinion) -> None:
        """Signs an opinion on every other member's record of `signal` (exact hash, any hashnode type that
        maps to `s_type`). Raises NotImplementedError for categories hashnode has no opinion for."""
        stance = OPINION_STANCES.get(opinion.category)
        if stance is None:
            raise NotImplementedError(f"hashnode records no opinion of category {opinion.category.name}")
        with self._stub() as stub:
            for record_id in self._others_records(stub, s_type, signal):
                request = client_pb2.OpineRequest(record_id=record_id, stance=stance, text=OPINION_TEXT)
                stub.Opine(request, metadata=self.metadata)

    def _others_records(
        self, stub: client_pb2_grpc.HashNodeStub, s_type: type[SignalType], signal: str
    ) -> list[str]:
        kinds = hashnode_types_of(s_type.get_name())
        queries = [client_pb2.HashQuery(signal_type=kind, value=signal) for kind in kinds]
        response = stub.Match(
            client_pb2.MatchRequest(queries=queries, pdq_threshold=0), metadata=self.metadata
        )
        mine = _member_id(stub, self.metadata)
        return [
            hit.record.record_id
            for result in response.results
            for hit in result.matches
            if hit.record.author != mine
        ]


def _member_id(stub: client_pb2_grpc.HashNodeStub, metadata: Sequence[tuple[str, str]]) -> str:
    """The node's own member id: every export batch names it, and an export has at least one batch."""
    for batch in stub.ExportRecords(client_pb2.ExportRequest(batch_size=1), metadata=metadata):
        return str(batch.member_id)
    return ""


def _hashnode_types(supported: Sequence[type[SignalType]]) -> list[str]:
    return sorted(kind for s_type in supported for kind in hashnode_types_of(s_type.get_name()))


TX_MANIFEST = ThreatExchangeExtensionManifest(apis=(HashnodeSignalExchangeAPI,))
