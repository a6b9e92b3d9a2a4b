from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetRostersRequest(_message.Message):
    __slots__ = ("since_version",)
    SINCE_VERSION_FIELD_NUMBER: _ClassVar[int]
    since_version: int
    def __init__(self, since_version: _Optional[int] = ...) -> None: ...

class RosterSignature(_message.Message):
    __slots__ = ("key_id", "signature")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    key_id: bytes
    signature: bytes
    def __init__(self, key_id: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class SignedRoster(_message.Message):
    __slots__ = ("roster", "signatures")
    ROSTER_FIELD_NUMBER: _ClassVar[int]
    SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    roster: bytes
    signatures: _containers.RepeatedCompositeFieldContainer[RosterSignature]
    def __init__(self, roster: _Optional[bytes] = ..., signatures: _Optional[_Iterable[_Union[RosterSignature, _Mapping]]] = ...) -> None: ...

class RosterChain(_message.Message):
    __slots__ = ("rosters", "consortium_id", "newest_version")
    ROSTERS_FIELD_NUMBER: _ClassVar[int]
    CONSORTIUM_ID_FIELD_NUMBER: _ClassVar[int]
    NEWEST_VERSION_FIELD_NUMBER: _ClassVar[int]
    rosters: _containers.RepeatedCompositeFieldContainer[SignedRoster]
    consortium_id: str
    newest_version: int
    def __init__(self, rosters: _Optional[_Iterable[_Union[SignedRoster, _Mapping]]] = ..., consortium_id: _Optional[str] = ..., newest_version: _Optional[int] = ...) -> None: ...
