from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Count(_message.Message):
    __slots__ = ("key", "count")
    KEY_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    key: str
    count: int
    def __init__(self, key: _Optional[str] = ..., count: _Optional[int] = ...) -> None: ...

class Stats(_message.Message):
    __slots__ = ("member_id", "consortium_id", "records", "entries", "records_by_type", "records_by_label", "records_by_author", "index_bytes", "disk_bytes", "map_bytes")
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    CONSORTIUM_ID_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    RECORDS_BY_TYPE_FIELD_NUMBER: _ClassVar[int]
    RECORDS_BY_LABEL_FIELD_NUMBER: _ClassVar[int]
    RECORDS_BY_AUTHOR_FIELD_NUMBER: _ClassVar[int]
    INDEX_BYTES_FIELD_NUMBER: _ClassVar[int]
    DISK_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAP_BYTES_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    consortium_id: str
    records: int
    entries: int
    records_by_type: _containers.RepeatedCompositeFieldContainer[Count]
    records_by_label: _containers.RepeatedCompositeFieldContainer[Count]
    records_by_author: _containers.RepeatedCompositeFieldContainer[Count]
    index_bytes: int
    disk_bytes: int
    map_bytes: int
    def __init__(self, member_id: _Optional[str] = ..., consortium_id: _Optional[str] = ..., records: _Optional[int] = ..., entries: _Optional[int] = ..., records_by_type: _Optional[_Iterable[_Union[Count, _Mapping]]] = ..., records_by_label: _Optional[_Iterable[_Union[Count, _Mapping]]] = ..., records_by_author: _Optional[_Iterable[_Union[Count, _Mapping]]] = ..., index_bytes: _Optional[int] = ..., disk_bytes: _Optional[int] = ..., map_bytes: _Optional[int] = ...) -> None: ...
