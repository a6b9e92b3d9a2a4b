from node.api.gen.hashnode.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SubmitRequest(_message.Message):
    __slots__ = ("records",)
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[_types_pb2.HashRecord]
    def __init__(self, records: _Optional[_Iterable[_Union[_types_pb2.HashRecord, _Mapping]]] = ...) -> None: ...

class SubmitResponse(_message.Message):
    __slots__ = ("entry_id", "seq", "record_ids")
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    RECORD_IDS_FIELD_NUMBER: _ClassVar[int]
    entry_id: str
    seq: int
    record_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, entry_id: _Optional[str] = ..., seq: _Optional[int] = ..., record_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class HashQuery(_message.Message):
    __slots__ = ("signal_type", "value", "content_ref")
    SIGNAL_TYPE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_REF_FIELD_NUMBER: _ClassVar[int]
    signal_type: str
    value: str
    content_ref: str
    def __init__(self, signal_type: _Optional[str] = ..., value: _Optional[str] = ..., content_ref: _Optional[str] = ...) -> None: ...

class MatchRequest(_message.Message):
    __slots__ = ("queries", "pdq_threshold")
    QUERIES_FIELD_NUMBER: _ClassVar[int]
    PDQ_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    queries: _containers.RepeatedCompositeFieldContainer[HashQuery]
    pdq_threshold: int
    def __init__(self, queries: _Optional[_Iterable[_Union[HashQuery, _Mapping]]] = ..., pdq_threshold: _Optional[int] = ...) -> None: ...

class Match(_message.Message):
    __slots__ = ("record", "distance", "provenance_ref", "policy")
    RECORD_FIELD_NUMBER: _ClassVar[int]
    DISTANCE_FIELD_NUMBER: _ClassVar[int]
    PROVENANCE_REF_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    record: _types_pb2.RecordInfo
    distance: int
    provenance_ref: str
    policy: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, record: _Optional[_Union[_types_pb2.RecordInfo, _Mapping]] = ..., distance: _Optional[int] = ..., provenance_ref: _Optional[str] = ..., policy: _Optional[_Iterable[str]] = ...) -> None: ...

class QueryResult(_message.Message):
    __slots__ = ("query_index", "matches")
    QUERY_INDEX_FIELD_NUMBER: _ClassVar[int]
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    query_index: int
    matches: _containers.RepeatedCompositeFieldContainer[Match]
    def __init__(self, query_index: _Optional[int] = ..., matches: _Optional[_Iterable[_Union[Match, _Mapping]]] = ...) -> None: ...

class MatchResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[QueryResult]
    def __init__(self, results: _Optional[_Iterable[_Union[QueryResult, _Mapping]]] = ...) -> None: ...

class ProvenanceRequest(_message.Message):
    __slots__ = ("record_id",)
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    def __init__(self, record_id: _Optional[str] = ...) -> None: ...

class RetractRequest(_message.Message):
    __slots__ = ("record_ids", "reason")
    RECORD_IDS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    record_ids: _containers.RepeatedScalarFieldContainer[str]
    reason: str
    def __init__(self, record_ids: _Optional[_Iterable[str]] = ..., reason: _Optional[str] = ...) -> None: ...

class RetractResponse(_message.Message):
    __slots__ = ("entry_id", "seq")
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    entry_id: str
    seq: int
    def __init__(self, entry_id: _Optional[str] = ..., seq: _Optional[int] = ...) -> None: ...

class ExportRequest(_message.Message):
    __slots__ = ("own_only", "after_cursor", "batch_size", "include_inactive", "signal_types")
    OWN_ONLY_FIELD_NUMBER: _ClassVar[int]
    AFTER_CURSOR_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_INACTIVE_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_TYPES_FIELD_NUMBER: _ClassVar[int]
    own_only: bool
    after_cursor: int
    batch_size: int
    include_inactive: bool
    signal_types: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, own_only: _Optional[bool] = ..., after_cursor: _Optional[int] = ..., batch_size: _Optional[int] = ..., include_inactive: _Optional[bool] = ..., signal_types: _Optional[_Iterable[str]] = ...) -> None: ...

class ExportBatch(_message.Message):
    __slots__ = ("records", "next_cursor", "member_id")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[_types_pb2.RecordInfo]
    next_cursor: int
    member_id: str
    def __init__(self, records: _Optional[_Iterable[_Union[_types_pb2.RecordInfo, _Mapping]]] = ..., next_cursor: _Optional[int] = ..., member_id: _Optional[str] = ...) -> None: ...
