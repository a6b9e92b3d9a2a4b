from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RecordStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECORD_STATUS_UNSPECIFIED: _ClassVar[RecordStatus]
    RECORD_STATUS_ACTIVE: _ClassVar[RecordStatus]
    RECORD_STATUS_RETRACTED: _ClassVar[RecordStatus]
    RECORD_STATUS_OVERTURNED: _ClassVar[RecordStatus]
    RECORD_STATUS_SUSPENDED: _ClassVar[RecordStatus]
    RECORD_STATUS_DISPUTED: _ClassVar[RecordStatus]
RECORD_STATUS_UNSPECIFIED: RecordStatus
RECORD_STATUS_ACTIVE: RecordStatus
RECORD_STATUS_RETRACTED: RecordStatus
RECORD_STATUS_OVERTURNED: RecordStatus
RECORD_STATUS_SUSPENDED: RecordStatus
RECORD_STATUS_DISPUTED: RecordStatus

class HashRecord(_message.Message):
    __slots__ = ("signal_type", "value", "quality", "labels", "tags", "reference", "source", "video")
    SIGNAL_TYPE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    VIDEO_FIELD_NUMBER: _ClassVar[int]
    signal_type: str
    value: str
    quality: int
    labels: _containers.RepeatedScalarFieldContainer[str]
    tags: _containers.RepeatedScalarFieldContainer[str]
    reference: str
    source: str
    video: VideoFeatures
    def __init__(self, signal_type: _Optional[str] = ..., value: _Optional[str] = ..., quality: _Optional[int] = ..., labels: _Optional[_Iterable[str]] = ..., tags: _Optional[_Iterable[str]] = ..., reference: _Optional[str] = ..., source: _Optional[str] = ..., video: _Optional[_Union[VideoFeatures, _Mapping]] = ...) -> None: ...

class VideoFrame(_message.Message):
    __slots__ = ("pdq", "quality", "frame_number", "timestamp_ms")
    PDQ_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    FRAME_NUMBER_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    pdq: bytes
    quality: int
    frame_number: int
    timestamp_ms: int
    def __init__(self, pdq: _Optional[bytes] = ..., quality: _Optional[int] = ..., frame_number: _Optional[int] = ..., timestamp_ms: _Optional[int] = ...) -> None: ...

class VideoFeatures(_message.Message):
    __slots__ = ("frames", "interval_ms")
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    frames: _containers.RepeatedCompositeFieldContainer[VideoFrame]
    interval_ms: int
    def __init__(self, frames: _Optional[_Iterable[_Union[VideoFrame, _Mapping]]] = ..., interval_ms: _Optional[int] = ...) -> None: ...

class SignedEntry(_message.Message):
    __slots__ = ("header", "signature", "items")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    header: bytes
    signature: bytes
    items: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, header: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., items: _Optional[_Iterable[bytes]] = ...) -> None: ...

class RecordInfo(_message.Message):
    __slots__ = ("record_id", "record", "author", "entry_id", "seq", "index", "contributed_at_ms", "status", "video_frames")
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VIDEO_FRAMES_FIELD_NUMBER: _ClassVar[int]
    record_id: str
    record: HashRecord
    author: str
    entry_id: str
    seq: int
    index: int
    contributed_at_ms: int
    status: RecordStatus
    video_frames: int
    def __init__(self, record_id: _Optional[str] = ..., record: _Optional[_Union[HashRecord, _Mapping]] = ..., author: _Optional[str] = ..., entry_id: _Optional[str] = ..., seq: _Optional[int] = ..., index: _Optional[int] = ..., contributed_at_ms: _Optional[int] = ..., status: _Optional[_Union[RecordStatus, str]] = ..., video_frames: _Optional[int] = ...) -> None: ...

class MemberKey(_message.Message):
    __slots__ = ("key_id", "public_key", "valid_from_ms", "valid_until_ms")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    VALID_FROM_MS_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_MS_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    public_key: bytes
    valid_from_ms: int
    valid_until_ms: int
    def __init__(self, key_id: _Optional[str] = ..., public_key: _Optional[bytes] = ..., valid_from_ms: _Optional[int] = ..., valid_until_ms: _Optional[int] = ...) -> None: ...

class MemberInfo(_message.Message):
    __slots__ = ("member_id", "organisation", "keys", "roles", "contact", "status", "status_roster_version", "revoked_after_ms")
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    ORGANISATION_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_ROSTER_VERSION_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AFTER_MS_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    organisation: str
    keys: _containers.RepeatedCompositeFieldContainer[MemberKey]
    roles: _containers.RepeatedScalarFieldContainer[str]
    contact: str
    status: str
    status_roster_version: int
    revoked_after_ms: int
    def __init__(self, member_id: _Optional[str] = ..., organisation: _Optional[str] = ..., keys: _Optional[_Iterable[_Union[MemberKey, _Mapping]]] = ..., roles: _Optional[_Iterable[str]] = ..., contact: _Optional[str] = ..., status: _Optional[str] = ..., status_roster_version: _Optional[int] = ..., revoked_after_ms: _Optional[int] = ...) -> None: ...

class RelatedEntry(_message.Message):
    __slots__ = ("entry", "author", "kind", "summary")
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    entry: SignedEntry
    author: MemberInfo
    kind: str
    summary: str
    def __init__(self, entry: _Optional[_Union[SignedEntry, _Mapping]] = ..., author: _Optional[_Union[MemberInfo, _Mapping]] = ..., kind: _Optional[str] = ..., summary: _Optional[str] = ...) -> None: ...

class ProvenanceBundle(_message.Message):
    __slots__ = ("format_version", "consortium_id", "record_id", "record_item", "leaf_index", "leaf_count", "inclusion_proof", "entry_header", "entry_signature", "author", "related", "record", "generated_at_ms", "generated_by", "stewards", "decision_window_ms", "assembly", "assembly_signature", "assembler")
    FORMAT_VERSION_FIELD_NUMBER: _ClassVar[int]
    CONSORTIUM_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_ITEM_FIELD_NUMBER: _ClassVar[int]
    LEAF_INDEX_FIELD_NUMBER: _ClassVar[int]
    LEAF_COUNT_FIELD_NUMBER: _ClassVar[int]
    INCLUSION_PROOF_FIELD_NUMBER: _ClassVar[int]
    ENTRY_HEADER_FIELD_NUMBER: _ClassVar[int]
    ENTRY_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    RELATED_FIELD_NUMBER: _ClassVar[int]
    RECORD_FIELD_NUMBER: _ClassVar[int]
    GENERATED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    GENERATED_BY_FIELD_NUMBER: _ClassVar[int]
    STEWARDS_FIELD_NUMBER: _ClassVar[int]
    DECISION_WINDOW_MS_FIELD_NUMBER: _ClassVar[int]
    ASSEMBLY_FIELD_NUMBER: _ClassVar[int]
    ASSEMBLY_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    ASSEMBLER_FIELD_NUMBER: _ClassVar[int]
    format_version: int
    consortium_id: str
    record_id: str
    record_item: bytes
    leaf_index: int
    leaf_count: int
    inclusion_proof: _containers.RepeatedScalarFieldContainer[bytes]
    entry_header: bytes
    entry_signature: bytes
    author: MemberInfo
    related: _containers.RepeatedCompositeFieldContainer[RelatedEntry]
    record: RecordInfo
    generated_at_ms: int
    generated_by: str
    stewards: _containers.RepeatedCompositeFieldContainer[MemberInfo]
    decision_window_ms: int
    assembly: bytes
    assembly_signature: bytes
    assembler: MemberInfo
    def __init__(self, format_version: _Optional[int] = ..., consortium_id: _Optional[str] = ..., record_id: _Optional[str] = ..., record_item: _Optional[bytes] = ..., leaf_index: _Optional[int] = ..., leaf_count: _Optional[int] = ..., inclusion_proof: _Optional[_Iterable[bytes]] = ..., entry_header: _Optional[bytes] = ..., entry_signature: _Optional[bytes] = ..., author: _Optional[_Union[MemberInfo, _Mapping]] = ..., related: _Optional[_Iterable[_Union[RelatedEntry, _Mapping]]] = ..., record: _Optional[_Union[RecordInfo, _Mapping]] = ..., generated_at_ms: _Optional[int] = ..., generated_by: _Optional[str] = ..., stewards: _Optional[_Iterable[_Union[MemberInfo, _Mapping]]] = ..., decision_window_ms: _Optional[int] = ..., assembly: _Optional[bytes] = ..., assembly_signature: _Optional[bytes] = ..., assembler: _Optional[_Union[MemberInfo, _Mapping]] = ...) -> None: ...
