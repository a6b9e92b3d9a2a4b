from node.api.gen.hashnode.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Stance(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STANCE_UNSPECIFIED: _ClassVar[Stance]
    STANCE_AGREE: _ClassVar[Stance]
    STANCE_DISAGREE: _ClassVar[Stance]
    STANCE_FALSE_POSITIVE: _ClassVar[Stance]

class Outcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OUTCOME_UNSPECIFIED: _ClassVar[Outcome]
    OUTCOME_UPHELD: _ClassVar[Outcome]
    OUTCOME_OVERTURNED: _ClassVar[Outcome]
STANCE_UNSPECIFIED: Stance
STANCE_AGREE: Stance
STANCE_DISAGREE: Stance
STANCE_FALSE_POSITIVE: Stance
OUTCOME_UNSPECIFIED: Outcome
OUTCOME_UPHELD: Outcome
OUTCOME_OVERTURNED: Outcome

class SubmitRequest(_message.Message):
    __slots__ = ("records", "skip_duplicates", "request_id")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    SKIP_DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[_types_pb2.HashRecord]
    skip_duplicates: bool
    request_id: str
    def __init__(self, records: _Optional[_Iterable[_Union[_types_pb2.HashRecord, _Mapping]]] = ..., skip_duplicates: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class SubmitResponse(_message.Message):
    __slots__ = ("entry_id", "seq", "record_ids", "duplicates")
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    RECORD_IDS_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    entry_id: str
    seq: int
    record_ids: _containers.RepeatedScalarFieldContainer[str]
    duplicates: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, entry_id: _Optional[str] = ..., seq: _Optional[int] = ..., record_ids: _Optional[_Iterable[str]] = ..., duplicates: _Optional[_Iterable[int]] = ...) -> None: ...

class HashQuery(_message.Message):
    __slots__ = ("signal_type", "value", "content_ref", "video")
    SIGNAL_TYPE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_REF_FIELD_NUMBER: _ClassVar[int]
    VIDEO_FIELD_NUMBER: _ClassVar[int]
    signal_type: str
    value: str
    content_ref: str
    video: _types_pb2.VideoFeatures
    def __init__(self, signal_type: _Optional[str] = ..., value: _Optional[str] = ..., content_ref: _Optional[str] = ..., video: _Optional[_Union[_types_pb2.VideoFeatures, _Mapping]] = ...) -> None: ...

class MatchRequest(_message.Message):
    __slots__ = ("queries", "pdq_threshold", "include_records", "vpdq_query_match_percent", "vpdq_compared_match_percent")
    QUERIES_FIELD_NUMBER: _ClassVar[int]
    PDQ_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_RECORDS_FIELD_NUMBER: _ClassVar[int]
    VPDQ_QUERY_MATCH_PERCENT_FIELD_NUMBER: _ClassVar[int]
    VPDQ_COMPARED_MATCH_PERCENT_FIELD_NUMBER: _ClassVar[int]
    queries: _containers.RepeatedCompositeFieldContainer[HashQuery]
    pdq_threshold: int
    include_records: bool
    vpdq_query_match_percent: float
    vpdq_compared_match_percent: float
    def __init__(self, queries: _Optional[_Iterable[_Union[HashQuery, _Mapping]]] = ..., pdq_threshold: _Optional[int] = ..., include_records: _Optional[bool] = ..., vpdq_query_match_percent: _Optional[float] = ..., vpdq_compared_match_percent: _Optional[float] = ...) -> None: ...

class TimeRange(_message.Message):
    __slots__ = ("start_ms", "end_ms")
    START_MS_FIELD_NUMBER: _ClassVar[int]
    END_MS_FIELD_NUMBER: _ClassVar[int]
    start_ms: int
    end_ms: int
    def __init__(self, start_ms: _Optional[int] = ..., end_ms: _Optional[int] = ...) -> None: ...

class VideoMatch(_message.Message):
    __slots__ = ("query_match_percent", "compared_match_percent", "query_ranges", "stored_ranges")
    QUERY_MATCH_PERCENT_FIELD_NUMBER: _ClassVar[int]
    COMPARED_MATCH_PERCENT_FIELD_NUMBER: _ClassVar[int]
    QUERY_RANGES_FIELD_NUMBER: _ClassVar[int]
    STORED_RANGES_FIELD_NUMBER: _ClassVar[int]
    query_match_percent: float
    compared_match_percent: float
    query_ranges: _containers.RepeatedCompositeFieldContainer[TimeRange]
    stored_ranges: _containers.RepeatedCompositeFieldContainer[TimeRange]
    def __init__(self, query_match_percent: _Optional[float] = ..., compared_match_percent: _Optional[float] = ..., query_ranges: _Optional[_Iterable[_Union[TimeRange, _Mapping]]] = ..., stored_ranges: _Optional[_Iterable[_Union[TimeRange, _Mapping]]] = ...) -> None: ...

class Match(_message.Message):
    __slots__ = ("record", "distance", "provenance_ref", "policy", "labels", "author", "disputed", "video")
    RECORD_FIELD_NUMBER: _ClassVar[int]
    DISTANCE_FIELD_NUMBER: _ClassVar[int]
    PROVENANCE_REF_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    DISPUTED_FIELD_NUMBER: _ClassVar[int]
    VIDEO_FIELD_NUMBER: _ClassVar[int]
    record: _types_pb2.RecordInfo
    distance: int
    provenance_ref: str
    policy: _containers.RepeatedScalarFieldContainer[str]
    labels: _containers.RepeatedScalarFieldContainer[str]
    author: str
    disputed: bool
    video: VideoMatch
    def __init__(self, record: _Optional[_Union[_types_pb2.RecordInfo, _Mapping]] = ..., distance: _Optional[int] = ..., provenance_ref: _Optional[str] = ..., policy: _Optional[_Iterable[str]] = ..., labels: _Optional[_Iterable[str]] = ..., author: _Optional[str] = ..., disputed: _Optional[bool] = ..., video: _Optional[_Union[VideoMatch, _Mapping]] = ...) -> None: ...

class QueryResult(_message.Message):
    __slots__ = ("query_index", "matches", "query_id")
    QUERY_INDEX_FIELD_NUMBER: _ClassVar[int]
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    QUERY_ID_FIELD_NUMBER: _ClassVar[int]
    query_index: int
    matches: _containers.RepeatedCompositeFieldContainer[Match]
    query_id: str
    def __init__(self, query_index: _Optional[int] = ..., matches: _Optional[_Iterable[_Union[Match, _Mapping]]] = ..., query_id: _Optional[str] = ...) -> None: ...

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
    __slots__ = ("own_only", "after_cursor", "batch_size", "include_inactive", "signal_types", "changes", "include_opinions")
    OWN_ONLY_FIELD_NUMBER: _ClassVar[int]
    AFTER_CURSOR_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_INACTIVE_FIELD_NUMBER: _ClassVar[int]
    SIGNAL_TYPES_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_OPINIONS_FIELD_NUMBER: _ClassVar[int]
    own_only: bool
    after_cursor: int
    batch_size: int
    include_inactive: bool
    signal_types: _containers.RepeatedScalarFieldContainer[str]
    changes: bool
    include_opinions: bool
    def __init__(self, own_only: _Optional[bool] = ..., after_cursor: _Optional[int] = ..., batch_size: _Optional[int] = ..., include_inactive: _Optional[bool] = ..., signal_types: _Optional[_Iterable[str]] = ..., changes: _Optional[bool] = ..., include_opinions: _Optional[bool] = ...) -> None: ...

class ExportBatch(_message.Message):
    __slots__ = ("records", "next_cursor", "member_id", "opinions")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    OPINIONS_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[_types_pb2.RecordInfo]
    next_cursor: int
    member_id: str
    opinions: _containers.RepeatedCompositeFieldContainer[RecordOpinion]
    def __init__(self, records: _Optional[_Iterable[_Union[_types_pb2.RecordInfo, _Mapping]]] = ..., next_cursor: _Optional[int] = ..., member_id: _Optional[str] = ..., opinions: _Optional[_Iterable[_Union[RecordOpinion, _Mapping]]] = ...) -> None: ...

class RecordOpinion(_message.Message):
    __slots__ = ("record_id", "member_id", "stance", "opined_at_ms")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    STANCE_FIELD_NUMBER: _ClassVar[int]
    OPINED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    member_id: str
    stance: Stance
    opined_at_ms: int
    def __init__(self, record_id: _Optional[str] = ..., member_id: _Optional[str] = ..., stance: _Optional[_Union[Stance, str]] = ..., opined_at_ms: _Optional[int] = ...) -> None: ...

class OpineRequest(_message.Message):
    __slots__ = ("record_id", "stance", "reason_code", "text")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    STANCE_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    stance: Stance
    reason_code: str
    text: str
    def __init__(self, record_id: _Optional[str] = ..., stance: _Optional[_Union[Stance, str]] = ..., reason_code: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class AppealRequest(_message.Message):
    __slots__ = ("record_id", "case_ref", "match_distance")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    CASE_REF_FIELD_NUMBER: _ClassVar[int]
    MATCH_DISTANCE_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    case_ref: str
    match_distance: int
    def __init__(self, record_id: _Optional[str] = ..., case_ref: _Optional[str] = ..., match_distance: _Optional[int] = ...) -> None: ...

class DecideRequest(_message.Message):
    __slots__ = ("appeal_entry_id", "outcome", "reason", "record_id")
    APPEAL_ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    appeal_entry_id: str
    outcome: Outcome
    reason: str
    record_id: str
    def __init__(self, appeal_entry_id: _Optional[str] = ..., outcome: _Optional[_Union[Outcome, str]] = ..., reason: _Optional[str] = ..., record_id: _Optional[str] = ...) -> None: ...

class DueProcessResponse(_message.Message):
    __slots__ = ("entry_id", "seq", "record_id", "status", "decided_as", "existing")
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DECIDED_AS_FIELD_NUMBER: _ClassVar[int]
    EXISTING_FIELD_NUMBER: _ClassVar[int]
    entry_id: str
    seq: int
    record_id: str
    status: _types_pb2.RecordStatus
    decided_as: str
    existing: bool
    def __init__(self, entry_id: _Optional[str] = ..., seq: _Optional[int] = ..., record_id: _Optional[str] = ..., status: _Optional[_Union[_types_pb2.RecordStatus, str]] = ..., decided_as: _Optional[str] = ..., existing: _Optional[bool] = ...) -> None: ...
