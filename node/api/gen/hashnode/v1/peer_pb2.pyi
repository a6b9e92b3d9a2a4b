from node.api.gen.hashnode.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AuthorHead(_message.Message):
    __slots__ = ("author", "seq", "entry_id")
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    author: str
    seq: int
    entry_id: bytes
    def __init__(self, author: _Optional[str] = ..., seq: _Optional[int] = ..., entry_id: _Optional[bytes] = ...) -> None: ...

class FrontierRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Frontier(_message.Message):
    __slots__ = ("heads", "consortium_id", "member_id", "evidence_ids", "roster_version")
    HEADS_FIELD_NUMBER: _ClassVar[int]
    CONSORTIUM_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_IDS_FIELD_NUMBER: _ClassVar[int]
    ROSTER_VERSION_FIELD_NUMBER: _ClassVar[int]
    heads: _containers.RepeatedCompositeFieldContainer[AuthorHead]
    consortium_id: str
    member_id: str
    evidence_ids: _containers.RepeatedScalarFieldContainer[bytes]
    roster_version: int
    def __init__(self, heads: _Optional[_Iterable[_Union[AuthorHead, _Mapping]]] = ..., consortium_id: _Optional[str] = ..., member_id: _Optional[str] = ..., evidence_ids: _Optional[_Iterable[bytes]] = ..., roster_version: _Optional[int] = ...) -> None: ...

class AuthorRange(_message.Message):
    __slots__ = ("author", "from_seq", "to_seq")
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    FROM_SEQ_FIELD_NUMBER: _ClassVar[int]
    TO_SEQ_FIELD_NUMBER: _ClassVar[int]
    author: str
    from_seq: int
    to_seq: int
    def __init__(self, author: _Optional[str] = ..., from_seq: _Optional[int] = ..., to_seq: _Optional[int] = ...) -> None: ...

class FetchRequest(_message.Message):
    __slots__ = ("ranges", "max_batch_bytes", "evidence_ids")
    RANGES_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_BYTES_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_IDS_FIELD_NUMBER: _ClassVar[int]
    ranges: _containers.RepeatedCompositeFieldContainer[AuthorRange]
    max_batch_bytes: int
    evidence_ids: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, ranges: _Optional[_Iterable[_Union[AuthorRange, _Mapping]]] = ..., max_batch_bytes: _Optional[int] = ..., evidence_ids: _Optional[_Iterable[bytes]] = ...) -> None: ...

class ForkEvidence(_message.Message):
    __slots__ = ("lower", "upper")
    LOWER_FIELD_NUMBER: _ClassVar[int]
    UPPER_FIELD_NUMBER: _ClassVar[int]
    lower: _types_pb2.SignedEntry
    upper: _types_pb2.SignedEntry
    def __init__(self, lower: _Optional[_Union[_types_pb2.SignedEntry, _Mapping]] = ..., upper: _Optional[_Union[_types_pb2.SignedEntry, _Mapping]] = ...) -> None: ...

class EntryBatch(_message.Message):
    __slots__ = ("entries", "evidence", "roster_version")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    ROSTER_VERSION_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[_types_pb2.SignedEntry]
    evidence: _containers.RepeatedCompositeFieldContainer[ForkEvidence]
    roster_version: int
    def __init__(self, entries: _Optional[_Iterable[_Union[_types_pb2.SignedEntry, _Mapping]]] = ..., evidence: _Optional[_Iterable[_Union[ForkEvidence, _Mapping]]] = ..., roster_version: _Optional[int] = ...) -> None: ...

class SubscribeRequest(_message.Message):
    __slots__ = ("since",)
    SINCE_FIELD_NUMBER: _ClassVar[int]
    since: Frontier
    def __init__(self, since: _Optional[_Union[Frontier, _Mapping]] = ...) -> None: ...
