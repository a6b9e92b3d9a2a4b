"""A python-threatexchange `SignalExchangeAPI` for a hashnode node: HMA or the `threatexchange` CLI fetch the
consortium's hashes from a member's node and report opinions back (docs/threatexchange.md).

Fetching follows the node's change feed (ExportRecords with `changes`): every record once when it was stored
and again whenever it changed (a retraction, an overturn, a new opinion, the node's policy), each time as it
stands. The checkpoint is the feed's cursor, so each fetch reads only what changed since the last one, and a
record that stops matching is deleted (its update is None) at the next fetch: HMA, which never clears its
copy, and the CLI, which does on a stale checkpoint, both end up holding exactly the node's active records.
A full fetch again after `full_refetch_days` is only a safety net. Updates are keyed by record id; records of
one hash become one signal (`naive_convert_to_signal_type`).

Opinions, as python-threatexchange reads them: each record is a POSITIVE_CLASS opinion of its contributor (its
labels as tags, `is_mine` for this node's member), and each other member's latest opinion on it is one more:
an endorsement POSITIVE_CLASS, a false-positive report or a disagreement NEGATIVE_CLASS. threatexchange shows a
signal with both as DISPUTED. `report_opinion` signs an opinion entry on the node (the Opine RPC) about every
other member's record of the signal: POSITIVE_CLASS endorses it, NEGATIVE_CLASS reports a false positive.

Signal types and values translate through `node.interchange.pytx_names`: hashnode's `pdq` is threatexchange's
`pdq`; `md5` and `video_md5` (both the MD5 of a file's bytes) are `video_md5`, and `sha256` is `video_sha256`;
`vpdq` is threatexchange's `vpdq` (its extension `threatexchange.extensions.vpdq`), a video's frame list as
threatexchange writes it. `report_opinion` on a vpdq signal opines on every other member's record of that video:
the records whose frames match the signal's, and the signal's theirs, in full (100 % both ways).

TLS: a node's certificate carries the name `hashnode.peer` (and the names its operator configured), whatever
host it runs on; the adapter asks for `tls_server_name`, `hashnode.peer` unless set.

Needs the `threatexchange` extra (`pip install 'hashnode-consortium[threatexchange]'`). Add it to the
threatexchange CLI with `threatexchange config extensions add node.adapters.threatexchange`; HMA and the CLI's
saved state name this module and its classes, so they stay here.
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

from node.api import MAX_MESSAGE_BYTES, convert
from node.api.gen.hashnode.v1 import client_pb2, client_pb2_grpc, types_pb2
from node.core.vpdq import VpdqFeatures
from node.interchange.pytx_names import from_pytx, hashnode_types_of, pytx_name, to_pytx
from node.membership.tls_names import PEER_TLS_NAME
from node.network.diagnose import Mismatch, tls_mismatch

API_NAME = "hashnode"
FETCH_BATCH = 1000
DAY_S = 86_400
FEED_VERSION = 1  # checkpoints whose cursor is a change-feed position; older ones are stale
OPINION_STANCES = {
    state.SignalOpinionCategory.POSITIVE_CLASS: client_pb2.STANCE_AGREE,
    state.SignalOpinionCategory.NEGATIVE_CLASS: client_pb2.STANCE_FALSE_POSITIVE,
}
# What each member's opinion on a record is in threatexchange's terms (a disagreement with the labels counts as
# negative, as threatexchange's own ThreatExchange exchange counts DISAGREE_WITH_TAGS).
STANCE_CATEGORIES: dict[int, state.SignalOpinionCategory] = {
    int(client_pb2.STANCE_AGREE): state.SignalOpinionCategory.POSITIVE_CLASS,
    int(client_pb2.STANCE_DISAGREE): state.SignalOpinionCategory.NEGATIVE_CLASS,
    int(client_pb2.STANCE_FALSE_POSITIVE): state.SignalOpinionCategory.NEGATIVE_CLASS,
}
OPINION_TEXT = "reported through the threatexchange adapter"
_MISMATCH_HINTS = {
    Mismatch.PLAINTEXT_TO_TLS: "set root_certificate to the node's certificate (PEM)",
    Mismatch.TLS_TO_PLAINTEXT: "unset root_certificate for a development node",
    Mismatch.SERVER_NAME: f"set tls_server_name to a name it carries ({PEER_TLS_NAME} on every node)",
}


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
    tls_server_name: str = field(
        default=PEER_TLS_NAME,
        metadata={
            "help": f"the name the node's TLS certificate must carry ({PEER_TLS_NAME}, which every node's "
            "carries, or a name from the node's [tls] client_names)",
            "metavar": "NAME",
        },
    )
    full_refetch_days: int = field(
        default=7,
        metadata={"help": "fetch everything again after this many days (a safety net: fetches follow changes)"},
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
    cursor: int  # ExportRecords cursor: a position in the node's change feed, after the last change fetched
    member_id: str  # the node the cursor belongs to: a cursor means nothing on another node
    full_fetch_started: float  # Unix seconds when the fetch this checkpoint continues started from nothing
    full_refetch_s: float
    # FEED_VERSION for a change-feed cursor; checkpoints saved by earlier versions lack the field and read 0
    # (their cursor was a store position, which a feed cursor is not): stale, so fetching starts over.
    feed: int = 0

    def is_stale(self) -> bool:
        return self.feed < FEED_VERSION or time.time() - self.full_fetch_started > self.full_refetch_s


@dataclass
class HashnodeOpinion:
    """A member's latest opinion on a record."""

    member_id: str
    stance: int  # client_pb2.Stance
    is_mine: bool  # by this node's member


@dataclass
class HashnodeRecord:
    """One record as fetched (the update value, keyed by record id)."""

    signal_type: str  # hashnode's name
    value: str
    labels: tuple[str, ...]
    author: str
    is_mine: bool
    opinions: tuple[HashnodeOpinion, ...] = ()  # records saved by earlier versions have none


@dataclass
class HashnodeSignalMetadata(state.FetchedSignalMetadata):
    """Every record of one signal: one opinion per record (its labels as tags) and one per member's opinion."""

    records: dict[str, HashnodeRecord]  # by record id

    def get_as_opinions(self) -> t.Sequence[state.SignalOpinion]:
        opinions = []
        for record in self.records.values():
            positive = state.SignalOpinionCategory.POSITIVE_CLASS
            opinions.append(state.SignalOpinion(record.is_mine, positive, set(record.labels)))
            opinions += [
                state.SignalOpinion(opinion.is_mine, STANCE_CATEGORIES[opinion.stance], set())
                for opinion in record.opinions
                if opinion.stance in STANCE_CATEGORIES
            ]
        return opinions


Update = dict[str, HashnodeRecord | None]


def _record_update(
    info: types_pb2.RecordInfo, member_id: str, opinions: Sequence[client_pb2.RecordOpinion]
) -> HashnodeRecord | None:
    """The update a fetched record makes: the record while it matches (active, or disputed: a case is open and
    its opinions say so), None (delete) once it does not."""
    if info.status not in (types_pb2.RECORD_STATUS_ACTIVE, types_pb2.RECORD_STATUS_DISPUTED):
        return None
    record = info.record
    return HashnodeRecord(
        record.signal_type,
        _text_value(record),
        tuple(record.labels),
        info.author,
        info.author == member_id,
        tuple(HashnodeOpinion(o.member_id, int(o.stance), o.member_id == member_id) for o in opinions),
    )


def _text_value(record: types_pb2.HashRecord) -> str:
    """A record's hash in hashnode's text form (`pytx_names`): hex, or for vpdq the hex of its features."""
    if record.signal_type == "vpdq":
        return convert.features_from_proto(record.video, "record.video").encode().hex()
    return str(record.value)


def _query(kind: str, value: str) -> client_pb2.HashQuery:
    """A query for the records of exactly this hash: a vpdq one carries the features, matched both ways in full."""
    if kind == "vpdq":
        query = client_pb2.HashQuery(signal_type=kind)
        convert.fill_features(query.video, VpdqFeatures.from_hex(value))
        return query
    return client_pb2.HashQuery(signal_type=kind, value=value)


def _batch_updates(batch: client_pb2.ExportBatch) -> Update:
    by_record: dict[str, list[client_pb2.RecordOpinion]] = {}
    for opinion in batch.opinions:
        by_record.setdefault(opinion.record_id, []).append(opinion)
    return {
        info.record_id: _record_update(info, batch.member_id, by_record.get(info.record_id, ()))
        for info in batch.records
    }


class NodeUnreachable(ConnectionError):
    """The node could not be called; the message says why when client and node disagree on TLS."""


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
        options: list[tuple[str, t.Any]] = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES)]
        if self.collab.root_certificate:
            roots = Path(self.collab.root_certificate).read_bytes()
            if self.collab.tls_server_name:
                options.append(("grpc.ssl_target_name_override", self.collab.tls_server_name))
            opened = grpc.secure_channel(self.collab.target, grpc.ssl_channel_credentials(roots), options)
        else:
            opened = grpc.insecure_channel(self.collab.target, options)
        with opened:
            try:
                yield client_pb2_grpc.HashNodeStub(opened)
            except grpc.RpcError as exc:
                raise self._explained(exc) from exc

    def _explained(self, exc: Exception) -> Exception:
        """A call's failure, with what to change when client and node disagree on TLS."""
        rpc: t.Any = exc
        if rpc.code() != grpc.StatusCode.UNAVAILABLE:
            return exc
        tls = bool(self.collab.root_certificate)
        mismatch = tls_mismatch(rpc.details() or "", self.collab.target, tls=tls)
        if mismatch is None:
            return exc
        return NodeUnreachable(
            f"hashnode node at {self.collab.target}: {mismatch.value}: {_MISMATCH_HINTS[mismatch]} "
            f"({rpc.details()})"
        )

    def fetch_iter(
        self,
        supported_signal_types: t.Sequence[type[SignalType]],
        checkpoint: HashnodeCheckpoint | None,
    ) -> t.Iterator[state.FetchDelta[str, HashnodeRecord, HashnodeCheckpoint]]:
        types = _hashnode_types(supported_signal_types)
        if not types:  # none of the types asked for is one hashnode carries: nothing to fetch
            return
        if checkpoint is not None and checkpoint.is_stale():
            checkpoint = None
        with self._stub() as stub:
            try:
                yield from self._follow(stub, types, checkpoint)
            except grpc.RpcError as exc:
                if checkpoint is None or not _is_foreign_cursor(exc):
                    raise
                # The node's store was restored or replaced: its feed restarted. Reading it from the start gives
                # every record as it stands, deletes included, so the copy converges without being cleared.
                yield from self._follow(stub, types, None)

    def _follow(
        self, stub: client_pb2_grpc.HashNodeStub, types: list[str], checkpoint: HashnodeCheckpoint | None
    ) -> t.Iterator[state.FetchDelta[str, HashnodeRecord, HashnodeCheckpoint]]:
        started = checkpoint.full_fetch_started if checkpoint else time.time()
        request = client_pb2.ExportRequest(
            own_only=self.collab.scope == "own",
            after_cursor=checkpoint.cursor if checkpoint else 0,
            batch_size=FETCH_BATCH,
            changes=True,
            include_opinions=True,
            signal_types=types,
        )
        refetch_s = float(self.collab.full_refetch_days * DAY_S)
        for batch in stub.ExportRecords(request, metadata=self.metadata):
            if checkpoint is not None and checkpoint.member_id not in ("", batch.member_id):
                raise ValueError(
                    f"{self.collab.target} now serves {batch.member_id}, not {checkpoint.member_id}: "
                    "clear the fetched data of this collaboration and fetch again"
                )
            cursor = HashnodeCheckpoint(batch.next_cursor, batch.member_id, started, refetch_s, FEED_VERSION)
            yield state.FetchDelta(_batch_updates(batch), cursor)

    @classmethod
    def naive_convert_to_signal_type(
        cls,
        signal_types: t.Sequence[type[SignalType]],
        collab: HashnodeCollabConfig,
        fetched: t.Mapping[str, HashnodeRecord],
    ) -> dict[type[SignalType], dict[str, HashnodeSignalMetadata]]:
        by_name = {s_type.get_name(): s_type for s_type in signal_types}
        converted: dict[type[SignalType], dict[str, HashnodeSignalMetadata]] = {}
        # HMA converts one record at a time and takes an empty result for a delete; the CLI converts them all.
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
        _, value = from_pytx(s_type.get_name(), signal)
        queries = [_query(kind, value) for kind in hashnode_types_of(s_type.get_name())]
        request = client_pb2.MatchRequest(
            queries=queries, pdq_threshold=0, vpdq_query_match_percent=100, vpdq_compared_match_percent=100
        )
        response = stub.Match(request, metadata=self.metadata)
        mine = _member_id(stub, self.metadata)
        return [hit.provenance_ref for result in response.results for hit in result.matches if hit.author != mine]


def _member_id(stub: client_pb2_grpc.HashNodeStub, metadata: Sequence[tuple[str, str]]) -> str:
    """The node's own member id: every export batch names it, and an export has at least one batch."""
    for batch in stub.ExportRecords(client_pb2.ExportRequest(batch_size=1), metadata=metadata):
        return str(batch.member_id)
    return ""


def _is_foreign_cursor(exc: grpc.RpcError) -> bool:
    return exc.code() == grpc.StatusCode.INVALID_ARGUMENT and (exc.details() or "").startswith("after_cursor:")


def _hashnode_types(supported: Sequence[type[SignalType]]) -> list[str]:
    return sorted(kind for s_type in supported for kind in hashnode_types_of(s_type.get_name()))


TX_MANIFEST = ThreatExchangeExtensionManifest(apis=(HashnodeSignalExchangeAPI,))
